// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { decodeMessage, DnsZone, encodeMessage, frameTcp, TcpDeframer } from "./mod.ts";
import { DnsResolver } from "./resolver.ts";
import { serveDns } from "./server.ts";
import { ZONE_RECORDS } from "../testdata/dns_zone.ts";
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import dgram from "node:dgram";

function header(qd: number, an: number, ns = 0, ar = 0): number[] {
  return [0, 1, 0x81, 0x80, 0, qd, 0, an, 0, ns, 0, ar];
}

Deno.test("serveDns() survives bad queries and answers FORMERR when it can", async () => {
  await using server = await serveDns({ zone: new DnsZone(ZONE_RECORDS), port: 0 });
  const sock = dgram.createSocket("udp4");
  const replies: Uint8Array[] = [];
  sock.on("message", (m: Uint8Array) => replies.push(new Uint8Array(m)));
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
  try {
    sock.send(Uint8Array.of(1, 2), server.port, "127.0.0.1");
    sock.send(
      Uint8Array.from([...header(1, 0), 0xc0, 12, 0, 1, 0, 1]).map((b, i) => i === 2 ? 0 : b),
      server.port,
      "127.0.0.1",
    );
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(replies.length, 1);
    const formerr = decodeMessage(replies[0]!);
    assertEquals([formerr.id, formerr.rcode], [1, 1]);
    // TCP: a bad frame closes that connection only.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write(frameTcp(Uint8Array.of(9, 9, 9)));
    conn.close();
    const ok = await new DnsResolver({ servers: [`127.0.0.1:${server.port}`], tcp: true }).query(
      "sip.test",
      "A",
    );
    assertEquals(ok.answers.length, 1);
  } finally {
    sock.close();
  }
});

Deno.test("serveDns() answers TCP queries that arrive coalesced and split (RFC 1035 §4.2.2)", async () => {
  await using server = await serveDns({ zone: new DnsZone(ZONE_RECORDS), port: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const q = (id: number) =>
      frameTcp(encodeMessage({ id, questions: [{ name: "pbx.sip.test", type: "A" }] }));
    // Two queries in one write, then a third cut inside its length prefix and its body.
    await conn.write(Uint8Array.of(...q(1), ...q(2)));
    const third = q(3);
    for (const part of [third.subarray(0, 1), third.subarray(1, 9), third.subarray(9)]) {
      await conn.write(part);
      await new Promise((r) => setTimeout(r, 20));
    }
    const ids: number[] = [];
    const deframer = new TcpDeframer();
    const buf = new Uint8Array(4096);
    while (ids.length < 3) {
      const n = await conn.read(buf);
      if (n === null) break;
      deframer.push(buf.subarray(0, n));
      for (let m = deframer.next(); m; m = deframer.next()) ids.push(decodeMessage(m).id);
    }
    assertEquals(ids, [1, 2, 3]);
  } finally {
    conn.close();
  }
});
