// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * RTP data packets (RFC 3550 §5): the fixed header, CSRCs, the header extension and padding,
 * with the codec quartet {@linkcode decodeRtp}, {@linkcode encodeRtp},
 * {@linkcode encodeRtpInto} and {@linkcode encodedRtpLength}. Re-exported by
 * `@rtclite/std/ietf/rfc3550`.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc3550#section-5 | RFC 3550 §5}.
 *
 * @example Round-trip an RTP packet
 * ```ts
 * import { decodeRtp, encodeRtp } from "@rtclite/std/ietf/rfc3550/rtp";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const bytes = encodeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 0x1234,
 *   marker: true, csrcs: [], padding: 0, payload: new Uint8Array([0xff, 0x7f]) });
 * equal(bytes.length, 14);
 * deepEqual(decodeRtp(bytes).payload, new Uint8Array([0xff, 0x7f]));
 * ```
 *
 * @module
 */

import { BytePool } from "../../bytes.ts";
import { ParseError } from "../../errors.ts";

export { ParseError };

/** A packet that is not a valid RTP packet. */
export class RtpParseError extends ParseError {}

// === RTP fixed header (RFC 3550 §5.1) ===

/** RTP header extension (RFC 3550 §5.3.1). */
export interface RtpExtension {
  /** The 16-bit profile-defined identifier, e.g. 0xBEDE for RFC 8285 one-byte headers. */
  profile: number;
  /** Extension data, a multiple of 4 bytes. */
  data: Uint8Array;
}

/** An RTP data packet. */
export interface RtpPacket {
  /** Marker bit. */
  marker: boolean;
  /** Payload type, 0-127. */
  payloadType: number;
  /** 16-bit sequence number. */
  sequenceNumber: number;
  /** 32-bit timestamp. */
  timestamp: number;
  /** Synchronization source. */
  ssrc: number;
  /** Contributing sources (0-15). */
  csrcs: number[];
  /** Header extension, if the X bit is set. */
  extension?: RtpExtension;
  /** Number of padding bytes (including the count byte); 0 for no padding. */
  padding: number;
  /** The payload; a view into the decoded buffer. */
  payload: Uint8Array;
}

const RTP_VERSION = 2;
const FIXED_HEADER = 12;

/*
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

/**
 * Decodes an RTP packet. The payload, extension data and nothing else are views into `buf`.
 *
 * @param buf The UDP payload.
 * @returns The packet.
 * @throws {RtpParseError} For a truncated packet, a wrong version or bad padding.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3550#section-5.1 | RFC 3550 §5.1}
 *
 * @example
 * ```ts
 * import { decodeRtp } from "@rtclite/std/ietf/rfc3550";
 * import { equal, throws } from "node:assert/strict";
 *
 * const p = decodeRtp(new Uint8Array([0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0, 42, 0xff]));
 * equal(p.ssrc, 42);
 * equal(p.payload.length, 1);
 * throws(() => decodeRtp(new Uint8Array(8)), /buffer has 8 bytes, expected at least 12/);
 * ```
 */
// @implements RFC3550 §5.1
export function decodeRtp(buf: Uint8Array): RtpPacket {
  const n = buf.length;
  if (n < FIXED_HEADER) {
    throw new RtpParseError(
      `Cannot decode RTP header: buffer has ${n} bytes, expected at least 12`,
      0,
    );
  }
  const b0 = buf[0]!;
  if (b0 >> 6 !== RTP_VERSION) {
    throw new RtpParseError(`Cannot decode RTP header: version is ${b0 >> 6}, expected 2`, 0);
  }
  const b1 = buf[1]!;
  const cc = b0 & 0x0f;
  let offset = FIXED_HEADER + cc * 4;
  if (n < offset) {
    throw new RtpParseError(
      `Cannot decode RTP header: buffer has ${n} bytes, ${cc} CSRCs need ${offset}`,
      FIXED_HEADER,
    );
  }
  const csrcs: number[] = [];
  for (let i = FIXED_HEADER; i < offset; i += 4) csrcs.push(u32(buf, i));
  let extension: RtpExtension | undefined;
  // @implements RFC3550 §5.3.1
  if (b0 & 0x10) {
    if (n < offset + 4) {
      throw new RtpParseError(
        "Cannot decode RTP header extension: truncated extension header",
        offset,
      );
    }
    const words = (buf[offset + 2]! << 8) | buf[offset + 3]!;
    const end = offset + 4 + words * 4;
    if (n < end) {
      throw new RtpParseError(
        `Cannot decode RTP header extension: it needs ${end} bytes, buffer has ${n}`,
        offset,
      );
    }
    extension = {
      profile: (buf[offset]! << 8) | buf[offset + 1]!,
      data: buf.subarray(offset + 4, end),
    };
    offset = end;
  }
  let padding = 0;
  // @implements RFC3550 §5.1 ¶3
  if (b0 & 0x20) {
    padding = buf[n - 1]!;
    if (padding === 0 || offset + padding > n) {
      throw new RtpParseError(
        `Cannot decode RTP padding: ${padding} padding bytes do not fit after a ${offset}-byte header in ${n} bytes`,
        n - 1,
      );
    }
  }
  const p: RtpPacket = {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: (buf[2]! << 8) | buf[3]!,
    timestamp: u32(buf, 4),
    ssrc: u32(buf, 8),
    csrcs,
    padding,
    payload: buf.subarray(offset, n - padding),
  };
  if (extension) p.extension = extension;
  return p;
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

/**
 * Returns the encoded size of an RTP packet.
 *
 * @param p The packet.
 * @returns Bytes needed by {@linkcode encodeRtpInto}.
 *
 * @example
 * ```ts
 * import { encodedRtpLength } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * equal(encodedRtpLength({ marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0,
 *   csrcs: [1], padding: 4, payload: new Uint8Array(160) }), 180);
 * ```
 */
export function encodedRtpLength(p: RtpPacket): number {
  return FIXED_HEADER + p.csrcs.length * 4 + (p.extension ? 4 + p.extension.data.length : 0) +
    p.payload.length + p.padding;
}

/**
 * Encodes an RTP packet into `buf` at `offset`.
 *
 * @param p The packet.
 * @param buf Destination with room for {@linkcode encodedRtpLength} bytes.
 * @param offset Where to start writing.
 * @returns The number of bytes written.
 * @throws {RangeError} For out-of-range fields or a too small buffer.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3550#section-5.1 | RFC 3550 §5.1}
 *
 * @example
 * ```ts
 * import { encodeRtpInto } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * const buf = new Uint8Array(1500);
 * const n = encodeRtpInto({ marker: false, payloadType: 8, sequenceNumber: 7, timestamp: 0, ssrc: 1,
 *   csrcs: [], padding: 0, payload: new Uint8Array(160) }, buf, 0);
 * equal(n, 172);
 * equal(buf[1], 8);
 * ```
 */
export function encodeRtpInto(p: RtpPacket, buf: Uint8Array, offset = 0): number {
  const cc = p.csrcs.length;
  if (cc > 15) throw new RangeError(`Cannot encode RTP packet: ${cc} CSRCs, at most 15`);
  if (p.payloadType > 127 || p.payloadType < 0) {
    throw new RangeError(`Cannot encode RTP packet: payload type ${p.payloadType} is not 0-127`);
  }
  if (p.padding < 0 || p.padding > 255) {
    throw new RangeError(`Cannot encode RTP packet: padding ${p.padding} is not 0-255`);
  }
  const ext = p.extension;
  if (ext && ext.data.length % 4 !== 0) {
    throw new RangeError(
      `Cannot encode RTP header extension: ${ext.data.length} bytes is not a multiple of 4`,
    );
  }
  const len = encodedRtpLength(p);
  if (buf.length - offset < len) {
    throw new RangeError(
      `Cannot encode RTP packet: needs ${len} bytes, ${buf.length - offset} left`,
    );
  }
  buf[offset] = 0x80 | (p.padding ? 0x20 : 0) | (ext ? 0x10 : 0) | cc;
  buf[offset + 1] = (p.marker ? 0x80 : 0) | p.payloadType;
  buf[offset + 2] = p.sequenceNumber >>> 8;
  buf[offset + 3] = p.sequenceNumber;
  put32(buf, offset + 4, p.timestamp);
  put32(buf, offset + 8, p.ssrc);
  let o = offset + FIXED_HEADER;
  for (let i = 0; i < cc; i++, o += 4) put32(buf, o, p.csrcs[i]!);
  if (ext) {
    buf[o] = ext.profile >>> 8;
    buf[o + 1] = ext.profile;
    const words = ext.data.length / 4;
    buf[o + 2] = words >>> 8;
    buf[o + 3] = words;
    buf.set(ext.data, o + 4);
    o += 4 + ext.data.length;
  }
  buf.set(p.payload, o);
  o += p.payload.length;
  if (p.padding) {
    buf.fill(0, o, o + p.padding - 1);
    buf[o + p.padding - 1] = p.padding;
    o += p.padding;
  }
  return o - offset;
}

// Packets up to a typical MTU are cut from shared slabs: a fresh ArrayBuffer per packet costs
// more than encoding it.
const pool = new BytePool(16384, 1500);

/**
 * Encodes an RTP packet into new bytes: a view cut from a shared pool for packets up to 1500
 * bytes (its `buffer` is shared; use `byteOffset`/`subarray`), its own buffer above. To write
 * into a buffer of your own, use {@linkcode encodeRtpInto}.
 *
 * @param p The packet.
 * @returns The bytes.
 * @throws {RangeError} For out-of-range fields.
 *
 * @example
 * ```ts
 * import { encodeRtp } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * const b = encodeRtp({ marker: false, payloadType: 0, sequenceNumber: 0x1234, timestamp: 1, ssrc: 2,
 *   csrcs: [], padding: 0, payload: new Uint8Array(0) });
 * equal(b[2], 0x12);
 * ```
 */
export function encodeRtp(p: RtpPacket): Uint8Array {
  const buf = pool.alloc(encodedRtpLength(p));
  encodeRtpInto(p, buf, 0);
  return buf;
}
