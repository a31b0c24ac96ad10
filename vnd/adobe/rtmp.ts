// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Real Time Messaging Protocol: handshake, chunk stream, control, command and media messages
 * without I/O, FLV files, and a live RTMP server and client over TCP.
 *
 * The sans-I/O core is {@linkcode Handshake}, {@linkcode ChunkEncoder} and
 * {@linkcode ChunkDecoder} (message header types 0-3, extended timestamps, chunk size
 * changes, abort, interleaved chunk streams, size limits), the protocol control and user
 * control message builders with {@linkcode decodeControl}, AMF 0 command and data messages
 * ({@linkcode encodeCommand}, {@linkcode decodeCommand}), aggregate messages
 * ({@linkcode decodeAggregate}), and {@linkcode RtmpConnection},
 * which ties them into one side of a connection (acknowledgement window, ping answers).
 * FLV files are read with {@linkcode FlvReader} and written with {@linkcode encodeFlvHeader}
 * and {@linkcode encodeFlvTag}. {@linkcode serveRtmp} runs a live server (one publisher and
 * many players per stream name, optional FLV recording) and {@linkcode RtmpClient} publishes
 * or plays. Malformed input throws {@linkcode RtmpError} or {@linkcode FlvError}.
 *
 * Specifications: Adobe's
 * {@link https://rtmp.veriskope.com/docs/spec/ | Real Time Messaging Protocol 1.0} (2012) and
 * {@link https://rtmp.veriskope.com/pdf/video_file_format_spec_v10.pdf | Video File Format 10}.
 *
 * Command line:
 *
 * ```sh
 * deno run -A jsr:@rtclite/vnd/adobe/rtmp serve --port 1935 [--host 0.0.0.0] [--record DIR]
 * deno run -A jsr:@rtclite/vnd/adobe/rtmp play rtmp://host/app/stream --out file.flv [--duration S]
 * deno run -A jsr:@rtclite/vnd/adobe/rtmp publish file.flv rtmp://host/app/stream [--fast]
 * ```
 *
 * @example Chunk a message at the default chunk size and read it back
 * ```ts
 * import { ChunkDecoder, ChunkEncoder, encodeCommand, decodeCommand } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const connect = encodeCommand({
 *   name: "connect", transactionId: 1, object: { app: "live", tcUrl: "rtmp://127.0.0.1/live" }, args: [],
 * });
 * const bytes = new ChunkEncoder().encode(connect, 3);
 * equal(bytes[0], 0x03); // fmt 0, chunk stream 3
 * const [back] = new ChunkDecoder().push(bytes);
 * deepEqual(decodeCommand(back!).object, { app: "live", tcUrl: "rtmp://127.0.0.1/live" });
 * ```
 *
 * @example Publish to an in-process server and play it back
 * ```ts
 * import { MessageType, RtmpClient, serveRtmp } from "@rtclite/vnd/adobe/rtmp";
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
// @implements RTMP (Real Time Messaging Protocol), FLV (Flash Video file format)
import { parseVerbosity, setupLogging } from "@rtclite/std/log";
import { takeFlag, takeOption } from "@rtclite/std/cli";
import {
  decodeScriptData,
  encodeFlvHeader,
  encodeFlvTag,
  encodeScriptData,
  FlvReader,
  type FlvTagType,
} from "./_rtmp_flv.ts";
import {
  decodeCommand,
  decodeData,
  encodeCommand,
  encodeData,
  MessageType,
} from "./_rtmp_chunk.ts";
import { parseRtmpUrl, RtmpClient, serveRtmp } from "./_rtmp_net.ts";

export {
  abortMessage,
  acknowledgementMessage,
  ChunkDecoder,
  type ChunkDecoderOptions,
  ChunkEncoder,
  type ControlMessage,
  decodeAggregate,
  decodeCommand,
  decodeControl,
  decodeData,
  DEFAULT_CHUNK_SIZE,
  encodeAggregate,
  encodeCommand,
  encodeData,
  encodeHandshake1,
  encodeHandshake2,
  Handshake,
  HANDSHAKE_SIZE,
  type HandshakeOptions,
  MAX_MESSAGE_LENGTH,
  MessageType,
  RTMP_VERSION,
  type RtmpCommand,
  RtmpError,
  type RtmpMessage,
  setChunkSizeMessage,
  setPeerBandwidthMessage,
  UserControlEvent,
  userControlMessage,
  windowAckSizeMessage,
} from "./_rtmp_chunk.ts";
export { chunkStreamFor, RtmpConnection, type RtmpConnectionOptions } from "./_rtmp_conn.ts";
export {
  type AudioTagHeader,
  decodeAudioTagHeader,
  decodeFlv,
  decodeScriptData,
  decodeVideoTagHeader,
  encodeFlvHeader,
  encodeFlvTag,
  encodeScriptData,
  FlvError,
  type FlvHeader,
  FlvReader,
  type FlvTag,
  type FlvTagType,
  type VideoTagHeader,
} from "./_rtmp_flv.ts";
export {
  parseRtmpUrl,
  RTMP_PORT,
  RtmpClient,
  type RtmpClientOptions,
  RtmpServer,
  type RtmpServerOptions,
  type RtmpTransport,
  type RtmpUrl,
  serveRtmp,
} from "./_rtmp_net.ts";

const USAGE = `Usage:
  rtmp.ts serve [--host H] [--port N] [--record DIR] [--chunk-size N] [-v|-q]
  rtmp.ts play rtmp://host[:port]/app/stream --out FILE.flv [--duration SECONDS]
  rtmp.ts publish FILE.flv rtmp://host[:port]/app/stream [--fast]`;

/** Plays a stream into an FLV file; resolves with the number of tags written. */
async function play(url: string, out: string, seconds: number | undefined): Promise<number> {
  const u = parseRtmpUrl(url);
  const client = await RtmpClient.connect(url);
  const file = await Deno.open(out, { write: true, create: true, truncate: true });
  let tags = 0;
  const stop = () => client.close();
  Deno.addSignalListener("SIGINT", stop);
  const timer = seconds ? setTimeout(stop, seconds * 1000) : undefined;
  try {
    await client.play(u.stream);
    await file.write(encodeFlvHeader({ version: 1, audio: true, video: true }));
    let base: number | undefined;
    for await (const m of client.messages()) {
      if (m.type === MessageType.COMMAND_AMF0) {
        const code = (decodeCommand(m).args[0] as { code?: unknown } | undefined)?.code;
        if (code === "NetStream.Play.Stop" || code === "NetStream.Play.UnpublishNotify") break;
        continue;
      }
      if (m.type !== 8 && m.type !== 9 && m.type !== 18) continue;
      let data = m.payload;
      if (m.type === 18) {
        const values = decodeData(m);
        if (values[0] === "@setDataFrame") data = encodeScriptData(values.slice(1));
      }
      base ??= m.timestamp;
      const tag = encodeFlvTag({
        type: m.type as FlvTagType,
        timestamp: Math.max(0, m.timestamp - base),
        data,
      });
      await file.write(tag);
      tags++;
    }
  } finally {
    clearTimeout(timer);
    Deno.removeSignalListener("SIGINT", stop);
    client.close();
    file.close();
  }
  return tags;
}

/** Publishes an FLV file, paced by its timestamps unless `fast`; resolves with the tag count. */
async function publish(path: string, url: string, fast: boolean): Promise<number> {
  const u = parseRtmpUrl(url);
  const client = await RtmpClient.connect(url);
  try {
    const id = await client.publish(u.stream);
    const reader = new FlvReader();
    using file = await Deno.open(path);
    const start = performance.now();
    let sent = 0;
    let base: number | undefined;
    for await (const chunk of file.readable) {
      for (const tag of reader.push(chunk)) {
        if (tag.type === 18) {
          const values = decodeScriptData(tag.data);
          client.send(encodeData(["@setDataFrame", ...values], id, tag.timestamp));
        } else {
          base ??= tag.timestamp;
          const due = tag.timestamp - base - (performance.now() - start);
          if (!fast && due > 0) await new Promise((r) => setTimeout(r, due));
          client.send({
            type: tag.type,
            streamId: id,
            timestamp: tag.timestamp,
            payload: tag.data,
          });
        }
        sent++;
        if (client.queued > 4 * 1024 * 1024) await client.drain();
      }
    }
    client.send(
      encodeCommand({
        name: "deleteStream",
        transactionId: 0,
        object: null,
        args: [id],
      }),
    );
    await client.drain();
    return sent;
  } finally {
    client.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const { level, args } = parseVerbosity(argv);
  await setupLogging(level);
  const cmd = args.shift();
  try {
    if (cmd === "serve") {
      const port = Number(takeOption(args, "--port") ?? 1935);
      const hostname = takeOption(args, "--host") ?? "0.0.0.0";
      const record = takeOption(args, "--record");
      const chunkSize = Number(takeOption(args, "--chunk-size") ?? 4096);
      if (record) await Deno.mkdir(record, { recursive: true });
      const server = serveRtmp({ hostname, port, chunkSize, ...(record ? { record } : {}) });
      const stop = () => void server.close();
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
      await server.finished;
      await server.close();
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
      return 0;
    }
    if (cmd === "play") {
      const out = takeOption(args, "--out") ?? "out.flv";
      const duration = takeOption(args, "--duration");
      const url = args[0];
      if (!url) throw new TypeError("Missing RTMP URL");
      const n = await play(url, out, duration ? Number(duration) : undefined);
      console.error(`Wrote ${n} tags to ${out}`);
      return 0;
    }
    if (cmd === "publish") {
      const fast = takeFlag(args, "--fast");
      const [file, url] = args;
      if (!file || !url) throw new TypeError("Missing FLV file or RTMP URL");
      const n = await publish(file, url, fast);
      console.error(`Published ${n} tags from ${file}`);
      return 0;
    }
    console.error(USAGE);
    return cmd === "-h" || cmd === "--help" ? 0 : 2;
  } catch (e) {
    console.error(`rtmp: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
