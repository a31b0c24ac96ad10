// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The SIP user-agent core: UAC and UAS behaviour (§8), registration (§10.2),
 * dialogs with route sets and loose/strict routing (§12), INVITE with ACK
 * for 2xx and 2xx retransmission (§13), re-INVITE (§14), BYE (§15), CANCEL
 * (§9), OPTIONS (§11) and digest retry on 401/407 (§22.2).
 *
 * Part of `@rtclite/std/ietf/rfc3261`, which re-exports it.
 *
 * @example The UAS checks of §8.2
 * ```ts
 * import { checkUasRequest, parseMessage } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const m = parseMessage("SUBSCRIBE sip:b@x SIP/2.0\r\nCSeq: 1 SUBSCRIBE\r\n\r\n");
 * equal(checkUasRequest(m, { methods: ["INVITE", "BYE"] })?.status, 405);
 * ```
 *
 * @module
 */
import { parseUri } from "../rfc2396/mod.ts";
import { DigestClient } from "../rfc2617/mod.ts";
import { getLogger } from "../../log.ts";
import { createResponse, formatAddress, SipMessage } from "./message.ts";
import { Dialog } from "./dialog.ts";
import type { InviteServerTransaction } from "./transaction.ts";
import {
  ALLOW,
  type ClientTransaction,
  type IncomingRequest,
  randomToken,
  type SipEndpoint,
  type SipSource,
} from "./endpoint.ts";

const log = getLogger("sip", "ua");

// === UAS checks (RFC 3261 §8.2) ===

/** What a UAS supports, for {@linkcode checkUasRequest}. */
export interface UasCapabilities {
  /** Methods the UAS handles. */
  methods: string[];
  /** Option tags it supports (Require). */
  supported?: string[];
  /** Body types it accepts. */
  accept?: string[];
}

/**
 * The UAS request checks of §8.2 in order: method (405), URI scheme (416),
 * Require (420), Content-Type (415), Accept (406). Returns the error
 * response to send, or `undefined` to go on.
 *
 * @param m A validated request.
 * @param caps What the UAS supports.
 * @returns The status code and extra headers, or `undefined`.
 *
 * @example
 * ```ts
 * import { checkUasRequest, parseMessage } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const m = parseMessage("OPTIONS tel:+1555 SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n");
 * equal(checkUasRequest(m, { methods: ["OPTIONS"] })?.status, 416);
 * ```
 */
// @implements RFC3261 §8.2.1, §8.2.2.1, §8.2.2.3, §8.2.3
export function checkUasRequest(
  m: SipMessage,
  caps: UasCapabilities,
): { status: number; headers: [string, string][] } | undefined {
  if (!caps.methods.includes(m.method!)) {
    return { status: m.method === "ACK" ? 0 : 405, headers: [["Allow", caps.methods.join(", ")]] };
  }
  const scheme = m.uri!.slice(0, m.uri!.indexOf(":")).toLowerCase();
  if (scheme !== "sip" && scheme !== "sips") return { status: 416, headers: [] };
  if (m.method !== "ACK" && m.method !== "CANCEL") {
    const unsupported = m.values("Require").filter((t) => !(caps.supported ?? []).includes(t));
    if (unsupported.length) {
      return { status: 420, headers: [["Unsupported", unsupported.join(", ")]] };
    }
  }
  const accept = caps.accept ?? ["application/sdp"];
  const ct = (m.header("Content-Type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (m.body.length && ct && !accept.includes(ct)) {
    return { status: 415, headers: [["Accept", accept.join(", ")]] };
  }
  const wants = m.values("Accept").map((a) => a.split(";")[0]!.trim().toLowerCase());
  if (
    m.method === "INVITE" && wants.length &&
    !wants.some((w) => w === "*/*" || w === "application/*" || accept.includes(w))
  ) {
    return { status: 406, headers: [["Accept", accept.join(", ")]] };
  }
  return undefined;
}

// === Calls ===

/** Call state. */
export type CallState = "calling" | "ringing" | "established" | "terminated";

/** One INVITE session, outgoing or incoming. */
export class Call {
  /** Direction. */
  readonly direction: "outgoing" | "incoming";
  /** State. */
  state: CallState;
  /** The dialog once established. */
  dialog: Dialog | undefined;
  /** The initial INVITE. */
  readonly invite: SipMessage;
  /** Remote session description (body of the peer's offer or answer). */
  remoteBody: Uint8Array | undefined;
  /** Final status or reason when the call ended. */
  endReason = "";
  /** Called on each state change. */
  onState: (state: CallState) => void = () => {};
  /** Called when a re-INVITE arrives; returns the answer body (default: the last local body). */
  onReinvite: ((offer: SipMessage) => Uint8Array | undefined) | undefined;
  /** Local body last sent (offer or answer). */
  localBody: Uint8Array | undefined;
  #ua: UserAgent;
  #ended = Promise.withResolvers<string>();
  /** @internal */ _tx: InviteServerTransaction | undefined;
  /** @internal */ _clientTx: ClientTransaction | undefined;
  /** @internal */ _ack: SipMessage | undefined;
  /** @internal */ _retransmit: number | undefined;
  /** @internal */ _source: SipSource | undefined;
  /** @internal */ _localTag = "";

  /**
   * Creates a call (made by {@linkcode UserAgent}).
   *
   * @param ua The user agent.
   * @param direction Outgoing or incoming.
   * @param invite The INVITE.
   */
  constructor(ua: UserAgent, direction: "outgoing" | "incoming", invite: SipMessage) {
    this.#ua = ua;
    this.direction = direction;
    this.invite = invite;
    this.state = direction === "outgoing" ? "calling" : "ringing";
  }

  /** Resolves with the end reason when the call terminates. */
  get ended(): Promise<string> {
    return this.#ended.promise;
  }

  /** @internal */
  _setState(s: CallState, reason?: string): void {
    if (this.state === "terminated" || this.state === s) return;
    this.state = s;
    if (s === "terminated") {
      this.endReason = reason ?? "";
      if (this.dialog) this.dialog.state = "terminated";
      this.#ended.resolve(this.endReason);
    }
    this.onState(s);
  }

  /**
   * Sends 180 Ringing (incoming calls).
   */
  ringing(): void {
    this.#ua._respondInvite(this, 180);
  }

  /**
   * Answers an incoming call with 200 OK.
   *
   * @param body Answer body (SDP).
   * @param contentType Body type, default `application/sdp`.
   */
  accept(body?: Uint8Array | string, contentType = "application/sdp"): void {
    this.#ua._respondInvite(this, 200, body, contentType);
  }

  /**
   * Rejects an incoming call.
   *
   * @param status A 3xx-6xx status, default 486.
   */
  reject(status = 486): void {
    this.#ua._respondInvite(this, status);
  }

  /** Cancels an outgoing call that is not answered yet (§9.1). */
  cancel(): void {
    this.#ua._cancel(this);
  }

  /**
   * Hangs up an established call with BYE (§15.1).
   *
   * @returns The final response status of the BYE.
   */
  async bye(): Promise<number> {
    return await this.#ua._bye(this);
  }

  /**
   * Sends a re-INVITE with a new offer (§14.1).
   *
   * @param body The offer.
   * @returns The final response.
   */
  async reinvite(body: Uint8Array | string): Promise<SipMessage> {
    return await this.#ua._reinvite(this, body);
  }
}

// === The user agent ===

/** Options of {@linkcode UserAgent}. */
export interface UserAgentOptions {
  /** Endpoint to send and receive through; the UA takes its callbacks. */
  endpoint: SipEndpoint;
  /** Address-of-record, e.g. `sip:alice@example.com`. */
  aor: string;
  /** Display name for From. */
  displayName?: string;
  /** Digest user name (default: the AOR's user). */
  username?: string;
  /** Digest password; enables retry on 401/407. */
  password?: string;
  /** Outbound proxy URI, used as a pre-existing route (`;lr` added). */
  outboundProxy?: string;
  /** Called for each new incoming call; answer with `call.accept()` or `call.reject()`. */
  onInvite?: (call: Call) => void;
  /** User-Agent header value. */
  userAgent?: string;
}

/**
 * A SIP user agent: registers, places and receives calls, answers OPTIONS.
 *
 * @example Two user agents on 127.0.0.1 call each other directly
 * ```ts
 * import { SipEndpoint, UserAgent } from "@rtclite/std/ietf/rfc3261";
 * import { UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
 * import { equal } from "node:assert/strict";
 *
 * const bob = new UserAgent({
 *   endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
 *   aor: "sip:bob@127.0.0.1",
 *   onInvite: (call) => call.accept("v=0\r\n"),
 * });
 * const alice = new UserAgent({
 *   endpoint: new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] }),
 *   aor: "sip:alice@127.0.0.1",
 * });
 * const call = await alice.invite(`sip:bob@127.0.0.1:${bob.endpoint.transports[0]!.port}`, "v=0\r\n");
 * equal(call.state, "established");
 * equal(await call.bye(), 200);
 * await alice.close();
 * await bob.close();
 * ```
 */
export class UserAgent {
  /** The endpoint. */
  readonly endpoint: SipEndpoint;
  /** The address-of-record. */
  readonly aor: string;
  /** Incoming-call handler. */
  onInvite: (call: Call) => void;
  #o: UserAgentOptions;
  #digest: DigestClient | undefined;
  #calls = new Map<string, Call>();
  #regCallId = randomToken(8);
  #regSeq = 0;

  /**
   * Creates the user agent and attaches it to its endpoint.
   *
   * @param options Endpoint, identity, credentials and handlers.
   */
  constructor(options: UserAgentOptions) {
    this.#o = options;
    this.endpoint = options.endpoint;
    this.aor = options.aor;
    this.onInvite = options.onInvite ?? ((c) => c.reject(480));
    if (options.password !== undefined) {
      this.#digest = new DigestClient({
        username: options.username ?? parseUri(options.aor).user ?? "",
        password: options.password,
      });
    }
    this.endpoint.onRequest = (inc) => this.#onRequest(inc);
    this.endpoint.onStrayResponse = (r) => this.#onStray(r);
  }

  /** The Contact URI of this UA on its first transport. */
  get contact(): string {
    const t = this.endpoint.transports[0]!;
    const user = parseUri(this.aor).user;
    return `sip:${user ? user + "@" : ""}${this.endpoint.hostFor(t)}:${t.port}${
      t.name === "UDP" ? "" : ";transport=" + t.name.toLowerCase()
    }`;
  }

  #from(tag: string): string {
    return formatAddress({
      ...(this.#o.displayName ? { displayName: this.#o.displayName } : {}),
      uri: this.aor,
      params: { tag },
    });
  }

  #newRequest(method: string, uri: string, to: string, callId: string, seq: number, tag: string) {
    const m = new SipMessage({ method, uri });
    if (this.#o.outboundProxy) {
      const p = this.#o.outboundProxy;
      m.add("Route", `<${p}${p.includes(";lr") ? "" : ";lr"}>`);
    }
    m.add("Max-Forwards", "70");
    m.add("From", this.#from(tag));
    m.add("To", to);
    m.add("Call-ID", callId);
    m.add("CSeq", `${seq} ${method}`);
    if (this.#o.userAgent) m.add("User-Agent", this.#o.userAgent);
    return m;
  }

  /**
   * Sends a request and resolves with its final response, retrying once
   * with digest credentials on 401/407 when a password is configured.
   *
   * @param m The request (without Via).
   * @param onProvisional Receives provisional responses.
   * @param onTx Receives each client transaction created.
   * @returns The final response.
   */
  // @implements RFC3261 §8.1.3.5, §22.2
  async send(
    m: SipMessage,
    onProvisional?: (r: SipMessage) => void,
    onTx?: (tx: ClientTransaction | undefined, m: SipMessage) => void,
  ): Promise<SipMessage> {
    let req = m;
    for (let attempt = 0;; attempt++) {
      const done = Promise.withResolvers<SipMessage>();
      const tx = await this.endpoint.request(req, {
        onResponse: (r) => r.status < 200 ? onProvisional?.(r) : done.resolve(r),
      });
      onTx?.(tx, req);
      const r = await done.promise;
      if ((r.status !== 401 && r.status !== 407) || !this.#digest || attempt > 0) return r;
      const name = r.status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate";
      let auth: string;
      try {
        auth = await this.#digest.authorize(r.values(name), {
          method: req.method!,
          uri: req.uri!,
        });
      } catch {
        return r;
      }
      const next = new SipMessage({
        method: req.method!,
        uri: req.uri!,
        headers: req.headers.filter((h) => h.name !== "Via").map((h) => ({ ...h })),
        body: req.body,
      });
      const seq = next.cseq().seq + 1;
      next.set("CSeq", `${seq} ${req.method}`);
      next.set(r.status === 401 ? "Authorization" : "Proxy-Authorization", auth);
      req = next;
    }
  }

  /**
   * Registers the UA's contact with a registrar.
   *
   * @param registrar Registrar URI, e.g. `sip:example.com` or `sip:127.0.0.1:5060`.
   * @param expires Requested lifetime in seconds (0 removes the binding).
   * @returns The final response.
   */
  // @implements RFC3261 §10.2
  async register(registrar: string, expires = 3600): Promise<SipMessage> {
    const to = formatAddress({ uri: this.aor, params: {} });
    const m = this.#newRequest(
      "REGISTER",
      registrar,
      to,
      this.#regCallId,
      ++this.#regSeq,
      randomToken(4),
    );
    m.add("Contact", `<${this.contact}>`);
    m.add("Expires", String(expires));
    const r = await this.send(m);
    const seq = /^(\d+)/.exec(r.header("CSeq") ?? "")?.[1];
    if (seq) this.#regSeq = Math.max(this.#regSeq, +seq);
    return r;
  }

  /**
   * Sends OPTIONS (§11).
   *
   * @param target Request-URI.
   * @returns The final response.
   */
  async options(target: string): Promise<SipMessage> {
    const m = this.#newRequest("OPTIONS", target, `<${target}>`, randomToken(8), 1, randomToken(4));
    m.add("Accept", "application/sdp");
    return await this.send(m);
  }

  /**
   * Places a call and resolves once it is answered (state `established`)
   * or has failed (state `terminated`, `endReason` holding the status).
   *
   * @param target Request-URI of the callee.
   * @param body Offer body (SDP), optional.
   * @param onCall Receives the call object before the answer (to cancel it).
   * @returns The call.
   */
  // @implements RFC3261 §13.2.1
  async invite(
    target: string,
    body?: Uint8Array | string,
    onCall?: (call: Call) => void,
  ): Promise<Call> {
    const tag = randomToken(4);
    const m = this.#newRequest("INVITE", target, `<${target}>`, randomToken(8), 1, tag);
    m.add("Contact", `<${this.contact}>`);
    m.add("Allow", ALLOW);
    if (body !== undefined) {
      m.add("Content-Type", "application/sdp");
      m.body = typeof body === "string" ? new TextEncoder().encode(body) : body;
    }
    const call = new Call(this, "outgoing", m);
    call.localBody = m.body;
    onCall?.(call);
    const final = await this.send(
      m,
      (r) => {
        if (r.status > 100) call._setState("ringing");
      },
      (tx, req) => {
        call._clientTx = tx;
        (call as { invite: SipMessage }).invite = req;
      },
    );
    const sent = call.invite;
    if (final.status >= 200 && final.status < 300) {
      // @implements RFC3261 §13.2.2.4
      const dialog = Dialog.fromUac(sent, final);
      call.dialog = dialog;
      call.remoteBody = final.body;
      this.#calls.set(dialog.id, call);
      const ack = dialog.createRequest("ACK", sent.cseq().seq);
      call._ack = ack;
      await this.endpoint.request(ack);
      if (call.state !== "terminated") call._setState("established");
    } else {
      call._setState("terminated", `${final.status} ${final.reason}`);
    }
    return call;
  }

  // @implements RFC3261 §13.2.2.4 ¶4
  #onStray(r: SipMessage): void {
    // A retransmitted 2xx to INVITE: send the ACK again.
    try {
      if (r.status < 200 || r.status >= 300 || r.cseq().method !== "INVITE") return;
      const id = `${r.callId()};${r.from().params.tag};${r.to().params.tag}`;
      const call = this.#calls.get(id);
      if (call?._ack) {
        const ack = new SipMessage({
          method: "ACK",
          uri: call._ack.uri!,
          headers: call._ack.headers.map((h) => ({ ...h })),
        });
        this.endpoint.request(ack).catch(() => {});
      }
    } catch { /* ignore malformed */ }
  }

  /** @internal */
  // @implements RFC3261 §9.1
  _cancel(call: Call): void {
    if (
      call.direction !== "outgoing" || call.state === "established" || call.state === "terminated"
    ) return;
    const inv = call.invite;
    const c = new SipMessage({ method: "CANCEL", uri: inv.uri! });
    const via = inv.values("Via")[0];
    if (via === undefined) return;
    c.add("Via", via);
    for (const name of ["Route", "From", "To", "Call-ID"]) {
      for (const h of inv.headers) if (h.name === name) c.add(name, h.value);
    }
    c.add("Max-Forwards", "70");
    c.add("CSeq", `${inv.cseq().seq} CANCEL`);
    // The CANCEL reuses the INVITE's Via (same branch), so send it as-is.
    const sent = this.endpoint.sentTarget(inv);
    (sent ? Promise.resolve(sent) : this.endpoint.target(inv)).then((target) =>
      this.endpoint.forward(c, target, {
        onResponse: (r) => log.debug("CANCEL answered {status}", { status: r.status }),
      })
    ).catch(() => {});
  }

  /** @internal */
  async _bye(call: Call): Promise<number> {
    const d = call.dialog;
    if (!d || call.state === "terminated") return 481;
    call._setState("terminated", "BYE sent");
    const bye = d.createRequest("BYE");
    this.#calls.delete(d.id);
    const r = await this.send(bye);
    return r.status;
  }

  /** @internal */
  async _reinvite(call: Call, body: Uint8Array | string): Promise<SipMessage> {
    const d = call.dialog;
    if (!d) throw new TypeError("Cannot re-INVITE: the call has no dialog");
    const m = d.createRequest("INVITE");
    m.add("Contact", `<${this.contact}>`);
    m.add("Content-Type", "application/sdp");
    m.body = typeof body === "string" ? new TextEncoder().encode(body) : body;
    call.localBody = m.body;
    const r = await this.send(m);
    if (r.status >= 200 && r.status < 300) {
      call.remoteBody = r.body;
      const contact = r.contacts()[0];
      if (contact) d.remoteTarget = contact.uri;
      await this.endpoint.request(d.createRequest("ACK", m.cseq().seq));
    }
    return r;
  }

  // === UAS (RFC 3261 §8.2, §12.2.2, §13.3) ===

  #onRequest(inc: IncomingRequest): void {
    const m = inc.request;
    const reply = (status: number, headers: [string, string][] = [], tag = randomToken(4)) => {
      if (!inc.transaction) return;
      inc.transaction.respond(createResponse(m, status, {
        toTag: tag,
        headers: headers.map(([name, value]) => ({ name, value })),
      }));
    };
    try {
      const toTag = m.to().params.tag ?? undefined;
      // @implements RFC3261 §12.2.2
      if (toTag !== undefined) {
        const id = `${m.callId()};${toTag};${m.from().params.tag}`;
        const call = this.#calls.get(id);
        if (!call || !call.dialog) {
          if (m.method !== "ACK") reply(481, [], toTag);
          return;
        }
        const d = call.dialog;
        const seq = m.cseq().seq;
        if (m.method === "ACK") {
          this.#stopRetransmit(call);
          if (call.state !== "terminated") call._setState("established");
          return;
        }
        if (m.method === "CANCEL") return;
        if (d.remoteSeq !== undefined && seq < d.remoteSeq) return reply(500, [], toTag);
        d.remoteSeq = seq;
        if (m.method === "BYE") {
          reply(200, [], toTag);
          this.#stopRetransmit(call);
          this.#calls.delete(d.id);
          call._setState("terminated", "BYE received");
          return;
        }
        if (m.method === "INVITE") {
          // @implements RFC3261 §14.2
          const contact = m.contacts()[0];
          if (contact) d.remoteTarget = contact.uri;
          call.remoteBody = m.body;
          const answer = call.onReinvite ? call.onReinvite(m) : call.localBody;
          const r = createResponse(m, 200, { toTag });
          r.add("Contact", `<${this.contact}>`);
          if (answer?.length) {
            r.add("Content-Type", "application/sdp");
            r.body = answer;
          }
          inc.transaction?.respond(r);
          return;
        }
        if (m.method === "OPTIONS") return reply(200, [["Allow", ALLOW]], toTag);
        return reply(405, [["Allow", ALLOW]], toTag);
      }
      if (m.method === "ACK") return;
      if (m.method === "CANCEL") return this.#onCancel(inc);
      const bad = checkUasRequest(m, {
        methods: ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"],
      });
      if (bad) return reply(bad.status, bad.headers);
      if (m.method === "OPTIONS") {
        return reply(200, [["Allow", ALLOW], ["Accept", "application/sdp"]]);
      }
      if (m.method === "BYE") return reply(481);
      if (m.method === "INVITE") {
        const call = new Call(this, "incoming", m);
        call._tx = inc.transaction as InviteServerTransaction;
        call._source = inc.source;
        call.remoteBody = m.body;
        call._localTag = randomToken(4);
        this.#incoming.set(inc.transaction!, call);
        this.onInvite(call);
      }
    } catch (e) {
      log.warn("UAS failed on {method}: {error}", { method: m.method, error: String(e) });
      reply(500);
    }
  }

  #incoming = new Map<object, Call>();

  #onCancel(inc: IncomingRequest): void {
    const tx = inc.transaction;
    tx?.respond(createResponse(inc.request, inc.cancelled ? 200 : 481, { toTag: randomToken(4) }));
    const invTx = inc.cancelled;
    if (!invTx) return;
    const call = this.#incoming.get(invTx);
    // @implements RFC3261 §9.2 ¶4
    if (call && call.state === "ringing") {
      call._setState("terminated", "cancelled");
      this._respondInvite(call, 487);
    }
  }

  /** @internal */
  // @implements RFC3261 §13.3.1
  _respondInvite(call: Call, status: number, body?: Uint8Array | string, ct?: string): void {
    const tx = call._tx;
    if (!tx || call.direction !== "incoming") return;
    if (tx.state !== "proceeding") return;
    const tag = call._localTag;
    const r = createResponse(call.invite, status, { toTag: tag });
    if (status > 100 && status < 300) {
      r.add("Contact", `<${this.contact}>`);
      for (const h of call.invite.headers) {
        if (h.name === "Record-Route") r.add("Record-Route", h.value);
      }
    }
    if (body !== undefined) {
      r.add("Content-Type", ct ?? "application/sdp");
      r.body = typeof body === "string" ? new TextEncoder().encode(body) : body;
      call.localBody = r.body;
    }
    tx.respond(r);
    if (status >= 200 && status < 300) {
      const d = Dialog.fromUas(call.invite, tag);
      call.dialog = d;
      this.#calls.set(d.id, call);
      this.#incoming.delete(tx);
      // @implements RFC3261 §13.3.1.4 ¶2-3
      if (!call._source?.transport.reliable) {
        const { t1, t2 } = this.endpoint.timers;
        const clock = this.endpoint.clock;
        const start = clock.now();
        const again = (ms: number) => {
          call._retransmit = clock.set(() => {
            if (clock.now() - start >= 64 * t1) {
              // @implements RFC3261 §13.3.1.4 ¶4
              call._retransmit = undefined;
              this._bye(call).catch(() => {});
              return;
            }
            tx.respond(r);
            again(Math.min(2 * ms, t2));
          }, ms);
        };
        again(t1);
      }
    } else if (status >= 300) {
      this.#incoming.delete(tx);
      call._setState("terminated", `${status} sent`);
    }
  }

  #stopRetransmit(call: Call): void {
    if (call._retransmit !== undefined) {
      this.endpoint.clock.clear(call._retransmit);
      call._retransmit = undefined;
    }
  }

  /** Active calls with a dialog. */
  get calls(): Call[] {
    return [...this.#calls.values()];
  }

  /** Closes the endpoint. */
  async close(): Promise<void> {
    for (const c of this.#calls.values()) this.#stopRetransmit(c);
    await this.endpoint.close();
  }
}
