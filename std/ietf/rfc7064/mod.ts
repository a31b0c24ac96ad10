// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * STUN server URIs: `stun:host[:port]` and `stuns:host[:port]`, with the default ports 3478
 * and 5349.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc7064 | RFC 7064}. Malformed input throws
 * {@linkcode UriParseError} (from `@rtclite/std/ietf/rfc2396`) with the offset.
 *
 * Command line: `deno run std/ietf/rfc7064/main.ts stun:stun.example.com` prints the parts as JSON.
 *
 * @example Parse a STUN URI and find its port
 * ```ts
 * import { formatStunUri, parseStunUri, stunUriPort } from "@rtclite/std/ietf/rfc7064";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const uri = parseStunUri("stuns:[2001:db8::1]");
 * deepEqual(uri, { scheme: "stuns", host: "[2001:db8::1]", port: undefined });
 * equal(stunUriPort(uri), 5349);
 * equal(formatStunUri({ scheme: "stun", host: "example.org", port: 3479 }), "stun:example.org:3479");
 * ```
 *
 * @module
 */
// @implements RFC7064 (STUN URIs)
import { scanHostPort } from "../_host.ts";
import { UriParseError } from "../rfc2396/mod.ts";

/** A `stun:` or `stuns:` URI. */
export interface StunUri {
  /** `stun` (UDP or TCP) or `stuns` (TLS over TCP). */
  scheme: "stun" | "stuns";
  /** Host as written: a name, an IPv4 address, or an IPv6 address in brackets. */
  host: string;
  /** Port, or `undefined` for the default ({@linkcode stunUriPort}). */
  port: number | undefined;
}

/** Default port of `stun:` (UDP and TCP). */
export const STUN_PORT = 3478;
/** Default port of `stuns:` (TLS). */
export const STUNS_PORT = 5349;

/**
 * Parses a `stun:` or `stuns:` URI (the scheme is case-insensitive).
 *
 * @param text E.g. `stun:stun.example.com:3478`.
 * @returns The scheme, host and port.
 * @throws {UriParseError} When the text is not a STUN URI.
 *
 * @example
 * ```ts
 * import { parseStunUri } from "@rtclite/std/ietf/rfc7064";
 * import { equal } from "node:assert/strict";
 *
 * equal(parseStunUri("STUN:192.0.2.1:3479").port, 3479);
 * ```
 */
// @implements RFC7064 §3.1 ¶1-3
export function parseStunUri(text: string): StunUri {
  const colon = text.indexOf(":");
  const scheme = text.slice(0, colon).toLowerCase();
  if (colon < 0 || (scheme !== "stun" && scheme !== "stuns")) {
    throw new UriParseError('Cannot parse STUN URI: scheme must be "stun" or "stuns"', 0);
  }
  const r = scanHostPort(text, colon + 1);
  if (r.error !== undefined) {
    throw new UriParseError(`Cannot parse STUN URI: ${r.error}`, r.offset);
  }
  if (r.end < text.length) {
    throw new UriParseError(
      `Cannot parse STUN URI: unexpected ${JSON.stringify(text[r.end])}`,
      r.end,
    );
  }
  return { scheme, host: r.host, port: r.port };
}

/**
 * Formats a STUN URI.
 *
 * @param uri The scheme, host and port.
 * @returns The URI text.
 *
 * @example
 * ```ts
 * import { formatStunUri } from "@rtclite/std/ietf/rfc7064";
 * import { equal } from "node:assert/strict";
 *
 * equal(formatStunUri({ scheme: "stuns", host: "[::1]", port: undefined }), "stuns:[::1]");
 * ```
 */
export function formatStunUri(uri: StunUri): string {
  return `${uri.scheme}:${uri.host}${uri.port === undefined ? "" : ":" + uri.port}`;
}

/**
 * The port to contact: the URI's, or 3478 for `stun:` and 5349 for `stuns:`.
 *
 * @param uri A parsed STUN URI.
 * @returns The port number.
 *
 * @example
 * ```ts
 * import { parseStunUri, stunUriPort } from "@rtclite/std/ietf/rfc7064";
 * import { equal } from "node:assert/strict";
 *
 * equal(stunUriPort(parseStunUri("stun:example.org")), 3478);
 * ```
 */
// @implements RFC7064 §3.2 ¶4
export function stunUriPort(uri: StunUri): number {
  return uri.port ?? (uri.scheme === "stuns" ? STUNS_PORT : STUN_PORT);
}
