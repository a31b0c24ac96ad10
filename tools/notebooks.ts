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

/** A notebook and the modules its metadata says it covers. */
export interface Notebook {
  /** Path relative to the repository root, e.g. `notebooks/rfc2396.ipynb`. */
  path: string;
  /** Base name without extension, e.g. `rfc2396`. */
  name: string;
  /** Module paths from `metadata.rtclite.modules`, e.g. `std/ietf/rfc2396`. */
  modules: string[];
  /** `metadata.kernelspec.name`; must be `deno`. */
  kernel: string;
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
      kernel: String(nb?.metadata?.kernelspec?.name ?? ""),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Exported module paths (`std/ietf/rfc2396`, `std/ietf/rfc3550` for a folder's
 * `mod.ts`, `std/ietf/rfc3550/udp`), each with whether its file has an
 * `@implements` reference.
 */
export async function modules(root = "."): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  for (const [pkg, exports] of await computeExports(root)) {
    for (const [key, file] of Object.entries(exports)) {
      const source = await Deno.readTextFile(`${root}/${pkg}/${file.slice(2)}`);
      out.set(`${pkg}/${key.slice(2)}`, /^\s*(?:\/\/|\*)\s*@implements\s/m.test(source));
    }
  }
  return out;
}

/**
 * The notebook rule: every module that implements a specification is listed
 * by a notebook; every notebook uses the Deno kernel and lists modules that exist.
 */
export async function checkNotebooks(root = "."): Promise<string[]> {
  const all = await modules(root);
  const notebooks = await listNotebooks(root);
  const problems: string[] = [];
  for (const n of notebooks) {
    if (n.kernel !== "deno") {
      problems.push(`${n.path}: metadata.kernelspec.name is "${n.kernel}", expected "deno"`);
    }
    if (!n.modules.length) problems.push(`${n.path}: metadata.rtclite.modules lists no module`);
    for (const m of n.modules) {
      if (!all.has(m)) problems.push(`${n.path}: lists ${m}, which is not an exported module`);
    }
  }
  // A notebook that lists a folder module (`std/ietf/rfc3550`) covers the folder's files too.
  const listed = notebooks.flatMap((n) => n.modules);
  const covered = (m: string) => listed.some((l) => m === l || m.startsWith(`${l}/`));
  for (const [m, implementsSpec] of [...all].sort()) {
    if (implementsSpec && !covered(m)) {
      problems.push(
        `${m} implements a specification but no notebook lists it in metadata.rtclite.modules`,
      );
    }
  }
  return problems;
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
  const missing = await checkNotebooks();
  for (const m of missing) console.error(`notebooks: ${m}`);
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
    console.error(
      `notebooks: deno jupyter --install failed:\n${new TextDecoder().decode(install.stderr)}`,
    );
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
      `${missing.length} rule violations (${secs} s)`,
  );
  if (failed.length || missing.length) Deno.exit(1);
}
