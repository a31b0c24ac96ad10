// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  addressAttribute,
  createMessage,
  decodeStun,
  encodeStun,
  getAddress,
  getErrorCode,
  getUnknownAttributes,
  StunAttr,
  StunClass,
  StunMethod,
  StunParseError,
  type TransportAddress,
} from "../rfc5389/mod.ts";
import {
  changeRequestAttribute,
  ClassicStunServer,
  getChangeRequest,
  getResponsePort,
  NatDiscovery,
  NatDiscoveryError,
  type NatTestResult,
  type NatType,
  RESPONSE_PORT,
  responsePortAttribute,
} from "./mod.ts";

const A1 = "192.0.2.1", A2 = "192.0.2.2";
const at = (address: string, port: number): TransportAddress => ({ family: 4, address, port });
const CLIENT = at("198.51.100.7", 40000);

Deno.test("CHANGE-REQUEST round trip and bad length (RFC 3489 §11.2.4)", () => {
  for (const changeIp of [false, true]) {
    for (const changePort of [false, true]) {
      const msg = decodeStun(
        encodeStun(createMessage(1, 0, [changeRequestAttribute({ changeIp, changePort })])),
      );
      deepEqual(getChangeRequest(msg), { changeIp, changePort });
    }
  }
  throws(
    () =>
      getChangeRequest(
        createMessage(1, 0, [{ type: StunAttr.CHANGE_REQUEST, value: new Uint8Array(2) }]),
      ),
    StunParseError,
  );
});

Deno.test("ClassicStunServer picks the source per Table 1 and adds MAPPED/SOURCE/CHANGED-ADDRESS (RFC 3489 §8.1)", async (t) => {
  const server = new ClassicStunServer({ addresses: [A1, A2], ports: [3478, 3479] });
  const cases: [boolean, boolean, TransportAddress, string, number][] = [
    [false, false, at(A1, 3478), A1, 3478],
    [true, false, at(A1, 3478), A2, 3478],
    [false, true, at(A1, 3478), A1, 3479],
    [true, true, at(A1, 3478), A2, 3479],
    [true, true, at(A2, 3479), A1, 3478],
  ];
  for (const [changeIp, changePort, on, srcA, srcP] of cases) {
    await t.step(
      `change IP ${changeIp}, change port ${changePort}, received on ${on.address}:${on.port}`,
      () => {
        const tid = crypto.getRandomValues(new Uint8Array(16));
        const req = createMessage(StunMethod.Binding, StunClass.Request, [
          changeRequestAttribute({ changeIp, changePort }),
        ], tid);
        const reply = server.handle(encodeStun(req), CLIENT, on)!;
        deepEqual(reply.from, at(srcA, srcP));
        deepEqual(reply.to, CLIENT);
        const res = decodeStun(reply.data, { classic: true });
        equal(res.transactionId.length, 16);
        deepEqual(getAddress(res, StunAttr.MAPPED_ADDRESS), CLIENT);
        deepEqual(getAddress(res, StunAttr.SOURCE_ADDRESS), at(srcA, srcP));
        const ca = on.address === A1 ? A2 : A1, cp = on.port === 3478 ? 3479 : 3478;
        deepEqual(getAddress(res, StunAttr.CHANGED_ADDRESS), at(ca, cp));
        equal(getAddress(res, StunAttr.XOR_MAPPED_ADDRESS), undefined);
      },
    );
  }
  await t.step("RFC 5389 client gets XOR-MAPPED-ADDRESS too", () => {
    const reply = server.handle(encodeStun(createMessage(1, 0)), CLIENT, at(A1, 3478))!;
    deepEqual(getAddress(decodeStun(reply.data), StunAttr.XOR_MAPPED_ADDRESS), CLIENT);
  });
  await t.step("RESPONSE-ADDRESS is ignored unless allowed, then REFLECTED-FROM is added", () => {
    const target = at("203.0.113.9", 9);
    const req = encodeStun(
      createMessage(
        1,
        0,
        [addressAttribute(StunAttr.RESPONSE_ADDRESS, target)],
        new Uint8Array(16),
      ),
    );
    deepEqual(server.handle(req, CLIENT, at(A1, 3478))!.to, CLIENT);
    const open = new ClassicStunServer({
      addresses: [A1, A2],
      ports: [3478, 3479],
      allowResponseAddress: true,
    });
    const reply = open.handle(req, CLIENT, at(A1, 3478))!;
    deepEqual(reply.to, target);
    deepEqual(
      getAddress(decodeStun(reply.data, { classic: true }), StunAttr.REFLECTED_FROM),
      CLIENT,
    );
  });
  await t.step(
    "unknown mandatory attributes: 420, list padded by repeating the last (RFC 3489 §11.2.10)",
    () => {
      const req = createMessage(1, 0, [{ type: 0x0777, value: new Uint8Array(4) }, {
        type: 0x8777,
        value: new Uint8Array(4),
      }], new Uint8Array(16));
      const res = decodeStun(server.handle(encodeStun(req), CLIENT, at(A1, 3478))!.data, {
        classic: true,
      });
      equal(getErrorCode(res)?.code, 420);
      deepEqual(getUnknownAttributes(res), [0x0777, 0x0777]);
    },
  );
  await t.step("garbage and non-requests get no answer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const r = server.handle(b, CLIENT, at(A1, 3478));
        if (r) ok(r.data.length >= 20);
      }),
      { numRuns: 300 },
    );
    equal(
      server.handle(encodeStun(createMessage(1, StunClass.Indication)), CLIENT, at(A1, 3478)),
      undefined,
    );
  });
});

Deno.test("NatDiscovery follows the RFC 3489 §10.1 flow chart to each of the outcomes", () => {
  const server = at(A1, 3478), changed = at(A2, 3479), local = at("10.0.0.2", 5000);
  const pub = at("203.0.113.1", 40000);
  const walk = (...results: (NatTestResult | undefined)[]): [NatType | undefined, string[]] => {
    const d = new NatDiscovery(server, local);
    const names: string[] = [];
    for (const r of results) {
      names.push(d.next()!.name);
      d.report(r);
    }
    equal(d.next(), undefined);
    return [d.type, names];
  };
  deepEqual(walk(undefined), ["udp-blocked", ["I"]]);
  deepEqual(walk({ mapped: local, changed }, { mapped: local, changed }), ["open-internet", [
    "I",
    "II",
  ]]);
  deepEqual(walk({ mapped: local, changed }, undefined), ["symmetric-udp-firewall", ["I", "II"]]);
  deepEqual(walk({ mapped: pub, changed }, { mapped: pub, changed }), ["full-cone", ["I", "II"]]);
  deepEqual(
    walk({ mapped: pub, changed }, undefined, { mapped: at(pub.address, 40001), changed }),
    ["symmetric", ["I", "II", "I'"]],
  );
  deepEqual(
    walk({ mapped: pub, changed }, undefined, { mapped: pub, changed }, { mapped: pub, changed }),
    ["restricted-cone", ["I", "II", "I'", "III"]],
  );
  deepEqual(walk({ mapped: pub, changed }, undefined, { mapped: pub, changed }, undefined), [
    "port-restricted-cone",
    ["I", "II", "I'", "III"],
  ]);
  const d = new NatDiscovery(server, local);
  d.report({ mapped: pub, changed: undefined });
  throws(() => d.report(undefined), NatDiscoveryError);
});

Deno.test("RESPONSE-PORT round trip and bad length (RFC 5780 §7.5)", () => {
  const msg = decodeStun(encodeStun(createMessage(1, 0, [responsePortAttribute(54321)])));
  equal(getResponsePort(msg), 54321);
  deepEqual([...responsePortAttribute(1).value], [0, 1, 0, 0]);
  equal(getResponsePort(createMessage(1, 0)), undefined);
  throws(
    () =>
      getResponsePort(createMessage(1, 0, [{ type: RESPONSE_PORT, value: Uint8Array.of(0, 1) }])),
    StunParseError,
  );
  throws(() => responsePortAttribute(65536), RangeError);
});
