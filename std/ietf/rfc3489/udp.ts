// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Classic STUN over UDP with `node:dgram`: {@linkcode serveClassicStunUdp} binds the four sockets
 * of an RFC 3489 server (two addresses times two ports) around the sans-I/O
 * {@linkcode ClassicStunServer}, and {@linkcode discoverNat} runs the §10.1 discovery
 * ({@linkcode NatDiscovery}) from a UDP socket.
 *
 * @example Classify the path to a local two-address server (no NAT on loopback: open internet)
 * ```ts
 * import { discoverNat, serveClassicStunUdp } from "@rtclite/std/ietf/rfc3489/udp";
 * import { equal } from "node:assert/strict";
 *
 * await using server = await serveClassicStunUdp({ addresses: ["127.0.0.1", "127.0.0.2"], ports: [0, 0] });
 * const result = await discoverNat(server.primary, { hostname: "127.0.0.1", rto: 50, rc: 2, rm: 2 });
 * equal(result.type, "open-internet");
 * ```
 *
 * @module
 */
import dgram from "node:dgram";
import { getLogger } from "../../log.ts";
import {
  createMessage,
  getAddress,
  StunAttr,
  StunClass,
  StunMethod,
  StunTransactionError,
  type TransportAddress,
} from "../rfc5389/mod.ts";
import { StunClient } from "../rfc5389/udp.ts";
import {
  changeRequestAttribute,
  type ClassicServerOptions,
  ClassicStunServer,
  NatDiscovery,
  type NatTestResult,
  type NatType,
  OTHER_ADDRESS,
} from "./mod.ts";
export type { TransportAddress } from "../rfc5389/mod.ts";
export type { ClassicServerOptions, NatType } from "./mod.ts";

const log = getLogger("stun", "classic");

/** A running {@linkcode serveClassicStunUdp} server. */
export interface ClassicUdpServer extends AsyncDisposable {
  /** (A1, P1): the address clients are given. */
  readonly primary: TransportAddress;
  /** The four bound addresses. */
  readonly sockets: TransportAddress[];
  /** Closes all sockets. */
  close(): Promise<void>;
}

/**
 * Binds the four sockets of a classic STUN server and serves it.
 *
 * @param options The two addresses and two ports (0 picks a free port for P1/P2 on A1, reused on A2).
 * @returns The running server.
 * @example
 * ```ts
 * import { serveClassicStunUdp } from "@rtclite/std/ietf/rfc3489/udp";
 * import { equal } from "node:assert/strict";
 * await using s = await serveClassicStunUdp({ addresses: ["127.0.0.1", "127.0.0.2"], ports: [0, 0] });
 * equal(s.sockets.length, 4);
 * ```
 */
export async function serveClassicStunUdp(
  options: ClassicServerOptions,
): Promise<ClassicUdpServer> {
  const bind = (address: string, port: number) =>
    new Promise<dgram.Socket>((resolve, reject) => {
      const s = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
      s.once("error", reject);
      s.bind(port, address, () => {
        s.off("error", reject);
        resolve(s);
      });
    });
  const [a1, a2] = options.addresses;
  const socks: dgram.Socket[] = [];
  try {
    const s11 = await bind(a1, options.ports[0]);
    socks.push(s11);
    const p1 = s11.address().port;
    const s12 = await bind(a1, options.ports[1]);
    socks.push(s12);
    const p2 = s12.address().port;
    socks.push(await bind(a2, p1), await bind(a2, p2));
  } catch (e) {
    for (const s of socks) s.close();
    throw e;
  }
  const addrOf = (s: dgram.Socket): TransportAddress => {
    const a = s.address();
    return { family: a.family === "IPv6" ? 6 : 4, address: a.address, port: a.port };
  };
  const ports: [number, number] = [addrOf(socks[0]!).port, addrOf(socks[1]!).port];
  const server = new ClassicStunServer({ ...options, ports });
  for (const s of socks) {
    const local = addrOf(s);
    s.on("error", (e: Error) => log.warn("Socket error: {error}", { error: String(e) }));
    s.on("message", (buf: Uint8Array, r: dgram.RemoteInfo) => {
      const from: TransportAddress = {
        family: r.family === "IPv6" ? 6 : 4,
        address: r.address,
        port: r.port,
      };
      const reply = server.handle(
        new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
        from,
        local,
      );
      if (!reply) return;
      const out = socks.find((x) => {
        const a = addrOf(x);
        return a.address === reply.from.address && a.port === reply.from.port;
      });
      out?.send(reply.data, reply.to.port, reply.to.address);
    });
  }
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r())))).then(
      () => {},
    );
  return {
    primary: addrOf(socks[0]!),
    sockets: socks.map(addrOf),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Options of {@linkcode discoverNat}. */
export interface DiscoverOptions {
  /** Local address to bind (default: the wildcard address; then any local address counts as ours). */
  hostname?: string;
  /** Local port (default: any). */
  port?: number;
  /** Initial retransmission timeout in ms (default 100, as in RFC 3489 §9.3). */
  rto?: number;
  /** Requests per test (default 7). */
  rc?: number;
  /** Multiple of RTO to wait after the last request (default 4). */
  rm?: number;
}

/** Result of {@linkcode discoverNat}. */
export interface DiscoveryResult {
  /** The classification. */
  type: NatType;
  /** The local address the tests were sent from. */
  local: TransportAddress;
  /** The mapped (public) address from test I, when there was a response. */
  mapped: TransportAddress | undefined;
  /** Each test run and whether it got a response. */
  tests: { name: string; response: boolean }[];
}

/**
 * Runs the RFC 3489 §10.1 discovery against a server that supports CHANGE-REQUEST.
 *
 * @param server The server's primary address (A1, P1).
 * @param options Local address and timers.
 * @returns The NAT type and the addresses seen.
 * @throws {StunTransactionError} when the server answers a test with an error response.
 * @throws {NatDiscoveryError} when the server cannot run the whole procedure.
 * @example No server at all: UDP is blocked
 * ```ts
 * import { discoverNat } from "@rtclite/std/ietf/rfc3489/udp";
 * import { equal } from "node:assert/strict";
 * const r = await discoverNat({ family: 4, address: "127.0.0.1", port: 9 }, { hostname: "127.0.0.1", rto: 20, rc: 2, rm: 2 });
 * equal(r.type, "udp-blocked");
 * ```
 */
export async function discoverNat(
  server: TransportAddress,
  options: DiscoverOptions = {},
): Promise<DiscoveryResult> {
  await using client = await StunClient.open({
    ...(options.hostname ? { hostname: options.hostname } : {}),
    family: server.family,
    rto: options.rto ?? 100,
    rc: options.rc ?? 7,
    rm: options.rm ?? 4,
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  const local = client.address;
  // Bound to the wildcard address, "not natted" means the mapped address is one of ours.
  const ips = Deno.networkInterfaces().map((i) => i.address.replace(/%.*$/, ""));
  const d = new NatDiscovery(server, local, ips);
  const tests: { name: string; response: boolean }[] = [];
  for (let t = d.next(); t; t = d.next()) {
    let result: NatTestResult | undefined;
    try {
      const change = t.change;
      const res = await client.request(
        t.to,
        createMessage(
          StunMethod.Binding,
          StunClass.Request,
          change.changeIp || change.changePort ? [changeRequestAttribute(change)] : [],
        ),
      );
      if (res.class === StunClass.ErrorResponse) {
        throw new StunTransactionError(
          `NAT discovery test ${t.name}: the server answered with an error`,
          "error-response",
          res,
        );
      }
      const mapped = getAddress(res, StunAttr.XOR_MAPPED_ADDRESS) ??
        getAddress(res, StunAttr.MAPPED_ADDRESS);
      if (!mapped) {
        throw new StunTransactionError(
          "NAT discovery: response without a mapped address",
          "error-response",
          res,
        );
      }
      result = {
        mapped,
        changed: getAddress(res, StunAttr.CHANGED_ADDRESS) ?? getAddress(res, OTHER_ADDRESS),
      };
    } catch (e) {
      if (!(e instanceof StunTransactionError) || e.reason !== "timeout") throw e;
      result = undefined;
    }
    tests.push({ name: t.name, response: result !== undefined });
    log.debug("Test {name}: {result}", {
      name: t.name,
      result: result ? JSON.stringify(result) : "no response",
    });
    d.report(result);
  }
  return { type: d.type!, local, mapped: d.mapped, tests };
}
