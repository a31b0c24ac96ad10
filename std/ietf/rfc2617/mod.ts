// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * HTTP Basic and Digest access authentication (RFC 2617, whose Digest scheme is replaced by
 * RFC 7616, with RFC 8760 for SIP) for HTTP and SIP clients and servers.
 *
 * This module implements RFC 7616, the successor of RFC 2617's Digest part; the file keeps
 * RFC 2617's name. References cite RFC 7616's section and, where the same rule is in RFC 2617
 * under another number, RFC 2617's beside it (RFC 7616 §3.3 is RFC 2617 §3.2.1, §3.4 is §3.2.2,
 * §3.5 is §3.2.3, §5.5 is §4.5).
 *
 * The client side parses `WWW-Authenticate` / `Proxy-Authenticate` values (several challenges in
 * one header, quoted-string escapes), picks the topmost digest challenge it supports and answers
 * it with an `Authorization` value, counting `nc` per nonce ({@linkcode DigestClient}). The server
 * side ({@linkcode DigestServer}) issues challenges whose nonce is a timestamp signed with
 * HMAC-SHA-256 under a server secret, so it can be verified without state; it verifies
 * credentials, signals `stale=true` for an expired nonce and rejects replayed `nc` values.
 * Algorithms: MD5, SHA-256 and SHA-512-256, each with its `-sess` variant; qop `auth` and
 * `auth-int`; `userhash`.
 *
 * Hashing is synchronous and pluggable ({@linkcode DigestHashProvider}): by default MD5, SHA-256,
 * SHA-512-256 (which is not SHA-512 truncated: it has its own initial values) and the nonces'
 * HMAC-SHA-256 come from {@link https://github.com/paulmillr/noble-hashes | @noble/hashes}
 * (audited, dependency-free, runs in a browser); under Deno or Node,
 * `@rtclite/std/ietf/rfc2617/native` hashes with `node:crypto`'s native code. The methods still
 * return promises (a user lookup may be asynchronous).
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc2617 | RFC 2617},
 * {@link https://www.rfc-editor.org/rfc/rfc7616 | RFC 7616},
 * {@link https://www.rfc-editor.org/rfc/rfc8760 | RFC 8760}
 *
 * @example Answer the challenge of RFC 2617 §3.5
 * ```ts
 * import { DigestClient } from "@rtclite/std/ietf/rfc2617";
 * import { match } from "node:assert/strict";
 *
 * const client = new DigestClient({ username: "Mufasa", password: "Circle Of Life",
 *   cnonce: () => "0a4f113b" });
 * const authorization = await client.authorize(
 *   'Digest realm="testrealm@host.com", qop="auth,auth-int", ' +
 *     'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
 *   { method: "GET", uri: "/dir/index.html" },
 * );
 * match(authorization, /response="6629fae49393a05397450978507c4ef1"/);
 * ```
 *
 * @example Challenge and verify on a server
 * ```ts
 * import { DigestClient, DigestServer } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * const server = new DigestServer({ realm: "example.com", algorithms: ["SHA-256"] });
 * const [challenge] = await server.challenge();
 * const client = new DigestClient({ username: "alice", password: "secret" });
 * const request = { method: "REGISTER", uri: "sip:example.com" };
 * const authorization = await client.authorize(challenge!, request);
 * const result = await server.verify(authorization, request, (user) =>
 *   user === "alice" ? { password: "secret" } : undefined);
 * equal(result.ok, true);
 * ```
 *
 * @module
 */
// @implements RFC2617 (HTTP Authentication: Basic and Digest Access Authentication)
import { hmac } from "@noble/hashes/hmac.js";
import { md5 } from "@noble/hashes/legacy.js";
import { sha256, sha512_256 } from "@noble/hashes/sha2.js";
import { timingSafeEqual as bytesEqual, toHex } from "../../bytes.ts";
import { ParseError } from "../../errors.ts";
import { getLogger } from "../../log.ts";

export { ParseError };

const log = getLogger("http", "auth");
const encoder = new TextEncoder();

/** The `Authorization`/`WWW-Authenticate` value could not be parsed. */
export class AuthParseError extends ParseError {}

// === Framework: challenges and credentials (RFC 2617 §1.2, RFC 7235 §2.1) ===

/** One challenge or one set of credentials: a scheme with parameters or a token68. */
export interface AuthChallenge {
  /** Authentication scheme as written, e.g. `Digest` or `Basic` (compare case-insensitively). */
  scheme: string;
  /** Parameters, names lower-cased, values unquoted and unescaped. */
  params: Record<string, string>;
  /** The token68 form (`Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==`), when present instead of params. */
  token68?: string;
}

// Character classes by code unit: bit 1 tchar (RFC 7230 §3.2.6), bit 2 token68 (RFC 7235 §2.1).
const CLASS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") CLASS[c.charCodeAt(0)]! |= 1;
for (const c of "-._~+/") CLASS[c.charCodeAt(0)]! |= 2;
for (let c = 0x30; c < 0x7b; c++) {
  if (c <= 0x39 || (c >= 0x41 && c <= 0x5a) || c >= 0x61) CLASS[c]! |= 3;
}
const isTchar = (s: string, i: number): boolean => {
  const c = s.charCodeAt(i);
  return c < 128 && (CLASS[c]! & 1) !== 0;
};
const isToken68 = (s: string, i: number): boolean => {
  const c = s.charCodeAt(i);
  return c < 128 && (CLASS[c]! & 2) !== 0;
};
const isWs = (c: string | undefined): boolean =>
  c === " " || c === "\t" || c === "\r" || c === "\n";

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}
  fail(what: string): never {
    throw new AuthParseError(
      `Cannot parse authentication header: ${what} at ${this.pos}`,
      this.pos,
    );
  }
  ws(): void {
    while (isWs(this.s[this.pos])) this.pos++;
  }
  token(): string {
    const start = this.pos;
    while (isTchar(this.s, this.pos)) this.pos++;
    return this.s.slice(start, this.pos);
  }
  // @implements RFC2617 §3.2.2.4
  quoted(): string {
    // Called with pos at the opening quote; backslash escapes any following character.
    let out = "";
    this.pos++;
    const close = this.s.indexOf('"', this.pos);
    const escape = this.s.indexOf("\\", this.pos);
    if (close >= 0 && (escape < 0 || escape > close)) {
      out = this.s.slice(this.pos, close);
      this.pos = close + 1;
      return out;
    }
    while (this.pos < this.s.length) {
      const c = this.s[this.pos++]!;
      if (c === '"') return out;
      if (c === "\\") {
        if (this.pos >= this.s.length) break;
        out += this.s[this.pos++];
      } else out += c;
    }
    this.fail("unterminated quoted-string");
  }
  /** True when the text at pos looks like `token BWS "="` (an auth-param, not a new scheme). */
  atParam(): boolean {
    let p = this.pos;
    while (isTchar(this.s, p)) p++;
    if (p === this.pos) return false;
    while (isWs(this.s[p])) p++;
    if (this.s[p] !== "=") return false;
    // `token=` followed by `=`, a comma or the end is a token68 with padding.
    p++;
    while (isWs(this.s[p])) p++;
    return p < this.s.length && this.s[p] !== "=" && this.s[p] !== ",";
  }
}

/**
 * Parses a `WWW-Authenticate` or `Proxy-Authenticate` value, which may hold several challenges
 * separated by commas (`Digest realm="a", nonce="b", Basic realm="c"`).
 *
 * @param header The header field value (join repeated header fields with `, ` or parse each).
 * @returns The challenges in order.
 * @throws {AuthParseError} When the value does not follow the grammar.
 *
 * @example
 * ```ts
 * import { parseChallenges } from "@rtclite/std/ietf/rfc2617";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(parseChallenges('Basic realm="a \\"b\\"", Digest realm=x, nonce="1,2"'), [
 *   { scheme: "Basic", params: { realm: 'a "b"' } },
 *   { scheme: "Digest", params: { realm: "x", nonce: "1,2" } },
 * ]);
 * ```
 */
// @implements RFC2617 §1.2 ¶2-5
export function parseChallenges(header: string): AuthChallenge[] {
  const sc = new Scanner(header);
  const out: AuthChallenge[] = [];
  sc.ws();
  while (sc.pos < header.length) {
    if (header[sc.pos] === ",") {
      sc.pos++;
      sc.ws();
      continue;
    }
    out.push(parseOne(sc));
  }
  if (out.length === 0) sc.fail("no challenge");
  return out;
}

/**
 * Parses an `Authorization` or `Proxy-Authorization` value (one set of credentials).
 *
 * @param header The header field value, e.g. `Digest username="a", ...` or `Basic dTpw`.
 * @returns The scheme with its parameters or token68.
 * @throws {AuthParseError} When the value does not follow the grammar or holds more than one.
 *
 * @example
 * ```ts
 * import { parseCredentials } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * equal(parseCredentials('Digest username="Mufasa", nc=00000001').params.nc, "00000001");
 * equal(parseCredentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").token68,
 *   "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
 * ```
 */
export function parseCredentials(header: string): AuthChallenge {
  const sc = new Scanner(header);
  sc.ws();
  const one = parseOne(sc);
  sc.ws();
  if (sc.pos < header.length) sc.fail("unexpected text after credentials");
  return one;
}

function parseOne(sc: Scanner): AuthChallenge {
  const scheme = sc.token();
  if (!scheme) sc.fail("expected an authentication scheme");
  const result: AuthChallenge = { scheme, params: {} };
  const afterScheme = sc.pos;
  sc.ws();
  if (sc.pos === afterScheme || sc.pos >= sc.s.length || sc.s[sc.pos] === ",") return result;
  if (!sc.atParam()) {
    // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    const start = sc.pos;
    while (isToken68(sc.s, sc.pos)) sc.pos++;
    while (sc.s[sc.pos] === "=") sc.pos++;
    if (sc.pos === start) sc.fail("expected a parameter or token68");
    result.token68 = sc.s.slice(start, sc.pos);
    sc.ws();
    if (sc.pos < sc.s.length && sc.s[sc.pos] !== ",") sc.fail("expected a comma");
    return result;
  }
  for (;;) {
    const name = sc.token().toLowerCase();
    sc.ws();
    sc.pos++; // "=" (checked by atParam)
    sc.ws();
    let value: string;
    if (sc.s[sc.pos] === '"') value = sc.quoted();
    else {
      value = sc.token();
      if (!value) sc.fail(`expected a value for ${name}`);
    }
    if (Object.hasOwn(result.params, name)) sc.fail(`duplicate parameter ${name}`);
    result.params[name] = value;
    sc.ws();
    if (sc.pos >= sc.s.length) return result;
    if (sc.s[sc.pos] !== ",") sc.fail("expected a comma");
    // Skip empty list elements; a following `token =` continues this challenge.
    while (sc.s[sc.pos] === "," || isWs(sc.s[sc.pos])) sc.pos++;
    if (sc.pos >= sc.s.length || !sc.atParam()) return result;
  }
}

function isToken(v: string): boolean {
  if (v === "") return false;
  for (let i = 0; i < v.length; i++) if (!isTchar(v, i)) return false;
  return true;
}

function quote(v: string): string {
  if (v.indexOf('"') < 0 && v.indexOf("\\") < 0) return `"${v}"`;
  return `"${v.replace(/["\\]/g, (c) => "\\" + c)}"`;
}

/**
 * Formats a challenge or credentials. Parameters listed in `quoted` are always written as
 * quoted-strings; others only when they are not tokens.
 *
 * @param value Scheme with parameters or token68.
 * @param quoted Names of parameters that must be quoted.
 * @returns The header field value.
 *
 * @example
 * ```ts
 * import { formatChallenge } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * equal(formatChallenge({ scheme: "Basic", params: { realm: "WallyWorld" } }, ["realm"]),
 *   'Basic realm="WallyWorld"');
 * ```
 */
export function formatChallenge(value: AuthChallenge, quoted: readonly string[] = []): string {
  if (value.token68 !== undefined) return `${value.scheme} ${value.token68}`;
  let out = value.scheme;
  let sep = " ";
  for (const k in value.params) {
    const v = value.params[k]!;
    out += `${sep}${k}=${quoted.includes(k) || !isToken(v) ? quote(v) : v}`;
    sep = ", ";
  }
  return out;
}

// === Basic (RFC 2617 §2) ===

/**
 * Builds `Basic` credentials from a user-ID and password (UTF-8, as RFC 7617 recommends).
 * SIP must not use Basic (RFC 3261 §22.4).
 *
 * @param username The user-ID; must not contain a colon.
 * @param password The password.
 * @returns The `Authorization` value.
 * @throws {TypeError} When the user-ID contains a colon.
 *
 * @example
 * ```ts
 * import { basicCredentials } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * equal(basicCredentials("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
 * ```
 */
// @implements RFC2617 §2 ¶7-11
export function basicCredentials(username: string, password: string): string {
  if (username.includes(":")) {
    throw new TypeError("Cannot build Basic credentials: colon in user-ID");
  }
  return `Basic ${encoder.encode(`${username}:${password}`).toBase64()}`;
}

/**
 * Decodes `Basic` credentials.
 *
 * @param header The `Authorization` value, e.g. `Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==`.
 * @returns The user-ID and password.
 * @throws {AuthParseError} When the value is not Basic credentials.
 *
 * @example
 * ```ts
 * import { parseBasicCredentials } from "@rtclite/std/ietf/rfc2617";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(parseBasicCredentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
 *   { username: "Aladdin", password: "open sesame" });
 * ```
 */
export function parseBasicCredentials(header: string): { username: string; password: string } {
  const c = parseCredentials(header);
  if (c.scheme.toLowerCase() !== "basic" || c.token68 === undefined) {
    throw new AuthParseError("Cannot parse Basic credentials: not a Basic token", 0);
  }
  let text: string;
  try {
    const bin = atob(c.token68);
    text = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(bin, (ch) => ch.charCodeAt(0)),
    );
  } catch (cause) {
    throw new AuthParseError("Cannot parse Basic credentials: invalid base64 or UTF-8", 6, {
      cause,
    });
  }
  const colon = text.indexOf(":");
  if (colon < 0) throw new AuthParseError("Cannot parse Basic credentials: no colon", 6);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

// === Digest hashes (RFC 2617 §3.1.3, RFC 7616 §3.2 and §6.1) ===

/** Digest algorithms this module computes (RFC 7616 §6.1). */
export type DigestAlgorithm =
  | "MD5"
  | "MD5-sess"
  | "SHA-256"
  | "SHA-256-sess"
  | "SHA-512-256"
  | "SHA-512-256-sess";

/** Quality of protection values. */
export type Qop = "auth" | "auth-int";

const ALGORITHMS: readonly DigestAlgorithm[] = [
  "MD5",
  "MD5-sess",
  "SHA-256",
  "SHA-256-sess",
  "SHA-512-256",
  "SHA-512-256-sess",
];

/**
 * Returns the canonical name of a supported algorithm (names are case-insensitive), or
 * `undefined` for one this module does not know.
 *
 * @param name An `algorithm` parameter value; absent means MD5.
 * @returns The canonical name or `undefined`.
 *
 * @example
 * ```ts
 * import { digestAlgorithm } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * equal(digestAlgorithm("sha-256-sess"), "SHA-256-sess");
 * equal(digestAlgorithm(undefined), "MD5");
 * equal(digestAlgorithm("SHA-1"), undefined);
 * ```
 */
export function digestAlgorithm(name: string | undefined): DigestAlgorithm | undefined {
  if (name === undefined) return "MD5";
  const upper = name.toUpperCase();
  return ALGORITHMS.find((a) => a.toUpperCase() === upper);
}

// === Hash providers ===

/** The hash functions Digest uses (the `-sess` variants use the same hash). */
export type DigestHashName = "MD5" | "SHA-256" | "SHA-512-256";

/**
 * The hashing a {@linkcode DigestClient} and {@linkcode DigestServer} run on, synchronous: the
 * default, {@linkcode pureHashProvider}, is pure TypeScript (`@noble/hashes`) and runs in a
 * browser; `@rtclite/std/ietf/rfc2617/native` adapts `node:crypto` (native code under Deno and
 * Node). Install one for every instance with {@linkcode setHashProvider} or give one in the
 * options.
 */
export interface DigestHashProvider {
  /**
   * `H(data)` as lower-case hex.
   *
   * @param name The hash.
   * @param data Text (hashed as UTF-8) or bytes.
   * @returns Hex digits: 32 for MD5, 64 for SHA-256 and SHA-512-256.
   */
  hex(name: DigestHashName, data: string | Uint8Array): string;
  /**
   * Prepares HMAC-SHA-256 under a key (for the server's nonces).
   *
   * @param key The key.
   * @returns A function returning the 32-byte MAC of its argument.
   */
  hmacSha256(key: Uint8Array): (data: Uint8Array) => Uint8Array;
}

// Text is hashed from this scratch buffer (no fresh array per hash); longer text is encoded anew.
const scratch = new Uint8Array(1024);

function utf8(data: string | Uint8Array): Uint8Array {
  if (typeof data !== "string") return data;
  if (data.length * 3 > scratch.length) return encoder.encode(data);
  return scratch.subarray(0, encoder.encodeInto(data, scratch).written);
}

/**
 * The pure hash provider: MD5, SHA-256, SHA-512-256 and HMAC-SHA-256 from
 * {@link https://github.com/paulmillr/noble-hashes | @noble/hashes}; the default.
 *
 * @example
 * ```ts
 * import { pureHashProvider } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * equal(pureHashProvider.hex("MD5", "abc"), "900150983cd24fb0d6963f7d28e17f72");
 * ```
 */
export const pureHashProvider: DigestHashProvider = {
  hex(name, data) {
    const bytes = utf8(data);
    return toHex(
      name === "MD5" ? md5(bytes) : name === "SHA-256" ? sha256(bytes) : sha512_256(bytes),
    );
  },
  hmacSha256(key) {
    // The keyed inner and outer states are computed once and cloned per MAC.
    const keyed = hmac.create(sha256, key);
    return (data) => keyed.clone().update(data).digest();
  },
};

let defaultProvider: DigestHashProvider = pureHashProvider;

/**
 * Sets the hash provider of every client and server created without a `hash` option (and of the
 * free functions called without one).
 *
 * @param provider The provider, e.g. `nativeHashProvider` from `@rtclite/std/ietf/rfc2617/native`.
 * @returns The provider it replaces.
 *
 * @example
 * ```ts
 * import { pureHashProvider, setHashProvider } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * const previous = setHashProvider(pureHashProvider);
 * equal(previous, pureHashProvider);
 * ```
 */
export function setHashProvider(provider: DigestHashProvider): DigestHashProvider {
  const previous = defaultProvider;
  defaultProvider = provider;
  return previous;
}

function hashName(algorithm: DigestAlgorithm): DigestHashName {
  return algorithm.startsWith("SHA-512-256")
    ? "SHA-512-256"
    : algorithm.startsWith("SHA-256")
    ? "SHA-256"
    : "MD5";
}

/**
 * The unkeyed digest `H(data)` as lower-case hex for a digest algorithm (its `-sess` variant uses
 * the same hash).
 *
 * @param algorithm The digest algorithm.
 * @param data Text (UTF-8 encoded) or bytes.
 * @param hash The hash provider; default the one {@linkcode setHashProvider} set.
 * @returns Hex digits: 32 for MD5, 64 for SHA-256 and SHA-512-256.
 *
 * @example
 * ```ts
 * import { digestHash } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * equal(await digestHash("SHA-256", ""),
 *   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
 * equal(await digestHash("MD5", "abc"), "900150983cd24fb0d6963f7d28e17f72");
 * ```
 */
// @implements RFC7616 §3.2, RFC2617 §3.1.3, RFC8760 §2.2
export function digestHash(
  algorithm: DigestAlgorithm,
  data: string | Uint8Array,
  hash: DigestHashProvider = defaultProvider,
): Promise<string> {
  return Promise.resolve(hash.hex(hashName(algorithm), data));
}

/** What {@linkcode computeDigestResponse} needs. */
export interface DigestInput {
  /** Digest algorithm; MD5 when absent. */
  algorithm?: DigestAlgorithm;
  /** The user's name (plain, not the userhash). */
  username: string;
  /** The realm from the challenge. */
  realm: string;
  /** The password; or give `ha1`. */
  password?: string;
  /** Precomputed `H(username ":" realm ":" password)`, as servers may store instead. */
  ha1?: string;
  /** The nonce from the challenge. */
  nonce: string;
  /** Request method (`GET`, `REGISTER`); empty for `rspauth`. */
  method: string;
  /** The digest-uri: request target (HTTP) or Request-URI (SIP). */
  uri: string;
  /** Quality of protection; absent for RFC 2069 compatibility. */
  qop?: Qop;
  /** Nonce count as 8 hex digits or a number; required with qop. */
  nc?: string | number;
  /** Client nonce; required with qop and with `-sess`. */
  cnonce?: string;
  /** Entity body for `auth-int` (empty when absent, RFC 8760 §2.6 item 7). */
  body?: string | Uint8Array;
}

/**
 * Formats a nonce count as the eight hex digits of the `nc` parameter.
 *
 * @param n The count, 1 for the first request with a nonce.
 * @returns E.g. `00000001`.
 * @throws {RangeError} When `n` is not an integer in 0..2^32-1.
 *
 * @example
 * ```ts
 * import { formatNc } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * equal(formatNc(26), "0000001a");
 * ```
 */
export function formatNc(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`Cannot format nonce count: ${n} is not in 0..4294967295`);
  }
  return n.toString(16).padStart(8, "0");
}

/**
 * Computes the digest `response` (or, with an empty method, the `rspauth` of
 * Authentication-Info).
 *
 * @param input Credentials, challenge values and request.
 * @param hash The hash provider; default the one {@linkcode setHashProvider} set.
 * @returns The request-digest as lower-case hex.
 * @throws {TypeError} When neither password nor ha1 is given, or qop/-sess lacks nc or cnonce.
 *
 * @example RFC 2617 §3.5
 * ```ts
 * import { computeDigestResponse } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * equal(await computeDigestResponse({
 *   username: "Mufasa", realm: "testrealm@host.com", password: "Circle Of Life",
 *   nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", method: "GET", uri: "/dir/index.html",
 *   qop: "auth", nc: 1, cnonce: "0a4f113b",
 * }), "6629fae49393a05397450978507c4ef1");
 * ```
 */
export function computeDigestResponse(
  input: DigestInput,
  hash: DigestHashProvider = defaultProvider,
): Promise<string> {
  try {
    return Promise.resolve(digestResponse(input, hash, undefined));
  } catch (e) {
    return Promise.reject(e);
  }
}

// The request-digest, synchronously; `ha1` when the caller already has H(A1) (or the session
// H(A1) for -sess) from the same credentials, as a server answering rspauth does.
function digestResponse(
  input: DigestInput,
  hash: DigestHashProvider,
  knownHa1: string | undefined,
): string {
  const alg = input.algorithm ?? "MD5";
  const name = hashName(alg);
  const ha1 = knownHa1 ?? sessionHa1(input, hash);
  // @implements RFC2617 §3.2.2.3, RFC7616 §3.4.3
  let a2 = `${input.method}:${input.uri}`;
  if (input.qop === "auth-int") a2 += `:${hash.hex(name, input.body ?? "")}`;
  const ha2 = hash.hex(name, a2);
  // @implements RFC2617 §3.2.2.1, RFC7616 §3.4.1
  if (input.qop === undefined) return hash.hex(name, `${ha1}:${input.nonce}:${ha2}`);
  if (input.nc === undefined || input.cnonce === undefined) {
    throw new TypeError("Cannot compute digest: qop needs nc and cnonce");
  }
  const nc = typeof input.nc === "number" ? formatNc(input.nc) : input.nc;
  return hash.hex(name, `${ha1}:${input.nonce}:${nc}:${input.cnonce}:${input.qop}:${ha2}`);
}

// H(A1), with the -sess step.
function sessionHa1(input: DigestInput, hash: DigestHashProvider): string {
  const alg = input.algorithm ?? "MD5";
  const name = hashName(alg);
  // @implements RFC2617 §3.2.2.2, RFC7616 §3.4.2
  let ha1: string;
  if (input.ha1 !== undefined) ha1 = input.ha1;
  else if (input.password !== undefined) {
    ha1 = hash.hex(name, `${input.username}:${input.realm}:${input.password}`);
  } else throw new TypeError("Cannot compute digest: neither password nor ha1 given");
  if (alg.endsWith("-sess")) {
    if (input.cnonce === undefined) {
      throw new TypeError("Cannot compute digest: -sess needs cnonce");
    }
    ha1 = hash.hex(name, `${ha1}:${input.nonce}:${input.cnonce}`);
  }
  return ha1;
}

/**
 * The hashed username `H(username ":" realm)` sent when the server asks for `userhash=true`.
 *
 * @param algorithm The challenge's algorithm.
 * @param username The plain username.
 * @param realm The realm.
 * @param hash The hash provider; default the one {@linkcode setHashProvider} set.
 * @returns Hex digits.
 *
 * @example RFC 7616 §3.9.2 (the value of erratum 4897; the RFC's own does not follow from its inputs)
 * ```ts
 * import { computeUserhash } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * equal(await computeUserhash("SHA-512-256", "J\u00e4s\u00f8n Doe", "api@example.org"),
 *   "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b");
 * ```
 */
// @implements RFC7616 §3.4.4 (new in RFC 7616: RFC 2617 has no userhash)
export function computeUserhash(
  algorithm: DigestAlgorithm,
  username: string,
  realm: string,
  hash: DigestHashProvider = defaultProvider,
): Promise<string> {
  return digestHash(algorithm, `${username}:${realm}`, hash);
}

// === Digest challenge (RFC 2617 §3.2.1, RFC 7616 §3.3) ===

/** A parsed Digest challenge. */
export interface DigestChallenge {
  /** Protection space name. */
  realm: string;
  /** Server nonce. */
  nonce: string;
  /** Opaque value to echo back. */
  opaque?: string;
  /** URIs of the protection space. */
  domain?: string[];
  /** True when the previous request was rejected only because its nonce was stale. */
  stale: boolean;
  /** The algorithm as written (MD5 when absent); see {@linkcode digestAlgorithm}. */
  algorithm: string;
  /** Offered qop values (unknown ones kept; empty when the server sent none). */
  qop: string[];
  /** `UTF-8` when the server announced it. */
  charset?: string;
  /** True when the server wants the username hashed. */
  userhash: boolean;
}

/** The non-empty, trimmed elements of a comma-separated list. */
function splitList(v: string): string[] {
  const out: string[] = [];
  for (let i = 0; i <= v.length;) {
    let j = v.indexOf(",", i);
    if (j < 0) j = v.length;
    const item = v.slice(i, j).trim();
    if (item) out.push(item);
    i = j + 1;
  }
  return out;
}

/**
 * Reads a Digest challenge from a parsed challenge.
 *
 * @param challenge A challenge from {@linkcode parseChallenges} with scheme Digest.
 * @returns The challenge's fields.
 * @throws {AuthParseError} When the scheme is not Digest or realm/nonce is missing.
 *
 * @example
 * ```ts
 * import { parseChallenges, parseDigestChallenge } from "@rtclite/std/ietf/rfc2617";
 * import { deepEqual } from "node:assert/strict";
 *
 * const [c] = parseChallenges('Digest realm="r", nonce="n", qop="auth, auth-int", stale=TRUE');
 * deepEqual(parseDigestChallenge(c!),
 *   { realm: "r", nonce: "n", stale: true, algorithm: "MD5", qop: ["auth", "auth-int"],
 *     userhash: false });
 * ```
 */
// @implements RFC2617 §3.2.1, RFC7616 §3.3
export function parseDigestChallenge(challenge: AuthChallenge): DigestChallenge {
  const p = challenge.params;
  if (challenge.scheme.toLowerCase() !== "digest") {
    throw new AuthParseError(`Cannot read Digest challenge: scheme is ${challenge.scheme}`, 0);
  }
  if (p.realm === undefined) throw new AuthParseError("Cannot read Digest challenge: no realm", 0);
  if (p.nonce === undefined) throw new AuthParseError("Cannot read Digest challenge: no nonce", 0);
  const out: DigestChallenge = {
    realm: p.realm,
    nonce: p.nonce,
    stale: p.stale?.toLowerCase() === "true",
    algorithm: p.algorithm ?? "MD5",
    qop: p.qop === undefined ? [] : splitList(p.qop),
    userhash: p.userhash?.toLowerCase() === "true",
  };
  if (p.opaque !== undefined) out.opaque = p.opaque;
  if (p.domain !== undefined) out.domain = p.domain.split(/\s+/).filter((d) => d);
  if (p.charset !== undefined) out.charset = p.charset;
  return out;
}

/**
 * Formats a Digest challenge for `WWW-Authenticate` / `Proxy-Authenticate`, quoting exactly the
 * parameters RFC 7616 says to quote.
 *
 * @param c The challenge.
 * @returns The header value.
 *
 * @example
 * ```ts
 * import { formatDigestChallenge } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * equal(formatDigestChallenge({ realm: "r", nonce: "n", stale: false, algorithm: "SHA-256",
 *   qop: ["auth"], userhash: false }), 'Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"');
 * ```
 */
// @implements RFC7616 §3.3 ¶36-37, RFC2617 §3.2.1
export function formatDigestChallenge(c: DigestChallenge): string {
  const params: Record<string, string> = { realm: c.realm };
  if (c.domain?.length) params.domain = c.domain.join(" ");
  params.nonce = c.nonce;
  if (c.opaque !== undefined) params.opaque = c.opaque;
  if (c.stale) params.stale = "true";
  params.algorithm = c.algorithm;
  if (c.qop.length) params.qop = c.qop.join(",");
  if (c.charset !== undefined) params.charset = c.charset;
  if (c.userhash) params.userhash = "true";
  return formatChallenge({ scheme: "Digest", params }, [
    "realm",
    "domain",
    "nonce",
    "opaque",
    "qop",
  ]);
}

// === Digest credentials (RFC 2617 §3.2.2, RFC 7616 §3.4) ===

/** Parsed Digest credentials from `Authorization` / `Proxy-Authorization`. */
export interface DigestCredentials {
  /** The username (decoded from `username*` when that was sent), or the userhash. */
  username: string;
  /** Realm. */
  realm: string;
  /** Server nonce being answered. */
  nonce: string;
  /** The digest-uri. */
  uri: string;
  /** The request-digest (hex). */
  response: string;
  /** Algorithm as written (MD5 when absent). */
  algorithm: string;
  /** Chosen qop. */
  qop?: string;
  /** Nonce count, 8 hex digits. */
  nc?: string;
  /** Client nonce. */
  cnonce?: string;
  /** Echoed opaque. */
  opaque?: string;
  /** True when `username` is the userhash. */
  userhash: boolean;
  /** True when the username is (to be) sent as `username*` in RFC 5987 encoding (RFC 7616 §3.4). */
  extendedUsername?: boolean;
}

/**
 * Parses Digest credentials.
 *
 * @param header The `Authorization` value.
 * @returns The credentials.
 * @throws {AuthParseError} When not Digest, a required parameter is missing, both `username`
 * and `username*` are present, or `nc` is not 8 hex digits.
 *
 * @example
 * ```ts
 * import { parseDigestCredentials } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * const c = parseDigestCredentials(
 *   "Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm=\"r\", nonce=\"n\", uri=\"/\", " +
 *     'response="00", qop=auth, nc=00000001, cnonce="c"');
 * equal(c.username, "J\u00e4s\u00f8n Doe");
 * equal(c.nc, "00000001");
 * ```
 */
// @implements RFC2617 §3.2.2, RFC7616 §3.4
export function parseDigestCredentials(header: string): DigestCredentials {
  const c = parseCredentials(header);
  const p = c.params;
  const fail = (what: string): never => {
    throw new AuthParseError(`Cannot read Digest credentials: ${what}`, 0);
  };
  if (c.scheme.toLowerCase() !== "digest") fail(`scheme is ${c.scheme}`);
  let username = p.username;
  const ext = p["username*"];
  if (ext !== undefined) {
    if (username !== undefined) fail("both username and username*");
    username = decodeExtValue(ext) ?? fail("bad username*");
  }
  for (const k of ["realm", "nonce", "uri", "response"] as const) {
    if (p[k] === undefined) fail(`no ${k}`);
  }
  if (username === undefined) fail("no username");
  const out: DigestCredentials = {
    username: username!,
    realm: p.realm!,
    nonce: p.nonce!,
    uri: p.uri!,
    response: p.response!,
    algorithm: p.algorithm ?? "MD5",
    userhash: p.userhash?.toLowerCase() === "true",
  };
  if (ext !== undefined) out.extendedUsername = true;
  if (p.qop !== undefined) out.qop = p.qop;
  if (p.nc !== undefined) {
    if (!/^[0-9a-fA-F]{8}$/.test(p.nc)) fail(`nc ${JSON.stringify(p.nc)} is not 8 hex digits`);
    out.nc = p.nc;
  }
  if (p.cnonce !== undefined) out.cnonce = p.cnonce;
  if (p.opaque !== undefined) out.opaque = p.opaque;
  return out;
}

/** RFC 5987 ext-value in UTF-8: every byte outside attr-char percent-encoded. */
function encodeExtValue(v: string): string {
  let out = "UTF-8''";
  for (const b of encoder.encode(v)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(c)
      ? c
      : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** RFC 5987 ext-value: `charset'lang'pct-encoded`. */
function decodeExtValue(v: string): string | undefined {
  const m = /^([A-Za-z0-9!#$%&+\-^_`{}~]+)'[A-Za-z0-9-]*'(.*)$/.exec(v);
  if (!m || m[1]!.toUpperCase() !== "UTF-8") return undefined;
  try {
    return decodeURIComponent(m[2]!);
  } catch {
    return undefined;
  }
}

/**
 * Formats Digest credentials, quoting exactly the parameters RFC 7616 says to quote (RFC 8760
 * §2.6: `uri` quoted for SIP too).
 *
 * @param c The credentials.
 * @returns The `Authorization` value.
 *
 * @example
 * ```ts
 * import { formatDigestCredentials, parseDigestCredentials } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * const value = formatDigestCredentials({ username: "a", realm: "r", nonce: "n", uri: "sip:r",
 *   response: "0f", algorithm: "MD5", qop: "auth", nc: "00000001", cnonce: "c", userhash: false });
 * equal(value, 'Digest username="a", realm="r", nonce="n", uri="sip:r", response="0f", ' +
 *   'algorithm=MD5, qop=auth, nc=00000001, cnonce="c"');
 * equal(parseDigestCredentials(value).cnonce, "c");
 * ```
 */
// @implements RFC7616 §3.4 ¶21-22, RFC2617 §3.2.2
export function formatDigestCredentials(c: DigestCredentials): string {
  // The order and quoting of formatChallenge() with username, realm, nonce, uri, response,
  // cnonce and opaque quoted, written out directly.
  let out = c.extendedUsername
    ? `Digest username*=${tokenOrQuoted(encodeExtValue(c.username))}`
    : `Digest username=${quote(c.username)}`;
  out += `, realm=${quote(c.realm)}, nonce=${quote(c.nonce)}, uri=${quote(c.uri)}, response=${
    quote(c.response)
  }, algorithm=${tokenOrQuoted(c.algorithm)}`;
  if (c.qop !== undefined) out += `, qop=${tokenOrQuoted(c.qop)}`;
  if (c.nc !== undefined) out += `, nc=${tokenOrQuoted(c.nc)}`;
  if (c.cnonce !== undefined) out += `, cnonce=${quote(c.cnonce)}`;
  if (c.opaque !== undefined) out += `, opaque=${quote(c.opaque)}`;
  if (c.userhash) out += ", userhash=true";
  return out;
}

function tokenOrQuoted(v: string): string {
  return isToken(v) ? v : quote(v);
}

// === Client (RFC 2617 §3.2.2, RFC 8760 §2.4) ===

/** A request being authorized. */
export interface DigestRequest {
  /** Method, e.g. `GET`, `REGISTER`, `INVITE`. */
  method: string;
  /** digest-uri: HTTP request-target, or the SIP Request-URI. */
  uri: string;
  /** Entity body, used for `auth-int`. */
  body?: string | Uint8Array;
}

/** Options of {@linkcode DigestClient}. */
export interface DigestClientOptions {
  /** User name. */
  username: string;
  /** Password. */
  password: string;
  /** Produces client nonces; default 16 random bytes as hex. */
  cnonce?: () => string;
  /** Preferred qop when both are offered; default `auth` (auth-int needs the body). */
  qop?: Qop;
  /** Hashing; default the provider {@linkcode setHashProvider} set when the client was created. */
  hash?: DigestHashProvider;
}

/**
 * Answers Digest challenges, counting `nc` for each nonce it has answered (a repeated answer to
 * the same nonce sends `nc=00000002`, ...). A client holds one instance per credentials.
 *
 * @example
 * ```ts
 * import { DigestClient } from "@rtclite/std/ietf/rfc2617";
 * import { match } from "node:assert/strict";
 *
 * const client = new DigestClient({ username: "u", password: "p" });
 * const challenge = 'Digest realm="r", nonce="abc", qop="auth"';
 * await client.authorize(challenge, { method: "REGISTER", uri: "sip:r" });
 * match(await client.authorize(challenge, { method: "REGISTER", uri: "sip:r" }), /nc=00000002/);
 * ```
 */
export class DigestClient {
  #opts: DigestClientOptions;
  #hash: DigestHashProvider;
  #nc = new Map<string, number>();
  #sent = new Map<string, DigestInput>();

  /**
   * Creates a client.
   *
   * @param options Credentials and optional cnonce source, preferred qop and hash provider.
   */
  constructor(options: DigestClientOptions) {
    this.#opts = options;
    this.#hash = options.hash ?? defaultProvider;
  }

  /**
   * Checks the `rspauth` of an `Authentication-Info` (or `Proxy-Authentication-Info`) value
   * against one of the last 64 requests this client authorized with qop, proving that the server
   * knows the password too (mutual authentication).
   *
   * @param info The header value, e.g. `qop=auth, rspauth="...", cnonce="...", nc=00000001`.
   * @returns True when `rspauth` matches; false when it does not or the request is unknown.
   * @throws {AuthParseError} When the value does not parse.
   *
   * @example
   * ```ts
   * import { DigestClient, DigestServer } from "@rtclite/std/ietf/rfc2617";
   * import { equal } from "node:assert/strict";
   *
   * const server = new DigestServer({ realm: "r" });
   * const client = new DigestClient({ username: "u", password: "p" });
   * const request = { method: "GET", uri: "/" };
   * const result = await server.verify(await client.authorize(await server.challenge(), request),
   *   request, () => ({ password: "p" }));
   * equal(result.ok && await client.verifyAuthenticationInfo(result.authenticationInfo), true);
   * ```
   */
  // @implements RFC7616 §3.5 ¶7-15, RFC2617 §3.2.3
  verifyAuthenticationInfo(info: string): Promise<boolean> {
    try {
      return Promise.resolve(this.#verifyAuthenticationInfo(info));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #verifyAuthenticationInfo(info: string): boolean {
    const p = parseCredentials(`Digest ${info}`).params;
    if (p.rspauth === undefined || p.cnonce === undefined || p.nc === undefined) return false;
    const input = this.#sent.get(`${p.cnonce}\u0000${p.nc}`);
    if (!input || (p.qop !== undefined && p.qop !== input.qop)) return false;
    const expected = digestResponse({ ...input, method: "" }, this.#hash, undefined);
    return timingSafeEqual(expected, p.rspauth.toLowerCase());
  }

  /**
   * Picks the topmost Digest challenge with a supported algorithm (RFC 8760 §2.4).
   *
   * @param header One `WWW-Authenticate`/`Proxy-Authenticate` value, several values, or parsed
   * challenges.
   * @returns The chosen challenge, or `undefined` when none can be answered.
   * @throws {AuthParseError} When a header value does not parse.
   */
  // @implements RFC8760 §2.4 ¶1
  select(
    header: string | readonly string[] | readonly AuthChallenge[],
  ): DigestChallenge | undefined {
    const list: AuthChallenge[] = typeof header === "string"
      ? parseChallenges(header)
      : header.flatMap((h) => typeof h === "string" ? parseChallenges(h) : [h]);
    for (const c of list) {
      if (c.scheme.toLowerCase() !== "digest") continue;
      let d: DigestChallenge;
      try {
        d = parseDigestChallenge(c);
      } catch {
        continue;
      }
      const qopOk = d.qop.length === 0 || d.qop.some((q) => q === "auth" || q === "auth-int");
      if (digestAlgorithm(d.algorithm) && qopOk) return d;
    }
    return undefined;
  }

  /**
   * Computes the `Authorization` (or `Proxy-Authorization`) value answering a challenge.
   *
   * @param challenge A header value (or values) or an already selected challenge.
   * @param request Method, digest-uri and body of the request to send.
   * @returns The header value.
   * @throws {AuthParseError} When no challenge can be answered.
   */
  authorize(
    challenge: string | readonly string[] | DigestChallenge,
    request: DigestRequest,
  ): Promise<string> {
    try {
      return Promise.resolve(this.#authorize(challenge, request));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #authorize(
    challenge: string | readonly string[] | DigestChallenge,
    request: DigestRequest,
  ): string {
    const d = typeof challenge === "string" || Array.isArray(challenge)
      ? this.select(challenge as string | string[])
      : challenge as DigestChallenge;
    if (!d) throw new AuthParseError("Cannot answer challenge: no supported Digest challenge", 0);
    const algorithm = digestAlgorithm(d.algorithm);
    if (!algorithm) {
      throw new AuthParseError(`Cannot answer challenge: unsupported algorithm ${d.algorithm}`, 0);
    }
    // @implements RFC2617 §3.2.2 ¶8-10, RFC7616 §3.4 ¶13-18
    const preferred = this.#opts.qop ?? "auth";
    let qop: Qop | undefined;
    for (const q of d.qop) {
      if (q === preferred) {
        qop = q;
        break;
      }
      if (qop === undefined && (q === "auth" || q === "auth-int")) qop = q;
    }
    const key = `${d.realm}\u0000${d.nonce}`;
    const n = (this.#nc.get(key) ?? 0) + 1;
    if (this.#nc.size > 64 && !this.#nc.has(key)) this.#nc.clear();
    this.#nc.set(key, n);
    const cnonce = (this.#opts.cnonce ?? randomHex)();
    const input: DigestInput = {
      algorithm,
      username: this.#opts.username,
      realm: d.realm,
      password: this.#opts.password,
      nonce: d.nonce,
      method: request.method,
      uri: request.uri,
    };
    if (request.body !== undefined) input.body = request.body;
    const creds: DigestCredentials = {
      username: this.#opts.username,
      realm: d.realm,
      nonce: d.nonce,
      uri: request.uri,
      response: "",
      algorithm: d.algorithm,
      userhash: false,
    };
    if (qop !== undefined) {
      input.qop = creds.qop = qop;
      input.nc = creds.nc = formatNc(n);
      input.cnonce = creds.cnonce = cnonce;
    } else if (algorithm.endsWith("-sess")) input.cnonce = creds.cnonce = cnonce;
    if (d.opaque !== undefined) creds.opaque = d.opaque;
    // @implements RFC7616 §3.4.4 ¶2
    if (d.userhash) {
      creds.username = this.#hash.hex(hashName(algorithm), `${this.#opts.username}:${d.realm}`);
      creds.userhash = true;
    } else if (d.charset?.toUpperCase() === "UTF-8" && /[^\x20-\x7e]/.test(creds.username)) {
      // @implements RFC7616 §3.4 ¶7-8
      creds.extendedUsername = true;
    }
    creds.response = digestResponse(input, this.#hash, undefined);
    if (qop !== undefined) {
      if (this.#sent.size >= 64) this.#sent.delete(this.#sent.keys().next().value!);
      this.#sent.set(`${cnonce}\u0000${input.nc}`, input);
    }
    return formatDigestCredentials(creds);
  }
}

// Client nonces (16 random bytes as hex) are cut from a hex string of 4 KiB of random bytes,
// refilled when used up: one getRandomValues and one hex conversion per 256 nonces.
let randomPool = "";
let randomPos = 0;

function randomHex(): string {
  if (randomPos + 32 > randomPool.length) {
    randomPool = toHex(crypto.getRandomValues(new Uint8Array(4096)));
    randomPos = 0;
  }
  return randomPool.slice(randomPos, randomPos += 32);
}

// === Server (RFC 2617 §3.3 and §4.3, RFC 7616 §3.3 and §5.4-5.5) ===

/** What the application knows about a user: the password or `H(user:realm:password)`. */
export type DigestSecret =
  | { password: string; username?: string }
  | { ha1: string; username?: string };

/**
 * Looks up a user. With `userhash` true, `username` is the hash and the lookup returns the plain
 * `username` too (compute it with {@linkcode computeUserhash}).
 */
export type DigestLookup = (
  username: string,
  realm: string,
  userhash: boolean,
) => DigestSecret | undefined | Promise<DigestSecret | undefined>;

/** Why verification failed. */
export type DigestFailure =
  | "malformed"
  | "realm"
  | "algorithm"
  | "qop"
  | "nonce"
  | "stale"
  | "replay"
  | "opaque"
  | "uri"
  | "user"
  | "response";

/** Result of {@linkcode DigestServer.verify}. */
export type DigestVerifyResult =
  | {
    ok: true;
    /** The authenticated (plain) username. */
    username: string;
    /** Value for an `Authentication-Info` header (rspauth, cnonce, nc, qop). */
    authenticationInfo: string;
  }
  | {
    ok: false;
    /** The failure. */
    reason: DigestFailure;
    /** True when a fresh challenge should carry `stale=true` (credentials were right). */
    stale: boolean;
    /** Username from the credentials, if any (for logging). */
    username?: string;
  };

/** Options of {@linkcode DigestServer}. */
export interface DigestServerOptions {
  /** Protection space, e.g. the SIP domain. */
  realm: string;
  /** HMAC key for nonces; default 32 random bytes (nonces then die with the process). */
  secret?: Uint8Array;
  /** Nonce lifetime in milliseconds; default 300000 (5 minutes). */
  nonceLifetime?: number;
  /** Algorithms to offer, most preferred first (one challenge each); default `["SHA-256", "MD5"]`. */
  algorithms?: DigestAlgorithm[];
  /** qop values to offer; default `["auth"]`. */
  qop?: Qop[];
  /**
   * Accept credentials without qop (RFC 2069 / old SIP clients). Such credentials carry no `nc`, so
   * each nonce is accepted once; a second use is answered `stale` (a fresh nonce). Default false.
   */
  allowNoQop?: boolean;
  /** Ask clients to hash the username. Default false. */
  userhash?: boolean;
  /** Opaque value; default none. */
  opaque?: string;
  /** Clock in milliseconds; default `Date.now`. */
  now?: () => number;
  /**
   * Most nonces tracked for replay detection at once; default 10000. A nonce is tracked from its
   * first accepted use until it expires, and never forgotten before: when this many live nonces
   * are tracked, credentials with a new nonce are answered `stale` until one expires.
   */
  maxTrackedNonces?: number;
  /** Hashing; default the provider {@linkcode setHashProvider} set when the server was created. */
  hash?: DigestHashProvider;
}

const NONCE_BYTES = 8 + 8 + 16; // timestamp, random, truncated HMAC

/** What {@linkcode DigestServer} verified before it looks the user up. */
interface Checked {
  credentials: DigestCredentials;
  algorithm: DigestAlgorithm;
  qop: Qop | undefined;
  nonce: Uint8Array;
  stale: boolean;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64URL_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64URL_VALUE[B64URL.charCodeAt(i)] = i;

/** Unpadded base64url (RFC 4648 §5). */
function b64url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64URL[v >> 18]! + B64URL[(v >> 12) & 63]! + B64URL[(v >> 6) & 63]! + B64URL[v & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const v = bytes[i]!;
    out += B64URL[v >> 2]! + B64URL[(v & 3) << 4]!;
  } else if (rest === 2) {
    const v = (bytes[i]! << 8) | bytes[i + 1]!;
    out += B64URL[v >> 10]! + B64URL[(v >> 4) & 63]! + B64URL[(v & 15) << 2]!;
  }
  return out;
}

/** A nonce's bytes from unpadded base64url, or undefined when it is not exactly that. */
function nonceBytes(s: string): Uint8Array | undefined {
  // 32 bytes are 43 characters, the last carrying 2 bits (its low 4 bits zero).
  if (s.length !== 43) return undefined;
  const out = new Uint8Array(NONCE_BYTES);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < 43; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64URL_VALUE[c]! : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = acc >> bits;
    }
  }
  return (acc & ((1 << bits) - 1)) === 0 ? out : undefined;
}

/** The issue time written in a nonce (checked with its HMAC first). */
function issued(nonce: Uint8Array): number {
  return new DataView(nonce.buffer, nonce.byteOffset).getFloat64(0);
}

/** A nonce's replay window: the highest `nc` seen and a 64-bit mask of the ones below it. */
interface NcWindow {
  max: number;
  /** Bits 0-31 of the mask: bit k set when `max - k` was seen. */
  lo: number;
  /** Bits 32-63. */
  hi: number;
  expires: number;
}

/** Accepts `nc` into a nonce's 64-wide sliding window; false for a repeat or a too old value. */
function acceptNc(s: NcWindow, nc: number): boolean {
  if (nc === 0) return false;
  if (nc > s.max) {
    const shift = nc - s.max;
    if (shift >= 64) s.hi = s.lo = 0;
    else if (shift >= 32) {
      s.hi = shift === 32 ? s.lo : s.lo << (shift - 32);
      s.lo = 0;
    } else {
      s.hi = (s.hi << shift) | (s.lo >>> (32 - shift));
      s.lo <<= shift;
    }
    s.lo |= 1;
    s.max = nc;
    return true;
  }
  const back = s.max - nc;
  if (back >= 64) return false;
  if (back < 32) {
    const bit = 1 << back;
    if (s.lo & bit) return false;
    s.lo |= bit;
  } else {
    const bit = 1 << (back - 32);
    if (s.hi & bit) return false;
    s.hi |= bit;
  }
  return true;
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Issues Digest challenges and verifies credentials. Nonces are
 * `base64url(timestamp ‖ random ‖ HMAC-SHA-256(secret, timestamp ‖ random ‖ realm)[0..16])`, so
 * any instance sharing the secret can verify them without state. Expired nonces with correct
 * credentials yield `stale`; each nonce's `nc` values are tracked in a 64-wide sliding window
 * (as IPsec does) so a repeated or too old `nc` is rejected as a replay while requests that
 * overtake each other are still accepted.
 *
 * Replay state is bounded by the nonce lifetime, not by forgetting: a nonce is tracked from its
 * first accepted use until it expires (after which it can only ever be `stale`), at most
 * `maxTrackedNonces` at once. When the table is full of live nonces, a new nonce is answered
 * `stale` instead of evicting one, so a captured `Authorization` is never accepted twice,
 * whatever other users do. The clock never runs backwards for these decisions.
 *
 * @example A stale nonce
 * ```ts
 * import { DigestClient, DigestServer } from "@rtclite/std/ietf/rfc2617";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * let now = 0;
 * const server = new DigestServer({ realm: "r", nonceLifetime: 1000, now: () => now });
 * const client = new DigestClient({ username: "u", password: "p" });
 * const [challenge] = await server.challenge();
 * const request = { method: "GET", uri: "/" };
 * const authorization = await client.authorize(challenge!, request);
 * now = 5000;
 * const result = await server.verify(authorization, request, () => ({ password: "p" }));
 * deepEqual(result, { ok: false, reason: "stale", stale: true, username: "u" });
 * const [again] = await server.challenge({ stale: true });
 * equal(client.select(again!)?.stale, true);
 * ```
 */
export class DigestServer {
  #o: Required<Omit<DigestServerOptions, "opaque" | "secret" | "hash">> & { opaque?: string };
  #hash: DigestHashProvider;
  #mac: (data: Uint8Array) => Uint8Array;
  #realm: Uint8Array;
  #seen = new Map<string, NcWindow>();
  #nextExpiry = Infinity;
  #clock = -Infinity;

  /**
   * Creates a server.
   *
   * @param options Realm, secret, lifetime, algorithms and policy.
   */
  constructor(options: DigestServerOptions) {
    this.#o = {
      realm: options.realm,
      nonceLifetime: options.nonceLifetime ?? 300_000,
      algorithms: options.algorithms ?? ["SHA-256", "MD5"],
      qop: options.qop ?? ["auth"],
      allowNoQop: options.allowNoQop ?? false,
      userhash: options.userhash ?? false,
      now: options.now ?? Date.now,
      maxTrackedNonces: options.maxTrackedNonces ?? 10_000,
    };
    if (options.opaque !== undefined) this.#o.opaque = options.opaque;
    this.#hash = options.hash ?? defaultProvider;
    const secret = options.secret ?? crypto.getRandomValues(new Uint8Array(32));
    this.#mac = this.#hash.hmacSha256(secret);
    this.#realm = encoder.encode(this.#o.realm);
  }

  // HMAC-SHA-256(secret, timestamp ‖ random ‖ realm), truncated to 16 bytes.
  #sign(stamp: Uint8Array): Uint8Array {
    const data = new Uint8Array(16 + this.#realm.length);
    data.set(stamp.subarray(0, 16));
    data.set(this.#realm, 16);
    return this.#mac(data).subarray(0, 16);
  }

  /** How many nonces are tracked for replay detection now (at most `maxTrackedNonces`). */
  get trackedNonces(): number {
    return this.#seen.size;
  }

  // The clock, never going backwards: a nonce once expired stays expired, so forgetting it is safe.
  #now(): number {
    this.#clock = Math.max(this.#clock, this.#o.now());
    return this.#clock;
  }

  /**
   * Makes a fresh nonce.
   *
   * @returns The nonce (base64url, 43 characters).
   */
  // @implements RFC7616 §3.3 ¶7-11, RFC2617 §4.3
  nonce(): Promise<string> {
    return Promise.resolve(this.#nonce());
  }

  #nonce(): string {
    const out = new Uint8Array(NONCE_BYTES);
    new DataView(out.buffer).setFloat64(0, this.#now());
    crypto.getRandomValues(out.subarray(8, 16));
    out.set(this.#sign(out), 16);
    return b64url(out);
  }

  /**
   * Checks a nonce: `"valid"`, `"stale"` (authentic but expired) or `"invalid"`.
   *
   * @param nonce The nonce from credentials.
   * @returns Its state.
   */
  checkNonce(nonce: string): Promise<"valid" | "stale" | "invalid"> {
    const bytes = nonceBytes(nonce);
    return Promise.resolve(bytes ? this.#checkNonce(bytes) : "invalid");
  }

  #checkNonce(bytes: Uint8Array): "valid" | "stale" | "invalid" {
    if (!bytesEqual(this.#sign(bytes), bytes.subarray(16))) return "invalid";
    const age = this.#now() - issued(bytes);
    return age < 0 || age > this.#o.nonceLifetime ? "stale" : "valid";
  }

  /**
   * Makes the challenges for a 401/407 response: one value per configured algorithm, most
   * preferred first, all with the same fresh nonce (RFC 8760 §2.3).
   *
   * @param options `stale: true` after a {@linkcode verify} result with `stale`.
   * @returns `WWW-Authenticate` (or `Proxy-Authenticate`) values, one header field each.
   */
  // @implements RFC8760 §2.3 ¶2, RFC7616 §3.3, RFC2617 §3.2.1
  challenge(options: { stale?: boolean } = {}): Promise<string[]> {
    const nonce = this.#nonce();
    const challenges = this.#o.algorithms.map((algorithm) => {
      const c: DigestChallenge = {
        realm: this.#o.realm,
        nonce,
        stale: options.stale ?? false,
        algorithm,
        qop: this.#o.qop,
        userhash: this.#o.userhash,
      };
      if (this.#o.opaque !== undefined) c.opaque = this.#o.opaque;
      if (this.#o.userhash) c.charset = "UTF-8";
      return formatDigestChallenge(c);
    });
    return Promise.resolve(challenges);
  }

  /**
   * Verifies credentials. On success returns the username and an `Authentication-Info` value;
   * on failure the reason and whether to re-challenge with `stale=true`.
   *
   * @param authorization The `Authorization`/`Proxy-Authorization` value or parsed credentials.
   * @param request Method, the request's URI (compared with `uri` unless `checkUri` is false, as
   * SIP allows, RFC 8760 §2.6 item 6) and body.
   * @param lookup Finds the user's secret.
   * @returns The verdict.
   */
  verify(
    authorization: string | DigestCredentials,
    request: DigestRequest & { checkUri?: boolean },
    lookup: DigestLookup,
  ): Promise<DigestVerifyResult> {
    try {
      const checked = this.#check(authorization, request);
      if (!("credentials" in checked)) return Promise.resolve(checked);
      const c = checked.credentials;
      const secret = lookup(c.username, c.realm, c.userhash);
      // A synchronous lookup keeps the whole verification synchronous.
      if (secret instanceof Promise) {
        return secret.then((s) => this.#finish(checked, request, s));
      }
      return Promise.resolve(this.#finish(checked, request, secret));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #fail(c: DigestCredentials, reason: DigestFailure, stale = false): DigestVerifyResult {
    log.info("Digest authentication failed for {username}: {reason}", {
      username: c.username,
      reason,
    });
    return { ok: false, reason, stale, username: c.username };
  }

  // Everything that needs no user secret: parse, policy, the nonce's MAC and age.
  #check(
    authorization: string | DigestCredentials,
    request: DigestRequest & { checkUri?: boolean },
  ): DigestVerifyResult | Checked {
    let c: DigestCredentials;
    try {
      c = typeof authorization === "string" ? parseDigestCredentials(authorization) : authorization;
    } catch {
      return { ok: false, reason: "malformed", stale: false };
    }
    if (c.realm !== this.#o.realm) return this.#fail(c, "realm");
    const algorithm = digestAlgorithm(c.algorithm);
    if (!algorithm || !this.#o.algorithms.includes(algorithm)) return this.#fail(c, "algorithm");
    // @implements RFC2617 §3.2.2 ¶8-10
    let qop: Qop | undefined;
    if (c.qop === undefined) {
      if (!this.#o.allowNoQop && this.#o.qop.length) return this.#fail(c, "qop");
    } else if (this.#o.qop.includes(c.qop as Qop)) qop = c.qop as Qop;
    else return this.#fail(c, "qop");
    if (qop !== undefined && (c.nc === undefined || c.cnonce === undefined)) {
      return this.#fail(c, "malformed");
    }
    if (algorithm.endsWith("-sess") && c.cnonce === undefined) return this.#fail(c, "malformed");
    if (this.#o.opaque !== undefined && c.opaque !== this.#o.opaque) {
      return this.#fail(c, "opaque");
    }
    // @implements RFC7616 §3.4.6 ¶2, RFC2617 §3.2.2.5
    if (request.checkUri !== false && c.uri !== request.uri) return this.#fail(c, "uri");
    const nonce = nonceBytes(c.nonce);
    const state = nonce ? this.#checkNonce(nonce) : "invalid";
    if (state === "invalid") return this.#fail(c, "nonce");
    if (this.#o.userhash && !c.userhash) return this.#fail(c, "user");
    return { credentials: c, algorithm, qop, nonce: nonce!, stale: state === "stale" };
  }

  // The response check, replay window and Authentication-Info, once the secret is known.
  #finish(
    checked: Checked,
    request: DigestRequest,
    secret: DigestSecret | undefined,
  ): DigestVerifyResult {
    const { credentials: c, algorithm, qop } = checked;
    if (!secret) return this.#fail(c, "user");
    const username = secret.username ?? c.username;
    const input: DigestInput = {
      algorithm,
      username,
      realm: c.realm,
      nonce: c.nonce,
      method: request.method,
      uri: c.uri,
    };
    if ("ha1" in secret) input.ha1 = secret.ha1;
    else input.password = secret.password;
    if (qop !== undefined) input.qop = qop;
    if (c.nc !== undefined) input.nc = c.nc;
    if (c.cnonce !== undefined) input.cnonce = c.cnonce;
    if (request.body !== undefined) input.body = request.body;
    const ha1 = sessionHa1(input, this.#hash);
    const expected = digestResponse(input, this.#hash, ha1);
    if (!timingSafeEqual(expected, c.response.toLowerCase())) return this.#fail(c, "response");
    // @implements RFC7616 §3.3 ¶16-17, RFC2617 §3.2.1
    if (checked.stale) return this.#fail(c, "stale", true);
    // @implements RFC7616 §3.4 ¶17-18, RFC7616 §5.5, RFC2617 §3.2.2, RFC2617 §4.5
    const seen = this.#track(c.nonce, checked.nonce);
    if (!seen) {
      log.warn("Digest: {n} live nonces tracked; answering stale until one expires", {
        n: this.#seen.size,
      });
      return this.#fail(c, "stale", true);
    }
    // Without qop there is no nc: the nonce is good for one request (RFC 2069 clients re-use it,
    // and get a fresh one through stale=true).
    if (c.nc === undefined) {
      if (!acceptNc(seen, 1)) return this.#fail(c, "replay", true);
    } else if (!acceptNc(seen, parseInt(c.nc, 16))) return this.#fail(c, "replay");
    // @implements RFC7616 §3.5, RFC2617 §3.2.3
    let authenticationInfo = "";
    if (qop !== undefined) {
      const rspauth = digestResponse({ ...input, method: "" }, this.#hash, ha1);
      authenticationInfo = `qop=${qop}, rspauth="${rspauth}", cnonce=${quote(c.cnonce!)}, nc=${c
        .nc!}`;
    }
    return { ok: true, username, authenticationInfo };
  }

  // The replay window of a nonce, tracked until the nonce expires; undefined when the table is
  // full of live nonces (a live one is never evicted).
  #track(nonce: string, bytes: Uint8Array): NcWindow | undefined {
    const known = this.#seen.get(nonce);
    if (known) return known;
    const now = this.#now();
    // Entries come roughly in issue order: drop expired ones from the front, cheaply.
    for (const [k, s] of this.#seen) {
      if (s.expires >= now) break;
      this.#seen.delete(k);
    }
    if (this.#seen.size >= this.#o.maxTrackedNonces && now > this.#nextExpiry) {
      let next = Infinity;
      for (const [k, s] of this.#seen) {
        if (s.expires < now) this.#seen.delete(k);
        else next = Math.min(next, s.expires);
      }
      this.#nextExpiry = next;
    }
    if (this.#seen.size >= this.#o.maxTrackedNonces) return undefined;
    const expires = issued(bytes) + this.#o.nonceLifetime;
    const s: NcWindow = { max: 0, lo: 0, hi: 0, expires };
    this.#seen.set(nonce, s);
    this.#nextExpiry = Math.min(this.#nextExpiry, expires);
    return s;
  }
}
