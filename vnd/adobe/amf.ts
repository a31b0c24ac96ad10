// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * Action Message Format: AMF 0 and AMF 3 encoding and decoding of ActionScript values, with
 * the reference tables of both versions and the AMF 0 packets of Flash remoting.
 *
 * JavaScript values map to AMF types as follows: `undefined`, `null`, booleans, numbers
 * (AMF 3 writes integers from -2^28 to 2^28-1 as `integer`, others as `double`), strings,
 * `Date`, arrays (strict/dense arrays), plain objects (anonymous objects),
 * {@linkcode EcmaArray} (arrays with string keys), {@linkcode TypedObject} (objects with a
 * class name and, in AMF 3, traits), {@linkcode XmlDocument}, {@linkcode Xml},
 * `Uint8Array` (AMF 3 ByteArray), {@linkcode AmfVector}, {@linkcode Dictionary} and
 * {@linkcode Externalizable}. AMF 0 writes the AMF 3-only types after an
 * `avmplus-object-marker`. The same object appearing twice is written by reference, so
 * cyclic graphs round-trip. Malformed input throws {@linkcode AmfDecodeError} with the byte
 * offset; values that cannot be encoded throw `TypeError` or `RangeError`.
 *
 * Specifications: Adobe's "Action Message Format -- AMF 0" and "-- AMF 3"
 * ({@link https://rtmp.veriskope.com/pdf/amf0-file-format-specification.pdf | AMF 0},
 * {@link https://rtmp.veriskope.com/pdf/amf3-file-format-spec.pdf | AMF 3}).
 *
 * @example Encode and decode an RTMP `connect` command in AMF 0
 * ```ts
 * import { decodeAmf0Values, encodeAmf0Values } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const bytes = encodeAmf0Values(["connect", 1, { app: "live", objectEncoding: 0 }]);
 * equal(bytes[0], 0x02); // string-marker
 * deepEqual(decodeAmf0Values(bytes), ["connect", 1, { app: "live", objectEncoding: 0 }]);
 * ```
 *
 * @example AMF 3 sends repeated strings and objects by reference
 * ```ts
 * import { decodeAmf3, encodeAmf3 } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * const shared = { name: "a" };
 * const bytes = encodeAmf3([shared, shared, "name"]);
 * deepEqual([...bytes], [0x09, 0x07, 0x01, 0x0a, 0x0b, 0x01, 0x09, 0x6e, 0x61, 0x6d, 0x65,
 *   0x06, 0x03, 0x61, 0x01, 0x0a, 0x02, 0x06, 0x00]);
 * const back = decodeAmf3(bytes) as { name: string }[];
 * deepEqual(back[0], { name: "a" });
 * deepEqual(back[0] === back[1], true);
 * ```
 *
 * @module
 */
// @implements AMF0 (Action Message Format 0), AMF3 (Action Message Format 3)
import { ByteReader, ByteWriter } from "@rtclite/std/bytes";
import { ParseError } from "@rtclite/std/errors";

export { ParseError };

/** Malformed AMF data: `offset` is the byte where reading stopped. */
export class AmfDecodeError extends ParseError {}

// === Values ===

/** An anonymous ActionScript object: string keys to values. */
export interface AmfObject {
  /** A member. */
  [key: string]: AmfValue;
}

/** Any value AMF 0 or AMF 3 can carry. */
export type AmfValue =
  | undefined
  | null
  | boolean
  | number
  | string
  | Date
  | Uint8Array
  | AmfValue[]
  | EcmaArray
  | TypedObject
  | Externalizable
  | XmlDocument
  | Xml
  | AmfVector
  | Dictionary
  | AmfObject;

/**
 * An array with string keys: AMF 0's ECMA array (§2.10) or an AMF 3 array with an
 * associative part (§3.11). `items` is the dense part (AMF 3; AMF 0 writes it with keys
 * "0", "1", ... and reads every key into `properties`).
 *
 * @example
 * ```ts
 * import { decodeAmf0, EcmaArray, encodeAmf0 } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * const meta = new EcmaArray({ duration: 0, width: 640 });
 * deepEqual(decodeAmf0(encodeAmf0(meta)), meta);
 * ```
 */
export class EcmaArray {
  /** The associative part. */
  properties: AmfObject;
  /** The dense (ordinal) part. */
  items: AmfValue[];

  /**
   * Creates an array.
   *
   * @param properties The string-keyed entries.
   * @param items The dense entries.
   */
  constructor(properties: AmfObject = {}, items: AmfValue[] = []) {
    this.properties = properties;
    this.items = items;
  }
}

/** Options of a {@linkcode TypedObject}: its AMF 3 traits. */
export interface TraitsOptions {
  /** Sealed member names in order (AMF 3 traits); default none. */
  sealed?: string[];
  /** Whether members beyond the sealed ones are written (AMF 3 dynamic trait); default true. */
  dynamic?: boolean;
}

/**
 * An object of a named class: AMF 0's typed object (§2.18) or an AMF 3 object whose traits
 * (§3.12) have a class name, sealed members or no dynamic trait.
 *
 * @example
 * ```ts
 * import { decodeAmf3, encodeAmf3, TypedObject } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * const p = new TypedObject("org.example.Point", { x: 1, y: 2 }, { sealed: ["x", "y"], dynamic: false });
 * deepEqual(decodeAmf3(encodeAmf3(p)), p);
 * ```
 */
export class TypedObject {
  /** The registered class alias ("" for an anonymous class with traits). */
  className: string;
  /** Member values: the sealed ones and then the dynamic ones. */
  properties: AmfObject;
  /** Sealed member names in order (AMF 3). */
  sealed: string[];
  /** Whether the class is dynamic (AMF 3). */
  dynamic: boolean;

  /**
   * Creates a typed object.
   *
   * @param className The class alias.
   * @param properties The members.
   * @param options AMF 3 traits.
   */
  constructor(className: string, properties: AmfObject = {}, options: TraitsOptions = {}) {
    this.className = className;
    this.properties = properties;
    this.sealed = options.sealed ?? [];
    this.dynamic = options.dynamic ?? true;
  }
}

/**
 * Class names whose externalized form (AMF 3 §3.12, `U29O-traits-ext`) is a single AMF 3
 * value: Flex's collection wrappers.
 */
export const SINGLE_VALUE_EXTERNALIZABLES: readonly string[] = [
  "flex.messaging.io.ArrayCollection",
  "flex.messaging.io.ArrayList",
  "flex.messaging.io.ObjectProxy",
];

/**
 * An instance of an externalizable class (AMF 3 §3.12) whose custom form is one AMF 3 value,
 * such as `flex.messaging.io.ArrayCollection` (see {@linkcode SINGLE_VALUE_EXTERNALIZABLES}).
 *
 * @example
 * ```ts
 * import { decodeAmf3, encodeAmf3, Externalizable } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * const list = new Externalizable("flex.messaging.io.ArrayCollection", [1, 2]);
 * deepEqual(decodeAmf3(encodeAmf3(list)), list);
 * ```
 */
export class Externalizable {
  /** The class alias. */
  className: string;
  /** The externalized value. */
  data: AmfValue;

  /**
   * Creates an externalizable instance.
   *
   * @param className The class alias.
   * @param data The value its custom serialization writes.
   */
  constructor(className: string, data: AmfValue) {
    this.className = className;
    this.data = data;
  }
}

/**
 * A legacy XML document (AMF 0 §2.17, AMF 3 §3.9), kept as its text.
 *
 * @example
 * ```ts
 * import { decodeAmf0, encodeAmf0, XmlDocument } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodeAmf0(encodeAmf0(new XmlDocument("<a/>"))), new XmlDocument("<a/>"));
 * ```
 */
export class XmlDocument {
  /** The XML text. */
  xml: string;

  /**
   * Creates a document.
   *
   * @param xml The XML text.
   */
  constructor(xml: string) {
    this.xml = xml;
  }
}

/**
 * An E4X XML value (AMF 3 §3.13), kept as its text; AMF 0 writes it as an XML document.
 *
 * @example
 * ```ts
 * import { decodeAmf3, encodeAmf3, Xml } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodeAmf3(encodeAmf3(new Xml("<a/>"))), new Xml("<a/>"));
 * ```
 */
export class Xml {
  /** The XML text. */
  xml: string;

  /**
   * Creates an XML value.
   *
   * @param xml The XML text.
   */
  constructor(xml: string) {
    this.xml = xml;
  }
}

/** The base type of an {@linkcode AmfVector}. */
export type VectorType = "int" | "uint" | "double" | "object";

/**
 * An ActionScript `Vector` (AMF 3 §3.15): `int`, `uint` and `double` vectors hold numbers;
 * `object` vectors hold any values and name their base type (`*` for any).
 *
 * @example
 * ```ts
 * import { AmfVector, decodeAmf3, encodeAmf3 } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * const v = new AmfVector("int", [1, -1], { fixed: true });
 * deepEqual([...encodeAmf3(v)], [0x0d, 0x05, 0x01, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
 * deepEqual(decodeAmf3(encodeAmf3(v)), v);
 * ```
 */
export class AmfVector {
  /** The base type. */
  type: VectorType;
  /** The elements. */
  items: AmfValue[];
  /** Whether the vector has a fixed length. */
  fixed: boolean;
  /** For `object` vectors: the base type name (`*` for any); `""` otherwise. */
  objectType: string;

  /**
   * Creates a vector.
   *
   * @param type The base type.
   * @param items The elements.
   * @param options Fixed length, and the base type name of an `object` vector.
   */
  constructor(
    type: VectorType,
    items: AmfValue[] = [],
    options: { fixed?: boolean; objectType?: string } = {},
  ) {
    this.type = type;
    this.items = items;
    this.fixed = options.fixed ?? false;
    this.objectType = type === "object" ? options.objectType ?? "*" : "";
  }
}

/**
 * An ActionScript `Dictionary` (AMF 3 §3.16): a `Map` whose keys may be any values.
 *
 * @example
 * ```ts
 * import { decodeAmf3, Dictionary, encodeAmf3 } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * const d = new Dictionary([["a", 1], [2, "b"]]);
 * deepEqual(decodeAmf3(encodeAmf3(d)), d);
 * ```
 */
export class Dictionary extends Map<AmfValue, AmfValue> {
  /** Whether the dictionary holds its keys weakly. */
  weakKeys: boolean = false;
}

// === Byte reading and writing (AMF0 §1.3, AMF3 §1.3) ===

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

// A direct-mapped cache of short ASCII strings read before, by a hash of their bytes.
const MAX_CACHED = 32;
const CACHE_SLOTS = 1024;
const cachedBytes: (Uint8Array | undefined)[] = new Array(CACHE_SLOTS).fill(undefined);
const cachedStrings: string[] = new Array(CACHE_SLOTS).fill("");
const utf8Encoder = new TextEncoder();

/** Default limit of nested complex values, against stack exhaustion. */
const MAX_DEPTH = 512;

/** Makes the error an {@linkcode AmfWriter} throws past its limit (never reached). */
function encodeError(message: string): RangeError {
  return new RangeError(message);
}

/** Makes the error an {@linkcode AmfReader} throws. */
function decodeError(message: string, offset: number): AmfDecodeError {
  return new AmfDecodeError(message, offset);
}

/**
 * The shared {@linkcode ByteReader} with what AMF adds: U29 integers, UTF-8 strings with an
 * ASCII fast path, item counts checked against the bytes left, and a nesting depth.
 */
class AmfReader extends ByteReader {
  depth = 0;

  constructor(bytes: Uint8Array) {
    super(bytes, decodeError, "AMF");
  }

  // @implements AMF3 §1.3.1
  u29(what: string): number {
    let v = 0;
    for (let i = 0; i < 3; i++) {
      const b = this.u8(what);
      if (b < 0x80) return (v << 7) | b;
      v = (v << 7) | (b & 0x7f);
    }
    return (v << 8) | this.u8(what);
  }

  // @implements AMF0 §1.3.1, AMF3 §1.3.2
  utf8(n: number, what: string): string {
    this.need(n, what);
    const start = this.pos;
    const end = start + n;
    this.pos = end;
    if (n > MAX_CACHED) return this.utf8Slow(start, end, what);
    // Short ASCII strings (property names, command names, "live") come again and again: look
    // them up by a hash of their bytes, so a known one costs no new string.
    const b = this.buf;
    let h = n;
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c >= 0x80) return this.utf8Slow(start, end, what);
      h = (Math.imul(h, 31) + c) | 0;
    }
    const slot = h & (CACHE_SLOTS - 1);
    const known = cachedBytes[slot];
    if (known !== undefined && known.length === n) {
      let i = 0;
      while (i < n && known[i] === b[start + i]) i++;
      if (i === n) return cachedStrings[slot]!;
    }
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
    cachedBytes[slot] = b.slice(start, end);
    cachedStrings[slot] = s;
    return s;
  }

  utf8Slow(start: number, end: number, what: string): string {
    try {
      return utf8Decoder.decode(this.buf.subarray(start, end));
    } catch {
      return this.fail(`${what} is not valid UTF-8`, start);
    }
  }

  /** Checks that `count` items of at least `size` bytes each can follow. */
  count(count: number, size: number, what: string): void {
    if (count * size > this.end - this.pos) {
      this.fail(`${what} count ${count} exceeds the remaining ${this.end - this.pos} bytes`);
    }
  }

  enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail(`values nested deeper than ${MAX_DEPTH}`);
  }
}

/** The shared {@linkcode ByteWriter} with U29 integers, UTF-8 strings and a nesting depth. */
class AmfWriter extends ByteWriter {
  depth = 0;

  constructor() {
    // A module-level error maker: no closure allocated per value encoded.
    super(256, Number.MAX_SAFE_INTEGER, encodeError);
  }

  // @implements AMF3 §1.3.1
  u29(v: number): void {
    if (v < 0 || v > 0x1fffffff) {
      throw new RangeError(`Cannot encode AMF 3 U29: ${v} is out of range 0 to 2^29-1`);
    }
    this.ensure(4);
    const b = this.buf;
    if (v < 0x80) b[this.pos++] = v;
    else if (v < 0x4000) {
      b[this.pos++] = (v >> 7) | 0x80;
      b[this.pos++] = v & 0x7f;
    } else if (v < 0x200000) {
      b[this.pos++] = (v >> 14) | 0x80;
      b[this.pos++] = ((v >> 7) & 0x7f) | 0x80;
      b[this.pos++] = v & 0x7f;
    } else {
      b[this.pos++] = (v >> 22) | 0x80;
      b[this.pos++] = ((v >> 15) & 0x7f) | 0x80;
      b[this.pos++] = ((v >> 8) & 0x7f) | 0x80;
      b[this.pos++] = v & 0xff;
    }
  }

  /**
   * Writes `s` as UTF-8 behind a header written by `header(byteLength)`: ASCII strings go
   * straight into the buffer, others through the encoder.
   */
  utf8(s: string, header: (length: number) => void): void {
    const n = s.length;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii) {
      const b = utf8Encoder.encode(s);
      header(b.length);
      return this.bytes(b);
    }
    header(n);
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  enter(): void {
    if (++this.depth > MAX_DEPTH) {
      throw new RangeError(`Cannot encode AMF: values nested deeper than ${MAX_DEPTH}`);
    }
  }
}

/** UTF-8 bytes of a string; ASCII strings skip the encoder. */
function utf8(s: string): Uint8Array {
  const n = s.length;
  if (n < 64) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = s.charCodeAt(i);
      return b;
    }
  }
  return utf8Encoder.encode(s);
}

/** Sets a key without invoking the `__proto__` setter. */
function setKey(o: AmfObject, key: string, value: AmfValue): void {
  if (key === "__proto__") {
    Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  } else o[key] = value;
}

function isPlainValue(v: object): boolean {
  return !(v instanceof Date || v instanceof Uint8Array || v instanceof XmlDocument ||
    v instanceof Xml || v instanceof AmfVector || v instanceof Map ||
    v instanceof Externalizable);
}

function typeError(what: string): never {
  throw new TypeError(`Cannot encode AMF: ${what} has no AMF type`);
}

// === AMF 0 (AMF0 §2) ===

const AMF0_NUMBER = 0x00;
const AMF0_BOOLEAN = 0x01;
const AMF0_STRING = 0x02;
const AMF0_OBJECT = 0x03;
const AMF0_MOVIECLIP = 0x04;
const AMF0_NULL = 0x05;
const AMF0_UNDEFINED = 0x06;
const AMF0_REFERENCE = 0x07;
const AMF0_ECMA_ARRAY = 0x08;
const AMF0_OBJECT_END = 0x09;
const AMF0_STRICT_ARRAY = 0x0a;
const AMF0_DATE = 0x0b;
const AMF0_LONG_STRING = 0x0c;
const AMF0_UNSUPPORTED = 0x0d;
const AMF0_RECORDSET = 0x0e;
const AMF0_XML_DOCUMENT = 0x0f;
const AMF0_TYPED_OBJECT = 0x10;
const AMF0_AVMPLUS = 0x11;

// @implements AMF0 §2.1
function readAmf0(r: AmfReader, refs: object[]): AmfValue {
  const at = r.pos;
  const marker = r.u8("AMF 0 type marker");
  switch (marker) {
    // @implements AMF0 §2.2
    case AMF0_NUMBER:
      return r.f64("AMF 0 number");
    // @implements AMF0 §2.3
    case AMF0_BOOLEAN:
      return r.u8("AMF 0 boolean") !== 0;
    // @implements AMF0 §2.4
    case AMF0_STRING:
      return r.utf8(r.u16("AMF 0 string length"), "AMF 0 string");
    // @implements AMF0 §2.5
    case AMF0_OBJECT: {
      const o: AmfObject = {};
      refs.push(o);
      readAmf0Properties(r, refs, o);
      return o;
    }
    // @implements AMF0 §2.6, AMF0 §2.16
    case AMF0_MOVIECLIP:
    case AMF0_RECORDSET:
      return r.fail(`reserved AMF 0 type marker 0x0${marker.toString(16)} is not supported`, at);
    // @implements AMF0 §2.7
    case AMF0_NULL:
      return null;
    // @implements AMF0 §2.8
    case AMF0_UNDEFINED:
      return undefined;
    // @implements AMF0 §2.9
    case AMF0_REFERENCE: {
      const index = r.u16("AMF 0 reference");
      if (index >= refs.length) {
        r.fail(`AMF 0 reference ${index} points past the ${refs.length} objects read`, at);
      }
      return refs[index] as AmfValue;
    }
    // @implements AMF0 §2.10
    case AMF0_ECMA_ARRAY: {
      r.u32("AMF 0 ECMA array count"); // a hint only; the end marker ends the array
      const a = new EcmaArray();
      refs.push(a);
      readAmf0Properties(r, refs, a.properties);
      return a;
    }
    // @implements AMF0 §2.11
    case AMF0_OBJECT_END:
      return r.fail("AMF 0 object-end marker outside an object", at);
    // @implements AMF0 §2.12
    case AMF0_STRICT_ARRAY: {
      const n = r.u32("AMF 0 strict array count");
      r.count(n, 1, "AMF 0 strict array");
      const a: AmfValue[] = [];
      refs.push(a);
      r.enter();
      for (let i = 0; i < n; i++) a.push(readAmf0(r, refs));
      r.depth--;
      return a;
    }
    // @implements AMF0 §2.13
    case AMF0_DATE: {
      const t = r.f64("AMF 0 date");
      r.u16("AMF 0 date time-zone"); // reserved, ignored
      return new Date(t);
    }
    // @implements AMF0 §2.14
    case AMF0_LONG_STRING:
      return r.utf8(r.u32("AMF 0 long string length"), "AMF 0 long string");
    // @implements AMF0 §2.15
    case AMF0_UNSUPPORTED:
      return undefined;
    // @implements AMF0 §2.17
    case AMF0_XML_DOCUMENT:
      return new XmlDocument(r.utf8(r.u32("AMF 0 XML document length"), "AMF 0 XML document"));
    // @implements AMF0 §2.18
    case AMF0_TYPED_OBJECT: {
      const name = r.utf8(r.u16("AMF 0 class name length"), "AMF 0 class name");
      const o = new TypedObject(name);
      refs.push(o);
      readAmf0Properties(r, refs, o.properties);
      return o;
    }
    // @implements AMF0 §3.1
    case AMF0_AVMPLUS:
      return readAmf3(r, new Amf3Tables());
    default:
      return r.fail(`unknown AMF 0 type marker 0x${marker.toString(16)}`, at);
  }
}

/** Reads `*(object-property)` up to the object-end type (AMF0 §2.5, §2.11). */
// @implements AMF0 §2.5, AMF0 §2.11
function readAmf0Properties(r: AmfReader, refs: object[], o: AmfObject): void {
  r.enter();
  for (;;) {
    const n = r.u16("AMF 0 property name length");
    if (n === 0) {
      const at = r.pos;
      if (r.u8("AMF 0 object-end marker") !== AMF0_OBJECT_END) {
        r.fail("expected the AMF 0 object-end marker after an empty name", at);
      }
      break;
    }
    const key = r.utf8(n, "AMF 0 property name");
    setKey(o, key, readAmf0(r, refs));
  }
  r.depth--;
}

function writeAmf0String16(w: AmfWriter, s: string, what: string): void {
  w.utf8(s, (n) => {
    if (n > 0xffff) throw new RangeError(`Cannot encode AMF 0 ${what}: ${n} bytes exceed 65535`);
    w.u16(n);
  });
}

function writeAmf0Properties(w: AmfWriter, refs: Map<object, number>, o: AmfObject): void {
  for (const key of Object.keys(o)) {
    if (key === "") throw new TypeError("Cannot encode AMF 0 object: empty property name");
    writeAmf0String16(w, key, "property name");
    writeAmf0(w, o[key], refs);
  }
  w.u16(0);
  w.u8(AMF0_OBJECT_END);
}

function writeAmf0(w: AmfWriter, v: AmfValue, refs: Map<object, number>): void {
  switch (typeof v) {
    case "number":
      w.u8(AMF0_NUMBER);
      w.f64(v);
      return;
    case "boolean":
      w.u8(AMF0_BOOLEAN);
      w.u8(v ? 1 : 0);
      return;
    case "string":
      w.utf8(v, (n) => {
        if (n <= 0xffff) {
          w.u8(AMF0_STRING);
          w.u16(n);
        } else {
          // @implements AMF0 §2.14
          w.u8(AMF0_LONG_STRING);
          w.u32(n);
        }
      });
      return;
    case "undefined":
      w.u8(AMF0_UNDEFINED);
      return;
    case "object":
      break;
    default:
      typeError(typeof v);
  }
  if (v === null) return w.u8(AMF0_NULL);
  if (v instanceof Date) {
    w.u8(AMF0_DATE);
    w.f64(v.getTime());
    w.u16(0);
    return;
  }
  if (v instanceof XmlDocument || v instanceof Xml) {
    const b = utf8(v.xml);
    w.u8(AMF0_XML_DOCUMENT);
    w.u32(b.length);
    w.bytes(b);
    return;
  }
  if (!isPlainValue(v)) {
    // AMF 3-only types switch to AMF 3 (AMF0 §3.1).
    w.u8(AMF0_AVMPLUS);
    writeAmf3(w, v, new Amf3Tables());
    return;
  }
  // Complex types: a repeated instance is a reference (AMF0 §2.9).
  const index = refs.get(v);
  if (index !== undefined) {
    w.u8(AMF0_REFERENCE);
    w.u16(index);
    return;
  }
  if (refs.size <= 0xffff) refs.set(v, refs.size);
  w.enter();
  if (Array.isArray(v)) {
    w.u8(AMF0_STRICT_ARRAY);
    w.u32(v.length);
    for (let i = 0; i < v.length; i++) writeAmf0(w, v[i], refs);
  } else if (v instanceof EcmaArray) {
    const keys = Object.keys(v.properties);
    w.u8(AMF0_ECMA_ARRAY);
    w.u32(v.items.length + keys.length);
    for (let i = 0; i < v.items.length; i++) {
      writeAmf0String16(w, String(i), "property name");
      writeAmf0(w, v.items[i], refs);
    }
    writeAmf0Properties(w, refs, v.properties);
  } else if (v instanceof TypedObject) {
    w.u8(AMF0_TYPED_OBJECT);
    writeAmf0String16(w, v.className, "class name");
    writeAmf0Properties(w, refs, v.properties);
  } else {
    w.u8(AMF0_OBJECT);
    writeAmf0Properties(w, refs, v as AmfObject);
  }
  w.depth--;
}

// === AMF 3 (AMF3 §3) ===

const AMF3_UNDEFINED = 0x00;
const AMF3_NULL = 0x01;
const AMF3_FALSE = 0x02;
const AMF3_TRUE = 0x03;
const AMF3_INTEGER = 0x04;
const AMF3_DOUBLE = 0x05;
const AMF3_STRING = 0x06;
const AMF3_XML_DOC = 0x07;
const AMF3_DATE = 0x08;
const AMF3_ARRAY = 0x09;
const AMF3_OBJECT = 0x0a;
const AMF3_XML = 0x0b;
const AMF3_BYTE_ARRAY = 0x0c;
const AMF3_VECTOR_INT = 0x0d;
const AMF3_VECTOR_UINT = 0x0e;
const AMF3_VECTOR_DOUBLE = 0x0f;
const AMF3_VECTOR_OBJECT = 0x10;
const AMF3_DICTIONARY = 0x11;

const INT_MIN = -0x10000000;
const INT_MAX = 0x0fffffff;

interface Traits {
  className: string;
  sealed: string[];
  dynamic: boolean;
  externalizable: boolean;
}

/** The three implicit reference tables of AMF 3 (AMF3 §2.2). */
// @implements AMF3 §2.2
class Amf3Tables {
  strings: string[] = [];
  objects: object[] = [];
  traits: Traits[] = [];
  stringIndex: Map<string, number> = new Map();
  objectIndex: Map<object, number> = new Map();
  traitsIndex: Map<string, number> = new Map();
}

// @implements AMF3 §1.3.2, AMF3 §3.8
function readAmf3String(r: AmfReader, t: Amf3Tables): string {
  const at = r.pos;
  const h = r.u29("AMF 3 string header");
  if ((h & 1) === 0) {
    const s = t.strings[h >> 1];
    if (s === undefined) {
      r.fail(`AMF 3 string reference ${h >> 1} points past the ${t.strings.length} strings`, at);
    }
    return s;
  }
  const s = r.utf8(h >> 1, "AMF 3 string");
  if (s !== "") t.strings.push(s);
  return s;
}

function writeAmf3String(w: AmfWriter, s: string, t: Amf3Tables): void {
  if (s === "") return w.u8(0x01); // UTF-8-empty, never a reference
  const index = t.stringIndex.get(s);
  if (index !== undefined) return w.u29(index << 1);
  t.stringIndex.set(s, t.stringIndex.size);
  w.utf8(s, (n) => {
    if (n > 0xfffffff) throw new RangeError(`Cannot encode AMF 3 string: ${n} bytes exceed 2^28-1`);
    w.u29((n << 1) | 1);
  });
}

/** Reads a U29 that is either an object reference or a value header (low bit 1). */
function objectRef(r: AmfReader, t: Amf3Tables, h: number, at: number): AmfValue {
  const o = t.objects[h >> 1];
  if (o === undefined) {
    r.fail(`AMF 3 object reference ${h >> 1} points past the ${t.objects.length} objects`, at);
  }
  return o as AmfValue;
}

// @implements AMF3 §3.1
function readAmf3(r: AmfReader, t: Amf3Tables): AmfValue {
  const at = r.pos;
  const marker = r.u8("AMF 3 type marker");
  switch (marker) {
    // @implements AMF3 §3.2
    case AMF3_UNDEFINED:
      return undefined;
    // @implements AMF3 §3.3
    case AMF3_NULL:
      return null;
    // @implements AMF3 §3.4
    case AMF3_FALSE:
      return false;
    // @implements AMF3 §3.5
    case AMF3_TRUE:
      return true;
    // @implements AMF3 §3.6
    case AMF3_INTEGER: {
      const v = r.u29("AMF 3 integer");
      return v & 0x10000000 ? v - 0x20000000 : v;
    }
    // @implements AMF3 §3.7
    case AMF3_DOUBLE:
      return r.f64("AMF 3 double");
    case AMF3_STRING:
      return readAmf3String(r, t);
    // @implements AMF3 §3.9, AMF3 §3.13
    case AMF3_XML_DOC:
    case AMF3_XML: {
      const h = r.u29("AMF 3 XML header");
      if ((h & 1) === 0) return objectRef(r, t, h, at);
      const text = r.utf8(h >> 1, "AMF 3 XML");
      const x = marker === AMF3_XML ? new Xml(text) : new XmlDocument(text);
      t.objects.push(x);
      return x;
    }
    // @implements AMF3 §3.10
    case AMF3_DATE: {
      const h = r.u29("AMF 3 date header");
      if ((h & 1) === 0) return objectRef(r, t, h, at);
      const d = new Date(r.f64("AMF 3 date"));
      t.objects.push(d);
      return d;
    }
    // @implements AMF3 §3.11
    case AMF3_ARRAY: {
      const h = r.u29("AMF 3 array header");
      if ((h & 1) === 0) return objectRef(r, t, h, at);
      const n = h >> 1;
      r.enter();
      let key = readAmf3String(r, t);
      let items: AmfValue[];
      let result: AmfValue[] | EcmaArray;
      if (key === "") {
        items = result = [];
        t.objects.push(result);
      } else {
        const ea = new EcmaArray();
        t.objects.push(ea);
        while (key !== "") {
          setKey(ea.properties, key, readAmf3(r, t));
          key = readAmf3String(r, t);
        }
        items = ea.items;
        result = ea;
      }
      r.count(n, 1, "AMF 3 array");
      for (let i = 0; i < n; i++) items.push(readAmf3(r, t));
      r.depth--;
      return result;
    }
    case AMF3_OBJECT:
      return readAmf3Object(r, t, at);
    // @implements AMF3 §3.14
    case AMF3_BYTE_ARRAY: {
      const h = r.u29("AMF 3 ByteArray header");
      if ((h & 1) === 0) return objectRef(r, t, h, at);
      const n = h >> 1;
      const b = r.bytes(n, "AMF 3 ByteArray");
      t.objects.push(b);
      return b;
    }
    // @implements AMF3 §3.15
    case AMF3_VECTOR_INT:
    case AMF3_VECTOR_UINT:
    case AMF3_VECTOR_DOUBLE:
    case AMF3_VECTOR_OBJECT: {
      const h = r.u29("AMF 3 Vector header");
      if ((h & 1) === 0) return objectRef(r, t, h, at);
      const n = h >> 1;
      const fixed = r.u8("AMF 3 Vector fixed flag") !== 0;
      if (marker === AMF3_VECTOR_OBJECT) {
        const objectType = readAmf3String(r, t);
        const v = new AmfVector("object", [], { fixed, objectType });
        t.objects.push(v);
        r.count(n, 1, "AMF 3 Vector");
        r.enter();
        for (let i = 0; i < n; i++) v.items.push(readAmf3(r, t));
        r.depth--;
        return v;
      }
      const type = marker === AMF3_VECTOR_INT
        ? "int"
        : marker === AMF3_VECTOR_UINT
        ? "uint"
        : "double";
      r.count(n, type === "double" ? 8 : 4, "AMF 3 Vector");
      const v = new AmfVector(type, new Array(n), { fixed });
      for (let i = 0; i < n; i++) {
        if (type === "double") v.items[i] = r.f64("AMF 3 Vector");
        else {
          const u = r.u32("AMF 3 Vector");
          v.items[i] = type === "int" ? u | 0 : u;
        }
      }
      t.objects.push(v);
      return v;
    }
    // @implements AMF3 §3.16
    case AMF3_DICTIONARY: {
      const h = r.u29("AMF 3 Dictionary header");
      if ((h & 1) === 0) return objectRef(r, t, h, at);
      const n = h >> 1;
      const d = new Dictionary();
      d.weakKeys = r.u8("AMF 3 Dictionary weak-keys flag") !== 0;
      t.objects.push(d);
      r.count(n, 2, "AMF 3 Dictionary");
      r.enter();
      for (let i = 0; i < n; i++) {
        const k = readAmf3(r, t);
        d.set(k, readAmf3(r, t));
      }
      r.depth--;
      return d;
    }
    default:
      return r.fail(`unknown AMF 3 type marker 0x${marker.toString(16)}`, at);
  }
}

// @implements AMF3 §3.12
function readAmf3Object(r: AmfReader, t: Amf3Tables, at: number): AmfValue {
  const h = r.u29("AMF 3 object header");
  if ((h & 1) === 0) return objectRef(r, t, h, at);
  let traits: Traits;
  if ((h & 2) === 0) {
    const tr = t.traits[h >> 2];
    if (tr === undefined) {
      r.fail(`AMF 3 traits reference ${h >> 2} points past the ${t.traits.length} traits`, at);
    }
    traits = tr;
  } else if (h & 4) {
    traits = { className: readAmf3String(r, t), sealed: [], dynamic: false, externalizable: true };
    t.traits.push(traits);
  } else {
    const n = h >>> 4;
    const className = readAmf3String(r, t);
    r.count(n, 1, "AMF 3 sealed member");
    const sealed: string[] = [];
    for (let i = 0; i < n; i++) sealed.push(readAmf3String(r, t));
    traits = { className, sealed, dynamic: (h & 8) !== 0, externalizable: false };
    t.traits.push(traits);
  }
  r.enter();
  let result: AmfValue;
  if (traits.externalizable) {
    if (!SINGLE_VALUE_EXTERNALIZABLES.includes(traits.className)) {
      r.fail(`externalizable class "${traits.className}" has an unknown format`, at);
    }
    const e = new Externalizable(traits.className, undefined);
    t.objects.push(e);
    e.data = readAmf3(r, t);
    result = e;
  } else {
    let props: AmfObject;
    if (traits.className === "" && traits.sealed.length === 0 && traits.dynamic) {
      result = props = {};
    } else {
      const o = new TypedObject(traits.className, {}, {
        sealed: traits.sealed,
        dynamic: traits.dynamic,
      });
      result = o;
      props = o.properties;
    }
    t.objects.push(result);
    for (const name of traits.sealed) setKey(props, name, readAmf3(r, t));
    if (traits.dynamic) {
      for (;;) {
        const key = readAmf3String(r, t);
        if (key === "") break;
        setKey(props, key, readAmf3(r, t));
      }
    }
  }
  r.depth--;
  return result;
}

function writeAmf3Traits(w: AmfWriter, t: Amf3Tables, traits: Traits): void {
  const key = JSON.stringify([
    traits.className,
    traits.dynamic,
    traits.externalizable,
    traits.sealed,
  ]);
  const index = t.traitsIndex.get(key);
  if (index !== undefined) return w.u29((index << 2) | 1);
  t.traitsIndex.set(key, t.traitsIndex.size);
  if (traits.externalizable) w.u29(7);
  else w.u29((traits.sealed.length << 4) | (traits.dynamic ? 8 : 0) | 3);
  writeAmf3String(w, traits.className, t);
  for (const name of traits.sealed) writeAmf3String(w, name, t);
}

function writeAmf3Dynamic(w: AmfWriter, t: Amf3Tables, o: AmfObject, skip: string[]): void {
  for (const key of Object.keys(o)) {
    if (skip.length && skip.includes(key)) continue;
    if (key === "") throw new TypeError("Cannot encode AMF 3 object: empty dynamic member name");
    writeAmf3String(w, key, t);
    writeAmf3(w, o[key], t);
  }
  w.u8(0x01);
}

function writeAmf3(w: AmfWriter, v: AmfValue, t: Amf3Tables): void {
  switch (typeof v) {
    case "undefined":
      return w.u8(AMF3_UNDEFINED);
    case "boolean":
      return w.u8(v ? AMF3_TRUE : AMF3_FALSE);
    case "number":
      if (Number.isInteger(v) && v >= INT_MIN && v <= INT_MAX && !Object.is(v, -0)) {
        w.u8(AMF3_INTEGER);
        w.u29(v & 0x1fffffff);
      } else {
        w.u8(AMF3_DOUBLE);
        w.f64(v);
      }
      return;
    case "string":
      w.u8(AMF3_STRING);
      return writeAmf3String(w, v, t);
    case "object":
      break;
    default:
      typeError(typeof v);
  }
  if (v === null) return w.u8(AMF3_NULL);
  const marker = v instanceof Date
    ? AMF3_DATE
    : Array.isArray(v) || v instanceof EcmaArray
    ? AMF3_ARRAY
    : v instanceof Uint8Array
    ? AMF3_BYTE_ARRAY
    : v instanceof XmlDocument
    ? AMF3_XML_DOC
    : v instanceof Xml
    ? AMF3_XML
    : v instanceof AmfVector
    ? (v.type === "int"
      ? AMF3_VECTOR_INT
      : v.type === "uint"
      ? AMF3_VECTOR_UINT
      : v.type === "double"
      ? AMF3_VECTOR_DOUBLE
      : AMF3_VECTOR_OBJECT)
    : v instanceof Map
    ? AMF3_DICTIONARY
    : AMF3_OBJECT;
  w.u8(marker);
  const index = t.objectIndex.get(v);
  if (index !== undefined) return w.u29(index << 1);
  t.objectIndex.set(v, t.objectIndex.size);
  w.enter();
  switch (marker) {
    case AMF3_DATE:
      w.u8(0x01);
      w.f64((v as Date).getTime());
      break;
    case AMF3_ARRAY: {
      const ea = v instanceof EcmaArray ? v : undefined;
      const items = ea ? ea.items : v as AmfValue[];
      w.u29((items.length << 1) | 1);
      if (ea) writeAmf3Dynamic(w, t, ea.properties, []);
      else w.u8(0x01);
      for (let i = 0; i < items.length; i++) writeAmf3(w, items[i], t);
      break;
    }
    case AMF3_BYTE_ARRAY:
      w.u29(((v as Uint8Array).length << 1) | 1);
      w.bytes(v as Uint8Array);
      break;
    case AMF3_XML_DOC:
    case AMF3_XML: {
      const b = utf8((v as Xml).xml);
      w.u29((b.length << 1) | 1);
      w.bytes(b);
      break;
    }
    case AMF3_DICTIONARY: {
      const d = v as Map<AmfValue, AmfValue>;
      w.u29((d.size << 1) | 1);
      w.u8(d instanceof Dictionary && d.weakKeys ? 1 : 0);
      for (const [key, value] of d) {
        writeAmf3(w, key, t);
        writeAmf3(w, value, t);
      }
      break;
    }
    case AMF3_OBJECT:
      writeAmf3Object(w, t, v as AmfObject | TypedObject | Externalizable);
      break;
    default: {
      const vec = v as AmfVector;
      w.u29((vec.items.length << 1) | 1);
      w.u8(vec.fixed ? 1 : 0);
      if (vec.type === "object") {
        writeAmf3String(w, vec.objectType, t);
        for (const item of vec.items) writeAmf3(w, item, t);
      } else {
        for (const item of vec.items) writeVectorNumber(w, vec.type, item);
      }
    }
  }
  w.depth--;
}

function writeVectorNumber(w: AmfWriter, type: VectorType, item: AmfValue): void {
  if (typeof item !== "number") {
    throw new TypeError(
      `Cannot encode AMF 3 Vector.<${type}>: element ${typeof item} is not a number`,
    );
  }
  if (type === "double") return w.f64(item);
  const ok = type === "int"
    ? Number.isInteger(item) && item >= -0x80000000 && item <= 0x7fffffff
    : Number.isInteger(item) && item >= 0 && item <= 0xffffffff;
  if (!ok) throw new RangeError(`Cannot encode AMF 3 Vector.<${type}>: ${item} is out of range`);
  if (type === "int") w.i32(item);
  else w.u32(item);
}

function writeAmf3Object(w: AmfWriter, t: Amf3Tables, v: AmfObject | TypedObject | Externalizable) {
  if (v instanceof Externalizable) {
    writeAmf3Traits(w, t, {
      className: v.className,
      sealed: [],
      dynamic: false,
      externalizable: true,
    });
    writeAmf3(w, v.data, t);
  } else if (v instanceof TypedObject) {
    writeAmf3Traits(w, t, {
      className: v.className,
      sealed: v.sealed,
      dynamic: v.dynamic,
      externalizable: false,
    });
    for (const name of v.sealed) writeAmf3(w, v.properties[name], t);
    if (v.dynamic) writeAmf3Dynamic(w, t, v.properties, v.sealed);
  } else {
    writeAmf3Traits(w, t, { className: "", sealed: [], dynamic: true, externalizable: false });
    writeAmf3Dynamic(w, t, v, []);
  }
}

// === Public API ===

/**
 * Encodes one value in AMF 0 (with its own reference table).
 *
 * @param value The value.
 * @returns The AMF 0 bytes.
 * @throws {TypeError} For functions, symbols, bigints and empty property names.
 * @throws {RangeError} For names over 65535 bytes or values nested too deeply.
 *
 * @example
 * ```ts
 * import { encodeAmf0 } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...encodeAmf0("hi")], [0x02, 0x00, 0x02, 0x68, 0x69]);
 * deepEqual([...encodeAmf0(true)], [0x01, 0x01]);
 * ```
 */
export function encodeAmf0(value: AmfValue): Uint8Array {
  const w = new AmfWriter();
  writeAmf0(w, value, new Map());
  return w.finish();
}

/**
 * Decodes exactly one AMF 0 value.
 *
 * @param bytes The AMF 0 bytes.
 * @returns The value.
 * @throws {AmfDecodeError} On malformed data or bytes left over.
 *
 * @example
 * ```ts
 * import { decodeAmf0 } from "@rtclite/vnd/adobe/amf";
 * import { equal } from "node:assert/strict";
 *
 * equal(decodeAmf0(new Uint8Array([0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0])), 1);
 * ```
 */
export function decodeAmf0(bytes: Uint8Array): AmfValue {
  const r = new AmfReader(bytes);
  const v = readAmf0(r, []);
  if (r.pos < r.end) r.fail(`${r.end - r.pos} bytes after the AMF 0 value`);
  return v;
}

/**
 * Encodes a sequence of AMF 0 values, as in an RTMP command message; each value has its own
 * reference table.
 *
 * @param values The values.
 * @returns The concatenated AMF 0 bytes.
 *
 * @example
 * ```ts
 * import { encodeAmf0Values } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...encodeAmf0Values([null, undefined])], [0x05, 0x06]);
 * ```
 */
export function encodeAmf0Values(values: readonly AmfValue[]): Uint8Array {
  const w = new AmfWriter();
  for (const v of values) writeAmf0(w, v, new Map());
  return w.finish();
}

/**
 * Decodes AMF 0 values until the end of the bytes, as in an RTMP command message.
 *
 * @param bytes The AMF 0 bytes.
 * @returns The values in order.
 * @throws {AmfDecodeError} On malformed data.
 *
 * @example
 * ```ts
 * import { decodeAmf0Values } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodeAmf0Values(new Uint8Array([0x05, 0x01, 0x00])), [null, false]);
 * ```
 */
export function decodeAmf0Values(bytes: Uint8Array): AmfValue[] {
  const r = new AmfReader(bytes);
  const out: AmfValue[] = [];
  while (r.pos < r.end) out.push(readAmf0(r, []));
  return out;
}

/**
 * Encodes one value in AMF 3 (with fresh string, object and traits tables).
 *
 * @param value The value.
 * @returns The AMF 3 bytes.
 * @throws {TypeError} For functions, symbols, bigints, empty dynamic names, non-numbers in
 * numeric vectors.
 * @throws {RangeError} For out-of-range lengths or vector elements, or too deep nesting.
 *
 * @example
 * ```ts
 * import { encodeAmf3 } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...encodeAmf3(-1)], [0x04, 0xff, 0xff, 0xff, 0xff]);
 * deepEqual([...encodeAmf3(0.5)], [0x05, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]);
 * ```
 */
export function encodeAmf3(value: AmfValue): Uint8Array {
  const w = new AmfWriter();
  writeAmf3(w, value, new Amf3Tables());
  return w.finish();
}

/**
 * Decodes exactly one AMF 3 value.
 *
 * @param bytes The AMF 3 bytes.
 * @returns The value.
 * @throws {AmfDecodeError} On malformed data or bytes left over.
 *
 * @example
 * ```ts
 * import { decodeAmf3 } from "@rtclite/vnd/adobe/amf";
 * import { equal } from "node:assert/strict";
 *
 * equal(decodeAmf3(new Uint8Array([0x04, 0x81, 0x00])), 128);
 * ```
 */
export function decodeAmf3(bytes: Uint8Array): AmfValue {
  const r = new AmfReader(bytes);
  const v = readAmf3(r, new Amf3Tables());
  if (r.pos < r.end) r.fail(`${r.end - r.pos} bytes after the AMF 3 value`);
  return v;
}

// === AMF packets (AMF0 §4.1) ===

/** A context header of an AMF packet. */
export interface AmfHeader {
  /** The header name. */
  name: string;
  /** Whether the receiver must understand the header. */
  mustUnderstand: boolean;
  /** The header value. */
  value: AmfValue;
}

/** A message of an AMF packet. */
export interface AmfMessage {
  /** The operation to invoke, e.g. `com/example/Service.getQuote` or `/1/onResult`. */
  targetUri: string;
  /** The operation name that matches the response to the request, e.g. `/1`. */
  responseUri: string;
  /** The message body. */
  body: AmfValue;
}

/** An AMF packet, the body of a Flash remoting HTTP request or response. */
export interface AmfPacket {
  /** 0 (values in AMF 0) or 3 (values switch to AMF 3). */
  version: number;
  /** Context headers. */
  headers: AmfHeader[];
  /** Messages. */
  messages: AmfMessage[];
}

function writeAmfPacketValue(w: AmfWriter, v: AmfValue, version: number): void {
  const lengthAt = w.pos;
  w.u32(0);
  const start = w.pos;
  if (version === 3) {
    w.u8(AMF0_AVMPLUS);
    writeAmf3(w, v, new Amf3Tables());
  } else writeAmf0(w, v, new Map());
  w.view.setUint32(lengthAt, w.pos - start);
}

/**
 * Encodes an AMF packet. With version 3, every header value and message body is written as
 * AMF 3 after the `avmplus-object-marker`.
 *
 * @param packet The packet.
 * @returns The packet bytes.
 *
 * @example
 * ```ts
 * import { decodeAmfPacket, encodeAmfPacket } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * const packet = { version: 0, headers: [], messages: [{ targetUri: "Svc.echo", responseUri: "/1", body: ["hi"] }] };
 * deepEqual(decodeAmfPacket(encodeAmfPacket(packet)), packet);
 * ```
 */
// @implements AMF0 §4.1, AMF0 §4.1.1, AMF0 §4.1.2, AMF0 §4.1.3, AMF3 §4.1
export function encodeAmfPacket(packet: AmfPacket): Uint8Array {
  const w = new AmfWriter();
  w.u16(packet.version);
  w.u16(packet.headers.length);
  for (const h of packet.headers) {
    writeAmf0String16(w, h.name, "header name");
    w.u8(h.mustUnderstand ? 1 : 0);
    writeAmfPacketValue(w, h.value, packet.version);
  }
  w.u16(packet.messages.length);
  for (const m of packet.messages) {
    writeAmf0String16(w, m.targetUri, "target URI");
    writeAmf0String16(w, m.responseUri, "response URI");
    writeAmfPacketValue(w, m.body, packet.version);
  }
  return w.finish();
}

/**
 * Decodes an AMF packet. The byte lengths of headers and messages are not relied on (they
 * may be `(U32)-1`); every value gets fresh reference tables.
 *
 * @param bytes The packet bytes.
 * @returns The packet.
 * @throws {AmfDecodeError} On malformed data.
 *
 * @example
 * ```ts
 * import { decodeAmfPacket } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual } from "node:assert/strict";
 *
 * const bytes = new Uint8Array([0, 3, 0, 0, 0, 1, 0, 1, 0x61, 0, 2, 0x2f, 0x31, 0xff, 0xff, 0xff, 0xff, 0x11, 0x04, 0x05]);
 * deepEqual(decodeAmfPacket(bytes), { version: 3, headers: [], messages: [{ targetUri: "a", responseUri: "/1", body: 5 }] });
 * ```
 */
export function decodeAmfPacket(bytes: Uint8Array): AmfPacket {
  const r = new AmfReader(bytes);
  const version = r.u16("AMF packet version");
  const headers: AmfHeader[] = [];
  const headerCount = r.u16("AMF packet header count");
  for (let i = 0; i < headerCount; i++) {
    const name = r.utf8(r.u16("AMF header name length"), "AMF header name");
    const mustUnderstand = r.u8("AMF header must-understand flag") !== 0;
    r.u32("AMF header length");
    headers.push({ name, mustUnderstand, value: readAmf0(r, []) });
  }
  const messages: AmfMessage[] = [];
  const messageCount = r.u16("AMF packet message count");
  for (let i = 0; i < messageCount; i++) {
    const targetUri = r.utf8(r.u16("AMF target URI length"), "AMF target URI");
    const responseUri = r.utf8(r.u16("AMF response URI length"), "AMF response URI");
    r.u32("AMF message length");
    messages.push({ targetUri, responseUri, body: readAmf0(r, []) });
  }
  if (r.pos < r.end) r.fail(`${r.end - r.pos} bytes after the AMF packet`);
  return { version, headers, messages };
}
