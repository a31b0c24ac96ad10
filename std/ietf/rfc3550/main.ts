// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The RFC 3550 command line: send a WAV file or a tone as G.711 over RTP, or receive RTP into
 * a WAV file, and print the session's RTCP statistics at the end.
 *
 * ```
 * deno run -A std/ietf/rfc3550/main.ts send HOST:PORT (FILE.wav|tone:HZ) [--pt 0|8] [--duration S] [--port LOCAL]
 * deno run -A std/ietf/rfc3550/main.ts recv [HOST:]PORT OUT.wav [--duration S] [--pt 0|8]
 * ```
 *
 * @example Print the usage
 * ```ts
 * import { command } from "@rtclite/std/ietf/rfc3550/main";
 * import { formatHelp } from "@rtclite/std/cli";
 * import { match } from "node:assert/strict";
 *
 * match(formatHelp(command), /send HOST:PORT/);
 * ```
 *
 * @module
 */

import { type Command, runCommand, UsageError } from "../../cli.ts";
import { audioCodec, decodeWav, encodeWav } from "../rfc3551.ts";
import { RtpSocket, type RtpSocketOptions } from "./udp.ts";

/** The declaration of this command line. */
export const command = {
  name: "rfc3550/main.ts",
  usage: "send HOST:PORT (FILE.wav|tone:HZ) [--pt 0|8] [--duration S] [--port LOCAL]\n" +
    "recv [HOST:]PORT OUT.wav [--duration S] [--pt 0|8]",
  description: "Sends a WAV file (8000 Hz mono) or a tone as PCMU/PCMA over RTP, or receives\n" +
    "RTP into a WAV file; prints the RTCP statistics at the end.",
  operands: [3, 3],
  options: {
    pt: { value: "0|8", help: "payload type: 0 PCMU (default) or 8 PCMA" },
    duration: {
      value: "S",
      help: "seconds to send (default: the file, 3 for a tone) or to wait (default 5)",
    },
    port: { value: "LOCAL", help: "local RTP port when sending (default: any even port)" },
  },
} as const satisfies Command;

function hostPort(s: string): [string, number] {
  const i = s.lastIndexOf(":");
  const [host, port] = i < 0 ? ["127.0.0.1", s] : [s.slice(0, i), s.slice(i + 1)];
  if (!/^\d{1,5}$/.test(port)) throw new UsageError(`Invalid port in "${s}"`);
  return [host, Number(port)];
}

function number(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`Invalid --${name}: "${value}"`);
  return n;
}

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, async ({ values, operands }) => {
      const [verb, address, file] = operands as [string, string, string];
      if (verb !== "send" && verb !== "recv") {
        throw new UsageError(`Unknown command "${verb}" (expected send or recv)`);
      }
      const pt = number(values.pt, "pt", 0);
      if (pt !== 0 && pt !== 8) throw new UsageError(`Invalid --pt: ${pt} (expected 0 or 8)`);
      const codec = audioCodec(pt === 8 ? "PCMA" : "PCMU")!;
      const duration = number(values.duration, "duration", verb === "recv" ? 5 : 0);
      const [host, port] = hostPort(address);
      const localPort = values.port === undefined ? undefined : hostPort(values.port)[1];
      return verb === "send"
        ? await send(host, port, file, pt, codec.encode, duration, localPort)
        : await recv(host, port, file, pt, codec.decode, duration);
    }),
  );
}

async function send(
  host: string,
  port: number,
  source: string,
  pt: number,
  encode: (pcm: Int16Array) => Uint8Array,
  duration: number,
  localPort: number | undefined,
): Promise<number> {
  let samples: Int16Array;
  if (source.startsWith("tone:")) {
    const hz = Number(source.slice(5));
    samples = new Int16Array(8000 * (duration || 3)).map((_, i) =>
      Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 8000))
    );
  } else {
    const wav = decodeWav(await Deno.readFile(source));
    if (wav.sampleRate !== 8000 || wav.channels !== 1) {
      throw new UsageError("The WAV file must be 8000 Hz mono (app/net/media.ts resamples)");
    }
    samples = duration ? wav.samples.subarray(0, duration * 8000) : wav.samples;
  }
  const options: RtpSocketOptions = { remote: { host, port } };
  if (localPort !== undefined) options.port = localPort;
  const sock = await RtpSocket.open(options);
  const start = performance.now();
  let ts = crypto.getRandomValues(new Uint32Array(1))[0]!;
  for (let i = 0; i * 160 < samples.length; i++) {
    const frame = new Int16Array(160);
    frame.set(samples.subarray(i * 160, i * 160 + 160));
    sock.send(pt, encode(frame), { timestamp: ts, marker: i === 0 });
    ts = (ts + 160) >>> 0;
    const wait = start + (i + 1) * 20 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  console.log(JSON.stringify(sock.session.stats(), null, 2));
  await sock.close("done");
  return 0;
}

async function recv(
  host: string,
  port: number,
  out: string,
  pt: number,
  decode: (data: Uint8Array) => Int16Array,
  duration: number,
): Promise<number> {
  let first: number | undefined;
  const chunks = new Map<number, Int16Array>();
  let lastHeard = performance.now();
  const sock = await RtpSocket.open({
    host,
    port,
    onPacket: (p) => {
      lastHeard = performance.now();
      if (p.payloadType !== pt) return;
      first ??= p.timestamp;
      const at = (p.timestamp - first) | 0;
      if (at >= 0 && at < 8000 * 3600) chunks.set(at, decode(p.payload));
    },
  });
  const started = performance.now();
  while (performance.now() - started < duration * 1000) {
    await new Promise((r) => setTimeout(r, 50));
    if (first !== undefined && performance.now() - lastHeard > 2000) break;
  }
  let length = 0;
  for (const [at, c] of chunks) length = Math.max(length, at + c.length);
  const samples = new Int16Array(length);
  for (const [at, c] of chunks) samples.set(c, at);
  await Deno.writeFile(out, encodeWav({ sampleRate: 8000, channels: 1, samples }));
  console.log(JSON.stringify(sock.session.stats(), null, 2));
  await sock.close();
  return 0;
}
