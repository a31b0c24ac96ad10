// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  freePort,
  freePortPair,
  freeSipPort,
  interopTest,
  type PeerProcess,
  run,
  startPeer,
  withTimeout,
} from "@rtclite/testing";
import {
  FrameClock,
  JitterBuffer,
  MediaSession,
  SilenceSource,
  ToneSource,
  WavSink,
  WavSource,
} from "@rtclite/app/net/media";
import { OfferAnswer } from "@rtclite/std/ietf/rfc3264";
import { formatSdp, getRtpMaps, parseSdp } from "@rtclite/std/ietf/rfc4566";
import { decodeWav, encodeWav } from "@rtclite/std/ietf/rfc3551";
import { encodeRtp } from "@rtclite/std/ietf/rfc3550";
import dgram from "node:dgram";

/** Dominant frequency: a Goertzel scan on 100 ms (5 Hz steps), then 0.25 Hz steps on 1 s. */
export function dominantFrequency(all: Int16Array, rate: number, lo = 100, hi = 3900): number {
  // Leave out leading and trailing silence.
  let a = 0, b = all.length;
  while (a < b && Math.abs(all[a]!) < 300) a++;
  while (b > a && Math.abs(all[b - 1]!) < 300) b--;
  const samples = all.subarray(a, b);
  const power = (f: number, n: number) => {
    const s = samples.subarray(samples.length - Math.min(samples.length, n));
    const w = (2 * Math.PI * f) / rate;
    const c = 2 * Math.cos(w);
    let p1 = 0, p2 = 0;
    for (let i = 0; i < s.length; i++) {
      const p = s[i]! + c * p1 - p2;
      p2 = p1;
      p1 = p;
    }
    return p1 * p1 + p2 * p2 - c * p1 * p2;
  };
  let best = lo, bestP = -1;
  for (let f = lo; f <= hi; f += 5) {
    const p = power(f, rate / 10);
    if (p > bestP) [best, bestP] = [f, p];
  }
  const center = best;
  bestP = -1;
  for (let f = center - 10; f <= center + 10; f += 0.25) {
    const p = power(f, rate);
    if (p > bestP) [best, bestP] = [f, p];
  }
  return best;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("dominantFrequency() finds a tone (test helper)", () => {
  const t = new ToneSource(1234).read(8000)!;
  assert(Math.abs(dominantFrequency(t, 8000) - 1234) < 2);
});

Deno.test("JitterBuffer reorders, drops duplicates and late packets, reports gaps", () => {
  const jb = new JitterBuffer({ frameSamples: 160, delayFrames: 2, maxExtraFrames: 1 });
  const f = (ts: number) => ({
    timestamp: ts,
    payloadType: 0,
    payload: new Uint8Array([ts / 160]),
  });
  jb.push(f(1600 + 160));
  jb.push(f(1600));
  jb.push(f(1600)); // duplicate
  assertEquals(jb.pop()?.payload[0], 10);
  assertEquals(jb.pop()?.payload[0], 11);
  jb.push(f(1600)); // late
  assertEquals(jb.pop(), undefined); // 12 not there and nothing newer: wait (underrun)
  jb.push(f(1600 + 3 * 160));
  assertEquals(jb.pop(), undefined); // 12 missing while 13 is there: lost
  assertEquals(jb.pop()?.payload[0], 13);
  assertEquals(jb.pop(), undefined); // 14: underrun budget used up, so missing
  assertEquals(jb.stats(), {
    played: 3,
    missing: 2,
    late: 1,
    duplicates: 1,
    resyncs: 0,
    underruns: 1,
  });
});

Deno.test("JitterBuffer adapts to a bursty sender by waiting on underruns", () => {
  const jb = new JitterBuffer({ frameSamples: 160, delayFrames: 1 });
  let ts = 0, next = 0;
  const played: number[] = [];
  for (let tick = 0; tick < 120; tick++) {
    if (tick % 6 === 0) {
      for (let k = 0; k < 6; k++, ts += 160) {
        jb.push({ timestamp: ts, payloadType: 0, payload: new Uint8Array([next++ & 0xff]) });
      }
    }
    const f = jb.pop();
    if (f) played.push(f.payload[0]!);
  }
  assertEquals(jb.stats().missing, 0);
  assertEquals(played.slice(0, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("JitterBuffer resynchronizes when the timestamp base jumps", () => {
  const jb = new JitterBuffer({ frameSamples: 160, delayFrames: 1 });
  jb.push({ timestamp: 0xfffffe00, payloadType: 0, payload: new Uint8Array(1) });
  assert(jb.pop());
  jb.push({ timestamp: 0x00000100 + 160 * 100000, payloadType: 0, payload: new Uint8Array(1) });
  assert(jb.pop());
  assertEquals(jb.stats().resyncs, 1);
});

Deno.test("WavSource and WavSink: resampling and mixing down", () => {
  const stereo = new Int16Array(3200);
  for (let i = 0; i < 1600; i++) stereo[2 * i] = stereo[2 * i + 1] = 1000;
  const src = new WavSource({ sampleRate: 16000, channels: 2, samples: stereo });
  const frame = src.read(800)!;
  assertEquals(frame.length, 800);
  assertEquals(frame[100], 1000);
  assertEquals(src.read(160), undefined);
  const sink = new WavSink();
  sink.write(frame);
  assertEquals(decodeWav(sink.toWav()).samples.length, 800);
  assertEquals(new SilenceSource({ durationMs: 20 }).read(160)!.every((x) => x === 0), true);
});

Deno.test("FrameClock keeps the average rate", async () => {
  let n = 0;
  const start = performance.now();
  const c = new FrameClock(20, () => n++);
  await sleep(410);
  c.stop();
  // Against the time that passed: on a busy machine the sleep itself can last longer.
  const due = (performance.now() - start) / 20;
  assert(n >= due - 4.5 && n <= due + 1.5, `ticks ${n} in ${(due * 20).toFixed(0)} ms`);
});

Deno.test("MediaSession: tone and DTMF over loopback after offer/answer (RFC 3264, RFC 4733)", async () => {
  const sink = new WavSink();
  const digits: string[] = [];
  await using a = await MediaSession.open({ source: new ToneSource(697) });
  await using b = await MediaSession.open({ sink, onDtmf: (d) => digits.push(d) });
  const oa = new OfferAnswer({ address: "127.0.0.1" });
  const ob = new OfferAnswer({ address: "127.0.0.1" });
  ob.setRemoteOffer(oa.createOffer([a.localStream]));
  const answer = ob.createAnswer([b.localStream]);
  const [sa] = oa.setRemoteAnswer(answer);
  a.start(sa!);
  b.start(ob.negotiated[0]!);
  await sleep(600);
  await a.sendDtmf("1#9", { durationMs: 80, gapMs: 40 });
  await sleep(300);
  const stats = b.stats();
  assertEquals(digits, ["1", "#", "9"]);
  assertEquals(stats.digits, "1#9");
  const src = stats.rtp.sources[0]!;
  assertEquals(src.lost, 0);
  assert(src.received > 30, `received ${src.received}`);
  const f = dominantFrequency(sink.samples.subarray(0, 4000), 8000);
  assert(Math.abs(f - 697) < 697 * 0.02, `frequency ${f}`);
});

Deno.test("MediaSession: garbage packets are dropped and playout continues", async () => {
  const sink = new WavSink();
  await using a = await MediaSession.open({ source: new ToneSource(1000) });
  await using b = await MediaSession.open({ sink });
  const pcmu = { payloadType: 0, encoding: "PCMU", clockRate: 8000 };
  a.startWith({ host: "127.0.0.1", port: b.port }, pcmu, "sendonly");
  b.startWith({ host: "127.0.0.1", port: a.port }, pcmu, "recvonly");
  const junk = dgram.createSocket("udp4");
  await sleep(200);
  for (
    const bytes of [new Uint8Array(3), new Uint8Array([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])]
  ) {
    junk.send(bytes, b.port, "127.0.0.1");
    junk.send(bytes, b.port + 1, "127.0.0.1");
  }
  // A packet with an unknown payload type from a different SSRC
  junk.send(
    encodeRtp({
      marker: false,
      payloadType: 99,
      sequenceNumber: 1,
      timestamp: 0,
      ssrc: 77,
      csrcs: [],
      padding: 0,
      payload: new Uint8Array(4),
    }),
    b.port,
    "127.0.0.1",
  );
  await sleep(400);
  junk.close();
  const s = b.stats();
  assert(s.dropped >= 3, `dropped ${s.dropped}`);
  assert(s.jitter.played > 15, `played ${s.jitter.played}`);
  const f = dominantFrequency(sink.samples, 8000);
  assert(Math.abs(f - 1000) < 20, `frequency ${f}`);
});

const FFMPEG = [{ bin: "ffmpeg", apt: "ffmpeg" }];
const FF = ["-hide_banner", "-nostdin", "-loglevel", "error"];

interopTest(
  "ffmpeg sends a PCMU sine over RTP; MediaSession records it without loss",
  FFMPEG,
  async () => {
    const wavPath = await Deno.makeTempFile({ suffix: ".wav" });
    const sink = new WavSink(wavPath);
    await using m = await MediaSession.open({ sink });
    const ffPort = await freePortPair(); // ffmpeg's RTP port; RTCP is the next one
    const r = run("ffmpeg", [
      ...FF,
      "-re",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=1000:sample_rate=8000",
      "-t",
      "2",
      "-af",
      "asetnsamples=n=160:p=0",
      "-c:a",
      "pcm_mulaw",
      "-ar",
      "8000",
      "-ac",
      "1",
      "-payload_type",
      "0",
      "-f",
      "rtp",
      `rtp://127.0.0.1:${m.port}?localrtpport=${ffPort}`,
    ], { timeout: 20_000 });
    const pcmu = { payloadType: 0, encoding: "PCMU", clockRate: 8000 };
    m.startWith({ host: "127.0.0.1", port: ffPort }, pcmu, "recvonly");
    const out = await r;
    assertEquals(out.code, 0, out.stderr);
    // ffmpeg prints the SDP describing its stream: it must parse and name PCMU.
    const sdp = parseSdp(out.stdout.replace(/^SDP:\s*/, ""));
    assertEquals(getRtpMaps(sdp.media[0]!)[0]?.encoding, "PCMU");
    await sleep(300);
    const s = m.stats();
    const src = s.rtp.sources[0]!;
    assertEquals(src.lost, 0);
    assert(src.received >= 95, `received ${src.received}`);
    assertEquals(s.jitter.late, 0);
    await m.close(); // writes the WAV file
    const wav = decodeWav(await Deno.readFile(wavPath));
    await Deno.remove(wavPath);
    const f = dominantFrequency(wav.samples, wav.sampleRate);
    assert(Math.abs(f - 1000) <= 20, `frequency ${f}`);
  },
  { timeout: 30_000 },
);

interopTest("MediaSession sends PCMA to ffmpeg reading our SDP", FFMPEG, async () => {
  const dir = await Deno.makeTempDir({ prefix: "rtclite-media-" });
  try {
    const ffPort = await freePortPair(); // ffmpeg's RTP port; RTCP is the next one
    await using m = await MediaSession.open({ source: new ToneSource(440) });
    const oa = new OfferAnswer({ address: "127.0.0.1", sessionName: "rtclite tone" });
    const offer = oa.createOffer([{
      type: "audio",
      port: ffPort,
      formats: [{ payloadType: 8, encoding: "PCMA", clockRate: 8000 }],
      direction: "recvonly",
    }]);
    await Deno.writeTextFile(`${dir}/ours.sdp`, formatSdp(offer));
    await using ff = startPeer("ffmpeg", [
      ...FF,
      "-protocol_whitelist",
      "file,udp,rtp",
      "-i",
      `${dir}/ours.sdp`,
      "-t",
      "1.5",
      "-y",
      `${dir}/got.wav`,
    ]);
    await sleep(500); // ffmpeg opens its ports
    m.startWith({ host: "127.0.0.1", port: ffPort }, {
      payloadType: 8,
      encoding: "PCMA",
      clockRate: 8000,
    }, "sendonly");
    const status = await Promise.race([ff.child.status, sleep(10_000).then(() => undefined)]);
    assert(status, "ffmpeg did not finish");
    assertEquals(status.code, 0, ff.output());
    assertEquals(ff.output().trim(), "", "ffmpeg reported errors");
    const wav = decodeWav(await Deno.readFile(`${dir}/got.wav`));
    assert(wav.samples.length >= wav.sampleRate, `samples ${wav.samples.length}`);
    const f = dominantFrequency(
      wav.samples,
      wav.sampleRate,
      100,
      Math.min(3900, wav.sampleRate / 2 - 100),
    );
    assert(Math.abs(f - 440) <= 440 * 0.02, `frequency ${f}`);
    // ffmpeg's own statistics of what it decoded
    const probe = await run("ffmpeg", [
      ...FF,
      "-i",
      `${dir}/got.wav`,
      "-af",
      "astats",
      "-f",
      "null",
      "-",
    ], {
      timeout: 10_000,
    });
    assertEquals(probe.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, { timeout: 30_000 });

Deno.test("encodeWav/decodeWav keep a tone (sink file format)", () => {
  const t = new ToneSource(800).read(8000)!;
  const back = decodeWav(encodeWav({ sampleRate: 8000, channels: 1, samples: t }));
  assertEquals(back.samples, t);
});

// --- baresip sends RFC 4733 telephone events in a call answered by a minimal SIP UAS ---

/** Answers one INVITE on UDP with the SDP from `answer`; replies 200 to BYE. Test-only SIP. */
function miniUas(
  port: number,
  answer: (offerSdp: string) => string,
): { close(): void; invited: Promise<void> } {
  const sock = dgram.createSocket("udp4");
  let resolveInvited!: () => void;
  const invited = new Promise<void>((r) => (resolveInvited = r));
  sock.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
    const text = new TextDecoder().decode(msg);
    const [head, body = ""] = text.split("\r\n\r\n");
    const lines = head!.split("\r\n");
    const method = lines[0]!.split(" ")[0];
    if (lines[0]!.startsWith("SIP/2.0")) return;
    const hdr = (name: string) =>
      lines.filter((l) => l.toLowerCase().startsWith(name.toLowerCase() + ":"));
    const reply = (status: string, extra: string[], sdpBody = "") => {
      const to = hdr("To")[0]!;
      const out = [
        `SIP/2.0 ${status}`,
        ...hdr("Via"),
        ...hdr("From"),
        to.includes("tag=") ? to : `${to};tag=rtclite1`,
        ...hdr("Call-ID"),
        ...hdr("CSeq"),
        ...extra,
        `Content-Length: ${new TextEncoder().encode(sdpBody).length}`,
        "",
        sdpBody,
      ].join("\r\n");
      sock.send(new TextEncoder().encode(out), rinfo.port, rinfo.address);
    };
    if (method === "INVITE") {
      reply(
        "200 OK",
        [`Contact: <sip:rtclite@127.0.0.1:${port}>`, "Content-Type: application/sdp"],
        answer(body),
      );
      resolveInvited();
    } else if (method !== "ACK") reply("200 OK", []);
  });
  sock.bind(port, "127.0.0.1");
  return { close: () => sock.close(), invited };
}

/**
 * Writes a baresip configuration: SIP on `sipPort` (UDP and TCP), G.711, a WAV source, ctrl_tcp,
 * RTP on the even port `rtpPort` and RTCP on the next one.
 */
async function writeBaresipConfig(
  dir: string,
  sipPort: number,
  ctrlPort: number,
  rtpPort: number,
) {
  await Deno.writeTextFile(
    `${dir}/config`,
    [
      "poll_method epoll",
      `sip_listen 127.0.0.1:${sipPort}`,
      "net_interface 127.0.0.1",
      "dns_server 127.0.0.1:53",
      "audio_player aubridge,nil",
      "audio_alert aubridge,nil",
      "audio_source aufile,/usr/share/baresip/callwaiting.wav",
      `rtp_ports ${rtpPort}-${rtpPort + 1}`,
      "module_path /usr/lib/baresip/modules",
      "module g711.so",
      "module aufile.so",
      "module aubridge.so",
      "module_tmp account.so",
      "module_app menu.so",
      "module_app ctrl_tcp.so",
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      "",
    ].join("\n"),
  );
  await Deno.writeTextFile(`${dir}/accounts`, `<sip:bob@127.0.0.1:${sipPort}>;regint=0\n`);
  await Deno.writeTextFile(`${dir}/contacts`, "");
}

/** Waits for baresip's INVITE at `uas`; fails with baresip's output when none comes. */
async function invitedBy(uas: { invited: Promise<void> }, bs: PeerProcess): Promise<void> {
  try {
    await withTimeout(uas.invited, 10_000, "INVITE from baresip");
  } catch (e) {
    throw new Error(`${(e as Error).message}; baresip output:\n${bs.output()}`, { cause: e });
  }
}

/** Resolves when `cond()` holds, polling every 20 ms; rejects with `what` after `ms`. */
async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out after ${ms} ms: ${what()}`);
    await sleep(20);
  }
}

/**
 * A connection to baresip's ctrl_tcp module: each command is a netstring of JSON, answered by
 * one with `"response": true` once baresip has run it. One connection for all commands, each
 * waiting for its answer: ctrl_tcp keeps only its newest connection, so a command on a
 * connection it has not read yet when the next one arrives would be lost.
 */
async function baresipCtrl(ctrlPort: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: ctrlPort });
  const dec = new TextDecoder();
  let buf = "";
  let token = 0;
  const next = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const m = /^(\d+):/.exec(buf);
      if (m && buf.length >= m[0].length + Number(m[1]) + 1) {
        const json = buf.slice(m[0].length, m[0].length + Number(m[1]));
        buf = buf.slice(m[0].length + Number(m[1]) + 1);
        return JSON.parse(json);
      }
      const chunk = new Uint8Array(4096);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("baresip closed its ctrl_tcp connection");
      buf += dec.decode(chunk.subarray(0, n));
    }
  };
  return {
    async send(command: string, params = ""): Promise<void> {
      const json = JSON.stringify({ command, params, token: String(++token) });
      await conn.write(new TextEncoder().encode(`${json.length}:${json},`));
      const want = String(token);
      for (let r = await next(); !(r.response && r.token === want); r = await next());
    },
    close: () => conn.close(),
  };
}

interopTest("baresip and MediaSession exchange DTMF (RFC 4733) both ways", [{
  bin: "baresip",
  apt: "baresip-core",
}], async () => {
  const dir = await Deno.makeTempDir({ prefix: "rtclite-baresip-" });
  const [sipPort, bPort, ctrlPort] = [await freePort("udp"), await freeSipPort(), await freePort()];
  const digits: string[] = [];
  await using media = await MediaSession.open({
    source: new SilenceSource(),
    onDtmf: (d) => digits.push(d),
  });
  const oa = new OfferAnswer({ address: "127.0.0.1", username: "rtclite" });
  const uas = miniUas(sipPort, (offerSdp) => {
    oa.setRemoteOffer(parseSdp(offerSdp));
    const answer = formatSdp(oa.createAnswer([media.localStream]));
    media.start(oa.negotiated[0]!);
    return answer;
  });
  try {
    await writeBaresipConfig(dir, bPort, ctrlPort, await freePortPair());
    await using bs = startPeer("baresip", [
      "-f",
      dir,
      "-e",
      `/dial sip:rtclite@127.0.0.1:${sipPort}`,
    ]);
    await invitedBy(uas, bs);
    await bs.waitFor("Call established", 10_000);
    const ctrl = await baresipCtrl(ctrlPort);
    try {
      // Audio flows both ways before the first key press.
      await until(
        () => (media.stats().rtp.sources[0]?.received ?? 0) > 0,
        10_000,
        () => `audio from baresip; its output:\n${bs.output()}`,
      );
      await bs.waitFor("incoming rtp for 'audio' established", 10_000);
      for (const [i, d] of [..."19#"].entries()) {
        await ctrl.send("sndcode", d);
        // The next key once this one is received: baresip sends one event at a time.
        await until(
          () => digits.length > i,
          10_000,
          () => `digit ${d}: digits ${digits}; baresip output:\n${bs.output().slice(-2000)}`,
        );
      }
    } finally {
      ctrl.close();
    }
    await media.sendDtmf("47");
    // baresip logs each telephone event it receives, with its E bit
    await bs.waitFor(/received event: '4' \(end=1\)[\s\S]*received event: '7' \(end=1\)/, 10_000);
    const s = media.stats();
    assertEquals(
      digits,
      ["1", "9", "#"],
      `digits ${digits}; baresip output:\n${bs.output().slice(-2000)}`,
    );
    assert(s.rtp.sources.length >= 1 && s.rtp.sources[0]!.received > 20, "audio from baresip");
    await bs.stop(2000);
  } finally {
    uas.close();
    await Deno.remove(dir, { recursive: true });
  }
}, { timeout: 40_000 });

interopTest(
  "baresip hangs up: MediaSession reports its RTCP BYE within one RTCP interval (RFC 3550 §6.1, §6.3.4)",
  [{ bin: "baresip", apt: "baresip-core" }],
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "rtclite-baresip-" });
    const [sipPort, bPort, ctrlPort] = [
      await freePort("udp"),
      await freeSipPort(),
      await freePort(),
    ];
    let hungUp = 0;
    const { promise: bye, resolve: onBye } = Promise.withResolvers<string | undefined>();
    await using media = await MediaSession.open({ source: new SilenceSource(), onBye });
    const oa = new OfferAnswer({ address: "127.0.0.1", username: "rtclite" });
    const uas = miniUas(sipPort, (offerSdp) => {
      oa.setRemoteOffer(parseSdp(offerSdp));
      const answer = formatSdp(oa.createAnswer([media.localStream]));
      media.start(oa.negotiated[0]!);
      return answer;
    });
    try {
      await writeBaresipConfig(dir, bPort, ctrlPort, await freePortPair());
      await using bs = startPeer("baresip", [
        "-f",
        dir,
        "-e",
        `/dial sip:rtclite@127.0.0.1:${sipPort}`,
      ]);
      await invitedBy(uas, bs);
      await bs.waitFor("Call established", 10_000);
      // audio flows; the source is validated
      await until(
        () => (media.stats().rtp.sources[0]?.received ?? 0) > 20,
        10_000,
        () => `audio from baresip; its output:\n${bs.output()}`,
      );
      const ctrl = await baresipCtrl(ctrlPort);
      hungUp = performance.now();
      await ctrl.send("hangup").finally(() => ctrl.close());
      // The shortest RTCP interval is 5 s (RFC 3550 §6.2); without the BYE, the source would
      // only time out after five intervals.
      const reason = await Promise.race([bye, sleep(5000).then(() => "no BYE" as const)]);
      assert(reason !== "no BYE", `no RTCP BYE reported; baresip output:\n${bs.output()}`);
      assert(performance.now() - hungUp < 5000);
      const rtp = media.stats().rtp;
      assert(rtp.nonCompound >= 1, "baresip's BYE did not start with SR/RR");
      assertEquals(rtp.members, 1);
      await bs.stop(2000);
    } finally {
      uas.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeout: 40_000 },
);

Deno.test("MediaSession ends a key press whose end packets were all lost (RFC 4733 §2.5.2.2)", async () => {
  const digits: string[] = [];
  await using m = await MediaSession.open({ onDtmf: (d) => digits.push(d) });
  m.startWith(
    { host: "127.0.0.1", port: 9 },
    { payloadType: 0, encoding: "PCMU", clockRate: 8000 },
    "recvonly",
  );
  const raw = dgram.createSocket("udp4");
  for (let i = 0; i < 3; i++) {
    const payload = new Uint8Array([6, 10, 0, (i + 1) * 0x50]); // event 6, no E bit
    const bytes = encodeRtp({
      marker: i === 0,
      payloadType: 101,
      sequenceNumber: 500 + i,
      timestamp: 8000,
      ssrc: 99,
      csrcs: [],
      padding: 0,
      payload,
    });
    await new Promise((r) => raw.send(bytes, m.port, "127.0.0.1", r));
    await sleep(50);
  }
  await sleep(300);
  assertEquals(digits, []);
  await sleep(1100);
  raw.close();
  assertEquals(digits, ["6"]);
});
