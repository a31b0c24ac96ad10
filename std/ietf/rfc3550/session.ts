// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * One participant's RTP session state, sans-I/O (RFC 3550 §6.3, §8, Appendix A): NTP time,
 * sequence validation, jitter and loss, the RTCP transmission interval with reconsideration,
 * and {@linkcode RtpSession}, which takes packets and the time from an injected clock and
 * returns packets to send and the time of the next RTCP transmission. Re-exported by
 * `@rtclite/std/ietf/rfc3550`; the sockets are in `@rtclite/std/ietf/rfc3550/udp`.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc3550#section-6.3 | RFC 3550 §6.3}.
 *
 * @example A receiver report on a virtual clock
 * ```ts
 * import { RtpSession } from "@rtclite/std/ietf/rfc3550/session";
 * import { decodeRtcp } from "@rtclite/std/ietf/rfc3550/rtcp";
 * import { equal } from "node:assert/strict";
 *
 * let t = 0;
 * const s = new RtpSession({ ssrc: 1, now: () => t, random: () => 0.5 });
 * t = s.nextTimer;
 * equal(decodeRtcp(s.onTimer()!)[0]!.type, "rr");
 * ```
 *
 * @module
 */

import { getLogger } from "../../log.ts";
import { decodeRtp, encodeRtp, type RtpExtension, type RtpPacket } from "./rtp.ts";
import {
  decodeRtcp,
  encodeRtcp,
  type Goodbye,
  type ReportBlock,
  type RtcpPacket,
  SdesType,
} from "./rtcp.ts";

const log = getLogger("rtp");

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
  /**
   * RTCP datagrams accepted although they do not start with an SR or RR: a peer's lone BYE
   * or APP, or reduced-size RTCP (RFC 5506).
   */
  nonCompound: number;
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
  #nonCompound = 0;
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
   * handles BYE with reverse reconsideration (§6.3.4). A datagram that does not start with an
   * SR or RR (a lone BYE or APP) is accepted and counted in `stats().nonCompound`.
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
   * s.receiveRtcp(encodeRtcp([{ type: "bye", sources: [9] }]), "192.0.2.9:5"); // no RR first
   * equal(s.stats().members, 1);
   * equal(s.stats().nonCompound, 1);
   * equal(s.receiveRtcp(new Uint8Array(3), "x"), undefined);
   * ```
   */
  receiveRtcp(buf: Uint8Array, from: string): RtcpPacket[] | undefined {
    let packets: RtcpPacket[];
    try {
      // Liberal in what we accept: a peer's BYE or APP that does not start with an SR or RR
      // (baresip sends both) passes every other check of §A.2 and is counted, not dropped.
      // @implements RFC3550 §6.1
      packets = decodeRtcp(buf, { compound: false });
    } catch {
      this.#dropped++;
      return undefined;
    }
    const first = packets[0]!.type;
    if (first !== "sr" && first !== "rr") this.#nonCompound++;
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

  /**
   * Whether a remote source has left with a BYE (and has not yet been forgotten, 2 s later).
   *
   * @param ssrc The source.
   * @returns `true` after an accepted BYE for `ssrc` from its own transport address.
   * @see {@link https://www.rfc-editor.org/rfc/rfc3550#section-6.3.4 | RFC 3550 §6.3.4}
   *
   * @example
   * ```ts
   * import { encodeRtcp, RtpSession } from "@rtclite/std/ietf/rfc3550";
   * import { equal } from "node:assert/strict";
   *
   * const s = new RtpSession({ ssrc: 1 });
   * s.receiveRtcp(encodeRtcp([{ type: "rr", ssrc: 9, reports: [] }]), "192.0.2.9:5");
   * equal(s.hasLeft(9), false);
   * s.receiveRtcp(encodeRtcp([{ type: "bye", sources: [9], reason: "hangup" }]), "192.0.2.9:5");
   * equal(s.hasLeft(9), true);
   * ```
   */
  hasLeft(ssrc: number): boolean {
    return this.#sources.get(ssrc)?.left === true;
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
      nonCompound: this.#nonCompound,
      collisions: this.#collisions,
      members: this.#countMembers(),
      senders: this.#countSenders(),
    };
  }
}
