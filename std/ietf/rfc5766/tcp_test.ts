// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { selfSignedCert } from "@rtclite/testing";
import {
  createMessage,
  getErrorCode,
  LongTermCredentials,
  StunClass,
  StunMethod,
  type TransportAddress,
} from "../rfc5389/mod.ts";
import { connectStun } from "../rfc5389/tcp.ts";
import { TurnAttr, TurnError, uint32Attribute } from "./mod.ts";
import { serveTurnTcp, tcpRelays } from "./tcp.ts";
import { type ServeTurnOptions, serveTurnUdp, TurnClient, type TurnDataConnection } from "./udp.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const code = (e: unknown) => e instanceof TurnError ? getErrorCode(e.response!)?.code : undefined;
const password = (u: string) => ({ alice: "a", bob: "b" } as Record<string, string>)[u];
const until = async (cond: () => boolean, ms = 2000) => {
  for (let t = 0; t < ms && !cond(); t += 10) await sleep(10);
  ok(cond());
};

async function turn(extra: Partial<ServeTurnOptions> = {}) {
  const udp = await serveTurnUdp({
    hostname: "127.0.0.1",
    port: 0,
    realm: "r",
    password,
    allowLoopbackPeers: true,
    openTcpRelay: tcpRelays("127.0.0.1"),
    ...extra,
  });
  return udp;
}

/** Relays both ways between a client on `a` and a UDP client `b`, with indications then channels. */
async function relay(a: TurnClient, b: TurnClient): Promise<void> {
  const ra = (await a.allocate()).relayed;
  const rb = (await b.allocate()).relayed;
  await a.createPermission(rb);
  await b.createPermission(ra);
  const ga: string[] = [], gb: string[] = [];
  a.onData = (d, _, via) => ga.push(`${via}:${dec.decode(d)}`);
  b.onData = (d, _, via) => gb.push(`${via}:${dec.decode(d)}`);
  a.send(rb, enc.encode("ping"));
  b.send(ra, enc.encode("pong"));
  await until(() => ga.length === 1 && gb.length === 1);
  await a.channelBind(rb);
  await b.channelBind(ra);
  // Odd lengths: the server pads ChannelData to 4 bytes on the stream, the client too.
  for (const n of [1, 2, 3, 5]) a.send(rb, enc.encode("x".repeat(n)));
  for (const n of [1, 2, 3, 5]) b.send(ra, enc.encode("y".repeat(n)));
  await until(() => ga.length === 5 && gb.length === 5);
  deepEqual(gb, ["indication:ping", "channel:x", "channel:xx", "channel:xxx", "channel:xxxxx"]);
  deepEqual(ga, ["indication:pong", "channel:y", "channel:yy", "channel:yyy", "channel:yyyyy"]);
}

Deno.test("TURN over TCP and TLS: Send/Data and padded ChannelData to a UDP client (RFC 8656 §3.1, §12.5)", async () => {
  await using udp = await turn();
  await using tcp = await serveTurnTcp(udp.server, { hostname: "127.0.0.1", port: 0 });
  const dir = await Deno.makeTempDir();
  const { cert, key } = await selfSignedCert(dir);
  await using tls = await serveTurnTcp(udp.server, {
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert, key },
  });
  for (const [transport, server] of [["tcp", tcp.address], ["tls", tls.address]] as const) {
    await using a = await TurnClient.open({
      server,
      transport,
      caCerts: [cert],
      username: "alice",
      password: "a",
    });
    await using b = await TurnClient.open({ server: udp.address, username: "bob", password: "b" });
    await relay(a, b);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("TURN over TCP: closing the connection deletes its allocation; idle and slow connections are closed", async () => {
  await using udp = await turn();
  await using tcp = await serveTurnTcp(udp.server, {
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 300,
  });
  {
    await using a = await TurnClient.open({
      server: tcp.address,
      transport: "tcp",
      username: "alice",
      password: "a",
      autoRefresh: false,
    });
    await a.allocate();
    equal(udp.server.allocations, 1);
    await sleep(600); // longer than the idle timeout: an allocation keeps the connection
    equal(udp.server.allocations, 1);
    equal(tcp.connections, 1);
  }
  await until(() => udp.server.allocations === 0); // close() deletes it (Refresh 0)
  // A connection dropped without a Refresh loses its allocation too.
  const raw = await connectStun({
    server: tcp.address,
    transport: "tcp",
    credentials: new LongTermCredentials({ username: "alice", password: "a" }),
  });
  const res = await raw.request(
    tcp.address,
    createMessage(StunMethod.Allocate, StunClass.Request, [
      uint32Attribute(TurnAttr.REQUESTED_TRANSPORT, 17),
    ]),
  );
  equal(res.class, StunClass.SuccessResponse);
  equal(udp.server.allocations, 1);
  await raw.close();
  await until(() => udp.server.allocations === 0);
  // A client learns that the server went away.
  {
    await using gone = await serveTurnTcp(udp.server, { hostname: "127.0.0.1", port: 0 });
    await using c = await TurnClient.open({
      server: gone.address,
      transport: "tcp",
      username: "alice",
      password: "a",
    });
    await c.allocate();
    let closed = false;
    c.onClose = () => closed = true;
    await gone.close();
    await until(() => closed);
    equal(c.allocation, undefined);
    await until(() => udp.server.allocations === 0);
  }
  // Slowloris: one byte every 100 ms never completes a message; the idle timer closes it.
  const slow = await Deno.connect({ hostname: "127.0.0.1", port: tcp.address.port });
  const started = Date.now();
  let closed = false;
  for (let i = 0; i < 20 && !closed; i++) {
    try {
      await slow.write(Uint8Array.of(0));
    } catch {
      closed = true;
    }
    await sleep(100);
  }
  ok(closed, "the slow connection is still open");
  ok(Date.now() - started < 1500);
  try {
    slow.close();
  } catch { /* closed */ }
  // Garbage (not STUN) is closed at once.
  const junk = await Deno.connect({ hostname: "127.0.0.1", port: tcp.address.port });
  await junk.write(enc.encode("GET / HTTP/1.1\r\n\r\n"));
  equal(await junk.read(new Uint8Array(10)), null);
  junk.close();
});

/** A TCP echo server on loopback. */
function echoServer(): { address: TransportAddress; close(): void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const c of l) {
      (async () => {
        const buf = new Uint8Array(4096);
        try {
          for (let n = await c.read(buf); n !== null; n = await c.read(buf)) {
            await c.write(buf.subarray(0, n));
          }
        } catch { /* closed */ }
        try {
          c.close();
        } catch { /* closed */ }
      })();
    }
  })();
  return {
    address: { family: 4, address: "127.0.0.1", port: (l.addr as Deno.NetAddr).port },
    close: () => l.close(),
  };
}

async function readText(c: TurnDataConnection, want: number): Promise<string> {
  let text = "";
  const buf = new Uint8Array(1024);
  while (text.length < want) {
    const n = await c.read(buf);
    if (n === null) break;
    text += dec.decode(buf.subarray(0, n));
  }
  return text;
}

Deno.test("TCP allocations (RFC 6062): Connect, ConnectionAttempt, ConnectionBind, 403, 446, 447", async () => {
  await using udp = await turn();
  await using tcp = await serveTurnTcp(udp.server, { hostname: "127.0.0.1", port: 0 });
  const echo = echoServer();
  try {
    await using a = await TurnClient.open({
      server: tcp.address,
      transport: "tcp",
      username: "alice",
      password: "a",
    });
    const relayed = (await a.allocate(undefined, { transport: "tcp" })).relayed;
    ok(relayed.port > 0);
    // Outgoing: Connect to the echo server, then a data connection.
    const data = await a.connect(echo.address);
    await data.write(enc.encode("hello through a TCP relay"));
    equal(await readText(data, 25), "hello through a TCP relay");
    // A second Connect to the same peer while the first is open: 446.
    await rejects(a.connect(echo.address), (e) => code(e) === 446);
    // A closed port: 447. A refused class of address: 403.
    const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (dead.addr as Deno.NetAddr).port;
    dead.close();
    await rejects(
      a.connect({ family: 4, address: "127.0.0.1", port: deadPort }),
      (e) => code(e) === 447,
    );
    await rejects(a.connect({ family: 4, address: "0.0.0.0", port: 9 }), (e) => code(e) === 403);
    await rejects(a.connect(tcp.address), (e) => code(e) === 403); // the server's own listener
    data.close();
    // Incoming: a peer without permission is closed at once, with one it is announced.
    const stranger = await Deno.connect({ hostname: "127.0.0.1", port: relayed.port });
    equal(await stranger.read(new Uint8Array(4)), null);
    stranger.close();
    const attempts: [TransportAddress, number][] = [];
    a.onConnectionAttempt = (peer, id) => attempts.push([peer, id]);
    await a.createPermission({ family: 4, address: "127.0.0.1", port: 0 });
    const peer = await Deno.connect({ hostname: "127.0.0.1", port: relayed.port });
    await peer.write(enc.encode("early bytes "));
    await until(() => attempts.length === 1);
    const [from, id] = attempts[0]!;
    equal(from.port, (peer.localAddr as Deno.NetAddr).port);
    await rejects(a.accept(from, id + 1), (e) => code(e) === 400);
    const incoming = await a.accept(from, id);
    await peer.write(enc.encode("and later"));
    equal(await readText(incoming, 21), "early bytes and later");
    await incoming.write(enc.encode("reply"));
    const buf = new Uint8Array(16);
    equal(dec.decode(buf.subarray(0, (await peer.read(buf))!)), "reply");
    // Another user cannot claim alice's connections (441); a spent id is unknown (400).
    await using b = await TurnClient.open({
      server: tcp.address,
      transport: "tcp",
      username: "bob",
      password: "b",
    });
    const second = await Deno.connect({ hostname: "127.0.0.1", port: relayed.port });
    await until(() => attempts.length === 2);
    const [from2, id2] = attempts[1]!;
    await rejects(b.accept(from2, id2), (e) => code(e) === 441);
    await rejects(b.accept(from, id), (e) => code(e) === 400);
    second.close();
    incoming.close();
    equal(await peer.read(buf), null); // the server closes the peer's side too
    peer.close();
  } finally {
    echo.close();
  }
});

Deno.test("TCP allocations (RFC 6062): peer connections per allocation are capped (508)", async () => {
  await using udp = await turn({ maxPeerConnections: 1 });
  await using tcp = await serveTurnTcp(udp.server, { hostname: "127.0.0.1", port: 0 });
  const e1 = echoServer(), e2 = echoServer();
  try {
    await using a = await TurnClient.open({
      server: tcp.address,
      transport: "tcp",
      username: "alice",
      password: "a",
    });
    const relayed = (await a.allocate(undefined, { transport: "tcp" })).relayed;
    const data = await a.connect(e1.address);
    await rejects(a.connect(e2.address), (e) => code(e) === 508);
    // A peer connecting in is closed at once, not announced.
    let attempts = 0;
    a.onConnectionAttempt = () => attempts++;
    await a.createPermission(e1.address);
    const extra = await Deno.connect({ hostname: "127.0.0.1", port: relayed.port });
    equal(await extra.read(new Uint8Array(4)), null);
    extra.close();
    equal(attempts, 0);
    // Once the first connection is gone, there is room again.
    data.close();
    await sleep(100);
    (await a.connect(e2.address)).close();
  } finally {
    e1.close();
    e2.close();
  }
});
