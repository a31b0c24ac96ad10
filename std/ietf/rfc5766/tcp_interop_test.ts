// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// TURN over TCP and TLS, and TCP allocations (RFC 6062), against coturn in both directions
// (free ports picked per run, so that two runs at once do not collide).
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  freePort,
  freeRelayRange,
  freeSipPort,
  interopTest,
  run,
  selfSignedCert,
  startPeer,
  waitForListener,
} from "@rtclite/testing";
import type { TransportAddress } from "../rfc5389/mod.ts";
import { connectStun } from "../rfc5389/tcp.ts";
import { serveTurnTcp, tcpRelays } from "./tcp.ts";
import { serveTurnUdp, TurnClient } from "./udp.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (cond: () => boolean, ms = 3000) => {
  for (let t = 0; t < ms && !cond(); t += 10) await sleep(10);
  ok(cond());
};

// --- turnutils_uclient against our server ---

interopTest(
  "turnutils_uclient relays through our TURN server over TCP (-t), TLS (-S) and with TCP allocations (-T, -P: RFC 6062)",
  [{ bin: "turnutils_uclient", apt: "coturn" }, { bin: "turnutils_peer", apt: "coturn" }, {
    bin: "openssl",
    apt: "openssl",
  }],
  async (t) => {
    const P = await freeSipPort(), T = await freePort("tcp"), PEER = await freePort("udp");
    const RELAY = await freeRelayRange(40);
    const dir = await Deno.makeTempDir({ prefix: "rtclite-turn-tls-" });
    const { cert, key } = await selfSignedCert(dir);
    await using udp = await serveTurnUdp({
      hostname: "127.0.0.1",
      port: P,
      realm: "test.local",
      relayPorts: [RELAY, RELAY + 39],
      allowLoopbackPeers: true,
      password: (u) => (u === "test" ? "secret" : undefined),
      openTcpRelay: tcpRelays("127.0.0.1"),
    });
    await using _tcp = await serveTurnTcp(udp.server, { hostname: "127.0.0.1", port: P });
    await using _tls = await serveTurnTcp(udp.server, {
      hostname: "127.0.0.1",
      port: T,
      tls: { cert, key },
    });
    await using _peer = startPeer("turnutils_peer", ["-L", "127.0.0.1", "-p", String(PEER)]);
    await waitForListener(PEER);
    const uclient = async (flags: string[], port: number, expect: string) => {
      const out = await run("turnutils_uclient", [
        ...flags,
        "-u",
        "test",
        "-w",
        "secret",
        "-n",
        "20",
        "-m",
        "2",
        "-l",
        "170",
        "-p",
        String(port),
        "127.0.0.1",
      ], { timeout: 40_000, stdout: "piped", stderr: "piped" });
      const text = out.stdout + out.stderr;
      equal(out.code, 0, text);
      ok(text.includes(expect), text);
    };
    const toPeer = ["-e", "127.0.0.1", "-r", String(PEER), "-c"];
    for (
      const [name, flags, port, ...rest] of [
        ["TCP, channels", ["-t", ...toPeer], P],
        ["TCP, Send indications", ["-t", "-s", ...toPeer], P],
        ["TLS, channels", ["-t", "-S", ...toPeer], T],
        ["TLS, Send indications", ["-t", "-S", "-s", ...toPeer], T],
        ["RFC 6062 TCP allocations, client to client over TCP", ["-T"], P],
        ["RFC 6062 TCP allocations, client to client over TLS", ["-T", "-S"], T],
        // -P: the peers connect in (ConnectionAttempt); coturn's own server gives 40/20 here too.
        ["RFC 6062 passive TCP (peers connect in)", ["-P"], P, "tot_recv_msgs=20"],
      ] as const
    ) {
      const expect = `tot_send_msgs=40, ${rest[0] ?? "tot_recv_msgs=40"}`;
      await t.step(name, () => uclient([...flags], port, expect));
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  },
  { timeout: 200_000 },
);

// --- our client against coturn's turnserver ---

interopTest(
  "our TURN client relays through coturn over TCP and TLS, and opens RFC 6062 TCP connections through it",
  [{ bin: "turnserver", apt: "coturn" }, { bin: "openssl", apt: "openssl" }],
  async (t) => {
    const C = await freeSipPort(), CT = await freePort("tcp"), ECHO = await freePort("tcp");
    const R = await freeRelayRange(18);
    const dir = await Deno.makeTempDir({ prefix: "rtclite-coturn-tls-" });
    const { cert, key } = await selfSignedCert(dir);
    await Deno.writeTextFile(`${dir}/cert.pem`, cert);
    await Deno.writeTextFile(`${dir}/key.pem`, key);
    await using _coturn = startPeer("turnserver", [
      "-n",
      "--no-cli",
      "--no-dtls",
      "--listening-ip=127.0.0.1",
      "--relay-ip=127.0.0.1",
      `--listening-port=${C}`,
      `--tls-listening-port=${CT}`,
      `--cert=${dir}/cert.pem`,
      `--pkey=${dir}/key.pem`,
      `--min-port=${R}`,
      `--max-port=${R + 17}`,
      "--lt-cred-mech",
      "--user=test:secret",
      "--realm=test.local",
      "--allow-loopback-peers",
      `--db=${dir}/turndb`,
      `--pidfile=${dir}/turnserver.pid`,
      "--log-file=stdout",
      "--simple-log",
    ]);
    await waitForListener(C, "tcp");
    await waitForListener(CT, "tcp");
    const udpServer: TransportAddress = { family: 4, address: "127.0.0.1", port: C };
    for (const [transport, port] of [["tcp", C], ["tls", CT]] as const) {
      await t.step(
        `${transport}: our STUN client gets its mapped address from coturn`,
        async () => {
          const server: TransportAddress = { family: 4, address: "127.0.0.1", port };
          await using stun = await connectStun({ server, transport, caCerts: [cert] });
          deepEqual(await stun.binding(server), stun.address);
        },
      );
    }
    for (const [transport, port] of [["tcp", C], ["tls", CT]] as const) {
      await t.step(`${transport}: Send/Data and ChannelData with a UDP client`, async () => {
        await using a = await TurnClient.open({
          server: { family: 4, address: "127.0.0.1", port },
          transport,
          caCerts: [cert],
          username: "test",
          password: "secret",
        });
        await using b = await TurnClient.open({
          server: udpServer,
          username: "test",
          password: "secret",
        });
        const ra = (await a.allocate()).relayed;
        const rb = (await b.allocate()).relayed;
        ok(ra.port >= R && ra.port <= R + 17);
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
        for (const n of [1, 3, 6]) a.send(rb, enc.encode("x".repeat(n)));
        for (const n of [1, 3, 6]) b.send(ra, enc.encode("y".repeat(n)));
        await until(() => ga.length === 4 && gb.length === 4);
        deepEqual(gb, ["indication:ping", "channel:x", "channel:xxx", "channel:xxxxxx"]);
        deepEqual(ga, ["indication:pong", "channel:y", "channel:yyy", "channel:yyyyyy"]);
      });
    }
    await t.step(
      "tcp: a TCP allocation (RFC 6062) connects to an echo server and takes a peer's connection",
      async () => {
        const echo = Deno.listen({ hostname: "127.0.0.1", port: ECHO });
        const served = (async () => {
          const c = await echo.accept();
          const buf = new Uint8Array(1024);
          for (let n = await c.read(buf); n !== null; n = await c.read(buf)) {
            await c.write(buf.subarray(0, n));
          }
          c.close();
        })().catch(() => {});
        try {
          await using a = await TurnClient.open({
            server: udpServer,
            transport: "tcp",
            username: "test",
            password: "secret",
          });
          await a.allocate(undefined, { transport: "tcp" });
          const peer: TransportAddress = { family: 4, address: "127.0.0.1", port: ECHO };
          await a.createPermission(peer);
          const data = await a.connect(peer);
          await data.write(enc.encode("through coturn"));
          let text = "";
          const buf = new Uint8Array(64);
          while (text.length < 14) {
            const n = await data.read(buf);
            if (n === null) break;
            text += dec.decode(buf.subarray(0, n));
          }
          equal(text, "through coturn");
          data.close();
          // Incoming: a peer connects to the relayed address; coturn announces it (ConnectionAttempt).
          const attempts: [TransportAddress, number][] = [];
          a.onConnectionAttempt = (from, id) => attempts.push([from, id]);
          const relayed = a.allocation!.relayed;
          const caller = await Deno.connect({ hostname: "127.0.0.1", port: relayed.port });
          await caller.write(enc.encode("hello from a peer"));
          await until(() => attempts.length === 1);
          const incoming = await a.accept(...attempts[0]!);
          text = "";
          while (text.length < 17) {
            const n = await incoming.read(buf);
            if (n === null) break;
            text += dec.decode(buf.subarray(0, n));
          }
          equal(text, "hello from a peer");
          await incoming.write(enc.encode("hi"));
          equal(dec.decode(buf.subarray(0, (await caller.read(buf))!)), "hi");
          caller.close();
          incoming.close();
        } finally {
          echo.close();
          await served;
        }
      },
    );
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  },
  { timeout: 60_000 },
);
