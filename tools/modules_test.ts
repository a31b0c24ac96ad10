// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal } from "node:assert/strict";
import { MIXED, withTree } from "./_fixture.ts";
import { moduleRows, renderTable, sloc } from "./modules.ts";

Deno.test("moduleRows(): a folder counts as one module; single files as before", async () => {
  await withTree(MIXED, async (root) => {
    const rows = await moduleRows(root);
    const row = (path: string) => rows.find((r) => r.path === path);
    // The folder: one row linking mod.ts, its lines summed over the folder (tests and benches aside).
    let lines = 0;
    for (const [f, s] of Object.entries(MIXED)) {
      if (f.startsWith("std/ietf/rfc3550/") && !/_(test|bench)\.ts$/.test(f)) {
        lines += sloc(String(s));
      }
    }
    deepEqual(row("std/ietf/rfc3550"), {
      path: "std/ietf/rfc3550",
      description: "RTP and RTCP",
      sloc: lines,
      status: "ready",
      file: "std/ietf/rfc3550/mod.ts",
      module: "std/ietf/rfc3550",
    });
    equal(rows.filter((r) => r.path.startsWith("std/ietf/rfc3550")).length, 1, "no row per file");
    // A single file, without its private helpers.
    equal(row("std/ietf/rfc3261")?.file, "std/ietf/rfc3261.ts");
    equal(row("std/ietf/rfc3261")?.sloc, 1);
    equal(rows.some((r) => r.path.includes("_sip")), false);
    // The command line that moved into the RTMP folder: its main.ts.
    deepEqual(row("vnd/adobe/rtmpclient"), {
      path: "vnd/adobe/rtmpclient",
      description: "Command-line RTMP client (in `vnd/adobe/rtmp/main`)",
      sloc: 0,
      status: "ready",
      file: "vnd/adobe/rtmp/main.ts",
      module: "vnd/adobe/rtmp",
    });
    equal(row("std/ietf/rfc2198")?.status, "planned");
    const table = renderTable(rows);
    equal(table.includes("| [`std/ietf/rfc3550`](std/ietf/rfc3550/mod.ts) | RTP and RTCP |"), true);
    equal(table.includes("[`vnd/adobe/rtmpclient`](vnd/adobe/rtmp/main.ts)"), true);
  });
});

Deno.test("moduleRows(): before the move, the RTMP client row points at rtmp.ts", async () => {
  await withTree(
    { "vnd/adobe/rtmp.ts": "/**\n * RTMP.\n *\n * @module\n */\nexport {};\n" },
    async (root) => {
      const row = (await moduleRows(root)).find((r) => r.path === "vnd/adobe/rtmpclient");
      equal(row?.file, "vnd/adobe/rtmp.ts");
      equal(row?.description, "Command-line RTMP client (in `vnd/adobe/rtmp`)");
    },
  );
});
