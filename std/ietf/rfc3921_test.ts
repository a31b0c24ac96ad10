// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { interopTest, run, startPeer, withTimeout } from "@rtclite/testing";
import { parseXml } from "../w3c/simplexml.ts";
import {
  buildMessage,
  buildPresence,
  buildRosterQuery,
  ImClient,
  isValidRosterPush,
  type Message,
  parseMessage,
  parsePresence,
  parseRosterQuery,
  type Presence,
  type RosterItem,
  XmppParseError,
} from "./rfc3921.ts";

Deno.test("buildMessage()/parseMessage() carry subject, body, thread (RFC 3921 §2.1.2)", () => {
  const m = buildMessage({
    to: "juliet@example.com",
    from: "romeo@example.net/orchard",
    type: "chat",
    id: "m1",
    subject: "I implore you!",
    body: "Wherefore art thou, Romeo?",
    thread: "e0ffe42b28561960c6b12b944a092794b9683a38",
  });
  equal(
    m.toString(),
    '<message to="juliet@example.com" from="romeo@example.net/orchard" type="chat" id="m1">' +
      "<subject>I implore you!</subject><body>Wherefore art thou, Romeo?</body>" +
      "<thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread></message>",
  );
  deepEqual(parseMessage(parseXml(m.toString())), {
    to: "juliet@example.com",
    from: "romeo@example.net/orchard",
    type: "chat",
    id: "m1",
    subject: "I implore you!",
    body: "Wherefore art thou, Romeo?",
    thread: "e0ffe42b28561960c6b12b944a092794b9683a38",
  });
});

Deno.test("parseMessage() reads an unknown type as normal (RFC 6121 §5.2.2)", () => {
  equal(parseMessage(parseXml("<message type='weird'/>")).type, "normal");
  throws(() => parseMessage(parseXml("<presence/>")), XmppParseError);
});

Deno.test("buildPresence()/parsePresence() with show, status, priority (RFC 3921 §2.2.2)", () => {
  const p = buildPresence({ show: "xa", status: "gone", priority: -128 });
  equal(
    p.toString(),
    "<presence><show>xa</show><status>gone</status><priority>-128</priority></presence>",
  );
  deepEqual(parsePresence(p), { show: "xa", status: "gone", priority: -128 });
  throws(() => buildPresence({ priority: 128 }), RangeError);
  throws(() => buildPresence({ priority: 1.5 }), RangeError);
  // Invalid show and priority are left out rather than trusted.
  deepEqual(
    parsePresence(parseXml("<presence><show>busy</show><priority>999</priority></presence>")),
    {},
  );
  throws(() => parsePresence(parseXml("<presence type='bogus'/>")), XmppParseError);
});

Deno.test("buildRosterQuery()/parseRosterQuery() round trip (RFC 6121 §2.1)", () => {
  const items: RosterItem[] = [
    { jid: "nurse@example.com", name: "Nurse", groups: ["Servants", "Friends"] },
    { jid: "romeo@example.net", subscription: "remove", groups: [] },
  ];
  const q = buildRosterQuery(items);
  deepEqual(parseRosterQuery(parseXml(q.toString())), [
    items[0],
    { jid: "romeo@example.net", subscription: "remove", groups: [] },
  ]);
  const result = parseXml(
    "<query xmlns='jabber:iq:roster' ver='1'><item jid='Tybalt@Example.COM/x' subscription='none' " +
      "ask='subscribe'/></query>",
  );
  deepEqual(parseRosterQuery(result), [
    { jid: "Tybalt@example.com", subscription: "none", ask: "subscribe", groups: [] },
  ]);
  throws(
    () => parseRosterQuery(parseXml("<query xmlns='jabber:iq:roster'><item/></query>")),
    XmppParseError,
  );
});

Deno.test("isValidRosterPush() rejects pushes from others and with several items (RFC 6121 §2.1.6)", () => {
  const push = (attrs: string, items = "<item jid='a@b'/>") =>
    parseXml(
      `<iq type='set' id='p' ${attrs}><query xmlns='jabber:iq:roster'>${items}</query></iq>`,
    );
  equal(isValidRosterPush(push(""), "juliet@example.com/balcony"), true);
  equal(isValidRosterPush(push("from='juliet@example.com'"), "juliet@example.com/balcony"), true);
  equal(isValidRosterPush(push("from='juliet@example.com/other'"), "juliet@example.com/b"), true);
  equal(isValidRosterPush(push("from='mallory@example.com'"), "juliet@example.com/b"), false);
  equal(
    isValidRosterPush(push("", "<item jid='a@b'/><item jid='c@d'/>"), "juliet@example.com"),
    false,
  );
});

Deno.test("message and presence builders round trip random content (property)", () => {
  const text = fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) =>
    // XML 1.0 cannot carry most control characters.
    // deno-lint-ignore no-control-regex
    !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(s) && !s.includes("\r")
  );
  fc.assert(fc.property(text, text, (body, subject) => {
    const m: Message = { to: "a@b", type: "chat", body, subject };
    deepEqual(parseMessage(parseXml(buildMessage(m).toString())), m);
  }));
  fc.assert(fc.property(
    fc.constantFrom("away", "chat", "dnd", "xa" as const),
    fc.integer({ min: -128, max: 127 }),
    text,
    (show, priority, status) => {
      const p: Presence = { show, priority, status };
      deepEqual(parsePresence(parseXml(buildPresence(p).toString())), p);
    },
  ));
});

// === ImClient against a scripted server ===

const HEAD =
  "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' " +
  "from='example.com' version='1.0' id='";
const SASL = "urn:ietf:params:xml:ns:xmpp-sasl";

Deno.test("ImClient handles roster get, pushes and subscriptions (RFC 6121 §2.1.6, §3)", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: string[] = [];
  const server = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(8192);
    const dec = new TextDecoder();
    let pending = "";
    const say = async (x: string) => void await conn.write(new TextEncoder().encode(x));
    const hear = async (): Promise<string> => {
      while (!pending) {
        const n = await conn.read(buf);
        if (n === null) return "";
        pending += dec.decode(buf.subarray(0, n));
      }
      const out = pending;
      pending = "";
      return out;
    };
    const idOf = (x: string) => /id="([^"]+)"/.exec(x)![1];
    await hear();
    await say(
      HEAD + `1'><stream:features><mechanisms xmlns='${SASL}'><mechanism>PLAIN</mechanism>` +
        "</mechanisms></stream:features>",
    );
    await hear();
    await say(`<success xmlns='${SASL}'/>`);
    await hear();
    await say(
      HEAD +
        "2'><stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
    );
    const bind = await hear();
    await say(
      `<iq type='result' id='${idOf(bind)}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>` +
        "<jid>juliet@example.com/balcony</jid></bind></iq>",
    );
    const get = await hear();
    await say(
      `<iq type='result' id='${idOf(get)}'><query xmlns='jabber:iq:roster'>` +
        "<item jid='nurse@example.com' subscription='both'/></query></iq>",
    );
    // A push from someone else must be refused; one from our account is accepted.
    await say(
      "<iq type='set' id='evil' from='mallory@example.org'><query xmlns='jabber:iq:roster'>" +
        "<item jid='mallory@example.org' subscription='both'/></query></iq>",
    );
    seen.push(await hear());
    await say(
      "<iq type='set' id='push1'><query xmlns='jabber:iq:roster'>" +
        "<item jid='romeo@example.net' subscription='none' ask='subscribe'/></query></iq>",
    );
    seen.push(await hear());
    await say("<presence from='romeo@example.net/orchard' type='subscribe'/>");
    let got = "";
    while (!got.includes("</stream:stream>")) got += await hear();
    seen.push(got);
    await say("</stream:stream>");
    conn.close();
  })();
  const im = await ImClient.connect({
    jid: "juliet@example.com",
    password: "x",
    allowPlain: true,
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
  });
  deepEqual(await im.getRoster(), [{ jid: "nurse@example.com", subscription: "both", groups: [] }]);
  const pushed = new Promise<RosterItem>((r) => im.onRosterPush(r));
  const request = new Promise<Presence>((r) =>
    im.onPresence((p) => p.type === "subscribe" && r(p))
  );
  deepEqual(await withTimeout(pushed, 3000, "push"), {
    jid: "romeo@example.net",
    subscription: "none",
    ask: "subscribe",
    groups: [],
  });
  equal((await withTimeout(request, 3000, "subscribe")).from, "romeo@example.net/orchard");
  deepEqual([...im.roster.keys()], ["nurse@example.com", "romeo@example.net"]);
  im.approve("romeo@example.net/orchard");
  im.subscribe("romeo@example.net");
  im.unsubscribe("romeo@example.net");
  im.deny("romeo@example.net");
  await im.close();
  await server;
  listener.close();
  ok(
    seen[0]!.includes('type="error" id="evil"') && seen[0]!.includes("service-unavailable"),
    seen[0],
  );
  equal(seen[1], '<iq type="result" id="push1"/>');
  equal(
    seen[2],
    '<presence to="romeo@example.net" type="subscribed"/><presence to="romeo@example.net" ' +
      'type="subscribe"/><presence to="romeo@example.net" type="unsubscribe"/>' +
      '<presence to="romeo@example.net" type="unsubscribed"/><presence type="unavailable"/></stream:stream>',
  );
});

// === Interop with Prosody ===

const PORT = 15222;

interface Prosody extends AsyncDisposable {
  ca: string;
}

async function must(bin: string, args: string[]): Promise<void> {
  const r = await run(bin, args, { timeout: 20_000 });
  if (r.code !== 0) throw new Error(`${bin} ${args.join(" ")} failed: ${r.stderr}${r.stdout}`);
}

async function startProsody(): Promise<Prosody> {
  const dir = await Deno.makeTempDir({ prefix: "rtclite-prosody-" });
  try {
    return await setUpProsody(dir);
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}

async function setUpProsody(dir: string): Promise<Prosody> {
  await Deno.chmod(dir, 0o755); // Prosody reads its config as user prosody
  await Deno.mkdir(`${dir}/data`);
  await Deno.mkdir(`${dir}/certs`);
  // A CA and a leaf certificate for "localhost", so that STARTTLS verifies.
  const ssl = (args: string[]) => must("openssl", args);
  await ssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=rtclite test CA",
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    `${dir}/ca.crt`,
  ]);
  await ssl([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-keyout",
    `${dir}/certs/localhost.key`,
    "-out",
    `${dir}/leaf.csr`,
  ]);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
  );
  await ssl([
    "x509",
    "-req",
    "-in",
    `${dir}/leaf.csr`,
    "-CA",
    `${dir}/ca.crt`,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    `${dir}/ext.cnf`,
    "-out",
    `${dir}/certs/localhost.crt`,
  ]);
  const cfg = `${dir}/prosody.cfg.lua`;
  await Deno.writeTextFile(
    cfg,
    `pidfile = "${dir}/data/prosody.pid"
data_path = "${dir}/data"
certificates = "${dir}/certs"
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { ${PORT} }
c2s_direct_tls_ports = { }
http_ports = { }
https_ports = { }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
log = { info = "*console" }
modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "ping"; "posix"; "presence"; "message" }
modules_disabled = { "s2s" }
VirtualHost "localhost"
`,
  );
  await must("chown", ["-R", "prosody:prosody", `${dir}/data`, `${dir}/certs`]);
  for (const u of ["alice", "bob"]) {
    await must("prosodyctl", ["--config", cfg, "register", u, "localhost", "secret"]);
  }
  // Prosody refuses to run as root: setpriv execs it as user prosody, so the PID is Prosody's.
  const peer = startPeer("setpriv", [
    "--reuid=prosody",
    "--regid=prosody",
    "--init-groups",
    "prosody",
    "--config",
    cfg,
    "-F",
  ]);
  try {
    await peer.waitFor(/Activated service 'c2s' on \[127\.0\.0\.1\]:15222|c2s.*15222/, 15_000);
  } catch (e) {
    await peer.stop();
    throw new Error(`Prosody did not start: ${peer.output().slice(-2000)}`, { cause: e });
  }
  const ca = await Deno.readTextFile(`${dir}/ca.crt`);
  return {
    ca,
    async [Symbol.asyncDispose]() {
      await peer.stop(2000);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

interopTest(
  "ImClient logs in to Prosody (PLAIN, SCRAM-SHA-1, STARTTLS), exchanges message, presence, roster",
  [{ bin: "prosody", apt: "prosody" }, { bin: "openssl", apt: "openssl" }, {
    bin: "setpriv",
    apt: "util-linux",
  }],
  async (t) => {
    await using server = await startProsody();
    const base = { hostname: "127.0.0.1", port: PORT, timeout: 10_000 };

    await t.step("PLAIN without TLS", async () => {
      await using a = await ImClient.connect({
        ...base,
        jid: "alice@localhost/plain",
        password: "secret",
        tls: "disabled",
        allowPlain: true,
        mechanisms: ["PLAIN"],
      });
      equal(a.client.stream.mechanism, "PLAIN");
      equal(a.client.stream.secure, false);
      equal(a.jid, "alice@localhost/plain");
    });

    await t.step("SCRAM-SHA-1 without TLS; wrong password fails with not-authorized", async () => {
      await using a = await ImClient.connect({
        ...base,
        jid: "alice@localhost",
        password: "secret",
        tls: "disabled",
        mechanisms: ["SCRAM-SHA-1"],
      });
      equal(a.client.stream.mechanism, "SCRAM-SHA-1");
      ok(a.jid.startsWith("alice@localhost/"));
      let error: unknown;
      try {
        await ImClient.connect({
          ...base,
          jid: "alice@localhost",
          password: "wrong",
          tls: "disabled",
        });
      } catch (e) {
        error = e;
      }
      equal((error as { condition?: string }).condition, "not-authorized");
    });

    await t.step(
      "STARTTLS + SCRAM: message, presence and roster between alice and bob",
      async () => {
        await using bob = await ImClient.connect({
          ...base,
          jid: "bob@localhost/desk",
          password: "secret",
          caCerts: [server.ca],
          tls: "required",
        });
        equal(bob.client.stream.secure, true);
        ok(bob.client.stream.mechanism?.startsWith("SCRAM-SHA-"));
        await using alice = await ImClient.connect({
          ...base,
          jid: "alice@localhost/phone",
          password: "secret",
          mechanisms: ["SCRAM-SHA-1"],
          caCerts: [server.ca],
        });
        equal(alice.client.stream.secure, true);

        // Only "interested resources" (those that fetched the roster) get pushes (RFC 6121 §2.1.6).
        deepEqual(await alice.getRoster(), []);
        // Roster set, then the server pushes the item back; get shows it.
        const pushed = new Promise<RosterItem>((r) => alice.onRosterPush(r));
        await alice.setRosterItem({ jid: "bob@localhost", name: "Bob", groups: ["Friends"] });
        equal((await withTimeout(pushed, 5000, "roster push")).name, "Bob");
        const roster = await alice.getRoster();
        deepEqual(roster.map((i) => [i.jid, i.name, i.groups]), [["bob@localhost", "Bob", [
          "Friends",
        ]]]);

        // Subscription: alice asks, bob approves, both send presence; alice sees bob's status.
        const request = new Promise<Presence>((r) =>
          bob.onPresence((p) => p.type === "subscribe" && r(p))
        );
        alice.sendPresence();
        bob.sendPresence();
        alice.subscribe("bob@localhost");
        equal(bareOf((await withTimeout(request, 5000, "subscribe")).from), "alice@localhost");
        const seen = new Promise<Presence>((r) =>
          alice.onPresence((p) => p.status === "at the desk" && r(p))
        );
        bob.approve("alice@localhost");
        bob.sendPresence({ show: "chat", status: "at the desk", priority: 1 });
        const p = await withTimeout(seen, 5000, "presence");
        equal(p.from, "bob@localhost/desk");
        equal(p.show, "chat");
        equal(alice.roster.get("bob@localhost")?.subscription, "to");

        // Message from alice to bob.
        const got = new Promise<Message>((r) => bob.onMessage((m) => m.body !== undefined && r(m)));
        alice.sendMessage("bob@localhost", "hello bob \u00e9\u{1F600} <&>");
        const m = await withTimeout(got, 5000, "message");
        equal(m.from, "alice@localhost/phone");
        equal(m.body, "hello bob \u00e9\u{1F600} <&>");
        equal(m.type, "chat");

        // Unavailable presence reaches the subscriber when bob leaves.
        const gone = new Promise<Presence>((r) =>
          alice.onPresence((p) => p.type === "unavailable" && r(p))
        );
        await bob.close();
        equal((await withTimeout(gone, 5000, "unavailable")).from, "bob@localhost/desk");
        await alice.removeRosterItem("bob@localhost");
        deepEqual(await alice.getRoster(), []);
      },
    );

    await t.step("command line: listen as bob, send as alice", async () => {
      const cli = new URL("./rfc3921.ts", import.meta.url).pathname;
      const common = [
        "--password",
        "secret",
        "--server",
        `127.0.0.1:${PORT}`,
        "--no-tls",
        "--insecure-plain",
      ];
      await using listener = startPeer(Deno.execPath(), [
        "run",
        "-A",
        cli,
        "--jid",
        "bob@localhost/cli",
        ...common,
        "-v",
        "listen",
      ]);
      await listener.waitFor(/Online as \W?bob@localhost\/cli/, 15_000);
      await new Promise((r) => setTimeout(r, 200));
      const sent = await run(Deno.execPath(), [
        "run",
        "-A",
        cli,
        "--jid",
        "alice@localhost",
        ...common,
        "send",
        "bob@localhost/cli",
        "hi from the command line",
      ], { timeout: 15_000 });
      equal(sent.code, 0, sent.stderr);
      await listener.waitFor("alice@localhost/", 5000);
      ok(
        /alice@localhost\/\S+: hi from the command line/.test(listener.output()),
        listener.output(),
      );
      listener.child.kill("SIGINT");
      equal((await withTimeout(listener.child.status, 5000, "listener exit")).code, 0);
    });
  },
  { timeout: 50_000 },
);

function bareOf(jid: string | undefined): string {
  return (jid ?? "").split("/")[0]!;
}
