// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The browser-compatibility check: every library file with the line
 * `// This module is browser compatible.` is type-checked without the Deno
 * namespace, as Deno's standard library does for its browser-compatible
 * files: `deno check --config` a generated `deno.json` whose
 * `compilerOptions.lib` is `["esnext", "dom", "dom.iterable"]` (no
 * `deno.ns`, no `deno.unstable`), with the root's strict compiler options and
 * import map, and the packages' exports (`@rtclite/std/...`) mapped to their
 * files. `Deno.*` and `import.meta.main` then fail to type-check; web APIs
 * (`crypto`, `TextEncoder`, `setTimeout`, `CompressionStream`, `EventTarget`)
 * pass. JSDoc examples are not checked (they may use Deno).
 *
 * The check also fails when such a file imports a `node:` module: Deno types
 * `node:` imports without `deno.ns`, so the type check alone would let them
 * through (and once one file loads the Node types, their globals, such as
 * `import.meta.main` and `process`, are declared for every file checked).
 *
 * Usage: `deno run -A tools/browser_compat.ts [--root DIR]` (exit 1 on a problem).
 *
 * @module
 */
import { importGraph } from "./imports.ts";

/** The `lib` a browser-compatible file is checked against. */
export const BROWSER_LIB: string[] = ["esnext", "dom", "dom.iterable"];

interface DenoJson {
  workspace?: string[];
  imports?: Record<string, string>;
  compilerOptions?: Record<string, unknown>;
  name?: string;
  exports?: string | Record<string, string>;
}

async function readJson(path: string): Promise<DenoJson | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** An import map value, made absolute when it is a relative path. */
function absolute(dir: string, target: string): string {
  return /^\.{1,2}\//.test(target) ? new URL(target, `file://${dir}/`).href : target;
}

/**
 * The generated configuration: the root's compiler options with the browser
 * `lib`, the root's and the workspace members' import maps, and every member
 * export under its package name (`@rtclite/std/bytes` -> `file:///.../std/bytes.ts`).
 *
 * @param root the repository root, absolute
 */
export async function browserConfig(root: string): Promise<DenoJson> {
  const rootJson = await readJson(`${root}/deno.json`) ?? {};
  const imports: Record<string, string> = {};
  const addImports = (dir: string, map: Record<string, string> | undefined) => {
    for (const [k, v] of Object.entries(map ?? {})) imports[k] = absolute(dir, v);
  };
  addImports(root, rootJson.imports);
  for (const member of rootJson.workspace ?? []) {
    const dir = new URL(member, `file://${root}/`).pathname.replace(/\/$/, "");
    const json = await readJson(`${dir}/deno.json`);
    if (!json) continue;
    addImports(dir, json.imports);
    if (!json.name) continue;
    const exports = typeof json.exports === "string" ? { ".": json.exports } : json.exports ?? {};
    for (const [key, file] of Object.entries(exports)) {
      imports[json.name + key.slice(1)] = absolute(dir, file);
    }
  }
  return {
    imports,
    compilerOptions: { ...rootJson.compilerOptions, lib: BROWSER_LIB },
  };
}

/** What {@linkcode checkBrowserCompat} found. */
export interface BrowserCompatResult {
  /** The browser-compatible files checked, repository-relative. */
  files: string[];
  /** One line per problem (a `node:` import, a file that failed to type-check). */
  problems: string[];
  /** `deno check`'s output when it failed. */
  output: string;
}

/** Type-checks every browser-compatible library file under `root` without the Deno namespace. */
export async function checkBrowserCompat(root = "."): Promise<BrowserCompatResult> {
  const abs = await Deno.realPath(root);
  const graph = await importGraph(abs);
  const files = [...graph.files].filter(([, f]) => f.pure).map(([f]) => f).sort();
  const result: BrowserCompatResult = { files, problems: [], output: "" };
  for (const x of graph.external) {
    if (graph.files.get(x.from)?.pure && x.resolved.startsWith("node:")) {
      result.problems.push(
        `${x.from}: imports "${x.specifier}", a node: module (a browser has none)`,
      );
    }
  }
  if (!files.length) return result;
  const tmp = await Deno.makeTempDir({ prefix: "rtclite-browser-" });
  try {
    await Deno.writeTextFile(`${tmp}/deno.json`, JSON.stringify(await browserConfig(abs), null, 2));
    // The root's lockfile, so that npm packages resolve to the versions the project uses.
    await Deno.copyFile(`${abs}/deno.lock`, `${tmp}/deno.lock`).catch(() => {});
    const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--config", `${tmp}/deno.json`, ...files],
      cwd: abs,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!success) {
      const dec = new TextDecoder();
      result.output = (dec.decode(stdout) + dec.decode(stderr))
        .replace(/^Check .*\n|\nStack backtrace:[\s\S]*$/gm, "");
      const bad = new Set<string>();
      const prefix = `file://${abs}/`;
      for (const m of result.output.matchAll(/at (file:\/\/\S+?):\d+:\d+/g)) {
        bad.add(m[1]!.startsWith(prefix) ? m[1]!.slice(prefix.length) : m[1]!);
      }
      if (!bad.size) result.problems.push(`deno check failed: ${result.output.trim()}`);
      for (const f of [...bad].sort()) {
        result.problems.push(
          `${f}: does not type-check without the Deno namespace (lib ${BROWSER_LIB.join(", ")})`,
        );
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return result;
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--root");
  const { files, problems, output } = await checkBrowserCompat(
    at >= 0 ? Deno.args[at + 1] ?? "." : ".",
  );
  if (output) console.error(output.trim());
  for (const p of problems) console.error(`browser compat: ${p}`);
  console.log(
    `browser compat: ${files.length} browser-compatible files, ${problems.length} problems`,
  );
  if (problems.length) Deno.exit(1);
}
