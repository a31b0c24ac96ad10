// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, match } from "node:assert/strict";
import { run } from "@rtclite/testing";

Deno.test("deno task demo registers, calls, answers and hangs up, printing a ladder", async () => {
  const demo = new URL("./demo.ts", import.meta.url).pathname;
  const out = await run(Deno.execPath(), ["run", "-A", demo, "--hold", "1"], { timeout: 60_000 });
  equal(out.code, 0, out.stderr);
  for (
    const step of [
      "REGISTER",
      "401 Unauthorized",
      "REGISTER +auth",
      "INVITE (SDP)",
      "180 Ringing",
      "200 OK (SDP)",
      "ACK",
      "BYE",
    ]
  ) match(out.stdout, new RegExp(step.replace(/[()+]/g, "\\$&")), `ladder lacks ${step}`);
  match(out.stdout, /answered with PCMU\/8000 .* BYE answered 200/);
});
