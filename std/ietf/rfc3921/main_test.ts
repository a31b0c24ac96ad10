// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, match } from "node:assert/strict";

async function cli(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    // No --allow-net: a usage error must be reported before any network I/O.
    args: ["run", "--allow-read", new URL("./main.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("command line: --help exits 0 with the commands and options", async () => {
  const r = await cli(["--help"]);
  equal(r.code, 0);
  match(r.stdout, /^Usage: rfc3921 --jid JID --password P \[options\] send TO TEXT/);
  for (const o of ["--server", "--insecure-plain", "--no-tls", "--ca", "--mechanism", "listen"]) {
    match(r.stdout, new RegExp(o));
  }
});

Deno.test("command line: usage errors exit 2 before connecting", async (t) => {
  for (
    const [args, why] of [
      [["--jid", "a@localhost", "--nope", "listen"], /Unknown option --nope/],
      [["--password", "p", "listen"], /--jid is required/],
      [["--jid", "a@localhost", "send", "b@localhost"], /send takes 2 operands/],
      [["--jid", "a@localhost", "dance"], /Unknown command dance/],
      [["--jid", "a@localhost", "--server", "x:y:z", "roster"], /Invalid server address/],
    ] as [string[], RegExp][]
  ) {
    await t.step(args.join(" "), async () => {
      const r = await cli(args);
      equal(r.code, 2, r.stderr);
      match(r.stderr, why);
    });
  }
});
