// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  AuthParseError,
  basicCredentials,
  computeDigestResponse,
  computeUserhash,
  DigestClient,
  digestHash,
  type DigestInput,
  DigestServer,
  formatChallenge,
  formatDigestChallenge,
  formatDigestCredentials,
  formatNc,
  parseBasicCredentials,
  parseChallenges,
  parseCredentials,
  parseDigestChallenge,
  parseDigestCredentials,
  pureHashProvider,
} from "./mod.ts";
import { nativeHashProvider } from "./native.ts";

Deno.test("RFC 2617 §3.5 and RFC 7616 §3.9 worked examples reproduce exactly", async (t) => {
  await t.step("RFC 2617 §3.5 (MD5, qop=auth)", async () => {
    const client = new DigestClient({
      username: "Mufasa",
      password: "Circle Of Life",
      cnonce: () => "0a4f113b",
    });
    const header = await client.authorize(
      `Digest
                 realm="testrealm@host.com",
                 qop="auth,auth-int",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
      { method: "GET", uri: "/dir/index.html" },
    );
    const c = parseDigestCredentials(header);
    deepEqual(c, {
      username: "Mufasa",
      realm: "testrealm@host.com",
      nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      uri: "/dir/index.html",
      response: "6629fae49393a05397450978507c4ef1",
      algorithm: "MD5",
      qop: "auth",
      nc: "00000001",
      cnonce: "0a4f113b",
      opaque: "5ccc069c403ebaf9f0171e9517f40e41",
      userhash: false,
    });
  });
  const www = `Digest
       realm="http-auth@example.org",
       qop="auth, auth-int",
       algorithm=SHA-256,
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", Digest
       realm="http-auth@example.org",
       qop="auth, auth-int",
       algorithm=MD5,
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`;
  const cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  await t.step("RFC 7616 §3.9.1 SHA-256 (topmost challenge)", async () => {
    const client = new DigestClient({
      username: "Mufasa",
      password: "Circle of Life",
      cnonce: () => cnonce,
    });
    const c = parseDigestCredentials(
      await client.authorize(www, { method: "GET", uri: "/dir/index.html" }),
    );
    equal(c.algorithm, "SHA-256");
    equal(c.response, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    equal(c.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
  });
  await t.step("RFC 7616 §3.9.1 MD5 (second challenge)", async () => {
    const client = new DigestClient({
      username: "Mufasa",
      password: "Circle of Life",
      cnonce: () => cnonce,
    });
    const md5 = parseChallenges(www).map(parseDigestChallenge)[1]!;
    const c = parseDigestCredentials(
      await client.authorize(md5, { method: "GET", uri: "/dir/index.html" }),
    );
    equal(c.algorithm, "MD5");
    equal(c.response, "8ca523f5e9506fed4657c9700eebdbec");
  });
  await t.step("RFC 7616 §3.9.2 SHA-512-256 with userhash (values of erratum 4897)", async () => {
    // The RFC prints userhash 488869... and response ae66e6..., which do not follow from its
    // inputs; erratum 4897 (reported) and other implementations give these values.
    const client = new DigestClient({
      username: "J\u00e4s\u00f8n Doe",
      password: "Secret, or not?",
      cnonce: () => "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
    });
    const c = parseDigestCredentials(
      await client.authorize(
        `Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256,
       nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
       opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true`,
        { method: "GET", uri: "/doe.json" },
      ),
    );
    equal(c.username, "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b");
    equal(c.userhash, true);
    equal(c.response, "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5");
  });
  await t.step("RFC 7616 §3.9.2 second form: username* instead of userhash", async () => {
    const client = new DigestClient({
      username: "J\u00e4s\u00f8n Doe",
      password: "Secret, or not?",
      cnonce: () => "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
    });
    const header = await client.authorize(
      `Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256,
       nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
       opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8`,
      { method: "GET", uri: "/doe.json" },
    );
    match(header, /^Digest username\*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="api@example.org"/);
    const c = parseDigestCredentials(header);
    equal(c.username, "J\u00e4s\u00f8n Doe");
    equal(c.extendedUsername, true);
    equal(c.userhash, false);
    equal(c.response, "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5");
    equal(formatDigestCredentials(c), header);
  });
  await t.step("RFC 8760 §2.6 item 7: H(empty body) for SHA-256", async () => {
    equal(
      await digestHash("SHA-256", new Uint8Array()),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });
});

Deno.test("digestHash() matches FIPS 180-4 / RFC 1321 vectors", async () => {
  equal(await digestHash("MD5", ""), "d41d8cd98f00b204e9800998ecf8427e");
  equal(
    await digestHash("SHA-512-256", "abc"),
    "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23",
  );
  equal(
    await digestHash("SHA-256-sess", "abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("computeDigestResponse() handles -sess, auth-int, no qop and ha1 (RFC 2617 §3.2.2)", async () => {
  const base: DigestInput = {
    username: "Mufasa",
    realm: "testrealm@host.com",
    password: "Circle Of Life",
    nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    method: "GET",
    uri: "/dir/index.html",
  };
  // Computed by hand from the definitions: RFC 2069 form without qop.
  const ha1 = await digestHash("MD5", "Mufasa:testrealm@host.com:Circle Of Life");
  const ha2 = await digestHash("MD5", "GET:/dir/index.html");
  equal(await computeDigestResponse(base), await digestHash("MD5", `${ha1}:${base.nonce}:${ha2}`));
  const { password: _, ...noPassword } = base;
  equal(await computeDigestResponse({ ...noPassword, ha1 }), await computeDigestResponse(base));
  const sess = await computeDigestResponse({
    ...base,
    algorithm: "MD5-sess",
    qop: "auth-int",
    nc: "00000002",
    cnonce: "c",
    body: "hello",
  });
  const sha1 = await digestHash("MD5", `${ha1}:${base.nonce}:c`);
  const a2 = await digestHash("MD5", `GET:/dir/index.html:${await digestHash("MD5", "hello")}`);
  equal(sess, await digestHash("MD5", `${sha1}:${base.nonce}:00000002:c:auth-int:${a2}`));
  await rejects(computeDigestResponse(noPassword), TypeError);
  await rejects(computeDigestResponse({ ...base, qop: "auth" }), TypeError);
});

Deno.test("parseChallenges() splits several challenges and unescapes quoted-strings (RFC 2617 §1.2)", () => {
  deepEqual(
    parseChallenges(
      'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple",' +
        ' Bearer dGVzdA==,, Digest realm="d", nonce="a,b"',
    ),
    [
      { scheme: "Newauth", params: { realm: "apps", type: "1", title: 'Login to "apps"' } },
      { scheme: "Basic", params: { realm: "simple" } },
      { scheme: "Bearer", params: {}, token68: "dGVzdA==" },
      { scheme: "Digest", params: { realm: "d", nonce: "a,b" } },
    ],
  );
  deepEqual(parseChallenges("Negotiate"), [{ scheme: "Negotiate", params: {} }]);
  deepEqual(parseChallenges('Digest REALM = "x" ,\r\n NONCE=y'), [
    { scheme: "Digest", params: { realm: "x", nonce: "y" } },
  ]);
  for (
    const bad of [
      "",
      'Digest realm="x',
      'Digest realm="x" nonce=1',
      "Digest a=b c",
      "=x",
      "Digest a=1,a=2",
    ]
  ) {
    throws(() => parseChallenges(bad), AuthParseError, bad);
  }
});

Deno.test("parseCredentials() rejects more than one set of credentials", () => {
  throws(() => parseCredentials("Basic abc, Basic def"), AuthParseError);
  equal(parseCredentials("Basic abc=").token68, "abc=");
});

Deno.test("Basic credentials round-trip with UTF-8 (RFC 2617 §2)", () => {
  equal(basicCredentials("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  deepEqual(parseBasicCredentials(basicCredentials("t\u00e9st", "p:w")), {
    username: "t\u00e9st",
    password: "p:w",
  });
  throws(() => basicCredentials("a:b", "c"), TypeError);
  throws(() => parseBasicCredentials("Basic !!!"), AuthParseError);
  throws(() => parseBasicCredentials("Basic Zm9v"), AuthParseError); // "foo": no colon
  throws(() => parseBasicCredentials('Digest a="b"'), AuthParseError);
});

Deno.test("parseDigestCredentials() requires parameters and checks nc", () => {
  const ok1 = 'Digest username="u", realm="r", nonce="n", uri="/", response="ab"';
  equal(parseDigestCredentials(ok1).algorithm, "MD5");
  throws(() => parseDigestCredentials(ok1.replace('uri="/", ', "")), AuthParseError);
  throws(() => parseDigestCredentials(ok1 + ", nc=1"), AuthParseError);
  throws(() => parseDigestCredentials(ok1 + ", username*=UTF-8''x"), AuthParseError);
  throws(() => parseDigestCredentials("Basic abc"), AuthParseError);
});

Deno.test("formatDigestChallenge() round-trips through parseDigestChallenge() (RFC 7616 §3.3)", () => {
  const c = {
    realm: 'a "quoted" \\ realm',
    nonce: "n",
    opaque: "o",
    domain: ["sip:a", "sip:b"],
    stale: true,
    algorithm: "SHA-512-256-sess",
    qop: ["auth", "auth-int"],
    charset: "UTF-8",
    userhash: true,
  };
  const text = formatDigestChallenge(c);
  match(text, /stale=true, algorithm=SHA-512-256-sess, qop="auth,auth-int"/);
  deepEqual(parseDigestChallenge(parseChallenges(text)[0]!), c);
  throws(() => parseDigestChallenge({ scheme: "Digest", params: { realm: "r" } }), AuthParseError);
});

Deno.test("property: format/parse round trip of challenges and credentials", () => {
  const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
  const value = fc.string({ maxLength: 20 }).filter((s) => !/[\r\n]/.test(s));
  fc.assert(
    fc.property(
      fc.dictionary(name, value, { minKeys: 1, maxKeys: 6 }),
      fc.subarray(["realm", "nonce"]),
      (params, quoted) => {
        const text = formatChallenge({ scheme: "Digest", params }, quoted);
        const [back] = parseChallenges(text);
        deepEqual(back!.params, params);
        deepEqual(parseCredentials(text).params, params);
      },
    ),
  );
});

Deno.test("property: random header values throw only AuthParseError", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (s) => {
      for (const f of [parseChallenges, parseCredentials, parseDigestCredentials]) {
        try {
          f(s);
        } catch (e) {
          ok(e instanceof AuthParseError, String(e));
        }
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("DigestClient counts nc per nonce and picks the topmost supported challenge (RFC 8760 §2.4)", async () => {
  const client = new DigestClient({ username: "u", password: "p" });
  const req = { method: "INVITE", uri: "sip:bob@example.com" };
  const two = [
    'Digest realm="r", nonce="1", algorithm=SHA-1, qop="auth"',
    'Digest realm="r", nonce="2", qop="auth"',
  ];
  equal(client.select(two)?.nonce, "2");
  equal(client.select('Basic realm="x"'), undefined);
  equal(parseDigestCredentials(await client.authorize(two, req)).nc, "00000001");
  equal(parseDigestCredentials(await client.authorize(two, req)).nc, "00000002");
  const other = 'Digest realm="r", nonce="3", qop="auth-int"';
  const c = parseDigestCredentials(await client.authorize(other, req));
  equal(c.nc, "00000001");
  equal(c.qop, "auth-int");
  await rejects(client.authorize('Basic realm="x"', req), AuthParseError);
  // RFC 2069 form when no qop is offered: no nc, cnonce.
  const legacy = parseDigestCredentials(await client.authorize('Digest realm="r", nonce="4"', req));
  equal(legacy.nc, undefined);
  equal(legacy.cnonce, undefined);
});

Deno.test("DigestServer challenges, verifies, signals stale and rejects replays (RFC 7616 §3.3, §5.5)", async (t) => {
  let now = 1_000_000;
  const secret = new Uint8Array(32).fill(7);
  const server = new DigestServer({
    realm: "example.com",
    secret,
    nonceLifetime: 60_000,
    algorithms: ["SHA-512-256", "SHA-256", "MD5"],
    qop: ["auth", "auth-int"],
    opaque: "op",
    now: () => now,
  });
  const users: Record<string, string> = { alice: "wonderland" };
  const lookup = (u: string) => users[u] === undefined ? undefined : { password: users[u]! };
  const req = { method: "REGISTER", uri: "sip:example.com", body: "" };
  const challenges = await server.challenge();
  equal(challenges.length, 3);
  match(
    challenges[0]!,
    /^Digest realm="example.com", nonce="[A-Za-z0-9_-]{43}", opaque="op", algorithm=SHA-512-256, qop="auth,auth-int"$/,
  );
  const client = new DigestClient({ username: "alice", password: "wonderland" });

  await t.step("valid credentials, with Authentication-Info", async () => {
    const auth = await client.authorize(challenges, req);
    const r = await server.verify(auth, req, lookup);
    ok(r.ok);
    equal(r.username, "alice");
    const info = parseCredentials("X " + r.authenticationInfo).params;
    const c = parseDigestCredentials(auth);
    equal(info.nc, "00000001");
    equal(await client.verifyAuthenticationInfo(r.authenticationInfo), true);
    const forged = r.authenticationInfo.replace(
      /rspauth="(.)/,
      (_, c) => `rspauth="${c === "0" ? "1" : "0"}`,
    );
    equal(await client.verifyAuthenticationInfo(forged), false);
    equal(
      await client.verifyAuthenticationInfo('qop=auth, rspauth="00", cnonce="x", nc=00000001'),
      false,
    );
    equal(
      info.rspauth,
      await computeDigestResponse({
        algorithm: "SHA-512-256",
        username: "alice",
        realm: "example.com",
        password: "wonderland",
        nonce: c.nonce,
        method: "",
        uri: c.uri,
        qop: "auth",
        nc: 1,
        cnonce: c.cnonce!,
      }),
    );
  });
  await t.step("replayed nc is rejected, out-of-order nc within the window accepted", async () => {
    const auth1 = await client.authorize(challenges, req); // nc=2
    const auth2 = await client.authorize(challenges, req); // nc=3
    equal((await server.verify(auth2, req, lookup)).ok, true);
    equal((await server.verify(auth1, req, lookup)).ok, true);
    deepEqual(await server.verify(auth1, req, lookup), {
      ok: false,
      reason: "replay",
      stale: false,
      username: "alice",
    });
  });
  await t.step("wrong password, unknown user, bad nonce, uri, opaque, qop", async () => {
    const bad = new DigestClient({ username: "alice", password: "x" });
    const verdict = async (auth: string, r = req) => {
      const v = await server.verify(auth, r, lookup);
      return v.ok ? "ok" : v.reason;
    };
    equal(await verdict(await bad.authorize(challenges, req)), "response");
    const eve = new DigestClient({ username: "eve", password: "x" });
    equal(await verdict(await eve.authorize(challenges, req)), "user");
    const forged = challenges[0]!.replace(/nonce="[^"]+"/, 'nonce="AAAA"');
    equal(await verdict(await client.authorize(forged, req)), "nonce");
    equal(
      await verdict(await client.authorize(challenges, req), { ...req, uri: "sip:other" }),
      "uri",
    );
    equal(
      await verdict(await client.authorize(challenges[0]!.replace('"op"', '"zz"'), req)),
      "opaque",
    );
    equal(
      await verdict(await client.authorize(challenges[0]!.replace(/, qop="[^"]+"/, ""), req)),
      "qop",
    );
    equal(await verdict("Digest garbage"), "malformed");
    equal(await verdict(basicCredentials("alice", "wonderland")), "malformed");
    // A nonce signed with another secret (another server) is invalid.
    const other = new DigestServer({ realm: "example.com", opaque: "op", now: () => now });
    equal(await verdict(await client.authorize(await other.challenge(), req)), "nonce");
  });
  await t.step("auth-int covers the body", async () => {
    const intClient = new DigestClient({
      username: "alice",
      password: "wonderland",
      qop: "auth-int",
    });
    const withBody = { ...req, body: "v=0\r\n" };
    const fresh = await server.challenge();
    const auth = await intClient.authorize(fresh, withBody);
    equal(parseDigestCredentials(auth).qop, "auth-int");
    equal((await server.verify(auth, withBody, lookup)).ok, true);
    const auth2 = await intClient.authorize(fresh, withBody);
    equal((await server.verify(auth2, { ...req, body: "v=1\r\n" }, lookup)).ok, false);
  });
  await t.step("expired nonce: stale only when the credentials are right", async () => {
    const auth = await client.authorize(challenges, req);
    const bad = await new DigestClient({ username: "alice", password: "x" }).authorize(
      challenges,
      req,
    );
    now += 61_000;
    deepEqual(await server.verify(auth, req, lookup), {
      ok: false,
      reason: "stale",
      stale: true,
      username: "alice",
    });
    equal((await server.verify(bad, req, lookup)).ok, false);
    equal(((await server.verify(bad, req, lookup)) as { stale: boolean }).stale, false);
    const fresh = await server.challenge({ stale: true });
    match(fresh[0]!, /stale=true/);
    equal((await server.verify(await client.authorize(fresh, req), req, lookup)).ok, true);
  });
});

Deno.test("DigestServer with userhash and ha1 storage (RFC 7616 §3.4.4)", async () => {
  const server = new DigestServer({ realm: "r", algorithms: ["SHA-256"], userhash: true });
  const ha1 = await digestHash("SHA-256", "bob:r:pw");
  const hashed = await computeUserhash("SHA-256", "bob", "r");
  const lookup = (u: string, _realm: string, userhash: boolean) =>
    userhash && u === hashed ? { ha1, username: "bob" } : undefined;
  const challenges = await server.challenge();
  match(challenges[0]!, /charset=UTF-8, userhash=true/);
  const req = { method: "GET", uri: "/" };
  const auth = await new DigestClient({ username: "bob", password: "pw" }).authorize(
    challenges,
    req,
  );
  match(auth, /userhash=true/);
  const r = await server.verify(auth, req, lookup);
  ok(r.ok);
  equal(r.username, "bob");
});

Deno.test("DigestServer accepts RFC 2069 credentials only with allowNoQop", async () => {
  const strict = new DigestServer({ realm: "r", algorithms: ["MD5"] });
  const lax = new DigestServer({ realm: "r", algorithms: ["MD5"], allowNoQop: true });
  const req = { method: "REGISTER", uri: "sip:r" };
  const lookup = () => ({ password: "p" });
  for (const [server, want] of [[strict, false], [lax, true]] as const) {
    const [challenge] = await server.challenge();
    const noQop = challenge!.replace(/, qop="auth"/, "");
    const auth = await new DigestClient({ username: "u", password: "p" }).authorize(noQop, req);
    equal((await server.verify(auth, req, lookup)).ok, want);
  }
});

Deno.test("formatDigestCredentials() quotes per RFC 7616 §3.4", () => {
  const text = formatDigestCredentials({
    username: "a",
    realm: "r",
    nonce: "n",
    uri: "sip:bob@example.com;transport=tcp",
    response: "00",
    algorithm: "MD5-sess",
    cnonce: "c",
    userhash: false,
  });
  equal(
    text,
    'Digest username="a", realm="r", nonce="n", uri="sip:bob@example.com;transport=tcp", ' +
      'response="00", algorithm=MD5-sess, cnonce="c"',
  );
});

// Issue 18 item 4: replay tracking kept only the last 10,000 nonces, so after another user logged
// in 10,001 times, alice's captured Authorization was accepted again.
Deno.test("DigestServer never accepts a captured Authorization twice, whatever other users do (RFC 7616 §5.5)", async (t) => {
  let now = 1_000_000;
  const server = new DigestServer({
    realm: "example.com",
    algorithms: ["MD5"],
    nonceLifetime: 60_000,
    now: () => now,
  });
  const users: Record<string, string> = { alice: "secret", mallory: "mallory" };
  const lookup = (u: string) => users[u] ? { password: users[u]! } : undefined;
  const req = { method: "REGISTER", uri: "sip:example.com" };
  const alice = new DigestClient({ username: "alice", password: "secret" });
  const aliceChallenge = await server.challenge();
  const captured = await alice.authorize(aliceChallenge, req);
  equal((await server.verify(captured, req, lookup)).ok, true);

  await t.step("10,001 logins of another user, then the replay: refused", async () => {
    const mallory = new DigestClient({ username: "mallory", password: "mallory" });
    let accepted = 0, refused = 0;
    for (let i = 0; i < 10_001; i++) {
      now += 1; // 10 s in all, well within the nonce lifetime
      const r = await server.verify(
        await mallory.authorize(await server.challenge(), req),
        req,
        lookup,
      );
      if (r.ok) accepted++;
      else {
        refused++;
        deepEqual(r, { ok: false, reason: "stale", stale: true, username: "mallory" });
      }
    }
    // The table is bounded: alice's live nonce plus 9,999 of mallory's; the rest were refused.
    equal(server.trackedNonces, 10_000);
    equal(accepted, 9_999);
    equal(refused, 2);
    const replay = await server.verify(captured, req, lookup);
    equal(replay.ok, false);
    equal(!replay.ok && replay.reason, "replay");
    // Alice herself goes on with the next nc on her nonce.
    equal((await server.verify(await alice.authorize(aliceChallenge, req), req, lookup)).ok, true);
  });

  await t.step(
    "once the nonces expire the table empties; the replay is only ever stale",
    async () => {
      now += 60_001;
      const replay = await server.verify(captured, req, lookup);
      deepEqual(replay, { ok: false, reason: "stale", stale: true, username: "alice" });
      const fresh = await alice.authorize(await server.challenge(), req);
      equal((await server.verify(fresh, req, lookup)).ok, true);
      equal(server.trackedNonces, 1);
      // A clock that jumps back does not revive the forgotten nonces.
      now -= 120_000;
      equal((await server.verify(captured, req, lookup)).ok, false);
    },
  );
});

Deno.test("DigestServer accepts a nonce once without qop (RFC 2069), then answers stale", async () => {
  const server = new DigestServer({ realm: "r", algorithms: ["MD5"], allowNoQop: true });
  const req = { method: "REGISTER", uri: "sip:r" };
  const lookup = () => ({ password: "p" });
  const [challenge] = await server.challenge();
  const noQop = challenge!.replace(/, qop="auth"/, "");
  const auth = await new DigestClient({ username: "u", password: "p" }).authorize(noQop, req);
  equal((await server.verify(auth, req, lookup)).ok, true);
  deepEqual(await server.verify(auth, req, lookup), {
    ok: false,
    reason: "replay",
    stale: true,
    username: "u",
  });
});

Deno.test("DigestServer's nc window spans 64 values across both 32-bit halves (RFC 7616 §5.5)", async () => {
  const server = new DigestServer({ realm: "r", algorithms: ["MD5"] });
  const [challenge] = await server.challenge();
  const { nonce } = parseDigestChallenge(parseChallenges(challenge!)[0]!);
  const req = { method: "REGISTER", uri: "sip:r" };
  const lookup = () => ({ password: "p" });
  const answer = async (nc: number) => {
    const response = await computeDigestResponse({
      algorithm: "MD5",
      username: "u",
      realm: "r",
      password: "p",
      nonce,
      ...req,
      qop: "auth",
      nc,
      cnonce: "c",
    });
    const authorization = formatDigestCredentials({
      username: "u",
      realm: "r",
      nonce,
      uri: req.uri,
      response,
      algorithm: "MD5",
      qop: "auth",
      nc: formatNc(nc),
      cnonce: "c",
      userhash: false,
    });
    const v = await server.verify(authorization, req, lookup);
    return v.ok ? "ok" : v.reason;
  };
  // Each accepted nc, then each again; 100 moves the window so that 37 is the oldest it holds.
  const first = [5, 40, 3, 100, 37, 70];
  for (const nc of first) equal(await answer(nc), "ok", `nc ${nc}`);
  for (const nc of first) equal(await answer(nc), "replay", `nc ${nc} again`);
  equal(await answer(36), "replay", "too old: 64 below the highest");
  equal(await answer(68), "ok");
  equal(await answer(69), "ok");
  equal(await answer(200), "ok");
  equal(await answer(137), "ok", "63 below 200, in the window");
  equal(await answer(136), "replay", "64 below 200, outside");
  equal(await answer(200 + 32), "ok");
  equal(await answer(200), "replay", "32 below after a shift of exactly 32");
  equal(await answer(201), "ok");
});

Deno.test("DigestServer rejects a nonce spelled with non-zero trailing bits (one nonce, one spelling)", async () => {
  const server = new DigestServer({ realm: "r" });
  const nonce = await server.nonce();
  equal(await server.checkNonce(nonce), "valid");
  const last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".indexOf(
    nonce.at(-1)!,
  );
  const alias = nonce.slice(0, -1) +
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last | 1];
  equal(await server.checkNonce(alias), "invalid");
  equal(await server.checkNonce(nonce + "A"), "invalid");
  equal(await server.checkNonce(nonce.slice(0, -1) + "="), "invalid");
});

Deno.test("the pure and native hash providers agree, and a server verifies the other's clients", async () => {
  for (const name of ["MD5", "SHA-256", "SHA-512-256"] as const) {
    for (const text of ["", "abc", "J\u00e4s\u00f8n Doe:api@example.org", "x".repeat(2000)]) {
      equal(nativeHashProvider.hex(name, text), pureHashProvider.hex(name, text), `${name}`);
    }
  }
  equal(
    pureHashProvider.hex("SHA-256", new Uint8Array([0x61, 0x62, 0x63])),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  const req = { method: "INVITE", uri: "sip:bob@r" };
  for (
    const [a, b] of [[pureHashProvider, nativeHashProvider], [
      nativeHashProvider,
      pureHashProvider,
    ]] as const
  ) {
    const server = new DigestServer({
      realm: "r",
      algorithms: ["SHA-512-256", "SHA-256", "MD5"],
      hash: a,
    });
    const client = new DigestClient({ username: "u", password: "p", hash: b });
    for (const challenge of await server.challenge()) {
      const v = await server.verify(
        await client.authorize(challenge, req),
        req,
        async () => await Promise.resolve({ password: "p" }),
      );
      equal(v.ok && await client.verifyAuthenticationInfo(v.authenticationInfo), true);
    }
  }
});
