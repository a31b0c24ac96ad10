// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import {
  coturnArgs,
  freePort,
  freeRelayRange,
  freeSipPort,
  interopTest,
  run,
  startPeer,
  waitForListener,
} from "@rtclite/testing";
import { getErrorCode, type TransportAddress } from "../rfc5389/mod.ts";
import { TurnError } from "./mod.ts";
import { serveTurnUdp, TurnClient } from "./udp.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("TurnClient and serveTurnUdp: Send/Data and ChannelData between two clients, wrong password", async () => {
  await using turn = await serveTurnUdp({
    hostname: "127.0.0.1",
    port: 0,
    realm: "r",
    password: (u) => (u === "u" ? "p" : undefined),
    passwordAlgorithms: true,
    allowLoopbackPeers: true,
  });
  await using a = await TurnClient.open({ server: turn.address, username: "u", password: "p" });
  await using b = await TurnClient.open({ server: turn.address, username: "u", password: "p" });
  await exchange(a, b);
  await using bad = await TurnClient.open({
    server: turn.address,
    username: "u",
    password: "x",
    rto: 50,
    rc: 3,
  });
  await rejects(bad.allocate(), TurnError);
  equal(turn.server.allocations, 2);
});

/** Allocates on both clients and sends data both ways, first with indications, then channels. */
async function exchange(a: TurnClient, b: TurnClient): Promise<void> {
  const ra = (await a.allocate()).relayed;
  const rb = (await b.allocate()).relayed;
  await a.createPermission(rb);
  await b.createPermission(ra);
  const inbox = (c: TurnClient) => {
    const got: [string, string][] = [];
    c.onData = (data, peer, via) => got.push([dec.decode(data), `${via} ${peer.port}`]);
    return got;
  };
  const ga = inbox(a), gb = inbox(b);
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    ok(cond());
  };
  a.send(rb, enc.encode("ping"));
  await until(() => gb.length === 1);
  deepEqual(gb[0], ["ping", `indication ${ra.port}`]);
  b.send(ra, enc.encode("pong"));
  await until(() => ga.length === 1);
  deepEqual(ga[0], ["pong", `indication ${rb.port}`]);
  const ca = await a.channelBind(rb);
  await b.channelBind(ra);
  equal(ca, 0x4000);
  for (let i = 0; i < 10; i++) a.send(rb, enc.encode(`c${i}`));
  b.send(ra, enc.encode("channel back"));
  await until(() => gb.length === 11 && ga.length === 2);
  deepEqual(gb.slice(1).map((x) => x[0]), Array.from({ length: 10 }, (_, i) => `c${i}`));
  equal(gb[1]![1], `channel ${ra.port}`);
  deepEqual(ga[1], ["channel back", `channel ${rb.port}`]);
}

// --- interop with coturn (on ports and relay ranges chosen free per run) ---

interopTest("our TURN clients relay through coturn with Send/Data and ChannelData", [{
  bin: "turnserver",
  apt: "coturn",
}], async () => {
  const dir = await Deno.makeTempDir({ prefix: "rtclite-coturn-" });
  const port = await freeSipPort(), relay = await freeRelayRange(8);
  await using _coturn = startPeer("turnserver", coturnArgs(port, [relay, relay + 7], dir));
  await waitForListener(port);
  const server: TransportAddress = { family: 4, address: "127.0.0.1", port };
  await using a = await TurnClient.open({ server, username: "test", password: "secret" });
  await using b = await TurnClient.open({ server, username: "test", password: "secret" });
  await exchange(a, b);
  ok(a.allocation!.relayed.port >= relay && a.allocation!.relayed.port <= relay + 7);
  await using bad = await TurnClient.open({ server, username: "test", password: "wrong" });
  await rejects(
    bad.allocate(),
    (e: unknown) => e instanceof TurnError && getErrorCode(e.response!)?.code === 401,
  );
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}, { timeout: 30_000 });

interopTest(
  "turnutils_uclient relays through our TURN server with channels and with Send indications",
  [{ bin: "turnutils_uclient", apt: "coturn" }, { bin: "turnutils_peer", apt: "coturn" }],
  async () => {
    const relay = await freeRelayRange(40);
    await using turn = await serveTurnUdp({
      hostname: "127.0.0.1",
      port: 0,
      realm: "test.local",
      relayPorts: [relay, relay + 39],
      allowLoopbackPeers: true,
      password: (u) => (u === "test" ? "secret" : undefined),
    });
    const peerPort = await freePort("udp");
    await using _peer = startPeer("turnutils_peer", ["-L", "127.0.0.1", "-p", String(peerPort)]);
    await waitForListener(peerPort);
    for (const mode of [[], ["-s"]]) {
      const out = await run("turnutils_uclient", [
        "-c",
        ...mode,
        "-u",
        "test",
        "-w",
        "secret",
        "-e",
        "127.0.0.1",
        "-r",
        String(peerPort),
        "-n",
        "20",
        "-m",
        "2",
        "-l",
        "170",
        "-p",
        String(turn.address.port),
        "127.0.0.1",
      ], { timeout: 30_000, stdout: "piped", stderr: "piped" });
      const text = out.stdout + out.stderr;
      equal(out.code, 0, text);
      ok(text.includes("tot_send_msgs=40, tot_recv_msgs=40"), text);
    }
    ok(turn.server.allocations >= 2); // turnutils_uclient leaves its allocations to expire
  },
  { timeout: 60_000 },
);
