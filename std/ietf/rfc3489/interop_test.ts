// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal } from "node:assert/strict";
import { interopTest, isStaleName, run, startPeer, uniqueName } from "@rtclite/testing";

// --- NAT discovery through real Linux NATs in network namespaces ---

// Names unique to this process: two copies of the suite at once build their own namespaces and
// never delete each other's. The veth interfaces are created inside them, so their names are
// private to each copy.
const PREFIX = "rtc8";
const NS = {
  server: uniqueName(`${PREFIX}s`),
  nat: uniqueName(`${PREFIX}n`),
  client: uniqueName(`${PREFIX}c`),
};

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

async function teardown(): Promise<void> {
  for (const ns of Object.values(NS)) {
    await run("ip", ["netns", "del", ns]);
  }
}

/** Deletes the namespaces a killed run left behind (its process is gone), not a running copy's. */
async function removeStale(): Promise<void> {
  const { stdout } = await run("ip", ["netns", "list"], { stdout: "piped" });
  for (const name of stdout.split("\n").map((l) => l.split(" ")[0]!)) {
    if (["s", "n", "c"].some((k) => isStaleName(`${PREFIX}${k}`, name))) {
      await run("ip", ["netns", "del", name]);
    }
  }
}

interopTest(
  "discoverNat() classifies Linux NATs and firewalls built with nftables in network namespaces (all seven outcomes)",
  [{ bin: "ip", apt: "iproute2" }, { bin: "nft", apt: "nftables" }],
  async (t) => {
    await removeStale();
    try {
      await sh("ip", "netns", "add", NS.server);
    } catch (e) {
      console.log(
        `NOTE: network namespaces are forbidden here, NAT discovery in netns not tested: ${e}`,
      );
      return;
    }
    try {
      const exec = (ns: string, ...cmd: string[]) => sh("ip", "netns", "exec", ns, ...cmd);
      await sh("ip", "netns", "add", NS.nat);
      await sh("ip", "netns", "add", NS.client);
      // server <-> nat on 10.84.0.0/24 (server holds A1=.1 and A2=.2); nat <-> client on 10.85.0.0/24
      await sh(
        "ip",
        "link",
        "add",
        "r8s0",
        "netns",
        NS.server,
        "type",
        "veth",
        "peer",
        "name",
        "r8n0",
        "netns",
        NS.nat,
      );
      await sh(
        "ip",
        "link",
        "add",
        "r8n1",
        "netns",
        NS.nat,
        "type",
        "veth",
        "peer",
        "name",
        "r8c0",
        "netns",
        NS.client,
      );
      await exec(NS.server, "ip", "addr", "add", "10.84.0.1/24", "dev", "r8s0");
      await exec(NS.server, "ip", "addr", "add", "10.84.0.2/24", "dev", "r8s0");
      await exec(NS.nat, "ip", "addr", "add", "10.84.0.254/24", "dev", "r8n0");
      await exec(NS.nat, "ip", "addr", "add", "10.85.0.1/24", "dev", "r8n1");
      await exec(NS.client, "ip", "addr", "add", "10.85.0.2/24", "dev", "r8c0");
      for (
        const [ns, devs] of [[NS.server, ["lo", "r8s0"]], [NS.nat, ["lo", "r8n0", "r8n1"]], [
          NS.client,
          ["lo", "r8c0"],
        ]] as const
      ) {
        for (const dev of devs) await exec(ns, "ip", "link", "set", dev, "up");
      }
      await exec(NS.client, "ip", "route", "add", "default", "via", "10.85.0.1");
      await exec(NS.nat, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward");
      const script = new URL("./main.ts", import.meta.url).pathname;
      await using _server = startPeer("ip", [
        "netns",
        "exec",
        NS.server,
        Deno.execPath(),
        "run",
        "-A",
        script,
        "--serve",
        "10.84.0.1,10.84.0.2",
        "--ports",
        "3478,3479",
      ]);
      await _server.waitFor("classic STUN server on", 20_000);
      // Ready means answering, not only logging: on a loaded machine the first answers of a
      // freshly started server can come later than the short timers of the steps below allow,
      // which read as "udp-blocked". Wait for one answer with RFC 3489's default timers first.
      const ready = await exec(
        NS.nat,
        Deno.execPath(),
        "run",
        "-A",
        script,
        "--discover",
        "stun:10.84.0.1:3478",
      );
      if (ready.startsWith("udp-blocked")) throw new Error(`the STUN server does not answer`);
      const discover = async (ns: string, port?: number) => {
        const args = ["--discover", "stun:10.84.0.1:3478", "--rto", "50", "--rc", "3"];
        if (port) args.push("--port", String(port));
        const out = await exec(ns, Deno.execPath(), "run", "-A", script, ...args);
        console.log(`  ${ns}: ${out.trim()}`);
        return out.trim().split(" ")[0];
      };
      /**
       * Installs a NAT: `rule` in postrouting (masquerade or masquerade random), a guard dropping
       * unsolicited inbound packets before conntrack confirms an entry for them (as a home
       * router's firewall does; otherwise Linux keeps an entry for test II's unanswered response
       * and picks another port for test I', which looks symmetric), and optionally a static
       * inbound mapping of `open.port` to the client, from any host or only from `open.from`,
       * which makes the filtering endpoint-independent or address-dependent.
       */
      const nat = async (rule: string, open?: { port: number; from?: string }) => {
        const nft = (cmd: string) => exec(NS.nat, "nft", cmd);
        await exec(NS.nat, "nft", "flush", "ruleset");
        await nft("add table ip nat");
        await nft("add chain ip nat post { type nat hook postrouting priority 100 ; }");
        await nft(`add rule ip nat post oifname "r8n0" ip saddr 10.85.0.0/24 ${rule}`);
        await nft("add chain ip nat guard { type filter hook prerouting priority -150 ; }");
        await nft("add chain ip nat pre { type nat hook prerouting priority -100 ; }");
        if (open) {
          const from = open.from ? `ip saddr ${open.from} ` : "";
          await nft(`add rule ip nat guard iifname "r8n0" ${from}udp dport ${open.port} accept`);
          await nft(
            `add rule ip nat pre iifname "r8n0" ${from}udp dport ${open.port} dnat to 10.85.0.2:${open.port}`,
          );
        }
        await nft('add rule ip nat guard iifname "r8n0" ct state new drop');
      };
      await t.step(
        "no NAT (the router itself, on the server's network): open internet",
        async () => {
          equal(await discover(NS.nat), "open-internet");
        },
      );
      await t.step(
        "masquerade (endpoint-independent mapping, address-and-port-dependent filtering): port-restricted cone",
        async () => {
          await nat("masquerade");
          equal(await discover(NS.client), "port-restricted-cone");
        },
      );
      await t.step(
        "the router itself behind its own inbound guard: symmetric UDP firewall",
        async () => {
          await nat("masquerade");
          equal(await discover(NS.nat), "symmetric-udp-firewall");
        },
      );
      await t.step("masquerade random (a new random port per destination): symmetric", async () => {
        await nat("masquerade random");
        equal(await discover(NS.client), "symmetric");
      });
      await t.step(
        "masquerade with inbound open to the mapped port from anywhere: full cone",
        async () => {
          await nat("masquerade", { port: 40000 });
          equal(await discover(NS.client, 40000), "full-cone");
        },
      );
      await t.step(
        "masquerade with inbound open only from the server's first address: restricted cone",
        async () => {
          await nat("masquerade", { port: 40002, from: "10.84.0.1" });
          equal(await discover(NS.client, 40002), "restricted-cone");
        },
      );
      await t.step("UDP dropped by the router: UDP blocked", async () => {
        await exec(
          NS.nat,
          "nft",
          "add chain ip nat filt { type filter hook forward priority 0 ; }",
        );
        await exec(NS.nat, "nft", "add rule ip nat filt udp dport 3478 drop");
        equal(await discover(NS.client), "udp-blocked");
      });
    } finally {
      await teardown();
      equal(
        (await sh("ip", "netns", "list")).split("\n")
          .filter((l) => Object.values(NS).includes(l.split(" ")[0]!)).length,
        0,
      );
    }
  },
  { timeout: 90_000 },
);
