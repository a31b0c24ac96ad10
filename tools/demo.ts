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
 * Options: `--hold SECONDS` (default 3), `--verbose` to print every message.
 *
 * @module
 */
import { SipServer } from "@rtclite/app/sip/server";
import {
  SipEndpoint,
  type SipMessage,
  type SipTraceEvent,
  UdpTransport,
  UserAgent,
} from "@rtclite/std/ietf/rfc3261";
import { OfferAnswer } from "@rtclite/std/ietf/rfc3264";
import { formatSdp, parseSdp } from "@rtclite/std/ietf/rfc4566";

const args = Deno.args;
const holdArg = args.indexOf("--hold");
const hold = holdArg >= 0 ? Number(args[holdArg + 1]) : 3;
const verbose = args.includes("--verbose") || args.includes("-v");

const DOMAIN = "example.com";
const PCMU = { payloadType: 0, encoding: "PCMU", clockRate: 8000 };
const PCMA = { payloadType: 8, encoding: "PCMA", clockRate: 8000 };

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

const bob = await userAgent("bob", "builder", (call) => {
  call.ringing();
  const offer = parseSdp(new TextDecoder().decode(call.remoteBody));
  bobMedia.setRemoteOffer(offer);
  const answer = bobMedia.createAnswer([{ type: "audio", port: 40002, formats: [PCMA, PCMU] }]);
  setTimeout(() => call.accept(formatSdp(answer)), 200);
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
  const offer = aliceMedia.createOffer([{ type: "audio", port: 40000, formats: [PCMU, PCMA] }]);
  const call = await alice.invite(`sip:bob@${DOMAIN}`, formatSdp(offer));
  if (call.state !== "established") throw new Error(`Call failed: ${call.endReason}`);
  const [audio] = aliceMedia.setRemoteAnswer(parseSdp(new TextDecoder().decode(call.remoteBody)));
  const codec = `${audio?.send?.encoding}/${audio?.send?.clockRate}`;
  await new Promise((r) => setTimeout(r, hold * 1000));
  const byeStatus = await call.bye();
  await new Promise((r) => setTimeout(r, 100));
  printLadder();
  console.log(
    `\nCall ${call.dialog?.callId}: answered with ${codec} to ${audio?.remoteAddress}:${audio?.remotePort}, ` +
      `held ${hold} s, BYE answered ${byeStatus}.`,
  );
} catch (e) {
  failed = true;
  printLadder();
  console.error(String(e));
} finally {
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
