// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Tests of the RTMPT command line (vnd/adobe/rtmpt/main.ts) in child processes.
import { equal, match, ok } from "node:assert/strict";
import { freePort } from "@rtclite/testing";

const module = new URL("./main.ts", import.meta.url).pathname;
const dec = new TextDecoder();

async function run(permissions: string[], ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, module, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test("rtmpt command line: --help exits 0, usage errors exit 2 before any I/O", async () => {
  const help = await run(["--allow-read"], "--help");
  equal(help.code, 0);
  match(help.text, /Usage: rtmpt serve \[options\]/);
  // Without --allow-net: the usage error must come before the network is touched.
  equal((await run(["--allow-read"], "serve", "--nope")).code, 2);
  equal((await run(["--allow-read"], "listen")).code, 2);
  equal((await run(["--allow-read"], "serve", "--port", "http")).code, 2);
});

Deno.test("rtmpt command line serves RTMPT until SIGTERM", async () => {
  const [httpPort, rtmpPort] = [await freePort(), await freePort()];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      module,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(httpPort),
      "--rtmp-port",
      String(rtmpPort),
      "-q",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const reader = child.stderr.getReader();
    let banner = "";
    while (!banner.includes("RTMPT on")) {
      const { value, done } = await reader.read();
      if (done) break;
      banner += dec.decode(value);
    }
    reader.releaseLock();
    ok(banner.includes(`http://127.0.0.1:${httpPort}/`), banner);
    const res = await fetch(`http://127.0.0.1:${httpPort}/open/1`, { method: "POST", body: "\0" });
    equal(res.status, 200);
    match(await res.text(), /^[0-9a-f]{16}\n$/);
  } finally {
    child.kill("SIGTERM");
    await child.stderr.cancel().catch(() => {});
  }
  equal((await child.status).code, 0);
});
