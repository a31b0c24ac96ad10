// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Every module path the README's table and the JSDoc examples name resolves
 * to a file the packages export (through the workspace, as a user's import
 * would), and every file the table links exists.
 *
 * @module
 */
import { deepEqual, ok } from "node:assert/strict";
import { allNamedPaths, namedPaths, tableLinks } from "./module_paths.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("namedPaths() finds quoted import paths, and backticked ones in Markdown", () => {
  const ts = ' * import { a } from "@rtclite/std/ietf/rfc3261";\n' +
    "import { b } from '@rtclite/vnd/adobe/rtmp/main';\n" +
    '// see "@rtclite/std/..." and `@rtclite/app/sip/client`, "@rtclite/std"\n';
  deepEqual(namedPaths(ts, "x.ts").map((p) => `${p.at} ${p.specifier}`), [
    "x.ts:1 @rtclite/std/ietf/rfc3261",
    "x.ts:2 @rtclite/vnd/adobe/rtmp/main",
  ]);
  deepEqual(namedPaths(ts, "README.md", true).map((p) => p.specifier), [
    "@rtclite/std/ietf/rfc3261",
    "@rtclite/vnd/adobe/rtmp/main",
    "@rtclite/app/sip/client",
  ]);
});

Deno.test("tableLinks() reads the module table's linked rows", () => {
  const readme = "# x\n<!-- modules:begin (deno task modules) -->\n\n| module | description |\n" +
    "| --- | --- |\n| [`std/ietf/rfc3550`](std/ietf/rfc3550/mod.ts) | RTP \\| RTCP | 10 | ready |\n" +
    "| [`vnd/adobe/rtmpclient`](vnd/adobe/rtmp/main.ts) | Client (in `vnd/adobe/rtmp/main`) | | ready |\n" +
    "| `app/sip/api` | planned | | planned |\n<!-- modules:end -->\n";
  deepEqual(tableLinks(readme), [
    { path: "std/ietf/rfc3550", file: "std/ietf/rfc3550/mod.ts", moved: false },
    { path: "vnd/adobe/rtmpclient", file: "vnd/adobe/rtmp/main.ts", moved: true },
  ]);
});

async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}

Deno.test("every module path in the README and the JSDoc examples resolves to an exported file", async () => {
  const problems: string[] = [];
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const named = await allNamedPaths(ROOT);
  for (const row of tableLinks(readme)) {
    if (!await isFile(`${ROOT}/${row.file}`)) {
      problems.push(`README.md: the row ${row.path} links ${row.file}, which does not exist`);
    }
    if (!row.moved) named.push({ specifier: `@rtclite/${row.path}`, at: "README.md module table" });
  }
  const checked = new Map<string, string | undefined>();
  for (const { specifier, at } of named) {
    if (!checked.has(specifier)) {
      let problem: string | undefined;
      try {
        const url = import.meta.resolve(specifier);
        const file = url.startsWith("file://") ? new URL(url).pathname : "";
        if (!file || !await isFile(file)) problem = `resolves to ${url}, which is not a file`;
      } catch (e) {
        problem = `is not exported by its package (${(e as Error).message.split("\n")[0]})`;
      }
      checked.set(specifier, problem);
    }
    const problem = checked.get(specifier);
    if (problem) problems.push(`${at}: ${specifier} ${problem}`);
  }
  ok(checked.size > 20, `found ${checked.size} module paths`);
  deepEqual(problems, [], problems.join("\n"));
});
