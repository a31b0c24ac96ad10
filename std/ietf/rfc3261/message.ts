// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * SIP messages: parse and format requests and responses, typed header
 * access (Via, addresses, CSeq, parameters, lists), and stream framing.
 *
 * Part of `@rtclite/std/ietf/rfc3261`, which re-exports it.
 *
 * @example
 * ```ts
 * import { parseMessage } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const m = parseMessage("SIP/2.0 180 Ringing\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nl: 0\r\n\r\n");
 * equal(m.status, 180);
 * equal(m.via()[0]!.host, "h");
 * ```
 *
 * @module
 */
import { ParseError } from "../../errors.ts";
import {
  formatNameAddr,
  formatParams as formatParamList,
  isToken,
  isTokenChar,
  parseUri,
  quote,
  scanNameAddr,
  scanParams,
  scanQuoted,
  unquote,
  UriParseError,
} from "../rfc2396/mod.ts";

// === Errors ===

/**
 * A SIP message or header that does not follow the RFC 3261 grammar.
 * `status` is the response code a server should answer with (400 unless
 * the RFC names another, e.g. 505 for an unknown protocol version).
 */
export class SipParseError extends ParseError {
  /** The response status code a server answers with when it rejects the input. */
  readonly status: number;
  /**
   * Creates a SIP parse error.
   *
   * @param message Sentence-case message: what failed, a colon, the detail.
   * @param offset Where in the input the problem was found.
   * @param status Response code a server answers with (default 400).
   */
  constructor(message: string, offset?: number, status = 400) {
    super(message, offset);
    this.status = status;
  }
}

// === Character classes (RFC 3261 §25.1) ===

// The token class, quoting and the name-addr grammar are rfc2396's (one
// implementation for URIs, addresses and SIP messages).
export { isToken as isSipToken };

function isWs(code: number): boolean {
  return code === 32 || code === 9 || code === 13 || code === 10;
}

/** Trims SP and HTAB only (String.trim would also drop U+FEFF and others). */
function trimWs(s: string, from: number): string {
  let a = from;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return s.slice(a, b);
}

/** Skips whitespace from `i` (internal). */
export function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

// === Header names and compact forms (RFC 3261 §7.3.3, §20) ===

/** Canonical spelling of every header field name of RFC 3261 §20 and common extensions. */
const CANONICAL: Record<string, string> = {};
for (
  const name of [
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Expires",
    "From",
    "In-Reply-To",
    "Max-Forwards",
    "MIME-Version",
    "Min-Expires",
    "Organization",
    "Priority",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "Record-Route",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "Server",
    "Subject",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
    "Event",
    "Allow-Events",
    "Refer-To",
    "Referred-By",
    "Session-Expires",
    "Path",
  ]
) CANONICAL[name.toLowerCase()] = name;

/** Compact header forms of RFC 3261 §7.3.3 (and RFC 3265/3515/4028 ones). */
// @implements RFC3261 §7.3.3
const COMPACT: Record<string, string> = {
  i: "Call-ID",
  m: "Contact",
  e: "Content-Encoding",
  l: "Content-Length",
  c: "Content-Type",
  f: "From",
  s: "Subject",
  k: "Supported",
  t: "To",
  v: "Via",
  o: "Event",
  u: "Allow-Events",
  r: "Refer-To",
  b: "Referred-By",
  x: "Session-Expires",
};

/** The compact form of each canonical name that has one. */
const COMPACT_OF: Record<string, string> = Object.fromEntries(
  Object.entries(COMPACT).map(([k, v]) => [v, k]),
);

/**
 * The canonical name of a header field: compact forms expanded, known names
 * spelled as in RFC 3261 §20, unknown names returned unchanged.
 *
 * @param name A header field name in any case, or a compact form.
 * @returns The canonical spelling.
 *
 * @example
 * ```ts
 * import { canonicalHeaderName } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * equal(canonicalHeaderName("v"), "Via");
 * equal(canonicalHeaderName("call-id"), "Call-ID");
 * equal(canonicalHeaderName("X-Custom"), "X-Custom");
 * ```
 */
export function canonicalHeaderName(name: string): string {
  if (name.length === 1) {
    const c = COMPACT[name.toLowerCase()];
    if (c !== undefined) return c;
  }
  const lower = name.toLowerCase();
  return Object.hasOwn(CANONICAL, lower) ? CANONICAL[lower]! : name;
}

/** Headers whose values are comma-separated lists (RFC 3261 §7.3.1 ¶4). */
const LIST_HEADERS = new Set([
  "via",
  "contact",
  "route",
  "record-route",
  "path",
  "accept",
  "accept-encoding",
  "accept-language",
  "allow",
  "require",
  "proxy-require",
  "supported",
  "unsupported",
  "content-encoding",
  "content-language",
  "alert-info",
  "call-info",
  "error-info",
  "in-reply-to",
  "warning",
  "allow-events",
]);

// === Messages (RFC 3261 §7) ===

/** One header field line as it appears in a message: canonical name and raw value. */
export interface SipHeader {
  /** Canonical name (compact forms expanded); unknown names verbatim. */
  name: string;
  /** The value with folding replaced by single spaces, surrounding whitespace removed. */
  value: string;
}

/** Parameters of a header value or URI: lower-case names, `null` for a name without a value. */
export type SipParams = Record<string, string | null>;

/** Options for {@linkcode SipMessage} construction. */
export interface SipMessageInit {
  /** Request method; set for requests. */
  method?: string;
  /** Request-URI; set for requests. */
  uri?: string;
  /** Response status code; set for responses. */
  status?: number;
  /** Response reason phrase. */
  reason?: string;
  /** Protocol version, `SIP/2.0` by default. */
  version?: string;
  /** Header fields in order. */
  headers?: SipHeader[];
  /** Message body. */
  body?: Uint8Array | string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** Body text by body array, so that formatting decodes a body once. */
const BODY_TEXT = new WeakMap<Uint8Array, string>();

/** What {@linkcode SipMessage.toString} formatted last, to reuse while unchanged. */
interface FormatCache {
  method: string | undefined;
  uri: string | undefined;
  status: number;
  reason: string;
  version: string;
  len: number;
  fields: SipHeader[];
  names: string[];
  compact: boolean;
  values: string[];
  head: string;
  bytes: Uint8Array | undefined;
  bytesOf: string | undefined;
  bytesBody: Uint8Array | undefined;
}

/**
 * A SIP request or response (RFC 3261 §7): start line, ordered header
 * fields and body. Header values are kept as text and parsed on demand by
 * the typed accessors ({@linkcode SipMessage.via}, {@linkcode SipMessage.cseq}, ...).
 *
 * @example Build a request and format it
 * ```ts
 * import { SipMessage, parseMessage } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const m = new SipMessage({ method: "OPTIONS", uri: "sip:bob@example.com" });
 * m.add("Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1");
 * m.add("CSeq", "1 OPTIONS");
 * const back = parseMessage(m.toBytes());
 * equal(back.method, "OPTIONS");
 * equal(back.via()[0]!.params.branch, "z9hG4bK1");
 * equal(back.header("Content-Length"), "0");
 * ```
 */
export class SipMessage {
  /** Request method, or `undefined` for a response. */
  method: string | undefined;
  /** Request-URI, or `undefined` for a response. */
  uri: string | undefined;
  /** Response status code; 0 for a request. */
  status: number;
  /** Response reason phrase; empty for a request. */
  reason: string;
  /** Protocol version from the start line. */
  version: string;
  /** Header fields in message order. */
  headers: SipHeader[];
  /** Body bytes. */
  body: Uint8Array;
  /**
   * Format header names in their compact forms (RFC 3261 §7.3.3) where one
   * exists. {@linkcode parseMessage} sets it when the message used one, so
   * that a proxy forwards a compact message compact (and it still fits a
   * datagram).
   */
  compact = false;

  /**
   * Creates a message.
   *
   * @param init Start line, headers and body.
   */
  constructor(init: SipMessageInit = {}) {
    this.method = init.method;
    this.uri = init.uri;
    this.status = init.status ?? 0;
    this.reason = init.reason ?? "";
    this.version = init.version ?? "SIP/2.0";
    this.headers = init.headers ?? [];
    const b = init.body;
    this.body = b === undefined ? EMPTY : typeof b === "string" ? encoder.encode(b) : b;
  }

  /** Whether this is a request. */
  get isRequest(): boolean {
    return this.method !== undefined;
  }

  /**
   * The first value of a header field.
   *
   * @param name Header name in any case or compact form.
   * @returns The raw value, or `undefined` when absent.
   */
  header(name: string): string | undefined {
    const n = canonicalHeaderName(name);
    for (const h of this.headers) if (h.name === n) return h.value;
    if (n !== name || Object.hasOwn(CANONICAL, n.toLowerCase())) return undefined;
    const lower = n.toLowerCase();
    for (const h of this.headers) if (h.name.toLowerCase() === lower) return h.value;
    return undefined;
  }

  /**
   * All values of a header field; list headers are split at top-level commas.
   *
   * @param name Header name in any case or compact form.
   * @returns Values in message order.
   */
  values(name: string): string[] {
    const n = canonicalHeaderName(name);
    const lower = n.toLowerCase();
    const split = LIST_HEADERS.has(lower);
    const out: string[] = [];
    for (const h of this.headers) {
      if (h.name === n || h.name.toLowerCase() === lower) {
        if (split) out.push(...splitList(h.value));
        else out.push(h.value);
      }
    }
    return out;
  }

  /**
   * Whether the message has a header field.
   *
   * @param name Header name.
   * @returns `true` when at least one field of that name is present.
   */
  has(name: string): boolean {
    return this.header(name) !== undefined;
  }

  /**
   * Appends (or, with `first`, prepends) a header field.
   *
   * @param name Header name; stored canonically.
   * @param value Raw value.
   * @param first Insert before the first field of the same name (or at the top).
   * @returns This message.
   */
  add(name: string, value: string, first = false): this {
    const n = canonicalHeaderName(name);
    const h = { name: n, value };
    if (first) {
      const i = this.headers.findIndex((x) => x.name === n);
      this.headers.splice(i < 0 ? 0 : i, 0, h);
    } else this.headers.push(h);
    return this;
  }

  /**
   * Replaces every field of a name with one value (in the place of the first).
   *
   * @param name Header name.
   * @param value New raw value.
   * @returns This message.
   */
  set(name: string, value: string): this {
    const n = canonicalHeaderName(name);
    const i = this.headers.findIndex((x) => x.name === n);
    this.remove(n);
    if (i < 0) this.headers.push({ name: n, value });
    else this.headers.splice(i, 0, { name: n, value });
    return this;
  }

  /**
   * Removes every field of a name.
   *
   * @param name Header name.
   * @returns This message.
   */
  remove(name: string): this {
    const n = canonicalHeaderName(name).toLowerCase();
    this.headers = this.headers.filter((h) => h.name.toLowerCase() !== n);
    return this;
  }

  /**
   * The Via header field values, top first (RFC 3261 §20.42).
   *
   * @returns Parsed Via values.
   * @throws {SipParseError} When a Via value is malformed.
   */
  via(): Via[] {
    return this.values("Via").map(parseVia);
  }

  /**
   * Removes the top Via value (a proxy forwarding a response, §16.7 ¶3).
   *
   * @returns The removed value, parsed, or `undefined` when there was none.
   */
  popVia(): Via | undefined {
    const i = this.headers.findIndex((h) => h.name === "Via");
    if (i < 0) return undefined;
    const h = this.headers[i]!;
    const parts = splitList(h.value);
    if (parts.length <= 1) this.headers.splice(i, 1);
    else h.value = parts.slice(1).join(", ");
    return parts[0] === undefined ? undefined : parseVia(parts[0]);
  }

  /**
   * The From header field (RFC 3261 §20.20).
   *
   * @returns The parsed address.
   * @throws {SipParseError} When missing or malformed.
   */
  from(): SipAddress {
    return parseAddress(this.#required("From"));
  }

  /**
   * The To header field (RFC 3261 §20.39).
   *
   * @returns The parsed address.
   * @throws {SipParseError} When missing or malformed.
   */
  to(): SipAddress {
    return parseAddress(this.#required("To"));
  }

  /**
   * The Call-ID (RFC 3261 §20.8).
   *
   * @returns The Call-ID value.
   * @throws {SipParseError} When missing.
   */
  callId(): string {
    return this.#required("Call-ID");
  }

  /**
   * The CSeq (RFC 3261 §20.16).
   *
   * @returns Sequence number and method.
   * @throws {SipParseError} When missing or malformed.
   */
  cseq(): CSeq {
    return parseCSeq(this.#required("CSeq"));
  }

  /**
   * Contact values; `*` yields `[]` with `star` true through {@linkcode parseContacts}.
   *
   * @returns Parsed Contact addresses (empty for `*` or none).
   * @throws {SipParseError} When malformed.
   */
  contacts(): SipAddress[] {
    const out: SipAddress[] = [];
    for (const h of this.headers) {
      if (h.name === "Contact") {
        const c = parseContacts(h.value);
        if (c !== "*") out.push(...c);
      }
    }
    return out;
  }

  /**
   * Address list header values such as Route, Record-Route or Path.
   *
   * @param name Header name.
   * @returns Parsed addresses in order.
   * @throws {SipParseError} When malformed.
   */
  addresses(name: string): SipAddress[] {
    const n = canonicalHeaderName(name);
    const out: SipAddress[] = [];
    for (const h of this.headers) if (h.name === n) out.push(...parseAddressList(h.value));
    return out;
  }

  /** The Max-Forwards value, or `undefined` when absent (RFC 3261 §20.22). */
  maxForwards(): number | undefined {
    const v = this.header("Max-Forwards");
    return v === undefined ? undefined : parseInteger(v, "Max-Forwards", 255);
  }

  /** Body as text (UTF-8). */
  get text(): string {
    return decoder.decode(this.body);
  }

  /**
   * Formats the message for the wire; Content-Length is set from the body.
   *
   * The formatted head is remembered and returned again while the start
   * line and every header field (object, name and value) are unchanged, as
   * drachtio-sip returns the text it parsed; any change rebuilds it.
   * The body text is decoded once per `body` array (assign a new array to
   * change the body; edits inside the same array are not seen here, only by
   * {@linkcode SipMessage.toBytes}).
   *
   * @returns The message text.
   */
  toString(): string {
    const head = this.#head(this.body.length);
    if (this.body.length === 0) return head;
    let text = BODY_TEXT.get(this.body);
    if (text === undefined) {
      text = decoder.decode(this.body);
      BODY_TEXT.set(this.body, text);
    }
    return head + text;
  }

  /**
   * Formats the message to bytes (the body is copied verbatim). While the
   * message and its `body` array stay unchanged, later calls return the same
   * array (a retransmission costs no copy): treat it as read-only.
   *
   * @returns The message bytes.
   */
  toBytes(): Uint8Array {
    const head = this.#head(this.body.length);
    const c = this.#cache!;
    if (c.bytes !== undefined && c.bytesOf === head && c.bytesBody === this.body) return c.bytes;
    const h = encoder.encode(head);
    let out = h;
    if (this.body.length) {
      out = new Uint8Array(h.length + this.body.length);
      out.set(h);
      out.set(this.body, h.length);
    }
    c.bytes = out;
    c.bytesOf = head;
    c.bytesBody = this.body;
    return out;
  }

  #cache: FormatCache | undefined;

  #head(len: number): string {
    const c = this.#cache;
    const hs = this.headers;
    const n = hs.length;
    if (
      c !== undefined && c.len === len && c.method === this.method && c.uri === this.uri &&
      c.status === this.status && c.reason === this.reason && c.version === this.version &&
      c.fields.length === n && c.compact === this.compact
    ) {
      let i = 0;
      for (; i < n; i++) {
        const h = hs[i]!;
        if (h !== c.fields[i] || h.value !== c.values[i] || h.name !== c.names[i]) break;
      }
      if (i === n) return c.head;
    }
    // Rebuild and remember what was formatted.
    const fields: SipHeader[] = new Array(n);
    const names: string[] = new Array(n);
    const values: string[] = new Array(n);
    let s = this.method !== undefined
      ? this.method + " " + this.uri + " " + this.version + "\r\n"
      : this.version + " " + this.status + " " + this.reason + "\r\n";
    let cl = false;
    const compact = this.compact;
    for (let i = 0; i < n; i++) {
      const h = hs[i]!;
      const name = h.name, value = h.value;
      fields[i] = h;
      names[i] = name;
      values[i] = value;
      const out = compact ? COMPACT_OF[name] ?? name : name;
      if (name === "Content-Length") {
        if (cl) continue;
        cl = true;
        s += out + ": " + len + "\r\n";
      } else if (value === "") s += out + ":\r\n"; // no trailing space on an empty field
      else s += out + ": " + value + "\r\n";
    }
    if (!cl) s += (compact ? "l" : "Content-Length") + ": " + len + "\r\n";
    s += "\r\n";
    this.#cache = {
      compact,
      method: this.method,
      uri: this.uri,
      status: this.status,
      reason: this.reason,
      version: this.version,
      len,
      fields,
      names,
      values,
      head: s,
      bytes: undefined,
      bytesOf: undefined,
      bytesBody: undefined,
    };
    return s;
  }

  #required(name: string): string {
    const v = this.header(name);
    if (v === undefined) throw new SipParseError(`Cannot read SIP message: missing ${name}`);
    return v;
  }
}

// === Parsing a message (RFC 3261 §7, §25.1) ===

function indexOfHeaderEnd(b: Uint8Array, from: number): [number, number] {
  for (let i = b.indexOf(10, from); i >= 0; i = b.indexOf(10, i + 1)) {
    if (b[i + 1] === 10) return [i, i + 2];
    if (b[i + 1] === 13 && b[i + 2] === 10) return [i - (b[i - 1] === 13 ? 1 : 0), i + 3];
  }
  return [-1, -1];
}

/** Options for {@linkcode parseMessage}. */
export interface ParseMessageOptions {
  /**
   * `true` (default) for a datagram: octets after Content-Length are dropped
   * and a missing Content-Length means "the rest". `false` for a stream
   * message, where Content-Length must be present and exact.
   */
  datagram?: boolean;
  /**
   * Most header fields accepted (default unlimited); a message with more is
   * a {@linkcode SipParseError}. The transports set it (default 256), so a
   * datagram with 10,000 tiny header fields cannot cost 10,000 objects.
   */
  maxHeaders?: number;
}

/**
 * Parses one SIP message from bytes or text.
 *
 * Checks the start line strictly (single spaces, version `SIP/d.d`, a
 * three-digit status), header names, folding, and Content-Length. Header
 * values are parsed when read through the typed accessors; call
 * {@linkcode validateMessage} to check them all at once.
 *
 * @param input The message.
 * @param options Datagram or stream semantics for Content-Length.
 * @returns The parsed message.
 * @throws {SipParseError} When the message does not follow the grammar.
 *
 * @example
 * ```ts
 * import { parseMessage } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const m = parseMessage(
 *   "SIP/2.0 180 Ringing\r\nv: SIP/2.0/UDP a.example.com;branch=z9hG4bKx\r\nl: 0\r\n\r\n",
 * );
 * equal(m.status, 180);
 * equal(m.via()[0]!.host, "a.example.com");
 * ```
 */
// @implements RFC3261 §7.1, §7.2, §7.3.1, §18.3
export function parseMessage(
  input: Uint8Array | string,
  options: ParseMessageOptions = {},
): SipMessage {
  const m = new SipMessage();
  let contentLength: number;
  let body: Uint8Array;
  if (typeof input === "string") {
    // Skip leading CRLFs (RFC 3261 §7.5 ¶2: ignore empty lines before the start line).
    let start = 0;
    while (
      start < input.length && (input.charCodeAt(start) === 13 || input.charCodeAt(start) === 10)
    ) {
      start++;
    }
    let hend = input.indexOf("\r\n\r\n", start);
    let bstart = hend + 4;
    if (hend < 0) {
      hend = input.indexOf("\n\n", start);
      bstart = hend + 2;
    }
    if (hend < 0) throw new SipParseError("Cannot parse SIP message: no empty line after headers");
    contentLength = parseHead(input.slice(start, hend), m, options.maxHeaders);
    if (bstart >= input.length) body = EMPTY;
    else {
      const text = input.slice(bstart);
      body = encoder.encode(text);
      BODY_TEXT.set(body, text);
    }
  } else {
    let start = 0;
    while (start < input.length && (input[start] === 13 || input[start] === 10)) start++;
    const [hend, bstart] = indexOfHeaderEnd(input, start);
    if (hend < 0) throw new SipParseError("Cannot parse SIP message: no empty line after headers");
    const head = decoder.decode(input.subarray(start, hend));
    contentLength = parseHead(head, m, options.maxHeaders);
    body = input.subarray(bstart);
  }
  if (contentLength < 0) {
    if (options.datagram === false) {
      throw new SipParseError("Cannot parse SIP message: stream message without Content-Length");
    }
    m.body = body;
  } else {
    if (contentLength > body.length) {
      throw new SipParseError(
        `Cannot parse SIP message: Content-Length ${contentLength} exceeds the ${body.length} body bytes`,
      );
    }
    // @implements RFC3261 §18.3 ¶2
    m.body = contentLength === body.length ? body : body.subarray(0, contentLength);
  }
  return m;
}

/** Raw header names already checked, mapped to their canonical spelling. */
const NAME_CACHE = new Map<string, string>();

/** Parses the start line and header fields; returns Content-Length or -1. */
function parseHead(head: string, m: SipMessage, maxHeaders = Infinity): number {
  // Split lines and unfold (RFC 3261 §7.3.1 ¶3).
  let nl = head.indexOf("\n");
  const first = nl < 0 ? head : head.slice(0, head.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
  parseStartLine(first, m);
  let pos = nl < 0 ? head.length : nl + 1;
  const headers = m.headers;
  let contentLength = -1;
  while (pos < head.length) {
    nl = head.indexOf("\n", pos);
    let end = nl < 0 ? head.length : nl;
    let next = nl < 0 ? head.length : nl + 1;
    let line = head.slice(pos, head.charCodeAt(end - 1) === 13 ? end - 1 : end);
    // Continuation lines start with whitespace.
    while (next < head.length) {
      const c = head.charCodeAt(next);
      if (c !== 32 && c !== 9) break;
      nl = head.indexOf("\n", next);
      end = nl < 0 ? head.length : nl;
      line += " " + trimWs(head.slice(next, head.charCodeAt(end - 1) === 13 ? end - 1 : end), 0);
      next = nl < 0 ? head.length : nl + 1;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new SipParseError(`Cannot parse SIP header: no colon in "${line.slice(0, 40)}"`, pos);
    }
    let ne = colon;
    while (ne > 0 && (line.charCodeAt(ne - 1) === 32 || line.charCodeAt(ne - 1) === 9)) ne--;
    const raw = line.slice(0, ne);
    let name = NAME_CACHE.get(raw);
    if (name === undefined) {
      for (let k = 0; k < raw.length; k++) {
        if (!isTokenChar(raw.charCodeAt(k))) {
          throw new SipParseError(`Cannot parse SIP header: bad name "${raw}"`, pos);
        }
      }
      name = canonicalHeaderName(raw);
      if (NAME_CACHE.size < 512) NAME_CACHE.set(raw, name);
    }
    const value = trimWs(line, colon + 1);
    if (name === "Content-Length") {
      // @implements RFC3261 §20.14
      if (contentLength >= 0) {
        throw new SipParseError("Cannot parse SIP message: several Content-Length fields", pos);
      }
      contentLength = parseInteger(value, "Content-Length", 0xffffffff);
    }
    if (raw.length === 1 && name.length > 1) m.compact = true;
    if (headers.length >= maxHeaders) {
      throw new SipParseError(
        `Cannot parse SIP message: more than ${maxHeaders} header fields`,
        pos,
      );
    }
    headers.push({ name, value });
    pos = next;
  }
  return contentLength;
}

const VERSION_RE = /^SIP\/\d+\.\d+$/i;

// @implements RFC3261 §7.1, §7.2
function parseStartLine(line: string, m: SipMessage): void {
  const a = line.indexOf(" ");
  if (a <= 0) throw new SipParseError(`Cannot parse SIP start line: "${line.slice(0, 60)}"`, 0);
  const first = line.slice(0, a);
  if (
    first.length > 4 && first.charCodeAt(3) === 47 && first.slice(0, 4).toUpperCase() === "SIP/"
  ) {
    if (!VERSION_RE.test(first)) {
      throw new SipParseError(`Cannot parse SIP status line: bad version "${first}"`, 0);
    }
    const b = line.indexOf(" ", a + 1);
    const code = b < 0 ? line.slice(a + 1) : line.slice(a + 1, b);
    if (!/^[1-6]\d\d$/.test(code)) {
      throw new SipParseError(`Cannot parse SIP status line: bad status code "${code}"`, a + 1);
    }
    m.version = first;
    m.status = +code;
    m.reason = b < 0 ? "" : line.slice(b + 1);
    return;
  }
  const b = line.indexOf(" ", a + 1);
  if (b < 0) throw new SipParseError(`Cannot parse SIP request line: no version`, a);
  const uri = line.slice(a + 1, b);
  const version = line.slice(b + 1);
  if (!isToken(first)) throw new SipParseError(`Cannot parse SIP request line: bad method`, 0);
  if (uri.length === 0 || version.indexOf(" ") >= 0 || version.indexOf("\t") >= 0) {
    throw new SipParseError(`Cannot parse SIP request line: extra spaces`, a);
  }
  if (!VERSION_RE.test(version)) {
    throw new SipParseError(`Cannot parse SIP request line: bad version "${version}"`, b + 1);
  }
  checkRequestUri(uri, a + 1);
  m.method = first;
  m.uri = uri;
  m.version = version;
  if (version.toUpperCase() !== "SIP/2.0") {
    // Parsed, but a server answers 505 (RFC 3261 §8.2.2 ... §21.5.7).
    m.version = version;
  }
}

// @implements RFC3261 §19.1.1
function checkRequestUri(uri: string, offset: number): void {
  const c = uri.indexOf(":");
  if (c <= 0 || !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(uri.slice(0, c))) {
    throw new SipParseError(`Cannot parse Request-URI: bad scheme in "${uri}"`, offset);
  }
  const scheme = uri.slice(0, c).toLowerCase();
  if ((scheme === "sip" || scheme === "sips") && uri.indexOf("?", uri.lastIndexOf("@") + 1) >= 0) {
    // Headers are not allowed in a Request-URI (RFC 3261 §19.1.5 table).
    throw new SipParseError(`Cannot parse Request-URI: headers in "${uri}"`, offset);
  }
}

// === Integers ===

/** Parses a bounded decimal integer (internal). */
export function parseInteger(v: string, what: string, max: number): number {
  if (!/^\d{1,10}$/.test(v)) {
    throw new SipParseError(`Cannot parse ${what}: "${v.slice(0, 40)}" is not a number`);
  }
  const n = +v;
  if (n > max) throw new SipParseError(`Cannot parse ${what}: ${v} exceeds ${max}`);
  return n;
}

// === Lists, parameters and quoted strings (RFC 3261 §7.3.1, §25.1) ===

/**
 * Splits a header value at commas outside quoted strings and angle brackets.
 *
 * @param value A raw header value.
 * @returns The trimmed elements (empty elements dropped).
 *
 * @example
 * ```ts
 * import { splitList } from "@rtclite/std/ietf/rfc3261";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(splitList('"A, B" <sip:a@x>, <sip:b@y;p=1,2>'), ['"A, B" <sip:a@x>', "<sip:b@y;p=1,2>"]);
 * ```
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 92) i++;
      else if (c === 34) quoted = false;
    } else if (c === 34) quoted = true;
    else if (c === 60) angle = true;
    else if (c === 62) angle = false;
    else if (c === 44 && !angle) {
      const part = value.slice(start, i).trim();
      if (part) out.push(part);
      start = i + 1;
    }
  }
  const part = value.slice(start).trim();
  if (part) out.push(part);
  return out;
}

/** Reads a quoted string at `i` (internal): text and end offset. */
export function readQuoted(s: string, i: number): [string, number] {
  const end = scanQuoted(s, i, "quoted string", SipParseError);
  return [unquote(s.slice(i, end)), end];
}

/**
 * Quotes a string for a header value when it is not a token (RFC 3261 §25.1).
 *
 * @param s Text to quote.
 * @param always Quote even a token.
 * @returns The token itself, or a quoted string with `"` and `\` escaped.
 */
export function quoteString(s: string, always = false): string {
  return !always && isToken(s) ? s : quote(s);
}

/** Parses `*(SEMI generic-param)` at `i` into `params` (internal); returns the end. */
export function parseParamsAt(
  s: string,
  i: number,
  params: SipParams,
  stopAtComma: boolean,
): number {
  const end = scanParams(
    s,
    i,
    (name, value) => {
      if (name !== "__proto__") params[name] = value === null ? null : unquote(value);
    },
    "parameters",
    SipParseError,
  );
  if (end < s.length && !(stopAtComma && s.charCodeAt(end) === 44)) {
    throw new SipParseError(`Cannot parse parameters: unexpected "${s[end]}" in "${s}"`, end);
  }
  return end;
}

/**
 * Formats parameters as `;name=value` (values quoted when needed).
 *
 * @param params Parameters.
 * @returns The parameter text, empty for none.
 */
export function formatParams(params: SipParams): string {
  return formatParamList(Object.entries(params));
}

// === Via (RFC 3261 §20.42, RFC 3581) ===

/** A Via header field value. */
export interface Via {
  /** Protocol name and version, normally `SIP/2.0`. */
  protocol: string;
  /** Transport in upper case: `UDP`, `TCP`, `TLS`, `WS`, `WSS`, `SCTP`, or an extension. */
  transport: string;
  /** Sent-by host (IPv6 without brackets). */
  host: string;
  /** Sent-by port, when given. */
  port?: number;
  /** Parameters: branch, received, rport (RFC 3581), maddr, ttl, ... */
  params: SipParams;
}

/**
 * Parses one Via value, allowing whitespace around `/`, `;` and `=`.
 *
 * @param value One Via element (not a comma list).
 * @returns The parsed Via.
 * @throws {SipParseError} When malformed.
 *
 * @example
 * ```ts
 * import { parseVia } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const v = parseVia("SIP / 2.0 / UDP [2001:db8::1]:5070 ; branch = z9hG4bK1 ;rport");
 * equal(v.transport, "UDP");
 * equal(v.host, "2001:db8::1");
 * equal(v.port, 5070);
 * equal(v.params.rport, null);
 * ```
 */
// @implements RFC3261 §20.42, §18.2.1
export function parseVia(value: string): Via {
  let i = skipWs(value, 0);
  const parts: string[] = [];
  for (let k = 0; k < 3; k++) {
    const s = i;
    while (i < value.length && isTokenChar(value.charCodeAt(i))) i++;
    if (i === s) throw new SipParseError(`Cannot parse Via: bad sent-protocol in "${value}"`, i);
    parts.push(value.slice(s, i));
    i = skipWs(value, i);
    if (k < 2) {
      if (value.charCodeAt(i) !== 47) {
        throw new SipParseError(`Cannot parse Via: expected "/" in "${value}"`, i);
      }
      i = skipWs(value, i + 1);
    }
  }
  const hs = i;
  let host: string;
  if (value.charCodeAt(i) === 91) {
    const e = value.indexOf("]", i);
    if (e < 0) throw new SipParseError(`Cannot parse Via: unterminated IPv6 in "${value}"`, i);
    host = value.slice(i + 1, e);
    i = e + 1;
  } else {
    while (i < value.length && isHostChar(value.charCodeAt(i))) i++;
    host = value.slice(hs, i);
  }
  if (!host) throw new SipParseError(`Cannot parse Via: missing host in "${value}"`, i);
  const via: Via = {
    protocol: `${parts[0]!.toUpperCase()}/${parts[1]}`,
    transport: parts[2]!.toUpperCase(),
    host,
    params: {},
  };
  i = skipWs(value, i);
  if (value.charCodeAt(i) === 58) {
    i = skipWs(value, i + 1);
    const ps = i;
    while (i < value.length && value.charCodeAt(i) >= 48 && value.charCodeAt(i) <= 57) i++;
    const port = +value.slice(ps, i);
    if (i === ps || i - ps > 5 || port > 65535) {
      throw new SipParseError(`Cannot parse Via: bad port in "${value}"`, ps);
    }
    via.port = port;
  }
  i = parseParamsAt(value, i, via.params, false);
  return via;
}

function isHostChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 ||
    c === 46 || c === 95;
}

/**
 * Formats a Via value.
 *
 * @param via The Via.
 * @returns `SIP/2.0/UDP host:port;params`.
 *
 * @example
 * ```ts
 * import { formatVia } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * equal(
 *   formatVia({ protocol: "SIP/2.0", transport: "TCP", host: "::1", port: 5060, params: { branch: "z9hG4bK2" } }),
 *   "SIP/2.0/TCP [::1]:5060;branch=z9hG4bK2",
 * );
 * ```
 */
export function formatVia(via: Via): string {
  const host = via.host.includes(":") ? `[${via.host}]` : via.host;
  return `${via.protocol}/${via.transport} ${host}${via.port === undefined ? "" : ":" + via.port}${
    formatParams(via.params)
  }`;
}

// === Addresses: From, To, Contact, Route, Record-Route (RFC 3261 §20.10, §25.1) ===

/** A name-addr or addr-spec with header parameters (From, To, Contact, Route, ...). */
export interface SipAddress {
  /** Display name (unquoted), when present. */
  displayName?: string;
  /** The URI text between `<` and `>` (or the addr-spec). */
  uri: string;
  /** Header parameters after the address (tag, expires, q, ...). */
  params: SipParams;
}

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

function parseAddressAt(s: string, i: number, list: boolean): [SipAddress, number] {
  const parts = scanNameAddr(s, i, list, SipParseError);
  const uri = s.slice(parts.uriStart, parts.uriEnd);
  // @implements RFC3261 §25.1 ¶3
  if (/\s/.test(uri)) {
    throw new SipParseError(`Cannot parse address: spaces in <${uri}>`, parts.uriStart);
  }
  if (!SCHEME_RE.test(uri)) {
    throw new SipParseError(`Cannot parse address: bad URI "${uri}"`, parts.uriStart);
  }
  const addr: SipAddress = { uri, params: {} };
  if (parts.displayName !== undefined) addr.displayName = parts.displayName;
  for (const [name, value] of parts.params) {
    if (name !== "__proto__") addr.params[name] = value === null ? null : unquote(value);
  }
  return [addr, parts.end];
}

/**
 * Parses a single address header value (From, To, Reply-To, one Contact).
 *
 * @param value The header value.
 * @returns The address.
 * @throws {SipParseError} When malformed.
 *
 * @example
 * ```ts
 * import { parseAddress } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const a = parseAddress('"Alice \\"A\\"" <sip:alice@example.com>;tag=1928301774');
 * equal(a.displayName, 'Alice "A"');
 * equal(a.uri, "sip:alice@example.com");
 * equal(a.params.tag, "1928301774");
 * ```
 */
export function parseAddress(value: string): SipAddress {
  return parseAddressAt(value, 0, false)[0];
}

/**
 * Parses a comma-separated list of addresses (Contact, Route, Record-Route).
 *
 * @param value The header value.
 * @returns The addresses in order.
 * @throws {SipParseError} When malformed.
 */
export function parseAddressList(value: string): SipAddress[] {
  const out: SipAddress[] = [];
  let i = 0;
  for (;;) {
    const [a, e] = parseAddressAt(value, i, true);
    out.push(a);
    if (e >= value.length) return out;
    i = e + 1; // past ","
  }
}

/**
 * Parses a Contact value: `*` or a list of addresses.
 *
 * @param value The header value.
 * @returns `"*"` or the addresses.
 * @throws {SipParseError} When malformed.
 */
// @implements RFC3261 §20.10
export function parseContacts(value: string): SipAddress[] | "*" {
  if (value.trim() === "*") return "*";
  return parseAddressList(value);
}

/**
 * Formats an address in name-addr form (always with `<>`).
 *
 * @param a The address.
 * @returns The header value.
 *
 * @example
 * ```ts
 * import { formatAddress } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * equal(formatAddress({ displayName: "Bob", uri: "sip:bob@b.example", params: { tag: "x" } }),
 *   '"Bob" <sip:bob@b.example>;tag=x');
 * ```
 */
export function formatAddress(a: SipAddress): string {
  return formatNameAddr(a.displayName || undefined, a.uri, true) + formatParams(a.params);
}

// === CSeq (RFC 3261 §20.16) ===

/** A CSeq value. */
export interface CSeq {
  /** Sequence number, below 2**31. */
  seq: number;
  /** Method. */
  method: string;
}

/**
 * Parses a CSeq value.
 *
 * @param value The header value, e.g. `"4711 INVITE"`.
 * @returns Number and method.
 * @throws {SipParseError} When malformed or the number is 2**31 or more.
 *
 * @example
 * ```ts
 * import { parseCSeq } from "@rtclite/std/ietf/rfc3261";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(parseCSeq("0009\r\n  INVITE".replace("\r\n", "")), { seq: 9, method: "INVITE" });
 * ```
 */
// @implements RFC3261 §20.16, §8.1.1.5
export function parseCSeq(value: string): CSeq {
  const m = /^(\d{1,10})\s+(\S+)$/.exec(value.trim());
  if (!m || !isToken(m[2]!)) throw new SipParseError(`Cannot parse CSeq: "${value}"`);
  const seq = +m[1]!;
  if (seq >= 2 ** 31) throw new SipParseError(`Cannot parse CSeq: ${m[1]} is 2**31 or more`);
  return { seq, method: m[2]! };
}

// === Whole-message checks ===

/** RFC 1123 dates in GMT (internal). */
export const DATE_RE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * Checks every header with a grammar this module knows (Via, From, To,
 * Call-ID, CSeq, Max-Forwards, Expires, Contact, Route, Record-Route, Date)
 * and the presence of the mandatory ones (§8.1.1). A request's CSeq method
 * must match its method.
 *
 * @param m A parsed message.
 * @throws {SipParseError} With `status` 400 (or 505 for a bad version).
 *
 * @example
 * ```ts
 * import { parseMessage, SipParseError, validateMessage } from "@rtclite/std/ietf/rfc3261";
 * import { throws } from "node:assert/strict";
 *
 * const m = parseMessage("OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n");
 * throws(() => validateMessage(m), SipParseError);
 * ```
 */
// @implements RFC3261 §8.1.1, §8.2.2, §20
export function validateMessage(m: SipMessage): void {
  if (m.version.toUpperCase() !== "SIP/2.0") {
    throw new SipParseError(`Unsupported SIP version: ${m.version}`, undefined, 505);
  }
  const single: Record<string, number> = {};
  for (const h of m.headers) {
    switch (h.name) {
      case "From":
      case "To":
      case "Call-ID":
      case "CSeq":
      case "Max-Forwards":
        // @implements RFC3261 §7.3.1 ¶5
        single[h.name] = (single[h.name] ?? 0) + 1;
        if (single[h.name]! > 1) {
          throw new SipParseError(`Cannot validate SIP message: several ${h.name} fields`);
        }
        break;
    }
  }
  for (const name of ["From", "To", "Call-ID", "CSeq", "Via"]) {
    if (!m.has(name)) throw new SipParseError(`Cannot validate SIP message: missing ${name}`);
  }
  const vias = m.via();
  if (vias.length === 0) throw new SipParseError("Cannot validate SIP message: empty Via");
  // @implements RFC3261 §8.1.1.7 ¶3
  if (m.isRequest && vias[0]!.params.branch?.toLowerCase() === "z9hg4bk") {
    throw new SipParseError("Cannot validate SIP request: branch is only the magic cookie");
  }
  if (m.isRequest) checkSipRequestUri(m.uri!);
  m.from();
  m.to();
  const cseq = m.cseq();
  if (m.isRequest && cseq.method !== m.method) {
    throw new SipParseError(
      `Cannot validate SIP request: CSeq method ${cseq.method} differs from ${m.method}`,
    );
  }
  m.maxForwards();
  for (const h of m.headers) {
    switch (h.name) {
      case "Contact":
        parseContacts(h.value);
        break;
      case "Route":
      case "Record-Route":
        parseAddressList(h.value);
        break;
      case "Expires":
      case "Min-Expires":
        parseInteger(h.value, h.name, 0xffffffff);
        break;
      case "Date":
        // @implements RFC3261 §20.17
        if (!DATE_RE.test(h.value)) throw new SipParseError(`Cannot parse Date: "${h.value}"`);
        break;
      case "Retry-After":
        parseInteger(h.value.split(/[\s;(]/)[0]!, "Retry-After", 0xffffffff);
        break;
    }
  }
}

/**
 * Checks a `sip:`/`sips:` Request-URI against the full SIP-URI grammar, so
 * that a malformed one (such as an IPv6 address without brackets, RFC 5118
 * §4.2) is a 400 at message level rather than a failure in the application.
 */
function checkSipRequestUri(uri: string): void {
  if (!/^sips?:/i.test(uri)) return;
  try {
    parseUri(uri);
  } catch (e) {
    if (!(e instanceof UriParseError)) throw e;
    throw new SipParseError(`Cannot validate SIP request: bad Request-URI: ${e.message}`);
  }
}

// === Stream framing (RFC 3261 §18.3) ===

const START_LINE_RE = /^(?:[!-~]+ [!-~]+ SIP\/\d+\.\d+\r?|SIP\/\d+\.\d+ \d{3}( .*)?\r?)$/;

/** Options for {@linkcode SipStreamFramer}. */
export interface SipStreamFramerOptions {
  /** Largest accepted message (headers and body) in bytes; default 65535. */
  maxSize?: number;
  /** Most header fields in a message (default unlimited, see {@linkcode ParseMessageOptions}). */
  maxHeaders?: number;
}

/**
 * Splits a TCP/TLS byte stream into SIP messages using Content-Length.
 * CRLF keep-alives between messages are skipped (RFC 5626 §3.5.1 pings).
 *
 * @example
 * ```ts
 * import { SipStreamFramer } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const f = new SipStreamFramer();
 * const bytes = new TextEncoder().encode(
 *   "\r\n\r\nSIP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nhiSIP/2.0 100 Trying\r\nl: 0\r\n",
 * );
 * const got = f.push(bytes.subarray(0, 40));
 * equal(got.length, 0);
 * const more = f.push(bytes.subarray(40));
 * equal(more.length, 1);
 * equal(more[0]!.text, "hi");
 * equal(f.push(new TextEncoder().encode("\r\n")).length, 1);
 * ```
 */
// @implements RFC3261 §18.3
export class SipStreamFramer {
  #buf: Uint8Array = EMPTY;
  #max: number;
  #parse: ParseMessageOptions;

  /**
   * Creates a framer.
   *
   * @param options Size limit.
   */
  constructor(options: SipStreamFramerOptions = {}) {
    this.#max = options.maxSize ?? 65535;
    this.#parse = options.maxHeaders === undefined
      ? { datagram: false }
      : { datagram: false, maxHeaders: options.maxHeaders };
  }

  /** Bytes buffered but not yet framed. */
  get pending(): number {
    return this.#buf.length;
  }

  /**
   * Adds bytes and returns every complete message.
   *
   * @param chunk Bytes read from the stream.
   * @returns Complete messages in order.
   * @throws {SipParseError} When a message is malformed or too large; the
   *   connection should then be closed (the stream cannot be resynchronised).
   */
  push(chunk: Uint8Array): SipMessage[] {
    let buf: Uint8Array;
    if (this.#buf.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.#buf.length + chunk.length);
      buf.set(this.#buf);
      buf.set(chunk, this.#buf.length);
    }
    const out: SipMessage[] = [];
    let off = 0;
    for (;;) {
      while (off < buf.length && (buf[off] === 13 || buf[off] === 10)) off++;
      if (off >= buf.length) break;
      // Reject garbage as soon as the start line is complete (or too long).
      let eol = buf.indexOf(10, off);
      if (eol < 0 && buf.length - off > 8192) eol = off + 8192;
      if (eol >= 0) {
        const first = decoder.decode(buf.subarray(off, Math.min(eol, off + 8192)));
        if (!START_LINE_RE.test(first)) {
          throw new SipParseError(
            "Cannot frame SIP message: the stream does not start with a SIP start line",
          );
        }
      }
      const [hend, bstart] = indexOfHeaderEnd(buf, off);
      if (hend < 0) {
        if (buf.length - off > this.#max) {
          throw new SipParseError(`Cannot frame SIP message: headers exceed ${this.#max} bytes`);
        }
        break;
      }
      const head = decoder.decode(buf.subarray(off, hend));
      const m = /(?:^|\n)[ \t]*(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)/i.exec(head);
      if (!m) throw new SipParseError("Cannot frame SIP message: missing Content-Length");
      const v = m[1]!.trim();
      if (!/^\d{1,10}$/.test(v)) {
        throw new SipParseError(`Cannot frame SIP message: bad Content-Length "${v}"`);
      }
      const len = +v;
      const total = bstart - off + len;
      if (total > this.#max) {
        throw new SipParseError(`Cannot frame SIP message: ${total} bytes exceed ${this.#max}`);
      }
      if (buf.length < bstart + len) break;
      out.push(parseMessage(buf.subarray(off, bstart + len), this.#parse));
      off = bstart + len;
    }
    this.#buf = off >= buf.length ? EMPTY : buf.slice(off);
    return out;
  }
}

// === Responses (RFC 3261 §8.2.6, §21) ===

/** Reason phrases of RFC 3261 §21 (and a few later codes). */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: "Trying",
  180: "Ringing",
  181: "Call Is Being Forwarded",
  182: "Queued",
  183: "Session Progress",
  200: "OK",
  202: "Accepted",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Moved Temporarily",
  305: "Use Proxy",
  380: "Alternative Service",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  410: "Gone",
  413: "Request Entity Too Large",
  414: "Request-URI Too Long",
  415: "Unsupported Media Type",
  416: "Unsupported URI Scheme",
  420: "Bad Extension",
  421: "Extension Required",
  423: "Interval Too Brief",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  482: "Loop Detected",
  483: "Too Many Hops",
  484: "Address Incomplete",
  485: "Ambiguous",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  491: "Request Pending",
  493: "Undecipherable",
  500: "Server Internal Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Server Time-out",
  505: "Version Not Supported",
  513: "Message Too Large",
  600: "Busy Everywhere",
  603: "Decline",
  604: "Does Not Exist Anywhere",
  606: "Not Acceptable",
};

/** Options for {@linkcode createResponse}. */
export interface CreateResponseOptions {
  /** Reason phrase; default from {@linkcode REASON_PHRASES}. */
  reason?: string;
  /** To tag to add when the request's To has none (not added to 100 Trying). */
  toTag?: string;
  /** Extra header fields appended after the copied ones. */
  headers?: SipHeader[];
  /** Body. */
  body?: Uint8Array | string;
}

/**
 * Builds a response to a request: copies Via (all, in order), From, To
 * (adding a tag), Call-ID, CSeq, and Timestamp for 100 (§8.2.6.1).
 *
 * @param request The request.
 * @param status Status code.
 * @param options Reason, To tag, headers and body.
 * @returns The response.
 *
 * @example
 * ```ts
 * import { createResponse, parseMessage } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const req = parseMessage("BYE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK7\r\nTo: <sip:b@x>\r\nCSeq: 2 BYE\r\n\r\n");
 * const r = createResponse(req, 200, { toTag: "abc" });
 * equal(r.reason, "OK");
 * equal(r.to().params.tag, "abc");
 * equal(r.header("CSeq"), "2 BYE");
 * ```
 */
// @implements RFC3261 §8.2.6.2
export function createResponse(
  request: SipMessage,
  status: number,
  options: CreateResponseOptions = {},
): SipMessage {
  const r = new SipMessage({
    status,
    reason: options.reason ?? REASON_PHRASES[status] ?? "Unknown",
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const hs = r.headers;
  for (const h of request.headers) {
    switch (h.name) {
      case "Via":
      case "From":
      case "Call-ID":
      case "CSeq":
        hs.push({ name: h.name, value: h.value });
        break;
      case "To": {
        let v = h.value;
        if (options.toTag !== undefined && status > 100 && !/;\s*tag\s*=/i.test(v)) {
          v += ";tag=" + options.toTag;
        }
        hs.push({ name: "To", value: v });
        break;
      }
      case "Timestamp":
        if (status === 100) hs.push({ name: h.name, value: h.value });
        break;
    }
  }
  if (options.headers) hs.push(...options.headers);
  return r;
}
