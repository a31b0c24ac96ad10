// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import {
  orderSrv,
  resolveSipTargets,
  type SipDnsResolver,
  SipLocateError,
  type SipTarget,
} from "./mod.ts";
import { type DnsRecord, DnsZone, type SrvData } from "../rfc1035/mod.ts";
import { DnsResolver } from "../rfc1035/resolver.ts";
import { serveDns } from "../rfc1035/server.ts";
import { parseUri } from "../rfc2396/mod.ts";
import { startDnsmasq } from "../testdata/dns_zone.ts";
import { freeSipPort, interopTest, run } from "@rtclite/testing";
import { deepStrictEqual as assertEquals, equal, rejects } from "node:assert/strict";

/** A resolver answering from a table; records every lookup. */
function table(records: DnsRecord[], failing: string[] = []) {
  const asked: string[] = [];
  const resolver: SipDnsResolver = {
    resolve(name, type) {
      asked.push(`${name} ${type}`);
      if (failing.includes(`${name} ${type}`)) return Promise.reject(new Error("SERVFAIL"));
      return Promise.resolve(records.filter((rr) => `${rr.name}.` === name && rr.type === type));
    },
  };
  return { resolver, asked };
}

const naptr = (name: string, order: number, services: string, replacement: string): DnsRecord => ({
  name,
  type: "NAPTR",
  ttl: 60,
  data: { order, preference: 50, flags: "s", services, regexp: "", replacement },
});
const srv = (
  name: string,
  priority: number,
  weight: number,
  port: number,
  target: string,
): DnsRecord => ({
  name,
  type: "SRV",
  ttl: 60,
  data: { priority, weight, port, target },
});
const a = (name: string, data: string): DnsRecord => ({ name, type: "A", ttl: 60, data });
const aaaa = (name: string, data: string): DnsRecord => ({ name, type: "AAAA", ttl: 60, data });
const tgt = (
  transport: SipTarget["transport"],
  host: string,
  port: number,
  address: string,
): SipTarget => ({
  transport,
  host,
  port,
  address,
});

// The example of RFC 3263 §4.1.
const EXAMPLE: DnsRecord[] = [
  naptr("example.com", 50, "SIPS+D2T", "_sips._tcp.example.com"),
  naptr("example.com", 90, "SIP+D2T", "_sip._tcp.example.com"),
  naptr("example.com", 100, "SIP+D2U", "_sip._udp.example.com"),
  srv("_sips._tcp.example.com", 0, 0, 5061, "server1.example.com"),
  srv("_sip._tcp.example.com", 0, 1, 5060, "server1.example.com"),
  srv("_sip._tcp.example.com", 0, 2, 5060, "server2.example.com"),
  srv("_sip._udp.example.com", 0, 0, 5060, "server1.example.com"),
  a("server1.example.com", "192.0.2.1"),
  a("server2.example.com", "192.0.2.2"),
  aaaa("server2.example.com", "2001:db8::2"),
];

Deno.test("resolveSipTargets() follows the RFC 3263 §4.1 example: TCP first for a TCP/UDP client", async () => {
  const { resolver, asked } = table(EXAMPLE);
  const got = await resolveSipTargets("sip:user@example.com", {
    resolver,
    transports: ["tcp", "udp"],
    random: () => 0.9, // weighted choice: server2 (weight 2) first
  });
  assertEquals(got, [
    tgt("tcp", "server2.example.com", 5060, "192.0.2.2"),
    tgt("tcp", "server2.example.com", 5060, "2001:db8::2"),
    tgt("tcp", "server1.example.com", 5060, "192.0.2.1"),
    tgt("udp", "server1.example.com", 5060, "192.0.2.1"),
  ]);
  equal(asked[0], "example.com. NAPTR");
  equal(asked.includes("_sips._tcp.example.com. SRV"), false, "SIPS+D2T dropped: no TLS");
});

Deno.test("resolveSipTargets() keeps SIPS services for a TLS client, and only them for a SIPS URI (RFC 3263 §4.1)", async () => {
  const { resolver } = table(EXAMPLE);
  const sip = await resolveSipTargets("sip:user@example.com", { resolver, random: () => 0 });
  equal(sip[0]?.transport, "tls");
  equal(sip[0]?.port, 5061);
  assertEquals(sip.map((t) => t.transport), ["tls", "tcp", "tcp", "tcp", "udp"]);
  const sips = await resolveSipTargets("sips:user@example.com", { resolver });
  assertEquals(sips, [tgt("tls", "server1.example.com", 5061, "192.0.2.1")]);
});

Deno.test("resolveSipTargets() uses the transport parameter and its SRV record (RFC 3263 §4.1 ¶2, §4.2 ¶5)", async () => {
  const { resolver, asked } = table(EXAMPLE);
  assertEquals(await resolveSipTargets("sip:user@example.com;transport=udp", { resolver }), [
    tgt("udp", "server1.example.com", 5060, "192.0.2.1"),
  ]);
  equal(asked.some((q) => q.endsWith("NAPTR")), false);
  const tls = await resolveSipTargets("sips:user@example.com;transport=tcp", { resolver });
  assertEquals(tls, [tgt("tls", "server1.example.com", 5061, "192.0.2.1")]);
  // No SRV for the transport: A record at the default port.
  const { resolver: r2 } = table([a("plain.test", "192.0.2.7")]);
  assertEquals(await resolveSipTargets("sip:plain.test;transport=tls", { resolver: r2 }), [
    tgt("tls", "plain.test", 5061, "192.0.2.7"),
  ]);
  await rejects(
    () => resolveSipTargets("sip:plain.test;transport=carrier-pigeon", { resolver: r2 }),
    SipLocateError,
  );
  await rejects(
    () => resolveSipTargets("sips:plain.test;transport=udp", { resolver: r2 }),
    SipLocateError,
  );
});

Deno.test("resolveSipTargets() needs no DNS for numeric hosts (RFC 3263 §4.2 ¶2)", async () => {
  const { resolver, asked } = table([]);
  assertEquals(await resolveSipTargets("sip:192.0.2.4", { resolver }), [
    tgt("udp", "192.0.2.4", 5060, "192.0.2.4"),
  ]);
  assertEquals(await resolveSipTargets("sips:[2001:db8::9]:5081", { resolver }), [
    tgt("tls", "2001:db8::9", 5081, "2001:db8::9"),
  ]);
  assertEquals(await resolveSipTargets("sip:192.0.2.4;transport=tcp", { resolver }), [
    tgt("tcp", "192.0.2.4", 5060, "192.0.2.4"),
  ]);
  assertEquals(await resolveSipTargets("sip:x@example.com;maddr=192.0.2.5", { resolver }), [
    tgt("udp", "192.0.2.5", 5060, "192.0.2.5"),
  ]);
  assertEquals(asked, []);
});

Deno.test("resolveSipTargets() uses A/AAAA with an explicit port, without NAPTR or SRV (RFC 3263 §4.2 ¶3)", async () => {
  const { resolver, asked } = table(EXAMPLE);
  assertEquals(await resolveSipTargets("sip:server2.example.com:5080", { resolver }), [
    tgt("udp", "server2.example.com", 5080, "192.0.2.2"),
    tgt("udp", "server2.example.com", 5080, "2001:db8::2"),
  ]);
  assertEquals(asked, ["server2.example.com. A", "server2.example.com. AAAA"]);
  const v6first = await resolveSipTargets("sips:server2.example.com:5081", {
    resolver,
    families: [6, 4],
  });
  assertEquals(v6first.map((t) => [t.transport, t.address]), [["tls", "2001:db8::2"], [
    "tls",
    "192.0.2.2",
  ]]);
});

Deno.test("resolveSipTargets() queries SRV per transport without NAPTR, then A (RFC 3263 §4.1 ¶15-17)", async () => {
  const zone = [
    srv("_sip._tcp.srv.test", 10, 0, 5070, "pbx.srv.test"),
    a("pbx.srv.test", "192.0.2.20"),
    a("bare.test", "192.0.2.30"),
  ];
  const { resolver, asked } = table(zone, ["srv.test. NAPTR"]);
  assertEquals(await resolveSipTargets("sip:srv.test", { resolver }), [
    tgt("tcp", "pbx.srv.test", 5070, "192.0.2.20"),
  ]);
  assertEquals(asked.slice(0, 3), [
    "srv.test. NAPTR",
    "_sip._udp.srv.test. SRV",
    "_sip._tcp.srv.test. SRV",
  ]);
  assertEquals(await resolveSipTargets("sip:bare.test", { resolver }), [
    tgt("udp", "bare.test", 5060, "192.0.2.30"),
  ]);
  assertEquals(await resolveSipTargets("sips:bare.test", { resolver }), [
    tgt("tls", "bare.test", 5061, "192.0.2.30"),
  ]);
  assertEquals(await resolveSipTargets("sip:nothing.test", { resolver }), []);
  // A lone "." SRV target: the service is decidedly not offered, no A fallback.
  const { resolver: dot } = table([
    srv("_sip._udp.dot.test", 0, 0, 0, ""),
    a("dot.test", "192.0.2.40"),
  ]);
  assertEquals(await resolveSipTargets("sip:dot.test;transport=udp", { resolver: dot }), []);
});

Deno.test("resolveSipTargets() accepts a parsed rfc2396 Uri and rejects other schemes", async () => {
  const { resolver } = table(EXAMPLE);
  const got = await resolveSipTargets(parseUri("sips:alice@example.com"), { resolver });
  equal(got[0]?.host, "server1.example.com");
  await rejects(() => resolveSipTargets("tel:+15551234567", { resolver }), SipLocateError);
});

Deno.test("orderSrv() sorts by priority and picks by weight (RFC 2782)", async (t) => {
  const r = (priority: number, weight: number, target: string): SrvData => ({
    priority,
    weight,
    port: 5060,
    target,
  });
  await t.step("priorities ascend", () => {
    const out = orderSrv([r(30, 0, "c"), r(10, 0, "a"), r(20, 0, "b")], () => 0);
    assertEquals(out.map((x) => x.target), ["a", "b", "c"]);
  });
  await t.step("a lone '.' target means no service", () => {
    assertEquals(orderSrv([r(0, 0, "")]), []);
  });
  await t.step(
    "weights 1:3 give the heavier one first for picks 2-4 of 0-4 (RFC 2782 integer pick)",
    () => {
      let seed = 12345;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      let heavyFirst = 0;
      for (let i = 0; i < 4000; i++) {
        if (orderSrv([r(0, 1, "light"), r(0, 3, "heavy")], random)[0]!.target === "heavy") {
          heavyFirst++;
        }
      }
      // Running sums 1 and 4 over [0, 4]: heavy wins for 2, 3, 4 of 0..4 = 3/5 with integer picks.
      equal(heavyFirst > 2200 && heavyFirst < 2600, true, `heavy first ${heavyFirst} of 4000`);
    },
  );
  await t.step("zero weights are chosen first only when the pick is 0", () => {
    const out = orderSrv([r(0, 10, "w"), r(0, 0, "z")], () => 0);
    assertEquals(out.map((x) => x.target), ["z", "w"]);
    const out2 = orderSrv([r(0, 10, "w"), r(0, 0, "z")], () => 0.5);
    assertEquals(out2.map((x) => x.target), ["w", "z"]);
  });
});

Deno.test("resolveSipTargets() works end to end with DnsResolver and our DNS server", async () => {
  const zone = new DnsZone(EXAMPLE);
  await using server = await serveDns({ zone, port: 0 });
  const resolver = new DnsResolver({
    servers: [`127.0.0.1:${server.port}`],
    search: ["nope.test"],
  });
  const got = await resolveSipTargets("sips:alice@example.com", { resolver });
  assertEquals(got, [tgt("tls", "server1.example.com", 5061, "192.0.2.1")]);
});

// === Interop: the dnsmasq zone of testdata/dns_zone.ts ===

interopTest(
  "resolveSipTargets() resolves the dnsmasq zone's SIP URIs as RFC 3263 prescribes",
  [{ bin: "dnsmasq", apt: "dnsmasq-base" }],
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "rtclite-dnsmasq-" });
    const dnsmasqPort = await freeSipPort(); // dnsmasq serves UDP and TCP on one port
    try {
      await using _peer = await startDnsmasq(dnsmasqPort, dir);
      const resolver = new DnsResolver({ servers: [{ address: "127.0.0.1", port: dnsmasqPort }] });
      const cases: [string, SipTarget[]][] = [
        ["sip:alice@sip.test", [
          tgt("udp", "pbx.sip.test", 5060, "127.0.0.1"),
          tgt("udp", "pbx2.sip.test", 5062, "127.0.0.3"),
          tgt("udp", "pbx2.sip.test", 5062, "::3"),
          tgt("tcp", "pbx.sip.test", 5060, "127.0.0.1"),
          tgt("tls", "pbx.sip.test", 5061, "127.0.0.1"),
        ]],
        ["sips:bob@sip.test", [tgt("tls", "pbx.sip.test", 5061, "127.0.0.1")]],
        ["sip:alice@sip.test;transport=tcp", [tgt("tcp", "pbx.sip.test", 5060, "127.0.0.1")]],
        ["sip:alice@sip.test:5080", [
          tgt("udp", "sip.test", 5080, "127.0.0.1"),
          tgt("udp", "sip.test", 5080, "::1"),
        ]],
        ["sip:carol@srvonly.sip.test", [
          tgt("tcp", "pbx2.sip.test", 5070, "127.0.0.3"),
          tgt("tcp", "pbx2.sip.test", 5070, "::3"),
        ]],
        ["sip:dave@plain.sip.test", [tgt("udp", "plain.sip.test", 5060, "127.0.0.4")]],
        ["sip:erin@nowhere.sip.test", []],
      ];
      for (const [uri, want] of cases) {
        await t.step(uri, async () => {
          assertEquals(await resolveSipTargets(uri, { resolver }), want);
        });
      }
      await t.step("the command line prints the ordered targets", async () => {
        const cli = await run(Deno.execPath(), [
          "run",
          "-A",
          new URL("./main.ts", import.meta.url).pathname,
          "@127.0.0.1",
          "-p",
          String(dnsmasqPort),
          "sips:bob@sip.test",
        ], { timeout: 30_000, stdout: "piped", stderr: "piped" });
        equal(cli.code, 0, cli.stderr);
        equal(cli.stdout, "tls\tpbx.sip.test\t5061\t127.0.0.1\n");
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeout: 60_000 },
);
