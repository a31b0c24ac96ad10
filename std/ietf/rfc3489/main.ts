// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The classic STUN command line: classify the NAT on the path to a server (RFC 3489 §10.1), or
 * run a server on two addresses and two ports that honours CHANGE-REQUEST.
 *
 * Options are read by `@rtclite/std/cli` before anything else happens: `--help` prints the usage
 * and exits 0, an unknown option exits 2, and neither touches the network.
 *
 * @example
 * ```sh
 * deno run -A std/ietf/rfc3489/main.ts --discover stun:192.0.2.1:3478
 * # port-restricted-cone (local 0.0.0.0:34053, mapped 203.0.113.4:34053)
 * deno run -A std/ietf/rfc3489/main.ts --serve 192.0.2.1,192.0.2.2 --ports 3478,3479
 * ```
 *
 * @module
 */
import { runCommand, UsageError } from "../../cli.ts";
import type { TransportAddress } from "../rfc5389/mod.ts";
import { parseStunUri, stunUriPort } from "../rfc7064/mod.ts";
import { discoverNat, serveClassicStunUdp } from "./udp.ts";

const command = {
  name: "rfc3489/main.ts",
  usage: "--discover stun:host[:port] [--local ADDRESS] [--port PORT] [--rto MS] [--rc N]\n" +
    "--serve A1,A2 [--ports P1,P2]",
  description: "Prints the NAT type on the path to a classic STUN server, or runs such a server.",
  operands: [0, 0],
  options: {
    discover: { value: "URI", help: "classify the NAT on the path to this server" },
    local: { value: "ADDRESS", help: "local address to send the tests from (any)" },
    port: { value: "PORT", help: "local port to send the tests from (any)" },
    rto: { value: "MS", help: "initial retransmission timeout (100)" },
    rc: { value: "N", help: "requests per test (7)" },
    serve: { value: "A1,A2", help: "run a server on these two addresses" },
    ports: { value: "P1,P2", help: "the server's two ports (3478,3479)" },
  },
} as const;

/** Reads a non-negative integer option. */
function integer(name: string, text: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`Invalid --${name}: "${text}"`);
  return Number(text);
}

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, async ({ values }) => {
      const { serve, ports, discover, local, port, rto, rc } = values;
      if (serve) {
        const addresses = serve.split(",");
        const p = (ports ?? "3478,3479").split(",").map((x) => integer("ports", x));
        if (addresses.length !== 2 || p.length !== 2) {
          throw new UsageError("--serve needs two addresses (A1,A2) and --ports two ports (P1,P2)");
        }
        const server = await serveClassicStunUdp({
          addresses: addresses as [string, string],
          ports: p as [number, number],
        });
        console.log(
          `classic STUN server on ${server.sockets.map((a) => `${a.address}:${a.port}`).join(" ")}`,
        );
        await new Promise<void>((resolve) => {
          Deno.addSignalListener("SIGINT", resolve);
          Deno.addSignalListener("SIGTERM", resolve);
        });
        await server.close();
        return 0;
      }
      if (!discover) throw new UsageError("Expected --discover URI or --serve A1,A2");
      const uri = parseStunUri(/^stuns?:/i.test(discover) ? discover : `stun:${discover}`);
      const host = uri.host.replace(/^\[(.*)\]$/, "$1");
      const server: TransportAddress = {
        family: host.includes(":") ? 6 : 4,
        address: host,
        port: stunUriPort(uri),
      };
      const r = await discoverNat(server, {
        ...(local ? { hostname: local } : {}),
        ...(port ? { port: integer("port", port) } : {}),
        ...(rto ? { rto: integer("rto", rto) } : {}),
        ...(rc ? { rc: integer("rc", rc) } : {}),
      });
      const fmt = (a: TransportAddress) => `${a.address}:${a.port}`;
      console.log(
        `${r.type}${r.mapped ? ` (local ${fmt(r.local)}, mapped ${fmt(r.mapped)})` : ""}`,
      );
      return 0;
    }, "warning"),
  );
}
