// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * RTMFP flows (RFC 7016 §3.6): a {@linkcode SendFlow} queues messages as fragments with sequence
 * numbers, builds User Data and Next User Data chunks, processes acknowledgements, abandons and
 * closes; a {@linkcode RecvFlow} keeps the set of sequence numbers seen, reorders and
 * reassembles fragments, delivers complete messages in order and builds the acknowledgements.
 * Flows live in an `RtmfpSession` (session.ts), which decides when packets go out (congestion
 * window, burst avoidance, retransmission timeout) and calls in here.
 *
 * @example A flow's messages arrive in order however the packets do
 * ```ts
 * import { RtmfpEndpoint, urlEpd } from "@rtclite/vnd/adobe/rtmfp";
 * import { deepEqual } from "node:assert/strict";
 *
 * let now = 0;
 * const toB: Uint8Array[] = [], toA: Uint8Array[] = [];
 * const a = new RtmfpEndpoint({ now: () => now, send: (d) => toA.push(d), keepalive: 0 });
 * const b = new RtmfpEndpoint({ now: () => now, send: (d) => toB.push(d), keepalive: 0 });
 * const got: number[] = [];
 * b.onSession = (s) => s.onFlow = (f) => f.onMessage = (m) => got.push(m.length);
 * const s = a.connect(urlEpd("rtmfp://b/"), [{ address: "10.0.0.2", port: 1 }]);
 * const pump = (reverse = false) => {
 *   while (toA.length || toB.length) {
 *     const batch = toA.splice(0);
 *     for (const d of reverse ? batch.reverse() : batch) b.receive(d, { address: "10.0.0.1", port: 1 });
 *     for (const d of toB.splice(0)) a.receive(d, { address: "10.0.0.2", port: 1 });
 *   }
 * };
 * pump();
 * const flow = s.openFlow(new Uint8Array([1]));
 * for (const n of [10, 3000, 20]) flow.send(new Uint8Array(n));
 * pump(true); // the packets of the 3000-byte message arrive last first
 * deepEqual(got, [10, 3000, 20]);
 * ```
 *
 * @module
 */
import { concat } from "@rtclite/std/bytes";
import {
  acknowledges,
  type BitmapAckChunk,
  type Chunk,
  type FragmentControl,
  type RangeAckChunk,
  RtmfpError,
  type RtmfpOption,
  type UserDataChunk,
} from "./packet.ts";

/**
 * What a flow needs from the session that carries it (an `RtmfpSession` of
 * `session.ts`, which imports this file): its clock, a way to send, and the
 * congestion control's view of acknowledgements.
 */
export interface FlowHost {
  /** The session's clock, in ms. */
  readonly now: number;
  /** Sends what can be sent now. */
  flush(): void;
  /** A receiving flow needs an acknowledgement (at once when `now`). */
  ackSoon(now: boolean): void;
  /** `bytes` of data up to transmission sequence number `tsn` were acknowledged. */
  acked(bytes: number, tsn: number): void;
}

/** Largest plain packet: with the checksum and padding it fits a 1192-byte datagram. */
export const MAX_PLAIN_PACKET = 1180;
const FLOW_RX_BUFFER = 65536;
const SEND_LINGER = 130_000;
const RECV_LINGER = 120_000;

/** @internal A SEND_QUEUE entry (§3.6.2). */
export interface SendEntry {
  sn: number;
  data: Uint8Array;
  fra: FragmentControl;
  abandoned: boolean;
  sentAbandoned: boolean;
  everSent: boolean;
  nakCount: number;
  inFlight: boolean;
  transmitSize: number;
  tsn: number;
  /** The message this fragment belongs to (fragments are abandoned together). */
  message: number;
  /** When the message is abandoned if not yet delivered (clock ms; Infinity: never). */
  deadline: number;
}

// === Sending flow (RFC 7016 §3.6.2) ===

/** Sending flow states (§3.6.2, Figure 19). */
export type SendFlowState = "open" | "closing" | "completeLinger" | "closed";

/** A flow of messages to the far end. */
export class SendFlow {
  /** F_FLOW_ID. */
  readonly id: number;
  /** The state. */
  state: SendFlowState = "open";
  /** RX_BUFFER_SIZE: the far end's last buffer advertisement, bytes. */
  rxBufferSize: number = FLOW_RX_BUFFER;
  /** Set when the receiver reported an exception (rejected the flow). */
  exceptionCode: number | undefined;
  /** @internal When a completed flow stops lingering and closes. */
  lingerUntil: number | undefined;
  /** Real-time data: packets carrying it are marked time critical (§2.2.4). */
  timeCritical = false;
  /** Called when the receiver rejects the flow. */
  onException?: (code: number) => void;
  /** Called when every message has been acknowledged after {@linkcode close}. */
  onComplete?: () => void;
  /** @internal SEND_QUEUE. */
  readonly queue: SendEntry[] = [];
  readonly #session: FlowHost;
  #startupOptions: RtmfpOption[];
  #nextSn = 1;
  #nextMessage = 1;
  #finalSn: number | undefined;
  #probeAt: number | undefined;

  /** @internal Use `RtmfpSession.openFlow` (session.ts). */
  constructor(session: FlowHost, id: number, startupOptions: RtmfpOption[]) {
    this.#session = session;
    this.id = id;
    this.#startupOptions = startupOptions;
  }

  /** F_OUTSTANDING_BYTES. */
  get outstandingBytes(): number {
    let n = 0;
    for (const e of this.queue) if (e.inFlight) n += e.transmitSize;
    return n;
  }

  /** Bytes queued and not yet acknowledged. */
  get bufferedBytes(): number {
    return this.queue.reduce((n, e) => n + e.data.length, 0);
  }

  /**
   * Queues a message (§3.6.2.2), fragmenting it to fit a packet.
   *
   * @param message The message.
   * @param options `lifetime`: milliseconds after which the message is abandoned if it has
   * not been delivered (partial reliability, for real-time media); default: reliable.
   */
  // @implements RFC7016 §3.6.2.2
  send(message: Uint8Array, options: { lifetime?: number } = {}): void {
    if (this.state !== "open") {
      throw new RtmfpError(`Cannot send on flow ${this.id}: ${this.state}`);
    }
    const deadline = this.#session.now + (options.lifetime ?? Infinity);
    const id = this.#nextMessage++;
    const overhead = 5 + 3 + 1 + 3 * 8 +
      this.#startupOptions.reduce((n, o) => n + o.value.length + 10, 1);
    const max = MAX_PLAIN_PACKET - overhead;
    const count = Math.max(1, Math.ceil(message.length / max));
    for (let i = 0; i < count; i++) {
      const fra: FragmentControl = count === 1 ? 0 : i === 0 ? 1 : i === count - 1 ? 2 : 3;
      this.queue.push({
        sn: this.#nextSn++,
        data: message.subarray(i * max, (i + 1) * max),
        fra,
        abandoned: false,
        sentAbandoned: false,
        everSent: false,
        nakCount: 0,
        inFlight: false,
        transmitSize: 0,
        tsn: 0,
        message: id,
        deadline,
      });
    }
    this.#session.flush();
  }

  /**
   * Abandons every queued message not yet acknowledged (§3.6.2.7): they will not be sent or
   * resent, and the receiver skips them (Forward Sequence Number Update, §3.6.2.7.1).
   */
  // @implements RFC7016 §3.6.2.7
  abandon(): void {
    for (const e of this.queue) e.abandoned = true;
    this.#session.flush();
  }

  // Messages past their lifetime are abandoned, all their fragments together.
  #expire(now: number): void {
    const late = new Set<number>();
    for (const e of this.queue) if (!e.abandoned && e.deadline <= now) late.add(e.message);
    if (late.size) { for (const e of this.queue) if (late.has(e.message)) e.abandoned = true; }
  }

  /**
   * Closes the flow (§3.6.2.11): the last fragment is marked final (an abandoned one is queued
   * when nothing is left to send).
   */
  // @implements RFC7016 §3.6.2.11
  close(): void {
    if (this.state !== "open") return;
    this.state = "closing";
    const tail = this.queue[this.queue.length - 1];
    if (tail && !tail.everSent) this.#finalSn = tail.sn;
    else {
      this.#finalSn = this.#nextSn;
      this.queue.push({
        sn: this.#nextSn++,
        data: new Uint8Array(),
        fra: 0,
        abandoned: true,
        sentAbandoned: false,
        everSent: false,
        nakCount: 0,
        inFlight: false,
        transmitSize: 0,
        tsn: 0,
        message: this.#nextMessage++,
        deadline: Infinity,
      });
    }
    this.#session.flush();
  }

  /** @internal The receiver reported an exception (§3.6.2.10). */
  // @implements RFC7016 §3.6.2.10
  exception(code: number): void {
    if (this.exceptionCode !== undefined) return;
    this.exceptionCode = code;
    if (this.state === "open") this.close();
    for (const e of this.queue) e.abandoned = true;
    this.onException?.(code);
  }

  /** @internal The session closed under the flow. */
  abort(): void {
    this.state = "closed";
    this.queue.length = 0;
  }

  // @implements RFC7016 §3.6.2.3 ¶2
  #eligible(e: SendEntry, i: number): boolean {
    return !e.inFlight && (!e.abandoned || i === 0 || e.sn === this.#finalSn);
  }

  /** @internal */
  nextEligible(): SendEntry | undefined {
    this.#trim();
    return this.queue.find((e, i) => this.#eligible(e, i));
  }

  /** @internal Ready to transmit (§3.6.2.3 ¶1). */
  ready(): boolean {
    if (this.state === "closed" || this.state === "completeLinger") return false;
    this.#expire(this.#session.now);
    if (!this.nextEligible()) return false;
    return this.rxBufferSize > this.outstandingBytes || this.exceptionCode !== undefined;
  }

  // Trims abandoned entries from the front, before an entry is chosen (§3.6.2.3 ¶5 step 1).
  // @implements RFC7016 §3.6.2.3 ¶5
  #trim(): void {
    while (this.queue.length >= 2 && !this.queue[0]!.inFlight && this.queue[0]!.abandoned) {
      this.queue.shift();
    }
  }

  // The Forward Sequence Number (§3.6.2.3 ¶5 steps 2-4), on a trimmed queue.
  #fsn(): number {
    const first = this.queue[0]!;
    if (!first.abandoned) return first.sn - 1;
    if (first.inFlight && !first.sentAbandoned) return first.sn - 1;
    return first.sn;
  }

  /** @internal Encodes an entry as User Data or Next User Data (§3.6.2.3 ¶6, §3.6.2.3.2). */
  chunkFor(entry: SendEntry, packet: Chunk[]): Chunk {
    const fsn = this.#fsn();
    const data = entry.abandoned ? new Uint8Array() : entry.data;
    const final = entry.sn === this.#finalSn;
    // @implements RFC7016 §3.6.2.3.1
    const options = this.#startupOptions.length &&
        !packet.some((c) => c.type === "userData" && c.flowId === this.id)
      ? this.#startupOptions
      : undefined;
    // The run of User Data / Next User Data chunks at the end of the packet.
    let runFlow: number | undefined, runSn = 0, runFsn = 0;
    for (let i = packet.length - 1, next = 0; i >= 0; i--) {
      const c = packet[i]!;
      if (c.type === "nextUserData") {
        next++;
        continue;
      }
      if (c.type === "userData") {
        runFlow = c.flowId;
        runSn = c.sequenceNumber + next;
        runFsn = c.sequenceNumber - c.fsnOffset;
      }
      break;
    }
    // @implements RFC7016 §3.6.2.3.2
    if (!options && runFlow === this.id && runSn === entry.sn - 1 && runFsn === fsn) {
      return { type: "nextUserData", fragment: entry.fra, abandon: entry.abandoned, final, data };
    }
    return {
      type: "userData",
      flowId: this.id,
      sequenceNumber: entry.sn,
      fsnOffset: entry.sn - fsn,
      fragment: entry.fra,
      abandon: entry.abandoned,
      final,
      options,
      data,
    };
  }

  /** @internal Processes an acknowledgement (§3.6.2.4). */
  // @implements RFC7016 §3.6.2.4
  acknowledge(ack: BitmapAckChunk | RangeAckChunk): void {
    const before = this.outstandingBytes;
    this.#startupOptions = [];
    this.rxBufferSize = ack.bufferBlocksAvailable * 1024;
    let maxTsn = 0;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const e = this.queue[i]!;
      if (e.inFlight && acknowledges(ack, e.sn)) {
        maxTsn = Math.max(maxTsn, e.tsn);
        this.queue.splice(i, 1);
      }
    }
    this.#session.acked(before - this.outstandingBytes, maxTsn);
    this.#probeAt = this.rxBufferSize === 0 ? this.#session.now : undefined;
    if (
      this.state === "closing" && this.#finalSn !== undefined && ack.cumulativeAck >= this.#finalSn
    ) {
      // @implements RFC7016 §3.6.2.11 ¶3-4
      this.state = "completeLinger";
      this.lingerUntil = this.#session.now + SEND_LINGER;
      this.onComplete?.();
    }
  }

  /** @internal When a Buffer Probe is due: the receiver advertised no room and data waits. */
  probeTime(erto: number): number | undefined {
    if (this.#probeAt === undefined || this.rxBufferSize > 0) return undefined;
    if (!this.queue.some((e) => !e.inFlight)) return undefined;
    return this.#probeAt + erto;
  }

  /** @internal Whether to send a Buffer Probe now. */
  probeDue(now: number, erto: number): boolean {
    const t = this.probeTime(erto);
    if (t === undefined || now < t) return false;
    this.#probeAt = now;
    return true;
  }
}

// === Receiving flow (RFC 7016 §3.6.3) ===

/** Receiving flow states (§3.6.3, Figure 22). */
export type RecvFlowState = "open" | "rejected" | "completeLinger" | "closed";

/** A flow of messages from the far end. */
export class RecvFlow {
  /** RF_FLOW_ID. */
  readonly id: number;
  /** The user's per-flow metadata. */
  readonly metadata: Uint8Array;
  /** The sending flow this one answers, if any. */
  readonly returnFlowId: number | undefined;
  /** The state. */
  state: RecvFlowState = "open";
  /** Called with each complete message, in order. */
  onMessage?: (message: Uint8Array) => void;
  /** Called when every message up to the final one was delivered. */
  onComplete?: () => void;
  /** The exception code reported when rejected. */
  exceptionCode = 0;
  /** BUFFER_CAPACITY, bytes. */
  bufferCapacity: number = FLOW_RX_BUFFER;
  /** @internal SHOULD_ACK. */
  shouldAck = false;
  /** @internal When a completed flow stops lingering and closes. */
  lingerUntil: number | undefined;
  readonly #session: FlowHost;
  // SEQUENCE_SET as sorted disjoint ranges.
  #ranges: [number, number][] = [[0, 0]];
  #finalSn: number | undefined;
  #buffer: { sn: number; data: Uint8Array; fra: FragmentControl }[] = [];
  #prevRwnd: number | undefined;

  /** @internal Made by the session. */
  constructor(session: FlowHost, id: number, metadata: Uint8Array, returnFlowId?: number) {
    this.#session = session;
    this.id = id;
    this.metadata = metadata;
    this.returnFlowId = returnFlowId;
  }

  /** CSN: the highest sequence number of the contiguous range from 0. */
  get cumulativeAck(): number {
    return this.#ranges[0]![1];
  }

  /**
   * Rejects the flow: the sender is told with a Flow Exception Report (§3.6.3.7).
   *
   * @param code The exception code (0 for automatic rejections).
   */
  // @implements RFC7016 §3.6.3.7
  reject(code = 0): void {
    if (this.state !== "open") return;
    this.state = "rejected";
    this.exceptionCode = code;
    this.#buffer = [];
    this.shouldAck = true;
    this.#session.ackSoon(true);
    this.#session.flush();
  }

  /** @internal The session closed. */
  abort(): void {
    this.state = "closed";
    this.#buffer = [];
  }

  #has(sn: number): boolean {
    return this.#ranges.some(([a, b]) => sn >= a && sn <= b);
  }

  #add(from: number, to: number): void {
    const all = [...this.#ranges, [from, to] as [number, number]].sort((x, y) => x[0] - y[0]);
    const out: [number, number][] = [];
    for (const r of all) {
      const last = out[out.length - 1];
      if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
      else out.push([r[0], r[1]]);
    }
    this.#ranges = out;
  }

  /** @internal Processes a User Data fragment (§3.6.3.2). */
  // @implements RFC7016 §3.6.3.2
  receive(
    chunk: UserDataChunk | (Omit<UserDataChunk, "type" | "flowId"> & { type: "nextUserData" }),
    fsn: number,
  ): void {
    const sn = chunk.sequenceNumber;
    this.shouldAck = true;
    let now = this.state !== "open" || (this.#prevRwnd !== undefined && this.#prevRwnd < 2) ||
      chunk.abandon || this.#ranges.length > 1 || this.#has(sn);
    if (!this.#has(sn) && chunk.final && this.#finalSn === undefined) {
      this.#finalSn = sn;
      now = true;
    }
    if (this.state === "open" && !this.#has(sn) && !chunk.abandon) {
      // A sender that ignores the advertised window gets its excess dropped unacknowledged.
      if (this.#buffered() + chunk.data.length > this.bufferCapacity + FLOW_RX_BUFFER) {
        this.#session.ackSoon(true);
        return;
      }
      const i = this.#buffer.findIndex((e) => e.sn > sn);
      const entry = { sn, data: chunk.data, fra: chunk.fragment };
      if (i < 0) this.#buffer.push(entry);
      else this.#buffer.splice(i, 0, entry);
    }
    this.#add(0, fsn);
    this.#add(sn, sn);
    if (this.#ranges.length > 1) now = true;
    if (this.#buffered() + 1024 > this.bufferCapacity) now = true;
    this.#session.ackSoon(now);
    this.#deliver();
  }

  #buffered(): number {
    return this.#buffer.reduce((n, e) => n + e.data.length, 0);
  }

  // @implements RFC7016 §3.6.3.3
  #deliver(): void {
    const csn = this.cumulativeAck;
    while (this.#buffer.length && this.#buffer[0]!.sn <= csn && this.state === "open") {
      const first = this.#buffer[0]!;
      if (first.fra === 0) {
        this.#buffer.shift();
        this.onMessage?.(first.data);
        continue;
      }
      if (first.fra === 2 || first.fra === 3) {
        this.#buffer.shift();
        continue;
      }
      let last = 0;
      while (
        last + 1 < this.#buffer.length &&
        this.#buffer[last + 1]!.sn === this.#buffer[last]!.sn + 1 &&
        this.#buffer[last]!.fra !== 2 &&
        (this.#buffer[last + 1]!.fra === 3 || this.#buffer[last + 1]!.fra === 2)
      ) last++;
      const end = this.#buffer[last]!;
      if (end.fra === 2) {
        const parts = this.#buffer.splice(0, last + 1);
        this.onMessage?.(concat(parts.map((p) => p.data)));
      } else if (end.sn < csn) {
        this.#buffer.splice(0, last + 1);
      } else break;
    }
    // @implements RFC7016 §3.6.3.8
    if (this.#finalSn !== undefined && this.#finalSn === csn && this.#buffer.length === 0) {
      if (this.state === "open" || this.state === "rejected") {
        const wasOpen = this.state === "open";
        this.state = "completeLinger";
        this.lingerUntil = this.#session.now + RECV_LINGER;
        this.shouldAck = true;
        this.#session.ackSoon(true);
        if (wasOpen) this.onComplete?.();
      }
    }
  }

  // @implements RFC7016 §3.6.3.5
  #bufferBlocks(): number {
    if (this.state !== "open") return 0;
    const free = Math.max(0, this.bufferCapacity - this.#buffered());
    return Math.floor(free / 1024);
  }

  /** @internal A Range Ack of SEQUENCE_SET. */
  rangeAck(): RangeAckChunk {
    const blocks = this.#bufferBlocks();
    this.#prevRwnd = blocks;
    return {
      type: "rangeAck",
      flowId: this.id,
      bufferBlocksAvailable: blocks,
      cumulativeAck: this.cumulativeAck,
      ranges: this.#ranges.slice(1).map(([a, b]) => [a, b]),
    };
  }

  /** @internal A Bitmap Ack of SEQUENCE_SET, or `undefined` when it would be long (a range ack is then shorter anyway). */
  bitmapAck(): BitmapAckChunk | undefined {
    const csn = this.cumulativeAck;
    const top = this.#ranges[this.#ranges.length - 1]![1];
    if (top - csn > 8 * 64) return undefined;
    const bitmap = new Uint8Array(Math.ceil(Math.max(0, top - csn - 1) / 8));
    for (const [a, b] of this.#ranges.slice(1)) {
      for (let s = a; s <= b; s++) {
        const k = s - csn - 2;
        bitmap[k >> 3]! |= 1 << (k & 7);
      }
    }
    const blocks = this.#bufferBlocks();
    this.#prevRwnd = blocks;
    return {
      type: "bitmapAck",
      flowId: this.id,
      bufferBlocksAvailable: blocks,
      cumulativeAck: csn,
      bitmap,
    };
  }
}
