// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * STUN over a byte stream (TCP, TLS-over-TCP): RFC 8489 §6.2.2 (RFC 5389 §7.2.2) sends messages
 * back to back, each delimited by the Message Length in its header; TURN (RFC 8656 §12.5, RFC 5766
 * §11.5) mixes in ChannelData messages padded to a multiple of 4. {@linkcode StunFramer} cuts a
 * stream into those messages, whatever sizes the reads come in. Re-exported by
 * `@rtclite/std/ietf/rfc5389`.
 *
 * @example Two messages arriving in three reads
 * ```ts
 * import { createMessage, encodeStun, StunFramer } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 *
 * const bytes = new Uint8Array([...encodeStun(createMessage(1, 0)), ...encodeStun(createMessage(1, 0))]);
 * const framer = new StunFramer();
 * const frames = [
 *   ...framer.push(bytes.subarray(0, 7)),
 *   ...framer.push(bytes.subarray(7, 30)),
 *   ...framer.push(bytes.subarray(30)),
 * ];
 * equal(frames.length, 2);
 * equal(frames[1]!.length, 20);
 * ```
 *
 * @module
 */
import { concat } from "../../bytes.ts";
import { StunParseError } from "./message.ts";

// === Framing (RFC 8489 §6.2.2; RFC 5389 §7.2.2) ===

/** Options of {@linkcode StunFramer}. */
export interface StunFramerOptions {
  /**
   * Also accept ChannelData messages (first two bits 01), whose frame is the 4-byte header and
   * the data padded to a multiple of 4 (RFC 8656 §12.5 ¶3). Default false: STUN only.
   */
  channelData?: boolean;
  /** Most bytes buffered while waiting for the end of a message (default 65 536 + 20). */
  maxBuffered?: number;
}

/**
 * The size of the frame at the start of `buf`: a STUN message (20 + Message Length) or, when
 * `channelData` is set, a ChannelData message padded to 4 bytes.
 *
 * @param buf Buffered stream bytes.
 * @param channelData Accept ChannelData.
 * @returns The frame length, or `undefined` when the header is not complete yet.
 * @throws {StunParseError} when the first byte starts neither kind of message (the stream is
 *   out of step and must be closed).
 * @example
 * ```ts
 * import { streamFrameLength } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(streamFrameLength(Uint8Array.of(0x40, 0x00, 0x00, 0x05), true), 12);
 * equal(streamFrameLength(Uint8Array.of(0x00, 0x01, 0x00), false), undefined);
 * ```
 */
// @implements RFC8489 §6.2.2 ¶1 (RFC 5389 §7.2.2), RFC8656 §12.5 ¶3 (RFC 5766 §11.5)
export function streamFrameLength(buf: Uint8Array, channelData = false): number | undefined {
  if (buf.length === 0) return undefined;
  const top = buf[0]! & 0xc0;
  if (top === 0x40 && channelData) {
    if (buf.length < 4) return undefined;
    return (4 + ((buf[2]! << 8) | buf[3]!) + 3) & ~3;
  }
  if (top !== 0) {
    throw new StunParseError(
      `Cannot frame stream: first byte 0x${buf[0]!.toString(16).padStart(2, "0")} starts no ${
        channelData ? "STUN or ChannelData" : "STUN"
      } message`,
      0,
    );
  }
  if (buf.length < 4) return undefined;
  const length = (buf[2]! << 8) | buf[3]!;
  if (length & 3) {
    throw new StunParseError(
      `Cannot frame stream: message length ${length} is not a multiple of 4`,
      2,
    );
  }
  return 20 + length;
}

/**
 * Cuts a byte stream into STUN (and optionally ChannelData) messages. Feed it what each read
 * returns; it returns the complete frames, copies that stay valid after the read buffer is reused.
 * A frame of ChannelData keeps its padding (decoding ignores it).
 *
 * @example ChannelData padded to 4 bytes between STUN messages
 * ```ts
 * import { createMessage, encodeStun, StunFramer } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * const framer = new StunFramer({ channelData: true });
 * const stun = encodeStun(createMessage(1, 0));
 * const frames = framer.push(new Uint8Array([0x40, 0, 0, 1, 0x61, 0, 0, 0, ...stun]));
 * deepEqual(frames.map((f) => f.length), [8, 20]);
 * ```
 */
export class StunFramer {
  #buf: Uint8Array = new Uint8Array(0);
  #channelData: boolean;
  #max: number;

  /**
   * Creates a framer.
   *
   * @param options ChannelData support and the buffer bound.
   */
  constructor(options: StunFramerOptions = {}) {
    this.#channelData = options.channelData ?? false;
    this.#max = options.maxBuffered ?? 65_536 + 20;
  }

  /** Bytes received that are not part of a returned frame yet. */
  get buffered(): number {
    return this.#buf.length;
  }

  /**
   * Adds bytes read from the stream and returns the frames they complete.
   *
   * @param chunk The bytes just read.
   * @returns The frames completed by them, in order (each a copy).
   * @throws {StunParseError} when the stream holds something that is not a message, or a message
   *   longer than `maxBuffered`.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    this.append(chunk);
    const frames: Uint8Array[] = [];
    for (let f = this.next(); f; f = this.next()) frames.push(f);
    return frames;
  }

  /**
   * Adds bytes read from the stream without framing them yet (take frames with
   * {@linkcode StunFramer.next}, one at a time, when the stream may stop carrying STUN).
   *
   * @param chunk The bytes just read.
   */
  append(chunk: Uint8Array): void {
    this.#buf = this.#buf.length ? concat([this.#buf, chunk]) : chunk.slice();
  }

  /**
   * Takes the next complete frame.
   *
   * @returns The frame (a copy), or `undefined` when more bytes are needed.
   * @throws {StunParseError} as {@linkcode StunFramer.push}.
   */
  next(): Uint8Array | undefined {
    const n = streamFrameLength(this.#buf, this.#channelData);
    if (n === undefined || n > this.#buf.length) {
      if ((n ?? 0) > this.#max) {
        throw new StunParseError(
          `Cannot frame stream: a ${n}-byte message exceeds the ${this.#max}-byte limit`,
          0,
        );
      }
      return undefined;
    }
    const frame = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return frame;
  }

  /**
   * Takes the bytes buffered after the last frame, and empties the buffer: when the stream stops
   * carrying STUN (after an RFC 6062 ConnectionBind), they are the first application bytes.
   *
   * @returns The buffered bytes.
   */
  take(): Uint8Array {
    const rest = this.#buf.slice();
    this.#buf = new Uint8Array(0);
    return rest;
  }
}
