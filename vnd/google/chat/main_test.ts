// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { doesNotMatch, equal, match } from "node:assert/strict";

async function cli(args: string[], permissions = ["--allow-read"]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, new URL("./main.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("command line: --help exits 0 with the commands and options", async () => {
  const r = await cli(["--help"]);
  equal(r.code, 0);
  match(r.stdout, /^Usage: chat --jid JID --password P \[options\] send TO TEXT/);
  for (const o of ["--server", "--insecure-plain", "--ca", "receive"]) {
    match(r.stdout, new RegExp(o));
  }
});

Deno.test("command line: usage errors exit 2 before connecting", async (t) => {
  for (
    const [args, why] of [
      [["--jid", "a@localhost", "--nope", "receive"], /Unknown option --nope/],
      [["--password", "p", "receive"], /--jid is required/],
      [["--jid", "a@localhost", "send", "b@localhost"], /send takes 2 operands/],
      [["--jid", "a@localhost", "listen"], /Unknown command listen/],
    ] as [string[], RegExp][]
  ) {
    await t.step(args.join(" "), async () => {
      const r = await cli(args);
      equal(r.code, 2, r.stderr);
      match(r.stderr, why);
    });
  }
});

Deno.test("command line: without --allow-net, one sentence names the flag", async () => {
  const r = await cli(["--jid", "a@localhost", "--server", "127.0.0.1:1", "receive"]);
  equal(r.code, 1, r.stderr);
  equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  match(r.stderr, /^chat: needs net permission: run it with --allow-net/);
  doesNotMatch(r.stderr, /^\s+at /m);
});
