// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The RTMP command line: `serve` runs a server (`serveRtmp`: live streams, recordings played
 * by name), `play` writes a stream to an FLV file, `publish` sends an FLV file to a server,
 * paced by its timestamps, and `copy` copies a stream to another server or to a file
 * (`copyStream`). `--help`
 * prints the usage; a wrong option or operand exits 2 before the network is touched.
 *
 * ```sh
 * deno run -A jsr:@rtclite/vnd/adobe/rtmp/main serve [--host 0.0.0.0] [--port 1935] [--record DIR] [--chunk-size 4096]
 * deno run -A jsr:@rtclite/vnd/adobe/rtmp/main play rtmp://host/app/stream [--out file.flv] [--duration S]
 * deno run -A jsr:@rtclite/vnd/adobe/rtmp/main publish file.flv rtmp://host/app/stream [--fast]
 * deno run -A jsr:@rtclite/vnd/adobe/rtmp/main copy rtmp://src/app/stream rtmp://dst/app/stream
 * deno run -A jsr:@rtclite/vnd/adobe/rtmp/main copy rtmp://src/app/stream out.flv [--duration S]
 * ```
 *
 * @example Read a command line without running it
 * ```ts
 * import { command } from "@rtclite/vnd/adobe/rtmp/main";
 * import { parseCommand } from "@rtclite/std/cli";
 * import { equal } from "node:assert/strict";
 *
 * const got = parseCommand(command, ["play", "rtmp://127.0.0.1/live/cam", "--out", "cam.flv"]);
 * equal(got.operands[0], "play");
 * equal(got.values.out, "cam.flv");
 * ```
 *
 * @module
 */
import { type ParsedCommand, runCommand, UsageError } from "@rtclite/std/cli";
import { decodeScriptData, encodeCommand, encodeData, FlvReader, parseRtmpUrl } from "./mod.ts";
import { copyStream, RtmpClient, serveRtmp } from "./net.ts";

/** The command line's declaration: subcommand and operands, and the options of each. */
export const command = {
  name: "rtmp",
  usage: `serve [--host HOST] [--port PORT] [--record DIR] [--vod DIR] [options]
play rtmp://host[:port]/app/stream [--out FILE.flv] [--duration SECONDS]
publish FILE.flv rtmp://host[:port]/app/stream [--fast]
copy rtmp://host[:port]/app/stream (rtmp://host[:port]/app/stream | FILE.flv) [--duration SECONDS]`,
  description: "serve runs an RTMP server (live streams: one publisher and many players per " +
    "name; recordings played by name); play writes a stream to an FLV file; publish sends an " +
    "FLV file; copy plays a stream and publishes it to another server, or writes it to a file.",
  operands: [1, 3],
  options: {
    host: { value: "HOST", help: "serve: address to listen on (default 0.0.0.0)" },
    port: { value: "PORT", help: "serve: TCP port (default 1935)" },
    record: {
      value: "DIR",
      help: "serve: record each published stream to DIR/<app%2Fname, percent-encoded>.flv",
    },
    vod: { value: "DIR", help: "serve: play recordings from DIR by name (default: --record)" },
    "max-connections": { value: "N", help: "serve: most connections (default 1000)" },
    "max-per-address": { value: "N", help: "serve: most connections per IP address (default 100)" },
    "idle-timeout": {
      value: "SECONDS",
      help: "serve: close sessions that neither publish nor play (default 30; 0: never)",
    },
    "chunk-size": { value: "N", help: "serve: chunk size the server sends with (default 4096)" },
    out: { value: "FILE", help: "play: the FLV file to write (default out.flv)" },
    duration: { value: "SECONDS", help: "play, copy: stop after this many seconds" },
    fast: { help: "publish: send as fast as possible instead of in real time" },
  },
} as const;

type Parsed = ParsedCommand<typeof command.options>;

/** The options each subcommand takes, and its operands after the subcommand's name. */
const FORMS: Record<string, { options: string[]; operands: string }> = {
  serve: {
    options: [
      "host",
      "port",
      "record",
      "vod",
      "chunk-size",
      "max-connections",
      "max-per-address",
      "idle-timeout",
    ],
    operands: "",
  },
  play: { options: ["out", "duration"], operands: "URL" },
  publish: { options: ["fast"], operands: "FILE URL" },
  copy: { options: ["duration"], operands: "URL TARGET" },
};

/** Publishes an FLV file, paced by its timestamps unless `fast`; resolves with the tag count. */
async function publish(path: string, url: string, fast: boolean): Promise<number> {
  const u = parseRtmpUrl(url);
  const client = await RtmpClient.connect(url);
  try {
    const id = await client.publish(u.stream);
    const reader = new FlvReader();
    using file = await Deno.open(path);
    const start = performance.now();
    let sent = 0;
    let base: number | undefined;
    for await (const chunk of file.readable) {
      for (const tag of reader.push(chunk)) {
        if (tag.type === 18) {
          const values = decodeScriptData(tag.data);
          client.send(encodeData(["@setDataFrame", ...values], id, tag.timestamp));
        } else {
          base ??= tag.timestamp;
          const due = tag.timestamp - base - (performance.now() - start);
          if (!fast && due > 0) await new Promise((r) => setTimeout(r, due));
          client.send({
            type: tag.type,
            streamId: id,
            timestamp: tag.timestamp,
            payload: tag.data,
          });
        }
        sent++;
        if (client.queued > 4 * 1024 * 1024) await client.drain();
      }
    }
    client.send(
      encodeCommand({
        name: "deleteStream",
        transactionId: 0,
        object: null,
        args: [id],
      }),
    );
    await client.drain();
    return sent;
  } finally {
    client.close();
  }
}

/** Checks an integer option in `[min, max]` (when given). */
function integer(text: string | undefined, name: string, min: number, max: number): void {
  if (text === undefined) return;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new UsageError(`Option --${name} needs an integer from ${min} to ${max}, got "${text}"`);
  }
}

/** Checks the subcommand, its operands and options before anything touches the network. */
function check({ values, operands }: Parsed): void {
  const [name = "", ...rest] = operands;
  const form = FORMS[name];
  if (!form) {
    throw new UsageError(`Unknown command "${name}" (expected serve, play, publish or copy)`);
  }
  const want = form.operands ? form.operands.split(" ") : [];
  if (rest.length !== want.length) {
    throw new UsageError(
      `${name} takes ${want.length ? want.join(" ") : "no operands"}, got ${rest.length} operand${
        rest.length === 1 ? "" : "s"
      }`,
    );
  }
  for (const [option, value] of Object.entries(values)) {
    if (value !== undefined && value !== false && !form.options.includes(option)) {
      throw new UsageError(`Option --${option} does not apply to ${name}`);
    }
  }
  if (want.includes("URL")) parseUrl(rest[want.indexOf("URL")]!);
  if (name === "copy" && rest[1]!.startsWith("rtmp:")) parseUrl(rest[1]!);
  integer(values.port, "port", 0, 65535);
  integer(values["chunk-size"], "chunk-size", 1, 0x7fffffff);
  integer(values["max-connections"], "max-connections", 1, 1_000_000);
  integer(values["max-per-address"], "max-per-address", 1, 1_000_000);
  integer(values["idle-timeout"], "idle-timeout", 0, 86_400);
  if (values.duration !== undefined && !(Number(values.duration) > 0)) {
    throw new UsageError(`Option --duration needs a positive number, got "${values.duration}"`);
  }
}

function parseUrl(url: string): void {
  try {
    parseRtmpUrl(url);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function serve(values: Parsed["values"]): Promise<number> {
  const port = Number(values.port ?? 1935);
  const chunkSize = Number(values["chunk-size"] ?? 4096);
  const hostname = values.host ?? "0.0.0.0";
  const record = values.record;
  if (record) await Deno.mkdir(record, { recursive: true });
  const number = (v: string | undefined) => v === undefined ? undefined : Number(v);
  const idle = number(values["idle-timeout"]);
  const server = serveRtmp({
    hostname,
    port,
    chunkSize,
    ...(record ? { record } : {}),
    ...(values.vod ? { vod: values.vod } : {}),
    ...(values["max-connections"] ? { maxConnections: number(values["max-connections"])! } : {}),
    ...(values["max-per-address"] ? { maxPerAddress: number(values["max-per-address"])! } : {}),
    ...(idle !== undefined ? { idleTimeout: idle * 1000 } : {}),
  });
  const stop = () => void server.close();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    await server.finished;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
  }
  return 0;
}

/** Runs the command line; resolves with the exit code. */
async function main({ values, operands }: Parsed): Promise<number> {
  const [name, a, b] = operands;
  if (name === "serve") return await serve(values);
  const duration = values.duration ? Number(values.duration) * 1000 : undefined;
  if (name === "play" || name === "copy") {
    const target = name === "play" ? values.out ?? "out.flv" : b!;
    const stop = new AbortController();
    const abort = () => stop.abort();
    Deno.addSignalListener("SIGINT", abort);
    try {
      const n = await copyStream(a!, target, {
        signal: stop.signal,
        ...(duration !== undefined ? { duration } : {}),
      });
      console.error(`Copied ${n} messages to ${target}`);
    } finally {
      Deno.removeSignalListener("SIGINT", abort);
    }
    return 0;
  }
  const n = await publish(a!, b!, values.fast);
  console.error(`Published ${n} tags from ${a}`);
  return 0;
}

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, (parsed) => {
      check(parsed);
      return main(parsed);
    }),
  );
}
