// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  AmfDecodeError,
  type AmfObject,
  type AmfValue,
  AmfVector,
  decodeAmf0,
  decodeAmf0Values,
  decodeAmf3,
  decodeAmfPacket,
  Dictionary,
  EcmaArray,
  encodeAmf0,
  encodeAmf0Values,
  encodeAmf3,
  encodeAmfPacket,
  Externalizable,
  TypedObject,
  Xml,
  XmlDocument,
} from "./amf.ts";

const hex = (s: string) =>
  new Uint8Array(s.replace(/\s+/g, "").match(/../g)?.map((b) => parseInt(b, 16)) ?? []);
const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
const ascii = (s: string) =>
  [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");

function throwsDecode(fn: () => unknown, offset?: number): void {
  throws(fn, (e: unknown) => {
    ok(e instanceof AmfDecodeError, `expected AmfDecodeError, got ${e}`);
    if (offset !== undefined) equal(e.offset, offset, e.message);
    return true;
  });
}

/** [description, value, hex bytes]: encoding gives the bytes, decoding gives the value back. */
type Vector = [string, AmfValue, string];

const AMF0_VECTORS: Vector[] = [
  ["number 1.0 (§2.2)", 1, "00 3ff0000000000000"],
  ["number -0.5 (§2.2)", -0.5, "00 bfe0000000000000"],
  ["boolean true (§2.3)", true, "01 01"],
  ["boolean false (§2.3)", false, "01 00"],
  ["string (§2.4)", "hi", "02 0002 6869"],
  ["UTF-8 string (§1.3.1)", "é€", "02 0005 c3a9 e282ac"],
  ["anonymous object (§2.5)", { a: 1 }, "03 0001 61 00 3ff0000000000000 0000 09"],
  ["null (§2.7)", null, "05"],
  ["undefined (§2.8)", undefined, "06"],
  ["ECMA array (§2.10)", new EcmaArray({ a: null }), "08 00000001 0001 61 05 0000 09"],
  ["strict array (§2.12)", [true, "a"], "0a 00000002 01 01 02 0001 61"],
  ["date (§2.13)", new Date(1), "0b 3ff0000000000000 0000"],
  ["XML document (§2.17)", new XmlDocument("<a/>"), "0f 00000004 " + ascii("<a/>")],
  ["typed object (§2.18)", new TypedObject("C", { x: null }), "10 0001 43 0001 78 05 0000 09"],
  ["AVM+ switch for a ByteArray (§3.1)", new Uint8Array([1, 2]), "11 0c 05 0102"],
  [
    "RTMP connect command",
    ["connect", 1, { app: "live" }] as AmfValue,
    "0a 00000003 02 0007 " + ascii("connect") + " 00 3ff0000000000000 03 0003 " + ascii("app") +
    " 02 0004 " + ascii("live") + " 0000 09",
  ],
];

const AMF3_VECTORS: Vector[] = [
  ["undefined (§3.2)", undefined, "00"],
  ["null (§3.3)", null, "01"],
  ["false (§3.4)", false, "02"],
  ["true (§3.5)", true, "03"],
  ["integer 0 (§3.6)", 0, "04 00"],
  ["integer 127, one U29 byte (§1.3.1)", 127, "04 7f"],
  ["integer 128, two U29 bytes (§1.3.1)", 128, "04 8100"],
  ["integer 16383 (§1.3.1)", 16383, "04 ff7f"],
  ["integer 16384, three U29 bytes (§1.3.1)", 16384, "04 818000"],
  ["integer 2097151 (§1.3.1)", 2097151, "04 ffff7f"],
  ["integer 2097152, four U29 bytes (§1.3.1)", 2097152, "04 80c08000"],
  ["integer 2^28-1 (§3.6)", 0x0fffffff, "04 bfffffff"],
  ["integer -1, sign-extended (§3.6)", -1, "04 ffffffff"],
  ["integer -2^28 (§3.6)", -0x10000000, "04 c0808000"],
  ["2^28 becomes a double (§3.6, §3.7)", 0x10000000, "05 41b0000000000000"],
  ["-0 is a double (§3.7)", -0, "05 8000000000000000"],
  ["double 0.5 (§3.7)", 0.5, "05 3fe0000000000000"],
  ["string (§3.8)", "hello", "06 0b " + ascii("hello")],
  ["empty string (§1.3.2)", "", "06 01"],
  ["string sent by reference (§3.8)", ["a", "a", ""], "09 07 01 06 03 61 06 00 06 01"],
  ["XMLDocument (§3.9)", new XmlDocument("<a/>"), "07 09 " + ascii("<a/>")],
  ["date (§3.10)", new Date(1), "08 01 3ff0000000000000"],
  ["dense array (§3.11)", [1, 2], "09 05 01 04 01 04 02"],
  [
    "array with an associative part (§3.11)",
    new EcmaArray({ a: 1 }, [2]),
    "09 03 03 61 04 01 01 04 02",
  ],
  ["anonymous object (§3.12)", { a: 1 }, "0a 0b 01 03 61 04 01 01"],
  [
    "sealed typed object (§3.12)",
    new TypedObject("P", { x: 1 }, { sealed: ["x"], dynamic: false }),
    "0a 13 03 50 03 78 04 01",
  ],
  [
    "traits sent by reference (§3.12)",
    [
      new TypedObject("P", { x: 1 }, { sealed: ["x"], dynamic: false }),
      new TypedObject("P", { x: 2 }, { sealed: ["x"], dynamic: false }),
    ],
    "09 05 01 0a 13 03 50 03 78 04 01 0a 01 04 02",
  ],
  [
    "dynamic typed object with sealed and dynamic members (§3.12)",
    new TypedObject("Q", { x: 1, y: 2 }, { sealed: ["x"] }),
    "0a 1b 03 51 03 78 04 01 03 79 04 02 01",
  ],
  [
    "externalizable ArrayCollection (§3.12)",
    new Externalizable("flex.messaging.io.ArrayCollection", []),
    "0a 07 43 " + ascii("flex.messaging.io.ArrayCollection") + " 09 01 01",
  ],
  ["XML (§3.13)", new Xml("<a/>"), "0b 09 " + ascii("<a/>")],
  ["ByteArray (§3.14)", new Uint8Array([1, 2, 3]), "0c 07 010203"],
  [
    "Vector.<int> (§3.15)",
    new AmfVector("int", [1, -1], { fixed: true }),
    "0d 05 01 00000001 ffffffff",
  ],
  ["Vector.<uint> (§3.15)", new AmfVector("uint", [0xffffffff]), "0e 03 00 ffffffff"],
  ["Vector.<Number> (§3.15)", new AmfVector("double", [0.5]), "0f 03 00 3fe0000000000000"],
  ["Vector.<*> (§3.15)", new AmfVector("object", [1]), "10 03 00 03 2a 04 01"],
  [
    "Vector.<String> (§3.15)",
    new AmfVector("object", ["a"], { objectType: "String" }),
    "10 03 00 0d " + ascii("String") + " 06 03 61",
  ],
  ["Dictionary (§3.16)", new Dictionary([["a", 1]]), "11 03 00 06 03 61 04 01"],
];

Deno.test("encodeAmf0() and decodeAmf0() match byte vectors (AMF0 §2)", async (t) => {
  for (const [name, value, bytes] of AMF0_VECTORS) {
    await t.step(name, () => {
      equal(toHex(encodeAmf0(value)), toHex(hex(bytes)));
      deepEqual(decodeAmf0(hex(bytes)), value);
    });
  }
});

Deno.test("encodeAmf3() and decodeAmf3() match byte vectors (AMF3 §3)", async (t) => {
  for (const [name, value, bytes] of AMF3_VECTORS) {
    await t.step(name, () => {
      equal(toHex(encodeAmf3(value)), toHex(hex(bytes)));
      deepEqual(decodeAmf3(hex(bytes)), value);
    });
  }
});

Deno.test("AMF 0 reads the variants a decoder must accept (AMF0 §2)", () => {
  // A non-zero byte is true (§2.3); unsupported decodes as undefined (§2.15).
  equal(decodeAmf0(hex("01 05")), true);
  equal(decodeAmf0(hex("0d")), undefined);
  // The ECMA array count is only a hint (§2.10).
  deepEqual(decodeAmf0(hex("08 00000000 0001 61 05 0000 09")), new EcmaArray({ a: null }));
  // The date time-zone is ignored (§2.13).
  deepEqual(decodeAmf0(hex("0b 3ff0000000000000 ffc4")), new Date(1));
  // A long string (§2.14).
  const long = "x".repeat(70000);
  const enc = encodeAmf0(long);
  equal(toHex(enc.subarray(0, 5)), "0c 00 01 11 70");
  equal(decodeAmf0(enc), long);
  equal(decodeAmf0(hex("0c 00000002 6869")), "hi");
  // Xml is written as an XML document in AMF 0.
  deepEqual(decodeAmf0(encodeAmf0(new Xml("<b/>"))), new XmlDocument("<b/>"));
  // ECMA array dense items are written with keys "0", "1", ...
  deepEqual(
    decodeAmf0(encodeAmf0(new EcmaArray({ a: 1 }, [true]))),
    new EcmaArray({ 0: true, a: 1 }),
  );
});

Deno.test("AMF 0 sends repeated objects by reference (AMF0 §2.9)", () => {
  const o = {};
  const bytes = encodeAmf0([o, o]);
  // The array is reference 0, the object reference 1.
  equal(toHex(bytes), toHex(hex("0a 00000002 03 0000 09 07 0001")));
  const back = decodeAmf0(bytes) as AmfObject[];
  ok(back[0] === back[1]);
  const cyclic: AmfObject = { name: "loop" };
  cyclic.self = cyclic;
  const c = decodeAmf0(encodeAmf0(cyclic)) as AmfObject;
  ok(c.self === c);
  equal(c.name, "loop");
  // Dates are not complex in AMF 0: each is written in full.
  const d = new Date(5);
  equal(encodeAmf0([d, d]).length, 5 + 2 * 11);
});

Deno.test("AMF 3 reference tables: strings, objects, traits (AMF3 §2.2)", () => {
  const o: AmfObject = { k: "v" };
  o.me = o;
  const back = decodeAmf3(encodeAmf3(o)) as AmfObject;
  ok(back.me === back);
  const d = new Date(7);
  const bytes = encodeAmf3([d, d, new Uint8Array([9]), "k", "k"]);
  const arr = decodeAmf3(bytes) as AmfValue[];
  ok(arr[0] === arr[1]);
  deepEqual(arr, [d, d, new Uint8Array([9]), "k", "k"]);
  // Member names share the string table with string values.
  equal(
    toHex(encodeAmf3([{ ab: 1 }, "ab"])),
    toHex(hex("09 05 01 0a 0b 01 05 6162 04 01 01 06 00")),
  );
  // Class names too; and the empty string is never a reference.
  equal(
    toHex(encodeAmf3([new TypedObject("C", {}, { dynamic: false }), "C", ""])),
    toHex(hex("09 07 01 0a 03 03 43 06 00 06 01")),
  );
  // A traits reference to externalizable traits.
  const ac = "flex.messaging.io.ArrayCollection";
  const two = decodeAmf3(encodeAmf3([new Externalizable(ac, [1]), new Externalizable(ac, [2])]));
  deepEqual(two, [new Externalizable(ac, [1]), new Externalizable(ac, [2])]);
});

Deno.test("AMF packets carry headers and messages (AMF0 §4.1, AMF3 §4.1)", () => {
  const packet = {
    version: 0,
    headers: [{ name: "Credentials", mustUnderstand: true, value: { userid: "u", password: "p" } }],
    messages: [
      { targetUri: "com/mycompany/Services.getQuote", responseUri: "/1", body: ["ADBE"] },
      { targetUri: "/1/onResult", responseUri: "null", body: 42 },
    ],
  };
  const bytes = encodeAmfPacket(packet);
  equal(toHex(bytes.subarray(0, 4)), "00 00 00 01");
  // The header length counts the value's bytes.
  const headerLength = new DataView(bytes.buffer).getUint32(4 + 2 + 11 + 1);
  equal(headerLength, encodeAmf0(packet.headers[0]!.value).length);
  deepEqual(decodeAmfPacket(bytes), packet);
  const v3 = { ...packet, version: 3 };
  const bytes3 = encodeAmfPacket(v3);
  deepEqual(decodeAmfPacket(bytes3), v3);
  // Unknown lengths are (U32)-1.
  deepEqual(
    decodeAmfPacket(hex("0000 0000 0001 0001 61 0002 2f31 ffffffff 05")).messages[0]!.body,
    null,
  );
  throwsDecode(() => decodeAmfPacket(hex("0000 0000 0001 0001 61")), 9);
  throwsDecode(() => decodeAmfPacket(hex("0000 0000 0000 00")), 6);
});

Deno.test("decoders reject malformed data with the offset", async (t) => {
  const amf0: [string, string, number][] = [
    ["empty input", "", 0],
    ["object-end outside an object", "09", 0],
    ["movieclip (reserved)", "04", 0],
    ["recordset (reserved)", "0e", 0],
    ["unknown marker", "12", 0],
    ["reference past the table", "07 0000", 0],
    ["truncated number", "00 3ff0", 1],
    ["truncated string", "02 0005 6869", 3],
    ["invalid UTF-8", "02 0001 ff", 3],
    ["missing object-end marker", "03 0000 05", 3],
    ["strict array count beyond the data", "0a ffffffff 05", 5],
    ["bytes after the value", "05 05", 1],
  ];
  for (const [name, bytes, offset] of amf0) {
    await t.step(`AMF 0: ${name}`, () => throwsDecode(() => decodeAmf0(hex(bytes || "")), offset));
  }
  const amf3: [string, string, number][] = [
    ["unknown marker", "12", 0],
    ["truncated U29", "04 80", 2],
    ["string reference past the table", "06 02", 1],
    ["object reference past the table", "0a 00", 0],
    ["traits reference past the table", "0a 01", 0],
    ["unknown externalizable class", "0a 07 03 58", 0],
    ["array count beyond the data", "09 ffffff7f 01", 6],
    ["Vector.<int> count beyond the data", "0d 07 00 00000001", 3],
    ["Dictionary count beyond the data", "11 07 00 04 01", 3],
    ["ByteArray longer than the data", "0c 07 01", 2],
    ["bytes after the value", "01 01", 1],
  ];
  for (const [name, bytes, offset] of amf3) {
    await t.step(`AMF 3: ${name}`, () => throwsDecode(() => decodeAmf3(hex(bytes)), offset));
  }
  await t.step("deep nesting is refused, not a stack overflow", () => {
    throwsDecode(() => decodeAmf3(hex("090301".repeat(5000) + "01")));
    throwsDecode(() => decodeAmf0(hex("0a00000001".repeat(5000) + "05")));
    const deep: AmfValue[] = [];
    let cur = deep;
    for (let i = 0; i < 5000; i++) {
      const next: AmfValue[] = [];
      cur.push(next);
      cur = next;
    }
    throws(() => encodeAmf3(deep), RangeError);
    throws(() => encodeAmf0(deep), RangeError);
  });
  await t.step("__proto__ keys become own properties", () => {
    const o = decodeAmf3(hex("0a 0b 01 13 " + ascii("__proto__") + " 04 01 01")) as AmfObject;
    deepEqual(Object.keys(o), ["__proto__"]);
    equal(Object.getPrototypeOf(o), Object.prototype);
  });
});

Deno.test("encoders refuse values without an AMF type", () => {
  throws(() => encodeAmf0((() => 1) as unknown as AmfValue), TypeError);
  throws(() => encodeAmf3(Symbol("x") as unknown as AmfValue), TypeError);
  throws(() => encodeAmf3(1n as unknown as AmfValue), TypeError);
  throws(() => encodeAmf0({ "": 1 }), TypeError);
  throws(() => encodeAmf3({ "": 1 }), TypeError);
  throws(() => encodeAmf3(new AmfVector("int", [2 ** 31])), RangeError);
  throws(() => encodeAmf3(new AmfVector("uint", [-1])), RangeError);
  throws(() => encodeAmf3(new AmfVector("double", ["x"])), TypeError);
  throws(() => encodeAmf0(new TypedObject("x".repeat(70000))), RangeError);
  deepEqual(decodeAmf0Values(encodeAmf0Values(["a", 1, null])), ["a", 1, null]);
});

// === Property tests ===

const key = fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== "__proto__");
const safeString = fc.string({ unit: "binary", maxLength: 12 });
const date = fc.date({ noInvalidDate: true, min: new Date(-8.64e15), max: new Date(8.64e15) });
const leaf = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -0x10000000, max: 0x0fffffff }),
  fc.double(),
  safeString,
  date,
  fc.uint8Array({ maxLength: 8 }),
  safeString.map((s) => new XmlDocument(s)),
  fc.array(fc.integer({ min: -0x80000000, max: 0x7fffffff }), { maxLength: 4 }).map((a) =>
    new AmfVector("int", a)
  ),
  fc.tuple(fc.array(fc.double(), { maxLength: 4 }), fc.boolean()).map(([a, fixed]) =>
    new AmfVector("double", a, { fixed })
  ),
);

function valueArb(amf3: boolean): fc.Arbitrary<AmfValue> {
  const { value } = fc.letrec<{ value: AmfValue }>((tie) => {
    const child = tie("value");
    const props = fc.dictionary(key, child, { maxKeys: 3 });
    const common: fc.Arbitrary<AmfValue>[] = [
      leaf,
      fc.array(child, { maxLength: 3 }),
      props,
      // In AMF 0 a Dictionary switches to AMF 3, where AMF 0's own variants would change.
      fc.array(fc.tuple(amf3 ? child : leaf, amf3 ? child : leaf), { maxLength: 2 }).map((e) =>
        new Dictionary(e)
      ),
    ];
    const specific: fc.Arbitrary<AmfValue>[] = amf3
      ? [
        safeString.map((s) => new Xml(s)),
        fc.record({ k: key, v: child, rest: props, items: fc.array(child, { maxLength: 2 }) })
          .map(({ k, v, rest, items }) => new EcmaArray({ ...rest, [k]: v }, items)),
        fc.record({
          name: fc.string({ maxLength: 4 }),
          sealed: fc.uniqueArray(fc.string({ maxLength: 3 }), { maxLength: 3 }),
          dynamic: fc.boolean(),
          extra: props,
          values: fc.array(child, { minLength: 3, maxLength: 3 }),
        }).filter((r) => r.name !== "" || r.sealed.length > 0 || !r.dynamic).map((r) => {
          const properties: AmfObject = {};
          r.sealed.forEach((s, i) => setOwn(properties, s, r.values[i]));
          if (r.dynamic) {
            for (const [k, v] of Object.entries(r.extra)) {
              if (!r.sealed.includes(k)) properties[k] = v;
            }
          }
          return new TypedObject(r.name, properties, { sealed: r.sealed, dynamic: r.dynamic });
        }),
        fc.tuple(
          child,
          fc.constantFrom("flex.messaging.io.ArrayCollection", "flex.messaging.io.ObjectProxy"),
        )
          .map(([v, c]) => new Externalizable(c, v)),
        fc.tuple(fc.array(child, { maxLength: 3 }), fc.string({ maxLength: 4 })).map(([a, t]) =>
          new AmfVector("object", a, { objectType: t })
        ),
      ]
      : [
        props.map((p) => new EcmaArray(p)),
        fc.tuple(fc.string({ maxLength: 4 }), props).map(([n, p]) => new TypedObject(n, p)),
      ];
    return { value: fc.oneof({ depthSize: "small", maxDepth: 3 }, ...common, ...specific) };
  });
  return value;
}

function setOwn(o: AmfObject, k: string, v: AmfValue): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

Deno.test("decodeAmf0(encodeAmf0(x)) equals x (property)", () => {
  fc.assert(fc.property(valueArb(false), (v) => deepEqual(decodeAmf0(encodeAmf0(v)), v)), {
    numRuns: 300,
  });
});

Deno.test("decodeAmf3(encodeAmf3(x)) equals x (property)", () => {
  fc.assert(fc.property(valueArb(true), (v) => deepEqual(decodeAmf3(encodeAmf3(v)), v)), {
    numRuns: 300,
  });
});

Deno.test("decoders throw only AmfDecodeError on random input, and what decodes re-encodes (property)", () => {
  const noise = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.tuple(valueArb(true), fc.nat(), fc.uint8Array({ maxLength: 3 })).map(([v, i, junk]) => {
      const b = encodeAmf3(v);
      const at = i % (b.length + 1);
      return new Uint8Array([...b.subarray(0, at), ...junk, ...b.subarray(at)]);
    }),
  );
  fc.assert(
    fc.property(noise, (bytes) => {
      for (
        const [decode, encode] of [[decodeAmf0, encodeAmf0], [decodeAmf3, encodeAmf3]] as const
      ) {
        let v: AmfValue;
        try {
          v = decode(bytes);
        } catch (e) {
          if (!(e instanceof AmfDecodeError)) throw e;
          continue;
        }
        encode(v);
      }
      try {
        decodeAmfPacket(bytes);
      } catch (e) {
        if (!(e instanceof AmfDecodeError)) throw e;
      }
    }),
    { numRuns: 1000 },
  );
});
