// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Attacks on the REST server (issue 18, items 11 and 12), mounted on loopback against the
// command line in a child process: each asserts the refusal or the bound.
import { serveHttp } from "./rest.ts";
import { equal, match, ok } from "node:assert/strict";

const REST = new URL("./rest.ts", import.meta.url).pathname;

interface Child {
  base: string;
  port: number;
  process: Deno.ChildProcess;
  stop(): Promise<void>;
}

/** Starts rest.ts (optionally under `prlimit`), waits for its banner. */
async function start(args: string[], nofile?: number): Promise<Child> {
  const cmd = nofile
    ? new Deno.Command("prlimit", {
      args: [`--nofile=${nofile}`, Deno.execPath(), "run", "-A", REST, "--port", "0", ...args],
      stdout: "null",
      stderr: "piped",
    })
    : new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", REST, "--port", "0", ...args],
      stdout: "null",
      stderr: "piped",
    });
  const process = cmd.spawn();
  const reader = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/Listening on http:\/\/\S+:(\d+)\//.test(text)) {
    const { done, value } = await reader.read();
    if (done) {
      await process.status;
      throw new Error(`rest.ts exited: ${text}`);
    }
    text += value;
  }
  reader.releaseLock();
  process.stderr.cancel().catch(() => {});
  const port = Number(/Listening on http:\/\/\S+:(\d+)\//.exec(text)![1]);
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    process,
    async stop() {
      try {
        process.kill("SIGKILL");
      } catch { /* exited */ }
      await process.status;
    },
  };
}

Deno.test("rest.ts: 60 concurrent PUTs all succeed and the file always parses (issue 18.12)", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/data.json`;
  await Deno.writeTextFile(path, '{"n":{}}');
  const server = await start(["--data", path, "--anonymous-writes"]);
  try {
    let samples = 0, torn = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          JSON.parse(await Deno.readTextFile(path));
        } catch {
          torn++;
        }
        samples++;
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const statuses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        fetch(`${server.base}/data/n/k${i}`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ i, pad: "x".repeat(20_000) }),
        }).then(async (r) => {
          await r.body?.cancel();
          return r.status;
        })),
    );
    sampling = false;
    await sampler;
    equal(statuses.filter((s) => s === 201).length, 60, `statuses ${statuses}`);
    equal(torn, 0, `${torn} of ${samples} samples did not parse`);
    ok(samples > 5);
    const saved = JSON.parse(await Deno.readTextFile(path));
    equal(Object.keys(saved.n).length, 60);
    // No temporary file is left behind, and the server starts again on the file.
    equal([...Deno.readDirSync(dir)].length, 1);
    await server.stop();
    const again = await start(["--data", path]);
    const res = await fetch(`${again.base}/data/n/k59/i`);
    equal(await res.text(), "59");
    await again.stop();
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rest.ts: a damaged document is reported at start, not a crash (issue 18.12)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [text, why] of [['{"a": [1,', /not valid JSON/], ["[1, 2]", /must be a JSON object/]]
    ) {
      await Deno.writeTextFile(`${dir}/data.json`, text as string);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", REST, "--port", "0", "--data", `${dir}/data.json`],
        stdout: "null",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      equal(out.code, 1, stderr);
      match(stderr, new RegExp(`Cannot load ${dir}/data.json: `));
      match(stderr, why as RegExp);
      ok(!stderr.includes("Uncaught"), stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rest.ts: deep and large bodies are refused and saving goes on (issue 18.12)", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/data.json`;
  await Deno.writeTextFile(path, '{"a":{}}');
  const server = await start(["--data", path, "--anonymous-writes", "--max-body", "300000"]);
  try {
    const put = async (target: string, body: string) => {
      const r = await fetch(`${server.base}${target}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body,
      });
      await r.body?.cancel();
      return r.status;
    };
    equal(await put("/data/a/deep", "[".repeat(100_000) + "]".repeat(100_000)), 400);
    // Depth counts the path too: 60 levels of body below 5 levels of path are too deep.
    equal(await put("/data/a/b", "[".repeat(60) + "]".repeat(60)), 201);
    equal(await put("/data/a/b/0/0/0/0", "[".repeat(60) + "]".repeat(60)), 400);
    equal(await put("/data/a/big", JSON.stringify("x".repeat(400_000))), 413);
    equal(await put("/data/a/ok", '"saved"'), 201);
    equal(JSON.parse(await Deno.readTextFile(path)).a.ok, "saved");
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rest.ts: without --user, writes are refused unless --anonymous-writes (issue 18.12)", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/data.json`;
  await Deno.writeTextFile(path, '{"a":1}');
  const server = await start(["--data", path]);
  try {
    const r = await fetch(`${server.base}/data/a`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: "2",
    });
    await r.body?.cancel();
    equal(r.status, 405);
    equal(await Deno.readTextFile(path), '{"a":1}');
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rest.ts keeps serving after running out of descriptors (issue 18.11)", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/data.json`, '{"a":1}');
  const server = await start(["--data", `${dir}/data.json`], 100);
  const conns: Deno.Conn[] = [];
  try {
    // 200 idle connections: more than the server's 100 descriptors, so accept() fails (EMFILE).
    for (let i = 0; i < 200; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const c of conns.splice(0)) c.close();
    const res = await fetch(`${server.base}/data/a`, { signal: AbortSignal.timeout(8000) });
    equal(await res.text(), "1");
    // Still alive: Deno.serve ended the process here (`Too many open files`).
    const status = await Promise.race([
      server.process.status.then(() => "exited"),
      new Promise((r) => setTimeout(() => r("running"), 100)),
    ]);
    equal(status, "running");
  } finally {
    for (const c of conns) c.close();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveHttp() closes connections that send no request in time, and caps them (issue 18.11)", async () => {
  await using server = serveHttp(
    { port: 0, requestTimeout: 300, maxConnections: 20, maxPerAddress: 10 },
    () => new Response("ok"),
  );
  const port = server.addr.port;
  const idle: Deno.Conn[] = [];
  for (let i = 0; i < 15; i++) idle.push(await Deno.connect({ hostname: "127.0.0.1", port }));
  await new Promise((r) => setTimeout(r, 100));
  equal(server.connections, 10); // the per-address cap refused 5
  const t0 = performance.now();
  const buf = new Uint8Array(16);
  // A slowloris: the head never completes, the deadline is per request, not per byte.
  await idle[0]!.write(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
  for (const c of idle) equal(await c.read(buf).catch(() => null), null);
  const after = performance.now() - t0;
  ok(after < 1500, `closed after ${after.toFixed(0)} ms`);
  for (const c of idle) c.close();
  await new Promise((r) => setTimeout(r, 50));
  equal(server.connections, 0);
  equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "ok");
});
