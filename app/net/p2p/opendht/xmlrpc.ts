// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * XML-RPC: method calls, responses and faults as XML, on `@rtclite/std/w3c/simplexml`. Enough of
 * the specification for OpenDHT's interface and for Python's `xmlrpc.client`: `int`/`i4`,
 * `boolean`, `string` (and untyped values), `double`, `base64`, `dateTime.iso8601`, `array`,
 * `struct`, and the common `nil` extension.
 *
 * A JavaScript number encodes as `int` when it is a 32-bit integer and as `double` otherwise;
 * bytes (`Uint8Array`) as `base64`.
 *
 * @see {@link http://xmlrpc.com/spec.md | XML-RPC Specification}
 *
 * @example A call and its response
 * ```ts
 * import { decodeMethodCall, decodeMethodResponse, encodeMethodCall, encodeMethodResponse }
 *   from "@rtclite/app/net/p2p/opendht/xmlrpc";
 * import { deepEqual } from "node:assert/strict";
 *
 * const call = decodeMethodCall(encodeMethodCall("get", [new Uint8Array([1]), 10, "app"]));
 * deepEqual(call, { method: "get", params: [new Uint8Array([1]), 10, "app"] });
 * deepEqual(decodeMethodResponse(encodeMethodResponse([[], new Uint8Array()])), [[], new Uint8Array()]);
 * ```
 *
 * @module
 */
import { ParseError } from "@rtclite/std/errors";
import { parseXml, serialize, XmlElement, type XmlNode } from "@rtclite/std/w3c/simplexml";

export { ParseError };

/** A value XML-RPC carries. */
export type XmlRpcValue =
  | number
  | boolean
  | string
  | Uint8Array
  | Date
  | null
  | XmlRpcValue[]
  | { [name: string]: XmlRpcValue };

/** A method call. */
export interface MethodCall {
  /** The method name. */
  method: string;
  /** The parameters, in order. */
  params: XmlRpcValue[];
}

/** A document that is not XML-RPC, or a value it cannot carry. */
export class XmlRpcParseError extends ParseError {}

/** A fault returned by the server (`<fault>`). */
export class XmlRpcFault extends Error {
  /** The fault code. */
  readonly code: number;

  /**
   * Creates the fault.
   *
   * @param code `faultCode`.
   * @param message `faultString`.
   */
  constructor(code: number, message: string) {
    super(message);
    this.name = "XmlRpcFault";
    this.code = code;
  }
}

// === Base64 ===

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  let s: string;
  try {
    s = atob(clean);
  } catch {
    throw new XmlRpcParseError("Cannot decode XML-RPC: bad base64", 0);
  }
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

// === Encoding ===

const el = (name: string, ...children: XmlNode[]) => new XmlElement(name, {}, children);

function encodeValue(v: XmlRpcValue, depth = 0): XmlElement {
  if (depth > 64) throw new XmlRpcParseError("Cannot encode XML-RPC: nesting deeper than 64", 0);
  if (v === null) return el("value", el("nil"));
  if (typeof v === "number") {
    if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) {
      return el("value", el("int", `${v}`));
    }
    if (!Number.isFinite(v)) {
      throw new XmlRpcParseError(`Cannot encode XML-RPC: ${v} is not a finite number`, 0);
    }
    return el("value", el("double", `${v}`));
  }
  if (typeof v === "boolean") return el("value", el("boolean", v ? "1" : "0"));
  if (typeof v === "string") return el("value", el("string", v));
  if (v instanceof Uint8Array) return el("value", el("base64", toBase64(v)));
  if (v instanceof Date) {
    const iso = v.toISOString().replace(/-/g, "").replace(/\.\d+Z$/, "");
    return el("value", el("dateTime.iso8601", iso));
  }
  if (Array.isArray(v)) {
    return el("value", el("array", el("data", ...v.map((x) => encodeValue(x, depth + 1)))));
  }
  return el(
    "value",
    el(
      "struct",
      ...Object.entries(v).map(([name, x]) =>
        el("member", el("name", name), encodeValue(x, depth + 1))
      ),
    ),
  );
}

/**
 * Encodes a method call.
 *
 * @param method The method name.
 * @param params The parameters.
 * @returns The XML document.
 * @throws {XmlRpcParseError} For a value XML-RPC cannot carry (NaN, nesting deeper than 64).
 *
 * @example
 * ```ts
 * import { encodeMethodCall } from "@rtclite/app/net/p2p/opendht/xmlrpc";
 * import { equal } from "node:assert/strict";
 * equal(encodeMethodCall("f", [1]),
 *   '<?xml version="1.0" encoding="UTF-8"?><methodCall><methodName>f</methodName>' +
 *   "<params><param><value><int>1</int></value></param></params></methodCall>");
 * ```
 */
export function encodeMethodCall(method: string, params: XmlRpcValue[]): string {
  const call = el(
    "methodCall",
    el("methodName", method),
    el("params", ...params.map((p) => el("param", encodeValue(p)))),
  );
  return serialize(call, { declaration: true });
}

/**
 * Encodes a successful method response.
 *
 * @param value The returned value.
 * @returns The XML document.
 * @throws {XmlRpcParseError} For a value XML-RPC cannot carry.
 *
 * @example
 * ```ts
 * import { encodeMethodResponse } from "@rtclite/app/net/p2p/opendht/xmlrpc";
 * import { ok } from "node:assert/strict";
 * ok(encodeMethodResponse(0).includes("<params><param><value><int>0</int>"));
 * ```
 */
export function encodeMethodResponse(value: XmlRpcValue): string {
  const doc = el("methodResponse", el("params", el("param", encodeValue(value))));
  return serialize(doc, { declaration: true });
}

/**
 * Encodes a fault response.
 *
 * @param code `faultCode`.
 * @param message `faultString`.
 * @returns The XML document.
 *
 * @example
 * ```ts
 * import { decodeMethodResponse, encodeFault, XmlRpcFault } from "@rtclite/app/net/p2p/opendht/xmlrpc";
 * import { throws } from "node:assert/strict";
 * throws(() => decodeMethodResponse(encodeFault(4, "Too many parameters")), XmlRpcFault);
 * ```
 */
export function encodeFault(code: number, message: string): string {
  const doc = el(
    "methodResponse",
    el("fault", encodeValue({ faultCode: code, faultString: message })),
  );
  return serialize(doc, { declaration: true });
}

// === Decoding ===

function fail(message: string): never {
  throw new XmlRpcParseError(`Cannot decode XML-RPC: ${message}`, 0);
}

function parse(text: string | Uint8Array): XmlElement {
  try {
    return parseXml(text, { maxDepth: 200, maxStanzaSize: 4 * 1024 * 1024 });
  } catch (e) {
    throw new XmlRpcParseError(
      `Cannot decode XML-RPC: ${e instanceof Error ? e.message : String(e)}`,
      e instanceof ParseError ? e.offset : 0,
    );
  }
}

function integer(text: string): number {
  const t = text.trim();
  if (!/^[+-]?\d{1,10}$/.test(t)) fail(`${JSON.stringify(t)} is not an integer`);
  const n = Number(t);
  if (n < -(2 ** 31) || n >= 2 ** 31) fail(`${t} is not a 32-bit integer`);
  return n;
}

function decodeValue(v: XmlElement): XmlRpcValue {
  if (v.name !== "value") fail(`expected <value>, found <${v.name}>`);
  const typed = v.elements();
  if (typed.length === 0) return v.text; // an untyped value is a string
  if (typed.length > 1) fail("a <value> holds more than one element");
  const t = typed[0]!;
  switch (t.name) {
    case "int":
    case "i4":
      return integer(t.text);
    case "i8": {
      const x = t.text.trim();
      if (!/^[+-]?\d{1,16}$/.test(x) || !Number.isSafeInteger(Number(x))) {
        fail(`${x} is not a safe integer`);
      }
      return Number(x);
    }
    case "boolean": {
      const b = t.text.trim();
      if (b !== "0" && b !== "1") fail(`boolean ${JSON.stringify(b)} is not 0 or 1`);
      return b === "1";
    }
    case "string":
      return t.text;
    case "double": {
      const d = t.text.trim();
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(d)) fail(`${d} is not a double`);
      return Number(d);
    }
    case "base64":
      return fromBase64(t.text);
    case "dateTime.iso8601": {
      const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(t.text.trim());
      if (!m) fail(`${t.text} is not an ISO 8601 time`);
      return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
    }
    case "nil":
      return null;
    case "array": {
      const data = t.child("data") ?? fail("<array> without <data>");
      return data.elements().map(decodeValue);
    }
    case "struct": {
      const out: Record<string, XmlRpcValue> = Object.create(null);
      for (const m of t.elements()) {
        if (m.name !== "member") fail(`expected <member>, found <${m.name}>`);
        const name = m.child("name") ?? fail("<member> without <name>");
        const value = m.child("value") ?? fail("<member> without <value>");
        out[name.text] = decodeValue(value);
      }
      return { ...out };
    }
    default:
      return fail(`unknown type <${t.name}>`);
  }
}

function params(p: XmlElement | undefined): XmlRpcValue[] {
  if (!p) return [];
  return p.elements().map((param) => {
    if (param.name !== "param") fail(`expected <param>, found <${param.name}>`);
    return decodeValue(param.child("value") ?? fail("<param> without <value>"));
  });
}

/**
 * Decodes a method call.
 *
 * @param text The XML document.
 * @returns The method and its parameters.
 * @throws {XmlRpcParseError} When it is not an XML-RPC call.
 *
 * @example
 * ```ts
 * import { decodeMethodCall, XmlRpcParseError } from "@rtclite/app/net/p2p/opendht/xmlrpc";
 * import { deepEqual, throws } from "node:assert/strict";
 * const xml = "<methodCall><methodName>add</methodName><params>" +
 *   "<param><value><i4>2</i4></value></param><param><value>x</value></param></params></methodCall>";
 * deepEqual(decodeMethodCall(xml), { method: "add", params: [2, "x"] });
 * throws(() => decodeMethodCall("<methodCall/>"), XmlRpcParseError);
 * ```
 */
export function decodeMethodCall(text: string | Uint8Array): MethodCall {
  const doc = parse(text);
  if (doc.name !== "methodCall") fail(`root is <${doc.name}>, expected <methodCall>`);
  const name = doc.child("methodName") ?? fail("no <methodName>");
  const method = name.text.trim();
  if (!/^[A-Za-z0-9_.:/]+$/.test(method)) fail(`bad method name ${JSON.stringify(method)}`);
  return { method, params: params(doc.child("params")) };
}

/**
 * Decodes a method response.
 *
 * @param text The XML document.
 * @returns The returned value.
 * @throws {XmlRpcFault} When the response is a fault.
 * @throws {XmlRpcParseError} When it is not an XML-RPC response.
 *
 * @example
 * ```ts
 * import { decodeMethodResponse } from "@rtclite/app/net/p2p/opendht/xmlrpc";
 * import { equal } from "node:assert/strict";
 * equal(decodeMethodResponse(
 *   "<methodResponse><params><param><value><boolean>1</boolean></value></param></params></methodResponse>",
 * ), true);
 * ```
 */
export function decodeMethodResponse(text: string | Uint8Array): XmlRpcValue {
  const doc = parse(text);
  if (doc.name !== "methodResponse") fail(`root is <${doc.name}>, expected <methodResponse>`);
  const fault = doc.child("fault");
  if (fault) {
    const v = decodeValue(fault.child("value") ?? fail("<fault> without <value>"));
    const f = v && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array) &&
        !(v instanceof Date)
      ? v
      : fail("<fault> is not a struct");
    const code = typeof f.faultCode === "number" ? f.faultCode : 0;
    throw new XmlRpcFault(code, typeof f.faultString === "string" ? f.faultString : "");
  }
  const p = params(doc.child("params"));
  if (p.length !== 1) fail(`a response has ${p.length} parameters, expected 1`);
  return p[0]!;
}
