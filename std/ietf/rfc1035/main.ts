// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * A small dig: asks a name server one question and prints the header and
 * the answer section as `dig` does.
 *
 * ```
 * deno run -A std/ietf/rfc1035/main.ts [@server] [-p port] [+tcp] name [type]
 * ```
 *
 * `@server` is the server's IP address (default: the `nameserver`s of
 * `/etc/resolv.conf`), `+tcp` asks over TCP from the start, and `type` is a
 * record type (default `A`). The exit code is 0 for NOERROR, 1 for another
 * response code, 9 when no server answered (as dig's), 2 for bad arguments.
 *
 * @example Print the usage
 * ```ts
 * import { equal, match } from "node:assert/strict";
 *
 * const { code, stdout } = await new Deno.Command(Deno.execPath(), {
 *   args: ["run", "-A", import.meta.resolve("@rtclite/std/ietf/rfc1035/main"), "--help"],
 *   stdout: "piped",
 * }).output();
 * equal(code, 0);
 * match(new TextDecoder().decode(stdout), /\[@server\] \[-p port\] \[\+tcp\] name \[type\]/);
 * ```
 *
 * @module
 */
import { runCommand, UsageError } from "../../cli.ts";
import { formatRecord, parseIp, type QuestionType, rcodeName, typeCode, typeName } from "./mod.ts";
import { DnsResolver } from "./resolver.ts";

const command = {
  name: "rfc1035/main.ts",
  usage: "[@server] [-p port] [+tcp] name [type]",
  description: "Asks one DNS question and prints the answer as dig does.\n" +
    "@server: the name server's IP address (default: from /etc/resolv.conf); " +
    "+tcp: ask over TCP.",
  operands: [1, 4],
  options: {
    port: { short: "p", value: "PORT", help: "the server's port (default 53)" },
  },
} as const;

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, async ({ values, operands }) => {
      let server: string | undefined;
      let tcp = false;
      const rest: string[] = [];
      for (const a of operands) {
        if (a.startsWith("@")) {
          server = a.slice(1);
          if (!parseIp(server)) throw new UsageError(`Invalid server: ${a} (use an IP address)`);
        } else if (a === "+tcp") tcp = true;
        else if (a.startsWith("+")) throw new UsageError(`Unknown query option ${a}`);
        else rest.push(a);
      }
      const [name, type = "A"] = rest;
      if (!name || rest.length > 2) {
        throw new UsageError(`Expected name [type], got "${rest.join(" ")}"`);
      }
      const port = Number(values.port ?? 53);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new UsageError(`Invalid port: ${values.port}`);
      }
      let qtype: QuestionType;
      try {
        qtype = typeName(typeCode(type.toUpperCase() as QuestionType));
      } catch {
        throw new UsageError(`Unknown record type: ${type}`);
      }
      const resolver = new DnsResolver({
        ...(server ? { servers: [{ address: server, port }] } : {}),
        tcp,
        cache: false,
      });
      try {
        const res = await resolver.query(name, qtype);
        console.log(
          `;; ->>HEADER<<- opcode: QUERY, status: ${rcodeName(res.rcode)}, id: ${res.id}\n` +
            `;; flags:${res.qr ? " qr" : ""}${res.aa ? " aa" : ""}${res.tc ? " tc" : ""}${
              res.rd ? " rd" : ""
            }${
              res.ra ? " ra" : ""
            }; QUERY: ${res.questions.length}, ANSWER: ${res.answers.length}\n`,
        );
        if (res.answers.length) {
          console.log(";; ANSWER SECTION:");
          for (const rr of res.answers) console.log(formatRecord(rr));
        }
        return res.rcode === 0 ? 0 : 1;
      } catch (e) {
        console.error(`;; ${e instanceof Error ? e.message : String(e)}`);
        return 9;
      }
    }, "warning"),
  );
}
