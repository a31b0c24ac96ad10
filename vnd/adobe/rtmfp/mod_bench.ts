// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// RTMFP costs: the packet codec, the Flash profile's AES-128-CBC + checksum (@noble/ciphers, beside
// node:crypto's native AES for scale), one message through an open session (encode, encrypt,
// decrypt, decode, acknowledge), and one whole handshake (two DH key agreements in group 2).
// Run: deno bench -A vnd/adobe/rtmfp/mod_bench.ts
import { createCipheriv, createDecipheriv } from "node:crypto";
import {
  checksum,
  decodePacket,
  decryptPacket,
  dhKeyPair,
  encodePacket,
  encryptPacket,
  RtmfpEndpoint,
  type RtmfpPacket,
  type RtmfpSession,
  type SendFlow,
  urlEpd,
} from "./mod.ts";

// A typical audio packet: one User Data chunk with a 20 ms G.711 frame in a Flash audio message.
const AUDIO: RtmfpPacket = {
  mode: 1,
  timestamp: 1234,
  timestampEcho: 1200,
  chunks: [{
    type: "userData",
    flowId: 3,
    sequenceNumber: 1000,
    fsnOffset: 1,
    fragment: 0,
    abandon: false,
    final: false,
    data: new Uint8Array(166).fill(0xd5),
  }],
};
const plain = encodePacket(AUDIO);
const key = new Uint8Array(16).fill(7);
const encrypted = encryptPacket(key, plain);

Deno.bench("encodePacket + decodePacket (audio packet, 178 bytes)", { group: "codec" }, () => {
  decodePacket(encodePacket(AUDIO));
});

Deno.bench("rtclite encryptPacket + decryptPacket (@noble/ciphers)", {
  group: "crypto",
  baseline: true,
}, () => {
  decryptPacket(key, encryptPacket(key, plain));
});

Deno.bench(
  "node:crypto aes-128-cbc encrypt + decrypt + checksum (native)",
  { group: "crypto" },
  () => {
    const buf = new Uint8Array(192).fill(0xff);
    buf.set(plain, 2);
    const sum = checksum(buf.subarray(2));
    buf[0] = sum >> 8;
    buf[1] = sum & 0xff;
    const c = createCipheriv("aes-128-cbc", key, new Uint8Array(16)).setAutoPadding(false);
    const e = c.update(buf);
    const d = createDecipheriv("aes-128-cbc", key, new Uint8Array(16)).setAutoPadding(false);
    const p = d.update(e);
    if (checksum(p.subarray(2)) !== ((p[0]! << 8) | p[1]!)) throw new Error("checksum");
  },
);

Deno.bench("receive path: decryptPacket + decodePacket", { group: "crypto" }, () => {
  decodePacket(decryptPacket(key, encrypted));
});

// --- A pair of endpoints wired back to back on a manual clock ---

function pair() {
  let now = 0;
  const toB: Uint8Array[] = [], toA: Uint8Array[] = [];
  const a = new RtmfpEndpoint({ now: () => now, send: (d) => toB.push(d), keepalive: 0 });
  const b = new RtmfpEndpoint({ now: () => now, send: (d) => toA.push(d), keepalive: 0 });
  const pump = () => {
    while (toB.length || toA.length) {
      while (toB.length) b.receive(toB.shift()!, { address: "10.0.0.1", port: 1 });
      while (toA.length) a.receive(toA.shift()!, { address: "10.0.0.2", port: 2 });
    }
  };
  const tick = (ms: number) => {
    now += ms;
    a.tick();
    b.tick();
    pump();
  };
  return { a, b, pump, tick };
}

Deno.bench("one handshake (IHello..RIKeying, 2 DH group 2 agreements + 2 key pairs)", {
  group: "session",
  n: 20,
}, () => {
  const { a, b, pump } = pair();
  void b;
  const s = a.connect(urlEpd("rtmfp://b/"), [{ address: "10.0.0.2", port: 2 }]);
  pump();
  if (s.state !== "open") throw new Error(s.state);
});

Deno.bench("dhKeyPair (1024-bit modPow, BigInt)", { group: "session", n: 20 }, () => {
  dhKeyPair();
});

const net = pair();
const session: RtmfpSession = net.a.connect(urlEpd("rtmfp://b/"), [{
  address: "10.0.0.2",
  port: 2,
}]);
net.pump();
const flow: SendFlow = session.openFlow(new Uint8Array([1]));
let delivered = 0;
for (const s of net.b.sessions) s.onFlow = (f) => f.onMessage = () => delivered++;
const frame = new Uint8Array(166).fill(0xd5);
Deno.bench("one 166-byte message through a session (send, encrypt, decrypt, deliver, ack)", {
  group: "session",
}, () => {
  flow.send(frame);
  net.pump();
  net.tick(20);
});
void delivered;
