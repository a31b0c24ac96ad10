// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { doesNotMatch, equal, match } from "node:assert/strict";

Deno.test("command line pretty-prints and reports errors with the offset", async () => {
  const run = async (args: string[], input: string) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-q", new URL("./main.ts", import.meta.url).pathname, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
    const out = await child.output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  const ok1 = await run([], "<a><b>x</b></a>");
  equal(ok1.code, 0);
  equal(ok1.stdout, '<?xml version="1.0" encoding="UTF-8"?>\n<a>\n  <b>x</b>\n</a>\n');
  const bad = await run([], "<a><b></a>");
  equal(bad.code, 1);
  match(bad.stderr, /expected <\/b>.*offset 6/);
  const stream = await run(["--stream"], "<s><m>1</m></s>");
  equal(stream.stdout, "open <s>\nelement <m>1</m>\nclose\n");
});

Deno.test("command line: --help exits 0 and an unknown option exits 2", async () => {
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-q", new URL("./main.ts", import.meta.url).pathname, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  const help = await run(["--help"]);
  equal(help.code, 0);
  match(new TextDecoder().decode(help.stdout), /^Usage: simplexml .*--stream/);
  const bad = await run(["--nope"]);
  equal(bad.code, 2);
  match(new TextDecoder().decode(bad.stderr), /^simplexml: Unknown option --nope/);
});

// Issue 19 item 6: `deno run std/w3c/simplexml.ts FILE`, as the README showed it, died with an
// uncaught NotCapable. Run it exactly so (no --allow-read): one sentence naming the flag, exit 1.
Deno.test("command line: a FILE without --allow-read says which flag to add, without a stack trace", async () => {
  const file = await Deno.makeTempFile({ suffix: ".xml" });
  try {
    await Deno.writeTextFile(file, "<a><b>x</b></a>");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", new URL("./main.ts", import.meta.url).pathname, file],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    equal(out.code, 1, stderr);
    equal(new TextDecoder().decode(out.stdout), "");
    const lines = stderr.trim().split("\n");
    equal(lines.length, 1, stderr);
    match(lines[0]!, /^simplexml: needs read permission: run it with --allow-read \(or -A\)\./);
    doesNotMatch(stderr, /NotCapable|^\s+at /m);
  } finally {
    await Deno.remove(file);
  }
});
