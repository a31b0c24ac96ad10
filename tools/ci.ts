// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * `deno task test`: every check rtclite has, in order, with a closing line
 * `N passed, N failed` that adds up the tests of every runner it called.
 *
 * Steps: format, lint, type check, the import graph (`tools/imports.ts`), the
 * browser-compatible files without the Deno namespace (`tools/browser_compat.ts`),
 * the module paths the README and the examples name, `deno doc --lint` of every
 * export, the exports and README table being current, unit/doc/property/interop tests
 * with coverage, the specification references, the publish dry run, the
 * site build and the notebooks. `RTCLITE_REQUIRE_PEERS=1` turns every skip of
 * a missing peer into a failure (`.ci/run` sets it).
 *
 * Usage: `deno task test [--quick]` (`--quick` skips the site and notebooks).
 *
 * @module
 */
import { computeExports } from "./exports.ts";

const deno = Deno.execPath();
let passed = 0;
let failed = 0;
const failures: string[] = [];

/** Runs a deno subcommand, echoing its output; returns whether it succeeded and what it printed. */
async function step(
  name: string,
  args: string[],
  capture = false,
): Promise<{ ok: boolean; text: string }> {
  console.log(`\n=== ${name}: deno ${args.join(" ")}`);
  const started = performance.now();
  const child = new Deno.Command(deno, {
    args,
    stdout: capture ? "piped" : "inherit",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).spawn();
  let text = "";
  if (capture) {
    const dec = new TextDecoder();
    for await (const chunk of child.stdout) {
      const s = dec.decode(chunk, { stream: true });
      text += s;
      await Deno.stdout.write(chunk);
    }
  }
  const { success } = await child.status;
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`=== ${name}: ${success ? "ok" : "FAILED"} (${secs} s)`);
  if (!success) failures.push(name);
  return { ok: success, text };
}

/** A check that is not a test runner counts as one test. */
async function check(name: string, args: string[]): Promise<void> {
  (await step(name, args)).ok ? passed++ : failed++;
}

const quick = Deno.args.includes("--quick");
const exportFiles: string[] = [];
for (const [pkg, exports] of await computeExports()) {
  for (const file of Object.values(exports)) exportFiles.push(`${pkg}/${file.slice(2)}`);
}
exportFiles.push("cli/sip-caller/main.ts");

await check("fmt", ["fmt", "--check"]);
await check("lint", ["lint"]);
await check("exports", ["run", "-A", "tools/exports.ts", "--check"]);
await check("module table", ["run", "-A", "tools/modules.ts", "--check"]);
await check("type check", ["check", "std", "app", "vnd", "cli", "tools", "testing", "site"]);
// The layout (issue 11): std imports neither app nor vnd, app not vnd, pure files only pure
// files, no import cycle; browser-compatible files type-check without the Deno namespace.
await check("import graph", ["run", "-A", "tools/imports.ts"]);
await check("browser compatibility", ["run", "-A", "tools/browser_compat.ts"]);
await check("doc lint", ["doc", "--lint", ...exportFiles]);
await check("spec references", ["run", "-A", "tools/check_specs.ts"]);

/** Runs `deno test` and adds its counts to the totals. */
async function tests(name: string, args: string[]): Promise<void> {
  const run = await step(name, args, true);
  const summary =
    /(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/
      .exec(run.text);
  passed += Number(summary?.[1] ?? 0);
  failed += Number(summary?.[3] ?? 0);
  // A runner that failed without counting a failed test (a type error, a leak) counts as one.
  if (!run.ok && !Number(summary?.[3])) failed++;
}

await tests("module paths", ["test", "-A", "tools/module_paths_test.ts"]);

await Deno.remove("coverage", { recursive: true }).catch(() => {});
await tests("tests", ["test", "-A", "--doc", "--coverage=coverage", "std", "app", "vnd", "cli"]);
await check("coverage", ["coverage", "coverage", "--exclude=(testing|tools|_test\\.ts)"]);
await check("publish dry run", ["publish", "--dry-run", "--allow-dirty"]);

if (!quick) {
  // Notebooks first: the site links their executed pages, and the browser test
  // (site/build_test.ts) crawls them.
  await check("notebooks", ["task", "notebooks"]);
  await check("site", ["task", "site"]);
  const ignore = "--ignore=tools/module_paths_test.ts"; // module paths ran above
  await tests("site and tools tests", ["test", "-A", ignore, "site", "tools"]);
}

if (failures.length) console.log(`\nFailed steps: ${failures.join(", ")}`);
console.log(`\n${passed} passed, ${failed} failed`);
Deno.exit(failed ? 1 : 0);
