// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Command-line SIP caller and call listener (`deno run -A jsr:@rtclite/sip-caller`).
 *
 * It places one call (or waits for calls with `--listen`), plays a tone or a
 * WAV file, records what it hears, sends DTMF digits, and prints one line
 * per step of the call. Built on `@rtclite/app/sip/client`.
 *
 * ```sh
 * # terminal 1: answer one call on 127.0.0.1:5062 and record it
 * deno run -A jsr:@rtclite/sip-caller -l --local 127.0.0.1:5062 --record heard.wav
 * # terminal 2: call it with a 440 Hz tone for 3 seconds and press 1 2 3
 * deno run -A jsr:@rtclite/sip-caller --tone 440 --dtmf 123 --duration 3 sip:bob@127.0.0.1:5062
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
import { type Call, SipClient, type SipClientOptions } from "@rtclite/app/sip/client";
import { type AudioSource, ToneSource, WavSink, WavSource } from "@rtclite/app/net/media";
import { readWav } from "@rtclite/std/ietf/rfc3551";
import {
  formatHelp,
  parseCommand,
  type ParsedCommand,
  runCommand,
  UsageError,
} from "@rtclite/std/cli";

/** The command line's declaration (options, usage, help). */
export const command = {
  name: "sip-caller",
  usage: "[options] [sip:target]",
  description: "Places one call, or waits for calls with --listen.\n" +
    "Exit status: 0 when a call was completed, 1 when it failed, 2 for a usage error.",
  options: {
    user: { short: "u", value: "URI", help: "local address of record (sip:alice@example.com)" },
    password: { short: "p", value: "PASS", help: "digest password for registration and calls" },
    registrar: {
      short: "r",
      value: "HOST",
      help: "register with this server first (HOST[:PORT] or a sip: URI); also the outbound proxy",
    },
    listen: { short: "l", help: "wait for incoming calls instead of calling" },
    local: {
      value: "HOST:PORT",
      help: "local SIP address (default 127.0.0.1:5060 with --listen, else a free port)",
    },
    tcp: { help: "use TCP instead of UDP" },
    tone: { value: "HZ", help: "play a tone (default silence)" },
    file: { value: "F", help: "play a WAV file" },
    record: { value: "F", help: "write received audio to a WAV file" },
    dtmf: { value: "DIGITS", help: "send DTMF digits after the call is answered" },
    duration: {
      value: "SECONDS",
      help: "hang up this long after the answer (caller default 5, or the length of --file)",
    },
    message: {
      short: "m",
      value: "TEXT",
      help: "send an instant message to the target instead of calling",
    },
    count: {
      value: "N",
      help: "with --listen: answer N calls, then exit (default 1; 0 = forever)",
    },
    timeout: { value: "SECONDS", help: "give up when not answered in time (default 30)" },
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
  /** Registrar (and outbound proxy) URI. */
  registrar?: string;
  /** Wait for calls. */
  listen: boolean;
  /** Local SIP address. */
  host: string;
  /** Local SIP port. */
  port: number;
  /** Transport. */
  transport: "udp" | "tcp";
  /** Tone frequency in Hz. */
  tone?: number;
  /** WAV file to play. */
  file?: string;
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
  for (const x of [tone, duration, count, timeout]) if (typeof x === "string") return x;
  if (o.tone !== undefined && o.file !== undefined) return "--tone and --file exclude each other";
  if (o.dtmf !== undefined && !/^[0-9*#A-Da-d]+$/.test(o.dtmf)) {
    return `--dtmf takes keys 0-9 * # A-D, got ${o.dtmf}`;
  }
  const listen = o.listen ?? false;
  const target = v.operands[0];
  if (v.operands.length > 1) return `Unexpected argument ${v.operands[1]}`;
  if (!listen && target === undefined) return "Missing the target to call (or --listen)";
  if (o.message !== undefined && target === undefined) return "--message needs a target";
  let host = "127.0.0.1";
  let port = listen ? 5060 : 0;
  if (o.local !== undefined) {
    const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(o.local);
    if (!m) return `--local takes HOST[:PORT], got ${o.local}`;
    host = m[1] ?? m[2]!;
    if (m[3] !== undefined) port = Number(m[3]);
  }
  const user = o.user ?? `sip:${listen ? "listener" : "caller"}@${host}`;
  if (!/^sips?:/.test(user)) return `--user takes a sip: URI, got ${user}`;
  return {
    user,
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.registrar !== undefined ? { registrar: toUri(o.registrar) } : {}),
    listen,
    host,
    port,
    transport: o.tcp ? "tcp" : "udp",
    ...(typeof tone === "number" ? { tone } : {}),
    ...(o.file !== undefined ? { file: o.file } : {}),
    ...(o.record !== undefined ? { record: o.record } : {}),
    ...(o.dtmf !== undefined ? { dtmf: o.dtmf } : {}),
    ...(typeof duration === "number" ? { duration } : {}),
    ...(o.message !== undefined ? { message: o.message } : {}),
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
 * @returns The exit status: 0 when every call completed, 1 when one failed.
 */
export async function runCaller(
  o: CallerOptions,
  print: (line: string) => void = (l) => console.log(l),
  signal?: AbortSignal,
): Promise<number> {
  const options: SipClientOptions = {
    aor: o.user,
    host: o.host,
    port: o.port,
    transport: o.transport,
    userAgent: "rtclite-sip-caller",
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.registrar !== undefined ? { registrar: o.registrar, outboundProxy: o.registrar } : {}),
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
    if (o.registrar) {
      const r = await client.register();
      print(`registered ${o.user} at ${o.registrar} for ${r.expires} s`);
    }
    if (o.message !== undefined) {
      const status = await client.message(o.target!, o.message);
      print(`message delivered (${status})`);
      return 0;
    }
    return o.listen ? await listen(client, o, print, signal) : await dial(client, o, print, signal);
  } catch (e) {
    print(`failed: ${e instanceof Error ? e.message : e}`);
    return 1;
  } finally {
    await client.close();
  }
}

async function source(o: CallerOptions): Promise<AudioSource | undefined> {
  if (o.tone !== undefined) return new ToneSource(o.tone);
  if (o.file !== undefined) return await WavSource.open(o.file);
  return undefined;
}

async function fileSeconds(path: string): Promise<number> {
  const wav = readWav(await Deno.readFile(path));
  return wav.samples.length / wav.channels / wav.sampleRate;
}

function follow(call: Call, print: (line: string) => void): void {
  call.on("ringing", () => print("ringing"));
  call.on(
    "answered",
    (m) => print(`answered: ${m.encoding} with ${m.remoteAddress}:${m.remotePort}`),
  );
  call.on("dtmf", (d) => print(`received DTMF ${d}`));
  call.on("hold", (held) => print(held ? "put on hold" : "resumed"));
}

async function converse(
  call: Call,
  o: CallerOptions,
  print: (line: string) => void,
  defaultSeconds: number | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const start = Date.now();
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
  signal?: AbortSignal,
): Promise<number> {
  const src = await source(o);
  const sink = o.record !== undefined ? new WavSink(o.record) : undefined;
  print(`calling ${o.target}`);
  const call = await client.call(o.target!, {
    ...(src ? { source: src } : {}),
    ...(sink ? { sink } : {}),
  });
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
  const seconds = o.file !== undefined ? await fileSeconds(o.file) : 5;
  await converse(call, o, print, seconds, signal);
  signal?.removeEventListener("abort", abort);
  return 0;
}

async function listen(
  client: SipClient,
  o: CallerOptions,
  print: (line: string) => void,
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
      const src = await source(o);
      const sink = o.record !== undefined ? new WavSink(o.record) : undefined;
      await call.accept({ ...(src ? { source: src } : {}), ...(sink ? { sink } : {}) });
      await converse(call, o, print, undefined, signal);
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
      return await runCaller(o, undefined, stop.signal);
    }, "warning"),
  );
}
