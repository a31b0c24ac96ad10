// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import {
  serveNotify,
  type SignalingConnection,
  SignalingHub,
  type SignalingPeer,
} from "@rtclite/app/web/rtc/notify";
import { DataResource, FileResource, Router } from "@rtclite/app/web/rest";
import { WebSocket } from "@rtclite/std/ietf/rfc6455/deno";
import { interopTest, startPeer, withTimeout } from "@rtclite/testing";
import { deepEqual, equal, ok } from "node:assert/strict";
import fc from "fast-check";

type Msg = Record<string, unknown>;

/** An in-memory connection that records what the hub sends and whether it closed it. */
class FakeConn implements SignalingConnection {
  got: Msg[] = [];
  closed: [number | undefined, string | undefined] | undefined;
  bufferedAmount = 0;
  send(text: string): void {
    this.got.push(JSON.parse(text));
  }
  close(code?: number, reason?: string): void {
    this.closed = [code, reason];
  }
  last(): Msg | undefined {
    return this.got.at(-1);
  }
}

function setup(
  hub: SignalingHub,
  ids: string[],
  room = "r",
): { conns: FakeConn[]; peers: SignalingPeer[] } {
  const conns = ids.map(() => new FakeConn());
  const peers = ids.map((id, i) => hub.connect(conns[i]!, { room, id }));
  return { conns, peers };
}

Deno.test("SignalingHub announces joins and leaves, and relays to all or to one", () => {
  const hub = new SignalingHub();
  const { conns: [a, b, c], peers: [pa, pb, pc] } = setup(hub, ["a", "b", "c"]);
  deepEqual(a!.got, [
    { type: "welcome", id: "a", room: "r", peers: [] },
    { type: "joined", id: "b" },
    { type: "joined", id: "c" },
  ]);
  deepEqual(c!.got, [{ type: "welcome", id: "c", room: "r", peers: ["a", "b"] }]);
  hub.receive(pa!, JSON.stringify({ type: "offer", sdp: "v=0\r\n", from: "spoof" }));
  deepEqual(b!.last(), { type: "offer", sdp: "v=0\r\n", from: "a" });
  deepEqual(c!.last(), { type: "offer", sdp: "v=0\r\n", from: "a" });
  equal(a!.got.length, 3);
  hub.receive(pb!, JSON.stringify({ type: "answer", sdp: "x", to: "a" }));
  deepEqual(a!.last(), { type: "answer", sdp: "x", from: "b" });
  equal(c!.got.length, 2);
  hub.receive(pc!, JSON.stringify({ type: "leave" }));
  deepEqual(a!.last(), { type: "left", id: "c" });
  deepEqual(b!.last(), { type: "left", id: "c" });
  hub.receive(pc!, JSON.stringify({ type: "candidate" }));
  deepEqual(c!.last()?.code, "not-joined");
  hub.disconnect(pb!);
  deepEqual(a!.last(), { type: "left", id: "b" });
  deepEqual(b!.closed, [1000, ""]);
  deepEqual(hub.rooms, new Map([["r", new Set(["a"])]]));
  hub.disconnect(pa!);
  equal(hub.rooms.size, 0);
  equal(hub.size, 1);
});

Deno.test("SignalingHub answers bad input with typed errors and keeps the connection", async (t) => {
  const hub = new SignalingHub({ maxMessageSize: 100 });
  const { conns: [a, b], peers: [pa] } = setup(hub, ["a", "b"]);
  const cases: [string, string | Uint8Array, string][] = [
    ["not JSON", "{oops", "bad-json"],
    ["binary", new Uint8Array([1, 2]), "bad-message"],
    ["an array", "[1]", "bad-message"],
    ["a number", "42", "bad-message"],
    ["no type", "{}", "bad-message"],
    ["a type that is not a string", '{"type":1}', "bad-message"],
    ["a server type", '{"type":"joined","id":"x"}', "bad-message"],
    ["an unknown target", '{"type":"offer","to":"nobody"}', "unknown-peer"],
    ["itself as target", '{"type":"offer","to":"a"}', "unknown-peer"],
    ["a non-string target", '{"type":"offer","to":{}}', "unknown-peer"],
    ["an oversize message", JSON.stringify({ type: "x", pad: "y".repeat(100) }), "too-large"],
    [
      "an oversize multi-byte message",
      JSON.stringify({ type: "x", pad: "é".repeat(45) }),
      "too-large",
    ],
    ["a join without room", '{"type":"join"}', "bad-message"],
    ["a join to an empty room name", '{"type":"join","room":""}', "bad-room"],
    ["a join with a control character", '{"type":"join","room":"a\\u0000"}', "bad-room"],
    ["a join with a taken id", '{"type":"join","room":"r","id":"b"}', "id-taken"],
    ["a join with a long id", `{"type":"join","room":"q","id":"${"i".repeat(65)}"}`, "bad-id"],
  ];
  for (const [what, data, code] of cases) {
    await t.step(what, () => {
      const before = b!.got.length;
      hub.receive(pa!, data);
      equal(a!.last()?.type, "error");
      equal(a!.last()?.code, code);
      equal(typeof a!.last()?.message, "string");
      equal(b!.got.length, before, "nothing relayed");
      equal(a!.closed, undefined);
    });
  }
  hub.receive(pa!, '{"type":"ping"}');
  deepEqual(a!.last(), { type: "pong" });
});

Deno.test("SignalingHub enforces room size, room count and message rate", () => {
  let now = 0;
  const hub = new SignalingHub({ maxRoomSize: 2, maxRooms: 2, maxMessageRate: 3, now: () => now });
  const { conns: [, , c], peers: [pa, , pc] } = setup(hub, ["a", "b", "c"]);
  // Joining at connect time failed: error, then closed with 1008.
  equal(c!.got[0]?.code, "room-full");
  deepEqual(c!.closed, [1008, "Cannot join the room"]);
  equal(hub.size, 2);
  hub.receive(pc!, '{"type":"ping"}'); // ignored after disconnect
  equal(c!.got.length, 1);
  const d = new FakeConn(), e = new FakeConn();
  const pd = hub.connect(d), pe = hub.connect(e);
  hub.receive(pd, '{"type":"join","room":"second"}');
  equal(d.last()?.type, "welcome");
  equal(typeof d.last()?.id, "string");
  equal((d.last()?.id as string).length, 12);
  hub.receive(pe, '{"type":"join","room":"third"}');
  equal(e.last()?.code, "too-many-rooms");
  // Moving d to another room: the old one empties and disappears, so the third room fits.
  hub.receive(pd, '{"type":"join","room":"fourth","id":"d"}');
  deepEqual(d.last(), { type: "welcome", id: "d", room: "fourth", peers: [] });
  deepEqual([...hub.rooms.keys()], ["r", "fourth"]);
  // Rate: 3 per second; the 4th gets one error, the 5th nothing; a new second resets.
  const a = new FakeConn();
  const pa2 = hub.connect(a);
  for (let i = 0; i < 5; i++) hub.receive(pa2, '{"type":"ping"}');
  deepEqual(a.got.map((m) => m.type === "error" ? m.code : m.type), [
    "pong",
    "pong",
    "pong",
    "rate-limited",
  ]);
  now += 1000;
  hub.receive(pa2, '{"type":"ping"}');
  deepEqual(a.last(), { type: "pong" });
  ok(pa);
});

Deno.test("SignalingHub drops a peer whose connection lags too far behind", async () => {
  const hub = new SignalingHub({ maxBufferedAmount: 1000 });
  const { conns: [a, b], peers: [pa] } = setup(hub, ["a", "b"]);
  b!.bufferedAmount = 5000;
  hub.receive(pa!, '{"type":"offer"}');
  await Promise.resolve();
  deepEqual(b!.closed, [1008, "Too slow"]);
  deepEqual(a!.last(), { type: "left", id: "b" });
});

Deno.test("SignalingHub never throws on random input (property)", () => {
  const hub = new SignalingHub({ maxMessageSize: 200, maxRoomSize: 3, maxRooms: 3 });
  const conns = [0, 1, 2, 3].map(() => new FakeConn());
  const peers = conns.map((c) => hub.connect(c));
  const message = fc.oneof(
    fc.string(),
    fc.json(),
    fc.record({
      type: fc.constantFrom("join", "leave", "offer", "answer", "ping", "welcome", "x"),
      room: fc.constantFrom("a", "b", "c", "d", ""),
      id: fc.option(fc.constantFrom("p", "q", "r"), { nil: undefined }),
      to: fc.option(fc.constantFrom("p", "q", "r", 1), { nil: undefined }),
    }).map((m) => JSON.stringify(m)),
    fc.uint8Array({ maxLength: 8 }),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(3), message), { maxLength: 30 }), (steps) => {
      for (const [i, data] of steps) hub.receive(peers[i]!, data);
      for (const [name, members] of hub.rooms) {
        ok(members.size >= 1 && members.size <= 3, `room ${name} has ${members.size}`);
      }
      ok(hub.rooms.size <= 3);
    }),
  );
});

// === Over WebSocket (std/ietf/rfc6455 server and client) ===

class Client {
  readonly ws: WebSocket;
  readonly got: Msg[] = [];
  #waiters: (() => void)[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseEvent>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.opened = new Promise((r) => this.ws.addEventListener("open", () => r()));
    this.closed = new Promise((r) => this.ws.addEventListener("close", (e) => r(e as CloseEvent)));
    this.ws.addEventListener("message", (e) => {
      this.got.push(JSON.parse((e as MessageEvent).data));
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Waits for the n-th message (1-based) and returns it. */
  async nth(n: number): Promise<Msg> {
    while (this.got.length < n) {
      await withTimeout(new Promise<void>((r) => this.#waiters.push(r)), 5000, `message ${n}`);
    }
    return this.got[n - 1]!;
  }

  send(m: Msg | string): void {
    this.ws.send(typeof m === "string" ? m : JSON.stringify(m));
  }
}

Deno.test("serveNotify() relays between three WebSocket clients of a room", async () => {
  await using server = serveNotify({ hostname: "127.0.0.1", port: 0, maxMessageSize: 1024 });
  const url = `ws://127.0.0.1:${server.addr.port}/signal`;
  const a = new Client(`${url}?room=lobby&id=alice`);
  deepEqual(await a.nth(1), { type: "welcome", id: "alice", room: "lobby", peers: [] });
  const b = new Client(`${url}?room=lobby&id=bob`);
  deepEqual(await b.nth(1), { type: "welcome", id: "bob", room: "lobby", peers: ["alice"] });
  const c = new Client(url);
  await c.opened;
  c.send({ type: "join", room: "lobby", id: "carol" });
  deepEqual(await c.nth(1), {
    type: "welcome",
    id: "carol",
    room: "lobby",
    peers: ["alice", "bob"],
  });
  deepEqual(await a.nth(3), { type: "joined", id: "carol" });
  deepEqual(await b.nth(2), { type: "joined", id: "carol" });
  // To all.
  a.send({ type: "offer", sdp: "v=0" });
  deepEqual(await b.nth(3), { type: "offer", sdp: "v=0", from: "alice" });
  deepEqual(await c.nth(2), { type: "offer", sdp: "v=0", from: "alice" });
  // To one.
  c.send({ type: "answer", sdp: "v=0 c", to: "alice" });
  deepEqual(await a.nth(4), { type: "answer", sdp: "v=0 c", from: "carol" });
  // Oversize (above the hub limit, below the socket limit) and malformed: errors, still open.
  b.send({ type: "candidate", pad: "x".repeat(2000) });
  equal((await b.nth(4)).code, "too-large");
  b.send("not json");
  equal((await b.nth(5)).code, "bad-json");
  b.ws.send(new Uint8Array([0xff]));
  equal((await b.nth(6)).code, "bad-message");
  b.send({ type: "ping" });
  deepEqual(await b.nth(7), { type: "pong" });
  // Far above the socket limit: the WebSocket layer closes with 1009 (message too big).
  b.send("y".repeat(20 * 1024)); // the socket limit is max(4 × 1024, 16 KiB)
  equal((await b.closed).code, 1009);
  deepEqual(await a.nth(5), { type: "left", id: "bob" });
  deepEqual(await c.nth(3), { type: "left", id: "bob" });
  // A clean close: leave notification.
  c.ws.close(1000);
  await c.closed;
  deepEqual(await a.nth(6), { type: "left", id: "carol" });
  equal(a.got.length, 6);
  // Plain HTTP gets the status.
  const status = await fetch(`http://127.0.0.1:${server.addr.port}/`);
  deepEqual(await status.json(), { rooms: 1, peers: 1 });
  a.ws.close();
  await a.closed;
});

Deno.test("serveNotify() refuses a full room at connect time and an unknown path", async () => {
  await using server = serveNotify({
    hostname: "127.0.0.1",
    port: 0,
    maxRoomSize: 1,
    path: "/ws",
  });
  const base = `ws://127.0.0.1:${server.addr.port}`;
  const a = new Client(`${base}/ws?room=x`);
  equal((await a.nth(1)).type, "welcome");
  const b = new Client(`${base}/ws?room=x`);
  equal((await b.nth(1)).code, "room-full");
  equal((await b.closed).code, 1008);
  const c = new Client(`${base}/other?room=y`);
  const ev = await c.closed;
  equal(ev.code, 1008);
  equal(ev.reason, "Unknown path");
  a.ws.close();
  await a.closed;
});

// === Chromium: two RTCPeerConnections signaled through notify.ts ===

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>notify</title></head>
<body><pre id="log"></pre><script>
const log = (s) => document.getElementById("log").textContent += s + "\\n";
const params = new URLSearchParams(location.search);
const lo = (c) => / (127\\.0\\.0\\.1|::1) /.test(c.candidate);
function peer(id) {
  const ws = new WebSocket(params.get("ws") + "?room=interop&id=" + id);
  const pc = new RTCPeerConnection();
  const send = (m) => ws.send(JSON.stringify(m));
  let other;
  pc.onicecandidate = (e) => e.candidate && lo(e.candidate) && other &&
    send({ type: "candidate", candidate: e.candidate.toJSON(), to: other });
  ws.onmessage = async (e) => {
    const m = JSON.parse(e.data);
    log(id + " <- " + m.type);
    if (m.type === "welcome" && m.peers.length) { other = m.peers[0]; }
    if (m.type === "joined" && id === "pc1") {
      other = m.id;
      pc.createDataChannel("chat").onopen = (ev) => ev.target.send("hello through notify");
      await pc.setLocalDescription();
      send({ type: "offer", description: pc.localDescription, to: other });
    }
    if (m.type === "offer") {
      other = m.from;
      await pc.setRemoteDescription(m.description);
      await pc.setLocalDescription();
      send({ type: "answer", description: pc.localDescription, to: other });
    }
    if (m.type === "answer") await pc.setRemoteDescription(m.description);
    if (m.type === "candidate") await pc.addIceCandidate(m.candidate);
  };
  return { pc, opened: new Promise((r) => ws.onopen = r) };
}
(async () => {
  const result = { pc1: "", pc2: "", message: "" };
  const t0 = performance.now();
  try {
    const p1 = peer("pc1");
    await p1.opened;
    const p2 = peer("pc2");
    p2.pc.ondatachannel = (e) => e.channel.onmessage = (m) => result.message = m.data;
    for (let i = 0; i < 150 && !(p1.pc.connectionState === "connected" &&
      p2.pc.connectionState === "connected" && result.message); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    result.pc1 = p1.pc.connectionState;
    result.pc2 = p2.pc.connectionState;
    result.ms = Math.round(performance.now() - t0);
  } catch (e) { result.error = String(e); }
  result.log = document.getElementById("log").textContent;
  await fetch("/data/result", { method: "PUT", headers: { "content-type": "application/json" },
    body: JSON.stringify(result) });
})();
</script></body></html>`;

interopTest(
  "Chromium: two RTCPeerConnections reach connected, signaled through serveNotify()",
  [{ bin: "chromium", apt: "chromium" }],
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/page.html`, PAGE);
      const store: Record<string, unknown> = {};
      const router = new Router();
      new FileResource(dir).mount(router, "/files");
      new DataResource(store).mount(router, "/data");
      const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, router.fetch);
      await using signaling = serveNotify({ hostname: "127.0.0.1", port: 0 });
      try {
        const page = `http://127.0.0.1:${http.addr.port}/files/page.html?ws=${
          encodeURIComponent(`ws://127.0.0.1:${signaling.addr.port}/`)
        }`;
        await using browser = startPeer("chromium", [
          "--headless=new",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-default-apps",
          `--user-data-dir=${dir}/profile`,
          "--use-fake-device-for-media-stream",
          "--use-fake-ui-for-media-stream",
          "--allow-loopback-in-peer-connection",
          page,
        ]);
        for (let i = 0; i < 300 && store.result === undefined; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        const result = store.result as Record<string, string> | undefined;
        ok(result, `no result from the page; chromium said:\n${browser.output().slice(-2000)}`);
        deepEqual(
          { pc1: result.pc1, pc2: result.pc2, message: result.message },
          { pc1: "connected", pc2: "connected", message: "hello through notify" },
          JSON.stringify(result),
        );
        console.log(`Chromium peers connected through notify.ts in ${result.ms} ms`);
      } finally {
        await http.shutdown();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeout: 60_000 },
);

Deno.test("notify.ts command line serves the protocol with its limits", async () => {
  await using proc = startPeer(Deno.execPath(), [
    "run",
    "-A",
    new URL("./notify.ts", import.meta.url).pathname,
    "--hostname",
    "127.0.0.1",
    "--port",
    "0",
    "--path",
    "/ws",
    "--max-room-size",
    "1",
  ]);
  await proc.waitFor(/Signaling on ws:\/\/127\.0\.0\.1:\d+\/ws/, 20_000);
  const port = /127\.0\.0\.1:(\d+)/.exec(proc.output())![1];
  const a = new Client(`ws://127.0.0.1:${port}/ws?room=r&id=a`);
  deepEqual(await a.nth(1), { type: "welcome", id: "a", room: "r", peers: [] });
  const b = new Client(`ws://127.0.0.1:${port}/ws`);
  await b.opened;
  b.send({ type: "join", room: "r" });
  equal((await b.nth(1)).code, "room-full");
  a.ws.close();
  b.ws.close();
  await Promise.all([a.closed, b.closed]);
});

Deno.test("notify.ts command line: --help exits 0, usage errors exit 2 before any I/O", async () => {
  const run = async (...args: string[]) =>
    await new Deno.Command(Deno.execPath(), {
      // Without --allow-net: usage errors come first.
      args: ["run", new URL("./notify.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const help = await run("--help");
  equal(help.code, 0);
  ok(new TextDecoder().decode(help.stdout).includes("--max-room-size N"));
  equal((await run("--nope")).code, 2);
  equal((await run("--max-rooms", "many")).code, 2);
  equal((await run("--cert", "c.pem")).code, 2);
});

// === Squatting and exhaustion (issue 18.15) ===

Deno.test("SignalingHub bounds the rooms and room members of one address (issue 18.15)", () => {
  const hub = new SignalingHub({ maxRoomsPerAddress: 3, maxMembersPerAddress: 2 });
  const conn = () => new FakeConn();
  // Mallory creates 3 rooms; the 4th is refused, and a name is not squatted for others.
  for (let i = 0; i < 3; i++) {
    const c = conn();
    hub.connect(c, { room: `r${i}`, address: "10.0.0.66" });
    equal(c.got[0]!.type, "welcome");
  }
  const fourth = conn();
  hub.connect(fourth, { room: "lobby", address: "10.0.0.66" });
  equal(fourth.got[0]!.code, "too-many-rooms");
  deepEqual(fourth.closed, [1008, "Cannot join the room"]);
  const alice = conn();
  const aliceP = hub.connect(alice, { room: "lobby", id: "alice", address: "10.0.0.1" });
  equal(alice.got[0]!.type, "welcome");
  // Two members of lobby from Mallory's address; the third is refused, so the room stays open.
  for (let i = 0; i < 2; i++) {
    const c = conn();
    hub.connect(c, { room: "lobby", address: "10.0.0.66" });
    equal(c.got[0]!.type, "welcome");
  }
  const third = conn();
  hub.connect(third, { room: "lobby", id: "bob", address: "10.0.0.66" });
  equal(third.got[0]!.code, "address-limit");
  const bob = conn();
  hub.connect(bob, { room: "lobby", id: "bob", address: "10.0.0.2" });
  equal(bob.got[0]!.type, "welcome");
  // A room Mallory created counts until it is empty: when it goes, she may create another.
  hub.disconnect(aliceP);
  equal(hub.rooms.get("lobby")!.size, 3);
});

Deno.test("serveNotify() caps connections per address and closes idle ones (issue 18.15)", async () => {
  await using server = serveNotify({
    hostname: "127.0.0.1",
    port: 0,
    maxPerAddress: 6,
    maxMembersPerAddress: 2,
    maxRoomsPerAddress: 2,
    idleTimeout: 600,
  });
  const url = `ws://127.0.0.1:${server.addr.port}/`;
  // Members of one room from one address: the third is refused.
  const a = new Client(`${url}?room=lobby&id=a`);
  const b = new Client(`${url}?room=lobby&id=b`);
  equal((await a.nth(1)).type, "welcome");
  equal((await b.nth(1)).type, "welcome");
  const c = new Client(`${url}?room=lobby&id=c`);
  equal((await c.nth(1)).code, "address-limit");
  equal((await c.closed).code, 1008);
  // Rooms created from one address: the third is refused.
  const d = new Client(`${url}?room=other`);
  equal((await d.nth(1)).type, "welcome");
  const e = new Client(`${url}?room=third`);
  equal((await e.nth(1)).code, "too-many-rooms");
  await e.closed;
  // Connections from one address: 3 are open, so 3 more fit and the 7th is closed at once.
  await new Promise((r) => setTimeout(r, 100));
  const more = [new Client(url), new Client(url), new Client(url)];
  await Promise.all(more.map((m) => m.opened));
  const refused = new Client(url);
  const ev = await withTimeout(refused.closed, 5000, "refused connection");
  equal(ev.code, 1006);
  equal(refused.got.length, 0);
  // Past the idle timeout, clients that answer the pings stay.
  await new Promise((r) => setTimeout(r, 900));
  equal(a.ws.readyState, WebSocket.OPEN);
  for (const x of [a, b, d, ...more]) x.ws.close();
  await Promise.all([a, b, d, ...more].map((x) => x.closed));
  equal(server.hub.size, 0);
});
