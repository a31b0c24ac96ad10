// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The SIP proxy core of RFC 3261 §16: request validation, route
 * preprocessing, target determination through a location callback,
 * stateful forwarding with sequential or parallel forking and best-response
 * selection, CANCEL propagation, Record-Route (doubled when transports
 * differ, RFC 5658), loop detection, and stateless forwarding (§16.11).
 *
 * Part of `@rtclite/std/ietf/rfc3261`, which re-exports it.
 *
 * @example
 * ```ts
 * import { ProxyCore, SipEndpoint } from "@rtclite/std/ietf/rfc3261";
 * import { UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
 * import { equal } from "node:assert/strict";
 *
 * const endpoint = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
 * const proxy = new ProxyCore({ endpoint, isLocal: (uri) => uri.host === "example.com" });
 * endpoint.onRequest = (r) => proxy.handle(r);
 * endpoint.onStrayResponse = (r) => proxy.handleStray(r);
 * equal(proxy.contexts, 0);
 * await endpoint.close();
 * ```
 *
 * @module
 */
import { parseUri, type Uri, uriPort } from "../rfc2396/mod.ts";
import { getLogger } from "../../log.ts";
import { createResponse, parseVia, type SipMessage, SipMessage as Message } from "./message.ts";
import { type InviteServerTransaction, MAGIC_COOKIE } from "./transaction.ts";
import {
  ALLOW,
  type ClientTransaction,
  type IncomingRequest,
  type ServerTransaction,
  type SipEndpoint,
  type SipSource,
  type SipTarget,
  type SipTransport,
} from "./endpoint.ts";

const log = getLogger("sip", "proxy");

/** Options of {@linkcode ProxyCore}. */
export interface ProxyOptions {
  /** The endpoint the proxy receives and sends through. */
  endpoint: SipEndpoint;
  /** Whether a Request-URI names a domain (or address) this proxy is responsible for. */
  isLocal: (uri: Uri) => boolean;
  /** Location service: target URIs for a Request-URI in a local domain (§16.5). */
  locate?: (uri: Uri) => string[] | Promise<string[]>;
  /** Add Record-Route (default true). */
  recordRoute?: boolean;
  /** Try targets one after another instead of in parallel (default false). */
  sequential?: boolean;
  /** Extension option tags this proxy supports in Proxy-Require (default none). */
  supported?: string[];
  /** Timer C for INVITE branches in milliseconds (default 180000, more than 3 minutes is allowed). */
  timerC?: number;
  /**
   * Whether the proxy may send a request to this resolved target (an
   * address filter against probing internal services); targets it refuses
   * are skipped, and a request with none left is answered 403.
   */
  allowTarget?: (target: SipTarget) => boolean;
  /**
   * URI parameters (`;name=value...`) for this proxy's Record-Route values,
   * e.g. a keyed hash that lets it recognise the routes it recorded.
   */
  recordRouteParams?: (request: SipMessage) => string | Promise<string>;
}

/** Every target of a request was refused by {@linkcode ProxyOptions.allowTarget}. */
export class ProxyTargetError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was refused.
   */
  constructor(message: string) {
    super(message);
    this.name = "ProxyTargetError";
  }
}

/** One branch of a response context. */
interface Branch {
  request: SipMessage;
  target: SipTarget;
  tx: ClientTransaction | undefined;
  final: SipMessage | undefined;
  provisional: boolean;
  cancelled: boolean;
  cancelSent: boolean;
  timerC: number | undefined;
}

/** The response context of one forwarded request (§16.7). */
interface ResponseContext {
  server: ServerTransaction | undefined;
  request: SipMessage;
  pending: string[];
  branches: Branch[];
  best: SipMessage | undefined;
  finalSent: boolean;
  twoHundred: boolean;
}

// FNV-1a, for loop-detection branch parts (§16.6 step 8).
function fnv(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return (h1 >>> 0).toString(36) + (h2 >>> 0).toString(36);
}

// @implements RFC3261 §16.6 ¶8
function loopHash(m: SipMessage): string {
  let to = "";
  let from = "";
  try {
    to = m.to().params.tag ?? "";
    from = m.from().params.tag ?? "";
  } catch { /* validated before */ }
  return fnv(
    `${m.uri}|${from}|${to}|${m.header("Call-ID")}|${m.cseq().seq}|${m.values("Proxy-Require")}|${
      m.values("Route")
    }`,
  );
}

function responseClass(status: number): number {
  return Math.floor(status / 100);
}

/**
 * Chooses the best final response among branch responses (§16.7 step 6):
 * any 6xx, else the lowest class, preferring ... 503 mapped to 500.
 *
 * @param responses Final responses of all branches.
 * @returns The one to forward.
 */
// @implements RFC3261 §16.7 ¶6-12
export function bestResponse(responses: SipMessage[]): SipMessage | undefined {
  let best: SipMessage | undefined;
  for (const r of responses) {
    if (!best) best = r;
    else if (responseClass(r.status) === 6 && responseClass(best.status) !== 6) best = r;
    else if (responseClass(best.status) !== 6 && r.status < best.status) best = r;
  }
  return best;
}

/**
 * A stateful (or, with a stateless endpoint, stateless) SIP proxy core.
 *
 * @example See `app/sip/server.ts` for a registrar and proxy built on it.
 * ```ts
 * import { ProxyCore, SipEndpoint } from "@rtclite/std/ietf/rfc3261";
 * import { UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
 * import { equal } from "node:assert/strict";
 *
 * const endpoint = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
 * const proxy = new ProxyCore({ endpoint, isLocal: () => false });
 * endpoint.onRequest = (r) => proxy.handle(r);
 * equal(proxy.contexts, 0);
 * await endpoint.close();
 * ```
 */
export class ProxyCore {
  #o: ProxyOptions;
  #ep: SipEndpoint;
  #contexts = new Map<ServerTransaction, ResponseContext>();
  #branchCtx = new Map<string, ResponseContext>();
  #rr: boolean;

  /**
   * Creates the proxy core; call {@linkcode ProxyCore.handle} for requests
   * and {@linkcode ProxyCore.handleStray} for stray responses.
   *
   * @param options Endpoint, locality test and location service.
   */
  constructor(options: ProxyOptions) {
    this.#o = options;
    this.#ep = options.endpoint;
    this.#rr = options.recordRoute ?? true;
  }

  /** Number of live response contexts. */
  get contexts(): number {
    return this.#contexts.size;
  }

  #reply(inc: IncomingRequest, status: number, extra: [string, string][] = []): void {
    const r = createResponse(inc.request, status, {
      toTag: fnv(inc.request.header("Call-ID") ?? ""),
      headers: extra.map(([name, value]) => ({ name, value })),
    });
    if (inc.transaction) inc.transaction.respond(r);
    else if (inc.request.method !== "ACK") this.#ep.sendResponse(r, inc.source);
  }

  #isUs(uri: Uri): boolean {
    let host = uri.host.toLowerCase();
    if (host.startsWith("[")) host = host.slice(1, -1);
    const port = uriPort(uri);
    return this.#ep.transports.some((t) => {
      const th = this.#ep.hostFor(t).toLowerCase().replace(/^\[|\]$/g, "");
      return (th === host || t.host === host) && t.port === port;
    });
  }

  #viaIsUs(v: { host: string; port?: number; transport: string }): boolean {
    return this.#ep.transports.some((t) =>
      (this.#ep.hostFor(t).replace(/^\[|\]$/g, "") === v.host || t.host === v.host) &&
      t.port === (v.port ?? 5060)
    );
  }

  // === Requests (RFC 3261 §16.3-16.6) ===

  /**
   * Proxies a request.
   *
   * @param inc The request from the endpoint.
   */
  async handle(inc: IncomingRequest): Promise<void> {
    const m = inc.request;
    try {
      await this.#handle(inc);
    } catch (e) {
      log.warn("Failed to proxy {method}: {error}", { method: m.method, error: String(e) });
      if (m.method !== "ACK") this.#reply(inc, 500);
    }
  }

  async #handle(inc: IncomingRequest): Promise<void> {
    const m = inc.request;
    // @implements RFC3261 §16.3 ¶3
    let ruri: Uri;
    try {
      ruri = parseUri(m.uri!);
    } catch {
      return this.#reply(inc, 400);
    }
    if (ruri.scheme !== "sip" && ruri.scheme !== "sips") return this.#reply(inc, 416);
    // @implements RFC3261 §16.3 ¶5
    const mf = m.maxForwards();
    if (mf === 0) return this.#reply(inc, 483);
    // @implements RFC3261 §16.3 ¶6
    if (m.method !== "ACK" && m.method !== "CANCEL") {
      const hash = loopHash(m);
      for (const v of m.via().slice(1)) {
        const b = v.params.branch ?? "";
        if (this.#viaIsUs(v) && b.startsWith(MAGIC_COOKIE + hash + ".")) {
          return this.#reply(inc, 482);
        }
      }
    }
    // @implements RFC3261 §16.3 ¶7
    const unsupported = m.values("Proxy-Require").filter((t) =>
      !(this.#o.supported ?? []).includes(t)
    );
    if (unsupported.length && m.method !== "ACK" && m.method !== "CANCEL") {
      return this.#reply(inc, 420, [["Unsupported", unsupported.join(", ")]]);
    }
    // CANCEL for an INVITE we proxy (§16.10).
    if (m.method === "CANCEL" && inc.cancelled) return this.#cancel(inc, inc.cancelled);

    // @implements RFC3261 §16.4
    const req = new Message({
      method: m.method!,
      uri: m.uri!,
      version: m.version,
      headers: m.headers.map((h) => ({ name: h.name, value: h.value })),
      body: m.body,
    });
    req.compact = m.compact;
    if (this.#isUs(ruri) && ruri.params.has("lr") === false && req.has("Route")) {
      // Strict router upstream: the Request-URI is our Record-Route value.
      const routes = req.addresses("Route");
      const last = routes.pop()!;
      req.uri = last.uri;
      this.#setRoutes(req, routes);
      ruri = parseUri(req.uri);
    }
    let routes = req.addresses("Route");
    while (routes.length && this.#isUs(parseUri(routes[0]!.uri))) routes = routes.slice(1);
    if (routes.length !== req.values("Route").length) this.#setRoutes(req, routes);

    // @implements RFC3261 §16.5
    let targets: string[];
    if (routes.length === 0 && this.#isLocalTarget(ruri)) {
      targets = this.#o.locate ? await this.#o.locate(ruri) : [];
      if (targets.length === 0) {
        if (m.method === "ACK") return;
        if (m.method === "OPTIONS" && ruri.user === undefined) {
          return this.#reply(inc, 200, [["Allow", ALLOW]]);
        }
        return this.#reply(inc, this.#o.locate ? 480 : 404);
      }
    } else targets = [req.uri!];

    if (m.method === "ACK" || !inc.transaction) {
      // ACK for a 2xx, or a stateless proxy: forward each target statelessly (§16.11).
      for (const t of targets.slice(0, 1)) await this.#forwardStateless(req, t, inc);
      return;
    }
    const ctx: ResponseContext = {
      server: inc.transaction,
      request: req,
      pending: [...targets],
      branches: [],
      best: undefined,
      finalSent: false,
      twoHundred: false,
    };
    this.#contexts.set(inc.transaction, ctx);
    // @implements RFC3261 §16.2 ¶7
    if (m.method === "INVITE") {
      (inc.transaction as InviteServerTransaction).respond(createResponse(m, 100));
    }
    if (this.#o.sequential) await this.#next(ctx, inc.source);
    else while (ctx.pending.length) await this.#next(ctx, inc.source);
  }

  #isLocalTarget(uri: Uri): boolean {
    return this.#o.isLocal(uri) || this.#isUs(uri);
  }

  #setRoutes(
    req: SipMessage,
    routes: { uri: string; displayName?: string; params: Record<string, string | null> }[],
  ): void {
    req.remove("Route");
    for (const r of routes) req.add("Route", `<${r.uri}>`);
  }

  async #prepare(
    req: SipMessage,
    targetUri: string,
    source: SipSource,
    branch: string,
    fixed?: SipTarget,
  ): Promise<[SipMessage, SipTarget, SipTransport, SipTarget[]]> {
    // @implements RFC3261 §16.6 ¶2-4
    const copy = new Message({
      method: req.method!,
      uri: targetUri,
      version: req.version,
      headers: req.headers.map((h) => ({ name: h.name, value: h.value })),
      body: req.body,
    });
    copy.compact = req.compact;
    // @implements RFC3261 §16.6 ¶5
    const mf = copy.maxForwards();
    copy.set("Max-Forwards", String(mf === undefined ? 70 : mf - 1));
    let targets = fixed ? [fixed] : await this.#ep.targets(copy);
    const allow = this.#o.allowTarget;
    if (allow) {
      const all = targets;
      targets = targets.filter(allow);
      if (targets.length === 0) {
        const t = all[0]!;
        throw new ProxyTargetError(`Cannot forward to ${t.host}:${t.port}: target not allowed`);
      }
    }
    // Record-Route and Via add up to ~250 bytes.
    const target = this.#ep.congestionSafe(targets[0]!, copy.toBytes().length + 250);
    targets[0] = target;
    const out = this.#ep.transport(target.transport) ?? this.#ep.transports[0]!;
    // @implements RFC3261 §16.6 ¶6, RFC5658 §4
    if (
      this.#rr &&
      (copy.method === "INVITE" || copy.method === "SUBSCRIBE" || copy.method === "REFER")
    ) {
      const extra = this.#o.recordRouteParams ? await this.#o.recordRouteParams(copy) : "";
      const rr = (t: SipTransport) =>
        `<sip:${this.#ep.hostFor(t)}:${t.port}${
          t.name === "UDP" ? "" : ";transport=" + t.name.toLowerCase()
        };lr${extra}>`;
      if (out !== source.transport) {
        copy.add("Record-Route", rr(source.transport), true);
        copy.add("Record-Route", rr(out), true);
      } else copy.add("Record-Route", rr(out), true);
    }
    // @implements RFC3261 §16.6 ¶8
    copy.add(
      "Via",
      `SIP/2.0/${out.name} ${this.#ep.hostFor(out)}:${out.port};branch=${branch}`,
      true,
    );
    return [copy, target, out, targets];
  }

  async #forwardStateless(req: SipMessage, targetUri: string, inc: IncomingRequest): Promise<void> {
    // @implements RFC3261 §16.11 ¶4
    const top = inc.request.via()[0];
    const branch = MAGIC_COOKIE + fnv(`${top?.params.branch}|${targetUri}|${req.method}`);
    const [copy, target] = await this.#prepare(req, targetUri, inc.source, branch);
    this.#ep.sendStateless(copy, target);
  }

  async #next(ctx: ResponseContext, source: SipSource): Promise<void> {
    const targetUri = ctx.pending.shift();
    if (targetUri === undefined) return;
    const branch = `${MAGIC_COOKIE}${loopHash(ctx.request)}.${
      crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36)
    }`;
    let copy: SipMessage, target: SipTarget, targets: SipTarget[];
    try {
      [copy, target, , targets] = await this.#prepare(ctx.request, targetUri, source, branch);
    } catch (e) {
      log.info("Cannot reach {target}: {error}", { target: targetUri, error: String(e) });
      // Made from the received request: it carries the caller's Via at the top, not ours.
      const status = e instanceof ProxyTargetError ? 403 : 502;
      const r = createResponse(ctx.request, status, { toTag: fnv(ctx.request.callId()) });
      this.#onBranchResponse(ctx, undefined, r, source);
      return;
    }
    const b: Branch = {
      request: copy,
      target,
      tx: undefined,
      final: undefined,
      provisional: false,
      cancelled: false,
      cancelSent: false,
      timerC: undefined,
    };
    ctx.branches.push(b);
    this.#branchCtx.set(branch, ctx);
    this.#send(ctx, b, targetUri, targets, 0, source);
    if (copy.method === "INVITE") this.#startTimerC(ctx, b, source);
  }

  /** Sends a branch to `targets[i]`, moving on to the next target on failure. */
  #send(
    ctx: ResponseContext,
    b: Branch,
    targetUri: string,
    targets: SipTarget[],
    i: number,
    source: SipSource,
  ): void {
    let failed = false;
    const tx = this.#ep.forward(b.request, b.target, {
      onFailure: () => failed = true,
      onResponse: (r) => {
        if (b.tx !== tx) return;
        // @implements RFC3263 §4.3 ¶2
        if (
          (r.status === 503 || (failed && !b.provisional)) && i + 1 < targets.length &&
          !b.cancelled && !b.final && !ctx.finalSent
        ) {
          this.#failover(ctx, b, targetUri, targets, i + 1, source).catch((e) => {
            log.info("Failover to {target} failed: {error}", {
              target: targetUri,
              error: String(e),
            });
            this.#onBranchResponse(ctx, b, createResponse(b.request, 502), source);
          });
          return;
        }
        this.#onBranchResponse(ctx, b, r, source);
      },
    });
    b.tx = tx;
  }

  async #failover(
    ctx: ResponseContext,
    b: Branch,
    targetUri: string,
    targets: SipTarget[],
    i: number,
    source: SipSource,
  ): Promise<void> {
    const old = b.request.via()[0]?.params.branch;
    if (old) this.#branchCtx.delete(old);
    const branch = `${MAGIC_COOKIE}${loopHash(ctx.request)}.${
      crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36)
    }`;
    const [copy, target] = await this.#prepare(ctx.request, targetUri, source, branch, targets[i]);
    log.info("Branch to {host}:{port} failed; trying {next}:{nextPort}", {
      host: b.target.host,
      port: b.target.port,
      next: target.host,
      nextPort: target.port,
    });
    b.request = copy;
    b.target = target;
    b.provisional = false;
    this.#branchCtx.set(branch, ctx);
    this.#send(ctx, b, targetUri, targets, i, source);
  }

  // @implements RFC3261 §16.8
  #startTimerC(ctx: ResponseContext, b: Branch, source: SipSource): void {
    const clock = this.#ep.clock;
    if (b.timerC !== undefined) clock.clear(b.timerC);
    b.timerC = clock.set(() => {
      b.timerC = undefined;
      if (b.final) return;
      if (b.provisional) {
        // A CANCEL ends the branch; its 487 completes the context.
        b.cancelled = true;
        if (!b.cancelSent) this.#sendCancel(b);
      } else {
        b.tx?.close();
        this.#onBranchResponse(ctx, b, createResponse(b.request, 408), source);
      }
    }, this.#o.timerC ?? 180_000);
  }

  // === Responses (RFC 3261 §16.7) ===

  #onBranchResponse(
    ctx: ResponseContext,
    b: Branch | undefined,
    r: SipMessage,
    source: SipSource,
  ): void {
    if (b) {
      if (r.status < 200) {
        // @implements RFC3261 §16.7 ¶4
        if (r.status > 100 && b.timerC !== undefined) this.#startTimerC(ctx, b, source);
        b.provisional = true;
        // @implements RFC3261 §9.1 ¶6
        if (b.cancelled && !b.cancelSent) this.#sendCancel(b);
      } else {
        b.final = r;
        if (b.timerC !== undefined) this.#ep.clock.clear(b.timerC);
        b.timerC = undefined;
      }
    }
    // A locally generated response (408, 503) carries our Via at the top too.
    if (b && r.status >= 200) {
      const branch = b.request.via()[0]?.params.branch;
      if (branch) this.#branchCtx.delete(branch);
    }
    // @implements RFC3261 §16.7 ¶3-5
    if (r.status === 100) return;
    // A branch's response (received, or made from the branch request) starts with our Via,
    // which goes; a response made without a branch already has the caller's Via on top.
    const up = b ? this.#upstream(r) : r;
    if (r.status < 200) {
      if (!ctx.finalSent) ctx.server?.respond(up);
      return;
    }
    if (r.status < 300) {
      // @implements RFC3261 §16.7 ¶10
      ctx.twoHundred = true;
      ctx.finalSent = true;
      if (ctx.request.method === "INVITE") {
        // Every 2xx goes upstream; the server transaction is gone after the first.
        const st = ctx.server?.state;
        if (st === "proceeding" || st === "accepted") ctx.server!.respond(up);
        else this.#ep.sendResponse(up, source);
        this.#cancelPending(ctx);
      } else ctx.server?.respond(up);
      this.#maybeDone(ctx);
      return;
    }
    if (ctx.best === undefined || bestResponse([ctx.best, up]) === up) ctx.best = up;
    if (responseClass(r.status) === 6) this.#cancelPending(ctx);
    if (
      this.#o.sequential && !ctx.twoHundred && responseClass(r.status) !== 6 && ctx.pending.length
    ) {
      this.#next(ctx, source);
      return;
    }
    this.#maybeDone(ctx);
  }

  #upstream(r: SipMessage): SipMessage {
    const up = new Message({
      status: r.status,
      reason: r.reason,
      version: r.version,
      headers: r.headers.map((h) => ({ name: h.name, value: h.value })),
      body: r.body,
    });
    up.compact = r.compact;
    up.popVia();
    return up;
  }

  #maybeDone(ctx: ResponseContext): void {
    if (ctx.pending.length || ctx.branches.some((b) => !b.final)) return;
    if (!ctx.finalSent && ctx.best) {
      // @implements RFC3261 §16.7 ¶7
      let best = ctx.best;
      if (best.status === 503) {
        best = new Message({ status: 500, reason: "Server Internal Error", headers: best.headers });
      }
      // @implements RFC3261 §16.7 ¶8
      if (best.status === 401 || best.status === 407) {
        for (const b of ctx.branches) {
          if (
            b.final && b.final !== ctx.best && (b.final.status === 401 || b.final.status === 407)
          ) {
            for (const name of ["WWW-Authenticate", "Proxy-Authenticate"]) {
              for (const v of b.final.values(name)) best.add(name, v);
            }
          }
        }
      }
      ctx.finalSent = true;
      ctx.server?.respond(best);
    }
    if (ctx.server) this.#contexts.delete(ctx.server);
  }

  // === CANCEL (RFC 3261 §16.10, §9.1) ===

  #cancel(inc: IncomingRequest, invite: InviteServerTransaction): void {
    this.#reply(inc, 200);
    const ctx = this.#contexts.get(invite);
    if (!ctx) return;
    ctx.pending = [];
    this.#cancelPending(ctx);
    if (ctx.branches.length === 0 && !ctx.finalSent) {
      ctx.finalSent = true;
      invite.respond(createResponse(invite.request, 487, { toTag: fnv(invite.request.callId()) }));
    }
  }

  // @implements RFC3261 §16.10 ¶3, §9.1
  #cancelPending(ctx: ResponseContext): void {
    ctx.pending = [];
    if (ctx.request.method !== "INVITE") return;
    for (const b of ctx.branches) {
      if (b.final || b.cancelled) continue;
      b.cancelled = true;
      if (b.provisional) this.#sendCancel(b);
    }
  }

  #sendCancel(b: Branch): void {
    {
      b.cancelSent = true;
      const c = new Message({ method: "CANCEL", uri: b.request.uri! });
      c.add("Via", b.request.values("Via")[0]!);
      for (const name of ["Route", "Max-Forwards", "From", "To", "Call-ID"]) {
        for (const h of b.request.headers) if (h.name === name) c.add(name, h.value);
      }
      c.add("CSeq", `${b.request.cseq().seq} CANCEL`);
      this.#ep.forward(c, b.target, {});
    }
  }

  // === Stray responses (RFC 3261 §16.7 ¶1, §16.11) ===

  /**
   * Forwards a response that matched no client transaction statelessly,
   * after checking and removing our Via.
   *
   * @param r The response.
   */
  handleStray(r: SipMessage): void {
    let vias: string[];
    try {
      vias = r.values("Via");
      const top = parseVia(vias[0] ?? "");
      if (!this.#viaIsUs(top)) return;
    } catch {
      return;
    }
    if (vias.length < 2) return;
    const up = this.#upstream(r);
    this.#ep.sendResponse(up);
  }
}
