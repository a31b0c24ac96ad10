// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal } from "node:assert/strict";
import { SipEndpoint, type SipTransport, UserAgent } from "./mod.ts";
import { WsTransport } from "./ws_transport.ts";

async function uaPair(make: () => Promise<SipTransport>) {
  const bobEp = new SipEndpoint({ transports: [await make()] });
  const aliceEp = new SipEndpoint({ transports: [await make()] });
  return { aliceEp, bobEp };
}

Deno.test("UserAgent over WebSocket: call and BYE on one connection (RFC 7118 §5)", async () => {
  const { aliceEp, bobEp } = await uaPair(() => WsTransport.listen({ port: 0 }));
  const bob = new UserAgent({
    endpoint: bobEp,
    aor: "sip:bob@127.0.0.1",
    onInvite: (c) => c.accept("v=0\r\n"),
  });
  const alice = new UserAgent({ endpoint: aliceEp, aor: "sip:alice@127.0.0.1" });
  const call = await alice.invite(
    `sip:bob@127.0.0.1:${bobEp.transports[0]!.port};transport=ws`,
    "v=0\r\n",
  );
  equal(call.state, "established");
  equal(call.invite.via()[0]!.transport, "WS");
  equal(await call.bye(), 200);
  equal((bobEp.transports[0] as WsTransport).connections, 1);
  await alice.close();
  await bob.close();
});
