// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// deno bench -A std/ietf/rfc3550/mod_bench.ts
// Rows named "rtclite ..." are ours; every group compares like with like (deno task bench:compare
// prints ours ÷ the fastest peer per group).
import { packets as rtpjs } from "npm:rtp.js@0.15.5";
import { RtpHeader, RtpPacket as WeriftRtp } from "npm:werift-rtp@0.8.9";
import { Buffer } from "node:buffer";
import { decodeRtp, encodeRtp, encodeRtpInto } from "./mod.ts";

// A 20 ms PCMU packet: 12-byte header and 160 bytes of payload.
const payload = new Uint8Array(160).fill(0xd5);
let seq = 4321;
const bytes = encodeRtp({
  marker: false,
  payloadType: 0,
  sequenceNumber: seq,
  timestamp: 123456789,
  ssrc: 0x11223344,
  csrcs: [],
  padding: 0,
  payload,
}).slice();
const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const buffer = Buffer.from(bytes);
let sink = 0;

Deno.bench("rtclite decodeRtp", { group: "RTP parse" }, () => {
  const p = decodeRtp(bytes);
  sink += p.sequenceNumber + p.timestamp + p.payload.length;
});
Deno.bench("rtp.js 0.15.5 new RtpPacket(view)", { group: "RTP parse" }, () => {
  const p = new rtpjs.RtpPacket(view);
  sink += p.getSequenceNumber() + p.getTimestamp() + p.getPayload().byteLength;
});
Deno.bench("werift-rtp 0.8.9 RtpPacket.deSerialize", { group: "RTP parse" }, () => {
  const p = WeriftRtp.deSerialize(buffer);
  sink += p.header.sequenceNumber + p.header.timestamp + p.payload.length;
});

// Serialize: every library builds the packet from its fields, then encodes it; the sequence
// number changes per packet, as when sending.
const payloadView = new DataView(payload.buffer);
const payloadBuffer = Buffer.from(payload);
Deno.bench("rtclite build + encodeRtp", { group: "RTP build + serialize, new bytes" }, () => {
  sink += encodeRtp({
    marker: false,
    payloadType: 0,
    sequenceNumber: seq++ & 0xffff,
    timestamp: 123456789,
    ssrc: 0x11223344,
    csrcs: [],
    padding: 0,
    payload,
  }).length;
});
Deno.bench(
  "rtp.js 0.15.5 new RtpPacket() + setters + serialize()",
  { group: "RTP build + serialize, new bytes" },
  () => {
    const p = new rtpjs.RtpPacket();
    p.setPayloadType(0);
    p.setSequenceNumber(seq++ & 0xffff);
    p.setTimestamp(123456789);
    p.setSsrc(0x11223344);
    p.setPayload(payloadView);
    p.serialize();
    sink += p.getByteLength();
  },
);
Deno.bench(
  "werift-rtp 0.8.9 new RtpPacket().serialize()",
  { group: "RTP build + serialize, new bytes" },
  () => {
    const h = new RtpHeader({
      payloadType: 0,
      sequenceNumber: seq++ & 0xffff,
      timestamp: 123456789,
      ssrc: 0x11223344,
    });
    sink += new WeriftRtp(h, payloadBuffer).serialize().length;
  },
);

const out = new Uint8Array(1500);
Deno.bench(
  "rtclite build + encodeRtpInto",
  { group: "RTP build + serialize into a caller's buffer" },
  () => {
    sink += encodeRtpInto(
      {
        marker: false,
        payloadType: 0,
        sequenceNumber: seq++ & 0xffff,
        timestamp: 123456789,
        ssrc: 0x11223344,
        csrcs: [],
        padding: 0,
        payload,
      },
      out,
      0,
    );
  },
);
Deno.bench(
  "rtp.js 0.15.5 new RtpPacket() + setters + serialize(buffer)",
  { group: "RTP build + serialize into a caller's buffer" },
  () => {
    const p = new rtpjs.RtpPacket();
    p.setPayloadType(0);
    p.setSequenceNumber(seq++ & 0xffff);
    p.setTimestamp(123456789);
    p.setSsrc(0x11223344);
    p.setPayload(payloadView);
    p.serialize(out.buffer, 0);
    sink += p.getByteLength();
  },
);

globalThis.addEventListener("unload", () => {
  if (sink === 42) console.log(sink);
});
