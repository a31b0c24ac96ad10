// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Serves the OpenDHT gateway over HTTP (`Deno.serve`), on a DHT node: the XML-RPC endpoint
 * OpenDHT clients POST to (any path; OpenDHT used `/` and `/RPC2`).
 *
 * HTTP parsing, keep-alive and idle connections are left to `Deno.serve`; the gateway bounds
 * what it accepts: request bodies (default 64 KiB, more than the largest call), calls in progress
 * (default 64; beyond that 503 with `Retry-After`), and methods other than POST (405).
 *
 * @example A gateway on a one-node DHT
 * ```ts
 * import { OpenDhtClient } from "@rtclite/app/net/p2p/opendht";
 * import { serveOpenDht } from "@rtclite/app/net/p2p/opendht/http";
 * import { UdpDht } from "@rtclite/app/net/p2p/dht";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * await using dht = await UdpDht.open();
 * await using gateway = serveOpenDht(dht, { port: 0 });
 * const client = new OpenDhtClient(gateway.url);
 * equal(await client.put("colors", "red"), 0);
 * deepEqual(await client.getText("colors"), ["red"]);
 * ```
 *
 * @module
 */
import { getLogger } from "@rtclite/std/log";
import {
  type BackendValue,
  FAULT,
  type OpenDhtBackend,
  OpenDhtGateway,
  type OpenDhtGatewayOptions,
} from "./mod.ts";
import { encodeFault } from "./xmlrpc.ts";

export type { BackendValue, OpenDhtBackend, OpenDhtGatewayOptions };

/** What the gateway uses of a DHT node: a `UdpDht` of `@rtclite/app/net/p2p/dht` fits. */
export interface GatewayDht {
  /**
   * Stores a value.
   *
   * @param key The key.
   * @param value The value.
   * @param options TTL and the SHA-1 of the removal secret.
   * @returns How many nodes stored it.
   */
  put(
    key: Uint8Array,
    value: Uint8Array,
    options: { ttl: number; secretHash?: Uint8Array },
  ): Promise<number>;
  /**
   * Finds the values under a key.
   *
   * @param key The key.
   * @returns The values with their remaining TTL.
   */
  getValues(key: Uint8Array): Promise<BackendValue[]>;
  /**
   * Removes a value known by its SHA-1.
   *
   * @param key The key.
   * @param valueHash SHA-1 of the value.
   * @param secret The secret.
   * @param ttl Seconds the removal is remembered.
   * @returns How many nodes removed it and how many refused.
   */
  removeHash(
    key: Uint8Array,
    valueHash: Uint8Array,
    secret: Uint8Array,
    ttl?: number,
  ): Promise<{ removed: number; denied: number }>;
}

const log = getLogger("opendht");

/**
 * The backend of a gateway on a DHT node.
 *
 * @param dht The node (a `UdpDht`).
 * @returns The backend.
 *
 * @example
 * ```ts
 * import { dhtBackend } from "@rtclite/app/net/p2p/opendht/http";
 * import { UdpDht } from "@rtclite/app/net/p2p/dht";
 * import { equal } from "node:assert/strict";
 * await using dht = await UdpDht.open();
 * equal(await dhtBackend(dht).put(new Uint8Array(20), new Uint8Array([7]), 60), 1);
 * ```
 */
export function dhtBackend(dht: GatewayDht): OpenDhtBackend {
  return {
    put: (key, value, ttl, secretHash) =>
      dht.put(key, value, secretHash ? { ttl, secretHash } : { ttl }),
    get: async (key) =>
      (await dht.getValues(key)).map((v) => {
        const found: BackendValue = { value: v.value, ttl: v.ttl };
        if (v.secretHash) found.secretHash = v.secretHash;
        return found;
      }),
    rm: (key, valueHash, secret, ttl) => dht.removeHash(key, valueHash, secret, ttl),
  };
}

/** Options of {@linkcode serveOpenDht}. */
export interface ServeOpenDhtOptions extends OpenDhtGatewayOptions {
  /** Address to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** TCP port (default 5851, OpenDHT's; 0 for any). */
  port?: number;
  /** Largest request body in bytes (default 65 536). */
  maxBodySize?: number;
  /** Most calls in progress at once (default 64). */
  maxInFlight?: number;
}

/** A running gateway. */
export interface OpenDhtServer extends AsyncDisposable {
  /** The URL clients post to. */
  readonly url: string;
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** Stops the server. */
  close(): Promise<void>;
}

async function readBody(req: Request, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > max) return undefined;
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > max) return undefined;
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Serves an OpenDHT gateway for a DHT node.
 *
 * @param dht The node whose DHT the gateway uses.
 * @param options Address, port and limits.
 * @returns The running server.
 */
export function serveOpenDht(dht: GatewayDht, options: ServeOpenDhtOptions = {}): OpenDhtServer {
  const gateway = new OpenDhtGateway(dhtBackend(dht), options);
  const maxBody = options.maxBodySize ?? 65_536;
  const maxInFlight = options.maxInFlight ?? 64;
  let inFlight = 0;
  const xml = (body: string, status = 200) =>
    new Response(body, { status, headers: { "content-type": "text/xml" } });
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 5851,
    onListen() {},
  }, async (req) => {
    if (req.method !== "POST") {
      return new Response("OpenDHT gateway: POST XML-RPC here\n", {
        status: 405,
        headers: { allow: "POST" },
      });
    }
    if (inFlight >= maxInFlight) {
      return new Response("Busy\n", { status: 503, headers: { "retry-after": "1" } });
    }
    inFlight++;
    try {
      const body = await readBody(req, maxBody);
      if (!body) return xml(encodeFault(FAULT.parse, `Request body over ${maxBody} bytes`), 413);
      return xml(await gateway.handle(body));
    } catch (e) {
      log.warn("OpenDHT call failed: {e}", { e: String(e) });
      return xml(encodeFault(FAULT.internal, "Internal error"), 500);
    } finally {
      inFlight--;
    }
  });
  const addr = server.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  let closed: Promise<void> | undefined;
  const close = () => closed ??= server.shutdown();
  return {
    url: `http://${host}:${addr.port}/`,
    addr,
    close,
    [Symbol.asyncDispose]: close,
  };
}
