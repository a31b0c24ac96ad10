// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * DTMF digits and telephone events over RTP: the `telephone-event` payload and the sender and
 * receiver behaviour for a key press. Named for RFC 2833, this module implements its successor
 * RFC 4733, which obsoletes it: sections cited are RFC 4733's, with RFC 2833's beside them.
 * The payload format (RFC 4733 §2.3) was RFC 2833 §3.5, the sending rules (§2.5.1.2, §2.5.1.4)
 * were §3.6, the DTMF event codes (§3.2) were §3.10; long-duration events (§2.5.1.3) and the
 * receiving procedures (§2.5.2) are new in RFC 4733.
 *
 * {@linkcode dtmfPackets} plans the packets of one key press — the first with the marker bit,
 * duration updates at the same timestamp, long events split into segments, and the final
 * packet with the E bit sent three times. {@linkcode DtmfReceiver} turns received packets into
 * one `start` and one `end` per event, ignoring duplicates and retransmissions.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc4733 | RFC 4733} (which obsoletes
 * {@link https://www.rfc-editor.org/rfc/rfc2833 | RFC 2833}).
 *
 * @example Plan a key press and receive it
 * ```ts
 * import { DtmfReceiver, dtmfPackets } from "@rtclite/std/ietf/rfc2833";
 * import { deepEqual } from "node:assert/strict";
 *
 * const rx = new DtmfReceiver();
 * const digits: string[] = [];
 * for (const p of dtmfPackets("5", { timestamp: 8000, durationMs: 100 })) {
 *   for (const e of rx.receive({ timestamp: p.timestamp, marker: p.marker, payload: p.payload })) {
 *     if (e.type === "end") digits.push(e.digit);
 *   }
 * }
 * deepEqual(digits, ["5"]);
 * ```
 *
 * @module
 */
// @implements RFC4733 (telephone events)

import { ParseError } from "../errors.ts";

export { ParseError };

/** A `telephone-event` payload that cannot be decoded. */
export class TelephoneEventParseError extends ParseError {}

// === Payload format (RFC 4733 §2.3; RFC 2833 §3.5) ===

/*
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     event     |E|R| volume    |          duration             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

/** One telephone event report. */
export interface TelephoneEvent {
  /** Event code (0-255); DTMF: 0-9, 10 `*`, 11 `#`, 12-15 `A`-`D`, 16 flash. */
  event: number;
  /** End bit. */
  end: boolean;
  /** Power level in -dBm0, 0-63 (DTMF: 0-36 used). */
  volume: number;
  /** Duration in timestamp units since the event (segment) began. */
  duration: number;
}

/**
 * Decodes a `telephone-event` payload; several 4-byte reports may be packed (RFC 4733 §2.5.1.5).
 *
 * @param payload The RTP payload.
 * @returns The reports.
 * @throws {TelephoneEventParseError} When the length is not a positive multiple of 4.
 * @see {@link https://www.rfc-editor.org/rfc/rfc4733#section-2.3 | RFC 4733 §2.3}
 * (RFC 2833: {@link https://www.rfc-editor.org/rfc/rfc2833#section-3.5 | §3.5})
 *
 * @example
 * ```ts
 * import { decodeTelephoneEvents } from "@rtclite/std/ietf/rfc2833";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodeTelephoneEvents(new Uint8Array([0x0b, 0x8a, 0x03, 0x20])),
 *   [{ event: 11, end: true, volume: 10, duration: 800 }]);
 * ```
 */
// @implements RFC4733 §2.3
export function decodeTelephoneEvents(payload: Uint8Array): TelephoneEvent[] {
  if (payload.length === 0 || payload.length % 4 !== 0) {
    throw new TelephoneEventParseError(
      `Cannot decode telephone-event payload: ${payload.length} bytes is not a positive multiple of 4`,
      0,
    );
  }
  const out: TelephoneEvent[] = [];
  for (let o = 0; o < payload.length; o += 4) {
    out.push({
      event: payload[o]!,
      end: (payload[o + 1]! & 0x80) !== 0,
      volume: payload[o + 1]! & 0x3f,
      duration: (payload[o + 2]! << 8) | payload[o + 3]!,
    });
  }
  return out;
}

/**
 * Encodes telephone event reports (the R bit is sent as zero, RFC 4733 §2.3.3).
 *
 * @param events The reports.
 * @returns The payload.
 * @throws {RangeError} For values out of range.
 *
 * @example
 * ```ts
 * import { encodeTelephoneEvents } from "@rtclite/std/ietf/rfc2833";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(encodeTelephoneEvents([{ event: 1, end: false, volume: 10, duration: 400 }]),
 *   new Uint8Array([1, 10, 1, 0x90]));
 * ```
 */
export function encodeTelephoneEvents(events: readonly TelephoneEvent[]): Uint8Array {
  const out = new Uint8Array(events.length * 4);
  events.forEach((e, i) => {
    if (
      e.event < 0 || e.event > 255 || e.volume < 0 || e.volume > 63 || e.duration < 0 ||
      e.duration > 0xffff
    ) {
      throw new RangeError(`Cannot encode telephone event ${e.event}: a field is out of range`);
    }
    out[4 * i] = e.event;
    out[4 * i + 1] = (e.end ? 0x80 : 0) | e.volume;
    out[4 * i + 2] = e.duration >> 8;
    out[4 * i + 3] = e.duration & 0xff;
  });
  return out;
}

// === DTMF events (RFC 4733 §3.2; RFC 2833 §3.10) ===

const DIGITS = "0123456789*#ABCD";

/**
 * Maps a DTMF key to its event code (`0`-`9`, `*`, `#`, `A`-`D`, and `!` for flash).
 *
 * @param digit The key.
 * @returns The event code.
 * @throws {RangeError} For other characters.
 * @see {@link https://www.rfc-editor.org/rfc/rfc4733#section-3.2 | RFC 4733 §3.2}
 * (RFC 2833: {@link https://www.rfc-editor.org/rfc/rfc2833#section-3.10 | §3.10})
 *
 * @example
 * ```ts
 * import { dtmfEvent } from "@rtclite/std/ietf/rfc2833";
 * import { equal } from "node:assert/strict";
 *
 * equal(dtmfEvent("#"), 11);
 * equal(dtmfEvent("d"), 15);
 * ```
 */
// @implements RFC4733 §3.2
export function dtmfEvent(digit: string): number {
  if (digit === "!") return 16;
  const i = DIGITS.indexOf(digit.toUpperCase());
  if (i < 0 || digit.length !== 1) throw new RangeError(`Cannot map "${digit}" to a DTMF event`);
  return i;
}

/**
 * Maps an event code to its DTMF key (`!` for flash, `?` for non-DTMF events).
 *
 * @param event The event code.
 * @returns The key.
 *
 * @example
 * ```ts
 * import { dtmfDigit } from "@rtclite/std/ietf/rfc2833";
 * import { equal } from "node:assert/strict";
 *
 * equal(dtmfDigit(10), "*");
 * equal(dtmfDigit(200), "?");
 * ```
 */
export function dtmfDigit(event: number): string {
  return event === 16 ? "!" : DIGITS[event] ?? "?";
}

// === Sending a key press (RFC 4733 §2.5.1; RFC 2833 §3.6) ===

/** One planned event packet. */
export interface PlannedEventPacket {
  /** When to send it, in ms after the key press began. */
  offsetMs: number;
  /** RTP timestamp (the event/segment start). */
  timestamp: number;
  /** Marker bit (first packet of the event). */
  marker: boolean;
  /** The telephone-event payload. */
  payload: Uint8Array;
}

/** Options of {@linkcode dtmfPackets}. */
export interface DtmfOptions {
  /** RTP timestamp at which the key press begins (same base as the audio). */
  timestamp: number;
  /** Key press length in ms (default 100). */
  durationMs?: number;
  /** Update interval in ms (default 50, RFC 4733 §2.5.1.2). */
  intervalMs?: number;
  /** Clock rate of the telephone-event payload (default 8000). */
  clockRate?: number;
  /** Volume in -dBm0 (default 10). */
  volume?: number;
  /** Longest segment duration in timestamp units (default 0xFFFF). */
  maxSegment?: number;
}

/**
 * Plans the packets of one key press: the first with the marker bit, then updates every
 * interval with the same timestamp and growing duration, new segments for events longer than
 * the duration field allows, and the final report with the E bit sent three times.
 *
 * @param digit A DTMF key (or event code).
 * @param options Timestamp, duration and timing.
 * @returns The packets in sending order.
 * @see {@link https://www.rfc-editor.org/rfc/rfc4733#section-2.5.1.2 | RFC 4733 §2.5.1.2}
 * (RFC 2833: {@link https://www.rfc-editor.org/rfc/rfc2833#section-3.6 | §3.6})
 *
 * @example
 * ```ts
 * import { decodeTelephoneEvents, dtmfPackets } from "@rtclite/std/ietf/rfc2833";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const p = dtmfPackets("1", { timestamp: 1000, durationMs: 100 });
 * deepEqual(p.map((x) => x.marker), [true, false, false, false]);
 * deepEqual(p.map((x) => decodeTelephoneEvents(x.payload)[0]!.duration), [400, 800, 800, 800]);
 * deepEqual(p.map((x) => decodeTelephoneEvents(x.payload)[0]!.end), [false, true, true, true]);
 * deepEqual(p.map((x) => x.offsetMs), [0, 50, 100, 150]);
 * equal(p[3]!.timestamp, 1000);
 * ```
 */
// @implements RFC4733 §2.5.1.2
export function dtmfPackets(digit: string | number, options: DtmfOptions): PlannedEventPacket[] {
  const event = typeof digit === "number" ? digit : dtmfEvent(digit);
  const rate = options.clockRate ?? 8000;
  const intervalMs = options.intervalMs ?? 50;
  const volume = options.volume ?? 10;
  const maxSeg = options.maxSegment ?? 0xffff;
  const total = Math.round(((options.durationMs ?? 100) * rate) / 1000);
  const step = Math.max(1, Math.round((intervalMs * rate) / 1000));
  const out: PlannedEventPacket[] = [];
  let segStart = 0; // in timestamp units since the key press began
  let elapsed = 0;
  let first = true;
  const push = (duration: number, end: boolean, at: number) => {
    out.push({
      offsetMs: (Math.max(0, at - step) * 1000) / rate,
      timestamp: (options.timestamp + segStart) >>> 0,
      marker: first,
      payload: encodeTelephoneEvents([{ event, end, volume, duration }]),
    });
    first = false;
  };
  for (;;) {
    elapsed = Math.min(elapsed + step, total);
    // @implements RFC4733 §2.5.1.3
    while (elapsed - segStart > maxSeg) {
      push(maxSeg, false, segStart + maxSeg);
      segStart += maxSeg;
    }
    if (elapsed >= total) break;
    push(elapsed - segStart, false, elapsed);
  }
  // @implements RFC4733 §2.5.1.4
  for (let i = 0; i < 3; i++) push(total - segStart, true, total + i * step);
  return out;
}

// === Receiving (RFC 4733 §2.5.2; not in RFC 2833) ===

/** What {@linkcode DtmfReceiver.prototype.receive} reports. */
export interface DtmfNotification {
  /** `start` when an event is first seen, `end` when it ends. */
  type: "start" | "end";
  /** Event code. */
  event: number;
  /** DTMF key of the event. */
  digit: string;
  /** RTP timestamp of the event's start. */
  timestamp: number;
  /** Duration so far (at `end`: total) in timestamp units, over all segments. */
  duration: number;
}

/**
 * Recognizes key presses from `telephone-event` packets: a new event is one with a timestamp
 * not seen before (a long event's later segments continue it); the E bit ends it, and
 * retransmitted end packets are ignored. Events whose end packets were all lost are ended by
 * {@linkcode DtmfReceiver.prototype.flush} or by the next event.
 *
 * @example
 * ```ts
 * import { DtmfReceiver, encodeTelephoneEvents } from "@rtclite/std/ietf/rfc2833";
 * import { equal } from "node:assert/strict";
 *
 * const rx = new DtmfReceiver();
 * const pkt = (d: number, end: boolean) => ({ timestamp: 160, marker: false,
 *   payload: encodeTelephoneEvents([{ event: 9, end, volume: 10, duration: d }]) });
 * equal(rx.receive(pkt(400, false))[0]?.type, "start"); // M bit lost: still recognized
 * equal(rx.receive(pkt(800, true))[0]?.type, "end");
 * equal(rx.receive(pkt(800, true)).length, 0); // retransmission
 * ```
 */
export class DtmfReceiver {
  #current:
    | { event: number; timestamp: number; base: number; segStart: number; duration: number }
    | undefined;
  #ended = new Set<number>();

  /**
   * Takes one received event packet.
   *
   * @param p Timestamp, marker bit and payload of the RTP packet.
   * @returns Notifications (zero, one or two).
   * @throws {TelephoneEventParseError} When the payload is malformed.
   * @see {@link https://www.rfc-editor.org/rfc/rfc4733#section-2.5.2.2 | RFC 4733 §2.5.2.2}
   */
  // @implements RFC4733 §2.5.2.2
  receive(p: { timestamp: number; marker: boolean; payload: Uint8Array }): DtmfNotification[] {
    const out: DtmfNotification[] = [];
    for (const e of decodeTelephoneEvents(p.payload)) {
      const ts = p.timestamp >>> 0;
      const cur = this.#current;
      if (this.#ended.has(ts) && (!cur || cur.timestamp !== ts)) continue; // late retransmission
      if (cur && cur.event === e.event && cur.timestamp === ts) {
        cur.duration = Math.max(cur.duration, cur.segStart + e.duration);
      } else if (
        // @implements RFC4733 §2.5.2.3
        cur && cur.event === e.event && !p.marker &&
        ((ts - cur.base) >>> 0) === cur.segStart + 0xffff
      ) {
        cur.segStart += 0xffff;
        cur.timestamp = ts;
        cur.duration = cur.segStart + e.duration;
      } else {
        if (cur) out.push(this.#end(cur));
        this.#current = {
          event: e.event,
          timestamp: ts,
          base: ts,
          segStart: 0,
          duration: e.duration,
        };
        out.push(note("start", this.#current));
      }
      if (e.end && this.#current) out.push(this.#end(this.#current));
    }
    return out;
  }

  #end(
    cur: { event: number; timestamp: number; base: number; duration: number },
  ): DtmfNotification {
    this.#ended.add(cur.timestamp);
    if (this.#ended.size > 32) this.#ended.delete(this.#ended.values().next().value!);
    this.#current = undefined;
    return note("end", cur);
  }

  /**
   * Ends the event in progress, if any (e.g. when no packet arrived for a while).
   *
   * @returns The `end` notification, or `undefined`.
   *
   * @example
   * ```ts
   * import { DtmfReceiver } from "@rtclite/std/ietf/rfc2833";
   * import { equal } from "node:assert/strict";
   *
   * equal(new DtmfReceiver().flush(), undefined);
   * ```
   */
  flush(): DtmfNotification | undefined {
    return this.#current ? this.#end(this.#current) : undefined;
  }
}

function note(
  type: "start" | "end",
  c: { event: number; base: number; duration: number },
): DtmfNotification {
  return {
    type,
    event: c.event,
    digit: dtmfDigit(c.event),
    timestamp: c.base,
    duration: c.duration,
  };
}
