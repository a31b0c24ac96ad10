// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * HTTP/1.1 message heads, the one parser and formatter of rtclite's own HTTP
 * speakers: the WebSocket opening handshake (`@rtclite/std/ietf/rfc6455`) and
 * the RTMPT listener (`@rtclite/vnd/adobe/rtmpt`). A head is the start line
 * and the header fields up to the empty line (RFC 9112 §2.1); bodies are the
 * caller's business.
 *
 * Reading is bounded: {@linkcode findHeadEnd} refuses a head longer than
 * `maxHeadSize` (status 431) and the parsers refuse more than `maxFields`
 * header fields (431) and anything outside the grammar (400), each as an
 * {@linkcode HttpParseError} that carries the status to answer with. Bytes are
 * read as Latin-1, as HTTP field values are octets.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc9112 | RFC 9112 (HTTP/1.1)}
 *
 * @example Read a request head, answer it
 * ```ts
 * import { findHeadEnd, formatResponse, parseRequestHead } from "@rtclite/std/http1";
 * import { equal } from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("GET /a HTTP/1.1\r\nHost: x\r\n\r\nbody");
 * const end = findHeadEnd(bytes);
 * const req = parseRequestHead(bytes.subarray(0, end));
 * equal(req.target, "/a");
 * equal(req.headers.get("host"), "x");
 * const res = new TextDecoder().decode(formatResponse({ status: 200, body: "hi" }));
 * equal(res, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi");
 * ```
 *
 * @module
 */
import { ParseError } from "./errors.ts";

const encoder = new TextEncoder();

/** Default limit on a head (start line plus header fields), in bytes: 16 KiB. */
export const DEFAULT_MAX_HEAD_SIZE = 16 * 1024;
/** Default limit on the number of header fields in a head. */
export const DEFAULT_MAX_FIELDS = 100;

/**
 * A head that is malformed or over a limit; `status` is the HTTP status a
 * server answers with (400, or 431 for a head or field count over the limit).
 *
 * @example
 * ```ts
 * import { HttpParseError } from "@rtclite/std/http1";
 * import { ParseError } from "@rtclite/std/errors";
 * import { equal } from "node:assert/strict";
 *
 * const e = new HttpParseError("Cannot read HTTP head: longer than 10 bytes", 431);
 * equal(e.status, 431);
 * equal(e instanceof ParseError, true);
 * ```
 */
export class HttpParseError extends ParseError {
  /** The HTTP status that reports this error (400 or 431). */
  readonly status: number;

  /**
   * Creates the error.
   *
   * @param message What failed, a colon, the detail.
   * @param status HTTP status to answer with (default 400).
   * @param offset Where in the head the problem was found.
   */
  constructor(message: string, status = 400, offset?: number) {
    super(message, offset);
    this.name = "HttpParseError";
    this.status = status;
  }
}

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

/** Limits of the head parsers. */
export interface HeadLimits {
  /** Most header fields (default {@linkcode DEFAULT_MAX_FIELDS}); more get 431. */
  maxFields?: number;
}

/**
 * Finds the end of a head (the empty line).
 *
 * @param buf Bytes received so far.
 * @param maxSize Largest head accepted (default {@linkcode DEFAULT_MAX_HEAD_SIZE}).
 * @returns The length of the head including the final CRLF CRLF, or -1 when incomplete.
 * @throws {HttpParseError} Status 431 when no head ends within `maxSize` bytes.
 *
 * @example
 * ```ts
 * import { findHeadEnd, HttpParseError } from "@rtclite/std/http1";
 * import { equal, throws } from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nrest");
 * equal(findHeadEnd(bytes), 27);
 * equal(findHeadEnd(bytes.subarray(0, 20)), -1);
 * throws(() => findHeadEnd(bytes.subarray(0, 20), 16), HttpParseError);
 * ```
 */
export function findHeadEnd(buf: Uint8Array, maxSize: number = DEFAULT_MAX_HEAD_SIZE): number {
  const end = Math.min(buf.length, maxSize);
  for (let i = 3; i < end; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  if (buf.length >= maxSize) {
    throw new HttpParseError(`Cannot read HTTP head: longer than ${maxSize} bytes`, 431);
  }
  return -1;
}

/** A token (RFC 9110 §5.6.2): header names, methods, WebSocket subprotocols. */
export const TOKEN: RegExp = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function headLines(head: Uint8Array | string, maxFields: number): string[] {
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
  if (lines.length === 0) throw new HttpParseError("Cannot parse HTTP head: empty", 400, 0);
  if (lines.length > maxFields + 1) {
    throw new HttpParseError(`Cannot parse HTTP head: more than ${maxFields} header fields`, 431);
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
      throw new HttpParseError(`Cannot parse HTTP head: bad header line ${JSON.stringify(line)}`);
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
      throw new HttpParseError(`Cannot parse HTTP head: control character in ${name}`);
    }
    headers.append(name, value);
  }
  return headers;
}

/**
 * Parses a request head (request line and header fields).
 *
 * @param head The head, as bytes (read as Latin-1) or text, with or without the final empty line.
 * @param limits The most header fields.
 * @returns The method, target, version and headers.
 * @throws {HttpParseError} Status 400 for a malformed head, 431 for too many fields.
 *
 * @example
 * ```ts
 * import { HttpParseError, parseRequestHead } from "@rtclite/std/http1";
 * import { equal, throws } from "node:assert/strict";
 *
 * const req = parseRequestHead("POST /open/1 HTTP/1.1\r\nContent-Length: 1\r\n\r\n");
 * equal(req.method, "POST");
 * equal(req.headers.get("content-length"), "1");
 * throws(() => parseRequestHead("GET /\r\n\r\n"), HttpParseError);
 * throws(() => parseRequestHead("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\n", { maxFields: 1 }), /more than 1/);
 * ```
 */
export function parseRequestHead(head: Uint8Array | string, limits?: HeadLimits): HttpRequestHead {
  const lines = headLines(head, limits?.maxFields ?? DEFAULT_MAX_FIELDS);
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(\d\.\d)$/.exec(lines[0]!);
  if (!m) {
    throw new HttpParseError(
      `Cannot parse HTTP request line: ${JSON.stringify(lines[0]!.slice(0, 80))}`,
      400,
      0,
    );
  }
  return { method: m[1]!, target: m[2]!, version: m[3]!, headers: parseFields(lines) };
}

/**
 * Parses a response head (status line and header fields).
 *
 * @param head The head, as bytes (read as Latin-1) or text.
 * @param limits The most header fields.
 * @returns The version, status, reason phrase and headers.
 * @throws {HttpParseError} For a malformed head (400) or too many fields (431).
 *
 * @example
 * ```ts
 * import { parseResponseHead } from "@rtclite/std/http1";
 * import { equal } from "node:assert/strict";
 *
 * const res = parseResponseHead("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
 * equal(res.status, 101);
 * equal(res.reason, "Switching Protocols");
 * equal(res.headers.get("upgrade"), "websocket");
 * ```
 */
export function parseResponseHead(
  head: Uint8Array | string,
  limits?: HeadLimits,
): HttpResponseHead {
  const lines = headLines(head, limits?.maxFields ?? DEFAULT_MAX_FIELDS);
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0]!);
  if (!m) {
    throw new HttpParseError(
      `Cannot parse HTTP status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`,
      400,
      0,
    );
  }
  return { version: m[1]!, status: Number(m[2]), reason: m[3] ?? "", headers: parseFields(lines) };
}

/** Reason phrases of the statuses rtclite's HTTP speakers send. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  101: "Switching Protocols",
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

/**
 * A header name in its usual capitalisation (`content-length` → `Content-Length`).
 *
 * @param name A header name.
 * @returns The name with each dash-separated word capitalised.
 *
 * @example
 * ```ts
 * import { capitalize } from "@rtclite/std/http1";
 * import { equal } from "node:assert/strict";
 * equal(capitalize("sec-websocket-accept"), "Sec-Websocket-Accept");
 * ```
 */
export function capitalize(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase());
}

/** Header fields to format: a `Headers` (names come lower-case) or name/value pairs as written. */
export type HeaderFields = Headers | Iterable<readonly [string, string]>;

/** How the formatters write names. */
export interface FormatOptions {
  /**
   * Write header names capitalised (`Content-Length`), for peers that match names
   * case-sensitively (librtmp); default: as given.
   */
  capitalize?: boolean;
}

function fieldLines(fields: HeaderFields | undefined, options?: FormatOptions): string {
  let out = "";
  for (const [name, value] of fields ?? []) {
    if (!TOKEN.test(name)) {
      throw new TypeError(`Cannot format HTTP head: bad header name ${JSON.stringify(name)}`);
    }
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
      throw new TypeError(`Cannot format HTTP head: control character in ${name}`);
    }
    out += `${options?.capitalize ? capitalize(name) : name}: ${value}\r\n`;
  }
  return out;
}

/**
 * Formats a request head: request line, fields and the empty line.
 *
 * @param head Method, target and fields (`version` defaults to `1.1`).
 * @param options Name capitalisation.
 * @returns The head's bytes.
 * @throws {TypeError} For a bad method, target, header name or a control character in a value.
 *
 * @example A proxy tunnel request (RFC 9110 §9.3.6)
 * ```ts
 * import { formatRequestHead } from "@rtclite/std/http1";
 * import { equal } from "node:assert/strict";
 *
 * const head = formatRequestHead({
 *   method: "CONNECT",
 *   target: "example.com:443",
 *   headers: [["Host", "example.com:443"]],
 * });
 * equal(new TextDecoder().decode(head), "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
 * ```
 */
export function formatRequestHead(
  head: { method: string; target: string; version?: string; headers?: HeaderFields },
  options?: FormatOptions,
): Uint8Array {
  if (!TOKEN.test(head.method) || !/^\S+$/.test(head.target)) {
    throw new TypeError(`Cannot format HTTP request line: ${head.method} ${head.target}`);
  }
  return encoder.encode(
    `${head.method} ${head.target} HTTP/${head.version ?? "1.1"}\r\n` +
      fieldLines(head.headers, options) + "\r\n",
  );
}

/**
 * Formats a response head: status line, fields and the empty line.
 *
 * @param head Status, reason (default from {@linkcode STATUS_TEXT}) and fields.
 * @param options Name capitalisation.
 * @returns The head's bytes.
 * @throws {TypeError} For a bad header name or a control character in a value.
 *
 * @example
 * ```ts
 * import { formatResponseHead } from "@rtclite/std/http1";
 * import { equal } from "node:assert/strict";
 *
 * const head = formatResponseHead({ status: 101, headers: [["Upgrade", "websocket"]] });
 * equal(new TextDecoder().decode(head), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
 * ```
 */
export function formatResponseHead(
  head: { status: number; reason?: string; headers?: HeaderFields },
  options?: FormatOptions,
): Uint8Array {
  return encoder.encode(
    statusLine(head.status, head.reason) + fieldLines(head.headers, options) +
      "\r\n",
  );
}

function statusLine(status: number, reason?: string): string {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new RangeError(`Cannot format HTTP status line: status ${status}`);
  }
  return `HTTP/1.1 ${status} ${reason ?? STATUS_TEXT[status] ?? "Status"}\r\n`;
}

/** A whole response: status, fields and body. */
export interface HttpResponse {
  /** Status code. */
  status: number;
  /** Header fields. */
  headers?: HeadersInit;
  /** Body (a `Content-Length` is added unless given). */
  body?: string | Uint8Array;
}

/** Options of {@linkcode formatResponse}. */
export interface ResponseFormatOptions extends FormatOptions {
  /** Add `Connection: keep-alive` instead of `Connection: close` when no `Connection` is given. */
  keepAlive?: boolean;
}

/**
 * Formats a response with its body. Adds `Content-Length` and `Connection` (`close`, or
 * `keep-alive` with `keepAlive`; `Keep-Alive` when capitalised) when absent, except to 1xx responses, which have no body.
 * Names come lower-case (as from `Headers`) unless `capitalize` is set.
 *
 * @param response Status, headers and body.
 * @param options Capitalisation and keep-alive.
 * @returns The bytes to send.
 *
 * @example
 * ```ts
 * import { formatResponse } from "@rtclite/std/http1";
 * import { equal } from "node:assert/strict";
 *
 * const text = (b: Uint8Array) => new TextDecoder().decode(b);
 * equal(text(formatResponse({ status: 404, body: "no" })),
 *   "HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno");
 * equal(text(formatResponse({ status: 200, headers: { "content-type": "a/b" } }, { capitalize: true, keepAlive: true })),
 *   "HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n\r\n");
 * ```
 */
export function formatResponse(
  response: HttpResponse,
  options?: ResponseFormatOptions,
): Uint8Array {
  const body = typeof response.body === "string"
    ? encoder.encode(response.body)
    : response.body ?? new Uint8Array(0);
  const headers = new Headers(response.headers);
  const fields: [string, string][] = [...headers];
  if (response.status >= 200) {
    if (!headers.has("content-length")) fields.push(["content-length", String(body.length)]);
    if (!headers.has("connection")) {
      const keepAlive = options?.capitalize ? "Keep-Alive" : "keep-alive";
      fields.push(["connection", options?.keepAlive ? keepAlive : "close"]);
    }
  }
  const head = statusLine(response.status) + fieldLines(fields, options) + "\r\n";
  const bytes = encoder.encode(head);
  if (!body.length) return bytes;
  const out = new Uint8Array(bytes.length + body.length);
  out.set(bytes);
  out.set(body, bytes.length);
  return out;
}

/** A byte stream to read a head from (a `Deno.Conn` is one). */
export interface HeadReader {
  /** Reads into `p`; resolves with the byte count, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * Reads from `conn` until a head is complete.
 *
 * @param conn The stream.
 * @param maxSize Largest head accepted (default {@linkcode DEFAULT_MAX_HEAD_SIZE}).
 * @returns The head (with its empty line) and the bytes read after it.
 * @throws {HttpParseError} Status 431 for a longer head, 400 when the stream ends first.
 *
 * @example
 * ```ts
 * import { readHead } from "@rtclite/std/http1";
 * import { equal } from "node:assert/strict";
 *
 * const chunks = ["GET / HTTP/1.1\r\n", "Host: x\r\n\r\nfirst frame"].map((s) => new TextEncoder().encode(s));
 * const conn = {
 *   read: (p: Uint8Array) => {
 *     const c = chunks.shift();
 *     if (!c) return Promise.resolve(null);
 *     p.set(c);
 *     return Promise.resolve(c.length);
 *   },
 * };
 * const { head, leftover } = await readHead(conn);
 * equal(head.length, 27);
 * equal(new TextDecoder().decode(leftover), "first frame");
 * ```
 */
export async function readHead(
  conn: HeadReader,
  maxSize: number = DEFAULT_MAX_HEAD_SIZE,
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
    if (n === null) throw new HttpParseError("Cannot read HTTP head: connection closed", 400, len);
    const from = Math.max(0, len - 3);
    len += n;
    const end = findHeadEnd(buf.subarray(from, len), Infinity);
    if (end >= 0 && from + end <= maxSize) {
      return { head: buf.slice(0, from + end), leftover: buf.slice(from + end, len) };
    }
    if (len >= maxSize) {
      throw new HttpParseError(`Cannot read HTTP head: longer than ${maxSize} bytes`, 431);
    }
  }
}
