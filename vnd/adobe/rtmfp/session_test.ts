// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { toHex } from "@rtclite/std/bytes";
import {
  type Chunk,
  DEFAULT_KEY,
  encodeMultiplex,
  encodePacket,
  encryptPacket,
  peerIdEpd,
  RtmfpEndpoint,
  RtmfpError,
  type RtmfpPacket,
  type RtmfpSession,
  type SocketAddress,
  urlEpd,
} from "./mod.ts";

// === An in-memory network on a manual clock ===

interface Sent {
  at: number;
  from: string;
  to: string;
  packet: RtmfpPacket;
}

class Net {
  now = 0;
  latency: () => number = () => 10;
  drop: (from: string, to: string, n: number) => boolean = () => false;
  /** Rewrites the source address a receiver sees (a NAT, or a second interface). */
  source: (from: string, to: string) => string = (from) => from;
  readonly endpoints = new Map<string, RtmfpEndpoint>();
  readonly #ips = new Map<string, string>();
  readonly #names = new Map<string, string>();
  readonly log: Sent[] = [];
  #queue: { at: number; seq: number; data: Uint8Array; from: string; to: string }[] = [];
  #seq = 0;
  #n = 0;

  add(name: string, port = 1935, options: { keepalive?: number } = {}): RtmfpEndpoint {
    const ip = `10.0.0.${this.#ips.size + 1}`;
    this.#ips.set(name, ip);
    this.#names.set(ip, name);
    const ep = new RtmfpEndpoint({
      now: () => this.now,
      send: (data, to) => {
        const dest = this.#names.get(to.address) ?? to.address;
        if (this.drop(name, dest, this.#n++)) return;
        this.#queue.push({
          at: this.now + this.latency(),
          seq: this.#seq++,
          data,
          from: name,
          to: dest,
        });
      },
      ...options,
    });
    ep.onTrace = (dir, _peer, _sid, packet) => {
      if (dir === "out") this.log.push({ at: this.now, from: name, to: "", packet });
    };
    this.endpoints.set(name, ep);
    void port;
    return ep;
  }

  addr(name: string, port = 1935): SocketAddress {
    return { address: this.#ips.get(name) ?? name, port };
  }

  /** Runs until nothing is due before `until`. */
  run(until: number): void {
    for (let guard = 0; guard < 200_000; guard++) {
      this.#queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#queue[0]?.at ?? Infinity;
      let timer = Infinity;
      for (const ep of this.endpoints.values()) {
        timer = Math.min(timer, ep.nextTimeout() ?? Infinity);
      }
      const t = Math.min(next, timer);
      if (t > until) {
        this.now = until;
        return;
      }
      this.now = Math.max(this.now, t);
      if (next <= timer) {
        const d = this.#queue.shift()!;
        const ep = this.endpoints.get(d.to);
        const [name, port] = this.source(d.from, d.to).split(":");
        ep?.receive(d.data, this.addr(name!, port ? Number(port) : 1935));
      } else {
        for (const ep of this.endpoints.values()) {
          if ((ep.nextTimeout() ?? Infinity) <= this.now) ep.tick();
        }
      }
    }
    throw new Error("network did not settle");
  }

  chunks(from: string, type: Chunk["type"]): Sent[] {
    return this.log.filter((s) => s.from === from && s.packet.chunks.some((c) => c.type === type));
  }
}

function open(net: Net, a: RtmfpEndpoint, to: string): RtmfpSession {
  const s = a.connect(urlEpd(`rtmfp://${to}/app`), [net.addr(to)]);
  net.run(net.now + 200);
  equal(s.state, "open");
  return s;
}

const text = (s: string) => new TextEncoder().encode(s);

// === Handshake (RFC 7016 §3.5.1) ===

Deno.test("handshake: IHello, RHello, IIKeying, RIKeying open both ends (§3.5.1.1)", () => {
  const net = new Net();
  const a = net.add("a"), b = net.add("b");
  let responder: RtmfpSession | undefined;
  b.onSession = (s) => responder = s;
  const s = open(net, a, "b");
  deepEqual(net.log.map((l) => `${l.from} ${l.packet.mode} ${l.packet.chunks[0]?.type}`), [
    "a 3 ihello",
    "b 3 rhello",
    "a 3 iikeying",
    "b 3 rikeying",
  ]);
  ok(responder);
  equal(responder.state, "open");
  equal(s.role, "initiator");
  equal(responder.role, "responder");
  // Each end's send session id is the other's receive session id.
  equal(s.txSessionId, responder.rxSessionId);
  equal(responder.txSessionId, s.rxSessionId);
  // The keys are mirrored, and not the default key.
  deepEqual(s.encryptKey, responder.decryptKey);
  deepEqual(s.decryptKey, responder.encryptKey);
  ok(toHex(s.encryptKey) !== toHex(DEFAULT_KEY));
  ok(toHex(s.encryptKey) !== toHex(s.decryptKey));
  // Each knows the other's peer id.
  deepEqual(s.farPeerId, b.peerId);
  deepEqual(responder.farPeerId, a.peerId);
});

Deno.test("handshake: IHello retransmits with backoff, then S_OPEN_FAILED at 95 s (§3.5.1.1.1)", () => {
  const net = new Net();
  const a = net.add("a");
  const s = a.connect(urlEpd("rtmfp://nowhere/"), [net.addr("nowhere")]);
  let reason = "";
  s.onClose = (r) => reason = r;
  net.run(100_000);
  deepEqual(net.chunks("a", "ihello").map((l) => l.at), [
    0,
    1500,
    4500,
    10500,
    22500,
    46500,
    94500,
  ]);
  equal(s.state, "openFailed");
  equal(reason, "open timeout");
  equal(a.sessions.length, 0);
});

Deno.test("handshake: lost RHello and RIKeying are recovered by retransmission", () => {
  const net = new Net();
  const a = net.add("a");
  net.add("b");
  const dropped = new Set<number>();
  // Drop b's first RHello, and the RIKeying answering the first IIKeying.
  let bSent = 0;
  net.drop = (from) => {
    if (from !== "b") return false;
    const n = bSent++;
    if (n !== 0 && n !== 2) return false;
    dropped.add(n);
    return true;
  };
  const s = a.connect(urlEpd("rtmfp://b/"), [net.addr("b")]);
  net.run(10_000);
  equal(s.state, "open");
  equal(dropped.size, 2);
  equal(net.chunks("a", "iikeying").length, 2);
});

Deno.test("cookie change: an IIKeying from another address gets a new cookie (§3.5.1.2)", () => {
  const net = new Net();
  const a = net.add("a");
  net.add("b");
  // b sees a's IHello from a:1935 but everything after from a:2000 (a second interface).
  let first = true;
  net.source = (from, to) => {
    if (from !== "a" || to !== "b") return from;
    if (first) {
      first = false;
      return from;
    }
    return "a:2000";
  };
  const s = a.connect(urlEpd("rtmfp://b/"), [net.addr("b")]);
  net.run(1_000);
  equal(net.chunks("b", "cookieChange").length, 1);
  equal(net.chunks("a", "iikeying").length, 2);
  equal(s.state, "open");
});

Deno.test("nothing unauthenticated changes session state", () => {
  const net = new Net();
  const a = net.add("a"), b = net.add("b");
  let responder!: RtmfpSession;
  b.onSession = (x) => responder = x;
  const s = open(net, a, "b");
  const before = b.stats.dropped;
  // A Close Request under the default key, to the right session id, from the right address.
  const forged = encodeMultiplex(
    responder.rxSessionId,
    encryptPacket(DEFAULT_KEY, encodePacket({ mode: 1, chunks: [{ type: "close" }] })),
  );
  b.receive(forged, net.addr("a"));
  // Garbage, a too-short datagram, an unknown session id, a bad IIKeying cookie.
  b.receive(new Uint8Array(37).fill(9), net.addr("a"));
  b.receive(new Uint8Array(2), net.addr("a"));
  b.receive(encodeMultiplex(12345, encryptPacket(DEFAULT_KEY, new Uint8Array([1]))), net.addr("a"));
  b.receive(
    encodeMultiplex(
      0,
      encryptPacket(
        DEFAULT_KEY,
        encodePacket({
          mode: 3,
          chunks: [{
            type: "iikeying",
            initiatorSessionId: 7,
            cookieEcho: new Uint8Array(44),
            certificate: a.certificate,
            skic: new Uint8Array(3),
            signature: new Uint8Array(),
          }],
        }),
      ),
    ),
    net.addr("a"),
  );
  equal(b.stats.dropped - before, 5);
  equal(responder.state, "open");
  equal(b.sessions.length, 1);
  equal(s.state, "open");
});

Deno.test("a startup packet larger than the MTU goes in Packet Fragments, reassembled (§3.4)", () => {
  const net = new Net();
  const a = net.add("a");
  net.add("b");
  const s = a.connect(urlEpd("rtmfp://b/" + "x".repeat(3000)), [net.addr("b")]);
  net.run(500);
  equal(s.state, "open");
  const fragments = net.chunks("a", "fragment").map((l) => l.packet.chunks[0]!);
  deepEqual(fragments.map((c) => c.type === "fragment" && [c.packetId, c.fragmentNum, c.more]), [
    [1, 0, true],
    [1, 1, true],
    [1, 2, false],
  ]);
  equal(net.chunks("b", "rhello").length, 1);
});

Deno.test("a reassembled packet whose mode differs from its fragments' is discarded (§3.4)", () => {
  const net = new Net();
  const b = net.add("b");
  const inner = encodePacket({
    mode: 1,
    chunks: [{ type: "ihello", epd: urlEpd("rtmfp://b/"), tag: new Uint8Array(16) }],
  });
  const half = Math.ceil(inner.length / 2);
  const before = b.stats.dropped;
  for (const [i, data] of [inner.subarray(0, half), inner.subarray(half)].entries()) {
    const p = encodePacket({
      mode: 3,
      chunks: [{ type: "fragment", more: i === 0, packetId: 9, fragmentNum: i, data }],
    });
    b.receive(encodeMultiplex(0, encryptPacket(DEFAULT_KEY, p)), net.addr("a"));
  }
  net.run(100);
  equal(b.stats.dropped - before, 1);
  equal(net.chunks("b", "rhello").length, 0);
});

// === Rendezvous: redirect and forwarded hello (§3.5.1.4, §3.5.1.5) ===

Deno.test("rendezvous: an IHello for a registered peer id is redirected and forwarded", () => {
  const net = new Net();
  const server = net.add("s"), a = net.add("a"), b = net.add("b");
  const registered = new Map<string, RtmfpSession>();
  server.onSession = (x) => registered.set(toHex(x.farPeerId!), x);
  server.onHello = ({ epd, tag, from, epdBytes }) => {
    if (!("peerId" in epd)) return undefined;
    const peer = registered.get(toHex(epd.peerId));
    if (!peer?.address) return undefined;
    peer.forwardHello(epdBytes, tag, { ...from, origin: 2 });
    return [{ ...peer.address, origin: 2 }];
  };
  open(net, b, "s"); // b registers by opening a session with the server
  open(net, a, "s");
  const toB = a.connect(peerIdEpd(b.peerId), [net.addr("s")]);
  let bSide: RtmfpSession | undefined;
  b.onSession = (x) => bSide = x;
  net.run(net.now + 500);
  equal(toB.state, "open");
  deepEqual(toB.address, net.addr("b"));
  deepEqual(toB.farPeerId, b.peerId);
  deepEqual(bSide?.farPeerId, a.peerId);
  equal(server.stats.redirects, 1);
  equal(net.chunks("s", "fihello").length, 1);
  // Data goes directly between a and b.
  const got: string[] = [];
  bSide!.onFlow = (f) => f.onMessage = (m) => got.push(new TextDecoder().decode(m));
  const serverIn = server.stats.received;
  toB.openFlow(text("chat")).send(text("hello b"));
  net.run(net.now + 500);
  deepEqual(got, ["hello b"]);
  equal(server.stats.received, serverIn);
});

Deno.test("an IHello for an unknown peer id is ignored", () => {
  const net = new Net();
  const a = net.add("a");
  net.add("b");
  const s = a.connect(peerIdEpd(new Uint8Array(32).fill(1)), [net.addr("b")]);
  net.run(1000);
  equal(s.state, "ihelloSent");
  equal(net.chunks("b", "rhello").length, 0);
});

// === Flows (RFC 7016 §3.6) ===

function pair(net: Net) {
  const a = net.add("a", 1935, { keepalive: 0 }), b = net.add("b", 1935, { keepalive: 0 });
  let responder!: RtmfpSession;
  b.onSession = (x) => responder = x;
  const s = open(net, a, "b");
  const got: Uint8Array[] = [];
  responder.onFlow = (f) => f.onMessage = (m) => got.push(m);
  return { a, b, s, responder, got };
}

Deno.test("flows: messages are fragmented, acknowledged and delivered in order", () => {
  const net = new Net();
  const { s, responder, got } = pair(net);
  const flow = s.openFlow(text("meta"));
  const big = new Uint8Array(5000).map((_, i) => i & 0xff);
  flow.send(text("one"));
  flow.send(big);
  flow.send(text("three"));
  net.run(net.now + 2000);
  deepEqual(got.map((m) => m.length), [3, 5000, 5]);
  deepEqual(got[1], big);
  deepEqual(responder.recvFlows[0]?.metadata, text("meta"));
  equal(flow.queue.length, 0);
  equal(flow.outstandingBytes, 0);
  // Next User Data was used for consecutive fragments in one packet.
  ok(net.chunks("a", "nextUserData").length > 0);
  ok(s.srtt !== undefined && s.srtt >= 20 && s.srtt <= 30, `srtt ${s.srtt}`);
});

Deno.test("flows: 20% loss and reordering still deliver every message once, in order", () => {
  const net = new Net();
  const { s, got } = pair(net);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  net.drop = () => rand() < 0.2;
  net.latency = () => 5 + rand() * 40;
  const flow = s.openFlow(text("m"));
  const sent: string[] = [];
  for (let i = 0; i < 200; i++) {
    const m = `message ${i} ` + "x".repeat(i * 13 % 3000);
    sent.push(m);
    flow.send(text(m));
  }
  net.run(net.now + 120_000);
  deepEqual(got.map((m) => new TextDecoder().decode(m)), sent);
  ok(s.stats.retransmissions > 0);
  equal(flow.queue.length, 0);
});

Deno.test("retransmission: ERTO starts at 3 s and backs off by 1.4142 up to 10 s (§3.5.2.2)", () => {
  const net = new Net();
  const { s } = pair(net);
  net.drop = (from) => from === "a";
  const t0 = net.now;
  s.openFlow(text("m")).send(text("lost"));
  net.run(t0 + 60_000);
  const times = net.chunks("a", "userData").map((l) => l.at - t0);
  const gaps = times.slice(1).map((t, i) => Math.round(t - times[i]!));
  deepEqual(gaps.slice(0, 7), [3000, 4243, 6000, 8485, 10000, 10000, 10000]);
  equal(s.erto, 10_000);
  ok(s.stats.timeouts >= 7);
});

Deno.test("congestion: slow start grows the window; a timeout collapses it (§3.5.2)", () => {
  const net = new Net();
  const { s, got } = pair(net);
  const flow = s.openFlow(text("m"));
  equal(s.cwnd, 4380);
  const blocked = () => net.chunks("a", "userData").length;
  for (let i = 0; i < 50; i++) flow.send(new Uint8Array(1000));
  // Before any acknowledgement, no more than the initial window is in flight: five chunks of
  // 1000 bytes of data and 10 of header start below 4380 bytes outstanding.
  equal(blocked(), 5);
  net.run(net.now + 3000);
  equal(got.length, 50);
  ok(s.cwnd > 4380 * 4, `cwnd ${s.cwnd}`);
  const grown = s.cwnd;
  net.drop = (from) => from === "a";
  flow.send(new Uint8Array(1000));
  net.run(net.now + s.erto + 100);
  equal(s.cwnd, 1180);
  equal(s.ssthresh, Math.floor(grown / 2));
});

Deno.test("burst avoidance: no more than six data packets between acknowledgements (§3.5.2.3)", () => {
  const net = new Net();
  const { s } = pair(net);
  s.cwnd = 100_000; // a large window, as after a long transfer
  net.drop = (from) => from === "b"; // no acknowledgements come back
  const flow = s.openFlow(text("m"));
  for (let i = 0; i < 20; i++) flow.send(new Uint8Array(1100));
  net.run(net.now + 100);
  equal(net.chunks("a", "userData").length, 6);
});

Deno.test("flow exception: a rejected flow is reported and closed at the sender (§3.6.2.10)", () => {
  const net = new Net();
  const { s, responder } = pair(net);
  responder.onFlow = (f) => f.reject(42);
  const flow = s.openFlow(text("m"));
  let code: number | undefined;
  flow.onException = (c) => code = c;
  flow.send(text("unwanted"));
  net.run(net.now + 1000);
  equal(code, 42);
  equal(net.chunks("b", "flowException").length >= 1, true);
  ok(flow.state === "closing" || flow.state === "completeLinger", flow.state);
  throws(() => flow.send(text("more")), RtmfpError);
});

Deno.test("flows without metadata, or with an unknown critical option, are rejected (§3.6.3.1)", () => {
  const net = new Net();
  const { b, s, responder } = pair(net);
  let opened = 0;
  responder.onFlow = () => opened++;
  const inject = (flowId: number, options: { type: number; value: Uint8Array }[]) =>
    b.receive(
      encodeMultiplex(
        s.txSessionId,
        encryptPacket(
          s.encryptKey,
          encodePacket({
            mode: 1,
            chunks: [{
              type: "userData",
              flowId,
              sequenceNumber: 1,
              fsnOffset: 1,
              fragment: 0,
              abandon: false,
              final: false,
              options,
              data: text("x"),
            }],
          }),
        ),
      ),
      net.addr("a"),
    );
  inject(9, []); // no metadata
  inject(10, [{ type: 0, value: text("m") }, { type: 5, value: new Uint8Array() }]); // unknown < 8192
  inject(11, [{ type: 0, value: text("m") }, { type: 0x2000, value: new Uint8Array() }]); // ignorable
  net.run(net.now + 500);
  const reports = net.log.filter((l) => l.from === "b").flatMap((l) => l.packet.chunks)
    .filter((c) => c.type === "flowException");
  // A report precedes every acknowledgement of a rejected flow.
  deepEqual([
    ...new Set(reports.map((c) => c.type === "flowException" && `${c.flowId}:${c.exception}`)),
  ], [
    "9:0",
    "10:0",
  ]);
  equal(opened, 1);
  deepEqual(responder.recvFlows.map((f) => [f.id, f.state]), [[9, "rejected"], [10, "rejected"], [
    11,
    "open",
  ]]);
});

Deno.test("buffer probe: a receiver with no room is probed until it has some (§3.6.2.9.1)", () => {
  const net = new Net();
  const { s, responder, got } = pair(net);
  responder.onFlow = (f) => {
    f.bufferCapacity = 0;
    f.onMessage = (m) => got.push(m);
  };
  const flow = s.openFlow(text("m"));
  flow.send(text("first"));
  net.run(net.now + 500);
  equal(flow.rxBufferSize, 0);
  flow.send(text("second"));
  net.run(net.now + 500);
  equal(got.length, 1);
  net.run(net.now + 5000);
  ok(net.chunks("a", "bufferProbe").length >= 1);
  equal(got.length, 1);
  responder.recvFlows[0]!.bufferCapacity = 65536;
  net.run(net.now + 10_000);
  equal(got.length, 2);
});

Deno.test("flow close: the final fragment completes both ends (§3.6.2.11)", () => {
  const net = new Net();
  const { s, responder } = pair(net);
  let recvDone = false, sendDone = false;
  responder.onFlow = (f) => f.onComplete = () => recvDone = true;
  const flow = s.openFlow(text("m"));
  flow.onComplete = () => sendDone = true;
  flow.send(text("last words"));
  flow.close();
  net.run(net.now + 1000);
  ok(recvDone);
  ok(sendDone);
  // Both ends linger (the sender 130 s, the receiver 120 s), then close and forget the flow.
  equal(flow.state, "completeLinger");
  const recv = responder.recvFlows[0]!;
  equal(recv.state, "completeLinger");
  net.run(net.now + 120_500);
  equal(recv.state, "closed");
  equal(responder.recvFlows.length, 0);
  equal(flow.state, "completeLinger");
  net.run(net.now + 10_000);
  equal(flow.state, "closed");
  equal(s.sendFlows.length, 0);
});

Deno.test("return flow association: a flow answering a receiving flow (§2.3.11.1.2)", () => {
  const net = new Net();
  const { s, responder } = pair(net);
  const answers: string[] = [];
  responder.onFlow = (f) => {
    const back = responder.openFlow(text("reply"), f.id);
    f.onMessage = (m) => back.send(m);
  };
  s.onFlow = (f) => {
    equal(f.returnFlowId, 1);
    f.onMessage = (m) => answers.push(new TextDecoder().decode(m));
  };
  s.openFlow(text("ask")).send(text("echo me"));
  net.run(net.now + 1000);
  deepEqual(answers, ["echo me"]);
  throws(() => s.openFlow(text("x"), 99), RangeError);
});

// === Keepalive and close (RFC 7016 §3.5.4, §3.5.5) ===

Deno.test("keepalive: an idle session pings, the far end replies (§3.5.4.1)", () => {
  const net = new Net();
  const a = net.add("a", 1935, { keepalive: 10_000 }), b = net.add("b", 1935, { keepalive: 0 });
  void b;
  const s = open(net, a, "b");
  net.run(net.now + 25_000);
  equal(net.chunks("a", "ping").length, 2);
  equal(net.chunks("b", "pingReply").length, 2);
  equal(s.state, "open");
});

Deno.test("close: Close Request, Close Ack; the far end lingers 19 s (§3.5.5)", () => {
  const net = new Net();
  const { s, responder } = pair(net);
  s.close();
  equal(s.state, "nearClose");
  net.run(net.now + 100);
  equal(s.state, "closed");
  equal(responder.state, "farCloseLinger");
  net.run(net.now + 19_000);
  equal(responder.state, "closed");
  throws(() => s.openFlow(text("m")), RtmfpError);
});

Deno.test("close: without a Close Ack, Close Requests every 5 s for 90 s (§3.5.5)", () => {
  const net = new Net();
  const { s } = pair(net);
  net.drop = (from) => from === "a";
  const t0 = net.now;
  s.close();
  net.run(t0 + 100_000);
  const times = net.chunks("a", "close").map((l) => l.at - t0);
  equal(times.length, 18);
  equal(times[1], 5000);
  equal(s.state, "closed");
});

// === Glare, mobility, time critical, dead peers ===

Deno.test("glare: two endpoints opening to each other end with one session (§3.5.1.3)", () => {
  const net = new Net();
  const a = net.add("a"), b = net.add("b");
  const fromA = a.connect(urlEpd("rtmfp://b/"), [net.addr("b")]);
  const fromB = b.connect(urlEpd("rtmfp://a/"), [net.addr("a")]);
  const reasons: string[] = [];
  fromA.onClose = (r) => reasons.push(`a: ${r}`);
  fromB.onClose = (r) => reasons.push(`b: ${r}`);
  net.run(2000);
  const open = (ep: RtmfpEndpoint) => ep.sessions.filter((s) => s.state === "open");
  equal(open(a).length, 1);
  equal(open(b).length, 1);
  deepEqual(reasons.length, 1);
  ok(reasons[0]!.endsWith("glare"));
  // The survivor is one session: a's is b's far end.
  equal(open(a)[0]!.txSessionId, open(b)[0]!.rxSessionId);
});

Deno.test("address mobility: a new far address is verified by a Ping before use (§3.5.4.2)", () => {
  const net = new Net();
  const { s, responder, got } = pair(net);
  equal(responder.address?.port, 1935);
  net.source = (from) => from === "a" ? "a:2000" : from; // a's NAT rebinds to another port
  const moved: number[] = [];
  responder.onAddressChange = (addr) => moved.push(addr.port);
  s.openFlow(text("m")).send(text("after the move"));
  net.run(net.now + 500);
  deepEqual(got.map((m) => new TextDecoder().decode(m)), ["after the move"]);
  deepEqual(moved, [2000]);
  equal(responder.address?.port, 2000);
  // The check was a Ping with the 'M' marking and a Ping Reply from the new address.
  ok(
    net.chunks("b", "ping").some((l) =>
      l.packet.chunks.some((c) => c.type === "ping" && c.message[0] === 0x4d)
    ),
  );
});

Deno.test("keepalive: a far end that answers nothing is declared dead (§3.5.4.1)", () => {
  const net = new Net();
  const a = net.add("a", 1935, { keepalive: 1000 });
  net.add("b", 1935, { keepalive: 0 });
  const s = open(net, a, "b");
  let reason = "";
  s.onClose = (r) => reason = r;
  net.drop = (from) => from === "b";
  net.run(net.now + 10_000);
  equal(s.state, "closed");
  equal(reason, "far end silent");
  equal(net.chunks("a", "ping").length, 4);
});

Deno.test("time critical: a receiver of real-time data slows other senders' growth (§3.5.2.1)", () => {
  const run = (withRealtime: boolean) => {
    const net = new Net();
    const a = net.add("a", 1935, { keepalive: 0 });
    const b = net.add("b", 1935, { keepalive: 0 });
    const c = net.add("c", 1935, { keepalive: 0 });
    void b;
    const live = open(net, a, "b");
    const bulk = open(net, c, "b");
    const media = live.openFlow(text("audio"));
    media.timeCritical = true;
    const data = bulk.openFlow(text("file"));
    for (let i = 0; i < 40; i++) {
      if (withRealtime) media.send(new Uint8Array(160));
      data.send(new Uint8Array(1000));
      net.run(net.now + 20);
    }
    net.run(net.now + 2000);
    return {
      cwnd: bulk.cwnd,
      tc: net.chunks("a", "userData").some((l) => l.packet.timeCritical),
      net,
    };
  };
  const calm = run(false), busy = run(true);
  ok(busy.tc);
  ok(busy.net.log.some((l) => l.from === "b" && l.packet.timeCriticalReverse));
  ok(!calm.net.log.some((l) => l.packet.timeCriticalReverse));
  ok(busy.cwnd < calm.cwnd, `${busy.cwnd} < ${calm.cwnd}`);
  ok(busy.cwnd < 4380 + 40 * 384, `${busy.cwnd}`);
});

// === Properties ===

Deno.test("property: an endpoint never throws on any datagram, even well encrypted garbage", () => {
  const net = new Net();
  const { b, s } = pair(net);
  const before = b.sessions.map((x) => x.state);
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom("raw", "startup", "session"),
      (bytes, how) => {
        const datagram = how === "raw"
          ? bytes
          : how === "startup"
          ? encodeMultiplex(0, encryptPacket(DEFAULT_KEY, bytes))
          : encodeMultiplex(s.txSessionId, encryptPacket(s.encryptKey, bytes));
        b.receive(datagram, net.addr("a"));
      },
    ),
    { numRuns: 3000 },
  );
  // Whatever got through authenticated (garbage under the session key can be a valid packet)
  // left the session open.
  deepEqual(b.sessions.map((x) => x.state).slice(0, before.length), before);
});

Deno.test("property: random loss and reordering never lose, duplicate or reorder a message", () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat({ max: 4000 }), { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 1, max: 2 ** 30 }),
      fc.nat({ max: 30 }),
      (sizes, seed, lossPercent) => {
        const net = new Net();
        const { s, got } = pair(net);
        let x = seed;
        const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
        net.drop = () => rand() < lossPercent / 100;
        net.latency = () => 1 + rand() * 60;
        const flow = s.openFlow(text("p"));
        const sent = sizes.map((n, i) => new Uint8Array(n).fill(i & 0xff));
        for (const m of sent) flow.send(m);
        net.run(net.now + 300_000);
        deepEqual(got, sent);
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("partial reliability: expired messages are abandoned and skipped (§3.6.2.7)", () => {
  const net = new Net();
  const { s, got } = pair(net);
  const flow = s.openFlow(text("live"));
  // An outage of 2 s: the messages sent meanwhile expire after 300 ms.
  net.drop = () => true;
  for (let i = 0; i < 10; i++) {
    flow.send(text(`lost ${i}`), { lifetime: 300 });
    net.run(net.now + 100);
  }
  net.run(net.now + 1000);
  net.drop = () => false;
  // (A short lifetime here could expire too: the window is full of lost packets until the
  // retransmission timeout, which the outage has backed off.)
  flow.send(text("fresh"));
  net.run(net.now + 5000);
  deepEqual(got.map((m) => new TextDecoder().decode(m)), ["fresh"]);
  equal(flow.queue.length, 0);
  // The receiver was told to skip 1..10 by the Forward Sequence Number of the next chunk.
  const fresh = net.log.flatMap((l) => l.packet.chunks).find((c) =>
    c.type === "userData" && new TextDecoder().decode(c.data) === "fresh"
  );
  ok(fresh?.type === "userData");
  deepEqual([fresh.sequenceNumber, fresh.sequenceNumber - fresh.fsnOffset], [11, 10]);
});

Deno.test("abandon(): queued messages are dropped, later ones still arrive", () => {
  const net = new Net();
  const { s, got } = pair(net);
  const flow = s.openFlow(text("x"));
  net.drop = () => true;
  flow.send(text("never"));
  flow.send(new Uint8Array(5000));
  net.run(net.now + 100);
  flow.abandon();
  net.drop = () => false;
  flow.send(text("after"));
  net.run(net.now + 20_000);
  deepEqual(got.map((m) => new TextDecoder().decode(m)), ["after"]);
});

Deno.test("hostile numbers: a huge Range Ack or sequence number costs nothing", () => {
  const net = new Net();
  const { a, b, s, responder, got } = pair(net);
  const flow = s.openFlow(text("m"));
  flow.send(text("one"));
  net.run(net.now + 500);
  const inject = (
    to: RtmfpEndpoint,
    key: Uint8Array,
    sid: number,
    packet: RtmfpPacket,
    from: string,
  ) => to.receive(encodeMultiplex(sid, encryptPacket(key, encodePacket(packet))), net.addr(from));
  const t0 = performance.now();
  // To the sender: an acknowledgement of 2^50 sequence numbers of its flow.
  inject(a, responder.encryptKey, s.rxSessionId, {
    mode: 2,
    chunks: [{
      type: "rangeAck",
      flowId: flow.id,
      bufferBlocksAvailable: 64,
      cumulativeAck: 1,
      ranges: [[3, 2 ** 50]],
    }],
  }, "b");
  // To the receiver: a fragment 2^50 sequence numbers ahead.
  inject(b, s.encryptKey, responder.rxSessionId, {
    mode: 1,
    chunks: [{
      type: "userData",
      flowId: flow.id,
      sequenceNumber: 2 ** 50,
      fsnOffset: 2 ** 50 - 1,
      fragment: 0,
      abandon: false,
      final: false,
      data: text("far"),
    }],
  }, "a");
  net.run(net.now + 500);
  ok(performance.now() - t0 < 1000);
  deepEqual(got.map((m) => new TextDecoder().decode(m)), ["one"]);
  // The receiver acknowledged with a Range Ack (a bitmap would be 2^47 bytes).
  const last = net.log.filter((l) => l.from === "b").at(-1)!;
  ok(last.packet.chunks.some((c) => c.type === "rangeAck"));
});

Deno.test("a cookie opens one session: a replayed IIKeying with another session id is dropped", () => {
  const net = new Net();
  const a = net.add("a"), b = net.add("b");
  let iikeying: Chunk | undefined;
  const trace = a.onTrace!;
  a.onTrace = (dir, peer, sid, packet) => {
    if (dir === "out" && packet.chunks[0]?.type === "iikeying") iikeying = packet.chunks[0];
    trace(dir, peer, sid, packet);
  };
  open(net, a, "b");
  ok(iikeying?.type === "iikeying");
  const before = b.stats.dropped;
  const replay = { ...iikeying, initiatorSessionId: 12345 };
  b.receive(
    encodeMultiplex(0, encryptPacket(DEFAULT_KEY, encodePacket({ mode: 3, chunks: [replay] }))),
    net.addr("a"),
  );
  equal(b.stats.dropped - before, 1);
  equal(b.sessions.length, 1);
});
