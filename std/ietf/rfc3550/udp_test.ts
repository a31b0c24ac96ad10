// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal } from "node:assert/strict";
import dgram from "node:dgram";
import { encodeRtcp } from "./mod.ts";
import { RtpSocket } from "./udp.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("RtpSocket reports a peer's BYE once, compound or not (RFC 3550 §6.6)", async () => {
  const byes: [number[], string | undefined][] = [];
  await using rx = await RtpSocket.open({ onBye: (s, reason) => byes.push([s, reason]) });
  const tx = await RtpSocket.open({ remote: { host: "127.0.0.1", port: rx.port } });
  for (let i = 0; i < 5; i++) tx.send(0, new Uint8Array(160));
  await sleep(100);
  const ssrc = tx.session.ssrc;
  await tx.close("done"); // RR, SDES, BYE from the RTCP port
  await sleep(100);
  deepEqual(byes, [[[ssrc], "done"]]);
  equal(rx.session.hasLeft(ssrc), true);
  // a repeated lone BYE (no RR first) from another socket is neither reported again nor dropped
  const raw = dgram.createSocket("udp4");
  await new Promise<void>((r) => raw.bind(0, "127.0.0.1", () => r()));
  raw.send(encodeRtcp([{ type: "bye", sources: [ssrc] }]), rx.port + 1, "127.0.0.1");
  await sleep(100);
  raw.close();
  equal(byes.length, 1);
  equal(rx.session.stats().nonCompound, 1);
});
