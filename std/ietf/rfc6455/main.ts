// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The WebSocket command line, in the manner of websocat: `serve` listens and echoes (or prints
 * received messages and sends stdin lines to every client); `connect` sends stdin lines as
 * messages and prints received messages to stdout.
 *
 * ```sh
 * deno run -A std/ietf/rfc6455/main.ts serve --port 8080 --echo
 * deno run -A std/ietf/rfc6455/main.ts connect ws://127.0.0.1:8080/
 * ```
 *
 * @example The help, without opening a socket
 * ```ts
 * import { command } from "@rtclite/std/ietf/rfc6455/main";
 * import { formatHelp } from "@rtclite/std/cli";
 * import { match } from "node:assert/strict";
 *
 * match(formatHelp(command), /connect \[options\] ws:\/\/HOST:PORT\/PATH/);
 * ```
 *
 * @module
 */
import { type ParsedCommand, runCommand, UsageError } from "../../cli.ts";
import { getLogger } from "../../log.ts";
import { serveWebSocket, WebSocket } from "./deno.ts";

const log = getLogger("websocket");
const encoder = new TextEncoder();

/** The command line's declaration (for `--help` and tests). */
export const command = {
  name: "rfc6455",
  usage: "serve [options]\nconnect [options] ws://HOST:PORT/PATH",
  operands: [1, 2],
  description: "serve without --echo prints received messages and sends stdin lines to every " +
    "client;\nconnect sends stdin lines as messages and prints messages to stdout.",
  options: {
    port: { short: "p", value: "PORT", help: "serve: port to listen on (default 8080)" },
    hostname: { value: "HOST", help: "serve: address to listen on (default 0.0.0.0)" },
    echo: { help: "serve: send every message back" },
    cert: { value: "FILE", help: "serve: PEM certificate chain (wss:, with --key)" },
    key: { value: "FILE", help: "serve: PEM private key (wss:, with --cert)" },
    protocol: { value: "P", multiple: true, help: "subprotocol to offer or accept" },
    "no-deflate": { help: "do not negotiate permessage-deflate" },
    origin: { value: "ORIGIN", help: "connect: Origin header" },
    binary: { help: "connect: send stdin lines as binary messages" },
  },
} as const;

type Parsed = ParsedCommand<typeof command.options>;

async function* stdinLines(): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let rest = "";
  for await (const chunk of Deno.stdin.readable) {
    rest += dec.decode(chunk, { stream: true });
    let i;
    while ((i = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, i).replace(/\r$/, "");
      rest = rest.slice(i + 1);
    }
  }
  if (rest) yield rest;
}

const out = (text: string) => Deno.stdout.write(encoder.encode(text + "\n"));

function show(d: string | Uint8Array): string {
  return typeof d === "string"
    ? d
    : `[binary ${d.length} bytes] ${
      [...d.subarray(0, 32)].map((b) => b.toString(16).padStart(2, "0")).join(" ")
    }`;
}

function port(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65535) throw new UsageError(`Invalid port: ${text}`);
  return n;
}

async function serve({ values }: Parsed): Promise<number> {
  const { echo, cert: certFile, key: keyFile, protocol: protocols } = values;
  if (!certFile !== !keyFile) throw new UsageError("--cert and --key go together");
  const server = serveWebSocket({
    hostname: values.hostname ?? "0.0.0.0",
    port: port(values.port, 8080),
    ...(protocols.length ? { protocols } : {}),
    deflate: !values["no-deflate"],
    ...(certFile && keyFile
      ? { cert: Deno.readTextFileSync(certFile), key: Deno.readTextFileSync(keyFile) }
      : {}),
  }, async (ws, req) => {
    log.info("Connection {target} protocol={protocol} extensions={ext}", {
      target: req.target,
      protocol: ws.protocol,
      ext: ws.extensions,
    });
    if (echo) {
      // Echo from the event, synchronously: a reply must go out before a Close frame that
      // arrived in the same read is answered.
      ws.binaryType = "arraybuffer";
      ws.onmessage = (e) => ws.send(e.data);
      return;
    }
    for await (const m of ws) await out(show(m));
  });
  console.error(
    `Listening on ${certFile ? "wss" : "ws"}://${server.addr.hostname}:${server.addr.port}/`,
  );
  Deno.addSignalListener("SIGINT", () => server.close().then(() => Deno.exit(0)));
  if (!echo) {
    for await (const line of stdinLines()) for (const ws of server.sockets) ws.send(line);
  }
  await new Promise(() => {});
  return 0;
}

async function connect({ values, operands }: Parsed): Promise<number> {
  const target = operands[1]!;
  const { origin, binary, protocol: protocols } = values;
  const ws = new WebSocket(target, protocols, {
    deflate: !values["no-deflate"],
    ...(origin ? { origin } : {}),
  });
  const closed = new Promise<CloseEvent>((r) =>
    ws.addEventListener("close", (e) => r(e as CloseEvent))
  );
  const opened = await Promise.race([
    new Promise<boolean>((r) => ws.addEventListener("open", () => r(true))),
    closed.then(() => false),
  ]);
  if (!opened) {
    console.error(`Cannot connect to ${target}`);
    return 1;
  }
  log.info("Connected protocol={protocol} extensions={ext}", {
    protocol: ws.protocol,
    ext: ws.extensions,
  });
  // After our Close frame, messages keep arriving until the server's Close (RFC 6455 §5.5.1):
  // the loop prints them all, and ends when the connection is closed.
  const printed = (async () => {
    for await (const m of ws) await out(show(m));
  })();
  (async () => {
    for await (const line of stdinLines()) {
      if (ws.readyState !== WebSocket.OPEN) break;
      ws.send(binary ? encoder.encode(line) : line);
      await ws.flush();
    }
    ws.close(1000);
  })();
  const ev = await closed;
  await printed;
  log.info("Closed {code} {reason} clean={clean}", {
    code: ev.code,
    reason: ev.reason,
    clean: ev.wasClean,
  });
  return ev.wasClean ? 0 : 1;
}

/**
 * Runs the command line.
 *
 * @param parsed The parsed arguments.
 * @returns The exit code.
 */
function main(parsed: Parsed): Promise<number> {
  const [verb, target] = parsed.operands;
  if (verb === "serve" && target === undefined) return serve(parsed);
  if (verb === "connect" && target !== undefined) return connect(parsed);
  throw new UsageError(
    verb === "serve" || verb === "connect"
      ? `${verb} ${verb === "serve" ? "takes no" : "needs a"} URL`
      : `Unknown command ${verb}: expected serve or connect`,
  );
}

if (import.meta.main) Deno.exit(await runCommand(command, Deno.args, main));
