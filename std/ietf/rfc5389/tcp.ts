// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * STUN over TCP and TLS-over-TCP (RFC 8489 §6.2.2-6.2.3; RFC 5389 §7.2.2): {@linkcode connectStun}
 * opens a {@linkcode StunClient} on a connection (no retransmissions, one transaction timeout),
 * {@linkcode serveStunTcp} serves a {@linkcode StunServer} on a TCP or TLS listener through
 * `acceptLoop` of `@rtclite/std/net` (a cap on connections, in total and per address, and an idle
 * timeout), and {@linkcode readStunStream} is the read loop both use, on {@linkcode StunFramer}.
 *
 * @example Ask a local server over TCP
 * ```ts
 * import { StunServer } from "@rtclite/std/ietf/rfc5389";
 * import { connectStun, serveStunTcp } from "@rtclite/std/ietf/rfc5389/tcp";
 * import { equal } from "node:assert/strict";
 *
 * await using server = await serveStunTcp(new StunServer(), { hostname: "127.0.0.1", port: 0 });
 * await using client = await connectStun({ server: server.address, transport: "tcp" });
 * const mapped = await client.binding(server.address);
 * equal(mapped.port, client.address.port);
 * ```
 *
 * @module
 */
import { getLogger } from "../../log.ts";
import { acceptLoop } from "../../net.ts";
import { StunFramer, StunParseError, type StunServer, type TransportAddress } from "./mod.ts";
import { StunClient, type StunClientOptions, type StunTransport, type UdpServer } from "./udp.ts";
export type { StunClient, StunClientOptions, StunTransport, UdpServer } from "./udp.ts";
export type {
  CredentialOptions,
  EncodeOptions,
  LongTermCredentials,
  StunAttribute,
  StunMessage,
  StunServer,
  TransactionOptions,
  TransportAddress,
} from "./mod.ts";
export { StunClass } from "./mod.ts";

const log = getLogger("stun");

/**
 * The address of a connection's end, as a {@linkcode TransportAddress}.
 *
 * @param addr `conn.localAddr` or `conn.remoteAddr` of a TCP or TLS connection.
 * @returns The transport address.
 * @example
 * ```ts
 * import { netAddress } from "@rtclite/std/ietf/rfc5389/tcp";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(netAddress({ transport: "tcp", hostname: "::1", port: 3478 }), { family: 6, address: "::1", port: 3478 });
 * ```
 */
export function netAddress(addr: Deno.Addr): TransportAddress {
  const a = addr as Deno.NetAddr;
  return { family: a.hostname.includes(":") ? 6 : 4, address: a.hostname, port: a.port };
}

/**
 * Serializes writes on a connection and writes every byte (a `write` may be partial). At most
 * `maxQueued` bytes wait: beyond that a message is refused rather than buffered, so a peer that
 * does not read cannot make the writer grow without bound (for relayed datagrams, dropping is what
 * UDP would have done).
 *
 * @param conn The connection.
 * @param maxQueued Most bytes waiting to be written (default 1 MiB).
 * @returns A function queueing one message; its promise settles when written, and rejects with a
 *   `RangeError` when the queue is full or with the connection's error.
 * @example
 * ```ts
 * import { streamWriter } from "@rtclite/std/ietf/rfc5389/tcp";
 * import { rejects } from "node:assert/strict";
 * const stuck = { write: () => new Promise<number>(() => {}) } as unknown as Deno.Conn;
 * const write = streamWriter(stuck, 8);
 * void write(new Uint8Array(8));
 * await rejects(write(new Uint8Array(1)), RangeError);
 * ```
 */
export function streamWriter(
  conn: Deno.Conn,
  maxQueued = 1 << 20,
): (data: Uint8Array) => Promise<void> {
  let queue = Promise.resolve();
  let queued = 0;
  return (data) => {
    if (queued + data.length > maxQueued) {
      return Promise.reject(
        new RangeError(`Cannot write ${data.length} bytes: ${queued} bytes wait already`),
      );
    }
    queued += data.length;
    const done = queue.then(async () => {
      try {
        for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
      } finally {
        queued -= data.length;
      }
    });
    queue = done.catch(() => {});
    return done;
  };
}

// === The read loop ===

/** Options of {@linkcode readStunStream}. */
export interface ReadStunStreamOptions {
  /** Accept ChannelData frames too (TURN). */
  channelData?: boolean;
  /**
   * Close the connection when no complete message arrived for this long, in ms (default: never).
   * A byte at a time does not keep it open: only whole messages do.
   */
  idleTimeout?: number;
  /** Asked when the idle timer fires: `true` keeps the connection open (e.g. it holds an allocation). */
  keepAlive?: () => boolean;
  /** Most bytes buffered for one message (default 65 556). */
  maxBuffered?: number;
  /**
   * Asked after each frame: `true` stops reading (RFC 6062: after a ConnectionBind the stream
   * carries the application's bytes).
   */
  halt?: (frame: Uint8Array) => boolean;
}

/**
 * Reads frames from a connection until it ends, fails, idles out, sends something that is not
 * STUN (or ChannelData), or `halt` says so.
 *
 * @param conn The connection.
 * @param onFrame Called with each framed message, in order.
 * @param options Framing, idle timeout, halt.
 * @returns Why it stopped, and for `halt` the bytes read after the last frame.
 * @example Two messages, then the other side closes
 * ```ts
 * import { createMessage, encodeStun } from "@rtclite/std/ietf/rfc5389";
 * import { readStunStream } from "@rtclite/std/ietf/rfc5389/tcp";
 * import { deepEqual } from "node:assert/strict";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = await listener.accept();
 * await client.write(new Uint8Array([...encodeStun(createMessage(1, 0)), ...encodeStun(createMessage(3, 0))]));
 * client.close();
 * const sizes: number[] = [];
 * const { reason } = await readStunStream(server, (frame) => sizes.push(frame.length));
 * deepEqual([reason, sizes], ["eof", [20, 20]]);
 * server.close();
 * listener.close();
 * ```
 */
export async function readStunStream(
  conn: Deno.Conn,
  onFrame: (frame: Uint8Array) => void,
  options: ReadStunStreamOptions = {},
): Promise<{ reason: "eof" | "error" | "idle" | "garbage" | "halt"; rest: Uint8Array }> {
  const framer = new StunFramer({
    channelData: options.channelData ?? false,
    ...(options.maxBuffered ? { maxBuffered: options.maxBuffered } : {}),
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let idled = false;
  const arm = () => {
    if (options.idleTimeout === undefined) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (options.keepAlive?.()) return arm();
      idled = true;
      try {
        conn.close();
      } catch { /* already closed */ }
    }, options.idleTimeout);
  };
  arm();
  const buf = new Uint8Array(16 * 1024);
  try {
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        return { reason: idled ? "idle" : "error", rest: new Uint8Array(0) };
      }
      if (n === null) return { reason: idled ? "idle" : "eof", rest: new Uint8Array(0) };
      framer.append(buf.subarray(0, n));
      try {
        for (let f = framer.next(); f; f = framer.next()) {
          arm();
          onFrame(f);
          if (options.halt?.(f)) return { reason: "halt", rest: framer.take() };
        }
      } catch (e) {
        if (!(e instanceof StunParseError)) throw e;
        log.debug("Closing a stream that carries no STUN: {error}", { error: String(e) });
        return { reason: "garbage", rest: new Uint8Array(0) };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

// === Client ===

/** Options of {@linkcode connectStun}. */
export interface ConnectStunOptions
  extends Omit<StunClientOptions, "hostname" | "port" | "family"> {
  /** The server. */
  server: TransportAddress;
  /** `tcp` or `tls` (TLS-over-TCP, RFC 8489 §6.2.3). */
  transport: "tcp" | "tls";
  /** TLS: certificates (PEM) to trust beyond the system's, e.g. a test server's own. */
  caCerts?: string[];
  /** TLS: the host name to connect to and verify the certificate against (default: the address). */
  serverName?: string;
  /** Frame ChannelData from the server too (a TURN client). */
  channelData?: boolean;
}

/** A {@linkcode StunTransport} on a TCP or TLS connection. */
export interface StreamTransport extends StunTransport {
  /** The connection. */
  readonly conn: Deno.Conn;
  /**
   * Resolves when reading stopped: for a `halt`, with the bytes read after the last message (the
   * connection stays open and is the caller's).
   */
  readonly stopped: Promise<{ reason: string; rest: Uint8Array }>;
}

/**
 * Wraps a connection as a {@linkcode StunTransport}: frames what it reads, writes whole messages.
 *
 * @param conn The connection to the server.
 * @param options ChannelData framing, and `halt` to stop reading after a message.
 * @returns The transport (give it to {@linkcode StunClient.fromTransport}).
 * @example A client on a connection opened by hand
 * ```ts
 * import { StunServer } from "@rtclite/std/ietf/rfc5389";
 * import { serveStunTcp, streamTransport } from "@rtclite/std/ietf/rfc5389/tcp";
 * import { StunClient } from "@rtclite/std/ietf/rfc5389/udp";
 * import { equal } from "node:assert/strict";
 * await using server = await serveStunTcp(new StunServer(), { hostname: "127.0.0.1", port: 0 });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.address.port });
 * await using client = StunClient.fromTransport(streamTransport(conn));
 * equal((await client.binding(server.address)).port, client.address.port);
 * ```
 */
export function streamTransport(
  conn: Deno.Conn,
  options: { channelData?: boolean; halt?: (frame: Uint8Array) => boolean } = {},
): StreamTransport {
  const write = streamWriter(conn);
  const remote = netAddress(conn.remoteAddr);
  let closed = false;
  const t: StreamTransport = {
    conn,
    address: netAddress(conn.localAddr),
    reliable: true,
    send: (data) => {
      write(data).catch((e) => log.debug("Write failed: {error}", { error: String(e) }));
    },
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* already closed */ }
      await t.stopped;
    },
    stopped: Promise.resolve().then(() =>
      readStunStream(conn, (frame) => t.onReceive?.(frame, remote), options)
    ).then((r) => {
      if (r.reason !== "halt") {
        if (!closed) t.onClose?.();
        closed = true;
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      return r;
    }),
  };
  return t;
}

/**
 * Connects a {@linkcode StunClient} to a server over TCP or TLS. Requests are sent once and time
 * out after Ti (39.5 s, RFC 8489 §6.2.2); the connection stays open until `close()`.
 *
 * @param options The server, `tcp` or `tls`, credentials.
 * @returns The client.
 * @throws {Deno.errors.ConnectionRefused} (and other connection errors) when the server is not
 *   reachable; TLS errors when its certificate is not trusted.
 * @example A Binding over TCP
 * ```ts
 * import { StunServer } from "@rtclite/std/ietf/rfc5389";
 * import { connectStun, serveStunTcp } from "@rtclite/std/ietf/rfc5389/tcp";
 * import { equal } from "node:assert/strict";
 * await using server = await serveStunTcp(new StunServer(), { hostname: "127.0.0.1", port: 0 });
 * await using client = await connectStun({ server: server.address, transport: "tcp" });
 * equal(client.reliable, true);
 * equal((await client.binding(server.address)).address, "127.0.0.1");
 * ```
 */
// @implements RFC8489 §6.2.2 (RFC 5389 §7.2.2), RFC8489 §6.2.3
export async function connectStun(options: ConnectStunOptions): Promise<StunClient> {
  const { server, transport, caCerts, serverName, channelData, ...rest } = options;
  const conn = transport === "tls"
    ? await connectTls(serverName ?? server.address, server.port, caCerts)
    : await Deno.connect({ hostname: server.address, port: server.port });
  return StunClient.fromTransport(
    streamTransport(conn, { channelData: channelData ?? false }),
    rest,
  );
}

/**
 * Opens a TLS connection and completes the handshake, so that an untrusted certificate fails
 * here rather than at the first write.
 *
 * @param hostname Server name or address (checked against the certificate).
 * @param port Server port.
 * @param caCerts Extra trusted certificates (PEM).
 * @returns The connection.
 * @example Nothing listens: the connection is refused
 * ```ts
 * import { connectTls } from "@rtclite/std/ietf/rfc5389/tcp";
 * import { rejects } from "node:assert/strict";
 * const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * l.close();
 * await rejects(connectTls("127.0.0.1", l.addr.port), Deno.errors.ConnectionRefused);
 * ```
 */
export async function connectTls(
  hostname: string,
  port: number,
  caCerts?: string[],
): Promise<Deno.TlsConn> {
  const conn = await Deno.connectTls({ hostname, port, ...(caCerts ? { caCerts } : {}) });
  try {
    await conn.handshake();
  } catch (e) {
    conn.close();
    throw e;
  }
  return conn;
}

// === Server ===

/** Options of {@linkcode serveStunTcp}. */
export interface ServeStunTcpOptions {
  /** Listening address (default 0.0.0.0). */
  hostname?: string;
  /** Listening port (default 3478, 5349 with TLS; 0 for any). */
  port?: number;
  /** Serve TLS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** Most open connections (default 1024). */
  maxConnections?: number;
  /** Most open connections from one address (default 64). */
  maxPerAddress?: number;
  /** Close a connection that sent no complete message for this long, in ms (default 30 000). */
  idleTimeout?: number;
}

/** A running TCP or TLS server. */
export interface StreamServer extends UdpServer {
  /** Open connections. */
  readonly connections: number;
}

/**
 * Listens for TCP or TLS connections (through `acceptLoop`: capped, resilient to `EMFILE`).
 *
 * @param options Address, TLS, caps.
 * @param handle Serves one connection.
 * @returns The running server.
 * @example
 * ```ts
 * import { listenStream } from "@rtclite/std/ietf/rfc5389/tcp";
 * import { equal } from "node:assert/strict";
 * await using server = listenStream({ hostname: "127.0.0.1", port: 0, name: "hello" }, async (conn) => {
 *   await conn.write(new TextEncoder().encode("hi"));
 * });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.address.port });
 * const buf = new Uint8Array(2);
 * equal(await conn.read(buf), 2);
 * conn.close();
 * ```
 */
export function listenStream(
  options: ServeStunTcpOptions & { name: string },
  handle: (conn: Deno.Conn) => Promise<void>,
): StreamServer {
  const hostname = options.hostname ?? "0.0.0.0";
  const listener = options.tls
    ? Deno.listenTls({
      hostname,
      port: options.port ?? 5349,
      cert: options.tls.cert,
      key: options.tls.key,
    })
    : Deno.listen({ hostname, port: options.port ?? 3478 });
  const loop = acceptLoop(listener as Deno.Listener<Deno.Conn>, handle, {
    maxConnections: options.maxConnections ?? 1024,
    maxPerAddress: options.maxPerAddress ?? 64,
    name: options.name,
  });
  const close = () => loop.close();
  return {
    address: netAddress(listener.addr),
    get connections() {
      return loop.connections.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Serves a {@linkcode StunServer} over TCP, or TLS with `tls`. Each connection is read with
 * {@linkcode readStunStream}; it is closed when idle for `idleTimeout`, on anything that is not
 * STUN, and when the client closes it.
 *
 * @param server The sans-I/O server.
 * @param options Address, TLS certificate, caps, idle timeout.
 * @returns The running server.
 * @example
 * ```ts
 * import { StunServer } from "@rtclite/std/ietf/rfc5389";
 * import { serveStunTcp } from "@rtclite/std/ietf/rfc5389/tcp";
 * import { equal } from "node:assert/strict";
 * await using tcp = await serveStunTcp(new StunServer(), { hostname: "127.0.0.1", port: 0 });
 * equal(tcp.address.address, "127.0.0.1");
 * ```
 */
// @implements RFC8489 §6.2.2 (RFC 5389 §7.2.2)
export function serveStunTcp(
  server: StunServer,
  options: ServeStunTcpOptions = {},
): Promise<StreamServer> {
  return Promise.resolve(listenStream(
    { ...options, name: options.tls ? "STUN TLS" : "STUN TCP" },
    async (conn) => {
      const write = streamWriter(conn);
      const from = netAddress(conn.remoteAddr);
      await readStunStream(conn, (frame) => {
        const reply = server.handle(frame, from);
        if (reply) write(reply).catch(() => {});
      }, { idleTimeout: options.idleTimeout ?? 30_000 });
    },
  ));
}
