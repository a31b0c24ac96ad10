// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { formatStunUri, parseStunUri, type StunUri, stunUriPort } from "./mod.ts";
import { UriParseError } from "../rfc2396/mod.ts";

Deno.test("parseStunUri() reads host and port (RFC 7064 §3.1)", async (t) => {
  const cases: [string, StunUri][] = [
    ["stun:example.org", { scheme: "stun", host: "example.org", port: undefined }],
    ["stuns:example.org", { scheme: "stuns", host: "example.org", port: undefined }],
    ["stun:192.0.2.1:3479", { scheme: "stun", host: "192.0.2.1", port: 3479 }],
    ["STUN:[2001:db8::1]:1", { scheme: "stun", host: "[2001:db8::1]", port: 1 }],
    ["stun:st%75n.example.org", { scheme: "stun", host: "st%75n.example.org", port: undefined }],
    ["stun:example.org:", { scheme: "stun", host: "example.org", port: undefined }],
  ];
  for (const [text, want] of cases) {
    await t.step(text, () => deepEqual(parseStunUri(text), want));
  }
});

Deno.test("stunUriPort() defaults to 3478 and 5349 (RFC 7064 §3.2)", () => {
  equal(stunUriPort(parseStunUri("stun:a.org")), 3478);
  equal(stunUriPort(parseStunUri("stuns:a.org")), 5349);
  equal(stunUriPort(parseStunUri("stuns:a.org:443")), 443);
});

Deno.test("parseStunUri() rejects what is not a STUN URI", () => {
  const bad: [string, number][] = [
    ["turn:a.org", 0],
    ["stun", 0],
    ["stun:", 5],
    ["stun:a b", 5],
    ["stun:[::1", 5],
    ["stun:a.org:70000", 11],
    ["stun:a.org:1x", 12],
    ["stun:a.org?transport=udp", 10],
    ["stun:user@a.org", 5],
  ];
  for (const [text, offset] of bad) {
    throws(() => parseStunUri(text), (e: unknown) => {
      ok(e instanceof UriParseError);
      equal(e.offset, offset, text);
      return true;
    });
  }
});

Deno.test("parseStunUri(formatStunUri(x)) equals x (property)", () => {
  const uri = fc.record({
    scheme: fc.constantFrom("stun" as const, "stuns" as const),
    host: fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6().map((a) => `[${a}]`)),
    port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
  });
  fc.assert(fc.property(uri, (u) => deepEqual(parseStunUri(formatStunUri(u)), u)));
  fc.assert(fc.property(fc.string(), (s) => {
    try {
      parseStunUri("stun:" + s);
    } catch (e) {
      if (!(e instanceof UriParseError)) throw e;
    }
  }));
});
