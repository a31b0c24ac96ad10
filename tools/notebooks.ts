// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * `deno task notebooks`: checks that every module implementing a
 * specification has a notebook, installs the Deno Jupyter kernel, executes
 * every notebook in `notebooks/` with `jupyter nbconvert --execute` and writes
 * the executed pages to `site/_site/notebooks/` for the site.
 *
 * Fails when a notebook cell raises, or when a module under std/, app/ or
 * vnd/ with an `@implements` reference is named by no notebook's
 * `metadata.rtclite.modules`. Without Jupyter (Debian `jupyter-nbconvert`,
 * `python3-nbclient`, `jupyter-client`) the execution is skipped with a
 * message, unless `RTCLITE_REQUIRE_PEERS=1`.
 *
 * Usage: `deno task notebooks [NOTEBOOK...]`
 *
 * @module
 */
import { computeExports } from "./exports.ts";
import { scanAnnotations } from "./specs.ts";

/** A notebook and the modules its metadata says it covers. */
export interface Notebook {
  /** Path relative to the repository root, e.g. `notebooks/rfc2396.ipynb`. */
  path: string;
  /** Base name without extension, e.g. `rfc2396`. */
  name: string;
  /** Module paths from `metadata.rtclite.modules`, e.g. `std/ietf/rfc2396`. */
  modules: string[];
}

/** Where executed notebooks go; the site links to them. */
export const NOTEBOOK_OUT = "site/_site/notebooks";

/** Reads every `notebooks/*.ipynb` with its covered modules, sorted by name. */
export async function listNotebooks(root = "."): Promise<Notebook[]> {
  const out: Notebook[] = [];
  for await (const e of Deno.readDir(`${root}/notebooks`)) {
    if (!e.isFile || !e.name.endsWith(".ipynb")) continue;
    const path = `notebooks/${e.name}`;
    const nb = JSON.parse(await Deno.readTextFile(`${root}/${path}`));
    const modules = nb?.metadata?.rtclite?.modules;
    out.push({
      path,
      name: e.name.replace(/\.ipynb$/, ""),
      modules: Array.isArray(modules) ? modules.map(String) : [],
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Exported modules (`std/ietf/rfc2396`) that carry at least one `@implements` reference. */
export async function specModules(root = "."): Promise<string[]> {
  const out: string[] = [];
  for (const [pkg, exports] of await computeExports(root)) {
    for (const file of Object.values(exports)) {
      const source = await Deno.readTextFile(`${root}/${pkg}/${file.slice(2)}`);
      if (scanAnnotations(source).length) out.push(`${pkg}/${file.slice(2, -3)}`);
    }
  }
  return out.sort();
}

/** Modules that implement a specification but appear in no notebook's metadata. */
export async function uncovered(root = "."): Promise<string[]> {
  const covered = new Set((await listNotebooks(root)).flatMap((n) => n.modules));
  return (await specModules(root)).filter((m) => !covered.has(m));
}

/** The `jupyter` command to use: Debian's first (a `python3` on PATH may not see its modules). */
async function findJupyter(): Promise<string | undefined> {
  for (const bin of ["/usr/bin/jupyter", "jupyter"]) {
    try {
      const { success } = await new Deno.Command(bin, {
        args: ["nbconvert", "--version"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (success) return bin;
    } catch { /* not there */ }
  }
  return undefined;
}

async function execute(jupyter: string, nb: Notebook, outDir: string): Promise<string | null> {
  const started = performance.now();
  const { success, stderr } = await new Deno.Command(jupyter, {
    args: [
      "nbconvert",
      "--to=html",
      "--execute",
      "--ExecutePreprocessor.timeout=120",
      "--ExecutePreprocessor.kernel_name=deno",
      "--TemplateExporter.extra_template_basedirs=site/nbconvert",
      "--template=rtclite",
      `--output-dir=${outDir}`,
      nb.path,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(300_000),
  }).output();
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  if (success) {
    await Deno.copyFile(nb.path, `${outDir}/${nb.name}.ipynb`);
    console.log(`ok   ${nb.path} (${secs} s) -> ${outDir}/${nb.name}.html`);
    return null;
  }
  // nbconvert prints a Python traceback, then the cell and the kernel's error: show those.
  const err = new TextDecoder().decode(stderr).split("\n");
  const at = err.findIndex((l) => l.includes("CellExecutionError:"));
  console.error(`FAIL ${nb.path} (${secs} s)\n${err.slice(at >= 0 ? at : -25).join("\n")}`);
  return nb.path;
}

if (import.meta.main) {
  const started = performance.now();
  const all = await listNotebooks();
  const missing = await uncovered();
  for (const m of missing) {
    console.error(
      `notebooks: ${m} implements a specification but no notebook lists it in metadata.rtclite.modules`,
    );
  }
  const chosen = Deno.args.length
    ? all.filter((n) => Deno.args.some((a) => n.path === a || n.name === a || n.path.endsWith(a)))
    : all;
  const jupyter = await findJupyter();
  if (!jupyter) {
    const msg = "jupyter nbconvert not found (apt-get install jupyter-nbconvert python3-nbclient " +
      "jupyter-client)";
    if (Deno.env.get("RTCLITE_REQUIRE_PEERS") === "1") {
      console.error(`notebooks: FAIL: ${msg}`);
      Deno.exit(1);
    }
    console.warn(`notebooks: SKIP executing ${chosen.length} notebooks: ${msg}`);
    Deno.exit(missing.length ? 1 : 0);
  }
  const install = await new Deno.Command(Deno.execPath(), {
    args: ["jupyter", "--install", "--force"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!install.success) {
    console.error(`notebooks: deno jupyter --install failed:\n${new TextDecoder().decode(install.stderr)}`);
    Deno.exit(1);
  }
  await Deno.mkdir(NOTEBOOK_OUT, { recursive: true });
  // Two at a time: a kernel takes a second or two to start, and CI has two cores.
  const failed: string[] = [];
  const queue = [...chosen];
  await Promise.all([0, 1].map(async () => {
    for (let nb = queue.shift(); nb; nb = queue.shift()) {
      const bad = await execute(jupyter, nb, NOTEBOOK_OUT);
      if (bad) failed.push(bad);
    }
  }));
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `notebooks: ${chosen.length - failed.length} executed, ${failed.length} failed, ` +
      `${missing.length} uncovered modules (${secs} s)`,
  );
  if (failed.length || missing.length) Deno.exit(1);
}
