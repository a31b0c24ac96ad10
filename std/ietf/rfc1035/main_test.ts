// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { DnsZone } from "./mod.ts";
import { serveDns } from "./server.ts";
import { ZONE_RECORDS } from "../testdata/dns_zone.ts";
import { run } from "@rtclite/testing";
import { equal, match } from "node:assert/strict";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const dig = (args: string[]) =>
  run(Deno.execPath(), ["run", "-A", MAIN, ...args], {
    timeout: 30_000,
    stdout: "piped",
    stderr: "piped",
  });

Deno.test("command line: --help exits 0, bad arguments exit 2 before any query", async () => {
  const help = await dig(["--help"]);
  equal(help.code, 0);
  match(help.stdout, /Usage: .*\[@server\] \[-p port\] \[\+tcp\] name \[type\]/);
  for (
    const args of [
      ["--nope", "sip.test"],
      ["+bogus", "sip.test"],
      ["@not-an-ip", "sip.test"],
      ["-p", "99999", "sip.test"],
      ["sip.test", "NOTATYPE"],
      [],
    ]
  ) {
    const got = await dig(args);
    equal(got.code, 2, `${args.join(" ")}: ${got.stderr}`);
  }
});

Deno.test("command line: @server -p port [+tcp] name type prints the answer section", async () => {
  await using server = await serveDns({ zone: new DnsZone(ZONE_RECORDS), port: 0 });
  for (const transport of [[], ["+tcp"]]) {
    const got = await dig(["@127.0.0.1", "-p", String(server.port), ...transport, "www.sip.test"]);
    equal(got.code, 0, got.stderr);
    match(got.stdout, /status: NOERROR/);
    match(got.stdout, /www\.sip\.test\.\t60\tIN\tCNAME\tpbx\.sip\.test\./);
    match(got.stdout, /pbx\.sip\.test\.\t60\tIN\tA\t127\.0\.0\.2/);
  }
  const nx = await dig(["@127.0.0.1", "-p", String(server.port), "nope.sip.test", "a"]);
  equal(nx.code, 1);
  match(nx.stdout, /status: NXDOMAIN/);
});
