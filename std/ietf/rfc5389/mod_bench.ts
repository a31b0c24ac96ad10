// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// STUN encode/decode beside npm:stun@2.1.0 and npm:werift-ice@0.2.3 on the message of RFC 5769 §2.2:
// a Binding success response with SOFTWARE, XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT.
// Run: deno bench -A std/ietf/rfc5389/mod_bench.ts
import { Buffer } from "node:buffer";
import stun from "npm:stun@2.1.0";
import { classes, Message, methods, parseMessage } from "npm:werift-ice@0.2.3";
import {
  addressAttribute,
  createMessage,
  decodeStun,
  encodeStun,
  encodeStunInto,
  getAddress,
  shortTermKey,
  StunAttr,
  StunClass,
  StunMethod,
  textAttribute,
  verifyIntegrity,
} from "./mod.ts";

// The RFC 5769 §2.2 response, re-encoded with zero padding: npm:stun@2.1.0 recomputes the HMAC
// over its own re-serialization, so it rejects the published bytes (which pad SOFTWARE with spaces).
const tid = Uint8Array.from([
  0xb7,
  0xe7,
  0xa7,
  0x01,
  0xbc,
  0x34,
  0xd6,
  0x86,
  0xfa,
  0x87,
  0xdf,
  0xae,
]);
const password = "VOkJxbRl1RmTxUk/WvJxBt";
const key = shortTermKey(password);
const mapped = { family: 4 as const, address: "192.0.2.1", port: 32853 };
const bytes = encodeStun(
  createMessage(StunMethod.Binding, StunClass.SuccessResponse, [
    textAttribute(StunAttr.SOFTWARE, "test vector"),
    addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, mapped, tid),
  ], tid),
  { integrity: key, fingerprint: true },
);
const buffer = Buffer.from(bytes);
const tidBuffer = Buffer.from(tid);
const keyBuffer = Buffer.from(key);
const C = stun.constants;

// Sanity: every library reads the same address from the vector, so the benches compare like work.
if (getAddress(decodeStun(bytes), StunAttr.XOR_MAPPED_ADDRESS)?.port !== 32853) {
  throw new Error("rtclite");
}
if (stun.decode(buffer).getXorAddress().port !== 32853) throw new Error("stun");
if (parseMessage(buffer)!.getAttributeValue("XOR-MAPPED-ADDRESS")[1] !== 32853) {
  throw new Error("werift");
}

Deno.bench("rtclite encode (SOFTWARE, XOR-MAPPED-ADDRESS, MI, FINGERPRINT)", {
  group: "encode",
}, () => {
  encodeStun(
    createMessage(StunMethod.Binding, StunClass.SuccessResponse, [
      textAttribute(StunAttr.SOFTWARE, "test vector"),
      addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, mapped, tid),
    ], tid),
    { integrity: key, fingerprint: true },
  );
});

Deno.bench("npm:stun@2.1.0 encode", { group: "encode" }, () => {
  const m = stun.createMessage(C.STUN_BINDING_RESPONSE, tidBuffer);
  m.addAttribute(C.STUN_ATTR_SOFTWARE, "test vector");
  m.addXorAddress("192.0.2.1", 32853);
  m.addMessageIntegrity(password);
  m.addFingerprint();
  m.toBuffer();
});

Deno.bench("npm:werift-ice@0.2.3 encode", { group: "encode" }, () => {
  new Message(methods.BINDING, classes.RESPONSE, tidBuffer)
    .setAttribute("SOFTWARE", "test vector")
    .setAttribute("XOR-MAPPED-ADDRESS", ["192.0.2.1", 32853])
    .addMessageIntegrity(keyBuffer)
    .addFingerprint().bytes;
});

// Neither peer encodes into a caller's buffer: this group has no ratio.
const out = new Uint8Array(1500);
Deno.bench("rtclite encodeStunInto a caller's buffer (same message)", {
  group: "encode into a buffer",
}, () => {
  encodeStunInto(
    createMessage(StunMethod.Binding, StunClass.SuccessResponse, [
      textAttribute(StunAttr.SOFTWARE, "test vector"),
      addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, mapped, tid),
    ], tid),
    out,
    0,
    { integrity: key, fingerprint: true },
  );
});

Deno.bench("rtclite decode + XOR-MAPPED-ADDRESS", { group: "decode" }, () => {
  getAddress(decodeStun(bytes), StunAttr.XOR_MAPPED_ADDRESS);
});

Deno.bench("npm:stun@2.1.0 decode + XOR-MAPPED-ADDRESS", { group: "decode" }, () => {
  stun.decode(buffer).getXorAddress();
});

Deno.bench("npm:werift-ice@0.2.3 decode + XOR-MAPPED-ADDRESS", { group: "decode" }, () => {
  parseMessage(buffer)!.getAttributeValue("XOR-MAPPED-ADDRESS");
});

Deno.bench("rtclite decode + verify MESSAGE-INTEGRITY", { group: "verify" }, () => {
  if (!verifyIntegrity(decodeStun(bytes), key)) throw new Error("integrity");
});

Deno.bench("npm:stun@2.1.0 decode + verify MESSAGE-INTEGRITY", { group: "verify" }, () => {
  if (!stun.validateMessageIntegrity(stun.decode(buffer), password)) throw new Error("integrity");
});

Deno.bench("npm:werift-ice@0.2.3 decode + verify MESSAGE-INTEGRITY", { group: "verify" }, () => {
  if (!parseMessage(buffer, keyBuffer)) throw new Error("integrity");
});
