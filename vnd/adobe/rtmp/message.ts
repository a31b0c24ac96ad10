// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * RTMP messages without chunking: the message types, protocol control messages (RTMP §5.4),
 * user control messages (RTMP §6.2, §7.1.7), AMF 0 command and data messages (RTMP §7.1.1,
 * §7.1.2, §7.2) and aggregate messages (RTMP §7.1.6). Part of `@rtclite/vnd/adobe/rtmp`
 * (re-exported by `mod.ts`); the chunk stream that carries these is in `chunk.ts`.
 *
 * @example Build a command and a control message, and read them back
 * ```ts
 * import { decodeCommand, decodeControl, encodeCommand, setChunkSizeMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const m = encodeCommand({ name: "createStream", transactionId: 2, object: null, args: [] });
 * equal(decodeCommand(m).name, "createStream");
 * deepEqual(decodeControl(setChunkSizeMessage(4096)), { kind: "setChunkSize", chunkSize: 4096 });
 * ```
 *
 * @module
 */
import { ByteReader, ByteWriter } from "@rtclite/std/bytes";
import { ParseError } from "@rtclite/std/errors";
import { type AmfValue, decodeAmf0Values, encodeAmf0Values } from "../amf.ts";

/** Malformed RTMP input (handshake, chunk, or message payload): `offset` is where reading stopped. */
export class RtmpError extends ParseError {}

// === Message types (RTMP §5.4, §6.2, §7.1) ===

/**
 * RTMP message type IDs.
 *
 * @example
 * ```ts
 * import { MessageType } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * equal(MessageType.VIDEO, 9);
 * equal(MessageType.COMMAND_AMF0, 20);
 * ```
 */
export const MessageType = {
  /** Set Chunk Size (RTMP §5.4.1). */
  SET_CHUNK_SIZE: 1,
  /** Abort Message (RTMP §5.4.2). */
  ABORT: 2,
  /** Acknowledgement (RTMP §5.4.3). */
  ACK: 3,
  /** User Control Message (RTMP §6.2). */
  USER_CONTROL: 4,
  /** Window Acknowledgement Size (RTMP §5.4.4). */
  WINDOW_ACK_SIZE: 5,
  /** Set Peer Bandwidth (RTMP §5.4.5). */
  SET_PEER_BANDWIDTH: 6,
  /** Audio Message (RTMP §7.1.4). */
  AUDIO: 8,
  /** Video Message (RTMP §7.1.5). */
  VIDEO: 9,
  /** Data Message in AMF 3 (RTMP §7.1.2). */
  DATA_AMF3: 15,
  /** Shared Object Message in AMF 3 (RTMP §7.1.3). */
  SHARED_OBJECT_AMF3: 16,
  /** Command Message in AMF 3 (RTMP §7.1.1). */
  COMMAND_AMF3: 17,
  /** Data Message in AMF 0 (RTMP §7.1.2). */
  DATA_AMF0: 18,
  /** Shared Object Message in AMF 0 (RTMP §7.1.3). */
  SHARED_OBJECT_AMF0: 19,
  /** Command Message in AMF 0 (RTMP §7.1.1). */
  COMMAND_AMF0: 20,
  /** Aggregate Message (RTMP §7.1.6). */
  AGGREGATE: 22,
} as const;

/**
 * An RTMP message as the chunk stream carries it (RTMP §5.1, §6.1).
 *
 * @example
 * ```ts
 * import type { RtmpMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const m: RtmpMessage = { type: 8, streamId: 1, timestamp: 0, payload: new Uint8Array([0xaf]) };
 * equal(m.payload.length, 1);
 * ```
 */
export interface RtmpMessage {
  /** Message type ID (see {@linkcode MessageType}). */
  type: number;
  /** Message stream ID (0 for the control stream). */
  streamId: number;
  /** Timestamp in milliseconds, 32 bits. */
  timestamp: number;
  /** The payload. */
  payload: Uint8Array;
}

// === Protocol control messages (RTMP §5.4) and user control messages (RTMP §6.2) ===

/**
 * User control event types (RTMP §7.1.7).
 *
 * @example
 * ```ts
 * import { UserControlEvent } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * equal(UserControlEvent.PING_REQUEST, 6);
 * ```
 */
export const UserControlEvent = {
  /** A stream became functional; data: stream ID. */
  STREAM_BEGIN: 0,
  /** Playback is over; data: stream ID. */
  STREAM_EOF: 1,
  /** No more data on the stream for now; data: stream ID. */
  STREAM_DRY: 2,
  /** Client buffer length; data: stream ID and milliseconds. */
  SET_BUFFER_LENGTH: 3,
  /** The stream is recorded; data: stream ID. */
  STREAM_IS_RECORDED: 4,
  /** Server pings the client; data: a timestamp. */
  PING_REQUEST: 6,
  /** Client answers a ping; data: the timestamp from the request. */
  PING_RESPONSE: 7,
} as const;

/** A decoded protocol control or user control message. */
export type ControlMessage =
  | { kind: "setChunkSize"; chunkSize: number }
  | { kind: "abort"; chunkStreamId: number }
  | { kind: "ack"; sequenceNumber: number }
  | { kind: "windowAckSize"; size: number }
  | { kind: "setPeerBandwidth"; size: number; limitType: number }
  | { kind: "userControl"; event: number; data: number[] };

function control(type: number, payload: Uint8Array): RtmpMessage {
  return { type, streamId: 0, timestamp: 0, payload };
}

function u32(...values: number[]): Uint8Array {
  const w = new ByteWriter(values.length * 4);
  for (const v of values) w.u32(v >>> 0);
  return w.finish();
}

/** The largest chunk size: 31 bits (RTMP §5.4.1). */
const MAX_CHUNK_SIZE = 0x7fffffff;

/**
 * Checks a chunk size (used by the chunk stream too).
 *
 * @param size The chunk size.
 * @returns `size`.
 * @throws {RangeError} When it is not an integer from 1 to 2147483647.
 */
export function checkChunkSize(size: number): number {
  if (!Number.isInteger(size) || size < 1 || size > MAX_CHUNK_SIZE) {
    throw new RangeError(`Invalid chunk size ${size}: expected 1 to 2147483647`);
  }
  return size;
}

/**
 * Builds a Set Chunk Size message.
 *
 * @param chunkSize The new maximum chunk size, 1 to 2147483647.
 * @returns The message for the control stream.
 *
 * @example
 * ```ts
 * import { setChunkSizeMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...setChunkSizeMessage(4096).payload], [0, 0, 0x10, 0]);
 * ```
 */
export function setChunkSizeMessage(chunkSize: number): RtmpMessage {
  // @implements RTMP §5.4.1
  return control(MessageType.SET_CHUNK_SIZE, u32(checkChunkSize(chunkSize)));
}

/**
 * Builds an Abort Message.
 *
 * @param chunkStreamId The chunk stream whose partial message the peer should discard.
 * @returns The message for the control stream.
 *
 * @example
 * ```ts
 * import { abortMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...abortMessage(6).payload], [0, 0, 0, 6]);
 * ```
 */
export function abortMessage(chunkStreamId: number): RtmpMessage {
  // @implements RTMP §5.4.2
  return control(MessageType.ABORT, u32(chunkStreamId));
}

/**
 * Builds an Acknowledgement.
 *
 * @param sequenceNumber Bytes received so far (modulo 2^32).
 * @returns The message for the control stream.
 *
 * @example
 * ```ts
 * import { acknowledgementMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...acknowledgementMessage(256).payload], [0, 0, 1, 0]);
 * ```
 */
export function acknowledgementMessage(sequenceNumber: number): RtmpMessage {
  // @implements RTMP §5.4.3
  return control(MessageType.ACK, u32(sequenceNumber));
}

/**
 * Builds a Window Acknowledgement Size message.
 *
 * @param size Bytes the peer may receive between acknowledgements.
 * @returns The message for the control stream.
 *
 * @example
 * ```ts
 * import { windowAckSizeMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...windowAckSizeMessage(2500000).payload], [0x00, 0x26, 0x25, 0xa0]);
 * ```
 */
export function windowAckSizeMessage(size: number): RtmpMessage {
  // @implements RTMP §5.4.4
  return control(MessageType.WINDOW_ACK_SIZE, u32(size));
}

/**
 * Builds a Set Peer Bandwidth message.
 *
 * @param size The acknowledgement window size.
 * @param limitType 0 hard, 1 soft, 2 dynamic.
 * @returns The message for the control stream.
 *
 * @example
 * ```ts
 * import { setPeerBandwidthMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...setPeerBandwidthMessage(2500000, 2).payload], [0x00, 0x26, 0x25, 0xa0, 2]);
 * ```
 */
export function setPeerBandwidthMessage(size: number, limitType: 0 | 1 | 2): RtmpMessage {
  // @implements RTMP §5.4.5
  const payload = new Uint8Array(5);
  payload.set(u32(size));
  payload[4] = limitType;
  return control(MessageType.SET_PEER_BANDWIDTH, payload);
}

/**
 * Builds a User Control message.
 *
 * @param event Event type (see {@linkcode UserControlEvent}).
 * @param data The event data as 32-bit numbers (stream ID, buffer length, timestamp).
 * @returns The message for the control stream.
 *
 * @example Stream Begin for stream 1
 * ```ts
 * import { userControlMessage, UserControlEvent } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * const m = userControlMessage(UserControlEvent.STREAM_BEGIN, 1);
 * deepEqual([...m.payload], [0, 0, 0, 0, 0, 1]);
 * ```
 */
export function userControlMessage(event: number, ...data: number[]): RtmpMessage {
  // @implements RTMP §6.2, RTMP §7.1.7
  const payload = new Uint8Array(2 + data.length * 4);
  new DataView(payload.buffer).setUint16(0, event);
  payload.set(u32(...data), 2);
  return control(MessageType.USER_CONTROL, payload);
}

/**
 * Decodes a protocol control (types 1, 2, 3, 5, 6) or user control (type 4) message.
 *
 * @param message The message.
 * @param offset Offset reported in errors (default 0).
 * @returns The decoded message.
 * @throws {RtmpError} When the payload is too short, a chunk size is 0 or has its top bit
 * set, or the type is not a control message.
 *
 * @example
 * ```ts
 * import { decodeControl, setChunkSizeMessage } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodeControl(setChunkSizeMessage(4096)), { kind: "setChunkSize", chunkSize: 4096 });
 * ```
 */
export function decodeControl(message: RtmpMessage, offset = 0): ControlMessage {
  const p = message.payload;
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const need = (n: number, what: string) => {
    if (p.length < n) {
      throw new RtmpError(
        `Cannot decode ${what}: payload has ${p.length} bytes, expected at least ${n}`,
        offset,
      );
    }
  };
  switch (message.type) {
    case MessageType.SET_CHUNK_SIZE: {
      need(4, "Set Chunk Size");
      const v = view.getUint32(0);
      // @implements RTMP §5.4.1 ¶3-4
      if (v & 0x80000000 || v === 0) {
        throw new RtmpError(`Cannot decode Set Chunk Size: invalid chunk size ${v}`, offset);
      }
      return { kind: "setChunkSize", chunkSize: v };
    }
    case MessageType.ABORT:
      need(4, "Abort Message");
      return { kind: "abort", chunkStreamId: view.getUint32(0) };
    case MessageType.ACK:
      need(4, "Acknowledgement");
      return { kind: "ack", sequenceNumber: view.getUint32(0) };
    case MessageType.WINDOW_ACK_SIZE:
      need(4, "Window Acknowledgement Size");
      return { kind: "windowAckSize", size: view.getUint32(0) };
    case MessageType.SET_PEER_BANDWIDTH:
      need(5, "Set Peer Bandwidth");
      return { kind: "setPeerBandwidth", size: view.getUint32(0), limitType: p[4]! };
    case MessageType.USER_CONTROL: {
      need(2, "User Control");
      const data: number[] = [];
      for (let i = 2; i + 4 <= p.length; i += 4) data.push(view.getUint32(i));
      return { kind: "userControl", event: (p[0]! << 8) | p[1]!, data };
    }
    default:
      throw new RtmpError(`Cannot decode control message: type ${message.type} is not one`, offset);
  }
}

// === Command and data messages (RTMP §7.1.1, §7.1.2, §7.2) ===

/**
 * A command: name, transaction ID, command object, optional arguments (RTMP §7.2).
 *
 * @example
 * ```ts
 * import type { RtmpCommand } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const c: RtmpCommand = { name: "createStream", transactionId: 2, object: null, args: [] };
 * equal(c.name, "createStream");
 * ```
 */
export interface RtmpCommand {
  /** Command name (`connect`, `_result`, `onStatus`, ...). */
  name: string;
  /** Transaction ID (0 when no response is expected). */
  transactionId: number;
  /** Command object (or `null`). */
  object: AmfValue;
  /** Further arguments. */
  args: AmfValue[];
}

/**
 * Encodes a command as an AMF 0 command message (type 20).
 *
 * @param command The command.
 * @param streamId Message stream ID (0 for NetConnection commands).
 * @returns The message.
 *
 * @example A connect command
 * ```ts
 * import { encodeCommand } from "@rtclite/vnd/adobe/rtmp";
 * import { decodeAmf0Values } from "@rtclite/vnd/adobe/amf";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const m = encodeCommand({ name: "connect", transactionId: 1, object: { app: "live" }, args: [] });
 * equal(m.type, 20);
 * deepEqual(decodeAmf0Values(m.payload), ["connect", 1, { app: "live" }]);
 * ```
 */
export function encodeCommand(command: RtmpCommand, streamId = 0): RtmpMessage {
  // @implements RTMP §7.1.1
  const payload = encodeAmf0Values([
    command.name,
    command.transactionId,
    command.object,
    ...command.args,
  ]);
  return { type: MessageType.COMMAND_AMF0, streamId, timestamp: 0, payload };
}

/**
 * Decodes a command message (type 20, or type 17 whose body starts with a format byte 0 and
 * continues in AMF 0).
 *
 * @param message The message.
 * @returns The command.
 * @throws {RtmpError} When the payload is not AMF 0 or does not start with a name and a
 * transaction ID.
 *
 * @example
 * ```ts
 * import { decodeCommand, encodeCommand } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * const c = { name: "play", transactionId: 0, object: null, args: ["test"] };
 * deepEqual(decodeCommand(encodeCommand(c, 1)), c);
 * ```
 */
export function decodeCommand(message: RtmpMessage): RtmpCommand {
  const values = decodeValues(message, "command");
  // Some peers send bare notifications (ffmpeg's `onFCPublish` is a lone name): a missing
  // transaction ID reads as 0.
  const [name, transactionId = 0, object = null, ...args] = values;
  if (typeof name !== "string" || typeof transactionId !== "number") {
    throw new RtmpError(
      "Cannot decode command: expected a name string and a transaction ID number",
      0,
    );
  }
  return { name, transactionId, object, args };
}

/**
 * Encodes a data message (type 18), e.g. `@setDataFrame` with `onMetaData`.
 *
 * @param values The AMF 0 values (handler name first).
 * @param streamId Message stream ID.
 * @param timestamp Timestamp in milliseconds.
 * @returns The message.
 *
 * @example
 * ```ts
 * import { decodeData, encodeData } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * const m = encodeData(["@setDataFrame", "onMetaData", { width: 320 }], 1);
 * deepEqual(decodeData(m), ["@setDataFrame", "onMetaData", { width: 320 }]);
 * ```
 */
export function encodeData(values: AmfValue[], streamId = 0, timestamp = 0): RtmpMessage {
  // @implements RTMP §7.1.2
  return { type: MessageType.DATA_AMF0, streamId, timestamp, payload: encodeAmf0Values(values) };
}

/**
 * Decodes a data message (type 18, or 15 with a leading format byte) to its AMF 0 values.
 *
 * @param message The message.
 * @returns The values.
 * @throws {RtmpError} When the payload is not AMF 0.
 *
 * @example
 * ```ts
 * import { decodeData } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodeData({ type: 18, streamId: 1, timestamp: 0, payload: new Uint8Array([5]) }), [null]);
 * ```
 */
export function decodeData(message: RtmpMessage): AmfValue[] {
  return decodeValues(message, "data message");
}

function decodeValues(message: RtmpMessage, what: string): AmfValue[] {
  let p = message.payload;
  if (message.type === MessageType.COMMAND_AMF3 || message.type === MessageType.DATA_AMF3) {
    if (p[0] === 0) p = p.subarray(1);
  }
  try {
    return decodeAmf0Values(p);
  } catch (e) {
    const offset = (e as { offset?: number }).offset;
    throw new RtmpError(`Cannot decode ${what}: ${(e as Error).message}`, offset, { cause: e });
  }
}

// === Aggregate messages (RTMP §7.1.6) ===

/**
 * Builds an Aggregate Message from sub-messages: each written with the RTMP message header
 * of RTMP §6.1.1 (type, length, timestamp, stream ID) and followed by a back pointer.
 *
 * @param messages The sub-messages (their stream IDs are replaced by `streamId`).
 * @param streamId The aggregate's message stream ID.
 * @returns The aggregate message, timestamped with the first sub-message's timestamp.
 *
 * @example
 * ```ts
 * import { decodeAggregate, encodeAggregate } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const agg = encodeAggregate([
 *   { type: 8, streamId: 1, timestamp: 100, payload: new Uint8Array([0x2e, 1]) },
 *   { type: 9, streamId: 1, timestamp: 120, payload: new Uint8Array([0x12, 2]) },
 * ], 1);
 * equal(agg.payload.length, 2 * (11 + 2 + 4));
 * equal(decodeAggregate(agg)[1]!.timestamp, 120);
 * ```
 */
export function encodeAggregate(messages: readonly RtmpMessage[], streamId: number): RtmpMessage {
  const size = messages.reduce((n, m) => n + 11 + m.payload.length + 4, 0);
  const w = new ByteWriter(size);
  for (const m of messages) {
    // @implements RTMP §6.1.1
    w.u8(m.type);
    w.u24(m.payload.length);
    w.u32(m.timestamp >>> 0);
    w.u24(streamId);
    w.bytes(m.payload);
    w.u32(11 + m.payload.length);
  }
  const payload = w.finish();
  return { type: MessageType.AGGREGATE, streamId, timestamp: messages[0]?.timestamp ?? 0, payload };
}

/**
 * Splits an Aggregate Message into its sub-messages, with timestamps moved by the difference
 * between the aggregate's timestamp and the first sub-message's, and the aggregate's stream ID.
 *
 * @param message The aggregate message (type 22).
 * @returns The sub-messages.
 * @throws {RtmpError} When a sub-message header or body runs past the end.
 *
 * @example
 * ```ts
 * import { decodeAggregate, RtmpError } from "@rtclite/vnd/adobe/rtmp";
 * import { throws } from "node:assert/strict";
 *
 * throws(() => decodeAggregate({ type: 22, streamId: 1, timestamp: 0, payload: new Uint8Array(5) }), RtmpError);
 * ```
 */
export function decodeAggregate(message: RtmpMessage): RtmpMessage[] {
  // @implements RTMP §7.1.6
  const r = new ByteReader(message.payload, aggregateError, "aggregate message");
  const out: RtmpMessage[] = [];
  let offset: number | undefined;
  while (r.left > 0) {
    const at = r.pos;
    if (r.left < 11) r.fail(`sub-message header at ${at} is cut`, at);
    const type = r.u8("type");
    const length = r.u24("length");
    const timestamp = r.u32("timestamp");
    r.u24("stream ID"); // replaced by the aggregate's
    if (r.left < length + 4) {
      r.fail(`sub-message of ${length} bytes at ${at} runs past the end`, at);
    }
    offset ??= (message.timestamp - timestamp) >>> 0;
    out.push({
      type,
      streamId: message.streamId,
      timestamp: (timestamp + offset) >>> 0,
      payload: r.bytes(length, "body"),
    });
    r.u32("back pointer");
  }
  return out;
}

function aggregateError(message: string, offset: number): RtmpError {
  return new RtmpError(message, offset);
}
