// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * Private helpers shared by the URI modules (rfc2396, rfc7064, rfc7065):
 * character classes and host checks. Not part of the public API.
 *
 * @module
 */

// === Character classes (RFC 3261 §25.1, RFC 3986 §2) ===

/** alphanum / mark: RFC 3261's (RFC 2396's) `unreserved`. */
export const UNRESERVED = 1;
/** `user-unreserved`: `& = + $ , ; ? /`. */
export const USER = 2;
/** Extra characters of `password`: `& = + $ ,`. */
export const PASSWORD = 4;
/** `param-unreserved`: `[ ] / : & + $`. */
export const PARAM = 8;
/** `hnv-unreserved`: `[ ] / ? : + $`. */
export const HNV = 16;
/** `token` characters. */
export const TOKEN = 32;
/** Any character RFC 3986 allows unescaped in a URI (reserved / unreserved, `%`). */
export const URIC = 64;
/** Characters of a hostname or IPv4 address: alphanum, `-`, `.`. */
export const HOSTCHAR = 128;
/** RFC 3986 `sub-delims`. */
export const SUBDELIM = 256;

/** Class bits of every ASCII character. */
export const CLASS: Uint16Array = (() => {
  const t = new Uint16Array(128);
  const add = (chars: string, bit: number) => {
    for (const ch of chars) t[ch.charCodeAt(0)]! |= bit;
  };
  const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  add(alnum + "-_.!~*'()", UNRESERVED);
  add("&=+$,;?/", USER);
  add("&=+$,", PASSWORD);
  add("[]/:&+$", PARAM);
  add("[]/?:+$", HNV);
  add(alnum + "-.!%*_+`'~", TOKEN);
  add(alnum + "-._~:/?#[]@!$&'()*+,;=%", URIC);
  add(alnum + "-.", HOSTCHAR);
  add("!$&'()*+,;=", SUBDELIM);
  return t;
})();

/** Whether a character code is a hexadecimal digit. */
export function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isAlnum(c: number): boolean {
  return isDigit(c) || isAlpha(c);
}

// === Hosts (RFC 3261 §25.1 host, RFC 3986 §3.2.2) ===

/** Whether `s[a..b)` is `1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT` with octets <= 255. */
export function isIPv4(s: string, a: number, b: number): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (isDigit(c)) {
      if (++digits > 3) return false;
      value = value * 10 + c - 48;
    } else if (c === 46 && digits > 0 && value <= 255) {
      parts++;
      digits = 0;
      value = 0;
    } else return false;
  }
  return parts === 3 && digits > 0 && value <= 255;
}

/** Whether `s[a..b)` is an `IPv6address` (without brackets). */
// @implements RFC3261 §25.1 ¶22, RFC3986 §3.2.2 ¶8-12
export function isIPv6(s: string, a: number, b: number): boolean {
  let groups = 0;
  let doubleColon = false;
  let i = a;
  if (i + 1 < b && s.charCodeAt(i) === 58 && s.charCodeAt(i + 1) === 58) {
    doubleColon = true;
    i += 2;
    if (i === b) return true;
  } else if (i < b && s.charCodeAt(i) === 58) return false;
  while (i < b) {
    // A group: 1-4 hex digits, or a trailing IPv4 address (two groups).
    let j = i;
    while (j < b && isHex(s.charCodeAt(j))) j++;
    if (j < b && s.charCodeAt(j) === 46) {
      if (!isIPv4(s, i, b)) return false;
      groups += 2;
      i = b;
      break;
    }
    if (j === i || j - i > 4) return false;
    groups++;
    i = j;
    if (i === b) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < b && s.charCodeAt(i) === 58) {
      if (doubleColon) return false;
      doubleColon = true;
      i++;
      if (i === b) break;
    } else if (i === b) return false;
  }
  return doubleColon ? groups <= 7 : groups === 8;
}

/**
 * Checks `s[a..b)` against RFC 3261's `host` (hostname / IPv4address /
 * IPv6reference). Returns an error detail, or `""` when it is valid.
 */
export function sipHostError(s: string, a: number, b: number): string {
  if (a === b) return "empty host";
  if (s.charCodeAt(a) === 91) {
    if (s.charCodeAt(b - 1) !== 93 || !isIPv6(s, a + 1, b - 1)) {
      return "invalid IPv6 reference";
    }
    return "";
  }
  // hostname = *( domainlabel "." ) toplabel [ "." ]
  let end = b;
  if (s.charCodeAt(end - 1) === 46) end--;
  let labelStart = a;
  let allNumeric = true;
  for (let i = a; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (i === labelStart) return "empty label in host";
      if (!isAlnum(s.charCodeAt(labelStart)) || !isAlnum(s.charCodeAt(i - 1))) {
        return "host label must start and end with a letter or digit";
      }
      if (i === end && !isAlpha(s.charCodeAt(labelStart))) {
        if (allNumeric && end === b && isIPv4(s, a, b)) return "";
        return allNumeric ? "invalid IPv4 address" : "top label of host must start with a letter";
      }
      labelStart = i + 1;
    } else if (isAlnum(c) || c === 45) {
      if (!isDigit(c)) allNumeric = false;
    } else return "invalid character in host";
  }
  return "";
}

/**
 * Checks `s[a..b)` against RFC 3986's `host` (IP-literal / IPv4address /
 * reg-name). Returns an error detail, or `""` when it is valid.
 */
// @implements RFC3986 §3.2.2 ¶1-2, RFC3986 §3.2.2 ¶16-17
export function uriHostError(s: string, a: number, b: number): string {
  if (a === b) return "empty host";
  if (s.charCodeAt(a) === 91) {
    if (s.charCodeAt(b - 1) !== 93 || !isIPv6(s, a + 1, b - 1)) {
      return "invalid IPv6 reference";
    }
    return "";
  }
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) {
      if (i + 2 >= b || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) {
        return `"%" not followed by two hex digits`;
      }
      i += 2;
    } else if (c >= 128 || !(CLASS[c]! & (HOSTCHAR | SUBDELIM) || c === 95 || c === 126)) {
      return "invalid character in host";
    }
  }
  return "";
}

/** Result of {@linkcode scanHostPort}: the parts, or an error detail with its offset. */
export type HostPort =
  | { host: string; port: number | undefined; end: number; error?: undefined }
  | { error: string; offset: number };

/**
 * Reads RFC 3986 `host [ ":" port ]` from `s[p..)` up to `?` or the end (stun:, turn: URIs).
 * An empty port (`host:`) counts as absent.
 */
// @implements RFC3986 §3.2.3 ¶1-2
export function scanHostPort(s: string, p: number): HostPort {
  const h = p;
  if (s.charCodeAt(p) === 91) {
    const close = s.indexOf("]", p);
    p = close === -1 ? s.length : close + 1;
  } else {
    while (p < s.length && s.charCodeAt(p) !== 58 && s.charCodeAt(p) !== 63) p++;
  }
  const error = uriHostError(s, h, p);
  if (error) return { error, offset: h };
  const host = s.slice(h, p);
  let port: number | undefined;
  if (s.charCodeAt(p) === 58) {
    const d = ++p;
    let v = 0;
    while (p < s.length && isDigit(s.charCodeAt(p))) v = v * 10 + s.charCodeAt(p++) - 48;
    if (p > d) {
      if (v > 65535) return { error: `port ${s.slice(d, p)} is out of range`, offset: d };
      port = v;
    }
  }
  return { host, port, end: p };
}
