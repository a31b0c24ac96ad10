// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, ok } from "node:assert/strict";
import { freePort, run, startPeer } from "@rtclite/testing";

const cli = new URL("./main.ts", import.meta.url).pathname;
const opendht = (...args: string[]) =>
  run(Deno.execPath(), ["run", "-A", cli, ...args], { timeout: 20_000 });

Deno.test("command line: --help and bad arguments exit before any network I/O", async () => {
  const help = await opendht("--help");
  equal(help.code, 0);
  ok(help.stdout.includes("rm KEY VALUE SECRET"), help.stdout);
  for (
    const args of [
      ["--nope", "get", "k"],
      ["bogus"],
      ["put", "k"],
      ["--ttl", "0", "put", "k", "v"],
      ["--port", "70000", "serve"],
      ["--bootstrap", "nowhere", "serve"],
    ]
  ) {
    const r = await opendht(...args);
    equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
  }
});

Deno.test({
  name: "command line: serve, then put, get, rm through the gateway",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const port = await freePort("tcp"), dhtPort = await freePort("udp");
    await using server = startPeer(Deno.execPath(), [
      "run",
      "-A",
      cli,
      "--port",
      String(port),
      "--dht-port",
      String(dhtPort),
      "serve",
    ]);
    await server.waitFor(`OpenDHT gateway on http://127.0.0.1:${port}/`, 20_000);
    const gw = ["-g", `http://127.0.0.1:${port}/`];
    const put = await opendht(...gw, "--secret", "donttell", "put", "colors", "blue");
    equal(put.code, 0, put.stderr);
    equal(put.stdout, "Success\n");
    equal((await opendht(...gw, "put", "colors", "red")).stdout, "Success\n");
    equal((await opendht(...gw, "get", "colors")).stdout.split("\n").sort().join(" "), " blue red");
    const wrong = await opendht(...gw, "rm", "colors", "blue", "guess");
    equal(wrong.code, 1);
    ok(wrong.stderr.includes("secret does not match"), wrong.stderr);
    const rm = await opendht(...gw, "rm", "colors", "blue", "donttell");
    equal(rm.stdout, "Success\n");
    equal((await opendht(...gw, "get", "colors")).stdout, "red\n");
  },
});
