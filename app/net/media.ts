// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Audio media sessions: SDP offer/answer, RTP and RTCP over UDP with a jitter buffer, a clock
 * driven by the frame size, audio sources (WAV file, tone, silence), a WAV file sink, and DTMF.
 *
 * A {@linkcode MediaSession} binds an RTP/RTCP port pair, offers its {@linkcode MediaSession.prototype.localStream}
 * to `@rtclite/std/ietf/rfc3264`'s `OfferAnswer`, and after the exchange
 * {@linkcode MediaSession.prototype.start}s with the negotiated stream: every `ptime` ms it sends
 * one frame from its source (PCMU, PCMA or L16 as negotiated) and plays one frame from the
 * jitter buffer into its sink. Received `telephone-event` packets become DTMF digits;
 * {@linkcode MediaSession.prototype.sendDtmf} sends key presses (RFC 4733).
 *
 * API summary (used by the SIP demo and caller):
 * - `await MediaSession.open({ host?, port?, source?, sink?, ptime?, jitterDelay?, formats?, onDtmf? })`
 * - `session.localStream` → `LocalStream` for `OfferAnswer.createOffer/createAnswer`
 * - `session.start(negotiated: NegotiatedStream)`; `await session.sendDtmf("123#")`
 * - `session.stats()` → RTP/RTCP statistics, jitter buffer counters, digits received
 * - `await session.close()` (sends RTCP BYE, closes the sink)
 * - Sources: `new ToneSource(hz)`, `new SilenceSource()`, `await WavSource.open(path)`;
 *   sink: `new WavSink(path)`; `JitterBuffer` and `FrameClock` are usable alone.
 *
 * @example Two sessions on loopback: a tone from one is recorded by the other
 * ```ts
 * import { MediaSession, ToneSource, WavSink } from "@rtclite/app/net/media";
 * import { OfferAnswer } from "@rtclite/std/ietf/rfc3264";
 * import { ok } from "node:assert/strict";
 *
 * const sink = new WavSink();
 * await using a = await MediaSession.open({ source: new ToneSource(440) });
 * await using b = await MediaSession.open({ sink });
 * const oa = new OfferAnswer({ address: "127.0.0.1" });
 * const ob = new OfferAnswer({ address: "127.0.0.1" });
 * ob.setRemoteOffer(oa.createOffer([a.localStream]));
 * const answer = ob.createAnswer([b.localStream]);
 * a.start(oa.setRemoteAnswer(answer)[0]!);
 * b.start(ob.negotiated[0]!);
 * await new Promise((r) => setTimeout(r, 300));
 * ok(sink.samples.length > 800);
 * ```
 *
 * @module
 */

import type {
  ReceiverStats,
  ReportBlock,
  SenderStats,
  SessionStats,
} from "@rtclite/std/ietf/rfc3550";
import { RtpSocket } from "@rtclite/std/ietf/rfc3550/udp";
import {
  type AudioCodec,
  audioCodec,
  decodeWav,
  encodeWav,
  type WavAudio,
} from "@rtclite/std/ietf/rfc3551";
import { dtmfPackets, DtmfReceiver, type PlannedEventPacket } from "@rtclite/std/ietf/rfc2833";
import type {
  Attribute,
  Direction,
  LocalStream,
  NegotiatedStream,
  RtpMap,
} from "@rtclite/std/ietf/rfc3264";
import { getLogger } from "@rtclite/std/log";

export type {
  Attribute,
  Direction,
  LocalStream,
  NegotiatedStream,
  ReceiverStats,
  ReportBlock,
  RtpMap,
  SenderStats,
  SessionStats,
};

const log = getLogger("media");

/**
 * A media session asked to do what its negotiation does not allow: start without a common
 * codec, send DTMF without `telephone-event`, or send while not sending.
 */
export class MediaError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was refused and why.
   */
  constructor(message: string) {
    super(message);
    this.name = "MediaError";
  }
}

// === Sources and sinks ===

/** Produces audio frames (16-bit mono at the session's sample rate). */
export interface AudioSource {
  /**
   * Returns the next `n` samples, or `undefined` when the source has ended.
   *
   * @param n Number of samples.
   */
  read(n: number): Int16Array | undefined;
}

/** Consumes audio frames. */
export interface AudioSink {
  /**
   * Takes the next frame of samples.
   *
   * @param samples 16-bit mono samples.
   */
  write(samples: Int16Array): void;
  /** Flushes and releases the sink. */
  close?(): Promise<void>;
}

/**
 * A sine tone.
 *
 * @example
 * ```ts
 * import { ToneSource } from "@rtclite/app/net/media";
 * import { equal } from "node:assert/strict";
 *
 * const t = new ToneSource(1000, { durationMs: 20 });
 * equal(t.read(160)!.length, 160);
 * equal(t.read(160), undefined);
 * ```
 */
export class ToneSource implements AudioSource {
  #phase = 0;
  #left: number;
  #step: number;
  #amplitude: number;

  /**
   * Creates a tone.
   *
   * @param frequency Frequency in Hz.
   * @param options Sample rate (8000), amplitude (8000), duration (unlimited).
   */
  constructor(
    frequency: number,
    options: { sampleRate?: number; amplitude?: number; durationMs?: number } = {},
  ) {
    const rate = options.sampleRate ?? 8000;
    this.#step = (2 * Math.PI * frequency) / rate;
    this.#amplitude = options.amplitude ?? 8000;
    this.#left = options.durationMs === undefined
      ? Infinity
      : Math.round((options.durationMs * rate) / 1000);
  }

  /**
   * Returns the next samples of the tone.
   *
   * @param n Number of samples.
   * @returns Samples, or `undefined` after the duration.
   */
  read(n: number): Int16Array | undefined {
    if (this.#left <= 0) return undefined;
    const k = Math.min(n, this.#left);
    this.#left -= k;
    const out = new Int16Array(n);
    for (let i = 0; i < k; i++) {
      out[i] = Math.round(this.#amplitude * Math.sin(this.#phase));
      this.#phase += this.#step;
    }
    this.#phase %= 2 * Math.PI;
    return out;
  }
}

/**
 * Silence.
 *
 * @example
 * ```ts
 * import { SilenceSource } from "@rtclite/app/net/media";
 * import { equal } from "node:assert/strict";
 *
 * equal(new SilenceSource().read(160)![0], 0);
 * ```
 */
export class SilenceSource implements AudioSource {
  #left: number;

  /**
   * Creates a silence source.
   *
   * @param options Duration (unlimited by default) and sample rate (8000).
   */
  constructor(options: { durationMs?: number; sampleRate?: number } = {}) {
    this.#left = options.durationMs === undefined
      ? Infinity
      : Math.round((options.durationMs * (options.sampleRate ?? 8000)) / 1000);
  }

  /**
   * Returns `n` zero samples.
   *
   * @param n Number of samples.
   * @returns Samples, or `undefined` after the duration.
   */
  read(n: number): Int16Array | undefined {
    if (this.#left <= 0) return undefined;
    this.#left -= n;
    return new Int16Array(n);
  }
}

/**
 * Audio from a WAV file, mixed down to mono and resampled (band-limited) to the session rate.
 *
 * @example
 * ```ts
 * import { WavSource } from "@rtclite/app/net/media";
 * import { equal } from "node:assert/strict";
 *
 * const src = new WavSource({ sampleRate: 16000, channels: 1, samples: new Int16Array(320).fill(100) });
 * equal(src.read(160)![0], 100);
 * equal(src.read(160), undefined);
 * ```
 */
export class WavSource implements AudioSource {
  #samples: Int16Array;
  #pos = 0;
  #loop: boolean;

  /**
   * Creates a source from decoded WAV audio.
   *
   * @param wav The audio.
   * @param options Target sample rate (8000) and whether to loop.
   */
  constructor(wav: WavAudio, options: { sampleRate?: number; loop?: boolean } = {}) {
    this.#samples = resample(
      mixDown(wav.samples, wav.channels),
      wav.sampleRate,
      options.sampleRate ?? 8000,
    );
    this.#loop = options.loop ?? false;
  }

  /**
   * Reads a WAV file.
   *
   * @param path File path.
   * @param options Target sample rate and looping.
   * @returns The source.
   */
  static async open(
    path: string,
    options: { sampleRate?: number; loop?: boolean } = {},
  ): Promise<WavSource> {
    return new WavSource(decodeWav(await Deno.readFile(path)), options);
  }

  /**
   * Returns the next samples (zero-padded at the end).
   *
   * @param n Number of samples.
   * @returns Samples, or `undefined` at the end.
   */
  read(n: number): Int16Array | undefined {
    if (this.#pos >= this.#samples.length) {
      if (!this.#loop || this.#samples.length === 0) return undefined;
      this.#pos = 0;
    }
    const out = new Int16Array(n);
    out.set(this.#samples.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return out;
  }
}

function mixDown(s: Int16Array, channels: number): Int16Array {
  if (channels === 1) return s;
  const out = new Int16Array(Math.floor(s.length / channels));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += s[i * channels + c]!;
    out[i] = Math.round(sum / channels);
  }
  return out;
}

/**
 * Band-limited resampling: each output sample is the input under a Hann-windowed sinc whose
 * cutoff is the lower of the two Nyquist frequencies (8 zero crossings a side), normalized so
 * that a constant stays constant. Linear interpolation would fold what lies above the new
 * Nyquist frequency back into the band (espeak-ng's 22050 Hz speech into 8 or 16 kHz).
 */
function resample(s: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return s;
  const ratio = to / from;
  const fc = Math.min(1, ratio);
  const half = Math.ceil(8 / fc);
  const out = new Int16Array(Math.floor(s.length * ratio));
  for (let i = 0; i < out.length; i++) {
    const x = i / ratio;
    const j0 = Math.floor(x);
    let acc = 0;
    let sum = 0;
    for (let j = Math.max(0, j0 - half + 1); j <= Math.min(s.length - 1, j0 + half); j++) {
      const t = x - j;
      const arg = Math.PI * fc * t;
      const w = (arg === 0 ? 1 : Math.sin(arg) / arg) *
        (0.5 + 0.5 * Math.cos((Math.PI * t) / half));
      acc += s[j]! * w;
      sum += w;
    }
    out[i] = Math.max(-32768, Math.min(32767, Math.round(sum ? acc / sum : 0)));
  }
  return out;
}

/**
 * Collects audio and, when given a path, writes it as a 16-bit WAV file on close.
 *
 * @example
 * ```ts
 * import { WavSink } from "@rtclite/app/net/media";
 * import { equal } from "node:assert/strict";
 *
 * const sink = new WavSink();
 * sink.write(new Int16Array(160));
 * equal(sink.samples.length, 160);
 * ```
 */
export class WavSink implements AudioSink {
  #chunks: Int16Array[] = [];
  #length = 0;
  #path: string | undefined;
  #rate: number;

  /**
   * Creates a sink.
   *
   * @param path File to write on close (none: keep in memory only).
   * @param sampleRate Sample rate (8000).
   */
  constructor(path?: string, sampleRate = 8000) {
    this.#path = path;
    this.#rate = sampleRate;
  }

  /**
   * Appends samples.
   *
   * @param samples The frame.
   */
  write(samples: Int16Array): void {
    this.#chunks.push(samples.slice());
    this.#length += samples.length;
  }

  /** All samples written so far. */
  get samples(): Int16Array {
    const out = new Int16Array(this.#length);
    let o = 0;
    for (const c of this.#chunks) {
      out.set(c, o);
      o += c.length;
    }
    this.#chunks = [out];
    return out;
  }

  /** The WAV file bytes of what was written. */
  toWav(): Uint8Array {
    return encodeWav({ sampleRate: this.#rate, channels: 1, samples: this.samples });
  }

  /** Writes the file, if a path was given. */
  async close(): Promise<void> {
    if (this.#path) await Deno.writeFile(this.#path, this.toWav());
  }
}

// === Jitter buffer ===

/** Jitter buffer counters. */
export interface JitterStats {
  /** Frames played from received packets. */
  played: number;
  /** Frames missing at their playout time (lost or too late), concealed with silence. */
  missing: number;
  /** Packets that arrived after their playout time. */
  late: number;
  /** Duplicate packets dropped. */
  duplicates: number;
  /** Times the playout point was resynchronized (source restart, long gap). */
  resyncs: number;
  /** Frame intervals the buffer waited on an empty buffer, adding that much delay. */
  underruns: number;
}

/** A buffered RTP frame. */
export interface BufferedFrame {
  /** RTP timestamp. */
  timestamp: number;
  /** Payload type. */
  payloadType: number;
  /** Payload. */
  payload: Uint8Array;
}

/**
 * A playout buffer keyed by RTP timestamp: packets are reordered, duplicates dropped, late
 * packets discarded, and a missing frame at its playout time is reported so the caller can
 * conceal it. It starts with a fixed delay and adapts to bursty senders: when the buffer runs
 * empty it waits (adding one frame of delay, up to `maxExtraFrames`) instead of skipping the
 * frame that has not arrived yet.
 *
 * @example
 * ```ts
 * import { JitterBuffer } from "@rtclite/app/net/media";
 * import { equal } from "node:assert/strict";
 *
 * const jb = new JitterBuffer({ frameSamples: 160, delayFrames: 2 });
 * jb.push({ timestamp: 320, payloadType: 0, payload: new Uint8Array([2]) });
 * jb.push({ timestamp: 160, payloadType: 0, payload: new Uint8Array([1]) });
 * equal(jb.pop()?.payload[0], 1);
 * equal(jb.pop()?.payload[0], 2);
 * equal(jb.pop(), undefined); // nothing buffered: waits (one frame more delay)
 * equal(jb.stats().underruns, 1);
 * ```
 */
export class JitterBuffer {
  #frames = new Map<number, BufferedFrame>();
  #next: number | undefined;
  #frameSamples: number;
  #delayFrames: number;
  #stats: JitterStats = { played: 0, missing: 0, late: 0, duplicates: 0, resyncs: 0, underruns: 0 };
  #idle = 0;
  #maxExtra: number;

  /**
   * Creates a buffer.
   *
   * @param options Samples per frame (160 = 20 ms at 8 kHz), the initial playout delay in
   *   frames (3) and how many frames of delay underruns may add (15).
   */
  constructor(
    options: { frameSamples?: number; delayFrames?: number; maxExtraFrames?: number } = {},
  ) {
    this.#frameSamples = options.frameSamples ?? 160;
    this.#delayFrames = options.delayFrames ?? 3;
    this.#maxExtra = options.maxExtraFrames ?? 15;
  }

  /**
   * Adds a received frame.
   *
   * @param f The frame.
   */
  push(f: BufferedFrame): void {
    const ts = f.timestamp >>> 0;
    if (this.#next !== undefined) {
      const ahead = (ts - this.#next) | 0;
      if (ahead < 0) {
        // Far behind: the source restarted with a new timestamp base.
        if (ahead < -this.#frameSamples * 50) this.#resync();
        else {
          this.#stats.late++;
          return;
        }
      } else if (ahead > this.#frameSamples * 50 * 5) this.#resync();
    }
    if (this.#frames.has(ts)) {
      this.#stats.duplicates++;
      return;
    }
    if (this.#frames.size >= 500) return; // bounded memory
    this.#frames.set(ts, { ...f, timestamp: ts });
  }

  #resync(): void {
    this.#stats.resyncs++;
    this.#frames.clear();
    this.#next = undefined;
  }

  /** Whether playout has started. */
  get playing(): boolean {
    return this.#next !== undefined;
  }

  /**
   * Takes the frame due now (call once per frame interval).
   *
   * @returns The frame, or `undefined` when it is missing or playout has not started.
   */
  pop(): BufferedFrame | undefined {
    if (this.#next === undefined) {
      if (this.#frames.size < this.#delayFrames) return undefined;
      let min: number | undefined;
      for (const ts of this.#frames.keys()) if (min === undefined || ((ts - min) | 0) < 0) min = ts;
      this.#next = min!;
    }
    const f = this.#frames.get(this.#next);
    if (f) {
      this.#frames.delete(this.#next);
      this.#stats.played++;
      this.#idle = 0;
    } else if (this.#frames.size === 0 && this.#stats.underruns < this.#maxExtra) {
      // Nothing newer has arrived either: wait for it rather than skip it.
      this.#stats.underruns++;
      return undefined;
    } else {
      this.#stats.missing++;
      // After a long silence (e.g. the sender paused), jump to the next buffered frame.
      if (++this.#idle > 25 && this.#frames.size) {
        this.#resync();
        return undefined;
      }
    }
    this.#next = (this.#next + this.#frameSamples) >>> 0;
    return f;
  }

  /**
   * Counters.
   *
   * @returns A copy of the counters.
   */
  stats(): JitterStats {
    return { ...this.#stats };
  }
}

// === Frame clock ===

/**
 * Calls `onTick` every `intervalMs`, correcting for timer drift so that on average exactly
 * one tick happens per interval (late ticks are caught up, at most 5 at once).
 *
 * @example
 * ```ts
 * import { FrameClock } from "@rtclite/app/net/media";
 * import { ok } from "node:assert/strict";
 *
 * let n = 0;
 * const clock = new FrameClock(10, () => n++);
 * await new Promise((r) => setTimeout(r, 105));
 * clock.stop();
 * ok(n >= 8 && n <= 12);
 * ```
 */
export class FrameClock {
  #start: number;
  #ticks = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #interval: number;
  #onTick: () => void;
  #stopped = false;

  /**
   * Starts the clock.
   *
   * @param intervalMs Frame interval.
   * @param onTick Called once per frame.
   */
  constructor(intervalMs: number, onTick: () => void) {
    this.#interval = intervalMs;
    this.#onTick = onTick;
    this.#start = performance.now();
    this.#arm();
  }

  #arm(): void {
    if (this.#stopped) return;
    const due = this.#start + (this.#ticks + 1) * this.#interval;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, due - performance.now()));
  }

  #fire(): void {
    const now = performance.now();
    let n = 0;
    while (!this.#stopped && this.#start + (this.#ticks + 1) * this.#interval <= now + 1 && n < 5) {
      this.#ticks++;
      n++;
      try {
        this.#onTick();
      } catch (e) {
        log.error("Frame clock tick failed: {e}", { e: String(e) });
      }
    }
    if (n === 5) this.#start = now - this.#ticks * this.#interval; // give up catching up
    this.#arm();
  }

  /** Ticks so far. */
  get ticks(): number {
    return this.#ticks;
  }

  /** Stops the clock. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}

// === Media session ===

/** Default formats: PCMU, PCMA and telephone-event. */
export const DEFAULT_FORMATS: readonly RtpMap[] = [
  { payloadType: 0, encoding: "PCMU", clockRate: 8000 },
  { payloadType: 8, encoding: "PCMA", clockRate: 8000 },
  { payloadType: 101, encoding: "telephone-event", clockRate: 8000, parameters: "0-16" },
];

/** Options of {@linkcode MediaSession.open}. */
export interface MediaSessionOptions {
  /** Local address (default `127.0.0.1`). */
  host?: string;
  /** Local RTP port (default: a free even port). */
  port?: number;
  /** What to send (default: silence). */
  source?: AudioSource;
  /** Where received audio goes (default: discarded). */
  sink?: AudioSink;
  /** Frame length in ms (default 20). */
  ptime?: number;
  /**
   * Sample rate of the source and the sink (default 8000): the clock rate of the codecs sent
   * and of telephone-event, e.g. 16000 for L16/16000.
   */
  sampleRate?: number;
  /** Jitter buffer delay in ms (default 60). */
  jitterDelay?: number;
  /** Formats to offer/accept (default {@linkcode DEFAULT_FORMATS}). */
  formats?: readonly RtpMap[];
  /** Called for each received DTMF key press when it ends. */
  onDtmf?: (digit: string, durationMs: number) => void;
  /** Called when the source has ended. */
  onSourceEnd?: () => void;
  /**
   * Called when the peer leaves the RTP session with an RTCP BYE (RFC 3550 §6.6), with its
   * reason if it gave one: a hang-up noticed without waiting for the source to time out.
   */
  onBye?: (reason: string | undefined) => void;
  /** RTCP CNAME. */
  cname?: string;
}

/** Statistics of a {@linkcode MediaSession}. */
export interface MediaStats {
  /** RTP/RTCP session statistics. */
  rtp: SessionStats;
  /** Jitter buffer counters. */
  jitter: JitterStats;
  /** DTMF digits received, in order. */
  digits: string;
  /** Frames sent. */
  framesSent: number;
  /** Garbage or foreign packets dropped. */
  dropped: number;
}

/**
 * One audio stream: RTP/RTCP over UDP, a source, a sink, a jitter buffer and DTMF.
 *
 * @example See the module example.
 * ```ts
 * import { MediaSession } from "@rtclite/app/net/media";
 * import { equal } from "node:assert/strict";
 *
 * await using m = await MediaSession.open();
 * equal(m.localStream.type, "audio");
 * equal(m.localStream.port, m.port);
 * ```
 */
export class MediaSession implements AsyncDisposable {
  #socket!: RtpSocket;
  #options: MediaSessionOptions;
  #formats: readonly RtpMap[];
  #ptime: number;
  #jitter: JitterBuffer;
  #clock: FrameClock | undefined;
  #sendCodec: AudioCodec | undefined;
  #sendPt = 0;
  #receive = new Map<number, AudioCodec>();
  #dtmfPt: number | undefined;
  #sendDtmfPt: number | undefined;
  #dtmfRx = new DtmfReceiver();
  #lastDtmfAt = 0;
  #digits = "";
  #timestamp = crypto.getRandomValues(new Uint32Array(1))[0]!;
  #framesSent = 0;
  #dropped = 0;
  #canSend = false;
  #canReceive = false;
  #sourceEnded = false;
  #dtmfQueue: { packets: PlannedEventPacket[]; start: number; done: () => void }[] = [];
  #frameSamples = 160;
  #rate = 8000;

  private constructor(options: MediaSessionOptions) {
    this.#options = options;
    this.#formats = options.formats ?? DEFAULT_FORMATS;
    this.#ptime = options.ptime ?? 20;
    this.#rate = options.sampleRate ?? 8000;
    this.#frameSamples = (this.#rate * this.#ptime) / 1000;
    this.#jitter = new JitterBuffer({
      frameSamples: this.#frameSamples,
      delayFrames: Math.max(1, Math.round((options.jitterDelay ?? 60) / this.#ptime)),
    });
  }

  /**
   * Binds the RTP/RTCP ports.
   *
   * @param options Ports, source, sink and timing.
   * @returns The session, not yet started.
   */
  static async open(options: MediaSessionOptions = {}): Promise<MediaSession> {
    const m = new MediaSession(options);
    const socketOptions: Parameters<typeof RtpSocket.open>[0] = {
      host: options.host ?? "127.0.0.1",
      onPacket: (p) => m.#onPacket(p.payloadType, p.timestamp, p.marker, p.payload),
      onBye: (_sources, reason) => options.onBye?.(reason),
    };
    if (options.port !== undefined) socketOptions.port = options.port;
    if (options.cname !== undefined) socketOptions.cname = options.cname;
    m.#socket = await RtpSocket.open(socketOptions);
    return m;
  }

  /** Local RTP port. */
  get port(): number {
    return this.#socket.port;
  }

  /** The stream to put in an offer or answer (`OfferAnswer.createOffer([m.localStream])`). */
  get localStream(): LocalStream {
    return { type: "audio", port: this.port, formats: this.#formats.slice(), ptime: this.#ptime };
  }

  /**
   * Starts sending and receiving as negotiated.
   *
   * @param stream A negotiated stream from `OfferAnswer`/`negotiate()`.
   * @throws {MediaError} When no supported codec was negotiated for a sending stream.
   */
  start(stream: NegotiatedStream): void {
    if (stream.rejected) {
      this.stop();
      return;
    }
    this.#socket.setRemote(stream.remoteAddress, stream.remotePort, stream.remoteRtcpPort);
    this.#canSend = stream.direction === "sendrecv" || stream.direction === "sendonly";
    this.#canReceive = stream.direction === "sendrecv" || stream.direction === "recvonly";
    this.#sendCodec = undefined;
    for (const f of stream.sendFormats) {
      const c = audioCodec(f.encoding, f.clockRate);
      if (c && f.clockRate === this.#rate) {
        this.#sendCodec = c;
        this.#sendPt = f.payloadType;
        break;
      }
    }
    if (this.#canSend && !this.#sendCodec) {
      throw new MediaError(
        `Cannot start media: no supported codec at ${this.#rate} Hz ` +
          `(PCMU, PCMA, L16/${this.#rate}) was negotiated`,
      );
    }
    this.#sendDtmfPt = stream.telephoneEvent?.payloadType;
    this.#receive.clear();
    this.#dtmfPt = undefined;
    for (const f of stream.receiveFormats) {
      if (f.encoding.toLowerCase() === "telephone-event") this.#dtmfPt = f.payloadType;
      const c = audioCodec(f.encoding, f.clockRate);
      if (c && c.clockRate === this.#rate) this.#receive.set(f.payloadType, c);
    }
    this.#clock ??= new FrameClock(this.#ptime, () => this.#tick());
  }

  /**
   * Starts with explicit parameters instead of an offer/answer result (e.g. when an SDP file
   * describes the peer).
   *
   * @param remote Peer address and ports.
   * @param format The codec to send and receive.
   * @param direction Direction (default `sendrecv`).
   */
  startWith(
    remote: { host: string; port: number; rtcpPort?: number },
    format: RtpMap,
    direction: NegotiatedStream["direction"] = "sendrecv",
  ): void {
    const formats = [format, ...this.#formats.filter((f) => f.encoding === "telephone-event")];
    this.start({
      index: 0,
      type: "audio",
      rejected: false,
      direction,
      remoteAddress: remote.host,
      remotePort: remote.port,
      remoteRtcpPort: remote.rtcpPort ?? remote.port + 1,
      localPort: this.port,
      sendFormats: formats,
      receiveFormats: formats,
    });
  }

  /** Stops the clock (media pauses; the ports stay open). */
  stop(): void {
    this.#clock?.stop();
    this.#clock = undefined;
  }

  #onPacket(pt: number, timestamp: number, marker: boolean, payload: Uint8Array): void {
    if (!this.#canReceive && this.#clock) return;
    if (pt === this.#dtmfPt) {
      this.#lastDtmfAt = performance.now();
      try {
        for (const n of this.#dtmfRx.receive({ timestamp, marker, payload })) {
          if (n.type === "end") this.#digit(n.digit, n.duration);
        }
      } catch {
        this.#dropped++;
      }
      return;
    }
    if (!this.#receive.has(pt)) {
      this.#dropped++;
      return;
    }
    this.#jitter.push({ timestamp, payloadType: pt, payload });
  }

  #digit(digit: string, duration: number): void {
    this.#digits += digit;
    try {
      this.#options.onDtmf?.(digit, (duration * 1000) / this.#rate);
    } catch (e) {
      log.error("onDtmf failed: {e}", { e: String(e) });
    }
  }

  #tick(): void {
    // An event whose end packets were all lost ends after a second without event packets
    // (RFC 4733 §2.5.2.2).
    if (this.#lastDtmfAt && performance.now() - this.#lastDtmfAt > 1000) {
      this.#lastDtmfAt = 0;
      const n = this.#dtmfRx.flush();
      if (n) this.#digit(n.digit, n.duration);
    }
    // Playout
    if (this.#canReceive) {
      const f = this.#jitter.pop();
      if (this.#jitter.playing || f) {
        let frame: Int16Array | undefined;
        if (f) {
          try {
            frame = this.#receive.get(f.payloadType)?.decode(f.payload);
          } catch {
            frame = undefined;
          }
        }
        const out = new Int16Array(this.#frameSamples);
        if (frame) out.set(frame.subarray(0, this.#frameSamples));
        this.#options.sink?.write(out);
      }
    }
    // Sending
    if (!this.#canSend || !this.#sendCodec) return;
    const ts = this.#timestamp;
    this.#timestamp = (this.#timestamp + this.#frameSamples) >>> 0;
    const dtmf = this.#dtmfQueue[0];
    if (dtmf && this.#sendDtmfPt !== undefined) {
      if (dtmf.start < 0) dtmf.start = ts;
      const elapsedMs = (((ts - dtmf.start) >>> 0) * 1000) / this.#rate;
      while (dtmf.packets.length && dtmf.packets[0]!.offsetMs <= elapsedMs) {
        const p = dtmf.packets.shift()!;
        this.#socket.send(this.#sendDtmfPt, p.payload, {
          timestamp: (dtmf.start + p.timestamp) >>> 0,
          marker: p.marker,
        });
      }
      if (!dtmf.packets.length) {
        this.#dtmfQueue.shift();
        dtmf.done();
      }
      this.#options.source?.read(this.#frameSamples); // keep the source's time running
      return;
    }
    let frame = this.#options.source?.read(this.#frameSamples);
    if (!frame) {
      if (this.#options.source && !this.#sourceEnded) {
        this.#sourceEnded = true;
        this.#options.onSourceEnd?.();
      }
      frame = new Int16Array(this.#frameSamples);
    }
    this.#socket.send(this.#sendPt, this.#sendCodec.encode(frame), {
      timestamp: ts,
      marker: this.#framesSent === 0,
    });
    this.#framesSent++;
  }

  /**
   * Sends DTMF key presses as telephone events (RFC 4733), one after another.
   *
   * @param digits Keys (`0-9*#A-D`).
   * @param options Duration of each press (100 ms) and the pause between presses (60 ms).
   * @throws {MediaError} When the peer did not negotiate telephone-event.
   */
  async sendDtmf(
    digits: string,
    options: { durationMs?: number; gapMs?: number } = {},
  ): Promise<void> {
    if (this.#sendDtmfPt === undefined) {
      throw new MediaError("Cannot send DTMF: the peer did not negotiate telephone-event");
    }
    if (!this.#clock || !this.#canSend) {
      throw new MediaError("Cannot send DTMF: the session is not sending");
    }
    for (const d of digits) {
      // timestamps in the plan are relative to the press; the tick adds the start time
      const packets = dtmfPackets(d, {
        timestamp: 0,
        durationMs: options.durationMs ?? 100,
        clockRate: this.#rate,
      });
      await new Promise<void>((done) => this.#dtmfQueue.push({ packets, start: -1, done }));
      await new Promise((r) => setTimeout(r, options.gapMs ?? 60));
    }
  }

  /**
   * Current statistics.
   *
   * @returns RTP, jitter buffer and DTMF figures.
   */
  stats(): MediaStats {
    return {
      rtp: this.#socket.session.stats(),
      jitter: this.#jitter.stats(),
      digits: this.#digits,
      framesSent: this.#framesSent,
      dropped: this.#dropped + this.#socket.session.stats().dropped,
    };
  }

  /** Stops media, sends an RTCP BYE, closes the ports and the sink. */
  async close(): Promise<void> {
    this.stop();
    await this.#socket.close();
    await this.#options.sink?.close?.();
  }

  /** Same as {@linkcode MediaSession.prototype.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
