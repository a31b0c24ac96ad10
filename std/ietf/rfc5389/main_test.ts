// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, match } from "node:assert/strict";
import { freePort, freeSipPort, run, selfSignedCert, startPeer } from "@rtclite/testing";

Deno.test("command line: --serve answers, a stun: URI prints the mapped address", async () => {
  const port = await freePort("udp");
  await using server = startPeer(Deno.execPath(), [
    "run",
    "-A",
    new URL("./main.ts", import.meta.url).pathname,
    "--serve",
    `127.0.0.1:${port}`,
  ]);
  await server.waitFor(`STUN server on 127.0.0.1:${port}`, 20_000);
  const out = await run(Deno.execPath(), [
    "run",
    "-A",
    new URL("./main.ts", import.meta.url).pathname,
    `stun:127.0.0.1:${port}`,
  ], { timeout: 20_000 });
  equal(out.code, 0, out.stderr);
  match(out.stdout.trim(), /^127\.0\.0\.1:\d+$/);
});

Deno.test("command line: --help exits 0 and an unknown option exits 2, without network permission", async () => {
  const main = new URL("./main.ts", import.meta.url).pathname;
  // No --allow-net and no prompt: touching the network would fail with exit code 1.
  const cli = (...args: string[]) =>
    run(Deno.execPath(), ["run", "--no-prompt", main, ...args], { timeout: 20_000 });
  for (const args of [["--help"], ["-h"], ["stun:127.0.0.1:9", "--help"]]) {
    const help = await cli(...args);
    equal(help.code, 0, help.stderr);
    match(help.stdout, /^Usage: rfc5389\/main\.ts /);
  }
  const unknown = await cli("--no-such-option", "stun:127.0.0.1:9");
  equal(unknown.code, 2, unknown.stderr);
  match(unknown.stderr, /Unknown option --no-such-option/);
});

Deno.test("command line: --tcp and --tls serve and ask over TCP and TLS", async () => {
  const main = new URL("./main.ts", import.meta.url).pathname;
  const dir = await Deno.makeTempDir();
  await selfSignedCert(dir);
  const port = await freeSipPort(), tlsPort = await freePort("tcp");
  await using server = startPeer(Deno.execPath(), [
    "run",
    "-A",
    main,
    "--tcp",
    "--tls",
    "--cert",
    `${dir}/cert.pem`,
    "--key",
    `${dir}/key.pem`,
    "--tls-port",
    String(tlsPort),
    "--serve",
    `127.0.0.1:${port}`,
  ]);
  await server.waitFor(`STUN server on 127.0.0.1:${tlsPort} (TLS)`, 20_000);
  for (
    const args of [
      ["--tcp", `stun:127.0.0.1:${port}`],
      ["--ca", `${dir}/cert.pem`, `stuns:127.0.0.1:${tlsPort}`],
    ]
  ) {
    const out = await run(Deno.execPath(), ["run", "-A", main, ...args], { timeout: 20_000 });
    equal(out.code, 0, out.stderr);
    match(out.stdout.trim(), /^127\.0\.0\.1:\d+$/);
  }
  const bad = await run(Deno.execPath(), ["run", "-A", main, "--tls", "--serve", "127.0.0.1:9"], {
    timeout: 20_000,
  });
  equal(bad.code, 2, bad.stderr);
  await Deno.remove(dir, { recursive: true });
});
