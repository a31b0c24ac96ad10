// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import {
  basicAuth,
  compileTemplate,
  DataResource,
  digestAuth,
  FileResource,
  fromXml,
  negotiate,
  parseAccept,
  readData,
  respond,
  Router,
  toXml,
} from "@rtclite/app/web/rest";
import { basicCredentials, DigestClient } from "@rtclite/std/ietf/rfc2617";
import { parseXml } from "@rtclite/std/w3c/simplexml";
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { interopTest, run } from "@rtclite/testing";

/** Serves `router` on 127.0.0.1 (free port) for the duration of `fn`. */
async function withServer(
  router: Router,
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    router.fetch,
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

/** Sends a raw HTTP/1.1 request (the target is not normalized) and returns the response head. */
async function rawRequest(port: number, target: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
  );
  let text = "";
  const buf = new Uint8Array(4096);
  for (let n; (n = await conn.read(buf)) !== null;) {
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  return text;
}

Deno.test("compileTemplate() matches literals, {name} and a final {name*}", () => {
  const t = compileTemplate("/users/{id}/photos/{photo}.jpg");
  deepEqual(t.names, ["id", "photo"]);
  deepEqual(t.match("/users/7/photos/a%20b.jpg"), { id: "7", photo: "a b" });
  equal(t.match("/users/7/photos/a.png"), undefined);
  equal(t.match("/users/7/8/photos/a.jpg"), undefined);
  const w = compileTemplate("/files/{path*}");
  deepEqual(w.match("/files"), { path: "" });
  deepEqual(w.match("/files/"), { path: "" });
  deepEqual(w.match("/files/a/b"), { path: "a/b" });
  equal(w.match("/filesx"), undefined);
  throws(() => compileTemplate("users"), SyntaxError);
  throws(() => compileTemplate("/a/{x*}/b"), SyntaxError);
  throws(() => compileTemplate("/a/{x}/{x}"), SyntaxError);
  throws(() => compileTemplate("/a/{"), SyntaxError);
  throws(() => compileTemplate("/a/{x}").match("/a/%E0"), { status: 400 });
});

Deno.test("Router dispatches over HTTP: params, 404, 405 with Allow, HEAD, OPTIONS", async () => {
  const router = new Router()
    .get("/users/{id}", (req, ctx) => respond(req, { id: ctx.params.id }))
    .put("/users/{id}", () => new Response(null, { status: 204 }))
    .get("/boom", () => {
      throw new Error("secret detail");
    });
  await withServer(router, async (base) => {
    const ok1 = await fetch(`${base}/users/42`);
    equal(ok1.status, 200);
    deepEqual(await ok1.json(), { id: "42" });
    const nf = await fetch(`${base}/nothing`);
    equal(nf.status, 404);
    deepEqual(await nf.json(), { error: { status: 404, message: "Not found: /nothing" } });
    const na = await fetch(`${base}/users/42`, { method: "DELETE" });
    equal(na.status, 405);
    equal(na.headers.get("allow"), "GET, HEAD, PUT, OPTIONS");
    await na.body?.cancel();
    const head = await fetch(`${base}/users/42`, { method: "HEAD" });
    equal(head.status, 200);
    equal(head.headers.get("content-type"), "application/json; charset=utf-8");
    equal(await head.text(), "");
    const opt = await fetch(`${base}/users/42`, { method: "OPTIONS" });
    equal(opt.status, 204);
    equal(opt.headers.get("allow"), "GET, HEAD, PUT, OPTIONS");
    const boom = await fetch(`${base}/boom`, { headers: { accept: "text/plain" } });
    equal(boom.status, 500);
    equal(await boom.text(), "Internal server error\n");
  });
});

Deno.test("Router answers 413 for a declared or streamed body over the limit", async () => {
  const router = new Router({ maxBodySize: 16 }).post(
    "/echo",
    async (req, ctx) => respond(req, await readData(req, ctx.maxBodySize)),
  );
  await withServer(router, async (base) => {
    const small = await fetch(`${base}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"a":1}',
    });
    deepEqual(await small.json(), { a: 1 });
    const big = await fetch(`${base}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: "x".repeat(100) }),
    });
    equal(big.status, 413);
    await big.body?.cancel();
    // Chunked: no Content-Length, so the limit is enforced while reading.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode('"xxxxxxxxxx"'));
        c.close();
      },
    });
    const chunked = await fetch(`${base}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
    });
    equal(chunked.status, 413);
    await chunked.body?.cancel();
    const wrongType = await fetch(`${base}/echo`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hi",
    });
    equal(wrongType.status, 415);
    await wrongType.body?.cancel();
    const badJson = await fetch(`${base}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    equal(badJson.status, 400);
    await badJson.body?.cancel();
  });
});

Deno.test("negotiate() and respond() pick JSON or XML by Accept, else 406", async (t) => {
  const offers = ["application/json", "application/xml", "text/xml"];
  const cases: [string | null, string | undefined][] = [
    [null, "application/json"],
    ["", "application/json"],
    ["application/xml", "application/xml"],
    ["text/*", "text/xml"],
    ["application/json;q=0.5, application/xml;q=0.8", "application/xml"],
    ["application/*;q=0.2, application/json;q=0", "application/xml"],
    ["*/*;q=0.1, text/xml", "text/xml"],
    ["text/html", undefined],
    ["garbage, ,;;", undefined],
  ];
  for (const [accept, want] of cases) {
    await t.step(`Accept: ${accept}`, () => equal(negotiate(accept, offers), want));
  }
  deepEqual(parseAccept("a/b;q=0.3;level=1, c/d"), [{ type: "c/d", q: 1 }, {
    type: "a/b",
    q: 0.3,
  }]);
  const router = new Router().get("/v", (req) => respond(req, { n: 1 }));
  await withServer(router, async (base) => {
    const xml = await fetch(`${base}/v`, { headers: { accept: "application/xml" } });
    equal(xml.headers.get("vary"), "Accept");
    equal(await xml.text(), '<data type="object"><n type="number">1</n></data>');
    const html = await fetch(`${base}/v`, { headers: { accept: "text/html" } });
    equal(html.status, 406);
    equal(html.headers.get("content-type"), "text/plain; charset=utf-8");
    await html.body?.cancel();
    const xmlErr = await fetch(`${base}/nope`, { headers: { accept: "text/xml" } });
    equal(await xmlErr.text(), '<error status="404">Not found: /nope</error>');
  });
});

Deno.test("toXml() and fromXml() round-trip JSON values (property)", () => {
  const xmlChar = fc.string({
    unit: fc.constantFrom("a", "Z", " ", "<", "&", '"', "é", "\n", "1"),
  });
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => Object.is(n, -0) ? 0 : n),
      xmlChar,
      fc.array(tie("v"), { maxLength: 4 }),
      fc.dictionary(fc.oneof(xmlChar, fc.constantFrom("a", "b.c", "__proto__")), tie("v"), {
        maxKeys: 4,
      }),
    ),
  })).v;
  fc.assert(fc.property(value, (v) => {
    const back = fromXml(parseXml(toXml(v).toString()));
    deepEqual(back, v);
  }));
});

Deno.test("fromXml() rejects bad typed values with 400", () => {
  throws(() => fromXml(parseXml('<a type="number">x</a>')), { status: 400 });
  throws(() => fromXml(parseXml('<a type="boolean">yes</a>')), { status: 400 });
  throws(() => fromXml(parseXml('<a type="set"/>')), { status: 400 });
});

Deno.test("DataResource does GET, PUT, POST, DELETE over HTTP, in JSON and XML", async () => {
  const store: Record<string, unknown> = { users: [{ name: "alice" }], config: { port: 1 } };
  let changes = 0;
  const router = new Router();
  new DataResource(store, { onChange: () => void changes++ }).mount(router, "/data");
  const json = { "content-type": "application/json" };
  await withServer(router, async (base) => {
    deepEqual(await (await fetch(`${base}/data`)).json(), store);
    equal(await (await fetch(`${base}/data/users/0/name`)).json(), "alice");
    const missing = await fetch(`${base}/data/users/5`);
    equal(missing.status, 404);
    await missing.body?.cancel();
    // PUT creates (201) then replaces (204).
    const created = await fetch(`${base}/data/config/host`, {
      method: "PUT",
      headers: json,
      body: '"example.com"',
    });
    equal(created.status, 201);
    equal(await created.json(), "example.com");
    const replaced = await fetch(`${base}/data/config/port`, {
      method: "PUT",
      headers: json,
      body: "8080",
    });
    equal(replaced.status, 204);
    deepEqual(store.config, { port: 8080, host: "example.com" });
    // POST appends to an array and adds a numeric key to an object.
    const posted = await fetch(`${base}/data/users`, {
      method: "POST",
      headers: { "content-type": "application/xml" },
      body: '<user><name>bob</name><age type="number">30</age></user>',
    });
    equal(posted.status, 201);
    equal(posted.headers.get("location"), "/data/users/1");
    deepEqual(await posted.json(), { name: "bob", age: 30 });
    const postedObj = await fetch(`${base}/data/config`, {
      method: "POST",
      headers: json,
      body: "true",
    });
    equal(postedObj.headers.get("location"), "/data/config/2");
    await postedObj.body?.cancel();
    // DELETE.
    equal((await fetch(`${base}/data/users/0`, { method: "DELETE" })).status, 204);
    deepEqual(store.users, [{ name: "bob", age: 30 }]);
    const gone = await fetch(`${base}/data/users/9`, { method: "DELETE" });
    equal(gone.status, 404);
    await gone.body?.cancel();
    // Below a scalar: 409. Prototype keys: 400.
    const below = await fetch(`${base}/data/config/port/x`, {
      method: "PUT",
      headers: json,
      body: "1",
    });
    equal(below.status, 409);
    await below.body?.cancel();
    const proto = await fetch(`${base}/data/__proto__/polluted`, {
      method: "PUT",
      headers: json,
      body: "1",
    });
    equal(proto.status, 400);
    await proto.body?.cancel();
    equal(({} as Record<string, unknown>).polluted, undefined);
    const xml = await fetch(`${base}/data/users`, { headers: { accept: "application/xml" } });
    equal(
      await xml.text(),
      '<data type="array"><item type="object"><name>bob</name><age type="number">30</age>' +
        "</item></data>",
    );
  });
  equal(changes, 5);
});

Deno.test("DataResource serves a Map store and refuses writes when read-only", async () => {
  const store = new Map<string, unknown>([["a", { b: [1, 2] }]]);
  const router = new Router();
  new DataResource(store).mount(router, "/m");
  const ro = new Router();
  new DataResource(store, { readonly: true }).mount(ro, "/m");
  const put = (body: string) =>
    new Request("http://h/m/x", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body,
    });
  equal((await router.fetch(put("[1]"))).status, 201);
  deepEqual(store.get("x"), [1]);
  equal(await (await router.fetch(new Request("http://h/m/a/b/1"))).json(), 2);
  const denied = await ro.fetch(put("[2]"));
  equal(denied.status, 405);
  equal(denied.headers.get("allow"), "GET, HEAD, OPTIONS");
  deepEqual(store.get("x"), [1]);
  const root = await router.fetch(
    new Request("http://h/m", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: '{"only":true}',
    }),
  );
  equal(root.status, 204);
  deepEqual([...store], [["only", true]]);
});

Deno.test("FileResource serves files and listings, and rejects traversal", async () => {
  const base = await Deno.makeTempDir();
  const dir = `${base}/public`;
  await Deno.mkdir(`${dir}/sub`, { recursive: true });
  await Deno.writeTextFile(`${dir}/index.html`, "<h1>hi</h1>");
  await Deno.writeTextFile(`${dir}/sub/a b.txt`, "spaced");
  await Deno.writeTextFile(`${dir}/.secret`, "hidden");
  await Deno.writeTextFile(`${base}/outside.txt`, "root:x:0:0");
  await Deno.symlink(`${base}/outside.txt`, `${dir}/escape.txt`);
  await Deno.symlink(`${dir}/index.html`, `${dir}/inside.html`);
  const router = new Router();
  new FileResource(dir).mount(router, "/files");
  try {
    await withServer(router, async (url) => {
      const res = await fetch(`${url}/files/index.html`);
      equal(res.status, 200);
      equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      equal(res.headers.get("content-length"), "11");
      equal(await res.text(), "<h1>hi</h1>");
      const etag = res.headers.get("etag")!;
      const cached = await fetch(`${url}/files/index.html`, { headers: { "if-none-match": etag } });
      equal(cached.status, 304);
      await cached.body?.cancel();
      equal(await (await fetch(`${url}/files/sub/a%20b.txt`)).text(), "spaced");
      equal(await (await fetch(`${url}/files/inside.html`)).text(), "<h1>hi</h1>");
      deepEqual(await (await fetch(`${url}/files/`)).json(), [
        { name: "index.html", type: "file", size: 11 },
        { name: "inside.html", type: "file", size: 11 },
        { name: "sub", type: "directory" },
      ]);
      const head = await fetch(`${url}/files/index.html`, { method: "HEAD" });
      equal(head.headers.get("content-length"), "11");
      equal(await head.text(), "");
      const put = await fetch(`${url}/files/index.html`, { method: "PUT", body: "x" });
      equal(put.status, 405);
      await put.body?.cancel();
      const statuses: Record<string, number> = {};
      for (
        const target of [
          "/files/..%2Foutside.txt",
          "/files/..%2f..%2f..%2fetc%2fpasswd",
          "/files/sub/..%5C..%5Coutside.txt",
          "/files/%2e%2e/outside.txt",
          "/files/../outside.txt",
          "/files/sub/../../outside.txt",
          "/files/index.html%00.txt",
          "/files/.secret",
          "/files/escape.txt",
          "/files/nope.txt",
          "/files/index.html/x",
        ]
      ) {
        const head = await rawRequest(Number(new URL(url).port), target);
        statuses[target] = Number(head.split(" ")[1]);
        ok(!head.includes("root:x"), `${target} leaked the outside file`);
        ok(!head.includes("hidden"), `${target} leaked a dot file`);
      }
      deepEqual(statuses, {
        "/files/..%2Foutside.txt": 400,
        "/files/..%2f..%2f..%2fetc%2fpasswd": 400,
        "/files/sub/..%5C..%5Coutside.txt": 400,
        // The URL parser resolves dot segments first: these leave /files/ and match no route.
        "/files/%2e%2e/outside.txt": 404,
        "/files/../outside.txt": 404,
        "/files/sub/../../outside.txt": 404,
        "/files/index.html%00.txt": 400,
        "/files/.secret": 404,
        "/files/escape.txt": 403,
        "/files/nope.txt": 404,
        "/files/index.html/x": 404,
      });
    });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("digestAuth() challenges, verifies our DigestClient, and re-challenges stale (RFC 2617 §3.3)", async () => {
  let now = 1_000_000;
  const router = new Router()
    .use(digestAuth({
      realm: "rest@rtclite",
      lookup: (u) => u === "Mufasa" ? { password: "Circle Of Life" } : undefined,
      now: () => now,
      nonceLifetime: 60_000,
    }))
    .get("/dir/{name}", (_req, ctx) => new Response(`${ctx.user} ${ctx.params.name}`));
  await withServer(router, async (base) => {
    const first = await fetch(`${base}/dir/index.html?x=1`);
    equal(first.status, 401);
    const challenges = first.headers.get("www-authenticate")!;
    ok(challenges.includes("algorithm=SHA-256"), challenges);
    ok(challenges.includes("algorithm=MD5"), challenges);
    await first.body?.cancel();
    const client = new DigestClient({ username: "Mufasa", password: "Circle Of Life" });
    const request = { method: "GET", uri: "/dir/index.html?x=1" };
    const authorization = await client.authorize(challenges, request);
    const okRes = await fetch(`${base}/dir/index.html?x=1`, { headers: { authorization } });
    equal(okRes.status, 200);
    equal(await okRes.text(), "Mufasa index.html");
    equal(
      await client.verifyAuthenticationInfo(okRes.headers.get("authentication-info")!),
      true,
    );
    // The same credentials again: nc repeats, a replay.
    const replay = await fetch(`${base}/dir/index.html?x=1`, { headers: { authorization } });
    equal(replay.status, 401);
    await replay.body?.cancel();
    // Another URI than the one signed.
    const other = await fetch(`${base}/dir/other`, { headers: { authorization } });
    equal(other.status, 401);
    await other.body?.cancel();
    // Wrong password.
    const bad = await new DigestClient({ username: "Mufasa", password: "x" }).authorize(
      challenges,
      request,
    );
    const denied = await fetch(`${base}/dir/index.html?x=1`, { headers: { authorization: bad } });
    equal(denied.status, 401);
    await denied.body?.cancel();
    // After the nonce expires: 401 with stale=true; the client retries without asking the user.
    const fresh = await client.authorize(challenges, request);
    now += 120_000;
    const stale = await fetch(`${base}/dir/index.html?x=1`, { headers: { authorization: fresh } });
    equal(stale.status, 401);
    const again = stale.headers.get("www-authenticate")!;
    await stale.body?.cancel();
    equal(client.select(again)?.stale, true);
    const retried = await fetch(`${base}/dir/index.html?x=1`, {
      headers: { authorization: await client.authorize(again, request) },
    });
    equal(retried.status, 200);
    await retried.body?.cancel();
  });
});

Deno.test("basicAuth() accepts valid credentials only (RFC 2617 §2)", async () => {
  const router = new Router()
    .use(
      basicAuth({ realm: "WallyWorld", verify: (u, p) => u === "Aladdin" && p === "open sesame" }),
    )
    .get("/", (_req, ctx) => new Response(ctx.user!));
  await withServer(router, async (base) => {
    const none = await fetch(base);
    equal(none.status, 401);
    equal(none.headers.get("www-authenticate"), 'Basic realm="WallyWorld", charset="UTF-8"');
    await none.body?.cancel();
    for (const authorization of [basicCredentials("Aladdin", "x"), "Basic !!!", "Basic"]) {
      const res = await fetch(base, { headers: { authorization } });
      equal(res.status, 401, authorization);
      await res.body?.cancel();
    }
    const res = await fetch(base, {
      headers: { authorization: "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==" },
    });
    equal(await res.text(), "Aladdin");
  });
});

Deno.test("Router never throws on random paths, methods and headers (property)", async () => {
  const router = new Router().get("/a/{x}", () => new Response("a"));
  new DataResource({ k: 1 }).mount(router, "/d");
  await fc.assert(
    fc.asyncProperty(
      fc.webPath(),
      fc.constantFrom("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"),
      fc.string(),
      fc.string(),
      async (path, method, accept, body) => {
        const req = new Request(`http://h${path.startsWith("/") ? path : "/" + path}`, {
          method,
          headers: {
            accept: accept.replace(/[^\x20-\x7e]/g, ""),
            "content-type": "application/json",
          },
          ...(method === "GET" || method === "OPTIONS" ? {} : { body }),
        });
        const res = await router.fetch(req);
        ok(res.status >= 200 && res.status < 600);
        await res.body?.cancel();
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("rest.ts command line serves --data (saving changes) and --files", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/data.json`, '{"rooms":{"lobby":{"topic":"hi"}}}');
  await Deno.mkdir(`${dir}/www`);
  await Deno.writeTextFile(`${dir}/www/a.txt`, "A");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./rest.ts", import.meta.url).pathname,
      "--port",
      "0",
      "--data",
      `${dir}/data.json`,
      "--files",
      `${dir}/www`,
      "--user",
      "u:p",
      "--auth",
      "basic",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!/Listening on (http:\S+)/.test(text)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`rest.ts exited: ${text}`);
      text += value;
    }
    reader.releaseLock();
    child.stderr.cancel().catch(() => {});
    const base = /Listening on (http:\/\/\S+?)\/?\s/.exec(text)![1]!;
    const authorization = basicCredentials("u", "p");
    const unauth = await fetch(`${base}/data/rooms`);
    equal(unauth.status, 401);
    await unauth.body?.cancel();
    deepEqual(await (await fetch(`${base}/`, { headers: { authorization } })).json(), {
      data: "/data/",
      files: "/files/",
    });
    const put = await fetch(`${base}/data/rooms/lobby/topic`, {
      method: "PUT",
      headers: { authorization, "content-type": "application/json" },
      body: '"bye"',
    });
    equal(put.status, 204);
    deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/data.json`)), {
      rooms: { lobby: { topic: "bye" } },
    });
    equal(await (await fetch(`${base}/files/a.txt`, { headers: { authorization } })).text(), "A");
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

interopTest(
  "curl --digest and --basic authenticate against digestAuth() and basicAuth()",
  [{ bin: "curl", apt: "curl" }],
  async (t) => {
    const users: Record<string, string> = { Mufasa: "Circle Of Life" };
    for (const [scheme, auth] of [["digest", "--digest"], ["basic", "--basic"]] as const) {
      await t.step(scheme, async () => {
        const router = new Router()
          .use(
            scheme === "digest"
              ? digestAuth({
                realm: "curl",
                algorithms: ["MD5"],
                lookup: (u) => users[u] ? { password: users[u] } : undefined,
              })
              : basicAuth({ realm: "curl", verify: (u, p) => users[u] === p }),
          )
          .get("/who/{x}", (_req, ctx) => new Response(`${ctx.user} ${ctx.params.x}`));
        await withServer(router, async (base) => {
          const good = await run("curl", [
            "-sS",
            auth,
            "-u",
            "Mufasa:Circle Of Life",
            "-w",
            " %{http_code}",
            `${base}/who/me?q=1`,
          ], { timeout: 10_000, stdout: "piped", stderr: "piped" });
          equal(good.stdout, "Mufasa me 200");
          const bad = await run("curl", [
            "-sS",
            auth,
            "-u",
            "Mufasa:wrong",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            `${base}/who/me`,
          ], { timeout: 10_000, stdout: "piped", stderr: "piped" });
          equal(bad.stdout, "401");
        });
      });
    }
  },
  { timeout: 30_000 },
);

Deno.test("rest.ts command line: --help exits 0, usage errors exit 2 before any I/O", async () => {
  const run = async (...args: string[]) =>
    await new Deno.Command(Deno.execPath(), {
      // Without --allow-net or --allow-read of the data: usage errors come first.
      args: ["run", new URL("./rest.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const help = await run("--help");
  equal(help.code, 0);
  match(new TextDecoder().decode(help.stdout), /--user NAME:PASSWORD/);
  equal((await run("--nope")).code, 2);
  equal((await run("--port")).code, 2);
  equal((await run("--port", "x")).code, 2);
  equal((await run("--auth", "ntlm")).code, 2);
  equal((await run("extra")).code, 2);
});
