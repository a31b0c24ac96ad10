// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * SIP transactions: the four state machines of RFC 3261 §17 with timers
 * A-K, sans-I/O over an injected {@linkcode Clock}, and transaction
 * matching (§17.1.3, §17.2.3 including the RFC 2543 fallback).
 *
 * Part of `@rtclite/std/ietf/rfc3261`, which re-exports it.
 *
 * @example A non-INVITE client transaction on a manual clock
 * ```ts
 * import { ManualClock, NonInviteClientTransaction, parseMessage } from "@rtclite/std/ietf/rfc3261";
 * import { deepEqual } from "node:assert/strict";
 *
 * const clock = new ManualClock();
 * const sent: number[] = [];
 * const req = parseMessage("OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK2\r\nCSeq: 1 OPTIONS\r\n\r\n");
 * new NonInviteClientTransaction(req, { clock, send: () => sent.push(clock.now()), onResponse: () => {} });
 * clock.advance(2000);
 * deepEqual(sent, [0, 500, 1500]); // Timer E doubles
 * ```
 *
 * @module
 */
import { parseMessage, SipMessage, type Via } from "./message.ts";

// === Clock ===

/** A source of time and timers; inject {@linkcode ManualClock} in tests. */
export interface Clock {
  /** Current time in milliseconds. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds; returns a handle for {@linkcode Clock.clear}. */
  set(fn: () => void, ms: number): number;
  /** Cancels a timer. */
  clear(handle: number): void;
}

/** The real clock, on `setTimeout`. */
export const realClock: Clock = {
  now: () => Date.now(),
  set: (fn, ms) => setTimeout(fn, ms) as unknown as number,
  clear: (h) => clearTimeout(h),
};

/**
 * A clock that only moves when told to: tests drive every timer path
 * without sleeping.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@rtclite/std/ietf/rfc3261";
 * import { deepEqual } from "node:assert/strict";
 *
 * const clock = new ManualClock();
 * const fired: number[] = [];
 * clock.set(() => fired.push(clock.now()), 500);
 * clock.set(() => fired.push(clock.now()), 100);
 * clock.advance(1000);
 * deepEqual(fired, [100, 500]);
 * ```
 */
export class ManualClock implements Clock {
  #now = 0;
  #seq = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();

  /** Current time in milliseconds since the clock was made. */
  now(): number {
    return this.#now;
  }

  /**
   * Schedules `fn`.
   *
   * @param fn Callback.
   * @param ms Delay in milliseconds.
   * @returns The timer handle.
   */
  set(fn: () => void, ms: number): number {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  /**
   * Cancels a timer.
   *
   * @param handle A handle from {@linkcode ManualClock.set}.
   */
  clear(handle: number): void {
    this.#timers.delete(handle);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward, firing due timers in order.
   *
   * @param ms Milliseconds to advance.
   */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (!next || e[1].at < next[1].at) next = e;
      if (!next || next[1].at > end) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = end;
  }
}

// === Timer values (RFC 3261 §17.1.1.1, Table 4) ===

/** Timer base values in milliseconds (RFC 3261 Table 4). */
export interface TimerValues {
  /** RTT estimate, default 500. */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4000. */
  t2: number;
  /** Maximum duration a message remains in the network, default 5000. */
  t4: number;
}

/** The default timer values of RFC 3261 Table 4. */
export const DEFAULT_TIMERS: TimerValues = { t1: 500, t2: 4000, t4: 5000 };

// === Common ===

/** Transaction states of RFC 3261 §17. */
export type TransactionState =
  | "calling"
  | "trying"
  | "proceeding"
  | "completed"
  | "confirmed"
  | "accepted"
  | "terminated";

/** What a transaction needs from its environment. */
export interface TransactionOptions {
  /** Sends a message on the transport the transaction uses. */
  send: (m: SipMessage) => void;
  /** Whether the transport is reliable (TCP, TLS, WS): no retransmissions. */
  reliable?: boolean;
  /** The clock. Default {@linkcode realClock}. */
  clock?: Clock;
  /** Timer values. Default {@linkcode DEFAULT_TIMERS}. */
  timers?: TimerValues;
  /** Called when the transaction reaches the terminated state. */
  onTerminated?: () => void;
}

/** Why a client transaction ended without a final response. */
export type ClientFailure = "timeout" | "transport";

/** What the four transaction state machines share: state, timers, sending. */
export abstract class Transaction {
  /** Current state. */
  state: TransactionState;
  /** Options with defaults applied. */
  protected readonly opts: Required<Omit<TransactionOptions, "onTerminated">> & {
    onTerminated?: () => void;
  };
  #handles = new Map<string, number>();

  /**
   * Sets up the common parts.
   *
   * @param initial Initial state.
   * @param options Transport, clock and timers.
   */
  constructor(initial: TransactionState, options: TransactionOptions) {
    this.state = initial;
    this.opts = {
      send: options.send,
      reliable: options.reliable ?? false,
      clock: options.clock ?? realClock,
      timers: options.timers ?? DEFAULT_TIMERS,
      ...(options.onTerminated ? { onTerminated: options.onTerminated } : {}),
    };
  }

  /** Names of running timers (for tests and logging). */
  get timers(): string[] {
    return [...this.#handles.keys()];
  }

  /** Starts (or restarts) a named timer. */
  protected start(name: string, ms: number, fn: () => void): void {
    this.stop(name);
    this.#handles.set(
      name,
      this.opts.clock.set(() => {
        this.#handles.delete(name);
        fn();
      }, ms),
    );
  }

  /** Stops a named timer. */
  protected stop(name: string): void {
    const h = this.#handles.get(name);
    if (h !== undefined) {
      this.opts.clock.clear(h);
      this.#handles.delete(name);
    }
  }

  /** Moves to the terminated state and stops every timer. */
  protected terminate(): void {
    if (this.state === "terminated") return;
    this.state = "terminated";
    for (const h of this.#handles.values()) this.opts.clock.clear(h);
    this.#handles.clear();
    this.opts.onTerminated?.();
  }

  /** Ends the transaction at once (endpoint shutdown): stops every timer, reports nothing. */
  close(): void {
    this.terminate();
  }

  /** Hands a message to the transport. */
  protected send(m: SipMessage): void {
    this.opts.send(m);
  }
}

// === INVITE client transaction (RFC 3261 §17.1.1) ===

/** Callbacks of a client transaction to its transaction user. */
export interface ClientTransactionOptions extends TransactionOptions {
  /** Receives every response passed up to the TU. */
  onResponse: (r: SipMessage) => void;
  /** Called on Timer B/F expiry or a transport error. */
  onFailure?: (why: ClientFailure) => void;
}

/**
 * Builds the ACK for a non-2xx final response to an INVITE (RFC 3261
 * §17.1.1.3): Request-URI, Call-ID, From, top Via and Route of the request,
 * To of the response, CSeq number with method ACK.
 *
 * @param invite The INVITE sent.
 * @param response The non-2xx final response.
 * @returns The ACK request.
 */
// @implements RFC3261 §17.1.1.3
export function ackForNon2xx(invite: SipMessage, response: SipMessage): SipMessage {
  const ack = new SipMessage({ method: "ACK", uri: invite.uri! });
  const topVia = invite.values("Via")[0];
  if (topVia !== undefined) ack.add("Via", topVia);
  for (const name of ["Max-Forwards", "From"]) {
    const v = invite.header(name);
    if (v !== undefined) ack.add(name, v);
  }
  ack.add("To", response.header("To") ?? invite.header("To") ?? "");
  ack.add("Call-ID", invite.header("Call-ID") ?? "");
  ack.add("CSeq", `${invite.cseq().seq} ACK`);
  for (const h of invite.headers) if (h.name === "Route") ack.add("Route", h.value);
  return ack;
}

/**
 * The INVITE client transaction (RFC 3261 §17.1.1, Figure 5).
 *
 * @example Timer A retransmits, Timer B gives up
 * ```ts
 * import { InviteClientTransaction, ManualClock, parseMessage } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const clock = new ManualClock();
 * let sent = 0, failed = "";
 * const invite = parseMessage("INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\n\r\n");
 * new InviteClientTransaction(invite, {
 *   clock, send: () => sent++, onResponse: () => {}, onFailure: (w) => failed = w,
 * });
 * clock.advance(500 + 1000 + 2000);
 * equal(sent, 4); // initial + A at 500, 1500, 3500
 * clock.advance(32000);
 * equal(failed, "timeout");
 * ```
 */
// @implements RFC3261 §17.1.1.2
export class InviteClientTransaction extends Transaction {
  /** The INVITE. */
  readonly request: SipMessage;
  #opts: ClientTransactionOptions;
  #ack: SipMessage | undefined;

  /**
   * Creates the transaction and sends the INVITE.
   *
   * @param request The INVITE.
   * @param options Transport, clock and TU callbacks.
   */
  constructor(request: SipMessage, options: ClientTransactionOptions) {
    super("calling", options);
    this.request = request;
    this.#opts = options;
    const { t1 } = this.opts.timers;
    this.send(request);
    if (!this.opts.reliable) this.#timerA(t1);
    this.start("B", 64 * t1, () => this.#fail("timeout"));
  }

  #timerA(ms: number): void {
    this.start("A", ms, () => {
      if (this.state !== "calling") return;
      this.send(this.request);
      this.#timerA(ms * 2);
    });
  }

  #fail(why: ClientFailure): void {
    if (this.state !== "calling" && this.state !== "proceeding") return;
    this.#opts.onFailure?.(why);
    this.terminate();
  }

  /** Reports a transport failure (§17.1.4). */
  transportError(): void {
    this.#fail("transport");
  }

  /**
   * Feeds a matching response.
   *
   * @param r The response.
   */
  receive(r: SipMessage): void {
    const s = r.status;
    switch (this.state) {
      case "calling":
      case "proceeding":
        this.stop("A");
        if (s < 200) {
          this.state = "proceeding";
          this.#opts.onResponse(r);
        } else if (s < 300) {
          this.#opts.onResponse(r);
          this.terminate();
        } else {
          this.state = "completed";
          this.stop("B");
          this.#ack = ackForNon2xx(this.request, r);
          this.send(this.#ack);
          this.#opts.onResponse(r);
          this.start("D", this.opts.reliable ? 0 : 32000, () => this.terminate());
        }
        break;
      case "completed":
        if (s >= 300 && this.#ack) this.send(this.#ack);
        break;
    }
  }
}

// === Non-INVITE client transaction (RFC 3261 §17.1.2) ===

/**
 * The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6).
 *
 * @example
 * ```ts
 * import { ManualClock, NonInviteClientTransaction, parseMessage } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const clock = new ManualClock();
 * const got: number[] = [];
 * const req = parseMessage("OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK2\r\nCSeq: 1 OPTIONS\r\n\r\n");
 * const t = new NonInviteClientTransaction(req, { clock, send: () => {}, onResponse: (r) => got.push(r.status) });
 * t.receive(parseMessage("SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\n\r\n"));
 * equal(t.state, "completed");
 * clock.advance(5000); // Timer K
 * equal(t.state, "terminated");
 * equal(got[0], 200);
 * ```
 */
// @implements RFC3261 §17.1.2.2
export class NonInviteClientTransaction extends Transaction {
  /** The request. */
  readonly request: SipMessage;
  #opts: ClientTransactionOptions;

  /**
   * Creates the transaction and sends the request.
   *
   * @param request A request other than INVITE or ACK.
   * @param options Transport, clock and TU callbacks.
   */
  constructor(request: SipMessage, options: ClientTransactionOptions) {
    super("trying", options);
    this.request = request;
    this.#opts = options;
    const { t1 } = this.opts.timers;
    this.send(request);
    if (!this.opts.reliable) this.#timerE(t1);
    this.start("F", 64 * t1, () => this.#fail("timeout"));
  }

  #timerE(ms: number): void {
    this.start("E", ms, () => {
      if (this.state !== "trying" && this.state !== "proceeding") return;
      this.send(this.request);
      const { t2 } = this.opts.timers;
      this.#timerE(this.state === "proceeding" ? t2 : Math.min(2 * ms, t2));
    });
  }

  #fail(why: ClientFailure): void {
    if (this.state !== "trying" && this.state !== "proceeding") return;
    this.#opts.onFailure?.(why);
    this.terminate();
  }

  /** Reports a transport failure (§17.1.4). */
  transportError(): void {
    this.#fail("transport");
  }

  /**
   * Feeds a matching response.
   *
   * @param r The response.
   */
  receive(r: SipMessage): void {
    if (this.state !== "trying" && this.state !== "proceeding") return;
    if (r.status < 200) {
      this.state = "proceeding";
      this.#opts.onResponse(r);
      return;
    }
    this.state = "completed";
    this.stop("E");
    this.stop("F");
    this.#opts.onResponse(r);
    this.start("K", this.opts.reliable ? 0 : this.opts.timers.t4, () => this.terminate());
  }
}

// === INVITE server transaction (RFC 3261 §17.2.1) ===

/** Callbacks of a server transaction. */
export interface ServerTransactionOptions extends TransactionOptions {
  /** Called when Timer H fires (no ACK) or sending fails. */
  onFailure?: (why: ClientFailure) => void;
  /** Receives the ACK of a non-2xx final response (informational). */
  onAck?: (ack: SipMessage) => void;
  /**
   * Most Timer G retransmissions of a non-2xx final response (default
   * unlimited until Timer H): the endpoint lowers it for addresses that never
   * proved they receive what is sent to them, so a spoofed INVITE cannot
   * turn one datagram into eleven toward a third party.
   */
  maxRetransmits?: number;
}

/**
 * The INVITE server transaction (RFC 3261 §17.2.1, Figure 7), with the
 * "Accepted" state of RFC 6026 §7.1: after a 2xx the transaction absorbs
 * INVITE retransmissions for Timer L (64*T1) and sends further 2xx
 * retransmissions from the TU.
 *
 * @example Timer G retransmits a 486 until the ACK comes
 * ```ts
 * import { InviteServerTransaction, ManualClock, parseMessage, createResponse } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const clock = new ManualClock();
 * const sent: number[] = [];
 * const inv = parseMessage("INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK3\r\nCSeq: 1 INVITE\r\n\r\n");
 * const t = new InviteServerTransaction(inv, { clock, send: (m) => sent.push(m.status) });
 * t.respond(createResponse(inv, 486));
 * clock.advance(500 + 1000);
 * equal(sent.join(), "486,486,486");
 * t.receive(parseMessage("ACK sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK3\r\nCSeq: 1 ACK\r\n\r\n"));
 * equal(t.state, "confirmed");
 * clock.advance(5000);
 * equal(t.state, "terminated");
 * ```
 */
// @implements RFC3261 §17.2.1
export class InviteServerTransaction extends Transaction {
  /** The last response sent. */
  last: SipMessage | undefined;
  #opts: ServerTransactionOptions;
  #request: SipMessage;
  #retransmits = 0;

  /**
   * Creates the transaction in the proceeding state.
   *
   * @param request The INVITE received.
   * @param options Transport, clock and callbacks.
   */
  constructor(request: SipMessage, options: ServerTransactionOptions) {
    super("proceeding", options);
    this.#request = request;
    this.#opts = options;
  }

  /**
   * The INVITE; once a final response is sent, only its transaction and
   * dialog header fields (no body) are kept.
   */
  get request(): SipMessage {
    return this.#request;
  }

  /**
   * Sends a response from the TU.
   *
   * @param r A response to the INVITE.
   */
  respond(r: SipMessage): void {
    // @implements RFC6026 §7.1 ¶2-4
    if (this.state === "accepted" && r.status >= 200 && r.status < 300) {
      this.send(r);
      return;
    }
    if (this.state !== "proceeding") return;
    this.last = r;
    this.send(r);
    if (r.status < 200) return;
    this.#request = skeleton(this.#request);
    if (!this.opts.reliable) this.last = r = detached(r);
    if (r.status < 300) {
      this.state = "accepted";
      this.start("L", 64 * this.opts.timers.t1, () => this.terminate());
      return;
    }
    this.state = "completed";
    const { t1, t2 } = this.opts.timers;
    if (!this.opts.reliable) {
      const g = (ms: number) =>
        this.start("G", ms, () => {
          if (this.state !== "completed") return;
          if (this.#retransmits++ >= (this.#opts.maxRetransmits ?? Infinity)) return;
          this.send(r);
          g(Math.min(2 * ms, t2));
        });
      g(t1);
    }
    this.start("H", 64 * t1, () => {
      if (this.state !== "completed") return;
      this.#opts.onFailure?.("timeout");
      this.terminate();
    });
  }

  /**
   * Feeds a retransmitted INVITE or the ACK.
   *
   * @param m The request.
   */
  receive(m: SipMessage): void {
    if (m.method === "INVITE") {
      if ((this.state === "proceeding" || this.state === "completed") && this.last) {
        this.send(this.last);
      }
    } else if (m.method === "ACK" && this.state === "completed") {
      this.state = "confirmed";
      this.stop("G");
      this.stop("H");
      this.#opts.onAck?.(m);
      this.start("I", this.opts.reliable ? 0 : this.opts.timers.t4, () => this.terminate());
    }
  }

  /** Reports a transport failure (§17.2.4). */
  transportError(): void {
    this.#opts.onFailure?.("transport");
    this.terminate();
  }
}

// === Non-INVITE server transaction (RFC 3261 §17.2.2) ===

/**
 * The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).
 *
 * @example
 * ```ts
 * import { ManualClock, NonInviteServerTransaction, parseMessage, createResponse } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const clock = new ManualClock();
 * let sent = 0;
 * const req = parseMessage("OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK4\r\nCSeq: 1 OPTIONS\r\n\r\n");
 * const t = new NonInviteServerTransaction(req, { clock, send: () => sent++ });
 * t.respond(createResponse(req, 200));
 * t.receive(req); // retransmission: answered again
 * equal(sent, 2);
 * clock.advance(32000); // Timer J
 * equal(t.state, "terminated");
 * ```
 */
// @implements RFC3261 §17.2.2
export class NonInviteServerTransaction extends Transaction {
  /** The last response sent. */
  last: SipMessage | undefined;
  #opts: ServerTransactionOptions;
  #request: SipMessage;

  /**
   * Creates the transaction in the trying state.
   *
   * @param request The request received.
   * @param options Transport, clock and callbacks.
   */
  constructor(request: SipMessage, options: ServerTransactionOptions) {
    super("trying", options);
    this.#request = request;
    this.#opts = options;
  }

  /**
   * The request; once a final response is sent, only its transaction and
   * dialog header fields (no body) are kept.
   */
  get request(): SipMessage {
    return this.#request;
  }

  /**
   * Sends a response from the TU.
   *
   * @param r A response to the request.
   */
  respond(r: SipMessage): void {
    if (this.state !== "trying" && this.state !== "proceeding") return;
    this.last = r;
    this.send(r);
    if (r.status < 200) {
      this.state = "proceeding";
      return;
    }
    this.state = "completed";
    this.#request = skeleton(this.#request);
    if (!this.opts.reliable) this.last = detached(r);
    this.start("J", this.opts.reliable ? 0 : 64 * this.opts.timers.t1, () => this.terminate());
  }

  /**
   * Feeds a retransmitted request.
   *
   * @param _m The request.
   */
  receive(_m: SipMessage): void {
    if ((this.state === "proceeding" || this.state === "completed") && this.last) {
      this.send(this.last);
    }
  }

  /** Reports a transport failure (§17.2.4). */
  transportError(): void {
    this.#opts.onFailure?.("transport");
    this.terminate();
  }
}

/**
 * What a completed server transaction still needs of its request: the
 * fields that match retransmissions, ACK and CANCEL (§17.2.3, §9.2), without
 * the body or any other field (a 60 KB request keeps ~200 bytes for Timer J).
 */
function skeleton(m: SipMessage): SipMessage {
  let text = `${m.method} ${m.uri} ${m.version}\r\n`;
  const names = ["Via", "From", "To", "Call-ID", "CSeq"];
  for (const h of m.headers) if (names.includes(h.name)) text += `${h.name}: ${h.value}\r\n`;
  // Parsed from its own text: its strings no longer share the big request's memory.
  return parseMessage(text + "\r\n");
}

/** A response kept for retransmissions, parsed from its own bytes (see `skeleton`). */
function detached(r: SipMessage): SipMessage {
  try {
    return parseMessage(r.toBytes());
  } catch {
    return r;
  }
}

// === Matching (RFC 3261 §17.1.3, §17.2.3) ===

/** The magic cookie that starts an RFC 3261 branch (§8.1.1.7). */
export const MAGIC_COOKIE = "z9hG4bK";

/**
 * The key that matches a response to its client transaction: top Via
 * branch and CSeq method.
 *
 * @param m A request sent or a response received.
 * @returns The key.
 *
 * @example
 * ```ts
 * import { clientTransactionKey, parseMessage } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const r = parseMessage("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK5\r\nCSeq: 2 BYE\r\n\r\n");
 * equal(clientTransactionKey(r), "z9hG4bK5 BYE");
 * ```
 */
// @implements RFC3261 §17.1.3
export function clientTransactionKey(m: SipMessage): string {
  const via = m.via()[0];
  const cseq = m.cseq();
  return `${via?.params.branch ?? ""} ${cseq.method}`;
}

function sentBy(v: Via): string {
  return `${v.host.toLowerCase()}:${v.port ?? ""}`;
}

/**
 * The key that matches a request to its server transaction: the branch,
 * sent-by and method (ACK matching INVITE) for RFC 3261 branches, or for
 * RFC 2543 requests the Request-URI, From tag, Call-ID, CSeq number, top
 * Via and method. A CANCEL gets the key of its own transaction; use
 * {@linkcode serverTransactionKey} with `method: "INVITE"` to find the
 * INVITE it cancels.
 *
 * @param m A request received.
 * @param method Method to key on instead of the request's (e.g. `"INVITE"` for a CANCEL).
 * @returns The key.
 *
 * @example
 * ```ts
 * import { parseMessage, serverTransactionKey } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const inv = parseMessage("INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a:5060;branch=z9hG4bK6\r\nCSeq: 1 INVITE\r\n\r\n");
 * const ack = parseMessage("ACK sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a:5060;branch=z9hG4bK6\r\nCSeq: 1 ACK\r\n\r\n");
 * equal(serverTransactionKey(ack), serverTransactionKey(inv));
 * ```
 */
// @implements RFC3261 §17.2.3
export function serverTransactionKey(m: SipMessage, method?: string): string {
  const via = m.via()[0];
  let meth = method ?? m.method ?? "";
  if (meth === "ACK") meth = "INVITE";
  const branch = via?.params.branch;
  if (via && branch && branch.startsWith(MAGIC_COOKIE) && branch.length > MAGIC_COOKIE.length) {
    return `${branch} ${sentBy(via)} ${meth}`;
  }
  // @implements RFC3261 §17.2.3 ¶5-8
  const from = m.from().params.tag ?? "";
  const cseq = m.cseq();
  const viaText = via ? `${sentBy(via)};${branch ?? ""}` : "";
  return `2543 ${m.uri} ${from} ${m.callId()} ${cseq.seq} ${viaText} ${meth}`;
}
