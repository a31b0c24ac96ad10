// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * WebSocket (RFC 6455) with permessage-deflate (RFC 7692), sans-I/O: the opening handshake,
 * framing and the protocol state machine with its close handshake. It opens no socket; the
 * browser-shaped client and server over Deno TCP and TLS are in
 * `@rtclite/std/ietf/rfc6455/deno`, and the command line in `@rtclite/std/ietf/rfc6455/main`.
 *
 * The module has two layers, each usable on its own:
 *
 * - **Codecs**: {@linkcode encodeFrame}/{@linkcode decodeFrame} (RFC 6455 §5.2) with the
 *   zero-copy {@linkcode encodeFrameHeader} (header only, payload sent as it is), the handshake
 *   functions {@linkcode createHandshake}, {@linkcode acceptHandshake} and
 *   {@linkcode verifyHandshake} over the HTTP/1.1 heads of `@rtclite/std/http1`
 *   ({@linkcode parseHttpRequest}/{@linkcode parseHttpResponse} throw a
 *   {@linkcode HandshakeError} with the status to answer), and extension header parsing
 *   ({@linkcode parseExtensions}).
 * - **Sans-I/O protocol**: {@linkcode WebSocketProtocol} takes received bytes and returns events
 *   (messages, pings, close) while queueing the bytes to send: fragmentation, interleaved control
 *   frames, fail-fast UTF-8 validation, size limits (close code 1009) and permessage-deflate.
 *
 * permessage-deflate uses the synchronous zlib port `npm:pako`: compressing inside `send()` and
 * inflating inside `receive()` keeps the sans-I/O core synchronous, so message order needs no
 * extra queue, and pako offers what the platform's `CompressionStream("deflate-raw")` lacks — a
 * sync flush that keeps the LZ77 window between messages (context takeover) and window-bits
 * control.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc6455 | RFC 6455}
 * @see {@link https://www.rfc-editor.org/rfc/rfc7692 | RFC 7692}
 *
 * @example A client and a server protocol talk through memory
 * ```ts
 * import {
 *   acceptHandshake, createHandshake, parseHttpRequest, parseHttpResponse, verifyHandshake,
 *   WebSocketProtocol,
 * } from "@rtclite/std/ietf/rfc6455";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const hs = createHandshake("ws://example.com/chat");
 * const accepted = acceptHandshake(parseHttpRequest(hs.request));
 * const result = verifyHandshake(hs, parseHttpResponse(accepted.response));
 * equal(result.extensions, "permessage-deflate");
 *
 * const client = new WebSocketProtocol({ role: "client", deflate: result.deflate });
 * const server = new WebSocketProtocol({ role: "server", deflate: accepted.deflate });
 * client.send("hello ".repeat(20));
 * const [event] = server.receive(client.takeOutput()[0]!);
 * deepEqual(event, { type: "message", data: "hello ".repeat(20) });
 * client.close(1000, "bye");
 * for (const chunk of client.takeOutput()) server.receive(chunk);
 * const reply = server.takeOutput(); // the server echoes the Close frame
 * deepEqual(client.receive(reply[0]!), [{ type: "close", code: 1000, reason: "bye", wasClean: true }]);
 * equal(client.state, "closed");
 * ```
 *
 * @module
 */
// @implements RFC6455 (The WebSocket Protocol)
// @ts-types="npm:@types/pako@2.0.3"
import { constants as zlib, Deflate, Inflate } from "npm:pako@2.1.0";
import { sha1 } from "@noble/hashes/legacy.js";
import { concat } from "../../bytes.ts";
import { ParseError } from "../../errors.ts";
import {
  DEFAULT_MAX_HEAD_SIZE,
  findHeadEnd as findHttpHeadEnd,
  formatRequestHead,
  formatResponse,
  formatResponseHead,
  HttpParseError,
  type HttpRequestHead,
  type HttpResponse,
  type HttpResponseHead,
  parseRequestHead,
  parseResponseHead,
  TOKEN,
} from "../../http1.ts";

export { DEFAULT_MAX_HEAD_SIZE };
export type { HttpRequestHead, HttpResponse, HttpResponseHead };

const encoder = new TextEncoder();

// === Constants (RFC 6455 §1.3, §5.2, §7.4.1) ===

/** The GUID appended to `Sec-WebSocket-Key` before hashing (RFC 6455 §1.3). */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/**
 * Frame opcodes (RFC 6455 §5.2).
 *
 * @example
 * ```ts
 * import { Opcode } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * equal(Opcode.Close, 8);
 * ```
 */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/**
 * Close status codes (RFC 6455 §7.4.1).
 *
 * @example
 * ```ts
 * import { CloseCode } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * equal(CloseCode.MessageTooBig, 1009);
 * ```
 */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatus: 1005,
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  TlsHandshake: 1015,
} as const;

/** Default limit on a message (after decompression), in bytes: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
/**
 * Default limit on the frames of one message: 65,536. A peer that opens a message with FIN=0
 * and then sends endless (even empty) continuation frames fails with 1009 instead of growing
 * the list of fragments.
 */
export const DEFAULT_MAX_FRAGMENTS = 65_536;
// Output slabs start at FIRST_SLAB_SIZE (cut from the shared pool below) and double up to
// SLAB_SIZE, so that a connection that sends a few small frames does not allocate 64 KiB.
const FIRST_SLAB_SIZE = 1024;
const SLAB_SIZE = 65536;

// === Errors ===

/**
 * A received frame or message that breaks RFC 6455 (or an extension); `closeCode` is the status
 * code the connection is failed with (RFC 6455 §7.1.7).
 *
 * @example
 * ```ts
 * import { WebSocketParseError } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const e = new WebSocketParseError("Cannot decode frame: reserved opcode 3", 1002, 0);
 * equal(e.closeCode, 1002);
 * equal(e instanceof SyntaxError, true);
 * ```
 */
export class WebSocketParseError extends ParseError {
  /** The close status code that reports this error to the peer. */
  readonly closeCode: number;

  /**
   * Creates a frame-level error.
   *
   * @param message What failed, a colon, the detail.
   * @param closeCode Close status code to send (default 1002, protocol error).
   * @param offset Byte offset in the received stream, when known.
   */
  constructor(message: string, closeCode: number = CloseCode.ProtocolError, offset?: number) {
    super(message, offset);
    this.closeCode = closeCode;
  }
}

/**
 * An opening handshake that failed: bad or oversized HTTP head, missing or wrong headers, a
 * refused origin, or a server response the client must reject (RFC 6455 §4.1, §4.2.1).
 *
 * @example
 * ```ts
 * import { HandshakeError } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const e = new HandshakeError("Cannot accept handshake: unsupported version 8", 426);
 * equal(e.status, 426);
 * ```
 */
export class HandshakeError extends Error {
  /** HTTP status the server answers with (server side) or received (client side). */
  readonly status: number;
  /** Extra response headers, e.g. `Sec-WebSocket-Version: 13` with status 426. */
  readonly headers: [string, string][];

  /**
   * Creates a handshake error.
   *
   * @param message What failed, a colon, the detail.
   * @param status HTTP status (default 400).
   * @param headers Extra headers for the error response.
   */
  constructor(message: string, status = 400, headers: [string, string][] = []) {
    super(message);
    this.name = "HandshakeError";
    this.status = status;
    this.headers = headers;
  }
}

// === Helpers: nonces and masking keys (RFC 6455 §4.1 ¶23, §5.3) ===

/** Random bytes for masking keys and handshake nonces, drawn from a refilled CSPRNG pool. */
const randomPool = new Uint8Array(4096);
let randomPos = randomPool.length;
function randomBytes(out: Uint8Array): void {
  if (randomPos + out.length > randomPool.length) {
    crypto.getRandomValues(randomPool);
    randomPos = 0;
  }
  out.set(randomPool.subarray(randomPos, randomPos + out.length));
  randomPos += out.length;
}

/** A random 32-bit masking key from the pool. */
function randomKey(): number {
  if (randomPos + 4 > randomPool.length) {
    crypto.getRandomValues(randomPool);
    randomPos = 0;
  }
  const p = randomPos;
  randomPos += 4;
  return ((randomPool[p]! << 24) | (randomPool[p + 1]! << 16) | (randomPool[p + 2]! << 8) |
    randomPool[p + 3]!) >>> 0;
}

/**
 * Computes `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64 of the SHA-1 of the key
 * concatenated with the WebSocket GUID.
 *
 * @param key The client's `Sec-WebSocket-Key` value.
 * @returns The matching `Sec-WebSocket-Accept` value.
 * @see {@link https://www.rfc-editor.org/rfc/rfc6455#section-4.2.2 | RFC 6455 §4.2.2}
 *
 * @example The example of RFC 6455 §1.3
 * ```ts
 * import { acceptKey } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * equal(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
 * ```
 */
// @implements RFC6455 §1.3
export function acceptKey(key: string): string {
  return sha1(encoder.encode(key + WEBSOCKET_GUID)).toBase64();
}

// === Base framing protocol (RFC 6455 §5.2) ===
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-------+-+-------------+-------------------------------+
// |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
// |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
// |N|V|V|V|       |S|             |   (if payload len==126/127)   |
// | |1|2|3|       |K|             |                               |
// +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
// |     Extended payload length continued, if payload len == 127  |
// + - - - - - - - - - - - - - - - +-------------------------------+
// |                               |Masking-key, if MASK set to 1  |
// +-------------------------------+-------------------------------+
// | Masking-key (continued)       |          Payload Data         |
// +-------------------------------- - - - - - - - - - - - - - - - +

/** A WebSocket frame as on the wire (RFC 6455 §5.2); `payload` is unmasked. */
export interface Frame {
  /** FIN: this is the final fragment of a message. */
  fin: boolean;
  /** RSV1, used by permessage-deflate for the first frame of a compressed message. */
  rsv1: boolean;
  /** RSV2, reserved. */
  rsv2: boolean;
  /** RSV3, reserved. */
  rsv3: boolean;
  /** Opcode, see {@linkcode Opcode}. */
  opcode: number;
  /** The 4-byte masking key; present exactly when the frame is masked (client to server). */
  mask?: Uint8Array | undefined;
  /** The payload data, unmasked. */
  payload: Uint8Array;
}

/** Result of {@linkcode decodeFrame}. */
export interface DecodedFrame {
  /** The frame, with its payload unmasked into a copy. */
  frame: Frame;
  /** Bytes the frame took in the input. */
  length: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * XORs `data` in place with a masking key (RFC 6455 §5.3), starting at key phase `phase`
 * (the index of `data[0]` within the payload, modulo 4). Masking twice restores the data.
 *
 * @param data Bytes to mask or unmask, changed in place.
 * @param mask The 4-byte masking key.
 * @param phase Position of `data[0]` within the frame payload (default 0).
 *
 * @example The masked "Hello" of RFC 6455 §5.7
 * ```ts
 * import { applyMask } from "@rtclite/std/ietf/rfc6455";
 * import { deepEqual } from "node:assert/strict";
 * const data = new TextEncoder().encode("Hello");
 * applyMask(data, new Uint8Array([0x37, 0xfa, 0x21, 0x3d]));
 * deepEqual([...data], [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
 * ```
 */
// @implements RFC6455 §5.3
export function applyMask(data: Uint8Array, mask: Uint8Array, phase = 0): void {
  if (mask.length !== 4) {
    throw new RangeError(`Cannot mask: key has ${mask.length} bytes, expected 4`);
  }
  maskWith(data, ((mask[0]! << 24) | (mask[1]! << 16) | (mask[2]! << 8) | mask[3]!) >>> 0, phase);
}

function rotl(k: number, bytes: number): number {
  const r = (bytes & 3) * 8;
  return r === 0 ? k : ((k << r) | (k >>> (32 - r))) >>> 0;
}

function bswap(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/**
 * XORs `data[start..end)` with a key held as a big-endian 32-bit number; `data[start]` is at key
 * byte `phase`.
 */
function maskWith(
  data: Uint8Array,
  key: number,
  phase: number,
  start = 0,
  end: number = data.length,
): void {
  let k = rotl(key, phase); // Its top byte masks data[i].
  let i = start;
  if (end - start >= 128) {
    // Whole 32-bit words from the first aligned byte (a typed-array view costs more than it saves
    // on short payloads).
    while (((data.byteOffset + i) & 3) !== 0) {
      data[i] = data[i]! ^ (k >>> 24);
      k = rotl(k, 1);
      i++;
    }
    const w = LITTLE_ENDIAN ? bswap(k) : k;
    const words = (end - i) >>> 2;
    const u32 = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let j = 0; j < words; j++) u32[j] = u32[j]! ^ w;
    i += words * 4;
  }
  const k0 = k >>> 24, k1 = (k >>> 16) & 0xff, k2 = (k >>> 8) & 0xff, k3 = k & 0xff;
  for (; i + 4 <= end; i += 4) {
    data[i] = data[i]! ^ k0;
    data[i + 1] = data[i + 1]! ^ k1;
    data[i + 2] = data[i + 2]! ^ k2;
    data[i + 3] = data[i + 3]! ^ k3;
  }
  if (i < end) data[i] = data[i]! ^ k0;
  if (i + 1 < end) data[i + 1] = data[i + 1]! ^ k1;
  if (i + 2 < end) data[i + 2] = data[i + 2]! ^ k2;
}

/**
 * Length of a frame header (2 to 14 bytes) for a payload length.
 *
 * @param payloadLength Payload length in bytes.
 * @param masked Whether the frame carries a masking key.
 * @returns Header length in bytes.
 *
 * @example
 * ```ts
 * import { frameHeaderLength } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * equal(frameHeaderLength(125, false), 2);
 * equal(frameHeaderLength(126, true), 8);
 * equal(frameHeaderLength(65536, true), 14);
 * ```
 */
// @implements RFC6455 §5.2 ¶19-20
export function frameHeaderLength(payloadLength: number, masked: boolean): number {
  return (payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Length of an encoded frame.
 *
 * @param frame The frame.
 * @returns Header plus payload length in bytes.
 *
 * @example
 * ```ts
 * import { encodedFrameLength, Opcode } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const payload = new Uint8Array(256);
 * equal(encodedFrameLength({ fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: Opcode.Binary, payload }), 260);
 * ```
 */
export function encodedFrameLength(frame: Frame): number {
  return frameHeaderLength(frame.payload.length, frame.mask !== undefined) + frame.payload.length;
}

function writeHeader(
  buf: Uint8Array,
  o: number,
  first: number,
  len: number,
  key: number | undefined,
): number {
  buf[o] = first;
  const m = key !== undefined ? 0x80 : 0;
  if (len < 126) {
    buf[o + 1] = m | len;
    o += 2;
  } else if (len < 65536) {
    buf[o + 1] = m | 126;
    buf[o + 2] = len >>> 8;
    buf[o + 3] = len & 0xff;
    o += 4;
  } else {
    buf[o + 1] = m | 127;
    const hi = Math.floor(len / 0x100000000), lo = len >>> 0;
    buf[o + 2] = 0;
    buf[o + 3] = 0;
    buf[o + 4] = (hi >>> 8) & 0xff;
    buf[o + 5] = hi & 0xff;
    buf[o + 6] = lo >>> 24;
    buf[o + 7] = (lo >>> 16) & 0xff;
    buf[o + 8] = (lo >>> 8) & 0xff;
    buf[o + 9] = lo & 0xff;
    o += 10;
  }
  if (key !== undefined) {
    buf[o] = key >>> 24;
    buf[o + 1] = (key >>> 16) & 0xff;
    buf[o + 2] = (key >>> 8) & 0xff;
    buf[o + 3] = key & 0xff;
    o += 4;
  }
  return o;
}

// Headers and small frames are cut from a shared pool, as Node's Buffer.allocUnsafe does: in V8
// a new typed array with its own ArrayBuffer costs some hundred nanoseconds, a view a tenth of it.
// Every region is handed out once, so the views never overlap.
const POOL_SIZE = 8192;
const POOLED_MAX = 1024;
let pool = new Uint8Array(POOL_SIZE);
let poolPos = 0;

/** `n` zeroed bytes: a view into the shared pool when `n <= POOLED_MAX`, else a new array. */
function alloc(n: number): Uint8Array {
  if (n > POOLED_MAX) return new Uint8Array(n);
  if (poolPos + n > POOL_SIZE) {
    pool = new Uint8Array(POOL_SIZE);
    poolPos = 0;
  }
  const out = pool.subarray(poolPos, poolPos + n);
  poolPos = (poolPos + n + 7) & ~7; // 8-byte aligned, for the word-wise masking
  return out;
}

/** The empty output slab of a new connection (never written: any write reserves a new one). */
const NO_BYTES = new Uint8Array(0);

function keyOf(mask: Uint8Array): number {
  return ((mask[0]! << 24) | (mask[1]! << 16) | (mask[2]! << 8) | mask[3]!) >>> 0;
}

function firstByte(frame: Frame): number {
  if (!Number.isInteger(frame.opcode) || frame.opcode < 0 || frame.opcode > 15) {
    throw new RangeError(`Cannot encode frame: opcode ${frame.opcode} is not in 0-15`);
  }
  return (frame.fin ? 0x80 : 0) | (frame.rsv1 ? 0x40 : 0) | (frame.rsv2 ? 0x20 : 0) |
    (frame.rsv3 ? 0x10 : 0) | frame.opcode;
}

/**
 * Encodes a frame into `buf` at `offset`, masking the payload when `frame.mask` is set.
 *
 * @param frame The frame to encode (its payload is not changed).
 * @param buf Destination buffer.
 * @param offset Where to start writing (default 0).
 * @returns The number of bytes written.
 * @throws {RangeError} When `buf` is too small, the opcode is not 4 bits or the mask not 4 bytes.
 *
 * @example
 * ```ts
 * import { encodeFrameInto, Opcode } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const buf = new Uint8Array(16);
 * const n = encodeFrameInto({ fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: Opcode.Ping, payload: new Uint8Array(0) }, buf);
 * equal(n, 2);
 * equal(buf[0], 0x89);
 * ```
 */
// @implements RFC6455 §5.2
export function encodeFrameInto(frame: Frame, buf: Uint8Array, offset = 0): number {
  const len = frame.payload.length;
  if (frame.mask !== undefined && frame.mask.length !== 4) {
    throw new RangeError(
      `Cannot encode frame: masking key has ${frame.mask.length} bytes, expected 4`,
    );
  }
  const total = frameHeaderLength(len, frame.mask !== undefined) + len;
  if (buf.length - offset < total) {
    throw new RangeError(
      `Cannot encode frame: buffer has ${buf.length - offset} bytes, expected at least ${total}`,
    );
  }
  const key = frame.mask ? keyOf(frame.mask) : undefined;
  const o = writeHeader(buf, offset, firstByte(frame), len, key);
  buf.set(frame.payload, o);
  if (key !== undefined) maskWith(buf, key, 0, o, o + len);
  return total;
}

/**
 * Encodes the header of a frame (2 to 14 bytes, with the masking key when `frame.mask` is set)
 * into `buf` at `offset`, without its payload: the zero-copy path for sending a payload that is
 * already in memory, written after the header as it is (unmasked) or masked by the caller with
 * {@linkcode applyMask}.
 *
 * @param frame The frame whose header to encode (only `payload.length` is read of the payload).
 * @param buf Destination buffer.
 * @param offset Where to start writing (default 0).
 * @returns The number of bytes written, {@linkcode frameHeaderLength}.
 * @throws {RangeError} When `buf` is too small, the opcode is not 4 bits or the mask not 4 bytes.
 *
 * @example A server's 64 KiB binary frame: a 10-byte header, then the payload as it is
 * ```ts
 * import { encodeFrameHeaderInto, Opcode } from "@rtclite/std/ietf/rfc6455";
 * import { deepEqual, equal } from "node:assert/strict";
 * const payload = new Uint8Array(65536);
 * const head = new Uint8Array(14);
 * const n = encodeFrameHeaderInto({ fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: Opcode.Binary, payload }, head);
 * equal(n, 10);
 * deepEqual([...head.subarray(0, n)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
 * ```
 */
// @implements RFC6455 §5.2
export function encodeFrameHeaderInto(frame: Frame, buf: Uint8Array, offset = 0): number {
  const len = frame.payload.length;
  if (frame.mask !== undefined && frame.mask.length !== 4) {
    throw new RangeError(
      `Cannot encode frame: masking key has ${frame.mask.length} bytes, expected 4`,
    );
  }
  const h = frameHeaderLength(len, frame.mask !== undefined);
  if (buf.length - offset < h) {
    throw new RangeError(
      `Cannot encode frame header: buffer has ${buf.length - offset} bytes, expected at least ${h}`,
    );
  }
  writeHeader(buf, offset, firstByte(frame), len, frame.mask ? keyOf(frame.mask) : undefined);
  return h;
}

/**
 * Encodes the header of a frame into new bytes, without its payload (see
 * {@linkcode encodeFrameHeaderInto}); the frame on the wire is these bytes followed by the
 * payload (masked with {@linkcode applyMask} when `frame.mask` is set). The header is a view
 * into a shared 8 KiB buffer, like small results of {@linkcode encodeFrame}.
 *
 * @param frame The frame whose header to encode (only `payload.length` is read of the payload).
 * @returns The header bytes.
 * @throws {RangeError} When the opcode is not 4 bits or the mask not 4 bytes.
 *
 * @example An unmasked "Hello" (RFC 6455 §5.7) as header and payload
 * ```ts
 * import { encodeFrame, encodeFrameHeader, Opcode } from "@rtclite/std/ietf/rfc6455";
 * import { deepEqual } from "node:assert/strict";
 * const frame = {
 *   fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: Opcode.Text,
 *   payload: new TextEncoder().encode("Hello"),
 * };
 * const head = encodeFrameHeader(frame);
 * deepEqual([...head], [0x81, 0x05]);
 * deepEqual([...head, ...frame.payload], [...encodeFrame(frame)]);
 * ```
 */
export function encodeFrameHeader(frame: Frame): Uint8Array {
  const { mask, payload: { length } } = frame;
  if (mask !== undefined && mask.length !== 4) {
    throw new RangeError(`Cannot encode frame: masking key has ${mask.length} bytes, expected 4`);
  }
  const out = alloc(frameHeaderLength(length, mask !== undefined));
  writeHeader(out, 0, firstByte(frame), length, mask ? keyOf(mask) : undefined);
  return out;
}

/**
 * Encodes a frame, masking the payload when `frame.mask` is set. Frames of up to 1 KiB are
 * views into a shared 8 KiB buffer (as with Node's `Buffer.allocUnsafe`, minus the stale data);
 * `slice()` the result when a separate `ArrayBuffer` is needed.
 *
 * @param frame The frame to encode (its payload is not changed).
 * @returns The frame's bytes.
 *
 * @example The single-frame masked text message of RFC 6455 §5.7
 * ```ts
 * import { encodeFrame, Opcode } from "@rtclite/std/ietf/rfc6455";
 * import { deepEqual } from "node:assert/strict";
 * const bytes = encodeFrame({
 *   fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: Opcode.Text,
 *   mask: new Uint8Array([0x37, 0xfa, 0x21, 0x3d]), payload: new TextEncoder().encode("Hello"),
 * });
 * deepEqual([...bytes], [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
 * ```
 */
export function encodeFrame(frame: Frame): Uint8Array {
  const out = alloc(encodedFrameLength(frame));
  encodeFrameInto(frame, out, 0);
  return out;
}

interface Header {
  first: number;
  masked: boolean;
  length: number;
  headerLength: number;
  /** Masking key as a big-endian 32-bit number (when masked). */
  key: number;
}

/** Reads a header at `o`; returns undefined when more bytes are needed. */
function readHeader(buf: Uint8Array, o: number, end: number): Header | undefined {
  if (end - o < 2) return undefined;
  const first = buf[o]!, second = buf[o + 1]!;
  const masked = (second & 0x80) !== 0;
  let length = second & 0x7f;
  let h = 2;
  if (length === 126) {
    if (end - o < 4) return undefined;
    length = (buf[o + 2]! << 8) | buf[o + 3]!;
    h = 4;
  } else if (length === 127) {
    if (end - o < 10) return undefined;
    // @implements RFC6455 §5.2 ¶20
    if (buf[o + 2]! & 0x80) {
      throw new WebSocketParseError(
        "Cannot decode frame: 64-bit payload length has its most significant bit set",
        CloseCode.ProtocolError,
        o + 2,
      );
    }
    const hi = ((buf[o + 2]! << 24) | (buf[o + 3]! << 16) | (buf[o + 4]! << 8) | buf[o + 5]!) >>> 0;
    const lo = ((buf[o + 6]! << 24) | (buf[o + 7]! << 16) | (buf[o + 8]! << 8) | buf[o + 9]!) >>> 0;
    if (hi >= 0x200000) {
      throw new WebSocketParseError(
        `Cannot decode frame: payload length ${hi * 0x100000000 + lo} is too large`,
        CloseCode.MessageTooBig,
        o + 2,
      );
    }
    length = hi * 0x100000000 + lo;
    h = 10;
  }
  let key = 0;
  if (masked) {
    if (end - o < h + 4) return undefined;
    key = ((buf[o + h]! << 24) | (buf[o + h + 1]! << 16) | (buf[o + h + 2]! << 8) |
      buf[o + h + 3]!) >>> 0;
    h += 4;
  }
  return { first, masked, length, headerLength: h, key };
}

/**
 * Decodes one frame at `offset`, unmasking its payload into a copy. Checks only the syntax of
 * §5.2; the rules on opcodes, reserved bits, masking direction and fragmentation are applied by
 * {@linkcode WebSocketProtocol}.
 *
 * @param buf Received bytes.
 * @param offset Where the frame starts (default 0).
 * @returns The frame and its encoded length, or `null` when `buf` holds only part of a frame.
 * @throws {WebSocketParseError} When the 64-bit length has its top bit set or exceeds 2^53.
 *
 * @example The fragmented unmasked text message of RFC 6455 §5.7
 * ```ts
 * import { decodeFrame } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const bytes = new Uint8Array([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
 * const first = decodeFrame(bytes)!;
 * equal(first.frame.fin, false);
 * equal(new TextDecoder().decode(first.frame.payload), "Hel");
 * const second = decodeFrame(bytes, first.length)!;
 * equal(second.frame.opcode, 0);
 * equal(new TextDecoder().decode(second.frame.payload), "lo");
 * equal(decodeFrame(bytes.subarray(0, 4)), null);
 * ```
 */
export function decodeFrame(buf: Uint8Array, offset = 0): DecodedFrame | null {
  const h = readHeader(buf, offset, buf.length);
  if (!h || buf.length - offset - h.headerLength < h.length) return null;
  const start = offset + h.headerLength;
  const payload = buf.slice(start, start + h.length);
  if (h.masked) maskWith(payload, h.key, 0);
  return {
    frame: {
      fin: (h.first & 0x80) !== 0,
      rsv1: (h.first & 0x40) !== 0,
      rsv2: (h.first & 0x20) !== 0,
      rsv3: (h.first & 0x10) !== 0,
      opcode: h.first & 0x0f,
      mask: h.masked
        ? new Uint8Array([h.key >>> 24, (h.key >>> 16) & 0xff, (h.key >>> 8) & 0xff, h.key & 0xff])
        : undefined,
      payload,
    },
    length: h.headerLength + h.length,
  };
}

// === Close frames and status codes (RFC 6455 §5.5.1, §7.4) ===

/**
 * Whether a status code may appear in a received Close frame: 1000-1003, 1007-1014 and
 * 3000-4999 (1004-1006 and 1015 are reserved and never sent).
 *
 * @param code The status code.
 * @returns `true` when an endpoint may send it.
 *
 * @example
 * ```ts
 * import { isValidCloseCode } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * equal(isValidCloseCode(1000), true);
 * equal(isValidCloseCode(1005), false);
 * equal(isValidCloseCode(4999), true);
 * equal(isValidCloseCode(5000), false);
 * ```
 */
// @implements RFC6455 §7.4.1, §7.4.2
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

/**
 * Builds a Close frame payload: a 2-byte status code then a UTF-8 reason.
 *
 * @param code Status code, or undefined for an empty payload.
 * @param reason Reason text (at most 123 bytes of UTF-8).
 * @returns The payload.
 * @throws {RangeError} When the code may not be sent or the reason is too long.
 *
 * @example
 * ```ts
 * import { encodeClosePayload } from "@rtclite/std/ietf/rfc6455";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual([...encodeClosePayload(1000, "ok")], [0x03, 0xe8, 0x6f, 0x6b]);
 * ```
 */
// @implements RFC6455 §5.5.1 ¶2
export function encodeClosePayload(code?: number, reason = ""): Uint8Array {
  if (code === undefined) {
    if (reason) throw new RangeError("Cannot encode close: a reason needs a status code");
    return new Uint8Array(0);
  }
  if (!isValidCloseCode(code)) {
    throw new RangeError(`Cannot encode close: status code ${code} may not be sent`);
  }
  const text = encoder.encode(reason);
  if (text.length > 123) {
    throw new RangeError(
      `Cannot encode close: reason has ${text.length} bytes, at most 123 allowed`,
    );
  }
  const out = new Uint8Array(2 + text.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}

/**
 * Reads a Close frame payload.
 *
 * @param payload The unmasked payload.
 * @returns The code (1005 when absent) and reason.
 * @throws {WebSocketParseError} On a 1-byte payload or an invalid code (1002) or a reason that is
 * not UTF-8 (1007).
 *
 * @example
 * ```ts
 * import { decodeClosePayload } from "@rtclite/std/ietf/rfc6455";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(decodeClosePayload(new Uint8Array([0x03, 0xe9])), { code: 1001, reason: "" });
 * deepEqual(decodeClosePayload(new Uint8Array(0)), { code: 1005, reason: "" });
 * ```
 */
// @implements RFC6455 §5.5.1 ¶2, §7.1.5
export function decodeClosePayload(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length === 0) return { code: CloseCode.NoStatus, reason: "" };
  if (payload.length === 1) {
    throw new WebSocketParseError("Cannot decode close: payload has 1 byte", 1002, 0);
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) {
    throw new WebSocketParseError(`Cannot decode close: invalid status code ${code}`, 1002, 0);
  }
  let reason: string;
  try {
    reason = strictDecoder.decode(payload.subarray(2));
  } catch {
    throw new WebSocketParseError("Cannot decode close: reason is not UTF-8", 1007, 2);
  }
  return { code, reason };
}

// @implements RFC6455 §8.1
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// === permessage-deflate (RFC 7692) ===

/** Parameters of an accepted permessage-deflate negotiation (RFC 7692 §7.1). */
export interface DeflateParams {
  /** The server compresses each message with an empty LZ77 window. */
  serverNoContextTakeover: boolean;
  /** The client compresses each message with an empty LZ77 window. */
  clientNoContextTakeover: boolean;
  /** Base-2 logarithm of the server's LZ77 window (8-15). */
  serverMaxWindowBits: number;
  /** Base-2 logarithm of the client's LZ77 window (8-15). */
  clientMaxWindowBits: number;
}

/** What an endpoint asks for or accepts in permessage-deflate negotiation. */
export interface DeflateOptions {
  /** Ask (client) or require (server) that the server not keep context. */
  serverNoContextTakeover?: boolean;
  /** Ask (client) or require (server) that the client not keep context. */
  clientNoContextTakeover?: boolean;
  /** Largest server window (8-15) to ask for (client) or to use (server); default 15. */
  serverMaxWindowBits?: number;
  /** Largest client window (8-15) to ask for (server) or to use (client); default 15. */
  clientMaxWindowBits?: number;
  /** Messages shorter than this many bytes are sent uncompressed (default 32). */
  threshold?: number;
  /** zlib compression level 1-9 (default 6). */
  level?: number;
}

const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

class Compressor {
  #deflate: Deflate | undefined;
  readonly #windowBits: number;
  readonly #noContext: boolean;
  readonly #level: number;
  constructor(windowBits: number, noContext: boolean, level: number) {
    // zlib cannot compress raw deflate with a 256-byte window: 8 is raised to 9 by pako/zlib.
    this.#windowBits = windowBits;
    this.#noContext = noContext;
    this.#level = level;
  }
  // @implements RFC7692 §7.2.1
  compress(data: Uint8Array): Uint8Array {
    // @implements RFC7692 §7.2.3.6
    if (data.length === 0) return new Uint8Array([0x00]);
    if (!this.#deflate || this.#noContext) {
      this.#deflate = new Deflate({
        raw: true,
        windowBits: this.#windowBits,
        level: this.#level as 6,
        memLevel: 8,
      });
    }
    const chunks: Uint8Array[] = [];
    this.#deflate.onData = (c) => chunks.push(c as Uint8Array);
    this.#deflate.push(data, zlib.Z_SYNC_FLUSH);
    if (this.#deflate.err) throw new RangeError(`Cannot compress message: ${this.#deflate.msg}`);
    const out = chunks.length === 1 ? chunks[0]! : concat(chunks);
    // A sync flush ends with an empty stored block 00 00 ff ff, which the sender removes.
    return out.subarray(0, out.length - 4);
  }
}

interface PakoStream {
  output: Uint8Array;
  next_out: number;
  avail_out: number;
}

class Decompressor {
  #inflate: Inflate | undefined;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #limit = 0;
  // @implements RFC7692 §7.2.2
  push(data: Uint8Array, last: boolean, limit: number): Uint8Array[] {
    if (!this.#inflate) {
      this.#inflate = new Inflate({ raw: true, windowBits: 15 });
      this.#inflate.onData = (c) => this.#take((c as Uint8Array).slice());
    }
    this.#limit = limit;
    const inflate = this.#inflate;
    inflate.push(data, zlib.Z_SYNC_FLUSH);
    if (last) inflate.push(TAIL, zlib.Z_SYNC_FLUSH);
    if (inflate.err) {
      this.#inflate = undefined;
      throw new WebSocketParseError(`Cannot inflate message: ${inflate.msg}`, 1007);
    }
    // pako hands out output only when a chunk fills up; take the partial chunk after the flush.
    const strm = (inflate as unknown as { strm: PakoStream }).strm;
    if ((inflate as unknown as { ended: boolean }).ended) {
      // A final block (BFINAL) ended the stream, and pako emitted everything; the next message
      // starts a new one (RFC 7692 §7.2.3.4).
      this.#inflate = undefined;
    } else if (strm.next_out > 0) {
      this.#take(strm.output.slice(0, strm.next_out));
      strm.avail_out = 0;
      strm.next_out = 0;
    }
    const out = this.#chunks;
    this.#chunks = [];
    return out;
  }
  #take(chunk: Uint8Array): void {
    this.#size += chunk.length;
    if (this.#size > this.#limit) {
      this.#inflate = undefined;
      throw new WebSocketParseError(
        `Cannot inflate message: more than ${this.#limit} bytes`,
        CloseCode.MessageTooBig,
      );
    }
    this.#chunks.push(chunk);
  }
  resetSize(): void {
    this.#size = 0;
  }
}

// === Sans-I/O protocol (RFC 6455 §5.4-§7) ===

/** Which end of the connection a {@linkcode WebSocketProtocol} plays. */
export type WebSocketRole = "client" | "server";

/** Options of {@linkcode WebSocketProtocol}. */
export interface WebSocketProtocolOptions {
  /** `client` masks what it sends and requires unmasked frames; `server` the reverse. */
  role: WebSocketRole;
  /** Largest message (after decompression) accepted; larger fails with 1009. */
  maxMessageSize?: number;
  /** Largest frame payload accepted; larger fails with 1009 (default: `maxMessageSize`). */
  maxFrameSize?: number;
  /** Most frames in one message; more fails with 1009 (default {@linkcode DEFAULT_MAX_FRAGMENTS}). */
  maxFragments?: number;
  /** Negotiated permessage-deflate parameters; absent when not negotiated. */
  deflate?: DeflateParams | undefined;
  /** Compression threshold and level for permessage-deflate. */
  deflateOptions?: Pick<DeflateOptions, "threshold" | "level">;
  /** Split outgoing messages into frames of at most this many payload bytes (default: none). */
  fragmentSize?: number;
}

/** An event returned by {@linkcode WebSocketProtocol.receive}. */
export type WebSocketEvent =
  | { type: "message"; data: string | Uint8Array }
  | { type: "ping"; data: Uint8Array }
  | { type: "pong"; data: Uint8Array }
  | { type: "close"; code: number; reason: string; wasClean: boolean }
  | { type: "error"; error: WebSocketParseError };

/** Options of {@linkcode WebSocketProtocol.send}. */
export interface SendOptions {
  /** Send a binary message even for a string (default: strings are text, bytes binary). */
  binary?: boolean;
  /** Compress when permessage-deflate was negotiated (default true). */
  compress?: boolean;
  /** Frame payload size for this message (overrides the protocol's `fragmentSize`). */
  fragmentSize?: number;
}

/**
 * The WebSocket protocol as a sans-I/O state machine: feed received bytes to
 * {@linkcode WebSocketProtocol.receive | receive()} and act on the events it returns; write
 * what {@linkcode WebSocketProtocol.takeOutput | takeOutput()} returns to the transport.
 * It answers pings, echoes the close frame, and fails the connection (queueing a Close frame
 * with the right status code) on any violation of RFC 6455 §5-§8 or RFC 7692.
 *
 * When `state` becomes `"closed"` the transport should be closed: at once by a server, by a
 * client after the server closed it or a timeout (RFC 6455 §7.1.1).
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc6455#section-5 | RFC 6455 §5}
 *
 * @example A server receives a masked "Hello" and a ping
 * ```ts
 * import { decodeFrame, encodeFrame, Opcode, WebSocketProtocol } from "@rtclite/std/ietf/rfc6455";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const server = new WebSocketProtocol({ role: "server" });
 * const events = server.receive(new Uint8Array([
 *   0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, // "Hello"
 *   0x89, 0x80, 1, 2, 3, 4, // ping
 * ]));
 * deepEqual(events.map((e) => e.type), ["message", "ping"]);
 * deepEqual(events[0], { type: "message", data: "Hello" });
 * const [pong] = server.takeOutput();
 * equal(decodeFrame(pong!)!.frame.opcode, Opcode.Pong);
 *
 * server.send("Hi");
 * deepEqual([...server.takeOutput()[0]!], [0x81, 0x02, 0x48, 0x69]);
 * ```
 */
export class WebSocketProtocol {
  readonly #client: boolean;
  readonly #maxMessage: number;
  readonly #maxFrame: number;
  readonly #maxFragments: number;
  #fragments = 0;
  #inflated = 0;
  readonly #fragmentSize: number;
  readonly #compressor: Compressor | undefined;
  readonly #decompressor: Decompressor | undefined;
  readonly #threshold: number;
  #state: "open" | "closing" | "closed" = "open";
  #closeSent = false;
  #closeReceived = false;
  #closeEcho: Uint8Array | undefined;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #slab: Uint8Array = NO_BYTES;
  #slabPos = 0;
  #regionStart = 0;
  #offset = 0;
  #events: WebSocketEvent[] = [];
  // Header assembly across chunks.
  readonly #head = alloc(14);
  #headLen = 0;
  // Current frame whose payload is being received.
  #frame: Header | undefined;
  #payload: Uint8Array | undefined;
  #filled = 0;
  // Current message.
  #msgOpcode = 0; // 0: none in progress
  #msgCompressed = false;
  #msgSize = 0;
  #msgParts: Uint8Array[] = [];
  #text = "";
  #textDecoder: TextDecoder | undefined;
  #closeCode: number = CloseCode.Abnormal;
  #closeReason = "";

  /**
   * Creates the protocol state for one connection whose handshake has completed.
   *
   * @param options Role, limits and the negotiated extensions.
   */
  constructor(options: WebSocketProtocolOptions) {
    this.#client = options.role === "client";
    this.#maxMessage = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.#maxFrame = options.maxFrameSize ?? this.#maxMessage;
    this.#maxFragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
    this.#fragmentSize = options.fragmentSize ?? Infinity;
    this.#threshold = options.deflateOptions?.threshold ?? 32;
    const d = options.deflate;
    if (d) {
      const bits = this.#client ? d.clientMaxWindowBits : d.serverMaxWindowBits;
      const noContext = this.#client ? d.clientNoContextTakeover : d.serverNoContextTakeover;
      this.#compressor = new Compressor(
        Math.max(bits, 9),
        noContext,
        options.deflateOptions?.level ?? 6,
      );
      this.#decompressor = new Decompressor();
    }
  }

  /** `open`, `closing` (our Close frame sent, awaiting the peer's) or `closed`. */
  get state(): "open" | "closing" | "closed" {
    return this.#state;
  }

  /** The status code of the close (1006 until a Close frame was exchanged or the connection failed). */
  get closeCode(): number {
    return this.#closeCode;
  }

  /** The reason of the close. */
  get closeReason(): string {
    return this.#closeReason;
  }

  /**
   * Whether messages may still be sent: no Close frame sent yet. Stays true after a Close frame
   * is received until {@linkcode WebSocketProtocol.takeOutput | takeOutput()} queues the reply.
   */
  get canSend(): boolean {
    return !this.#closeSent && (this.#state !== "closed" || this.#closeEcho !== undefined);
  }

  /**
   * Bytes produced by inflating received permessage-deflate messages so far; an adapter may
   * budget the decompression work of a connection with it. Compressed payloads are inflated as
   * they arrive, so the work done by one `receive()` is bounded by the bytes it is given.
   */
  get inflatedBytes(): number {
    return this.#inflated;
  }

  /** Bytes queued by `send`, `ping`, `close` and automatic replies, not yet taken. */
  get bufferedAmount(): number {
    return this.#outBytes;
  }

  /**
   * Returns and clears the bytes to write to the transport, in order.
   *
   * @returns Chunks of encoded frames.
   */
  takeOutput(): Uint8Array[] {
    if (this.#closeEcho) {
      this.#queueFrame(Opcode.Close, this.#closeEcho, true, false);
      this.#closeEcho = undefined;
      this.#closeSent = true;
    }
    this.#seal();
    const out = this.#out;
    this.#out = [];
    this.#outBytes = 0;
    return out;
  }

  /**
   * Processes received bytes. The protocol copies what it keeps, so `data` may be reused.
   *
   * @param data Bytes from the transport.
   * @returns The events they complete, in order.
   */
  receive(data: Uint8Array): WebSocketEvent[] {
    const events: WebSocketEvent[] = this.#events = [];
    if (this.#state === "closed") return events;
    try {
      this.#receive(data);
    } catch (e) {
      if (!(e instanceof WebSocketParseError)) throw e;
      this.#fail(e);
    }
    this.#offset += data.length;
    return events;
  }

  #receive(data: Uint8Array): void {
    let pos = 0;
    let copy: Uint8Array | undefined;
    let copyBase = 0;
    const n = data.length;
    while (pos < n && this.#state !== "closed") {
      if (this.#frame) {
        // Payload of the current frame.
        const f = this.#frame;
        const take = Math.min(f.length - this.#filled, n - pos);
        const part = this.#payload!.subarray(this.#filled, this.#filled + take);
        part.set(data.subarray(pos, pos + take));
        if (f.masked) maskWith(part, f.key, this.#filled);
        this.#filled += take;
        pos += take;
        this.#partial(f, part);
        if (this.#filled === f.length) {
          const payload = this.#payload!;
          this.#frame = this.#payload = undefined;
          this.#onFrame(f, payload);
        }
        continue;
      }
      let h: Header | undefined;
      if (this.#headLen === 0) {
        h = readHeader(data, pos, n);
        if (h) pos += h.headerLength;
      }
      if (!h) {
        // Assemble a header split across chunks, one byte at a time (at most 14 bytes).
        this.#head[this.#headLen++] = data[pos++]!;
        h = readHeader(this.#head, 0, this.#headLen);
        if (!h) continue;
        this.#headLen = 0;
      }
      this.#onHeader(h);
      if (h.length <= n - pos) {
        // Whole payload at hand. Small payloads become views into one copy of the chunk (one
        // allocation per read instead of one per frame); large ones get their own copy.
        let payload: Uint8Array;
        if (h.length <= 4096) {
          if (!copy) {
            copy = data.slice(pos);
            copyBase = pos;
          }
          payload = copy.subarray(pos - copyBase, pos - copyBase + h.length);
        } else payload = data.slice(pos, pos + h.length);
        pos += h.length;
        if (h.masked) maskWith(payload, h.key, 0);
        this.#partial(h, payload);
        this.#onFrame(h, payload);
      } else {
        this.#frame = h;
        this.#payload = new Uint8Array(h.length);
        this.#filled = 0;
      }
    }
  }

  #error(message: string, code: number = CloseCode.ProtocolError): WebSocketParseError {
    return new WebSocketParseError(message, code, this.#offset);
  }

  /** Checks a frame header before its payload arrives (fail fast). */
  // @implements RFC6455 §5.2 ¶5-8, §5.4, §5.5
  #onHeader(h: Header): void {
    const opcode = h.first & 0x0f;
    const control = opcode >= 8;
    // @implements RFC6455 §5.1 ¶2
    if (this.#client ? h.masked : !h.masked) {
      throw this.#error(
        this.#client
          ? "Cannot accept frame: a server must not mask frames"
          : "Cannot accept frame: client frames must be masked",
      );
    }
    if (opcode > 2 && opcode !== 8 && opcode !== 9 && opcode !== 10) {
      throw this.#error(`Cannot accept frame: reserved opcode ${opcode}`);
    }
    // @implements RFC6455 §5.8, RFC7692 §6
    const rsv1Allowed = this.#decompressor !== undefined && (opcode === 1 || opcode === 2);
    if ((h.first & 0x30) || ((h.first & 0x40) && !rsv1Allowed)) {
      throw this.#error(
        `Cannot accept frame: reserved bits set (0x${(h.first & 0x70).toString(16)})`,
      );
    }
    if (control) {
      // @implements RFC6455 §5.5 ¶2
      if (!(h.first & 0x80)) throw this.#error("Cannot accept frame: fragmented control frame");
      if (h.length > 125) {
        throw this.#error(`Cannot accept frame: control frame payload has ${h.length} bytes`);
      }
      return;
    }
    // @implements RFC6455 §5.4 ¶5-10
    if (opcode === Opcode.Continuation) {
      if (this.#msgOpcode === 0) {
        throw this.#error("Cannot accept frame: continuation frame without a message to continue");
      }
    } else {
      if (this.#msgOpcode !== 0) {
        throw this.#error("Cannot accept frame: new data frame inside a fragmented message");
      }
      this.#msgOpcode = opcode;
      this.#msgCompressed = (h.first & 0x40) !== 0;
      this.#msgSize = 0;
      this.#fragments = 0;
      if (this.#msgCompressed) this.#decompressor!.resetSize();
      this.#textDecoder = undefined;
      this.#text = "";
    }
    // @implements RFC6455 §10.4
    if (++this.#fragments > this.#maxFragments) {
      throw this.#error(
        `Cannot accept message: more than ${this.#maxFragments} frames`,
        CloseCode.MessageTooBig,
      );
    }
    if (h.length > this.#maxFrame) {
      throw this.#error(
        `Cannot accept frame: payload of ${h.length} bytes exceeds ${this.#maxFrame}`,
        CloseCode.MessageTooBig,
      );
    }
    this.#msgSize += h.length;
    if (!this.#msgCompressed && this.#msgSize > this.#maxMessage) {
      throw this.#error(
        `Cannot accept message: more than ${this.#maxMessage} bytes`,
        CloseCode.MessageTooBig,
      );
    }
    if (this.#msgCompressed && this.#msgSize > this.#maxMessage) {
      throw this.#error(
        `Cannot accept message: compressed payload over ${this.#maxMessage} bytes`,
        CloseCode.MessageTooBig,
      );
    }
  }

  /** Validates text as it arrives, so invalid UTF-8 fails before the rest of the frame. */
  // @implements RFC6455 §8.1
  #partial(h: Header, part: Uint8Array): void {
    if ((h.first & 0x0f) >= 8) return;
    if (this.#msgCompressed) {
      // Inflate as the payload arrives: the work per receive() follows the bytes received.
      if (part.length) this.#takeInflated(this.#decompressor!.push(part, false, this.#maxMessage));
      return;
    }
    if (this.#msgOpcode !== Opcode.Text) return;
    if (part.length === h.length && (h.first & 0x80) && !this.#textDecoder) {
      return; // A whole single-frame text message: decoded at once in #onFrame.
    }
    const dec = this.#textDecoder ??= new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    try {
      this.#text += dec.decode(part, { stream: true });
    } catch {
      throw this.#error("Cannot accept text: invalid UTF-8", CloseCode.InvalidPayload);
    }
  }

  #onFrame(h: Header, payload: Uint8Array): void {
    const opcode = h.first & 0x0f;
    const fin = (h.first & 0x80) !== 0;
    switch (opcode) {
      case Opcode.Ping:
        // @implements RFC6455 §5.5.2
        this.#events.push({ type: "ping", data: payload });
        if (!this.#closeSent) this.#queueFrame(Opcode.Pong, payload, true, false);
        return;
      case Opcode.Pong:
        // @implements RFC6455 §5.5.3
        this.#events.push({ type: "pong", data: payload });
        return;
      case Opcode.Close:
        this.#onClose(payload);
        return;
    }
    // @implements RFC6455 §6.2
    const text = this.#msgOpcode === Opcode.Text;
    if (this.#msgCompressed) {
      if (fin) this.#takeInflated(this.#decompressor!.push(NO_BYTES, true, this.#maxMessage));
    } else if (!text) {
      if (payload.length) this.#msgParts.push(payload);
    } else if (!this.#textDecoder) {
      // Single-frame text message.
      try {
        this.#text = strictDecoder.decode(payload);
      } catch {
        throw this.#error("Cannot accept text: invalid UTF-8", CloseCode.InvalidPayload);
      }
    }
    if (!fin) return;
    let data: string | Uint8Array;
    if (text) {
      if (this.#textDecoder) {
        try {
          this.#text += this.#textDecoder.decode();
        } catch {
          throw this.#error("Cannot accept text: truncated UTF-8 sequence", 1007);
        }
      }
      data = this.#text;
      this.#text = "";
    } else {
      const parts = this.#msgParts;
      data = parts.length === 0
        ? new Uint8Array(0)
        : parts.length === 1
        ? parts[0]!
        : concat(parts);
      this.#msgParts = [];
    }
    this.#msgOpcode = 0;
    this.#textDecoder = undefined;
    this.#events.push({ type: "message", data });
  }

  #takeInflated(parts: Uint8Array[]): void {
    for (const p of parts) this.#inflated += p.length;
    if (this.#msgOpcode === Opcode.Text) {
      const dec = this.#textDecoder ??= new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
      try {
        for (const p of parts) this.#text += dec.decode(p, { stream: true });
      } catch {
        throw this.#error("Cannot accept text: invalid UTF-8", CloseCode.InvalidPayload);
      }
    } else {
      for (const p of parts) this.#msgParts.push(p);
    }
  }

  // @implements RFC6455 §5.5.1, §7.1.2, §7.1.3
  #onClose(payload: Uint8Array): void {
    const { code, reason } = decodeClosePayload(payload);
    this.#closeReceived = true;
    // Echo the status code and reason received (§5.5.1 ¶5). The reply is queued by the next
    // takeOutput(), so that the application can still answer messages that arrived before the
    // Close frame in the same read.
    if (!this.#closeSent) this.#closeEcho = payload;
    this.#state = "closed";
    this.#closeCode = code;
    this.#closeReason = reason;
    this.#events.push({ type: "close", code, reason, wasClean: true });
  }

  /** Fails the connection: sends a Close frame with the error's code and stops reading. */
  // @implements RFC6455 §7.1.7
  #fail(error: WebSocketParseError): void {
    this.#events.push({ type: "error", error });
    this.#closeEcho = undefined;
    const reason = error.message.length <= 123
      ? error.message
      : error.message.slice(0, 120) + "...";
    if (!this.#closeSent) {
      this.#queueFrame(Opcode.Close, encodeClosePayload(error.closeCode, reason), true, false);
      this.#closeSent = true;
    }
    this.#state = "closed";
    this.#closeCode = error.closeCode;
    this.#closeReason = reason;
    this.#frame = this.#payload = undefined;
    this.#events.push({ type: "close", code: error.closeCode, reason, wasClean: false });
  }

  #queueFrame(opcode: number, payload: Uint8Array, fin: boolean, rsv1: boolean): void {
    const len = payload.length;
    const first = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
    const h = frameHeaderLength(len, this.#client);
    if (this.#client || len <= 16384) {
      // Frames are written one after another into a slab, which takeOutput() hands out in one
      // piece: one allocation for many small frames.
      // @implements RFC6455 §5.3 ¶3
      const key = this.#client ? randomKey() : undefined;
      this.#reserve(h + len);
      const buf = this.#slab;
      const o = writeHeader(buf, this.#slabPos, first, len, key);
      buf.set(payload, o);
      if (key !== undefined) maskWith(buf, key, 0, o, o + len);
      this.#slabPos = o + len;
      this.#outBytes += h + len;
    } else {
      // Large unmasked payloads go out as they are, after their header, without a copy.
      this.#seal();
      const head = alloc(h);
      writeHeader(head, 0, first, len, undefined);
      this.#out.push(head, payload);
      this.#outBytes += h + len;
    }
  }

  #reserve(n: number): void {
    if (this.#slab.length - this.#slabPos >= n) return;
    this.#seal();
    const size = Math.min(SLAB_SIZE, this.#slab.length * 2 || FIRST_SLAB_SIZE);
    this.#slab = alloc(Math.max(size, n));
    this.#slabPos = this.#regionStart = 0;
  }

  #seal(): void {
    if (this.#slabPos > this.#regionStart) {
      this.#out.push(this.#slab.subarray(this.#regionStart, this.#slabPos));
      this.#regionStart = this.#slabPos;
    }
  }

  /**
   * Queues a message: a string as text (UTF-8) unless `binary`, bytes as binary. Compressed when
   * permessage-deflate was negotiated and the message reaches the threshold; fragmented when a
   * fragment size is set.
   *
   * @param data The message.
   * @param options Binary, compression and fragmentation choices.
   * @throws {DOMException} `InvalidStateError` after the closing handshake started.
   */
  // @implements RFC6455 §6.1, §5.4 ¶12
  send(data: string | Uint8Array, options?: SendOptions): void {
    if (!this.canSend) {
      throw new DOMException(
        "Cannot send: the WebSocket is closing or closed",
        "InvalidStateError",
      );
    }
    const size = Math.max(1, options?.fragmentSize ?? this.#fragmentSize);
    const compress = this.#compressor !== undefined && options?.compress !== false;
    const isText = typeof data === "string" && !options?.binary;
    if (isText) {
      const max = data.length * 3; // UTF-8 bytes per UTF-16 code unit, at most
      if (max <= 16384 && max <= size && (!compress || max < this.#threshold)) {
        this.#queueText(data);
        return;
      }
    }
    let payload = typeof data === "string" ? encoder.encode(data) : data;
    let rsv1 = false;
    if (compress && payload.length >= this.#threshold) {
      payload = this.#compressor!.compress(payload);
      rsv1 = true;
    }
    let opcode: number = isText ? Opcode.Text : Opcode.Binary;
    if (payload.length <= size) {
      this.#queueFrame(opcode, payload, true, rsv1);
      return;
    }
    for (let o = 0; o < payload.length; o += size) {
      const end = Math.min(o + size, payload.length);
      this.#queueFrame(opcode, payload.subarray(o, end), end === payload.length, rsv1);
      opcode = Opcode.Continuation;
      rsv1 = false;
    }
  }

  /** A short text message, UTF-8-encoded straight into the output slab. */
  #queueText(data: string): void {
    const max = data.length * 3;
    const hMax = frameHeaderLength(max, this.#client);
    this.#reserve(hMax + max);
    const buf = this.#slab;
    const start = this.#slabPos;
    const { written } = encoder.encodeInto(data, buf.subarray(start + hMax, start + hMax + max));
    const h = frameHeaderLength(written, this.#client);
    if (h !== hMax) buf.copyWithin(start + h, start + hMax, start + hMax + written);
    const key = this.#client ? randomKey() : undefined;
    const o = writeHeader(buf, start, 0x80 | Opcode.Text, written, key);
    if (key !== undefined) maskWith(buf, key, 0, o, o + written);
    this.#slabPos = o + written;
    this.#outBytes += h + written;
  }

  /**
   * Queues a Ping frame (RFC 6455 §5.5.2).
   *
   * @param data Application data, at most 125 bytes.
   * @throws {RangeError} When the data is longer than 125 bytes.
   */
  ping(data: Uint8Array = new Uint8Array(0)): void {
    this.#control(Opcode.Ping, data);
  }

  /**
   * Queues an unsolicited Pong frame, a unidirectional heartbeat (RFC 6455 §5.5.3).
   *
   * @param data Application data, at most 125 bytes.
   * @throws {RangeError} When the data is longer than 125 bytes.
   */
  pong(data: Uint8Array = new Uint8Array(0)): void {
    this.#control(Opcode.Pong, data);
  }

  #control(opcode: number, data: Uint8Array): void {
    if (data.length > 125) {
      throw new RangeError(
        `Cannot send control frame: payload has ${data.length} bytes, at most 125`,
      );
    }
    if (this.#closeSent) return;
    this.#queueFrame(opcode, data, true, false);
  }

  /**
   * Starts the closing handshake: queues a Close frame. Does nothing once a Close frame was sent.
   *
   * @param code Status code (omit for an empty Close frame).
   * @param reason Reason text, at most 123 bytes of UTF-8.
   * @throws {RangeError} For a code that may not be sent or a reason that is too long.
   */
  // @implements RFC6455 §7.1.2
  close(code?: number, reason = ""): void {
    const payload = encodeClosePayload(code, reason);
    if (this.#closeSent || this.#closeEcho) return;
    this.#queueFrame(Opcode.Close, payload, true, false);
    this.#closeSent = true;
    this.#closeCode = code ?? CloseCode.NoStatus;
    this.#closeReason = reason;
    if (this.#state === "open") this.#state = "closing";
  }
}

// === HTTP/1.1 heads for the opening handshake (RFC 6455 §4.1, §4.2.1) ===
//
// The heads are read and written by `@rtclite/std/http1`; these functions report its errors as
// a HandshakeError with the status to answer (400, or 431 for a head over the limits).

function handshakeError(e: unknown): unknown {
  return e instanceof HttpParseError ? new HandshakeError(e.message, e.status) : e;
}

/**
 * Finds the end of an HTTP head (the empty line).
 *
 * @param buf Bytes received so far.
 * @param maxSize Largest head accepted (default {@linkcode DEFAULT_MAX_HEAD_SIZE}).
 * @returns The length of the head including the final CRLF CRLF, or -1 when incomplete.
 * @throws {HandshakeError} Status 431 when no head ends within `maxSize` bytes.
 *
 * @example
 * ```ts
 * import { findHeadEnd } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nrest");
 * equal(findHeadEnd(bytes), 27);
 * equal(findHeadEnd(bytes.subarray(0, 20)), -1);
 * ```
 */
export function findHeadEnd(buf: Uint8Array, maxSize: number = DEFAULT_MAX_HEAD_SIZE): number {
  try {
    return findHttpHeadEnd(buf, maxSize);
  } catch (e) {
    throw handshakeError(e);
  }
}

/**
 * Parses an HTTP/1.1 request head (request line and header fields).
 *
 * @param head The head, as bytes (read as Latin-1) or text, with or without the final empty line.
 * @returns The method, target, version and headers.
 * @throws {HandshakeError} Status 400 for a malformed head, 431 for too many fields.
 *
 * @example The client handshake of RFC 6455 §1.3
 * ```ts
 * import { parseHttpRequest } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const req = parseHttpRequest(
 *   "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n" +
 *     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
 * );
 * equal(req.target, "/chat");
 * equal(req.headers.get("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
 * ```
 */
// @implements RFC6455 §4.2.1
export function parseHttpRequest(head: Uint8Array | string): HttpRequestHead {
  try {
    return parseRequestHead(head);
  } catch (e) {
    throw handshakeError(e);
  }
}

/**
 * Parses an HTTP/1.1 response head (status line and header fields).
 *
 * @param head The head, as bytes (read as Latin-1) or text.
 * @returns The version, status, reason phrase and headers.
 * @throws {HandshakeError} For a malformed head.
 *
 * @example
 * ```ts
 * import { parseHttpResponse } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const res = parseHttpResponse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
 * equal(res.status, 101);
 * equal(res.headers.get("upgrade"), "websocket");
 * ```
 */
// @implements RFC6455 §4.1 ¶38-39
export function parseHttpResponse(head: Uint8Array | string): HttpResponseHead {
  try {
    return parseResponseHead(head);
  } catch (e) {
    throw handshakeError(e);
  }
}

/**
 * Formats an HTTP/1.1 response head and body (`formatResponse` of `@rtclite/std/http1`).
 *
 * @param response Status, headers and body.
 * @returns The bytes to send.
 *
 * @example
 * ```ts
 * import { formatHttpResponse } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const text = new TextDecoder().decode(formatHttpResponse({ status: 404, body: "no" }));
 * equal(text, "HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno");
 * ```
 */
export function formatHttpResponse(response: HttpResponse): Uint8Array {
  return formatResponse(response);
}

// === Extension negotiation (RFC 6455 §9.1) ===

/** One extension in `Sec-WebSocket-Extensions`, with its parameters in order. */
export interface Extension {
  /** Extension token, e.g. `permessage-deflate`. */
  name: string;
  /** Parameters: a value, or `true` for a parameter without one. */
  params: [string, string | true][];
}

/**
 * Parses a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1): a comma-separated list of
 * extensions, each with `;`-separated parameters whose values are tokens or quoted tokens.
 *
 * @param value The header value (several header fields joined with `, `).
 * @returns The extensions in order.
 * @throws {HandshakeError} Status 400 for a value outside the grammar.
 *
 * @example
 * ```ts
 * import { parseExtensions } from "@rtclite/std/ietf/rfc6455";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(parseExtensions('permessage-deflate; client_max_window_bits, x; y="1"'), [
 *   { name: "permessage-deflate", params: [["client_max_window_bits", true]] },
 *   { name: "x", params: [["y", "1"]] },
 * ]);
 * ```
 */
// @implements RFC6455 §9.1
export function parseExtensions(value: string): Extension[] {
  const out: Extension[] = [];
  let i = 0;
  const n = value.length;
  const fail = (what: string): never => {
    throw new HandshakeError(`Cannot parse Sec-WebSocket-Extensions: ${what} at offset ${i}`);
  };
  const ws = () => {
    while (i < n && (value[i] === " " || value[i] === "\t")) i++;
  };
  const token = (): string => {
    const m = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(value.slice(i));
    if (!m) return fail("expected a token");
    i += m[0].length;
    return m[0];
  };
  for (;;) {
    ws();
    if (i < n && value[i] === ",") { // empty list elements are allowed by #rule
      i++;
      continue;
    }
    if (i >= n) break;
    const ext: Extension = { name: token(), params: [] };
    ws();
    while (i < n && value[i] === ";") {
      i++;
      ws();
      const name = token();
      ws();
      let v: string | true = true;
      if (value[i] === "=") {
        i++;
        ws();
        if (value[i] === '"') {
          const m = /^"((?:[^"\\]|\\.)*)"/.exec(value.slice(i));
          if (!m) return fail("unterminated quoted string");
          i += m[0].length;
          v = m[1]!.replace(/\\(.)/g, "$1");
          if (!TOKEN.test(v)) return fail("quoted value is not a token");
        } else v = token();
        ws();
      }
      ext.params.push([name, v]);
    }
    out.push(ext);
    if (i < n && value[i] !== ",") fail("expected ',' or ';'");
  }
  return out;
}

/**
 * Formats extensions for `Sec-WebSocket-Extensions`.
 *
 * @param extensions Extensions with parameters.
 * @returns The header value.
 *
 * @example
 * ```ts
 * import { formatExtensions } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * equal(
 *   formatExtensions([{ name: "permessage-deflate", params: [["server_max_window_bits", "10"]] }]),
 *   "permessage-deflate; server_max_window_bits=10",
 * );
 * ```
 */
export function formatExtensions(extensions: readonly Extension[]): string {
  return extensions.map((e) =>
    [e.name, ...e.params.map(([k, v]) => v === true ? k : `${k}=${v}`)].join("; ")
  ).join(", ");
}

function windowBits(v: string | true, what: string): number {
  if (v === true || !/^(8|9|1[0-5])$/.test(v)) {
    throw new HandshakeError(`Cannot negotiate permessage-deflate: bad ${what} value ${v}`);
  }
  return Number(v);
}

/** Reads permessage-deflate parameters, rejecting unknown, duplicate and invalid ones. */
// @implements RFC7692 §7.1, §7.1.1.1, §7.1.1.2, §7.1.2.1, §7.1.2.2
function deflateParams(params: [string, string | true][], response: boolean) {
  const seen = new Set<string>();
  const r = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined as number | undefined,
    clientMaxWindowBits: undefined as number | true | undefined,
  };
  for (const [k, v] of params) {
    if (seen.has(k)) {
      throw new HandshakeError(`Cannot negotiate permessage-deflate: duplicate ${k}`);
    }
    seen.add(k);
    if (k === "server_no_context_takeover" || k === "client_no_context_takeover") {
      if (v !== true) {
        throw new HandshakeError(`Cannot negotiate permessage-deflate: ${k} has a value`);
      }
      if (k === "server_no_context_takeover") r.serverNoContextTakeover = true;
      else r.clientNoContextTakeover = true;
    } else if (k === "server_max_window_bits") {
      r.serverMaxWindowBits = windowBits(v, k);
    } else if (k === "client_max_window_bits") {
      r.clientMaxWindowBits = v === true && !response ? true : windowBits(v, k);
    } else {
      throw new HandshakeError(`Cannot negotiate permessage-deflate: unknown parameter ${k}`);
    }
  }
  return r;
}

/**
 * Builds a client's permessage-deflate offer (RFC 7692 §5, §7.1).
 *
 * @param options What to ask for.
 * @returns The extension to put in `Sec-WebSocket-Extensions`.
 *
 * @example
 * ```ts
 * import { deflateOffer, formatExtensions } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * equal(formatExtensions([deflateOffer({})]), "permessage-deflate; client_max_window_bits");
 * ```
 */
export function deflateOffer(options: DeflateOptions): Extension {
  const params: [string, string | true][] = [];
  if (options.serverNoContextTakeover) params.push(["server_no_context_takeover", true]);
  if (options.clientNoContextTakeover) params.push(["client_no_context_takeover", true]);
  if (options.serverMaxWindowBits !== undefined && options.serverMaxWindowBits < 15) {
    params.push(["server_max_window_bits", String(options.serverMaxWindowBits)]);
  }
  params.push([
    "client_max_window_bits",
    options.clientMaxWindowBits !== undefined && options.clientMaxWindowBits < 15
      ? String(options.clientMaxWindowBits)
      : true,
  ]);
  return { name: "permessage-deflate", params };
}

/**
 * Server side of permessage-deflate negotiation: accepts the first acceptable offer
 * (RFC 7692 §5.1, §7.1).
 *
 * @param offers The client's extensions.
 * @param options The server's requirements.
 * @returns The accepted parameters and response extension, or undefined when none is acceptable.
 *
 * @example
 * ```ts
 * import { negotiateDeflate, parseExtensions, formatExtensions } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const r = negotiateDeflate(parseExtensions("permessage-deflate; server_max_window_bits=10"), {})!;
 * equal(r.params.serverMaxWindowBits, 10);
 * equal(formatExtensions([r.response]), "permessage-deflate; server_max_window_bits=10");
 * ```
 */
// @implements RFC7692 §5.1
export function negotiateDeflate(
  offers: readonly Extension[],
  options: DeflateOptions,
): { params: DeflateParams; response: Extension } | undefined {
  for (const offer of offers) {
    if (offer.name !== "permessage-deflate") continue;
    let p;
    try {
      p = deflateParams(offer.params, false);
    } catch {
      continue; // Decline an offer with bad parameters; try the next one.
    }
    const params: [string, string | true][] = [];
    const snct = p.serverNoContextTakeover || !!options.serverNoContextTakeover;
    const cnct = p.clientNoContextTakeover || !!options.clientNoContextTakeover;
    const ownBits = options.serverMaxWindowBits ?? 15;
    const smwb = Math.min(p.serverMaxWindowBits ?? 15, ownBits);
    // zlib cannot compress raw deflate within a 256-byte window (it raises 8 to 9).
    if (smwb < 9) continue;
    let cmwb = 15;
    if (p.clientMaxWindowBits !== undefined) {
      const offered = p.clientMaxWindowBits === true ? 15 : p.clientMaxWindowBits;
      cmwb = Math.min(offered, options.clientMaxWindowBits ?? 15);
      if (cmwb < 15 || typeof p.clientMaxWindowBits === "number") {
        params.push(["client_max_window_bits", String(cmwb)]);
      }
    } else if ((options.clientMaxWindowBits ?? 15) < 15) {
      continue; // The client cannot limit its window: decline rather than accept a larger one.
    }
    if (snct) params.unshift(["server_no_context_takeover", true]);
    if (cnct) params.splice(snct ? 1 : 0, 0, ["client_no_context_takeover", true]);
    if (p.serverMaxWindowBits !== undefined || smwb < 15) {
      params.push(["server_max_window_bits", String(smwb)]);
    }
    return {
      params: {
        serverNoContextTakeover: snct,
        clientNoContextTakeover: cnct,
        serverMaxWindowBits: smwb,
        clientMaxWindowBits: cmwb,
      },
      response: { name: "permessage-deflate", params },
    };
  }
  return undefined;
}

// === Opening handshake, client side (RFC 6455 §4.1) ===

/** Options for the client's opening handshake. */
export interface ClientHandshakeOptions {
  /** Subprotocols to offer in `Sec-WebSocket-Protocol`, in order of preference. */
  protocols?: readonly string[];
  /** `Origin` header value (browsers send it; other clients may). */
  origin?: string;
  /** Offer permessage-deflate (default true), optionally with parameters. */
  deflate?: boolean | DeflateOptions;
  /** Extra request headers. */
  headers?: HeadersInit;
  /** The 16-byte nonce, base64 (default: random); for tests. */
  key?: string;
}

/** A client handshake request and what is needed to check the response. */
export interface ClientHandshake {
  /** The HTTP request to send. */
  request: Uint8Array;
  /** The `Sec-WebSocket-Key` sent. */
  key: string;
  /** The subprotocols offered. */
  protocols: string[];
  /** The permessage-deflate offer, when one was made. */
  deflate: DeflateOptions | undefined;
}

/** What a completed handshake established. */
export interface HandshakeResult {
  /** The selected subprotocol, or `""`. */
  protocol: string;
  /** The `Sec-WebSocket-Extensions` value in effect, or `""`. */
  extensions: string;
  /** Negotiated permessage-deflate parameters, if any. */
  deflate: DeflateParams | undefined;
}

/**
 * Parses and checks a WebSocket URI (RFC 6455 §3): `ws:` or `wss:` (also `http:`/`https:`),
 * no fragment.
 *
 * @param url The URI.
 * @returns The parsed URL with the `ws:`/`wss:` scheme.
 * @throws {SyntaxError} For another scheme or a fragment.
 *
 * @example
 * ```ts
 * import { parseWebSocketUrl } from "@rtclite/std/ietf/rfc6455";
 * import { equal, throws } from "node:assert/strict";
 * equal(parseWebSocketUrl("https://example.com/chat").href, "wss://example.com/chat");
 * throws(() => parseWebSocketUrl("ws://example.com/#x"), SyntaxError);
 * ```
 */
// @implements RFC6455 §3
export function parseWebSocketUrl(url: string | URL): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SyntaxError(`Cannot parse WebSocket URI: ${String(url)}`);
  }
  if (u.protocol === "http:") u = new URL("ws:" + u.href.slice(5));
  else if (u.protocol === "https:") u = new URL("wss:" + u.href.slice(6));
  if (u.protocol !== "ws:" && u.protocol !== "wss:") {
    throw new SyntaxError(`Cannot parse WebSocket URI: scheme ${u.protocol} is not ws: or wss:`);
  }
  if (u.hash || String(url).includes("#")) {
    throw new SyntaxError("Cannot parse WebSocket URI: fragments are not allowed");
  }
  return u;
}

/**
 * Builds the client's opening handshake request (RFC 6455 §4.1).
 *
 * @param url The `ws:`/`wss:` URI.
 * @param options Subprotocols, origin, extensions, extra headers.
 * @returns The request bytes and the state {@linkcode verifyHandshake} needs.
 *
 * @example
 * ```ts
 * import { createHandshake } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const hs = createHandshake("ws://server.example.com/chat", {
 *   key: "dGhlIHNhbXBsZSBub25jZQ==", protocols: ["chat"], deflate: false,
 * });
 * equal(
 *   new TextDecoder().decode(hs.request),
 *   "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n" +
 *     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
 *     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
 * );
 * ```
 */
// @implements RFC6455 §4.1 ¶21-37
export function createHandshake(
  url: string | URL,
  options: ClientHandshakeOptions = {},
): ClientHandshake {
  const u = parseWebSocketUrl(url);
  let key = options.key;
  if (key === undefined) {
    const nonce = new Uint8Array(16);
    randomBytes(nonce);
    key = nonce.toBase64();
  }
  const protocols = [...(options.protocols ?? [])];
  for (const p of protocols) {
    if (!TOKEN.test(p)) {
      throw new SyntaxError(`Cannot offer subprotocol ${JSON.stringify(p)}: not a token`);
    }
  }
  if (new Set(protocols).size !== protocols.length) {
    throw new SyntaxError("Cannot offer subprotocols: duplicates");
  }
  const deflate = options.deflate === false
    ? undefined
    : options.deflate === true || options.deflate === undefined
    ? {}
    : options.deflate;
  const defaultPort = u.protocol === "wss:" ? "443" : "80";
  const host = u.port && u.port !== defaultPort ? `${u.hostname}:${u.port}` : u.hostname;
  const fields: [string, string][] = [
    ["Host", host],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", key],
    ["Sec-WebSocket-Version", "13"],
  ];
  if (options.origin) fields.push(["Origin", options.origin]);
  if (protocols.length) fields.push(["Sec-WebSocket-Protocol", protocols.join(", ")]);
  if (deflate) {
    fields.push(["Sec-WebSocket-Extensions", formatExtensions([deflateOffer(deflate)])]);
  }
  fields.push(...new Headers(options.headers));
  const request = formatRequestHead({
    method: "GET",
    target: `${u.pathname || "/"}${u.search}`,
    headers: fields,
  });
  return { request, key, protocols, deflate };
}

function hasToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  return value.split(",").some((t) => t.trim().toLowerCase() === token);
}

/**
 * Checks the server's handshake response (RFC 6455 §4.1, the client's validation steps).
 *
 * @param handshake What {@linkcode createHandshake} returned.
 * @param response The parsed response head.
 * @returns The subprotocol and extensions in effect.
 * @throws {HandshakeError} When the status is not 101, a header is missing or wrong, or the
 * server picked a subprotocol or extension that was not offered.
 *
 * @example
 * ```ts
 * import { createHandshake, parseHttpResponse, verifyHandshake } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const hs = createHandshake("ws://h/", { key: "dGhlIHNhbXBsZSBub25jZQ==", deflate: false });
 * const res = parseHttpResponse(
 *   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
 *     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
 * );
 * equal(verifyHandshake(hs, res).protocol, "");
 * ```
 */
// @implements RFC6455 §4.1 ¶38-46
export function verifyHandshake(
  handshake: ClientHandshake,
  response: HttpResponseHead,
): HandshakeResult {
  const h = response.headers;
  if (response.status !== 101) {
    throw new HandshakeError(
      `Cannot open WebSocket: server answered ${response.status} ${response.reason}`,
      response.status,
    );
  }
  if (!hasToken(h.get("upgrade"), "websocket")) {
    throw new HandshakeError("Cannot open WebSocket: response lacks Upgrade: websocket", 101);
  }
  if (!hasToken(h.get("connection"), "upgrade")) {
    throw new HandshakeError("Cannot open WebSocket: response lacks Connection: Upgrade", 101);
  }
  if (h.get("sec-websocket-accept") !== acceptKey(handshake.key)) {
    throw new HandshakeError("Cannot open WebSocket: wrong Sec-WebSocket-Accept", 101);
  }
  let deflate: DeflateParams | undefined;
  const extHeader = h.get("sec-websocket-extensions") ?? "";
  const exts = parseExtensions(extHeader);
  for (const e of exts) {
    if (e.name !== "permessage-deflate" || !handshake.deflate || deflate) {
      throw new HandshakeError(`Cannot open WebSocket: extension ${e.name} was not offered`, 101);
    }
    const p = deflateParams(e.params, true);
    const offered = handshake.deflate;
    const ownBits = offered.clientMaxWindowBits ?? 15;
    if (typeof p.clientMaxWindowBits === "number" && p.clientMaxWindowBits < 9) {
      throw new HandshakeError(
        "Cannot open WebSocket: client_max_window_bits=8 is unsupported",
        101,
      );
    }
    if (offered.serverNoContextTakeover && !p.serverNoContextTakeover) {
      throw new HandshakeError("Cannot open WebSocket: server_no_context_takeover refused", 101);
    }
    if (
      offered.serverMaxWindowBits !== undefined && offered.serverMaxWindowBits < 15 &&
      (p.serverMaxWindowBits ?? 15) > offered.serverMaxWindowBits
    ) {
      throw new HandshakeError("Cannot open WebSocket: server_max_window_bits refused", 101);
    }
    deflate = {
      serverNoContextTakeover: p.serverNoContextTakeover,
      clientNoContextTakeover: p.clientNoContextTakeover || !!offered.clientNoContextTakeover,
      serverMaxWindowBits: p.serverMaxWindowBits ?? 15,
      clientMaxWindowBits: Math.min(
        typeof p.clientMaxWindowBits === "number" ? p.clientMaxWindowBits : 15,
        ownBits,
      ),
    };
  }
  const protocol = h.get("sec-websocket-protocol") ?? "";
  if (protocol && !handshake.protocols.includes(protocol)) {
    throw new HandshakeError(`Cannot open WebSocket: subprotocol ${protocol} was not offered`, 101);
  }
  return { protocol, extensions: extHeader, deflate };
}

// === Opening handshake, server side (RFC 6455 §4.2) ===

/** Options for the server's side of the opening handshake. */
export interface ServerHandshakeOptions {
  /**
   * Supported subprotocols in order of preference, or a function that picks one of the
   * client's (return undefined for none).
   */
  protocols?:
    | readonly string[]
    | ((offered: string[], request: HttpRequestHead) => string | undefined);
  /** Allowed `Origin` values, or a predicate; requests from others get 403. Default: any. */
  origins?: readonly string[] | ((origin: string | null) => boolean);
  /** Accept permessage-deflate (default true), optionally with requirements. */
  deflate?: boolean | DeflateOptions;
  /** Extra response headers. */
  headers?: HeadersInit;
}

/** The server's accepted handshake. */
export interface ServerHandshake extends HandshakeResult {
  /** The 101 response to send. */
  response: Uint8Array;
}

/**
 * Checks a client's opening handshake and builds the 101 response (RFC 6455 §4.2.1, §4.2.2).
 *
 * @param request The parsed request head.
 * @param options Subprotocols, origins, extensions.
 * @returns The response and the negotiated subprotocol and extensions.
 * @throws {HandshakeError} With the status to answer: 400 (bad request), 403 (origin),
 * 426 with `Sec-WebSocket-Version: 13` (unsupported version), 405 (not GET).
 *
 * @example The server handshake of RFC 6455 §1.3
 * ```ts
 * import { acceptHandshake, parseHttpRequest } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const req = parseHttpRequest(
 *   "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n" +
 *     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
 *     "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n" +
 *     "Sec-WebSocket-Version: 13\r\n\r\n",
 * );
 * const hs = acceptHandshake(req, { protocols: ["chat"] });
 * equal(hs.protocol, "chat");
 * equal(
 *   new TextDecoder().decode(hs.response),
 *   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
 *     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
 * );
 * ```
 */
// @implements RFC6455 §4.2.1, §4.2.2
export function acceptHandshake(
  request: HttpRequestHead,
  options: ServerHandshakeOptions = {},
): ServerHandshake {
  const h = request.headers;
  if (request.method !== "GET") {
    throw new HandshakeError(`Cannot accept handshake: method ${request.method}`, 405, [[
      "Allow",
      "GET",
    ]]);
  }
  if (!/^1\.[1-9]$|^[2-9]\./.test(request.version)) {
    throw new HandshakeError(`Cannot accept handshake: HTTP/${request.version}`);
  }
  if (!h.has("host")) throw new HandshakeError("Cannot accept handshake: missing Host");
  if (!hasToken(h.get("upgrade"), "websocket")) {
    throw new HandshakeError("Cannot accept handshake: missing Upgrade: websocket", 426, [
      ["Upgrade", "websocket"],
      ["Sec-WebSocket-Version", "13"],
    ]);
  }
  if (!hasToken(h.get("connection"), "upgrade")) {
    throw new HandshakeError("Cannot accept handshake: missing Connection: Upgrade");
  }
  // @implements RFC6455 §4.4
  const version = h.get("sec-websocket-version");
  if (version !== "13") {
    throw new HandshakeError(
      `Cannot accept handshake: unsupported Sec-WebSocket-Version ${version}`,
      version === null ? 400 : 426,
      [["Sec-WebSocket-Version", "13"]],
    );
  }
  const key = h.get("sec-websocket-key") ?? "";
  if (!/^[A-Za-z0-9+/]{21}[AQgw]==$/.test(key)) {
    throw new HandshakeError("Cannot accept handshake: Sec-WebSocket-Key is not a 16-byte nonce");
  }
  // @implements RFC6455 §4.2.2 ¶6
  const origin = h.get("origin");
  const origins = options.origins;
  if (
    origins !== undefined &&
    !(typeof origins === "function" ? origins(origin) : origin !== null && origins.includes(origin))
  ) {
    throw new HandshakeError(`Cannot accept handshake: origin ${origin} not allowed`, 403);
  }
  const offered = (h.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim()).filter(
    (s) => s,
  );
  let protocol = "";
  if (offered.length && options.protocols) {
    const p = options.protocols;
    protocol = (typeof p === "function" ? p(offered, request) : p.find((x) =>
      offered.includes(x)
    )) ??
      "";
    if (protocol && !offered.includes(protocol)) {
      throw new TypeError(
        `Cannot accept handshake: selected subprotocol ${protocol} was not offered`,
      );
    }
  }
  let deflate: DeflateParams | undefined;
  let extensions = "";
  if (options.deflate !== false && h.has("sec-websocket-extensions")) {
    const r = negotiateDeflate(
      parseExtensions(h.get("sec-websocket-extensions")!),
      options.deflate === true || options.deflate === undefined ? {} : options.deflate,
    );
    if (r) {
      deflate = r.params;
      extensions = formatExtensions([r.response]);
    }
  }
  const fields: [string, string][] = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", acceptKey(key)],
  ];
  if (protocol) fields.push(["Sec-WebSocket-Protocol", protocol]);
  if (extensions) fields.push(["Sec-WebSocket-Extensions", extensions]);
  fields.push(...new Headers(options.headers));
  const response = formatResponseHead({ status: 101, headers: fields });
  return { response, protocol, extensions, deflate };
}

/**
 * Formats the HTTP error response for a failed server handshake.
 *
 * @param error The handshake error.
 * @returns The response bytes (the connection is to be closed after them).
 *
 * @example
 * ```ts
 * import { HandshakeError, rejectHandshake } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * const text = new TextDecoder().decode(
 *   rejectHandshake(new HandshakeError("Cannot accept handshake: version 8", 426, [["Sec-WebSocket-Version", "13"]])),
 * );
 * equal(text.startsWith("HTTP/1.1 426 Upgrade Required\r\nsec-websocket-version: 13\r\n"), true);
 * ```
 */
export function rejectHandshake(error: HandshakeError): Uint8Array {
  return formatResponse({
    status: error.status,
    headers: error.headers,
    body: error.message + "\n",
  });
}
