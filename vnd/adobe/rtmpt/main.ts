// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The RTMPT command line: RTMP tunnelled over HTTP on one port and plain RTMP on another,
 * sharing the same live streams.
 *
 * ```sh
 * deno run -A vnd/adobe/rtmpt/main.ts serve --port 8080 [--rtmp-port 1935] [--host 0.0.0.0]
 * ffmpeg -re -i in.flv -c copy -f flv rtmpt://127.0.0.1:8080/live/cam
 * ffplay rtmp://127.0.0.1:1935/live/cam
 * ```
 *
 * @example The help, without opening a socket
 * ```ts
 * import { command } from "@rtclite/vnd/adobe/rtmpt/main";
 * import { formatHelp } from "@rtclite/std/cli";
 * import { match } from "node:assert/strict";
 *
 * match(formatHelp(command), /--rtmp-port PORT/);
 * ```
 *
 * @module
 */
import { type ParsedCommand, runCommand, UsageError } from "@rtclite/std/cli";
import { serveRtmp } from "../rtmp/net.ts";
import { RtmptHandler, serveRtmpt } from "./deno.ts";

/** The command line's declaration (for `--help` and tests). */
export const command = {
  name: "rtmpt",
  usage: "serve [options]",
  operands: [1, 1],
  description: "RTMPT (RTMP over HTTP) on --port and plain RTMP on --rtmp-port, sharing the " +
    "same live streams.",
  options: {
    host: { value: "HOST", help: "address to listen on (default 0.0.0.0)" },
    port: { short: "p", value: "PORT", help: "HTTP port for RTMPT (default 8080)" },
    "rtmp-port": { value: "PORT", help: "RTMP port (default 1935)" },
  },
} as const;

function port(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65535) throw new UsageError(`Invalid port: ${text}`);
  return n;
}

async function main({ values, operands }: ParsedCommand<typeof command.options>) {
  if (operands[0] !== "serve") {
    throw new UsageError(`Unknown command ${operands[0]}: expected serve`);
  }
  const hostname = values.host ?? "0.0.0.0";
  const httpPort = port(values.port, 8080);
  const rtmpPort = port(values["rtmp-port"], 1935);
  const rtmp = serveRtmp({ hostname, port: rtmpPort });
  const rtmpt = new RtmptHandler({ backend: rtmp });
  const http = serveRtmpt({ handler: rtmpt, hostname, port: httpPort });
  console.error(
    `RTMPT on http://${http.addr.hostname}:${http.addr.port}/, RTMP on ${rtmp.addr.port}`,
  );
  const stop = () => void http.close();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await http.finished;
  rtmpt.close();
  await rtmp.close();
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  return 0;
}

if (import.meta.main) Deno.exit(await runCommand(command, Deno.args, main));
