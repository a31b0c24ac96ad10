// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * Redundant audio data in RTP: encode and decode RFC 2198 payloads, and a sender that keeps the
 * last frames to repeat them (RFC 2198).
 *
 * A redundant payload carries older encodings (each with its payload type, timestamp offset
 * and length in a 4-byte header) followed by the primary encoding (a 1-byte header). The RTP
 * header's timestamp and sequence number belong to the primary.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc2198 | RFC 2198}.
 *
 * @example Two frames, the older one repeated
 * ```ts
 * import { decodeRed, encodeRed } from "@rtclite/std/ietf/rfc2198";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const payload = encodeRed({
 *   redundant: [{ payloadType: 0, timestampOffset: 160, payload: new Uint8Array([1, 2]) }],
 *   primary: { payloadType: 0, payload: new Uint8Array([3, 4]) },
 * });
 * equal(payload.length, 4 + 1 + 2 + 2);
 * const red = decodeRed(payload);
 * deepEqual(red.primary.payload, new Uint8Array([3, 4]));
 * equal(red.redundant[0]!.timestampOffset, 160);
 * ```
 *
 * @module
 */
// @implements RFC2198 (redundant audio)

import { ParseError } from "../errors.ts";

export { ParseError };

/** A redundant payload that cannot be decoded. */
export class RedParseError extends ParseError {}

/** An older encoding carried as redundancy. */
export interface RedundantBlock {
  /** Payload type of the block (0-127). */
  payloadType: number;
  /** How much earlier than the primary, in timestamp units (0-16383). */
  timestampOffset: number;
  /** The block's payload (at most 1023 bytes). */
  payload: Uint8Array;
}

/** The primary encoding. */
export interface PrimaryBlock {
  /** Payload type (0-127). */
  payloadType: number;
  /** Payload. */
  payload: Uint8Array;
}

/** A decoded redundant payload. */
export interface RedPayload {
  /** Redundant blocks, oldest first as sent. */
  redundant: RedundantBlock[];
  /** The primary block. */
  primary: PrimaryBlock;
}

/*
 *  0                   1                    2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3  4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |F|   block PT  |  timestamp offset         |   block length    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

/**
 * Decodes an RFC 2198 payload. Block payloads are views into `payload`.
 *
 * @param payload The RTP payload of a `red` packet.
 * @returns The redundant blocks and the primary.
 * @throws {RedParseError} For truncated headers or blocks longer than the payload.
 * @see {@link https://www.rfc-editor.org/rfc/rfc2198#section-3 | RFC 2198 §3}
 *
 * @example
 * ```ts
 * import { decodeRed } from "@rtclite/std/ietf/rfc2198";
 * import { equal, throws } from "node:assert/strict";
 *
 * equal(decodeRed(new Uint8Array([0x05, 9])).primary.payloadType, 5);
 * throws(() => decodeRed(new Uint8Array([0x87, 0, 0x04])), /truncated/);
 * ```
 */
// @implements RFC2198 §3
export function decodeRed(payload: Uint8Array): RedPayload {
  const heads: { payloadType: number; timestampOffset: number; length: number }[] = [];
  let o = 0;
  for (;;) {
    if (o >= payload.length) {
      throw new RedParseError("Cannot decode RFC 2198 payload: headers truncated", o);
    }
    const b0 = payload[o]!;
    if (b0 & 0x80) {
      if (o + 4 > payload.length) {
        throw new RedParseError("Cannot decode RFC 2198 payload: header truncated", o);
      }
      const b1 = payload[o + 1]!, b2 = payload[o + 2]!, b3 = payload[o + 3]!;
      heads.push({
        payloadType: b0 & 0x7f,
        timestampOffset: (b1 << 6) | (b2 >> 2),
        length: ((b2 & 3) << 8) | b3,
      });
      o += 4;
    } else {
      o += 1;
      break;
    }
  }
  const primaryType = payload[o - 1]! & 0x7f;
  const redundant: RedundantBlock[] = [];
  for (const h of heads) {
    if (o + h.length > payload.length) {
      throw new RedParseError(
        `Cannot decode RFC 2198 payload: a ${h.length}-byte block exceeds the ${payload.length}-byte payload`,
        o,
      );
    }
    redundant.push({
      payloadType: h.payloadType,
      timestampOffset: h.timestampOffset,
      payload: payload.subarray(o, o + h.length),
    });
    o += h.length;
  }
  return { redundant, primary: { payloadType: primaryType, payload: payload.subarray(o) } };
}

/**
 * Encodes an RFC 2198 payload.
 *
 * @param red Redundant blocks (oldest first) and the primary.
 * @returns The payload.
 * @throws {RangeError} When an offset, length or payload type does not fit its field.
 * @see {@link https://www.rfc-editor.org/rfc/rfc2198#section-3 | RFC 2198 §3}
 *
 * @example
 * ```ts
 * import { encodeRed } from "@rtclite/std/ietf/rfc2198";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(encodeRed({ redundant: [], primary: { payloadType: 0, payload: new Uint8Array([7]) } }),
 *   new Uint8Array([0, 7]));
 * ```
 */
export function encodeRed(red: RedPayload): Uint8Array {
  let size = 1 + red.primary.payload.length;
  for (const b of red.redundant) {
    if (b.timestampOffset < 0 || b.timestampOffset > 0x3fff) {
      throw new RangeError(
        `Cannot encode RFC 2198 block: timestamp offset ${b.timestampOffset} exceeds 14 bits`,
      );
    }
    if (b.payload.length > 0x3ff) {
      throw new RangeError(
        `Cannot encode RFC 2198 block: ${b.payload.length} bytes exceed 10 bits`,
      );
    }
    if (b.payloadType < 0 || b.payloadType > 127) {
      throw new RangeError("Cannot encode RFC 2198 block: bad payload type");
    }
    size += 4 + b.payload.length;
  }
  if (red.primary.payloadType < 0 || red.primary.payloadType > 127) {
    throw new RangeError("Cannot encode RFC 2198 primary: bad payload type");
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const b of red.redundant) {
    out[o] = 0x80 | b.payloadType;
    out[o + 1] = b.timestampOffset >> 6;
    out[o + 2] = ((b.timestampOffset & 0x3f) << 2) | (b.payload.length >> 8);
    out[o + 3] = b.payload.length & 0xff;
    o += 4;
  }
  out[o++] = red.primary.payloadType;
  for (const b of red.redundant) {
    out.set(b.payload, o);
    o += b.payload.length;
  }
  out.set(red.primary.payload, o);
  return out;
}

/**
 * Keeps the last `depth` frames and builds each outgoing payload with them as redundancy
 * (frames too old for the 14-bit offset are left out).
 *
 * @example
 * ```ts
 * import { decodeRed, RedundancyEncoder } from "@rtclite/std/ietf/rfc2198";
 * import { equal } from "node:assert/strict";
 *
 * const enc = new RedundancyEncoder(1);
 * enc.encode(0, 1000, new Uint8Array([1]));
 * const red = decodeRed(enc.encode(0, 1160, new Uint8Array([2])));
 * equal(red.redundant[0]!.payload[0], 1);
 * equal(red.redundant[0]!.timestampOffset, 160);
 * ```
 */
export class RedundancyEncoder {
  #depth: number;
  #history: { payloadType: number; timestamp: number; payload: Uint8Array }[] = [];

  /**
   * Creates an encoder.
   *
   * @param depth Number of earlier frames to repeat (default 1).
   */
  constructor(depth = 1) {
    this.#depth = depth;
  }

  /**
   * Builds the payload for a new primary frame.
   *
   * @param payloadType Primary payload type.
   * @param timestamp Primary RTP timestamp.
   * @param payload Primary payload.
   * @returns The RFC 2198 payload.
   */
  encode(payloadType: number, timestamp: number, payload: Uint8Array): Uint8Array {
    const redundant: RedundantBlock[] = [];
    for (const h of this.#history) {
      const off = (timestamp - h.timestamp) >>> 0;
      if (off <= 0x3fff && h.payload.length <= 0x3ff) {
        redundant.push({ payloadType: h.payloadType, timestampOffset: off, payload: h.payload });
      }
    }
    this.#history.push({ payloadType, timestamp, payload });
    if (this.#history.length > this.#depth) this.#history.shift();
    return encodeRed({ redundant, primary: { payloadType, payload } });
  }
}
