// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * A programmable SIP agent: write a registrar, a proxy rule, a redirect
 * server or a small user agent as a few event handlers. An
 * {@linkcode Agent} listens on UDP, TCP, TLS and WebSocket transports of
 * the rfc3261 stack and hands every incoming request to the handler for its
 * method; the handler answers through the event's actions
 * ({@linkcode IncomingEvent.accept | accept}, `reject`, `challenge`,
 * `proxy`, `redirect`), after filling {@linkcode IncomingEvent.location}
 * for `proxy` and `redirect`. A handler that chooses no action gets a
 * default answer (see {@linkcode IncomingEvent}).
 *
 * Events: a method name (`"REGISTER"`, `"INVITE"`, ...) or `"incoming"`
 * (any method without its own handler) for requests; `"cancelled"` when a
 * CANCEL arrives for an INVITE; `"outgoing"` before a request of the
 * agent's own ({@linkcode Agent.request}) is sent and `"response"` for
 * each response to it.
 *
 * @example A registrar and a forwarding rule
 * ```ts
 * import { Agent } from "@rtclite/app/sip/api";
 * import { SipEndpoint, UserAgent } from "@rtclite/std/ietf/rfc3261";
 * import { UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
 * import { equal } from "node:assert/strict";
 *
 * const bindings = new Map<string, string[]>();
 * await using agent = await Agent.listen({ listen: [{ transport: "udp", host: "127.0.0.1", port: 0 }] });
 * agent.on("REGISTER", (e) => {
 *   const uris = e.contacts.map((c) => c.uri);
 *   if (e.expires === 0) bindings.delete(e.aor);
 *   else bindings.set(e.aor, uris);
 *   e.accept(uris.map((u) => `<${u}>;expires=${e.expires ?? 3600}`));
 * });
 * agent.on("INVITE", async (e) => {
 *   e.location.push(...bindings.get(e.aor) ?? []);
 *   if (e.location.length) await e.proxy({ recordRoute: true });
 *   else e.reject(480);
 * });
 *
 * // Bob registers, Alice calls him through the agent.
 * const port = agent.transports[0]!.port;
 * const ua = async (user: string) =>
 *   new UserAgent({
 *     endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
 *     aor: `sip:${user}@127.0.0.1`,
 *   });
 * const bob = await ua("bob");
 * bob.onInvite = (call) => call.accept("v=0\r\n");
 * equal((await bob.register(`sip:127.0.0.1:${port}`)).status, 200);
 * const alice = await ua("alice");
 * const call = await alice.invite(`sip:bob@127.0.0.1:${port}`, "v=0\r\n");
 * equal(call.state, "established");
 * equal(await call.bye(), 200);
 * await alice.close();
 * await bob.close();
 * ```
 *
 * @module
 */
// @implements RFC3261 (SIP as an application framework: UAS §8.2, registrar §10.3, proxy §16, redirect §8.3)
import {
  ALLOW,
  createResponse,
  type DnsLookup,
  type IncomingRequest,
  type InviteServerTransaction,
  parseContacts,
  ProxyCore,
  randomToken,
  type SipAddress,
  SipEndpoint,
  SipMessage,
  type SipSource,
  type SipTraceEvent,
  type SipTransport,
} from "@rtclite/std/ietf/rfc3261";
import { TcpTransport, TlsTransport, UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
import { WsTransport } from "@rtclite/std/ietf/rfc3261/ws_transport";
import { parseUri, type Uri } from "@rtclite/std/ietf/rfc2396";
import {
  type DigestAlgorithm,
  DigestServer,
  parseDigestCredentials,
} from "@rtclite/std/ietf/rfc2617";
import { ParseError } from "@rtclite/std/errors";
import { getLogger } from "@rtclite/std/log";

export type {
  CSeq,
  DnsLookup,
  SipAddress,
  SipConnection,
  SipHeader,
  SipMessage,
  SipParams,
  SipSource,
  SipTraceEvent,
  SipTransport,
  TransportName,
  Via,
} from "@rtclite/std/ietf/rfc3261";
export type { Params, Uri } from "@rtclite/std/ietf/rfc2396";
export type { DigestAlgorithm } from "@rtclite/std/ietf/rfc2617";

const log = getLogger("sip", "api");

// === Events ===

/** The actions a handler can take on an incoming request. */
export type Action = "accept" | "reject" | "challenge" | "proxy" | "redirect" | "default";

/** Extra content of a response built by an action. */
export interface ResponseOptions {
  /** Header fields to add, in order. */
  headers?: [name: string, value: string][];
  /** Message body. */
  body?: string | Uint8Array;
  /** Content-Type of the body (default `application/sdp` when there is a body). */
  contentType?: string;
}

/** Options of {@linkcode IncomingEvent.proxy}. */
export interface ProxyActionOptions {
  /** Stay on the dialog's path with Record-Route (RFC 3261 §16.6 step 4); default false. */
  recordRoute?: boolean;
}

/** Options of {@linkcode IncomingEvent.challenge}. */
export interface ChallengeOptions {
  /**
   * Answer 407 with Proxy-Authenticate (a proxy's challenge) instead of 401
   * with WWW-Authenticate; default: 401 for REGISTER, 407 otherwise.
   */
  proxy?: boolean;
}

/**
 * A request that reached the agent. Handlers answer it with exactly one
 * action; a second action throws {@linkcode SipAgentError}. When the handler
 * returns (or its promise settles) without an action, the agent answers by
 * default:
 *
 * - a request inside a dialog the agent did not create itself (a To tag,
 *   e.g. a BYE or ACK along a record-routed path) is proxied, or answered
 *   481 when it has no Route and is addressed to the agent itself;
 * - BYE in a dialog the agent accepted: 200; an ACK is absorbed;
 * - OPTIONS: 200 with Allow;
 * - any other method without a handler: 501 Not Implemented, with Allow;
 * - a handler that chose nothing: 404 Not Found.
 *
 * A handler that throws gets 500, or 400 when it threw a `ParseError`
 * (reading a malformed header, e.g. {@linkcode IncomingEvent.contacts}).
 */
export interface IncomingEvent {
  /** Always `"incoming"`. */
  readonly type: "incoming";
  /** The request's method. */
  readonly method: string;
  /** The request. */
  readonly request: SipMessage;
  /** The parsed Request-URI. */
  readonly uri: Uri;
  /**
   * The address-of-record the request is about: the To URI for REGISTER,
   * the Request-URI otherwise (scheme, user and lower-case host, see
   * {@linkcode aorOf}).
   */
  readonly aor: string;
  /** The Contact addresses of the request (none for `*`). */
  readonly contacts: SipAddress[];
  /** The Expires header's value in seconds, if any. */
  readonly expires: number | undefined;
  /** Where the request came from. */
  readonly source: SipSource;
  /**
   * Target URIs (or Contact values) for {@linkcode IncomingEvent.proxy} and
   * {@linkcode IncomingEvent.redirect}; the handler fills it.
   */
  readonly location: string[];
  /** True when the request carried valid digest credentials for a realm of this agent. */
  readonly authenticated: boolean;
  /** The authenticated user name, when {@linkcode IncomingEvent.authenticated}. */
  readonly user: string | undefined;
  /** Aborted when a CANCEL for this INVITE arrives (the agent then answers 487 itself). */
  readonly signal: AbortSignal;
  /** The action taken so far, if any. */
  readonly action: Action | undefined;
  /**
   * Answers 200 OK. For REGISTER pass the bindings to list, e.g.
   * `"<sip:bob@192.0.2.4>;expires=3600"`; for INVITE the agent's own Contact
   * is used when `contacts` is not given, and the agent keeps the dialog
   * (it answers the ACK and the BYE).
   *
   * @param contacts Contact header values.
   * @param options Extra headers and body.
   */
  accept(contacts?: string[], options?: ResponseOptions): void;
  /**
   * Sends a provisional response (e.g. 180 Ringing) before the final
   * action; it is not an action itself and may be repeated.
   *
   * @param code Status code, 101-199 (default 180).
   * @param reason Reason phrase (default: the standard one).
   * @param options Extra headers and body.
   */
  progress(code?: number, reason?: string, options?: ResponseOptions): void;
  /**
   * Answers with a failure status (§8.2.6).
   *
   * @param code Status code, 300-699.
   * @param reason Reason phrase (default: the standard one).
   * @param options Extra headers and body.
   */
  reject(code: number, reason?: string, options?: ResponseOptions): void;
  /**
   * Asks for digest credentials (RFC 3261 §22, RFC 7616): 401 or 407 with a
   * fresh challenge for `realm`. The retried request reaches the handler
   * again with {@linkcode IncomingEvent.authenticated} and
   * {@linkcode IncomingEvent.user} set when the password matches the
   * agent's {@linkcode AgentOptions.passwords}.
   *
   * @param realm Protection realm (default {@linkcode AgentOptions.realm}).
   * @param options 401 or 407.
   */
  challenge(realm?: string, options?: ChallengeOptions): Promise<void>;
  /**
   * Forwards the request statefully (§16) to every URI in
   * {@linkcode IncomingEvent.location} in parallel, or, when it is empty,
   * along its Route or to its Request-URI. Responses go back upstream and a
   * CANCEL is passed on.
   *
   * @param options Record-Route or not.
   */
  proxy(options?: ProxyActionOptions): Promise<void>;
  /**
   * Answers 302 Moved Temporarily (or another 3xx) with one Contact for
   * each entry of {@linkcode IncomingEvent.location} (§8.3, §21.3).
   *
   * @param code 3xx status (default 302).
   */
  redirect(code?: number): void;
}

/** A CANCEL that matched an INVITE the agent is answering or proxying (§9.2, §16.10). */
export interface CancelledEvent {
  /** Always `"cancelled"`. */
  readonly type: "cancelled";
  /** The CANCEL request. */
  readonly request: SipMessage;
  /** The cancelled INVITE's event. */
  readonly invite: IncomingEvent;
}

/** A request the agent is about to send ({@linkcode Agent.request}); handlers may change it. */
export interface OutgoingEvent {
  /** Always `"outgoing"`. */
  readonly type: "outgoing";
  /** The request (without the agent's Via, which is added when sending). */
  readonly request: SipMessage;
}

/** A response to a request of the agent's own. */
export interface ResponseEvent {
  /** Always `"response"`. */
  readonly type: "response";
  /** The request it answers. */
  readonly request: SipMessage;
  /** The response (provisional or final; 408 on timeout, 503 on transport failure). */
  readonly response: SipMessage;
}

/** Event types and their events. */
export interface AgentEventMap {
  /** Any request whose method has no handler of its own. */
  incoming: IncomingEvent;
  /** A CANCEL for an INVITE in progress. */
  cancelled: CancelledEvent;
  /** A request of the agent's own, before sending. */
  outgoing: OutgoingEvent;
  /** A response to a request of the agent's own. */
  response: ResponseEvent;
}

/** A handler; the agent awaits it. */
export type Handler<E> = (event: E) => void | Promise<void>;

/** A failure of the agent's own: an action taken twice, an agent closed. */
export class SipAgentError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed.
   */
  constructor(message: string) {
    super(message);
    this.name = "SipAgentError";
  }
}

// === The agent ===

/** One listening address. */
export interface ListenSpec {
  /** Transport. */
  transport: "udp" | "tcp" | "tls" | "ws" | "wss";
  /** Local address, e.g. `127.0.0.1`. */
  host: string;
  /** Local port (0 for any free one). */
  port: number;
}

/** Options of {@linkcode Agent.listen}. */
export interface AgentOptions {
  /** Addresses to listen on (default UDP 127.0.0.1, any port). */
  listen?: ListenSpec[];
  /**
   * TLS certificate and key (PEM) for `tls` and `wss` listeners, and extra
   * CA certificates to trust when connecting out over TLS.
   */
  tls?: { cert: string; key: string; caCerts?: string[] };
  /** Closes the agent when aborted. */
  signal?: AbortSignal;
  /** Default realm of {@linkcode IncomingEvent.challenge} (default `"rtclite"`). */
  realm?: string;
  /**
   * Passwords for digest authentication: a table of user to password, or a
   * lookup by user and realm (`undefined` for an unknown user).
   */
  passwords?:
    | Record<string, string>
    | ((user: string, realm: string) => string | undefined | Promise<string | undefined>);
  /** Digest algorithms to offer (default `["MD5"]`, what SIP phones and SIPp answer). */
  algorithms?: DigestAlgorithm[];
  /** Address for Via, Contact and Record-Route when listening on a wildcard address. */
  advertise?: string;
  /** Observes every message sent and received. */
  onTrace?: (event: SipTraceEvent) => void;
  /** Hosted domains: {@linkcode Agent.isLocal} is true for their URIs. */
  domains?: string[];
  /** Create no server transactions (a stateless proxy, RFC 3261 §16.11); default false. */
  stateless?: boolean;
  /** Resolves host names of targets (default: IP literals, `localhost`, then DNS A records). */
  resolve?: (host: string) => Promise<string[]>;
  /** DNS client for RFC 3263 location of targets (NAPTR, SRV, A/AAAA), e.g. rfc1035's `DnsResolver`. */
  dns?: DnsLookup;
}

/** Options of {@linkcode Agent.request}. */
export interface RequestOptions extends ResponseOptions {
  /** To header value (default `<uri>`). */
  to?: string;
  /** From header value without tag (default `<sip:agent@HOST:PORT>`). */
  from?: string;
}

/**
 * The address-of-record of a URI: scheme, user and host, lower-cased host,
 * no port or parameters (RFC 3261 §10.3 step 5).
 *
 * @param uri A SIP URI (text or parsed).
 * @returns The canonical AOR.
 *
 * @example
 * ```ts
 * import { aorOf } from "@rtclite/app/sip/api";
 * import { equal } from "node:assert/strict";
 *
 * equal(aorOf("sip:Bob@Example.COM:5070;transport=tcp"), "sip:Bob@example.com");
 * ```
 */
// @implements RFC3261 §10.3 ¶5
export function aorOf(uri: string | Uri): string {
  const u = typeof uri === "string" ? parseUri(uri) : uri;
  const scheme = u.scheme === "sips" ? "sips" : "sip";
  return `${scheme}:${u.user === undefined ? "" : u.user + "@"}${u.host.toLowerCase()}`;
}

type Key = keyof AgentEventMap | Uppercase<string>;

/**
 * A SIP agent: transports, an endpoint with transactions, a proxy core and
 * the handlers. Create it with {@linkcode Agent.listen}; stop it with
 * {@linkcode Agent.close}, `await using`, or the `signal` option.
 *
 * @example Reject, redirect and the default answer
 * ```ts
 * import { Agent } from "@rtclite/app/sip/api";
 * import { equal } from "node:assert/strict";
 *
 * await using server = await Agent.listen();
 * server.on("MESSAGE", (e) => e.reject(403, "Not Today"));
 * server.on("INVITE", (e) => {
 *   e.location.push("sip:bob@192.0.2.7");
 *   e.redirect();
 * });
 * await using client = await Agent.listen();
 * const to = `sip:bob@127.0.0.1:${server.transports[0]!.port}`;
 * equal((await client.request("MESSAGE", to)).reason, "Not Today");
 * const moved = await client.request("INVITE", to);
 * equal(moved.status, 302);
 * equal(moved.header("Contact"), "<sip:bob@192.0.2.7>");
 * equal((await client.request("SUBSCRIBE", to)).status, 501);
 * ```
 */
export class Agent implements AsyncDisposable {
  #endpoint: SipEndpoint;
  #o: AgentOptions;
  #handlers = new Map<string, Handler<never>>();
  #core: ProxyCore;
  #rrCore: ProxyCore;
  #target: string[] | undefined;
  #invites = new WeakMap<InviteServerTransaction, Incoming>();
  #proxied = new WeakMap<InviteServerTransaction, ProxyCore>();
  #dialogs = new Map<string, () => void>();
  #digests = new Map<string, DigestServer>();
  #secret = crypto.getRandomValues(new Uint8Array(32));
  #closed: Promise<void> | undefined;
  #onAbort = () => void this.close();
  #domains: Set<string>;
  #ops: AgentOps = {
    reply: (inc, r) => this.#reply(inc, r),
    challenges: (realm, stale) =>
      this.#digest(realm ?? this.#o.realm ?? "rtclite").challenge({ stale }),
    keepDialog: (inc, ok) => this.#keepDialog(inc, ok),
    forward: (event, recordRoute) => this.#forward(event, recordRoute),
    contact: (t) => this.contact(t),
  };

  private constructor(endpoint: SipEndpoint, options: AgentOptions) {
    this.#endpoint = endpoint;
    this.#o = options;
    this.#domains = new Set((options.domains ?? []).map((d) => d.toLowerCase()));
    const core = (recordRoute: boolean) =>
      new ProxyCore({
        endpoint,
        recordRoute,
        // The location of the request being handed to the core: ProxyCore
        // reads it synchronously inside handle() (see #forward).
        isLocal: () => this.#target !== undefined,
        locate: () => this.#target ?? [],
      });
    this.#core = core(false);
    this.#rrCore = core(true);
    endpoint.onRequest = (inc) =>
      void this.#dispatch(inc).catch((e) =>
        log.warn("Cannot answer {method}: {error}", {
          method: inc.request.method,
          error: String(e),
        })
      );
    endpoint.onStrayResponse = (r) => this.#onStray(r);
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /**
   * Opens the transports and starts dispatching.
   *
   * @param options Listeners, credentials, stop signal.
   * @returns The running agent.
   */
  static async listen(options: AgentOptions = {}): Promise<Agent> {
    options.signal?.throwIfAborted();
    const transports: SipTransport[] = [];
    try {
      for (const l of options.listen ?? [{ transport: "udp", host: "127.0.0.1", port: 0 }]) {
        const o = { host: l.host, port: l.port };
        const tls = () => {
          if (!options.tls) {
            throw new TypeError(`Cannot listen on ${l.transport}: no certificate given`);
          }
          return { ...o, ...options.tls };
        };
        switch (l.transport) {
          case "udp":
            transports.push(await UdpTransport.listen(o));
            break;
          case "tcp":
            transports.push(await TcpTransport.listen(o));
            break;
          case "tls":
            transports.push(await TlsTransport.listen(tls()));
            break;
          case "ws":
            transports.push(await WsTransport.listen(o));
            break;
          case "wss":
            transports.push(await WsTransport.listen(tls()));
            break;
          default:
            throw new TypeError(`Cannot listen: unknown transport ${String(l.transport)}`);
        }
      }
    } catch (e) {
      await Promise.all(transports.map((t) => t.close()));
      throw e;
    }
    const endpoint = new SipEndpoint({
      transports,
      ...(options.advertise ? { advertisedHost: options.advertise } : {}),
      ...(options.onTrace ? { onTrace: options.onTrace } : {}),
      ...(options.stateless ? { stateless: true } : {}),
      ...(options.resolve ? { resolve: options.resolve } : {}),
      ...(options.dns ? { dns: options.dns } : {}),
    });
    return new Agent(endpoint, options);
  }

  /** The listening transports (`host`, `port`, `name`). */
  get transports(): readonly SipTransport[] {
    return this.#endpoint.transports;
  }

  /**
   * The agent's own URI on a transport, for Contact and From.
   *
   * @param transport One of {@linkcode Agent.transports} (default the first).
   * @returns E.g. `sip:127.0.0.1:5060;transport=tcp`.
   */
  contact(transport: SipTransport = this.transports[0]!): string {
    const tp = transport.name === "UDP" ? "" : `;transport=${transport.name.toLowerCase()}`;
    return `sip:${this.#endpoint.hostFor(transport)}:${transport.port}${tp}`;
  }

  /**
   * Whether a URI is this agent's: its host is one of the hosted
   * {@linkcode AgentOptions.domains}, or a listening address (and port, when
   * the URI has one).
   *
   * @param uri A SIP URI (text or parsed).
   * @returns True for the agent's own URIs.
   */
  isLocal(uri: string | Uri): boolean {
    const u = typeof uri === "string" ? parseUri(uri) : uri;
    const h = u.host.toLowerCase().replace(/^\[|\]$/g, "");
    if (this.#domains.has(h)) return true;
    return this.transports.some((t) =>
      (t.host === h || this.#endpoint.hostFor(t) === h) &&
      (u.port === undefined || u.port === t.port)
    );
  }

  /**
   * Sets the handler of an event type, or of the requests of one method
   * (`"REGISTER"`, `"INVITE"`, ...). One handler per type: a later call
   * replaces it.
   *
   * @param type An event type or an upper-case method name.
   * @param handler The handler.
   * @returns This agent.
   */
  on<K extends keyof AgentEventMap>(type: K, handler: Handler<AgentEventMap[K]>): this;
  /**
   * Sets the handler of the requests of one method.
   *
   * @param method Upper-case method name.
   * @param handler The handler.
   * @returns This agent.
   */
  on(method: Uppercase<string>, handler: Handler<IncomingEvent>): this;
  on(type: Key, handler: Handler<never>): this {
    this.#handlers.set(type, handler);
    return this;
  }

  #emit<K extends keyof AgentEventMap>(type: K, event: AgentEventMap[K]): Promise<void> | void {
    const h = this.#handlers.get(type) as Handler<AgentEventMap[K]> | undefined;
    return h?.(event);
  }

  // === Incoming requests (RFC 3261 §8.2, §16) ===

  async #dispatch(inc: IncomingRequest): Promise<void> {
    const m = inc.request;
    if (m.method === "CANCEL") return this.#cancel(inc);
    if (m.method === "ACK") {
      const stop = this.#dialogs.get(m.callId());
      if (stop) return stop();
    }
    let uri: Uri;
    try {
      uri = parseUri(m.uri!);
    } catch {
      return this.#reply(inc, createResponse(m, 400, { toTag: randomToken(4) }));
    }
    // @implements RFC3261 §8.2.2.1
    if (uri.scheme !== "sip" && uri.scheme !== "sips") {
      return this.#reply(inc, createResponse(m, 416, { toTag: randomToken(4) }));
    }
    const event = new Incoming(this.#ops, inc, uri);
    // Known before any await, so that a CANCEL finds it.
    if (inc.transaction && m.method === "INVITE") {
      this.#invites.set(inc.transaction as InviteServerTransaction, event);
    }
    await this.#authenticate(event);
    const handler = (this.#handlers.get(m.method!) ?? this.#handlers.get("incoming")) as
      | Handler<IncomingEvent>
      | undefined;
    try {
      await handler?.(event);
    } catch (e) {
      log.warn("Handler for {method} failed: {error}", { method: m.method, error: String(e) });
      // A header the handler read did not parse: the request is bad (§21.4.1).
      if (event.action === undefined && !event.signal.aborted) {
        event.reject(e instanceof ParseError ? 400 : 500);
      }
      return;
    }
    if (event.action === undefined && !event.signal.aborted) {
      await this.#default(event, handler !== undefined);
    }
  }

  async #default(event: Incoming, handled: boolean): Promise<void> {
    const m = event.request;
    let toTag: string | null | undefined;
    try {
      toTag = m.to().params.tag;
    } catch { /* validated by the endpoint */ }
    const ours = this.#dialogs.has(m.callId());
    event.take("default");
    if (m.method === "ACK") {
      if (!ours) await this.#forward(event, false);
      return;
    }
    if (toTag !== undefined && !ours) {
      // @implements RFC3261 §12.2.2 ¶2
      if (!m.has("Route") && this.isLocal(event.uri)) return event.respond(481);
      return await this.#forward(event, false);
    }
    if (m.method === "BYE" && ours) {
      this.#dialogs.get(m.callId())?.();
      this.#dialogs.delete(m.callId());
      return event.respond(200);
    }
    if (m.method === "OPTIONS") {
      return event.respond(200, undefined, {
        headers: [["Allow", ALLOW], ["Accept", "application/sdp"]],
      });
    }
    // @implements RFC3261 §8.2.1
    if (!handled) {
      const methods = [...this.#handlers.keys()].filter((k) => k === k.toUpperCase());
      const allow = [...new Set(["OPTIONS", "ACK", "CANCEL", ...methods])].join(", ");
      return event.respond(501, undefined, { headers: [["Allow", allow]] });
    }
    event.respond(404);
  }

  /** Verifies digest credentials of every realm the agent knows, before the handler runs. */
  async #authenticate(event: Incoming): Promise<void> {
    const m = event.request;
    for (const h of m.headers) {
      if (h.name !== "Authorization" && h.name !== "Proxy-Authorization") continue;
      let realm: string;
      try {
        realm = parseDigestCredentials(h.value).realm;
      } catch {
        continue;
      }
      // Only realms this agent has challenged for: credentials for a realm
      // further on are not ours to check (§22.3), and the table stays bounded.
      const digest = this.#digests.get(realm);
      if (!digest) continue;
      const v = await digest.verify(h.value, {
        method: m.method!,
        uri: m.uri!,
        checkUri: false,
      }, async (user) => {
        const password = await this.#password(user, realm);
        return password === undefined ? undefined : { password };
      });
      if (v.ok) {
        event.authenticated = true;
        event.user = v.username;
        return;
      }
      if (v.stale) event.stale = true;
    }
  }

  #password(user: string, realm: string): Promise<string | undefined> | string | undefined {
    const p = this.#o.passwords;
    if (typeof p === "function") return p(user, realm);
    return p && Object.hasOwn(p, user) ? p[user] : undefined;
  }

  #digest(realm: string): DigestServer {
    let d = this.#digests.get(realm);
    if (!d) {
      d = new DigestServer({
        realm,
        secret: this.#secret,
        algorithms: this.#o.algorithms ?? ["MD5"],
      });
      this.#digests.set(realm, d);
    }
    return d;
  }

  #reply(inc: IncomingRequest, r: SipMessage): void {
    if (inc.transaction) inc.transaction.respond(r);
    else if (inc.request.method !== "ACK") this.#endpoint.sendResponse(r, inc.source);
  }

  /** Keeps a dialog the agent accepted: retransmits the 2xx until the ACK (§13.3.1.4). */
  #keepDialog(inc: IncomingRequest, ok: SipMessage): void {
    const callId = inc.request.callId();
    let timer: ReturnType<typeof setTimeout> | undefined;
    // After the ACK the dialog stays known for its BYE; only the retransmissions stop.
    this.#dialogs.set(callId, () => clearTimeout(timer));
    if (inc.source.transport.reliable) return;
    // @implements RFC3261 §13.3.1.4 ¶2
    let interval = this.#endpoint.timers.t1;
    let waited = 0;
    const again = () => {
      waited += interval;
      if (waited >= 64 * this.#endpoint.timers.t1) return void this.#dialogs.delete(callId);
      this.#endpoint.sendResponse(ok, inc.source);
      interval = Math.min(interval * 2, this.#endpoint.timers.t2);
      timer = setTimeout(again, interval);
    };
    timer = setTimeout(again, interval);
  }

  async #forward(event: Incoming, recordRoute: boolean): Promise<void> {
    const core = recordRoute ? this.#rrCore : this.#core;
    const tx = event.inc.transaction;
    if (tx && event.method === "INVITE") this.#proxied.set(tx as InviteServerTransaction, core);
    // ProxyCore asks isLocal()/locate() synchronously, before its first await.
    this.#target = event.location.length ? [...event.location] : undefined;
    let done: Promise<void>;
    try {
      done = core.handle(event.inc);
    } finally {
      this.#target = undefined;
    }
    await done;
  }

  // @implements RFC3261 §9.2, §16.10
  async #cancel(inc: IncomingRequest): Promise<void> {
    const invite = inc.cancelled;
    const event = invite && this.#invites.get(invite);
    if (!invite || !event) {
      return this.#reply(inc, createResponse(inc.request, 481, { toTag: randomToken(4) }));
    }
    const core = this.#proxied.get(invite);
    if (core) await core.handle(inc);
    else {
      this.#reply(inc, createResponse(inc.request, 200));
      event.abort();
      // @implements RFC3261 §9.2 ¶4
      if (event.action === undefined) event.respond(487, undefined, undefined, "reject", true);
    }
    event.abort();
    await this.#emit("cancelled", { type: "cancelled", request: inc.request, invite: event });
  }

  #onStray(r: SipMessage): void {
    // A 2xx retransmission of a proxied INVITE: the proxy cores forward it (§16.7).
    this.#core.handleStray(r);
  }

  // === Outgoing requests (RFC 3261 §8.1) ===

  /**
   * Sends a request of the agent's own and resolves with its final
   * response; `"outgoing"` runs before sending and `"response"` for every
   * response.
   *
   * @param method Method, e.g. `OPTIONS`.
   * @param uri Request-URI.
   * @param options Headers, body, To and From.
   * @returns The final response (408 on timeout, 503 on transport failure).
   */
  // @implements RFC3261 §8.1.1
  async request(method: string, uri: string, options: RequestOptions = {}): Promise<SipMessage> {
    if (this.#closed) throw new SipAgentError(`Cannot send ${method}: the agent is closed`);
    const m = new SipMessage({ method, uri });
    m.add("To", options.to ?? `<${uri}>`);
    m.add("From", `${options.from ?? `<${this.contact()}>`};tag=${randomToken(4)}`);
    m.add("Call-ID", randomToken(8));
    m.add("CSeq", `1 ${method}`);
    m.add("Max-Forwards", "70");
    if (method === "INVITE" || method === "SUBSCRIBE" || method === "REFER") {
      m.add("Contact", `<${this.contact()}>`);
    }
    addContent(m, options);
    return await this.send(m);
  }

  /**
   * Sends a complete request (without the agent's Via) in a new client
   * transaction.
   *
   * @param m The request.
   * @returns The final response.
   */
  async send(m: SipMessage): Promise<SipMessage> {
    await this.#emit("outgoing", { type: "outgoing", request: m });
    const final = Promise.withResolvers<SipMessage>();
    await this.#endpoint.request(m, {
      onResponse: (r) => {
        const p = this.#emit("response", { type: "response", request: m, response: r });
        if (r.status >= 200) Promise.resolve(p).finally(() => final.resolve(r));
      },
    });
    return await final.promise;
  }

  // === Stopping ===

  /** Stops listening; pending transactions stop with the transports. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#o.signal?.removeEventListener("abort", this.#onAbort);
      for (const stop of this.#dialogs.values()) stop();
      this.#dialogs.clear();
      await this.#endpoint.close();
    })();
    return this.#closed;
  }

  /** Closes the agent (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function addContent(m: SipMessage, o: ResponseOptions | undefined): void {
  for (const [name, value] of o?.headers ?? []) m.add(name, value);
  if (o?.body !== undefined) {
    m.set("Content-Type", o.contentType ?? "application/sdp");
    m.body = typeof o.body === "string" ? new TextEncoder().encode(o.body) : o.body;
  }
}

/** What an event needs of its agent. */
interface AgentOps {
  reply(inc: IncomingRequest, r: SipMessage): void;
  challenges(realm: string | undefined, stale: boolean): Promise<string[]>;
  keepDialog(inc: IncomingRequest, ok: SipMessage): void;
  forward(event: Incoming, recordRoute: boolean): Promise<void>;
  contact(t: SipTransport): string;
}

/** The event object of one incoming request. */
class Incoming implements IncomingEvent {
  readonly type = "incoming";
  readonly method: string;
  readonly request: SipMessage;
  readonly uri: Uri;
  readonly source: SipSource;
  readonly location: string[] = [];
  authenticated = false;
  user: string | undefined = undefined;
  stale = false;
  readonly inc: IncomingRequest;
  #agent: AgentOps;
  #action: Action | undefined;
  #abort = new AbortController();
  #tag = randomToken(4);

  constructor(agent: AgentOps, inc: IncomingRequest, uri: Uri) {
    this.#agent = agent;
    this.inc = inc;
    this.request = inc.request;
    this.method = inc.request.method!;
    this.uri = uri;
    this.source = inc.source;
  }

  get aor(): string {
    return aorOf(this.method === "REGISTER" ? this.request.to().uri : this.uri);
  }

  get contacts(): SipAddress[] {
    const list: SipAddress[] = [];
    for (const h of this.request.headers) {
      if (h.name !== "Contact") continue;
      const c = parseContacts(h.value);
      if (c !== "*") list.push(...c);
    }
    return list;
  }

  get expires(): number | undefined {
    const v = this.request.header("Expires")?.trim();
    return v !== undefined && /^\d{1,10}$/.test(v) ? Number(v) : undefined;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get action(): Action | undefined {
    return this.#action;
  }

  abort(): void {
    this.#abort.abort(new SipAgentError(`${this.method} cancelled`));
  }

  take(action: Action, force = false): void {
    if (this.#abort.signal.aborted && !force) {
      throw new SipAgentError(`Cannot ${action} ${this.method}: it was cancelled`);
    }
    if (this.#action !== undefined) {
      throw new SipAgentError(
        `Cannot ${action} ${this.method}: it was already answered (${this.#action})`,
      );
    }
    this.#action = action;
  }

  respond(
    status: number,
    reason?: string,
    options?: ResponseOptions,
    action?: Action,
    force = false,
  ): void {
    if (action) this.take(action, force);
    const r = createResponse(this.request, status, { toTag: this.#tag });
    if (reason !== undefined) r.reason = reason;
    addContent(r, options);
    this.#agent.reply(this.inc, r);
  }

  accept(contacts?: string[], options?: ResponseOptions): void {
    this.take("accept");
    const list = contacts ??
      (this.method === "INVITE" ? [`<${this.#agent.contact(this.source.transport)}>`] : []);
    const r = createResponse(this.request, 200, { toTag: this.#tag });
    for (const c of list) r.add("Contact", c);
    addContent(r, options);
    this.#agent.reply(this.inc, r);
    if (this.method === "INVITE") this.#agent.keepDialog(this.inc, r);
  }

  progress(code = 180, reason?: string, options?: ResponseOptions): void {
    if (!Number.isInteger(code) || code < 101 || code > 199) {
      throw new RangeError(`Cannot send progress ${code}: expected a status of 101-199`);
    }
    if (this.#action !== undefined || this.signal.aborted) {
      throw new SipAgentError(`Cannot send progress for ${this.method}: it was already answered`);
    }
    this.respond(code, reason, options);
  }

  reject(code: number, reason?: string, options?: ResponseOptions): void {
    if (!Number.isInteger(code) || code < 300 || code > 699) {
      throw new RangeError(`Cannot reject with ${code}: expected a status of 300-699`);
    }
    this.respond(code, reason, options, "reject");
  }

  async challenge(realm?: string, options: ChallengeOptions = {}): Promise<void> {
    this.take("challenge");
    const proxy = options.proxy ?? this.method !== "REGISTER";
    const challenges = await this.#agent.challenges(realm, this.stale);
    const name = proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
    // @implements RFC3261 §22.1 ¶5
    this.respond(proxy ? 407 : 401, undefined, {
      headers: challenges.map((c) => [name, c]),
    });
  }

  async proxy(options: ProxyActionOptions = {}): Promise<void> {
    this.take("proxy");
    await this.#agent.forward(this, options.recordRoute ?? false);
  }

  redirect(code = 302): void {
    if (!Number.isInteger(code) || code < 300 || code > 399) {
      throw new RangeError(`Cannot redirect with ${code}: expected a status of 300-399`);
    }
    // @implements RFC3261 §8.3 ¶2
    this.respond(code, undefined, {
      headers: this.location.map((u) => ["Contact", u.includes("<") ? u : `<${u}>`]),
    }, "redirect");
  }
}
