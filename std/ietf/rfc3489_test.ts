// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { interopTest, run, startPeer } from "@rtclite/testing";
import {
  addressAttribute,
  createMessage,
  decodeStun,
  encodeStun,
  getAddress,
  getErrorCode,
  getUnknownAttributes,
  StunAttr,
  StunClass,
  StunMethod,
  StunParseError,
  type TransportAddress,
} from "./rfc5389.ts";
import {
  changeRequestAttribute,
  ClassicStunServer,
  discoverNat,
  getChangeRequest,
  NatDiscovery,
  type NatTestResult,
  type NatType,
  serveClassicStunUdp,
} from "./rfc3489.ts";

const A1 = "192.0.2.1", A2 = "192.0.2.2";
const at = (address: string, port: number): TransportAddress => ({ family: 4, address, port });
const CLIENT = at("198.51.100.7", 40000);

Deno.test("CHANGE-REQUEST round trip and bad length (RFC 3489 §11.2.4)", () => {
  for (const changeIp of [false, true]) {
    for (const changePort of [false, true]) {
      const msg = decodeStun(
        encodeStun(createMessage(1, 0, [changeRequestAttribute({ changeIp, changePort })])),
      );
      deepEqual(getChangeRequest(msg), { changeIp, changePort });
    }
  }
  throws(
    () =>
      getChangeRequest(
        createMessage(1, 0, [{ type: StunAttr.CHANGE_REQUEST, value: new Uint8Array(2) }]),
      ),
    StunParseError,
  );
});

Deno.test("ClassicStunServer picks the source per Table 1 and adds MAPPED/SOURCE/CHANGED-ADDRESS (RFC 3489 §8.1)", async (t) => {
  const server = new ClassicStunServer({ addresses: [A1, A2], ports: [3478, 3479] });
  const cases: [boolean, boolean, TransportAddress, string, number][] = [
    [false, false, at(A1, 3478), A1, 3478],
    [true, false, at(A1, 3478), A2, 3478],
    [false, true, at(A1, 3478), A1, 3479],
    [true, true, at(A1, 3478), A2, 3479],
    [true, true, at(A2, 3479), A1, 3478],
  ];
  for (const [changeIp, changePort, on, srcA, srcP] of cases) {
    await t.step(
      `change IP ${changeIp}, change port ${changePort}, received on ${on.address}:${on.port}`,
      () => {
        const tid = crypto.getRandomValues(new Uint8Array(16));
        const req = createMessage(StunMethod.Binding, StunClass.Request, [
          changeRequestAttribute({ changeIp, changePort }),
        ], tid);
        const reply = server.handle(encodeStun(req), CLIENT, on)!;
        deepEqual(reply.from, at(srcA, srcP));
        deepEqual(reply.to, CLIENT);
        const res = decodeStun(reply.data, { classic: true });
        equal(res.transactionId.length, 16);
        deepEqual(getAddress(res, StunAttr.MAPPED_ADDRESS), CLIENT);
        deepEqual(getAddress(res, StunAttr.SOURCE_ADDRESS), at(srcA, srcP));
        const ca = on.address === A1 ? A2 : A1, cp = on.port === 3478 ? 3479 : 3478;
        deepEqual(getAddress(res, StunAttr.CHANGED_ADDRESS), at(ca, cp));
        equal(getAddress(res, StunAttr.XOR_MAPPED_ADDRESS), undefined);
      },
    );
  }
  await t.step("RFC 5389 client gets XOR-MAPPED-ADDRESS too", () => {
    const reply = server.handle(encodeStun(createMessage(1, 0)), CLIENT, at(A1, 3478))!;
    deepEqual(getAddress(decodeStun(reply.data), StunAttr.XOR_MAPPED_ADDRESS), CLIENT);
  });
  await t.step("RESPONSE-ADDRESS is ignored unless allowed, then REFLECTED-FROM is added", () => {
    const target = at("203.0.113.9", 9);
    const req = encodeStun(
      createMessage(
        1,
        0,
        [addressAttribute(StunAttr.RESPONSE_ADDRESS, target)],
        new Uint8Array(16),
      ),
    );
    deepEqual(server.handle(req, CLIENT, at(A1, 3478))!.to, CLIENT);
    const open = new ClassicStunServer({
      addresses: [A1, A2],
      ports: [3478, 3479],
      allowResponseAddress: true,
    });
    const reply = open.handle(req, CLIENT, at(A1, 3478))!;
    deepEqual(reply.to, target);
    deepEqual(
      getAddress(decodeStun(reply.data, { classic: true }), StunAttr.REFLECTED_FROM),
      CLIENT,
    );
  });
  await t.step(
    "unknown mandatory attributes: 420, list padded by repeating the last (RFC 3489 §11.2.10)",
    () => {
      const req = createMessage(1, 0, [{ type: 0x0777, value: new Uint8Array(4) }, {
        type: 0x8777,
        value: new Uint8Array(4),
      }], new Uint8Array(16));
      const res = decodeStun(server.handle(encodeStun(req), CLIENT, at(A1, 3478))!.data, {
        classic: true,
      });
      equal(getErrorCode(res)?.code, 420);
      deepEqual(getUnknownAttributes(res), [0x0777, 0x0777]);
    },
  );
  await t.step("garbage and non-requests get no answer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const r = server.handle(b, CLIENT, at(A1, 3478));
        if (r) ok(r.data.length >= 20);
      }),
      { numRuns: 300 },
    );
    equal(
      server.handle(encodeStun(createMessage(1, StunClass.Indication)), CLIENT, at(A1, 3478)),
      undefined,
    );
  });
});

Deno.test("NatDiscovery follows the RFC 3489 §10.1 flow chart to each of the outcomes", () => {
  const server = at(A1, 3478), changed = at(A2, 3479), local = at("10.0.0.2", 5000);
  const pub = at("203.0.113.1", 40000);
  const walk = (...results: (NatTestResult | undefined)[]): [NatType | undefined, string[]] => {
    const d = new NatDiscovery(server, local);
    const names: string[] = [];
    for (const r of results) {
      names.push(d.next()!.name);
      d.report(r);
    }
    equal(d.next(), undefined);
    return [d.type, names];
  };
  deepEqual(walk(undefined), ["udp-blocked", ["I"]]);
  deepEqual(walk({ mapped: local, changed }, { mapped: local, changed }), ["open-internet", [
    "I",
    "II",
  ]]);
  deepEqual(walk({ mapped: local, changed }, undefined), ["symmetric-udp-firewall", ["I", "II"]]);
  deepEqual(walk({ mapped: pub, changed }, { mapped: pub, changed }), ["full-cone", ["I", "II"]]);
  deepEqual(
    walk({ mapped: pub, changed }, undefined, { mapped: at(pub.address, 40001), changed }),
    ["symmetric", ["I", "II", "I'"]],
  );
  deepEqual(
    walk({ mapped: pub, changed }, undefined, { mapped: pub, changed }, { mapped: pub, changed }),
    ["restricted-cone", ["I", "II", "I'", "III"]],
  );
  deepEqual(walk({ mapped: pub, changed }, undefined, { mapped: pub, changed }, undefined), [
    "port-restricted-cone",
    ["I", "II", "I'", "III"],
  ]);
  const d = new NatDiscovery(server, local);
  d.report({ mapped: pub, changed: undefined });
  throws(() => d.report(undefined), Error);
});

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

// --- NAT discovery through real Linux NATs in network namespaces ---

const NS = { server: "rtc8srv", nat: "rtc8nat", client: "rtc8cli" };

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

interopTest(
  "discoverNat() classifies Linux NATs and firewalls built with nftables in network namespaces (all seven outcomes)",
  [{ bin: "ip", apt: "iproute2" }, { bin: "nft", apt: "nftables" }],
  async (t) => {
    await teardown();
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
      const script = new URL("./rfc3489.ts", import.meta.url).pathname;
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
        (await sh("ip", "netns", "list")).split("\n").filter((l) => l.startsWith("rtc8")).length,
        0,
      );
    }
  },
  { timeout: 90_000 },
);
