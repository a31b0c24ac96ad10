// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Tests of the WebSocket command line (std/ietf/rfc6455/main.ts) in child processes.
import { freePort } from "@rtclite/testing";
import { assert, assertEquals, dec, enc } from "./_test_util.ts";

Deno.test("command line: serve --echo and connect echo stdin lines (websocat style)", async () => {
  const port = await freePort();
  const module = new URL("./main.ts", import.meta.url).pathname;
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      module,
      "serve",
      "--hostname",
      "127.0.0.1",
      "--port",
      String(port),
      "--echo",
      "-q",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const reader = server.stderr.getReader();
    let banner = "";
    while (!banner.includes("Listening")) {
      const { value, done } = await reader.read();
      if (done) break;
      banner += dec.decode(value);
    }
    reader.releaseLock();
    assert(banner.includes(`ws://127.0.0.1:${port}/`), banner);
    const client = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", module, "connect", `ws://127.0.0.1:${port}/`, "-q"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = client.stdin.getWriter();
    await w.write(enc.encode("first line\nsecond line\n"));
    await w.close();
    const out = await client.output();
    assertEquals(out.code, 0, dec.decode(out.stderr));
    assertEquals(dec.decode(out.stdout), "first line\nsecond line\n");
  } finally {
    server.kill("SIGTERM");
    await server.stderr.cancel().catch(() => {});
    await server.status;
  }
});

Deno.test("command line: --help exits 0, unknown options and commands exit 2 before any I/O", async () => {
  const module = new URL("./main.ts", import.meta.url).pathname;
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", module, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
  };
  const help = await run("--help");
  assertEquals(help.code, 0);
  assert(help.text.includes("connect [options] ws://HOST:PORT/PATH"), help.text);
  // Without --allow-net: a usage error must come before the network is touched.
  assertEquals((await run("serve", "--nope")).code, 2);
  assertEquals((await run("connect")).code, 2);
  assertEquals((await run("listen")).code, 2);
  assertEquals((await run("serve", "--port", "99999")).code, 2);
});
