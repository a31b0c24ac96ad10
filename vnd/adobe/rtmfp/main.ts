// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The command line of `@rtclite/vnd/adobe/rtmfp`: a rendezvous server, and a client that
 * connects to it, prints its peer id, and can open a direct session to another client by peer
 * id and send it a message. `--trace` prints every packet sent and received, decoded.
 *
 * ```sh
 * deno run -A vnd/adobe/rtmfp/main.ts serve --port 1935 --trace
 * deno run -A vnd/adobe/rtmfp/main.ts connect rtmfp://127.0.0.1/app --wait 60
 * deno run -A vnd/adobe/rtmfp/main.ts connect rtmfp://127.0.0.1/app --peer PEERID --message hi
 * ```
 *
 * @module
 */
import { type Command, type ParsedCommand, runCommand, UsageError } from "@rtclite/std/cli";
import { fromHex, toHex } from "@rtclite/std/bytes";
import type { RtmfpSession } from "./mod.ts";
import { rtmfpConnect, RtmfpServer } from "./udp.ts";

const command = {
  name: "rtmfp",
  usage: "serve [--port P] [--host H] [--trace]\n" +
    "connect [--trace] [--peer ID] [--message TEXT] [--count N] [--wait S] rtmfp://HOST[:PORT]/APP",
  description:
    "serve: a rendezvous server that introduces clients by peer id (RFC 7016 §3.5.1.5).\n" +
    "connect: connects to a server, prints this client's peer id and every message received;\n" +
    "with --peer, opens a direct session to that peer and sends --message on a new flow.",
  operands: [1, 2],
  options: {
    port: { short: "p", value: "P", help: "serve: UDP port (default 1935)" },
    host: { value: "H", help: "serve: local address (default 0.0.0.0)" },
    trace: { help: "print every packet, decoded" },
    peer: { value: "ID", help: "connect: the peer id (64 hex digits) to open a session to" },
    message: { value: "TEXT", help: "connect: the message to send to --peer" },
    count: { value: "N", help: "connect: send N messages, 'TEXT 0' .. 'TEXT N-1'" },
    wait: { value: "S", help: "connect: seconds to stay connected (default: until killed)" },
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
      ...(trace ? { trace } : {}),
    });
    const { address, port: bound } = server.socket.address;
    console.log(
      `rtmfp: serving on ${address}:${bound}, peer id ${toHex(server.socket.endpoint.peerId)}`,
    );
    await new Promise(() => {});
    return 0;
  }
  if (verb !== "connect" || url === undefined) {
    throw new UsageError("expected 'serve' or 'connect URL'");
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

if (import.meta.main) Deno.exit(await runCommand(command, Deno.args, body));
