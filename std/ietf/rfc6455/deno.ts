// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * WebSocket (RFC 6455) over Deno TCP and TLS: the browser-shaped {@linkcode WebSocket} client,
 * {@linkcode serveWebSocket} on a `Deno.listen`/`Deno.listenTls` listener (through the accept
 * loop of `@rtclite/std/net`), {@linkcode acceptWebSocket} to take over an accepted `Deno.Conn`,
 * and {@linkcode upgradeWebSocket} when the HTTP request was already read. They run the
 * sans-I/O protocol of `@rtclite/std/ietf/rfc6455` (handshake, framing, close handshake,
 * permessage-deflate).
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc6455 | RFC 6455}
 *
 * @example Echo server and client on loopback
 * ```ts
 * import { serveWebSocket, WebSocket } from "@rtclite/std/ietf/rfc6455/deno";
 * import { equal } from "node:assert/strict";
 *
 * await using server = serveWebSocket({ hostname: "127.0.0.1", port: 0 }, (socket) => {
 *   socket.onmessage = (e) => socket.send(e.data);
 * });
 * const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
 * await new Promise((resolve) => ws.onopen = resolve);
 * ws.send("hello");
 * const reply = await new Promise<MessageEvent>((resolve) => ws.onmessage = resolve);
 * equal(reply.data, "hello");
 * equal(ws.extensions, "permessage-deflate");
 * ws.close(1000, "bye");
 * const closed = await new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
 * equal(closed.code, 1000);
 * equal(closed.wasClean, true);
 * ```
 *
 * @module
 */
import { concat } from "../../bytes.ts";
import { HttpParseError, readHead as readHttpHead } from "../../http1.ts";
import { getLogger } from "../../log.ts";
import { type AcceptLoop, acceptLoop } from "../../net.ts";
import {
  acceptHandshake,
  type ClientHandshake,
  type ClientHandshakeOptions,
  CloseCode,
  createHandshake,
  DEFAULT_MAX_HEAD_SIZE,
  type DeflateOptions,
  formatHttpResponse,
  HandshakeError,
  type HandshakeResult,
  type HttpRequestHead,
  type HttpResponse,
  isValidCloseCode,
  parseHttpRequest,
  parseHttpResponse,
  parseWebSocketUrl,
  rejectHandshake,
  type ServerHandshake,
  type ServerHandshakeOptions,
  verifyHandshake,
  type WebSocketEvent,
  WebSocketProtocol,
  type WebSocketRole,
} from "./mod.ts";

const log = getLogger("websocket");
const encoder = new TextEncoder();

// === The browser-shaped WebSocket (RFC 6455 §1.8, §7.1.1) ===

/** A byte stream the WebSocket runs on; `Deno.Conn` (TCP or TLS) is one. */
export interface Transport {
  /** Reads into `p`; resolves with the byte count, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes from `p`; resolves with the byte count written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream. */
  close(): void;
}

/** Options shared by client and server sockets. */
export interface WebSocketOptions {
  /** Largest message accepted (default 64 MiB); larger fails with 1009. */
  maxMessageSize?: number;
  /** Largest frame payload accepted (default: `maxMessageSize`). */
  maxFrameSize?: number;
  /** Split outgoing messages into frames of this many payload bytes (default: no splitting). */
  fragmentSize?: number;
  /** Milliseconds to wait for the peer's Close frame or TCP close (default 5000). */
  closeTimeout?: number;
  /** Messages buffered for a slow `for await` reader before reading pauses (default 16). */
  highWaterMark?: number;
  /** Most frames in one message; more fails with 1009 (default 65,536). */
  maxFragments?: number;
  /**
   * Bytes waiting to be written above which reading from the peer pauses (default 1 MiB): a
   * peer that does not read what it is sent (an echo) cannot make the queue grow.
   */
  writeHighWaterMark?: number;
  /**
   * Most bytes waiting to be written (default 128 MiB); a `send()` beyond fails the connection
   * with 1008, so a reader that never drains cannot hold unbounded memory.
   */
  maxBufferedAmount?: number;
  /**
   * Most bytes a connection may inflate (permessage-deflate) per second (default 8 MiB);
   * reading pauses beyond it. Compressed input is inflated in slices that yield to other
   * connections, and all the sockets of the process together inflate for at most a quarter of
   * the time, so deflate bombs cannot starve other clients.
   */
  maxInflateRate?: number;
  /**
   * Milliseconds without anything received after which the connection is closed with 1001
   * (default: none for clients, 120000 for the server functions); a ping is sent after a third of it, so a
   * live peer answers with a pong in time.
   */
  idleTimeout?: number;
}

/** Options of the client {@linkcode WebSocket} constructor. */
export interface WebSocketClientOptions
  extends WebSocketOptions, Omit<ClientHandshakeOptions, "protocols"> {
  /** Milliseconds to wait for the connection and handshake (default 10000). */
  handshakeTimeout?: number;
  /** Largest response head accepted. */
  maxHeadSize?: number;
  /** Extra CA certificates (PEM) for `wss:`. */
  caCerts?: string[];
  /** Opens the transport instead of `Deno.connect`/`Deno.connectTls` (e.g. a proxy tunnel). */
  connect?: (url: URL) => Promise<Transport>;
}

/** What {@linkcode WebSocket.fromTransport} needs about an already-completed handshake. */
export interface WebSocketInit extends WebSocketOptions, HandshakeResult {
  /** Which side this socket is. */
  role: WebSocketRole;
  /** The URL (client) or request URL (server) to report in `url`. */
  url: string;
  /** Bytes already read after the handshake head (frames sent early by the peer). */
  leftover?: Uint8Array;
  /** The request head (server side). */
  request?: HttpRequestHead | undefined;
  /** Bytes to write before any frame (e.g. the server's 101 response). */
  preamble?: Uint8Array;
  /** Compression threshold and level. */
  deflateOptions?: Pick<DeflateOptions, "threshold" | "level">;
  /** The peer's address, when the transport has one. */
  remoteAddr?: Deno.Addr;
}

/** What `binaryType` selects for binary messages in `message` events. */
export type BinaryType = "blob" | "arraybuffer";

/** `readyState` values. */
type ReadyState = 0 | 1 | 2 | 3;

/** Compressed bytes given to the protocol at a time (each inflates to at most ~1032 times more). */
const INFLATE_SLICE = 512;
/** Inflated bytes after which a connection yields to the event loop. */
const INFLATE_YIELD = 256 * 1024;
/**
 * Milliseconds per one-second window that all the WebSockets of the process together may spend
 * inflating: beyond, compressed input waits for the next window, so that any number of deflate
 * bombs leaves three quarters of the time to everything else.
 */
const INFLATE_WINDOW_MS = 250;
const INFLATE_WINDOW = 1000;
const inflateTime = { start: 0, spent: 0, window: 0 };
/** Inflate milliseconds per window a connection may spend even when the shared budget is spent. */
const INFLATE_FREE_MS = 10;

async function writeAll(conn: Transport, data: Uint8Array): Promise<void> {
  let o = 0;
  while (o < data.length) o += await conn.write(data.subarray(o));
}

/** Reads an HTTP head and whatever followed; a bad or oversized head is a HandshakeError. */
async function readHead(
  conn: Transport,
  maxSize: number,
): Promise<{ head: Uint8Array; leftover: Uint8Array }> {
  try {
    return await readHttpHead(conn, maxSize);
  } catch (e) {
    throw e instanceof HttpParseError ? new HandshakeError(e.message, e.status) : e;
  }
}

function timeoutError(ms: number, what: string): Error {
  return new Deno.errors.TimedOut(`Timed out after ${ms} ms: ${what}`);
}

/**
 * A WebSocket shaped like the browser's (`readyState`, `send`, `close`, `binaryType`,
 * `bufferedAmount`, `open`/`message`/`error`/`close` events and `on*` handlers), running this
 * module's protocol over a Deno TCP or TLS connection. It is also an async iterable of messages
 * (`string` for text, `Uint8Array` for binary): while a `for await` loop is slower than the
 * peer, reading from the socket pauses once `highWaterMark` messages wait (backpressure).
 *
 * Replies sent from a `message` handler go out before the automatic answer to a Close frame that
 * arrived in the same read; a `for await` loop that is behind when the peer closes can no longer
 * reply (its `send` is ignored, as after any close).
 *
 * `new WebSocket(url)` connects as a client; servers get instances from
 * {@linkcode serveWebSocket}, {@linkcode acceptWebSocket} or {@linkcode upgradeWebSocket}.
 *
 * @example Iterate over messages
 * ```ts
 * import { serveWebSocket, WebSocket } from "@rtclite/std/ietf/rfc6455/deno";
 * import { deepEqual } from "node:assert/strict";
 *
 * await using server = serveWebSocket({ hostname: "127.0.0.1", port: 0 }, async (socket) => {
 *   for await (const message of socket) socket.send(message);
 * });
 * const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}`);
 * ws.onopen = () => {
 *   ws.send("one");
 *   ws.send(new Uint8Array([2]));
 * };
 * const got: (string | Uint8Array)[] = [];
 * for await (const message of ws) {
 *   got.push(message);
 *   if (got.length === 2) ws.close();
 * }
 * deepEqual(got, ["one", new Uint8Array([2])]);
 * ```
 */
export class WebSocket extends EventTarget implements AsyncIterable<string | Uint8Array> {
  /** The connection is being established. */
  static readonly CONNECTING = 0;
  /** The connection is open. */
  static readonly OPEN = 1;
  /** The closing handshake is in progress. */
  static readonly CLOSING = 2;
  /** The connection is closed. */
  static readonly CLOSED = 3;

  static #init: { transport: Transport; init: WebSocketInit } | undefined;

  /** Called on `open`. */
  onopen: ((ev: Event) => void) | null = null;
  /** Called on `message`. */
  onmessage: ((ev: MessageEvent) => void) | null = null;
  /** Called on `error`. */
  onerror: ((ev: Event) => void) | null = null;
  /** Called on `close`. */
  onclose: ((ev: CloseEvent) => void) | null = null;

  #url: string;
  #readyState: ReadyState = 0;
  #protocol = "";
  #extensions = "";
  #binaryType: BinaryType = "blob";
  #conn: Transport | undefined;
  #proto: WebSocketProtocol | undefined;
  #request: HttpRequestHead | undefined;
  #role: WebSocketRole = "client";
  #options: WebSocketOptions;
  #remoteAddr: Deno.Addr | undefined;
  #writeQueue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  #closeAfterWrite = false;
  #drainWaiters: (() => void)[] = [];
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #finished = false;
  #messages: (string | Uint8Array)[] = [];
  #iterators = 0;
  #wake: (() => void) | undefined;
  #resume: (() => void) | undefined;

  /**
   * Opens a client connection to `url` (RFC 6455 §4.1).
   *
   * @param url `ws:` or `wss:` URI.
   * @param protocols Subprotocols to offer.
   * @param options Handshake, limits and transport options.
   * @throws {SyntaxError} For a bad URL or subprotocol list.
   */
  constructor(
    url: string | URL,
    protocols: string | readonly string[] = [],
    options: WebSocketClientOptions = {},
  ) {
    super();
    const wrap = WebSocket.#init;
    WebSocket.#init = undefined;
    this.#options = wrap?.init ?? options;
    if (wrap) {
      this.#url = wrap.init.url;
      this.#open(wrap.transport, wrap.init);
      return;
    }
    const u = parseWebSocketUrl(url);
    this.#url = u.href;
    const list = typeof protocols === "string" ? [protocols] : [...protocols];
    const hs = createHandshake(u, { ...options, protocols: list });
    this.#connect(u, hs, options);
  }

  /**
   * Wraps a transport whose opening handshake has completed (used by the server functions, and
   * for custom transports).
   *
   * @param transport The byte stream.
   * @param init The handshake result, role and options.
   * @returns An open socket.
   *
   * @example
   * ```ts
   * import { WebSocket } from "@rtclite/std/ietf/rfc6455/deno";
   * import { equal } from "node:assert/strict";
   * const written: Uint8Array[] = [];
   * const transport = {
   *   read: () => new Promise<null>(() => {}),
   *   write: (p: Uint8Array) => (written.push(p.slice()), Promise.resolve(p.length)),
   *   close: () => {},
   * };
   * const ws = WebSocket.fromTransport(transport, {
   *   role: "server", url: "ws://x/", protocol: "", extensions: "", deflate: undefined,
   * });
   * equal(ws.readyState, WebSocket.OPEN);
   * ws.send("hi");
   * await ws.flush();
   * equal(written[0]![0], 0x81);
   * ```
   */
  static fromTransport(transport: Transport, init: WebSocketInit): WebSocket {
    WebSocket.#init = { transport, init };
    return new WebSocket(init.url);
  }

  /** The URL of the connection. */
  get url(): string {
    return this.#url;
  }
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  get readyState(): number {
    return this.#readyState;
  }
  /** The subprotocol the server selected, or `""`. */
  get protocol(): string {
    return this.#protocol;
  }
  /** The extensions in effect (`Sec-WebSocket-Extensions`), or `""`. */
  get extensions(): string {
    return this.#extensions;
  }
  /** The peer's address (server sockets), else `undefined`. */
  get remoteAddr(): Deno.Addr | undefined {
    return this.#remoteAddr;
  }
  /** Bytes queued by `send` and not yet written to the transport. */
  get bufferedAmount(): number {
    return this.#queued + (this.#proto?.bufferedAmount ?? 0);
  }
  /** The HTTP request of the opening handshake (server side only). */
  get request(): HttpRequestHead | undefined {
    return this.#request;
  }
  /** How binary messages appear in `message` events: `blob` (default) or `arraybuffer`. */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(value: BinaryType) {
    if (value === "blob" || value === "arraybuffer") this.#binaryType = value;
  }

  async #connect(u: URL, hs: ClientHandshake, options: WebSocketClientOptions): Promise<void> {
    const ms = options.handshakeTimeout ?? 10_000;
    let conn: Transport | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        conn?.close();
      } catch { /* already closed */ }
    }, ms);
    try {
      const hostname = u.hostname.replace(/^\[|\]$/g, "");
      const port = Number(u.port || (u.protocol === "wss:" ? 443 : 80));
      conn = options.connect
        ? await options.connect(u)
        : u.protocol === "wss:"
        ? await Deno.connectTls({
          hostname,
          port,
          ...(options.caCerts ? { caCerts: options.caCerts } : {}),
        })
        : await Deno.connect({ hostname, port });
      if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
      if (timedOut) throw timeoutError(ms, "WebSocket connect");
      this.#conn = conn;
      if (this.#finished) return conn.close();
      await writeAll(conn, hs.request);
      const { head, leftover } = await readHead(conn, options.maxHeadSize ?? DEFAULT_MAX_HEAD_SIZE);
      const result = verifyHandshake(hs, parseHttpResponse(head));
      clearTimeout(timer);
      if (this.#finished) return;
      this.#open(conn, { ...options, ...result, role: "client", url: this.#url, leftover });
    } catch (e) {
      clearTimeout(timer);
      log.debug("WebSocket connect to {url} failed: {error}", { url: this.#url, error: String(e) });
      if (this.#finished) return;
      this.#emit(
        "error",
        new ErrorEvent("error", {
          message: timedOut ? timeoutError(ms, "WebSocket handshake").message : String(e),
          error: e,
        }),
      );
      this.#finish(CloseCode.Abnormal, "", false);
    }
  }

  #open(conn: Transport, init: WebSocketInit): void {
    this.#conn = conn;
    this.#role = init.role;
    this.#request = init.request;
    this.#remoteAddr = init.remoteAddr;
    this.#protocol = init.protocol;
    this.#extensions = init.extensions;
    try {
      this.#origin = new URL(this.#url).origin;
    } catch { /* an opaque URL has no origin */ }
    this.#proto = new WebSocketProtocol({
      role: init.role,
      ...(init.maxMessageSize !== undefined ? { maxMessageSize: init.maxMessageSize } : {}),
      ...(init.maxFrameSize !== undefined ? { maxFrameSize: init.maxFrameSize } : {}),
      ...(init.fragmentSize !== undefined ? { fragmentSize: init.fragmentSize } : {}),
      ...(init.maxFragments !== undefined ? { maxFragments: init.maxFragments } : {}),
      ...(init.deflateOptions !== undefined ? { deflateOptions: init.deflateOptions } : {}),
      deflate: init.deflate,
    });
    this.#deflate = init.deflate !== undefined;
    this.#readyState = 1;
    if (init.preamble) this.#enqueue(init.preamble);
    const leftover = init.leftover;
    // Events fire from a later task, so handlers attached right after creation see them all.
    setTimeout(() => {
      if (this.#finished) return;
      this.#emit("open", new Event("open"));
      if (leftover?.length) this.#process(leftover);
      this.#armIdleTimer();
      this.#readLoop();
    }, 0);
  }

  #lastReceived = Date.now();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  // @implements RFC6455 §5.5.2 ¶4-5
  #armIdleTimer(): void {
    const idle = this.#options.idleTimeout;
    if (!idle || this.#finished) return;
    this.#idleTimer = setTimeout(() => {
      if (this.#finished) return;
      const quiet = Date.now() - this.#lastReceived;
      if (quiet >= idle) {
        log.debug("WebSocket idle for {ms} ms: closing", { ms: quiet });
        this.#proto!.close(CloseCode.GoingAway, "idle");
        this.#flushProto();
        this.#closeAfterWrite = true;
        this.#readyState = 2;
        this.#kickWriter();
        return;
      }
      // Checked every third of the timeout and pinged after a third of silence, a live peer's
      // pong always lands before the timeout, even when timers fire late.
      if (quiet >= idle / 3 && this.#readyState === 1) this.ping();
      this.#armIdleTimer();
    }, idle / 3);
  }

  #inflateWindow = 0;
  #inflateStart = 0;
  #inflateTimeWindow = 0;
  #inflateSpent = 0;

  /**
   * Feeds received bytes to the protocol; compressed input in slices, within the connection's
   * budget (bytes per second) and the process-wide one (inflate time per second).
   */
  async #feed(data: Uint8Array): Promise<void> {
    const proto = this.#proto!;
    if (!this.#deflate) return this.#process(data);
    const rate = this.#options.maxInflateRate ?? 8 * 1024 * 1024;
    for (let o = 0; o < data.length && !this.#finished;) {
      const now = performance.now();
      if (now - this.#inflateStart >= 1000) {
        this.#inflateStart = now;
        this.#inflateWindow = proto.inflatedBytes;
      }
      if (now - inflateTime.start >= INFLATE_WINDOW) {
        inflateTime.start = now;
        inflateTime.spent = 0;
        inflateTime.window++;
      }
      if (this.#inflateTimeWindow !== inflateTime.window) {
        this.#inflateTimeWindow = inflateTime.window;
        this.#inflateSpent = 0;
      }
      // Connections that inflate little (a few ms a second) are never held by the shared budget.
      const wait = proto.inflatedBytes - this.#inflateWindow >= rate
        ? 1000 - (now - this.#inflateStart)
        : inflateTime.spent >= INFLATE_WINDOW_MS && this.#inflateSpent >= INFLATE_FREE_MS
        ? INFLATE_WINDOW - (now - inflateTime.start)
        : 0;
      if (wait > 0) {
        // Over budget: stop reading from this peer until the next window.
        await new Promise((r) => setTimeout(r, Math.ceil(wait)));
        continue;
      }
      const before = proto.inflatedBytes;
      this.#process(data.subarray(o, o + INFLATE_SLICE));
      o += INFLATE_SLICE;
      if (proto.inflatedBytes !== before) {
        const took = performance.now() - now;
        inflateTime.spent += took;
        this.#inflateSpent += took;
        // Let other connections run after each slice that inflated much.
        if (proto.inflatedBytes - before >= INFLATE_YIELD || took >= 2) {
          await new Promise((r) => setTimeout(r, 0));
        }
      }
    }
  }

  #deflate = false;

  #emit(type: string, event: Event): void {
    const handler = type === "open"
      ? this.onopen
      : type === "message"
      ? this.onmessage
      : type === "error"
      ? this.onerror
      : this.onclose;
    try {
      (handler as ((e: Event) => void) | null)?.call(this, event);
    } catch (e) {
      reportError(e);
    }
    this.dispatchEvent(event);
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(256 * 1024);
    const conn = this.#conn!;
    while (!this.#finished) {
      if (this.#iterators > 0 && this.#messages.length >= (this.#options.highWaterMark ?? 16)) {
        await new Promise<void>((r) => this.#resume = r);
        continue;
      }
      if (this.bufferedAmount > (this.#options.writeHighWaterMark ?? 1024 * 1024)) {
        // Backpressure: the peer does not read what it is sent; stop reading from it.
        await this.flush();
        continue;
      }
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (e) {
        if (!this.#finished) log.debug("WebSocket read failed: {error}", { error: String(e) });
        n = null;
      }
      if (n === null) break;
      this.#lastReceived = Date.now();
      await this.#feed(buf.subarray(0, n));
    }
    // End of stream: a clean close if the closing handshake completed (RFC 6455 §7.1.4-§7.1.5).
    if (!this.#finished) {
      const p = this.#proto!;
      this.#finish(
        p.state === "closed" ? p.closeCode : CloseCode.Abnormal,
        p.closeReason,
        p.state === "closed" && p.closeCode !== CloseCode.Abnormal && !this.#failed,
      );
    }
  }

  #failed = false;

  // @implements RFC6455 §5.5.1 ¶5
  #process(data: Uint8Array): void {
    const proto = this.#proto!;
    const events = proto.receive(data);
    // While the events of one read are delivered, replies stay in the protocol: taking its
    // output would also take the answer to a Close frame later in the same read, after which
    // replies to the messages before that Close frame could no longer be sent.
    this.#delivering = true;
    try {
      this.#dispatch(events);
    } finally {
      this.#delivering = false;
    }
    // Replies sent by handlers go out before the automatic Close reply.
    this.#flushProto();
  }

  #dispatch(events: WebSocketEvent[]): void {
    for (const ev of events) {
      switch (ev.type) {
        case "message":
          this.#deliver(ev.data);
          break;
        case "error":
          this.#failed = true;
          log.debug("WebSocket failed: {error}", { error: ev.error.message });
          this.#emit(
            "error",
            new ErrorEvent("error", { message: ev.error.message, error: ev.error }),
          );
          break;
        case "close":
          this.#readyState = 2;
          // @implements RFC6455 §7.1.1 ¶2
          if (this.#role === "server" || !ev.wasClean) this.#closeAfterWrite = true;
          else this.#armCloseTimer();
          this.#kickWriter();
          break;
      }
    }
  }

  #deliver(data: string | Uint8Array): void {
    if (this.#iterators > 0) {
      this.#messages.push(data);
      this.#wake?.();
    }
    if (!this.onmessage && !this.#hasMessageListeners) return;
    let value: string | ArrayBuffer | Blob;
    if (typeof data === "string") value = data;
    else if (this.#binaryType === "arraybuffer") {
      value = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
        ? data.buffer as ArrayBuffer
        : data.slice().buffer as ArrayBuffer;
    } else value = new Blob([data as Uint8Array<ArrayBuffer>]);
    this.#emit("message", new MessageEvent("message", { data: value, origin: this.#origin }));
  }

  #listenerCount = 0;
  #origin = "";
  get #hasMessageListeners(): boolean {
    return this.#listenerCount > 0;
  }

  /**
   * Adds an event listener (`open`, `message`, `error`, `close`).
   *
   * @param type Event type.
   * @param listener The listener.
   * @param options Listener options.
   */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    if (type === "message" && listener) this.#listenerCount++;
    super.addEventListener(type, listener, options);
  }

  #delivering = false;

  #flushProto(): void {
    const proto = this.#proto;
    if (!proto || this.#delivering) return;
    for (const chunk of proto.takeOutput()) this.#enqueue(chunk);
  }

  #enqueue(chunk: Uint8Array): void {
    if (this.#queued + chunk.length > (this.#options.maxBufferedAmount ?? 128 * 1024 * 1024)) {
      // The peer does not drain its input: drop it rather than hold unbounded memory.
      if (this.#finished) return;
      log.debug("WebSocket send queue over {max} bytes: closing", {
        max: this.#options.maxBufferedAmount ?? 128 * 1024 * 1024,
      });
      this.#failed = true;
      this.#writeQueue = [];
      this.#queued = 0;
      this.#finish(CloseCode.PolicyViolation, "send queue full", false);
      return;
    }
    this.#writeQueue.push(chunk);
    this.#queued += chunk.length;
    this.#kickWriter();
  }

  #kickWriter(): void {
    if (this.#writing) return;
    this.#writing = true;
    // Start on a microtask so that frames queued in the same turn go out in one write.
    queueMicrotask(() => this.#writeLoop());
  }

  async #writeLoop(): Promise<void> {
    const conn = this.#conn!;
    try {
      while (this.#writeQueue.length) {
        const q = this.#writeQueue;
        let chunk: Uint8Array;
        if (q.length === 1 || q[0]!.length >= 65536) chunk = q.shift()!;
        else {
          // Coalesce small frames into one write.
          let n = 0, k = 0;
          while (k < q.length && n + q[k]!.length <= 262144) n += q[k++]!.length;
          if (k <= 1) chunk = q.shift()!;
          else chunk = concat(q.splice(0, k));
        }
        await writeAll(conn, chunk);
        this.#queued -= chunk.length;
      }
    } catch (e) {
      log.debug("WebSocket write failed: {error}", { error: String(e) });
      this.#writeQueue = [];
      this.#queued = 0;
      this.#writing = false;
      this.#failed = true;
      this.#finish(CloseCode.Abnormal, "", false);
      return;
    }
    this.#writing = false;
    for (const w of this.#drainWaiters.splice(0)) w();
    if (this.#closeAfterWrite && !this.#finished) {
      const p = this.#proto!;
      this.#finish(p.closeCode, p.closeReason, !this.#failed);
    }
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== undefined) return;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      if (this.#finished) return;
      const p = this.#proto;
      const clean = p?.state === "closed" && !this.#failed;
      this.#finish(clean ? p!.closeCode : CloseCode.Abnormal, p?.closeReason ?? "", clean);
    }, this.#options.closeTimeout ?? 5000);
  }

  #finish(code: number, reason: string, wasClean: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#readyState = 3;
    clearTimeout(this.#closeTimer);
    clearTimeout(this.#idleTimer);
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#wake?.();
    this.#resume?.();
    for (const w of this.#drainWaiters.splice(0)) w();
    this.#emit("close", new CloseEvent("close", { code, reason, wasClean }));
  }

  /**
   * Sends a message: a string as text, bytes (or an ArrayBuffer, a view or a Blob) as binary.
   * Does nothing once closing, as in browsers; see `bufferedAmount` and {@linkcode flush}.
   * A Blob is read first; messages sent after it wait for it, so the order is kept.
   *
   * @param data The message.
   * @throws {DOMException} `InvalidStateError` while connecting.
   */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.#readyState === 0) {
      throw new DOMException("Cannot send: the WebSocket is connecting", "InvalidStateError");
    }
    if (this.#readyState !== 1 || !this.#proto!.canSend) return;
    const payload = data instanceof Blob || typeof data === "string"
      ? data
      : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);
    if (payload instanceof Blob || this.#blobQueue) {
      // A Blob is read asynchronously; messages after it wait so that order is kept.
      (this.#blobQueue ??= []).push(payload);
      if (this.#blobQueue.length === 1) this.#drainBlobs();
      return;
    }
    this.#proto!.send(payload);
    this.#flushProto();
  }

  #blobQueue: (string | Uint8Array | Blob)[] | undefined;

  async #drainBlobs(): Promise<void> {
    const q = this.#blobQueue!;
    while (q.length) {
      const item = q[0]!;
      const payload = item instanceof Blob ? new Uint8Array(await item.arrayBuffer()) : item;
      q.shift();
      if (this.#readyState === 1 && this.#proto!.canSend) {
        this.#proto!.send(payload);
        this.#flushProto();
      }
    }
    this.#blobQueue = undefined;
  }

  /**
   * Sends a ping (RFC 6455 §5.5.2); the peer's pong is not surfaced as an event.
   *
   * @param data Up to 125 bytes.
   */
  ping(data: Uint8Array = new Uint8Array(0)): void {
    if (this.#readyState !== 1) return;
    this.#proto!.ping(data);
    this.#flushProto();
  }

  /**
   * Resolves when everything queued so far has been written to the transport (or the socket
   * closed): `await ws.flush()` after sends gives backpressure to a fast producer.
   *
   * @returns A promise.
   */
  flush(): Promise<void> {
    // Inside a message handler, what was sent is queued once the read's events are delivered.
    if (this.#delivering) return Promise.resolve().then(() => this.flush());
    if (!this.#writing && this.#writeQueue.length === 0) return Promise.resolve();
    if (this.#finished) return Promise.resolve();
    return new Promise((r) => this.#drainWaiters.push(r));
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2); the `close` event fires when the
   * transport is closed. While connecting, abandons the connection.
   *
   * @param code 1000, 3000-4999, or another code that may be sent (1001-1003, 1007-1014).
   * @param reason At most 123 bytes of UTF-8.
   * @throws {DOMException} `InvalidAccessError` for a code that may not be sent, `SyntaxError` for a
   * reason that is too long.
   */
  close(code?: number, reason = ""): void {
    if (code !== undefined && !isValidCloseCode(code)) {
      throw new DOMException(
        `Cannot close: status code ${code} may not be sent`,
        "InvalidAccessError",
      );
    }
    if (encoder.encode(reason).length > 123) {
      throw new DOMException("Cannot close: reason longer than 123 bytes", "SyntaxError");
    }
    if (this.#readyState === 0) {
      this.#emit("error", new Event("error"));
      this.#finish(CloseCode.Abnormal, "", false);
      return;
    }
    if (this.#readyState !== 1) return;
    this.#readyState = 2;
    this.#proto!.close(code, code === undefined ? "" : reason);
    this.#flushProto();
    this.#armCloseTimer();
  }

  /**
   * Iterates over received messages until the connection closes. Reading pauses while
   * `highWaterMark` messages wait for the loop.
   *
   * @returns An async iterator of messages.
   */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<string | Uint8Array> {
    this.#iterators++;
    try {
      for (;;) {
        const m = this.#messages.shift();
        if (m !== undefined) {
          if (this.#messages.length < (this.#options.highWaterMark ?? 16)) {
            const r = this.#resume;
            this.#resume = undefined;
            r?.();
          }
          yield m;
          continue;
        }
        if (this.#finished) return;
        await new Promise<void>((r) => this.#wake = r);
        this.#wake = undefined;
      }
    } finally {
      this.#iterators--;
      const r = this.#resume;
      this.#resume = undefined;
      r?.();
    }
  }
}

// === Server (RFC 6455 §4.2) ===

/** Options of the server functions. */
export interface WebSocketServerOptions extends ServerHandshakeOptions, WebSocketOptions {
  /** Address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** Port to listen on (default 80; 0 picks a free port). */
  port?: number;
  /** PEM certificate chain: listen with TLS (`wss:`) when set together with `key`. */
  cert?: string;
  /** PEM private key for TLS. */
  key?: string;
  /** Milliseconds a client has to complete its handshake (default 10000); slower ones are dropped. */
  handshakeTimeout?: number;
  /** Largest request head accepted (default {@linkcode DEFAULT_MAX_HEAD_SIZE}); larger get 431. */
  maxHeadSize?: number;
  /** Answers requests that are not WebSocket upgrades (default: 426 Upgrade Required). */
  onRequest?: (request: HttpRequestHead) => HttpResponse | Promise<HttpResponse>;
  /** Compression threshold and level for permessage-deflate. */
  deflateOptions?: Pick<DeflateOptions, "threshold" | "level">;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  /** Most open connections (default 1024); further ones are closed at once. */
  maxConnections?: number;
  /** Most open connections from one IP address (default: `maxConnections`). */
  maxPerAddress?: number;
}

function isUpgrade(request: HttpRequestHead): boolean {
  const upgrade = request.headers.get("upgrade") ?? "";
  return upgrade.split(",").some((t) => t.trim().toLowerCase() === "websocket");
}

/** Idle timeout of server sockets unless `idleTimeout` is given: two minutes. */
const DEFAULT_SERVER_IDLE_TIMEOUT = 120_000;

function socketInit(
  request: HttpRequestHead,
  result: ServerHandshake,
  options: WebSocketServerOptions,
  leftover: Uint8Array | undefined,
): WebSocketInit {
  const host = request.headers.get("host") ?? "localhost";
  return {
    ...options,
    idleTimeout: options.idleTimeout ?? DEFAULT_SERVER_IDLE_TIMEOUT,
    protocol: result.protocol,
    extensions: result.extensions,
    deflate: result.deflate,
    role: "server",
    url: `${options.cert ? "wss" : "ws"}://${host}${
      request.target.startsWith("/") ? request.target : "/"
    }`,
    request,
    preamble: result.response,
    ...(leftover ? { leftover } : {}),
  };
}

/**
 * Completes the server handshake on a connection whose HTTP request head the caller already
 * read (e.g. an HTTP server that routes `Upgrade: websocket` requests here): writes the 101
 * response and returns the open socket. When the request is not an acceptable handshake, writes
 * the error response, closes the connection and throws.
 *
 * @param conn The accepted connection.
 * @param request The request head.
 * @param options Handshake options and limits; `leftover` holds bytes read after the head.
 * @returns The open socket.
 * @throws {HandshakeError} When the handshake is refused (the connection is closed).
 *
 * @example
 * ```ts
 * import { parseHttpRequest } from "@rtclite/std/ietf/rfc6455";
 * import { upgradeWebSocket, WebSocket } from "@rtclite/std/ietf/rfc6455/deno";
 * import { equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = new WebSocket(`ws://127.0.0.1:${listener.addr.port}/`, "sip");
 * const conn = await listener.accept();
 * const buf = new Uint8Array(4096);
 * const n = (await conn.read(buf))!; // a real server reads until the empty line
 * const socket = upgradeWebSocket(conn, parseHttpRequest(buf.subarray(0, n)), { protocols: ["sip"] });
 * equal(socket.protocol, "sip");
 * await new Promise((r) => client.onopen = r);
 * equal(client.protocol, "sip");
 * client.close();
 * await new Promise((r) => socket.onclose = r);
 * listener.close();
 * ```
 */
export function upgradeWebSocket(
  conn: Transport,
  request: HttpRequestHead,
  options: WebSocketServerOptions & { leftover?: Uint8Array } = {},
): WebSocket {
  let result: ServerHandshake;
  try {
    result = acceptHandshake(request, options);
  } catch (e) {
    if (e instanceof HandshakeError) {
      writeAll(conn, rejectHandshake(e)).catch(() => {}).finally(() => {
        try {
          conn.close();
        } catch { /* closed */ }
      });
    }
    throw e;
  }
  const init = socketInit(request, result, options, options.leftover);
  if ("remoteAddr" in conn) init.remoteAddr = (conn as Deno.Conn).remoteAddr;
  return WebSocket.fromTransport(conn, init);
}

/**
 * Takes over an accepted connection: reads the HTTP request (within `handshakeTimeout` and
 * `maxHeadSize`), answers non-upgrade requests with `onRequest` (or 426), and completes the
 * WebSocket handshake.
 *
 * @param conn The accepted TCP or TLS connection.
 * @param options Handshake options and limits.
 * @returns The open socket (its `request` holds the HTTP request).
 * @throws {HandshakeError} When the request is not an acceptable handshake; the error response
 * has been sent and the connection closed.
 *
 * @example
 * ```ts
 * import { acceptWebSocket, WebSocket } from "@rtclite/std/ietf/rfc6455/deno";
 * import { equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = new WebSocket(`ws://127.0.0.1:${listener.addr.port}/chat`);
 * const socket = await acceptWebSocket(await listener.accept());
 * equal(socket.request?.target, "/chat");
 * await new Promise((r) => client.onopen = r);
 * client.close(1000);
 * const ev = await new Promise<CloseEvent>((r) => socket.onclose = r);
 * equal(ev.code, 1000);
 * listener.close();
 * ```
 */
export async function acceptWebSocket(
  conn: Transport,
  options: WebSocketServerOptions = {},
): Promise<WebSocket> {
  const ms = options.handshakeTimeout ?? 10_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* closed */ }
  }, ms);
  let request: HttpRequestHead;
  let leftover: Uint8Array;
  let answered = false;
  try {
    const head = await readHead(conn, options.maxHeadSize ?? DEFAULT_MAX_HEAD_SIZE);
    leftover = head.leftover;
    request = parseHttpRequest(head.head);
    if (!isUpgrade(request)) {
      const response = options.onRequest ? await options.onRequest(request) : {
        status: 426,
        headers: { "Upgrade": "websocket", "Sec-WebSocket-Version": "13" },
        body: "This is a WebSocket endpoint\n",
      };
      answered = true;
      await writeAll(conn, formatHttpResponse(response));
      throw new HandshakeError(
        `Cannot accept handshake: not an upgrade (${request.method} ${request.target})`,
        response.status,
      );
    }
  } catch (e) {
    clearTimeout(timer);
    if (!timedOut && !answered && e instanceof HandshakeError) {
      await writeAll(conn, rejectHandshake(e)).catch(() => {});
    }
    try {
      conn.close();
    } catch { /* closed */ }
    if (timedOut) {
      throw new HandshakeError(
        `Cannot accept handshake: ${timeoutError(ms, "reading the request").message}`,
        408,
      );
    }
    throw e;
  }
  clearTimeout(timer);
  return upgradeWebSocket(conn, request, { ...options, leftover });
}

/**
 * A listening WebSocket server (see {@linkcode serveWebSocket}).
 */
export class WebSocketServer implements AsyncDisposable {
  readonly #listener: Deno.Listener;
  readonly #sockets = new Set<WebSocket>();
  readonly #pending = new Set<Transport>();
  readonly #loop: AcceptLoop;
  #closed = false;

  /**
   * Serves WebSocket connections accepted from `listener`.
   *
   * @param listener A TCP or TLS listener.
   * @param options Handshake options and limits.
   * @param handler Called with each open socket and its request.
   */
  constructor(
    listener: Deno.Listener,
    options: WebSocketServerOptions,
    handler: (socket: WebSocket, request: HttpRequestHead) => void | Promise<void>,
  ) {
    this.#listener = listener;
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
    this.#loop = acceptLoop(listener, (conn) => this.#serve(conn, options, handler), {
      name: "WebSocket",
      ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
      ...(options.maxPerAddress !== undefined ? { maxPerAddress: options.maxPerAddress } : {}),
    });
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr as Deno.NetAddr;
  }

  /** Open sockets. */
  get sockets(): ReadonlySet<WebSocket> {
    return this.#sockets;
  }

  /** Serves one accepted connection until its socket closes (the accept loop then closes it). */
  async #serve(
    conn: Deno.Conn,
    options: WebSocketServerOptions,
    handler: (socket: WebSocket, request: HttpRequestHead) => void | Promise<void>,
  ): Promise<void> {
    this.#pending.add(conn);
    // Frames are coalesced by the writer; Nagle's algorithm would only add latency.
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    let socket: WebSocket;
    try {
      socket = await acceptWebSocket(conn, options);
    } catch (e) {
      const addr = conn.remoteAddr as Deno.NetAddr;
      log.debug("WebSocket handshake from {addr} failed: {error}", {
        addr: `${addr.hostname}:${addr.port}`,
        error: String(e),
      });
      return;
    } finally {
      this.#pending.delete(conn);
    }
    const closed = new Promise<void>((r) => socket.addEventListener("close", () => r()));
    if (this.#closed) {
      socket.close(CloseCode.GoingAway);
      return await closed;
    }
    this.#sockets.add(socket);
    socket.addEventListener("close", () => this.#sockets.delete(socket));
    try {
      await handler(socket, socket.request!);
    } catch (e) {
      log.error("WebSocket handler failed: {error}", { error: String(e) });
      socket.close(CloseCode.InternalError);
    }
    await closed;
  }

  /**
   * Stops listening, closes sockets with 1001 (going away) and waits for them to close.
   *
   * @returns A promise that settles when the server has stopped.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#listener.close();
      } catch { /* closed */ }
      for (const c of this.#pending) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    }
    const closing = [...this.#sockets].map((s) =>
      s.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise<void>((r) => {
        s.addEventListener("close", () => r());
        s.close(CloseCode.GoingAway);
      })
    );
    await Promise.all(closing);
    await this.#loop.close();
  }

  /** Same as {@linkcode WebSocketServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Listens on TCP (or TLS with `cert` and `key`) and calls `handler` with each WebSocket that
 * completes its handshake. Bad or slow handshakes are answered or dropped without affecting
 * other connections.
 *
 * @param options Address, TLS, handshake and limits.
 * @param handler Called with each open socket and its HTTP request.
 * @returns The running server.
 *
 * @example
 * ```ts
 * import { serveWebSocket, WebSocket } from "@rtclite/std/ietf/rfc6455/deno";
 * import { equal } from "node:assert/strict";
 * await using server = serveWebSocket({ hostname: "127.0.0.1", port: 0, protocols: ["sip"] }, (ws) => {
 *   ws.send(`hello ${ws.protocol}`);
 * });
 * const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}`, ["sip"]);
 * const ev = await new Promise<MessageEvent>((r) => ws.onmessage = r);
 * equal(ev.data, "hello sip");
 * ws.close();
 * ```
 */
export function serveWebSocket(
  options: WebSocketServerOptions,
  handler: (socket: WebSocket, request: HttpRequestHead) => void | Promise<void>,
): WebSocketServer {
  const addr = { hostname: options.hostname ?? "0.0.0.0", port: options.port ?? 80 };
  const listener = options.cert && options.key
    ? Deno.listenTls({ ...addr, cert: options.cert, key: options.key })
    : Deno.listen(addr);
  return new WebSocketServer(listener, options, handler);
}
