// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, throws } from "node:assert/strict";
import fc from "fast-check";
import { parseIp, peerAddressClass, PeerPolicy } from "./peers.ts";

Deno.test("parseIp() reads IPv4 and every IPv6 text form, refuses the rest", () => {
  deepEqual([...parseIp("10.1.2.3")!], [10, 1, 2, 3]);
  deepEqual([...parseIp("::")!], new Array(16).fill(0));
  deepEqual([...parseIp("::1")!], [...new Array(15).fill(0), 1]);
  deepEqual([...parseIp("2001:db8::2:1")!].slice(0, 4), [0x20, 0x01, 0x0d, 0xb8]);
  deepEqual([...parseIp("2001:db8::2:1")!].slice(12), [0, 2, 0, 1]);
  deepEqual([...parseIp("::ffff:192.0.2.1")!].slice(10), [0xff, 0xff, 192, 0, 2, 1]);
  deepEqual([...parseIp("fe80::1%eth0")!].slice(0, 2), [0xfe, 0x80]);
  deepEqual(
    [...parseIp("1:2:3:4:5:6:7:8")!],
    [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8],
  );
  for (const bad of ["", "1.2.3", "1.2.3.256", "1::2::3", "1:2:3:4:5:6:7:8:9", "::g", "a.b.c.d"]) {
    equal(parseIp(bad), undefined, bad);
  }
  equal(parseIp("1:2:3:4:5:6:7::8"), undefined); // "::" must stand for at least one group
  fc.assert(
    fc.property(fc.ipV6(), (ip) => equal(parseIp(ip)?.length, 16)),
    { numRuns: 300 },
  );
  fc.assert(fc.property(fc.ipV4(), (ip) => equal(parseIp(ip)?.length, 4)), { numRuns: 300 });
});

Deno.test("peerAddressClass() names the classes a relay must not reach (RFC 8656 §21.2.2)", () => {
  const cases: [string, string][] = [
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["::", "unspecified"],
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::127.0.0.1", "loopback"],
    ["64:ff9b::7f00:1", "loopback"],
    ["255.255.255.255", "broadcast"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["ff02::1", "multicast"],
    ["240.0.0.1", "reserved"],
    ["10.0.0.1", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "private"],
    ["fd00::1", "private"],
    ["::ffff:10.0.0.1", "private"],
    ["169.254.1.1", "link-local"],
    ["fe80::1", "link-local"],
    ["172.32.0.1", "public"],
    ["8.8.8.8", "public"],
    ["203.0.113.5", "public"],
    ["2001:db8::1", "public"],
  ];
  for (const [ip, cls] of cases) equal(peerAddressClass(ip), cls, ip);
  equal(peerAddressClass("localhost"), undefined);
});

Deno.test("PeerPolicy: public only by default, explicit exceptions, never unspecified", () => {
  const strict = new PeerPolicy();
  for (const ip of ["127.0.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1", "10.0.0.1", "::1"]) {
    equal(strict.allows(ip), false, ip);
  }
  equal(strict.allows("198.51.100.7"), true);
  equal(strict.allows("not an address"), false);
  const loop = new PeerPolicy({ allowLoopbackPeers: true });
  equal(loop.allows("127.0.0.1"), true);
  equal(loop.allows("::ffff:127.0.0.1"), true);
  equal(loop.allows("10.0.0.1"), false);
  equal(loop.allows("0.0.0.0"), false);
  equal(new PeerPolicy({ allowPrivatePeers: true }).allows("192.168.0.1"), true);
  const lists = new PeerPolicy({
    allowedPeers: ["127.0.0.1", "10.1.0.0/16", "0.0.0.0/0"],
    deniedPeers: ["203.0.113.0/24", "::ffff:198.51.100.1"],
  });
  equal(lists.allows("127.0.0.1"), true);
  equal(lists.allows("127.0.0.2"), true); // 0.0.0.0/0 allows every class but unspecified
  equal(lists.allows("0.0.0.0"), false);
  equal(lists.allows("203.0.113.9"), false);
  equal(lists.allows("::ffff:203.0.113.9"), false); // the IPv4 inside a mapped address
  equal(new PeerPolicy({ allowedPeers: ["10.1.0.0/16"] }).allows("10.2.0.1"), false);
  throws(() => new PeerPolicy({ allowedPeers: ["10.0.0.0/33"] }), TypeError);
  throws(() => new PeerPolicy({ deniedPeers: ["example.org"] }), TypeError);
});
