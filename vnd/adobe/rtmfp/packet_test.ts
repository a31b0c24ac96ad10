// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual as assertEquals, throws } from "node:assert/strict";
import fc from "fast-check";
import { ByteReader, ByteWriter, fromHex, toHex } from "@rtclite/std/bytes";
import {
  ackedAbove,
  type Chunk,
  decodeChunk,
  decodeMultiplex,
  decodeOptions,
  decodePacket,
  encodeChunk,
  encodeChunkInto,
  encodedChunkLength,
  encodedPacketLength,
  encodedVluLength,
  encodeMultiplex,
  encodeOptions,
  encodePacket,
  encodePacketInto,
  readAddress,
  readVlu,
  type RtmfpAddress,
  type RtmfpPacket,
  RtmfpParseError,
  writeAddress,
  writeVlu,
} from "./mod.ts";

const hex = (s: string) => fromHex(s.replace(/\s+/g, ""));
// deno-lint-ignore no-explicit-any
function assertThrows(fn: () => unknown, cls: new (...a: any[]) => Error, msg = ""): void {
  throws(fn, (e: unknown) => e instanceof cls && e.message.includes(msg));
}
const rd = (b: Uint8Array) => new ByteReader(b, (m, at) => new RtmfpParseError(m, at), "test");

Deno.test("VLU: seven bits a byte, high bit means more (RFC 7016 §2.1.2)", async (t) => {
  for (
    const [value, bytes] of [
      [0, "00"],
      [127, "7f"],
      [128, "8100"],
      [16383, "ff7f"],
      [16384, "818000"],
      [Number.MAX_SAFE_INTEGER, "8fffffffffffff7f"],
    ] as const
  ) {
    await t.step(`${value} = ${bytes}`, () => {
      const w = new ByteWriter();
      writeVlu(w, value);
      assertEquals(toHex(w.finish()), bytes);
      assertEquals(encodedVluLength(value), bytes.length / 2);
      assertEquals(readVlu(rd(fromHex(bytes)), "v"), value);
    });
  }
  assertThrows(() => readVlu(rd(hex("ffffffffffffffffff7f")), "v"), RtmfpParseError, "2^53");
  assertThrows(() => readVlu(rd(hex("80")), "v"), RtmfpParseError, "needs 1 bytes");
  assertThrows(() => encodedVluLength(-1), RangeError);
});

Deno.test("options and option lists: length, type, value; Marker ends (§2.1.3, §2.1.4)", () => {
  // The Flash peer-id Endpoint Discriminator: length 0x21, type 0x0f, 32 bytes of id.
  const id = new Uint8Array(32).fill(0xab);
  const epd = encodeOptions([{ type: 0x0f, value: id }]);
  assertEquals(toHex(epd.subarray(0, 3)), "210fab");
  assertEquals(epd.length, 34);
  assertEquals(decodeOptions(epd), [{ type: 0x0f, value: id }]);
  // A Marker stops the list; a type above 127 takes two bytes.
  assertEquals(decodeOptions(hex("03 8100 ff 00 0202")), [{ type: 128, value: hex("ff") }]);
  assertThrows(() => decodeOptions(hex("05 0a 01")), RtmfpParseError, "option needs 5");
});

Deno.test("addresses: IPv4 and IPv6 with an origin tag (§2.1.5)", () => {
  const cases: [RtmfpAddress, string][] = [
    [{ address: "1.2.3.4", port: 1935, origin: 2 }, "02 01020304 078f"],
    [
      { address: "2001:db8::1", port: 80, origin: 1 },
      "81 20010db8000000000000000000000001 0050",
    ],
    [{ address: "::", port: 1, origin: 3 }, "83 00000000000000000000000000000000 0001"],
  ];
  for (const [a, bytes] of cases) {
    const w = new ByteWriter();
    writeAddress(w, a);
    assertEquals(toHex(w.finish()), bytes.replace(/ /g, ""));
    assertEquals(readAddress(rd(hex(bytes))), a);
  }
  assertThrows(
    () => writeAddress(new ByteWriter(), { address: "x", port: 1, origin: 0 }),
    TypeError,
  );
});

Deno.test("multiplex: session id XOR the first two words of the encrypted packet (§2.2.2)", () => {
  const encrypted = hex("0102030405060708 090a");
  const datagram = encodeMultiplex(0x11223344, encrypted);
  // 0x11223344 ^ 0x01020304 ^ 0x05060708 = 0x15263748
  assertEquals(toHex(datagram.subarray(0, 4)), "15263748");
  assertEquals(decodeMultiplex(datagram).sessionId, 0x11223344);
  assertEquals(decodeMultiplex(datagram).encrypted, encrypted);
  // Shorter than 8 bytes: as though end-padded with zeros.
  const short = encodeMultiplex(7, hex("000000ff"));
  assertEquals(toHex(short.subarray(0, 4)), "000000f8");
  assertEquals(decodeMultiplex(short).sessionId, 7);
  assertThrows(() => decodeMultiplex(hex("0102")), RtmfpParseError);
});

Deno.test("packet header: flags, timestamps, chunks, padding (§2.2.4)", () => {
  const p: RtmfpPacket = {
    mode: 3,
    timestamp: 0x0102,
    timestampEcho: 0x0304,
    timeCritical: true,
    chunks: [{ type: "close" }],
  };
  const bytes = encodePacket(p);
  assertEquals(toHex(bytes), "8f" + "0102" + "0304" + "0c0000");
  assertEquals(encodedPacketLength(p), bytes.length);
  assertEquals(decodePacket(bytes), p);
  // 0xff padding after the chunks (fewer than 3 bytes, or a chunk that would not fit) is ignored.
  assertEquals(decodePacket(hex("09 0102 0c0000 ffff")).chunks, [{ type: "close" }]);
  assertEquals(decodePacket(hex("09 0102 0c0000 ffffffffff")).chunks, [{ type: "close" }]);
  const buf = new Uint8Array(20);
  assertEquals(encodePacketInto(p, buf, 2), bytes.length);
  assertEquals(buf.subarray(2, 2 + bytes.length), bytes);
});

Deno.test("packet mode 0 is forbidden (§2.2.4)", () => {
  assertThrows(() => decodePacket(hex("08 0000")), RtmfpParseError, "mode 0");
  assertThrows(() => encodePacket({ mode: 0 as 1, chunks: [] }), RangeError);
});

Deno.test("a chunk with a syntax error is kept as malformed, the next parsed (§2.3)", () => {
  // A Buffer Probe whose VLU never ends, then a Ping.
  const p = decodePacket(hex("01 18 0001 80 01 0001 07"));
  assertEquals(p.chunks[0]?.type, "malformed");
  assertEquals(p.chunks[1], { type: "ping", message: hex("07") });
  assertEquals(encodePacket(p), hex("01 18 0001 80 01 0001 07"));
  // Unknown types are kept (and ignored by the session) too.
  assertEquals(decodePacket(hex("01 33 0001 aa")).chunks, [
    { type: "unknown", code: 0x33, payload: hex("aa") },
  ]);
});

Deno.test("Figure 3: User Data then two Next User Data (§2.3.11, §2.3.12)", () => {
  const bytes = hex("10 0007 00 020503 000102  11 0004 00 030405  11 0004 00 060708");
  const p = decodePacket(hex("01" + toHex(bytes)));
  assertEquals(p.chunks, [
    {
      type: "userData",
      flowId: 2,
      sequenceNumber: 5,
      fsnOffset: 3,
      fragment: 0,
      abandon: false,
      final: false,
      options: undefined,
      data: hex("000102"),
    },
    {
      type: "nextUserData",
      fragment: 0,
      abandon: false,
      final: false,
      options: undefined,
      data: hex("030405"),
    },
    {
      type: "nextUserData",
      fragment: 0,
      abandon: false,
      final: false,
      options: undefined,
      data: hex("060708"),
    },
  ]);
  assertEquals(encodePacket(p), hex("01" + toHex(bytes)));
});

Deno.test("User Data with options, fragment control, abandon and final flags (§2.3.11)", () => {
  const c: Chunk = {
    type: "userData",
    flowId: 300,
    sequenceNumber: 1,
    fsnOffset: 1,
    fragment: 1,
    abandon: false,
    final: true,
    options: [{ type: 0, value: hex("5402") }, { type: 0x0a, value: hex("05") }],
    data: hex("abcd"),
  };
  // OPT|FRA=1|FIN = 0x91; flowID 300 = 82 2c; seq 1; fsnOffset 1; options 03 00 5402, 02 0a 05, 00.
  const bytes = hex("10 000f 91 822c 01 01 03005402 020a05 00 abcd");
  assertEquals(encodeChunk(c), bytes);
  assertEquals(decodeChunk(bytes), c);
  assertThrows(
    () => decodeChunk(hex("10 0004 00 01 01 02")),
    RtmfpParseError,
    "fsnOffset is greater",
  );
});

Deno.test("Figure 4: Bitmap Ack acknowledges 0-16, 18, 21-24, 27, 28 (§2.3.13)", () => {
  const bytes = hex("50 0005 05 7f 10 79 06");
  const c = decodeChunk(bytes);
  assertEquals(c, {
    type: "bitmapAck",
    flowId: 5,
    bufferBlocksAvailable: 127,
    cumulativeAck: 16,
    bitmap: hex("7906"),
  });
  assertEquals(ackedAbove(c as never), [18, 21, 22, 23, 24, 27, 28]);
  assertEquals(encodeChunk(c), bytes);
});

Deno.test("Figures 5 and 6: Range Ack, and a truncated last range ignored (§2.3.14)", () => {
  const five = decodeChunk(hex("51 0007 05 7f 10 00 00 01 03"));
  assertEquals(five, {
    type: "rangeAck",
    flowId: 5,
    bufferBlocksAvailable: 127,
    cumulativeAck: 16,
    ranges: [[18, 18], [21, 24]],
  });
  assertEquals(ackedAbove(five as never), [18, 21, 22, 23, 24]);
  assertEquals(encodeChunk(five), hex("51 0007 05 7f 10 00 00 01 03"));
  const six = decodeChunk(hex("51 0007 05 7f 10 00 00 01 83"));
  assertEquals((six as { ranges: unknown }).ranges, [[18, 18]]);
});

Deno.test("handshake chunks: hand-encoded from the §2.3.2-§2.3.8 structures", async (t) => {
  const tag = hex("00112233445566778899aabbccddeeff");
  const cases: [string, Chunk, string][] = [
    [
      "IHello (§2.3.2)",
      { type: "ihello", epd: hex("0a0a72746d66703a2f2f"), tag },
      "30 001b 0a 0a0a72746d66703a2f2f" + toHex(tag),
    ],
    [
      "FIHello (§2.3.3)",
      {
        type: "fihello",
        epd: hex("210f"),
        replyAddress: { address: "10.0.0.1", port: 5000, origin: 2 },
        tag: hex("01"),
      },
      "0f 000b 02 210f 02 0a000001 1388 01",
    ],
    [
      "RHello (§2.3.4)",
      { type: "rhello", tagEcho: hex("aa"), cookie: hex("bbcc"), certificate: hex("dd") },
      "70 0006 01aa 02bbcc dd",
    ],
    [
      "Redirect (§2.3.5)",
      {
        type: "redirect",
        tagEcho: hex("aa"),
        addresses: [{ address: "127.0.0.1", port: 1935, origin: 1 }],
      },
      "71 0009 01aa 01 7f000001 078f",
    ],
    [
      "Implied Redirect (§2.3.5)",
      { type: "redirect", tagEcho: hex("aa"), addresses: [] },
      "71 0002 01aa",
    ],
    [
      "Cookie Change (§2.3.6)",
      { type: "cookieChange", oldCookie: hex("0102"), newCookie: hex("030405") },
      "79 0006 02 0102 030405",
    ],
    [
      "IIKeying (§2.3.7)",
      {
        type: "iikeying",
        initiatorSessionId: 0x01020304,
        cookieEcho: hex("cc"),
        certificate: hex("ce"),
        skic: hex("5a5b"),
        signature: hex("58"),
      },
      "38 000c 01020304 01cc 01ce 025a5b 58",
    ],
    [
      "RIKeying (§2.3.8)",
      { type: "rikeying", responderSessionId: 9, skrc: hex("ab"), signature: hex("58") },
      "78 0007 00000009 01ab 58",
    ],
    ["Ping (§2.3.9)", { type: "ping", message: hex("0102") }, "01 0002 0102"],
    ["Ping Reply (§2.3.10)", { type: "pingReply", message: hex("0102") }, "41 0002 0102"],
    ["Buffer Probe (§2.3.15)", { type: "bufferProbe", flowId: 130 }, "18 0002 8102"],
    [
      "Flow Exception Report (§2.3.16)",
      { type: "flowException", flowId: 3, exception: 0 },
      "5e 0002 03 00",
    ],
    ["Close (§2.3.17)", { type: "close" }, "0c 0000"],
    ["Close Ack (§2.3.18)", { type: "closeAck" }, "4c 0000"],
    [
      "Packet Fragment (§2.3.1)",
      { type: "fragment", more: true, packetId: 7, fragmentNum: 0, data: hex("0b") },
      "7f 0004 80 07 00 0b",
    ],
    ["padding (§2.3)", { type: "padding", code: 0xff, payload: hex("ffff") }, "ff 0002 ffff"],
  ];
  for (const [name, chunk, bytes] of cases) {
    await t.step(name, () => {
      const b = hex(bytes);
      assertEquals(encodeChunk(chunk), b);
      assertEquals(encodedChunkLength(chunk), b.length);
      assertEquals(decodeChunk(b), chunk);
      const buf = new Uint8Array(b.length + 1);
      assertEquals(encodeChunkInto(chunk, buf, 1), b.length);
    });
  }
  assertThrows(() => decodeChunk(hex("7f 0003 80 07 00")), RtmfpParseError, "empty");
  assertThrows(() => decodeChunk(hex("0c 0001 00")), RtmfpParseError, "after the last field");
});

// === Property tests ===

const bytesArb = (max = 20) => fc.uint8Array({ maxLength: max });
const vlu = fc.nat({ max: 2 ** 40 });
const flags = {
  fragment: fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<0 | 1 | 2 | 3>,
  abandon: fc.boolean(),
  final: fc.boolean(),
  options: fc.option(
    fc.array(fc.record({ type: fc.nat({ max: 20000 }), value: bytesArb(8) }), { maxLength: 3 }),
    { nil: undefined },
  ),
  data: bytesArb(),
};
const addressArb: fc.Arbitrary<RtmfpAddress> = fc.record({
  address: fc.oneof(fc.ipV4(), fc.constantFrom("::1", "2001:db8::5:0:1", "fe80::1:2:3:4")),
  port: fc.nat({ max: 65535 }),
  origin: fc.nat({ max: 3 }),
});
const chunkArb: fc.Arbitrary<Chunk> = fc.oneof(
  fc.record({
    type: fc.constant("fragment" as const),
    more: fc.boolean(),
    packetId: vlu,
    fragmentNum: vlu,
    data: fc.uint8Array({ minLength: 1, maxLength: 20 }),
  }),
  fc.record({ type: fc.constant("ihello" as const), epd: bytesArb(), tag: bytesArb() }),
  fc.record({
    type: fc.constant("fihello" as const),
    epd: bytesArb(),
    replyAddress: addressArb,
    tag: bytesArb(),
  }),
  fc.record({
    type: fc.constant("rhello" as const),
    tagEcho: bytesArb(),
    cookie: bytesArb(),
    certificate: bytesArb(),
  }),
  fc.record({
    type: fc.constant("redirect" as const),
    tagEcho: bytesArb(),
    addresses: fc.array(addressArb, { maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant("cookieChange" as const),
    oldCookie: bytesArb(),
    newCookie: bytesArb(),
  }),
  fc.record({
    type: fc.constant("iikeying" as const),
    initiatorSessionId: fc.nat({ max: 0xffffffff }),
    cookieEcho: bytesArb(),
    certificate: bytesArb(),
    skic: bytesArb(),
    signature: bytesArb(),
  }),
  fc.record({
    type: fc.constant("rikeying" as const),
    responderSessionId: fc.nat({ max: 0xffffffff }),
    skrc: bytesArb(),
    signature: bytesArb(),
  }),
  fc.record({ type: fc.constantFrom("ping" as const, "pingReply" as const), message: bytesArb() }),
  fc.tuple(vlu, vlu, vlu).chain(([flowId, a, b]) =>
    fc.record({
      type: fc.constant("userData" as const),
      flowId: fc.constant(flowId),
      sequenceNumber: fc.constant(Math.max(a, b)),
      fsnOffset: fc.constant(Math.min(a, b)),
      ...flags,
    })
  ),
  fc.record({ type: fc.constant("nextUserData" as const), ...flags }),
  fc.record({
    type: fc.constant("bitmapAck" as const),
    flowId: vlu,
    bufferBlocksAvailable: vlu,
    cumulativeAck: vlu,
    bitmap: bytesArb(4),
  }),
  fc.record({
    type: fc.constant("rangeAck" as const),
    flowId: vlu,
    bufferBlocksAvailable: vlu,
    cumulativeAck: vlu,
    runs: fc.array(fc.tuple(fc.nat(100), fc.nat(100)), { maxLength: 4 }),
  }).map(({ runs, ...c }) => {
    let cursor = c.cumulativeAck;
    const ranges = runs.map(([h, n]): [number, number] => {
      const from = cursor + h + 2;
      cursor = from + n;
      return [from, cursor];
    });
    return { ...c, ranges };
  }),
  fc.record({ type: fc.constant("bufferProbe" as const), flowId: vlu }),
  fc.record({ type: fc.constant("flowException" as const), flowId: vlu, exception: vlu }),
  fc.constantFrom({ type: "close" as const }, { type: "closeAck" as const }),
  fc.record({
    type: fc.constant("padding" as const),
    code: fc.constantFrom(0x00 as const, 0xff as const),
    payload: bytesArb(),
  }),
);

Deno.test("property: every chunk and packet round-trips", () => {
  fc.assert(
    fc.property(chunkArb, (c) => {
      assertEquals(decodeChunk(encodeChunk(c)), c);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom(1, 2, 3) as fc.Arbitrary<1 | 2 | 3>,
      fc.option(fc.nat(0xffff), { nil: undefined }),
      fc.array(chunkArb.filter((c) => c.type !== "padding"), { maxLength: 4 }),
      (mode, timestamp, chunks) => {
        const p: RtmfpPacket = { mode, chunks };
        if (timestamp !== undefined) p.timestamp = timestamp;
        const bytes = encodePacket(p);
        assertEquals(encodedPacketLength(p), bytes.length);
        assertEquals(decodePacket(bytes), p);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("property: random bytes give only RtmfpParseError, and what decodes re-encodes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      for (const decode of [decodePacket, decodeChunk, decodeMultiplex, decodeOptions]) {
        try {
          decode(bytes);
        } catch (e) {
          if (!(e instanceof RtmfpParseError)) throw e;
        }
      }
      try {
        const p = decodePacket(bytes);
        // Re-encoding drops only the padding and reserved bits.
        assertEquals(decodePacket(encodePacket(p)), p);
      } catch (e) {
        if (!(e instanceof RtmfpParseError)) throw e;
      }
    }),
    { numRuns: 5000 },
  );
});
