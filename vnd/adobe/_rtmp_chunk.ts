// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
// The sans-I/O core of RTMP: handshake, chunk stream, protocol control and user control
// messages, command and data messages. Re-exported by ./rtmp.ts.
// @implements RTMP (Real Time Messaging Protocol)
import { ParseError } from "@rtclite/std/errors";
import { type AmfValue, decodeAmf0Values, encodeAmf0Values } from "./amf.ts";

/** Malformed RTMP input (handshake, chunk, or message payload): `offset` is where reading stopped. */
export class RtmpError extends ParseError {}

// === Message types (RTMP §5.4, §6.2, §7.1) ===

/**
 * RTMP message type IDs.
 *
 * @example
 * ```ts
 * import { MessageType } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * equal(MessageType.VIDEO, 9);
 * equal(MessageType.COMMAND_AMF0, 20);
 * ```
 */
export const MessageType = {
  /** Set Chunk Size (RTMP §5.4.1). */
  SET_CHUNK_SIZE: 1,
  /** Abort Message (RTMP §5.4.2). */
  ABORT: 2,
  /** Acknowledgement (RTMP §5.4.3). */
  ACK: 3,
  /** User Control Message (RTMP §6.2). */
  USER_CONTROL: 4,
  /** Window Acknowledgement Size (RTMP §5.4.4). */
  WINDOW_ACK_SIZE: 5,
  /** Set Peer Bandwidth (RTMP §5.4.5). */
  SET_PEER_BANDWIDTH: 6,
  /** Audio Message (RTMP §7.1.4). */
  AUDIO: 8,
  /** Video Message (RTMP §7.1.5). */
  VIDEO: 9,
  /** Data Message in AMF 3 (RTMP §7.1.2). */
  DATA_AMF3: 15,
  /** Shared Object Message in AMF 3 (RTMP §7.1.3). */
  SHARED_OBJECT_AMF3: 16,
  /** Command Message in AMF 3 (RTMP §7.1.1). */
  COMMAND_AMF3: 17,
  /** Data Message in AMF 0 (RTMP §7.1.2). */
  DATA_AMF0: 18,
  /** Shared Object Message in AMF 0 (RTMP §7.1.3). */
  SHARED_OBJECT_AMF0: 19,
  /** Command Message in AMF 0 (RTMP §7.1.1). */
  COMMAND_AMF0: 20,
  /** Aggregate Message (RTMP §7.1.6). */
  AGGREGATE: 22,
} as const;

/**
 * An RTMP message as the chunk stream carries it (RTMP §5.1, §6.1).
 *
 * @example
 * ```ts
 * import type { RtmpMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const m: RtmpMessage = { type: 8, streamId: 1, timestamp: 0, payload: new Uint8Array([0xaf]) };
 * equal(m.payload.length, 1);
 * ```
 */
export interface RtmpMessage {
  /** Message type ID (see {@linkcode MessageType}). */
  type: number;
  /** Message stream ID (0 for the control stream). */
  streamId: number;
  /** Timestamp in milliseconds, 32 bits. */
  timestamp: number;
  /** The payload. */
  payload: Uint8Array;
}

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
        out.push(new Uint8Array([RTMP_VERSION]), this.#own, encodeHandshake2(c1, this.#time()));
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
        out.push(encodeHandshake2(s1, this.#time()));
        this.#buf = this.#buf.slice(1 + HANDSHAKE_SIZE);
        this.#state = "ackSent";
      }
      if (this.#state === "ackSent" && this.#buf.length >= HANDSHAKE_SIZE) {
        this.#finish(HANDSHAKE_SIZE);
      }
    }
    return concat(out);
  }

  #time(): number {
    return (this.#now() - this.#epoch) >>> 0;
  }

  #checkVersion(): void {
    const v = this.#buf[0]!;
    this.#peerVersion = v;
    // @implements RTMP §5.2.2 ¶2
    if (v >= 32) {
      throw new RtmpError(
        `Cannot complete RTMP handshake: version byte ${v} is not RTMP (32-255 are not allowed)`,
        0,
      );
    }
  }

  #finish(n: number): void {
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
const MAX_CHUNK_SIZE = 0x7fffffff;
const EXTENDED = 0xffffff;
/** Message header length by chunk type (RTMP §5.3.1.2). */
const HEADER_LENGTH: readonly number[] = [11, 7, 3, 0];
const EMPTY = new Uint8Array(0);

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

function checkChunkSize(size: number): number {
  if (!Number.isInteger(size) || size < 1 || size > MAX_CHUNK_SIZE) {
    throw new RangeError(`Invalid chunk size ${size}: expected 1 to 2147483647`);
  }
  return size;
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

interface RecvState {
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
 * deepEqual(got[0], msg);
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
   * @returns Completed messages in order.
   * @throws {RtmpError} On a malformed chunk or a message over the limits.
   */
  push(bytes: Uint8Array): RtmpMessage[] {
    if (this.#failed) throw this.#failed;
    this.#bytesRead += bytes.length;
    // Chunk data is copied into the message's payload; an unread tail is copied before
    // returning, as the caller may reuse its buffer.
    const rest = this.#buf.subarray(this.#pos);
    this.#buf = rest.length ? concat([rest, bytes]) : bytes;
    this.#pos = 0;
    const out: RtmpMessage[] = [];
    try {
      while (this.#readChunk(out));
    } catch (e) {
      if (e instanceof RtmpError) this.#failed = e;
      throw e;
    }
    this.#buf = this.#buf.slice(this.#pos);
    this.#pos = 0;
    return out;
  }

  #fail(message: string, at: number): never {
    throw new RtmpError(
      `Cannot decode RTMP chunk: ${message}`,
      this.#bytesRead - this.#buf.length + at,
    );
  }

  #readChunk(out: RtmpMessage[]): boolean {
    const b = this.#buf;
    const start = this.#pos;
    let p = start;
    const avail = b.length;
    if (p >= avail) return false;
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
    if (fmt === 0) streamId = new DataView(b.buffer, b.byteOffset + p + 7, 4).getUint32(0, true);
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
    if (p + n > avail) return false;
    // Commit: the whole chunk is here.
    if (!state) {
      if (this.#streams.size >= this.#maxChunkStreams) {
        this.#fail(`more than ${this.#maxChunkStreams} chunk streams`, start);
      }
      state = {
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
      if (this.#buffered + length > this.#maxBuffered) {
        this.#fail(`incomplete messages would hold more than ${this.#maxBuffered} bytes`, start);
      }
      this.#buffered += length;
      state.payload = length ? new Uint8Array(length) : EMPTY;
    }
    if (n) state.payload.set(b.subarray(p, p + n), state.received);
    state.received += n;
    p += n;
    this.#pos = p;
    if (state.received === state.length) {
      const payload = state.payload.length ? state.payload : new Uint8Array(0);
      this.#buffered -= state.length;
      state.payload = EMPTY;
      state.received = 0;
      const msg: RtmpMessage = {
        type: state.type,
        streamId: state.streamId,
        timestamp: state.timestamp,
        payload,
      };
      this.#control(msg, start);
      out.push(msg);
    }
    return true;
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

// === Protocol control messages (RTMP §5.4) and user control messages (RTMP §6.2) ===

/**
 * User control event types (RTMP §7.1.7).
 *
 * @example
 * ```ts
 * import { UserControlEvent } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * equal(UserControlEvent.PING_REQUEST, 6);
 * ```
 */
export const UserControlEvent = {
  /** A stream became functional; data: stream ID. */
  STREAM_BEGIN: 0,
  /** Playback is over; data: stream ID. */
  STREAM_EOF: 1,
  /** No more data on the stream for now; data: stream ID. */
  STREAM_DRY: 2,
  /** Client buffer length; data: stream ID and milliseconds. */
  SET_BUFFER_LENGTH: 3,
  /** The stream is recorded; data: stream ID. */
  STREAM_IS_RECORDED: 4,
  /** Server pings the client; data: a timestamp. */
  PING_REQUEST: 6,
  /** Client answers a ping; data: the timestamp from the request. */
  PING_RESPONSE: 7,
} as const;

/** A decoded protocol control or user control message. */
export type ControlMessage =
  | { kind: "setChunkSize"; chunkSize: number }
  | { kind: "abort"; chunkStreamId: number }
  | { kind: "ack"; sequenceNumber: number }
  | { kind: "windowAckSize"; size: number }
  | { kind: "setPeerBandwidth"; size: number; limitType: number }
  | { kind: "userControl"; event: number; data: number[] };

function control(type: number, payload: Uint8Array): RtmpMessage {
  return { type, streamId: 0, timestamp: 0, payload };
}

function u32(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v >>> 0));
  return out;
}

/**
 * Builds a Set Chunk Size message.
 *
 * @param chunkSize The new maximum chunk size, 1 to 2147483647.
 * @returns The message for the control stream.
 *
 * @example
 * ```ts
 * import { setChunkSizeMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...setChunkSizeMessage(4096).payload], [0, 0, 0x10, 0]);
 * ```
 */
export function setChunkSizeMessage(chunkSize: number): RtmpMessage {
  // @implements RTMP §5.4.1
  return control(MessageType.SET_CHUNK_SIZE, u32(checkChunkSize(chunkSize)));
}

/**
 * Builds an Abort Message.
 *
 * @param chunkStreamId The chunk stream whose partial message the peer should discard.
 * @returns The message for the control stream.
 *
 * @example
 * ```ts
 * import { abortMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...abortMessage(6).payload], [0, 0, 0, 6]);
 * ```
 */
export function abortMessage(chunkStreamId: number): RtmpMessage {
  // @implements RTMP §5.4.2
  return control(MessageType.ABORT, u32(chunkStreamId));
}

/**
 * Builds an Acknowledgement.
 *
 * @param sequenceNumber Bytes received so far (modulo 2^32).
 * @returns The message for the control stream.
 *
 * @example
 * ```ts
 * import { acknowledgementMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...acknowledgementMessage(256).payload], [0, 0, 1, 0]);
 * ```
 */
export function acknowledgementMessage(sequenceNumber: number): RtmpMessage {
  // @implements RTMP §5.4.3
  return control(MessageType.ACK, u32(sequenceNumber));
}

/**
 * Builds a Window Acknowledgement Size message.
 *
 * @param size Bytes the peer may receive between acknowledgements.
 * @returns The message for the control stream.
 *
 * @example
 * ```ts
 * import { windowAckSizeMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...windowAckSizeMessage(2500000).payload], [0x00, 0x26, 0x25, 0xa0]);
 * ```
 */
export function windowAckSizeMessage(size: number): RtmpMessage {
  // @implements RTMP §5.4.4
  return control(MessageType.WINDOW_ACK_SIZE, u32(size));
}

/**
 * Builds a Set Peer Bandwidth message.
 *
 * @param size The acknowledgement window size.
 * @param limitType 0 hard, 1 soft, 2 dynamic.
 * @returns The message for the control stream.
 *
 * @example
 * ```ts
 * import { setPeerBandwidthMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...setPeerBandwidthMessage(2500000, 2).payload], [0x00, 0x26, 0x25, 0xa0, 2]);
 * ```
 */
export function setPeerBandwidthMessage(size: number, limitType: 0 | 1 | 2): RtmpMessage {
  // @implements RTMP §5.4.5
  const payload = new Uint8Array(5);
  payload.set(u32(size));
  payload[4] = limitType;
  return control(MessageType.SET_PEER_BANDWIDTH, payload);
}

/**
 * Builds a User Control message.
 *
 * @param event Event type (see {@linkcode UserControlEvent}).
 * @param data The event data as 32-bit numbers (stream ID, buffer length, timestamp).
 * @returns The message for the control stream.
 *
 * @example Stream Begin for stream 1
 * ```ts
 * import { userControlMessage, UserControlEvent } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * const m = userControlMessage(UserControlEvent.STREAM_BEGIN, 1);
 * deepEqual([...m.payload], [0, 0, 0, 0, 0, 1]);
 * ```
 */
export function userControlMessage(event: number, ...data: number[]): RtmpMessage {
  // @implements RTMP §6.2, RTMP §7.1.7
  const payload = new Uint8Array(2 + data.length * 4);
  new DataView(payload.buffer).setUint16(0, event);
  payload.set(u32(...data), 2);
  return control(MessageType.USER_CONTROL, payload);
}

/**
 * Decodes a protocol control (types 1, 2, 3, 5, 6) or user control (type 4) message.
 *
 * @param message The message.
 * @param offset Offset reported in errors (default 0).
 * @returns The decoded message.
 * @throws {RtmpError} When the payload is too short, a chunk size is 0 or has its top bit
 * set, or the type is not a control message.
 *
 * @example
 * ```ts
 * import { decodeControl, setChunkSizeMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodeControl(setChunkSizeMessage(4096)), { kind: "setChunkSize", chunkSize: 4096 });
 * ```
 */
export function decodeControl(message: RtmpMessage, offset = 0): ControlMessage {
  const p = message.payload;
  const need = (n: number, what: string) => {
    if (p.length < n) {
      throw new RtmpError(
        `Cannot decode ${what}: payload has ${p.length} bytes, expected at least ${n}`,
        offset,
      );
    }
  };
  switch (message.type) {
    case MessageType.SET_CHUNK_SIZE: {
      need(4, "Set Chunk Size");
      const v = readUint32(p, 0);
      // @implements RTMP §5.4.1 ¶3-4
      if (v & 0x80000000 || v === 0) {
        throw new RtmpError(`Cannot decode Set Chunk Size: invalid chunk size ${v}`, offset);
      }
      return { kind: "setChunkSize", chunkSize: v };
    }
    case MessageType.ABORT:
      need(4, "Abort Message");
      return { kind: "abort", chunkStreamId: readUint32(p, 0) };
    case MessageType.ACK:
      need(4, "Acknowledgement");
      return { kind: "ack", sequenceNumber: readUint32(p, 0) };
    case MessageType.WINDOW_ACK_SIZE:
      need(4, "Window Acknowledgement Size");
      return { kind: "windowAckSize", size: readUint32(p, 0) };
    case MessageType.SET_PEER_BANDWIDTH:
      need(5, "Set Peer Bandwidth");
      return { kind: "setPeerBandwidth", size: readUint32(p, 0), limitType: p[4]! };
    case MessageType.USER_CONTROL: {
      need(2, "User Control");
      const data: number[] = [];
      for (let i = 2; i + 4 <= p.length; i += 4) data.push(readUint32(p, i));
      return { kind: "userControl", event: (p[0]! << 8) | p[1]!, data };
    }
    default:
      throw new RtmpError(`Cannot decode control message: type ${message.type} is not one`, offset);
  }
}

// === Command and data messages (RTMP §7.1.1, §7.1.2, §7.2) ===

/**
 * A command: name, transaction ID, command object, optional arguments (RTMP §7.2).
 *
 * @example
 * ```ts
 * import type { RtmpCommand } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const c: RtmpCommand = { name: "createStream", transactionId: 2, object: null, args: [] };
 * equal(c.name, "createStream");
 * ```
 */
export interface RtmpCommand {
  /** Command name (`connect`, `_result`, `onStatus`, ...). */
  name: string;
  /** Transaction ID (0 when no response is expected). */
  transactionId: number;
  /** Command object (or `null`). */
  object: AmfValue;
  /** Further arguments. */
  args: AmfValue[];
}

/**
 * Encodes a command as an AMF 0 command message (type 20).
 *
 * @param command The command.
 * @param streamId Message stream ID (0 for NetConnection commands).
 * @returns The message.
 *
 * @example A connect command
 * ```ts
 * import { encodeCommand } from "@rtclite/vnd/adobe/rtmp";
 * import { decodeAmf0Values } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const m = encodeCommand({ name: "connect", transactionId: 1, object: { app: "live" }, args: [] });
 * equal(m.type, 20);
 * deepEqual(decodeAmf0Values(m.payload), ["connect", 1, { app: "live" }]);
 * ```
 */
export function encodeCommand(command: RtmpCommand, streamId = 0): RtmpMessage {
  // @implements RTMP §7.1.1
  const payload = encodeAmf0Values([
    command.name,
    command.transactionId,
    command.object,
    ...command.args,
  ]);
  return { type: MessageType.COMMAND_AMF0, streamId, timestamp: 0, payload };
}

/**
 * Decodes a command message (type 20, or type 17 whose body starts with a format byte 0 and
 * continues in AMF 0).
 *
 * @param message The message.
 * @returns The command.
 * @throws {RtmpError} When the payload is not AMF 0 or does not start with a name and a
 * transaction ID.
 *
 * @example
 * ```ts
 * import { decodeCommand, encodeCommand } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * const c = { name: "play", transactionId: 0, object: null, args: ["test"] };
 * deepEqual(decodeCommand(encodeCommand(c, 1)), c);
 * ```
 */
export function decodeCommand(message: RtmpMessage): RtmpCommand {
  const values = decodeValues(message, "command");
  // Some peers send bare notifications (ffmpeg's `onFCPublish` is a lone name): a missing
  // transaction ID reads as 0.
  const [name, transactionId = 0, object = null, ...args] = values;
  if (typeof name !== "string" || typeof transactionId !== "number") {
    throw new RtmpError(
      "Cannot decode command: expected a name string and a transaction ID number",
      0,
    );
  }
  return { name, transactionId, object, args };
}

/**
 * Encodes a data message (type 18), e.g. `@setDataFrame` with `onMetaData`.
 *
 * @param values The AMF 0 values (handler name first).
 * @param streamId Message stream ID.
 * @param timestamp Timestamp in milliseconds.
 * @returns The message.
 *
 * @example
 * ```ts
 * import { decodeData, encodeData } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * const m = encodeData(["@setDataFrame", "onMetaData", { width: 320 }], 1);
 * deepEqual(decodeData(m), ["@setDataFrame", "onMetaData", { width: 320 }]);
 * ```
 */
export function encodeData(values: AmfValue[], streamId = 0, timestamp = 0): RtmpMessage {
  // @implements RTMP §7.1.2
  return { type: MessageType.DATA_AMF0, streamId, timestamp, payload: encodeAmf0Values(values) };
}

/**
 * Decodes a data message (type 18, or 15 with a leading format byte) to its AMF 0 values.
 *
 * @param message The message.
 * @returns The values.
 * @throws {RtmpError} When the payload is not AMF 0.
 *
 * @example
 * ```ts
 * import { decodeData } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodeData({ type: 18, streamId: 1, timestamp: 0, payload: new Uint8Array([5]) }), [null]);
 * ```
 */
export function decodeData(message: RtmpMessage): AmfValue[] {
  return decodeValues(message, "data message");
}

function decodeValues(message: RtmpMessage, what: string): AmfValue[] {
  let p = message.payload;
  if (message.type === MessageType.COMMAND_AMF3 || message.type === MessageType.DATA_AMF3) {
    if (p[0] === 0) p = p.subarray(1);
  }
  try {
    return decodeAmf0Values(p);
  } catch (e) {
    const offset = (e as { offset?: number }).offset;
    throw new RtmpError(`Cannot decode ${what}: ${(e as Error).message}`, offset, { cause: e });
  }
}

// === Aggregate messages (RTMP §7.1.6) ===

/**
 * Builds an Aggregate Message from sub-messages: each written with the RTMP message header
 * of RTMP §6.1.1 (type, length, timestamp, stream ID) and followed by a back pointer.
 *
 * @param messages The sub-messages (their stream IDs are replaced by `streamId`).
 * @param streamId The aggregate's message stream ID.
 * @returns The aggregate message, timestamped with the first sub-message's timestamp.
 *
 * @example
 * ```ts
 * import { decodeAggregate, encodeAggregate } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const agg = encodeAggregate([
 *   { type: 8, streamId: 1, timestamp: 100, payload: new Uint8Array([0x2e, 1]) },
 *   { type: 9, streamId: 1, timestamp: 120, payload: new Uint8Array([0x12, 2]) },
 * ], 1);
 * equal(agg.payload.length, 2 * (11 + 2 + 4));
 * equal(decodeAggregate(agg)[1]!.timestamp, 120);
 * ```
 */
export function encodeAggregate(messages: readonly RtmpMessage[], streamId: number): RtmpMessage {
  const size = messages.reduce((n, m) => n + 11 + m.payload.length + 4, 0);
  const payload = new Uint8Array(size);
  const view = new DataView(payload.buffer);
  let p = 0;
  for (const m of messages) {
    // @implements RTMP §6.1.1
    payload[p] = m.type;
    writeUint24(payload, p + 1, m.payload.length);
    view.setUint32(p + 4, m.timestamp >>> 0);
    writeUint24(payload, p + 8, streamId);
    payload.set(m.payload, p + 11);
    p += 11 + m.payload.length;
    view.setUint32(p, 11 + m.payload.length);
    p += 4;
  }
  return { type: MessageType.AGGREGATE, streamId, timestamp: messages[0]?.timestamp ?? 0, payload };
}

/**
 * Splits an Aggregate Message into its sub-messages, with timestamps moved by the difference
 * between the aggregate's timestamp and the first sub-message's, and the aggregate's stream ID.
 *
 * @param message The aggregate message (type 22).
 * @returns The sub-messages.
 * @throws {RtmpError} When a sub-message header or body runs past the end.
 *
 * @example
 * ```ts
 * import { decodeAggregate, RtmpError } from "@rtclite/vnd/adobe/rtmp";
 * import { throws } from "node:assert/strict";
 *
 * throws(() => decodeAggregate({ type: 22, streamId: 1, timestamp: 0, payload: new Uint8Array(5) }), RtmpError);
 * ```
 */
export function decodeAggregate(message: RtmpMessage): RtmpMessage[] {
  // @implements RTMP §7.1.6
  const b = message.payload;
  const out: RtmpMessage[] = [];
  let offset: number | undefined;
  let p = 0;
  while (p < b.length) {
    if (p + 11 > b.length) {
      throw new RtmpError(`Cannot decode aggregate message: sub-message header at ${p} is cut`, p);
    }
    const length = readUint24(b, p + 1);
    const timestamp = readUint32(b, p + 4);
    if (p + 11 + length + 4 > b.length) {
      throw new RtmpError(
        `Cannot decode aggregate message: sub-message of ${length} bytes at ${p} runs past the end`,
        p,
      );
    }
    offset ??= (message.timestamp - timestamp) >>> 0;
    out.push({
      type: b[p]!,
      streamId: message.streamId,
      timestamp: (timestamp + offset) >>> 0,
      payload: b.slice(p + 11, p + 11 + length),
    });
    p += 11 + length + 4;
  }
  return out;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
