// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The command line of `@rtclite/std/ietf/rfc2396`: prints the parts of each
 * URI, or of each address such as `"Alice" <sip:a@b>;tag=1`, as JSON.
 *
 * ```sh
 * deno run std/ietf/rfc2396/main.ts 'sip:alice@example.com;transport=tcp'
 * ```
 *
 * @example Run the command's body
 * ```ts
 * import { main } from "@rtclite/std/ietf/rfc2396/main";
 * import { equal } from "node:assert/strict";
 *
 * equal(await main(["-q", "sip:alice@example.com"]), 0);
 * equal(await main(["-q", "sip:alice@[::1"]), 1);
 * equal(await main([]), 2);
 * ```
 *
 * @module
 */
import { runCommand } from "../../cli.ts";
import { parseAddress, parseUri } from "./mod.ts";

/** The command line's declaration. */
export const command = {
  name: "rfc2396/main.ts",
  usage: "[-v|-q] URI-OR-ADDRESS...",
  description: "Prints the parts of each URI or name-addr as JSON.",
  operands: [1, Infinity],
  options: {},
} as const;

/**
 * Runs the command line.
 *
 * @param args The arguments, e.g. `Deno.args`.
 * @returns 0, 1 when an argument does not parse, 2 for a usage error.
 */
export function main(args: readonly string[]): Promise<number> {
  return runCommand(command, args, ({ operands }) => {
    let status = 0;
    for (const arg of operands) {
      try {
        const t = arg.trim();
        const value = t.startsWith('"') || t.includes("<") ? parseAddress(t) : parseUri(t);
        console.log(JSON.stringify(value, null, 2));
      } catch (e) {
        console.error(`${arg}: ${e instanceof Error ? e.message : e}`);
        status = 1;
      }
    }
    return status;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
