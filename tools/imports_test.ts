// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok } from "node:assert/strict";
import { PURE, withTree } from "./_fixture.ts";
import { cycleProblems, findCycles, importGraph, importProblems } from "./imports.ts";

const ADAPTER = "// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.\n";

Deno.test("importGraph() + importProblems(): layering, purity and cycles on a fake tree", async () => {
  await withTree({
    // A pure core re-exporting a pure part: fine.
    "std/ietf/rfcx/mod.ts": PURE + 'export * from "./part.ts";\n',
    "std/ietf/rfcx/part.ts": PURE +
      'import { concat } from "../../bytes.ts";\nexport { concat };\n',
    "std/bytes.ts": PURE + "export const concat = 1;\n",
    // The adapter imports the core: fine. The core's part importing the adapter is not.
    "std/ietf/rfcx/udp.ts": ADAPTER + 'import { concat } from "./mod.ts";\nexport { concat };\n',
    "std/ietf/rfcy.ts": PURE + 'export type { U } from "./rfcy_udp.ts";\n',
    "std/ietf/rfcy_udp.ts": ADAPTER + "export type U = number;\n",
    // std importing app through the package name; app importing vnd by path.
    "std/ietf/rfcz.ts": ADAPTER + 'import { x } from "@rtclite/app/sip/x";\nexport { x };\n',
    "app/sip/x.ts": ADAPTER + 'import { y } from "../../vnd/adobe/y.ts";\nexport const x = y;\n',
    "vnd/adobe/y.ts": ADAPTER + 'import { x } from "@rtclite/app/sip/z";\nexport const y = x;\n',
    "app/sip/z.ts": ADAPTER + "export const x = 1;\n",
    // A cycle of three, one edge type-only, one dynamic.
    "std/ring/a.ts": ADAPTER + 'import { b } from "./b.ts";\nexport const a = b;\n',
    "std/ring/b.ts": ADAPTER + 'import type { C } from "./c.ts";\nexport const b: C = 1;\n',
    "std/ring/c.ts": ADAPTER +
      'export type C = number;\nexport const c = () => import("./a.ts");\n',
    // Comments and tests do not count.
    "std/doc.ts": PURE +
      '/**\n * @example\n * ```ts\n * import { x } from "@rtclite/app/sip/x";\n * ```\n * @module\n */\n' +
      '// import { y } from "@rtclite/vnd/adobe/y";\nexport const d = 1;\n',
    "std/doc_test.ts": 'import { x } from "@rtclite/app/sip/x";\nconsole.log(x);\n',
  }, async (root) => {
    const graph = await importGraph(root);
    ok(!graph.files.has("std/doc_test.ts"), "tests are not checked");
    ok(graph.files.get("std/bytes.ts")?.pure && !graph.files.get("std/ietf/rfcx/udp.ts")?.pure);
    deepEqual(graph.errors, []);
    deepEqual(findCycles(graph), [[
      "std/ring/a.ts",
      "std/ring/b.ts",
      "std/ring/c.ts",
      "std/ring/a.ts",
    ]]);
    deepEqual(importProblems(graph), [
      'app may not import vnd: app/sip/x.ts -> vnd/adobe/y.ts (import "../../vnd/adobe/y.ts")',
      'std may not import app: std/ietf/rfcz.ts -> app/sip/x.ts (import "@rtclite/app/sip/x")',
      "a browser-compatible file imports one that is not: " +
      'std/ietf/rfcy.ts -> std/ietf/rfcy_udp.ts (type import "./rfcy_udp.ts")',
      "import cycle: std/ring/a.ts -> std/ring/b.ts -> std/ring/c.ts (type) -> std/ring/a.ts (dynamic)",
    ]);
  });
});

Deno.test("cycleProblems() names one cycle and every file of its component", () => {
  const edge = (from: string, to: string) => ({
    from,
    to,
    specifier: to,
    typeOnly: false,
    dynamic: false,
  });
  const graph = {
    files: new Map(["a", "b", "c", "d"].map((f) => [f, { pure: false }])),
    edges: [edge("a", "b"), edge("b", "a"), edge("b", "c"), edge("c", "a"), edge("d", "d")],
    external: [],
    errors: [],
  };
  deepEqual(findCycles(graph), [["a", "b", "a"], ["d", "d"]]);
  const problems = cycleProblems(graph);
  equal(problems[0], "import cycle: a -> b -> a; all 3 files of the cycle: a, b, c");
  equal(problems[1], "import cycle: d -> d");
});
