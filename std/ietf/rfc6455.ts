// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * WebSocket (RFC 6455) with permessage-deflate (RFC 7692): opening handshake, sans-I/O framing and
 * close handshake, and a browser-shaped client and server over Deno TCP and TLS.
 *
 * The module has three layers, each usable on its own:
 *
 * - **Codecs**: {@linkcode encodeFrame}/{@linkcode decodeFrame} (RFC 6455 §5.2) with the
 *   zero-copy {@linkcode encodeFrameHeader} (header only, payload sent as it is), the HTTP/1.1
 *   head parsers {@linkcode parseHttpRequest}/{@linkcode parseHttpResponse}, the handshake
 *   functions {@linkcode createHandshake}, {@linkcode acceptHandshake} and
 *   {@linkcode verifyHandshake}, and extension header parsing ({@linkcode parseExtensions}).
 * - **Sans-I/O protocol**: {@linkcode WebSocketProtocol} takes received bytes and returns events
 *   (messages, pings, close) while queueing the bytes to send: fragmentation, interleaved control
 *   frames, fail-fast UTF-8 validation, size limits (close code 1009) and permessage-deflate.
 * - **Adapters**: the browser-shaped {@linkcode WebSocket} (events, `send`, `close`, `binaryType`,
 *   and `for await` over messages with backpressure), {@linkcode serveWebSocket} on a
 *   `Deno.listen`/`Deno.listenTls` listener, {@linkcode acceptWebSocket} to take over an accepted
 *   `Deno.Conn`, and {@linkcode upgradeWebSocket} when the HTTP request was already read.
 *
 * permessage-deflate uses the synchronous zlib port `npm:pako`: compressing inside `send()` and
 * inflating inside `receive()` keeps the sans-I/O core synchronous, so message order needs no
 * extra queue, and pako offers what the platform's `CompressionStream("deflate-raw")` lacks — a
 * sync flush that keeps the LZ77 window between messages (context takeover) and window-bits
 * control.
 *
 * Command line (in the manner of websocat):
 * `deno run -A std/ietf/rfc6455.ts serve --port 8080 --echo` and
 * `deno run -A std/ietf/rfc6455.ts connect ws://127.0.0.1:8080` (stdin lines become messages,
 * messages are printed to stdout).
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc6455 | RFC 6455}
 * @see {@link https://www.rfc-editor.org/rfc/rfc7692 | RFC 7692}
 *
 * @example Echo server and client on loopback
 * ```ts
 * import { serveWebSocket, WebSocket } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 *
 * await using server = serveWebSocket({ hostname: "127.0.0.1", port: 0 }, (socket) => {
 *   socket.onmessage = (e) => socket.send(e.data);
 * });
 * const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
 * await new Promise((resolve) => ws.onopen = resolve);
 * ws.send("hello");
 * const reply = await new Promise<MessageEvent>((resolve) => ws.onmessage = resolve);
 * equal(reply.data, "hello");
 * equal(ws.extensions, "permessage-deflate");
 * ws.close(1000, "bye");
 * const closed = await new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
 * equal(closed.code, 1000);
 * equal(closed.wasClean, true);
 * ```
 *
 * @module
 */
// @implements RFC6455 (The WebSocket Protocol)
// @ts-types="npm:@types/pako@2.0.3"
import { constants as zlib, Deflate, Inflate } from "npm:pako@2.1.0";
import { ParseError } from "../errors.ts";
import { getLogger, parseVerbosity, setupLogging } from "../log.ts";

const log = getLogger("websocket");
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
/** Default limit on an HTTP head (request or status line plus headers), in bytes. */
export const DEFAULT_MAX_HEAD_SIZE = 16 * 1024;
const MAX_HEADERS = 100;
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

// === Helpers: SHA-1 and base64 (RFC 6455 §4.2.2 ¶5 item 4) ===

function sha1(data: Uint8Array): Uint8Array {
  const size = ((data.length + 9 + 63) >> 6) << 6;
  const m = new Uint8Array(size);
  m.set(data);
  m[data.length] = 0x80;
  const dv = new DataView(m.buffer);
  dv.setUint32(size - 4, (data.length * 8) >>> 0);
  dv.setUint32(size - 8, Math.floor(data.length / 0x20000000));
  let h0 = 0x67452301, h1 = 0xefcdab89, h2 = 0x98badcfe, h3 = 0x10325476, h4 = 0xc3d2e1f0;
  const w = new Uint32Array(80);
  for (let off = 0; off < size; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = dv.getUint32(off + i * 4);
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3]! ^ w[i - 8]! ^ w[i - 14]! ^ w[i - 16]!;
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4;
    for (let i = 0; i < 80; i++) {
      const f = i < 20
        ? ((b & c) | (~b & d)) + 0x5a827999
        : i < 40
        ? (b ^ c ^ d) + 0x6ed9eba1
        : i < 60
        ? ((b & c) | (b & d) | (c & d)) + 0x8f1bbcdc
        : (b ^ c ^ d) + 0xca62c1d6;
      const t = (((a << 5) | (a >>> 27)) + f + e + w[i]!) >>> 0;
      e = d;
      d = c;
      c = ((b << 30) | (b >>> 2)) >>> 0;
      b = a;
      a = t;
    }
    h0 = (h0 + a) >>> 0;
    h1 = (h1 + b) >>> 0;
    h2 = (h2 + c) >>> 0;
    h3 = (h3 + d) >>> 0;
    h4 = (h4 + e) >>> 0;
  }
  const out = new Uint8Array(20);
  const ov = new DataView(out.buffer);
  [h0, h1, h2, h3, h4].forEach((h, i) => ov.setUint32(i * 4, h));
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

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
  return toBase64(sha1(encoder.encode(key + WEBSOCKET_GUID)));
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
    if (this.#deflate.err) throw new Error(`Cannot compress message: ${this.#deflate.msg}`);
    const out = concat(chunks);
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

function concat(parts: Uint8Array[]): Uint8Array {
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
      if (this.#msgCompressed) this.#decompressor!.resetSize();
      this.#textDecoder = undefined;
      this.#text = "";
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
    if (this.#msgOpcode !== Opcode.Text || this.#msgCompressed || (h.first & 0x0f) >= 8) return;
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
      const parts = this.#decompressor!.push(payload, fin, this.#maxMessage);
      if (text) {
        const dec = this.#textDecoder ??= new TextDecoder("utf-8", {
          fatal: true,
          ignoreBOM: true,
        });
        try {
          for (const p of parts) this.#text += dec.decode(p, { stream: true });
        } catch {
          throw this.#error("Cannot accept text: invalid UTF-8", CloseCode.InvalidPayload);
        }
      } else {
        for (const p of parts) this.#msgParts.push(p);
      }
    } else if (!text) {
      this.#msgParts.push(payload);
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
      data = this.#msgParts.length === 0 ? new Uint8Array(0) : concat(this.#msgParts);
      this.#msgParts = [];
    }
    this.#msgOpcode = 0;
    this.#textDecoder = undefined;
    this.#events.push({ type: "message", data });
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

/** A parsed HTTP/1.1 request line and header fields. */
export interface HttpRequestHead {
  /** Request method, e.g. `GET`. */
  method: string;
  /** Request target, e.g. `/chat?room=1`. */
  target: string;
  /** HTTP version, e.g. `1.1`. */
  version: string;
  /** Header fields; repeated fields are joined with `, `. */
  headers: Headers;
}

/** A parsed HTTP/1.1 status line and header fields. */
export interface HttpResponseHead {
  /** HTTP version, e.g. `1.1`. */
  version: string;
  /** Status code. */
  status: number;
  /** Reason phrase. */
  reason: string;
  /** Header fields; repeated fields are joined with `, `. */
  headers: Headers;
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
  const end = Math.min(buf.length, maxSize);
  for (let i = 3; i < end; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  if (buf.length >= maxSize) {
    throw new HandshakeError(`Cannot read HTTP head: longer than ${maxSize} bytes`, 431);
  }
  return -1;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function headLines(head: Uint8Array | string): string[] {
  let text: string;
  if (typeof head === "string") text = head;
  else {
    text = "";
    for (let i = 0; i < head.length; i += 4096) {
      text += String.fromCharCode(...head.subarray(i, i + 4096));
    }
  }
  const lines = text.split("\r\n");
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  if (lines.length === 0) throw new HandshakeError("Cannot parse HTTP head: empty");
  if (lines.length > MAX_HEADERS + 1) {
    throw new HandshakeError(`Cannot parse HTTP head: more than ${MAX_HEADERS} header fields`, 431);
  }
  return lines;
}

function parseFields(lines: string[]): Headers {
  const headers = new Headers();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    if (colon <= 0 || !TOKEN.test(name)) {
      throw new HandshakeError(`Cannot parse HTTP head: bad header line ${JSON.stringify(line)}`);
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
      throw new HandshakeError(`Cannot parse HTTP head: control character in ${name}`);
    }
    headers.append(name, value);
  }
  return headers;
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
  const lines = headLines(head);
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(\d\.\d)$/.exec(lines[0]!);
  if (!m) {
    throw new HandshakeError(
      `Cannot parse HTTP request line: ${JSON.stringify(lines[0]!.slice(0, 80))}`,
    );
  }
  return { method: m[1]!, target: m[2]!, version: m[3]!, headers: parseFields(lines) };
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
  const lines = headLines(head);
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0]!);
  if (!m) {
    throw new HandshakeError(
      `Cannot parse HTTP status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`,
    );
  }
  return { version: m[1]!, status: Number(m[2]), reason: m[3] ?? "", headers: parseFields(lines) };
}

/** A plain HTTP response, for error answers and non-WebSocket requests. */
export interface HttpResponse {
  /** Status code. */
  status: number;
  /** Header fields. */
  headers?: HeadersInit;
  /** Body (a `Content-Length` is added). */
  body?: string | Uint8Array;
}

const REASONS: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
};

/**
 * Formats an HTTP/1.1 response head and body.
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
  const body = typeof response.body === "string"
    ? encoder.encode(response.body)
    : response.body ?? new Uint8Array(0);
  const headers = new Headers(response.headers);
  let head = `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? "Status"}\r\n`;
  for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
  if (response.status !== 101) {
    if (!headers.has("content-length")) head += `content-length: ${body.length}\r\n`;
    if (!headers.has("connection")) head += "connection: close\r\n";
  }
  return concat([encoder.encode(head + "\r\n"), body].filter((p) => p.length > 0));
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
    key = toBase64(nonce);
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
  let head = `GET ${u.pathname || "/"}${u.search} HTTP/1.1\r\nHost: ${host}\r\n` +
    `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
    `Sec-WebSocket-Version: 13\r\n`;
  if (options.origin) head += `Origin: ${options.origin}\r\n`;
  if (protocols.length) head += `Sec-WebSocket-Protocol: ${protocols.join(", ")}\r\n`;
  if (deflate) head += `Sec-WebSocket-Extensions: ${formatExtensions([deflateOffer(deflate)])}\r\n`;
  for (const [k, v] of new Headers(options.headers)) head += `${k}: ${v}\r\n`;
  return { request: encoder.encode(head + "\r\n"), key, protocols, deflate };
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
  let head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n`;
  if (protocol) head += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  if (extensions) head += `Sec-WebSocket-Extensions: ${extensions}\r\n`;
  for (const [k, v] of new Headers(options.headers)) head += `${k}: ${v}\r\n`;
  return { response: encoder.encode(head + "\r\n"), protocol, extensions, deflate };
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
  return formatHttpResponse({
    status: error.status,
    headers: error.headers,
    body: error.message + "\n",
  });
}

// === Deno adapters: the browser-shaped WebSocket (RFC 6455 §1.8, §7.1.1) ===

/** A byte stream the WebSocket runs on; `Deno.Conn` (TCP or TLS) is one. */
export interface Transport {
  /** Reads into `p`; resolves with the byte count, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes from `p`; resolves with the byte count written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream. */
  close(): void;
}

/** Options shared by client and server sockets. */
export interface WebSocketOptions {
  /** Largest message accepted (default 64 MiB); larger fails with 1009. */
  maxMessageSize?: number;
  /** Largest frame payload accepted (default: `maxMessageSize`). */
  maxFrameSize?: number;
  /** Split outgoing messages into frames of this many payload bytes (default: no splitting). */
  fragmentSize?: number;
  /** Milliseconds to wait for the peer's Close frame or TCP close (default 5000). */
  closeTimeout?: number;
  /** Messages buffered for a slow `for await` reader before reading pauses (default 16). */
  highWaterMark?: number;
}

/** Options of the client {@linkcode WebSocket} constructor. */
export interface WebSocketClientOptions
  extends WebSocketOptions, Omit<ClientHandshakeOptions, "protocols"> {
  /** Milliseconds to wait for the connection and handshake (default 10000). */
  handshakeTimeout?: number;
  /** Largest response head accepted. */
  maxHeadSize?: number;
  /** Extra CA certificates (PEM) for `wss:`. */
  caCerts?: string[];
  /** Opens the transport instead of `Deno.connect`/`Deno.connectTls` (e.g. a proxy tunnel). */
  connect?: (url: URL) => Promise<Transport>;
}

/** What {@linkcode WebSocket.fromTransport} needs about an already-completed handshake. */
export interface WebSocketInit extends WebSocketOptions, HandshakeResult {
  /** Which side this socket is. */
  role: WebSocketRole;
  /** The URL (client) or request URL (server) to report in `url`. */
  url: string;
  /** Bytes already read after the handshake head (frames sent early by the peer). */
  leftover?: Uint8Array;
  /** The request head (server side). */
  request?: HttpRequestHead | undefined;
  /** Bytes to write before any frame (e.g. the server's 101 response). */
  preamble?: Uint8Array;
  /** Compression threshold and level. */
  deflateOptions?: Pick<DeflateOptions, "threshold" | "level">;
}

/** What `binaryType` selects for binary messages in `message` events. */
export type BinaryType = "blob" | "arraybuffer";

/** `readyState` values. */
type ReadyState = 0 | 1 | 2 | 3;

async function writeAll(conn: Transport, data: Uint8Array): Promise<void> {
  let o = 0;
  while (o < data.length) o += await conn.write(data.subarray(o));
}

/** Reads an HTTP head; returns it and whatever followed. */
async function readHead(
  conn: Transport,
  maxSize: number,
): Promise<{ head: Uint8Array; leftover: Uint8Array }> {
  let buf = new Uint8Array(4096);
  let len = 0;
  for (;;) {
    if (len === buf.length) {
      const bigger = new Uint8Array(Math.min(buf.length * 2, maxSize + 4096));
      bigger.set(buf);
      buf = bigger;
    }
    const n = await conn.read(buf.subarray(len));
    if (n === null) throw new HandshakeError("Cannot read HTTP head: connection closed", 400);
    const from = Math.max(0, len - 3);
    len += n;
    const end = findHeadEnd(buf.subarray(from, len), Infinity);
    if (end >= 0 && from + end <= maxSize) {
      return { head: buf.slice(0, from + end), leftover: buf.slice(from + end, len) };
    }
    if (len >= maxSize) {
      throw new HandshakeError(`Cannot read HTTP head: longer than ${maxSize} bytes`, 431);
    }
  }
}

function timeoutError(ms: number, what: string): Error {
  return new Error(`Timed out after ${ms} ms: ${what}`);
}

/**
 * A WebSocket shaped like the browser's (`readyState`, `send`, `close`, `binaryType`,
 * `bufferedAmount`, `open`/`message`/`error`/`close` events and `on*` handlers), running this
 * module's protocol over a Deno TCP or TLS connection. It is also an async iterable of messages
 * (`string` for text, `Uint8Array` for binary): while a `for await` loop is slower than the
 * peer, reading from the socket pauses once `highWaterMark` messages wait (backpressure).
 *
 * Replies sent from a `message` handler go out before the automatic answer to a Close frame that
 * arrived in the same read; a `for await` loop that is behind when the peer closes can no longer
 * reply (its `send` is ignored, as after any close).
 *
 * `new WebSocket(url)` connects as a client; servers get instances from
 * {@linkcode serveWebSocket}, {@linkcode acceptWebSocket} or {@linkcode upgradeWebSocket}.
 *
 * @example Iterate over messages
 * ```ts
 * import { serveWebSocket, WebSocket } from "@rtclite/std/ietf/rfc6455";
 * import { deepEqual } from "node:assert/strict";
 *
 * await using server = serveWebSocket({ hostname: "127.0.0.1", port: 0 }, async (socket) => {
 *   for await (const message of socket) socket.send(message);
 * });
 * const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}`);
 * ws.onopen = () => {
 *   ws.send("one");
 *   ws.send(new Uint8Array([2]));
 * };
 * const got: (string | Uint8Array)[] = [];
 * for await (const message of ws) {
 *   got.push(message);
 *   if (got.length === 2) ws.close();
 * }
 * deepEqual(got, ["one", new Uint8Array([2])]);
 * ```
 */
export class WebSocket extends EventTarget implements AsyncIterable<string | Uint8Array> {
  /** The connection is being established. */
  static readonly CONNECTING = 0;
  /** The connection is open. */
  static readonly OPEN = 1;
  /** The closing handshake is in progress. */
  static readonly CLOSING = 2;
  /** The connection is closed. */
  static readonly CLOSED = 3;

  static #init: { transport: Transport; init: WebSocketInit } | undefined;

  /** Called on `open`. */
  onopen: ((ev: Event) => void) | null = null;
  /** Called on `message`. */
  onmessage: ((ev: MessageEvent) => void) | null = null;
  /** Called on `error`. */
  onerror: ((ev: Event) => void) | null = null;
  /** Called on `close`. */
  onclose: ((ev: CloseEvent) => void) | null = null;

  #url: string;
  #readyState: ReadyState = 0;
  #protocol = "";
  #extensions = "";
  #binaryType: BinaryType = "blob";
  #conn: Transport | undefined;
  #proto: WebSocketProtocol | undefined;
  #request: HttpRequestHead | undefined;
  #role: WebSocketRole = "client";
  #options: WebSocketOptions;
  #writeQueue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  #closeAfterWrite = false;
  #drainWaiters: (() => void)[] = [];
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #finished = false;
  #messages: (string | Uint8Array)[] = [];
  #iterators = 0;
  #wake: (() => void) | undefined;
  #resume: (() => void) | undefined;

  /**
   * Opens a client connection to `url` (RFC 6455 §4.1).
   *
   * @param url `ws:` or `wss:` URI.
   * @param protocols Subprotocols to offer.
   * @param options Handshake, limits and transport options.
   * @throws {SyntaxError} For a bad URL or subprotocol list.
   */
  constructor(
    url: string | URL,
    protocols: string | readonly string[] = [],
    options: WebSocketClientOptions = {},
  ) {
    super();
    const wrap = WebSocket.#init;
    WebSocket.#init = undefined;
    this.#options = wrap?.init ?? options;
    if (wrap) {
      this.#url = wrap.init.url;
      this.#open(wrap.transport, wrap.init);
      return;
    }
    const u = parseWebSocketUrl(url);
    this.#url = u.href;
    const list = typeof protocols === "string" ? [protocols] : [...protocols];
    const hs = createHandshake(u, { ...options, protocols: list });
    this.#connect(u, hs, options);
  }

  /**
   * Wraps a transport whose opening handshake has completed (used by the server functions, and
   * for custom transports).
   *
   * @param transport The byte stream.
   * @param init The handshake result, role and options.
   * @returns An open socket.
   *
   * @example
   * ```ts
   * import { WebSocket } from "@rtclite/std/ietf/rfc6455";
   * import { equal } from "node:assert/strict";
   * const written: Uint8Array[] = [];
   * const transport = {
   *   read: () => new Promise<null>(() => {}),
   *   write: (p: Uint8Array) => (written.push(p.slice()), Promise.resolve(p.length)),
   *   close: () => {},
   * };
   * const ws = WebSocket.fromTransport(transport, {
   *   role: "server", url: "ws://x/", protocol: "", extensions: "", deflate: undefined,
   * });
   * equal(ws.readyState, WebSocket.OPEN);
   * ws.send("hi");
   * await ws.flush();
   * equal(written[0]![0], 0x81);
   * ```
   */
  static fromTransport(transport: Transport, init: WebSocketInit): WebSocket {
    WebSocket.#init = { transport, init };
    return new WebSocket(init.url);
  }

  /** The URL of the connection. */
  get url(): string {
    return this.#url;
  }
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  get readyState(): number {
    return this.#readyState;
  }
  /** The subprotocol the server selected, or `""`. */
  get protocol(): string {
    return this.#protocol;
  }
  /** The extensions in effect (`Sec-WebSocket-Extensions`), or `""`. */
  get extensions(): string {
    return this.#extensions;
  }
  /** Bytes queued by `send` and not yet written to the transport. */
  get bufferedAmount(): number {
    return this.#queued + (this.#proto?.bufferedAmount ?? 0);
  }
  /** The HTTP request of the opening handshake (server side only). */
  get request(): HttpRequestHead | undefined {
    return this.#request;
  }
  /** How binary messages appear in `message` events: `blob` (default) or `arraybuffer`. */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(value: BinaryType) {
    if (value === "blob" || value === "arraybuffer") this.#binaryType = value;
  }

  async #connect(u: URL, hs: ClientHandshake, options: WebSocketClientOptions): Promise<void> {
    const ms = options.handshakeTimeout ?? 10_000;
    let conn: Transport | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        conn?.close();
      } catch { /* already closed */ }
    }, ms);
    try {
      const hostname = u.hostname.replace(/^\[|\]$/g, "");
      const port = Number(u.port || (u.protocol === "wss:" ? 443 : 80));
      conn = options.connect
        ? await options.connect(u)
        : u.protocol === "wss:"
        ? await Deno.connectTls({
          hostname,
          port,
          ...(options.caCerts ? { caCerts: options.caCerts } : {}),
        })
        : await Deno.connect({ hostname, port });
      if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
      if (timedOut) throw timeoutError(ms, "WebSocket connect");
      this.#conn = conn;
      if (this.#finished) return conn.close();
      await writeAll(conn, hs.request);
      const { head, leftover } = await readHead(conn, options.maxHeadSize ?? DEFAULT_MAX_HEAD_SIZE);
      const result = verifyHandshake(hs, parseHttpResponse(head));
      clearTimeout(timer);
      if (this.#finished) return;
      this.#open(conn, { ...options, ...result, role: "client", url: this.#url, leftover });
    } catch (e) {
      clearTimeout(timer);
      log.debug("WebSocket connect to {url} failed: {error}", { url: this.#url, error: String(e) });
      if (this.#finished) return;
      this.#emit(
        "error",
        new ErrorEvent("error", {
          message: timedOut ? timeoutError(ms, "WebSocket handshake").message : String(e),
          error: e,
        }),
      );
      this.#finish(CloseCode.Abnormal, "", false);
    }
  }

  #open(conn: Transport, init: WebSocketInit): void {
    this.#conn = conn;
    this.#role = init.role;
    this.#request = init.request;
    this.#protocol = init.protocol;
    this.#extensions = init.extensions;
    try {
      this.#origin = new URL(this.#url).origin;
    } catch { /* an opaque URL has no origin */ }
    this.#proto = new WebSocketProtocol({
      role: init.role,
      ...(init.maxMessageSize !== undefined ? { maxMessageSize: init.maxMessageSize } : {}),
      ...(init.maxFrameSize !== undefined ? { maxFrameSize: init.maxFrameSize } : {}),
      ...(init.fragmentSize !== undefined ? { fragmentSize: init.fragmentSize } : {}),
      ...(init.deflateOptions !== undefined ? { deflateOptions: init.deflateOptions } : {}),
      deflate: init.deflate,
    });
    this.#readyState = 1;
    if (init.preamble) this.#enqueue(init.preamble);
    const leftover = init.leftover;
    // Events fire from a later task, so handlers attached right after creation see them all.
    setTimeout(() => {
      if (this.#finished) return;
      this.#emit("open", new Event("open"));
      if (leftover?.length) this.#process(leftover);
      this.#readLoop();
    }, 0);
  }

  #emit(type: string, event: Event): void {
    const handler = type === "open"
      ? this.onopen
      : type === "message"
      ? this.onmessage
      : type === "error"
      ? this.onerror
      : this.onclose;
    try {
      (handler as ((e: Event) => void) | null)?.call(this, event);
    } catch (e) {
      reportError(e);
    }
    this.dispatchEvent(event);
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(256 * 1024);
    const conn = this.#conn!;
    while (!this.#finished) {
      if (this.#iterators > 0 && this.#messages.length >= (this.#options.highWaterMark ?? 16)) {
        await new Promise<void>((r) => this.#resume = r);
        continue;
      }
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (e) {
        if (!this.#finished) log.debug("WebSocket read failed: {error}", { error: String(e) });
        n = null;
      }
      if (n === null) break;
      this.#process(buf.subarray(0, n));
    }
    // End of stream: a clean close if the closing handshake completed (RFC 6455 §7.1.4-§7.1.5).
    if (!this.#finished) {
      const p = this.#proto!;
      this.#finish(
        p.state === "closed" ? p.closeCode : CloseCode.Abnormal,
        p.closeReason,
        p.state === "closed" && p.closeCode !== CloseCode.Abnormal && !this.#failed,
      );
    }
  }

  #failed = false;

  // @implements RFC6455 §5.5.1 ¶5
  #process(data: Uint8Array): void {
    const proto = this.#proto!;
    const events = proto.receive(data);
    // While the events of one read are delivered, replies stay in the protocol: taking its
    // output would also take the answer to a Close frame later in the same read, after which
    // replies to the messages before that Close frame could no longer be sent.
    this.#delivering = true;
    try {
      this.#dispatch(events);
    } finally {
      this.#delivering = false;
    }
    // Replies sent by handlers go out before the automatic Close reply.
    this.#flushProto();
  }

  #dispatch(events: WebSocketEvent[]): void {
    for (const ev of events) {
      switch (ev.type) {
        case "message":
          this.#deliver(ev.data);
          break;
        case "error":
          this.#failed = true;
          log.debug("WebSocket failed: {error}", { error: ev.error.message });
          this.#emit(
            "error",
            new ErrorEvent("error", { message: ev.error.message, error: ev.error }),
          );
          break;
        case "close":
          this.#readyState = 2;
          // @implements RFC6455 §7.1.1 ¶2
          if (this.#role === "server" || !ev.wasClean) this.#closeAfterWrite = true;
          else this.#armCloseTimer();
          this.#kickWriter();
          break;
      }
    }
  }

  #deliver(data: string | Uint8Array): void {
    if (this.#iterators > 0) {
      this.#messages.push(data);
      this.#wake?.();
    }
    if (!this.onmessage && !this.#hasMessageListeners) return;
    let value: string | ArrayBuffer | Blob;
    if (typeof data === "string") value = data;
    else if (this.#binaryType === "arraybuffer") {
      value = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
        ? data.buffer as ArrayBuffer
        : data.slice().buffer as ArrayBuffer;
    } else value = new Blob([data as Uint8Array<ArrayBuffer>]);
    this.#emit("message", new MessageEvent("message", { data: value, origin: this.#origin }));
  }

  #listenerCount = 0;
  #origin = "";
  get #hasMessageListeners(): boolean {
    return this.#listenerCount > 0;
  }

  /**
   * Adds an event listener (`open`, `message`, `error`, `close`).
   *
   * @param type Event type.
   * @param listener The listener.
   * @param options Listener options.
   */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    if (type === "message" && listener) this.#listenerCount++;
    super.addEventListener(type, listener, options);
  }

  #delivering = false;

  #flushProto(): void {
    const proto = this.#proto;
    if (!proto || this.#delivering) return;
    for (const chunk of proto.takeOutput()) this.#enqueue(chunk);
  }

  #enqueue(chunk: Uint8Array): void {
    this.#writeQueue.push(chunk);
    this.#queued += chunk.length;
    this.#kickWriter();
  }

  #kickWriter(): void {
    if (this.#writing) return;
    this.#writing = true;
    // Start on a microtask so that frames queued in the same turn go out in one write.
    queueMicrotask(() => this.#writeLoop());
  }

  async #writeLoop(): Promise<void> {
    const conn = this.#conn!;
    try {
      while (this.#writeQueue.length) {
        const q = this.#writeQueue;
        let chunk: Uint8Array;
        if (q.length === 1 || q[0]!.length >= 65536) chunk = q.shift()!;
        else {
          // Coalesce small frames into one write.
          let n = 0, k = 0;
          while (k < q.length && n + q[k]!.length <= 262144) n += q[k++]!.length;
          if (k <= 1) chunk = q.shift()!;
          else chunk = concat(q.splice(0, k));
        }
        await writeAll(conn, chunk);
        this.#queued -= chunk.length;
      }
    } catch (e) {
      log.debug("WebSocket write failed: {error}", { error: String(e) });
      this.#writeQueue = [];
      this.#queued = 0;
      this.#writing = false;
      this.#failed = true;
      this.#finish(CloseCode.Abnormal, "", false);
      return;
    }
    this.#writing = false;
    for (const w of this.#drainWaiters.splice(0)) w();
    if (this.#closeAfterWrite && !this.#finished) {
      const p = this.#proto!;
      this.#finish(p.closeCode, p.closeReason, !this.#failed);
    }
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== undefined) return;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      if (this.#finished) return;
      const p = this.#proto;
      const clean = p?.state === "closed" && !this.#failed;
      this.#finish(clean ? p!.closeCode : CloseCode.Abnormal, p?.closeReason ?? "", clean);
    }, this.#options.closeTimeout ?? 5000);
  }

  #finish(code: number, reason: string, wasClean: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#readyState = 3;
    clearTimeout(this.#closeTimer);
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#wake?.();
    this.#resume?.();
    for (const w of this.#drainWaiters.splice(0)) w();
    this.#emit("close", new CloseEvent("close", { code, reason, wasClean }));
  }

  /**
   * Sends a message: a string as text, bytes (or an ArrayBuffer, a view or a Blob) as binary.
   * Does nothing once closing, as in browsers; see `bufferedAmount` and {@linkcode flush}.
   * A Blob is read first; messages sent after it wait for it, so the order is kept.
   *
   * @param data The message.
   * @throws {DOMException} `InvalidStateError` while connecting.
   */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.#readyState === 0) {
      throw new DOMException("Cannot send: the WebSocket is connecting", "InvalidStateError");
    }
    if (this.#readyState !== 1 || !this.#proto!.canSend) return;
    const payload = data instanceof Blob || typeof data === "string"
      ? data
      : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);
    if (payload instanceof Blob || this.#blobQueue) {
      // A Blob is read asynchronously; messages after it wait so that order is kept.
      (this.#blobQueue ??= []).push(payload);
      if (this.#blobQueue.length === 1) this.#drainBlobs();
      return;
    }
    this.#proto!.send(payload);
    this.#flushProto();
  }

  #blobQueue: (string | Uint8Array | Blob)[] | undefined;

  async #drainBlobs(): Promise<void> {
    const q = this.#blobQueue!;
    while (q.length) {
      const item = q[0]!;
      const payload = item instanceof Blob ? new Uint8Array(await item.arrayBuffer()) : item;
      q.shift();
      if (this.#readyState === 1 && this.#proto!.canSend) {
        this.#proto!.send(payload);
        this.#flushProto();
      }
    }
    this.#blobQueue = undefined;
  }

  /**
   * Sends a ping (RFC 6455 §5.5.2); the peer's pong is not surfaced as an event.
   *
   * @param data Up to 125 bytes.
   */
  ping(data: Uint8Array = new Uint8Array(0)): void {
    if (this.#readyState !== 1) return;
    this.#proto!.ping(data);
    this.#flushProto();
  }

  /**
   * Resolves when everything queued so far has been written to the transport (or the socket
   * closed): `await ws.flush()` after sends gives backpressure to a fast producer.
   *
   * @returns A promise.
   */
  flush(): Promise<void> {
    // Inside a message handler, what was sent is queued once the read's events are delivered.
    if (this.#delivering) return Promise.resolve().then(() => this.flush());
    if (!this.#writing && this.#writeQueue.length === 0) return Promise.resolve();
    if (this.#finished) return Promise.resolve();
    return new Promise((r) => this.#drainWaiters.push(r));
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2); the `close` event fires when the
   * transport is closed. While connecting, abandons the connection.
   *
   * @param code 1000, 3000-4999, or another code that may be sent (1001-1003, 1007-1014).
   * @param reason At most 123 bytes of UTF-8.
   * @throws {DOMException} `InvalidAccessError` for a code that may not be sent, `SyntaxError` for a
   * reason that is too long.
   */
  close(code?: number, reason = ""): void {
    if (code !== undefined && !isValidCloseCode(code)) {
      throw new DOMException(
        `Cannot close: status code ${code} may not be sent`,
        "InvalidAccessError",
      );
    }
    if (encoder.encode(reason).length > 123) {
      throw new DOMException("Cannot close: reason longer than 123 bytes", "SyntaxError");
    }
    if (this.#readyState === 0) {
      this.#emit("error", new Event("error"));
      this.#finish(CloseCode.Abnormal, "", false);
      return;
    }
    if (this.#readyState !== 1) return;
    this.#readyState = 2;
    this.#proto!.close(code, code === undefined ? "" : reason);
    this.#flushProto();
    this.#armCloseTimer();
  }

  /**
   * Iterates over received messages until the connection closes. Reading pauses while
   * `highWaterMark` messages wait for the loop.
   *
   * @returns An async iterator of messages.
   */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<string | Uint8Array> {
    this.#iterators++;
    try {
      for (;;) {
        const m = this.#messages.shift();
        if (m !== undefined) {
          if (this.#messages.length < (this.#options.highWaterMark ?? 16)) {
            const r = this.#resume;
            this.#resume = undefined;
            r?.();
          }
          yield m;
          continue;
        }
        if (this.#finished) return;
        await new Promise<void>((r) => this.#wake = r);
        this.#wake = undefined;
      }
    } finally {
      this.#iterators--;
      const r = this.#resume;
      this.#resume = undefined;
      r?.();
    }
  }
}

// === Deno adapters: server (RFC 6455 §4.2) ===

/** Options of the server functions. */
export interface WebSocketServerOptions extends ServerHandshakeOptions, WebSocketOptions {
  /** Address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** Port to listen on (default 80; 0 picks a free port). */
  port?: number;
  /** PEM certificate chain: listen with TLS (`wss:`) when set together with `key`. */
  cert?: string;
  /** PEM private key for TLS. */
  key?: string;
  /** Milliseconds a client has to complete its handshake (default 10000); slower ones are dropped. */
  handshakeTimeout?: number;
  /** Largest request head accepted (default {@linkcode DEFAULT_MAX_HEAD_SIZE}); larger get 431. */
  maxHeadSize?: number;
  /** Answers requests that are not WebSocket upgrades (default: 426 Upgrade Required). */
  onRequest?: (request: HttpRequestHead) => HttpResponse | Promise<HttpResponse>;
  /** Compression threshold and level for permessage-deflate. */
  deflateOptions?: Pick<DeflateOptions, "threshold" | "level">;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
}

function isUpgrade(request: HttpRequestHead): boolean {
  return hasToken(request.headers.get("upgrade"), "websocket");
}

function socketInit(
  request: HttpRequestHead,
  result: ServerHandshake,
  options: WebSocketServerOptions,
  leftover: Uint8Array | undefined,
): WebSocketInit {
  const host = request.headers.get("host") ?? "localhost";
  return {
    ...options,
    protocol: result.protocol,
    extensions: result.extensions,
    deflate: result.deflate,
    role: "server",
    url: `${options.cert ? "wss" : "ws"}://${host}${
      request.target.startsWith("/") ? request.target : "/"
    }`,
    request,
    preamble: result.response,
    ...(leftover ? { leftover } : {}),
  };
}

/**
 * Completes the server handshake on a connection whose HTTP request head the caller already
 * read (e.g. an HTTP server that routes `Upgrade: websocket` requests here): writes the 101
 * response and returns the open socket. When the request is not an acceptable handshake, writes
 * the error response, closes the connection and throws.
 *
 * @param conn The accepted connection.
 * @param request The request head.
 * @param options Handshake options and limits; `leftover` holds bytes read after the head.
 * @returns The open socket.
 * @throws {HandshakeError} When the handshake is refused (the connection is closed).
 *
 * @example
 * ```ts
 * import { parseHttpRequest, upgradeWebSocket, WebSocket } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = new WebSocket(`ws://127.0.0.1:${listener.addr.port}/`, "sip");
 * const conn = await listener.accept();
 * const buf = new Uint8Array(4096);
 * const n = (await conn.read(buf))!; // a real server reads until the empty line
 * const socket = upgradeWebSocket(conn, parseHttpRequest(buf.subarray(0, n)), { protocols: ["sip"] });
 * equal(socket.protocol, "sip");
 * await new Promise((r) => client.onopen = r);
 * equal(client.protocol, "sip");
 * client.close();
 * await new Promise((r) => socket.onclose = r);
 * listener.close();
 * ```
 */
export function upgradeWebSocket(
  conn: Transport,
  request: HttpRequestHead,
  options: WebSocketServerOptions & { leftover?: Uint8Array } = {},
): WebSocket {
  let result: ServerHandshake;
  try {
    result = acceptHandshake(request, options);
  } catch (e) {
    if (e instanceof HandshakeError) {
      writeAll(conn, rejectHandshake(e)).catch(() => {}).finally(() => {
        try {
          conn.close();
        } catch { /* closed */ }
      });
    }
    throw e;
  }
  return WebSocket.fromTransport(conn, socketInit(request, result, options, options.leftover));
}

/**
 * Takes over an accepted connection: reads the HTTP request (within `handshakeTimeout` and
 * `maxHeadSize`), answers non-upgrade requests with `onRequest` (or 426), and completes the
 * WebSocket handshake.
 *
 * @param conn The accepted TCP or TLS connection.
 * @param options Handshake options and limits.
 * @returns The open socket (its `request` holds the HTTP request).
 * @throws {HandshakeError} When the request is not an acceptable handshake; the error response
 * has been sent and the connection closed.
 *
 * @example
 * ```ts
 * import { acceptWebSocket, WebSocket } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = new WebSocket(`ws://127.0.0.1:${listener.addr.port}/chat`);
 * const socket = await acceptWebSocket(await listener.accept());
 * equal(socket.request?.target, "/chat");
 * await new Promise((r) => client.onopen = r);
 * client.close(1000);
 * const ev = await new Promise<CloseEvent>((r) => socket.onclose = r);
 * equal(ev.code, 1000);
 * listener.close();
 * ```
 */
export async function acceptWebSocket(
  conn: Transport,
  options: WebSocketServerOptions = {},
): Promise<WebSocket> {
  const ms = options.handshakeTimeout ?? 10_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* closed */ }
  }, ms);
  let request: HttpRequestHead;
  let leftover: Uint8Array;
  let answered = false;
  try {
    const head = await readHead(conn, options.maxHeadSize ?? DEFAULT_MAX_HEAD_SIZE);
    leftover = head.leftover;
    request = parseHttpRequest(head.head);
    if (!isUpgrade(request)) {
      const response = options.onRequest ? await options.onRequest(request) : {
        status: 426,
        headers: { "Upgrade": "websocket", "Sec-WebSocket-Version": "13" },
        body: "This is a WebSocket endpoint\n",
      };
      answered = true;
      await writeAll(conn, formatHttpResponse(response));
      throw new HandshakeError(
        `Cannot accept handshake: not an upgrade (${request.method} ${request.target})`,
        response.status,
      );
    }
  } catch (e) {
    clearTimeout(timer);
    if (!timedOut && !answered && e instanceof HandshakeError) {
      await writeAll(conn, rejectHandshake(e)).catch(() => {});
    }
    try {
      conn.close();
    } catch { /* closed */ }
    if (timedOut) {
      throw new HandshakeError(
        `Cannot accept handshake: ${timeoutError(ms, "reading the request").message}`,
        408,
      );
    }
    throw e;
  }
  clearTimeout(timer);
  return upgradeWebSocket(conn, request, { ...options, leftover });
}

/**
 * A listening WebSocket server (see {@linkcode serveWebSocket}).
 */
export class WebSocketServer implements AsyncDisposable {
  readonly #listener: Deno.Listener;
  readonly #sockets = new Set<WebSocket>();
  readonly #pending = new Set<Transport>();
  readonly #done: Promise<void>;
  #closed = false;

  /**
   * Serves WebSocket connections accepted from `listener`.
   *
   * @param listener A TCP or TLS listener.
   * @param options Handshake options and limits.
   * @param handler Called with each open socket and its request.
   */
  constructor(
    listener: Deno.Listener,
    options: WebSocketServerOptions,
    handler: (socket: WebSocket, request: HttpRequestHead) => void | Promise<void>,
  ) {
    this.#listener = listener;
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
    this.#done = this.#serve(options, handler);
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr as Deno.NetAddr;
  }

  /** Open sockets. */
  get sockets(): ReadonlySet<WebSocket> {
    return this.#sockets;
  }

  async #serve(
    options: WebSocketServerOptions,
    handler: (socket: WebSocket, request: HttpRequestHead) => void | Promise<void>,
  ): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (!this.#closed) {
          log.warn("WebSocket server stopped accepting: {error}", { error: String(e) });
        }
        return;
      }
      this.#pending.add(conn);
      // Frames are coalesced by the writer; Nagle's algorithm would only add latency.
      if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
      acceptWebSocket(conn, options).then((socket) => {
        this.#pending.delete(conn);
        if (this.#closed) return socket.close(CloseCode.GoingAway);
        this.#sockets.add(socket);
        socket.addEventListener("close", () => this.#sockets.delete(socket));
        try {
          Promise.resolve(handler(socket, socket.request!)).catch((e) => {
            log.error("WebSocket handler failed: {error}", { error: String(e) });
            socket.close(CloseCode.InternalError);
          });
        } catch (e) {
          log.error("WebSocket handler failed: {error}", { error: String(e) });
          socket.close(CloseCode.InternalError);
        }
      }, (e) => {
        this.#pending.delete(conn);
        log.debug("WebSocket handshake from {addr} failed: {error}", {
          addr: `${(conn.remoteAddr as Deno.NetAddr).hostname}:${
            (conn.remoteAddr as Deno.NetAddr).port
          }`,
          error: String(e),
        });
      });
    }
  }

  /**
   * Stops listening, closes sockets with 1001 (going away) and waits for them to close.
   *
   * @returns A promise that settles when the server has stopped.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#listener.close();
      } catch { /* closed */ }
      for (const c of this.#pending) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    }
    const closing = [...this.#sockets].map((s) =>
      s.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise<void>((r) => {
        s.addEventListener("close", () => r());
        s.close(CloseCode.GoingAway);
      })
    );
    await Promise.all([this.#done, ...closing]);
  }

  /** Same as {@linkcode WebSocketServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Listens on TCP (or TLS with `cert` and `key`) and calls `handler` with each WebSocket that
 * completes its handshake. Bad or slow handshakes are answered or dropped without affecting
 * other connections.
 *
 * @param options Address, TLS, handshake and limits.
 * @param handler Called with each open socket and its HTTP request.
 * @returns The running server.
 *
 * @example
 * ```ts
 * import { serveWebSocket, WebSocket } from "@rtclite/std/ietf/rfc6455";
 * import { equal } from "node:assert/strict";
 * await using server = serveWebSocket({ hostname: "127.0.0.1", port: 0, protocols: ["sip"] }, (ws) => {
 *   ws.send(`hello ${ws.protocol}`);
 * });
 * const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}`, ["sip"]);
 * const ev = await new Promise<MessageEvent>((r) => ws.onmessage = r);
 * equal(ev.data, "hello sip");
 * ws.close();
 * ```
 */
export function serveWebSocket(
  options: WebSocketServerOptions,
  handler: (socket: WebSocket, request: HttpRequestHead) => void | Promise<void>,
): WebSocketServer {
  const addr = { hostname: options.hostname ?? "0.0.0.0", port: options.port ?? 80 };
  const listener = options.cert && options.key
    ? Deno.listenTls({ ...addr, cert: options.cert, key: options.key })
    : Deno.listen(addr);
  return new WebSocketServer(listener, options, handler);
}

// === Command line ===

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function flags(args: string[], name: string): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a === name && args[i + 1] !== undefined) out.push(args[i + 1]!);
  });
  return out;
}

async function* stdinLines(): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let rest = "";
  for await (const chunk of Deno.stdin.readable) {
    rest += dec.decode(chunk, { stream: true });
    let i;
    while ((i = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, i).replace(/\r$/, "");
      rest = rest.slice(i + 1);
    }
  }
  if (rest) yield rest;
}

const USAGE = `Usage:
  deno run -A std/ietf/rfc6455.ts serve [--port 8080] [--hostname 0.0.0.0] [--echo]
      [--protocol P]... [--no-deflate] [--cert F --key F] [-v|-q]
  deno run -A std/ietf/rfc6455.ts connect ws://HOST:PORT/PATH [--protocol P]... [--no-deflate]
      [--origin O] [--binary] [-v|-q]
serve without --echo prints received messages and sends stdin lines to every client;
connect sends stdin lines as messages and prints messages to stdout.`;

async function main(argv: string[]): Promise<number> {
  const { level, args } = parseVerbosity(argv);
  await setupLogging(level);
  const [command, target] = args;
  const deflate = !args.includes("--no-deflate");
  const protocols = flags(args, "--protocol");
  const out = (text: string) => Deno.stdout.write(encoder.encode(text + "\n"));
  const show = (d: string | Uint8Array) =>
    typeof d === "string"
      ? d
      : `[binary ${d.length} bytes] ${
        [...d.subarray(0, 32)].map((b) => b.toString(16).padStart(2, "0")).join(" ")
      }`;
  if (command === "serve") {
    const echo = args.includes("--echo");
    const certFile = flag(args, "--cert"), keyFile = flag(args, "--key");
    const server = serveWebSocket({
      hostname: flag(args, "--hostname") ?? "0.0.0.0",
      port: Number(flag(args, "--port") ?? 8080),
      ...(protocols.length ? { protocols } : {}),
      deflate,
      ...(certFile && keyFile
        ? { cert: Deno.readTextFileSync(certFile), key: Deno.readTextFileSync(keyFile) }
        : {}),
    }, async (ws, req) => {
      log.info("Connection {target} protocol={protocol} extensions={ext}", {
        target: req.target,
        protocol: ws.protocol,
        ext: ws.extensions,
      });
      if (echo) {
        // Echo from the event, synchronously: a reply must go out before a Close frame that
        // arrived in the same read is answered.
        ws.binaryType = "arraybuffer";
        ws.onmessage = (e) => ws.send(e.data);
        return;
      }
      for await (const m of ws) await out(show(m));
    });
    console.error(
      `Listening on ${certFile ? "wss" : "ws"}://${server.addr.hostname}:${server.addr.port}/`,
    );
    Deno.addSignalListener("SIGINT", () => server.close().then(() => Deno.exit(0)));
    if (!echo) {
      for await (const line of stdinLines()) for (const ws of server.sockets) ws.send(line);
    }
    await new Promise(() => {});
    return 0;
  }
  if (command === "connect" && target) {
    const binary = args.includes("--binary");
    const origin = flag(args, "--origin");
    const ws = new WebSocket(target, protocols, { deflate, ...(origin ? { origin } : {}) });
    const closed = new Promise<CloseEvent>((r) =>
      ws.addEventListener("close", (e) => r(e as CloseEvent))
    );
    const opened = await Promise.race([
      new Promise<boolean>((r) => ws.addEventListener("open", () => r(true))),
      closed.then(() => false),
    ]);
    if (!opened) {
      console.error(`Cannot connect to ${target}`);
      return 1;
    }
    log.info("Connected protocol={protocol} extensions={ext}", {
      protocol: ws.protocol,
      ext: ws.extensions,
    });
    const printed = (async () => {
      for await (const m of ws) await out(show(m));
    })();
    (async () => {
      for await (const line of stdinLines()) {
        if (ws.readyState !== WebSocket.OPEN) break;
        ws.send(binary ? encoder.encode(line) : line);
        await ws.flush();
      }
      ws.close(1000);
    })();
    const ev = await closed;
    await printed;
    log.info("Closed {code} {reason} clean={clean}", {
      code: ev.code,
      reason: ev.reason,
      clean: ev.wasClean,
    });
    return ev.wasClean ? 0 : 1;
  }
  console.error(USAGE);
  return 2;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
