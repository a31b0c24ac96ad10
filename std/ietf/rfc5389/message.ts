// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The STUN message (RFC 5389 as revised by RFC 8489): the header, the codec, and the security
 * attributes the codec appends and checks: MESSAGE-INTEGRITY (HMAC-SHA1),
 * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (CRC-32).
 *
 * A message is a list of raw attributes ({@linkcode StunMessage}); the typed attribute codecs are
 * in `attributes.ts`. Re-exported by `@rtclite/std/ietf/rfc5389`.
 *
 * @example Encode with integrity and a fingerprint, decode, verify
 * ```ts
 * import { createMessage, decodeStun, encodeStun, verifyIntegrity } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 *
 * const key = new TextEncoder().encode("secret");
 * const bytes = encodeStun(createMessage(1, 0), { integrity: key, fingerprint: true });
 * equal(verifyIntegrity(decodeStun(bytes), key), "sha1");
 * ```
 *
 * @module
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { BytePool, timingSafeEqual } from "../../bytes.ts";
import { ParseError } from "../../errors.ts";
export { ParseError };

// === Constants (RFC 8489 §5, §18; RFC 5389 §6, §18) ===

/** The fixed magic cookie 0x2112A442 in every RFC 5389/8489 message header. */
export const MAGIC_COOKIE = 0x2112a442;
const HEADER = 20;

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

// === Message header (RFC 8489 §5; RFC 5389 §6) ===

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
// @implements RFC8489 §5 ¶10-11 (RFC 5389 §6)
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
// @implements RFC8489 §5 ¶5, §5 ¶13, §5 ¶15 (RFC 5389 §6)
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
 * Decodes a STUN message. Checks the header (RFC 8489 §6.3, RFC 5389 §7.3: top bits, magic cookie, length), the
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
// @implements RFC8489 §6.3 (RFC 5389 §7.3)
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
      // @implements RFC8489 §14.7 ¶2-3 (RFC 5389 §15.5)
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
      // @implements RFC8489 §9 ¶3 (RFC 5389 §15.4)
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
 * import { createMessage, encodedStunLength, StunClass } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(encodedStunLength(createMessage(1, StunClass.Request), { fingerprint: true }), 28);
 * ```
 */
export function encodedStunLength(msg: StunMessage, options: EncodeOptions = {}): number {
  let n = HEADER;
  for (const a of msg.attributes) n += 4 + pad4(a.value.length);
  if (options.integrity) n += 24;
  if (options.integritySha256) n += 4 + (options.sha256Length ?? 32);
  if (options.fingerprint) n += 8;
  return n;
}

/**
 * Encodes a message into `buf` at `offset` (which must have {@linkcode encodedStunLength} bytes
 * free).
 *
 * @param msg The message.
 * @param buf Destination.
 * @param offset Where the message starts.
 * @param options Security attributes to append and padding.
 * @returns Number of bytes written.
 * @example
 * ```ts
 * import { createMessage, encodeStunInto, StunClass } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const buf = new Uint8Array(64);
 * equal(encodeStunInto(createMessage(1, StunClass.Request), buf, 4), 20);
 * equal(buf[8], 0x21);
 * ```
 */
export function encodeStunInto(
  msg: StunMessage,
  buf: Uint8Array,
  offset = 0,
  options: EncodeOptions = {},
): number {
  const total = encodedStunLength(msg, options);
  if (total - HEADER > 0xffff) throw new RangeError(`STUN message too long: ${total} bytes`);
  if (offset + total > buf.length) {
    throw new RangeError(
      `Cannot encode STUN message: needs ${total} bytes at ${offset}, buffer has ${buf.length}`,
    );
  }
  const out = buf;
  const type = messageType(msg.method, msg.class);
  out[offset] = type >> 8;
  out[offset + 1] = type & 0xff;
  const tid = msg.transactionId;
  if (tid.length === 12) {
    out[offset + 4] = 0x21, out[offset + 5] = 0x12, out[offset + 6] = 0xa4;
    out[offset + 7] = 0x42;
    out.set(tid, offset + 8);
  } else if (tid.length === 16) out.set(tid, offset + 4);
  else throw new RangeError(`Invalid STUN transaction ID: ${tid.length} bytes, expected 12 or 16`);
  const padding = options.padding ?? 0;
  let off = offset + HEADER;
  for (const a of msg.attributes) off = putAttribute(out, off, a.type, a.value, padding);
  // @implements RFC8489 §14.5 ¶3-4 (RFC 5389 §15.4)
  if (options.integrity) {
    setLength(out, offset, off + 24);
    off = putHeader(out, off, StunAttr.MESSAGE_INTEGRITY, 20);
    keyedHmac(sha1, options.integrity).update(out.subarray(offset, off - 4)).digestInto(mac);
    out.set(mac.subarray(0, 20), off);
    off += 20;
  }
  // @implements RFC8489 §14.6 ¶1, §14.6 ¶3-4 (new in RFC 8489)
  if (options.integritySha256) {
    const n = options.sha256Length ?? 32;
    if (n < 16 || n > 32 || n & 3) {
      throw new RangeError(`Invalid MESSAGE-INTEGRITY-SHA256 length: ${n}`);
    }
    setLength(out, offset, off + 4 + n);
    off = putHeader(out, off, StunAttr.MESSAGE_INTEGRITY_SHA256, n);
    keyedHmac(sha256, options.integritySha256).update(out.subarray(offset, off - 4))
      .digestInto(mac);
    out.set(mac.subarray(0, n), off);
    off += n;
  }
  // @implements RFC8489 §14.7 ¶5 (RFC 5389 §15.5)
  if (options.fingerprint) {
    setLength(out, offset, off + 8);
    const crc = (crc32(out.subarray(offset, off)) ^ 0x5354554e) >>> 0;
    off = putHeader(out, off, StunAttr.FINGERPRINT, 4);
    out[off] = crc >>> 24, out[off + 1] = crc >>> 16, out[off + 2] = crc >>> 8, out[off + 3] = crc;
    off += 4;
  }
  setLength(out, offset, off);
  return total;
}

function putHeader(out: Uint8Array, off: number, type: number, length: number): number {
  out[off] = type >> 8, out[off + 1] = type & 0xff;
  out[off + 2] = length >> 8, out[off + 3] = length & 0xff;
  return off + 4;
}

function putAttribute(
  out: Uint8Array,
  off: number,
  type: number,
  value: Uint8Array,
  padding: number,
): number {
  if (value.length > 0xffff) throw new RangeError(`STUN attribute too long: ${value.length} bytes`);
  off = putHeader(out, off, type, value.length);
  out.set(value, off);
  const end = off + pad4(value.length);
  for (off += value.length; off < end; off++) out[off] = padding;
  return end;
}

// The message length field, counting from the end of the header at `start` to `end`.
function setLength(out: Uint8Array, start: number, end: number): void {
  const len = end - start - HEADER;
  out[start + 2] = len >> 8;
  out[start + 3] = len & 0xff;
}

// HMACs keyed once per key and hash (keys are long-lived: a long-term or short-term credential);
// each message copies the keyed state into one working instance (noble's `_cloneInto`, which
// reuses the target's buffers) and the MAC is written into one scratch array.
interface KeyedHmac {
  _cloneInto(to?: KeyedHmac): KeyedHmac;
  update(data: Uint8Array): KeyedHmac;
  digestInto(out: Uint8Array): void;
}
interface Keyed {
  /** The key as it was when keyed (a key array changed in place must not reuse the state). */
  key: Uint8Array;
  base: KeyedHmac;
  work: KeyedHmac;
}
const keyedSha1 = new WeakMap<Uint8Array, Keyed>();
const keyedSha256 = new WeakMap<Uint8Array, Keyed>();
const mac = new Uint8Array(32);

function keyedHmac(hash: typeof sha1 | typeof sha256, key: Uint8Array): KeyedHmac {
  const cache = hash === sha1 ? keyedSha1 : keyedSha256;
  let k = cache.get(key);
  if (!k || !sameBytes(k.key, key)) {
    const base = hmac.create(hash, key) as unknown as KeyedHmac;
    k = { key: key.slice(), base, work: base._cloneInto() };
    cache.set(key, k);
  }
  return k.base._cloneInto(k.work);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Messages up to 1 KiB (every ICE and TURN control message) are cut from a shared pool.
const pool = new BytePool(16384, 1024);

/**
 * Encodes a message, appending MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT as
 * asked (in that order, as RFC 8489 §14.7 requires).
 *
 * @param msg The message.
 * @param options Security attributes to append and padding.
 * @returns The encoded bytes: a view cut from a shared pool for messages up to 1 KiB (its
 * `buffer` is shared); {@linkcode encodeStunInto} writes into a buffer of your own.
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
  const buf = pool.alloc(encodedStunLength(msg, options));
  encodeStunInto(msg, buf, 0, options);
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
// @implements RFC8489 §5 ¶14 (RFC 5389 §6)
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

// === Message integrity and fingerprint (RFC 8489 §14.5-14.7; RFC 5389 §15.4, §15.5) ===

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
  return timingSafeEqual(h.digest().subarray(0, len), raw.subarray(off + 4, off + 4 + len));
}

/**
 * Checks the message integrity of a decoded message: MESSAGE-INTEGRITY-SHA256 when present, else
 * MESSAGE-INTEGRITY (RFC 8489 §9.1.3). The header length is adjusted as §14.5 and §14.6 describe
 * (RFC 5389 §15.4).
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
// @implements RFC8489 §14.5 ¶4 (RFC 5389 §15.4), RFC8489 §14.6 ¶4 (new in RFC 8489)
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
