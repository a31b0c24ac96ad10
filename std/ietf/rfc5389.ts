// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * STUN (RFC 5389 as revised by RFC 8489): message codec, every base attribute, message integrity
 * with HMAC-SHA1 and HMAC-SHA256, FINGERPRINT, short- and long-term credentials, client
 * transactions with retransmission, a server, and UDP adapters.
 *
 * Messages are kept as a list of raw attributes ({@linkcode StunMessage}); typed codecs turn
 * attribute values into addresses, text, error codes and algorithm lists. The security attributes
 * (MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256, FINGERPRINT) are appended by
 * {@linkcode encodeStun} from its options, and checked by {@linkcode decodeStun} (FINGERPRINT) and
 * {@linkcode verifyIntegrity}. HMACs are computed synchronously with `@noble/hashes`, so the codec
 * and the sans-I/O state machines ({@linkcode StunClientTransaction}, {@linkcode StunServer},
 * {@linkcode LongTermCredentials}) need no `await`. {@linkcode StunClient} and
 * {@linkcode serveStunUdp} are thin `node:dgram` adapters.
 *
 * Specifications: {@link https://www.rfc-editor.org/rfc/rfc8489 | RFC 8489},
 * {@link https://www.rfc-editor.org/rfc/rfc5389 | RFC 5389}, test vectors
 * {@link https://www.rfc-editor.org/rfc/rfc5769 | RFC 5769}.
 *
 * Command line: `deno run -A jsr:@rtclite/std/ietf/rfc5389 stun:127.0.0.1:3478` prints the mapped
 * address (`-u user -p pass [--realm]` for credentials, `--sha256` for MESSAGE-INTEGRITY-SHA256);
 * `--serve 127.0.0.1:3478` runs a server.
 *
 * @example Build a Binding request, encode it with integrity and a fingerprint, decode it back
 * ```ts
 * import {
 *   createMessage, decodeStun, encodeStun, shortTermKey, StunAttr, StunClass, StunMethod,
 *   textAttribute, verifyIntegrity,
 * } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 *
 * const key = shortTermKey("secret");
 * const req = createMessage(StunMethod.Binding, StunClass.Request, [
 *   textAttribute(StunAttr.USERNAME, "alice"),
 * ]);
 * const bytes = encodeStun(req, { integrity: key, fingerprint: true });
 * const back = decodeStun(bytes);
 * equal(back.method, StunMethod.Binding);
 * equal(verifyIntegrity(back, key), "sha1");
 * ```
 *
 * @module
 */
// @implements RFC8489 (STUN)
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { md5, sha1 } from "@noble/hashes/legacy.js";
import dgram from "node:dgram";
import { ParseError } from "../errors.ts";
export { ParseError };
import { getLogger, parseVerbosity, setupLogging } from "../log.ts";
import { parseStunUri, STUN_PORT, stunUriPort } from "./rfc7064.ts";
import { serverArgument, takeFlag, takeOption } from "../cli.ts";

const log = getLogger("stun");

// === Constants (RFC 8489 §5, §18) ===

/** The fixed magic cookie 0x2112A442 in every RFC 5389/8489 message header. */
export const MAGIC_COOKIE = 0x2112a442;
const HEADER = 20;
const utf8 = new TextEncoder();
const utf8d = new TextDecoder("utf-8", { fatal: true });

/**
 * Message classes (the C1 C0 bits of the message type).
 *
 * @example
 * ```ts
 * import { StunClass } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(StunClass.ErrorResponse, 3);
 * ```
 */
export const StunClass = {
  Request: 0,
  Indication: 1,
  SuccessResponse: 2,
  ErrorResponse: 3,
} as const;
/** One of the four {@linkcode StunClass} values. */
export type StunClass = typeof StunClass[keyof typeof StunClass];

/**
 * Methods: Binding (RFC 8489), SharedSecret (RFC 3489, obsolete) and the TURN methods of RFC 8656.
 *
 * @example
 * ```ts
 * import { StunMethod } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(StunMethod.Allocate, 3);
 * ```
 */
export const StunMethod = {
  Binding: 0x001,
  SharedSecret: 0x002,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

/**
 * Attribute types of RFC 8489 §18.3 (with the RFC 3489 ones it keeps reserved). Types below
 * 0x8000 are comprehension-required.
 *
 * @example
 * ```ts
 * import { StunAttr } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(StunAttr.XOR_MAPPED_ADDRESS, 0x0020);
 * ```
 */
export const StunAttr = {
  MAPPED_ADDRESS: 0x0001,
  RESPONSE_ADDRESS: 0x0002,
  CHANGE_REQUEST: 0x0003,
  SOURCE_ADDRESS: 0x0004,
  CHANGED_ADDRESS: 0x0005,
  USERNAME: 0x0006,
  PASSWORD: 0x0007,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  REFLECTED_FROM: 0x000b,
  REALM: 0x0014,
  NONCE: 0x0015,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  PASSWORD_ALGORITHM: 0x001d,
  USERHASH: 0x001e,
  XOR_MAPPED_ADDRESS: 0x0020,
  PASSWORD_ALGORITHMS: 0x8002,
  ALTERNATE_DOMAIN: 0x8003,
  SOFTWARE: 0x8022,
  ALTERNATE_SERVER: 0x8023,
  FINGERPRINT: 0x8028,
} as const;

const ATTR_NAMES: Map<number, string> = new Map(
  Object.entries(StunAttr).map(([k, v]) => [v, k.replaceAll("_", "-")]),
);

/**
 * Password algorithms (RFC 8489 §18.5).
 *
 * @example
 * ```ts
 * import { PasswordAlgorithm } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(PasswordAlgorithm.SHA256, 2);
 * ```
 */
export const PasswordAlgorithm = { MD5: 0x0001, SHA256: 0x0002 } as const;

/** Recommended reason phrases (RFC 8489 §14.8, RFC 8656 §19). */
const REASONS: Record<number, string> = {
  300: "Try Alternate",
  400: "Bad Request",
  401: "Unauthenticated",
  403: "Forbidden",
  420: "Unknown Attribute",
  437: "Allocation Mismatch",
  438: "Stale Nonce",
  440: "Address Family not Supported",
  441: "Wrong Credentials",
  442: "Unsupported Transport Protocol",
  443: "Peer Address Family Mismatch",
  486: "Allocation Quota Reached",
  500: "Server Error",
  508: "Insufficient Capacity",
};

// === Types ===

/** A STUN message that cannot be decoded. */
export class StunParseError extends ParseError {}

/** One attribute as it appears on the wire: a type and its unpadded value. */
export interface StunAttribute {
  /** Attribute type (see {@linkcode StunAttr}). */
  type: number;
  /** Value without padding. Decoded values are views into the message bytes. */
  value: Uint8Array;
}

/** A STUN message: header fields and the attributes in order. */
export interface StunMessage {
  /** 12-bit method (see {@linkcode StunMethod}). */
  method: number;
  /** Message class. */
  class: StunClass;
  /** 12 bytes after the magic cookie, or 16 bytes for an RFC 3489 message without the cookie. */
  transactionId: Uint8Array;
  /** Attributes in wire order (those a receiver must ignore after MESSAGE-INTEGRITY are dropped). */
  attributes: StunAttribute[];
  /** The bytes the message was decoded from (set by {@linkcode decodeStun}). */
  raw?: Uint8Array;
}

/** An IP address and port. */
export interface TransportAddress {
  /** 4 for IPv4, 6 for IPv6. */
  family: 4 | 6;
  /** Dotted quad or RFC 5952 text form. */
  address: string;
  /** UDP or TCP port. */
  port: number;
}

/** Options of {@linkcode encodeStun}. */
export interface EncodeOptions {
  /** HMAC key: appends MESSAGE-INTEGRITY (HMAC-SHA1). */
  integrity?: Uint8Array;
  /** HMAC key: appends MESSAGE-INTEGRITY-SHA256 (after MESSAGE-INTEGRITY when both are asked). */
  integritySha256?: Uint8Array;
  /** Length of MESSAGE-INTEGRITY-SHA256 when a usage allows truncation: 16..32, multiple of 4. */
  sha256Length?: number;
  /** Appends FINGERPRINT. */
  fingerprint?: boolean;
  /** Byte used for attribute padding (0; RFC 5769 vectors pad with 0x20). */
  padding?: number;
}

/** Options of {@linkcode decodeStun}. */
export interface DecodeOptions {
  /** Accept RFC 3489 messages without the magic cookie (16-byte transaction ID). */
  classic?: boolean;
}

/** Value of an ERROR-CODE attribute. */
export interface ErrorCode {
  /** 300..699. */
  code: number;
  /** Reason phrase. */
  reason: string;
}

/** One entry of PASSWORD-ALGORITHMS, or the value of PASSWORD-ALGORITHM. */
export interface AlgorithmEntry {
  /** Algorithm number (see {@linkcode PasswordAlgorithm}). */
  algorithm: number;
  /** Algorithm parameters (empty for MD5 and SHA-256). */
  parameters: Uint8Array;
}

// === IP addresses (text <-> bytes) ===

function ipBytes(ip: string): Uint8Array {
  if (ip.includes(":")) return ipv6Bytes(ip.replace(/%.*$/, ""));
  const parts = ip.split(".");
  const out = new Uint8Array(4);
  if (parts.length !== 4) throw new TypeError(`Invalid IP address: "${ip}"`);
  parts.forEach((p, i) => {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new TypeError(`Invalid IP address: "${ip}"`);
    out[i] = Number(p);
  });
  return out;
}

function ipv6Bytes(ip: string): Uint8Array {
  const bad = () => new TypeError(`Invalid IPv6 address: "${ip}"`);
  const halves = ip.split("::");
  if (halves.length > 2) throw bad();
  const groups = (s: string): number[] => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    parts.forEach((p, i) => {
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = ipBytes(p);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else throw bad();
    });
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) throw bad();
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function ipText(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on a tie.
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

// === Message header (RFC 8489 §5) ===

/**
 * Combines a method and a class into the 14-bit message type.
 *
 * @param method 12-bit method.
 * @param cls Message class.
 * @returns The message type, e.g. 0x0101 for a Binding success response.
 * @example
 * ```ts
 * import { messageType, StunClass, StunMethod } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(messageType(StunMethod.Binding, StunClass.SuccessResponse), 0x0101);
 * ```
 */
// @implements RFC8489 §5 ¶10-11
export function messageType(method: number, cls: StunClass): number {
  if (method < 0 || method > 0xfff) throw new RangeError(`Invalid STUN method: ${method}`);
  return (method & 0x00f) | ((method & 0x070) << 1) | ((method & 0xf80) << 2) |
    ((cls & 1) << 4) | ((cls & 2) << 7);
}

/**
 * Tells whether a datagram looks like an RFC 5389 STUN message: top two bits zero, magic cookie,
 * length a multiple of four matching the datagram (used to demultiplex STUN from other protocols).
 *
 * @param buf A received datagram.
 * @returns `true` when the fixed header fields fit STUN.
 * @example
 * ```ts
 * import { isStun } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(isStun(new Uint8Array([0x40, 0, 0, 4, 1, 2, 3, 4])), false);
 * ```
 */
// @implements RFC8489 §5 ¶5, RFC8489 §5 ¶13, RFC8489 §5 ¶15
export function isStun(buf: Uint8Array): boolean {
  if (buf.length < HEADER || (buf[0]! & 0xc0) !== 0) return false;
  const len = (buf[2]! << 8) | buf[3]!;
  return (len & 3) === 0 && len + HEADER === buf.length &&
    ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0 === MAGIC_COOKIE;
}

/**
 * Returns the total length of the STUN message at the start of a stream buffer (for framing over
 * TCP), or `undefined` when fewer than 20 bytes are buffered.
 *
 * @param buf Buffered stream bytes.
 * @returns 20 plus the header's Message Length, or `undefined`.
 * @example
 * ```ts
 * import { stunMessageLength } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(stunMessageLength(new Uint8Array(20).fill(0).map((_, i) => i === 3 ? 8 : 0)), 28);
 * ```
 */
export function stunMessageLength(buf: Uint8Array): number | undefined {
  if (buf.length < HEADER) return undefined;
  return HEADER + ((buf[2]! << 8) | buf[3]!);
}

const pad4 = (n: number) => (n + 3) & ~3;

/**
 * Decodes a STUN message. Checks the header (RFC 8489 §6.3: top bits, magic cookie, length), the
 * attribute framing, and a FINGERPRINT if present (it must be last and correct). Attributes after
 * MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are dropped (§9).
 *
 * @param buf One complete message (a UDP datagram or a framed TCP message).
 * @param options `classic: true` accepts RFC 3489 messages without the magic cookie.
 * @returns The message; attribute values are views into `buf`.
 * @throws {StunParseError} when the bytes are not a valid STUN message.
 * @example
 * ```ts
 * import { decodeStun, StunParseError } from "@rtclite/std/ietf/rfc5389";
 * import { equal, throws } from "node:assert/strict";
 * const bytes = Uint8Array.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, ...new Array(12).fill(7)]);
 * equal(decodeStun(bytes).method, 1);
 * throws(() => decodeStun(bytes.subarray(0, 10)), StunParseError);
 * ```
 */
// @implements RFC8489 §6.3
export function decodeStun(buf: Uint8Array, options: DecodeOptions = {}): StunMessage {
  const fail = (why: string, at: number) =>
    new StunParseError(`Cannot decode STUN message: ${why}`, at);
  if (buf.length < HEADER) throw fail(`buffer has ${buf.length} bytes, expected at least 20`, 0);
  if ((buf[0]! & 0xc0) !== 0) throw fail("the first two bits are not zero", 0);
  const type = (buf[0]! << 8) | buf[1]!;
  const length = (buf[2]! << 8) | buf[3]!;
  if (length & 3) throw fail(`message length ${length} is not a multiple of 4`, 2);
  if (length + HEADER !== buf.length) {
    throw fail(
      `message length ${length} does not match the ${buf.length - HEADER} bytes after the header`,
      2,
    );
  }
  const cookie = ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
  let transactionId: Uint8Array;
  if (cookie === MAGIC_COOKIE) transactionId = buf.subarray(8, HEADER);
  else if (options.classic) transactionId = buf.subarray(4, HEADER);
  else throw fail(`magic cookie is 0x${cookie.toString(16)}, expected 0x2112a442`, 4);
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = (((type >> 4) & 1) | ((type >> 7) & 2)) as StunClass;
  const attributes: StunAttribute[] = [];
  let sawMi = false, sawMi256 = false;
  for (let off = HEADER; off < buf.length;) {
    if (off + 4 > buf.length) throw fail("truncated attribute header", off);
    const at = (buf[off]! << 8) | buf[off + 1]!;
    const len = (buf[off + 2]! << 8) | buf[off + 3]!;
    if (off + 4 + pad4(len) > buf.length) {
      throw fail(
        `attribute 0x${at.toString(16).padStart(4, "0")} of ${len} bytes overruns the message`,
        off,
      );
    }
    const value = buf.subarray(off + 4, off + 4 + len);
    if (at === StunAttr.FINGERPRINT) {
      // @implements RFC8489 §14.7 ¶2-3
      if (len !== 4) throw fail(`FINGERPRINT has ${len} bytes, expected 4`, off);
      if (off + 8 !== buf.length) throw fail("FINGERPRINT is not the last attribute", off);
      const want = (crc32(buf.subarray(0, off)) ^ 0x5354554e) >>> 0;
      const got = ((value[0]! << 24) | (value[1]! << 16) | (value[2]! << 8) | value[3]!) >>> 0;
      if (want !== got) throw fail("FINGERPRINT does not match the message", off);
      attributes.push({ type: at, value });
    } else if (at === StunAttr.MESSAGE_INTEGRITY) {
      if (len !== 20) throw fail(`MESSAGE-INTEGRITY has ${len} bytes, expected 20`, off);
      if (!sawMi && !sawMi256) attributes.push({ type: at, value });
      sawMi = true;
    } else if (at === StunAttr.MESSAGE_INTEGRITY_SHA256) {
      if (len < 16 || len > 32 || len & 3) {
        throw fail(`MESSAGE-INTEGRITY-SHA256 has ${len} bytes, expected 16..32 in steps of 4`, off);
      }
      if (!sawMi256) attributes.push({ type: at, value });
      sawMi256 = true;
      // @implements RFC8489 §9 ¶3
    } else if (!sawMi && !sawMi256) attributes.push({ type: at, value });
    off += 4 + pad4(len);
  }
  return { method, class: cls, transactionId, attributes, raw: buf };
}

/**
 * Returns the size {@linkcode encodeStun} will produce.
 *
 * @param msg The message.
 * @param options Security attributes to append.
 * @returns Length in bytes, header included.
 * @example
 * ```ts
 * import { createMessage, encodedLength, StunClass } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(encodedLength(createMessage(1, StunClass.Request), { fingerprint: true }), 28);
 * ```
 */
export function encodedLength(msg: StunMessage, options: EncodeOptions = {}): number {
  let n = HEADER;
  for (const a of msg.attributes) n += 4 + pad4(a.value.length);
  if (options.integrity) n += 24;
  if (options.integritySha256) n += 4 + (options.sha256Length ?? 32);
  if (options.fingerprint) n += 8;
  return n;
}

/**
 * Encodes a message into `buf` at `offset` (which must have {@linkcode encodedLength} bytes free).
 *
 * @param buf Destination.
 * @param offset Where the message starts.
 * @param msg The message.
 * @param options Security attributes to append and padding.
 * @returns Number of bytes written.
 * @example
 * ```ts
 * import { createMessage, encodeInto, StunClass } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const buf = new Uint8Array(64);
 * equal(encodeInto(buf, 4, createMessage(1, StunClass.Request)), 20);
 * equal(buf[8], 0x21);
 * ```
 */
export function encodeInto(
  buf: Uint8Array,
  offset: number,
  msg: StunMessage,
  options: EncodeOptions = {},
): number {
  const total = encodedLength(msg, options);
  if (total - HEADER > 0xffff) throw new RangeError(`STUN message too long: ${total} bytes`);
  if (offset + total > buf.length) {
    throw new RangeError(
      `Cannot encode STUN message: needs ${total} bytes at ${offset}, buffer has ${buf.length}`,
    );
  }
  const out = buf.subarray(offset, offset + total);
  const type = messageType(msg.method, msg.class);
  out[0] = type >> 8;
  out[1] = type & 0xff;
  const tid = msg.transactionId;
  if (tid.length === 12) {
    out[4] = 0x21, out[5] = 0x12, out[6] = 0xa4, out[7] = 0x42;
    out.set(tid, 8);
  } else if (tid.length === 16) out.set(tid, 4);
  else throw new RangeError(`Invalid STUN transaction ID: ${tid.length} bytes, expected 12 or 16`);
  const padding = options.padding ?? 0;
  let off = HEADER;
  const put = (type: number, value: Uint8Array) => {
    if (value.length > 0xffff) {
      throw new RangeError(`STUN attribute too long: ${value.length} bytes`);
    }
    out[off] = type >> 8, out[off + 1] = type & 0xff;
    out[off + 2] = value.length >> 8, out[off + 3] = value.length & 0xff;
    out.set(value, off + 4);
    off += 4 + value.length;
    while (off & 3) out[off++] = padding;
  };
  const setLength = (len: number) => {
    out[2] = (len - HEADER) >> 8;
    out[3] = (len - HEADER) & 0xff;
  };
  for (const a of msg.attributes) put(a.type, a.value);
  // @implements RFC8489 §14.5 ¶3-4
  if (options.integrity) {
    setLength(off + 24);
    put(StunAttr.MESSAGE_INTEGRITY, hmac(sha1, options.integrity, out.subarray(0, off)));
  }
  // @implements RFC8489 §14.6 ¶1, RFC8489 §14.6 ¶3-4
  if (options.integritySha256) {
    const n = options.sha256Length ?? 32;
    if (n < 16 || n > 32 || n & 3) {
      throw new RangeError(`Invalid MESSAGE-INTEGRITY-SHA256 length: ${n}`);
    }
    setLength(off + 4 + n);
    put(
      StunAttr.MESSAGE_INTEGRITY_SHA256,
      hmac(sha256, options.integritySha256, out.subarray(0, off)).subarray(0, n),
    );
  }
  // @implements RFC8489 §14.7 ¶5
  if (options.fingerprint) {
    setLength(off + 8);
    const crc = (crc32(out.subarray(0, off)) ^ 0x5354554e) >>> 0;
    put(
      StunAttr.FINGERPRINT,
      Uint8Array.of(crc >>> 24, (crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff),
    );
  }
  setLength(off);
  return total;
}

/**
 * Encodes a message, appending MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT as
 * asked (in that order, as RFC 8489 §14.7 requires).
 *
 * @param msg The message.
 * @param options Security attributes to append and padding.
 * @returns The encoded bytes.
 * @example
 * ```ts
 * import { createMessage, encodeStun, StunClass } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const bytes = encodeStun(createMessage(1, StunClass.Request, [], new Uint8Array(12)));
 * equal(bytes.length, 20);
 * equal(bytes[1], 1);
 * ```
 */
export function encodeStun(msg: StunMessage, options: EncodeOptions = {}): Uint8Array {
  const buf = new Uint8Array(encodedLength(msg, options));
  encodeInto(buf, 0, msg, options);
  return buf;
}

/**
 * Creates a message with a fresh cryptographically random 96-bit transaction ID (RFC 8489 §5).
 *
 * @param method Method, e.g. {@linkcode StunMethod.Binding}.
 * @param cls Class.
 * @param attributes Attributes in order.
 * @param transactionId Transaction ID to use instead of a random one.
 * @returns The message.
 * @example
 * ```ts
 * import { createMessage, StunClass, StunMethod } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(createMessage(StunMethod.Binding, StunClass.Request).transactionId.length, 12);
 * ```
 */
// @implements RFC8489 §5 ¶14
export function createMessage(
  method: number,
  cls: StunClass,
  attributes: StunAttribute[] = [],
  transactionId: Uint8Array = crypto.getRandomValues(new Uint8Array(12)),
): StunMessage {
  return { method, class: cls, transactionId, attributes };
}

/**
 * Returns the value of the first attribute of a type (RFC 8489 §14: later duplicates may be
 * ignored).
 *
 * @param msg The message.
 * @param type Attribute type.
 * @returns The value, or `undefined`.
 * @example
 * ```ts
 * import { createMessage, getAttribute, StunAttr, textAttribute } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const msg = createMessage(1, 0, [textAttribute(StunAttr.SOFTWARE, "x")]);
 * equal(getAttribute(msg, StunAttr.SOFTWARE)?.[0], 0x78);
 * ```
 */
export function getAttribute(msg: StunMessage, type: number): Uint8Array | undefined {
  for (const a of msg.attributes) if (a.type === type) return a.value;
  return undefined;
}

// === Address attributes (RFC 8489 §14.1, §14.2, §14.15) ===

/**
 * Encodes a MAPPED-ADDRESS-style value (also ALTERNATE-SERVER and the RFC 3489 address attributes).
 *
 * @param addr Address and port.
 * @returns The 8- or 20-byte value.
 * @example
 * ```ts
 * import { decodeAddress, encodeAddress } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * const a = { family: 4 as const, address: "192.0.2.1", port: 32853 };
 * deepEqual(decodeAddress(encodeAddress(a)), a);
 * ```
 */
// @implements RFC8489 §14.1
export function encodeAddress(addr: TransportAddress): Uint8Array {
  const ip = ipBytes(addr.address);
  if (!Number.isInteger(addr.port) || addr.port < 0 || addr.port > 0xffff) {
    throw new RangeError(`Invalid port: ${addr.port}`);
  }
  const out = new Uint8Array(4 + ip.length);
  out[1] = ip.length === 4 ? 1 : 2;
  out[2] = addr.port >> 8;
  out[3] = addr.port & 0xff;
  out.set(ip, 4);
  return out;
}

/**
 * Decodes a MAPPED-ADDRESS-style value.
 *
 * @param value Attribute value.
 * @returns Address and port.
 * @throws {StunParseError} on a bad family or length.
 * @example
 * ```ts
 * import { decodeAddress } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(decodeAddress(Uint8Array.of(0, 1, 0, 80, 127, 0, 0, 1)).address, "127.0.0.1");
 * ```
 */
export function decodeAddress(value: Uint8Array): TransportAddress {
  const family = value[1];
  if (value.length < 4 || (family !== 1 && family !== 2)) {
    throw new StunParseError(
      `Cannot decode address attribute: family ${family}, expected 1 or 2`,
      1,
    );
  }
  const want = family === 1 ? 8 : 20;
  if (value.length !== want) {
    throw new StunParseError(
      `Cannot decode address attribute: ${value.length} bytes, expected ${want}`,
      0,
    );
  }
  return {
    family: family === 1 ? 4 : 6,
    address: ipText(value.subarray(4)),
    port: (value[2]! << 8) | value[3]!,
  };
}

function xorInPlace(value: Uint8Array, transactionId: Uint8Array): Uint8Array {
  value[2]! ^= 0x21;
  value[3]! ^= 0x12;
  const mask = [0x21, 0x12, 0xa4, 0x42];
  for (let i = 4; i < value.length; i++) {
    value[i]! ^= i < 8 ? mask[i - 4]! : transactionId[i - 8]!;
  }
  return value;
}

/**
 * Encodes an XOR-MAPPED-ADDRESS-style value (also XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS).
 *
 * @param addr Address and port.
 * @param transactionId The message's 12-byte transaction ID (used for IPv6).
 * @returns The obfuscated value.
 * @example
 * ```ts
 * import { decodeXorAddress, encodeXorAddress } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * const tid = new Uint8Array(12).fill(9);
 * const a = { family: 6 as const, address: "2001:db8::1", port: 5000 };
 * deepEqual(decodeXorAddress(encodeXorAddress(a, tid), tid), a);
 * ```
 */
// @implements RFC8489 §14.2 ¶6
export function encodeXorAddress(addr: TransportAddress, transactionId: Uint8Array): Uint8Array {
  return xorInPlace(encodeAddress(addr), transactionId);
}

/**
 * Decodes an XOR-MAPPED-ADDRESS-style value.
 *
 * @param value Attribute value.
 * @param transactionId The message's 12-byte transaction ID.
 * @returns Address and port.
 * @throws {StunParseError} on a bad family or length.
 * @example
 * ```ts
 * import { decodeXorAddress } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const v = Uint8Array.of(0, 1, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43);
 * equal(decodeXorAddress(v, new Uint8Array(12)).address, "192.0.2.1");
 * ```
 */
export function decodeXorAddress(value: Uint8Array, transactionId: Uint8Array): TransportAddress {
  const copy = value.slice();
  decodeAddress(copy); // validates family and length before un-XORing
  return decodeAddress(xorInPlace(copy, transactionId.subarray(transactionId.length - 12)));
}

/**
 * Builds an address attribute, XOR-encoded for the XOR-* types.
 *
 * @param type Attribute type, e.g. {@linkcode StunAttr.XOR_MAPPED_ADDRESS}.
 * @param addr Address and port.
 * @param transactionId Transaction ID of the message it goes into (XOR types only).
 * @returns The attribute.
 * @example
 * ```ts
 * import { addressAttribute, StunAttr } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const a = addressAttribute(StunAttr.MAPPED_ADDRESS, { family: 4, address: "10.0.0.1", port: 1 });
 * equal(a.value.length, 8);
 * ```
 */
export function addressAttribute(
  type: number,
  addr: TransportAddress,
  transactionId?: Uint8Array,
): StunAttribute {
  const xor = type === StunAttr.XOR_MAPPED_ADDRESS || type === 0x0012 || type === 0x0016;
  if (xor && !transactionId) throw new TypeError("XOR address attributes need the transaction ID");
  return { type, value: xor ? encodeXorAddress(addr, transactionId!) : encodeAddress(addr) };
}

/**
 * Reads an address attribute of a message, un-XORing the XOR-* types.
 *
 * @param msg The message.
 * @param type Attribute type.
 * @returns The address, or `undefined` when absent.
 * @throws {StunParseError} when the value is malformed.
 * @example
 * ```ts
 * import { addressAttribute, createMessage, getAddress, StunAttr } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const msg = createMessage(1, 2);
 * const addr = { family: 4 as const, address: "198.51.100.7", port: 4000 };
 * msg.attributes.push(addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, addr, msg.transactionId));
 * equal(getAddress(msg, StunAttr.XOR_MAPPED_ADDRESS)?.port, 4000);
 * ```
 */
export function getAddress(msg: StunMessage, type: number): TransportAddress | undefined {
  const v = getAttribute(msg, type);
  if (!v) return undefined;
  const xor = type === StunAttr.XOR_MAPPED_ADDRESS || type === 0x0012 || type === 0x0016;
  return xor ? decodeXorAddress(v, msg.transactionId) : decodeAddress(v);
}

// === Text attributes (RFC 8489 §14.3, §14.9, §14.10, §14.14, §14.16) ===

/** Limits in bytes when encoding (RFC 8489 §14.3 and the 128-character fields). */
const TEXT_LIMITS: Record<number, number> = {
  [StunAttr.USERNAME]: 508,
  [StunAttr.REALM]: 509,
  [StunAttr.NONCE]: 509,
  [StunAttr.SOFTWARE]: 509,
  [StunAttr.ALTERNATE_DOMAIN]: 255,
};

/**
 * Builds a UTF-8 text attribute (USERNAME, REALM, NONCE, SOFTWARE, ALTERNATE-DOMAIN, ...),
 * enforcing the specification's size limits.
 *
 * @param type Attribute type.
 * @param text The text.
 * @returns The attribute.
 * @throws {RangeError} when the text is longer than the attribute allows.
 * @example
 * ```ts
 * import { StunAttr, textAttribute } from "@rtclite/std/ietf/rfc5389";
 * import { equal, throws } from "node:assert/strict";
 * equal(textAttribute(StunAttr.REALM, "example.org").value.length, 11);
 * throws(() => textAttribute(StunAttr.SOFTWARE, "x".repeat(200)), RangeError);
 * ```
 */
// @implements RFC8489 §14.3 ¶2, RFC8489 §14.14
export function textAttribute(type: number, text: string): StunAttribute {
  const value = utf8.encode(text);
  const limit = TEXT_LIMITS[type] ?? 0xffff;
  const chars = [...text].length;
  if (value.length > limit || (type !== StunAttr.USERNAME && limit === 509 && chars >= 128)) {
    throw new RangeError(
      `${ATTR_NAMES.get(type) ?? "Attribute"} too long: ${chars} characters, ${value.length} bytes`,
    );
  }
  return { type, value };
}

/**
 * Reads a UTF-8 text attribute.
 *
 * @param msg The message.
 * @param type Attribute type.
 * @returns The text, or `undefined` when absent.
 * @throws {StunParseError} for invalid UTF-8 or a value over 763 bytes.
 * @example
 * ```ts
 * import { createMessage, getText, StunAttr, textAttribute } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const msg = createMessage(1, 0, [textAttribute(StunAttr.SOFTWARE, "rtclite")]);
 * equal(getText(msg, StunAttr.SOFTWARE), "rtclite");
 * ```
 */
// @implements RFC8489 §14.3 ¶2
export function getText(msg: StunMessage, type: number): string | undefined {
  const v = getAttribute(msg, type);
  if (!v) return undefined;
  if (v.length > 763 && type in TEXT_LIMITS) {
    throw new StunParseError(
      `Cannot decode ${ATTR_NAMES.get(type)}: ${v.length} bytes, at most 763`,
      0,
    );
  }
  try {
    return utf8d.decode(v);
  } catch (e) {
    throw new StunParseError(
      `Cannot decode ${ATTR_NAMES.get(type) ?? "text attribute"}: invalid UTF-8`,
      0,
      {
        cause: e,
      },
    );
  }
}

// === ERROR-CODE and UNKNOWN-ATTRIBUTES (RFC 8489 §14.8, §14.13) ===

/**
 * Builds an ERROR-CODE attribute.
 *
 * @param code 300..699.
 * @param reason Reason phrase (default: the recommended one).
 * @returns The attribute.
 * @example
 * ```ts
 * import { errorCodeAttribute } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual([...errorCodeAttribute(420).value.subarray(0, 4)], [0, 0, 4, 20]);
 * ```
 */
// @implements RFC8489 §14.8 ¶1-4
export function errorCodeAttribute(
  code: number,
  reason: string = REASONS[code] ?? "",
): StunAttribute {
  if (!Number.isInteger(code) || code < 300 || code > 699) {
    throw new RangeError(`Invalid STUN error code: ${code}, expected 300..699`);
  }
  const text = utf8.encode(reason);
  if ([...reason].length >= 128) throw new RangeError("ERROR-CODE reason phrase too long");
  const value = new Uint8Array(4 + text.length);
  value[2] = Math.floor(code / 100);
  value[3] = code % 100;
  value.set(text, 4);
  return { type: StunAttr.ERROR_CODE, value };
}

/**
 * Reads the ERROR-CODE of a message.
 *
 * @param msg The message.
 * @returns Code and reason, or `undefined` when absent.
 * @throws {StunParseError} when the value is malformed.
 * @example
 * ```ts
 * import { createMessage, errorCodeAttribute, getErrorCode } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * const msg = createMessage(1, 3, [errorCodeAttribute(438)]);
 * deepEqual(getErrorCode(msg), { code: 438, reason: "Stale Nonce" });
 * ```
 */
export function getErrorCode(msg: StunMessage): ErrorCode | undefined {
  const v = getAttribute(msg, StunAttr.ERROR_CODE);
  if (!v) return undefined;
  const cls = (v[2] ?? 0) & 7, num = v[3] ?? 0;
  if (v.length < 4 || cls < 3 || cls > 6 || num > 99) {
    throw new StunParseError("Cannot decode ERROR-CODE: class must be 3..6 and number 0..99", 2);
  }
  let reason: string;
  try {
    reason = utf8d.decode(v.subarray(4));
  } catch (e) {
    throw new StunParseError("Cannot decode ERROR-CODE: invalid UTF-8 reason", 4, { cause: e });
  }
  return { code: cls * 100 + num, reason };
}

/**
 * Builds an UNKNOWN-ATTRIBUTES attribute.
 *
 * @param types The attribute types that were not understood.
 * @returns The attribute.
 * @example
 * ```ts
 * import { getUnknownAttributes, unknownAttributesAttribute } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * const a = unknownAttributesAttribute([0x7777, 0x0024]);
 * deepEqual(getUnknownAttributes({ method: 1, class: 3, transactionId: new Uint8Array(12), attributes: [a] }), [0x7777, 0x24]);
 * ```
 */
// @implements RFC8489 §14.13
export function unknownAttributesAttribute(types: number[]): StunAttribute {
  const value = new Uint8Array(types.length * 2);
  types.forEach((t, i) => {
    value[2 * i] = t >> 8;
    value[2 * i + 1] = t & 0xff;
  });
  return { type: StunAttr.UNKNOWN_ATTRIBUTES, value };
}

/**
 * Reads UNKNOWN-ATTRIBUTES.
 *
 * @param msg The message.
 * @returns Attribute types, or `undefined` when absent.
 * @throws {StunParseError} on an odd length.
 * @example
 * ```ts
 * import { createMessage, getUnknownAttributes } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(getUnknownAttributes(createMessage(1, 3)), undefined);
 * ```
 */
export function getUnknownAttributes(msg: StunMessage): number[] | undefined {
  const v = getAttribute(msg, StunAttr.UNKNOWN_ATTRIBUTES);
  if (!v) return undefined;
  if (v.length & 1) throw new StunParseError("Cannot decode UNKNOWN-ATTRIBUTES: odd length", 0);
  const out: number[] = [];
  for (let i = 0; i < v.length; i += 2) out.push((v[i]! << 8) | v[i + 1]!);
  return out;
}

// === PASSWORD-ALGORITHMS and PASSWORD-ALGORITHM (RFC 8489 §14.11, §14.12) ===

function encodeAlgorithms(list: AlgorithmEntry[]): Uint8Array {
  const n = list.reduce((s, a) => s + 4 + pad4(a.parameters.length), 0);
  const out = new Uint8Array(n);
  let off = 0;
  for (const a of list) {
    out[off] = a.algorithm >> 8, out[off + 1] = a.algorithm & 0xff;
    out[off + 2] = a.parameters.length >> 8, out[off + 3] = a.parameters.length & 0xff;
    out.set(a.parameters, off + 4);
    off += 4 + pad4(a.parameters.length);
  }
  return out;
}

function decodeAlgorithms(v: Uint8Array, what: string): AlgorithmEntry[] {
  const out: AlgorithmEntry[] = [];
  for (let off = 0; off < v.length;) {
    if (off + 4 > v.length) throw new StunParseError(`Cannot decode ${what}: truncated entry`, off);
    const len = (v[off + 2]! << 8) | v[off + 3]!;
    if (off + 4 + len > v.length) {
      throw new StunParseError(`Cannot decode ${what}: parameters overrun`, off);
    }
    out.push({
      algorithm: (v[off]! << 8) | v[off + 1]!,
      parameters: v.subarray(off + 4, off + 4 + len),
    });
    off += 4 + pad4(len);
  }
  return out;
}

/**
 * Builds PASSWORD-ALGORITHMS (a list) or PASSWORD-ALGORITHM (one entry).
 *
 * @param type {@linkcode StunAttr.PASSWORD_ALGORITHMS} or {@linkcode StunAttr.PASSWORD_ALGORITHM}.
 * @param algorithms Algorithm numbers, in preference order.
 * @returns The attribute.
 * @example
 * ```ts
 * import { algorithmsAttribute, PasswordAlgorithm, StunAttr } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * const a = algorithmsAttribute(StunAttr.PASSWORD_ALGORITHMS, [PasswordAlgorithm.SHA256, PasswordAlgorithm.MD5]);
 * deepEqual([...a.value], [0, 2, 0, 0, 0, 1, 0, 0]);
 * ```
 */
// @implements RFC8489 §14.11, RFC8489 §14.12
export function algorithmsAttribute(type: number, algorithms: number[]): StunAttribute {
  return {
    type,
    value: encodeAlgorithms(
      algorithms.map((algorithm) => ({ algorithm, parameters: new Uint8Array() })),
    ),
  };
}

/**
 * Reads PASSWORD-ALGORITHMS or PASSWORD-ALGORITHM.
 *
 * @param msg The message.
 * @param type {@linkcode StunAttr.PASSWORD_ALGORITHMS} or {@linkcode StunAttr.PASSWORD_ALGORITHM}.
 * @returns The entries, or `undefined` when absent.
 * @throws {StunParseError} when malformed.
 * @example
 * ```ts
 * import { algorithmsAttribute, createMessage, getAlgorithms, StunAttr } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const msg = createMessage(1, 0, [algorithmsAttribute(StunAttr.PASSWORD_ALGORITHM, [2])]);
 * equal(getAlgorithms(msg, StunAttr.PASSWORD_ALGORITHM)?.[0]?.algorithm, 2);
 * ```
 */
export function getAlgorithms(msg: StunMessage, type: number): AlgorithmEntry[] | undefined {
  const v = getAttribute(msg, type);
  return v ? decodeAlgorithms(v, ATTR_NAMES.get(type) ?? "algorithms") : undefined;
}

// === Keys, message integrity and fingerprint (RFC 8489 §9.1.1, §9.2.2, §14.4-14.7) ===

/**
 * OpaqueString-style preparation (RFC 8265 §4.2): maps non-ASCII spaces to U+0020 and applies
 * Unicode Normalization Form C.
 *
 * @param s A username, realm or password.
 * @returns The prepared string.
 * @example
 * ```ts
 * import { opaqueString } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(opaqueString("e\u0301"), "\u00e9");
 * ```
 */
export function opaqueString(s: string): string {
  return s.replace(/[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/g, " ").normalize("NFC");
}

/**
 * The short-term credential HMAC key: the UTF-8 bytes of OpaqueString(password).
 *
 * @param password The password.
 * @returns The key.
 * @example
 * ```ts
 * import { shortTermKey } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(shortTermKey("pass").length, 4);
 * ```
 */
// @implements RFC8489 §9.1.1
export function shortTermKey(password: string): Uint8Array {
  return utf8.encode(opaqueString(password));
}

/**
 * The long-term credential HMAC key: MD5 (16 bytes) or SHA-256 (32 bytes) of
 * `username ":" OpaqueString(realm) ":" OpaqueString(password)`.
 *
 * @param username Username as sent in USERNAME.
 * @param realm Realm from the server.
 * @param password Password.
 * @param algorithm {@linkcode PasswordAlgorithm.MD5} (default) or `SHA256`.
 * @returns The key.
 * @example
 * ```ts
 * import { longTermKey } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
 * equal(hex(longTermKey("user", "realm", "pass")), "8493fbc53ba582fb4c044c456bdc40eb");
 * ```
 */
// @implements RFC8489 §9.2.2 ¶1-2, RFC8489 §18.5.1.2
export function longTermKey(
  username: string,
  realm: string,
  password: string,
  algorithm: number = PasswordAlgorithm.MD5,
): Uint8Array {
  const input = utf8.encode(`${username}:${opaqueString(realm)}:${opaqueString(password)}`);
  if (algorithm === PasswordAlgorithm.MD5) return md5(input);
  if (algorithm === PasswordAlgorithm.SHA256) return sha256(input);
  throw new RangeError(`Unsupported password algorithm: ${algorithm}`);
}

/**
 * The USERHASH value: SHA-256 of `OpaqueString(username) ":" OpaqueString(realm)`.
 *
 * @param username Username.
 * @param realm Realm.
 * @returns 32 bytes.
 * @example
 * ```ts
 * import { userHash } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(userHash("user", "realm").length, 32);
 * ```
 */
// @implements RFC8489 §14.4
export function userHash(username: string, realm: string): Uint8Array {
  return sha256(utf8.encode(`${opaqueString(username)}:${opaqueString(realm)}`));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** Offsets of the first MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256 in raw bytes. */
function integrityOffsets(raw: Uint8Array): { mi?: number; mi256?: number } {
  const out: { mi?: number; mi256?: number } = {};
  for (let off = HEADER; off + 4 <= raw.length;) {
    const type = (raw[off]! << 8) | raw[off + 1]!;
    const len = (raw[off + 2]! << 8) | raw[off + 3]!;
    if (type === StunAttr.MESSAGE_INTEGRITY && out.mi === undefined && out.mi256 === undefined) {
      out.mi = off;
    }
    if (type === StunAttr.MESSAGE_INTEGRITY_SHA256 && out.mi256 === undefined) out.mi256 = off;
    off += 4 + pad4(len);
  }
  return out;
}

function checkHmac(raw: Uint8Array, off: number, key: Uint8Array, sha: typeof sha1): boolean {
  const len = (raw[off + 2]! << 8) | raw[off + 3]!;
  const adjusted = off + 4 + len - HEADER;
  const h = hmac.create(sha, key);
  h.update(raw.subarray(0, 2));
  h.update(Uint8Array.of(adjusted >> 8, adjusted & 0xff));
  h.update(raw.subarray(4, off));
  return equalBytes(h.digest().subarray(0, len), raw.subarray(off + 4, off + 4 + len));
}

/**
 * Checks the message integrity of a decoded message: MESSAGE-INTEGRITY-SHA256 when present, else
 * MESSAGE-INTEGRITY (RFC 8489 §9.1.3). The header length is adjusted as §14.5 and §14.6 describe.
 *
 * @param msg A message from {@linkcode decodeStun} (it needs `raw`).
 * @param key The HMAC key ({@linkcode shortTermKey} or {@linkcode longTermKey}).
 * @returns `"sha256"` or `"sha1"` for the attribute that verified, `false` when it does not match
 *   or neither attribute is present.
 * @example
 * ```ts
 * import { createMessage, decodeStun, encodeStun, shortTermKey, verifyIntegrity } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const m = decodeStun(encodeStun(createMessage(1, 0), { integritySha256: shortTermKey("a") }));
 * equal(verifyIntegrity(m, shortTermKey("a")), "sha256");
 * equal(verifyIntegrity(m, shortTermKey("b")), false);
 * ```
 */
// @implements RFC8489 §14.5 ¶4, RFC8489 §14.6 ¶4
export function verifyIntegrity(msg: StunMessage, key: Uint8Array): "sha1" | "sha256" | false {
  const raw = msg.raw;
  if (!raw) throw new TypeError("verifyIntegrity() needs a decoded message (with raw bytes)");
  const { mi, mi256 } = integrityOffsets(raw);
  if (mi256 !== undefined) return checkHmac(raw, mi256, key, sha256) ? "sha256" : false;
  if (mi !== undefined) return checkHmac(raw, mi, key, sha1) ? "sha1" : false;
  return false;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of ITU V.42 (as in RFC 1952 §8). */
function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// === Nonce cookie and security features (RFC 8489 §9.2, §18.1) ===

/** STUN Security Feature bits (RFC 8489 §18.1) as values of the 24-bit set. */
export const SecurityFeature = {
  PasswordAlgorithms: 0x800000,
  UsernameAnonymity: 0x400000,
} as const;

/**
 * Returns the 13-character "nonce cookie" announcing the security features.
 *
 * @param features Bitwise OR of {@linkcode SecurityFeature} values.
 * @returns `obMatJos2` and the base64 of the 24-bit feature set.
 * @example
 * ```ts
 * import { nonceCookie, SecurityFeature } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(nonceCookie(0), "obMatJos2AAAA");
 * equal(nonceCookie(SecurityFeature.PasswordAlgorithms), "obMatJos2gAAA");
 * ```
 */
// @implements RFC8489 §9.2 ¶5
export function nonceCookie(features: number): string {
  return "obMatJos2" +
    btoa(String.fromCharCode(features >> 16 & 0xff, features >> 8 & 0xff, features & 0xff));
}

/**
 * Reads the security features from a NONCE starting with the nonce cookie.
 *
 * @param nonce NONCE value.
 * @returns The 24-bit feature set, or `undefined` without a nonce cookie.
 * @example
 * ```ts
 * import { nonceFeatures, SecurityFeature } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(nonceFeatures("obMatJos2gAAAxyz"), SecurityFeature.PasswordAlgorithms);
 * equal(nonceFeatures("abc"), undefined);
 * ```
 */
export function nonceFeatures(nonce: string): number | undefined {
  if (!nonce.startsWith("obMatJos2") || nonce.length < 13) return undefined;
  try {
    const b = atob(nonce.slice(9, 13));
    return (b.charCodeAt(0) << 16) | (b.charCodeAt(1) << 8) | b.charCodeAt(2);
  } catch {
    return undefined;
  }
}

// === Human-readable view (for logs and notebooks) ===

/**
 * Describes a message as a plain object with attribute names and decoded values.
 *
 * @param msg The message.
 * @returns `{ method, class, transactionId, attributes: [{ name, value }] }` with hex for opaque values.
 * @example
 * ```ts
 * import { createMessage, describeStun, StunAttr, textAttribute } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const d = describeStun(createMessage(1, 0, [textAttribute(StunAttr.SOFTWARE, "x")]));
 * equal(d.attributes[0]?.name, "SOFTWARE");
 * equal(d.attributes[0]?.value, "x");
 * ```
 */
export function describeStun(msg: StunMessage): {
  method: string;
  class: string;
  transactionId: string;
  attributes: { name: string; value: unknown }[];
} {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const method = Object.entries(StunMethod).find(([, v]) => v === msg.method)?.[0] ??
    `0x${msg.method.toString(16)}`;
  const cls = ["request", "indication", "success response", "error response"][msg.class]!;
  return {
    method,
    class: cls,
    transactionId: hex(msg.transactionId),
    attributes: msg.attributes.map((a) => {
      const name = ATTR_NAMES.get(a.type) ?? TURN_NAMES[a.type] ??
        `0x${a.type.toString(16).padStart(4, "0")}`;
      const one = { ...msg, attributes: [a] };
      let value: unknown;
      try {
        if ([0x01, 0x02, 0x04, 0x05, 0x0b, 0x8023].includes(a.type)) {
          value = getAddress(one, a.type);
        } else if ([0x20, 0x12, 0x16].includes(a.type)) value = getAddress(one, a.type);
        else if (a.type in TEXT_LIMITS) value = getText(one, a.type);
        else if (a.type === StunAttr.ERROR_CODE) value = getErrorCode(one);
        else if (a.type === StunAttr.UNKNOWN_ATTRIBUTES) value = getUnknownAttributes(one);
        else value = hex(a.value);
      } catch {
        value = hex(a.value);
      }
      return { name, value };
    }),
  };
}

const TURN_NAMES: Record<number, string> = {
  0x000c: "CHANNEL-NUMBER",
  0x000d: "LIFETIME",
  0x0012: "XOR-PEER-ADDRESS",
  0x0013: "DATA",
  0x0016: "XOR-RELAYED-ADDRESS",
  0x0017: "REQUESTED-ADDRESS-FAMILY",
  0x0018: "EVEN-PORT",
  0x0019: "REQUESTED-TRANSPORT",
  0x001a: "DONT-FRAGMENT",
  0x0022: "RESERVATION-TOKEN",
};

// === Client transactions (RFC 8489 §6.2.1) ===

/** Options of {@linkcode StunClientTransaction}. */
export interface TransactionOptions {
  /** Initial retransmission timeout in ms (default 500, RFC 8489 §6.2.1). */
  rto?: number;
  /** Total number of requests sent (default 7). */
  rc?: number;
  /** Multiple of RTO to wait after the last request (default 16). */
  rm?: number;
  /** Reliable transport (TCP): no retransmission, fail after `ti` ms. */
  reliable?: boolean;
  /** Timeout on reliable transports in ms (default 39 500). */
  ti?: number;
}

/**
 * A sans-I/O client transaction: it tells when to (re)send the request and when the transaction
 * has timed out, from the times you give it (RFC 8489 §6.2.1). With RTO 500 ms it sends at 0, 500,
 * 1500, 3500, 7500, 15500 and 31500 ms and times out at 39500 ms.
 *
 * @example Drive the retransmission schedule with a fake clock
 * ```ts
 * import { StunClientTransaction } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual, equal } from "node:assert/strict";
 * const t = new StunClientTransaction(new Uint8Array(20), 0);
 * const sent: number[] = [0];
 * while (t.state === "waiting") {
 *   const now = t.deadline!;
 *   if (t.onTimeout(now)) sent.push(now);
 * }
 * deepEqual(sent, [0, 500, 1500, 3500, 7500, 15500, 31500]);
 * equal(t.state, "timeout");
 * ```
 */
export class StunClientTransaction {
  /** The encoded request. */
  readonly request: Uint8Array;
  /** Transaction ID (bytes 8..20 of the request). */
  readonly transactionId: Uint8Array;
  #rto: number;
  #rc: number;
  #rm: number;
  #sent = 1;
  #start: number;
  #deadline: number;
  #interval: number;
  #state: "waiting" | "done" | "timeout" = "waiting";

  /**
   * Starts a transaction; the caller sends `request` now.
   *
   * @param request The encoded request.
   * @param now Current time in ms.
   * @param options Timer values.
   */
  constructor(request: Uint8Array, now: number, options: TransactionOptions = {}) {
    this.request = request;
    this.transactionId = request.subarray(8, HEADER);
    this.#rto = options.rto ?? 500;
    this.#rc = options.reliable ? 1 : options.rc ?? 7;
    this.#rm = options.rm ?? 16;
    this.#start = now;
    this.#interval = this.#rto;
    this.#deadline = options.reliable ? now + (options.ti ?? 39_500) : now + this.#rto;
    if (!options.reliable && this.#rc === 1) this.#deadline = now + this.#rm * this.#rto;
  }

  /** `waiting`, `done` (a response was accepted) or `timeout`. */
  get state(): "waiting" | "done" | "timeout" {
    return this.#state;
  }

  /** When {@linkcode StunClientTransaction.onTimeout} must be called next, while waiting. */
  get deadline(): number | undefined {
    return this.#state === "waiting" ? this.#deadline : undefined;
  }

  /** How many requests have been sent. */
  get transmissions(): number {
    return this.#sent;
  }

  /**
   * Advances the timers.
   *
   * @param now Current time in ms.
   * @returns The request to retransmit now, or `undefined`.
   */
  // @implements RFC8489 §6.2.1 ¶2, RFC8489 §6.2.1 ¶4
  onTimeout(now: number): Uint8Array | undefined {
    if (this.#state !== "waiting" || now < this.#deadline) return undefined;
    if (this.#sent >= this.#rc) {
      this.#state = "timeout";
      return undefined;
    }
    this.#sent++;
    this.#interval *= 2;
    this.#deadline = this.#sent === this.#rc ? now + this.#rm * this.#rto : now + this.#interval;
    return this.request;
  }

  /**
   * Accepts a response with this transaction's ID and ends the transaction.
   *
   * @param now Current time in ms.
   * @returns A round-trip time sample, or `undefined` when the request was retransmitted (Karn).
   */
  complete(now: number): number | undefined {
    this.#state = "done";
    return this.#sent === 1 ? now - this.#start : undefined;
  }
}

/** RTO per RFC 6298 with Karn's rule; cached per server for 10 minutes (RFC 8489 §6.2.1 ¶3). */
class RtoCache {
  #entries = new Map<string, { srtt: number; rttvar: number; at: number }>();
  constructor(readonly initial: number, readonly floor: number) {}
  get(server: string, now: number): number {
    const e = this.#entries.get(server);
    if (!e || now - e.at > 600_000) return this.initial;
    return Math.max(this.floor, Math.round(e.srtt + 4 * e.rttvar));
  }
  sample(server: string, rtt: number, now: number): void {
    const e = this.#entries.get(server);
    if (!e || now - e.at > 600_000) {
      this.#entries.set(server, { srtt: rtt, rttvar: rtt / 2, at: now });
    } else {
      e.rttvar = 0.75 * e.rttvar + 0.25 * Math.abs(e.srtt - rtt);
      e.srtt = 0.875 * e.srtt + 0.125 * rtt;
      e.at = now;
    }
  }
}

// === Long-term credentials, client side (RFC 8489 §9.2.3, §9.2.5) ===

/** Options of {@linkcode LongTermCredentials}. */
export interface CredentialOptions {
  /** Username. */
  username: string;
  /** Password. */
  password: string;
  /** Use MESSAGE-INTEGRITY-SHA256 instead of MESSAGE-INTEGRITY (also implied by PASSWORD-ALGORITHMS). */
  sha256?: boolean;
}

/**
 * Client side of the long-term credential mechanism, sans-I/O: it adds USERNAME or USERHASH,
 * REALM, NONCE and PASSWORD-ALGORITHM(S) to requests, picks the key, learns realm and nonce from
 * 401 and 438 responses, and checks the integrity of responses.
 *
 * @example React to a 401 challenge
 * ```ts
 * import {
 *   createMessage, errorCodeAttribute, getText, LongTermCredentials, StunAttr, StunClass, textAttribute,
 * } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const creds = new LongTermCredentials({ username: "user", password: "pass" });
 * const challenge = createMessage(3, StunClass.ErrorResponse, [
 *   errorCodeAttribute(401), textAttribute(StunAttr.REALM, "example.org"),
 *   textAttribute(StunAttr.NONCE, "obMatJos2AAAAabc"),
 * ]);
 * equal(creds.onErrorResponse(challenge), true);
 * const { message } = creds.sign(createMessage(3, StunClass.Request));
 * equal(getText(message, StunAttr.REALM), "example.org");
 * ```
 */
export class LongTermCredentials {
  /** Username. */
  readonly username: string;
  #password: string;
  #sha256: boolean;
  #realm: string | undefined;
  #nonce: string | undefined;
  #algorithms: Uint8Array | undefined;
  #algorithm = PasswordAlgorithm.MD5 as number;
  #anonymous = false;
  #tried = false;
  #staleRetries = 0;

  /**
   * Creates the credential state.
   *
   * @param options Username, password and integrity choice.
   */
  constructor(options: CredentialOptions) {
    this.username = options.username;
    this.#password = options.password;
    this.#sha256 = options.sha256 ?? false;
  }

  /** The realm learned from the server, if any. */
  get realm(): string | undefined {
    return this.#realm;
  }

  /** The current HMAC key, once a realm is known. */
  get key(): Uint8Array | undefined {
    return this.#realm === undefined
      ? undefined
      : longTermKey(this.username, this.#realm, this.#password, this.#algorithm);
  }

  /**
   * Adds the credential attributes to a request (nothing before the first challenge, §9.2.3.1).
   *
   * @param request The request without credential attributes.
   * @returns The request with them, and the {@linkcode EncodeOptions} carrying the key.
   */
  // @implements RFC8489 §9.2.3.1, RFC8489 §9.2.3.2
  sign(request: StunMessage): { message: StunMessage; options: EncodeOptions } {
    const key = this.key;
    if (!key || this.#nonce === undefined) return { message: request, options: {} };
    const attrs = request.attributes.filter((a) =>
      ![
        StunAttr.USERNAME,
        StunAttr.USERHASH,
        StunAttr.REALM,
        StunAttr.NONCE,
        StunAttr.PASSWORD_ALGORITHM,
        StunAttr.PASSWORD_ALGORITHMS,
      ].includes(a.type as 6)
    );
    attrs.push(
      this.#anonymous
        ? { type: StunAttr.USERHASH, value: userHash(this.username, this.#realm!) }
        : textAttribute(StunAttr.USERNAME, this.username),
      textAttribute(StunAttr.REALM, this.#realm!),
      textAttribute(StunAttr.NONCE, this.#nonce),
    );
    if (this.#algorithms) {
      attrs.push(
        { type: StunAttr.PASSWORD_ALGORITHMS, value: this.#algorithms },
        algorithmsAttribute(StunAttr.PASSWORD_ALGORITHM, [this.#algorithm]),
      );
    }
    const sha256 = this.#sha256 || this.#algorithms !== undefined;
    return {
      message: { ...request, attributes: attrs },
      options: sha256 ? { integritySha256: key } : { integrity: key },
    };
  }

  /**
   * Learns from a 401 or 438 error response.
   *
   * @param response An error response to a request signed by this object.
   * @returns `true` when the request should be retried (in a new transaction, signed again).
   */
  // @implements RFC8489 §9.2.5 ¶1-3
  onErrorResponse(response: StunMessage): boolean {
    const code = getErrorCode(response)?.code;
    if (code !== 401 && code !== 438) return false;
    const nonce = getText(response, StunAttr.NONCE);
    const realm = getText(response, StunAttr.REALM) ?? this.#realm;
    if (nonce === undefined || realm === undefined) return false;
    const features = nonceFeatures(nonce) ?? 0;
    const algs = getAttribute(response, StunAttr.PASSWORD_ALGORITHMS);
    if (features & SecurityFeature.PasswordAlgorithms && !algs) return false;
    if (algs) {
      const supported = decodeAlgorithms(algs, "PASSWORD-ALGORITHMS").find((a) =>
        a.algorithm === PasswordAlgorithm.MD5 || a.algorithm === PasswordAlgorithm.SHA256
      );
      if (!supported) return false;
      this.#algorithms = algs.slice();
      this.#algorithm = supported.algorithm;
    }
    this.#anonymous = (features & SecurityFeature.UsernameAnonymity) !== 0;
    this.#nonce = nonce;
    if (code === 438) {
      // Bounded: a server that keeps answering 438 does not make us loop.
      this.#realm = realm;
      return ++this.#staleRetries <= 3;
    }
    if (this.#tried && realm === this.#realm) return false; // same credentials already refused
    this.#tried = true;
    this.#realm = realm;
    return true;
  }

  /**
   * Checks a response's integrity with the current key (§9.2.5 ¶7-8).
   *
   * @param response A decoded response.
   * @returns `true` when authenticated, `false` when it must be discarded.
   */
  verify(response: StunMessage): boolean {
    const key = this.key;
    return key !== undefined && verifyIntegrity(response, key) !== false;
  }

  /** Resets the stale-nonce counter after a successful transaction. */
  succeeded(): void {
    this.#staleRetries = 0;
  }
}

// === Server (RFC 8489 §6.3.1, §9.1.3, §9.2.4, §12) ===

/** Short-term credentials on a server. */
export interface ShortTermServerAuth {
  /** Mechanism. */
  mechanism: "short-term";
  /** Returns the password of a username, or `undefined` when unknown. */
  password(username: string): string | undefined;
}

/** Long-term credentials on a server. */
export interface LongTermServerAuth {
  /** Mechanism. */
  mechanism: "long-term";
  /** Realm announced in 401 responses. */
  realm: string;
  /** Returns the password of a username, or `undefined` when unknown. */
  password(username: string): string | undefined;
  /** Offer PASSWORD-ALGORITHMS (SHA-256, MD5) and set the nonce cookie's bit (default false). */
  passwordAlgorithms?: boolean;
  /** Known usernames, to resolve USERHASH (enables the username anonymity feature). */
  usernames?: () => Iterable<string>;
  /** Nonce lifetime in ms (default 600 000). */
  nonceLifetime?: number;
  /** Secret for stateless nonces (default: random). */
  secret?: Uint8Array;
}

/** What a method handler sees. */
export interface RequestContext {
  /** The decoded request or indication. */
  message: StunMessage;
  /** Source transport address. */
  from: TransportAddress;
  /** Authenticated username (when the server has credentials configured). */
  username?: string;
  /** Current time (ms). */
  now: number;
}

/** What a method handler returns for a request: a success or an error response's attributes. */
export type HandlerResult =
  | { attributes: StunAttribute[] }
  | { error: number; reason?: string; attributes?: StunAttribute[] };

/** Options of {@linkcode StunServer}. */
export interface StunServerOptions {
  /** SOFTWARE attribute value for responses (omitted when empty). */
  software?: string;
  /** Credentials required for requests (none by default). */
  auth?: ShortTermServerAuth | LongTermServerAuth;
  /** Methods to authenticate (default: all requests). Binding is often left open. */
  authenticate?: (method: number) => boolean;
  /** Extra methods: requests and indications go to these handlers. */
  handlers?: Record<number, (ctx: RequestContext) => HandlerResult | undefined>;
  /** Comprehension-required attribute types the handlers understand. */
  knownAttributes?: Iterable<number>;
  /** Add FINGERPRINT to every response (default: when the request had one). */
  fingerprint?: boolean;
  /** Clock (ms), default `Date.now`. */
  now?: () => number;
}

const BASE_KNOWN = [
  StunAttr.MAPPED_ADDRESS,
  StunAttr.USERNAME,
  StunAttr.MESSAGE_INTEGRITY,
  StunAttr.ERROR_CODE,
  StunAttr.UNKNOWN_ATTRIBUTES,
  StunAttr.REALM,
  StunAttr.NONCE,
  StunAttr.MESSAGE_INTEGRITY_SHA256,
  StunAttr.PASSWORD_ALGORITHM,
  StunAttr.USERHASH,
  StunAttr.XOR_MAPPED_ADDRESS,
];

/**
 * A sans-I/O STUN server: give it datagrams and source addresses, it returns the responses.
 * It answers Binding requests with XOR-MAPPED-ADDRESS (MAPPED-ADDRESS for RFC 3489 clients, §12),
 * rejects unknown comprehension-required attributes with 420, enforces short- or long-term
 * credentials with stateless nonces, and passes other methods to handlers (TURN builds on this).
 * Bad input is dropped, never answered as valid.
 *
 * @example Answer a Binding request
 * ```ts
 * import { createMessage, decodeStun, encodeStun, getAddress, StunAttr, StunServer } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const server = new StunServer({ software: "rtclite" });
 * const from = { family: 4 as const, address: "192.0.2.1", port: 32853 };
 * const reply = server.handle(encodeStun(createMessage(1, 0)), from)!;
 * equal(getAddress(decodeStun(reply), StunAttr.XOR_MAPPED_ADDRESS)?.port, 32853);
 * ```
 */
export class StunServer {
  #opts: StunServerOptions;
  #known: Set<number>;
  #secret: Uint8Array;
  #now: () => number;

  /**
   * Creates a server.
   *
   * @param options Software name, credentials, handlers.
   */
  constructor(options: StunServerOptions = {}) {
    this.#opts = options;
    this.#known = new Set([...BASE_KNOWN, ...(options.knownAttributes ?? [])]);
    const auth = options.auth;
    this.#secret = (auth?.mechanism === "long-term" ? auth.secret : undefined) ??
      crypto.getRandomValues(new Uint8Array(16));
    this.#now = options.now ?? Date.now;
  }

  /**
   * Processes one datagram.
   *
   * @param data The datagram.
   * @param from Its source address.
   * @returns The response to send back to `from`, or `undefined` (indication, garbage, response).
   */
  handle(data: Uint8Array, from: TransportAddress): Uint8Array | undefined {
    let msg: StunMessage;
    try {
      msg = decodeStun(data, { classic: true });
    } catch (e) {
      log.debug("Dropped a bad datagram from {from}: {error}", {
        from: from.address,
        error: String(e),
      });
      return undefined;
    }
    if (msg.class === StunClass.SuccessResponse || msg.class === StunClass.ErrorResponse) {
      return undefined;
    }
    const now = this.#now();
    const isRequest = msg.class === StunClass.Request;
    const handler = this.#opts.handlers?.[msg.method];
    if (msg.method !== StunMethod.Binding && !handler) return undefined; // unsupported method: discard
    const fingerprint = this.#opts.fingerprint ??
      getAttribute(msg, StunAttr.FINGERPRINT) !== undefined;

    // Authentication (§9) comes before the unknown-attribute check (§6.3).
    let sign: EncodeOptions = {};
    let username: string | undefined;
    const auth = this.#opts.auth;
    if (
      auth && msg.transactionId.length === 12 && (this.#opts.authenticate?.(msg.method) ?? true)
    ) {
      if (!isRequest) {
        if (!this.#verifyIndication(msg, auth)) return undefined;
      } else {
        const r = auth.mechanism === "short-term"
          ? this.#shortTerm(msg, auth)
          : this.#longTerm(msg, auth, from, now);
        if ("error" in r) return this.#reply(msg, r, {}, fingerprint);
        sign = r.sign;
        username = r.username;
      }
    }

    // @implements RFC8489 §6.3.1 ¶1, RFC8489 §6.3.2
    const unknown = [...new Set(msg.attributes.map((a) => a.type))].filter((t) =>
      t < 0x8000 && !this.#known.has(t)
    );
    if (unknown.length) {
      log.debug("Unknown comprehension-required attributes {types} from {from}", {
        types: unknown.map((t) => "0x" + t.toString(16).padStart(4, "0")).join(","),
        from: `${from.address}:${from.port}`,
      });
      if (!isRequest) return undefined;
      return this.#reply(
        msg,
        { error: 420, attributes: [unknownAttributesAttribute(unknown)] },
        sign,
        fingerprint,
      );
    }
    const ctx: RequestContext = { message: msg, from, now };
    if (username !== undefined) ctx.username = username;
    if (msg.method === StunMethod.Binding && !handler) {
      if (!isRequest) return undefined; // a Binding indication only refreshes NAT bindings (§6.3.2)
      // @implements RFC8489 §6.3.1.1 ¶5, RFC5389 §12.2
      const attr = msg.transactionId.length === 16
        ? addressAttribute(StunAttr.MAPPED_ADDRESS, from)
        : addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, from, msg.transactionId);
      return this.#reply(msg, { attributes: [attr] }, sign, fingerprint);
    }
    let result: HandlerResult | undefined;
    try {
      result = handler!(ctx);
    } catch (e) {
      log.warn("Handler for method {method} failed: {error}", {
        method: msg.method,
        error: String(e),
      });
      result = isRequest ? { error: 500 } : undefined;
    }
    return isRequest && result ? this.#reply(msg, result, sign, fingerprint) : undefined;
  }

  /**
   * Builds an encoded response to a request.
   *
   * @param request The request.
   * @param result Success attributes or an error.
   * @param sign Integrity options (the request's key).
   * @param fingerprint Whether to add FINGERPRINT.
   */
  #reply(
    request: StunMessage,
    result: HandlerResult,
    sign: EncodeOptions,
    fingerprint: boolean,
  ): Uint8Array {
    const attrs: StunAttribute[] = [];
    const error = "error" in result;
    if (error) attrs.push(errorCodeAttribute(result.error, result.reason));
    attrs.push(...(result.attributes ?? []));
    // @implements RFC8489 §6.3.1.1 ¶4
    if (this.#opts.software) attrs.push(textAttribute(StunAttr.SOFTWARE, this.#opts.software));
    const cls = error ? StunClass.ErrorResponse : StunClass.SuccessResponse;
    const options: EncodeOptions = { ...sign };
    if (fingerprint) options.fingerprint = true;
    return encodeStun(createMessage(request.method, cls, attrs, request.transactionId), options);
  }

  #verifyIndication(msg: StunMessage, auth: ShortTermServerAuth | LongTermServerAuth): boolean {
    if (auth.mechanism === "long-term") return true; // indications cannot be challenged (§9.2)
    const user = getText(msg, StunAttr.USERNAME);
    const pass = user === undefined ? undefined : auth.password(user);
    return pass !== undefined && verifyIntegrity(msg, shortTermKey(pass)) !== false;
  }

  // @implements RFC8489 §9.1.3
  #shortTerm(
    msg: StunMessage,
    auth: ShortTermServerAuth,
  ): { error: number } | { sign: EncodeOptions; username: string } {
    const hasMi = getAttribute(msg, StunAttr.MESSAGE_INTEGRITY) ||
      getAttribute(msg, StunAttr.MESSAGE_INTEGRITY_SHA256);
    let user: string | undefined;
    try {
      user = getText(msg, StunAttr.USERNAME);
    } catch {
      return { error: 400 };
    }
    if (!hasMi || user === undefined) return { error: 400 };
    const pass = auth.password(user);
    if (pass === undefined) return { error: 401 };
    const key = shortTermKey(pass);
    const ok = verifyIntegrity(msg, key);
    if (!ok) return { error: 401 };
    return {
      sign: ok === "sha256" ? { integritySha256: key } : { integrity: key },
      username: user,
    };
  }

  #nonce(from: TransportAddress, now: number, features: number): string {
    const stamp = now.toString(36);
    const mac = hmac(sha256, this.#secret, utf8.encode(`${stamp}|${from.address}|${from.port}`));
    return nonceCookie(features) + stamp + "." +
      Array.from(mac.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** 0 valid, 1 stale (expired), 2 invalid. */
  #checkNonce(nonce: string, from: TransportAddress, now: number, lifetime: number): 0 | 1 | 2 {
    const m = /^obMatJos2.{4}([0-9a-z]+)\.[0-9a-f]{16}$/.exec(nonce);
    if (!m) return 2;
    const stamp = parseInt(m[1]!, 36);
    const expect = this.#nonce(from, stamp, nonceFeatures(nonce) ?? 0);
    if (expect !== nonce) return 2;
    return now - stamp > lifetime ? 1 : 0;
  }

  // @implements RFC8489 §9.2.4
  #longTerm(
    msg: StunMessage,
    auth: LongTermServerAuth,
    from: TransportAddress,
    now: number,
  ): HandlerResult & { error: number } | { sign: EncodeOptions; username: string } {
    const features = (auth.passwordAlgorithms ? SecurityFeature.PasswordAlgorithms : 0) |
      (auth.usernames ? SecurityFeature.UsernameAnonymity : 0);
    const offered = auth.passwordAlgorithms
      ? algorithmsAttribute(StunAttr.PASSWORD_ALGORITHMS, [
        PasswordAlgorithm.SHA256,
        PasswordAlgorithm.MD5,
      ])
      : undefined;
    const challenge = (code: number) => ({
      error: code,
      attributes: [
        textAttribute(StunAttr.REALM, auth.realm),
        textAttribute(StunAttr.NONCE, this.#nonce(from, now, features)),
        ...(offered ? [offered] : []),
      ],
    });
    const hasMi = getAttribute(msg, StunAttr.MESSAGE_INTEGRITY) ||
      getAttribute(msg, StunAttr.MESSAGE_INTEGRITY_SHA256);
    if (!hasMi) return challenge(401);
    let user: string | undefined, realm: string | undefined, nonce: string | undefined;
    try {
      user = getText(msg, StunAttr.USERNAME);
      realm = getText(msg, StunAttr.REALM);
      nonce = getText(msg, StunAttr.NONCE);
    } catch {
      return { error: 400 };
    }
    const hash = getAttribute(msg, StunAttr.USERHASH);
    if ((user === undefined && !hash) || realm === undefined || nonce === undefined) {
      return { error: 400 };
    }
    let algorithm: number = PasswordAlgorithm.MD5;
    const pas = getAttribute(msg, StunAttr.PASSWORD_ALGORITHMS);
    const pa = getAttribute(msg, StunAttr.PASSWORD_ALGORITHM);
    if ((nonceFeatures(nonce) ?? 0) & SecurityFeature.PasswordAlgorithms && (pas || pa)) {
      let chosen: AlgorithmEntry | undefined;
      try {
        chosen = pa ? decodeAlgorithms(pa, "PASSWORD-ALGORITHM")[0] : undefined;
      } catch {
        return { error: 400 };
      }
      if (!pas || !pa || !offered || !equalBytes(pas, offered.value) || !chosen) {
        return { error: 400 };
      }
      if (
        chosen.algorithm !== PasswordAlgorithm.MD5 && chosen.algorithm !== PasswordAlgorithm.SHA256
      ) {
        return { error: 400 };
      }
      algorithm = chosen.algorithm;
    }
    if (user === undefined && hash && auth.usernames) {
      for (const name of auth.usernames()) {
        if (equalBytes(userHash(name, auth.realm), hash)) user = name;
      }
    }
    const pass = user === undefined || realm !== auth.realm ? undefined : auth.password(user);
    if (pass === undefined || user === undefined) return challenge(401);
    const key = longTermKey(user, auth.realm, pass, algorithm);
    const ok = verifyIntegrity(msg, key);
    if (!ok) return challenge(401);
    const state = this.#checkNonce(nonce, from, now, auth.nonceLifetime ?? 600_000);
    if (state !== 0) return challenge(438);
    return {
      sign: ok === "sha256" ? { integritySha256: key } : { integrity: key },
      username: user,
    };
  }
}

// === UDP adapters (node:dgram) ===

/** Options of {@linkcode StunClient}. */
export interface StunClientOptions extends TransactionOptions {
  /** Local address to bind (default 0.0.0.0, or :: for IPv6 servers). */
  hostname?: string;
  /** Local port (default: any). */
  port?: number;
  /** Address family of the socket (default 4). */
  family?: 4 | 6;
  /** SOFTWARE for requests (default "rtclite"); empty to omit. */
  software?: string;
  /** Long-term credentials to answer 401 challenges. */
  credentials?: LongTermCredentials;
  /** Short-term credentials: every request carries USERNAME and integrity. */
  shortTerm?: { username: string; password: string; sha256?: boolean };
  /** Add FINGERPRINT to requests. */
  fingerprint?: boolean;
  /** Clock (ms), default `performance.now`. */
  now?: () => number;
}

/** A STUN transaction that failed: timed out, integrity violated, or an error response. */
export class StunTransactionError extends Error {
  /** Why it failed. */
  readonly reason: "timeout" | "integrity" | "error-response" | "closed";
  /** The error response, for `error-response`. */
  readonly response: StunMessage | undefined;
  /**
   * Creates the error.
   *
   * @param message Sentence-case description.
   * @param reason Failure kind.
   * @param response The error response, if any.
   */
  constructor(
    message: string,
    reason: "timeout" | "integrity" | "error-response" | "closed",
    response?: StunMessage,
  ) {
    super(message);
    this.name = "StunTransactionError";
    this.reason = reason;
    this.response = response;
  }
}

interface Pending {
  tx: StunClientTransaction;
  server: TransportAddress;
  sawDiscarded: boolean;
  resolve: (m: StunMessage) => void;
  reject: (e: Error) => void;
  timer?: ReturnType<typeof setTimeout>;
  verify: (m: StunMessage) => boolean;
}

/**
 * A STUN client on a UDP socket: runs {@linkcode StunClientTransaction}s with real timers,
 * retries long-term challenges, and hands everything that is not a response to `onMessage`.
 *
 * @example Ask a local server for the mapped address
 * ```ts
 * import { serveStunUdp, StunClient, StunServer } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * await using server = await serveStunUdp(new StunServer(), { hostname: "127.0.0.1", port: 0 });
 * await using client = await StunClient.open({ hostname: "127.0.0.1" });
 * const mapped = await client.binding(server.address);
 * equal(mapped.port, client.address.port);
 * ```
 */
export class StunClient implements AsyncDisposable {
  #sock: dgram.Socket;
  #opts: StunClientOptions;
  #pending = new Map<string, Pending>();
  #rto: RtoCache;
  #now: () => number;
  #closed = false;
  /** Receives datagrams that are not responses to our requests (indications, ChannelData, ...). */
  onMessage: ((data: Uint8Array, from: TransportAddress) => void) | undefined;

  private constructor(sock: dgram.Socket, options: StunClientOptions) {
    this.#sock = sock;
    this.#opts = options;
    this.#rto = new RtoCache(options.rto ?? 500, 100);
    this.#now = options.now ?? (() => performance.now());
    sock.on("message", (buf: Uint8Array, rinfo: dgram.RemoteInfo) => {
      const from: TransportAddress = {
        family: rinfo.family === "IPv6" ? 6 : 4,
        address: rinfo.address,
        port: rinfo.port,
      };
      this.#receive(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), from);
    });
  }

  /**
   * Binds a UDP socket.
   *
   * @param options Local address, timers, credentials.
   * @returns The client.
   */
  static open(options: StunClientOptions = {}): Promise<StunClient> {
    const family = options.family ?? (options.hostname?.includes(":") ? 6 : 4);
    const sock = dgram.createSocket(family === 6 ? "udp6" : "udp4");
    return new Promise((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(options.port ?? 0, options.hostname ?? (family === 6 ? "::" : "0.0.0.0"), () => {
        sock.off("error", reject);
        sock.on("error", (e: Error) => log.warn("Socket error: {error}", { error: String(e) }));
        resolve(new StunClient(sock, options));
      });
    });
  }

  /** The local address the socket is bound to. */
  get address(): TransportAddress {
    const a = this.#sock.address();
    return { family: a.family === "IPv6" ? 6 : 4, address: a.address, port: a.port };
  }

  /**
   * Sends raw bytes (an indication or ChannelData) from this socket.
   *
   * @param data Bytes.
   * @param to Destination.
   */
  send(data: Uint8Array, to: TransportAddress): void {
    this.#sock.send(data, to.port, to.address);
  }

  /**
   * Runs a request transaction, answering 401/438 challenges when credentials are configured.
   *
   * @param server Server address.
   * @param request The request, or a function building it for a transaction ID (a fresh ID is
   *   used for each retry; XOR-encoded IPv6 attributes depend on it).
   * @returns The success or error response (error responses resolve; check `class`).
   * @throws {StunTransactionError} on timeout or integrity failure.
   */
  async request(
    server: TransportAddress,
    request: StunMessage | ((transactionId: Uint8Array) => StunMessage),
  ): Promise<StunMessage> {
    const creds = this.#opts.credentials;
    const software = this.#opts.software ?? "rtclite";
    let redirects = 0, serverErrors = 0;
    for (;;) {
      const transactionId = crypto.getRandomValues(new Uint8Array(12));
      const built = typeof request === "function" ? request(transactionId) : request;
      const base = { ...built, transactionId, attributes: [...built.attributes] };
      if (software && !getAttribute(base, StunAttr.SOFTWARE)) {
        base.attributes.push(textAttribute(StunAttr.SOFTWARE, software));
      }
      let message: StunMessage = base;
      let options: EncodeOptions = {};
      let verify = (_: StunMessage) => true;
      if (creds) {
        ({ message, options } = creds.sign(base));
        const signed = options.integrity ?? options.integritySha256;
        // §9.2.5: once credentials are sent, responses without valid integrity are discarded,
        // except 401/438 challenges and 400 answers that carry no integrity are handled below.
        if (signed) {
          verify = (m) => {
            const code = m.class === StunClass.ErrorResponse ? getErrorCode(m)?.code : undefined;
            if (code === 401 || code === 438) return true;
            return verifyIntegrity(m, signed) !== false;
          };
        }
      } else if (this.#opts.shortTerm) {
        const st = this.#opts.shortTerm;
        const key = shortTermKey(st.password);
        message.attributes.push(textAttribute(StunAttr.USERNAME, st.username));
        options = st.sha256 ? { integritySha256: key } : { integrity: key };
        verify = (m) =>
          verifyIntegrity(m, key) !== false ||
          (m.class === StunClass.ErrorResponse && !getAttribute(m, StunAttr.MESSAGE_INTEGRITY) &&
            !getAttribute(m, StunAttr.MESSAGE_INTEGRITY_SHA256));
      }
      if (this.#opts.fingerprint) options.fingerprint = true;
      const response = await this.#transact(server, encodeStun(message, options), verify);
      if (response.class === StunClass.ErrorResponse && creds?.onErrorResponse(response)) continue;
      if (response.class === StunClass.SuccessResponse) creds?.succeeded();
      // @implements RFC8489 §6.3.4 ¶6
      const code = response.class === StunClass.ErrorResponse
        ? getErrorCode(response)?.code ?? 0
        : 0;
      if (code >= 500 && code <= 599 && serverErrors++ < 4) continue;
      // @implements RFC8489 §10 ¶3, RFC8489 §14.8 ¶6-7
      const signed = options.integrity ?? options.integritySha256;
      const alternate =
        response.class === StunClass.ErrorResponse && getErrorCode(response)?.code === 300
          ? getAddress(response, StunAttr.ALTERNATE_SERVER)
          : undefined;
      if (alternate && signed && verifyIntegrity(response, signed) && redirects++ < 2) {
        log.debug("Redirected to {server}", { server: `${alternate.address}:${alternate.port}` });
        server = alternate;
        continue;
      }
      return response;
    }
  }

  /**
   * Sends a Binding request and returns the mapped address (XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS
   * from an old server).
   *
   * @param server Server address.
   * @returns The server-reflexive transport address.
   * @throws {StunTransactionError} on timeout or an error response.
   */
  // @implements RFC8489 §6.3.3 ¶3
  async binding(server: TransportAddress): Promise<TransportAddress> {
    const res = await this.request(server, createMessage(StunMethod.Binding, StunClass.Request));
    if (res.class === StunClass.ErrorResponse) {
      const e = getErrorCode(res);
      throw new StunTransactionError(
        `Binding failed: ${e?.code} ${e?.reason}`,
        "error-response",
        res,
      );
    }
    const addr = getAddress(res, StunAttr.XOR_MAPPED_ADDRESS) ??
      getAddress(res, StunAttr.MAPPED_ADDRESS);
    if (!addr) {
      throw new StunTransactionError(
        "Binding response has no mapped address",
        "error-response",
        res,
      );
    }
    return addr;
  }

  #transact(
    server: TransportAddress,
    bytes: Uint8Array,
    verify: (m: StunMessage) => boolean,
  ): Promise<StunMessage> {
    if (this.#closed) return Promise.reject(new StunTransactionError("Client is closed", "closed"));
    const key = `${server.address}|${server.port}`;
    const tx = new StunClientTransaction(bytes, this.#now(), {
      ...this.#opts,
      rto: this.#rto.get(key, this.#now()),
    });
    const id = hexId(tx.transactionId);
    return new Promise<StunMessage>((resolve, reject) => {
      const p: Pending = { tx, server, sawDiscarded: false, resolve, reject, verify };
      this.#pending.set(id, p);
      const arm = () => {
        const d = tx.deadline;
        if (d === undefined) return;
        p.timer = setTimeout(() => {
          const again = tx.onTimeout(this.#now());
          if (again) this.send(again, server);
          if (tx.state === "timeout") {
            this.#pending.delete(id);
            reject(
              p.sawDiscarded
                ? new StunTransactionError("Responses failed the integrity check", "integrity")
                : new StunTransactionError(
                  `No response from ${server.address}:${server.port}`,
                  "timeout",
                ),
            );
          } else arm();
        }, Math.max(0, d - this.#now()));
      };
      this.send(bytes, server);
      arm();
    });
  }

  #receive(data: Uint8Array, from: TransportAddress): void {
    let msg: StunMessage | undefined;
    if (data.length >= HEADER && (data[0]! & 0xc0) === 0) {
      try {
        msg = decodeStun(data, { classic: true });
      } catch {
        msg = undefined;
      }
    }
    if (msg && (msg.class === StunClass.SuccessResponse || msg.class === StunClass.ErrorResponse)) {
      const id = hexId(msg.transactionId.subarray(msg.transactionId.length - 12));
      const p = this.#pending.get(id);
      if (!p) return; // not in progress: discard (§6.3)
      if (!p.verify(msg)) {
        p.sawDiscarded = true; // §9.2.5: discard, keep retransmitting
        return;
      }
      const rtt = p.tx.complete(this.#now());
      if (rtt !== undefined) {
        this.#rto.sample(`${p.server.address}|${p.server.port}`, rtt, this.#now());
      }
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.resolve(msg);
      return;
    }
    this.onMessage?.(data, from);
  }

  /** Closes the socket and fails pending transactions. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new StunTransactionError("Client closed", "closed"));
    }
    this.#pending.clear();
    return new Promise((resolve) => this.#sock.close(() => resolve()));
  }

  /** Same as {@linkcode StunClient.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function hexId(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += (x < 16 ? "0" : "") + x.toString(16);
  return s;
}

/** A running UDP server from {@linkcode serveStunUdp}. */
export interface UdpServer extends AsyncDisposable {
  /** The bound address. */
  readonly address: TransportAddress;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Serves a {@linkcode StunServer} on a UDP socket.
 *
 * @param server The sans-I/O server.
 * @param options Address to bind (default 0.0.0.0:3478).
 * @returns The running server.
 * @example
 * ```ts
 * import { serveStunUdp, StunServer } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * await using udp = await serveStunUdp(new StunServer(), { hostname: "127.0.0.1", port: 0 });
 * equal(udp.address.address, "127.0.0.1");
 * ```
 */
export function serveStunUdp(
  server: StunServer,
  options: { hostname?: string; port?: number } = {},
): Promise<UdpServer> {
  const hostname = options.hostname ?? "0.0.0.0";
  const sock = dgram.createSocket(hostname.includes(":") ? "udp6" : "udp4");
  sock.on("message", (buf: Uint8Array, rinfo: dgram.RemoteInfo) => {
    const from: TransportAddress = {
      family: rinfo.family === "IPv6" ? 6 : 4,
      address: rinfo.address,
      port: rinfo.port,
    };
    const reply = server.handle(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), from);
    if (reply) sock.send(reply, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(options.port ?? 3478, hostname, () => {
      sock.off("error", reject);
      sock.on("error", (e: Error) => log.warn("Socket error: {error}", { error: String(e) }));
      const a = sock.address();
      let closed: Promise<void> | undefined;
      const close = () => closed ??= new Promise<void>((r) => sock.close(() => r()));
      resolve({
        address: { family: a.family === "IPv6" ? 6 : 4, address: a.address, port: a.port },
        close,
        [Symbol.asyncDispose]: close,
      });
    });
  });
}

// === Command line ===

/** Parses `stun:host[:port]` or a plain `host[:port]` into host and port. */
function parseServer(text: string): { host: string; port: number } {
  return serverArgument(text, /^stuns?:/i, (t) => {
    const uri = parseStunUri(t);
    return { host: uri.host, port: stunUriPort(uri) };
  }, STUN_PORT);
}

async function main(argv: string[]): Promise<number> {
  const { level, args } = parseVerbosity(argv);
  await setupLogging(level === "info" ? "warning" : level);
  const opt = (name: string) => takeOption(args, name);
  const flag = (name: string) => takeFlag(args, name);
  const serve = opt("--serve");
  const user = opt("-u"), pass = opt("-p"), realm = opt("--realm");
  const sha256 = flag("--sha256"), shortTerm = flag("--short-term");
  if (serve !== undefined) {
    const { host, port } = parseServer(serve);
    const auth: StunServerOptions["auth"] = user && pass
      ? shortTerm ? { mechanism: "short-term", password: (u) => u === user ? pass : undefined } : {
        mechanism: "long-term",
        realm: realm ?? "rtclite",
        password: (u) => u === user ? pass : undefined,
      }
      : undefined;
    const server = new StunServer({ software: "rtclite", ...(auth ? { auth } : {}) });
    const udp = await serveStunUdp(server, { hostname: host, port });
    console.log(`STUN server on ${udp.address.address}:${udp.address.port}`);
    await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
    await udp.close();
    return 0;
  }
  if (args.length !== 1) {
    console.error(
      "Usage: rfc5389.ts [-v|-q] [-u user -p pass [--short-term] [--sha256]] stun:host[:port]\n" +
        "       rfc5389.ts [-u user -p pass [--realm r]] --serve host:port",
    );
    return 2;
  }
  const { host, port } = parseServer(args[0]!);
  const family = host.includes(":") ? 6 : 4;
  const client = await StunClient.open({
    family,
    rc: 4,
    ...(user && pass
      ? shortTerm
        ? { shortTerm: { username: user, password: pass, sha256 } }
        : { credentials: new LongTermCredentials({ username: user, password: pass, sha256 }) }
      : {}),
  });
  try {
    const mapped = await client.binding({ family, address: host, port });
    console.log(
      mapped.family === 6
        ? `[${mapped.address}]:${mapped.port}`
        : `${mapped.address}:${mapped.port}`,
    );
    return 0;
  } catch (e) {
    console.error(String(e instanceof Error ? e.message : e));
    return 1;
  } finally {
    await client.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
