// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * RTP and RTCP: packets, the participant's session state (SSRC choice, collision and loop
 * resolution, sequence validation, jitter, the RTCP transmission interval with
 * reconsideration, sender and receiver reports), and a UDP adapter (RFC 3550).
 *
 * The codec functions follow Pion's quartet: {@linkcode decodeRtp}, {@linkcode encodeRtp},
 * {@linkcode encodeRtpInto}, {@linkcode rtpEncodedLength}, and {@linkcode decodeRtcp} /
 * {@linkcode encodeRtcp} for compound RTCP packets. {@linkcode RtpSession} is sans-I/O: it takes
 * packets and the time from an injected clock and returns packets to send and the time of the
 * next RTCP transmission. {@linkcode RtpSocket} is the thin `node:dgram` adapter with an RTP
 * and an RTCP socket (port and port + 1).
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc3550 | RFC 3550}.
 *
 * Command line (prints RTCP statistics at the end):
 * - `deno run -A std/ietf/rfc3550.ts send HOST:PORT (FILE.wav|tone:HZ) [--pt 0|8] [--duration S] [--port LOCAL]`
 * - `deno run -A std/ietf/rfc3550.ts recv [HOST:]PORT OUT.wav [--duration S] [--pt 0|8]`
 *
 * @example Round-trip an RTP packet
 * ```ts
 * import { decodeRtp, encodeRtp } from "@rtclite/std/ietf/rfc3550";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const bytes = encodeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 0x1234,
 *   marker: true, csrcs: [], padding: 0, payload: new Uint8Array([0xff, 0x7f]) });
 * equal(bytes.length, 14);
 * const p = decodeRtp(bytes);
 * equal(p.marker, true);
 * deepEqual(p.payload, new Uint8Array([0xff, 0x7f]));
 * ```
 *
 * @module
 */
// @implements RFC3550 (RTP)

import dgram from "node:dgram";
import { ParseError } from "../errors.ts";
import { getLogger } from "../log.ts";

export { ParseError };

const log = getLogger("rtp");

/** A packet that is not a valid RTP packet. */
export class RtpParseError extends ParseError {}
/** A packet that is not a valid (compound) RTCP packet. */
export class RtcpParseError extends ParseError {}

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
 * import { rtpEncodedLength } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * equal(rtpEncodedLength({ marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0,
 *   csrcs: [1], padding: 4, payload: new Uint8Array(160) }), 180);
 * ```
 */
export function rtpEncodedLength(p: RtpPacket): number {
  return FIXED_HEADER + p.csrcs.length * 4 + (p.extension ? 4 + p.extension.data.length : 0) +
    p.payload.length + p.padding;
}

/**
 * Encodes an RTP packet into `buf` at `offset`.
 *
 * @param p The packet.
 * @param buf Destination with room for {@linkcode rtpEncodedLength} bytes.
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
  const len = rtpEncodedLength(p);
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

/**
 * Encodes an RTP packet into a new buffer.
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
  const buf = new Uint8Array(rtpEncodedLength(p));
  encodeRtpInto(p, buf, 0);
  return buf;
}

// === RTCP packets (RFC 3550 §6.4-§6.7) ===

/** RTCP packet types (RFC 3550 §12.1). */
export const RtcpType = { SR: 200, RR: 201, SDES: 202, BYE: 203, APP: 204 } as const;

/** SDES item types (RFC 3550 §12.2). */
export const SdesType = {
  CNAME: 1,
  NAME: 2,
  EMAIL: 3,
  PHONE: 4,
  LOC: 5,
  TOOL: 6,
  NOTE: 7,
  PRIV: 8,
} as const;

/** A reception report block (RFC 3550 §6.4.1). */
export interface ReportBlock {
  /** The source this block reports on. */
  ssrc: number;
  /** Fraction lost since the previous report, in 1/256 units (0-255). */
  fractionLost: number;
  /** Cumulative number of packets lost (signed 24-bit). */
  packetsLost: number;
  /** Extended highest sequence number received. */
  highestSequence: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR (LSR), 0 if none. */
  lastSenderReport: number;
  /** Delay since the last SR in 1/65536 seconds (DLSR). */
  delaySinceLastSenderReport: number;
}

/** Sender report. */
export interface SenderReport {
  /** Packet type. */
  type: "sr";
  /** Sender's SSRC. */
  ssrc: number;
  /** NTP timestamp, seconds part. */
  ntpSeconds: number;
  /** NTP timestamp, fraction part (1/2^32 s). */
  ntpFraction: number;
  /** RTP timestamp corresponding to the NTP time. */
  rtpTimestamp: number;
  /** Sender's packet count. */
  packetCount: number;
  /** Sender's payload octet count. */
  octetCount: number;
  /** Reception report blocks. */
  reports: ReportBlock[];
  /** Profile-specific extension bytes. */
  extension?: Uint8Array;
}

/** Receiver report. */
export interface ReceiverReport {
  /** Packet type. */
  type: "rr";
  /** Reporter's SSRC. */
  ssrc: number;
  /** Reception report blocks. */
  reports: ReportBlock[];
  /** Profile-specific extension bytes. */
  extension?: Uint8Array;
}

/** An SDES item; `prefix` only for PRIV items. */
export interface SdesItem {
  /** Item type (see {@linkcode SdesType}). */
  type: number;
  /** Text (UTF-8). */
  value: string;
  /** PRIV prefix string. */
  prefix?: string;
}

/** An SDES chunk: one source and its items. */
export interface SdesChunk {
  /** SSRC or CSRC. */
  ssrc: number;
  /** Items in order. */
  items: SdesItem[];
}

/** Source description packet. */
export interface SourceDescription {
  /** Packet type. */
  type: "sdes";
  /** Chunks. */
  chunks: SdesChunk[];
}

/** BYE packet. */
export interface Goodbye {
  /** Packet type. */
  type: "bye";
  /** Sources leaving. */
  sources: number[];
  /** Reason for leaving. */
  reason?: string;
}

/** Application-defined packet. */
export interface AppPacket {
  /** Packet type. */
  type: "app";
  /** 5-bit subtype. */
  subtype: number;
  /** Sender's SSRC. */
  ssrc: number;
  /** Four ASCII characters. */
  name: string;
  /** Application data, a multiple of 4 bytes. */
  data: Uint8Array;
}

/** An RTCP packet of a type this module does not interpret (kept whole). */
export interface UnknownRtcp {
  /** Marks unknown packets. */
  type: "unknown";
  /** Packet type number. */
  packetType: number;
  /** The 5-bit count/subtype field. */
  count: number;
  /** The body after the 4-byte header, padding removed. */
  body: Uint8Array;
}

/** Any RTCP packet. */
export type RtcpPacket =
  | SenderReport
  | ReceiverReport
  | SourceDescription
  | Goodbye
  | AppPacket
  | UnknownRtcp;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/**
 * Decodes a compound RTCP packet, applying the validity checks of RFC 3550 §A.2: version 2
 * everywhere, the first packet an SR or RR, padding only in the last packet, and lengths that
 * add up to the datagram size.
 *
 * @param buf The UDP payload.
 * @param options `compound: false` accepts a first packet other than SR/RR (RFC 5506).
 * @returns The packets in order.
 * @throws {RtcpParseError} When a check fails or a packet is truncated.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3550#section-6.1 | RFC 3550 §6.1}
 *
 * @example
 * ```ts
 * import { decodeRtcp, encodeRtcp } from "@rtclite/std/ietf/rfc3550";
 * import { equal, throws } from "node:assert/strict";
 *
 * const bytes = encodeRtcp([{ type: "rr", ssrc: 1, reports: [] },
 *   { type: "bye", sources: [1], reason: "done" }]);
 * const [rr, bye] = decodeRtcp(bytes);
 * equal(rr!.type, "rr");
 * equal(bye!.type === "bye" && bye!.reason, "done");
 * throws(() => decodeRtcp(bytes.subarray(0, 6)), /RtcpParseError|length/);
 * ```
 */
// @implements RFC3550 §A.2, RFC3550 §6.1
export function decodeRtcp(buf: Uint8Array, options: { compound?: boolean } = {}): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  let o = 0;
  const n = buf.length;
  if (n < 4) {
    throw new RtcpParseError(`Cannot decode RTCP: buffer has ${n} bytes, expected at least 4`, 0);
  }
  while (o < n) {
    if (n - o < 4) throw new RtcpParseError(`Cannot decode RTCP: ${n - o} trailing bytes`, o);
    const b0 = buf[o]!;
    if (b0 >> 6 !== 2) {
      throw new RtcpParseError(`Cannot decode RTCP: version is ${b0 >> 6}, expected 2`, o);
    }
    const pt = buf[o + 1]!;
    const count = b0 & 0x1f;
    const len = (((buf[o + 2]! << 8) | buf[o + 3]!) + 1) * 4;
    if (o + len > n) {
      throw new RtcpParseError(
        `Cannot decode RTCP: length field says ${len} bytes, ${n - o} remain`,
        o,
      );
    }
    if (
      out.length === 0 && (options.compound ?? true) && pt !== RtcpType.SR && pt !== RtcpType.RR
    ) {
      throw new RtcpParseError(
        `Cannot decode RTCP: compound packet starts with type ${pt}, expected SR or RR`,
        o,
      );
    }
    let end = o + len;
    if (b0 & 0x20) {
      if (end !== n) {
        throw new RtcpParseError("Cannot decode RTCP: padding before the last packet", o);
      }
      const pad = buf[end - 1]!;
      if (pad === 0 || pad > len - 4) {
        throw new RtcpParseError(
          `Cannot decode RTCP: padding of ${pad} bytes does not fit`,
          end - 1,
        );
      }
      end -= pad;
    }
    out.push(decodeOne(buf, o, end, pt, count));
    o += len;
  }
  return out;
}

function decodeReports(buf: Uint8Array, o: number, count: number, end: number): ReportBlock[] {
  if (o + count * 24 > end) {
    throw new RtcpParseError(`Cannot decode RTCP report blocks: ${count} blocks do not fit`, o);
  }
  const r: ReportBlock[] = [];
  for (let i = 0; i < count; i++, o += 24) {
    const lost = (buf[o + 5]! << 16) | (buf[o + 6]! << 8) | buf[o + 7]!;
    r.push({
      ssrc: u32(buf, o),
      fractionLost: buf[o + 4]!,
      packetsLost: lost & 0x800000 ? lost - 0x1000000 : lost,
      highestSequence: u32(buf, o + 8),
      jitter: u32(buf, o + 12),
      lastSenderReport: u32(buf, o + 16),
      delaySinceLastSenderReport: u32(buf, o + 20),
    });
  }
  return r;
}

function decodeOne(buf: Uint8Array, o: number, end: number, pt: number, count: number): RtcpPacket {
  const need = (bytes: number, what: string) => {
    if (end - o < bytes) {
      throw new RtcpParseError(
        `Cannot decode RTCP ${what}: ${end - o} bytes, expected at least ${bytes}`,
        o,
      );
    }
  };
  switch (pt) {
    // @implements RFC3550 §6.4.1
    case RtcpType.SR: {
      need(28 + count * 24, "SR");
      const p: SenderReport = {
        type: "sr",
        ssrc: u32(buf, o + 4),
        ntpSeconds: u32(buf, o + 8),
        ntpFraction: u32(buf, o + 12),
        rtpTimestamp: u32(buf, o + 16),
        packetCount: u32(buf, o + 20),
        octetCount: u32(buf, o + 24),
        reports: decodeReports(buf, o + 28, count, end),
      };
      if (o + 28 + count * 24 < end) p.extension = buf.subarray(o + 28 + count * 24, end);
      return p;
    }
    // @implements RFC3550 §6.4.2
    case RtcpType.RR: {
      need(8 + count * 24, "RR");
      const p: ReceiverReport = {
        type: "rr",
        ssrc: u32(buf, o + 4),
        reports: decodeReports(buf, o + 8, count, end),
      };
      if (o + 8 + count * 24 < end) p.extension = buf.subarray(o + 8 + count * 24, end);
      return p;
    }
    // @implements RFC3550 §6.5, RFC3550 §A.5
    case RtcpType.SDES: {
      const chunks: SdesChunk[] = [];
      let q = o + 4;
      for (let c = 0; c < count; c++) {
        if (q + 4 > end) throw new RtcpParseError("Cannot decode RTCP SDES: truncated chunk", q);
        const chunk: SdesChunk = { ssrc: u32(buf, q), items: [] };
        q += 4;
        for (;;) {
          if (q >= end) {
            throw new RtcpParseError("Cannot decode RTCP SDES: chunk not terminated", q);
          }
          const t = buf[q]!;
          if (t === 0) {
            q = (q + 4) & ~3; // skip the null item and pad to a 32-bit boundary
            break;
          }
          if (q + 2 > end || q + 2 + buf[q + 1]! > end) {
            throw new RtcpParseError("Cannot decode RTCP SDES: item exceeds the packet", q);
          }
          const l = buf[q + 1]!;
          const text = buf.subarray(q + 2, q + 2 + l);
          if (t === SdesType.PRIV) {
            const pl = text[0] ?? 0;
            if (pl + 1 > l) {
              throw new RtcpParseError("Cannot decode RTCP SDES PRIV: prefix too long", q);
            }
            chunk.items.push({
              type: t,
              prefix: utf8d.decode(text.subarray(1, 1 + pl)),
              value: utf8d.decode(text.subarray(1 + pl)),
            });
          } else chunk.items.push({ type: t, value: utf8d.decode(text) });
          q += 2 + l;
        }
        chunks.push(chunk);
      }
      return { type: "sdes", chunks };
    }
    // @implements RFC3550 §6.6
    case RtcpType.BYE: {
      need(4 + count * 4, "BYE");
      const sources: number[] = [];
      for (let i = 0; i < count; i++) sources.push(u32(buf, o + 4 + i * 4));
      const p: Goodbye = { type: "bye", sources };
      const r = o + 4 + count * 4;
      if (r < end) {
        const l = buf[r]!;
        if (r + 1 + l > end) {
          throw new RtcpParseError("Cannot decode RTCP BYE: reason exceeds the packet", r);
        }
        p.reason = utf8d.decode(buf.subarray(r + 1, r + 1 + l));
      }
      return p;
    }
    // @implements RFC3550 §6.7
    case RtcpType.APP: {
      need(12, "APP");
      return {
        type: "app",
        subtype: count,
        ssrc: u32(buf, o + 4),
        name: String.fromCharCode(buf[o + 8]!, buf[o + 9]!, buf[o + 10]!, buf[o + 11]!),
        data: buf.subarray(o + 12, end),
      };
    }
    default:
      return { type: "unknown", packetType: pt, count, body: buf.subarray(o + 4, end) };
  }
}

/**
 * Encodes RTCP packets as one compound packet.
 *
 * @param packets The packets (an SR or RR first for a valid compound packet).
 * @returns The bytes.
 * @throws {RangeError} For too many report blocks/sources or oversized items.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3550#section-6.1 | RFC 3550 §6.1}
 *
 * @example
 * ```ts
 * import { encodeRtcp } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * const b = encodeRtcp([{ type: "rr", ssrc: 0x01020304, reports: [] },
 *   { type: "sdes", chunks: [{ ssrc: 0x01020304, items: [{ type: 1, value: "a@h" }] }] }]);
 * equal(b.length, 8 + 16);
 * equal(b[9], 202);
 * ```
 */
export function encodeRtcp(packets: readonly RtcpPacket[]): Uint8Array {
  const parts = packets.map(encodeOne);
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function header(buf: Uint8Array, count: number, pt: number): Uint8Array {
  if (count > 31) {
    throw new RangeError(`Cannot encode RTCP packet type ${pt}: count ${count} exceeds 31`);
  }
  buf[0] = 0x80 | count;
  buf[1] = pt;
  const words = buf.length / 4 - 1;
  buf[2] = words >>> 8;
  buf[3] = words;
  return buf;
}

function encodeReports(buf: Uint8Array, o: number, reports: readonly ReportBlock[]): void {
  for (const r of reports) {
    put32(buf, o, r.ssrc);
    const lost = Math.max(-0x800000, Math.min(0x7fffff, r.packetsLost)) & 0xffffff;
    put32(buf, o + 4, ((r.fractionLost & 0xff) << 24) | lost);
    put32(buf, o + 8, r.highestSequence);
    put32(buf, o + 12, r.jitter);
    put32(buf, o + 16, r.lastSenderReport);
    put32(buf, o + 20, r.delaySinceLastSenderReport);
    o += 24;
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function encodeOne(p: RtcpPacket): Uint8Array {
  switch (p.type) {
    case "sr": {
      const ext = p.extension?.length ?? 0;
      const b = new Uint8Array(28 + p.reports.length * 24 + ext);
      put32(b, 4, p.ssrc);
      put32(b, 8, p.ntpSeconds);
      put32(b, 12, p.ntpFraction);
      put32(b, 16, p.rtpTimestamp);
      put32(b, 20, p.packetCount);
      put32(b, 24, p.octetCount);
      encodeReports(b, 28, p.reports);
      if (p.extension) b.set(p.extension, 28 + p.reports.length * 24);
      return header(b, p.reports.length, RtcpType.SR);
    }
    case "rr": {
      const ext = p.extension?.length ?? 0;
      const b = new Uint8Array(8 + p.reports.length * 24 + ext);
      put32(b, 4, p.ssrc);
      encodeReports(b, 8, p.reports);
      if (p.extension) b.set(p.extension, 8 + p.reports.length * 24);
      return header(b, p.reports.length, RtcpType.RR);
    }
    // @implements RFC3550 §A.4
    case "sdes": {
      const chunks = p.chunks.map((c) => {
        const items = c.items.map((it) => {
          const v = utf8.encode(it.value);
          const pre = it.prefix !== undefined ? utf8.encode(it.prefix) : undefined;
          const l = v.length + (pre ? pre.length + 1 : 0);
          if (l > 255) {
            throw new RangeError(`Cannot encode SDES item ${it.type}: ${l} bytes exceed 255`);
          }
          const b = new Uint8Array(2 + l);
          b[0] = it.type;
          b[1] = l;
          if (pre) {
            b[2] = pre.length;
            b.set(pre, 3);
            b.set(v, 3 + pre.length);
          } else b.set(v, 2);
          return b;
        });
        const size = pad4(4 + items.reduce((s, i) => s + i.length, 0) + 1);
        const b = new Uint8Array(size);
        put32(b, 0, c.ssrc);
        let o = 4;
        for (const i of items) {
          b.set(i, o);
          o += i.length;
        }
        return b;
      });
      const b = new Uint8Array(4 + chunks.reduce((s, c) => s + c.length, 0));
      let o = 4;
      for (const c of chunks) {
        b.set(c, o);
        o += c.length;
      }
      return header(b, p.chunks.length, RtcpType.SDES);
    }
    case "bye": {
      const reason = p.reason !== undefined ? utf8.encode(p.reason) : undefined;
      if (reason && reason.length > 255) {
        throw new RangeError("Cannot encode BYE: reason exceeds 255 bytes");
      }
      const b = new Uint8Array(4 + p.sources.length * 4 + (reason ? pad4(reason.length + 1) : 0));
      p.sources.forEach((s, i) => put32(b, 4 + i * 4, s));
      if (reason) {
        b[4 + p.sources.length * 4] = reason.length;
        b.set(reason, 5 + p.sources.length * 4);
      }
      return header(b, p.sources.length, RtcpType.BYE);
    }
    case "app": {
      if (p.data.length % 4 !== 0) {
        throw new RangeError("Cannot encode APP: data is not a multiple of 4 bytes");
      }
      if (!/^[\x20-\x7e]{4}$/.test(p.name)) {
        throw new RangeError("Cannot encode APP: name must be 4 ASCII characters");
      }
      const b = new Uint8Array(12 + p.data.length);
      put32(b, 4, p.ssrc);
      for (let i = 0; i < 4; i++) b[8 + i] = p.name.charCodeAt(i);
      b.set(p.data, 12);
      return header(b, p.subtype, RtcpType.APP);
    }
    case "unknown": {
      if (p.body.length % 4 !== 0) {
        throw new RangeError("Cannot encode RTCP: body is not a multiple of 4 bytes");
      }
      const b = new Uint8Array(4 + p.body.length);
      b.set(p.body, 4);
      return header(b, p.count, p.packetType);
    }
  }
}

// === NTP time (RFC 3550 §4) ===

const NTP_OFFSET = 2208988800;

/**
 * Converts Unix milliseconds to a 64-bit NTP timestamp (seconds, fraction).
 *
 * @param ms Milliseconds since 1970-01-01 UTC.
 * @returns `[seconds, fraction]` since 1900 in 1/2^32 s.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3550#section-4 | RFC 3550 §4}
 *
 * @example
 * ```ts
 * import { toNtp } from "@rtclite/std/ietf/rfc3550";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(toNtp(500), [2208988800, 0x80000000]);
 * ```
 */
// @implements RFC3550 §4 ¶3
export function toNtp(ms: number): [number, number] {
  const s = Math.floor(ms / 1000);
  const frac = Math.floor(((ms - s * 1000) / 1000) * 0x100000000);
  return [(s + NTP_OFFSET) >>> 0, frac >>> 0];
}

// === Sequence number validation (RFC 3550 §A.1), jitter (§A.8), loss (§A.3) ===

const RTP_SEQ_MOD = 1 << 16;
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const MIN_SEQUENTIAL = 2;

/** What the session knows about one remote source. */
export interface SourceState {
  /** The source's SSRC. */
  ssrc: number;
  /** Transport address of its first RTP packet (`host:port`). */
  rtpAddress?: string;
  /** Transport address of its first RTCP packet. */
  rtcpAddress?: string;
  /** CNAME from SDES. */
  cname?: string;
  /** Packets still needed in sequence before the source is valid. */
  probation: number;
  /** Highest sequence number seen. */
  maxSeq: number;
  /** Shifted count of sequence number cycles. */
  cycles: number;
  /** First sequence number counted. */
  baseSeq: number;
  /** Last bad sequence number + 1. */
  badSeq: number;
  /** Packets received. */
  received: number;
  /** `expected` at the last report. */
  expectedPrior: number;
  /** `received` at the last report. */
  receivedPrior: number;
  /** Relative transit time of the previous packet. */
  transit: number;
  /** Estimated interarrival jitter (timestamp units). */
  jitter: number;
  /** Payload octets received. */
  octets: number;
  /** Middle 32 bits of the last SR's NTP timestamp. */
  lastSr: number;
  /** Local time (ms) the last SR arrived. */
  lastSrTime: number;
  /** Local time (ms) of the last RTP packet. */
  lastRtp: number;
  /** Local time (ms) of the last packet of any kind. */
  lastHeard: number;
  /** Whether the source has sent RTP recently. */
  sender: boolean;
  /** Whether a BYE was received. */
  left: boolean;
  /** Whether an RTCP packet was received from it. */
  heardRtcp: boolean;
}

/**
 * Creates the state for a source first heard with sequence number `seq` (on probation).
 *
 * @param ssrc The source.
 * @param seq Its first sequence number.
 * @returns The state.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3550#appendix-A.1 | RFC 3550 §A.1}
 *
 * @example
 * ```ts
 * import { newSource, updateSeq } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * const s = newSource(1, 100);
 * equal(updateSeq(s, 100), false); // first packet: on probation
 * equal(updateSeq(s, 101), true);
 * ```
 */
// @implements RFC3550 §A.1 ¶5-6
export function newSource(ssrc: number, seq: number): SourceState {
  const s: SourceState = {
    ssrc,
    probation: MIN_SEQUENTIAL,
    maxSeq: 0,
    cycles: 0,
    baseSeq: 0,
    badSeq: 0,
    received: 0,
    expectedPrior: 0,
    receivedPrior: 0,
    transit: 0,
    jitter: 0,
    octets: 0,
    lastSr: 0,
    lastSrTime: 0,
    lastRtp: 0,
    lastHeard: 0,
    sender: false,
    left: false,
    heardRtcp: false,
  };
  initSeq(s, seq);
  s.maxSeq = (seq - 1) & 0xffff;
  s.probation = MIN_SEQUENTIAL;
  return s;
}

function initSeq(s: SourceState, seq: number): void {
  s.baseSeq = seq;
  s.maxSeq = seq;
  s.badSeq = RTP_SEQ_MOD + 1;
  s.cycles = 0;
  s.received = 0;
  s.receivedPrior = 0;
  s.expectedPrior = 0;
}

/**
 * Updates a source's sequence state with a new packet (RFC 3550 §A.1 `update_seq`).
 *
 * @param s The source state.
 * @param seq The packet's sequence number.
 * @returns `true` when the packet is valid and counted.
 *
 * @example
 * ```ts
 * import { newSource, updateSeq } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * const s = newSource(1, 65534);
 * updateSeq(s, 65534); // probation
 * updateSeq(s, 65535); // valid
 * updateSeq(s, 0); // valid, wraps
 * equal(s.cycles, 65536);
 * ```
 */
// @implements RFC3550 §A.1 ¶7-8
export function updateSeq(s: SourceState, seq: number): boolean {
  const udelta = (seq - s.maxSeq) & 0xffff;
  if (s.probation) {
    if (seq === ((s.maxSeq + 1) & 0xffff)) {
      s.probation--;
      s.maxSeq = seq;
      if (s.probation === 0) {
        initSeq(s, seq);
        s.received++;
        return true;
      }
    } else {
      s.probation = MIN_SEQUENTIAL - 1;
      s.maxSeq = seq;
    }
    return false;
  } else if (udelta < MAX_DROPOUT) {
    if (seq < s.maxSeq) s.cycles += RTP_SEQ_MOD;
    s.maxSeq = seq;
  } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
    if (seq === s.badSeq) {
      initSeq(s, seq);
    } else {
      s.badSeq = (seq + 1) & (RTP_SEQ_MOD - 1);
      return false;
    }
  } else {
    // duplicate or reordered packet
  }
  s.received++;
  return true;
}

/**
 * Updates the interarrival jitter estimate (RFC 3550 §A.8).
 *
 * @param s The source state.
 * @param arrival Arrival time in RTP timestamp units.
 * @param timestamp The packet's RTP timestamp.
 * @returns The new jitter estimate.
 *
 * @example
 * ```ts
 * import { newSource, updateJitter } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * const s = newSource(1, 0);
 * s.received = 1; // the first packet only sets the transit time
 * updateJitter(s, 1000, 0);
 * s.received = 2;
 * equal(updateJitter(s, 1176, 160), 1); // 16 units late: jitter += (16 - 0) / 16
 * ```
 */
// @implements RFC3550 §A.8 ¶2-3
export function updateJitter(s: SourceState, arrival: number, timestamp: number): number {
  const transit = (arrival - timestamp) | 0;
  if (s.received > 1) {
    let d = (transit - s.transit) | 0;
    if (d < 0) d = -d;
    s.jitter += (d - s.jitter) / 16;
  }
  s.transit = transit;
  return s.jitter;
}

/** Loss statistics of a source (RFC 3550 §A.3). */
export interface LossStats {
  /** Extended highest sequence number received. */
  extendedMax: number;
  /** Packets expected. */
  expected: number;
  /** Cumulative packets lost (may be negative with duplicates). */
  lost: number;
  /** Fraction lost since the previous call, in 1/256 units. */
  fraction: number;
}

/**
 * Computes loss statistics and, with `advance`, starts a new report interval.
 *
 * @param s The source state.
 * @param advance Whether to update the interval counters (as when sending a report).
 * @returns The statistics.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3550#appendix-A.3 | RFC 3550 §A.3}
 *
 * @example
 * ```ts
 * import { lossStats, newSource, updateSeq } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * const s = newSource(1, 10);
 * for (const seq of [10, 11, 12, 14, 15]) updateSeq(s, seq);
 * const l = lossStats(s, true);
 * equal(l.expected, 5);
 * equal(l.lost, 1);
 * equal(l.fraction, 51); // 1/5 * 256
 * ```
 */
// @implements RFC3550 §A.3
export function lossStats(s: SourceState, advance = false): LossStats {
  const extendedMax = s.cycles + s.maxSeq;
  const expected = s.probation ? 0 : extendedMax - s.baseSeq + 1;
  const lost = expected - s.received;
  const expectedInterval = expected - s.expectedPrior;
  const receivedInterval = s.received - s.receivedPrior;
  const lostInterval = expectedInterval - receivedInterval;
  const fraction = expectedInterval === 0 || lostInterval <= 0
    ? 0
    : Math.floor((lostInterval * 256) / expectedInterval);
  if (advance) {
    s.expectedPrior = expected;
    s.receivedPrior = s.received;
  }
  return { extendedMax: extendedMax >>> 0, expected, lost, fraction: Math.min(fraction, 255) };
}

// === RTCP transmission interval (RFC 3550 §6.3.1, §A.7) ===

/** Inputs of {@linkcode rtcpInterval}. */
export interface IntervalInputs {
  /** Current estimate of session members (including us). */
  members: number;
  /** Current estimate of senders. */
  senders: number;
  /** RTCP bandwidth in octets per second (5% of the session bandwidth). */
  rtcpBandwidth: number;
  /** Whether we sent RTP since the second-to-last report. */
  weSent: boolean;
  /** Average compound RTCP packet size in octets, with UDP/IP headers. */
  avgRtcpSize: number;
  /** Whether no RTCP packet has been sent yet. */
  initial: boolean;
}

const RTCP_MIN_TIME = 5;
const RTCP_SENDER_BW_FRACTION = 0.25;
const RTCP_RCVR_BW_FRACTION = 0.75;
const COMPENSATION = Math.E - 1.5;

/**
 * The deterministic RTCP interval Td in seconds (without randomization).
 *
 * @param i The session estimates.
 * @param minTime Minimum interval (5 s, or less for high-bandwidth sessions).
 * @returns Td in seconds.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3550#section-6.3.1 | RFC 3550 §6.3.1}
 *
 * @example
 * ```ts
 * import { deterministicInterval } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * equal(deterministicInterval({ members: 2, senders: 1, rtcpBandwidth: 400, weSent: true, avgRtcpSize: 100, initial: false }), 5);
 * ```
 */
// @implements RFC3550 §6.3.1 ¶1-5
export function deterministicInterval(i: IntervalInputs, minTime = RTCP_MIN_TIME): number {
  const rtcpMinTime = i.initial ? minTime / 2 : minTime;
  let n = i.members;
  let bw = i.rtcpBandwidth;
  if (i.senders <= i.members * RTCP_SENDER_BW_FRACTION) {
    if (i.weSent) {
      bw *= RTCP_SENDER_BW_FRACTION;
      n = i.senders;
    } else {
      bw *= RTCP_RCVR_BW_FRACTION;
      n -= i.senders;
    }
  }
  const t = (i.avgRtcpSize * n) / bw;
  return t < rtcpMinTime ? rtcpMinTime : t;
}

/**
 * The randomized RTCP transmission interval T in seconds (`rtcp_interval()` of §A.7):
 * Td scaled by a random factor in [0.5, 1.5] and divided by e - 3/2.
 *
 * @param i The session estimates.
 * @param random A uniform random number in [0, 1).
 * @param minTime Minimum interval (default 5 s).
 * @returns T in seconds.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3550#appendix-A.7 | RFC 3550 §A.7}
 *
 * @example
 * ```ts
 * import { rtcpInterval } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * const i = { members: 2, senders: 1, rtcpBandwidth: 400, weSent: true, avgRtcpSize: 100, initial: true };
 * equal(rtcpInterval(i, 0.5), 2.5 / (Math.E - 1.5));
 * ```
 */
// @implements RFC3550 §A.7 ¶6, RFC3550 §6.3.1 ¶6-7
export function rtcpInterval(i: IntervalInputs, random: number, minTime = RTCP_MIN_TIME): number {
  return (deterministicInterval(i, minTime) * (random + 0.5)) / COMPENSATION;
}

// === The participant's session (RFC 3550 §6.3, §8) ===

/** Options of {@linkcode RtpSession}. */
export interface RtpSessionOptions {
  /** Our SSRC; default random (RFC 3550 §8). */
  ssrc?: number;
  /** CNAME for SDES; default `user@host`-like random. */
  cname?: string;
  /** RTP clock rate of the media, for jitter and SR timestamps (default 8000). */
  clockRate?: number;
  /** Session bandwidth in bits per second (default 64 000 + headers: 80 000). */
  bandwidth?: number;
  /** Minimum RTCP interval in seconds (default 5). */
  minInterval?: number;
  /** Clock in milliseconds (Unix epoch for SR wallclock); default `Date.now`. */
  now?: () => number;
  /** Uniform random source in [0, 1); default `Math.random`. */
  random?: () => number;
  /** Random 32-bit identifier generator; default `crypto.getRandomValues`. */
  random32?: () => number;
}

/** What {@linkcode RtpSession.prototype.receiveRtp} did with a packet. */
export type RtpReceiveResult =
  | {
    /** Valid media to play out. */
    kind: "media";
    /** The packet. */
    packet: RtpPacket;
  }
  | {
    /** Dropped packet. */
    kind: "dropped";
    /** Why. */
    reason: "invalid" | "probation" | "sequence" | "loop" | "conflict" | "left";
  }
  | {
    /** Our SSRC collided: send `bye` (with the old SSRC) and continue with the new SSRC. */
    kind: "collision";
    /** The RTCP BYE for the old SSRC. */
    bye: Uint8Array;
    /** Our new SSRC. */
    ssrc: number;
  };

/** Our sending statistics. */
export interface SenderStats {
  /** Our SSRC. */
  ssrc: number;
  /** RTP packets sent. */
  packets: number;
  /** Payload octets sent. */
  octets: number;
}

/** Receiving statistics for one source. */
export interface ReceiverStats {
  /** The source. */
  ssrc: number;
  /** CNAME, if known. */
  cname?: string;
  /** Packets received and counted. */
  received: number;
  /** Packets expected. */
  expected: number;
  /** Cumulative packets lost. */
  lost: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
  /** Payload octets. */
  octets: number;
  /** Extended highest sequence number. */
  highestSequence: number;
  /** Round-trip time in ms computed from a report block about us, if any. */
  roundTrip?: number;
  /** What the source reported about us in its last report block, if any. */
  reportAboutUs?: ReportBlock;
}

/** Statistics of a session. */
export interface SessionStats {
  /** What we sent. */
  sender: SenderStats;
  /** Per remote source. */
  sources: ReceiverStats[];
  /** Packets dropped by validation (bad header, loops, conflicts, probation). */
  dropped: number;
  /** SSRC collisions resolved. */
  collisions: number;
  /** Current member estimate. */
  members: number;
  /** Current sender estimate. */
  senders: number;
}

const IP_UDP_HEADER = 28;
const MAX_SOURCES = 1000;

function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/**
 * One participant's RTP session state (sans-I/O): it stamps outgoing packets, validates and
 * accounts incoming ones, resolves SSRC collisions and loops, and schedules and builds RTCP
 * compound reports with timer reconsideration.
 *
 * Drive it with {@linkcode RtpSession.prototype.sendRtp}, {@linkcode RtpSession.prototype.receiveRtp},
 * {@linkcode RtpSession.prototype.receiveRtcp}, and call {@linkcode RtpSession.prototype.onTimer}
 * at {@linkcode RtpSession.prototype.nextTimer}.
 *
 * @example Two sessions exchanging media and reports on a virtual clock
 * ```ts
 * import { RtpSession } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * let t = 0;
 * const now = () => t;
 * const a = new RtpSession({ ssrc: 1, cname: "a@h", now });
 * const b = new RtpSession({ ssrc: 2, cname: "b@h", now, random: () => 0.5 });
 * for (let i = 0; i < 50; i++, t += 20) {
 *   b.receiveRtp(a.sendRtp({ payloadType: 0, payload: new Uint8Array(160) }), "192.0.2.1:4000");
 * }
 * t = b.nextTimer;
 * const rr = b.onTimer()!;
 * a.receiveRtcp(rr, "192.0.2.2:5001");
 * const s = b.stats().sources[0]!;
 * equal(s.received, 49); // the first packet was on probation
 * equal(s.lost, 0);
 * equal(a.stats().sources[0]!.reportAboutUs?.packetsLost, 0);
 * ```
 */
export class RtpSession {
  #ssrc: number;
  #cname: string;
  #clockRate: number;
  #now: () => number;
  #random: () => number;
  #random32: () => number;
  #minInterval: number;
  #rtcpBw: number;
  #seq: number;
  #tsOffset: number;
  #tsBase: number;
  #lastTs = 0;
  #packets = 0;
  #octets = 0;
  #sources = new Map<number, SourceState>();
  #conflicts = new Map<string, number>();
  #dropped = 0;
  #collisions = 0;
  // RTCP timing state (§6.3)
  #tp: number;
  #tn: number;
  #pmembers = 1;
  #avgRtcpSize: number;
  #initial = true;
  #weSent = false;
  #lastRtpSent = -Infinity;
  #byeSent = false;
  #sentAny = false;
  // BYE backoff (§6.3.7): the BYE waiting to be sent, and the BYEs counted meanwhile.
  #leaving: Uint8Array | undefined;
  #byeMembers = 1;
  #reportsAboutUs = new Map<number, { block: ReportBlock; rtt?: number }>();

  /**
   * Creates a session; the first RTCP report is scheduled per §6.3.2.
   *
   * @param options Identifiers, clock and bandwidth.
   */
  // @implements RFC3550 §6.3.2
  constructor(options: RtpSessionOptions = {}) {
    this.#random = options.random ?? Math.random;
    this.#random32 = options.random32 ?? randomU32;
    this.#now = options.now ?? Date.now;
    // @implements RFC3550 §5.1 ¶8, RFC3550 §8 ¶1
    this.#ssrc = (options.ssrc ?? this.#random32()) >>> 0;
    this.#cname = options.cname ?? `rtclite-${this.#random32().toString(16)}@localhost`;
    this.#clockRate = options.clockRate ?? 8000;
    this.#minInterval = options.minInterval ?? RTCP_MIN_TIME;
    this.#rtcpBw = ((options.bandwidth ?? 80_000) / 8) * 0.05;
    // @implements RFC3550 §5.1 ¶6-7
    this.#seq = this.#random32() & 0xffff;
    this.#tsOffset = this.#random32() >>> 0;
    this.#tsBase = this.#now();
    this.#avgRtcpSize = 100 + IP_UDP_HEADER;
    this.#tp = this.#now();
    this.#tn = this.#tp + this.#interval() * 1000;
  }

  /** Our current SSRC. */
  get ssrc(): number {
    return this.#ssrc;
  }
  /** Our CNAME. */
  get cname(): string {
    return this.#cname;
  }
  /** Clock time (ms) at which {@linkcode RtpSession.prototype.onTimer} should be called. */
  get nextTimer(): number {
    return this.#tn;
  }

  #interval(): number {
    return rtcpInterval(this.#inputs(), this.#random(), this.#minInterval);
  }

  #inputs(): IntervalInputs {
    if (this.#leaving) {
      return {
        members: this.#byeMembers,
        senders: 0,
        rtcpBandwidth: this.#rtcpBw,
        weSent: false,
        avgRtcpSize: this.#avgRtcpSize,
        initial: this.#initial,
      };
    }
    return {
      members: this.#countMembers(),
      senders: this.#countSenders(),
      rtcpBandwidth: this.#rtcpBw,
      weSent: this.#weSent,
      avgRtcpSize: this.#avgRtcpSize,
      initial: this.#initial,
    };
  }

  /** The RTP timestamp for the current clock time (wallclock-driven media clock). */
  #rtpNow(): number {
    return (this.#tsOffset +
      Math.round(((this.#now() - this.#tsBase) * this.#clockRate) / 1000)) >>> 0;
  }

  /**
   * Builds the next RTP packet from us.
   *
   * @param p Payload type, payload, and optionally timestamp (default: the media clock),
   *   marker, CSRCs and extension.
   * @returns The encoded packet.
   *
   * @example
   * ```ts
   * import { decodeRtp, RtpSession } from "@rtclite/std/ietf/rfc3550";
   * import { equal } from "node:assert/strict";
   *
   * const s = new RtpSession({ ssrc: 5 });
   * const a = decodeRtp(s.sendRtp({ payloadType: 0, payload: new Uint8Array(160), timestamp: 1000 }));
   * const b = decodeRtp(s.sendRtp({ payloadType: 0, payload: new Uint8Array(160), timestamp: 1160 }));
   * equal((b.sequenceNumber - a.sequenceNumber) & 0xffff, 1);
   * equal(b.ssrc, 5);
   * ```
   */
  sendRtp(p: {
    payloadType: number;
    payload: Uint8Array;
    timestamp?: number;
    marker?: boolean;
    csrcs?: number[];
    extension?: RtpExtension;
  }): Uint8Array {
    const ts = p.timestamp ?? this.#rtpNow();
    this.#seq = (this.#seq + 1) & 0xffff;
    const pkt: RtpPacket = {
      marker: p.marker ?? false,
      payloadType: p.payloadType,
      sequenceNumber: this.#seq,
      timestamp: ts >>> 0,
      ssrc: this.#ssrc,
      csrcs: p.csrcs ?? [],
      padding: 0,
      payload: p.payload,
    };
    if (p.extension) pkt.extension = p.extension;
    this.#lastTs = ts >>> 0;
    this.#packets++;
    this.#octets += p.payload.length;
    // @implements RFC3550 §6.3.8
    this.#weSent = true;
    this.#lastRtpSent = this.#now();
    this.#sentAny = true;
    return encodeRtp(pkt);
  }

  /**
   * Maps an RTP timestamp of ours to the wall clock for SRs: the timestamp of the last packet
   * sent, plus the elapsed media time since then.
   */
  #srRtpTimestamp(now: number): number {
    if (this.#packets === 0) return this.#rtpNow();
    const elapsed = Math.round(((now - this.#lastRtpSent) * this.#clockRate) / 1000);
    return (this.#lastTs + elapsed) >>> 0;
  }

  // @implements RFC3550 §8.2 ¶6-8
  #checkSource(
    ssrc: number,
    from: string,
    rtcp: boolean,
  ): "ok" | "new" | "conflict" | "loop" | "collision" {
    const now = this.#now();
    if (ssrc === this.#ssrc) {
      const host = from;
      if (this.#conflicts.has(host)) {
        this.#conflicts.set(host, now);
        return "loop";
      }
      this.#conflicts.set(host, now);
      return "collision";
    }
    const s = this.#sources.get(ssrc);
    if (!s) return "new";
    const key = rtcp ? "rtcpAddress" : "rtpAddress";
    const saved = s[key];
    if (saved === undefined) {
      s[key] = from;
      return "ok";
    }
    // Compare network addresses only for RTCP-vs-RTP port differences; exact match otherwise.
    if (saved !== from) return "conflict";
    return "ok";
  }

  // @implements RFC3550 §8.2 ¶9
  #resolveCollision(): Uint8Array {
    this.#collisions++;
    const old = this.#ssrc;
    const bye = this.#compound([{ type: "bye", sources: [old], reason: "SSRC collision" }]);
    let next = this.#random32() >>> 0;
    while (next === old || this.#sources.has(next)) next = this.#random32() >>> 0;
    this.#ssrc = next;
    log.warn("SSRC collision: {old} replaced by {next}", { old, next });
    return bye;
  }

  /**
   * Takes in a received RTP datagram: validates the header, resolves collisions and loops
   * (§8.2), validates the sequence number (§A.1), updates jitter (§A.8) and member counts.
   *
   * @param buf The datagram.
   * @param from Source transport address (`host:port`), for loop and collision detection.
   * @returns The packet to play out, a drop reason, or a collision with the BYE to send.
   * @see {@link https://www.rfc-editor.org/rfc/rfc3550#section-8.2 | RFC 3550 §8.2}
   *
   * @example Garbage is dropped, not thrown
   * ```ts
   * import { RtpSession } from "@rtclite/std/ietf/rfc3550";
   * import { equal } from "node:assert/strict";
   *
   * const s = new RtpSession();
   * equal(s.receiveRtp(new Uint8Array([1, 2, 3]), "192.0.2.9:1").kind, "dropped");
   * ```
   */
  receiveRtp(buf: Uint8Array, from: string): RtpReceiveResult {
    let p: RtpPacket;
    try {
      p = decodeRtp(buf);
    } catch {
      this.#dropped++;
      return { kind: "dropped", reason: "invalid" };
    }
    const now = this.#now();
    const check = this.#checkSource(p.ssrc, from, false);
    if (check === "collision") {
      const bye = this.#resolveCollision();
      return { kind: "collision", bye, ssrc: this.#ssrc };
    }
    if (check === "loop" || check === "conflict") {
      this.#dropped++;
      return { kind: "dropped", reason: check };
    }
    let s = this.#sources.get(p.ssrc);
    if (!s) {
      if (this.#sources.size >= MAX_SOURCES) {
        this.#dropped++;
        return { kind: "dropped", reason: "conflict" };
      }
      s = newSource(p.ssrc, p.sequenceNumber);
      s.rtpAddress = from;
      this.#sources.set(p.ssrc, s);
    }
    if (s.left) {
      this.#dropped++;
      return { kind: "dropped", reason: "left" };
    }
    const wasProbation = s.probation > 0;
    s.lastHeard = now;
    if (!updateSeq(s, p.sequenceNumber)) {
      this.#dropped++;
      return { kind: "dropped", reason: wasProbation ? "probation" : "sequence" };
    }
    // @implements RFC3550 §6.3.3
    s.sender = true;
    s.lastRtp = now;
    s.octets += p.payload.length;
    updateJitter(s, Math.round((now * this.#clockRate) / 1000), p.timestamp);
    return { kind: "media", packet: p };
  }

  /**
   * Takes in a received RTCP datagram: updates members, LSR/DLSR state, reports about us, and
   * handles BYE with reverse reconsideration (§6.3.4).
   *
   * @param buf The datagram.
   * @param from Source transport address.
   * @returns The decoded packets, or `undefined` when the datagram was invalid and dropped.
   * @see {@link https://www.rfc-editor.org/rfc/rfc3550#section-6.3.3 | RFC 3550 §6.3.3}
   *
   * @example
   * ```ts
   * import { encodeRtcp, RtpSession } from "@rtclite/std/ietf/rfc3550";
   * import { equal } from "node:assert/strict";
   *
   * const s = new RtpSession({ ssrc: 1 });
   * s.receiveRtcp(encodeRtcp([{ type: "rr", ssrc: 9, reports: [] },
   *   { type: "sdes", chunks: [{ ssrc: 9, items: [{ type: 1, value: "nine@h" }] }] }]), "192.0.2.9:5");
   * equal(s.stats().members, 2);
   * equal(s.receiveRtcp(new Uint8Array(3), "x"), undefined);
   * ```
   */
  receiveRtcp(buf: Uint8Array, from: string): RtcpPacket[] | undefined {
    let packets: RtcpPacket[];
    try {
      packets = decodeRtcp(buf);
    } catch {
      this.#dropped++;
      return undefined;
    }
    const now = this.#now();
    // @implements RFC3550 §6.3.7 ¶2
    if (this.#leaving) {
      for (const p of packets) {
        if (p.type !== "bye") continue;
        this.#byeMembers++;
        this.#avgRtcpSize = (buf.length + IP_UDP_HEADER) / 16 + (this.#avgRtcpSize * 15) / 16;
      }
      return packets;
    }
    // @implements RFC3550 §6.3.3 ¶2
    this.#avgRtcpSize = (buf.length + IP_UDP_HEADER) / 16 + (this.#avgRtcpSize * 15) / 16;
    for (const p of packets) {
      if (p.type === "sr" || p.type === "rr") {
        const s = this.#touch(p.ssrc, from, now);
        if (!s) continue;
        if (p.type === "sr") {
          // @implements RFC3550 §6.4.1 ¶17
          s.lastSr = ((p.ntpSeconds & 0xffff) << 16 | (p.ntpFraction >>> 16)) >>> 0;
          s.lastSrTime = now;
        }
        for (const r of p.reports) {
          if (r.ssrc !== this.#ssrc) continue;
          const entry: { block: ReportBlock; rtt?: number } = { block: r };
          // @implements RFC3550 §6.4.1 ¶19
          if (r.lastSenderReport !== 0) {
            const [sec, frac] = toNtp(now);
            const a = ((sec & 0xffff) << 16 | (frac >>> 16)) >>> 0;
            const rtt = ((a - r.lastSenderReport - r.delaySinceLastSenderReport) >>> 0) / 65.536;
            if (rtt < 60_000) entry.rtt = rtt;
          }
          this.#reportsAboutUs.set(p.ssrc, entry);
        }
      } else if (p.type === "sdes") {
        for (const c of p.chunks) {
          const s = this.#touch(c.ssrc, from, now);
          const cname = c.items.find((i) => i.type === SdesType.CNAME);
          if (s && cname) s.cname = cname.value;
        }
      } else if (p.type === "bye") {
        // @implements RFC3550 §6.3.4
        for (const ssrc of p.sources) {
          const s = this.#sources.get(ssrc);
          if (!s || s.left) continue;
          if (s.rtcpAddress !== undefined && s.rtcpAddress !== from) continue;
          s.left = true;
          s.lastHeard = now;
        }
        this.#reverseReconsider(now);
      } else if (p.type === "app") {
        this.#touch(p.ssrc, from, now);
      }
    }
    return packets;
  }

  #touch(ssrc: number, from: string, now: number): SourceState | undefined {
    const check = this.#checkSource(ssrc, from, true);
    if (check === "loop" || check === "conflict" || check === "collision") return undefined;
    let s = this.#sources.get(ssrc);
    if (!s) {
      s = newSource(ssrc, 0);
      s.probation = MIN_SEQUENTIAL; // no RTP yet
      s.rtcpAddress = from;
      if (this.#sources.size >= MAX_SOURCES) return undefined;
      this.#sources.set(ssrc, s);
    } else if (s.rtcpAddress === undefined) {
      s.rtcpAddress = from;
    }
    s.heardRtcp = true;
    s.lastHeard = now;
    return s;
  }

  // @implements RFC3550 §6.3.4 ¶2-4
  #reverseReconsider(now: number): void {
    const members = this.#countMembers();
    if (members < this.#pmembers) {
      const ratio = members / this.#pmembers;
      this.#tn = now + ratio * (this.#tn - now);
      this.#tp = now - ratio * (now - this.#tp);
      this.#pmembers = members;
    }
  }

  // @implements RFC3550 §6.2.1
  #countMembers(): number {
    let n = 1;
    for (const s of this.#sources.values()) if (!s.left && (s.probation === 0 || s.heardRtcp)) n++;
    return n;
  }

  #countSenders(): number {
    let n = this.#weSent ? 1 : 0;
    for (const s of this.#sources.values()) if (!s.left && s.sender) n++;
    return n;
  }

  // @implements RFC3550 §6.3.5
  #timeouts(now: number): void {
    const td = deterministicInterval(this.#inputs(), this.#minInterval) * 1000;
    for (const [ssrc, s] of this.#sources) {
      if (s.sender && now - s.lastRtp > 2 * td) s.sender = false;
      const limit = s.left ? 2000 : s.probation && !s.heardRtcp ? 2 * td : 5 * td;
      if (now - s.lastHeard > limit) this.#sources.delete(ssrc);
    }
    // @implements RFC3550 §6.3.8
    if (this.#weSent && now - this.#lastRtpSent > 2 * td) this.#weSent = false;
    for (const [addr, t] of this.#conflicts) if (now - t > 10 * td) this.#conflicts.delete(addr);
  }

  /**
   * Handles the RTCP timer (`OnExpire()` of §A.7): applies timeouts, reconsiders the interval
   * and returns a compound report (SR or RR, then SDES CNAME) when it is due, scheduling the
   * next one.
   *
   * @returns A compound RTCP packet to send, or `undefined` when the timer was reconsidered.
   * @see {@link https://www.rfc-editor.org/rfc/rfc3550#section-6.3.6 | RFC 3550 §6.3.6}
   *
   * @example
   * ```ts
   * import { decodeRtcp, RtpSession } from "@rtclite/std/ietf/rfc3550";
   * import { equal } from "node:assert/strict";
   *
   * let t = 1000;
   * const s = new RtpSession({ now: () => t, random: () => 0.5 });
   * t = s.nextTimer;
   * const [rr, sdes] = decodeRtcp(s.onTimer()!);
   * equal(rr!.type, "rr");
   * equal(sdes!.type, "sdes");
   * equal(s.nextTimer > t, true);
   * ```
   */
  // @implements RFC3550 §6.3.6, RFC3550 §A.7 ¶7
  onTimer(): Uint8Array | undefined {
    const now = this.#now();
    if (this.#byeSent) {
      this.#tn = Infinity;
      return undefined;
    }
    if (!this.#leaving) this.#timeouts(now);
    const t = this.#interval() * 1000;
    const tn = this.#tp + t;
    if (tn > now) {
      this.#tn = tn;
      this.#pmembers = this.#leaving ? this.#byeMembers : this.#countMembers();
      return undefined;
    }
    // @implements RFC3550 §6.3.7 ¶4
    if (this.#leaving) {
      const bye = this.#leaving;
      this.#leaving = undefined;
      this.#byeSent = true;
      this.#tn = Infinity;
      return bye;
    }
    const report = this.report();
    this.#avgRtcpSize = (report.length + IP_UDP_HEADER) / 16 + (this.#avgRtcpSize * 15) / 16;
    this.#tp = now;
    this.#initial = false;
    this.#tn = now + this.#interval() * 1000;
    this.#pmembers = this.#countMembers();
    return report;
  }

  /**
   * Builds a compound report now (SR if we sent since the last two reports, else RR; then
   * SDES with our CNAME), advancing the loss intervals of the reported sources.
   *
   * @returns The compound RTCP packet.
   * @see {@link https://www.rfc-editor.org/rfc/rfc3550#section-6.4 | RFC 3550 §6.4}
   *
   * @example
   * ```ts
   * import { decodeRtcp, RtpSession } from "@rtclite/std/ietf/rfc3550";
   * import { equal } from "node:assert/strict";
   *
   * const s = new RtpSession({ cname: "me@h" });
   * s.sendRtp({ payloadType: 0, payload: new Uint8Array(160) });
   * const [sr, sdes] = decodeRtcp(s.report());
   * equal(sr!.type === "sr" && sr!.packetCount, 1);
   * equal(sdes!.type === "sdes" && sdes!.chunks[0]!.items[0]!.value, "me@h");
   * ```
   */
  report(): Uint8Array {
    this.#sentAny = true;
    return this.#compound([]);
  }

  // @implements RFC3550 §6.1 ¶7-9
  #compound(extra: RtcpPacket[]): Uint8Array {
    const now = this.#now();
    const blocks: ReportBlock[] = [];
    for (const s of this.#sources.values()) {
      if (s.probation || s.left || !s.sender || blocks.length >= 31) continue;
      const l = lossStats(s, true);
      blocks.push({
        ssrc: s.ssrc,
        fractionLost: l.fraction,
        packetsLost: l.lost,
        highestSequence: l.extendedMax,
        jitter: Math.floor(s.jitter) >>> 0,
        lastSenderReport: s.lastSr,
        delaySinceLastSenderReport: s.lastSr
          ? Math.floor(((now - s.lastSrTime) * 65536) / 1000) >>> 0
          : 0,
      });
    }
    const packets: RtcpPacket[] = [];
    if (this.#weSent) {
      const [ntpSeconds, ntpFraction] = toNtp(now);
      packets.push({
        type: "sr",
        ssrc: this.#ssrc,
        ntpSeconds,
        ntpFraction,
        rtpTimestamp: this.#srRtpTimestamp(now),
        packetCount: this.#packets >>> 0,
        octetCount: this.#octets >>> 0,
        reports: blocks,
      });
    } else packets.push({ type: "rr", ssrc: this.#ssrc, reports: blocks });
    // @implements RFC3550 §6.5.1
    packets.push({
      type: "sdes",
      chunks: [{ ssrc: this.#ssrc, items: [{ type: SdesType.CNAME, value: this.#cname }] }],
    });
    packets.push(...extra);
    return encodeRtcp(packets);
  }

  /**
   * Leaves the session. With fewer than 50 members the compound BYE packet is returned to send
   * now; in larger sessions the BYE backoff of §6.3.7 applies and
   * {@linkcode RtpSession.prototype.onTimer} returns it when it is due. A participant that
   * never sent RTP or RTCP sends no BYE.
   *
   * @param reason Optional reason text.
   * @returns The compound packet to send now, or `undefined` (deferred, already sent, or
   *   nothing to say).
   * @see {@link https://www.rfc-editor.org/rfc/rfc3550#section-6.3.7 | RFC 3550 §6.3.7}
   *
   * @example
   * ```ts
   * import { decodeRtcp, RtpSession } from "@rtclite/std/ietf/rfc3550";
   * import { equal } from "node:assert/strict";
   *
   * const s = new RtpSession();
   * equal(new RtpSession().bye(), undefined); // never sent anything
   * s.sendRtp({ payloadType: 0, payload: new Uint8Array(160) });
   * const packets = decodeRtcp(s.bye("bye")!);
   * equal(packets[2]!.type, "bye");
   * equal(s.bye(), undefined);
   * ```
   */
  // @implements RFC3550 §6.3.7 ¶1-2
  bye(reason?: string): Uint8Array | undefined {
    if (this.#byeSent || this.#leaving) return undefined;
    const b: Goodbye = { type: "bye", sources: [this.#ssrc] };
    if (reason !== undefined) b.reason = reason;
    // @implements RFC3550 §6.3.7 ¶6
    if (!this.#sentAny) {
      this.#byeSent = true;
      return undefined;
    }
    const packet = this.#compound([b]);
    // @implements RFC3550 §6.3.7 ¶5
    if (this.#countMembers() < 50) {
      this.#byeSent = true;
      return packet;
    }
    const now = this.#now();
    this.#leaving = packet;
    this.#tp = now;
    this.#byeMembers = 1;
    this.#pmembers = 1;
    this.#initial = true;
    this.#weSent = false;
    this.#avgRtcpSize = packet.length + IP_UDP_HEADER;
    this.#tn = now + this.#interval() * 1000;
    return undefined;
  }

  /** Whether a BYE is waiting for the §6.3.7 backoff (see {@linkcode RtpSession.prototype.bye}). */
  get leaving(): boolean {
    return this.#leaving !== undefined;
  }

  /**
   * Current statistics.
   *
   * @returns Sender, per-source and session figures.
   *
   * @example
   * ```ts
   * import { RtpSession } from "@rtclite/std/ietf/rfc3550";
   * import { equal } from "node:assert/strict";
   *
   * const s = new RtpSession({ ssrc: 3 });
   * equal(s.stats().sender.ssrc, 3);
   * equal(s.stats().sources.length, 0);
   * ```
   */
  stats(): SessionStats {
    const sources: ReceiverStats[] = [];
    for (const s of this.#sources.values()) {
      if (s.received === 0 && !this.#reportsAboutUs.has(s.ssrc)) continue;
      const l = lossStats(s);
      const r: ReceiverStats = {
        ssrc: s.ssrc,
        received: s.received,
        expected: l.expected,
        lost: l.lost,
        jitter: s.jitter,
        octets: s.octets,
        highestSequence: l.extendedMax,
      };
      if (s.cname !== undefined) r.cname = s.cname;
      const about = this.#reportsAboutUs.get(s.ssrc);
      if (about) {
        r.reportAboutUs = about.block;
        if (about.rtt !== undefined) r.roundTrip = about.rtt;
      }
      sources.push(r);
    }
    return {
      sender: { ssrc: this.#ssrc, packets: this.#packets, octets: this.#octets },
      sources,
      dropped: this.#dropped,
      collisions: this.#collisions,
      members: this.#countMembers(),
      senders: this.#countSenders(),
    };
  }
}

// === UDP adapter (node:dgram) ===

/** Options of {@linkcode RtpSocket.open}. */
export interface RtpSocketOptions extends RtpSessionOptions {
  /** Local address to bind (default `127.0.0.1`). */
  host?: string;
  /** Local RTP port (RTCP uses port + 1); 0 picks a free even port. */
  port?: number;
  /** Remote peer, if known now. */
  remote?: { host: string; port: number; rtcpPort?: number };
  /** Called with each valid media packet. */
  onPacket?: (p: RtpPacket) => void;
  /** Called with each valid RTCP compound packet. */
  onRtcp?: (packets: RtcpPacket[], from: string) => void;
}

/**
 * An RTP session on a pair of UDP sockets (port, port + 1) driving an {@linkcode RtpSession}:
 * it delivers valid packets to `onPacket`, sends RTCP reports on the session's timer, answers
 * SSRC collisions with a BYE and sends a BYE on close.
 *
 * @example Loopback send and receive
 * ```ts
 * import { RtpSocket } from "@rtclite/std/ietf/rfc3550";
 * import { equal } from "node:assert/strict";
 *
 * const got: number[] = [];
 * await using rx = await RtpSocket.open({ onPacket: (p) => got.push(p.sequenceNumber) });
 * await using tx = await RtpSocket.open({ remote: { host: "127.0.0.1", port: rx.port } });
 * for (let i = 0; i < 3; i++) tx.send(0, new Uint8Array(160));
 * await new Promise((r) => setTimeout(r, 100));
 * equal(got.length, 2); // the first packet validates the source (probation)
 * ```
 */
export class RtpSocket implements AsyncDisposable {
  /** The session state. */
  readonly session: RtpSession;
  #rtp: dgram.Socket;
  #rtcp: dgram.Socket;
  #remote: { host: string; port: number; rtcpPort: number } | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #now: () => number;
  #queue: [Uint8Array, number, string][] = [];
  #onPacket: ((p: RtpPacket) => void) | undefined;
  #onRtcp: ((packets: RtcpPacket[], from: string) => void) | undefined;

  private constructor(rtp: dgram.Socket, rtcp: dgram.Socket, options: RtpSocketOptions) {
    this.#rtp = rtp;
    this.#rtcp = rtcp;
    this.session = new RtpSession(options);
    this.#now = options.now ?? Date.now;
    this.#onPacket = options.onPacket;
    this.#onRtcp = options.onRtcp;
    if (options.remote) {
      this.setRemote(options.remote.host, options.remote.port, options.remote.rtcpPort);
    }
    rtp.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => this.#onRtpMessage(msg, rinfo));
    rtcp.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
      const packets = this.session.receiveRtcp(
        new Uint8Array(msg),
        `${rinfo.address}:${rinfo.port}`,
      );
      if (packets) this.#onRtcp?.(packets, `${rinfo.address}:${rinfo.port}`);
    });
    rtp.on("error", (e: Error) => log.warn("RTP socket error: {e}", { e: e.message }));
    rtcp.on("error", (e: Error) => log.warn("RTCP socket error: {e}", { e: e.message }));
    this.#schedule();
  }

  /**
   * Binds the RTP and RTCP sockets.
   *
   * @param options Address, port, session options and callbacks.
   * @returns The open socket pair.
   */
  static async open(options: RtpSocketOptions = {}): Promise<RtpSocket> {
    const host = options.host ?? "127.0.0.1";
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = options.port ?? 0;
      const rtp = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
      try {
        await bind(rtp, host, port);
        const actual = rtp.address().port;
        if (port === 0 && actual % 2 === 1) throw new Error("odd port");
        const rtcp = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
        try {
          await bind(rtcp, host, actual + 1);
        } catch (e) {
          rtcp.close();
          throw e;
        }
        return new RtpSocket(rtp, rtcp, options);
      } catch (e) {
        rtp.close();
        if (options.port) throw e;
      }
    }
    throw new Error("Cannot open RTP socket: no free port pair found");
  }

  /** Local RTP port. */
  get port(): number {
    return this.#rtp.address().port;
  }

  /**
   * Sets where media and RTCP go.
   *
   * @param host Remote address.
   * @param port Remote RTP port.
   * @param rtcpPort Remote RTCP port (default port + 1).
   */
  setRemote(host: string, port: number, rtcpPort?: number): void {
    this.#remote = { host, port, rtcpPort: rtcpPort ?? port + 1 };
  }

  #onRtpMessage(msg: Uint8Array, rinfo: dgram.RemoteInfo): void {
    const r = this.session.receiveRtp(new Uint8Array(msg), `${rinfo.address}:${rinfo.port}`);
    if (r.kind === "media") this.#onPacket?.(r.packet);
    else if (r.kind === "collision") this.#sendRtcp(r.bye);
  }

  #sendRtcp(bytes: Uint8Array): void {
    if (this.#remote && !this.#closed) {
      this.#rtcp.send(bytes, this.#remote.rtcpPort, this.#remote.host);
    }
  }

  #schedule(): void {
    if (this.#closed || !Number.isFinite(this.session.nextTimer)) return;
    const delay = Math.max(0, this.session.nextTimer - this.#now());
    this.#timer = setTimeout(() => {
      const report = this.session.onTimer();
      if (report) this.#sendRtcp(report);
      this.#schedule();
    }, delay);
  }

  /**
   * Sends one RTP packet to the remote peer.
   *
   * @param payloadType Payload type.
   * @param payload Payload bytes.
   * @param options Timestamp (default: media clock) and marker.
   */
  send(
    payloadType: number,
    payload: Uint8Array,
    options: { timestamp?: number; marker?: boolean } = {},
  ): void {
    if (!this.#remote || this.#closed) return;
    const bytes = this.session.sendRtp({ payloadType, payload, ...options });
    this.#queue.push([bytes, this.#remote.port, this.#remote.host]);
    if (this.#queue.length === 1) this.#drain();
  }

  // node:dgram may reorder datagrams sent in a burst: send one at a time, in order.
  #drain(): void {
    const next = this.#queue[0];
    if (!next || this.#closed) return;
    this.#rtp.send(next[0], next[1], next[2], () => {
      this.#queue.shift();
      this.#drain();
    });
  }

  /**
   * Sends a BYE and closes both sockets.
   *
   * @param reason Optional BYE reason.
   */
  async close(reason?: string): Promise<void> {
    if (this.#closed) return;
    let bye = this.session.bye(reason);
    // A deferred BYE (more than 50 members) goes out from the timer; wait for it, bounded.
    for (let i = 0; !bye && this.session.leaving && i < 50; i++) {
      await new Promise((r) =>
        setTimeout(r, Math.min(200, Math.max(0, this.session.nextTimer - this.#now())))
      );
      bye = this.session.onTimer();
    }
    if (bye && this.#remote) {
      await new Promise<void>((resolve) =>
        this.#rtcp.send(bye, this.#remote!.rtcpPort, this.#remote!.host, () => resolve())
      );
    }
    this.#closed = true;
    clearTimeout(this.#timer);
    await Promise.all([closeSocket(this.#rtp), closeSocket(this.#rtcp)]);
  }

  /** Same as {@linkcode RtpSocket.prototype.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function bind(s: dgram.Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.bind(port, host, () => {
      s.off("error", reject);
      resolve();
    });
  });
}

function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

// === Command line ===

async function cliMain(argv: string[]): Promise<number> {
  const { parseVerbosity, setupLogging } = await import("../log.ts");
  const { audioCodec, readWav, writeWav } = await import("./rfc3551.ts");
  const { level, args: rest } = parseVerbosity(argv);
  await setupLogging(level);
  const flags = new Map<string, string>();
  const args: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a.startsWith("--")) flags.set(a.slice(2), rest[++i] ?? "");
    else args.push(a);
  }
  const usage =
    "Usage:\n  rfc3550.ts send HOST:PORT (FILE.wav|tone:HZ) [--pt 0|8] [--duration S] [--port LOCAL]\n" +
    "  rfc3550.ts recv [HOST:]PORT OUT.wav [--duration S] [--pt 0|8]";
  const pt = Number(flags.get("pt") ?? 0);
  const codec = audioCodec(pt === 8 ? "PCMA" : "PCMU")!;
  const duration = Number(flags.get("duration") ?? (args[0] === "recv" ? 5 : 0));
  const hostPort = (s: string): [string, number] => {
    const i = s.lastIndexOf(":");
    return i < 0 ? ["127.0.0.1", Number(s)] : [s.slice(0, i), Number(s.slice(i + 1))];
  };
  if (args[0] === "send" && args.length === 3) {
    const [host, port] = hostPort(args[1]!);
    let samples: Int16Array;
    if (args[2]!.startsWith("tone:")) {
      const hz = Number(args[2]!.slice(5));
      samples = new Int16Array(8000 * (duration || 3)).map((_, i) =>
        Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 8000))
      );
    } else {
      const wav = readWav(await Deno.readFile(args[2]!));
      if (wav.sampleRate !== 8000 || wav.channels !== 1) {
        console.error("The WAV file must be 8000 Hz mono (app/net/media.ts resamples)");
        return 2;
      }
      samples = duration ? wav.samples.subarray(0, duration * 8000) : wav.samples;
    }
    const options: RtpSocketOptions = { remote: { host, port } };
    if (flags.has("port")) options.port = Number(flags.get("port"));
    const sock = await RtpSocket.open(options);
    const start = performance.now();
    let ts = crypto.getRandomValues(new Uint32Array(1))[0]!;
    for (let i = 0; i * 160 < samples.length; i++) {
      const frame = new Int16Array(160);
      frame.set(samples.subarray(i * 160, i * 160 + 160));
      sock.send(pt, codec.encode(frame), { timestamp: ts, marker: i === 0 });
      ts = (ts + 160) >>> 0;
      const wait = start + (i + 1) * 20 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    console.log(JSON.stringify(sock.session.stats(), null, 2));
    await sock.close("done");
    return 0;
  }
  if (args[0] === "recv" && args.length === 3) {
    const [host, port] = hostPort(args[1]!);
    let first: number | undefined;
    const chunks = new Map<number, Int16Array>();
    let lastHeard = performance.now();
    const sock = await RtpSocket.open({
      host,
      port,
      onPacket: (p) => {
        lastHeard = performance.now();
        if (p.payloadType !== pt) return;
        first ??= p.timestamp;
        const at = (p.timestamp - first) | 0;
        if (at >= 0 && at < 8000 * 3600) chunks.set(at, codec.decode(p.payload));
      },
    });
    const started = performance.now();
    while (performance.now() - started < duration * 1000) {
      await new Promise((r) => setTimeout(r, 50));
      if (first !== undefined && performance.now() - lastHeard > 2000) break;
    }
    let length = 0;
    for (const [at, c] of chunks) length = Math.max(length, at + c.length);
    const samples = new Int16Array(length);
    for (const [at, c] of chunks) samples.set(c, at);
    await Deno.writeFile(args[2]!, writeWav({ sampleRate: 8000, channels: 1, samples }));
    console.log(JSON.stringify(sock.session.stats(), null, 2));
    await sock.close();
    return 0;
  }
  console.error(usage);
  return 2;
}

if (import.meta.main) Deno.exit(await cliMain(Deno.args));
