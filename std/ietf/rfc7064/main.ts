// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The STUN URI command line: parses each `stun:`/`stuns:` URI given and prints its scheme, host,
 * port and default port as JSON, one line each; exits 1 when one does not parse.
 *
 * @example
 * ```sh
 * deno run std/ietf/rfc7064/main.ts stun:stun.example.com 'stuns:[2001:db8::1]:443'
 * # {"scheme":"stun","host":"stun.example.com","port":null,"defaultPort":3478}
 * # {"scheme":"stuns","host":"[2001:db8::1]","port":443,"defaultPort":5349}
 * ```
 *
 * @module
 */
import { printParsed, runCommand } from "../../cli.ts";
import { parseStunUri, stunUriPort } from "./mod.ts";

const command = {
  name: "rfc7064/main.ts",
  usage: "STUN-URI...",
  description: "Parses stun: and stuns: URIs (RFC 7064) and prints their parts as JSON.",
  operands: [1, Infinity],
  options: {},
} as const;

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, ({ operands }) =>
      printParsed(operands, (text) => {
        const uri = parseStunUri(text);
        return { ...uri, port: uri.port ?? null, defaultPort: stunUriPort(uri) };
      })),
  );
}
