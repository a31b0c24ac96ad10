// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * RTMP over RTMFP: how Flash Player carries `NetConnection` and `NetStream` on RTMFP flows. Not
 * part of RFC 7016 (which leaves flow metadata and message formats to the application); this
 * follows what the open servers that served Flash Player (OpenRTMFP Cumulus, MonaServer) do:
 *
 * - A flow's metadata names what it carries: `00 54 43 04 00` the NetConnection, `00 54 43 04`
 *   followed by a VLU stream id a NetStream ({@linkcode flowSignature}).
 * - Each flow message is an RTMP message without the chunk header: a type byte, a 32-bit
 *   timestamp, then the body: AMF 0 commands (type 0x14; 0x11 with one more byte for AMF 3
 *   clients), audio (0x08) and video (0x09) in FLV tag format ({@linkcode encodeFlashMessage}).
 * - Answers go on a flow the server opens in return to the client's flow (Return Flow
 *   Association, RFC 7016 §2.3.11.1.2).
 *
 * {@linkcode FlashServer} answers `connect`, `createStream`, `publish`, `play` and
 * `deleteStream` and relays each published stream's audio and video to its players;
 * {@linkcode FlashClient} is the client side. Both are sans-I/O over {@linkcode RtmfpSession}s.
 *
 * @example A message round trip
 * ```ts
 * import { decodeFlashMessage, encodeFlashMessage } from "@rtclite/vnd/adobe/rtmfp/flash";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const bytes = encodeFlashMessage({ type: "command", timestamp: 0, values: ["play", 0, null, "cam"] });
 * equal(bytes[0], 0x14);
 * deepEqual(decodeFlashMessage(bytes), { type: "command", timestamp: 0, values: ["play", 0, null, "cam"] });
 * ```
 *
 * @module
 */
import {
  type AmfObject,
  type AmfValue,
  decodeAmf0Values,
  encodeAmf0Values,
} from "@rtclite/vnd/adobe/amf";
import { ByteReader, ByteWriter, equals } from "@rtclite/std/bytes";
import {
  readVlu,
  type RecvFlow,
  RtmfpError,
  RtmfpParseError,
  type RtmfpSession,
  type SendFlow,
  writeVlu,
} from "./session.ts";

export * from "./session.ts";
export * from "@rtclite/vnd/adobe/amf"; // the values flow messages carry

// === Flow signatures ===

const SIGNATURE = Uint8Array.of(0x00, 0x54, 0x43, 0x04);

/**
 * The metadata of a Flash flow: the NetConnection's (no stream id, or 0) or a NetStream's.
 *
 * @param streamId The NetStream's id (omit for the NetConnection).
 * @returns The flow metadata.
 */
export function flowSignature(streamId = 0): Uint8Array {
  const w = new ByteWriter(8);
  w.bytes(SIGNATURE);
  writeVlu(w, streamId);
  return w.finish();
}

/**
 * Reads a Flash flow's metadata.
 *
 * @param metadata The flow's metadata.
 * @returns The stream id (0 for the NetConnection), or `undefined` if not a Flash flow.
 */
export function decodeFlowSignature(metadata: Uint8Array): number | undefined {
  if (metadata.length < 5 || !equals(metadata.subarray(0, 4), SIGNATURE)) return undefined;
  try {
    return readVlu(
      new ByteReader(metadata, (m, at) => new RtmfpParseError(m, at), "flow", 4),
      "id",
    );
  } catch {
    return undefined;
  }
}

// === Messages ===

/** A message on a Flash flow. */
export type FlashMessage =
  | {
    /** An AMF 0 command (`connect`, `_result`, `onStatus`, ...). */
    type: "command";
    /** Timestamp (0 for commands). */
    timestamp: number;
    /** Name, transaction id, command object, arguments. */
    values: AmfValue[];
    /** Sent as AMF 3 (type 0x11) by an AMF 3 client. */
    amf3?: boolean;
  }
  | {
    /** Audio or video, an FLV tag body. */
    type: "audio" | "video";
    /** Milliseconds. */
    timestamp: number;
    /** The FLV tag body (for audio: the sound format byte, then the samples). */
    data: Uint8Array;
  }
  | {
    /** Any other RTMP message type. */
    type: "other";
    /** The RTMP message type. */
    code: number;
    /** The bytes after the type. */
    body: Uint8Array;
  };

/**
 * Encodes a flow message.
 *
 * @param message The message.
 * @returns The bytes.
 */
export function encodeFlashMessage(message: FlashMessage): Uint8Array {
  const w = new ByteWriter(64);
  switch (message.type) {
    case "command":
      w.u8(message.amf3 ? 0x11 : 0x14);
      if (message.amf3) w.u8(0);
      w.u32(message.timestamp);
      w.bytes(encodeAmf0Values(message.values));
      break;
    case "audio":
    case "video":
      w.u8(message.type === "audio" ? 0x08 : 0x09);
      w.u32(message.timestamp);
      w.bytes(message.data);
      break;
    case "other":
      w.u8(message.code);
      w.bytes(message.body);
  }
  return w.finish();
}

/**
 * Decodes a flow message.
 *
 * @param bytes The message.
 * @returns The message.
 * @throws {RtmfpParseError} On a truncated message or bad AMF.
 */
export function decodeFlashMessage(bytes: Uint8Array): FlashMessage {
  const r = new ByteReader(bytes, (m, at) => new RtmfpParseError(m, at), "Flash flow message");
  const code = r.u8("type");
  switch (code) {
    case 0x11:
    case 0x14: {
      if (code === 0x11) r.u8("AMF 3 marker");
      const timestamp = r.u32("timestamp");
      let values: AmfValue[];
      try {
        values = decodeAmf0Values(bytes.subarray(r.pos));
      } catch (e) {
        throw new RtmfpParseError(`Cannot decode Flash command: ${(e as Error).message}`, r.pos);
      }
      return code === 0x11
        ? { type: "command", timestamp, values, amf3: true }
        : { type: "command", timestamp, values };
    }
    case 0x08:
    case 0x09: {
      const timestamp = r.u32("timestamp");
      return { type: code === 0x08 ? "audio" : "video", timestamp, data: bytes.slice(r.pos) };
    }
    default:
      return { type: "other", code, body: bytes.slice(1) };
  }
}

const status = (level: string, code: string, description: string): AmfObject => ({
  level,
  code,
  description,
});

// === Server ===

interface Publication {
  publisher: SendFlow | undefined;
  players: Set<SendFlow>;
}

/**
 * The server side: give it each session (`serve(session)`); it answers NetConnection and
 * NetStream commands and relays media from publishers to players of the same stream name.
 */
export class FlashServer {
  /** Counters. */
  readonly stats = { connects: 0, publishes: 0, plays: 0, mediaIn: 0, mediaOut: 0 };
  readonly #publications = new Map<string, Publication>();
  /** Decides whether to accept a `connect` (default: every application). */
  accept: (app: string, session: RtmfpSession) => boolean = () => true;

  /**
   * Starts serving a session's Flash flows.
   *
   * @param session An open session.
   */
  serve(session: RtmfpSession): void {
    let streams = 0;
    const previous = session.onFlow;
    session.onFlow = (flow) => {
      const streamId = decodeFlowSignature(flow.metadata);
      if (streamId === undefined) return previous?.(flow);
      let reply: SendFlow | undefined;
      const answer = (values: AmfValue[]) => {
        reply ??= session.openFlow(flowSignature(streamId), flow.id);
        reply.send(encodeFlashMessage({ type: "command", timestamp: 0, values }));
      };
      let publishing: string | undefined;
      flow.onMessage = (bytes) => {
        let message: FlashMessage;
        try {
          message = decodeFlashMessage(bytes);
        } catch {
          return;
        }
        if (message.type === "audio" || message.type === "video") {
          if (publishing === undefined) return;
          this.stats.mediaIn++;
          for (const p of this.#publications.get(publishing)?.players ?? []) {
            if (p.state !== "open") continue;
            p.send(bytes);
            this.stats.mediaOut++;
          }
          return;
        }
        if (message.type !== "command") return;
        const [name, txn = 0, , arg] = message.values;
        switch (name) {
          case "connect": {
            const app = String((message.values[2] as AmfObject | null)?.app ?? "");
            if (!this.accept(app, session)) {
              answer(["_error", txn, null, status("error", "NetConnection.Connect.Rejected", app)]);
              return;
            }
            this.stats.connects++;
            answer([
              "_result",
              txn,
              null,
              {
                ...status("status", "NetConnection.Connect.Success", "Connection succeeded."),
                objectEncoding: 0,
              },
            ]);
            return;
          }
          case "createStream":
            answer(["_result", txn, null, ++streams]);
            return;
          case "publish": {
            const stream = String(arg);
            const pub = this.#pub(stream);
            if (pub.publisher && pub.publisher.state === "open") {
              answer(["onStatus", 0, null, status("error", "NetStream.Publish.BadName", stream)]);
              return;
            }
            reply ??= session.openFlow(flowSignature(streamId), flow.id);
            pub.publisher = reply;
            publishing = stream;
            this.stats.publishes++;
            answer(["onStatus", 0, null, status("status", "NetStream.Publish.Start", stream)]);
            return;
          }
          case "play": {
            const stream = String(arg);
            reply ??= session.openFlow(flowSignature(streamId), flow.id);
            this.#pub(stream).players.add(reply);
            this.stats.plays++;
            answer(["onStatus", 0, null, status("status", "NetStream.Play.Start", stream)]);
            return;
          }
          case "closeStream":
          case "deleteStream":
            if (publishing !== undefined) this.#pub(publishing).publisher = undefined;
            publishing = undefined;
            return;
        }
      };
    };
  }

  #pub(name: string): Publication {
    let p = this.#publications.get(name);
    if (!p) this.#publications.set(name, p = { publisher: undefined, players: new Set() });
    return p;
  }
}

// === Client ===

/** A NetStream of a {@linkcode FlashClient}. */
export class FlashStream {
  /** The stream id. */
  readonly id: number;
  /** Called with audio and video messages (played streams). */
  onMedia?: (message: FlashMessage & { type: "audio" | "video" }) => void;
  /** Called with `onStatus` information objects. */
  onStatus?: (info: AmfObject) => void;
  readonly #flow: SendFlow;

  /** @internal Made by {@linkcode FlashClient.createStream}. */
  constructor(id: number, flow: SendFlow) {
    this.id = id;
    this.#flow = flow;
  }

  /**
   * Sends an audio message (an FLV audio tag body) on a published stream.
   *
   * @param timestamp Milliseconds.
   * @param data The FLV audio tag body.
   */
  sendAudio(timestamp: number, data: Uint8Array): void {
    this.#flow.send(encodeFlashMessage({ type: "audio", timestamp, data }));
  }

  /**
   * Sends a video message (an FLV video tag body).
   *
   * @param timestamp Milliseconds.
   * @param data The FLV video tag body.
   */
  sendVideo(timestamp: number, data: Uint8Array): void {
    this.#flow.send(encodeFlashMessage({ type: "video", timestamp, data }));
  }

  /** @internal Sends a command on the stream's flow. */
  command(values: AmfValue[]): void {
    this.#flow.send(encodeFlashMessage({ type: "command", timestamp: 0, values }));
  }
}

/** The client side of a Flash NetConnection over an open RTMFP session. */
export class FlashClient {
  readonly #session: RtmfpSession;
  readonly #flow: SendFlow;
  #txn = 1;
  readonly #pending = new Map<
    number,
    { resolve: (v: AmfValue[]) => void; reject: (e: Error) => void }
  >();
  readonly #streams = new Map<number, FlashStream>();

  /**
   * Opens the NetConnection flow on a session.
   *
   * @param session An open session with the server.
   */
  constructor(session: RtmfpSession) {
    this.#session = session;
    this.#flow = session.openFlow(flowSignature());
    const previous = session.onFlow;
    session.onFlow = (flow) => {
      const id = decodeFlowSignature(flow.metadata);
      if (id === undefined) return previous?.(flow);
      flow.onMessage = (bytes) => this.#receive(id, flow, bytes);
    };
  }

  #receive(streamId: number, _flow: RecvFlow, bytes: Uint8Array): void {
    let m: FlashMessage;
    try {
      m = decodeFlashMessage(bytes);
    } catch {
      return;
    }
    const stream = this.#streams.get(streamId);
    if (m.type === "audio" || m.type === "video") return stream?.onMedia?.(m);
    if (m.type !== "command") return;
    const [name, txn, , info] = m.values;
    if ((name === "_result" || name === "_error") && typeof txn === "number") {
      const p = this.#pending.get(txn);
      this.#pending.delete(txn);
      if (name === "_result") p?.resolve(m.values);
      else p?.reject(new RtmfpError(`Command failed: ${JSON.stringify(info)}`));
      return;
    }
    if (name === "onStatus" && stream) stream.onStatus?.(info as AmfObject);
  }

  #call(values: AmfValue[]): Promise<AmfValue[]> {
    const txn = this.#txn++;
    const [name, ...rest] = values;
    this.#flow.send(
      encodeFlashMessage({ type: "command", timestamp: 0, values: [name!, txn, ...rest] }),
    );
    return new Promise((resolve, reject) => this.#pending.set(txn, { resolve, reject }));
  }

  /**
   * Connects the NetConnection to an application.
   *
   * @param app The application name.
   * @param extra More members of the command object.
   * @returns The `_result` information object.
   */
  async connect(app: string, extra: AmfObject = {}): Promise<AmfObject> {
    const values = await this.#call(["connect", { app, objectEncoding: 0, ...extra }]);
    return values[3] as AmfObject;
  }

  /**
   * Creates a NetStream.
   *
   * @returns The stream, with its own flow.
   */
  async createStream(): Promise<FlashStream> {
    const values = await this.#call(["createStream", null]);
    const id = Number(values[3]);
    const stream = new FlashStream(id, this.#session.openFlow(flowSignature(id)));
    this.#streams.set(id, stream);
    return stream;
  }

  #status(stream: FlashStream, values: AmfValue[], want: string): Promise<AmfObject> {
    return new Promise((resolve, reject) => {
      stream.onStatus = (info) => {
        if (info.code === want) resolve(info);
        else if (info.level === "error") reject(new RtmfpError(`${values[0]}: ${info.code}`));
      };
      stream.command(values);
    });
  }

  /**
   * Publishes a stream under a name.
   *
   * @param stream A stream from {@linkcode createStream}.
   * @param name The stream name.
   * @returns The `NetStream.Publish.Start` information.
   */
  publish(stream: FlashStream, name: string): Promise<AmfObject> {
    return this.#status(stream, ["publish", 0, null, name, "live"], "NetStream.Publish.Start");
  }

  /**
   * Plays a stream by name; media arrives at `stream.onMedia`.
   *
   * @param stream A stream from {@linkcode createStream}.
   * @param name The stream name.
   * @returns The `NetStream.Play.Start` information.
   */
  play(stream: FlashStream, name: string): Promise<AmfObject> {
    return this.#status(stream, ["play", 0, null, name], "NetStream.Play.Start");
  }
}
