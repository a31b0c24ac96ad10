// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok } from "node:assert/strict";
import { decodeRed } from "../ietf/rfc2198.ts";
import { MISSING_TEXT, type T140Packet, T140Receiver, T140Sender } from "./t140.ts";

function run(texts: [number, string][], until: number, tx = new T140Sender()): T140Packet[] {
  const out: T140Packet[] = [];
  for (let t = 0; t <= until; t += 50) {
    for (const [at, s] of texts) if (at === t) tx.write(s);
    const p = tx.poll(t);
    if (p) out.push(p);
  }
  return out;
}

Deno.test("T140Sender: first text at once with M, then buffered, then empty blocks until redundancy is out (RFC 4103 §5.1-§5.2)", () => {
  const packets = run([[0, "a"], [50, "b"], [100, "c"], [2000, "d"]], 3000);
  deepEqual(packets.map((p) => [p.timestamp, p.marker]), [
    [0, true],
    [300, false],
    [600, false],
    [900, false],
    [2000, true],
    [2300, false],
    [2600, false],
  ]);
  const second = decodeRed(packets[1]!.payload);
  equal(new TextDecoder().decode(second.primary.payload), "bc");
  deepEqual(second.redundant.map((b) => [b.timestampOffset, new TextDecoder().decode(b.payload)]), [
    [300, "a"],
  ]);
  const last = decodeRed(packets[3]!.payload);
  equal(last.primary.payload.length, 0);
  deepEqual(last.redundant.map((b) => new TextDecoder().decode(b.payload)), ["bc", ""]);
});

Deno.test("T140Receiver recovers one or two lost packets from redundancy, marks longer gaps (RFC 4103 §4.2, §5.3)", async (t) => {
  const typed: [number, string][] = [[0, "T"], [300, "h"], [600, "e"], [900, "r"], [1200, "e"]];
  const packets = run(typed, 2400);
  const deliver = (lost: Set<number>) => {
    const rx = new T140Receiver();
    return packets.map((p, i) => lost.has(i) ? "" : rx.receive({ sequenceNumber: 1000 + i, ...p }))
      .join("");
  };
  await t.step("no loss", () => equal(deliver(new Set()), "There"));
  await t.step("one lost", () => equal(deliver(new Set([1])), "There"));
  await t.step("two consecutive lost", () => equal(deliver(new Set([2, 3])), "There"));
  await t.step("three consecutive lost: a marker per missing block", () => {
    equal(deliver(new Set([1, 2, 3])), "T" + MISSING_TEXT + "e" + "re");
  });
  await t.step("duplicates and old packets give nothing", () => {
    const rx = new T140Receiver();
    equal(rx.receive({ sequenceNumber: 5, ...packets[0]! }), "T");
    equal(rx.receive({ sequenceNumber: 5, ...packets[0]! }), "");
    equal(rx.receive({ sequenceNumber: 4, ...packets[0]! }), "");
    equal(rx.receive({ sequenceNumber: 6, payloadType: 100, payload: new Uint8Array([0x80]) }), "");
  });
});

Deno.test("T140 without redundancy and with multi-byte UTF-8", () => {
  const tx = new T140Sender({ redundancy: 0 });
  const rx = new T140Receiver();
  tx.write("héllo ✓");
  const p = tx.poll(0)!;
  equal(p.payloadType, 98);
  equal(rx.receive({ sequenceNumber: 1, ...p }), "héllo ✓");
  ok(tx.poll(300) === undefined);
});
