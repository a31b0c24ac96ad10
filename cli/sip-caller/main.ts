// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Command-line SIP caller and call listener (`deno run -A jsr:@rtclite/sip-caller`).
 *
 * It places one call (or waits for calls with `--listen`, answering or
 * rejecting them with `--auto-respond`), registers first when asked, sends an
 * instant message with `--send`, and prints one line per step of the call.
 * Audio: a tone, a WAV file, speech from text (`--textspeech`, espeak-ng),
 * the sound card (`--mic`, `--speaker`, ALSA), or the received audio sent back
 * (`--audio-loopback`); it records what it hears (`--record`) and prints what
 * the far end says (`--recognize`, PocketSphinx). G.711 or L16 at 8 kHz, or
 * wideband L16 at 16 kHz (`--samplerate 16000`); SIP over UDP, TCP, TLS, WS or
 * WSS. Lines typed during a call are sent: keys as DTMF, other text as
 * messages. Built on `@rtclite/app/sip/client`; `--help` lists the options by
 * group (network, SIP, media).
 *
 * ```sh
 * # terminal 1: answer one call on 127.0.0.1:5062 and record it
 * deno run -A jsr:@rtclite/sip-caller -l --local 127.0.0.1:5062 --record heard.wav
 * # terminal 2: call it with a 440 Hz tone for 3 seconds and press 1 2 3
 * deno run -A jsr:@rtclite/sip-caller --tone 440 --dtmf 123 --duration 3 sip:bob@127.0.0.1:5062
 * # speech both ways, wideband: one side speaks, the other prints what it recognizes
 * deno run -A jsr:@rtclite/sip-caller -l --local 127.0.0.1:5062 --samplerate 16000 --recognize
 * deno run -A jsr:@rtclite/sip-caller --samplerate 16000 --textspeech "one two three four" sip:bob@127.0.0.1:5062
 * ```
 *
 * Exit status: 0 when a call was completed (answered, then ended), 1 when a
 * call failed, 2 for a usage error.
 *
 * @example Parse a command line
 * ```ts
 * import { parseCallerArgs } from "@rtclite/sip-caller";
 * import { equal } from "node:assert/strict";
 *
 * const o = parseCallerArgs(["--tone", "440", "--dtmf", "12", "sip:bob@127.0.0.1:5062"]);
 * if (typeof o === "string") throw new Error(o);
 * equal(o.tone, 440);
 * equal(o.dtmf, "12");
 * equal(o.target, "sip:bob@127.0.0.1:5062");
 * ```
 *
 * @module
 */
import {
  type Call,
  type CallMediaOptions,
  SipClient,
  type SipClientOptions,
} from "@rtclite/app/sip/client";
import {
  type AudioSink,
  type AudioSource,
  type RtpMap,
  ToneSource,
  WavSink,
  WavSource,
} from "@rtclite/app/net/media";
import { decodeWav } from "@rtclite/std/ietf/rfc3551";
import { Recognizer, textToSpeech } from "./speech.ts";
import { Microphone, Speaker } from "./sound.ts";
import {
  formatHelp,
  parseCommand,
  type ParsedCommand,
  runCommand,
  UsageError,
} from "@rtclite/std/cli";

const NETWORK = "Network";
const SIP = "SIP";
const MEDIA = "Media";

/** The command line's declaration (options in groups, usage, help). */
export const command = {
  name: "sip-caller",
  usage: "[options] [sip:target]",
  description: "Places one call, or waits for calls with --listen.\n" +
    "Exit status: 0 when a call was completed, 1 when it failed, 2 for a usage error.",
  options: {
    local: {
      value: "HOST:PORT",
      help: "local SIP address (default 127.0.0.1:5060 with --listen, else a free port)",
      group: NETWORK,
    },
    transport: {
      value: "udp|tcp|tls|ws|wss",
      help: "SIP transport (default udp); ws and wss are SIP over WebSocket (RFC 7118)",
      group: NETWORK,
    },
    cert: {
      value: "PEM",
      help: "with --transport tls or wss: certificate chain file (also listened with)",
      group: NETWORK,
    },
    key: { value: "PEM", help: "with --transport tls or wss: private key file", group: NETWORK },
    ca: {
      value: "PEM",
      help: "with --transport tls or wss: a CA certificate file to trust",
      multiple: true,
      group: NETWORK,
    },
    tcp: { help: "same as --transport tcp", group: NETWORK },
    "int-ip": {
      value: "IP",
      help: "address to bind SIP and RTP to (default 127.0.0.1; 0.0.0.0 for every interface)",
      group: NETWORK,
    },
    "ext-ip": {
      value: "IP",
      help: "address to advertise in Via, Contact and SDP instead (e.g. a NAT's public address)",
      group: NETWORK,
    },
    proxy: {
      value: "URI",
      help: "outbound proxy for requests outside a call (default: the registrar)",
      group: NETWORK,
    },
    user: {
      short: "u",
      value: "URI",
      help: "local address of record (sip:alice@example.com)",
      group: SIP,
    },
    password: {
      short: "p",
      value: "PASS",
      help: "digest password for registration and calls",
      group: SIP,
    },
    to: { value: "URI", help: "whom to call or message (same as the operand)", group: SIP },
    uri: { value: "URI", help: "same as --to", group: SIP },
    listen: { short: "l", help: "wait for incoming calls instead of calling", group: SIP },
    count: {
      value: "N",
      help: "with --listen: answer N calls, then exit (default 1; 0 = forever)",
      group: SIP,
    },
    register: {
      help: "register first, with --registrar or the domain of --user",
      group: SIP,
    },
    registrar: {
      short: "r",
      value: "HOST",
      help: "registrar (HOST[:PORT] or a sip: URI); implies --register",
      group: SIP,
    },
    "register-interval": {
      value: "SECONDS",
      help: "registration lifetime asked for, refreshed before it ends (default 3600)",
      group: SIP,
    },
    "retry-interval": {
      value: "SECONDS",
      help: "when registering fails, try again this often (default: give up)",
      group: SIP,
    },
    send: {
      short: "m",
      value: "TEXT",
      help: "send TEXT as an instant message (MESSAGE) instead of calling",
      group: SIP,
    },
    "auto-respond": {
      value: "CODE",
      help: "with --listen: answer calls with CODE: 200 accepts (default), 300-699 rejects",
      group: SIP,
    },
    "auto-respond-after": {
      value: "SECONDS",
      help: "with --listen: ring this long before answering (default 0)",
      group: SIP,
    },
    "user-agent": {
      value: "TEXT",
      help: "User-Agent header (default rtclite-sip-caller)",
      group: SIP,
    },
    subject: { value: "TEXT", help: "Subject header of the INVITE", group: SIP },
    "use-lf": { help: "end SIP header lines with LF instead of CRLF", group: SIP },
    timeout: {
      value: "SECONDS",
      help: "give up when not answered in time (default 30)",
      group: SIP,
    },
    duration: {
      value: "SECONDS",
      help:
        "hang up this long after the answer (default 5, or the length of --file or --textspeech)",
      group: SIP,
    },
    codecs: {
      value: "LIST",
      help: "audio codecs by preference: pcmu, pcma, l16 (default pcmu,pcma; l16 at 16000 Hz)",
      group: MEDIA,
    },
    samplerate: {
      value: "8000|16000",
      help: "audio sample rate; 16000 sends L16/16000 (wideband) (default 8000)",
      group: MEDIA,
    },
    tone: { value: "HZ", help: "play a tone (default silence)", group: MEDIA },
    file: { value: "F", help: "play a WAV file", group: MEDIA },
    mic: {
      value: "DEVICE",
      help: "send the sound card's input: an ALSA capture device (default, plughw:1) via arecord",
      group: MEDIA,
    },
    speaker: {
      value: "DEVICE",
      help: "play what is received on an ALSA playback device (default, ...) via aplay",
      group: MEDIA,
    },
    "no-audio": {
      help: "set the call up with its audio stream inactive: no RTP either way",
      group: MEDIA,
    },
    "audio-loopback": { help: "send back the audio received", group: MEDIA },
    textspeech: {
      value: "TEXT",
      help: "say TEXT (espeak-ng), resampled to the call's rate",
      group: MEDIA,
    },
    recognize: {
      help: "print what the far end says, as recognized (PocketSphinx)",
      group: MEDIA,
    },
    grammar: {
      value: "FILE",
      help: "with --recognize: a JSGF grammar of what can be said (default: English)",
      group: MEDIA,
    },
    record: { value: "F", help: "write received audio to a WAV file", group: MEDIA },
    dtmf: { value: "DIGITS", help: "send DTMF digits after the call is answered", group: MEDIA },
  },
} as const;

/** The help text (`--help`). */
export const USAGE: string = formatHelp(command);

/** Parsed command line of the caller. */
export interface CallerOptions {
  /** Address of record. */
  user: string;
  /** Digest password. */
  password?: string;
  /** Register before calling or listening. */
  register: boolean;
  /** Registrar URI. */
  registrar?: string;
  /** Outbound proxy URI. */
  proxy?: string;
  /** Requested registration lifetime in seconds. */
  registerInterval?: number;
  /** Seconds between registration attempts after a failure. */
  retryInterval?: number;
  /** Wait for calls. */
  listen: boolean;
  /** Local SIP address. */
  host: string;
  /** Local SIP port. */
  port: number;
  /** Address advertised in Via, Contact and SDP. */
  extIp?: string;
  /** Transport. */
  transport: "udp" | "tcp" | "tls" | "ws" | "wss";
  /** TLS certificate chain, key and CA files. */
  tls?: { cert: string; key: string; ca: string[] };
  /** Status to answer incoming calls with (200 accepts). */
  autoRespond: number;
  /** Seconds to ring before answering. */
  autoRespondAfter: number;
  /** User-Agent header. */
  userAgent: string;
  /** Subject of the INVITE. */
  subject?: string;
  /** LF line ends in SIP headers. */
  useLf: boolean;
  /** Codecs in preference order (lowercase). */
  codecs: string[];
  /** Audio sample rate. */
  sampleRate: 8000 | 16000;
  /** Tone frequency in Hz. */
  tone?: number;
  /** WAV file to play. */
  file?: string;
  /** Send back what is received. */
  loopback: boolean;
  /** Audio stream inactive. */
  noAudio: boolean;
  /** ALSA capture device. */
  mic?: string;
  /** ALSA playback device. */
  speaker?: string;
  /** Text to say. */
  textspeech?: string;
  /** Recognize received speech. */
  recognize: boolean;
  /** JSGF grammar for recognition. */
  grammar?: string;
  /** WAV file to record to. */
  record?: string;
  /** DTMF digits to send. */
  dtmf?: string;
  /** Seconds to stay in the call. */
  duration?: number;
  /** Message to send instead of calling. */
  message?: string;
  /** Calls to answer with --listen (0 = forever). */
  count: number;
  /** Seconds to wait for an answer. */
  timeout: number;
  /** Whom to call or message. */
  target?: string;
}

/** The formats `--codecs` names at a sample rate (G.711 exists at 8000 Hz only). */
function codecFormat(name: string, rate: number): RtpMap | undefined {
  if (name === "l16") return { payloadType: 96, encoding: "L16", clockRate: rate };
  if (rate !== 8000) return undefined;
  if (name === "pcmu") return { payloadType: 0, encoding: "PCMU", clockRate: 8000 };
  if (name === "pcma") return { payloadType: 8, encoding: "PCMA", clockRate: 8000 };
  return undefined;
}

/** telephone-event (RFC 4733 §7.1.1) at the audio's clock rate. */
function telephoneEvent(rate: number): RtpMap {
  return { payloadType: 101, encoding: "telephone-event", clockRate: rate, parameters: "0-16" };
}

function toUri(hostOrUri: string): string {
  return /^sips?:/.test(hostOrUri) ? hostOrUri : `sip:${hostOrUri}`;
}

/**
 * Parses the command line (`-v` and `-q` are accepted and left to {@linkcode runCommand}).
 *
 * @param args The arguments.
 * @returns The options, or an error message for a usage error (`"help"` for `--help`).
 *
 * @example A listener that registers
 * ```ts
 * import { parseCallerArgs } from "@rtclite/sip-caller";
 * import { equal } from "node:assert/strict";
 *
 * const o = parseCallerArgs(["-l", "-u", "sip:bob@example.com", "-r", "127.0.0.1:5080"]);
 * if (typeof o === "string") throw new Error(o);
 * equal(o.listen, true);
 * equal(o.port, 5060);
 * equal(o.registrar, "sip:127.0.0.1:5080");
 * equal(parseCallerArgs(["--tone", "x", "sip:a@b"]), "--tone needs a frequency in Hz, got x");
 * ```
 */
export function parseCallerArgs(args: string[]): CallerOptions | string {
  let parsed: ParsedCommand<typeof command.options>;
  try {
    parsed = parseCommand(command, args);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  if (parsed.help) return "help";
  return callerOptions(parsed);
}

function callerOptions(v: ParsedCommand<typeof command.options>): CallerOptions | string {
  const o = v.values;
  const num = (name: string, s: string | undefined, what: string): number | string | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    return s.trim() !== "" && Number.isFinite(n) && n >= 0
      ? n
      : `--${name} needs ${what}, got ${s}`;
  };
  const tone = num("tone", o.tone, "a frequency in Hz");
  const duration = num("duration", o.duration, "a number of seconds");
  const count = num("count", o.count, "a number of calls");
  const timeout = num("timeout", o.timeout, "a number of seconds");
  const interval = num("register-interval", o["register-interval"], "a number of seconds");
  const retry = num("retry-interval", o["retry-interval"], "a number of seconds");
  const after = num("auto-respond-after", o["auto-respond-after"], "a number of seconds");
  for (const x of [tone, duration, count, timeout, interval, retry, after]) {
    if (typeof x === "string") return x;
  }
  const sources = [o.tone, o.file, o["audio-loopback"] || undefined, o.textspeech, o.mic];
  if (sources.filter((x) => x !== undefined).length > 1) {
    return "--tone, --file, --audio-loopback, --textspeech and --mic exclude each other";
  }
  if (o.grammar !== undefined && !o.recognize) return "--grammar needs --recognize";
  if (o.dtmf !== undefined && !/^[0-9*#A-Da-d]+$/.test(o.dtmf)) {
    return `--dtmf takes keys 0-9 * # A-D, got ${o.dtmf}`;
  }
  let autoRespond = 200;
  if (o["auto-respond"] !== undefined) {
    autoRespond = Number(o["auto-respond"]);
    if (!/^\d{3}$/.test(o["auto-respond"]) || !(autoRespond === 200 || autoRespond >= 300)) {
      return `--auto-respond takes 200 or a status 300-699, got ${o["auto-respond"]}`;
    }
  }
  const transport = o.transport ?? (o.tcp ? "tcp" : "udp");
  if (!["udp", "tcp", "tls", "ws", "wss"].includes(transport)) {
    return `--transport takes udp, tcp, tls, ws or wss, got ${transport}`;
  }
  const secure = transport === "tls" || transport === "wss";
  if (secure && (o.cert === undefined || o.key === undefined)) {
    return `--transport ${transport} needs --cert and --key`;
  }
  const sampleRate = Number(o.samplerate ?? 8000);
  if (sampleRate !== 8000 && sampleRate !== 16000) {
    return `--samplerate takes 8000 or 16000, got ${o.samplerate}`;
  }
  const codecs = (o.codecs ?? (sampleRate === 8000 ? "pcmu,pcma" : "l16")).toLowerCase()
    .split(",").map((c) => c.trim());
  const unknown = codecs.find((c) => !["pcmu", "pcma", "l16"].includes(c));
  if (unknown !== undefined) return `--codecs takes pcmu, pcma, l16, got ${unknown}`;
  const narrow = codecs.find((c) => !codecFormat(c, sampleRate));
  if (narrow !== undefined) return `--codecs ${narrow} is 8000 Hz only: use l16 at ${sampleRate}`;
  const listen = o.listen ?? false;
  const named = o.to ?? o.uri;
  if (v.operands.length > (named === undefined ? 1 : 0)) {
    return `Unexpected argument ${v.operands[named === undefined ? 1 : 0]}`;
  }
  const target = named ?? v.operands[0];
  if (!listen && target === undefined) return "Missing the target to call (or --listen)";
  if (o.send !== undefined && target === undefined) return "--send needs a target";
  let host = o["int-ip"] ?? "127.0.0.1";
  let port = listen ? 5060 : 0;
  if (o.local !== undefined) {
    const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(o.local);
    if (!m) return `--local takes HOST[:PORT], got ${o.local}`;
    host = m[1] ?? m[2]!;
    if (m[3] !== undefined) port = Number(m[3]);
  }
  const shown = o["ext-ip"] ?? host;
  const user = o.user ?? `sip:${listen ? "listener" : "caller"}@${shown}`;
  if (!/^sips?:/.test(user)) return `--user takes a sip: URI, got ${user}`;
  return {
    user,
    ...(o.password !== undefined ? { password: o.password } : {}),
    register: o.register || o.registrar !== undefined,
    ...(o.registrar !== undefined ? { registrar: toUri(o.registrar) } : {}),
    ...(o.proxy !== undefined ? { proxy: toUri(o.proxy) } : {}),
    ...(typeof interval === "number" ? { registerInterval: interval } : {}),
    ...(typeof retry === "number" ? { retryInterval: retry } : {}),
    listen,
    host,
    port,
    ...(o["ext-ip"] !== undefined ? { extIp: o["ext-ip"] } : {}),
    transport: transport as CallerOptions["transport"],
    ...(secure ? { tls: { cert: o.cert!, key: o.key!, ca: o.ca } } : {}),
    autoRespond,
    autoRespondAfter: typeof after === "number" ? after : 0,
    userAgent: o["user-agent"] ?? "rtclite-sip-caller",
    ...(o.subject !== undefined ? { subject: o.subject } : {}),
    useLf: o["use-lf"],
    codecs,
    sampleRate,
    ...(typeof tone === "number" ? { tone } : {}),
    ...(o.file !== undefined ? { file: o.file } : {}),
    loopback: o["audio-loopback"],
    noAudio: o["no-audio"],
    ...(o.mic !== undefined ? { mic: o.mic } : {}),
    ...(o.speaker !== undefined ? { speaker: o.speaker } : {}),
    ...(o.textspeech !== undefined ? { textspeech: o.textspeech } : {}),
    recognize: o.recognize,
    ...(o.grammar !== undefined ? { grammar: o.grammar } : {}),
    ...(o.record !== undefined ? { record: o.record } : {}),
    ...(o.dtmf !== undefined ? { dtmf: o.dtmf } : {}),
    ...(typeof duration === "number" ? { duration } : {}),
    ...(o.send !== undefined ? { message: o.send } : {}),
    count: typeof count === "number" ? count : 1,
    timeout: typeof timeout === "number" ? timeout : 30,
    ...(target !== undefined ? { target: toUri(target) } : {}),
  };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/**
 * Runs the caller or listener until done.
 *
 * @param o Parsed options.
 * @param print Receives each progress line (default `console.log`).
 * @param signal Stops the run (hang up, unregister, close) when aborted.
 * @param input Typed lines (standard input) during a call: keys `0-9*#A-D` alone are sent as
 * DTMF, other lines as instant messages in the call.
 * @returns The exit status: 0 when every call completed, 1 when one failed.
 */
export async function runCaller(
  o: CallerOptions,
  print: (line: string) => void = (l) => console.log(l),
  signal?: AbortSignal,
  input?: ReadableStream<Uint8Array>,
): Promise<number> {
  const typed = new Typed(input);
  const proxy = o.proxy ?? o.registrar;
  const acks = new AckWatch();
  const options: SipClientOptions = {
    trace: (direction, text) => {
      if (direction === "received" && text.startsWith("ACK ")) acks.seen(text);
    },
    aor: o.user,
    host: o.host,
    port: o.port,
    transport: o.transport,
    ...(o.tls
      ? {
        tls: {
          cert: await Deno.readTextFile(o.tls.cert),
          key: await Deno.readTextFile(o.tls.key),
          caCerts: await Promise.all(o.tls.ca.map((f) => Deno.readTextFile(f))),
        },
      }
      : {}),
    userAgent: o.userAgent,
    ...(o.useLf ? { useLf: true } : {}),
    ...(o.extIp !== undefined ? { advertisedHost: o.extIp } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.registrar !== undefined ? { registrar: o.registrar } : {}),
    ...(proxy !== undefined ? { outboundProxy: proxy } : {}),
    ...(o.registerInterval !== undefined ? { expires: o.registerInterval } : {}),
  };
  let client: SipClient;
  try {
    client = await SipClient.start(options);
  } catch (e) {
    print(`failed: cannot listen on ${o.host}:${o.port}: ${e instanceof Error ? e.message : e}`);
    return 1;
  }
  try {
    client.on("message", (m) => print(`message from ${m.from}: ${m.text}`));
    client.on("registration-failed", (e) => print(`registration refresh failed: ${e.message}`));
    if (o.register && !await register(client, o, print, signal)) return 1;
    if (o.message !== undefined) {
      const status = await client.message(o.target!, o.message);
      print(`message delivered (${status})`);
      return 0;
    }
    return o.listen
      ? await listen(client, o, print, acks, typed, signal)
      : await dial(client, o, print, typed, signal);
  } catch (e) {
    print(`failed: ${e instanceof Error ? e.message : e}`);
    return 1;
  } finally {
    typed.close();
    await client.close();
  }
}

/** Lines typed on standard input, handed one at a time to the call in progress. */
class Typed {
  #handler: ((line: string) => Promise<void>) | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  constructor(input?: ReadableStream<Uint8Array>) {
    if (!input) return;
    const reader = this.#reader = input.getReader();
    const decoder = new TextDecoder();
    (async () => {
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) await this.#handler?.(line);
        }
      }
    })().catch(() => {});
  }
  /** Sends the next lines to `handler` (none: they are dropped). */
  to(handler: ((line: string) => Promise<void>) | undefined): void {
    this.#handler = handler;
  }
  close(): void {
    this.#reader?.cancel().catch(() => {});
  }
}

/** Resolves waits for the ACK of a call, seen in the SIP trace. */
class AckWatch {
  #waiting = new Map<string, () => void>();
  seen(text: string): void {
    const id = /\r\n(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/i.exec(text)?.[1];
    if (id !== undefined) this.#waiting.get(id)?.();
  }
  /** Resolves when the ACK of `callId` arrives, or after `ms`. */
  wait(callId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const waiting = this.#waiting;
      function done() {
        clearTimeout(timer);
        waiting.delete(callId);
        resolve();
      }
      waiting.set(callId, done);
    });
  }
}

/** Registers; after a failure tries again every `--retry-interval` seconds, if given. */
async function register(
  client: SipClient,
  o: CallerOptions,
  print: (line: string) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const at = o.registrar ?? o.proxy ?? `the domain of ${o.user}`;
  for (;;) {
    try {
      const r = await client.register();
      print(`registered ${o.user} at ${at} for ${r.expires} s`);
      return true;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      if (o.retryInterval === undefined || signal?.aborted) {
        print(`failed: ${why}`);
        return false;
      }
      print(`registration failed (${why}); trying again in ${o.retryInterval} s`);
      await sleep(o.retryInterval * 1000, signal);
    }
  }
}

/** Received audio queued to be sent back (`--audio-loopback`): a source and a sink. */
class Loopback implements AudioSource, AudioSink {
  #frames: Int16Array[] = [];
  write(samples: Int16Array): void {
    this.#frames.push(samples.slice());
    if (this.#frames.length > 50) this.#frames.shift();
  }
  read(n: number): Int16Array {
    const out = new Int16Array(n);
    const f = this.#frames.shift();
    if (f) out.set(f.subarray(0, n));
    return out;
  }
}

/** Sends received audio to several sinks. */
function tee(sinks: AudioSink[]): AudioSink | undefined {
  if (sinks.length < 2) return sinks[0];
  return {
    write: (samples) => sinks.forEach((s) => s.write(samples)),
    close: async () => {
      for (const s of sinks) await s.close?.();
    },
  };
}

/**
 * The media options of one call (source, sink, formats) and how long its source plays,
 * in seconds, when it has an end.
 */
async function media(
  o: CallerOptions,
  print: (line: string) => void,
): Promise<{ options: CallMediaOptions; seconds?: number }> {
  let source: AudioSource | undefined;
  let seconds: number | undefined;
  const sinks: AudioSink[] = [];
  const sampleRate = o.sampleRate;
  if (o.tone !== undefined) source = new ToneSource(o.tone, { sampleRate });
  if (o.file !== undefined) {
    const wav = decodeWav(await Deno.readFile(o.file));
    source = new WavSource(wav, { sampleRate });
    seconds = wav.samples.length / wav.channels / wav.sampleRate;
  }
  if (o.textspeech !== undefined) {
    const speech = await textToSpeech(o.textspeech);
    source = new WavSource(speech, { sampleRate });
    // The far end's jitter buffer and recognizer get a moment after the last word.
    seconds = speech.samples.length / speech.sampleRate + 1;
  }
  if (o.recognize) {
    sinks.push(Recognizer.start({
      sampleRate,
      ...(o.grammar !== undefined ? { grammar: o.grammar } : {}),
      onText: (text) => print(`recognized: ${text}`),
    }));
  }
  if (o.mic !== undefined) {
    const mic = new Microphone(o.mic, sampleRate);
    source = mic;
    // Capture stops with the call's media, which closes its sinks.
    sinks.push({ write() {}, close: () => mic.close() });
  }
  if (o.speaker !== undefined) sinks.push(new Speaker(o.speaker, sampleRate));
  if (o.loopback) {
    const loop = new Loopback();
    source = loop;
    sinks.push(loop);
  }
  if (o.record !== undefined) sinks.push(new WavSink(o.record, sampleRate));
  const sink = tee(sinks);
  const options: CallMediaOptions = {
    ...(source ? { source } : {}),
    ...(sink ? { sink } : {}),
    sampleRate,
    ...(o.noAudio ? { direction: "inactive" as const } : {}),
    formats: [...o.codecs.map((c) => codecFormat(c, sampleRate)!), telephoneEvent(sampleRate)],
    ...(o.subject !== undefined ? { headers: [["Subject", o.subject]] } : {}),
  };
  return { options, ...(seconds !== undefined ? { seconds } : {}) };
}

function follow(call: Call, print: (line: string) => void): void {
  call.on("ringing", () => print("ringing"));
  call.on(
    "answered",
    (m) =>
      print(
        `answered: ${m.encoding} with ${m.remoteAddress}:${m.remotePort}` +
          (m.direction === "sendrecv" ? "" : ` (${m.direction})`),
      ),
  );
  call.on("dtmf", (d) => print(`received DTMF ${d}`));
  call.on("hold", (held) => print(held ? "put on hold" : "resumed"));
}

async function converse(
  call: Call,
  o: CallerOptions,
  print: (line: string) => void,
  typed: Typed,
  defaultSeconds: number | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const start = Date.now();
  typed.to(async (line) => {
    try {
      if (/^[0-9*#A-Da-d]+$/.test(line)) {
        await call.sendDtmf(line);
        print(`sent DTMF ${line}`);
      } else {
        print(`message sent (${await call.message(line)})`);
      }
    } catch (e) {
      print(`cannot send ${line}: ${e instanceof Error ? e.message : e}`);
    }
  });
  call.ended.finally(() => typed.to(undefined));
  if (o.dtmf) {
    await call.sendDtmf(o.dtmf);
    print(`sent DTMF ${o.dtmf}`);
  }
  const seconds = o.duration ?? defaultSeconds;
  const stop = new AbortController();
  signal?.addEventListener("abort", () => stop.abort(), { once: true });
  call.ended.finally(() => stop.abort());
  if (seconds !== undefined) {
    await sleep(Math.max(0, seconds * 1000 - (Date.now() - start)), stop.signal);
  } else {await new Promise<void>((resolve) =>
      stop.signal.addEventListener("abort", () => resolve())
    );}
  const reason = call.state === "ended" ? await call.ended : await call.hangup();
  const s = call.stats();
  print(
    `ended: ${reason} after ${((Date.now() - start) / 1000).toFixed(1)} s ` +
      `(${s.packetsSent} packets sent, ${s.packetsReceived} received)`,
  );
}

async function dial(
  client: SipClient,
  o: CallerOptions,
  print: (line: string) => void,
  typed: Typed,
  signal?: AbortSignal,
): Promise<number> {
  print(`calling ${o.target}`);
  const { options, seconds } = await media(o, print);
  const call = await client.call(o.target!, options);
  follow(call, print);
  const abort = () => call.hangup();
  signal?.addEventListener("abort", abort, { once: true });
  const timer = setTimeout(() => call.hangup(), o.timeout * 1000);
  try {
    await call.answered;
  } catch (e) {
    print(`failed: ${e instanceof Error ? e.message : e}`);
    return 1;
  } finally {
    clearTimeout(timer);
  }
  await converse(call, o, print, typed, seconds ?? 5, signal);
  signal?.removeEventListener("abort", abort);
  return 0;
}

async function listen(
  client: SipClient,
  o: CallerOptions,
  print: (line: string) => void,
  acks: AckWatch,
  typed: Typed,
  signal?: AbortSignal,
): Promise<number> {
  print(`listening on ${client.contact}`);
  let left = o.count;
  let status = 0;
  const done = Promise.withResolvers<void>();
  signal?.addEventListener("abort", () => done.resolve(), { once: true });
  let busy = false;
  client.on("incoming", async (call) => {
    print(`incoming call from ${call.remoteName ? `"${call.remoteName}" ` : ""}${call.remote}`);
    if (busy) {
      call.reject(486);
      print("rejected: busy");
      return;
    }
    busy = true;
    follow(call, print);
    try {
      if (o.autoRespondAfter > 0) await sleep(o.autoRespondAfter * 1000, signal);
      if (call.state !== "ringing") {
        print(`ended: ${await call.ended}`);
      } else if (o.autoRespond !== 200) {
        // The ACK ends the INVITE transaction (RFC 3261 §17.2.1): wait for it (or Timer H's
        // share of our patience) before exiting, so the response is not lost in a closing socket.
        const acked = acks.wait(call.callId, 4000);
        call.reject(o.autoRespond);
        print(`rejected: ${o.autoRespond}`);
        await Promise.all([call.ended, acked]);
      } else {
        const { headers: _, ...options } = (await media(o, print)).options;
        await call.accept(options);
        await converse(call, o, print, typed, undefined, signal);
      }
    } catch (e) {
      print(`failed: ${e instanceof Error ? e.message : e}`);
      status = 1;
    }
    busy = false;
    if (o.count > 0 && --left === 0) done.resolve();
  });
  await done.promise;
  return status;
}

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, async (parsed) => {
      const o = callerOptions(parsed);
      if (typeof o === "string") {
        console.error(`sip-caller: ${o}\n\n${USAGE}`);
        return 2;
      }
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      Deno.addSignalListener("SIGINT", onSignal);
      Deno.addSignalListener("SIGTERM", onSignal);
      return await runCaller(o, undefined, stop.signal, Deno.stdin.readable);
    }, "warning"),
  );
}
