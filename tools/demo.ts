// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * `deno task demo`: the main job. Runs the SIP registrar/proxy
 * (`app/sip/server`) and two user agents (`std/ietf/rfc3261`) on
 * 127.0.0.1: alice and bob register with digest authentication (401), alice
 * calls bob with an SDP offer (RFC 3264) and answers the proxy's 407
 * challenge with credentials, bob answers, the call stays up a few
 * seconds and alice hangs up. The messages the server saw are printed as a
 * ladder diagram.
 *
 * The call carries real audio (`app/net/media`): each side's
 * `MediaSession` offers/answers its stream, and once the answer is in,
 * alice sends a 440 Hz tone and bob a 660 Hz tone as PCMU RTP to the
 * negotiated address, with RTCP. Received audio is kept in memory (no files
 * are written). At the end one line per side gives the dominant frequency it
 * heard (Goertzel over the recorded samples), the RTP packets sent and
 * received, and the loss and interarrival jitter of the RTP/RTCP receiver
 * statistics, e.g. `bob heard 440 Hz: sent 151, received 150 packets, 0 lost,
 * jitter 0.4 ms`.
 *
 * Options: `--hold SECONDS` (default 3), `--verbose` to print every message.
 *
 * @module
 */
import { MediaSession, type MediaStats, ToneSource, WavSink } from "@rtclite/app/net/media";
import { SipServer } from "@rtclite/app/sip/server";
import {
  SipEndpoint,
  type SipMessage,
  type SipTraceEvent,
  UserAgent,
} from "@rtclite/std/ietf/rfc3261";
import { UdpTransport } from "@rtclite/std/ietf/rfc3261/transport";
import { OfferAnswer } from "@rtclite/std/ietf/rfc3264";
import { formatSdp, parseSdp } from "@rtclite/std/ietf/rfc4566";

const args = Deno.args;
const holdArg = args.indexOf("--hold");
const hold = holdArg >= 0 ? Number(args[holdArg + 1]) : 3;
const verbose = args.includes("--verbose") || args.includes("-v");

const DOMAIN = "example.com";
const PCMU = { payloadType: 0, encoding: "PCMU", clockRate: 8000 };
const PCMA = { payloadType: 8, encoding: "PCMA", clockRate: 8000 };
const TELEPHONE_EVENT = {
  payloadType: 101,
  encoding: "telephone-event",
  clockRate: 8000,
  parameters: "0-16",
};

// --- The trace the server sees ---------------------------------------------------------------
const events: { t: number; e: SipTraceEvent }[] = [];
const t0 = performance.now();
const server = await SipServer.start({
  listen: [{ transport: "udp", host: "127.0.0.1", port: 0 }],
  domains: [DOMAIN],
  auth: { alice: "wonderland", bob: "builder" },
  onTrace: (e) => events.push({ t: performance.now() - t0, e }),
});
const proxyPort = server.endpoint.transports[0]!.port;
const proxyUri = `sip:127.0.0.1:${proxyPort}`;

async function userAgent(name: string, password: string, onInvite?: UserAgent["onInvite"]) {
  const endpoint = new SipEndpoint({
    transports: [await UdpTransport.listen({ host: "127.0.0.1", port: 0 })],
  });
  return new UserAgent({
    endpoint,
    aor: `sip:${name}@${DOMAIN}`,
    displayName: name[0]!.toUpperCase() + name.slice(1),
    password,
    outboundProxy: proxyUri,
    userAgent: "rtclite-demo",
    ...(onInvite ? { onInvite } : {}),
  });
}

const aliceMedia = new OfferAnswer({ address: "127.0.0.1", username: "alice" });
const bobMedia = new OfferAnswer({ address: "127.0.0.1", username: "bob" });

// --- Audio: alice sends 440 Hz, bob 660 Hz; what each receives is kept in memory -------------
const aliceHeard = new WavSink();
const bobHeard = new WavSink();
const aliceRtp = await MediaSession.open({
  source: new ToneSource(440),
  sink: aliceHeard,
  formats: [PCMU, PCMA, TELEPHONE_EVENT],
  cname: `alice@${DOMAIN}`,
});
const bobRtp = await MediaSession.open({
  source: new ToneSource(660),
  sink: bobHeard,
  formats: [PCMA, PCMU, TELEPHONE_EVENT],
  cname: `bob@${DOMAIN}`,
});

const bob = await userAgent("bob", "builder", (call) => {
  call.ringing();
  try {
    const offer = parseSdp(new TextDecoder().decode(call.remoteBody));
    bobMedia.setRemoteOffer(offer);
    const answer = bobMedia.createAnswer([bobRtp.localStream]);
    call.onState = (s) => {
      if (s === "terminated") bobRtp.stop();
    };
    setTimeout(() => {
      call.accept(formatSdp(answer));
      bobRtp.start(bobMedia.negotiated[0]!);
    }, 200);
  } catch (e) {
    console.error(`bob cannot answer: ${e}`);
    call.reject(488);
  }
});
const alice = await userAgent("alice", "wonderland");

const names = new Map<number, string>([
  [alice.endpoint.transports[0]!.port, "alice"],
  [bob.endpoint.transports[0]!.port, "bob"],
]);

let failed = false;
try {
  for (const ua of [alice, bob]) {
    const r = await ua.register(`sip:${DOMAIN}`, 600);
    if (r.status !== 200) throw new Error(`${ua.aor} could not register: ${r.status} ${r.reason}`);
  }
  const offer = aliceMedia.createOffer([aliceRtp.localStream]);
  const call = await alice.invite(`sip:bob@${DOMAIN}`, formatSdp(offer));
  if (call.state !== "established") throw new Error(`Call failed: ${call.endReason}`);
  const [audio] = aliceMedia.setRemoteAnswer(parseSdp(new TextDecoder().decode(call.remoteBody)));
  if (!audio) throw new Error("The answer has no audio stream");
  aliceRtp.start(audio);
  const codec = `${audio.send?.encoding}/${audio.send?.clockRate}`;
  await new Promise((r) => setTimeout(r, hold * 1000));
  aliceRtp.stop();
  const byeStatus = await call.bye();
  await new Promise((r) => setTimeout(r, 100));
  bobRtp.stop(); // normally already stopped by the BYE
  printLadder();
  console.log(
    `\nCall ${call.dialog?.callId}: answered with ${codec} to ${audio.remoteAddress}:${audio.remotePort}, ` +
      `held ${hold} s, BYE answered ${byeStatus}.`,
  );
  console.log(mediaLine("alice", aliceRtp.stats(), aliceHeard.samples));
  console.log(mediaLine("bob", bobRtp.stats(), bobHeard.samples));
} catch (e) {
  failed = true;
  printLadder();
  console.error(String(e));
} finally {
  await aliceRtp.close();
  await bobRtp.close();
  await alice.close();
  await bob.close();
  await server.close();
}
if (failed) Deno.exit(1);

function label(m: SipMessage): string {
  if (m.isRequest) {
    const sdp = m.body.length ? " (SDP)" : "";
    const auth = m.has("Authorization") || m.has("Proxy-Authorization") ? " +auth" : "";
    return `${m.method}${auth}${sdp}`;
  }
  const sdp = m.body.length ? " (SDP)" : "";
  return `${m.status} ${m.reason.replace("Authentication", "Auth")}${sdp}`;
}

function printLadder(): void {
  const W = 34; // distance between lanes
  const header = ["alice@" + DOMAIN, `proxy 127.0.0.1:${proxyPort}`, "bob@" + DOMAIN];
  let head = "";
  for (let i = 0; i < 3; i++) {
    const at = i * W - Math.floor(header[i]!.length / 2);
    head = head.padEnd(Math.max(0, at)) + header[i];
  }
  console.log(" ".repeat(9) + head.trimStart().padStart(head.trimStart().length + 2));
  for (const { t, e } of events) {
    const peer = names.get(e.port);
    if (peer === undefined) continue;
    const lane = peer === "alice" ? 0 : 2;
    const from = e.direction === "in" ? lane : 1;
    const to = e.direction === "in" ? 1 : lane;
    const row: string[] = Array.from({ length: 2 * W + 1 }, (_, x) => x % W === 0 ? "|" : " ");
    const a = Math.min(from, to) * W;
    const b = Math.max(from, to) * W;
    for (let x = a + 1; x < b; x++) row[x] = "-";
    if (from < to) row[b - 1] = ">";
    else row[a + 1] = "<";
    const text = ` ${label(e.message)} `.slice(0, W - 4);
    const start = a + Math.floor((W - text.length) / 2);
    for (let k = 0; k < text.length; k++) row[start + k] = text[k]!;
    console.log(`${(t / 1000).toFixed(3).padStart(7)}  ${row.join("")}`);
    if (verbose) console.log(e.message.toString().trimEnd().replace(/^/gm, "           "));
  }
}

/** One line of media figures: what a side heard and its RTP/RTCP statistics. */
function mediaLine(name: string, stats: MediaStats, samples: Int16Array): string {
  const sources = stats.rtp.sources;
  const received = sources.reduce((n, r) => n + r.received, 0);
  const lost = sources.reduce((n, r) => n + Math.max(0, r.lost), 0);
  // Interarrival jitter is in RTP timestamp units: 8 per ms at 8000 Hz (RFC 3550 §6.4.1).
  const jitterMs = sources.reduce((j, r) => Math.max(j, r.jitter), 0) / 8;
  const hz = dominantFrequency(samples, 8000);
  const heard = hz === undefined ? "nothing" : `${hz} Hz`;
  return `${name} heard ${heard}: sent ${stats.rtp.sender.packets}, received ${received} packets, ` +
    `${lost} lost, jitter ${jitterMs.toFixed(1)} ms`;
}

/** Power of one frequency in the samples (Goertzel algorithm). */
function goertzel(samples: Int16Array, hz: number, rate: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const s0 = samples[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/**
 * The frequency with the most power, in whole Hz: a 10 Hz scan from 100 Hz to just under
 * Nyquist, refined in 1 Hz steps around the peak; `undefined` for silence.
 */
function dominantFrequency(samples: Int16Array, rate: number): number | undefined {
  let best = 0;
  let bestPower = 0;
  const scan = (from: number, to: number, step: number) => {
    for (let hz = from; hz <= to; hz += step) {
      const p = goertzel(samples, hz, rate);
      if (p > bestPower) [best, bestPower] = [hz, p];
    }
  };
  scan(100, rate / 2 - 100, 10);
  if (bestPower === 0) return undefined;
  scan(best - 9, best + 9, 1);
  return best;
}
