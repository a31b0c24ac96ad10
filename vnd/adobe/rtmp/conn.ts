// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * One side of an RTMP connection without I/O ({@linkcode RtmpConnection}: handshake, chunk
 * streams both ways, acknowledgement window, chunk size changes and ping answers), the
 * `rtmp://` URL ({@linkcode parseRtmpUrl}), and the errors a session raises when the peer
 * refuses a command ({@linkcode RtmpRejectedError}) or stops answering
 * ({@linkcode RtmpSessionError}). Part of `@rtclite/vnd/adobe/rtmp` (re-exported by
 * `mod.ts`); `net.ts` runs these over TCP.
 *
 * @example A client and a server connected back to back
 * ```ts
 * import { decodeCommand, encodeCommand, RtmpConnection } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const client = new RtmpConnection("client");
 * const server = new RtmpConnection("server");
 * client.send(encodeCommand({ name: "connect", transactionId: 1, object: { app: "live" }, args: [] }));
 * server.receive(client.takeOutput()); // C0+C1
 * client.receive(server.takeOutput()); // S0+S1+S2
 * const [connect] = server.receive(client.takeOutput()); // C2 and the command
 * equal(decodeCommand(connect!).name, "connect");
 * ```
 *
 * @module
 */
import { concat } from "@rtclite/std/bytes";
import type { AmfObject } from "../amf.ts";
import { ChunkDecoder, ChunkEncoder, Handshake, type ReceivedMessage } from "./chunk.ts";
import {
  acknowledgementMessage,
  decodeControl,
  MessageType,
  type RtmpMessage,
  UserControlEvent,
  userControlMessage,
  windowAckSizeMessage,
} from "./message.ts";

/** The IANA-registered RTMP port. */
export const RTMP_PORT = 1935;

/**
 * The parts of an `rtmp://` URL.
 *
 * @example
 * ```ts
 * import { parseRtmpUrl } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(parseRtmpUrl("rtmp://127.0.0.1:1936/live/cam"),
 *   { hostname: "127.0.0.1", port: 1936, app: "live", stream: "cam", tcUrl: "rtmp://127.0.0.1:1936/live" });
 * ```
 */
export interface RtmpUrl {
  /** Host name or address. */
  hostname: string;
  /** Port (default 1935). */
  port: number;
  /** Application: the first path segment. */
  app: string;
  /** Stream name: the rest of the path (may be empty). */
  stream: string;
  /** The URL for the connect command's `tcUrl`: up to and including the app. */
  tcUrl: string;
}

/**
 * Parses `rtmp://host[:port]/app[/stream]`.
 *
 * @param url The URL.
 * @returns Its parts.
 * @throws {TypeError} When it is not an `rtmp:` URL with a host and an app.
 *
 * @example
 * ```ts
 * import { parseRtmpUrl } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * equal(parseRtmpUrl("rtmp://example.com/live/a/b").stream, "a/b");
 * ```
 */
export function parseRtmpUrl(url: string): RtmpUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`Invalid RTMP URL: ${url}`);
  }
  if (u.protocol !== "rtmp:" || !u.hostname) {
    throw new TypeError(`Invalid RTMP URL: ${url} (expected rtmp://host/app/stream)`);
  }
  const [app = "", ...rest] = decodeURIComponent(u.pathname).replace(/^\/+/, "").split("/");
  if (!app) throw new TypeError(`Invalid RTMP URL: ${url} has no application`);
  const port = u.port ? Number(u.port) : RTMP_PORT;
  return {
    hostname: u.hostname.replace(/^\[|\]$/g, ""),
    port,
    app,
    stream: rest.join("/") + u.search,
    tcUrl: `rtmp://${u.host}/${app}`,
  };
}

/**
 * A failure of an RTMP session that is not malformed input: a command got no answer in time
 * (`code` `"timeout"`), the connection closed (`"closed"`), the peer read too slowly
 * (`"overflow"`), or a write failed (`"write"`). {@linkcode RtmpRejectedError} is the peer
 * refusing a command.
 *
 * @example
 * ```ts
 * import { RtmpSessionError } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const e = new RtmpSessionError("RTMP connect: no answer in 10000 ms", "timeout");
 * equal(e.code, "timeout");
 * equal(e.name, "RtmpSessionError");
 * ```
 */
export class RtmpSessionError extends Error {
  /** What failed: `"timeout"`, `"closed"`, `"overflow"`, `"write"`, or the peer's status code. */
  readonly code: string;

  /**
   * Creates a session error.
   *
   * @param message Sentence-case message.
   * @param code What failed.
   * @param options Standard error options, e.g. `{ cause }`.
   */
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The peer refused a command: `connect` or `createStream` answered with `_error`, or an
 * `onStatus` of level `error` for `publish` or `play`. `code` is the peer's status code
 * (`NetConnection.Connect.Rejected`, `NetStream.Publish.BadName`, ...), or the response's
 * command name when it carries none; `info` is the status object.
 *
 * @example
 * ```ts
 * import { RtmpRejectedError, RtmpSessionError } from "@rtclite/vnd/adobe/rtmp";
 * import { equal, ok } from "node:assert/strict";
 *
 * const e = new RtmpRejectedError("publish", { level: "error", code: "NetStream.Publish.BadName" });
 * equal(e.code, "NetStream.Publish.BadName");
 * equal(e.message, "RTMP publish rejected: NetStream.Publish.BadName");
 * ok(e instanceof RtmpSessionError);
 * ```
 */
export class RtmpRejectedError extends RtmpSessionError {
  /** The command that was refused (`connect`, `createStream`, `publish`, `play`). */
  readonly command: string;
  /** The peer's status object, when it sent one. */
  readonly info: AmfObject | undefined;

  /**
   * Creates a rejection.
   *
   * @param command The refused command.
   * @param info The peer's status object.
   * @param fallback The code when `info` has none (e.g. the response name `_error`).
   */
  constructor(command: string, info: AmfObject | undefined, fallback = "_error") {
    const code = typeof info?.code === "string" ? info.code : fallback;
    super(`RTMP ${command} rejected: ${code}`, code);
    this.command = command;
    this.info = info;
  }
}

/** Options for {@linkcode RtmpConnection}. */
export interface RtmpConnectionOptions {
  /** Clock in milliseconds for the handshake (default `Date.now`). */
  now?: () => number;
  /** Longest message accepted from the peer (default 8 MiB). */
  maxMessageSize?: number;
  /** Random data for C1/S1 (1528 bytes); generated when omitted. */
  random?: Uint8Array;
}

/**
 * Chooses the chunk stream for a message: 2 for control, 3 for commands and data on
 * stream 0, then 4 (audio), 6 (video), 5 (commands and data on other streams).
 *
 * @param message The message.
 * @returns A chunk stream ID.
 *
 * @example
 * ```ts
 * import { chunkStreamFor } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * equal(chunkStreamFor({ type: 9, streamId: 1, timestamp: 0, payload: new Uint8Array() }), 6);
 * ```
 */
export function chunkStreamFor(message: RtmpMessage): number {
  // @implements RTMP §5.4 ¶2, RTMP §6.2 ¶2
  if (message.type >= 1 && message.type <= 6) return 2;
  if (message.type === MessageType.AUDIO) return 4;
  if (message.type === MessageType.VIDEO) return 6;
  return message.streamId === 0 ? 3 : 5;
}

/**
 * One side of an RTMP connection without I/O: feed it received bytes, give it messages to
 * send, and write out what {@linkcode RtmpConnection.takeOutput} returns.
 *
 * It runs the handshake, reassembles and splits chunks, applies Set Chunk Size when sending
 * one, sends Acknowledgements when the peer's window is reached, and answers Ping Requests.
 *
 * @example A client and a server connected back to back
 * ```ts
 * import { decodeCommand, encodeCommand, RtmpConnection, type RtmpMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const client = new RtmpConnection("client");
 * const server = new RtmpConnection("server");
 * client.send(encodeCommand({ name: "connect", transactionId: 1, object: { app: "live" }, args: [] }));
 * const got: RtmpMessage[] = [];
 * for (let i = 0; i < 3; i++) {
 *   got.push(...server.receive(client.takeOutput()));
 *   client.receive(server.takeOutput());
 * }
 * equal(got.length, 1);
 * equal(decodeCommand(got[0]!).name, "connect");
 * ```
 */
export class RtmpConnection {
  readonly #handshake: Handshake;
  readonly #decoder: ChunkDecoder;
  readonly #encoder = new ChunkEncoder();
  #out: Uint8Array[] = [];
  #pending: { message: RtmpMessage; chunkStreamId: number | undefined }[] = [];
  #received = 0;
  #lastAck = 0;
  #peerWindow = 0;
  #ownWindow = 0;
  #sent = 0;

  /**
   * Creates one side of a connection.
   *
   * @param role `"client"` (sends C0+C1 first) or `"server"`.
   * @param options Clock, limits.
   */
  constructor(role: "client" | "server", options: RtmpConnectionOptions = {}) {
    this.#handshake = new Handshake(role, {
      ...(options.now ? { now: options.now } : {}),
      ...(options.random ? { random: options.random } : {}),
    });
    this.#decoder = new ChunkDecoder(
      options.maxMessageSize ? { maxMessageSize: options.maxMessageSize } : {},
    );
    const start = this.#handshake.start();
    if (start.length) this.#write(start);
  }

  /** Whether the handshake is complete. */
  get connected(): boolean {
    return this.#handshake.done;
  }

  /** Bytes received so far (including the handshake). */
  get bytesReceived(): number {
    return this.#received;
  }

  /** Bytes produced for sending so far. */
  get bytesSent(): number {
    return this.#sent;
  }

  /** The chunk size this side sends with. */
  get chunkSize(): number {
    return this.#encoder.chunkSize;
  }

  /**
   * Feeds received bytes.
   *
   * @param bytes Bytes from the peer.
   * @returns The messages they complete (control messages included).
   * @throws {RtmpError} On a bad handshake or malformed chunks.
   */
  receive(bytes: Uint8Array): ReceivedMessage[] {
    this.#received += bytes.length;
    let data = bytes;
    if (!this.#handshake.done) {
      const reply = this.#handshake.receive(bytes);
      if (reply.length) this.#write(reply);
      if (!this.#handshake.done) return [];
      // @implements RTMP §5.2.1 ¶1-2
      data = this.#handshake.rest;
      for (const p of this.#pending.splice(0)) this.send(p.message, p.chunkStreamId);
    }
    const messages = data.length ? this.#decoder.push(data) : [];
    for (const m of messages) this.#handle(m);
    // @implements RTMP §5.4.4
    if (this.#peerWindow > 0 && this.#received - this.#lastAck >= this.#peerWindow) {
      this.#lastAck = this.#received;
      this.send(acknowledgementMessage(this.#received));
    }
    return messages;
  }

  /**
   * Queues a message (held until the handshake completes).
   *
   * @param message The message.
   * @param chunkStreamId Chunk stream (default from {@linkcode chunkStreamFor}).
   */
  send(message: RtmpMessage, chunkStreamId?: number): void {
    if (!this.#handshake.done) {
      this.#pending.push({ message, chunkStreamId });
      return;
    }
    this.#write(this.#encoder.encode(message, chunkStreamId ?? chunkStreamFor(message)));
    if (message.type === MessageType.SET_CHUNK_SIZE) {
      const c = decodeControl(message);
      if (c.kind === "setChunkSize") this.#encoder.chunkSize = c.chunkSize;
    } else if (message.type === MessageType.WINDOW_ACK_SIZE) {
      const c = decodeControl(message);
      if (c.kind === "windowAckSize") this.#ownWindow = c.size;
    }
  }

  /**
   * Takes the bytes to write to the peer.
   *
   * @returns Everything queued since the last call (possibly empty).
   */
  takeOutput(): Uint8Array {
    const parts = this.#out;
    this.#out = [];
    // One part (the usual case: one message sent) is handed out without a copy.
    return parts.length === 1 ? parts[0]! : concat(parts);
  }

  #write(bytes: Uint8Array): void {
    this.#sent += bytes.length;
    this.#out.push(bytes);
  }

  #handle(m: RtmpMessage): void {
    if (m.type === MessageType.WINDOW_ACK_SIZE) {
      const c = decodeControl(m);
      if (c.kind === "windowAckSize") this.#peerWindow = c.size;
    } else if (m.type === MessageType.SET_PEER_BANDWIDTH) {
      const c = decodeControl(m);
      // @implements RTMP §5.4.5 ¶1
      if (c.kind === "setPeerBandwidth" && c.size !== this.#ownWindow) {
        this.send(windowAckSizeMessage(c.size));
      }
    } else if (m.type === MessageType.USER_CONTROL) {
      const c = decodeControl(m);
      // @implements RTMP §7.1.7
      if (c.kind === "userControl" && c.event === UserControlEvent.PING_REQUEST) {
        this.send(userControlMessage(UserControlEvent.PING_RESPONSE, c.data[0] ?? 0));
      }
    }
  }
}
