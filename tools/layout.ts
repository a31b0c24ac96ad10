// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The tree's modules as a reader meets them, shared by the README table
 * (`tools/modules.ts`), the site and the layout checks.
 *
 * A folder with a `mod.ts` (`std/ietf/rfc3261/`) is one module: its pure core
 * (`mod.ts` and the files it re-exports), its adapters and its command line
 * (`main.ts`). Any other source file is a module of its own
 * (`std/ietf/rfc2198.ts`). Tests, benches and `testdata/` belong to no module.
 *
 * A pure file carries the line `// This module is browser compatible.` and
 * imports neither `Deno` nor `node:` (`tools/browser_compat.ts` checks that).
 *
 * @module
 */
import { sourceFiles } from "./specs.ts";

/** The line that marks a browser-compatible (pure) file. */
export const PURE_MARK = "// This module is browser compatible.";

/** Whether a source carries the browser-compatible mark on a line of its own. */
export function isPure(source: string): boolean {
  return source.split("\n", 40).some((l) => l.trimEnd() === PURE_MARK);
}

/** Whether a path is a test, a bench or test data (part of no module). */
export function isTestFile(file: string): boolean {
  return /_test\.ts$|_bench\.ts$|(^|\/)testdata\//.test(file);
}

/** Whether a path is private (`_x.ts`, or inside an `_x/` folder). */
export function isPrivate(file: string): boolean {
  return /(^|\/)_[^/]*(\/|$)/.test(file);
}

/** A module of the tree. */
export interface SourceModule {
  /** Module path without `.ts`: `std/ietf/rfc3261` (a folder) or `std/ietf/rfc2198`. */
  path: string;
  /** Whether the module is a folder with a `mod.ts`. */
  folder: boolean;
  /** Its files, repository-relative, in reading order (see {@linkcode readingOrder}). */
  files: string[];
  /** The file the module's import path names: the folder's `mod.ts`, or the file itself. */
  entry: string;
  /** The folder's `main.ts` (its command line), when it has one. */
  main?: string;
}

/**
 * Import and re-export specifiers of a source, in order of appearance: static
 * `import ... from "x"`, `import "x"`, `export ... from "x"` at the start of a
 * line (so JSDoc examples, whose lines start with `*`, do not count).
 */
export function importSpecifiers(source: string): string[] {
  const out: string[] = [];
  const re =
    /^[ \t]*(?:import|export)\b(?:[^;"'`]*?\bfrom)?\s*["']([^"'\n]+)["']|\bimport\(\s*["']([^"'\n]+)["']\s*\)/gm;
  for (const m of source.matchAll(re)) {
    const spec = m[1] ?? m[2];
    if (spec) out.push(spec);
  }
  return out;
}

/** Resolves a relative specifier against a repository-relative file: `std/ietf/x.ts`. */
export function resolveRelative(file: string, specifier: string): string | undefined {
  if (!/^\.{1,2}\//.test(specifier)) return undefined;
  const parts = file.split("/").slice(0, -1);
  for (const p of specifier.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== ".") parts.push(p);
  }
  return parts.join("/");
}

/**
 * Orders a folder's files as a reader takes them: `mod.ts`, then the pure
 * files in the order `mod.ts` imports or re-exports them (then the files
 * those import, breadth first), then the remaining pure files, the adapters
 * (files without the browser-compatible mark) and last `main.ts`; ties by name.
 *
 * @param folder the folder, e.g. `std/ietf/rfc3550`
 * @param sources every file of the folder (repository-relative path) with its source
 */
export function readingOrder(folder: string, sources: Map<string, string>): string[] {
  const mod = `${folder}/mod.ts`;
  const main = `${folder}/main.ts`;
  const byName = [...sources.keys()].sort();
  const pure = (f: string) => isPure(sources.get(f) ?? "");
  const order: string[] = [];
  const seen = new Set<string>();
  const queue = sources.has(mod) ? [mod] : [];
  while (queue.length) {
    const f = queue.shift()!;
    if (seen.has(f)) continue;
    seen.add(f);
    order.push(f);
    for (const spec of importSpecifiers(sources.get(f) ?? "")) {
      const target = resolveRelative(f, spec);
      if (target && sources.has(target) && pure(target) && target !== main) queue.push(target);
    }
  }
  const rest = byName.filter((f) => !seen.has(f) && f !== main);
  order.push(...rest.filter(pure), ...rest.filter((f) => !pure(f)));
  if (sources.has(main)) order.push(main);
  return order;
}

/** The folder module a file belongs to: its deepest ancestor folder (below a package) with a `mod.ts`. */
function folderOf(file: string, mods: Set<string>): string | undefined {
  const parts = file.split("/");
  for (let k = parts.length - 1; k >= 2; k--) {
    const dir = parts.slice(0, k).join("/");
    if (mods.has(`${dir}/mod.ts`)) return dir;
  }
  return undefined;
}

/**
 * The modules under `root` (std, app, vnd and cli), sorted by path. Private
 * single files (`std/ietf/_sip_message.ts`) are modules too; callers that want
 * only exported ones filter with {@linkcode isPrivate}.
 */
export async function sourceModules(root = "."): Promise<SourceModule[]> {
  const files = (await Array.fromAsync(sourceFiles(root))).filter((f) => !isTestFile(f));
  const mods = new Set(files.filter((f) => f.endsWith("/mod.ts")));
  const folders = new Map<string, Map<string, string>>();
  const out: SourceModule[] = [];
  for (const file of files) {
    const folder = folderOf(file, mods);
    if (folder) {
      if (!folders.has(folder)) folders.set(folder, new Map());
      folders.get(folder)!.set(file, await Deno.readTextFile(`${root}/${file}`));
    } else {
      out.push({ path: file.replace(/\.ts$/, ""), folder: false, files: [file], entry: file });
    }
  }
  for (const [folder, sources] of folders) {
    const m: SourceModule = {
      path: folder,
      folder: true,
      files: readingOrder(folder, sources),
      entry: `${folder}/mod.ts`,
    };
    if (sources.has(`${folder}/main.ts`)) m.main = `${folder}/main.ts`;
    out.push(m);
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
