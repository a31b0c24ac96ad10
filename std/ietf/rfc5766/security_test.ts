// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// The attacks of issue 18 item 13, mounted on loopback against the UDP server: each asserts the
// refusal or the bound.
import dgram from "node:dgram";
import { equal, ok, rejects } from "node:assert/strict";
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
  StunFramer,
  StunMethod,
  type TransportAddress,
} from "../rfc5389/mod.ts";
import { TurnAttr, TurnError, uint32Attribute } from "./mod.ts";
import { serveTurnTcp } from "./tcp.ts";
import { serveTurnUdp, TurnClient } from "./udp.ts";

const enc = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const code = (e: unknown) => e instanceof TurnError ? getErrorCode(e.response!)?.code : undefined;

/** A UDP socket on 127.0.0.1 that records what it receives (a stand-in for the host's SIP server). */
async function listener(): Promise<
  { address: TransportAddress; got: string[]; sock: dgram.Socket } & AsyncDisposable
> {
  const sock = dgram.createSocket("udp4");
  const got: string[] = [];
  sock.on("message", (b: Uint8Array) => got.push(new TextDecoder().decode(b)));
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  return {
    address: { family: 4, address: "127.0.0.1", port: sock.address().port },
    got,
    sock,
    [Symbol.asyncDispose]: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

const users = (u: string) => ({ alice: "a", bob: "b" } as Record<string, string>)[u];

Deno.test("TURN over UDP: an Allocate without the magic cookie gets no answer and no relay", async () => {
  await using turn = await serveTurnUdp({
    hostname: "127.0.0.1",
    port: 0,
    realm: "r",
    password: users,
    spareRelays: 1,
  });
  await using attacker = await listener();
  for (let i = 0; i < 10; i++) {
    const classic = createMessage(StunMethod.Allocate, StunClass.Request, [
      uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17),
    ], crypto.getRandomValues(new Uint8Array(16)));
    attacker.sock.send(encodeStun(classic), turn.address.port, turn.address.address);
  }
  await sleep(300);
  equal(attacker.got.length, 0);
  equal(turn.server.allocations, 0);
  // A legitimate user still gets a relay.
  await using alice = await TurnClient.open({
    server: turn.address,
    username: "alice",
    password: "a",
  });
  ok((await alice.allocate()).relayed.port > 0);
});

Deno.test("TURN over UDP: no relaying to the host's own services, 0.0.0.0 or 255.255.255.255", async () => {
  await using turn = await serveTurnUdp({
    hostname: "127.0.0.1",
    port: 0,
    realm: "r",
    password: users,
  });
  await using sip = await listener();
  await using alice = await TurnClient.open({
    server: turn.address,
    username: "alice",
    password: "a",
  });
  await alice.allocate();
  const targets: TransportAddress[] = [
    sip.address,
    { family: 4, address: "0.0.0.0", port: sip.address.port },
    { family: 4, address: "255.255.255.255", port: sip.address.port },
    { family: 4, address: "224.0.0.1", port: sip.address.port },
    turn.address, // the server itself
  ];
  for (const peer of targets) {
    await rejects(alice.createPermission(peer), (e) => code(e) === 403, peer.address);
    await rejects(alice.channelBind(peer), (e) => code(e) === 403, peer.address);
  }
  // A Send indication straight to the SIP server (no permission could be installed) is dropped.
  const options = enc.encode("OPTIONS sip:127.0.0.1 SIP/2.0\r\n\r\n");
  alice.send(sip.address, options);
  await sleep(300);
  equal(sip.got.length, 0);
  // With loopback peers allowed (as the interop tests need), the same exchange goes through.
  await using open = await serveTurnUdp({
    hostname: "127.0.0.1",
    port: 0,
    realm: "r",
    password: users,
    allowLoopbackPeers: true,
  });
  await using bob = await TurnClient.open({ server: open.address, username: "bob", password: "b" });
  await bob.allocate();
  await bob.createPermission(sip.address);
  bob.send(sip.address, options);
  for (let i = 0; i < 50 && !sip.got.length; i++) await sleep(10);
  equal(sip.got[0], "OPTIONS sip:127.0.0.1 SIP/2.0\r\n\r\n");
  // ...but never to the unspecified address, nor to the server itself.
  await rejects(
    bob.createPermission({ ...sip.address, address: "0.0.0.0" }),
    (e) => code(e) === 403,
  );
  await rejects(bob.createPermission(open.address), (e) => code(e) === 403);
});

Deno.test("TURN over UDP: allocations are capped per user (486) and in total (508), and idle ones expire", async () => {
  let skew = 0;
  await using turn = await serveTurnUdp({
    hostname: "127.0.0.1",
    port: 0,
    realm: "r",
    password: users,
    quota: 2,
    maxAllocations: 3,
    now: () => Date.now() + skew,
  });
  const clients: TurnClient[] = [];
  const open = async (user: string) => {
    const c = await TurnClient.open({
      server: turn.address,
      username: user,
      password: users(user)!,
      autoRefresh: false,
      rto: 50,
    });
    clients.push(c);
    return c;
  };
  try {
    await (await open("alice")).allocate();
    await (await open("alice")).allocate();
    await rejects((await open("alice")).allocate(), (e) => code(e) === 486);
    const bob = await open("bob");
    await bob.allocate();
    await rejects((await open("bob")).allocate(), (e) => code(e) === 508);
    equal(turn.server.allocations, 3);
    // Nobody refreshes: ten minutes later (the default lifetime) the sweep has freed them all.
    skew = 601_000;
    for (let i = 0; i < 40 && turn.server.allocations; i++) await sleep(50);
    equal(turn.server.allocations, 0);
    const late = await open("bob");
    ok((await late.allocate()).relayed.port > 0);
  } finally {
    for (const c of clients) await c.close();
  }
});

Deno.test("TURN over TCP: a client that stops reading while a peer floods its relay costs at most its write queue", async () => {
  await using udp = await serveTurnUdp({
    hostname: "127.0.0.1",
    port: 0,
    realm: "r",
    password: users,
    allowLoopbackPeers: true,
  });
  await using tcp = await serveTurnTcp(udp.server, { hostname: "127.0.0.1", port: 0 });
  // A raw client: Allocate and CreatePermission by hand, then it never reads again.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: tcp.address.port });
  const framer = new StunFramer();
  const creds = new LongTermCredentials({ username: "alice", password: "a" });
  const buf = new Uint8Array(4096);
  const ask = async (method: number, attrs: (tid: Uint8Array) => StunAttribute[]) => {
    for (;;) {
      const base = createMessage(method, StunClass.Request);
      base.attributes.push(...attrs(base.transactionId));
      const { message, options } = creds.sign(base);
      await conn.write(encodeStun(message, options));
      let frame: Uint8Array | undefined;
      while (!(frame = framer.next())) framer.append(buf.slice(0, (await conn.read(buf))!));
      const res = decodeStun(frame);
      if (res.class === StunClass.ErrorResponse && creds.onErrorResponse(res)) continue;
      return res;
    }
  };
  const allocated = await ask(StunMethod.Allocate, () => [
    uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17),
  ]);
  const relayed = getAddress(allocated, TurnAttr.XOR_RELAYED_ADDRESS)!;
  await using flood = await listener();
  const permitted = await ask(StunMethod.CreatePermission, (tid) => [
    addressAttribute(TurnAttr.XOR_PEER_ADDRESS, flood.address, tid),
  ]);
  equal(permitted.class, StunClass.SuccessResponse);
  // 40 MB from the peer to the relay, paced so that the server reads it all, toward a client that
  // does not read. Without a bound on the write queue all 40 MB would wait in the server.
  const chunk = new Uint8Array(1200);
  for (let i = 0; i < 33_000; i++) {
    flood.sock.send(chunk, relayed.port, relayed.address);
    if (i % 40 === 0) await sleep(1);
  }
  await sleep(2000);
  // What the server kept for it is what reaches it now: its write queue (1 MiB) and the kernel's
  // socket buffers, not the 40 MB.
  let received = framer.take().length;
  for (;;) {
    const n = await Promise.race([conn.read(buf), sleep(1500).then(() => -1)]);
    if (n === null || n === -1) break;
    received += n;
  }
  ok(received > 1_000_000, `${received} bytes received`);
  ok(received < 16_000_000, `${received} bytes received: the server buffered the flood`);
  // Others are still served.
  await using bob = await TurnClient.open({
    server: tcp.address,
    transport: "tcp",
    username: "bob",
    password: "b",
  });
  ok((await bob.allocate()).relayed.port > 0);
  conn.close();
});
