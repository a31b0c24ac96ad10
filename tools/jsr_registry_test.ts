// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import {
  globMatcher,
  publishResolver,
  readWorkspace,
  registryHandler,
  rewriteSpecifiers,
  serveRegistry,
  UnresolvedSpecifierError,
  versionMeta,
} from "./jsr_registry.ts";
import { importSpecifiers } from "./layout.ts";
import { freeSipPort, interopTest, run, startPeer, withTimeout } from "@rtclite/testing";
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";

// Ports are picked free per run, so that two runs at once do not collide.
const [UAS, LOCAL, BOB, ALICE] = [
  await freeSipPort(),
  await freeSipPort(),
  await freeSipPort(),
  await freeSipPort(),
];
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const resolve = publishResolver(
  { "@rtclite/std": "0.1.0", "@rtclite/app": "0.2.0" },
  {
    "@noble/hashes": "npm:@noble/hashes@^2.4.0",
    "@logtape/logtape": "npm:@logtape/logtape@^1.0.0",
  },
);

Deno.test("rewriteSpecifiers() rewrites bare imports as deno publish does, and nothing else", async (t) => {
  await t.step("static, type-only, re-exports, dynamic, side effect", () => {
    const src = [
      'import { concat } from "@rtclite/std/bytes";',
      "import type { Call } from '@rtclite/app/sip/client';",
      'export { x } from "@rtclite/std";',
      "export * from './local.ts';",
      'const m = await import("@noble/hashes/sha2.js");',
      'import "@logtape/logtape";',
      "import {",
      "  a,",
      '} from "@rtclite/std/ietf/rfc3261";',
      'import { equal } from "node:assert/strict";',
      'import { y } from "jsr:@std/path@1";',
    ].join("\n");
    equal(
      rewriteSpecifiers(src, resolve, "a.ts"),
      [
        'import { concat } from "jsr:@rtclite/std@^0.1.0/bytes";',
        "import type { Call } from 'jsr:@rtclite/app@^0.2.0/sip/client';",
        'export { x } from "jsr:@rtclite/std@^0.1.0";',
        "export * from './local.ts';",
        'const m = await import("npm:@noble/hashes@^2.4.0/sha2.js");',
        'import "npm:@logtape/logtape@^1.0.0";',
        "import {",
        "  a,",
        '} from "jsr:@rtclite/std@^0.1.0/ietf/rfc3261";',
        'import { equal } from "node:assert/strict";',
        'import { y } from "jsr:@std/path@1";',
      ].join("\n"),
    );
  });
  await t.step("JSDoc examples, comments and look-alike strings stay", () => {
    const src = [
      "/**",
      ' * import { concat } from "@rtclite/std/bytes";',
      " */",
      '// import { x } from "@rtclite/std";',
      'const keys = ["to", "from", "id"];',
      'const s = "moved from";',
    ].join("\n");
    equal(rewriteSpecifiers(src, resolve, "a.ts"), src);
  });
  await t.step("an unknown bare specifier is an error, as in deno publish", () => {
    throws(
      () => rewriteSpecifiers('import x from "lodash";', resolve, "std/a.ts"),
      (e: unknown) => e instanceof UnresolvedSpecifierError && e.specifier === "lodash",
    );
  });
});

Deno.test("publishResolver() takes the longest prefix on a path boundary", () => {
  const r = publishResolver({ "@a/b": "1.2.3", "@a/bc": "2.0.0" }, {
    "x/": "npm:x@1/",
    "x/y": "npm:z@2",
  });
  equal(r("@a/b"), "jsr:@a/b@^1.2.3");
  equal(r("@a/bc/d"), "jsr:@a/bc@^2.0.0/d");
  equal(r("x/y/w.js"), "npm:z@2/w.js");
  equal(r("x/q.js"), "npm:x@1/q.js");
  equal(r("@a/bcd"), undefined);
});

Deno.test("globMatcher() reads publish.exclude and .gitignore patterns", () => {
  const cases: [string, string, boolean][] = [
    ["**/*_test.ts", "main_test.ts", true],
    ["**/*_test.ts", "ietf/rfc3550/mod_test.ts", true],
    ["**/*_test.ts", "ietf/rfc3550/mod.ts", false],
    ["**/testdata/", "ietf/testdata/x.pcap", true],
    ["**/testdata/", "ietf/testdata.ts", false],
    ["/coverage/", "coverage/a.json", true],
    ["/coverage/", "std/coverage/a.json", false],
    ["*.ipynb_checkpoints", "notebooks/x.ipynb_checkpoints/y", true],
    ["/site/_site/", "site/_site/index.html", true],
  ];
  for (const [pattern, path, want] of cases) {
    equal(globMatcher(pattern)(path), want, `${pattern} ${path}`);
  }
});

Deno.test("readWorkspace() lays out every member as deno publish would upload it", async () => {
  const packages = await readWorkspace(ROOT);
  deepEqual(packages.map((p) => `@${p.scope}/${p.name}`), [
    "@rtclite/std",
    "@rtclite/app",
    "@rtclite/vnd",
    "@rtclite/sip-caller",
  ]);
  const dec = new TextDecoder();
  for (const p of packages) {
    const config = JSON.parse(
      await Deno.readTextFile(
        `${ROOT}/${p.name === "sip-caller" ? "cli/sip-caller" : p.name}/deno.json`,
      ),
    );
    deepEqual(p.exports, config.exports);
    equal(p.version, config.version);
    // Every export is a file of the package; no test, bench or testdata is.
    for (const file of Object.values(p.exports)) {
      ok(p.files.has(file.slice(1)), `${p.name} ${file}`);
    }
    for (const path of p.files.keys()) ok(!/_test\.ts$|_bench\.ts$|\/testdata\//.test(path), path);
    // No bare specifier is left in any module: each is relative or has a scheme.
    for (const [path, bytes] of p.files) {
      if (!path.endsWith(".ts")) continue;
      for (const spec of importSpecifiers(dec.decode(bytes))) {
        ok(/^(\.{1,2}\/|(jsr|npm|node):)/.test(spec), `${p.name}${path} imports ${spec}`);
      }
    }
  }
  const caller = packages.at(-1)!;
  deepEqual([...caller.files.keys()].filter((f) => f.endsWith(".ts")), [
    "/main.ts",
    "/sound.ts",
    "/speech.ts",
  ]);
  match(
    dec.decode(caller.files.get("/main.ts")),
    /from "jsr:@rtclite\/app@\^0\.1\.0\/sip\/client"/,
  );
});

Deno.test("registryHandler() serves meta.json, VERSION_meta.json with checksums, and files", async () => {
  const files = new Map([["/mod.ts", new TextEncoder().encode("export const x = 1;\n")]]);
  const pkg = { scope: "t", name: "a", version: "1.2.3", exports: { ".": "./mod.ts" }, files };
  const handle = await registryHandler([pkg]);
  const get = async (path: string) => await handle(new Request(`http://r${path}`));
  deepEqual(await (await get("/@t/a/meta.json")).json(), {
    scope: "t",
    name: "a",
    latest: "1.2.3",
    versions: { "1.2.3": {} },
  });
  const meta = await (await get("/@t/a/1.2.3_meta.json")).json();
  deepEqual(meta, await versionMeta(pkg));
  deepEqual(meta.manifest["/mod.ts"], {
    size: 20,
    checksum: "sha256-" +
      Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", files.get("/mod.ts")!)),
        (b) => b.toString(16).padStart(2, "0"),
      ).join(""),
  });
  const mod = await get("/@t/a/1.2.3/mod.ts");
  equal(mod.headers.get("content-type"), "application/typescript; charset=utf-8");
  equal(await mod.text(), "export const x = 1;\n");
  for (const path of ["/@t/a/1.2.4/mod.ts", "/@t/a/1.2.3/nope.ts", "/@t/b/meta.json", "/x"]) {
    equal((await get(path)).status, 404, path);
  }
});

/** Runs deno from `cwd` with an empty cache and the registry at `url`. */
function denoIn(cwd: string, denoDir: string, url: string) {
  return (args: string[], timeout = 120_000) =>
    run(Deno.execPath(), args, {
      cwd,
      timeout,
      env: { DENO_DIR: denoDir, JSR_URL: url, NO_COLOR: "1" },
    });
}

Deno.test("Deno checks the served checksums: a tampered file is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/ws/a`, { recursive: true });
    await Deno.mkdir(`${dir}/scratch`);
    await Deno.writeTextFile(`${dir}/ws/deno.json`, JSON.stringify({ workspace: ["./a"] }));
    await Deno.writeTextFile(
      `${dir}/ws/a/deno.json`,
      JSON.stringify({ name: "@t/a", version: "1.0.0", exports: { ".": "./main.ts" } }),
    );
    await Deno.writeTextFile(`${dir}/ws/a/main.ts`, 'console.log("from the registry");\n');
    const ac = new AbortController();
    const { server, url, packages } = await serveRegistry({ root: `${dir}/ws`, signal: ac.signal });
    try {
      const deno = denoIn(`${dir}/scratch`, `${dir}/cache1`, url);
      const good = await deno(["run", "jsr:@t/a"]);
      equal(good.code, 0, good.stderr);
      equal(good.stdout, "from the registry\n");
      // The manifest was computed; change the bytes served behind its back.
      packages[0]!.files.get("/main.ts")!.set(new TextEncoder().encode("console.log(666)"));
      const bad = await denoIn(`${dir}/scratch`, `${dir}/cache2`, url)(["run", "jsr:@t/a"]);
      equal(bad.code, 10, bad.stderr);
      match(bad.stderr, /Integrity check failed in package/);
      match(bad.stderr, /Expected: [0-9a-f]{64}/);
    } finally {
      ac.abort();
      await server.finished;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

interopTest(
  "deno run jsr:@rtclite/sip-caller from an empty cache: --help, a call to SIPp, a program using std and app",
  [{ bin: "sipp", apt: "sip-tester" }],
  async (t) => {
    const dir = await Deno.makeTempDir();
    const ac = new AbortController();
    const { server, url } = await serveRegistry({ signal: ac.signal });
    try {
      const scratch = `${dir}/scratch`;
      await Deno.mkdir(scratch);
      const deno = denoIn(scratch, `${dir}/deno_dir`, url);
      await t.step("--help", async () => {
        const help = await deno(["run", "-A", "jsr:@rtclite/sip-caller", "--help"]);
        equal(help.code, 0, help.stderr);
        match(help.stdout, /^Usage: sip-caller /);
        match(help.stdout, /--tone HZ/);
        // Downloaded from the registry, into the empty cache.
        match(help.stderr, new RegExp(`Download ${url}@rtclite/sip-caller/0\\.1\\.0/main\\.ts`));
      });
      await t.step("a call to a SIPp UAS", async () => {
        await using sipp = startPeer("sipp", [
          "-sn",
          "uas",
          "-i",
          "127.0.0.1",
          "-mi",
          "127.0.0.1",
          "-p",
          String(UAS),
          "-m",
          "1",
          "-nostdin",
        ]);
        const call = await deno([
          "run",
          "-A",
          "jsr:@rtclite/sip-caller",
          "--local",
          `127.0.0.1:${LOCAL}`,
          "--tone",
          "440",
          "--duration",
          "0.5",
          `sip:service@127.0.0.1:${UAS}`,
        ]);
        equal(call.code, 0, call.stdout + call.stderr);
        match(call.stdout, new RegExp(`^calling sip:service@127\\.0\\.0\\.1:${UAS}\n`));
        match(call.stdout, /\nanswered: PCMU with 127\.0\.0\.1:\d+\n/);
        match(call.stdout, /\nended: BYE sent after /);
        const status = await withTimeout(sipp.child.status, 15_000, "SIPp exit");
        equal(status.code, 0, sipp.output().slice(-3000));
        match(sipp.output(), /Successful call\s*\|\s*\d+\s*\|\s*1\s/);
        match(sipp.output(), /Failed call\s*\|\s*\d+\s*\|\s*0\s/);
      });
      await t.step("a program that imports jsr:@rtclite/std and jsr:@rtclite/app", async () => {
        await Deno.writeTextFile(
          `${scratch}/hello.ts`,
          `import { createResponse, parseMessage } from "jsr:@rtclite/std/ietf/rfc3261";
import { SipClient } from "jsr:@rtclite/app/sip/client";

const bob = await SipClient.start({ aor: "sip:bob@127.0.0.1", port: ${BOB} });
const heard = new Promise<string>((resolve) => bob.on("message", (m) => resolve(m.text)));
const alice = await SipClient.start({ aor: "sip:alice@127.0.0.1", port: ${ALICE} });
const status = await alice.message("sip:bob@127.0.0.1:${BOB}", "hello from jsr");
const options = parseMessage(
  "OPTIONS sip:bob@127.0.0.1 SIP/2.0\\r\\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\\r\\n" +
    "To: <sip:bob@127.0.0.1>\\r\\nFrom: <sip:alice@127.0.0.1>;tag=1\\r\\nCall-ID: c1\\r\\n" +
    "CSeq: 1 OPTIONS\\r\\nContent-Length: 0\\r\\n\\r\\n",
);
const reply = createResponse(options, 200, { toTag: "2" });
console.log(JSON.stringify({ status, text: await heard, reply: reply.toString().split("\\r\\n")[0] }));
await alice.close();
await bob.close();
`,
        );
        const out = await deno(["run", "-A", "hello.ts"]);
        equal(out.code, 0, out.stderr);
        deepEqual(JSON.parse(out.stdout), {
          status: 200,
          text: "hello from jsr",
          reply: "SIP/2.0 200 OK",
        });
      });
    } finally {
      ac.abort();
      await server.finished;
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeout: 300_000 },
);
