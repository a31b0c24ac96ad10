// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * SIP transports (RFC 3261 §18): the socket adapters for UDP (`node:dgram`),
 * TCP and TLS (`Deno.listen`, `Deno.listenTls`) that deliver parsed messages
 * to a `SipEndpoint` and send its bytes, with connection reuse,
 * idle timeouts and size limits. TCP and TLS accept through
 * `@rtclite/std/net`'s `acceptLoop`. The core they serve is the pure
 * `@rtclite/std/ietf/rfc3261`; SIP over WebSocket is
 * `@rtclite/std/ietf/rfc3261/ws_transport`.
 *
 * @example Exchange a request over UDP
 * ```ts
 * import { UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
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
 *
 * @module
 */
import dgram from "node:dgram";
import { getLogger } from "../../log.ts";
import { type AcceptLoop, acceptLoop } from "../../net.ts";
import { parseMessage, type SipMessage, SipParseError, SipStreamFramer } from "./message.ts";
import type { SipConnection, SipSource, SipTransport, TransportName } from "./endpoint.ts";

const log = getLogger("sip", "transport");

/** Options shared by the transport adapters. */
export interface TransportOptions {
  /** Local address to bind, default `127.0.0.1`. */
  host?: string;
  /** Local port, default 5060 (0 picks a free one). */
  port?: number;
  /** Largest message accepted, in bytes; default 65535. */
  maxMessageSize?: number;
  /** Most header fields in a message (default 256); more is a malformed message, dropped. */
  maxHeaders?: number;
}

// === UDP (RFC 3261 §18.1.1, §18.2.1) ===

/**
 * SIP over UDP on `node:dgram`.
 *
 * @example
 * ```ts
 * import { UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
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
// @implements RFC3261 §18.1.1, §18.2.1
export class UdpTransport implements SipTransport {
  /** Always `UDP`. */
  readonly name: TransportName = "UDP";
  /** UDP is unreliable. */
  readonly reliable: boolean = false;
  /** Host names resolve through the system's DNS. */
  readonly resolveHost: (host: string) => Promise<string[]> = resolveHost;
  /** Local address. */
  readonly host: string;
  /** Local port. */
  readonly port: number;
  /** Receives each parsed message. */
  onMessage: (m: SipMessage, source: SipSource) => void = () => {};
  #socket: dgram.Socket;

  private constructor(
    socket: dgram.Socket,
    host: string,
    port: number,
    max: number,
    maxHeaders: number,
  ) {
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
        m = parseMessage(new Uint8Array(msg), { maxHeaders });
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
    return new UdpTransport(
      socket,
      host,
      addr.port,
      options.maxMessageSize ?? 65535,
      options.maxHeaders ?? 256,
    );
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

/**
 * Resolves a host name to IPv4 addresses through the system's DNS (A
 * records): the {@linkcode SipTransport.resolveHost} of these adapters.
 *
 * @param host A host name.
 * @returns Its addresses, `[]` when it has none.
 */
export async function resolveHost(host: string): Promise<string[]> {
  try {
    return await Deno.resolveDns(host, "A");
  } catch {
    return [];
  }
}

// === TCP and TLS (RFC 3261 §18.3, §18.2.2) ===

/** Options of the stream transports. */
export interface StreamTransportOptions extends TransportOptions {
  /**
   * Close a connection that completed no message (nor CRLF keep-alive) for
   * this long (ms); default 300000. Partial messages do not count as traffic.
   */
  idleTimeout?: number;
  /**
   * Close a connection whose message is not complete this long after its
   * first byte (ms); default 10000. The deadline is per message: bytes that
   * trickle in do not extend it (a slowloris client is cut off). An accepted
   * connection that sends nothing is closed after this long too.
   */
  messageTimeout?: number;
  /** Most simultaneous accepted connections; default 1024. */
  maxConnections?: number;
  /** Most simultaneous accepted connections from one IP address; default 32. */
  maxPerAddress?: number;
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
  /** Addresses this connection is indexed by in its transport. */
  keys: string[] = [];
  #conn: Deno.Conn;
  #writing: Promise<void> = Promise.resolve();
  onClose: () => void = () => {};
  /** Settles when the connection's reader has ended. */
  done: Promise<void> = Promise.resolve();

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
    firstIdle: number = idle,
  ): Promise<void> {
    const buf = new Uint8Array(65536);
    let timer: ReturnType<typeof setTimeout> | undefined;
    // One timer: the idle timeout while between messages; once a message has
    // started, its deadline, set by its first byte and never extended.
    let inMessage = false;
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        log.debug("Closing idle or stalled connection from {host}:{port}", {
          host: this.host,
          port: this.port,
        });
        this.close();
      }, ms);
    };
    try {
      arm(firstIdle);
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        const msgs = framer.push(buf.slice(0, n));
        if (framer.pending === 0) {
          inMessage = false;
          arm(idle);
        } else if (msgs.length || !inMessage) {
          // A new message started in this read.
          inMessage = true;
          arm(msgTimeout);
        }
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

/**
 * SIP over TCP (and, through {@linkcode TlsTransport}, TLS): frames the
 * stream by Content-Length, reuses connections in both directions, and
 * closes idle, stalled or misbehaving connections.
 *
 * @example
 * ```ts
 * import { TcpTransport } from "@rtclite/std/ietf/rfc3261/transport";
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
// @implements RFC3261 §18.3, §18.2.2 ¶2-3
export class TcpTransport implements SipTransport {
  /** `TCP` or `TLS`. */
  readonly name: TransportName;
  /** Stream transports are reliable. */
  readonly reliable: boolean = true;
  /** Host names resolve through the system's DNS. */
  readonly resolveHost: (host: string) => Promise<string[]> = resolveHost;
  /** Local address. */
  readonly host: string;
  /** Local port. */
  readonly port: number;
  /** Receives each parsed message. */
  onMessage: (m: SipMessage, source: SipSource) => void = () => {};
  #accepting: AcceptLoop;
  #conns = new Map<string, StreamConnection>();
  #pending = new Map<string, Promise<StreamConnection>>();
  #opts: StreamTransportOptions;
  #connect: (host: string, port: number) => Promise<Deno.Conn>;

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
    this.#connect = connect;
    this.#opts = options;
    const addr = listener.addr as Deno.NetAddr;
    this.host = addr.hostname;
    this.port = addr.port;
    this.#accepting = acceptLoop(listener, (conn) => this.#adopt(conn, true).done, {
      maxConnections: options.maxConnections ?? 1024,
      maxPerAddress: options.maxPerAddress ?? 32,
      name: `SIP ${name}`,
    });
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

  #adopt(conn: Deno.Conn, accepted = false): StreamConnection {
    const c = new StreamConnection(conn);
    c.keys.push(`${c.host}:${c.port}`);
    this.#conns.set(c.keys[0]!, c);
    c.onClose = () => {
      for (const k of c.keys) if (this.#conns.get(k) === c) this.#conns.delete(k);
    };
    const framer = new SipStreamFramer({
      maxSize: this.#opts.maxMessageSize ?? 65535,
      maxHeaders: this.#opts.maxHeaders ?? 256,
    });
    c.done = c.pump(
      framer,
      (m) => {
        // No Via claim associates this connection with an address: only
        // associate() does, for a registration made over it (RFC 5626 §5.2).
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
      this.#opts.messageTimeout ?? 10_000,
      // An accepted connection that has sent nothing gets no more than one message's time.
      accepted ? this.#opts.messageTimeout ?? 10_000 : this.#opts.idleTimeout ?? 300_000,
    );
    return c;
  }

  /**
   * Makes an open connection of this transport the one used for messages to
   * `host:port` (the flow of a registration made over it, RFC 5626 §5.2).
   *
   * @param connection A connection this transport accepted or opened.
   * @param host The registered contact's host.
   * @param port The registered contact's port.
   */
  associate(connection: SipConnection, host: string, port: number): void {
    if (!(connection instanceof StreamConnection) || !connection.open) return;
    const key = `${host.replace(/^\[|\]$/g, "").toLowerCase()}:${port}`;
    const old = this.#conns.get(key);
    if (old === connection) return;
    if (old && old.keys[0] !== key) old.keys = old.keys.filter((k) => k !== key);
    connection.keys.push(key);
    this.#conns.set(key, connection);
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
  async close(): Promise<void> {
    for (const c of [...this.#conns.values()]) c.close();
    this.#conns.clear();
    await this.#accepting.close();
  }
}

/**
 * SIP over TLS on `Deno.listenTls` / `Deno.connectTls`.
 */
// @implements RFC3261 §26.2.1
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
