// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// deno bench -A std/ietf/rfc4566/mod_bench.ts
import * as sdpTransform from "npm:sdp-transform@3.0.0";
import { formatSdp, parseSdp } from "./mod.ts";

// A typical SIP offer (audio with three codecs and DTMF) as sent by softphones.
const offer = [
  "v=0",
  "o=alice 2890844526 2890844526 IN IP4 192.0.2.10",
  "s=-",
  "c=IN IP4 192.0.2.10",
  "t=0 0",
  "m=audio 49170 RTP/AVP 0 8 9 101",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "a=ptime:20",
  "a=maxptime:150",
  "a=sendrecv",
  "m=video 51372 RTP/AVP 96 97",
  "a=rtpmap:96 H264/90000",
  "a=fmtp:96 profile-level-id=42e01f;packetization-mode=1",
  "a=rtpmap:97 VP8/90000",
  "a=rtcp-fb:96 nack pli",
  "a=sendrecv",
  "",
].join("\r\n");
const ours = parseSdp(offer);
const theirs = sdpTransform.parse(offer);
let sink = 0;

Deno.bench("parseSdp (rtclite)", { group: "SDP parse", baseline: true }, () => {
  sink += parseSdp(offer).media.length;
});
Deno.bench("parse (sdp-transform 3.0.0)", { group: "SDP parse" }, () => {
  sink += sdpTransform.parse(offer).media.length;
});
Deno.bench("formatSdp (rtclite)", { group: "SDP write", baseline: true }, () => {
  sink += formatSdp(ours).length;
});
Deno.bench("write (sdp-transform 3.0.0)", { group: "SDP write" }, () => {
  sink += sdpTransform.write(theirs).length;
});

globalThis.addEventListener("unload", () => {
  if (sink === 42) console.log(sink);
});
