// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  answerDirection,
  answerOffer,
  negotiate,
  OfferAnswer,
  OfferAnswerError,
} from "./rfc3264.ts";
import { formatSdp, getDirection, parseSdp, type RtpMap } from "./rfc4566/mod.ts";

const sdp = (lines: string) => lines.trim().split("\n").map((l) => l.trim()).join("\r\n") + "\r\n";
const PCMU: RtpMap = { payloadType: 0, encoding: "PCMU", clockRate: 8000 };
const G723: RtpMap = { payloadType: 4, encoding: "G723", clockRate: 8000 };
const G729: RtpMap = { payloadType: 18, encoding: "G729", clockRate: 8000 };
const H261: RtpMap = { payloadType: 31, encoding: "H261", clockRate: 90000 };
const MPV: RtpMap = { payloadType: 32, encoding: "MPV", clockRate: 90000 };
const EVENTS: RtpMap = { payloadType: 110, encoding: "telephone-events", clockRate: 8000 };

Deno.test("RFC 3264 §10.1 basic exchange, reproduced", async (t) => {
  const alice = new OfferAnswer({
    address: "host.anywhere.com",
    username: "alice",
    sessionId: "2890844526",
    sessionName: "",
  });
  const bob = new OfferAnswer({
    address: "host.example.com",
    username: "bob",
    sessionId: "2890844730",
    sessionName: "",
  });
  await t.step("Alice's offer: audio and two video streams", () => {
    const offer = alice.createOffer([
      { type: "audio", port: 49170, formats: [PCMU] },
      { type: "video", port: 51372, formats: [H261] },
      { type: "video", port: 53000, formats: [MPV] },
    ]);
    equal(
      formatSdp(offer),
      sdp(`
        v=0
        o=alice 2890844526 2890844526 IN IP4 host.anywhere.com
        s=
        c=IN IP4 host.anywhere.com
        t=0 0
        m=audio 49170 RTP/AVP 0
        a=rtpmap:0 PCMU/8000
        m=video 51372 RTP/AVP 31
        a=rtpmap:31 H261/90000
        m=video 53000 RTP/AVP 32
        a=rtpmap:32 MPV/90000`),
    );
    bob.setRemoteOffer(parseSdp(formatSdp(offer)));
  });
  await t.step("Bob's answer rejects the first video stream with port 0", () => {
    const answer = bob.createAnswer([
      { type: "audio", port: 49920, formats: [PCMU] },
      { type: "video", port: 53000, formats: [MPV] },
    ]);
    equal(
      formatSdp(answer),
      sdp(`
        v=0
        o=bob 2890844730 2890844730 IN IP4 host.example.com
        s=
        c=IN IP4 host.example.com
        t=0 0
        m=audio 49920 RTP/AVP 0
        a=rtpmap:0 PCMU/8000
        m=video 0 RTP/AVP 31
        m=video 53000 RTP/AVP 32
        a=rtpmap:32 MPV/90000`),
    );
    const streams = alice.setRemoteAnswer(parseSdp(formatSdp(answer)));
    deepEqual(streams.map((s) => [s.rejected, s.remotePort, s.send?.encoding]), [
      [false, 49920, "PCMU"],
      [true, 0, undefined],
      [false, 53000, "MPV"],
    ]);
  });
  await t.step("Bob's re-offer: new audio port, adds a recvonly events stream", () => {
    const reoffer = bob.createOffer([
      { type: "audio", port: 65422, formats: [PCMU] },
      { type: "video", port: 0, formats: [H261] },
      { type: "video", port: 53000, formats: [MPV] },
      { type: "audio", port: 51434, formats: [EVENTS], direction: "recvonly" },
    ]);
    equal(
      formatSdp(reoffer),
      sdp(`
        v=0
        o=bob 2890844730 2890844731 IN IP4 host.example.com
        s=
        c=IN IP4 host.example.com
        t=0 0
        m=audio 65422 RTP/AVP 0
        a=rtpmap:0 PCMU/8000
        m=video 0 RTP/AVP 31
        m=video 53000 RTP/AVP 32
        a=rtpmap:32 MPV/90000
        m=audio 51434 RTP/AVP 110
        a=rtpmap:110 telephone-events/8000
        a=recvonly`),
    );
    alice.setRemoteOffer(parseSdp(formatSdp(reoffer)));
  });
  await t.step("Alice's answer accepts the new stream as sendonly", () => {
    const answer = alice.createAnswer([
      { type: "audio", port: 49170, formats: [PCMU] },
      { type: "video", port: 51372, formats: [H261] },
      { type: "video", port: 53000, formats: [MPV] },
      { type: "audio", port: 53122, formats: [EVENTS] },
    ]);
    // The RFC's answer keeps "a=rtpmap:31 H261/90000" on the rejected stream; §8.2 lets an
    // answer omit the attributes of a stream with port 0, which is what we do.
    equal(
      formatSdp(answer),
      sdp(`
        v=0
        o=alice 2890844526 2890844527 IN IP4 host.anywhere.com
        s=
        c=IN IP4 host.anywhere.com
        t=0 0
        m=audio 49170 RTP/AVP 0
        a=rtpmap:0 PCMU/8000
        m=video 0 RTP/AVP 31
        m=video 53000 RTP/AVP 32
        a=rtpmap:32 MPV/90000
        m=audio 53122 RTP/AVP 110
        a=rtpmap:110 telephone-events/8000
        a=sendonly`),
    );
    const streams = bob.setRemoteAnswer(answer);
    equal(streams[3]!.direction, "recvonly");
    equal(streams[0]!.remotePort, 49170);
    equal(alice.negotiated[3]!.direction, "sendonly");
    equal(alice.negotiated[3]!.telephoneEvent?.payloadType, 110);
  });
});

Deno.test("RFC 3264 §10.2 one of N codec selection, reproduced", async (t) => {
  const alice = new OfferAnswer({
    address: "host.anywhere.com",
    username: "alice",
    sessionId: "2890844526",
    sessionName: "",
  });
  const bob = new OfferAnswer({
    address: "host.example.com",
    username: "bob",
    sessionId: "2890844730",
    sessionVersion: "2890844731",
    sessionName: "",
  });
  const bobCaps = [{ type: "audio", port: 54344, formats: [PCMU, G723] }];
  await t.step("inactive offer with three codecs; answer with the two Bob supports", () => {
    const offer = alice.createOffer([{
      type: "audio",
      port: 62986,
      formats: [PCMU, G723, G729],
      direction: "inactive",
    }]);
    equal(
      formatSdp(offer),
      sdp(`
        v=0
        o=alice 2890844526 2890844526 IN IP4 host.anywhere.com
        s=
        c=IN IP4 host.anywhere.com
        t=0 0
        m=audio 62986 RTP/AVP 0 4 18
        a=rtpmap:0 PCMU/8000
        a=rtpmap:4 G723/8000
        a=rtpmap:18 G729/8000
        a=inactive`),
    );
    bob.setRemoteOffer(offer);
    equal(
      formatSdp(bob.createAnswer(bobCaps)),
      sdp(`
        v=0
        o=bob 2890844730 2890844731 IN IP4 host.example.com
        s=
        c=IN IP4 host.example.com
        t=0 0
        m=audio 54344 RTP/AVP 0 4
        a=rtpmap:0 PCMU/8000
        a=rtpmap:4 G723/8000
        a=inactive`),
    );
    const [s] = alice.setRemoteAnswer(bob.localDescription!);
    equal(s!.direction, "inactive");
    deepEqual(s!.sendFormats.map((f) => f.encoding), ["PCMU", "G723"]);
  });
  await t.step("Alice locks down G.723 with a sendrecv re-offer; Bob accepts", () => {
    const reoffer = alice.createOffer([{
      type: "audio",
      port: 62986,
      formats: [G723],
      direction: "sendrecv",
    }]);
    equal(
      formatSdp(reoffer),
      sdp(`
        v=0
        o=alice 2890844526 2890844527 IN IP4 host.anywhere.com
        s=
        c=IN IP4 host.anywhere.com
        t=0 0
        m=audio 62986 RTP/AVP 4
        a=rtpmap:4 G723/8000
        a=sendrecv`),
    );
    bob.setRemoteOffer(reoffer);
    equal(
      formatSdp(bob.createAnswer(bobCaps)),
      sdp(`
        v=0
        o=bob 2890844730 2890844732 IN IP4 host.example.com
        s=
        c=IN IP4 host.example.com
        t=0 0
        m=audio 54344 RTP/AVP 4
        a=rtpmap:4 G723/8000
        a=sendrecv`),
    );
    const [s] = alice.setRemoteAnswer(bob.localDescription!);
    equal(s!.direction, "sendrecv");
    equal(s!.send?.encoding, "G723");
  });
});

Deno.test("answerDirection() covers every offered direction (RFC 3264 §6.1)", () => {
  const dirs = ["sendrecv", "sendonly", "recvonly", "inactive"] as const;
  const table = dirs.map((o) => dirs.map((w) => answerDirection(o, w)));
  deepEqual(table, [
    ["sendrecv", "sendonly", "recvonly", "inactive"],
    ["recvonly", "inactive", "recvonly", "inactive"],
    ["sendonly", "sendonly", "inactive", "inactive"],
    ["inactive", "inactive", "inactive", "inactive"],
  ]);
});

Deno.test("answerOffer(): codec intersection keeps the offer's order and payload types (RFC 3264 §6.1)", () => {
  const offer = parseSdp(sdp(`
    v=0
    o=a 1 1 IN IP4 192.0.2.1
    s=-
    c=IN IP4 192.0.2.1
    t=0 0
    m=audio 5000 RTP/AVP 8 96 0 97
    a=rtpmap:96 opus/48000/2
    a=rtpmap:97 telephone-event/8000
    a=fmtp:97 0-16
    a=ptime:30`));
  const origin = {
    username: "b",
    sessionId: "2",
    sessionVersion: "2",
    netType: "IN",
    addrType: "IP4",
    address: "192.0.2.2",
  };
  const answer = answerOffer(offer, [{
    type: "audio",
    port: 6000,
    formats: [PCMU, { payloadType: 8, encoding: "PCMA", clockRate: 8000 }, {
      payloadType: 101,
      encoding: "telephone-event",
      clockRate: 8000,
    }],
  }], origin);
  deepEqual(answer.media[0]!.formats, ["8", "0", "97"]);
  deepEqual(answer.media[0]!.attributes.find((a) => a.name === "fmtp"), {
    name: "fmtp",
    value: "97 0-16",
  });
  const [s] = negotiate(answer, offer);
  equal(s!.send?.payloadType, 8);
  equal(s!.ptime, 30);
  equal(s!.telephoneEvent?.payloadType, 97);
  equal(s!.remoteRtcpPort, 5001);
  // No common codec: port 0, even if telephone-event matches.
  const rejected = answerOffer(offer, [{
    type: "audio",
    port: 6000,
    formats: [G729, { payloadType: 101, encoding: "telephone-event", clockRate: 8000 }],
  }], origin);
  equal(rejected.media[0]!.port, 0);
  // A stream of another type is never used.
  equal(
    answerOffer(offer, [{ type: "video", port: 6000, formats: [H261] }], origin).media[0]!.port,
    0,
  );
});

Deno.test("OfferAnswer: hold and resume (RFC 3264 §8.4)", () => {
  const a = new OfferAnswer({ address: "192.0.2.1", sessionId: "10" });
  const b = new OfferAnswer({ address: "192.0.2.2", sessionId: "20" });
  const caps = [{ type: "audio", port: 4000, formats: [PCMU] }];
  b.setRemoteOffer(a.createOffer(caps));
  a.setRemoteAnswer(b.createAnswer(caps));
  const hold = a.hold();
  equal(getDirection(hold.media[0]!), "sendonly");
  equal(hold.origin.sessionVersion, "11");
  b.setRemoteOffer(hold);
  const holdAnswer = b.createAnswer(caps);
  equal(getDirection(holdAnswer.media[0]!), "recvonly");
  equal(a.setRemoteAnswer(holdAnswer)[0]!.direction, "sendonly");
  equal(b.negotiated[0]!.direction, "recvonly");
  ok(a.held);
  const resume = a.resume();
  equal(getDirection(resume.media[0]!), "sendrecv");
  equal(resume.origin.sessionVersion, "12");
  b.setRemoteOffer(resume);
  equal(a.setRemoteAnswer(b.createAnswer(caps))[0]!.direction, "sendrecv");
  // recvonly streams are held with inactive
  const c = new OfferAnswer({ address: "192.0.2.3" });
  c.createOffer([{ type: "audio", port: 4000, formats: [PCMU], direction: "recvonly" }]);
  equal(getDirection(c.hold().media[0]!), "inactive");
});

Deno.test("OfferAnswer: unchanged re-offer keeps the version; removing and adding streams (RFC 3264 §8)", () => {
  const a = new OfferAnswer({ address: "192.0.2.1", sessionId: "5" });
  const b = new OfferAnswer({ address: "192.0.2.2", sessionId: "6" });
  const audio = { type: "audio", port: 4000, formats: [PCMU] };
  const video = { type: "video", port: 4002, formats: [H261] };
  b.setRemoteOffer(a.createOffer([audio, video]));
  a.setRemoteAnswer(b.createAnswer([audio, video]));
  b.setRemoteOffer(a.createOffer([audio, video]));
  equal(a.localDescription!.origin.sessionVersion, "5");
  a.setRemoteAnswer(b.createAnswer([audio, video]));
  // Remove video by leaving it out: the m-line stays with port 0.
  const removal = a.createOffer([audio]);
  deepEqual(removal.media.map((m) => [m.type, m.port]), [["audio", 4000], ["video", 0]]);
  equal(removal.origin.sessionVersion, "6");
  b.setRemoteOffer(removal);
  const ans = b.createAnswer([audio, video]);
  equal(ans.media[1]!.port, 0);
  ok(a.setRemoteAnswer(ans)[1]!.rejected);
  // Reuse the slot with a new stream and append another.
  const text = {
    type: "text",
    port: 4004,
    formats: [{ payloadType: 98, encoding: "t140", clockRate: 1000 }],
  };
  const added = a.createOffer([audio, text, { ...video, port: 4006 }]);
  deepEqual(added.media.map((m) => [m.type, m.port]), [["audio", 4000], ["text", 4004], [
    "video",
    4006,
  ]]);
  b.setRemoteOffer(added);
  const ans2 = b.createAnswer([audio, video]);
  deepEqual(ans2.media.map((m) => m.port), [4000, 0, 4002]);
});

Deno.test("OfferAnswer: errors for glare, missing offers, dropped m-lines and rebound payload types", () => {
  const a = new OfferAnswer({ address: "192.0.2.1" });
  const offer = a.createOffer([{
    type: "audio",
    port: 4000,
    formats: [{ payloadType: 96, encoding: "opus", clockRate: 48000, channels: 2 }],
  }]);
  throws(() => a.setRemoteOffer(offer), /glare/);
  throws(() => a.setRemoteOffer(offer), OfferAnswerError);
  throws(() => a.createAnswer([]), /no offer is pending/);
  throws(() => a.setRemoteAnswer({ ...offer, media: [] }), /0 m-lines, the offer has 1/);
  throws(
    () =>
      a.createOffer([{
        type: "audio",
        port: 4000,
        formats: [{ payloadType: 96, encoding: "PCMA", clockRate: 8000 }],
      }]),
    /payload type 96/,
  );
  const b = new OfferAnswer({ address: "192.0.2.2" });
  b.setRemoteOffer(offer);
  b.createAnswer([]);
  throws(() => b.setRemoteOffer({ ...offer, media: [] }), /previous SDP had 1/);
  throws(() => b.setRemoteAnswer(offer), /no offer is pending/);
  throws(
    () => b.setRemoteAnswer(offer),
    (e) => e instanceof OfferAnswerError && e.state === "stable",
  );
});
