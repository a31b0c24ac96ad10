// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, throws } from "node:assert/strict";
import fc from "fast-check";
import { parseXml } from "../../w3c/simplexml/mod.ts";
import {
  buildMessage,
  buildPresence,
  buildRosterQuery,
  isValidRosterPush,
  type Message,
  parseMessage,
  parsePresence,
  parseRosterQuery,
  type Presence,
  type RosterItem,
  XmppParseError,
} from "./mod.ts";

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
