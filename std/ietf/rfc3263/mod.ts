// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * Locating SIP servers (RFC 3263): NAPTR, SRV and A/AAAA lookups that turn
 * a SIP or SIPS URI into ordered transport targets.
 *
 * {@linkcode resolveSipTargets} returns every (transport, host, port,
 * address) to try, in order: NAPTR rules by order and preference, SRV records
 * by RFC 2782 priority and weighted choice, then each host's addresses.
 *
 * The DNS client is injected ({@linkcode SipDnsResolver}; the
 * {@linkcode https://jsr.io/@rtclite/std/doc/ietf/rfc1035/resolver | rfc1035/resolver}
 * `DnsResolver` fits), so the procedure is pure, runs anywhere and tests can
 * feed it a table. A request that fails at one target (a 503, a transport
 * error or timer B/F, RFC 3263 §4.3) moves on to the next target of the list.
 * The command line `std/ietf/rfc3263/main.ts` prints the targets of a URI.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc3263 | RFC 3263}.
 *
 * @example Resolve through NAPTR and SRV
 * ```ts
 * import { resolveSipTargets } from "@rtclite/std/ietf/rfc3263";
 * import type { DnsRecord } from "@rtclite/std/ietf/rfc1035";
 * import { deepEqual } from "node:assert/strict";
 *
 * const records: DnsRecord[] = [
 *   { name: "example.test", type: "NAPTR", ttl: 60, data: { order: 10, preference: 0,
 *     flags: "S", services: "SIP+D2T", regexp: "", replacement: "_sip._tcp.example.test" } },
 *   { name: "_sip._tcp.example.test", type: "SRV", ttl: 60,
 *     data: { priority: 0, weight: 0, port: 5070, target: "pbx.example.test" } },
 *   { name: "pbx.example.test", type: "A", ttl: 60, data: "192.0.2.10" },
 * ];
 * const resolver = {
 *   resolve: (name: string, type: string) =>
 *     Promise.resolve(records.filter((rr) => `${rr.name}.` === name && rr.type === type)),
 * };
 * deepEqual(await resolveSipTargets("sip:alice@example.test", { resolver }), [
 *   { transport: "tcp", host: "pbx.example.test", port: 5070, address: "192.0.2.10" },
 * ]);
 * ```
 *
 * @module
 */
// @implements RFC3263 (Locating SIP Servers)
import { type DnsRecord, parseIp, type SrvData } from "../rfc1035/mod.ts";
import { parseUri } from "../rfc2396/mod.ts";
import { getLogger } from "../../log.ts";

const log = getLogger("sip", "dns");

/** A SIP transport, named as in the URI `transport` parameter (plus `tls`, `tls-sctp`, `wss`). */
export type SipTransport = "udp" | "tcp" | "tls" | "sctp" | "tls-sctp" | "ws" | "wss";

/** One place to send a request: try them in order until one works. */
export interface SipTarget {
  /** Transport protocol. */
  transport: SipTransport;
  /** The host name the address belongs to (SRV target or URI host), or the address itself. */
  host: string;
  /** Port. */
  port: number;
  /** IPv4 or IPv6 address (no brackets). */
  address: string;
}

/** The parts of a SIP URI the procedure reads; an rfc2396 `Uri` fits. */
export interface SipUriLike {
  /** `sip` or `sips`. */
  scheme: string;
  /** Host: domain name, IPv4 address or bracketed IPv6 reference. */
  host: string;
  /** Explicit port, if any. */
  port?: number | undefined;
  /** URI parameters by lower-case name; `transport` and `maddr` are used. */
  params: ReadonlyMap<string, string | null>;
}

/** The lookups the procedure needs; `DnsResolver` from rfc1035/resolver fits. */
export interface SipDnsResolver {
  /**
   * Returns the records of one type for a name, `[]` when there are none.
   *
   * @param name Fully qualified domain name, with a final dot.
   * @param type Record type.
   */
  resolve(name: string, type: "NAPTR" | "SRV" | "A" | "AAAA"): Promise<DnsRecord[]>;
}

/** Options for {@linkcode resolveSipTargets}. */
export interface ResolveSipOptions {
  /** DNS client. */
  resolver: SipDnsResolver;
  /** Transports the client supports, most preferred first (default `udp`, `tcp`, `tls`). */
  transports?: SipTransport[];
  /** Address families to look up per host, in order (default `[4, 6]`: A, then AAAA). */
  families?: (4 | 6)[];
  /** Random numbers in [0, 1) for the SRV weighted choice (default `Math.random`). */
  random?: () => number;
}

const SECURE = new Set<SipTransport>(["tls", "tls-sctp", "wss"]);

/** NAPTR service field to transport (RFC 3263 §4.1, RFC 4168, RFC 7118). */
const NAPTR_SERVICES: Record<string, SipTransport> = {
  "SIP+D2U": "udp",
  "SIP+D2T": "tcp",
  "SIPS+D2T": "tls",
  "SIP+D2S": "sctp",
  "SIPS+D2S": "tls-sctp",
  "SIP+D2W": "ws",
  "SIPS+D2W": "wss",
};

/**
 * The SRV owner-name prefix for a transport: `_sip._udp`, `_sips._tcp`, ...
 *
 * @param transport A transport.
 * @returns Service and protocol labels.
 *
 * @example
 * ```ts
 * import { srvPrefix } from "@rtclite/std/ietf/rfc3263";
 * import { equal } from "node:assert/strict";
 *
 * equal(srvPrefix("tls"), "_sips._tcp");
 * equal(srvPrefix("udp"), "_sip._udp");
 * ```
 */
// @implements RFC3263 §4.2 ¶5
export function srvPrefix(transport: SipTransport): string {
  switch (transport) {
    case "udp":
      return "_sip._udp";
    case "tcp":
      return "_sip._tcp";
    case "tls":
      return "_sips._tcp";
    case "sctp":
      return "_sip._sctp";
    case "tls-sctp":
      return "_sips._sctp";
    case "ws":
      return "_sip._ws";
    case "wss":
      return "_sips._ws";
  }
}

/**
 * The default port of a transport: 5061 for TLS-based ones, else 5060.
 *
 * @param transport A transport.
 * @returns The port.
 *
 * @example
 * ```ts
 * import { defaultPort } from "@rtclite/std/ietf/rfc3263";
 * import { equal } from "node:assert/strict";
 *
 * equal(defaultPort("tls"), 5061);
 * ```
 */
export function defaultPort(transport: SipTransport): number {
  return SECURE.has(transport) ? 5061 : 5060;
}

/**
 * Orders SRV records as RFC 2782 says: by priority, lowest first, and within
 * a priority by repeated weighted random choice (zero weights first in the
 * running sum, so they are rarely chosen first). A single record with the
 * target `.` means the service is not available: the result is empty.
 *
 * @param records SRV data.
 * @param random Random numbers in [0, 1).
 * @returns The records in the order to try.
 *
 * @example
 * ```ts
 * import { orderSrv } from "@rtclite/std/ietf/rfc3263";
 * import { deepEqual } from "node:assert/strict";
 *
 * const srv = (priority: number, weight: number, target: string) =>
 *   ({ priority, weight, port: 5060, target });
 * const list = [srv(20, 0, "c"), srv(10, 1, "a"), srv(10, 3, "b")];
 * // random() = 0.5 picks from the running sums 1 (a), 4 (b) the first at least 2: b.
 * deepEqual(orderSrv(list, () => 0.5).map((r) => r.target), ["b", "a", "c"]);
 * ```
 */
// @implements RFC2782
export function orderSrv(
  records: readonly SrvData[],
  random: () => number = Math.random,
): SrvData[] {
  if (records.length === 1 && records[0]!.target === "") return [];
  const byPriority = new Map<number, SrvData[]>();
  for (const r of records) {
    if (r.target === "") continue;
    const list = byPriority.get(r.priority) ?? [];
    list.push(r);
    byPriority.set(r.priority, list);
  }
  const out: SrvData[] = [];
  for (const prio of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Zero-weight records first, so the running sum starts with them.
    const left = byPriority.get(prio)!.slice().sort((a, b) =>
      (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1)
    );
    while (left.length) {
      const total = left.reduce((s, r) => s + r.weight, 0);
      const pick = Math.min(total, Math.floor(random() * (total + 1)));
      let sum = 0;
      let i = 0;
      for (; i < left.length - 1; i++) {
        sum += left[i]!.weight;
        if (sum >= pick) break;
      }
      out.push(left.splice(i, 1)[0]!);
    }
  }
  return out;
}

function transportFromParam(param: string, secure: boolean): SipTransport | undefined {
  switch (param.toLowerCase()) {
    case "udp":
      return "udp";
    case "tcp":
      return secure ? "tls" : "tcp";
    case "tls":
      return "tls";
    case "sctp":
      return secure ? "tls-sctp" : "sctp";
    case "tls-sctp":
      return "tls-sctp";
    case "ws":
      return secure ? "wss" : "ws";
    case "wss":
      return "wss";
    default:
      return undefined;
  }
}

/** Thrown for a URI the procedure cannot use (not sip/sips, or an unknown transport). */
export class SipLocateError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "SipLocateError";
  }
}

/**
 * Runs the RFC 3263 client procedure for a SIP or SIPS URI and returns every
 * target in the order to try: the transport from the `transport` parameter,
 * the numeric host, the explicit port, or NAPTR records (SIPS URIs keep only
 * `SIPS+` services; services of unsupported transports are dropped); then
 * SRV records ordered by RFC 2782 (NAPTR rules in order, or, without NAPTR,
 * one SRV query per supported transport in the client's preference order);
 * then A/AAAA of each host. Without SRV records the URI host is used with the
 * default port and UDP (TCP with TLS for SIPS).
 *
 * DNS failures of NAPTR and SRV lookups count as "no records" and are logged;
 * an empty result means no server could be found.
 *
 * @param uri A `sip:`/`sips:` URI as text, or a parsed one (rfc2396 `Uri`).
 * @param options The resolver and the client's transports.
 * @returns The targets, most preferred first.
 * @throws {SipLocateError} For a URI that is not sip/sips or names an unknown transport.
 *
 * @example A numeric host needs no DNS
 * ```ts
 * import { resolveSipTargets } from "@rtclite/std/ietf/rfc3263";
 * import { deepEqual } from "node:assert/strict";
 *
 * const resolver = { resolve: () => Promise.reject(new RangeError("no DNS needed")) };
 * deepEqual(await resolveSipTargets("sips:bob@[2001:db8::5]", { resolver }), [
 *   { transport: "tls", host: "2001:db8::5", port: 5061, address: "2001:db8::5" },
 * ]);
 * ```
 */
// @implements RFC3263 §4
export async function resolveSipTargets(
  uri: string | SipUriLike,
  options: ResolveSipOptions,
): Promise<SipTarget[]> {
  const u = typeof uri === "string" ? parseUri(uri) : uri;
  const scheme = u.scheme.toLowerCase();
  if (scheme !== "sip" && scheme !== "sips") {
    throw new SipLocateError(`Cannot locate ${scheme}: URI: only sip and sips URIs are resolved`);
  }
  const secure = scheme === "sips";
  const supported = options.transports ?? ["udp", "tcp", "tls"];
  const random = options.random ?? Math.random;
  const dns = options.resolver;
  const maddr = u.params.get("maddr");
  const target = (maddr || u.host).replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
  const numeric = parseIp(target) !== undefined;
  const param = u.params.get("transport");
  let transport: SipTransport | undefined;
  // @implements RFC3263 §4.1 ¶2
  if (param) {
    transport = transportFromParam(param, secure);
    if (!transport) throw new SipLocateError(`Cannot locate ${target}: unknown transport ${param}`);
    if (secure && !SECURE.has(transport)) {
      throw new SipLocateError(`Cannot locate ${target}: a SIPS URI cannot use ${param}`);
    }
    // @implements RFC3263 §4.1 ¶3
  } else if (numeric || u.port !== undefined) {
    transport = secure ? "tls" : "udp";
  }
  // @implements RFC3263 §4.2 ¶2
  if (numeric) {
    return [{
      transport: transport!,
      host: target,
      port: u.port ?? defaultPort(transport!),
      address: target,
    }];
  }
  // @implements RFC3263 §4.2 ¶3-4
  if (u.port !== undefined) return await addresses(dns, target, transport!, u.port, options);

  // Each entry: a transport and the SRV owner to look up for it.
  let plan: { transport: SipTransport; srv: string }[];
  if (transport) {
    plan = [{ transport, srv: `${srvPrefix(transport)}.${target}` }];
  } else {
    // @implements RFC3263 §4.1 ¶4-5
    const naptr = (await lookup(dns, target, "NAPTR")).flatMap((rr) =>
      rr.type === "NAPTR" ? [rr.data] : []
    );
    plan = naptr
      .filter((n) => n.flags.toUpperCase() === "S")
      .map((n) => ({ n, t: NAPTR_SERVICES[n.services.toUpperCase()] }))
      // @implements RFC3263 §4.1 ¶6
      .filter(({ t }) => t !== undefined && supported.includes(t) && (!secure || SECURE.has(t)))
      .sort((a, b) => a.n.order - b.n.order || a.n.preference - b.n.preference)
      .map(({ n, t }) => ({ transport: t!, srv: n.replacement }));
    if (plan.length === 0) {
      // @implements RFC3263 §4.1 ¶15
      plan = supported
        .filter((t) => secure === SECURE.has(t))
        .map((t) => ({ transport: t, srv: `${srvPrefix(t)}.${target}` }));
    }
  }
  // @implements RFC3263 §4.2 ¶5
  const out: SipTarget[] = [];
  let srvFound = false; // a lone "." target also counts: the service is not offered
  for (const step of plan) {
    const srv = (await lookup(dns, step.srv, "SRV")).flatMap((rr) =>
      rr.type === "SRV" ? [rr.data] : []
    );
    if (srv.length) srvFound = true;
    for (const s of orderSrv(srv, random)) {
      out.push(...await addresses(dns, s.target, step.transport, s.port, options));
    }
  }
  if (out.length || srvFound) return dedupe(out);
  // @implements RFC3263 §4.1 ¶17, RFC3263 §4.2 ¶6
  transport ??= secure ? "tls" : supported.includes("udp") ? "udp" : "tcp";
  return await addresses(dns, target, transport, defaultPort(transport), options);
}

function dedupe(list: SipTarget[]): SipTarget[] {
  const seen = new Set<string>();
  return list.filter((t) => {
    const key = `${t.transport}|${t.address}|${t.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function lookup(
  dns: SipDnsResolver,
  name: string,
  type: "NAPTR" | "SRV" | "A" | "AAAA",
): Promise<DnsRecord[]> {
  try {
    return await dns.resolve(name.replace(/\.?$/, "."), type);
  } catch (e) {
    log.warn("DNS {type} lookup for {name} failed: {error}", { type, name, error: String(e) });
    return [];
  }
}

async function addresses(
  dns: SipDnsResolver,
  host: string,
  transport: SipTransport,
  port: number,
  options: ResolveSipOptions,
): Promise<SipTarget[]> {
  host = host.replace(/\.$/, "");
  if (parseIp(host)) return [{ transport, host, port, address: host }];
  const out: SipTarget[] = [];
  for (const family of options.families ?? [4, 6]) {
    for (const rr of await lookup(dns, host, family === 4 ? "A" : "AAAA")) {
      if (rr.type === "A" || rr.type === "AAAA") {
        out.push({ transport, host, port, address: rr.data });
      }
    }
  }
  return out;
}
