// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  escapeAttribute,
  escapeText,
  parseXml,
  serialize,
  startTag,
  XmlElement,
  XmlLimitError,
  type XmlNode,
  XmlParseError,
  XmlPushParser,
  XmlRestrictedError,
  type XmlStreamEvent,
} from "./mod.ts";

type Plain = { name: string; attrs: [string, string][]; children: (Plain | string)[] };

function plain(e: XmlElement): Plain {
  return {
    name: e.name,
    attrs: [...e.attributes],
    children: e.children.map((c) => typeof c === "string" ? c : plain(c)),
  };
}

function plainEvents(events: XmlStreamEvent[]): unknown[] {
  return events.map((e) =>
    e.type === "open"
      ? { open: plain(e.root) }
      : e.type === "element"
      ? { element: plain(e.element) }
      : e
  );
}

const STREAM_NS = "http://etherx.jabber.org/streams";

Deno.test("parseXml() reads entities, CDATA, comments, PIs and the XML declaration", () => {
  const root = parseXml(
    '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<!-- c -->\n' +
      "<?app data?>\n<!DOCTYPE r>\n" +
      "<r a='x &quot;y&quot; &#65;&#x1F600;' b=\"1\r\n2\t3&#10;\">" +
      "one\r\ntwo\r<![CDATA[<&>]]><!-- inside --><?pi?>&lt;&gt;&amp;&apos;&quot;</r>\n<!-- end -->",
  );
  equal(root.attr("a"), 'x "y" A\u{1F600}');
  equal(root.attr("b"), "1 2 3\n");
  deepEqual(root.children, ["one\ntwo\n<&><>&'\""]);
});

Deno.test("parseXml() resolves namespaces (Namespaces in XML §6)", () => {
  const root = parseXml(
    '<a xmlns="urn:default" xmlns:p="urn:p"><p:b p:x="1" y="2"><c xmlns=""/><p:d xmlns:p="urn:q"/>' +
      '<e xml:lang="en"/></p:b></a>',
  );
  equal(root.namespace, "urn:default");
  const b = root.child("b", "urn:p")!;
  equal(b.prefix, "p");
  equal(b.localName, "b");
  equal(b.attr("x", "urn:p"), "1");
  equal(b.attr("y", "urn:p"), undefined);
  equal(b.attr("y"), "2");
  equal(b.child("c")!.namespace, "");
  equal(b.child("d")!.namespace, "urn:q");
  equal(b.child("d", "urn:p"), undefined);
  equal(b.child("e")!.attr("lang", "http://www.w3.org/XML/1998/namespace"), "en");
  equal(root.find("b/e")?.namespace, "urn:default");
  equal(root.elements().length, 1);
});

Deno.test("parseXml() rejects malformed XML with XmlParseError at the right offset", async (t) => {
  const cases: [string, number][] = [
    ["", 0],
    ["<a>", 3],
    ["<a></b>", 3],
    ["<a><b></a>", 6],
    ["text<a/>", 0],
    ["<a/>text", 4],
    ["<a/><b/>", 4],
    ['<a x="1" x="2"/>', 9],
    ["<a x=1/>", 5],
    ['<a x="<"/>', 5],
    ["<a>&unknown;</a>", 3],
    ["<a>&#0;</a>", 3],
    ["<a>&#xD800;</a>", 3],
    ["<a>& b</a>", 3],
    ["<a>]]></a>", 3],
    ["<a>\u0001</a>", 3],
    ["<p:a/>", 0],
    ['<a xmlns:p=""/>', 0],
    ['<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>', 0],
    ["<a><!-- a -- b --></a>", 3],
    ['<a/><?xml version="1.0"?>', 4],
    [' <?xml version="1.0"?><a/>', 1],
    ['<?xml version="1.0" encoding="ISO-8859-1"?><a/>', 0],
    ["<!DOCTYPE a [<!ENTITY x 'y'>]><a/>", 0],
    ["<a:b:c/>", 0],
    ["<1a/>", 1],
    ["<a b/>", 4],
    ["<a><![CDATA[x</a>", 3],
  ];
  for (const [input, offset] of cases) {
    await t.step(JSON.stringify(input), () => {
      throws(
        () => parseXml(input),
        (e) => e instanceof XmlParseError && e.offset === offset,
      );
    });
  }
});

Deno.test("parseXml() decodes UTF-8 bytes, strips a BOM and rejects invalid UTF-8", () => {
  const bytes = new TextEncoder().encode("\uFEFF<a>\u00e9\u{1F600}</a>");
  equal(parseXml(bytes).text, "\u00e9\u{1F600}");
  throws(
    () => parseXml(new Uint8Array([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e])),
    XmlParseError,
  );
  throws(() => parseXml(new Uint8Array([0x3c, 0x61, 0x2f, 0x3e, 0xc3])), XmlParseError);
});

Deno.test("restricted mode rejects comments, PIs, DTDs and entities (RFC 6120 §11.1)", () => {
  for (const s of ["<a><!-- x --></a>", "<a><?pi x?></a>", "<!DOCTYPE a><a/>", "<a>&nbsp;</a>"]) {
    throws(() => parseXml(s, { restricted: true }), XmlRestrictedError, s);
  }
  equal(parseXml('<?xml version="1.0"?><a>&amp;</a>', { restricted: true }).text, "&");
});

Deno.test("limits: depth, stanza size and attribute count throw XmlLimitError", () => {
  throws(() => parseXml("<a><b><c/></b></a>", { maxDepth: 2 }), XmlLimitError);
  equal(parseXml("<a><b/></a>", { maxDepth: 2 }).elements().length, 1);
  throws(() => parseXml('<a x="1" y="2"/>', { maxAttributes: 1 }), XmlLimitError);
  throws(() => parseXml("<a>0123456789</a>", { maxStanzaSize: 10 }), XmlLimitError);
  const p = new XmlPushParser({ maxStanzaSize: 100 });
  p.push("<stream>");
  p.push(`<message>${"x".repeat(60)}</message>`);
  throws(() => p.push(`<message>${"x".repeat(120)}`), XmlLimitError);
  // Once failed, the parser keeps failing.
  throws(() => p.push("</message>"), XmlLimitError);
  const q = new XmlPushParser({ maxStanzaSize: 100 });
  q.push("<stream><message ");
  throws(() => {
    for (let i = 0; i < 50; i++) q.push(' a="1"');
  }, XmlLimitError);
  const r = new XmlPushParser({ maxStanzaSize: 100 });
  throws(() => r.push("<stream" + " ".repeat(200)), XmlLimitError);
});

Deno.test("serialize() escapes and pretty-prints; startTag() opens a stream", () => {
  const e = new XmlElement("a", { x: 'q"<&>\t\n\r' }, ["t<&>\r\n", new XmlElement("b")]);
  const text = serialize(e);
  equal(text, '<a x="q&quot;&lt;&amp;&gt;&#9;&#10;&#13;">t&lt;&amp;&gt;&#13;\n<b/></a>');
  deepEqual(plain(parseXml(text)), plain(e));
  equal(
    serialize(parseXml("<a> <b><c>x</c></b> <d>m<e/>n</d></a>"), {
      indent: "\t",
      declaration: true,
    }),
    '<?xml version="1.0" encoding="UTF-8"?>\n<a>\n\t<b>\n\t\t<c>x</c>\n\t</b>\n\t<d>m<e/>n</d>\n</a>',
  );
  equal(
    startTag(new XmlElement("stream:stream", { "xmlns:stream": STREAM_NS, to: "example.com" })),
    `<stream:stream xmlns:stream="${STREAM_NS}" to="example.com">`,
  );
  throws(() => escapeText("\u0000"), TypeError);
  throws(() => escapeAttribute("\uFFFF"), TypeError);
  throws(() => new XmlElement("a b"), TypeError);
  throws(() => new XmlElement("a", { "x:y:z": "1" }), TypeError);
});

Deno.test("XmlElement editing keeps parents consistent", () => {
  const a = new XmlElement("a", { xmlns: "urn:a" });
  const b = new XmlElement("b");
  a.append(b, "text");
  equal(b.parent, a);
  equal(b.namespace, "urn:a");
  const c = new XmlElement("c").append(b);
  equal(a.elements().length, 0);
  equal(b.parent, c);
  equal(b.namespace, "");
  c.text = "replaced";
  equal(b.parent, undefined);
  deepEqual(c.children, ["replaced"]);
  deepEqual(new XmlElement("body", new Map([["a", "1"]]), "hi").children, ["hi"]);
  a.setAttr("xmlns", undefined).setAttr("id", "1");
  deepEqual([...a.attributes], [["id", "1"]]);
  equal(a.toString(), '<a id="1">text</a>');
});

const XMPP_STREAM = "<?xml version='1.0'?>" +
  "<stream:stream to='example.com' xmlns='jabber:client' xmlns:stream='" + STREAM_NS +
  "' version='1.0'>\n" +
  "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" +
  "</stream:features> \n" +
  "<message from='juliet@example.com/balcony' to='romeo@example.net' xml:lang='en'>" +
  "<body>Wherefore art thou, Romeo? \u00e9\u{1F600} &amp; &#x263A;</body></message>\n" +
  "<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>" +
  "</stream:stream>";

Deno.test("XmlPushParser emits open, each first-level element and close (RFC 6120 §4.2, §4.4)", () => {
  const p = new XmlPushParser({ restricted: true });
  const events = [...p.push(XMPP_STREAM), ...p.end()];
  deepEqual(events.map((e) => e.type), ["open", "element", "element", "element", "close"]);
  const [open, features, message, iq] = events;
  ok(open?.type === "open");
  equal(open.root.localName, "stream");
  equal(open.root.namespace, STREAM_NS);
  equal(open.root.children.length, 0);
  ok(features?.type === "element");
  equal(features.element.namespace, STREAM_NS);
  ok(features.element.child("starttls", "urn:ietf:params:xml:ns:xmpp-tls")?.child("required"));
  ok(message?.type === "element");
  equal(message.element.namespace, "jabber:client");
  equal(
    message.element.childText("body", "jabber:client"),
    "Wherefore art thou, Romeo? \u00e9\u{1F600} & \u263A",
  );
  ok(iq?.type === "element");
  equal(iq.element.child("query")?.namespace, "jabber:iq:roster");
});

Deno.test("XmlPushParser gives the same events for every split of the bytes", () => {
  const bytes = new TextEncoder().encode(XMPP_STREAM);
  const whole = new XmlPushParser();
  const expected = plainEvents([...whole.push(bytes), ...whole.end()]);
  for (let i = 0; i <= bytes.length; i++) {
    const p = new XmlPushParser();
    const got = [...p.push(bytes.subarray(0, i)), ...p.push(bytes.subarray(i)), ...p.end()];
    deepEqual(plainEvents(got), expected, `split at ${i}`);
  }
  // One byte at a time.
  const p = new XmlPushParser();
  const got: XmlStreamEvent[] = [];
  for (const b of bytes) got.push(...p.push(new Uint8Array([b])));
  got.push(...p.end());
  deepEqual(plainEvents(got), expected);
});

Deno.test("XmlPushParser reports text, resets for a stream restart and checks the end", () => {
  const p = new XmlPushParser();
  deepEqual(p.push("<s>a&amp;").map((e) => e.type), ["open"]);
  deepEqual(plainEvents(p.push("b<x/>")), [{ type: "text", text: "a&b" }, {
    element: { name: "x", attrs: [], children: [] },
  }]);
  throws(() => p.end(), XmlParseError);
  p.reset();
  deepEqual(p.push("<?xml version='1.0'?><s/>").map((e) => e.type), ["open", "close"]);
  deepEqual(p.end(), []);
  throws(() => p.push("<t/>"), XmlParseError);
  p.reset();
  throws(() => p.push("\uFEFF<s>"), XmlParseError); // RFC 6120 §11.6: no byte order mark
});

// === Property tests ===

const NAMES = ["a", "b", "body", "p:item", "x-y", "\u00e9l\u00e9ment", "p:q.1"];
const textChar = fc.constantFrom(
  "a",
  "z",
  " ",
  "\t",
  "\n",
  "\r",
  "<",
  ">",
  "&",
  '"',
  "'",
  "]",
  "\u00e9",
  "\u{1F600}",
  "\uFFFD",
);
const textArb = fc.string({ unit: textChar, maxLength: 12 });

const elementArb: fc.Arbitrary<XmlElement> = fc.letrec<{ el: XmlElement }>((tie) => ({
  el: fc.record({
    name: fc.constantFrom(...NAMES),
    attrs: fc.dictionary(fc.constantFrom("id", "to", "p:x", "xml:lang"), textArb, { maxKeys: 3 }),
    children: fc.array(fc.oneof({ depthSize: "small" }, textArb, tie("el")), { maxLength: 4 }),
  }).map(({ name, attrs, children }) => {
    const e = new XmlElement(name, attrs);
    for (const c of children) {
      if (typeof c === "string") {
        if (!c) continue;
        const last = e.children.length - 1;
        if (typeof e.children[last] === "string") e.children[last] += c;
        else e.children.push(c);
      } else e.append(c);
    }
    return e;
  }),
})).el as fc.Arbitrary<XmlElement>;

function rooted(children: XmlNode[]): XmlElement {
  return new XmlElement("root", { xmlns: "urn:r", "xmlns:p": "urn:p" }, children);
}

Deno.test("property: parseXml(serialize(x)) equals x", () => {
  fc.assert(
    fc.property(elementArb, (e) => {
      const root = rooted([e]);
      deepEqual(plain(parseXml(serialize(root))), plain(root));
    }),
    { numRuns: 300 },
  );
});

Deno.test("property: random input throws only XmlParseError", () => {
  const piece = fc.constantFrom(
    "<",
    ">",
    "/",
    "a",
    "b",
    "=",
    '"',
    "'",
    "&",
    ";",
    "#",
    "!",
    "?",
    "-",
    "[",
    "]",
    " ",
    "x:",
    "xmlns",
    "CDATA",
    "amp",
    "\u00e9",
    "\u0000",
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 30 }), (parts) => {
      const s = parts.join("");
      for (const run of [() => parseXml(s), () => new XmlPushParser().push(s)]) {
        try {
          run();
        } catch (e) {
          ok(e instanceof XmlParseError, String(e));
        }
      }
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      try {
        parseXml(bytes);
      } catch (e) {
        ok(e instanceof XmlParseError, String(e));
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("property: push-parsing split at random positions gives the same events", () => {
  fc.assert(
    fc.property(
      fc.array(elementArb, { maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (stanzas, cuts) => {
        const root = new XmlElement("stream:stream", {
          xmlns: "urn:r",
          "xmlns:p": "urn:p",
          "xmlns:stream": STREAM_NS,
        });
        const text = startTag(root) + stanzas.map((s) => serialize(s)).join(" ") +
          "</stream:stream>";
        const bytes = new TextEncoder().encode(text);
        const whole = new XmlPushParser();
        const expected = plainEvents([...whole.push(bytes), ...whole.end()]);
        equal(expected.length, stanzas.length + 2);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const p = new XmlPushParser();
        const got: XmlStreamEvent[] = [];
        let prev = 0;
        for (const c of [...points, bytes.length]) {
          got.push(...p.push(bytes.subarray(prev, c)));
          prev = c;
        }
        got.push(...p.end());
        deepEqual(plainEvents(got), expected);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("property: split random input gives the same events or the same error", () => {
  const piece = fc.constantFrom(
    "<s>",
    "<a",
    ">",
    "/>",
    "</a>",
    " x='1'",
    "&amp;",
    "&#x263A;",
    "&",
    "]]>",
    "<![CDATA[",
    "<!--",
    "-->",
    "<?p?>",
    "\u00e9",
    "\u{1F600}",
    "t",
    " ",
    "\r\n",
    "</s>",
    "\r",
    "<?xml version='1.0'?>",
    "<!DOCTYPE s>",
    "<p:a",
    " xmlns:p='u'",
    "]",
    "\u0001",
    "&#",
    "<stream:stream xmlns:stream='x'>",
  );
  const outcome = (chunks: Uint8Array[]) => {
    const p = new XmlPushParser();
    const events: XmlStreamEvent[] = [];
    try {
      for (const c of chunks) events.push(...p.push(c));
      events.push(...p.end());
      return { events: plainEvents(events) };
    } catch (e) {
      ok(e instanceof XmlParseError, String(e));
      return { error: e.message, offset: e.offset };
    }
  };
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 20 }), fc.nat(), (parts, cut) => {
      const bytes = new TextEncoder().encode(parts.join(""));
      const at = cut % (bytes.length + 1);
      deepEqual(outcome([bytes.subarray(0, at), bytes.subarray(at)]), outcome([bytes]));
    }),
    { numRuns: 1000 },
  );
});
