// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * TURN server URIs: `turn:host[:port][?transport=udp|tcp]` and `turns:...`, with the default
 * ports 3478 and 5349.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc7065 | RFC 7065}. Malformed input throws
 * {@linkcode UriParseError} (from `@rtclite/std/ietf/rfc2396`) with the offset.
 *
 * Command line: `deno run std/ietf/rfc7065/main.ts 'turn:turn.example.com?transport=tcp'` prints the
 * parts as JSON.
 *
 * @example Parse a TURN URI and find its port
 * ```ts
 * import { formatTurnUri, parseTurnUri, turnUriPort } from "@rtclite/std/ietf/rfc7065";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const uri = parseTurnUri("turns:turn.example.com?transport=tcp");
 * deepEqual(uri, { scheme: "turns", host: "turn.example.com", port: undefined, transport: "tcp" });
 * equal(turnUriPort(uri), 5349);
 * equal(formatTurnUri({ ...uri, port: 443 }), "turns:turn.example.com:443?transport=tcp");
 * ```
 *
 * @module
 */
// @implements RFC7065 (TURN URIs)
import { CLASS, scanHostPort } from "../_host.ts";
import { UriParseError } from "../rfc2396/mod.ts";

/** A `turn:` or `turns:` URI. */
export interface TurnUri {
  /** `turn` (UDP or TCP) or `turns` (TLS over TCP). */
  scheme: "turn" | "turns";
  /** Host as written: a name, an IPv4 address, or an IPv6 address in brackets. */
  host: string;
  /** Port, or `undefined` for the default ({@linkcode turnUriPort}). */
  port: number | undefined;
  /** `udp`, `tcp` or an extension transport; `undefined` when absent. */
  transport: string | undefined;
}

/** Default port of `turn:` (UDP and TCP). */
export const TURN_PORT = 3478;
/** Default port of `turns:` (TLS). */
export const TURNS_PORT = 5349;

const QUERY = "?transport=";

function fail(detail: string, offset: number): never {
  throw new UriParseError(`Cannot parse TURN URI: ${detail}`, offset);
}

/**
 * Parses a `turn:` or `turns:` URI (scheme and `?transport=` are case-insensitive).
 *
 * @param text E.g. `turn:192.0.2.1:3478?transport=udp`.
 * @returns The scheme, host, port and transport.
 * @throws {UriParseError} When the text is not a TURN URI.
 *
 * @example
 * ```ts
 * import { parseTurnUri } from "@rtclite/std/ietf/rfc7065";
 * import { equal } from "node:assert/strict";
 *
 * equal(parseTurnUri("turn:192.0.2.1:3478?transport=udp").transport, "udp");
 * ```
 */
// @implements RFC7065 §3.1 ¶1-3
export function parseTurnUri(text: string): TurnUri {
  const colon = text.indexOf(":");
  const scheme = text.slice(0, colon).toLowerCase();
  if (colon < 0 || (scheme !== "turn" && scheme !== "turns")) {
    fail('scheme must be "turn" or "turns"', 0);
  }
  const r = scanHostPort(text, colon + 1);
  if (r.error !== undefined) fail(r.error, r.offset);
  let transport: string | undefined;
  let p = r.end;
  if (p < text.length) {
    if (text.slice(p, p + QUERY.length).toLowerCase() !== QUERY) {
      fail(`expected "${QUERY}", found ${JSON.stringify(text.slice(p, p + QUERY.length))}`, p);
    }
    // transport = "udp" / "tcp" / transport-ext; transport-ext = 1*unreserved (RFC 3986)
    p += QUERY.length;
    const t = p;
    while (p < text.length) {
      const c = text.charCodeAt(p);
      if (c < 128 && CLASS[c]! & 1 && c !== 33 && c !== 42 && c !== 39 && c !== 40 && c !== 41) {
        p++;
      } else break;
    }
    if (p === t) fail("empty transport", t);
    if (p < text.length) fail(`unexpected ${JSON.stringify(text[p])} in transport`, p);
    transport = text.slice(t, p);
  }
  return { scheme, host: r.host, port: r.port, transport };
}

/**
 * Formats a TURN URI.
 *
 * @param uri The scheme, host, port and transport.
 * @returns The URI text.
 *
 * @example
 * ```ts
 * import { formatTurnUri } from "@rtclite/std/ietf/rfc7065";
 * import { equal } from "node:assert/strict";
 *
 * equal(formatTurnUri({ scheme: "turn", host: "[::1]", port: 3478, transport: undefined }), "turn:[::1]:3478");
 * ```
 */
export function formatTurnUri(uri: TurnUri): string {
  let out = `${uri.scheme}:${uri.host}`;
  if (uri.port !== undefined) out += ":" + uri.port;
  if (uri.transport !== undefined) out += QUERY + uri.transport;
  return out;
}

/**
 * The port to contact: the URI's, or 3478 for `turn:` and 5349 for `turns:`.
 *
 * @param uri A parsed TURN URI.
 * @returns The port number.
 *
 * @example
 * ```ts
 * import { parseTurnUri, turnUriPort } from "@rtclite/std/ietf/rfc7065";
 * import { equal } from "node:assert/strict";
 *
 * equal(turnUriPort(parseTurnUri("turn:example.org?transport=tcp")), 3478);
 * ```
 */
// @implements RFC7065 §3.2 ¶3
export function turnUriPort(uri: TurnUri): number {
  return uri.port ?? (uri.scheme === "turns" ? TURNS_PORT : TURN_PORT);
}
