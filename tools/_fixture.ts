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

const doc = (text: string): string => `/**\n * ${text}\n *\n * @module\n */\n`;

/** Both layouts side by side: a folder module and the old single files with private helpers. */
export const MIXED: Record<string, string> = {
  "std/ietf/rfc3550/mod.ts": PURE + doc("RTP and RTCP.") +
    'export * from "./rtp.ts";\nexport { x } from "./rtcp.ts";\n',
  "std/ietf/rfc3550/rtcp.ts": PURE + doc("RTCP.") + 'import { concat } from "./util.ts";\n' +
    "export const x = concat;\n",
  "std/ietf/rfc3550/rtp.ts": PURE + doc("RTP.") + "export const rtp = 1;\n",
  "std/ietf/rfc3550/util.ts": PURE + doc("Helpers.") + "export const concat = 1;\n",
  "std/ietf/rfc3550/extra.ts": PURE + doc("Not imported by mod.ts.") + "export const e = 1;\n",
  "std/ietf/rfc3550/udp.ts": doc("The UDP adapter.") + 'import { rtp } from "./mod.ts";\n' +
    "export const u = rtp;\n",
  "std/ietf/rfc3550/main.ts": doc("The command line.") + "export {};\n",
  "std/ietf/rfc3550/mod_test.ts": "Deno.test('x', () => {});\n",
  "std/ietf/rfc3550/mod_bench.ts": "Deno.bench('x', () => {});\n",
  "std/ietf/rfc3261.ts": PURE + doc("SIP.") + 'export * from "./_sip_message.ts";\n',
  "std/ietf/_sip_message.ts": PURE + doc("SIP messages.") + "export const m = 1;\n",
  "std/ietf/testdata/zone.ts": "export {};\n",
  "vnd/adobe/rtmp/mod.ts": PURE + doc("RTMP.") + "export const r = 1;\n",
  "vnd/adobe/rtmp/main.ts": doc("RTMP command line.") + "export {};\n",
};
