// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The command line of `@rtclite/std/ietf/rfc3921`: an XMPP client that sends a chat message,
 * prints incoming messages, or prints the roster.
 *
 * ```sh
 * deno run -A std/ietf/rfc3921/main.ts --jid JID --password P [--server HOST[:PORT]] \
 *   [--insecure-plain] [--no-tls] [--ca FILE] [--mechanism M] send TO TEXT
 * deno run -A std/ietf/rfc3921/main.ts --jid JID --password P listen
 * deno run -A std/ietf/rfc3921/main.ts --jid JID --password P roster
 * ```
 *
 * @example Print the roster
 * ```sh
 * deno run -A std/ietf/rfc3921/main.ts --jid juliet@example.com --password P roster
 * ```
 *
 * @module
 */
import {
  type Command,
  type ParsedCommand,
  runCommand,
  serverArgument,
  UsageError,
} from "../../cli.ts";
import { ImClient, type XmppClientOptions } from "./deno.ts";

const command = {
  name: "rfc3921",
  usage: "--jid JID --password P [options] send TO TEXT\n" +
    "--jid JID --password P [options] listen\n" +
    "--jid JID --password P [options] roster",
  description: "Commands:\n" +
    "  send TO TEXT   send a chat message\n" +
    '  listen         print incoming messages as "from: body" until interrupted\n' +
    "  roster         print the roster, one item a line",
  operands: [1, 3],
  options: {
    jid: { value: "JID", help: "the account, user@host[/resource] (required)" },
    password: { value: "P", help: "the password" },
    server: { value: "HOST[:PORT]", help: "server address (default: the JID's domain, 5222)" },
    "insecure-plain": { help: "allow SASL PLAIN without TLS (test servers)" },
    "no-tls": { help: "do not use STARTTLS" },
    ca: { value: "FILE", help: "extra CA certificate (PEM) to trust" },
    mechanism: { value: "M", help: "the only SASL mechanism to use (PLAIN, SCRAM-SHA-1, ...)" },
  },
} as const satisfies Command;

async function body(
  { values, operands }: ParsedCommand<typeof command.options>,
): Promise<number> {
  const [verb, ...rest] = operands;
  const arity: Record<string, number> = { send: 2, listen: 0, roster: 0 };
  if (!values.jid) throw new UsageError("--jid is required");
  if (arity[verb!] !== rest.length) {
    throw new UsageError(
      verb! in arity ? `${verb} takes ${arity[verb!]} operands` : `Unknown command ${verb}`,
    );
  }
  const opts: XmppClientOptions = { jid: values.jid, password: values.password ?? "" };
  if (values.server !== undefined) {
    const { host, port } = serverArgument(
      values.server,
      /(?!)/,
      () => ({ host: "", port: 0 }),
      5222,
    );
    opts.hostname = host;
    opts.port = port;
  }
  if (values["insecure-plain"]) opts.allowPlain = true;
  if (values["no-tls"]) opts.tls = "disabled";
  if (values.ca !== undefined) opts.caCerts = [await Deno.readTextFile(values.ca)];
  if (values.mechanism !== undefined) opts.mechanisms = [values.mechanism];
  await using im = await ImClient.connect(opts);
  if (verb === "send") {
    im.sendMessage(rest[0]!, rest[1]!);
  } else if (verb === "roster") {
    for (const i of await im.getRoster()) {
      console.log(`${i.jid}\t${i.subscription ?? ""}\t${i.name ?? ""}\t${i.groups.join(",")}`);
    }
  } else {
    im.onMessage((m) => {
      if (m.body !== undefined) console.log(`${m.from ?? ""}: ${m.body}`);
    });
    im.sendPresence();
    const stop = new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
    const why = await Promise.race([stop.then(() => undefined), im.client.closed]);
    if (why) throw why;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await runCommand(command, Deno.args, body));
