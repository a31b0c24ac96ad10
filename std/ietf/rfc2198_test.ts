// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  decodeRed,
  encodeRed,
  RedParseError,
  type RedPayload,
  RedundancyEncoder,
} from "./rfc2198.ts";

Deno.test("decodeRed() on the RFC 2198 §7 example: DVI4 primary with one LPC block", () => {
  const lpc = new Uint8Array(14).fill(0x11);
  const dvi = new Uint8Array(84).fill(0x22);
  // F=1, PT=7, offset 160 (20 ms at 8 kHz), length 14; then F=0, PT=5
  const payload = new Uint8Array([
    0x87,
    160 >> 6,
    ((160 & 0x3f) << 2) | 0,
    14,
    0x05,
    ...lpc,
    ...dvi,
  ]);
  const red = decodeRed(payload);
  deepEqual(red.redundant, [{ payloadType: 7, timestampOffset: 160, payload: lpc }]);
  deepEqual(red.primary, { payloadType: 5, payload: dvi });
  deepEqual(encodeRed(red), payload);
});

Deno.test("decodeRed() bad input", () => {
  throws(() => decodeRed(new Uint8Array()), RedParseError);
  throws(() => decodeRed(new Uint8Array([0x80, 0, 0])), /header truncated/);
  throws(() => decodeRed(new Uint8Array([0x80, 0, 0, 9, 0x00, 1])), /9-byte block exceeds/);
  throws(
    () =>
      encodeRed({
        redundant: [{ payloadType: 0, timestampOffset: 0x4000, payload: new Uint8Array() }],
        primary: { payloadType: 0, payload: new Uint8Array() },
      }),
    RangeError,
  );
  throws(
    () =>
      encodeRed({
        redundant: [{ payloadType: 0, timestampOffset: 0, payload: new Uint8Array(1024) }],
        primary: { payloadType: 0, payload: new Uint8Array() },
      }),
    /10 bits/,
  );
});

Deno.test("RFC 2198 property: decode(encode(x)) equals x; random bytes throw only RedParseError", () => {
  const arb: fc.Arbitrary<RedPayload> = fc.record({
    redundant: fc.array(
      fc.record({
        payloadType: fc.integer({ min: 0, max: 127 }),
        timestampOffset: fc.integer({ min: 0, max: 0x3fff }),
        payload: fc.uint8Array({ maxLength: 40 }),
      }),
      { maxLength: 3 },
    ),
    primary: fc.record({
      payloadType: fc.integer({ min: 0, max: 127 }),
      payload: fc.uint8Array({ maxLength: 40 }),
    }),
  });
  fc.assert(fc.property(arb, (r) => deepEqual(decodeRed(encodeRed(r)), r)));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 30 }), (b) => {
      try {
        ok(decodeRed(b));
      } catch (e) {
        ok(e instanceof RedParseError);
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("RedundancyEncoder repeats the last frames and drops those beyond the 14-bit offset", () => {
  const enc = new RedundancyEncoder(2);
  enc.encode(0, 0, new Uint8Array([1]));
  enc.encode(0, 160, new Uint8Array([2]));
  const r = decodeRed(enc.encode(0, 320, new Uint8Array([3])));
  deepEqual(r.redundant.map((b) => [b.timestampOffset, b.payload[0]]), [[320, 1], [160, 2]]);
  const far = decodeRed(enc.encode(0, 320 + 0x4000, new Uint8Array([4])));
  equal(far.redundant.length, 0);
});
