// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * A DNS stub resolver (RFC 1035 §7) on sockets: {@linkcode DnsResolver}
 * queries over UDP (`node:dgram`, a fresh random source port and ID per
 * query), validates the source, ID and question of every response, retries,
 * falls back to TCP when a response is truncated and caches answers for their
 * TTL. It reads `/etc/resolv.conf` when no servers are given.
 *
 * The messages, the cache and the resolv.conf parser are the pure
 * `@rtclite/std/ietf/rfc1035`.
 *
 * @example Ask our own server
 * ```ts
 * import { DnsZone } from "@rtclite/std/ietf/rfc1035";
 * import { DnsResolver } from "@rtclite/std/ietf/rfc1035/resolver";
 * import { serveDns } from "@rtclite/std/ietf/rfc1035/server";
 * import { deepEqual } from "node:assert/strict";
 *
 * const zone = new DnsZone([{ name: "pbx.sip.test", type: "A", ttl: 60, data: "127.0.0.1" }]);
 * await using server = await serveDns({ zone, hostname: "127.0.0.1", port: 0 });
 * const resolver = new DnsResolver({ servers: [{ address: "127.0.0.1", port: server.port }] });
 * const answers = await resolver.resolve("pbx.sip.test", "A");
 * deepEqual(answers.map((rr) => rr.data), ["127.0.0.1"]);
 * ```
 *
 * @module
 */
import dgram from "node:dgram";
import { getLogger } from "../../log.ts";
import {
  decodeMessage,
  DnsCache,
  DnsError,
  type DnsMessage,
  DnsParseError,
  type DnsQuestion,
  type DnsRecord,
  encodeMessage,
  frameTcp,
  parseIp,
  parseResolvConf,
  type QuestionType,
  RCODE,
  rcodeName,
  type RecordType,
  sameName,
} from "./mod.ts";
import { readTcpMessages, writeAll } from "./_tcp.ts";

const log = getLogger("dns");

// === Stub resolver (RFC 1035 §7) ===

/** A name server address. */
export interface NameServer {
  /** IPv4 or IPv6 address (no host names). */
  address: string;
  /** Port (default 53). */
  port?: number;
}

/** Options for {@linkcode DnsResolver}. */
export interface ResolverOptions {
  /** Servers to ask, in order. Default: the `nameserver`s of `resolvConf`. */
  servers?: (NameServer | string)[];
  /** Path of the resolv.conf read when `servers` is absent (default `/etc/resolv.conf`). */
  resolvConf?: string;
  /** Search list (default: from resolv.conf when it is read, else none). */
  search?: string[];
  /** Dots needed to try a name as-is before the search list (default 1). */
  ndots?: number;
  /** Wait for one server in one round, ms (default 5000, or resolv.conf's). */
  timeout?: number;
  /** Rounds over the server list (default 2, or resolv.conf's). */
  attempts?: number;
  /** EDNS UDP payload size to advertise; 0 sends no OPT record (default 1232). */
  udpPayloadSize?: number;
  /** Response cache; `false` for none (default: a new {@linkcode DnsCache}). */
  cache?: DnsCache | false;
  /** Ask for recursion (default true). */
  recursionDesired?: boolean;
  /** Use TCP from the start (default false: UDP, TCP on truncation). */
  tcp?: boolean;
  /** Start each query at the next server in turn (default: resolv.conf's `rotate`, else false). */
  rotate?: boolean;
}

/** Options for one {@linkcode DnsResolver.query}. */
export interface QueryOptions {
  /** Query class (default IN). */
  class?: number;
  /** Skip the cache for this query. */
  noCache?: boolean;
  /** Abort the query. */
  signal?: AbortSignal;
}

function randomId(): number {
  return crypto.getRandomValues(new Uint16Array(1))[0]!;
}

function matchesQuestion(res: DnsMessage, q: DnsQuestion): boolean {
  const rq = res.questions[0];
  return res.questions.length === 1 && rq !== undefined && rq.type === q.type &&
    (rq.class ?? 1) === (q.class ?? 1) && sameName(rq.name, q.name);
}

/** Whether the text is the same address as `expected`, allowing v4-mapped forms. */
function sameAddress(got: string, expected: string): boolean {
  if (got === expected) return true;
  const a = parseIp(got.replace(/^::ffff:(?=\d+\.)/i, "")), b = parseIp(expected);
  return !!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A stub resolver: sends each query to the configured servers over UDP with a
 * random ID from a fresh socket (so a random source port), accepts only a
 * response from the server's address and port whose ID and question match,
 * retries over the servers, repeats a truncated query over TCP and caches
 * answers for their TTL.
 *
 * @example
 * ```ts
 * import { DnsZone } from "@rtclite/std/ietf/rfc1035";
 * import { DnsResolver } from "@rtclite/std/ietf/rfc1035/resolver";
 * import { serveDns } from "@rtclite/std/ietf/rfc1035/server";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const zone = new DnsZone([
 *   { name: "_sip._udp.sip.test", type: "SRV", ttl: 60,
 *     data: { priority: 10, weight: 0, port: 5060, target: "pbx.sip.test" } },
 * ]);
 * await using server = await serveDns({ zone, hostname: "127.0.0.1", port: 0 });
 * const resolver = new DnsResolver({ servers: [`127.0.0.1:${server.port}`] });
 * const [srv] = await resolver.resolve("_sip._udp.sip.test", "SRV");
 * equal(srv?.type, "SRV");
 * deepEqual(await resolver.resolve("nothing.sip.test", "A"), []);
 * ```
 */
// @implements RFC1035 §7.2
export class DnsResolver {
  #servers: Required<NameServer>[] | undefined;
  #opts: ResolverOptions;
  #search: string[] | undefined;
  #ndots: number | undefined;
  #timeout: number | undefined;
  #attempts: number | undefined;
  #cache: DnsCache | undefined;
  #conf: Promise<void> | undefined;
  #rotate: boolean | undefined;
  #turn = 0;

  /**
   * Creates a resolver; nothing is read or sent until the first query.
   *
   * @param options Servers and behaviour.
   */
  constructor(options: ResolverOptions = {}) {
    this.#opts = options;
    if (options.servers) this.#servers = options.servers.map(parseServer);
    this.#search = options.search?.map((d) => d.replace(/\.$/, ""));
    this.#ndots = options.ndots;
    this.#timeout = options.timeout;
    this.#attempts = options.attempts;
    this.#rotate = options.rotate;
    this.#cache = options.cache === false ? undefined : options.cache ?? new DnsCache();
  }

  async #config(): Promise<Required<NameServer>[]> {
    if (!this.#servers) {
      this.#conf ??= (async () => {
        const conf = parseResolvConf(
          await Deno.readTextFile(this.#opts.resolvConf ?? "/etc/resolv.conf").catch(() => ""),
        );
        this.#servers = (conf.nameservers.length ? conf.nameservers : ["127.0.0.1"]).map(
          parseServer,
        );
        this.#search ??= conf.search;
        this.#ndots ??= conf.ndots;
        this.#timeout ??= conf.timeout * 1000;
        this.#attempts ??= conf.attempts;
        this.#rotate ??= conf.rotate;
      })();
      await this.#conf;
    }
    return this.#servers!;
  }

  /**
   * Sends one query for a fully qualified name (no search list) and returns
   * the validated response, whatever its response code.
   *
   * @param name Domain name.
   * @param type Query type (default `A`).
   * @param options Class, cache bypass, abort signal.
   * @returns The response.
   * @throws {DnsError} When no server gave a valid response (`code` `"timeout"` or `"network"`).
   */
  async query(
    name: string,
    type: QuestionType = "A",
    options: QueryOptions = {},
  ): Promise<DnsMessage> {
    let servers = await this.#config();
    if (this.#rotate && servers.length > 1) {
      const k = this.#turn++ % servers.length;
      servers = [...servers.slice(k), ...servers.slice(0, k)];
    }
    const q: DnsQuestion = { name: name.replace(/\.$/, ""), type, class: options.class ?? 1 };
    if (!options.noCache) {
      const hit = this.#cache?.get(q.name, type, q.class);
      if (hit) return hit;
    }
    const attempts = this.#attempts ?? 2;
    const timeout = this.#timeout ?? 5000;
    let last: unknown;
    // @implements RFC1035 §4.2.1 ¶4-6
    for (let round = 0; round < attempts; round++) {
      for (const server of servers) {
        options.signal?.throwIfAborted();
        try {
          let res = this.#opts.tcp
            ? undefined
            : await this.#udp(server, q, timeout, options.signal, true);
          // @implements RFC6891 §6.2.2
          if (res && res.rcode === RCODE.FORMERR && !res.edns) {
            log.debug("FORMERR without OPT from {server}; retrying without EDNS", {
              server: server.address,
            });
            res = await this.#udp(server, q, timeout, options.signal, false);
          }
          // @implements RFC1035 §4.2.2
          if (!res || res.tc) {
            if (res) {
              log.debug("Truncated response for {name} {type}; retrying over TCP", {
                name: q.name,
                type: q.type,
              });
            }
            res = await this.#tcp(server, q, timeout, options.signal);
          }
          // A server that cannot or will not answer: try the next one.
          if (res.rcode === RCODE.SERVFAIL || res.rcode === RCODE.REFUSED) {
            last = new DnsError(
              `Cannot resolve ${q.name} ${type}: ${server.address} answered ${
                rcodeName(res.rcode)
              }`,
              rcodeName(res.rcode),
            );
            continue;
          }
          this.#cache?.put(res);
          return res;
        } catch (e) {
          if (options.signal?.aborted) throw e;
          last = e;
          log.debug("Query {name} {type} to {server} failed: {error}", {
            name: q.name,
            type,
            server: server.address,
            error: String(e),
          });
        }
      }
    }
    if (last instanceof DnsError) throw last;
    throw new DnsError(`Cannot resolve ${q.name} ${type}: ${String(last)}`, "network", {
      cause: last,
    });
  }

  // @implements RFC6891 §6.2.3, RFC6891 §6.2.5
  #request(q: DnsQuestion, id: number, edns = true): Uint8Array {
    const size = edns ? this.#opts.udpPayloadSize ?? 1232 : 0;
    return encodeMessage({
      id,
      rd: this.#opts.recursionDesired ?? true,
      questions: [q],
      ...(size > 0 ? { edns: { udpPayloadSize: size } } : {}),
    });
  }

  // @implements RFC1035 §7.3
  #udp(
    server: Required<NameServer>,
    q: DnsQuestion,
    timeout: number,
    signal: AbortSignal | undefined,
    edns: boolean,
  ): Promise<DnsMessage> {
    const id = randomId();
    const req = this.#request(q, id, edns);
    const family = server.address.includes(":") ? "udp6" : "udp4";
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket(family);
      let done = false;
      const finish = (err: unknown, res?: DnsMessage) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        try {
          sock.close();
        } catch { /* closed */ }
        if (err) reject(err);
        else resolve(res!);
      };
      const onAbort = () => finish(signal!.reason);
      signal?.addEventListener("abort", onAbort);
      const timer = setTimeout(
        () =>
          finish(
            new DnsError(
              `Cannot resolve ${q.name} ${q.type}: no response from ${server.address} in ${timeout} ms`,
              "timeout",
            ),
          ),
        timeout,
      );
      sock.on("error", (e) => finish(new DnsError(`UDP error: ${e.message}`, "network")));
      sock.on("message", (data: Uint8Array, rinfo: { address: string; port: number }) => {
        if (rinfo.port !== server.port || !sameAddress(rinfo.address, server.address)) {
          log.warn("Ignored DNS response from unexpected source {address}:{port}", rinfo);
          return;
        }
        let res: DnsMessage;
        try {
          res = decodeMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        } catch (e) {
          log.warn("Ignored undecodable DNS response: {error}", { error: String(e) });
          return;
        }
        if (res.id !== id || !res.qr) {
          log.warn("Ignored DNS response with wrong ID {got} (expected {id})", { got: res.id, id });
          return;
        }
        if (!(res.tc && res.questions.length === 0) && !matchesQuestion(res, q)) {
          log.warn("Ignored DNS response with a different question for {name}", {
            name: q.name,
          });
          return;
        }
        finish(undefined, res);
      });
      sock.bind(0, () => {
        sock.send(req, server.port, server.address, (err) => {
          if (err) finish(new DnsError(`UDP send failed: ${err.message}`, "network"));
        });
      });
    });
  }

  async #tcp(
    server: Required<NameServer>,
    q: DnsQuestion,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<DnsMessage> {
    const id = randomId();
    const req = this.#request(q, id);
    const conn = await connectWithin(server, timeout);
    const timer = setTimeout(() => conn.close(), timeout);
    const onAbort = () => conn.close();
    signal?.addEventListener("abort", onAbort);
    try {
      await writeAll(conn, frameTcp(req));
      let data: Uint8Array | undefined;
      for await (const m of readTcpMessages(conn)) {
        data = m;
        break;
      }
      if (!data) throw new DnsError(`Cannot resolve ${q.name}: TCP connection closed`, "network");
      const res = decodeMessage(data);
      if (res.id !== id || !res.qr || !matchesQuestion(res, q)) {
        throw new DnsError(`Cannot resolve ${q.name}: TCP response does not match`, "network");
      }
      return res;
    } catch (e) {
      if (e instanceof DnsError || e instanceof DnsParseError) throw e;
      throw new DnsError(
        `Cannot resolve ${q.name} ${q.type} over TCP to ${server.address}: ${String(e)}`,
        "network",
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }

  /**
   * Resolves a name to the records of one type: applies the search list and
   * `ndots` (RFC 1035 §7.1), follows the CNAME chain inside the answer, and
   * returns the records of the asked type. NXDOMAIN and "no data" give `[]`.
   *
   * @param name Domain name; a final dot skips the search list.
   * @param type Record type.
   * @param options Per-query options.
   * @returns The records, possibly empty.
   * @throws {DnsError} On timeout, network failure, or SERVFAIL/REFUSED from every server.
   */
  // @implements RFC1035 §7.1
  async resolve<T extends RecordType>(
    name: string,
    type: T,
    options: QueryOptions = {},
  ): Promise<Extract<DnsRecord, { type: T }>[]> {
    await this.#config();
    for (const candidate of this.candidates(name)) {
      let res = await this.query(candidate, type, options);
      if (res.rcode === RCODE.NXDOMAIN) continue;
      if (res.rcode !== RCODE.NOERROR) {
        throw new DnsError(
          `Cannot resolve ${candidate} ${type}: ${rcodeName(res.rcode)}`,
          rcodeName(res.rcode),
        );
      }
      let owner = candidate;
      for (let hops = 0;; hops++) {
        const { records, end } = follow(res, owner, type);
        if (records.length || end === undefined || hops >= 8) {
          return records as Extract<DnsRecord, { type: T }>[];
        }
        // The CNAME chain leaves this response: ask for its end.
        owner = end;
        res = await this.query(owner, type, options);
        if (res.rcode !== RCODE.NOERROR) return [];
      }
    }
    return [];
  }

  /**
   * The fully qualified names tried for `name`, in order.
   *
   * @param name As given by the user.
   * @returns Names without the final dot.
   */
  candidates(name: string): string[] {
    if (name.endsWith(".")) return [name.slice(0, -1)];
    const search = this.#search ?? [];
    const dots = name.split(".").length - 1;
    const withSearch = search.map((d) => `${name}.${d}`);
    return dots >= (this.#ndots ?? 1) ? [name, ...withSearch] : [...withSearch, name];
  }
}

/**
 * Answers of `type` for `name`, following CNAMEs inside the response (at
 * most 8); `end` is where the chain leaves the response without an answer.
 */
// @implements RFC1035 §3.3.1
function follow(
  res: DnsMessage,
  name: string,
  type: QuestionType,
): { records: DnsRecord[]; end?: string } {
  let owner = name;
  for (let hops = 0; hops < 8; hops++) {
    const hits = res.answers.filter((rr) => rr.type === type && sameName(rr.name, owner));
    if (hits.length || type === "CNAME") return { records: hits };
    const cname = res.answers.find((rr) => rr.type === "CNAME" && sameName(rr.name, owner));
    if (!cname) return hops === 0 ? { records: [] } : { records: [], end: owner };
    owner = cname.data as string;
  }
  return { records: [] };
}

function parseServer(s: NameServer | string): Required<NameServer> {
  if (typeof s !== "string") {
    if (!parseIp(s.address)) throw new TypeError(`Invalid name server address: ${s.address}`);
    return { address: s.address, port: s.port ?? 53 };
  }
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  const address = m ? m[1]! : s;
  const port = m?.[2] ? Number(m[2]) : 53;
  if (!parseIp(address) || port < 1 || port > 65535) {
    throw new TypeError(`Invalid name server: ${s} (use an IP address, optionally :port)`);
  }
  return { address, port };
}

async function connectWithin(server: Required<NameServer>, ms: number): Promise<Deno.Conn> {
  const connecting = Deno.connect({ hostname: server.address, port: server.port });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      connecting.then((c) => c.close(), () => {});
      reject(new DnsError(`TCP connect to ${server.address} timed out after ${ms} ms`, "timeout"));
    }, ms);
  });
  try {
    return await Promise.race([connecting, expired]);
  } finally {
    clearTimeout(timer);
  }
}
