// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * A high-level SIP user agent: register with digest authentication and
 * refresh before expiry, place and answer audio calls (SDP offer/answer,
 * RTP media with tone or WAV sources and a WAV recorder), send DTMF as
 * RFC 4733 telephone events, hold and resume with re-INVITE, and send and
 * receive RFC 3428 instant messages.
 *
 * It joins the SIP core of `@rtclite/std/ietf/rfc3261` (`UserAgent`,
 * `SipEndpoint`, transports) to the SDP offer/answer state of
 * `@rtclite/std/ietf/rfc3264` and the media sessions of
 * `@rtclite/app/net/media`.
 *
 * - {@linkcode SipClient.start} binds a transport; `register()`,
 *   `unregister()`, `call()`, `message()`, `close()`;
 *   events `incoming`, `message`, `registered`, `registration-failed`.
 * - {@linkcode Call}: events `ringing`, `answered`, `ended`, `dtmf`, `hold`;
 *   `accept()`, `reject()`, `hangup()`, `sendDtmf()`, `hold()`, `resume()`.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc3261 | RFC 3261},
 * {@link https://www.rfc-editor.org/rfc/rfc3428 | RFC 3428} and
 * {@link https://www.rfc-editor.org/rfc/rfc4733 | RFC 4733}.
 *
 * @example Two clients on 127.0.0.1: a call with a tone, DTMF and a message
 * ```ts
 * import { SipClient } from "@rtclite/app/sip/client";
 * import { ToneSource } from "@rtclite/app/net/media";
 * import { equal } from "node:assert/strict";
 *
 * const bob = await SipClient.start({ aor: "sip:bob@127.0.0.1", port: 0 });
 * const alice = await SipClient.start({ aor: "sip:alice@127.0.0.1", port: 0 });
 * const digits = Promise.withResolvers<string>();
 * const text = Promise.withResolvers<string>();
 * bob.on("message", (m) => text.resolve(m.text));
 * bob.on("incoming", async (call) => {
 *   call.on("dtmf", (d) => digits.resolve(d));
 *   await call.accept();
 * });
 * const call = await alice.call(`sip:bob@127.0.0.1:${bob.port}`, { source: new ToneSource(440) });
 * await call.answered;
 * await call.sendDtmf("5");
 * equal(await digits.promise, "5");
 * await alice.message(`sip:bob@127.0.0.1:${bob.port}`, "hello");
 * equal(await text.promise, "hello");
 * await call.hangup();
 * await alice.close();
 * await bob.close();
 * ```
 *
 * @module
 */
// @implements RFC3261 (SIP user agent: registration §10, calls §13-15), RFC3428 (MESSAGE), RFC4733 (DTMF events)
import {
  type Call as CoreCall,
  type CallState as CoreCallState,
  createResponse,
  formatAddress,
  type IncomingRequest,
  randomToken,
  SipEndpoint,
  SipMessage,
  type SipTransport,
  UserAgent,
} from "@rtclite/std/ietf/rfc3261";
import { TcpTransport, TlsTransport, UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
import { WsTransport } from "@rtclite/std/ietf/rfc3261/ws_transport";
import { parseUri } from "@rtclite/std/ietf/rfc2396";
import { type LocalStream, type NegotiatedStream, OfferAnswer } from "@rtclite/std/ietf/rfc3264";
import { formatSdp, getDirection, parseSdp } from "@rtclite/std/ietf/rfc4566";
import { type AudioSink, type AudioSource, MediaSession, type RtpMap } from "../net/media.ts";
import { getLogger } from "@rtclite/std/log";

export type { AudioSink, AudioSource, RtpMap };

const log = getLogger("sip", "client");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// === Errors and events ===

/** A failed SIP operation: a registration, call or message answered with an error status. */
export class SipClientError extends Error {
  /** The SIP status code, or 0 when no response applies (local failure). */
  readonly status: number;

  /**
   * Creates the error.
   *
   * @param message What failed and why.
   * @param status The SIP status code (0 for a local failure).
   */
  constructor(message: string, status = 0) {
    super(message);
    this.name = "SipClientError";
    this.status = status;
  }
}

type Listener<T> = (value: T) => void;

class Listeners<E> {
  #map = new Map<keyof E, Set<Listener<never>>>();
  on<K extends keyof E>(type: K, fn: Listener<E[K]>): void {
    let set = this.#map.get(type);
    if (!set) this.#map.set(type, set = new Set());
    set.add(fn as Listener<never>);
  }
  off<K extends keyof E>(type: K, fn: Listener<E[K]>): void {
    this.#map.get(type)?.delete(fn as Listener<never>);
  }
  has(type: keyof E): boolean {
    return (this.#map.get(type)?.size ?? 0) > 0;
  }
  emit<K extends keyof E>(type: K, value: E[K]): void {
    for (const fn of [...(this.#map.get(type) ?? [])]) {
      try {
        const r = (fn as Listener<E[K]>)(value) as unknown;
        if (r instanceof Promise) {
          r.catch((e) =>
            log.warn("Listener of {type} failed: {error}", { type, error: String(e) })
          );
        }
      } catch (e) {
        log.warn("Listener of {type} failed: {error}", { type, error: String(e) });
      }
    }
  }
}

/** Events of a {@linkcode Call} and the values their listeners receive. */
export interface CallEvents {
  /** A provisional response (180/183) arrived for an outgoing call: its status. */
  ringing: number;
  /** The call was answered (outgoing) or accepted (incoming); media flows. */
  answered: CallMedia;
  /** The call ended: the reason (`BYE received`, `486 Busy Here`, ...). */
  ended: string;
  /** A DTMF key press was received (RFC 4733). */
  dtmf: string;
  /** The peer put the call on hold (`true`) or resumed it (`false`). */
  hold: boolean;
}

/** An instant message received (RFC 3428). */
export interface InstantMessage {
  /** Sender (From URI). */
  from: string;
  /** Display name of the sender, if any. */
  displayName?: string;
  /** Recipient (To URI). */
  to: string;
  /** Body type, e.g. `text/plain`. */
  contentType: string;
  /** The body. */
  body: Uint8Array;
  /** The body decoded as UTF-8. */
  text: string;
  /** Call-ID of the request. */
  callId: string;
}

/** The negotiated media of an answered {@linkcode Call}. */
export interface CallMedia {
  /** Codec sent, e.g. `PCMU`. */
  encoding: string;
  /** Its RTP payload type. */
  payloadType: number;
  /** Payload type of telephone-event (RFC 4733), if negotiated. */
  dtmfPayloadType?: number;
  /** Direction from this side: `sendrecv`, `sendonly` (we hold), `recvonly` (we are held), `inactive`. */
  direction: string;
  /** Peer's RTP address. */
  remoteAddress: string;
  /** Peer's RTP port. */
  remotePort: number;
  /** Local RTP port. */
  localPort: number;
}

/** Media statistics of a {@linkcode Call}. */
export interface CallStats {
  /** RTP packets sent. */
  packetsSent: number;
  /** RTP packets received (all sources). */
  packetsReceived: number;
  /** Packets lost, as counted by RTP sequence numbers. */
  packetsLost: number;
  /** Audio frames played from received packets. */
  framesPlayed: number;
  /** DTMF digits received. */
  digits: string;
}

/** Events of a {@linkcode SipClient} and the values their listeners receive. */
export interface SipClientEvents {
  /** A call arrives: answer with `call.accept()` or `call.reject()`. Without a listener, calls are rejected with 480. */
  incoming: Call;
  /** An instant message arrived (answered 200 already). */
  message: InstantMessage;
  /** A registration or refresh succeeded: the granted lifetime in seconds. */
  registered: number;
  /** A registration refresh failed. */
  "registration-failed": SipClientError;
}

// === Calls ===

/** Media options of {@linkcode SipClient.prototype.call} and {@linkcode Call.prototype.accept}. */
export interface CallMediaOptions {
  /** Audio to send (tone, WAV file; default silence). */
  source?: AudioSource;
  /** Where received audio goes (e.g. a `WavSink`; default discarded). */
  sink?: AudioSink;
  /** Local RTP port (even; default a free one). */
  rtpPort?: number;
  /** Frame length in ms (default 20). */
  ptime?: number;
  /**
   * Audio formats to offer or accept, in order of preference (default PCMU, PCMA and
   * telephone-event); the first one the peer also has is sent.
   */
  formats?: readonly RtpMap[];
  /**
   * Sample rate of the source and sink (default 8000); `formats` must then have codecs at
   * this rate, e.g. L16/16000 and telephone-event/16000.
   */
  sampleRate?: number;
  /**
   * Direction of the audio stream offered or answered (default `sendrecv`); `inactive` sets
   * up the call without audio flowing either way (RFC 3264 §5.1).
   */
  direction?: "sendrecv" | "sendonly" | "recvonly" | "inactive";
  /** Extra headers of an outgoing INVITE, e.g. `[["Subject", "Lunch"]]`. */
  headers?: readonly [string, string][];
}

/** State of a {@linkcode Call}. */
export type CallState = "calling" | "ringing" | "answered" | "ended";

/**
 * One audio call, outgoing or incoming. Made by {@linkcode SipClient.prototype.call}
 * or delivered by the client's `incoming` event.
 *
 * @example Listen for the end of a call
 * ```ts
 * import { SipClient } from "@rtclite/app/sip/client";
 * import { equal } from "node:assert/strict";
 *
 * const bob = await SipClient.start({ aor: "sip:bob@127.0.0.1", port: 0 });
 * bob.on("incoming", (call) => call.reject(486));
 * const alice = await SipClient.start({ aor: "sip:alice@127.0.0.1", port: 0 });
 * const call = await alice.call(`sip:bob@127.0.0.1:${bob.port}`);
 * equal(await call.ended, "486 Busy Here");
 * equal(call.state, "ended");
 * await alice.close();
 * await bob.close();
 * ```
 */
export class Call {
  /** Outgoing or incoming. */
  readonly direction: "outgoing" | "incoming";
  /** The peer's URI (the target of an outgoing call, the caller of an incoming one). */
  readonly remote: string;
  /** Display name of the caller of an incoming call, if given. */
  readonly remoteName: string | undefined;
  /** DTMF digits received so far. */
  digits = "";
  #state: CallState;
  #client: SipClient;
  #core: CoreCall | undefined;
  #media: MediaSession | undefined;
  #oa: OfferAnswer;
  #events = new Listeners<CallEvents>();
  #answered = Promise.withResolvers<void>();
  #ended = Promise.withResolvers<string>();
  #hangupWanted = false;
  #reoffering = false;
  #awaitingAck = false;
  #remoteHeld = false;
  #held = false;
  #stream: NegotiatedStream | undefined;
  #direction: NonNullable<CallMediaOptions["direction"]> = "sendrecv";

  /** @internal */
  constructor(
    client: SipClient,
    direction: "outgoing" | "incoming",
    remote: string,
    remoteName?: string,
  ) {
    this.#client = client;
    this.direction = direction;
    this.remote = remote;
    this.remoteName = remoteName;
    this.#state = direction === "outgoing" ? "calling" : "ringing";
    this.#oa = new OfferAnswer({ address: client.mediaHost, username: "rtclite" });
    this.#answered.promise.catch(() => {});
  }

  /** Where the call stands. */
  get state(): CallState {
    return this.#state;
  }

  /** Resolves when the call is answered; rejects with {@linkcode SipClientError} when it fails. */
  get answered(): Promise<void> {
    return this.#answered.promise;
  }

  /** Resolves with the end reason when the call ends. */
  get ended(): Promise<string> {
    return this.#ended.promise;
  }

  /** The negotiated audio once answered. */
  get media(): CallMedia | undefined {
    return this.#stream ? callMedia(this.#stream) : undefined;
  }

  /**
   * Media statistics (zero before the call is answered).
   *
   * @returns Packet counts and DTMF digits.
   */
  stats(): CallStats {
    const s = this.#media?.stats();
    return {
      packetsSent: s?.rtp.sender.packets ?? 0,
      packetsReceived: s?.rtp.sources.reduce((n, r) => n + r.received, 0) ?? 0,
      packetsLost: s?.rtp.sources.reduce((n, r) => n + Math.max(0, r.lost), 0) ?? 0,
      framesPlayed: s?.jitter.played ?? 0,
      digits: this.digits,
    };
  }

  /** The Call-ID of the call's INVITE (empty before it is sent). */
  get callId(): string {
    return this.#core?.invite.callId() ?? "";
  }

  /** Whether this side has put the call on hold. */
  get held(): boolean {
    return this.#held;
  }

  /**
   * Adds an event listener.
   *
   * @param type Event name.
   * @param listener Receives the event's value.
   * @returns This call.
   */
  on<K extends keyof CallEvents>(type: K, listener: (value: CallEvents[K]) => void): this {
    this.#events.on(type, listener);
    return this;
  }

  /**
   * Removes an event listener.
   *
   * @param type Event name.
   * @param listener The listener added before.
   * @returns This call.
   */
  off<K extends keyof CallEvents>(type: K, listener: (value: CallEvents[K]) => void): this {
    this.#events.off(type, listener);
    return this;
  }

  // --- outgoing (RFC 3261 §13.2) ---

  /** @internal */
  async _dial(target: string, options: CallMediaOptions, ua: UserAgent): Promise<void> {
    this.#media = await this.#openMedia(options);
    // @implements RFC3264 §5
    const offer = formatSdp(this.#oa.createOffer(this.#localStreams()));
    ua.invite(target, offer, (core) => {
      // The INVITE is not sent yet: the extra headers go in before it is.
      for (const [name, value] of options.headers ?? []) core.invite.add(name, value);
      this.#attach(core);
    })
      .then((core) => this.#onFinal(core))
      .catch((e) => this._end(`INVITE failed: ${e instanceof Error ? e.message : e}`));
  }

  // @implements RFC3261 §13.2.2.4, RFC3264 §5
  async #onFinal(core: CoreCall): Promise<void> {
    if (core.state !== "established") {
      const status = Number(/^\d+/.exec(core.endReason)?.[0] ?? 0);
      this.#answered.reject(
        new SipClientError(`Cannot call ${this.remote}: ${core.endReason}`, status),
      );
      this._end(core.endReason);
      return;
    }
    if (this.#hangupWanted) {
      await core.bye().catch(() => 0);
      this._end("cancelled");
      return;
    }
    try {
      const answer = parseSdp(decoder.decode(core.remoteBody ?? new Uint8Array()));
      const [stream] = this.#oa.setRemoteAnswer(answer);
      if (!stream || stream.rejected) {
        throw new SipClientError("the audio stream was rejected", 488);
      }
      this.#startMedia(stream);
    } catch (e) {
      const why = `Cannot use the answer: ${e instanceof Error ? e.message : e}`;
      this.#answered.reject(new SipClientError(why, 488));
      await core.bye().catch(() => 0);
      this._end(why);
      return;
    }
    this.#setAnswered();
  }

  // --- incoming (RFC 3261 §13.3) ---

  /** @internal */
  _incoming(core: CoreCall): void {
    this.#attach(core);
  }

  /**
   * Answers an incoming call with 200 OK and an SDP answer, and starts media.
   * When the INVITE had no offer, the 200 OK carries the offer and the call
   * is answered once the ACK brings the answer (RFC 3264 §4).
   *
   * @param options Audio source and sink.
   * @throws {SipClientError} When the call is not ringing or the offer cannot be answered
   * (the call is then rejected with 488).
   */
  // @implements RFC3261 §13.3.1.4, RFC3264 §6
  async accept(options: CallMediaOptions = {}): Promise<void> {
    const core = this.#core;
    if (this.direction !== "incoming" || this.#state !== "ringing" || !core || this.#media) {
      throw new SipClientError(
        `Cannot accept the call: it is ${this.#media ? "being accepted" : this.#state}`,
      );
    }
    const media = this.#media = await this.#openMedia(options);
    if (this.#state !== "ringing") {
      // Cancelled while the ports were opening.
      await media.close();
      throw new SipClientError(`Cannot accept the call: it is ${this.#state}`);
    }
    const offerless = !core.remoteBody?.length;
    let body: string;
    try {
      if (offerless) {
        // @implements RFC3261 §13.3.1.4 ¶3
        body = formatSdp(this.#oa.createOffer(this.#localStreams()));
        this.#awaitingAck = true;
      } else {
        this.#oa.setRemoteOffer(parseSdp(decoder.decode(core.remoteBody)));
        body = formatSdp(this.#oa.createAnswer(this.#localStreams()));
        const stream = this.#oa.negotiated[0];
        if (!stream || stream.rejected) throw new SipClientError("no common audio format", 488);
        this.#startMedia(stream);
      }
    } catch (e) {
      // @implements RFC3261 §13.3.1.3 ¶2
      this.reject(488);
      throw new SipClientError(
        `Cannot accept the call: ${e instanceof Error ? e.message : e}`,
        488,
      );
    }
    core.accept(body);
    if (!core.dialog) {
      // The INVITE transaction was over (cancelled, timed out) before the answer.
      this._end(core.endReason || "cancelled");
      throw new SipClientError("Cannot accept the call: the INVITE is no longer pending");
    }
    if (offerless) await this.answered;
    else this.#setAnswered();
  }

  /** @internal The ACK of an incoming call; it carries the answer when our 2xx had the offer. */
  // @implements RFC3261 §13.2.2.4 ¶4, RFC3264 §4
  _onAck(body: Uint8Array): void {
    if (!this.#awaitingAck) return;
    this.#awaitingAck = false;
    try {
      const [stream] = this.#oa.setRemoteAnswer(parseSdp(decoder.decode(body)));
      if (!stream || stream.rejected) {
        throw new SipClientError("the audio stream was rejected", 488);
      }
      this.#startMedia(stream);
      this.#setAnswered();
    } catch (e) {
      this.#core?.bye().catch(() => 0);
      this._end(`Cannot use the answer in the ACK: ${e instanceof Error ? e.message : e}`);
    }
  }

  /**
   * Rejects an incoming call that is ringing.
   *
   * @param status A 3xx-6xx status, default 486 Busy Here.
   */
  // @implements RFC3261 §13.3.1.3
  reject(status = 486): void {
    if (this.direction !== "incoming" || this.#state !== "ringing") return;
    this.#core?.reject(status);
  }

  // --- in the call ---

  /**
   * Ends the call: BYE when answered (RFC 3261 §15.1), CANCEL while an
   * outgoing call rings (§9.1), 603 Decline for an incoming call not yet
   * accepted. Resolves once the call has ended.
   *
   * @returns The end reason.
   */
  async hangup(): Promise<string> {
    const core = this.#core;
    this.#hangupWanted = true;
    if (this.#state === "ended") return await this.ended;
    if (this.#state === "answered" && core) {
      // @implements RFC3261 §15.1.1
      const status = await this.#client._bounded(core.bye().catch(() => 503), 4000, 408);
      this._end(status >= 200 && status < 300 ? "hung up" : `hung up (BYE answered ${status})`);
    } else if (this.direction === "outgoing") {
      // @implements RFC3261 §9.1
      core?.cancel();
      await this.#client._bounded(this.ended, 4000, "");
      this._end("cancelled");
    } else {
      this.reject(603);
      this._end("declined");
    }
    return await this.ended;
  }

  /**
   * Sends DTMF key presses as telephone-event packets (RFC 4733), one after another.
   *
   * @param digits Keys `0-9`, `*`, `#`, `A-D`.
   * @param options Duration of each press (100 ms) and pause between presses (60 ms).
   * @throws {SipClientError} When the call is not answered or the peer did not negotiate telephone-event.
   */
  // @implements RFC4733 §2.5.1.2
  async sendDtmf(
    digits: string,
    options: { durationMs?: number; gapMs?: number } = {},
  ): Promise<void> {
    if (this.#state !== "answered" || !this.#media) {
      throw new SipClientError(`Cannot send DTMF: the call is ${this.#state}`);
    }
    if (!/^[0-9*#A-Da-d]*$/.test(digits)) {
      throw new RangeError(`Cannot send DTMF: "${digits}" has keys other than 0-9 * # A-D`);
    }
    try {
      await this.#media.sendDtmf(digits.toUpperCase(), options);
    } catch (e) {
      throw new SipClientError(e instanceof Error ? e.message : String(e));
    }
  }

  /**
   * Puts the call on hold with a re-INVITE offering `sendonly` media.
   *
   * @throws {SipClientError} When the call is not answered or the re-INVITE fails.
   */
  // @implements RFC3261 §14.1, RFC3264 §8.4
  async hold(): Promise<void> {
    await this.#reoffer(true);
  }

  /**
   * Takes the call off hold with a re-INVITE offering `sendrecv` media again.
   *
   * @throws {SipClientError} When the call is not answered or the re-INVITE fails.
   */
  async resume(): Promise<void> {
    await this.#reoffer(false);
  }

  /**
   * Sends an instant message within the call's dialog (RFC 3428 §4).
   *
   * @param text The message.
   * @param contentType Body type (default `text/plain;charset=utf-8`).
   * @returns The final status (200, or 202 from a relay).
   * @throws {SipClientError} On an error response.
   */
  async message(text: string | Uint8Array, contentType?: string): Promise<number> {
    const d = this.#core?.dialog;
    if (this.#state !== "answered" || !d) {
      throw new SipClientError(`Cannot send a message in the call: it is ${this.#state}`);
    }
    return await this.#client._sendMessage(d.createRequest("MESSAGE"), text, contentType);
  }

  async #reoffer(hold: boolean): Promise<void> {
    const core = this.#core;
    if (this.#state !== "answered" || !core || !this.#media) {
      throw new SipClientError(`Cannot ${hold ? "hold" : "resume"} the call: it is ${this.#state}`);
    }
    // @implements RFC3261 §14.1 ¶6-7
    if (this.#reoffering || this.#oa.state !== "stable") {
      throw new SipClientError(
        `Cannot ${hold ? "hold" : "resume"} the call: an offer/answer exchange is in progress`,
      );
    }
    this.#reoffering = true;
    let r: SipMessage;
    try {
      // @implements RFC3264 §8.4 ¶2
      const offer = this.#oa.createOffer(this.#localStreams(hold));
      r = await core.reinvite(formatSdp(offer));
    } finally {
      this.#reoffering = false;
    }
    // @implements RFC3261 §14.1 ¶10
    if (r.status < 200 || r.status >= 300) {
      this.#rollback();
      throw new SipClientError(
        `Cannot ${hold ? "hold" : "resume"} the call: re-INVITE answered ${r.status} ${r.reason}`,
        r.status,
      );
    }
    const [stream] = this.#oa.setRemoteAnswer(parseSdp(r.text));
    if (stream) this.#startMedia(stream);
    this.#held = hold;
  }

  /** The streams to offer or answer with: sendonly while this side holds. */
  #localStreams(hold = this.#held): LocalStream[] {
    const s = this.#media!.localStream;
    const base = this.#direction;
    // @implements RFC3264 §8.4 ¶2
    const held = base === "sendrecv" ? "sendonly" : base === "recvonly" ? "inactive" : base;
    return [{ ...s, direction: hold ? held : base }];
  }

  /**
   * Forgets an offer the peer refused: a fresh offer/answer state with the
   * same `o=` session and a higher version, so the next offer is accepted.
   */
  #rollback(): void {
    const o = this.#oa.localDescription?.origin;
    this.#oa = new OfferAnswer({
      address: this.#client.mediaHost,
      ...(o
        ? {
          username: o.username,
          sessionId: o.sessionId,
          sessionVersion: String(BigInt(o.sessionVersion) + 1n),
        }
        : { username: "rtclite" }),
    });
  }

  // @implements RFC3261 §14.2, RFC3264 §8
  #onReinvite(m: SipMessage): Uint8Array | undefined {
    const media = this.#media;
    if (!media) return undefined;
    try {
      const offer = parseSdp(m.text);
      this.#oa.setRemoteOffer(offer);
      const answer = formatSdp(this.#oa.createAnswer(this.#localStreams()));
      const stream = this.#oa.negotiated[0];
      if (stream) this.#startMedia(stream);
      const first = offer.media[0];
      const offered = first ? getDirection(first, offer) : "sendrecv";
      // @implements RFC3264 §8.4 ¶2-3
      const held = offered === "sendonly" || offered === "inactive";
      if (held !== this.#remoteHeld) {
        this.#remoteHeld = held;
        this.#events.emit("hold", held);
      }
      return encoder.encode(answer);
    } catch (e) {
      log.warn("Cannot answer the re-INVITE: {error}", { error: String(e) });
      return this.#core?.localBody;
    }
  }

  // --- plumbing ---

  async #openMedia(options: CallMediaOptions): Promise<MediaSession> {
    this.#direction = options.direction ?? "sendrecv";
    return await MediaSession.open({
      host: this.#client._mediaBindHost,
      ...(options.formats !== undefined ? { formats: options.formats } : {}),
      ...(options.sampleRate !== undefined ? { sampleRate: options.sampleRate } : {}),
      ...(options.rtpPort !== undefined ? { port: options.rtpPort } : {}),
      ...(options.source ? { source: options.source } : {}),
      ...(options.sink ? { sink: options.sink } : {}),
      ...(options.ptime !== undefined ? { ptime: options.ptime } : {}),
      onDtmf: (digit) => {
        this.digits += digit;
        this.#events.emit("dtmf", digit);
      },
    });
  }

  #startMedia(stream: NegotiatedStream): void {
    this.#stream = stream;
    this.#media!.start(stream);
  }

  #attach(core: CoreCall): void {
    this.#core = core;
    core.onReinvite = (m) => this.#onReinvite(m);
    core.onState = (s: CoreCallState) => {
      if (s === "ringing" && this.#state === "calling") {
        this.#state = "ringing";
        this.#events.emit("ringing", 180);
      } else if (s === "terminated" && this.#state !== "ended") {
        // Ended by the peer (BYE, CANCEL) or by a failure; outgoing failures end in #onFinal.
        if (this.direction === "incoming" || this.#state === "answered") {
          const cancelled = this.#state === "ringing" && /^487\b/.test(core.endReason);
          this._end(cancelled ? "cancelled" : core.endReason);
        }
      }
    };
  }

  #setAnswered(): void {
    if (this.#state === "ended") return;
    this.#state = "answered";
    this.#answered.resolve();
    this.#events.emit("answered", callMedia(this.#stream!));
  }

  /** @internal */
  _end(reason: string): void {
    if (this.#state === "ended") return;
    const wasAnswered = this.#state === "answered";
    this.#state = "ended";
    if (!wasAnswered) {
      this.#answered.reject(new SipClientError(`Call ended before it was answered: ${reason}`));
    }
    this.#client._forget(this);
    const media = this.#media;
    const done = () => {
      this.#ended.resolve(reason);
      this.#events.emit("ended", reason);
    };
    if (media) media.close().catch(() => {}).finally(done);
    else done();
  }
}

// === The client ===

/** Options of {@linkcode SipClient.start}. */
export interface SipClientOptions {
  /** Address of record, e.g. `sip:alice@example.com`. */
  aor: string;
  /** Display name for From. */
  displayName?: string;
  /** Digest user name (default: the user part of the address of record). */
  username?: string;
  /** Digest password, for registration and calls (RFC 3261 §22.2). */
  password?: string;
  /**
   * Transport: `udp` (default), `tcp`, `tls` (RFC 3261 §26.2; needs `tls`), or WebSocket
   * (RFC 7118) `ws` or `wss` (needs `tls`).
   */
  transport?: "udp" | "tcp" | "tls" | "ws" | "wss";
  /**
   * For `tls` and `wss`: this client's certificate chain and key (PEM), which it also
   * listens with, and extra CA certificates to trust when connecting out.
   */
  tls?: { cert: string; key: string; caCerts?: string[] };
  /** Local address to bind SIP and RTP to (default `127.0.0.1`). */
  host?: string;
  /** Local SIP port (default 5060; 0 picks a free one). */
  port?: number;
  /** Outbound proxy URI every out-of-dialog request is routed through, e.g. `sip:127.0.0.1:5060`. */
  outboundProxy?: string;
  /** Registrar URI (default: the outbound proxy, else `sip:` and the AOR's domain). */
  registrar?: string;
  /** Requested registration lifetime in seconds (default 3600). */
  expires?: number;
  /**
   * Address to put in SDP for media (default: `advertisedHost`, else `host`, or 127.0.0.1 for
   * a wildcard host).
   */
  mediaHost?: string;
  /**
   * Address to put in Via and Contact instead of the bound one, e.g. a NAT's public address
   * (default: the bound address; `mediaHost` or 127.0.0.1 for a wildcard host).
   */
  advertisedHost?: string;
  /** User-Agent header value (default `rtclite`). */
  userAgent?: string;
  /** Content types accepted in MESSAGE (default `text/plain`, `text/*`, `message/cpim`). */
  messageTypes?: string[];
  /** Largest MESSAGE body accepted, in bytes (default 65536; larger ones get 413). */
  maxMessageSize?: number;
  /**
   * End the start line and header lines with a bare LF instead of CRLF, for peers that need
   * it (RFC 3261 §7 asks for CRLF; §7.5 asks receivers to be lenient). The body is unchanged.
   */
  useLf?: boolean;
  /** Receives every SIP message sent or received, as text (for tracing). */
  trace?: (direction: "sent" | "received", text: string, host: string, port: number) => void;
}

/** The result of a registration. */
export interface Registration {
  /** The final response's status. */
  status: number;
  /** Its reason phrase. */
  reason: string;
  /** Granted lifetime in seconds (0 after unregistering). */
  expires: number;
}

/**
 * A SIP user agent for applications: registration, calls with audio, DTMF,
 * hold, instant messages.
 *
 * @example Register with a server in process, then unregister
 * ```ts
 * import { SipClient } from "@rtclite/app/sip/client";
 * import { SipServer } from "@rtclite/app/sip/server";
 * import { equal } from "node:assert/strict";
 *
 * const server = await SipServer.start({
 *   listen: [{ transport: "udp", host: "127.0.0.1", port: 0 }],
 *   domains: ["example.com"],
 *   auth: { alice: "secret" },
 * });
 * const port = server.endpoint.transports[0]!.port;
 * const alice = await SipClient.start({
 *   aor: "sip:alice@example.com",
 *   password: "secret",
 *   port: 0,
 *   outboundProxy: `sip:127.0.0.1:${port}`,
 * });
 * const reg = await alice.register();
 * equal(reg.status, 200);
 * equal((await server.location.lookup("sip:alice@example.com")).length, 1);
 * await alice.unregister();
 * equal((await server.location.lookup("sip:alice@example.com")).length, 0);
 * await alice.close();
 * await server.close();
 * ```
 */
export class SipClient implements AsyncDisposable {
  #ua: UserAgent;
  /** The address of record. */
  readonly aor: string;
  /** Address used in SDP for media. */
  readonly mediaHost: string;
  /** @internal Address the RTP sockets bind to. */
  readonly _mediaBindHost: string;
  #o: SipClientOptions;
  #events = new Listeners<SipClientEvents>();
  #calls = new Set<Call>();
  #refresh: ReturnType<typeof setTimeout> | undefined;
  #registered = false;
  #closed = false;
  #inFlight = new Set<Promise<void>>();
  #coreOnRequest: (inc: IncomingRequest) => void;

  private constructor(ua: UserAgent, options: SipClientOptions) {
    this.#ua = ua;
    this.aor = options.aor;
    this.#o = options;
    const host = options.host ?? "127.0.0.1";
    this.mediaHost = options.mediaHost ?? options.advertisedHost ??
      (host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host);
    // Media binds where SIP does when an address is advertised instead (a NAT's outside).
    this._mediaBindHost = options.advertisedHost !== undefined ? host : this.mediaHost;
    ua.onInvite = (core) => this.#onInvite(core);
    this.#coreOnRequest = ua.endpoint.onRequest;
    ua.endpoint.onRequest = (inc) => this.#onRequest(inc);
  }

  /**
   * Binds the transport and creates the client.
   *
   * @param options Identity, credentials, transport and servers.
   * @returns The client.
   * @throws {TypeError} When the address of record is not a SIP URI.
   */
  static async start(options: SipClientOptions): Promise<SipClient> {
    let aor;
    try {
      aor = parseUri(options.aor);
    } catch (e) {
      throw new TypeError(`Cannot start the SIP client: bad address of record ${options.aor}`, {
        cause: e,
      });
    }
    if (aor.scheme !== "sip" && aor.scheme !== "sips") {
      throw new TypeError(`Cannot start the SIP client: ${options.aor} is not a SIP URI`);
    }
    const t = { host: options.host ?? "127.0.0.1", port: options.port ?? 5060 };
    const secure = options.transport === "tls" || options.transport === "wss";
    if (secure && !options.tls) {
      throw new TypeError(
        `Cannot start the SIP client: ${options.transport} needs a certificate and key (tls)`,
      );
    }
    const transport: SipTransport = options.transport === "tls"
      ? await TlsTransport.listen({ ...t, ...options.tls! })
      : options.transport === "wss"
      ? await WsTransport.listen({ ...t, ...options.tls! })
      : options.transport === "ws"
      ? await WsTransport.listen(t)
      : options.transport === "tcp"
      ? await TcpTransport.listen(t)
      : await UdpTransport.listen(t);
    const advertised = options.advertisedHost ??
      (t.host === "0.0.0.0" ? options.mediaHost ?? "127.0.0.1" : undefined);
    const endpoint = new SipEndpoint({
      transports: [transport],
      ...(advertised !== undefined ? { advertisedHost: advertised } : {}),
    });
    if (options.useLf) useLf(transport);
    if (options.trace) traceTransport(transport, options.trace);
    const inFlight = trackSends(transport);
    const ua = new UserAgent({
      endpoint,
      aor: options.aor,
      userAgent: options.userAgent ?? "rtclite",
      ...(options.displayName !== undefined ? { displayName: options.displayName } : {}),
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.outboundProxy !== undefined ? { outboundProxy: options.outboundProxy } : {}),
    });
    const client = new SipClient(ua, options);
    client.#inFlight = inFlight;
    return client;
  }

  /** The local SIP port. */
  get port(): number {
    return this.#ua.endpoint.transports[0]!.port;
  }

  /** The Contact URI of this client. */
  get contact(): string {
    return this.#ua.contact;
  }

  /** Whether a registration is in effect. */
  get registered(): boolean {
    return this.#registered;
  }

  /** Calls not yet ended. */
  get calls(): Call[] {
    return [...this.#calls];
  }

  /**
   * Adds an event listener.
   *
   * @param type Event name.
   * @param listener Receives the event's value.
   * @returns This client.
   */
  on<K extends keyof SipClientEvents>(
    type: K,
    listener: (value: SipClientEvents[K]) => void,
  ): this {
    this.#events.on(type, listener);
    return this;
  }

  /**
   * Removes an event listener.
   *
   * @param type Event name.
   * @param listener The listener added before.
   * @returns This client.
   */
  off<K extends keyof SipClientEvents>(
    type: K,
    listener: (value: SipClientEvents[K]) => void,
  ): this {
    this.#events.off(type, listener);
    return this;
  }

  #registrar(): string {
    if (this.#o.registrar) return this.#o.registrar;
    if (this.#o.outboundProxy) return this.#o.outboundProxy;
    const u = parseUri(this.aor);
    return `${u.scheme}:${u.host}${u.port !== undefined ? ":" + u.port : ""}`;
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new SipClientError(`Cannot ${what}: the client is closed`);
  }

  // === Registration (RFC 3261 §10.2) ===

  /**
   * Registers the contact with the registrar (digest authentication when a
   * password is set) and refreshes the binding before it expires.
   *
   * @returns The granted lifetime and the response.
   * @throws {SipClientError} When the registrar answers with an error.
   */
  // @implements RFC3261 §10.2.1, §10.2.1.1, §10.2.4
  async register(): Promise<Registration> {
    this.#checkOpen("register");
    let expires = this.#o.expires ?? 3600;
    let r = await this.#ua.register(this.#registrar(), expires);
    // @implements RFC3261 §10.2.8
    if (r.status === 423) {
      const min = Number(r.header("Min-Expires"));
      if (Number.isInteger(min) && min > expires) {
        expires = min;
        r = await this.#ua.register(this.#registrar(), expires);
      }
    }
    if (r.status < 200 || r.status >= 300) {
      this.#registered = false;
      throw new SipClientError(
        `Cannot register ${this.aor}: ${r.status} ${r.reason}`,
        r.status,
      );
    }
    const granted = this.#granted(r, expires);
    this.#registered = granted > 0;
    this.#schedule(granted);
    this.#events.emit("registered", granted);
    return { status: r.status, reason: r.reason, expires: granted };
  }

  // @implements RFC3261 §10.2.4 ¶2
  #granted(r: SipMessage, requested: number): number {
    const mine = parseUri(this.contact);
    for (const c of r.contacts()) {
      try {
        const u = parseUri(c.uri);
        if (u.host === mine.host && (u.port ?? 5060) === (mine.port ?? 5060)) {
          const e = Number(c.params.expires);
          if (c.params.expires !== undefined && Number.isFinite(e)) return e;
        }
      } catch { /* another contact */ }
    }
    const h = Number(r.header("Expires"));
    return r.has("Expires") && Number.isFinite(h) ? h : requested;
  }

  #schedule(granted: number): void {
    if (this.#refresh !== undefined) clearTimeout(this.#refresh);
    this.#refresh = undefined;
    if (granted <= 0 || this.#closed) return;
    // Refresh a minute early for long bindings, half-way for short ones.
    const delay = granted > 120 ? granted - 60 : granted / 2;
    this.#refresh = setTimeout(() => {
      this.#refresh = undefined;
      this.register().catch((e) => {
        this.#registered = false;
        this.#events.emit(
          "registration-failed",
          e instanceof SipClientError ? e : new SipClientError(String(e)),
        );
      });
    }, delay * 1000);
  }

  /**
   * Removes this client's binding (REGISTER with `Expires: 0`) and stops refreshing.
   *
   * @returns The response.
   * @throws {SipClientError} When the registrar answers with an error.
   */
  // @implements RFC3261 §10.2.2
  async unregister(): Promise<Registration> {
    this.#schedule(0);
    this.#registered = false;
    const r = await this.#ua.register(this.#registrar(), 0);
    if (r.status < 200 || r.status >= 300) {
      throw new SipClientError(`Cannot unregister ${this.aor}: ${r.status} ${r.reason}`, r.status);
    }
    return { status: r.status, reason: r.reason, expires: 0 };
  }

  // === Calls (RFC 3261 §13) ===

  /**
   * Places an audio call. Resolves at once with the {@linkcode Call}; wait
   * for `call.answered` (rejects when the call fails) or listen to its
   * `ringing`, `answered` and `ended` events.
   *
   * @param target The callee's URI (`sip:bob@example.com`).
   * @param options Audio source and sink.
   * @returns The call, in state `calling`.
   * @throws {TypeError} When the target is not a SIP URI.
   */
  // @implements RFC3261 §13.2.1
  async call(target: string, options: CallMediaOptions = {}): Promise<Call> {
    this.#checkOpen("call");
    checkTarget(target, "call");
    const call = new Call(this, "outgoing", target);
    this.#calls.add(call);
    try {
      await call._dial(target, options, this.#ua);
    } catch (e) {
      this.#calls.delete(call);
      throw e;
    }
    return call;
  }

  #onInvite(core: CoreCall): void {
    const from = core.invite.from();
    const call = new Call(this, "incoming", from.uri, from.displayName);
    call._incoming(core);
    if (this.#closed || !this.#events.has("incoming")) {
      // @implements RFC3261 §21.4.18
      core.reject(480);
      return;
    }
    // @implements RFC3261 §13.3.1.1
    core.ringing();
    this.#calls.add(call);
    this.#events.emit("incoming", call);
  }

  /** @internal */
  _forget(call: Call): void {
    this.#calls.delete(call);
  }

  /** @internal */
  async _bounded<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<T>((resolve) => timer = setTimeout(() => resolve(fallback), ms)),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  // === Instant messages (RFC 3428) ===

  /**
   * Sends an instant message (a MESSAGE request outside any dialog).
   *
   * @param target The recipient's URI.
   * @param text The message (string or bytes).
   * @param contentType Body type (default `text/plain;charset=utf-8`).
   * @returns The final status (200: delivered; 202: accepted by a relay).
   * @throws {SipClientError} On an error response.
   * @throws {TypeError} When the target is not a SIP URI.
   * @throws {RangeError} When the request would exceed 1300 bytes over UDP (RFC 3428 §8).
   */
  // @implements RFC3428 §4
  async message(
    target: string,
    text: string | Uint8Array,
    contentType?: string,
  ): Promise<number> {
    this.#checkOpen("send a message");
    checkTarget(target, "send a message to");
    const m = new SipMessage({ method: "MESSAGE", uri: target });
    const p = this.#o.outboundProxy;
    if (p) m.add("Route", `<${p}${p.includes(";lr") ? "" : ";lr"}>`);
    m.add("Max-Forwards", "70");
    m.add(
      "From",
      formatAddress({
        ...(this.#o.displayName ? { displayName: this.#o.displayName } : {}),
        uri: this.aor,
        params: { tag: randomToken(4) },
      }),
    );
    m.add("To", `<${target}>`);
    m.add("Call-ID", randomToken(8));
    m.add("CSeq", "1 MESSAGE");
    return await this._sendMessage(m, text, contentType);
  }

  /** @internal */
  async _sendMessage(
    m: SipMessage,
    text: string | Uint8Array,
    contentType = "text/plain;charset=utf-8",
  ): Promise<number> {
    m.add("User-Agent", this.#o.userAgent ?? "rtclite");
    m.add("Content-Type", contentType);
    m.body = typeof text === "string" ? encoder.encode(text) : text;
    // @implements RFC3428 §8 ¶4
    const reliable = this.#ua.endpoint.transports[0]!.reliable;
    const size = m.toBytes().length + 120; // the Via the endpoint adds
    if (!reliable && size > 1300) {
      throw new RangeError(
        `Cannot send the message: the request has about ${size} bytes, more than 1300 over UDP`,
      );
    }
    const r = await this.#ua.send(m);
    if (r.status >= 300) {
      throw new SipClientError(`Cannot deliver the message: ${r.status} ${r.reason}`, r.status);
    }
    return r.status;
  }

  // @implements RFC3428 §7
  #onRequest(inc: IncomingRequest): void {
    const m = inc.request;
    if (m.method === "ACK") {
      this.#coreOnRequest(inc);
      let id = "";
      try {
        id = m.callId();
      } catch { /* validated by the endpoint */ }
      for (const c of this.#calls) {
        if (c.direction === "incoming" && c.callId === id) c._onAck(m.body);
      }
      return;
    }
    if (m.method !== "MESSAGE") return this.#coreOnRequest(inc);
    const reply = (status: number, headers: [string, string][] = []) => {
      inc.transaction?.respond(createResponse(m, status, {
        toTag: m.to().params.tag ?? randomToken(4),
        headers: headers.map(([name, value]) => ({ name, value })),
      }));
    };
    try {
      const type = (m.header("Content-Type") ?? "text/plain").split(";")[0]!.trim().toLowerCase();
      const accepted = this.#o.messageTypes ?? ["text/plain", "text/*", "message/cpim"];
      const ok = accepted.some((a) =>
        a === type || (a.endsWith("/*") && type.startsWith(a.slice(0, -1)))
      );
      if (!ok) return reply(415, [["Accept", accepted.join(", ")]]);
      if (m.body.length > (this.#o.maxMessageSize ?? 65536)) return reply(413);
      if (!this.#events.has("message")) return reply(480);
      // A 2xx to MESSAGE has no body and no Contact.
      reply(200);
      const from = m.from();
      this.#events.emit("message", {
        from: from.uri,
        ...(from.displayName ? { displayName: from.displayName } : {}),
        to: m.to().uri,
        contentType: type,
        body: m.body,
        text: decoder.decode(m.body),
        callId: m.callId(),
      });
    } catch (e) {
      log.warn("Bad MESSAGE: {error}", { error: String(e) });
      reply(400);
    }
  }

  // === Shutdown ===

  /**
   * Hangs up every call, removes the registration and closes the transport.
   * Each step is bounded to a few seconds when the peer does not answer.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#schedule(0);
    await Promise.allSettled([...this.#calls].map((c) => c.hangup()));
    if (this.#registered) {
      await this._bounded(this.unregister().then(() => {}, () => {}), 3000, undefined);
    }
    // A datagram handed to the socket (the ACK of a failed call, say) leaves before it closes.
    await this._bounded(Promise.allSettled([...this.#inFlight]), 1000, []);
    await this.#ua.close();
  }

  /** Same as {@linkcode SipClient.prototype.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function checkTarget(target: string, what: string): void {
  let ok = false;
  try {
    const u = parseUri(target);
    ok = u.scheme === "sip" || u.scheme === "sips";
  } catch { /* not a URI */ }
  if (!ok) throw new TypeError(`Cannot ${what} ${target}: not a sip: or sips: URI`);
}

/** Rewrites the CRLFs of each outgoing message's start line and headers as LF. */
function useLf(t: SipTransport): void {
  const send = t.send.bind(t);
  t.send = (bytes, host, port, connection) => {
    let end = -1;
    for (let i = 0; i + 3 < bytes.length; i++) {
      if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
        end = i + 4;
        break;
      }
    }
    if (end < 0) return send(bytes, host, port, connection);
    const head = bytes.subarray(0, end).filter((b) => b !== 13);
    const out = new Uint8Array(head.length + bytes.length - end);
    out.set(head);
    out.set(bytes.subarray(end), head.length);
    return send(out, host, port, connection);
  };
}

/** Keeps the sends of `t` that have not completed, so that closing can wait for them. */
function trackSends(t: SipTransport): Set<Promise<void>> {
  const pending = new Set<Promise<void>>();
  const send = t.send.bind(t);
  t.send = (bytes, host, port, connection) => {
    const p = send(bytes, host, port, connection);
    const tracked = Promise.resolve(p).then(() => {}, () => {});
    pending.add(tracked);
    tracked.finally(() => pending.delete(tracked));
    return p;
  };
  return pending;
}

function traceTransport(
  t: SipTransport,
  trace: NonNullable<SipClientOptions["trace"]>,
): void {
  const send = t.send.bind(t);
  t.send = (bytes, host, port, connection) => {
    try {
      trace("sent", decoder.decode(bytes), host, port);
    } catch { /* tracing never breaks sending */ }
    return send(bytes, host, port, connection);
  };
  const receive = t.onMessage;
  t.onMessage = (m, source) => {
    try {
      trace("received", m.toString(), source.host, source.port);
    } catch { /* tracing never breaks receiving */ }
    receive(m, source);
  };
}

function callMedia(s: NegotiatedStream): CallMedia {
  const send = s.send ?? s.sendFormats[0] ?? s.receiveFormats[0];
  return {
    encoding: send?.encoding ?? "",
    payloadType: send?.payloadType ?? -1,
    ...(s.telephoneEvent ? { dtmfPayloadType: s.telephoneEvent.payloadType } : {}),
    direction: s.direction,
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    localPort: s.localPort,
  };
}
