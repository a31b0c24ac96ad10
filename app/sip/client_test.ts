// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { type Call, SipClient, SipClientError } from "./client.ts";
import { SipServer } from "./server.ts";
import { ToneSource, WavSink } from "../net/media.ts";
import { freeSipPort, interopTest, startPeer, withTimeout } from "@rtclite/testing";
import { deepEqual, equal, ok, rejects } from "node:assert/strict";

// Ports of this file: P(0) to P(29), each free on UDP and TCP, chosen per
// run so that two copies of the suite do not collide.
const ports: number[] = [];
while (ports.length < 30) {
  const port = await freeSipPort();
  if (!ports.includes(port)) ports.push(port);
}
const P = (i: number): number => ports[i]!;
const HOST = "127.0.0.1";

/** Goertzel power of one frequency in a block of samples. */
function goertzel(samples: Int16Array, hz: number, rate = 8000): number {
  const k = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s0 = x + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function once<T>(register: (fn: (v: T) => void) => void): Promise<T> {
  return new Promise((resolve) => register(resolve));
}

async function startServer(port: number, auth?: Record<string, string>, minExpires?: number) {
  return await SipServer.start({
    listen: [{ transport: "udp", host: HOST, port }],
    domains: ["example.com"],
    ...(auth ? { auth } : {}),
    ...(minExpires !== undefined ? { minExpires } : {}),
  });
}

Deno.test("SipClient registers with digest, calls through the proxy with tone, DTMF, MESSAGE and hang-up (RFC 3261 §10, §13, RFC 3428, RFC 4733)", async () => {
  const server = await startServer(P(0), { alice: "a-secret", bob: "b-secret" });
  const proxy = `sip:${HOST}:${P(0)}`;
  const alice = await SipClient.start({
    aor: "sip:alice@example.com",
    displayName: "Alice",
    password: "a-secret",
    port: P(1),
    outboundProxy: proxy,
  });
  const bob = await SipClient.start({
    aor: "sip:bob@example.com",
    password: "b-secret",
    port: P(2),
    outboundProxy: proxy,
  });
  try {
    const ra = await alice.register();
    equal(ra.status, 200);
    ok(ra.expires > 0 && ra.expires <= 3600);
    equal((await bob.register()).status, 200);
    equal(alice.registered, true);
    const bindings = await server.location.lookup("sip:bob@example.com");
    equal(bindings.length, 1);
    equal(bindings[0]!.uri, bob.contact);

    const heard = new WavSink();
    const incoming = once<Call>((fn) => bob.on("incoming", fn));
    const events: string[] = [];
    const call = await alice.call("sip:bob@example.com", { source: new ToneSource(440) });
    call.on("ringing", () => events.push("ringing"));
    call.on("answered", () => events.push("answered"));
    const bobCall = await withTimeout(incoming, 5000, "incoming call");
    equal(bobCall.direction, "incoming");
    equal(bobCall.remote, "sip:alice@example.com");
    equal(bobCall.remoteName, "Alice");
    equal(bobCall.state, "ringing");
    const digits: string[] = [];
    bobCall.on("dtmf", (d) => digits.push(d));
    await bobCall.accept({ sink: heard, source: new ToneSource(1000) });
    await withTimeout(call.answered, 5000, "answer");
    equal(call.state, "answered");
    equal(call.media?.encoding, "PCMU");
    equal(call.media?.dtmfPayloadType, 101);
    equal(call.media?.direction, "sendrecv");
    ok(events.includes("ringing"), `events: ${events}`);
    equal(events.at(-1), "answered");

    // RFC 4733 telephone events
    await call.sendDtmf("1#9");
    await sleep(200);
    equal(digits.join(""), "1#9");
    equal(bobCall.digits, "1#9");

    // RFC 3428 MESSAGE through the proxy
    const got = once<{ from: string; text: string }>((fn) => bob.on("message", fn));
    equal(await alice.message("sip:bob@example.com", "hello, bob"), 200);
    const m = await withTimeout(got, 2000, "message");
    equal(m.from, "sip:alice@example.com");
    equal(m.text, "hello, bob");

    await sleep(600);
    // The recording holds alice's 440 Hz tone, not bob's own 1000 Hz.
    const samples = heard.samples;
    ok(samples.length >= 8000, `only ${samples.length} samples recorded`);
    const tail = samples.subarray(samples.length - 4000);
    const p440 = goertzel(tail, 440);
    const p1000 = goertzel(tail, 1000);
    const p700 = goertzel(tail, 700);
    ok(p440 > 50 * p1000 && p440 > 50 * p700, `440: ${p440}, 1000: ${p1000}, 700: ${p700}`);
    ok(call.stats().packetsSent > 20);
    ok(call.stats().packetsReceived > 20);

    // Hang-up ends both sides (BYE through the record-routed path).
    const bobEnded = bobCall.ended;
    await call.hangup();
    equal(call.state, "ended");
    equal(await withTimeout(bobEnded, 3000, "BYE at bob"), "BYE received");
    equal(bobCall.state, "ended");
    equal(alice.calls.length, 0);
    equal(bob.calls.length, 0);

    await alice.unregister();
    equal((await server.location.lookup("sip:alice@example.com")).length, 0);
    equal(alice.registered, false);
  } finally {
    await alice.close();
    await bob.close();
    await server.close();
  }
});

Deno.test("SipClient.register() fails with SipClientError on a wrong password (RFC 3261 §22.2)", async () => {
  const server = await startServer(P(3), { alice: "right" });
  const alice = await SipClient.start({
    aor: "sip:alice@example.com",
    password: "wrong",
    port: P(4),
    outboundProxy: `sip:${HOST}:${P(3)}`,
  });
  try {
    const err = await alice.register().catch((x: unknown) => x);
    ok(err instanceof SipClientError);
    ok(err.status === 401 || err.status === 403, `status ${err.status}`);
    equal(alice.registered, false);
  } finally {
    await alice.close();
    await server.close();
  }
});

Deno.test("SipClient raises a short interval to Min-Expires and refreshes the binding (RFC 3261 §10.2.8, §10.2.4)", async () => {
  const server = await startServer(P(5), undefined, 2);
  const alice = await SipClient.start({
    aor: "sip:alice@example.com",
    port: P(6),
    outboundProxy: `sip:${HOST}:${P(5)}`,
    expires: 1,
  });
  try {
    const registrations: number[] = [];
    alice.on("registered", (s) => registrations.push(s));
    const r = await alice.register();
    equal(r.expires, 2);
    await sleep(1400);
    ok(registrations.length >= 2, `registrations: ${registrations}`);
    equal((await server.location.lookup("sip:alice@example.com")).length, 1);
  } finally {
    await alice.close();
    await server.close();
  }
});

Deno.test("SipClient emits registration-failed when a refresh is refused (RFC 3261 §10.2.4)", async () => {
  let server = await startServer(P(23), { alice: "old" }, 2);
  const alice = await SipClient.start({
    aor: "sip:alice@example.com",
    password: "old",
    port: P(25),
    outboundProxy: `sip:${HOST}:${P(23)}`,
    expires: 2,
  });
  try {
    equal((await alice.register()).expires, 2);
    // The server restarts with another password: the refresh in 1 s fails.
    await server.close();
    server = await startServer(P(23), { alice: "new" }, 2);
    const failed = once<SipClientError>((fn) => alice.on("registration-failed", fn));
    const e = await withTimeout(failed, 3000, "registration-failed");
    ok(e.status === 401 || e.status === 403, `status ${e.status}`);
    equal(alice.registered, false);
  } finally {
    await alice.close();
    await server.close();
  }
});

Deno.test("Call: reject, no listener, and cancel before the answer (RFC 3261 §13.3.1.3, §9.1)", async () => {
  const bob = await SipClient.start({ aor: "sip:bob@127.0.0.1", port: P(7) });
  const alice = await SipClient.start({ aor: "sip:alice@127.0.0.1", port: P(8) });
  try {
    // No incoming listener: 480 Temporarily Unavailable.
    const c0 = await alice.call(`sip:bob@${HOST}:${P(7)}`);
    const e0 = await c0.answered.catch((x: unknown) => x);
    ok(e0 instanceof SipClientError);
    equal(e0.status, 480);
    equal(await c0.ended, "480 Temporarily Unavailable");

    // Rejected: 486 Busy Here.
    const reject = (call: Call) => call.reject(486);
    bob.on("incoming", reject);
    const c1 = await alice.call(`sip:bob@${HOST}:${P(7)}`);
    equal(await c1.ended, "486 Busy Here");
    equal(c1.state, "ended");
    bob.off("incoming", reject);

    // Cancelled while ringing: both sides end.
    const incoming = once<Call>((fn) => bob.on("incoming", fn));
    const c2 = await alice.call(`sip:bob@${HOST}:${P(7)}`);
    const ringing = once<number>((fn) => c2.on("ringing", fn));
    const b2 = await withTimeout(incoming, 3000, "incoming");
    equal(await withTimeout(ringing, 3000, "ringing"), 180);
    equal(c2.state, "ringing");
    await c2.hangup();
    equal(c2.state, "ended");
    equal(await withTimeout(b2.ended, 3000, "cancel at bob"), "cancelled");
    await rejects(b2.accept(), SipClientError);
  } finally {
    await alice.close();
    await bob.close();
  }
});

Deno.test("Call.hold() and resume() re-INVITE with sendonly and sendrecv (RFC 3261 §14, RFC 3264 §8.4)", async () => {
  const bob = await SipClient.start({ aor: "sip:bob@127.0.0.1", port: P(9) });
  const alice = await SipClient.start({ aor: "sip:alice@127.0.0.1", port: P(10) });
  try {
    const holds: boolean[] = [];
    const accepted = Promise.withResolvers<Call>();
    bob.on("incoming", async (call) => {
      call.on("hold", (h) => holds.push(h));
      await call.accept();
      accepted.resolve(call);
    });
    const call = await alice.call(`sip:bob@${HOST}:${P(9)}`, { source: new ToneSource(300) });
    await withTimeout(call.answered, 3000, "answer");
    const b = await accepted.promise;
    const holding = call.hold();
    await rejects(call.resume(), /in progress/);
    await holding;
    equal(call.held, true);
    equal(call.media?.direction, "sendonly");
    equal(b.media?.direction, "recvonly");
    await call.resume();
    equal(call.held, false);
    equal(call.media?.direction, "sendrecv");
    equal(holds.join(), "true,false");
    // An in-dialog MESSAGE (RFC 3428 §4)
    const got = once<{ text: string }>((fn) => bob.on("message", fn));
    equal(await call.message("in the call"), 200);
    equal((await got).text, "in the call");
    // The callee hangs up this time.
    await b.hangup();
    equal(await withTimeout(call.ended, 3000, "BYE at alice"), "BYE received");
  } finally {
    await alice.close();
    await bob.close();
  }
});

Deno.test("SipClient MESSAGE: 415 for an unknown type, 1300-byte limit over UDP (RFC 3428 §7, §8)", async () => {
  const bob = await SipClient.start({ aor: "sip:bob@127.0.0.1", port: P(11) });
  const alice = await SipClient.start({ aor: "sip:alice@127.0.0.1", port: P(12) });
  try {
    bob.on("message", () => {});
    const target = `sip:bob@${HOST}:${P(11)}`;
    const err = await alice.message(target, new Uint8Array([1, 2]), "application/x-unknown")
      .catch((x: unknown) => x);
    ok(err instanceof SipClientError);
    equal(err.status, 415);
    await rejects(alice.message(target, "x".repeat(1300)), RangeError);
    await rejects(alice.message("bob@nowhere", "hi"), TypeError);
    await rejects(alice.call("tel:+15551234"), /not a sip: or sips: URI/);
    equal(await alice.message(target, "ü".repeat(300)), 200);
  } finally {
    await alice.close();
    await bob.close();
  }
});

Deno.test("SipClient.close() hangs up its calls; the peer sees BYE (RFC 3261 §15.1)", async () => {
  const bob = await SipClient.start({ aor: "sip:bob@127.0.0.1", port: P(13) });
  const alice = await SipClient.start({ aor: "sip:alice@127.0.0.1", port: P(14) });
  try {
    const accepted = Promise.withResolvers<Call>();
    bob.on("incoming", async (call) => {
      await call.accept();
      accepted.resolve(call);
    });
    const call = await alice.call(`sip:bob@${HOST}:${P(13)}`);
    await withTimeout(call.answered, 3000, "answer");
    const b = await accepted.promise;
    await alice.close();
    equal(call.state, "ended");
    equal(await withTimeout(b.ended, 3000, "BYE"), "BYE received");
    await rejects(alice.call(`sip:bob@${HOST}:${P(13)}`), /closed/);
  } finally {
    await alice.close();
    await bob.close();
  }
});

Deno.test("SipClient over TCP: a call and a message (RFC 3261 §18)", async () => {
  const bob = await SipClient.start({ aor: "sip:bob@127.0.0.1", port: P(17), transport: "tcp" });
  const wire: string[] = [];
  const alice = await SipClient.start({
    aor: "sip:alice@127.0.0.1",
    port: P(18),
    transport: "tcp",
    trace: (dir, text, _host, port) => wire.push(`${dir} ${port} ${text.split("\r\n")[0]}`),
  });
  try {
    equal(bob.contact, `sip:bob@127.0.0.1:${P(17)};transport=tcp`);
    const text = once<string>((fn) => bob.on("message", (m) => fn(m.text)));
    bob.on("incoming", (call) => call.accept());
    const target = `sip:bob@${HOST}:${P(17)};transport=tcp`;
    const call = await alice.call(target);
    await withTimeout(call.answered, 3000, "answer over TCP");
    equal(await alice.message(target, "over tcp"), 200);
    equal(await text, "over tcp");
    await call.hangup();
    equal(call.state, "ended");
    // The trace saw every request sent and the final responses, all on the TCP peer's port.
    deepEqual(wire.filter((l) => l.startsWith("sent")).map((l) => l.split(" ")[2]), [
      "INVITE",
      "ACK",
      "MESSAGE",
      "BYE",
    ]);
    equal(wire.filter((l) => l.startsWith("received") && l.includes(" 200 OK")).length, 3);
    ok(wire.every((l) => l.split(" ")[1] === `${P(17)}`), wire.join("\n"));
  } finally {
    await alice.close();
    await bob.close();
  }
});

interopTest(
  "SipClient calls a SIPp UAS (sipp -sn uas), which answers and takes the BYE",
  [{ bin: "sipp", apt: "sip-tester" }],
  async () => {
    await using sipp = startPeer("sipp", [
      "-sn",
      "uas",
      "-i",
      HOST,
      "-mi",
      HOST,
      "-p",
      `${P(15)}`,
      "-m",
      "1",
      "-nostdin",
    ]);
    await sleep(500);
    const alice = await SipClient.start({ aor: "sip:alice@127.0.0.1", port: P(16) });
    try {
      const call = await alice.call(`sip:service@${HOST}:${P(15)}`, {
        source: new ToneSource(440),
      });
      await withTimeout(call.answered, 5000, "SIPp answer");
      equal(call.state, "answered");
      equal(call.media?.encoding, "PCMU");
      await sleep(300);
      const reason = await call.hangup();
      equal(reason, "BYE sent");
      const status = await withTimeout(sipp.child.status, 10000, "SIPp exit");
      equal(status.code, 0, sipp.output().slice(-2000));
    } finally {
      await alice.close();
    }
  },
  { timeout: 30_000 },
);

interopTest(
  "A SIPp UAC (sipp -sn uac) calls SipClient, which answers and takes the BYE",
  [{ bin: "sipp", apt: "sip-tester" }],
  async () => {
    const bob = await SipClient.start({ aor: "sip:service@127.0.0.1", port: P(19) });
    try {
      const incoming = once<Call>((fn) => bob.on("incoming", fn));
      bob.on("incoming", (call) => call.accept());
      await using sipp = startPeer("sipp", [
        "-sn",
        "uac",
        `${HOST}:${P(19)}`,
        "-i",
        HOST,
        "-mi",
        HOST,
        "-p",
        `${P(20)}`,
        "-m",
        "1",
        "-timeout",
        "20s",
        "-nostdin",
      ]);
      const call = await withTimeout(incoming, 10_000, "INVITE from SIPp");
      equal(await withTimeout(call.ended, 10_000, "BYE from SIPp"), "BYE received");
      equal(call.media?.encoding, "PCMU");
      const status = await withTimeout(sipp.child.status, 10_000, "SIPp exit");
      equal(status.code, 0, sipp.output().slice(-2000));
    } finally {
      await bob.close();
    }
  },
  { timeout: 30_000 },
);

interopTest(
  "A SIPp UAC sends an offerless INVITE: SipClient offers in the 200 OK, takes the answer from the ACK (RFC 3264 §4)",
  [{ bin: "sipp", apt: "sip-tester" }],
  async () => {
    const bob = await SipClient.start({ aor: "sip:service@127.0.0.1", port: P(21) });
    try {
      const answered = Promise.withResolvers<Call>();
      bob.on("incoming", async (call) => {
        await call.accept();
        answered.resolve(call);
      });
      await using sipp = startPeer("sipp", [
        "-sf",
        new URL("./testdata/sipp_uac_offerless.xml", import.meta.url).pathname,
        `${HOST}:${P(21)}`,
        "-i",
        HOST,
        "-mi",
        HOST,
        "-mp",
        `${P(26)}`,
        "-p",
        `${P(22)}`,
        "-m",
        "1",
        "-timeout",
        "20s",
        "-nostdin",
      ]);
      const call = await withTimeout(answered.promise, 10_000, "ACK with the answer");
      equal(call.media?.encoding, "PCMU");
      equal(call.media?.remotePort, P(26));
      equal(await withTimeout(call.ended, 10_000, "BYE from SIPp"), "BYE received");
      const status = await withTimeout(sipp.child.status, 10_000, "SIPp exit");
      equal(status.code, 0, sipp.output().slice(-2000));
    } finally {
      await bob.close();
    }
  },
  { timeout: 30_000 },
);

Deno.test("SipClient.close() right after a rejected call still sends the ACK (RFC 3261 §17.1.1.3)", async () => {
  const acked = Promise.withResolvers<void>();
  await using bob = await SipClient.start({
    aor: "sip:bob@127.0.0.1",
    port: 0,
    trace: (direction, text) => {
      if (direction === "received" && text.startsWith("ACK ")) acked.resolve();
    },
  });
  bob.on("incoming", (call) => call.reject(486));
  const alice = await SipClient.start({ aor: "sip:alice@127.0.0.1", port: 0 });
  const call = await alice.call(`sip:bob@127.0.0.1:${bob.port}`);
  await rejects(call.answered, /486 Busy Here/);
  await alice.close(); // at once: the ACK was handed to the socket just before
  await withTimeout(acked.promise, 2000, "the ACK of the 486");
});
