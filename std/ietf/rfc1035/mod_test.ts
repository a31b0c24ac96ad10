// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import {
  decodeMessage,
  DnsCache,
  type DnsMessage,
  type DnsMessageInit,
  DnsParseError,
  type DnsRecord,
  DnsZone,
  encodeMessage,
  encodeMessageInto,
  formatRdata,
  formatRecord,
  frameTcp,
  parseIp,
  parseResolvConf,
  sameName,
  TcpDeframer,
  typeCode,
  typeName,
} from "./mod.ts";
import { ZONE_RECORDS } from "../testdata/dns_zone.ts";
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import fc from "fast-check";
import dnsPacket from "npm:dns-packet@5.6.1";
import { Buffer } from "node:buffer";

const te = new TextEncoder();

function assertThrows(fn: () => unknown, cls: new (...a: never[]) => Error, msg?: string): Error {
  let caught: unknown;
  throws(() => {
    try {
      fn();
    } catch (e) {
      caught = e;
      throw e;
    }
  }, cls);
  if (msg && !(caught as Error).message.includes(msg)) {
    throw new Error(`Expected message with "${msg}", got "${(caught as Error).message}"`);
  }
  return caught as Error;
}

function throwsParse(fn: () => unknown, msg?: string): DnsParseError {
  return assertThrows(fn, DnsParseError, msg) as DnsParseError;
}

const testdata = new URL("../testdata/", import.meta.url);

// === Codec ===

Deno.test("encodeMessage() writes the header bits of RFC 1035 §4.1.1", () => {
  const bytes = encodeMessage({
    id: 0xabcd,
    qr: true,
    opcode: 2,
    aa: true,
    tc: true,
    rd: true,
    ra: true,
    ad: true,
    cd: true,
    rcode: 3,
  });
  assertEquals([...bytes], [0xab, 0xcd, 0x97, 0xb3, 0, 0, 0, 0, 0, 0, 0, 0]);
  const m = decodeMessage(bytes);
  assertEquals(
    [m.id, m.qr, m.opcode, m.aa, m.tc, m.rd, m.ra, m.z, m.ad, m.cd, m.rcode],
    [0xabcd, true, 2, true, true, true, true, false, true, true, 3],
  );
});

Deno.test("encodeMessage() compresses repeated names with backward pointers (RFC 1035 §4.1.4)", () => {
  const bytes = encodeMessage({
    questions: [{ name: "F.ISI.ARPA", type: "A" }],
    answers: [
      { name: "FOO.F.ISI.ARPA", type: "A", ttl: 1, data: "10.0.0.1" },
      { name: "ARPA", type: "NS", ttl: 1, data: "f.isi.arpa" },
      { name: "", type: "NS", ttl: 1, data: "arpa" },
    ],
  });
  // Question name at 12: 1 F 3 ISI 4 ARPA 0 (12 bytes).
  assertEquals([...bytes.subarray(12, 24)], [1, 70, 3, 73, 83, 73, 4, 65, 82, 80, 65, 0]);
  // FOO.F.ISI.ARPA = 3 FOO + pointer to 12.
  assertEquals([...bytes.subarray(28, 34)], [3, 70, 79, 79, 0xc0, 12]);
  const m = decodeMessage(bytes);
  assertEquals(m.answers.map((rr) => rr.name), ["FOO.F.ISI.ARPA", "ARPA", ""]);
  // Compression matches names case-insensitively, so the data takes the question's case.
  assertEquals(m.answers.map((rr) => formatRdata(rr)), ["10.0.0.1", "F.ISI.ARPA.", "ARPA."]);
  // Names compressed in NS data: ARPA (pointer) and F.ISI.ARPA (pointer, case-insensitive).
  const uncompressed = 12 + 16 + (20 + 4) + (2 + 10 + 12) + (1 + 10 + 6);
  assertEquals(bytes.length < uncompressed, true);
});

Deno.test("encodeMessage() does not compress SRV targets or NAPTR replacements (RFC 2782, RFC 3403 §4.1)", () => {
  const bytes = encodeMessage({
    questions: [{ name: "pbx.sip.test", type: "SRV" }],
    answers: [
      {
        name: "pbx.sip.test",
        type: "SRV",
        ttl: 1,
        data: { priority: 1, weight: 2, port: 3, target: "pbx.sip.test" },
      },
      {
        name: "pbx.sip.test",
        type: "NAPTR",
        ttl: 1,
        data: {
          order: 1,
          preference: 2,
          flags: "S",
          services: "SIP+D2U",
          regexp: "",
          replacement: "pbx.sip.test",
        },
      },
    ],
  });
  const text = new TextDecoder("latin1").decode(bytes);
  assertEquals(text.split("\x03pbx\x03sip\x04test\x00").length - 1, 3);
});

Deno.test("decodeMessage() reads dnsmasq responses (captured vectors)", async (t) => {
  await t.step("NAPTR", () => {
    const m = decodeMessage(Deno.readFileSync(new URL("dnsmasq_naptr_response.bin", testdata)));
    assertEquals(m.id, 0x1234);
    assertEquals([m.qr, m.aa, m.rd, m.ra, m.rcode], [true, true, true, true, 0]);
    assertEquals(m.questions, [{ name: "sip.test", type: "NAPTR", class: 1 }]);
    assertEquals(
      m.answers.map(formatRdata).sort(),
      [
        '10 100 "S" "SIP+D2U" "" _sip._udp.sip.test.',
        '20 100 "S" "SIP+D2T" "" _sip._tcp.sip.test.',
        '30 100 "S" "SIPS+D2T" "" _sips._tcp.sip.test.',
      ],
    );
    assertEquals(m.edns?.udpPayloadSize, 1232);
    assertEquals(decodeMessage(encodeMessage(m)), m);
  });
  await t.step("SRV with additional addresses", () => {
    const m = decodeMessage(Deno.readFileSync(new URL("dnsmasq_srv_response.bin", testdata)));
    assertEquals(m.id, 0xbeef);
    assertEquals(m.answers.map(formatRecord).sort(), [
      "_sip._udp.sip.test.\t60\tIN\tSRV\t10 100 5060 pbx.sip.test.",
      "_sip._udp.sip.test.\t60\tIN\tSRV\t20 100 5062 pbx2.sip.test.",
    ]);
    assertEquals(m.additionals.map(formatRecord).sort(), [
      "pbx.sip.test.\t60\tIN\tA\t127.0.0.1",
      "pbx2.sip.test.\t60\tIN\tA\t127.0.0.3",
      "pbx2.sip.test.\t60\tIN\tAAAA\t::3",
    ]);
    assertEquals(decodeMessage(encodeMessage(m)), m);
  });
});

const SAMPLES: DnsRecord[] = [
  { name: "a.test", class: 1, type: "A", ttl: 1, data: "192.0.2.1" },
  { name: "a.test", class: 1, type: "AAAA", ttl: 2, data: "2001:db8::1" },
  { name: "a.test", class: 1, type: "CNAME", ttl: 3, data: "b.test" },
  { name: "a.test", class: 1, type: "NS", ttl: 3, data: "ns.b.test" },
  { name: "1.2.0.192.in-addr.arpa", class: 1, type: "PTR", ttl: 3, data: "a.test" },
  { name: "a.test", class: 1, type: "MX", ttl: 4, data: { preference: 10, exchange: "mx.a.test" } },
  { name: "a.test", class: 1, type: "TXT", ttl: 5, data: [te.encode("v=1"), new Uint8Array(0)] },
  {
    name: "a.test",
    class: 1,
    type: "SOA",
    ttl: 6,
    data: {
      mname: "ns.a.test",
      rname: "hostmaster.a.test",
      serial: 2026112601,
      refresh: 7200,
      retry: 900,
      expire: 1209600,
      minimum: 300,
    },
  },
  {
    name: "_sip._tcp.a.test",
    class: 1,
    type: "SRV",
    ttl: 7,
    data: { priority: 0, weight: 5, port: 5060, target: "" },
  },
  {
    name: "a.test",
    class: 1,
    type: "NAPTR",
    ttl: 8,
    data: {
      order: 100,
      preference: 10,
      flags: "u",
      services: "E2U+sip",
      regexp: "!^.*$!sip:info@a.test!",
      replacement: "",
    },
  },
  {
    name: "a.test",
    class: 1,
    type: "CAA",
    ttl: 9,
    data: { flags: 128, tag: "issue", value: "ca.test; x=y" },
  },
  { name: "a.test", class: 1, type: "TYPE65280", ttl: 10, data: Uint8Array.of(1, 2, 3) },
  { name: "a.test", class: 3, type: "TXT", ttl: 0, data: [te.encode("chaos")] },
];

Deno.test("encodeMessage()/decodeMessage() round-trip every record type", async (t) => {
  for (const rr of SAMPLES) {
    await t.step(`${rr.type} (class ${rr.class})`, () => {
      const m = decodeMessage(encodeMessage({ id: 1, qr: true, answers: [rr] }));
      assertEquals(m.answers, [rr]);
    });
  }
});

Deno.test("encodeMessage() output is read by npm:dns-packet, and ours reads its output", () => {
  const msg: DnsMessageInit = {
    id: 42,
    qr: true,
    rd: true,
    questions: [{ name: "sip.test", type: "NAPTR" }],
    answers: SAMPLES.filter((rr) => ["A", "AAAA", "MX", "SRV", "NAPTR", "SOA"].includes(rr.type)),
    edns: {
      udpPayloadSize: 1232,
      dnssecOk: true,
      options: [{ code: 10, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }],
    },
  };
  const theirs = dnsPacket.decode(Buffer.from(encodeMessage(msg)));
  assertEquals(theirs.id, 42);
  assertEquals(theirs.answers?.map((a: { type: string }) => a.type), [
    "A",
    "AAAA",
    "MX",
    "SOA",
    "SRV",
    "NAPTR",
  ]);
  assertEquals((theirs.answers?.[4] as { data: { target: string } }).data.target, ".");
  const ours = decodeMessage(
    new Uint8Array(dnsPacket.encode({
      type: "response",
      id: 9,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: [{ type: "SRV", name: "_sip._udp.sip.test" }],
      answers: [{
        type: "SRV",
        name: "_sip._udp.sip.test",
        ttl: 60,
        data: { priority: 10, weight: 5, port: 5060, target: "pbx.sip.test" },
      }],
    })),
  );
  assertEquals(ours.aa, true);
  assertEquals(
    formatRecord(ours.answers[0]!),
    "_sip._udp.sip.test.\t60\tIN\tSRV\t10 5 5060 pbx.sip.test.",
  );
  assertEquals(decodeMessage(encodeMessage(msg)).edns, {
    udpPayloadSize: 1232,
    extendedRcode: 0,
    version: 0,
    dnssecOk: true,
    options: [{ code: 10, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }],
  });
});

Deno.test("names keep escapes and compare case-insensitively (RFC 1035 §2.3.3)", () => {
  const rr: DnsRecord = {
    name: "a\\.b\\032c.test",
    class: 1,
    type: "A",
    ttl: 1,
    data: "192.0.2.1",
  };
  const m = decodeMessage(encodeMessage({ answers: [rr] }));
  assertEquals(m.answers[0]!.name, "a\\.b\\032c.test");
  // \DDD escapes of plain characters come back as the characters; the label bytes are the same.
  const esc = decodeMessage(encodeMessage({ questions: [{ name: "\\065bc.test.", type: "A" }] }));
  assertEquals(esc.questions[0]!.name, "Abc.test");
  const quoted: DnsRecord = {
    name: "q.test",
    type: "TXT",
    ttl: 1,
    data: [Uint8Array.of(0x22, 0x5c, 7, 0x41)],
  };
  assertEquals(formatRdata(quoted), '"\\"\\\\\\007A"');
  assertEquals(sameName("WWW.Example.TEST.", "www.example.test"), true);
  assertEquals(sameName("a.test", "b.test"), false);
  assertThrows(() => encodeMessage({ questions: [{ name: "a..b", type: "A" }] }), RangeError);
  assertThrows(
    () => encodeMessage({ questions: [{ name: "x".repeat(64), type: "A" }] }),
    RangeError,
  );
  const long = Array.from({ length: 5 }, () => "y".repeat(60)).join(".");
  assertThrows(() => encodeMessage({ questions: [{ name: long, type: "A" }] }), RangeError);
  assertThrows(() => encodeMessage({ questions: [{ name: "café.test", type: "A" }] }), RangeError);
});

Deno.test("encodeMessage() rejects out-of-range values with RangeError", () => {
  assertThrows(() => encodeMessage({ id: 70000 }), RangeError);
  assertThrows(
    () => encodeMessage({ answers: [{ name: "a", type: "A", ttl: 1, data: "1.2.3.256" }] }),
    RangeError,
  );
  assertThrows(
    () => encodeMessage({ answers: [{ name: "a", type: "AAAA", ttl: 1, data: "1::2::3" }] }),
    RangeError,
  );
  assertThrows(
    () =>
      encodeMessage({ answers: [{ name: "a", type: "TXT", ttl: 1, data: [new Uint8Array(256)] }] }),
    RangeError,
  );
  assertThrows(
    () => encodeMessage({ answers: [{ name: "a", type: "A", ttl: -1, data: "1.2.3.4" }] }),
    RangeError,
  );
  assertThrows(() => typeCode("BOGUS" as "A"), RangeError);
  const bad = (rr: unknown) => () => encodeMessage({ answers: [rr as DnsRecord] });
  assertThrows(bad({ name: "a", type: "TXT", ttl: 1, data: [] }), RangeError);
  assertThrows(
    bad({ name: "a", type: "CAA", ttl: 1, data: { flags: 0, tag: "is sue", value: "" } }),
    RangeError,
  );
  assertThrows(
    bad({ name: "a", type: "CAA", ttl: 1, data: { flags: 0, tag: "issue", value: "\u20ac" } }),
    RangeError,
  );
  assertThrows(bad({ name: "a", type: "TYPE99", ttl: 1, data: "text" }), TypeError);
  assertThrows(bad({ name: "a\\256b", type: "A", ttl: 1, data: "1.2.3.4" }), RangeError);
  assertThrows(bad({ name: "ab\\", type: "A", ttl: 1, data: "1.2.3.4" }), RangeError);
  assertThrows(bad({ name: "a\\.b..c", type: "A", ttl: 1, data: "1.2.3.4" }), RangeError);
  assertThrows(() => frameTcp(new Uint8Array(70000)), RangeError);
  assertEquals(typeName(typeCode("TYPE65280")), "TYPE65280");
});

Deno.test("IPv6 addresses print in RFC 5952 form, as dig prints them", () => {
  const cases: [string, string][] = [
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["::1", "::1"],
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["fe80::", "fe80::"],
  ];
  for (const [input, want] of cases) {
    const rr: DnsRecord = { name: "a", type: "AAAA", ttl: 1, data: input };
    assertEquals(decodeMessage(encodeMessage({ answers: [rr] })).answers[0]!.data, want);
  }
  assertEquals(parseIp("1.2.3"), undefined);
  assertEquals(parseIp("::1::"), undefined);
  assertEquals(parseIp("1:2:3:4:5:6:7:8:9"), undefined);
});

// === Bad input ===

function header(qd: number, an: number, ns = 0, ar = 0): number[] {
  return [0, 1, 0x81, 0x80, 0, qd, 0, an, 0, ns, 0, ar];
}

Deno.test("decodeMessage() rejects malformed messages with DnsParseError", async (t) => {
  const cases: [string, number[]][] = [
    ["short header", [0, 1, 2]],
    ["pointer to itself", [...header(1, 0), 0xc0, 12, 0, 1, 0, 1]],
    ["two pointers in a loop", [...header(1, 0), 1, 97, 0xc0, 16, 0xc0, 12, 0, 1, 0, 1]],
    ["forward pointer", [...header(1, 0), 0xc0, 20, 0, 1, 0, 1, 1, 97, 0]],
    ["pointer past the end", [...header(1, 0), 0xc3, 0xff, 0, 1, 0, 1]],
    ["label past the end", [...header(1, 0), 9, 97, 98, 0, 1, 0, 1]],
    ["reserved label type", [...header(1, 0), 0x40, 97, 0, 0, 1, 0, 1]],
    ["huge counts", header(0xff, 0xff, 0xff, 0xff)],
    ["missing question fields", [...header(1, 0), 1, 97, 0, 0, 1]],
    ["RDLENGTH past the end", [...header(0, 1), 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 50, 1, 2, 3, 4]],
    ["A with 3 bytes", [...header(0, 1), 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3]],
    ["TXT string past RDATA", [...header(0, 1), 0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 2, 5, 1, 0]],
    ["name in RDATA past RDLENGTH", [...header(0, 1), 0, 0, 5, 0, 1, 0, 0, 0, 1, 0, 1, 1, 97, 0]],
    ["OPT in the answer section", [...header(0, 1), 0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0]],
    [
      "two OPT records",
      [...header(0, 0, 0, 2), 0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0],
    ],
    ["EDNS option past OPT", [...header(0, 0, 0, 1), 0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 9]],
  ];
  for (const [what, bytes] of cases) {
    await t.step(what, () => {
      const err = throwsParse(() => decodeMessage(Uint8Array.from(bytes)));
      assertEquals(typeof err.offset, "number");
    });
  }
  await t.step("name over 255 bytes, written out", () => {
    const flat = [...header(1, 0)];
    for (let i = 0; i < 4; i++) flat.push(63, ...new Array(63).fill(120));
    flat.push(0, 0, 1, 0, 1);
    throwsParse(() => decodeMessage(Uint8Array.from(flat)), "255");
  });
  await t.step("name over 255 bytes through a pointer", () => {
    // Question: two 63-byte labels (129 bytes). Answer owner: two more labels + pointer = 257.
    const two = [63, ...new Array(63).fill(120), 63, ...new Array(63).fill(121)];
    const bytes = [...header(1, 1), ...two, 0, 0, 1, 0, 1, ...two, 0xc0, 12, 0, 1, 0, 1];
    bytes.push(0, 0, 0, 1, 0, 4, 1, 2, 3, 4);
    throwsParse(() => decodeMessage(Uint8Array.from(bytes)), "255");
  });
});

Deno.test("decodeMessage() throws only DnsParseError on random and mutated input (fuzz)", () => {
  const valid = [
    Deno.readFileSync(new URL("dnsmasq_naptr_response.bin", testdata)),
    Deno.readFileSync(new URL("dnsmasq_srv_response.bin", testdata)),
    encodeMessage({ questions: [{ name: "x.test", type: "A" }], answers: SAMPLES }),
  ];
  const check = (bytes: Uint8Array) => {
    try {
      const m = decodeMessage(bytes);
      // Whatever decodes must re-encode and decode to the same message.
      assertEquals(decodeMessage(encodeMessage(m)), m);
    } catch (e) {
      if (!(e instanceof DnsParseError)) throw e;
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), check), { numRuns: 2000 });
  fc.assert(
    fc.property(
      fc.constantFrom(...valid),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.nat(),
      (base, edits, cut) => {
        const b = base.slice(0, Math.max(12, base.length - (cut % 8)));
        for (const [at, v] of edits) b[at % b.length] = v;
        check(b);
      },
    ),
    { numRuns: 3000 },
  );
});

const rec = <T extends Record<string, unknown>>(m: { [K in keyof T]: fc.Arbitrary<T[K]> }) =>
  fc.record(m, { noNullPrototype: true });
const arbLabel = fc.stringMatching(/^[a-z0-9_-]{1,20}$/);
const arbName = fc.array(arbLabel, { minLength: 0, maxLength: 4 }).map((l) => l.join("."));
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const arbIpv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
  const words = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return words.join(":");
});
const latin1 = fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, ""));
const arbRecord: fc.Arbitrary<DnsRecord> = fc.oneof(
  rec({ type: fc.constant("A" as const), data: fc.ipV4() }),
  rec({ type: fc.constant("AAAA" as const), data: arbIpv6 }),
  rec({
    type: fc.constantFrom("CNAME" as const, "NS" as const, "PTR" as const),
    data: arbName,
  }),
  rec({
    type: fc.constant("MX" as const),
    data: rec({ preference: u16, exchange: arbName }),
  }),
  rec({
    type: fc.constant("TXT" as const),
    data: fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 3 }),
  }),
  rec({
    type: fc.constant("SOA" as const),
    data: rec({
      mname: arbName,
      rname: arbName,
      serial: u32,
      refresh: u32,
      retry: u32,
      expire: u32,
      minimum: u32,
    }),
  }),
  rec({
    type: fc.constant("SRV" as const),
    data: rec({ priority: u16, weight: u16, port: u16, target: arbName }),
  }),
  rec({
    type: fc.constant("NAPTR" as const),
    data: rec({
      order: u16,
      preference: u16,
      flags: latin1,
      services: latin1,
      regexp: latin1,
      replacement: arbName,
    }),
  }),
  rec({
    type: fc.constant("CAA" as const),
    data: rec({
      flags: fc.integer({ min: 0, max: 255 }),
      tag: fc.stringMatching(/^[a-z0-9]{1,10}$/),
      value: latin1,
    }),
  }),
  rec({
    type: fc.integer({ min: 258, max: 0xffff }).map((n) => `TYPE${n}` as const),
    data: fc.uint8Array({ maxLength: 30 }),
  }),
).chain((partial) =>
  rec({ name: arbName, class: fc.constantFrom(1, 3, 255), ttl: u32 }).map((base) =>
    ({ ...base, ...partial }) as DnsRecord
  )
);

Deno.test("decodeMessage(encodeMessage(x)) equals x for random messages (property)", () => {
  const arbMsg = rec({
    id: u16,
    qr: fc.boolean(),
    opcode: fc.integer({ min: 0, max: 15 }),
    aa: fc.boolean(),
    tc: fc.boolean(),
    rd: fc.boolean(),
    ra: fc.boolean(),
    z: fc.boolean(),
    ad: fc.boolean(),
    cd: fc.boolean(),
    rcode: fc.integer({ min: 0, max: 15 }),
    questions: fc.array(
      rec({
        name: arbName,
        type: fc.constantFrom("A" as const, "SRV" as const, "ANY" as const),
        class: fc.constant(1),
      }),
      { maxLength: 2 },
    ),
    answers: fc.array(arbRecord, { maxLength: 5 }),
    authorities: fc.array(arbRecord, { maxLength: 2 }),
    additionals: fc.array(arbRecord, { maxLength: 3 }),
  });
  fc.assert(
    fc.property(arbMsg, (msg: DnsMessage) => {
      const bytes = encodeMessage(msg);
      assertEquals(decodeMessage(bytes), msg);
    }),
    { numRuns: 500 },
  );
});

// === resolv.conf and cache ===

Deno.test("parseResolvConf() reads a fixture file (resolv.conf(5))", async () => {
  const conf = parseResolvConf(await Deno.readTextFile(new URL("resolv.conf", testdata)));
  assertEquals(conf, {
    nameservers: ["192.0.2.53", "2001:db8::53", "198.51.100.1"],
    search: ["corp.test", "sip.test"],
    ndots: 2,
    timeout: 3,
    attempts: 4,
    rotate: true,
  });
  assertEquals(parseResolvConf("domain example.test.\n").search, ["example.test"]);
  assertEquals(parseResolvConf("").ndots, 1);
});

function response(q: DnsMessageInit, init: Partial<DnsMessage>): DnsMessage {
  return { ...decodeMessage(encodeMessage({ ...q, qr: true })), ...init };
}

Deno.test("DnsCache keeps answers for their TTL and negative answers for the SOA minimum (RFC 1035 §7.4)", () => {
  let now = 1_000_000;
  const cache = new DnsCache({ now: () => now, maxEntries: 2 });
  const q = { questions: [{ name: "a.test", type: "A" as const }] };
  cache.put(response(q, {
    answers: [
      { name: "a.test", class: 1, type: "A", ttl: 100, data: "192.0.2.1" },
      { name: "a.test", class: 1, type: "A", ttl: 10, data: "192.0.2.2" },
    ],
  }));
  now += 9_000;
  assertEquals(cache.get("a.test", "A")?.answers.map((rr) => rr.ttl), [91, 1]);
  now += 1_000;
  assertEquals(cache.get("a.test", "A"), undefined);
  const soa: DnsRecord = {
    name: "test",
    class: 1,
    type: "SOA",
    ttl: 600,
    data: { mname: "ns", rname: "h", serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 30 },
  };
  const nx = { questions: [{ name: "nx.test", type: "A" as const }] };
  cache.put(response(nx, { rcode: 3, authorities: [soa] }));
  assertEquals(cache.get("NX.test", "A")?.rcode, 3);
  now += 30_000;
  assertEquals(cache.get("nx.test", "A"), undefined);
  cache.put(response(nx, { rcode: 2 }));
  assertEquals(cache.get("nx.test", "A"), undefined, "SERVFAIL is not cached");
  for (const n of ["b", "c", "d"]) {
    cache.put(response({ questions: [{ name: n, type: "A" }] }, {
      answers: [{ name: n, class: 1, type: "A", ttl: 60, data: "192.0.2.9" }],
    }));
  }
  assertEquals(cache.size, 2);
  assertEquals(cache.get("b", "A"), undefined, "oldest entry dropped");
});

// === Zone and server ===

// === Zone ===

Deno.test("DnsZone answers authoritatively (RFC 1035 §6.2)", async (t) => {
  const zone = new DnsZone(ZONE_RECORDS);
  const ask = (name: string, type: "A" | "SRV" | "TXT" | "MX" | "ANY", max?: number) =>
    zone.answer({ id: 5, rd: true, questions: [{ name, type }] }, max);
  await t.step("exact match", () => {
    const r = ask("PBX.sip.test", "A");
    assertEquals([r.id, r.qr, r.aa, r.rd, r.rcode], [5, true, true, true, 0]);
    assertEquals(r.answers.map(formatRdata), ["127.0.0.2"]);
  });
  await t.step("CNAME chain", () => {
    assertEquals(ask("www.sip.test", "A").answers.map((rr) => rr.type), ["CNAME", "A"]);
  });
  await t.step("SRV with addresses in the additional section", () => {
    const r = ask("_sip._udp.sip.test", "SRV");
    assertEquals(r.additionals.map(formatRdata), ["127.0.0.2", "::2"]);
  });
  await t.step("NXDOMAIN and NODATA carry the SOA", () => {
    const nx = ask("nope.sip.test", "A");
    assertEquals([nx.rcode, nx.answers.length, nx.authorities[0]?.type], [3, 0, "SOA"]);
    const nodata = ask("pbx.sip.test", "MX");
    assertEquals([nodata.rcode, nodata.answers.length, nodata.authorities[0]?.type], [0, 0, "SOA"]);
  });
  await t.step("outside the zone: REFUSED", () => {
    const r = ask("example.com", "A");
    assertEquals([r.rcode, r.aa], [5, false]);
  });
  await t.step("ANY", () => assertEquals(ask("pbx.sip.test", "ANY").answers.length, 2));
  await t.step("too large: TC set, answers dropped", () => {
    const r = ask("big.sip.test", "TXT", 512);
    assertEquals([r.tc, r.answers.length], [true, 0]);
    assertEquals(ask("big.sip.test", "TXT").answers.length, 40);
  });
  await t.step("bad queries", () => {
    assertEquals(zone.answer({ questions: [] }).rcode, 1);
    assertEquals(zone.answer({ opcode: 2, questions: [{ name: "a", type: "A" }] }).rcode, 4);
  });
});

// === TCP framing (RFC 1035 §4.2.2) ===

/** Pushes `chunks` one by one, collecting every message the deframer gives after each. */
function deframeAll(deframer: TcpDeframer, chunks: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const chunk of chunks) {
    deframer.push(chunk);
    for (let m = deframer.next(); m !== undefined; m = deframer.next()) out.push(m);
  }
  return out;
}

Deno.test("TcpDeframer reads length-prefixed messages from split and coalesced reads", async (t) => {
  const messages = [
    encodeMessage({ id: 1, rd: true, questions: [{ name: "sip.test", type: "NAPTR" }] }),
    encodeMessage({ id: 2, qr: true, answers: [ZONE_RECORDS[1]!] }),
    new Uint8Array(0),
    encodeMessage({ id: 3, qr: true, answers: ZONE_RECORDS.slice(6) }), // the big TXT set
  ];
  const stream = Uint8Array.from(messages.flatMap((m) => [...frameTcp(m)]));
  await t.step("all in one read", () => {
    const d = new TcpDeframer();
    assertEquals(deframeAll(d, [stream]), messages);
    assertEquals(d.pending, 0);
  });
  await t.step("one byte per read", () => {
    const d = new TcpDeframer();
    assertEquals(deframeAll(d, Array.from(stream, (b) => Uint8Array.of(b))), messages);
  });
  await t.step("split inside the length prefix and inside a message", () => {
    const d = new TcpDeframer();
    const first = frameTcp(messages[0]!).length;
    const cuts = [1, first - 3, first + 1, first + 5, stream.length - 7, stream.length];
    const chunks = cuts.map((end, i) => stream.slice(i ? cuts[i - 1] : 0, end));
    assertEquals(deframeAll(d, chunks), messages);
  });
  await t.step("a partial message waits and is counted as pending", () => {
    const d = new TcpDeframer();
    d.push(stream.subarray(0, 5));
    assertEquals([d.next(), d.pending], [undefined, 5]);
  });
  await t.step("returned messages are copies: the caller may reuse its read buffer", () => {
    const d = new TcpDeframer();
    const buf = frameTcp(messages[0]!);
    d.push(buf);
    buf.fill(0);
    assertEquals(d.next(), messages[0]);
  });
  await t.step("decodeMessage reads what it returns", () => {
    const d = new TcpDeframer();
    assertEquals(deframeAll(d, [stream]).slice(0, 2).map((m) => decodeMessage(m).id), [1, 2]);
  });
});

Deno.test("TcpDeframer gives the same messages for any split of the stream (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (messages: Uint8Array[], cutSeeds: number[]) => {
        const stream = Uint8Array.from(messages.flatMap((m) => [...frameTcp(m)]));
        const cuts = [...new Set(cutSeeds.map((c) => c % (stream.length + 1)))].sort((a, b) =>
          a - b
        );
        const chunks = [...cuts, stream.length].map((end, i, all) =>
          stream.slice(i ? all[i - 1] : 0, end)
        );
        const d = new TcpDeframer();
        assertEquals(deframeAll(d, chunks), messages);
        assertEquals(d.pending, 0);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("TcpDeframer refuses a length over its limit with DnsParseError", () => {
  const small = Uint8Array.of(1, 2, 3);
  const d = new TcpDeframer(512);
  // A good message, then a prefix that claims 513 bytes, in one read.
  d.push(Uint8Array.of(...frameTcp(small), 0x02, 0x01, 9, 9));
  assertEquals(d.next(), small, "the message before the bad prefix is still returned");
  const err = throwsParse(() => d.next(), "513");
  assertEquals(err.offset, 5, "offset of the bad prefix in the stream");
  throwsParse(() => d.next(), "limit of 512");
  d.push(frameTcp(small));
  throwsParse(() => d.next(), "513"); // the stream stays unreadable
  // At the limit is fine; the default limit is the largest a prefix can say.
  const at = new TcpDeframer(3);
  at.push(frameTcp(small));
  assertEquals(at.next(), small);
  const max = new TcpDeframer();
  max.push(frameTcp(new Uint8Array(0xffff)));
  assertEquals(max.next()?.length, 0xffff);
  assertThrows(() => new TcpDeframer(0x10000), RangeError);
  assertThrows(() => new TcpDeframer(-1), RangeError);
});

Deno.test("encodeMessageInto() writes encodeMessage()'s bytes at an offset, pointers counted from it (RFC 1035 §4.1.4)", () => {
  const msg: DnsMessageInit = {
    id: 0xbeef,
    qr: true,
    questions: [{ name: "_sip._udp.sip.test", type: "SRV" }],
    answers: [
      {
        name: "_sip._udp.sip.test",
        type: "SRV",
        ttl: 60,
        data: { priority: 10, weight: 100, port: 5060, target: "pbx.sip.test" },
      },
      { name: "pbx.sip.test", type: "CNAME", ttl: 60, data: "host\\.a.sip.test" },
      {
        name: "sip.test",
        type: "NAPTR",
        ttl: 60,
        data: {
          order: 1,
          preference: 2,
          flags: "S",
          services: "SIP+D2U",
          regexp: "",
          replacement: "_sip._udp.sip.test",
        },
      },
    ],
    additionals: [{ name: "pbx.sip.test", type: "A", ttl: 60, data: "127.0.0.1" }],
    edns: { udpPayloadSize: 1232 },
  };
  const expected = encodeMessage(msg).slice();
  for (const offset of [0, 3, 100]) {
    const buf = new Uint8Array(offset + expected.length + 5).fill(0xaa);
    const n = encodeMessageInto(msg, buf, offset);
    assertEquals(n, expected.length);
    assertEquals(buf.subarray(offset, offset + n), expected);
    assertEquals(buf[offset - 1] ?? 0xaa, 0xaa);
    assertEquals(buf[offset + n], 0xaa);
    assertEquals(
      decodeMessage(buf.subarray(offset, offset + n)).answers,
      decodeMessage(expected).answers,
    );
  }
  throws(() => encodeMessageInto(msg, new Uint8Array(expected.length - 1)), RangeError);
  // encodeMessage() still works after a failed encodeMessageInto().
  assertEquals(encodeMessage(msg), expected);
});
