// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok } from "node:assert/strict";
import { sha1 } from "@noble/hashes/legacy.js";
import { toHex } from "@rtclite/std/bytes";
import { interopTest, run } from "@rtclite/testing";
import { UdpDht } from "../dht.ts";
import { OpenDhtClient } from "./mod.ts";
import { serveOpenDht } from "./http.ts";

/** OpenDHT's put.py / get.py / rm.py, condensed, on Python 3's standard xmlrpc.client. */
const PYTHON = `
import hashlib, json, sys
from xmlrpc.client import Binary, Fault, ServerProxy
pxy = ServerProxy(sys.argv[1])
sha = lambda b: Binary(hashlib.sha1(b).digest())
key = sha(b"colors")
out = {}
out["put"] = pxy.put(key, Binary(b"red"), 3600, "put.py")
out["put_removable"] = pxy.put_removable(key, Binary(b"blue"), "SHA", sha(b"donttell"), 3600, "put.py")
for i in range(7):
    pxy.put(key, Binary(b"shade-%d" % i), 600, "put.py")
vals, pages, pm = [], 0, Binary(b"")
while True:
    got, pm = pxy.get(key, 3, pm, "get.py")
    vals += [v.data.decode() for v in got]
    pages += 1
    if not pm.data: break
out["get"] = sorted(vals)
out["pages"] = pages
details, _ = pxy.get_details(key, 20, Binary(b""), "get.py")
out["ttls"] = sorted(d[1] for d in details)
out["secret_hashes"] = sorted([d[0].data.decode(), d[2], d[3].data.hex()] for d in details if d[2])
try:
    pxy.rm(key, sha(b"blue"), "SHA", Binary(b"guess"), 3600, "rm.py")
    out["wrong_secret"] = "accepted"
except Fault as f:
    out["wrong_secret"] = f.faultCode
out["rm"] = pxy.rm(key, sha(b"blue"), "SHA", Binary(b"donttell"), 3600, "rm.py")
out["after_rm"] = sorted(v.data.decode() for v in pxy.get(key, 20, Binary(b""), "get.py")[0])
try:
    pxy.put(Binary(b"x" * 21), Binary(b"v"), 60, "put.py")
except Fault as f:
    out["long_key"] = f.faultString
# What our client stored, read by Python.
out["ours"] = [v.data.decode() for v in pxy.get(sha(b"from-deno"), 10, Binary(b""), "get.py")[0]]
json.dump(out, sys.stdout)
`;

interopTest(
  "OpenDHT gateway: Python's xmlrpc.client and our client, through 5 DHT nodes on 127.0.0.1",
  [{ bin: "python3", apt: "python3" }],
  async () => {
    const nodes: UdpDht[] = [];
    try {
      for (let i = 0; i < 5; i++) nodes.push(await UdpDht.open({ k: 4, rpcTimeout: 500 }));
      for (const n of nodes.slice(1)) await n.join([nodes[0]!.address]);
      await using gateway = serveOpenDht(nodes[2]!, { port: 0 });
      // Our client first, so that Python reads what it wrote.
      const client = new OpenDhtClient(gateway.url, { application: "interop_test" });
      equal(await client.put("from-deno", "hello python"), 0);
      const py = await run("python3", ["-c", PYTHON, gateway.url], { timeout: 60_000 });
      equal(py.code, 0, py.stderr);
      const out = JSON.parse(py.stdout);
      equal(out.put, 0);
      equal(out.put_removable, 0);
      const shades = Array.from({ length: 7 }, (_, i) => `shade-${i}`);
      deepEqual(out.get, ["blue", "red", ...shades]);
      equal(out.pages, 3); // 9 values, 3 a page
      // 600 s and 3600 s, less the seconds gone by.
      const ttls = out.ttls as number[];
      equal(ttls.length, 9);
      ok(ttls.every((t) => (t > 540 && t <= 600) || (t > 3540 && t <= 3600)), String(ttls));
      // get_details tells the removable value and its secret's SHA-1, as OpenDHT did.
      const donttell = toHex(sha1(new TextEncoder().encode("donttell")));
      deepEqual(out.secret_hashes, [["blue", "SHA", donttell]]);
      equal(out.wrong_secret, -32500);
      equal(out.rm, 0);
      deepEqual(out.after_rm, ["red", ...shades]);
      ok(String(out.long_key).includes("longer than 20 bytes"), out.long_key);
      deepEqual(out.ours, ["hello python"]);
      // Our client reads what Python wrote, through another gateway on another node.
      await using other = serveOpenDht(nodes[4]!, { port: 0 });
      const second = new OpenDhtClient(other.url);
      deepEqual(await second.getText("colors"), ["red", ...shades]);
      equal(await second.put("colors", "teal", { secret: "s" }), 0);
      equal(await client.rm("colors", "teal", "s"), 0);
      deepEqual((await client.getText("colors")).length, 8);
      // Not POST: 405; a body over the limit: 413 with a fault.
      equal(await fetch(gateway.url).then(async (r) => (await r.body?.cancel(), r.status)), 405);
      const big = await fetch(gateway.url, { method: "POST", body: "x".repeat(70_000) });
      equal(big.status, 413);
      await big.body?.cancel();
    } finally {
      for (const n of nodes) await n.close();
    }
  },
);
