// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * Real-time text: ITU-T T.140 text over RTP with redundancy, as specified by RFC 4103.
 *
 * {@linkcode T140Sender} buffers typed text for the transmission interval (300 ms by default)
 * and emits `text/red` payloads (RFC 2198) whose primary is the new T140block and whose
 * redundant blocks repeat the previous ones, with empty blocks around idle periods.
 * {@linkcode T140Receiver} recovers text lost in one or two packets from the redundancy,
 * drops duplicates, and marks unrecoverable gaps with U+FFFD (the T.140 missing text marker).
 * Both are sans-I/O: the caller stamps sequence numbers and timestamps (1000 Hz) into RTP.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc4103 | RFC 4103}.
 *
 * @example Text survives the loss of a packet
 * ```ts
 * import { T140Receiver, T140Sender } from "@rtclite/std/itu_t/t140";
 * import { equal } from "node:assert/strict";
 *
 * const tx = new T140Sender();
 * const rx = new T140Receiver();
 * let seq = 100, got = "";
 * for (const [t, text] of [[0, "Hel"], [300, "lo"], [600, ""], [900, ""]] as const) {
 *   if (text) tx.write(text);
 *   const p = tx.poll(t);
 *   if (!p) continue;
 *   if (seq !== 101) got += rx.receive({ sequenceNumber: seq, ...p }); // packet 101 is lost
 *   seq++;
 * }
 * equal(got, "Hello");
 * ```
 *
 * @module
 */
// @implements RFC4103 (real-time text)

import { decodeRed, encodeRed, type RedundantBlock } from "../ietf/rfc2198.ts";

/** The T.140 missing text marker inserted for text that could not be recovered. */
export const MISSING_TEXT = "\ufffd";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One packet to send. */
export interface T140Packet {
  /** RTP timestamp (1000 Hz clock). */
  timestamp: number;
  /** Marker bit: set on the first packet after an idle period. */
  marker: boolean;
  /** Payload type: the `red` type, or `t140` when redundancy is off. */
  payloadType: number;
  /** The payload. */
  payload: Uint8Array;
}

/** Options of {@linkcode T140Sender}. */
export interface T140SenderOptions {
  /** Payload type of text/t140 (default 98). */
  t140PayloadType?: number;
  /** Payload type of text/red (default 100); ignored when `redundancy` is 0. */
  redPayloadType?: number;
  /** Redundant generations (default 2). */
  redundancy?: number;
  /** Buffering time in ms (default 300, RFC 4103 §5.1). */
  bufferMs?: number;
}

/**
 * Produces RTP payloads for typed text.
 *
 * @example
 * ```ts
 * import { T140Sender } from "@rtclite/std/itu_t/t140";
 * import { equal } from "node:assert/strict";
 *
 * const tx = new T140Sender({ redundancy: 0 });
 * tx.write("hi");
 * equal(new TextDecoder().decode(tx.poll(0)!.payload), "hi");
 * equal(tx.poll(100), undefined); // within the buffering time
 * ```
 */
export class T140Sender {
  #pending = "";
  #history: { timestamp: number; data: Uint8Array }[] = [];
  #lastSent = -Infinity;
  #owed = 0;
  #idle = true;
  #t140: number;
  #red: number;
  #depth: number;
  #buffer: number;

  /**
   * Creates a sender.
   *
   * @param options Payload types, redundancy and buffering time.
   */
  constructor(options: T140SenderOptions = {}) {
    this.#t140 = options.t140PayloadType ?? 98;
    this.#red = options.redPayloadType ?? 100;
    this.#depth = options.redundancy ?? 2;
    this.#buffer = options.bufferMs ?? 300;
  }

  /**
   * Queues text typed by the user.
   *
   * @param text T.140 text (UTF-8 when sent).
   */
  write(text: string): void {
    this.#pending += text;
  }

  /**
   * Returns the packet to send at time `now` (ms), if one is due: new text after an idle period
   * goes at once; otherwise one packet per buffering interval while text or owed redundancy
   * remains.
   *
   * @param now Current time in ms (also the RTP timestamp base, 1000 Hz).
   * @returns The packet, or `undefined`.
   * @see {@link https://www.rfc-editor.org/rfc/rfc4103#section-5.2 | RFC 4103 §5.2}
   */
  // @implements RFC4103 §5.1, RFC4103 §5.2
  poll(now: number): T140Packet | undefined {
    const hasText = this.#pending.length > 0;
    if (!hasText && this.#owed === 0) {
      this.#idle = true;
      return undefined;
    }
    if (!(this.#idle && hasText) && now - this.#lastSent < this.#buffer) return undefined;
    const data = enc.encode(this.#pending);
    this.#pending = "";
    const marker = this.#idle && hasText;
    this.#idle = false;
    this.#lastSent = now;
    const timestamp = now >>> 0;
    // After text, keep sending (empty primaries) until it went out in every generation.
    this.#owed = data.length ? Math.max(1, this.#depth) : Math.max(0, this.#owed - 1);
    if (this.#depth === 0) {
      if (!data.length) return undefined;
      return { timestamp, marker, payloadType: this.#t140, payload: data };
    }
    // @implements RFC4103 §4.2
    const redundant: RedundantBlock[] = [];
    for (const h of this.#history) {
      const off = (timestamp - h.timestamp) >>> 0;
      if (off <= 0x3fff) {
        redundant.push({ payloadType: this.#t140, timestampOffset: off, payload: h.data });
      }
    }
    this.#history.push({ timestamp, data });
    if (this.#history.length > this.#depth) this.#history.shift();
    return {
      timestamp,
      marker,
      payloadType: this.#red,
      payload: encodeRed({ redundant, primary: { payloadType: this.#t140, payload: data } }),
    };
  }
}

/**
 * Reassembles received text, recovering lost packets from redundancy.
 *
 * @example
 * ```ts
 * import { T140Receiver } from "@rtclite/std/itu_t/t140";
 * import { equal } from "node:assert/strict";
 *
 * const rx = new T140Receiver();
 * const t = (s: string) => new TextEncoder().encode(s);
 * equal(rx.receive({ sequenceNumber: 1, payloadType: 98, payload: t("a") }), "a");
 * // packets 2-4 were lost and there is no redundancy: one marker each
 * equal(rx.receive({ sequenceNumber: 5, payloadType: 98, payload: t("b") }), "\ufffd\ufffd\ufffdb");
 * ```
 */
export class T140Receiver {
  #expected: number | undefined;
  #t140: number;
  #red: number;

  /**
   * Creates a receiver.
   *
   * @param options Payload types of text/t140 (98) and text/red (100).
   */
  constructor(options: { t140PayloadType?: number; redPayloadType?: number } = {}) {
    this.#t140 = options.t140PayloadType ?? 98;
    this.#red = options.redPayloadType ?? 100;
  }

  /**
   * Takes one RTP packet and returns the text it makes available (possibly with U+FFFD for
   * text that was lost for good). Duplicates, old packets and malformed payloads yield `""`.
   *
   * @param p Sequence number, payload type and payload of the packet.
   * @returns New text, in order.
   * @see {@link https://www.rfc-editor.org/rfc/rfc4103#section-5.3 | RFC 4103 §5.3}
   */
  // @implements RFC4103 §5.3
  receive(p: { sequenceNumber: number; payloadType: number; payload: Uint8Array }): string {
    let primary: Uint8Array;
    let redundant: Uint8Array[] = [];
    if (p.payloadType === this.#red) {
      try {
        const red = decodeRed(p.payload);
        primary = red.primary.payload;
        redundant = red.redundant.map((b) => b.payload);
      } catch {
        return "";
      }
    } else if (p.payloadType === this.#t140) primary = p.payload;
    else return "";
    const seq = p.sequenceNumber & 0xffff;
    let out = "";
    if (this.#expected !== undefined) {
      const gap = (seq - this.#expected) & 0xffff;
      if (gap >= 0x8000) return ""; // old or duplicate
      for (let k = gap; k >= 1; k--) {
        // The packet k before this one is redundant block (n - k), when present.
        const block = redundant[redundant.length - k];
        if (block) out += dec.decode(block);
        else out += MISSING_TEXT;
      }
    }
    this.#expected = (seq + 1) & 0xffff;
    return out + dec.decode(primary);
  }
}
