// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The SDP offer/answer model: build offers and answers, intersect codecs, negotiate
 * directions, hold and resume, reject streams with port 0, and add or remove streams in
 * re-offers (RFC 3264).
 *
 * The core is a set of pure functions over {@linkcode SessionDescription}s from
 * `@rtclite/std/ietf/rfc4566`; {@linkcode OfferAnswer} keeps one endpoint's state (its `o=`
 * line and version, the previous SDP of each side) for a SIP dialog.
 *
 * API summary (used by the SIP applications and the media session):
 * - `new OfferAnswer({ address, username?, sessionId?, sessionVersion?, sessionName? })`
 *   - `createOffer(streams: LocalStream[]) → SessionDescription` (initial offer or re-offer;
 *     position i of `streams` is m-line i; `port: 0` removes a stream; extra entries add streams)
 *   - `setRemoteAnswer(answer) → NegotiatedStream[]`
 *   - `setRemoteOffer(offer)` then `createAnswer(streams) → SessionDescription`
 *   - `hold()` / `resume()` → a re-offer; `negotiated` → `NegotiatedStream[]`
 * - Pure: `answerOffer(offer, streams, origin)`, `negotiate(local, remote)`,
 *   `sameFormat(a, b)`, `answerDirection(offered, wanted)`.
 * - `LocalStream { type, port, formats: RtpMap[], direction?, proto?, ptime?, address?,
 *   attributes? }`; `NegotiatedStream { index, type, rejected, direction, remoteAddress,
 *   remotePort, remoteRtcpPort, localPort, send?, sendFormats, receiveFormats,
 *   telephoneEvent?, ptime? }`.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc3264 | RFC 3264}.
 *
 * @example A call: offer PCMU and PCMA with DTMF, answer with PCMA only
 * ```ts
 * import { OfferAnswer } from "@rtclite/std/ietf/rfc3264";
 * import { equal } from "node:assert/strict";
 *
 * const alice = new OfferAnswer({ address: "192.0.2.1", username: "alice" });
 * const bob = new OfferAnswer({ address: "192.0.2.2", username: "bob" });
 * const offer = alice.createOffer([{ type: "audio", port: 49170, formats: [
 *   { payloadType: 0, encoding: "PCMU", clockRate: 8000 },
 *   { payloadType: 8, encoding: "PCMA", clockRate: 8000 },
 *   { payloadType: 101, encoding: "telephone-event", clockRate: 8000, parameters: "0-15" },
 * ] }]);
 * bob.setRemoteOffer(offer);
 * const answer = bob.createAnswer([{ type: "audio", port: 3456, formats: [
 *   { payloadType: 8, encoding: "PCMA", clockRate: 8000 },
 *   { payloadType: 96, encoding: "telephone-event", clockRate: 8000 },
 * ] }]);
 * const [audio] = alice.setRemoteAnswer(answer);
 * equal(audio!.send?.encoding, "PCMA");
 * equal(audio!.telephoneEvent?.payloadType, 101);
 * equal(audio!.remotePort, 3456);
 * equal(audio!.direction, "sendrecv");
 * ```
 *
 * @module
 */
// @implements RFC3264 (SDP offer/answer)

import {
  type Attribute,
  type Direction,
  formatRtpMap,
  formatSdp,
  getAttribute,
  getDirection,
  getRtpMaps,
  type MediaDescription,
  type Origin,
  type RtpMap,
  type SessionDescription,
} from "./rfc4566/mod.ts";

export type { Attribute, Direction, RtpMap, SessionDescription } from "./rfc4566/mod.ts";

/** What an endpoint wants for one media stream (one `m=` line). */
export interface LocalStream {
  /** Media type: `audio`, `video`, `text`, ... */
  type: string;
  /** Local receive port; 0 rejects (in an answer) or removes (in a re-offer) the stream. */
  port: number;
  /** Supported formats in preference order (payload types are ours for an offer). */
  formats: RtpMap[];
  /** Wanted direction; default `sendrecv`. Written explicitly when given. */
  direction?: Direction;
  /** Transport protocol; default `RTP/AVP`. */
  proto?: string;
  /** Packetization time in milliseconds we want to receive (`a=ptime`). */
  ptime?: number;
  /** Media-level connection address when it differs from the session address. */
  address?: string;
  /** Further attributes appended after the generated ones. */
  attributes?: Attribute[];
}

/** The outcome of an offer/answer exchange for one stream, seen from the local endpoint. */
export interface NegotiatedStream {
  /** Position of the `m=` line. */
  index: number;
  /** Media type. */
  type: string;
  /** Whether either side set port 0. */
  rejected: boolean;
  /** What the local endpoint may do: `sendrecv`, `sendonly`, `recvonly` or `inactive`. */
  direction: Direction;
  /** Where to send media. */
  remoteAddress: string;
  /** Remote RTP port. */
  remotePort: number;
  /** Remote RTCP port: `a=rtcp` (RFC 3605) or the RTP port + 1. */
  remoteRtcpPort: number;
  /** Local RTP port. */
  localPort: number;
  /** The format to send: the peer's most preferred common codec, with the peer's payload type. */
  send?: RtpMap;
  /** All formats we may send, with the peer's payload types, in the peer's preference. */
  sendFormats: RtpMap[];
  /** Formats we must be ready to receive, with our payload types. */
  receiveFormats: RtpMap[];
  /** The peer's `telephone-event` format, used to send DTMF (RFC 4733). */
  telephoneEvent?: RtpMap;
  /** Packetization time the peer wants to receive (`a=ptime`). */
  ptime?: number;
}

/** Options of {@linkcode OfferAnswer}. */
export interface OfferAnswerOptions {
  /** Session-level connection address (and `o=` address). */
  address: string;
  /** `IP4` (default) or `IP6`. */
  addrType?: string;
  /** `o=` username; default `-`. */
  username?: string;
  /** `o=` session id; default from the current time (NTP seconds). */
  sessionId?: string;
  /** First `o=` version; default equal to the session id. */
  sessionVersion?: string;
  /** `s=` value; default `-`. */
  sessionName?: string;
}

// === Codec matching (RFC 3264 §6.1) ===

const NON_CODECS = new Set(["telephone-event", "telephone-events", "cn", "red", "rtx", "fec"]);

/**
 * Whether two payload formats name the same codec: same encoding (case-insensitive), clock
 * rate and channel count (1 when absent).
 *
 * @param a A format.
 * @param b Another format.
 * @returns `true` when they match.
 *
 * @example
 * ```ts
 * import { sameFormat } from "@rtclite/std/ietf/rfc3264";
 * import { equal } from "node:assert/strict";
 *
 * equal(sameFormat({ payloadType: 0, encoding: "PCMU", clockRate: 8000 },
 *   { payloadType: 0, encoding: "pcmu", clockRate: 8000, channels: 1 }), true);
 * equal(sameFormat({ payloadType: 0, encoding: "PCMU", clockRate: 8000 },
 *   { payloadType: 8, encoding: "PCMA", clockRate: 8000 }), false);
 * ```
 */
export function sameFormat(a: RtpMap, b: RtpMap): boolean {
  return a.encoding.toLowerCase() === b.encoding.toLowerCase() && a.clockRate === b.clockRate &&
    (a.channels ?? 1) === (b.channels ?? 1);
}

/**
 * The direction of an answer to an offered direction, given what the answerer wants.
 *
 * @param offered Direction in the offer.
 * @param wanted What the answerer would like (default `sendrecv`).
 * @returns The answer's direction.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3264#section-6.1 | RFC 3264 §6.1}
 *
 * @example
 * ```ts
 * import { answerDirection } from "@rtclite/std/ietf/rfc3264";
 * import { equal } from "node:assert/strict";
 *
 * equal(answerDirection("sendonly", "sendrecv"), "recvonly");
 * equal(answerDirection("recvonly", "recvonly"), "inactive");
 * equal(answerDirection("inactive", "sendrecv"), "inactive");
 * ```
 */
// @implements RFC3264 §6.1 ¶2
export function answerDirection(offered: Direction, wanted: Direction = "sendrecv"): Direction {
  // The answerer may send what the offerer receives and receive what the offerer sends.
  const send = canRecv(offered) && canSend(wanted);
  const recv = canSend(offered) && canRecv(wanted);
  return toDirection(send, recv);
}

function canSend(d: Direction): boolean {
  return d === "sendrecv" || d === "sendonly";
}
function canRecv(d: Direction): boolean {
  return d === "sendrecv" || d === "recvonly";
}
function toDirection(send: boolean, recv: boolean): Direction {
  return send ? (recv ? "sendrecv" : "sendonly") : recv ? "recvonly" : "inactive";
}

// === Building media descriptions (RFC 3264 §5.1) ===

function defaultOrigin(o: OfferAnswerOptions): Origin {
  const id = o.sessionId ?? String(Math.floor(Date.now() / 1000) + 2208988800);
  return {
    username: o.username ?? "-",
    sessionId: id,
    sessionVersion: o.sessionVersion ?? id,
    netType: "IN",
    addrType: o.addrType ?? "IP4",
    address: o.address,
  };
}

function emptySession(origin: Origin, name: string, address: string): SessionDescription {
  return {
    version: 0,
    origin,
    name,
    emails: [],
    phones: [],
    connection: { netType: "IN", addrType: origin.addrType, address },
    bandwidths: [],
    times: [{ start: 0, stop: 0, repeats: [] }],
    zones: [],
    attributes: [],
    media: [],
  };
}

// @implements RFC3264 §5.1 ¶1-7
function buildMedia(
  s: LocalStream,
  formats: readonly RtpMap[],
  direction: Direction | undefined,
  addrType: string,
): MediaDescription {
  const m: MediaDescription = {
    type: s.type,
    port: s.port,
    proto: s.proto ?? "RTP/AVP",
    formats: formats.map((f) => String(f.payloadType)),
    connections: s.address ? [{ netType: "IN", addrType, address: s.address }] : [],
    bandwidths: [],
    attributes: [],
  };
  const rtp = m.proto.startsWith("RTP/") || m.proto.startsWith("UDP/TLS/RTP/");
  if (rtp) {
    for (const f of formats) m.attributes.push({ name: "rtpmap", value: formatRtpMap(f) });
    for (const f of formats) {
      if (f.parameters !== undefined) {
        m.attributes.push({ name: "fmtp", value: `${f.payloadType} ${f.parameters}` });
      }
    }
  }
  if (s.ptime !== undefined) m.attributes.push({ name: "ptime", value: String(s.ptime) });
  if (direction !== undefined) m.attributes.push({ name: direction });
  if (s.attributes) m.attributes.push(...s.attributes);
  return m;
}

// @implements RFC3264 §8.2 ¶1
function removedMedia(previous: MediaDescription): MediaDescription {
  return {
    type: previous.type,
    port: 0,
    proto: previous.proto,
    formats: previous.formats.slice(0, 1),
    connections: [],
    bandwidths: [],
    attributes: [],
  };
}

// === Generating the answer (RFC 3264 §6) ===

/**
 * Builds an answer to an offer (pure): each offered `m=` line is matched with the first unused
 * local stream of the same type that shares a format; the answer lists the common formats in
 * the offer's order with the offer's payload types, and a stream without a common format (or
 * offered with port 0) is rejected with port 0.
 *
 * @param offer The received offer.
 * @param streams Local capabilities, one per stream the endpoint can accept.
 * @param origin The answerer's `o=` line.
 * @param sessionName `s=` value; default `-`.
 * @returns The answer.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3264#section-6 | RFC 3264 §6}
 *
 * @example
 * ```ts
 * import { answerOffer } from "@rtclite/std/ietf/rfc3264";
 * import { parseSdp } from "@rtclite/std/ietf/rfc4566";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const offer = parseSdp("v=0\no=a 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n" +
 *   "m=audio 5000 RTP/AVP 8 0\nm=video 5002 RTP/AVP 31\n");
 * const origin = { username: "b", sessionId: "7", sessionVersion: "7", netType: "IN", addrType: "IP4", address: "192.0.2.2" };
 * const answer = answerOffer(offer, [{ type: "audio", port: 6000, formats: [
 *   { payloadType: 0, encoding: "PCMU", clockRate: 8000 }, { payloadType: 8, encoding: "PCMA", clockRate: 8000 }] }], origin);
 * deepEqual(answer.media[0]!.formats, ["8", "0"]);
 * equal(answer.media[1]!.port, 0);
 * ```
 */
export function answerOffer(
  offer: SessionDescription,
  streams: readonly LocalStream[],
  origin: Origin,
  sessionName = "-",
): SessionDescription {
  const answer = emptySession(origin, sessionName, origin.address);
  // @implements RFC3264 §6 ¶3
  answer.times = offer.times.map((t) => ({ ...t, repeats: t.repeats.map((r) => ({ ...r })) }));
  const used = new Set<number>();
  // @implements RFC3264 §6 ¶2
  for (const om of offer.media) {
    answer.media.push(answerMedia(offer, om, streams, used, origin.addrType));
  }
  return answer;
}

// @implements RFC3264 §6.1
function answerMedia(
  offer: SessionDescription,
  om: MediaDescription,
  streams: readonly LocalStream[],
  used: Set<number>,
  addrType: string,
): MediaDescription {
  // @implements RFC3264 §6 ¶4, RFC3264 §8.2 ¶2
  const reject = (): MediaDescription => removedMedia(om);
  if (om.port === 0) return reject();
  const offered = getRtpMaps(om);
  for (let i = 0; i < streams.length; i++) {
    const s = streams[i]!;
    if (used.has(i) || s.type !== om.type || s.port === 0) continue;
    if ((s.proto ?? "RTP/AVP") !== om.proto) continue;
    // @implements RFC3264 §6.1 ¶6
    const common: RtpMap[] = [];
    for (const f of offered) {
      const mine = s.formats.find((l) => sameFormat(l, f));
      if (!mine) continue;
      const a: RtpMap = { ...f };
      if (mine.parameters !== undefined) a.parameters = mine.parameters;
      common.push(a);
    }
    // @implements RFC3264 §6.1 ¶10
    const isCodec = (f: RtpMap) => !NON_CODECS.has(f.encoding.toLowerCase());
    if (offered.some(isCodec) ? !common.some(isCodec) : common.length === 0) continue;
    used.add(i);
    const offeredDir = getDirection(om, offer);
    const dir = answerDirection(offeredDir, s.direction ?? "sendrecv");
    const explicit = s.direction !== undefined || dir !== "sendrecv" ||
      om.attributes.some((a) => a.name === offeredDir);
    return buildMedia(s, common, explicit ? dir : undefined, addrType);
  }
  return reject();
}

// === Offerer processing of the answer (RFC 3264 §7) and the negotiated result ===

/**
 * Works out, for each stream, what the local endpoint sends and receives after an exchange,
 * from its own description and the peer's (offer or answer, either way round).
 *
 * @param local The description this endpoint sent.
 * @param remote The description the peer sent.
 * @returns One entry per `m=` line.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3264#section-7 | RFC 3264 §7}
 *
 * @example
 * ```ts
 * import { negotiate } from "@rtclite/std/ietf/rfc3264";
 * import { parseSdp } from "@rtclite/std/ietf/rfc4566";
 * import { equal } from "node:assert/strict";
 *
 * const local = parseSdp("v=0\no=a 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n" +
 *   "m=audio 5000 RTP/AVP 0 8\na=sendonly\n");
 * const remote = parseSdp("v=0\no=b 2 2 IN IP4 192.0.2.2\ns=-\nc=IN IP4 192.0.2.2\nt=0 0\n" +
 *   "m=audio 6000 RTP/AVP 8\na=recvonly\na=rtcp:6005\n");
 * const [s] = negotiate(local, remote);
 * equal(s!.direction, "sendonly");
 * equal(s!.send?.encoding, "PCMA");
 * equal(s!.remoteRtcpPort, 6005);
 * ```
 */
export function negotiate(
  local: SessionDescription,
  remote: SessionDescription,
): NegotiatedStream[] {
  const out: NegotiatedStream[] = [];
  const n = Math.min(local.media.length, remote.media.length);
  for (let i = 0; i < n; i++) {
    const lm = local.media[i]!;
    const rm = remote.media[i]!;
    const rejected = lm.port === 0 || rm.port === 0;
    const localDir = getDirection(lm, local);
    const remoteDir = getDirection(rm, remote);
    // @implements RFC3264 §7 ¶1
    const direction = rejected ? "inactive" : toDirection(
      canSend(localDir) && canRecv(remoteDir),
      canRecv(localDir) && canSend(remoteDir),
    );
    const localFormats = getRtpMaps(lm);
    const remoteFormats = getRtpMaps(rm);
    // @implements RFC3264 §6.1 ¶12, RFC3264 §8.3.2 ¶3
    const sendFormats = rejected
      ? []
      : remoteFormats.filter((r) => localFormats.some((l) => sameFormat(l, r)));
    const receiveFormats = rejected
      ? []
      : localFormats.filter((l) => remoteFormats.some((r) => sameFormat(l, r)));
    const rtcp = getAttribute(rm.attributes, "rtcp");
    const rtcpPort = rtcp ? parseInt(rtcp, 10) : NaN;
    const ptime = Number(getAttribute(rm.attributes, "ptime"));
    const s: NegotiatedStream = {
      index: i,
      type: rm.type,
      rejected,
      direction,
      remoteAddress: rm.connections[0]?.address ?? remote.connection?.address ?? "",
      remotePort: rm.port,
      remoteRtcpPort: Number.isInteger(rtcpPort) && rtcpPort > 0 ? rtcpPort : rm.port + 1,
      localPort: lm.port,
      sendFormats,
      receiveFormats,
    };
    const send = sendFormats.find((f) => !NON_CODECS.has(f.encoding.toLowerCase()));
    if (send) s.send = send;
    const te = sendFormats.find((f) => f.encoding.toLowerCase().startsWith("telephone-event"));
    if (te) s.telephoneEvent = te;
    if (ptime > 0) s.ptime = ptime;
    out.push(s);
  }
  return out;
}

// === One endpoint's offer/answer state (RFC 3264 §4, §8) ===

/** Where an endpoint is in the exchange. */
export type OfferAnswerState = "stable" | "have-local-offer" | "have-remote-offer";

/**
 * An offer/answer step taken in the wrong state (an answer without an offer, glare) or with a
 * description whose m-lines do not match the previous one (RFC 3264 §6, §8).
 *
 * @example
 * ```ts
 * import { OfferAnswer, OfferAnswerError } from "@rtclite/std/ietf/rfc3264";
 * import { throws } from "node:assert/strict";
 *
 * const oa = new OfferAnswer({ address: "192.0.2.1" });
 * throws(() => oa.createAnswer([]), (e) => e instanceof OfferAnswerError && e.state === "stable");
 * ```
 */
export class OfferAnswerError extends Error {
  /** The endpoint's state when the step was refused. */
  readonly state: OfferAnswerState;

  /**
   * Creates the error.
   *
   * @param message What was refused and why.
   * @param state The endpoint's state at the time.
   */
  constructor(message: string, state: OfferAnswerState) {
    super(message);
    this.name = "OfferAnswerError";
    this.state = state;
  }
}

/**
 * One endpoint's offer/answer state: it keeps the `o=` line (incrementing the version whenever
 * its SDP changes), the previous SDP of each side, and the negotiated streams.
 *
 * @example Hold and resume (RFC 3264 §8.4)
 * ```ts
 * import { OfferAnswer } from "@rtclite/std/ietf/rfc3264";
 * import { getDirection } from "@rtclite/std/ietf/rfc4566";
 * import { equal } from "node:assert/strict";
 *
 * const pcmu = { payloadType: 0, encoding: "PCMU", clockRate: 8000 };
 * const a = new OfferAnswer({ address: "192.0.2.1", sessionId: "1" });
 * const b = new OfferAnswer({ address: "192.0.2.2", sessionId: "2" });
 * b.setRemoteOffer(a.createOffer([{ type: "audio", port: 4000, formats: [pcmu] }]));
 * a.setRemoteAnswer(b.createAnswer([{ type: "audio", port: 5000, formats: [pcmu] }]));
 * const hold = a.hold();
 * equal(getDirection(hold.media[0]!), "sendonly");
 * equal(hold.origin.sessionVersion, "2");
 * b.setRemoteOffer(hold);
 * const [s] = a.setRemoteAnswer(b.createAnswer([{ type: "audio", port: 5000, formats: [pcmu] }]));
 * equal(s!.direction, "sendonly");
 * const resume = a.resume();
 * equal(getDirection(resume.media[0]!), "sendrecv");
 * ```
 */
export class OfferAnswer {
  #origin: Origin;
  #name: string;
  #address: string;
  #state: OfferAnswerState = "stable";
  #local: SessionDescription | undefined;
  #remote: SessionDescription | undefined;
  #streams: LocalStream[] = [];
  #negotiated: NegotiatedStream[] = [];
  #lastBody = "";
  #held = false;
  #ptMap = new Map<number, string>();

  /**
   * Creates the state of one endpoint.
   *
   * @param options Address and `o=` fields.
   */
  constructor(options: OfferAnswerOptions) {
    this.#origin = defaultOrigin(options);
    this.#name = options.sessionName ?? "-";
    this.#address = options.address;
  }

  /** Where the exchange stands. */
  get state(): OfferAnswerState {
    return this.#state;
  }
  /** The last description this endpoint produced. */
  get localDescription(): SessionDescription | undefined {
    return this.#local;
  }
  /** The last description received from the peer. */
  get remoteDescription(): SessionDescription | undefined {
    return this.#remote;
  }
  /** The streams negotiated by the last completed exchange. */
  get negotiated(): NegotiatedStream[] {
    return this.#negotiated;
  }
  /** Whether {@linkcode OfferAnswer.prototype.hold} is in effect. */
  get held(): boolean {
    return this.#held;
  }

  // @implements RFC3264 §8 ¶3
  #stamp(sd: SessionDescription): SessionDescription {
    const body = formatSdp({ ...sd, origin: { ...this.#origin, sessionVersion: "0" } });
    if (this.#local !== undefined && body !== this.#lastBody) {
      this.#origin = {
        ...this.#origin,
        sessionVersion: String(BigInt(this.#origin.sessionVersion) + 1n),
      };
    }
    this.#lastBody = body;
    sd.origin = { ...this.#origin };
    this.#local = sd;
    return sd;
  }

  // @implements RFC3264 §8.3.2 ¶1
  #checkPayloadTypes(streams: readonly LocalStream[]): void {
    for (const s of streams) {
      for (const f of s.formats) {
        if (f.payloadType < 96) continue;
        const name = `${f.encoding.toLowerCase()}/${f.clockRate}/${f.channels ?? 1}`;
        const had = this.#ptMap.get(f.payloadType);
        if (had !== undefined && had !== name) {
          throw new RangeError(
            `Cannot offer payload type ${f.payloadType} for ${f.encoding}: it was bound to ${had} earlier in this session`,
          );
        }
        this.#ptMap.set(f.payloadType, name);
      }
    }
  }

  /**
   * Creates an offer (initial or a re-offer). Position i of `streams` describes m-line i; a
   * stream with `port: 0` is removed, and previous m-lines beyond `streams.length` are kept
   * with port 0 so m-lines never disappear (§8).
   *
   * @param streams The streams to offer, in m-line order.
   * @returns The offer.
   * @throws {OfferAnswerError} When an offer is already pending.
   * @throws {RangeError} When a dynamic payload type is rebound to another codec.
   * @see {@link https://www.rfc-editor.org/rfc/rfc3264#section-5 | RFC 3264 §5}
   *
   * @example
   * ```ts
   * import { OfferAnswer } from "@rtclite/std/ietf/rfc3264";
   * import { equal } from "node:assert/strict";
   *
   * const oa = new OfferAnswer({ address: "192.0.2.1" });
   * const offer = oa.createOffer([{ type: "audio", port: 4000, formats: [{ payloadType: 0, encoding: "PCMU", clockRate: 8000 }] }]);
   * equal(offer.media[0]!.formats[0], "0");
   * equal(oa.state, "have-local-offer");
   * ```
   */
  createOffer(streams: readonly LocalStream[]): SessionDescription {
    if (this.#state === "have-remote-offer") {
      throw new OfferAnswerError(
        "Cannot create an offer: an offer from the peer awaits an answer",
        this.#state,
      );
    }
    this.#checkPayloadTypes(streams);
    const sd = emptySession(this.#origin, this.#name, this.#address);
    const previous = this.#local?.media ?? [];
    const n = Math.max(streams.length, previous.length);
    for (let i = 0; i < n; i++) {
      const s = streams[i];
      // @implements RFC3264 §8 ¶4, RFC3264 §8.2 ¶1
      if (!s || s.port === 0) {
        const prev = previous[i];
        if (prev) sd.media.push(removedMedia(prev));
        else if (s) sd.media.push(removedMedia(buildMedia(s, s.formats, undefined, "IP4")));
        continue;
      }
      const dir = this.#held ? holdDirection(s.direction ?? "sendrecv") : s.direction;
      sd.media.push(buildMedia(s, s.formats, dir, this.#origin.addrType));
    }
    this.#streams = streams.slice();
    this.#state = "have-local-offer";
    return this.#stamp(sd);
  }

  /**
   * Processes the peer's answer to our offer.
   *
   * @param answer The answer.
   * @returns The negotiated streams.
   * @throws {OfferAnswerError} When no offer is pending or the answer has a different number of m-lines.
   * @see {@link https://www.rfc-editor.org/rfc/rfc3264#section-7 | RFC 3264 §7}
   *
   * @example
   * ```ts
   * import { OfferAnswer } from "@rtclite/std/ietf/rfc3264";
   * import { throws } from "node:assert/strict";
   *
   * const oa = new OfferAnswer({ address: "192.0.2.1" });
   * throws(() => oa.setRemoteAnswer(oa.localDescription!), /no offer is pending/);
   * ```
   */
  setRemoteAnswer(answer: SessionDescription): NegotiatedStream[] {
    if (this.#state !== "have-local-offer" || !this.#local) {
      throw new OfferAnswerError(
        "Cannot process the answer: no offer is pending",
        this.#state,
      );
    }
    // @implements RFC3264 §6 ¶2
    if (answer.media.length !== this.#local.media.length) {
      throw new OfferAnswerError(
        `Cannot process the answer: it has ${answer.media.length} m-lines, the offer has ${this.#local.media.length}`,
        this.#state,
      );
    }
    this.#remote = answer;
    this.#state = "stable";
    this.#negotiated = negotiate(this.#local, answer);
    return this.#negotiated;
  }

  /**
   * Takes in an offer from the peer; follow with {@linkcode OfferAnswer.prototype.createAnswer}.
   *
   * @param offer The offer.
   * @throws {OfferAnswerError} When our own offer is pending (glare) or a re-offer drops m-lines.
   * @see {@link https://www.rfc-editor.org/rfc/rfc3264#section-8 | RFC 3264 §8}
   *
   * @example
   * ```ts
   * import { OfferAnswer } from "@rtclite/std/ietf/rfc3264";
   * import { parseSdp } from "@rtclite/std/ietf/rfc4566";
   * import { equal } from "node:assert/strict";
   *
   * const oa = new OfferAnswer({ address: "192.0.2.2" });
   * oa.setRemoteOffer(parseSdp("v=0\no=a 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n"));
   * equal(oa.state, "have-remote-offer");
   * ```
   */
  setRemoteOffer(offer: SessionDescription): void {
    if (this.#state === "have-local-offer") {
      throw new OfferAnswerError(
        "Cannot process the offer: our own offer is pending (glare)",
        this.#state,
      );
    }
    // @implements RFC3264 §8 ¶4
    if (this.#remote && offer.media.length < this.#remote.media.length) {
      throw new OfferAnswerError(
        `Cannot process the offer: it has ${offer.media.length} m-lines, the previous SDP had ${this.#remote.media.length}`,
        this.#state,
      );
    }
    this.#remote = offer;
    this.#state = "have-remote-offer";
  }

  /**
   * Answers the pending offer with the local capabilities (see {@linkcode answerOffer}).
   *
   * @param streams What this endpoint can accept.
   * @returns The answer.
   * @throws {OfferAnswerError} When no offer is pending.
   *
   * @example
   * ```ts
   * import { OfferAnswer } from "@rtclite/std/ietf/rfc3264";
   * import { parseSdp } from "@rtclite/std/ietf/rfc4566";
   * import { equal } from "node:assert/strict";
   *
   * const oa = new OfferAnswer({ address: "192.0.2.2" });
   * oa.setRemoteOffer(parseSdp("v=0\no=a 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n"));
   * const answer = oa.createAnswer([{ type: "audio", port: 5000, formats: [{ payloadType: 0, encoding: "PCMU", clockRate: 8000 }] }]);
   * equal(answer.media[0]!.port, 5000);
   * equal(oa.negotiated[0]!.remotePort, 4000);
   * ```
   */
  createAnswer(streams: readonly LocalStream[]): SessionDescription {
    if (this.#state !== "have-remote-offer" || !this.#remote) {
      throw new OfferAnswerError(
        "Cannot create an answer: no offer is pending",
        this.#state,
      );
    }
    const held = this.#held
      ? streams.map((s) => ({ ...s, direction: holdDirection(s.direction ?? "sendrecv") }))
      : streams;
    const answer = answerOffer(this.#remote, held, this.#origin, this.#name);
    this.#streams = streams.slice();
    this.#state = "stable";
    const sd = this.#stamp(answer);
    this.#negotiated = negotiate(sd, this.#remote);
    return sd;
  }

  /**
   * Re-offers the current streams on hold: `sendrecv` becomes `sendonly`, `recvonly` becomes
   * `inactive`.
   *
   * @returns The re-offer.
   * @see {@link https://www.rfc-editor.org/rfc/rfc3264#section-8.4 | RFC 3264 §8.4}
   *
   * @example
   * ```ts
   * import { OfferAnswer } from "@rtclite/std/ietf/rfc3264";
   * import { equal } from "node:assert/strict";
   *
   * const oa = new OfferAnswer({ address: "192.0.2.1" });
   * oa.createOffer([{ type: "audio", port: 4000, formats: [{ payloadType: 0, encoding: "PCMU", clockRate: 8000 }] }]);
   * equal(oa.held, false);
   * ```
   */
  hold(): SessionDescription {
    this.#held = true;
    return this.createOffer(this.#streams);
  }

  /**
   * Re-offers the current streams with their own directions again.
   *
   * @returns The re-offer.
   * @see {@link https://www.rfc-editor.org/rfc/rfc3264#section-8.4 | RFC 3264 §8.4}
   *
   * @example
   * ```ts
   * import { OfferAnswer } from "@rtclite/std/ietf/rfc3264";
   * import { getDirection } from "@rtclite/std/ietf/rfc4566";
   * import { equal } from "node:assert/strict";
   *
   * const oa = new OfferAnswer({ address: "192.0.2.1" });
   * oa.createOffer([{ type: "audio", port: 4000, formats: [{ payloadType: 0, encoding: "PCMU", clockRate: 8000 }] }]);
   * oa.hold();
   * equal(getDirection(oa.resume().media[0]!), "sendrecv");
   * ```
   */
  resume(): SessionDescription {
    this.#held = false;
    return this.createOffer(
      this.#streams.map((s) => ({ ...s, direction: s.direction ?? "sendrecv" })),
    );
  }
}

// @implements RFC3264 §8.4 ¶2
function holdDirection(d: Direction): Direction {
  return d === "sendrecv" || d === "sendonly" ? "sendonly" : "inactive";
}
