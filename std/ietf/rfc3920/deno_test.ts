// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, ok, rejects } from "node:assert/strict";
import { XmlElement } from "../../w3c/simplexml/mod.ts";
import { SaslError, StanzaError, XmppTimeoutError } from "./mod.ts";
import { XmppClient } from "./deno.ts";

const HEAD =
  "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' " +
  "xmlns='jabber:client' from='example.com' version='1.0' xml:lang='en' id='";
const SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const features = (inner: string) => `<stream:features>${inner}</stream:features>`;
const mechanisms = (...m: string[]) =>
  `<mechanisms xmlns='${SASL}'>${
    m.map((x) => `<mechanism>${x}</mechanism>`).join("")
  }</mechanisms>`;
const BIND = "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>";

// === Client over TCP against a scripted server ===

function scriptedServer(
  script: (say: (s: string) => Promise<void>, hear: () => Promise<string>) => Promise<void>,
) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await listener.accept();
    let buffered = "";
    const buf = new Uint8Array(8192);
    const dec = new TextDecoder();
    const say = async (s: string) => void await conn.write(new TextEncoder().encode(s));
    const hear = async () => {
      while (!buffered) {
        const n = await conn.read(buf);
        if (n === null) return "";
        buffered += dec.decode(buf.subarray(0, n));
      }
      const out = buffered;
      buffered = "";
      return out;
    };
    try {
      await script(say, hear);
    } finally {
      conn.close();
      listener.close();
    }
  })();
  return { port: listener.addr.port, done };
}

async function login(say: (s: string) => Promise<void>, hear: () => Promise<string>) {
  await hear();
  await say(HEAD + "1'>" + features(mechanisms("PLAIN")));
  await hear();
  await say(`<success xmlns='${SASL}'/>`);
  await hear();
  await say(HEAD + "2'>" + features(BIND));
  const bind = await hear();
  const id = /id="([^"]+)"/.exec(bind)![1];
  await say(
    `<iq type='result' id='${id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>user@example.com/r</jid></bind></iq>`,
  );
}

Deno.test("XmppClient matches iq results, errors and timeouts, and answers unknown requests (RFC 6120 §8.2.3)", async () => {
  let unknownReply = "";
  let emptyReply = "";
  const server = scriptedServer(async (say, hear) => {
    await login(say, hear);
    let got = await hear();
    const id1 = /id="([^"]+)"/.exec(got)![1];
    await say(`<iq type='result' id='${id1}'><query xmlns='urn:x'>ok</query></iq>`);
    got = await hear();
    const id2 = /id="([^"]+)"/.exec(got)![1];
    await say(
      `<iq type='error' id='${id2}'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
    );
    await hear(); // third request: no answer, the client times out
    await say("<iq type='get' id='srv1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>");
    unknownReply = await hear();
    await say("<iq type='set' id='srv2' from='example.com'/>");
    emptyReply = await hear();
    await say("<message from='a@b/c'><body>bye</body></message>");
    await hear(); // the client's close
    await say("</stream:stream>");
  });
  const client = await XmppClient.connect({
    jid: "user@example.com",
    password: "pencil",
    allowPlain: true,
    hostname: "127.0.0.1",
    port: server.port,
  });
  equal(client.jid, "user@example.com/r");
  const q = () =>
    new XmlElement("iq", { type: "get" }, [new XmlElement("query", { xmlns: "urn:x" })]);
  equal((await client.request(q())).childText("query", "urn:x"), "ok");
  await rejects(
    client.request(q()),
    (e) => e instanceof StanzaError && e.condition === "item-not-found",
  );
  const got = new Promise<XmlElement>((r) => client.onStanza(r));
  await rejects(client.request(q(), 100), XmppTimeoutError);
  equal((await got).childText("body"), "bye");
  ok(
    unknownReply.includes('type="error" id="srv1"') && unknownReply.includes("service-unavailable"),
    unknownReply,
  );
  ok(emptyReply.includes('id="srv2"') && emptyReply.includes("bad-request"), emptyReply);
  await client.close();
  equal(await client.closed, undefined);
  await server.done;
});

Deno.test("XmppClient.connect() rejects with the SASL error (RFC 6120 §6.4.5)", async () => {
  const server = scriptedServer(async (say, hear) => {
    await hear();
    await say(HEAD + "1'>" + features(mechanisms("PLAIN")));
    await hear();
    await say(`<failure xmlns='${SASL}'><not-authorized/></failure></stream:stream>`);
    await hear();
  });
  await rejects(
    XmppClient.connect({
      jid: "u@example.com",
      password: "x",
      allowPlain: true,
      hostname: "127.0.0.1",
      port: server.port,
    }),
    (e) => e instanceof SaslError && e.condition === "not-authorized",
  );
  await server.done;
});
