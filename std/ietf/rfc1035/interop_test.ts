// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { decodeMessage, DnsZone, encodeMessage, formatRecord } from "./mod.ts";
import { DnsResolver } from "./resolver.ts";
import { serveDns } from "./server.ts";
import { BIG_TXT, QUERIES, startDnsmasq, ZONE_RECORDS } from "../testdata/dns_zone.ts";
import { freeSipPort, interopTest, run } from "@rtclite/testing";
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import dgram from "node:dgram";

// === Interop: dnsmasq and dig ===

function digLines(out: string): string[] {
  return out.split("\n").filter((l) => l && !l.startsWith(";")).map((l) => l.split(/\s+/).join(" "))
    .sort();
}

interopTest(
  "DnsResolver answers equal dig's for every record of a dnsmasq zone, over UDP and TCP",
  [{ bin: "dnsmasq", apt: "dnsmasq-base" }, { bin: "dig", apt: "bind9-dnsutils" }],
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "rtclite-dnsmasq-" });
    const dnsmasqPort = await freeSipPort(); // dnsmasq serves UDP and TCP on one port
    try {
      await using _peer = await startDnsmasq(dnsmasqPort, dir);
      const server = { address: "127.0.0.1", port: dnsmasqPort };
      const udp = new DnsResolver({ servers: [server], cache: false, timeout: 2000 });
      const tcp = new DnsResolver({ servers: [server], cache: false, timeout: 2000, tcp: true });
      for (const [name, type] of QUERIES) {
        await t.step(`${name} ${type}`, async () => {
          const dig = await run("dig", [
            "@127.0.0.1",
            "-p",
            String(dnsmasqPort),
            "+noall",
            "+answer",
            "+tries=1",
            "+time=2",
            name,
            type,
          ], { timeout: 10_000, stdout: "piped", stderr: "piped" });
          assertEquals(dig.code, 0, dig.stderr);
          const want = digLines(dig.stdout);
          const res = await udp.query(name, type as "A");
          const ours = res.answers.map((rr) => formatRecord(rr).split(/\s+/).join(" ")).sort();
          assertEquals(ours, want);
          if (name === "nope.sip.test") assertEquals(res.rcode, 3);
          else assertEquals(ours.length > 0, true);
          const overTcp = await tcp.query(name, type as "A");
          assertEquals(
            overTcp.answers.map((rr) => formatRecord(rr).split(/\s+/).join(" ")).sort(),
            want,
          );
        });
      }
      await t.step("big TXT set is truncated over UDP and completed over TCP", async () => {
        // A raw UDP query shows dnsmasq's TC bit.
        const sock = dgram.createSocket("udp4");
        const raw = await new Promise<Uint8Array>((resolve) => {
          sock.on("message", (m: Uint8Array) => resolve(new Uint8Array(m)));
          sock.send(
            encodeMessage({ id: 77, rd: true, questions: [{ name: "big.sip.test", type: "TXT" }] }),
            dnsmasqPort,
            "127.0.0.1",
          );
        }).finally(() => sock.close());
        const truncated = decodeMessage(raw);
        assertEquals([truncated.id, truncated.tc, raw.length <= 512], [77, true, true]);
        const noEdns = new DnsResolver({ servers: [server], cache: false, udpPayloadSize: 0 });
        const res = await noEdns.resolve("big.sip.test", "TXT");
        assertEquals(res.map((rr) => new TextDecoder().decode(rr.data[0])).sort(), BIG_TXT);
      });
      await t.step("the command line prints dig's answer lines", async () => {
        const cli = await run(Deno.execPath(), [
          "run",
          "-A",
          new URL("./main.ts", import.meta.url).pathname,
          "@127.0.0.1",
          "-p",
          String(dnsmasqPort),
          "sip.test",
          "NAPTR",
        ], { timeout: 30_000, stdout: "piped", stderr: "piped" });
        assertEquals(cli.code, 0, cli.stderr);
        assertEquals(cli.stdout.includes("status: NOERROR"), true);
        const dig = await run("dig", [
          "@127.0.0.1",
          "-p",
          String(dnsmasqPort),
          "+noall",
          "+answer",
          "sip.test",
          "NAPTR",
        ], {
          timeout: 10_000,
          stdout: "piped",
        });
        assertEquals(digLines(cli.stdout), digLines(dig.stdout));
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeout: 60_000 },
);

interopTest(
  "dig reads answers from our serveDns() (UDP, TCP fallback)",
  [{ bin: "dig", apt: "bind9-dnsutils" }],
  async () => {
    await using server = await serveDns({ zone: new DnsZone(ZONE_RECORDS), port: 0 });
    const dig = (args: string[]) =>
      run("dig", ["@127.0.0.1", "-p", String(server.port), "+tries=1", "+time=2", ...args], {
        timeout: 10_000,
        stdout: "piped",
      });
    const srv = await dig(["+noall", "+answer", "_sip._udp.sip.test", "SRV"]);
    assertEquals(digLines(srv.stdout), ["_sip._udp.sip.test. 60 IN SRV 1 0 5060 pbx.sip.test."]);
    const big = await dig(["+noall", "+answer", "+comments", "big.sip.test", "TXT"]);
    assertEquals(big.stdout.includes("Truncated, retrying in TCP mode"), true);
    assertEquals(digLines(big.stdout).length, 40);
    const nx = await dig(["+noall", "+comments", "nope.sip.test", "A"]);
    assertEquals(nx.stdout.includes("status: NXDOMAIN"), true);
  },
  { timeout: 30_000 },
);
