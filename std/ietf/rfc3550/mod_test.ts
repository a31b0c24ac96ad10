// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { fromHex } from "../../bytes.ts";
import {
  decodeRtcp,
  decodeRtp,
  deterministicInterval,
  encodeRtcp,
  encodeRtp,
  encodeRtpInto,
  lossStats,
  newSource,
  rtcpInterval,
  type RtcpPacket,
  RtcpParseError,
  type RtpPacket,
  RtpParseError,
  RtpSession,
  toNtp,
  updateJitter,
  updateSeq,
} from "./mod.ts";

const hex = (s: string) => fromHex(s.replace(/\s+/g, ""));

// --- RTP packets from other stacks' tests (pion/rtp packet_test.go) ---

Deno.test("decodeRtp() and encodeRtp() on published vectors (RFC 3550 §5.1, §5.3.1)", async (t) => {
  await t.step("pion/rtp TestBasic: marker, PT 96, header extension", () => {
    const raw = hex("90e0698fd9c293da1c642782 00010001 ffffffff 9836be889e");
    const p = decodeRtp(raw);
    equal(p.marker, true);
    equal(p.payloadType, 96);
    equal(p.sequenceNumber, 27023);
    equal(p.timestamp, 3653407706);
    equal(p.ssrc, 476325762);
    deepEqual(p.csrcs, []);
    equal(p.extension?.profile, 1);
    deepEqual(p.extension?.data, hex("ffffffff"));
    deepEqual(p.payload, hex("9836be889e"));
    deepEqual(encodeRtp(p), raw);
  });
  await t.step("pion/rtp TestExtension: extension header missing", () => {
    throws(() => decodeRtp(hex("90 60 698f d9c293da 1c642782")), RtpParseError);
  });
  await t.step("pion/rtp TestExtension: extension length beyond the packet", () => {
    throws(() => decodeRtp(hex("9060698fd9c293da1c642782 99999999")), /extension/);
  });
  await t.step("pion/rtp TestRoundtrip: version 0 is rejected here", () => {
    throws(
      () => decodeRtp(hex("001023451234456 7ccddeeff0011223344556677")),
      /version is 0, expected 2/,
    );
  });
});

Deno.test("decodeRtp() reads CSRCs and padding (RFC 3550 §5.1)", () => {
  const p: RtpPacket = {
    marker: false,
    payloadType: 8,
    sequenceNumber: 65535,
    timestamp: 0xffffffff,
    ssrc: 0xdeadbeef,
    csrcs: [1, 2, 0xffffffff],
    padding: 7,
    payload: new Uint8Array([1, 2, 3]),
  };
  const b = encodeRtp(p);
  equal(b[0], 0xa3); // V=2 P=1 X=0 CC=3
  equal(b.length, 12 + 12 + 3 + 7);
  equal(b[b.length - 1], 7);
  deepEqual(decodeRtp(b), p);
});

Deno.test("decodeRtp() rejects bad input with RtpParseError", async (t) => {
  await t.step(
    "truncated",
    () => throws(() => decodeRtp(new Uint8Array(11)), /buffer has 11 bytes, expected at least 12/),
  );
  await t.step(
    "CSRC count beyond the packet",
    () => throws(() => decodeRtp(hex("8f00000100000000 00000001")), /15 CSRCs need 72/),
  );
  await t.step(
    "padding longer than the packet",
    () => throws(() => decodeRtp(hex("a000000100000000000000010203ff")), /padding/),
  );
  await t.step(
    "padding count 0",
    () => throws(() => decodeRtp(hex("a00000010000000000000001 00")), /padding/),
  );
});

Deno.test("encodeRtpInto() range checks", () => {
  const p: RtpPacket = {
    marker: false,
    payloadType: 128,
    sequenceNumber: 0,
    timestamp: 0,
    ssrc: 0,
    csrcs: [],
    padding: 0,
    payload: new Uint8Array(),
  };
  throws(() => encodeRtpInto(p, new Uint8Array(100)), RangeError);
  throws(() => encodeRtpInto({ ...p, payloadType: 0 }, new Uint8Array(4)), /needs 12 bytes/);
  throws(
    () => encodeRtp({ ...p, payloadType: 0, extension: { profile: 1, data: new Uint8Array(3) } }),
    /multiple of 4/,
  );
});

const arbRtp: fc.Arbitrary<RtpPacket> = fc.record({
  marker: fc.boolean(),
  payloadType: fc.integer({ min: 0, max: 127 }),
  sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
  timestamp: fc.integer({ min: 0, max: 0xffffffff }),
  ssrc: fc.integer({ min: 0, max: 0xffffffff }),
  csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
  padding: fc.integer({ min: 0, max: 255 }),
  payload: fc.uint8Array({ maxLength: 64 }),
}).chain((p) =>
  fc.option(
    fc.record({
      profile: fc.integer({ min: 0, max: 0xffff }),
      data: fc.uint8Array({ maxLength: 4 }).map((a) => new Uint8Array(a.length * 4)),
    }),
    { nil: undefined },
  )
    .map((extension) => (extension ? { ...p, extension } : p))
);

Deno.test("RTP property: decode(encode(p)) equals p; random bytes throw only RtpParseError", () => {
  fc.assert(
    fc.property(arbRtp, (p) => {
      deepEqual(decodeRtp(encodeRtp(p)), p);
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      try {
        const p = decodeRtp(b);
        deepEqual(decodeRtp(encodeRtp(p)), p);
      } catch (e) {
        ok(e instanceof RtpParseError, String(e));
      }
    }),
    { numRuns: 1000 },
  );
});

// --- RTCP ---

Deno.test("decodeRtcp() on published vectors (RFC 3550 §6.4.1, §6.5)", async (t) => {
  await t.step("mediasoup TestSenderReport: SR without report blocks", () => {
    const [sr] = decodeRtcp(hex("80c80006 5d931534 dd3ac1b4 76547171 0008cf00 00000e18 0008cf00"));
    deepEqual(sr, {
      type: "sr",
      ssrc: 0x5d931534,
      ntpSeconds: 3711615412,
      ntpFraction: 1985245553,
      rtpTimestamp: 577280,
      packetCount: 3608,
      octetCount: 577280,
      reports: [],
    });
  });
  const pionSr =
    "902f9e2e dadbd1fc dddda05a aaf4edd5 00000001 00000002 bc5e9a40 00000000 000046e1 00000111 09f36432 00024a79"
      .replace("dadbd1fc", "da8bd1fc");
  await t.step("pion/rtcp SR 'valid': its length field (7) does not cover the report block", () => {
    throws(() => decodeRtcp(hex("81c80007" + pionSr)), RtcpParseError);
  });
  await t.step("pion/rtcp SR 'valid' with the length corrected to 12", () => {
    const [sr] = decodeRtcp(hex("81c8000c" + pionSr));
    ok(sr?.type === "sr");
    equal(sr.ntpSeconds, 0xda8bd1fc);
    equal(sr.ntpFraction, 0xdddda05a);
    deepEqual(sr.reports, [{
      ssrc: 0xbc5e9a40,
      fractionLost: 0,
      packetsLost: 0,
      highestSequence: 0x46e1,
      jitter: 273,
      lastSenderReport: 0x9f36432,
      delaySinceLastSenderReport: 150137,
    }]);
    deepEqual(encodeRtcp([sr]), hex("81c8000c" + pionSr));
  });
  await t.step("pion/rtcp SR 'with extension' (#447) is a compound SR + SDES CNAME", () => {
    const bytes = hex(
      "80c80006 2b7ec0c5 e020a2a9 52a53fc0 2e48a552 00000046 0000121d 81ca0006 2b7ec0c5 01104c63 49667a58 6f6e446f 72645365 57360000",
    );
    const packets = decodeRtcp(bytes);
    equal(packets.length, 2);
    ok(
      packets[0]?.type === "sr" && packets[0].packetCount === 70 && packets[0].octetCount === 4637,
    );
    deepEqual(packets[1], {
      type: "sdes",
      chunks: [{ ssrc: 0x2b7ec0c5, items: [{ type: 1, value: "LcIfzXonDordSeW6" }] }],
    });
    deepEqual(encodeRtcp(packets), bytes);
  });
});

Deno.test("encodeRtcp()/decodeRtcp() round-trip every packet type (RFC 3550 §6.4-§6.7)", () => {
  const packets: RtcpPacket[] = [
    {
      type: "rr",
      ssrc: 7,
      reports: [{
        ssrc: 9,
        fractionLost: 25,
        packetsLost: -3,
        highestSequence: 0x10005,
        jitter: 12,
        lastSenderReport: 1,
        delaySinceLastSenderReport: 2,
      }],
    },
    {
      type: "sdes",
      chunks: [
        {
          ssrc: 7,
          items: [{ type: 1, value: "alice@192.0.2.1" }, { type: 2, value: "Alice Ø" }, {
            type: 8,
            prefix: "x-",
            value: "priv",
          }],
        },
        { ssrc: 8, items: [] },
      ],
    },
    { type: "app", subtype: 3, ssrc: 7, name: "TEST", data: new Uint8Array([1, 2, 3, 4]) },
    { type: "unknown", packetType: 205, count: 1, body: new Uint8Array(8) },
    { type: "bye", sources: [7, 8], reason: "shutting down" },
  ];
  deepEqual(decodeRtcp(encodeRtcp(packets)), packets);
});

Deno.test("decodeRtcp() validity checks (RFC 3550 §A.2)", async (t) => {
  const rr = encodeRtcp([{ type: "rr", ssrc: 1, reports: [] }]);
  const bye = encodeRtcp([{ type: "bye", sources: [1] }]);
  await t.step(
    "first packet must be SR or RR",
    () => throws(() => decodeRtcp(bye), /starts with type 203/),
  );
  await t.step(
    "RFC 5506 non-compound allowed on request",
    () => equal(decodeRtcp(bye, { compound: false })[0]!.type, "bye"),
  );
  await t.step(
    "wrong version",
    () => throws(() => decodeRtcp(hex("40c90001 00000001")), /version is 1/),
  );
  await t.step(
    "lengths must add up",
    () => throws(() => decodeRtcp(new Uint8Array([...rr, 0x80, 0xcb])), /trailing|length/),
  );
  await t.step(
    "length beyond the datagram",
    () =>
      throws(() => decodeRtcp(hex("80c90005 00000001")), /length field says 24 bytes, 8 remain/),
  );
  await t.step("padding only in the last packet", () => {
    const b = new Uint8Array([...rr, ...bye]);
    b[0]! |= 0x20;
    throws(() => decodeRtcp(b), /padding before the last packet/);
  });
  await t.step("padding in the last packet is removed", () => {
    const b = hex("a0c90002 00000001 00000004");
    deepEqual(decodeRtcp(b), [{ type: "rr", ssrc: 1, reports: [] }]);
  });
  await t.step(
    "report blocks beyond the packet",
    () => throws(() => decodeRtcp(hex("81c90001 00000001")), RtcpParseError),
  );
});

Deno.test("RTCP property: random bytes throw only RtcpParseError; decoded packets re-encode", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
      if (b.length > 1) b[0] = 0x80 | (b[0]! & 0x3f);
      if (b.length > 1) b[1] = 200 + (b[1]! % 6);
      try {
        const p = decodeRtcp(b);
        ok(Array.isArray(p));
      } catch (e) {
        ok(e instanceof RtcpParseError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});

// --- Appendix algorithms ---

Deno.test("updateSeq(): probation, wrap, restart and misorder (RFC 3550 §A.1)", async (t) => {
  await t.step("two in sequence validate the source", () => {
    const s = newSource(1, 1000);
    equal(updateSeq(s, 1000), false);
    equal(s.probation, 1);
    equal(updateSeq(s, 1001), true);
    equal(s.probation, 0);
    equal(s.baseSeq, 1001);
  });
  await t.step("out-of-sequence during probation restarts it", () => {
    const s = newSource(1, 10);
    updateSeq(s, 10);
    equal(updateSeq(s, 50), false);
    equal(updateSeq(s, 51), true);
  });
  await t.step("wrap-around counts a cycle", () => {
    const s = newSource(1, 65534);
    updateSeq(s, 65534);
    updateSeq(s, 65535);
    updateSeq(s, 0);
    updateSeq(s, 1);
    equal(s.cycles, 65536);
    equal(lossStats(s).extendedMax, 65537);
    equal(lossStats(s).expected, 3);
    equal(lossStats(s).lost, 0);
  });
  await t.step("a large jump is rejected once, then accepted as a restart", () => {
    const s = newSource(1, 100);
    updateSeq(s, 100);
    updateSeq(s, 101);
    equal(updateSeq(s, 30000), false);
    equal(updateSeq(s, 30001), true);
    equal(s.baseSeq, 30001);
    equal(s.received, 1);
  });
  await t.step("a misordered late packet is counted without moving max_seq", () => {
    const s = newSource(1, 100);
    for (const q of [100, 101, 103, 102]) updateSeq(s, q);
    equal(s.maxSeq, 103);
    equal(lossStats(s).lost, 0);
  });
});

Deno.test("lossStats(): cumulative and fraction lost per interval (RFC 3550 §A.3)", () => {
  const s = newSource(1, 0);
  for (let q = 0; q <= 100; q++) if (q % 10 !== 5) updateSeq(s, q);
  const a = lossStats(s, true);
  equal(a.expected, 100);
  equal(a.lost, 10);
  equal(a.fraction, Math.floor((10 * 256) / 100));
  for (let q = 101; q <= 200; q++) updateSeq(s, q);
  const b = lossStats(s, true);
  equal(b.lost, 10);
  equal(b.fraction, 0);
});

Deno.test("updateJitter(): converges to the mean deviation (RFC 3550 §A.8)", () => {
  const s = newSource(1, 0);
  s.received = 2;
  // Packets every 160 units, arrivals alternately 0 and 40 units late: |D| = 40 each time.
  let j = 0;
  for (let i = 0; i < 200; i++) j = updateJitter(s, i * 160 + (i % 2) * 40, i * 160);
  ok(Math.abs(j - 40) < 0.5, `jitter ${j}`);
  const t = newSource(2, 0);
  t.received = 1;
  for (let i = 0; i < 50; i++, t.received = 2) updateJitter(t, 1000 + i * 160, i * 160);
  equal(t.jitter, 0);
});

Deno.test("rtcpInterval(): the A.7 computation", async (t) => {
  const base = {
    members: 2,
    senders: 1,
    rtcpBandwidth: 500,
    weSent: false,
    avgRtcpSize: 128,
    initial: false,
  };
  await t.step("minimum 5 s, halved initially", () => {
    equal(deterministicInterval(base), 5);
    equal(deterministicInterval({ ...base, initial: true }), 2.5);
  });
  await t.step("randomized in [0.5, 1.5] and compensated by e - 3/2", () => {
    equal(rtcpInterval(base, 0), 2.5 / (Math.E - 1.5));
    ok(Math.abs(rtcpInterval(base, 0.999999) - 7.5 / (Math.E - 1.5)) < 1e-5);
  });
  await t.step("large sessions scale with members; senders share 25%", () => {
    const big = { ...base, members: 1000, senders: 10 };
    equal(deterministicInterval(big), (128 * 990) / (500 * 0.75));
    equal(deterministicInterval({ ...big, weSent: true }), (128 * 10) / (500 * 0.25));
    const many = { ...base, members: 1000, senders: 500 };
    equal(deterministicInterval(many), (128 * 1000) / 500);
  });
});

Deno.test("toNtp() (RFC 3550 §4)", () => {
  deepEqual(toNtp(0), [2208988800, 0]);
  deepEqual(toNtp(1_700_000_000_250), [(1_700_000_000 + 2208988800) >>> 0, 0x40000000]);
});

// --- Session ---

function pair(opts: { random?: () => number } = {}) {
  let t = 1_000_000;
  const clock = { now: () => t, advance: (ms: number) => (t += ms), set: (v: number) => (t = v) };
  const a = new RtpSession({
    ssrc: 0xaaaa,
    cname: "a@h",
    now: clock.now,
    random: opts.random ?? (() => 0.5),
  });
  const b = new RtpSession({
    ssrc: 0xbbbb,
    cname: "b@h",
    now: clock.now,
    random: opts.random ?? (() => 0.5),
  });
  return { a, b, clock };
}

Deno.test("RtpSession: sender and receiver reports, LSR/DLSR and round-trip time (RFC 3550 §6.4)", () => {
  const { a, b, clock } = pair();
  for (let i = 0; i < 100; i++) {
    const pkt = a.sendRtp({ payloadType: 0, payload: new Uint8Array(160) });
    if (i !== 40) b.receiveRtp(pkt, "192.0.2.1:4000"); // one packet lost
    clock.advance(20);
  }
  const sr = a.report();
  const [srp] = decodeRtcp(sr);
  ok(srp?.type === "sr");
  equal(srp.packetCount, 100);
  equal(srp.octetCount, 16000);
  b.receiveRtcp(sr, "192.0.2.1:4001");
  clock.advance(250);
  const rr = b.report();
  const [rrp] = decodeRtcp(rr);
  ok(rrp?.type === "rr");
  const block = rrp.reports[0]!;
  equal(block.ssrc, 0xaaaa);
  equal(block.packetsLost, 1);
  equal(block.fractionLost, Math.floor(256 / 99));
  ok(block.lastSenderReport !== 0);
  equal(block.delaySinceLastSenderReport, Math.floor(0.25 * 65536));
  clock.advance(10);
  a.receiveRtcp(rr, "192.0.2.2:5001");
  const about = a.stats().sources.find((s) => s.ssrc === 0xbbbb)!;
  equal(about.reportAboutUs?.packetsLost, 1);
  ok(about.roundTrip !== undefined && Math.abs(about.roundTrip - 10) < 1, `rtt ${about.roundTrip}`);
  equal(b.stats().sources[0]!.cname, "a@h");
});

Deno.test("RtpSession: SSRC collision sends BYE and picks a new SSRC; a loop is then ignored (RFC 3550 §8.2)", () => {
  const { a, b } = pair();
  const ours = b.sendRtp({ payloadType: 0, payload: new Uint8Array(10) });
  const fake = encodeRtp({ ...decodeRtp(ours), ssrc: a.ssrc });
  const r = a.receiveRtp(fake, "192.0.2.9:7000");
  ok(r.kind === "collision");
  notEqualNum(r.ssrc, 0xaaaa);
  equal(a.ssrc, r.ssrc);
  const bye = decodeRtcp(r.bye).find((p) => p.type === "bye");
  deepEqual(bye && bye.type === "bye" && bye.sources, [0xaaaa]);
  // The same address sending our (new) SSRC again is a loop: dropped, no new SSRC.
  const again = encodeRtp({ ...decodeRtp(ours), ssrc: a.ssrc });
  deepEqual(a.receiveRtp(again, "192.0.2.9:7000"), { kind: "dropped", reason: "loop" });
  equal(a.stats().collisions, 1);
});

function notEqualNum(x: number, y: number) {
  ok(x !== y, `${x} should differ from ${y}`);
}

Deno.test("RtpSession: third-party SSRC conflict keeps the first source (RFC 3550 §8.2)", () => {
  const { a, b } = pair();
  for (let i = 0; i < 3; i++) {
    equal(
      b.receiveRtp(a.sendRtp({ payloadType: 0, payload: new Uint8Array(1) }), "192.0.2.1:4000")
        .kind,
      i ? "media" : "dropped",
    );
  }
  const other = a.sendRtp({ payloadType: 0, payload: new Uint8Array(1) });
  deepEqual(b.receiveRtp(other, "198.51.100.1:4000"), { kind: "dropped", reason: "conflict" });
});

Deno.test("RtpSession: timer reconsideration and reverse reconsideration (RFC 3550 §6.3.6, §6.3.4)", () => {
  const { a, clock } = pair();
  const first = a.nextTimer;
  // Before the timer fires, many members appear: the recomputed interval is longer -> reschedule.
  for (let i = 0; i < 200; i++) {
    a.receiveRtcp(
      encodeRtcp([{ type: "rr", ssrc: 0x1000 + i, reports: [] }]),
      `10.0.0.${i % 250}:${1000 + i}`,
    );
  }
  clock.set(first);
  equal(a.onTimer(), undefined);
  ok(a.nextTimer > first, "rescheduled later");
  equal(a.stats().members, 201);
  // Most members leave with BYE: the next report is pulled earlier.
  const before = a.nextTimer;
  for (let i = 0; i < 150; i++) {
    a.receiveRtcp(
      encodeRtcp([{ type: "rr", ssrc: 0x1000 + i, reports: [] }, {
        type: "bye",
        sources: [0x1000 + i],
      }]),
      `10.0.0.${i % 250}:${1000 + i}`,
    );
  }
  ok(a.nextTimer < before, "reverse reconsideration moved the timer earlier");
  equal(a.stats().members, 51);
  clock.set(a.nextTimer + 1);
  ok(a.onTimer() ?? a.onTimer() ?? true);
});

Deno.test("RtpSession: invalid RTCP and RTP are counted and dropped", () => {
  const { a } = pair();
  equal(a.receiveRtcp(hex("80c90005 00000001"), "x:1"), undefined);
  deepEqual(a.receiveRtp(hex("40000000 00000000 00000000"), "x:1"), {
    kind: "dropped",
    reason: "invalid",
  });
  equal(a.stats().dropped, 2);
});

Deno.test("RtpSession accepts a BYE or APP that does not start with SR/RR, counts it and acts on the BYE (RFC 3550 §6.1, §6.3.4)", () => {
  const { a, b, clock } = pair();
  for (let i = 0; i < 5; i++, clock.advance(20)) {
    a.receiveRtp(b.sendRtp({ payloadType: 0, payload: new Uint8Array(160) }), "192.0.2.2:4000");
  }
  a.receiveRtcp(b.report(), "192.0.2.2:4001");
  equal(a.stats().members, 2);
  clock.set(a.nextTimer);
  a.onTimer(); // the report interval now counts two members
  clock.advance(1000);
  // a standalone APP, as baresip sends them
  const app = a.receiveRtcp(
    encodeRtcp([{ type: "app", subtype: 1, ssrc: 0xbbbb, name: "PING", data: new Uint8Array(4) }]),
    "192.0.2.2:4001",
  );
  equal(app?.[0]?.type, "app");
  equal(a.stats().nonCompound, 1);
  equal(a.hasLeft(0xbbbb), false);
  // BYE first, then SDES: baresip's hang-up
  const before = a.nextTimer;
  const bye = a.receiveRtcp(
    encodeRtcp([
      { type: "bye", sources: [0xbbbb], reason: "bye" },
      { type: "sdes", chunks: [{ ssrc: 0xbbbb, items: [{ type: 1, value: "b@h" }] }] },
    ]),
    "192.0.2.2:4001",
  );
  deepEqual(bye?.map((p) => p.type), ["bye", "sdes"]);
  equal(a.stats().nonCompound, 2);
  equal(a.stats().dropped, 1); // only the first RTP packet (probation)
  equal(a.hasLeft(0xbbbb), true);
  equal(a.stats().members, 1);
  ok(a.nextTimer < before, "reverse reconsideration brings the next report forward");
  deepEqual(
    a.receiveRtp(b.sendRtp({ payloadType: 0, payload: new Uint8Array(160) }), "192.0.2.2:4000"),
    { kind: "dropped", reason: "left" },
  );
  // a compound packet is not counted as non-compound; garbage is still dropped
  a.receiveRtcp(b.report(), "192.0.2.2:4001");
  equal(a.stats().nonCompound, 2);
  equal(a.receiveRtcp(hex("40c90001 00000001"), "192.0.2.2:4001"), undefined);
});

Deno.test("RtpSession: senders time out after two intervals (RFC 3550 §6.3.5)", () => {
  const { a, b, clock } = pair();
  for (let i = 0; i < 5; i++) {
    b.receiveRtp(a.sendRtp({ payloadType: 0, payload: new Uint8Array(1) }), "192.0.2.1:4000");
    clock.advance(20);
  }
  equal(b.stats().senders, 1);
  clock.advance(60_000);
  clock.set(Math.max(b.nextTimer, clock.now()));
  b.onTimer();
  equal(b.stats().senders, 0);
});

Deno.test("RtpSession: BYE backoff with more than 50 members (RFC 3550 §6.3.7)", () => {
  const { a, clock } = pair();
  a.sendRtp({ payloadType: 0, payload: new Uint8Array(160) });
  for (let i = 0; i < 60; i++) {
    a.receiveRtcp(encodeRtcp([{ type: "rr", ssrc: 0x2000 + i, reports: [] }]), `10.0.1.${i}:5001`);
  }
  equal(a.bye("leaving"), undefined);
  ok(a.leaving);
  const due = a.nextTimer;
  ok(due > clock.now(), "scheduled, not sent");
  // Only BYE packets count as members now; other RTCP is ignored for the estimate.
  for (let i = 0; i < 5; i++) {
    a.receiveRtcp(
      encodeRtcp([{ type: "rr", ssrc: 0x2000 + i, reports: [] }, {
        type: "bye",
        sources: [0x2000 + i],
      }]),
      `10.0.1.${i}:5001`,
    );
  }
  clock.set(due);
  const bye = a.onTimer() ?? (clock.set(a.nextTimer), a.onTimer());
  ok(bye, "BYE sent after reconsideration");
  deepEqual(decodeRtcp(bye).map((p) => p.type), ["sr", "sdes", "bye"]);
  equal(a.leaving, false);
  equal(a.onTimer(), undefined);
  equal(a.nextTimer, Infinity);
});

Deno.test("RtpSession: a participant that never sent anything sends no BYE (RFC 3550 §6.3.7)", () => {
  const { a } = pair();
  equal(a.bye(), undefined);
  equal(a.leaving, false);
});
