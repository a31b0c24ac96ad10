// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Digest hashing in native code: a {@linkcode DigestHashProvider} on `node:crypto`, whose hashes
 * run synchronously in native code under Deno and Node. The pure core
 * (`@rtclite/std/ietf/rfc2617`) hashes with `@noble/hashes` by default, which also runs in a
 * browser; servers and clients under Deno install this provider with
 * {@linkcode useNativeHash} or pass it as the `hash` option.
 *
 * HMAC-SHA-256 (the server's nonces) stays on `@noble/hashes` with the keyed state prepared once:
 * measured beside `createHmac`, which sets the key up again for every MAC, it was as fast or faster
 * (see BENCHMARKS.md).
 *
 * @example Verify with native hashing
 * ```ts
 * import { DigestClient, DigestServer } from "@rtclite/std/ietf/rfc2617";
 * import { nativeHashProvider } from "@rtclite/std/ietf/rfc2617/native";
 * import { equal } from "node:assert/strict";
 *
 * const server = new DigestServer({ realm: "r", hash: nativeHashProvider });
 * const client = new DigestClient({ username: "u", password: "p", hash: nativeHashProvider });
 * const request = { method: "REGISTER", uri: "sip:r" };
 * const authorization = await client.authorize(await server.challenge(), request);
 * const result = await server.verify(authorization, request, () => ({ password: "p" }));
 * equal(result.ok, true);
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import {
  type DigestHashName,
  type DigestHashProvider,
  pureHashProvider,
  setHashProvider,
} from "./mod.ts";

export type { DigestHashName, DigestHashProvider };

const NODE_NAMES: Record<DigestHashName, string> = {
  "MD5": "md5",
  "SHA-256": "sha256",
  "SHA-512-256": "sha512-256",
};

/**
 * MD5, SHA-256 and SHA-512-256 from `node:crypto` (`createHash(...).update(data).digest("hex")`,
 * text hashed as UTF-8); HMAC-SHA-256 from the pure provider.
 *
 * @example
 * ```ts
 * import { nativeHashProvider } from "@rtclite/std/ietf/rfc2617/native";
 * import { pureHashProvider } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * for (const name of ["MD5", "SHA-256", "SHA-512-256"] as const) {
 *   equal(nativeHashProvider.hex(name, "J\u00e4s\u00f8n"), pureHashProvider.hex(name, "J\u00e4s\u00f8n"));
 * }
 * ```
 */
export const nativeHashProvider: DigestHashProvider = {
  hex: (name, data) => createHash(NODE_NAMES[name]).update(data).digest("hex"),
  hmacSha256: pureHashProvider.hmacSha256,
};

/**
 * Makes {@linkcode nativeHashProvider} the default of every Digest client and server created
 * afterwards without a `hash` option.
 *
 * @returns The provider it replaced.
 *
 * @example
 * ```ts
 * import { useNativeHash } from "@rtclite/std/ietf/rfc2617/native";
 * import { pureHashProvider, setHashProvider } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * const previous = useNativeHash();
 * equal(previous, pureHashProvider);
 * setHashProvider(previous);
 * ```
 */
export function useNativeHash(): DigestHashProvider {
  return setHashProvider(nativeHashProvider);
}
