// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The STUN command line: ask a server for the mapped address, or run a server.
 *
 * Options are read by `@rtclite/std/cli` before anything else happens: `--help` prints the usage
 * and exits 0, an unknown option exits 2, and neither touches the network.
 *
 * @example
 * ```sh
 * deno run -A std/ietf/rfc5389/main.ts stun:stun.example.org          # prints 203.0.113.4:40123
 * deno run -A std/ietf/rfc5389/main.ts -u alice -p secret --sha256 stun:127.0.0.1:3478
 * deno run -A std/ietf/rfc5389/main.ts --serve 127.0.0.1:3478 -u alice -p secret --realm example.org
 * ```
 *
 * @module
 */
import { runCommand, serverArgument, UsageError } from "../../cli.ts";
import { parseStunUri, STUN_PORT, stunUriPort } from "../rfc7064/mod.ts";
import { LongTermCredentials, StunServer, type StunServerOptions } from "./mod.ts";
import { serveStunUdp, StunClient } from "./udp.ts";

const command = {
  name: "rfc5389/main.ts",
  usage: "[-u USER -p PASS [--short-term] [--sha256]] stun:host[:port]\n" +
    "[-u USER -p PASS [--short-term | --realm REALM]] --serve host:port",
  description: "Prints the mapped address the server sees (XOR-MAPPED-ADDRESS), or runs a server.",
  operands: [0, 1],
  options: {
    user: { short: "u", value: "USER", help: "username (long-term credentials by default)" },
    password: { short: "p", value: "PASS", help: "password" },
    "short-term": { help: "use short-term credentials" },
    sha256: { help: "sign requests with MESSAGE-INTEGRITY-SHA256" },
    realm: { value: "REALM", help: "realm of the server's long-term credentials (rtclite)" },
    serve: { value: "HOST:PORT", help: "run a server on this address" },
  },
} as const;

/** Reads `stun:host[:port]` or a plain `host[:port]`. */
function parseServer(text: string): { host: string; port: number } {
  return serverArgument(text, /^stuns?:/i, (t) => {
    const uri = parseStunUri(t);
    return { host: uri.host, port: stunUriPort(uri) };
  }, STUN_PORT);
}

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, async ({ values, operands }) => {
      const { user, password: pass, realm, serve, sha256 } = values;
      const shortTerm = values["short-term"];
      if (serve !== undefined) {
        if (operands.length) throw new UsageError("--serve takes no server operand");
        const { host, port } = parseServer(serve);
        const auth: StunServerOptions["auth"] = user && pass
          ? shortTerm
            ? { mechanism: "short-term", password: (u) => u === user ? pass : undefined }
            : {
              mechanism: "long-term",
              realm: realm ?? "rtclite",
              password: (u) => u === user ? pass : undefined,
            }
          : undefined;
        const server = new StunServer({ software: "rtclite", ...(auth ? { auth } : {}) });
        const udp = await serveStunUdp(server, { hostname: host, port });
        console.log(`STUN server on ${udp.address.address}:${udp.address.port}`);
        await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
        await udp.close();
        return 0;
      }
      if (operands.length !== 1) throw new UsageError("Expected a server (stun:host[:port])");
      const { host, port } = parseServer(operands[0]!);
      const family = host.includes(":") ? 6 : 4;
      await using client = await StunClient.open({
        family,
        rc: 4,
        ...(user && pass
          ? shortTerm
            ? { shortTerm: { username: user, password: pass, sha256 } }
            : { credentials: new LongTermCredentials({ username: user, password: pass, sha256 }) }
          : {}),
      });
      const mapped = await client.binding({ family, address: host, port });
      console.log(
        mapped.family === 6
          ? `[${mapped.address}]:${mapped.port}`
          : `${mapped.address}:${mapped.port}`,
      );
      return 0;
    }, "warning"),
  );
}
