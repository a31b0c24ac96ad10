// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The OpenDHT gateway's command line: `serve` runs a DHT node with the XML-RPC gateway in front
 * of it; `put`, `get` and `rm` are clients of a gateway, like OpenDHT's `put.py`, `get.py` and
 * `rm.py`.
 *
 * ```
 * deno run -A app/net/p2p/opendht/main.ts [--port 5851] [--dht-port P] [--bootstrap H:P]... serve
 * deno run -A app/net/p2p/opendht/main.ts [-g URL] [--ttl S] [--secret S] put KEY VALUE
 * deno run -A app/net/p2p/opendht/main.ts [-g URL] get KEY
 * deno run -A app/net/p2p/opendht/main.ts [-g URL] [--ttl S] rm KEY VALUE SECRET
 * ```
 *
 * @module
 */
import { runCommand, UsageError } from "@rtclite/std/cli";
import { type Address, parseAddress, UdpDht } from "../dht.ts";
import { OpenDhtClient, XmlRpcFault } from "./mod.ts";
import { serveOpenDht } from "./http.ts";

const command = {
  name: "app/net/p2p/opendht/main.ts",
  usage: "[options] serve | put KEY VALUE | get KEY | rm KEY VALUE SECRET",
  description: [
    "Commands:",
    "  serve                 run a DHT node and the OpenDHT XML-RPC gateway until interrupted",
    "  put KEY VALUE         store VALUE under SHA-1(KEY) through the gateway (--secret: removable)",
    "  get KEY               print the values under SHA-1(KEY), one a line",
    "  rm KEY VALUE SECRET   remove VALUE, presenting the SECRET it was put with",
    "Status words as OpenDHT's scripts print them: Success, Capacity, Again.",
  ].join("\n"),
  operands: [1, 4],
  options: {
    gateway: {
      short: "g",
      value: "URL",
      help: "gateway of put/get/rm (default http://127.0.0.1:5851/)",
    },
    host: { value: "H", help: "serve: address of the gateway and the node (default 127.0.0.1)" },
    port: { short: "p", value: "PORT", help: "serve: gateway TCP port (default 5851)" },
    "dht-port": { value: "PORT", help: "serve: DHT UDP port (default 0: any)" },
    bootstrap: {
      short: "b",
      value: "HOST:PORT",
      multiple: true,
      help: "serve: a DHT node to join",
    },
    ttl: { short: "t", value: "SECONDS", help: "put/rm: time to live (default 3600)" },
    secret: { short: "s", value: "S", help: "put: removal secret" },
  },
} as const;

const STATUS = ["Success", "Capacity", "Again"];

function port(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`Invalid --${name}: ${text}`);
  }
  return n;
}

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, async ({ values, operands }) => {
      const [cmd, ...rest] = operands;
      const arity: Record<string, number> = { serve: 0, put: 2, get: 1, rm: 3 };
      if (cmd === undefined || arity[cmd] !== rest.length) {
        throw new UsageError("Expected serve, put KEY VALUE, get KEY or rm KEY VALUE SECRET");
      }
      const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 604_800) {
        throw new UsageError(`Invalid --ttl: ${values.ttl}`);
      }
      if (cmd === "serve") {
        let bootstrap: Address[];
        try {
          bootstrap = values.bootstrap.map(parseAddress);
        } catch (e) {
          throw new UsageError(e instanceof Error ? e.message : String(e));
        }
        const host = values.host ?? "127.0.0.1";
        const gatewayPort = port(values.port, "port", 5851);
        const dhtPort = port(values["dht-port"], "dht-port", 0);
        await using dht = await UdpDht.open({ host, port: dhtPort });
        if (bootstrap.length) await dht.join(bootstrap);
        await using gateway = serveOpenDht(dht, { hostname: host, port: gatewayPort });
        console.log(
          `OpenDHT gateway on ${gateway.url}, DHT node on ${dht.address.host}:${dht.address.port}`,
        );
        await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
        return 0;
      }
      const client = new OpenDhtClient(values.gateway ?? "http://127.0.0.1:5851/", {
        application: "rtclite opendht/main.ts",
      });
      try {
        switch (cmd) {
          case "put": {
            const opts = values.secret === undefined ? { ttl } : { ttl, secret: values.secret };
            const status = await client.put(rest[0]!, rest[1]!, opts);
            console.log(STATUS[status] ?? `Status ${status}`);
            return status === 0 ? 0 : 1;
          }
          case "get":
            for (const v of await client.get(rest[0]!)) console.log(new TextDecoder().decode(v));
            return 0;
          default: {
            const status = await client.rm(rest[0]!, rest[1]!, rest[2]!, ttl);
            console.log(STATUS[status] ?? `Status ${status}`);
            return status === 0 ? 0 : 1;
          }
        }
      } catch (e) {
        if (e instanceof XmlRpcFault) {
          console.error(`Fault ${e.code}: ${e.message}`);
          return 1;
        }
        throw e;
      }
    }),
  );
}
