// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The one byte toolkit of rtclite's binary codecs: a bounds-checked
 * big-endian {@linkcode ByteReader}, a growable (or capped)
 * {@linkcode ByteWriter}, a {@linkcode BytePool} of small arrays cut from shared slabs, and
 * `concat`, `equals`, `timingSafeEqual`, `toHex` and `fromHex`.
 * Network byte order (big-endian) is the default everywhere, as every wire
 * format here uses it.
 *
 * A reader is given the error to throw, so that each format names itself.
 *
 * @example Read and write a length-prefixed field
 * ```ts
 * import { ByteReader, ByteWriter, toHex } from "@rtclite/std/bytes";
 * import { ParseError } from "@rtclite/std/errors";
 * import { equal, throws } from "node:assert/strict";
 *
 * const w = new ByteWriter();
 * w.u16(3);
 * w.bytes(new Uint8Array([1, 2, 3]));
 * const bytes = w.finish();
 * equal(toHex(bytes), "0003010203");
 *
 * const r = new ByteReader(bytes, (m, at) => new ParseError(m, at), "TLV");
 * equal(toHex(r.bytes(r.u16("length"), "value")), "010203");
 * throws(() => r.u8("next"), /Cannot decode TLV: next needs 1 bytes at offset 5, 0 left/);
 * ```
 *
 * @module
 */

/** Makes the error a {@linkcode ByteReader} or {@linkcode ByteWriter} throws. */
export type ByteError = (message: string, offset: number) => Error;

/** A cursor over bytes that throws the format's own error when input runs out. */
export class ByteReader {
  /** The bytes being read. */
  readonly buf: Uint8Array;
  /** A view on the same bytes. */
  readonly view: DataView;
  /** Where the next read starts. */
  pos: number;
  /** Where reading must stop. */
  readonly end: number;
  readonly #error: ByteError;
  readonly #what: string;

  /**
   * Starts reading `buf` at `pos`.
   *
   * @param buf The bytes.
   * @param error Makes the error thrown for short or bad input.
   * @param what The format's name, for messages ("DNS message").
   * @param pos Where to start.
   * @param end Where to stop (default: the end of `buf`).
   */
  constructor(buf: Uint8Array, error: ByteError, what: string, pos = 0, end = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
    this.end = end;
    this.#error = error;
    this.#what = what;
  }

  /** Bytes left before `end`. */
  get left(): number {
    return this.end - this.pos;
  }

  /** Throws the format's error: `Cannot decode <what>: <detail>`. */
  fail(detail: string, offset: number = this.pos): never {
    throw this.#error(`Cannot decode ${this.#what}: ${detail}`, offset);
  }

  /** Checks that `n` more bytes are there for `field`. */
  need(n: number, field: string): void {
    if (this.end - this.pos < n) {
      this.fail(`${field} needs ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`);
    }
  }

  /** Reads an unsigned byte. */
  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  /** Reads a big-endian unsigned 16-bit integer. */
  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  /** Reads a big-endian unsigned 24-bit integer. */
  u24(field: string): number {
    this.need(3, field);
    const b = this.buf, p = this.pos;
    this.pos += 3;
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  }

  /** Reads a big-endian unsigned 32-bit integer. */
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads a big-endian IEEE 754 double. */
  f64(field: string): number {
    this.need(8, field);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /** Copies `n` bytes out. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    return this.buf.slice(this.pos, this.pos += n);
  }

  /** Returns `n` bytes without copying (a view on the input). */
  sub(n: number, field: string): Uint8Array {
    this.need(n, field);
    return this.buf.subarray(this.pos, this.pos += n);
  }
}

/**
 * A big-endian writer into a buffer that grows, or that refuses to pass
 * `max` bytes. `finish()` copies the written bytes out, so one writer (and
 * its buffer) can be reused for the next message.
 */
export class ByteWriter {
  /** The buffer written into; replaced when it grows. */
  buf: Uint8Array;
  /** A view on `buf`. */
  view: DataView;
  /** Bytes written so far. */
  pos = 0;
  readonly #max: number;
  readonly #error: ByteError;

  /**
   * Makes a writer.
   *
   * @param size Initial buffer size.
   * @param max The most bytes this writer may hold.
   * @param error Makes the error thrown past `max` (default: `RangeError`).
   */
  constructor(
    size = 256,
    max = Number.MAX_SAFE_INTEGER,
    error: ByteError = (message) => new RangeError(message),
  ) {
    this.buf = new Uint8Array(Math.min(size, max));
    this.view = new DataView(this.buf.buffer);
    this.#max = max;
    this.#error = error;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const want = this.pos + n;
    if (want <= this.buf.length) return;
    if (want > this.#max) {
      throw this.#error(`Cannot encode: longer than ${this.#max} bytes`, this.pos);
    }
    let size = this.buf.length * 2 || 64;
    while (size < want) size *= 2;
    const next = new Uint8Array(Math.min(size, this.#max));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Writes an unsigned byte. */
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** Writes a big-endian unsigned 16-bit integer. */
  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  /** Writes a big-endian unsigned 24-bit integer. */
  u24(v: number): void {
    this.ensure(3);
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }

  /** Writes a big-endian unsigned 32-bit integer. */
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  /** Writes a big-endian signed 32-bit integer. */
  i32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }

  /** Writes a big-endian IEEE 754 double. */
  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  /** Writes bytes. */
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Copies what was written out and starts again at 0. */
  finish(): Uint8Array {
    const out = this.buf.slice(0, this.pos);
    this.pos = 0;
    return out;
  }
}

/**
 * Small byte arrays cut from shared slabs, as Node's `Buffer.allocUnsafe` does: in V8 a typed array
 * with its own `ArrayBuffer` costs about a microsecond (the backing store is allocated, zeroed and
 * tracked), a view into a slab a small fraction of that. Every region is handed out once, so the
 * arrays never overlap and start zeroed; a slab is freed when no array cut from it is left.
 * Arrays larger than `maxPooled` get their own buffer. An array from a pool has a `byteOffset`
 * and shares its `buffer`: use `subarray`/`byteOffset` rather than `.buffer` alone.
 *
 * @example
 * ```ts
 * import { BytePool } from "@rtclite/std/bytes";
 * import { equal } from "node:assert/strict";
 *
 * const pool = new BytePool();
 * const a = pool.alloc(12);
 * const b = pool.alloc(12);
 * equal(a.buffer, b.buffer);
 * equal(b.byteOffset, 16); // regions start 8-byte aligned
 * equal(pool.alloc(2000).byteOffset, 0); // larger than maxPooled: its own buffer
 * ```
 */
export class BytePool {
  /** Bytes per slab. */
  readonly slabSize: number;
  /** The largest array cut from a slab. */
  readonly maxPooled: number;
  #slab: Uint8Array;
  #pos = 0;

  /**
   * Makes a pool.
   *
   * @param slabSize Bytes per slab; default 8192.
   * @param maxPooled The largest array cut from a slab; default 1024 (at most `slabSize`).
   */
  constructor(slabSize = 8192, maxPooled = 1024) {
    this.slabSize = slabSize;
    this.maxPooled = Math.min(maxPooled, slabSize);
    this.#slab = new Uint8Array(0);
    this.#pos = 0;
  }

  /**
   * `n` zeroed bytes.
   *
   * @param n The length.
   * @returns A view into the current slab, or a new array when `n > maxPooled`.
   */
  alloc(n: number): Uint8Array {
    if (n > this.maxPooled) return new Uint8Array(n);
    if (this.#pos + n > this.#slab.length) {
      this.#slab = new Uint8Array(this.slabSize);
      this.#pos = 0;
    }
    const out = this.#slab.subarray(this.#pos, this.#pos + n);
    this.#pos = (this.#pos + n + 7) & ~7;
    return out;
  }
}

/** Joins byte arrays into one new array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Whether two byte arrays hold the same bytes. */
export function equals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether two byte arrays hold the same bytes, in a time that depends only on
 * their lengths: for comparing MACs and other secrets, where {@linkcode equals}
 * would tell an attacker how many leading bytes were right.
 *
 * @example
 * ```ts
 * import { timingSafeEqual } from "@rtclite/std/bytes";
 * import { equal } from "node:assert/strict";
 *
 * equal(timingSafeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
 * equal(timingSafeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
 * ```
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hexadecimal of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/**
 * Bytes from hexadecimal (either case).
 *
 * @throws {SyntaxError} when the text is not an even number of hex digits.
 */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new SyntaxError(`Cannot decode hex: "${hex.slice(0, 40)}" is not pairs of hex digits`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
