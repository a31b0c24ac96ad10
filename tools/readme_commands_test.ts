// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Every command line of the README's "Command-line tools" table runs its
 * `--help` form exactly as printed there (`deno run -A std/ietf/rfc5389/main.ts
 * --help`: the row's `deno` flags and file, then `--help`), exits 0 and
 * prints a `Usage:` line. The paths are read from the README, so the test
 * follows it; a file the README names must exist.
 *
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { readmeCommands } from "./readme_commands.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("readmeCommands() reads each row's first command line", () => {
  const readme = "## Command-line tools\n\n| command | what |\n| --- | --- |\n" +
    "| `deno run std/ietf/rfc2396.ts 'sip:a@b'` | parts |\n" +
    "| `deno run -A std/ietf/rfc3550/main.ts send H:P a.wav\\|tone:HZ` / `recv PORT out.wav` | rtp |\n" +
    "\n## Next\n| `deno run -A x.ts` | not this section |\n";
  deepEqual(readmeCommands(readme), [
    {
      command: "deno run std/ietf/rfc2396.ts 'sip:a@b'",
      denoArgs: ["run"],
      file: "std/ietf/rfc2396.ts",
      args: ["'sip:a@b'"],
    },
    {
      command: "deno run -A std/ietf/rfc3550/main.ts send H:P a.wav|tone:HZ",
      denoArgs: ["run", "-A"],
      file: "std/ietf/rfc3550/main.ts",
      args: ["send", "H:P", "a.wav|tone:HZ"],
    },
  ]);
});

const commands = readmeCommands(await Deno.readTextFile(`${ROOT}/README.md`));

Deno.test("the README's command-line table is there", () => {
  ok(commands.length >= 10, `found ${commands.length} command lines`);
});

for (const c of commands) {
  const shown = ["deno", ...c.denoArgs, c.file, "--help"].join(" ");
  Deno.test(`README: ${shown}`, async () => {
    const exists = await Deno.stat(`${ROOT}/${c.file}`).then((s) => s.isFile, () => false);
    ok(exists, `${c.file} (named by the README) does not exist`);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [...c.denoArgs, c.file, "--help"],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      // A command line that ignores --help may start a server or wait for input.
      signal: AbortSignal.timeout(60_000),
    }).output();
    const out = new TextDecoder().decode(stdout);
    const err = new TextDecoder().decode(stderr);
    equal(code, 0, `${shown} exited ${code}\n${out}${err}`);
    ok(/^Usage:/m.test(out), `${shown} printed no Usage: line on stdout\n${out}${err}`);
  });
}
