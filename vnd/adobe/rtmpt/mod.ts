// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * RTMP tunnelling over HTTP (RTMPT), sans-I/O: {@linkcode RtmptSession} is one tunnel's
 * state (sequence numbers, polling interval, expiry with an injected clock, bounded output).
 * The `fetch`-style handler that maps HTTP requests onto sessions and bridges them into an RTMP
 * server, and the HTTP/1.1 listener, are in `@rtclite/vnd/adobe/rtmpt/deno`; the command line
 * is `@rtclite/vnd/adobe/rtmpt/main`.
 *
 * Adobe never published RTMPT; this follows what Flash Player, Flash Media Server, Red5,
 * librtmp (rtmpdump) and FFmpeg do. Every request is a `POST` with content type
 * `application/x-fcs`; the client polls, because HTTP lets only the client speak first:
 *
 * | Request | Body | Response body |
 * | ------- | ---- | ------------- |
 * | `/fcs/ident2` | anything | `404`: an optional probe some players send first |
 * | `/open/1` | one byte (ignored) | a new session ID and `\n` |
 * | `/send/<session>/<seq>` | RTMP bytes from the client | polling interval byte + RTMP bytes from the server |
 * | `/idle/<session>/<seq>` | one byte (ignored) | polling interval byte + RTMP bytes from the server |
 * | `/close/<session>/<seq>` | one byte (ignored) | one zero byte; the session ends |
 *
 * `<seq>` is a counter the client increases with each request of the session; a request
 * whose number is not above the previous one is refused (`400`), as is a replay. The
 * polling interval byte tells the client how long to wait before its next `idle` request:
 * it is 1 after a request that moved data and grows by one with each empty poll, up to
 * `maxPollingInterval`. A session that sees no request for
 * `sessionTimeout` ms is closed. Requests for an unknown session get
 * `404`, methods other than `POST` get `405`, bodies over
 * `maxBodySize` get `413`, and a full server answers `open` with `503`.
 *
 * @see {@link https://en.wikipedia.org/wiki/Real-Time_Messaging_Protocol#HTTP_tunneling | Wikipedia: RTMP, HTTP tunnelling}
 * @see {@link https://github.com/Red5/red5-server | Red5 server (RTMPTServlet, RTMPTConnection)}
 * @see {@link https://git.ffmpeg.org/gitweb/rtmpdump.git/blob/HEAD:/librtmp/rtmp.c | librtmp HTTP_Post and HTTP_read}
 * @see {@link https://github.com/FFmpeg/FFmpeg/blob/master/libavformat/rtmphttp.c | FFmpeg rtmphttp.c}
 *
 * @example One session: a send, a reply, an empty poll
 * ```ts
 * import { RtmptSession } from "@rtclite/vnd/adobe/rtmpt";
 * import { deepEqual } from "node:assert/strict";
 *
 * const s = new RtmptSession("abc");
 * s.send(1, new Uint8Array([3])); // C0 from the client
 * deepEqual(s.takeInput(), new Uint8Array([3]));
 * s.output(new Uint8Array([3])); // S0 from the RTMP server
 * deepEqual(s.respond(), new Uint8Array([1, 3])); // interval 1, then the server's bytes
 * s.idle(2);
 * deepEqual(s.respond(), new Uint8Array([2])); // nothing new: the interval grows
 * ```
 *
 * @module
 */
import { concat } from "@rtclite/std/bytes";

/** The content type of every RTMPT request and response body. */
export const RTMPT_CONTENT_TYPE = "application/x-fcs";

/** The error thrown by {@linkcode RtmptSession} for a request that breaks the protocol. */
export class RtmptError extends Error {
  /** HTTP status to answer with. */
  readonly status: number;
  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param status HTTP status to answer with (default 400).
   */
  constructor(message: string, status = 400) {
    super(message);
    this.name = "RtmptError";
    this.status = status;
  }
}

// === Session state machine ===

/** Options for {@linkcode RtmptSession}. */
export interface RtmptSessionOptions {
  /** Clock in milliseconds (default `Date.now`). */
  now?: () => number;
  /** Idle time after which the session expires, in ms (default 30 000). */
  timeout?: number;
  /** Largest polling interval byte (default 32). */
  maxPollingInterval?: number;
  /** Server bytes held for the client before the session fails (default 16 MiB). */
  maxBuffered?: number;
  /** Most server bytes returned in one response; the rest waits for the next (default 1 MiB). */
  maxResponseSize?: number;
}

/**
 * One RTMPT session without I/O: it checks sequence numbers, queues the client's bytes for
 * the RTMP side and the server's bytes for the next response, computes the polling interval
 * and tracks expiry with an injected clock.
 *
 * @example
 * ```ts
 * import { RtmptSession } from "@rtclite/vnd/adobe/rtmpt";
 * import { deepEqual, equal, throws } from "node:assert/strict";
 *
 * let now = 0;
 * const s = new RtmptSession("abc", { now: () => now, timeout: 1000 });
 * s.send(1, new Uint8Array([1, 2]));
 * deepEqual(s.takeInput(), new Uint8Array([1, 2]));
 * s.output(new Uint8Array([9]));
 * deepEqual(s.respond(), new Uint8Array([1, 9])); // interval 1, then the server's byte
 * s.idle(2);
 * deepEqual(s.respond(), new Uint8Array([2])); // empty poll: interval grows
 * throws(() => s.idle(2), /sequence/);
 * now = 1500;
 * equal(s.expired, true);
 * ```
 */
export class RtmptSession {
  /** The session ID. */
  readonly id: string;
  readonly #now: () => number;
  readonly #timeout: number;
  readonly #maxInterval: number;
  readonly #maxBuffered: number;
  readonly #maxResponse: number;
  #lastSeq = -1;
  #lastActivity: number;
  #interval = 1;
  #moved = false;
  #input: Uint8Array[] = [];
  #output: Uint8Array[] = [];
  #buffered = 0;
  #closed = false;

  /**
   * Creates a session.
   *
   * @param id The session ID given to the client.
   * @param options Clock and limits.
   */
  constructor(id: string, options: RtmptSessionOptions = {}) {
    this.id = id;
    this.#now = options.now ?? Date.now;
    this.#timeout = options.timeout ?? 30_000;
    this.#maxInterval = Math.max(1, Math.min(255, options.maxPollingInterval ?? 32));
    this.#maxBuffered = options.maxBuffered ?? 16 * 1024 * 1024;
    this.#maxResponse = options.maxResponseSize ?? 1024 * 1024;
    this.#lastActivity = this.#now();
  }

  /** The polling interval byte of the next response. */
  get pollingInterval(): number {
    return this.#interval;
  }

  /** The last sequence number accepted (-1 before the first request). */
  get lastSequence(): number {
    return this.#lastSeq;
  }

  /** Server bytes waiting for the client. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Whether the session has been closed (by either side). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether no request came for longer than the timeout. */
  get expired(): boolean {
    return this.#now() - this.#lastActivity > this.#timeout;
  }

  /**
   * Handles `/send/<session>/<seq>`: accepts the client's RTMP bytes.
   *
   * @param seq The request's sequence number.
   * @param bytes The request body.
   * @throws {RtmptError} On a sequence number not above the last one, or a closed session.
   */
  send(seq: number, bytes: Uint8Array): void {
    this.#request(seq);
    if (bytes.length) {
      this.#input.push(bytes.slice());
      this.#moved = true;
    }
  }

  /**
   * Handles `/idle/<session>/<seq>`: a poll for server bytes.
   *
   * @param seq The request's sequence number.
   * @throws {RtmptError} On a sequence number not above the last one, or a closed session.
   */
  idle(seq: number): void {
    this.#request(seq);
  }

  /**
   * Handles `/close/<session>/<seq>`: ends the session.
   *
   * @param seq The request's sequence number.
   * @throws {RtmptError} On a sequence number not above the last one, or a closed session.
   */
  close(seq: number): void {
    this.#request(seq);
    this.#closed = true;
  }

  /** Marks the session closed from the server side (its pending output is still returned). */
  end(): void {
    this.#closed = true;
  }

  /**
   * Takes the client bytes received since the last call.
   *
   * @returns The bytes, in order (possibly empty).
   */
  takeInput(): Uint8Array {
    const input = this.#input;
    const out = input.length === 1 ? input[0]! : concat(input);
    this.#input = [];
    return out;
  }

  /**
   * Queues server bytes for the client.
   *
   * @param bytes RTMP bytes from the server.
   * @throws {RtmptError} When more than `maxBuffered` bytes would wait (the client polls too slowly).
   */
  output(bytes: Uint8Array): void {
    if (!bytes.length) return;
    if (this.#buffered + bytes.length > this.#maxBuffered) {
      throw new RtmptError(
        `Cannot queue RTMPT output: ${
          this.#buffered + bytes.length
        } bytes would wait, limit ${this.#maxBuffered}`,
        503,
      );
    }
    this.#output.push(bytes.slice());
    this.#buffered += bytes.length;
  }

  /**
   * Builds the body of the response to the current `send` or `idle` request: the polling
   * interval byte, then up to `maxResponseSize` queued server bytes.
   *
   * @returns The response body.
   */
  respond(): Uint8Array {
    const parts: Uint8Array[] = [];
    let size = 0;
    while (this.#output.length && size < this.#maxResponse) {
      const head = this.#output[0]!;
      const take = Math.min(head.length, this.#maxResponse - size);
      parts.push(head.subarray(0, take));
      size += take;
      if (take === head.length) this.#output.shift();
      else this.#output[0] = head.subarray(take);
    }
    this.#buffered -= size;
    if (size || this.#moved) this.#interval = 1;
    else this.#interval = Math.min(this.#maxInterval, this.#interval + 1);
    this.#moved = false;
    const body = new Uint8Array(1 + size);
    body[0] = this.#interval;
    let off = 1;
    for (const p of parts) {
      body.set(p, off);
      off += p.length;
    }
    return body;
  }

  #request(seq: number): void {
    // A session the server side closed still answers until its last bytes are polled.
    if (this.#closed && !this.#buffered) {
      throw new RtmptError(`RTMPT session ${this.id} is closed`, 404);
    }
    if (!Number.isSafeInteger(seq) || seq <= this.#lastSeq) {
      throw new RtmptError(
        `Bad RTMPT sequence number: got ${seq}, expected more than ${this.#lastSeq}`,
      );
    }
    this.#lastSeq = seq;
    this.#lastActivity = this.#now();
  }
}
