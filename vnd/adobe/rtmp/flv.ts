// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * FLV files (Adobe's Video File Format 10): the header, tags with back-pointers, audio and
 * video tag headers, and script data in AMF 0. {@linkcode FlvReader} reads a file fed in
 * pieces; {@linkcode encodeFlvHeader} and {@linkcode encodeFlvTag} write one. RTMP carries
 * the same audio, video and data payloads, so a recording is RTMP messages with FLV tag
 * headers. Part of `@rtclite/vnd/adobe/rtmp` (re-exported by `mod.ts`).
 *
 * @example Write a file and read it back
 * ```ts
 * import { decodeFlv, encodeFlvHeader, encodeFlvTag } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * const tag = { type: 9 as const, timestamp: 40, data: new Uint8Array([0x12, 0]) };
 * const file = new Uint8Array([
 *   ...encodeFlvHeader({ version: 1, audio: false, video: true }),
 *   ...encodeFlvTag(tag),
 * ]);
 * deepEqual(decodeFlv(file).tags, [tag]);
 * ```
 *
 * @module
 */
// @implements FLV (Flash Video file format)
import { concat } from "@rtclite/std/bytes";
import { ParseError } from "@rtclite/std/errors";
import { type AmfValue, decodeAmf0Values, encodeAmf0Values } from "../amf.ts";

/** Malformed FLV data: `offset` is the byte where reading stopped. */
export class FlvError extends ParseError {}

/** FLV tag types (FLV "FLV tags"). */
export type FlvTagType = 8 | 9 | 18;

/**
 * The FLV file header.
 *
 * @example
 * ```ts
 * import type { FlvHeader } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const h: FlvHeader = { version: 1, audio: true, video: true };
 * equal(h.version, 1);
 * ```
 */
export interface FlvHeader {
  /** File version (1). */
  version: number;
  /** Audio tags are present. */
  audio: boolean;
  /** Video tags are present. */
  video: boolean;
}

/**
 * One FLV tag.
 *
 * @example
 * ```ts
 * import type { FlvTag } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const t: FlvTag = { type: 8, timestamp: 0, data: new Uint8Array([0xaf, 1]) };
 * equal(t.type, 8);
 * ```
 */
export interface FlvTag {
  /** 8 audio, 9 video, 18 script data. */
  type: FlvTagType;
  /** Milliseconds (signed 32 bits, from Timestamp and TimestampExtended). */
  timestamp: number;
  /** The tag body: AUDIODATA, VIDEODATA or SCRIPTDATA. */
  data: Uint8Array;
}

/**
 * Encodes the FLV header followed by PreviousTagSize0.
 *
 * @param header Which tag types the file has.
 * @returns 13 bytes.
 *
 * @example
 * ```ts
 * import { encodeFlvHeader } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual([...encodeFlvHeader({ version: 1, audio: true, video: true })],
 *   [0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]);
 * ```
 */
export function encodeFlvHeader(header: FlvHeader): Uint8Array {
  // @implements FLV "The FLV header"
  const out = new Uint8Array(13);
  out.set([0x46, 0x4c, 0x56, header.version], 0);
  out[4] = (header.audio ? 4 : 0) | (header.video ? 1 : 0);
  out[8] = 9;
  // @implements FLV "The FLV file body"
  return out;
}

/**
 * Encodes one tag followed by its PreviousTagSize.
 *
 * @param tag The tag (data up to 16777215 bytes).
 * @returns 11 + data + 4 bytes.
 * @throws {RangeError} When the data is too long.
 *
 * @example
 * ```ts
 * import { encodeFlvTag } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * const bytes = encodeFlvTag({ type: 9, timestamp: 0x01000002, data: new Uint8Array([0x17]) });
 * deepEqual([...bytes], [9, 0, 0, 1, 0, 0, 2, 1, 0, 0, 0, 0x17, 0, 0, 0, 12]);
 * ```
 */
export function encodeFlvTag(tag: FlvTag): Uint8Array {
  const n = tag.data.length;
  if (n > 0xffffff) {
    throw new RangeError(`Cannot encode FLV tag: ${n} bytes of data, at most 16777215`);
  }
  const out = new Uint8Array(11 + n + 4);
  const view = new DataView(out.buffer);
  // @implements FLV "FLV tags"
  out[0] = tag.type;
  out[1] = (n >>> 16) & 0xff;
  out[2] = (n >>> 8) & 0xff;
  out[3] = n & 0xff;
  const ts = tag.timestamp >>> 0;
  out[4] = (ts >>> 16) & 0xff;
  out[5] = (ts >>> 8) & 0xff;
  out[6] = ts & 0xff;
  out[7] = ts >>> 24;
  out.set(tag.data, 11);
  view.setUint32(11 + n, 11 + n);
  return out;
}

/**
 * Reads an FLV file incrementally: push bytes as they arrive, take complete tags.
 *
 * @example
 * ```ts
 * import { encodeFlvHeader, encodeFlvTag, FlvReader } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const tag = { type: 8 as const, timestamp: 20, data: new Uint8Array([0xaf, 1, 2]) };
 * const reader = new FlvReader();
 * equal(reader.push(encodeFlvHeader({ version: 1, audio: true, video: false })).length, 0);
 * deepEqual(reader.push(encodeFlvTag(tag)), [tag]);
 * deepEqual(reader.header, { version: 1, audio: true, video: false });
 * ```
 */
export class FlvReader {
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #base = 0;
  #header: FlvHeader | undefined;
  #bodyStart = 0;

  /** The header, once read. */
  get header(): FlvHeader | undefined {
    return this.#header;
  }

  /**
   * Feeds bytes.
   *
   * @param bytes The next bytes of the file.
   * @returns The tags they complete.
   * @throws {FlvError} On a bad signature, header or tag type.
   */
  push(bytes: Uint8Array): FlvTag[] {
    const rest = this.#buf.subarray(this.#pos);
    this.#base += this.#pos;
    this.#buf = rest.length ? concat([rest, bytes]) : bytes.slice();
    this.#pos = 0;
    const out: FlvTag[] = [];
    const b = this.#buf;
    if (!this.#header) {
      if (b.length < 9) return out;
      // @implements FLV "The FLV header"
      if (b[0] !== 0x46 || b[1] !== 0x4c || b[2] !== 0x56) {
        throw new FlvError("Cannot decode FLV header: signature is not 'FLV'", this.#base);
      }
      const offset = new DataView(b.buffer, b.byteOffset + 5, 4).getUint32(0);
      if (offset < 9 || offset > 1 << 20) {
        throw new FlvError(
          `Cannot decode FLV header: DataOffset ${offset} is out of range`,
          this.#base + 5,
        );
      }
      this.#header = { version: b[3]!, audio: (b[4]! & 4) !== 0, video: (b[4]! & 1) !== 0 };
      // @implements FLV "The FLV file body"
      this.#bodyStart = offset + 4;
    }
    if (this.#bodyStart > 0) {
      if (b.length < this.#bodyStart) return out;
      this.#pos = this.#bodyStart;
      this.#bodyStart = 0;
    }
    for (;;) {
      const p = this.#pos;
      if (p + 11 > b.length) break;
      // @implements FLV "FLV tags"
      const type = b[p]! & 0x1f;
      const size = (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
      if (type !== 8 && type !== 9 && type !== 18) {
        throw new FlvError(`Cannot decode FLV tag: TagType ${type} is reserved`, this.#base + p);
      }
      if (b[p]! & 0x20) {
        throw new FlvError(
          "Cannot decode FLV tag: encrypted tags are not supported",
          this.#base + p,
        );
      }
      if (p + 11 + size + 4 > b.length) break;
      const timestamp = ((b[p + 7]! << 24) | (b[p + 4]! << 16) | (b[p + 5]! << 8) | b[p + 6]!) | 0;
      out.push({ type, timestamp, data: b.slice(p + 11, p + 11 + size) });
      this.#pos = p + 11 + size + 4;
    }
    return out;
  }

  /** Bytes pushed but not yet part of a complete tag. */
  get buffered(): number {
    return this.#buf.length - this.#pos;
  }
}

/**
 * Decodes a whole FLV file.
 *
 * @param bytes The file.
 * @returns The header and the tags.
 * @throws {FlvError} On malformed data or a truncated last tag.
 *
 * @example
 * ```ts
 * import { decodeFlv, encodeFlvHeader, encodeFlvTag } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const file = new Uint8Array([
 *   ...encodeFlvHeader({ version: 1, audio: false, video: true }),
 *   ...encodeFlvTag({ type: 9, timestamp: 0, data: new Uint8Array([0x12, 0]) }),
 * ]);
 * equal(decodeFlv(file).tags.length, 1);
 * ```
 */
export function decodeFlv(bytes: Uint8Array): { header: FlvHeader; tags: FlvTag[] } {
  const reader = new FlvReader();
  const tags = reader.push(bytes);
  if (!reader.header) {
    throw new FlvError(
      `Cannot decode FLV: ${bytes.length} bytes, the header needs 9`,
      bytes.length,
    );
  }
  if (reader.buffered > 4) {
    throw new FlvError(
      `Cannot decode FLV: ${reader.buffered} bytes at the end do not form a complete tag`,
      bytes.length - reader.buffered,
    );
  }
  return { header: reader.header, tags };
}

/**
 * The fields of an audio tag's first byte (and the AAC packet type).
 *
 * @example
 * ```ts
 * import type { AudioTagHeader } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const h: AudioTagHeader = { soundFormat: 10, soundRate: 3, soundSize: 1, soundType: 1, aacPacketType: 0 };
 * equal(h.soundFormat, 10);
 * ```
 */
export interface AudioTagHeader {
  /** 2 MP3, 10 AAC, 6 Nellymoser, 11 Speex, ... */
  soundFormat: number;
  /** 0 5.5 kHz, 1 11 kHz, 2 22 kHz, 3 44 kHz. */
  soundRate: number;
  /** 0 8-bit, 1 16-bit. */
  soundSize: number;
  /** 0 mono, 1 stereo. */
  soundType: number;
  /** For AAC: 0 sequence header (AudioSpecificConfig), 1 raw frame. */
  aacPacketType?: number;
}

/**
 * Decodes the header of AUDIODATA.
 *
 * @param data The audio tag body (or RTMP audio message payload).
 * @returns The header fields.
 * @throws {FlvError} When the data is empty, or an AAC packet has no packet type.
 *
 * @example
 * ```ts
 * import { decodeAudioTagHeader } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodeAudioTagHeader(new Uint8Array([0xaf, 0x00, 0x12, 0x10])),
 *   { soundFormat: 10, soundRate: 3, soundSize: 1, soundType: 1, aacPacketType: 0 });
 * ```
 */
export function decodeAudioTagHeader(data: Uint8Array): AudioTagHeader {
  // @implements FLV "Audio tags"
  if (data.length < 1) throw new FlvError("Cannot decode AUDIODATA: no data", 0);
  const b = data[0]!;
  const h: AudioTagHeader = {
    soundFormat: b >> 4,
    soundRate: (b >> 2) & 3,
    soundSize: (b >> 1) & 1,
    soundType: b & 1,
  };
  // @implements FLV "Audio tags"
  if (h.soundFormat === 10) {
    if (data.length < 2) throw new FlvError("Cannot decode AACAUDIODATA: no AACPacketType", 1);
    h.aacPacketType = data[1]!;
  }
  return h;
}

/**
 * The fields of a video tag's first byte (and the AVC packet header).
 *
 * @example
 * ```ts
 * import type { VideoTagHeader } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * const h: VideoTagHeader = { frameType: 1, codecId: 2 };
 * equal(h.codecId, 2);
 * ```
 */
export interface VideoTagHeader {
  /** 1 keyframe, 2 inter frame, 3 disposable inter frame, 4 generated keyframe, 5 info. */
  frameType: number;
  /** 2 Sorenson H.263, 4 VP6, 7 AVC, ... */
  codecId: number;
  /** For AVC: 0 sequence header, 1 NALU, 2 end of sequence. */
  avcPacketType?: number;
  /** For AVC: composition time offset in milliseconds. */
  compositionTime?: number;
}

/**
 * Decodes the header of VIDEODATA.
 *
 * @param data The video tag body (or RTMP video message payload).
 * @returns The header fields.
 * @throws {FlvError} When the data is empty, or an AVC packet is shorter than 5 bytes.
 *
 * @example
 * ```ts
 * import { decodeVideoTagHeader } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodeVideoTagHeader(new Uint8Array([0x17, 1, 0xff, 0xff, 0xd8])),
 *   { frameType: 1, codecId: 7, avcPacketType: 1, compositionTime: -40 });
 * ```
 */
export function decodeVideoTagHeader(data: Uint8Array): VideoTagHeader {
  // @implements FLV "Video tags"
  if (data.length < 1) throw new FlvError("Cannot decode VIDEODATA: no data", 0);
  const h: VideoTagHeader = { frameType: data[0]! >> 4, codecId: data[0]! & 15 };
  // @implements FLV "Video tags"
  if (h.codecId === 7 && h.frameType !== 5) {
    if (data.length < 5) {
      throw new FlvError(
        `Cannot decode AVCVIDEOPACKET: ${data.length} bytes, expected at least 5`,
        1,
      );
    }
    h.avcPacketType = data[1]!;
    h.compositionTime = ((data[2]! << 24) | (data[3]! << 16) | (data[4]! << 8)) >> 8;
  }
  return h;
}

/**
 * Decodes SCRIPTDATA (an AMF 0 name and value, e.g. `onMetaData` and an ECMA array).
 *
 * @param data The script tag body.
 * @returns The AMF 0 values.
 * @throws {FlvError} When the data is not AMF 0.
 *
 * @example
 * ```ts
 * import { decodeScriptData, encodeScriptData } from "@rtclite/vnd/adobe/rtmp";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodeScriptData(encodeScriptData(["onMetaData", { duration: 3 }])),
 *   ["onMetaData", { duration: 3 }]);
 * ```
 */
export function decodeScriptData(data: Uint8Array): AmfValue[] {
  // @implements FLV "Data tags"
  try {
    return decodeAmf0Values(data);
  } catch (e) {
    const offset = (e as { offset?: number }).offset;
    throw new FlvError(`Cannot decode SCRIPTDATA: ${(e as Error).message}`, offset, { cause: e });
  }
}

/**
 * Encodes SCRIPTDATA from AMF 0 values.
 *
 * @param values Usually `["onMetaData", {...}]`.
 * @returns The tag body.
 *
 * @example
 * ```ts
 * import { encodeScriptData } from "@rtclite/vnd/adobe/rtmp";
 * import { equal } from "node:assert/strict";
 *
 * equal(encodeScriptData(["onMetaData", null])[0], 0x02);
 * ```
 */
export function encodeScriptData(values: AmfValue[]): Uint8Array {
  // @implements FLV "Data tags"
  return encodeAmf0Values(values);
}
