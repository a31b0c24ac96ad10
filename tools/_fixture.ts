// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Small fake trees for the tools' tests: a workspace with the std, app and
 * vnd packages, written under a temporary directory.
 *
 * @module
 */

/** A file's contents by repository-relative path; `deno.json` files are written as JSON. */
export type Tree = Record<string, string | Record<string, unknown>>;

/**
 * Writes a workspace root (`deno.json` with the members `std`, `app`, `vnd`
 * and `extraImports`) and the given files; each member's `deno.json` gets the
 * package name and, unless the tree gives one, exports of every non-test file
 * (a folder's `mod.ts` as the folder).
 */
export async function writeTree(
  root: string,
  tree: Tree,
  extraImports: Record<string, string> = {},
): Promise<void> {
  const files: Tree = {
    "deno.json": {
      workspace: ["./std", "./app", "./vnd"],
      imports: extraImports,
      compilerOptions: { strict: true },
    },
    ...tree,
  };
  for (const pkg of ["std", "app", "vnd"]) {
    if (files[`${pkg}/deno.json`]) continue;
    const exports: Record<string, string> = {};
    for (const path of Object.keys(files)) {
      if (!path.startsWith(`${pkg}/`) || !path.endsWith(".ts") || /_test\.ts$/.test(path)) continue;
      const rel = path.slice(pkg.length + 1);
      if (/(^|\/)_/.test(rel)) continue;
      exports[`./${rel.replace(/(\/mod)?\.ts$/, "")}`] = `./${rel}`;
    }
    files[`${pkg}/deno.json`] = { name: `@rtclite/${pkg}`, version: "0.0.0", exports };
  }
  for (const [path, content] of Object.entries(files)) {
    await Deno.mkdir(`${root}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(
      `${root}/${path}`,
      typeof content === "string" ? content : JSON.stringify(content, null, 2) + "\n",
    );
  }
}

/** Runs `fn` with a fresh temporary tree, removed afterwards. */
export async function withTree<T>(
  tree: Tree,
  fn: (root: string) => Promise<T>,
  extraImports: Record<string, string> = {},
): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "rtclite-fixture-" });
  try {
    await writeTree(root, tree, extraImports);
    return await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** The browser-compatible mark, after the copyright line. */
export const PURE = "// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.\n" +
  "// This module is browser compatible.\n";
