// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * RTMFP endpoints, sessions and flows (RFC 7016 §3), sans-I/O: an {@linkcode RtmfpEndpoint} is
 * given datagrams (`receive`), a clock (`now`) and a `send` callback, and asks to be woken at
 * {@linkcode RtmfpEndpoint.nextTimeout} (then `tick()`); it opens no socket and sets no timer, so
 * the same code runs over UDP (`udp.ts`) and in tests on a manual clock.
 *
 * An endpoint is one identity (a Diffie-Hellman key pair; its peer id is the SHA-256 of its
 * certificate) on one socket. It answers the startup handshake statelessly with a cookie
 * (§3.5.1.1.2), opens sessions to Endpoint Discriminators (§3.5.1.1.1), follows Redirects, and
 * can act as a rendezvous point through its `onHello` hook (§3.5.1.4, §3.5.1.5). Each
 * {@linkcode RtmfpSession} carries flows: {@linkcode SendFlow}s fragment messages, retransmit on
 * negative acknowledgement and timeout, and obey a TCP-compatible congestion window (§3.5.2,
 * §3.6.2); {@linkcode RecvFlow}s reorder, reassemble, deliver and acknowledge (§3.6.3).
 *
 * Only packets that decrypt with the session's key and pass the checksum reach a session;
 * startup packets (default key) can only start a handshake, whose state the responder keeps
 * nowhere but in the cookie until an IIKeying echoes it.
 *
 * @example Two endpoints on a manual clock exchange a message
 * ```ts
 * import { RtmfpEndpoint, urlEpd } from "@rtclite/vnd/adobe/rtmfp";
 * import { equal } from "node:assert/strict";
 *
 * let now = 0;
 * const wire: [Uint8Array, string][] = [];
 * const a = new RtmfpEndpoint({ now: () => now, send: (d) => wire.push([d, "b"]) });
 * const b = new RtmfpEndpoint({ now: () => now, send: (d) => wire.push([d, "a"]) });
 * const got: string[] = [];
 * b.onSession = (s) => s.onFlow = (f) => f.onMessage = (m) => got.push(new TextDecoder().decode(m));
 * const session = a.connect(urlEpd("rtmfp://b/app"), [{ address: "10.0.0.2", port: 1935 }]);
 * session.onOpen = () => session.openFlow(new Uint8Array([1])).send(new TextEncoder().encode("hi"));
 * for (let i = 0; i < 50 && wire.length; i++) {
 *   const [d, to] = wire.shift()!;
 *   if (to === "b") b.receive(d, { address: "10.0.0.1", port: 5000 });
 *   else a.receive(d, { address: "10.0.0.2", port: 1935 });
 * }
 * equal(session.state, "open");
 * equal(got[0], "hi");
 * ```
 *
 * @module
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ByteReader, ByteWriter, concat, equals, toHex } from "@rtclite/std/bytes";

export * from "./crypto.ts";
export * from "./flow.ts";
import { MAX_PLAIN_PACKET, RecvFlow, SendFlow } from "./flow.ts";
import {
  decodeEpd,
  decryptPacket,
  DEFAULT_KEY,
  deriveSessionKeys,
  type DhKeyPair,
  dhKeyPair,
  dhPublicKeyIn,
  dhSharedSecret,
  encryptPacket,
  type Epd,
  initiatorCertificate,
  initiatorKeyComponent,
  peerIdOf,
  responderKeyComponent,
} from "./crypto.ts";
import {
  type BitmapAckChunk,
  type Chunk,
  decodeMultiplex,
  decodePacket,
  encodedChunkLength,
  encodeMultiplex,
  encodePacket,
  type RangeAckChunk,
  readVlu,
  type RtmfpAddress,
  RtmfpError,
  type RtmfpOption,
  type RtmfpPacket,
  RtmfpParseError,
  type UserDataChunk,
  writeVlu,
} from "./packet.ts";

/** A UDP socket address. */
export interface SocketAddress {
  /** IP address text. */
  address: string;
  /** UDP port. */
  port: number;
}

const addrKey = (a: SocketAddress) => `${a.address}|${a.port}`;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// === Constants (RFC 7016 §3) ===

const MSS = MAX_PLAIN_PACKET;
// @implements RFC7016 §3.5.1.1.1 ¶2
const OPEN_TIMEOUT = 95_000;
const HELLO_BACKOFF_START = 1_500;
// @implements RFC7016 §3.5.1.1.1 ¶5
const REDIRECT_THRESHOLD = 24;
// @implements RFC7016 §3.5.1.1.2 ¶1
const COOKIE_LIFETIME = 120_000;
// @implements RFC7016 §3.5.5 ¶3-4
const NEARCLOSE_RESEND = 5_000;
const NEARCLOSE_TIMEOUT = 90_000;
// @implements RFC7016 §3.5.5 ¶8
const FARCLOSE_LINGER = 19_000;
// @implements RFC7016 §3.6.3.4.4
const DELACK = 200;
const INITIAL_WINDOW = 4380;
// @implements RFC7016 §3.5.2.3 ¶4
const BURST_LIMIT = 6;
const MAX_REASSEMBLY = 64;
const MAX_RECV_FLOWS = 1024;
const MAX_REASSEMBLED = 65536;

/** Session states (§3.5, Figure 8). */
export type SessionState =
  | "ihelloSent"
  | "keyingSent"
  | "open"
  | "nearClose"
  | "farCloseLinger"
  | "closed"
  | "openFailed";

/** What an endpoint's `onHello` hook is asked about: an IHello (or FIHello) not for this endpoint. */
export interface HelloRequest {
  /** The decoded Endpoint Discriminator. */
  epd: Epd;
  /** The raw Endpoint Discriminator. */
  epdBytes: Uint8Array;
  /** The initiator's tag. */
  tag: Uint8Array;
  /** Where the initiator can be reached (the IHello's source). */
  from: SocketAddress;
}

/** Options of an {@linkcode RtmfpEndpoint}. */
export interface EndpointOptions {
  /** The clock, in milliseconds. */
  now: () => number;
  /** Sends a datagram. */
  send: (datagram: Uint8Array, to: SocketAddress) => void;
  /** This endpoint's identity (default: a new key pair). */
  keyPair?: DhKeyPair;
  /** Random bytes (default: `crypto.getRandomValues`). */
  random?: (n: number) => Uint8Array;
  /** Whether an IHello for this URL selects this endpoint (default: every URL). */
  acceptUrl?: (url: string) => boolean;
  /** Idle time after which an open session sends a keepalive Ping (default 15 s; 0: never). */
  keepalive?: number;
  /** Keepalive Pings left unanswered before the session is declared dead (default 4). */
  keepaliveLimit?: number;
}

/** Counters of an endpoint, for tests and the `--trace` of the adapters. */
export interface EndpointStats {
  /** Datagrams received. */
  received: number;
  /** Datagrams sent. */
  sent: number;
  /** Datagrams dropped: not decryptable, bad checksum, no session, wrong mode. */
  dropped: number;
  /** Redirects sent for IHellos naming another peer. */
  redirects: number;
}

// === Endpoint: the multiplex and the startup pseudo-session (RFC 7016 §3.3, §3.5.1) ===

/** One RTMFP identity on one socket: many sessions, initiated or responded. */
export class RtmfpEndpoint {
  /** This endpoint's certificate (its DH public key in the Flash format). */
  readonly certificate: Uint8Array;
  /** This endpoint's peer id: SHA-256 of the certificate. */
  readonly peerId: Uint8Array;
  /** Counters. */
  readonly stats: EndpointStats = { received: 0, sent: 0, dropped: 0, redirects: 0 };
  /** Called with every new session this endpoint responds to, once open. */
  onSession?: (session: RtmfpSession) => void;
  /**
   * Called for an IHello whose EPD does not select this endpoint (another peer id): return
   * addresses to answer with a Redirect, or `undefined` to ignore it. A rendezvous server
   * answers with the peer's addresses and forwards the hello to it ({@linkcode RtmfpSession.forwardHello}).
   */
  onHello?: (request: HelloRequest) => RtmfpAddress[] | undefined;
  /** Called with each decoded packet, for tracing: direction, peer, session id, packet. */
  onTrace?: (
    direction: "in" | "out",
    peer: SocketAddress,
    sessionId: number,
    packet: RtmfpPacket,
  ) => void;
  /** @internal */
  readonly opts: Required<Omit<EndpointOptions, "keyPair">> & { keyPair: DhKeyPair };
  readonly #sessions = new Map<number, RtmfpSession>();
  readonly #opening = new Map<string, RtmfpSession>();
  readonly #responded = new Map<string, RtmfpSession>();
  readonly #cookieSecret: Uint8Array;
  /** @internal When a packet marked time critical was last received on any session. */
  timeCriticalAt = -Infinity;
  readonly #reassembly = new Map<string, {
    mode: number;
    parts: Map<number, Uint8Array>;
    final: number | undefined;
    size: number;
    started: number;
    progress: number;
  }>();
  #nextPacketId = 1;
  readonly #cookiesUsed = new Map<string, number>();

  /**
   * Makes an endpoint.
   *
   * @param options Clock, send callback, identity.
   */
  constructor(options: EndpointOptions) {
    const random = options.random ?? ((n: number) => crypto.getRandomValues(new Uint8Array(n)));
    this.opts = {
      now: options.now,
      send: options.send,
      random,
      keyPair: options.keyPair ?? dhKeyPair(random(128)),
      acceptUrl: options.acceptUrl ?? (() => true),
      keepalive: options.keepalive ?? 15_000,
      keepaliveLimit: options.keepaliveLimit ?? 4,
    };
    this.certificate = initiatorCertificate(this.opts.keyPair.publicKey);
    this.peerId = peerIdOf(this.certificate);
    this.#cookieSecret = random(32);
  }

  /** The sessions in any state but closed. */
  get sessions(): RtmfpSession[] {
    return [...new Set([...this.#sessions.values(), ...this.#opening.values()])];
  }

  /**
   * Opens a session to an Endpoint Discriminator ({@linkcode urlEpd} or {@linkcode peerIdEpd})
   * at one or more candidate addresses.
   *
   * @param epd The Endpoint Discriminator.
   * @param addresses Candidate addresses.
   * @returns The opening session (state `ihelloSent`).
   */
  // @implements RFC7016 §3.5.1.1.1 ¶1-4
  connect(epd: Uint8Array, addresses: SocketAddress[]): RtmfpSession {
    const session = new RtmfpSession(this, "initiator", this.#newSessionId());
    session.epd = epd;
    session.tag = this.opts.random(16);
    this.#opening.set(toHex(session.tag), session);
    this.#sessions.set(session.rxSessionId, session);
    for (const a of addresses) session.addCandidate(a);
    return session;
  }

  #newSessionId(): number {
    for (;;) {
      const b = this.opts.random(4);
      const id = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
      if (id !== 0 && !this.#sessions.has(id)) return id;
    }
  }

  /** @internal Sends a plain packet: encrypts, frames, counts, traces. */
  sendPacket(packet: RtmfpPacket, key: Uint8Array, sessionId: number, to: SocketAddress): void {
    const plain = encodePacket(packet);
    if (plain.length > MAX_PLAIN_PACKET && packet.mode === 3) {
      return this.#sendFragmented(plain, packet, key, sessionId, to);
    }
    this.onTrace?.("out", to, sessionId, packet);
    const datagram = encodeMultiplex(sessionId, encryptPacket(key, plain));
    this.stats.sent++;
    this.opts.send(datagram, to);
  }

  // A startup packet too large for one datagram (a long EPD or certificate) goes in Packet
  // Fragment chunks, each in a packet of the same mode.
  // @implements RFC7016 §3.4 ¶1-2
  #sendFragmented(
    plain: Uint8Array,
    packet: RtmfpPacket,
    key: Uint8Array,
    sessionId: number,
    to: SocketAddress,
  ): void {
    const packetId = this.#nextPacketId++;
    const size = MAX_PLAIN_PACKET - 32;
    const n = Math.ceil(plain.length / size);
    for (let i = 0; i < n; i++) {
      const data = plain.subarray(i * size, (i + 1) * size);
      const fragment: Chunk = { type: "fragment", more: i < n - 1, packetId, fragmentNum: i, data };
      this.sendPacket(
        { mode: packet.mode, timestamp: packet.timestamp, chunks: [fragment] },
        key,
        sessionId,
        to,
      );
    }
  }

  #startup(chunk: Chunk, sessionId: number, to: SocketAddress): void {
    const ts = Math.floor(this.opts.now() / 4) & 0xffff;
    this.sendPacket({ mode: 3, timestamp: ts, chunks: [chunk] }, DEFAULT_KEY, sessionId, to);
  }

  /**
   * Processes a received datagram. Anything that does not decrypt and parse is dropped (and
   * counted); this never throws for bad input.
   *
   * @param datagram The UDP payload.
   * @param from Its source address.
   */
  // @implements RFC7016 §3.3
  receive(datagram: Uint8Array, from: SocketAddress): void {
    this.stats.received++;
    try {
      const { sessionId, encrypted } = decodeMultiplex(datagram);
      if (sessionId === 0) return this.#receiveStartup(encrypted, from);
      const session = this.#sessions.get(sessionId);
      if (!session) return void this.stats.dropped++;
      session.receiveEncrypted(encrypted, from);
    } catch (e) {
      if (!(e instanceof RtmfpParseError)) throw e;
      this.stats.dropped++;
    }
  }

  /** @internal Decodes a startup-mode packet and traces it. */
  decodeStartup(
    encrypted: Uint8Array,
    key: Uint8Array,
    sessionId: number,
    from: SocketAddress,
  ): RtmfpPacket {
    const packet = decodePacket(decryptPacket(key, encrypted));
    this.onTrace?.("in", from, sessionId, packet);
    return packet;
  }

  #receiveStartup(encrypted: Uint8Array, from: SocketAddress): void {
    const packet = this.decodeStartup(encrypted, DEFAULT_KEY, 0, from);
    this.#processStartup(packet, from, true);
  }

  #processStartup(packet: RtmfpPacket, from: SocketAddress, fragments: boolean): void {
    // @implements RFC7016 §2.2.4 ¶21
    if (packet.mode !== 3) return void this.stats.dropped++;
    for (const chunk of packet.chunks) {
      switch (chunk.type) {
        case "ihello":
          this.hello(chunk.epd, chunk.tag, from);
          break;
        case "rhello":
        case "redirect":
          this.#opening.get(toHex(chunk.tagEcho))?.receiveStartupChunk(chunk, from);
          break;
        case "iikeying":
          this.#iikeying(chunk, from);
          break;
        case "fragment":
          if (fragments) this.#fragment(chunk, packet.mode, from);
          break;
      }
    }
  }

  // Reassembly of fragmented startup packets, by source address and packet id, within limits.
  // @implements RFC7016 §3.4 ¶3-7
  #fragment(chunk: Chunk & { type: "fragment" }, mode: number, from: SocketAddress): void {
    const now = this.opts.now();
    for (const [k, r] of this.#reassembly) {
      if (now - r.progress > 1_000 || now - r.started > 60_000) this.#reassembly.delete(k);
    }
    const key = `${addrKey(from)}|${chunk.packetId}`;
    let r = this.#reassembly.get(key);
    if (!r) {
      if (this.#reassembly.size >= MAX_REASSEMBLY) return void this.stats.dropped++;
      r = { mode, parts: new Map(), final: undefined, size: 0, started: now, progress: now };
      this.#reassembly.set(key, r);
    }
    if (r.mode !== mode || r.parts.has(chunk.fragmentNum)) return;
    r.size += chunk.data.length;
    if (r.size > MAX_REASSEMBLED) return void this.#reassembly.delete(key);
    r.parts.set(chunk.fragmentNum, chunk.data);
    r.progress = now;
    if (!chunk.more) r.final = chunk.fragmentNum;
    if (r.final === undefined) return;
    const parts: Uint8Array[] = [];
    for (let i = 0; i <= r.final; i++) {
      const part = r.parts.get(i);
      if (!part) return;
      parts.push(part);
    }
    this.#reassembly.delete(key);
    const packet = decodePacket(concat(parts));
    this.onTrace?.("in", from, 0, packet);
    if (packet.mode !== r.mode) return void this.stats.dropped++;
    this.#processStartup(packet, from, false);
  }

  /**
   * @internal Answers an IHello or FIHello: an RHello when the EPD selects this endpoint, a
   * Redirect when `onHello` gives addresses.
   */
  // @implements RFC7016 §3.5.1.1.2 ¶1
  hello(epdBytes: Uint8Array, tag: Uint8Array, from: SocketAddress): void {
    const epd = decodeEpd(epdBytes);
    const mine = "url" in epd
      ? this.opts.acceptUrl(epd.url)
      : "peerId" in epd && equals(epd.peerId, this.peerId);
    if (mine) {
      const cookie = this.#makeCookie(from);
      this.#startup(
        { type: "rhello", tagEcho: tag, cookie, certificate: this.certificate },
        0,
        from,
      );
      return;
    }
    const addresses = this.onHello?.({ epd, epdBytes, tag, from });
    if (addresses) this.redirect(tag, addresses, from);
  }

  /**
   * Sends a Redirect (§2.3.5) answering an IHello: what `onHello` does when it returns
   * addresses, for a hook that finds them later.
   *
   * @param tag The IHello's tag.
   * @param addresses Where the initiator should send IHellos (none: to this endpoint itself).
   * @param to The initiator.
   */
  // @implements RFC7016 §3.5.1.4
  redirect(tag: Uint8Array, addresses: RtmfpAddress[], to: SocketAddress): void {
    this.stats.redirects++;
    this.#startup({ type: "redirect", tagEcho: tag, addresses }, 0, to);
  }

  // A cookie: time (4 bytes), 8 random bytes, a MAC of those (authentic), then a MAC that also
  // covers the initiator's address (matches the address).
  #makeCookie(to: SocketAddress, at = Math.floor(this.opts.now() / 1000)): Uint8Array {
    const head = new Uint8Array(12);
    new DataView(head.buffer).setUint32(0, at >>> 0);
    head.set(this.opts.random(8), 4);
    return concat([head, ...this.#cookieMacs(head, to)]);
  }

  #cookieMacs(head: Uint8Array, to: SocketAddress): Uint8Array[] {
    const a = hmac(sha256, this.#cookieSecret, head).subarray(0, 16);
    const b = hmac(
      sha256,
      this.#cookieSecret,
      concat([head, new TextEncoder().encode(addrKey(to))]),
    )
      .subarray(0, 16);
    return [a, b];
  }

  #checkCookie(cookie: Uint8Array, from: SocketAddress): "valid" | "otherAddress" | "bad" {
    if (cookie.length !== 44) return "bad";
    const head = cookie.subarray(0, 12);
    const [a, b] = this.#cookieMacs(head, from);
    if (!equals(a!, cookie.subarray(12, 28))) return "bad";
    const at = new DataView(head.buffer, head.byteOffset).getUint32(0) * 1000;
    if (this.opts.now() - at > COOKIE_LIFETIME) return "bad";
    return equals(b!, cookie.subarray(28)) ? "valid" : "otherAddress";
  }

  // @implements RFC7016 §3.5.1.1.2 ¶3-5
  #iikeying(chunk: Chunk & { type: "iikeying" }, from: SocketAddress): void {
    const check = this.#checkCookie(chunk.cookieEcho, from);
    if (check === "bad") return void this.stats.dropped++;
    // @implements RFC7016 §3.5.1.2
    if (check === "otherAddress") {
      const newCookie = this.#makeCookie(from);
      this.#startup(
        { type: "cookieChange", oldCookie: chunk.cookieEcho, newCookie },
        chunk.initiatorSessionId,
        from,
      );
      return;
    }
    // @implements RFC7016 §3.5.1.3
    const glare = this.sessions.find((s) =>
      s.role === "initiator" && (s.state === "ihelloSent" || s.state === "keyingSent") &&
      s.isDestination(from)
    );
    if (glare) {
      // The Flash profile's comparison is not published; here the larger certificate prevails.
      if (compareBytes(this.certificate, chunk.certificate) > 0) return;
      glare.abort("glare");
    }
    const key = `${addrKey(from)}|${chunk.initiatorSessionId}`;
    const existing = this.#responded.get(key);
    if (existing && existing.state === "open") {
      // A retransmitted IIKeying: resend the RIKeying.
      if (equals(existing.skic, chunk.skic)) existing.sendRIKeying();
      return;
    }
    // One session per cookie: replaying an IIKeying with other session ids costs no DH.
    const cookieKey = toHex(chunk.cookieEcho);
    if (this.#cookiesUsed.has(cookieKey)) return void this.stats.dropped++;
    let peerPublic: Uint8Array;
    try {
      peerPublic = dhPublicKeyIn(chunk.certificate);
    } catch {
      return void this.stats.dropped++;
    }
    const session = new RtmfpSession(this, "responder", this.#newSessionId());
    const skrc = responderKeyComponent(this.opts.keyPair.publicKey);
    let secret: Uint8Array;
    try {
      secret = dhSharedSecret(this.opts.keyPair.privateKey, peerPublic);
    } catch {
      return void this.stats.dropped++;
    }
    const keys = deriveSessionKeys(secret, chunk.skic, skrc);
    session.farCertificate = chunk.certificate;
    session.farPeerId = peerIdOf(chunk.certificate);
    session.skic = chunk.skic;
    session.skrc = skrc;
    session.txSessionId = chunk.initiatorSessionId;
    session.address = from;
    session.encryptKey = keys.responderKey;
    session.decryptKey = keys.initiatorKey;
    this.#sessions.set(session.rxSessionId, session);
    this.#responded.set(key, session);
    this.#cookiesUsed.set(cookieKey, this.opts.now());
    for (const [c, at] of this.#cookiesUsed) {
      if (this.opts.now() - at > COOKIE_LIFETIME) this.#cookiesUsed.delete(c);
    }
    session.setOpen();
    session.sendRIKeying();
    this.onSession?.(session);
  }

  /** @internal A session was closed or failed: forget it. */
  forget(session: RtmfpSession): void {
    this.#sessions.delete(session.rxSessionId);
    if (session.tag) this.#opening.delete(toHex(session.tag));
    for (const [k, s] of this.#responded) if (s === session) this.#responded.delete(k);
  }

  /** @internal The initiator's session got its RHello: no longer matched by tag. */
  opened(session: RtmfpSession): void {
    if (session.tag) this.#opening.delete(toHex(session.tag));
  }

  /**
   * When {@linkcode tick} next needs to run (clock milliseconds), or `undefined`.
   *
   * @returns The earliest timer of any session.
   */
  nextTimeout(): number | undefined {
    let t: number | undefined;
    for (const s of this.sessions) {
      const n = s.nextTimeout();
      if (n !== undefined && (t === undefined || n < t)) t = n;
    }
    return t;
  }

  /** Runs the timers that are due. */
  tick(): void {
    for (const s of this.sessions) s.tick();
  }

  /** Closes every session (orderly). */
  close(): void {
    for (const s of this.sessions) s.close();
  }
}

// === Session (RFC 7016 §3.5) ===

/** A session between two endpoints. */
export class RtmfpSession {
  /** `initiator` or `responder`. */
  readonly role: "initiator" | "responder";
  /** The session id the far end sends with (ours). */
  readonly rxSessionId: number;
  /** The session id we send with (the far end's). */
  txSessionId = 0;
  /** The state (§3.5). */
  state: SessionState;
  /** DESTADDR: where packets go. */
  address: SocketAddress | undefined;
  /** The far end's certificate, once known. */
  farCertificate: Uint8Array | undefined;
  /** The far end's peer id (SHA-256 of its certificate), once known. */
  farPeerId: Uint8Array | undefined;
  /** Called when the session opens. */
  onOpen?: () => void;
  /** Called when the session closes or fails to open (with the reason). */
  onClose?: (reason: string) => void;
  /** Called when the far end opens a flow to us. */
  onFlow?: (flow: RecvFlow) => void;
  /** Called when the far end was verified at a new address (§3.5.4.2). */
  onAddressChange?: (address: SocketAddress) => void;
  /** Called with a Forwarded IHello received on this session (a rendezvous introduction). */
  onForwardedHello?: (chunk: Chunk & { type: "fihello" }) => void;
  /** Smoothed round-trip time, ms (§3.5.2.2). */
  srtt: number | undefined;
  /** Round-trip time variance, ms. */
  rttvar = 0;
  /** Measured retransmission timeout, ms. */
  mrto = 250;
  /** Effective retransmission timeout, ms. */
  erto = 3_000;
  /** Congestion window, bytes (§3.5.2). */
  cwnd: number = INITIAL_WINDOW;
  /** Slow start threshold, bytes. */
  ssthresh: number = Infinity;
  /** Counters. */
  readonly stats = { retransmissions: 0, timeouts: 0, naks: 0, packetsSent: 0, packetsReceived: 0 };

  /** @internal */ epd: Uint8Array | undefined;
  /** @internal */ tag: Uint8Array | undefined;
  /** @internal */ skic: Uint8Array = new Uint8Array();
  /** @internal */ skrc: Uint8Array = new Uint8Array();
  /** @internal */ encryptKey: Uint8Array = DEFAULT_KEY;
  /** @internal */ decryptKey: Uint8Array = DEFAULT_KEY;

  readonly #ep: RtmfpEndpoint;
  readonly #candidates = new Map<
    string,
    { address: SocketAddress; next: number; interval: number }
  >();
  #startedAt: number;
  #cookie: Uint8Array | undefined;
  #keyingNext = 0;
  #keyingInterval = HELLO_BACKOFF_START;
  #closeNext = 0;
  #closeDeadline = 0;
  // timestamps (§3.5.2.2)
  #tsRx: number | undefined;
  #tsRxTime = -Infinity;
  #tsEchoTx: number | undefined;
  #tsTx: number | undefined;
  #tsEchoRx: number | undefined;
  // flows
  readonly #sendFlows = new Map<number, SendFlow>();
  readonly #recvFlows = new Map<number, RecvFlow>();
  #nextFlowId = 1;
  #nextTsn = 1;
  #maxTsnAck = 0;
  #dataPacketCount = 0;
  #rxDataPackets = 0;
  #ackNow = false;
  #delackAt: number | undefined;
  #timeoutAt: number | undefined;
  #lastReceive = 0;
  #lastSend = 0;
  #lossAt = -Infinity;
  #tcrAt = -Infinity;
  #sendingTimeCritical = false;
  #mobTxTs = -Infinity;
  #mobRxTs = -Infinity;
  readonly #mobSecret: Uint8Array;
  #pingsUnanswered = 0;
  #control: Chunk[] = [];

  /** @internal Use {@linkcode RtmfpEndpoint.connect}. */
  constructor(endpoint: RtmfpEndpoint, role: "initiator" | "responder", rxSessionId: number) {
    this.#ep = endpoint;
    this.role = role;
    this.rxSessionId = rxSessionId;
    this.state = role === "initiator" ? "ihelloSent" : "keyingSent";
    this.#mobSecret = endpoint.opts.random(16);
    this.#startedAt = this.#now();
  }

  #now(): number {
    return this.#ep.opts.now();
  }

  #timestamp(): number {
    return Math.floor(this.#now() / 4) & 0xffff;
  }

  // --- Startup: initiator (§3.5.1.1.1) ---

  /**
   * Adds a candidate address for an opening session and sends it an IHello.
   *
   * @param address The candidate.
   */
  // @implements RFC7016 §3.5.1.1.1 ¶4
  addCandidate(address: SocketAddress): void {
    if (this.state !== "ihelloSent" || this.#candidates.has(addrKey(address))) return;
    if (this.#candidates.size >= REDIRECT_THRESHOLD) return;
    const c = { address, next: this.#now(), interval: HELLO_BACKOFF_START };
    this.#candidates.set(addrKey(address), c);
    this.#sendHello(c);
  }

  #sendHello(c: { address: SocketAddress; next: number; interval: number }): void {
    this.#ep.sendPacket(
      {
        mode: 3,
        timestamp: this.#timestamp(),
        chunks: [{ type: "ihello", epd: this.epd!, tag: this.tag! }],
      },
      DEFAULT_KEY,
      0,
      c.address,
    );
    c.next = this.#now() + c.interval;
    c.interval *= 2;
  }

  /** @internal An RHello or Redirect whose tag is ours. */
  receiveStartupChunk(chunk: Chunk, from: SocketAddress): void {
    if (this.state !== "ihelloSent") return;
    if (chunk.type === "redirect") {
      // @implements RFC7016 §3.5.1.1.1 ¶5
      const list = chunk.addresses.length ? chunk.addresses : [from];
      for (const a of list) this.addCandidate({ address: a.address, port: a.port });
      return;
    }
    if (chunk.type !== "rhello") return;
    // @implements RFC7016 §3.5.1.1.1 ¶6
    const epd = decodeEpd(this.epd!);
    if ("peerId" in epd && !equals(peerIdOf(chunk.certificate), epd.peerId)) return;
    this.farCertificate = chunk.certificate;
    this.farPeerId = peerIdOf(chunk.certificate);
    this.address = from;
    this.#cookie = chunk.cookie;
    this.skic = initiatorKeyComponent(this.#ep.opts.random(64));
    this.state = "keyingSent";
    this.#ep.opened(this);
    this.#keyingNext = this.#now();
    this.#keyingInterval = HELLO_BACKOFF_START;
    this.#sendIIKeying();
  }

  // @implements RFC7016 §3.5.1.1.1 ¶7
  #sendIIKeying(): void {
    this.#ep.sendPacket(
      {
        mode: 3,
        timestamp: this.#timestamp(),
        chunks: [{
          type: "iikeying",
          initiatorSessionId: this.rxSessionId,
          cookieEcho: this.#cookie!,
          certificate: this.#ep.certificate,
          skic: this.skic,
          signature: Uint8Array.of(0x58),
        }],
      },
      DEFAULT_KEY,
      0,
      this.address!,
    );
    this.#keyingNext = this.#now() + this.#keyingInterval;
    this.#keyingInterval *= 2;
  }

  /** @internal Responder: (re)sends the RIKeying, with the default key. */
  sendRIKeying(): void {
    this.#ep.sendPacket(
      {
        mode: 3,
        timestamp: this.#timestamp(),
        chunks: [{
          type: "rikeying",
          responderSessionId: this.rxSessionId,
          skrc: this.skrc,
          signature: Uint8Array.of(0x58),
        }],
      },
      DEFAULT_KEY,
      this.txSessionId,
      this.address!,
    );
  }

  /** @internal */
  setOpen(): void {
    // @implements RFC7016 §3.5.2.2 ¶4
    this.state = "open";
    this.#tsRxTime = -Infinity;
    this.#tsRx = this.#tsEchoTx = undefined;
    this.#lastReceive = this.#lastSend = this.#now();
    this.onOpen?.();
  }

  /** @internal A datagram for our receive session id. */
  receiveEncrypted(encrypted: Uint8Array, from: SocketAddress): void {
    if (this.state === "keyingSent" && this.role === "initiator") {
      // RIKeying and Cookie Change come with the default key.
      const packet = this.#ep.decodeStartup(encrypted, DEFAULT_KEY, this.rxSessionId, from);
      if (packet.mode !== 3) return;
      for (const chunk of packet.chunks) {
        // @implements RFC7016 §3.5.1.2
        if (
          chunk.type === "cookieChange" && this.#cookie && equals(chunk.oldCookie, this.#cookie)
        ) {
          this.#cookie = chunk.newCookie;
          this.#keyingInterval = HELLO_BACKOFF_START;
          this.#sendIIKeying();
        } else if (chunk.type === "rikeying") {
          // @implements RFC7016 §3.5.1.1.1 ¶9
          const peerPublic = dhPublicKeyIn(chunk.skrc);
          const secret = dhSharedSecret(this.#ep.opts.keyPair.privateKey, peerPublic);
          const keys = deriveSessionKeys(secret, this.skic, chunk.skrc);
          this.skrc = chunk.skrc;
          this.txSessionId = chunk.responderSessionId;
          this.encryptKey = keys.initiatorKey;
          this.decryptKey = keys.responderKey;
          this.setOpen();
          return;
        }
      }
      return;
    }
    if (this.state === "closed" || this.state === "openFailed" || this.state === "ihelloSent") {
      return;
    }
    const packet = decodePacket(decryptPacket(this.decryptKey, encrypted));
    this.#ep.onTrace?.("in", from, this.rxSessionId, packet);
    // @implements RFC7016 §2.2.4 ¶18-19
    if (packet.mode !== (this.role === "initiator" ? 2 : 1)) return;
    this.#receivePacket(packet, from);
  }

  // --- Open session: packets (§3.5.2.2, §3.5.4, §3.5.5) ---

  #receivePacket(packet: RtmfpPacket, from: SocketAddress): void {
    const now = this.#now();
    this.#lastReceive = now;
    this.#pingsUnanswered = 0;
    this.stats.packetsReceived++;
    // @implements RFC7016 §3.5.2.1
    if (packet.timeCriticalReverse) this.#tcrAt = now;
    if (packet.timeCritical) this.#ep.timeCriticalAt = now;
    // @implements RFC7016 §3.5.2.2 ¶5
    if (packet.timestamp !== undefined && packet.timestamp !== this.#tsRx) {
      this.#tsRx = packet.timestamp;
      this.#tsRxTime = now;
    }
    // @implements RFC7016 §3.5.2.2 ¶12
    if (packet.timestampEcho !== undefined && packet.timestampEcho !== this.#tsEchoRx) {
      this.#tsEchoRx = packet.timestampEcho;
      const ticks = (this.#timestamp() - packet.timestampEcho) & 0xffff;
      if (ticks <= 32767) this.#measureRtt(ticks * 4);
    }
    let lastFlow: RecvFlow | undefined, lastSn = 0, lastFsn = 0;
    let hadData = false, hadAck = false;
    for (const chunk of packet.chunks) {
      switch (chunk.type) {
        case "pingReply":
          this.#mobilityReply(chunk.message, from);
          break;
        // @implements RFC7016 §3.5.4 ¶1
        case "ping":
          if (this.state === "open") {
            this.#control.push({ type: "pingReply", message: chunk.message });
          }
          break;
        case "userData": {
          hadData = true;
          lastFlow = this.#recvFlow(chunk);
          lastSn = chunk.sequenceNumber;
          lastFsn = chunk.sequenceNumber - chunk.fsnOffset;
          lastFlow?.receive(chunk, lastFsn);
          break;
        }
        // @implements RFC7016 §2.3.12 ¶2
        case "nextUserData":
          hadData = true;
          if (!lastFlow) break;
          lastSn++;
          lastFlow.receive(
            { ...chunk, sequenceNumber: lastSn, fsnOffset: lastSn - lastFsn },
            lastFsn,
          );
          break;
        case "bitmapAck":
        case "rangeAck":
          hadAck = true;
          this.#sendFlows.get(chunk.flowId)?.acknowledge(chunk);
          break;
        // @implements RFC7016 §2.3.15 ¶2
        case "bufferProbe": {
          const f = this.#recvFlows.get(chunk.flowId);
          if (f) {
            f.shouldAck = true;
            this.#ackNow = true;
          }
          break;
        }
        case "flowException":
          this.#sendFlows.get(chunk.flowId)?.exception(chunk.exception);
          break;
        case "fihello":
          if (this.onForwardedHello) this.onForwardedHello(chunk);
          else this.#ep.hello(chunk.epd, chunk.tag, chunk.replyAddress);
          break;
        // @implements RFC7016 §3.5.5 ¶6
        case "close":
          this.#control.push({ type: "closeAck" });
          if (this.state === "open") {
            this.#abortFlows();
            this.state = "farCloseLinger";
            this.#closeDeadline = now + FARCLOSE_LINGER;
          }
          break;
        // @implements RFC7016 §3.5.5 ¶8
        case "closeAck":
          this.#closed("closed by the far end");
          return;
      }
    }
    if (hadAck) this.#afterAcks();
    // @implements RFC7016 §3.5.4.2 ¶2
    if (
      this.state === "open" && this.address && addrKey(from) !== addrKey(this.address) &&
      now - this.#mobTxTs >= 1_000
    ) {
      this.#mobTxTs = now;
      const p = this.#header();
      p.chunks.push({ type: "ping", message: this.#mobilityMessage(now, from) });
      this.#sendSessionPacket(p, from);
    }
    // @implements RFC7016 §3.6.3.2 ¶3
    if (hadData && ++this.#rxDataPackets >= 2) this.#ackNow = true;
    if (hadData && !this.#ackNow && this.#delackAt === undefined) this.#delackAt = now + DELACK;
    this.#flush();
  }

  // @implements RFC7016 §3.5.2.2 ¶12
  #measureRtt(rtt: number): void {
    if (this.srtt !== undefined) {
      this.rttvar = (3 * this.rttvar + Math.abs(this.srtt - rtt)) / 4;
      this.srtt = (7 * this.srtt + rtt) / 8;
    } else {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    }
    this.mrto = this.srtt + 4 * this.rttvar + 200;
    this.erto = Math.max(this.mrto, 250);
  }

  #header(): RtmfpPacket {
    const now = this.#now();
    const packet: RtmfpPacket = { mode: this.role === "initiator" ? 1 : 2, chunks: [] };
    // @implements RFC7016 §3.5.2.2 ¶11
    const ts = this.#timestamp();
    if (ts !== this.#tsTx) packet.timestamp = this.#tsTx = ts;
    // @implements RFC7016 §3.5.2.2 ¶6
    const elapsed = now - this.#tsRxTime;
    if (elapsed > 128_000 || this.#tsRx === undefined) {
      this.#tsRx = this.#tsEchoTx = undefined;
    } else {
      const echo = (this.#tsRx + Math.floor(elapsed / 4)) & 0xffff;
      if (echo !== this.#tsEchoTx) packet.timestampEcho = this.#tsEchoTx = echo;
    }
    return packet;
  }

  #sendSessionPacket(packet: RtmfpPacket, to: SocketAddress = this.address!): void {
    const now = this.#now();
    this.#lastSend = now;
    this.stats.packetsSent++;
    // @implements RFC7016 §2.2.4 ¶6
    if (now - this.#ep.timeCriticalAt < 800) packet.timeCriticalReverse = true;
    this.#ep.sendPacket(packet, this.encryptKey, this.txSessionId, to);
  }

  // --- Address mobility (§3.5.4.2) ---

  // 'M', the time (8 bytes), and a MAC over both and the address, under a secret of this end.
  #mobilityMessage(ts: number, to: SocketAddress): Uint8Array {
    const head = new Uint8Array(9);
    head[0] = 0x4d;
    new DataView(head.buffer).setFloat64(1, ts);
    const mac = hmac(
      sha256,
      this.#mobSecret,
      concat([head, new TextEncoder().encode(addrKey(to))]),
    );
    return concat([head, mac.subarray(0, 16)]);
  }

  // @implements RFC7016 §3.5.4.2 ¶3
  #mobilityReply(message: Uint8Array, from: SocketAddress): void {
    if (this.state !== "open" || message.length !== 25 || message[0] !== 0x4d) return;
    const ts = new DataView(message.buffer, message.byteOffset).getFloat64(1);
    if (this.#now() - ts > 120_000 || ts <= this.#mobRxTs) return;
    if (!equals(this.#mobilityMessage(ts, from), message)) return;
    this.#mobRxTs = ts;
    this.address = from;
    this.onAddressChange?.(from);
  }

  /** @internal Whether `a` is where this opening session sends its hellos or keying. */
  isDestination(a: SocketAddress): boolean {
    if (this.address && addrKey(this.address) === addrKey(a)) return true;
    return this.#candidates.has(addrKey(a));
  }

  /** @internal Drops an opening session without a word to the far end (glare). */
  abort(reason: string): void {
    this.#closed(reason);
  }

  /**
   * Sends a Forwarded IHello to the far end on this session: how a rendezvous server
   * introduces an initiator to a registered peer (§3.5.1.5).
   *
   * @param epd The initiator's Endpoint Discriminator.
   * @param tag The initiator's tag.
   * @param replyAddress Where the initiator is.
   */
  // @implements RFC7016 §3.5.1.5
  forwardHello(epd: Uint8Array, tag: Uint8Array, replyAddress: RtmfpAddress): void {
    this.#control.push({ type: "fihello", epd, replyAddress, tag });
    this.#flush();
  }

  /**
   * Sends a Ping (the reply resets nothing but proves the path, §3.5.4).
   *
   * @param message The message the Ping Reply will echo.
   */
  ping(message: Uint8Array = new Uint8Array()): void {
    this.#control.push({ type: "ping", message });
    this.#flush();
  }

  /**
   * Closes the session in an orderly way: Close Requests every 5 s until a Close Ack, at most 90 s.
   */
  // @implements RFC7016 §3.5.5 ¶2-4
  close(): void {
    if (this.state === "ihelloSent" || this.state === "keyingSent") {
      return this.#closed("closed before it opened");
    }
    if (this.state !== "open") return;
    this.#abortFlows();
    this.state = "nearClose";
    this.#closeDeadline = this.#now() + NEARCLOSE_TIMEOUT;
    this.#sendClose();
  }

  // @implements RFC7016 §3.5.5 ¶6
  #sendAbrupt(): void {
    const p = this.#header();
    p.chunks.push({ type: "closeAck" });
    this.#sendSessionPacket(p);
  }

  #sendClose(): void {
    const p = this.#header();
    p.chunks.push({ type: "close" });
    this.#sendSessionPacket(p);
    this.#closeNext = this.#now() + NEARCLOSE_RESEND;
  }

  #closed(reason: string): void {
    if (this.state === "closed" || this.state === "openFailed") return;
    this.#abortFlows();
    this.state = reason === "open timeout" ? "openFailed" : "closed";
    this.#ep.forget(this);
    this.onClose?.(reason);
  }

  // @implements RFC7016 §3.5.5 ¶5
  #abortFlows(): void {
    for (const f of this.#sendFlows.values()) f.abort();
    for (const f of this.#recvFlows.values()) f.abort();
    this.#sendFlows.clear();
    this.#recvFlows.clear();
  }

  // --- Flows (§3.6) ---

  /**
   * Opens a sending flow (§3.6.2.1).
   *
   * @param metadata The user's per-flow metadata (sent until the flow is acknowledged).
   * @param returnFlowId The receiving flow this one answers, if any (Return Flow Association).
   * @returns The flow.
   */
  // @implements RFC7016 §3.6.2.1
  openFlow(metadata: Uint8Array, returnFlowId?: number): SendFlow {
    if (this.state !== "open") throw new RtmfpError(`Cannot open a flow: session is ${this.state}`);
    if (returnFlowId !== undefined && !this.#recvFlows.has(returnFlowId)) {
      throw new RangeError(`Cannot open a flow: no receiving flow ${returnFlowId}`);
    }
    const id = this.#nextFlowId++;
    const options: RtmfpOption[] = [{ type: 0x00, value: metadata }];
    if (returnFlowId !== undefined) {
      const w = new ByteWriter(8);
      writeVlu(w, returnFlowId);
      options.push({ type: 0x0a, value: w.finish() });
    }
    const flow = new SendFlow(this, id, options);
    this.#sendFlows.set(id, flow);
    return flow;
  }

  /** The open sending flows. */
  get sendFlows(): SendFlow[] {
    return [...this.#sendFlows.values()];
  }

  /** The receiving flows. */
  get recvFlows(): RecvFlow[] {
    return [...this.#recvFlows.values()];
  }

  /** @internal */
  hasSendFlow(id: number): boolean {
    return this.#sendFlows.get(id)?.state === "open";
  }

  // @implements RFC7016 §3.6.3.1
  #recvFlow(chunk: UserDataChunk): RecvFlow | undefined {
    let flow = this.#recvFlows.get(chunk.flowId);
    if (flow) return flow;
    if (this.state !== "open") return undefined;
    let metadata: Uint8Array | undefined, returnFlowId: number | undefined;
    let bad = false;
    for (const o of chunk.options ?? []) {
      if (o.type === 0x00) metadata = o.value;
      else if (o.type === 0x0a) {
        try {
          returnFlowId = readVlu(
            new ByteReader(o.value, (m, at) => new RtmfpParseError(m, at), "return flow"),
            "flowID",
          );
        } catch {
          bad = true;
        }
      } else if (o.type < 0x2000) bad = true;
    }
    flow = new RecvFlow(this, chunk.flowId, metadata ?? new Uint8Array(), returnFlowId);
    this.#recvFlows.set(chunk.flowId, flow);
    this.#ackNow = true;
    if (
      metadata === undefined || bad || this.#recvFlows.size > MAX_RECV_FLOWS ||
      (returnFlowId !== undefined && !this.hasSendFlow(returnFlowId))
    ) {
      flow.reject(0);
    } else {
      this.onFlow?.(flow);
    }
    return flow;
  }

  /** @internal A receiving flow needs an acknowledgement now. */
  ackSoon(now: boolean): void {
    if (now) this.#ackNow = true;
  }

  /** @internal Try to send: control chunks, acknowledgements, data. */
  flush(): void {
    this.#flush();
  }

  // @implements RFC7016 §3.6.2.4
  /** @internal Congestion control: `bytes` of data were acknowledged. */
  acked(bytes: number, tsn: number): void {
    if (tsn > this.#maxTsnAck) this.#maxTsnAck = tsn;
    if (bytes <= 0) return;
    // @implements RFC7016 §3.5.2.1
    if (this.#now() - this.#tcrAt < 800 && !this.#sendingTimeCritical) {
      // The far end receives time critical data from elsewhere: no slow start, and at most
      // 0.5% or 384 bytes more a round trip.
      const perRtt = Math.max(this.cwnd * 0.005, 384);
      this.cwnd += Math.max(1, Math.floor((perRtt * Math.min(bytes, this.cwnd)) / this.cwnd));
      return;
    }
    // @implements RFC7016 §3.5.2 ¶1
    if (this.cwnd < this.ssthresh) this.cwnd += Math.min(bytes, MSS);
    else this.cwnd += Math.max(1, Math.floor((MSS * Math.min(bytes, MSS)) / this.cwnd));
  }

  // @implements RFC7016 §3.6.2.5 ¶4
  #afterAcks(): void {
    // @implements RFC7016 §3.5.2.3 ¶5
    this.#dataPacketCount = 0;
    let loss = false;
    for (const f of this.#sendFlows.values()) {
      for (const e of f.queue) {
        if (e.inFlight && e.tsn < this.#maxTsnAck) {
          e.nakCount++;
          this.stats.naks++;
          if (e.nakCount >= 3) {
            e.inFlight = false;
            loss = true;
          }
        }
      }
    }
    if (loss && this.#now() - this.#lossAt > (this.srtt ?? this.erto)) {
      this.#lossAt = this.#now();
      this.ssthresh = Math.max(Math.floor(this.#outstanding() / 2), 2 * MSS);
      this.cwnd = this.ssthresh;
    }
    // @implements RFC7016 §3.6.2.6 ¶3
    if (this.#timeoutAt !== undefined) {
      this.#timeoutAt = this.#outstanding() > 0 ? this.#now() + this.erto : undefined;
    }
  }

  #outstanding(): number {
    let n = 0;
    for (const f of this.#sendFlows.values()) n += f.outstandingBytes;
    return n;
  }

  // @implements RFC7016 §3.6.2.6 ¶4
  #retransmissionTimeout(): void {
    this.#timeoutAt = undefined;
    this.#dataPacketCount = 0;
    let wasLoss = false;
    for (const f of this.#sendFlows.values()) {
      for (const e of f.queue) {
        if (e.inFlight) wasLoss = true;
        e.inFlight = false;
      }
    }
    if (wasLoss) {
      this.stats.timeouts++;
      // @implements RFC7016 §3.5.2.2 ¶14
      this.erto = Math.max(Math.min(this.erto * 1.4142, 10_000), this.mrto);
      this.ssthresh = Math.max(Math.floor(this.cwnd / 2), 2 * MSS);
      this.cwnd = MSS;
    }
  }

  #ackChunk(flow: RecvFlow): BitmapAckChunk | RangeAckChunk {
    const a = flow.rangeAck(), b = flow.bitmapAck();
    // @implements RFC7016 §3.6.3.4.3
    return b && encodedChunkLength(b) < encodedChunkLength(a) ? b : a;
  }

  // @implements RFC7016 §3.6.2.3
  #flush(): void {
    if (this.state !== "open" && this.state !== "farCloseLinger" && this.state !== "nearClose") {
      return;
    }
    for (let guard = 0; guard < 1000; guard++) {
      const packet = this.#header();
      let size = encodePacket(packet).length;
      const add = (c: Chunk): boolean => {
        const n = encodedChunkLength(c);
        if (size + n > MAX_PLAIN_PACKET) return false;
        packet.chunks.push(c);
        size += n;
        return true;
      };
      while (this.#control.length && add(this.#control[0]!)) this.#control.shift();
      // @implements RFC7016 §3.6.3.4.5
      const acking = this.#ackNow;
      let acks = 0;
      for (const f of this.#recvFlows.values()) {
        if (!f.shouldAck || (!acking && packet.chunks.length === 0 && !this.#hasData())) continue;
        if (f.state === "rejected") {
          add({ type: "flowException", flowId: f.id, exception: f.exceptionCode });
        }
        const ack = this.#ackChunk(f);
        if (!add(ack)) break;
        f.shouldAck = false;
        acks++;
      }
      if (acking) {
        this.#ackNow = false;
        this.#rxDataPackets = 0;
        this.#delackAt = undefined;
      }
      let data = 0;
      if (this.state === "open") {
        for (const f of this.#sendFlows.values()) {
          while (
            this.#outstanding() < this.cwnd && this.#dataPacketCount < BURST_LIMIT &&
            f.ready()
          ) {
            const entry = f.nextEligible()!;
            const chunk = f.chunkFor(entry, packet.chunks);
            if (!add(chunk)) break;
            if (entry.everSent) this.stats.retransmissions++;
            entry.inFlight = true;
            entry.everSent = true;
            entry.nakCount = 0;
            entry.sentAbandoned = entry.abandoned;
            entry.transmitSize = encodedChunkLength(chunk);
            entry.tsn = this.#nextTsn++;
            data++;
            // @implements RFC7016 §3.6.2.3 ¶7
            if (f.timeCritical) {
              packet.timeCritical = true;
              this.#sendingTimeCritical = true;
            }
          }
        }
        // @implements RFC7016 §3.6.2.9.1
        for (const f of this.#sendFlows.values()) {
          const probe = f.probeDue(this.#now(), this.erto);
          if (probe) add({ type: "bufferProbe", flowId: f.id });
        }
      }
      if (packet.chunks.length === 0) return;
      if (data) {
        this.#dataPacketCount++;
        this.#timeoutAt = this.#now() + this.erto;
      }
      this.#sendSessionPacket(packet);
      if (!data && !acks && this.#control.length === 0) return;
    }
  }

  #hasData(): boolean {
    for (const f of this.#sendFlows.values()) if (f.ready()) return true;
    return false;
  }

  // --- Timers ---

  /** @internal The earliest time this session needs {@linkcode tick}. */
  nextTimeout(): number | undefined {
    const t: number[] = [];
    switch (this.state) {
      case "ihelloSent":
        t.push(this.#startedAt + OPEN_TIMEOUT);
        for (const c of this.#candidates.values()) t.push(c.next);
        break;
      case "keyingSent":
        if (this.role === "initiator") t.push(this.#startedAt + OPEN_TIMEOUT, this.#keyingNext);
        break;
      case "open":
        if (this.#delackAt !== undefined) t.push(this.#delackAt);
        if (this.#timeoutAt !== undefined) t.push(this.#timeoutAt);
        if (this.#ep.opts.keepalive) {
          t.push(Math.max(this.#lastSend, this.#lastReceive) + this.#ep.opts.keepalive);
        }
        for (const f of this.#sendFlows.values()) {
          const p = f.probeTime(this.erto);
          if (p !== undefined) t.push(p);
          if (f.lingerUntil !== undefined) t.push(f.lingerUntil);
        }
        for (const f of this.#recvFlows.values()) {
          if (f.lingerUntil !== undefined) t.push(f.lingerUntil);
        }
        break;
      case "nearClose":
        t.push(this.#closeNext, this.#closeDeadline);
        break;
      case "farCloseLinger":
        t.push(this.#closeDeadline);
        break;
    }
    return t.length ? Math.min(...t) : undefined;
  }

  /** @internal Runs due timers. */
  tick(): void {
    const now = this.#now();
    switch (this.state) {
      case "ihelloSent":
      case "keyingSent":
        if (this.role === "responder") return;
        // @implements RFC7016 §3.5.1.1.1 ¶2
        if (now >= this.#startedAt + OPEN_TIMEOUT) return this.#closed("open timeout");
        if (this.state === "ihelloSent") {
          for (const c of this.#candidates.values()) if (now >= c.next) this.#sendHello(c);
        } else if (now >= this.#keyingNext) {
          this.#sendIIKeying();
        }
        return;
      case "open":
        if (this.#delackAt !== undefined && now >= this.#delackAt) {
          this.#delackAt = undefined;
          this.#ackNow = true;
        }
        if (this.#timeoutAt !== undefined && now >= this.#timeoutAt) this.#retransmissionTimeout();
        // Completed flows linger, then close (§3.6.2.11, §3.6.3.8).
        for (const flows of [this.#sendFlows, this.#recvFlows]) {
          for (const [id, f] of flows) {
            if (f.lingerUntil !== undefined && now >= f.lingerUntil) {
              f.state = "closed";
              flows.delete(id);
            }
          }
        }
        // @implements RFC7016 §3.5.4.1
        if (
          this.#ep.opts.keepalive &&
          now >= Math.max(this.#lastSend, this.#lastReceive) + this.#ep.opts.keepalive
        ) {
          // A far end that answers none of several keepalives is gone (§3.5.4.1).
          if (++this.#pingsUnanswered > this.#ep.opts.keepaliveLimit) {
            this.#sendAbrupt();
            return this.#closed("far end silent");
          }
          this.#control.push({ type: "ping", message: new Uint8Array() });
        }
        this.#flush();
        return;
      case "nearClose":
        // @implements RFC7016 §3.5.5 ¶4
        if (now >= this.#closeDeadline) return this.#closed("no Close Ack");
        if (now >= this.#closeNext) this.#sendClose();
        return;
      case "farCloseLinger":
        // @implements RFC7016 §3.5.5 ¶7
        if (now >= this.#closeDeadline) this.#closed("closed by the far end");
        return;
    }
  }

  /** @internal The clock. */
  get now(): number {
    return this.#now();
  }
}
