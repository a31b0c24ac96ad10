// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal } from "node:assert/strict";
import { discoverNat, serveClassicStunUdp } from "./udp.ts";

Deno.test("discoverNat() on loopback: a two-address server gives open internet; an RFC 5389-only server is reported", async () => {
  await using server = await serveClassicStunUdp({
    addresses: ["127.0.0.1", "127.0.0.2"],
    ports: [0, 0],
  });
  const r = await discoverNat(server.primary, { hostname: "127.0.0.1", rto: 50, rc: 2, rm: 2 });
  equal(r.type, "open-internet");
  deepEqual(r.tests, [{ name: "I", response: true }, { name: "II", response: true }]);
  deepEqual(r.mapped, r.local);
});
