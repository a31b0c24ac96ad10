// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Digest authentication: ours (pure @noble/hashes and the node:crypto adapter) beside
// npm:digest-header (node-modules; MD5 through node:crypto's native code), interleaved in one run.
// deno bench -A std/ietf/rfc2617/mod_bench.ts
import digestHeader from "npm:digest-header@1.1.0";
import { createHmac } from "node:crypto";
import {
  computeDigestResponse,
  DigestClient,
  type DigestHashProvider,
  DigestServer,
  parseChallenges,
  parseDigestCredentials,
  pureHashProvider,
} from "./mod.ts";
import { nativeHashProvider } from "./native.ts";

const providers: [string, DigestHashProvider][] = [
  ["pure", pureHashProvider],
  ["native", nativeHashProvider],
];

const CHALLENGE = 'Digest realm="testrealm@host.com", qop="auth,auth-int", ' +
  'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
const request = { method: "GET", uri: "/dir/index.html" };
let sink = 0;

for (const [name, hash] of providers) {
  const client = new DigestClient({ username: "Mufasa", password: "Circle Of Life", hash });
  Deno.bench(`rfc2617 DigestClient.authorize MD5 (${name})`, { group: "authorize" }, async () => {
    sink += (await client.authorize(CHALLENGE, request)).length;
  });
}
Deno.bench("npm:digest-header MD5", { group: "authorize" }, () => {
  sink += digestHeader("GET", "/dir/index.html", CHALLENGE, "Mufasa:Circle Of Life").length;
});

for (const algorithm of ["MD5", "SHA-256", "SHA-512-256"] as const) {
  for (const [name, hash] of providers) {
    Deno.bench(
      `rfc2617 computeDigestResponse ${algorithm} qop=auth (${name})`,
      { group: `response ${algorithm}` },
      async () => {
        sink += (await computeDigestResponse({
          algorithm,
          username: "Mufasa",
          realm: "testrealm@host.com",
          password: "Circle Of Life",
          nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
          method: "GET",
          uri: "/dir/index.html",
          qop: "auth",
          nc: 1,
          cnonce: "0a4f113b",
        }, hash)).length;
      },
    );
  }
}

Deno.bench("rfc2617 parseChallenges (RFC 7616 §3.9.1, two challenges)", { group: "parse" }, () => {
  sink += parseChallenges(
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ' +
      'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
      'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", Digest ' +
      'realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, ' +
      'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
      'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
  ).length;
});
const SAMPLE_AUTHORIZATION = 'Digest username="alice", realm="example.com", ' +
  'nonce="AAGZ1DSvDkC3xMFWHLOX5tyKJvVFdWpv4Vc1K0iWjsM", uri="sip:example.com", ' +
  'response="6629fae49393a05397450978507c4ef1", algorithm=SHA-256, qop=auth, nc=00000001, ' +
  'cnonce="0a4f113b2c3d4e5f6a7b8c9d0e1f2a3b"';
Deno.bench("rfc2617 parseDigestCredentials (SIP REGISTER)", { group: "parse" }, () => {
  sink += parseDigestCredentials(SAMPLE_AUTHORIZATION).nonce.length;
});

// The server's nonce MAC: the pure provider's keyed HMAC beside node:crypto's createHmac.
const key = crypto.getRandomValues(new Uint8Array(32));
const stamp = new Uint8Array(27);
const keyed = pureHashProvider.hmacSha256(key);
Deno.bench("HMAC-SHA-256 of a nonce stamp (@noble/hashes, keyed once)", { group: "hmac" }, () => {
  sink += keyed(stamp)[0]!;
});
Deno.bench("HMAC-SHA-256 of a nonce stamp (node:crypto createHmac)", { group: "hmac" }, () => {
  sink += createHmac("sha256", key).update(stamp).digest()[0]!;
});

const sipRequest = { method: "REGISTER", uri: "sip:example.com" };
const lookup = () => ({ password: "secret" });
for (const algorithm of ["MD5", "SHA-256"] as const) {
  for (const [name, hash] of providers) {
    const server = new DigestServer({ realm: "example.com", algorithms: [algorithm], hash });
    const [serverChallenge] = await server.challenge();
    const sipClient = new DigestClient({ username: "alice", password: "secret", hash });
    Deno.bench(
      `rfc2617 DigestServer.challenge ${algorithm} (${name})`,
      { group: "challenge" },
      async () => {
        sink += (await server.challenge())[0]!.length;
      },
    );
    Deno.bench(
      `rfc2617 DigestServer.verify ${algorithm} (${name})`,
      { group: `verify ${algorithm}` },
      async (b) => {
        const authorization = await sipClient.authorize(serverChallenge!, sipRequest);
        b.start();
        const result = await server.verify(authorization, sipRequest, lookup);
        b.end();
        if (!result.ok) throw new Error(`verify failed: ${result.reason}`);
      },
    );
  }
}

globalThis.addEventListener("unload", () => {
  if (sink === 42) console.log(sink);
});
