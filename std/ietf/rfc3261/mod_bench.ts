// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// deno bench -A std/ietf/rfc3261/mod_bench.ts
// Our SIP parser and formatter beside sip@0.0.6, drachtio-sip@0.6.3 and JsSIP 3.13.8
// (lib/Parser.js) on the same three messages.
import sip from "npm:sip@0.0.6";
import * as drachtio from "npm:drachtio-sip@0.6.3";
import JsSipParser from "npm:jssip@3.13.8/lib/Parser.js";
import { parseMessage, SipMessage, validateMessage } from "./mod.ts";

const SDP = "v=0\r\no=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\ns=-\r\n" +
  "c=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n" +
  "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n";

const INVITE = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n" +
  "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n" +
  "Max-Forwards: 70\r\n" +
  "To: Bob <sip:bob@biloxi.example.com>\r\n" +
  'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r\n' +
  "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n" +
  "CSeq: 314159 INVITE\r\n" +
  "Contact: <sip:alice@pc33.atlanta.example.com>\r\n" +
  "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\n" +
  "User-Agent: bench/1.0\r\n" +
  "Content-Type: application/sdp\r\n" +
  `Content-Length: ${SDP.length}\r\n\r\n` + SDP;

const OK = "SIP/2.0 200 OK\r\n" +
  "Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bKnashds8;received=192.0.2.3\r\n" +
  "Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2\r\n" +
  "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n" +
  "Record-Route: <sip:server10.biloxi.example.com;lr>, <sip:bigbox3.site3.atlanta.example.com;lr>\r\n" +
  "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n" +
  "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n" +
  "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n" +
  "CSeq: 314159 INVITE\r\n" +
  "Contact: <sip:bob@192.0.2.4>\r\n" +
  "Content-Type: application/sdp\r\n" +
  `Content-Length: ${SDP.length}\r\n\r\n` + SDP;

const REGISTER = "REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n" +
  "Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7\r\n" +
  "Max-Forwards: 70\r\n" +
  "To: Bob <sip:bob@biloxi.example.com>\r\n" +
  "From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n" +
  "Call-ID: 843817637684230@998sdasdh09\r\n" +
  "CSeq: 1826 REGISTER\r\n" +
  "Contact: <sip:bob@192.0.2.4>\r\n" +
  "Expires: 7200\r\n" +
  "Content-Length: 0\r\n\r\n";

const D = ((drachtio as unknown as { default?: unknown }).default ?? drachtio) as {
  SipMessage: new (s: string) => { toString(): string; get(h: string): string };
};
const J = JsSipParser as unknown as { parseMessage(s: string, ua: unknown): unknown };
const S = sip as unknown as { parse(s: string): unknown; stringify(m: unknown): string };

const messages: [string, string][] = [["INVITE with SDP", INVITE], ["200 OK", OK], [
  "REGISTER",
  REGISTER,
]];
const bytes = new Map(messages.map(([n, m]) => [n, new TextEncoder().encode(m)]));

for (const [name, text] of messages) {
  const group = `parse ${name}`;
  Deno.bench({ name: "rtclite parseMessage (string)", group, baseline: true }, () => {
    parseMessage(text);
  });
  Deno.bench({ name: "rtclite parseMessage (bytes)", group }, () => {
    parseMessage(bytes.get(name)!);
  });
  Deno.bench({ name: "rtclite parseMessage + validateMessage", group }, () => {
    validateMessage(parseMessage(text));
  });
  Deno.bench({ name: "sip@0.0.6 parse", group }, () => {
    S.parse(text);
  });
  Deno.bench({ name: "drachtio-sip@0.6.3 SipMessage", group }, () => {
    new D.SipMessage(text);
  });
  Deno.bench({ name: "jssip@3.13.8 Parser.parseMessage", group }, () => {
    J.parseMessage(text, {});
  });

  const ours = parseMessage(text);
  const theirs = S.parse(text);
  const dr = new D.SipMessage(text);
  const fgroup = `format ${name}`;
  Deno.bench({ name: "rtclite SipMessage.toString", group: fgroup, baseline: true }, () => {
    ours.toString();
  });
  Deno.bench({ name: "rtclite SipMessage.toBytes", group: fgroup }, () => {
    ours.toBytes();
  });
  const init = ours.isRequest
    ? { method: ours.method!, uri: ours.uri! }
    : { status: ours.status, reason: ours.reason };
  // The same message formatted from scratch (a new object: nothing remembered).
  Deno.bench({ name: "rtclite toString, first format", group: fgroup }, () => {
    new SipMessage({ ...init, headers: ours.headers, body: ours.body }).toString();
  });
  // A proxy's case: the top Via changes, so the head is formatted again.
  const changed = parseMessage(text);
  const via = changed.headers.find((h) => h.name === "Via")!;
  const vias = [via.value, via.value + ";received=192.0.2.99"];
  let n = 0;
  Deno.bench({ name: "rtclite toString after changing the top Via", group: fgroup }, () => {
    via.value = vias[n++ & 1]!;
    changed.toString();
  });
  Deno.bench({ name: "sip@0.0.6 stringify", group: fgroup }, () => {
    S.stringify(theirs);
  });
  Deno.bench({ name: "drachtio-sip@0.6.3 toString", group: fgroup }, () => {
    dr.toString();
  });
}
