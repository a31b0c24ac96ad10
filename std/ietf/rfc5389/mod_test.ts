// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { fromHex, toHex } from "@rtclite/std/bytes";
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  addressAttribute,
  algorithmsAttribute,
  createMessage,
  decodeAddress,
  decodeStun,
  decodeXorAddress,
  encodeAddress,
  encodedStunLength,
  encodeStun,
  encodeStunInto,
  encodeXorAddress,
  errorCodeAttribute,
  getAddress,
  getAttribute,
  getErrorCode,
  getText,
  getUnknownAttributes,
  isStun,
  LongTermCredentials,
  longTermKey,
  messageType,
  nonceFeatures,
  PasswordAlgorithm,
  shortTermKey,
  StunAttr,
  StunClass,
  StunClientTransaction,
  type StunMessage,
  StunMethod,
  StunParseError,
  StunServer,
  textAttribute,
  type TransportAddress,
  userHash,
  verifyIntegrity,
} from "./mod.ts";

interface Vector {
  name: string;
  hex: string;
  password: string;
  username?: string;
  software?: string;
  realm?: string;
  nonce?: string;
  mapped?: TransportAddress;
}
const vectors: Vector[] = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/rfc5769.json", import.meta.url)),
).vectors;
const FROM: TransportAddress = { family: 4, address: "192.0.2.1", port: 32853 };

Deno.test("RFC 5769 test vectors decode, verify and re-encode byte for byte (RFC 5769 §2)", async (t) => {
  const [req, v4, v6, lt] = vectors as [Vector, Vector, Vector, Vector];
  await t.step(req.name, () => {
    const bytes = fromHex(req.hex.replace(/\s/g, ""));
    const msg = decodeStun(bytes);
    equal(msg.method, StunMethod.Binding);
    equal(msg.class, StunClass.Request);
    equal(getText(msg, StunAttr.SOFTWARE), req.software);
    equal(getText(msg, StunAttr.USERNAME), req.username);
    equal(verifyIntegrity(msg, shortTermKey(req.password)), "sha1");
    equal(verifyIntegrity(msg, shortTermKey("wrong")), false);
    const attrs = msg.attributes.filter((a) =>
      a.type !== StunAttr.MESSAGE_INTEGRITY && a.type !== StunAttr.FINGERPRINT
    );
    const again = encodeStun(createMessage(msg.method, msg.class, attrs, msg.transactionId), {
      integrity: shortTermKey(req.password),
      fingerprint: true,
      padding: 0x20,
    });
    equal(toHex(again), toHex(bytes));
  });
  for (const v of [v4, v6]) {
    await t.step(v.name, () => {
      const bytes = fromHex(v.hex.replace(/\s/g, ""));
      const msg = decodeStun(bytes);
      equal(msg.class, StunClass.SuccessResponse);
      deepEqual(getAddress(msg, StunAttr.XOR_MAPPED_ADDRESS), v.mapped);
      equal(verifyIntegrity(msg, shortTermKey(v.password)), "sha1");
      const again = encodeStun(
        createMessage(StunMethod.Binding, StunClass.SuccessResponse, [
          textAttribute(StunAttr.SOFTWARE, v.software!),
          addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, v.mapped!, msg.transactionId),
        ], msg.transactionId),
        { integrity: shortTermKey(v.password), fingerprint: true, padding: 0x20 },
      );
      equal(toHex(again), toHex(bytes));
    });
  }
  await t.step(lt.name, () => {
    const bytes = fromHex(lt.hex.replace(/\s/g, ""));
    const msg = decodeStun(bytes);
    const key = longTermKey(lt.username!, lt.realm!, lt.password);
    equal(getText(msg, StunAttr.USERNAME), lt.username);
    equal(getText(msg, StunAttr.NONCE), lt.nonce);
    equal(verifyIntegrity(msg, key), "sha1");
    const again = encodeStun(
      createMessage(StunMethod.Binding, StunClass.Request, [
        textAttribute(StunAttr.USERNAME, lt.username!),
        textAttribute(StunAttr.NONCE, lt.nonce!),
        textAttribute(StunAttr.REALM, lt.realm!),
      ], msg.transactionId),
      { integrity: key },
    );
    equal(toHex(again), toHex(bytes));
  });
});

Deno.test("RFC 8489 Appendix B.1: USERHASH and MESSAGE-INTEGRITY-SHA256 (published erratum in the length)", () => {
  const v = vectors[4]!;
  const bytes = fromHex(v.hex.replace(/\s/g, ""));
  // The printed header length (0x9c) disagrees with the 136 bytes printed after the header.
  throws(() => decodeStun(bytes), StunParseError);
  equal(toHex(bytes.subarray(24, 56)), toHex(userHash(v.username!, v.realm!)));
  const key = longTermKey(v.username!, v.realm!, v.password, PasswordAlgorithm.SHA256);
  // The published HMAC is over the printed bytes with the printed length, keyed with SHA-256.
  equal(toHex(hmac(sha256, key, bytes.subarray(0, 120))), toHex(bytes.subarray(124)));
  // Our encoder produces the same attributes; with the consistent length it verifies.
  const msg = createMessage(StunMethod.Binding, StunClass.Request, [
    { type: StunAttr.USERHASH, value: userHash(v.username!, v.realm!) },
    textAttribute(StunAttr.NONCE, v.nonce!),
    textAttribute(StunAttr.REALM, v.realm!),
  ], bytes.subarray(8, 20));
  const ours = encodeStun(msg, { integritySha256: key });
  equal(toHex(ours.subarray(4, 120)), toHex(bytes.subarray(4, 120)));
  equal(ours[3], 0x88);
  equal(verifyIntegrity(decodeStun(ours), key), "sha256");
});

Deno.test("messageType() encodes every method/class pair and decodeStun() reads it back (RFC 8489 §5)", () => {
  equal(messageType(StunMethod.Binding, StunClass.Request), 0x0001);
  equal(messageType(StunMethod.Binding, StunClass.Indication), 0x0011);
  equal(messageType(StunMethod.Binding, StunClass.ErrorResponse), 0x0111);
  equal(messageType(StunMethod.Allocate, StunClass.SuccessResponse), 0x0103);
  for (const method of [0, 1, 0x0f, 0x70, 0xf80, 0xfff, 0xabc]) {
    for (const cls of [0, 1, 2, 3] as const) {
      const m = decodeStun(encodeStun(createMessage(method, cls)));
      equal(m.method, method);
      equal(m.class, cls);
    }
  }
  throws(() => messageType(0x1000, 0), RangeError);
});

Deno.test("address attributes: IPv4, IPv6 text forms, XOR with the transaction ID (RFC 8489 §14.1-14.2)", () => {
  const tid = fromHex("b7e7a701bc34d686fa87dfae");
  for (
    const [text, norm] of [
      ["2001:db8::1", "2001:db8::1"],
      ["::", "::"],
      ["::1", "::1"],
      ["2001:0db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["fe80::1%eth0", "fe80::1"],
      ["::ffff:192.0.2.1", "::ffff:c000:201"],
    ]
  ) {
    const a: TransportAddress = { family: 6, address: text!, port: 9 };
    equal(decodeAddress(encodeAddress(a)).address, norm);
    equal(decodeXorAddress(encodeXorAddress(a, tid), tid).address, norm);
  }
  throws(() => encodeAddress({ family: 4, address: "1.2.3", port: 1 }), TypeError);
  throws(() => encodeAddress({ family: 6, address: "1::2::3", port: 1 }), TypeError);
  throws(() => encodeAddress({ family: 4, address: "1.2.3.4", port: 70000 }), RangeError);
  throws(() => decodeAddress(Uint8Array.of(0, 3, 0, 1, 1, 2, 3, 4)), StunParseError);
  throws(() => decodeAddress(Uint8Array.of(0, 2, 0, 1, 1, 2, 3, 4)), StunParseError);
});

Deno.test("decode(encode(x)) equals x for random messages (property)", () => {
  const attr = fc.record({
    type: fc.integer({ min: 0, max: 0xffff }).filter((t) =>
      t !== StunAttr.MESSAGE_INTEGRITY && t !== StunAttr.MESSAGE_INTEGRITY_SHA256 &&
      t !== StunAttr.FINGERPRINT
    ),
    value: fc.uint8Array({ maxLength: 40 }),
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xfff }),
      fc.constantFrom(0, 1, 2, 3),
      fc.uint8Array({ minLength: 12, maxLength: 12 }),
      fc.array(attr, { maxLength: 8 }),
      fc.boolean(),
      (method, cls, tid, attributes, fp) => {
        const msg = createMessage(method, cls as StunClass, attributes, tid);
        const bytes = encodeStun(
          msg,
          fp ? { fingerprint: true, integrity: shortTermKey("k") } : {},
        );
        equal(
          bytes.length,
          encodedStunLength(msg, fp ? { fingerprint: true, integrity: shortTermKey("k") } : {}),
        );
        ok(isStun(bytes));
        const back = decodeStun(bytes);
        equal(back.method, method);
        equal(back.class, cls);
        deepEqual([...back.transactionId], [...tid]);
        const plain = back.attributes.filter((a) =>
          a.type !== StunAttr.MESSAGE_INTEGRITY && a.type !== StunAttr.FINGERPRINT
        );
        deepEqual(
          plain.map((a) => [a.type, [...a.value]]),
          attributes.map((a) => [a.type, [...a.value]]),
        );
        if (fp) equal(verifyIntegrity(back, shortTermKey("k")), "sha1");
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("decodeStun() throws only StunParseError on random and mutated input (fuzz)", () => {
  const valid = encodeStun(
    createMessage(StunMethod.Binding, StunClass.Request, [
      textAttribute(StunAttr.USERNAME, "alice"),
    ]),
    { integrity: shortTermKey("pw"), fingerprint: true },
  );
  const check = (bytes: Uint8Array) => {
    try {
      const m = decodeStun(bytes, { classic: true });
      // whatever decodes can be inspected without crashing
      for (const t of [StunAttr.XOR_MAPPED_ADDRESS, StunAttr.MAPPED_ADDRESS]) {
        try {
          getAddress(m, t);
        } catch (e) {
          ok(e instanceof StunParseError, String(e));
        }
      }
    } catch (e) {
      ok(e instanceof StunParseError, String(e));
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (b) => check(b)), { numRuns: 500 });
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: valid.length - 1 }),
      fc.integer({ min: 1, max: 255 }),
      (i, x) => {
        const b = valid.slice();
        b[i]! ^= x;
        check(b);
        // A flipped bit before the FINGERPRINT attribute is caught by it (or the header checks),
        // unless it lengthened an attribute so that the FINGERPRINT became part of its value.
        if (i < valid.length - 8) {
          try {
            const m = decodeStun(b);
            equal(getAttribute(m, StunAttr.FINGERPRINT), undefined, `byte ${i} ^ ${x} decoded`);
          } catch (e) {
            ok(e instanceof StunParseError, String(e));
          }
        }
      },
    ),
    { numRuns: 300 },
  );
  for (let n = 0; n < valid.length; n++) check(valid.subarray(0, n));
});

Deno.test("integrity: wrong key, tampering and missing attributes are rejected (RFC 8489 §14.5-14.7)", () => {
  const key = longTermKey("u", "r", "p");
  const msg = createMessage(StunMethod.Binding, StunClass.Request, [
    textAttribute(StunAttr.USERNAME, "u"),
  ]);
  const both = decodeStun(
    encodeStun(msg, { integrity: key, integritySha256: key, fingerprint: true }),
  );
  equal(verifyIntegrity(both, key), "sha256");
  equal(verifyIntegrity(both, longTermKey("u", "r", "q")), false);
  const truncated = decodeStun(encodeStun(msg, { integritySha256: key, sha256Length: 16 }));
  equal(verifyIntegrity(truncated, key), "sha256");
  equal(verifyIntegrity(decodeStun(encodeStun(msg)), key), false);
  // Without FINGERPRINT, a tampered attribute decodes but fails the integrity check.
  const bytes = encodeStun(msg, { integrity: key });
  bytes[24]! ^= 1;
  equal(verifyIntegrity(decodeStun(bytes), key), false);
  // Attributes after MESSAGE-INTEGRITY (other than -SHA256 and FINGERPRINT) are ignored (§9).
  const after = encodeStun(
    createMessage(1, 0, [
      { type: StunAttr.MESSAGE_INTEGRITY, value: new Uint8Array(20) },
      textAttribute(StunAttr.SOFTWARE, "x"),
    ]),
  );
  deepEqual(decodeStun(after).attributes.map((a) => a.type), [StunAttr.MESSAGE_INTEGRITY]);
  throws(() => encodeStun(msg, { integritySha256: key, sha256Length: 18 }), RangeError);
});

Deno.test("text and error attributes enforce their limits (RFC 8489 §14.3, §14.8)", () => {
  throws(() => textAttribute(StunAttr.USERNAME, "a".repeat(509)), RangeError);
  equal(textAttribute(StunAttr.USERNAME, "a".repeat(508)).value.length, 508);
  throws(() => textAttribute(StunAttr.REALM, "é".repeat(128)), RangeError);
  throws(() => errorCodeAttribute(299), RangeError);
  const m = createMessage(1, 3, [errorCodeAttribute(420, "Unknown"), {
    type: StunAttr.USERNAME,
    value: Uint8Array.of(0xff),
  }]);
  deepEqual(getErrorCode(m), { code: 420, reason: "Unknown" });
  throws(() => getText(m, StunAttr.USERNAME), StunParseError);
  throws(
    () =>
      getErrorCode(
        createMessage(1, 3, [{ type: StunAttr.ERROR_CODE, value: Uint8Array.of(0, 0, 2, 0) }]),
      ),
    StunParseError,
  );
});

// --- server ---

function ask(
  server: StunServer,
  msg: StunMessage,
  opts = {},
  from = FROM,
): StunMessage | undefined {
  const reply = server.handle(encodeStun(msg, opts), from);
  return reply ? decodeStun(reply, { classic: true }) : undefined;
}

Deno.test("StunServer answers Binding, 420 for unknown comprehension-required attributes (RFC 8489 §6.3.1)", () => {
  const server = new StunServer({ software: "rtclite test" });
  const req = createMessage(StunMethod.Binding, StunClass.Request, [
    { type: 0x7777, value: new Uint8Array(4) },
    { type: 0x8777, value: new Uint8Array(4) },
    { type: 0x0024, value: new Uint8Array(4) },
  ]);
  const res = ask(server, req, { fingerprint: true })!;
  equal(res.class, StunClass.ErrorResponse);
  equal(getErrorCode(res)?.code, 420);
  deepEqual(getUnknownAttributes(res), [0x7777, 0x0024]);
  ok(res.attributes.some((a) => a.type === StunAttr.FINGERPRINT));
  equal(toHex(res.transactionId), toHex(req.transactionId));
  const ok1 = ask(
    server,
    createMessage(StunMethod.Binding, StunClass.Request, [{
      type: 0x8777,
      value: new Uint8Array(1),
    }]),
  )!;
  equal(ok1.class, StunClass.SuccessResponse);
  deepEqual(getAddress(ok1, StunAttr.XOR_MAPPED_ADDRESS), FROM);
  equal(getText(ok1, StunAttr.SOFTWARE), "rtclite test");
  // Indications, responses, unknown methods and garbage get no answer.
  equal(ask(server, createMessage(StunMethod.Binding, StunClass.Indication)), undefined);
  equal(ask(server, createMessage(StunMethod.Binding, StunClass.SuccessResponse)), undefined);
  equal(ask(server, createMessage(0x0abc, StunClass.Request)), undefined);
  equal(server.handle(new Uint8Array(7), FROM), undefined);
  // A request whose FINGERPRINT is wrong is not answered.
  const bad = encodeStun(createMessage(1, 0), { fingerprint: true });
  bad[bad.length - 1]! ^= 1;
  equal(server.handle(bad, FROM), undefined);
  // RFC 3489 client (no magic cookie): MAPPED-ADDRESS (RFC 5389 §12.2).
  const classic = ask(server, createMessage(1, 0, [], new Uint8Array(16).fill(3)))!;
  deepEqual(getAddress(classic, StunAttr.MAPPED_ADDRESS), FROM);
});

Deno.test("StunServer: an RFC 3489 message never skips authentication (issue 18 item 13, RFC 8489 §11)", () => {
  const tid = () => crypto.getRandomValues(new Uint8Array(16));
  const handlers = { [StunMethod.Allocate]: () => ({ attributes: [] }) };
  const open = new StunServer({ handlers });
  // Without credentials: a classic Binding request is answered, nothing else without the cookie.
  ok(ask(open, createMessage(StunMethod.Binding, StunClass.Request, [], tid())));
  equal(ask(open, createMessage(StunMethod.Allocate, StunClass.Request, [], tid())), undefined);
  equal(ask(open, createMessage(StunMethod.Binding, StunClass.Indication, [], tid())), undefined);
  // With credentials: the classic Binding is dropped (it cannot authenticate), the modern one
  // challenged.
  const locked = new StunServer({
    handlers,
    auth: { mechanism: "long-term", realm: "r", password: () => "p" },
  });
  for (const method of [StunMethod.Binding, StunMethod.Allocate]) {
    equal(ask(locked, createMessage(method, StunClass.Request, [], tid())), undefined);
    equal(getErrorCode(ask(locked, createMessage(method, StunClass.Request))!)?.code, 401);
  }
  // `classic: false` drops every message without the cookie.
  equal(
    ask(new StunServer({ classic: false }), createMessage(1, 0, [], tid())),
    undefined,
  );
});

Deno.test("StunServer with short-term credentials: 400, 401, and signed answers (RFC 8489 §9.1.3)", () => {
  const server = new StunServer({
    auth: { mechanism: "short-term", password: (u) => u === "alice" ? "pw" : undefined },
  });
  const user = (u: string) => createMessage(1, 0, [textAttribute(StunAttr.USERNAME, u)]);
  equal(getErrorCode(ask(server, createMessage(1, 0))!)?.code, 400);
  equal(getErrorCode(ask(server, user("alice"))!)?.code, 400);
  equal(getErrorCode(ask(server, user("bob"), { integrity: shortTermKey("pw") })!)?.code, 401);
  const wrong = ask(server, user("alice"), { integrity: shortTermKey("nope") })!;
  equal(getErrorCode(wrong)?.code, 401);
  equal(verifyIntegrity(wrong, shortTermKey("pw")), false);
  const sha1 = ask(server, user("alice"), { integrity: shortTermKey("pw") })!;
  equal(sha1.class, StunClass.SuccessResponse);
  equal(verifyIntegrity(sha1, shortTermKey("pw")), "sha1");
  const s256 = ask(server, user("alice"), {
    integrity: shortTermKey("pw"),
    integritySha256: shortTermKey("pw"),
  })!;
  equal(verifyIntegrity(s256, shortTermKey("pw")), "sha256");
  equal(getText(s256, StunAttr.USERNAME), undefined);
});

Deno.test("long-term credentials: challenge, retry, stale nonce, password algorithms, USERHASH (RFC 8489 §9.2)", async (t) => {
  let now = 1_000_000;
  const users: Record<string, string> = { alice: "secret" };
  const make = (extra: { passwordAlgorithms?: boolean; usernames?: () => string[] } = {}) =>
    new StunServer({
      now: () => now,
      auth: {
        mechanism: "long-term",
        realm: "example.org",
        password: (u) => users[u],
        nonceLifetime: 60_000,
        ...extra,
      },
    });
  const exchange = (server: StunServer, creds: LongTermCredentials) => {
    const log: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { message, options } = creds.sign(createMessage(StunMethod.Binding, StunClass.Request));
      const res = ask(server, message, options)!;
      const code = getErrorCode(res)?.code ?? 200;
      log.push(code);
      if (res.class === StunClass.SuccessResponse) {
        ok(creds.verify(res));
        break;
      }
      if (!creds.onErrorResponse(res)) break;
    }
    return log;
  };
  await t.step("MD5 key and MESSAGE-INTEGRITY", () => {
    const server = make();
    const creds = new LongTermCredentials({ username: "alice", password: "secret" });
    deepEqual(exchange(server, creds), [401, 200]);
    equal(creds.realm, "example.org");
    now += 61_000; // nonce expires
    deepEqual(exchange(server, creds), [438, 200]);
  });
  await t.step("wrong password: 401 twice, then no retry", () => {
    const creds = new LongTermCredentials({ username: "alice", password: "bad" });
    deepEqual(exchange(make(), creds), [401, 401]);
  });
  await t.step("PASSWORD-ALGORITHMS: SHA-256 key and MESSAGE-INTEGRITY-SHA256", () => {
    const server = make({ passwordAlgorithms: true });
    const creds = new LongTermCredentials({ username: "alice", password: "secret" });
    deepEqual(exchange(server, creds), [401, 200]);
    const { message, options } = creds.sign(createMessage(1, 0));
    ok(options.integritySha256);
    equal(
      toHex(options.integritySha256!),
      toHex(longTermKey("alice", "example.org", "secret", PasswordAlgorithm.SHA256)),
    );
    ok(nonceFeatures(getText(message, StunAttr.NONCE)!)! & 0x800000);
    // Removing PASSWORD-ALGORITHMS from the retry (a bid-down) gives 400.
    const stripped = {
      ...message,
      attributes: message.attributes.filter((a) => a.type !== StunAttr.PASSWORD_ALGORITHMS),
    };
    equal(getErrorCode(ask(server, stripped, options)!)?.code, 400);
  });
  await t.step("USERHASH when the server offers username anonymity", () => {
    const server = make({ usernames: () => Object.keys(users) });
    const creds = new LongTermCredentials({ username: "alice", password: "secret", sha256: true });
    deepEqual(exchange(server, creds), [401, 200]);
    const { message } = creds.sign(createMessage(1, 0));
    equal(getText(message, StunAttr.USERNAME), undefined);
    ok(message.attributes.some((a) => a.type === StunAttr.USERHASH));
  });
  await t.step(
    "missing REALM or NONCE with integrity gives 400; a nonce for another address is refused",
    () => {
      const server = make();
      const creds = new LongTermCredentials({ username: "alice", password: "secret" });
      exchange(server, creds);
      const { message, options } = creds.sign(createMessage(1, 0));
      const noRealm = {
        ...message,
        attributes: message.attributes.filter((a) => a.type !== StunAttr.REALM),
      };
      equal(getErrorCode(ask(server, noRealm, options)!)?.code, 400);
      const other = ask(server, message, options, { family: 4, address: "192.0.2.99", port: 1 })!;
      equal(getErrorCode(other)?.code, 438);
    },
  );
  await t.step("PASSWORD-ALGORITHMS with nothing supported: no retry", () => {
    const creds = new LongTermCredentials({ username: "alice", password: "x" });
    const res = createMessage(1, 3, [
      errorCodeAttribute(401),
      textAttribute(StunAttr.REALM, "r"),
      textAttribute(StunAttr.NONCE, "obMatJos2gAAAabc"),
      algorithmsAttribute(StunAttr.PASSWORD_ALGORITHMS, [0x7000]),
    ]);
    equal(creds.onErrorResponse(res), false);
    const noAlgs = createMessage(1, 3, [
      errorCodeAttribute(401),
      textAttribute(StunAttr.REALM, "r"),
      textAttribute(StunAttr.NONCE, "obMatJos2gAAAabc"),
    ]);
    equal(creds.onErrorResponse(noAlgs), false);
  });
});

Deno.test("StunClientTransaction: Rc, Rm, reliable Ti and Karn's rule (RFC 8489 §6.2.1)", () => {
  const t = new StunClientTransaction(new Uint8Array(20), 0, { rto: 100, rc: 3, rm: 4 });
  equal(t.deadline, 100);
  equal(t.onTimeout(50), undefined);
  ok(t.onTimeout(100));
  equal(t.deadline, 300);
  ok(t.onTimeout(300));
  equal(t.deadline, 700); // last request: wait Rm * RTO
  equal(t.onTimeout(700), undefined);
  equal(t.state, "timeout");
  const r = new StunClientTransaction(new Uint8Array(20), 0, { reliable: true });
  equal(r.deadline, 39_500);
  const k = new StunClientTransaction(new Uint8Array(20), 10);
  equal(k.complete(30), 20);
  const k2 = new StunClientTransaction(new Uint8Array(20), 0);
  k2.onTimeout(500);
  equal(k2.complete(600), undefined);
});

Deno.test("StunServer never throws and never answers garbage as valid (fuzz)", () => {
  const server = new StunServer({
    auth: { mechanism: "long-term", realm: "r", password: () => "p", passwordAlgorithms: true },
  });
  const valid = encodeStun(
    createMessage(StunMethod.Binding, StunClass.Request, [textAttribute(StunAttr.USERNAME, "u")]),
    { integrity: longTermKey("u", "r", "p"), fingerprint: true },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
      const reply = server.handle(b, FROM);
      // Whatever is answered is an error response (nothing random authenticates).
      if (reply) equal(decodeStun(reply, { classic: true }).class, StunClass.ErrorResponse);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: valid.length - 1 }),
      fc.integer({ min: 1, max: 255 }),
      (i, x) => {
        const b = valid.slice();
        b[i]! ^= x;
        const reply = server.handle(b, FROM);
        if (reply) equal(decodeStun(reply, { classic: true }).class, StunClass.ErrorResponse);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("getErrorCode() leaves out the NUL padding coturn puts inside the length, the bytes stay", () => {
  const reason = new TextEncoder().encode("Unauthorized");
  const value = Uint8Array.of(0, 0, 4, 1, ...reason, 0, 0, 0, 0);
  const msg = createMessage(StunMethod.Binding, StunClass.ErrorResponse, [
    { type: StunAttr.ERROR_CODE, value },
  ]);
  const back = decodeStun(encodeStun(msg));
  deepEqual(getErrorCode(back), { code: 401, reason: "Unauthorized" });
  deepEqual([...getAttribute(back, StunAttr.ERROR_CODE)!], [...value]);
  // A NUL inside the phrase is kept; only the trailing run goes.
  const inner = Uint8Array.of(0, 0, 5, 0, 0x61, 0, 0x62, 0);
  const one = createMessage(1, StunClass.ErrorResponse, [{
    type: StunAttr.ERROR_CODE,
    value: inner,
  }]);
  equal(getErrorCode(one)?.reason, "a\0b");
});

Deno.test("encodeStunInto() at an offset writes encodeStun()'s bytes; a key changed in place is keyed again (RFC 8489 §14.5-14.7)", () => {
  const tid = fromHex("b7e7a701bc34d686fa87dfae");
  const msg = createMessage(StunMethod.Binding, StunClass.SuccessResponse, [
    textAttribute(StunAttr.SOFTWARE, "test vector"),
    addressAttribute(
      StunAttr.XOR_MAPPED_ADDRESS,
      { family: 4, address: "192.0.2.1", port: 32853 },
      tid,
    ),
  ], tid);
  const key = shortTermKey("VOkJxbRl1RmTxUk/WvJxBt");
  const options = { integrity: key, integritySha256: key, sha256Length: 16, fingerprint: true };
  const expected = encodeStun(msg, options).slice();
  for (const offset of [0, 1, 7]) {
    const buf = new Uint8Array(offset + expected.length + 3).fill(0xee);
    equal(encodeStunInto(msg, buf, offset, options), expected.length);
    deepEqual(buf.subarray(offset, offset + expected.length), expected);
    equal(buf[offset + expected.length], 0xee);
    const decoded = decodeStun(buf.subarray(offset, offset + expected.length));
    equal(verifyIntegrity(decoded, key), "sha256");
  }
  const changed = key.slice();
  const before = encodeStun(msg, { integrity: changed }).slice();
  changed[0]! ^= 1;
  const after = decodeStun(encodeStun(msg, { integrity: changed }));
  equal(verifyIntegrity(after, changed), "sha1");
  ok(toHex(after.raw!) !== toHex(before));
});
