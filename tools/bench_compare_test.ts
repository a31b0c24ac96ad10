// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal } from "node:assert/strict";
import { formatTime, isOurs, median, ratios } from "./bench_compare.ts";

Deno.test("isOurs() tells our bench rows from the peers'", () => {
  equal(isOurs("rtclite decodeRtp"), true);
  equal(isOurs("parseSdp (rtclite)"), true);
  equal(isOurs("rtclite: encodeFrame 100 masked frames"), true);
  equal(isOurs("rfc2617 DigestServer.verify MD5 (pure)"), true);
  equal(isOurs("rtp.js 0.15.5 new RtpPacket(view)"), false);
  equal(isOurs("npm:digest-header MD5"), false);
});

Deno.test("median() and formatTime()", () => {
  equal(median([3, 1, 2]), 2);
  equal(median([4, 1, 3, 2]), 2.5);
  equal(formatTime(66.4), "66.4 ns");
  equal(formatTime(2250), "2.25 µs");
  equal(formatTime(548_000), "548 µs");
  equal(formatTime(39_100_000), "39.10 ms");
});

Deno.test("ratios() divides ours by the fastest peer of each run, then takes median and range", () => {
  const runs = new Map([
    [
      "g",
      new Map([["rtclite a", [10, 20, 30]], ["peer x", [20, 10, 60]], ["peer y", [40, 40, 40]]]),
    ],
    ["alone", new Map([["rtclite b", [5, 7, 6]]])],
  ]);
  const rows = ratios("f.ts", runs);
  // Run 1: 10 / 20 (x), run 2: 20 / 10 (x), run 3: 30 / 40 (y).
  deepEqual(rows[0], {
    file: "f.ts",
    group: "g",
    ours: "rtclite a",
    oursTime: 20,
    peer: "peer x",
    peerTime: 20,
    ratio: { median: 0.75, min: 0.5, max: 2 },
  });
  deepEqual(rows[1], { file: "f.ts", group: "alone", ours: "rtclite b", oursTime: 6 });
});
