// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Unit and conformance tests for the sans-I/O core of std/ietf/rfc6455: published vectors
// (RFC 6455 §1.3, §5.7; RFC 7692 §7.2.3), an Autobahn-style table (case groups 1-7, 9, 12-13)
// run in both roles and with whole and chopped delivery, handshake tables and property tests.
// The sockets are tested in deno_test.ts, the command line in main_test.ts.
import fc from "fast-check";
import { inflateRawSync } from "node:zlib";
import {
  acceptHandshake,
  acceptKey,
  createHandshake,
  decodeClosePayload,
  decodeFrame,
  type DeflateOptions,
  type DeflateParams,
  encodeClosePayload,
  encodeFrame,
  type Frame,
  HandshakeError,
  negotiateDeflate,
  parseExtensions,
  parseHttpRequest,
  parseHttpResponse,
  verifyHandshake,
  type WebSocketEvent,
  WebSocketParseError,
  WebSocketProtocol,
  type WebSocketRole,
} from "./mod.ts";
import {
  assert,
  assertEquals,
  assertThrows,
  closePayload,
  compressible,
  concatBytes,
  dec,
  enc,
  type Ev,
  hex,
  MASK,
  peerBytes,
  type PeerFrame,
  REQ,
  type Sent,
  sentFrames,
  simplify,
} from "./_test_util.ts";

// === Published vectors ===

Deno.test("acceptKey() matches the handshake example (RFC 6455 §1.3)", () => {
  assertEquals(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("encodeFrame()/decodeFrame() reproduce the framing examples (RFC 6455 §5.7)", async (t) => {
  const hello = enc.encode("Hello");
  const f = (opcode: number, payload: Uint8Array, fin = true, mask?: Uint8Array): Frame => ({
    fin,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    opcode,
    mask,
    payload,
  });
  const vectors: [string, Frame, number[]][] = [
    ["single-frame unmasked text", f(1, hello), [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]],
    ["single-frame masked text", f(1, hello, true, MASK), [
      0x81,
      0x85,
      0x37,
      0xfa,
      0x21,
      0x3d,
      0x7f,
      0x9f,
      0x4d,
      0x51,
      0x58,
    ]],
    ["first fragment", f(1, enc.encode("Hel"), false), [0x01, 0x03, 0x48, 0x65, 0x6c]],
    ["last fragment", f(0, enc.encode("lo")), [0x80, 0x02, 0x6c, 0x6f]],
    ["unmasked ping", f(9, hello), [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]],
    ["masked pong", f(10, hello, true, MASK), [
      0x8a,
      0x85,
      0x37,
      0xfa,
      0x21,
      0x3d,
      0x7f,
      0x9f,
      0x4d,
      0x51,
      0x58,
    ]],
  ];
  for (const [name, frame, bytes] of vectors) {
    await t.step(name, () => {
      assertEquals([...encodeFrame(frame)], bytes);
      const d = decodeFrame(new Uint8Array(bytes))!;
      assertEquals(d.length, bytes.length);
      assertEquals(d.frame, frame);
    });
  }
  await t.step("256 bytes binary in a single unmasked frame", () => {
    const bytes = encodeFrame(f(2, new Uint8Array(256)));
    assertEquals([...bytes.subarray(0, 4)], [0x82, 0x7e, 0x01, 0x00]);
    assertEquals(bytes.length, 260);
  });
  await t.step("64 KiB binary in a single unmasked frame", () => {
    const bytes = encodeFrame(f(2, new Uint8Array(65536)));
    assertEquals([...bytes.subarray(0, 10)], [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
    assertEquals(decodeFrame(bytes)!.frame.payload.length, 65536);
  });
});

function deflateParams(p: Partial<DeflateParams> = {}): DeflateParams {
  return {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    ...p,
  };
}

Deno.test("WebSocketProtocol inflates the permessage-deflate examples (RFC 7692 §7.2.3)", async (t) => {
  const vectors: [string, number[][], string[]][] = [
    ["§7.2.3.1 a message compressed using 1 compressed DEFLATE block", [[
      0xc1,
      0x07,
      0xf2,
      0x48,
      0xcd,
      0xc9,
      0xc9,
      0x07,
      0x00,
    ]], ["Hello"]],
    ["§7.2.3.1 the same, in two fragments", [[0x41, 0x03, 0xf2, 0x48, 0xcd], [
      0x80,
      0x04,
      0xc9,
      0xc9,
      0x07,
      0x00,
    ]], ["Hello"]],
    ["§7.2.3.2 sharing the LZ77 sliding window", [
      [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
      [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00],
    ], ["Hello", "Hello"]],
    ["§7.2.3.3 a DEFLATE block with no compression", [[
      0xc1,
      0x0b,
      0x00,
      0x05,
      0x00,
      0xfa,
      0xff,
      0x48,
      0x65,
      0x6c,
      0x6c,
      0x6f,
      0x00,
    ]], ["Hello"]],
    ["§7.2.3.4 a DEFLATE block with BFINAL set", [[
      0xc1,
      0x08,
      0xf3,
      0x48,
      0xcd,
      0xc9,
      0xc9,
      0x07,
      0x00,
      0x00,
    ]], ["Hello"]],
    ["§7.2.3.5 two DEFLATE blocks in one message", [[
      0xc1,
      0x0d,
      0xf2,
      0x48,
      0x05,
      0x00,
      0x00,
      0x00,
      0xff,
      0xff,
      0xca,
      0xc9,
      0xc9,
      0x07,
      0x00,
    ]], ["Hello"]],
    ["§7.2.3.6 an empty fragment", [[0xc1, 0x01, 0x00]], [""]],
  ];
  for (const [name, frames, messages] of vectors) {
    await t.step(name, () => {
      const p = new WebSocketProtocol({ role: "client", deflate: deflateParams() });
      const events = frames.flatMap((b) => p.receive(new Uint8Array(b)));
      assertEquals(events, messages.map((data) => ({ type: "message", data })));
    });
  }
  await t.step("§7.2.3.1 compressing 'Hello' gives the example bytes", () => {
    const p = new WebSocketProtocol({
      role: "server",
      deflate: deflateParams(),
      deflateOptions: { threshold: 0 },
    });
    p.send("Hello");
    p.send("Hello");
    const out = concatBytes(...p.takeOutput());
    assertEquals([...out], [
      ...[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
      ...[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00],
    ]);
  });
});

// === Autobahn-style conformance table (case groups 1-7) ===

interface Case {
  id: string;
  frames: PeerFrame[];
  /** Events expected, in order ("message", "ping", "pong", "close"). */
  events: Ev[];
  /** Frames we send in reply, in order: [opcode, payload text or close code]. */
  sent: Sent[];
  /** Events expected before the frames marked `split` arrive (fail-fast). */
  before?: Ev[];
}

const bytes = (n: number, fill = 0x2a) => new Uint8Array(n).fill(fill);
const text = (n: number) => "*".repeat(n);
function chop(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

function runCase(c: Case, role: WebSocketRole, chunk: number, options = {}): void {
  const p = new WebSocketProtocol({ role, ...options });
  const events: WebSocketEvent[] = [];
  const split = c.frames.findIndex((f) => f.split);
  const parts = split < 0 ? [c.frames] : [c.frames.slice(0, split), c.frames.slice(split)];
  parts.forEach((frames, i) => {
    const wire = frames.map((f) => peerBytes(f, role));
    const all = new Uint8Array(wire.reduce((n, w) => n + w.length, 0));
    let o = 0;
    for (const w of wire) {
      all.set(w, o);
      o += w.length;
    }
    for (const piece of chunk ? chop(all, chunk) : [all]) events.push(...p.receive(piece));
    if (i === 0 && c.before) assertEquals(simplify(events), c.before, `${c.id} before split`);
  });
  assertEquals(simplify(events), c.events, `${c.id} events`);
  assertEquals(sentFrames(p.takeOutput(), role), c.sent, `${c.id} sent`);
}

const echoOk = (msg: string | Uint8Array, op = typeof msg === "string" ? 1 : 2): Case => ({
  id: "",
  frames: [{ op, data: msg }],
  events: [["message", msg]],
  sent: [],
});

const CASES: Case[] = [];
function add(id: string, c: Omit<Case, "id">): void {
  CASES.push({ id, ...c });
}

// 1. Framing: text and binary at the length boundaries (7-, 16- and 64-bit lengths).
[0, 125, 126, 127, 128, 65535, 65536].forEach((n, i) => {
  add(`1.1.${i + 1} text ${n} bytes`, { ...echoOk(text(n)) });
  add(`1.2.${i + 1} binary ${n} bytes`, { ...echoOk(bytes(n)) });
});

// 2. Pings and pongs.
add("2.1 ping without payload", { frames: [{ op: 9 }], events: [["ping", ""]], sent: [[10, ""]] });
add("2.2 ping with text payload", {
  frames: [{ op: 9, data: "Hello, world!" }],
  events: [["ping", "Hello, world!"]],
  sent: [[10, "Hello, world!"]],
});
add("2.3 ping with binary payload", {
  frames: [{ op: 9, data: hex("00 ff fe fd fc fb 00 ff") }],
  events: [["ping", dec.decode(hex("00 ff fe fd fc fb 00 ff"))]],
  sent: [[10, dec.decode(hex("00 ff fe fd fc fb 00 ff"))]],
});
add("2.4 ping with 125 bytes", {
  frames: [{ op: 9, data: text(125) }],
  events: [["ping", text(125)]],
  sent: [[10, text(125)]],
});
add("2.5 ping with 126 bytes fails", {
  frames: [{ op: 9, data: text(126) }],
  events: [["close", 1002, false]],
  sent: [[8, 1002]],
});
add("2.7 unsolicited pong without payload", {
  frames: [{ op: 10 }],
  events: [["pong", ""]],
  sent: [],
});
add("2.8 unsolicited pong with payload", {
  frames: [{ op: 10, data: "unsolicited" }],
  events: [["pong", "unsolicited"]],
  sent: [],
});
add("2.9 unsolicited pong then ping", {
  frames: [{ op: 10, data: "unsolicited" }, { op: 9, data: "solicited" }],
  events: [["pong", "unsolicited"], ["ping", "solicited"]],
  sent: [[10, "solicited"]],
});
add("2.10 ten pings", {
  frames: Array.from({ length: 10 }, (_, i) => ({ op: 9, data: `payload-${i}` })),
  events: Array.from({ length: 10 }, (_, i): Ev => ["ping", `payload-${i}`]),
  sent: Array.from({ length: 10 }, (_, i): Sent => [10, `payload-${i}`]),
});

// 3. Reserved bits (no extension negotiated).
add("3.1 RSV1 on text", {
  frames: [{ op: 1, data: "Hello", rsv: 4 }],
  events: [["close", 1002, false]],
  sent: [[8, 1002]],
});
add("3.2 RSV2 on text after a valid text", {
  frames: [{ op: 1, data: "Hello" }, { op: 1, data: "Hello", rsv: 2 }, { op: 9 }],
  events: [["message", "Hello"], ["close", 1002, false]],
  sent: [[8, 1002]],
});
add("3.3 RSV3 on text between valid texts", {
  frames: [{ op: 1, data: "a" }, { op: 1, data: "b", rsv: 1 }, { op: 1, data: "c" }],
  events: [["message", "a"], ["close", 1002, false]],
  sent: [[8, 1002]],
});
add("3.5 RSV1+RSV2 on binary", {
  frames: [{ op: 2, data: bytes(8), rsv: 6 }],
  events: [["close", 1002, false]],
  sent: [[8, 1002]],
});
add("3.6 RSV2+RSV3 on ping", {
  frames: [{ op: 9, data: "p", rsv: 3 }],
  events: [["close", 1002, false]],
  sent: [[8, 1002]],
});
add("3.7 RSV1+RSV2+RSV3 on close", {
  frames: [{ op: 8, data: closePayload(1000), rsv: 7 }],
  events: [["close", 1002, false]],
  sent: [[8, 1002]],
});

// 4. Reserved opcodes.
[3, 4, 5, 6, 7].forEach((op, i) =>
  add(`4.1.${i + 1} reserved non-control opcode ${op}`, {
    frames: [{ op: 1, data: "Hello" }, { op, data: "x" }, { op: 9 }],
    events: [["message", "Hello"], ["close", 1002, false]],
    sent: [[8, 1002]],
  })
);
[11, 12, 13, 14, 15].forEach((op, i) =>
  add(`4.2.${i + 1} reserved control opcode ${op}`, {
    frames: [{ op: 1, data: "Hello" }, { op, data: "x" }, { op: 9 }],
    events: [["message", "Hello"], ["close", 1002, false]],
    sent: [[8, 1002]],
  })
);

// 5. Fragmentation.
add("5.1 fragmented ping", {
  frames: [{ op: 9, data: "frag", fin: false }, { op: 0, data: "ment" }],
  events: [["close", 1002, false]],
  sent: [[8, 1002]],
});
add("5.2 fragmented pong", {
  frames: [{ op: 10, data: "frag", fin: false }, { op: 0, data: "ment" }],
  events: [["close", 1002, false]],
  sent: [[8, 1002]],
});
add("5.3 text in two fragments", {
  frames: [{ op: 1, data: "frag", fin: false }, { op: 0, data: "ment" }],
  events: [["message", "fragment"]],
  sent: [],
});
add("5.6 ping between text fragments", {
  frames: [{ op: 1, data: "frag", fin: false }, { op: 9, data: "p" }, { op: 0, data: "ment" }],
  events: [["ping", "p"], ["message", "fragment"]],
  sent: [[10, "p"]],
});
add("5.8 pong between text fragments", {
  frames: [{ op: 1, data: "frag", fin: false }, { op: 10, data: "p" }, { op: 0, data: "ment" }],
  events: [["pong", "p"], ["message", "fragment"]],
  sent: [],
});
add("5.9 continuation without a message", {
  frames: [{ op: 0, data: "x" }, { op: 1, data: "fragment" }],
  events: [["close", 1002, false]],
  sent: [[8, 1002]],
});
add("5.12 non-final continuation without a message", {
  frames: [{ op: 0, data: "x", fin: false }, { op: 0, data: "y" }],
  events: [["close", 1002, false]],
  sent: [[8, 1002]],
});
add("5.15 new text while fragmenting", {
  frames: [
    { op: 1, data: "a", fin: false },
    { op: 0, data: "b" },
    { op: 0, data: "c", fin: false },
    { op: 1, data: "d" },
  ],
  events: [["message", "ab"], ["close", 1002, false]],
  sent: [[8, 1002]],
});
add("5.18 text then text inside a fragmented message", {
  frames: [{ op: 1, data: "a", fin: false }, { op: 1, data: "b" }],
  events: [["close", 1002, false]],
  sent: [[8, 1002]],
});
add("5.19 pings interleaved with five text fragments", {
  frames: [
    { op: 1, data: "f1", fin: false },
    { op: 0, data: "f2", fin: false },
    { op: 9, data: "p1" },
    { op: 0, data: "f3", fin: false },
    { op: 0, data: "f4", fin: false },
    { op: 9, data: "p2" },
    { op: 0, data: "f5" },
  ],
  events: [["ping", "p1"], ["ping", "p2"], ["message", "f1f2f3f4f5"]],
  sent: [[10, "p1"], [10, "p2"]],
});
add("5.x binary in three fragments", {
  frames: [
    { op: 2, data: bytes(3, 1), fin: false },
    { op: 0, data: bytes(0), fin: false },
    { op: 0, data: bytes(2, 2) },
  ],
  events: [["message", new Uint8Array([1, 1, 1, 2, 2])]],
  sent: [],
});

// 6. UTF-8 handling.
const valid = [
  "",
  "Hello-µ@ßöäüàá-UTF-8!!",
  "κόσμε",
  "\u0080",
  "\u07ff",
  "\u0800",
  "\uffff",
  "\u{10000}",
  "\u{10ffff}",
  "\ufeffBOM kept",
];
valid.forEach((s, i) => add(`6.${i + 1} valid UTF-8 ${JSON.stringify(s)}`, { ...echoOk(s) }));
add("6.2 valid UTF-8 split inside code points across fragments", {
  frames: [
    { op: 1, data: hex("ce ba e1"), fin: false },
    { op: 0, data: hex("bd b9 cf 83 ce"), fin: false },
    { op: 0, data: hex("bc ce b5") },
  ],
  events: [["message", "\u03ba\u1f79\u03c3\u03bc\u03b5"]],
  sent: [],
});
const invalid: [string, string][] = [
  ["lone continuation byte", "80"],
  ["overlong '/'", "c0 af"],
  ["overlong NUL 3 bytes", "e0 80 80"],
  ["UTF-16 surrogate", "ed a0 80"],
  ["above U+10FFFF", "f4 90 80 80"],
  ["byte fe", "fe"],
  ["byte ff", "ff"],
  ["truncated at end", "ce ba e1 bd"],
  ["5-byte sequence", "f8 88 80 80 80"],
];
invalid.forEach(([name, h], i) =>
  add(`6.3.${i + 1} invalid UTF-8: ${name}`, {
    frames: [{ op: 1, data: hex(h) }],
    events: [["close", 1007, false]],
    sent: [[8, 1007]],
  })
);
add("6.4.1 fail fast: invalid fragment before the last one arrives", {
  frames: [
    { op: 1, data: "κόσμε", fin: false },
    { op: 0, data: hex("f4 90 80 80"), fin: false },
    { op: 0, data: "edited", split: true },
  ],
  before: [["close", 1007, false]],
  events: [["close", 1007, false]],
  sent: [[8, 1007]],
});
add("6.4.2 fail fast: invalid prefix at the end of a fragment", {
  frames: [
    { op: 1, data: hex("ce ba e1 bd b9 cf 83 ce bc ce b5 f4"), fin: false },
    { op: 0, data: hex("90"), fin: false },
    { op: 0, data: hex("80 80 65 64 69 74 65 64"), split: true },
  ],
  before: [["close", 1007, false]],
  events: [["close", 1007, false]],
  sent: [[8, 1007]],
});

// 7. Close handling.
add("7.1.1 message then close", {
  frames: [{ op: 1, data: "Hello" }, { op: 8, data: closePayload(1000) }],
  events: [["message", "Hello"], ["close", 1000, true]],
  sent: [[8, 1000]],
});
add("7.1.2 close twice", {
  frames: [{ op: 8, data: closePayload(1000) }, { op: 8, data: closePayload(1000) }],
  events: [["close", 1000, true]],
  sent: [[8, 1000]],
});
add("7.1.3 ping after close is ignored", {
  frames: [{ op: 8, data: closePayload(1000) }, { op: 9, data: "p" }],
  events: [["close", 1000, true]],
  sent: [[8, 1000]],
});
add("7.1.4 text after close is ignored", {
  frames: [{ op: 8, data: closePayload(1000) }, { op: 1, data: "late" }],
  events: [["close", 1000, true]],
  sent: [[8, 1000]],
});
add("7.1.5 fragment then close", {
  frames: [{ op: 1, data: "frag", fin: false }, { op: 8, data: closePayload(1000) }, {
    op: 0,
    data: "x",
  }],
  events: [["close", 1000, true]],
  sent: [[8, 1000]],
});
add("7.3.1 close without payload", {
  frames: [{ op: 8 }],
  events: [["close", 1005, true]],
  sent: [[8, 1005]],
});
add("7.3.2 close with 1-byte payload", {
  frames: [{ op: 8, data: bytes(1, 3) }],
  events: [["close", 1002, false]],
  sent: [[8, 1002]],
});
add("7.3.3 close with status code only", {
  frames: [{ op: 8, data: closePayload(1000) }],
  events: [["close", 1000, true]],
  sent: [[8, 1000]],
});
add("7.3.5 close with a 123-byte reason", {
  frames: [{ op: 8, data: closePayload(1000, text(123)) }],
  events: [["close", 1000, true]],
  sent: [[8, 1000]],
});
add("7.3.6 close with a 124-byte reason", {
  frames: [{ op: 8, data: closePayload(1000, text(124)) }],
  events: [["close", 1002, false]],
  sent: [[8, 1002]],
});
add("7.5.1 close reason with invalid UTF-8", {
  frames: [{
    op: 8,
    data: new Uint8Array([0x03, 0xe8, 0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xf4, 0x90]),
  }],
  events: [["close", 1007, false]],
  sent: [[8, 1007]],
});
[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach((code, i) =>
  add(`7.7.${i + 1} valid close code ${code}`, {
    frames: [{ op: 8, data: closePayload(code) }],
    events: [["close", code, true]],
    sent: [[8, code]],
  })
);
[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].forEach((code, i) =>
  add(`7.9.${i + 1} invalid close code ${code}`, {
    frames: [{ op: 8, data: closePayload(code) }],
    events: [["close", 1002, false]],
    sent: [[8, 1002]],
  })
);

Deno.test("WebSocketProtocol passes Autobahn case groups 1-7 in both roles (RFC 6455 §5-§8)", async (t) => {
  for (const c of CASES) {
    await t.step(c.id, () => {
      for (const role of ["server", "client"] as const) {
        runCase(c, role, 0);
        runCase(c, role, 1);
        runCase(c, role, 7);
      }
    });
  }
});

Deno.test("WebSocketProtocol fails fast on invalid UTF-8 inside one frame (RFC 6455 §8.1)", () => {
  // Autobahn 6.4.3: one frame whose payload arrives in pieces; the failure comes with the piece
  // that holds the invalid bytes, before the frame is complete.
  const p = new WebSocketProtocol({ role: "server" });
  const wire = peerBytes({
    op: 1,
    data: concatBytes(enc.encode("κόσμε"), hex("f4 90 80 80"), enc.encode("edited")),
  }, "server");
  const events = p.receive(wire.subarray(0, 6 + 10 + 2));
  assertEquals(simplify(events), [["close", 1007, false]]);
  assertEquals(p.state, "closed");
});

Deno.test("WebSocketProtocol enforces masking direction and length rules (RFC 6455 §5.1, §5.2)", async (t) => {
  await t.step("unmasked frame to a server fails with 1002", () => {
    const p = new WebSocketProtocol({ role: "server" });
    assertEquals(simplify(p.receive(peerBytes({ op: 1, data: "x" }, "client"))), [[
      "close",
      1002,
      false,
    ]]);
  });
  await t.step("masked frame to a client fails with 1002", () => {
    const p = new WebSocketProtocol({ role: "client" });
    assertEquals(simplify(p.receive(peerBytes({ op: 1, data: "x" }, "server"))), [[
      "close",
      1002,
      false,
    ]]);
  });
  await t.step("64-bit length with the top bit set fails with 1002", () => {
    const p = new WebSocketProtocol({ role: "client" });
    const events = p.receive(hex("82 7f 80 00 00 00 00 00 00 01"));
    assertEquals(simplify(events), [["close", 1002, false]]);
    const first = events[0]!;
    assert(first.type === "error" && first.error instanceof WebSocketParseError);
  });
  await t.step("frame over maxFrameSize fails with 1009 before its payload arrives", () => {
    const p = new WebSocketProtocol({ role: "client", maxFrameSize: 1000 });
    assertEquals(simplify(p.receive(hex("82 7e 03 e9"))), [["close", 1009, false]]);
  });
  await t.step("64-bit length of 2^62 fails with 1009 from the header alone", () => {
    const p = new WebSocketProtocol({ role: "client" });
    assertEquals(simplify(p.receive(hex("82 7f 40 00 00 00 00 00 00 00"))), [[
      "close",
      1009,
      false,
    ]]);
  });
  await t.step("fragmented message over maxMessageSize fails with 1009", () => {
    const p = new WebSocketProtocol({ role: "client", maxMessageSize: 100 });
    const ev = [
      ...p.receive(peerBytes({ op: 2, data: bytes(60), fin: false }, "client")),
      ...p.receive(peerBytes({ op: 0, data: bytes(60) }, "client")),
    ];
    assertEquals(simplify(ev), [["close", 1009, false]]);
  });
  await t.step("no more frames are read after a failure", () => {
    const p = new WebSocketProtocol({ role: "client" });
    p.receive(hex("83 00"));
    assertEquals(p.receive(peerBytes({ op: 1, data: "x" }, "client")), []);
  });
});

// === Group 9: large messages (sizes kept modest for CI) ===

Deno.test("WebSocketProtocol handles large and many messages (Autobahn 9)", async (t) => {
  const sizes = [65536, 262144, 1048576, 4194304];
  for (const role of ["server", "client"] as const) {
    for (const n of sizes) {
      await t.step(`9.1/9.2 ${role}: text and binary of ${n} bytes in one frame`, () => {
        const p = new WebSocketProtocol({ role });
        const b = bytes(n, 0x41);
        const ev = [
          ...p.receive(peerBytes({ op: 1, data: b }, role)),
          ...p.receive(peerBytes({ op: 2, data: b }, role)),
        ];
        assertEquals(ev.length, 2);
        assertEquals((ev[0] as { data: string }).data.length, n);
        assertEquals((ev[1] as { data: Uint8Array }).data, b);
      });
    }
    for (const frag of [64, 4096, 65536, 1048576]) {
      await t.step(`9.3/9.4 ${role}: 4 MiB binary in ${frag}-byte fragments`, () => {
        const sender = new WebSocketProtocol({ role: role === "server" ? "client" : "server" });
        const msg = new Uint8Array(4 << 20);
        for (let i = 0; i < msg.length; i += 4096) msg[i] = i >> 12;
        sender.send(msg, { fragmentSize: frag });
        const p = new WebSocketProtocol({ role });
        const ev = sender.takeOutput().flatMap((c) => p.receive(c));
        assertEquals(ev.length, 1);
        assertEquals((ev[0] as { data: Uint8Array }).data, msg);
      });
    }
    for (const chunk of [64, 1024, 65536]) {
      await t.step(`9.5/9.6 ${role}: 1 MiB text delivered in ${chunk}-byte chunks`, () => {
        const wire = peerBytes({ op: 1, data: text(1 << 20) }, role);
        const p = new WebSocketProtocol({ role });
        const ev = chop(wire, chunk).flatMap((c) => p.receive(c));
        assertEquals(ev.length, 1);
        assertEquals((ev[0] as { data: string }).data, text(1 << 20));
      });
    }
    await t.step(`9.7/9.8 ${role}: 1000 messages of 64 bytes in one read`, () => {
      const one = peerBytes({ op: 2, data: bytes(64) }, role);
      const wire = new Uint8Array(one.length * 1000);
      for (let i = 0; i < 1000; i++) wire.set(one, i * one.length);
      const p = new WebSocketProtocol({ role });
      const ev = p.receive(wire);
      assertEquals(ev.length, 1000);
      assert(ev.every((e) => e.type === "message" && (e.data as Uint8Array).length === 64));
    });
  }
});

// === Groups 12-13: permessage-deflate ===

function negotiate(client: DeflateOptions, server: DeflateOptions) {
  const hs = createHandshake("ws://h/", { deflate: client });
  const s = acceptHandshake(parseHttpRequest(hs.request), { deflate: server });
  const r = verifyHandshake(hs, parseHttpResponse(s.response));
  return { server: s, client: r };
}

/** Sends messages from one protocol to the other and checks them; returns the compressed payloads. */
function transfer(
  from: WebSocketProtocol,
  to: WebSocketProtocol,
  messages: (string | Uint8Array)[],
  fragmentSize?: number,
): { payload: Uint8Array; message: Uint8Array }[] {
  const payloads: { payload: Uint8Array; message: Uint8Array }[] = [];
  for (const m of messages) {
    from.send(m, fragmentSize ? { fragmentSize } : {});
    const out = from.takeOutput();
    const ev = out.flatMap((c) => to.receive(c));
    assertEquals(ev, [{ type: "message", data: m }]);
    const wire = concatBytes(...out);
    const parts: Uint8Array[] = [];
    let compressed = false;
    for (let pos = 0; pos < wire.length;) {
      const d = decodeFrame(wire, pos)!;
      parts.push(d.frame.payload);
      if (d.frame.opcode !== 0) compressed = d.frame.rsv1;
      else assert(!d.frame.rsv1, "continuation frames have RSV1 clear");
      pos += d.length;
    }
    assertEquals(compressed, m.length >= 32, "compressed from the threshold on");
    const message = typeof m === "string" ? enc.encode(m) : m;
    if (compressed) payloads.push({ payload: concatBytes(...parts), message });
  }
  return payloads;
}

Deno.test("permessage-deflate round trips between our endpoints (Autobahn 12-13, RFC 7692 §7)", async (t) => {
  const combos: [string, DeflateOptions, DeflateOptions][] = [
    ["13.1 defaults", {}, {}],
    ["13.2 client_no_context_takeover", { clientNoContextTakeover: true }, {}],
    ["13.3 server_no_context_takeover", { serverNoContextTakeover: true }, {}],
    ["13.4 both no_context_takeover", {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
    }, {}],
    ["13.5 client_max_window_bits=9", { clientMaxWindowBits: 9 }, {}],
    ["13.6 server_max_window_bits=9", { serverMaxWindowBits: 9 }, {}],
    ["13.7 window bits 9 both, no context", {
      clientMaxWindowBits: 9,
      serverMaxWindowBits: 9,
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
    }, {}],
    ["13.x server requires client_max_window_bits=10", {}, { clientMaxWindowBits: 10 }],
    ["13.x server chooses server_no_context_takeover", {}, { serverNoContextTakeover: true }],
  ];
  const sizes = [16, 64, 256, 1024, 4096, 8192, 65536, 131072];
  for (const [name, co, so] of combos) {
    await t.step(name, () => {
      const { server: s, client: c } = negotiate(co, so);
      assert(s.deflate && c.deflate, "negotiated");
      assertEquals(s.deflate, c.deflate);
      const server = new WebSocketProtocol({ role: "server", deflate: s.deflate });
      const client = new WebSocketProtocol({ role: "client", deflate: c.deflate });
      const msgs = sizes.flatMap((
        n,
        i,
      ) => [compressible(n, i), enc.encode(compressible(n, i + 100))]);
      for (
        const [from, to, bits, noCtx] of [
          [client, server, c.deflate.clientMaxWindowBits, c.deflate.clientNoContextTakeover],
          [server, client, s.deflate.serverMaxWindowBits, s.deflate.serverNoContextTakeover],
        ] as const
      ) {
        const payloads = transfer(from, to, msgs);
        // 12.x: an independent inflater (zlib) reads what we compressed.
        const zopts = { finishFlush: 2, windowBits: Math.max(bits, 9) };
        const tail = new Uint8Array([0, 0, 255, 255]);
        if (noCtx) {
          for (const { payload, message } of payloads) {
            assertEquals(
              new Uint8Array(inflateRawSync(concatBytes(payload, tail), zopts)),
              message,
            );
          }
        } else {
          const stream = concatBytes(...payloads.flatMap((p) => [p.payload, tail]));
          const out = new Uint8Array(inflateRawSync(stream, zopts));
          assertEquals(out, concatBytes(...payloads.map((p) => p.message)));
        }
      }
      // 12.x with fragmentation of the compressed payload.
      transfer(client, server, msgs.slice(0, 6), 100);
      transfer(server, client, msgs.slice(0, 6), 1000);
    });
  }
  await t.step("12.x compressed payloads are smaller than the text", () => {
    const { server: s } = negotiate({}, {});
    const p = new WebSocketProtocol({ role: "server", deflate: s.deflate });
    p.send(compressible(65536, 1));
    const n = p.takeOutput().reduce((a, b) => a + b.length, 0);
    assert(n < 65536 / 2, `${n} bytes`);
  });
  await t.step("RSV1 on a continuation frame fails with 1002", () => {
    const p = new WebSocketProtocol({ role: "client", deflate: deflateParams() });
    const ev = p.receive(hex("41 03 f2 48 cd c0 04 c9 c9 07 00"));
    assertEquals(simplify(ev), [["close", 1002, false]]);
  });
  await t.step("RSV1 on a control frame fails with 1002", () => {
    const p = new WebSocketProtocol({ role: "client", deflate: deflateParams() });
    assertEquals(simplify(p.receive(hex("c9 00"))), [["close", 1002, false]]);
  });
  await t.step("corrupt deflate data fails with 1007", () => {
    const p = new WebSocketProtocol({ role: "client", deflate: deflateParams() });
    assertEquals(simplify(p.receive(hex("c1 02 ff ff"))), [["close", 1007, false]]);
  });
  await t.step("a decompression bomb fails with 1009 at maxMessageSize", () => {
    const sender = new WebSocketProtocol({
      role: "server",
      deflate: deflateParams(),
      maxMessageSize: 1 << 30,
    });
    sender.send(new Uint8Array(8 << 20));
    const wire = concatBytes(...sender.takeOutput());
    assert(wire.length < 20000);
    const p = new WebSocketProtocol({
      role: "client",
      deflate: deflateParams(),
      maxMessageSize: 1 << 20,
    });
    assertEquals(simplify(p.receive(wire)), [["close", 1009, false]]);
  });
  await t.step("invalid UTF-8 inside compressed text fails with 1007", () => {
    const sender = new WebSocketProtocol({
      role: "server",
      deflate: deflateParams(),
      deflateOptions: { threshold: 0 },
    });
    sender.send(hex("ce ba e1 ff ff"), { binary: true });
    const wire = concatBytes(...sender.takeOutput());
    wire[0] = 0xc1; // Relabel as text.
    const p = new WebSocketProtocol({ role: "client", deflate: deflateParams() });
    assertEquals(simplify(p.receive(wire)), [["close", 1007, false]]);
  });
});

// === Handshake ===

Deno.test("acceptHandshake() refuses bad requests with the right status (RFC 6455 §4.2.1)", async (t) => {
  const cases: [string, string, number, Parameters<typeof acceptHandshake>[1]?][] = [
    ["POST", REQ.replace("GET", "POST"), 405],
    ["HTTP/1.0", REQ.replace("HTTP/1.1", "HTTP/1.0"), 400],
    ["no Host", REQ.replace("Host: server.example.com\r\n", ""), 400],
    ["no Upgrade", REQ.replace("Upgrade: websocket\r\n", ""), 426],
    ["Connection: close", REQ.replace("Connection: Upgrade", "Connection: close"), 400],
    ["no key", REQ.replace(/Sec-WebSocket-Key: .*\r\n/, ""), 400],
    ["short key", REQ.replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ=="), 400],
    ["version 8", REQ.replace("Version: 13", "Version: 8"), 426],
    ["no version", REQ.replace("Sec-WebSocket-Version: 13\r\n", ""), 400],
    ["origin refused", REQ, 403, { origins: ["https://good.example"] }],
  ];
  for (const [name, req, status, options] of cases) {
    await t.step(name, () => {
      const e = assertThrows(() => acceptHandshake(parseHttpRequest(req), options), HandshakeError);
      assertEquals(e.status, status);
      if (status === 426 && name === "version 8") {
        assertEquals(e.headers, [["Sec-WebSocket-Version", "13"]]);
      }
    });
  }
  await t.step("Connection with several tokens and mixed case is accepted", () => {
    const hs = acceptHandshake(
      parseHttpRequest(REQ.replace("Connection: Upgrade", "Connection: keep-alive, UPGRADE")),
      { origins: (o) => o === "http://example.com" },
    );
    assertEquals(hs.protocol, "");
  });
  await t.step("subprotocol chosen by the server's preference", () => {
    assertEquals(
      acceptHandshake(parseHttpRequest(REQ), { protocols: ["superchat", "chat"] }).protocol,
      "superchat",
    );
    assertEquals(acceptHandshake(parseHttpRequest(REQ), { protocols: ["sip"] }).protocol, "");
  });
});

Deno.test("parseHttpRequest() rejects malformed heads", async (t) => {
  for (
    const [name, head] of [
      ["bad request line", "GET /\r\n\r\n"],
      ["header without colon", "GET / HTTP/1.1\r\nHost\r\n\r\n"],
      ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n"],
      ["space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"],
      ["empty", ""],
    ]
  ) {
    await t.step(name!, () => void assertThrows(() => parseHttpRequest(head!), HandshakeError));
  }
  await t.step("too many header fields gives 431", () => {
    const head = "GET / HTTP/1.1\r\n" + "X-A: 1\r\n".repeat(101) + "\r\n";
    assertEquals(assertThrows(() => parseHttpRequest(head), HandshakeError).status, 431);
  });
});

Deno.test("verifyHandshake() rejects bad responses (RFC 6455 §4.1)", async (t) => {
  const hs = createHandshake("ws://h/", { key: "dGhlIHNhbXBsZSBub25jZQ==", protocols: ["chat"] });
  const ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
  assertEquals(verifyHandshake(hs, parseHttpResponse(ok + "\r\n")).protocol, "");
  const cases: [string, string][] = [
    ["status 200", ok.replace("101 Switching Protocols", "200 OK") + "\r\n"],
    ["wrong accept", ok.replace("s3pP", "AAAA") + "\r\n"],
    ["no Upgrade", ok.replace("Upgrade: websocket\r\n", "") + "\r\n"],
    ["no Connection", ok.replace("Connection: Upgrade\r\n", "") + "\r\n"],
    ["unoffered subprotocol", ok + "Sec-WebSocket-Protocol: superchat\r\n\r\n"],
    ["unoffered extension", ok + "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n"],
    [
      "deflate twice",
      ok + "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n\r\n",
    ],
    ["unknown deflate parameter", ok + "Sec-WebSocket-Extensions: permessage-deflate; x=1\r\n\r\n"],
    [
      "bad window bits",
      ok + "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n\r\n",
    ],
    [
      "client_max_window_bits without value",
      ok + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
    ],
  ];
  for (const [name, res] of cases) {
    await t.step(
      name,
      () => void assertThrows(() => verifyHandshake(hs, parseHttpResponse(res)), HandshakeError),
    );
  }
});

Deno.test("parseExtensions() and negotiateDeflate() follow RFC 6455 §9.1 and RFC 7692 §7.1", async (t) => {
  await t.step("quoted values and empty elements", () => {
    assertEquals(parseExtensions(' a ; b = "15" ,, c'), [
      { name: "a", params: [["b", "15"]] },
      { name: "c", params: [] },
    ]);
  });
  for (const bad of ["a;", "a b", 'a; b="x y"', "a; b=", ";"]) {
    await t.step(
      `rejects ${JSON.stringify(bad)}`,
      () => void assertThrows(() => parseExtensions(bad), HandshakeError),
    );
  }
  const table: [string, DeflateOptions, string | undefined][] = [
    ["permessage-deflate", {}, "permessage-deflate"],
    ["permessage-deflate; client_max_window_bits", {}, "permessage-deflate"],
    [
      "permessage-deflate; client_max_window_bits=10",
      {},
      "permessage-deflate; client_max_window_bits=10",
    ],
    [
      "permessage-deflate; server_no_context_takeover",
      {},
      "permessage-deflate; server_no_context_takeover",
    ],
    ["permessage-deflate; server_max_window_bits=8", {}, undefined],
    ["permessage-deflate; server_max_window_bits=8, permessage-deflate", {}, "permessage-deflate"],
    ["permessage-deflate; server_max_window_bits=16", {}, undefined],
    ["permessage-deflate; foo", {}, undefined],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", {}, undefined],
    ["permessage-deflate", { clientMaxWindowBits: 10 }, undefined],
    [
      "permessage-deflate; client_max_window_bits",
      { clientMaxWindowBits: 10 },
      "permessage-deflate; client_max_window_bits=10",
    ],
    [
      "permessage-deflate",
      { serverMaxWindowBits: 11, clientNoContextTakeover: true },
      "permessage-deflate; client_no_context_takeover; server_max_window_bits=11",
    ],
    ["x-webkit-deflate-frame", {}, undefined],
  ];
  for (const [offer, options, response] of table) {
    await t.step(`${offer} with ${JSON.stringify(options)}`, () => {
      const r = negotiateDeflate(parseExtensions(offer), options);
      assertEquals(
        r &&
          `${r.response.name}${
            r.response.params.map(([k, v]) => v === true ? `; ${k}` : `; ${k}=${v}`).join("")
          }`,
        response,
      );
    });
  }
});

Deno.test("close payloads follow RFC 6455 §5.5.1 and §7.4", () => {
  assertEquals(decodeClosePayload(encodeClosePayload(4000, "bye")), { code: 4000, reason: "bye" });
  assertThrows(() => encodeClosePayload(1005), RangeError);
  assertThrows(() => encodeClosePayload(1000, "x".repeat(124)), RangeError);
  assertThrows(() => encodeClosePayload(undefined, "x"), RangeError);
  const p = new WebSocketProtocol({ role: "client" });
  p.close(1000, "done");
  assertEquals(p.state, "closing");
  assertThrows(() => p.send("late"), DOMException);
  assertEquals(simplify(p.receive(hex("88 02 03 e8"))), [["close", 1000, true]]);
  assertEquals(p.state, "closed");
});

// === Property tests ===

Deno.test("decodeFrame(encodeFrame(f)) equals f (property)", () => {
  fc.assert(
    fc.property(
      fc.record({
        fin: fc.boolean(),
        rsv1: fc.boolean(),
        rsv2: fc.boolean(),
        rsv3: fc.boolean(),
        opcode: fc.integer({ min: 0, max: 15 }),
        mask: fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: undefined }),
        payload: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constant(new Uint8Array(70000))),
      }),
      (f) => {
        const b = encodeFrame(f);
        const d = decodeFrame(b)!;
        assertEquals(d.length, b.length);
        assertEquals(d.frame, { ...f });
        assertEquals(decodeFrame(b.subarray(0, b.length - 1)), null);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("WebSocketProtocol.receive() never throws on random input (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }),
      fc.boolean(),
      fc.boolean(),
      (chunks, client, deflate) => {
        const p = new WebSocketProtocol({
          role: client ? "client" : "server",
          maxMessageSize: 4096,
          ...(deflate ? { deflate: deflateParams() } : {}),
        });
        for (const c of chunks) {
          for (const e of p.receive(c)) {
            if (e.type === "error") assert(e.error instanceof WebSocketParseError);
          }
        }
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("decodeFrame() throws only WebSocketParseError on random input (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      try {
        decodeFrame(b);
      } catch (e) {
        assert(e instanceof WebSocketParseError);
      }
    }),
  );
});

Deno.test("whatever a server sends, a client reads back (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 })), {
        maxLength: 10,
      }),
      fc.integer({ min: 1, max: 50 }),
      fc.boolean(),
      (msgs, frag, deflate) => {
        const params = deflate ? { deflate: deflateParams() } : {};
        const server = new WebSocketProtocol({ role: "server", fragmentSize: frag, ...params });
        const client = new WebSocketProtocol({ role: "client", ...params });
        for (const m of msgs) server.send(m);
        const ev = server.takeOutput().flatMap((c) => client.receive(c));
        assertEquals(ev, msgs.map((data) => ({ type: "message", data })));
      },
    ),
    { numRuns: 200 },
  );
});

// === Loopback sockets ===

Deno.test("WebSocketProtocol lets the application answer messages that precede a Close frame (RFC 6455 §5.5.1)", () => {
  const p = new WebSocketProtocol({ role: "server" });
  const wire = concatBytes(
    peerBytes({ op: 1, data: "last words" }, "server"),
    peerBytes({ op: 8, data: closePayload(1000, "bye") }, "server"),
  );
  const events = p.receive(wire);
  assertEquals(simplify(events), [["message", "last words"], ["close", 1000, true]]);
  assert(p.canSend);
  p.send("reply");
  assertEquals(sentFrames(p.takeOutput(), "server"), [[1, "reply"], [8, 1000]]);
  assert(!p.canSend);
  assertThrows(() => p.send("late"), DOMException);
});

Deno.test("WebSocketProtocol fails a message of too many frames with 1009 (RFC 6455 §10.4)", () => {
  const p = new WebSocketProtocol({ role: "server", maxFragments: 3 });
  const ok = p.receive(concatBytes(
    peerBytes({ op: 2, data: new Uint8Array([1]), fin: false }, "server"),
    peerBytes({ op: 0, data: new Uint8Array(0), fin: false }, "server"),
    peerBytes({ op: 0, data: new Uint8Array([2]), fin: true }, "server"),
  ));
  assertEquals(simplify(ok), [["message", new Uint8Array([1, 2])]]);
  const events = p.receive(concatBytes(
    peerBytes({ op: 2, data: new Uint8Array([1]), fin: false }, "server"),
    ...Array.from({ length: 5 }, () => peerBytes({ op: 0, fin: false }, "server")),
  ));
  const error = events.find((e) => e.type === "error");
  assert(error?.type === "error");
  assertEquals(error.error.closeCode, 1009);
  assertEquals(p.state, "closed");
});
