// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The RTP audio/video profile: the static payload type table, G.711 mu-law and A-law
 * encoding and decoding, and L16 linear audio (RFC 3551).
 *
 * Samples are 16-bit signed integers in an `Int16Array`; encoded audio is a `Uint8Array`
 * ready to be an RTP payload. G.711 follows ITU-T G.711 as referenced by RFC 3551 §4.5.14;
 * L16 is network byte order (§4.5.11).
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc3551 | RFC 3551}.
 *
 * @example Encode a 20 ms frame of a tone as PCMU and decode it again
 * ```ts
 * import { decodePcmu, encodePcmu, payloadTypes } from "@rtclite/std/ietf/rfc3551";
 * import { equal, ok } from "node:assert/strict";
 *
 * const pcm = new Int16Array(160).map((_, i) => Math.round(8000 * Math.sin(i / 5)));
 * const back = decodePcmu(encodePcmu(pcm));
 * ok(Math.abs(back[10]! - pcm[10]!) < 300);
 * equal(payloadTypes[0]!.encoding, "PCMU");
 * ```
 *
 * @module
 */
// @implements RFC3551 (RTP/AVP)

import { ParseError } from "../errors.ts";

export { ParseError };

/** A static payload type of RFC 3551 §6. */
export interface PayloadType {
  /** Encoding name as used in SDP `a=rtpmap`. */
  encoding: string;
  /** `A` audio, `V` video, `AV` both. */
  media: "A" | "V" | "AV";
  /** RTP clock rate in Hz. */
  clockRate: number;
  /** Audio channels. */
  channels?: number;
}

/**
 * The static payload types (RFC 3551 Tables 4 and 5), indexed by number.
 *
 * @example
 * ```ts
 * import { payloadTypes } from "@rtclite/std/ietf/rfc3551";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(payloadTypes[8], { encoding: "PCMA", media: "A", clockRate: 8000, channels: 1 });
 * deepEqual(payloadTypes[31], { encoding: "H261", media: "V", clockRate: 90000 });
 * ```
 */
// @implements RFC3551 §6
export const payloadTypes: Readonly<Record<number, PayloadType>> = {
  0: { encoding: "PCMU", media: "A", clockRate: 8000, channels: 1 },
  3: { encoding: "GSM", media: "A", clockRate: 8000, channels: 1 },
  4: { encoding: "G723", media: "A", clockRate: 8000, channels: 1 },
  5: { encoding: "DVI4", media: "A", clockRate: 8000, channels: 1 },
  6: { encoding: "DVI4", media: "A", clockRate: 16000, channels: 1 },
  7: { encoding: "LPC", media: "A", clockRate: 8000, channels: 1 },
  8: { encoding: "PCMA", media: "A", clockRate: 8000, channels: 1 },
  9: { encoding: "G722", media: "A", clockRate: 8000, channels: 1 },
  10: { encoding: "L16", media: "A", clockRate: 44100, channels: 2 },
  11: { encoding: "L16", media: "A", clockRate: 44100, channels: 1 },
  12: { encoding: "QCELP", media: "A", clockRate: 8000, channels: 1 },
  13: { encoding: "CN", media: "A", clockRate: 8000, channels: 1 },
  14: { encoding: "MPA", media: "A", clockRate: 90000 },
  15: { encoding: "G728", media: "A", clockRate: 8000, channels: 1 },
  16: { encoding: "DVI4", media: "A", clockRate: 11025, channels: 1 },
  17: { encoding: "DVI4", media: "A", clockRate: 22050, channels: 1 },
  18: { encoding: "G729", media: "A", clockRate: 8000, channels: 1 },
  25: { encoding: "CelB", media: "V", clockRate: 90000 },
  26: { encoding: "JPEG", media: "V", clockRate: 90000 },
  28: { encoding: "nv", media: "V", clockRate: 90000 },
  31: { encoding: "H261", media: "V", clockRate: 90000 },
  32: { encoding: "MPV", media: "V", clockRate: 90000 },
  33: { encoding: "MP2T", media: "AV", clockRate: 90000 },
  34: { encoding: "H263", media: "V", clockRate: 90000 },
};

/**
 * Whether a payload type number is in the dynamic range 96-127 (RFC 3551 §3).
 *
 * @param pt Payload type.
 * @returns `true` for 96-127.
 *
 * @example
 * ```ts
 * import { isDynamic } from "@rtclite/std/ietf/rfc3551";
 * import { equal } from "node:assert/strict";
 *
 * equal(isDynamic(101), true);
 * equal(isDynamic(8), false);
 * ```
 */
// @implements RFC3551 §3 ¶4
export function isDynamic(pt: number): boolean {
  return pt >= 96 && pt <= 127;
}

// === G.711 (RFC 3551 §4.5.14) ===

const BIAS = 0x84;
const CLIP = 32635;

/**
 * Encodes one 16-bit linear sample as G.711 mu-law.
 *
 * @param sample Signed 16-bit sample.
 * @returns The mu-law byte.
 *
 * @example
 * ```ts
 * import { linearToUlaw } from "@rtclite/std/ietf/rfc3551";
 * import { equal } from "node:assert/strict";
 *
 * equal(linearToUlaw(0), 0xff);
 * equal(linearToUlaw(-32768), 0x00);
 * equal(linearToUlaw(32767), 0x80);
 * ```
 */
// @implements RFC3551 §4.5.14
export function linearToUlaw(sample: number): number {
  let sign = 0;
  let s = sample;
  if (s < 0) {
    s = -s;
    sign = 0x80;
  }
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mantissa = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mantissa) & 0xff;
}

/**
 * Decodes one G.711 mu-law byte to a 16-bit linear sample.
 *
 * @param u The mu-law byte.
 * @returns The sample.
 *
 * @example
 * ```ts
 * import { ulawToLinear } from "@rtclite/std/ietf/rfc3551";
 * import { equal } from "node:assert/strict";
 *
 * equal(ulawToLinear(0xff), 0);
 * equal(ulawToLinear(0x00), -32124);
 * ```
 */
export function ulawToLinear(u: number): number {
  const v = ~u & 0xff;
  const exp = (v >> 4) & 0x07;
  const mantissa = v & 0x0f;
  const s = (((mantissa << 3) + BIAS) << exp) - BIAS;
  return v & 0x80 ? -s : s;
}

/**
 * Encodes one 16-bit linear sample as G.711 A-law.
 *
 * @param sample Signed 16-bit sample.
 * @returns The A-law byte (even bits inverted, as transmitted).
 *
 * @example
 * ```ts
 * import { linearToAlaw } from "@rtclite/std/ietf/rfc3551";
 * import { equal } from "node:assert/strict";
 *
 * equal(linearToAlaw(0), 0xd5);
 * equal(linearToAlaw(32767), 0xaa);
 * ```
 */
export function linearToAlaw(sample: number): number {
  let s = sample >> 3; // 13-bit magnitude range
  let mask: number;
  if (s >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    s = -s - 1;
  }
  if (s > 0xfff) s = 0xfff;
  let seg = 0;
  for (let t = s >> 5; t > 0 && seg < 7; t >>= 1) seg++;
  const aval = seg === 0 ? (s >> 1) & 0x0f : (seg << 4) | ((s >> seg) & 0x0f);
  return (aval ^ mask) & 0xff;
}

/**
 * Decodes one G.711 A-law byte to a 16-bit linear sample.
 *
 * @param a The A-law byte.
 * @returns The sample.
 *
 * @example
 * ```ts
 * import { alawToLinear } from "@rtclite/std/ietf/rfc3551";
 * import { equal } from "node:assert/strict";
 *
 * equal(alawToLinear(0xd5), 8);
 * equal(alawToLinear(0xaa), 32256);
 * ```
 */
export function alawToLinear(a: number): number {
  const v = a ^ 0x55;
  const seg = (v & 0x70) >> 4;
  let t = (v & 0x0f) << 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return v & 0x80 ? t : -t;
}

const ULAW_DECODE = new Int16Array(256).map((_, i) => ulawToLinear(i));
const ALAW_DECODE = new Int16Array(256).map((_, i) => alawToLinear(i));
const ULAW_ENCODE = new Uint8Array(65536).map((_, i) => linearToUlaw(i - 32768));
const ALAW_ENCODE = new Uint8Array(65536).map((_, i) => linearToAlaw(i - 32768));

/**
 * Encodes linear samples as PCMU (G.711 mu-law), one byte per sample.
 *
 * @param pcm 16-bit samples.
 * @returns The PCMU payload.
 *
 * @example
 * ```ts
 * import { encodePcmu } from "@rtclite/std/ietf/rfc3551";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(encodePcmu(new Int16Array([0, 0])), new Uint8Array([0xff, 0xff]));
 * ```
 */
export function encodePcmu(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = ULAW_ENCODE[pcm[i]! + 32768]!;
  return out;
}

/**
 * Decodes a PCMU payload to linear samples.
 *
 * @param data PCMU bytes.
 * @returns 16-bit samples.
 *
 * @example
 * ```ts
 * import { decodePcmu } from "@rtclite/std/ietf/rfc3551";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodePcmu(new Uint8Array([0xff])), new Int16Array([0]));
 * ```
 */
export function decodePcmu(data: Uint8Array): Int16Array {
  const out = new Int16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = ULAW_DECODE[data[i]!]!;
  return out;
}

/**
 * Encodes linear samples as PCMA (G.711 A-law).
 *
 * @param pcm 16-bit samples.
 * @returns The PCMA payload.
 *
 * @example
 * ```ts
 * import { encodePcma } from "@rtclite/std/ietf/rfc3551";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(encodePcma(new Int16Array([0])), new Uint8Array([0xd5]));
 * ```
 */
export function encodePcma(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = ALAW_ENCODE[pcm[i]! + 32768]!;
  return out;
}

/**
 * Decodes a PCMA payload to linear samples.
 *
 * @param data PCMA bytes.
 * @returns 16-bit samples.
 *
 * @example
 * ```ts
 * import { decodePcma } from "@rtclite/std/ietf/rfc3551";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodePcma(new Uint8Array([0xd5])), new Int16Array([8]));
 * ```
 */
export function decodePcma(data: Uint8Array): Int16Array {
  const out = new Int16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = ALAW_DECODE[data[i]!]!;
  return out;
}

// === L16 (RFC 3551 §4.5.11) ===

/**
 * Encodes linear samples as L16: 16-bit signed, network byte order.
 *
 * @param pcm Samples (interleaved for several channels).
 * @returns The payload.
 *
 * @example
 * ```ts
 * import { encodeL16 } from "@rtclite/std/ietf/rfc3551";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(encodeL16(new Int16Array([0x1234, -1])), new Uint8Array([0x12, 0x34, 0xff, 0xff]));
 * ```
 */
// @implements RFC3551 §4.5.11
export function encodeL16(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) {
    const v = pcm[i]!;
    out[2 * i] = (v >> 8) & 0xff;
    out[2 * i + 1] = v & 0xff;
  }
  return out;
}

/**
 * Decodes an L16 payload; an odd trailing byte is ignored.
 *
 * @param data The payload.
 * @returns The samples.
 *
 * @example
 * ```ts
 * import { decodeL16 } from "@rtclite/std/ietf/rfc3551";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(decodeL16(new Uint8Array([0x12, 0x34, 0xff, 0xff])), new Int16Array([0x1234, -1]));
 * ```
 */
export function decodeL16(data: Uint8Array): Int16Array {
  const out = new Int16Array(data.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = (data[2 * i]! << 24) >> 16 | data[2 * i + 1]!;
  return out;
}

// === Codec lookup ===

/** An audio codec that turns samples into payloads and back. */
export interface AudioCodec {
  /** Encoding name. */
  encoding: string;
  /** Clock rate. */
  clockRate: number;
  /** Encodes samples. */
  encode(pcm: Int16Array): Uint8Array;
  /** Decodes a payload. */
  decode(data: Uint8Array): Int16Array;
}

/**
 * Returns the codec for an encoding name (`PCMU`, `PCMA`, `L16`), case-insensitive.
 *
 * @param encoding Encoding name.
 * @param clockRate Clock rate (for L16; G.711 is 8000).
 * @returns The codec, or `undefined` when not supported.
 *
 * @example
 * ```ts
 * import { audioCodec } from "@rtclite/std/ietf/rfc3551";
 * import { equal } from "node:assert/strict";
 *
 * equal(audioCodec("pcma")?.decode(new Uint8Array([0xd5]))[0], 8);
 * equal(audioCodec("opus"), undefined);
 * ```
 */
export function audioCodec(encoding: string, clockRate = 8000): AudioCodec | undefined {
  switch (encoding.toUpperCase()) {
    case "PCMU":
      return { encoding: "PCMU", clockRate: 8000, encode: encodePcmu, decode: decodePcmu };
    case "PCMA":
      return { encoding: "PCMA", clockRate: 8000, encode: encodePcma, decode: decodePcma };
    case "L16":
      return { encoding: "L16", clockRate, encode: encodeL16, decode: decodeL16 };
    default:
      return undefined;
  }
}

// === WAVE files for audio sources and sinks ===

/** Audio read from or written to a RIFF WAVE file. */
export interface WavAudio {
  /** Samples per second. */
  sampleRate: number;
  /** Channels (samples are interleaved). */
  channels: number;
  /** 16-bit linear samples (G.711 files are decoded). */
  samples: Int16Array;
}

/** A file that is not a RIFF WAVE file this module can read. */
export class WavFormatError extends ParseError {}

/**
 * Decodes a RIFF WAVE file with 16-bit PCM (format 1), A-law (6) or mu-law (7) data.
 *
 * @param bytes The file contents.
 * @returns Sample rate, channels and linear samples.
 * @throws {WavFormatError} When the file is not such a WAVE file.
 *
 * @example
 * ```ts
 * import { decodeWav, encodeWav } from "@rtclite/std/ietf/rfc3551";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const file = encodeWav({ sampleRate: 8000, channels: 1, samples: new Int16Array([1, -2, 3]) });
 * const wav = decodeWav(file);
 * equal(wav.sampleRate, 8000);
 * deepEqual(wav.samples, new Int16Array([1, -2, 3]));
 * ```
 */
export function decodeWav(bytes: Uint8Array): WavAudio {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o: number) => String.fromCharCode(...bytes.subarray(o, o + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") {
    throw new WavFormatError("Cannot read WAVE file: missing RIFF/WAVE header", 0);
  }
  let o = 12;
  let format = 0;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  while (o + 8 <= bytes.length) {
    const id = tag(o);
    const size = dv.getUint32(o + 4, true);
    const body = o + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) {
        throw new WavFormatError("Cannot read WAVE file: short fmt chunk", o);
      }
      format = dv.getUint16(body, true);
      channels = dv.getUint16(body + 2, true);
      sampleRate = dv.getUint32(body + 4, true);
      bits = dv.getUint16(body + 14, true);
      if (format === 0xfffe && size >= 26) format = dv.getUint16(body + 24, true);
    } else if (id === "data") {
      if (!format) {
        throw new WavFormatError("Cannot read WAVE file: data chunk before fmt chunk", o);
      }
      const data = bytes.subarray(body, Math.min(body + size, bytes.length));
      let samples: Int16Array;
      if (format === 1 && bits === 16) {
        samples = new Int16Array(data.length >> 1);
        for (let i = 0; i < samples.length; i++) samples[i] = dv.getInt16(body + 2 * i, true);
      } else if (format === 6 && bits === 8) samples = decodePcma(data);
      else if (format === 7 && bits === 8) samples = decodePcmu(data);
      else {
        throw new WavFormatError(
          `Cannot read WAVE file: format ${format} with ${bits} bits is not supported`,
          o,
        );
      }
      if (!channels || !sampleRate) {
        throw new WavFormatError("Cannot read WAVE file: zero channels or rate", o);
      }
      return { sampleRate, channels, samples };
    }
    o = body + size + (size & 1);
  }
  throw new WavFormatError("Cannot read WAVE file: no data chunk", o);
}

/**
 * Encodes 16-bit PCM samples as a RIFF WAVE file.
 *
 * @param audio Sample rate, channels and samples.
 * @returns The file contents.
 *
 * @example
 * ```ts
 * import { encodeWav } from "@rtclite/std/ietf/rfc3551";
 * import { equal } from "node:assert/strict";
 *
 * const file = encodeWav({ sampleRate: 8000, channels: 1, samples: new Int16Array(80) });
 * equal(file.length, 44 + 160);
 * ```
 */
export function encodeWav(audio: WavAudio): Uint8Array {
  const dataLen = audio.samples.length * 2;
  const out = new Uint8Array(44 + dataLen);
  const dv = new DataView(out.buffer);
  const put = (o: number, s: string) => {
    for (let i = 0; i < 4; i++) out[o + i] = s.charCodeAt(i);
  };
  put(0, "RIFF");
  dv.setUint32(4, 36 + dataLen, true);
  put(8, "WAVE");
  put(12, "fmt ");
  dv.setUint32(16, 16, true);
  dv.setUint16(20, 1, true);
  dv.setUint16(22, audio.channels, true);
  dv.setUint32(24, audio.sampleRate, true);
  dv.setUint32(28, audio.sampleRate * audio.channels * 2, true);
  dv.setUint16(32, audio.channels * 2, true);
  dv.setUint16(34, 16, true);
  put(36, "data");
  dv.setUint32(40, dataLen, true);
  for (let i = 0; i < audio.samples.length; i++) dv.setInt16(44 + 2 * i, audio.samples[i]!, true);
  return out;
}
