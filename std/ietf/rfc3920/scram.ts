// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), the client side, as XMPP uses it for SASL
 * (RFC 6120 §6.3.8-§6.3.10), and SASL's base64 (RFC 6120 §6.4.2). Part of
 * `@rtclite/std/ietf/rfc3920`, which re-exports {@linkcode ScramClient}.
 *
 * @example The example exchange of RFC 5802 §5
 * ```ts
 * import { ScramClient } from "@rtclite/std/ietf/rfc3920";
 * import { equal } from "node:assert/strict";
 *
 * const c = new ScramClient({ username: "user", password: "pencil", nonce: "fyko+d2lbbFgONRv9qkxdawL" });
 * equal(c.first(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
 * ```
 *
 * @module
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { SaslError, XmppParseError } from "./stanza.ts";

const utf8 = new TextEncoder();

// === Base64 (RFC 6120 §6.4.2: SASL data is base64 without line breaks) ===

/**
 * Base64 of bytes, without line breaks, as SASL data is sent.
 *
 * @param bytes The data.
 * @returns Its base64 text.
 *
 * @example
 * ```ts
 * import { toBase64 } from "@rtclite/std/ietf/rfc3920/scram";
 * import { equal } from "node:assert/strict";
 * equal(toBase64(new TextEncoder().encode("\0juliet\0r0m30")), "AGp1bGlldAByMG0zMA==");
 * ```
 */
// @implements RFC6120 §6.4.2, RFC3920 §6.2
export function toBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/**
 * Bytes from SASL's base64 (RFC 6120 §6.4.2); empty data may be sent as `=`.
 *
 * @param text The base64 text.
 * @param what What it is, for the error message.
 * @returns The bytes.
 * @throws {SaslError} `incorrect-encoding` when the text is not base64 (RFC 6120 §6.5.5).
 *
 * @example
 * ```ts
 * import { fromBase64 } from "@rtclite/std/ietf/rfc3920/scram";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(fromBase64("AQI=", "test"), new Uint8Array([1, 2]));
 * deepEqual(fromBase64("=", "test"), new Uint8Array());
 * ```
 */
export function fromBase64(text: string, what: string): Uint8Array {
  const t = text.trim();
  if (t === "" || t === "=") return new Uint8Array();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 !== 0) {
    throw new SaslError("incorrect-encoding", `${what} is not base64`);
  }
  return Uint8Array.fromBase64(t);
}

// === SCRAM (RFC 5802), used as a SASL mechanism (RFC 6120 §6.3.8-6.3.10) ===

/** Options of {@linkcode ScramClient}. */
export interface ScramOptions {
  /** The user name (the localpart of the JID in XMPP). */
  username: string;
  /** The password (used as is: SASLprep is not applied). */
  password: string;
  /** Hash function: `SHA-1` (default) or `SHA-256` (RFC 7677). */
  hash?: "SHA-1" | "SHA-256";
  /** Client nonce (printable ASCII without `,`); random by default. */
  nonce?: string;
  /** Most PBKDF2 iterations accepted from the server (default 100 000). */
  maxIterations?: number;
}

function randomNonce(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(18)));
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((x, i) => x ^ b[i]!);
}

function scramAttrs(msg: string, what: string): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  for (const part of msg.split(",")) {
    if (part.length < 2 || part[1] !== "=" || !/[a-zA-Z]/.test(part[0]!)) {
      throw new XmppParseError(`Cannot parse SCRAM ${what}: bad attribute ${part}`, at);
    }
    out.set(part[0]!, part.slice(2));
    at += part.length + 1;
  }
  return out;
}

/**
 * The client side of SCRAM-SHA-1 / SCRAM-SHA-256 without channel binding (GS2 header `n,,`).
 * Synchronous: {@linkcode ScramClient.first}, then {@linkcode ScramClient.final} with the
 * server-first-message, then {@linkcode ScramClient.verify} with the server-final-message.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc5802#section-3 | RFC 5802 §3 (SCRAM algorithm)}
 * @see {@link https://www.rfc-editor.org/rfc/rfc5802#section-5 | RFC 5802 §5 (exchange)}
 *
 * @example The example exchange of RFC 5802 §5
 * ```ts
 * import { ScramClient } from "@rtclite/std/ietf/rfc3920";
 * import { equal } from "node:assert/strict";
 *
 * const c = new ScramClient({ username: "user", password: "pencil", nonce: "fyko+d2lbbFgONRv9qkxdawL" });
 * equal(c.first(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
 * equal(c.final("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"),
 *   "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
 * c.verify("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
 * ```
 */
export class ScramClient {
  #username: string;
  #password: string;
  #hash: typeof sha1;
  #nonce: string;
  #maxIterations: number;
  #clientFirstBare = "";
  #serverSignature: Uint8Array | undefined;

  /**
   * Creates the client side of one authentication.
   *
   * @param options Credentials, hash and nonce.
   * @throws {TypeError} When the nonce holds a comma or non-printable characters.
   */
  constructor(options: ScramOptions) {
    this.#username = options.username;
    this.#password = options.password;
    this.#hash = options.hash === "SHA-256" ? sha256 : sha1;
    this.#nonce = options.nonce ?? randomNonce();
    this.#maxIterations = options.maxIterations ?? 100_000;
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(this.#nonce)) {
      throw new TypeError("Cannot create SCRAM client: nonce must be printable ASCII without ','");
    }
  }

  /**
   * The client-first-message.
   *
   * @returns `n,,n=<saslname>,r=<nonce>`.
   */
  // @implements RFC6120 §6.3.7, RFC3920 §6.1
  first(): string {
    const name = this.#username.replaceAll("=", "=3D").replaceAll(",", "=2C");
    this.#clientFirstBare = `n=${name},r=${this.#nonce}`;
    return `n,,${this.#clientFirstBare}`;
  }

  /**
   * Computes the client-final-message from the server-first-message.
   *
   * @param serverFirst The server-first-message (`r=...,s=...,i=...`).
   * @returns The client-final-message with the client proof.
   * @throws {XmppParseError} When the message is malformed.
   * @throws {SaslError} When the nonce does not extend ours or the iteration count is out of range.
   */
  final(serverFirst: string): string {
    if (!this.#clientFirstBare) this.first();
    const a = scramAttrs(serverFirst, "server-first-message");
    if (a.has("m")) throw new SaslError("malformed-request", "SCRAM extension m= not supported");
    const nonce = a.get("r"), salt = a.get("s"), iter = a.get("i");
    if (!nonce || salt === undefined || !iter) {
      throw new XmppParseError("Cannot parse SCRAM server-first-message: missing r, s or i", 0);
    }
    if (!nonce.startsWith(this.#nonce) || nonce.length === this.#nonce.length) {
      throw new SaslError("malformed-request", "server nonce does not extend the client nonce");
    }
    const i = Number(iter);
    if (!/^[1-9][0-9]*$/.test(iter) || i > this.#maxIterations) {
      throw new SaslError("malformed-request", `iteration count ${iter} out of range`);
    }
    const saltBytes = fromBase64(salt, "SCRAM salt");
    const h = this.#hash;
    const salted = pbkdf2(h, utf8.encode(this.#password), saltBytes, {
      c: i,
      dkLen: h.outputLen,
    });
    const clientKey = hmac(h, salted, utf8.encode("Client Key"));
    const storedKey = h(clientKey);
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = utf8.encode(`${this.#clientFirstBare},${serverFirst},${withoutProof}`);
    const clientSignature = hmac(h, storedKey, authMessage);
    const serverKey = hmac(h, salted, utf8.encode("Server Key"));
    this.#serverSignature = hmac(h, serverKey, authMessage);
    return `${withoutProof},p=${toBase64(xor(clientKey, clientSignature))}`;
  }

  /**
   * Checks the server-final-message: the server proves it knows the salted password.
   *
   * @param serverFinal `v=<signature>` (or `e=<error>`).
   * @throws {SaslError} On `e=` or a wrong signature.
   */
  verify(serverFinal: string): void {
    const a = scramAttrs(serverFinal, "server-final-message");
    const e = a.get("e");
    if (e !== undefined) throw new SaslError(e, "SCRAM server error");
    const v = a.get("v");
    if (!this.#serverSignature || v === undefined) {
      throw new SaslError("malformed-request", "SCRAM server-final-message without v=");
    }
    if (toBase64(this.#serverSignature) !== v) {
      throw new SaslError("not-authorized", "SCRAM server signature does not match");
    }
  }
}
