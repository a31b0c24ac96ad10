// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * An authoritative DNS server for tests (RFC 1035 §4.2): {@linkcode serveDns}
 * answers queries on UDP (`node:dgram`) and TCP (through `acceptLoop` of
 * `@rtclite/std/net`) from a `DnsZone` or from a handler that may return odd
 * responses on purpose. Bad queries get FORMERR when their header is readable
 * and are dropped otherwise; the server never stops on bad input.
 *
 * The zone logic is the pure `DnsZone` of `@rtclite/std/ietf/rfc1035`.
 *
 * @example Serve a zone and ask it over TCP
 * ```ts
 * import { DnsZone } from "@rtclite/std/ietf/rfc1035";
 * import { DnsResolver } from "@rtclite/std/ietf/rfc1035/resolver";
 * import { serveDns } from "@rtclite/std/ietf/rfc1035/server";
 * import { equal } from "node:assert/strict";
 *
 * const zone = new DnsZone([{ name: "a.test", type: "A", ttl: 5, data: "192.0.2.1" }]);
 * await using server = await serveDns({ zone, port: 0 });
 * const res = await new DnsResolver({ servers: [`127.0.0.1:${server.port}`], tcp: true })
 *   .query("a.test", "A");
 * equal(res.answers.length, 1);
 * ```
 *
 * @module
 */
import dgram from "node:dgram";
import { getLogger } from "../../log.ts";
import { type AcceptLoop, acceptLoop } from "../../net.ts";
import {
  decodeMessage,
  type DnsMessage,
  type DnsMessageInit,
  DnsZone,
  encodeMessage,
  frameTcp,
  RCODE,
} from "./mod.ts";
import { readTcpMessages, writeAll } from "./_tcp.ts";

const log = getLogger("dns");

/** Where a query came from, for a {@linkcode DnsHandler}. */
export interface DnsRequestInfo {
  /** `"udp"` or `"tcp"`. */
  transport: "udp" | "tcp";
  /** Client address. */
  address: string;
  /** Client port. */
  port: number;
}

/** Computes replies to a query: messages or raw bytes, sent in order; none to stay silent. */
export type DnsHandler = (
  query: DnsMessage,
  info: DnsRequestInfo,
) =>
  | DnsMessageInit
  | Uint8Array
  | (DnsMessageInit | Uint8Array)[]
  | null
  | Promise<DnsMessageInit | Uint8Array | (DnsMessageInit | Uint8Array)[] | null>;

/** Options for {@linkcode serveDns}. */
export interface ServeDnsOptions {
  /** Records to answer from (ignored when `handler` is given). */
  zone?: DnsZone;
  /** Custom answers, e.g. for tests that need odd responses. */
  handler?: DnsHandler;
  /** Address to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** Port for UDP and TCP (0 = any free one, the same for both). */
  port?: number;
  /** Also listen on TCP (default true). */
  tcp?: boolean;
}

/** A running server. */
export interface DnsServerHandle extends AsyncDisposable {
  /** Listening address. */
  readonly hostname: string;
  /** Listening port (UDP and TCP). */
  readonly port: number;
  /** Stops listening and closes open TCP connections. */
  close(): Promise<void>;
}

/**
 * Serves DNS on UDP and TCP from a {@linkcode DnsZone} or a handler. Bad
 * queries get FORMERR when their header is readable and are dropped
 * otherwise; the server never stops on bad input.
 *
 * @param options Zone or handler, address and port.
 * @returns The running server.
 *
 * @example Odd answers from a handler
 * ```ts
 * import { DnsResolver } from "@rtclite/std/ietf/rfc1035/resolver";
 * import { serveDns } from "@rtclite/std/ietf/rfc1035/server";
 * import { equal } from "node:assert/strict";
 *
 * await using server = await serveDns({
 *   port: 0,
 *   handler: (query) => ({ id: query.id, qr: true, rcode: 5, questions: query.questions }),
 * });
 * const resolver = new DnsResolver({ servers: [`127.0.0.1:${server.port}`], attempts: 1 });
 * const err = await resolver.query("a.test", "A").catch((e) => e);
 * equal(err.code, "REFUSED");
 * ```
 */
export async function serveDns(options: ServeDnsOptions): Promise<DnsServerHandle> {
  const hostname = options.hostname ?? "127.0.0.1";
  const zone = options.zone ?? new DnsZone([]);
  const handler: DnsHandler = options.handler ??
    ((query, info) =>
      zone.answer(
        query,
        info.transport === "tcp" ? 65535 : Math.max(512, query.edns?.udpPayloadSize ?? 512),
      ));
  const family = hostname.includes(":") ? "udp6" : "udp4";
  const reply = async (data: Uint8Array, info: DnsRequestInfo): Promise<Uint8Array[]> => {
    let query: DnsMessage;
    try {
      query = decodeMessage(data);
    } catch (e) {
      log.debug("Bad DNS query from {address}: {error}", { ...info, error: String(e) });
      if (data.length < 12 || data[2]! & 0x80) return [];
      return [encodeMessage({ id: (data[0]! << 8) | data[1]!, qr: true, rcode: RCODE.FORMERR })];
    }
    if (query.qr) return [];
    const out = await handler(query, info);
    if (out === null) return [];
    return (Array.isArray(out) ? out : [out]).map((m) =>
      m instanceof Uint8Array ? m : encodeMessage(m)
    );
  };
  // Bind TCP first to learn a free port, then UDP on the same one (a few tries for port 0).
  let listener: Deno.TcpListener | undefined;
  let sock: dgram.Socket | undefined;
  let port = options.port ?? 53;
  for (let attempt = 0; !sock; attempt++) {
    if (options.tcp !== false) {
      listener = Deno.listen({ hostname, port: options.port ?? 53, transport: "tcp" });
      port = (listener.addr as Deno.NetAddr).port;
    }
    const udp = dgram.createSocket(family);
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind(port, hostname, () => {
          udp.off("error", reject);
          resolve();
        });
      });
      sock = udp;
    } catch (e) {
      listener?.close();
      if (options.port || attempt >= 4) throw e;
    }
  }
  port = sock.address().port;
  sock.on("error", (e) => log.warn("DNS server UDP error: {error}", { error: String(e) }));
  sock.on("message", (data: Uint8Array, rinfo: { address: string; port: number }) => {
    const info: DnsRequestInfo = { transport: "udp", address: rinfo.address, port: rinfo.port };
    reply(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info).then((outs) => {
      for (const o of outs) sock.send(o, rinfo.port, rinfo.address);
    }).catch((e) => log.warn("DNS handler failed: {error}", { error: String(e) }));
  });
  const serveConn = async (conn: Deno.Conn) => {
    const addr = conn.remoteAddr as Deno.NetAddr;
    const info: DnsRequestInfo = { transport: "tcp", address: addr.hostname, port: addr.port };
    try {
      for await (const data of readTcpMessages(conn)) {
        for (const o of await reply(data, info)) await writeAll(conn, frameTcp(o));
      }
    } catch {
      /* closed or bad framing: drop the connection */
    }
  };
  const tcpServer: AcceptLoop | undefined = listener
    ? acceptLoop(listener, serveConn, { name: "DNS TCP" })
    : undefined;
  let closed: Promise<void> | undefined;
  const handle: DnsServerHandle = {
    hostname,
    port,
    close() {
      closed ??= (async () => {
        await new Promise<void>((resolve) => sock.close(() => resolve()));
        await tcpServer?.close();
      })();
      return closed;
    },
    [Symbol.asyncDispose]() {
      return handle.close();
    },
  };
  return handle;
}
