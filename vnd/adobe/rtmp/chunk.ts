// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The RTMP handshake (RTMP §5.2) and chunk stream (RTMP §5.3) without I/O: C0-C2/S0-S2 as a
 * state machine, and the encoder and decoder that split messages into chunks and reassemble
 * them (message header types 0-3, extended timestamps, chunk size changes, abort, interleaved
 * chunk streams, size limits). Part of `@rtclite/vnd/adobe/rtmp` (re-exported by `mod.ts`).
 *
 * @example Chunk a message at the default chunk size and read it back
 * ```ts
 * import { ChunkDecoder, ChunkEncoder } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const message = { type: 9, streamId: 1, timestamp: 40, payload: new Uint8Array(300) };
 * const bytes = new ChunkEncoder().encode(message, 6);
 * equal(bytes[0], 0x06); // fmt 0, chunk stream 6
 * deepEqual(new ChunkDecoder().push(bytes), [{ ...message, chunkStreamId: 6, fmt: 0 }]);
 * ```
 *
 * @module
 */
import { BytePool, concat } from "@rtclite/std/bytes";
import {
  checkChunkSize,
  decodeControl,
  MessageType,
  RtmpError,
  type RtmpMessage,
} from "./message.ts";

// === Handshake (RTMP §5.2) ===

/** RTMP version 3, the version the specification defines (RTMP §5.2.2). */
export const RTMP_VERSION = 3;
/** Size of C1/S1 and C2/S2 in bytes (RTMP §5.2.3). */
export const HANDSHAKE_SIZE = 1536;

/**
 * Builds C1 or S1: time, four zero bytes, 1528 random bytes.
 *
 * @param time The sender's epoch in milliseconds (32 bits).
 * @param random 1528 bytes of random data; generated when omitted.
 * @returns The 1536-byte packet.
 *
 * @example
 * ```ts
 * import { encodeHandshake1 } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const c1 = encodeHandshake1(0x01020304, new Uint8Array(1528).fill(7));
 * equal(c1.length, 1536);
 * deepEqual([...c1.subarray(0, 9)], [1, 2, 3, 4, 0, 0, 0, 0, 7]);
 * ```
 */
export function encodeHandshake1(time: number, random?: Uint8Array): Uint8Array {
  // @implements RTMP §5.2.3
  const out = new Uint8Array(HANDSHAKE_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, time >>> 0);
  view.setUint32(4, 0);
  if (random) {
    if (random.length !== HANDSHAKE_SIZE - 8) {
      throw new RangeError(
        `Cannot build C1/S1: random data has ${random.length} bytes, expected 1528`,
      );
    }
    out.set(random, 8);
  } else {
    crypto.getRandomValues(out.subarray(8));
  }
  return out;
}

/**
 * Builds C2 or S2, the echo of the peer's S1 or C1.
 *
 * @param peer The peer's 1536-byte C1 or S1.
 * @param readTime When the peer's packet was read (milliseconds, 32 bits).
 * @returns The 1536-byte packet: peer time, read time, the peer's random data.
 *
 * @example
 * ```ts
 * import { encodeHandshake1, encodeHandshake2 } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * const s1 = encodeHandshake1(5, new Uint8Array(1528).fill(9));
 * const c2 = encodeHandshake2(s1, 7);
 * deepEqual([...c2.subarray(0, 9)], [0, 0, 0, 5, 0, 0, 0, 7, 9]);
 * ```
 */
export function encodeHandshake2(peer: Uint8Array, readTime: number): Uint8Array {
  // @implements RTMP §5.2.4
  if (peer.length < HANDSHAKE_SIZE) {
    throw new RtmpError(
      `Cannot build C2/S2: peer packet has ${peer.length} bytes, expected ${HANDSHAKE_SIZE}`,
      peer.length,
    );
  }
  const out = peer.slice(0, HANDSHAKE_SIZE);
  new DataView(out.buffer).setUint32(4, readTime >>> 0);
  return out;
}

/** Options for {@linkcode Handshake}. */
export interface HandshakeOptions {
  /** Clock in milliseconds (default `Date.now`); C1/S1 carry it relative to the start. */
  now?: () => number;
  /** Random data for C1/S1 (1528 bytes); generated when omitted. */
  random?: Uint8Array;
}

/**
 * The simple RTMP handshake as a state machine: feed received bytes, send what it returns.
 *
 * The client sends C0+C1 at once and C2 after S1; the server answers C0+C1 with S0+S1+S2
 * and is done after C2. Bytes after the handshake are kept in {@linkcode Handshake.rest}.
 *
 * The times the packets carry are kept (RTMP §5.2.3, §5.2.4): {@linkcode Handshake.ownTime}
 * is the Time of this side's C1 (client) or S1 (server), {@linkcode Handshake.peerTime} the
 * Time of the peer's S1 or C1; {@linkcode Handshake.readTime} is when this side read the
 * peer's C1/S1 (its C2/S2 Time2) and {@linkcode Handshake.peerReadTime} when the peer read
 * ours (the peer's C2/S2 Time2), each on its own side's clock.
 *
 * @example Run both sides against each other
 * ```ts
 * import { Handshake } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const client = new Handshake("client");
 * const server = new Handshake("server");
 * const c0c1 = client.start();
 * equal(c0c1.length, 1537);
 * const s0s1s2 = server.receive(c0c1);
 * equal(s0s1s2.length, 1 + 2 * 1536);
 * const c2 = client.receive(s0s1s2);
 * equal(client.done, true);
 * server.receive(c2);
 * equal(server.done, true);
 * ```
 *
 * @example The C1 and S1 times, and when each side read the other's
 * ```ts
 * import { encodeHandshake1, encodeHandshake2, Handshake } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * let now = 1000;
 * const client = new Handshake("client", { now: () => now });
 * const c1 = client.start().subarray(1);
 * now += 25; // S0+S1+S2 arrive 25 ms later: S1 says 7000, and the server read C1 at 12
 * const s1 = encodeHandshake1(7000);
 * client.receive(new Uint8Array([3, ...s1, ...encodeHandshake2(c1, 12)]));
 * equal(client.ownTime, 0); // C1
 * equal(client.peerTime, 7000); // S1
 * equal(client.readTime, 25);
 * equal(client.peerReadTime, 12);
 * ```
 */
export class Handshake {
  readonly #role: "client" | "server";
  readonly #now: () => number;
  readonly #epoch: number;
  readonly #own: Uint8Array;
  #buf: Uint8Array = new Uint8Array(0);
  #state: "start" | "versionSent" | "ackSent" | "done" = "start";
  #rest: Uint8Array = new Uint8Array(0);
  #peerVersion = 0;
  #peerTime: number | undefined;
  #readTime: number | undefined;
  #peerReadTime: number | undefined;

  /**
   * Creates a handshake for one side.
   *
   * @param role `"client"` (initiates) or `"server"`.
   * @param options Clock and random data.
   */
  constructor(role: "client" | "server", options: HandshakeOptions = {}) {
    this.#role = role;
    this.#now = options.now ?? Date.now;
    this.#epoch = this.#now();
    this.#own = encodeHandshake1(0, options.random);
  }

  /** Whether the handshake is complete. */
  get done(): boolean {
    return this.#state === "done";
  }

  /** The RTMP version the peer sent in C0/S0 (0 until received). */
  get peerVersion(): number {
    return this.#peerVersion;
  }

  /** The Time field of this side's C1 (client) or S1 (server): 0, the start of its clock. */
  get ownTime(): number {
    return 0;
  }

  /** The Time field of the peer's S1 (client) or C1 (server); `undefined` until read. */
  get peerTime(): number | undefined {
    return this.#peerTime;
  }

  /**
   * When this side read the peer's C1/S1, in ms on its own clock: the Time2 field of the
   * C2/S2 it sent; `undefined` until then.
   */
  get readTime(): number | undefined {
    return this.#readTime;
  }

  /**
   * When the peer read this side's C1/S1, in ms on the peer's clock: the Time2 field of the
   * peer's C2/S2; `undefined` until it arrives.
   */
  get peerReadTime(): number | undefined {
    return this.#peerReadTime;
  }

  /** Bytes received after the handshake's last packet (the first chunks). */
  get rest(): Uint8Array {
    return this.#rest;
  }

  /**
   * Starts the client side.
   *
   * @returns C0 and C1 to send (empty for a server).
   */
  start(): Uint8Array {
    if (this.#role === "server" || this.#state !== "start") return new Uint8Array(0);
    this.#state = "versionSent";
    // @implements RTMP §5.2.1 ¶1, RTMP §5.2.2
    return concat([new Uint8Array([RTMP_VERSION]), this.#own]);
  }

  /**
   * Feeds received bytes.
   *
   * @param bytes Bytes from the peer.
   * @returns Bytes to send (possibly empty).
   * @throws {RtmpError} When the peer's version byte is not an RTMP version (32-255).
   */
  receive(bytes: Uint8Array): Uint8Array {
    if (this.#state === "done") {
      this.#rest = concat([this.#rest, bytes]);
      return new Uint8Array(0);
    }
    this.#buf = concat([this.#buf, bytes]);
    const out: Uint8Array[] = [];
    // @implements RTMP §5.2.5
    if (this.#role === "server") {
      if (this.#state === "start" && this.#buf.length >= 1 + HANDSHAKE_SIZE) {
        this.#checkVersion();
        const c1 = this.#buf.subarray(1, 1 + HANDSHAKE_SIZE);
        // @implements RTMP §5.2.1 ¶2
        out.push(new Uint8Array([RTMP_VERSION]), this.#own, encodeHandshake2(c1, this.#read()));
        this.#buf = this.#buf.slice(1 + HANDSHAKE_SIZE);
        this.#state = "ackSent";
      }
      if (this.#state === "ackSent" && this.#buf.length >= HANDSHAKE_SIZE) {
        this.#finish(HANDSHAKE_SIZE);
      }
    } else {
      if (this.#state === "start") out.push(this.start());
      if (this.#state === "versionSent" && this.#buf.length >= 1 + HANDSHAKE_SIZE) {
        this.#checkVersion();
        const s1 = this.#buf.subarray(1, 1 + HANDSHAKE_SIZE);
        out.push(encodeHandshake2(s1, this.#read()));
        this.#buf = this.#buf.slice(1 + HANDSHAKE_SIZE);
        this.#state = "ackSent";
      }
      if (this.#state === "ackSent" && this.#buf.length >= HANDSHAKE_SIZE) {
        this.#finish(HANDSHAKE_SIZE);
      }
    }
    return concat(out);
  }

  /** Notes when the peer's C1/S1 (at `#buf[1..]`) was read, and returns it for C2/S2. */
  #read(): number {
    this.#readTime = (this.#now() - this.#epoch) >>> 0;
    return this.#readTime;
  }

  #checkVersion(): void {
    const b = this.#buf;
    const v = b[0]!;
    this.#peerVersion = v;
    // @implements RTMP §5.2.3
    this.#peerTime = ((b[1]! << 24) | (b[2]! << 16) | (b[3]! << 8) | b[4]!) >>> 0;
    // @implements RTMP §5.2.2 ¶2
    if (v >= 32) {
      throw new RtmpError(
        `Cannot complete RTMP handshake: version byte ${v} is not RTMP (32-255 are not allowed)`,
        0,
      );
    }
  }

  #finish(n: number): void {
    const b = this.#buf;
    // @implements RTMP §5.2.4
    this.#peerReadTime = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
    this.#rest = this.#buf.slice(n);
    this.#buf = new Uint8Array(0);
    this.#state = "done";
  }
}

// === Chunk stream (RTMP §5.3) ===

/** The chunk size both directions start with (RTMP §5.4.1). */
export const DEFAULT_CHUNK_SIZE = 128;
/** The largest message length a chunk header can carry (24 bits). */
export const MAX_MESSAGE_LENGTH = 0xffffff;
const EXTENDED = 0xffffff;
/** Message header length by chunk type (RTMP §5.3.1.2). */
const HEADER_LENGTH: readonly number[] = [11, 7, 3, 0];
const EMPTY = new Uint8Array(0);

// Message payloads up to 16 KiB (audio frames, inter frames, commands) are cut from 64 KiB slabs:
// a typed array with its own buffer per message costs more than copying the message into it. A
// payload kept for long (a sequence header) holds its slab: copy it (`slice()`) to keep it alone.
const payloadPool = new BytePool(65536, 16384);

interface SendState {
  timestamp: number;
  delta: number;
  length: number;
  type: number;
  streamId: number;
  extended: boolean;
}

/**
 * Splits messages into chunks with header compression (types 0-3).
 *
 * @example Example 2 of the specification: a 307-byte video message at chunk size 128
 * ```ts
 * import { ChunkEncoder } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const enc = new ChunkEncoder();
 * const bytes = enc.encode(
 *   { type: 9, streamId: 12346, timestamp: 1000, payload: new Uint8Array(307) },
 *   4,
 * );
 * equal(bytes.length, 140 + 129 + 52);
 * equal(bytes[0], 0x04); // fmt 0, chunk stream 4
 * equal(bytes[140], 0xc4); // fmt 3, chunk stream 4
 * ```
 */
export class ChunkEncoder {
  #chunkSize: number;
  readonly #streams = new Map<number, SendState>();

  /**
   * Creates an encoder.
   *
   * @param options `chunkSize`: the maximum chunk size to start with (default 128).
   */
  constructor(options: { chunkSize?: number } = {}) {
    this.#chunkSize = checkChunkSize(options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  }

  /** The maximum chunk size used for the next chunks. */
  get chunkSize(): number {
    return this.#chunkSize;
  }

  /** Changes the chunk size; send a Set Chunk Size message before the next chunks. */
  set chunkSize(size: number) {
    this.#chunkSize = checkChunkSize(size);
  }

  /**
   * Forgets the header state of a chunk stream, so its next message starts with a type 0
   * header (use after sending an Abort Message for it).
   *
   * @param chunkStreamId The chunk stream.
   */
  reset(chunkStreamId: number): void {
    this.#streams.delete(chunkStreamId);
  }

  /**
   * Encodes one message as chunks on a chunk stream.
   *
   * @param message The message (payload up to 16777215 bytes).
   * @param chunkStreamId Chunk stream ID, 2-65599.
   * @returns The chunks, back to back.
   * @throws {RangeError} For an out-of-range chunk stream ID, length or timestamp.
   */
  encode(message: RtmpMessage, chunkStreamId: number): Uint8Array {
    const { type, streamId, payload } = message;
    const timestamp = message.timestamp >>> 0;
    if (!Number.isInteger(chunkStreamId) || chunkStreamId < 2 || chunkStreamId > 65599) {
      throw new RangeError(
        `Cannot encode chunk: chunk stream ID ${chunkStreamId} is not in 2-65599`,
      );
    }
    if (payload.length > MAX_MESSAGE_LENGTH) {
      throw new RangeError(
        `Cannot encode chunk: message has ${payload.length} bytes, at most 16777215 fit`,
      );
    }
    if (!Number.isInteger(type) || type < 0 || type > 255) {
      throw new RangeError(`Cannot encode chunk: message type ${type} is not in 0-255`);
    }
    if (!Number.isInteger(streamId) || streamId < 0 || streamId > 0xffffffff) {
      throw new RangeError(`Cannot encode chunk: message stream ID ${streamId} is not 32 bits`);
    }
    const prev = this.#streams.get(chunkStreamId);
    // @implements RTMP §5.3.1.2
    let fmt: number;
    let field: number; // timestamp (type 0) or delta (types 1-3)
    const delta = prev ? (timestamp - prev.timestamp) >>> 0 : 0;
    if (!prev || prev.streamId !== streamId || timestamp < prev.timestamp) {
      fmt = 0;
      field = timestamp;
    } else if (prev.length !== payload.length || prev.type !== type) {
      fmt = 1;
      field = delta;
    } else if (prev.delta !== delta) {
      fmt = 2;
      field = delta;
    } else {
      // @implements RTMP §5.3.1.2.4
      fmt = 3;
      field = delta;
    }
    // @implements RTMP §5.3.1.3
    const extended = fmt === 3 ? prev!.extended : field >= EXTENDED;
    this.#streams.set(chunkStreamId, {
      timestamp,
      delta: fmt === 0 ? timestamp : delta,
      length: payload.length,
      type,
      streamId,
      extended,
    });
    const basic = chunkStreamId < 64 ? 1 : chunkStreamId < 320 ? 2 : 3;
    const header = HEADER_LENGTH[fmt]!;
    const ext = extended ? 4 : 0;
    const size = this.#chunkSize;
    const chunks = Math.max(1, Math.ceil(payload.length / size));
    const out = new Uint8Array(
      basic + header + ext + payload.length + (chunks - 1) * (basic + ext),
    );
    const view = new DataView(out.buffer);
    let pos = writeBasicHeader(out, 0, fmt, chunkStreamId);
    // @implements RTMP §5.3.1.2.1, RTMP §5.3.1.2.2, RTMP §5.3.1.2.3, RTMP §5.3.1.2.5
    if (fmt <= 2) {
      writeUint24(out, pos, extended ? EXTENDED : field);
      pos += 3;
    }
    if (fmt <= 1) {
      writeUint24(out, pos, payload.length);
      out[pos + 3] = type;
      pos += 4;
    }
    if (fmt === 0) {
      view.setUint32(pos, streamId, true);
      pos += 4;
    }
    if (extended) {
      view.setUint32(pos, field);
      pos += 4;
    }
    // @implements RTMP §5.3.2.2
    for (let off = 0; off < payload.length || off === 0; off += size) {
      if (off > 0) {
        pos = writeBasicHeader(out, pos, 3, chunkStreamId);
        if (extended) {
          view.setUint32(pos, field);
          pos += 4;
        }
      }
      const part = payload.subarray(off, off + size);
      out.set(part, pos);
      pos += part.length;
      if (payload.length === 0) break;
    }
    return out;
  }
}

// @implements RTMP §5.3.1.1
function writeBasicHeader(out: Uint8Array, pos: number, fmt: number, csid: number): number {
  if (csid < 64) {
    out[pos] = (fmt << 6) | csid;
    return pos + 1;
  }
  if (csid < 320) {
    out[pos] = fmt << 6;
    out[pos + 1] = csid - 64;
    return pos + 2;
  }
  out[pos] = (fmt << 6) | 1;
  out[pos + 1] = (csid - 64) & 0xff;
  out[pos + 2] = (csid - 64) >> 8;
  return pos + 3;
}

function writeUint24(out: Uint8Array, pos: number, v: number): void {
  out[pos] = (v >>> 16) & 0xff;
  out[pos + 1] = (v >>> 8) & 0xff;
  out[pos + 2] = v & 0xff;
}

function readUint24(b: Uint8Array, pos: number): number {
  return (b[pos]! << 16) | (b[pos + 1]! << 8) | b[pos + 2]!;
}

function readUint32(b: Uint8Array, pos: number): number {
  return ((b[pos]! << 24) | (b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!) >>> 0;
}

/** A chunk's message header type: the `fmt` field of its basic header (RTMP §5.3.1.1). */
export type ChunkFormat = 0 | 1 | 2 | 3;

/**
 * A message as {@linkcode ChunkDecoder} reassembled it, with what carried it: the chunk
 * stream, and the message header type of its first chunk (RTMP §5.3.1.2: 0 a full header,
 * 1 without the stream ID, 2 a timestamp delta only, 3 nothing new; a message's further
 * chunks are type 3).
 *
 * @example A second message on the same chunk stream compresses its header
 * ```ts
 * import { ChunkDecoder, ChunkEncoder } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * const enc = new ChunkEncoder();
 * const a = { type: 8, streamId: 1, timestamp: 0, payload: new Uint8Array(4) };
 * const bytes = [enc.encode(a, 4), enc.encode({ ...a, timestamp: 20 }, 4)];
 * const dec = new ChunkDecoder();
 * const got = bytes.flatMap((b) => dec.push(b));
 * deepEqual(got.map((m) => [m.chunkStreamId, m.fmt, m.timestamp]), [[4, 0, 0], [4, 2, 20]]);
 * ```
 */
export interface ReceivedMessage extends RtmpMessage {
  /** The chunk stream (2-65599) that carried the message. */
  chunkStreamId: number;
  /** The message header type of the message's first chunk. */
  fmt: ChunkFormat;
}

interface RecvState {
  /** Header type of the first chunk of the message being reassembled. */
  fmt: ChunkFormat;
  timestamp: number;
  delta: number;
  length: number;
  type: number;
  streamId: number;
  extended: boolean;
  /** The message being reassembled, allocated at its first chunk. */
  payload: Uint8Array;
  received: number;
}

/** Options for {@linkcode ChunkDecoder}. */
export interface ChunkDecoderOptions {
  /** The peer's chunk size to start with (default 128). */
  chunkSize?: number;
  /** Longest message accepted, in bytes (default 8 MiB; at most 16777215). */
  maxMessageSize?: number;
  /** Most chunk streams tracked at once (default 128). */
  maxChunkStreams?: number;
  /** Most bytes of incomplete messages held at once (default 32 MiB). */
  maxBufferedBytes?: number;
}

/**
 * Reassembles messages from chunks fed in pieces of any size.
 *
 * Set Chunk Size and Abort messages take effect as soon as they are read (RTMP §5.4), and
 * are also returned. Malformed chunks throw {@linkcode RtmpError}; after that the decoder
 * is unusable (close the connection).
 *
 * @example Read back what an encoder wrote, one byte at a time
 * ```ts
 * import { ChunkDecoder, ChunkEncoder, type RtmpMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const msg = { type: 8, streamId: 1, timestamp: 40, payload: new Uint8Array(300).fill(1) };
 * const bytes = new ChunkEncoder().encode(msg, 4);
 * const dec = new ChunkDecoder();
 * const got: RtmpMessage[] = [];
 * for (const b of bytes) got.push(...dec.push(new Uint8Array([b])));
 * equal(got.length, 1);
 * deepEqual(got[0], { ...msg, chunkStreamId: 4, fmt: 0 });
 * ```
 */
export class ChunkDecoder {
  #chunkSize: number;
  readonly #maxMessageSize: number;
  readonly #maxChunkStreams: number;
  readonly #maxBuffered: number;
  #buffered = 0;
  readonly #streams = new Map<number, RecvState>();
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #bytesRead = 0;
  #failed: RtmpError | undefined;
  /** The message whose current chunk's data is still arriving, and how many bytes are due. */
  #current: RecvState | undefined;
  #currentLeft = 0;
  #currentCsid = 0;

  /**
   * Creates a decoder.
   *
   * @param options Chunk size and limits.
   */
  constructor(options: ChunkDecoderOptions = {}) {
    this.#chunkSize = checkChunkSize(options.chunkSize ?? DEFAULT_CHUNK_SIZE);
    this.#maxMessageSize = Math.min(options.maxMessageSize ?? 8 * 1024 * 1024, MAX_MESSAGE_LENGTH);
    this.#maxChunkStreams = options.maxChunkStreams ?? 128;
    this.#maxBuffered = options.maxBufferedBytes ?? 32 * 1024 * 1024;
  }

  /** The peer's current maximum chunk size. */
  get chunkSize(): number {
    return this.#chunkSize;
  }

  /** Total bytes pushed so far (the sequence number for Acknowledgements). */
  get bytesReceived(): number {
    return this.#bytesRead;
  }

  /**
   * Feeds bytes and returns the messages they complete.
   *
   * @param bytes Received bytes.
   * @returns Completed messages in order, each with the chunk stream and header type that
   * carried it.
   * @throws {RtmpError} On a malformed chunk or a message over the limits.
   */
  push(bytes: Uint8Array): ReceivedMessage[] {
    if (this.#failed) throw this.#failed;
    this.#bytesRead += bytes.length;
    // Chunk data is copied into the message's payload as it arrives, also when a chunk is split
    // between pushes; only an incomplete chunk header (at most 18 bytes) is kept between pushes,
    // copied, as the caller may reuse its buffer.
    this.#buf = this.#buf.length > this.#pos
      ? concat([this.#buf.subarray(this.#pos), bytes])
      : bytes;
    this.#pos = 0;
    const out: ReceivedMessage[] = [];
    try {
      while (this.#readChunk(out));
    } catch (e) {
      if (e instanceof RtmpError) this.#failed = e;
      throw e;
    }
    this.#buf = this.#pos < this.#buf.length ? this.#buf.slice(this.#pos) : EMPTY;
    this.#pos = 0;
    return out;
  }

  #fail(message: string, at: number): never {
    throw new RtmpError(
      `Cannot decode RTMP chunk: ${message}`,
      this.#bytesRead - this.#buf.length + at,
    );
  }

  #readChunk(out: ReceivedMessage[]): boolean {
    const b = this.#buf;
    const start = this.#pos;
    const avail = b.length;
    if (start >= avail) return false;
    // The rest of a chunk whose header and first bytes came before.
    const current = this.#current;
    if (current) {
      const m = Math.min(this.#currentLeft, avail - start);
      current.payload.set(b.subarray(start, start + m), current.received);
      current.received += m;
      this.#currentLeft -= m;
      this.#pos = start + m;
      if (this.#currentLeft > 0) return false;
      this.#current = undefined;
      if (current.received === current.length) this.#complete(current, this.#currentCsid, out);
      return true;
    }
    let p = start;
    // @implements RTMP §5.3.1.1
    const fmt = b[p]! >> 6;
    let csid = b[p]! & 0x3f;
    if (csid === 0) {
      if (p + 2 > avail) return false;
      csid = b[p + 1]! + 64;
      p += 2;
    } else if (csid === 1) {
      if (p + 3 > avail) return false;
      csid = b[p + 2]! * 256 + b[p + 1]! + 64;
      p += 3;
    } else {
      p += 1;
    }
    const headerLen = HEADER_LENGTH[fmt]!;
    if (p + headerLen > avail) return false;
    let state = this.#streams.get(csid);
    if (!state && fmt !== 0) {
      this.#fail(`chunk stream ${csid} starts with a type ${fmt} header, expected type 0`, start);
    }
    const inProgress = state !== undefined && state.received > 0;
    if (inProgress && fmt !== 3) {
      this.#fail(
        `type ${fmt} header on chunk stream ${csid} while a message is incomplete (${
          state!.received
        } of ${state!.length} bytes)`,
        start,
      );
    }
    // @implements RTMP §5.3.1.2.1, RTMP §5.3.1.2.2, RTMP §5.3.1.2.3, RTMP §5.3.1.2.5
    let field = 0;
    let length = state?.length ?? 0;
    let type = state?.type ?? 0;
    let streamId = state?.streamId ?? 0;
    if (fmt <= 2) field = readUint24(b, p);
    if (fmt <= 1) {
      length = readUint24(b, p + 3);
      type = b[p + 6]!;
    }
    if (fmt === 0) {
      // Little-endian, unlike every other field (RTMP §5.3.1.2.1).
      streamId = (b[p + 7]! | (b[p + 8]! << 8) | (b[p + 9]! << 16) | (b[p + 10]! << 24)) >>> 0;
    }
    p += headerLen;
    // @implements RTMP §5.3.1.3
    const extended = fmt === 3 ? state!.extended : field === EXTENDED;
    if (extended) {
      if (p + 4 > avail) return false;
      if (fmt !== 3) field = readUint32(b, p);
      p += 4;
    }
    if (length > this.#maxMessageSize) {
      this.#fail(`message of ${length} bytes exceeds the limit of ${this.#maxMessageSize}`, start);
    }
    const received = inProgress ? state!.received : 0;
    const n = Math.min(this.#chunkSize, length - received);
    // Commit: the whole header is here.
    if (!state) {
      if (this.#streams.size >= this.#maxChunkStreams) {
        this.#fail(`more than ${this.#maxChunkStreams} chunk streams`, start);
      }
      state = {
        fmt: 0,
        timestamp: 0,
        delta: 0,
        length: 0,
        type: 0,
        streamId: 0,
        extended: false,
        payload: EMPTY,
        received: 0,
      };
      this.#streams.set(csid, state);
    }
    if (!inProgress) {
      // @implements RTMP §5.3.1.2.4
      if (fmt === 0) {
        state.timestamp = field;
        state.delta = field;
      } else if (fmt === 3) {
        state.timestamp = (state.timestamp + state.delta) >>> 0;
      } else {
        state.delta = field;
        state.timestamp = (state.timestamp + field) >>> 0;
      }
      state.length = length;
      state.type = type;
      state.streamId = streamId;
      state.extended = extended;
      state.fmt = fmt as ChunkFormat;
      if (this.#buffered + length > this.#maxBuffered) {
        this.#fail(`incomplete messages would hold more than ${this.#maxBuffered} bytes`, start);
      }
      this.#buffered += length;
      state.payload = length ? payloadPool.alloc(length) : EMPTY;
    }
    const m = Math.min(n, avail - p);
    if (m) state.payload.set(b.subarray(p, p + m), state.received);
    state.received += m;
    this.#pos = p + m;
    if (m < n) {
      // The chunk goes on in the next push.
      this.#current = state;
      this.#currentLeft = n - m;
      this.#currentCsid = csid;
      return false;
    }
    if (state.received === state.length) this.#complete(state, csid, out);
    return true;
  }

  // Hands out a reassembled message (and acts on Set Chunk Size and Abort).
  #complete(state: RecvState, csid: number, out: ReceivedMessage[]): void {
    const payload = state.payload.length ? state.payload : new Uint8Array(0);
    this.#buffered -= state.length;
    state.payload = EMPTY;
    state.received = 0;
    const msg: ReceivedMessage = {
      type: state.type,
      streamId: state.streamId,
      timestamp: state.timestamp,
      payload,
      chunkStreamId: csid,
      fmt: state.fmt,
    };
    this.#control(msg, this.#bytesRead - this.#buf.length + this.#pos);
    out.push(msg);
  }

  #control(msg: RtmpMessage, at: number): void {
    // @implements RTMP §5.4 ¶2
    if (msg.type === MessageType.SET_CHUNK_SIZE) {
      const c = decodeControl(msg, at);
      if (c.kind === "setChunkSize") this.#chunkSize = c.chunkSize;
    } else if (msg.type === MessageType.ABORT) {
      const c = decodeControl(msg, at);
      // @implements RTMP §5.4.2
      if (c.kind === "abort") {
        const s = this.#streams.get(c.chunkStreamId);
        if (s && s.received) {
          this.#buffered -= s.length;
          s.payload = EMPTY;
          s.received = 0;
        }
      }
    }
  }
}
