// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The RTMFP wire format (RFC 7016 §2): variable length unsigned integers, options and option
 * lists, socket addresses, the multiplex layer's scrambled session id, the plain packet header
 * and every chunk of §2.3. Everything here works on plain (decrypted) bytes; encryption is the
 * cryptography profile's job (`crypto.ts`).
 *
 * Decoders throw {@linkcode RtmfpParseError} for input that does not follow the syntax. As
 * §2.3 asks, a chunk whose payload does not parse does not spoil the packet:
 * {@linkcode decodePacket} keeps it as a `malformed` chunk (with the reason), and an
 * unrecognised chunk type as an `unknown` chunk, so that the receiver can ignore both and
 * every packet still re-encodes to the same bytes.
 *
 * @example Encode a packet with a Ping and read it back
 * ```ts
 * import { decodePacket, encodePacket } from "@rtclite/vnd/adobe/rtmfp";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const bytes = encodePacket({
 *   mode: 1, timestamp: 0x1234, chunks: [{ type: "ping", message: new Uint8Array([7]) }],
 * });
 * equal([...bytes].map((b) => b.toString(16).padStart(2, "0")).join(""), "091234010001" + "07");
 * deepEqual(decodePacket(bytes).chunks, [{ type: "ping", message: new Uint8Array([7]) }]);
 * ```
 *
 * @module
 */
import { ByteReader, ByteWriter } from "@rtclite/std/bytes";
import { ParseError } from "@rtclite/std/errors";

export { ByteReader, ByteWriter, ParseError };

/** Bytes that do not follow RTMFP's syntax: `offset` is where reading stopped. */
export class RtmfpParseError extends ParseError {}

/** A protocol or state failure: sending on a closed flow, a session that failed to open. */
export class RtmfpError extends Error {
  /**
   * Makes the error.
   *
   * @param message What failed.
   */
  constructor(message: string) {
    super(message);
    this.name = "RtmfpError";
  }
}

function reader(buf: Uint8Array, what: string, pos = 0, end = buf.length): ByteReader {
  return new ByteReader(buf, (m, at) => new RtmfpParseError(m, at), what, pos, end);
}

// === Variable Length Unsigned Integer (RFC 7016 §2.1.2) ===

/**
 * Reads a VLU. Values above `Number.MAX_SAFE_INTEGER` (2^53 - 1) are refused with an
 * {@linkcode RtmfpParseError}: no count in a session reaches them.
 *
 * @param r The reader, advanced past the VLU.
 * @param field The field's name, for the error message.
 * @returns The value.
 */
// @implements RFC7016 §2.1.2
export function readVlu(r: ByteReader, field: string): number {
  let value = 0;
  for (;;) {
    const b = r.u8(field);
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) r.fail(`${field} is larger than 2^53 - 1`, r.pos - 1);
    if (!(b & 0x80)) return value;
  }
}

/**
 * Writes `value` as a VLU: seven bits a byte, most significant first, the high bit set on every
 * byte but the last.
 *
 * @param w The writer.
 * @param value A non-negative safe integer.
 */
export function writeVlu(w: ByteWriter, value: number): void {
  const n = encodedVluLength(value);
  w.ensure(n);
  for (let i = n - 1; i >= 0; i--) {
    const digit = Math.floor(value / 128 ** i) % 128;
    w.u8(i ? digit | 0x80 : digit);
  }
}

/**
 * The number of bytes {@linkcode writeVlu} writes for `value`.
 *
 * @param value A non-negative safe integer.
 * @returns 1 for 0..127, 2 for 128..16383, and so on.
 */
export function encodedVluLength(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot encode VLU: ${value} is not a non-negative safe integer`);
  }
  let n = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

// === Option and Option List (RFC 7016 §2.1.3, §2.1.4) ===

/** An option: a type code and its value (§2.1.3). A Marker (empty option) ends a list. */
export interface RtmfpOption {
  /** The option's type. */
  type: number;
  /** The value bytes. */
  value: Uint8Array;
}

/**
 * Reads one option; returns `undefined` for a Marker (length 0).
 *
 * @param r The reader.
 * @returns The option, or `undefined` at a Marker.
 */
// @implements RFC7016 §2.1.3
export function readOption(r: ByteReader): RtmfpOption | undefined {
  const length = readVlu(r, "option length");
  if (length === 0) return undefined;
  r.need(length, "option");
  const end = r.pos + length;
  const inner = reader(r.buf, "RTMFP option", r.pos, end);
  const type = readVlu(inner, "option type");
  const value = inner.bytes(end - inner.pos, "option value");
  r.pos = end;
  return { type, value };
}

/**
 * Writes one (non-empty) option.
 *
 * @param w The writer.
 * @param option The option.
 */
export function writeOption(w: ByteWriter, option: RtmfpOption): void {
  writeVlu(w, encodedVluLength(option.type) + option.value.length);
  writeVlu(w, option.type);
  w.bytes(option.value);
}

/**
 * The number of bytes {@linkcode writeOption} writes.
 *
 * @param option The option.
 * @returns Its encoded length.
 */
export function encodedOptionLength(option: RtmfpOption): number {
  const payload = encodedVluLength(option.type) + option.value.length;
  return encodedVluLength(payload) + payload;
}

/**
 * Reads an option list: options up to and including the Marker.
 *
 * @param r The reader.
 * @returns The options, without the Marker.
 */
// @implements RFC7016 §2.1.4
export function readOptionList(r: ByteReader): RtmfpOption[] {
  const options: RtmfpOption[] = [];
  for (let o = readOption(r); o; o = readOption(r)) options.push(o);
  return options;
}

/**
 * Writes an option list and its Marker.
 *
 * @param w The writer.
 * @param options The options.
 */
export function writeOptionList(w: ByteWriter, options: readonly RtmfpOption[]): void {
  for (const o of options) writeOption(w, o);
  w.u8(0);
}

/**
 * Decodes a whole buffer holding one option list (such as an Endpoint Discriminator or the
 * Flash profile's certificates, which are option lists without the Marker: a missing Marker at
 * the end is accepted).
 *
 * @param bytes The bytes.
 * @returns The options.
 */
export function decodeOptions(bytes: Uint8Array): RtmfpOption[] {
  const r = reader(bytes, "RTMFP option list");
  const options: RtmfpOption[] = [];
  while (r.left > 0) {
    const o = readOption(r);
    if (!o) break;
    options.push(o);
  }
  return options;
}

/**
 * Encodes options back to back, without a Marker (the inverse of {@linkcode decodeOptions}).
 *
 * @param options The options.
 * @returns The bytes.
 */
export function encodeOptions(options: readonly RtmfpOption[]): Uint8Array {
  const w = new ByteWriter(options.reduce((n, o) => n + encodedOptionLength(o), 0));
  for (const o of options) writeOption(w, o);
  return w.finish();
}

// === Internet Socket Address (RFC 7016 §2.1.5) ===

/** Where an address came from (§2.1.5 `origin`). */
export const AddressOrigin = {
  /** Unknown, unspecified or other. */
  unknown: 0,
  /** A local interface address reported by its owner. */
  local: 1,
  /** The source address a packet was seen from (reflexive). */
  observed: 2,
  /** A relay, proxy or introducer. */
  relay: 3,
} as const;

/** An Internet socket address with its origin tag (§2.1.5). */
export interface RtmfpAddress {
  /** A dotted IPv4 address or an IPv6 address in text form. */
  address: string;
  /** UDP port. */
  port: number;
  /** Origin tag, 0..3 ({@linkcode AddressOrigin}). */
  origin: number;
}

function ipv4Bytes(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && +p < 256)) return;
  return new Uint8Array(parts.map(Number));
}

function ipv6Bytes(s: string): Uint8Array | undefined {
  const halves = s.split("::");
  if (halves.length > 2) return;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]!), tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return;
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = parseInt(g, 16) >> 8;
    out[2 * i + 1] = parseInt(g, 16) & 0xff;
  });
  return out;
}

function ipv6Text(b: Uint8Array): string {
  const g = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && g[j] === "0") j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
  }
  if (best < 0) return g.join(":");
  return `${g.slice(0, best).join(":")}::${g.slice(best + bestLen).join(":")}`;
}

/**
 * Reads an address.
 *
 * @param r The reader.
 * @returns The address.
 */
// @implements RFC7016 §2.1.5
export function readAddress(r: ByteReader): RtmfpAddress {
  const flags = r.u8("address flags");
  const inet6 = (flags & 0x80) !== 0;
  const origin = flags & 0x03;
  const ip = r.sub(inet6 ? 16 : 4, "IP address");
  const address = inet6 ? ipv6Text(ip) : ip.join(".");
  return { address, port: r.u16("port"), origin };
}

/**
 * Writes an address.
 *
 * @param w The writer.
 * @param a The address; `address` must be IPv4 dotted or IPv6 text (`TypeError` otherwise).
 */
export function writeAddress(w: ByteWriter, a: RtmfpAddress): void {
  const v4 = ipv4Bytes(a.address), v6 = v4 ? undefined : ipv6Bytes(a.address);
  if (!v4 && !v6) throw new TypeError(`Cannot encode RTMFP address: ${a.address} is not an IP`);
  if (!Number.isInteger(a.origin) || a.origin < 0 || a.origin > 3) {
    throw new RangeError(`Cannot encode RTMFP address: origin ${a.origin} is not 0..3`);
  }
  w.u8((v6 ? 0x80 : 0) | a.origin);
  w.bytes(v4 ?? v6!);
  w.u16(a.port);
}

/**
 * The number of bytes {@linkcode writeAddress} writes.
 *
 * @param a The address.
 * @returns 7 for IPv4, 19 for IPv6.
 */
export function encodedAddressLength(a: RtmfpAddress): number {
  return a.address.includes(":") ? 19 : 7;
}

// === Multiplex: the scrambled session id (RFC 7016 §2.2.2) ===

function first32Xor(encrypted: Uint8Array): number {
  const w = new Uint8Array(8);
  w.set(encrypted.subarray(0, 8));
  const v = new DataView(w.buffer);
  return (v.getUint32(0) ^ v.getUint32(4)) >>> 0;
}

/**
 * Frames an encrypted packet for the wire: the session id scrambled with the first two 32-bit
 * words of the encrypted packet, then the encrypted packet.
 *
 * @param sessionId The session id the receiver asked for (0 for startup).
 * @param encrypted The encrypted packet.
 * @returns The datagram.
 */
// @implements RFC7016 §2.2.2
export function encodeMultiplex(sessionId: number, encrypted: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + encrypted.length);
  new DataView(out.buffer).setUint32(0, (sessionId ^ first32Xor(encrypted)) >>> 0);
  out.set(encrypted, 4);
  return out;
}

/** A datagram split into its session id and encrypted packet. */
export interface RtmfpMultiplex {
  /** The unscrambled session id. */
  sessionId: number;
  /** The encrypted packet (a view on the datagram). */
  encrypted: Uint8Array;
}

/**
 * Splits a datagram into the session id (unscrambled) and the encrypted packet.
 *
 * @param datagram The received datagram.
 * @returns The session id and encrypted packet.
 */
export function decodeMultiplex(datagram: Uint8Array): RtmfpMultiplex {
  const r = reader(datagram, "RTMFP multiplex");
  const ssid = r.u32("scrambled session ID");
  const encrypted = datagram.subarray(4);
  return { sessionId: (ssid ^ first32Xor(encrypted)) >>> 0, encrypted };
}

// === Chunks (RFC 7016 §2.3) ===

/** Chunk type codes (§2.3). */
export const ChunkType = {
  fragment: 0x7f,
  ihello: 0x30,
  fihello: 0x0f,
  rhello: 0x70,
  redirect: 0x71,
  cookieChange: 0x79,
  iikeying: 0x38,
  rikeying: 0x78,
  ping: 0x01,
  pingReply: 0x41,
  userData: 0x10,
  nextUserData: 0x11,
  bitmapAck: 0x50,
  rangeAck: 0x51,
  bufferProbe: 0x18,
  flowException: 0x5e,
  close: 0x0c,
  closeAck: 0x4c,
} as const;

/** The name of a defined chunk type. */
export type ChunkTypeName = keyof typeof ChunkType;

/** Packet Fragment (§2.3.1): a segment of a plain packet larger than the path MTU. */
export interface FragmentChunk {
  /** Chunk type. */
  type: "fragment";
  /** More fragments of this packet follow. */
  more: boolean;
  /** Identifies the segmented packet. */
  packetId: number;
  /** Index of this fragment, from 0. */
  fragmentNum: number;
  /** The segment's bytes (never empty). */
  data: Uint8Array;
}

/** Initiator Hello (§2.3.2). */
export interface IHelloChunk {
  /** Chunk type. */
  type: "ihello";
  /** Endpoint Discriminator: whom the initiator wants to reach. */
  epd: Uint8Array;
  /** Returned in the RHello's tagEcho. */
  tag: Uint8Array;
}

/** Forwarded Initiator Hello (§2.3.3), sent by a Forwarder inside an established session. */
export interface FIHelloChunk {
  /** Chunk type. */
  type: "fihello";
  /** The original Endpoint Discriminator. */
  epd: Uint8Array;
  /** Where the Forwarder saw the IHello come from: reply there. */
  replyAddress: RtmfpAddress;
  /** The original tag. */
  tag: Uint8Array;
}

/** Responder Hello (§2.3.4). */
export interface RHelloChunk {
  /** Chunk type. */
  type: "rhello";
  /** The IHello's tag. */
  tagEcho: Uint8Array;
  /** Responder state that authenticates the coming IIKeying. */
  cookie: Uint8Array;
  /** The responder's credentials (profile-defined). */
  certificate: Uint8Array;
}

/** Responder Redirect (§2.3.5); no addresses means an Implied Redirect to the sender. */
export interface RedirectChunk {
  /** Chunk type. */
  type: "redirect";
  /** The IHello's tag. */
  tagEcho: Uint8Array;
  /** Addresses to add to the opening session's set. */
  addresses: RtmfpAddress[];
}

/** RHello Cookie Change (§2.3.6). */
export interface CookieChangeChunk {
  /** Chunk type. */
  type: "cookieChange";
  /** The cookie the IIKeying echoed. */
  oldCookie: Uint8Array;
  /** The cookie to use instead. */
  newCookie: Uint8Array;
}

/** Initiator Initial Keying (§2.3.7). */
export interface IIKeyingChunk {
  /** Chunk type. */
  type: "iikeying";
  /** The session id the responder is to send with. */
  initiatorSessionId: number;
  /** The RHello's cookie. */
  cookieEcho: Uint8Array;
  /** The initiator's credentials. */
  certificate: Uint8Array;
  /** Session Key Initiator Component. */
  skic: Uint8Array;
  /** Signature of the fields above (profile-defined). */
  signature: Uint8Array;
}

/** Responder Initial Keying (§2.3.8). */
export interface RIKeyingChunk {
  /** Chunk type. */
  type: "rikeying";
  /** The session id the initiator is to send with. */
  responderSessionId: number;
  /** Session Key Responder Component. */
  skrc: Uint8Array;
  /** Signature (profile-defined). */
  signature: Uint8Array;
}

/** Ping (§2.3.9). */
export interface PingChunk {
  /** Chunk type. */
  type: "ping";
  /** Returned in the Ping Reply. */
  message: Uint8Array;
}

/** Ping Reply (§2.3.10). */
export interface PingReplyChunk {
  /** Chunk type. */
  type: "pingReply";
  /** The Ping's message. */
  message: Uint8Array;
}

/** How a fragment assembles into a message: 0 whole, 1 begin, 2 end, 3 middle. */
export type FragmentControl = 0 | 1 | 2 | 3;

/** Fragment control values (§2.3.11 `fragmentControl`). */
export const Fragment = { whole: 0, begin: 1, end: 2, middle: 3 } as const;

/** User Data (§2.3.11): one fragment of a flow's message. */
export interface UserDataChunk {
  /** Chunk type. */
  type: "userData";
  /** Flow id. */
  flowId: number;
  /** This fragment's sequence number (> 0). */
  sequenceNumber: number;
  /** sequenceNumber minus the Forward Sequence Number. */
  fsnOffset: number;
  /** Fragment control. */
  fragment: FragmentControl;
  /** The sender abandoned this sequence number: ignore `data`. */
  abandon: boolean;
  /** The flow's last sequence number. */
  final: boolean;
  /** Options (present when not `undefined`, even if empty). */
  options?: RtmfpOption[] | undefined;
  /** The fragment's bytes. */
  data: Uint8Array;
}

/** Next User Data (§2.3.12): User Data for the next sequence number of the preceding chunk's flow. */
export interface NextUserDataChunk {
  /** Chunk type. */
  type: "nextUserData";
  /** Fragment control. */
  fragment: FragmentControl;
  /** Abandoned. */
  abandon: boolean;
  /** Last sequence number of the flow. */
  final: boolean;
  /** Options (present when not `undefined`). */
  options?: RtmfpOption[] | undefined;
  /** The fragment's bytes. */
  data: Uint8Array;
}

/** Data Acknowledgement Bitmap (§2.3.13). */
export interface BitmapAckChunk {
  /** Chunk type. */
  type: "bitmapAck";
  /** Flow id. */
  flowId: number;
  /** Receive buffer available, in 1024-byte blocks. */
  bufferBlocksAvailable: number;
  /** Every sequence number up to this one is received. */
  cumulativeAck: number;
  /** Bit field: bit 0 of byte 0 is cumulativeAck + 2, bit 1 is + 3, and so on. */
  bitmap: Uint8Array;
}

/** Data Acknowledgement Ranges (§2.3.14). */
export interface RangeAckChunk {
  /** Chunk type. */
  type: "rangeAck";
  /** Flow id. */
  flowId: number;
  /** Receive buffer available, in 1024-byte blocks. */
  bufferBlocksAvailable: number;
  /** Every sequence number up to this one is received. */
  cumulativeAck: number;
  /** Received ranges after the cumulative ack, increasing, each `[from, to]` inclusive, with a hole before each. */
  ranges: [number, number][];
}

/** Buffer Probe (§2.3.15). */
export interface BufferProbeChunk {
  /** Chunk type. */
  type: "bufferProbe";
  /** Flow id. */
  flowId: number;
}

/** Flow Exception Report (§2.3.16). */
export interface FlowExceptionChunk {
  /** Chunk type. */
  type: "flowException";
  /** Flow id. */
  flowId: number;
  /** Application-defined code (0 when rejected automatically). */
  exception: number;
}

/** Session Close Request (§2.3.17). */
export interface CloseChunk {
  /** Chunk type. */
  type: "close";
}

/** Session Close Acknowledgement (§2.3.18). */
export interface CloseAckChunk {
  /** Chunk type. */
  type: "closeAck";
}

/** Ignore/Padding chunk (type 0x00 or 0xff, §2.3). */
export interface PaddingChunk {
  /** Chunk type. */
  type: "padding";
  /** 0x00 or 0xff. */
  code: 0x00 | 0xff;
  /** Payload (ignored). */
  payload: Uint8Array;
}

/** A chunk of a type this implementation does not know: a receiver MUST ignore it (§2.3). */
export interface UnknownChunk {
  /** Chunk type. */
  type: "unknown";
  /** The chunk type code. */
  code: number;
  /** The raw payload. */
  payload: Uint8Array;
}

/** A chunk of a known type whose payload does not parse: ignored as though absent (§2.3). */
export interface MalformedChunk {
  /** Chunk type. */
  type: "malformed";
  /** The chunk type code. */
  code: number;
  /** The raw payload. */
  payload: Uint8Array;
  /** Why it did not parse. */
  reason: string;
}

/** Any chunk. */
export type Chunk =
  | FragmentChunk
  | IHelloChunk
  | FIHelloChunk
  | RHelloChunk
  | RedirectChunk
  | CookieChangeChunk
  | IIKeyingChunk
  | RIKeyingChunk
  | PingChunk
  | PingReplyChunk
  | UserDataChunk
  | NextUserDataChunk
  | BitmapAckChunk
  | RangeAckChunk
  | BufferProbeChunk
  | FlowExceptionChunk
  | CloseChunk
  | CloseAckChunk
  | PaddingChunk
  | UnknownChunk
  | MalformedChunk;

const STARTUP_CHUNKS = new Set([
  "ihello",
  "rhello",
  "redirect",
  "cookieChange",
  "iikeying",
  "rikeying",
]);

/**
 * Whether a chunk is a session startup chunk (only allowed in mode 3 packets, §2.2.4).
 *
 * @param chunk The chunk.
 * @returns `true` for IHello, RHello, Redirect, Cookie Change, IIKeying and RIKeying.
 */
export function isStartupChunk(chunk: Chunk): boolean {
  return STARTUP_CHUNKS.has(chunk.type);
}

function readFlags(b: number): { fragment: FragmentControl; abandon: boolean; final: boolean } {
  return { fragment: ((b >> 4) & 3) as FragmentControl, abandon: !!(b & 2), final: !!(b & 1) };
}

function userFlags(c: UserDataChunk | NextUserDataChunk): number {
  return (c.options ? 0x80 : 0) | (c.fragment << 4) | (c.abandon ? 2 : 0) | (c.final ? 1 : 0);
}

/**
 * Decodes a chunk's payload given its type code. Unknown codes give an `unknown` chunk.
 *
 * @param code The chunk type code.
 * @param payload The chunk payload.
 * @returns The chunk.
 */
export function decodeChunkPayload(code: number, payload: Uint8Array): Chunk {
  const r = reader(payload, `RTMFP chunk 0x${code.toString(16).padStart(2, "0")}`);
  const rest = () => r.bytes(r.left, "rest");
  const lengthed = (field: string) => r.bytes(readVlu(r, `${field} length`), field);
  let chunk: Chunk;
  switch (code) {
    // @implements RFC7016 §2.3.1
    case ChunkType.fragment: {
      const more = (r.u8("flags") & 0x80) !== 0;
      const packetId = readVlu(r, "packetID");
      const fragmentNum = readVlu(r, "fragmentNum");
      if (r.left === 0) r.fail("packetFragment is empty");
      chunk = { type: "fragment", more, packetId, fragmentNum, data: rest() };
      break;
    }
    // @implements RFC7016 §2.3.2
    case ChunkType.ihello:
      chunk = { type: "ihello", epd: lengthed("endpointDiscriminator"), tag: rest() };
      break;
    // @implements RFC7016 §2.3.3
    case ChunkType.fihello: {
      const epd = lengthed("endpointDiscriminator");
      chunk = { type: "fihello", epd, replyAddress: readAddress(r), tag: rest() };
      break;
    }
    // @implements RFC7016 §2.3.4
    case ChunkType.rhello: {
      const tagEcho = lengthed("tagEcho");
      const cookie = lengthed("cookie");
      chunk = { type: "rhello", tagEcho, cookie, certificate: rest() };
      break;
    }
    // @implements RFC7016 §2.3.5
    case ChunkType.redirect: {
      const tagEcho = lengthed("tagEcho");
      const addresses: RtmfpAddress[] = [];
      while (r.left > 0) addresses.push(readAddress(r));
      chunk = { type: "redirect", tagEcho, addresses };
      break;
    }
    // @implements RFC7016 §2.3.6
    case ChunkType.cookieChange: {
      const oldCookie = lengthed("oldCookie");
      chunk = { type: "cookieChange", oldCookie, newCookie: rest() };
      break;
    }
    // @implements RFC7016 §2.3.7
    case ChunkType.iikeying: {
      const initiatorSessionId = r.u32("initiatorSessionID");
      const cookieEcho = lengthed("cookieEcho");
      const certificate = lengthed("initiatorCertificate");
      const skic = lengthed("sessionKeyInitiatorComponent");
      chunk = {
        type: "iikeying",
        initiatorSessionId,
        cookieEcho,
        certificate,
        skic,
        signature: rest(),
      };
      break;
    }
    // @implements RFC7016 §2.3.8
    case ChunkType.rikeying: {
      const responderSessionId = r.u32("responderSessionID");
      const skrc = lengthed("sessionKeyResponderComponent");
      chunk = { type: "rikeying", responderSessionId, skrc, signature: rest() };
      break;
    }
    // @implements RFC7016 §2.3.9
    case ChunkType.ping:
      chunk = { type: "ping", message: rest() };
      break;
    // @implements RFC7016 §2.3.10
    case ChunkType.pingReply:
      chunk = { type: "pingReply", message: rest() };
      break;
    // @implements RFC7016 §2.3.11
    case ChunkType.userData: {
      const b = r.u8("flags");
      const flowId = readVlu(r, "flowID");
      const sequenceNumber = readVlu(r, "sequenceNumber");
      const fsnOffset = readVlu(r, "fsnOffset");
      if (fsnOffset > sequenceNumber) r.fail("fsnOffset is greater than sequenceNumber");
      const options = b & 0x80 ? readOptionList(r) : undefined;
      chunk = {
        type: "userData",
        flowId,
        sequenceNumber,
        fsnOffset,
        ...readFlags(b),
        options,
        data: rest(),
      };
      break;
    }
    // @implements RFC7016 §2.3.12
    case ChunkType.nextUserData: {
      const b = r.u8("flags");
      const options = b & 0x80 ? readOptionList(r) : undefined;
      chunk = { type: "nextUserData", ...readFlags(b), options, data: rest() };
      break;
    }
    // @implements RFC7016 §2.3.13
    case ChunkType.bitmapAck: {
      const flowId = readVlu(r, "flowID");
      const bufferBlocksAvailable = readVlu(r, "bufferBlocksAvailable");
      const cumulativeAck = readVlu(r, "cumulativeAck");
      chunk = { type: "bitmapAck", flowId, bufferBlocksAvailable, cumulativeAck, bitmap: rest() };
      break;
    }
    // @implements RFC7016 §2.3.14
    case ChunkType.rangeAck: {
      const flowId = readVlu(r, "flowID");
      const bufferBlocksAvailable = readVlu(r, "bufferBlocksAvailable");
      const cumulativeAck = readVlu(r, "cumulativeAck");
      const ranges: [number, number][] = [];
      let cursor = cumulativeAck;
      while (r.left > 0) {
        // A truncated last range is ignored, the ranges before it kept (§2.3.14, Figure 6).
        let holes: number, received: number;
        try {
          holes = readVlu(r, "#holes-1");
          received = readVlu(r, "#recv-1");
        } catch (e) {
          if (e instanceof RtmfpParseError) break;
          throw e;
        }
        const from = cursor + 1 + holes + 1, to = from + received;
        if (!Number.isSafeInteger(to)) r.fail("range is larger than 2^53 - 1");
        ranges.push([from, to]);
        cursor = to;
      }
      chunk = { type: "rangeAck", flowId, bufferBlocksAvailable, cumulativeAck, ranges };
      break;
    }
    // @implements RFC7016 §2.3.15
    case ChunkType.bufferProbe:
      chunk = { type: "bufferProbe", flowId: readVlu(r, "flowID") };
      break;
    // @implements RFC7016 §2.3.16
    case ChunkType.flowException: {
      const flowId = readVlu(r, "flowID");
      chunk = { type: "flowException", flowId, exception: readVlu(r, "exception") };
      break;
    }
    // @implements RFC7016 §2.3.17
    case ChunkType.close:
      chunk = { type: "close" };
      break;
    // @implements RFC7016 §2.3.18
    case ChunkType.closeAck:
      chunk = { type: "closeAck" };
      break;
    // @implements RFC7016 §2.3 ¶4
    case 0x00:
    case 0xff:
      return { type: "padding", code, payload: payload.slice() };
    default:
      return { type: "unknown", code, payload: payload.slice() };
  }
  if (r.left > 0) r.fail(`${r.left} bytes after the last field`);
  return chunk;
}

function writeChunkPayload(w: ByteWriter, c: Chunk): void {
  const lengthed = (b: Uint8Array) => {
    writeVlu(w, b.length);
    w.bytes(b);
  };
  switch (c.type) {
    case "fragment":
      if (c.data.length === 0) throw new RangeError("Cannot encode Packet Fragment: empty data");
      w.u8(c.more ? 0x80 : 0);
      writeVlu(w, c.packetId);
      writeVlu(w, c.fragmentNum);
      w.bytes(c.data);
      return;
    case "ihello":
      lengthed(c.epd);
      w.bytes(c.tag);
      return;
    case "fihello":
      lengthed(c.epd);
      writeAddress(w, c.replyAddress);
      w.bytes(c.tag);
      return;
    case "rhello":
      lengthed(c.tagEcho);
      lengthed(c.cookie);
      w.bytes(c.certificate);
      return;
    case "redirect":
      lengthed(c.tagEcho);
      for (const a of c.addresses) writeAddress(w, a);
      return;
    case "cookieChange":
      lengthed(c.oldCookie);
      w.bytes(c.newCookie);
      return;
    case "iikeying":
      w.u32(c.initiatorSessionId);
      lengthed(c.cookieEcho);
      lengthed(c.certificate);
      lengthed(c.skic);
      w.bytes(c.signature);
      return;
    case "rikeying":
      w.u32(c.responderSessionId);
      lengthed(c.skrc);
      w.bytes(c.signature);
      return;
    case "ping":
    case "pingReply":
      w.bytes(c.message);
      return;
    case "userData":
      if (c.fsnOffset > c.sequenceNumber) {
        throw new RangeError("Cannot encode User Data: fsnOffset is greater than sequenceNumber");
      }
      w.u8(userFlags(c));
      writeVlu(w, c.flowId);
      writeVlu(w, c.sequenceNumber);
      writeVlu(w, c.fsnOffset);
      if (c.options) writeOptionList(w, c.options);
      w.bytes(c.data);
      return;
    case "nextUserData":
      w.u8(userFlags(c));
      if (c.options) writeOptionList(w, c.options);
      w.bytes(c.data);
      return;
    case "bitmapAck":
      writeVlu(w, c.flowId);
      writeVlu(w, c.bufferBlocksAvailable);
      writeVlu(w, c.cumulativeAck);
      w.bytes(c.bitmap);
      return;
    case "rangeAck": {
      writeVlu(w, c.flowId);
      writeVlu(w, c.bufferBlocksAvailable);
      writeVlu(w, c.cumulativeAck);
      let cursor = c.cumulativeAck;
      for (const [from, to] of c.ranges) {
        if (from < cursor + 2 || to < from) {
          throw new RangeError(`Cannot encode Range Ack: range ${from}-${to} after ${cursor}`);
        }
        writeVlu(w, from - cursor - 2);
        writeVlu(w, to - from);
        cursor = to;
      }
      return;
    }
    case "bufferProbe":
      writeVlu(w, c.flowId);
      return;
    case "flowException":
      writeVlu(w, c.flowId);
      writeVlu(w, c.exception);
      return;
    case "close":
    case "closeAck":
      return;
    case "padding":
    case "unknown":
    case "malformed":
      w.bytes(c.payload);
      return;
  }
}

function chunkCode(c: Chunk): number {
  return c.type === "padding" || c.type === "unknown" || c.type === "malformed"
    ? c.code
    : ChunkType[c.type];
}

/**
 * Encodes a chunk's payload (without the 3-byte chunk header).
 *
 * @param chunk The chunk.
 * @returns The payload bytes.
 */
export function encodeChunkPayload(chunk: Chunk): Uint8Array {
  const w = new ByteWriter(64);
  writeChunkPayload(w, chunk);
  return w.finish();
}

/**
 * Encodes a chunk with its header (type, 16-bit length).
 *
 * @param chunk The chunk.
 * @returns The bytes.
 */
export function encodeChunk(chunk: Chunk): Uint8Array {
  const w = new ByteWriter(64);
  writeChunk(w, chunk);
  return w.finish();
}

/**
 * Encodes a chunk into `buf` at `offset`.
 *
 * @param chunk The chunk.
 * @param buf The destination.
 * @param offset Where to start.
 * @returns The number of bytes written (`RangeError` if `buf` is too short).
 */
export function encodeChunkInto(chunk: Chunk, buf: Uint8Array, offset = 0): number {
  const bytes = encodeChunk(chunk);
  if (offset + bytes.length > buf.length) {
    throw new RangeError(`Cannot encode chunk: needs ${bytes.length} bytes at offset ${offset}`);
  }
  buf.set(bytes, offset);
  return bytes.length;
}

/**
 * The number of bytes {@linkcode encodeChunk} writes.
 *
 * @param chunk The chunk.
 * @returns Header (3) plus payload length.
 */
export function encodedChunkLength(chunk: Chunk): number {
  return 3 + encodeChunkPayload(chunk).length;
}

// @implements RFC7016 §2.3 ¶1
function writeChunk(w: ByteWriter, c: Chunk): void {
  const start = w.pos;
  w.u8(chunkCode(c));
  w.u16(0);
  writeChunkPayload(w, c);
  const length = w.pos - start - 3;
  if (length > 0xffff) throw new RangeError(`Cannot encode chunk: payload of ${length} bytes`);
  w.view.setUint16(start + 1, length);
}

/**
 * Decodes one chunk with its header; a payload that does not parse throws.
 *
 * @param bytes The chunk's bytes (header and payload, nothing after).
 * @returns The chunk.
 */
export function decodeChunk(bytes: Uint8Array): Chunk {
  const r = reader(bytes, "RTMFP chunk");
  const code = r.u8("chunkType");
  const length = r.u16("chunkLength");
  const payload = r.sub(length, "chunkPayload");
  if (r.left > 0) r.fail(`${r.left} bytes after the chunk`);
  return decodeChunkPayload(code, payload);
}

// === Packet (RFC 7016 §2.2.4) ===

/** Packet modes (§2.2.4 `mode`). */
export const PacketMode = { initiator: 1, responder: 2, startup: 3 } as const;

/** A plain RTMFP packet. */
export interface RtmfpPacket {
  /** Time Critical Forward Notification: real-time user data inside. */
  timeCritical?: boolean;
  /** Time Critical Reverse Notification. */
  timeCriticalReverse?: boolean;
  /** 1 initiator mark, 2 responder mark, 3 startup. */
  mode: 1 | 2 | 3;
  /** Low 16 bits of the sender's 250 Hz clock, when present. */
  timestamp?: number | undefined;
  /** Echo of the far end's timestamp, when present. */
  timestampEcho?: number | undefined;
  /** The chunks. */
  chunks: Chunk[];
}

/**
 * Decodes a plain packet. Trailing bytes that cannot hold a chunk are padding (§2.2.4); a chunk
 * whose payload does not parse is kept as `malformed` (§2.3).
 *
 * @param bytes The decrypted packet (after the profile's own framing, such as a checksum).
 * @returns The packet.
 */
// @implements RFC7016 §2.2.4
export function decodePacket(bytes: Uint8Array): RtmfpPacket {
  const r = reader(bytes, "RTMFP packet");
  const flags = r.u8("flags");
  const mode = flags & 3;
  // @implements RFC7016 §2.2.4 ¶17
  if (mode === 0) r.fail("packet mode 0 is forbidden", 0);
  const packet: RtmfpPacket = { mode: mode as 1 | 2 | 3, chunks: [] };
  if (flags & 0x80) packet.timeCritical = true;
  if (flags & 0x40) packet.timeCriticalReverse = true;
  if (flags & 0x08) packet.timestamp = r.u16("timestamp");
  if (flags & 0x04) packet.timestampEcho = r.u16("timestampEcho");
  while (r.left > 2) {
    const code = bytes[r.pos]!;
    const length = (bytes[r.pos + 1]! << 8) | bytes[r.pos + 2]!;
    if (r.left - 3 < length) break; // the rest is padding
    r.pos += 3;
    const payload = r.sub(length, "chunkPayload");
    try {
      packet.chunks.push(decodeChunkPayload(code, payload));
    } catch (e) {
      if (!(e instanceof RtmfpParseError)) throw e;
      packet.chunks.push({ type: "malformed", code, payload: payload.slice(), reason: e.message });
    }
  }
  return packet;
}

function writePacket(w: ByteWriter, p: RtmfpPacket): void {
  if (p.mode !== 1 && p.mode !== 2 && p.mode !== 3) {
    throw new RangeError(`Cannot encode RTMFP packet: mode ${p.mode} is not 1, 2 or 3`);
  }
  const ts = p.timestamp !== undefined, tse = p.timestampEcho !== undefined;
  w.u8(
    (p.timeCritical ? 0x80 : 0) | (p.timeCriticalReverse ? 0x40 : 0) | (ts ? 0x08 : 0) |
      (tse ? 0x04 : 0) | p.mode,
  );
  if (ts) w.u16(p.timestamp! & 0xffff);
  if (tse) w.u16(p.timestampEcho! & 0xffff);
  for (const c of p.chunks) writeChunk(w, c);
}

/**
 * Encodes a plain packet (without padding: the cryptography profile pads).
 *
 * @param packet The packet.
 * @returns The bytes.
 */
export function encodePacket(packet: RtmfpPacket): Uint8Array {
  const w = new ByteWriter(256);
  writePacket(w, packet);
  return w.finish();
}

/**
 * Encodes a plain packet into `buf` at `offset`.
 *
 * @param packet The packet.
 * @param buf The destination.
 * @param offset Where to start.
 * @returns The number of bytes written.
 */
export function encodePacketInto(packet: RtmfpPacket, buf: Uint8Array, offset = 0): number {
  const bytes = encodePacket(packet);
  if (offset + bytes.length > buf.length) {
    throw new RangeError(`Cannot encode RTMFP packet: needs ${bytes.length} bytes at ${offset}`);
  }
  buf.set(bytes, offset);
  return bytes.length;
}

/**
 * The number of bytes {@linkcode encodePacket} writes.
 *
 * @param packet The packet.
 * @returns The length.
 */
export function encodedPacketLength(packet: RtmfpPacket): number {
  return 1 + (packet.timestamp !== undefined ? 2 : 0) +
    (packet.timestampEcho !== undefined ? 2 : 0) +
    packet.chunks.reduce((n, c) => n + encodedChunkLength(c), 0);
}

// === Acknowledgement helpers (RFC 7016 §2.3.13, §2.3.14) ===

/**
 * Whether a Bitmap or Range Ack acknowledges a sequence number, without listing them (a range
 * can be huge).
 *
 * @param chunk The acknowledgement.
 * @param sn A sequence number.
 * @returns `true` when `sn` is at most the cumulative ack or in a range or set bit above it.
 *
 * @example Figure 4's Bitmap Ack
 * ```ts
 * import { acknowledges, decodeChunk, type BitmapAckChunk } from "@rtclite/vnd/adobe/rtmfp";
 * import { deepEqual } from "node:assert/strict";
 *
 * const ack = decodeChunk(new Uint8Array([0x50, 0, 5, 5, 0x7f, 0x10, 0x79, 0x06])) as BitmapAckChunk;
 * deepEqual([16, 17, 18, 19, 28, 29].map((sn) => acknowledges(ack, sn)), [true, false, true, false, true, false]);
 * ```
 */
export function acknowledges(chunk: BitmapAckChunk | RangeAckChunk, sn: number): boolean {
  if (sn <= chunk.cumulativeAck) return true;
  if (chunk.type === "rangeAck") return chunk.ranges.some(([from, to]) => sn >= from && sn <= to);
  const k = sn - chunk.cumulativeAck - 2;
  return k >= 0 && k < chunk.bitmap.length * 8 && (chunk.bitmap[k >> 3]! & (1 << (k & 7))) !== 0;
}

/**
 * The sequence numbers above the cumulative ack that a Bitmap or Range Ack acknowledges.
 *
 * @param chunk The acknowledgement.
 * @returns The sequence numbers, increasing (0..cumulativeAck are acknowledged as well).
 */
// @implements RFC7016 §2.3.13
export function ackedAbove(chunk: BitmapAckChunk | RangeAckChunk): number[] {
  const out: number[] = [];
  if (chunk.type === "rangeAck") {
    for (const [from, to] of chunk.ranges) for (let s = from; s <= to; s++) out.push(s);
    return out;
  }
  let cursor = chunk.cumulativeAck + 1;
  for (const byte of chunk.bitmap) {
    for (let bit = 1; bit <= 8; bit++) if (byte & (1 << (bit - 1))) out.push(cursor + bit);
    cursor += 8;
  }
  return out;
}

// === Tracing ===

const hexOf = (b: Uint8Array, max = 16) =>
  Array.from(b.subarray(0, max), (x) => x.toString(16).padStart(2, "0")).join("") +
  (b.length > max ? `..(${b.length})` : "");

/**
 * One line per chunk describing a packet, for `--trace` output and captures a reader can compare
 * with another implementation's.
 *
 * @param packet The packet.
 * @returns Text such as `mode=3 ts=1234 | IHello epd=0a0a72.. tag=00112233`.
 *
 * @example
 * ```ts
 * import { describePacket } from "@rtclite/vnd/adobe/rtmfp";
 * import { equal } from "node:assert/strict";
 *
 * equal(
 *   describePacket({ mode: 1, timestamp: 7, chunks: [{ type: "bufferProbe", flowId: 2 }] }),
 *   "mode=1 ts=7 | bufferProbe flowId=2",
 * );
 * ```
 */
export function describePacket(packet: RtmfpPacket): string {
  const head = [`mode=${packet.mode}`];
  if (packet.timeCritical) head.push("TC");
  if (packet.timeCriticalReverse) head.push("TCR");
  if (packet.timestamp !== undefined) head.push(`ts=${packet.timestamp}`);
  if (packet.timestampEcho !== undefined) head.push(`echo=${packet.timestampEcho}`);
  const chunks = packet.chunks.map((c) => {
    const fields = Object.entries(c).filter(([k]) => k !== "type").map(([k, v]) => {
      if (v instanceof Uint8Array) return `${k}=${hexOf(v)}`;
      if (Array.isArray(v)) {
        return `${k}=[${
          v.map((x) =>
            Array.isArray(x)
              ? x.join("-")
              : typeof x === "object" && x && "port" in x
              ? `${(x as RtmfpAddress).address}:${(x as RtmfpAddress).port}`
              : typeof x === "object" && x && "type" in x
              ? `${(x as RtmfpOption).type}:${hexOf((x as RtmfpOption).value)}`
              : String(x)
          ).join(",")
        }]`;
      }
      if (typeof v === "object" && v && "port" in v) return `${k}=${v.address}:${v.port}`;
      return v === undefined ? "" : `${k}=${v}`;
    }).filter(Boolean);
    return [c.type, ...fields].join(" ");
  });
  return [head.join(" "), ...chunks].join(" | ");
}
