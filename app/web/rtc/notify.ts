// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * A WebRTC notification and signaling server over WebSocket: peers join rooms, and JSON
 * messages (offer, answer, ICE candidate or any payload) are relayed to the other members of the
 * room or to one named peer.
 *
 * The core, {@linkcode SignalingHub}, is free of I/O: it takes connections (anything with
 * `send` and `close`), text messages and a clock, and keeps rooms, enforces limits and answers
 * with JSON. {@linkcode serveNotify} runs it on the project's own WebSocket server
 * ({@link https://www.rfc-editor.org/rfc/rfc6455 | RFC 6455}, `@rtclite/std/ietf/rfc6455`).
 *
 * The protocol (one JSON object per text message, each with a `type`):
 *
 * | from | message | meaning |
 * |---|---|---|
 * | client | `{"type":"join","room":"r","id":"alice"}` | join room `r` (id optional: the server picks one) |
 * | client | `{"type":"leave"}` | leave the room |
 * | client | `{"type":"ping"}` | the server answers `{"type":"pong"}` |
 * | client | `{"type":"offer","sdp":"...","to":"bob"}` | any other type is relayed, with `to` only to that peer |
 * | server | `{"type":"welcome","id":"alice","room":"r","peers":["bob"]}` | joined; who is already there |
 * | server | `{"type":"joined","id":"carol"}` / `{"type":"left","id":"carol"}` | membership changes |
 * | server | `{"type":"offer","sdp":"...","from":"alice"}` | a relayed message, `from` set by the server |
 * | server | `{"type":"error","code":"room-full","message":"..."}` | a refused message; the connection stays |
 *
 * A client may also join while connecting: `ws://host:8081/?room=r&id=alice`.
 *
 * Command line: `deno run -A app/web/rtc/notify.ts --port 8081`.
 *
 * @see {@link https://www.w3.org/TR/webrtc/ | WebRTC 1.0} (what the relayed messages carry),
 * {@link https://www.rfc-editor.org/rfc/rfc8829 | RFC 8829 (JSEP)}
 *
 * @example Three peers in a room, in memory
 * ```ts
 * import { SignalingHub } from "@rtclite/app/web/rtc/notify";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const hub = new SignalingHub();
 * const inbox: Record<string, unknown[]> = { a: [], b: [], c: [] };
 * const conn = (name: string) => ({ send: (t: string) => inbox[name]!.push(JSON.parse(t)), close() {} });
 * const a = hub.connect(conn("a"), { room: "r", id: "a" });
 * hub.connect(conn("b"), { room: "r", id: "b" });
 * hub.connect(conn("c"), { room: "r", id: "c" });
 * hub.receive(a, JSON.stringify({ type: "offer", sdp: "v=0", to: "b" }));
 * deepEqual(inbox.b!.at(-1), { type: "offer", sdp: "v=0", from: "a" });
 * equal(inbox.c!.length, 1); // c got its welcome, and not the offer
 * deepEqual(inbox.a!.at(0), { type: "welcome", id: "a", room: "r", peers: [] });
 * ```
 *
 * @module
 */
import { serveWebSocket, WebSocket, type WebSocketServer } from "@rtclite/std/ietf/rfc6455/deno";
import { type ParsedCommand, runCommand, UsageError } from "@rtclite/std/cli";
import { getLogger } from "@rtclite/std/log";

const log = getLogger("web", "rtc", "notify");

// === Messages ===

/** Why the hub refused a message (the `code` of an `error` message). */
export type SignalingErrorCode =
  | "bad-json"
  | "bad-message"
  | "too-large"
  | "rate-limited"
  | "bad-room"
  | "bad-id"
  | "id-taken"
  | "room-full"
  | "too-many-rooms"
  | "address-limit"
  | "not-joined"
  | "unknown-peer";

/** Types the server sends; clients may not send them. */
export const SERVER_TYPES: readonly string[] = ["welcome", "joined", "left", "error", "pong"];

/** What {@linkcode SignalingHub} needs of a connection. */
export interface SignalingConnection {
  /** Sends one text message. */
  send(text: string): void;
  /** Closes the connection (WebSocket close code and reason). */
  close(code?: number, reason?: string): void;
  /** Bytes queued but not yet sent, if known: a peer that lags too far is dropped. */
  readonly bufferedAmount?: number;
}

/** Limits of {@linkcode SignalingHub}. */
export interface SignalingHubOptions {
  /** Largest message in bytes of UTF-8 (default 65536); larger get a `too-large` error. */
  maxMessageSize?: number;
  /** Most members in a room (default 16). */
  maxRoomSize?: number;
  /** Most rooms at once (default 1000). */
  maxRooms?: number;
  /** Most messages a peer may send per second (default 200); more get `rate-limited`. */
  maxMessageRate?: number;
  /** Largest `bufferedAmount` before a slow peer is closed (default 4 MiB). */
  maxBufferedAmount?: number;
  /**
   * Most rooms that peers from one address may have created and that still exist (default 16);
   * more get `too-many-rooms`, so one host cannot take every room name.
   */
  maxRoomsPerAddress?: number;
  /**
   * Most members of one room from one address (default 4); more get `address-limit`, so one host
   * cannot fill a room or squat its ids.
   */
  maxMembersPerAddress?: number;
  /** Clock in milliseconds (default `Date.now`). */
  now?: () => number;
}

/** A connected peer, as the hub sees it. */
export interface SignalingPeer {
  /** Its id once joined (unique within its room). */
  readonly id: string | undefined;
  /** The room it is in. */
  readonly room: string | undefined;
}

interface PeerState extends SignalingPeer {
  address: string | undefined;
  id: string | undefined;
  room: string | undefined;
  conn: SignalingConnection;
  windowStart: number;
  count: number;
  closed: boolean;
}

const NAME = /^\P{Cc}{1,64}$/u;
const encoder = new TextEncoder();

function randomId(): string {
  return [...crypto.getRandomValues(new Uint8Array(6))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** WebSocket close code for policy violations (RFC 6455 §7.4.1). */
const POLICY_VIOLATION = 1008;

// === The hub (sans I/O) ===

/**
 * Rooms of peers and the relay between them. Every input is checked: bad JSON, binary data,
 * server-only types, oversize or too frequent messages, unknown targets and full rooms are
 * answered with an `error` message and never throw; the connection stays open (except when a
 * join requested at connect time fails, or a peer lags too far behind).
 *
 * @example Relay to everyone else, and leave notifications
 * ```ts
 * import { SignalingHub } from "@rtclite/app/web/rtc/notify";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const hub = new SignalingHub({ maxRoomSize: 2 });
 * const got: string[] = [];
 * const a = hub.connect({ send: (t) => got.push(`a ${t}`), close() {} });
 * const b = hub.connect({ send: (t) => got.push(`b ${t}`), close() {} });
 * hub.receive(a, '{"type":"join","room":"r","id":"a"}');
 * hub.receive(b, '{"type":"join","room":"r","id":"b"}');
 * hub.receive(b, '{"type":"candidate","candidate":"x"}');
 * equal(got.at(-1), 'a {"type":"candidate","candidate":"x","from":"b"}');
 * hub.disconnect(b);
 * equal(got.at(-1), 'a {"type":"left","id":"b"}');
 * deepEqual([...hub.rooms.get("r")!], ["a"]);
 * ```
 */
export class SignalingHub {
  readonly #o: Required<SignalingHubOptions>;
  readonly #rooms = new Map<string, Map<string, PeerState>>();
  readonly #peers = new Set<PeerState>();
  /** The address that created each room, and how many live rooms each address created. */
  readonly #creator = new Map<string, string>();
  readonly #created = new Map<string, number>();

  /**
   * Creates a hub.
   *
   * @param options Limits and clock.
   */
  constructor(options: SignalingHubOptions = {}) {
    this.#o = {
      maxMessageSize: options.maxMessageSize ?? 65536,
      maxRoomSize: options.maxRoomSize ?? 16,
      maxRooms: options.maxRooms ?? 1000,
      maxMessageRate: options.maxMessageRate ?? 200,
      maxBufferedAmount: options.maxBufferedAmount ?? 4 * 1024 * 1024,
      maxRoomsPerAddress: options.maxRoomsPerAddress ?? 16,
      maxMembersPerAddress: options.maxMembersPerAddress ?? 4,
      now: options.now ?? Date.now,
    };
  }

  /** Member ids of each room. */
  get rooms(): ReadonlyMap<string, ReadonlySet<string>> {
    const out = new Map<string, Set<string>>();
    for (const [name, members] of this.#rooms) out.set(name, new Set(members.keys()));
    return out;
  }

  /** Number of connected peers (joined or not). */
  get size(): number {
    return this.#peers.size;
  }

  /** The largest message this hub accepts, in bytes. */
  get maxMessageSize(): number {
    return this.#o.maxMessageSize;
  }

  /**
   * Registers a connection, optionally joining a room at once (as with `?room=` in the URL).
   * When that join fails the peer gets the `error` message and the connection is closed with
   * 1008.
   *
   * @param conn The connection.
   * @param join Room and optional id to join, and the peer's address (for the per-address
   * limits; none applies without one).
   * @returns The peer handle for {@linkcode SignalingHub.receive} and
   * {@linkcode SignalingHub.disconnect}.
   */
  connect(
    conn: SignalingConnection,
    join: { room?: string; id?: string; address?: string } = {},
  ): SignalingPeer {
    const peer: PeerState = {
      address: join.address,
      id: undefined,
      room: undefined,
      conn,
      windowStart: this.#o.now(),
      count: 0,
      closed: false,
    };
    this.#peers.add(peer);
    if (join.room !== undefined && !this.#join(peer, join.room, join.id)) {
      this.disconnect(peer, POLICY_VIOLATION, "Cannot join the room");
    }
    return peer;
  }

  /**
   * Handles one message from a peer: joins, leaves, pings, or relays it.
   *
   * @param handle The peer from {@linkcode SignalingHub.connect}.
   * @param data The message: text, or bytes (refused: the protocol is JSON text).
   */
  receive(handle: SignalingPeer, data: string | Uint8Array | ArrayBuffer): void {
    const peer = handle as PeerState;
    if (peer.closed || !this.#peers.has(peer)) return;
    const now = this.#o.now();
    if (now - peer.windowStart >= 1000) {
      peer.windowStart = now;
      peer.count = 0;
    }
    if (++peer.count > this.#o.maxMessageRate) {
      if (peer.count === this.#o.maxMessageRate + 1) {
        this.#error(peer, "rate-limited", `More than ${this.#o.maxMessageRate} messages/s`);
      }
      return;
    }
    if (typeof data !== "string") {
      this.#error(peer, "bad-message", "Cannot read binary messages: send JSON text");
      return;
    }
    // UTF-16 length bounds the UTF-8 length from below; count exactly only near the limit.
    if (
      data.length > this.#o.maxMessageSize ||
      (data.length * 3 > this.#o.maxMessageSize &&
        encoder.encode(data).length > this.#o.maxMessageSize)
    ) {
      this.#error(peer, "too-large", `Message exceeds ${this.#o.maxMessageSize} bytes`);
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      this.#error(peer, "bad-json", "Cannot parse message: not JSON");
      return;
    }
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
      this.#error(peer, "bad-message", "Cannot handle message: not a JSON object");
      return;
    }
    const m = msg as Record<string, unknown>;
    const type = m.type;
    if (typeof type !== "string" || type === "") {
      this.#error(peer, "bad-message", "Cannot handle message: no type");
      return;
    }
    if (type === "join") {
      if (typeof m.room !== "string" || (m.id !== undefined && typeof m.id !== "string")) {
        this.#error(peer, "bad-message", "Cannot join: room (and id) must be strings");
        return;
      }
      this.#join(peer, m.room, m.id as string | undefined);
      return;
    }
    if (type === "leave") {
      if (peer.room === undefined) this.#error(peer, "not-joined", "Cannot leave: not in a room");
      else this.#leave(peer);
      return;
    }
    if (type === "ping") {
      this.#send(peer, { type: "pong" });
      return;
    }
    if (SERVER_TYPES.includes(type)) {
      this.#error(peer, "bad-message", `Cannot relay type ${type}: it is sent by the server`);
      return;
    }
    if (peer.room === undefined || peer.id === undefined) {
      this.#error(peer, "not-joined", "Cannot relay: join a room first");
      return;
    }
    const members = this.#rooms.get(peer.room)!;
    const { to, from: _from, ...rest } = m;
    const out = JSON.stringify({ ...rest, from: peer.id });
    if (to !== undefined) {
      const target = typeof to === "string" ? members.get(to) : undefined;
      if (!target || target === peer) {
        this.#error(peer, "unknown-peer", `Cannot relay: no peer ${String(to)} in the room`);
        return;
      }
      this.#sendText(target, out);
      return;
    }
    for (const member of members.values()) if (member !== peer) this.#sendText(member, out);
  }

  /**
   * Removes a peer (its room members get `left`) and closes its connection.
   *
   * @param handle The peer.
   * @param code Close code to send (default 1000).
   * @param reason Close reason.
   */
  disconnect(handle: SignalingPeer, code = 1000, reason = ""): void {
    const peer = handle as PeerState;
    if (!this.#peers.delete(peer)) return;
    if (peer.room !== undefined) this.#leave(peer);
    if (!peer.closed) {
      peer.closed = true;
      try {
        peer.conn.close(code, reason);
      } catch (e) {
        log.debug("Closing a peer failed: {error}", { error: String(e) });
      }
    }
  }

  #join(peer: PeerState, room: string, id: string | undefined): boolean {
    if (!NAME.test(room)) {
      this.#error(peer, "bad-room", "Cannot join: room names have 1-64 printable characters");
      return false;
    }
    if (id !== undefined && !NAME.test(id)) {
      this.#error(peer, "bad-id", "Cannot join: ids have 1-64 printable characters");
      return false;
    }
    const members = this.#rooms.get(room);
    if (members && peer.room === room && (id === undefined || id === peer.id)) {
      this.#send(peer, { type: "welcome", id: peer.id, room, peers: this.#others(members, peer) });
      return true;
    }
    if (members && id !== undefined && members.has(id) && members.get(id) !== peer) {
      this.#error(peer, "id-taken", `Cannot join: id ${id} is taken in room ${room}`);
      return false;
    }
    if (members && members.size >= this.#o.maxRoomSize && peer.room !== room) {
      this.#error(peer, "room-full", `Cannot join: room ${room} has ${members.size} members`);
      return false;
    }
    const address = peer.address;
    if (members && address !== undefined && peer.room !== room) {
      let same = 0;
      for (const m of members.values()) if (m.address === address) same++;
      if (same >= this.#o.maxMembersPerAddress) {
        this.#error(
          peer,
          "address-limit",
          `Cannot join: room ${room} has ${same} members from your address`,
        );
        return false;
      }
    }
    if (
      !members && address !== undefined &&
      (this.#created.get(address) ?? 0) >= this.#o.maxRoomsPerAddress
    ) {
      this.#error(
        peer,
        "too-many-rooms",
        `Cannot join: your address created ${this.#o.maxRoomsPerAddress} rooms`,
      );
      return false;
    }
    // Moving out of a room where the peer is alone frees that room.
    const freed = peer.room !== undefined && this.#rooms.get(peer.room)?.size === 1 ? 1 : 0;
    if (!members && this.#rooms.size - freed >= this.#o.maxRooms) {
      this.#error(peer, "too-many-rooms", `Cannot join: ${this.#rooms.size} rooms exist`);
      return false;
    }
    if (peer.room !== undefined) this.#leave(peer);
    let room_ = this.#rooms.get(room);
    if (!room_) {
      this.#rooms.set(room, room_ = new Map());
      if (address !== undefined) {
        this.#creator.set(room, address);
        this.#created.set(address, (this.#created.get(address) ?? 0) + 1);
      }
    }
    let newId = id;
    while (newId === undefined || room_.has(newId)) newId = randomId();
    peer.id = newId;
    peer.room = room;
    const peers = [...room_.keys()];
    room_.set(newId, peer);
    log.debug("{id} joined {room}", { id: newId, room });
    this.#send(peer, { type: "welcome", id: newId, room, peers });
    const note = JSON.stringify({ type: "joined", id: newId });
    for (const m of room_.values()) if (m !== peer) this.#sendText(m, note);
    return true;
  }

  #others(members: Map<string, PeerState>, peer: PeerState): string[] {
    return [...members].filter(([, p]) => p !== peer).map(([k]) => k);
  }

  #leave(peer: PeerState): void {
    const room = peer.room!;
    const members = this.#rooms.get(room);
    peer.room = undefined;
    const id = peer.id!;
    peer.id = undefined;
    if (!members) return;
    members.delete(id);
    log.debug("{id} left {room}", { id, room });
    if (members.size === 0) {
      this.#rooms.delete(room);
      const creator = this.#creator.get(room);
      if (creator !== undefined) {
        this.#creator.delete(room);
        const n = (this.#created.get(creator) ?? 1) - 1;
        n ? this.#created.set(creator, n) : this.#created.delete(creator);
      }
      return;
    }
    const note = JSON.stringify({ type: "left", id });
    for (const m of members.values()) this.#sendText(m, note);
  }

  #error(peer: PeerState, code: SignalingErrorCode, message: string): void {
    log.debug("Refused a message from {id}: {code}", { id: peer.id, code });
    this.#send(peer, { type: "error", code, message });
  }

  #send(peer: PeerState, msg: Record<string, unknown>): void {
    this.#sendText(peer, JSON.stringify(msg));
  }

  #sendText(peer: PeerState, text: string): void {
    if (peer.closed) return;
    if ((peer.conn.bufferedAmount ?? 0) > this.#o.maxBufferedAmount) {
      log.info("Dropping {id}: {bytes} bytes unsent", {
        id: peer.id,
        bytes: peer.conn.bufferedAmount,
      });
      // Defer: this may run while iterating over the room's members.
      queueMicrotask(() => this.disconnect(peer, POLICY_VIOLATION, "Too slow"));
      return;
    }
    try {
      peer.conn.send(text);
    } catch (e) {
      log.debug("Sending to {id} failed: {error}", { id: peer.id, error: String(e) });
    }
  }
}

// === WebSocket server ===

/** Options of {@linkcode serveNotify}. */
export interface NotifyServerOptions extends SignalingHubOptions {
  /** Address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** Port (default 8081; 0 picks a free one). */
  port?: number;
  /** Only accept WebSocket connections on this path (others are closed with 1008). */
  path?: string;
  /** Allowed `Origin` values or a predicate (others get 403); default any. */
  origins?: readonly string[] | ((origin: string | null) => boolean);
  /** PEM certificate chain and key: listen with TLS (`wss:`). */
  cert?: string;
  /** PEM private key. */
  key?: string;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  /** Most open connections (default 1024); further ones are closed at once. */
  maxConnections?: number;
  /** Most open connections from one IP address (default 32). */
  maxPerAddress?: number;
  /** Milliseconds without traffic before a connection is closed; pinged halfway (default 60000). */
  idleTimeout?: number;
}

/** A running signaling server (see {@linkcode serveNotify}). */
export interface NotifyServer extends AsyncDisposable {
  /** The address it listens on. */
  readonly addr: Deno.NetAddr;
  /** The hub holding the rooms. */
  readonly hub: SignalingHub;
  /** Closes every connection (1001) and stops listening. */
  close(): Promise<void>;
}

/**
 * Serves the signaling protocol over WebSocket on the project's RFC 6455 server. Clients
 * connect to `ws://host:port/PATH?room=NAME&id=ID` (room and id optional); plain HTTP
 * requests get a JSON status (`{"rooms":N,"peers":N}`).
 *
 * @param options Address, limits and policy.
 * @returns The running server.
 *
 * @example
 * ```ts
 * import { serveNotify } from "@rtclite/app/web/rtc/notify";
 * import { WebSocket } from "@rtclite/std/ietf/rfc6455/deno";
 * import { deepEqual } from "node:assert/strict";
 *
 * await using server = serveNotify({ hostname: "127.0.0.1", port: 0 });
 * const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/?room=demo&id=alice`);
 * const ev = await new Promise<MessageEvent>((r) => ws.onmessage = r);
 * deepEqual(JSON.parse(ev.data), { type: "welcome", id: "alice", room: "demo", peers: [] });
 * ws.close();
 * await new Promise((r) => ws.onclose = r);
 * ```
 */
export function serveNotify(options: NotifyServerOptions = {}): NotifyServer {
  const hub = new SignalingHub(options);
  const server: WebSocketServer = serveWebSocket({
    hostname: options.hostname ?? "0.0.0.0",
    port: options.port ?? 8081,
    // A frame far above the hub's limit is not worth reading; the hub answers smaller excess.
    maxMessageSize: Math.max(4 * hub.maxMessageSize, 16 * 1024),
    maxConnections: options.maxConnections ?? 1024,
    maxPerAddress: options.maxPerAddress ?? 32,
    idleTimeout: options.idleTimeout ?? 60_000,
    // The hub drops peers that lag; never queue more than a few messages' worth.
    maxBufferedAmount: 8 * Math.max(4 * hub.maxMessageSize, 16 * 1024),
    ...(options.origins ? { origins: options.origins } : {}),
    ...(options.cert && options.key ? { cert: options.cert, key: options.key } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onRequest: () => ({
      status: 200,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ rooms: hub.rooms.size, peers: hub.size }) + "\n",
    }),
  }, (ws, request) => {
    let url: URL;
    try {
      url = new URL(request.target, "http://localhost");
    } catch {
      ws.close(POLICY_VIOLATION, "Bad request target");
      return;
    }
    if (options.path !== undefined && url.pathname !== options.path) {
      ws.close(POLICY_VIOLATION, "Unknown path");
      return;
    }
    ws.binaryType = "arraybuffer";
    const room = url.searchParams.get("room");
    const id = url.searchParams.get("id");
    const address = (ws.remoteAddr as Deno.NetAddr | undefined)?.hostname;
    const peer = hub.connect({
      send: (text) => ws.send(text),
      close: (code, reason) => {
        if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
    }, {
      ...(room !== null ? { room } : {}),
      ...(id !== null ? { id } : {}),
      ...(address !== undefined ? { address } : {}),
    });
    ws.onmessage = (e) => hub.receive(peer, e.data as string | ArrayBuffer);
    ws.onclose = () => hub.disconnect(peer);
  });
  return {
    get addr() {
      return server.addr;
    },
    hub,
    close: () => server.close(),
    [Symbol.asyncDispose]: () => server.close(),
  };
}

// === Command line ===

const command = {
  name: "notify.ts",
  usage: "[options]",
  operands: [0, 0],
  description: "Relays JSON signaling messages between WebSocket clients of a room:\n" +
    'ws://HOST:PORT/PATH?room=NAME[&id=ID], or send {"type":"join","room":"NAME"}.',
  options: {
    port: { short: "p", value: "PORT", help: "port to listen on (default 8081)" },
    hostname: { value: "HOST", help: "address to listen on (default 0.0.0.0)" },
    path: { value: "/PATH", help: "WebSocket path (default: any)" },
    "max-room-size": { value: "N", help: "most peers in a room (default 16)" },
    "max-rooms": { value: "N", help: "most rooms (default 1000)" },
    "max-message-size": { value: "BYTES", help: "largest message (default 65536)" },
    "max-connections": { value: "N", help: "most open connections (default 1024)" },
    "max-per-address": { value: "N", help: "most connections from one address (default 32)" },
    "max-rooms-per-address": {
      value: "N",
      help: "most rooms created from one address (default 16)",
    },
    "max-members-per-address": {
      value: "N",
      help: "most members of a room from one address (default 4)",
    },
    cert: { value: "FILE", help: "PEM certificate chain (wss:, with --key)" },
    key: { value: "FILE", help: "PEM private key (wss:, with --cert)" },
  },
} as const;

async function main({ values }: ParsedCommand<typeof command.options>): Promise<number> {
  const num = (
    k:
      | "port"
      | "max-room-size"
      | "max-rooms"
      | "max-message-size"
      | "max-connections"
      | "max-per-address"
      | "max-rooms-per-address"
      | "max-members-per-address",
  ) => {
    const text = values[k];
    if (text === undefined) return undefined;
    if (!/^\d{1,15}$/.test(text)) throw new UsageError(`Invalid --${k}: ${text}`);
    return Number(text);
  };
  if (!values.cert !== !values.key) throw new UsageError("--cert and --key go together");
  const limits: SignalingHubOptions = {};
  if (num("max-room-size") !== undefined) limits.maxRoomSize = num("max-room-size")!;
  if (num("max-rooms") !== undefined) limits.maxRooms = num("max-rooms")!;
  if (num("max-message-size") !== undefined) limits.maxMessageSize = num("max-message-size")!;
  const rpa = num("max-rooms-per-address");
  if (rpa !== undefined) limits.maxRoomsPerAddress = rpa;
  const mpa = num("max-members-per-address");
  if (mpa !== undefined) limits.maxMembersPerAddress = mpa;
  const maxConnections = num("max-connections");
  const maxPerAddress = num("max-per-address");
  const port = num("port") ?? 8081;
  const server = serveNotify({
    ...limits,
    ...(maxConnections !== undefined ? { maxConnections } : {}),
    ...(maxPerAddress !== undefined ? { maxPerAddress } : {}),
    hostname: values.hostname ?? "0.0.0.0",
    port,
    ...(values.path ? { path: values.path } : {}),
    ...(values.cert && values.key
      ? { cert: await Deno.readTextFile(values.cert), key: await Deno.readTextFile(values.key) }
      : {}),
  });
  console.error(
    `Signaling on ${values.cert ? "wss" : "ws"}://${server.addr.hostname}:${server.addr.port}${
      values.path ?? "/"
    }`,
  );
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", () => resolve());
  });
  await server.close();
  return 0;
}

if (import.meta.main) Deno.exit(await runCommand(command, Deno.args, main));
