// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * Real Time Messaging Protocol: handshake, chunk stream, control, command and media messages
 * without I/O, and FLV files. The live server and client over TCP are in
 * `@rtclite/vnd/adobe/rtmp/net`, the command line in `@rtclite/vnd/adobe/rtmp/main`.
 *
 * The sans-I/O core is {@linkcode Handshake}, {@linkcode ChunkEncoder} and
 * {@linkcode ChunkDecoder} (message header types 0-3, extended timestamps, chunk size
 * changes, abort, interleaved chunk streams, size limits), the protocol control and user
 * control message builders with {@linkcode decodeControl}, AMF 0 command and data messages
 * ({@linkcode encodeCommand}, {@linkcode decodeCommand}), aggregate messages
 * ({@linkcode decodeAggregate}), and {@linkcode RtmpConnection},
 * which ties them into one side of a connection (acknowledgement window, ping answers).
 * FLV files are read with {@linkcode FlvReader} and written with {@linkcode encodeFlvHeader}
 * and {@linkcode encodeFlvTag}. Malformed input throws {@linkcode RtmpError} or
 * {@linkcode FlvError}; a peer refusing a command is an {@linkcode RtmpRejectedError}, other
 * session failures (no answer, connection closed) an {@linkcode RtmpSessionError}.
 *
 * The files, in reading order: `message.ts` (message types, control, command and data
 * messages), `chunk.ts` (handshake, chunk stream), `conn.ts` (one side of a connection, the
 * URL, session errors), `flv.ts` (FLV files); then the adapter `net.ts` (`serveRtmp`: live
 * streams, recordings played by name, append recording, an application hook, connection
 * limits; `RtmpClient`; `copyStream`) and the command line `main.ts`.
 *
 * Specifications: Adobe's
 * {@link https://rtmp.veriskope.com/docs/spec/ | Real Time Messaging Protocol 1.0} (2012) and
 * {@link https://rtmp.veriskope.com/pdf/video_file_format_spec_v10.pdf | Video File Format 10}.
 *
 * Command line:
 *
 * ```sh
 * deno run -A jsr:@rtclite/vnd/adobe/rtmp/main serve --port 1935 [--host 0.0.0.0] [--record DIR] [--vod DIR]
 *     [--max-connections N] [--max-per-address N] [--idle-timeout S]
 * deno run -A jsr:@rtclite/vnd/adobe/rtmp/main play rtmp://host/app/stream --out file.flv [--duration S]
 * deno run -A jsr:@rtclite/vnd/adobe/rtmp/main publish file.flv rtmp://host/app/stream [--fast]
 * deno run -A jsr:@rtclite/vnd/adobe/rtmp/main copy rtmp://host/app/stream (rtmp://other/app/stream | out.flv)
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
 * @module
 */
// @implements RTMP (Real Time Messaging Protocol), FLV (Flash Video file format)

export { ParseError } from "@rtclite/std/errors";
// The AMF types that commands and data messages carry (so that the documentation is complete).
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

export {
  abortMessage,
  acknowledgementMessage,
  type ControlMessage,
  decodeAggregate,
  decodeCommand,
  decodeControl,
  decodeData,
  encodeAggregate,
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
export {
  ChunkDecoder,
  type ChunkDecoderOptions,
  ChunkEncoder,
  type ChunkFormat,
  DEFAULT_CHUNK_SIZE,
  encodeHandshake1,
  encodeHandshake2,
  Handshake,
  HANDSHAKE_SIZE,
  type HandshakeOptions,
  MAX_MESSAGE_LENGTH,
  type ReceivedMessage,
  RTMP_VERSION,
} from "./chunk.ts";
export {
  chunkStreamFor,
  parseRtmpUrl,
  RTMP_PORT,
  RtmpConnection,
  type RtmpConnectionOptions,
  RtmpRejectedError,
  RtmpSessionError,
  type RtmpUrl,
} from "./conn.ts";
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
} from "./flv.ts";
