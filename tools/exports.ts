// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Regenerates the `exports` of the std, app and vnd packages from their files:
 * every `.ts` file that is not private (`_x.ts`), a test, a bench, or under
 * `testdata/` becomes `./path/without/extension`; a folder's `mod.ts` is
 * exported as the folder (`./ietf/rfc3261/mod.ts` as `./ietf/rfc3261`). `--check` only reports.
 *
 * @module
 */
import { sourceFiles } from "./specs.ts";

/** Computes each package's exports from the tree. */
export async function computeExports(root = "."): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  for (const pkg of ["std", "app", "vnd"]) out.set(pkg, {});
  for await (const file of sourceFiles(root)) {
    const [pkg, ...rest] = file.split("/");
    const rel = rest.join("/");
    const exports = out.get(pkg!);
    if (!exports || /(^|\/)_|_test\.ts$|_bench\.ts$/.test(rel)) continue;
    // A folder's `mod.ts` is the folder's own path: `./ietf/rfc3261`.
    exports[`./${rel.replace(/(\/mod)?\.ts$/, "")}`] = `./${rel}`;
  }
  return out;
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  let stale = 0;
  for (const [pkg, exports] of await computeExports()) {
    const path = `${pkg}/deno.json`;
    const config = JSON.parse(await Deno.readTextFile(path));
    const sorted = Object.fromEntries(
      Object.entries(exports).sort(([a], [b]) => a.localeCompare(b)),
    );
    if (JSON.stringify(config.exports) === JSON.stringify(sorted)) continue;
    stale++;
    if (check) console.error(`${path}: exports are out of date; run \`deno task exports\``);
    else {
      config.exports = sorted;
      await Deno.writeTextFile(path, JSON.stringify(config, null, 2) + "\n");
      await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", path] }).output();
      console.log(`${path}: ${Object.keys(sorted).length} exports`);
    }
  }
  if (check && stale) Deno.exit(1);
}
