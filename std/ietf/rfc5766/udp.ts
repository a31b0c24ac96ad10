// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * TURN over UDP with `node:dgram`: {@linkcode TurnClient}, a client on one socket (Allocate with
 * long-term credentials, Refresh, CreatePermission, ChannelBind, Send and Data indications,
 * ChannelData), or with `transport: "tcp"` / `"tls"` on a connection, where it also makes TCP
 * allocations (RFC 6062: {@linkcode TurnClient.connect}, {@linkcode TurnClient.accept}); and
 * {@linkcode serveTurnUdp}, which runs the sans-I/O {@linkcode TurnServer} of
 * `@rtclite/std/ietf/rfc5766` with a listening socket and a pool of relay sockets.
 *
 * @example Relay between two clients through a local TURN server
 * ```ts
 * import { serveTurnUdp, TurnClient } from "@rtclite/std/ietf/rfc5766/udp";
 * import { equal } from "node:assert/strict";
 *
 * await using server = await serveTurnUdp({
 *   hostname: "127.0.0.1", port: 0, realm: "example.org",
 *   password: (user) => user === "alice" ? "secret" : undefined,
 *   allowLoopbackPeers: true, // the peers here are on 127.0.0.1: refused by default
 * });
 * await using a = await TurnClient.open({ server: server.address, username: "alice", password: "secret" });
 * await using b = await TurnClient.open({ server: server.address, username: "alice", password: "secret" });
 * const relayA = await a.allocate();
 * const relayB = await b.allocate();
 * await a.createPermission(relayB.relayed);
 * await b.createPermission(relayA.relayed);
 * const got = new Promise<string>((resolve) => b.onData = (data) => resolve(new TextDecoder().decode(data)));
 * a.send(relayB.relayed, new TextEncoder().encode("hello"));
 * equal(await got, "hello");
 * ```
 *
 * @module
 */
import dgram from "node:dgram";
import { getLogger } from "../../log.ts";
import {
  addressAttribute,
  createMessage,
  decodeStun,
  encodeStun,
  getAddress,
  getAttribute,
  getErrorCode,
  LongTermCredentials,
  StunAttr,
  type StunAttribute,
  StunClass,
  type StunMessage,
  StunMethod,
  type TransportAddress,
} from "../rfc5389/mod.ts";
import { StunClient, type UdpServer } from "../rfc5389/udp.ts";
import { connectStun, connectTls, streamTransport } from "../rfc5389/tcp.ts";
import { TURN_PORT } from "../rfc7065/mod.ts";
import {
  decodeChannelData,
  encodeChannelData,
  getUint32,
  isChannelData,
  MAX_CHANNEL,
  MIN_CHANNEL,
  TurnAttr,
  TurnError,
  TurnServer,
  type TurnServerOptions,
  TurnTcpMethod,
  uint32Attribute,
} from "./mod.ts";
export type { UdpServer } from "../rfc5389/udp.ts";
export type { TransportAddress } from "../rfc5389/mod.ts";
export type {
  PeerConnection,
  PeerPolicyOptions,
  Relay,
  TcpRelay,
  TurnConnection,
  TurnServer,
  TurnServerOptions,
} from "./mod.ts";

const log = getLogger("turn");

/** UDP's protocol number, the REQUESTED-TRANSPORT of a UDP allocation. */
const UDP = 17;
/** TCP's protocol number, the REQUESTED-TRANSPORT of a TCP allocation (RFC 6062 §6.2). */
const TCP = 6;

// === Client (RFC 8656 §7.1, §8.1, §10.1, §11.1, §11.4, §12.1; RFC 5766 §6.1, §7.1, §9.1, §10.1,
// §10.4, §11.1) ===

/** Options of {@linkcode TurnClient.open}. */
export interface TurnClientOptions {
  /** Local address to bind (default: 127.0.0.1 for a loopback server, else any). */
  hostname?: string;
  /** Local port (default: any). */
  port?: number;
  /** Initial retransmission timeout in ms (500). */
  rto?: number;
  /** Requests sent per transaction (7). */
  rc?: number;
  /** SOFTWARE for requests ("rtclite"). */
  software?: string;
  /** The TURN server's address. */
  server: TransportAddress;
  /** Long-term username. */
  username: string;
  /** Long-term password. */
  password: string;
  /** Use MESSAGE-INTEGRITY-SHA256. */
  sha256?: boolean;
  /** Refresh allocation, permissions and channels before they expire (default true). */
  autoRefresh?: boolean;
  /**
   * How to reach the server: `udp` (default), `tcp`, or `tls` (TLS-over-TCP; RFC 8656 §3.1). Over
   * TCP and TLS requests are not retransmitted and ChannelData is padded to 4 bytes.
   */
  transport?: "udp" | "tcp" | "tls";
  /** TLS: certificates (PEM) to trust beyond the system's, e.g. a test server's own. */
  caCerts?: string[];
}

/**
 * RFC 6062: a TCP connection to a peer through a TCP allocation, once bound (a client data
 * connection): the bytes written go to the peer, the bytes read come from it. Returned by
 * {@linkcode TurnClient.connect} and {@linkcode TurnClient.accept}.
 *
 * @example Bytes read with the ConnectionBind response come first
 * ```ts
 * import { TurnDataConnection } from "@rtclite/std/ietf/rfc5766/udp";
 * import { equal } from "node:assert/strict";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const peer = { family: 4 as const, address: "192.0.2.7", port: 80 };
 * await using data = new TurnDataConnection(peer, conn, new TextEncoder().encode("early"));
 * const buf = new Uint8Array(16);
 * equal(new TextDecoder().decode(buf.subarray(0, (await data.read(buf))!)), "early");
 * listener.close();
 * ```
 */
export class TurnDataConnection implements AsyncDisposable {
  /** The peer at the other end. */
  readonly peer: TransportAddress;
  /** The client data connection to the server (TCP or TLS). */
  readonly conn: Deno.Conn;
  #first: Uint8Array;

  /**
   * Wraps a bound connection.
   *
   * @param peer The peer.
   * @param conn The connection to the server.
   * @param first Bytes from the peer read together with the ConnectionBind response.
   */
  constructor(peer: TransportAddress, conn: Deno.Conn, first: Uint8Array) {
    this.peer = peer;
    this.conn = conn;
    this.#first = first;
  }

  /**
   * Reads bytes from the peer.
   *
   * @param buf Where to put them.
   * @returns How many, or `null` at the end of the stream.
   */
  read(buf: Uint8Array): Promise<number | null> {
    if (this.#first.length) {
      const n = Math.min(buf.length, this.#first.length);
      buf.set(this.#first.subarray(0, n));
      this.#first = this.#first.subarray(n);
      return Promise.resolve(n);
    }
    return this.conn.read(buf);
  }

  /**
   * Writes every byte to the peer.
   *
   * @param data The bytes.
   */
  async write(data: Uint8Array): Promise<void> {
    for (let off = 0; off < data.length;) off += await this.conn.write(data.subarray(off));
  }

  /** Closes the connection (the server closes the peer's). */
  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  /** Same as {@linkcode TurnDataConnection.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Result of {@linkcode TurnClient.allocate}. */
export interface Allocation {
  /** The relayed transport address peers send to. */
  relayed: TransportAddress;
  /** Our server-reflexive address as the server sees it. */
  mapped: TransportAddress | undefined;
  /** Granted lifetime in seconds. */
  lifetime: number;
}

/**
 * A TURN client on one UDP socket. Data from peers arrives through `onData`, from Data
 * indications or ChannelData. Permissions, channels and the allocation are refreshed before they
 * expire unless `autoRefresh` is false.
 *
 * @example See the module example; the client needs a TURN server.
 * ```ts
 * import { TurnClient } from "@rtclite/std/ietf/rfc5766/udp";
 * import { equal } from "node:assert/strict";
 * equal(typeof TurnClient.open, "function");
 * ```
 */
export class TurnClient implements AsyncDisposable {
  #stun: StunClient;
  #server: TransportAddress;
  #auto: boolean;
  #channels = new Map<string, number>(); // peer "ip|port" -> channel
  #byChannel = new Map<number, TransportAddress>();
  #permissions = new Set<string>(); // peer ip
  #nextChannel = MIN_CHANNEL;
  #timers = new Map<string, ReturnType<typeof setTimeout>>(); // what is refreshed -> timer
  #closing = false;
  #allocated = false;
  #options: TurnClientOptions;
  #credentials: LongTermCredentials;
  /** The current allocation. */
  allocation: Allocation | undefined;
  /**
   * RFC 6062: a peer connected to the relayed address of a TCP allocation; call
   * {@linkcode TurnClient.accept} with the id within 30 s to take the connection.
   */
  onConnectionAttempt: ((peer: TransportAddress, connectionId: number) => void) | undefined;
  /**
   * On TCP and TLS: the connection to the server ended, and with it the allocation (RFC 8656
   * §3.1: the 5-tuple is gone).
   */
  onClose: (() => void) | undefined;
  /** Receives data from peers: the bytes, the peer, and how it came. */
  onData:
    | ((data: Uint8Array, peer: TransportAddress, via: "indication" | "channel") => void)
    | undefined;

  private constructor(
    stun: StunClient,
    options: TurnClientOptions,
    credentials: LongTermCredentials,
  ) {
    this.#stun = stun;
    this.#options = options;
    this.#credentials = credentials;
    this.#server = options.server;
    this.#auto = options.autoRefresh ?? true;
    stun.onMessage = (data, from) => this.#receive(data, from);
    stun.onClose = () => {
      this.#allocated = false;
      for (const t of this.#timers.values()) clearTimeout(t);
      this.#timers.clear();
      this.allocation = undefined;
      this.onClose?.();
    };
  }

  /**
   * Opens the client's UDP socket.
   *
   * @param options Server, credentials, local address.
   * @returns The client (not yet allocated).
   */
  static async open(options: TurnClientOptions): Promise<TurnClient> {
    const {
      server: _,
      username,
      password,
      sha256,
      autoRefresh: __,
      transport,
      caCerts,
      ...rest
    } = options;
    const credentials = new LongTermCredentials({
      username,
      password,
      ...(sha256 ? { sha256 } : {}),
    });
    if (transport === "tcp" || transport === "tls") {
      const { hostname: _h, port: _p, ...timers } = rest;
      const stun = await connectStun({
        ...timers,
        server: options.server,
        transport,
        channelData: true,
        credentials,
        ...(caCerts ? { caCerts } : {}),
      });
      return new TurnClient(stun, options, credentials);
    }
    const stun = await StunClient.open({
      family: options.server.family,
      ...(options.server.address.startsWith("127.") && !rest.hostname
        ? { hostname: "127.0.0.1" }
        : {}),
      ...rest,
      credentials,
    });
    return new TurnClient(stun, options, credentials);
  }

  /** The client's local transport address. */
  get address(): TransportAddress {
    return this.#stun.address;
  }

  async #request(
    method: number,
    attributes: StunAttribute[],
    peers: TransportAddress[] = [],
  ): Promise<StunMessage> {
    // XOR-PEER-ADDRESS depends on the transaction ID (IPv6), which is fresh for every retry.
    const res = await this.#stun.request(
      this.#server,
      (tid) =>
        createMessage(method, StunClass.Request, [
          ...attributes,
          ...peers.map((p) => addressAttribute(TurnAttr.XOR_PEER_ADDRESS, p, tid)),
        ], tid),
    );
    if (res.class === StunClass.ErrorResponse) {
      const e = getErrorCode(res);
      throw new TurnError(
        `TURN request 0x${method.toString(16)} failed: ${e?.code} ${e?.reason}`,
        "error-response",
        res,
      );
    }
    return res;
  }

  /** Schedules one refresh per key (a later call replaces the earlier timer). */
  #every(key: string, seconds: number, fn: () => Promise<unknown>): void {
    if (!this.#auto || this.#closing) return;
    clearTimeout(this.#timers.get(key));
    const t = setTimeout(async () => {
      this.#timers.delete(key);
      try {
        await fn();
      } catch (e) {
        log.warn("TURN refresh of {key} failed: {error}", { key, error: String(e) });
      }
    }, seconds * 1000);
    this.#timers.set(key, t);
  }

  /**
   * Allocates a relayed transport address with long-term credentials: UDP, or with
   * `transport: "tcp"` a TCP allocation (RFC 6062 §4.1; the client must be on TCP or TLS).
   *
   * @param lifetime Requested lifetime in seconds (server default when omitted).
   * @param options `transport`: the relay's protocol toward peers (`udp`).
   * @returns The relayed and mapped addresses and the granted lifetime.
   * @throws {TurnError} on an error response (e.g. 437, 441, 486).
   */
  // @implements RFC8656 §7.1 (RFC 5766 §6.1), RFC8656 §7.3 (RFC 5766 §6.3)
  async allocate(
    lifetime?: number,
    options: { transport?: "udp" | "tcp" } = {},
  ): Promise<Allocation> {
    const attrs = [
      uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, options.transport === "tcp" ? TCP : UDP),
    ];
    if (lifetime !== undefined) attrs.push(uint32Attribute(TurnAttr.LIFETIME, lifetime));
    const res = await this.#request(StunMethod.Allocate, attrs);
    const relayed = getAddress(res, TurnAttr.XOR_RELAYED_ADDRESS);
    if (!relayed) {
      throw new TurnError("Allocate response has no XOR-RELAYED-ADDRESS", "error-response", res);
    }
    this.#allocated = true;
    const granted = getUint32(res, TurnAttr.LIFETIME) ?? 600;
    this.allocation = {
      relayed,
      mapped: getAddress(res, StunAttr.XOR_MAPPED_ADDRESS),
      lifetime: granted,
    };
    this.#every("allocation", Math.max(granted - 60, granted / 2), () => this.refresh(granted));
    return this.allocation;
  }

  /**
   * Refreshes the allocation; lifetime 0 deletes it.
   *
   * @param lifetime Requested lifetime in seconds.
   * @returns The granted lifetime.
   * @throws {TurnError} on an error response.
   */
  // @implements RFC8656 §8.1 (RFC 5766 §7.1)
  async refresh(lifetime: number): Promise<number> {
    const res = await this.#request(StunMethod.Refresh, [
      uint32Attribute(TurnAttr.LIFETIME, lifetime),
    ]);
    const granted = getUint32(res, TurnAttr.LIFETIME) ?? lifetime;
    if (lifetime === 0) this.#allocated = false;
    else {this.#every("allocation", Math.max(granted - 60, granted / 2), () =>
        this.refresh(lifetime));}
    return granted;
  }

  /**
   * Installs or refreshes permissions for peers' IP addresses (ports are ignored).
   *
   * @param peers Peer addresses.
   * @throws {TurnError} on an error response.
   */
  // @implements RFC8656 §10.1 (RFC 5766 §9.1)
  async createPermission(...peers: TransportAddress[]): Promise<void> {
    await this.#request(StunMethod.CreatePermission, [], peers);
    for (const p of peers) this.#permissions.add(p.address);
    for (const p of peers) {
      this.#every(`permission ${p.address}`, 240, () => this.createPermission(p));
    }
  }

  /**
   * Binds a channel to a peer (and so installs its permission).
   *
   * @param peer Peer address.
   * @returns The channel number.
   * @throws {TurnError} on an error response.
   */
  // @implements RFC8656 §12.1 (RFC 5766 §11.1)
  async channelBind(peer: TransportAddress): Promise<number> {
    const key = `${peer.address}|${peer.port}`;
    const channel = this.#channels.get(key) ?? this.#nextChannel++;
    if (channel > MAX_CHANNEL) throw new RangeError("No channel numbers left");
    await this.#request(
      StunMethod.ChannelBind,
      [uint32Attribute(TurnAttr.CHANNEL_NUMBER, channel)],
      [peer],
    );
    this.#channels.set(key, channel);
    this.#byChannel.set(channel, peer);
    this.#permissions.add(peer.address);
    this.#every(`channel ${channel}`, 540, () => this.channelBind(peer));
    return channel;
  }

  /**
   * Sends data to a peer: ChannelData when a channel is bound, else a Send indication.
   *
   * @param peer Peer address (it needs a permission).
   * @param data Application data.
   */
  // @implements RFC8656 §11.1 (RFC 5766 §10.1), RFC8656 §12.5 ¶1 (RFC 5766 §11.5)
  send(peer: TransportAddress, data: Uint8Array): void {
    const channel = this.#channels.get(`${peer.address}|${peer.port}`);
    if (channel !== undefined) {
      // @implements RFC8656 §12.5 ¶3 (RFC 5766 §11.5)
      this.#stun.send(encodeChannelData(channel, data, this.#stun.reliable), this.#server);
      return;
    }
    const msg = createMessage(StunMethod.Send, StunClass.Indication);
    msg.attributes.push(
      addressAttribute(TurnAttr.XOR_PEER_ADDRESS, peer, msg.transactionId),
      { type: TurnAttr.DATA, value: data },
    );
    this.#stun.send(encodeStun(msg), this.#server);
  }

  // @implements RFC8656 §11.4 (RFC 5766 §10.4), RFC8656 §12.6 ¶5 (RFC 5766 §11.6)
  #receive(data: Uint8Array, from: TransportAddress): void {
    if (from.address !== this.#server.address || from.port !== this.#server.port) return;
    try {
      if (isChannelData(data)) {
        const { channel, data: payload } = decodeChannelData(data);
        const peer = this.#byChannel.get(channel);
        if (peer) this.onData?.(payload, peer, "channel");
        return;
      }
      const msg = decodeStun(data);
      if (
        msg.method === TurnTcpMethod.ConnectionAttempt && msg.class === StunClass.Indication
      ) {
        const peer = getAddress(msg, TurnAttr.XOR_PEER_ADDRESS);
        const id = getUint32(msg, TurnAttr.CONNECTION_ID);
        if (peer && id !== undefined) this.onConnectionAttempt?.(peer, id);
        return;
      }
      if (msg.method !== StunMethod.Data || msg.class !== StunClass.Indication) return;
      const peer = getAddress(msg, TurnAttr.XOR_PEER_ADDRESS);
      const payload = getAttribute(msg, TurnAttr.DATA);
      if (peer && payload && this.#permissions.has(peer.address)) {
        this.onData?.(payload, peer, "indication");
      }
    } catch (e) {
      log.debug("Dropped a bad datagram from the server: {error}", { error: String(e) });
    }
  }

  // === TCP allocations (RFC 6062 §4) ===

  /**
   * RFC 6062 §4.3: asks the server to open a TCP connection from the relayed address of a TCP
   * allocation to a peer, then binds a new connection to it.
   *
   * @param peer The peer.
   * @returns The data connection to the peer.
   * @throws {TurnError} on an error response (403 refused peer, 446 already connected, 447 the
   *   peer did not answer).
   */
  async connect(peer: TransportAddress): Promise<TurnDataConnection> {
    const res = await this.#request(TurnTcpMethod.Connect, [], [peer]);
    const id = getUint32(res, TurnAttr.CONNECTION_ID);
    if (id === undefined) {
      throw new TurnError("Connect response has no CONNECTION-ID", "error-response", res);
    }
    return await this.#bind(peer, id);
  }

  /**
   * RFC 6062 §4.4: takes a connection a peer opened to the relayed address (announced by
   * `onConnectionAttempt`).
   *
   * @param peer The peer, as announced.
   * @param connectionId The CONNECTION-ID, as announced.
   * @returns The data connection to the peer.
   * @throws {TurnError} on an error response (400 unknown or expired id).
   */
  accept(peer: TransportAddress, connectionId: number): Promise<TurnDataConnection> {
    return this.#bind(peer, connectionId);
  }

  // RFC 6062 §4.3-4.4: a new connection to the server, a ConnectionBind on it, then raw bytes.
  async #bind(peer: TransportAddress, id: number): Promise<TurnDataConnection> {
    const transport = this.#options.transport;
    if (transport !== "tcp" && transport !== "tls") {
      throw new TypeError("TCP allocations need a client on TCP or TLS");
    }
    const server = this.#server;
    const conn = transport === "tls"
      ? await connectTls(server.address, server.port, this.#options.caCerts)
      : await Deno.connect({ hostname: server.address, port: server.port });
    const isBound = (frame: Uint8Array) => {
      try {
        const m = decodeStun(frame);
        return m.method === TurnTcpMethod.ConnectionBind &&
          m.class === StunClass.SuccessResponse;
      } catch {
        return false;
      }
    };
    const stream = streamTransport(conn, { halt: isBound });
    const stun = StunClient.fromTransport(stream, { credentials: this.#credentials });
    try {
      const res = await stun.request(
        server,
        createMessage(TurnTcpMethod.ConnectionBind, StunClass.Request, [
          uint32Attribute(TurnAttr.CONNECTION_ID, id),
        ]),
      );
      if (res.class === StunClass.ErrorResponse) {
        const e = getErrorCode(res);
        throw new TurnError(
          `ConnectionBind failed: ${e?.code} ${e?.reason}`,
          "error-response",
          res,
        );
      }
    } catch (e) {
      await stun.close();
      throw e;
    }
    const { rest } = await stream.stopped;
    return new TurnDataConnection(peer, conn, rest);
  }

  /**
   * Deletes the allocation (Refresh with LIFETIME 0, waiting at most 2 s for the answer) and
   * closes the socket.
   */
  async close(): Promise<void> {
    this.#closing = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    if (this.#allocated) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.refresh(0).catch(() => {}), // the server may be gone
        new Promise<void>((resolve) => timer = setTimeout(resolve, 2000)),
      ]);
      clearTimeout(timer);
    }
    await this.#stun.close();
  }

  /** Same as {@linkcode TurnClient.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// === UDP adapter ===

/** Options of {@linkcode serveTurnUdp}. */
export interface ServeTurnOptions extends Omit<TurnServerOptions, "send" | "openRelay"> {
  /** Listening address (default 0.0.0.0). */
  hostname?: string;
  /** Listening port (default 3478; 0 for any). */
  port?: number;
  /** Address relays bind to (default: the listening address). */
  relayAddress?: string;
  /** Relay port range, inclusive (default: ports the system picks). */
  relayPorts?: [number, number];
  /** Relay sockets kept bound ahead of Allocate requests (default 4). */
  spareRelays?: number;
}

function bindUdp(address: string, port: number): Promise<dgram.Socket> {
  const sock = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
  return new Promise((resolve, reject) => {
    sock.once("error", (e: Error) => {
      sock.close();
      reject(e);
    });
    sock.bind(port, address, () => {
      sock.removeAllListeners("error");
      sock.on("error", (e: Error) => log.warn("Relay socket error: {error}", { error: String(e) }));
      resolve(sock);
    });
  });
}

const toAddress = (
  r: dgram.RemoteInfo | { family: string; address: string; port: number },
): TransportAddress => ({
  family: r.family === "IPv6" ? 6 : 4,
  address: r.address,
  port: r.port,
});

/**
 * Runs a {@linkcode TurnServer} on UDP: one listening socket and a pool of relay sockets bound
 * ahead of time (so that Allocate is answered synchronously). Expired allocations are swept every
 * second.
 *
 * @param options Listening address, relay ports, credentials.
 * @returns The running server; `close()` deletes all allocations.
 * @example
 * ```ts
 * import { serveTurnUdp } from "@rtclite/std/ietf/rfc5766/udp";
 * import { equal } from "node:assert/strict";
 * await using turn = await serveTurnUdp({ hostname: "127.0.0.1", port: 0, realm: "r", password: () => "p" });
 * equal(turn.address.address, "127.0.0.1");
 * ```
 */
export async function serveTurnUdp(
  options: ServeTurnOptions,
): Promise<UdpServer & { server: TurnServer }> {
  const hostname = options.hostname ?? "0.0.0.0";
  const relayAddress = options.relayAddress ?? hostname;
  const listen = await bindUdp(hostname, options.port ?? TURN_PORT);
  const spare: dgram.Socket[] = [];
  const inUse = new Set<dgram.Socket>();
  let nextPort = options.relayPorts?.[0];
  let closing = false;
  let filling = false;
  const want = options.spareRelays ?? 4;
  const evens = () => spare.filter((x) => x.address().port % 2 === 0).length;
  // Keeps `want` sockets bound, half of them on even ports (for EVEN-PORT), at most 2 * want.
  const fill = async () => {
    if (filling) return;
    filling = true;
    try {
      const [lo, hi] = options.relayPorts ?? [0, 0];
      let attempts = options.relayPorts ? hi - lo + 1 : 4 * want;
      while (
        !closing && (spare.length < want || evens() < Math.ceil(want / 2)) &&
        spare.length < 2 * want && attempts-- > 0
      ) {
        let port = 0;
        if (nextPort !== undefined) {
          port = nextPort;
          nextPort = nextPort >= hi ? lo : nextPort + 1;
        }
        try {
          spare.push(await bindUdp(relayAddress, port));
        } catch { /* port taken: try the next */ }
      }
    } finally {
      filling = false;
    }
  };
  await fill();
  const server = new TurnServer({
    ...options,
    ownAddresses: [...(options.ownAddresses ?? []), toAddress(listen.address())],
    send: (data, to) => listen.send(data, to.port, to.address),
    openRelay: (onPeer, { evenPort }) => {
      const i = spare.findIndex((s) => !evenPort || s.address().port % 2 === 0);
      const sock = i < 0 ? undefined : spare.splice(i, 1)[0];
      void fill();
      if (!sock) return undefined;
      inUse.add(sock);
      sock.on("message", (buf: Uint8Array, rinfo: dgram.RemoteInfo) => {
        onPeer(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), toAddress(rinfo));
      });
      return {
        address: toAddress(sock.address()),
        send: (data, to) => sock.send(data, to.port, to.address),
        close: () => {
          if (inUse.delete(sock)) sock.close();
        },
      };
    },
  });
  listen.on("message", (buf: Uint8Array, rinfo: dgram.RemoteInfo) => {
    server.handle(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), toAddress(rinfo));
  });
  const sweep = setInterval(() => server.tick(), 1000);
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      closing = true;
      clearInterval(sweep);
      server.close();
      for (const s of spare.splice(0)) s.close();
      await new Promise<void>((r) => listen.close(() => r()));
    })();
  return { address: toAddress(listen.address()), server, close, [Symbol.asyncDispose]: close };
}
