// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The command line of `@rtclite/vnd/google/chat`: send one chat message, or print the messages
 * that arrive until interrupted, with any standard XMPP server.
 *
 * ```sh
 * deno run -A vnd/google/chat/main.ts --jid me@example.org --password P \
 *   [--server HOST[:PORT]] [--insecure-plain] [--ca FILE] send you@example.org 'hello'
 * deno run -A vnd/google/chat/main.ts --jid me@example.org --password P receive
 * ```
 *
 * @example Wait for messages on a local test server
 * ```sh
 * deno run -A vnd/google/chat/main.ts --jid bob@localhost --password secret \
 *   --server 127.0.0.1 --insecure-plain receive
 * ```
 *
 * @module
 */
import { type Command, type ParsedCommand, runCommand, UsageError } from "@rtclite/std/cli";
import { type ChatAccount, receiveMessages, sendMessage } from "../chat.ts";

const command = {
  name: "chat",
  usage: "--jid JID --password P [options] send TO TEXT\n--jid JID --password P [options] receive",
  description: "Commands:\n" +
    "  send TO TEXT   send a chat message\n" +
    '  receive        print incoming messages as "from: body" until interrupted',
  operands: [1, 3],
  options: {
    jid: { value: "JID", help: "the account, user@host[/resource] (required)" },
    password: { value: "P", help: "the password" },
    server: { value: "HOST[:PORT]", help: "server address (default: the JID's domain, 5222)" },
    "insecure-plain": { help: "allow SASL PLAIN without TLS (test servers)" },
    ca: { value: "FILE", help: "extra CA certificate (PEM) to trust" },
  },
} as const satisfies Command;

async function body(
  { values, operands }: ParsedCommand<typeof command.options>,
): Promise<number> {
  const [verb, ...rest] = operands;
  if (!values.jid) throw new UsageError("--jid is required");
  if (verb !== "send" && verb !== "receive") throw new UsageError(`Unknown command ${verb}`);
  if (rest.length !== (verb === "send" ? 2 : 0)) {
    throw new UsageError(`${verb} takes ${verb === "send" ? 2 : 0} operands`);
  }
  const account: ChatAccount = { jid: values.jid, password: values.password ?? "" };
  if (values.server !== undefined) account.server = values.server;
  if (values["insecure-plain"]) account.allowPlain = true;
  if (values.ca !== undefined) account.caCerts = [await Deno.readTextFile(values.ca)];
  if (verb === "send") {
    await sendMessage(account, rest[0]!, rest[1]!);
    return 0;
  }
  const stop = new AbortController();
  Deno.addSignalListener("SIGINT", () => stop.abort());
  for await (const m of receiveMessages(account, stop.signal)) console.log(`${m.from}: ${m.body}`);
  return 0;
}

if (import.meta.main) Deno.exit(await runCommand(command, Deno.args, body));
