// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * DNS messages (RFC 1035): the codec, names with compression, EDNS0, TCP
 * framing, presentation form, and the pure parts of a resolver and of an
 * authoritative server (a response cache, resolv.conf, a zone that answers
 * queries).
 *
 * Record types: A, AAAA (RFC 3596), CNAME, NS, PTR, MX, TXT, SOA, SRV
 * (RFC 2782), NAPTR (RFC 3403), CAA (RFC 8659), the OPT pseudo-record of
 * EDNS0 (RFC 6891, as {@linkcode DnsMessage.edns}), and any other type kept as
 * raw RDATA and named `TYPEnnn` (RFC 3597).
 *
 * The codec ({@linkcode encodeMessage}, {@linkcode decodeMessage}) compresses
 * names on encoding; decoding rejects pointer loops, lengths past the end and
 * impossible counts with a {@linkcode DnsParseError}. {@linkcode frameTcp}
 * and {@linkcode TcpDeframer} write and read the two-byte length prefix of DNS
 * over TCP. {@linkcode DnsZone} answers queries from a table of records and
 * {@linkcode DnsCache} keeps answers for their TTL.
 *
 * The sockets are elsewhere: the stub resolver `DnsResolver` is
 * `@rtclite/std/ietf/rfc1035/resolver`, the UDP/TCP server `serveDns` is
 * `@rtclite/std/ietf/rfc1035/server`, and a dig-like command line is
 * `std/ietf/rfc1035/main.ts`.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc1035 | RFC 1035}.
 *
 * @example Build a query, read it back
 * ```ts
 * import { decodeMessage, encodeMessage } from "@rtclite/std/ietf/rfc1035";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const bytes = encodeMessage({ id: 7, rd: true, questions: [{ name: "sip.test", type: "NAPTR" }] });
 * equal(bytes.length, 26);
 * const msg = decodeMessage(bytes);
 * equal(msg.id, 7);
 * deepEqual(msg.questions, [{ name: "sip.test", type: "NAPTR", class: 1 }]);
 * ```
 *
 * @example Answer a query from a zone, as a server would
 * ```ts
 * import { decodeMessage, DnsZone, encodeMessage } from "@rtclite/std/ietf/rfc1035";
 * import { deepEqual } from "node:assert/strict";
 *
 * const zone = new DnsZone([{ name: "pbx.sip.test", type: "A", ttl: 60, data: "127.0.0.1" }]);
 * const query = decodeMessage(encodeMessage({ id: 1, questions: [{ name: "pbx.sip.test", type: "A" }] }));
 * const response = decodeMessage(encodeMessage(zone.answer(query)));
 * deepEqual(response.answers.map((rr) => rr.data), ["127.0.0.1"]);
 * ```
 *
 * @module
 */
// @implements RFC1035 (Domain names - implementation and specification)
import { BytePool, ByteReader, ByteWriter, toHex } from "../../bytes.ts";
import { ParseError } from "../../errors.ts";

export { ParseError };

// === Types, classes and codes (RFC 1035 §3.2.2, §3.2.4, §4.1.1) ===

/** Numeric codes of the record types this module knows by name. */
// @implements RFC1035 §3.2.2
export const RR_TYPES: Readonly<Record<KnownType, number>> = Object.freeze({
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  CAA: 257,
});

/** Names of the record types with a structured form in {@linkcode DnsRecord}. */
export type KnownType =
  | "A"
  | "NS"
  | "CNAME"
  | "SOA"
  | "PTR"
  | "MX"
  | "TXT"
  | "AAAA"
  | "SRV"
  | "NAPTR"
  | "CAA";

/** A record type: a known name or `TYPEnnn` (RFC 3597) for any other. */
export type RecordType = KnownType | `TYPE${number}`;

/** A question type: a record type, `ANY` (255) or another QTYPE as `TYPEnnn`. */
export type QuestionType = RecordType | "ANY";

const TYPE_NAMES = new Map<number, KnownType | "ANY">(
  [...Object.entries(RR_TYPES).map(([k, v]) => [v, k as KnownType] as const), [255, "ANY"]],
);
const OPT_TYPE = 41;

/** The Internet class. */
// @implements RFC1035 §3.2.4
export const CLASS_IN = 1;

/** Response codes (RFC 1035 §4.1.1, RFC 6891 §9 for BADVERS). */
export const RCODE: Readonly<{
  NOERROR: 0;
  FORMERR: 1;
  SERVFAIL: 2;
  NXDOMAIN: 3;
  NOTIMP: 4;
  REFUSED: 5;
}> = Object.freeze({ NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 });

const RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

/**
 * Returns the code of a record or question type.
 *
 * @param type A type name (`"SRV"`, `"TYPE65"`, `"ANY"`).
 * @returns The 16-bit code.
 * @throws {RangeError} For an unknown name.
 *
 * @example
 * ```ts
 * import { typeCode } from "@rtclite/std/ietf/rfc1035";
 * import { equal } from "node:assert/strict";
 *
 * equal(typeCode("NAPTR"), 35);
 * equal(typeCode("TYPE65"), 65);
 * ```
 */
export function typeCode(type: QuestionType): number {
  const known = (RR_TYPES as Record<string, number>)[type];
  if (known !== undefined) return known;
  if (type === "ANY") return 255;
  const m = /^TYPE(\d{1,5})$/.exec(type);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  throw new RangeError(`Cannot encode record type: unknown type ${JSON.stringify(type)}`);
}

/**
 * Returns the name of a type code: the mnemonic for known types, else `TYPEnnn`.
 *
 * @param code A 16-bit type code.
 * @returns The type name.
 *
 * @example
 * ```ts
 * import { typeName } from "@rtclite/std/ietf/rfc1035";
 * import { equal } from "node:assert/strict";
 *
 * equal(typeName(33), "SRV");
 * equal(typeName(65), "TYPE65");
 * ```
 */
export function typeName(code: number): QuestionType {
  return TYPE_NAMES.get(code) ?? `TYPE${code}`;
}

// === Wire types ===

/** A question (RFC 1035 §4.1.2). */
export interface DnsQuestion {
  /** Domain name in presentation form without the final dot (`""` is the root). */
  name: string;
  /** Query type. */
  type: QuestionType;
  /** Query class; absent means IN (1). */
  class?: number;
}

/** Fields every resource record has (RFC 1035 §4.1.3). */
export interface RecordBase {
  /** Owner name in presentation form without the final dot. */
  name: string;
  /** Class; absent means IN (1). Decoded records always have it. */
  class?: number;
  /** Time to live in seconds. */
  ttl: number;
}

/** MX data (RFC 1035 §3.3.9). */
export interface MxData {
  /** Lower is preferred. */
  preference: number;
  /** Host willing to act as mail exchange. */
  exchange: string;
}

/** SOA data (RFC 1035 §3.3.13). */
export interface SoaData {
  /** Primary name server. */
  mname: string;
  /** Mailbox of the person responsible, as a domain name. */
  rname: string;
  /** Version number of the zone. */
  serial: number;
  /** Seconds before the zone should be refreshed. */
  refresh: number;
  /** Seconds between failed refresh retries. */
  retry: number;
  /** Seconds after which the zone is no longer authoritative. */
  expire: number;
  /** TTL for negative answers (RFC 2308). */
  minimum: number;
}

/** SRV data (RFC 2782). */
export interface SrvData {
  /** Lower is tried first. */
  priority: number;
  /** Relative weight among records of one priority. */
  weight: number;
  /** Port of the service. */
  port: number;
  /** Host name of the server (`""` = the service is not available). */
  target: string;
}

/** NAPTR data (RFC 3403 §4.1). */
export interface NaptrData {
  /** Processing order, lowest first. */
  order: number;
  /** Preference among records of equal order, lowest first. */
  preference: number;
  /** Flags such as `"S"`, `"A"`, `"U"`, `"P"` (bytes as characters 0-255). */
  flags: string;
  /** Service parameters, e.g. `"SIP+D2U"`. */
  services: string;
  /** Substitution expression (usually empty for SIP). */
  regexp: string;
  /** Next domain name to query (`""` when `regexp` is used). */
  replacement: string;
}

/** CAA data (RFC 8659 §4.1). */
export interface CaaData {
  /** Flags byte; 128 = issuer critical. */
  flags: number;
  /** Property tag, e.g. `"issue"`. */
  tag: string;
  /** Property value (bytes as characters 0-255). */
  value: string;
}

/** An A record: an IPv4 address (RFC 1035 §3.4.1). */
export interface ARecord extends RecordBase {
  /** Type. */
  type: "A";
  /** Dotted-quad address. */
  data: string;
}
/** An AAAA record: an IPv6 address (RFC 3596). */
export interface AaaaRecord extends RecordBase {
  /** Type. */
  type: "AAAA";
  /** Address in RFC 5952 text form. */
  data: string;
}
/** A record whose data is one domain name: CNAME, NS or PTR (RFC 1035 §3.3). */
export interface NameRecord<T extends "CNAME" | "NS" | "PTR" = "CNAME" | "NS" | "PTR">
  extends RecordBase {
  /** Type. */
  type: T;
  /** The domain name. */
  data: string;
}
/** An MX record. */
export interface MxRecord extends RecordBase {
  /** Type. */
  type: "MX";
  /** Preference and exchange. */
  data: MxData;
}
/** A TXT record: one or more character-strings (RFC 1035 §3.3.14). */
export interface TxtRecord extends RecordBase {
  /** Type. */
  type: "TXT";
  /** The strings as bytes (each at most 255). */
  data: Uint8Array[];
}
/** An SOA record. */
export interface SoaRecord extends RecordBase {
  /** Type. */
  type: "SOA";
  /** Zone parameters. */
  data: SoaData;
}
/** An SRV record. */
export interface SrvRecord extends RecordBase {
  /** Type. */
  type: "SRV";
  /** Priority, weight, port and target. */
  data: SrvData;
}
/** A NAPTR record. */
export interface NaptrRecord extends RecordBase {
  /** Type. */
  type: "NAPTR";
  /** The rule. */
  data: NaptrData;
}
/** A CAA record. */
export interface CaaRecord extends RecordBase {
  /** Type. */
  type: "CAA";
  /** Flags, tag and value. */
  data: CaaData;
}
/** A record of any other type, kept as raw RDATA (RFC 3597). */
export interface UnknownRecord extends RecordBase {
  /** `TYPEnnn`. */
  type: `TYPE${number}`;
  /** The RDATA bytes. */
  data: Uint8Array;
}

/** A resource record; `type` tells the shape of `data`. */
export type DnsRecord =
  | ARecord
  | AaaaRecord
  | NameRecord<"CNAME">
  | NameRecord<"NS">
  | NameRecord<"PTR">
  | MxRecord
  | TxtRecord
  | SoaRecord
  | SrvRecord
  | NaptrRecord
  | CaaRecord
  | UnknownRecord;

/** An EDNS option (RFC 6891 §6.1.2). */
export interface EdnsOption {
  /** Option code. */
  code: number;
  /** Option data. */
  data: Uint8Array;
}

/** The content of the OPT pseudo-record (RFC 6891 §6.1). */
export interface Edns {
  /** Largest UDP payload the sender can reassemble. */
  udpPayloadSize: number;
  /** Upper 8 bits of the 12-bit response code. */
  extendedRcode?: number;
  /** EDNS version (0). */
  version?: number;
  /** The DO bit (DNSSEC OK). */
  dnssecOk?: boolean;
  /** Options. */
  options?: EdnsOption[];
}

/** A message to encode; absent fields are zero, false or empty. */
export interface DnsMessageInit {
  /** Query identifier. */
  id?: number;
  /** Response (true) or query. */
  qr?: boolean;
  /** Kind of query (0 = QUERY). */
  opcode?: number;
  /** Authoritative answer. */
  aa?: boolean;
  /** Truncated. */
  tc?: boolean;
  /** Recursion desired. */
  rd?: boolean;
  /** Recursion available. */
  ra?: boolean;
  /** The reserved Z bit. */
  z?: boolean;
  /** Authentic data (RFC 4035). */
  ad?: boolean;
  /** Checking disabled (RFC 4035). */
  cd?: boolean;
  /** Response code (low 4 bits; see {@linkcode Edns.extendedRcode}). */
  rcode?: number;
  /** Question section. */
  questions?: DnsQuestion[];
  /** Answer section. */
  answers?: DnsRecord[];
  /** Authority section. */
  authorities?: DnsRecord[];
  /** Additional section, without the OPT record. */
  additionals?: DnsRecord[];
  /** EDNS: encoded as an OPT record at the end of the additional section. */
  edns?: Edns;
}

/** A decoded message: every header field present. */
export interface DnsMessage extends DnsMessageInit {
  /** Query identifier. */
  id: number;
  /** Response (true) or query. */
  qr: boolean;
  /** Kind of query (0 = QUERY). */
  opcode: number;
  /** Authoritative answer. */
  aa: boolean;
  /** Truncated. */
  tc: boolean;
  /** Recursion desired. */
  rd: boolean;
  /** Recursion available. */
  ra: boolean;
  /** The reserved Z bit. */
  z: boolean;
  /** Authentic data. */
  ad: boolean;
  /** Checking disabled. */
  cd: boolean;
  /** Response code (low 4 bits). */
  rcode: number;
  /** Question section. */
  questions: DnsQuestion[];
  /** Answer section. */
  answers: DnsRecord[];
  /** Authority section. */
  authorities: DnsRecord[];
  /** Additional section, without the OPT record (see `edns`). */
  additionals: DnsRecord[];
}

/** A DNS message that cannot be decoded; `offset` is the byte where decoding stopped. */
export class DnsParseError extends ParseError {}

/** A query that failed: timeout, network error or an error response code. */
export class DnsError extends Error {
  /** `"timeout"`, `"network"`, `"truncated"` or the response code name (`"SERVFAIL"`). */
  readonly code: string;
  /**
   * Creates a resolver error.
   *
   * @param message What failed.
   * @param code Machine-readable reason.
   * @param options Standard error options.
   */
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DnsError";
    this.code = code;
  }
}

// === Names (RFC 1035 §3.1, §2.3.4) ===

const MAX_NAME = 255;
const MAX_LABEL = 63;

/** Splits a presentation-form name into label byte arrays (handles `\.` and `\DDD`). */
function nameToLabels(name: string): Uint8Array[] {
  if (name === "" || name === ".") return [];
  if (name.endsWith(".") && !name.endsWith("\\.")) name = name.slice(0, -1);
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  let total = 1;
  const finish = () => {
    if (cur.length === 0) throw new RangeError(`Cannot encode name "${name}": empty label`);
    if (cur.length > MAX_LABEL) {
      throw new RangeError(`Cannot encode name "${name}": label of ${cur.length} bytes, max 63`);
    }
    total += cur.length + 1;
    labels.push(Uint8Array.from(cur));
    cur = [];
  };
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c === 0x2e) {
      finish();
      continue;
    }
    if (c > 0x7f) {
      throw new RangeError(`Cannot encode name "${name}": non-ASCII character (use punycode)`);
    }
    if (c === 0x5c) {
      const d = /^\d{3}/.exec(name.slice(i + 1, i + 4));
      if (d) {
        c = Number(d[0]);
        if (c > 255) throw new RangeError(`Cannot encode name "${name}": escape \\${d[0]}`);
        i += 3;
      } else if (i + 1 < name.length) {
        c = name.charCodeAt(++i);
      } else {
        throw new RangeError(`Cannot encode name "${name}": trailing backslash`);
      }
    }
    cur.push(c);
  }
  finish();
  if (total > MAX_NAME) {
    throw new RangeError(`Cannot encode name "${name}": ${total} bytes, max 255`);
  }
  return labels;
}

// 1 for bytes that print as themselves in a label, 0 for those that need escaping.
const PLAIN = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) PLAIN[c] = 1;
for (const c of [0x2e, 0x5c, 0x22, 0x28, 0x29, 0x3b, 0x40, 0x24]) PLAIN[c] = 0;
const SPECIAL = new Set([0x2e, 0x5c, 0x22, 0x28, 0x29, 0x3b, 0x40, 0x24]);

function labelToString(buf: Uint8Array, start: number, end: number): string {
  let plain = true;
  for (let i = start; i < end; i++) {
    if (PLAIN[buf[i]!] === 0) {
      plain = false;
      break;
    }
  }
  if (plain) {
    let p = "";
    for (let i = start; i < end; i++) p += String.fromCharCode(buf[i]!);
    return p;
  }
  let s = "";
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c > 0x20 && c < 0x7f) {
      s += SPECIAL.has(c) ? "\\" + String.fromCharCode(c) : String.fromCharCode(c);
    } else {
      s += "\\" + String(c).padStart(3, "0");
    }
  }
  return s;
}

/**
 * Compares two domain names as DNS does: ASCII case-insensitively, ignoring a final dot.
 *
 * @param a A name.
 * @param b Another name.
 * @returns Whether they name the same node.
 *
 * @example
 * ```ts
 * import { sameName } from "@rtclite/std/ietf/rfc1035";
 * import { equal } from "node:assert/strict";
 *
 * equal(sameName("SIP.Test.", "sip.test"), true);
 * ```
 */
// @implements RFC1035 §2.3.3
export function sameName(a: string, b: string): boolean {
  return canonical(a) === canonical(b);
}

function canonical(name: string): string {
  const n = name.endsWith(".") && !name.endsWith("\\.") ? name.slice(0, -1) : name;
  return n.toLowerCase();
}

// === IP addresses ===

function parseIpv4(s: string, out: Uint8Array = new Uint8Array(4)): Uint8Array | undefined {
  let part = 0, value = 0, digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + c - 0x30;
      if (++digits > 3 || value > 255) return undefined;
    } else if (c === 0x2e && digits > 0 && part < 4) {
      out[part++] = value;
      value = digits = 0;
    } else return undefined;
  }
  return part === 4 ? out : undefined;
}

function parseIpv6(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const words = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const groups = part.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = parseIpv4(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = words(halves[0]!);
  const tail = halves.length === 2 ? words(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/**
 * Parses an IPv4 or IPv6 address in text form.
 *
 * @param s `"192.0.2.1"` or `"2001:db8::1"` (no brackets, no zone).
 * @returns 4 or 16 bytes, or `undefined` when `s` is not an address.
 *
 * @example
 * ```ts
 * import { parseIp } from "@rtclite/std/ietf/rfc1035";
 * import { equal } from "node:assert/strict";
 *
 * equal(parseIp("::1")?.length, 16);
 * equal(parseIp("sip.test"), undefined);
 * ```
 */
export function parseIp(s: string): Uint8Array | undefined {
  return s.includes(":") ? parseIpv6(s) : parseIpv4(s);
}

function formatIpv6(b: Uint8Array, o: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (bestLen < 2) best = -1;
  // Embedded IPv4 as inet_ntop prints it: ::a.b.c.d and ::ffff:a.b.c.d.
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
    const v4 = `${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
    return bestLen === 6 ? `::${v4}` : `::ffff:${v4}`;
  }
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      s += "::";
      i += bestLen - 1;
      continue;
    }
    if (s !== "" && !s.endsWith(":")) s += ":";
    s += w[i]!.toString(16);
  }
  return s;
}

// === Encoding (RFC 1035 §4.1, §4.1.4) ===

/**
 * The DNS writer: std/bytes' writer with range-checked integers, the
 * <character-string> of RFC 1035 §3.3, and names compressed against the
 * offsets of the names written before.
 */
class DnsWriter extends ByteWriter {
  /** Offsets of the name suffixes written so far (lower-case), for compression. */
  names = new Map<string, number>();
  /** Where the message starts in `buf`: compression pointers count from here. */
  base = 0;
  /** True while writing into a caller's buffer, which never grows. */
  fixed = false;
  /** The message's first name (lower-case), not yet in `names`. */
  firstKey: string | undefined;
  /** Its suffixes: pairs of character index in `firstKey` and offset in the message. */
  firstAt: number[] = [];

  /** Starts a message at `base`. */
  begin(base: number): void {
    this.base = this.pos = base;
    this.names.clear();
    this.firstKey = undefined;
  }

  #rememberFirst(): void {
    const key = this.firstKey!;
    for (let k = 0; k < this.firstAt.length; k += 2) {
      const i = this.firstAt[k]!;
      this.names.set(i === 0 ? key : key.slice(i), this.firstAt[k + 1]!);
    }
    this.firstKey = undefined;
  }

  /** Makes room for `n` more bytes; a caller's buffer that is too small is a RangeError. */
  override ensure(n: number): void {
    if (!this.fixed) return super.ensure(n);
    if (this.pos + n > this.buf.length) {
      throw new RangeError(
        `Cannot encode DNS message: it does not fit in the ${
          this.buf.length - this.base
        } bytes given`,
      );
    }
  }

  /** Writes a 16-bit field, refusing values that do not fit. */
  override u16(v: number, what = "16-bit field"): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new RangeError(`Cannot encode ${what}: ${v} is not a 16-bit unsigned integer`);
    }
    this.ensure(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v;
  }
  /** Writes a 32-bit field, refusing values that do not fit. */
  override u32(v: number, what = "32-bit field"): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RangeError(`Cannot encode ${what}: ${v} is not a 32-bit unsigned integer`);
    }
    this.ensure(4);
    const b = this.buf;
    b[this.pos++] = v >>> 24;
    b[this.pos++] = v >>> 16;
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v;
  }
  /** A <character-string>: length byte and up to 255 bytes (RFC 1035 §3.3). */
  charString(b: Uint8Array, what: string): void {
    if (b.length > 255) {
      throw new RangeError(`Cannot encode ${what}: string of ${b.length} bytes, max 255`);
    }
    this.u8(b.length);
    this.bytes(b);
  }
  latin1String(s: string, what: string): void {
    if (s.length > 255) {
      throw new RangeError(`Cannot encode ${what}: string of ${s.length} bytes, max 255`);
    }
    this.ensure(1 + s.length);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = s.length;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) throw new RangeError(`Cannot encode ${what}: character above U+00FF`);
      buf[p++] = c;
    }
    this.pos = p;
  }
  // @implements RFC1035 §4.1.4
  name(name: string, compress: boolean): void {
    if (name === "" || name === ".") return this.u8(0);
    if (name.includes("\\")) return this.escapedName(name, compress);
    const n = name.endsWith(".") ? name.slice(0, -1) : name;
    if (n.length + 2 > MAX_NAME) {
      throw new RangeError(`Cannot encode name "${name}": ${n.length + 2} bytes, max 255`);
    }
    const key = n.toLowerCase();
    // The first name of a message has nothing to point to: its suffixes are remembered as offsets
    // and only turned into map entries when a second name needs them (a query has one name).
    if (this.firstKey !== undefined) this.#rememberFirst();
    const first = this.names.size === 0 && this.firstKey === undefined;
    if (first) {
      this.firstKey = key;
      this.firstAt.length = 0;
    }
    for (let i = 0; i <= n.length;) {
      let j = n.indexOf(".", i);
      if (j < 0) j = n.length;
      const len = j - i;
      if (len === 0 || len > MAX_LABEL) {
        throw new RangeError(
          `Cannot encode name "${name}": label of ${len} bytes, expected 1 to 63`,
        );
      }
      const at = this.pos - this.base;
      if (first) {
        if (at < 0x4000) this.firstAt.push(i, at);
      } else {
        const suffix = i === 0 ? key : key.slice(i);
        const ptr = this.names.get(suffix);
        if (ptr !== undefined && compress) {
          this.ensure(2);
          this.buf[this.pos++] = 0xc0 | (ptr >> 8);
          this.buf[this.pos++] = ptr & 0xff;
          return;
        }
        if (ptr === undefined && at < 0x4000) this.names.set(suffix, at);
      }
      this.ensure(len + 1);
      const buf = this.buf;
      buf[this.pos++] = len;
      for (let k = i; k < j; k++) {
        const c = n.charCodeAt(k);
        if (c > 0x7f) {
          throw new RangeError(`Cannot encode name "${name}": non-ASCII character (use punycode)`);
        }
        buf[this.pos++] = c;
      }
      i = j + 1;
    }
    this.u8(0);
  }
  escapedName(name: string, compress: boolean): void {
    if (this.firstKey !== undefined) this.#rememberFirst();
    const labels = nameToLabels(name);
    const parts = labels.map((l) => labelToString(l, 0, l.length));
    const key = canonical(parts.join("."));
    let at = 0;
    for (let i = 0; i < parts.length; i++) {
      const suffix = at === 0 ? key : key.slice(at);
      const ptr = this.names.get(suffix);
      if (ptr !== undefined && compress) return this.u16(0xc000 | ptr, "name pointer");
      if (ptr === undefined && this.pos - this.base < 0x4000) {
        this.names.set(suffix, this.pos - this.base);
      }
      at += parts[i]!.length + 1;
      this.u8(labels[i]!.length);
      this.bytes(labels[i]!);
    }
    this.u8(0);
  }
}

// One growing writer for encodeMessage (encoding is synchronous), whose bytes are copied into a
// view cut from a pool; one writer over the caller's buffer for encodeMessageInto.
let writer = new DnsWriter(4096);
const fixedWriter = new DnsWriter(0);
fixedWriter.fixed = true;
const pool = new BytePool(32768, 4096);
const ipv4 = new Uint8Array(4);

function writeRdata(w: DnsWriter, rr: DnsRecord): void {
  switch (rr.type) {
    // @implements RFC1035 §3.4.1
    case "A": {
      const b = parseIpv4(rr.data, ipv4);
      if (!b) throw new RangeError(`Cannot encode A record: "${rr.data}" is not an IPv4 address`);
      return w.bytes(b);
    }
    case "AAAA": {
      const b = parseIpv6(rr.data);
      if (!b) {
        throw new RangeError(`Cannot encode AAAA record: "${rr.data}" is not an IPv6 address`);
      }
      return w.bytes(b);
    }
    // @implements RFC1035 §3.3.1, RFC1035 §3.3.11, RFC1035 §3.3.12
    case "CNAME":
    case "NS":
    case "PTR":
      return w.name(rr.data, true);
    // @implements RFC1035 §3.3.9
    case "MX":
      w.u16(rr.data.preference, "MX preference");
      return w.name(rr.data.exchange, true);
    // @implements RFC1035 §3.3.14
    case "TXT":
      if (rr.data.length === 0) throw new RangeError("Cannot encode TXT record: no strings");
      for (const s of rr.data) w.charString(s, "TXT record");
      return;
    // @implements RFC1035 §3.3.13
    case "SOA": {
      const d = rr.data;
      w.name(d.mname, true);
      w.name(d.rname, true);
      w.u32(d.serial, "SOA serial");
      w.u32(d.refresh, "SOA refresh");
      w.u32(d.retry, "SOA retry");
      w.u32(d.expire, "SOA expire");
      return w.u32(d.minimum, "SOA minimum");
    }
    // @implements RFC2782
    case "SRV":
      w.u16(rr.data.priority, "SRV priority");
      w.u16(rr.data.weight, "SRV weight");
      w.u16(rr.data.port, "SRV port");
      return w.name(rr.data.target, false);
    // @implements RFC3403 §4.1
    case "NAPTR":
      w.u16(rr.data.order, "NAPTR order");
      w.u16(rr.data.preference, "NAPTR preference");
      w.latin1String(rr.data.flags, "NAPTR flags");
      w.latin1String(rr.data.services, "NAPTR services");
      w.latin1String(rr.data.regexp, "NAPTR regexp");
      return w.name(rr.data.replacement, false);
    case "CAA": {
      w.u8(rr.data.flags & 0xff);
      if (!/^[A-Za-z0-9]{1,255}$/.test(rr.data.tag)) {
        throw new RangeError(`Cannot encode CAA record: tag "${rr.data.tag}" is not alphanumeric`);
      }
      w.latin1String(rr.data.tag, "CAA tag");
      const v = rr.data.value;
      w.ensure(v.length);
      for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i);
        if (c > 0xff) throw new RangeError("Cannot encode CAA value: character above U+00FF");
        w.buf[w.pos++] = c;
      }
      return;
    }
    default:
      if (!(rr.data instanceof Uint8Array)) {
        throw new TypeError(`Cannot encode ${rr.type} record: data must be a Uint8Array`);
      }
      return w.bytes(rr.data);
  }
}

// @implements RFC1035 §4.1.3
function writeRecord(w: DnsWriter, rr: DnsRecord): void {
  w.name(rr.name, true);
  w.u16(typeCode(rr.type), "record type");
  w.u16(rr.class ?? CLASS_IN, "record class");
  w.u32(rr.ttl, "TTL");
  const lenAt = w.pos;
  w.u16(0, "RDLENGTH");
  writeRdata(w, rr);
  const len = w.pos - lenAt - 2;
  if (len > 0xffff) throw new RangeError(`Cannot encode ${rr.type} record: RDATA over 65535 bytes`);
  w.buf[lenAt] = len >>> 8;
  w.buf[lenAt + 1] = len;
}

// @implements RFC6891 §6.1.2, RFC6891 §6.1.3
function writeOpt(w: DnsWriter, e: Edns): void {
  w.u8(0);
  w.u16(OPT_TYPE, "OPT type");
  w.u16(Math.max(512, e.udpPayloadSize), "EDNS UDP payload size");
  w.u8((e.extendedRcode ?? 0) & 0xff);
  w.u8((e.version ?? 0) & 0xff);
  w.u16(e.dnssecOk ? 0x8000 : 0, "EDNS flags");
  const lenAt = w.pos;
  w.u16(0, "RDLENGTH");
  for (const o of e.options ?? []) {
    w.u16(o.code, "EDNS option code");
    w.u16(o.data.length, "EDNS option length");
    w.bytes(o.data);
  }
  const len = w.pos - lenAt - 2;
  w.buf[lenAt] = len >>> 8;
  w.buf[lenAt + 1] = len;
}

/**
 * Encodes a DNS message, compressing names where RFC 1035 allows it (owner
 * names and the names inside CNAME, NS, PTR, MX and SOA data; never SRV
 * targets or NAPTR replacements).
 *
 * @param msg The message; absent header fields are zero or false.
 * @returns The wire bytes (without the TCP length prefix): a view cut from a shared pool for
 * messages up to 4 KiB (its `buffer` is shared). {@linkcode encodeMessageInto} writes into a
 * buffer of your own.
 * @throws {RangeError} For values that do not fit their fields.
 *
 * @example
 * ```ts
 * import { decodeMessage, encodeMessage } from "@rtclite/std/ietf/rfc1035";
 * import { deepEqual } from "node:assert/strict";
 *
 * const rr = { name: "_sip._udp.sip.test", type: "SRV", class: 1, ttl: 60,
 *   data: { priority: 10, weight: 100, port: 5060, target: "pbx.sip.test" } } as const;
 * const msg = decodeMessage(encodeMessage({ qr: true, answers: [rr] }));
 * deepEqual(msg.answers, [rr]);
 * ```
 */
// @implements RFC1035 §4.1, RFC1035 §4.1.1
export function encodeMessage(msg: DnsMessageInit): Uint8Array {
  const w = writer;
  w.begin(0);
  writeMessage(w, msg);
  const out = pool.alloc(w.pos);
  out.set(w.buf.subarray(0, w.pos));
  w.pos = 0;
  // Keep the buffer for the next message unless one huge message grew it.
  if (w.buf.length > 0x20000) writer = new DnsWriter(4096);
  return out;
}

/**
 * Encodes a DNS message into `buf` at `offset`, allocating nothing for the bytes (compression
 * pointers count from `offset`, where the message starts).
 *
 * @param msg The message; absent header fields are zero or false.
 * @param buf Where to write.
 * @param offset Where the message starts in `buf`; default 0.
 * @returns The number of bytes written.
 * @throws {RangeError} For values that do not fit their fields, or when the message does not fit
 * in `buf` (nothing useful is left in `buf` then).
 *
 * @example
 * ```ts
 * import { decodeMessage, encodeMessageInto } from "@rtclite/std/ietf/rfc1035";
 * import { equal, throws } from "node:assert/strict";
 *
 * const buf = new Uint8Array(512);
 * const n = encodeMessageInto({ id: 7, rd: true, questions: [{ name: "sip.test", type: "NAPTR" }] },
 *   buf, 2);
 * equal(n, 26);
 * equal(decodeMessage(buf.subarray(2, 2 + n)).questions[0]?.name, "sip.test");
 * throws(() => encodeMessageInto({ questions: [{ name: "sip.test", type: "A" }] },
 *   new Uint8Array(20)), RangeError);
 * ```
 */
export function encodeMessageInto(msg: DnsMessageInit, buf: Uint8Array, offset = 0): number {
  const w = fixedWriter;
  // DnsWriter writes bytes only (no DataView), so the caller's buffer needs no view.
  w.buf = buf;
  w.begin(offset);
  try {
    writeMessage(w, msg);
    return w.pos - offset;
  } finally {
    // Do not keep the caller's buffer alive.
    w.buf = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);

const NONE: readonly never[] = [];

function writeMessage(w: DnsWriter, msg: DnsMessageInit): void {
  const qs = msg.questions ?? NONE, an = msg.answers ?? NONE;
  const ns = msg.authorities ?? NONE, ar = msg.additionals ?? NONE;
  w.u16(msg.id ?? 0, "message ID");
  w.u8(
    (msg.qr ? 0x80 : 0) | (((msg.opcode ?? 0) & 0xf) << 3) | (msg.aa ? 4 : 0) | (msg.tc ? 2 : 0) |
      (msg.rd ? 1 : 0),
  );
  w.u8(
    (msg.ra ? 0x80 : 0) | (msg.z ? 0x40 : 0) | (msg.ad ? 0x20 : 0) | (msg.cd ? 0x10 : 0) |
      ((msg.rcode ?? 0) & 0xf),
  );
  w.u16(qs.length, "QDCOUNT");
  w.u16(an.length, "ANCOUNT");
  w.u16(ns.length, "NSCOUNT");
  w.u16(ar.length + (msg.edns ? 1 : 0), "ARCOUNT");
  // @implements RFC1035 §4.1.2
  for (const q of qs) {
    w.name(q.name, true);
    w.u16(typeCode(q.type), "question type");
    w.u16(q.class ?? CLASS_IN, "question class");
  }
  for (const rr of an) writeRecord(w, rr);
  for (const rr of ns) writeRecord(w, rr);
  for (const rr of ar) writeRecord(w, rr);
  if (msg.edns) writeOpt(w, msg.edns);
}

// === Decoding (RFC 1035 §4.1, §4.1.4) ===

const dnsError = (message: string, offset: number) => new DnsParseError(message, offset);

/**
 * The DNS reader: std/bytes' reader with <character-string>s and names that
 * follow compression pointers, remembering each name by its offset.
 */
class DnsReader extends ByteReader {
  /** Names read so far by offset: text and length in octets. */
  readonly names = new Map<number, [string, number]>();
  constructor(buf: Uint8Array) {
    super(buf, dnsError, "DNS message");
  }
  charString(what: string): Uint8Array {
    return this.bytes(this.u8(what), what);
  }
  latin1(what: string): string {
    const n = this.u8(what);
    this.need(n, what);
    let s = "";
    for (let i = this.pos; i < this.pos + n; i++) s += String.fromCharCode(this.buf[i]!);
    this.pos += n;
    return s;
  }
  /**
   * Reads a possibly compressed name. A pointer must point before the
   * start of the label sequence that holds it, so every jump goes backward
   * and loops cannot form. Names are remembered by their offset, so a
   * pointer to a name read before costs one lookup.
   */
  // @implements RFC1035 §4.1.4
  name(): string {
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    let segStart = start;
    let end = -1; // where reading continues after the first pointer
    let out = "";
    let octets = 1;
    for (;;) {
      if (pos >= buf.length) {
        throw new DnsParseError(`Cannot decode name: runs past the end at offset ${pos}`, pos);
      }
      const len = buf[pos]!;
      if (len === 0) {
        pos++;
        break;
      }
      if ((len & 0xc0) === 0xc0) {
        if (pos + 1 >= buf.length) {
          throw new DnsParseError(`Cannot decode name: pointer cut short at offset ${pos}`, pos);
        }
        const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
        if (target >= segStart) {
          throw new DnsParseError(
            `Cannot decode name: pointer at offset ${pos} to ${target} does not point backward`,
            pos,
          );
        }
        if (end < 0) end = pos + 2;
        const known = this.names.get(target);
        if (known !== undefined) {
          octets += known[1] - 1;
          if (octets > MAX_NAME) {
            throw new DnsParseError(
              `Cannot decode name: longer than 255 bytes at offset ${pos}`,
              pos,
            );
          }
          out = out === "" ? known[0] : known[0] === "" ? out : out + "." + known[0];
          break;
        }
        pos = segStart = target;
        continue;
      }
      if (len & 0xc0) {
        throw new DnsParseError(
          `Cannot decode name: label type 0x${(len & 0xc0).toString(16)} at offset ${pos}`,
          pos,
        );
      }
      if (pos + 1 + len > buf.length) {
        throw new DnsParseError(
          `Cannot decode name: label runs past the end at offset ${pos}`,
          pos,
        );
      }
      octets += len + 1;
      if (octets > MAX_NAME) {
        throw new DnsParseError(`Cannot decode name: longer than 255 bytes at offset ${pos}`, pos);
      }
      const label = labelToString(buf, pos + 1, pos + 1 + len);
      out = out === "" ? label : out + "." + label;
      pos += 1 + len;
    }
    if (!this.names.has(start)) this.names.set(start, [out, octets]);
    this.pos = end >= 0 ? end : pos;
    return out;
  }
}

function readRdata(
  r: DnsReader,
  type: number,
  end: number,
  name: string,
  cls: number,
  ttl: number,
): DnsRecord {
  let t: string;
  let data: unknown;
  switch (type) {
    // @implements RFC1035 §3.4.1
    case 1: {
      if (end - r.pos !== 4) {
        throw new DnsParseError(
          `Cannot decode A record: RDLENGTH ${end - r.pos}, expected 4`,
          r.pos,
        );
      }
      const b = r.buf;
      const p = r.pos;
      t = "A";
      data = `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}`;
      r.pos += 4;
      break;
    }
    case 28:
      if (end - r.pos !== 16) {
        throw new DnsParseError(
          `Cannot decode AAAA record: RDLENGTH ${end - r.pos}, expected 16`,
          r.pos,
        );
      }
      t = "AAAA";
      data = formatIpv6(r.buf, r.pos);
      r.pos += 16;
      break;
    case 2:
    case 5:
    case 12:
      t = typeName(type);
      data = r.name();
      break;
    // @implements RFC1035 §3.3.9
    case 15:
      t = "MX";
      data = { preference: r.u16("MX record"), exchange: r.name() };
      break;
    // @implements RFC1035 §3.3.14
    case 16: {
      const strings: Uint8Array[] = [];
      if (r.pos === end) throw new DnsParseError("Cannot decode TXT record: no strings", r.pos);
      while (r.pos < end) strings.push(r.charString("TXT record"));
      t = "TXT";
      data = strings;
      break;
    }
    // @implements RFC1035 §3.3.13
    case 6:
      t = "SOA";
      data = {
        mname: r.name(),
        rname: r.name(),
        serial: r.u32("SOA record"),
        refresh: r.u32("SOA record"),
        retry: r.u32("SOA record"),
        expire: r.u32("SOA record"),
        minimum: r.u32("SOA record"),
      };
      break;
    // @implements RFC2782
    case 33:
      t = "SRV";
      data = {
        priority: r.u16("SRV record"),
        weight: r.u16("SRV record"),
        port: r.u16("SRV record"),
        target: r.name(),
      };
      break;
    // @implements RFC3403 §4.1
    case 35:
      t = "NAPTR";
      data = {
        order: r.u16("NAPTR record"),
        preference: r.u16("NAPTR record"),
        flags: r.latin1("NAPTR flags"),
        services: r.latin1("NAPTR services"),
        regexp: r.latin1("NAPTR regexp"),
        replacement: r.name(),
      };
      break;
    case 257: {
      const flags = r.u8("CAA record");
      const tag = r.latin1("CAA tag");
      if (r.pos > end || !/^[A-Za-z0-9]+$/.test(tag)) {
        throw new DnsParseError(
          "Cannot decode CAA record: tag missing, not alphanumeric or past RDATA",
          r.pos,
        );
      }
      let value = "";
      for (let i = r.pos; i < end; i++) value += String.fromCharCode(r.buf[i]!);
      r.pos = end;
      t = "CAA";
      data = { flags, tag, value };
      break;
    }
    default:
      t = `TYPE${type}`;
      data = r.bytes(end - r.pos, "record data");
  }
  if (r.pos !== end) {
    throw new DnsParseError(
      `Cannot decode ${typeName(type)} record: RDATA ends at offset ${r.pos}, RDLENGTH says ${end}`,
      r.pos,
    );
  }
  return { name, class: cls, ttl, type: t, data } as DnsRecord;
}

/**
 * Decodes a DNS message. Compressed names are followed only backward, so
 * pointer loops are rejected; counts larger than the message can hold and
 * lengths past its end are errors, as is a second OPT record.
 *
 * @param bytes The message (without a TCP length prefix).
 * @returns The message; the OPT record, if any, is in `edns`.
 * @throws {DnsParseError} When the bytes are not a well-formed message.
 *
 * @example
 * ```ts
 * import { decodeMessage, DnsParseError } from "@rtclite/std/ietf/rfc1035";
 * import { throws } from "node:assert/strict";
 *
 * // A name that points at itself.
 * const loop = Uint8Array.of(0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1);
 * throws(() => decodeMessage(loop), DnsParseError);
 * ```
 */
// @implements RFC1035 §4.1.1
export function decodeMessage(bytes: Uint8Array): DnsMessage {
  const r = new DnsReader(bytes);
  if (bytes.length < 12) {
    throw new DnsParseError(
      `Cannot decode DNS message: buffer has ${bytes.length} bytes, expected at least 12`,
      0,
    );
  }
  const id = r.u16("header");
  const b2 = r.u8("header"), b3 = r.u8("header");
  const counts = [r.u16("header"), r.u16("header"), r.u16("header"), r.u16("header")] as const;
  // A question takes at least 5 bytes and a record at least 11.
  const least = counts[0] * 5 + (counts[1] + counts[2] + counts[3]) * 11;
  if (12 + least > bytes.length) {
    throw new DnsParseError(
      `Cannot decode DNS message: counts ${counts.join("/")} need at least ${
        12 + least
      } bytes, message has ${bytes.length}`,
      4,
    );
  }
  const msg: DnsMessage = {
    id,
    qr: (b2 & 0x80) !== 0,
    opcode: (b2 >> 3) & 0xf,
    aa: (b2 & 4) !== 0,
    tc: (b2 & 2) !== 0,
    rd: (b2 & 1) !== 0,
    ra: (b3 & 0x80) !== 0,
    z: (b3 & 0x40) !== 0,
    ad: (b3 & 0x20) !== 0,
    cd: (b3 & 0x10) !== 0,
    rcode: b3 & 0xf,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
  };
  // @implements RFC1035 §4.1.2
  for (let i = 0; i < counts[0]; i++) {
    const name = r.name();
    msg.questions.push({ name, type: typeName(r.u16("question")), class: r.u16("question") });
  }
  // @implements RFC1035 §4.1.3
  const sections = [msg.answers, msg.authorities, msg.additionals];
  for (let s = 0; s < 3; s++) {
    const list = sections[s]!;
    for (let i = 0; i < counts[s + 1]!; i++) {
      const name = r.name();
      const type = r.u16("record header");
      const cls = r.u16("record header");
      const ttl = r.u32("record header");
      const len = r.u16("record header");
      if (r.pos + len > bytes.length) r.need(len, `${typeName(type)} record data`);
      const end = r.pos + len;
      // @implements RFC6891 §6.1.1
      if (type === OPT_TYPE) {
        if (s !== 2 || msg.edns || name !== "") {
          throw new DnsParseError(`Cannot decode DNS message: misplaced OPT record`, r.pos);
        }
        msg.edns = readOpt(r, end, cls, ttl);
        continue;
      }
      list.push(readRdata(r, type, end, name, cls, ttl));
    }
  }
  return msg;
}

// @implements RFC6891 §6.1.2, RFC6891 §6.1.3
function readOpt(r: DnsReader, end: number, cls: number, ttl: number): Edns {
  const options: EdnsOption[] = [];
  while (r.pos < end) {
    const code = r.u16("EDNS option");
    const len = r.u16("EDNS option");
    if (r.pos + len > end) {
      throw new DnsParseError(`Cannot decode EDNS option ${code}: runs past the OPT record`, r.pos);
    }
    options.push({ code, data: r.bytes(len, "EDNS option") });
  }
  return {
    udpPayloadSize: cls,
    extendedRcode: ttl >>> 24,
    version: (ttl >>> 16) & 0xff,
    dnssecOk: (ttl & 0x8000) !== 0,
    options,
  };
}

// === Presentation form (RFC 1035 §5.1, as dig prints it) ===

function quoteBytes(b: Uint8Array): string {
  let s = '"';
  for (const c of b) {
    if (c === 0x22 || c === 0x5c) s += "\\" + String.fromCharCode(c);
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += "\\" + String(c).padStart(3, "0");
  }
  return s + '"';
}

function quoteLatin1(s: string): string {
  return quoteBytes(Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff));
}

function fqdn(name: string): string {
  return name === "" ? "." : name + ".";
}

/**
 * Formats record data in master-file form, as `dig` prints it.
 *
 * @param rr A record.
 * @returns The RDATA text, e.g. `10 100 5060 pbx.sip.test.`.
 *
 * @example
 * ```ts
 * import { formatRdata } from "@rtclite/std/ietf/rfc1035";
 * import { equal } from "node:assert/strict";
 *
 * equal(formatRdata({ name: "sip.test", type: "MX", ttl: 60,
 *   data: { preference: 10, exchange: "mail.sip.test" } }), "10 mail.sip.test.");
 * ```
 */
export function formatRdata(rr: DnsRecord): string {
  switch (rr.type) {
    case "A":
    case "AAAA":
      return rr.data;
    case "CNAME":
    case "NS":
    case "PTR":
      return fqdn(rr.data);
    case "MX":
      return `${rr.data.preference} ${fqdn(rr.data.exchange)}`;
    case "TXT":
      return rr.data.map(quoteBytes).join(" ");
    case "SOA": {
      const d = rr.data;
      return `${fqdn(d.mname)} ${
        fqdn(d.rname)
      } ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    }
    case "SRV":
      return `${rr.data.priority} ${rr.data.weight} ${rr.data.port} ${fqdn(rr.data.target)}`;
    case "NAPTR": {
      const d = rr.data;
      return `${d.order} ${d.preference} ${quoteLatin1(d.flags)} ${quoteLatin1(d.services)} ${
        quoteLatin1(d.regexp)
      } ${fqdn(d.replacement)}`;
    }
    case "CAA":
      return `${rr.data.flags} ${rr.data.tag} ${quoteLatin1(rr.data.value)}`;
    default: {
      const hex = toHex(rr.data).toUpperCase();
      return `\\# ${rr.data.length}${hex ? " " + hex : ""}`;
    }
  }
}

/**
 * Formats a record as one line of dig's answer section:
 * owner, TTL, class, type and data separated by tabs.
 *
 * @param rr A record.
 * @returns The line, e.g. `sip.test.\t60\tIN\tA\t127.0.0.1`.
 *
 * @example
 * ```ts
 * import { formatRecord } from "@rtclite/std/ietf/rfc1035";
 * import { equal } from "node:assert/strict";
 *
 * equal(formatRecord({ name: "sip.test", type: "A", ttl: 60, data: "127.0.0.1" }),
 *   "sip.test.\t60\tIN\tA\t127.0.0.1");
 * ```
 */
export function formatRecord(rr: DnsRecord): string {
  const cls = (rr.class ?? 1) === 1 ? "IN" : `CLASS${rr.class}`;
  return `${fqdn(rr.name)}\t${rr.ttl}\t${cls}\t${rr.type}\t${formatRdata(rr)}`;
}

/**
 * Names a response code.
 *
 * @param rcode The code.
 * @returns `NOERROR`, `NXDOMAIN`, ... or `RCODEn`.
 *
 * @example
 * ```ts
 * import { rcodeName } from "@rtclite/std/ietf/rfc1035";
 * import { equal } from "node:assert/strict";
 *
 * equal(rcodeName(3), "NXDOMAIN");
 * ```
 */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

// === resolv.conf (resolv.conf(5)) ===

/** Settings read from `/etc/resolv.conf`. */
export interface ResolvConf {
  /** Name server addresses, in order (at most 3 are used by libc; all are kept). */
  nameservers: string[];
  /** Search list of domains. */
  search: string[];
  /** Names with at least this many dots are tried as-is first (default 1). */
  ndots: number;
  /** Seconds to wait for a server (default 5). */
  timeout: number;
  /** Rounds over the server list (default 2). */
  attempts: number;
  /** Whether to rotate among servers. */
  rotate: boolean;
}

/**
 * Parses the text of a `resolv.conf` file (`nameserver`, `search`, `domain`,
 * `options ndots:N timeout:N attempts:N rotate`); later `search`/`domain` lines win.
 *
 * @param text The file's content.
 * @returns The settings, with libc's defaults for absent ones.
 *
 * @example
 * ```ts
 * import { parseResolvConf } from "@rtclite/std/ietf/rfc1035";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const conf = parseResolvConf("nameserver 192.0.2.53\nsearch a.test b.test\noptions ndots:2\n");
 * deepEqual(conf.nameservers, ["192.0.2.53"]);
 * deepEqual(conf.search, ["a.test", "b.test"]);
 * equal(conf.ndots, 2);
 * ```
 */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = {
    nameservers: [],
    search: [],
    ndots: 1,
    timeout: 5,
    attempts: 2,
    rotate: false,
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, "").trim();
    if (!line) continue;
    const [key, ...args] = line.split(/\s+/);
    if (key === "nameserver" && args[0]) {
      const addr = args[0].replace(/%.*$/, "");
      if (parseIp(addr)) conf.nameservers.push(addr);
    } else if (key === "search") {
      conf.search = args.map((d) => d.replace(/\.$/, "")).filter((d) => d);
    } else if (key === "domain" && args[0]) {
      conf.search = [args[0].replace(/\.$/, "")];
    } else if (key === "options") {
      for (const opt of args) {
        const [k, v] = opt.split(":");
        const n = Number(v);
        if (k === "ndots" && Number.isInteger(n) && n >= 0) conf.ndots = Math.min(n, 15);
        else if (k === "timeout" && Number.isInteger(n) && n >= 1) conf.timeout = Math.min(n, 30);
        else if (k === "attempts" && Number.isInteger(n) && n >= 1) conf.attempts = Math.min(n, 5);
        else if (k === "rotate") conf.rotate = true;
      }
    }
  }
  return conf;
}

// === Cache (RFC 1035 §7.4) ===

/** Options for {@linkcode DnsCache}. */
export interface DnsCacheOptions {
  /** Clock in milliseconds (default `Date.now`). */
  now?: () => number;
  /** Most entries kept; the oldest are dropped first (default 10 000). */
  maxEntries?: number;
  /** Upper bound on any TTL, seconds (default one day). */
  maxTtl?: number;
}

interface CacheEntry {
  stored: number;
  expires: number;
  msg: DnsMessage;
}

/**
 * Caches responses per (name, type, class) for the smallest TTL of their
 * answers; negative answers for the SOA minimum (RFC 2308). Entries come back
 * with TTLs reduced by the time they spent in the cache.
 *
 * @example
 * ```ts
 * import { DnsCache } from "@rtclite/std/ietf/rfc1035";
 * import { equal } from "node:assert/strict";
 *
 * let now = 0;
 * const cache = new DnsCache({ now: () => now });
 * cache.put({ id: 1, qr: true, opcode: 0, aa: true, tc: false, rd: false, ra: false, z: false,
 *   ad: false, cd: false, rcode: 0, questions: [{ name: "a.test", type: "A", class: 1 }],
 *   answers: [{ name: "a.test", type: "A", class: 1, ttl: 60, data: "192.0.2.1" }],
 *   authorities: [], additionals: [] });
 * now = 30_000;
 * equal(cache.get("A.test", "A")?.answers[0]?.ttl, 30);
 * now = 61_000;
 * equal(cache.get("a.test", "A"), undefined);
 * ```
 */
// @implements RFC1035 §7.4
export class DnsCache {
  #entries = new Map<string, CacheEntry>();
  #now: () => number;
  #max: number;
  #maxTtl: number;

  /**
   * Creates an empty cache.
   *
   * @param options Clock and limits.
   */
  constructor(options: DnsCacheOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#max = options.maxEntries ?? 10_000;
    this.#maxTtl = options.maxTtl ?? 86_400;
  }

  /** Number of entries (including expired ones not yet dropped). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Stores a response under its first question; responses with errors other
   * than NXDOMAIN, truncated ones and zero TTLs are not stored.
   *
   * @param msg A validated response.
   */
  put(msg: DnsMessage): void {
    const q = msg.questions[0];
    if (!q || msg.tc || (msg.rcode !== 0 && msg.rcode !== 3)) return;
    let ttl: number;
    if (msg.answers.length && msg.rcode === 0) {
      ttl = Math.min(...msg.answers.map((rr) => rr.ttl));
    } else {
      const soa = msg.authorities.find((rr) => rr.type === "SOA") as SoaRecord | undefined;
      if (!soa) return;
      ttl = Math.min(soa.ttl, soa.data.minimum);
    }
    ttl = Math.min(ttl, this.#maxTtl);
    if (ttl <= 0) return;
    const key = cacheKey(q.name, q.type, q.class ?? 1);
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    const now = this.#now();
    this.#entries.set(key, { stored: now, expires: now + ttl * 1000, msg });
  }

  /**
   * Looks up a live entry.
   *
   * @param name Query name.
   * @param type Query type.
   * @param cls Query class.
   * @returns The response with TTLs counted down, or `undefined`.
   */
  get(name: string, type: QuestionType, cls = 1): DnsMessage | undefined {
    const key = cacheKey(name, type, cls);
    const e = this.#entries.get(key);
    if (!e) return undefined;
    const now = this.#now();
    if (now >= e.expires) {
      this.#entries.delete(key);
      return undefined;
    }
    const age = Math.floor((now - e.stored) / 1000);
    const age2 = (rr: DnsRecord): DnsRecord => ({ ...rr, ttl: Math.max(0, rr.ttl - age) });
    return {
      ...e.msg,
      answers: e.msg.answers.map(age2),
      authorities: e.msg.authorities.map(age2),
      additionals: e.msg.additionals.map(age2),
    };
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
  }
}

function cacheKey(name: string, type: QuestionType, cls: number): string {
  return `${canonical(name)}|${type}|${cls}`;
}

// === TCP framing (RFC 1035 §4.2.2) ===

/**
 * Prefixes a message with its two-byte length for TCP.
 *
 * @param msg The message bytes.
 * @returns The framed bytes.
 *
 * @example
 * ```ts
 * import { frameTcp } from "@rtclite/std/ietf/rfc1035";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(frameTcp(Uint8Array.of(1, 2, 3)), Uint8Array.of(0, 3, 1, 2, 3));
 * ```
 */
// @implements RFC1035 §4.2.2
export function frameTcp(msg: Uint8Array): Uint8Array {
  if (msg.length > 0xffff) throw new RangeError(`Cannot frame DNS message: ${msg.length} bytes`);
  const out = new Uint8Array(msg.length + 2);
  out[0] = msg.length >> 8;
  out[1] = msg.length & 0xff;
  out.set(msg, 2);
  return out;
}

/**
 * Reads DNS messages out of a TCP byte stream (RFC 1035 §4.2.2), where each
 * message comes after its two-byte length. {@linkcode TcpDeframer.push} the
 * bytes as they arrive, in pieces of any size, and call
 * {@linkcode TcpDeframer.next} for each whole message until it returns
 * `undefined`. A length prefix above `maxLength` is a
 * {@linkcode DnsParseError}: the stream cannot be read further, so close the
 * connection.
 *
 * @example Two messages in three reads
 * ```ts
 * import { frameTcp, TcpDeframer } from "@rtclite/std/ietf/rfc1035";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const stream = Uint8Array.of(...frameTcp(Uint8Array.of(1, 2, 3)), ...frameTcp(Uint8Array.of(4)));
 * const deframer = new TcpDeframer();
 * deframer.push(stream.subarray(0, 1));
 * equal(deframer.next(), undefined);
 * deframer.push(stream.subarray(1, 6));
 * deepEqual(deframer.next(), Uint8Array.of(1, 2, 3));
 * deframer.push(stream.subarray(6));
 * deepEqual(deframer.next(), Uint8Array.of(4));
 * equal(deframer.pending, 0);
 * ```
 */
// @implements RFC1035 §4.2.2
export class TcpDeframer {
  /** The longest message accepted, in bytes. */
  readonly maxLength: number;
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;
  #consumed = 0;

  /**
   * Creates a deframer.
   *
   * @param maxLength The longest message accepted (default 65535, the most
   *   a length prefix can say).
   * @throws {RangeError} When `maxLength` is not an integer from 0 to 65535.
   */
  constructor(maxLength = 0xffff) {
    if (!Number.isInteger(maxLength) || maxLength < 0 || maxLength > 0xffff) {
      throw new RangeError(`Invalid DNS over TCP length limit: ${maxLength}, expected 0 to 65535`);
    }
    this.maxLength = maxLength;
  }

  /** Bytes received but not yet returned by {@linkcode TcpDeframer.next}. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /**
   * Adds bytes read from the stream (they are copied).
   *
   * @param chunk The bytes, in stream order.
   */
  push(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#buf.length) {
      const live = this.#end - this.#start;
      if (live + chunk.length <= this.#buf.length) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const next = new Uint8Array(Math.max(live + chunk.length, this.#buf.length * 2, 512));
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /**
   * Returns the next whole message, without its length prefix.
   *
   * @returns A copy of the message, or `undefined` until more bytes come.
   * @throws {DnsParseError} When the length prefix says more than
   *   `maxLength`; `offset` is the prefix's place in the stream, and every
   *   later call throws the same.
   */
  next(): Uint8Array | undefined {
    const b = this.#buf, s = this.#start;
    if (this.#end - s < 2) return undefined;
    const len = (b[s]! << 8) | b[s + 1]!;
    if (len > this.maxLength) {
      throw new DnsParseError(
        `Cannot decode DNS over TCP: length prefix of ${len} bytes, more than the limit of ${this.maxLength}`,
        this.#consumed,
      );
    }
    if (this.#end - s - 2 < len) return undefined;
    this.#start = s + 2 + len;
    this.#consumed += 2 + len;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return b.slice(s + 2, s + 2 + len);
  }
}

// === Authoritative zone and server (RFC 1035 §6.2, §4.3.2 of RFC 1034) ===

/**
 * A table of records answering queries authoritatively: exact matches, the
 * CNAME chain inside the zone, NXDOMAIN (with the SOA, if any) for names it
 * does not have, addresses of SRV/MX/NS targets as additional data, and the
 * TC bit when a UDP answer does not fit.
 *
 * @example
 * ```ts
 * import { DnsZone } from "@rtclite/std/ietf/rfc1035";
 * import { equal } from "node:assert/strict";
 *
 * const zone = new DnsZone([{ name: "sip.test", type: "A", ttl: 60, data: "127.0.0.1" }]);
 * const res = zone.answer({ id: 1, questions: [{ name: "SIP.test", type: "A" }] });
 * equal(res.aa, true);
 * equal(res.answers.length, 1);
 * equal(zone.answer({ questions: [{ name: "x.sip.test", type: "A" }] }).rcode, 3);
 * ```
 */
// @implements RFC1035 §6.2
export class DnsZone {
  #byName = new Map<string, DnsRecord[]>();
  #origins: string[];

  /**
   * Creates a zone.
   *
   * @param records The records.
   * @param origins Names the zone is authoritative for (default: the owners
   *   of its SOA records, or else every name); queries outside get REFUSED.
   */
  constructor(records: DnsRecord[], origins?: string[]) {
    for (const rr of records) this.add(rr);
    this.#origins = (origins ?? records.filter((rr) => rr.type === "SOA").map((rr) => rr.name))
      .map(canonical);
  }

  /**
   * Adds a record.
   *
   * @param rr The record; its class defaults to IN.
   */
  add(rr: DnsRecord): void {
    const key = canonical(rr.name);
    const list = this.#byName.get(key) ?? [];
    list.push({ ...rr, class: rr.class ?? 1 });
    this.#byName.set(key, list);
  }

  /**
   * Builds the response to a query.
   *
   * @param query The decoded query (only the first question is answered).
   * @param maxSize Largest response size; larger ones are cut to the
   *   question with TC set (UDP: 512 or the query's EDNS size).
   * @returns The response message.
   */
  answer(query: DnsMessageInit, maxSize = 65535): DnsMessage {
    const res: DnsMessage = {
      id: query.id ?? 0,
      qr: true,
      opcode: query.opcode ?? 0,
      aa: false,
      tc: false,
      rd: query.rd ?? false,
      ra: false,
      z: false,
      ad: false,
      cd: query.cd ?? false,
      rcode: RCODE.NOERROR,
      questions: (query.questions ?? []).slice(0, 1).map((q) => ({ ...q, class: q.class ?? 1 })),
      answers: [],
      authorities: [],
      additionals: [],
    };
    if (query.edns) res.edns = { udpPayloadSize: 1232 };
    const q = res.questions[0];
    if ((query.opcode ?? 0) !== 0) return { ...res, rcode: RCODE.NOTIMP };
    if (!q || (query.questions?.length ?? 0) !== 1) return { ...res, rcode: RCODE.FORMERR };
    const qname = canonical(q.name);
    const origin = this.#origins.length
      ? this.#origins.filter((o) => o === "" || qname === o || qname.endsWith("." + o))
        .sort((a, b) => b.length - a.length)[0]
      : "";
    if (origin === undefined) return { ...res, rcode: RCODE.REFUSED };
    res.aa = true;
    let owner = qname;
    for (let hops = 0; hops < 8; hops++) {
      const rrs = (this.#byName.get(owner) ?? []).filter((rr) => rr.class === q.class);
      if (!this.#byName.has(owner)) {
        if (hops === 0) res.rcode = RCODE.NXDOMAIN;
        break;
      }
      const hits = rrs.filter((rr) => q.type === "ANY" || rr.type === q.type);
      if (hits.length) {
        res.answers.push(...hits);
        break;
      }
      const cname = rrs.find((rr) => rr.type === "CNAME") as NameRecord<"CNAME"> | undefined;
      if (!cname) break;
      res.answers.push(cname);
      owner = canonical(cname.data);
    }
    if (res.answers.length === 0) {
      const soa = this.#byName.get(origin)?.find((rr) => rr.type === "SOA");
      if (soa) res.authorities.push(soa);
    }
    // Additional section processing: addresses of the hosts named in the answer.
    const seen = new Set<string>();
    for (const rr of res.answers) {
      const host = rr.type === "SRV"
        ? rr.data.target
        : rr.type === "MX"
        ? rr.data.exchange
        : rr.type === "NS"
        ? rr.data
        : undefined;
      if (host === undefined || seen.has(canonical(host))) continue;
      seen.add(canonical(host));
      for (const a of this.#byName.get(canonical(host)) ?? []) {
        if (a.type === "A" || a.type === "AAAA") res.additionals.push(a);
      }
    }
    // @implements RFC1035 §4.2.1 ¶2
    if (encodeMessage(res).length > maxSize) {
      res.tc = true;
      res.answers = [];
      res.authorities = [];
      res.additionals = [];
    }
    return res;
  }
}
