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
 * deno run -A std/ietf/rfc5389/main.ts --tls --ca cert.pem stuns:127.0.0.1:5349
 * deno run -A std/ietf/rfc5389/main.ts --serve 127.0.0.1:3478 -u alice -p secret --realm example.org
 * deno run -A std/ietf/rfc5389/main.ts --tcp --tls --cert cert.pem --key key.pem --serve 127.0.0.1:3478
 * ```
 *
 * @module
 */
import { runCommand, serverArgument, UsageError } from "../../cli.ts";
import { parseStunUri, STUN_PORT, stunUriPort } from "../rfc7064/mod.ts";
import { LongTermCredentials, StunServer, type StunServerOptions } from "./mod.ts";
import { connectStun, serveStunTcp } from "./tcp.ts";
import { serveStunUdp, StunClient } from "./udp.ts";

const command = {
  name: "rfc5389/main.ts",
  usage:
    "[-u USER -p PASS [--short-term] [--sha256]] [--tcp | --tls [--ca FILE]] stun:host[:port]\n" +
    "[-u USER -p PASS [--short-term | --realm REALM]] [--tcp] [--tls --cert F --key F] --serve host:port",
  description: "Prints the mapped address the server sees (XOR-MAPPED-ADDRESS), or runs a server.",
  operands: [0, 1],
  options: {
    user: { short: "u", value: "USER", help: "username (long-term credentials by default)" },
    password: { short: "p", value: "PASS", help: "password" },
    "short-term": { help: "use short-term credentials" },
    sha256: { help: "sign requests with MESSAGE-INTEGRITY-SHA256" },
    realm: { value: "REALM", help: "realm of the server's long-term credentials (rtclite)" },
    serve: { value: "HOST:PORT", help: "run a server on this address" },
    tcp: { help: "client: ask over TCP; server: listen on TCP too (same port)" },
    tls: { help: "client: TLS (the default for stuns:); server: listen on TLS too (--tls-port)" },
    ca: { value: "FILE", help: "client: trust this certificate (PEM) for TLS" },
    cert: { value: "FILE", help: "server: TLS certificate chain (PEM)" },
    key: { value: "FILE", help: "server: TLS private key (PEM)" },
    "tls-port": { value: "PORT", help: "server: TLS port (5349)" },
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
        if (values.tls && (!values.cert || !values.key)) {
          throw new UsageError("--tls needs --cert FILE and --key FILE");
        }
        const tlsPort = values["tls-port"] ?? "5349";
        if (!/^\d{1,5}$/.test(tlsPort) || Number(tlsPort) > 65535) {
          throw new UsageError(`Invalid --tls-port: "${tlsPort}" (expected a port)`);
        }
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
        console.log(`STUN server on ${udp.address.address}:${udp.address.port} (UDP)`);
        const listeners = [];
        if (values.tcp) {
          listeners.push(await serveStunTcp(server, { hostname: host, port }));
          console.log(`STUN server on ${host}:${port} (TCP)`);
        }
        if (values.tls) {
          const tls = {
            cert: await Deno.readTextFile(values.cert!),
            key: await Deno.readTextFile(values.key!),
          };
          listeners.push(
            await serveStunTcp(server, { hostname: host, port: Number(tlsPort), tls }),
          );
          console.log(`STUN server on ${host}:${tlsPort} (TLS)`);
        }
        await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
        for (const l of listeners) await l.close();
        await udp.close();
        return 0;
      }
      if (operands.length !== 1) throw new UsageError("Expected a server (stun:host[:port])");
      if (values.tcp && values.tls) throw new UsageError("--tcp and --tls exclude each other");
      const { host, port } = parseServer(operands[0]!);
      const family = host.includes(":") ? 6 : 4;
      const transport = values.tls || /^stuns:/i.test(operands[0]!)
        ? "tls"
        : values.tcp
        ? "tcp"
        : "udp";
      const ca = values.ca ? [await Deno.readTextFile(values.ca)] : undefined;
      const credentials = user && pass
        ? shortTerm
          ? { shortTerm: { username: user, password: pass, sha256 } }
          : { credentials: new LongTermCredentials({ username: user, password: pass, sha256 }) }
        : {};
      await using client = transport === "udp"
        ? await StunClient.open({ family, rc: 4, ...credentials })
        : await connectStun({
          server: { family, address: host, port },
          transport,
          ...(ca ? { caCerts: ca } : {}),
          ...credentials,
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
