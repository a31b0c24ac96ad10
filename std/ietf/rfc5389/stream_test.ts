// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  createMessage,
  decodeStun,
  encodeStun,
  streamFrameLength,
  StunFramer,
  StunParseError,
  textAttribute,
} from "./mod.ts";

const enc = new TextEncoder();

/** A ChannelData frame padded to 4 bytes, as RFC 8656 §12.5 ¶3 sends it over TCP. */
function channelData(channel: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array((4 + data.length + 3) & ~3);
  out.set([channel >> 8, channel & 0xff, data.length >> 8, data.length & 0xff]);
  out.set(data, 4);
  return out;
}

Deno.test("StunFramer cuts STUN and padded ChannelData from a stream, whatever the reads (RFC 8489 §6.2.2, RFC 8656 §12.5)", () => {
  const messages = [
    encodeStun(createMessage(1, 0, [textAttribute(0x8022, "abc")]), { fingerprint: true }),
    channelData(0x4001, enc.encode("x")),
    channelData(0x4002, new Uint8Array(0)),
    encodeStun(createMessage(3, 0)),
    channelData(0x4fff, enc.encode("seven b")),
  ];
  const stream = new Uint8Array(messages.reduce((n, m) => n + m.length, 0));
  messages.reduce((off, m) => (stream.set(m, off), off + m.length), 0);
  // Every split of the stream into two reads, and one byte at a time.
  for (let cut = 0; cut <= stream.length; cut++) {
    const f = new StunFramer({ channelData: true });
    const frames = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
    deepEqual(frames, messages, `cut at ${cut}`);
    equal(f.buffered, 0);
  }
  const f = new StunFramer({ channelData: true });
  const frames = [...stream].flatMap((b) => f.push(Uint8Array.of(b)));
  deepEqual(frames, messages);
  equal(decodeStun(frames[0]!).method, 1);
  // Random splits (property).
  fc.assert(
    fc.property(fc.array(fc.nat(stream.length), { maxLength: 8 }), (cuts) => {
      const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
      const g = new StunFramer({ channelData: true });
      const out = points.slice(1).flatMap((p, i) => g.push(stream.subarray(points[i]!, p)));
      deepEqual(out, messages);
    }),
    { numRuns: 200 },
  );
});

Deno.test("StunFramer refuses what is not STUN, ChannelData when not asked, and oversized messages", () => {
  throws(() => new StunFramer().push(enc.encode("GET / HTTP/1.1\r\n")), StunParseError);
  throws(() => new StunFramer().push(Uint8Array.of(0x40, 0, 0, 1, 0, 0, 0, 0)), StunParseError);
  throws(() => new StunFramer().push(Uint8Array.of(0, 1, 0, 3)), StunParseError); // length % 4
  equal(streamFrameLength(Uint8Array.of(0, 1)), undefined);
  equal(streamFrameLength(Uint8Array.of(0x40, 0, 0, 0), true), 4);
  const small = new StunFramer({ maxBuffered: 100 });
  equal(small.push(Uint8Array.of(0, 1, 0, 64)).length, 0); // 84 bytes: fine so far
  throws(
    () => new StunFramer({ maxBuffered: 100 }).push(Uint8Array.of(0, 1, 1, 0)),
    StunParseError,
  );
  // Bytes after the last frame are handed over by take() (RFC 6062: the stream turns raw).
  const t = new StunFramer();
  t.append(new Uint8Array([...encodeStun(createMessage(0x00b, 2)), 1, 2, 3]));
  ok(t.next());
  equal(t.next(), undefined);
  deepEqual([...t.take()], [1, 2, 3]);
  equal(t.buffered, 0);
});
