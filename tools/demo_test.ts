// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, match, ok } from "node:assert/strict";
import { run } from "@rtclite/testing";

Deno.test("deno task demo registers, calls with audio both ways, hangs up, printing a ladder", async () => {
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
  // Real audio: each side heard the other's tone and received RTP packets.
  for (const [side, hz] of [["alice", 660], ["bob", 440]] as const) {
    const m = out.stdout.match(
      new RegExp(
        `^${side} heard (\\d+) Hz: sent (\\d+), received (\\d+) packets, (\\d+) lost, jitter [\\d.]+ ms$`,
        "m",
      ),
    );
    ok(m, `no media line for ${side}:\n${out.stdout}`);
    const [heard, sent, received] = [Number(m[1]), Number(m[2]), Number(m[3])];
    ok(Math.abs(heard - hz) <= hz * 0.02, `${side} heard ${heard} Hz, expected ${hz} Hz`);
    ok(sent > 20, `${side} sent only ${sent} packets`);
    ok(received > 20, `${side} received only ${received} packets`);
  }
});
