// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { fromHex } from "../bytes.ts";
import {
  decodeTelephoneEvents,
  dtmfDigit,
  dtmfEvent,
  dtmfPackets,
  DtmfReceiver,
  encodeTelephoneEvents,
  type TelephoneEvent,
  TelephoneEventParseError,
} from "./rfc2833.ts";

const hex = (s: string) => fromHex(s.replace(/\s+/g, ""));

Deno.test("telephone-event payload vectors (RFC 4733 §2.3)", async (t) => {
  await t.step("digit 1, volume 10, duration 400 (intermediate)", () => {
    deepEqual(decodeTelephoneEvents(hex("010a0190")), [{
      event: 1,
      end: false,
      volume: 10,
      duration: 400,
    }]);
  });
  await t.step("# with E bit, duration 1280", () => {
    deepEqual(decodeTelephoneEvents(hex("0b8a0500")), [{
      event: 11,
      end: true,
      volume: 10,
      duration: 1280,
    }]);
  });
  await t.step("R bit is ignored on receipt", () => {
    deepEqual(decodeTelephoneEvents(hex("05ca0010")), [{
      event: 5,
      end: true,
      volume: 10,
      duration: 16,
    }]);
  });
  await t.step("two events packed (§2.5.1.5)", () => {
    equal(decodeTelephoneEvents(hex("018a0320 020a00a0")).length, 2);
  });
  await t.step("bad lengths", () => {
    throws(() => decodeTelephoneEvents(new Uint8Array(0)), TelephoneEventParseError);
    throws(
      () => decodeTelephoneEvents(new Uint8Array(5)),
      /5 bytes is not a positive multiple of 4/,
    );
  });
});

Deno.test("telephone-event property: decode(encode(e)) equals e", () => {
  const arb: fc.Arbitrary<TelephoneEvent> = fc.record({
    event: fc.integer({ min: 0, max: 255 }),
    end: fc.boolean(),
    volume: fc.integer({ min: 0, max: 63 }),
    duration: fc.integer({ min: 0, max: 0xffff }),
  });
  fc.assert(fc.property(fc.array(arb, { minLength: 1, maxLength: 4 }), (es) => {
    deepEqual(decodeTelephoneEvents(encodeTelephoneEvents(es)), es);
  }));
  throws(
    () => encodeTelephoneEvents([{ event: 1, end: false, volume: 64, duration: 0 }]),
    RangeError,
  );
});

Deno.test("dtmfEvent()/dtmfDigit() map the 16 keys and flash (RFC 4733 §3.2)", () => {
  deepEqual([..."0123456789*#ABCD!"].map(dtmfEvent), [...Array(17).keys()]);
  equal([...Array(17).keys()].map(dtmfDigit).join(""), "0123456789*#ABCD!");
  throws(() => dtmfEvent("x"), RangeError);
});

Deno.test("dtmfPackets(): start, updates, three end packets (RFC 4733 §2.5.1.2, §2.5.1.4)", () => {
  const p = dtmfPackets("7", { timestamp: 0xfffffff0, durationMs: 200, intervalMs: 50 });
  const ev = p.map((x) => decodeTelephoneEvents(x.payload)[0]!);
  deepEqual(ev.map((e) => e.duration), [400, 800, 1200, 1600, 1600, 1600]);
  deepEqual(ev.map((e) => e.end), [false, false, false, true, true, true]);
  deepEqual(p.map((x) => x.marker), [true, false, false, false, false, false]);
  ok(p.every((x) => x.timestamp === 0xfffffff0));
  deepEqual(p.map((x) => x.offsetMs), [0, 50, 100, 150, 200, 250]);
});

Deno.test("dtmfPackets(): long events are split into segments (RFC 4733 §2.5.1.3)", () => {
  const p = dtmfPackets("0", { timestamp: 1000, durationMs: 10_000, intervalMs: 1000 });
  const ev = p.map((x) => ({
    ts: x.timestamp,
    m: x.marker,
    ...decodeTelephoneEvents(x.payload)[0]!,
  }));
  const firstSeg = ev.filter((e) => e.ts === 1000);
  const secondSeg = ev.filter((e) => e.ts === 1000 + 0xffff);
  equal(firstSeg.at(-1)!.duration, 0xffff);
  equal(firstSeg.at(-1)!.end, false);
  ok(!secondSeg[0]!.m, "no marker on a new segment");
  equal(secondSeg.at(-1)!.duration, 80000 - 0xffff);
  equal(ev.filter((e) => e.end).length, 3);
  // The receiver joins the segments into one key press.
  const rx = new DtmfReceiver();
  const notes = p.flatMap((x) => rx.receive(x));
  deepEqual(notes.map((n) => [n.type, n.digit, n.duration]), [["start", "0", 8000], [
    "end",
    "0",
    80000,
  ]]);
});

Deno.test("DtmfReceiver: loss of the first packet, retransmissions, and back-to-back digits (RFC 4733 §2.5.2.2)", () => {
  const rx = new DtmfReceiver();
  const digits: string[] = [];
  let ts = 16000;
  for (const d of "123") {
    const packets = dtmfPackets(d, { timestamp: ts, durationMs: 100 });
    packets.shift(); // the first packet (with M) is lost
    for (const p of packets) {
      for (const n of rx.receive(p)) if (n.type === "end") digits.push(n.digit);
    }
    ts += 1600;
  }
  deepEqual(digits, ["1", "2", "3"]);
  // All end packets lost: the next event ends the previous one.
  const rx2 = new DtmfReceiver();
  const a = dtmfPackets("4", { timestamp: 0, durationMs: 100 }).filter((p) =>
    !decodeTelephoneEvents(p.payload)[0]!.end
  );
  const b = dtmfPackets("5", { timestamp: 1600, durationMs: 100 });
  const notes = [...a, ...b].flatMap((p) => rx2.receive(p));
  deepEqual(notes.filter((n) => n.type === "end").map((n) => n.digit), ["4", "5"]);
  equal(rx2.flush(), undefined);
  const rx3 = new DtmfReceiver();
  rx3.receive(a[0]!);
  equal(rx3.flush()?.digit, "4");
});
