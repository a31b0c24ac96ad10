// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, match } from "node:assert/strict";

Deno.test("command line prints the Authorization value", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      new URL("./main.ts", import.meta.url).pathname,
      "--user",
      "Mufasa",
      "--password",
      "Circle Of Life",
      "--uri",
      "/dir/index.html",
      "--cnonce",
      "0a4f113b",
      'Digest realm="testrealm@host.com", qop="auth", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"',
    ],
  }).output();
  equal(out.code, 0, new TextDecoder().decode(out.stderr));
  match(new TextDecoder().decode(out.stdout), /response="6629fae49393a05397450978507c4ef1"/);
});

Deno.test("command line: --help exits 0; an unknown option or missing --user exits 2", async () => {
  const run = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-q", new URL("./main.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  };
  const help = await run(["--help"]);
  equal(help.code, 0);
  match(help.stdout, /^Usage: rfc2617 .*--user U --password P/);
  const unknown = await run(["--user", "u", "--password", "p", "--nope", "x", "Digest nonce=x"]);
  equal(unknown.code, 2);
  match(unknown.stderr, /Unknown option --nope/);
  const noUser = await run(["--password", "p", "Digest nonce=x"]);
  equal(noUser.code, 2);
  match(noUser.stderr, /--user/);
});
