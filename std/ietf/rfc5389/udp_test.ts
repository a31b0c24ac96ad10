// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { toHex } from "@rtclite/std/bytes";
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import {
  addressAttribute,
  createMessage,
  decodeStun,
  encodeStun,
  getErrorCode,
  LongTermCredentials,
  shortTermKey,
  StunAttr,
  StunClass,
  StunMethod,
  StunServer,
  StunTransactionError,
} from "./mod.ts";
import { serveStunUdp, StunClient } from "./udp.ts";

Deno.test("StunClient over UDP: long-term credentials with SHA-256, timeout, discarded forged responses", async () => {
  await using srv = await serveStunUdp(
    new StunServer({
      auth: {
        mechanism: "long-term",
        realm: "rtclite",
        password: (u) => u === "u" ? "p" : undefined,
        passwordAlgorithms: true,
      },
    }),
    { hostname: "127.0.0.1", port: 0 },
  );
  {
    await using client = await StunClient.open({
      hostname: "127.0.0.1",
      credentials: new LongTermCredentials({ username: "u", password: "p" }),
    });
    const mapped = await client.binding(srv.address);
    equal(mapped.port, client.address.port);
  }
  {
    await using client = await StunClient.open({
      hostname: "127.0.0.1",
      credentials: new LongTermCredentials({ username: "u", password: "bad" }),
    });
    const e = await rejects(client.binding(srv.address), StunTransactionError) as unknown;
    void e;
  }
  // A silent server: the transaction times out after Rc sends and Rm*RTO.
  await using silent = await StunClient.open({ hostname: "127.0.0.1" });
  await using client = await StunClient.open({ hostname: "127.0.0.1", rto: 20, rc: 2, rm: 2 });
  const started = performance.now();
  await rejects(
    client.binding(silent.address),
    (e: unknown) => e instanceof StunTransactionError && e.reason === "timeout",
  );
  ok(performance.now() - started >= 55);
  // A responder with the wrong key: responses are discarded and the failure says "integrity".
  silent.onMessage = (data, from) => {
    const req = decodeStun(data);
    const forged = createMessage(req.method, StunClass.SuccessResponse, [
      addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, from, req.transactionId),
    ], req.transactionId);
    silent.send(encodeStun(forged, { integrity: shortTermKey("not the password") }), from);
  };
  await using st = await StunClient.open({
    hostname: "127.0.0.1",
    rto: 20,
    rc: 2,
    rm: 2,
    shortTerm: { username: "u", password: "pw" },
  });
  await rejects(
    st.binding(silent.address),
    (e: unknown) => e instanceof StunTransactionError && e.reason === "integrity",
  );
});

Deno.test("StunClient follows an authenticated 300 Try Alternate to ALTERNATE-SERVER (RFC 8489 §10)", async () => {
  const auth = {
    mechanism: "short-term" as const,
    password: (u: string) => (u === "u" ? "p" : undefined),
  };
  await using target = await serveStunUdp(new StunServer({ auth }), {
    hostname: "127.0.0.1",
    port: 0,
  });
  const redirector = (signedOnly: boolean) =>
    new StunServer({
      ...(signedOnly ? { auth } : {}),
      handlers: {
        [StunMethod.Binding]: () => ({
          error: 300,
          attributes: [addressAttribute(StunAttr.ALTERNATE_SERVER, target.address)],
        }),
      },
    });
  await using first = await serveStunUdp(redirector(true), { hostname: "127.0.0.1", port: 0 });
  await using client = await StunClient.open({
    hostname: "127.0.0.1",
    shortTerm: { username: "u", password: "p" },
  });
  deepEqual(await client.binding(first.address), client.address);
  // An unauthenticated 300 is not followed (RFC 8489 §14.8: it must be integrity-protected).
  await using open = await serveStunUdp(redirector(false), { hostname: "127.0.0.1", port: 0 });
  await using anon = await StunClient.open({ hostname: "127.0.0.1" });
  await rejects(
    anon.binding(open.address),
    (e: unknown) => e instanceof StunTransactionError && getErrorCode(e.response!)?.code === 300,
  );
});

Deno.test("StunClient and serveStunUdp over IPv6 loopback: XOR-MAPPED-ADDRESS with the transaction ID", async () => {
  let server;
  try {
    server = await serveStunUdp(new StunServer(), { hostname: "::1", port: 0 });
  } catch (e) {
    console.log(`NOTE: no IPv6 loopback here, IPv6 UDP exchange not tested: ${e}`);
    return;
  }
  await using _server = server;
  await using client = await StunClient.open({ hostname: "::1" });
  const mapped = await client.binding(server.address);
  deepEqual(mapped, { family: 6, address: "::1", port: client.address.port });
});

Deno.test("StunClient resends after 5xx at most 4 times (RFC 8489 §6.3.4)", async () => {
  // Each resend is a new transaction; a retransmission of the same transaction (the machine may be
  // slower than the RTO) is the same request again, so transactions are counted, not datagrams.
  const transactions = new Set<string>();
  let failFirst = 2;
  const server = new StunServer({
    handlers: {
      [StunMethod.Binding]: (ctx) => {
        transactions.add(toHex(ctx.message.transactionId));
        return transactions.size <= failFirst ? { error: 500 } : {
          attributes: [
            addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, ctx.from, ctx.message.transactionId),
          ],
        };
      },
    },
  });
  await using udp = await serveStunUdp(server, { hostname: "127.0.0.1", port: 0 });
  await using client = await StunClient.open({ hostname: "127.0.0.1" });
  deepEqual(await client.binding(udp.address), client.address);
  equal(transactions.size, 3);
  failFirst = Infinity; // always 500 now: 1 + 4 resends, then the error is returned
  const res = await client.request(
    udp.address,
    createMessage(StunMethod.Binding, StunClass.Request),
  );
  equal(getErrorCode(res)?.code, 500);
  equal(transactions.size, 3 + 5);
});
