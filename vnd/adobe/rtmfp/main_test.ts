// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, match } from "node:assert/strict";

const main = new URL("./main.ts", import.meta.url).pathname;
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

async function run(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "-q", main, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Starts the command line; `line(re)` waits for an output line that matches. */
function spawn(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "-q", main, ...args],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let text = "";
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const pump = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      for (const w of [...waiters]) {
        const m = text.match(w.re);
        if (m) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    }
  })();
  return {
    child,
    get text() {
      return text;
    },
    line(re: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
      const m = text.match(re);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`timed out waiting for ${re} in:\n${text}`)),
          ms,
        );
        waiters.push({ re, resolve: (x) => (clearTimeout(t), resolve(x)) });
      });
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      await child.status;
      await pump;
    },
  };
}

Deno.test("command line: --help exits 0; unknown options and bad operands exit 2", async () => {
  const help = await run(["--help"]);
  equal(help.code, 0);
  match(help.stdout, /serve \[--port P\]/);
  const unknown = await run(["serve", "--nope"]);
  equal(unknown.code, 2);
  match(unknown.stderr, /Unknown option --nope/);
  equal((await run(["listen"])).code, 2);
  equal((await run(["connect", "rtmfp://127.0.0.1/", "--peer", "12"])).code, 2);
});

Deno.test("command line: serve, two clients, a message sent directly by peer id", async () => {
  const server = spawn(["serve", "--port", "0", "--host", "127.0.0.1", "--trace"]);
  try {
    const [, port] = await server.line(/serving on 127\.0\.0\.1:(\d+)/);
    const url = `rtmfp://127.0.0.1:${port}/app`;
    const bob = spawn(["connect", url, "--wait", "20"]);
    try {
      const [, id] = await bob.line(/connected, peer id ([0-9a-f]{64})/);
      const alice = await run([
        "connect",
        url,
        "--peer",
        id!,
        "--message",
        "hello bob",
        "--wait",
        "1",
      ]);
      equal(alice.code, 0, alice.stderr);
      match(alice.stdout, /direct session with [0-9a-f]{64} at 127\.0\.0\.1:\d+/);
      await bob.line(/message from [0-9a-f]{64}: hello bob/);
      // The server's trace shows the introduction: a redirect to alice, a forwarded hello to bob.
      await server.line(/-> 127\.0\.0\.1:\d+ sid=\w+ mode=3 .*\| redirect /);
      await server.line(/-> 127\.0\.0\.1:\d+ sid=\w+ mode=2 .*\| fihello /);
    } finally {
      await bob.stop();
    }
  } finally {
    await server.stop();
  }
});

function alawToLinear(a: number): number {
  a ^= 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else {
    t += 0x108;
    if (seg > 1) t <<= seg - 1;
  }
  return a & 0x80 ? t : -t;
}

Deno.test("command line: publish G.711 from ffmpeg, play it back to a file; 440 Hz arrives", async () => {
  const dir = await Deno.makeTempDir();
  const input = `${dir}/in.al`, output = `${dir}/out.al`;
  const ff = await new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:sample_rate=8000:duration=1",
      "-ac",
      "1",
      "-f",
      "alaw",
      input,
    ],
  }).output();
  equal(ff.code, 0);
  const server = spawn(["serve", "--port", "0", "--host", "127.0.0.1"]);
  try {
    const [, port] = await server.line(/serving on 127\.0\.0\.1:(\d+)/);
    const url = `rtmfp://127.0.0.1:${port}/live`;
    const player = spawn(["play", url, "tone", "--output", output, "--wait", "5"]);
    try {
      await player.line(/playing tone/);
      const pub = await run(["publish", url, "tone", "--input", input]);
      equal(pub.code, 0, pub.stderr);
      match(pub.stdout, /published 50 frames as tone/);
      await player.line(/played 50 frames of tone/, 20_000);
    } finally {
      await player.stop();
    }
    const alaw = await Deno.readFile(output);
    equal(alaw.length, 8000);
    const pcm = Array.from(alaw, alawToLinear);
    let crossings = 0;
    for (let i = 1; i < pcm.length; i++) if ((pcm[i - 1]! < 0) !== (pcm[i]! < 0)) crossings++;
    const hz = crossings / 2 / (pcm.length / 8000);
    equal(Math.abs(hz - 440) < 5, true, `measured ${hz} Hz`);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
