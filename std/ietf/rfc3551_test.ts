// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { interopTest, run } from "@rtclite/testing";
import {
  alawToLinear,
  audioCodec,
  decodeL16,
  decodePcma,
  decodePcmu,
  decodeWav,
  encodeL16,
  encodePcma,
  encodePcmu,
  encodeWav,
  isDynamic,
  linearToAlaw,
  linearToUlaw,
  ParseError,
  payloadTypes,
  ulawToLinear,
  WavFormatError,
} from "./rfc3551.ts";

Deno.test("payloadTypes: the static table of RFC 3551 §6", () => {
  deepEqual(Object.keys(payloadTypes).map(Number), [
    0,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    25,
    26,
    28,
    31,
    32,
    33,
    34,
  ]);
  equal(payloadTypes[9]!.clockRate, 8000); // G.722's clock rate is 8000 by historical error (§4.5.2)
  equal(payloadTypes[10]!.channels, 2);
  ok(isDynamic(96) && isDynamic(127) && !isDynamic(95) && !isDynamic(128));
});

Deno.test("G.711 mu-law: published reference points and round trips (RFC 3551 §4.5.14)", () => {
  // Reference values of the ITU-T G.711 / Sun g711.c tables.
  const points: [number, number][] = [
    [0, 0xff],
    [-1, 0x7f],
    [1, 0xff],
    [32767, 0x80],
    [-32768, 0x00],
    [1000, 0xce],
    [-1000, 0x4e],
    [100, 0xf2],
  ];
  for (const [x, u] of points) equal(linearToUlaw(x), u, `ulaw(${x})`);
  for (let c = 0; c < 256; c++) {
    if (c === 0x7f) continue; // negative zero decodes to 0, which encodes as 0xff
    equal(linearToUlaw(ulawToLinear(c)), c, `code ${c}`);
  }
});

Deno.test("G.711 A-law: reference points and round trips (RFC 3551 §4.5.14)", () => {
  const points: [number, number][] = [[0, 0xd5], [-1, 0x55], [32767, 0xaa], [-32768, 0x2a], [
    1000,
    0xfa,
  ], [-1000, 0x7a]];
  for (const [x, a] of points) equal(linearToAlaw(x), a, `alaw(${x})`);
  for (let c = 0; c < 256; c++) equal(linearToAlaw(alawToLinear(c)), c, `code ${c}`);
});

Deno.test("G.711 property: quantization error is bounded by the segment step", () => {
  fc.assert(
    fc.property(fc.integer({ min: -32768, max: 32767 }), (x) => {
      const u = ulawToLinear(linearToUlaw(x));
      const a = alawToLinear(linearToAlaw(x));
      const bound = (v: number) => Math.max(16, Math.abs(v) / 16);
      ok(Math.abs(u - Math.max(-32635, Math.min(32635, x))) <= bound(x) + 132, `ulaw ${x} -> ${u}`);
      ok(Math.abs(a - x) <= bound(x) + 8, `alaw ${x} -> ${a}`);
    }),
    { numRuns: 2000 },
  );
  const pcm = new Int16Array(65536).map((_, i) => i - 32768);
  deepEqual(encodePcmu(pcm), new Uint8Array(pcm.length).map((_, i) => linearToUlaw(pcm[i]!)));
  deepEqual(encodePcma(pcm), new Uint8Array(pcm.length).map((_, i) => linearToAlaw(pcm[i]!)));
});

Deno.test("L16 is big-endian (RFC 3551 §4.5.11)", () => {
  deepEqual(
    encodeL16(new Int16Array([1, -2, 0x7fff, -0x8000])),
    new Uint8Array([0, 1, 0xff, 0xfe, 0x7f, 0xff, 0x80, 0]),
  );
  deepEqual(decodeL16(new Uint8Array([0, 1, 0xff, 0xfe, 0x7f])), new Int16Array([1, -2]));
  equal(audioCodec("L16", 16000)!.clockRate, 16000);
});

Deno.test("decodeWav(): formats and errors", () => {
  const pcm = new Int16Array([0, 1000, -1000]);
  deepEqual(decodeWav(encodeWav({ sampleRate: 8000, channels: 1, samples: pcm })).samples, pcm);
  // A mu-law WAV (format 7) with an extra chunk before data
  const head = new Uint8Array([
    ...new TextEncoder().encode("RIFF"),
    0,
    0,
    0,
    0,
    ...new TextEncoder().encode("WAVEfmt "),
    18,
    0,
    0,
    0,
    7,
    0,
    1,
    0,
    0x40,
    0x1f,
    0,
    0,
    0x40,
    0x1f,
    0,
    0,
    1,
    0,
    8,
    0,
    0,
    0,
    ...new TextEncoder().encode("LIST"),
    3,
    0,
    0,
    0,
    1,
    2,
    3,
    0,
    ...new TextEncoder().encode("data"),
    2,
    0,
    0,
    0,
    0xff,
    0x00,
  ]);
  deepEqual(decodeWav(head).samples, new Int16Array([0, -32124]));
  throws(() => decodeWav(new Uint8Array(10)), WavFormatError);
  throws(() => decodeWav(new Uint8Array(10)), (e) => e instanceof ParseError && e.offset === 0);
  const bad = encodeWav({ sampleRate: 8000, channels: 1, samples: pcm });
  bad[34] = 24; // 24-bit
  throws(() => decodeWav(bad), /not supported/);
});

interopTest("G.711 decoding matches ffmpeg's pcm_mulaw and pcm_alaw for all 256 codes", [{
  bin: "ffmpeg",
  apt: "ffmpeg",
}], async () => {
  const dir = await Deno.makeTempDir();
  try {
    const codes = new Uint8Array(256).map((_, i) => i);
    await Deno.writeFile(`${dir}/codes.raw`, codes);
    for (const [fmt, decode] of [["mulaw", decodePcmu], ["alaw", decodePcma]] as const) {
      const r = await run("ffmpeg", [
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        fmt,
        "-ar",
        "8000",
        "-ac",
        "1",
        "-i",
        `${dir}/codes.raw`,
        "-f",
        "s16le",
        "-y",
        `${dir}/${fmt}.raw`,
      ], { timeout: 10_000 });
      equal(r.code, 0, r.stderr);
      const b = await Deno.readFile(`${dir}/${fmt}.raw`);
      const theirs = new Int16Array(b.buffer, b.byteOffset, b.byteLength / 2);
      deepEqual(decode(codes), theirs, fmt);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
