// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import fc from "fast-check";
import { EcmaArray } from "../amf.ts";
import {
  abortMessage,
  acknowledgementMessage,
  ChunkDecoder,
  ChunkEncoder,
  decodeAggregate,
  decodeAudioTagHeader,
  decodeCommand,
  decodeControl,
  decodeData,
  decodeFlv,
  decodeScriptData,
  decodeVideoTagHeader,
  encodeAggregate,
  encodeCommand,
  encodeData,
  encodeFlvHeader,
  encodeFlvTag,
  encodeHandshake1,
  encodeHandshake2,
  FlvError,
  FlvReader,
  type FlvTag,
  Handshake,
  MessageType,
  parseRtmpUrl,
  RtmpConnection,
  RtmpError,
  type RtmpMessage,
  setChunkSizeMessage,
  setPeerBandwidthMessage,
  UserControlEvent,
  userControlMessage,
  windowAckSizeMessage,
} from "./mod.ts";

function assertThrows<E extends Error>(
  fn: () => unknown,
  type: new (...args: never[]) => E,
): E {
  try {
    fn();
  } catch (e) {
    assert(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    return e;
  }
  throw new Error(`expected ${type.name}, nothing was thrown`);
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

function msg(type: number, streamId: number, timestamp: number, payload: Uint8Array): RtmpMessage {
  return { type, streamId, timestamp, payload };
}

// === Handshake (RTMP §5.2) ===

Deno.test("Handshake runs C0/C1/C2 and S0/S1/S2 per RTMP §5.2.1-5.2.4", () => {
  const rnd = (v: number) => new Uint8Array(1528).fill(v);
  let t = 1000;
  const client = new Handshake("client", { now: () => t, random: rnd(0xc1) });
  const server = new Handshake("server", { now: () => t, random: rnd(0x51) });
  const c0c1 = client.start();
  assertEquals(c0c1.length, 1537);
  assertEquals(c0c1[0], 3); // C0: version 3 (§5.2.2)
  assertEquals(hex(c0c1.subarray(1, 9)), "0000000000000000"); // time 0 (epoch), zero
  assertEquals(c0c1[9], 0xc1);
  // The server answers only once C0 and all of C1 are in.
  assertEquals(server.receive(c0c1.subarray(0, 1000)).length, 0);
  t = 1007;
  const s012 = server.receive(c0c1.subarray(1000));
  assertEquals(s012.length, 1 + 1536 * 2);
  assertEquals(s012[0], 3);
  assertEquals(s012[1 + 8], 0x51); // S1 random
  const s2 = s012.subarray(1537);
  assertEquals(hex(s2.subarray(0, 8)), "00000000" + "00000007"); // C1 time, read time (§5.2.4)
  assert(s2.subarray(8).every((b) => b === 0xc1)); // random echo
  const c2 = client.receive(s012);
  assertEquals(client.done, true);
  assertEquals(c2.length, 1536);
  assert(c2.subarray(8).every((b) => b === 0x51));
  // Chunk bytes right behind C2 are kept for the chunk layer.
  server.receive(new Uint8Array([...c2, 0x02, 0x00]));
  assertEquals(server.done, true);
  assertEquals([...server.rest], [0x02, 0x00]);
});

Deno.test("Handshake exposes the C1 and S1 times and when each side read the other's (RTMP §5.2.3-5.2.4)", () => {
  let t = 50_000;
  const client = new Handshake("client", { now: () => t });
  const server = new Handshake("server", { now: () => t + 123_456 }); // another clock
  assertEquals([client.peerTime, client.readTime, client.peerReadTime], [
    undefined,
    undefined,
    undefined,
  ]);
  const c0c1 = client.start();
  t += 30;
  const s012 = server.receive(c0c1);
  assertEquals(server.peerTime, 0); // C1's time: the client's epoch
  assertEquals(server.readTime, 30); // S2's Time2, on the server's clock
  t += 15;
  const c2 = client.receive(s012);
  assertEquals(client.ownTime, 0); // C1
  assertEquals(client.peerTime, 0); // S1
  assertEquals(client.readTime, 45); // when the client read S1 (C2's Time2)
  assertEquals(client.peerReadTime, 30); // when the server read C1 (S2's Time2)
  assertEquals(server.peerReadTime, undefined); // C2 not yet read
  server.receive(c2);
  assertEquals(server.peerReadTime, 45);
  // A peer whose S1 carries a time near the 32-bit wrap.
  const other = new Handshake("client", { now: () => 0 });
  const c1 = other.start().subarray(1);
  other.receive(new Uint8Array([3, ...encodeHandshake1(0xfffffff0), ...encodeHandshake2(c1, 9)]));
  assertEquals([other.peerTime, other.peerReadTime, other.done], [0xfffffff0, 9, true]);
});

Deno.test("Handshake rejects a version byte of 32-255 (RTMP §5.2.2)", () => {
  const server = new Handshake("server");
  const http = new TextEncoder().encode("GET / HTTP/1.1\r\n".padEnd(1537, "x"));
  const err = assertThrows(() => server.receive(http), RtmpError);
  assert(err.message.includes("71"));
});

Deno.test("encodeHandshake1() validates the random data length", () => {
  assertThrows(() => encodeHandshake1(0, new Uint8Array(5)), RangeError);
});

// === Chunking (RTMP §5.3) ===

Deno.test("ChunkEncoder reproduces Example 1 of RTMP §5.3.2.1", () => {
  const enc = new ChunkEncoder();
  const sizes: number[] = [];
  const chunks: Uint8Array[] = [];
  for (const ts of [1000, 1020, 1040, 1060]) {
    const c = enc.encode(msg(8, 12345, ts, new Uint8Array(32).fill(ts & 0xff)), 3);
    sizes.push(c.length);
    chunks.push(c);
  }
  assertEquals(sizes, [44, 36, 33, 33]);
  // Type 0: fmt 0 csid 3, timestamp 1000, length 32, type 8, stream 12345 little endian.
  assertEquals(hex(chunks[0]!.subarray(0, 12)), "03" + "0003e8" + "000020" + "08" + "39300000");
  assertEquals(hex(chunks[1]!.subarray(0, 4)), "83" + "000014"); // type 2, delta 20
  assertEquals(chunks[2]![0], 0xc3); // type 3
  assertEquals(chunks[3]![0], 0xc3);
  const dec = new ChunkDecoder();
  const got = chunks.flatMap((c) => dec.push(c));
  assertEquals(got.map((m) => m.timestamp), [1000, 1020, 1040, 1060]);
  assertEquals(got.map((m) => m.streamId), [12345, 12345, 12345, 12345]);
  assertEquals(got[3]!.payload[0], 1060 & 0xff);
  // Each decoded message says which chunk stream and header type carried it.
  assertEquals(got.map((m) => [m.chunkStreamId, m.fmt]), [[3, 0], [3, 2], [3, 3], [3, 3]]);
});

Deno.test("ChunkEncoder reproduces Example 2 of RTMP §5.3.2.2", () => {
  const payload = Uint8Array.from({ length: 307 }, (_, i) => i & 0xff);
  const bytes = new ChunkEncoder().encode(msg(9, 12346, 1000, payload), 4);
  assertEquals(bytes.length, 140 + 129 + 52);
  assertEquals(hex(bytes.subarray(0, 12)), "04" + "0003e8" + "000133" + "09" + "3a300000");
  assertEquals(bytes[140], 0xc4);
  assertEquals(bytes[269], 0xc4);
  assertEquals([...bytes.subarray(270)], [...payload.subarray(256)]);
  const [back] = new ChunkDecoder().push(bytes);
  // The message's further chunks are type 3; the message reports its first chunk's type.
  assertEquals(back, { ...msg(9, 12346, 1000, payload), chunkStreamId: 4, fmt: 0 });
});

Deno.test("Basic header uses 1, 2 and 3 bytes for chunk stream IDs (RTMP §5.3.1.1)", async (t) => {
  const cases: [number, string][] = [
    [2, "02"],
    [63, "3f"],
    [64, "0000"],
    [319, "00ff"],
    [320, "010001"],
    [365, "012d01"], // the specification's example: 1, then 301 = 0x012d
    [65599, "01ffff"],
  ];
  for (const [csid, want] of cases) {
    await t.step(`chunk stream ${csid}`, () => {
      const bytes = new ChunkEncoder().encode(msg(20, 0, 0, new Uint8Array([5])), csid);
      assertEquals(hex(bytes.subarray(0, want.length / 2)), want);
      const [m] = new ChunkDecoder().push(bytes);
      assertEquals(m!.payload, new Uint8Array([5]));
    });
  }
  assertThrows(() => new ChunkEncoder().encode(msg(8, 0, 0, new Uint8Array()), 1), RangeError);
  assertThrows(() => new ChunkEncoder().encode(msg(8, 0, 0, new Uint8Array()), 65600), RangeError);
});

Deno.test("Extended timestamps are sent in type 0 and continuation chunks (RTMP §5.3.1.3)", () => {
  const enc = new ChunkEncoder();
  const ts = 0x01234567;
  const bytes = enc.encode(msg(9, 1, ts, new Uint8Array(200)), 6);
  assertEquals(
    hex(bytes.subarray(0, 16)),
    "06" + "ffffff" + "0000c8" + "09" + "01000000" + "01234567",
  );
  // Continuation: basic header then the extended timestamp again.
  assertEquals(hex(bytes.subarray(16 + 128, 16 + 128 + 5)), "c6" + "01234567");
  const next = enc.encode(msg(9, 1, ts + 40, new Uint8Array(200)), 6);
  assertEquals(hex(next.subarray(0, 5)), "86" + "000028" + "00"); // type 2, delta 40, no extension
  const dec = new ChunkDecoder();
  const got = [...dec.push(bytes), ...dec.push(next)];
  assertEquals(got.map((m) => m.timestamp), [ts, ts + 40]);
  // A delta of 0xffffff or more uses the extended field as well.
  const far = enc.encode(msg(9, 1, ts + 40 + 0x1000000, new Uint8Array(10)), 6);
  assertEquals(hex(far.subarray(0, 12)), "46" + "ffffff" + "00000a" + "09" + "01000000");
  assertEquals(dec.push(far)[0]!.timestamp, ts + 40 + 0x1000000);
});

Deno.test("Set Chunk Size takes effect on the next chunk, also mid-buffer (RTMP §5.4.1)", () => {
  const enc = new ChunkEncoder();
  const a = enc.encode(setChunkSizeMessage(1000), 2);
  enc.chunkSize = 1000;
  const b = enc.encode(msg(9, 1, 0, new Uint8Array(900).fill(7)), 6);
  assertEquals(b.length, 12 + 900); // one chunk
  const dec = new ChunkDecoder();
  const got = dec.push(new Uint8Array([...a, ...b]));
  assertEquals(got.length, 2);
  assertEquals(dec.chunkSize, 1000);
  assertEquals(got[1]!.payload.length, 900);
  assertThrows(() => setChunkSizeMessage(0), RangeError);
  // A Set Chunk Size with the top bit set or zero is malformed.
  assertThrows(
    () => decodeControl(msg(1, 0, 0, new Uint8Array([0x80, 0, 0, 1]))),
    RtmpError,
  );
  const zero = new ChunkEncoder().encode(msg(1, 0, 0, new Uint8Array(4)), 2);
  assertThrows(() => new ChunkDecoder().push(zero), RtmpError);
});

Deno.test("Abort Message discards a partial message (RTMP §5.4.2)", () => {
  const enc = new ChunkEncoder();
  const big = enc.encode(msg(9, 1, 0, new Uint8Array(300)), 6);
  const abort = enc.encode(abortMessage(6), 2);
  enc.reset(6);
  const next = enc.encode(msg(9, 1, 40, new Uint8Array([0x22, 1])), 6);
  const dec = new ChunkDecoder();
  const got = dec.push(new Uint8Array([...big.subarray(0, 140), ...abort, ...next]));
  assertEquals(got.map((m) => m.type), [2, 9]);
  assertEquals(got[1]!.payload, new Uint8Array([0x22, 1]));
});

Deno.test("ChunkDecoder reassembles interleaved chunk streams (RTMP §5.3)", () => {
  const enc = new ChunkEncoder();
  const video = enc.encode(msg(9, 1, 0, new Uint8Array(300).fill(9)), 6);
  const audio = enc.encode(msg(8, 1, 0, new Uint8Array(200).fill(8)), 4);
  // Chunks: video 140 + 129 + 45 bytes; audio 140 + 73 bytes.
  const parts = [
    video.subarray(0, 140),
    audio.subarray(0, 140),
    video.subarray(140, 269),
    audio.subarray(140),
    video.subarray(269),
  ];
  const dec = new ChunkDecoder();
  const got = parts.flatMap((p) => dec.push(p));
  assertEquals(got.map((m) => [m.type, m.payload.length]), [[8, 200], [9, 300]]);
  assert(got[1]!.payload.every((b) => b === 9));
});

Deno.test("ChunkDecoder enforces its limits and header rules with RtmpError", async (t) => {
  await t.step("message longer than maxMessageSize", () => {
    const bytes = new ChunkEncoder().encode(msg(9, 1, 0, new Uint8Array(2000)), 6);
    const err = assertThrows(
      () => new ChunkDecoder({ maxMessageSize: 1000 }).push(bytes),
      RtmpError,
    );
    assert(err.message.includes("2000"));
  });
  await t.step("incomplete messages over maxBufferedBytes", () => {
    const enc = new ChunkEncoder();
    const dec = new ChunkDecoder({ maxBufferedBytes: 1000 });
    dec.push(enc.encode(msg(9, 1, 0, new Uint8Array(600)), 6).subarray(0, 140));
    const second = enc.encode(msg(8, 1, 0, new Uint8Array(600)), 4).subarray(0, 140);
    const err = assertThrows(() => dec.push(second), RtmpError);
    assert(err.message.includes("1000"));
  });
  await t.step("too many chunk streams", () => {
    const enc = new ChunkEncoder();
    const dec = new ChunkDecoder({ maxChunkStreams: 3 });
    for (const c of [3, 4, 5]) dec.push(enc.encode(msg(8, 1, 0, new Uint8Array(1)), c));
    assertThrows(() => dec.push(enc.encode(msg(8, 1, 0, new Uint8Array(1)), 6)), RtmpError);
  });
  await t.step("type 1 header on a new chunk stream", () => {
    assertThrows(
      () => new ChunkDecoder().push(new Uint8Array([0x43, 0, 0, 0, 0, 0, 1, 8, 0])),
      RtmpError,
    );
  });
  await t.step("new header while a message is incomplete", () => {
    const enc = new ChunkEncoder();
    const a = enc.encode(msg(9, 1, 0, new Uint8Array(300)), 6);
    const b = new ChunkEncoder().encode(msg(9, 1, 0, new Uint8Array(3)), 6);
    assertThrows(
      () => new ChunkDecoder().push(new Uint8Array([...a.subarray(0, 140), ...b])),
      RtmpError,
    );
  });
  await t.step("a failed decoder stays failed", () => {
    const dec = new ChunkDecoder();
    assertThrows(() => dec.push(new Uint8Array([0xc5])), RtmpError);
    assertThrows(() => dec.push(new Uint8Array([0x02])), RtmpError);
  });
});

// === Protocol control and user control messages (RTMP §5.4, §6.2, §7.1.7) ===

Deno.test("Control messages encode and decode (RTMP §5.4.1-5.4.5, §7.1.7)", () => {
  const cases: [RtmpMessage, string, unknown][] = [
    [setChunkSizeMessage(4096), "00001000", { kind: "setChunkSize", chunkSize: 4096 }],
    [abortMessage(6), "00000006", { kind: "abort", chunkStreamId: 6 }],
    [acknowledgementMessage(0x12345678), "12345678", { kind: "ack", sequenceNumber: 0x12345678 }],
    [windowAckSizeMessage(2500000), "002625a0", { kind: "windowAckSize", size: 2500000 }],
    [setPeerBandwidthMessage(2500000, 2), "002625a002", {
      kind: "setPeerBandwidth",
      size: 2500000,
      limitType: 2,
    }],
    [userControlMessage(UserControlEvent.STREAM_BEGIN, 1), "000000000001", {
      kind: "userControl",
      event: 0,
      data: [1],
    }],
    [userControlMessage(UserControlEvent.SET_BUFFER_LENGTH, 1, 3000), "00030000000100000bb8", {
      kind: "userControl",
      event: 3,
      data: [1, 3000],
    }],
  ];
  for (const [m, payload, decoded] of cases) {
    assertEquals(hex(m.payload), payload);
    assertEquals(m.streamId, 0);
    assertEquals(decodeControl(m), decoded);
  }
  assertThrows(() => decodeControl(msg(3, 0, 0, new Uint8Array(3))), RtmpError);
  assertThrows(() => decodeControl(msg(9, 0, 0, new Uint8Array(4))), RtmpError);
});

// === Command and data messages (RTMP §7.1.1, §7.1.2, §7.2) ===

Deno.test("encodeCommand() writes an AMF 0 connect command (RTMP §7.2.1.1)", () => {
  const m = encodeCommand({ name: "connect", transactionId: 1, object: { app: "live" }, args: [] });
  assertEquals(m.type, 20);
  assertEquals(
    hex(m.payload),
    "020007" + hex(new TextEncoder().encode("connect")) + // string "connect"
      "003ff0000000000000" + // number 1
      "030003" + hex(new TextEncoder().encode("app")) + "020004" +
      hex(new TextEncoder().encode("live")) + "000009", // object {app: "live"}
  );
  assertEquals(decodeCommand(m), {
    name: "connect",
    transactionId: 1,
    object: { app: "live" },
    args: [],
  });
  // Type 17 (AMF 3 command) starts with a format byte 0 and continues in AMF 0.
  const amf3 = { ...m, type: 17, payload: new Uint8Array([0, ...m.payload]) };
  assertEquals(decodeCommand(amf3).name, "connect");
  // A bare name (ffmpeg's onFCPublish) reads with transaction ID 0.
  assertEquals(decodeCommand({ ...m, payload: new Uint8Array([2, 0, 1, 0x61]) }).transactionId, 0);
  assertThrows(() => decodeCommand({ ...m, payload: new Uint8Array([0, 0]) }), RtmpError);
  assertThrows(() => decodeCommand({ ...m, payload: new Uint8Array([0x40]) }), RtmpError);
});

Deno.test("encodeData() carries @setDataFrame/onMetaData (RTMP §7.1.2)", () => {
  const meta = new EcmaArray({ width: 320, height: 240 });
  const m = encodeData(["@setDataFrame", "onMetaData", meta], 1, 0);
  assertEquals(m.type, 18);
  const back = decodeData(m);
  assertEquals(back[1], "onMetaData");
  assertEquals((back[2] as EcmaArray).properties, { width: 320, height: 240 });
});

Deno.test("RtmpConnection acknowledges the window and answers pings (RTMP §5.4.4, §7.1.7)", () => {
  const client = new RtmpConnection("client");
  const server = new RtmpConnection("server");
  const pump = () => {
    const got = { client: [] as RtmpMessage[], server: [] as RtmpMessage[] };
    for (let i = 0; i < 4; i++) {
      got.server.push(...server.receive(client.takeOutput()));
      got.client.push(...client.receive(server.takeOutput()));
    }
    return got;
  };
  pump();
  assertEquals(client.connected && server.connected, true);
  server.send(windowAckSizeMessage(5000));
  server.send(userControlMessage(UserControlEvent.PING_REQUEST, 1234));
  let got = pump();
  const pong = got.server.find((m) => m.type === MessageType.USER_CONTROL)!;
  assertEquals(decodeControl(pong), { kind: "userControl", event: 7, data: [1234] });
  assertEquals(got.server.some((m) => m.type === MessageType.ACK), false);
  server.send(msg(9, 1, 0, new Uint8Array(6000)));
  got = pump();
  const ack = got.server.find((m) => m.type === MessageType.ACK);
  assert(ack, "expected an Acknowledgement after 5000 bytes");
  const c = decodeControl(ack!);
  assert(c.kind === "ack" && c.sequenceNumber >= 5000 && c.sequenceNumber <= client.bytesReceived);
  // Set Peer Bandwidth is answered with a Window Acknowledgement Size (§5.4.5).
  server.send(setPeerBandwidthMessage(100000, 2));
  got = pump();
  const was = got.server.find((m) => m.type === MessageType.WINDOW_ACK_SIZE)!;
  assertEquals(decodeControl(was), { kind: "windowAckSize", size: 100000 });
});

Deno.test("Aggregate messages split into sub-messages with renormalized timestamps (RTMP §7.1.6)", () => {
  const subs = [
    msg(8, 1, 1000, new Uint8Array([0x2e, 1, 2])),
    msg(9, 1, 1020, new Uint8Array([0x12, 3])),
  ];
  const agg = encodeAggregate(subs, 5);
  // Header 0 (§6.1.1): type 8, length 3, timestamp 1000, stream 5; data; back pointer 14.
  assertEquals(
    hex(agg.payload.subarray(0, 18)),
    "08" + "000003" + "000003e8" + "000005" + "2e0102" + "0000000e",
  );
  assertEquals(decodeAggregate(agg), subs.map((m) => ({ ...m, streamId: 5 })));
  // The aggregate's timestamp minus the first sub-message's is added to every sub-message.
  const moved = decodeAggregate({ ...agg, timestamp: 5000 });
  assertEquals(moved.map((m) => m.timestamp), [5000, 5020]);
  assertThrows(() => decodeAggregate({ ...agg, payload: agg.payload.subarray(0, 20) }), RtmpError);
});

// === Property tests ===

const messageArb = fc.record({
  csid: fc.oneof(fc.integer({ min: 3, max: 8 }), fc.integer({ min: 3, max: 65599 })),
  type: fc.constantFrom(8, 9, 18, 20),
  streamId: fc.constantFrom(0, 1, 2, 0x01020304),
  timestamp: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 0xffffffff })),
  size: fc.integer({ min: 0, max: 700 }),
  chunkSize: fc.option(fc.integer({ min: 1, max: 400 }), { freq: 5 }),
});

Deno.test("decode(encode(messages)) equals the messages over random chunk sizes and splits", () => {
  fc.assert(
    fc.property(
      fc.array(messageArb, { minLength: 1, maxLength: 25 }),
      fc.integer({ min: 1, max: 300 }),
      fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 10 }),
      (specs, chunkSize, splits) => {
        const enc = new ChunkEncoder({ chunkSize });
        const dec = new ChunkDecoder({ chunkSize });
        const sent: (RtmpMessage & { chunkStreamId: number; fmt: number })[] = [];
        const parts: Uint8Array[] = [];
        let n = 0;
        for (const s of specs) {
          if (s.chunkSize !== null) {
            const m = setChunkSizeMessage(s.chunkSize);
            const c = enc.encode(m, 2);
            parts.push(c);
            enc.chunkSize = s.chunkSize;
            sent.push({ ...m, chunkStreamId: 2, fmt: c[0]! >> 6 });
          }
          const payload = Uint8Array.from({ length: s.size }, () => n++ & 0xff);
          const m = msg(s.type, s.streamId, s.timestamp, payload);
          const c = enc.encode(m, s.csid);
          parts.push(c);
          sent.push({ ...m, chunkStreamId: s.csid, fmt: c[0]! >> 6 });
        }
        const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
        let o = 0;
        for (const p of parts) all.set(p, (o += p.length) - p.length);
        const got: RtmpMessage[] = [];
        const scratch = new Uint8Array(500);
        let pos = 0;
        let i = 0;
        while (pos < all.length) {
          const len = splits[i++ % splits.length]!;
          // The caller reuses one read buffer, as a socket loop does.
          const piece = all.subarray(pos, pos + len);
          scratch.set(piece);
          got.push(...dec.push(scratch.subarray(0, piece.length)));
          scratch.fill(0xee);
          pos += len;
        }
        // Messages on different chunk streams complete in order of their last chunk; each
        // message is complete before the next one starts here, so the order is kept.
        assertEquals(got, sent);
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("Random bytes make ChunkDecoder, RtmpConnection and decoders throw only typed errors", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 400 }),
      fc.integer({ min: 1, max: 64 }),
      (bytes, step) => {
        const dec = new ChunkDecoder({ maxMessageSize: 1 << 16 });
        try {
          for (let i = 0; i < bytes.length; i += step) {
            for (const m of dec.push(bytes.subarray(i, i + step))) {
              if (m.type === 20 || m.type === 17) {
                try {
                  decodeCommand(m);
                } catch (e) {
                  if (!(e instanceof RtmpError)) throw e;
                }
              }
              if (m.type >= 1 && m.type <= 6) {
                try {
                  decodeControl(m);
                } catch (e) {
                  if (!(e instanceof RtmpError)) throw e;
                }
              }
            }
          }
        } catch (e) {
          if (!(e instanceof RtmpError)) throw e;
        }
        for (const f of [decodeCommand, decodeAggregate, decodeData]) {
          try {
            f(msg(22, 0, 0, bytes));
          } catch (e) {
            if (!(e instanceof RtmpError)) throw e;
          }
        }
        try {
          const r = new FlvReader();
          r.push(new Uint8Array([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]));
          r.push(bytes);
        } catch (e) {
          if (!(e instanceof FlvError)) throw e;
        }
        for (const f of [decodeAudioTagHeader, decodeVideoTagHeader, decodeScriptData]) {
          try {
            f(bytes);
          } catch (e) {
            if (!(e instanceof FlvError)) throw e;
          }
        }
      },
    ),
    { numRuns: 400 },
  );
  // A server-side connection fed garbage after a valid C0 fails with RtmpError or waits.
  const conn = new RtmpConnection("server");
  const garbage = new Uint8Array(4000).map((_, i) => (i * 7919 + 3) & 0xff);
  garbage[0] = 3;
  assertThrows(() => conn.receive(garbage), RtmpError);
});

// === FLV ===

Deno.test('FLV header, tags and back-pointers (FLV "The FLV header", "FLV tags")', () => {
  assertEquals(
    hex(encodeFlvHeader({ version: 1, audio: true, video: false })),
    "464c5601040000000900000000",
  );
  const tag: FlvTag = { type: 8, timestamp: 0x7f000001, data: new Uint8Array([0xaf, 1, 9]) };
  // TagType, DataSize 3, Timestamp lower 24 bits, TimestampExtended, StreamID 0, data, size 14.
  assertEquals(
    hex(encodeFlvTag(tag)),
    "08" + "000003" + "000001" + "7f" + "000000" + "af0109" + "0000000e",
  );
  const file = new Uint8Array([
    ...encodeFlvHeader({ version: 1, audio: true, video: true }),
    ...encodeFlvTag({
      type: 18,
      timestamp: 0,
      data: encodeData(["onMetaData", { duration: 1 }]).payload,
    }),
    ...encodeFlvTag(tag),
  ]);
  const r = new FlvReader();
  const got: FlvTag[] = [];
  for (const b of file) got.push(...r.push(new Uint8Array([b])));
  assertEquals(got.length, 2);
  assertEquals(got[1], tag);
  assertEquals(decodeScriptData(got[0]!.data), ["onMetaData", { duration: 1 }]);
  assertEquals(decodeFlv(file).tags.length, 2);
  assertThrows(() => decodeFlv(file.subarray(0, file.length - 6)), FlvError);
  assertThrows(() => decodeFlv(new TextEncoder().encode("GIF89a...........")), FlvError);
  assertThrows(
    () =>
      new FlvReader().push(
        new Uint8Array([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0, 7, ...new Uint8Array(14)]),
      ),
    FlvError,
  );
});

Deno.test('Audio and video tag headers (FLV "AUDIODATA", "VIDEODATA", "AVCVIDEOPACKET")', () => {
  assertEquals(decodeAudioTagHeader(new Uint8Array([0x2e])), {
    soundFormat: 2,
    soundRate: 3,
    soundSize: 1,
    soundType: 0,
  });
  assertEquals(decodeAudioTagHeader(new Uint8Array([0xaf, 1])).aacPacketType, 1);
  assertThrows(() => decodeAudioTagHeader(new Uint8Array([0xaf])), FlvError);
  assertEquals(decodeVideoTagHeader(new Uint8Array([0x22])), { frameType: 2, codecId: 2 });
  assertEquals(decodeVideoTagHeader(new Uint8Array([0x27, 1, 0, 0, 0x50])), {
    frameType: 2,
    codecId: 7,
    avcPacketType: 1,
    compositionTime: 80,
  });
  assertThrows(() => decodeVideoTagHeader(new Uint8Array([0x17, 0])), FlvError);
  assertThrows(() => decodeVideoTagHeader(new Uint8Array()), FlvError);
});

Deno.test("FLV tags round-trip through FlvReader (property)", () => {
  const tagArb = fc.record({
    type: fc.constantFrom(8 as const, 9 as const, 18 as const),
    timestamp: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    data: fc.uint8Array({ maxLength: 300 }),
  });
  fc.assert(
    fc.property(
      fc.array(tagArb, { maxLength: 20 }),
      fc.integer({ min: 1, max: 200 }),
      (tags, step) => {
        const file = [
          encodeFlvHeader({ version: 1, audio: true, video: true }),
          ...tags.map(encodeFlvTag),
        ];
        const bytes = new Uint8Array(file.reduce((a, p) => a + p.length, 0));
        let o = 0;
        for (const p of file) {
          bytes.set(p, o);
          o += p.length;
        }
        const r = new FlvReader();
        const got: FlvTag[] = [];
        for (let i = 0; i < bytes.length; i += step) {
          got.push(
            ...r.push(bytes.subarray(i, i + step)),
          );
        }
        assertEquals(got, tags.map((t) => ({ ...t })));
      },
    ),
    { numRuns: 100 },
  );
});

// === URL ===

Deno.test("parseRtmpUrl() splits host, port, app and stream", () => {
  assertEquals(parseRtmpUrl("rtmp://10.0.0.1/live/a?key=1"), {
    hostname: "10.0.0.1",
    port: 1935,
    app: "live",
    stream: "a?key=1",
    tcUrl: "rtmp://10.0.0.1/live",
  });
  assertThrows(() => parseRtmpUrl("http://x/live"), TypeError);
  assertThrows(() => parseRtmpUrl("rtmp://x/"), TypeError);
});
