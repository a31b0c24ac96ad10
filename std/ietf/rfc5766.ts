// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * TURN (RFC 5766 as updated by RFC 8656): attributes, ChannelData framing, a client (Allocate with
 * long-term credentials, Refresh, CreatePermission, ChannelBind, Send and Data indications,
 * ChannelData) and a small UDP relay server.
 *
 * TURN is a STUN usage: the messages, credentials and transactions come from
 * {@link https://jsr.io/@rtclite/std/doc/ietf/rfc5389 | rfc5389}. This module adds the TURN
 * methods' attributes, the ChannelData message, {@linkcode TurnClient} (over a
 * {@linkcode StunClient} UDP socket) and {@linkcode TurnServer}, a sans-I/O server whose relay
 * sockets are supplied by {@linkcode serveTurnUdp}.
 *
 * Specifications: {@link https://www.rfc-editor.org/rfc/rfc8656 | RFC 8656} (which obsoletes
 * {@link https://www.rfc-editor.org/rfc/rfc5766 | RFC 5766}).
 *
 * Command line: `deno run -A jsr:@rtclite/std/ietf/rfc5766 -u user -p pass turn:127.0.0.1:3478`
 * allocates and prints the relayed address; `--serve 127.0.0.1:3478 -u user -p pass` runs a server.
 *
 * @example Relay between two clients through a local TURN server
 * ```ts
 * import { serveTurnUdp, TurnClient } from "@rtclite/std/ietf/rfc5766";
 * import { equal } from "node:assert/strict";
 *
 * await using server = await serveTurnUdp({
 *   hostname: "127.0.0.1", port: 0, realm: "example.org",
 *   password: (user) => user === "alice" ? "secret" : undefined,
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
// @implements RFC8656 (TURN)
import dgram from "node:dgram";
import { getLogger, parseVerbosity, setupLogging } from "../log.ts";
import {
  addressAttribute,
  createMessage,
  decodeStun,
  encodeStun,
  getAddress,
  getAttribute,
  getErrorCode,
  type HandlerResult,
  LongTermCredentials,
  type RequestContext,
  StunAttr,
  type StunAttribute,
  StunClass,
  StunClient,
  type StunMessage,
  StunMethod,
  StunParseError,
  StunServer,
  StunTransactionError,
  type TransportAddress,
  type UdpServer,
} from "./rfc5389.ts";
import { parseTurnUri, TURN_PORT, turnUriPort } from "./rfc7065.ts";
import { serverArgument, takeOption } from "../cli.ts";
export type { StunAttribute, StunMessage, TransportAddress, UdpServer } from "./rfc5389.ts";
export { StunClass, StunTransactionError } from "./rfc5389.ts";

const log = getLogger("turn");

// === Attributes (RFC 8656 §18) ===

/**
 * TURN attribute types (RFC 8656 §18).
 *
 * @example
 * ```ts
 * import { TurnAttr } from "@rtclite/std/ietf/rfc5766";
 * import { equal } from "node:assert/strict";
 * equal(TurnAttr.XOR_RELAYED_ADDRESS, 0x0016);
 * ```
 */
export const TurnAttr = {
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  EVEN_PORT: 0x0018,
  REQUESTED_TRANSPORT: 0x0019,
  DONT_FRAGMENT: 0x001a,
  RESERVATION_TOKEN: 0x0022,
  ADDITIONAL_ADDRESS_FAMILY: 0x8000,
  ADDRESS_ERROR_CODE: 0x8001,
  ICMP: 0x8004,
} as const;

/** UDP's protocol number, the only REQUESTED-TRANSPORT a UDP relay offers. */
const UDP = 17;

/**
 * Builds a 32-bit attribute: LIFETIME (seconds), or CHANNEL-NUMBER / REQUESTED-TRANSPORT /
 * REQUESTED-ADDRESS-FAMILY whose first bytes carry the value and the rest is RFFU.
 *
 * @param type One of {@linkcode TurnAttr}'s fixed-size types.
 * @param value The number.
 * @returns The attribute.
 * @example
 * ```ts
 * import { TurnAttr, uint32Attribute } from "@rtclite/std/ietf/rfc5766";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual([...uint32Attribute(TurnAttr.CHANNEL_NUMBER, 0x4001).value], [0x40, 0x01, 0, 0]);
 * deepEqual([...uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17).value], [17, 0, 0, 0]);
 * ```
 */
// @implements RFC8656 §18.1, RFC8656 §18.2, RFC8656 §18.6, RFC8656 §18.8
export function uint32Attribute(type: number, value: number): StunAttribute {
  const v = new Uint8Array(4);
  if (type === TurnAttr.CHANNEL_NUMBER) {
    v[0] = value >> 8, v[1] = value & 0xff;
  } else if (type === TurnAttr.REQUESTED_TRANSPORT || type === TurnAttr.REQUESTED_ADDRESS_FAMILY) {
    v[0] = value;
  } else new DataView(v.buffer).setUint32(0, value);
  return { type, value: v };
}

/**
 * Reads a 32-bit attribute built like {@linkcode uint32Attribute}.
 *
 * @param msg The message.
 * @param type Attribute type.
 * @returns The number, or `undefined` when absent.
 * @throws {StunParseError} when the value is not 4 bytes.
 * @example
 * ```ts
 * import { createMessage } from "@rtclite/std/ietf/rfc5389";
 * import { getUint32, TurnAttr, uint32Attribute } from "@rtclite/std/ietf/rfc5766";
 * import { equal } from "node:assert/strict";
 * const msg = createMessage(4, 0, [uint32Attribute(TurnAttr.LIFETIME, 600)]);
 * equal(getUint32(msg, TurnAttr.LIFETIME), 600);
 * ```
 */
export function getUint32(msg: StunMessage, type: number): number | undefined {
  const v = getAttribute(msg, type);
  if (!v) return undefined;
  if (v.length !== 4) {
    throw new StunParseError(
      `Cannot decode attribute 0x${type.toString(16)}: ${v.length} bytes, expected 4`,
      0,
    );
  }
  if (type === TurnAttr.CHANNEL_NUMBER) return (v[0]! << 8) | v[1]!;
  if (type === TurnAttr.REQUESTED_TRANSPORT || type === TurnAttr.REQUESTED_ADDRESS_FAMILY) {
    return v[0]!;
  }
  return new DataView(v.buffer, v.byteOffset, 4).getUint32(0);
}

// === ChannelData (RFC 8656 §12.4-12.6) ===

/** Lowest channel number (RFC 8656 §12). */
export const MIN_CHANNEL = 0x4000;
/** Highest channel number a client picks (RFC 8656 §12: 0x4000 through 0x4FFF). */
export const MAX_CHANNEL = 0x4fff;
/**
 * Highest channel number accepted: RFC 5766 allowed up to 0x7FFF and deployed clients (coturn's
 * among them) still use that range, so it is accepted for interoperability.
 */
const MAX_CHANNEL_RFC5766 = 0x7fff;

/**
 * Tells whether a datagram is a ChannelData message by its first byte (0x40-0x7F: RFC 8656 §12.6
 * with RFC 5766's wider channel range).
 *
 * @param data A received datagram.
 * @returns `true` for a ChannelData message.
 * @example
 * ```ts
 * import { isChannelData } from "@rtclite/std/ietf/rfc5766";
 * import { equal } from "node:assert/strict";
 * equal(isChannelData(Uint8Array.of(0x40, 0, 0, 0)), true);
 * equal(isChannelData(Uint8Array.of(0x00, 1, 0, 0)), false);
 * ```
 */
export function isChannelData(data: Uint8Array): boolean {
  return data.length >= 4 && (data[0]! & 0xc0) === 0x40;
}

/**
 * Encodes a ChannelData message.
 *
 * @param channel Channel number, 0x4000..0x4FFF.
 * @param data Application data (0 bytes is valid).
 * @param pad Pad to a multiple of 4 (required over TCP, optional over UDP).
 * @returns The message.
 * @example
 * ```ts
 * import { encodeChannelData } from "@rtclite/std/ietf/rfc5766";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual([...encodeChannelData(0x4001, Uint8Array.of(1, 2, 3))], [0x40, 1, 0, 3, 1, 2, 3]);
 * ```
 */
// @implements RFC8656 §12.4, RFC8656 §12.5 ¶3
export function encodeChannelData(channel: number, data: Uint8Array, pad = false): Uint8Array {
  if (channel < MIN_CHANNEL || channel > MAX_CHANNEL_RFC5766) {
    throw new RangeError(`Invalid channel number: 0x${channel.toString(16)}`);
  }
  if (data.length > 0xffff) throw new RangeError(`ChannelData too long: ${data.length} bytes`);
  const out = new Uint8Array(pad ? (4 + data.length + 3) & ~3 : 4 + data.length);
  out[0] = channel >> 8,
    out[1] = channel & 0xff,
    out[2] = data.length >> 8,
    out[3] = data.length & 0xff;
  out.set(data, 4);
  return out;
}

/**
 * Decodes a ChannelData message.
 *
 * @param buf The datagram.
 * @returns The channel number and a view of the application data (padding ignored).
 * @throws {StunParseError} for a reserved channel number or a length beyond the datagram.
 * @example
 * ```ts
 * import { decodeChannelData } from "@rtclite/std/ietf/rfc5766";
 * import { equal } from "node:assert/strict";
 * const { channel, data } = decodeChannelData(Uint8Array.of(0x40, 2, 0, 1, 9, 0, 0, 0));
 * equal(channel, 0x4002);
 * equal(data.length, 1);
 * ```
 */
// @implements RFC8656 §12.6 ¶1-2
export function decodeChannelData(buf: Uint8Array): { channel: number; data: Uint8Array } {
  if (buf.length < 4) {
    throw new StunParseError(
      `Cannot decode ChannelData: ${buf.length} bytes, expected at least 4`,
      0,
    );
  }
  const channel = (buf[0]! << 8) | buf[1]!;
  if (channel < MIN_CHANNEL || channel > MAX_CHANNEL_RFC5766) {
    throw new StunParseError(
      `Cannot decode ChannelData: channel 0x${channel.toString(16)} is not 0x4000..0x7FFF`,
      0,
    );
  }
  const len = (buf[2]! << 8) | buf[3]!;
  if (4 + len > buf.length) {
    throw new StunParseError(
      `Cannot decode ChannelData: length ${len} overruns the ${buf.length - 4} bytes`,
      2,
    );
  }
  return { channel, data: buf.subarray(4, 4 + len) };
}

// === Client (RFC 8656 §7.1, §8.1, §10.1, §11.1, §11.4, §12.1) ===

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

/** A TURN request that got an error response. */
export class TurnError extends StunTransactionError {}

/**
 * A TURN client on one UDP socket. Data from peers arrives through `onData`, from Data
 * indications or ChannelData. Permissions, channels and the allocation are refreshed before they
 * expire unless `autoRefresh` is false.
 *
 * @example See the module example; the client needs a TURN server.
 * ```ts
 * import { TurnClient } from "@rtclite/std/ietf/rfc5766";
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
  /** The current allocation. */
  allocation: Allocation | undefined;
  /** Receives data from peers: the bytes, the peer, and how it came. */
  onData:
    | ((data: Uint8Array, peer: TransportAddress, via: "indication" | "channel") => void)
    | undefined;

  private constructor(stun: StunClient, options: TurnClientOptions) {
    this.#stun = stun;
    this.#server = options.server;
    this.#auto = options.autoRefresh ?? true;
    stun.onMessage = (data, from) => this.#receive(data, from);
  }

  /**
   * Opens the client's UDP socket.
   *
   * @param options Server, credentials, local address.
   * @returns The client (not yet allocated).
   */
  static async open(options: TurnClientOptions): Promise<TurnClient> {
    const { server: _, username, password, sha256, autoRefresh: __, ...rest } = options;
    const credentials = new LongTermCredentials({
      username,
      password,
      ...(sha256 ? { sha256 } : {}),
    });
    const stun = await StunClient.open({
      family: options.server.family,
      ...(options.server.address.startsWith("127.") && !rest.hostname
        ? { hostname: "127.0.0.1" }
        : {}),
      ...rest,
      credentials,
    });
    return new TurnClient(stun, options);
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
   * Allocates a relayed transport address (UDP) with long-term credentials.
   *
   * @param lifetime Requested lifetime in seconds (server default when omitted).
   * @returns The relayed and mapped addresses and the granted lifetime.
   * @throws {TurnError} on an error response (e.g. 437, 441, 486).
   */
  // @implements RFC8656 §7.1, RFC8656 §7.3
  async allocate(lifetime?: number): Promise<Allocation> {
    const attrs = [uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, UDP)];
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
  // @implements RFC8656 §8.1
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
  // @implements RFC8656 §10.1
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
  // @implements RFC8656 §12.1
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
  // @implements RFC8656 §11.1, RFC8656 §12.5 ¶1
  send(peer: TransportAddress, data: Uint8Array): void {
    const channel = this.#channels.get(`${peer.address}|${peer.port}`);
    if (channel !== undefined) {
      this.#stun.send(encodeChannelData(channel, data), this.#server);
      return;
    }
    const msg = createMessage(StunMethod.Send, StunClass.Indication);
    msg.attributes.push(
      addressAttribute(TurnAttr.XOR_PEER_ADDRESS, peer, msg.transactionId),
      { type: TurnAttr.DATA, value: data },
    );
    this.#stun.send(encodeStun(msg), this.#server);
  }

  // @implements RFC8656 §11.4, RFC8656 §12.6 ¶5
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

// === Server (RFC 8656 §5-12) ===

/** A relay socket: the relayed transport address of one allocation. */
export interface Relay {
  /** The relayed transport address. */
  readonly address: TransportAddress;
  /** Sends a UDP datagram to a peer from the relayed address. */
  send(data: Uint8Array, to: TransportAddress): void;
  /** Releases the socket. */
  close(): void;
}

/** Options of {@linkcode TurnServer}. */
export interface TurnServerOptions {
  /** Realm of the long-term credentials. */
  realm: string;
  /** Returns a user's password, or `undefined` for an unknown user. */
  password(username: string): string | undefined;
  /** Sends a datagram to a client from the server's listening address. */
  send(data: Uint8Array, to: TransportAddress): void;
  /**
   * Opens a relay synchronously, calling `onPeer` for each datagram it receives; `undefined` when
   * none is free (the client gets 508).
   */
  openRelay(
    onPeer: (data: Uint8Array, from: TransportAddress) => void,
    options: { evenPort: boolean },
  ): Relay | undefined;
  /** SOFTWARE for responses (default "rtclite"). */
  software?: string;
  /** Offer PASSWORD-ALGORITHMS (SHA-256). */
  passwordAlgorithms?: boolean;
  /** Default allocation lifetime in s (600). */
  defaultLifetime?: number;
  /** Maximum allocation lifetime in s (3600). */
  maxLifetime?: number;
  /** Allocations per username (10). */
  quota?: number;
  /** Clock (ms), default `Date.now`. */
  now?: () => number;
}

interface AllocationState {
  client: TransportAddress;
  username: string;
  relay: Relay;
  expires: number;
  permissions: Map<string, number>; // peer IP -> expiry
  channels: Map<number, { peer: TransportAddress; expires: number }>;
  peerChannels: Map<string, number>; // "ip|port" -> channel
}

const PERMISSION_LIFETIME = 300_000;
const CHANNEL_LIFETIME = 600_000;
const TURN_KNOWN = [
  TurnAttr.CHANNEL_NUMBER,
  TurnAttr.LIFETIME,
  TurnAttr.XOR_PEER_ADDRESS,
  TurnAttr.DATA,
  TurnAttr.REQUESTED_ADDRESS_FAMILY,
  TurnAttr.REQUESTED_TRANSPORT,
  TurnAttr.EVEN_PORT,
];

const tupleKey = (a: TransportAddress) => `${a.address}|${a.port}`;

/**
 * A TURN server for UDP allocations, sans-I/O apart from the relay sockets and the send function
 * it is given. Requests are authenticated with long-term credentials (through
 * {@linkcode StunServer}); Binding stays open. Permissions last 300 s, channels 600 s.
 *
 * @example Allocate through the server with in-memory relays
 * ```ts
 * import { createMessage, decodeStun, encodeStun, getErrorCode, StunClass, StunMethod } from "@rtclite/std/ietf/rfc5389";
 * import { TurnServer } from "@rtclite/std/ietf/rfc5766";
 * import { equal } from "node:assert/strict";
 * const sent: Uint8Array[] = [];
 * const server = new TurnServer({
 *   realm: "example.org", password: () => "pw", send: (d) => sent.push(d),
 *   openRelay: () => ({ address: { family: 4, address: "192.0.2.9", port: 50000 }, send() {}, close() {} }),
 * });
 * server.handle(encodeStun(createMessage(StunMethod.Allocate, StunClass.Request)), { family: 4, address: "192.0.2.1", port: 1 });
 * equal(getErrorCode(decodeStun(sent[0]!))?.code, 401);
 * ```
 */
export class TurnServer {
  #opts: TurnServerOptions;
  #stun: StunServer;
  #allocations = new Map<string, AllocationState>();
  #now: () => number;

  /**
   * Creates a server.
   *
   * @param options Credentials, relay factory, send function, limits.
   */
  constructor(options: TurnServerOptions) {
    this.#opts = options;
    this.#now = options.now ?? Date.now;
    const h = (fn: (ctx: RequestContext) => HandlerResult | undefined) => fn;
    this.#stun = new StunServer({
      software: options.software ?? "rtclite",
      now: this.#now,
      auth: {
        mechanism: "long-term",
        realm: options.realm,
        password: options.password,
        ...(options.passwordAlgorithms ? { passwordAlgorithms: true } : {}),
      },
      // @implements RFC8656 §5 ¶3
      authenticate: (method) => method !== StunMethod.Binding,
      knownAttributes: TURN_KNOWN,
      handlers: {
        [StunMethod.Allocate]: h((ctx) => this.#allocate(ctx)),
        [StunMethod.Refresh]: h((ctx) => this.#refresh(ctx)),
        [StunMethod.CreatePermission]: h((ctx) => this.#createPermission(ctx)),
        [StunMethod.ChannelBind]: h((ctx) => this.#channelBind(ctx)),
        [StunMethod.Send]: h((ctx) => this.#sendIndication(ctx)),
      },
    });
  }

  /** Number of live allocations. */
  get allocations(): number {
    return this.#allocations.size;
  }

  /**
   * Processes a datagram from a client (STUN or ChannelData); replies go through `send`.
   *
   * @param data The datagram.
   * @param from The client's address.
   */
  handle(data: Uint8Array, from: TransportAddress): void {
    if (isChannelData(data)) return this.#channelData(data, from);
    const reply = this.#stun.handle(data, from);
    if (reply) this.#opts.send(reply, from);
  }

  /**
   * Expires allocations, permissions and channels whose time is up.
   *
   * @param now Current time in ms (default: the clock).
   */
  tick(now: number = this.#now()): void {
    for (const [key, a] of this.#allocations) {
      if (a.expires <= now) {
        this.#delete(key);
        continue;
      }
      for (const [ip, exp] of a.permissions) if (exp <= now) a.permissions.delete(ip);
      for (const [ch, c] of a.channels) {
        if (c.expires <= now) {
          a.channels.delete(ch);
          a.peerChannels.delete(tupleKey(c.peer));
        }
      }
    }
  }

  /** Deletes every allocation. */
  close(): void {
    for (const key of [...this.#allocations.keys()]) this.#delete(key);
  }

  #delete(key: string): void {
    const a = this.#allocations.get(key);
    if (!a) return;
    this.#allocations.delete(key);
    a.relay.close();
    log.debug("Deleted allocation {relay}", { relay: tupleKey(a.relay.address) });
  }

  #live(from: TransportAddress, now: number): AllocationState | undefined {
    const a = this.#allocations.get(tupleKey(from));
    return a && a.expires > now ? a : undefined;
  }

  #lifetime(msg: StunMessage): number {
    const asked = getUint32(msg, TurnAttr.LIFETIME) ?? this.#opts.defaultLifetime ?? 600;
    return Math.min(
      Math.max(asked, this.#opts.defaultLifetime ?? 600),
      this.#opts.maxLifetime ?? 3600,
    );
  }

  // @implements RFC8656 §7.2
  #allocate(ctx: RequestContext): HandlerResult {
    const { message: msg, from, now } = ctx;
    if (this.#live(from, now)) return { error: 437 };
    const transport = getUint32(msg, TurnAttr.REQUESTED_TRANSPORT);
    if (transport === undefined) return { error: 400, reason: "REQUESTED-TRANSPORT is missing" };
    if (transport !== UDP) return { error: 442 };
    const family = getUint32(msg, TurnAttr.REQUESTED_ADDRESS_FAMILY);
    if (family !== undefined && family !== 1) return { error: 440 };
    const user = ctx.username ?? "";
    const mine = [...this.#allocations.values()].filter((a) => a.username === user).length;
    if (mine >= (this.#opts.quota ?? 10)) return { error: 486 };
    // Step 8 of RFC 8656 §7.2: an even port, without reserving the next one.
    const even = getAttribute(msg, TurnAttr.EVEN_PORT);
    if (even && (even[0] ?? 0) & 0x80) {
      return { error: 508, reason: "Port reservation not supported" };
    }
    const key = tupleKey(from);
    const relay = this.#opts.openRelay((data, peer) => this.#fromPeer(key, data, peer), {
      evenPort: even !== undefined,
    });
    if (!relay) return { error: 508 };
    const lifetime = this.#lifetime(msg);
    this.#allocations.set(key, {
      client: from,
      username: user,
      relay,
      expires: now + lifetime * 1000,
      permissions: new Map(),
      channels: new Map(),
      peerChannels: new Map(),
    });
    log.debug("Allocated {relay} for {client}", { relay: tupleKey(relay.address), client: key });
    return {
      attributes: [
        addressAttribute(TurnAttr.XOR_RELAYED_ADDRESS, relay.address, msg.transactionId),
        uint32Attribute(TurnAttr.LIFETIME, lifetime),
        addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, from, msg.transactionId),
      ],
    };
  }

  // @implements RFC8656 §8.2
  #refresh(ctx: RequestContext): HandlerResult {
    const a = this.#live(ctx.from, ctx.now);
    if (!a) return { error: 437 };
    if (a.username !== ctx.username) return { error: 441 };
    const asked = getUint32(ctx.message, TurnAttr.LIFETIME);
    if (asked === 0) {
      this.#delete(tupleKey(ctx.from));
      return { attributes: [uint32Attribute(TurnAttr.LIFETIME, 0)] };
    }
    const lifetime = this.#lifetime(ctx.message);
    a.expires = ctx.now + lifetime * 1000;
    return { attributes: [uint32Attribute(TurnAttr.LIFETIME, lifetime)] };
  }

  #peers(msg: StunMessage): TransportAddress[] | undefined {
    const out: TransportAddress[] = [];
    for (const attr of msg.attributes) {
      if (attr.type !== TurnAttr.XOR_PEER_ADDRESS) continue;
      out.push(getAddress({ ...msg, attributes: [attr] }, TurnAttr.XOR_PEER_ADDRESS)!);
    }
    return out.length ? out : undefined;
  }

  // @implements RFC8656 §10.2
  #createPermission(ctx: RequestContext): HandlerResult {
    const a = this.#live(ctx.from, ctx.now);
    if (!a) return { error: 437 };
    if (a.username !== ctx.username) return { error: 441 };
    const peers = this.#peers(ctx.message);
    if (!peers) return { error: 400, reason: "XOR-PEER-ADDRESS is missing" };
    if (peers.some((p) => p.family !== a.relay.address.family)) return { error: 443 };
    for (const p of peers) a.permissions.set(p.address, ctx.now + PERMISSION_LIFETIME);
    return { attributes: [] };
  }

  // @implements RFC8656 §12.2
  #channelBind(ctx: RequestContext): HandlerResult {
    const a = this.#live(ctx.from, ctx.now);
    if (!a) return { error: 437 };
    if (a.username !== ctx.username) return { error: 441 };
    const channel = getUint32(ctx.message, TurnAttr.CHANNEL_NUMBER);
    const peer = this.#peers(ctx.message)?.[0];
    if (channel === undefined || !peer) {
      return { error: 400, reason: "CHANNEL-NUMBER and XOR-PEER-ADDRESS are required" };
    }
    if (channel < MIN_CHANNEL || channel > MAX_CHANNEL_RFC5766) {
      return { error: 400, reason: "Channel number out of range" };
    }
    if (peer.family !== a.relay.address.family) return { error: 443 };
    const bound = a.channels.get(channel);
    const peerChannel = a.peerChannels.get(tupleKey(peer));
    if (
      (bound && tupleKey(bound.peer) !== tupleKey(peer)) ||
      (peerChannel !== undefined && peerChannel !== channel)
    ) {
      return { error: 400, reason: "Channel or peer already bound" };
    }
    a.channels.set(channel, { peer, expires: ctx.now + CHANNEL_LIFETIME });
    a.peerChannels.set(tupleKey(peer), channel);
    a.permissions.set(peer.address, ctx.now + PERMISSION_LIFETIME);
    return { attributes: [] };
  }

  // @implements RFC8656 §11.2
  #sendIndication(ctx: RequestContext): undefined {
    const a = this.#live(ctx.from, ctx.now);
    const peer = getAddress(ctx.message, TurnAttr.XOR_PEER_ADDRESS);
    const data = getAttribute(ctx.message, TurnAttr.DATA);
    if (!a || !peer || !data) return undefined;
    if ((a.permissions.get(peer.address) ?? 0) <= ctx.now) return undefined;
    a.relay.send(data, peer);
    return undefined;
  }

  // @implements RFC8656 §12.6 ¶4, RFC8656 §12.6 ¶6
  #channelData(data: Uint8Array, from: TransportAddress): void {
    const now = this.#now();
    const a = this.#live(from, now);
    if (!a) return;
    let frame: { channel: number; data: Uint8Array };
    try {
      frame = decodeChannelData(data);
    } catch {
      return;
    }
    const c = a.channels.get(frame.channel);
    if (!c || c.expires <= now) return;
    a.relay.send(frame.data, c.peer);
  }

  // @implements RFC8656 §11.3, RFC8656 §12.7
  #fromPeer(key: string, data: Uint8Array, peer: TransportAddress): void {
    const now = this.#now();
    const a = this.#allocations.get(key);
    if (!a || a.expires <= now) return;
    if ((a.permissions.get(peer.address) ?? 0) <= now) return;
    const channel = a.peerChannels.get(tupleKey(peer));
    if (channel !== undefined && (a.channels.get(channel)?.expires ?? 0) > now) {
      this.#opts.send(encodeChannelData(channel, data), a.client);
      return;
    }
    const msg = createMessage(StunMethod.Data, StunClass.Indication);
    msg.attributes.push(addressAttribute(TurnAttr.XOR_PEER_ADDRESS, peer, msg.transactionId), {
      type: TurnAttr.DATA,
      value: data,
    });
    this.#opts.send(encodeStun(msg), a.client);
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
 * import { serveTurnUdp } from "@rtclite/std/ietf/rfc5766";
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

// === Command line ===

/** Parses `turn:host[:port]` or a plain `host[:port]` into host and port. */
function parseServer(text: string): { host: string; port: number } {
  return serverArgument(text, /^turns?:/i, (t) => {
    const uri = parseTurnUri(t);
    return { host: uri.host, port: turnUriPort(uri) };
  }, TURN_PORT);
}

async function main(argv: string[]): Promise<number> {
  const { level, args } = parseVerbosity(argv);
  await setupLogging(level === "info" ? "warning" : level);
  const opt = (name: string) => takeOption(args, name);
  const serve = opt("--serve");
  const user = opt("-u"), pass = opt("-p"), realm = opt("--realm"), ports = opt("--relay-ports");
  if (!user || !pass || (serve === undefined && args.length !== 1)) {
    console.error(
      "Usage: rfc5766.ts [-v|-q] -u user -p pass turn:host[:port]    allocate, print the relayed address\n" +
        "       rfc5766.ts -u user -p pass [--realm r] [--relay-ports lo-hi] --serve host:port",
    );
    return 2;
  }
  if (serve !== undefined) {
    const { host, port } = parseServer(serve);
    const range = ports?.split("-").map(Number) as [number, number] | undefined;
    const turn = await serveTurnUdp({
      hostname: host,
      port,
      realm: realm ?? "rtclite",
      password: (u) => u === user ? pass : undefined,
      ...(range ? { relayPorts: range } : {}),
    });
    console.log(`TURN server on ${turn.address.address}:${turn.address.port}`);
    await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
    await turn.close();
    return 0;
  }
  const { host, port } = parseServer(args[0]!);
  const family = host.includes(":") ? 6 : 4;
  const client = await TurnClient.open({
    server: { family, address: host, port },
    username: user,
    password: pass,
    rc: 4,
    autoRefresh: false,
  });
  try {
    const { relayed, mapped } = await client.allocate();
    const fmt = (a: TransportAddress) =>
      a.family === 6 ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
    console.log(`relayed ${fmt(relayed)}${mapped ? ` mapped ${fmt(mapped)}` : ""}`);
    return 0;
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 1;
  } finally {
    await client.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
