// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * RTMPT over Deno: {@linkcode RtmptHandler}, a `fetch`-style handler that maps the tunnel's
 * HTTP requests onto {@linkcode RtmptSession}s and attaches each one to an
 * {@linkcode RtmptBackend} such as the `RtmpServer` of `@rtclite/vnd/adobe/rtmp` through an
 * {@linkcode RtmpTransport}; give its `fetch` to `Deno.serve`, or use {@linkcode serveRtmpt}, a
 * small HTTP/1.1 listener (on `@rtclite/std/http1` and the accept loop of `@rtclite/std/net`)
 * that writes header names capitalised: librtmp (rtmpdump, and programs built on it) finds
 * `Content-Length` only in that spelling, while `Deno.serve` sends lower-case names. The command
 * line (`@rtclite/vnd/adobe/rtmpt/main`) uses {@linkcode serveRtmpt}.
 *
 * @example Open a tunnel, send an RTMP handshake through it, and close it
 * ```ts
 * import { RtmptHandler } from "@rtclite/vnd/adobe/rtmpt/deno";
 * import { serveRtmp } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal } from "node:assert/strict";
 *
 * await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
 * await using rtmpt = new RtmptHandler({ backend: server });
 * const post = (path: string, body: Uint8Array<ArrayBuffer>) =>
 *   rtmpt.fetch(new Request(`http://localhost${path}`, { method: "POST", body }));
 * const id = (await (await post("/open/1", new Uint8Array(1))).text()).trim();
 * const c0c1 = new Uint8Array(1537);
 * c0c1[0] = 3; // RTMP version
 * const reply = new Uint8Array(await (await post(`/send/${id}/1`, c0c1)).arrayBuffer());
 * equal(reply[0], 1); // polling interval
 * equal(reply[1], 3); // S0, then S1 and S2
 * equal(reply.length, 1 + 1 + 1536 * 2);
 * equal((await post(`/close/${id}/2`, new Uint8Array(1))).status, 200);
 * equal(rtmpt.sessions, 0);
 * ```
 *
 * @module
 */
import { concat } from "@rtclite/std/bytes";
import { findHeadEnd, formatResponse, HttpParseError, parseRequestHead } from "@rtclite/std/http1";
import { getLogger } from "@rtclite/std/log";
import { acceptLoop } from "@rtclite/std/net";
import type { RtmpTransport } from "../rtmp/net.ts";
import { RTMPT_CONTENT_TYPE, RtmptError, RtmptSession } from "./mod.ts";

export type { RtmpTransport };

const log = getLogger("rtmp", "rtmpt");

// === Transport into the RTMP server ===

/** Where {@linkcode RtmptHandler} runs the RTMP side of each session (an `RtmpServer` is one). */
export interface RtmptBackend {
  /**
   * Starts an RTMP connection over the transport.
   *
   * @returns `false` when refused.
   */
  attach(transport: RtmpTransport): boolean;
}

/** The byte transport an RTMPT session presents to the RTMP server. */
class TunnelTransport implements RtmpTransport {
  #waiter: (() => void) | undefined;
  #pending: Uint8Array = new Uint8Array(0);
  #closed = false;
  constructor(
    readonly session: RtmptSession,
    readonly remoteAddr: Deno.Addr,
    readonly onClose: () => void,
  ) {}

  /** Wakes the reader after the session received bytes or closed. */
  wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    for (;;) {
      if (!this.#pending.length) this.#pending = this.session.takeInput();
      if (this.#pending.length) {
        const n = Math.min(buffer.length, this.#pending.length);
        buffer.set(this.#pending.subarray(0, n));
        this.#pending = this.#pending.subarray(n);
        return n;
      }
      if (this.#closed || this.session.closed) return null;
      await new Promise<void>((r) => (this.#waiter = r));
    }
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Tunnel is closed"));
    try {
      this.session.output(bytes);
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve(bytes.length);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.session.end();
    this.wake();
    this.onClose();
  }
}

// === HTTP handler ===

/** Options for {@linkcode RtmptHandler}. */
export interface RtmptOptions {
  /** The RTMP server each session is attached to. */
  backend: RtmptBackend;
  /** Clock in milliseconds (default `Date.now`). */
  now?: () => number;
  /** Idle time after which a session is closed, in ms (default 30 000). */
  sessionTimeout?: number;
  /** Most simultaneous sessions (default 1000). */
  maxSessions?: number;
  /** Largest request body accepted, in bytes (default 4 MiB). */
  maxBodySize?: number;
  /** Largest polling interval byte (default 32). */
  maxPollingInterval?: number;
  /** Server bytes held per session before it is dropped (default 16 MiB). */
  maxBuffered?: number;
  /** Most server bytes per response (default 1 MiB). */
  maxResponseSize?: number;
  /** How often expired sessions are swept, in ms (default 5 000; 0 sweeps only on requests). */
  sweepInterval?: number;
  /** Time the handler lets the RTMP side answer a `send` before responding, in ms (default 0: one timer turn). */
  replyDelay?: number;
}

interface Entry {
  session: RtmptSession;
  transport: TunnelTransport;
}

const ROUTE = /^\/(send|idle|close)\/([0-9A-Za-z_-]{1,64})\/([0-9]{1,15})$/;

/**
 * A `fetch`-style RTMPT handler: give {@linkcode RtmptHandler.fetch} to `Deno.serve`.
 *
 * @example Serve RTMPT next to an RTMP server
 * ```ts
 * import { RtmptHandler } from "@rtclite/vnd/adobe/rtmpt/deno";
 * import { serveRtmp } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal } from "node:assert/strict";
 *
 * await using rtmp = serveRtmp({ hostname: "127.0.0.1", port: 0 });
 * await using rtmpt = new RtmptHandler({ backend: rtmp });
 * await using http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, rtmpt.fetch);
 * const res = await fetch(`http://127.0.0.1:${http.addr.port}/open/1`, { method: "POST", body: "\0" });
 * equal(res.headers.get("content-type"), "application/x-fcs");
 * equal((await res.text()).endsWith("\n"), true);
 * equal(rtmpt.sessions, 1);
 * ```
 */
export class RtmptHandler implements AsyncDisposable {
  readonly #options: RtmptOptions;
  readonly #now: () => number;
  readonly #sessions = new Map<string, Entry>();
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /**
   * Handles one HTTP request (bound: pass it to `Deno.serve` as it is).
   *
   * @param request The request.
   * @param info The connection info from `Deno.serve` (for the peer address in logs).
   * @returns The response; never rejects.
   */
  readonly fetch: (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>;

  /**
   * Creates the handler.
   *
   * @param options Backend, clock and limits.
   */
  constructor(options: RtmptOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.fetch = (request, info) =>
      this.#handle(request, info).catch((e) => {
        log.error("RTMPT request failed: {error}", { error: String(e) });
        return text(500, "Internal server error");
      });
    const every = options.sweepInterval ?? 5000;
    if (every > 0) {
      const timer = setInterval(() => this.sweep(), every);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Number of open sessions. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * Closes the sessions that saw no request within the timeout.
   *
   * @returns How many were closed.
   */
  sweep(): number {
    let n = 0;
    for (const [id, e] of this.#sessions) {
      if (!e.session.expired) continue;
      log.info("RTMPT session {id} timed out", { id });
      this.#drop(id, e);
      n++;
    }
    return n;
  }

  /** Closes every session and stops the sweep timer. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const [id, e] of this.#sessions) this.#drop(id, e);
  }

  /** Closes the handler (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #drop(id: string, e: Entry): void {
    this.#sessions.delete(id);
    e.session.end();
    e.transport.close();
  }

  async #handle(request: Request, info?: Deno.ServeHandlerInfo): Promise<Response> {
    this.sweep();
    if (request.method !== "POST") {
      return text(405, "RTMPT requests must use POST", { allow: "POST" });
    }
    const path = new URL(request.url).pathname;
    const body = await readBody(request, this.#options.maxBodySize ?? 4 * 1024 * 1024);
    if (body instanceof Response) return body;
    if (this.#closed) return text(503, "Server closing");
    // An optional probe sent before /open by some players; servers answer it with 404.
    if (path === "/fcs/ident2" || path === "/fcs/ident") return text(404, "Not found");
    if (path === "/open/1") return this.#open(info);
    const m = ROUTE.exec(path);
    if (!m) return text(404, `Unknown RTMPT request ${path.slice(0, 100)}`);
    const [, cmd, id, seqText] = m;
    const e = this.#sessions.get(id!);
    if (!e) return text(404, "Unknown RTMPT session");
    const seq = Number(seqText);
    try {
      if (cmd === "send") {
        e.session.send(seq, body);
        e.transport.wake();
        // Let the RTMP side process the bytes so the answer goes out in this response.
        await new Promise((r) => setTimeout(r, this.#options.replyDelay ?? 0));
      } else if (cmd === "idle") {
        e.session.idle(seq);
      } else {
        e.session.close(seq);
        this.#drop(id!, e);
        log.debug("RTMPT session {id} closed by the client", { id });
        return fcs(new Uint8Array(1));
      }
    } catch (err) {
      if (err instanceof RtmptError) return text(err.status, err.message);
      throw err;
    }
    const out = e.session.respond();
    if (e.session.closed && !e.session.buffered) this.#sessions.delete(id!);
    return fcs(out);
  }

  #open(info?: Deno.ServeHandlerInfo): Response {
    if (this.#sessions.size >= (this.#options.maxSessions ?? 1000)) {
      return text(503, "Too many RTMPT sessions");
    }
    const id = newId();
    const session = new RtmptSession(id, {
      now: this.#now,
      ...(this.#options.sessionTimeout !== undefined
        ? { timeout: this.#options.sessionTimeout }
        : {}),
      ...(this.#options.maxPollingInterval !== undefined
        ? { maxPollingInterval: this.#options.maxPollingInterval }
        : {}),
      ...(this.#options.maxBuffered !== undefined
        ? { maxBuffered: this.#options.maxBuffered }
        : {}),
      ...(this.#options.maxResponseSize !== undefined
        ? { maxResponseSize: this.#options.maxResponseSize }
        : {}),
    });
    const remote: Deno.Addr = info?.remoteAddr ??
      { transport: "tcp", hostname: "0.0.0.0", port: 0 };
    const transport = new TunnelTransport(session, remote, () => {
      // The RTMP side closed: keep the entry until its last output has been polled.
      const e = this.#sessions.get(id);
      if (e && !session.buffered) this.#sessions.delete(id);
    });
    const entry = { session, transport };
    this.#sessions.set(id, entry);
    if (!this.#options.backend.attach(transport)) {
      this.#sessions.delete(id);
      return text(503, "RTMP server refused the session");
    }
    log.debug("RTMPT session {id} opened", { id });
    return fcs(new TextEncoder().encode(`${id}\n`));
  }
}

function newId(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const HEADERS = { "content-type": RTMPT_CONTENT_TYPE, "cache-control": "no-cache" };

function fcs(body: Uint8Array): Response {
  return new Response(body as Uint8Array<ArrayBuffer>, { status: 200, headers: HEADERS });
}

function text(status: number, message: string, extra: Record<string, string> = {}): Response {
  return new Response(`${message}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...extra },
  });
}

/** Reads a request body up to `max` bytes, or returns the 413/400 response. */
async function readBody(request: Request, max: number): Promise<Uint8Array | Response> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > max) {
    return text(413, `Request body of ${declared} bytes is over the limit of ${max}`);
  }
  if (!request.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of request.body) {
      size += chunk.length;
      if (size > max) return text(413, `Request body is over the limit of ${max} bytes`);
      parts.push(chunk);
    }
  } catch {
    return text(400, "Cannot read request body");
  }
  return parts.length === 1 ? parts[0]! : concat(parts);
}

// === A small HTTP/1.1 server for clients that parse headers case-sensitively ===

/** Options for {@linkcode serveRtmpt}. */
export interface RtmptServeOptions {
  /** The handler whose {@linkcode RtmptHandler.fetch} answers each request. */
  handler: RtmptHandler;
  /** Address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** TCP port (default 80; 0 for any free port). */
  port?: number;
  /** Largest request head (request line and header fields) in bytes (default 8192). */
  maxHeaderSize?: number;
  /** Largest request body in bytes (default 4 MiB). */
  maxBodySize?: number;
  /** Most simultaneous HTTP connections (default 1000). */
  maxConnections?: number;
  /** Time a keep-alive connection may wait for its next request, in ms (default 60 000). */
  idleTimeout?: number;
}

/** A running HTTP/1.1 listener for RTMPT (see {@linkcode serveRtmpt}). */
export interface RtmptServer extends AsyncDisposable {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** Resolves when the listener has stopped. */
  readonly finished: Promise<void>;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/**
 * Serves an {@linkcode RtmptHandler} over a minimal HTTP/1.1 implementation (POST with
 * `Content-Length`, keep-alive) whose response header names are written in their usual
 * capitalisation (`Content-Length`). librtmp (rtmpdump, and programs built on it) looks for
 * `Content-` case-sensitively, so it cannot use servers that send lower-case names, as
 * `Deno.serve` does; FFmpeg and browsers work with either.
 *
 * @param options The handler, address and limits.
 * @returns The running server.
 *
 * @example
 * ```ts
 * import { RtmptHandler, serveRtmpt } from "@rtclite/vnd/adobe/rtmpt/deno";
 * import { serveRtmp } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal } from "node:assert/strict";
 *
 * await using rtmp = serveRtmp({ hostname: "127.0.0.1", port: 0 });
 * await using handler = new RtmptHandler({ backend: rtmp });
 * await using http = serveRtmpt({ handler, hostname: "127.0.0.1", port: 0 });
 * const res = await fetch(`http://127.0.0.1:${http.addr.port}/open/1`, { method: "POST", body: "\0" });
 * equal(res.status, 200);
 * equal((await res.text()).length, 17);
 * ```
 */
export function serveRtmpt(options: RtmptServeOptions): RtmptServer {
  const listener = Deno.listen({
    hostname: options.hostname ?? "0.0.0.0",
    port: options.port ?? 80,
    transport: "tcp",
  });
  const loop = acceptLoop(listener, async (conn) => {
    try {
      await serveHttpConn(conn, options);
    } catch (e) {
      log.debug("HTTP connection ended: {error}", { error: String(e) });
    }
  }, { name: "RTMPT", maxConnections: options.maxConnections ?? 1000 });
  const finished = Promise.withResolvers<void>();
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      await loop.close();
      finished.resolve();
    })();
  return {
    addr: listener.addr,
    finished: finished.promise,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

async function writeResponse(conn: Deno.Conn, res: Response, close: boolean): Promise<void> {
  const body = new Uint8Array(await res.arrayBuffer());
  const bytes = formatResponse(
    { status: res.status, headers: res.headers, body },
    { capitalize: true, keepAlive: !close },
  );
  await writeAll(conn, bytes);
}

async function serveHttpConn(conn: Deno.TcpConn, options: RtmptServeOptions): Promise<void> {
  const maxHead = options.maxHeaderSize ?? 8192;
  const maxBody = options.maxBodySize ?? 4 * 1024 * 1024;
  const idle = options.idleTimeout ?? 60_000;
  let buf: Uint8Array = new Uint8Array(0);
  const chunk = new Uint8Array(64 * 1024);
  const fill = async (): Promise<boolean> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const n = await Promise.race([
        conn.read(chunk),
        new Promise<null>((r) => (timer = setTimeout(() => r(null), idle))),
      ]);
      if (n === null) return false;
      buf = concat([buf, chunk.subarray(0, n)]);
      return true;
    } finally {
      clearTimeout(timer);
    }
  };
  const fail = (status: number, message: string) =>
    writeResponse(conn, new Response(`${message}\n`, { status }), true);
  for (;;) {
    let keepAlive: boolean;
    let target: string;
    let method: string;
    let headers: Headers;
    let end: number;
    try {
      while ((end = findHeadEnd(buf, maxHead)) < 0) {
        if (!await fill()) return;
      }
      const head = parseRequestHead(buf.subarray(0, end));
      ({ method, target, headers } = head);
      if (!target.startsWith("/") || !/^1\.[01]$/.test(head.version)) {
        return fail(400, "Malformed request line");
      }
      keepAlive = head.version === "1.1"
        ? headers.get("connection")?.toLowerCase() !== "close"
        : headers.get("connection")?.toLowerCase() === "keep-alive";
    } catch (e) {
      if (!(e instanceof HttpParseError)) throw e;
      return fail(e.status, e.status === 431 ? "Request head too large" : e.message);
    }
    if (headers.has("transfer-encoding")) return fail(501, "Chunked bodies are not supported");
    const lengthText = headers.get("content-length") ?? "0";
    if (!/^[0-9]{1,10}$/.test(lengthText)) return fail(400, "Bad Content-Length");
    const length = Number(lengthText);
    if (length > maxBody) return fail(413, "Request body too large");
    buf = buf.subarray(end);
    const body = new Uint8Array(length);
    let got = Math.min(length, buf.length);
    body.set(buf.subarray(0, got));
    buf = buf.subarray(got);
    while (got < length) {
      buf = new Uint8Array(0);
      if (!await fill()) return;
      const take = Math.min(length - got, buf.length);
      body.set(buf.subarray(0, take), got);
      got += take;
      buf = buf.subarray(take);
    }
    let request: Request;
    try {
      request = new Request(`http://${headers.get("host") ?? "localhost"}${target}`, {
        method,
        headers,
        ...(method === "GET" || method === "HEAD" ? {} : { body }),
      });
    } catch {
      return fail(400, "Malformed request");
    }
    const res = await options.handler.fetch(request, {
      remoteAddr: conn.remoteAddr,
      completed: Promise.resolve(),
    });
    await writeResponse(conn, res, !keepAlive);
    if (!keepAlive) return;
  }
}
