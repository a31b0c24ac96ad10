// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import {
  coturnArgs,
  freeRelayRange,
  freeSipPort,
  interopTest,
  run,
  startPeer,
  waitForListener,
} from "@rtclite/testing";
import {
  createMessage,
  getErrorCode,
  LongTermCredentials,
  StunClass,
  StunMethod,
  StunServer,
  StunTransactionError,
  type TransportAddress,
} from "./mod.ts";
import { serveStunUdp, StunClient } from "./udp.ts";

// --- interop with coturn (turnserver 4.6, on ports chosen free per run) ---

const COTURN = [{ bin: "turnserver", apt: "coturn" }];

/** coturn's arguments with a free 30-port relay range and a scratch directory. */
async function coturn(port: number, extra: string[] = []): Promise<string[]> {
  const relay = await freeRelayRange(30);
  const dir = await Deno.makeTempDir({ prefix: "rtclite-coturn-" });
  return coturnArgs(port, [relay, relay + 29], dir, extra);
}

interopTest(
  "coturn answers our Binding requests with long-term SHA-1 integrity",
  COTURN,
  async () => {
    const port = await freeSipPort();
    await using _coturn = startPeer("turnserver", await coturn(port, ["--secure-stun"]));
    await waitForListener(port);
    const server: TransportAddress = { family: 4, address: "127.0.0.1", port };
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
    port: 0,
  });
  const out = await run("turnutils_stunclient", ["-p", String(srv.address.port), "127.0.0.1"], {
    timeout: 10_000,
    stdout: "piped",
    stderr: "piped",
  });
  const text = out.stdout + out.stderr;
  equal(out.code, 0, text);
  ok(/UDP reflexive addr: 127\.0\.0\.1:\d+/.test(text), text);
  void srv;
}, { timeout: 20_000 });
