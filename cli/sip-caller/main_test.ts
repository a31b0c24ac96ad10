// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { type CallerOptions, parseCallerArgs, runCaller } from "./main.ts";
import { SipServer } from "@rtclite/app/sip/server";
import { SipClient } from "@rtclite/app/sip/client";
import { readWav, writeWav } from "@rtclite/std/ietf/rfc3551";
import { run, startPeer, withTimeout } from "@rtclite/testing";
import { deepEqual, equal, ok } from "node:assert/strict";
import fc from "fast-check";

// Ports of this file: 15130-15139.
const MAIN = new URL("./main.ts", import.meta.url).pathname;

function goertzel(samples: Int16Array, hz: number, rate = 8000): number {
  const k = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s0 = x + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

function parsed(args: string[]): CallerOptions {
  const o = parseCallerArgs(args);
  if (typeof o === "string") throw new Error(o);
  return o;
}

Deno.test("parseCallerArgs() reads the caller's and the listener's options", async (t) => {
  await t.step("caller", () => {
    const o = parsed([
      "-u",
      "sip:alice@example.com",
      "-p",
      "pw",
      "-r",
      "127.0.0.1:5080",
      "--file",
      "a.wav",
      "--record",
      "b.wav",
      "--duration",
      "2.5",
      "bob@example.com",
    ]);
    deepEqual(o, {
      user: "sip:alice@example.com",
      password: "pw",
      registrar: "sip:127.0.0.1:5080",
      listen: false,
      host: "127.0.0.1",
      port: 0,
      transport: "udp",
      file: "a.wav",
      record: "b.wav",
      duration: 2.5,
      count: 1,
      timeout: 30,
      target: "sip:bob@example.com",
    });
  });
  await t.step("listener", () => {
    const o = parsed(["-l", "--local", "[::1]:5070", "--tcp", "--count", "0"]);
    equal(o.listen, true);
    equal(o.host, "::1");
    equal(o.port, 5070);
    equal(o.transport, "tcp");
    equal(o.count, 0);
    equal(o.user, "sip:listener@::1");
  });
  await t.step("usage errors", () => {
    equal(parseCallerArgs([]), "Missing the target to call (or --listen)");
    equal(
      parseCallerArgs(["--tone", "1", "--file", "f", "sip:x"]),
      "--tone and --file exclude each other",
    );
    equal(parseCallerArgs(["--dtmf", "12x", "sip:x"]), "--dtmf takes keys 0-9 * # A-D, got 12x");
    equal(
      parseCallerArgs(["--duration", "soon", "sip:x"]),
      "--duration needs a number of seconds, got soon",
    );
    equal(parseCallerArgs(["-u", "alice", "sip:x"]), "--user takes a sip: URI, got alice");
    equal(parseCallerArgs(["sip:a", "sip:b"]), "Unexpected argument sip:b");
    equal(parseCallerArgs(["-h"]), "help");
    ok(String(parseCallerArgs(["--bogus", "sip:x"])).includes("bogus"));
  });
});

Deno.test("parseCallerArgs() returns options or a message for any arguments, never throws", () => {
  const word = fc.oneof(
    fc.constantFrom("-u", "-p", "-r", "-l", "--local", "--tone", "--file", "--dtmf", "--duration"),
    fc.constantFrom("--count", "--timeout", "-m", "--tcp", "-h", "--", "-x", "--record"),
    fc.string({ maxLength: 12 }),
  );
  fc.assert(
    fc.property(fc.array(word, { maxLength: 8 }), (args) => {
      const o = parseCallerArgs(args);
      ok(typeof o === "string" || (typeof o.listen === "boolean" && o.user.startsWith("sip")));
      if (typeof o !== "string" && !o.listen) ok(o.target !== undefined);
    }),
    { numRuns: 300 },
  );
});

Deno.test("sip-caller calls a sip-caller listener: tone recorded, DTMF received, both exit 0", async () => {
  const dir = await Deno.makeTempDir();
  const wav = `${dir}/heard.wav`;
  try {
    await using listener = startPeer(Deno.execPath(), [
      "run",
      "-A",
      MAIN,
      "-l",
      "--local",
      "127.0.0.1:15130",
      "--record",
      wav,
    ]);
    await listener.waitFor("listening on", 20_000);
    const caller = await run(Deno.execPath(), [
      "run",
      "-A",
      MAIN,
      "--tone",
      "440",
      "--dtmf",
      "12",
      "--duration",
      "1.5",
      "sip:bob@127.0.0.1:15130",
    ], { timeout: 30_000 });
    equal(caller.code, 0, caller.stdout + caller.stderr);
    const lines = caller.stdout.trim().split("\n");
    equal(lines[0], "calling sip:bob@127.0.0.1:15130");
    ok(lines.includes("ringing"), caller.stdout);
    ok(lines.some((l) => l.startsWith("answered: PCMU")), caller.stdout);
    ok(lines.includes("sent DTMF 12"), caller.stdout);
    ok(lines.at(-1)!.startsWith("ended: "), caller.stdout);
    const status = await withTimeout(listener.child.status, 10_000, "listener exit");
    const out = listener.output();
    equal(status.code, 0, out);
    ok(out.includes("incoming call from sip:caller@127.0.0.1"), out);
    ok(out.includes("received DTMF 1\nreceived DTMF 2"), out);
    ok(/ended: BYE received/.test(out), out);
    const { samples } = readWav(await Deno.readFile(wav));
    ok(samples.length > 4000, `${samples.length} samples`);
    const tail = samples.subarray(samples.length - 2400);
    const p440 = goertzel(tail, 440);
    ok(p440 > 50 * goertzel(tail, 1000) && p440 > 50 * goertzel(tail, 600), "no 440 Hz tone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runCaller() registers both sides with a registrar, calls by address of record, sends a message", async () => {
  const server = await SipServer.start({
    listen: [{ transport: "udp", host: "127.0.0.1", port: 15131 }],
    domains: ["example.com"],
    auth: { bob: "b", alice: "a" },
  });
  try {
    const bobLines: string[] = [];
    const listening = Promise.withResolvers<void>();
    const stop = new AbortController();
    const bob = runCaller(
      parsed([
        "-l",
        "-u",
        "sip:bob@example.com",
        "-p",
        "b",
        "-r",
        "127.0.0.1:15131",
        "--local",
        "127.0.0.1:15132",
        "--count",
        "0",
      ]),
      (l) => {
        bobLines.push(l);
        if (l.startsWith("listening")) listening.resolve();
      },
      stop.signal,
    );
    await withTimeout(listening.promise, 5000, "listener");
    const aliceLines: string[] = [];
    const common = ["-u", "sip:alice@example.com", "-p", "a", "-r", "127.0.0.1:15131"];
    const code = await runCaller(
      parsed([...common, "--local", "127.0.0.1:15133", "--duration", "0.3", "sip:bob@example.com"]),
      (l) => aliceLines.push(l),
    );
    equal(code, 0, aliceLines.join("\n"));
    equal(aliceLines[0], "registered sip:alice@example.com at sip:127.0.0.1:15131 for 3600 s");
    ok(aliceLines.some((l) => l.startsWith("answered: ")), aliceLines.join("\n"));
    const sent = await runCaller(
      parsed([...common, "--local", "127.0.0.1:15133", "-m", "hi bob", "sip:bob@example.com"]),
      (l) => aliceLines.push(l),
    );
    equal(sent, 0);
    equal(aliceLines.at(-1), "message delivered (200)");
    stop.abort();
    equal(await bob, 0);
    ok(bobLines.includes("message from sip:alice@example.com: hi bob"), bobLines.join("\n"));
    ok(bobLines.some((l) => l.startsWith("ended: BYE received")), bobLines.join("\n"));
    // Both unregistered on the way out.
    equal((await server.location.lookup("sip:bob@example.com")).length, 0);
    equal((await server.location.lookup("sip:alice@example.com")).length, 0);
  } finally {
    await server.close();
  }
});

Deno.test("runCaller() returns 1 when the call fails", async () => {
  // A client without an incoming-call listener answers 480.
  await using nobody = await SipClient.start({ aor: "sip:nobody@127.0.0.1", port: 15135 });
  const lines: string[] = [];
  const code = await runCaller(
    parsed(["--local", "127.0.0.1:15134", `sip:nobody@127.0.0.1:${nobody.port}`]),
    (l) => lines.push(l),
  );
  equal(code, 1);
  equal(
    lines.at(-1),
    "failed: Cannot call sip:nobody@127.0.0.1:15135: 480 Temporarily Unavailable",
  );
});

Deno.test("runCaller() plays a WAV file for its length; the listener records it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tone = new Int16Array(4000); // 0.5 s of 600 Hz
    for (let i = 0; i < tone.length; i++) {
      tone[i] = Math.round(8000 * Math.sin((2 * Math.PI * 600 * i) / 8000));
    }
    await Deno.writeFile(
      `${dir}/play.wav`,
      writeWav({ sampleRate: 8000, channels: 1, samples: tone }),
    );
    const listening = Promise.withResolvers<void>();
    const heard: string[] = [];
    const listener = runCaller(
      parsed(["-l", "--local", "127.0.0.1:15136", "--record", `${dir}/rec.wav`]),
      (l) => {
        heard.push(l);
        if (l.startsWith("listening")) listening.resolve();
      },
    );
    await withTimeout(listening.promise, 5000, "listener");
    const lines: string[] = [];
    const code = await runCaller(
      parsed(["--local", "127.0.0.1:15137", "--file", `${dir}/play.wav`, "sip:b@127.0.0.1:15136"]),
      (l) => lines.push(l),
    );
    equal(code, 0, lines.join("\n"));
    const seconds = Number(/after ([\d.]+) s/.exec(lines.at(-1)!)?.[1]);
    ok(seconds >= 0.5 && seconds < 1.5, lines.at(-1));
    equal(await withTimeout(listener, 5000, "listener exit"), 0);
    const { samples } = readWav(await Deno.readFile(`${dir}/rec.wav`));
    const p600 = goertzel(samples, 600);
    ok(p600 > 20 * goertzel(samples, 440) && p600 > 20 * goertzel(samples, 1000), "no 600 Hz");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
