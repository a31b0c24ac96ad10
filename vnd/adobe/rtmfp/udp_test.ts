// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { RtmfpError, type RtmfpSession, urlEpd } from "./mod.ts";
import { rtmfpConnect, RtmfpServer, RtmfpSocket } from "./udp.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("udp: two clients find each other by peer id and talk directly (§3.5.1.5)", async () => {
  const lines: string[] = [];
  const server = await RtmfpServer.listen({
    port: 0,
    host: "127.0.0.1",
    trace: (l) => lines.push(l),
  });
  const url = `rtmfp://127.0.0.1:${server.socket.address.port}/app`;
  const alice = await rtmfpConnect(url, { keepalive: 0 });
  const bob = await rtmfpConnect(url, { keepalive: 0 });
  try {
    equal(server.peers.size, 2);
    const bobGot: string[] = [], aliceGot: string[] = [];
    let bobSide: RtmfpSession | undefined;
    const bobDone = Promise.withResolvers<void>();
    bob.socket.endpoint.onSession = (s) => {
      bobSide = s;
      s.onFlow = (f) => {
        const back = s.openFlow(text("reply"), f.id);
        f.onMessage = (m) => {
          bobGot.push(decode(m));
          back.send(text(`re: ${decode(m)}`));
          if (bobGot.length === 50) bobDone.resolve();
        };
      };
    };
    const direct = await alice.connectPeer(bob.socket.endpoint.peerId);
    const aliceDone = Promise.withResolvers<void>();
    direct.onFlow = (f) =>
      f.onMessage = (m) => {
        aliceGot.push(decode(m));
        if (aliceGot.length === 50) aliceDone.resolve();
      };
    const serverReceived = server.socket.endpoint.stats.received;
    const flow = direct.openFlow(text("chat"));
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      sent.push(`message ${i} ${"x".repeat(i * 100)}`);
      flow.send(text(sent[i]!));
    }
    await Promise.all([bobDone.promise, aliceDone.promise]);
    deepEqual(bobGot, sent);
    deepEqual(aliceGot, sent.map((m) => `re: ${m}`));
    // Direct: the session is with bob's own socket, and the server saw none of it.
    equal(direct.address?.port, bob.socket.address.port);
    equal(bobSide?.address?.port, alice.socket.address.port);
    equal(server.socket.endpoint.stats.received, serverReceived);
    equal(server.stats.introductions, 1);
    equal(server.stats.relayed, 0);
    // The trace shows the redirect and the forwarded hello, decoded.
    ok(lines.some((l) => l.startsWith("->") && l.includes("redirect tagEcho=")));
    ok(lines.some((l) => l.startsWith("->") && l.includes("fihello epd=210f")));
  } finally {
    alice.close();
    bob.close();
    server.close();
  }
});

Deno.test("udp: a session to a silent address fails with RtmfpError; close() stops the timers", async () => {
  const quiet = await RtmfpSocket.listen({ host: "127.0.0.1" });
  const a = await RtmfpSocket.listen({ host: "127.0.0.1" });
  const p = a.connect(urlEpd("rtmfp://x/"), [{ address: "127.0.0.1", port: quiet.address.port }]);
  quiet.close();
  a.endpoint.sessions[0]!.close(); // closed before it opened
  await rejects(p, RtmfpError);
  a.close();
});

Deno.test("udp --middle: the server relays a peer-to-peer session through a relay socket", async () => {
  const lines: string[] = [];
  const server = await RtmfpServer.listen({
    port: 0,
    host: "127.0.0.1",
    middle: true,
    trace: (l) => lines.push(l),
  });
  const url = `rtmfp://127.0.0.1:${server.socket.address.port}/app`;
  const alice = await rtmfpConnect(url, { keepalive: 0 });
  const bob = await rtmfpConnect(url, { keepalive: 0 });
  try {
    const got = Promise.withResolvers<string>();
    bob.socket.endpoint.onSession = (s) =>
      s.onFlow = (f) => f.onMessage = (m) => got.resolve(decode(m));
    const relayed = await alice.connectPeer(bob.socket.endpoint.peerId);
    // The session's far address is the relay: the server's host, another port.
    equal(relayed.address?.address, "127.0.0.1");
    ok(relayed.address?.port !== server.socket.address.port);
    ok(relayed.address?.port !== bob.socket.address.port);
    deepEqual(relayed.farPeerId, bob.socket.endpoint.peerId);
    relayed.openFlow(text("chat")).send(text("via the middle"));
    equal(await got.promise, "via the middle");
    ok(server.stats.relayed >= 5, `relayed ${server.stats.relayed}`);
    ok(lines.some((l) => /^relay \d+: .* sid=00000000 mode=3 .*\| ihello /.test(l)));
    ok(lines.some((l) => /^relay \d+: .* encrypted bytes/.test(l)));
  } finally {
    alice.close();
    bob.close();
    server.close();
  }
});

Deno.test("udp --middle needs a concrete host", async () => {
  await rejects(RtmfpServer.listen({ port: 0, middle: true }), TypeError);
});
