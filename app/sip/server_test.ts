// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  freePort,
  freeSipPort,
  interopTest,
  run,
  selfSignedCert,
  startPeer,
} from "@rtclite/testing";
import {
  createResponse,
  parseMessage,
  SipEndpoint,
  type SipMessage,
  type SipTransport,
  UserAgent,
} from "@rtclite/std/ietf/rfc3261";
import { TcpTransport, TlsTransport, UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
import { WsTransport } from "@rtclite/std/ietf/rfc3261/ws_transport";
import { MemoryLocationStore, parseServerArgs, SipServer } from "./server.ts";

const enc = new TextEncoder();
const VECTORS = new URL("../../std/ietf/testdata/rfc4475/", import.meta.url);

/** Sends one datagram and waits for one reply (or `undefined` after `ms`). */
async function exchange(
  port: number,
  text: string | Uint8Array,
  ms = 1000,
): Promise<SipMessage | undefined> {
  const sock = await UdpTransport.listen({ port: 0 });
  try {
    const got = Promise.withResolvers<SipMessage | undefined>();
    sock.onMessage = (m) => got.resolve(m);
    const timer = setTimeout(() => got.resolve(undefined), ms);
    const raw = typeof text === "string"
      ? enc.encode(text.replaceAll("$PORT", String(sock.port)))
      : text;
    await sock.send(raw, "127.0.0.1", port);
    const r = await got.promise;
    clearTimeout(timer);
    return r;
  } finally {
    await sock.close();
  }
}

const options = (port: number, user = "") =>
  `OPTIONS sip:${user}127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:$PORT;branch=z9hG4bK${crypto.randomUUID()}\r\n` +
  `From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:${user}127.0.0.1>\r\nCall-ID: ${crypto.randomUUID()}\r\n` +
  `CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;

let cseq = 0;
/** No DNS query leaves the machine: only IP literals resolve. */
const noDns = (host: string) => Promise.resolve(/^[\d.]+$|:/.test(host) ? [host] : []);
const register = (port: number, user: string, contact: string, extra = "") =>
  `REGISTER sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:$PORT;branch=z9hG4bK${crypto.randomUUID()}\r\n` +
  `From: <sip:${user}@127.0.0.1>;tag=9\r\nTo: <sip:${user}@127.0.0.1>\r\nCall-ID: reg-${user}\r\n` +
  `CSeq: ${++cseq} REGISTER\r\nMax-Forwards: 70\r\n${contact}${extra}Content-Length: 0\r\n\r\n`;

Deno.test("parseServerArgs() pairs -t and -l in order and reads --auth", () => {
  deepEqual(
    parseServerArgs(["-t", "udp", "-l", "127.0.0.1:15060", "-t", "tcp", "-l", "[::1]:15061"]),
    {
      listen: [
        { transport: "udp", host: "127.0.0.1", port: 15060 },
        { transport: "tcp", host: "::1", port: 15061 },
      ],
    },
  );
  equal(parseServerArgs(["-t", "sctp"]), "Unknown transport sctp");
  equal(parseServerArgs(["--auth", "nocolon"]), "--auth needs USER:PASSWORD, got nocolon");
  equal(parseServerArgs(["--bogus"]), "Unknown option --bogus");
  deepEqual(
    parseServerArgs([
      "--allow-target",
      "10.0.0.0/8",
      "--max-transactions",
      "500",
      "--max-pending",
      "20",
      "--max-headers",
      "64",
      "--max-size",
      "4096",
      "--max-connections",
      "10",
      "--max-conn-per-address",
      "2",
      "--message-timeout",
      "3",
      "--max-aors",
      "100",
      "--max-bindings",
      "2",
    ]),
    {
      allowTargets: ["10.0.0.0/8"],
      maxAors: 100,
      maxBindings: 2,
      limits: {
        maxTransactions: 500,
        maxPendingPerSource: 20,
        maxHeaders: 64,
        maxMessageSize: 4096,
        maxConnections: 10,
        maxConnectionsPerAddress: 2,
        messageTimeout: 3000,
      },
    },
  );
  equal(
    parseServerArgs(["--allow-target", "10.0.0/8"]),
    "--allow-target needs ADDRESS/PREFIX, got 10.0.0/8",
  );
  equal(parseServerArgs(["--max-aors", "0"]), "--max-aors needs a positive integer, got 0");
});

Deno.test("registrar keeps several contacts with q-values and expiry, removes with * (RFC 3261 §10.3)", async () => {
  const server = await SipServer.start({
    listen: [{ transport: "udp", host: "127.0.0.1", port: 0 }],
    domains: ["127.0.0.1", "example.com"], // the RFC 4475 vectors register example.com users
  });
  const port = server.endpoint.transports[0]!.port;
  try {
    let r = await exchange(
      port,
      register(
        port,
        "carol",
        "Contact: <sip:carol@192.0.2.1>;q=0.5, <sip:carol@192.0.2.2>\r\nExpires: 120\r\n",
      ),
    );
    equal(r?.status, 200);
    const contacts = r!.contacts();
    equal(contacts.length, 2);
    equal(contacts[0]!.uri, "sip:carol@192.0.2.2"); // best q first
    equal(contacts[1]!.params.q, "0.5");
    equal(contacts[0]!.params.expires, "120");
    r = await exchange(
      port,
      register(port, "carol", "Contact: <sip:carol@192.0.2.1>;expires=0\r\n"),
    );
    deepEqual(r!.contacts().map((c) => c.uri), ["sip:carol@192.0.2.2"]);
    r = await exchange(
      port,
      register(port, "carol", "Contact: <sip:carol@192.0.2.3>;expires=10\r\n"),
    );
    equal(r?.status, 423);
    equal(r!.header("Min-Expires"), "60");
    r = await exchange(port, register(port, "carol", "Contact: *\r\n")); // * needs Expires: 0
    equal(r?.status, 400);
    r = await exchange(port, register(port, "carol", "Contact: *\r\nExpires: 0\r\n"));
    equal(r?.status, 200);
    equal(r!.contacts().length, 0);
    deepEqual(await server.location.lookup("sip:carol@127.0.0.1"), []);
    // RFC 4475 §3.3.12-14: contact parameters, URI parameters, escaped headers.
    for (
      const [name, uri] of [
        ["cparam01", "sip:+19725552222@gw1.example.net"],
        ["cparam02", "sip:+19725552222@gw1.example.net;unknownparam"],
        ["regescrt", "sip:user@example.com?Route=%3Csip:sip.example.com%3E"],
      ]
    ) {
      const text = new TextDecoder().decode(Deno.readFileSync(new URL(name + ".dat", VECTORS)))
        .replace("REGISTER sip:example.com", `REGISTER sip:127.0.0.1:${port}`);
      const reply = await exchange(
        port,
        text.replace(/Via: SIP\/2.0\/UDP [^;]+/, "Via: SIP/2.0/UDP 127.0.0.1:$PORT"),
      );
      equal(reply?.status, 200, name);
      equal(reply!.contacts()[0]!.uri, uri, name);
    }
    // RFC 4475 §3.3.4: a registrar rejects an AOR that is not a SIP URI.
    const unksm2 = new TextDecoder().decode(Deno.readFileSync(new URL("unksm2.dat", VECTORS)))
      .replace("REGISTER sip:example.com", `REGISTER sip:127.0.0.1:${port}`)
      .replace(/Via: SIP\/2.0\/UDP [^;]+/, "Via: SIP/2.0/UDP 127.0.0.1:$PORT");
    equal((await exchange(port, unksm2))?.status, 400);
  } finally {
    await server.close();
  }
});

Deno.test("MemoryLocationStore drops expired bindings", async () => {
  let now = 1000;
  const store = new MemoryLocationStore(() => now);
  await store.update("sip:a@b", () => [
    { contact: "<sip:a@1>", uri: "sip:a@1", q: 1, expires: 2000, callId: "c", cseq: 1 },
    { contact: "<sip:a@2>", uri: "sip:a@2", q: 0.1, expires: 5000, callId: "c", cseq: 1 },
  ]);
  equal((await store.lookup("sip:a@b")).length, 2);
  now = 3000;
  deepEqual((await store.lookup("sip:a@b")).map((b) => b.uri), ["sip:a@2"]);
});

Deno.test("server answers OPTIONS and the error statuses of RFC 4475 §3.3 (483, 416, 420, 505, 400)", async () => {
  const server = await SipServer.start({
    listen: [{ transport: "udp", host: "127.0.0.1", port: 0 }],
    domains: ["example.com"],
    resolve: noDns,
  });
  const port = server.endpoint.transports[0]!.port;
  try {
    equal((await exchange(port, options(port)))?.status, 200);
    const vec = (name: string) =>
      new TextDecoder().decode(Deno.readFileSync(new URL(name + ".dat", VECTORS)))
        .replace(/Via: SIP\/2.0\/(UDP|TCP|TLS) [^;\r\n]+/, "Via: SIP/2.0/UDP 127.0.0.1:$PORT");
    equal((await exchange(port, vec("zeromf")))?.status, 483);
    equal((await exchange(port, vec("unkscm")))?.status, 416);
    equal((await exchange(port, vec("novelsc")))?.status, 416);
    equal((await exchange(port, vec("bext01")))?.status, 420);
    equal(
      (await exchange(
        port,
        vec("badvers").replace("SIP/7.0/UDP c.example.com", "SIP/2.0/UDP 127.0.0.1:$PORT"),
      ))?.status,
      505,
    );
    equal((await exchange(port, vec("mismatch01")))?.status, 400);
    equal((await exchange(port, vec("insuf")))?.status, 400);
    equal(
      (await exchange(port, vec("regaut01").replace("sip:example.com", `sip:127.0.0.1:${port}`)))
        ?.status,
      200,
    );
    // Unknown user in a hosted domain.
    equal((await exchange(port, vec("invut")))?.status, 480);
  } finally {
    await server.close();
  }
});

Deno.test("registrar with --auth challenges and accepts digest credentials (RFC 3261 §22.4)", async () => {
  const server = await SipServer.start({
    listen: [{ transport: "udp", host: "127.0.0.1", port: 0 }],
    auth: { dave: "secret" },
  });
  const port = server.endpoint.transports[0]!.port;
  const mk = async (password: string) =>
    new UserAgent({
      endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
      aor: "sip:dave@127.0.0.1",
      password,
    });
  const good = await mk("secret");
  const bad = await mk("wrong");
  try {
    equal((await good.register(`sip:127.0.0.1:${port}`)).status, 200);
    equal((await bad.register(`sip:127.0.0.1:${port}`)).status, 401);
    equal((await server.location.lookup("sip:dave@127.0.0.1")).length, 1);
  } finally {
    await good.close();
    await bad.close();
    await server.close();
  }
});

Deno.test("proxy with --auth answers 407 to an unauthenticated INVITE and forwards an authenticated one (RFC 3261 §22.3)", async () => {
  const seen: string[] = [];
  const server = await SipServer.start({
    listen: [{ transport: "udp", host: "127.0.0.1", port: 0 }],
    domains: ["example.com"],
    auth: { alice: "wonderland", bob: "builder", mallory: "evil" },
    onTrace: ({ direction, message: m }) => {
      if (direction === "in" && m.isRequest) {
        seen.push(`${m.method}${m.has("Proxy-Authorization") ? "+auth" : ""}`);
      } else if (direction === "out" && m.status === 407) seen.push("407");
    },
  });
  const proxy = `sip:127.0.0.1:${server.endpoint.transports[0]!.port}`;
  const mk = async (name: string, password?: string) =>
    new UserAgent({
      endpoint: new SipEndpoint({
        transports: [await UdpTransport.listen({ host: "127.0.0.1", port: 0 })],
      }),
      aor: `sip:${name}@example.com`,
      ...(password === undefined ? {} : { password }),
      outboundProxy: proxy,
    });
  const bob = await mk("bob", "builder");
  const alice = await mk("alice", "wonderland");
  const anon = await mk("alice");
  const mallory = await mk("mallory", "evil");
  bob.onInvite = (call) => call.accept("v=0\r\n");
  try {
    equal((await bob.register(proxy)).status, 200);
    // Without credentials: 407 with a Proxy-Authenticate challenge, nothing forwarded.
    const refused = await anon.invite("sip:bob@example.com");
    equal(refused.state, "terminated");
    ok(refused.endReason.startsWith("407"), refused.endReason);
    // A user authenticated as someone else than the From user: 403.
    const spoof = new UserAgent({
      endpoint: new SipEndpoint({
        transports: [await UdpTransport.listen({ host: "127.0.0.1", port: 0 })],
      }),
      aor: "sip:alice@example.com",
      username: "mallory",
      password: "evil",
      outboundProxy: proxy,
    });
    try {
      const r = await spoof.invite("sip:bob@example.com");
      ok(r.endReason.startsWith("403"), r.endReason);
    } finally {
      await spoof.close();
    }
    // With credentials: the UA retries after the 407 and the call goes through.
    const call = await alice.invite("sip:bob@example.com", "v=0\r\n");
    equal(call.state, "established");
    equal(await call.bye(), 200);
    ok(seen.includes("INVITE+auth"), seen.join(" "));
    ok(seen.includes("407"), seen.join(" "));
    // ACK and in-dialog BYE were not challenged; OPTIONS to the server itself is not either.
    equal(seen.filter((x) => x === "407").length, 3, seen.join(" "));
    equal((await anon.options(proxy)).status, 200);
  } finally {
    for (const ua of [alice, bob, anon, mallory]) await ua.close();
    await server.close();
  }
});

Deno.test("server over TLS, WS and WSS: UAs register and call UDP UAs through it (RFC 3261 §26.2, RFC 7118)", async (t) => {
  const dir = await Deno.makeTempDir();
  const { cert, key } = await selfSignedCert(dir);
  const server = await SipServer.start({
    listen: (["udp", "tls", "ws", "wss"] as const).map((transport) => ({
      transport,
      host: "127.0.0.1",
      port: 0,
    })),
    domains: ["example.com"],
    tls: { cert, key },
  });
  const port = (name: string) => server.endpoint.transport(name as "UDP")!.port;
  const uas: UserAgent[] = [];
  const mk = async (name: string, transport: SipTransport, proxyParams: string) => {
    const ua = new UserAgent({
      endpoint: new SipEndpoint({ transports: [transport] }),
      aor: `sip:${name}@example.com`,
      outboundProxy: `sip:127.0.0.1:${port(transport.name)}${proxyParams}`,
      onInvite: (c) => c.accept("v=0\r\n"),
    });
    uas.push(ua);
    equal((await ua.register(`sip:example.com`)).status, 200);
    return ua;
  };
  try {
    const udp = await mk("uma", await UdpTransport.listen({ host: "127.0.0.1", port: 0 }), "");
    const cases: [string, () => Promise<SipTransport>, string][] = [
      [
        "tls",
        () => TlsTransport.listen({ host: "127.0.0.1", port: 0, cert, key, caCerts: [cert] }),
        ";transport=tls",
      ],
      ["ws", () => WsTransport.listen({ host: "127.0.0.1", port: 0 }), ";transport=ws"],
      [
        "wss",
        () => WsTransport.listen({ host: "127.0.0.1", port: 0, cert, key, caCerts: [cert] }),
        ";transport=wss",
      ],
    ];
    for (const [name, listen, params] of cases) {
      await t.step(
        `${name.toUpperCase()}: register, call a UDP UA and be called by it`,
        async () => {
          const ua = await mk(`${name}user`, await listen(), params);
          const [binding] = await server.location.lookup(`sip:${name}user@example.com`);
          ok(binding?.uri.endsWith(`;transport=${name}`), binding?.uri);
          const out = await ua.invite("sip:uma@example.com", "v=0\r\n");
          equal(out.state, "established", out.endReason);
          equal(out.invite.via()[0]!.transport, name.toUpperCase());
          equal(await out.bye(), 200);
          const back = await udp.invite(`sip:${name}user@example.com`, "v=0\r\n");
          equal(back.state, "established", back.endReason);
          equal(await back.bye(), 200);
        },
      );
    }
  } finally {
    for (const ua of uas) await ua.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("proxy locates a foreign domain by NAPTR/SRV and fails over on 503 and refused TCP (RFC 3263 §4.3)", async () => {
  const { DnsZone } = await import("@rtclite/std/ietf/rfc1035");
  const { DnsResolver } = await import("@rtclite/std/ietf/rfc1035/resolver");
  const { serveDns } = await import("@rtclite/std/ietf/rfc1035/server");
  const udp = () => UdpTransport.listen({ host: "127.0.0.1", port: 0 });
  const busy = new SipEndpoint({ transports: [await udp()] });
  let refused = 0;
  busy.onRequest = ({ request, transaction }) => {
    refused++;
    transaction?.respond(createResponse(request, 503));
  };
  const live = new SipEndpoint({
    transports: [await udp(), await TcpTransport.listen({ host: "127.0.0.1", port: 0 })],
  });
  const got: string[] = [];
  live.onRequest = ({ request, transaction, source }) => {
    got.push(`${source.transport.name} ${request.method} ${request.uri}`);
    transaction?.respond(createResponse(request, 200));
  };
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadTcp = closed.addr.port;
  closed.close();
  const srv = (name: string, priority: number, port: number) => ({
    name,
    type: "SRV" as const,
    ttl: 60,
    data: { priority, weight: 0, port, target: "host.far.test" },
  });
  const zone = new DnsZone([
    {
      name: "far.test",
      type: "NAPTR",
      ttl: 60,
      data: {
        order: 10,
        preference: 10,
        flags: "S",
        services: "SIP+D2U",
        regexp: "",
        replacement: "_sip._udp.far.test",
      },
    },
    srv("_sip._udp.far.test", 10, busy.transports[0]!.port),
    srv("_sip._udp.far.test", 20, live.transports[0]!.port),
    srv("_sip._tcp.tcp.test", 10, deadTcp),
    srv("_sip._tcp.tcp.test", 20, live.transports[1]!.port),
    { name: "host.far.test", type: "A", ttl: 60, data: "127.0.0.1" },
  ]);
  await using dns = await serveDns({ zone, hostname: "127.0.0.1", port: 0 });
  const server = await SipServer.start({
    listen: [
      { transport: "udp", host: "127.0.0.1", port: 0 },
      { transport: "tcp", host: "127.0.0.1", port: 0 },
    ],
    domains: ["example.com"],
    // Only an authenticated hosted user may reach a foreign domain.
    auth: { a: "pw" },
    dns: new DnsResolver({ servers: [`127.0.0.1:${dns.port}`], timeout: 1000 }),
  });
  const client = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await udp()] }),
    aor: "sip:a@example.com",
    password: "pw",
    outboundProxy: `sip:127.0.0.1:${server.endpoint.transports[0]!.port}`,
  });
  const ask = async (uri: string) => (await client.options(uri)).status;
  try {
    equal(await ask("sip:bob@far.test"), 200);
    deepEqual(got, ["UDP OPTIONS sip:bob@far.test"]);
    equal(refused, 1); // the first SRV target answered 503 first
    equal(await ask("sip:carol@tcp.test;transport=tcp"), 200);
    deepEqual(got.at(-1), "TCP OPTIONS sip:carol@tcp.test;transport=tcp");
  } finally {
    await client.close();
    await server.close();
    await busy.close();
    await live.close();
  }
});

Deno.test("server survives mutated RFC 4475 messages, garbage and bad TCP clients, then answers OPTIONS", async () => {
  const server = await SipServer.start({
    listen: [
      { transport: "udp", host: "127.0.0.1", port: 0 },
      { transport: "tcp", host: "127.0.0.1", port: 0 },
    ],
    domains: ["example.com", "example.net", "company.com", "example.org", "chair-dnrc.example.com"],
    resolve: noDns,
  });
  const udp = server.endpoint.transports[0]!.port;
  const tcp = server.endpoint.transports[1]!.port;
  const sock = await UdpTransport.listen({ port: 0 });
  const conns: Deno.Conn[] = [];
  try {
    let seed = 42;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const files = [...Deno.readDirSync(VECTORS)].map((f) =>
      Deno.readFileSync(new URL(f.name, VECTORS))
    );
    let sent = 0;
    for (const orig of files) {
      for (let k = 0; k < 8; k++) {
        const b = orig.slice(0, k === 0 ? orig.length : rand(orig.length) + 1);
        for (let j = 0; j < k; j++) b[rand(b.length)] = rand(256);
        await sock.send(b, "127.0.0.1", udp);
        sent++;
      }
    }
    ok(sent > 300);
    await sock.send(new Uint8Array(60000).fill(65), "127.0.0.1", udp); // oversized garbage
    await sock.send(crypto.getRandomValues(new Uint8Array(1200)), "127.0.0.1", udp);
    // TCP: garbage, an oversized header block, a half-open client and a slow one.
    const garbage = await Deno.connect({ port: tcp });
    await garbage.write(crypto.getRandomValues(new Uint8Array(4096)));
    conns.push(garbage);
    const huge = await Deno.connect({ port: tcp });
    conns.push(huge);
    await huge.write(enc.encode("OPTIONS sip:x SIP/2.0\r\nX: " + "a".repeat(70000)));
    const idle = await Deno.connect({ port: tcp });
    conns.push(idle);
    const slow = await Deno.connect({ port: tcp });
    conns.push(slow);
    await slow.write(enc.encode("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1"));
    const badLength = await Deno.connect({ port: tcp });
    conns.push(badLength);
    await badLength.write(enc.encode(Deno.readTextFileSync(new URL("ncl.dat", VECTORS))));
    // Everyone else is still served.
    const r = await exchange(udp, options(udp));
    equal(r?.status, 200);
    equal(r?.header("Allow")?.includes("INVITE"), true);
    // The TCP listener still answers on a fresh connection.
    const good = await Deno.connect({ port: tcp });
    conns.push(good);
    const local = (good.localAddr as Deno.NetAddr).port;
    await good.write(
      enc.encode(
        options(tcp).replace("SIP/2.0/UDP", "SIP/2.0/TCP").replace("$PORT", String(local)),
      ),
    );
    const buf = new Uint8Array(4096);
    const n = await good.read(buf);
    const reply = parseMessage(buf.subarray(0, n ?? 0));
    equal(reply.status, 200);
    // The garbage and oversized connections were closed by the server.
    const gbuf = new Uint8Array(100);
    equal(await garbage.read(gbuf).catch(() => null), null);
    equal(await huge.read(gbuf).catch(() => null), null);
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await sock.close();
    await server.close();
  }
});

// === Interop with real peers (127.0.0.1, on ports chosen free per run) ===

const SIPP = [{ bin: "sipp", apt: "sip-tester" }];
const L = ["-i", "127.0.0.1", "-mi", "127.0.0.1", "-nostdin"];

async function sippStats(file: string): Promise<{ ok: number; failed: number; retrans: number }> {
  const s = await Deno.readTextFile(file);
  const cum = (name: string) =>
    Number(new RegExp(`${name}\\s*\\|[^|]*\\|\\s*(\\d+)`).exec(s)?.[1] ?? -1);
  const retrans = [...s.matchAll(/^\s+\S+\s+(?:-+>|<-+)\s+(?:E-RTD1\s+)?\d+\s+(\d+)/gm)]
    .reduce((a, m) => a + Number(m[1]), 0);
  return { ok: cum("Successful call"), failed: cum("Failed call"), retrans };
}

/**
 * SIPp scenarios for calls through a proxy that records the route: the UAS
 * copies Record-Route into its 200 (no 180, which a loaded machine may deliver
 * after the 200), the UAC sends ACK and BYE to the
 * UAS's Contact along the recorded route (the built-in ones do neither, and
 * a proxy that forwards in-dialog requests only along its own route drops them).
 */
const UAS_XML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas with record-route">
  <recv request="INVITE" crlf="true"/>
  <send retrans="500"><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_Record-Route:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

  ]]></send>
  <recv request="ACK" optional="true" rtd="true" crlf="true"/>
  <recv request="BYE"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>
  <timewait milliseconds="4000"/>
</scenario>
`;

const UAC_XML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac along the recorded route">
  <send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send><![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <pause milliseconds="100"/>
  <send retrans="500"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200" crlf="true"/>
</scenario>
`;

/** A UDP port that was free a moment ago. */
async function freeUdpPort(): Promise<number> {
  const s = await UdpTransport.listen({ host: "127.0.0.1", port: 0 });
  await s.close();
  return s.port;
}

/** The first of `n` consecutive ports that were free a moment ago on UDP and TCP. */
async function freeRun(n: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const base = await freeSipPort();
    if (base + n > 65536) continue;
    const held: { close(): unknown }[] = [];
    try {
      for (let p = base; p < base + n; p++) {
        held.push(Deno.listen({ hostname: "127.0.0.1", port: p }));
        held.push(await UdpTransport.listen({ host: "127.0.0.1", port: p }));
      }
      return base;
    } catch {
      // taken: try another base
    } finally {
      for (const h of held) await h.close();
    }
  }
  throw new Error(`no ${n} consecutive free ports on 127.0.0.1`);
}

/**
 * Runs `calls` SIPp calls from a UAC to a UAS registered as `service` at our
 * proxy (a hosted user: the proxy is no open relay).
 */
async function sippCalls(
  extra: string[],
  calls: number,
): Promise<{ ok: number; failed: number; retrans: number }> {
  const dir = await Deno.makeTempDir();
  const server = await SipServer.start({
    listen: [{ transport: "udp", host: "127.0.0.1", port: 0 }],
  });
  // Free ports, so that another run of these tests on the machine does not interfere.
  const port = server.endpoint.transports[0]!.port;
  const [uasPort, uacPort] = [await freeUdpPort(), await freeUdpPort()];
  await server.location.update("sip:service@127.0.0.1", () => [{
    contact: `<sip:service@127.0.0.1:${uasPort}>`,
    uri: `sip:service@127.0.0.1:${uasPort}`,
    q: 1,
    expires: Date.now() + 600_000,
    callId: "sipp",
    cseq: 1,
  }]);
  try {
    await Deno.writeTextFile(`${dir}/uas.xml`, UAS_XML);
    await Deno.writeTextFile(`${dir}/uac.xml`, UAC_XML);
    await using uas = startPeer("sipp", [
      "-sf",
      `${dir}/uas.xml`,
      ...L,
      "-p",
      String(uasPort),
      "-timeout",
      "120s",
    ], {
      cwd: dir,
    });
    await new Promise((r) => setTimeout(r, 300));
    const res = await run("sipp", [
      "-sf",
      `${dir}/uac.xml`,
      `127.0.0.1:${port}`,
      ...L,
      "-p",
      String(uacPort),
      "-m",
      String(calls),
      ...extra,
      "-timeout",
      "100s",
      "-trace_err",
      "-trace_screen",
      "-screen_file",
      `${dir}/uac.screen`,
    ], { cwd: dir, timeout: 110_000 });
    const stats = await sippStats(`${dir}/uac.screen`);
    let errors = "";
    for (const f of Deno.readDirSync(dir)) {
      if (f.name.endsWith("_errors.log")) {
        errors += Deno.readTextFileSync(`${dir}/${f.name}`).slice(0, 2000);
      }
    }
    equal(res.code, 0, `sipp uac exit ${res.code}: ${JSON.stringify(stats)}\n${errors}`);
    void uas;
    return stats;
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

interopTest("SIPp UAC -> our proxy -> SIPp UAS: 1000 calls, zero failures", SIPP, async () => {
  const s = await sippCalls(["-r", "200"], 1000);
  equal(s.ok, 1000);
  equal(s.failed, 0);
}, { timeout: 60_000 });

interopTest(
  "SIPp UAC with -lost 10 through our proxy: retransmissions recover every call",
  SIPP,
  async () => {
    const s = await sippCalls(["-r", "200", "-lost", "10"], 1000);
    equal(s.ok, 1000);
    equal(s.failed, 0);
    ok(s.retrans > 100, `expected retransmissions, saw ${s.retrans}`);
  },
  { timeout: 120_000 },
);

const REG_XML = (auth: boolean) =>
  `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:${auth ? "erin" : "user[call_number]"}@[remote_ip]>;tag=[pid]SIPpTag0[call_number]
      To: <sip:${auth ? "erin" : "user[call_number]"}@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:user[call_number]@[local_ip]:[local_port]>
      Expires: 3600
      Content-Length: 0

  ]]></send>
${
    auth
      ? `  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:erin@[remote_ip]>;tag=[pid]SIPpTag0[call_number]
      To: <sip:erin@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:user[call_number]@[local_ip]:[local_port]>
      [authentication username=erin password=secret]
      Expires: 3600
      Content-Length: 0

  ]]></send>
`
      : ""
  }  <recv response="200" rtd="true"/>
</scenario>
`;

for (const auth of [false, true]) {
  interopTest(
    `SIPp REGISTER scenario against our registrar${auth ? " with digest" : ""}`,
    SIPP,
    async () => {
      const dir = await Deno.makeTempDir();
      const server = await SipServer.start({
        listen: [{ transport: "udp", host: "127.0.0.1", port: 0 }],
        ...(auth ? { auth: { erin: "secret" } } : {}),
        maxBindings: 500,
      });
      const port = server.endpoint.transports[0]!.port, sippPort = await freeUdpPort();
      try {
        await Deno.writeTextFile(`${dir}/reg.xml`, REG_XML(auth));
        const res = await run("sipp", [
          "-sf",
          `${dir}/reg.xml`,
          `127.0.0.1:${port}`,
          ...L,
          "-p",
          String(sippPort),
          "-m",
          "500",
          "-r",
          "500",
          "-timeout",
          "30s",
          "-trace_screen",
          "-screen_file",
          `${dir}/reg.screen`,
        ], { cwd: dir, timeout: 40_000 });
        const s = await sippStats(`${dir}/reg.screen`);
        equal(res.code, 0, JSON.stringify(s));
        equal(s.ok, 500);
        equal(s.failed, 0);
        // With digest every call registers one more contact of erin.
        const aor = auth ? "sip:erin@127.0.0.1" : "sip:user1@127.0.0.1";
        equal((await server.location.lookup(aor)).length, auth ? 500 : 1);
      } finally {
        await server.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
    { timeout: 45_000 },
  );
}

interopTest("sipsak OPTIONS to our server", [{ bin: "sipsak", apt: "sipsak" }], async () => {
  const server = await SipServer.start({
    listen: [{ transport: "udp", host: "127.0.0.1", port: 0 }],
  });
  const port = server.endpoint.transports[0]!.port;
  try {
    const res = await run("sipsak", [
      "-vv",
      "-H",
      "127.0.0.1",
      "-r",
      String(port),
      "-s",
      "sip:127.0.0.1",
    ], {
      timeout: 10_000,
    });
    equal(res.code, 0, res.stdout + res.stderr);
    ok(res.stdout.includes("SIP/2.0 200 OK"), res.stdout);
  } finally {
    await server.close();
  }
}, { timeout: 20_000 });

interopTest("baresip UAs register with our server and call through it", [{
  bin: "baresip",
  apt: "baresip-core",
}], async () => {
  const dir = await Deno.makeTempDir();
  const seen: string[] = [];
  const server = await SipServer.start({
    listen: [{ transport: "udp", host: "127.0.0.1", port: 0 }],
    onTrace: (e) => {
      const m = e.message;
      seen.push(`${e.direction} ${m.isRequest ? m.method : m.status} ${e.port}`);
    },
  });
  const port = server.endpoint.transports[0]!.port;
  // Each UA's SIP port and the next (baresip also takes SIP port + 1 for TLS),
  // its control port and four RTP ports.
  const [aliceSip, bobSip] = [await freeRun(2), await freeRun(2)];
  const [aliceCtrl, bobCtrl] = [await freePort("tcp"), await freePort("tcp")];
  const [aliceRtp, bobRtp] = [await freeRun(4), await freeRun(4)];
  const mkcfg = async (name: string, sip: number, ctrl: number, rtp: number, answer: string) => {
    await Deno.mkdir(`${dir}/${name}`);
    await Deno.writeTextFile(
      `${dir}/${name}/config`,
      [
        "poll_method epoll",
        `sip_listen 127.0.0.1:${sip}`,
        "net_interface 127.0.0.1",
        "dns_server 127.0.0.1:53",
        "audio_player aubridge,nil",
        "audio_alert aubridge,nil",
        "audio_source aufile,/usr/share/baresip/callwaiting.wav",
        `rtp_ports ${rtp}-${rtp + 3}`,
        "module_path /usr/lib/baresip/modules",
        "module g711.so",
        "module aufile.so",
        "module aubridge.so",
        "module_tmp account.so",
        "module_app menu.so",
        "module_app ctrl_tcp.so",
        `ctrl_tcp_listen 127.0.0.1:${ctrl}`,
        "",
      ].join("\n"),
    );
    await Deno.writeTextFile(
      `${dir}/${name}/accounts`,
      `<sip:${name}@127.0.0.1:${port}>;regint=600;answermode=${answer}\n`,
    );
    await Deno.writeTextFile(`${dir}/${name}/contacts`, "");
  };
  try {
    await mkcfg("alice", aliceSip, aliceCtrl, aliceRtp, "auto");
    await mkcfg("bob", bobSip, bobCtrl, bobRtp, "manual");
    await using alice = startPeer("baresip", ["-f", `${dir}/alice`], { cwd: dir });
    await alice.waitFor(/200 OK/, 10_000);
    equal((await server.location.lookup("sip:alice@127.0.0.1")).length, 1);
    await using bob = startPeer("baresip", [
      "-f",
      `${dir}/bob`,
      "-e",
      `/dial sip:alice@127.0.0.1:${port}`,
    ], {
      cwd: dir,
    });
    await bob.waitFor(/Call established/, 15_000);
    await alice.waitFor(/Call established/, 5_000);
    await new Promise((r) => setTimeout(r, 1500));
    // Hang up through ctrl_tcp (netstring-framed JSON).
    const j = '{"command":"hangup","params":"","token":"1"}';
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: bobCtrl });
    await conn.write(enc.encode(`${j.length}:${j},`));
    conn.close();
    for (let i = 0; i < 50 && seen.filter((x) => x === `out 200 ${bobSip}`).length < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // The INVITE and the BYE went through our proxy, each answered 200.
    const has = (a: string, b: string) => seen.includes(a) && seen.includes(b);
    ok(has(`in INVITE ${bobSip}`, `out INVITE ${aliceSip}`), seen.join("\n"));
    ok(has(`in BYE ${bobSip}`, `out BYE ${aliceSip}`), seen.join("\n"));
    ok(has(`in 200 ${aliceSip}`, `out 200 ${bobSip}`), seen.join("\n"));
    await bob.stop(3000);
    await alice.stop(3000);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}, { timeout: 45_000 });

Deno.test("server command line starts, answers OPTIONS and exits cleanly on SIGTERM", async () => {
  const port = await freePort("udp");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./server.ts", import.meta.url).pathname,
      "-q",
      "-t",
      "udp",
      "-l",
      `127.0.0.1:${port}`,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    ok(new TextDecoder().decode(value).includes("SIP server ready"));
    reader.releaseLock();
    equal((await exchange(port, options(port)))?.status, 200);
  } finally {
    child.kill("SIGTERM");
  }
  const status = await child.status;
  equal(status.code, 0);
});
