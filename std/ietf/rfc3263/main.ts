// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Prints where a SIP request for a URI goes (RFC 3263): one line per target,
 * in the order to try them, as `transport host port address` separated by
 * tabs.
 *
 * ```
 * deno run -A std/ietf/rfc3263/main.ts [@server] [-p port] sip:user@domain
 * ```
 *
 * `@server` is the name server's IP address (default: the `nameserver`s of
 * `/etc/resolv.conf`). The exit code is 0 when there are targets, 1 when
 * there are none, 2 for bad arguments or a URI that cannot be located.
 *
 * @example Print the usage
 * ```ts
 * import { equal, match } from "node:assert/strict";
 *
 * const { code, stdout } = await new Deno.Command(Deno.execPath(), {
 *   args: ["run", "-A", import.meta.resolve("@rtclite/std/ietf/rfc3263/main"), "--help"],
 *   stdout: "piped",
 * }).output();
 * equal(code, 0);
 * match(new TextDecoder().decode(stdout), /\[@server\] \[-p port\] sip:user@domain/);
 * ```
 *
 * @module
 */
import { runCommand, UsageError } from "../../cli.ts";
import { parseIp } from "../rfc1035/mod.ts";
import { DnsResolver } from "../rfc1035/resolver.ts";
import { resolveSipTargets } from "./mod.ts";

const command = {
  name: "rfc3263/main.ts",
  usage: "[@server] [-p port] sip:user@domain",
  description: "Prints the ordered targets (transport, host, port, address) of a SIP URI.\n" +
    "@server: the name server's IP address (default: from /etc/resolv.conf).",
  operands: [1, 2],
  options: {
    port: { short: "p", value: "PORT", help: "the name server's port (default 53)" },
  },
} as const;

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, async ({ values, operands }) => {
      let server: string | undefined;
      const rest: string[] = [];
      for (const a of operands) {
        if (a.startsWith("@")) {
          server = a.slice(1);
          if (!parseIp(server)) throw new UsageError(`Invalid server: ${a} (use an IP address)`);
        } else rest.push(a);
      }
      if (rest.length !== 1) throw new UsageError(`Expected one SIP URI, got ${rest.length}`);
      const port = Number(values.port ?? 53);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new UsageError(`Invalid port: ${values.port}`);
      }
      const resolver = new DnsResolver(server ? { servers: [{ address: server, port }] } : {});
      let targets;
      try {
        targets = await resolveSipTargets(rest[0]!, { resolver });
      } catch (e) {
        // A URI that does not parse or cannot be located (SipLocateError): as before, exit 2.
        console.error(`${command.name}: ${e instanceof Error ? e.message : String(e)}`);
        return 2;
      }
      for (const t of targets) console.log(`${t.transport}\t${t.host}\t${t.port}\t${t.address}`);
      return targets.length ? 0 : 1;
    }, "warning"),
  );
}
