// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// @implements RFC3261 (SIP transport layer, §18), RFC7118 (SIP over WebSocket)
/**
 * SIP transports: thin socket adapters for UDP (`node:dgram`), TCP and TLS
 * (`Deno.listen`, `Deno.listenTls`) that deliver parsed messages and send
 * bytes, with connection reuse, idle timeouts and size limits.
 *
 * Private part of `rfc3261.ts`; import from there.
 *
 * @module
 */
import dgram from "node:dgram";
import { getLogger } from "../log.ts";
import { serveWebSocket, WebSocket, type WebSocketServer } from "./rfc6455/deno.ts";
import { parseMessage, type SipMessage, SipParseError, SipStreamFramer } from "./_sip_message.ts";

const log = getLogger("sip", "transport");

/** Transport names as they appear in Via (upper case). */
export type TransportName = "UDP" | "TCP" | "TLS" | "WS" | "WSS";

/** Where a message came from. */
export interface SipSource {
  /** The transport that received it. */
  transport: SipTransport;
  /** Remote address. */
  host: string;
  /** Remote port. */
  port: number;
  /** The connection, for stream transports. */
  connection?: SipConnection;
}

/** A connection of a stream transport. */
export interface SipConnection {
  /** Remote address. */
  readonly host: string;
  /** Remote port. */
  readonly port: number;
  /** Whether the connection is still open. */
  readonly open: boolean;
  /** Writes bytes. */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the connection. */
  close(): void;
}

/** A transport adapter the endpoint sends and receives through. */
export interface SipTransport {
  /** Transport name used in Via. */
  readonly name: TransportName;
  /** Whether the transport is reliable (no retransmissions, §17). */
  readonly reliable: boolean;
  /** Local address the transport is bound to. */
  readonly host: string;
  /** Local port. */
  readonly port: number;
  /** Called with every message received. */
  onMessage: (m: SipMessage, source: SipSource) => void;
  /**
   * Sends bytes to a remote address; stream transports reuse an open
   * connection to that address or open one (§18.1.1, §18.2.2).
   */
  send(bytes: Uint8Array, host: string, port: number, connection?: SipConnection): Promise<void>;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Options shared by the transport adapters. */
export interface TransportOptions {
  /** Local address to bind, default `127.0.0.1`. */
  host?: string;
  /** Local port, default 5060 (0 picks a free one). */
  port?: number;
  /** Largest message accepted, in bytes; default 65535. */
  maxMessageSize?: number;
}

// === UDP (RFC 3261 §18.1.1, §18.2.1) ===

// @implements RFC3261 §18.1.1, §18.2.1
/**
 * SIP over UDP on `node:dgram`.
 *
 * @example
 * ```ts
 * import { UdpTransport, parseMessage } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const a = await UdpTransport.listen({ port: 0 });
 * const b = await UdpTransport.listen({ port: 0 });
 * const got = Promise.withResolvers<string>();
 * b.onMessage = (m) => got.resolve(m.method!);
 * await a.send(new TextEncoder().encode("OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n"), "127.0.0.1", b.port);
 * equal(await got.promise, "OPTIONS");
 * await a.close();
 * await b.close();
 * ```
 */
export class UdpTransport implements SipTransport {
  /** Always `UDP`. */
  readonly name: TransportName = "UDP";
  /** UDP is unreliable. */
  readonly reliable: boolean = false;
  /** Local address. */
  readonly host: string;
  /** Local port. */
  readonly port: number;
  /** Receives each parsed message. */
  onMessage: (m: SipMessage, source: SipSource) => void = () => {};
  #socket: dgram.Socket;

  private constructor(socket: dgram.Socket, host: string, port: number, max: number) {
    this.#socket = socket;
    this.host = host;
    this.port = port;
    socket.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
      if (msg.length > max) {
        log.debug("Dropped {size}-byte datagram from {host}", {
          size: msg.length,
          host: rinfo.address,
        });
        return;
      }
      // Keep-alive CRLFs (RFC 5626 §4.4.1) are ignored.
      if (msg.length <= 4 && msg.every((b) => b === 13 || b === 10)) return;
      let m: SipMessage;
      try {
        // Copy: the datagram is a view into a 64 KiB receive buffer that the parsed body
        // would otherwise keep alive for the transaction's lifetime.
        m = parseMessage(new Uint8Array(msg));
      } catch (e) {
        if (e instanceof SipParseError) {
          log.debug("Dropped malformed datagram from {host}:{port}: {error}", {
            host: rinfo.address,
            port: rinfo.port,
            error: e.message,
          });
          return;
        }
        throw e;
      }
      try {
        this.onMessage(m, { transport: this, host: rinfo.address, port: rinfo.port });
      } catch (e) {
        log.error("Handler failed on a message from {host}: {error}", {
          host: rinfo.address,
          error: String(e),
        });
      }
    });
    socket.on("error", (e: Error) => log.warn("UDP socket error: {error}", { error: e.message }));
  }

  /**
   * Binds a UDP socket.
   *
   * @param options Address, port and size limit.
   * @returns The bound transport.
   */
  static async listen(options: TransportOptions = {}): Promise<UdpTransport> {
    const host = options.host ?? "127.0.0.1";
    const socket = dgram.createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(options.port ?? 5060, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    const addr = socket.address();
    return new UdpTransport(socket, host, addr.port, options.maxMessageSize ?? 65535);
  }

  /**
   * Sends one datagram.
   *
   * @param bytes The message.
   * @param host Destination address.
   * @param port Destination port.
   */
  send(bytes: Uint8Array, host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.send(bytes, port, host, (err: Error | null) => err ? reject(err) : resolve());
    });
  }

  /** Closes the socket. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

// === TCP and TLS (RFC 3261 §18.3, §18.2.2) ===

/** Options of the stream transports. */
export interface StreamTransportOptions extends TransportOptions {
  /** Close a connection with no traffic for this long (ms); default 300000. */
  idleTimeout?: number;
  /** Close a connection that holds an incomplete message this long (ms); default 30000. */
  messageTimeout?: number;
  /** Most simultaneous connections; default 1024. */
  maxConnections?: number;
}

/** Options for {@linkcode TlsTransport.listen}. */
export interface TlsTransportOptions extends StreamTransportOptions {
  /** PEM certificate chain. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** Extra CA certificates (PEM) to trust when connecting out. */
  caCerts?: string[];
}

class StreamConnection implements SipConnection {
  readonly host: string;
  readonly port: number;
  open = true;
  #conn: Deno.Conn;
  #writing: Promise<void> = Promise.resolve();
  onClose: () => void = () => {};

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.host = addr.hostname;
    this.port = addr.port;
  }

  write(bytes: Uint8Array): Promise<void> {
    const p = this.#writing.then(async () => {
      let off = 0;
      while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
    });
    this.#writing = p.catch(() => {});
    return p;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.onClose();
  }

  async pump(
    framer: SipStreamFramer,
    deliver: (m: SipMessage) => void,
    idle: number,
    msgTimeout: number,
  ): Promise<void> {
    const buf = new Uint8Array(65536);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        log.debug("Closing idle or stalled connection from {host}:{port}", {
          host: this.host,
          port: this.port,
        });
        this.close();
      }, framer.pending > 0 ? msgTimeout : idle);
    };
    try {
      arm();
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        const msgs = framer.push(buf.slice(0, n));
        arm();
        for (const m of msgs) deliver(m);
      }
    } catch (e) {
      if (e instanceof SipParseError) {
        log.debug("Closing connection from {host}:{port}: {error}", {
          host: this.host,
          port: this.port,
          error: e.message,
        });
      } else if (this.open) {
        log.debug("Connection from {host}:{port} failed: {error}", {
          host: this.host,
          port: this.port,
          error: String(e),
        });
      }
    } finally {
      clearTimeout(timer);
      this.close();
    }
  }
}

// @implements RFC3261 §18.3, §18.2.2 ¶2-3
/**
 * SIP over TCP (and, through {@linkcode TlsTransport}, TLS): frames the
 * stream by Content-Length, reuses connections in both directions, and
 * closes idle, stalled or misbehaving connections.
 *
 * @example
 * ```ts
 * import { TcpTransport } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const server = await TcpTransport.listen({ port: 0 });
 * const client = await TcpTransport.listen({ port: 0 });
 * const got = Promise.withResolvers<string>();
 * server.onMessage = (m) => got.resolve(m.method!);
 * await client.send(new TextEncoder().encode("OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n"), "127.0.0.1", server.port);
 * equal(await got.promise, "OPTIONS");
 * await client.close();
 * await server.close();
 * ```
 */
export class TcpTransport implements SipTransport {
  /** `TCP` or `TLS`. */
  readonly name: TransportName;
  /** Stream transports are reliable. */
  readonly reliable: boolean = true;
  /** Local address. */
  readonly host: string;
  /** Local port. */
  readonly port: number;
  /** Receives each parsed message. */
  onMessage: (m: SipMessage, source: SipSource) => void = () => {};
  #listener: Deno.Listener;
  #conns = new Map<string, StreamConnection>();
  #pending = new Map<string, Promise<StreamConnection>>();
  #opts: StreamTransportOptions;
  #connect: (host: string, port: number) => Promise<Deno.Conn>;
  #closed = false;

  /**
   * Wraps a listener (use {@linkcode TcpTransport.listen} or {@linkcode TlsTransport.listen}).
   *
   * @param name Transport name.
   * @param listener The listening socket.
   * @param connect Opens an outgoing connection.
   * @param options Limits.
   */
  constructor(
    name: TransportName,
    listener: Deno.Listener,
    connect: (host: string, port: number) => Promise<Deno.Conn>,
    options: StreamTransportOptions,
  ) {
    this.name = name;
    this.#listener = listener;
    this.#connect = connect;
    this.#opts = options;
    const addr = listener.addr as Deno.NetAddr;
    this.host = addr.hostname;
    this.port = addr.port;
    this.#accept();
  }

  /**
   * Listens on TCP.
   *
   * @param options Address, port and limits.
   * @returns The transport.
   */
  static listen(options: StreamTransportOptions = {}): Promise<TcpTransport> {
    const listener = Deno.listen({
      hostname: options.host ?? "127.0.0.1",
      port: options.port ?? 5060,
    });
    return Promise.resolve(
      new TcpTransport(
        "TCP",
        listener,
        (hostname, port) => Deno.connect({ hostname, port }),
        options,
      ),
    );
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        if (this.connections >= (this.#opts.maxConnections ?? 1024)) {
          log.warn("Refusing connection: too many connections");
          conn.close();
          continue;
        }
        this.#adopt(conn);
      }
    } catch (e) {
      if (!this.#closed) log.warn("Listener failed: {error}", { error: String(e) });
    }
  }

  #adopt(conn: Deno.Conn): StreamConnection {
    const c = new StreamConnection(conn);
    const keys = [`${c.host}:${c.port}`];
    this.#conns.set(keys[0]!, c);
    c.onClose = () => {
      for (const k of keys) if (this.#conns.get(k) === c) this.#conns.delete(k);
    };
    const framer = new SipStreamFramer({ maxSize: this.#opts.maxMessageSize ?? 65535 });
    c.pump(
      framer,
      (m) => {
        if (keys.length === 1 && m.isRequest) {
          // Requests toward the client's sent-by (e.g. its registered Contact)
          // reuse the connection it opened, as for WebSocket (RFC 7118 §5);
          // an open connection already indexed by that address is kept.
          const via =
            /^\s*SIP\s*\/\s*2\.0\s*\/\s*(?:TCP|TLS)\s+([^;:\s,\[]+|\[[^\]]*\])(?::(\d+))?/i
              .exec(m.values("Via")[0] ?? "");
          if (via) {
            const alias = `${via[1]!.replace(/^\[|\]$/g, "").toLowerCase()}:${
              via[2] ?? (this.name === "TLS" ? 5061 : 5060)
            }`;
            keys.push(alias);
            if (!this.#conns.get(alias)?.open) this.#conns.set(alias, c);
          }
        }
        try {
          this.onMessage(m, { transport: this, host: c.host, port: c.port, connection: c });
        } catch (e) {
          log.error("Handler failed on a message from {host}: {error}", {
            host: c.host,
            error: String(e),
          });
        }
      },
      this.#opts.idleTimeout ?? 300_000,
      this.#opts.messageTimeout ?? 30_000,
    );
    return c;
  }

  /** Number of open connections. */
  get connections(): number {
    return new Set(this.#conns.values()).size;
  }

  /**
   * Sends bytes over `connection` when it is open, else over a connection
   * to `host:port` (reused or newly opened).
   *
   * @param bytes The message.
   * @param host Destination address.
   * @param port Destination port.
   * @param connection Preferred connection (the one a request came on).
   */
  async send(
    bytes: Uint8Array,
    host: string,
    port: number,
    connection?: SipConnection,
  ): Promise<void> {
    if (connection?.open) return await connection.write(bytes);
    const key = `${host}:${port}`;
    let c = this.#conns.get(key);
    if (!c?.open) {
      let p = this.#pending.get(key);
      if (!p) {
        p = this.#connect(host, port).then((conn) => this.#adopt(conn));
        this.#pending.set(key, p);
        p.finally(() => this.#pending.delete(key)).catch(() => {});
      }
      c = await p;
      // Index the outgoing connection by the address we dialled too.
      this.#conns.set(key, c);
    }
    await c.write(bytes);
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    for (const c of [...this.#conns.values()]) c.close();
    this.#conns.clear();
    return Promise.resolve();
  }
}

// @implements RFC3261 §26.2.1
/**
 * SIP over TLS on `Deno.listenTls` / `Deno.connectTls`.
 */
export class TlsTransport {
  /**
   * Listens on TLS.
   *
   * @param options Address, port, certificate, key and limits.
   * @returns The transport (a {@linkcode TcpTransport} named `TLS`).
   */
  static listen(options: TlsTransportOptions): Promise<TcpTransport> {
    const listener = Deno.listenTls({
      hostname: options.host ?? "127.0.0.1",
      port: options.port ?? 5061,
      cert: options.cert,
      key: options.key,
    });
    const caCerts = options.caCerts;
    return Promise.resolve(
      new TcpTransport(
        "TLS",
        listener,
        (hostname, port) => Deno.connectTls({ hostname, port, ...(caCerts ? { caCerts } : {}) }),
        options,
      ),
    );
  }
}

// === WebSocket (RFC 7118) ===

/** Options for {@linkcode WsTransport.listen}. */
export interface WsTransportOptions extends TransportOptions {
  /** PEM certificate chain: listen as `WSS` when given with `key`. */
  cert?: string;
  /** PEM private key. */
  key?: string;
  /** Extra CA certificates (PEM) to trust when connecting out over `wss:`. */
  caCerts?: string[];
}

class WsConnection implements SipConnection {
  readonly host: string;
  readonly port: number;
  #ws: WebSocket;
  constructor(ws: WebSocket, host: string, port: number) {
    this.#ws = ws;
    this.host = host;
    this.port = port;
  }
  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }
  write(bytes: Uint8Array): Promise<void> {
    // @implements RFC7118 §5 ¶3
    this.#ws.send(decoderText.decode(bytes));
    return Promise.resolve();
  }
  close(): void {
    this.#ws.close();
  }
}

const decoderText = new TextDecoder();

// @implements RFC7118 §5, §5.1, §5.2
/**
 * SIP over WebSocket (RFC 7118) on `@rtclite/std/ietf/rfc6455`: one SIP
 * message per WebSocket message, subprotocol `sip`. Connections from
 * clients are indexed by their address and by the (often `.invalid`)
 * sent-by of their first Via, so requests to their Contact reuse them.
 *
 * @example
 * ```ts
 * import { WsTransport } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const server = await WsTransport.listen({ port: 0 });
 * const client = await WsTransport.listen({ port: 0 });
 * const got = Promise.withResolvers<string>();
 * server.onMessage = (m) => got.resolve(m.method!);
 * await client.send(new TextEncoder().encode("OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n"), "127.0.0.1", server.port);
 * equal(await got.promise, "OPTIONS");
 * await client.close();
 * await server.close();
 * ```
 */
export class WsTransport implements SipTransport {
  /** `WS` or `WSS`. */
  readonly name: TransportName;
  /** WebSocket runs over TCP: reliable. */
  readonly reliable: boolean = true;
  /** Local address. */
  readonly host: string;
  /** Local port. */
  readonly port: number;
  /** Receives each parsed message. */
  onMessage: (m: SipMessage, source: SipSource) => void = () => {};
  #server: WebSocketServer;
  #conns = new Map<string, WsConnection>();
  #pending = new Map<string, Promise<WsConnection>>();
  #opts: WsTransportOptions;
  #seq = 0;

  private constructor(server: WebSocketServer, options: WsTransportOptions) {
    this.#server = server;
    this.#opts = options;
    this.name = options.cert && options.key ? "WSS" : "WS";
    this.host = server.addr.hostname;
    this.port = server.addr.port;
  }

  /**
   * Listens for SIP WebSocket connections.
   *
   * @param options Address, port, optional certificate for WSS.
   * @returns The transport.
   */
  static listen(options: WsTransportOptions = {}): Promise<WsTransport> {
    const ref: { t?: WsTransport } = {};
    const server = serveWebSocket({
      hostname: options.host ?? "127.0.0.1",
      port: options.port ?? 80,
      protocols: ["sip"],
      maxMessageSize: options.maxMessageSize ?? 65535,
      ...(options.cert && options.key ? { cert: options.cert, key: options.key } : {}),
    }, (ws) => {
      const t = ref.t;
      if (t) t.#adopt(ws, `ws-peer-${++t.#seq}.invalid`, 0);
    });
    ref.t = new WsTransport(server, options);
    return Promise.resolve(ref.t);
  }

  #adopt(ws: WebSocket, host: string, port: number): WsConnection {
    const c = new WsConnection(ws, host, port);
    const keys = [`${host}:${port}`];
    this.#conns.set(keys[0]!, c);
    ws.onmessage = (ev: MessageEvent) => {
      const data = ev.data as string | Uint8Array;
      if (data.length > (this.#opts.maxMessageSize ?? 65535)) return;
      let m: SipMessage;
      try {
        m = parseMessage(data);
      } catch (e) {
        log.debug("Dropped malformed WebSocket message: {error}", { error: String(e) });
        return;
      }
      if (keys.length === 1 && m.isRequest) {
        // Index the connection by the client's sent-by too (RFC 7118 §5.3).
        const via = /^\s*SIP\s*\/\s*2\.0\s*\/\s*WSS?\s+([^;:\s,]+)(?::(\d+))?/i.exec(
          m.values("Via")[0] ?? "",
        );
        if (via) {
          const alias = `${via[1]!.toLowerCase()}:${via[2] ?? ""}`;
          keys.push(alias);
          this.#conns.set(alias, c);
        }
      }
      try {
        this.onMessage(m, { transport: this, host, port, connection: c });
      } catch (e) {
        log.error("Handler failed on a WebSocket message: {error}", { error: String(e) });
      }
    };
    ws.onclose = () => {
      for (const k of keys) if (this.#conns.get(k) === c) this.#conns.delete(k);
    };
    return c;
  }

  /**
   * Sends one SIP message as one WebSocket message, over `connection`, a
   * known connection to `host:port`, or a new `ws:`/`wss:` connection.
   *
   * @param bytes The message.
   * @param host Destination.
   * @param port Destination port.
   * @param connection Preferred connection.
   */
  async send(
    bytes: Uint8Array,
    host: string,
    port: number,
    connection?: SipConnection,
  ): Promise<void> {
    if (connection?.open) return await connection.write(bytes);
    const h = host.toLowerCase();
    let c = this.#conns.get(`${h}:${port}`) ?? this.#conns.get(`${h}:`);
    if (!c?.open) {
      const key = `${h}:${port}`;
      let p = this.#pending.get(key);
      if (!p) {
        p = new Promise<WsConnection>((resolve, reject) => {
          const scheme = this.name === "WSS" ? "wss" : "ws";
          const hostText = host.includes(":") ? `[${host}]` : host;
          const ws = new WebSocket(`${scheme}://${hostText}:${port}/`, ["sip"], {
            ...(this.#opts.caCerts ? { caCerts: this.#opts.caCerts } : {}),
          });
          ws.onopen = () => resolve(this.#adopt(ws, h, port));
          ws.onerror = () => reject(new Error(`Cannot connect to ${scheme}://${hostText}:${port}`));
        });
        this.#pending.set(key, p);
        p.finally(() => this.#pending.delete(key)).catch(() => {});
      }
      c = await p;
    }
    await c.write(bytes);
  }

  /** Number of open connections. */
  get connections(): number {
    return new Set(this.#conns.values()).size;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    for (const c of new Set(this.#conns.values())) c.close();
    this.#conns.clear();
    await this.#server.close();
  }
}
