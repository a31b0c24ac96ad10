// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok } from "node:assert/strict";
import { freePort, interopTest, run, startPeer, withTimeout } from "@rtclite/testing";
import { ImClient, type Message, type Presence, type RosterItem } from "./deno.ts";

// === Interop with Prosody ===

interface Prosody extends AsyncDisposable {
  ca: string;
  /** The c2s port, free when Prosody started: two copies of the suite at once don't collide. */
  port: number;
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
  const port = await freePort();
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
c2s_ports = { ${port} }
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
    await peer.waitFor(new RegExp(`c2s.*${port}`), 15_000);
  } catch (e) {
    await peer.stop();
    throw new Error(`Prosody did not start: ${peer.output().slice(-2000)}`, { cause: e });
  }
  const ca = await Deno.readTextFile(`${dir}/ca.crt`);
  return {
    ca,
    port,
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
    const base = { hostname: "127.0.0.1", port: server.port, timeout: 10_000 };

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
      const cli = new URL("./main.ts", import.meta.url).pathname;
      const common = [
        "--password",
        "secret",
        "--server",
        `127.0.0.1:${server.port}`,
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
