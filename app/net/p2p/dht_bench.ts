// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Lookup latency and messages per lookup of the DHT, for 25 and 100 nodes.
 *
 * `deno bench -A app/net/p2p/dht_bench.ts`: each iteration is one `get` (an iterative value
 * lookup, alpha = 3, k = 20) of a stored key from a random node, over UDP on 127.0.0.1, all
 * nodes in this process. Before the benchmarks, the same lookups run on the sans-I/O cores wired
 * together in memory, and the datagrams they send (requests and answers) are counted and printed.
 * A third benchmark gets a signed value, which the asker verifies in each answer.
 *
 * @module
 */
import { type Address, DhtNode, type DhtOutput, type OperationResult, UdpDht } from "./dht.ts";
import { generateKeyPair } from "../../sec/crypto.ts";

const KEYS = 50;

// === Messages per lookup, in memory ===

function messagesPerLookup(n: number, lookups: number): { mean: number; max: number } {
  const nodes = new Map<number, DhtNode>();
  let sent = 0;
  const results = new Map<string, OperationResult>();
  const deliver = (from: Address, out: DhtOutput[]) => {
    const queue = [{ from, out }];
    while (queue.length) {
      const { from, out } = queue.shift()!;
      for (const o of out) {
        if (o.type === "done") results.set(`${from.port}/${o.result.id}`, o.result);
        else {
          sent++;
          const to = nodes.get(o.to.port);
          if (to) queue.push({ from: o.to, out: to.receive(o.data, from) });
        }
      }
    }
  };
  const addr = (port: number) => ({ host: "127.0.0.1", port });
  for (let p = 1; p <= n; p++) nodes.set(p, new DhtNode({ clock: () => 0 }));
  for (let p = 2; p <= n; p++) deliver(addr(p), nodes.get(p)!.join([addr(1)]).out);
  for (let i = 0; i < KEYS; i++) {
    deliver(addr(1 + (i % n)), nodes.get(1 + (i % n))!.put(`key-${i}`, "v").out);
  }
  const counts: number[] = [];
  for (let i = 0; i < lookups; i++) {
    const p = 1 + Math.floor(Math.random() * n);
    const before = sent;
    const { id, out } = nodes.get(p)!.get(`key-${i % KEYS}`);
    deliver(addr(p), out);
    const r = results.get(`${p}/${id}`);
    if (!r || r.type !== "get" || r.values.length !== 1) throw new Error("lookup failed");
    counts.push(sent - before);
  }
  return { mean: counts.reduce((a, b) => a + b, 0) / counts.length, max: Math.max(...counts) };
}

for (const n of [25, 100]) {
  const m = messagesPerLookup(n, 500);
  console.log(`${n} nodes: ${m.mean.toFixed(1)} datagrams per get on average, ${m.max} at most`);
}

// === Latency over UDP on 127.0.0.1 ===

async function network(n: number): Promise<UdpDht[]> {
  const nodes: UdpDht[] = [];
  for (let i = 0; i < n; i++) nodes.push(await UdpDht.open({ rpcTimeout: 2000 }));
  for (const node of nodes.slice(1)) await node.join([nodes[0]!.address]);
  for (let i = 0; i < KEYS; i++) await nodes[i % n]!.put(`key-${i}`, "v");
  return nodes;
}

const nets = new Map<number, UdpDht[]>();
for (const n of [25, 100]) nets.set(n, await network(n));
let round = 0;
// Warm up (JIT, socket buffers) before timing: the first benchmark would otherwise pay for it.
for (const [n, nodes] of nets) {
  for (let i = 0; i < 100; i++) await nodes[i % n]!.get(`key-${i % KEYS}`);
}
// Signed values: every node that answers returns one, and the asker verifies each (Ed25519).
const owner = await generateKeyPair("Ed25519");
for (let i = 0; i < KEYS; i++) {
  await nets.get(25)![i % 25]!.put(`signed-${i}`, "v", { owner, ttl: 3600 });
}

for (const n of [25, 100]) {
  Deno.bench({
    name: `get over UDP, ${n} nodes`,
    group: "lookup",
    baseline: n === 25,
    async fn() {
      const nodes = nets.get(n)!;
      const node = nodes[Math.floor(Math.random() * n)]!;
      const values = await node.get(`key-${round++ % KEYS}`);
      if (values.length !== 1) throw new Error("lookup failed");
    },
  });
}

Deno.bench({
  name: "get of a signed value over UDP, 25 nodes",
  group: "lookup",
  async fn() {
    const nodes = nets.get(25)!;
    const node = nodes[Math.floor(Math.random() * 25)]!;
    const values = await node.get(`signed-${round++ % KEYS}`);
    if (values.length !== 1) throw new Error("lookup failed");
  },
});

globalThis.addEventListener("unload", () => {
  for (const nodes of nets.values()) for (const n of nodes) n.close();
});
