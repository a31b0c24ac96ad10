// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * A SIP registrar and proxy server: registrations with optional digest
 * authentication, bindings with expiry, several contacts and q-values, and
 * stateful proxying to registered contacts or foreign domains.
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
import { TcpTransport, TlsTransport, UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
import { WsTransport } from "@rtclite/std/ietf/rfc3261/ws_transport";
import { parseContacts } from "@rtclite/std/ietf/rfc3261";
import { parseUri, type Uri } from "@rtclite/std/ietf/rfc2396";
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

  private constructor(endpoint: SipEndpoint, options: SipServerOptions) {
    this.endpoint = endpoint;
    this.location = options.location ?? new MemoryLocationStore();
    this.#domains = new Set((options.domains ?? []).map((d) => d.toLowerCase()));
    this.#auth = options.auth ?? {};
    this.#realm = options.domains?.[0] ?? "rtclite";
    this.#min = options.minExpires ?? 60;
    this.#max = options.maxExpires ?? 3600;
    this.#verbose = options.verbose ?? false;
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
    try {
      for (const l of options.listen ?? [{ transport: "udp", host: "0.0.0.0", port: 5060 }]) {
        const o = { host: l.host, port: l.port };
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
    });
    return new SipServer(endpoint, options);
  }

  /** Stops listening. */
  async close(): Promise<void> {
    await this.endpoint.close();
  }

  #isOurs(uri: Uri): boolean {
    const h = uri.host.toLowerCase().replace(/^\[|\]$/g, "");
    if (this.#domains.has(h)) return true;
    return this.endpoint.transports.some((t) =>
      (t.host === h || this.endpoint.hostFor(t) === h) &&
      (uri.port === undefined || uri.port === t.port)
    );
  }

  #onRequest(inc: IncomingRequest): void {
    const m = inc.request;
    if (m.method === "REGISTER") {
      let uri: Uri | undefined;
      try {
        uri = parseUri(m.uri!);
      } catch { /* answered by the proxy */ }
      if (uri && this.#isOurs(uri)) {
        this.#register(inc).catch((e) => {
          log.warn("REGISTER failed: {error}", { error: String(e) });
          this.#reply(inc, createResponse(m, 500));
        });
        return;
      }
    }
    if (m.method === "OPTIONS") {
      try {
        const uri = parseUri(m.uri!);
        if (uri.user === undefined && this.#isOurs(uri)) {
          this.#reply(inc, createResponse(m, 200, { toTag: "rtc", headers: allowHeaders() }));
          return;
        }
      } catch { /* answered by the proxy */ }
    }
    // @implements RFC3261 §16.3 ¶7
    if (this.#digest && m.method !== "ACK" && m.method !== "CANCEL" && this.#fromOurUser(m)) {
      this.#authorizeProxy(inc).then((ok) => {
        if (ok) this.proxy.handle(inc);
      }).catch((e) => {
        log.warn("Proxy authentication failed: {error}", { error: String(e) });
        this.#reply(inc, createResponse(m, 500));
      });
      return;
    }
    this.proxy.handle(inc);
  }

  /** Whether an out-of-dialog request claims to come from a user of a hosted domain. */
  #fromOurUser(m: SipMessage): boolean {
    try {
      if (m.to().params.tag !== undefined) return false;
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
      this.#reply(inc, createResponse(m, status, { toTag: "pa" + randomTag(), headers }));
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

  #reply(inc: IncomingRequest, r: SipMessage): void {
    if (inc.transaction) inc.transaction.respond(r);
    else this.endpoint.sendResponse(r, inc.source);
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
    const bindings = await this.location.update(aor, (current) => {
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
      }
      return next;
    });
    if (tooBrief) return reply(423, [["Min-Expires", String(this.#min)]]);
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

function allowHeaders(): { name: string; value: string }[] {
  return [{ name: "Allow", value: ALLOW }, { name: "Accept", value: "application/sdp" }];
}

// === Command line ===

/** The server's command line: `deno run -A app/sip/server.ts [options]`. */
export const command = {
  name: "app/sip/server.ts",
  usage: "[options]",
  description: "A SIP registrar and proxy server.",
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
