// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok } from "node:assert/strict";
import { withTimeout } from "@rtclite/testing";
import { ImClient, type Presence, type RosterItem } from "./deno.ts";

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
