// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * RTMP tunnelling over HTTP (RTMPT): a `fetch`-style handler that carries RTMP connections in
 * HTTP POST requests and bridges each tunnel into an RTMP server, so that RTMPT and RTMP
 * clients share the same live streams.
 *
 * Adobe never published RTMPT; this follows what Flash Player, Flash Media Server, Red5,
 * librtmp (rtmpdump) and FFmpeg do. Every request is a `POST` with content type
 * `application/x-fcs`; the client polls, because HTTP lets only the client speak first:
 *
 * | Request | Body | Response body |
 * | ------- | ---- | ------------- |
 * | `/fcs/ident2` | anything | `404`: an optional probe some players send first |
 * | `/open/1` | one byte (ignored) | a new session ID and `\n` |
 * | `/send/<session>/<seq>` | RTMP bytes from the client | polling interval byte + RTMP bytes from the server |
 * | `/idle/<session>/<seq>` | one byte (ignored) | polling interval byte + RTMP bytes from the server |
 * | `/close/<session>/<seq>` | one byte (ignored) | one zero byte; the session ends |
 *
 * `<seq>` is a counter the client increases with each request of the session; a request
 * whose number is not above the previous one is refused (`400`), as is a replay. The
 * polling interval byte tells the client how long to wait before its next `idle` request:
 * it is 1 after a request that moved data and grows by one with each empty poll, up to
 * {@linkcode RtmptOptions.maxPollingInterval}. A session that sees no request for
 * {@linkcode RtmptOptions.sessionTimeout} ms is closed. Requests for an unknown session get
 * `404`, methods other than `POST` get `405`, bodies over
 * {@linkcode RtmptOptions.maxBodySize} get `413`, and a full server answers `open` with `503`.
 *
 * The protocol logic is {@linkcode RtmptSession} (sequence numbers, polling interval, timeout
 * with an injected clock, bounded output); {@linkcode RtmptHandler} maps HTTP requests onto
 * sessions and attaches each one to an {@linkcode RtmptBackend} such as the `RtmpServer` of
 * `@rtclite/vnd/adobe/rtmp` through an {@linkcode RtmpTransport}. Give its `fetch` to
 * `Deno.serve`, or use {@linkcode serveRtmpt}, a small HTTP/1.1 listener that writes header
 * names capitalised: librtmp (rtmpdump, and programs built on it) finds `Content-Length` only
 * in that spelling, while `Deno.serve` sends lower-case names. The command line uses
 * {@linkcode serveRtmpt}.
 *
 * @see {@link https://en.wikipedia.org/wiki/Real-Time_Messaging_Protocol#HTTP_tunneling | Wikipedia: RTMP, HTTP tunnelling}
 * @see {@link https://github.com/Red5/red5-server | Red5 server (RTMPTServlet, RTMPTConnection)}
 * @see {@link https://git.ffmpeg.org/gitweb/rtmpdump.git/blob/HEAD:/librtmp/rtmp.c | librtmp HTTP_Post and HTTP_read}
 * @see {@link https://github.com/FFmpeg/FFmpeg/blob/master/libavformat/rtmphttp.c | FFmpeg rtmphttp.c}
 *
 * Command line (RTMPT on port 8080, plain RTMP on 1935, same streams):
 *
 * ```sh
 * deno run -A jsr:@rtclite/vnd/adobe/rtmpt serve --port 8080 [--rtmp-port 1935] [--host 0.0.0.0]
 * ffmpeg -re -i in.flv -c copy -f flv rtmpt://127.0.0.1:8080/live/cam
 * ffplay rtmp://127.0.0.1:1935/live/cam
 * ```
 *
 * @example Open a tunnel, send an RTMP handshake through it, and close it
 * ```ts
 * import { RtmptHandler } from "@rtclite/vnd/adobe/rtmpt";
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
import { getLogger, parseVerbosity, setupLogging } from "@rtclite/std/log";
import { takeOption } from "@rtclite/std/cli";
import { type RtmpTransport, serveRtmp } from "./rtmp/net.ts";

const log = getLogger("rtmp", "rtmpt");

/** The content type of every RTMPT request and response body. */
export const RTMPT_CONTENT_TYPE = "application/x-fcs";

/** The error thrown by {@linkcode RtmptSession} for a request that breaks the protocol. */
export class RtmptError extends Error {
  /** HTTP status to answer with. */
  readonly status: number;
  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param status HTTP status to answer with (default 400).
   */
  constructor(message: string, status = 400) {
    super(message);
    this.name = "RtmptError";
    this.status = status;
  }
}

// === Session state machine ===

/** Options for {@linkcode RtmptSession}. */
export interface RtmptSessionOptions {
  /** Clock in milliseconds (default `Date.now`). */
  now?: () => number;
  /** Idle time after which the session expires, in ms (default 30 000). */
  timeout?: number;
  /** Largest polling interval byte (default 32). */
  maxPollingInterval?: number;
  /** Server bytes held for the client before the session fails (default 16 MiB). */
  maxBuffered?: number;
  /** Most server bytes returned in one response; the rest waits for the next (default 1 MiB). */
  maxResponseSize?: number;
}

/**
 * One RTMPT session without I/O: it checks sequence numbers, queues the client's bytes for
 * the RTMP side and the server's bytes for the next response, computes the polling interval
 * and tracks expiry with an injected clock.
 *
 * @example
 * ```ts
 * import { RtmptSession } from "@rtclite/vnd/adobe/rtmpt";
 * import { deepEqual, equal, throws } from "node:assert/strict";
 *
 * let now = 0;
 * const s = new RtmptSession("abc", { now: () => now, timeout: 1000 });
 * s.send(1, new Uint8Array([1, 2]));
 * deepEqual(s.takeInput(), new Uint8Array([1, 2]));
 * s.output(new Uint8Array([9]));
 * deepEqual(s.respond(), new Uint8Array([1, 9])); // interval 1, then the server's byte
 * s.idle(2);
 * deepEqual(s.respond(), new Uint8Array([2])); // empty poll: interval grows
 * throws(() => s.idle(2), /sequence/);
 * now = 1500;
 * equal(s.expired, true);
 * ```
 */
export class RtmptSession {
  /** The session ID. */
  readonly id: string;
  readonly #now: () => number;
  readonly #timeout: number;
  readonly #maxInterval: number;
  readonly #maxBuffered: number;
  readonly #maxResponse: number;
  #lastSeq = -1;
  #lastActivity: number;
  #interval = 1;
  #moved = false;
  #input: Uint8Array[] = [];
  #output: Uint8Array[] = [];
  #buffered = 0;
  #closed = false;

  /**
   * Creates a session.
   *
   * @param id The session ID given to the client.
   * @param options Clock and limits.
   */
  constructor(id: string, options: RtmptSessionOptions = {}) {
    this.id = id;
    this.#now = options.now ?? Date.now;
    this.#timeout = options.timeout ?? 30_000;
    this.#maxInterval = Math.max(1, Math.min(255, options.maxPollingInterval ?? 32));
    this.#maxBuffered = options.maxBuffered ?? 16 * 1024 * 1024;
    this.#maxResponse = options.maxResponseSize ?? 1024 * 1024;
    this.#lastActivity = this.#now();
  }

  /** The polling interval byte of the next response. */
  get pollingInterval(): number {
    return this.#interval;
  }

  /** The last sequence number accepted (-1 before the first request). */
  get lastSequence(): number {
    return this.#lastSeq;
  }

  /** Server bytes waiting for the client. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Whether the session has been closed (by either side). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether no request came for longer than the timeout. */
  get expired(): boolean {
    return this.#now() - this.#lastActivity > this.#timeout;
  }

  /**
   * Handles `/send/<session>/<seq>`: accepts the client's RTMP bytes.
   *
   * @param seq The request's sequence number.
   * @param bytes The request body.
   * @throws {RtmptError} On a sequence number not above the last one, or a closed session.
   */
  send(seq: number, bytes: Uint8Array): void {
    this.#request(seq);
    if (bytes.length) {
      this.#input.push(bytes.slice());
      this.#moved = true;
    }
  }

  /**
   * Handles `/idle/<session>/<seq>`: a poll for server bytes.
   *
   * @param seq The request's sequence number.
   * @throws {RtmptError} On a sequence number not above the last one, or a closed session.
   */
  idle(seq: number): void {
    this.#request(seq);
  }

  /**
   * Handles `/close/<session>/<seq>`: ends the session.
   *
   * @param seq The request's sequence number.
   * @throws {RtmptError} On a sequence number not above the last one, or a closed session.
   */
  close(seq: number): void {
    this.#request(seq);
    this.#closed = true;
  }

  /** Marks the session closed from the server side (its pending output is still returned). */
  end(): void {
    this.#closed = true;
  }

  /**
   * Takes the client bytes received since the last call.
   *
   * @returns The bytes, in order (possibly empty).
   */
  takeInput(): Uint8Array {
    const out = concat(this.#input);
    this.#input = [];
    return out;
  }

  /**
   * Queues server bytes for the client.
   *
   * @param bytes RTMP bytes from the server.
   * @throws {RtmptError} When more than `maxBuffered` bytes would wait (the client polls too slowly).
   */
  output(bytes: Uint8Array): void {
    if (!bytes.length) return;
    if (this.#buffered + bytes.length > this.#maxBuffered) {
      throw new RtmptError(
        `Cannot queue RTMPT output: ${
          this.#buffered + bytes.length
        } bytes would wait, limit ${this.#maxBuffered}`,
        503,
      );
    }
    this.#output.push(bytes.slice());
    this.#buffered += bytes.length;
  }

  /**
   * Builds the body of the response to the current `send` or `idle` request: the polling
   * interval byte, then up to `maxResponseSize` queued server bytes.
   *
   * @returns The response body.
   */
  respond(): Uint8Array {
    const parts: Uint8Array[] = [];
    let size = 0;
    while (this.#output.length && size < this.#maxResponse) {
      const head = this.#output[0]!;
      const take = Math.min(head.length, this.#maxResponse - size);
      parts.push(head.subarray(0, take));
      size += take;
      if (take === head.length) this.#output.shift();
      else this.#output[0] = head.subarray(take);
    }
    this.#buffered -= size;
    if (size || this.#moved) this.#interval = 1;
    else this.#interval = Math.min(this.#maxInterval, this.#interval + 1);
    this.#moved = false;
    const body = new Uint8Array(1 + size);
    body[0] = this.#interval;
    let off = 1;
    for (const p of parts) {
      body.set(p, off);
      off += p.length;
    }
    return body;
  }

  #request(seq: number): void {
    // A session the server side closed still answers until its last bytes are polled.
    if (this.#closed && !this.#buffered) {
      throw new RtmptError(`RTMPT session ${this.id} is closed`, 404);
    }
    if (!Number.isSafeInteger(seq) || seq <= this.#lastSeq) {
      throw new RtmptError(
        `Bad RTMPT sequence number: got ${seq}, expected more than ${this.#lastSeq}`,
      );
    }
    this.#lastSeq = seq;
    this.#lastActivity = this.#now();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

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
 * import { RtmptHandler } from "@rtclite/vnd/adobe/rtmpt";
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
  return concat(parts);
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
 * import { RtmptHandler, serveRtmpt } from "@rtclite/vnd/adobe/rtmpt";
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
  const conns = new Set<Deno.TcpConn>();
  const running = new Set<Promise<void>>();
  let closing = false;
  const finished = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (closing || e instanceof Deno.errors.BadResource) break;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (conns.size >= (options.maxConnections ?? 1000)) {
        log.warn("Refusing HTTP connection: too many connections");
        conn.close();
        continue;
      }
      conns.add(conn);
      const p = serveHttpConn(conn, options).catch((e) =>
        log.debug("HTTP connection ended: {error}", { error: String(e) })
      ).finally(() => {
        conns.delete(conn);
        try {
          conn.close();
        } catch { /* already closed */ }
      });
      running.add(p);
      p.finally(() => running.delete(p));
    }
  })();
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      closing = true;
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await Promise.allSettled([...running]);
      await finished;
    })();
  return {
    addr: listener.addr,
    finished,
    close,
    [Symbol.asyncDispose]: close,
  };
}

const CRLF2 = new Uint8Array([13, 10, 13, 10]);

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  411: "Length Required",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

function canonical(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase());
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

async function writeResponse(conn: Deno.Conn, res: Response, close: boolean): Promise<void> {
  const body = new Uint8Array(await res.arrayBuffer());
  let head = `HTTP/1.1 ${res.status} ${REASONS[res.status] ?? "Status"}\r\n`;
  for (const [k, v] of res.headers) head += `${canonical(k)}: ${v}\r\n`;
  head += `Content-Length: ${body.length}\r\n`;
  head += close ? "Connection: close\r\n\r\n" : "Connection: Keep-Alive\r\n\r\n";
  const h = new TextEncoder().encode(head);
  const out = new Uint8Array(h.length + body.length);
  out.set(h);
  out.set(body, h.length);
  await writeAll(conn, out);
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
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
      return true;
    } finally {
      clearTimeout(timer);
    }
  };
  const fail = (status: number, message: string) =>
    writeResponse(conn, new Response(`${message}\n`, { status }), true);
  for (;;) {
    let end: number;
    while ((end = indexOf(buf, CRLF2)) < 0) {
      if (buf.length > maxHead) return fail(431, "Request head too large");
      if (!await fill()) return;
    }
    if (end > maxHead) return fail(431, "Request head too large");
    const lines = new TextDecoder().decode(buf.subarray(0, end)).split("\r\n");
    const [method, target, version] = lines[0]!.split(" ");
    if (!method || !target?.startsWith("/") || !/^HTTP\/1\.[01]$/.test(version ?? "")) {
      return fail(400, "Malformed request line");
    }
    const headers = new Headers();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) return fail(400, "Malformed header field");
      try {
        headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      } catch {
        return fail(400, "Malformed header field");
      }
    }
    if (headers.has("transfer-encoding")) return fail(501, "Chunked bodies are not supported");
    const lengthText = headers.get("content-length") ?? "0";
    if (!/^[0-9]{1,10}$/.test(lengthText)) return fail(400, "Bad Content-Length");
    const length = Number(lengthText);
    if (length > maxBody) return fail(413, "Request body too large");
    buf = buf.subarray(end + 4);
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
    const keepAlive = version === "HTTP/1.1"
      ? headers.get("connection")?.toLowerCase() !== "close"
      : headers.get("connection")?.toLowerCase() === "keep-alive";
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

// === Command line ===

const USAGE = `Usage:
  rtmpt.ts serve [--host H] [--port N] [--rtmp-port N] [-v|-q]
    RTMPT (RTMP over HTTP) on --port (default 8080) and plain RTMP on --rtmp-port
    (default 1935), sharing the same live streams.`;

function port(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new RangeError(`Bad port ${text}`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { level, args } = parseVerbosity(argv);
  await setupLogging(level);
  const cmd = args.shift();
  try {
    if (cmd !== "serve") {
      console.error(USAGE);
      return cmd === "-h" || cmd === "--help" ? 0 : 2;
    }
    const hostname = takeOption(args, "--host") ?? "0.0.0.0";
    const httpPort = port(takeOption(args, "--port") ?? "8080");
    const rtmpPort = port(takeOption(args, "--rtmp-port") ?? "1935");
    const rtmp = serveRtmp({ hostname, port: rtmpPort });
    const rtmpt = new RtmptHandler({ backend: rtmp });
    const http = serveRtmpt({ handler: rtmpt, hostname, port: httpPort });
    console.error(
      `RTMPT on http://${http.addr.hostname}:${http.addr.port}/, RTMP on ${rtmp.addr.port}`,
    );
    const stop = () => void http.close();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    await http.finished;
    rtmpt.close();
    await rtmp.close();
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    return 0;
  } catch (e) {
    console.error(`rtmpt: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

export type { RtmpTransport };
