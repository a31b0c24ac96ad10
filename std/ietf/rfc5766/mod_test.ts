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
  LongTermCredentials,
  type StunAttribute,
  StunClass,
  StunMethod,
  StunParseError,
  type TransportAddress,
} from "../rfc5389/mod.ts";
import {
  decodeChannelData,
  encodeChannelData,
  evenPortAttribute,
  getEvenPort,
  getUint32,
  isChannelData,
  type Relay,
  TurnAttr,
  TurnServer,
  type TurnServerOptions,
  uint32Attribute,
} from "./mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("ChannelData framing: encode, decode, padding, reserved channels (RFC 8656 §12.4-12.6)", () => {
  const m = encodeChannelData(0x4001, enc.encode("abcde"));
  deepEqual([...m.subarray(0, 4)], [0x40, 0x01, 0, 5]);
  equal(encodeChannelData(0x4001, enc.encode("abcde"), true).length, 12);
  const d = decodeChannelData(encodeChannelData(0x4fff, enc.encode("abcde"), true));
  equal(d.channel, 0x4fff);
  equal(dec.decode(d.data), "abcde");
  equal(decodeChannelData(Uint8Array.of(0x40, 0, 0, 0)).data.length, 0);
  ok(isChannelData(m));
  ok(!isChannelData(encodeStun(createMessage(1, 0))));
  throws(() => encodeChannelData(0x3fff, new Uint8Array()), RangeError);
  throws(() => decodeChannelData(Uint8Array.of(0x40, 0, 0, 9, 1)), StunParseError);
  throws(() => decodeChannelData(Uint8Array.of(0x80, 0, 0, 0)), StunParseError);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      try {
        const { channel, data } = decodeChannelData(b);
        deepEqual([...decodeChannelData(encodeChannelData(channel, data)).data], [...data]);
      } catch (e) {
        ok(e instanceof StunParseError);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("TURN attributes: LIFETIME, CHANNEL-NUMBER, REQUESTED-TRANSPORT (RFC 8656 §18)", () => {
  const msg = createMessage(StunMethod.Allocate, StunClass.Request, [
    uint32Attribute(TurnAttr.LIFETIME, 3600),
    uint32Attribute(TurnAttr.CHANNEL_NUMBER, 0x4abc),
    uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17),
  ]);
  const back = decodeStun(encodeStun(msg));
  equal(getUint32(back, TurnAttr.LIFETIME), 3600);
  equal(getUint32(back, TurnAttr.CHANNEL_NUMBER), 0x4abc);
  equal(getUint32(back, TurnAttr.REQUESTED_TRANSPORT), 17);
  throws(
    () =>
      getUint32(
        createMessage(1, 0, [{ type: TurnAttr.LIFETIME, value: new Uint8Array(3) }]),
        TurnAttr.LIFETIME,
      ),
    StunParseError,
  );
});

/** A TurnServer with in-memory relays and a client that signs with long-term credentials. */
function harness(options: Partial<TurnServerOptions> = {}) {
  let now = 0;
  const out: { data: Uint8Array; to: TransportAddress }[] = [];
  const relays: (Relay & {
    sent: { data: Uint8Array; to: TransportAddress }[];
    deliver: (d: Uint8Array, from: TransportAddress) => void;
    closed: boolean;
  })[] = [];
  const server = new TurnServer({
    realm: "example.org",
    password: (u) => ({ alice: "a", bob: "b" } as Record<string, string>)[u],
    send: (data, to) => out.push({ data, to }),
    now: () => now,
    ...options,
    openRelay: (onPeer) => {
      const r = {
        address: { family: 4 as const, address: "198.51.100.1", port: 50000 + relays.length },
        sent: [] as { data: Uint8Array; to: TransportAddress }[],
        closed: false,
        send(data: Uint8Array, to: TransportAddress) {
          r.sent.push({ data, to });
        },
        close() {
          r.closed = true;
        },
        deliver: onPeer,
      };
      relays.push(r);
      return r;
    },
  });
  const client = (user: string, from: TransportAddress) => {
    const creds = new LongTermCredentials({ username: user, password: user[0]! });
    return (method: number, attrs: (tid: Uint8Array) => StunAttribute[] = () => []) => {
      for (let i = 0; i < 3; i++) {
        const base = createMessage(method, StunClass.Request);
        base.attributes.push(...attrs(base.transactionId));
        const { message, options } = creds.sign(base);
        out.length = 0;
        server.handle(encodeStun(message, options), from);
        const res = decodeStun(out[0]!.data);
        if (res.class === StunClass.ErrorResponse && creds.onErrorResponse(res)) continue;
        return res;
      }
      throw new Error("no answer");
    };
  };
  return { server, out, relays, client, tick: (ms: number) => (now += ms, server.tick(now)) };
}

const A: TransportAddress = { family: 4, address: "192.0.2.10", port: 4000 };
const PEER: TransportAddress = { family: 4, address: "203.0.113.5", port: 7000 };

Deno.test("TurnServer: Allocate, errors 400/437/440/442/486, Refresh and expiry (RFC 8656 §7-8)", () => {
  const h = harness({ quota: 1 });
  const alice = h.client("alice", A);
  equal(getErrorCode(alice(StunMethod.Allocate))?.code, 400); // no REQUESTED-TRANSPORT
  equal(
    getErrorCode(
      alice(StunMethod.Allocate, () => [uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 6)]),
    )?.code,
    442,
  );
  equal(
    getErrorCode(
      alice(
        StunMethod.Allocate,
        () => [
          uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17),
          uint32Attribute(TurnAttr.REQUESTED_ADDRESS_FAMILY, 2),
        ],
      ),
    )?.code,
    440,
  );
  equal(getErrorCode(alice(StunMethod.Refresh))?.code, 437); // no allocation yet
  const ok1 = alice(
    StunMethod.Allocate,
    () => [
      uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17),
      uint32Attribute(TurnAttr.LIFETIME, 99999),
    ],
  );
  equal(ok1.class, StunClass.SuccessResponse);
  deepEqual(getAddress(ok1, TurnAttr.XOR_RELAYED_ADDRESS), h.relays[0]!.address);
  deepEqual(getAddress(ok1, 0x0020), A);
  equal(getUint32(ok1, TurnAttr.LIFETIME), 3600);
  equal(
    getErrorCode(
      alice(StunMethod.Allocate, () => [uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17)]),
    )?.code,
    437,
  );
  const alice2 = h.client("alice", { ...A, port: 4001 });
  equal(
    getErrorCode(
      alice2(StunMethod.Allocate, () => [uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17)]),
    )?.code,
    486,
  );
  equal(getErrorCode(h.client("bob", A)(StunMethod.Refresh))?.code, 441);
  equal(
    getUint32(
      alice(StunMethod.Refresh, () => [uint32Attribute(TurnAttr.LIFETIME, 700)]),
      TurnAttr.LIFETIME,
    ),
    700,
  );
  h.tick(699_000);
  equal(h.server.allocations, 1);
  h.tick(2_000);
  equal(h.server.allocations, 0);
  ok(h.relays[0]!.closed);
  // Refresh with LIFETIME 0 deletes at once.
  alice(StunMethod.Allocate, () => [uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17)]);
  equal(
    getUint32(
      alice(StunMethod.Refresh, () => [uint32Attribute(TurnAttr.LIFETIME, 0)]),
      TurnAttr.LIFETIME,
    ),
    0,
  );
  equal(h.server.allocations, 0);
  // An unauthenticated Allocate is challenged, never served.
  h.out.length = 0;
  h.server.handle(
    encodeStun(
      createMessage(StunMethod.Allocate, StunClass.Request, [
        uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17),
      ]),
    ),
    A,
  );
  equal(getErrorCode(decodeStun(h.out[0]!.data))?.code, 401);
});

Deno.test("TurnServer: permissions gate Send/Data; channels carry ChannelData (RFC 8656 §9-12)", () => {
  const h = harness();
  const alice = h.client("alice", A);
  alice(StunMethod.Allocate, () => [uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17)]);
  const relay = h.relays[0]!;
  const send = (data: string) => {
    const msg = createMessage(StunMethod.Send, StunClass.Indication);
    msg.attributes.push(addressAttribute(TurnAttr.XOR_PEER_ADDRESS, PEER, msg.transactionId), {
      type: TurnAttr.DATA,
      value: enc.encode(data),
    });
    h.server.handle(encodeStun(msg), A);
  };
  send("dropped");
  equal(relay.sent.length, 0); // no permission
  h.out.length = 0;
  relay.deliver(enc.encode("in"), PEER);
  equal(h.out.length, 0);
  equal(getErrorCode(alice(StunMethod.CreatePermission))?.code, 400);
  alice(
    StunMethod.CreatePermission,
    (tid) => [addressAttribute(TurnAttr.XOR_PEER_ADDRESS, PEER, tid)],
  );
  send("hello");
  equal(dec.decode(relay.sent[0]!.data), "hello");
  deepEqual(relay.sent[0]!.to, PEER);
  h.out.length = 0;
  relay.deliver(enc.encode("reply"), { ...PEER, port: 7001 }); // permission is per IP, any port
  const ind = decodeStun(h.out[0]!.data);
  equal(ind.method, StunMethod.Data);
  equal(ind.class, StunClass.Indication);
  equal(getAddress(ind, TurnAttr.XOR_PEER_ADDRESS)?.port, 7001);
  // ChannelBind: range and conflicts.
  equal(
    getErrorCode(
      alice(
        StunMethod.ChannelBind,
        (
          tid,
        ) => [
          uint32Attribute(TurnAttr.CHANNEL_NUMBER, 0x3000),
          addressAttribute(TurnAttr.XOR_PEER_ADDRESS, PEER, tid),
        ],
      ),
    )?.code,
    400,
  );
  equal(
    alice(
      StunMethod.ChannelBind,
      (
        tid,
      ) => [
        uint32Attribute(TurnAttr.CHANNEL_NUMBER, 0x4000),
        addressAttribute(TurnAttr.XOR_PEER_ADDRESS, PEER, tid),
      ],
    ).class,
    StunClass.SuccessResponse,
  );
  equal(
    getErrorCode(
      alice(
        StunMethod.ChannelBind,
        (
          tid,
        ) => [
          uint32Attribute(TurnAttr.CHANNEL_NUMBER, 0x4001),
          addressAttribute(TurnAttr.XOR_PEER_ADDRESS, PEER, tid),
        ],
      ),
    )?.code,
    400,
  );
  h.server.handle(encodeChannelData(0x4000, enc.encode("via channel")), A);
  equal(dec.decode(relay.sent.at(-1)!.data), "via channel");
  h.server.handle(encodeChannelData(0x4002, enc.encode("unbound")), A);
  equal(relay.sent.length, 2);
  h.out.length = 0;
  relay.deliver(enc.encode("back"), PEER);
  const cd = decodeChannelData(h.out[0]!.data);
  equal(cd.channel, 0x4000);
  equal(dec.decode(cd.data), "back");
  // Permissions expire after 300 s, channels after 600 s.
  h.tick(301_000);
  h.out.length = 0;
  relay.deliver(enc.encode("late"), { ...PEER, port: 9 });
  equal(h.out.length, 0);
  // Garbage never crashes the server.
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => h.server.handle(b, A)), {
    numRuns: 300,
  });
});

Deno.test("EVEN-PORT: R bit round trip, bad length, and the server's answers (RFC 8656 §18.7, §7.2)", () => {
  for (const reserve of [false, true]) {
    const msg = decodeStun(encodeStun(createMessage(3, 0, [evenPortAttribute(reserve)])));
    deepEqual(getEvenPort(msg), { reserve });
  }
  // RFFU bits are ignored on reception.
  deepEqual(
    getEvenPort(createMessage(3, 0, [{ type: TurnAttr.EVEN_PORT, value: Uint8Array.of(0x7f) }])),
    {
      reserve: false,
    },
  );
  equal(getEvenPort(createMessage(3, 0)), undefined);
  throws(
    () =>
      getEvenPort(createMessage(3, 0, [{ type: TurnAttr.EVEN_PORT, value: new Uint8Array(4) }])),
    StunParseError,
  );
  const h = harness();
  // Each Allocate from its own client port (one allocation per 5-tuple).
  const allocate = (port: number, even: StunAttribute) =>
    h.client("alice", { ...A, port })(
      StunMethod.Allocate,
      () => [uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17), even],
    );
  equal(getErrorCode(allocate(4001, evenPortAttribute(true)))?.code, 508);
  const bad = { type: TurnAttr.EVEN_PORT, value: new Uint8Array(2) };
  equal(getErrorCode(allocate(4002, bad))?.code, 400);
  equal(allocate(4003, evenPortAttribute(false)).class, StunClass.SuccessResponse);
});

// --- Security (issue 18 item 13; RFC 8656 §5, §10.2 ¶4, §11.2 ¶5, §21) ---

const UDP_ALLOCATE = () => [uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17)];
const peerAttr = (peer: TransportAddress) => (tid: Uint8Array) => [
  addressAttribute(TurnAttr.XOR_PEER_ADDRESS, peer, tid),
];

Deno.test("TurnServer: an RFC 3489 header (no magic cookie) gets no allocation and no answer", () => {
  const h = harness();
  for (const method of [StunMethod.Allocate, StunMethod.Refresh, StunMethod.Binding]) {
    const classic = createMessage(method, StunClass.Request, UDP_ALLOCATE(), new Uint8Array(16));
    h.out.length = 0;
    h.server.handle(encodeStun(classic), A);
    equal(h.out.length, 0, `method ${method}`);
  }
  equal(h.server.allocations, 0);
  equal(h.relays.length, 0);
  // The same request with the cookie is challenged, as every TURN request is.
  h.server.handle(encodeStun(createMessage(StunMethod.Allocate, StunClass.Request)), A);
  equal(getErrorCode(decodeStun(h.out[0]!.data))?.code, 401);
});

Deno.test("TurnServer: loopback, unspecified, broadcast, multicast and private peers get 403 (RFC 8656 §10.2 ¶4)", () => {
  const h = harness({ ownAddresses: [{ family: 4, address: "198.51.100.1", port: 3478 }] });
  const alice = h.client("alice", A);
  alice(StunMethod.Allocate, UDP_ALLOCATE);
  const relay = h.relays[0]!;
  const refused: TransportAddress[] = [
    "127.0.0.1",
    "127.1.2.3",
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.251",
    "10.0.0.1",
    "192.168.1.1",
    "169.254.169.254", // a cloud metadata service
  ].map((address) => ({ family: 4, address, port: 5160 }));
  refused.push({ family: 4, address: "198.51.100.1", port: 3478 }); // the server itself
  for (const peer of refused) {
    const cp = alice(StunMethod.CreatePermission, peerAttr(peer));
    equal(getErrorCode(cp)?.code, 403, `CreatePermission ${peer.address}`);
    const cb = alice(StunMethod.ChannelBind, (tid) => [
      uint32Attribute(TurnAttr.CHANNEL_NUMBER, 0x4000),
      addressAttribute(TurnAttr.XOR_PEER_ADDRESS, peer, tid),
    ]);
    equal(getErrorCode(cb)?.code, 403, `ChannelBind ${peer.address}`);
  }
  // One refused peer among allowed ones fails the whole request; nothing is installed.
  equal(
    getErrorCode(alice(StunMethod.CreatePermission, (tid) => [
      addressAttribute(TurnAttr.XOR_PEER_ADDRESS, PEER, tid),
      addressAttribute(TurnAttr.XOR_PEER_ADDRESS, refused[0]!, tid),
    ]))?.code,
    403,
  );
  // Send indications to refused peers are dropped.
  for (const peer of [...refused, PEER]) {
    const msg = createMessage(StunMethod.Send, StunClass.Indication);
    msg.attributes.push(addressAttribute(TurnAttr.XOR_PEER_ADDRESS, peer, msg.transactionId), {
      type: TurnAttr.DATA,
      value: enc.encode("OPTIONS sip:x SIP/2.0\r\n\r\n"),
    });
    h.server.handle(encodeStun(msg), A);
  }
  equal(relay.sent.length, 0);
  // The same server with loopback allowed, as coturn's --allow-loopback-peers.
  const open = harness({ allowLoopbackPeers: true, allowedPeers: ["10.0.0.0/8"] });
  const bob = open.client("bob", A);
  bob(StunMethod.Allocate, UDP_ALLOCATE);
  for (const address of ["127.0.0.1", "10.0.0.1"]) {
    equal(
      bob(StunMethod.CreatePermission, peerAttr({ family: 4, address, port: 1 })).class,
      StunClass.SuccessResponse,
    );
  }
  for (const address of ["0.0.0.0", "255.255.255.255", "192.168.1.1"]) {
    equal(
      getErrorCode(bob(StunMethod.CreatePermission, peerAttr({ family: 4, address, port: 1 })))
        ?.code,
      403,
    );
  }
});

Deno.test("TurnServer: allocations capped per user (486) and in total (508), idle ones expire (RFC 8656 §5 ¶19)", () => {
  const h = harness({ quota: 2, maxAllocations: 3 });
  const at = (port: number) => ({ ...A, port });
  const alloc = (user: string, port: number) =>
    h.client(user, at(port))(StunMethod.Allocate, UDP_ALLOCATE);
  equal(alloc("alice", 1).class, StunClass.SuccessResponse);
  equal(alloc("alice", 2).class, StunClass.SuccessResponse);
  equal(getErrorCode(alloc("alice", 3))?.code, 486);
  equal(alloc("bob", 4).class, StunClass.SuccessResponse);
  equal(getErrorCode(alloc("bob", 5))?.code, 508);
  equal(h.server.allocations, 3);
  // No refresh: after the default lifetime (600 s) every allocation is gone and its relay closed.
  h.tick(599_000);
  equal(h.server.allocations, 3);
  h.tick(2_000);
  equal(h.server.allocations, 0);
  ok(h.relays.every((r) => r.closed));
  // Room again.
  equal(alloc("bob", 6).class, StunClass.SuccessResponse);
  // A refreshed allocation lives on, up to the maximum lifetime per refresh.
  const bob = h.client("bob", at(6));
  h.tick(500_000);
  equal(
    getUint32(
      bob(StunMethod.Refresh, () => [uint32Attribute(TurnAttr.LIFETIME, 1e9)]),
      TurnAttr.LIFETIME,
    ),
    3600,
  );
  h.tick(3_599_000);
  equal(h.server.allocations, 1);
  h.tick(2_000);
  equal(h.server.allocations, 0);
});

Deno.test("TurnServer: permissions per allocation are capped (508, RFC 8656 §10.2 ¶2)", () => {
  const h = harness({ maxPermissions: 2 });
  const alice = h.client("alice", A);
  alice(StunMethod.Allocate, UDP_ALLOCATE);
  const peer = (n: number): TransportAddress => ({ family: 4, address: `203.0.113.${n}`, port: 1 });
  const many = (...ns: number[]) => (tid: Uint8Array) =>
    ns.map((n) => addressAttribute(TurnAttr.XOR_PEER_ADDRESS, peer(n), tid));
  equal(getErrorCode(alice(StunMethod.CreatePermission, many(1, 2, 3)))?.code, 508);
  equal(alice(StunMethod.CreatePermission, many(1, 2)).class, StunClass.SuccessResponse);
  equal(alice(StunMethod.CreatePermission, many(2, 1)).class, StunClass.SuccessResponse); // refresh
  equal(getErrorCode(alice(StunMethod.CreatePermission, many(3)))?.code, 508);
  const bind = (n: number) => (tid: Uint8Array) => [
    uint32Attribute(TurnAttr.CHANNEL_NUMBER, 0x4000 + n),
    addressAttribute(TurnAttr.XOR_PEER_ADDRESS, peer(n), tid),
  ];
  equal(getErrorCode(alice(StunMethod.ChannelBind, bind(3)))?.code, 508);
  equal(alice(StunMethod.ChannelBind, bind(1)).class, StunClass.SuccessResponse);
  // Expired permissions make room again.
  h.tick(301_000);
  equal(alice(StunMethod.CreatePermission, many(3, 4)).class, StunClass.SuccessResponse);
});
