// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The import-graph check: reads every library file's imports (with
 * `deno info --json`, so the workspace names `@rtclite/std/...` resolve as
 * Deno resolves them) and fails when
 *
 * - a file under `std/` imports one under `app/` or `vnd/` (directly or
 *   through `@rtclite/app`, `@rtclite/vnd`), or a file under `app/` imports
 *   one under `vnd/`;
 * - a pure file (one with the line `// This module is browser compatible.`)
 *   imports a file of the project that is not pure;
 * - files import each other in a cycle (the cycle's files are reported).
 *
 * Every import counts: static, dynamic (`import("./x.ts")`) and type-only
 * (`import type`): a type import of an adapter still pulls the adapter into
 * a browser build's type check, and a cycle through types is still a cycle
 * for a reader. Tests, benches and `testdata/` are not checked (an interop
 * test of std may drive an app). JSDoc examples are comments: not imports.
 *
 * Usage: `deno run -A tools/imports.ts [--root DIR]` (exit 1 on a problem).
 *
 * @module
 */
import { isPure, isTestFile } from "./layout.ts";
import { sourceFiles } from "./specs.ts";

/** An import between two files of the project. */
export interface ImportEdge {
  /** Importing file, repository-relative. */
  from: string;
  /** Imported file, repository-relative. */
  to: string;
  /** The specifier as written. */
  specifier: string;
  /** `import type` / `export type` only. */
  typeOnly: boolean;
  /** A dynamic `import()`. */
  dynamic: boolean;
}

/** An import of something outside the project (`node:dgram`, `npm:pako@2.1.0`, `jsr:...`). */
export interface ExternalImport {
  from: string;
  specifier: string;
  /** What it resolved to (`node:dgram`, `npm:/pako@2.1.0`). */
  resolved: string;
  typeOnly: boolean;
  dynamic: boolean;
}

/** The project's import graph. */
export interface ImportGraph {
  /** Library files (not tests, benches or test data), with whether each is pure. */
  files: Map<string, { pure: boolean }>;
  edges: ImportEdge[];
  external: ExternalImport[];
  /** Imports `deno info` could not resolve, as messages. */
  errors: string[];
}

interface InfoDependency {
  specifier: string;
  code?: { specifier?: string; error?: string };
  type?: { specifier?: string; error?: string };
  isDynamic?: boolean;
}

interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
  error?: string;
}

/** The library files under the packages of `root` (std, app, vnd, cli). */
export async function libraryFiles(root = "."): Promise<string[]> {
  return (await Array.fromAsync(sourceFiles(root))).filter((f) => !isTestFile(f));
}

/** Reads the import graph of the library files under `root` with `deno info --json`. */
export async function importGraph(root = "."): Promise<ImportGraph> {
  const abs = await Deno.realPath(root);
  const files = await libraryFiles(abs);
  const graph: ImportGraph = { files: new Map(), edges: [], external: [], errors: [] };
  for (const f of files) {
    graph.files.set(f, { pure: isPure(await Deno.readTextFile(`${abs}/${f}`)) });
  }
  if (!files.length) return graph;
  const tmp = await Deno.makeTempDir({ prefix: "rtclite-imports-" });
  try {
    const entry = `${tmp}/entry.ts`;
    const url = (f: string) => new URL(`file://${abs}/${f}`).href;
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import ${JSON.stringify(url(f))};\n`).join(""),
    );
    const config = await Deno.stat(`${abs}/deno.json`).then(() => true, () => false);
    const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", ...(config ? ["--config", `${abs}/deno.json`] : []), entry],
      cwd: abs,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!success) {
      throw new Error(`deno info failed: ${new TextDecoder().decode(stderr).trim()}`);
    }
    const info = JSON.parse(new TextDecoder().decode(stdout)) as { modules: InfoModule[] };
    const prefix = `file://${abs}/`;
    const rel = (u: string) =>
      u.startsWith(prefix) ? decodeURIComponent(u.slice(prefix.length)) : u;
    for (const m of info.modules) {
      const from = rel(m.specifier);
      if (!graph.files.has(from)) continue;
      if (m.error) graph.errors.push(`${from}: ${m.error}`);
      for (const d of m.dependencies ?? []) {
        const target = d.code?.specifier ?? d.type?.specifier;
        const error = d.code?.error ?? d.type?.error;
        if (error) graph.errors.push(`${from}: ${d.specifier}: ${error}`);
        if (!target) continue;
        const typeOnly = !d.code?.specifier;
        const dynamic = d.isDynamic === true;
        const to = rel(target);
        if (target.startsWith(prefix)) {
          graph.edges.push({ from, to, specifier: d.specifier, typeOnly, dynamic });
        } else {
          graph.external.push({
            from,
            specifier: d.specifier,
            resolved: target,
            typeOnly,
            dynamic,
          });
        }
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return graph;
}

/** The package a repository path belongs to: `std`, `app`, `vnd`, `cli`, or another top folder. */
function packageOf(file: string): string {
  return file.split("/")[0]!;
}

function describe(e: ImportEdge): string {
  const kind = e.typeOnly ? "type import" : e.dynamic ? "dynamic import" : "import";
  const written = e.specifier === e.to ? "" : ` "${e.specifier}"`;
  return `${e.from} -> ${e.to} (${kind}${written})`;
}

/** Layering problems: std importing app or vnd, app importing vnd. */
export function layeringProblems(graph: ImportGraph): string[] {
  const forbidden: Record<string, string[]> = { std: ["app", "vnd"], app: ["vnd"] };
  return graph.edges
    .filter((e) => forbidden[packageOf(e.from)]?.includes(packageOf(e.to)))
    .map((e) => `${packageOf(e.from)} may not import ${packageOf(e.to)}: ${describe(e)}`);
}

/** Pure files importing a project file that is not pure. */
export function purityProblems(graph: ImportGraph): string[] {
  return graph.edges
    .filter((e) => graph.files.get(e.from)?.pure && graph.files.get(e.to)?.pure === false)
    .map((e) => `a browser-compatible file imports one that is not: ${describe(e)}`);
}

/**
 * The import cycles: every strongly connected component of more than one
 * file (or a file importing itself), each as one cycle through it, starting
 * at its first file by name, e.g. `["a.ts", "b.ts", "a.ts"]`.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const next = new Map<string, string[]>();
  for (const e of graph.edges) {
    if (!next.has(e.from)) next.set(e.from, []);
    if (!next.get(e.from)!.includes(e.to)) next.get(e.from)!.push(e.to);
  }
  for (const list of next.values()) list.sort();
  // Tarjan's strongly connected components, iteratively.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  const nodes = [...new Set([...graph.files.keys(), ...next.keys()])].sort();
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: [string, number][] = [[start, 0]];
    while (work.length) {
      const top = work[work.length - 1]!;
      const [v, i] = top;
      if (i === 0) {
        index.set(v, counter);
        low.set(v, counter++);
        stack.push(v);
        onStack.add(v);
      }
      const succ = next.get(v) ?? [];
      if (i < succ.length) {
        top[1]++;
        const w = succ[i]!;
        if (!index.has(w)) work.push([w, 0]);
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const u = work[work.length - 1]![0];
        low.set(u, Math.min(low.get(u)!, low.get(v)!));
      }
      if (low.get(v) === index.get(v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== v);
        if (comp.length > 1 || next.get(v)?.includes(v)) components.push(comp.sort());
      }
    }
  }
  // One concrete cycle per component: the shortest path from its first file back to it.
  return components.sort((a, b) => a[0]!.localeCompare(b[0]!)).map((comp) => {
    const inComp = new Set(comp);
    const first = comp[0]!;
    const prev = new Map<string, string>();
    const queue = [first];
    let end: string | undefined;
    while (queue.length && !end) {
      const v = queue.shift()!;
      for (const w of next.get(v) ?? []) {
        if (!inComp.has(w)) continue;
        if (w === first) {
          end = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [first];
    for (let v = end; v && v !== first; v = prev.get(v)) path.splice(1, 0, v);
    path.push(first);
    return path;
  });
}

/** Cycle problems, each naming the cycle and every file of its component. */
export function cycleProblems(graph: ImportGraph): string[] {
  const members = (cycle: string[]) => {
    const comp = new Set<string>();
    // Every file that reaches and is reached from the cycle's first file.
    const reach = (from: string, forward: boolean) => {
      const seen = new Set([from]);
      const queue = [from];
      while (queue.length) {
        const v = queue.shift()!;
        for (const e of graph.edges) {
          const [a, b] = forward ? [e.from, e.to] : [e.to, e.from];
          if (a === v && !seen.has(b)) {
            seen.add(b);
            queue.push(b);
          }
        }
      }
      return seen;
    };
    const fwd = reach(cycle[0]!, true);
    for (const f of reach(cycle[0]!, false)) if (fwd.has(f)) comp.add(f);
    return [...comp].sort();
  };
  return findCycles(graph).map((cycle) => {
    const all = members(cycle);
    const edges = cycle.slice(1).map((to, k) =>
      graph.edges.find((e) => e.from === cycle[k] && e.to === to)!
    );
    const kinds = edges.map((e) => e.typeOnly ? " (type)" : e.dynamic ? " (dynamic)" : "");
    const shown = cycle.map((f, k) => k ? `${f}${kinds[k - 1]}` : f).join(" -> ");
    const rest = all.length > cycle.length - 1
      ? `; all ${all.length} files of the cycle: ${all.join(", ")}`
      : "";
    return `import cycle: ${shown}${rest}`;
  });
}

/** Every problem of the graph: layering, purity, cycles. */
export function importProblems(graph: ImportGraph): string[] {
  return [...layeringProblems(graph), ...purityProblems(graph), ...cycleProblems(graph)];
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--root");
  const root = at >= 0 ? Deno.args[at + 1] ?? "." : ".";
  const graph = await importGraph(root);
  const problems = importProblems(graph);
  for (const e of graph.errors) console.warn(`imports: warning: ${e}`);
  for (const p of problems) console.error(`imports: ${p}`);
  const pure = [...graph.files.values()].filter((f) => f.pure).length;
  console.log(
    `imports: ${graph.files.size} files (${pure} browser compatible), ${graph.edges.length} ` +
      `imports between them, ${problems.length} problems`,
  );
  if (problems.length) Deno.exit(1);
}
