// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Tests of the RTMPT session state machine (vnd/adobe/rtmpt/mod.ts).
import { deepEqual, equal, throws } from "node:assert/strict";
import { RtmptError, RtmptSession } from "./mod.ts";

// === RtmptSession ===

Deno.test("RtmptSession accepts increasing sequence numbers and refuses repeats", () => {
  const s = new RtmptSession("x");
  equal(s.lastSequence, -1);
  s.send(0, new Uint8Array([1]));
  s.idle(1);
  s.idle(5); // gaps are allowed
  equal(s.lastSequence, 5);
  throws(() => s.idle(5), RtmptError);
  throws(() => s.send(3, new Uint8Array(1)), /sequence number: got 3, expected more than 5/);
  throws(() => s.idle(Number.MAX_SAFE_INTEGER + 2), RtmptError);
  throws(() => s.idle(1), (e) => e instanceof RtmptError && e.status === 400);
});

Deno.test("RtmptSession queues input in order and output behind the polling byte", () => {
  const s = new RtmptSession("x");
  s.send(1, new Uint8Array([1, 2]));
  s.send(2, new Uint8Array([3]));
  deepEqual(s.takeInput(), new Uint8Array([1, 2, 3]));
  deepEqual(s.takeInput(), new Uint8Array());
  s.output(new Uint8Array([7, 8]));
  s.output(new Uint8Array([9]));
  equal(s.buffered, 3);
  deepEqual(s.respond(), new Uint8Array([1, 7, 8, 9]));
  equal(s.buffered, 0);
});

Deno.test("RtmptSession backs off the polling interval on empty polls and resets on data", () => {
  const s = new RtmptSession("x", { maxPollingInterval: 4 });
  const intervals: number[] = [];
  for (let i = 1; i <= 6; i++) {
    s.idle(i);
    intervals.push(s.respond()[0]!);
  }
  deepEqual(intervals, [2, 3, 4, 4, 4, 4]);
  s.output(new Uint8Array([5]));
  s.idle(7);
  deepEqual(s.respond(), new Uint8Array([1, 5]));
  s.idle(8);
  equal(s.respond()[0], 2);
  s.send(9, new Uint8Array([1])); // client data also counts as activity
  equal(s.respond()[0], 1);
});

Deno.test("RtmptSession splits output larger than maxResponseSize over several responses", () => {
  const s = new RtmptSession("x", { maxResponseSize: 3 });
  s.output(new Uint8Array([1, 2]));
  s.output(new Uint8Array([3, 4, 5, 6]));
  deepEqual(s.respond(), new Uint8Array([1, 1, 2, 3]));
  deepEqual(s.respond(), new Uint8Array([1, 4, 5, 6]));
  deepEqual(s.respond(), new Uint8Array([2]));
});

Deno.test("RtmptSession bounds buffered output", () => {
  const s = new RtmptSession("x", { maxBuffered: 4 });
  s.output(new Uint8Array(4));
  throws(() => s.output(new Uint8Array(1)), /5 bytes would wait, limit 4/);
});

Deno.test("RtmptSession expires after the timeout with an injected clock", () => {
  let now = 1000;
  const s = new RtmptSession("x", { now: () => now, timeout: 500 });
  now = 1500;
  equal(s.expired, false);
  s.idle(1); // activity moves the deadline
  now = 1900;
  equal(s.expired, false);
  now = 2001;
  equal(s.expired, true);
});

Deno.test("RtmptSession close ends it; later requests get 404", () => {
  const s = new RtmptSession("x");
  s.close(1);
  equal(s.closed, true);
  throws(() => s.idle(2), (e) => e instanceof RtmptError && e.status === 404);
});

Deno.test("RtmptSession closed by the server still answers until its output is polled", () => {
  const s = new RtmptSession("x");
  s.output(new Uint8Array([1]));
  s.end();
  s.idle(1);
  deepEqual(s.respond(), new Uint8Array([1, 1]));
  throws(() => s.idle(2), (e) => e instanceof RtmptError && e.status === 404);
});
