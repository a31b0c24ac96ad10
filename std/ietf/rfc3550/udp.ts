// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The UDP adapter of RFC 3550: {@linkcode RtpSocket} binds an RTP and an RTCP socket
 * (`node:dgram`, ports port and port + 1) and drives an `RtpSession` from
 * `@rtclite/std/ietf/rfc3550` with real packets and timers.
 *
 * @example Loopback send and receive
 * ```ts
 * import { RtpSocket } from "@rtclite/std/ietf/rfc3550/udp";
 * import { equal } from "node:assert/strict";
 *
 * const got: number[] = [];
 * await using rx = await RtpSocket.open({ onPacket: (p) => got.push(p.sequenceNumber) });
 * await using tx = await RtpSocket.open({ remote: { host: "127.0.0.1", port: rx.port } });
 * for (let i = 0; i < 3; i++) tx.send(0, new Uint8Array(160));
 * await new Promise((r) => setTimeout(r, 100));
 * equal(got.length, 2); // the first packet validates the source (probation)
 * ```
 *
 * @module
 */

import dgram from "node:dgram";
import { getLogger } from "../../log.ts";
import { type RtcpPacket, type RtpPacket, RtpSession, type RtpSessionOptions } from "./mod.ts";

const log = getLogger("rtp");

/** Options of {@linkcode RtpSocket.open}. */
export interface RtpSocketOptions extends RtpSessionOptions {
  /** Local address to bind (default `127.0.0.1`). */
  host?: string;
  /** Local RTP port (RTCP uses port + 1); 0 picks a free even port. */
  port?: number;
  /** Remote peer, if known now. */
  remote?: { host: string; port: number; rtcpPort?: number };
  /** Called with each valid media packet. */
  onPacket?: (p: RtpPacket) => void;
  /** Called with the packets of each valid RTCP datagram. */
  onRtcp?: (packets: RtcpPacket[], from: string) => void;
  /**
   * Called when known remote sources leave with an RTCP BYE (RFC 3550 §6.6), compound or not,
   * sent from their own address: the SSRCs that left and the reason, if given.
   */
  onBye?: (sources: number[], reason: string | undefined, from: string) => void;
}

/** The adapter could not open its sockets. */
export class RtpSocketError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param options Standard error options, e.g. `{ cause }`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RtpSocketError";
  }
}

/**
 * An RTP session on a pair of UDP sockets (port, port + 1) driving an {@linkcode RtpSession}:
 * it delivers valid packets to `onPacket`, sends RTCP reports on the session's timer, answers
 * SSRC collisions with a BYE and sends a BYE on close.
 *
 * @example Loopback send and receive
 * ```ts
 * import { RtpSocket } from "@rtclite/std/ietf/rfc3550/udp";
 * import { equal } from "node:assert/strict";
 *
 * const got: number[] = [];
 * await using rx = await RtpSocket.open({ onPacket: (p) => got.push(p.sequenceNumber) });
 * await using tx = await RtpSocket.open({ remote: { host: "127.0.0.1", port: rx.port } });
 * for (let i = 0; i < 3; i++) tx.send(0, new Uint8Array(160));
 * await new Promise((r) => setTimeout(r, 100));
 * equal(got.length, 2); // the first packet validates the source (probation)
 * ```
 */
export class RtpSocket implements AsyncDisposable {
  /** The session state. */
  readonly session: RtpSession;
  #rtp: dgram.Socket;
  #rtcp: dgram.Socket;
  #remote: { host: string; port: number; rtcpPort: number } | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #now: () => number;
  #queue: [Uint8Array, number, string][] = [];
  #onPacket: ((p: RtpPacket) => void) | undefined;
  #onRtcp: ((packets: RtcpPacket[], from: string) => void) | undefined;
  #byes = new Set<number>(); // sources whose BYE was reported
  #onBye: ((sources: number[], reason: string | undefined, from: string) => void) | undefined;

  private constructor(rtp: dgram.Socket, rtcp: dgram.Socket, options: RtpSocketOptions) {
    this.#rtp = rtp;
    this.#rtcp = rtcp;
    this.session = new RtpSession(options);
    this.#now = options.now ?? Date.now;
    this.#onPacket = options.onPacket;
    this.#onRtcp = options.onRtcp;
    this.#onBye = options.onBye;
    if (options.remote) {
      this.setRemote(options.remote.host, options.remote.port, options.remote.rtcpPort);
    }
    rtp.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => this.#onRtpMessage(msg, rinfo));
    rtcp.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
      const from = `${rinfo.address}:${rinfo.port}`;
      const packets = this.session.receiveRtcp(new Uint8Array(msg), from);
      if (!packets) return;
      this.#onRtcp?.(packets, from);
      for (const p of packets) {
        if (p.type !== "bye") continue;
        const left = p.sources.filter((ssrc) =>
          this.session.hasLeft(ssrc) && !this.#byes.has(ssrc) && this.#byes.add(ssrc)
        );
        if (left.length) this.#onBye?.(left, p.reason, from);
      }
    });
    rtp.on("error", (e: Error) => log.warn("RTP socket error: {e}", { e: e.message }));
    rtcp.on("error", (e: Error) => log.warn("RTCP socket error: {e}", { e: e.message }));
    this.#schedule();
  }

  /**
   * Binds the RTP and RTCP sockets.
   *
   * @param options Address, port, session options and callbacks.
   * @returns The open socket pair.
   */
  static async open(options: RtpSocketOptions = {}): Promise<RtpSocket> {
    const host = options.host ?? "127.0.0.1";
    let last: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = options.port ?? 0;
      const rtp = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
      try {
        await bind(rtp, host, port);
        const actual = rtp.address().port;
        // RTP takes an even port and RTCP the next one: try again when the system chose odd.
        if (port === 0 && actual % 2 === 1) {
          rtp.close();
          continue;
        }
        const rtcp = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
        try {
          await bind(rtcp, host, actual + 1);
        } catch (e) {
          rtcp.close();
          throw e;
        }
        return new RtpSocket(rtp, rtcp, options);
      } catch (e) {
        rtp.close();
        if (options.port) throw e;
        last = e;
      }
    }
    throw new RtpSocketError("Cannot open RTP socket: no free port pair found", { cause: last });
  }

  /** Local RTP port. */
  get port(): number {
    return this.#rtp.address().port;
  }

  /**
   * Sets where media and RTCP go.
   *
   * @param host Remote address.
   * @param port Remote RTP port.
   * @param rtcpPort Remote RTCP port (default port + 1).
   */
  setRemote(host: string, port: number, rtcpPort?: number): void {
    this.#remote = { host, port, rtcpPort: rtcpPort ?? port + 1 };
  }

  #onRtpMessage(msg: Uint8Array, rinfo: dgram.RemoteInfo): void {
    const r = this.session.receiveRtp(new Uint8Array(msg), `${rinfo.address}:${rinfo.port}`);
    if (r.kind === "media") this.#onPacket?.(r.packet);
    else if (r.kind === "collision") this.#sendRtcp(r.bye);
  }

  #sendRtcp(bytes: Uint8Array): void {
    if (this.#remote && !this.#closed) {
      this.#rtcp.send(bytes, this.#remote.rtcpPort, this.#remote.host);
    }
  }

  #schedule(): void {
    if (this.#closed || !Number.isFinite(this.session.nextTimer)) return;
    const delay = Math.max(0, this.session.nextTimer - this.#now());
    this.#timer = setTimeout(() => {
      const report = this.session.onTimer();
      if (report) this.#sendRtcp(report);
      this.#schedule();
    }, delay);
  }

  /**
   * Sends one RTP packet to the remote peer.
   *
   * @param payloadType Payload type.
   * @param payload Payload bytes.
   * @param options Timestamp (default: media clock) and marker.
   */
  send(
    payloadType: number,
    payload: Uint8Array,
    options: { timestamp?: number; marker?: boolean } = {},
  ): void {
    if (!this.#remote || this.#closed) return;
    const bytes = this.session.sendRtp({ payloadType, payload, ...options });
    this.#queue.push([bytes, this.#remote.port, this.#remote.host]);
    if (this.#queue.length === 1) this.#drain();
  }

  // node:dgram may reorder datagrams sent in a burst: send one at a time, in order.
  #drain(): void {
    const next = this.#queue[0];
    if (!next || this.#closed) return;
    this.#rtp.send(next[0], next[1], next[2], () => {
      this.#queue.shift();
      this.#drain();
    });
  }

  /**
   * Sends a BYE and closes both sockets.
   *
   * @param reason Optional BYE reason.
   */
  async close(reason?: string): Promise<void> {
    if (this.#closed) return;
    let bye = this.session.bye(reason);
    // A deferred BYE (more than 50 members) goes out from the timer; wait for it, bounded.
    for (let i = 0; !bye && this.session.leaving && i < 50; i++) {
      await new Promise((r) =>
        setTimeout(r, Math.min(200, Math.max(0, this.session.nextTimer - this.#now())))
      );
      bye = this.session.onTimer();
    }
    if (bye && this.#remote) {
      await new Promise<void>((resolve) =>
        this.#rtcp.send(bye, this.#remote!.rtcpPort, this.#remote!.host, () => resolve())
      );
    }
    this.#closed = true;
    clearTimeout(this.#timer);
    await Promise.all([closeSocket(this.#rtp), closeSocket(this.#rtcp)]);
  }

  /** Same as {@linkcode RtpSocket.prototype.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function bind(s: dgram.Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.bind(port, host, () => {
      s.off("error", reject);
      resolve();
    });
  });
}

function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}
