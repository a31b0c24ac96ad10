// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { parseUri } from "../rfc2396/mod.ts";
import {
  checkUasRequest,
  clientTransactionKey,
  createResponse,
  Dialog,
  formatAddress,
  formatVia,
  InviteClientTransaction,
  InviteServerTransaction,
  ManualClock,
  NonInviteClientTransaction,
  NonInviteServerTransaction,
  parseAddress,
  parseAddressList,
  parseCSeq,
  parseMessage,
  parseRetryAfter,
  parseSipDate,
  parseTimestamp,
  parseTokenWithParams,
  parseVia,
  parseWarning,
  ProxyCore,
  serverTransactionKey,
  SipEndpoint,
  SipMessage,
  SipParseError,
  SipStreamFramer,
  splitList,
  UserAgent,
  validateMessage,
} from "./mod.ts";
import { TcpTransport, UdpTransport } from "./transport.ts";

const DIR = new URL("../testdata/rfc4475/", import.meta.url);
const vector = (name: string) => Deno.readFileSync(new URL(name + ".dat", DIR));
const enc = new TextEncoder();

// === RFC 4475 valid messages (§3.1.1, §3.3, §3.4) ===

Deno.test("parseMessage() accepts the valid RFC 4475 torture messages (RFC 4475 §3.1.1)", async (t) => {
  await t.step("wsinv: short tortuous INVITE (§3.1.1.1)", () => {
    const m = parseMessage(vector("wsinv"));
    validateMessage(m);
    equal(m.method, "INVITE");
    equal(m.uri, "sip:vivekg@chair-dnrc.example.com;unknownparam");
    equal(m.to().uri, "sip:vivekg@chair-dnrc.example.com");
    equal(m.to().params.tag, "1918181833n");
    equal(m.from().displayName, 'J Rosenberg \\"');
    equal(m.from().params.tag, "98asjd8");
    equal(m.maxForwards(), 68);
    equal(m.callId(), "wsinv.ndaksdj@192.0.2.1");
    deepEqual(m.cseq(), { seq: 9, method: "INVITE" });
    const vias = m.via();
    equal(vias.length, 3);
    deepEqual(vias.map((v) => [v.transport, v.host, v.params.branch]), [
      ["UDP", "192.0.2.2", "390skdjuw"],
      ["TCP", "spindle.example.com", "z9hG4bK9ikj8"],
      ["UDP", "192.168.255.111", "z9hG4bK30239"],
    ]);
    equal(m.header("Subject"), "");
    equal(m.header("NewFangledHeader"), "newfangled value continued newfangled value");
    equal(m.header("UnknownHeaderWithUnusualValue"), ";;,,;;,;");
    const [c] = m.contacts();
    equal(c!.displayName, 'Quoted string ""');
    equal(c!.uri, "sip:jdrosen@example.com");
    deepEqual(c!.params, { newparam: "newvalue", secondparam: null, q: "0.33" });
    equal(
      m.addresses("Route")[0]!.uri,
      "sip:services.example.com;lr;unknownwith=value;unknown-no-value",
    );
    equal(m.body.length, 150);
    ok(m.text.startsWith("v=0\r\n"));
  });
  await t.step("intmeth: wide range of valid characters (§3.1.1.2)", () => {
    const m = parseMessage(vector("intmeth"));
    validateMessage(m);
    equal(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
    equal(m.cseq().method, m.method);
    equal(m.to().displayName, "BEL:\x07 NUL:\x00 DEL:\x7f");
    equal(m.from().displayName, "token1~` token2'+_ token3*%!.-");
    equal(m.via()[0]!.params.branch, "z9hG4bK-.!%66*_+`'~");
    equal(m.callId(), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    equal(m.header("extensionHeader-!.%*+_`'~"), "\uFEFF\u5927\u505C\u96FB");
    const uri = parseUri(m.uri!);
    equal(uri.host, "example.com");
    equal(uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  });
  await t.step("esc01: valid % escaping (§3.1.1.3)", () => {
    const m = parseMessage(vector("esc01"));
    validateMessage(m);
    equal(parseUri(m.uri!).user, "sips:user@example.com");
    equal(parseUri(m.to().uri).user, "user");
    equal(parseUri(m.from().uri).user, "I have spaces");
    equal(m.callId(), "esc01.239409asdfakjkn23onasd0-3234");
    equal(m.header("Content-Type"), "application/sdp");
    const contact = parseUri(m.contacts()[0]!.uri);
    equal(contact.user, "caller");
    equal(contact.params.get("name"), "value%41");
    ok(contact.params.has("lr"));
  });
  await t.step("escnull: escaped nulls (§3.1.1.4)", () => {
    const m = parseMessage(vector("escnull"));
    validateMessage(m);
    equal(parseUri(m.to().uri).user, "null-\x00-null");
    equal(m.contacts().length, 2);
    equal(parseUri(m.contacts()[1]!.uri).user, "\x00\x00");
  });
  await t.step("esc02: % that is not an escape (§3.1.1.5)", () => {
    const m = parseMessage(vector("esc02"));
    validateMessage(m);
    equal(m.method, "RE%47IST%45R");
    equal(m.to().displayName, "%Z%45");
    equal(m.contacts().length, 2); // "C%6Fntact" is another header
    equal(m.header("C%6Fntact"), "<sip:alias2@host2.example.com>");
  });
  await t.step("lwsdisp: no LWS between display name and < (§3.1.1.6)", () => {
    const m = parseMessage(vector("lwsdisp"));
    validateMessage(m);
    equal(m.from().displayName, "caller");
    equal(m.from().uri, "sip:caller@example.com");
  });
  await t.step("longreq: long values (§3.1.1.7)", () => {
    const m = parseMessage(vector("longreq"));
    validateMessage(m);
    equal(m.via().length, 34);
    equal(m.via()[0]!.host, "sip33.example.com");
    ok(m.to().displayName!.includes("extremeextreme"));
    const to = parseUri(m.to().uri);
    equal(to.port, 6000);
    equal(to.params.get("unknownparam1")!.length, 89);
    ok(m.from().params.tag!.startsWith("12982982") && m.from().params.tag!.endsWith("2424"));
    ok(m.callId().startsWith("longreq.onereally"));
    equal(m.contacts().length, 1);
  });
  await t.step("dblreq: extra octets in a datagram (§3.1.1.8)", () => {
    const m = parseMessage(vector("dblreq"));
    validateMessage(m);
    equal(m.method, "REGISTER");
    equal(m.body.length, 0);
    equal(m.callId(), "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
  });
  await t.step("semiuri: semicolons in the user part (§3.1.1.9)", () => {
    const m = parseMessage(vector("semiuri"));
    validateMessage(m);
    const uri = parseUri(m.uri!);
    equal(uri.user, "user;par=u@example.net");
    equal(uri.host, "example.com");
    equal(m.values("Accept").length, 6);
  });
  await t.step("transports: varied and unknown transports (§3.1.1.10)", () => {
    const m = parseMessage(vector("transports"));
    validateMessage(m);
    deepEqual(m.via().map((v) => v.transport), ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
  });
  await t.step("mpart01: multipart MIME body (§3.1.1.11)", () => {
    const m = parseMessage(vector("mpart01"));
    validateMessage(m);
    equal(m.body.length, 553);
    ok(m.header("Content-Type")!.startsWith("multipart/mixed;boundary=7a9cbec02ceef655"));
  });
  await t.step("unreason: unusual reason phrase (§3.1.1.12)", () => {
    const m = parseMessage(vector("unreason"));
    validateMessage(m);
    equal(m.status, 200);
    ok(m.reason.startsWith("= 2**3 * 5**2 "));
    ok(/[\u0400-\u04FF]/.test(m.reason));
  });
  await t.step("noreason: empty reason phrase (§3.1.1.13)", () => {
    const m = parseMessage(vector("noreason"));
    validateMessage(m);
    equal(m.status, 100);
    equal(m.reason, "");
  });
  for (
    const name of [
      "unkscm",
      "novelsc",
      "unksm2",
      "bext01",
      "invut",
      "regaut01",
      "bcast",
      "zeromf",
      "cparam01",
      "cparam02",
      "regescrt",
      "sdp01",
      "inv2543",
    ]
  ) {
    await t.step(`${name}: well-formed (RFC 4475 §3.3, §3.4)`, () => {
      const m = parseMessage(vector(name));
      validateMessage(m);
      ok(m.callId().startsWith(name + "."));
    });
  }
});

// === RFC 4475 invalid messages (§3.1.2, §3.2) ===

Deno.test("parseMessage()/validateMessage() reject the invalid RFC 4475 messages (RFC 4475 §3.1.2)", async (t) => {
  const cases: [string, number, RegExp][] = [
    ["badinv01", 400, /parameters/],
    ["clerr", 400, /Content-Length 9999/],
    ["ncl", 400, /Content-Length/],
    ["scalar02", 400, /CSeq|Max-Forwards/],
    ["scalarlg", 400, /CSeq/],
    ["quotbal", 400, /quoted string|empty line/],
    ["ltgtruri", 400, /Request-URI/],
    ["lwsruri", 400, /extra spaces/],
    ["lwsstart", 400, /extra spaces/],
    ["trws", 400, /extra spaces/],
    ["escruri", 400, /headers/],
    ["baddate", 400, /Date/],
    ["regbadct", 400, /needs to be in <>/],
    ["badaspec", 400, /spaces/],
    ["baddn", 400, /./],
    ["badvers", 505, /version/],
    ["mismatch01", 400, /CSeq method/],
    ["mismatch02", 400, /CSeq method/],
    ["bigcode", 400, /status code/],
    ["badbranch", 400, /magic cookie/],
    ["insuf", 400, /missing/],
    ["multi01", 400, /several/],
    ["mcl01", 400, /several Content-Length/],
  ];
  for (const [name, status, why] of cases) {
    await t.step(name, () => {
      throws(
        () => validateMessage(parseMessage(vector(name))),
        (e: unknown) => e instanceof SipParseError && e.status === status && why.test(e.message),
      );
    });
  }
  await t.step("baddn with its final empty line still fails on the display name", () => {
    const bytes = new Uint8Array([...vector("baddn"), 13, 10]);
    throws(() => validateMessage(parseMessage(bytes)), /address/);
  });
});

Deno.test("checkUasRequest() answers the status RFC 4475 §3.3 names", () => {
  const caps = { methods: ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER"] };
  const status = (name: string) => checkUasRequest(parseMessage(vector(name)), caps)?.status;
  equal(status("unkscm"), 416);
  equal(status("novelsc"), 416);
  equal(status("bext01"), 420);
  equal(status("invut"), 415);
  equal(status("sdp01"), 406);
  equal(checkUasRequest(parseMessage(vector("mismatch02")), caps)?.status, 405);
  equal(status("wsinv"), undefined);
});

// === Grammar details ===

Deno.test("parseMessage() expands compact forms and unfolds lines (RFC 3261 §7.3.1, §7.3.3)", () => {
  const m = parseMessage(
    "OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bKx\r\ni: id\r\nf: <sip:c@d>;tag=1\r\n" +
      "t: <sip:a@b>\r\nm: <sip:c@1.2.3.4>\r\nk: path\r\ns: hi\r\n  there\r\nl: 0\r\nCSeq: 1 OPTIONS\r\n\r\n",
  );
  deepEqual(m.headers.map((h) => h.name), [
    "Via",
    "Call-ID",
    "From",
    "To",
    "Contact",
    "Supported",
    "Subject",
    "Content-Length",
    "CSeq",
  ]);
  equal(m.header("Subject"), "hi there");
  equal(m.header("subject"), "hi there");
});

Deno.test("SipMessage keeps unknown headers verbatim and in order, and formats Content-Length", () => {
  const text = "SIP/2.0 200 OK\r\nX-B: 2\r\nX-A: 1\r\nx-b: 3\r\nContent-Length: 5\r\n\r\nhello";
  const m = parseMessage(text);
  deepEqual(m.values("x-b"), ["2", "3"]);
  equal(m.toString(), text.replace("x-b", "x-b"));
  m.body = enc.encode("hi");
  ok(m.toString().includes("Content-Length: 2\r\n"));
  equal(new TextDecoder().decode(m.toBytes()), m.toString());
});

Deno.test("parseVia()/formatVia() round-trip with IPv6, rport and received (RFC 3581 §4)", () => {
  const v = parseVia("SIP/2.0/UDP [2001:db8::9]:5061;branch=z9hG4bKa;rport;received=192.0.2.1");
  equal(v.host, "2001:db8::9");
  equal(v.port, 5061);
  equal(v.params.rport, null);
  equal(formatVia(v), "SIP/2.0/UDP [2001:db8::9]:5061;branch=z9hG4bKa;rport;received=192.0.2.1");
  throws(() => parseVia("SIP/2.0 UDP host"), SipParseError);
  throws(() => parseVia("SIP/2.0/UDP host:99999"), SipParseError);
  throws(() => parseVia("SIP/2.0/UDP"), SipParseError);
});

Deno.test("parseAddress() handles name-addr, addr-spec, quoting and lists (RFC 3261 §20.10)", () => {
  equal(parseAddress("sip:a@b;tag=x").params.tag, "x");
  equal(parseAddress("sip:a@b;tag=x").uri, "sip:a@b");
  equal(parseAddress("<sip:a@b;lr>;tag=x").uri, "sip:a@b;lr");
  equal(parseAddress('"A \\\\ B" <sip:a@b>').displayName, "A \\ B");
  deepEqual(parseAddressList('"x, y" <sip:a@b>, sip:c@d;q=0.5').map((a) => [a.uri, a.params.q]), [
    ["sip:a@b", undefined],
    ["sip:c@d", "0.5"],
  ]);
  equal(formatAddress(parseAddress('"A" <sip:a@b>;tag=1')), '"A" <sip:a@b>;tag=1');
  throws(() => parseAddress("<sip:a@b"), SipParseError);
  throws(() => parseAddress("nothing"), SipParseError);
  deepEqual(splitList("a, b,,c"), ["a", "b", "c"]);
});

Deno.test("typed access to the other RFC 3261 §20 header fields", () => {
  const mp = parseMessage(vector("mpart01"));
  deepEqual(parseTokenWithParams(mp.header("Content-Type")!), {
    value: "multipart/mixed",
    params: { boundary: "7a9cbec02ceef655" },
  });
  equal(parseSipDate(mp.header("Date")!).toISOString(), "2005-10-15T04:44:56.000Z");
  deepEqual(parseTokenWithParams("application/SDP;level=1"), {
    value: "application/sdp",
    params: { level: "1" },
  });
  equal(
    parseMessage(vector("semiuri")).values("Accept").map((a) => parseTokenWithParams(a).value).at(
      -1,
    ),
    "message/sipfrag",
  );
  deepEqual(parseWarning('370 192.0.2.1:5060 "Insufficient bandwidth"'), {
    code: 370,
    agent: "192.0.2.1:5060",
    text: "Insufficient bandwidth",
  });
  // RFC 4475 §3.1.2.5: a four-digit warn-code and an overlarge Retry-After are errors.
  const lg = parseMessage(vector("scalarlg"));
  throws(() => parseWarning(lg.header("Warning")!), SipParseError);
  throws(() => parseRetryAfter(lg.header("Retry-After")!), SipParseError);
  deepEqual(parseRetryAfter("18000;duration=3600"), {
    seconds: 18000,
    params: { duration: "3600" },
  });
  deepEqual(parseTimestamp("54.3 0.2"), { time: 54.3, delay: 0.2 });
  throws(() => parseSipDate("Fri, 01 Jan 2010 16:00:00 EST"), SipParseError);
});

Deno.test("parseCSeq() rejects numbers of 2**31 and more (RFC 3261 §8.1.1.5)", () => {
  deepEqual(parseCSeq("2147483647 BYE"), { seq: 2147483647, method: "BYE" });
  throws(() => parseCSeq("2147483648 BYE"), SipParseError);
  throws(() => parseCSeq("x BYE"), SipParseError);
});

Deno.test("parseMessage() rejects bad start lines, header names and Content-Length", () => {
  for (
    const bad of [
      "",
      "\r\n\r\n",
      "INVITE sip:a@b SIP/2.0\r\n", // no empty line
      "INVITE sip:a@b\r\n\r\n",
      "SIP/2.0 20 OK\r\n\r\n",
      "SIP/2.0 700 Nope\r\n\r\n",
      "INV ITE sip:a@b SIP/2.0\r\n\r\n",
      "INVITE sip:a@b HTTP/1.1\r\n\r\n",
      "INVITE sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n",
      "INVITE sip:a@b SIP/2.0\r\nNoColon\r\n\r\n",
      "INVITE sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nshort",
    ]
  ) throws(() => parseMessage(bad), SipParseError, JSON.stringify(bad));
});

Deno.test("parseMessage() throws only SipParseError on random input (property)", () => {
  const base = new TextDecoder().decode(vector("wsinv"));
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), fc.nat(base.length), (junk, at) => {
      const text = base.slice(0, at) + junk + base.slice(at);
      try {
        const m = parseMessage(text);
        try {
          validateMessage(m);
        } catch (e) {
          if (!(e instanceof SipParseError)) throw e;
        }
      } catch (e) {
        if (!(e instanceof SipParseError)) throw e;
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("formatting then parsing gives the same message (property)", () => {
  const token = fc.stringMatching(/^[A-Za-z0-9.!%*_+`'~-]{1,12}$/);
  fc.assert(
    fc.property(
      token,
      token,
      fc.nat(2 ** 31 - 1),
      fc.string({ maxLength: 50 }),
      (user, tag, seq, body) => {
        const m = new SipMessage({
          method: "MESSAGE",
          uri: `sip:${encodeURIComponent(user)}@example.com`,
        });
        m.add("Via", `SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK${tag}`);
        m.add(
          "From",
          formatAddress({ displayName: user + ' "q"', uri: "sip:a@b", params: { tag } }),
        );
        m.add("To", "<sip:b@c>").add("Call-ID", tag).add("CSeq", `${seq} MESSAGE`);
        m.body = enc.encode(body);
        const back = parseMessage(m.toBytes());
        validateMessage(back);
        equal(back.uri, m.uri);
        equal(back.from().displayName, user + ' "q"');
        equal(back.from().params.tag, tag);
        equal(back.cseq().seq, seq);
        equal(back.text, body);
      },
    ),
    { numRuns: 200 },
  );
});

// === Stream framing (RFC 3261 §18.3) ===

Deno.test("SipStreamFramer frames byte by byte, rejects oversize and missing Content-Length (RFC 3261 §18.3)", () => {
  const one = "SIP/2.0 200 OK\r\nCSeq: 1 BYE\r\nContent-Length: 3\r\n\r\nabc";
  const bytes = enc.encode("\r\n" + one + one);
  const f = new SipStreamFramer();
  const got: SipMessage[] = [];
  for (const b of bytes) got.push(...f.push(new Uint8Array([b])));
  equal(got.length, 2);
  equal(got[1]!.text, "abc");
  equal(f.pending, 0);
  const small = new SipStreamFramer({ maxSize: 100 });
  throws(() => small.push(enc.encode("SIP/2.0 200 OK\r\nl: 500\r\n\r\n")), /exceed/);
  throws(() => new SipStreamFramer({ maxSize: 50 }).push(enc.encode("X".repeat(60))), /exceed/);
  throws(() => new SipStreamFramer().push(enc.encode("SIP/2.0 200 OK\r\n\r\n")), /Content-Length/);
  throws(
    () => new SipStreamFramer().push(enc.encode("SIP/2.0 200 OK\r\nl: -1\r\n\r\n")),
    /Content-Length/,
  );
});

// === Transactions (RFC 3261 §17) ===

const INVITE = () =>
  parseMessage(
    "INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a:5060;branch=z9hG4bKinv\r\nFrom: <sip:a@y>;tag=1\r\n" +
      "To: <sip:b@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\r\n",
  );
const OPTIONS = () =>
  parseMessage(
    "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a:5060;branch=z9hG4bKopt\r\nFrom: <sip:a@y>;tag=1\r\n" +
      "To: <sip:b@x>\r\nCall-ID: c2\r\nCSeq: 1 OPTIONS\r\n\r\n",
  );
const resp = (req: SipMessage, status: number) => createResponse(req, status, { toTag: "t" });

Deno.test("INVITE client transaction: Timer A doubles, Timer B times out (RFC 3261 §17.1.1.2)", () => {
  const clock = new ManualClock();
  const times: number[] = [];
  let failure = "";
  const t = new InviteClientTransaction(INVITE(), {
    clock,
    send: () => times.push(clock.now()),
    onResponse: () => {},
    onFailure: (w) => failure = w,
  });
  clock.advance(40_000);
  deepEqual(times, [0, 500, 1500, 3500, 7500, 15500, 31500]);
  equal(failure, "timeout");
  equal(t.state, "terminated");
});

Deno.test("INVITE client transaction: non-2xx gets an ACK, Timer D ends it (RFC 3261 §17.1.1.3)", () => {
  const clock = new ManualClock();
  const sent: SipMessage[] = [];
  const got: number[] = [];
  const inv = INVITE();
  const t = new InviteClientTransaction(inv, {
    clock,
    send: (m) => sent.push(m),
    onResponse: (r) => got.push(r.status),
  });
  t.receive(resp(inv, 180));
  equal(t.state, "proceeding");
  clock.advance(2000);
  equal(sent.length, 1); // no retransmission after a provisional
  t.receive(resp(inv, 486));
  equal(t.state, "completed");
  const ack = sent[1]!;
  equal(ack.method, "ACK");
  equal(ack.header("CSeq"), "1 ACK");
  equal(ack.to().params.tag, "t");
  equal(ack.via()[0]!.params.branch, "z9hG4bKinv");
  t.receive(resp(inv, 486)); // retransmitted final: ACK again, not passed up
  equal(sent.length, 3);
  deepEqual(got, [180, 486]);
  clock.advance(31_999);
  equal(t.state, "completed");
  clock.advance(1);
  equal(t.state, "terminated");
});

Deno.test("INVITE client transaction: 2xx ends it at once; reliable transport sends once (RFC 3261 §17.1.1.2)", () => {
  const clock = new ManualClock();
  let n = 0;
  const inv = INVITE();
  const t = new InviteClientTransaction(inv, {
    clock,
    reliable: true,
    send: () => n++,
    onResponse: () => {},
  });
  clock.advance(5000);
  equal(n, 1);
  t.receive(resp(inv, 200));
  equal(t.state, "terminated");
  equal(clock.pending, 0);
  const t2 = new InviteClientTransaction(inv, {
    clock,
    reliable: true,
    send: () => {},
    onResponse: () => {},
  });
  t2.receive(resp(inv, 500));
  equal(t2.state, "completed");
  clock.advance(0); // Timer D is 0 on reliable transports
  equal(t2.state, "terminated");
  const t3 = new InviteClientTransaction(inv, { clock, send: () => {}, onResponse: () => {} });
  let failed = "";
  const t4 = new InviteClientTransaction(inv, {
    clock,
    send: () => {},
    onResponse: () => {},
    onFailure: (w) => failed = w,
  });
  t4.transportError();
  equal(failed, "transport");
  t3.receive(resp(inv, 200));
});

Deno.test("non-INVITE client transaction: Timer E caps at T2, Timer F, Timer K (RFC 3261 §17.1.2.2)", () => {
  const clock = new ManualClock();
  const times: number[] = [];
  let failure = "";
  new NonInviteClientTransaction(OPTIONS(), {
    clock,
    send: () => times.push(clock.now()),
    onResponse: () => {},
    onFailure: (w) => failure = w,
  });
  clock.advance(40_000);
  deepEqual(times.slice(0, 6), [0, 500, 1500, 3500, 7500, 11500]);
  equal(times.at(-1), 31500);
  equal(failure, "timeout");
  // Proceeding: retransmit every T2.
  const times2: number[] = [];
  const req = OPTIONS();
  const start = clock.now();
  const t = new NonInviteClientTransaction(req, {
    clock,
    send: () => times2.push(clock.now() - start),
    onResponse: () => {},
  });
  t.receive(resp(req, 100));
  equal(t.state, "proceeding");
  clock.advance(9000);
  deepEqual(times2, [0, 500, 4500, 8500]);
  t.receive(resp(req, 200));
  equal(t.state, "completed");
  t.receive(resp(req, 200)); // absorbed
  clock.advance(4999);
  equal(t.state, "completed");
  clock.advance(1);
  equal(t.state, "terminated");
});

Deno.test("INVITE server transaction: provisional retransmit, Timer G/H, ACK, Timer I (RFC 3261 §17.2.1)", () => {
  const clock = new ManualClock();
  const sent: [number, number][] = [];
  const inv = INVITE();
  const t = new InviteServerTransaction(inv, {
    clock,
    send: (m) => sent.push([clock.now(), m.status]),
  });
  t.respond(resp(inv, 100));
  t.receive(inv); // retransmitted INVITE: last provisional again
  deepEqual(sent, [[0, 100], [0, 100]]);
  t.respond(resp(inv, 603));
  clock.advance(10_000);
  deepEqual(sent.slice(2).map((s) => s[0]), [0, 500, 1500, 3500, 7500]);
  const ack = parseMessage(
    inv.toString().replace("INVITE sip", "ACK sip").replace("1 INVITE", "1 ACK"),
  );
  t.receive(ack);
  equal(t.state, "confirmed");
  clock.advance(5000);
  equal(t.state, "terminated");
  // No ACK: Timer H.
  let failure = "";
  const t2 = new InviteServerTransaction(inv, {
    clock,
    send: () => {},
    onFailure: (w) => failure = w,
  });
  t2.respond(resp(inv, 404));
  clock.advance(32_000);
  equal(failure, "timeout");
  equal(t2.state, "terminated");
});

Deno.test("INVITE server transaction: 2xx moves to Accepted, Timer L (RFC 6026 §7.1)", () => {
  const clock = new ManualClock();
  let n = 0;
  const inv = INVITE();
  const t = new InviteServerTransaction(inv, { clock, send: () => n++ });
  t.respond(resp(inv, 200));
  equal(t.state, "accepted");
  t.receive(inv); // absorbed
  equal(n, 1);
  t.respond(resp(inv, 200)); // TU retransmission goes out
  equal(n, 2);
  clock.advance(32_000);
  equal(t.state, "terminated");
});

Deno.test("non-INVITE server transaction: Timer J, absorbs retransmissions (RFC 3261 §17.2.2)", () => {
  const clock = new ManualClock();
  let n = 0;
  const req = OPTIONS();
  const t = new NonInviteServerTransaction(req, { clock, send: () => n++ });
  t.receive(req); // nothing to resend yet
  equal(n, 0);
  t.respond(resp(req, 100));
  equal(t.state, "proceeding");
  t.receive(req);
  equal(n, 2);
  t.respond(resp(req, 200));
  t.receive(req);
  equal(n, 4);
  clock.advance(31_999);
  equal(t.state, "completed");
  clock.advance(1);
  equal(t.state, "terminated");
  const t2 = new NonInviteServerTransaction(req, { clock, reliable: true, send: () => {} });
  t2.respond(resp(req, 200));
  clock.advance(0);
  equal(t2.state, "terminated");
});

Deno.test("transaction keys match per RFC 3261 §17.1.3/§17.2.3 and RFC 2543 fallback", () => {
  const inv = INVITE();
  equal(clientTransactionKey(inv), "z9hG4bKinv INVITE");
  equal(clientTransactionKey(resp(inv, 200)), "z9hG4bKinv INVITE");
  const ack = parseMessage(
    inv.toString().replace("INVITE sip", "ACK sip").replace("1 INVITE", "1 ACK"),
  );
  equal(serverTransactionKey(ack), serverTransactionKey(inv));
  const cancel = parseMessage(
    inv.toString().replace("INVITE sip", "CANCEL sip").replace("1 INVITE", "1 CANCEL"),
  );
  ok(serverTransactionKey(cancel) !== serverTransactionKey(inv));
  equal(serverTransactionKey(cancel, "INVITE"), serverTransactionKey(inv));
  // A different sent-by is a different transaction.
  const other = parseMessage(inv.toString().replace("a:5060", "b:5060"));
  ok(serverTransactionKey(other) !== serverTransactionKey(inv));
  // RFC 2543: no magic cookie.
  const old = parseMessage(vector("inv2543"));
  ok(serverTransactionKey(old).startsWith("2543 "));
  const oldAck = parseMessage(
    new TextDecoder().decode(vector("inv2543")).replace("INVITE sip:UserB", "ACK sip:UserB")
      .replace("56 INVITE", "56 ACK"),
  );
  equal(serverTransactionKey(oldAck), serverTransactionKey(old));
});

// === Dialogs (RFC 3261 §12) ===

Deno.test("Dialog builds in-dialog requests with loose routes (RFC 3261 §12.2.1.1)", () => {
  const d = new Dialog({
    callId: "c",
    localTag: "1",
    remoteTag: "2",
    localUri: "sip:a@y",
    remoteUri: "sip:b@x",
    remoteTarget: "sip:b@192.0.2.9",
    routeSet: ["<sip:p1;lr>", "<sip:p2;lr>"],
    localSeq: 7,
    remoteSeq: 3,
    secure: false,
  });
  const bye = d.createRequest("BYE");
  equal(bye.uri, "sip:b@192.0.2.9");
  deepEqual(bye.values("Route"), ["<sip:p1;lr>", "<sip:p2;lr>"]);
  equal(bye.header("CSeq"), "8 BYE");
  equal(bye.to().params.tag, "2");
  equal(d.createRequest("ACK", 5).header("CSeq"), "5 ACK");
  const uas = Dialog.fromUas(
    parseMessage(
      "INVITE sip:b@x SIP/2.0\r\nFrom: <sip:a@y>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 4 INVITE\r\n" +
        "Record-Route: <sip:p1;lr>\r\nRecord-Route: <sip:p2;lr>\r\nContact: <sip:a@192.0.2.1>\r\n\r\n",
    ),
    "9",
  );
  deepEqual(uas.routeSet, ["<sip:p1;lr>", "<sip:p2;lr>"]);
  equal(uas.remoteTarget, "sip:a@192.0.2.1");
  equal(uas.remoteSeq, 4);
  equal(uas.id, "c;9;1");
});

// === Transports and endpoint on 127.0.0.1 ===

async function uaPair(make: () => Promise<import("./mod.ts").SipTransport>) {
  const bobEp = new SipEndpoint({ transports: [await make()] });
  const aliceEp = new SipEndpoint({ transports: [await make()] });
  return { aliceEp, bobEp };
}

Deno.test("UserAgent calls over UDP: INVITE, 200, ACK, re-INVITE, BYE (RFC 3261 §13-15)", async () => {
  const { aliceEp, bobEp } = await uaPair(() => UdpTransport.listen({ port: 0 }));
  let bobCall: import("./mod.ts").Call | undefined;
  const bob = new UserAgent({
    endpoint: bobEp,
    aor: "sip:bob@127.0.0.1",
    onInvite: (c) => {
      bobCall = c;
      c.ringing();
      c.accept("v=0 answer\r\n");
    },
  });
  const alice = new UserAgent({ endpoint: aliceEp, aor: "sip:alice@127.0.0.1" });
  const states: string[] = [];
  const call = await alice.invite(
    `sip:bob@127.0.0.1:${bobEp.transports[0]!.port}`,
    "v=0 offer\r\n",
    (c) => c.onState = (s) => states.push(s),
  );
  equal(call.state, "established");
  equal(new TextDecoder().decode(call.remoteBody), "v=0 answer\r\n");
  deepEqual(states, ["ringing", "established"]);
  const r = await call.reinvite("v=0 hold\r\n");
  equal(r.status, 200);
  equal(await call.bye(), 200);
  equal(await bobCall!.ended, "BYE received");
  equal((await alice.options(`sip:127.0.0.1:${bobEp.transports[0]!.port}`)).status, 200);
  await alice.close();
  await bob.close();
});

Deno.test("UserAgent CANCEL gets 487 for the INVITE (RFC 3261 §9)", async () => {
  const { aliceEp, bobEp } = await uaPair(() => UdpTransport.listen({ port: 0 }));
  const bob = new UserAgent({
    endpoint: bobEp,
    aor: "sip:bob@127.0.0.1",
    onInvite: (c) => c.ringing(),
  });
  const alice = new UserAgent({ endpoint: aliceEp, aor: "sip:alice@127.0.0.1" });
  const call = await alice.invite(
    `sip:bob@127.0.0.1:${bobEp.transports[0]!.port}`,
    undefined,
    (c) => {
      c.onState = (s) => s === "ringing" && c.cancel();
    },
  );
  equal(call.state, "terminated");
  equal(call.endReason, "487 Request Terminated");
  await alice.close();
  await bob.close();
});

Deno.test("SipEndpoint stamps received and rport, answers malformed requests with 400 (RFC 3581 §4)", async () => {
  const server = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
  const seen = Promise.withResolvers<SipMessage>();
  server.onRequest = ({ request, transaction }) => {
    seen.resolve(request);
    transaction?.respond(createResponse(request, 200));
  };
  const sock = await UdpTransport.listen({ port: 0 });
  const replies: SipMessage[] = [];
  const got = Promise.withResolvers<void>();
  sock.onMessage = (m) => {
    replies.push(m);
    if (replies.length === 2) got.resolve();
  };
  const port = server.transports[0]!.port;
  // Sent-by claims another address and port: the reply must go to the real source.
  const req =
    `OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.200:9;rport;branch=z9hG4bKr1\r\n` +
    `From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: r1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nl: 0\r\n\r\n`;
  await sock.send(enc.encode(req), "127.0.0.1", port);
  const m = await seen.promise;
  const via = m.via()[0]!;
  equal(via.params.received, "127.0.0.1");
  equal(via.params.rport, String(sock.port));
  await sock.send(
    enc.encode(req.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE").replace("r1", "r2")),
    "127.0.0.1",
    port,
  );
  await got.promise;
  equal(replies[0]!.status, 200);
  equal(replies[1]!.status, 400);
  await sock.close();
  await server.close();
});

Deno.test("ProxyCore forks in parallel and returns the best response (RFC 3261 §16.7)", async () => {
  const mk = async (status: number) => {
    const ep = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
    ep.onRequest = ({ request, transaction }) => {
      if (request.method === "INVITE") {
        transaction?.respond(createResponse(request, status, { toTag: String(status) }));
      }
    };
    return ep;
  };
  const a = await mk(486);
  const b = await mk(404);
  const pep = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
  const targets = [a, b].map((e) => `sip:x@127.0.0.1:${e.transports[0]!.port}`);
  const proxy = new ProxyCore({
    endpoint: pep,
    isLocal: (u) => u.host === "example.com",
    locate: () => targets,
  });
  pep.onRequest = (r) => proxy.handle(r);
  pep.onStrayResponse = (r) => proxy.handleStray(r);
  const alice = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: "sip:alice@127.0.0.1",
    outboundProxy: `sip:127.0.0.1:${pep.transports[0]!.port}`,
  });
  const call = await alice.invite("sip:bob@example.com");
  equal(call.endReason, "404 Not Found");
  for (const e of [a, b, pep]) await e.close();
  await alice.close();
});

Deno.test("ProxyCore detects a loop with 482 (RFC 3261 §16.3 item 4)", async () => {
  const pep = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
  const self = `sip:x@127.0.0.1:${pep.transports[0]!.port}`;
  const proxy = new ProxyCore({
    endpoint: pep,
    isLocal: (u) => u.host === "example.com",
    locate: () => [self],
  });
  pep.onRequest = (r) => proxy.handle(r);
  pep.onStrayResponse = (r) => proxy.handleStray(r);
  const alice = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: "sip:alice@127.0.0.1",
    outboundProxy: `sip:127.0.0.1:${pep.transports[0]!.port}`,
  });
  const r = await alice.options("sip:bob@example.com");
  equal(r.status, 482);
  await pep.close();
  await alice.close();
});

Deno.test("ProxyCore double Record-Routes between UDP and TCP (RFC 5658 §4)", async () => {
  const pep = new SipEndpoint({
    transports: [await UdpTransport.listen({ port: 0 }), await TcpTransport.listen({ port: 0 })],
  });
  const bobEp = new SipEndpoint({ transports: [await TcpTransport.listen({ port: 0 })] });
  let routes: string[] = [];
  const bob = new UserAgent({
    endpoint: bobEp,
    aor: "sip:bob@127.0.0.1",
    onInvite: (c) => {
      routes = c.invite.values("Record-Route");
      c.accept("v=0\r\n");
    },
  });
  const target = `sip:bob@127.0.0.1:${bobEp.transports[0]!.port};transport=tcp`;
  const proxy = new ProxyCore({
    endpoint: pep,
    isLocal: (u) => u.host === "example.com",
    locate: () => [target],
  });
  pep.onRequest = (r) => proxy.handle(r);
  pep.onStrayResponse = (r) => proxy.handleStray(r);
  const alice = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: "sip:alice@127.0.0.1",
    outboundProxy: `sip:127.0.0.1:${pep.transports[0]!.port}`,
  });
  const call = await alice.invite("sip:bob@example.com", "v=0\r\n");
  equal(call.state, "established");
  deepEqual(routes, [
    `<sip:127.0.0.1:${pep.transports[1]!.port};transport=tcp;lr>`,
    `<sip:127.0.0.1:${pep.transports[0]!.port};lr>`,
  ]);
  // Alice's route set is the reverse: the UDP side first.
  deepEqual(call.dialog!.routeSet, [...routes].reverse());
  equal(await call.bye(), 200);
  await pep.close();
  await alice.close();
  await bob.close();
});

Deno.test("ProxyCore forks sequentially: the next target after a 486 (RFC 3261 §16.6)", async () => {
  const busy = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
  busy.onRequest = ({ request, transaction }) => {
    if (request.method === "INVITE") {
      transaction?.respond(createResponse(request, 486, { toTag: "b" }));
    }
  };
  const bob = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: "sip:bob@127.0.0.1",
    onInvite: (c) => c.accept("v=0\r\n"),
  });
  const targets = [busy, bob.endpoint].map((e) => `sip:bob@127.0.0.1:${e.transports[0]!.port}`);
  const pep = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
  const proxy = new ProxyCore({
    endpoint: pep,
    isLocal: (u) => u.host === "example.com",
    locate: () => targets,
    sequential: true,
  });
  pep.onRequest = (r) => proxy.handle(r);
  pep.onStrayResponse = (r) => proxy.handleStray(r);
  const alice = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: "sip:alice@127.0.0.1",
    outboundProxy: `sip:127.0.0.1:${pep.transports[0]!.port}`,
  });
  const call = await alice.invite("sip:bob@example.com", "v=0\r\n");
  equal(call.state, "established");
  equal(await call.bye(), 200);
  for (const e of [busy, pep]) await e.close();
  await alice.close();
  await bob.close();
});

Deno.test("ProxyCore Timer C cancels a branch that only rings (RFC 3261 §16.8)", async () => {
  const clock = new ManualClock();
  const bob = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: "sip:bob@127.0.0.1",
    onInvite: (c) => c.ringing(),
  });
  const target = `sip:bob@127.0.0.1:${bob.endpoint.transports[0]!.port}`;
  const pep = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })], clock });
  const proxy = new ProxyCore({
    endpoint: pep,
    isLocal: (u) => u.host === "example.com",
    locate: () => [target],
    timerC: 1000,
  });
  pep.onRequest = (r) => proxy.handle(r);
  pep.onStrayResponse = (r) => proxy.handleStray(r);
  const alice = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: "sip:alice@127.0.0.1",
    outboundProxy: `sip:127.0.0.1:${pep.transports[0]!.port}`,
  });
  const call = await alice.invite("sip:bob@example.com", undefined, (c) => {
    c.onState = (s) => s === "ringing" && clock.advance(1000);
  });
  equal(call.state, "terminated");
  equal(call.endReason, "487 Request Terminated");
  await pep.close();
  await alice.close();
  await bob.close();
});

Deno.test("UserAgent retries with Proxy-Authorization after 407 (RFC 3261 §22.3)", async () => {
  const { DigestServer } = await import("../rfc2617/mod.ts");
  const digest = new DigestServer({ realm: "example.com", algorithms: ["MD5"] });
  const server = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
  const seen: string[] = [];
  server.onRequest = async ({ request, transaction }) => {
    const auth = request.header("Proxy-Authorization");
    seen.push(auth ? "with credentials" : "without");
    const ok = auth !== undefined &&
      (await digest.verify(
        auth,
        { method: request.method!, uri: request.uri! },
        (u) => u === "alice" ? { password: "pw" } : undefined,
      )).ok;
    const r = createResponse(request, ok ? 200 : 407, { toTag: "t" });
    if (!ok) { for (const c of await digest.challenge()) r.add("Proxy-Authenticate", c); }
    transaction?.respond(r);
  };
  const alice = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: "sip:alice@example.com",
    password: "pw",
  });
  const r = await alice.options(`sip:127.0.0.1:${server.transports[0]!.port}`);
  equal(r.status, 200);
  deepEqual(seen, ["without", "with credentials"]);
  equal(r.cseq().seq, 2);
  await alice.close();
  await server.close();
});

Deno.test("ProxyCore propagates CANCEL downstream (RFC 3261 §16.10)", async () => {
  let bobCall: import("./mod.ts").Call | undefined;
  const bob = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: "sip:bob@127.0.0.1",
    onInvite: (c) => {
      bobCall = c;
      c.ringing();
    },
  });
  const target = `sip:bob@127.0.0.1:${bob.endpoint.transports[0]!.port}`;
  const pep = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
  const proxy = new ProxyCore({
    endpoint: pep,
    isLocal: (u) => u.host === "example.com",
    locate: () => [target],
  });
  pep.onRequest = (r) => proxy.handle(r);
  pep.onStrayResponse = (r) => proxy.handleStray(r);
  const alice = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: "sip:alice@127.0.0.1",
    outboundProxy: `sip:127.0.0.1:${pep.transports[0]!.port}`,
  });
  const call = await alice.invite("sip:bob@example.com", undefined, (c) => {
    c.onState = (s) => s === "ringing" && c.cancel();
  });
  equal(call.endReason, "487 Request Terminated");
  equal(await bobCall!.ended, "cancelled");
  await pep.close();
  await alice.close();
  await bob.close();
});

Deno.test("a stateless proxy forwards a call without transactions (RFC 3261 §16.11)", async () => {
  const bob = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: "sip:bob@127.0.0.1",
    onInvite: (c) => c.accept("v=0\r\n"),
  });
  const target = `sip:bob@127.0.0.1:${bob.endpoint.transports[0]!.port}`;
  const pep = new SipEndpoint({
    transports: [await UdpTransport.listen({ port: 0 })],
    stateless: true,
  });
  const proxy = new ProxyCore({
    endpoint: pep,
    isLocal: (u) => u.host === "example.com",
    locate: () => [target],
  });
  pep.onRequest = (r) => proxy.handle(r);
  pep.onStrayResponse = (r) => proxy.handleStray(r);
  const alice = new UserAgent({
    endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
    aor: "sip:alice@127.0.0.1",
    outboundProxy: `sip:127.0.0.1:${pep.transports[0]!.port}`,
  });
  const call = await alice.invite("sip:bob@example.com", "v=0\r\n");
  equal(call.state, "established");
  equal(await call.bye(), 200);
  deepEqual(pep.transactionCount, { client: 0, server: 0 });
  await pep.close();
  await alice.close();
  await bob.close();
});

// === RFC 3263 target resolution and failover ===

Deno.test("SipEndpoint locates servers by NAPTR/SRV and fails over to the next target (RFC 3263 §4.3)", async (t) => {
  const { DnsZone } = await import("../rfc1035/mod.ts");
  const { DnsResolver } = await import("../rfc1035/resolver.ts");
  const { serveDns } = await import("../rfc1035/server.ts");
  const deadUdp = await UdpTransport.listen({ host: "127.0.0.1", port: 0 });
  const deadUdpPort = deadUdp.port;
  await deadUdp.close();
  const deadTcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadTcpPort = deadTcp.addr.port;
  deadTcp.close();
  const live = new SipEndpoint({
    transports: [
      await UdpTransport.listen({ host: "127.0.0.1", port: 0 }),
      await TcpTransport.listen({ host: "127.0.0.1", port: 0 }),
    ],
  });
  const busy = new SipEndpoint({
    transports: [await UdpTransport.listen({ host: "127.0.0.1", port: 0 })],
  });
  const seen: string[] = [];
  live.onRequest = ({ request, transaction, source }) => {
    seen.push(`${source.transport.name} ${request.uri}`);
    transaction?.respond(createResponse(request, 200));
  };
  busy.onRequest = ({ request, transaction }) => transaction?.respond(createResponse(request, 503));
  const [liveUdp, liveTcp] = [live.transports[0]!.port, live.transports[1]!.port];
  const srv = (name: string, priority: number, port: number, target: string) => ({
    name,
    type: "SRV" as const,
    ttl: 60,
    data: { priority, weight: 0, port, target },
  });
  const naptr = (name: string, services: string, replacement: string) => ({
    name,
    type: "NAPTR" as const,
    ttl: 60,
    data: { order: 10, preference: 10, flags: "S", services, regexp: "", replacement },
  });
  const zone = new DnsZone([
    naptr("udp.test", "SIP+D2U", "_sip._udp.udp.test"),
    srv("_sip._udp.udp.test", 10, deadUdpPort, "dead.udp.test"),
    srv("_sip._udp.udp.test", 20, liveUdp, "live.udp.test"),
    naptr("busy.test", "SIP+D2U", "_sip._udp.busy.test"),
    srv("_sip._udp.busy.test", 10, busy.transports[0]!.port, "busy.busy.test"),
    srv("_sip._udp.busy.test", 20, liveUdp, "live.busy.test"),
    naptr("tcp.test", "SIP+D2T", "_sip._tcp.tcp.test"),
    srv("_sip._tcp.tcp.test", 10, deadTcpPort, "dead.tcp.test"),
    srv("_sip._tcp.tcp.test", 20, liveTcp, "live.tcp.test"),
    ...["dead.udp.test", "live.udp.test", "busy.busy.test", "live.busy.test", "dead.tcp.test"]
      .concat(["live.tcp.test"])
      .map((name) => ({ name, type: "A" as const, ttl: 60, data: "127.0.0.1" })),
  ]);
  await using dns = await serveDns({ zone, hostname: "127.0.0.1", port: 0 });
  const resolver = new DnsResolver({ servers: [`127.0.0.1:${dns.port}`], timeout: 1000 });
  const client = new SipEndpoint({
    transports: [
      await UdpTransport.listen({ host: "127.0.0.1", port: 0 }),
      await TcpTransport.listen({ host: "127.0.0.1", port: 0 }),
    ],
    dns: resolver,
    timers: { t1: 10, t2: 40, t4: 50 },
  });
  const options = (uri: string) =>
    new SipMessage({ method: "OPTIONS", uri })
      .add("From", "<sip:a@127.0.0.1>;tag=1").add("To", `<${uri}>`)
      .add("Call-ID", crypto.randomUUID()).add("CSeq", "1 OPTIONS");
  const send = async (req: SipMessage) => {
    const done = Promise.withResolvers<number>();
    await client.request(req, { onResponse: (r) => r.status >= 200 && done.resolve(r.status) });
    return await done.promise;
  };
  try {
    await t.step("targets() lists both SRV targets in priority order", async () => {
      deepEqual(await client.targets(options("sip:bob@udp.test")), [
        { transport: "UDP", host: "127.0.0.1", port: deadUdpPort },
        { transport: "UDP", host: "127.0.0.1", port: liveUdp },
      ]);
    });
    await t.step("a timeout (Timer F) at the first target moves on to the second", async () => {
      const req = options("sip:bob@udp.test");
      equal(await send(req), 200);
      equal(client.sentTarget(req)?.port, liveUdp);
      equal(seen.at(-1), "UDP sip:bob@udp.test");
    });
    await t.step("a 503 at the first target moves on to the second", async () => {
      const req = options("sip:bob@busy.test");
      equal(await send(req), 200);
      equal(client.sentTarget(req)?.port, liveUdp);
      equal(req.via().length, 1);
    });
    await t.step("a transport error (TCP refused) moves on to the second", async () => {
      const req = options("sip:bob@tcp.test");
      equal(await send(req), 200);
      deepEqual(client.sentTarget(req), { transport: "TCP", host: "127.0.0.1", port: liveTcp });
      equal(seen.at(-1), "TCP sip:bob@tcp.test");
    });
    await t.step("IP literals need no DNS", async () => {
      deepEqual(await client.targets(options(`sip:bob@127.0.0.1:${liveUdp}`)), [
        { transport: "UDP", host: "127.0.0.1", port: liveUdp },
      ]);
    });
  } finally {
    await client.close();
    await live.close();
    await busy.close();
  }
});

// === Formatting reuses unchanged lines ===

Deno.test("SipMessage.toString() and toBytes() reflect every change after reusing the formatted head", () => {
  const text =
    "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n" +
    "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: f1\r\n" +
    "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 4\r\n\r\nv=0\n";
  const m = parseMessage(text);
  const fresh = (x: SipMessage) =>
    new SipMessage({
      ...(x.isRequest
        ? { method: x.method!, uri: x.uri! }
        : { status: x.status, reason: x.reason }),
      headers: x.headers.map((h) => ({ ...h })),
      body: x.body.slice(),
    });
  const dec = new TextDecoder();
  const check = () => {
    const want = fresh(m).toString();
    equal(m.toString(), want);
    equal(dec.decode(m.toBytes()), want);
  };
  check();
  equal(m.toBytes(), m.toBytes()); // unchanged: the same array again
  m.headers[0]!.value += ";received=192.0.2.1";
  check();
  m.add("Via", "SIP/2.0/UDP proxy.example.com;branch=z9hG4bK2", true);
  check();
  m.popVia();
  check();
  m.set("Max-Forwards", "69");
  check();
  m.remove("Call-ID").add("Call-ID", "f2");
  check();
  m.headers[1] = { name: "From", value: "<sip:carol@example.com>;tag=9" };
  check();
  m.uri = "sip:bob@192.0.2.4";
  check();
  m.body = new TextEncoder().encode("v=0\r\ns=-\r\n");
  check();
  ok(m.toString().includes("Content-Length: 10\r\n"));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(20), fc.constantFrom("add", "set", "remove", "edit", "pop")), {
        maxLength: 12,
      }),
      (ops) => {
        for (const [k, op] of ops) {
          const names = ["Via", "Route", "X-A", "Contact", "Max-Forwards"];
          const name = names[k % names.length]!;
          const value = name === "Via" ? `SIP/2.0/UDP h${k};branch=z9hG4bK${k}` : `v${k}`;
          if (op === "add") m.add(name, value, k % 2 === 0);
          else if (op === "set") m.set(name, value);
          else if (op === "remove") m.remove(name);
          else if (op === "pop") m.popVia();
          else if (m.headers.length) m.headers[k % m.headers.length]!.value += `;e=${k}`;
          check();
        }
      },
    ),
    { numRuns: 100 },
  );
});

// === IPv6 torture cases (RFC 5118 §4) ===

/** A request of RFC 5118 §4 with the given Request-URI and extra header lines. */
const v6 = (ruri: string, extra = "", via = "SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111") =>
  `REGISTER ${ruri} SIP/2.0\r\nTo: sip:user@example.com\r\nFrom: sip:user@example.com;tag=81x2\r\n` +
  `Via: ${via}\r\nCall-ID: SSG9559905523997077@hlau_4100\r\nMax-Forwards: 70\r\n` +
  `Contact: "Caller" <sip:caller@[2001:db8::1]>\r\nCSeq: 98176 REGISTER\r\n${extra}Content-Length: 0\r\n\r\n`;

Deno.test("IPv6 in SIP: every RFC 5118 §4 case", async (t) => {
  const valid = (text: string) => {
    const m = parseMessage(text);
    validateMessage(m);
    return m;
  };
  await t.step("4.1 ipv6-good: a bracketed IPv6 Request-URI", () => {
    equal(parseUri(valid(v6("sip:[2001:db8::10]")).uri!).host, "[2001:db8::10]");
  });
  await t.step("4.2 ipv6-bad: an unbracketed IPv6 Request-URI is a 400 at message level", () => {
    throws(
      () => valid(v6("sip:2001:db8::10")),
      (e: unknown) =>
        e instanceof SipParseError && e.status === 400 && /Request-URI/.test(e.message),
    );
  });
  await t.step("4.3 port-ambiguous: [2001:db8::10:5070] is an address without a port", () => {
    const u = parseUri(valid(v6("sip:[2001:db8::10:5070]")).uri!);
    equal(u.host, "[2001:db8::10:5070]");
    equal(u.port, undefined);
  });
  await t.step("4.4 port-unambiguous: [2001:db8::10]:5070", () => {
    const u = parseUri(valid(v6("sip:[2001:db8::10]:5070")).uri!);
    equal(u.host, "[2001:db8::10]");
    equal(u.port, 5070);
  });
  await t.step("4.5 via-received-param-with-delim", () => {
    const m = valid(v6(
      "sip:[2001:db8::10]",
      "",
      "SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111",
    ));
    equal(m.via()[0]!.params.received, "[2001:db8::9:255]");
    equal(m.via()[0]!.host, "2001:db8::9:1");
  });
  await t.step("4.6 via-received-param-no-delim", () => {
    const m = valid(v6(
      "sip:[2001:db8::10]",
      "",
      "SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3-111",
    ));
    equal(m.via()[0]!.params.received, "2001:db8::9:255");
  });
  await t.step("4.7 ipv4 and ipv6 in one SDP body, 4.9 an IPv4-mapped IPv6 address", () => {
    const sdp = "v=0\r\no=bob 280744730 28977631 IN IP4 host.example.com\r\ns=\r\nt=0 0\r\n" +
      "m=audio 22334 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\nm=video 6024 RTP/AVP 0\r\n" +
      "c=IN IP6 ::ffff:192.0.2.2\r\n";
    const text = v6("sip:user@[::ffff:192.0.2.2]").replace("REGISTER", "INVITE")
      .replace("98176 REGISTER", "98176 INVITE")
      .replace(
        "Content-Length: 0",
        `Content-Type: application/sdp\r\nContent-Length: ${sdp.length}`,
      ) +
      sdp;
    const m = valid(text);
    equal(parseUri(m.uri!).host, "[::ffff:192.0.2.2]");
    equal(m.text, sdp);
  });
  await t.step("4.8 mult-ip-in-header: IPv4 and IPv6 addresses in Route and Contact lists", () => {
    const m = valid(v6(
      "sip:user@[2001:db8::10]",
      "Route: <sip:[2001:db8::1];lr>, <sip:192.0.2.1;lr>\r\n" +
        "Contact: <sip:caller@192.0.2.3>, <sip:caller@[2001:db8::12]:5070>\r\n",
    ));
    deepEqual(m.addresses("Route").map((a) => parseUri(a.uri).host), [
      "[2001:db8::1]",
      "192.0.2.1",
    ]);
    deepEqual(m.addresses("Contact").map((a) => parseUri(a.uri).host), [
      "[2001:db8::1]",
      "192.0.2.3",
      "[2001:db8::12]",
    ]);
  });
  await t.step("4.10 ipv6-bug-abnf-3-colons: [2001:db8:::192.0.2.1] is tolerated", () => {
    const ref = "[2001:db8:::192.0.2.1]";
    const m = valid(
      `OPTIONS sip:${ref} SIP/2.0\r\nTo: sip:${ref}\r\nFrom: sip:${ref};tag=810x2\r\n` +
        `Via: SIP/2.0/UDP ${ref};branch=z9hG4bKas3-111\r\nCall-ID: G9559905523997077@hlau_4100\r\n` +
        `CSeq: 689 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
    );
    equal(parseUri(m.uri!).host, ref);
    equal(parseUri(m.to().uri).host, ref);
    equal(parseUri("sip:[2001:db8::192.0.2.1]").host, "[2001:db8::192.0.2.1]");
    throws(() => parseUri("sip:[2001:db8::::192.0.2.1]"));
    throws(() => parseUri("sip:[2001:db8:::1]"));
  });
  await t.step(
    "an endpoint answers an unbracketed IPv6 Request-URI with 400, unseen by the UAS",
    async () => {
      const server = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
      let seen = false;
      server.onRequest = () => seen = true;
      const sock = await UdpTransport.listen({ port: 0 });
      const got = Promise.withResolvers<SipMessage>();
      sock.onMessage = (m) => got.resolve(m);
      const timer = setTimeout(() => got.reject(new Error("no response within 2 s")), 2000);
      await sock.send(
        enc.encode(
          v6("sip:2001:db8::10", "", `SIP/2.0/UDP 127.0.0.1:${sock.port};branch=z9hG4bK5118`),
        ),
        "127.0.0.1",
        server.transports[0]!.port,
      );
      try {
        equal((await got.promise).status, 400);
        equal(seen, false);
      } finally {
        clearTimeout(timer);
        await sock.close();
        await server.close();
      }
    },
  );
});

Deno.test("ProxyCore: every locally generated response carries exactly the caller's Via (RFC 3261 §16.7, §8.2.6.2)", async (t) => {
  // Host names do not resolve: a target in a foreign domain cannot be reached.
  const pep = new SipEndpoint({
    transports: [await UdpTransport.listen({ port: 0 })],
    resolve: (host) => Promise.resolve(/^[\d.]+$/.test(host) ? [host] : []),
  });
  const port = pep.transports[0]!.port;
  const silent = await UdpTransport.listen({ port: 0 }); // a target that never answers
  const bindings: Record<string, string[]> = {
    away: ["sip:bob@unresolvable.invalid"],
    self: [`sip:x@127.0.0.1:${port}`],
    x: [`sip:x@127.0.0.1:${port}`], // the request comes back: a loop
    mute: [`sip:m@127.0.0.1:${silent.port}`],
  };
  const proxy = new ProxyCore({
    endpoint: pep,
    isLocal: (u) => u.host === "example.com",
    locate: (u) => bindings[u.user ?? ""] ?? [],
    timerC: 300,
  });
  pep.onRequest = (r) => proxy.handle(r);
  pep.onStrayResponse = (r) => proxy.handleStray(r);
  const sock = await UdpTransport.listen({ port: 0 });
  const waiting = new Map<string, (m: SipMessage) => void>();
  const provisional: SipMessage[] = [];
  sock.onMessage = (m) => {
    if (m.status < 200) provisional.push(m);
    else waiting.get(m.callId())?.(m);
  };
  const cases: [string, string, string, number, string][] = [
    ["502 when the target cannot be resolved", "OPTIONS", "sip:away@example.com", 502, ""],
    ["482 for a loop through this proxy", "OPTIONS", "sip:self@example.com", 482, ""],
    ["480 for a user without bindings", "OPTIONS", "sip:nobody@example.com", 480, ""],
    ["200 for OPTIONS to the proxy's domain", "OPTIONS", "sip:example.com", 200, ""],
    ["416 for a tel: Request-URI", "OPTIONS", "tel:+15551234567", 416, ""],
    ["483 when Max-Forwards is 0", "MESSAGE", "sip:nobody@example.com", 483, "mf0"],
    ["420 for an unsupported Proxy-Require", "OPTIONS", "sip:x@example.com", 420, "pr"],
    ["408 from Timer C, after 100 Trying", "INVITE", "sip:mute@example.com", 408, ""],
    ["400 for a malformed request", "OPTIONS", "sip:x@example.com", 400, "bad"],
  ];
  try {
    for (const [name, method, ruri, status, variant] of cases) {
      await t.step(name, async () => {
        const callId = `via-${status}-${crypto.randomUUID()}`;
        const via = `SIP/2.0/UDP 127.0.0.1:${sock.port};branch=z9hG4bK-${callId}`;
        const text = `${method} ${ruri} SIP/2.0\r\nVia: ${via}\r\n` +
          `From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@example.com>\r\nCall-ID: ${callId}\r\n` +
          `CSeq: ${variant === "bad" ? "x" : "1"} ${method}\r\n` +
          `Max-Forwards: ${variant === "mf0" ? 0 : 70}\r\n` +
          (variant === "pr" ? "Proxy-Require: nope\r\n" : "") + "Content-Length: 0\r\n\r\n";
        const got = Promise.withResolvers<SipMessage>();
        waiting.set(callId, got.resolve);
        const timer = setTimeout(() => got.reject(new Error(`no ${status} within 3 s`)), 3000);
        try {
          await sock.send(enc.encode(text), "127.0.0.1", port);
          const r = await got.promise;
          equal(r.status, status);
          deepEqual(r.values("Via"), [via]);
          for (const p of provisional.filter((m) => m.callId() === callId)) {
            deepEqual(p.values("Via"), [via]);
          }
        } finally {
          clearTimeout(timer);
        }
      });
    }
    ok(provisional.some((m) => m.status === 100), "the INVITE was answered with 100 Trying");
  } finally {
    await sock.close();
    await silent.close();
    await pep.close();
  }
});

Deno.test("an empty header field is written back without a trailing space (RFC 3261 §7.3.1)", () => {
  const text = "OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKe1\r\n" +
    "From: <sip:a@b>;tag=1\r\nTo: <sip:x@example.com>\r\nCall-ID: e1\r\nCSeq: 1 OPTIONS\r\n" +
    "Supported:\r\nSubject:   \r\nContent-Length: 0\r\n\r\n";
  const m = parseMessage(text);
  equal(m.header("Supported"), "");
  m.add("Organization", "");
  const out = m.toString();
  ok(out.includes("\r\nSupported:\r\n"), out);
  ok(out.includes("\r\nSubject:\r\n"), out);
  ok(out.includes("\r\nOrganization:\r\n"), out);
  ok(!/ \r\n/.test(out), "no line ends in a space");
  equal(parseMessage(out).header("Supported"), "");
});
