// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// DNS codec: ours beside npm:dns-packet@5.6.1 on the same messages.
// Run: deno bench -A std/ietf/rfc1035/mod_bench.ts (each iteration: 100 messages)
import { decodeMessage, type DnsMessageInit, encodeMessage, encodeMessageInto } from "./mod.ts";
import dnsPacket from "npm:dns-packet@5.6.1";
import { Buffer } from "node:buffer";

const naptrBytes = Deno.readFileSync(
  new URL("../testdata/dnsmasq_naptr_response.bin", import.meta.url),
);
const srvBytes = Deno.readFileSync(
  new URL("../testdata/dnsmasq_srv_response.bin", import.meta.url),
);
const naptrBuf = Buffer.from(naptrBytes);
const srvBuf = Buffer.from(srvBytes);

// A SIP-style response: SRV answers with addresses in the additional section.
const ours: DnsMessageInit = {
  id: 0xbeef,
  qr: true,
  aa: true,
  rd: true,
  ra: true,
  questions: [{ name: "_sip._udp.sip.test", type: "SRV" }],
  answers: [
    {
      name: "_sip._udp.sip.test",
      type: "SRV",
      ttl: 60,
      data: { priority: 10, weight: 100, port: 5060, target: "pbx.sip.test" },
    },
    {
      name: "_sip._udp.sip.test",
      type: "SRV",
      ttl: 60,
      data: { priority: 20, weight: 100, port: 5062, target: "pbx2.sip.test" },
    },
  ],
  additionals: [
    { name: "pbx.sip.test", type: "A", ttl: 60, data: "127.0.0.1" },
    { name: "pbx2.sip.test", type: "A", ttl: 60, data: "127.0.0.3" },
    { name: "pbx2.sip.test", type: "AAAA", ttl: 60, data: "::3" },
  ],
};
const theirs = {
  type: "response",
  id: 0xbeef,
  flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED |
    dnsPacket.RECURSION_AVAILABLE,
  questions: [{ type: "SRV", name: "_sip._udp.sip.test" }],
  answers: [
    {
      type: "SRV",
      name: "_sip._udp.sip.test",
      ttl: 60,
      data: { priority: 10, weight: 100, port: 5060, target: "pbx.sip.test" },
    },
    {
      type: "SRV",
      name: "_sip._udp.sip.test",
      ttl: 60,
      data: { priority: 20, weight: 100, port: 5062, target: "pbx2.sip.test" },
    },
  ],
  additionals: [
    { type: "A", name: "pbx.sip.test", ttl: 60, data: "127.0.0.1" },
    { type: "A", name: "pbx2.sip.test", ttl: 60, data: "127.0.0.3" },
    { type: "AAAA", name: "pbx2.sip.test", ttl: 60, data: "::3" },
  ],
};

const out = new Uint8Array(4096);
const outBuf = Buffer.alloc(4096);
const query: DnsMessageInit = { id: 1, rd: true, questions: [{ name: "sip.test", type: "NAPTR" }] };
const theirQuery = {
  type: "query",
  id: 1,
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ type: "NAPTR", name: "sip.test" }],
};

// Each iteration handles N messages; warm both libraries up before measuring.
const N = 100;
for (let i = 0; i < 20_000; i++) {
  decodeMessage(naptrBytes);
  dnsPacket.decode(naptrBuf);
  decodeMessage(srvBytes);
  dnsPacket.decode(srvBuf);
  encodeMessage(ours);
  dnsPacket.encode(theirs);
  encodeMessageInto(ours, out, 0);
  dnsPacket.encode(theirs, outBuf, 0);
  encodeMessage(query);
  dnsPacket.encode(theirQuery);
  encodeMessageInto(query, out, 0);
  dnsPacket.encode(theirQuery, outBuf, 0);
}

Deno.bench("rfc1035 decode NAPTR response", { group: "decode NAPTR" }, () => {
  for (let i = 0; i < N; i++) {
    decodeMessage(naptrBytes);
  }
});
Deno.bench("dns-packet decode NAPTR response", { group: "decode NAPTR" }, () => {
  for (let i = 0; i < N; i++) {
    dnsPacket.decode(naptrBuf);
  }
});
Deno.bench("rfc1035 decode SRV response", { group: "decode SRV" }, () => {
  for (let i = 0; i < N; i++) {
    decodeMessage(srvBytes);
  }
});
Deno.bench("dns-packet decode SRV response", { group: "decode SRV" }, () => {
  for (let i = 0; i < N; i++) {
    dnsPacket.decode(srvBuf);
  }
});
Deno.bench("rfc1035 encode SRV response", { group: "encode SRV" }, () => {
  for (let i = 0; i < N; i++) {
    encodeMessage(ours);
  }
});
Deno.bench("dns-packet encode SRV response", { group: "encode SRV" }, () => {
  for (let i = 0; i < N; i++) {
    dnsPacket.encode(theirs);
  }
});
Deno.bench("rfc1035 encode query", { group: "encode query" }, () => {
  for (let i = 0; i < N; i++) {
    encodeMessage(query);
  }
});
Deno.bench("dns-packet encode query", { group: "encode query" }, () => {
  for (let i = 0; i < N; i++) {
    dnsPacket.encode(theirQuery);
  }
});

// Into a caller's buffer: both libraries write the message into the same-sized buffer.
Deno.bench("rfc1035 encodeMessageInto SRV response", { group: "encode SRV into a buffer" }, () => {
  for (let i = 0; i < N; i++) {
    encodeMessageInto(ours, out, 0);
  }
});
Deno.bench(
  "dns-packet encode(SRV response, buf, 0)",
  { group: "encode SRV into a buffer" },
  () => {
    for (let i = 0; i < N; i++) {
      dnsPacket.encode(theirs, outBuf, 0);
    }
  },
);
Deno.bench("rfc1035 encodeMessageInto query", { group: "encode query into a buffer" }, () => {
  for (let i = 0; i < N; i++) {
    encodeMessageInto(query, out, 0);
  }
});
Deno.bench("dns-packet encode(query, buf, 0)", { group: "encode query into a buffer" }, () => {
  for (let i = 0; i < N; i++) {
    dnsPacket.encode(theirQuery, outBuf, 0);
  }
});
