// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, match } from "node:assert/strict";
import { run } from "@rtclite/testing";

Deno.test("command line: --help exits 0 and an unknown option exits 2, without network permission", async () => {
  const main = new URL("./main.ts", import.meta.url).pathname;
  // No --allow-net and no prompt: touching the network would fail with exit code 1.
  const cli = (...args: string[]) =>
    run(Deno.execPath(), ["run", "--no-prompt", main, ...args], { timeout: 20_000 });
  for (const args of [["--help"], ["-h"], ["stun:127.0.0.1:9", "--help"]]) {
    const help = await cli(...args);
    equal(help.code, 0, help.stderr);
    match(help.stdout, /^Usage: rfc7064\/main\.ts /);
  }
  const unknown = await cli("--no-such-option", "stun:127.0.0.1:9");
  equal(unknown.code, 2, unknown.stderr);
  match(unknown.stderr, /Unknown option --no-such-option/);
});
