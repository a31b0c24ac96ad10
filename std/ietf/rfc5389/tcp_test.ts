// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, ok, rejects } from "node:assert/strict";
import { selfSignedCert } from "@rtclite/testing";
import { LongTermCredentials, StunServer, StunTransactionError } from "./mod.ts";
import { connectStun, serveStunTcp } from "./tcp.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("STUN over TCP and TLS: Binding with long-term credentials (RFC 8489 §6.2.2-6.2.3)", async () => {
  const server = new StunServer({
    auth: { mechanism: "long-term", realm: "r", password: (u) => u === "u" ? "p" : undefined },
  });
  const dir = await Deno.makeTempDir();
  const { cert, key } = await selfSignedCert(dir);
  await using tcp = await serveStunTcp(server, { hostname: "127.0.0.1", port: 0 });
  await using tls = await serveStunTcp(server, {
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert, key },
  });
  for (const [transport, address] of [["tcp", tcp.address], ["tls", tls.address]] as const) {
    await using client = await connectStun({
      server: address,
      transport,
      caCerts: [cert],
      credentials: new LongTermCredentials({ username: "u", password: "p" }),
    });
    ok(client.reliable);
    const mapped = await client.binding(address);
    equal(mapped.port, client.address.port, transport);
    equal((await client.binding(address)).port, client.address.port); // same connection again
  }
  // A TLS client that does not trust the certificate fails to connect.
  await rejects(connectStun({ server: tls.address, transport: "tls" }));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("STUN over TCP: idle connections, garbage and too many connections are closed; pending requests fail", async () => {
  await using tcp = await serveStunTcp(new StunServer(), {
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 200,
    maxPerAddress: 3,
  });
  const conns = await Promise.all(
    [0, 1, 2, 3].map(() => Deno.connect({ hostname: "127.0.0.1", port: tcp.address.port })),
  );
  const buf = new Uint8Array(8);
  // The fourth from the same address is refused at once.
  equal(await conns[3]!.read(buf), null);
  await sleep(50);
  equal(tcp.connections, 3);
  // The others idle out.
  const started = Date.now();
  for (const c of conns.slice(0, 3)) equal(await c.read(buf), null);
  ok(Date.now() - started < 1000);
  for (const c of conns) c.close();
  // Garbage closes the connection without an answer.
  const junk = await Deno.connect({ hostname: "127.0.0.1", port: tcp.address.port });
  await junk.write(new TextEncoder().encode("\x80garbage"));
  equal(await junk.read(buf), null);
  junk.close();
  // A client whose server goes away fails its transaction instead of waiting for Ti.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const accepted = l.accept();
  await using client = await connectStun({
    server: { family: 4, address: "127.0.0.1", port },
    transport: "tcp",
  });
  const pending = client.binding({ family: 4, address: "127.0.0.1", port });
  (await accepted).close();
  l.close();
  await rejects(pending, (e) => e instanceof StunTransactionError && e.reason === "closed");
});
