// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * SDP, the Session Description Protocol: parse and format session descriptions. Named for
 * RFC 4566, this module implements its successor RFC 8866, which obsoletes it: section numbers
 * are RFC 8866's. They are the same in RFC 4566 for the line types (§5.1-§5.14) and the
 * grammar (§9); the attributes that RFC 8866 numbers §6.1-§6.15 (`rtpmap` §6.6, the
 * directions §6.7, `fmtp` §6.15) are all in RFC 4566 §6.
 *
 * {@linkcode parseSdp} turns the text into a {@linkcode SessionDescription} that mirrors the
 * lines one to one: every line type (`v o s i u e p c b t r z k a m`) has a field, attributes
 * stay in their order as `{ name, value }` pairs (unknown ones are kept verbatim), and
 * {@linkcode formatSdp} writes the same lines back with CRLF endings, so
 * `formatSdp(parseSdp(text))` reproduces a well-formed description. The line order of
 * RFC 8866 §5 is enforced, and missing mandatory lines (`v=`, `o=`, `s=`, `t=`, a `c=` for
 * every media) raise {@linkcode SdpParseError}; `{ strict: false }` relaxes order, unknown
 * type letters and the `c=` rule for sloppy peers.
 *
 * Helpers read the attributes most applications need: {@linkcode getRtpMaps} (`a=rtpmap`
 * joined with `a=fmtp`), {@linkcode getDirection}, {@linkcode getAttribute}, and
 * {@linkcode parseTypedTime} for `r=`/`z=` values.
 *
 * API summary (used by `@rtclite/std/ietf/rfc3264` and the SIP applications):
 * - `parseSdp(text, { strict? }) → SessionDescription`, `formatSdp(sd) → string`
 * - `SessionDescription { version, origin, name, information?, uri?, emails, phones,
 *   connection?, bandwidths, times, zones, key?, attributes, media }`
 * - `MediaDescription { type, port, portCount?, proto, formats, information?, connections,
 *   bandwidths, key?, attributes }`
 * - `getRtpMaps(media) → RtpMap[]`, `getDirection(media, session?)`,
 *   `getAttribute(attrs, name)`, `getAttributes(attrs, name)`, `formatRtpMap(map)`.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc8866 | RFC 8866} (which obsoletes
 * {@link https://www.rfc-editor.org/rfc/rfc4566 | RFC 4566}).
 *
 * Command line (`main.ts`): `deno run -A std/ietf/rfc4566/main.ts file.sdp` prints the
 * description as JSON; `--format` writes it back as SDP (use `-` to read standard input).
 *
 * @example Parse an offer and read its codecs
 * ```ts
 * import { formatSdp, getRtpMaps, parseSdp } from "@rtclite/std/ietf/rfc4566";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const text = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\ns=-\r\n" +
 *   "c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 101\r\n" +
 *   "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n";
 * const sd = parseSdp(text);
 * equal(sd.media[0]!.port, 49170);
 * deepEqual(getRtpMaps(sd.media[0]!).map((m) => m.encoding), ["PCMU", "telephone-event"]);
 * equal(formatSdp(sd), text);
 * ```
 *
 * @module
 */
// @implements RFC8866 (SDP)

import { ParseError } from "../../errors.ts";

export { ParseError };

/** SDP text that does not follow RFC 8866's grammar or misses a mandatory line. */
export class SdpParseError extends ParseError {}

// === Types (RFC 8866 §5) ===

/** The `o=` line: who created the description and its version. */
export interface Origin {
  /** User's login on the originating host, or `-`. */
  username: string;
  /** Numeric session id, kept as a string (it may exceed 2^53). */
  sessionId: string;
  /** Numeric version, incremented on each modification; a string like `sessionId`. */
  sessionVersion: string;
  /** Network type, normally `IN`. */
  netType: string;
  /** Address type, normally `IP4` or `IP6`. */
  addrType: string;
  /** Unicast address or FQDN of the originating host. */
  address: string;
}

/** A `c=` line. */
export interface Connection {
  /** Network type, normally `IN`. */
  netType: string;
  /** Address type, `IP4` or `IP6`. */
  addrType: string;
  /** The address without the `/ttl/count` suffix. */
  address: string;
  /** IPv4 multicast TTL (`224.2.1.1/127`). */
  ttl?: number;
  /** Number of consecutive multicast addresses (`/3`). */
  count?: number;
}

/** A `b=` line, e.g. `AS:64`. */
export interface Bandwidth {
  /** Bandwidth type: `CT`, `AS`, `TIAS`, `RS`, `RR`, ... */
  type: string;
  /** Value, normally in kilobits per second. */
  value: number;
}

/** A `t=` line with its `r=` lines. */
export interface Timing {
  /** Start time in NTP seconds (since 1900), 0 for unbounded. */
  start: number;
  /** Stop time in NTP seconds, 0 for unbounded. */
  stop: number;
  /** The `r=` lines that follow this `t=`. */
  repeats: Repeat[];
}

/** An `r=` line; values are typed times as written (`7d`, `3600`), see {@linkcode parseTypedTime}. */
export interface Repeat {
  /** Repeat interval. */
  interval: string;
  /** Active duration. */
  duration: string;
  /** Offsets from the start time (at least one). */
  offsets: string[];
}

/** One adjustment of a `z=` line. */
export interface ZoneAdjustment {
  /** NTP time (seconds) at which the adjustment happens. */
  time: number;
  /** Offset as written, e.g. `-1h` or `0`. */
  offset: string;
}

/** A `k=` line (obsolete in RFC 8866 but still parsed). */
export interface Key {
  /** `prompt`, `clear`, `base64` or `uri`. */
  method: string;
  /** The key or URI after the colon, if any. */
  value?: string;
}

/** An `a=` line: a property (`a=recvonly`) has no value, a value attribute has one. */
export interface Attribute {
  /** Attribute name, e.g. `rtpmap`. */
  name: string;
  /** Everything after the first colon; absent for property attributes. */
  value?: string;
}

/** A media description: the `m=` line and the lines that follow it. */
export interface MediaDescription {
  /** Media type: `audio`, `video`, `text`, `application`, `image`, ... */
  type: string;
  /** Transport port; 0 marks a rejected or removed stream (RFC 3264). */
  port: number;
  /** Number of ports from `port/n`. */
  portCount?: number;
  /** Transport protocol, e.g. `RTP/AVP`. */
  proto: string;
  /** Media formats: RTP payload type numbers as strings for RTP profiles. */
  formats: string[];
  /** Media title (`i=`). */
  information?: string;
  /** `c=` lines of this media (zero or more). */
  connections: Connection[];
  /** `b=` lines of this media. */
  bandwidths: Bandwidth[];
  /** `k=` line of this media. */
  key?: Key;
  /** `a=` lines in order. */
  attributes: Attribute[];
}

/** A whole session description. */
export interface SessionDescription {
  /** Protocol version (`v=`), 0. */
  version: number;
  /** The `o=` line. */
  origin: Origin;
  /** Session name (`s=`); `-` or a space when there is none. */
  name: string;
  /** Session information (`i=`). */
  information?: string;
  /** URI of a description (`u=`). */
  uri?: string;
  /** `e=` lines. */
  emails: string[];
  /** `p=` lines. */
  phones: string[];
  /** Session-level `c=`. */
  connection?: Connection;
  /** Session-level `b=` lines. */
  bandwidths: Bandwidth[];
  /** Time descriptions (`t=` with their `r=` lines); at least one. */
  times: Timing[];
  /** The `z=` adjustments. */
  zones: ZoneAdjustment[];
  /** Session-level `k=`. */
  key?: Key;
  /** Session-level `a=` lines in order. */
  attributes: Attribute[];
  /** Media descriptions in order. */
  media: MediaDescription[];
}

/** Options for {@linkcode parseSdp}. */
export interface ParseSdpOptions {
  /**
   * `true` (default): enforce RFC 8866's line order, reject unknown type letters and require a
   * `c=` line for every media. `false`: accept lines in any order, skip unknown type letters and
   * missing `c=` lines (mandatory `v=`, `o=`, `s=` are still required).
   */
  strict?: boolean;
  /** Largest accepted text in characters (default 262 144); longer input is rejected. */
  maxLength?: number;
}

// === Parsing (RFC 8866 §5, §9) ===

// Session-level order rank of each type letter (RFC 8866 §5 overview); `t r z` form a group.
const SESSION_ORDER: Record<string, number> = {
  v: 0,
  o: 1,
  s: 2,
  i: 3,
  u: 4,
  e: 5,
  p: 6,
  c: 7,
  b: 8,
  t: 9,
  r: 9,
  z: 10,
  k: 11,
  a: 12,
};
const MEDIA_ORDER: Record<string, number> = { m: 0, i: 1, c: 2, b: 3, k: 4, a: 5 };
const DIGITS = /^\d+$/;
const TOKEN = /^[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+$/;
const TYPED_TIME = /^-?\d+[dhms]?$/;

/**
 * Parses a session description.
 *
 * Lines may end with CRLF or a bare LF (RFC 8866 §5); a trailing empty line is ignored.
 *
 * @param text The SDP text.
 * @param options `strict` (default `true`) controls order and completeness checks.
 * @returns The description with every line kept.
 * @throws {SdpParseError} When a line is malformed or a mandatory line is missing.
 * @see {@link https://www.rfc-editor.org/rfc/rfc8866#section-5 | RFC 8866 §5}
 *
 * @example
 * ```ts
 * import { parseSdp } from "@rtclite/std/ietf/rfc4566";
 * import { equal, throws } from "node:assert/strict";
 *
 * const sd = parseSdp("v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 224.2.1.1/127/3\nt=0 0\n");
 * equal(sd.connection?.ttl, 127);
 * equal(sd.connection?.count, 3);
 * throws(() => parseSdp("v=0\ns=-\n"), /missing o= line/);
 * ```
 */
export function parseSdp(text: string, options: ParseSdpOptions = {}): SessionDescription {
  const strict = options.strict ?? true;
  const maxLength = options.maxLength ?? 262_144;
  if (text.length > maxLength) {
    throw new SdpParseError(
      `Cannot parse SDP: ${text.length} characters exceed the limit of ${maxLength}`,
      maxLength,
    );
  }
  const sd: SessionDescription = {
    version: 0,
    origin: {
      username: "",
      sessionId: "",
      sessionVersion: "",
      netType: "",
      addrType: "",
      address: "",
    },
    name: "",
    emails: [],
    phones: [],
    bandwidths: [],
    times: [],
    zones: [],
    attributes: [],
    media: [],
  };
  const seen = new Set<string>();
  let media: MediaDescription | undefined;
  let rank = -1;
  let pos = 0;
  let lineNo = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = n;
    const lineEnd = end > pos && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    const start = pos;
    pos = end + 1;
    lineNo++;
    if (lineEnd === start) {
      if (pos >= n) break; // trailing empty line
      if (strict) throw new SdpParseError(`Cannot parse SDP: empty line ${lineNo}`, start);
      continue;
    }
    const line = text.slice(start, lineEnd);
    const type = line[0]!;
    const fail = (detail: string): never => {
      throw new SdpParseError(`Cannot parse SDP line ${lineNo} "${clip(line)}": ${detail}`, start);
    };
    if (line.charCodeAt(1) !== 61 /* = */) fail("expected <type>=<value>");
    const value = line.slice(2);
    // @implements RFC8866 §5 ¶5-9
    if (lineNo === 1 && type !== "v") fail("the first line must be v=");
    const order = media ? MEDIA_ORDER : SESSION_ORDER;
    const r = type === "m" ? 100 : order[type];
    if (r === undefined) {
      if (strict && media && SESSION_ORDER[type] !== undefined) {
        fail(`${type}= is not allowed in a media description`);
      }
      if (strict) fail(`unknown type letter "${type}"`);
      continue;
    }
    if (strict && r < rank) fail(`${type}= is out of order`);
    if (type !== "m") rank = r;
    else rank = 0;
    switch (type) {
      // @implements RFC8866 §5.1
      case "v":
        if (seen.has("v")) fail("duplicate v= line");
        if (!DIGITS.test(value)) fail("version must be a number");
        sd.version = Number(value);
        if (sd.version !== 0) fail(`unsupported version ${value}`);
        break;
      // @implements RFC8866 §5.2
      case "o": {
        if (seen.has("o")) fail("duplicate o= line");
        const f = value.split(" ");
        if (f.length !== 6 || f.some((x) => x === "")) {
          fail("expected <username> <sess-id> <sess-version> <nettype> <addrtype> <address>");
        }
        if (!DIGITS.test(f[1]!) || !DIGITS.test(f[2]!)) {
          fail("session id and version must be numbers");
        }
        sd.origin = {
          username: f[0]!,
          sessionId: f[1]!,
          sessionVersion: f[2]!,
          netType: f[3]!,
          addrType: f[4]!,
          address: f[5]!,
        };
        break;
      }
      // @implements RFC8866 §5.3
      case "s":
        if (seen.has("s")) fail("duplicate s= line");
        sd.name = value;
        break;
      // @implements RFC8866 §5.4
      case "i":
        if (media) {
          if (media.information !== undefined && strict) fail("duplicate i= line");
          media.information = value;
        } else {
          if (sd.information !== undefined && strict) fail("duplicate i= line");
          sd.information = value;
        }
        break;
      // @implements RFC8866 §5.5
      case "u":
        if (sd.uri !== undefined && strict) fail("duplicate u= line");
        sd.uri = value;
        break;
      // @implements RFC8866 §5.6
      case "e":
        sd.emails.push(value);
        break;
      case "p":
        sd.phones.push(value);
        break;
      case "c": {
        const c = parseConnection(value, fail);
        if (media) media.connections.push(c);
        else {
          if (sd.connection && strict) fail("duplicate session-level c= line");
          sd.connection = c;
        }
        break;
      }
      // @implements RFC8866 §5.8
      case "b": {
        const colon = value.indexOf(":");
        const bwValue = value.slice(colon + 1);
        if (colon <= 0 || !DIGITS.test(bwValue)) fail("expected <bwtype>:<bandwidth>");
        (media ? media.bandwidths : sd.bandwidths).push({
          type: value.slice(0, colon),
          value: Number(bwValue),
        });
        break;
      }
      // @implements RFC8866 §5.9
      case "t": {
        const f = value.split(" ");
        if (f.length !== 2 || !DIGITS.test(f[0]!) || !DIGITS.test(f[1]!)) {
          fail("expected <start-time> <stop-time>");
        }
        if (sd.zones.length && strict) fail("t= after z=");
        sd.times.push({ start: Number(f[0]), stop: Number(f[1]), repeats: [] });
        break;
      }
      // @implements RFC8866 §5.10
      case "r": {
        const f = value.split(" ");
        if (f.length < 3 || f.some((x) => !TYPED_TIME.test(x) || x.startsWith("-"))) {
          fail("expected <repeat interval> <active duration> <offsets>...");
        }
        const t = sd.times[sd.times.length - 1];
        if (!t) fail("r= without a t= line");
        t!.repeats.push({ interval: f[0]!, duration: f[1]!, offsets: f.slice(2) });
        break;
      }
      // @implements RFC8866 §5.11
      case "z": {
        const f = value.split(" ");
        if (f.length % 2 !== 0) fail("expected pairs of <adjustment time> <offset>");
        for (let k = 0; k < f.length; k += 2) {
          if (!DIGITS.test(f[k]!) || !TYPED_TIME.test(f[k + 1]!)) fail("bad adjustment");
          sd.zones.push({ time: Number(f[k]), offset: f[k + 1]! });
        }
        break;
      }
      // @implements RFC8866 §5.12
      case "k": {
        const colon = value.indexOf(":");
        const key: Key = colon < 0
          ? { method: value }
          : { method: value.slice(0, colon), value: value.slice(colon + 1) };
        if (!key.method) fail("empty key method");
        if (media) media.key = key;
        else sd.key = key;
        break;
      }
      // @implements RFC8866 §5.13
      case "a": {
        const colon = value.indexOf(":");
        const name = colon < 0 ? value : value.slice(0, colon);
        if (!TOKEN.test(name)) fail("attribute name must be a token");
        const attr: Attribute = colon < 0 ? { name } : { name, value: value.slice(colon + 1) };
        (media ? media.attributes : sd.attributes).push(attr);
        break;
      }
      // @implements RFC8866 §5.14
      case "m": {
        checkSession(sd, seen, strict, start);
        if (media) checkMedia(sd, media, strict, start);
        media = parseMediaLine(value, fail);
        sd.media.push(media);
        break;
      }
    }
    seen.add(type);
  }
  checkSession(sd, seen, strict, n);
  if (media) checkMedia(sd, media, strict, n);
  return sd;
}

function clip(line: string): string {
  return line.length > 60 ? line.slice(0, 57) + "..." : line;
}

function checkSession(sd: SessionDescription, seen: Set<string>, strict: boolean, at: number) {
  for (const t of ["v", "o", "s"]) {
    if (!seen.has(t)) throw new SdpParseError(`Cannot parse SDP: missing ${t}= line`, at);
  }
  if (strict && sd.times.length === 0) {
    throw new SdpParseError("Cannot parse SDP: missing t= line", at);
  }
}

// @implements RFC8866 §5.7 ¶1-2
function checkMedia(sd: SessionDescription, m: MediaDescription, strict: boolean, at: number) {
  if (strict && !sd.connection && m.connections.length === 0) {
    throw new SdpParseError(
      `Cannot parse SDP: media ${
        sd.media.indexOf(m) + 1
      } (${m.type}) has no c= line and there is no session-level c=`,
      at,
    );
  }
}

// @implements RFC8866 §5.7
function parseConnection(value: string, fail: (d: string) => never): Connection {
  const f = value.split(" ");
  if (f.length !== 3 || f.some((x) => x === "")) fail("expected <nettype> <addrtype> <address>");
  const [netType, addrType, addr] = f as [string, string, string];
  const parts = addr.split("/");
  const c: Connection = { netType, addrType, address: parts[0]! };
  if (parts.length > 3 || parts.slice(1).some((p) => !DIGITS.test(p))) fail("bad address suffix");
  if (addrType === "IP4" && parts.length > 1) {
    c.ttl = Number(parts[1]);
    if (c.ttl > 255) fail("TTL must be 0-255");
    if (parts.length === 3) c.count = Number(parts[2]);
  } else if (parts.length === 2) {
    c.count = Number(parts[1]);
  } else if (parts.length === 3) {
    fail("only IP4 multicast addresses have a TTL");
  }
  return c;
}

// @implements RFC8866 §5.14
function parseMediaLine(value: string, fail: (d: string) => never): MediaDescription {
  const f = value.split(" ");
  if (f.length < 4 || f.some((x) => x === "")) fail("expected <media> <port> <proto> <fmt> ...");
  const [type, portSpec, proto] = f as [string, string, string];
  const slash = portSpec.indexOf("/");
  const portStr = slash < 0 ? portSpec : portSpec.slice(0, slash);
  if (!DIGITS.test(portStr) || Number(portStr) > 65535) fail("bad port");
  const m: MediaDescription = {
    type,
    port: Number(portStr),
    proto,
    formats: f.slice(3),
    connections: [],
    bandwidths: [],
    attributes: [],
  };
  if (slash >= 0) {
    const count = portSpec.slice(slash + 1);
    if (!DIGITS.test(count)) fail("bad number of ports");
    m.portCount = Number(count);
  }
  return m;
}

// === Formatting ===

/**
 * Formats a session description as SDP text with CRLF line endings, in RFC 8866 order.
 *
 * @param sd The description.
 * @returns The SDP text, ending with CRLF.
 * @see {@link https://www.rfc-editor.org/rfc/rfc8866#section-5 | RFC 8866 §5}
 *
 * @example
 * ```ts
 * import { formatSdp } from "@rtclite/std/ietf/rfc4566";
 * import { equal } from "node:assert/strict";
 *
 * const text = formatSdp({
 *   version: 0,
 *   origin: { username: "-", sessionId: "1", sessionVersion: "1", netType: "IN", addrType: "IP4", address: "127.0.0.1" },
 *   name: "-", emails: [], phones: [], bandwidths: [], zones: [], attributes: [],
 *   connection: { netType: "IN", addrType: "IP4", address: "127.0.0.1" },
 *   times: [{ start: 0, stop: 0, repeats: [] }],
 *   media: [{ type: "audio", port: 4000, proto: "RTP/AVP", formats: ["0"], connections: [],
 *     bandwidths: [], attributes: [{ name: "sendrecv" }] }],
 * });
 * equal(text.split("\r\n")[5], "m=audio 4000 RTP/AVP 0");
 * equal(text.endsWith("a=sendrecv\r\n"), true);
 * ```
 */
export function formatSdp(sd: SessionDescription): string {
  const o = sd.origin;
  let s =
    `v=${sd.version}\r\no=${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}\r\ns=${sd.name}\r\n`;
  if (sd.information !== undefined) s += `i=${sd.information}\r\n`;
  if (sd.uri !== undefined) s += `u=${sd.uri}\r\n`;
  for (const e of sd.emails) s += `e=${e}\r\n`;
  for (const p of sd.phones) s += `p=${p}\r\n`;
  if (sd.connection) s += `c=${formatConnection(sd.connection)}\r\n`;
  for (const b of sd.bandwidths) s += `b=${b.type}:${b.value}\r\n`;
  const times = sd.times.length ? sd.times : [{ start: 0, stop: 0, repeats: [] }];
  for (const t of times) {
    s += `t=${t.start} ${t.stop}\r\n`;
    for (const r of t.repeats) s += `r=${r.interval} ${r.duration} ${r.offsets.join(" ")}\r\n`;
  }
  if (sd.zones.length) s += `z=${sd.zones.map((z) => `${z.time} ${z.offset}`).join(" ")}\r\n`;
  if (sd.key) s += `k=${formatKey(sd.key)}\r\n`;
  s += formatAttributes(sd.attributes);
  for (const m of sd.media) {
    s += `m=${m.type} ${m.port}${m.portCount !== undefined ? "/" + m.portCount : ""} ${m.proto} ${
      m.formats.join(" ")
    }\r\n`;
    if (m.information !== undefined) s += `i=${m.information}\r\n`;
    for (const c of m.connections) s += `c=${formatConnection(c)}\r\n`;
    for (const b of m.bandwidths) s += `b=${b.type}:${b.value}\r\n`;
    if (m.key) s += `k=${formatKey(m.key)}\r\n`;
    s += formatAttributes(m.attributes);
  }
  return s;
}

function formatConnection(c: Connection): string {
  let a = `${c.netType} ${c.addrType} ${c.address}`;
  if (c.ttl !== undefined) a += `/${c.ttl}`;
  if (c.count !== undefined) a += `/${c.count}`;
  return a;
}

function formatKey(k: Key): string {
  return k.value === undefined ? k.method : `${k.method}:${k.value}`;
}

function formatAttributes(attrs: readonly Attribute[]): string {
  let s = "";
  for (const a of attrs) {
    s += a.value === undefined ? `a=${a.name}\r\n` : `a=${a.name}:${a.value}\r\n`;
  }
  return s;
}

// === Attributes (RFC 8866 §6; all in RFC 4566 §6, without subsections) ===

/**
 * Returns the value of the first attribute named `name`: `""` for a property attribute,
 * `undefined` when absent.
 *
 * @param attrs Session or media attributes.
 * @param name Attribute name (case-sensitive).
 * @returns The value, `""` for a property, or `undefined`.
 *
 * @example
 * ```ts
 * import { getAttribute } from "@rtclite/std/ietf/rfc4566";
 * import { equal } from "node:assert/strict";
 *
 * const attrs = [{ name: "ptime", value: "20" }, { name: "sendonly" }];
 * equal(getAttribute(attrs, "ptime"), "20");
 * equal(getAttribute(attrs, "sendonly"), "");
 * equal(getAttribute(attrs, "recvonly"), undefined);
 * ```
 */
export function getAttribute(attrs: readonly Attribute[], name: string): string | undefined {
  for (const a of attrs) if (a.name === name) return a.value ?? "";
  return undefined;
}

/**
 * Returns the values of all attributes named `name`, in order.
 *
 * @param attrs Session or media attributes.
 * @param name Attribute name.
 * @returns The values (`""` for property attributes).
 *
 * @example
 * ```ts
 * import { getAttributes } from "@rtclite/std/ietf/rfc4566";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(getAttributes([{ name: "tool", value: "a" }, { name: "tool", value: "b" }], "tool"), ["a", "b"]);
 * ```
 */
export function getAttributes(attrs: readonly Attribute[], name: string): string[] {
  const out: string[] = [];
  for (const a of attrs) if (a.name === name) out.push(a.value ?? "");
  return out;
}

/** Media direction attributes (RFC 8866 §6.7). */
export type Direction = "sendrecv" | "sendonly" | "recvonly" | "inactive";

const DIRECTIONS: readonly string[] = ["sendrecv", "sendonly", "recvonly", "inactive"];

/**
 * Returns the direction of a media description: its own direction attribute, else the
 * session's, else `sendrecv`.
 *
 * @param media The media description.
 * @param session The session, for a session-level default.
 * @returns The direction.
 * @see {@link https://www.rfc-editor.org/rfc/rfc8866#section-6.7 | RFC 8866 §6.7}
 * (in {@link https://www.rfc-editor.org/rfc/rfc4566#section-6 | RFC 4566 §6})
 *
 * @example
 * ```ts
 * import { getDirection, parseSdp } from "@rtclite/std/ietf/rfc4566";
 * import { equal } from "node:assert/strict";
 *
 * const sd = parseSdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\na=recvonly\nm=audio 1 RTP/AVP 0\n");
 * equal(getDirection(sd.media[0]!, sd), "recvonly");
 * ```
 */
// @implements RFC8866 §6.7
export function getDirection(media: MediaDescription, session?: SessionDescription): Direction {
  for (const a of media.attributes) if (DIRECTIONS.includes(a.name)) return a.name as Direction;
  if (session) {
    for (const a of session.attributes) if (DIRECTIONS.includes(a.name)) return a.name as Direction;
  }
  return "sendrecv";
}

/** An RTP payload format: `a=rtpmap` (or a static payload type) with its `a=fmtp`. */
export interface RtpMap {
  /** RTP payload type, 0-127. */
  payloadType: number;
  /** Encoding name as written, e.g. `PCMU`, `opus`, `telephone-event`. */
  encoding: string;
  /** RTP clock rate in Hz. */
  clockRate: number;
  /** Encoding parameters: audio channels. */
  channels?: number;
  /** Format parameters from `a=fmtp`. */
  parameters?: string;
}

// Static audio/video payload types of RFC 3551 §6 used when a format has no a=rtpmap.
const STATIC: Record<number, [string, number, number?]> = {
  0: ["PCMU", 8000, 1],
  3: ["GSM", 8000, 1],
  4: ["G723", 8000, 1],
  5: ["DVI4", 8000, 1],
  6: ["DVI4", 16000, 1],
  7: ["LPC", 8000, 1],
  8: ["PCMA", 8000, 1],
  9: ["G722", 8000, 1],
  10: ["L16", 44100, 2],
  11: ["L16", 44100, 1],
  12: ["QCELP", 8000, 1],
  13: ["CN", 8000, 1],
  14: ["MPA", 90000],
  15: ["G728", 8000, 1],
  16: ["DVI4", 11025, 1],
  17: ["DVI4", 22050, 1],
  18: ["G729", 8000, 1],
  25: ["CelB", 90000],
  26: ["JPEG", 90000],
  28: ["nv", 90000],
  31: ["H261", 90000],
  32: ["MPV", 90000],
  33: ["MP2T", 90000],
  34: ["H263", 90000],
};

/**
 * Parses an `a=rtpmap` value (`<payload type> <encoding name>/<clock rate>[/<parameters>]`).
 *
 * @param value The attribute value.
 * @returns The payload format.
 * @throws {SdpParseError} When the value is malformed.
 * @see {@link https://www.rfc-editor.org/rfc/rfc8866#section-6.6 | RFC 8866 §6.6}
 * (in {@link https://www.rfc-editor.org/rfc/rfc4566#section-6 | RFC 4566 §6})
 *
 * @example
 * ```ts
 * import { parseRtpMap } from "@rtclite/std/ietf/rfc4566";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(parseRtpMap("111 opus/48000/2"), { payloadType: 111, encoding: "opus", clockRate: 48000, channels: 2 });
 * ```
 */
// @implements RFC8866 §6.6
export function parseRtpMap(value: string): RtpMap {
  const m = /^(\d{1,3}) ([^/ ]+)\/(\d+)(?:\/(\d+))?$/.exec(value.trim());
  if (!m || Number(m[1]) > 127) {
    throw new SdpParseError(`Cannot parse a=rtpmap: "${clip(value)}"`, 0);
  }
  const map: RtpMap = { payloadType: Number(m[1]), encoding: m[2]!, clockRate: Number(m[3]) };
  if (m[4] !== undefined) map.channels = Number(m[4]);
  return map;
}

/**
 * Formats an `a=rtpmap` value.
 *
 * @param map The payload format.
 * @returns `<payload type> <encoding>/<clock rate>[/<channels>]`.
 *
 * @example
 * ```ts
 * import { formatRtpMap } from "@rtclite/std/ietf/rfc4566";
 * import { equal } from "node:assert/strict";
 *
 * equal(formatRtpMap({ payloadType: 0, encoding: "PCMU", clockRate: 8000 }), "0 PCMU/8000");
 * ```
 */
export function formatRtpMap(map: RtpMap): string {
  return `${map.payloadType} ${map.encoding}/${map.clockRate}${
    map.channels !== undefined ? "/" + map.channels : ""
  }`;
}

/**
 * Returns the RTP payload formats of a media description in `m=` order, joining `a=rtpmap`,
 * `a=fmtp` and, for static payload types without `a=rtpmap`, RFC 3551's table. Formats that
 * are neither mapped nor static are skipped.
 *
 * @param media The media description.
 * @returns The payload formats.
 * @see {@link https://www.rfc-editor.org/rfc/rfc8866#section-6.15 | RFC 8866 §6.15}
 * (in {@link https://www.rfc-editor.org/rfc/rfc4566#section-6 | RFC 4566 §6})
 *
 * @example
 * ```ts
 * import { getRtpMaps, parseSdp } from "@rtclite/std/ietf/rfc4566";
 * import { deepEqual } from "node:assert/strict";
 *
 * const sd = parseSdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\n" +
 *   "m=audio 1 RTP/AVP 8 101\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\n");
 * deepEqual(getRtpMaps(sd.media[0]!), [
 *   { payloadType: 8, encoding: "PCMA", clockRate: 8000, channels: 1 },
 *   { payloadType: 101, encoding: "telephone-event", clockRate: 8000, parameters: "0-16" },
 * ]);
 * ```
 */
// @implements RFC8866 §6.15
export function getRtpMaps(media: MediaDescription): RtpMap[] {
  const maps = new Map<number, RtpMap>();
  const fmtps = new Map<number, string>();
  for (const a of media.attributes) {
    if (a.name === "rtpmap" && a.value !== undefined) {
      try {
        const m = parseRtpMap(a.value);
        if (!maps.has(m.payloadType)) maps.set(m.payloadType, m);
      } catch { /* an unusable rtpmap is ignored like an unknown attribute */ }
    } else if (a.name === "fmtp" && a.value !== undefined) {
      const sp = a.value.indexOf(" ");
      const pt = sp < 0 ? NaN : Number(a.value.slice(0, sp));
      if (Number.isInteger(pt) && !fmtps.has(pt)) fmtps.set(pt, a.value.slice(sp + 1));
    }
  }
  const out: RtpMap[] = [];
  for (const f of media.formats) {
    if (!DIGITS.test(f)) continue;
    const pt = Number(f);
    let m = maps.get(pt);
    if (!m) {
      const s = STATIC[pt];
      if (!s) continue;
      m = { payloadType: pt, encoding: s[0], clockRate: s[1] };
      if (s[2] !== undefined) m.channels = s[2];
    } else m = { ...m };
    const p = fmtps.get(pt);
    if (p !== undefined) m.parameters = p;
    out.push(m);
  }
  return out;
}

/**
 * Converts a typed time of `r=`/`z=` lines (`7d`, `-1h`, `25m`, `3600`) to seconds.
 *
 * @param value The typed time.
 * @returns Seconds.
 * @throws {SdpParseError} When the value is not a typed time.
 * @see {@link https://www.rfc-editor.org/rfc/rfc8866#section-5.10 | RFC 8866 §5.10}
 *
 * @example
 * ```ts
 * import { parseTypedTime } from "@rtclite/std/ietf/rfc4566";
 * import { equal } from "node:assert/strict";
 *
 * equal(parseTypedTime("7d"), 604800);
 * equal(parseTypedTime("-1h"), -3600);
 * ```
 */
// @implements RFC8866 §5.10 ¶4
export function parseTypedTime(value: string): number {
  if (!TYPED_TIME.test(value)) {
    throw new SdpParseError(`Cannot parse typed time: "${clip(value)}"`, 0);
  }
  const unit = value[value.length - 1]!;
  const mult = unit === "d" ? 86400 : unit === "h" ? 3600 : unit === "m" ? 60 : 1;
  return parseInt(value, 10) * mult;
}
