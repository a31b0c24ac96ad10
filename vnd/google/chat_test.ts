// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { freePort, interopTest, run, startPeer, withTimeout } from "@rtclite/testing";
import { type ChatMessage, openChat, receiveMessages, sendMessage } from "./chat.ts";

const HEAD =
  "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' " +
  "from='example.org' version='1.0' id='";
const SASL = "urn:ietf:params:xml:ns:xmpp-sasl";

/** One scripted client connection: login with PLAIN and bind, then `script`. */
function scriptedServer(
  script: (io: {
    say: (x: string) => Promise<void>;
    hearUntil: (marker: string) => Promise<string>;
  }) => Promise<void>,
): { port: number; done: Promise<string[]> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const log: string[] = [];
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    const buf = new Uint8Array(8192);
    const dec = new TextDecoder();
    let pending = "";
    const say = async (x: string) => void await conn.write(new TextEncoder().encode(x));
    const hearUntil = async (marker: string): Promise<string> => {
      while (!pending.includes(marker)) {
        const n = await conn.read(buf);
        if (n === null) throw new Error(`connection closed before ${marker}: ${pending}`);
        pending += dec.decode(buf.subarray(0, n), { stream: true });
      }
      const end = pending.indexOf(marker) + marker.length;
      const out = pending.slice(0, end);
      pending = pending.slice(end);
      log.push(out);
      return out;
    };
    try {
      const OPEN = 'streams">';
      await hearUntil(OPEN);
      await say(
        HEAD + `1'><stream:features><mechanisms xmlns='${SASL}'><mechanism>PLAIN</mechanism>` +
          "</mechanisms></stream:features>",
      );
      await hearUntil("</auth>");
      await say(`<success xmlns='${SASL}'/>`);
      await hearUntil(OPEN);
      await say(
        HEAD +
          "2'><stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
      );
      const bind = await hearUntil("</iq>");
      const id = /id="([^"]+)"/.exec(bind)![1];
      await say(
        `<iq type='result' id='${id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>` +
          "<jid>romeo@example.org/orchard</jid></bind></iq>",
      );
      await script({ say, hearUntil });
      await say("</stream:stream>");
    } finally {
      conn.close();
    }
    return log;
  })();
  return { port: (listener.addr as Deno.NetAddr).port, done };
}

const account = (port: number) => ({
  jid: "romeo@example.org",
  password: "pw",
  server: `127.0.0.1:${port}`,
  allowPlain: true,
  timeout: 5000,
});

Deno.test("sendMessage() logs in, sends one chat message and closes (RFC 6121 §5.1)", async () => {
  let seen = "";
  const { port, done } = scriptedServer(async ({ hearUntil }) => {
    seen = await hearUntil("</stream:stream>");
  });
  await sendMessage(account(port), "juliet@example.org", "Wherefore art thou?");
  await withTimeout(done, 5000, "server");
  equal(
    seen,
    "<presence/>" +
      '<message to="juliet@example.org" type="chat"><body>Wherefore art thou?</body></message>' +
      '<presence type="unavailable"/></stream:stream>',
  );
});

Deno.test("receiveMessages() yields messages with a body and stops when the loop breaks", async () => {
  const { port, done } = scriptedServer(async ({ say, hearUntil }) => {
    await hearUntil("<presence/>");
    await say(
      "<message from='juliet@example.org/balcony' type='chat'><body>Romeo?</body>" +
        "<thread>t1</thread></message>" +
        // A chat-state notification without a body is not a message to show.
        "<message from='juliet@example.org/balcony' type='chat'><composing " +
        "xmlns='http://jabber.org/protocol/chatstates'/></message>" +
        "<message from='nurse@example.org/hall' type='error'><body>x</body></message>" +
        "<message from='nurse@example.org/hall'><body>Madam!</body></message>",
    );
    await hearUntil("</stream:stream>");
  });
  const got: ChatMessage[] = [];
  for await (const m of receiveMessages(account(port))) {
    got.push(m);
    if (got.length === 2) break;
  }
  await withTimeout(done, 5000, "server");
  deepEqual(got, [
    { from: "juliet@example.org/balcony", body: "Romeo?", type: "chat", thread: "t1" },
    { from: "nurse@example.org/hall", body: "Madam!", type: "normal" },
  ]);
});

Deno.test("openChat() sends and receives on one connection; ends when the server closes", async () => {
  const { port, done } = scriptedServer(async ({ say, hearUntil }) => {
    await hearUntil("<presence/>");
    const m = await hearUntil("</message>");
    ok(m.includes("<body>ping</body>"), m);
    await say("<message from='juliet@example.org/b' type='chat'><body>pong</body></message>");
  });
  await using chat = await openChat(account(port));
  equal(chat.jid, "romeo@example.org/orchard");
  chat.send("juliet@example.org", "ping");
  const got: string[] = [];
  for await (const m of chat.messages()) got.push(m.body); // ends with the server's close
  deepEqual(got, ["pong"]);
  await withTimeout(done, 5000, "server");
});

Deno.test("openChat() messages() stops on abort", async () => {
  const { port, done } = scriptedServer(async ({ hearUntil }) => {
    await hearUntil("</stream:stream>");
  });
  const chat = await openChat(account(port));
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 50);
  const got: ChatMessage[] = [];
  for await (const m of chat.messages(stop.signal)) got.push(m);
  deepEqual(got, []);
  await chat.close();
  await withTimeout(done, 5000, "server");
});

Deno.test("sendMessage() rejects bad addresses before connecting", async () => {
  await rejects(
    () => sendMessage({ jid: "a@example.org", password: "p" }, "@bad", "x"),
    SyntaxError,
  );
  await rejects(
    () => sendMessage({ jid: "a@example.org", password: "p", server: "h:99999" }, "b@c", "x"),
    RangeError,
  );
});

// === Interop with Prosody ===

async function must(bin: string, args: string[]): Promise<void> {
  const r = await run(bin, args, { timeout: 20_000 });
  if (r.code !== 0) throw new Error(`${bin} ${args.join(" ")} failed: ${r.stderr}${r.stdout}`);
}

/**
 * Prosody on 127.0.0.1 without TLS, users alice and bob, offline storage on; c2s on `port`,
 * free when it started, so two copies of the suite at once don't collide.
 */
async function startProsody(): Promise<AsyncDisposable & { port: number }> {
  const port = await freePort();
  const dir = await Deno.makeTempDir({ prefix: "rtclite-chat-prosody-" });
  const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    await Deno.chmod(dir, 0o755); // Prosody reads its config as user prosody
    await Deno.mkdir(`${dir}/data`);
    const cfg = `${dir}/prosody.cfg.lua`;
    await Deno.writeTextFile(
      cfg,
      `pidfile = "${dir}/data/prosody.pid"
data_path = "${dir}/data"
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
modules_enabled = { "roster"; "saslauth"; "disco"; "posix"; "presence"; "message"; "offline" }
modules_disabled = { "s2s"; "tls" }
VirtualHost "localhost"
`,
    );
    await must("chown", ["-R", "prosody:prosody", `${dir}/data`]);
    for (const u of ["alice", "bob"]) {
      await must("prosodyctl", ["--config", cfg, "register", u, "localhost", "secret"]);
    }
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
    return {
      port,
      async [Symbol.asyncDispose]() {
        await peer.stop(2000);
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

interopTest(
  "sendMessage()/receiveMessages() deliver through Prosody (offline storage, then live)",
  [{ bin: "prosody", apt: "prosody" }, { bin: "setpriv", apt: "util-linux" }],
  async () => {
    await using server = await startProsody();
    const user = (name: string) => ({
      jid: `${name}@localhost`,
      password: "secret",
      server: `127.0.0.1:${server.port}`,
      tls: "disabled" as const,
      allowPlain: true,
      timeout: 10_000,
    });
    // Bob is offline: the server keeps the message and delivers it when he comes online.
    await sendMessage(user("alice"), "bob@localhost", "while you were out \u00e9 <&>");
    const got: ChatMessage[] = [];
    for await (const m of receiveMessages(user("bob"))) {
      got.push(m);
      break;
    }
    equal(got[0]!.body, "while you were out \u00e9 <&>");
    ok(got[0]!.from.startsWith("alice@localhost"), got[0]!.from);
    // Live: bob stays online with openChat; alice sends; bob answers; alice receives.
    await using bob = await openChat(user("bob"));
    await using alice = await openChat(user("alice"));
    alice.send("bob@localhost", "ping");
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 5000);
    for await (const m of bob.messages(stop.signal)) {
      equal(m.body, "ping");
      bob.send(m.from, "pong");
      break;
    }
    for await (const m of alice.messages(stop.signal)) {
      equal(m.body, "pong");
      equal(m.from, bob.jid);
      break;
    }
    clearTimeout(timer);
    ok(!stop.signal.aborted, "timed out");
  },
  { timeout: 30_000 },
);
