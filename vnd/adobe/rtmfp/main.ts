// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The command line of `@rtclite/vnd/adobe/rtmfp`: a rendezvous server (that also serves Flash
 * publish/play), and a client that connects to it, prints its peer id, and can open a direct
 * session to another client by peer id and send it a message, or publish or play G.711 audio. `--trace` prints every packet sent and received, decoded.
 *
 * ```sh
 * deno run -A vnd/adobe/rtmfp/main.ts serve --port 1935 --trace
 * deno run -A vnd/adobe/rtmfp/main.ts connect rtmfp://127.0.0.1/app --wait 60
 * deno run -A vnd/adobe/rtmfp/main.ts connect rtmfp://127.0.0.1/app --peer PEERID --message hi
 * ffmpeg -f lavfi -i sine=frequency=1000:sample_rate=8000 -t 5 -f alaw - |
 *   deno run -A vnd/adobe/rtmfp/main.ts publish rtmfp://127.0.0.1/live tone
 * deno run -A vnd/adobe/rtmfp/main.ts play rtmfp://127.0.0.1/live tone --output tone.al --wait 10
 * ```
 *
 * @module
 */
import { type Command, type ParsedCommand, runCommand, UsageError } from "@rtclite/std/cli";
import { fromHex, toHex } from "@rtclite/std/bytes";
import type { RtmfpSession } from "./mod.ts";
import { FlashClient, rtmfpConnect, RtmfpServer } from "./udp.ts";

const command = {
  name: "rtmfp",
  usage: "serve [--port P] [--host H] [--middle] [--trace]\n" +
    "connect [--trace] [--peer ID] [--message TEXT] [--count N] [--wait S] rtmfp://HOST[:PORT]/APP\n" +
    "publish [--trace] [--input FILE] rtmfp://HOST[:PORT]/APP STREAM\n" +
    "play [--trace] [--output FILE] [--wait S] rtmfp://HOST[:PORT]/APP STREAM",
  description:
    "serve: a rendezvous server that introduces clients by peer id (RFC 7016 §3.5.1.5).\n" +
    "connect: connects to a server, prints this client's peer id and every message received;\n" +
    "with --peer, opens a direct session to that peer and sends --message on a new flow.\n" +
    "publish: publishes G.711 A-law audio (raw, 8 kHz mono, as `ffmpeg -f alaw` writes it) from\n" +
    "--input or stdin as STREAM, in 20 ms Flash audio messages paced in real time.\n" +
    "play: plays STREAM and writes the received G.711 samples to --output (raw A-law).",
  operands: [1, 3],
  options: {
    port: { short: "p", value: "P", help: "serve: UDP port (default 1935)" },
    host: { value: "H", help: "serve: local address (default 0.0.0.0)" },
    trace: { help: "print every packet, decoded" },
    middle: { help: "serve: relay peer-to-peer sessions through the server (needs --host)" },
    peer: { value: "ID", help: "connect: the peer id (64 hex digits) to open a session to" },
    message: { value: "TEXT", help: "connect: the message to send to --peer" },
    count: { value: "N", help: "connect: send N messages, 'TEXT 0' .. 'TEXT N-1'" },
    wait: { value: "S", help: "connect, play: seconds to stay (default: until killed)" },
    input: { value: "FILE", help: "publish: raw A-law input (default: stdin)" },
    output: { value: "FILE", help: "play: where to write the received raw A-law" },
  },
} as const satisfies Command;

async function body(
  { values, operands }: ParsedCommand<typeof command.options>,
): Promise<number> {
  const trace = values.trace ? (line: string) => console.log(line) : undefined;
  const [verb, url] = operands;
  if (verb === "serve") {
    if (url !== undefined) throw new UsageError("serve takes no operand");
    const port = Number(values.port ?? 1935);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError(`Invalid port: ${values.port}`);
    }
    const server = await RtmfpServer.listen({
      port,
      host: values.host ?? "0.0.0.0",
      middle: values.middle,
      ...(trace ? { trace } : {}),
    });
    const { address, port: bound } = server.socket.address;
    console.log(
      `rtmfp: serving on ${address}:${bound}, peer id ${toHex(server.socket.endpoint.peerId)}`,
    );
    await new Promise(() => {});
    return 0;
  }
  if (verb === "publish" || verb === "play") {
    const stream = operands[2];
    if (url === undefined || stream === undefined) {
      throw new UsageError(`${verb} needs URL and STREAM`);
    }
    return await (verb === "publish"
      ? publish(url, stream, values.input, trace)
      : play(url, stream, values.output, values.wait, trace));
  }
  if (verb !== "connect" || url === undefined || operands.length > 2) {
    throw new UsageError(
      "expected 'serve', 'connect URL', 'publish URL STREAM' or 'play URL STREAM'",
    );
  }
  if (values.peer !== undefined && !/^[0-9a-fA-F]{64}$/.test(values.peer)) {
    throw new UsageError("--peer must be 64 hex digits");
  }
  const count = Number(values.count ?? 1);
  if (!Number.isInteger(count) || count < 1) {
    throw new UsageError(`Invalid --count: ${values.count}`);
  }
  const wait = values.wait === undefined ? undefined : Number(values.wait);
  if (wait !== undefined && !(wait >= 0)) throw new UsageError(`Invalid --wait: ${values.wait}`);
  const client = await rtmfpConnect(url, trace ? { trace } : {});
  const listen = (s: RtmfpSession) => {
    s.onFlow = (f) =>
      f.onMessage = (m) =>
        console.log(
          `message from ${s.farPeerId ? toHex(s.farPeerId) : "?"}: ${new TextDecoder().decode(m)}`,
        );
  };
  listen(client.session);
  client.socket.endpoint.onSession = listen;
  console.log(`rtmfp: connected, peer id ${toHex(client.socket.endpoint.peerId)}`);
  if (values.peer !== undefined) {
    const direct = await client.connectPeer(fromHex(values.peer));
    console.log(
      `rtmfp: direct session with ${values.peer} at ${direct.address?.address}:${direct.address?.port}`,
    );
    listen(direct);
    if (values.message !== undefined) {
      const flow = direct.openFlow(new TextEncoder().encode("message"));
      if (values.count === undefined) flow.send(new TextEncoder().encode(values.message));
      else {
        for (let i = 0; i < count; i++) {
          flow.send(new TextEncoder().encode(`${values.message} ${i}`));
        }
      }
    }
  }
  await new Promise((resolve) => {
    if (wait !== undefined) setTimeout(resolve, wait * 1000);
  });
  client.close();
  return 0;
}

/** The FLV audio tag's first byte for G.711 A-law (sound format 7), 16-bit, mono. */
const ALAW = 0x72;

async function publish(
  url: string,
  name: string,
  input: string | undefined,
  trace: ((line: string) => void) | undefined,
): Promise<number> {
  const audio = input === undefined
    ? new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer())
    : await Deno.readFile(input);
  const client = await rtmfpConnect(url, trace ? { trace } : {});
  try {
    const flash = new FlashClient(client.session);
    await flash.connect(new URL(url).pathname.slice(1));
    const stream = await flash.createStream();
    await flash.publish(stream, name);
    const frames = Math.floor(audio.length / 160);
    const start = performance.now();
    for (let i = 0; i < frames; i++) {
      const frame = new Uint8Array(161);
      frame[0] = ALAW;
      frame.set(audio.subarray(i * 160, (i + 1) * 160), 1);
      stream.sendAudio(i * 20, frame);
      const due = start + (i + 1) * 20 - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
    }
    await new Promise((r) => setTimeout(r, 500)); // let the last messages be acknowledged
    console.log(`rtmfp: published ${frames} frames as ${name}`);
    return 0;
  } finally {
    client.close();
  }
}

async function play(
  url: string,
  name: string,
  output: string | undefined,
  wait: string | undefined,
  trace: ((line: string) => void) | undefined,
): Promise<number> {
  const seconds = wait === undefined ? undefined : Number(wait);
  if (seconds !== undefined && !(seconds >= 0)) throw new UsageError(`Invalid --wait: ${wait}`);
  const client = await rtmfpConnect(url, trace ? { trace } : {});
  const file = output === undefined
    ? undefined
    : await Deno.open(output, { write: true, create: true, truncate: true });
  try {
    const flash = new FlashClient(client.session);
    await flash.connect(new URL(url).pathname.slice(1));
    const stream = await flash.createStream();
    let frames = 0;
    stream.onMedia = (m) => {
      if (m.type !== "audio" || m.data[0] !== ALAW) return;
      frames++;
      file?.writeSync(m.data.subarray(1));
    };
    await flash.play(stream, name);
    console.log(`rtmfp: playing ${name}`);
    await new Promise((resolve) => {
      if (seconds !== undefined) setTimeout(resolve, seconds * 1000);
    });
    console.log(`rtmfp: played ${frames} frames of ${name}`);
    return 0;
  } finally {
    file?.close();
    client.close();
  }
}

if (import.meta.main) Deno.exit(await runCommand(command, Deno.args, body));
