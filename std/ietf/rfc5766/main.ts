// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The TURN command line: allocate a relay on a server and print it, or run a server.
 *
 * Options are read by `@rtclite/std/cli` before anything else happens: `--help` prints the usage
 * and exits 0, an unknown option exits 2, and neither touches the network.
 *
 * @example
 * ```sh
 * deno run -A std/ietf/rfc5766/main.ts -u alice -p secret turn:127.0.0.1:3478
 * # relayed 127.0.0.1:50123 mapped 127.0.0.1:40000
 * deno run -A std/ietf/rfc5766/main.ts -u alice -p secret --tls --ca cert.pem turns:127.0.0.1:5349
 * deno run -A std/ietf/rfc5766/main.ts -u alice -p secret --relay-ports 50000-50099 --serve 127.0.0.1:3478
 * deno run -A std/ietf/rfc5766/main.ts -u alice -p secret --tcp --tls --cert cert.pem --key key.pem --serve 127.0.0.1:3478
 * ```
 *
 * @module
 */
import { runCommand, serverArgument, UsageError } from "../../cli.ts";
import type { TransportAddress } from "../rfc5389/mod.ts";
import { parseTurnUri, TURN_PORT, turnUriPort } from "../rfc7065/mod.ts";
import { PeerPolicy } from "./mod.ts";
import { serveTurnTcp, tcpRelays } from "./tcp.ts";
import { serveTurnUdp, TurnClient } from "./udp.ts";

const command = {
  name: "rfc5766/main.ts",
  usage: "-u USER -p PASS [--tcp | --tls [--ca FILE]] [--tcp-relay] turn:host[:port]\n" +
    "-u USER -p PASS [--tcp] [--tls --cert FILE --key FILE] [options] --serve host:port",
  description:
    "Allocates a relay and prints the relayed and mapped addresses, or runs a server (UDP, and\n" +
    "TCP and TLS with --tcp and --tls; TCP allocations of RFC 6062 on those).\n" +
    "The server relays only to public peers unless told otherwise (RFC 8656 §21.2.2): loopback,\n" +
    "private, link-local, multicast, broadcast and unspecified peers get 403.",
  operands: [0, 1],
  options: {
    user: { short: "u", value: "USER", help: "username (long-term credentials)" },
    password: { short: "p", value: "PASS", help: "password" },
    realm: { value: "REALM", help: "realm of the server (rtclite)" },
    "relay-ports": { value: "LO-HI", help: "the server's relay port range" },
    serve: { value: "HOST:PORT", help: "run a server on this address" },
    tcp: { help: "client: reach the server over TCP; server: listen on TCP too (same port)" },
    tls: {
      help: "client: TLS (the default for turns:); server: listen on TLS too (--tls-port)",
    },
    ca: { value: "FILE", help: "client: trust this certificate (PEM) for TLS" },
    "tcp-relay": { help: "client: ask for a TCP allocation (RFC 6062; needs --tcp or --tls)" },
    cert: { value: "FILE", help: "server: TLS certificate chain (PEM)" },
    key: { value: "FILE", help: "server: TLS private key (PEM)" },
    "tls-port": { value: "PORT", help: "server: TLS port (5349)" },
    "allow-loopback-peers": { help: "server: relay to 127.0.0.0/8 and ::1 (refused by default)" },
    "allow-private-peers": { help: "server: relay to private and link-local addresses" },
    "allow-peer": {
      value: "PREFIX",
      multiple: true,
      help: "server: relay to this address or prefix (10.0.0.0/8)",
    },
    "deny-peer": { value: "PREFIX", multiple: true, help: "server: never relay to this prefix" },
    quota: { value: "N", help: "server: allocations per user (10)" },
    "max-allocations": { value: "N", help: "server: allocations in total (1000)" },
  },
} as const;

/** Reads `turn:host[:port]` or a plain `host[:port]`. */
function parseServer(text: string): { host: string; port: number } {
  return serverArgument(text, /^turns?:/i, (t) => {
    const uri = parseTurnUri(t);
    return { host: uri.host, port: turnUriPort(uri) };
  }, TURN_PORT);
}

/** The transport a `turn:` URI asks for (`turns:` is TLS, `?transport=tcp` TCP). */
function uriTransport(text: string): "udp" | "tcp" | "tls" | undefined {
  if (!/^turns?:/i.test(text)) return undefined;
  const uri = parseTurnUri(text);
  if (uri.scheme === "turns") return "tls";
  return uri.transport?.toLowerCase() === "tcp" ? "tcp" : undefined;
}

/** Reads a positive integer option. */
function parseCount(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) {
    throw new UsageError(`Invalid --${name}: "${text}" (expected a positive integer)`);
  }
  return Number(text);
}

/** Checks address prefixes before the server starts. */
function parsePrefixes(name: string, list: string[]): string[] {
  for (const p of list) {
    try {
      new PeerPolicy({ allowedPeers: [p] });
    } catch {
      throw new UsageError(`Invalid --${name}: "${p}" (expected an address or a prefix)`);
    }
  }
  return list;
}

/** Reads a port option. */
function parsePort(name: string, text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`Invalid --${name}: "${text}" (expected a port)`);
  }
  return Number(text);
}

/** Reads `LO-HI`. */
function parsePorts(text: string): [number, number] {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  const range = m ? [Number(m[1]), Number(m[2])] as [number, number] : undefined;
  if (!range || range[0] > range[1] || range[1] > 65535) {
    throw new UsageError(`Invalid --relay-ports: "${text}" (expected LO-HI)`);
  }
  return range;
}

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, async ({ values, operands }) => {
      const { user, password: pass, realm, serve } = values;
      if (!user || !pass) throw new UsageError("-u USER and -p PASS are required");
      if (serve !== undefined) {
        if (operands.length) throw new UsageError("--serve takes no server operand");
        if (values.tls && (!values.cert || !values.key)) {
          throw new UsageError("--tls needs --cert FILE and --key FILE");
        }
        const tlsPort = values["tls-port"] === undefined
          ? 5349
          : parsePort("tls-port", values["tls-port"]);
        const { host, port } = parseServer(serve);
        const range = values["relay-ports"] ? parsePorts(values["relay-ports"]) : undefined;
        const quota = parseCount("quota", values.quota);
        const maxAllocations = parseCount("max-allocations", values["max-allocations"]);
        const streams = values.tcp || values.tls;
        const turn = await serveTurnUdp({
          ...(streams ? { openTcpRelay: tcpRelays(host) } : {}),
          allowLoopbackPeers: values["allow-loopback-peers"],
          allowPrivatePeers: values["allow-private-peers"],
          allowedPeers: parsePrefixes("allow-peer", values["allow-peer"]),
          deniedPeers: parsePrefixes("deny-peer", values["deny-peer"]),
          ...(quota ? { quota } : {}),
          ...(maxAllocations ? { maxAllocations } : {}),
          hostname: host,
          port,
          realm: realm ?? "rtclite",
          password: (u) => u === user ? pass : undefined,
          ...(range ? { relayPorts: range } : {}),
        });
        const listeners = [];
        console.log(`TURN server on ${turn.address.address}:${turn.address.port} (UDP)`);
        if (values.tcp) {
          listeners.push(await serveTurnTcp(turn.server, { hostname: host, port }));
          console.log(`TURN server on ${host}:${port} (TCP)`);
        }
        if (values.tls) {
          const tls = {
            cert: await Deno.readTextFile(values.cert!),
            key: await Deno.readTextFile(values.key!),
          };
          listeners.push(await serveTurnTcp(turn.server, { hostname: host, port: tlsPort, tls }));
          console.log(`TURN server on ${host}:${tlsPort} (TLS)`);
        }
        await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
        for (const l of listeners) await l.close();
        await turn.close();
        return 0;
      }
      if (operands.length !== 1) throw new UsageError("Expected a server (turn:host[:port])");
      if (values.tcp && values.tls) throw new UsageError("--tcp and --tls exclude each other");
      const { host, port } = parseServer(operands[0]!);
      const family = host.includes(":") ? 6 : 4;
      const transport = values.tls ? "tls" : values.tcp ? "tcp" : uriTransport(operands[0]!);
      if (values["tcp-relay"] && transport !== "tcp" && transport !== "tls") {
        throw new UsageError("--tcp-relay needs --tcp or --tls");
      }
      const ca = values.ca ? [await Deno.readTextFile(values.ca)] : undefined;
      await using client = await TurnClient.open({
        server: { family, address: host, port },
        username: user,
        password: pass,
        rc: 4,
        autoRefresh: false,
        ...(transport ? { transport } : {}),
        ...(ca ? { caCerts: ca } : {}),
      });
      const { relayed, mapped } = await client.allocate(undefined, {
        transport: values["tcp-relay"] ? "tcp" : "udp",
      });
      const fmt = (a: TransportAddress) =>
        a.family === 6 ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
      console.log(`relayed ${fmt(relayed)}${mapped ? ` mapped ${fmt(mapped)}` : ""}`);
      return 0;
    }, "warning"),
  );
}
