// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * TURN over TCP and TLS-over-TCP, and TCP allocations (RFC 6062).
 *
 * - {@linkcode serveTurnTcp} puts a TCP or TLS listener in front of a {@linkcode TurnServer}
 *   (usually the one `serveTurnUdp` runs, so that UDP, TCP and TLS clients share allocations,
 *   quotas and relays). Connections are accepted through `acceptLoop` (capped in total and per
 *   address); one that sends no complete message for `idleTimeout` is closed unless it holds an
 *   allocation, and closing it deletes its allocation. STUN and ChannelData are framed from the
 *   stream; ChannelData to the client is padded to 4 bytes (RFC 8656 §12.5).
 * - {@linkcode tcpRelays} gives a `TurnServer` the TCP relays of RFC 6062: Allocate with
 *   REQUESTED-TRANSPORT TCP listens on a relayed address, Connect opens a connection to a peer,
 *   ConnectionAttempt announces one from a peer, and ConnectionBind on a new client connection
 *   joins the two, after which the server copies bytes both ways. Outgoing connections leave from
 *   the relay's IP address with a port the system picks (binding the relayed port itself would
 *   need SO_REUSEPORT on the listener, which `Deno.listen` does not set).
 *
 * The client side is `TurnClient` of `@rtclite/std/ietf/rfc5766/udp` with `transport: "tcp"` or
 * `"tls"` (`allocate(lifetime, { transport: "tcp" })`, `connect`, `accept`).
 *
 * @example A TURN client over TCP relays to a UDP peer
 * ```ts
 * import { serveTurnUdp, TurnClient } from "@rtclite/std/ietf/rfc5766/udp";
 * import { serveTurnTcp } from "@rtclite/std/ietf/rfc5766/tcp";
 * import { equal } from "node:assert/strict";
 *
 * await using udp = await serveTurnUdp({
 *   hostname: "127.0.0.1", port: 0, realm: "example.org", allowLoopbackPeers: true,
 *   password: (user) => user === "alice" ? "secret" : undefined,
 * });
 * await using tcp = await serveTurnTcp(udp.server, { hostname: "127.0.0.1", port: 0 });
 * await using a = await TurnClient.open({ server: tcp.address, transport: "tcp", username: "alice", password: "secret" });
 * await using b = await TurnClient.open({ server: udp.address, username: "alice", password: "secret" });
 * const ra = (await a.allocate()).relayed, rb = (await b.allocate()).relayed;
 * await a.channelBind(rb);
 * await b.createPermission(ra);
 * const got = new Promise<string>((resolve) => b.onData = (data) => resolve(new TextDecoder().decode(data)));
 * a.send(rb, new TextEncoder().encode("over tcp"));
 * equal(await got, "over tcp");
 * ```
 *
 * @module
 */
import { getLogger } from "../../log.ts";
import { acceptLoop } from "../../net.ts";
import {
  listenStream,
  netAddress,
  readStunStream,
  type ServeStunTcpOptions,
  type StreamServer,
  streamWriter,
} from "../rfc5389/tcp.ts";
import type { PeerConnection, TcpRelay, TurnConnection, TurnServer } from "./mod.ts";
export type { ServeStunTcpOptions, StreamServer, UdpServer } from "../rfc5389/tcp.ts";
export type {
  PeerConnection,
  TcpRelay,
  TransportAddress,
  TurnConnection,
  TurnServer,
} from "./mod.ts";

const log = getLogger("turn");

/** The socket behind each peer connection this module made. */
const sockets = new WeakMap<PeerConnection, Deno.Conn>();

/** Resolves when each peer connection this module made is closed. */
const ended = new WeakMap<PeerConnection, Promise<void>>();

function peerConnection(conn: Deno.Conn): PeerConnection {
  let closed = false;
  let end!: () => void;
  const p: PeerConnection = {
    peer: netAddress(conn.remoteAddr),
    get closed() {
      return closed;
    },
    close() {
      if (closed) return;
      closed = true;
      end();
      try {
        conn.close();
      } catch { /* already closed */ }
    },
  };
  sockets.set(p, conn);
  ended.set(p, new Promise<void>((resolve) => end = resolve));
  return p;
}

/**
 * Copies bytes from one connection to another until either ends, then closes both.
 *
 * @param from Source.
 * @param write Writes to the destination.
 * @returns When the source ended.
 */
async function copy(from: Deno.Conn, write: (d: Uint8Array) => Promise<void>): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  for (;;) {
    let n: number | null;
    try {
      n = await from.read(buf);
    } catch {
      return;
    }
    if (n === null) return;
    try {
      await write(buf.slice(0, n));
    } catch {
      return;
    }
  }
}

// === TCP relays (RFC 6062 §5) ===

/** Options of {@linkcode tcpRelays}. */
export interface TcpRelayOptions {
  /** How long a Connect may take, in ms (30 000: RFC 6062 §5.2 asks for at least 30 s). */
  connectTimeout?: number;
}

/**
 * Makes the `openTcpRelay` of a {@linkcode TurnServer}: each TCP allocation listens on a port of
 * `address` for peers, and connects to peers from that address.
 *
 * @param address The IP address of the relays.
 * @param options Connect timeout.
 * @returns The function to pass as `openTcpRelay` (to `serveTurnUdp` or `new TurnServer`).
 * @example
 * ```ts
 * import { serveTurnUdp } from "@rtclite/std/ietf/rfc5766/udp";
 * import { tcpRelays } from "@rtclite/std/ietf/rfc5766/tcp";
 * import { equal } from "node:assert/strict";
 * await using udp = await serveTurnUdp({
 *   hostname: "127.0.0.1", port: 0, realm: "r", password: () => "p", openTcpRelay: tcpRelays("127.0.0.1"),
 * });
 * equal(udp.address.address, "127.0.0.1");
 * ```
 */
// RFC 6062 §5.1 (relayed address listening), §5.2 (Connect), §5.3 (incoming connections)
export function tcpRelays(
  address: string,
  options: TcpRelayOptions = {},
): (onPeer: (conn: PeerConnection) => void) => TcpRelay | undefined {
  return (onPeer) => {
    let listener: Deno.TcpListener;
    try {
      listener = Deno.listen({ hostname: address, port: 0 });
    } catch (e) {
      log.warn("Cannot open a TCP relay on {address}: {error}", { address, error: String(e) });
      return undefined;
    }
    const open = new Set<PeerConnection>();
    // Each peer connection lives until it is closed (by its pipe, its ConnectionBind timeout or
    // the relay); closing the listener ends the loop without touching bound connections.
    acceptLoop(listener, async (conn) => {
      for (const q of open) if (q.closed) open.delete(q);
      const p = peerConnection(conn);
      open.add(p);
      onPeer(p);
      await ended.get(p);
    }, { name: "TURN TCP relay" });
    return {
      address: netAddress(listener.addr),
      connect: async (peer) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const pending = Deno.connect({ hostname: peer.address, port: peer.port });
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Deno.errors.TimedOut(`No answer from ${peer.address}:${peer.port}`)),
            options.connectTimeout ?? 30_000,
          );
        });
        try {
          const conn = await Promise.race([pending, timeout]);
          return peerConnection(conn);
        } catch (e) {
          pending.then((c) => c.close(), () => {});
          throw e;
        } finally {
          clearTimeout(timer);
        }
      },
      close: () => {
        try {
          listener.close();
        } catch { /* already closed */ }
        // Connections not yet bound go with the listener; bound ones belong to their pipes.
        for (const p of open) if (!bound.has(p)) p.close();
      },
    };
  };
}

/** Peer connections joined to a client data connection. */
const bound = new WeakSet<PeerConnection>();

// === Listener (RFC 8656 §3.1; RFC 8489 §6.2.2) ===

/** Options of {@linkcode serveTurnTcp}. */
export interface ServeTurnTcpOptions extends ServeStunTcpOptions {
  /**
   * Close a connection that holds no allocation and sent no complete message for this long, in ms
   * (default 30 000). A connection with an allocation stays open as long as the allocation.
   */
  idleTimeout?: number;
}

/**
 * Serves a {@linkcode TurnServer} over TCP, or TLS with `tls` (default ports 3478 and 5349).
 *
 * @param server The TURN server (e.g. `serveTurnUdp(...).server`).
 * @param options Address, TLS certificate and key, caps, idle timeout.
 * @returns The running listener; `close()` closes it and every connection (deleting their
 *   allocations).
 * @example
 * ```ts
 * import { serveTurnUdp } from "@rtclite/std/ietf/rfc5766/udp";
 * import { serveTurnTcp } from "@rtclite/std/ietf/rfc5766/tcp";
 * import { equal } from "node:assert/strict";
 * await using udp = await serveTurnUdp({ hostname: "127.0.0.1", port: 0, realm: "r", password: () => "p" });
 * await using tcp = await serveTurnTcp(udp.server, { hostname: "127.0.0.1", port: 0 });
 * equal(tcp.connections, 0);
 * ```
 */
export function serveTurnTcp(
  server: TurnServer,
  options: ServeTurnTcpOptions = {},
): Promise<StreamServer> {
  const listening = listenStream(
    { ...options, name: options.tls ? "TURN TLS" : "TURN TCP" },
    async (conn) => {
      const from = netAddress(conn.remoteAddr);
      const write = streamWriter(conn);
      let peer: PeerConnection | undefined;
      const client: TurnConnection = {
        send: (data) => {
          write(data).catch(() => {});
        },
        bind: (p) => {
          peer = p;
          bound.add(p);
        },
      };
      const { reason, rest } = await readStunStream(
        conn,
        (frame) => server.handle(frame, from, client),
        {
          channelData: true,
          idleTimeout: options.idleTimeout ?? 30_000,
          keepAlive: () => server.holds(from),
          halt: () => peer !== undefined,
        },
      );
      if (reason !== "halt" || !peer) {
        server.disconnected(from);
        return;
      }
      // RFC 6062 §5.4: a client data connection; bytes go as they are, both ways.
      const socket = sockets.get(peer)!;
      const toPeer = streamWriter(socket);
      try {
        if (rest.length) await toPeer(rest);
        await Promise.race([copy(conn, toPeer), copy(socket, write)]);
      } catch {
        /* either side failed */
      } finally {
        peer.close();
      }
    },
  );
  // A Connect (RFC 6062) to the server's own listener would loop through it.
  server.addOwnAddress(listening.address);
  return Promise.resolve(listening);
}
