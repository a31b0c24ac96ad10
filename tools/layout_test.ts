// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal } from "node:assert/strict";
import { MIXED, PURE, withTree } from "./_fixture.ts";
import { importSpecifiers, isPure, readingOrder, sourceModules } from "./layout.ts";

Deno.test("importSpecifiers() reads imports and re-exports, not JSDoc examples", () => {
  deepEqual(
    importSpecifiers(
      '/**\n * @example\n * import { a } from "./no.ts";\n */\nimport {\n  a,\n  b,\n} from "./a.ts";\n' +
        'import type { T } from "./t.ts";\nexport * from "./b.ts";\nimport "./side.ts";\n' +
        'export const s = "from";\nconst m = await import("./dyn.ts");\n',
    ),
    ["./a.ts", "./t.ts", "./b.ts", "./side.ts", "./dyn.ts"],
  );
});

Deno.test("isPure() looks for the browser-compatible line", () => {
  equal(isPure(PURE + "export {};\n"), true);
  equal(isPure("// Copyright\n// This module is browser compatible, mostly.\n"), false);
});

Deno.test("readingOrder(): mod.ts, pure parts as mod.ts imports them, adapters, main.ts", () => {
  const folder = "std/ietf/rfc3550";
  const sources = new Map(
    Object.entries(MIXED).filter(([f]) => f.startsWith(`${folder}/`) && !/_(test|bench)/.test(f)),
  );
  deepEqual(readingOrder(folder, sources), [
    "std/ietf/rfc3550/mod.ts",
    "std/ietf/rfc3550/rtp.ts",
    "std/ietf/rfc3550/rtcp.ts",
    "std/ietf/rfc3550/util.ts",
    "std/ietf/rfc3550/extra.ts",
    "std/ietf/rfc3550/udp.ts",
    "std/ietf/rfc3550/main.ts",
  ]);
});

Deno.test("sourceModules(): a folder with mod.ts is one module; single files stay modules", async () => {
  await withTree(MIXED, async (root) => {
    const modules = await sourceModules(root);
    deepEqual(
      modules.map((m) => [m.path, m.folder, m.entry, m.main ?? null, m.files.length]),
      [
        ["std/ietf/_sip_message", false, "std/ietf/_sip_message.ts", null, 1],
        ["std/ietf/rfc3261", false, "std/ietf/rfc3261.ts", null, 1],
        ["std/ietf/rfc3550", true, "std/ietf/rfc3550/mod.ts", "std/ietf/rfc3550/main.ts", 7],
        ["vnd/adobe/rtmp", true, "vnd/adobe/rtmp/mod.ts", "vnd/adobe/rtmp/main.ts", 2],
      ],
    );
  });
});
