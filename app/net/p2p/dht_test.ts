// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, notEqual, ok, rejects, throws } from "node:assert/strict";
import { createSocket } from "node:dgram";
import fc from "fast-check";
import { equals } from "@rtclite/std/bytes";
import { freePort, run, startPeer } from "@rtclite/testing";
import {
  type Address,
  bucketIndex,
  compareDistance,
  type Contact,
  decodeMessage,
  DhtError,
  type DhtMessage,
  DhtNode,
  type DhtNodeOptions,
  type DhtOutput,
  DhtParseError,
  distance,
  encodeMessage,
  fromHex,
  hashKey,
  ID_LENGTH,
  Lookup,
  MAX_MESSAGE_SIZE,
  type OperationResult,
  parseAddress,
  randomId,
  type RemovalSignature,
  removalSigningInput,
  RoutingTable,
  signRemoval,
  signValue,
  toHex,
  UdpDht,
  type ValueSignature,
  verifyRemoval,
  verifyValue,
} from "./dht.ts";
import { exportPrivateKey, exportPublicKey, generateKeyPair, sign } from "../../sec/crypto.ts";

const idb = (first: number, last = 0) => {
  const id = new Uint8Array(ID_LENGTH);
  id[0] = first;
  id[ID_LENGTH - 1] = last;
  return id;
};
const contact = (id: Uint8Array, port = 4000): Contact => ({ id, host: "127.0.0.1", port });

// === Identifiers ===

Deno.test("distance(), bucketIndex(), compareDistance() follow the XOR metric (Kademlia §2.1)", () => {
  const a = randomId(), b = randomId(), c = randomId();
  // d(a,a) = 0, symmetry, triangle inequality for XOR (d(a,c) <= d(a,b) XOR d(b,c) holds equal)
  equal(toHex(distance(a, a)), "00".repeat(20));
  equal(toHex(distance(a, b)), toHex(distance(b, a)));
  equal(toHex(distance(a, c)), toHex(distance(distance(a, b), distance(b, c))));
  equal(bucketIndex(idb(0), idb(0x80)), 159);
  equal(bucketIndex(idb(0), idb(0x01)), 152);
  equal(bucketIndex(idb(0), idb(0, 2)), 1);
  equal(bucketIndex(idb(0, 3), idb(0, 2)), 0);
  ok(compareDistance(idb(0, 1), idb(0, 2), idb(0)) < 0);
  ok(compareDistance(idb(0x40), idb(0x80), idb(0xc0)) > 0);
  equal(compareDistance(a, a, b), 0);
  equal(toHex(hashKey("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  throws(() => fromHex("00"), RangeError);
  deepEqual(parseAddress("[fe80::1]:53"), { host: "fe80::1", port: 53 });
  throws(() => parseAddress("127.0.0.1"), RangeError);
  throws(() => parseAddress("127.0.0.1:70000"), RangeError);
});

// === Routing table ===

Deno.test("RoutingTable keeps buckets least recently seen first (Kademlia §2.2)", () => {
  const t = new RoutingTable(idb(0), { k: 3, clock: () => 0 });
  for (const b of [0x80, 0x81, 0x82]) equal(t.seen(contact(idb(b), b)).type, "added");
  equal(t.seen(contact(idb(0x80), 1)).type, "updated"); // moves to the tail, new port
  deepEqual(t.contacts().map((c) => c.port), [0x81, 0x82, 1]);
  equal(t.seen(contact(idb(0))).type, "self");
  // Different buckets do not compete.
  equal(t.seen(contact(idb(0x40))).type, "added");
  equal(t.size, 4);
});

Deno.test("RoutingTable pings the oldest before evicting it (Kademlia §2.2)", async (t) => {
  await t.step("the oldest answers: it stays, the newcomer waits", () => {
    const rt = new RoutingTable(idb(0), { k: 2, clock: () => 0 });
    rt.seen(contact(idb(0x80), 1));
    rt.seen(contact(idb(0x81), 2));
    const r = rt.seen(contact(idb(0x82), 3));
    ok(r.type === "ping");
    equal(r.oldest.port, 1);
    // Another newcomer while the ping is out does not ping again.
    equal(rt.seen(contact(idb(0x83), 4)).type, "updated");
    equal(rt.seen(contact(idb(0x80), 1)).type, "updated"); // the pong
    deepEqual(rt.contacts().map((c) => c.port), [2, 1]);
    // Later, when a contact fails, the newest replacement takes its place.
    equal(rt.failed(idb(0x81)), true);
    deepEqual(rt.contacts().map((c) => c.port), [1, 4]);
  });
  await t.step("the oldest is silent: the newcomer replaces it", () => {
    const rt = new RoutingTable(idb(0), { k: 2, clock: () => 0 });
    rt.seen(contact(idb(0x80), 1));
    rt.seen(contact(idb(0x81), 2));
    equal(rt.seen(contact(idb(0x82), 3)).type, "ping");
    equal(rt.failed(idb(0x80)), true);
    deepEqual(rt.contacts().map((c) => c.port), [2, 3]);
  });
  await t.step("without replacements a contact is dropped after maxFailures", () => {
    const rt = new RoutingTable(idb(0), { k: 2, maxFailures: 2, clock: () => 0 });
    rt.seen(contact(idb(0x80), 1));
    equal(rt.failed(idb(0x80)), false);
    equal(rt.size, 1);
    equal(rt.failed(idb(0x80)), true);
    equal(rt.size, 0);
    equal(rt.failed(idb(0x80)), false);
  });
});

Deno.test("RoutingTable keeps one identifier per address", () => {
  const rt = new RoutingTable(idb(0), { k: 4, clock: () => 0 });
  // One sender claiming many identifiers occupies one entry: the latest.
  for (let i = 0; i < 50; i++) rt.seen(contact(randomId(), 9));
  equal(rt.size, 1);
  rt.seen(contact(idb(0x80), 1));
  rt.seen(contact(idb(0x40), 2));
  equal(rt.size, 3);
  // A node restarted with a new identifier on the same address replaces the old one.
  rt.seen(contact(idb(0x81), 1));
  deepEqual(
    rt.contacts().map((c) => c.id[0]).sort(),
    [0x40, 0x81, rt.contacts().find((c) => c.port === 9)!.id[0]].sort(),
  );
  equal(rt.size, 3);
  // A node that moves to another port keeps its entry, and its old address is free.
  rt.seen(contact(idb(0x81), 5));
  rt.seen(contact(idb(0x20), 1));
  equal(rt.size, 4);
  rt.remove(idb(0x20));
  equal(rt.size, 3);
});

Deno.test("RoutingTable.closest() sorts by XOR distance", () => {
  const rt = new RoutingTable(idb(0), { k: 20, clock: () => 0 });
  const ids = Array.from({ length: 60 }, () => randomId());
  ids.forEach((id, i) => rt.seen(contact(id, i)));
  const target = randomId();
  const got = rt.closest(target, 5);
  const all = rt.contacts().sort((a, b) => compareDistance(a.id, b.id, target));
  deepEqual(got.map((c) => c.port), all.slice(0, 5).map((c) => c.port));
});

Deno.test("RoutingTable.staleTargets() refreshes idle buckets by the clock (Kademlia §2.3)", () => {
  let now = 0;
  const self = randomId();
  const rt = new RoutingTable(self, { k: 4, clock: () => now });
  const far = new Uint8Array(self);
  far[0] = far[0]! ^ 0x80;
  rt.seen(contact(far));
  deepEqual(rt.staleTargets(1000), []);
  now = 1000;
  const targets = rt.staleTargets(1000);
  equal(targets.length, 160); // all buckets up to the highest non-empty one
  targets.forEach((id, i) => equal(bucketIndex(self, id), i));
  deepEqual(rt.staleTargets(1000), []);
  now = 1500;
  rt.touched(far);
  now = 2000;
  const stale = rt.staleTargets(1000);
  equal(stale.length, 159); // bucket 159 was looked up at 1500
  ok(stale.every((id) => bucketIndex(self, id) !== 159));
});

// === Lookup ===

/** A perfect network: each node answers with the k closest of all. */
function perfectNetwork(n: number) {
  const all = Array.from({ length: n }, (_, i) => contact(randomId(), 5000 + i));
  const answer = (target: Uint8Array, k: number) =>
    [...all].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, k);
  return { all, answer };
}

Deno.test("Lookup converges on the k closest nodes with alpha in flight (Kademlia §2.3)", () => {
  const { all, answer } = perfectNetwork(200);
  const k = 8;
  // Each node answers from its own k-bucket routing table holding every node that fits.
  const tables = new Map(all.map((c) => {
    const rt = new RoutingTable(c.id, { k, clock: () => 0 });
    for (const other of all) rt.seen(other);
    return [toHex(c.id), rt];
  }));
  for (let round = 0; round < 20; round++) {
    const target = randomId();
    const l = new Lookup(target, all.slice(round, round + 3), { k, alpha: 3 });
    const queue = l.next();
    equal(queue.length, 3);
    let queries = 0;
    while (queue.length) {
      const c = queue.shift()!;
      queries++;
      ok(l.inFlight <= 3);
      queue.push(...l.answer(c.id, tables.get(toHex(c.id))!.closest(target, k)));
    }
    equal(l.done, true);
    ok(queries < 60, `${queries} queries`);
    deepEqual(l.closest().map((c) => c.port), answer(target, k).map((c) => c.port));
  }
});

Deno.test("Lookup skips failed nodes and collects values", () => {
  const { all, answer } = perfectNetwork(50);
  const target = randomId();
  const k = 5;
  const dead = new Set(answer(target, 2).map((c) => toHex(c.id))); // the two closest are down
  const seed = all.find((c) => !dead.has(toHex(c.id)))!;
  const l = new Lookup(target, [seed], { k, alpha: 2 });
  const answered: number[] = [];
  const queue = l.next();
  while (queue.length) {
    const c = queue.shift()!;
    if (dead.has(toHex(c.id))) queue.push(...l.failure(c.id));
    else {
      answered.push(c.port);
      const values = [{ value: new Uint8Array([c.port % 2]), ttl: c.port }];
      queue.push(...l.answer(c.id, answer(target, k + 2), values));
    }
  }
  ok(l.done);
  const expected = answer(target, k + 2).filter((c) => !dead.has(toHex(c.id))).slice(0, k);
  deepEqual(l.closest().map((c) => c.port), expected.map((c) => c.port));
  // One copy of each distinct value, with the longest TTL reported.
  const best = (parity: number) => Math.max(...answered.filter((p) => p % 2 === parity));
  deepEqual(
    l.values.sort((a, b) => a.value[0]! - b.value[0]!),
    [0, 1].filter((p) => answered.some((x) => x % 2 === p)).map((p) => ({
      value: new Uint8Array([p]),
      ttl: best(p),
    })),
  );
  // Answers from nodes not asked are ignored.
  deepEqual(l.answer(randomId(), all), []);
  equal(l.done, true);
});

Deno.test("Lookup never queries itself and ends at once with no seeds", () => {
  const self = randomId();
  const l = new Lookup(randomId(), [contact(self)], { k: 3 }, self);
  deepEqual(l.next(), []);
  equal(l.done, true);
  deepEqual(l.closest(), []);
});

// === Codec ===

const arbId = fc.uint8Array({ minLength: 20, maxLength: 20 });
const arbV4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join("."));
const arbV6 = fc.ipV6().map((h) => {
  // Normalise through the codec's own canonical form by a round trip of a contact.
  const m = decodeMessage(encodeMessage({
    type: "nodes",
    tx: 0,
    sender: new Uint8Array(20),
    nodes: [{ id: new Uint8Array(20), host: h, port: 1 }],
  }));
  return (m as { nodes: Contact[] }).nodes[0]!.host;
});
const arbContact = fc.record({
  id: arbId,
  host: fc.oneof(arbV4, arbV6),
  port: fc.nat(65535),
});
const arbContacts = fc.array(arbContact, { maxLength: 20 });
const arbValue = fc.uint8Array({ maxLength: 300 });
const header = { tx: fc.nat(0xffffffff).map((n) => n >>> 0), sender: arbId };
const arbOwner = fc.uint8Array({ minLength: 32, maxLength: 32 });
const arbSig = fc.uint8Array({ minLength: 64, maxLength: 64 });
const arbSeq = fc.maxSafeNat();
const arbValueSignature = fc.record({
  owner: arbOwner,
  id: fc.nat(0xffffffff),
  seq: arbSeq,
  expires: fc.nat(0xffffffff),
  signature: arbSig,
});
const arbRemovalSignature = fc.record({
  owner: arbOwner,
  id: fc.nat(0xffffffff),
  seq: arbSeq,
  signature: arbSig,
});
const arbMessage: fc.Arbitrary<DhtMessage> = fc.oneof(
  fc.record({ type: fc.constant("ping" as const), ...header }),
  fc.record({ type: fc.constant("pong" as const), ...header }),
  fc.record({ type: fc.constant("find-node" as const), ...header, target: arbId }),
  fc.record({ type: fc.constant("find-value" as const), ...header, key: arbId, owner: arbOwner }, {
    requiredKeys: ["type", "tx", "sender", "key"],
  }),
  fc.record({ type: fc.constant("nodes" as const), ...header, nodes: arbContacts }),
  fc.record({
    type: fc.constant("values" as const),
    ...header,
    values: fc.array(
      fc.record({
        value: arbValue,
        ttl: fc.nat(0xffffffff),
        signed: arbValueSignature,
        secretHash: arbId,
      }, { requiredKeys: ["value", "ttl"] }),
      { maxLength: 5 },
    ),
    nodes: fc.array(arbContact, { maxLength: 8 }),
  }),
  fc.record({
    type: fc.constant("store" as const),
    ...header,
    key: arbId,
    value: arbValue,
    ttl: fc.nat(0xffffffff),
    secretHash: arbId,
  }, { requiredKeys: ["type", "tx", "sender", "key", "value", "ttl"] }),
  fc.record({
    type: fc.constant("store" as const),
    ...header,
    key: arbId,
    value: arbValue,
    ttl: fc.nat(0xffffffff),
    signed: arbValueSignature,
  }),
  fc.record({
    type: fc.constant("stored" as const),
    ...header,
    status: fc.constantFrom("stored" as const, "refused" as const),
  }),
  fc.record({
    type: fc.constant("remove" as const),
    ...header,
    key: arbId,
    valueHash: arbId,
    secret: fc.uint8Array({ maxLength: 255 }),
    ttl: fc.nat(0xffffffff),
  }),
  fc.record({
    type: fc.constant("remove" as const),
    ...header,
    key: arbId,
    valueHash: arbId,
    signed: arbRemovalSignature,
    ttl: fc.nat(0xffffffff),
  }),
  fc.record({
    type: fc.constant("removed" as const),
    ...header,
    status: fc.constantFrom("removed" as const, "not-found" as const, "denied" as const),
  }),
);

Deno.test("decodeMessage(encodeMessage(m)) equals m (property)", () => {
  fc.assert(
    fc.property(arbMessage, (m) => {
      const bytes = encodeMessage(m);
      ok(bytes.length <= MAX_MESSAGE_SIZE);
      deepEqual(decodeMessage(bytes), m);
    }),
    { numRuns: 300 },
  );
});

Deno.test("decodeMessage() throws only DhtParseError on random and mutated input (property)", () => {
  const onlyTyped = (data: Uint8Array) => {
    try {
      const m = decodeMessage(data);
      // Whatever decodes re-encodes to the same bytes.
      deepEqual(encodeMessage(m), data);
    } catch (e) {
      if (!(e instanceof DhtParseError)) throw e;
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), onlyTyped), { numRuns: 500 });
  fc.assert(
    fc.property(
      arbMessage,
      fc.nat(),
      fc.nat(255),
      fc.nat(8),
      (m, at, byte, cut) => {
        const bytes = encodeMessage(m);
        const mutated = bytes.slice(0, Math.max(0, bytes.length - cut));
        if (mutated.length) mutated[at % mutated.length] = byte;
        onlyTyped(mutated);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("decodeMessage() and encodeMessage() enforce limits", async (t) => {
  const sender = new Uint8Array(20);
  await t.step("oversized datagram", () => {
    throws(() => decodeMessage(new Uint8Array(MAX_MESSAGE_SIZE + 1)), DhtParseError);
  });
  await t.step("wrong version and unknown type", () => {
    const ping = encodeMessage({ type: "ping", tx: 1, sender });
    throws(() => decodeMessage(Uint8Array.of(1, ...ping.subarray(1))), /unsupported version 1/);
    throws(() => decodeMessage(Uint8Array.of(3, ...ping.subarray(1))), /unsupported version 3/);
    throws(() => decodeMessage(Uint8Array.of(2, 99, ...ping.subarray(2))), /unknown type 99/);
  });
  await t.step("trailing bytes", () => {
    const ping = encodeMessage({ type: "ping", tx: 1, sender });
    throws(() => decodeMessage(Uint8Array.of(...ping, 0)), /1 trailing bytes/);
  });
  await t.step("truncated header", () => {
    throws(() => decodeMessage(new Uint8Array(10)), /header needs 26 bytes/);
  });
  await t.step("values, contacts, secrets too large to encode", () => {
    const key = new Uint8Array(20);
    throws(
      () =>
        encodeMessage({ type: "store", tx: 1, sender, key, ttl: 1, value: new Uint8Array(1025) }),
      DhtParseError,
    );
    throws(() =>
      encodeMessage({
        type: "nodes",
        tx: 1,
        sender,
        nodes: Array(33).fill(contact(key)),
      }), /more than 32 contacts/);
    throws(() =>
      encodeMessage({
        type: "remove",
        tx: 1,
        sender,
        key,
        valueHash: key,
        ttl: 1,
        secret: new Uint8Array(256),
      }), DhtParseError);
    throws(
      () =>
        encodeMessage({ type: "nodes", tx: 1, sender, nodes: [{ ...contact(key), host: "x" }] }),
      /not an IP address/,
    );
    throws(() => encodeMessage({ type: "ping", tx: -1, sender }), DhtParseError);
    throws(() => encodeMessage({ type: "ping", tx: 1, sender: new Uint8Array(3) }), DhtParseError);
  });
});

// === DhtNode in a simulated network (injected clock, no sockets, no sleeping) ===

class SimNet {
  now = 0;
  nodes = new Map<number, DhtNode>();
  down = new Set<number>();
  queue: { from: Address; out: DhtOutput[] }[] = [];
  results = new Map<string, OperationResult>();
  sent = 0;

  add(port: number, options: DhtNodeOptions = {}): DhtNode {
    const n = new DhtNode({ k: 8, rpcTimeout: 1000, clock: () => this.now, ...options });
    this.nodes.set(port, n);
    return n;
  }

  addr(port: number): Address {
    return { host: "127.0.0.1", port };
  }

  pump(): void {
    while (this.queue.length) {
      const { from, out } = this.queue.shift()!;
      for (const o of out) {
        if (o.type === "done") {
          this.results.set(`${from.port}/${o.result.id}`, o.result);
          continue;
        }
        this.sent++;
        if (this.down.has(o.to.port) || this.down.has(from.port)) continue;
        const node = this.nodes.get(o.to.port);
        if (node) this.queue.push({ from: o.to, out: node.receive(o.data, from) });
      }
    }
  }

  advance(ms: number): void {
    this.now += ms;
    for (const [port, n] of this.nodes) {
      if (!this.down.has(port)) this.queue.push({ from: this.addr(port), out: n.tick() });
    }
    this.pump();
  }

  run(port: number, op: (n: DhtNode) => { id: number; out: DhtOutput[] }): OperationResult {
    const { id, out } = op(this.nodes.get(port)!);
    this.queue.push({ from: this.addr(port), out });
    this.pump();
    for (let i = 0; i < 50 && !this.results.has(`${port}/${id}`); i++) this.advance(500);
    const r = this.results.get(`${port}/${id}`);
    if (!r) throw new Error(`operation ${id} on ${port} did not finish`);
    return r;
  }

  build(n: number, options: DhtNodeOptions = {}): void {
    for (let p = 1; p <= n; p++) this.add(p, options);
    for (let p = 2; p <= n; p++) this.run(p, (node) => node.join([this.addr(1)]));
  }
}

const text = (r: OperationResult) =>
  r.type === "get" ? r.values.map((v) => new TextDecoder().decode(v.value)).sort() : [];

Deno.test("DhtNode: put, get, remove across 40 simulated nodes (Kademlia §2.3)", () => {
  const net = new SimNet();
  net.build(40);
  for (const n of net.nodes.values()) ok(n.table.size >= 8, `table of ${n.table.size}`);
  const put = net.run(7, (n) => n.put("song", "la", { ttl: 600, secret: "pw" }));
  equal(put.type === "put" && put.stored, 8);
  net.run(9, (n) => n.put("song", "di", { ttl: 600 }));
  // Replicated on exactly the 8 closest nodes.
  const key = hashKey("song");
  const holders = [...net.nodes].filter(([, n]) => n.storedValues("song").length > 0);
  const closest = [...net.nodes].sort(([, a], [, b]) => compareDistance(a.id, b.id, key))
    .slice(0, 8);
  deepEqual(holders.map(([p]) => p).sort(), closest.map(([p]) => p).sort());
  for (const p of net.nodes.keys()) deepEqual(text(net.run(p, (n) => n.get("song"))), ["di", "la"]);
  // Removal: wrong secret refused, no secret refused, right secret works.
  const wrong = net.run(3, (n) => n.remove("song", "la", "nope"));
  ok(wrong.type === "remove" && wrong.removed === 0 && wrong.denied === 8);
  const noSecret = net.run(3, (n) => n.remove("song", "di", "pw"));
  ok(noSecret.type === "remove" && noSecret.removed === 0 && noSecret.denied === 8);
  const right = net.run(3, (n) => n.remove("song", "la", "pw"));
  ok(right.type === "remove" && right.removed === 8);
  deepEqual(text(net.run(30, (n) => n.get("song"))), ["di"]);
  // The tombstone stops a replica (same secret) from bringing it back; a new secret may.
  const again = net.run(11, (n) => n.put("song", "la", { ttl: 600, secret: "pw" }));
  deepEqual(again.type === "put" && again.stored, 0);
  const other = net.run(11, (n) => n.put("song", "la", { ttl: 600, secret: "other" }));
  deepEqual(other.type === "put" && other.stored, 8);
});

Deno.test("DhtNode: values expire after their TTL by the injected clock", () => {
  const net = new SimNet();
  net.build(20);
  net.run(5, (n) => n.put("k", "short", { ttl: 30 }));
  net.run(5, (n) => n.put("k", "long", { ttl: 3000 }));
  deepEqual(text(net.run(12, (n) => n.get("k"))), ["long", "short"]);
  const got = net.run(12, (n) => n.get("k"));
  ok(got.type === "get" && got.values.every((v) => v.ttl <= 3000 && v.ttl > 0));
  net.advance(31_000);
  deepEqual(text(net.run(12, (n) => n.get("k"))), ["long"]);
  // Housekeeping has dropped the expired copies from memory.
  const total = [...net.nodes.values()].reduce((s, n) => s + n.storedCount, 0);
  equal(total, 8);
});

Deno.test("DhtNode: survives dead nodes, republishes to their successors (Kademlia §2.5)", () => {
  const net = new SimNet();
  net.build(30, { republishInterval: 60_000, refreshInterval: 600_000 });
  net.run(2, (n) => n.put("x", "y", { ttl: 3600 }));
  const key = hashKey("x");
  const ranked = [...net.nodes].sort(([, a], [, b]) => compareDistance(a.id, b.id, key));
  // Kill five of the eight holders.
  for (const [p] of ranked.slice(0, 5)) net.down.add(p);
  const asker = ranked.find(([p]) => p !== 2 && !net.down.has(p))![0];
  deepEqual(text(net.run(asker, (n) => n.get("x"))), ["y"]);
  // After the republish interval the survivors copy the value to the next-closest live nodes.
  for (let i = 0; i < 40; i++) net.advance(2000);
  const live = ranked.filter(([p]) => !net.down.has(p)).slice(0, 8);
  for (const [p, n] of live) deepEqual(n.storedValues("x").length, 1, `node ${p}`);
});

Deno.test("DhtNode: ping-before-evict and RPC timeouts with the injected clock", () => {
  const net = new SimNet();
  const self = idb(0);
  const a = net.add(1, { id: self, k: 2 });
  // Three nodes in bucket 159 of node 1; the first two fill it.
  for (const [port, first] of [[2, 0x80], [3, 0x81], [4, 0x82]] as const) {
    net.add(port, { id: idb(first, port), k: 2 });
    net.queue.push({
      from: net.addr(port),
      out: net.nodes.get(port)!.join([net.addr(1)]).out,
    });
    if (port === 4) net.down.add(2); // the oldest goes silent before the newcomer arrives
    net.pump();
  }
  // Node 1 pinged node 2 (silent); the newcomer waits until the ping times out.
  deepEqual(a.table.contacts().map((c) => c.port).sort(), [2, 3]);
  net.advance(1000);
  deepEqual(a.table.contacts().map((c) => c.port).sort(), [3, 4]);
});

Deno.test("DhtNode.receive() drops bad datagrams and unsolicited answers", () => {
  const n = new DhtNode({ clock: () => 0 });
  const from = { host: "127.0.0.1", port: 9 };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
    const out = n.receive(data, from);
    ok(out.every((o) => o.type === "send"));
  }));
  // An answer nobody asked for is ignored and does not enter the table.
  const pong = encodeMessage({ type: "pong", tx: 5, sender: randomId() });
  deepEqual(n.receive(pong, from), []);
  // A ping is answered and its sender added.
  const peer = randomId();
  const out = n.receive(encodeMessage({ type: "ping", tx: 77, sender: peer }), from);
  equal(out.length, 1);
  const reply = decodeMessage((out[0] as { data: Uint8Array }).data);
  deepEqual(reply, { type: "pong", tx: 77, sender: n.id });
  equal(n.table.size, 1);
  // A store with TTL 0 is refused.
  const store = n.receive(
    encodeMessage({
      type: "store",
      tx: 1,
      sender: peer,
      key: peer,
      ttl: 0,
      value: new Uint8Array(),
    }),
    from,
  );
  deepEqual(decodeMessage((store[0] as { data: Uint8Array }).data), {
    type: "stored",
    tx: 1,
    sender: n.id,
    status: "refused",
  });
  throws(() => n.put("k", new Uint8Array(2000)), RangeError);
  throws(() => n.put("k", "v", { ttl: 0 }), RangeError);
  throws(() => n.get(new Uint8Array(3)), RangeError);
});

Deno.test("DhtNode caps values per key, unsigned values per key and per origin", () => {
  const net = new SimNet();
  net.build(3, { maxValuesPerKey: 4, maxUnsignedPerKey: 3, maxValuesPerOriginPerKey: 2 });
  const held = (port: number) =>
    net.nodes.get(port)!.storedValues("k").map((v) => new TextDecoder().decode(v.value)).sort();
  // Node 1 stores its own copy (origin "self") and sends STOREs to 2 and 3 (origin: node 1):
  // two values per origin per key.
  for (const v of ["a", "b", "c"]) net.run(1, (n) => n.put("k", v));
  for (const p of [1, 2, 3]) deepEqual(held(p), ["a", "b"]);
  // Another origin adds more: unsigned values stop at 3 of the 4 slots.
  for (const v of ["d", "e"]) net.run(2, (n) => n.put("k", v));
  for (const p of [1, 2, 3]) deepEqual(held(p), ["a", "b", "d"]);
  deepEqual(text(net.run(3, (n) => n.get("k"))), ["a", "b", "d"]);
});

// === Signed values ===

const enc = new TextEncoder();
const dec = (v: Uint8Array) => new TextDecoder().decode(v);

Deno.test("signValue() / signRemoval(): signatures cover key, value, id, seq and expiry", async () => {
  const owner = await generateKeyPair("Ed25519");
  const key = hashKey("alice");
  const v = enc.encode("sip:alice@10.0.0.1");
  const s = await signValue(owner, "alice", v, { ttl: 60, now: 1_000_000, seq: 5, id: 2 });
  deepEqual(s.owner, await exportPublicKey(owner.publicKey, "raw"));
  equal(s.expires, 1060);
  equal(verifyValue(key, v, s), true);
  // Each field is covered.
  equal(verifyValue(hashKey("bob"), v, s), false);
  equal(verifyValue(key, enc.encode("sip:eve@10.6.6.6"), s), false);
  for (const change of [{ id: 3 }, { seq: 6 }, { expires: 99999 }]) {
    equal(verifyValue(key, v, { ...s, ...change }), false, JSON.stringify(change));
  }
  const other = await generateKeyPair("Ed25519");
  equal(verifyValue(key, v, { ...s, owner: await exportPublicKey(other.publicKey, "raw") }), false);
  equal(verifyValue(key, v, { ...s, signature: new Uint8Array(64) }), false);
  equal(verifyValue(key, v, { ...s, owner: new Uint8Array(5) }), false);
  // A removal signature is not a put signature, and the other way round (context strings).
  const r = await signRemoval(owner, "alice", v, { seq: 6, id: 2 });
  equal(verifyRemoval(key, hashKey(v), r), true);
  equal(verifyRemoval(key, hashKey(enc.encode("x")), r), false);
  equal(verifyRemoval(key, hashKey(v), { ...r, seq: 7 }), false);
  const asPut: ValueSignature = { ...r, expires: 0 };
  equal(verifyValue(key, v, asPut), false);
  // Signed with Web Crypto, checked with the synchronous verifier: the same Ed25519.
  const input = removalSigningInput(key, hashKey(v), { id: 2, seq: 8 });
  const manual: RemovalSignature = {
    owner: s.owner,
    id: 2,
    seq: 8,
    signature: await sign(owner.privateKey, input),
  };
  equal(verifyRemoval(key, hashKey(v), manual), true);
  await rejects(signValue(await generateKeyPair("ECDSA-P256"), "k", "v"), TypeError);
  await rejects(signValue(owner, "k", "v", { ttl: 0 }), RangeError);
});

/** Owner and attacker keys, and helpers to craft raw STOREs and REMOVEs from a given port. */
async function signedFixture(net: SimNet) {
  const owner = await generateKeyPair("Ed25519");
  const mallory = await generateKeyPair("Ed25519");
  const ownerRaw = await exportPublicKey(owner.publicKey, "raw");
  const inject = (fromPort: number, to: number, m: DhtMessage) =>
    net.queue.push({
      from: net.addr(fromPort),
      out: [{ type: "send", to: net.addr(to), data: encodeMessage(m) }],
    });
  const holders = (key: string) =>
    [...net.nodes].sort(([, a], [, b]) => compareDistance(a.id, b.id, hashKey(key))).slice(0, 8);
  return { owner, mallory, ownerRaw, inject, holders };
}

const stored = (r: OperationResult) => (r.type === "put" ? r.stored : -1);
const removed = (r: OperationResult) => (r.type === "remove" ? r.removed : -1);
const found = (r: OperationResult) =>
  r.type === "get"
    ? r.values.map((v) => dec(v.value) + (v.signed ? `@${toHex(v.signed.owner).slice(0, 4)}` : ""))
      .sort()
    : [];

Deno.test("DhtNode signed values: only the owner replaces or removes; replays refused (30 nodes)", async () => {
  const net = new SimNet();
  net.build(30);
  const { owner, mallory, ownerRaw, inject, holders } = await signedFixture(net);
  const tag = toHex(ownerRaw).slice(0, 4);
  const ttl = 600;
  const sig1 = await signValue(owner, "alice", "contact-1", { ttl, now: net.now, seq: 1 });
  equal(stored(net.run(3, (n) => n.put("alice", "contact-1", { signature: sig1 }))), 8);
  // Unsigned values share the key (OpenDHT semantics), and get() can filter by owner.
  equal(stored(net.run(4, (n) => n.put("alice", "graffiti"))), 8);
  deepEqual(found(net.run(20, (n) => n.get("alice"))), [`contact-1@${tag}`, "graffiti"]);
  deepEqual(found(net.run(20, (n) => n.get("alice", { owner: ownerRaw }))), [`contact-1@${tag}`]);

  // Mallory cannot overwrite: her own key makes her own slot, not the owner's...
  const m1 = await signValue(mallory, "alice", "contact-evil", { ttl, now: net.now, seq: 9 });
  equal(stored(net.run(5, (n) => n.put("alice", "contact-evil", { signature: m1 }))), 8);
  deepEqual(found(net.run(21, (n) => n.get("alice", { owner: ownerRaw }))), [`contact-1@${tag}`]);
  // ...and a STORE claiming the owner's key with her signature, or the owner's signature on
  // another value, is refused by every holder (verified before storing).
  const forged = [
    { ...m1, owner: ownerRaw },
    { ...sig1, seq: 99 },
  ];
  for (const signed of forged) {
    for (const [port] of holders("alice")) {
      inject(5, port, {
        type: "store",
        tx: 1,
        sender: randomId(),
        key: hashKey("alice"),
        value: enc.encode("contact-evil"),
        ttl,
        signed,
      });
    }
    net.pump();
  }
  throws(
    () => net.nodes.get(5)!.put("alice", "contact-evil", { signature: { ...m1, owner: ownerRaw } }),
    RangeError,
  );
  for (const [, n] of holders("alice")) {
    deepEqual(n.storedValues("alice", ownerRaw).map((v) => dec(v.value)), ["contact-1"]);
  }

  // The owner updates (seq 2); a replay of the old put (seq 1) does not bring it back.
  const sig2 = await signValue(owner, "alice", "contact-2", { ttl, now: net.now, seq: 2 });
  equal(stored(net.run(3, (n) => n.put("alice", "contact-2", { signature: sig2 }))), 8);
  equal(stored(net.run(5, (n) => n.put("alice", "contact-1", { signature: sig1 }))), 0);
  deepEqual(found(net.run(22, (n) => n.get("alice", { owner: ownerRaw }))), [`contact-2@${tag}`]);

  // Mallory cannot remove it: no secret works on a signed value, nor her own signature.
  equal(removed(net.run(5, (n) => n.remove("alice", "contact-2", "guess"))), 0);
  const mr = await signRemoval(mallory, "alice", "contact-2", { seq: 10 });
  equal(removed(net.run(5, (n) => n.remove("alice", "contact-2", mr))), 0);
  for (const [port] of holders("alice")) {
    inject(5, port, {
      type: "remove",
      tx: 2,
      sender: randomId(),
      key: hashKey("alice"),
      valueHash: hashKey("contact-2"),
      ttl: 3600,
      signed: { ...mr, owner: ownerRaw },
    });
  }
  net.pump();
  deepEqual(found(net.run(23, (n) => n.get("alice", { owner: ownerRaw }))), [`contact-2@${tag}`]);

  // The owner removes it (seq 3); the removal is captured.
  const r3 = await signRemoval(owner, "alice", "contact-2", { seq: 3 });
  equal(removed(net.run(3, (n) => n.remove("alice", "contact-2", r3))), 8);
  deepEqual(found(net.run(24, (n) => n.get("alice", { owner: ownerRaw }))), []);
  // Replaying the captured put after the removal fails: its seq is not above the removal's.
  equal(stored(net.run(5, (n) => n.put("alice", "contact-2", { signature: sig2 }))), 0);
  // The owner puts again (seq 4). Mallory replays the captured removal: refused everywhere.
  const sig4 = await signValue(owner, "alice", "contact-2", { ttl, now: net.now, seq: 4 });
  equal(stored(net.run(3, (n) => n.put("alice", "contact-2", { signature: sig4 }))), 8);
  const replay = net.run(5, (n) => n.remove("alice", "contact-2", r3));
  ok(replay.type === "remove" && replay.removed === 0 && replay.denied === 8);
  deepEqual(found(net.run(25, (n) => n.get("alice", { owner: ownerRaw }))), [`contact-2@${tag}`]);

  // Signed expiry: past it, the value is gone, even republished or replayed.
  net.advance(ttl * 1000 + 1000);
  deepEqual(found(net.run(26, (n) => n.get("alice", { owner: ownerRaw }))), []);
  equal(stored(net.run(5, (n) => n.put("alice", "contact-2", { signature: sig4, ttl: 600 }))), 0);
});

Deno.test("DhtNode signed values: one node cannot crowd out the owner (issue 18 item 15)", async () => {
  const net = new SimNet();
  net.build(30);
  const { owner, ownerRaw, inject, holders } = await signedFixture(net);
  const key = hashKey("room");
  // The attacker (port 99, not in the network) sends each of the k closest nodes 300 unsigned
  // values, then 40 signed values under 40 fresh owner keys: more than the key's 256 slots.
  // Each datagram claims a fresh node identifier, too.
  const sybils = await Promise.all(Array.from({ length: 40 }, () => generateKeyPair("Ed25519")));
  for (const [port] of holders("room")) {
    for (let i = 0; i < 300; i++) {
      inject(99, port, {
        type: "store",
        tx: i,
        sender: randomId(),
        key,
        value: enc.encode(`junk-${i}`),
        ttl: 3600,
      });
    }
  }
  net.pump();
  const sybilSigs = await Promise.all(
    sybils.map((k, i) => signValue(k, "room", `sybil-${i}`, { ttl: 3600, now: net.now })),
  );
  for (const [port] of holders("room")) {
    sybilSigs.forEach((signed, i) =>
      inject(99, port, {
        type: "store",
        tx: 1000 + i,
        sender: randomId(),
        key,
        value: enc.encode(`sybil-${i}`),
        ttl: 3600,
        signed,
      })
    );
  }
  net.pump();
  // One origin got 32 slots per key at most (default), whatever it sent.
  for (const [, n] of holders("room")) equal(n.storedValues("room").length, 32);
  // The owner's put is stored on all k closest nodes, and found.
  const sig = await signValue(owner, "room", "alice-contact", { ttl: 600, now: net.now });
  equal(stored(net.run(7, (n) => n.put("room", "alice-contact", { signature: sig }))), 8);
  deepEqual(
    found(net.run(12, (n) => n.get("room", { owner: ownerRaw }))),
    [`alice-contact@${toHex(ownerRaw).slice(0, 4)}`],
  );
  // Unsigned puts by other nodes still find room too, up to the unsigned share of the key.
  equal(stored(net.run(8, (n) => n.put("room", "bob-note"))), 8);
});

Deno.test("DhtNode: a flood of removals cannot evict the tombstone that stops a replayed put", async () => {
  const net = new SimNet();
  const caps = { maxValues: 60, maxValuesPerOrigin: 20 };
  net.build(20, caps);
  // The attacker runs 5 nodes of its own (ports 100-104) that take part in the DHT.
  for (let p = 100; p < 105; p++) net.run(p, () => net.add(p, caps).join([net.addr(1)]));
  const { owner, ownerRaw, inject, holders } = await signedFixture(net);
  // The honest holders (an attacker node may be among the closest too).
  const honest = () => holders("alice").filter(([p]) => p < 100);
  const key = hashKey("alice");
  const s1 = await signValue(owner, "alice", "contact-1", { ttl: 600, now: net.now, seq: 1 });
  equal(stored(net.run(3, (n) => n.put("alice", "contact-1", { signature: s1 }))), 8);
  // Each attacker node sends every holder 30 removals of values that do not exist: each one
  // leaves a tombstone, until its origin's 20 and the node's 60 are used up.
  for (let origin = 100; origin < 105; origin++) {
    const sender = net.nodes.get(origin)!.id;
    for (const [port] of honest()) {
      for (let i = 0; i < 30; i++) {
        inject(origin, port, {
          type: "remove",
          tx: i,
          sender,
          key: randomId(),
          valueHash: randomId(),
          ttl: 3600,
          secret: enc.encode("x"),
        });
      }
    }
    if (origin === 100) {
      net.pump();
      for (const [, n] of honest()) equal(n.tombstoneCount, 20, "one origin: 20");
    }
  }
  net.pump();
  for (const [, n] of honest()) equal(n.tombstoneCount, 60, "the node: 60");
  // The owner removes (seq 2): each holder makes room for the signed tombstone.
  const r2 = await signRemoval(owner, key, "contact-1", { seq: 2 });
  const rr = net.run(3, (n) => n.remove("alice", "contact-1", r2));
  equal(removed(rr), 8);
  for (const [, n] of honest()) equal(n.tombstoneCount, 60);
  // The captured put, replayed to every holder, is refused by each: the tombstone held.
  for (const [port] of honest()) {
    inject(100, port, {
      type: "store",
      tx: 7,
      sender: randomId(),
      key,
      value: enc.encode("contact-1"),
      ttl: 600,
      signed: s1,
    });
  }
  net.pump();
  for (const [, n] of honest()) deepEqual(n.storedValues("alice"), []);
  deepEqual(found(net.run(9, (n) => n.get("alice", { owner: ownerRaw }))), []);
});

// === A real network on 127.0.0.1 ===

Deno.test({
  name: "UdpDht: 25 nodes on 127.0.0.1 store, find, survive losses, expire and remove",
  async fn() {
    let skew = 0;
    const clock = () => Date.now() + skew;
    const nodes: UdpDht[] = [];
    try {
      for (let i = 0; i < 25; i++) {
        nodes.push(await UdpDht.open({ k: 8, rpcTimeout: 300, clock }));
      }
      for (const n of nodes.slice(1)) await n.join([nodes[0]!.address]);
      for (const n of nodes) ok(n.node.table.size >= 8);
      equal(await nodes[4]!.put("room", "alice", { ttl: 60, secret: "a-pw" }), 8);
      equal(await nodes[9]!.put("room", "bob", { ttl: 600, secret: "b-pw" }), 8);
      const found = await Promise.all(nodes.map((n) => n.getText("room")));
      for (const f of found) deepEqual(f, ["alice", "bob"]);
      // Lose three of the eight holders.
      const key = hashKey("room");
      const ranked = [...nodes].sort((a, b) => compareDistance(a.node.id, b.node.id, key));
      const lost = ranked.slice(0, 3);
      for (const n of lost) await n.close();
      const alive = nodes.filter((n) => !lost.includes(n));
      for (const n of alive.slice(0, 8)) deepEqual(await n.getText("room"), ["alice", "bob"]);
      // Wrong secret: refused, the value stays.
      equal(await alive[0]!.remove("room", "bob", "a-pw"), false);
      deepEqual(await alive[1]!.getText("room"), ["alice", "bob"]);
      // Alice's TTL runs out.
      skew += 61_000;
      deepEqual(await alive[2]!.getText("room"), ["bob"]);
      // The right secret removes Bob.
      equal(await alive[3]!.remove("room", "bob", "b-pw"), true);
      deepEqual(await alive[4]!.getText("room"), []);
    } finally {
      for (const n of nodes) await n.close();
    }
  },
});

Deno.test({
  name:
    "UdpDht: 25 nodes on 127.0.0.1, an attacker node cannot overwrite, remove or crowd out a signed value",
  async fn() {
    const nodes: UdpDht[] = [];
    const raw = createSocket("udp4");
    try {
      for (let i = 0; i < 26; i++) nodes.push(await UdpDht.open({ k: 8, rpcTimeout: 300 }));
      for (const n of nodes.slice(1)) await n.join([nodes[0]!.address]);
      const mallory = nodes[25]!;
      const alice = await generateKeyPair("Ed25519");
      const aliceRaw = await exportPublicKey(alice.publicKey, "raw");
      const eve = await generateKeyPair("Ed25519");
      const key = hashKey("sip:alice@example.com");
      const holders = nodes.filter((n) => n !== mallory)
        .sort((a, b) => compareDistance(a.node.id, b.node.id, key)).slice(0, 8);
      let answers = 0, sent = 0;
      raw.on("message", () => answers++);
      const send = (to: UdpDht, m: DhtMessage) =>
        new Promise((r) => raw.send(encodeMessage(m), to.address.port, "127.0.0.1", r));

      const drained = async (expected: number) => {
        const deadline = Date.now() + 20_000;
        while (answers < expected && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 10));
        }
        equal(answers, expected);
      };
      // Mallory floods the key's holders first: 300 unsigned values from her socket, in bursts
      // of 50 each answered before the next (a socket buffer on loopback holds ~200 datagrams;
      // beyond that the kernel would drop the flood rather than the node refuse it).
      for (const h of holders) {
        for (let i = 0; i < 300; i++) {
          if (i % 50 === 0) await drained(sent);
          sent++;
          await send(h, {
            type: "store",
            tx: i,
            sender: mallory.node.id,
            key,
            value: enc.encode(`junk-${i}`),
            ttl: 600,
          });
        }
      }
      // Every STORE was answered (stored or refused).
      await drained(8 * 300);
      // Each holder has taken 32 of them (one origin's share of a key) and refused the rest.
      deepEqual(holders.map((h) => h.node.storedValues(key).length), Array(8).fill(32));
      // Alice's put still lands on all k nodes.
      equal(
        await nodes[3]!.put("sip:alice@example.com", "contact-1", { owner: alice, ttl: 600 }),
        8,
      );
      const mine = { owner: alice.publicKey };
      deepEqual(await nodes[7]!.getText("sip:alice@example.com", mine), ["contact-1"]);

      // Overwrite attempts: Mallory's own key fills her own slot only; a forged claim of
      // Alice's key is refused.
      equal(
        await mallory.put("sip:alice@example.com", "contact-evil", { owner: eve, ttl: 600 }),
        8,
      );
      const evil = await signValue(eve, key, "contact-evil", { ttl: 600, seq: Date.now() * 2 });
      for (const h of holders) {
        await send(h, {
          type: "store",
          tx: 1,
          sender: mallory.node.id,
          key,
          value: enc.encode("contact-evil"),
          ttl: 600,
          signed: { ...evil, owner: aliceRaw },
        });
      }
      deepEqual(await nodes[8]!.getText("sip:alice@example.com", mine), ["contact-1"]);

      // Removal attempts: a guessed secret, Mallory's own signature: refused.
      equal(await mallory.remove("sip:alice@example.com", "contact-1", "guess"), false);
      equal(await mallory.remove("sip:alice@example.com", "contact-1", eve), false);
      deepEqual(await nodes[9]!.getText("sip:alice@example.com", mine), ["contact-1"]);

      // Alice moves: she removes contact-1 and puts contact-2; Mallory captured the removal.
      const removal = await signRemoval(alice, key, "contact-1");
      equal(await nodes[3]!.remove("sip:alice@example.com", "contact-1", removal), true);
      equal(
        await nodes[3]!.put("sip:alice@example.com", "contact-1", { owner: alice, ttl: 600 }),
        8,
      );
      // Replaying the captured removal after Alice's new put is refused by every holder.
      equal(await mallory.remove("sip:alice@example.com", "contact-1", removal), false);
      deepEqual(await nodes[10]!.getText("sip:alice@example.com", mine), ["contact-1"]);
      // The unfiltered get sees everyone's values; Alice's signed one among them.
      const all = await nodes[11]!.getValues("sip:alice@example.com");
      ok(
        all.some((v) =>
          v.signed && equals(v.signed.owner, aliceRaw) && dec(v.value) === "contact-1"
        ),
      );
      ok(all.every((v) => !v.signed || verifyValue(key, v.value, v.signed)));
    } finally {
      await new Promise<void>((r) => raw.close(() => r()));
      for (const n of nodes) await n.close();
    }
  },
});

Deno.test("UdpDht ignores garbage datagrams", async () => {
  await using a = await UdpDht.open();
  await using b = await UdpDht.open();
  const sock = createSocket("udp4");
  try {
    for (let i = 0; i < 50; i++) {
      const data = crypto.getRandomValues(new Uint8Array(i * 7));
      await new Promise((r) => sock.send(data, a.address.port, "127.0.0.1", r));
    }
  } finally {
    await new Promise<void>((r) => sock.close(() => r()));
  }
  equal(await b.join([a.address]), 1);
  equal(await b.put("k", "v"), 2);
  deepEqual(await a.getText("k"), ["v"]);
  notEqual(toHex(a.node.id), toHex(b.node.id));
});

Deno.test("UdpDht.close() rejects pending operations with DhtError", async () => {
  const a = await UdpDht.open({ rpcTimeout: 5000 });
  // A bootstrap address nobody answers on: the join waits for its timeout.
  const joining = rejects(a.join([{ host: "127.0.0.1", port: 9 }]), DhtError);
  await a.close();
  await joining;
  await rejects(a.get("k"), DhtError);
});

Deno.test({
  name: "command line: serve, put, get, remove",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cli = new URL("./dht.ts", import.meta.url).pathname;
    const [p0, p1, p2] = [await freePort("udp"), await freePort("udp"), await freePort("udp")];
    const dht = (port: number, ...args: string[]) =>
      run(
        Deno.execPath(),
        ["run", "-A", cli, "--port", String(port), "--timeout", "200", ...args],
        {
          timeout: 20_000,
        },
      );
    await using server = startPeer(Deno.execPath(), [
      "run",
      "-A",
      cli,
      "--port",
      String(p0),
      "--timeout",
      "200",
      "serve",
    ]);
    await server.waitFor(`on 127.0.0.1:${p0}`, 20_000);
    const boot = ["--bootstrap", `127.0.0.1:${p0}`];
    const put = await dht(p1, ...boot, "--secret", "pw", "put", "greeting", "hello");
    equal(put.code, 0, put.stderr);
    equal(put.stdout.trim(), "stored on 2 nodes");
    const get = await dht(p2, ...boot, "get", "greeting");
    equal(get.stdout, "hello\n");
    const wrong = await dht(p2, ...boot, "--secret", "no", "remove", "greeting", "hello");
    equal(wrong.code, 1);
    const right = await dht(p2, ...boot, "--secret", "pw", "remove", "greeting", "hello");
    equal(right.code, 0, right.stderr);
    equal((await dht(p2, ...boot, "get", "greeting")).stdout, "");
    equal((await dht(p2, "bogus")).code, 2);
    equal((await dht(p2, "--nope", "get", "greeting")).code, 2);
    equal((await dht(p2, "--bootstrap", "nowhere", "get", "greeting")).code, 2);
    equal((await dht(p2, "remove", "greeting", "hello")).code, 2, "remove needs --secret");
    // Signed: only the owner's key file removes the value.
    const dir = await Deno.makeTempDir({ prefix: "rtclite-dht-cli-" });
    try {
      const keyFile = async (name: string) => {
        const keys = await generateKeyPair("Ed25519");
        await Deno.writeTextFile(`${dir}/${name}`, await exportPrivateKey(keys.privateKey, "pem"));
        return `${dir}/${name}`;
      };
      const alice = await keyFile("alice.pem"), eve = await keyFile("eve.pem");
      const signedPut = await dht(p1, ...boot, "--owner", alice, "put", "room", "alice@1");
      equal(signedPut.stdout.trim(), "stored on 2 nodes", signedPut.stderr);
      await dht(p1, ...boot, "--owner", eve, "put", "room", "eve@6");
      equal((await dht(p2, ...boot, "--owner", alice, "get", "room")).stdout, "alice@1\n");
      equal((await dht(p2, ...boot, "get", "room")).stdout, "alice@1\neve@6\n");
      equal((await dht(p2, ...boot, "--owner", eve, "remove", "room", "alice@1")).code, 1);
      equal((await dht(p2, ...boot, "--owner", alice, "remove", "room", "alice@1")).code, 0);
      equal((await dht(p2, ...boot, "get", "room")).stdout, "eve@6\n");
      equal((await dht(p2, "--owner", alice, "--secret", "x", "get", "room")).code, 2);
      const missing = await dht(p2, "--owner", `${dir}/none.pem`, "get", "room");
      equal(missing.code, 1);
      ok(missing.stderr.includes("Cannot read --owner"), missing.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const help = await dht(p2, "--help");
    equal(help.code, 0);
    ok(help.stdout.includes("put KEY VALUE"), help.stdout);
    const busy = await dht(p0, "get", "greeting"); // the server holds the port
    equal(busy.code, 1);
    ok(busy.stderr.includes(`Cannot bind 127.0.0.1:${p0}`), busy.stderr);
  },
});
