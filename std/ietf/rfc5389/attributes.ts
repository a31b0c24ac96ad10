// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * Typed STUN attributes (RFC 5389 as revised by RFC 8489 §14; RFC 5389 §15): addresses plain and
 * XOR-obfuscated, UTF-8 text with its size limits, ERROR-CODE, UNKNOWN-ATTRIBUTES,
 * PASSWORD-ALGORITHM(S), and {@linkcode describeStun}, a readable view of a whole message.
 *
 * Each attribute has a builder (`xxxAttribute(...)` returns a {@linkcode StunAttribute}) and a
 * reader (`getXxx(msg)`, `undefined` when absent, {@linkcode StunParseError} when malformed).
 * Re-exported by `@rtclite/std/ietf/rfc5389`.
 *
 * @example Build and read an XOR-MAPPED-ADDRESS
 * ```ts
 * import { addressAttribute, createMessage, getAddress, StunAttr } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 *
 * const msg = createMessage(1, 2);
 * const addr = { family: 4 as const, address: "192.0.2.1", port: 32853 };
 * msg.attributes.push(addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, addr, msg.transactionId));
 * equal(getAddress(msg, StunAttr.XOR_MAPPED_ADDRESS)?.address, "192.0.2.1");
 * ```
 *
 * @module
 */
import { toHex } from "../../bytes.ts";
import {
  getAttribute,
  StunAttr,
  type StunAttribute,
  type StunMessage,
  StunMethod,
  StunParseError,
  type TransportAddress,
} from "./message.ts";
export { StunClass } from "./message.ts";
export type { StunAttribute, StunMessage, TransportAddress } from "./message.ts";

const utf8 = new TextEncoder();
const utf8d = new TextDecoder("utf-8", { fatal: true });
const pad4 = (n: number) => (n + 3) & ~3;

const ATTR_NAMES: Map<number, string> = new Map(
  Object.entries(StunAttr).map(([k, v]) => [v, k.replaceAll("_", "-")]),
);

/** Recommended reason phrases (RFC 8489 §14.8, RFC 8656 §19; RFC 5389 §15.6, RFC 5766 §15). */
const REASONS: Record<number, string> = {
  300: "Try Alternate",
  400: "Bad Request",
  401: "Unauthenticated",
  403: "Forbidden",
  420: "Unknown Attribute",
  437: "Allocation Mismatch",
  438: "Stale Nonce",
  440: "Address Family not Supported",
  441: "Wrong Credentials",
  442: "Unsupported Transport Protocol",
  443: "Peer Address Family Mismatch",
  486: "Allocation Quota Reached",
  500: "Server Error",
  508: "Insufficient Capacity",
};

/**
 * Password algorithms (RFC 8489 §18.5).
 *
 * @example
 * ```ts
 * import { PasswordAlgorithm } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(PasswordAlgorithm.SHA256, 2);
 * ```
 */
export const PasswordAlgorithm = { MD5: 0x0001, SHA256: 0x0002 } as const;

/** Value of an ERROR-CODE attribute. */
export interface ErrorCode {
  /** 300..699. */
  code: number;
  /** Reason phrase. */
  reason: string;
}

/** One entry of PASSWORD-ALGORITHMS, or the value of PASSWORD-ALGORITHM. */
export interface AlgorithmEntry {
  /** Algorithm number (see {@linkcode PasswordAlgorithm}). */
  algorithm: number;
  /** Algorithm parameters (empty for MD5 and SHA-256). */
  parameters: Uint8Array;
}

// === IP addresses (text <-> bytes) ===

function ipBytes(ip: string): Uint8Array {
  if (ip.includes(":")) return ipv6Bytes(ip.replace(/%.*$/, ""));
  const parts = ip.split(".");
  const out = new Uint8Array(4);
  if (parts.length !== 4) throw new TypeError(`Invalid IP address: "${ip}"`);
  parts.forEach((p, i) => {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new TypeError(`Invalid IP address: "${ip}"`);
    out[i] = Number(p);
  });
  return out;
}

function ipv6Bytes(ip: string): Uint8Array {
  const bad = () => new TypeError(`Invalid IPv6 address: "${ip}"`);
  const halves = ip.split("::");
  if (halves.length > 2) throw bad();
  const groups = (s: string): number[] => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    parts.forEach((p, i) => {
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = ipBytes(p);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else throw bad();
    });
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) throw bad();
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function ipText(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on a tie.
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

// === Address attributes (RFC 8489 §14.1, §14.2, §14.15; RFC 5389 §15.1, §15.2, §15.11) ===

/**
 * Encodes a MAPPED-ADDRESS-style value (also ALTERNATE-SERVER and the RFC 3489 address attributes).
 *
 * @param addr Address and port.
 * @returns The 8- or 20-byte value.
 * @example
 * ```ts
 * import { decodeAddress, encodeAddress } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * const a = { family: 4 as const, address: "192.0.2.1", port: 32853 };
 * deepEqual(decodeAddress(encodeAddress(a)), a);
 * ```
 */
// @implements RFC8489 §14.1 (RFC 5389 §15.1)
export function encodeAddress(addr: TransportAddress): Uint8Array {
  const ip = ipBytes(addr.address);
  if (!Number.isInteger(addr.port) || addr.port < 0 || addr.port > 0xffff) {
    throw new RangeError(`Invalid port: ${addr.port}`);
  }
  const out = new Uint8Array(4 + ip.length);
  out[1] = ip.length === 4 ? 1 : 2;
  out[2] = addr.port >> 8;
  out[3] = addr.port & 0xff;
  out.set(ip, 4);
  return out;
}

/**
 * Decodes a MAPPED-ADDRESS-style value.
 *
 * @param value Attribute value.
 * @returns Address and port.
 * @throws {StunParseError} on a bad family or length.
 * @example
 * ```ts
 * import { decodeAddress } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(decodeAddress(Uint8Array.of(0, 1, 0, 80, 127, 0, 0, 1)).address, "127.0.0.1");
 * ```
 */
export function decodeAddress(value: Uint8Array): TransportAddress {
  const family = value[1];
  if (value.length < 4 || (family !== 1 && family !== 2)) {
    throw new StunParseError(
      `Cannot decode address attribute: family ${family}, expected 1 or 2`,
      1,
    );
  }
  const want = family === 1 ? 8 : 20;
  if (value.length !== want) {
    throw new StunParseError(
      `Cannot decode address attribute: ${value.length} bytes, expected ${want}`,
      0,
    );
  }
  return {
    family: family === 1 ? 4 : 6,
    address: ipText(value.subarray(4)),
    port: (value[2]! << 8) | value[3]!,
  };
}

function xorInPlace(value: Uint8Array, transactionId: Uint8Array): Uint8Array {
  value[2]! ^= 0x21;
  value[3]! ^= 0x12;
  const mask = [0x21, 0x12, 0xa4, 0x42];
  for (let i = 4; i < value.length; i++) {
    value[i]! ^= i < 8 ? mask[i - 4]! : transactionId[i - 8]!;
  }
  return value;
}

/**
 * Encodes an XOR-MAPPED-ADDRESS-style value (also XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS).
 *
 * @param addr Address and port.
 * @param transactionId The message's 12-byte transaction ID (used for IPv6).
 * @returns The obfuscated value.
 * @example
 * ```ts
 * import { decodeXorAddress, encodeXorAddress } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * const tid = new Uint8Array(12).fill(9);
 * const a = { family: 6 as const, address: "2001:db8::1", port: 5000 };
 * deepEqual(decodeXorAddress(encodeXorAddress(a, tid), tid), a);
 * ```
 */
// @implements RFC8489 §14.2 ¶6 (RFC 5389 §15.2)
export function encodeXorAddress(addr: TransportAddress, transactionId: Uint8Array): Uint8Array {
  return xorInPlace(encodeAddress(addr), transactionId);
}

/**
 * Decodes an XOR-MAPPED-ADDRESS-style value.
 *
 * @param value Attribute value.
 * @param transactionId The message's 12-byte transaction ID.
 * @returns Address and port.
 * @throws {StunParseError} on a bad family or length.
 * @example
 * ```ts
 * import { decodeXorAddress } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const v = Uint8Array.of(0, 1, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43);
 * equal(decodeXorAddress(v, new Uint8Array(12)).address, "192.0.2.1");
 * ```
 */
export function decodeXorAddress(value: Uint8Array, transactionId: Uint8Array): TransportAddress {
  const copy = value.slice();
  decodeAddress(copy); // validates family and length before un-XORing
  return decodeAddress(xorInPlace(copy, transactionId.subarray(transactionId.length - 12)));
}

/**
 * Builds an address attribute, XOR-encoded for the XOR-* types.
 *
 * @param type Attribute type, e.g. {@linkcode StunAttr.XOR_MAPPED_ADDRESS}.
 * @param addr Address and port.
 * @param transactionId Transaction ID of the message it goes into (XOR types only).
 * @returns The attribute.
 * @example
 * ```ts
 * import { addressAttribute, StunAttr } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const a = addressAttribute(StunAttr.MAPPED_ADDRESS, { family: 4, address: "10.0.0.1", port: 1 });
 * equal(a.value.length, 8);
 * ```
 */
export function addressAttribute(
  type: number,
  addr: TransportAddress,
  transactionId?: Uint8Array,
): StunAttribute {
  const xor = type === StunAttr.XOR_MAPPED_ADDRESS || type === 0x0012 || type === 0x0016;
  if (xor && !transactionId) throw new TypeError("XOR address attributes need the transaction ID");
  return { type, value: xor ? encodeXorAddress(addr, transactionId!) : encodeAddress(addr) };
}

/**
 * Reads an address attribute of a message, un-XORing the XOR-* types.
 *
 * @param msg The message.
 * @param type Attribute type.
 * @returns The address, or `undefined` when absent.
 * @throws {StunParseError} when the value is malformed.
 * @example
 * ```ts
 * import { addressAttribute, createMessage, getAddress, StunAttr } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const msg = createMessage(1, 2);
 * const addr = { family: 4 as const, address: "198.51.100.7", port: 4000 };
 * msg.attributes.push(addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, addr, msg.transactionId));
 * equal(getAddress(msg, StunAttr.XOR_MAPPED_ADDRESS)?.port, 4000);
 * ```
 */
export function getAddress(msg: StunMessage, type: number): TransportAddress | undefined {
  const v = getAttribute(msg, type);
  if (!v) return undefined;
  const xor = type === StunAttr.XOR_MAPPED_ADDRESS || type === 0x0012 || type === 0x0016;
  return xor ? decodeXorAddress(v, msg.transactionId) : decodeAddress(v);
}

// === Text attributes (RFC 8489 §14.3, §14.9, §14.10, §14.14, §14.16; RFC 5389 §15.3, §15.7,
// §15.8, §15.10) ===

/** Limits in bytes when encoding (RFC 8489 §14.3 and the 128-character fields). */
const TEXT_LIMITS: Record<number, number> = {
  [StunAttr.USERNAME]: 508,
  [StunAttr.REALM]: 509,
  [StunAttr.NONCE]: 509,
  [StunAttr.SOFTWARE]: 509,
  [StunAttr.ALTERNATE_DOMAIN]: 255,
};

/**
 * Builds a UTF-8 text attribute (USERNAME, REALM, NONCE, SOFTWARE, ALTERNATE-DOMAIN, ...),
 * enforcing the specification's size limits.
 *
 * @param type Attribute type.
 * @param text The text.
 * @returns The attribute.
 * @throws {RangeError} when the text is longer than the attribute allows.
 * @example
 * ```ts
 * import { StunAttr, textAttribute } from "@rtclite/std/ietf/rfc5389";
 * import { equal, throws } from "node:assert/strict";
 * equal(textAttribute(StunAttr.REALM, "example.org").value.length, 11);
 * throws(() => textAttribute(StunAttr.SOFTWARE, "x".repeat(200)), RangeError);
 * ```
 */
// @implements RFC8489 §14.3 ¶2 (RFC 5389 §15.3), RFC8489 §14.14 (RFC 5389 §15.10)
export function textAttribute(type: number, text: string): StunAttribute {
  const value = utf8.encode(text);
  const limit = TEXT_LIMITS[type] ?? 0xffff;
  const chars = [...text].length;
  if (value.length > limit || (type !== StunAttr.USERNAME && limit === 509 && chars >= 128)) {
    throw new RangeError(
      `${ATTR_NAMES.get(type) ?? "Attribute"} too long: ${chars} characters, ${value.length} bytes`,
    );
  }
  return { type, value };
}

/**
 * Reads a UTF-8 text attribute.
 *
 * @param msg The message.
 * @param type Attribute type.
 * @returns The text, or `undefined` when absent.
 * @throws {StunParseError} for invalid UTF-8 or a value over 763 bytes.
 * @example
 * ```ts
 * import { createMessage, getText, StunAttr, textAttribute } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const msg = createMessage(1, 0, [textAttribute(StunAttr.SOFTWARE, "rtclite")]);
 * equal(getText(msg, StunAttr.SOFTWARE), "rtclite");
 * ```
 */
// @implements RFC8489 §14.3 ¶2 (RFC 5389 §15.3)
export function getText(msg: StunMessage, type: number): string | undefined {
  const v = getAttribute(msg, type);
  if (!v) return undefined;
  if (v.length > 763 && type in TEXT_LIMITS) {
    throw new StunParseError(
      `Cannot decode ${ATTR_NAMES.get(type)}: ${v.length} bytes, at most 763`,
      0,
    );
  }
  try {
    return utf8d.decode(v);
  } catch (e) {
    throw new StunParseError(
      `Cannot decode ${ATTR_NAMES.get(type) ?? "text attribute"}: invalid UTF-8`,
      0,
      {
        cause: e,
      },
    );
  }
}

// === ERROR-CODE and UNKNOWN-ATTRIBUTES (RFC 8489 §14.8, §14.13; RFC 5389 §15.6, §15.9) ===

/**
 * Builds an ERROR-CODE attribute.
 *
 * @param code 300..699.
 * @param reason Reason phrase (default: the recommended one).
 * @returns The attribute.
 * @example
 * ```ts
 * import { errorCodeAttribute } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual([...errorCodeAttribute(420).value.subarray(0, 4)], [0, 0, 4, 20]);
 * ```
 */
// @implements RFC8489 §14.8 ¶1-4 (RFC 5389 §15.6)
export function errorCodeAttribute(
  code: number,
  reason: string = REASONS[code] ?? "",
): StunAttribute {
  if (!Number.isInteger(code) || code < 300 || code > 699) {
    throw new RangeError(`Invalid STUN error code: ${code}, expected 300..699`);
  }
  const text = utf8.encode(reason);
  if ([...reason].length >= 128) throw new RangeError("ERROR-CODE reason phrase too long");
  const value = new Uint8Array(4 + text.length);
  value[2] = Math.floor(code / 100);
  value[3] = code % 100;
  value.set(text, 4);
  return { type: StunAttr.ERROR_CODE, value };
}

/**
 * Reads the ERROR-CODE of a message. Trailing NUL characters of the reason phrase (coturn pads the
 * phrase with NULs inside the attribute's length) are left out; the attribute's bytes are kept.
 *
 * @param msg The message.
 * @returns Code and reason, or `undefined` when absent.
 * @throws {StunParseError} when the value is malformed.
 * @example
 * ```ts
 * import { createMessage, errorCodeAttribute, getErrorCode } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * const msg = createMessage(1, 3, [errorCodeAttribute(438)]);
 * deepEqual(getErrorCode(msg), { code: 438, reason: "Stale Nonce" });
 * ```
 */
export function getErrorCode(msg: StunMessage): ErrorCode | undefined {
  const v = getAttribute(msg, StunAttr.ERROR_CODE);
  if (!v) return undefined;
  const cls = (v[2] ?? 0) & 7, num = v[3] ?? 0;
  if (v.length < 4 || cls < 3 || cls > 6 || num > 99) {
    throw new StunParseError("Cannot decode ERROR-CODE: class must be 3..6 and number 0..99", 2);
  }
  let reason: string;
  try {
    reason = utf8d.decode(v.subarray(4));
  } catch (e) {
    throw new StunParseError("Cannot decode ERROR-CODE: invalid UTF-8 reason", 4, { cause: e });
  }
  // coturn counts NUL padding inside the length; the bytes stay in the attribute, the reason
  // phrase does not carry them.
  return { code: cls * 100 + num, reason: reason.replace(/\0+$/, "") };
}

/**
 * Builds an UNKNOWN-ATTRIBUTES attribute.
 *
 * @param types The attribute types that were not understood.
 * @returns The attribute.
 * @example
 * ```ts
 * import { getUnknownAttributes, unknownAttributesAttribute } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * const a = unknownAttributesAttribute([0x7777, 0x0024]);
 * deepEqual(getUnknownAttributes({ method: 1, class: 3, transactionId: new Uint8Array(12), attributes: [a] }), [0x7777, 0x24]);
 * ```
 */
// @implements RFC8489 §14.13 (RFC 5389 §15.9)
export function unknownAttributesAttribute(types: number[]): StunAttribute {
  const value = new Uint8Array(types.length * 2);
  types.forEach((t, i) => {
    value[2 * i] = t >> 8;
    value[2 * i + 1] = t & 0xff;
  });
  return { type: StunAttr.UNKNOWN_ATTRIBUTES, value };
}

/**
 * Reads UNKNOWN-ATTRIBUTES.
 *
 * @param msg The message.
 * @returns Attribute types, or `undefined` when absent.
 * @throws {StunParseError} on an odd length.
 * @example
 * ```ts
 * import { createMessage, getUnknownAttributes } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(getUnknownAttributes(createMessage(1, 3)), undefined);
 * ```
 */
export function getUnknownAttributes(msg: StunMessage): number[] | undefined {
  const v = getAttribute(msg, StunAttr.UNKNOWN_ATTRIBUTES);
  if (!v) return undefined;
  if (v.length & 1) throw new StunParseError("Cannot decode UNKNOWN-ATTRIBUTES: odd length", 0);
  const out: number[] = [];
  for (let i = 0; i < v.length; i += 2) out.push((v[i]! << 8) | v[i + 1]!);
  return out;
}

// === PASSWORD-ALGORITHMS and PASSWORD-ALGORITHM (RFC 8489 §14.11, §14.12) ===

function encodeAlgorithms(list: AlgorithmEntry[]): Uint8Array {
  const n = list.reduce((s, a) => s + 4 + pad4(a.parameters.length), 0);
  const out = new Uint8Array(n);
  let off = 0;
  for (const a of list) {
    out[off] = a.algorithm >> 8, out[off + 1] = a.algorithm & 0xff;
    out[off + 2] = a.parameters.length >> 8, out[off + 3] = a.parameters.length & 0xff;
    out.set(a.parameters, off + 4);
    off += 4 + pad4(a.parameters.length);
  }
  return out;
}

function decodeAlgorithms(v: Uint8Array, what: string): AlgorithmEntry[] {
  const out: AlgorithmEntry[] = [];
  for (let off = 0; off < v.length;) {
    if (off + 4 > v.length) throw new StunParseError(`Cannot decode ${what}: truncated entry`, off);
    const len = (v[off + 2]! << 8) | v[off + 3]!;
    if (off + 4 + len > v.length) {
      throw new StunParseError(`Cannot decode ${what}: parameters overrun`, off);
    }
    out.push({
      algorithm: (v[off]! << 8) | v[off + 1]!,
      parameters: v.subarray(off + 4, off + 4 + len),
    });
    off += 4 + pad4(len);
  }
  return out;
}

/**
 * Builds PASSWORD-ALGORITHMS (a list) or PASSWORD-ALGORITHM (one entry).
 *
 * @param type {@linkcode StunAttr.PASSWORD_ALGORITHMS} or {@linkcode StunAttr.PASSWORD_ALGORITHM}.
 * @param algorithms Algorithm numbers, in preference order.
 * @returns The attribute.
 * @example
 * ```ts
 * import { algorithmsAttribute, PasswordAlgorithm, StunAttr } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual } from "node:assert/strict";
 * const a = algorithmsAttribute(StunAttr.PASSWORD_ALGORITHMS, [PasswordAlgorithm.SHA256, PasswordAlgorithm.MD5]);
 * deepEqual([...a.value], [0, 2, 0, 0, 0, 1, 0, 0]);
 * ```
 */
// @implements RFC8489 §14.11, §14.12 (both new in RFC 8489)
export function algorithmsAttribute(type: number, algorithms: number[]): StunAttribute {
  return {
    type,
    value: encodeAlgorithms(
      algorithms.map((algorithm) => ({ algorithm, parameters: new Uint8Array() })),
    ),
  };
}

/**
 * Reads PASSWORD-ALGORITHMS or PASSWORD-ALGORITHM.
 *
 * @param msg The message.
 * @param type {@linkcode StunAttr.PASSWORD_ALGORITHMS} or {@linkcode StunAttr.PASSWORD_ALGORITHM}.
 * @returns The entries, or `undefined` when absent.
 * @throws {StunParseError} when malformed.
 * @example
 * ```ts
 * import { algorithmsAttribute, createMessage, getAlgorithms, StunAttr } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const msg = createMessage(1, 0, [algorithmsAttribute(StunAttr.PASSWORD_ALGORITHM, [2])]);
 * equal(getAlgorithms(msg, StunAttr.PASSWORD_ALGORITHM)?.[0]?.algorithm, 2);
 * ```
 */
export function getAlgorithms(msg: StunMessage, type: number): AlgorithmEntry[] | undefined {
  const v = getAttribute(msg, type);
  return v ? decodeAlgorithms(v, ATTR_NAMES.get(type) ?? "algorithms") : undefined;
}

// === Human-readable view (for logs and notebooks) ===

/**
 * Describes a message as a plain object with attribute names and decoded values.
 *
 * @param msg The message.
 * @returns `{ method, class, transactionId, attributes: [{ name, value }] }` with hex for opaque values.
 * @example
 * ```ts
 * import { createMessage, describeStun, StunAttr, textAttribute } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const d = describeStun(createMessage(1, 0, [textAttribute(StunAttr.SOFTWARE, "x")]));
 * equal(d.attributes[0]?.name, "SOFTWARE");
 * equal(d.attributes[0]?.value, "x");
 * ```
 */
export function describeStun(msg: StunMessage): {
  method: string;
  class: string;
  transactionId: string;
  attributes: { name: string; value: unknown }[];
} {
  const method = Object.entries(StunMethod).find(([, v]) => v === msg.method)?.[0] ??
    `0x${msg.method.toString(16)}`;
  const cls = ["request", "indication", "success response", "error response"][msg.class]!;
  return {
    method,
    class: cls,
    transactionId: toHex(msg.transactionId),
    attributes: msg.attributes.map((a) => {
      const name = ATTR_NAMES.get(a.type) ?? TURN_NAMES[a.type] ??
        `0x${a.type.toString(16).padStart(4, "0")}`;
      const one = { ...msg, attributes: [a] };
      let value: unknown;
      try {
        if ([0x01, 0x02, 0x04, 0x05, 0x0b, 0x8023].includes(a.type)) {
          value = getAddress(one, a.type);
        } else if ([0x20, 0x12, 0x16].includes(a.type)) value = getAddress(one, a.type);
        else if (a.type in TEXT_LIMITS) value = getText(one, a.type);
        else if (a.type === StunAttr.ERROR_CODE) value = getErrorCode(one);
        else if (a.type === StunAttr.UNKNOWN_ATTRIBUTES) value = getUnknownAttributes(one);
        else value = toHex(a.value);
      } catch {
        value = toHex(a.value);
      }
      return { name, value };
    }),
  };
}

/** Names of the TURN attributes (RFC 8656 §18; RFC 5766 §14), for {@linkcode describeStun}. */
const TURN_NAMES: Record<number, string> = {
  0x000c: "CHANNEL-NUMBER",
  0x000d: "LIFETIME",
  0x0012: "XOR-PEER-ADDRESS",
  0x0013: "DATA",
  0x0016: "XOR-RELAYED-ADDRESS",
  0x0017: "REQUESTED-ADDRESS-FAMILY",
  0x0018: "EVEN-PORT",
  0x0019: "REQUESTED-TRANSPORT",
  0x001a: "DONT-FRAGMENT",
  0x0022: "RESERVATION-TOKEN",
};
