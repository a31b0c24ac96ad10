// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  Address,
  formatAddress,
  parseAddress,
  parseAddressList,
  parseUri,
  percentDecode,
  percentEncode,
  quote,
  unquote,
  Uri,
  uriEquals,
  UriParseError,
  uriPort,
} from "./mod.ts";

function throwsParse(fn: () => unknown, offset?: number): void {
  throws(fn, (e: unknown) => {
    ok(e instanceof UriParseError, `expected UriParseError, got ${e}`);
    if (offset !== undefined) equal(e.offset, offset, e.message);
    return true;
  });
}

Deno.test("parseUri() reads the example SIP and SIPS URIs (RFC 3261 §19.1.3)", async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ["sip:alice@atlanta.com", { scheme: "sip", user: "alice", host: "atlanta.com" }],
    ["sip:alice:secretword@atlanta.com;transport=tcp", {
      user: "alice",
      password: "secretword",
      params: { transport: "tcp" },
    }],
    ["sips:alice@atlanta.com?subject=project%20x&priority=urgent", {
      scheme: "sips",
      headers: { subject: "project x", priority: "urgent" },
    }],
    ["sip:+1-212-555-1212:1234@gateway.com;user=phone", {
      user: "+1-212-555-1212",
      password: "1234",
      host: "gateway.com",
      params: { user: "phone" },
    }],
    ["sips:1212@gateway.com", { scheme: "sips", user: "1212" }],
    ["sip:alice@192.0.2.4", { host: "192.0.2.4" }],
    ["sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com", {
      user: undefined,
      host: "atlanta.com",
      params: { method: "REGISTER" },
      headers: { to: "alice@atlanta.com" },
    }],
    ["sip:alice;day=tuesday@atlanta.com", { user: "alice;day=tuesday", params: {} }],
  ];
  for (const [text, want] of cases) {
    await t.step(text, () => {
      const uri = parseUri(text);
      const json = uri.toJSON();
      for (const [k, v] of Object.entries(want)) deepEqual(json[k], v, k);
      equal(uri.toString(), text);
      ok(uri.equals(parseUri(uri.toString())));
    });
  }
});

Deno.test("uriEquals() follows the equivalence examples (RFC 3261 §19.1.4)", async (t) => {
  const equalSets = [
    ["sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"],
    [
      "sip:carol@chicago.com",
      "sip:carol@chicago.com;newparam=5",
      "sip:carol@chicago.com;security=on",
    ],
    [
      "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
      "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
    ],
    [
      "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
      "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
    ],
  ];
  for (const set of equalSets) {
    await t.step(`equal: ${set.join(" = ")}`, () => {
      for (const a of set) {
        for (const b of set) equal(uriEquals(parseUri(a), parseUri(b)), true, `${a} = ${b}`);
      }
    });
  }
  const differentPairs = [
    ["SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"],
    ["sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"],
    ["sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"],
    ["sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"],
    ["sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"],
    ["sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"],
    ["sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"],
    ["sip:alice@atlanta.com", "sips:alice@atlanta.com"],
    ["sip:alice@atlanta.com", "sip:atlanta.com"],
    ["sip:alice@atlanta.com", "sip:alice:pw@atlanta.com"],
    ["sip:alice@atlanta.com", "sip:alice@atlanta.com;maddr=239.255.255.1"],
    ["sip:alice@atlanta.com", "sip:alice@atlanta.com;user=ip"],
    ["sip:alice@atlanta.com", "sip:alice@atlanta.com;ttl=1"],
    ["sip:alice@atlanta.com", "sip:alice@atlanta.com;method=INVITE"],
    ["sip:alice@atlanta.com;lr", "sip:alice@atlanta.com;lr=on"],
  ];
  for (const [a, b] of differentPairs) {
    await t.step(`different: ${a} ≠ ${b}`, () => {
      equal(uriEquals(parseUri(a!), parseUri(b!)), false);
      equal(uriEquals(parseUri(b!), parseUri(a!)), false);
    });
  }
  await t.step("equality is not transitive", () => {
    const base = parseUri("sip:carol@chicago.com");
    ok(base.equals(parseUri("sip:carol@chicago.com;security=on")));
    ok(base.equals(parseUri("sip:carol@chicago.com;security=off")));
  });
});

Deno.test("parseUri() reads URI-related torture tests (RFC 4475 §3.1.1)", async (t) => {
  await t.step("esc01: escaped characters in user and parameters", () => {
    const ruri = parseUri("sip:sips%3Auser%40example.com@example.net");
    equal(ruri.user, "sips:user@example.com");
    equal(ruri.host, "example.net");
    equal(ruri.toString(), "sip:sips%3Auser%40example.com@example.net");
    equal(parseAddress("sip:%75se%72@example.com").uri.user, "user");
    equal(parseAddress("<sip:I%20have%20spaces@example.net>;tag=938").uri.user, "I have spaces");
    const c = parseAddress("<sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>");
    equal(c.uri.user, "caller");
    deepEqual([...c.uri.params], [["lr", null], ["name", "value%41"]]);
    // "value%41" is not "valueA": escapes are decoded once.
    ok(!c.uri.equals(parseUri("sip:caller@host5.example.net;lr;name=valueA")));
    ok(c.uri.equals(parseUri(c.uri.toString())));
  });
  await t.step("escnull: escaped nulls stay in the user", () => {
    const to = parseAddress("sip:null-%00-null@example.com");
    equal(to.uri.user, "null-\0-null");
    equal(to.uri.toString(), "sip:null-%00-null@example.com");
    const a = parseAddress("<sip:%00@host5.example.com>").uri;
    const b = parseAddress("<sip:%00%00@host5.example.com>").uri;
    equal(a.user, "\0");
    equal(b.user, "\0\0");
    ok(!a.equals(b));
  });
  await t.step('esc02: "%" in a display name is not an escape', () => {
    equal(parseAddress('"%Z%45" <sip:resource@example.com>').displayName, "%Z%45");
  });
  await t.step("lwsdisp: no LWS between display name and <", () => {
    const from = parseAddress("caller<sip:caller@example.com>;tag=323");
    equal(from.displayName, "caller");
    equal(from.params.get("tag"), "323");
  });
  await t.step("semiuri: semicolon-separated parameters in the user part", () => {
    const uri = parseUri("sip:user;par=u%40example.net@example.com");
    equal(uri.user, "user;par=u@example.net");
    equal(uri.params.size, 0);
  });
  await t.step("intmeth: unusual characters", () => {
    const text = "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*" +
      ":&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com";
    const uri = parseUri(text);
    equal(uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    equal(uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    equal(uri.host, "example.com");
    equal(uri.toString(), text);
    const to = parseAddress(
      '"BEL:\\\x07 NUL:\\\0 DEL:\\\x7f" <sip:1_unusual.URI~(to-be!sure)&isn\'t+it$/crazy?,/;;*@example.com>',
    );
    equal(to.displayName, "BEL:\x07 NUL:\0 DEL:\x7f");
    equal(to.uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    const from = parseAddress(
      "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=" +
        '"работающий";tag=_token~1\'+`*%!-.',
    );
    equal(from.displayName, "token1~` token2'+_ token3*%!.-");
    equal(from.params.get("fromparam''~+*_!.-%"), '"работающий"');
    equal(from.params.get("tag"), "_token~1'+`*%!-.");
    deepEqual(parseAddress(from.toString()), from);
  });
  await t.step("wsinv: whitespace around parameters, escaped quotes", () => {
    const to = parseAddress("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n");
    equal(to.uri.host, "chair-dnrc.example.com");
    equal(to.params.get("tag"), "1918181833n");
    equal(to.nameAddr, false);
    const from = parseAddress(
      '"J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8',
    );
    equal(from.displayName, 'J Rosenberg \\"');
    equal(from.params.get("tag"), "98asjd8");
    const route = parseAddress("<sip:services.example.com;lr;unknownwith=value;unknown-no-value>");
    deepEqual([...route.uri.params], [
      ["lr", null],
      ["unknownwith", "value"],
      ["unknown-no-value", null],
    ]);
    const m = parseAddress(
      '"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\n      newvalue ;\n  secondparam ; q = 0.33',
    );
    equal(m.displayName, 'Quoted string ""');
    deepEqual([...m.params], [["newparam", "newvalue"], ["secondparam", null], ["q", "0.33"]]);
  });
  await t.step("unknown-scheme URIs (RFC 4475 §3.3.2-3.3.4)", () => {
    equal(parseUri("nobodyKnowsThisScheme:totallyopaquecontent").opaque, "totallyopaquecontent");
    const novel = parseUri("soap.beep://192.0.2.103:3002");
    equal(novel.scheme, "soap.beep");
    equal(novel.toString(), "soap.beep://192.0.2.103:3002");
    equal(parseAddress("isbn:2983792873").uri.opaque, "2983792873");
    const from = parseAddress("<http://www.example.com>;tag=3234233");
    equal(from.uri.scheme, "http");
    equal(from.params.get("tag"), "3234233");
    equal(parseAddress("<name:John_Smith>").uri.toString(), "name:John_Smith");
  });
  await t.step("cparam01/02: contact-params vs url-params (RFC 4475 §3.3.12-13)", () => {
    const a = parseAddress("sip:+19725552222@gw1.example.net;unknownparam");
    equal(a.uri.params.size, 0);
    ok(a.params.has("unknownparam"));
    const b = parseAddress("<sip:+19725552222@gw1.example.net;unknownparam>");
    ok(b.uri.params.has("unknownparam"));
    equal(b.params.size, 0);
  });
  await t.step("regescrt: escaped header in a Contact URI (RFC 4475 §3.3.14)", () => {
    const m = parseAddress("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>");
    equal(m.uri.headers.get("Route"), "<sip:sip.example.com>");
    equal(m.toString(), "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>");
  });
});

Deno.test("parsers reject invalid torture tests (RFC 4475 §3.1.2)", async (t) => {
  await t.step("quotbal: unterminated quoted string", () => {
    throwsParse(() => parseAddress('"Mr. J. User <sip:j.user@example.com>'), 0);
  });
  await t.step("ltgtruri: <> around a Request-URI", () => {
    throwsParse(() => parseUri("<sip:user@example.com>"), 0);
  });
  await t.step("lwsruri: embedded LWS", () => {
    throwsParse(() => parseUri("sip:user@example.com; lr"), 21);
  });
  await t.step("regbadct: URI with headers outside <>", () => {
    throwsParse(() => parseAddress("sip:user@example.com?Route=%3Csip:sip.example.com%3E"), 20);
  });
  await t.step("badaspec: spaces within addr-spec", () => {
    throwsParse(() => parseAddress('"Watson, Thomas" < sip:t.watson@example.org >'));
  });
  await t.step("baddn: non-token characters in display name", () => {
    throwsParse(() => parseAddress("Bell, Alexander <sip:a.g.bell@example.com>;tag=43"), 4);
    throwsParse(() => parseAddress("Watson, Thomas <sip:t.watson@example.org>"));
  });
  await t.step("escruri: headers in a URI are parsed, for the SIP layer to refuse", () => {
    equal(parseUri("sip:user@example.com?Route=%3Csip:example.com%3E").headers.size, 1);
  });
});

Deno.test("parseUri() checks hosts, ports, escapes and parameters (RFC 3261 §25.1)", async (t) => {
  await t.step("IPv6 references", () => {
    for (
      const host of [
        "[::1]",
        "[2001:db8::1]",
        "[::]",
        "[1:2:3:4:5:6:7:8]",
        "[::ffff:192.0.2.1]",
        "[2001:DB8:0:0:8:800:200C:417A]",
        "[1::]",
      ]
    ) {
      const uri = parseUri(`sip:alice@${host}:5061;maddr=${host}`);
      equal(uri.host, host);
      equal(uri.port, 5061);
      equal(uri.params.get("maddr"), host);
    }
    for (
      const host of [
        "[::1",
        "[1:2:3:4:5:6:7]",
        "[1:2:3:4:5:6:7:8:9]",
        "[1::2::3]",
        "[12345::]",
        "[:1]",
        "[1:]",
        "[g::]",
        "[::1.2.3]",
        "[]",
      ]
    ) throwsParse(() => parseUri(`sip:alice@${host}`), 10);
  });
  await t.step("hostnames and IPv4 addresses", () => {
    for (const host of ["a.b", "example.com.", "x", "a-b.c-d.e", "192.0.2.1", "1.example.com"]) {
      equal(parseUri(`sip:${host}`).host, host);
    }
    for (const host of ["-a.com", "a-.com", "a..b", "1.2.3", "1.2.3.256", "example.123", ""]) {
      throwsParse(() => parseUri(`sip:${host}`), 4);
    }
    throwsParse(() => parseUri("sip:a_b.com"), 5);
  });
  await t.step("ports", () => {
    equal(parseUri("sip:a.com:0").port, 0);
    equal(parseUri("sip:a.com:65535").port, 65535);
    throwsParse(() => parseUri("sip:a.com:65536"), 10);
    throwsParse(() => parseUri("sip:a.com:"), 10);
    throwsParse(() => parseUri("sip:a.com:x"), 10);
  });
  await t.step("escapes", () => {
    throwsParse(() => parseUri("sip:a%4@b.com"), 5);
    throwsParse(() => parseUri("sip:a%zz@b.com"), 5);
    throwsParse(() => parseUri("sip:%ff@b.com"), 4);
    equal(parseUri("sip:%C3%A9@b.com").user, "é");
    equal(new Uri({ user: "é", host: "b.com" }).toString(), "sip:%C3%A9@b.com");
    equal(new Uri({ user: "😀", host: "b.com" }).toString(), "sip:%F0%9F%98%80@b.com");
  });
  await t.step("userinfo and parameters", () => {
    throwsParse(() => parseUri("sip:@b.com"), 4);
    throwsParse(() => parseUri("sip:a:b:c@b.com"), 7);
    throwsParse(() => parseUri("sip:a@b.com;x=1;X=2"), 16);
    throwsParse(() => parseUri("sip:a@b.com;=1"), 12);
    throwsParse(() => parseUri("sip:a@b.com;x="), 14);
    throwsParse(() => parseUri("sip:a@b.com;ttl=abc"), 16);
    throwsParse(() => parseUri("sip:a@b.com?x"), 13);
    throwsParse(() => parseUri("sip:a@b.com?=1"), 12);
    deepEqual([...parseUri("sip:a@b.com?x=&y=1").headers], [["x", ""], ["y", "1"]]);
    throwsParse(() => parseUri("sip:a@b.com>"), 11);
  });
  await t.step("schemes", () => {
    throwsParse(() => parseUri(""), 0);
    throwsParse(() => parseUri("sip"), 3);
    throwsParse(() => parseUri("1sip:a"), 0);
    throwsParse(() => parseUri("http:"), 5);
    throwsParse(() => parseUri("http://a b"), 8);
    equal(parseUri("SIPS:a.com").scheme, "sips");
    equal(parseUri("mailto:watson@bell-telephone.com").opaque, "watson@bell-telephone.com");
    equal(parseUri("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6").scheme, "urn");
  });
  await t.step("tel URIs", () => {
    const tel = parseUri("tel:+358-555-1234567;postd=pp22");
    equal(tel.user, "+358-555-1234567");
    equal(tel.params.get("postd"), "pp22");
    equal(tel.toString(), "tel:+358-555-1234567;postd=pp22");
    ok(tel.equals(parseUri("tel:+358-555-1234567;POSTD=PP22")));
    ok(
      parseUri("tel:+358-555-1234567;postd=pp22;isub=1411").equals(
        parseUri("tel:+358.555.1234567;isub=1411;postd=pp22"),
      ),
    );
    ok(!tel.equals(parseUri("tel:+358-555-1234568;postd=pp22")));
    throwsParse(() => parseUri("tel:+1 555"), 4);
    // Converted to SIP (RFC 3261 §19.1.6), the parameters stay in the user part.
    const sip = parseUri("sip:+358-555-1234567;postd=pp22@foo.com;user=phone");
    equal(sip.user, "+358-555-1234567;postd=pp22");
    ok(!sip.equals(parseUri("sip:+358-555-1234567;POSTD=PP22@foo.com;user=phone")));
  });
  await t.step("default ports", () => {
    equal(uriPort(parseUri("sip:a.com")), 5060);
    equal(uriPort(parseUri("sip:a.com;transport=TLS")), 5061);
    equal(uriPort(parseUri("sips:a.com")), 5061);
    equal(uriPort(parseUri("sips:a.com:5000")), 5000);
  });
});

Deno.test("formatAddress() encloses addr-specs with , ; ? in <> (RFC 3261 §20.10)", () => {
  const plain = new Address({ uri: parseUri("sip:a@b.com"), nameAddr: false });
  equal(formatAddress(plain), "sip:a@b.com");
  plain.params.set("tag", "x");
  equal(formatAddress(plain), "sip:a@b.com;tag=x");
  for (const u of ["sip:a@b.com;lr", "sip:a@b.com?x=y", "sip:a,b@b.com"]) {
    const a = new Address({ uri: parseUri(u), nameAddr: false });
    equal(formatAddress(a), `<${u}>`);
    deepEqual(parseAddress(formatAddress(a)).uri, a.uri);
  }
  equal(
    new Address({ displayName: "", uri: parseUri("sip:a@b.com") }).toString(),
    '"" <sip:a@b.com>',
  );
  equal(parseAddress('"" <sip:a@b.com>').displayName, "");
  throws(
    () => new Address({ displayName: "a\r\nb", uri: parseUri("sip:a@b") }).toString(),
    RangeError,
  );
});

Deno.test("parseAddressList() splits Contact and Route values (RFC 3261 §20.10)", () => {
  const list = parseAddressList(
    '"Mr. Watson" <sip:watson@worcester.bell-telephone.com>\r\n   ;q=0.7; expires=3600,\r\n' +
      '   "Mr. Watson" <mailto:watson@bell-telephone.com> ;q=0.1',
  );
  equal(list.length, 2);
  equal(list[0]!.params.get("expires"), "3600");
  equal(list[1]!.uri.opaque, "watson@bell-telephone.com");
  const routes = parseAddressList("<sip:p1.example.com;lr>,<sip:p2.example.com;lr>, sip:p3.x.com");
  deepEqual(routes.map((r) => r.uri.host), ["p1.example.com", "p2.example.com", "p3.x.com"]);
  throwsParse(() => parseAddressList("<sip:a@b>,"), 10);
  throwsParse(() => parseAddress("<sip:a@b>, <sip:c@d>"), 9);
  throwsParse(() => parseAddress("<sip:a@b"), 0);
  throwsParse(() => parseAddress("<sip:a@b>;tag=1;tag=2"), 16);
  throwsParse(() => parseAddress("<sip:a@b>;tag="), 14);
  throwsParse(() => parseAddress("<sip:a@b>;"), 10);
  throwsParse(() => parseAddress("<sip:a@b> x"), 10);
});

Deno.test("percentEncode(), percentDecode(), quote() and unquote() are inverse", () => {
  equal(percentEncode("a b;c", "user"), "a%20b;c");
  equal(percentEncode("a b;c", "param"), "a%20b%3Bc");
  equal(percentEncode("a:b@c", "password"), "a%3Ab%40c");
  equal(percentEncode("<sip:x>", "header"), "%3Csip:x%3E");
  equal(percentDecode("%3csip:x%3E"), "<sip:x>");
  throwsParse(() => percentDecode("%"), 0);
  equal(unquote(quote('a"b\\c\td\0')), 'a"b\\c\td\0');
});

// === Property tests ===

const text = fc.string({ unit: "binary", maxLength: 12 });
const nonEmpty = fc.string({ unit: "binary", minLength: 1, maxLength: 12 });
const host = fc.oneof(
  fc.domain().filter((d) => /[a-z]/i.test(d.split(".").pop()![0]!)),
  fc.ipV4(),
  fc.ipV6().map((a) => `[${a}]`),
);
const paramName = nonEmpty.map((s) => s.toLowerCase()).filter((s) =>
  s.length > 0 && s !== "ttl" && s.toLowerCase() === s
);
const params = fc.uniqueArray(fc.tuple(paramName, fc.option(nonEmpty, { nil: null })), {
  selector: (p) => p[0],
  maxLength: 4,
}).map((a) => new Map(a));

const sipUri = fc.record({
  scheme: fc.constantFrom("sip", "sips"),
  user: fc.option(nonEmpty, { nil: undefined }),
  password: fc.option(text, { nil: undefined }),
  host,
  port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
  params,
  headers: fc.uniqueArray(fc.tuple(nonEmpty, text), { selector: (h) => h[0], maxLength: 3 })
    .map((a) => new Map(a)),
}).map((r) => new Uri({ ...r, password: r.user === undefined ? undefined : r.password }));

const otherUri = fc.oneof(
  fc.constantFrom(
    "tel:+1-201-555-0123;ext=1234",
    "http://www.example.com/a;b?c=d#e",
    "mailto:watson@bell-telephone.com",
    "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
  ).map(parseUri),
);

const token = fc.stringMatching(/^[A-Za-z0-9\-.!%*_+`'~]{1,8}$/);
const address = fc.record({
  displayName: fc.option(
    fc.string({ unit: "binary", maxLength: 10 }).filter((s) => !/[\r\n]/.test(s)),
    {
      nil: undefined,
    },
  ),
  uri: fc.oneof(sipUri, otherUri),
  params: fc.uniqueArray(
    fc.tuple(
      token.map((t) => t.toLowerCase()),
      fc.option(
        fc.oneof(token, fc.string({ maxLength: 8 }).filter((s) => !/[\r\n]/.test(s)).map(quote)),
        {
          nil: null,
        },
      ),
    ),
    { selector: (p) => p[0], maxLength: 3 },
  ).map((a) => new Map(a)),
  nameAddr: fc.boolean(),
}).map((r) => new Address(r));

Deno.test("parseUri(formatUri(x)) equals x (property)", () => {
  fc.assert(
    fc.property(fc.oneof(sipUri, otherUri), (uri) => {
      const back = parseUri(uri.toString());
      deepEqual(back, uri);
      ok(back.equals(uri));
    }),
    { numRuns: 400 },
  );
});

Deno.test("parseAddress(formatAddress(x)) equals x (property)", () => {
  fc.assert(
    fc.property(address, (a) => {
      const text = formatAddress(a);
      const back = parseAddress(text);
      const forced = a.displayName !== undefined || /[,;?]/.test(a.uri.toString());
      deepEqual(back, new Address({ ...a, nameAddr: a.nameAddr || forced }));
      deepEqual(parseAddressList(`${text} ,${text}`).length, 2);
    }),
    { numRuns: 300 },
  );
});

Deno.test("parsers throw only UriParseError on random input (property)", () => {
  const noise = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: fc.constantFrom(...'sip:@;=?&<>"\\[]%:.,a1 '), maxLength: 30 }),
    fc.tuple(fc.oneof(sipUri, otherUri), fc.nat(), fc.string({ maxLength: 3 })).map(([u, i, s]) => {
      const t = u.toString();
      const at = i % (t.length + 1);
      return t.slice(0, at) + s + t.slice(at);
    }),
  );
  fc.assert(
    fc.property(noise, (s) => {
      for (const fn of [parseUri, parseAddress, parseAddressList]) {
        try {
          fn(s);
        } catch (e) {
          if (!(e instanceof UriParseError)) throw e;
          ok(typeof e.offset === "number" && e.offset >= 0 && e.offset <= s.length);
        }
      }
    }),
    { numRuns: 1000 },
  );
});
