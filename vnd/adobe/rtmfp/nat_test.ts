// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Peer-to-peer through two Linux NATs (nftables masquerade) in network namespaces, with the
// rendezvous server on the "public" side: the clients find each other by peer id and the
// messages flow directly between the NATs' public addresses (RFC 7016 §3.5.1.5, §3.5.1.6).
import { equal, match, ok } from "node:assert/strict";
import { interopTest, isStaleName, run, startPeer, uniqueName } from "@rtclite/testing";

// Names unique to this process: two copies of the suite at once build their own namespaces and
// never delete each other's. The veth interfaces are created inside them, so their names are
// private to each copy.
const PREFIX = "rtf9";
const NS = {
  pub: uniqueName(`${PREFIX}p`),
  nat1: uniqueName(`${PREFIX}n`),
  nat2: uniqueName(`${PREFIX}n`),
  cli1: uniqueName(`${PREFIX}c`),
  cli2: uniqueName(`${PREFIX}c`),
};
const main = new URL("./main.ts", import.meta.url).pathname;

async function sh(...cmd: string[]): Promise<string> {
  const out = await run(cmd[0]!, cmd.slice(1), {
    timeout: 20_000,
    stdout: "piped",
    stderr: "piped",
  });
  if (out.code !== 0) {
    throw new Error(`${cmd.join(" ")} failed (${out.code}): ${out.stderr.trim()}`);
  }
  return out.stdout;
}

const exec = (ns: string, ...cmd: string[]) => sh("ip", "netns", "exec", ns, ...cmd);

async function teardown(): Promise<void> {
  for (const ns of Object.values(NS)) await run("ip", ["netns", "del", ns]);
}

/** Deletes the namespaces a killed run left behind (its process is gone), not a running copy's. */
async function removeStale(): Promise<void> {
  const { stdout } = await run("ip", ["netns", "list"], { stdout: "piped" });
  for (const name of stdout.split("\n").map((l) => l.split(" ")[0]!)) {
    if (["p", "n", "c"].some((k) => isStaleName(`${PREFIX}${k}`, name))) {
      await run("ip", ["netns", "del", name]);
    }
  }
}

/** pub: 10.86.1.1 (server) and 10.86.2.1; natN: 10.86.N.2 outside, 10.87.N.1 inside; cliN: 10.87.N.2. */
async function build(): Promise<void> {
  for (const ns of Object.values(NS)) await sh("ip", "netns", "add", ns);
  const veth = (a: string, nsA: string, b: string, nsB: string) =>
    sh("ip", "link", "add", a, "netns", nsA, "type", "veth", "peer", "name", b, "netns", nsB);
  for (const n of [1, 2]) {
    const nat = n === 1 ? NS.nat1 : NS.nat2, cli = n === 1 ? NS.cli1 : NS.cli2;
    await veth(`f9p${n}`, NS.pub, `f9o${n}`, nat);
    await veth(`f9i${n}`, nat, `f9c${n}`, cli);
    await exec(NS.pub, "ip", "addr", "add", `10.86.${n}.1/24`, "dev", `f9p${n}`);
    await exec(nat, "ip", "addr", "add", `10.86.${n}.2/24`, "dev", `f9o${n}`);
    await exec(nat, "ip", "addr", "add", `10.87.${n}.1/24`, "dev", `f9i${n}`);
    await exec(cli, "ip", "addr", "add", `10.87.${n}.2/24`, "dev", `f9c${n}`);
    for (
      const [ns, dev] of [[NS.pub, `f9p${n}`], [nat, `f9o${n}`], [nat, `f9i${n}`], [cli, `f9c${n}`]]
    ) {
      await exec(ns!, "ip", "link", "set", dev!, "up");
    }
    await exec(nat, "ip", "link", "set", "lo", "up");
    await exec(cli, "ip", "link", "set", "lo", "up");
    await exec(nat, "ip", "route", "add", "default", "via", `10.86.${n}.1`);
    await exec(cli, "ip", "route", "add", "default", "via", `10.87.${n}.1`);
    await exec(nat, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward");
    // masquerade; unsolicited inbound dropped before conntrack confirms it (a home router)
    const nft = (rule: string) => exec(nat, "nft", rule);
    await nft("add table ip nat");
    await nft("add chain ip nat post { type nat hook postrouting priority 100 ; }");
    await nft(`add rule ip nat post oifname "f9o${n}" ip saddr 10.87.${n}.0/24 masquerade`);
    await nft("add chain ip nat guard { type filter hook prerouting priority -150 ; }");
    await nft(`add rule ip nat guard iifname "f9o${n}" ct state new drop`);
  }
  await exec(NS.pub, "ip", "link", "set", "lo", "up");
  await exec(NS.pub, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward");
}

interopTest(
  "two clients behind two NATs meet at the server by peer id and talk directly, with 5% loss, and through --middle",
  [{ bin: "ip", apt: "iproute2" }, { bin: "nft", apt: "nftables" }],
  async (t) => {
    await removeStale();
    try {
      await sh("ip", "netns", "add", NS.pub);
      await sh("ip", "netns", "del", NS.pub);
    } catch (e) {
      console.log(
        `NOTE: network namespaces are forbidden here, RTMFP through NATs not tested: ${e}`,
      );
      return;
    }
    try {
      await build();
      await using server = startPeer("ip", [
        "netns",
        "exec",
        NS.pub,
        Deno.execPath(),
        "run",
        "-A",
        main,
        "serve",
        "--host",
        "10.86.1.1",
        "--port",
        "1935",
        "--trace",
      ]);
      await server.waitFor("serving on 10.86.1.1:1935", 20_000);
      const url = "rtmfp://10.86.1.1:1935/app";
      await using bob = startPeer("ip", [
        "netns",
        "exec",
        NS.cli2,
        Deno.execPath(),
        "run",
        "-A",
        main,
        "connect",
        url,
        "--wait",
        "60",
      ]);
      await bob.waitFor(/connected, peer id [0-9a-f]{64}/, 20_000);
      const bobId = /peer id ([0-9a-f]{64})/.exec(bob.output())![1]!;

      const alice = async (count: number, text: string) => {
        const out = await exec(
          NS.cli1,
          Deno.execPath(),
          "run",
          "-A",
          main,
          "connect",
          url,
          "--peer",
          bobId,
          "--message",
          text,
          "--count",
          String(count),
          "--wait",
          "8",
        );
        // The direct session is with nat2's public address, not the server's.
        match(out, /direct session with [0-9a-f]{64} at 10\.86\.2\.2:\d+/);
        for (let i = 0; i < count; i++) await bob.waitFor(`: ${text} ${i}\n`, 20_000);
        const got = bob.output().split("\n").filter((l) => l.includes(`: ${text} `));
        equal(got.length, count);
        got.forEach((l, i) => ok(l.endsWith(`: ${text} ${i}`), l));
      };

      await t.step("direct, through port-restricted cone NATs", async () => {
        await alice(20, "hello");
        // The server introduced them (a Redirect and a Forwarded IHello) and carried none of
        // their data: its sessions with the clients never saw a User Data chunk.
        const trace = server.output();
        match(trace, /-> 10\.86\.1\.2:\d+ sid=\w+ mode=3 .*\| redirect /);
        match(trace, /-> 10\.86\.2\.2:\d+ sid=\w+ mode=2 .*\| fihello /);
        equal(/userData/.test(trace), false);
      });

      await t.step(
        "with 5% loss on both NATs the messages still all arrive",
        async () => {
          for (const [nat, dev] of [[NS.nat1, "f9o1"], [NS.nat2, "f9o2"]] as const) {
            try {
              await exec(nat, "tc", "qdisc", "add", "dev", dev, "root", "netem", "loss", "5%");
            } catch {
              // No sch_netem in this kernel: drop 5% of forwarded UDP with nftables instead, every
              // 20th packet: on a busy machine the messages go in fewer, fuller packets, and a
              // random 5% of those can be none, which would not show that the loss was real.
              await exec(
                nat,
                "nft",
                "add chain ip nat loss { type filter hook forward priority 0 ; }",
              );
              await exec(
                nat,
                "nft",
                "add rule ip nat loss meta l4proto udp numgen inc mod 20 0 counter drop",
              );
            }
          }
          await alice(200, "lossy");
          equal(/userData/.test(server.output()), false);
          // The loss was real: the NATs dropped packets.
          const counters = await exec(NS.nat1, "nft", "list", "ruleset") +
            await exec(NS.nat2, "nft", "list", "ruleset");
          const dropped = [...counters.matchAll(/counter packets (\d+)/g)].reduce(
            (n, m) => n + Number(m[1]),
            0,
          );
          if (/numgen/.test(counters)) ok(dropped > 0, counters);
        },
      );

      await t.step("--middle: the same through a relay on the server", async () => {
        await using middle = startPeer("ip", [
          "netns",
          "exec",
          NS.pub,
          Deno.execPath(),
          "run",
          "-A",
          main,
          "serve",
          "--host",
          "10.86.1.1",
          "--port",
          "1936",
          "--middle",
          "--trace",
        ]);
        await middle.waitFor("serving on 10.86.1.1:1936", 20_000);
        const url2 = "rtmfp://10.86.1.1:1936/app";
        await using carol = startPeer("ip", [
          "netns",
          "exec",
          NS.cli2,
          Deno.execPath(),
          "run",
          "-A",
          main,
          "connect",
          url2,
          "--wait",
          "60",
        ]);
        await carol.waitFor(/connected, peer id [0-9a-f]{64}/, 20_000);
        const carolId = /peer id ([0-9a-f]{64})/.exec(carol.output())![1]!;
        const out = await exec(
          NS.cli1,
          Deno.execPath(),
          "run",
          "-A",
          main,
          "connect",
          url2,
          "--peer",
          carolId,
          "--message",
          "relayed",
          "--count",
          "10",
          "--wait",
          "5",
        );
        // The session's far end is the relay on the server, not nat2.
        match(out, /direct session with [0-9a-f]{64} at 10\.86\.1\.1:\d+/);
        await carol.waitFor(": relayed 9\n", 20_000);
        match(middle.output(), /relay \d+: 10\.86\.1\.2:\d+ -> 10\.86\.2\.2:\d+ .*encrypted bytes/);
      });
    } finally {
      await teardown();
    }
  },
  { timeout: 180_000 },
);
