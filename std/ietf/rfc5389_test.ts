// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import fc from "fast-check";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { interopTest, run, startPeer } from "@rtclite/testing";
import {
  addressAttribute,
  algorithmsAttribute,
  createMessage,
  decodeAddress,
  decodeStun,
  decodeXorAddress,
  encodeAddress,
  encodedLength,
  encodeStun,
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
  serveStunUdp,
  shortTermKey,
  StunAttr,
  StunClass,
  StunClient,
  StunClientTransaction,
  type StunMessage,
  StunMethod,
  StunParseError,
  StunServer,
  StunTransactionError,
  textAttribute,
  type TransportAddress,
  userHash,
  verifyIntegrity,
} from "./rfc5389.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) =>
  Uint8Array.from(s.replace(/\s/g, "").match(/../g)!.map((x) => parseInt(x, 16)));

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
  await Deno.readTextFile(new URL("./testdata/rfc5769.json", import.meta.url)),
).vectors;
const FROM: TransportAddress = { family: 4, address: "192.0.2.1", port: 32853 };

Deno.test("RFC 5769 test vectors decode, verify and re-encode byte for byte (RFC 5769 §2)", async (t) => {
  const [req, v4, v6, lt] = vectors as [Vector, Vector, Vector, Vector];
  await t.step(req.name, () => {
    const bytes = unhex(req.hex);
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
    equal(hex(again), hex(bytes));
  });
  for (const v of [v4, v6]) {
    await t.step(v.name, () => {
      const bytes = unhex(v.hex);
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
      equal(hex(again), hex(bytes));
    });
  }
  await t.step(lt.name, () => {
    const bytes = unhex(lt.hex);
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
    equal(hex(again), hex(bytes));
  });
});

Deno.test("RFC 8489 Appendix B.1: USERHASH and MESSAGE-INTEGRITY-SHA256 (published erratum in the length)", () => {
  const v = vectors[4]!;
  const bytes = unhex(v.hex);
  // The printed header length (0x9c) disagrees with the 136 bytes printed after the header.
  throws(() => decodeStun(bytes), StunParseError);
  equal(hex(bytes.subarray(24, 56)), hex(userHash(v.username!, v.realm!)));
  const key = longTermKey(v.username!, v.realm!, v.password, PasswordAlgorithm.SHA256);
  // The published HMAC is over the printed bytes with the printed length, keyed with SHA-256.
  equal(hex(hmac(sha256, key, bytes.subarray(0, 120))), hex(bytes.subarray(124)));
  // Our encoder produces the same attributes; with the consistent length it verifies.
  const msg = createMessage(StunMethod.Binding, StunClass.Request, [
    { type: StunAttr.USERHASH, value: userHash(v.username!, v.realm!) },
    textAttribute(StunAttr.NONCE, v.nonce!),
    textAttribute(StunAttr.REALM, v.realm!),
  ], bytes.subarray(8, 20));
  const ours = encodeStun(msg, { integritySha256: key });
  equal(hex(ours.subarray(4, 120)), hex(bytes.subarray(4, 120)));
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
  const tid = unhex("b7e7a701bc34d686fa87dfae");
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
          encodedLength(msg, fp ? { fingerprint: true, integrity: shortTermKey("k") } : {}),
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
  equal(hex(res.transactionId), hex(req.transactionId));
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
      hex(options.integritySha256!),
      hex(longTermKey("alice", "example.org", "secret", PasswordAlgorithm.SHA256)),
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

Deno.test("StunClient over UDP: long-term credentials with SHA-256, timeout, discarded forged responses", async () => {
  await using srv = await serveStunUdp(
    new StunServer({
      auth: {
        mechanism: "long-term",
        realm: "rtclite",
        password: (u) => u === "u" ? "p" : undefined,
        passwordAlgorithms: true,
      },
    }),
    { hostname: "127.0.0.1", port: 0 },
  );
  {
    await using client = await StunClient.open({
      hostname: "127.0.0.1",
      credentials: new LongTermCredentials({ username: "u", password: "p" }),
    });
    const mapped = await client.binding(srv.address);
    equal(mapped.port, client.address.port);
  }
  {
    await using client = await StunClient.open({
      hostname: "127.0.0.1",
      credentials: new LongTermCredentials({ username: "u", password: "bad" }),
    });
    const e = await rejects(client.binding(srv.address), StunTransactionError) as unknown;
    void e;
  }
  // A silent server: the transaction times out after Rc sends and Rm*RTO.
  await using silent = await StunClient.open({ hostname: "127.0.0.1" });
  await using client = await StunClient.open({ hostname: "127.0.0.1", rto: 20, rc: 2, rm: 2 });
  const started = performance.now();
  await rejects(
    client.binding(silent.address),
    (e: unknown) => e instanceof StunTransactionError && e.reason === "timeout",
  );
  ok(performance.now() - started >= 55);
  // A responder with the wrong key: responses are discarded and the failure says "integrity".
  silent.onMessage = (data, from) => {
    const req = decodeStun(data);
    const forged = createMessage(req.method, StunClass.SuccessResponse, [
      addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, from, req.transactionId),
    ], req.transactionId);
    silent.send(encodeStun(forged, { integrity: shortTermKey("not the password") }), from);
  };
  await using st = await StunClient.open({
    hostname: "127.0.0.1",
    rto: 20,
    rc: 2,
    rm: 2,
    shortTerm: { username: "u", password: "pw" },
  });
  await rejects(
    st.binding(silent.address),
    (e: unknown) => e instanceof StunTransactionError && e.reason === "integrity",
  );
});

// --- interop with coturn (turnserver 4.6, ports 13400-13499) ---

const COTURN = [{ bin: "turnserver", apt: "coturn" }];

function coturnArgs(port: number, extra: string[] = []): string[] {
  const dir = Deno.makeTempDirSync({ prefix: "rtclite-coturn-" });
  return [
    "-n",
    "--no-cli",
    "--no-tls",
    "--no-dtls",
    "--listening-ip=127.0.0.1",
    "--relay-ip=127.0.0.1",
    `--listening-port=${port}`,
    "--min-port=13440",
    "--max-port=13469",
    "--lt-cred-mech",
    "--user=test:secret",
    "--realm=test.local",
    "--allow-loopback-peers",
    `--db=${dir}/turndb`,
    `--pidfile=${dir}/turnserver.pid`,
    "--log-file=stdout",
    "--simple-log",
    ...extra,
  ];
}

async function waitForUdp(port: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const { stdout } = await run("ss", ["-Hlnu", `sport = :${port}`], { stdout: "piped" });
    if (stdout.trim()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Nothing listens on UDP ${port}`);
}

interopTest(
  "coturn answers our Binding requests with long-term SHA-1 integrity",
  COTURN,
  async () => {
    await using _coturn = startPeer("turnserver", coturnArgs(13478, ["--secure-stun"]));
    await waitForUdp(13478);
    const server: TransportAddress = { family: 4, address: "127.0.0.1", port: 13478 };
    {
      await using anon = await StunClient.open({ hostname: "127.0.0.1" });
      const e = await rejects(anon.binding(server), StunTransactionError) as unknown;
      void e;
      const res = await anon.request(server, createMessage(StunMethod.Binding, StunClass.Request));
      equal(getErrorCode(res)?.code, 401); // --secure-stun: Binding needs credentials
    }
    const creds = new LongTermCredentials({ username: "test", password: "secret" });
    await using client = await StunClient.open({
      hostname: "127.0.0.1",
      credentials: creds,
      fingerprint: true,
    });
    const mapped = await client.binding(server);
    deepEqual(mapped, client.address);
    equal(creds.realm, "test.local");
    // A second request reuses the cached realm and nonce (RFC 8489 §9.2.3.2).
    deepEqual(await client.binding(server), client.address);
    // A wrong password is refused, never answered as valid.
    await using bad = await StunClient.open({
      hostname: "127.0.0.1",
      credentials: new LongTermCredentials({ username: "test", password: "wrong" }),
    });
    await rejects(
      bad.binding(server),
      (e: unknown) => e instanceof StunTransactionError && getErrorCode(e.response!)?.code === 401,
    );
    // coturn 4.6 does not implement MESSAGE-INTEGRITY-SHA256 (0x001C): a SHA-256-only request is refused.
    await using s256 = await StunClient.open({
      hostname: "127.0.0.1",
      credentials: new LongTermCredentials({ username: "test", password: "secret", sha256: true }),
    });
    await rejects(s256.binding(server), StunTransactionError);
  },
  { timeout: 30_000 },
);

interopTest("turnutils_stunclient gets a mapped address from our STUN server", [{
  bin: "turnutils_stunclient",
  apt: "coturn",
}], async () => {
  await using srv = await serveStunUdp(new StunServer({ software: "rtclite" }), {
    hostname: "127.0.0.1",
    port: 13479,
  });
  const out = await run("turnutils_stunclient", ["-p", "13479", "127.0.0.1"], {
    timeout: 10_000,
    stdout: "piped",
    stderr: "piped",
  });
  const text = out.stdout + out.stderr;
  equal(out.code, 0, text);
  ok(/UDP reflexive addr: 127\.0\.0\.1:\d+/.test(text), text);
  void srv;
}, { timeout: 20_000 });

Deno.test("StunClient follows an authenticated 300 Try Alternate to ALTERNATE-SERVER (RFC 8489 §10)", async () => {
  const auth = {
    mechanism: "short-term" as const,
    password: (u: string) => (u === "u" ? "p" : undefined),
  };
  await using target = await serveStunUdp(new StunServer({ auth }), {
    hostname: "127.0.0.1",
    port: 0,
  });
  const redirector = (signedOnly: boolean) =>
    new StunServer({
      ...(signedOnly ? { auth } : {}),
      handlers: {
        [StunMethod.Binding]: () => ({
          error: 300,
          attributes: [addressAttribute(StunAttr.ALTERNATE_SERVER, target.address)],
        }),
      },
    });
  await using first = await serveStunUdp(redirector(true), { hostname: "127.0.0.1", port: 0 });
  await using client = await StunClient.open({
    hostname: "127.0.0.1",
    shortTerm: { username: "u", password: "p" },
  });
  deepEqual(await client.binding(first.address), client.address);
  // An unauthenticated 300 is not followed (RFC 8489 §14.8: it must be integrity-protected).
  await using open = await serveStunUdp(redirector(false), { hostname: "127.0.0.1", port: 0 });
  await using anon = await StunClient.open({ hostname: "127.0.0.1" });
  await rejects(
    anon.binding(open.address),
    (e: unknown) => e instanceof StunTransactionError && getErrorCode(e.response!)?.code === 300,
  );
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

Deno.test("StunClient and serveStunUdp over IPv6 loopback: XOR-MAPPED-ADDRESS with the transaction ID", async () => {
  let server;
  try {
    server = await serveStunUdp(new StunServer(), { hostname: "::1", port: 0 });
  } catch (e) {
    console.log(`NOTE: no IPv6 loopback here, IPv6 UDP exchange not tested: ${e}`);
    return;
  }
  await using _server = server;
  await using client = await StunClient.open({ hostname: "::1" });
  const mapped = await client.binding(server.address);
  deepEqual(mapped, { family: 6, address: "::1", port: client.address.port });
});

Deno.test("StunClient resends after 5xx at most 4 times (RFC 8489 §6.3.4)", async () => {
  let calls = 0;
  const server = new StunServer({
    handlers: {
      [StunMethod.Binding]: (ctx) =>
        ++calls < 3 ? { error: 500 } : {
          attributes: [
            addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, ctx.from, ctx.message.transactionId),
          ],
        },
    },
  });
  await using udp = await serveStunUdp(server, { hostname: "127.0.0.1", port: 0 });
  await using client = await StunClient.open({ hostname: "127.0.0.1" });
  deepEqual(await client.binding(udp.address), client.address);
  equal(calls, 3);
  calls = -100; // always 500 now: 1 + 4 resends, then the error is returned
  const res = await client.request(
    udp.address,
    createMessage(StunMethod.Binding, StunClass.Request),
  );
  equal(getErrorCode(res)?.code, 500);
  equal(calls, -95);
});

Deno.test("command line: --serve answers, a stun: URI prints the mapped address", async () => {
  const port = 13490;
  await using server = startPeer(Deno.execPath(), [
    "run",
    "-A",
    new URL("./rfc5389.ts", import.meta.url).pathname,
    "--serve",
    `127.0.0.1:${port}`,
  ]);
  await server.waitFor(`STUN server on 127.0.0.1:${port}`, 20_000);
  const out = await run(Deno.execPath(), [
    "run",
    "-A",
    new URL("./rfc5389.ts", import.meta.url).pathname,
    `stun:127.0.0.1:${port}`,
  ], { timeout: 20_000 });
  equal(out.code, 0, out.stderr);
  match(out.stdout.trim(), /^127\.0\.0\.1:\d+$/);
});
