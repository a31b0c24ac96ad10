// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { formatTurnUri, parseTurnUri, type TurnUri, turnUriPort } from "./mod.ts";
import { UriParseError } from "../rfc2396/mod.ts";

Deno.test("parseTurnUri() reads host, port and transport (RFC 7065 §3.1)", async (t) => {
  const cases: [string, TurnUri][] = [
    ["turn:example.org", {
      scheme: "turn",
      host: "example.org",
      port: undefined,
      transport: undefined,
    }],
    ["turns:example.org?transport=tcp", {
      scheme: "turns",
      host: "example.org",
      port: undefined,
      transport: "tcp",
    }],
    ["turn:192.0.2.1:3478?transport=udp", {
      scheme: "turn",
      host: "192.0.2.1",
      port: 3478,
      transport: "udp",
    }],
    ["TURN:[::1]:5000?Transport=sctp-x_1.~", {
      scheme: "turn",
      host: "[::1]",
      port: 5000,
      transport: "sctp-x_1.~",
    }],
  ];
  for (const [text, want] of cases) {
    await t.step(text, () => deepEqual(parseTurnUri(text), want));
  }
});

Deno.test("turnUriPort() defaults to 3478 and 5349 (RFC 7065 §3.2)", () => {
  equal(turnUriPort(parseTurnUri("turn:a.org?transport=tcp")), 3478);
  equal(turnUriPort(parseTurnUri("turns:a.org")), 5349);
  equal(turnUriPort(parseTurnUri("turns:a.org:443?transport=tcp")), 443);
});

Deno.test("parseTurnUri() rejects what is not a TURN URI", () => {
  const bad: [string, number][] = [
    ["stun:a.org", 0],
    ["turn:", 5],
    ["turn:a.org?transport=", 21],
    ["turn:a.org?transport=u!p", 22],
    ["turn:a.org?transport=udp&x=1", 24],
    ["turn:a.org?proto=udp", 10],
    ["turn:a.org:99999", 11],
  ];
  for (const [text, offset] of bad) {
    throws(() => parseTurnUri(text), (e: unknown) => {
      ok(e instanceof UriParseError);
      equal(e.offset, offset, text);
      return true;
    });
  }
});

Deno.test("parseTurnUri(formatTurnUri(x)) equals x (property)", () => {
  const uri = fc.record({
    scheme: fc.constantFrom("turn" as const, "turns" as const),
    host: fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6().map((a) => `[${a}]`)),
    port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
    transport: fc.option(fc.stringMatching(/^[a-z0-9\-._~]{1,6}$/), { nil: undefined }),
  });
  fc.assert(fc.property(uri, (u) => deepEqual(parseTurnUri(formatTurnUri(u)), u)));
  fc.assert(fc.property(fc.string(), (s) => {
    try {
      parseTurnUri("turn:" + s);
    } catch (e) {
      if (!(e instanceof UriParseError)) throw e;
    }
  }));
});
