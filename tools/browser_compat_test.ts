// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok } from "node:assert/strict";
import { PURE, withTree } from "./_fixture.ts";
import { BROWSER_LIB, browserConfig, checkBrowserCompat } from "./browser_compat.ts";

/** A pure file that uses only web APIs, an npm package from the root import map and a workspace export. */
const WEB = PURE + `/**
 * Web APIs only. The example may use Deno: examples are not checked.
 *
 * @example
 * \`\`\`ts
 * console.log(Deno.args);
 * \`\`\`
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { concat } from "@rtclite/std/bytes";

export class Clock extends EventTarget {}

export async function digest(s: string): Promise<Uint8Array> {
  getLogger(["x"]).debug("digest");
  setTimeout(() => {}, 0);
  void new CompressionStream("deflate-raw");
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return concat([new Uint8Array(hash)]);
}
`;

const TREE = {
  "std/bytes.ts": PURE + "export function concat(parts: Uint8Array[]): Uint8Array {\n" +
    "  return parts[0] ?? new Uint8Array();\n}\n",
  "app/web.ts": WEB,
  // An adapter may use Deno: it is not checked.
  "std/udp.ts": "// Copyright\nexport const args: string[] = Deno.args;\n",
};
const IMPORTS = { "@logtape/logtape": "npm:@logtape/logtape@^1.0.0" };

Deno.test("browserConfig() drops the Deno namespace and maps the workspace exports", async () => {
  await withTree(TREE, async (root) => {
    const config = await browserConfig(await Deno.realPath(root));
    deepEqual(config.compilerOptions, { strict: true, lib: BROWSER_LIB });
    equal(config.imports!["@logtape/logtape"], "npm:@logtape/logtape@^1.0.0");
    ok(config.imports!["@rtclite/std/bytes"]!.endsWith("/std/bytes.ts"));
  }, IMPORTS);
});

Deno.test("checkBrowserCompat() passes web APIs and npm imports of browser-compatible files", async () => {
  await withTree(TREE, async (root) => {
    const result = await checkBrowserCompat(root);
    deepEqual(result.files, ["app/web.ts", "std/bytes.ts"]);
    deepEqual(result.problems, [], result.output);
  }, IMPORTS);
});

Deno.test("checkBrowserCompat() fails on Deno.* and import.meta.main in browser-compatible files", async () => {
  await withTree({
    ...TREE,
    "std/cli_in_core.ts": PURE + "export const args: string[] = Deno.args;\n",
    "std/main_in_core.ts": PURE + "if (import.meta.main) console.log(1);\nexport {};\n",
  }, async (root) => {
    const result = await checkBrowserCompat(root);
    deepEqual(result.problems, [
      "std/cli_in_core.ts: does not type-check without the Deno namespace (lib esnext, dom, dom.iterable)",
      "std/main_in_core.ts: does not type-check without the Deno namespace (lib esnext, dom, dom.iterable)",
    ]);
    ok(result.output.includes("Cannot find name 'Deno'"), result.output);
  }, IMPORTS);
});

Deno.test("checkBrowserCompat() fails on a node: import in a browser-compatible file", async () => {
  await withTree({
    ...TREE,
    "std/node_in_core.ts": PURE +
      'import { createSocket } from "node:dgram";\nexport const s = createSocket;\n',
  }, async (root) => {
    const result = await checkBrowserCompat(root);
    deepEqual(result.problems, [
      'std/node_in_core.ts: imports "node:dgram", a node: module (a browser has none)',
    ]);
  }, IMPORTS);
});
