// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * URIs and addresses as SIP uses them: `sip:`, `sips:`, `tel:` and generic URIs, and the
 * name-addr / addr-spec values of From, To, Contact and Route header fields.
 *
 * {@linkcode Uri} holds a parsed URI with its components percent-decoded; formatting escapes
 * each component with exactly the characters its grammar forbids (RFC 3261 §19.1.2).
 * {@linkcode Uri.equals} compares two SIP URIs by the rules of RFC 3261 §19.1.4.
 * {@linkcode Address} holds a display name, a URI and header parameters (`tag`, `expires`,
 * `q`, ...). Malformed input throws {@linkcode UriParseError} with the offset of the problem.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc3261#section-19.1 | RFC 3261 §19.1},
 * {@link https://www.rfc-editor.org/rfc/rfc3261#section-25 | RFC 3261 §25} and
 * {@link https://www.rfc-editor.org/rfc/rfc3986 | RFC 3986}.
 *
 * Command line: `deno run std/ietf/rfc2396/main.ts 'sip:alice@example.com;transport=tcp'` prints the
 * parts of a URI (or of an address such as `"Alice" <sip:a@b>;tag=1`) as JSON.
 *
 * @example Parse, change and format a URI
 * ```ts
 * import { Address, Uri } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * const uri = Uri.parse("sip:alice@atlanta.com;transport=tcp");
 * equal(uri.user, "alice");
 * equal(uri.params.get("transport"), "tcp");
 * uri.port = 5070;
 * equal(uri.toString(), "sip:alice@atlanta.com:5070;transport=tcp");
 *
 * const to = Address.parse('"Alice" <sip:alice@atlanta.com>;tag=1928301774');
 * equal(to.displayName, "Alice");
 * equal(to.params.get("tag"), "1928301774");
 * equal(to.uri.equals(Uri.parse("sip:%61lice@ATLANTA.com")), true);
 * ```
 *
 * @module
 */
// @implements RFC3261 §19.1 (SIP and SIPS URIs), RFC3986 (URI generic syntax)
import { ParseError } from "../../errors.ts";
import {
  CLASS,
  HNV,
  isHex,
  isIPv6,
  PARAM,
  PASSWORD,
  sipHostError,
  TOKEN,
  UNRESERVED,
  URIC,
  USER,
} from "../_host.ts";

/** Malformed URI or address: the offset says where in the input reading stopped. */
export class UriParseError extends ParseError {}

/**
 * URI or header parameters, in order: lower-case name to value, `null` for a parameter
 * without `=` (such as `lr`).
 */
export type Params = Map<string, string | null>;

/** Fields accepted by the {@linkcode Uri} constructor; all optional. */
export interface UriInit {
  /** Scheme in lower case, e.g. `sip`; default `sip`. */
  scheme?: string;
  /** User part (decoded); for `tel:` the telephone number. */
  user?: string | undefined;
  /** Password (decoded). */
  password?: string | undefined;
  /** Host as written, IPv6 references with brackets. */
  host?: string;
  /** Port number. */
  port?: number | undefined;
  /** URI parameters. */
  params?: Params;
  /** URI headers (`?subject=...`), names as written. */
  headers?: Map<string, string>;
  /** For schemes other than sip, sips and tel: everything after the colon, as written. */
  opaque?: string | undefined;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

// Parameters whose presence in only one of two URIs makes them differ (RFC 3261 §19.1.4).
const PRESENCE_PARAMS = new Set(["user", "ttl", "method", "maddr", "transport"]);

/**
 * A URI: `sip:`/`sips:` (RFC 3261 §19.1.1), `tel:` (number in {@linkcode Uri.user}, its
 * parameters in {@linkcode Uri.params}) or any other scheme, kept as written in
 * {@linkcode Uri.opaque}.
 *
 * @example Build a URI from parts
 * ```ts
 * import { Uri } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * const uri = new Uri({ user: "j@s0n", host: "example.com", params: new Map([["lr", null]]) });
 * equal(uri.toString(), "sip:j%40s0n@example.com;lr");
 * ```
 */
export class Uri {
  /** Scheme in lower case: `sip`, `sips`, `tel`, `http`, ... */
  scheme: string;
  /** User part, percent-decoded (`undefined` when absent); for `tel:` the number. */
  user: string | undefined;
  /** Password, percent-decoded (`undefined` when absent). */
  password: string | undefined;
  /** Host as written (domain name, IPv4 address, or IPv6 reference in brackets); `""` for tel and generic URIs. */
  host: string;
  /** Port, or `undefined` when absent. */
  port: number | undefined;
  /** URI parameters in order: lower-case name to decoded value (`null` without `=`). */
  params: Params;
  /** URI headers in order: name as written to decoded value. */
  headers: Map<string, string>;
  /** For generic URIs: the scheme-specific part exactly as written; `undefined` otherwise. */
  opaque: string | undefined;

  /**
   * Creates a URI from parts.
   *
   * @param init The parts; the scheme defaults to `sip`.
   */
  constructor(init: UriInit = {}) {
    this.scheme = init.scheme ?? "sip";
    this.user = init.user;
    this.password = init.password;
    this.host = init.host ?? "";
    this.port = init.port;
    this.params = init.params ?? new Map();
    this.headers = init.headers ?? new Map();
    this.opaque = init.opaque;
  }

  /**
   * Parses a URI.
   *
   * @param text The URI, e.g. `sip:alice@atlanta.com;transport=tcp`.
   * @returns The parsed URI.
   * @throws {UriParseError} When the text is not a valid URI.
   *
   * @example
   * ```ts
   * import { Uri } from "@rtclite/std/ietf/rfc2396";
   * import { equal } from "node:assert/strict";
   *
   * equal(Uri.parse("sips:[2001:db8::1]:5061").host, "[2001:db8::1]");
   * ```
   */
  static parse(text: string): Uri {
    return parseUriRange(text, 0, text.length);
  }

  /**
   * Formats the URI, escaping each component as its grammar requires.
   *
   * @returns The URI text.
   *
   * @example
   * ```ts
   * import { Uri } from "@rtclite/std/ietf/rfc2396";
   * import { equal } from "node:assert/strict";
   *
   * equal(Uri.parse("sip:%61lice@atlanta.com").toString(), "sip:alice@atlanta.com");
   * ```
   */
  toString(): string {
    return formatUri(this);
  }

  /**
   * Compares with another URI by RFC 3261 §19.1.4 (sip/sips), by number and parameters
   * (tel), or by scheme and exact text (other schemes).
   *
   * @param other The URI to compare with.
   * @returns Whether the two URIs are equivalent.
   *
   * @example
   * ```ts
   * import { Uri } from "@rtclite/std/ietf/rfc2396";
   * import { equal } from "node:assert/strict";
   *
   * const a = Uri.parse("sip:bob@biloxi.com");
   * equal(a.equals(Uri.parse("sip:bob@BILOXI.com;newparam=5")), true);
   * equal(a.equals(Uri.parse("sip:bob@biloxi.com:5060")), false);
   * ```
   */
  equals(other: Uri): boolean {
    return uriEquals(this, other);
  }

  /**
   * Copies the URI (parameters and headers too), so that the copy can be changed alone.
   *
   * @returns A new URI with the same parts.
   *
   * @example
   * ```ts
   * import { Uri } from "@rtclite/std/ietf/rfc2396";
   * import { equal } from "node:assert/strict";
   *
   * const a = Uri.parse("sip:a@b;lr");
   * const b = a.clone();
   * b.params.delete("lr");
   * equal(a.toString(), "sip:a@b;lr");
   * equal(b.toString(), "sip:a@b");
   * ```
   */
  clone(): Uri {
    return new Uri({
      scheme: this.scheme,
      user: this.user,
      password: this.password,
      host: this.host,
      port: this.port,
      params: new Map(this.params),
      headers: new Map(this.headers),
      opaque: this.opaque,
    });
  }

  /**
   * Plain-object form for `JSON.stringify`: parameters and headers become objects, absent
   * parts are left out.
   *
   * @returns The URI's parts.
   *
   * @example
   * ```ts
   * import { Uri } from "@rtclite/std/ietf/rfc2396";
   * import { deepEqual } from "node:assert/strict";
   *
   * deepEqual(Uri.parse("sip:a@b:5060;lr").toJSON(), {
   *   scheme: "sip", user: "a", host: "b", port: 5060, params: { lr: null }, headers: {},
   * });
   * ```
   */
  toJSON(): Record<string, unknown> {
    const o: Record<string, unknown> = { scheme: this.scheme };
    if (this.opaque !== undefined) {
      o.opaque = this.opaque;
      return o;
    }
    if (this.user !== undefined) o.user = this.user;
    if (this.password !== undefined) o.password = this.password;
    if (this.host) o.host = this.host;
    if (this.port !== undefined) o.port = this.port;
    o.params = Object.fromEntries(this.params);
    o.headers = Object.fromEntries(this.headers);
    return o;
  }
}

// === Escaping (RFC 3261 §19.1.2, RFC 2396 §2.4) ===

/** URI components with their own sets of characters allowed unescaped. */
export type UriComponent = "user" | "password" | "param" | "header";

const COMPONENT_MASK: Record<UriComponent, number> = {
  user: UNRESERVED | USER,
  password: UNRESERVED | PASSWORD,
  param: UNRESERVED | PARAM,
  header: UNRESERVED | HNV,
};

const HEX = "0123456789ABCDEF";

function escapeMask(text: string, mask: number): string {
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c >= 128 || !(CLASS[c]! & mask)) break;
    i++;
  }
  if (i === n) return text;
  let out = text.slice(0, i);
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      if (CLASS[c]! & mask) out += text[i];
      else out += "%" + HEX[c >> 4] + HEX[c & 15];
      continue;
    }
    // Non-ASCII: percent-encode the UTF-8 bytes of the whole code point.
    const cp = text.codePointAt(i)!;
    if (cp > 0xffff) i++;
    for (const b of encoder.encode(String.fromCodePoint(cp))) {
      out += "%" + HEX[b >> 4] + HEX[b & 15];
    }
  }
  return out;
}

/**
 * Percent-encodes every character that the grammar of a SIP URI component does not allow
 * unescaped (RFC 3261 §19.1.2); non-ASCII characters become their UTF-8 octets.
 *
 * @param text The decoded component value.
 * @param component Which component: `user`, `password`, `param` (names and values) or `header`.
 * @returns The escaped text.
 *
 * @example
 * ```ts
 * import { percentEncode } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * equal(percentEncode("j@s0n", "user"), "j%40s0n");
 * equal(percentEncode("project x", "header"), "project%20x");
 * ```
 */
// @implements RFC3261 §19.1.2 ¶5-9
export function percentEncode(text: string, component: UriComponent): string {
  return escapeMask(text, COMPONENT_MASK[component]);
}

/**
 * Decodes `%HH` escapes (once: `%2541` becomes `%41`). The octets must form UTF-8.
 *
 * @param text Escaped text.
 * @returns The decoded text.
 * @throws {UriParseError} On a `%` without two hex digits or octets that are not UTF-8.
 *
 * @example
 * ```ts
 * import { percentDecode } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * equal(percentDecode("I%20have%20spaces"), "I have spaces");
 * equal(percentDecode("v%61lue%25%34%31"), "value%41");
 * ```
 */
// @implements RFC2396 §2.4.1
export function percentDecode(text: string): string {
  return decodeRange(text, 0, text.length);
}

function decodeRange(s: string, a: number, b: number): string {
  const pct = s.indexOf("%", a);
  if (pct === -1 || pct >= b) return s.slice(a, b);
  const bytes: number[] = [];
  let ascii = true;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) {
      const h = s.charCodeAt(i + 1);
      const l = s.charCodeAt(i + 2);
      if (i + 2 >= b || !isHex(h) || !isHex(l)) {
        throw new UriParseError(`Cannot parse URI: "%" not followed by two hex digits`, i);
      }
      const v = parseInt(s.slice(i + 1, i + 3), 16);
      if (v >= 128) ascii = false;
      bytes.push(v);
      i += 2;
    } else if (c < 128) bytes.push(c);
    else {
      ascii = false;
      for (const x of encoder.encode(s[i])) bytes.push(x);
    }
  }
  if (ascii) {
    let out = "";
    for (const x of bytes) out += String.fromCharCode(x);
    return out;
  }
  try {
    return decoder.decode(new Uint8Array(bytes));
  } catch {
    throw new UriParseError("Cannot parse URI: escaped octets are not UTF-8", a);
  }
}

// === Parsing (RFC 3261 §25.1 SIP-URI, SIPS-URI, absoluteURI) ===

function fail(what: string, detail: string, offset: number): never {
  throw new UriParseError(`Cannot parse ${what}: ${detail}`, offset);
}

function charAt(s: string, i: number): string {
  return i < s.length ? JSON.stringify(s[i]) : "end of input";
}

/** Scans characters of class `mask` and `%HH` escapes from `p` up to `end`. */
function scan(s: string, p: number, end: number, mask: number): number {
  while (p < end) {
    const c = s.charCodeAt(p);
    if (c < 128 && CLASS[c]! & mask) p++;
    else if (c === 37) {
      if (p + 2 >= end || !isHex(s.charCodeAt(p + 1)) || !isHex(s.charCodeAt(p + 2))) {
        fail("URI", `"%" not followed by two hex digits`, p);
      }
      p += 3;
    } else break;
  }
  return p;
}

function parseScheme(s: string, a: number, end: number): number {
  let p = a;
  const c0 = s.charCodeAt(p);
  if (!((c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122))) {
    fail("URI", "scheme must start with a letter", p);
  }
  for (p++; p < end; p++) {
    const c = s.charCodeAt(p);
    if (c === 58) return p;
    if (
      !((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 ||
        c === 45 || c === 46)
    ) break;
  }
  return fail("URI", `expected ":" after the scheme, found ${charAt(s, p)}`, p);
}

/**
 * Whether `s[a..b)` is an IPv6 reference written with three colons before an
 * embedded IPv4 address (`[2001:db8:::192.0.2.1]`), which RFC 3261's ABNF
 * wrongly allows and RFC 5118 §4.10 asks parsers to accept: it is read as
 * `[2001:db8::192.0.2.1]`.
 */
function isThreeColonReference(s: string, a: number, b: number): boolean {
  if (s.charCodeAt(a) !== 91 || s.charCodeAt(b - 1) !== 93) return false;
  const m = /^(.*[^:]):::(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s.slice(a + 1, b - 1));
  if (!m) return false;
  const fixed = `${m[1]}::${m[2]}`;
  return isIPv6(fixed, 0, fixed.length);
}

/** Parses `s[a..end)` as one URI (offsets in errors are positions in `s`). */
function parseUriRange(s: string, a: number, end: number): Uri {
  if (a >= end) fail("URI", "empty URI", a);
  const colon = parseScheme(s, a, end);
  const scheme = s.slice(a, colon).toLowerCase();
  const uri = new Uri({ scheme });
  if (scheme === "sip" || scheme === "sips") parseSip(s, colon + 1, end, uri);
  else if (scheme === "tel") parseTel(s, colon + 1, end, uri);
  else {
    // @implements RFC3261 §25.1 ¶26-27, RFC3986 §3 ¶1-2
    const p = scan(s, colon + 1, end, URIC);
    if (p < end) fail("URI", `invalid character ${charAt(s, p)}`, p);
    if (p === colon + 1) fail("URI", `empty after "${scheme}:"`, p);
    uri.opaque = s.slice(colon + 1, end);
  }
  return uri;
}

// @implements RFC3261 §19.1.1 ¶2-9, RFC3261 §25.1 ¶21-22
function parseSip(s: string, p: number, end: number, uri: Uri): void {
  // userinfo: an unescaped "@" can only end the userinfo.
  const at = s.indexOf("@", p);
  if (at !== -1 && at < end) {
    const u = scan(s, p, at, UNRESERVED | USER);
    if (u === p) fail("URI", "empty user before @", p);
    uri.user = decodeRange(s, p, u);
    if (u < at) {
      if (s.charCodeAt(u) !== 58) fail("URI", `invalid character ${charAt(s, u)} in user`, u);
      const w = scan(s, u + 1, at, UNRESERVED | PASSWORD);
      if (w < at) fail("URI", `invalid character ${charAt(s, w)} in password`, w);
      uri.password = decodeRange(s, u + 1, w);
    }
    p = at + 1;
  }
  // hostport
  const h = p;
  if (s.charCodeAt(p) === 91) {
    const close = s.indexOf("]", p);
    p = close === -1 || close >= end ? end : close + 1;
  } else {
    while (p < end) {
      const c = s.charCodeAt(p);
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 45) p++;
      else if (c >= 65 && c <= 90) p++;
      else break;
    }
  }
  const hostError = sipHostError(s, h, p);
  if (hostError && !isThreeColonReference(s, h, p)) fail("URI", hostError, h);
  uri.host = s.slice(h, p);
  if (p < end && s.charCodeAt(p) === 58) {
    const d = ++p;
    let port = 0;
    while (p < end) {
      const c = s.charCodeAt(p);
      if (c < 48 || c > 57) break;
      port = port * 10 + c - 48;
      p++;
    }
    if (p === d) fail("URI", "empty port", d);
    if (port > 65535) fail("URI", `port ${s.slice(d, p)} is out of range`, d);
    uri.port = port;
  }
  p = parseUriParams(s, p, end, uri.params);
  if (p < end && s.charCodeAt(p) === 63) p = parseHeaders(s, p + 1, end, uri.headers);
  if (p < end) fail("URI", `unexpected ${charAt(s, p)}`, p);
}

// @implements RFC3261 §19.1.1 ¶10-15, RFC3261 §25.1 ¶24
function parseUriParams(s: string, p: number, end: number, params: Params): number {
  while (p < end && s.charCodeAt(p) === 59) {
    const n = ++p;
    p = scan(s, p, end, UNRESERVED | PARAM);
    if (p === n) fail("URI", "empty parameter name", n);
    const name = decodeRange(s, n, p).toLowerCase();
    let value: string | null = null;
    if (p < end && s.charCodeAt(p) === 61) {
      const v = ++p;
      p = scan(s, p, end, UNRESERVED | PARAM);
      if (p === v) fail("URI", `empty value of parameter "${name}"`, v);
      value = decodeRange(s, v, p);
      if (name === "ttl" && !/^\d{1,3}$/.test(value)) fail("URI", "ttl must be 1 to 3 digits", v);
    }
    // Any given parameter-name MUST NOT appear more than once.
    if (params.has(name)) fail("URI", `parameter "${name}" appears twice`, n);
    params.set(name, value);
  }
  return p;
}

// @implements RFC3261 §19.1.1 ¶26-27, RFC3261 §25.1 ¶25
function parseHeaders(s: string, p: number, end: number, headers: Map<string, string>): number {
  for (;;) {
    const n = p;
    p = scan(s, p, end, UNRESERVED | HNV);
    if (p === n) fail("URI", "empty header name", n);
    if (p >= end || s.charCodeAt(p) !== 61) {
      fail("URI", `expected "=" after header name, found ${charAt(s, p)}`, p);
    }
    const v = ++p;
    p = scan(s, p, end, UNRESERVED | HNV);
    headers.set(decodeRange(s, n, v - 1), decodeRange(s, v, p));
    if (p < end && s.charCodeAt(p) === 38) p++;
    else return p;
  }
}

// tel: telephone-subscriber chars (RFC 3966: digits, visual separators, "+*#", A-D, p, w).
const TEL_RE = /^[0-9A-Da-d+*#().\-pwPW]+$/;

// @implements RFC3261 §19.1.6 ¶1
function parseTel(s: string, p: number, end: number, uri: Uri): void {
  const n = p;
  while (p < end && s.charCodeAt(p) !== 59) p++;
  const number = s.slice(n, p);
  if (!TEL_RE.test(number)) fail("URI", "invalid telephone number", n);
  uri.user = number;
  p = parseUriParams(s, p, end, uri.params);
  if (p < end) fail("URI", `unexpected ${charAt(s, p)}`, p);
}

// === Formatting ===

/**
 * Formats a URI (the same as `uri.toString()`).
 *
 * @param uri The URI.
 * @returns Its text, each component escaped as its grammar requires.
 *
 * @example
 * ```ts
 * import { formatUri, Uri } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * const uri = new Uri({ scheme: "sips", host: "example.com", headers: new Map([["subject", "project x"]]) });
 * equal(formatUri(uri), "sips:example.com?subject=project%20x");
 * ```
 */
export function formatUri(uri: Uri): string {
  if (uri.opaque !== undefined) return uri.scheme + ":" + uri.opaque;
  let out = uri.scheme + ":";
  if (uri.scheme === "tel") out += uri.user ?? "";
  else {
    if (uri.user !== undefined) {
      out += escapeMask(uri.user, UNRESERVED | USER);
      if (uri.password !== undefined) out += ":" + escapeMask(uri.password, UNRESERVED | PASSWORD);
      out += "@";
    }
    out += uri.host;
    if (uri.port !== undefined) out += ":" + uri.port;
  }
  for (const [name, value] of uri.params) {
    out += ";" + escapeMask(name, UNRESERVED | PARAM);
    if (value !== null) out += "=" + escapeMask(value, UNRESERVED | PARAM);
  }
  let sep = "?";
  for (const [name, value] of uri.headers) {
    out += sep + escapeMask(name, UNRESERVED | HNV) + "=" + escapeMask(value, UNRESERVED | HNV);
    sep = "&";
  }
  return out;
}

/**
 * Parses a URI (the same as {@linkcode Uri.parse}).
 *
 * @param text The URI text.
 * @returns The parsed URI.
 * @throws {UriParseError} When the text is not a valid URI.
 *
 * @example
 * ```ts
 * import { parseUri } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * const uri = parseUri("sip:+1-212-555-1212:1234@gateway.com;user=phone");
 * equal(uri.user, "+1-212-555-1212");
 * equal(uri.password, "1234");
 * equal(uri.params.get("user"), "phone");
 * ```
 */
export function parseUri(text: string): Uri {
  return parseUriRange(text, 0, text.length);
}

// === Comparison (RFC 3261 §19.1.4) ===

function lowerEq(a: string, b: string): boolean {
  return a === b || (a.length === b.length && a.toLowerCase() === b.toLowerCase());
}

function paramValueEq(a: string | null, b: string | null): boolean {
  return a === null || b === null ? a === b : lowerEq(a, b);
}

/**
 * Whether two URIs are equivalent by RFC 3261 §19.1.4: same scheme; userinfo equal
 * case-sensitively after decoding; host, port equal; parameters in both equal
 * (case-insensitively); `user`, `ttl`, `method`, `maddr` and `transport` present in both or
 * neither; the same headers. `tel:` URIs compare their numbers without visual separators and
 * all parameters; other schemes compare the scheme and the exact text.
 *
 * @param a One URI.
 * @param b The other URI.
 * @returns Whether they are equivalent.
 *
 * @example
 * ```ts
 * import { parseUri, uriEquals } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * equal(uriEquals(parseUri("sip:%61lice@atlanta.com;transport=TCP"),
 *   parseUri("sip:alice@AtLanTa.CoM;Transport=tcp")), true);
 * equal(uriEquals(parseUri("sip:bob@biloxi.com"), parseUri("sip:bob@biloxi.com;transport=udp")), false);
 * ```
 */
// @implements RFC3261 §19.1.4 ¶1-10
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a.scheme !== b.scheme) return false;
  if (a.opaque !== undefined || b.opaque !== undefined) return a.opaque === b.opaque;
  if (a.scheme === "tel") {
    const strip = (n: string | undefined) => (n ?? "").replace(/[-.()]/g, "").toLowerCase();
    if (strip(a.user) !== strip(b.user) || a.params.size !== b.params.size) return false;
    for (const [k, v] of a.params) {
      if (!b.params.has(k) || !paramValueEq(v, b.params.get(k)!)) return false;
    }
    return true;
  }
  if (a.user !== b.user || a.password !== b.password || a.port !== b.port) return false;
  if (!lowerEq(a.host, b.host)) return false;
  // @implements RFC3261 §19.1.4 ¶11-15
  for (const [k, v] of a.params) {
    const w = b.params.get(k);
    if (w !== undefined) {
      if (!paramValueEq(v, w)) return false;
    } else if (!b.params.has(k) && PRESENCE_PARAMS.has(k)) return false;
  }
  for (const k of b.params.keys()) {
    if (!a.params.has(k) && PRESENCE_PARAMS.has(k)) return false;
  }
  // @implements RFC3261 §19.1.4 ¶16
  if (a.headers.size !== b.headers.size) return false;
  if (a.headers.size === 0) return true;
  const bh = new Map<string, string>();
  for (const [k, v] of b.headers) bh.set(k.toLowerCase(), v);
  for (const [k, v] of a.headers) {
    const w = bh.get(k.toLowerCase());
    if (w === undefined || !lowerEq(v, w)) return false;
  }
  return true;
}

// === Addresses: name-addr / addr-spec (RFC 3261 §20.10, §25.1) ===

/** Fields accepted by the {@linkcode Address} constructor. */
export interface AddressInit {
  /** Display name (unquoted), or `undefined` for none. */
  displayName?: string | undefined;
  /** The URI. */
  uri: Uri;
  /** Header parameters (`tag`, `expires`, `q`, ...). */
  params?: Params;
  /** Whether to write the URI in `<>` (name-addr form); default `true`. */
  nameAddr?: boolean;
}

/**
 * A From, To, Contact, Route or Record-Route value: an optional display name, a URI and
 * header parameters.
 *
 * @example
 * ```ts
 * import { Address, Uri } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * const a = new Address({ displayName: 'Bob "B"', uri: Uri.parse("sip:bob@biloxi.com") });
 * a.params.set("tag", "a6c85cf");
 * equal(a.toString(), '"Bob \\"B\\"" <sip:bob@biloxi.com>;tag=a6c85cf');
 * ```
 */
export class Address {
  /** Display name, unquoted and unescaped; `undefined` when absent. */
  displayName: string | undefined;
  /** The URI. */
  uri: Uri;
  /**
   * Header parameters in order: lower-case name to value as written (a quoted-string keeps
   * its quotes; see {@linkcode unquote}), `null` without `=`.
   */
  params: Params;
  /**
   * Whether the URI is written in `<>` (name-addr). Formatting also uses `<>` when there is
   * a display name or the URI contains `,`, `;` or `?`.
   */
  nameAddr: boolean;

  /**
   * Creates an address.
   *
   * @param init Display name, URI, parameters and form.
   */
  constructor(init: AddressInit) {
    this.displayName = init.displayName;
    this.uri = init.uri;
    this.params = init.params ?? new Map();
    this.nameAddr = init.nameAddr ?? true;
  }

  /**
   * Parses a name-addr or addr-spec with header parameters.
   *
   * @param text E.g. `"Alice" <sip:alice@atlanta.com>;tag=1928301774`.
   * @returns The parsed address.
   * @throws {UriParseError} When the text is not a valid address.
   *
   * @example
   * ```ts
   * import { Address } from "@rtclite/std/ietf/rfc2396";
   * import { equal } from "node:assert/strict";
   *
   * const a = Address.parse("sip:+19725552222@gw1.example.net;unknownparam");
   * equal(a.uri.params.size, 0);
   * equal(a.params.get("unknownparam"), null);
   * ```
   */
  static parse(text: string): Address {
    return parseAddress(text);
  }

  /**
   * Formats the address.
   *
   * @returns The header field value text.
   *
   * @example
   * ```ts
   * import { Address } from "@rtclite/std/ietf/rfc2396";
   * import { equal } from "node:assert/strict";
   *
   * equal(Address.parse("Bob  Smith<sip:bob@b>").toString(), '"Bob Smith" <sip:bob@b>');
   * ```
   */
  toString(): string {
    return formatAddress(this);
  }

  /**
   * Copies the address, its URI and its parameters.
   *
   * @returns A new address.
   *
   * @example
   * ```ts
   * import { Address } from "@rtclite/std/ietf/rfc2396";
   * import { equal } from "node:assert/strict";
   *
   * const a = Address.parse("<sip:a@b>");
   * const b = a.clone();
   * b.params.set("tag", "x");
   * equal(a.params.size, 0);
   * ```
   */
  clone(): Address {
    return new Address({
      displayName: this.displayName,
      uri: this.uri.clone(),
      params: new Map(this.params),
      nameAddr: this.nameAddr,
    });
  }

  /**
   * Plain-object form for `JSON.stringify`.
   *
   * @returns The address's parts.
   *
   * @example
   * ```ts
   * import { Address } from "@rtclite/std/ietf/rfc2396";
   * import { equal } from "node:assert/strict";
   *
   * equal(JSON.stringify(Address.parse("<sip:a@b>;tag=1")),
   *   '{"uri":{"scheme":"sip","user":"a","host":"b","params":{},"headers":{}},"params":{"tag":"1"}}');
   * ```
   */
  toJSON(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    if (this.displayName !== undefined) o.displayName = this.displayName;
    o.uri = this.uri.toJSON();
    o.params = Object.fromEntries(this.params);
    return o;
  }
}

// === The name-addr grammar (RFC 3261 §25.1), shared with the SIP message parser ===

/** A {@linkcode ParseError} class the grammar throws: {@linkcode UriParseError} or a SIP one. */
export type ParseErrorClass = new (message: string, offset?: number) => ParseError;

/**
 * Whether a character code is an RFC 3261 `token` character
 * (alphanumeric or one of `` -.!%*_+`'~ ``).
 *
 * @param code A UTF-16 code unit.
 * @returns `true` for a token character.
 *
 * @example
 * ```ts
 * import { isTokenChar } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * equal(isTokenChar("~".charCodeAt(0)), true);
 * equal(isTokenChar(";".charCodeAt(0)), false);
 * ```
 */
export function isTokenChar(code: number): boolean {
  return code < 128 && (CLASS[code]! & TOKEN) !== 0;
}

/**
 * Whether `text` is a non-empty RFC 3261 `token` (method names, parameter
 * names, option tags).
 *
 * @param text The text to test.
 * @returns `true` when every character is a token character.
 *
 * @example
 * ```ts
 * import { isToken } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * equal(isToken("INVITE"), true);
 * equal(isToken("two words"), false);
 * equal(isToken(""), false);
 * ```
 */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isTokenChar(text.charCodeAt(i))) return false;
  return true;
}

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

function skipWs(s: string, p: number): number {
  while (p < s.length && isWs(s.charCodeAt(p))) p++;
  return p;
}

function scanToken(s: string, p: number): number {
  while (p < s.length && isTokenChar(s.charCodeAt(p))) p++;
  return p;
}

/** `gen-value` characters that are not quoted: token and host (`:`, `[`, `]`). */
function isValueChar(c: number): boolean {
  return isTokenChar(c) || c === 58 || c === 91 || c === 93;
}

/**
 * Finds the end of the quoted-string that opens at `p` (RFC 3261 §25.1
 * `quoted-string`: `qdtext` and `quoted-pair`, folded lines allowed).
 *
 * @param s The text.
 * @param p Offset of the opening `"`.
 * @param what What is being parsed, for the error message.
 * @param error The error class to throw.
 * @returns The offset after the closing `"`.
 * @throws {ParseError} (of class `error`) for an unterminated string, a bad
 * quoted-pair or a control character.
 *
 * @example
 * ```ts
 * import { scanQuoted, unquote } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * const s = 'x="a \\"b\\"";y';
 * const end = scanQuoted(s, 2, "parameter");
 * equal(unquote(s.slice(2, end)), 'a "b"');
 * ```
 */
// @implements RFC3261 §25.1 ¶6
export function scanQuoted(
  s: string,
  p: number,
  what: string,
  error: ParseErrorClass = UriParseError,
): number {
  const start = p++;
  while (p < s.length) {
    const c = s.charCodeAt(p);
    if (c === 34) return p + 1;
    if (c === 92) {
      const d = s.charCodeAt(p + 1);
      if (p + 1 >= s.length || d === 13 || d === 10 || d > 127) {
        throw new error(`Cannot parse ${what}: invalid quoted-pair`, p);
      }
      p += 2;
    } else if ((c < 32 && c !== 9) || c === 127) {
      if ((c === 13 || c === 10) && p + 1 < s.length) {
        p++; // folded line (LWS)
        continue;
      }
      throw new error(`Cannot parse ${what}: control character in quoted string`, p);
    } else p++;
  }
  throw new error(`Cannot parse ${what}: unterminated quoted string`, start);
}

/**
 * Removes the quotes and backslash escapes of a quoted-string (RFC 3261 §25.1); other text
 * is returned unchanged.
 *
 * @param text E.g. `"J Rosenberg \\\""`.
 * @returns The unquoted text.
 *
 * @example
 * ```ts
 * import { unquote } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * equal(unquote('"J Rosenberg \\\\\\""'), 'J Rosenberg \\"');
 * equal(unquote("token"), "token");
 * ```
 */
// @implements RFC3261 §25.1 ¶17-20
export function unquote(text: string): string {
  if (text.length < 2 || text[0] !== '"' || text[text.length - 1] !== '"') return text;
  const inner = text.slice(1, -1);
  return inner.indexOf("\\") === -1 ? inner : inner.replace(/\\([\s\S])/g, "$1");
}

/**
 * Makes a quoted-string: wraps in double quotes and escapes `"`, `\` and control characters.
 *
 * @param text Any text without CR or LF.
 * @returns The quoted-string.
 * @throws {RangeError} When the text contains CR or LF, which cannot be quoted.
 *
 * @example
 * ```ts
 * import { quote } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * equal(quote('Say "hi"'), '"Say \\"hi\\""');
 * ```
 */
export function quote(text: string): string {
  if (/[\r\n]/.test(text)) {
    throw new RangeError("Cannot quote text: CR and LF cannot appear in a quoted string");
  }
  // deno-lint-ignore no-control-regex
  return '"' + text.replace(/["\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, "\\$&") + '"';
}

/**
 * Reads `*( SEMI generic-param )` from `p` (RFC 3261 §25.1 `generic-param`,
 * whitespace allowed around `;` and `=`), calling `onParam` for each with
 * the lower-cased name and the value as written (a quoted-string keeps its
 * quotes; `null` without `=`).
 *
 * @param s The text.
 * @param p Where the parameters may start.
 * @param onParam Receives each parameter and the offset of its name.
 * @param what What is being parsed, for error messages.
 * @param error The error class to throw.
 * @returns The offset after the last parameter and the whitespace after it.
 * @throws {ParseError} (of class `error`) for an empty name or value.
 *
 * @example
 * ```ts
 * import { scanParams } from "@rtclite/std/ietf/rfc2396";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const got: [string, string | null][] = [];
 * const end = scanParams(' ;tag = 1 ;lr; q="a b" , next', 0, (n, v) => got.push([n, v]), "x");
 * deepEqual(got, [["tag", "1"], ["lr", null], ["q", '"a b"']]);
 * equal(end, 23);
 * ```
 */
// @implements RFC3261 §25.1 ¶37, RFC3261 §25.1 ¶77
export function scanParams(
  s: string,
  p: number,
  onParam: (name: string, value: string | null, offset: number) => void,
  what: string,
  error: ParseErrorClass = UriParseError,
): number {
  p = skipWs(s, p);
  while (p < s.length && s.charCodeAt(p) === 59) {
    p = skipWs(s, p + 1);
    const n = p;
    p = scanToken(s, p);
    if (p === n) {
      throw new error(`Cannot parse ${what}: expected a parameter name, found ${charAt(s, p)}`, p);
    }
    const name = s.slice(n, p).toLowerCase();
    let value: string | null = null;
    p = skipWs(s, p);
    if (s.charCodeAt(p) === 61) {
      p = skipWs(s, p + 1);
      const v = p;
      if (s.charCodeAt(p) === 34) p = scanQuoted(s, p, what, error);
      else while (p < s.length && isValueChar(s.charCodeAt(p))) p++;
      if (p === v) throw new error(`Cannot parse ${what}: empty value of parameter "${name}"`, v);
      value = s.slice(v, p);
      p = skipWs(s, p);
    }
    onParam(name, value, n);
  }
  return p;
}

/**
 * Formats parameter values as `;name=value`, writing a value as a
 * quoted-string only when it is not a `gen-value` token or host.
 *
 * @param params Names and unquoted values (`null` for a name alone).
 * @returns The parameter text, empty for none.
 *
 * @example
 * ```ts
 * import { formatParams } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * equal(formatParams([["tag", "1"], ["lr", null], ["text", "a b"]]), ';tag=1;lr;text="a b"');
 * ```
 */
export function formatParams(params: Iterable<[string, string | null | undefined]>): string {
  let out = "";
  for (const [k, v] of params) {
    if (v === null || v === undefined) out += ";" + k;
    else {
      let plain = v.length > 0;
      for (let i = 0; i < v.length && plain; i++) plain = isValueChar(v.charCodeAt(i));
      out += ";" + k + "=" + (plain ? v : quote(v));
    }
  }
  return out;
}

/** The parts of one name-addr or addr-spec, as {@linkcode scanNameAddr} finds them. */
export interface NameAddrParts {
  /** The display name, unquoted (tokens joined by one space); `undefined` when absent. */
  displayName: string | undefined;
  /** Where the URI starts (after `<` in name-addr form). */
  uriStart: number;
  /** Where the URI ends (at `>` in name-addr form). */
  uriEnd: number;
  /** Whether the URI was written in `<>`. */
  nameAddr: boolean;
  /** Header parameters in order: lower-case name, value as written, offset of the name. */
  params: [string, string | null, number][];
  /** The offset after the address and its parameters (at `,` in a list, else the end). */
  end: number;
}

/**
 * Reads one `(name-addr / addr-spec) *(SEMI generic-param)` from `p`, as in
 * From, To, Contact, Route and Record-Route (RFC 3261 §20.10, §25.1). In
 * addr-spec form the URI ends at `;`, `,` or whitespace, so every `;` after
 * it starts a header parameter, and a URI with `?headers` is refused. The
 * URI itself is returned as a range for the caller to parse.
 *
 * This is the one name-addr grammar of rtclite: {@linkcode parseAddress}
 * here and the SIP message parser (`@rtclite/std/ietf/rfc3261`) both read
 * addresses through it.
 *
 * @param s The header field value.
 * @param p Where the address starts (whitespace is skipped).
 * @param list Whether a `,` may follow (Contact, Route lists).
 * @param error The error class to throw.
 * @returns The parts.
 * @throws {ParseError} (of class `error`) when the text is not an address.
 *
 * @example
 * ```ts
 * import { scanNameAddr } from "@rtclite/std/ietf/rfc2396";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const s = 'Bob  Smith <sip:bob@b>;tag=1, sip:c@d';
 * const a = scanNameAddr(s, 0, true);
 * equal(a.displayName, "Bob Smith");
 * equal(s.slice(a.uriStart, a.uriEnd), "sip:bob@b");
 * deepEqual(a.params, [["tag", "1", 23]]);
 * equal(s[a.end], ",");
 * ```
 */
// @implements RFC3261 §25.1 ¶47
export function scanNameAddr(
  s: string,
  p: number,
  list: boolean,
  error: ParseErrorClass = UriParseError,
): NameAddrParts {
  const what = "address";
  p = skipWs(s, p);
  let displayName: string | undefined;
  let uriStart = -1;
  let uriEnd = -1;
  let nameAddr = true;
  const c = s.charCodeAt(p);
  if (c === 34) {
    const q = scanQuoted(s, p, what, error);
    displayName = unquote(s.slice(p, q));
    p = skipWs(s, q);
    if (s.charCodeAt(p) !== 60) {
      throw new error(
        `Cannot parse ${what}: expected "<" after display name, found ${charAt(s, p)}`,
        p,
      );
    }
  } else if (c !== 60) {
    // Tokens (a display name) before "<", or a URI (addr-spec).
    const t = scanToken(s, p);
    if (t === p) throw new error(`Cannot parse ${what}: unexpected ${charAt(s, p)}`, p);
    if (s.charCodeAt(t) === 58) {
      // addr-spec: the URI ends at ";" (header parameters), "," or whitespace.
      // @implements RFC3261 §20.10 ¶4-5
      nameAddr = false;
      let e = t;
      while (e < s.length) {
        const d = s.charCodeAt(e);
        if (d === 59 || d === 44 || isWs(d)) break;
        e++;
      }
      for (let i = p; i < e; i++) {
        if (s.charCodeAt(i) === 63) {
          throw new error(
            `Cannot parse ${what}: a URI with headers needs to be in <> (RFC 3261 §20.10)`,
            i,
          );
        }
      }
      uriStart = p;
      uriEnd = p = e;
    } else {
      const words: string[] = [];
      let q = p;
      for (;;) {
        const e = scanToken(s, q);
        if (e === q) break;
        words.push(s.slice(q, e));
        q = skipWs(s, e);
      }
      if (s.charCodeAt(q) !== 60) {
        throw new error(
          `Cannot parse ${what}: expected "<" after display name, found ${charAt(s, q)}`,
          q,
        );
      }
      displayName = words.join(" ");
      p = q;
    }
  }
  if (uriStart < 0) {
    // name-addr: "<" addr-spec ">"
    const close = s.indexOf(">", p + 1);
    if (close === -1) throw new error(`Cannot parse ${what}: missing ">"`, p);
    uriStart = p + 1;
    uriEnd = close;
    p = close + 1;
  }
  const params: [string, string | null, number][] = [];
  p = scanParams(s, p, (name, value, at) => params.push([name, value, at]), what, error);
  if (p < s.length && !(list && s.charCodeAt(p) === 44)) {
    throw new error(`Cannot parse ${what}: unexpected ${charAt(s, p)}`, p);
  }
  return { displayName, uriStart, uriEnd, nameAddr, params, end: p };
}

/**
 * Formats the address part of a From, To, Contact or Route value: the
 * display name (when given) as a quoted-string, then the URI in `<>` when
 * `angle` is set, there is a display name, or the URI holds `,`, `;` or `?`
 * (RFC 3261 §20.10); the caller appends the header parameters.
 *
 * @param displayName The display name, or `undefined` for none.
 * @param uri The URI text.
 * @param angle Whether to write `<>` even when not needed.
 * @returns The text.
 * @throws {RangeError} When the display name contains CR or LF.
 *
 * @example
 * ```ts
 * import { formatNameAddr } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * equal(formatNameAddr("Bob", "sip:bob@b", false), '"Bob" <sip:bob@b>');
 * equal(formatNameAddr(undefined, "sip:a@b;lr", false), "<sip:a@b;lr>");
 * equal(formatNameAddr(undefined, "sip:a@b", false), "sip:a@b");
 * ```
 */
// @implements RFC3261 §20.10 ¶5
export function formatNameAddr(
  displayName: string | undefined,
  uri: string,
  angle: boolean,
): string {
  if (displayName !== undefined) return quote(displayName) + " <" + uri + ">";
  return angle || /[,;?]/.test(uri) ? "<" + uri + ">" : uri;
}

/** Reads one {@linkcode Address} at `p`; returns it and the offset after it. */
function parseAddressAt(s: string, p: number, list: boolean): [Address, number] {
  const parts = scanNameAddr(s, p, list);
  const uri = parseUriRange(s, parts.uriStart, parts.uriEnd);
  const params: Params = new Map();
  for (const [name, value, at] of parts.params) {
    if (params.has(name)) fail("address", `parameter "${name}" appears twice`, at);
    params.set(name, value);
  }
  const address = new Address({
    displayName: parts.displayName,
    uri,
    params,
    nameAddr: parts.nameAddr,
  });
  return [address, parts.end];
}

/**
 * Parses an address: name-addr (`"Alice" <sip:a@b>`, `Alice <sip:a@b>`, `<sip:a@b>`) or
 * addr-spec (`sip:a@b`), followed by header parameters. In addr-spec form every `;` after
 * the URI starts a header parameter, and a URI with `?headers` is refused (RFC 3261 §20.10).
 *
 * @param text One header field value, e.g. of From, To or Contact.
 * @returns The parsed address.
 * @throws {UriParseError} When the text is not a valid address.
 *
 * @example
 * ```ts
 * import { parseAddress } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * const from = parseAddress('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com> ; tag = 98asjd8');
 * equal(from.displayName, 'J Rosenberg \\"');
 * equal(from.params.get("tag"), "98asjd8");
 * ```
 */
export function parseAddress(text: string): Address {
  return parseAddressAt(text, 0, false)[0];
}

/**
 * Parses a comma-separated list of addresses, as in Contact, Route and Record-Route.
 *
 * @param text The header field value.
 * @returns The addresses in order.
 * @throws {UriParseError} When an element is not a valid address.
 *
 * @example
 * ```ts
 * import { parseAddressList } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * const list = parseAddressList('"Mr. Watson" <sip:watson@worcester.bell-telephone.com>;q=0.7; expires=3600, "Mr. Watson" <mailto:watson@bell-telephone.com> ;q=0.1');
 * equal(list.length, 2);
 * equal(list[1]!.uri.scheme, "mailto");
 * equal(list[1]!.params.get("q"), "0.1");
 * ```
 */
export function parseAddressList(text: string): Address[] {
  const out: Address[] = [];
  let p = 0;
  for (;;) {
    const [addr, e] = parseAddressAt(text, p, true);
    out.push(addr);
    if (e >= text.length) return out;
    p = e + 1; // past ","
  }
}

/**
 * Formats an address (the same as `address.toString()`): the display name always as a
 * quoted-string, the URI in `<>` when needed, then the header parameters as written.
 *
 * @param address The address.
 * @returns The header field value text.
 * @throws {RangeError} When the display name contains CR or LF.
 *
 * @example
 * ```ts
 * import { Address, formatAddress, Uri } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * const uri = Uri.parse("sip:a@b;lr");
 * equal(formatAddress(new Address({ uri, nameAddr: false })), "<sip:a@b;lr>");
 * ```
 */
export function formatAddress(address: Address): string {
  let out = formatNameAddr(address.displayName, formatUri(address.uri), address.nameAddr);
  for (const [name, value] of address.params) {
    out += value === null ? ";" + name : ";" + name + "=" + value;
  }
  return out;
}

/**
 * The port a SIP URI designates when it has none: 5061 for `sips:` or `transport=tls`,
 * 5060 otherwise (RFC 3261 §19.1.2, Table 1 note 1).
 *
 * @param uri A sip or sips URI.
 * @returns The explicit port, or the default.
 *
 * @example
 * ```ts
 * import { parseUri, uriPort } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * equal(uriPort(parseUri("sips:example.com")), 5061);
 * equal(uriPort(parseUri("sip:example.com:5080")), 5080);
 * ```
 */
// @implements RFC3261 §19.1.2 ¶2-3
export function uriPort(uri: Uri): number {
  if (uri.port !== undefined) return uri.port;
  const t = uri.params.get("transport");
  return uri.scheme === "sips" || (t && t.toLowerCase() === "tls") ? 5061 : 5060;
}
