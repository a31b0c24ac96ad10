// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * A SIP registrar and proxy server: registrations with optional digest
 * authentication, bindings with expiry, several contacts and q-values, and
 * stateful proxying to registered contacts or foreign domains.
 *
 * ## Who may do what (the policy of Kamailio's default configuration)
 *
 * "Hosted" means a domain given with `-r` (or, without `-r`, one of the
 * server's listening addresses); a hosted identity is a From URI in a hosted
 * domain; a hosted destination is a Request-URI in one.
 *
 * - **Registration**: only for addresses-of-record in a hosted domain (403
 *   otherwise); with `--auth`, only the authenticated user's own AOR (401,
 *   403). At most `maxBindings` contacts per AOR and `maxAors` AORs (503).
 * - **Out-of-dialog requests** (no To tag): preloaded Route header fields
 *   are removed. With `--auth`, a request from a hosted identity must
 *   authenticate as that user (407, then 403 for another user). Only an
 *   authenticated user's requests may go to non-hosted destinations; every
 *   other request (foreign identities, or any request without `--auth`)
 *   may only reach hosted destinations: 403 "Not relaying" otherwise.
 * - **In-dialog requests** (To tag) are forwarded only along a route set this
 *   proxy recorded: the first Route must be this proxy's own Record-Route,
 *   whose `rt` parameter is a keyed hash (HMAC-SHA-256, a per-process key)
 *   of the dialog's Call-ID and caller's tag (404 "Not here" otherwise). An
 *   ACK without one is dropped (an ACK for a non-2xx response is absorbed by
 *   the transaction it belongs to); a CANCEL that matches no transaction
 *   gets 481. Dialogs do not survive a restart of the server.
 * - **Forwarding targets**: never the server's own listening addresses,
 *   unspecified, broadcast or multicast addresses; loopback and private
 *   (RFC 1918, link-local, unique-local) addresses only when the server
 *   listens on that network (an explicit loopback listener, or an interface
 *   whose subnet holds the target) or `--allow-target CIDR` allows them.
 *   Refused targets get 403.
 * - **Connections**: a TCP, TLS or WebSocket connection carries requests to
 *   a contact only after a REGISTER for that contact came over it (an
 *   RFC 5626 flow); a Via header never associates a connection.
 * - **Responses** go to the address and port the request came from (RFC 3581
 *   symmetric response); Via `maddr` is ignored. Refusals and challenges
 *   are sent statelessly (once, no transaction kept); other non-2xx final
 *   responses to an INVITE are retransmitted at most twice to an address
 *   that has not authenticated or answered this server.
 * - **Limits** (503 with Retry-After, or a closed connection): 256 header
 *   fields and 65535 bytes per message; 100,000 live transactions, 50,000
 *   per source address of which 500 without a final response; 10,000
 *   addresses-of-record with 10 contacts each; 1024 TCP/TLS connections (32
 *   per address), a 10 s deadline per message on a stream and a 300 s idle
 *   timeout. A completed transaction keeps only its matching header fields
 *   and its last response. Nonces are tracked from first use until expiry
 *   (5 min); a captured Authorization is never accepted twice. Forwarded
 *   messages keep their compact header forms and go over TCP (when the
 *   server listens on TCP) above 1300 bytes (RFC 3261 §18.1.1).
 *
 * Command line (the original rtclite's options):
 *
 * ```sh
 * deno run -A app/sip/server.ts -t udp -l 127.0.0.1:5060 -t tcp -l 127.0.0.1:5060 \
 *   -r example.com --auth alice:secret -d
 * ```
 *
 * @example Run a server on a free port and register a binding
 * ```ts
 * import { SipServer } from "@rtclite/app/sip/server";
 * import { equal } from "node:assert/strict";
 *
 * const server = await SipServer.start({ listen: [{ transport: "udp", host: "127.0.0.1", port: 0 }] });
 * await server.location.update("sip:bob@127.0.0.1", () => [{
 *   contact: "<sip:bob@127.0.0.1:5099>", uri: "sip:bob@127.0.0.1:5099", q: 1,
 *   expires: Date.now() + 60_000, callId: "x", cseq: 1,
 * }]);
 * equal((await server.location.lookup("sip:bob@127.0.0.1")).length, 1);
 * await server.close();
 * ```
 *
 * @module
 */
// @implements RFC3261 (SIP registrar §10.3 and proxy server §16)
import {
  ALLOW,
  createResponse,
  type DnsLookup,
  type IncomingRequest,
  ProxyCore,
  type SipAddress,
  SipEndpoint,
  type SipMessage,
  type SipTraceEvent,
  type SipTransport,
} from "@rtclite/std/ietf/rfc3261";
import {
  type StreamTransportOptions,
  TcpTransport,
  TlsTransport,
  UdpTransport,
} from "@rtclite/std/ietf/rfc3261/transport";
import { WsTransport } from "@rtclite/std/ietf/rfc3261/ws_transport";
import { parseContacts } from "@rtclite/std/ietf/rfc3261";
import { parseUri, type Uri, uriPort } from "@rtclite/std/ietf/rfc2396";
import type { SipTarget } from "@rtclite/std/ietf/rfc3261";
export type { Uri } from "@rtclite/std/ietf/rfc2396";
import { DigestServer, parseDigestCredentials } from "@rtclite/std/ietf/rfc2617";
import { getLogger, setupLogging } from "@rtclite/std/log";
import { parseCommand, type ParsedCommand, runCommand, UsageError } from "@rtclite/std/cli";

const log = getLogger("sip", "server");

// === Location service (RFC 3261 §10.3) ===

/** One registered contact of an address-of-record. */
export interface Binding {
  /** The Contact value as registered (name-addr text, without expires/q). */
  contact: string;
  /** The contact URI. */
  uri: string;
  /** Preference 0..1 (`q` parameter), default 1. */
  q: number;
  /** Expiry time in milliseconds since the epoch. */
  expires: number;
  /** Call-ID of the REGISTER that made it. */
  callId: string;
  /** CSeq number of that REGISTER. */
  cseq: number;
}

/**
 * Where bindings live. Shaped so that several server instances can share
 * one store later: operations are asynchronous and updates are atomic per
 * address-of-record.
 */
export interface LocationStore {
  /** Unexpired bindings of an address-of-record, best q first. */
  lookup(aor: string): Promise<Binding[]>;
  /** Replaces the bindings of `aor` with `fn(current)` atomically; returns the result. */
  update(aor: string, fn: (current: Binding[]) => Binding[]): Promise<Binding[]>;
  /** Number of addresses-of-record with bindings, when the store can tell (for `maxAors`). */
  readonly size?: number;
}

/** The in-memory {@linkcode LocationStore}. */
export class MemoryLocationStore implements LocationStore {
  #map = new Map<string, Binding[]>();
  #now: () => number;

  /**
   * Creates an empty store.
   *
   * @param now Clock in milliseconds (default `Date.now`).
   */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Unexpired bindings, best q first.
   *
   * @param aor Address-of-record (`sip:user@domain`).
   * @returns The bindings.
   */
  lookup(aor: string): Promise<Binding[]> {
    const now = this.#now();
    const list = (this.#map.get(aor) ?? []).filter((b) => b.expires > now);
    return Promise.resolve(list.sort((a, b) => b.q - a.q));
  }

  /**
   * Atomically replaces the bindings of an address-of-record.
   *
   * @param aor Address-of-record.
   * @param fn Maps the current unexpired bindings to the new ones.
   * @returns The new bindings.
   */
  update(aor: string, fn: (current: Binding[]) => Binding[]): Promise<Binding[]> {
    const now = this.#now();
    const next = fn((this.#map.get(aor) ?? []).filter((b) => b.expires > now));
    if (next.length) this.#map.set(aor, next);
    else this.#map.delete(aor);
    return Promise.resolve(next);
  }

  /** Number of addresses-of-record with bindings. */
  get size(): number {
    return this.#map.size;
  }
}

/**
 * The address-of-record of a URI: scheme, user and host, lower-cased host,
 * no port or parameters.
 *
 * @param uri A SIP URI.
 * @returns The canonical AOR.
 *
 * @example
 * ```ts
 * import { aorOf } from "@rtclite/app/sip/server";
 * import { parseUri } from "@rtclite/std/ietf/rfc2396";
 * import { equal } from "node:assert/strict";
 *
 * equal(aorOf(parseUri("sip:Bob@Example.COM:5070;transport=tcp")), "sip:Bob@example.com");
 * ```
 */
// @implements RFC3261 §10.3 ¶5
export function aorOf(uri: Uri): string {
  const scheme = uri.scheme === "sips" ? "sips" : "sip";
  return `${scheme}:${uri.user === undefined ? "" : uri.user + "@"}${uri.host.toLowerCase()}`;
}

// === Server ===

/** One listening address. */
export interface ListenSpec {
  /** Transport. */
  transport: "udp" | "tcp" | "tls" | "ws" | "wss";
  /** Local address. */
  host: string;
  /** Local port (0 for any). */
  port: number;
}

/** Options of {@linkcode SipServer.start}. */
export interface SipServerOptions {
  /** Addresses to listen on; default UDP 0.0.0.0:5060. */
  listen?: ListenSpec[];
  /** Hosted domains (besides the listening addresses). */
  domains?: string[];
  /**
   * Users and passwords; when given, REGISTER requires digest authentication
   * (401) and the proxy challenges (407) the out-of-dialog requests of the
   * hosted domains' users (From in a hosted domain) before forwarding them.
   */
  auth?: Record<string, string>;
  /** Location store; default in memory. */
  location?: LocationStore;
  /** Smallest accepted registration interval in seconds (default 60; 423 below). */
  minExpires?: number;
  /** Largest granted registration interval in seconds (default 3600). */
  maxExpires?: number;
  /** TLS certificate and key (PEM) for `tls` listeners. */
  tls?: { cert: string; key: string };
  /** Forward without transactions (§16.11); default false. */
  stateless?: boolean;
  /** Observes every message the server sends and receives. */
  onTrace?: (event: SipTraceEvent) => void;
  /** Address to put in Via and Record-Route for wildcard listeners (default: the first non-loopback IPv4 address). */
  advertise?: string;
  /** Log every registration at debug level (costs time at high rates); default false. */
  verbose?: boolean;
  /** Resolves host names of forwarding targets (default: IP literals, `localhost`, then DNS A records). */
  resolve?: (host: string) => Promise<string[]>;
  /** DNS client for RFC 3263 location of forwarding targets (NAPTR, SRV, A/AAAA), e.g. rfc1035's `DnsResolver`. */
  dns?: DnsLookup;
  /**
   * Networks (CIDR, e.g. `10.0.0.0/8`, `::1/128`) the proxy may forward to
   * although they are loopback or private and the server does not listen
   * there (see the module documentation).
   */
  allowTargets?: string[];
  /** Most contacts of one address-of-record (default 10; 503 beyond). */
  maxBindings?: number;
  /** Most addresses-of-record with bindings (default 10000; 503 beyond). */
  maxAors?: number;
  /** Limits of the SIP stack (defaults in the module documentation). */
  limits?: ServerLimits;
}

/** Limits of the SIP stack under a {@linkcode SipServer}. */
export interface ServerLimits {
  /** Largest message in bytes (default 65535). */
  maxMessageSize?: number;
  /** Most header fields in a message (default 256). */
  maxHeaders?: number;
  /** Most live transactions, completed ones included (default 100000). */
  maxTransactions?: number;
  /** Most live server transactions of one source address (default 50000). */
  maxTransactionsPerSource?: number;
  /** Most server transactions of one source address without a final response (default 500). */
  maxPendingPerSource?: number;
  /** Most TCP/TLS connections (default 1024). */
  maxConnections?: number;
  /** Most TCP/TLS connections from one address (default 32). */
  maxConnectionsPerAddress?: number;
  /** Milliseconds a stream message may take from its first byte (default 10000). */
  messageTimeout?: number;
  /** Milliseconds a stream connection may go without a complete message (default 300000). */
  idleTimeout?: number;
  /** Retry-After seconds in 503 responses (default 5). */
  retryAfter?: number;
}

/**
 * A registrar and proxy server.
 */
export class SipServer {
  /** The SIP endpoint. */
  readonly endpoint: SipEndpoint;
  /** The proxy core. */
  readonly proxy: ProxyCore;
  /** The location store. */
  readonly location: LocationStore;
  #domains: Set<string>;
  #digest: DigestServer | undefined;
  #auth: Record<string, string>;
  #realm: string;
  #min: number;
  #max: number;
  #verbose: boolean;
  #maxBindings: number;
  #maxAors: number;
  #retryAfter: number;
  #targets: TargetFilter;
  #routeKey = crypto.subtle.importKey(
    "raw",
    crypto.getRandomValues(new Uint8Array(32)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );

  private constructor(endpoint: SipEndpoint, options: SipServerOptions) {
    this.endpoint = endpoint;
    this.location = options.location ?? new MemoryLocationStore();
    this.#domains = new Set((options.domains ?? []).map((d) => d.toLowerCase()));
    this.#auth = options.auth ?? {};
    this.#realm = options.domains?.[0] ?? "rtclite";
    this.#min = options.minExpires ?? 60;
    this.#max = options.maxExpires ?? 3600;
    this.#verbose = options.verbose ?? false;
    this.#maxBindings = options.maxBindings ?? 10;
    this.#maxAors = options.maxAors ?? 10_000;
    this.#retryAfter = options.limits?.retryAfter ?? 5;
    this.#targets = new TargetFilter(endpoint, options.allowTargets ?? [], localInterfaces());
    if (Object.keys(this.#auth).length) {
      this.#digest = new DigestServer({
        realm: this.#realm,
        algorithms: ["MD5"],
      });
    }
    this.proxy = new ProxyCore({
      endpoint,
      isLocal: (uri) => this.#domains.has(uri.host.toLowerCase()),
      locate: async (uri) => (await this.location.lookup(aorOf(uri))).map((b) => b.uri),
      allowTarget: (t) => this.#targets.allows(t),
      recordRouteParams: async (r) =>
        `;rt=${await this.#routeToken(r.callId(), r.from().params.tag)}`,
    });
    endpoint.onRequest = (inc) => this.#onRequest(inc);
    endpoint.onStrayResponse = (r) => this.proxy.handleStray(r);
  }

  /**
   * Opens the listeners and starts serving.
   *
   * @param options Listeners, domains, users and store.
   * @returns The running server.
   */
  static async start(options: SipServerOptions = {}): Promise<SipServer> {
    const transports: SipTransport[] = [];
    const lim = options.limits ?? {};
    const limits: StreamTransportOptions = {};
    if (lim.maxMessageSize !== undefined) limits.maxMessageSize = lim.maxMessageSize;
    if (lim.maxHeaders !== undefined) limits.maxHeaders = lim.maxHeaders;
    if (lim.maxConnections !== undefined) limits.maxConnections = lim.maxConnections;
    if (lim.maxConnectionsPerAddress !== undefined) {
      limits.maxPerAddress = lim.maxConnectionsPerAddress;
    }
    if (lim.messageTimeout !== undefined) limits.messageTimeout = lim.messageTimeout;
    if (lim.idleTimeout !== undefined) limits.idleTimeout = lim.idleTimeout;
    try {
      for (const l of options.listen ?? [{ transport: "udp", host: "0.0.0.0", port: 5060 }]) {
        const o = { ...limits, host: l.host, port: l.port };
        switch (l.transport) {
          case "udp":
            transports.push(await UdpTransport.listen(o));
            break;
          case "tcp":
            transports.push(await TcpTransport.listen(o));
            break;
          case "tls":
            if (!options.tls) throw new TypeError("Cannot listen on TLS: no certificate given");
            transports.push(await TlsTransport.listen({ ...o, ...options.tls }));
            break;
          case "ws":
            transports.push(await WsTransport.listen(o));
            break;
          case "wss":
            if (!options.tls) throw new TypeError("Cannot listen on WSS: no certificate given");
            transports.push(await WsTransport.listen({ ...o, ...options.tls }));
            break;
        }
      }
    } catch (e) {
      await Promise.all(transports.map((t) => t.close()));
      throw e;
    }
    const endpoint = new SipEndpoint({
      transports,
      advertisedHost: options.advertise ?? advertisedAddress(),
      ...(options.stateless ? { stateless: true } : {}),
      ...(options.onTrace ? { onTrace: options.onTrace } : {}),
      ...(options.resolve ? { resolve: options.resolve } : {}),
      ...(options.dns ? { dns: options.dns } : {}),
      ...(lim.maxTransactions !== undefined ? { maxTransactions: lim.maxTransactions } : {}),
      ...(lim.maxTransactionsPerSource !== undefined
        ? { maxTransactionsPerSource: lim.maxTransactionsPerSource }
        : {}),
      ...(lim.maxPendingPerSource !== undefined
        ? { maxPendingPerSource: lim.maxPendingPerSource }
        : {}),
      ...(lim.retryAfter !== undefined ? { retryAfter: lim.retryAfter } : {}),
    });
    return new SipServer(endpoint, options);
  }

  /** Stops listening. */
  async close(): Promise<void> {
    await this.endpoint.close();
  }

  /**
   * Whether a URI names a hosted domain or a listening address; with
   * `domainOnly` and `-r` given, only the hosted domains count.
   */
  #isOurs(uri: Uri, domainOnly = false): boolean {
    const h = uri.host.toLowerCase().replace(/^\[|\]$/g, "");
    if (this.#domains.has(h)) return true;
    if (domainOnly && this.#domains.size) return false;
    return this.endpoint.transports.some((t) =>
      (t.host === h || this.endpoint.hostFor(t) === h) &&
      (uri.port === undefined || uri.port === t.port)
    );
  }

  // @implements RFC3261 §16.3, §16.4
  #onRequest(inc: IncomingRequest): void {
    const m = inc.request;
    const refuse = (status: number, reason?: string) => {
      const r = createResponse(m, status, { toTag: "p" + randomTag() });
      if (reason) r.reason = reason;
      this.#reply(inc, r, true);
    };
    let toTag: string | null | undefined;
    let ruri: Uri;
    try {
      toTag = m.to().params.tag;
      ruri = parseUri(m.uri!);
    } catch {
      return void this.proxy.handle(inc); // answers 400
    }
    if (ruri.scheme !== "sip" && ruri.scheme !== "sips") return void this.proxy.handle(inc); // 416
    // CANCEL: only for a transaction this proxy holds (RFC 3261 §9.2 ¶3).
    if (m.method === "CANCEL") {
      if (inc.cancelled) return void this.proxy.handle(inc);
      return refuse(481);
    }
    // In-dialog: only along a route set this proxy recorded (WITHINDLG).
    if (toTag !== undefined) {
      this.#routedByUs(m).then((ours) => {
        if (ours) this.proxy.handle(inc);
        else if (m.method !== "ACK") refuse(404, "Not here");
      });
      return;
    }
    if (m.method === "ACK") return; // no dialog, no transaction: dropped
    // Out-of-dialog: preloaded routes are not honoured.
    m.remove("Route");
    const toUs = this.#isOurs(ruri);
    if (m.method === "REGISTER" && toUs) {
      this.#register(inc).catch((e) => {
        log.warn("REGISTER failed: {error}", { error: String(e) });
        this.#reply(inc, createResponse(m, 500));
      });
      return;
    }
    if (m.method === "OPTIONS" && ruri.user === undefined && toUs) {
      this.#reply(inc, createResponse(m, 200, { toTag: "rtc", headers: allowHeaders() }));
      return;
    }
    // @implements RFC3261 §16.3 ¶7
    if (this.#digest && this.#fromOurUser(m)) {
      this.#authorizeProxy(inc).then((ok) => {
        if (!ok) return;
        this.endpoint.verify(inc.source.host);
        this.proxy.handle(inc);
      }).catch((e) => {
        log.warn("Proxy authentication failed: {error}", { error: String(e) });
        this.#reply(inc, createResponse(m, 500));
      });
      return;
    }
    // Not authenticated: hosted destinations only (AUTH: "Not relaying").
    if (!toUs) return refuse(403, "Not relaying");
    this.proxy.handle(inc);
  }

  /**
   * Whether the first Route is a Record-Route this proxy recorded (§16.4):
   * its address, `lr`, and the `rt` token it computed for this Call-ID and
   * one of the dialog's tags.
   */
  async #routedByUs(m: SipMessage): Promise<boolean> {
    try {
      const first = m.addresses("Route")[0];
      if (!first) return false;
      const u = parseUri(first.uri);
      const rt = u.params.get("rt");
      if (!u.params.has("lr") || !rt || !this.#isUs(u)) return false;
      const callId = m.callId();
      for (const tag of [m.from().params.tag, m.to().params.tag]) {
        if (rt === await this.#routeToken(callId, tag)) return true;
      }
      return false;
    } catch {
      return false;
    }
  }

  /** A keyed hash of the dialog's Call-ID and caller's tag, for Record-Route. */
  async #routeToken(callId: string, tag: string | null | undefined): Promise<string> {
    const mac = await crypto.subtle.sign(
      "HMAC",
      await this.#routeKey,
      new TextEncoder().encode(`${callId}\n${tag ?? ""}`),
    );
    let s = "";
    for (const b of new Uint8Array(mac, 0, 9)) s += String.fromCharCode(b);
    return btoa(s).replaceAll("+", "-").replaceAll("/", "_");
  }

  /** Whether a URI names one of the listening addresses and ports. */
  #isUs(uri: Uri): boolean {
    const h = uri.host.toLowerCase().replace(/^\[|\]$/g, "");
    const port = uriPort(uri);
    return this.endpoint.transports.some((t) =>
      (t.host === h || this.endpoint.hostFor(t).replace(/^\[|\]$/g, "") === h) &&
      t.port === port
    );
  }

  /** Whether an out-of-dialog request claims to come from a user of a hosted domain. */
  #fromOurUser(m: SipMessage): boolean {
    try {
      const from = parseUri(m.from().uri);
      return from.user !== undefined && this.#isOurs(from);
    } catch {
      return false;
    }
  }

  /**
   * Checks the request's Proxy-Authorization for this proxy's realm: answers
   * 407 with a fresh challenge when it is missing or wrong, 403 when the
   * authenticated user is not the From user, 400 when the credentials' `uri`
   * names another address-of-record than the Request-URI.
   */
  // @implements RFC3261 §22.3
  async #authorizeProxy(inc: IncomingRequest): Promise<boolean> {
    const m = inc.request;
    const digest = this.#digest!;
    const reply = (status: number, headers: { name: string; value: string }[] = []) => {
      this.#reply(inc, createResponse(m, status, { toTag: "pa" + randomTag(), headers }), true);
      return false;
    };
    let mine: { value: string; uri: string } | undefined;
    for (const h of m.headers) {
      if (h.name !== "Proxy-Authorization") continue;
      try {
        const c = parseDigestCredentials(h.value);
        // @implements RFC3261 §22.3 ¶8
        if (c.realm === this.#realm) mine = { value: h.value, uri: c.uri };
      } catch { /* another scheme or realm: not ours to consume */ }
    }
    let stale = false;
    if (mine) {
      // RFC 3261 §22.4 item 6: the digest-uri need not equal the Request-URI,
      // but it must name the same address-of-record (parameters may differ).
      // @implements RFC3261 §22.4
      let sameUri = false;
      try {
        sameUri = aorOf(parseUri(mine.uri)) === aorOf(parseUri(m.uri!));
      } catch { /* a bad uri does not match */ }
      if (!sameUri) return reply(400);
      const v = await digest.verify(mine.value, {
        method: m.method!,
        uri: m.uri!,
        checkUri: false,
      }, (u) => {
        const p = this.#auth[u];
        return p === undefined ? undefined : { password: p };
      });
      if (v.ok) {
        return parseUri(m.from().uri).user === v.username ? true : reply(403);
      }
      stale = v.stale;
    }
    const challenges = await digest.challenge({ stale });
    return reply(407, challenges.map((value) => ({ name: "Proxy-Authenticate", value })));
  }

  /**
   * Answers a request; `stateless` (refusals and challenges, as Kamailio's
   * `sl_send_reply`) ends the transaction at once, so that a flood of
   * refused requests holds no state for Timer H/J and a refused INVITE is
   * answered once, never retransmitted (a retransmitted request is refused again).
   */
  #reply(inc: IncomingRequest, r: SipMessage, stateless = false): void {
    if (inc.transaction) {
      inc.transaction.respond(r);
      if (stateless && r.status >= 300) inc.transaction.close();
    } else this.endpoint.sendResponse(r, inc.source);
  }

  // @implements RFC3261 §10.3
  async #register(inc: IncomingRequest): Promise<void> {
    const m = inc.request;
    const tag = "reg" + (m.header("Call-ID") ?? "").length.toString(36);
    const reply = (status: number, headers: [string, string][] = []) =>
      this.#reply(
        inc,
        createResponse(m, status, {
          toTag: tag,
          headers: headers.map(([name, value]) => ({ name, value })),
        }),
        true,
      );
    // @implements RFC3261 §10.3 ¶3
    const require = m.values("Require");
    if (require.length) return reply(420, [["Unsupported", require.join(", ")]]);
    // @implements RFC3261 §10.3 ¶4
    if (this.#digest) {
      const auth = m.header("Authorization");
      let ok = false;
      let stale = false;
      if (auth) {
        const v = await this.#digest.verify(auth, {
          method: "REGISTER",
          uri: m.uri!,
          checkUri: false,
        }, (u) => {
          const p = this.#auth[u];
          return p === undefined ? undefined : { password: p };
        });
        ok = v.ok;
        // It answered our challenge: it receives what we send (RFC 3581 reflection cap).
        if (v.ok) this.endpoint.verify(inc.source.host);
        if (!v.ok) stale = v.stale;
        if (v.ok) {
          const to = parseUri(m.to().uri);
          if (to.user !== v.username) return reply(403);
        }
      }
      if (!ok) {
        const challenges = await this.#digest.challenge({ stale });
        return reply(401, challenges.map((c) => ["WWW-Authenticate", c]));
      }
    }
    // @implements RFC3261 §10.3 ¶5
    let to: Uri;
    try {
      to = parseUri(m.to().uri);
    } catch {
      return reply(400);
    }
    if (to.scheme !== "sip" && to.scheme !== "sips") return reply(400);
    // Only hosted domains (with -r: only those) get bindings.
    if (!this.#isOurs(to, true)) return reply(403);
    const aor = aorOf(to);
    // @implements RFC3261 §10.3 ¶6-8
    const contacts: SipAddress[] = [];
    let star = false;
    for (const h of m.headers) {
      if (h.name !== "Contact") continue;
      const c = parseContacts(h.value);
      if (c === "*") star = true;
      else contacts.push(...c);
    }
    const expiresHeader = m.header("Expires");
    if (star) {
      if (contacts.length || expiresHeader?.trim() !== "0") return reply(400);
      await this.location.update(aor, () => []);
      return reply(200);
    }
    const callId = m.callId();
    const cseq = m.cseq().seq;
    const now = Date.now();
    let tooBrief = false;
    let full = false;
    const added: Uri[] = [];
    const bindings = await this.location.update(aor, (current) => {
      if (current.length === 0 && contacts.length && (this.location.size ?? 0) >= this.#maxAors) {
        full = true;
        return current;
      }
      const next = [...current];
      for (const c of contacts) {
        const e = c.params.expires ?? expiresHeader ?? "3600";
        let secs = /^\d{1,10}$/.test(e) ? +e : 3600;
        if (secs !== 0 && secs < this.#min) {
          tooBrief = true;
          return current;
        }
        secs = Math.min(secs, this.#max);
        let curi: Uri;
        try {
          curi = parseUri(c.uri);
        } catch {
          continue;
        }
        const i = next.findIndex((b) => {
          try {
            return parseUri(b.uri).equals(curi);
          } catch {
            return false;
          }
        });
        if (i >= 0) {
          const old = next[i]!;
          // @implements RFC3261 §10.3 ¶9
          if (old.callId === callId && old.cseq >= cseq) continue;
          next.splice(i, 1);
        }
        if (secs === 0) continue;
        const q = c.params.q ? Math.min(1, Math.max(0, Number(c.params.q) || 0)) : 1;
        next.push({
          contact: `<${c.uri}>`,
          uri: c.uri,
          q,
          expires: now + secs * 1000,
          callId,
          cseq,
        });
        added.push(curi);
      }
      if (next.length > this.#maxBindings) {
        full = true;
        return current;
      }
      return next;
    });
    if (tooBrief) return reply(423, [["Min-Expires", String(this.#min)]]);
    if (full) return reply(503, [["Retry-After", String(this.#retryAfter)]]);
    // @implements RFC5626 §5.2
    // The connection this REGISTER came on carries requests to its contacts.
    const conn = inc.source.connection;
    if (conn && inc.source.transport.associate) {
      for (const u of added) {
        inc.source.transport.associate(conn, u.host, uriPort(u));
      }
    }
    // @implements RFC3261 §10.3 ¶10
    const headers: [string, string][] = [...bindings].sort((a, b) => b.q - a.q).map((b) => [
      "Contact",
      `${b.contact};expires=${Math.max(0, Math.round((b.expires - now) / 1000))}${
        b.q !== 1 ? ";q=" + b.q : ""
      }`,
    ]);
    headers.push(["Date", new Date(now).toUTCString()]);
    if (this.#verbose) {
      log.debug("Registered {aor}: {count} binding(s)", { aor, count: bindings.length });
    }
    reply(200, headers);
  }
}

function randomTag(): string {
  return crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
}

function advertisedAddress(): string {
  try {
    const ifs = Deno.networkInterfaces().filter((i) =>
      i.family === "IPv4" && !i.address.startsWith("127.")
    );
    return ifs[0]?.address ?? "127.0.0.1";
  } catch {
    return "127.0.0.1";
  }
}

/** An interface address with its subnet, from `Deno.networkInterfaces()`. */
interface LocalAddress {
  address: string;
  cidr: string;
}

function localInterfaces(): LocalAddress[] {
  try {
    return Deno.networkInterfaces().map((i) => ({ address: i.address, cidr: i.cidr }));
  } catch {
    return [];
  }
}

// === Forwarding targets ===

/** An address as bytes (4 for IPv4, 16 for IPv6), or `undefined` when not an IP literal. */
function ipBytes(host: string): Uint8Array | undefined {
  const h = host.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (v4) {
    const b = v4.slice(1).map(Number);
    return b.every((x) => x <= 255) ? new Uint8Array(b) : undefined;
  }
  if (!h.includes(":")) return undefined;
  const [head, tail] = h.split("::", 2) as [string, string | undefined];
  const parts = (s: string) => s ? s.split(":") : [];
  let groups = parts(head);
  let rest = tail === undefined ? [] : parts(tail);
  // An embedded IPv4 address at the end (::ffff:10.0.0.1).
  const last = (tail === undefined ? groups : rest).at(-1);
  const v4tail = last && last.includes(".") ? ipBytes(last) : undefined;
  if (v4tail) {
    const g = [
      (v4tail[0]! << 8 | v4tail[1]!).toString(16),
      (v4tail[2]! << 8 | v4tail[3]!).toString(16),
    ];
    if (tail === undefined) groups = [...groups.slice(0, -1), ...g];
    else rest = [...rest.slice(0, -1), ...g];
  }
  const fill = tail === undefined ? 0 : 8 - groups.length - rest.length;
  if (fill < 0 || (tail === undefined && groups.length !== 8)) return undefined;
  const all = [...groups, ...Array(fill).fill("0"), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-f]{1,4}$/i.test(all[i]!)) return undefined;
    const n = parseInt(all[i]!, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 255;
  }
  // IPv4-mapped addresses are checked as IPv4.
  if (out.subarray(0, 10).every((x) => x === 0) && out[10] === 255 && out[11] === 255) {
    return out.slice(12);
  }
  return out;
}

/** A network: address bytes and prefix length. */
interface Cidr {
  net: Uint8Array;
  bits: number;
}

/**
 * Parses `address/prefix` (a bare address is a single host).
 *
 * @param text CIDR text.
 * @returns The network, or `undefined` when it does not parse.
 */
function parseCidr(text: string): Cidr | undefined {
  const [a, p] = text.split("/", 2) as [string, string | undefined];
  const net = ipBytes(a);
  if (!net) return undefined;
  const max = net.length * 8;
  const bits = p === undefined ? max : /^\d{1,3}$/.test(p) ? +p : NaN;
  if (!(bits >= 0 && bits <= max)) return undefined;
  return { net, bits };
}

function inCidr(ip: Uint8Array, c: Cidr): boolean {
  if (ip.length !== c.net.length) return false;
  for (let i = 0, left = c.bits; left > 0; i++, left -= 8) {
    const mask = left >= 8 ? 255 : (0xff00 >> left) & 255;
    if ((ip[i]! & mask) !== (c.net[i]! & mask)) return false;
  }
  return true;
}

const cidrs = (list: string[]) => list.map((t) => parseCidr(t)!);
const NEVER = cidrs([
  "0.0.0.0/8", // unspecified, "this network"
  "255.255.255.255/32", // limited broadcast
  "224.0.0.0/4", // multicast
  "240.0.0.0/4", // reserved
  "::/128", // unspecified
  "ff00::/8", // multicast
]);
const LOOPBACK = cidrs(["127.0.0.0/8", "::1/128"]);
const PRIVATE = cidrs([
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "169.254.0.0/16", // link-local
  "100.64.0.0/10", // shared address space (CGN)
  "fc00::/7", // unique local
  "fe80::/10", // link-local
]);

/**
 * Decides where the proxy may send: see "Forwarding targets" in the module
 * documentation.
 */
class TargetFilter {
  #allowed: Cidr[];
  #listening: Cidr[] = [];
  #own: { ip: Uint8Array; port: number }[] = [];

  constructor(endpoint: SipEndpoint, allow: string[], ifs: LocalAddress[]) {
    this.#allowed = allow.map((a) => {
      const c = parseCidr(a);
      if (!c) throw new TypeError(`Cannot parse --allow-target: ${a} is not an address/prefix`);
      return c;
    });
    for (const t of endpoint.transports) {
      const bound = ipBytes(t.host);
      if (!bound) continue;
      const wildcard = bound.every((x) => x === 0);
      for (const i of ifs) {
        const ip = ipBytes(i.address);
        if (!ip || ip.length !== bound.length) continue;
        if (!wildcard && !ip.every((x, k) => x === bound[k])) continue;
        this.#own.push({ ip, port: t.port });
        // A wildcard listener opens no loopback or link to private networks by itself
        // beyond the subnets of its non-loopback interfaces.
        if (wildcard && LOOPBACK.some((c) => inCidr(ip, c))) continue;
        const net = parseCidr(i.cidr);
        if (net) this.#listening.push(net);
      }
      if (!wildcard) {
        this.#own.push({ ip: bound, port: t.port });
        if (LOOPBACK.some((c) => inCidr(bound, c))) this.#listening.push(...LOOPBACK);
      } else this.#own.push(...LOOPBACK.map((c) => ({ ip: c.net, port: t.port })));
    }
  }

  allows(t: SipTarget): boolean {
    const ip = ipBytes(t.host);
    // A name left unresolved (a WebSocket peer's .invalid host) reaches only a flow.
    if (!ip) return t.transport === "WS" || t.transport === "WSS";
    const same = (a: Uint8Array, b: Uint8Array) =>
      a.length === b.length && a.every((x, k) => x === b[k]);
    if (this.#own.some((o) => o.port === t.port && same(o.ip, ip))) return false;
    if (NEVER.some((c) => inCidr(ip, c))) return false;
    if (this.#allowed.some((c) => inCidr(ip, c))) return true;
    const special = LOOPBACK.some((c) => inCidr(ip, c)) || PRIVATE.some((c) => inCidr(ip, c));
    if (!special) return true;
    return this.#listening.some((c) => inCidr(ip, c));
  }
}

function allowHeaders(): { name: string; value: string }[] {
  return [{ name: "Allow", value: ALLOW }, { name: "Accept", value: "application/sdp" }];
}

// === Command line ===

/** The server's command line: `deno run -A app/sip/server.ts [options]`. */
export const command = {
  name: "app/sip/server.ts",
  usage: "[options]",
  description: "A SIP registrar and proxy server.\n\n" +
    "Policy: REGISTER only for hosted domains (-r, else the listening addresses); with --auth,\n" +
    "requests from hosted users must authenticate (407) and only they may reach non-hosted\n" +
    "destinations; other requests may only reach hosted users (403 Not relaying).\n" +
    "In-dialog requests must carry this proxy's keyed Record-Route as first Route (404).\n" +
    "Never forwards to its own addresses, unspecified, broadcast or multicast ones; to loopback\n" +
    "or private ones only where it listens, or within --allow-target.\n" +
    "A TCP/TLS/WS connection reaches a contact only after a REGISTER over it.\n" +
    "Responses go to the request's source address (Via maddr is ignored).\n" +
    "Limits (503 Retry-After beyond): --max-transactions 100000, per source 50000 of which\n" +
    "--max-pending 500 unanswered,\n" +
    "--max-aors 10000, --max-bindings 10, --max-headers 256, --max-size 65535 bytes,\n" +
    "--max-connections 1024 (--max-conn-per-address 32), --message-timeout 10 s, idle 300 s.",
  operands: [0, 0],
  options: {
    transport: {
      short: "t",
      value: "T",
      multiple: true,
      help: "udp | tcp | tls | ws | wss (paired with -l in order)",
    },
    local: {
      short: "l",
      value: "H:P",
      multiple: true,
      help: "listen address and port; default udp 0.0.0.0:5060",
    },
    domain: { short: "r", value: "D", multiple: true, help: "hosted domain" },
    auth: {
      value: "U:P",
      multiple: true,
      help: "require digest authentication (401 for REGISTER, 407 for the hosted users' " +
        "calls and messages) with this user",
    },
    cert: { value: "FILE", help: "TLS certificate (PEM) for tls and wss listeners" },
    key: { value: "FILE", help: "TLS private key (PEM) for tls and wss listeners" },
    stateless: { help: "forward without transactions" },
    advertise: { value: "H", help: "address for Via and Record-Route when listening on 0.0.0.0" },
    "allow-target": {
      value: "CIDR",
      multiple: true,
      help: "also forward to this loopback/private network (e.g. 10.0.0.0/8)",
    },
    "max-transactions": { value: "N", help: "live transactions (default 100000)" },
    "max-pending": {
      value: "N",
      help: "transactions without a final response per source address (default 500)",
    },
    "max-aors": { value: "N", help: "registered addresses-of-record (default 10000)" },
    "max-bindings": { value: "N", help: "contacts per address-of-record (default 10)" },
    "max-headers": { value: "N", help: "header fields per message (default 256)" },
    "max-size": { value: "BYTES", help: "message size (default 65535)" },
    "max-connections": { value: "N", help: "TCP/TLS connections (default 1024)" },
    "max-conn-per-address": { value: "N", help: "TCP/TLS connections per address (default 32)" },
    "message-timeout": { value: "S", help: "seconds to receive a stream message (default 10)" },
    debug: { short: "d", help: "debug logging (the same as -v)" },
  },
} as const;

/**
 * Parses the server's command line.
 *
 * @param args The arguments (`-v`, `-q` and `-d` are accepted and ignored here).
 * @returns Server options, or a usage error message.
 *
 * @example
 * ```ts
 * import { parseServerArgs } from "@rtclite/app/sip/server";
 * import { deepEqual } from "node:assert/strict";
 *
 * const o = parseServerArgs(["-t", "tcp", "-l", "127.0.0.1:5070", "-r", "example.com", "--auth", "a:b"]);
 * deepEqual(o, {
 *   listen: [{ transport: "tcp", host: "127.0.0.1", port: 5070 }],
 *   domains: ["example.com"], auth: { a: "b" },
 * });
 * ```
 */
export function parseServerArgs(args: string[]): SipServerOptions | string {
  let values: ParsedCommand<typeof command.options>["values"];
  try {
    values = parseCommand(command, args).values;
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  return serverOptions(values);
}

function serverOptions(
  values: ParsedCommand<typeof command.options>["values"],
): (SipServerOptions & { certFile?: string; keyFile?: string }) | string {
  const transports = values.transport.map((t) => t.toLowerCase());
  const locals = values.local;
  const auth: Record<string, string> = {};
  const o: SipServerOptions & { certFile?: string; keyFile?: string } = {};
  for (const v of values.auth) {
    const c = v.indexOf(":");
    if (c <= 0) return `--auth needs USER:PASSWORD, got ${v}`;
    auth[v.slice(0, c)] = v.slice(c + 1);
  }
  if (values.cert !== undefined) o.certFile = values.cert;
  if (values.key !== undefined) o.keyFile = values.key;
  if (values.stateless) o.stateless = true;
  if (values.advertise !== undefined) o.advertise = values.advertise;
  const n = Math.max(transports.length, locals.length);
  if (n) {
    o.listen = [];
    for (let i = 0; i < n; i++) {
      const t = transports[i] ?? transports[transports.length - 1] ?? "udp";
      if (!["udp", "tcp", "tls", "ws", "wss"].includes(t)) return `Unknown transport ${t}`;
      const l = locals[i] ?? locals[locals.length - 1] ?? "0.0.0.0:5060";
      const c = l.lastIndexOf(":");
      const host = (c < 0 ? l : l.slice(0, c)).replace(/^\[|\]$/g, "");
      const port = c < 0 ? 5060 : Number(l.slice(c + 1));
      if (!Number.isInteger(port) || port < 0 || port > 65535) return `Bad port in ${l}`;
      o.listen.push({ transport: t as ListenSpec["transport"], host, port });
    }
  }
  if (values.domain.length) o.domains = values.domain;
  if (Object.keys(auth).length) o.auth = auth;
  if (values["allow-target"].length) {
    for (const c of values["allow-target"]) {
      if (!parseCidr(c)) return `--allow-target needs ADDRESS/PREFIX, got ${c}`;
    }
    o.allowTargets = values["allow-target"];
  }
  const limits: ServerLimits = {};
  const num = (name: string, v: string | undefined, set: (n: number) => void) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) return `${name} needs a positive integer, got ${v}`;
    set(n);
    return undefined;
  };
  const bad =
    num("--max-transactions", values["max-transactions"], (n) => limits.maxTransactions = n) ??
      num(
        "--max-pending",
        values["max-pending"],
        (n) => limits.maxPendingPerSource = n,
      ) ??
      num("--max-headers", values["max-headers"], (n) => limits.maxHeaders = n) ??
      num("--max-size", values["max-size"], (n) => limits.maxMessageSize = n) ??
      num("--max-connections", values["max-connections"], (n) => limits.maxConnections = n) ??
      num(
        "--max-conn-per-address",
        values["max-conn-per-address"],
        (n) => limits.maxConnectionsPerAddress = n,
      ) ??
      num(
        "--message-timeout",
        values["message-timeout"],
        (n) => limits.messageTimeout = n * 1000,
      ) ??
      num("--max-aors", values["max-aors"], (n) => o.maxAors = n) ??
      num("--max-bindings", values["max-bindings"], (n) => o.maxBindings = n);
  if (bad) return bad;
  if (Object.keys(limits).length) o.limits = limits;
  return o;
}

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, async ({ values, level }) => {
      if (values.debug) await setupLogging(level = "debug");
      const opts = serverOptions(values);
      if (typeof opts === "string") throw new UsageError(opts);
      if (opts.certFile && opts.keyFile) {
        opts.tls = {
          cert: await Deno.readTextFile(opts.certFile),
          key: await Deno.readTextFile(opts.keyFile),
        };
      }
      if (level === "debug") opts.verbose = true;
      const server = await SipServer.start(opts);
      for (const t of server.endpoint.transports) {
        log.info("Listening on {transport} {host}:{port}", {
          transport: t.name,
          host: t.host,
          port: t.port,
        });
      }
      console.log("SIP server ready");
      const stopped = Promise.withResolvers<void>();
      const stop = () => stopped.resolve();
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
      await stopped.promise;
      log.info("Shutting down");
      await server.close();
      return 0;
    }),
  );
}
