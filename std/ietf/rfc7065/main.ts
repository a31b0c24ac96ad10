// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The TURN URI command line: parses each `turn:`/`turns:` URI given and prints its scheme, host,
 * port, transport and default port as JSON, one line each; exits 1 when one does not parse.
 *
 * @example
 * ```sh
 * deno run std/ietf/rfc7065/main.ts 'turn:turn.example.com?transport=tcp'
 * # {"scheme":"turn","host":"turn.example.com","port":null,"transport":"tcp","defaultPort":3478}
 * ```
 *
 * @module
 */
import { printParsed, runCommand } from "../../cli.ts";
import { parseTurnUri, turnUriPort } from "./mod.ts";

const command = {
  name: "rfc7065/main.ts",
  usage: "TURN-URI...",
  description: "Parses turn: and turns: URIs (RFC 7065) and prints their parts as JSON.",
  operands: [1, Infinity],
  options: {},
} as const;

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, ({ operands }) =>
      printParsed(operands, (text) => {
        const uri = parseTurnUri(text);
        return { ...uri, port: uri.port ?? null, defaultPort: turnUriPort(uri) };
      })),
  );
}
