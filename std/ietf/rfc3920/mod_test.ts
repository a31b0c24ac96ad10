// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { parseXml, XmlElement } from "../../w3c/simplexml/mod.ts";
import {
  bareJid,
  formatJid,
  iqError,
  parseJid,
  parseStanzaError,
  SaslError,
  ScramClient,
  StanzaError,
  StreamError,
  type XmppEvent,
  XmppParseError,
  XmppStream,
  type XmppStreamOptions,
} from "./mod.ts";

const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
const unb64 = (s: string) =>
  new TextDecoder().decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));
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

// === JIDs ===

Deno.test("parseJid() splits and checks the parts (RFC 3920 §3)", async (t) => {
  const ok: [string, object][] = [
    ["example.com", { domain: "example.com" }],
    ["juliet@example.com", { local: "juliet", domain: "example.com" }],
    ["juliet@example.com/foo bar", { local: "juliet", domain: "example.com", resource: "foo bar" }],
    ["juliet@example.com/foo@bar", { local: "juliet", domain: "example.com", resource: "foo@bar" }],
    ["example.com/a/b", { domain: "example.com", resource: "a/b" }],
    ["\u00e9lise@EXAMPLE.com", { local: "\u00e9lise", domain: "example.com" }],
  ];
  for (const [text, want] of ok) await t.step(text, () => deepEqual(parseJid(text), want));
  for (
    const bad of [
      "",
      "@example.com",
      "a@",
      "a@b/",
      "a b@c",
      "a:b@c",
      'a"@c',
      "a@b@c",
      "x".repeat(1024) + "@c",
    ]
  ) {
    await t.step(
      `rejects ${JSON.stringify(bad.slice(0, 20))}`,
      () => throws(() => parseJid(bad), XmppParseError),
    );
  }
  equal(bareJid("a@B/c"), "a@b");
  equal(formatJid({ domain: "d", resource: "r" }), "d/r");
});

Deno.test("parseJid() round trips and throws only XmppParseError (property)", () => {
  const local = fc.stringMatching(/^[a-z0-9._-]{1,12}$/);
  const domain = fc.stringMatching(/^[a-z0-9-]{1,10}(\.[a-z]{2,5})?$/);
  const resource = fc.string({ minLength: 1, maxLength: 12 });
  fc.assert(fc.property(fc.option(local), domain, fc.option(resource), (l, d, r) => {
    const jid = {
      ...(l !== null ? { local: l } : {}),
      domain: d,
      ...(r !== null ? { resource: r } : {}),
    };
    deepEqual(parseJid(formatJid(jid)), jid);
  }));
  fc.assert(fc.property(fc.string(), (s) => {
    try {
      parseJid(s);
    } catch (e) {
      ok(e instanceof XmppParseError, String(e));
    }
  }));
});

// === SCRAM ===

Deno.test("ScramClient follows the SCRAM-SHA-1 example of RFC 5802 §5", async (t) => {
  const c = new ScramClient({
    username: "user",
    password: "pencil",
    nonce: "fyko+d2lbbFgONRv9qkxdawL",
  });
  await t.step(
    "client-first-message",
    () => equal(c.first(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"),
  );
  await t.step("client-final-message", () =>
    equal(
      c.final("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"),
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    ));
  await t.step("server signature verifies", () => c.verify("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));
  await t.step("a wrong server signature fails", () =>
    throws(
      () => c.verify("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
      (e) => e instanceof SaslError && e.condition === "not-authorized",
    ));
  await t.step(
    "e= is reported",
    () =>
      throws(
        () => c.verify("e=invalid-proof"),
        (e) => e instanceof SaslError && e.condition === "invalid-proof",
      ),
  );
});

Deno.test("ScramClient follows the SCRAM-SHA-256 example of RFC 7677 §3", () => {
  const c = new ScramClient({
    username: "user",
    password: "pencil",
    nonce: "rOprNGfwEbeRWgbNEkqO",
    hash: "SHA-256",
  });
  equal(c.first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  equal(
    c.final(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    ),
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  c.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
});

Deno.test("ScramClient escapes the user name and rejects bad server messages (RFC 5802 §5.1)", () => {
  equal(
    new ScramClient({ username: "a=b,c", password: "p", nonce: "n" }).first(),
    "n,,n=a=3Db=2Cc,r=n",
  );
  const c = () => new ScramClient({ username: "u", password: "p", nonce: "abc" });
  throws(() => c().final("r=xyz123,s=QSXCR+Q6sek8bf92,i=4096"), SaslError); // nonce not ours
  throws(() => c().final("r=abc,s=QSXCR+Q6sek8bf92,i=4096"), SaslError); // no server part
  throws(() => c().final("r=abcd,s=QSXCR+Q6sek8bf92,i=0"), SaslError);
  throws(() => c().final("r=abcd,s=QSXCR+Q6sek8bf92,i=999999999"), SaslError);
  throws(() => c().final("r=abcd,s=QSXCR"), XmppParseError);
  throws(() => c().final("garbage"), XmppParseError);
  throws(() => new ScramClient({ username: "u", password: "p", nonce: "a,b" }), TypeError);
});

// === Stream state machine ===

function stream(options: Partial<XmppStreamOptions> = {}): XmppStream {
  const s = new XmppStream({ jid: "user@example.com", password: "pencil", ...options });
  s.open();
  return s;
}

function only(events: XmppEvent[], type: XmppEvent["type"]): XmppEvent {
  equal(events.length, 1, JSON.stringify(events.map((e) => e.type)));
  equal(events[0]!.type, type);
  return events[0]!;
}

Deno.test("XmppStream negotiates STARTTLS, SCRAM-SHA-1, bind and session (RFC 6120 §5-§7, RFC 3921 §3)", async (t) => {
  const s = stream({
    jid: "user@example.com/balcony",
    nonce: "fyko+d2lbbFgONRv9qkxdawL",
    mechanisms: ["SCRAM-SHA-1"],
  });
  await t.step("initial stream header (RFC 6120 §4.2)", () => {
    const out = s.takeOutput();
    ok(out.startsWith('<?xml version=\'1.0\'?><stream:stream to="example.com" version="1.0"'), out);
    ok(!out.includes("from="), "no from before TLS (RFC 6120 §4.7.1)");
    equal(s.state, "opening");
  });
  await t.step("STARTTLS command and proceed (RFC 6120 §5.4.2)", () => {
    deepEqual(
      s.receive(
        HEAD + "s1'>" +
          features("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"),
      ),
      [],
    );
    equal(s.streamId, "s1");
    equal(s.takeOutput(), '<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>');
    only(s.receive("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), "starttls");
    equal(s.state, "tls");
  });
  await t.step("stream restart over TLS names the initiator (RFC 6120 §5.4.3.3)", () => {
    s.tlsEstablished();
    equal(s.secure, true);
    const out = s.takeOutput();
    ok(out.includes('from="user@example.com"'), out);
  });
  await t.step("SCRAM-SHA-1 with the RFC 5802 values (RFC 6120 §6.4)", () => {
    s.receive(HEAD + "s2'>" + features(mechanisms("SCRAM-SHA-1", "PLAIN")));
    const auth = parseXml(s.takeOutput());
    equal(auth.attr("mechanism"), "SCRAM-SHA-1");
    equal(unb64(auth.text), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    deepEqual(
      s.receive(
        `<challenge xmlns='${SASL}'>${
          b64("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
        }</challenge>`,
      ),
      [],
    );
    const response = parseXml(s.takeOutput());
    equal(response.localName, "response");
    equal(
      unb64(response.text),
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    );
    const ev = only(
      s.receive(`<success xmlns='${SASL}'>${b64("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")}</success>`),
      "authenticated",
    );
    equal(ev.type === "authenticated" && ev.mechanism, "SCRAM-SHA-1");
    ok(
      s.takeOutput().startsWith("<?xml version='1.0'?><stream:stream"),
      "stream restart (RFC 6120 §6.4.6)",
    );
  });
  await t.step("resource binding with the requested resource (RFC 6120 §7.7)", () => {
    s.receive(
      HEAD + "s3'>" + features(BIND + "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>"),
    );
    equal(
      s.takeOutput(),
      '<iq type="set" id="bind_1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>balcony</resource></bind></iq>',
    );
    // A stanza arriving meanwhile is passed on, not taken for the bind result.
    only(s.receive("<message from='x@y'><body>early</body></message>"), "stanza");
    deepEqual(
      s.receive(
        "<iq type='result' id='bind_1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>user@example.com/balcony</jid></bind></iq>",
      ),
      [],
    );
  });
  await t.step("session establishment when not optional (RFC 3921 §3)", () => {
    equal(
      s.takeOutput(),
      '<iq type="set" id="sess_2"><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></iq>',
    );
    const ev = only(s.receive("<iq type='result' id='sess_2'/>"), "online");
    equal(ev.type === "online" && formatJid(ev.jid), "user@example.com/balcony");
    equal(s.state, "online");
  });
  await t.step("stanzas flow, close is answered (RFC 6120 §4.4)", () => {
    s.send(
      new XmlElement("message", { to: "juliet@example.com" }, [new XmlElement("body", {}, ["hi"])]),
    );
    equal(s.takeOutput(), '<message to="juliet@example.com"><body>hi</body></message>');
    const ev = only(s.receive("<presence from='juliet@example.com/r'/>"), "stanza");
    equal(ev.type === "stanza" && ev.stanza.namespace, "jabber:client");
    s.close();
    equal(s.takeOutput(), "</stream:stream>");
    equal(s.state, "closing");
    deepEqual(s.receive("</stream:stream>"), [{ type: "closed" }]);
    equal(s.takeOutput(), "");
    throws(() => s.send(new XmlElement("presence")), /state is closed/);
  });
});

Deno.test("XmppStream handles a server-initiated close and transport loss (RFC 6120 §4.4)", () => {
  const s = stream({ allowPlain: true });
  s.takeOutput();
  s.receive(HEAD + "a'>");
  deepEqual(s.receive("</stream:stream>"), [{ type: "closed" }]);
  equal(s.takeOutput(), "</stream:stream>");
  const t = stream();
  const [ev] = t.end();
  ok(ev?.type === "closed" && ev.error instanceof StreamError);
});

Deno.test("XmppStream uses PLAIN only over TLS unless allowed (RFC 6120 §6.3.4, RFC 4616)", () => {
  const s = stream();
  s.takeOutput();
  const ev = s.receive(HEAD + "a'>" + features(mechanisms("PLAIN")));
  ok(ev[0]?.type === "closed" && ev[0].error instanceof SaslError);
  equal(ev[0].error.condition, "invalid-mechanism");
  const p = stream({ allowPlain: true });
  p.takeOutput();
  p.receive(HEAD + "a'>" + features(mechanisms("DIGEST-MD5", "PLAIN")));
  const auth = parseXml(p.takeOutput());
  equal(auth.attr("mechanism"), "PLAIN");
  equal(unb64(auth.text), "\0user\0pencil");
});

Deno.test("XmppStream reports SASL failure with its condition (RFC 6120 §6.4.5)", () => {
  const s = stream({ allowPlain: true });
  s.takeOutput();
  s.receive(HEAD + "a'>" + features(mechanisms("PLAIN")));
  s.takeOutput();
  const [ev] = s.receive(
    `<failure xmlns='${SASL}'><not-authorized/><text>Bad password</text></failure>`,
  );
  ok(ev?.type === "closed" && ev.error instanceof SaslError);
  equal(ev.error.condition, "not-authorized");
  equal(ev.error.text, "Bad password");
  equal(s.takeOutput(), "</stream:stream>");
});

Deno.test("XmppStream aborts SCRAM on a challenge that is not UTF-8 (RFC 6120 §6.5.5)", () => {
  const s = stream({ mechanisms: ["SCRAM-SHA-1"] });
  s.takeOutput();
  s.receive(HEAD + "a'>" + features(mechanisms("SCRAM-SHA-1")));
  s.takeOutput();
  const [ev] = s.receive(`<challenge xmlns='${SASL}'>/w==</challenge>`);
  ok(ev?.type === "closed" && ev.error instanceof SaslError);
  equal(ev.error.condition, "incorrect-encoding");
});

Deno.test("XmppStream aborts SCRAM when the server signature is wrong (RFC 6120 §6.4.4)", () => {
  const s = stream({ nonce: "fyko+d2lbbFgONRv9qkxdawL", mechanisms: ["SCRAM-SHA-1"] });
  s.takeOutput();
  s.receive(HEAD + "a'>" + features(mechanisms("SCRAM-SHA-1")));
  s.receive(
    `<challenge xmlns='${SASL}'>${
      b64("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
    }</challenge>`,
  );
  s.takeOutput();
  const [ev] = s.receive(
    `<success xmlns='${SASL}'>${b64("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")}</success>`,
  );
  ok(ev?.type === "closed" && ev.error instanceof SaslError);
  equal(s.takeOutput(), `<abort xmlns="${SASL}"/></stream:stream>`);
});

Deno.test("XmppStream applies the STARTTLS policy (RFC 6120 §5.3.1)", () => {
  const tls = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>";
  const a = stream({ tls: "disabled" });
  a.takeOutput();
  const [ea] = a.receive(HEAD + "a'>" + features(tls + mechanisms("PLAIN")));
  ok(ea?.type === "closed" && /requires TLS/.test(ea.error!.message));
  const b = stream({ tls: "required" });
  b.takeOutput();
  const [eb] = b.receive(HEAD + "a'>" + features(mechanisms("PLAIN")));
  ok(eb?.type === "closed" && /does not offer STARTTLS/.test(eb.error!.message));
  const c = stream();
  c.takeOutput();
  c.receive(HEAD + "a'>" + features("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
  c.takeOutput();
  const [ec] = c.receive("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  ok(ec?.type === "closed" && /STARTTLS failed/.test(ec.error!.message));
});

Deno.test("XmppStream reads stream errors and reports its own (RFC 6120 §4.9)", async (t) => {
  await t.step("received stream error with text", () => {
    const s = stream();
    s.takeOutput();
    const [ev] = s.receive(
      HEAD + "a'><stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
        "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>moved</text></stream:error>",
    );
    ok(ev?.type === "closed" && ev.error instanceof StreamError);
    equal(ev.error.condition, "see-other-host");
    equal(ev.error.text, "moved");
    equal(s.takeOutput(), "</stream:stream>");
  });
  const cases: [string, string, string][] = [
    ["not-well-formed", HEAD + "a'><message><body></message>", "not-well-formed"],
    ["restricted XML (comment)", HEAD + "a'><!-- hi -->", "restricted-xml"],
    [
      "wrong content namespace",
      "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server' version='1.0'>",
      "invalid-namespace",
    ],
    [
      "no version",
      "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>",
      "unsupported-version",
    ],
    ["stanza before negotiation", HEAD + "a'><message/>", "unsupported-stanza-type"],
  ];
  for (const [name, input, condition] of cases) {
    await t.step(name, () => {
      const s = stream();
      s.takeOutput();
      const [ev] = s.receive(input);
      ok(ev?.type === "closed" && ev.error instanceof StreamError);
      equal(ev.error.condition, condition);
      equal(
        s.takeOutput(),
        `<stream:error><${condition} xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error></stream:stream>`,
      );
      deepEqual(s.receive("<more/>"), []);
    });
  }
});

Deno.test("XmppStream never throws on random server input (property)", () => {
  const pieces = fc.constantFrom(
    HEAD + "x'>",
    features(mechanisms("PLAIN", "SCRAM-SHA-1")),
    features(BIND),
    `<success xmlns='${SASL}'/>`,
    `<challenge xmlns='${SASL}'>${b64("r=abc,s=QSXC,i=1")}</challenge>`,
    `<challenge xmlns='${SASL}'>!!!</challenge>`,
    `<challenge xmlns='${SASL}'>/w==</challenge>`, // 0xff: not UTF-8
    "<iq type='result' id='bind_1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>@@</jid></bind></iq>",
    "</stream:stream>",
    "<message/>",
    "<",
    "&bogus;",
  );
  fc.assert(fc.property(fc.array(fc.oneof(pieces, fc.string()), { maxLength: 8 }), (chunks) => {
    const s = stream({ allowPlain: true, mechanisms: ["PLAIN"] });
    for (const c of chunks) {
      for (const ev of s.receive(c)) {
        if (ev.type === "closed" && ev.error) ok(ev.error instanceof Error);
      }
    }
    s.takeOutput();
  }));
});

// === Stanza errors ===

Deno.test("parseStanzaError() and iqError() (RFC 6120 §8.3)", () => {
  const req = parseXml(
    "<iq type='get' id='q1' from='romeo@example.net/orchard' to='example.com'><x xmlns='urn:x'/></iq>",
  );
  const reply = iqError(req, "feature-not-implemented");
  equal(reply.attr("to"), "romeo@example.net/orchard");
  equal(reply.attr("id"), "q1");
  const e = parseStanzaError(parseXml(reply.toString()));
  ok(e instanceof StanzaError);
  equal(e.condition, "feature-not-implemented");
  equal(e.errorType, "cancel");
  equal(parseStanzaError(req), undefined);
});
