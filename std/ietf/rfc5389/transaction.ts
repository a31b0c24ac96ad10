// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * STUN client transactions, sans-I/O (RFC 5389 as revised by RFC 8489 §6.2.1; RFC 5389 §7.2.1):
 * the retransmission schedule of one request ({@linkcode StunClientTransaction}), the per-server
 * RTO estimate ({@linkcode RtoCache}), and {@linkcode StunTransactionError}, how a transaction
 * fails. The UDP client in `@rtclite/std/ietf/rfc5389/udp` runs these with real timers.
 * Re-exported by `@rtclite/std/ietf/rfc5389`.
 *
 * @example The schedule of RFC 8489 §6.2.1 with RTO 500 ms
 * ```ts
 * import { StunClientTransaction } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 *
 * const t = new StunClientTransaction(new Uint8Array(20), 0);
 * equal(t.onTimeout(499), undefined);
 * equal(t.onTimeout(500)?.length, 20); // the first retransmission
 * equal(t.deadline, 1500);
 * ```
 *
 * @module
 */
import type { StunMessage } from "./message.ts";
export { StunClass } from "./message.ts";
export type { StunAttribute, StunMessage } from "./message.ts";

// === Client transactions (RFC 8489 §6.2.1; RFC 5389 §7.2.1) ===

/** Options of {@linkcode StunClientTransaction}. */
export interface TransactionOptions {
  /** Initial retransmission timeout in ms (default 500, RFC 8489 §6.2.1). */
  rto?: number;
  /** Total number of requests sent (default 7). */
  rc?: number;
  /** Multiple of RTO to wait after the last request (default 16). */
  rm?: number;
  /** Reliable transport (TCP): no retransmission, fail after `ti` ms. */
  reliable?: boolean;
  /** Timeout on reliable transports in ms (default 39 500). */
  ti?: number;
}

/**
 * A sans-I/O client transaction: it tells when to (re)send the request and when the transaction
 * has timed out, from the times you give it (RFC 8489 §6.2.1). With RTO 500 ms it sends at 0, 500,
 * 1500, 3500, 7500, 15500 and 31500 ms and times out at 39500 ms.
 *
 * @example Drive the retransmission schedule with a fake clock
 * ```ts
 * import { StunClientTransaction } from "@rtclite/std/ietf/rfc5389";
 * import { deepEqual, equal } from "node:assert/strict";
 * const t = new StunClientTransaction(new Uint8Array(20), 0);
 * const sent: number[] = [0];
 * while (t.state === "waiting") {
 *   const now = t.deadline!;
 *   if (t.onTimeout(now)) sent.push(now);
 * }
 * deepEqual(sent, [0, 500, 1500, 3500, 7500, 15500, 31500]);
 * equal(t.state, "timeout");
 * ```
 */
export class StunClientTransaction {
  /** The encoded request. */
  readonly request: Uint8Array;
  /** Transaction ID (bytes 8..20 of the request). */
  readonly transactionId: Uint8Array;
  #rto: number;
  #rc: number;
  #rm: number;
  #sent = 1;
  #start: number;
  #deadline: number;
  #interval: number;
  #state: "waiting" | "done" | "timeout" = "waiting";

  /**
   * Starts a transaction; the caller sends `request` now.
   *
   * @param request The encoded request.
   * @param now Current time in ms.
   * @param options Timer values.
   */
  constructor(request: Uint8Array, now: number, options: TransactionOptions = {}) {
    this.request = request;
    this.transactionId = request.subarray(8, 20);
    this.#rto = options.rto ?? 500;
    this.#rc = options.reliable ? 1 : options.rc ?? 7;
    this.#rm = options.rm ?? 16;
    this.#start = now;
    this.#interval = this.#rto;
    this.#deadline = options.reliable ? now + (options.ti ?? 39_500) : now + this.#rto;
    if (!options.reliable && this.#rc === 1) this.#deadline = now + this.#rm * this.#rto;
  }

  /** `waiting`, `done` (a response was accepted) or `timeout`. */
  get state(): "waiting" | "done" | "timeout" {
    return this.#state;
  }

  /** When {@linkcode StunClientTransaction.onTimeout} must be called next, while waiting. */
  get deadline(): number | undefined {
    return this.#state === "waiting" ? this.#deadline : undefined;
  }

  /** How many requests have been sent. */
  get transmissions(): number {
    return this.#sent;
  }

  /**
   * Advances the timers.
   *
   * @param now Current time in ms.
   * @returns The request to retransmit now, or `undefined`.
   */
  // @implements RFC8489 §6.2.1 ¶2, §6.2.1 ¶4 (RFC 5389 §7.2.1)
  onTimeout(now: number): Uint8Array | undefined {
    if (this.#state !== "waiting" || now < this.#deadline) return undefined;
    if (this.#sent >= this.#rc) {
      this.#state = "timeout";
      return undefined;
    }
    this.#sent++;
    this.#interval *= 2;
    this.#deadline = this.#sent === this.#rc ? now + this.#rm * this.#rto : now + this.#interval;
    return this.request;
  }

  /**
   * Accepts a response with this transaction's ID and ends the transaction.
   *
   * @param now Current time in ms.
   * @returns A round-trip time sample, or `undefined` when the request was retransmitted (Karn).
   */
  complete(now: number): number | undefined {
    this.#state = "done";
    return this.#sent === 1 ? now - this.#start : undefined;
  }
}

/**
 * The retransmission timeout per server: RFC 6298's smoothed estimate from round-trip samples
 * (Karn's rule: the caller gives only samples of requests sent once), remembered for 10 minutes
 * (RFC 8489 §6.2.1 ¶3).
 *
 * @example
 * ```ts
 * import { RtoCache } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 *
 * const rto = new RtoCache(500, 100);
 * equal(rto.get("192.0.2.1|3478", 0), 500);
 * rto.sample("192.0.2.1|3478", 40, 0);
 * equal(rto.get("192.0.2.1|3478", 1000), 120); // SRTT + 4 * RTTVAR
 * equal(rto.get("192.0.2.1|3478", 700_000), 500); // forgotten after 10 minutes
 * ```
 */
// @implements RFC8489 §6.2.1 ¶3 (RFC 5389 §7.2.1)
export class RtoCache {
  #entries = new Map<string, { srtt: number; rttvar: number; at: number }>();
  /** The RTO before any sample, in ms. */
  readonly initial: number;
  /** The least RTO returned, in ms. */
  readonly floor: number;

  /**
   * Creates an empty cache.
   *
   * @param initial The RTO before any sample, in ms.
   * @param floor The least RTO returned, in ms.
   */
  constructor(initial: number, floor: number) {
    this.initial = initial;
    this.floor = floor;
  }

  /**
   * The RTO for a server.
   *
   * @param server A key naming the server (e.g. `address|port`).
   * @param now Current time in ms.
   * @returns The RTO in ms.
   */
  get(server: string, now: number): number {
    const e = this.#entries.get(server);
    if (!e || now - e.at > 600_000) return this.initial;
    return Math.max(this.floor, Math.round(e.srtt + 4 * e.rttvar));
  }

  /**
   * Adds a round-trip sample.
   *
   * @param server A key naming the server.
   * @param rtt The round-trip time in ms.
   * @param now Current time in ms.
   */
  sample(server: string, rtt: number, now: number): void {
    const e = this.#entries.get(server);
    if (!e || now - e.at > 600_000) {
      this.#entries.set(server, { srtt: rtt, rttvar: rtt / 2, at: now });
    } else {
      e.rttvar = 0.75 * e.rttvar + 0.25 * Math.abs(e.srtt - rtt);
      e.srtt = 0.875 * e.srtt + 0.125 * rtt;
      e.at = now;
    }
  }
}

/** A STUN transaction that failed: timed out, integrity violated, or an error response. */
export class StunTransactionError extends Error {
  /** Why it failed. */
  readonly reason: "timeout" | "integrity" | "error-response" | "closed";
  /** The error response, for `error-response`. */
  readonly response: StunMessage | undefined;
  /**
   * Creates the error.
   *
   * @param message Sentence-case description.
   * @param reason Failure kind.
   * @param response The error response, if any.
   */
  constructor(
    message: string,
    reason: "timeout" | "integrity" | "error-response" | "closed",
    response?: StunMessage,
  ) {
    super(message);
    this.name = "StunTransactionError";
    this.reason = reason;
    this.response = response;
  }
}
