// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * Typed access to the SIP header fields of RFC 3261 §20 that are not
 * addresses, Via or CSeq: media types and tokens with parameters, Warning,
 * Retry-After, Timestamp, Date and integers.
 *
 * Part of `@rtclite/std/ietf/rfc3261`, which re-exports it.
 *
 * @example
 * ```ts
 * import { parseTokenWithParams } from "@rtclite/std/ietf/rfc3261";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(parseTokenWithParams("Application/SDP; charset=UTF-8"), {
 *   value: "application/sdp",
 *   params: { charset: "UTF-8" },
 * });
 * ```
 *
 * @module
 */
import { isTokenChar } from "../rfc2396/mod.ts";
import {
  DATE_RE,
  parseInteger,
  parseParamsAt,
  readQuoted,
  type SipParams,
  SipParseError,
  skipWs,
} from "./message.ts";

// === Other typed header fields (RFC 3261 §20) ===

/** A token (or media type) with parameters: Content-Type, Accept, Content-Disposition, Accept-Encoding, ... */
export interface TokenWithParams {
  /** The value in lower case (`application/sdp`, `session`, `gzip`, `*\/*`). */
  value: string;
  /** Parameters with lower-case names. */
  params: SipParams;
}

/**
 * Parses a token or `type/subtype` with parameters, as in Content-Type,
 * Accept, Content-Disposition, Accept-Encoding, Accept-Language, Priority.
 *
 * @param value One element (not a comma list).
 * @returns The lower-cased value and its parameters.
 * @throws {SipParseError} When malformed.
 *
 * @example
 * ```ts
 * import { parseTokenWithParams } from "@rtclite/std/ietf/rfc3261";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(parseTokenWithParams('multipart/mixed ; boundary="7a9c"'), {
 *   value: "multipart/mixed", params: { boundary: "7a9c" },
 * });
 * ```
 */
// @implements RFC3261 §20.1, §20.2, §20.3, §20.11, §20.12, §20.15, §20.26
export function parseTokenWithParams(value: string): TokenWithParams {
  let i = skipWs(value, 0);
  const start = i;
  while (i < value.length && isTokenChar(value.charCodeAt(i))) i++;
  let v = value.slice(start, i);
  const j = skipWs(value, i);
  if (value.charCodeAt(j) === 47) {
    i = skipWs(value, j + 1);
    const s2 = i;
    while (i < value.length && isTokenChar(value.charCodeAt(i))) i++;
    if (i === s2) throw new SipParseError(`Cannot parse media type: "${value}"`, i);
    v += "/" + value.slice(s2, i);
  }
  if (!v) throw new SipParseError(`Cannot parse header value: "${value}"`, start);
  const params: SipParams = {};
  parseParamsAt(value, i, params, false);
  return { value: v.toLowerCase(), params };
}

/** A Warning value (RFC 3261 §20.43). */
export interface Warning {
  /** Three-digit warn-code. */
  code: number;
  /** warn-agent: host[:port] or a pseudonym. */
  agent: string;
  /** warn-text, unquoted. */
  text: string;
}

/**
 * Parses one Warning value.
 *
 * @param value E.g. `307 isi.edu "Session parameter 'foo' not understood"`.
 * @returns Code, agent and text.
 * @throws {SipParseError} When malformed.
 *
 * @example
 * ```ts
 * import { parseWarning } from "@rtclite/std/ietf/rfc3261";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(parseWarning('301 isi.edu "Incompatible network address type \\"E.164\\""'), {
 *   code: 301, agent: "isi.edu", text: 'Incompatible network address type "E.164"',
 * });
 * ```
 */
// @implements RFC3261 §20.43
export function parseWarning(value: string): Warning {
  const m = /^\s*(\d{3})\s+(\S+)\s+(?=")/.exec(value);
  if (!m) throw new SipParseError(`Cannot parse Warning: "${value}"`);
  const [text, end] = readQuoted(value, m[0].length);
  if (skipWs(value, end) !== value.length) {
    throw new SipParseError(`Cannot parse Warning: "${value}"`);
  }
  return { code: +m[1]!, agent: m[2]!, text };
}

/** A Retry-After value (RFC 3261 §20.33). */
export interface RetryAfter {
  /** Delta-seconds. */
  seconds: number;
  /** The comment, without parentheses. */
  comment?: string;
  /** Parameters, e.g. `duration`. */
  params: SipParams;
}

/**
 * Parses a Retry-After value.
 *
 * @param value E.g. `18000;duration=3600` or `120 (I'm in a meeting)`.
 * @returns Seconds, comment and parameters.
 * @throws {SipParseError} When malformed or above 2**32-1.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from "@rtclite/std/ietf/rfc3261";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(parseRetryAfter("120 (I'm in a meeting);duration=60"), {
 *   seconds: 120, comment: "I'm in a meeting", params: { duration: "60" },
 * });
 * ```
 */
// @implements RFC3261 §20.33
export function parseRetryAfter(value: string): RetryAfter {
  const m = /^\s*(\d{1,10})\s*(?:\(([^)]*)\))?/.exec(value);
  if (!m) throw new SipParseError(`Cannot parse Retry-After: "${value}"`);
  const seconds = parseInteger(m[1]!, "Retry-After", 0xffffffff);
  const params: SipParams = {};
  parseParamsAt(value, m[0].length, params, false);
  return { seconds, ...(m[2] !== undefined ? { comment: m[2] } : {}), params };
}

/**
 * Parses a Timestamp value: a time and an optional delay.
 *
 * @param value E.g. `54.3 0.2`.
 * @returns The two numbers.
 * @throws {SipParseError} When malformed.
 */
// @implements RFC3261 §20.38
export function parseTimestamp(value: string): { time: number; delay?: number } {
  const m = /^\s*(\d+(?:\.\d*)?)(?:\s+(\d*(?:\.\d*)?))?\s*$/.exec(value);
  if (!m) throw new SipParseError(`Cannot parse Timestamp: "${value}"`);
  return { time: +m[1]!, ...(m[2] ? { delay: +m[2] } : {}) };
}

/**
 * Parses a Date value (RFC 1123 date in GMT).
 *
 * @param value E.g. `Sat, 13 Nov 2010 23:29:00 GMT`.
 * @returns The date.
 * @throws {SipParseError} When not an RFC 1123 GMT date.
 *
 * @example
 * ```ts
 * import { parseSipDate } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * equal(parseSipDate("Sat, 13 Nov 2010 23:29:00 GMT").toISOString(), "2010-11-13T23:29:00.000Z");
 * ```
 */
// @implements RFC3261 §20.17
export function parseSipDate(value: string): Date {
  if (!DATE_RE.test(value)) throw new SipParseError(`Cannot parse Date: "${value}"`);
  return new Date(value);
}

/**
 * Parses a header value that is a non-negative integer (Expires, Min-Expires,
 * Content-Length, Max-Forwards) with an upper bound.
 *
 * @param value The value.
 * @param max Largest accepted value (default 2**32-1).
 * @returns The number.
 * @throws {SipParseError} When not digits or above `max`.
 */
export function parseSipInteger(value: string, max = 0xffffffff): number {
  return parseInteger(value.trim(), "integer header", max);
}
