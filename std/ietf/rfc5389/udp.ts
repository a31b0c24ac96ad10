// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * STUN over UDP with `node:dgram`: {@linkcode StunClient} runs the sans-I/O client transactions
 * of `@rtclite/std/ietf/rfc5389` with real timers (retransmissions, long-term challenges,
 * ALTERNATE-SERVER, 5xx retries), and {@linkcode serveStunUdp} puts a {@linkcode StunServer} on a
 * socket.
 *
 * @example Ask a local server for the mapped address
 * ```ts
 * import { StunServer } from "@rtclite/std/ietf/rfc5389";
 * import { serveStunUdp, StunClient } from "@rtclite/std/ietf/rfc5389/udp";
 * import { equal } from "node:assert/strict";
 *
 * await using server = await serveStunUdp(new StunServer(), { hostname: "127.0.0.1", port: 0 });
 * await using client = await StunClient.open({ hostname: "127.0.0.1" });
 * const mapped = await client.binding(server.address);
 * equal(mapped.port, client.address.port);
 * ```
 *
 * @module
 */
import dgram from "node:dgram";
import { toHex } from "../../bytes.ts";
import { getLogger } from "../../log.ts";
import {
  createMessage,
  decodeStun,
  type EncodeOptions,
  encodeStun,
  getAddress,
  getAttribute,
  getErrorCode,
  type LongTermCredentials,
  RtoCache,
  shortTermKey,
  StunAttr,
  StunClass,
  StunClientTransaction,
  type StunMessage,
  StunMethod,
  type StunServer,
  StunTransactionError,
  textAttribute,
  type TransactionOptions,
  type TransportAddress,
  verifyIntegrity,
} from "./mod.ts";
export { StunClass } from "./mod.ts";
export type {
  CredentialOptions,
  EncodeOptions,
  LongTermCredentials,
  StunAttribute,
  StunMessage,
  StunServer,
  TransactionOptions,
  TransportAddress,
} from "./mod.ts";

const log = getLogger("stun");

/** Options of {@linkcode StunClient}. */
export interface StunClientOptions extends TransactionOptions {
  /** Local address to bind (default 0.0.0.0, or :: for IPv6 servers). */
  hostname?: string;
  /** Local port (default: any). */
  port?: number;
  /** Address family of the socket (default 4). */
  family?: 4 | 6;
  /** SOFTWARE for requests (default "rtclite"); empty to omit. */
  software?: string;
  /** Long-term credentials to answer 401 challenges. */
  credentials?: LongTermCredentials;
  /** Short-term credentials: every request carries USERNAME and integrity. */
  shortTerm?: { username: string; password: string; sha256?: boolean };
  /** Add FINGERPRINT to requests. */
  fingerprint?: boolean;
  /** Clock (ms), default `performance.now`. */
  now?: () => number;
}

/**
 * How a {@linkcode StunClient} reaches its servers: a UDP socket ({@linkcode StunClient.open}),
 * or a TCP or TLS connection (`connectStun` in `@rtclite/std/ietf/rfc5389/tcp`).
 */
export interface StunTransport {
  /** The local transport address. */
  readonly address: TransportAddress;
  /** A stream (TCP, TLS): requests are not retransmitted (RFC 8489 §6.2.2). */
  readonly reliable: boolean;
  /** Sends a datagram, or writes a message on the stream (where `to` is ignored). */
  send(data: Uint8Array, to: TransportAddress): void;
  /** Set by the client: receives each datagram, or each message framed from the stream. */
  onReceive?: (data: Uint8Array, from: TransportAddress) => void;
  /** Set by the client: the stream was closed by the other side or failed. */
  onClose?: () => void;
  /** Closes the socket or connection. */
  close(): Promise<void>;
}

/** A UDP socket as a {@linkcode StunTransport}. */
function udpTransport(sock: dgram.Socket): StunTransport {
  const t: StunTransport = {
    get address(): TransportAddress {
      const a = sock.address();
      return { family: a.family === "IPv6" ? 6 : 4, address: a.address, port: a.port };
    },
    reliable: false,
    send: (data, to) => sock.send(data, to.port, to.address),
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
  sock.on("message", (buf: Uint8Array, rinfo: dgram.RemoteInfo) => {
    const from: TransportAddress = {
      family: rinfo.family === "IPv6" ? 6 : 4,
      address: rinfo.address,
      port: rinfo.port,
    };
    t.onReceive?.(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), from);
  });
  return t;
}

interface Pending {
  tx: StunClientTransaction;
  server: TransportAddress;
  sawDiscarded: boolean;
  resolve: (m: StunMessage) => void;
  reject: (e: Error) => void;
  timer?: ReturnType<typeof setTimeout>;
  verify: (m: StunMessage) => boolean;
}

/**
 * A STUN client on a UDP socket (or, through `connectStun` of `@rtclite/std/ietf/rfc5389/tcp`, a
 * TCP or TLS connection): runs {@linkcode StunClientTransaction}s with real timers, retries
 * long-term challenges, and hands everything that is not a response to `onMessage`.
 *
 * @example Ask a local server for the mapped address
 * ```ts
 * import { StunServer } from "@rtclite/std/ietf/rfc5389";
 * import { serveStunUdp, StunClient } from "@rtclite/std/ietf/rfc5389/udp";
 * import { equal } from "node:assert/strict";
 * await using server = await serveStunUdp(new StunServer(), { hostname: "127.0.0.1", port: 0 });
 * await using client = await StunClient.open({ hostname: "127.0.0.1" });
 * const mapped = await client.binding(server.address);
 * equal(mapped.port, client.address.port);
 * ```
 */
export class StunClient implements AsyncDisposable {
  #transport: StunTransport;
  #opts: StunClientOptions;
  #pending = new Map<string, Pending>();
  #rto: RtoCache;
  #now: () => number;
  #closed = false;
  /** Receives datagrams that are not responses to our requests (indications, ChannelData, ...). */
  onMessage: ((data: Uint8Array, from: TransportAddress) => void) | undefined;
  /** On TCP and TLS: the server closed the connection, or it failed (pending requests fail). */
  onClose: (() => void) | undefined;

  private constructor(transport: StunTransport, options: StunClientOptions) {
    this.#transport = transport;
    this.#opts = options;
    this.#rto = new RtoCache(options.rto ?? 500, 100);
    this.#now = options.now ?? (() => performance.now());
    transport.onReceive = (data, from) => this.#receive(data, from);
    transport.onClose = () => {
      this.#fail("Connection closed by the server");
      this.onClose?.();
    };
  }

  /**
   * Runs a client on a transport (what `connectStun` does with a TCP or TLS connection).
   *
   * @param transport The socket or connection.
   * @param options Timers, credentials (the local address options are not used).
   * @returns The client.
   */
  static fromTransport(transport: StunTransport, options: StunClientOptions = {}): StunClient {
    return new StunClient(transport, options);
  }

  /**
   * Binds a UDP socket.
   *
   * @param options Local address, timers, credentials.
   * @returns The client.
   */
  static open(options: StunClientOptions = {}): Promise<StunClient> {
    const family = options.family ?? (options.hostname?.includes(":") ? 6 : 4);
    const sock = dgram.createSocket(family === 6 ? "udp6" : "udp4");
    return new Promise((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(options.port ?? 0, options.hostname ?? (family === 6 ? "::" : "0.0.0.0"), () => {
        sock.off("error", reject);
        sock.on("error", (e: Error) => log.warn("Socket error: {error}", { error: String(e) }));
        resolve(new StunClient(udpTransport(sock), options));
      });
    });
  }

  /** The local address the socket is bound to. */
  get address(): TransportAddress {
    return this.#transport.address;
  }

  /** Whether the client runs on a stream (TCP or TLS) rather than UDP. */
  get reliable(): boolean {
    return this.#transport.reliable;
  }

  /**
   * Sends raw bytes (an indication or ChannelData) from this socket.
   *
   * @param data Bytes.
   * @param to Destination.
   */
  send(data: Uint8Array, to: TransportAddress): void {
    this.#transport.send(data, to);
  }

  /**
   * Runs a request transaction, answering 401/438 challenges when credentials are configured.
   *
   * @param server Server address.
   * @param request The request, or a function building it for a transaction ID (a fresh ID is
   *   used for each retry; XOR-encoded IPv6 attributes depend on it).
   * @returns The success or error response (error responses resolve; check `class`).
   * @throws {StunTransactionError} on timeout or integrity failure.
   */
  async request(
    server: TransportAddress,
    request: StunMessage | ((transactionId: Uint8Array) => StunMessage),
  ): Promise<StunMessage> {
    const creds = this.#opts.credentials;
    const software = this.#opts.software ?? "rtclite";
    let redirects = 0, serverErrors = 0;
    for (;;) {
      const transactionId = crypto.getRandomValues(new Uint8Array(12));
      const built = typeof request === "function" ? request(transactionId) : request;
      const base = { ...built, transactionId, attributes: [...built.attributes] };
      if (software && !getAttribute(base, StunAttr.SOFTWARE)) {
        base.attributes.push(textAttribute(StunAttr.SOFTWARE, software));
      }
      let message: StunMessage = base;
      let options: EncodeOptions = {};
      let verify = (_: StunMessage) => true;
      if (creds) {
        ({ message, options } = creds.sign(base));
        const signed = options.integrity ?? options.integritySha256;
        // §9.2.5: once credentials are sent, responses without valid integrity are discarded,
        // except 401/438 challenges and 400 answers that carry no integrity are handled below.
        if (signed) {
          verify = (m) => {
            const code = m.class === StunClass.ErrorResponse ? getErrorCode(m)?.code : undefined;
            if (code === 401 || code === 438) return true;
            return verifyIntegrity(m, signed) !== false;
          };
        }
      } else if (this.#opts.shortTerm) {
        const st = this.#opts.shortTerm;
        const key = shortTermKey(st.password);
        message.attributes.push(textAttribute(StunAttr.USERNAME, st.username));
        options = st.sha256 ? { integritySha256: key } : { integrity: key };
        verify = (m) =>
          verifyIntegrity(m, key) !== false ||
          (m.class === StunClass.ErrorResponse && !getAttribute(m, StunAttr.MESSAGE_INTEGRITY) &&
            !getAttribute(m, StunAttr.MESSAGE_INTEGRITY_SHA256));
      }
      if (this.#opts.fingerprint) options.fingerprint = true;
      const response = await this.#transact(server, encodeStun(message, options), verify);
      if (response.class === StunClass.ErrorResponse && creds?.onErrorResponse(response)) continue;
      if (response.class === StunClass.SuccessResponse) creds?.succeeded();
      // @implements RFC8489 §6.3.4 ¶6 (RFC 5389 §7.3.4)
      const code = response.class === StunClass.ErrorResponse
        ? getErrorCode(response)?.code ?? 0
        : 0;
      if (code >= 500 && code <= 599 && serverErrors++ < 4) continue;
      // @implements RFC8489 §10 ¶3 (RFC 5389 §11), RFC8489 §14.8 ¶6-7 (RFC 5389 §15.6)
      const signed = options.integrity ?? options.integritySha256;
      const alternate =
        response.class === StunClass.ErrorResponse && getErrorCode(response)?.code === 300
          ? getAddress(response, StunAttr.ALTERNATE_SERVER)
          : undefined;
      if (alternate && signed && verifyIntegrity(response, signed) && redirects++ < 2) {
        log.debug("Redirected to {server}", { server: `${alternate.address}:${alternate.port}` });
        server = alternate;
        continue;
      }
      return response;
    }
  }

  /**
   * Sends a Binding request and returns the mapped address (XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS
   * from an old server).
   *
   * @param server Server address.
   * @returns The server-reflexive transport address.
   * @throws {StunTransactionError} on timeout or an error response.
   */
  // @implements RFC8489 §6.3.3 ¶3 (RFC 5389 §7.3.3)
  async binding(server: TransportAddress): Promise<TransportAddress> {
    const res = await this.request(server, createMessage(StunMethod.Binding, StunClass.Request));
    if (res.class === StunClass.ErrorResponse) {
      const e = getErrorCode(res);
      throw new StunTransactionError(
        `Binding failed: ${e?.code} ${e?.reason}`,
        "error-response",
        res,
      );
    }
    const addr = getAddress(res, StunAttr.XOR_MAPPED_ADDRESS) ??
      getAddress(res, StunAttr.MAPPED_ADDRESS);
    if (!addr) {
      throw new StunTransactionError(
        "Binding response has no mapped address",
        "error-response",
        res,
      );
    }
    return addr;
  }

  #transact(
    server: TransportAddress,
    bytes: Uint8Array,
    verify: (m: StunMessage) => boolean,
  ): Promise<StunMessage> {
    if (this.#closed) return Promise.reject(new StunTransactionError("Client is closed", "closed"));
    const key = `${server.address}|${server.port}`;
    const tx = new StunClientTransaction(bytes, this.#now(), {
      ...this.#opts,
      rto: this.#rto.get(key, this.#now()),
      reliable: this.#transport.reliable,
    });
    const id = toHex(tx.transactionId);
    return new Promise<StunMessage>((resolve, reject) => {
      const p: Pending = { tx, server, sawDiscarded: false, resolve, reject, verify };
      this.#pending.set(id, p);
      const arm = () => {
        const d = tx.deadline;
        if (d === undefined) return;
        p.timer = setTimeout(() => {
          const again = tx.onTimeout(this.#now());
          if (again) this.send(again, server);
          if (tx.state === "timeout") {
            this.#pending.delete(id);
            reject(
              p.sawDiscarded
                ? new StunTransactionError("Responses failed the integrity check", "integrity")
                : new StunTransactionError(
                  `No response from ${server.address}:${server.port}`,
                  "timeout",
                ),
            );
          } else arm();
        }, Math.max(0, d - this.#now()));
      };
      this.send(bytes, server);
      arm();
    });
  }

  #receive(data: Uint8Array, from: TransportAddress): void {
    let msg: StunMessage | undefined;
    if (data.length >= 20 && (data[0]! & 0xc0) === 0) {
      try {
        msg = decodeStun(data, { classic: true });
      } catch {
        msg = undefined;
      }
    }
    if (msg && (msg.class === StunClass.SuccessResponse || msg.class === StunClass.ErrorResponse)) {
      const id = toHex(msg.transactionId.subarray(msg.transactionId.length - 12));
      const p = this.#pending.get(id);
      if (!p) return; // not in progress: discard (§6.3)
      if (!p.verify(msg)) {
        p.sawDiscarded = true; // §9.2.5: discard, keep retransmitting
        return;
      }
      const rtt = p.tx.complete(this.#now());
      if (rtt !== undefined) {
        this.#rto.sample(`${p.server.address}|${p.server.port}`, rtt, this.#now());
      }
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.resolve(msg);
      return;
    }
    this.onMessage?.(data, from);
  }

  #fail(why: string): void {
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new StunTransactionError(why, "closed"));
    }
    this.#pending.clear();
  }

  /** Closes the socket and fails pending transactions. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#fail("Client closed");
    return this.#transport.close();
  }

  /** Same as {@linkcode StunClient.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A running UDP server from {@linkcode serveStunUdp}. */
export interface UdpServer extends AsyncDisposable {
  /** The bound address. */
  readonly address: TransportAddress;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Serves a {@linkcode StunServer} on a UDP socket.
 *
 * @param server The sans-I/O server.
 * @param options Address to bind (default 0.0.0.0:3478).
 * @returns The running server.
 * @example
 * ```ts
 * import { StunServer } from "@rtclite/std/ietf/rfc5389";
 * import { serveStunUdp } from "@rtclite/std/ietf/rfc5389/udp";
 * import { equal } from "node:assert/strict";
 * await using udp = await serveStunUdp(new StunServer(), { hostname: "127.0.0.1", port: 0 });
 * equal(udp.address.address, "127.0.0.1");
 * ```
 */
export function serveStunUdp(
  server: StunServer,
  options: { hostname?: string; port?: number } = {},
): Promise<UdpServer> {
  const hostname = options.hostname ?? "0.0.0.0";
  const sock = dgram.createSocket(hostname.includes(":") ? "udp6" : "udp4");
  sock.on("message", (buf: Uint8Array, rinfo: dgram.RemoteInfo) => {
    const from: TransportAddress = {
      family: rinfo.family === "IPv6" ? 6 : 4,
      address: rinfo.address,
      port: rinfo.port,
    };
    const reply = server.handle(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), from);
    if (reply) sock.send(reply, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(options.port ?? 3478, hostname, () => {
      sock.off("error", reject);
      sock.on("error", (e: Error) => log.warn("Socket error: {error}", { error: String(e) }));
      const a = sock.address();
      let closed: Promise<void> | undefined;
      const close = () => closed ??= new Promise<void>((r) => sock.close(() => r()));
      resolve({
        address: { family: a.family === "IPv6" ? 6 : 4, address: a.address, port: a.port },
        close,
        [Symbol.asyncDispose]: close,
      });
    });
  });
}
