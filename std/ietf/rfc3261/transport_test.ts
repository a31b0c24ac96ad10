// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal } from "node:assert/strict";
import { selfSignedCert } from "@rtclite/testing";
import { SipEndpoint, type SipTransport, UserAgent } from "./mod.ts";
import { TcpTransport, TlsTransport } from "./transport.ts";

async function uaPair(make: () => Promise<SipTransport>) {
  const bobEp = new SipEndpoint({ transports: [await make()] });
  const aliceEp = new SipEndpoint({ transports: [await make()] });
  return { aliceEp, bobEp };
}

Deno.test("UserAgent over TCP reuses one connection (RFC 3261 §18.3)", async () => {
  const { aliceEp, bobEp } = await uaPair(() => TcpTransport.listen({ port: 0 }));
  const bob = new UserAgent({
    endpoint: bobEp,
    aor: "sip:bob@127.0.0.1",
    onInvite: (c) => c.accept("v=0\r\n"),
  });
  const alice = new UserAgent({ endpoint: aliceEp, aor: "sip:alice@127.0.0.1" });
  const call = await alice.invite(
    `sip:bob@127.0.0.1:${bobEp.transports[0]!.port};transport=tcp`,
    "v=0\r\n",
  );
  equal(call.state, "established");
  equal(await call.bye(), 200);
  equal((bobEp.transports[0] as TcpTransport).connections, 1);
  await alice.close();
  await bob.close();
});

Deno.test("TLS transport carries OPTIONS with a self-signed certificate (RFC 3261 §26.2.1)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { cert, key } = await selfSignedCert(dir);
    const server = new SipEndpoint({
      transports: [await TlsTransport.listen({ port: 0, cert, key })],
    });
    const bob = new UserAgent({ endpoint: server, aor: "sip:bob@127.0.0.1" });
    const client = new SipEndpoint({
      transports: [await TlsTransport.listen({ port: 0, cert, key, caCerts: [cert] })],
    });
    const alice = new UserAgent({ endpoint: client, aor: "sip:alice@127.0.0.1" });
    const r = await alice.options(`sip:127.0.0.1:${server.transports[0]!.port};transport=tls`);
    equal(r.status, 200);
    equal(r.via().length, 1);
    await alice.close();
    await bob.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TcpTransport refuses connections beyond maxConnections and keeps serving (std/net acceptLoop)", async () => {
  const t = await TcpTransport.listen({ port: 0, maxConnections: 1 });
  const first = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
  await new Promise((r) => setTimeout(r, 50));
  const second = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
  // The second connection is closed by the server at once.
  equal(await second.read(new Uint8Array(16)), null);
  second.close();
  const got = Promise.withResolvers<string>();
  t.onMessage = (m) => got.resolve(m.method!);
  await first.write(new TextEncoder().encode("OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n"));
  equal(await got.promise, "OPTIONS");
  first.close();
  await t.close();
});
