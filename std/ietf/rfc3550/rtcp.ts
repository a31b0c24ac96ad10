// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * RTCP packets (RFC 3550 §6.4-§6.7): sender and receiver reports, SDES, BYE and APP, decoded
 * from and encoded to compound packets with the validity checks of §A.2
 * ({@linkcode decodeRtcp}, {@linkcode encodeRtcp}). Re-exported by `@rtclite/std/ietf/rfc3550`.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc3550#section-6 | RFC 3550 §6}.
 *
 * @example A receiver report with a BYE
 * ```ts
 * import { decodeRtcp, encodeRtcp } from "@rtclite/std/ietf/rfc3550/rtcp";
 * import { equal } from "node:assert/strict";
 *
 * const bytes = encodeRtcp([{ type: "rr", ssrc: 1, reports: [] }, { type: "bye", sources: [1] }]);
 * equal(decodeRtcp(bytes)[1]!.type, "bye");
 * ```
 *
 * @module
 */

import { ByteWriter } from "../../bytes.ts";
import { ParseError } from "../../errors.ts";

export { ParseError };

/** A packet that is not a valid (compound) RTCP packet. */
export class RtcpParseError extends ParseError {}

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
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
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
    out.push(decodeOne(buf, view, o, end, pt, count));
    o += len;
  }
  return out;
}

function decodeReports(view: DataView, o: number, count: number, end: number): ReportBlock[] {
  if (o + count * 24 > end) {
    throw new RtcpParseError(`Cannot decode RTCP report blocks: ${count} blocks do not fit`, o);
  }
  const r: ReportBlock[] = [];
  for (let i = 0; i < count; i++, o += 24) {
    const lost = view.getUint32(o + 4) & 0xffffff;
    r.push({
      ssrc: view.getUint32(o),
      fractionLost: view.getUint8(o + 4),
      packetsLost: lost & 0x800000 ? lost - 0x1000000 : lost,
      highestSequence: view.getUint32(o + 8),
      jitter: view.getUint32(o + 12),
      lastSenderReport: view.getUint32(o + 16),
      delaySinceLastSenderReport: view.getUint32(o + 20),
    });
  }
  return r;
}

function decodeOne(
  buf: Uint8Array,
  view: DataView,
  o: number,
  end: number,
  pt: number,
  count: number,
): RtcpPacket {
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
        ssrc: view.getUint32(o + 4),
        ntpSeconds: view.getUint32(o + 8),
        ntpFraction: view.getUint32(o + 12),
        rtpTimestamp: view.getUint32(o + 16),
        packetCount: view.getUint32(o + 20),
        octetCount: view.getUint32(o + 24),
        reports: decodeReports(view, o + 28, count, end),
      };
      if (o + 28 + count * 24 < end) p.extension = buf.subarray(o + 28 + count * 24, end);
      return p;
    }
    // @implements RFC3550 §6.4.2
    case RtcpType.RR: {
      need(8 + count * 24, "RR");
      const p: ReceiverReport = {
        type: "rr",
        ssrc: view.getUint32(o + 4),
        reports: decodeReports(view, o + 8, count, end),
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
        const chunk: SdesChunk = { ssrc: view.getUint32(q), items: [] };
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
      for (let i = 0; i < count; i++) sources.push(view.getUint32(o + 4 + i * 4));
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
        ssrc: view.getUint32(o + 4),
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
  const w = new ByteWriter(128);
  for (const p of packets) encodeOne(w, p);
  return w.finish();
}

function encodeReports(w: ByteWriter, reports: readonly ReportBlock[]): void {
  for (const r of reports) {
    w.u32(r.ssrc);
    const lost = Math.max(-0x800000, Math.min(0x7fffff, r.packetsLost)) & 0xffffff;
    w.u32(((r.fractionLost & 0xff) << 24) | lost);
    w.u32(r.highestSequence);
    w.u32(r.jitter);
    w.u32(r.lastSenderReport);
    w.u32(r.delaySinceLastSenderReport);
  }
}

/** Zero bytes up to the next 32-bit boundary after `start`. */
function pad4(w: ByteWriter, start: number): void {
  while ((w.pos - start) % 4) w.u8(0);
}

function encodeOne(w: ByteWriter, p: RtcpPacket): void {
  const start = w.pos;
  w.u32(0); // the header, written last when the length is known
  let count: number;
  let pt: number;
  switch (p.type) {
    case "sr":
      w.u32(p.ssrc);
      w.u32(p.ntpSeconds);
      w.u32(p.ntpFraction);
      w.u32(p.rtpTimestamp);
      w.u32(p.packetCount);
      w.u32(p.octetCount);
      encodeReports(w, p.reports);
      if (p.extension) w.bytes(p.extension);
      [count, pt] = [p.reports.length, RtcpType.SR];
      break;
    case "rr":
      w.u32(p.ssrc);
      encodeReports(w, p.reports);
      if (p.extension) w.bytes(p.extension);
      [count, pt] = [p.reports.length, RtcpType.RR];
      break;
    // @implements RFC3550 §A.4
    case "sdes":
      for (const c of p.chunks) {
        const chunk = w.pos;
        w.u32(c.ssrc);
        for (const it of c.items) {
          const v = utf8.encode(it.value);
          const pre = it.prefix !== undefined ? utf8.encode(it.prefix) : undefined;
          const l = v.length + (pre ? pre.length + 1 : 0);
          if (l > 255) {
            throw new RangeError(`Cannot encode SDES item ${it.type}: ${l} bytes exceed 255`);
          }
          w.u8(it.type);
          w.u8(l);
          if (pre) {
            w.u8(pre.length);
            w.bytes(pre);
          }
          w.bytes(v);
        }
        w.u8(0); // the null item ends the chunk, then padding to a 32-bit boundary
        pad4(w, chunk);
      }
      [count, pt] = [p.chunks.length, RtcpType.SDES];
      break;
    case "bye": {
      const reason = p.reason !== undefined ? utf8.encode(p.reason) : undefined;
      if (reason && reason.length > 255) {
        throw new RangeError("Cannot encode BYE: reason exceeds 255 bytes");
      }
      for (const s of p.sources) w.u32(s);
      if (reason) {
        w.u8(reason.length);
        w.bytes(reason);
        pad4(w, start);
      }
      [count, pt] = [p.sources.length, RtcpType.BYE];
      break;
    }
    case "app":
      if (p.data.length % 4 !== 0) {
        throw new RangeError("Cannot encode APP: data is not a multiple of 4 bytes");
      }
      if (!/^[\x20-\x7e]{4}$/.test(p.name)) {
        throw new RangeError("Cannot encode APP: name must be 4 ASCII characters");
      }
      w.u32(p.ssrc);
      for (let i = 0; i < 4; i++) w.u8(p.name.charCodeAt(i));
      w.bytes(p.data);
      [count, pt] = [p.subtype, RtcpType.APP];
      break;
    case "unknown":
      if (p.body.length % 4 !== 0) {
        throw new RangeError("Cannot encode RTCP: body is not a multiple of 4 bytes");
      }
      w.bytes(p.body);
      [count, pt] = [p.count, p.packetType];
      break;
  }
  if (count > 31) {
    throw new RangeError(`Cannot encode RTCP packet type ${pt}: count ${count} exceeds 31`);
  }
  w.buf[start] = 0x80 | count;
  w.buf[start + 1] = pt;
  w.view.setUint16(start + 2, (w.pos - start) / 4 - 1);
}
