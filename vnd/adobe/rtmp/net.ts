// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * RTMP over TCP (`Deno.listen`, `Deno.connect`): {@linkcode serveRtmp} runs a live server
 * (one publisher and many players per stream name, optional FLV recording, RTMPT tunnels
 * through {@linkcode RtmpServer.attach}) and {@linkcode RtmpClient} publishes or plays. The
 * protocol itself is the sans-I/O core in `@rtclite/vnd/adobe/rtmp`; this adapter only moves
 * its bytes. A client's refused command throws {@linkcode RtmpRejectedError}; a command
 * without an answer, or a closed connection, {@linkcode RtmpSessionError}.
 *
 * @example Publish to an in-process server and play it back
 * ```ts
 * import { MessageType } from "@rtclite/vnd/adobe/rtmp";
 * import { RtmpClient, serveRtmp } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal } from "node:assert/strict";
 *
 * await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
 * const url = `rtmp://127.0.0.1:${server.addr.port}/live`;
 * const player = await RtmpClient.connect(url);
 * await player.play("cam");
 * const publisher = await RtmpClient.connect(url);
 * const id = await publisher.publish("cam");
 * // A Sorenson H.263 keyframe header, then some bytes.
 * publisher.send({ type: MessageType.VIDEO, streamId: id, timestamp: 0, payload: new Uint8Array([0x12, 1, 2]) });
 * for await (const m of player.messages()) {
 *   if (m.type !== MessageType.VIDEO) continue;
 *   equal(m.payload[0], 0x12);
 *   break;
 * }
 * publisher.close();
 * player.close();
 * ```
 *
 * @module
 */
import { getLogger } from "@rtclite/std/log";
import { type AcceptLoop, acceptLoop } from "@rtclite/std/net";
import type { AmfObject, AmfValue } from "../amf.ts";
import type { ReceivedMessage } from "./chunk.ts";
import {
  parseRtmpUrl,
  RTMP_PORT,
  RtmpConnection,
  RtmpRejectedError,
  RtmpSessionError,
} from "./conn.ts";
import {
  decodeAudioTagHeader,
  decodeVideoTagHeader,
  encodeFlvHeader,
  encodeFlvTag,
} from "./flv.ts";
import {
  decodeAggregate,
  decodeCommand,
  decodeControl,
  decodeData,
  encodeCommand,
  encodeData,
  MessageType,
  type RtmpCommand,
  RtmpError,
  type RtmpMessage,
  setChunkSizeMessage,
  setPeerBandwidthMessage,
  UserControlEvent,
  userControlMessage,
  windowAckSizeMessage,
} from "./message.ts";

const log = getLogger("rtmp", "server");
const clientLog = getLogger("rtmp", "client");

const WINDOW = 2_500_000;

/**
 * A duplex byte transport a server connection can run over: a `Deno.Conn`, or a tunnel
 * such as an RTMPT session (see {@linkcode RtmpServer.attach}).
 */
export interface RtmpTransport {
  /** The peer's address (used in log messages). */
  readonly remoteAddr: Deno.Addr;
  /** Reads into `buffer`; resolves with the byte count, or `null` at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `bytes`; resolves with how many were taken. */
  write(bytes: Uint8Array): Promise<number>;
  /** Closes the transport. */
  close(): void;
}

async function writeAll(conn: RtmpTransport, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** A bounded, ordered writer: drops the connection when the peer reads too slowly. */
class Writer {
  #chain: Promise<void> = Promise.resolve();
  #queued = 0;
  #failed = false;
  constructor(
    readonly conn: RtmpTransport,
    readonly maxQueued: number,
    readonly onFail: (why: string, code: "overflow" | "write") => void,
  ) {}
  write(bytes: Uint8Array): void {
    if (!bytes.length || this.#failed) return;
    if (this.#queued + bytes.length > this.maxQueued) {
      this.#failed = true;
      this.onFail(`more than ${this.maxQueued} bytes waiting to be written`, "overflow");
      return;
    }
    this.#queued += bytes.length;
    this.#chain = this.#chain.then(() => writeAll(this.conn, bytes)).then(
      () => void (this.#queued -= bytes.length),
      (e) => {
        if (!this.#failed) {
          this.#failed = true;
          this.onFail(`write failed: ${(e as Error).message}`, "write");
        }
      },
    );
  }
  get queued(): number {
    return this.#queued;
  }
  drain(): Promise<void> {
    return this.#chain;
  }
}

function status(
  level: string,
  code: string,
  description: string,
  extra: AmfObject = {},
): AmfObject {
  return { level, code, description, ...extra };
}

// === Server ===

/** Options for {@linkcode serveRtmp}. */
export interface RtmpServerOptions {
  /** Address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** TCP port (default 1935; 0 for any free port). */
  port?: number;
  /** Directory to record each published stream to, as `<app>_<name>.flv`. */
  record?: string;
  /** Chunk size the server sends with (default 4096). */
  chunkSize?: number;
  /** Longest message accepted from a client (default 8 MiB). */
  maxMessageSize?: number;
  /** Most simultaneous connections (default 1000). */
  maxConnections?: number;
  /** Bytes queued for a slow player before it is dropped (default 16 MiB). */
  maxQueued?: number;
  /** Time for a client to complete the handshake and `connect`, in ms (default 10 000). */
  connectTimeout?: number;
  /** Called once listening, with the bound address. */
  onListen?: (addr: Deno.NetAddr) => void;
}

interface Player {
  session: Session;
  streamId: number;
  waitKeyframe: boolean;
}

interface Recorder {
  file: Deno.FsFile;
  chain: Promise<void>;
  base: number | undefined;
}

interface Live {
  key: string;
  publisher: { session: Session; streamId: number } | undefined;
  players: Set<Player>;
  metadata: Uint8Array | undefined;
  avcHeader: Uint8Array | undefined;
  aacHeader: Uint8Array | undefined;
  lastTimestamp: number;
  recorder: Recorder | undefined;
}

/**
 * A running RTMP server (see {@linkcode serveRtmp}).
 *
 * @example
 * ```ts
 * import { serveRtmp } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal } from "node:assert/strict";
 *
 * await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
 * equal(server.addr.hostname, "127.0.0.1");
 * ```
 */
export class RtmpServer implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #options: RtmpServerOptions;
  readonly #sessions = new Set<Session>();
  readonly #lives = new Map<string, Live>();
  readonly #loop: AcceptLoop;
  readonly #max: number;
  readonly #finished: Promise<void>;
  #resolveFinished!: () => void;
  #closing = false;
  #closed: Promise<void> | undefined;
  readonly #io = new Set<Promise<void>>();

  /** @internal Use {@linkcode serveRtmp}. */
  constructor(options: RtmpServerOptions) {
    this.#options = options;
    this.#listener = Deno.listen({
      hostname: options.hostname ?? "0.0.0.0",
      port: options.port ?? RTMP_PORT,
      transport: "tcp",
    });
    log.info("RTMP server listening on {host}:{port}", {
      host: this.addr.hostname,
      port: this.addr.port,
    });
    options.onListen?.(this.addr);
    this.#max = options.maxConnections ?? 1000;
    this.#finished = new Promise((r) => (this.#resolveFinished = r));
    this.#loop = acceptLoop(this.#listener, (conn) => this.#serve(conn), {
      maxConnections: this.#max,
      name: "RTMP",
    });
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Number of open client connections. */
  get connections(): number {
    return this.#sessions.size;
  }

  /** Names (`app/stream`) of the streams being published. */
  get streams(): string[] {
    return [...this.#lives.values()].filter((l) => l.publisher).map((l) => l.key);
  }

  /** Resolves when the server has closed. */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /** Serves one accepted TCP connection until its session has closed and drained. */
  async #serve(conn: Deno.TcpConn): Promise<void> {
    const session = this.#open(conn);
    if (!session) return;
    await session.run().finally(() => this.#sessions.delete(session));
    // The accept loop closes the socket when this returns: let queued bytes go out first.
    await session.done;
  }

  /**
   * Starts a session, or refuses the transport when the server is closing or full. The
   * connection cap counts TCP connections and attached tunnels together.
   */
  #open(transport: RtmpTransport): Session | undefined {
    if (this.#closing || this.#sessions.size >= this.#max) {
      log.warn("Refusing connection from {peer}: {why}", {
        peer: addrText(transport.remoteAddr),
        why: this.#closing ? "server closing" : "too many connections",
      });
      try {
        transport.close();
      } catch { /* already closed */ }
      return undefined;
    }
    const session = new Session(this, transport, this.#options);
    this.#sessions.add(session);
    return session;
  }

  /**
   * Runs one server connection over another byte transport (used by RTMPT tunnels), with
   * the same streams, limits and shutdown as the TCP connections.
   *
   * @param transport The transport.
   * @returns `false` (and closes the transport) when the server is closing or full.
   *
   * @example
   * ```ts
   * import { serveRtmp } from "@rtclite/vnd/adobe/rtmp/net";
   * import { equal } from "node:assert/strict";
   *
   * await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
   * let closed = false;
   * const transport = {
   *   remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 },
   *   read: () => Promise.resolve(null),
   *   write: (b: Uint8Array) => Promise.resolve(b.length),
   *   close: () => void (closed = true),
   * };
   * equal(server.attach(transport), true);
   * await server.close();
   * equal(closed, true);
   * ```
   */
  attach(transport: RtmpTransport): boolean {
    const session = this.#open(transport);
    if (!session) return false;
    session.run().finally(() => this.#sessions.delete(session));
    return true;
  }

  /** @internal */
  live(key: string): Live {
    let l = this.#lives.get(key);
    if (!l) {
      l = {
        key,
        publisher: undefined,
        players: new Set(),
        metadata: undefined,
        avcHeader: undefined,
        aacHeader: undefined,
        lastTimestamp: 0,
        recorder: undefined,
      };
      this.#lives.set(key, l);
    }
    return l;
  }

  /** @internal Drops a stream entry nobody uses. */
  tidy(l: Live): void {
    if (!l.publisher && l.players.size === 0) this.#lives.delete(l.key);
  }

  /** @internal Keeps a recording's last writes for {@linkcode RtmpServer.close} to await. */
  track(io: Promise<void>): void {
    this.#io.add(io);
    io.finally(() => this.#io.delete(io));
  }

  /** @internal */
  get recordDir(): string | undefined {
    return this.#options.record;
  }

  /**
   * Stops listening, closes every connection and recording, and waits for them.
   *
   * @returns When everything is closed.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    try {
      this.#listener.close(); // no new connections while the sessions drain
    } catch { /* already closed */ }
    const sessions = [...this.#sessions];
    for (const s of sessions) s.close("server shutting down");
    await Promise.allSettled(sessions.map((s) => s.done));
    await Promise.allSettled([...this.#io]);
    await this.#loop.close();
    log.info("RTMP server closed");
    this.#resolveFinished();
  }

  /** Closes the server (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function addrText(a: Deno.Addr): string {
  return a.transport === "tcp" ? `${a.hostname}:${a.port}` : a.transport;
}

function cleanName(name: string): string {
  return name.split("?")[0]!.trim();
}

class Session {
  readonly rtmp: RtmpConnection;
  readonly writer: Writer;
  readonly peer: string;
  app = "";
  #connected = false;
  #nextStreamId = 1;
  readonly #publishing = new Map<number, Live>();
  readonly #playing = new Map<number, { live: Live; player: Player }>();
  #closed = false;
  #done!: Promise<void>;
  #resolveDone!: () => void;

  constructor(
    readonly server: RtmpServer,
    readonly conn: RtmpTransport,
    readonly options: RtmpServerOptions,
  ) {
    this.peer = addrText(conn.remoteAddr);
    this.rtmp = new RtmpConnection("server", {
      ...(options.maxMessageSize ? { maxMessageSize: options.maxMessageSize } : {}),
    });
    this.writer = new Writer(conn, options.maxQueued ?? 16 * 1024 * 1024, (why) => this.close(why));
    this.#done = new Promise((r) => (this.#resolveDone = r));
  }

  get done(): Promise<void> {
    return this.#done;
  }

  send(message: RtmpMessage): void {
    if (this.#closed) return;
    this.rtmp.send(message);
    this.writer.write(this.rtmp.takeOutput());
  }

  async run(): Promise<void> {
    log.debug("Connection from {peer}", { peer: this.peer });
    const timer = setTimeout(() => {
      if (!this.#connected) this.close("no connect command in time");
    }, this.options.connectTimeout ?? 10_000);
    const buf = new Uint8Array(64 * 1024);
    try {
      while (!this.#closed) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        const messages = this.rtmp.receive(buf.subarray(0, n));
        this.writer.write(this.rtmp.takeOutput());
        for (const m of messages) this.#handle(m);
      }
    } catch (e) {
      if (!this.#closed) {
        const bad = e instanceof RtmpError || e instanceof SyntaxError || e instanceof RangeError;
        log.warn("Dropping {peer}: {error}", {
          peer: this.peer,
          error: bad ? (e as Error).message : String(e),
        });
      }
    } finally {
      clearTimeout(timer);
      this.close();
    }
  }

  close(why?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (why) log.info("Closing {peer}: {why}", { peer: this.peer, why });
    for (const id of [...this.#publishing.keys()]) this.#unpublish(id);
    for (const id of [...this.#playing.keys()]) this.#stopPlay(id);
    // Let queued bytes go out for a moment, then close.
    const closeConn = () => {
      try {
        this.conn.close();
      } catch { /* already closed */ }
      this.#resolveDone();
    };
    Promise.race([this.writer.drain(), new Promise((r) => setTimeout(r, 200))]).then(closeConn);
    log.debug("Closed {peer}", { peer: this.peer });
  }

  #handle(m: RtmpMessage): void {
    switch (m.type) {
      case MessageType.COMMAND_AMF0:
      case MessageType.COMMAND_AMF3:
        return this.#command(decodeCommand(m), m.streamId);
      case MessageType.DATA_AMF0:
      case MessageType.DATA_AMF3:
        return this.#data(m);
      case MessageType.AUDIO:
      case MessageType.VIDEO:
        return this.#media(m);
      case MessageType.AGGREGATE:
        for (const sub of decodeAggregate(m)) this.#handle(sub);
        return;
      default:
        if (m.type <= 6) decodeControl(m); // validates
    }
  }

  #reply(streamId: number, name: string, tid: number, object: AmfValue, ...args: AmfValue[]): void {
    this.send(encodeCommand({ name, transactionId: tid, object, args }, streamId));
  }

  #onStatus(streamId: number, info: AmfObject): void {
    this.#reply(streamId, "onStatus", 0, null, info);
  }

  // @implements RTMP §7.2
  #command(c: RtmpCommand, streamId: number): void {
    log.debug("{peer} command {name} on stream {streamId}", {
      peer: this.peer,
      name: c.name,
      streamId,
    });
    switch (c.name) {
      case "connect": {
        // @implements RTMP §7.2.1.1
        const obj = (c.object ?? {}) as AmfObject;
        this.app = typeof obj.app === "string" ? obj.app.replace(/\/+$/, "") : "";
        this.#connected = true;
        this.send(windowAckSizeMessage(WINDOW));
        this.send(setPeerBandwidthMessage(WINDOW, 2));
        this.send(setChunkSizeMessage(this.options.chunkSize ?? 4096));
        this.send(userControlMessage(UserControlEvent.STREAM_BEGIN, 0));
        this.#reply(
          0,
          "_result",
          c.transactionId,
          { fmsVer: "FMS/3,0,1,123", capabilities: 31 },
          status("status", "NetConnection.Connect.Success", "Connection succeeded.", {
            objectEncoding: 0,
          }),
        );
        log.info("{peer} connected to app {app}", { peer: this.peer, app: this.app });
        return;
      }
      case "createStream": {
        // @implements RTMP §7.2.1.3
        if (this.#nextStreamId > 64) {
          return this.#reply(
            0,
            "_error",
            c.transactionId,
            null,
            status("error", "NetConnection.Call.Failed", "Too many streams"),
          );
        }
        return this.#reply(0, "_result", c.transactionId, null, this.#nextStreamId++);
      }
      case "publish":
        return this.#publish(c, streamId);
      case "play":
        return this.#play(c, streamId);
      case "deleteStream":
      case "closeStream": {
        // @implements RTMP §7.2.2.3
        const id = c.name === "deleteStream" && typeof c.args[0] === "number"
          ? c.args[0]
          : streamId;
        this.#unpublish(id);
        this.#stopPlay(id);
        return;
      }
      case "FCUnpublish":
      case "releaseStream":
      case "FCPublish":
      case "FCSubscribe":
      case "getStreamLength":
        if (c.transactionId) this.#reply(0, "_result", c.transactionId, null);
        return;
      case "receiveAudio":
      case "receiveVideo":
      case "pause":
      case "seek":
      case "_checkbw":
        return;
      default:
        if (c.transactionId) {
          this.#reply(
            0,
            "_error",
            c.transactionId,
            null,
            status("error", "NetConnection.Call.Failed", `Method not found (${c.name})`),
          );
        }
    }
  }

  #key(name: string): string {
    return `${this.app}/${name}`;
  }

  // @implements RTMP §7.2.2.6
  #publish(c: RtmpCommand, streamId: number): void {
    const name = typeof c.args[0] === "string" ? cleanName(c.args[0]) : "";
    if (!name || streamId === 0) {
      return this.#onStatus(
        streamId,
        status("error", "NetStream.Publish.BadName", "Bad stream name"),
      );
    }
    const live = this.server.live(this.#key(name));
    if (live.publisher) {
      log.warn("{peer} cannot publish {key}: already published", {
        peer: this.peer,
        key: live.key,
      });
      return this.#onStatus(
        streamId,
        status("error", "NetStream.Publish.BadName", `${name} is already being published`),
      );
    }
    live.publisher = { session: this, streamId };
    live.metadata = live.avcHeader = live.aacHeader = undefined;
    this.#publishing.set(streamId, live);
    this.send(userControlMessage(UserControlEvent.STREAM_BEGIN, streamId));
    this.#onStatus(
      streamId,
      status("status", "NetStream.Publish.Start", `${name} is now published.`, { details: name }),
    );
    log.info("{peer} publishes {key}", { peer: this.peer, key: live.key });
    const dir = this.server.recordDir;
    if (dir) this.#startRecording(live, dir);
    for (const p of live.players) p.session.startPlayback(live, p);
  }

  #startRecording(live: Live, dir: string): void {
    const file = `${dir}/${live.key.replace(/[^A-Za-z0-9_.-]/g, "_")}.flv`;
    try {
      const f = Deno.openSync(file, { write: true, create: true, truncate: true });
      const rec: Recorder = { file: f, chain: Promise.resolve(), base: undefined };
      live.recorder = rec;
      recordWrite(rec, encodeFlvHeader({ version: 1, audio: true, video: true }));
      log.info("Recording {key} to {file}", { key: live.key, file });
    } catch (e) {
      log.error("Cannot record {key} to {file}: {error}", {
        key: live.key,
        file,
        error: String(e),
      });
    }
  }

  #unpublish(streamId: number): void {
    const live = this.#publishing.get(streamId);
    if (!live) return;
    this.#publishing.delete(streamId);
    live.publisher = undefined;
    log.info("{peer} stopped publishing {key}", { peer: this.peer, key: live.key });
    for (const p of live.players) {
      // @implements RTMP §7.1.7
      p.session.send(userControlMessage(UserControlEvent.STREAM_EOF, p.streamId));
      p.session.#onStatus(
        p.streamId,
        status("status", "NetStream.Play.UnpublishNotify", `${live.key} is now unpublished.`),
      );
      p.session.#onStatus(p.streamId, status("status", "NetStream.Play.Stop", "Stopped playing."));
    }
    const rec = live.recorder;
    live.recorder = undefined;
    if (rec) {
      rec.chain = rec.chain.then(() => rec.file.close()).catch(() => {});
      this.server.track(rec.chain);
    }
    if (!this.#closed) {
      this.#onStatus(
        streamId,
        status("status", "NetStream.Unpublish.Success", "Stopped publishing."),
      );
    }
    this.server.tidy(live);
  }

  // @implements RTMP §7.2.2.1
  #play(c: RtmpCommand, streamId: number): void {
    const name = typeof c.args[0] === "string" ? cleanName(c.args[0]) : "";
    if (!name || streamId === 0) {
      return this.#onStatus(
        streamId,
        status("error", "NetStream.Play.StreamNotFound", "Bad stream name"),
      );
    }
    this.#stopPlay(streamId);
    const live = this.server.live(this.#key(name));
    const player: Player = { session: this, streamId, waitKeyframe: true };
    live.players.add(player);
    this.#playing.set(streamId, { live, player });
    this.send(userControlMessage(UserControlEvent.STREAM_BEGIN, streamId));
    this.#onStatus(
      streamId,
      status("status", "NetStream.Play.Reset", `Playing and resetting ${name}.`, { details: name }),
    );
    this.#onStatus(
      streamId,
      status("status", "NetStream.Play.Start", `Started playing ${name}.`, { details: name }),
    );
    log.info("{peer} plays {key}{waiting}", {
      peer: this.peer,
      key: live.key,
      waiting: live.publisher ? "" : " (waiting for a publisher)",
    });
    if (live.publisher) this.startPlayback(live, player);
  }

  /** Sends what a player joining mid-stream needs first: metadata and codec headers. */
  startPlayback(live: Live, p: Player): void {
    p.waitKeyframe = true;
    const ts = live.lastTimestamp;
    const msg = (type: number, payload: Uint8Array) =>
      this.send({ type, streamId: p.streamId, timestamp: ts, payload });
    if (live.metadata) msg(MessageType.DATA_AMF0, live.metadata);
    if (live.avcHeader) msg(MessageType.VIDEO, live.avcHeader);
    if (live.aacHeader) msg(MessageType.AUDIO, live.aacHeader);
  }

  #stopPlay(streamId: number): void {
    const entry = this.#playing.get(streamId);
    if (!entry) return;
    this.#playing.delete(streamId);
    entry.live.players.delete(entry.player);
    this.server.tidy(entry.live);
  }

  // @implements RTMP §7.1.2
  #data(m: RtmpMessage): void {
    const live = this.#publishing.get(m.streamId);
    if (!live) return;
    const values = decodeData(m);
    if (values[0] === "@setDataFrame") values.shift();
    const payload = encodeData(values).payload;
    if (values[0] === "onMetaData") live.metadata = payload;
    this.#fanOut(live, { ...m, type: MessageType.DATA_AMF0, payload });
  }

  // @implements RTMP §7.1.4, RTMP §7.1.5
  #media(m: RtmpMessage): void {
    const live = this.#publishing.get(m.streamId);
    if (!live || m.payload.length === 0) return;
    live.lastTimestamp = m.timestamp;
    if (m.type === MessageType.VIDEO) {
      const h = decodeVideoTagHeader(m.payload);
      if (h.codecId === 7 && h.avcPacketType === 0) live.avcHeader = m.payload;
    } else {
      const h = decodeAudioTagHeader(m.payload);
      if (h.soundFormat === 10 && h.aacPacketType === 0) live.aacHeader = m.payload;
    }
    this.#fanOut(live, m);
  }

  #fanOut(live: Live, m: RtmpMessage): void {
    const keyframe = m.type === MessageType.VIDEO && m.payload[0]! >> 4 === 1;
    for (const p of live.players) {
      if (m.type === MessageType.VIDEO && p.waitKeyframe) {
        if (!keyframe) continue;
        p.waitKeyframe = false;
      }
      p.session.send({ ...m, streamId: p.streamId });
    }
    const rec = live.recorder;
    if (rec) {
      rec.base ??= m.timestamp;
      const type = m.type as 8 | 9 | 18;
      const timestamp = Math.max(0, m.timestamp - rec.base);
      recordWrite(rec, encodeFlvTag({ type, timestamp, data: m.payload }));
    }
  }
}

function recordWrite(rec: Recorder, bytes: Uint8Array): void {
  rec.chain = rec.chain.then(async () => {
    let off = 0;
    while (off < bytes.length) off += await rec.file.write(bytes.subarray(off));
  }).catch((e) => log.error("Recording write failed: {error}", { error: String(e) }));
}

/**
 * Starts an RTMP server: clients publish live streams by name (`rtmp://host/app/name`), and
 * any number of clients play them. Malformed input drops only the client that sent it.
 *
 * @param options Address, port, recording directory, limits.
 * @returns The running server; `close()` (or `await using`) stops it.
 *
 * @example
 * ```ts
 * import { RtmpClient, serveRtmp } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal } from "node:assert/strict";
 *
 * await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
 * const client = await RtmpClient.connect(`rtmp://127.0.0.1:${server.addr.port}/live`);
 * await client.publish("cam");
 * equal(server.streams[0], "live/cam");
 * client.close();
 * ```
 */
export function serveRtmp(options: RtmpServerOptions = {}): RtmpServer {
  return new RtmpServer(options);
}

// === Client ===

/** Options for {@linkcode RtmpClient.connect}. */
export interface RtmpClientOptions {
  /** Time limit for the TCP connection, handshake and each command (default 10 000 ms). */
  timeout?: number;
  /** Chunk size the client sends with (default 4096). */
  chunkSize?: number;
  /** Extra connect command properties (e.g. `flashVer`). */
  connectObject?: AmfObject;
}

/**
 * An RTMP client over TCP: connect, create streams, publish or play.
 *
 * @example See {@linkcode serveRtmp}.
 * ```ts
 * import { RtmpClient } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal } from "node:assert/strict";
 *
 * equal(typeof RtmpClient.connect, "function");
 * ```
 */
export class RtmpClient {
  readonly #conn: Deno.TcpConn;
  readonly #rtmp: RtmpConnection;
  readonly #timeout: number;
  readonly #writer: Writer;
  #tid = 1;
  readonly #pending = new Map<
    number,
    { resolve: (c: RtmpCommand) => void; reject: (e: Error) => void }
  >();
  readonly #statusWaiters: { streamId: number; resolve: (info: AmfObject) => void }[] = [];
  readonly #statuses: { streamId: number; info: AmfObject }[] = [];
  readonly #queue: ReceivedMessage[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #error: Error | undefined;
  readonly #reading: Promise<void>;

  private constructor(conn: Deno.TcpConn, timeout: number) {
    this.#conn = conn;
    this.#timeout = timeout;
    this.#rtmp = new RtmpConnection("client");
    this.#writer = new Writer(
      conn,
      64 * 1024 * 1024,
      (why, code) => this.#fail(new RtmpSessionError(`RTMP connection dropped: ${why}`, code)),
    );
    this.#flush();
    this.#reading = this.#read();
  }

  /**
   * Connects: TCP, handshake, then the `connect` command for the URL's app.
   *
   * @param url `rtmp://host[:port]/app[/stream]`.
   * @param options Time limit, chunk size, connect properties.
   * @returns The connected client.
   * @throws {RtmpRejectedError} When the server rejects the connection.
   * @throws {RtmpSessionError} When it does not answer in time or closes the connection.
   */
  static async connect(url: string, options: RtmpClientOptions = {}): Promise<RtmpClient> {
    const u = parseRtmpUrl(url);
    const timeout = options.timeout ?? 10_000;
    const conn = await Deno.connect({ hostname: u.hostname, port: u.port, transport: "tcp" });
    const client = new RtmpClient(conn, timeout);
    try {
      const res = await client.call("connect", {
        app: u.app,
        flashVer: "FMLE/3.0 (compatible; rtclite)",
        tcUrl: u.tcUrl,
        fpad: false,
        capabilities: 15,
        audioCodecs: 4071,
        videoCodecs: 252,
        videoFunction: 1,
        type: "nonprivate",
        ...(options.connectObject ?? {}),
      });
      if (res.name !== "_result") throw new RtmpRejectedError("connect", statusOf(res), res.name);
      client.send(setChunkSizeMessage(options.chunkSize ?? 4096));
      clientLog.debug("Connected to {url}", { url: u.tcUrl });
      return client;
    } catch (e) {
      client.close();
      throw e;
    }
  }

  /**
   * Sends a command and waits for its `_result` or `_error`.
   *
   * @param name Command name.
   * @param object Command object.
   * @param args Further arguments.
   * @returns The response command.
   */
  call(name: string, object: AmfValue, ...args: AmfValue[]): Promise<RtmpCommand> {
    const transactionId = this.#tid++;
    const p = new Promise<RtmpCommand>((resolve, reject) => {
      this.#pending.set(transactionId, { resolve, reject });
    });
    this.send(encodeCommand({ name, transactionId, object, args }));
    return this.#limit(p, name);
  }

  /**
   * Creates a NetStream.
   *
   * @returns Its message stream ID.
   */
  async createStream(): Promise<number> {
    const res = await this.call("createStream", null);
    const id = res.args[0];
    if (res.name !== "_result" || typeof id !== "number") {
      throw new RtmpRejectedError("createStream", statusOf(res), res.name);
    }
    return id;
  }

  /**
   * Publishes a live stream: `releaseStream`, `FCPublish`, `createStream`, `publish`, then
   * waits for `NetStream.Publish.Start`.
   *
   * @param name Stream name.
   * @returns The message stream ID to send audio, video and data messages on.
   */
  async publish(name: string): Promise<number> {
    // The order ffmpeg and OBS use; ffmpeg's own server depends on it.
    for (const command of ["releaseStream", "FCPublish"]) {
      const transactionId = this.#tid++;
      this.send(encodeCommand({ name: command, transactionId, object: null, args: [name] }));
    }
    const streamId = await this.createStream();
    const info = this.#status(streamId);
    this.send(
      encodeCommand(
        { name: "publish", transactionId: 0, object: null, args: [name, "live"] },
        streamId,
      ),
    );
    const got = await info;
    if (got.code !== "NetStream.Publish.Start") {
      throw new RtmpRejectedError("publish", got, "NetStream.Publish.Failed");
    }
    return streamId;
  }

  /**
   * Plays a stream: `createStream`, `play`, Set Buffer Length, then waits for
   * `NetStream.Play.Start`.
   *
   * @param name Stream name.
   * @returns The message stream ID the media arrives on.
   */
  async play(name: string): Promise<number> {
    const streamId = await this.createStream();
    this.send(
      encodeCommand({ name: "play", transactionId: 0, object: null, args: [name, -2] }, streamId),
    );
    this.send(userControlMessage(UserControlEvent.SET_BUFFER_LENGTH, streamId, 1000));
    for (;;) {
      const got = await this.#status(streamId);
      if (got.code === "NetStream.Play.Start") return streamId;
      if (got.level === "error") throw new RtmpRejectedError("play", got, "NetStream.Play.Failed");
    }
  }

  /**
   * Sends a message (audio, video, data, command).
   *
   * @param message The message.
   */
  send(message: RtmpMessage): void {
    if (this.#closed) return;
    this.#rtmp.send(message);
    this.#flush();
  }

  /** Bytes waiting to be written (to pace a publisher). */
  get queued(): number {
    return this.#writer.queued;
  }

  /**
   * Waits until everything sent has been written to the socket.
   *
   * @returns When the write queue is empty.
   */
  drain(): Promise<void> {
    return this.#writer.drain();
  }

  /**
   * Yields received audio, video and data messages, and `onStatus` commands, until the
   * connection closes; each says which chunk stream and header type carried it.
   *
   * @returns The messages.
   */
  async *messages(): AsyncGenerator<ReceivedMessage> {
    for (;;) {
      const m = this.#queue.shift();
      if (m) {
        yield m;
        continue;
      }
      if (this.#closed) {
        if (this.#error) throw this.#error;
        return;
      }
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  /** Closes the connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = this.#error ?? new RtmpSessionError("RTMP connection closed", "closed");
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#wake?.();
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /** Resolves when the read loop has ended. */
  get closed(): Promise<void> {
    return this.#reading;
  }

  #fail(e: Error): void {
    this.#error ??= e;
    this.close();
  }

  #flush(): void {
    this.#writer.write(this.#rtmp.takeOutput());
  }

  #status(streamId: number): Promise<AmfObject> {
    const i = this.#statuses.findIndex((s) => s.streamId === streamId);
    if (i >= 0) return Promise.resolve(this.#statuses.splice(i, 1)[0]!.info);
    return this.#limit(
      new Promise<AmfObject>((resolve) => this.#statusWaiters.push({ streamId, resolve })),
      "onStatus",
    );
  }

  #limit<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new RtmpSessionError(`RTMP ${what}: no answer in ${this.#timeout} ms`, "timeout"),
            ),
          this.#timeout,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (!this.#closed) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        const messages = this.#rtmp.receive(buf.subarray(0, n));
        this.#flush();
        for (const m of messages) this.#handle(m);
      }
    } catch (e) {
      if (!this.#closed) this.#error ??= e as Error;
    } finally {
      this.close();
    }
  }

  #handle(m: ReceivedMessage): void {
    if (m.type === MessageType.COMMAND_AMF0 || m.type === MessageType.COMMAND_AMF3) {
      const c = decodeCommand(m);
      if (c.name === "_result" || c.name === "_error") {
        const p = this.#pending.get(c.transactionId);
        this.#pending.delete(c.transactionId);
        p?.resolve(c);
        return;
      }
      if (c.name === "onStatus") {
        const info = (c.args[0] ?? {}) as AmfObject;
        clientLog.debug("onStatus {code}", { code: String(info.code) });
        const i = this.#statusWaiters.findIndex((w) => w.streamId === m.streamId);
        if (i >= 0) this.#statusWaiters.splice(i, 1)[0]!.resolve(info);
        else if (this.#statuses.length < 64) this.#statuses.push({ streamId: m.streamId, info });
      }
      this.#queue.push(m);
    } else if (
      m.type === MessageType.AUDIO || m.type === MessageType.VIDEO ||
      m.type === MessageType.DATA_AMF0 || m.type === MessageType.DATA_AMF3
    ) {
      this.#queue.push(m);
    } else {
      return;
    }
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}

/** The status object of a `_result`/`_error` response (its first argument), if it is one. */
function statusOf(res: RtmpCommand): AmfObject | undefined {
  const a = res.args[0];
  return a !== null && typeof a === "object" && !Array.isArray(a) ? a as AmfObject : undefined;
}
