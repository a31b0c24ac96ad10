// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { freePort, interopTest, run, selfSignedCert, startPeer } from "@rtclite/testing";
import {
  parseMessage,
  SipEndpoint,
  type SipMessage,
  type SipTraceEvent,
  UserAgent,
} from "@rtclite/std/ietf/rfc3261";
import { UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
import {
  Agent,
  aorOf,
  type CancelledEvent,
  type IncomingEvent,
  type ResponseEvent,
  SipAgentError,
} from "./api.ts";

const LOCAL = [{ transport: "udp" as const, host: "127.0.0.1", port: 0 }];

async function userAgent(user: string, password?: string): Promise<UserAgent> {
  return new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: `sip:${user}@127.0.0.1`,
    ...(password !== undefined ? { password } : {}),
  });
}

/** A registrar written with the API: digest for every REGISTER, bindings with expiry. */
function registrar(agent: Agent, bindings: Map<string, { uri: string; expires: number }[]>) {
  agent.on("REGISTER", async (e) => {
    if (!e.authenticated) return await e.challenge("example.com");
    if (e.user !== e.request.to().uri.replace(/^sips?:([^@]*)@.*$/, "$1")) return e.reject(403);
    const now = Date.now();
    const next = (bindings.get(e.aor) ?? []).filter((b) => b.expires > now);
    for (const c of e.contacts) {
      const secs = Number(c.params.expires ?? e.expires ?? 3600);
      const i = next.findIndex((b) => b.uri === c.uri);
      if (i >= 0) next.splice(i, 1);
      if (secs > 0) next.push({ uri: c.uri, expires: now + secs * 1000 });
    }
    bindings.set(e.aor, next);
    e.accept(next.map((b) => `<${b.uri}>;expires=${Math.round((b.expires - now) / 1000)}`));
  });
}

// === Registrar ===

Deno.test("Agent registrar: 401 with a digest challenge, then 200 with Contact and expires", async () => {
  const bindings = new Map<string, { uri: string; expires: number }[]>();
  const trace: SipTraceEvent[] = [];
  await using agent = await Agent.listen({
    listen: LOCAL,
    passwords: { bob: "secret" },
    onTrace: (t) => trace.push(t),
  });
  registrar(agent, bindings);
  const port = agent.transports[0]!.port;
  const bob = await userAgent("bob", "secret");
  try {
    const r = await bob.register(`sip:127.0.0.1:${port}`, 600);
    equal(r.status, 200);
    const contact = r.header("Contact")!;
    equal(contact, `<${bob.contact}>;expires=600`);
    deepEqual(bindings.get("sip:bob@127.0.0.1")!.map((b) => b.uri), [bob.contact]);
    // On the wire: a 401 with a WWW-Authenticate for the realm, then the 200.
    const statuses = trace.filter((t) => t.direction === "out").map((t) => t.message.status);
    deepEqual(statuses, [401, 200]);
    const challenge = trace.find((t) => t.message.status === 401)!.message;
    ok(/^Digest realm="example.com"/.test(challenge.header("WWW-Authenticate")!));
    // Unregistering removes the binding.
    equal((await bob.register(`sip:127.0.0.1:${port}`, 0)).status, 200);
    deepEqual(bindings.get("sip:bob@127.0.0.1"), []);
  } finally {
    await bob.close();
  }
});

Deno.test("Agent registrar: a wrong password is challenged again, an unknown user too", async () => {
  const bindings = new Map<string, { uri: string; expires: number }[]>();
  await using agent = await Agent.listen({
    listen: LOCAL,
    passwords: (user) => user === "bob" ? "secret" : undefined,
  });
  registrar(agent, bindings);
  const port = agent.transports[0]!.port;
  for (const [user, password] of [["bob", "wrong"], ["mallory", "secret"]]) {
    const ua = await userAgent(user!, password!);
    try {
      equal((await ua.register(`sip:127.0.0.1:${port}`)).status, 401);
    } finally {
      await ua.close();
    }
  }
  equal(bindings.size, 0);
});

const SIPP = [{ bin: "sipp", apt: "sip-tester" }];
const L = ["-i", "127.0.0.1", "-mi", "127.0.0.1", "-nostdin"];

async function sippStats(file: string): Promise<{ ok: number; failed: number }> {
  const s = await Deno.readTextFile(file);
  const cum = (name: string) =>
    Number(new RegExp(`${name}\\s*\\|[^|]*\\|\\s*(\\d+)`).exec(s)?.[1] ?? -1);
  return { ok: cum("Successful call"), failed: cum("Failed call") };
}

const REGISTER_XML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register with digest">
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:erin@example.com>;tag=[pid]SIPpTag0[call_number]
      To: <sip:erin@example.com>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:erin[call_number]@[local_ip]:[local_port]>
      Expires: 3600
      Content-Length: 0

  ]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:erin@example.com>;tag=[pid]SIPpTag0[call_number]
      To: <sip:erin@example.com>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:erin[call_number]@[local_ip]:[local_port]>
      [authentication username=erin password=secret]
      Expires: 3600
      Content-Length: 0

  ]]></send>
  <recv response="200" rtd="true">
    <action><ereg regexp=";expires=[0-9]+" search_in="hdr" header="Contact:" check_it="true" assign_to="e"/></action>
  </recv>
  <Reference variables="e"/>
</scenario>
`;

interopTest(
  "SIPp REGISTER with digest against a registrar written with the API",
  SIPP,
  async () => {
    const dir = await Deno.makeTempDir();
    const bindings = new Map<string, { uri: string; expires: number }[]>();
    await using agent = await Agent.listen({ listen: LOCAL, passwords: { erin: "secret" } });
    registrar(agent, bindings);
    try {
      await Deno.writeTextFile(`${dir}/reg.xml`, REGISTER_XML);
      const res = await run("sipp", [
        "-sf",
        `${dir}/reg.xml`,
        `127.0.0.1:${agent.transports[0]!.port}`,
        ...L,
        "-p",
        String(await freePort("udp")),
        "-m",
        "100",
        "-r",
        "200",
        "-timeout",
        "30s",
        "-trace_screen",
        "-screen_file",
        `${dir}/reg.screen`,
      ], { cwd: dir, timeout: 40_000 });
      const s = await sippStats(`${dir}/reg.screen`);
      equal(res.code, 0, JSON.stringify(s) + res.stderr);
      deepEqual(s, { ok: 100, failed: 0 });
      // Every call registered one more contact of erin.
      equal(bindings.get("sip:erin@example.com")!.length, 100);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeout: 45_000 },
);

// === Forwarding ===

/** A registrar without digest plus the forwarding rule of the module example. */
function registrarAndProxy(agent: Agent, bindings: Map<string, string[]>, events: string[]) {
  agent.on("REGISTER", (e) => {
    const uris = e.contacts.map((c) => c.uri);
    bindings.set(e.aor, uris);
    e.accept(uris.map((u) => `<${u}>;expires=${e.expires ?? 3600}`));
  });
  agent.on("INVITE", async (e) => {
    events.push(`INVITE ${e.aor}`);
    e.location.push(...bindings.get(e.aor) ?? []);
    if (e.location.length) await e.proxy({ recordRoute: true });
    else e.reject(480);
  });
  agent.on("cancelled", (e) => void events.push(`cancelled ${e.invite.aor}`));
}

Deno.test("Agent forwarding rule: a call to a registered user is proxied with Record-Route", async () => {
  const bindings = new Map<string, string[]>();
  const events: string[] = [];
  const trace: SipTraceEvent[] = [];
  await using agent = await Agent.listen({ listen: LOCAL, onTrace: (t) => trace.push(t) });
  registrarAndProxy(agent, bindings, events);
  const port = agent.transports[0]!.port;
  const bob = await userAgent("bob");
  const alice = await userAgent("alice");
  try {
    let invite: SipMessage | undefined;
    bob.onInvite = (call) => {
      invite = call.invite;
      call.accept("v=0\r\n");
    };
    equal((await bob.register(`sip:127.0.0.1:${port}`)).status, 200);
    const call = await alice.invite(`sip:bob@127.0.0.1:${port}`, "v=0\r\n");
    equal(call.state, "established");
    equal(invite!.uri, bob.contact);
    equal(invite!.header("Record-Route"), `<sip:127.0.0.1:${port};lr>`);
    equal(await call.bye(), 200);
    // The BYE went through the agent (default action in a record-routed dialog).
    ok(trace.some((t) => t.direction === "out" && t.message.method === "BYE"));
    deepEqual(events, ["INVITE sip:bob@127.0.0.1"]);
    // Nobody registered as carol: the rule rejects.
    const none = await alice.invite(`sip:carol@127.0.0.1:${port}`);
    equal(none.endReason, "480 Temporarily Unavailable");
  } finally {
    await alice.close();
    await bob.close();
  }
});

Deno.test("Agent forwarding rule with a proxy challenge: 407, then the call with event.user", async () => {
  const users: (string | undefined)[] = [];
  await using agent = await Agent.listen({ listen: LOCAL, passwords: { alice: "a-secret" } });
  const bob = await userAgent("bob");
  const alice = await userAgent("alice", "a-secret");
  const eve = await userAgent("alice", "guess");
  try {
    bob.onInvite = (call) => call.accept("v=0\r\n");
    agent.on("INVITE", async (e) => {
      if (!e.authenticated) return await e.challenge("example.com");
      users.push(e.user);
      e.location.push(bob.contact);
      await e.proxy();
    });
    const port = agent.transports[0]!.port;
    const call = await alice.invite(`sip:bob@127.0.0.1:${port}`, "v=0\r\n");
    equal(call.state, "established");
    equal(await call.bye(), 200);
    deepEqual(users, ["alice"]);
    const denied = await eve.invite(`sip:bob@127.0.0.1:${port}`, "v=0\r\n");
    equal(denied.endReason, "407 Proxy Authentication Required");
    deepEqual(users, ["alice"]);
  } finally {
    await eve.close();
    await alice.close();
    await bob.close();
  }
});

interopTest("SIPp UAC -> API proxy -> SIPp UAS: 50 calls, zero failures", SIPP, async () => {
  const dir = await Deno.makeTempDir();
  const bindings = new Map<string, string[]>();
  const events: string[] = [];
  await using agent = await Agent.listen({ listen: LOCAL });
  registrarAndProxy(agent, bindings, events);
  const port = agent.transports[0]!.port;
  const uasPort = await freePort("udp");
  try {
    await using uas = startPeer("sipp", ["-sn", "uas", ...L, "-p", String(uasPort)], { cwd: dir });
    // A third-party registration puts the SIPp UAS in the location service.
    await using client = await Agent.listen({ listen: LOCAL });
    const reg = await client.request("REGISTER", `sip:127.0.0.1:${port}`, {
      to: "<sip:service@127.0.0.1>",
      headers: [["Contact", `<sip:service@127.0.0.1:${uasPort}>`]],
    });
    equal(reg.status, 200);
    equal(reg.header("Contact"), `<sip:service@127.0.0.1:${uasPort}>;expires=3600`);
    await new Promise((r) => setTimeout(r, 300));
    const res = await run("sipp", [
      "-sn",
      "uac",
      `127.0.0.1:${uasPort}`,
      "-rsa",
      `127.0.0.1:${port}`,
      ...L,
      "-p",
      String(await freePort("udp")),
      "-m",
      "50",
      "-r",
      "50",
      "-timeout",
      "60s",
      "-trace_screen",
      "-screen_file",
      `${dir}/uac.screen`,
    ], { cwd: dir, timeout: 70_000 });
    const s = await sippStats(`${dir}/uac.screen`);
    equal(res.code, 0, JSON.stringify(s) + res.stderr);
    deepEqual(s, { ok: 50, failed: 0 });
    equal(events.length, 50);
    ok(events.every((e) => e === "INVITE sip:service@127.0.0.1"));
    void uas;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, { timeout: 90_000 });

// === Reject, redirect, defaults ===

Deno.test("Agent actions on the wire: reject, redirect, the defaults, a failing handler", async () => {
  await using server = await Agent.listen({ listen: LOCAL });
  const actions: (string | undefined)[] = [];
  server.on("MESSAGE", (e) => e.reject(403, "Not Today", { headers: [["Warning", '399 x "no"']] }));
  server.on("INVITE", (e) => {
    e.location.push("sip:bob@192.0.2.7", "<sip:bob@192.0.2.8>;q=0.5");
    e.redirect();
  });
  server.on("INFO", () => {}); // chooses nothing
  server.on("PUBLISH", () => {
    throw new TypeError("boom");
  });
  server.on("incoming", (e) => {
    actions.push(e.method);
    if (e.method === "NOTIFY") e.accept();
  });
  await using client = await Agent.listen({ listen: LOCAL });
  const to = `sip:bob@127.0.0.1:${server.transports[0]!.port}`;

  const rejected = await client.request("MESSAGE", to, { body: "hi", contentType: "text/plain" });
  equal(rejected.status, 403);
  equal(rejected.reason, "Not Today");
  equal(rejected.header("Warning"), '399 x "no"');

  const moved = await client.request("INVITE", to);
  equal(moved.status, 302);
  deepEqual(moved.values("Contact"), ["<sip:bob@192.0.2.7>", "<sip:bob@192.0.2.8>;q=0.5"]);

  equal((await client.request("INFO", to)).status, 404);
  equal((await client.request("PUBLISH", to)).status, 500);
  equal((await client.request("NOTIFY", to)).status, 200);

  // OPTIONS that the handler did not answer: 200 with Allow.
  const options = await client.request("OPTIONS", `sip:127.0.0.1:${server.transports[0]!.port}`);
  equal(options.status, 200);
  ok(options.header("Allow")!.includes("INVITE"));
  deepEqual(actions, ["NOTIFY", "OPTIONS"]);
});

Deno.test("Agent: a malformed Contact read by the handler gets 400, not 500", async () => {
  await using server = await Agent.listen({ listen: LOCAL });
  server.on("REGISTER", (e) => e.accept(e.contacts.map((c) => `<${c.uri}>`)));
  await using client = await Agent.listen({ listen: LOCAL });
  const r = await client.request("REGISTER", `sip:127.0.0.1:${server.transports[0]!.port}`, {
    headers: [["Contact", "<sip:a@b"]],
  });
  equal(r.status, 400);
});

Deno.test("Agent.isLocal: hosted domains and listening addresses", async () => {
  await using agent = await Agent.listen({ listen: LOCAL, domains: ["Example.com"] });
  const port = agent.transports[0]!.port;
  equal(agent.isLocal("sip:bob@example.COM"), true);
  equal(agent.isLocal(`sip:bob@127.0.0.1:${port}`), true);
  equal(agent.isLocal("sip:bob@127.0.0.1"), true);
  equal(agent.isLocal(`sip:bob@127.0.0.1:${port === 1 ? 2 : 1}`), false);
  equal(agent.isLocal("sip:bob@example.org"), false);
});

Deno.test("Agent default without any handler: 501 with the handled methods in Allow", async () => {
  await using server = await Agent.listen({ listen: LOCAL });
  server.on("REGISTER", (e) => e.accept());
  await using client = await Agent.listen({ listen: LOCAL });
  const r = await client.request("SUBSCRIBE", `sip:x@127.0.0.1:${server.transports[0]!.port}`);
  equal(r.status, 501);
  equal(r.header("Allow"), "OPTIONS, ACK, CANCEL, REGISTER");
});

Deno.test("Agent actions: one per request, status ranges checked", async () => {
  await using server = await Agent.listen({ listen: LOCAL });
  const errors: unknown[] = [];
  server.on("MESSAGE", (e) => {
    throws(() => e.reject(200), RangeError);
    throws(() => e.redirect(404), RangeError);
    throws(() => e.progress(200), RangeError);
    e.accept();
    try {
      e.reject(486);
    } catch (err) {
      errors.push(err);
    }
    equal(e.action, "accept");
  });
  await using client = await Agent.listen({ listen: LOCAL });
  const r = await client.request("MESSAGE", `sip:x@127.0.0.1:${server.transports[0]!.port}`);
  equal(r.status, 200);
  equal(errors.length, 1);
  ok(errors[0] instanceof SipAgentError);
  equal((errors[0] as Error).message, "Cannot reject MESSAGE: it was already answered (accept)");
});

// === Accepting calls, CANCEL ===

Deno.test("Agent as a UAS: accept an INVITE, absorb the ACK, answer the BYE", async () => {
  await using server = await Agent.listen({ listen: LOCAL });
  server.on("INVITE", (e) => e.accept(undefined, { body: "v=0\r\n" }));
  const alice = await userAgent("alice");
  try {
    const call = await alice.invite(`sip:bot@127.0.0.1:${server.transports[0]!.port}`, "v=0\r\n");
    equal(call.state, "established");
    equal(await call.bye(), 200);
  } finally {
    await alice.close();
  }
});

Deno.test("Agent cancelled event: CANCEL of an INVITE the handler is still answering", async () => {
  await using server = await Agent.listen({ listen: LOCAL });
  const cancelled = Promise.withResolvers<CancelledEvent>();
  let lateAction: unknown;
  server.on("INVITE", async (e) => {
    e.progress(180);
    await new Promise((r) => e.signal.addEventListener("abort", r));
    try {
      e.accept();
    } catch (err) {
      lateAction = err;
    }
  });
  server.on("cancelled", (e) => cancelled.resolve(e));
  const alice = await userAgent("alice");
  try {
    const call = await alice.invite(
      `sip:bot@127.0.0.1:${server.transports[0]!.port}`,
      "v=0\r\n",
      (c) => c.onState = (s) => s === "ringing" && c.cancel(),
    );
    equal(call.endReason, "487 Request Terminated");
    const e = await cancelled.promise;
    equal(e.request.method, "CANCEL");
    equal(e.invite.method, "INVITE");
    ok(e.invite.signal.aborted);
    ok(lateAction instanceof SipAgentError);
  } finally {
    await alice.close();
  }
});

Deno.test("Agent cancelled event: CANCEL of a proxied INVITE reaches the callee", async () => {
  const bindings = new Map<string, string[]>();
  const events: string[] = [];
  await using agent = await Agent.listen({ listen: LOCAL });
  registrarAndProxy(agent, bindings, events);
  const port = agent.transports[0]!.port;
  const bob = await userAgent("bob");
  const alice = await userAgent("alice");
  try {
    const bobEnded = Promise.withResolvers<string>();
    bob.onInvite = (call) => {
      call.onState = (s) => s === "terminated" && bobEnded.resolve(call.endReason);
      call.ringing();
    };
    equal((await bob.register(`sip:127.0.0.1:${port}`)).status, 200);
    const call = await alice.invite(
      `sip:bob@127.0.0.1:${port}`,
      "v=0\r\n",
      (c) => c.onState = (s) => s === "ringing" && c.cancel(),
    );
    equal(call.endReason, "487 Request Terminated");
    equal(await bobEnded.promise, "cancelled");
    deepEqual(events, ["INVITE sip:bob@127.0.0.1", "cancelled sip:bob@127.0.0.1"]);
  } finally {
    await alice.close();
    await bob.close();
  }
});

Deno.test("Agent: a BYE for a dialog it does not know, addressed to it, gets 481", async () => {
  await using server = await Agent.listen({ listen: LOCAL });
  await using client = await Agent.listen({ listen: LOCAL });
  const uri = `sip:x@127.0.0.1:${server.transports[0]!.port}`;
  const r = await client.request("BYE", uri, { to: `<${uri}>;tag=gone` });
  equal(r.status, 481);
});

Deno.test("Agent: a CANCEL that matches no INVITE gets 481 and no cancelled event", async () => {
  await using server = await Agent.listen({ listen: LOCAL });
  let cancelled = 0;
  server.on("cancelled", () => void cancelled++);
  await using client = await Agent.listen({ listen: LOCAL });
  const r = await client.request("CANCEL", `sip:x@127.0.0.1:${server.transports[0]!.port}`);
  equal(r.status, 481);
  equal(cancelled, 0);
});

// === Outgoing requests ===

const OPTIONS_UAS_XML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="answer OPTIONS">
  <recv request="OPTIONS">
    <action><ereg regexp="rtclite-test" search_in="hdr" header="Subject:" check_it="true" assign_to="s"/></action>
  </recv>
  <Reference variables="s"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Allow: INVITE, ACK, BYE, OPTIONS
      Content-Length: 0

  ]]></send>
</scenario>
`;

interopTest("Agent OPTIONS to SIPp: outgoing and response events", SIPP, async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/options.xml`, OPTIONS_UAS_XML);
    const sippPort = await freePort("udp");
    await using sipp = startPeer("sipp", [
      "-sf",
      `${dir}/options.xml`,
      ...L,
      "-p",
      String(sippPort),
      "-m",
      "1",
    ], { cwd: dir });
    await new Promise((r) => setTimeout(r, 300));
    await using agent = await Agent.listen({ listen: LOCAL });
    const seen: string[] = [];
    const responses: ResponseEvent[] = [];
    agent.on("outgoing", (e) => {
      seen.push(e.request.method!);
      e.request.add("Subject", "rtclite-test");
    });
    agent.on("response", (e) => void responses.push(e));
    const r = await agent.request("OPTIONS", `sip:127.0.0.1:${sippPort}`);
    equal(r.status, 200);
    equal(r.header("Allow"), "INVITE, ACK, BYE, OPTIONS");
    deepEqual(seen, ["OPTIONS"]);
    equal(responses.length, 1);
    equal(responses[0]!.response, r);
    equal(responses[0]!.request.method, "OPTIONS");
    equal((await sipp.child.status).code, 0, sipp.output());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, { timeout: 30_000 });

interopTest(
  "sipsak OPTIONS to an Agent: the default 200",
  [{ bin: "sipsak", apt: "sipsak" }],
  async () => {
    await using agent = await Agent.listen({ listen: LOCAL });
    const res = await run("sipsak", [
      "-vv",
      "-H",
      "127.0.0.1",
      "-s",
      `sip:127.0.0.1:${agent.transports[0]!.port}`,
    ], { timeout: 10_000 });
    equal(res.code, 0, res.stdout + res.stderr);
    ok(/SIP\/2\.0 200 OK/.test(res.stdout), res.stdout);
  },
);

// === Transports, stopping ===

Deno.test("Agent listens on UDP, TCP, TLS and WS; REGISTER over each", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cert = await selfSignedCert(dir);
    const tls = { ...cert, caCerts: [cert.cert] };
    await using server = await Agent.listen({
      listen: (["udp", "tcp", "tls", "ws"] as const).map((transport) => ({
        transport,
        host: "127.0.0.1",
        port: 0,
      })),
      tls,
    });
    const via: string[] = [];
    server.on("REGISTER", (e) => {
      via.push(e.source.transport.name);
      e.accept([`<${e.contacts[0]!.uri}>;expires=60`]);
    });
    deepEqual(server.transports.map((t) => t.name), ["UDP", "TCP", "TLS", "WS"]);
    equal(
      server.contact(server.transports[1]),
      `sip:127.0.0.1:${server.transports[1]!.port};transport=tcp`,
    );
    for (const t of server.transports) {
      await using client = await Agent.listen({
        listen: [{ transport: t.name.toLowerCase() as "udp", host: "127.0.0.1", port: 0 }],
        tls,
      });
      const tp = t.name === "UDP" ? "" : `;transport=${t.name.toLowerCase()}`;
      const r = await client.request("REGISTER", `sip:127.0.0.1:${t.port}${tp}`, {
        headers: [["Contact", `<sip:x@127.0.0.1:1>`]],
      });
      equal(r.status, 200, t.name);
    }
    deepEqual(via, ["UDP", "TCP", "TLS", "WS"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Agent stops when its signal aborts; requests then fail with SipAgentError", async () => {
  const stop = new AbortController();
  const agent = await Agent.listen({ listen: LOCAL, signal: stop.signal });
  const port = agent.transports[0]!.port;
  stop.abort();
  await agent.close();
  await rejects(agent.request("OPTIONS", `sip:127.0.0.1:${port}`), SipAgentError);
  // The port is free again.
  const again = await UdpTransport.listen({ port });
  await again.close();
  // An aborted signal refuses to start.
  await rejects(Agent.listen({ listen: LOCAL, signal: stop.signal }));
});

Deno.test("Agent: a tel: Request-URI gets 416 without reaching a handler", async () => {
  await using server = await Agent.listen({ listen: LOCAL });
  const seen: IncomingEvent[] = [];
  server.on("incoming", (e) => void seen.push(e));
  const sock = await UdpTransport.listen({ port: 0 });
  const got: SipMessage[] = [];
  const arrived = Promise.withResolvers<void>();
  sock.onMessage = (m) => {
    got.push(m);
    if (got.length === 1) arrived.resolve();
  };
  const req = (uri: string) =>
    `MESSAGE ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${sock.port};branch=z9hG4bK${
      Math.random().toString(36).slice(2)
    }\r\nMax-Forwards: 70\r\nTo: <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\nCall-ID: x${uri}\r\n` +
    `CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n`;
  await sock.send(
    new TextEncoder().encode(req("tel:+15551234")),
    "127.0.0.1",
    server.transports[0]!.port,
  );
  await arrived.promise;
  equal(got[0]!.status, 416);
  equal(seen.length, 0);
  await sock.close();
  equal(parseMessage(req("sip:a@b")).method, "MESSAGE");
  equal(aorOf("sips:Alice@Atlanta.COM;transport=tls"), "sips:Alice@atlanta.com");
});
