// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  formatSdp,
  getAttribute,
  getDirection,
  getRtpMaps,
  parseSdp,
  parseTypedTime,
  SdpParseError,
  type SessionDescription,
} from "./mod.ts";

const crlf = (lines: string) => lines.trim().split("\n").map((l) => l.trim()).join("\r\n") + "\r\n";

const RFC8866_EXAMPLE = crlf(`
  v=0
  o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1
  s=Call to John Smith
  i=SDP Offer #1
  u=http://www.jdoe.example.com/home.html
  e=Jane Doe <jane@jdoe.example.com>
  p=+1 617 555-6011
  c=IN IP4 198.51.100.1
  t=0 0
  m=audio 49170 RTP/AVP 0
  m=audio 49180 RTP/AVP 0
  m=video 51372 RTP/AVP 99
  c=IN IP6 2001:db8::2
  a=rtpmap:99 h263-1998/90000`);

const RFC4566_EXAMPLE = crlf(`
  v=0
  o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
  s=SDP Seminar
  i=A Seminar on the session description protocol
  u=http://www.example.com/seminars/sdp.pdf
  e=j.doe@example.com (Jane Doe)
  c=IN IP4 224.2.17.12/127
  t=2873397496 2873404696
  a=recvonly
  m=audio 49170 RTP/AVP 0
  m=video 51372 RTP/AVP 99
  a=rtpmap:99 h263-1998/90000`);

Deno.test("parseSdp() on the RFC 8866 and RFC 4566 examples", async (t) => {
  await t.step("RFC 8866 §5 example", () => {
    const sd = parseSdp(RFC8866_EXAMPLE);
    deepEqual(sd.origin, {
      username: "jdoe",
      sessionId: "3724394400",
      sessionVersion: "3724394405",
      netType: "IN",
      addrType: "IP4",
      address: "198.51.100.1",
    });
    equal(sd.name, "Call to John Smith");
    equal(sd.information, "SDP Offer #1");
    equal(sd.uri, "http://www.jdoe.example.com/home.html");
    deepEqual(sd.emails, ["Jane Doe <jane@jdoe.example.com>"]);
    deepEqual(sd.phones, ["+1 617 555-6011"]);
    equal(sd.media.length, 3);
    deepEqual(sd.media[2]!.connections, [{
      netType: "IN",
      addrType: "IP6",
      address: "2001:db8::2",
    }]);
    deepEqual(getRtpMaps(sd.media[2]!), [{
      payloadType: 99,
      encoding: "h263-1998",
      clockRate: 90000,
    }]);
    equal(formatSdp(sd), RFC8866_EXAMPLE);
  });
  await t.step("RFC 4566 §5 example (multicast, session-level recvonly)", () => {
    const sd = parseSdp(RFC4566_EXAMPLE);
    deepEqual(sd.connection, { netType: "IN", addrType: "IP4", address: "224.2.17.12", ttl: 127 });
    deepEqual(sd.times, [{ start: 2873397496, stop: 2873404696, repeats: [] }]);
    equal(getDirection(sd.media[0]!, sd), "recvonly");
    equal(formatSdp(sd), RFC4566_EXAMPLE);
  });
  await t.step("RFC 8866 §5.7 connection addresses", () => {
    const c = (v: string) =>
      parseSdp(`v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=${v}\r\nt=0 0\r\n`).connection;
    deepEqual(c("IN IP4 233.252.0.1/127/3"), {
      netType: "IN",
      addrType: "IP4",
      address: "233.252.0.1",
      ttl: 127,
      count: 3,
    });
    deepEqual(c("IN IP6 ff00::db8:0:101/3"), {
      netType: "IN",
      addrType: "IP6",
      address: "ff00::db8:0:101",
      count: 3,
    });
    throws(() => c("IN IP6 ff00::1/3/4"), /TTL/);
    throws(() => c("IN IP4 233.252.0.1/300"), /TTL must be 0-255/);
  });
  await t.step("RFC 8866 §5.9-§5.11 times, repeats and zones", () => {
    const text = crlf(`
      v=0
      o=- 1 1 IN IP4 h
      s=-
      c=IN IP4 h
      t=3724394400 3754123200
      r=604800 3600 0 90000
      r=7d 1h 0 25h
      z=3730928400 -1h 3749680800 0
      k=prompt
      a=tool:foobar V3.2`);
    const sd = parseSdp(text);
    deepEqual(sd.times[0]!.repeats[1], { interval: "7d", duration: "1h", offsets: ["0", "25h"] });
    deepEqual(sd.zones, [{ time: 3730928400, offset: "-1h" }, { time: 3749680800, offset: "0" }]);
    deepEqual(sd.key, { method: "prompt" });
    equal(parseTypedTime(sd.times[0]!.repeats[1]!.offsets[1]!), 90000);
    equal(formatSdp(sd), text);
  });
  await t.step("RFC 8866 §5.14 port ranges, multiple c= per media, bandwidth", () => {
    const text = crlf(`
      v=0
      o=- 1 1 IN IP6 h
      s=-
      b=X-YZ:128
      t=0 0
      m=video 49170/2 RTP/AVP 31
      c=IN IP6 ff00::db8:0:101
      c=IN IP6 ff00::db8:0:102
      b=AS:512
      k=clear:secret
      a=orient:portrait`);
    const sd = parseSdp(text);
    equal(sd.name, "-");
    equal(sd.media[0]!.portCount, 2);
    equal(sd.media[0]!.connections.length, 2);
    deepEqual(sd.media[0]!.bandwidths, [{ type: "AS", value: 512 }]);
    deepEqual(sd.media[0]!.key, { method: "clear", value: "secret" });
    equal(formatSdp(sd), text);
  });
});

Deno.test("parseSdp() keeps attributes in order, unknown ones verbatim (RFC 8866 §5.13)", () => {
  const text = crlf(`
    v=0
    o=- 1 1 IN IP4 127.0.0.1
    s=-
    c=IN IP4 127.0.0.1
    t=0 0
    a=x-unknown:  spaced value:with:colons
    a=group:BUNDLE 0
    m=audio 9 UDP/TLS/RTP/SAVPF 111 0
    a=rtcp-mux
    a=rtpmap:111 opus/48000/2
    a=fmtp:111 minptime=10;useinbandfec=1
    a=x-flag
    a=ptime:20
    a=sendonly`);
  const sd = parseSdp(text);
  deepEqual(sd.attributes, [{ name: "x-unknown", value: "  spaced value:with:colons" }, {
    name: "group",
    value: "BUNDLE 0",
  }]);
  deepEqual(sd.media[0]!.attributes.map((a) => a.name), [
    "rtcp-mux",
    "rtpmap",
    "fmtp",
    "x-flag",
    "ptime",
    "sendonly",
  ]);
  equal(getAttribute(sd.media[0]!.attributes, "x-flag"), "");
  equal(getDirection(sd.media[0]!), "sendonly");
  deepEqual(getRtpMaps(sd.media[0]!), [
    {
      payloadType: 111,
      encoding: "opus",
      clockRate: 48000,
      channels: 2,
      parameters: "minptime=10;useinbandfec=1",
    },
    { payloadType: 0, encoding: "PCMU", clockRate: 8000, channels: 1 },
  ]);
  equal(formatSdp(sd), text);
});

Deno.test("parseSdp() accepts LF line endings and ffmpeg's SDP", () => {
  const sd = parseSdp(
    "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=No Name\nc=IN IP4 127.0.0.1\nt=0 0\na=tool:libavformat 59.27.100\nm=audio 40000 RTP/AVP 0\n",
  );
  equal(getAttribute(sd.attributes, "tool"), "libavformat 59.27.100");
  equal(getRtpMaps(sd.media[0]!)[0]!.encoding, "PCMU");
});

Deno.test("parseSdp() rejects bad input with SdpParseError", async (t) => {
  const ok5 = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\nt=0 0\r\n";
  const cases: [string, string, RegExp][] = [
    ["empty", "", /missing v= line/],
    ["first line not v=", "o=- 1 1 IN IP4 h\r\n", /first line must be v=/],
    ["missing o=", "v=0\r\ns=-\r\nt=0 0\r\n", /missing o= line/],
    ["missing s=", "v=0\r\no=- 1 1 IN IP4 h\r\nt=0 0\r\n", /missing s= line/],
    ["missing t=", "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\n", /missing t= line/],
    [
      "no c= for media",
      "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n",
      /no c= line/,
    ],
    ["bad version", "v=1\r\n", /unsupported version/],
    ["short o=", "v=0\r\no=- 1 1 IN IP4\r\n", /expected <username>/],
    ["non-numeric session id", "v=0\r\no=- x 1 IN IP4 h\r\n", /must be numbers/],
    ["out of order", "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nc=IN IP4 h\r\n", /out of order/],
    ["unknown letter", ok5 + "x=1\r\n", /unknown type letter/],
    ["t= inside media", ok5 + "m=audio 1 RTP/AVP 0\r\nt=0 0\r\n", /not allowed in a media/],
    ["bad m= port", ok5 + "m=audio 70000 RTP/AVP 0\r\n", /bad port/],
    ["m= without formats", ok5 + "m=audio 1 RTP/AVP\r\n", /expected <media>/],
    ["bad b=", ok5 + "b=AS\r\n", /out of order|bwtype/],
    ["bad attribute name", ok5 + "a=bad name:1\r\n", /token/],
    ["line without =", "v=0\r\nxyz\r\n", /expected <type>=<value>/],
    ["empty line inside", "v=0\r\n\r\no=- 1 1 IN IP4 h\r\n", /empty line/],
    ["too long", "v=0\r\n" + "a=x\r\n".repeat(60_000), /exceed the limit/],
    ["bad r=", "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\nt=0 0\r\nr=7x 1h 0\r\n", /repeat/],
  ];
  for (const [name, text, re] of cases) {
    await t.step(name, () => {
      throws(
        () => parseSdp(text),
        (e: unknown) => e instanceof SdpParseError && re.test(e.message),
      );
    });
  }
});

Deno.test("parseSdp({ strict: false }) tolerates order, unknown letters and missing c=", () => {
  const sd = parseSdp("v=0\no=- 1 1 IN IP4 h\ns=-\nx=ignored\nm=audio 1 RTP/AVP 0\n", {
    strict: false,
  });
  equal(sd.media.length, 1);
  equal(sd.times.length, 0);
  equal(formatSdp(sd).includes("t=0 0"), true);
});

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
const text = fc.stringMatching(/^[ -~]{1,20}$/);
const arbSdp: fc.Arbitrary<SessionDescription> = fc.record({
  version: fc.constant(0),
  origin: fc.record({
    username: token,
    sessionId: fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
    sessionVersion: fc.nat().map(String),
    netType: fc.constant("IN"),
    addrType: fc.constantFrom("IP4", "IP6"),
    address: fc.ipV4(),
  }),
  name: text,
  emails: fc.array(text, { maxLength: 2 }),
  phones: fc.array(text, { maxLength: 1 }),
  connection: fc.record({
    netType: fc.constant("IN"),
    addrType: fc.constant("IP4"),
    address: fc.ipV4(),
  }),
  bandwidths: fc.array(fc.record({ type: fc.constantFrom("AS", "CT", "TIAS"), value: fc.nat() }), {
    maxLength: 2,
  }),
  times: fc.array(fc.record({ start: fc.nat(), stop: fc.nat(), repeats: fc.constant([]) }), {
    minLength: 1,
    maxLength: 2,
  }),
  zones: fc.constant([]),
  attributes: fc.array(fc.record({ name: token, value: text }), { maxLength: 3 }),
  media: fc.array(
    fc.record({
      type: fc.constantFrom("audio", "video", "text"),
      port: fc.integer({ min: 0, max: 65535 }),
      proto: fc.constantFrom("RTP/AVP", "RTP/SAVPF", "udp"),
      formats: fc.array(fc.integer({ min: 0, max: 127 }).map(String), {
        minLength: 1,
        maxLength: 4,
      }),
      connections: fc.constant([]),
      bandwidths: fc.constant([]),
      attributes: fc.array(
        fc.oneof(fc.record({ name: token }), fc.record({ name: token, value: text })),
        { maxLength: 4 },
      ),
    }),
    { maxLength: 3 },
  ),
});

Deno.test("SDP property: parse(format(sd)) equals sd; random text throws only SdpParseError", () => {
  fc.assert(
    fc.property(arbSdp, (sd) => {
      deepEqual(parseSdp(formatSdp(sd)), sd);
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(
      fc.array(
        fc.constantFrom(
          "v=0",
          "o=- 1 1 IN IP4 h",
          "s=-",
          "c=IN IP4 h",
          "t=0 0",
          "m=audio 1 RTP/AVP 0",
          "a=x",
          "b=AS:1",
          "z",
          "k=",
          "i=x",
          "r=1 1 1",
        ),
      ),
      (lines) => {
        try {
          ok(parseSdp(lines.join("\r\n")));
        } catch (e) {
          ok(e instanceof SdpParseError, String(e));
        }
      },
    ),
    { numRuns: 1000 },
  );
});
