// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { DnsError, type DnsRecord, DnsZone, encodeMessage } from "./mod.ts";
import { DnsResolver } from "./resolver.ts";
import { serveDns } from "./server.ts";
import { ZONE_RECORDS } from "../testdata/dns_zone.ts";
import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import dgram from "node:dgram";

const testdata = new URL("../testdata/", import.meta.url);

async function assertRejects(
  fn: () => Promise<unknown>,
  cls: new (...a: never[]) => Error,
): Promise<Error> {
  let caught: unknown;
  await rejects(async () => {
    try {
      await fn();
    } catch (e) {
      caught = e;
      throw e;
    }
  }, cls);
  return caught as Error;
}

Deno.test("DnsResolver reads servers and search list from its resolvConf path", async () => {
  const resolver = new DnsResolver({ resolvConf: new URL("resolv.conf", testdata).pathname });
  // Any query would leave the machine; candidates() only needs the configuration.
  await resolver.query("x", "A", { signal: AbortSignal.abort() }).catch(() => {});
  assertEquals(resolver.candidates("pbx"), ["pbx.corp.test", "pbx.sip.test", "pbx"]);
  assertEquals(resolver.candidates("a.b.c"), ["a.b.c", "a.b.c.corp.test", "a.b.c.sip.test"]);
  assertEquals(resolver.candidates("abs."), ["abs"]);
});

Deno.test("DnsResolver resolves over UDP, follows CNAME, falls back to TCP on truncation", async () => {
  await using server = await serveDns({ zone: new DnsZone(ZONE_RECORDS), port: 0 });
  const resolver = new DnsResolver({ servers: [`127.0.0.1:${server.port}`], timeout: 1000 });
  assertEquals((await resolver.resolve("www.sip.test", "A")).map((rr) => rr.data), ["127.0.0.2"]);
  assertEquals((await resolver.resolve("pbx.sip.test", "AAAA")).map((rr) => rr.data), ["::2"]);
  assertEquals(await resolver.resolve("nope.sip.test", "A"), []);
  assertEquals(await resolver.resolve("pbx.sip.test", "MX"), []);
  // EDNS 1232 is not enough for 40 x 110 bytes: TC over UDP, then TCP.
  const big = await resolver.query("big.sip.test", "TXT");
  assertEquals([big.tc, big.answers.length], [false, 40]);
  const noEdns = new DnsResolver({
    servers: [`127.0.0.1:${server.port}`],
    udpPayloadSize: 0,
    cache: false,
  });
  assertEquals((await noEdns.query("big.sip.test", "TXT")).answers.length, 40);
  // The search list applies to short names.
  const searching = new DnsResolver({
    servers: [{ address: "127.0.0.1", port: server.port }],
    search: ["sip.test"],
  });
  assertEquals((await searching.resolve("pbx", "A")).map((rr) => rr.name), ["pbx.sip.test"]);
});

Deno.test("DnsResolver.resolve() asks again when a CNAME chain leaves the response", async () => {
  // A zone that returns only the CNAME: its target lives "elsewhere" (answered by name).
  await using server = await serveDns({
    port: 0,
    handler: (q) => {
      const name = q.questions[0]!.name;
      const answers: DnsRecord[] = name === "alias.test"
        ? [{ name, type: "CNAME", ttl: 60, data: "real.test" }]
        : name === "real.test"
        ? [{ name, type: "A", ttl: 60, data: "192.0.2.77" }]
        : [];
      return { id: q.id, qr: true, aa: true, questions: q.questions, answers };
    },
  });
  const resolver = new DnsResolver({ servers: [`127.0.0.1:${server.port}`] });
  assertEquals((await resolver.resolve("alias.test", "A")).map((rr) => rr.data), ["192.0.2.77"]);
  assertEquals((await resolver.resolve("alias.test", "CNAME")).map((rr) => rr.data), ["real.test"]);
});

Deno.test("DnsResolver serves repeated queries from its cache", async () => {
  let queries = 0;
  const zone = new DnsZone(ZONE_RECORDS);
  await using server = await serveDns({
    port: 0,
    handler: (q) => {
      queries++;
      return zone.answer(q);
    },
  });
  const resolver = new DnsResolver({ servers: [`127.0.0.1:${server.port}`] });
  await resolver.resolve("pbx.sip.test", "A");
  await resolver.resolve("pbx.sip.test", "A");
  await resolver.resolve("PBX.sip.test.", "A");
  assertEquals(queries, 1);
  await resolver.query("pbx.sip.test", "A", { noCache: true });
  assertEquals(queries, 2);
});

Deno.test("DnsResolver ignores spoofed responses: wrong ID, wrong question, wrong source (RFC 1035 §7.3)", async (t) => {
  const zone = new DnsZone(ZONE_RECORDS);
  const spoofer = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => spoofer.bind(0, "127.0.0.1", resolve));
  try {
    let mode = "";
    await using server = await serveDns({
      port: 0,
      handler: async (q, info) => {
        const real = zone.answer(q);
        const fake = {
          ...real,
          answers: [{ name: q.questions[0]!.name, type: "A" as const, ttl: 60, data: "6.6.6.6" }],
        };
        if (mode === "id") return [{ ...fake, id: (q.id + 1) & 0xffff }, real];
        if (mode === "question") {
          return [{ ...fake, questions: [{ name: "evil.test", type: "A" }] }, real];
        }
        if (mode === "query") return [{ ...fake, qr: false }, real];
        if (mode === "garbage") return [Uint8Array.of(1, 2, 3), real];
        if (mode === "source") {
          // Same ID and question, but from another port; the real answer comes later.
          spoofer.send(encodeMessage(fake), info.port, info.address);
          await new Promise((r) => setTimeout(r, 30));
          return real;
        }
        return real;
      },
    });
    const resolver = new DnsResolver({
      servers: [`127.0.0.1:${server.port}`],
      cache: false,
      timeout: 2000,
    });
    for (const m of ["id", "question", "query", "garbage", "source"]) {
      await t.step(m, async () => {
        mode = m;
        const got = await resolver.resolve("pbx.sip.test", "A");
        assertEquals(got.map((rr) => rr.data), ["127.0.0.2"]);
      });
    }
  } finally {
    spoofer.close();
  }
});

Deno.test("DnsResolver retries other servers after a timeout or SERVFAIL, then gives up", async () => {
  const silent = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
  const silentPort = silent.address().port;
  try {
    await using failing = await serveDns({
      port: 0,
      handler: (q) => ({ ...q, qr: true, rcode: 2 }),
    });
    await using good = await serveDns({ zone: new DnsZone(ZONE_RECORDS), port: 0 });
    const resolver = new DnsResolver({
      servers: [`127.0.0.1:${silentPort}`, `127.0.0.1:${failing.port}`, `127.0.0.1:${good.port}`],
      timeout: 200,
      attempts: 1,
    });
    const t0 = Date.now();
    assertEquals((await resolver.resolve("sip.test", "A")).map((rr) => rr.data), ["127.0.0.1"]);
    assertEquals(Date.now() - t0 >= 190, true);
    const dead = new DnsResolver({
      servers: [`127.0.0.1:${silentPort}`],
      timeout: 100,
      attempts: 2,
    });
    const err = await assertRejects(() => dead.query("sip.test", "A"), DnsError);
    assertEquals((err as DnsError).code, "timeout");
    const servfail = new DnsResolver({ servers: [`127.0.0.1:${failing.port}`], attempts: 1 });
    const err2 = await assertRejects(() => servfail.resolve("sip.test", "A"), DnsError);
    assertEquals((err2 as DnsError).code, "SERVFAIL");
  } finally {
    silent.close();
  }
});

Deno.test("DnsResolver retries without EDNS when a server answers FORMERR to OPT (RFC 6891 §6.2.2)", async () => {
  const zone = new DnsZone(ZONE_RECORDS);
  const seen: boolean[] = [];
  await using server = await serveDns({
    port: 0,
    handler: (q) => {
      seen.push(q.edns !== undefined);
      return q.edns ? { id: q.id, qr: true, rcode: 1, questions: q.questions } : zone.answer(q);
    },
  });
  const resolver = new DnsResolver({ servers: [`127.0.0.1:${server.port}`] });
  assertEquals((await resolver.resolve("sip.test", "A")).map((rr) => rr.data), ["127.0.0.1"]);
  assertEquals(seen, [true, false]);
});

Deno.test("DnsResolver and serveDns() work over IPv6 loopback", async (t) => {
  let server;
  try {
    server = await serveDns({ zone: new DnsZone(ZONE_RECORDS), hostname: "::1", port: 0 });
  } catch {
    await t.step({ name: "no IPv6 loopback here", ignore: true, fn() {} });
    return;
  }
  try {
    const udp = new DnsResolver({ servers: [`[::1]:${server.port}`], cache: false });
    assertEquals((await udp.resolve("pbx.sip.test", "AAAA")).map((rr) => rr.data), ["::2"]);
    const tcp = new DnsResolver({ servers: [{ address: "::1", port: server.port }], tcp: true });
    assertEquals((await tcp.resolve("pbx.sip.test", "A")).map((rr) => rr.data), ["127.0.0.2"]);
  } finally {
    await server.close();
  }
});

Deno.test("DnsResolver with rotate starts each query at the next server", async () => {
  const mk = (addr: string) =>
    serveDns({
      port: 0,
      zone: new DnsZone([{ name: "r.test", type: "A", ttl: 60, data: addr }]),
    });
  await using one = await mk("192.0.2.1");
  await using two = await mk("192.0.2.2");
  const resolver = new DnsResolver({
    servers: [`127.0.0.1:${one.port}`, `127.0.0.1:${two.port}`],
    rotate: true,
    cache: false,
  });
  const got: string[] = [];
  for (let i = 0; i < 4; i++) got.push((await resolver.resolve("r.test", "A"))[0]!.data);
  assertEquals(got, ["192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.2"]);
});

Deno.test("DnsResolver uses a new random ID and source port for each query", async () => {
  const seen: { id: number; port: number }[] = [];
  const zone = new DnsZone(ZONE_RECORDS);
  await using server = await serveDns({
    port: 0,
    handler: (q, info) => {
      seen.push({ id: q.id, port: info.port });
      return zone.answer(q);
    },
  });
  const resolver = new DnsResolver({ servers: [`127.0.0.1:${server.port}`], cache: false });
  for (let i = 0; i < 8; i++) await resolver.query("sip.test", "A");
  assertEquals(new Set(seen.map((s) => s.id)).size >= 7, true);
  assertEquals(new Set(seen.map((s) => s.port)).size >= 7, true);
});
