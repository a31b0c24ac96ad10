// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, match } from "node:assert/strict";
import { freePort, freeSipPort, run, selfSignedCert, startPeer } from "@rtclite/testing";

Deno.test("command line: --help exits 0 and an unknown option exits 2, without network permission", async () => {
  const main = new URL("./main.ts", import.meta.url).pathname;
  // No --allow-net and no prompt: touching the network would fail with exit code 1.
  const cli = (...args: string[]) =>
    run(Deno.execPath(), ["run", "--no-prompt", main, ...args], { timeout: 20_000 });
  for (const args of [["--help"], ["-h"], ["turn:127.0.0.1:9", "--help"]]) {
    const help = await cli(...args);
    equal(help.code, 0, help.stderr);
    match(help.stdout, /^Usage: rfc5766\/main\.ts /);
  }
  const unknown = await cli("--no-such-option", "turn:127.0.0.1:9");
  equal(unknown.code, 2, unknown.stderr);
  match(unknown.stderr, /Unknown option --no-such-option/);
});

Deno.test("command line: a server on UDP, TCP and TLS; clients over TCP and TLS, a TCP allocation", async () => {
  const main = new URL("./main.ts", import.meta.url).pathname;
  const dir = await Deno.makeTempDir();
  await selfSignedCert(dir);
  const port = await freeSipPort(), tlsPort = await freePort("tcp");
  const creds = ["-u", "test", "-p", "secret"];
  await using server = startPeer(Deno.execPath(), [
    "run",
    "-A",
    main,
    ...creds,
    "--tcp",
    "--tls",
    "--cert",
    `${dir}/cert.pem`,
    "--key",
    `${dir}/key.pem`,
    "--tls-port",
    String(tlsPort),
    "--quota",
    "5",
    "--serve",
    `127.0.0.1:${port}`,
  ]);
  await server.waitFor(`TURN server on 127.0.0.1:${tlsPort} (TLS)`, 20_000);
  for (
    const args of [
      [`turn:127.0.0.1:${port}`],
      [`turn:127.0.0.1:${port}?transport=tcp`],
      ["--tcp", "--tcp-relay", `turn:127.0.0.1:${port}`],
      ["--ca", `${dir}/cert.pem`, `turns:127.0.0.1:${tlsPort}`],
    ]
  ) {
    const out = await run(Deno.execPath(), ["run", "-A", main, ...creds, ...args], {
      timeout: 20_000,
    });
    equal(out.code, 0, out.stderr);
    match(out.stdout, /^relayed 127\.0\.0\.1:\d+ mapped 127\.0\.0\.1:\d+/, args.join(" "));
  }
  const bad = await run(Deno.execPath(), ["run", main, ...creds, "--tcp-relay", "turn:x"], {
    timeout: 20_000,
  });
  equal(bad.code, 2, bad.stderr);
  await Deno.remove(dir, { recursive: true });
});
