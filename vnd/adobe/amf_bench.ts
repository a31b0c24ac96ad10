// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// AMF 0 and AMF 3 encoding and decoding of an RTMP `connect` command object, beside
// npm:@astronautlabs/amf@0.0.6 (AMF 0 and AMF 3) and npm:amf@0.1.0 (AMF 0 decoding only).
// Run: deno bench -A vnd/adobe/amf_bench.ts
import "npm:reflect-metadata@0.1.14"; // @astronautlabs/amf needs it loaded first
import { AMF0, AMF3 } from "npm:@astronautlabs/amf@0.0.6";
import nodeAmf from "npm:amf@0.1.0";
import nmsAmf from "npm:node-media-server@4.4.3/src/protocol/amf.js";
import { Buffer } from "node:buffer";
import { decodeAmf0, decodeAmf3, encodeAmf0, encodeAmf3 } from "./amf.ts";

const CONNECT = {
  app: "live",
  flashVer: "FMLE/3.0 (compatible; FMSc/1.0)",
  swfUrl: "rtmp://127.0.0.1/live",
  tcUrl: "rtmp://127.0.0.1/live",
  fpad: false,
  capabilities: 15,
  audioCodecs: 3191,
  videoCodecs: 252,
  videoFunction: 1,
  objectEncoding: 0,
};
// @astronautlabs/amf 0.0.6 fails on booleans and arrays inside AMF 3 objects: strings and numbers only.
const CONNECT3 = {
  app: "live",
  flashVer: "FMLE/3.0 (compatible; FMSc/1.0)",
  swfUrl: "rtmp://127.0.0.1/live",
  tcUrl: "rtmp://127.0.0.1/live",
  capabilities: 15,
  audioCodecs: 3191,
  videoCodecs: 252,
  videoFunction: 1,
  objectEncoding: 3,
};

const ours0 = encodeAmf0(CONNECT);
const theirs0 = AMF0.Value.any(CONNECT).serialize();
// Both write the same AMF 0 bytes.
if (Buffer.compare(Buffer.from(ours0), Buffer.from(theirs0)) !== 0) {
  throw new Error("AMF 0 encodings differ");
}
const ours0Buffer = Buffer.from(ours0);
if (JSON.stringify(nmsAmf.amf0DecodeOne(ours0Buffer).value) !== JSON.stringify(CONNECT)) {
  throw new Error("node-media-server decodes differently");
}
const ours3 = encodeAmf3(CONNECT3);
const theirs3 = AMF3.Value.any(CONNECT3).serialize();

Deno.bench("rtclite encodeAmf0", { group: "AMF 0 encode" }, () => {
  encodeAmf0(CONNECT);
});
Deno.bench("npm:@astronautlabs/amf AMF0 serialize", { group: "AMF 0 encode" }, () => {
  AMF0.Value.any(CONNECT).serialize();
});
Deno.bench("node-media-server@4.4.3 amf0EncodeOne", { group: "AMF 0 encode" }, () => {
  nmsAmf.amf0EncodeOne(CONNECT);
});
Deno.bench("rtclite decodeAmf0", { group: "AMF 0 decode" }, () => {
  decodeAmf0(ours0);
});
Deno.bench("npm:@astronautlabs/amf AMF0 deserialize", { group: "AMF 0 decode" }, () => {
  AMF0.Value.deserialize(ours0).value;
});
Deno.bench("npm:amf@0.1.0 read", { group: "AMF 0 decode" }, () => {
  nodeAmf.read(ours0Buffer, 0);
});
Deno.bench("node-media-server@4.4.3 amf0DecodeOne", { group: "AMF 0 decode" }, () => {
  nmsAmf.amf0DecodeOne(ours0Buffer);
});
Deno.bench("rtclite encodeAmf3", { group: "AMF 3 encode" }, () => {
  encodeAmf3(CONNECT3);
});
Deno.bench("npm:@astronautlabs/amf AMF3 serialize", { group: "AMF 3 encode" }, () => {
  AMF3.Value.any(CONNECT3).serialize();
});
Deno.bench("rtclite decodeAmf3", { group: "AMF 3 decode" }, () => {
  decodeAmf3(ours3);
});
Deno.bench("npm:@astronautlabs/amf AMF3 deserialize", { group: "AMF 3 decode" }, () => {
  AMF3.Value.deserialize(theirs3).value;
});
