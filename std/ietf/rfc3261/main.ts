// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The command line of `@rtclite/std/ietf/rfc3261`: parses one SIP message
 * from a file, or from standard input with `-`, and prints its fields as
 * JSON.
 *
 * ```sh
 * deno run -A std/ietf/rfc3261/main.ts std/ietf/testdata/rfc4475/wsinv.dat
 * printf 'OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n' | deno run -A std/ietf/rfc3261/main.ts -
 * ```
 *
 * @example Parse a message through the command's body
 * ```ts
 * import { command, main } from "@rtclite/std/ietf/rfc3261/main";
 * import { equal } from "node:assert/strict";
 *
 * equal(command.name, "rfc3261/main.ts");
 * const file = await Deno.makeTempFile();
 * await Deno.writeTextFile(file, "OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n");
 * equal(await main([file]), 0);
 * equal(await main(["--nope"]), 2);
 * await Deno.remove(file);
 * ```
 *
 * @module
 */
import { runCommand } from "../../cli.ts";
import { parseMessage } from "./message.ts";

/** The command line's declaration. */
export const command = {
  name: "rfc3261/main.ts",
  usage: "[-v|-q] FILE|-",
  description: "Parses a SIP message (from FILE, or standard input for -) and prints it as JSON.",
  operands: [1, 1],
  options: {},
} as const;

/**
 * Runs the command line.
 *
 * @param args The arguments, e.g. `Deno.args`.
 * @returns The exit code: 0, 1 when the message does not parse, 2 for a usage error.
 */
export function main(args: readonly string[]): Promise<number> {
  return runCommand(command, args, async ({ operands }) => {
    const file = operands[0]!;
    const bytes = file === "-"
      ? new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer())
      : await Deno.readFile(file);
    const m = parseMessage(bytes);
    console.log(JSON.stringify(
      {
        method: m.method,
        uri: m.uri,
        status: m.isRequest ? undefined : m.status,
        reason: m.isRequest ? undefined : m.reason,
        headers: m.headers,
        body: m.text,
      },
      null,
      2,
    ));
    return 0;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
