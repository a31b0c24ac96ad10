// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Digest authentication: ours beside npm:digest-header (node-modules; MD5 through node:crypto).
import digestHeader from "npm:digest-header@1.1.0";
import {
  computeDigestResponse,
  DigestClient,
  DigestServer,
  parseChallenges,
  parseDigestCredentials,
} from "./mod.ts";

const CHALLENGE = 'Digest realm="testrealm@host.com", qop="auth,auth-int", ' +
  'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
const request = { method: "GET", uri: "/dir/index.html" };
const client = new DigestClient({ username: "Mufasa", password: "Circle Of Life" });

Deno.bench("rfc2617 DigestClient.authorize (MD5, parse + answer + format)", {
  group: "authorize",
  baseline: true,
}, async () => {
  await client.authorize(CHALLENGE, request);
});

Deno.bench("npm:digest-header (MD5, parse + answer + format)", { group: "authorize" }, () => {
  digestHeader("GET", "/dir/index.html", CHALLENGE, "Mufasa:Circle Of Life");
});

for (const algorithm of ["MD5", "SHA-256", "SHA-512-256"] as const) {
  Deno.bench(
    `rfc2617 computeDigestResponse ${algorithm} qop=auth`,
    { group: "response" },
    async () => {
      await computeDigestResponse({
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
      });
    },
  );
}

Deno.bench("rfc2617 parseChallenges (RFC 7616 §3.9.1, two challenges)", () => {
  parseChallenges(
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ' +
      'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
      'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", Digest ' +
      'realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, ' +
      'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
      'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
  );
});

const server = new DigestServer({ realm: "example.com", algorithms: ["SHA-256"] });
const [serverChallenge] = await server.challenge();
const sipRequest = { method: "REGISTER", uri: "sip:example.com" };
const sipClient = new DigestClient({ username: "alice", password: "secret" });
const lookup = () => ({ password: "secret" });

Deno.bench("rfc2617 DigestServer.challenge (HMAC nonce)", async () => {
  await server.challenge();
});

Deno.bench(
  "rfc2617 DigestServer.verify SHA-256 (nonce HMAC + response + replay window)",
  async (b) => {
    const authorization = await sipClient.authorize(serverChallenge!, sipRequest);
    parseDigestCredentials(authorization);
    b.start();
    await server.verify(authorization, sipRequest, lookup);
    b.end();
  },
);
