// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The SIP endpoint: binds transports to the transaction layer, matches
 * messages to transactions, stamps Via received/rport (RFC 3581), routes
 * responses (§18.2.2) and resolves request targets (§8.1.2), with RFC 3263
 * NAPTR/SRV location and failover when given a DNS client.
 *
 * Part of `@rtclite/std/ietf/rfc3261`, which re-exports it.
 *
 * @example Sans-I/O: an endpoint over an in-memory transport
 * ```ts
 * import { ManualClock, SipEndpoint, SipMessage, type SipTransport } from "@rtclite/std/ietf/rfc3261";
 * import { equal, match } from "node:assert/strict";
 *
 * const sent: string[] = [];
 * const transport: SipTransport = {
 *   name: "UDP", reliable: false, host: "192.0.2.1", port: 5060, onMessage: () => {},
 *   send: (bytes) => (sent.push(new TextDecoder().decode(bytes)), Promise.resolve()),
 *   close: () => Promise.resolve(),
 * };
 * const clock = new ManualClock();
 * const ep = new SipEndpoint({ transports: [transport], clock });
 * const req = new SipMessage({ method: "OPTIONS", uri: "sip:192.0.2.2" });
 * req.add("From", "<sip:a@192.0.2.1>;tag=1").add("To", "<sip:b@192.0.2.2>")
 *   .add("Call-ID", "c1").add("CSeq", "1 OPTIONS").add("Max-Forwards", "70");
 * await ep.request(req);
 * match(sent[0]!, /^Via: SIP\/2\.0\/UDP 192\.0\.2\.1:5060;branch=z9hG4bK/m);
 * clock.advance(500); // Timer E: retransmitted
 * equal(sent.length, 2);
 * await ep.close();
 * ```
 *
 * @module
 */
import { parseUri, type Uri, uriPort } from "../rfc2396/mod.ts";
import { getLogger } from "../../log.ts";
import {
  createResponse,
  formatVia,
  parseVia,
  type SipMessage,
  SipParseError,
  splitList,
  validateMessage,
  type Via,
} from "./message.ts";
import {
  clientTransactionKey,
  type Clock,
  DEFAULT_TIMERS,
  InviteClientTransaction,
  InviteServerTransaction,
  MAGIC_COOKIE,
  NonInviteClientTransaction,
  NonInviteServerTransaction,
  realClock,
  serverTransactionKey,
  type TimerValues,
} from "./transaction.ts";
import { resolveSipTargets, type SipDnsResolver, SipLocateError } from "../rfc3263/mod.ts";

const log = getLogger("sip", "endpoint");

// === Transports, as the endpoint sees them (RFC 3261 §18) ===

/** Transport names as they appear in Via (upper case). */
export type TransportName = "UDP" | "TCP" | "TLS" | "WS" | "WSS";

/** Where a message came from. */
export interface SipSource {
  /** The transport that received it. */
  transport: SipTransport;
  /** Remote address. */
  host: string;
  /** Remote port. */
  port: number;
  /** The connection, for stream transports. */
  connection?: SipConnection;
}

/** A connection of a stream transport. */
export interface SipConnection {
  /** Remote address. */
  readonly host: string;
  /** Remote port. */
  readonly port: number;
  /** Whether the connection is still open. */
  readonly open: boolean;
  /** Writes bytes. */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the connection. */
  close(): void;
}

/** A transport adapter the endpoint sends and receives through. */
export interface SipTransport {
  /** Transport name used in Via. */
  readonly name: TransportName;
  /** Whether the transport is reliable (no retransmissions, §17). */
  readonly reliable: boolean;
  /** Local address the transport is bound to. */
  readonly host: string;
  /** Local port. */
  readonly port: number;
  /** Called with every message received. */
  onMessage: (m: SipMessage, source: SipSource) => void;
  /**
   * Sends bytes to a remote address; stream transports reuse an open
   * connection to that address or open one (§18.1.1, §18.2.2).
   */
  send(bytes: Uint8Array, host: string, port: number, connection?: SipConnection): Promise<void>;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
  /**
   * The platform's host-name lookup (the socket adapters use DNS A
   * records); the endpoint uses it when its options give no `resolve`.
   * Absent: only IP literals and `localhost` are resolved.
   */
  resolveHost?: (host: string) => Promise<string[]>;
  /**
   * Makes `connection` the one that messages to `host:port` use (a flow,
   * RFC 5626 §5.2): called by a registrar for the contact a registration
   * made over that connection. Stream transports associate connections
   * only this way, never from a Via claim.
   */
  associate?(connection: SipConnection, host: string, port: number): void;
}

/** A transport could not deliver a message (no connection to the destination). */
export class SipTransportError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed.
   */
  constructor(message: string) {
    super(message);
    this.name = "SipTransportError";
  }
}

/** The methods the user-agent and proxy cores advertise in Allow. */
export const ALLOW =
  "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, INFO, UPDATE, REFER, SUBSCRIBE, NOTIFY, PRACK";

// === The endpoint ===

/** A client transaction of either kind. */
export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
/** A server transaction of either kind. */
export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;

/** Where to send a request. */
export interface SipTarget {
  /** Transport name. */
  transport: TransportName;
  /** Address (IP or name). */
  host: string;
  /** Port. */
  port: number;
}

/** A request delivered to the transaction user (UA core or proxy core). */
export interface IncomingRequest {
  /** The request. */
  request: SipMessage;
  /** Where it came from. */
  source: SipSource;
  /** Its server transaction; `undefined` for ACK (and for a CANCEL's INVITE, see `cancelled`). */
  transaction: ServerTransaction | undefined;
  /** For a CANCEL: the INVITE server transaction it cancels, when one matches. */
  cancelled?: InviteServerTransaction;
}

/** Callbacks of a request sent through {@linkcode SipEndpoint.request}. */
export interface RequestCallbacks {
  /** Each response received (provisional and final). */
  onResponse?: (r: SipMessage) => void;
  /** Timeout or transport failure; a 408/503 is also delivered to `onResponse`. */
  onFailure?: (why: "timeout" | "transport") => void;
  /** Send to this target instead of resolving Route/Request-URI. */
  target?: SipTarget;
}

/** Options of {@linkcode SipEndpoint}. */
export interface SipEndpointOptions {
  /** Transports to receive on and send through (at least one). */
  transports: SipTransport[];
  /** Receives requests that are not retransmissions. */
  onRequest?: (r: IncomingRequest) => void;
  /** Receives responses that match no client transaction (e.g. 2xx retransmissions). */
  onStrayResponse?: (r: SipMessage, source: SipSource) => void;
  /** Clock; default real time. */
  clock?: Clock;
  /** Timer values; default RFC 3261 Table 4. */
  timers?: TimerValues;
  /** Host to put in Via and Contact when a transport is bound to a wildcard address. */
  advertisedHost?: string;
  /** Observes every message sent and received (for traces and ladder diagrams). */
  onTrace?: (event: SipTraceEvent) => void;
  /** Create no server transactions (a stateless proxy, §16.11); default false. */
  stateless?: boolean;
  /**
   * Resolves a host name to addresses; default: IP literals as they are,
   * `localhost`, then the first transport's {@linkcode SipTransport.resolveHost}.
   */
  resolve?: (host: string) => Promise<string[]>;
  /**
   * DNS client for RFC 3263 server location (NAPTR, SRV, A/AAAA; the rfc1035
   * `DnsResolver` fits). Without it, host names go through `resolve` and
   * there is no failover; IP literals and `localhost` never use DNS.
   */
  dns?: DnsLookup;
  /**
   * Where responses go: `"source"` (default) answers the address and port
   * the request came from (RFC 3581 §4 symmetric response), so that a Via
   * `maddr`, sent-by or `received` claim cannot aim responses at a third
   * party; `"via"` follows RFC 3261 §18.2.2 (maddr, then received, then
   * sent-by).
   */
  responseRouting?: "source" | "via";
  /**
   * Most live transactions, client and server, including completed ones
   * that wait for retransmissions (default 100000); beyond, new requests get 503.
   */
  maxTransactions?: number;
  /** Most live server transactions of one source address (default 50000); beyond, 503. */
  maxTransactionsPerSource?: number;
  /**
   * Most server transactions of one source address still without a final
   * response (default 500): these hold the whole request, and a proxy's
   * branches (a callee that rings for minutes); beyond, 503.
   */
  maxPendingPerSource?: number;
  /** Seconds in the Retry-After of those 503 responses (default 5). */
  retryAfter?: number;
  /**
   * Most Timer G retransmissions of a final response to an address that has
   * not proved it receives this endpoint's messages (default 2). An address
   * is verified once it answered one of this endpoint's requests, or
   * through {@linkcode SipEndpoint.verify} (e.g. after digest authentication).
   */
  unverifiedRetransmits?: number;
}

/**
 * The size above which a request goes over a congestion-controlled transport
 * when the path MTU is unknown (RFC 3261 §18.1.1): 1300 bytes.
 */
export const UDP_SIZE_LIMIT = 1300;

/**
 * The DNS client {@linkcode SipEndpoint} needs for RFC 3263: the shape of
 * rfc3263's `SipDnsResolver`, which the rfc1035 `DnsResolver` has.
 */
export interface DnsLookup {
  /**
   * Returns the records of one type for a name (rfc1035 `DnsRecord`s), `[]` when there are none.
   *
   * @param name Fully qualified domain name, with a final dot.
   * @param type Record type.
   */
  resolve(name: string, type: "NAPTR" | "SRV" | "A" | "AAAA"): Promise<readonly object[]>;
}

/** A message seen by {@linkcode SipEndpointOptions.onTrace}. */
export interface SipTraceEvent {
  /** Received or sent. */
  direction: "in" | "out";
  /** The message. */
  message: SipMessage;
  /** The local transport. */
  transport: SipTransport;
  /** Remote address. */
  host: string;
  /** Remote port. */
  port: number;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Makes a fresh RFC 3261 branch (`z9hG4bK` and 16 random hex digits).
 *
 * @returns The branch.
 */
export function newBranch(): string {
  return MAGIC_COOKIE + randomToken(8);
}

/**
 * Random hex text, for tags, Call-IDs and branches (RFC 3261 §19.3).
 *
 * @param bytes Number of random bytes.
 * @returns Lower-case hex.
 */
export function randomToken(bytes = 8): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const x of b) s += (x < 16 ? "0" : "") + x.toString(16);
  return s;
}

/**
 * Where a response goes (RFC 3261 §18.2.2 with RFC 3581 §4): the top Via's
 * maddr, else `received` and `rport` (or the sent-by port), else sent-by.
 *
 * @param via The top Via of the response.
 * @returns Address and port.
 *
 * @example
 * ```ts
 * import { parseVia, responseAddress } from "@rtclite/std/ietf/rfc3261";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(
 *   responseAddress(parseVia("SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;received=192.0.2.4;rport=9999")),
 *   { host: "192.0.2.4", port: 9999 },
 * );
 * ```
 */
// @implements RFC3261 §18.2.2
export function responseAddress(via: Via): { host: string; port: number } {
  const dflt = via.transport === "TLS" || via.transport === "WSS" ? 5061 : 5060;
  if (via.params.maddr) return { host: via.params.maddr, port: via.port ?? dflt };
  const rport = via.params.rport ? +via.params.rport : undefined;
  const host = via.params.received ?? via.host;
  return { host, port: rport ?? via.port ?? dflt };
}

/**
 * The SIP endpoint: transports below, transactions in the middle, a
 * transaction user (UA or proxy core) above.
 *
 * @example Send OPTIONS from one endpoint to another on 127.0.0.1
 * ```ts
 * import { createResponse, SipEndpoint, SipMessage } from "@rtclite/std/ietf/rfc3261";
 * import { UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
 * import { equal } from "node:assert/strict";
 *
 * const server = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
 * server.onRequest = ({ request, transaction }) => transaction?.respond(createResponse(request, 200));
 * const client = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
 * const req = new SipMessage({ method: "OPTIONS", uri: `sip:127.0.0.1:${server.transports[0]!.port}` });
 * req.add("From", "<sip:a@127.0.0.1>;tag=1").add("To", "<sip:b@127.0.0.1>")
 *   .add("Call-ID", "c1").add("CSeq", "1 OPTIONS").add("Max-Forwards", "70");
 * const done = Promise.withResolvers<number>();
 * await client.request(req, { onResponse: (r) => done.resolve(r.status) });
 * equal(await done.promise, 200);
 * await client.close();
 * await server.close();
 * ```
 */
export class SipEndpoint {
  /** The transports. */
  readonly transports: SipTransport[];
  /** Transaction user for new requests. */
  onRequest: (r: IncomingRequest) => void;
  /** Transaction user for stray responses. */
  onStrayResponse: (r: SipMessage, source: SipSource) => void;
  /** The clock. */
  readonly clock: Clock;
  /** Timer values. */
  readonly timers: TimerValues;
  #clients = new Map<string, ClientTransaction>();
  #servers = new Map<string, ServerTransaction>();
  #advertised: string | undefined;
  #resolve: (host: string) => Promise<string[]>;
  #dns: SipDnsResolver | undefined;
  #sent = new WeakMap<SipMessage, SipTarget>();
  #stateless: boolean;
  #trace: ((event: SipTraceEvent) => void) | undefined;
  #routing: "source" | "via";
  #maxTx: number;
  #maxPerSource: number;
  #maxPending: number;
  #pending = new Map<string, number>();
  #retryAfter: number;
  #unverifiedRetransmits: number;
  #perSource = new Map<string, number>();
  #verified = new Set<string>();

  /**
   * Creates the endpoint and attaches it to its transports.
   *
   * @param options Transports, callbacks, clock and timers.
   */
  constructor(options: SipEndpointOptions) {
    this.transports = options.transports;
    this.onRequest = options.onRequest ?? (() => {});
    this.onStrayResponse = options.onStrayResponse ?? (() => {});
    this.clock = options.clock ?? realClock;
    this.timers = options.timers ?? DEFAULT_TIMERS;
    this.#advertised = options.advertisedHost;
    const lookup = this.transports.find((t) => t.resolveHost)?.resolveHost;
    this.#resolve = options.resolve ?? ((host) => resolveLiteral(host, lookup));
    // The records a DnsLookup returns are rfc1035 DnsRecords (kept out of this API's types).
    this.#dns = options.dns as SipDnsResolver | undefined;
    this.#stateless = options.stateless ?? false;
    this.#trace = options.onTrace;
    this.#routing = options.responseRouting ?? "source";
    this.#maxTx = options.maxTransactions ?? 100_000;
    this.#maxPerSource = options.maxTransactionsPerSource ?? 50_000;
    this.#maxPending = options.maxPendingPerSource ?? 500;
    this.#retryAfter = options.retryAfter ?? 5;
    this.#unverifiedRetransmits = options.unverifiedRetransmits ?? 2;
    for (const t of this.transports) t.onMessage = (m, src) => this.receive(m, src);
  }

  /**
   * Marks an address as verified: it receives what is sent to it, so final
   * responses to it are retransmitted until Timer H (see
   * {@linkcode SipEndpointOptions.unverifiedRetransmits}). The set keeps the
   * 10,000 most recent addresses.
   *
   * @param host The remote IP address.
   */
  verify(host: string): void {
    this.#verified.delete(host);
    this.#verified.add(host);
    if (this.#verified.size > 10_000) {
      this.#verified.delete(this.#verified.values().next().value!);
    }
  }

  /**
   * Whether an address was verified (see {@linkcode SipEndpoint.verify}).
   *
   * @param host The remote IP address.
   * @returns `true` when verified.
   */
  isVerified(host: string): boolean {
    return this.#verified.has(host);
  }

  /** Number of live client and server transactions. */
  get transactionCount(): { client: number; server: number } {
    return { client: this.#clients.size, server: this.#servers.size };
  }

  /**
   * The host to advertise for a transport (Via, Contact, Record-Route).
   *
   * @param t The transport.
   * @returns Address text, IPv6 in brackets.
   */
  hostFor(t: SipTransport): string {
    let h = t.host;
    if (this.#advertised && (h === "0.0.0.0" || h === "::")) h = this.#advertised;
    return h.includes(":") ? `[${h}]` : h;
  }

  /**
   * A transport by name (first match), or the first transport.
   *
   * @param name Transport name.
   * @returns The transport, or `undefined`.
   */
  transport(name?: TransportName): SipTransport | undefined {
    if (!name) return this.transports[0];
    return this.transports.find((t) => t.name === name);
  }

  // === Receiving (RFC 3261 §18.2.1, §18.1.2, §17.1.3, §17.2.3) ===

  /**
   * Processes a message from a transport (called by the transports).
   *
   * @param m The message.
   * @param source Where it came from.
   */
  receive(m: SipMessage, source: SipSource): void {
    this.#trace?.({
      direction: "in",
      message: m,
      transport: source.transport,
      host: source.host,
      port: source.port,
    });
    if (m.isRequest) this.#receiveRequest(m, source);
    else this.#receiveResponse(m, source);
  }

  #receiveResponse(r: SipMessage, source: SipSource): void {
    let key: string;
    try {
      key = clientTransactionKey(r);
    } catch (e) {
      log.debug("Dropped unparsable response: {error}", { error: String(e) });
      return;
    }
    const tx = this.#clients.get(key);
    if (tx) {
      // It answered a branch we made up: it receives what we send.
      if (!this.#verified.has(source.host)) this.verify(source.host);
      tx.receive(r);
    } else this.onStrayResponse(r, source);
  }

  #receiveRequest(m: SipMessage, source: SipSource): void {
    // @implements RFC3261 §18.2.1 ¶3, RFC3581 §4
    try {
      this.#stampVia(m, source);
    } catch { /* a bad Via is reported by validateMessage */ }
    try {
      validateMessage(m);
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      log.debug("Rejecting malformed {method} from {host}: {error}", {
        method: m.method,
        host: source.host,
        error: e.message,
      });
      if (m.method !== "ACK") this.#rejectStateless(m, source, e.status, e.message);
      return;
    }
    let key: string;
    try {
      key = serverTransactionKey(m);
    } catch (e) {
      log.debug("Dropped request without transaction key: {error}", { error: String(e) });
      return;
    }
    const found = this.#servers.get(key);
    if (found && !(m.method === "ACK" && found.state === "accepted")) {
      found.receive(m);
      return;
    }
    if (m.method === "ACK" || this.#stateless) {
      this.onRequest({ request: m, source, transaction: undefined });
      return;
    }
    // Bounded state: one source cannot hold more than its share of transactions.
    if (
      this.#clients.size + this.#servers.size >= this.#maxTx ||
      (this.#perSource.get(source.host) ?? 0) >= this.#maxPerSource ||
      (this.#pending.get(source.host) ?? 0) >= this.#maxPending
    ) {
      log.debug("Too many transactions; 503 to {host}", { host: source.host });
      this.#rejectStateless(m, source, 503, "", [["Retry-After", String(this.#retryAfter)]]);
      return;
    }
    const tx = this.#newServer(m, source, key);
    const incoming: IncomingRequest = { request: m, source, transaction: tx };
    if (m.method === "CANCEL") {
      // @implements RFC3261 §9.2 ¶3
      const inv = this.#servers.get(serverTransactionKey(m, "INVITE"));
      if (inv instanceof InviteServerTransaction) incoming.cancelled = inv;
    }
    this.onRequest(incoming);
  }

  #rejectStateless(
    m: SipMessage,
    source: SipSource,
    status: number,
    why: string,
    headers: [string, string][] = [],
  ): void {
    try {
      const vias = m.values("Via");
      if (vias.length === 0) return;
      const r = createResponse(m, status, {
        toTag: randomToken(4),
        headers: headers.map(([name, value]) => ({ name, value })),
      });
      if (status === 400) {
        r.reason = "Bad Request (" + why.replace(/[\r\n]/g, " ").slice(0, 80) + ")";
      }
      this.sendResponse(r, source);
    } catch (e) {
      log.debug("Could not answer malformed request: {error}", { error: String(e) });
    }
  }

  #stampVia(m: SipMessage, source: SipSource): void {
    const i = m.headers.findIndex((h) => h.name === "Via");
    if (i < 0) return;
    const h = m.headers[i]!;
    const parts = splitList(h.value);
    const via = parseVia(parts[0]!);
    const hasRport = "rport" in via.params;
    if (via.host === source.host && !hasRport) return;
    via.params.received = source.host;
    if (hasRport) via.params.rport = String(source.port);
    parts[0] = formatVia(via);
    h.value = parts.join(", ");
  }

  #newServer(m: SipMessage, source: SipSource, key: string): ServerTransaction {
    const reliable = source.transport.reliable;
    const host = source.host;
    const count = (map: Map<string, number>, d: number) => {
      const n = (map.get(host) ?? 0) + d;
      if (n > 0) map.set(host, n);
      else map.delete(host);
    };
    count(this.#perSource, 1);
    count(this.#pending, 1);
    let pending = true;
    const answered = () => {
      if (!pending) return;
      pending = false;
      count(this.#pending, -1);
    };
    const send = (r: SipMessage) => {
      if (r.status >= 200) answered();
      this.sendResponse(r, source);
    };
    const onTerminated = () => {
      if (this.#servers.get(key) === tx) this.#servers.delete(key);
      answered();
      count(this.#perSource, -1);
    };
    const common = {
      send,
      reliable,
      clock: this.clock,
      timers: this.timers,
      onTerminated,
      ...(this.#verified.has(host) ? {} : { maxRetransmits: this.#unverifiedRetransmits }),
    };
    const tx = m.method === "INVITE"
      ? new InviteServerTransaction(m, common)
      : new NonInviteServerTransaction(m, common);
    this.#servers.set(key, tx);
    return tx;
  }

  // === Sending responses (RFC 3261 §18.2.2) ===

  /**
   * Sends a response statelessly to where its top Via says (§18.2.2),
   * preferring the connection the request came on.
   *
   * @param r The response.
   * @param source Where the request came from (its transport and connection).
   */
  sendResponse(r: SipMessage, source?: SipSource): void {
    let via: Via;
    try {
      via = parseVia(r.values("Via")[0] ?? "");
    } catch {
      log.debug("Cannot send response without a valid Via");
      return;
    }
    const t = source?.transport ?? this.transport(via.transport as TransportName) ??
      this.transports[0]!;
    if (source && this.#routing === "source") {
      // @implements RFC3581 §4
      return this.#write(t, r, source.host, source.port, source.connection);
    }
    if (this.#routing === "source") delete via.params.maddr;
    const { host, port } = responseAddress(via);
    this.#write(t, r, host, port, source?.connection);
  }

  #write(
    t: SipTransport,
    m: SipMessage,
    host: string,
    port: number,
    connection?: SipConnection,
    onError?: () => void,
  ): void {
    this.#trace?.({ direction: "out", message: m, transport: t, host, port });
    t.send(m.toBytes(), host, port, connection).catch((e) => {
      log.debug("Send to {host}:{port} failed: {error}", { host, port, error: String(e) });
      onError?.();
    });
  }

  // === Sending requests (RFC 3261 §8.1.2, §18.1.1) ===

  /**
   * Where a request goes: the first Route when it is a loose router,
   * else the Request-URI (§8.1.2, §12.2.1.1), with `transport` and `maddr`
   * parameters honoured and host names resolved. With a `dns` resolver this
   * is the first of {@linkcode SipEndpoint.targets}.
   *
   * @param m The request.
   * @returns The target.
   */
  // @implements RFC3261 §8.1.2
  async target(m: SipMessage): Promise<SipTarget> {
    return (await this.targets(m))[0]!;
  }

  /**
   * Every target to try for a request, in order (RFC 3263 §4 when the
   * endpoint has a `dns` resolver; otherwise a single target).
   *
   * @param m The request.
   * @returns The targets, most preferred first (never empty).
   * @throws {SipLocateError} When no target can be found.
   */
  async targets(m: SipMessage): Promise<SipTarget[]> {
    const route = m.addresses("Route")[0];
    const uri = parseUri(route ? route.uri : m.uri!);
    return await this.uriTargets(uri);
  }

  /**
   * The target for a URI (transport parameter, sips, maddr, port).
   *
   * @param uri A SIP or SIPS URI.
   * @returns The target.
   */
  async uriTarget(uri: Uri): Promise<SipTarget> {
    return (await this.uriTargets(uri))[0]!;
  }

  /**
   * Every target for a URI, in the order to try them: with a `dns` resolver
   * and a host name (not an IP literal or `localhost`), the RFC 3263
   * procedure (NAPTR, SRV, A/AAAA) restricted to this endpoint's transports;
   * otherwise the URI's transport parameter (or sips), maddr, host and port.
   *
   * @param uri A SIP or SIPS URI.
   * @returns The targets (never empty).
   * @throws {SipLocateError} When no target can be found.
   */
  // @implements RFC3263 §4
  async uriTargets(uri: Uri): Promise<SipTarget[]> {
    let host = uri.params.get("maddr") ?? uri.host;
    if (host.startsWith("[")) host = host.slice(1, -1);
    const literal = IPV4.test(host) || host.includes(":") || host === "localhost";
    if (this.#dns && !literal) {
      const names = [...new Set(this.transports.map((t) => t.name))];
      const found = await resolveSipTargets(uri, {
        resolver: this.#dns,
        transports: names.map((n) => n.toLowerCase() as Lowercase<TransportName>),
      });
      const list: SipTarget[] = [];
      for (const f of found) {
        const name = f.transport.toUpperCase() as TransportName;
        if (names.includes(name)) list.push({ transport: name, host: f.address, port: f.port });
      }
      if (list.length === 0) throw new SipLocateError(`Cannot locate a SIP server for ${host}`);
      return list;
    }
    const tp = uri.params.get("transport")?.toUpperCase();
    let transport: TransportName = uri.scheme === "sips"
      ? "TLS"
      : tp === "TCP" || tp === "TLS" || tp === "WS" || tp === "WSS"
      ? tp
      : "UDP";
    if (!this.transport(transport)) transport = this.transports[0]!.name;
    const addrs = await this.#resolve(host);
    if (addrs.length === 0) throw new SipLocateError(`Cannot resolve ${host}`);
    return [{ transport, host: addrs[0]!, port: uriPort(uri) }];
  }

  /**
   * Where the endpoint last sent a request (after any failover), so that a
   * CANCEL can follow its INVITE (§9.1).
   *
   * @param m A request sent with {@linkcode SipEndpoint.request}.
   * @returns The target, or `undefined` when `m` was not sent here.
   */
  sentTarget(m: SipMessage): SipTarget | undefined {
    return this.#sent.get(m);
  }

  /**
   * Sends a request in a new client transaction. A top Via with a fresh
   * branch and `rport` is added (§8.1.1.7, RFC 3581 §3); ACK is sent
   * without a transaction. When there are several targets (RFC 3263), a
   * transport error, a timeout or a 503 moves the request to the next one
   * in a new transaction (RFC 3263 §4.3).
   *
   * @param m The request (without the endpoint's own Via).
   * @param callbacks Response and failure callbacks, optional fixed target.
   * @returns The client transaction (`undefined` for ACK); after a failover
   *   the request continues in a new one.
   */
  async request(
    m: SipMessage,
    callbacks: RequestCallbacks = {},
  ): Promise<ClientTransaction | undefined> {
    const targets = callbacks.target ? [callbacks.target] : await this.targets(m);
    return this.#attempt(m, targets, 0, callbacks);
  }

  #attempt(
    m: SipMessage,
    targets: SipTarget[],
    i: number,
    callbacks: RequestCallbacks,
  ): ClientTransaction | undefined {
    const target = this.#congestionSafe(targets[i]!, m.toBytes().length + 100);
    this.#sent.set(m, target);
    const t = this.transport(target.transport) ?? this.transports[0]!;
    if (i > 0) m.popVia();
    const branch = m.method === "ACK" && m.has("Via") ? undefined : newBranch();
    if (branch !== undefined || !m.has("Via")) {
      m.add(
        "Via",
        `SIP/2.0/${t.name} ${this.hostFor(t)}:${t.port};branch=${branch ?? newBranch()};rport`,
        true,
      );
    }
    if (!m.has("Max-Forwards")) m.add("Max-Forwards", "70");
    if (m.method === "ACK") {
      this.#write(t, m, target.host, target.port);
      return undefined;
    }
    let tx: ClientTransaction | undefined = undefined;
    const send = (x: SipMessage) =>
      this.#write(t, x, target.host, target.port, undefined, () => tx?.transportError());
    if (i + 1 >= targets.length) {
      tx = this.#newClient(m, send, t.reliable, callbacks);
      return tx;
    }
    // @implements RFC3263 §4.3 ¶2
    let failedOver = false;
    let answered = false;
    const failover = (why: string) => {
      failedOver = true;
      const next = targets[i + 1]!;
      log.info("{method} to {host}:{port} failed ({why}); trying {next}:{nextPort}", {
        method: m.method,
        host: target.host,
        port: target.port,
        why,
        next: next.host,
        nextPort: next.port,
      });
      queueMicrotask(() => this.#attempt(m, targets, i + 1, callbacks));
    };
    tx = this.#newClient(m, send, t.reliable, {
      // A timeout counts only when nothing at all was answered.
      onFailure: (why) => {
        if (why === "transport" || !answered) failover(why);
        else callbacks.onFailure?.(why);
      },
      onResponse: (r) => {
        if (failedOver) return;
        if (r.status === 503) failover("503");
        else {
          answered = true;
          callbacks.onResponse?.(r);
        }
      },
    });
    return tx;
  }
  /**
   * The target to use for a request of `size` bytes: a UDP target moves to
   * TCP (same address and port) above {@linkcode UDP_SIZE_LIMIT} when this
   * endpoint has a TCP transport (RFC 3261 §18.1.1).
   *
   * @param target The resolved target.
   * @param size The request's size in bytes (with the Via still to add).
   * @returns The target to send to.
   */
  // @implements RFC3261 §18.1.1 ¶2
  #congestionSafe(target: SipTarget, size: number): SipTarget {
    if (target.transport !== "UDP" || size <= UDP_SIZE_LIMIT || !this.transport("TCP")) {
      return target;
    }
    return { ...target, transport: "TCP" };
  }

  /**
   * The target a request of `size` bytes should use (RFC 3261 §18.1.1): a
   * UDP target becomes TCP above {@linkcode UDP_SIZE_LIMIT} bytes when this
   * endpoint listens on TCP.
   *
   * @param target The resolved target.
   * @param size The request's size in bytes, including the Via still to add.
   * @returns `target`, or the same address over TCP.
   */
  congestionSafe(target: SipTarget, size: number): SipTarget {
    return this.#congestionSafe(target, size);
  }

  /**
   * Sends a request whose top Via is already set (a proxy forwarding, §16.6)
   * in a new client transaction to a fixed target.
   *
   * @param m The request with the caller's Via on top.
   * @param target Where to send it.
   * @param callbacks Response and failure callbacks.
   * @returns The client transaction, or `undefined` for ACK.
   */
  forward(
    m: SipMessage,
    target: SipTarget,
    callbacks: RequestCallbacks = {},
  ): ClientTransaction | undefined {
    const t = this.transport(target.transport) ?? this.transports[0]!;
    if (m.method === "ACK") {
      this.#write(t, m, target.host, target.port);
      return undefined;
    }
    let tx: ClientTransaction | undefined = undefined;
    const send = (x: SipMessage) =>
      this.#write(t, x, target.host, target.port, undefined, () => tx?.transportError());
    tx = this.#newClient(m, send, t.reliable, callbacks);
    return tx;
  }

  /**
   * Sends any message to a target without a transaction (stateless proxy, ACK for 2xx).
   *
   * @param m The message.
   * @param target Where to send it.
   */
  sendStateless(m: SipMessage, target: SipTarget): void {
    const t = this.transport(target.transport) ?? this.transports[0]!;
    this.#write(t, m, target.host, target.port);
  }

  #newClient(
    m: SipMessage,
    send: (x: SipMessage) => void,
    reliable: boolean,
    callbacks: RequestCallbacks,
  ): ClientTransaction {
    const key = clientTransactionKey(m);
    const opts = {
      send,
      reliable,
      clock: this.clock,
      timers: this.timers,
      onTerminated: () => {
        if (this.#clients.get(key) === tx) this.#clients.delete(key);
      },
      onResponse: (r: SipMessage) => callbacks.onResponse?.(r),
      onFailure: (why: "timeout" | "transport") => {
        callbacks.onFailure?.(why);
        // @implements RFC3261 §8.1.3.1
        callbacks.onResponse?.(createResponse(m, why === "timeout" ? 408 : 503));
      },
    };
    const tx: ClientTransaction = m.method === "INVITE"
      ? new InviteClientTransaction(m, opts)
      : new NonInviteClientTransaction(m, opts);
    if (tx.state === "terminated") this.#clients.delete(key);
    else this.#clients.set(key, tx);
    return tx;
  }

  /** Closes every transport; pending transactions stop with them. */
  async close(): Promise<void> {
    for (const tx of [...this.#clients.values(), ...this.#servers.values()]) tx.close();
    this.#clients.clear();
    this.#servers.clear();
    await Promise.all(this.transports.map((t) => t.close()));
  }
}

async function resolveLiteral(
  host: string,
  lookup: ((host: string) => Promise<string[]>) | undefined,
): Promise<string[]> {
  if (IPV4.test(host) || host.includes(":")) return [host];
  if (host === "localhost") return ["127.0.0.1"];
  if (!lookup) return [];
  try {
    return await lookup(host);
  } catch {
    return [];
  }
}
