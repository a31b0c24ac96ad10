// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, match } from "node:assert/strict";
import dgram from "node:dgram";
import { decodeWav } from "../rfc3551.ts";

const self = new URL("./main.ts", import.meta.url).pathname;

async function cli(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", self, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** An even UDP port that, with its successor (RTP and RTCP), was free a moment ago. */
async function evenFreePort(): Promise<number> {
  const bind = (port: number) =>
    new Promise<dgram.Socket | undefined>((resolve) => {
      const s = dgram.createSocket("udp4");
      s.once("error", () => resolve(undefined));
      s.bind(port, "127.0.0.1", () => resolve(s));
    });
  for (let attempt = 0; attempt < 100; attempt++) {
    const rtp = await bind(0);
    if (!rtp) continue;
    const port = rtp.address().port;
    const rtcp = port % 2 === 0 ? await bind(port + 1) : undefined;
    rtp.close();
    rtcp?.close();
    if (rtcp) return port;
  }
  throw new Error("No free even UDP port pair");
}

Deno.test("main.ts --help prints the usage and exits 0; usage errors exit 2", async () => {
  const help = await cli("--help");
  equal(help.code, 0);
  match(help.stdout, /send HOST:PORT \(FILE\.wav\|tone:HZ\)/);
  match(help.stdout, /recv \[HOST:\]PORT OUT\.wav/);
  const unknown = await cli("--nope", "send", "127.0.0.1:9", "tone:440");
  equal(unknown.code, 2);
  match(unknown.stderr, /Unknown option --nope/);
  const verb = await cli("play", "127.0.0.1:9", "tone:440");
  equal(verb.code, 2);
  match(verb.stderr, /Unknown command "play"/);
  const pt = await cli("send", "127.0.0.1:9", "tone:440", "--pt", "9");
  equal(pt.code, 2);
  match(pt.stderr, /Invalid --pt/);
});

Deno.test("main.ts send/recv command line: a tone arrives whole", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const port = await evenFreePort();
    const recv = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        self,
        "recv",
        `127.0.0.1:${port}`,
        `${dir}/out.wav`,
        "--duration",
        "4",
        "--pt",
        "8",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await new Promise((r) => setTimeout(r, 800));
    const send = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        self,
        "send",
        `127.0.0.1:${port}`,
        "tone:600",
        "--duration",
        "1",
        "--pt",
        "8",
      ],
      stdout: "piped",
    }).output();
    equal(send.code, 0);
    equal(JSON.parse(new TextDecoder().decode(send.stdout)).sender.packets, 50);
    const out = await recv.output();
    equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const stats = JSON.parse(new TextDecoder().decode(out.stdout));
    equal(stats.sources[0].lost, 0);
    equal(stats.sources[0].received, 49);
    const wav = decodeWav(await Deno.readFile(`${dir}/out.wav`));
    equal(wav.samples.length, 49 * 160);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
