// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * RTMP over TCP (`Deno.listen`, `Deno.connect`): {@linkcode serveRtmp} runs a server (one
 * publisher and many players per live stream name, FLV recording with append, recordings
 * played by name with seek and pause, an {@linkcode RtmpApplication} hook that accepts or
 * refuses connect, publish and play and answers the client's calls, RTMPT tunnels through
 * {@linkcode RtmpServer.attach}); {@linkcode RtmpClient} publishes, plays, pauses and seeks;
 * {@linkcode copyStream} copies a stream to another server or to a file. The protocol itself
 * is the sans-I/O core in `@rtclite/vnd/adobe/rtmp`; this adapter only moves its bytes. A
 * client's refused command throws {@linkcode RtmpRejectedError}; a command without an
 * answer, or a closed connection, {@linkcode RtmpSessionError}.
 *
 * Limits (all in {@linkcode RtmpServerOptions}): 1000 connections, 100 per IP address, a
 * handshake within 5 s, `connect` within 10 s, and a session that neither publishes nor plays
 * for 30 s is closed; 64 streams per connection, 8 MiB per message, 16 MiB queued for a slow
 * reader, 256 recordings playing. Recording and playback file names are percent-encoded
 * ({@linkcode streamFileName}), so no two names share a file and none leaves the directory.
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
  FlvError,
  FlvReader,
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

// The AMF and message types this module's API uses (so that its documentation is complete).
export {
  type AmfObject,
  type AmfValue,
  AmfVector,
  Dictionary,
  EcmaArray,
  Externalizable,
  TypedObject,
  type VectorType,
  Xml,
  XmlDocument,
} from "../amf.ts";
export type { ChunkFormat, ReceivedMessage } from "./chunk.ts";
export type { RtmpCommand, RtmpMessage } from "./message.ts";

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

async function writeAll(
  conn: { write(bytes: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
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

/**
 * What an {@linkcode RtmpApplication} hook decides. Returning nothing accepts; `reject`
 * refuses with that description (the client sees it in the status object).
 *
 * @example
 * ```ts
 * import type { RtmpVerdict } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal } from "node:assert/strict";
 *
 * const no: RtmpVerdict = { reject: "Unknown user", code: "NetConnection.Connect.Rejected" };
 * equal(no.reject, "Unknown user");
 * ```
 */
export interface RtmpVerdict {
  /** Refuse the command, with this description. */
  reject?: string;
  /**
   * The status code to refuse with. Defaults: `NetConnection.Connect.Rejected` (connect),
   * `NetStream.Publish.BadName` (publish), `NetStream.Play.Failed` (play).
   */
  code?: string;
  /**
   * `onConnect` only: this session's idle timeout in milliseconds (0: never), instead of the
   * server's {@linkcode RtmpServerOptions.idleTimeout}. An application whose clients wait
   * without publishing or playing (a phone waiting for calls) sets it.
   */
  idleTimeout?: number;
}

/** What a hook may return: a verdict, nothing (accept), or a promise of either. */
export type RtmpHookResult = RtmpVerdict | void | Promise<RtmpVerdict | void>;

/**
 * One client connection as a server-side {@linkcode RtmpApplication} sees it.
 *
 * @example See {@linkcode RtmpApplication}.
 * ```ts
 * import type { RtmpServerSession } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal } from "node:assert/strict";
 *
 * const names = (s: RtmpServerSession) => `${s.id}:${s.app}`;
 * equal(typeof names, "function");
 * ```
 */
export interface RtmpServerSession {
  /** A number unique within the process. */
  readonly id: number;
  /** The application the client connected to (`app` of the connect command). */
  readonly app: string;
  /** The connect command's object (`app`, `tcUrl`, `flashVer`, ...). */
  readonly connectObject: AmfObject;
  /** The client's address. */
  readonly remoteAddr: Deno.Addr;
  /**
   * Calls a method on the client (a command with transaction ID 0, no answer expected).
   *
   * @param name The method name.
   * @param args Its arguments.
   */
  invoke(name: string, ...args: AmfValue[]): void;
  /**
   * Closes the connection.
   *
   * @param reason Why (logged).
   */
  close(reason?: string): void;
}

/**
 * The server-side application hook of {@linkcode serveRtmp}: accept or refuse `connect`,
 * `publish` and `play` (with a reason the client sees), and answer the client's own calls
 * (`NetConnection.call("name", responder, ...args)`). Every member is optional; hooks may
 * be async. A hook that throws refuses, with a generic description.
 *
 * @example Only alice may connect; `add` sums its arguments
 * ```ts
 * import { RtmpCallError, type RtmpApplication, RtmpClient, serveRtmp } from "@rtclite/vnd/adobe/rtmp/net";
 * import { RtmpRejectedError } from "@rtclite/vnd/adobe/rtmp";
 * import { equal, rejects } from "node:assert/strict";
 *
 * const application: RtmpApplication = {
 *   onConnect: (_session, args) => args[0] === "alice" ? undefined : { reject: "Unknown user" },
 *   onCall: (_session, name, args) => {
 *     if (name !== "add") throw new RtmpCallError(`No method ${name}`);
 *     return (args[0] as number) + (args[1] as number);
 *   },
 * };
 * await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, application });
 * const url = `rtmp://127.0.0.1:${server.addr.port}/app`;
 * await rejects(RtmpClient.connect(url, { connectArgs: ["mallory"] }),
 *   (e) => e instanceof RtmpRejectedError && e.info?.description === "Unknown user");
 * const alice = await RtmpClient.connect(url, { connectArgs: ["alice"] });
 * const sum = await alice.call("add", null, 2, 3);
 * equal(sum.name, "_result");
 * equal(sum.args[0], 5);
 * equal((await alice.call("nope", null)).name, "_error");
 * alice.close();
 * ```
 */
export interface RtmpApplication {
  /** A client sent `connect`; `args` are the values after the command object. */
  onConnect?(session: RtmpServerSession, args: AmfValue[]): RtmpHookResult;
  /** A client asked to publish `name` (`type` is `"live"`, `"record"` or `"append"`). */
  onPublish?(session: RtmpServerSession, name: string, type: string): RtmpHookResult;
  /** A client asked to play `name`. */
  onPlay?(session: RtmpServerSession, name: string): RtmpHookResult;
  /**
   * A client called `name` with a transaction ID: the value returned (or resolved) is sent
   * in `_result`; an {@linkcode RtmpCallError} thrown is sent in `_error` with its code and
   * message, any other error as `NetConnection.Call.Failed` without details.
   */
  onCall?(session: RtmpServerSession, name: string, args: AmfValue[]): AmfValue | Promise<AmfValue>;
  /** The session closed (after a successful connect). */
  onClose?(session: RtmpServerSession): void;
}

/**
 * Thrown by {@linkcode RtmpApplication.onCall} to answer the client's call with `_error`
 * carrying `code` and the message as the description.
 *
 * @example
 * ```ts
 * import { RtmpCallError } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal } from "node:assert/strict";
 *
 * const e = new RtmpCallError("Busy", "NetConnection.Call.Busy");
 * equal(e.code, "NetConnection.Call.Busy");
 * equal(new RtmpCallError("No").code, "NetConnection.Call.Failed");
 * ```
 */
export class RtmpCallError extends Error {
  /** The status code sent to the client. */
  readonly code: string;

  /**
   * Creates a call error.
   *
   * @param message The description sent to the client.
   * @param code The status code (default `NetConnection.Call.Failed`).
   */
  constructor(message: string, code = "NetConnection.Call.Failed") {
    super(message);
    this.name = "RtmpCallError";
    this.code = code;
  }
}

/** Options for {@linkcode serveRtmp}. */
export interface RtmpServerOptions {
  /** Address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** TCP port (default 1935; 0 for any free port). */
  port?: number;
  /**
   * Directory to record each published stream to, in the file named by
   * {@linkcode streamFileName}; `publish(name, "append")` appends to an existing recording.
   */
  record?: string;
  /**
   * Directory of recorded streams to play by name (video on demand, files named by
   * {@linkcode streamFileName}; default: the `record` directory).
   */
  vod?: string;
  /** The application hook: accept or refuse connect, publish and play; answer calls. */
  application?: RtmpApplication;
  /** Chunk size the server sends with (default 4096). */
  chunkSize?: number;
  /** Longest message accepted from a client (default 8 MiB). */
  maxMessageSize?: number;
  /** Most simultaneous connections (default 1000). */
  maxConnections?: number;
  /** Most simultaneous connections from one IP address (default 100). */
  maxPerAddress?: number;
  /** Most streams (`createStream`) per connection (default 64). */
  maxStreams?: number;
  /** Bytes queued for a slow player before it is dropped (default 16 MiB). */
  maxQueued?: number;
  /** Most recordings played at once, server-wide (each holds a file open; default 256). */
  maxRecordedPlays?: number;
  /** Time for a client to complete the handshake, in ms from accepting it (default 5000). */
  handshakeTimeout?: number;
  /** Time for a client to complete the handshake and `connect`, in ms (default 10 000). */
  connectTimeout?: number;
  /**
   * A session that neither publishes nor plays for this long is closed, in ms (default
   * 30 000; 0: never). Counted from the connection's start and again whenever its last
   * stream ends; an application can change it per session (see {@linkcode RtmpVerdict}).
   */
  idleTimeout?: number;
  /** Called once listening, with the bound address. */
  onListen?: (addr: Deno.NetAddr) => void;
}

/**
 * The file a stream is recorded to and played from: the UTF-8 bytes of `app/name`, each byte
 * outside `[A-Za-z0-9-]` written as `%XX` (so `_`, `/` and `.` too), then `.flv`. Distinct
 * names give distinct files (`live_a/b` and `live/a_b` no longer meet), and no name can
 * leave the directory. Names that {@linkcode checkStreamName} refuses have no file.
 *
 * @param app The application.
 * @param name The stream name.
 * @returns A file name without a directory.
 *
 * @example
 * ```ts
 * import { streamFileName } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal, notEqual } from "node:assert/strict";
 *
 * equal(streamFileName("live", "cam-1"), "live%2Fcam-1.flv");
 * notEqual(streamFileName("live_a", "b"), streamFileName("live", "a_b"));
 * equal(streamFileName("live", "../x"), "live%2F%2E%2E%2Fx.flv");
 * ```
 */
export function streamFileName(app: string, name: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(`${app}/${name}`)) {
    const keep = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) || b === 0x2d;
    out += keep ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return `${out}.flv`;
}

/** Longest file name {@linkcode streamFileName} may produce (file systems allow 255 bytes). */
const MAX_FILE_NAME = 255;

/**
 * Says why a stream name is refused, or `undefined` when it is fine: empty, control
 * characters, a `.`/`..` or empty path segment, or a file name longer than 255 bytes.
 *
 * @param app The application.
 * @param name The stream name (query string already removed).
 * @returns The reason, or `undefined`.
 *
 * @example
 * ```ts
 * import { checkStreamName } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal } from "node:assert/strict";
 *
 * equal(checkStreamName("live", "cam"), undefined);
 * equal(checkStreamName("live", "../../etc/passwd"), "a path segment is . or ..");
 * ```
 */
export function checkStreamName(app: string, name: string): string | undefined {
  if (!name) return "the name is empty";
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) return "the name has control characters";
  const segments = name.split("/");
  if (segments.some((s) => s === "." || s === "..")) return "a path segment is . or ..";
  if (segments.some((s) => s === "")) return "a path segment is empty";
  if (streamFileName(app, name).length > MAX_FILE_NAME) return "the name is too long";
  return undefined;
}

interface Player {
  session: Session;
  streamId: number;
  waitKeyframe: boolean;
  paused: boolean;
}

interface Recorder {
  file: Deno.FsFile;
  chain: Promise<void>;
  /** The first message's timestamp. */
  base: number | undefined;
  /** Added to every timestamp: after the last tag of the file appended to. */
  offset: number;
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
  readonly #perAddress = new Map<string, number>();
  readonly #lives = new Map<string, Live>();
  readonly #loop: AcceptLoop;
  readonly #max: number;
  readonly #maxPerAddress: number;
  readonly #finished: Promise<void>;
  #resolveFinished!: () => void;
  #closing = false;
  #closed: Promise<void> | undefined;
  readonly #io = new Set<Promise<void>>();
  /** Connections {@linkcode RtmpServer.#open} refused (the accept loop counts its own). */
  #refused = 0;

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
    this.#maxPerAddress = options.maxPerAddress ?? 100;
    this.#finished = new Promise((r) => (this.#resolveFinished = r));
    this.#loop = acceptLoop(this.#listener, (conn) => this.#serve(conn), {
      maxConnections: this.#max,
      maxPerAddress: this.#maxPerAddress,
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

  /** How many connections the caps refused so far (total and per address). */
  get refused(): number {
    return this.#loop.refused + this.#refused;
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
    await session.run().finally(() => this.#forget(session));
    // The accept loop closes the socket when this returns: let queued bytes go out first.
    await session.done;
  }

  /**
   * Starts a session, or refuses the transport when the server is closing or full. The
   * connection caps count TCP connections and attached tunnels together.
   */
  #open(transport: RtmpTransport): Session | undefined {
    const host = hostOf(transport.remoteAddr);
    const why = this.#closing
      ? "server closing"
      : this.#sessions.size >= this.#max
      ? "too many connections"
      : (this.#perAddress.get(host) ?? 0) >= this.#maxPerAddress
      ? "too many connections from that address"
      : undefined;
    if (why) {
      this.#refused++;
      log.warn("Refusing connection from {peer}: {why}", {
        peer: addrText(transport.remoteAddr),
        why,
      });
      try {
        transport.close();
      } catch { /* already closed */ }
      return undefined;
    }
    const session = new Session(this, transport, this.#options);
    this.#sessions.add(session);
    this.#perAddress.set(host, (this.#perAddress.get(host) ?? 0) + 1);
    return session;
  }

  #forget(session: Session): void {
    if (!this.#sessions.delete(session)) return;
    const host = hostOf(session.remoteAddr);
    const n = (this.#perAddress.get(host) ?? 1) - 1;
    n ? this.#perAddress.set(host, n) : this.#perAddress.delete(host);
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
    session.run().finally(() => this.#forget(session));
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

  #recordedPlays = 0;

  /** @internal Takes one of the recorded plays the server allows; `false` when none is left. */
  claimRecordedPlay(): boolean {
    if (this.#recordedPlays >= (this.#options.maxRecordedPlays ?? 256)) return false;
    this.#recordedPlays++;
    return true;
  }

  /** @internal Gives back a recorded play. */
  releaseRecordedPlay(): void {
    this.#recordedPlays--;
  }

  /** @internal Whether `key` is being published now. */
  published(key: string): boolean {
    return this.#lives.get(key)?.publisher !== undefined;
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

function hostOf(a: Deno.Addr): string {
  return "hostname" in a ? a.hostname : a.transport;
}

function cleanName(name: string): string {
  return name.split("?")[0]!.trim();
}

/** Commands waiting for an application hook before the connection is dropped. */
const MAX_QUEUED_COMMANDS = 32;

let sessionIds = 0;

class Session implements RtmpServerSession {
  readonly id: number = ++sessionIds;
  readonly rtmp: RtmpConnection;
  readonly writer: Writer;
  readonly peer: string;
  readonly remoteAddr: Deno.Addr;
  readonly application: RtmpApplication | undefined;
  app = "";
  connectObject: AmfObject = {};
  #connected = false;
  #streams = 0;
  #idleTimeout: number;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #commands: Promise<void> = Promise.resolve();
  #queuedCommands = 0;
  readonly #publishing = new Map<number, Live>();
  readonly #playing = new Map<number, { live: Live; player: Player }>();
  readonly #vods = new Map<number, Vod>();
  #closed = false;
  #done!: Promise<void>;
  #resolveDone!: () => void;

  constructor(
    readonly server: RtmpServer,
    readonly conn: RtmpTransport,
    readonly options: RtmpServerOptions,
  ) {
    this.remoteAddr = conn.remoteAddr;
    this.peer = addrText(conn.remoteAddr);
    this.application = options.application;
    this.#idleTimeout = options.idleTimeout ?? 30_000;
    this.rtmp = new RtmpConnection("server", {
      ...(options.maxMessageSize ? { maxMessageSize: options.maxMessageSize } : {}),
    });
    this.writer = new Writer(conn, options.maxQueued ?? 16 * 1024 * 1024, (why) => this.close(why));
    this.#done = new Promise((r) => (this.#resolveDone = r));
  }

  get done(): Promise<void> {
    return this.#done;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(message: RtmpMessage): void {
    if (this.#closed) return;
    this.rtmp.send(message);
    this.writer.write(this.rtmp.takeOutput());
  }

  invoke(name: string, ...args: AmfValue[]): void {
    this.send(encodeCommand({ name, transactionId: 0, object: null, args }));
  }

  async run(): Promise<void> {
    log.debug("Connection from {peer}", { peer: this.peer });
    const handshake = this.options.handshakeTimeout ?? 5_000;
    const connect = this.options.connectTimeout ?? 10_000;
    const timers = [
      setTimeout(() => {
        if (!this.rtmp.connected) this.close(`no handshake in ${handshake} ms`);
      }, handshake),
      setTimeout(() => {
        if (!this.#connected) this.close(`no connect command in ${connect} ms`);
      }, connect),
    ];
    this.#updateIdle();
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
      for (const t of timers) clearTimeout(t);
      this.close();
    }
  }

  close(why?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    if (why) log.info("Closing {peer}: {why}", { peer: this.peer, why });
    for (const id of [...this.#publishing.keys()]) this.#unpublish(id);
    for (const id of [...this.#playing.keys()]) this.#stopPlay(id);
    for (const id of [...this.#vods.keys()]) this.#stopPlay(id);
    if (this.#connected) {
      try {
        this.application?.onClose?.(this);
      } catch (e) {
        log.error("Application onClose failed: {error}", { error: String(e) });
      }
    }
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

  /**
   * Arms the idle timer while the session neither publishes nor plays, disarms it otherwise.
   */
  updateIdle(): void {
    this.#updateIdle();
  }

  #updateIdle(): void {
    const busy = this.#publishing.size > 0 || this.#playing.size > 0 ||
      [...this.#vods.values()].some((v) => v.running);
    if (busy || !this.#idleTimeout || this.#closed) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    } else if (this.#idleTimer === undefined) {
      const ms = this.#idleTimeout;
      this.#idleTimer = setTimeout(
        () => this.close(`neither published nor played for ${ms} ms`),
        ms,
      );
    }
  }

  #handle(m: RtmpMessage): void {
    switch (m.type) {
      case MessageType.COMMAND_AMF0:
      case MessageType.COMMAND_AMF3:
        return this.#queueCommand(decodeCommand(m), m.streamId);
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

  /** Runs commands one after another, since application hooks may take time. */
  #queueCommand(c: RtmpCommand, streamId: number): void {
    if (++this.#queuedCommands > MAX_QUEUED_COMMANDS) {
      return this.close(`more than ${MAX_QUEUED_COMMANDS} commands waiting`);
    }
    this.#commands = this.#commands.then(async () => {
      this.#queuedCommands--;
      if (this.#closed) return;
      try {
        await this.#command(c, streamId);
      } catch (e) {
        log.warn("Dropping {peer}: {command} failed: {error}", {
          peer: this.peer,
          command: c.name,
          error: String(e),
        });
        this.close();
      }
    });
  }

  /** Asks the application hook; resolves with a refusal, or `undefined` to go on. */
  async #ask(
    hook: () => RtmpHookResult,
    what: string,
  ): Promise<RtmpVerdict | undefined> {
    try {
      return (await hook()) || undefined;
    } catch (e) {
      log.error("Application {what} hook failed: {error}", { what, error: String(e) });
      return { reject: `${what} refused` };
    }
  }

  #reply(streamId: number, name: string, tid: number, object: AmfValue, ...args: AmfValue[]): void {
    this.send(encodeCommand({ name, transactionId: tid, object, args }, streamId));
  }

  #onStatus(streamId: number, info: AmfObject): void {
    this.#reply(streamId, "onStatus", 0, null, info);
  }

  /** @internal For players and recordings of other sessions. */
  onStatus(streamId: number, info: AmfObject): void {
    this.#onStatus(streamId, info);
  }

  // @implements RTMP §7.2
  async #command(c: RtmpCommand, streamId: number): Promise<void> {
    log.debug("{peer} command {name} on stream {streamId}", {
      peer: this.peer,
      name: c.name,
      streamId,
    });
    if (c.name !== "connect" && !this.#connected) {
      throw new RtmpError(`Command ${c.name} before connect`, 0);
    }
    switch (c.name) {
      case "connect":
        return await this.#connect(c);
      case "createStream": {
        // @implements RTMP §7.2.1.3
        if (this.#streams >= (this.options.maxStreams ?? 64)) {
          return this.#reply(
            0,
            "_error",
            c.transactionId,
            null,
            status("error", "NetConnection.Call.Failed", "Too many streams"),
          );
        }
        return this.#reply(0, "_result", c.transactionId, null, ++this.#streams);
      }
      case "publish":
        return await this.#publish(c, streamId);
      case "play":
        return await this.#play(c, streamId);
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
      case "pause":
        return this.#pause(c, streamId);
      case "seek":
        return this.#seek(c, streamId);
      case "getStreamLength":
        if (c.transactionId) {
          this.#reply(0, "_result", c.transactionId, null, await this.#streamLength(c.args[0]));
        }
        return;
      case "FCUnpublish":
      case "releaseStream":
      case "FCPublish":
      case "FCSubscribe":
        if (c.transactionId) this.#reply(0, "_result", c.transactionId, null);
        return;
      case "receiveAudio":
      case "receiveVideo":
      case "_checkbw":
        return;
      default:
        return await this.#call(c);
    }
  }

  // @implements RTMP §7.2.1.1
  async #connect(c: RtmpCommand): Promise<void> {
    if (this.#connected) throw new RtmpError("Second connect command", 0);
    const obj = c.object !== null && typeof c.object === "object" && !Array.isArray(c.object)
      ? c.object as AmfObject
      : {};
    this.connectObject = obj;
    this.app = typeof obj.app === "string" ? obj.app.replace(/\/+$/, "") : "";
    const app = this.application;
    const verdict = app?.onConnect
      ? await this.#ask(() => app.onConnect!(this, c.args), "connect")
      : undefined;
    if (this.#closed) return;
    if (verdict?.reject !== undefined) {
      log.info("{peer} refused by the application: {why}", {
        peer: this.peer,
        why: verdict.reject,
      });
      this.#reply(
        0,
        "_error",
        c.transactionId,
        null,
        status("error", verdict.code ?? "NetConnection.Connect.Rejected", verdict.reject),
      );
      return this.close("connect refused");
    }
    this.#connected = true;
    if (verdict?.idleTimeout !== undefined) {
      this.#idleTimeout = verdict.idleTimeout;
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      this.#updateIdle();
    }
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
  }

  // @implements RTMP §7.2.1.2
  async #call(c: RtmpCommand): Promise<void> {
    if (!c.transactionId) return; // a notification nobody answers
    const onCall = this.application?.onCall;
    if (!onCall) {
      return this.#reply(
        0,
        "_error",
        c.transactionId,
        null,
        status("error", "NetConnection.Call.Failed", `Method not found (${c.name})`),
      );
    }
    try {
      const value = await onCall.call(this.application, this, c.name, c.args);
      this.#reply(0, "_result", c.transactionId, null, value);
    } catch (e) {
      const known = e instanceof RtmpCallError;
      if (!known) {
        log.error("Application call {name} failed: {error}", { name: c.name, error: String(e) });
      }
      this.#reply(
        0,
        "_error",
        c.transactionId,
        null,
        status(
          "error",
          known ? e.code : "NetConnection.Call.Failed",
          known ? e.message : `Call ${c.name} failed`,
        ),
      );
    }
  }

  /**
   * The length in seconds of the recording `name` (its last tag's time; FFmpeg asks before it
   * plays a recording), or 0 when there is none.
   */
  async #streamLength(arg: AmfValue | undefined): Promise<number> {
    const raw = typeof arg === "string" ? cleanName(arg) : "";
    const name = raw.startsWith("flv:") ? raw.slice(4) : raw;
    const dir = this.options.vod ?? this.options.record;
    if (!dir || checkStreamName(this.app, name)) return 0;
    const last = await lastTagTimestamp(`${dir}/${streamFileName(this.app, name)}`).catch(
      () => undefined,
    );
    return typeof last === "number" ? last / 1000 : 0;
  }

  #key(name: string): string {
    return `${this.app}/${name}`;
  }

  // @implements RTMP §7.2.2.6
  async #publish(c: RtmpCommand, streamId: number): Promise<void> {
    const name = typeof c.args[0] === "string" ? cleanName(c.args[0]) : "";
    const type = typeof c.args[1] === "string" ? c.args[1] : "live";
    const bad = streamId === 0 ? "no stream" : checkStreamName(this.app, name);
    if (bad) {
      return this.#onStatus(
        streamId,
        status("error", "NetStream.Publish.BadName", `Bad stream name: ${bad}`),
      );
    }
    const app = this.application;
    const verdict = app?.onPublish
      ? await this.#ask(() => app.onPublish!(this, name, type), "publish")
      : undefined;
    if (this.#closed) return;
    if (verdict?.reject !== undefined) {
      return this.#onStatus(
        streamId,
        status("error", verdict.code ?? "NetStream.Publish.BadName", verdict.reject),
      );
    }
    if (this.#publishing.has(streamId) || this.server.published(this.#key(name))) {
      log.warn("{peer} cannot publish {key}: already published", {
        peer: this.peer,
        key: this.#key(name),
      });
      return this.#onStatus(
        streamId,
        status("error", "NetStream.Publish.BadName", `${name} is already being published`),
      );
    }
    const dir = this.options.record;
    let recorder: Recorder | undefined;
    if (dir) {
      const path = `${dir}/${streamFileName(this.app, name)}`;
      try {
        recorder = await openRecording(path, type === "append");
      } catch (e) {
        log.error("Cannot record {key} to {file}: {error}", {
          key: this.#key(name),
          file: path,
          error: String(e),
        });
        return this.#onStatus(
          streamId,
          status("error", "NetStream.Record.Failed", `Cannot record ${name}`),
        );
      }
      if (this.#closed || this.server.published(this.#key(name))) {
        recorder.file.close();
        if (!this.#closed) {
          this.#onStatus(
            streamId,
            status("error", "NetStream.Publish.BadName", `${name} is already being published`),
          );
        }
        return;
      }
      log.info("Recording {key} to {file}{append}", {
        key: this.#key(name),
        file: path,
        append: recorder.offset ? ` (appending after ${recorder.offset - 1} ms)` : "",
      });
    }
    const live = this.server.live(this.#key(name));
    live.publisher = { session: this, streamId };
    live.metadata = live.avcHeader = live.aacHeader = undefined;
    live.recorder = recorder;
    this.#publishing.set(streamId, live);
    this.#updateIdle();
    this.send(userControlMessage(UserControlEvent.STREAM_BEGIN, streamId));
    this.#onStatus(
      streamId,
      status("status", "NetStream.Publish.Start", `${name} is now published.`, { details: name }),
    );
    if (recorder) {
      this.#onStatus(
        streamId,
        status("status", "NetStream.Record.Start", `Recording ${name}.`, { details: name }),
      );
    }
    log.info("{peer} publishes {key}", { peer: this.peer, key: live.key });
    for (const p of live.players) p.session.startPlayback(live, p);
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
      p.session.onStatus(
        p.streamId,
        status("status", "NetStream.Play.UnpublishNotify", `${live.key} is now unpublished.`),
      );
      p.session.onStatus(p.streamId, status("status", "NetStream.Play.Stop", "Stopped playing."));
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
    this.#updateIdle();
  }

  // @implements RTMP §7.2.2.1
  async #play(c: RtmpCommand, streamId: number): Promise<void> {
    const raw = typeof c.args[0] === "string" ? cleanName(c.args[0]) : "";
    const name = raw.startsWith("flv:") ? raw.slice(4) : raw;
    // Start: -2 live, else recorded, else wait for live; -1 live only; 0 or more: recorded
    // from that time. Clients send milliseconds: ffmpeg -2000 and -1000, librtmp -1000.
    const raw2 = typeof c.args[1] === "number" ? c.args[1] : -2;
    const start = raw2 === -2000 ? -2 : raw2 < 0 && raw2 !== -2 ? -1 : raw2;
    const bad = streamId === 0 ? "no stream" : checkStreamName(this.app, name);
    if (bad) {
      return this.#onStatus(
        streamId,
        status("error", "NetStream.Play.StreamNotFound", `Bad stream name: ${bad}`),
      );
    }
    const app = this.application;
    const verdict = app?.onPlay
      ? await this.#ask(() => app.onPlay!(this, name), "play")
      : undefined;
    if (this.#closed) return;
    if (verdict?.reject !== undefined) {
      return this.#onStatus(
        streamId,
        status("error", verdict.code ?? "NetStream.Play.Failed", verdict.reject),
      );
    }
    this.#stopPlay(streamId);
    const key = this.#key(name);
    const dir = this.options.vod ?? this.options.record;
    const wantRecorded = start >= 0 || (start === -2 && !this.server.published(key));
    if (dir && wantRecorded) {
      const path = `${dir}/${streamFileName(this.app, name)}`;
      const found = await Deno.stat(path).then((s) => s.isFile, () => false);
      if (this.#closed) return;
      if (found) return this.#playRecorded(streamId, name, path, Math.max(0, start));
    }
    const live = this.server.live(key);
    const player: Player = { session: this, streamId, waitKeyframe: true, paused: false };
    live.players.add(player);
    this.#playing.set(streamId, { live, player });
    this.#updateIdle();
    this.send(userControlMessage(UserControlEvent.STREAM_BEGIN, streamId));
    this.#playStatus(streamId, name);
    log.info("{peer} plays {key}{waiting}", {
      peer: this.peer,
      key: live.key,
      waiting: live.publisher ? "" : " (waiting for a publisher)",
    });
    if (live.publisher) this.startPlayback(live, player);
  }

  #playStatus(streamId: number, name: string): void {
    this.#onStatus(
      streamId,
      status("status", "NetStream.Play.Reset", `Playing and resetting ${name}.`, { details: name }),
    );
    this.#onStatus(
      streamId,
      status("status", "NetStream.Play.Start", `Started playing ${name}.`, { details: name }),
    );
  }

  #playRecorded(streamId: number, name: string, path: string, from: number): void {
    if (!this.server.claimRecordedPlay()) {
      log.warn("{peer} cannot play {file}: too many recordings playing", {
        peer: this.peer,
        file: path,
      });
      return this.#onStatus(
        streamId,
        status("error", "NetStream.Play.Failed", "Too many recordings playing, try later"),
      );
    }
    log.info("{peer} plays the recording {file} from {from} ms", {
      peer: this.peer,
      file: path,
      from,
    });
    // @implements RTMP §7.1.7
    this.send(userControlMessage(UserControlEvent.STREAM_IS_RECORDED, streamId));
    this.send(userControlMessage(UserControlEvent.STREAM_BEGIN, streamId));
    this.#playStatus(streamId, name);
    const vod = new Vod(this, streamId, name, path);
    this.#vods.set(streamId, vod);
    vod.start(from);
    this.#updateIdle();
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
    const vod = this.#vods.get(streamId);
    if (vod) {
      this.#vods.delete(streamId);
      vod.stop();
      this.server.releaseRecordedPlay();
    }
    const entry = this.#playing.get(streamId);
    if (entry) {
      this.#playing.delete(streamId);
      entry.live.players.delete(entry.player);
      this.server.tidy(entry.live);
    }
    this.#updateIdle();
  }

  // @implements RTMP §7.2.2.8
  #pause(c: RtmpCommand, streamId: number): void {
    const pause = c.args[0] === true;
    const at = typeof c.args[1] === "number" ? c.args[1] : 0;
    const vod = this.#vods.get(streamId);
    const live = this.#playing.get(streamId)?.player;
    if (!vod && !live) {
      const info = status("error", "NetStream.Failed", "Not playing");
      return c.transactionId
        ? this.#reply(0, "_error", c.transactionId, null, info)
        : this.#onStatus(streamId, info);
    }
    if (vod) vod.pause(pause, at);
    if (live) {
      live.paused = pause;
      live.waitKeyframe = true;
    }
    if (pause) {
      this.#onStatus(
        streamId,
        status("status", "NetStream.Pause.Notify", "Paused.", { details: at }),
      );
    } else {
      this.#onStatus(
        streamId,
        status("status", "NetStream.Unpause.Notify", "Unpaused.", { details: at }),
      );
    }
  }

  // @implements RTMP §7.2.2.7
  #seek(c: RtmpCommand, streamId: number): void {
    const at = typeof c.args[0] === "number" ? Math.max(0, c.args[0]) : 0;
    const vod = this.#vods.get(streamId);
    if (!vod) {
      // A live stream cannot seek.
      return this.#onStatus(
        streamId,
        status("error", "NetStream.Seek.Failed", "Only recorded streams can seek"),
      );
    }
    this.#onStatus(
      streamId,
      status("status", "NetStream.Seek.Notify", `Seeking ${at} ms.`, { details: vod.name }),
    );
    this.#onStatus(
      streamId,
      status("status", "NetStream.Play.Start", `Started playing ${vod.name}.`, {
        details: vod.name,
      }),
    );
    vod.start(at);
    this.#updateIdle();
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
      if (p.paused) continue;
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
      const timestamp = rec.offset + Math.max(0, m.timestamp - rec.base);
      recordWrite(rec, encodeFlvTag({ type, timestamp, data: m.payload }));
    }
  }
}

// === Recording and video on demand ===

/**
 * Opens a recording: a new file (FLV header written), or with `append` the end of an
 * existing one, whose last tag's timestamp (found through the last PreviousTagSize) the new
 * tags follow.
 */
async function openRecording(path: string, append: boolean): Promise<Recorder> {
  let offset = 0;
  let fresh = true;
  if (append) {
    const last = await lastTagTimestamp(path);
    if (last !== undefined) {
      fresh = false;
      offset = last === null ? 0 : last + 1;
    }
  }
  const file = await Deno.open(
    path,
    fresh ? { write: true, create: true, truncate: true } : { write: true, append: true },
  );
  const rec: Recorder = { file, chain: Promise.resolve(), base: undefined, offset };
  if (fresh) recordWrite(rec, encodeFlvHeader({ version: 1, audio: true, video: true }));
  return rec;
}

/**
 * The timestamp of an FLV file's last tag: `undefined` when there is no file, `null` when it
 * has no tags yet.
 *
 * @throws {FlvError} When the file does not end with a valid tag and back-pointer.
 */
async function lastTagTimestamp(path: string): Promise<number | null | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    const size = (await file.stat()).size;
    if (size === 0) return undefined; // created but never written: start afresh
    const head = await readAt(file, 0, 13);
    if (head[0] !== 0x46 || head[1] !== 0x4c || head[2] !== 0x56) {
      throw new FlvError(`Cannot append to ${path}: not an FLV file`, 0);
    }
    if (size === 13) return null;
    // @implements FLV "The FLV file body"
    const back = new DataView((await readAt(file, size - 4, 4)).buffer).getUint32(0);
    const at = size - 4 - back;
    const tag = at >= 13 ? await readAt(file, at, 11) : new Uint8Array(0);
    const dataSize = (tag[1]! << 16) | (tag[2]! << 8) | tag[3]!;
    if (tag.length < 11 || ![8, 9, 18].includes(tag[0]! & 0x1f) || dataSize + 11 !== back) {
      throw new FlvError(`Cannot append to ${path}: its last tag is damaged`, size - 4);
    }
    // @implements FLV "FLV tags"
    return ((tag[7]! << 24) | (tag[4]! << 16) | (tag[5]! << 8) | tag[6]!) >>> 0;
  } finally {
    file.close();
  }
}

async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  await file.seek(offset, Deno.SeekMode.Start);
  const out = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = await file.read(out.subarray(got));
    if (n === null) return out.subarray(0, got);
    got += n;
  }
  return out;
}

function recordWrite(rec: Recorder, bytes: Uint8Array): void {
  rec.chain = rec.chain.then(async () => {
    let off = 0;
    while (off < bytes.length) off += await rec.file.write(bytes.subarray(off));
  }).catch((e) => log.error("Recording write failed: {error}", { error: String(e) }));
}

/** How far ahead of real time a recorded stream is sent, in milliseconds. */
const VOD_LEAD = 1000;

/**
 * Plays a recorded FLV file on one stream, paced by its timestamps (up to
 * {@linkcode VOD_LEAD} ms ahead), with seek and pause. At the end it sends
 * `onPlayStatus` `NetStream.Play.Complete`, `onStatus` `NetStream.Play.Stop` and Stream EOF.
 */
class Vod {
  /** Bumped by every start and stop: a run that sees another value has been replaced. */
  #generation = 0;
  #paused = false;
  /** The stream time of the last tag sent. */
  #position = 0;
  /** The stream time at {@linkcode Vod.#clock} (a start, seek or resume). */
  #origin = 0;
  /** When the stream was at {@linkcode Vod.#origin}, in `performance.now()` milliseconds. */
  #clock = 0;
  #wake: (() => void) | undefined;
  running = false;

  constructor(
    readonly session: Session,
    readonly streamId: number,
    readonly name: string,
    readonly path: string,
  ) {}

  /** Plays from `from` milliseconds (a start, or a seek). */
  start(from: number): void {
    const generation = ++this.#generation;
    this.#position = from;
    this.#origin = from;
    this.#clock = performance.now();
    this.running = true;
    this.#wakeUp();
    this.#run(generation, from).catch((e) => {
      log.warn("Cannot play {file}: {error}", { file: this.path, error: String(e) });
      if (generation === this.#generation) this.#end(generation, "NetStream.Play.Failed");
    });
  }

  pause(on: boolean, _at: number): void {
    if (on === this.#paused) return;
    // The stream clock stands still while paused.
    if (on) this.#origin = this.#now();
    this.#clock = performance.now();
    this.#paused = on;
    this.#wakeUp();
  }

  /** The stream time now: where a player without a buffer would be. */
  #now(): number {
    return this.#paused ? this.#origin : this.#origin + performance.now() - this.#clock;
  }

  stop(): void {
    this.#generation++;
    this.running = false;
    this.#wakeUp();
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** Waits `ms`, or less when paused, sought or stopped. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(generation: number, from: number): Promise<void> {
    const s = this.session;
    const live = () => generation === this.#generation && !s.closed;
    using file = await Deno.open(this.path);
    const reader = new FlvReader();
    const buf = new Uint8Array(64 * 1024);
    let waitKeyframe = true;
    for (;;) {
      const n = await file.read(buf);
      if (!live()) return;
      if (n === null) break;
      for (const tag of reader.push(buf.subarray(0, n))) {
        const config = tag.type === 18 || isSequenceHeader(tag.type, tag.data);
        if (tag.timestamp < from && !config) continue;
        if (tag.type === 9 && !config && waitKeyframe) {
          if (tag.data[0]! >> 4 !== 1) continue;
          waitKeyframe = false;
        }
        // Pace: send up to VOD_LEAD ms ahead of the stream clock.
        for (;;) {
          if (!live()) return;
          const due = this.#paused
            ? 60_000
            : Math.max(tag.timestamp, from) - this.#now() - VOD_LEAD;
          if (due <= 0) break;
          await this.#sleep(due);
        }
        if (s.writer.queued > 1024 * 1024) await s.writer.drain();
        if (!live()) return;
        this.#position = Math.max(this.#position, tag.timestamp);
        s.send({
          type: tag.type,
          streamId: this.streamId,
          timestamp: Math.max(tag.timestamp, from),
          payload: tag.data,
        });
      }
    }
    this.#end(generation, undefined);
  }

  #end(generation: number, failure: string | undefined): void {
    const s = this.session;
    if (generation !== this.#generation || s.closed) return;
    this.running = false;
    if (failure) {
      s.onStatus(this.streamId, status("error", failure, `Cannot play ${this.name}`));
    } else {
      log.info("{peer} reached the end of {file}", { peer: s.peer, file: this.path });
      s.send(
        encodeData(
          ["onPlayStatus", { level: "status", code: "NetStream.Play.Complete" }],
          this.streamId,
          this.#position,
        ),
      );
      s.onStatus(
        this.streamId,
        status("status", "NetStream.Play.Stop", `Stopped playing ${this.name}.`, {
          details: this.name,
        }),
      );
    }
    s.send(userControlMessage(UserControlEvent.STREAM_EOF, this.streamId));
    s.updateIdle();
  }
}

/** Whether a media tag is an AVC or AAC sequence header (decoder configuration). */
function isSequenceHeader(type: number, data: Uint8Array): boolean {
  if (type === 9) return (data[0]! & 0x0f) === 7 && data[1] === 0;
  if (type === 8) return data[0]! >> 4 === 10 && data[1] === 0;
  return false;
}

/**
 * Starts an RTMP server: clients publish live streams by name (`rtmp://host/app/name`), and
 * any number of clients play them, or play recorded files by name. Malformed input drops only
 * the client that sent it; idle clients are closed and connections capped in total and per
 * address (see {@linkcode RtmpServerOptions}).
 *
 * @param options Address, port, recording directory, application hook, limits.
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
  /** Values sent after the connect command's object (credentials an application checks). */
  connectArgs?: AmfValue[];
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
      }, ...(options.connectArgs ?? []));
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
   * @param type `"live"` (default), `"record"`, or `"append"` (add to an existing recording).
   * @returns The message stream ID to send audio, video and data messages on.
   * @throws {RtmpRejectedError} When the server refuses (`NetStream.Publish.BadName`, ...).
   */
  async publish(name: string, type: "live" | "record" | "append" = "live"): Promise<number> {
    // The order ffmpeg and OBS use; ffmpeg's own server depends on it.
    for (const command of ["releaseStream", "FCPublish"]) {
      const transactionId = this.#tid++;
      this.send(encodeCommand({ name: command, transactionId, object: null, args: [name] }));
    }
    const streamId = await this.createStream();
    this.send(
      encodeCommand(
        { name: "publish", transactionId: 0, object: null, args: [name, type] },
        streamId,
      ),
    );
    await this.#until(streamId, "publish", "NetStream.Publish.Start");
    return streamId;
  }

  /**
   * Plays a stream: `createStream`, `play`, Set Buffer Length, then waits for
   * `NetStream.Play.Start`.
   *
   * @param name Stream name.
   * @param start `-2` (default): live, else recorded; `-1`: live only; `0` or more: the
   * recording from that many milliseconds.
   * @returns The message stream ID the media arrives on.
   * @throws {RtmpRejectedError} When the server refuses (`NetStream.Play.StreamNotFound`, ...).
   */
  async play(name: string, start = -2): Promise<number> {
    const streamId = await this.createStream();
    this.send(
      encodeCommand(
        { name: "play", transactionId: 0, object: null, args: [name, start] },
        streamId,
      ),
    );
    this.send(userControlMessage(UserControlEvent.SET_BUFFER_LENGTH, streamId, 1000));
    await this.#until(streamId, "play", "NetStream.Play.Start");
    return streamId;
  }

  /**
   * Pauses or resumes a stream being played, and waits for `NetStream.Pause.Notify` or
   * `NetStream.Unpause.Notify`.
   *
   * @param streamId The stream {@linkcode RtmpClient.play} returned.
   * @param paused `true` to pause, `false` to resume.
   * @param position The stream time the client is at, in milliseconds.
   * @throws {RtmpRejectedError} When the server refuses.
   */
  async pause(streamId: number, paused: boolean, position = 0): Promise<void> {
    // @implements RTMP §7.2.2.8
    this.send(
      encodeCommand(
        { name: "pause", transactionId: 0, object: null, args: [paused, position] },
        streamId,
      ),
    );
    await this.#until(
      streamId,
      "pause",
      paused ? "NetStream.Pause.Notify" : "NetStream.Unpause.Notify",
    );
  }

  /**
   * Moves a recorded stream being played to `position` milliseconds, and waits for
   * `NetStream.Seek.Notify`.
   *
   * @param streamId The stream {@linkcode RtmpClient.play} returned.
   * @param position Where to go, in milliseconds.
   * @throws {RtmpRejectedError} When the server refuses (a live stream cannot seek).
   */
  async seek(streamId: number, position: number): Promise<void> {
    // @implements RTMP §7.2.2.7
    this.send(
      encodeCommand({ name: "seek", transactionId: 0, object: null, args: [position] }, streamId),
    );
    await this.#until(streamId, "seek", "NetStream.Seek.Notify");
  }

  /** Waits for the status `code` on a stream, skipping others; an error status rejects. */
  async #until(streamId: number, command: string, code: string): Promise<AmfObject> {
    for (;;) {
      const got = await this.#status(streamId);
      if (got.code === code) return got;
      if (got.level === "error") throw new RtmpRejectedError(command, got, "NetStream.Failed");
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

// === Copying a stream ===

/** Options for {@linkcode copyStream}. */
export interface CopyStreamOptions {
  /** Stop after this many milliseconds (default: when the source ends). */
  duration?: number;
  /** Stops the copy. */
  signal?: AbortSignal;
  /** The source's play start: `-2` (default) live or recorded, `-1` live, `0+` recorded. */
  start?: number;
  /** How to publish at an `rtmp://` target (default `"live"`). */
  publishType?: "live" | "record" | "append";
  /** Options of both connections. */
  client?: RtmpClientOptions;
  /** Called once the target is ready and the source plays. */
  onStart?: () => void;
}

/**
 * Copies a stream from an `rtmp://` URL to another RTMP server (it publishes there) or to an
 * FLV file, as the original rtclite's `rtmpclient` did: metadata, audio and video, with
 * timestamps counted from the first media message. It ends when the source stops
 * (`NetStream.Play.Stop`, `NetStream.Play.UnpublishNotify`, or the connection closes), after
 * `duration`, or on `signal`.
 *
 * @param source `rtmp://host[:port]/app/stream` to play.
 * @param target `rtmp://host[:port]/app/stream` to publish to, or an FLV file path.
 * @param options Duration, signal, play start, publish type, client options.
 * @returns The number of messages (FLV tags) copied.
 * @throws {RtmpRejectedError} When either server refuses.
 * @throws {RtmpSessionError} When either connection fails.
 *
 * @example Copy a live stream from one server to another
 * ```ts
 * import { MessageType } from "@rtclite/vnd/adobe/rtmp";
 * import { copyStream, RtmpClient, serveRtmp } from "@rtclite/vnd/adobe/rtmp/net";
 * import { equal } from "node:assert/strict";
 *
 * await using a = serveRtmp({ hostname: "127.0.0.1", port: 0 });
 * await using b = serveRtmp({ hostname: "127.0.0.1", port: 0 });
 * const started = Promise.withResolvers<void>();
 * const copying = copyStream(`rtmp://127.0.0.1:${a.addr.port}/live/cam`,
 *   `rtmp://127.0.0.1:${b.addr.port}/live/copy`, { onStart: started.resolve });
 * await started.promise;
 * equal(b.streams[0], "live/copy");
 * const publisher = await RtmpClient.connect(`rtmp://127.0.0.1:${a.addr.port}/live`);
 * const id = await publisher.publish("cam");
 * for (let i = 0; i < 3; i++) {
 *   publisher.send({ type: MessageType.VIDEO, streamId: id, timestamp: i * 40, payload: new Uint8Array([0x12, i]) });
 * }
 * await publisher.drain();
 * await new Promise((r) => setTimeout(r, 200));
 * publisher.close();
 * equal(await copying, 3);
 * ```
 */
export async function copyStream(
  source: string,
  target: string,
  options: CopyStreamOptions = {},
): Promise<number> {
  const from = parseRtmpUrl(source);
  const toRtmp = target.startsWith("rtmp:");
  const to = toRtmp ? parseRtmpUrl(target) : undefined;
  const player = await RtmpClient.connect(source, options.client);
  let publisher: RtmpClient | undefined;
  let file: Deno.FsFile | undefined;
  const stop = () => player.close();
  options.signal?.addEventListener("abort", stop, { once: true });
  const timer = options.duration !== undefined ? setTimeout(stop, options.duration) : undefined;
  let copied = 0;
  try {
    let streamId = 0;
    if (to) {
      publisher = await RtmpClient.connect(target, options.client);
      streamId = await publisher.publish(to.stream, options.publishType ?? "live");
    } else {
      file = await Deno.open(target, { write: true, create: true, truncate: true });
      await file.write(encodeFlvHeader({ version: 1, audio: true, video: true }));
    }
    if (!options.signal?.aborted) await player.play(from.stream, options.start ?? -2);
    options.onStart?.();
    let base: number | undefined;
    for await (const m of player.messages()) {
      if (m.type === MessageType.COMMAND_AMF0 || m.type === MessageType.COMMAND_AMF3) {
        const code = statusOf(decodeCommand(m))?.code;
        if (code === "NetStream.Play.Stop" || code === "NetStream.Play.UnpublishNotify") break;
        continue;
      }
      let payload = m.payload;
      if (m.type === MessageType.DATA_AMF0 || m.type === MessageType.DATA_AMF3) {
        const values = decodeData(m);
        if (values[0] === "@setDataFrame") values.shift();
        if (values[0] !== "onMetaData") continue; // onPlayStatus, |RtmpSampleAccess, ...
        payload = publisher
          ? encodeData(["@setDataFrame", ...values]).payload
          : encodeData(values).payload;
      } else {
        base ??= m.timestamp;
      }
      const timestamp = Math.max(0, m.timestamp - (base ?? m.timestamp));
      const type = m.type === MessageType.DATA_AMF3 ? MessageType.DATA_AMF0 : m.type;
      if (publisher) {
        publisher.send({ type, streamId, timestamp, payload });
        if (publisher.queued > 4 * 1024 * 1024) await publisher.drain();
      } else {
        await writeAll(file!, encodeFlvTag({ type: type as 8 | 9 | 18, timestamp, data: payload }));
      }
      copied++;
    }
    if (publisher) {
      publisher.send(
        encodeCommand({ name: "deleteStream", transactionId: 0, object: null, args: [streamId] }),
      );
      await publisher.drain();
    }
    return copied;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", stop);
    player.close();
    publisher?.close();
    file?.close();
  }
}
