// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The SDP command line: parse a session description and print it as JSON, or (`--format`)
 * write it back as SDP; `-` reads standard input, `--lenient` relaxes the RFC 8866 checks.
 *
 * ```
 * deno run -A std/ietf/rfc4566/main.ts [--format] [--lenient] FILE.sdp|-
 * ```
 *
 * @example Print the usage
 * ```ts
 * import { command } from "@rtclite/std/ietf/rfc4566/main";
 * import { formatHelp } from "@rtclite/std/cli";
 * import { match } from "node:assert/strict";
 *
 * match(formatHelp(command), /--format/);
 * ```
 *
 * @module
 */

import { type Command, runCommand } from "../../cli.ts";
import { formatSdp, parseSdp } from "./mod.ts";

/** The declaration of this command line. */
export const command = {
  name: "rfc4566/main.ts",
  usage: "[--format] [--lenient] FILE.sdp|-",
  description: "Parses a session description (RFC 8866) and prints it as JSON.",
  operands: [1, 1],
  options: {
    format: { help: "write the description back as SDP instead of JSON" },
    lenient: { help: "accept any line order, unknown line types and media without c=" },
  },
} as const satisfies Command;

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, async ({ values, operands }) => {
      const file = operands[0]!;
      const text = file === "-"
        ? await new Response(Deno.stdin.readable).text()
        : await Deno.readTextFile(file);
      const sd = parseSdp(text, { strict: !values.lenient });
      console.log(values.format ? formatSdp(sd).trimEnd() : JSON.stringify(sd, null, 2));
      return 0;
    }),
  );
}
