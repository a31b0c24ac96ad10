// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * TURN: this module implements RFC 5766 as updated by RFC 8656, which obsoletes it. Section
 * numbers in the code are RFC 8656's; where RFC 5766 numbers the same text differently, its
 * section is given beside (`// @implements RFC8656 §7.2 (RFC 5766 §6.2)`): general behavior §5
 * (5766: §4), allocations §6-§8 (§5-§7), permissions §9-§10 (§8-§9), Send and Data §11 (§10),
 * channels §12 (§11), attributes §18.x (§14.x; REQUESTED-ADDRESS-FAMILY comes from RFC 6156,
 * ADDITIONAL-ADDRESS-FAMILY, ADDRESS-ERROR-CODE and ICMP are new), error codes §19 (§15).
 *
 * TURN is a STUN usage: the messages, credentials and transactions come from
 * {@link https://jsr.io/@rtclite/std/doc/ietf/rfc5389 | rfc5389}. This pure module adds the TURN
 * methods' attributes, the ChannelData message and {@linkcode TurnServer}, a sans-I/O server whose
 * relay sockets and send function are given to it; it also serves clients on TCP and TLS
 * connections and the TCP allocations of RFC 6062 (Connect, ConnectionBind, ConnectionAttempt,
 * CONNECTION-ID). The UDP adapters are in `@rtclite/std/ietf/rfc5766/udp` (`TurnClient`, on UDP,
 * TCP or TLS, and `serveTurnUdp`), the TCP and TLS listener and the TCP relays in
 * `@rtclite/std/ietf/rfc5766/tcp` (`serveTurnTcp`, `tcpRelays`), the command line in
 * `@rtclite/std/ietf/rfc5766/main`.
 *
 * Security defaults of the server (RFC 8656 §21): every request but Binding authenticates with
 * long-term credentials, and no message without the magic cookie is accepted (an RFC 3489 header
 * would otherwise skip authentication); peers must be public addresses ({@linkcode PeerPolicy}:
 * loopback, unspecified, broadcast, multicast, reserved, private and link-local peers and the
 * server's own addresses get 403, unless allowed by option); allocations are capped per user
 * (`quota`, 10: 486) and in total (`maxAllocations`, 1000: 508), permissions per allocation
 * (`maxPermissions`, 1000: 508), RFC 6062 peer connections per allocation
 * (`maxPeerConnections`, 100); unrefreshed allocations expire (600 s by default, 3600 s at most),
 * and an allocation made on a connection ends with it.
 *
 * Specifications: {@link https://www.rfc-editor.org/rfc/rfc8656 | RFC 8656} (which obsoletes
 * {@link https://www.rfc-editor.org/rfc/rfc5766 | RFC 5766}).
 *
 * Command line: `deno run -A std/ietf/rfc5766/main.ts -u user -p pass turn:127.0.0.1:3478`
 * allocates and prints the relayed address; `--serve 127.0.0.1:3478 -u user -p pass` runs a server.
 *
 * @example Frame application data for a channel, and read it back
 * ```ts
 * import { decodeChannelData, encodeChannelData, isChannelData } from "@rtclite/std/ietf/rfc5766";
 * import { equal } from "node:assert/strict";
 *
 * const frame = encodeChannelData(0x4001, new TextEncoder().encode("hello"));
 * equal(isChannelData(frame), true);
 * const { channel, data } = decodeChannelData(frame);
 * equal(channel, 0x4001);
 * equal(new TextDecoder().decode(data), "hello");
 * ```
 *
 * @module
 */
// @implements RFC8656 (TURN)
import { getLogger } from "../../log.ts";
import {
  addressAttribute,
  createMessage,
  encodeStun,
  getAddress,
  getAttribute,
  type HandlerResult,
  type RequestContext,
  StunAttr,
  type StunAttribute,
  StunClass,
  type StunMessage,
  StunMethod,
  StunParseError,
  StunServer,
  StunTransactionError,
  type TransportAddress,
} from "../rfc5389/mod.ts";
import { peerAddressClass, PeerPolicy, type PeerPolicyOptions } from "./peers.ts";
export type { StunAttribute, StunMessage, TransportAddress } from "../rfc5389/mod.ts";
export { StunClass, StunTransactionError } from "../rfc5389/mod.ts";
export * from "./peers.ts";

const log = getLogger("turn");

// === Attributes (RFC 8656 §18; RFC 5766 §14) ===

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
  /** RFC 6062 §6.2.1: identifies a peer data connection of a TCP allocation. */
  CONNECTION_ID: 0x002a,
} as const;

/**
 * The methods of TCP allocations (RFC 6062 §6.1), beside STUN's and TURN's in `StunMethod`.
 *
 * @example
 * ```ts
 * import { TurnTcpMethod } from "@rtclite/std/ietf/rfc5766";
 * import { equal } from "node:assert/strict";
 * equal(TurnTcpMethod.ConnectionBind, 0x00b);
 * ```
 */
export const TurnTcpMethod = {
  /** Client to server: open a TCP connection from the relayed address to a peer. */
  Connect: 0x00a,
  /** Client to server, on a new connection: make it the data connection of a peer connection. */
  ConnectionBind: 0x00b,
  /** Server to client (indication): a peer connected to the relayed address. */
  ConnectionAttempt: 0x00c,
} as const;

/** UDP's protocol number, the REQUESTED-TRANSPORT of a UDP allocation. */
const UDP = 17;
/** TCP's protocol number, the REQUESTED-TRANSPORT of a TCP allocation (RFC 6062 §6.2). */
const TCP = 6;

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
// @implements RFC8656 §18.1 (RFC 5766 §14.1), RFC8656 §18.2 (RFC 5766 §14.2)
// @implements RFC8656 §18.6 (from RFC 6156), RFC8656 §18.8 (RFC 5766 §14.7)
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

/**
 * Builds an EVEN-PORT attribute: the relayed port must be even, and with `reserve` the server
 * should keep the next port for a later allocation (the R bit).
 *
 * @param reserve Ask for the next-higher port to be reserved.
 * @returns The 1-byte attribute (padded on the wire).
 * @example
 * ```ts
 * import { evenPortAttribute } from "@rtclite/std/ietf/rfc5766";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual([...evenPortAttribute(true).value], [0x80]);
 * ```
 */
// @implements RFC8656 §18.7 (RFC 5766 §14.6)
export function evenPortAttribute(reserve: boolean): StunAttribute {
  return { type: TurnAttr.EVEN_PORT, value: Uint8Array.of(reserve ? 0x80 : 0) };
}

/**
 * Reads EVEN-PORT (the RFFU bits are ignored).
 *
 * @param msg The message.
 * @returns `{ reserve }` (the R bit), or `undefined` when absent.
 * @throws {StunParseError} when the value is not 1 byte.
 * @example
 * ```ts
 * import { createMessage } from "@rtclite/std/ietf/rfc5389";
 * import { evenPortAttribute, getEvenPort } from "@rtclite/std/ietf/rfc5766";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(getEvenPort(createMessage(3, 0, [evenPortAttribute(false)])), { reserve: false });
 * ```
 */
export function getEvenPort(msg: StunMessage): { reserve: boolean } | undefined {
  const v = getAttribute(msg, TurnAttr.EVEN_PORT);
  if (!v) return undefined;
  if (v.length !== 1) {
    throw new StunParseError(`Cannot decode EVEN-PORT: ${v.length} bytes, expected 1`, 0);
  }
  return { reserve: (v[0]! & 0x80) !== 0 };
}

// === ChannelData (RFC 8656 §12.4-12.6; RFC 5766 §11.4-11.6) ===

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
// @implements RFC8656 §12.4 (RFC 5766 §11.4), RFC8656 §12.5 ¶3 (RFC 5766 §11.5)
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
// @implements RFC8656 §12.6 ¶1-2 (RFC 5766 §11.6)
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

/** A TURN request that got an error response. */
export class TurnError extends StunTransactionError {}

// === Server (RFC 8656 §5-12; RFC 5766 §4-11) ===

/** A relay socket: the relayed transport address of one allocation. */
export interface Relay {
  /** The relayed transport address. */
  readonly address: TransportAddress;
  /** Sends a UDP datagram to a peer from the relayed address. */
  send(data: Uint8Array, to: TransportAddress): void;
  /** Releases the socket. */
  close(): void;
}

/**
 * A client's TCP or TLS connection to the server (RFC 8656 §3.1: the server converts between it
 * and UDP to the peers), as the adapter passes it to {@linkcode TurnServer.handle}. Allocations
 * made on a connection end when it closes ({@linkcode TurnServer.disconnected}).
 */
export interface TurnConnection {
  /** Writes bytes to the client: a STUN message, or ChannelData padded to 4 bytes. */
  send(data: Uint8Array): void;
  /**
   * RFC 6062: this connection becomes the client data connection of `peer`. The adapter sends the
   * ConnectionBind response, stops reading STUN after that message and relays bytes both ways.
   */
  bind?(peer: PeerConnection): void;
}

/** RFC 6062: a TCP connection between a relayed address and a peer (a peer data connection). */
export interface PeerConnection {
  /** The peer's transport address. */
  readonly peer: TransportAddress;
  /** Whether the connection has ended. */
  readonly closed: boolean;
  /** Closes it. */
  close(): void;
}

/** RFC 6062: the relayed transport address of a TCP allocation, listening for peers. */
export interface TcpRelay {
  /** The relayed transport address. */
  readonly address: TransportAddress;
  /** Opens a TCP connection to a peer; rejects when it fails or times out. */
  connect(peer: TransportAddress): Promise<PeerConnection>;
  /** Stops listening (connections already bound carry on). */
  close(): void;
}

/**
 * Options of {@linkcode TurnServer}. The peer options (`allowLoopbackPeers`, `allowPrivatePeers`,
 * `allowedPeers`, `deniedPeers`) are {@linkcode PeerPolicy}'s: by default only public peers.
 */
export interface TurnServerOptions extends PeerPolicyOptions {
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
  /**
   * RFC 6062: opens the listening socket of a TCP allocation, calling `onPeer` for each peer that
   * connects to it; `undefined` when none is free (508). Without it, TCP allocations get 442.
   */
  openTcpRelay?(onPeer: (conn: PeerConnection) => void): TcpRelay | undefined;
  /** SOFTWARE for responses (default "rtclite"). */
  software?: string;
  /** Offer PASSWORD-ALGORITHMS (SHA-256). */
  passwordAlgorithms?: boolean;
  /** Default allocation lifetime in s (600). */
  defaultLifetime?: number;
  /** Maximum allocation lifetime in s (3600). */
  maxLifetime?: number;
  /** Allocations per username (10); beyond it Allocate gets 486 (Allocation Quota Reached). */
  quota?: number;
  /** Allocations in total (1000); beyond it Allocate gets 508 (Insufficient Capacity). */
  maxAllocations?: number;
  /**
   * Permissions per allocation (1000); a CreatePermission or ChannelBind that would need more
   * gets 508 (RFC 8656 §10.2 ¶2).
   */
  maxPermissions?: number;
  /**
   * RFC 6062: peer connections per TCP allocation, open or waiting for a ConnectionBind (100);
   * beyond it Connect gets 508 and connections from peers are closed at once.
   */
  maxPeerConnections?: number;
  /**
   * The server's own listening addresses: never relayed to, whatever the peer policy (a client
   * relaying to the server itself would make a loop or a request from the relay's address).
   */
  ownAddresses?: readonly TransportAddress[];
  /** Clock (ms), default `Date.now`. */
  now?: () => number;
}

interface AllocationState {
  client: TransportAddress;
  conn: TurnConnection | undefined;
  username: string;
  relay: { readonly address: TransportAddress; close(): void };
  udp: Relay | undefined;
  tcp: TcpRelay | undefined;
  peerConnections: Map<string, PeerConnection>; // "ip|port" -> connection (RFC 6062)
  expires: number;
  permissions: Map<string, number>; // peer IP -> expiry
  channels: Map<number, { peer: TransportAddress; expires: number }>;
  peerChannels: Map<string, number>; // "ip|port" -> channel
}

const PERMISSION_LIFETIME = 300_000;
/** RFC 6062 §5.2-5.3: a peer connection not bound within 30 s is closed. */
const BIND_TIMEOUT = 30_000;
const CHANNEL_LIFETIME = 600_000;
const TURN_KNOWN = [
  TurnAttr.CHANNEL_NUMBER,
  TurnAttr.LIFETIME,
  TurnAttr.XOR_PEER_ADDRESS,
  TurnAttr.DATA,
  TurnAttr.REQUESTED_ADDRESS_FAMILY,
  TurnAttr.REQUESTED_TRANSPORT,
  TurnAttr.EVEN_PORT,
  TurnAttr.CONNECTION_ID,
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
  #peers: PeerPolicy;
  #own: TransportAddress[];
  /** The connection the message being handled came on. */
  #conn: TurnConnection | undefined;
  /** RFC 6062: peer data connections waiting for a ConnectionBind. */
  #pending = new Map<number, { key: string; peer: PeerConnection; expires: number }>();

  /**
   * Creates a server.
   *
   * @param options Credentials, relay factory, send function, limits.
   */
  constructor(options: TurnServerOptions) {
    this.#opts = options;
    this.#now = options.now ?? Date.now;
    this.#peers = new PeerPolicy(options);
    this.#own = [...(options.ownAddresses ?? [])];
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
      // @implements RFC8656 §5 ¶3 (RFC 5766 §4)
      authenticate: (method) => method !== StunMethod.Binding,
      // No RFC 3489 messages: without the magic cookie a request would escape authentication.
      // @implements RFC8656 §5 ¶14
      classic: false,
      knownAttributes: TURN_KNOWN,
      handlers: {
        [StunMethod.Allocate]: h((ctx) => this.#allocate(ctx)),
        [StunMethod.Refresh]: h((ctx) => this.#refresh(ctx)),
        [StunMethod.CreatePermission]: h((ctx) => this.#createPermission(ctx)),
        [StunMethod.ChannelBind]: h((ctx) => this.#channelBind(ctx)),
        [StunMethod.Send]: h((ctx) => this.#sendIndication(ctx)),
        [TurnTcpMethod.Connect]: (ctx) => this.#connect(ctx),
        [TurnTcpMethod.ConnectionBind]: h((ctx) => this.#connectionBind(ctx)),
      },
    });
  }

  /** Number of live allocations. */
  get allocations(): number {
    return this.#allocations.size;
  }

  /**
   * Processes a datagram from a client (STUN or ChannelData), or one message framed from a TCP or
   * TLS connection; replies go through `send`, or the connection.
   *
   * @param data The datagram or framed message.
   * @param from The client's address.
   * @param conn The client's connection, for TCP and TLS.
   */
  handle(data: Uint8Array, from: TransportAddress, conn?: TurnConnection): void {
    if (isChannelData(data)) return this.#channelData(data, this.#key(from, conn));
    const reply = (bytes: Uint8Array) => conn ? conn.send(bytes) : this.#opts.send(bytes, from);
    this.#conn = conn;
    try {
      const response = this.#stun.handle(data, from, reply);
      if (response) reply(response);
    } finally {
      this.#conn = undefined;
    }
  }

  /**
   * Adds a listening address of the server (a TCP or TLS listener started later): it is never
   * relayed to, like `ownAddresses`.
   *
   * @param address The listening transport address.
   */
  addOwnAddress(address: TransportAddress): void {
    this.#own.push(address);
  }

  /**
   * Tells whether an allocation lives on a client's connection (an adapter keeps such a
   * connection open however long it is quiet).
   *
   * @param from The client's address on the connection.
   * @returns `true` while the connection holds an allocation.
   */
  holds(from: TransportAddress): boolean {
    return this.#live(`s|${tupleKey(from)}`, this.#now()) !== undefined;
  }

  /**
   * A client's connection closed: its allocation is deleted (the 5-tuple is gone).
   *
   * @param from The client's address on the connection.
   */
  disconnected(from: TransportAddress): void {
    this.#delete(`s|${tupleKey(from)}`);
  }

  /**
   * Expires allocations, permissions and channels whose time is up.
   *
   * @param now Current time in ms (default: the clock).
   */
  tick(now: number = this.#now()): void {
    for (const [id, p] of this.#pending) {
      if (p.expires <= now || p.peer.closed) {
        this.#pending.delete(id);
        p.peer.close();
      }
    }
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
    for (const p of a.peerConnections.values()) p.close();
    log.debug("Deleted allocation {relay}", { relay: tupleKey(a.relay.address) });
  }

  /** The 5-tuple's key: the transport (UDP, or a stream) and the client's address. */
  #key(from: TransportAddress, conn: TurnConnection | undefined): string {
    return `${conn ? "s" : "u"}|${tupleKey(from)}`;
  }

  #live(key: string, now: number): AllocationState | undefined {
    const a = this.#allocations.get(key);
    return a && a.expires > now ? a : undefined;
  }

  #ctxLive(ctx: RequestContext): AllocationState | undefined {
    return this.#live(this.#key(ctx.from, this.#conn), ctx.now);
  }

  /** Sends to the client of an allocation, on its connection or from the listening socket. */
  #toClient(a: AllocationState, data: Uint8Array): void {
    if (a.conn) a.conn.send(data);
    else this.#opts.send(data, a.client);
  }

  #lifetime(msg: StunMessage): number {
    const asked = getUint32(msg, TurnAttr.LIFETIME) ?? this.#opts.defaultLifetime ?? 600;
    return Math.min(
      Math.max(asked, this.#opts.defaultLifetime ?? 600),
      this.#opts.maxLifetime ?? 3600,
    );
  }

  // @implements RFC8656 §7.2 (RFC 5766 §6.2)
  #allocate(ctx: RequestContext): HandlerResult {
    const { message: msg, from, now } = ctx;
    const conn = this.#conn;
    const key = this.#key(from, conn);
    if (this.#live(key, now)) return { error: 437 };
    const transport = getUint32(msg, TurnAttr.REQUESTED_TRANSPORT);
    if (transport === undefined) return { error: 400, reason: "REQUESTED-TRANSPORT is missing" };
    // UDP, or TCP (RFC 6062 §5.1) on a stream when the adapter offers TCP relays.
    if (transport !== UDP && (transport !== TCP || !this.#opts.openTcpRelay)) return { error: 442 };
    if (transport === TCP && !conn) {
      return { error: 400, reason: "TCP allocations need a TCP or TLS connection" };
    }
    const family = getUint32(msg, TurnAttr.REQUESTED_ADDRESS_FAMILY);
    if (family !== undefined && family !== 1) return { error: 440 };
    // Only an authenticated user gets an allocation; quotas per user and in total.
    // @implements RFC8656 §5 ¶19 (RFC 5766 §4), RFC8656 §21.3.1 (RFC 5766 §17.3.1)
    const user = ctx.username;
    if (user === undefined) return { error: 401 };
    if (this.#allocations.size >= (this.#opts.maxAllocations ?? 1000)) {
      return { error: 508, reason: "Too many allocations" };
    }
    const mine = [...this.#allocations.values()].filter((a) => a.username === user).length;
    if (mine >= (this.#opts.quota ?? 10)) return { error: 486 };
    // Step 8 of RFC 8656 §7.2 (step 6 of RFC 5766 §6.2): an even port, without reserving the next one.
    let even: { reserve: boolean } | undefined;
    try {
      even = getEvenPort(msg);
    } catch {
      return { error: 400, reason: "Bad EVEN-PORT" };
    }
    if (even?.reserve) return { error: 508, reason: "Port reservation not supported" };
    let udp: Relay | undefined, tcp: TcpRelay | undefined;
    if (transport === TCP) {
      if (even) return { error: 400, reason: "EVEN-PORT is for UDP allocations" };
      tcp = this.#opts.openTcpRelay!((peer) => this.#peerConnected(key, peer));
    } else {
      udp = this.#opts.openRelay((data, peer) => this.#fromPeer(key, data, peer), {
        evenPort: even !== undefined,
      });
    }
    const relay = udp ?? tcp;
    if (!relay) return { error: 508 };
    const lifetime = this.#lifetime(msg);
    this.#allocations.set(key, {
      client: from,
      conn,
      username: user,
      relay,
      udp,
      tcp,
      peerConnections: new Map(),
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

  // @implements RFC8656 §8.2 (RFC 5766 §7.2)
  #refresh(ctx: RequestContext): HandlerResult {
    const a = this.#ctxLive(ctx);
    if (!a) return { error: 437 };
    if (a.username !== ctx.username) return { error: 441 };
    const asked = getUint32(ctx.message, TurnAttr.LIFETIME);
    if (asked === 0) {
      this.#delete(this.#key(ctx.from, this.#conn));
      return { attributes: [uint32Attribute(TurnAttr.LIFETIME, 0)] };
    }
    const lifetime = this.#lifetime(ctx.message);
    a.expires = ctx.now + lifetime * 1000;
    return { attributes: [uint32Attribute(TurnAttr.LIFETIME, lifetime)] };
  }

  /**
   * May data be relayed to this peer? Not to refused classes of addresses, and never to the
   * server's own listening addresses.
   */
  // @implements RFC8656 §21.2.2 (RFC 5766 §17.2.2)
  #allowed(peer: TransportAddress): boolean {
    if (!this.#peers.allows(peer.address)) return false;
    return !this.#own.some((o) =>
      o.port === peer.port && (o.address === peer.address || peerAddressClass(o.address) ===
              "unspecified" && o.family === peer.family)
    );
  }

  /** Can these peers' permissions be installed without passing `maxPermissions`? */
  #roomFor(a: AllocationState, peers: TransportAddress[], now: number): boolean {
    const max = this.#opts.maxPermissions ?? 1000;
    const fresh = new Set(peers.map((p) => p.address).filter((ip) => !a.permissions.has(ip)));
    if (a.permissions.size + fresh.size <= max) return true;
    for (const [ip, exp] of a.permissions) if (exp <= now) a.permissions.delete(ip);
    return a.permissions.size + fresh.size <= max;
  }

  /** RFC 6062: is there room for one more peer connection on this allocation? */
  #peerRoom(a: AllocationState): boolean {
    for (const [k, c] of a.peerConnections) if (c.closed) a.peerConnections.delete(k);
    return a.peerConnections.size < (this.#opts.maxPeerConnections ?? 100);
  }

  #peerList(msg: StunMessage): TransportAddress[] | undefined {
    const out: TransportAddress[] = [];
    for (const attr of msg.attributes) {
      if (attr.type !== TurnAttr.XOR_PEER_ADDRESS) continue;
      out.push(getAddress({ ...msg, attributes: [attr] }, TurnAttr.XOR_PEER_ADDRESS)!);
    }
    return out.length ? out : undefined;
  }

  // @implements RFC8656 §10.2 (RFC 5766 §9.2)
  #createPermission(ctx: RequestContext): HandlerResult {
    const a = this.#ctxLive(ctx);
    if (!a) return { error: 437 };
    if (a.username !== ctx.username) return { error: 441 };
    const peers = this.#peerList(ctx.message);
    if (!peers) return { error: 400, reason: "XOR-PEER-ADDRESS is missing" };
    if (peers.some((p) => p.family !== a.relay.address.family)) return { error: 443 };
    // @implements RFC8656 §10.2 ¶4 (RFC 5766 §9.2)
    if (!peers.every((p) => this.#allowed(p))) return { error: 403 };
    if (!this.#roomFor(a, peers, ctx.now)) return { error: 508, reason: "Too many permissions" };
    for (const p of peers) a.permissions.set(p.address, ctx.now + PERMISSION_LIFETIME);
    return { attributes: [] };
  }

  // @implements RFC8656 §12.2 (RFC 5766 §11.2)
  #channelBind(ctx: RequestContext): HandlerResult {
    const a = this.#ctxLive(ctx);
    if (!a) return { error: 437 };
    if (a.username !== ctx.username) return { error: 441 };
    const channel = getUint32(ctx.message, TurnAttr.CHANNEL_NUMBER);
    const peer = this.#peerList(ctx.message)?.[0];
    if (channel === undefined || !peer) {
      return { error: 400, reason: "CHANNEL-NUMBER and XOR-PEER-ADDRESS are required" };
    }
    if (channel < MIN_CHANNEL || channel > MAX_CHANNEL_RFC5766) {
      return { error: 400, reason: "Channel number out of range" };
    }
    if (!a.udp) return { error: 400, reason: "Channels are for UDP allocations" };
    if (peer.family !== a.relay.address.family) return { error: 443 };
    if (!this.#allowed(peer)) return { error: 403 };
    const bound = a.channels.get(channel);
    const peerChannel = a.peerChannels.get(tupleKey(peer));
    if (
      (bound && tupleKey(bound.peer) !== tupleKey(peer)) ||
      (peerChannel !== undefined && peerChannel !== channel)
    ) {
      return { error: 400, reason: "Channel or peer already bound" };
    }
    if (!this.#roomFor(a, [peer], ctx.now)) return { error: 508, reason: "Too many permissions" };
    a.channels.set(channel, { peer, expires: ctx.now + CHANNEL_LIFETIME });
    a.peerChannels.set(tupleKey(peer), channel);
    a.permissions.set(peer.address, ctx.now + PERMISSION_LIFETIME);
    return { attributes: [] };
  }

  // @implements RFC8656 §11.2 (RFC 5766 §10.2)
  #sendIndication(ctx: RequestContext): undefined {
    const a = this.#ctxLive(ctx);
    const peer = getAddress(ctx.message, TurnAttr.XOR_PEER_ADDRESS);
    const data = getAttribute(ctx.message, TurnAttr.DATA);
    if (!a || !peer || !data) return undefined;
    // @implements RFC8656 §11.2 ¶5 (RFC 5766 §10.2)
    if (!this.#allowed(peer)) return undefined;
    if ((a.permissions.get(peer.address) ?? 0) <= ctx.now) return undefined;
    a.udp?.send(data, peer);
    return undefined;
  }

  // @implements RFC8656 §12.6 ¶4, §12.6 ¶6 (RFC 5766 §11.6)
  #channelData(data: Uint8Array, key: string): void {
    const now = this.#now();
    const a = this.#live(key, now);
    if (!a) return;
    let frame: { channel: number; data: Uint8Array };
    try {
      frame = decodeChannelData(data);
    } catch {
      return;
    }
    const c = a.channels.get(frame.channel);
    if (!c || c.expires <= now || !this.#allowed(c.peer)) return;
    a.udp?.send(frame.data, c.peer);
  }

  // @implements RFC8656 §11.3 (RFC 5766 §10.3), RFC8656 §12.7 (RFC 5766 §11.7)
  #fromPeer(key: string, data: Uint8Array, peer: TransportAddress): void {
    const now = this.#now();
    const a = this.#allocations.get(key);
    if (!a || a.expires <= now) return;
    if ((a.permissions.get(peer.address) ?? 0) <= now) return;
    const channel = a.peerChannels.get(tupleKey(peer));
    if (channel !== undefined && (a.channels.get(channel)?.expires ?? 0) > now) {
      // Over TCP and TLS, ChannelData is padded to a multiple of 4.
      // @implements RFC8656 §12.5 ¶3 (RFC 5766 §11.5)
      this.#toClient(a, encodeChannelData(channel, data, a.conn !== undefined));
      return;
    }
    const msg = createMessage(StunMethod.Data, StunClass.Indication);
    msg.attributes.push(addressAttribute(TurnAttr.XOR_PEER_ADDRESS, peer, msg.transactionId), {
      type: TurnAttr.DATA,
      value: data,
    });
    this.#toClient(a, encodeStun(msg));
  }

  // === TCP allocations (RFC 6062) ===

  /** Does a peer data connection to `peer` exist, or is one being opened? (446) */
  #peerBusy(a: AllocationState, peer: TransportAddress): boolean {
    const c = a.peerConnections.get(tupleKey(peer));
    if (c?.closed) a.peerConnections.delete(tupleKey(peer));
    return a.peerConnections.has(tupleKey(peer));
  }

  /** Keeps a peer connection until a ConnectionBind claims it; returns its CONNECTION-ID. */
  #park(key: string, a: AllocationState, peer: PeerConnection): number {
    let id: number;
    do id = crypto.getRandomValues(new Uint32Array(1))[0]!; while (this.#pending.has(id));
    a.peerConnections.set(tupleKey(peer.peer), peer);
    this.#pending.set(id, { key, peer, expires: this.#now() + BIND_TIMEOUT });
    return id;
  }

  // RFC 6062 §5.2: Connect opens a connection from the relayed address to the peer; the
  // response waits for it (447 when it fails).
  #connect(ctx: RequestContext): HandlerResult | Promise<HandlerResult> {
    const key = this.#key(ctx.from, this.#conn);
    const a = this.#ctxLive(ctx);
    if (!a) return { error: 437 };
    if (a.username !== ctx.username) return { error: 441 };
    if (!a.tcp) return { error: 400, reason: "Connect is for TCP allocations" };
    const peer = getAddress(ctx.message, TurnAttr.XOR_PEER_ADDRESS);
    if (!peer) return { error: 400, reason: "XOR-PEER-ADDRESS is missing" };
    if (peer.family !== a.relay.address.family) return { error: 443 };
    if (!this.#allowed(peer)) return { error: 403 };
    if (this.#peerBusy(a, peer)) return { error: 446 };
    if (!this.#peerRoom(a)) return { error: 508, reason: "Too many peer connections" };
    const opening: PeerConnection = { peer, closed: false, close() {} };
    a.peerConnections.set(tupleKey(peer), opening);
    return a.tcp.connect(peer).then((conn): HandlerResult => {
      a.peerConnections.delete(tupleKey(peer));
      if (this.#allocations.get(key) !== a) {
        conn.close();
        return { error: 437 };
      }
      // No permission is installed: as with UDP, only CreatePermission lets a peer in.
      return { attributes: [uint32Attribute(TurnAttr.CONNECTION_ID, this.#park(key, a, conn))] };
    }, (e): HandlerResult => {
      a.peerConnections.delete(tupleKey(peer));
      log.debug("Connect to {peer} failed: {error}", { peer: tupleKey(peer), error: String(e) });
      return { error: 447 };
    });
  }

  // RFC 6062 §5.3: a peer connected to the relayed address; without a permission it is closed.
  #peerConnected(key: string, conn: PeerConnection): void {
    const now = this.#now();
    const a = this.#live(key, now);
    if (
      !a || (a.permissions.get(conn.peer.address) ?? 0) <= now || !this.#allowed(conn.peer) ||
      this.#peerBusy(a, conn.peer) || !this.#peerRoom(a)
    ) {
      conn.close();
      return;
    }
    const id = this.#park(key, a, conn);
    const msg = createMessage(TurnTcpMethod.ConnectionAttempt, StunClass.Indication);
    msg.attributes.push(
      addressAttribute(TurnAttr.XOR_PEER_ADDRESS, conn.peer, msg.transactionId),
      uint32Attribute(TurnAttr.CONNECTION_ID, id),
    );
    this.#toClient(a, encodeStun(msg));
  }

  // RFC 6062 §5.4: ConnectionBind on a new connection claims a peer data connection.
  #connectionBind(ctx: RequestContext): HandlerResult {
    const conn = this.#conn;
    if (!conn?.bind) return { error: 400, reason: "ConnectionBind needs a TCP or TLS connection" };
    let id: number | undefined;
    try {
      id = getUint32(ctx.message, TurnAttr.CONNECTION_ID);
    } catch {
      return { error: 400, reason: "Bad CONNECTION-ID" };
    }
    const p = id === undefined ? undefined : this.#pending.get(id);
    if (!p || p.peer.closed) return { error: 400, reason: "Unknown CONNECTION-ID" };
    const a = this.#allocations.get(p.key);
    // Only the allocation's user may claim its connections.
    if (!a || a.username !== ctx.username) return { error: 441 };
    this.#pending.delete(id!);
    conn.bind(p.peer);
    return { attributes: [] };
  }
}
