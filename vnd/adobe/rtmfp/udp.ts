// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * RTMFP over UDP (RFC 7016 §2.2.1): an {@linkcode RtmfpEndpoint} on a `node:dgram` socket with
 * real timers ({@linkcode RtmfpSocket}), a rendezvous server that introduces peers by peer id
 * ({@linkcode RtmfpServer}, the role Adobe's "Cirrus" played), and {@linkcode rtmfpConnect},
 * a client's way to a server.
 *
 * @example A client finds another through the server and talks to it directly
 * ```ts
 * import { RtmfpServer, rtmfpConnect } from "@rtclite/vnd/adobe/rtmfp/udp";
 * import { equal } from "node:assert/strict";
 *
 * const server = await RtmfpServer.listen({ port: 0, host: "127.0.0.1" });
 * const url = `rtmfp://127.0.0.1:${server.socket.address.port}/app`;
 * const alice = await rtmfpConnect(url);
 * const bob = await rtmfpConnect(url);
 * const got = new Promise<string>((resolve) => {
 *   bob.socket.endpoint.onSession = (s) =>
 *     s.onFlow = (f) => f.onMessage = (m) => resolve(new TextDecoder().decode(m));
 * });
 * const direct = await alice.connectPeer(bob.socket.endpoint.peerId);
 * direct.openFlow(new Uint8Array([1])).send(new TextEncoder().encode("hi bob"));
 * equal(await got, "hi bob");
 * equal(server.stats.introductions, 1);
 * alice.close();
 * bob.close();
 * server.close();
 * ```
 *
 * @module
 */
import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { toHex } from "@rtclite/std/bytes";
import {
  decodeMultiplex,
  decodePacket,
  decryptPacket,
  DEFAULT_KEY,
  describePacket,
  type DhKeyPair,
  FlashServer,
  peerIdEpd,
  RtmfpEndpoint,
  RtmfpError,
  type RtmfpSession,
  type SocketAddress,
  urlEpd,
} from "./mod.ts";

export * from "./mod.ts";

/** Options of {@linkcode RtmfpSocket.listen}. */
export interface RtmfpSocketOptions {
  /** Local port (default 0: any). */
  port?: number;
  /** Local address (default `0.0.0.0`). */
  host?: string;
  /** Receives one line per packet sent or received, decoded. */
  trace?: (line: string) => void;
  /** The endpoint's identity (default: a new key pair). */
  keyPair?: DhKeyPair;
  /** Keepalive interval, ms (default 15 s; 0 disables). */
  keepalive?: number;
}

/** An RTMFP endpoint on a UDP socket, its timers run by `setTimeout`. */
export class RtmfpSocket {
  /** The sans-I/O endpoint. */
  readonly endpoint: RtmfpEndpoint;
  /** The bound local address. */
  readonly address: SocketAddress;
  readonly #socket: dgram.Socket;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #closed = false;

  private constructor(socket: dgram.Socket, options: RtmfpSocketOptions) {
    this.#socket = socket;
    const bound = socket.address();
    this.address = { address: bound.address, port: bound.port };
    const t0 = performance.now();
    this.endpoint = new RtmfpEndpoint({
      now: () => performance.now() - t0,
      send: (datagram, to) => {
        if (this.#closed) return;
        socket.send(datagram, to.port, to.address);
        queueMicrotask(() => this.#schedule());
      },
      ...(options.keyPair ? { keyPair: options.keyPair } : {}),
      ...(options.keepalive !== undefined ? { keepalive: options.keepalive } : {}),
    });
    const trace = options.trace;
    if (trace) {
      this.endpoint.onTrace = (dir, peer, sid, packet) =>
        trace(
          `${dir === "in" ? "<-" : "->"} ${peer.address}:${peer.port} sid=${
            sid.toString(16).padStart(8, "0")
          } ${describePacket(packet)}`,
        );
    }
    socket.on("message", (msg, rinfo) => {
      this.endpoint.receive(new Uint8Array(msg), { address: rinfo.address, port: rinfo.port });
      this.#schedule();
    });
  }

  /**
   * Binds a UDP socket and starts an endpoint on it.
   *
   * @param options Port, address, trace, identity.
   * @returns The socket.
   */
  static async listen(options: RtmfpSocketOptions = {}): Promise<RtmfpSocket> {
    const host = options.host ?? "0.0.0.0";
    const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(options.port ?? 0, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    return new RtmfpSocket(socket, options);
  }

  #schedule(): void {
    if (this.#closed) return;
    const at = this.endpoint.nextTimeout();
    if (at === undefined) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
      return;
    }
    if (this.#timer !== undefined && at >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    const delay = Math.max(0, at - this.endpoint.opts.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.endpoint.tick();
      this.#schedule();
    }, delay);
  }

  /**
   * Opens a session and waits until it is open.
   *
   * @param epd The Endpoint Discriminator.
   * @param addresses Candidate addresses.
   * @returns The open session.
   * @throws {RtmfpError} When the session fails to open (95 s) or closes first.
   */
  connect(epd: Uint8Array, addresses: SocketAddress[]): Promise<RtmfpSession> {
    const session = this.endpoint.connect(epd, addresses);
    this.#schedule();
    return new Promise((resolve, reject) => {
      session.onOpen = () => resolve(session);
      session.onClose = (reason) => reject(new RtmfpError(`RTMFP session did not open: ${reason}`));
    });
  }

  /** Closes every session abruptly and the socket. */
  close(): void {
    if (this.#closed) return;
    this.endpoint.close();
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#socket.close();
  }
}

// === Rendezvous server (RFC 7016 §3.5.1.4, §3.5.1.5) ===

/** Counters of an {@linkcode RtmfpServer}. */
export interface RtmfpServerStats {
  /** Sessions opened with the server. */
  sessions: number;
  /** IHellos for a registered peer answered with a Redirect and a forwarded hello. */
  introductions: number;
  /** Datagrams the server relayed between peers (0: it only introduces). */
  relayed: number;
}

/** Options of {@linkcode RtmfpServer.listen}. */
export interface RtmfpServerOptions extends RtmfpSocketOptions {
  /** Serve Flash NetConnection/NetStream flows (publish, play) on every session (default true). */
  flash?: boolean;
  /**
   * Relay peer-to-peer sessions instead of introducing the peers directly (for debugging): each
   * introduction gets a relay socket on the server's address; both peers are redirected to it,
   * and it forwards their datagrams (counted in `stats.relayed`, traced when `trace` is set).
   * Needs a concrete `host`.
   */
  middle?: boolean;
}

/**
 * A rendezvous server: every client that opens a session registers under its peer id; an
 * IHello naming a registered peer id is answered with a Redirect to the peer's address, and
 * the peer is sent a Forwarded IHello so that it answers the initiator directly (which also
 * opens its NAT towards the initiator). The server never relays peer-to-peer data. With the
 * Flash application (the default) it also serves NetConnection/NetStream flows: clients
 * publish and play streams through it.
 */
export class RtmfpServer {
  /** The socket. */
  readonly socket: RtmfpSocket;
  /** Counters. */
  readonly stats: RtmfpServerStats = { sessions: 0, introductions: 0, relayed: 0 };
  /** Open sessions by the hex of the peer id. */
  readonly peers: Map<string, RtmfpSession> = new Map();
  /** The Flash application (publish/play relay), unless disabled. */
  readonly flash: FlashServer | undefined;

  readonly #relays = new Set<dgram.Socket>();
  readonly #trace: ((line: string) => void) | undefined;

  private constructor(
    socket: RtmfpSocket,
    flash: boolean,
    middle: boolean,
    trace?: (line: string) => void,
  ) {
    this.socket = socket;
    this.#trace = trace;
    this.flash = flash ? new FlashServer() : undefined;
    const ep = socket.endpoint;
    ep.onSession = (session) => {
      this.stats.sessions++;
      const id = toHex(session.farPeerId!);
      this.peers.set(id, session);
      session.onClose = () => {
        if (this.peers.get(id) === session) this.peers.delete(id);
      };
      this.flash?.serve(session);
    };
    ep.onHello = ({ epd, epdBytes, tag, from }) => {
      if (!("peerId" in epd)) return undefined;
      const peer = this.peers.get(toHex(epd.peerId));
      if (!peer?.address || peer.state !== "open") return undefined;
      this.stats.introductions++;
      if (middle) {
        this.#relay(from, peer.address).then((relay) => {
          // Both ends are sent to the relay, tagged as a relay address.
          ep.redirect(tag, [{ ...relay, origin: 3 }], from);
          peer.forwardHello(epdBytes, tag, { ...relay, origin: 3 });
        }, () => {});
        return undefined;
      }
      // @implements RFC7016 §3.5.1.6
      peer.forwardHello(epdBytes, tag, { ...from, origin: 2 });
      return [{ ...peer.address, origin: 2 }];
    };
  }

  // A relay between an initiator and a peer: datagrams from the peer go to the initiator, all
  // others to the peer.
  async #relay(initiator: SocketAddress, peer: SocketAddress): Promise<SocketAddress> {
    const host = this.socket.address.address;
    const relay = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    await new Promise<void>((resolve, reject) => {
      relay.once("error", reject);
      relay.bind(0, host, () => resolve());
    });
    this.#relays.add(relay);
    const me = { address: host, port: relay.address().port };
    relay.on("message", (msg, rinfo) => {
      const fromPeer = rinfo.address === peer.address && rinfo.port === peer.port;
      const to = fromPeer ? initiator : peer;
      this.stats.relayed++;
      if (this.#trace) {
        let what = `${msg.length} bytes`;
        try {
          const { sessionId, encrypted } = decodeMultiplex(new Uint8Array(msg));
          what = `sid=${sessionId.toString(16).padStart(8, "0")} ` +
            (sessionId === 0
              ? describePacket(decodePacket(decryptPacket(DEFAULT_KEY, encrypted)))
              : `${encrypted.length} encrypted bytes`);
        } catch { /* not decodable with the default key: a session packet */ }
        this.#trace(
          `relay ${me.port}: ${rinfo.address}:${rinfo.port} -> ${to.address}:${to.port} ${what}`,
        );
      }
      relay.send(msg, to.port, to.address);
    });
    return me;
  }

  /**
   * Starts a server.
   *
   * @param options Port (default 1935), address, trace.
   * @returns The server.
   */
  static async listen(options: RtmfpServerOptions = {}): Promise<RtmfpServer> {
    const { flash = true, middle = false, ...rest } = options;
    if (middle && (!rest.host || rest.host === "0.0.0.0" || rest.host === "::")) {
      throw new TypeError("An RTMFP middle server needs a concrete host address to relay on");
    }
    return new RtmfpServer(
      await RtmfpSocket.listen({ port: 1935, ...rest }),
      flash,
      middle,
      rest.trace,
    );
  }

  /** Closes every session, the relays and the socket. */
  close(): void {
    for (const r of this.#relays) r.close();
    this.#relays.clear();
    this.socket.close();
  }
}

// === Client ===

/** A client's session with a server, on its own socket. */
export interface RtmfpClient {
  /** The client's socket (and endpoint: its peer id is `socket.endpoint.peerId`). */
  socket: RtmfpSocket;
  /** The session with the server. */
  session: RtmfpSession;
  /** Opens a direct session to another client of the same server, by peer id. */
  connectPeer(peerId: Uint8Array): Promise<RtmfpSession>;
  /** Closes everything. */
  close(): void;
}

/**
 * Connects to an RTMFP server.
 *
 * @param url `rtmfp://host[:port]/app` (port 1935 by default).
 * @param options Local socket options.
 * @returns The client, once its session with the server is open.
 */
export async function rtmfpConnect(
  url: string,
  options: RtmfpSocketOptions = {},
): Promise<RtmfpClient> {
  const u = new URL(url);
  if (u.protocol !== "rtmfp:") throw new TypeError(`Not an rtmfp: URL: ${url}`);
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  const { address } = await lookup(host);
  const server = { address, port: u.port ? Number(u.port) : 1935 };
  const socket = await RtmfpSocket.listen({
    ...options,
    host: options.host ?? (address.includes(":") ? "::" : "0.0.0.0"),
  });
  try {
    const session = await socket.connect(urlEpd(url), [server]);
    return {
      socket,
      session,
      connectPeer: (peerId) => socket.connect(peerIdEpd(peerId), [server]),
      close: () => socket.close(),
    };
  } catch (e) {
    socket.close();
    throw e;
  }
}
