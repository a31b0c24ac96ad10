// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The command line of `@rtclite/std/w3c/simplexml`: pretty-prints an XML document, or push-parses
 * a stream and prints one line per event.
 *
 * ```sh
 * deno run --allow-read std/w3c/simplexml/main.ts [--indent N] [--restricted] FILE
 * deno run std/w3c/simplexml/main.ts --stream < stream.xml
 * ```
 *
 * Without FILE it reads standard input (no permission needed). A malformed document prints the
 * parser's message with its offset and exits 1; a missing `--allow-read` is reported in one
 * sentence naming the flag.
 *
 * @example Pretty-print standard input
 * ```ts ignore
 * const child = new Deno.Command(Deno.execPath(), {
 *   args: ["run", "std/w3c/simplexml/main.ts"], stdin: "piped", stdout: "piped",
 * }).spawn();
 * ```
 *
 * @module
 */
import { type Command, type ParsedCommand, runCommand } from "../../cli.ts";
import {
  parseXml,
  serialize,
  startTag,
  XmlParseError,
  XmlPushParser,
  type XmlStreamEvent,
} from "./mod.ts";

const command = {
  name: "simplexml",
  usage: "[--indent N] [--stream] [--restricted] [FILE]",
  description:
    "Parses FILE (or standard input) and pretty-prints it; with --stream, push-parses\n" +
    "the input as it arrives and prints one line per stream event.",
  operands: [0, 1],
  options: {
    indent: { value: "N", help: "spaces per level when pretty-printing (default 2)" },
    stream: { help: "push-parse and print open/element/text/close events" },
    restricted: { help: "reject what XMPP forbids: comments, PIs, DTDs (RFC 6120 §11.1)" },
  },
} as const satisfies Command;

async function body(
  { values, operands }: ParsedCommand<typeof command.options>,
): Promise<number> {
  const indent = values.indent === undefined ? 2 : Number(values.indent);
  const restricted = values.restricted;
  const file = operands[0];
  try {
    if (values.stream) {
      const parser = new XmlPushParser({ restricted });
      const input = file ? (await Deno.open(file)).readable : Deno.stdin.readable;
      const show = (events: XmlStreamEvent[]) => {
        for (const e of events) {
          if (e.type === "open") console.log(`open ${startTag(e.root)}`);
          else if (e.type === "element") console.log(`element ${serialize(e.element)}`);
          else if (e.type === "text") console.log(`text ${JSON.stringify(e.text)}`);
          else console.log("close");
        }
      };
      for await (const chunk of input) show(parser.push(chunk));
      show(parser.end());
    } else {
      const bytes = file
        ? await Deno.readFile(file)
        : new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
      console.log(serialize(parseXml(bytes, { restricted }), { indent, declaration: true }));
    }
  } catch (e) {
    if (!(e instanceof XmlParseError)) throw e;
    console.error(`${e.message} (offset ${e.offset})`);
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await runCommand(command, Deno.args, body));
