// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// deno bench -A std/ietf/rfc3550/mod_bench.ts
import { packets as rtpjs } from "npm:rtp.js@0.15.5";
import { RtpHeader, RtpPacket as WeriftRtp } from "npm:werift-rtp@0.8.9";
import { Buffer } from "node:buffer";
import { decodeRtp, encodeRtp, encodeRtpInto, type RtpPacket } from "./mod.ts";

// A 20 ms PCMU packet: 12-byte header and 160 bytes of payload.
const packet: RtpPacket = {
  marker: false,
  payloadType: 0,
  sequenceNumber: 4321,
  timestamp: 123456789,
  ssrc: 0x11223344,
  csrcs: [],
  padding: 0,
  payload: new Uint8Array(160).fill(0xd5),
};
const bytes = encodeRtp(packet);
const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const buffer = Buffer.from(bytes);
let sink = 0;

Deno.bench("decodeRtp (rtclite)", { group: "RTP parse", baseline: true }, () => {
  const p = decodeRtp(bytes);
  sink += p.sequenceNumber + p.timestamp + p.payload.length;
});
Deno.bench("new RtpPacket(view) (rtp.js 0.15.5)", { group: "RTP parse" }, () => {
  const p = new rtpjs.RtpPacket(view);
  sink += p.getSequenceNumber() + p.getTimestamp() + p.getPayload().byteLength;
});
Deno.bench("RtpPacket.deSerialize (werift-rtp 0.8.9)", { group: "RTP parse" }, () => {
  const p = WeriftRtp.deSerialize(buffer);
  sink += p.header.sequenceNumber + p.header.timestamp + p.payload.length;
});

const out = new Uint8Array(1500);
Deno.bench("encodeRtp (rtclite)", { group: "RTP serialize", baseline: true }, () => {
  sink += encodeRtp(packet).length;
});
Deno.bench("encodeRtpInto reused buffer (rtclite)", { group: "RTP serialize" }, () => {
  sink += encodeRtpInto(packet, out, 0);
});
const payloadView = new DataView(packet.payload.buffer);
Deno.bench("RtpPacket setters + serialize (rtp.js 0.15.5)", { group: "RTP serialize" }, () => {
  const p = new rtpjs.RtpPacket();
  p.setPayloadType(0);
  p.setSequenceNumber(4321);
  p.setTimestamp(123456789);
  p.setSsrc(0x11223344);
  p.setPayload(payloadView);
  p.serialize();
  sink += p.getByteLength();
});
const payloadBuffer = Buffer.from(packet.payload);
Deno.bench("new RtpPacket().serialize (werift-rtp 0.8.9)", { group: "RTP serialize" }, () => {
  const h = new RtpHeader({
    payloadType: 0,
    sequenceNumber: 4321,
    timestamp: 123456789,
    ssrc: 0x11223344,
  });
  sink += new WeriftRtp(h, payloadBuffer).serialize().length;
});

globalThis.addEventListener("unload", () => {
  if (sink === 42) console.log(sink);
});
