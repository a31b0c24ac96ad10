// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The command line of `@rtclite/std/ietf/rfc2617`: prints the `Authorization` value that answers
 * a digest challenge (RFC 2617 §3.2.2, RFC 7616 §3.4).
 *
 * ```sh
 * deno run std/ietf/rfc2617/main.ts --user U --password P [--method REGISTER] \
 *   [--uri sip:example.com] [--body TEXT] [--cnonce C] 'Digest realm=...,nonce=...'
 * ```
 *
 * @example Answer the challenge of RFC 2617 §3.5
 * ```sh
 * deno run std/ietf/rfc2617/main.ts --user Mufasa --password 'Circle Of Life' \
 *   --uri /dir/index.html --cnonce 0a4f113b \
 *   'Digest realm="testrealm@host.com", qop="auth", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"'
 * ```
 *
 * @module
 */
import { type Command, type ParsedCommand, runCommand, UsageError } from "../../cli.ts";
import { DigestClient, type DigestRequest } from "./mod.ts";

const command = {
  name: "rfc2617",
  usage: "--user U --password P [--method M] [--uri URI] [--body TEXT] [--cnonce C] CHALLENGE",
  description: "Prints the Authorization value answering CHALLENGE ('Digest realm=...,nonce=...').",
  operands: [1, 1],
  options: {
    user: { value: "U", help: "user name (required)" },
    password: { value: "P", help: "password (required)" },
    method: { value: "M", help: "request method (default GET)" },
    uri: { value: "URI", help: "request URI (default /)" },
    body: { value: "TEXT", help: "entity body, for qop=auth-int" },
    cnonce: { value: "C", help: "client nonce (default: random)" },
  },
} as const satisfies Command;

async function body(
  { values, operands }: ParsedCommand<typeof command.options>,
): Promise<number> {
  const { user, password, cnonce } = values;
  if (!user || password === undefined) throw new UsageError("--user and --password are required");
  const client = new DigestClient({
    username: user,
    password,
    ...(cnonce !== undefined ? { cnonce: () => cnonce } : {}),
  });
  const request: DigestRequest = { method: values.method ?? "GET", uri: values.uri ?? "/" };
  if (values.body !== undefined) request.body = values.body;
  console.log(await client.authorize(operands[0]!, request));
  return 0;
}

if (import.meta.main) Deno.exit(await runCommand(command, Deno.args, body));
