// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { interopTest, run, startPeer, withTimeout } from "@rtclite/testing";
import {
  RTMPT_CONTENT_TYPE,
  RtmptError,
  RtmptHandler,
  type RtmpTransport,
  RtmptSession,
  serveRtmpt,
} from "./rtmpt.ts";
import { encodeFlvHeader, encodeFlvTag, type FlvTagType, MessageType } from "./rtmp/mod.ts";
import { RtmpClient, serveRtmp } from "./rtmp/net.ts";

// === RtmptSession ===

Deno.test("RtmptSession accepts increasing sequence numbers and refuses repeats", () => {
  const s = new RtmptSession("x");
  equal(s.lastSequence, -1);
  s.send(0, new Uint8Array([1]));
  s.idle(1);
  s.idle(5); // gaps are allowed
  equal(s.lastSequence, 5);
  throws(() => s.idle(5), RtmptError);
  throws(() => s.send(3, new Uint8Array(1)), /sequence number: got 3, expected more than 5/);
  throws(() => s.idle(Number.MAX_SAFE_INTEGER + 2), RtmptError);
  throws(() => s.idle(1), (e) => e instanceof RtmptError && e.status === 400);
});

Deno.test("RtmptSession queues input in order and output behind the polling byte", () => {
  const s = new RtmptSession("x");
  s.send(1, new Uint8Array([1, 2]));
  s.send(2, new Uint8Array([3]));
  deepEqual(s.takeInput(), new Uint8Array([1, 2, 3]));
  deepEqual(s.takeInput(), new Uint8Array());
  s.output(new Uint8Array([7, 8]));
  s.output(new Uint8Array([9]));
  equal(s.buffered, 3);
  deepEqual(s.respond(), new Uint8Array([1, 7, 8, 9]));
  equal(s.buffered, 0);
});

Deno.test("RtmptSession backs off the polling interval on empty polls and resets on data", () => {
  const s = new RtmptSession("x", { maxPollingInterval: 4 });
  const intervals: number[] = [];
  for (let i = 1; i <= 6; i++) {
    s.idle(i);
    intervals.push(s.respond()[0]!);
  }
  deepEqual(intervals, [2, 3, 4, 4, 4, 4]);
  s.output(new Uint8Array([5]));
  s.idle(7);
  deepEqual(s.respond(), new Uint8Array([1, 5]));
  s.idle(8);
  equal(s.respond()[0], 2);
  s.send(9, new Uint8Array([1])); // client data also counts as activity
  equal(s.respond()[0], 1);
});

Deno.test("RtmptSession splits output larger than maxResponseSize over several responses", () => {
  const s = new RtmptSession("x", { maxResponseSize: 3 });
  s.output(new Uint8Array([1, 2]));
  s.output(new Uint8Array([3, 4, 5, 6]));
  deepEqual(s.respond(), new Uint8Array([1, 1, 2, 3]));
  deepEqual(s.respond(), new Uint8Array([1, 4, 5, 6]));
  deepEqual(s.respond(), new Uint8Array([2]));
});

Deno.test("RtmptSession bounds buffered output", () => {
  const s = new RtmptSession("x", { maxBuffered: 4 });
  s.output(new Uint8Array(4));
  throws(() => s.output(new Uint8Array(1)), /5 bytes would wait, limit 4/);
});

Deno.test("RtmptSession expires after the timeout with an injected clock", () => {
  let now = 1000;
  const s = new RtmptSession("x", { now: () => now, timeout: 500 });
  now = 1500;
  equal(s.expired, false);
  s.idle(1); // activity moves the deadline
  now = 1900;
  equal(s.expired, false);
  now = 2001;
  equal(s.expired, true);
});

Deno.test("RtmptSession close ends it; later requests get 404", () => {
  const s = new RtmptSession("x");
  s.close(1);
  equal(s.closed, true);
  throws(() => s.idle(2), (e) => e instanceof RtmptError && e.status === 404);
});

Deno.test("RtmptSession closed by the server still answers until its output is polled", () => {
  const s = new RtmptSession("x");
  s.output(new Uint8Array([1]));
  s.end();
  s.idle(1);
  deepEqual(s.respond(), new Uint8Array([1, 1]));
  throws(() => s.idle(2), (e) => e instanceof RtmptError && e.status === 404);
});

// === RtmptHandler with a fake backend ===

/** A backend that echoes every byte the client sends and records its transports. */
class EchoBackend {
  transports: RtmpTransport[] = [];
  refuse = false;
  attach(t: RtmpTransport): boolean {
    if (this.refuse) return false;
    this.transports.push(t);
    (async () => {
      const buf = new Uint8Array(1024);
      for (;;) {
        const n = await t.read(buf);
        if (n === null) break;
        await t.write(buf.slice(0, n));
      }
    })();
    return true;
  }
}

function post(h: RtmptHandler, path: string, body: Uint8Array | string = "\0", method = "POST") {
  return h.fetch(
    new Request(`http://127.0.0.1${path}`, {
      method,
      ...(method === "GET" ? {} : { body: body as BodyInit }),
      headers: { "content-type": RTMPT_CONTENT_TYPE },
    }),
  );
}

async function open(h: RtmptHandler): Promise<string> {
  const res = await post(h, "/open/1");
  equal(res.status, 200);
  equal(res.headers.get("content-type"), RTMPT_CONTENT_TYPE);
  const text = await res.text();
  match(text, /^[0-9a-f]{16}\n$/);
  return text.trim();
}

async function bytes(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

Deno.test("RtmptHandler runs open, send, idle and close against a backend", async () => {
  const backend = new EchoBackend();
  await using h = new RtmptHandler({ backend, sweepInterval: 0 });
  const id = await open(h);
  equal(h.sessions, 1);
  const r1 = await post(h, `/send/${id}/0`, new Uint8Array([10, 11, 12]));
  equal(r1.status, 200);
  deepEqual(await bytes(r1), new Uint8Array([1, 10, 11, 12]));
  deepEqual(await bytes(await post(h, `/idle/${id}/1`)), new Uint8Array([2]));
  deepEqual(await bytes(await post(h, `/idle/${id}/2`)), new Uint8Array([3]));
  const closed = await post(h, `/close/${id}/3`);
  equal(closed.status, 200);
  deepEqual(await bytes(closed), new Uint8Array([0]));
  equal(h.sessions, 0);
  equal((await post(h, `/idle/${id}/4`)).status, 404);
  // The backend saw the end of its transport.
  equal(await backend.transports[0]!.read(new Uint8Array(1)), null);
});

Deno.test("RtmptHandler answers bad requests with the right status", async (t) => {
  const backend = new EchoBackend();
  await using h = new RtmptHandler({ backend, sweepInterval: 0, maxBodySize: 16 });
  const id = await open(h);
  const cases: [string, string, Uint8Array | string, string, number][] = [
    ["GET is refused", "GET", "", "/open/1", 405],
    ["ident2 probe", "POST", "\0", "/fcs/ident2", 404],
    ["unknown command", "POST", "\0", `/poll/${id}/1`, 404],
    ["unknown session", "POST", "\0", "/idle/0000000000000000/1", 404],
    ["missing sequence", "POST", "\0", `/idle/${id}`, 404],
    ["non-numeric sequence", "POST", "\0", `/idle/${id}/x`, 404],
    ["open with another number", "POST", "\0", "/open/2", 404],
    ["body too large", "POST", new Uint8Array(17), `/send/${id}/1`, 413],
    ["root", "POST", "", "/", 404],
  ];
  for (const [name, method, body, path, status] of cases) {
    await t.step(name, async () => {
      const res = await post(h, path, body, method);
      equal(res.status, status);
      await res.body?.cancel();
    });
  }
  const ok1 = await post(h, `/idle/${id}/7`);
  equal(ok1.status, 200);
  await ok1.body?.cancel();
  const repeat = await post(h, `/idle/${id}/7`);
  equal(repeat.status, 400);
  match(await repeat.text(), /sequence/);
  equal(h.sessions, 1);
});

Deno.test("RtmptHandler limits sessions and reports a refusing backend", async () => {
  const backend = new EchoBackend();
  await using h = new RtmptHandler({ backend, sweepInterval: 0, maxSessions: 2 });
  await open(h);
  await open(h);
  const full = await post(h, "/open/1");
  equal(full.status, 503);
  await full.body?.cancel();
  await using h2 = new RtmptHandler({ backend, sweepInterval: 0 });
  backend.refuse = true;
  const refused = await post(h2, "/open/1");
  equal(refused.status, 503);
  await refused.body?.cancel();
  equal(h2.sessions, 0);
});

Deno.test("RtmptHandler sweeps sessions idle longer than the timeout", async () => {
  let now = 0;
  const backend = new EchoBackend();
  await using h = new RtmptHandler({
    backend,
    now: () => now,
    sessionTimeout: 1000,
    sweepInterval: 0,
  });
  const a = await open(h);
  now = 600;
  const b = await open(h);
  now = 1200;
  equal(h.sweep(), 1); // a expired, b not yet
  equal(h.sessions, 1);
  const gone = await post(h, `/idle/${a}/1`);
  equal(gone.status, 404);
  await gone.body?.cancel();
  const alive = await post(h, `/idle/${b}/1`);
  equal(alive.status, 200);
  await alive.body?.cancel();
  now = 2300;
  equal(h.sweep(), 1);
  equal(h.sessions, 0);
});

Deno.test("RtmptHandler never throws on random paths and bodies", async () => {
  const backend = new EchoBackend();
  await using h = new RtmptHandler({ backend, sweepInterval: 0, maxBodySize: 64 });
  const id = await open(h);
  const paths = [
    "/send",
    `/send/${id}/-1`,
    `/send/${id}/1e3`,
    "/%00",
    "/open/1/2",
    `//send/${id}/1`,
  ];
  for (let i = 0; i < 50; i++) {
    const path = paths[i % paths.length]! + (i > 6 ? `/${i}` : "");
    const body = crypto.getRandomValues(new Uint8Array(i * 3));
    const res = await post(h, path, body);
    ok(res.status >= 200 && res.status < 600);
    await res.body?.cancel();
  }
});

Deno.test("RtmptHandler carries an RTMP handshake and connect through the tunnel to serveRtmp", async () => {
  await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
  await using h = new RtmptHandler({ backend: server, sweepInterval: 0 });
  // The RTMPT side is driven through RtmpConnection from rtmp.ts.
  const { RtmpConnection, encodeCommand, decodeCommand } = await import("./rtmp/mod.ts");
  const id = await open(h);
  let seq = 0;
  const client = new RtmpConnection("client");
  const exchange = async (cmd: "send" | "idle") => {
    const out = cmd === "send" ? client.takeOutput() : "\0";
    const res = await post(h, `/${cmd}/${id}/${seq++}`, out);
    const body = await bytes(res);
    return client.receive(body.subarray(1));
  };
  await exchange("send"); // C0+C1 -> S0+S1+S2
  client.send(
    encodeCommand({ name: "connect", transactionId: 1, object: { app: "live" }, args: [] }),
  );
  const got = await exchange("send");
  for (let i = 0; i < 5 && !got.some((m) => m.type === MessageType.COMMAND_AMF0); i++) {
    got.push(...await exchange("idle"));
  }
  const result = got.find((m) => m.type === MessageType.COMMAND_AMF0);
  ok(result);
  equal(decodeCommand(result).name, "_result");
  equal(server.connections, 1);
  await post(h, `/close/${id}/${seq++}`);
  for (let i = 0; i < 50 && server.connections; i++) await new Promise((r) => setTimeout(r, 20));
  equal(server.connections, 0);
});

// === serveRtmpt (HTTP/1.1) ===

async function exchangeRaw(port: number, request: string | Uint8Array): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const bytes = typeof request === "string" ? new TextEncoder().encode(request) : request;
    await conn.write(bytes);
    let out = "";
    const buf = new Uint8Array(65536);
    const dec = new TextDecoder();
    for (;;) {
      const n = await withTimeout(conn.read(buf), 5000, "HTTP response");
      if (n === null) break;
      out += dec.decode(buf.subarray(0, n), { stream: true });
      if (/Connection: Keep-Alive\r\n\r\n[^]*\n$/.test(out) && out.split("HTTP/1.1").length > 2) {
        break;
      }
    }
    return out;
  } finally {
    conn.close();
  }
}

Deno.test("serveRtmpt answers pipelined keep-alive requests with capitalised header names", async () => {
  const backend = new EchoBackend();
  await using handler = new RtmptHandler({ backend, sweepInterval: 0 });
  await using http = serveRtmpt({ handler, hostname: "127.0.0.1", port: 0 });
  const head = "Host: x\r\nContent-Type: application/x-fcs\r\nContent-Length: 1\r\n\r\n\0";
  const out = await exchangeRaw(
    http.addr.port,
    `POST /fcs/ident2 HTTP/1.1\r\n${head}POST /open/1 HTTP/1.1\r\n${head}`,
  );
  const responses = out.split(/(?=HTTP\/1\.1 )/);
  equal(responses.length, 2);
  match(responses[0]!, /^HTTP\/1\.1 404 Not Found\r\n/);
  match(responses[1]!, /^HTTP\/1\.1 200 OK\r\n/);
  match(responses[1]!, /\r\nContent-Length: 17\r\n/);
  match(responses[1]!, /\r\nContent-Type: application\/x-fcs\r\n/);
  match(responses[1]!, /\r\n\r\n[0-9a-f]{16}\n$/);
  equal(handler.sessions, 1);
});

Deno.test("serveRtmpt carries a large body in many reads and refuses an oversized one", async () => {
  const backend = new EchoBackend();
  await using handler = new RtmptHandler({ backend, sweepInterval: 0 });
  await using http = serveRtmpt({
    handler,
    hostname: "127.0.0.1",
    port: 0,
    maxBodySize: 300_000,
  });
  const base = `http://127.0.0.1:${http.addr.port}`;
  const id = (await (await fetch(`${base}/open/1`, { method: "POST", body: "\0" })).text()).trim();
  const data = new Uint8Array(200_000).map((_, i) => i * 7);
  let got = new Uint8Array(
    await (await fetch(`${base}/send/${id}/1`, { method: "POST", body: data }))
      .arrayBuffer(),
  ).subarray(1);
  for (let seq = 2; got.length < data.length && seq < 20; seq++) {
    const more = new Uint8Array(
      await (await fetch(`${base}/idle/${id}/${seq}`, { method: "POST", body: "\0" }))
        .arrayBuffer(),
    );
    got = new Uint8Array([...got, ...more.subarray(1)]);
  }
  deepEqual(got, data);
  const big = await fetch(`${base}/send/${id}/30`, {
    method: "POST",
    body: new Uint8Array(300_001),
  });
  equal(big.status, 413);
  await big.body?.cancel();
});

Deno.test("serveRtmpt refuses malformed HTTP and stays up", async (t) => {
  const backend = new EchoBackend();
  await using handler = new RtmptHandler({ backend, sweepInterval: 0 });
  await using http = serveRtmpt({ handler, hostname: "127.0.0.1", port: 0, maxHeaderSize: 256 });
  const cases: [string, string, RegExp][] = [
    ["bad request line", "HELLO\r\n\r\n", /^HTTP\/1\.1 400 /],
    ["bad header", "POST /open/1 HTTP/1.1\r\nno colon\r\n\r\n", /^HTTP\/1\.1 400 /],
    [
      "bad length",
      "POST /open/1 HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      /^HTTP\/1\.1 400 /,
    ],
    [
      "chunked",
      "POST /open/1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      /^HTTP\/1\.1 501 /,
    ],
    [
      "head too large",
      `POST /open/1 HTTP/1.1\r\nX: ${"a".repeat(400)}\r\n\r\n`,
      /^HTTP\/1\.1 431 /,
    ],
    ["GET", "GET /open/1 HTTP/1.1\r\nConnection: close\r\n\r\n", /^HTTP\/1\.1 405 /],
  ];
  for (const [name, request, expected] of cases) {
    await t.step(name, async () => {
      match(await exchangeRaw(http.addr.port, request), expected);
    });
  }
  const res = await fetch(`http://127.0.0.1:${http.addr.port}/open/1`, {
    method: "POST",
    body: "\0",
  });
  equal(res.status, 200);
  await res.body?.cancel();
});

// === Interop ===

interopTest(
  "ffmpeg publishes over RTMPT, an RTMP client plays from the shared server, ffprobe finds audio and video",
  [{ bin: "ffmpeg", apt: "ffmpeg" }, { bin: "ffprobe", apt: "ffmpeg" }],
  async () => {
    await using server = serveRtmp({ hostname: "127.0.0.1", port: 19401 });
    await using rtmpt = new RtmptHandler({ backend: server });
    await using _http = Deno.serve(
      { hostname: "127.0.0.1", port: 19400, onListen() {} },
      rtmpt.fetch,
    );
    const player = await RtmpClient.connect("rtmp://127.0.0.1:19401/live");
    await player.play("test");
    const dir = await Deno.makeTempDir();
    try {
      await using ffmpeg = startPeer("ffmpeg", [
        "-hide_banner",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=15",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-t",
        "3",
        "-c:v",
        "flv1",
        "-c:a",
        "aac",
        "-f",
        "flv",
        "rtmpt://127.0.0.1:19400/live/test",
      ]);
      const tags: Uint8Array[] = [encodeFlvHeader({ version: 1, audio: true, video: true })];
      let audio = 0;
      let video = 0;
      let base: number | undefined;
      const reading = (async () => {
        for await (const m of player.messages()) {
          if (m.type !== MessageType.AUDIO && m.type !== MessageType.VIDEO) continue;
          if (m.type === MessageType.AUDIO) audio++;
          else video++;
          base ??= m.timestamp;
          tags.push(
            encodeFlvTag({
              type: m.type as FlvTagType,
              timestamp: Math.max(0, m.timestamp - base),
              data: m.payload,
            }),
          );
          if (audio > 40 && video > 30) break;
        }
      })();
      const status = await withTimeout(ffmpeg.child.status, 15_000, "ffmpeg to finish");
      await Promise.race([reading, new Promise((r) => setTimeout(r, 1000))]);
      player.close();
      ok(video > 10, `video messages received: ${video}; ffmpeg said: ${ffmpeg.output()}`);
      ok(audio > 10, `audio messages received: ${audio}`);
      equal(status.code, 0, ffmpeg.output());
      const file = `${dir}/got.flv`;
      let size = 0;
      for (const t of tags) size += t.length;
      const all = new Uint8Array(size);
      let off = 0;
      for (const t of tags) {
        all.set(t, off);
        off += t.length;
      }
      await Deno.writeFile(file, all);
      const probe = await run("ffprobe", [
        "-v",
        "error",
        "-show_entries",
        "stream=codec_type,codec_name",
        "-of",
        "csv=p=0",
        file,
      ], { stdout: "piped", stderr: "piped", timeout: 10_000 });
      match(probe.stdout, /flv1,video/);
      match(probe.stdout, /aac,audio/);
    } finally {
      player.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeout: 30_000 },
);

interopTest(
  "ffmpeg publishes over RTMP; rtmpdump (serveRtmpt) and ffmpeg (Deno.serve) play over RTMPT",
  [{ bin: "ffmpeg", apt: "ffmpeg" }, { bin: "ffprobe", apt: "ffmpeg" }, {
    bin: "rtmpdump",
    apt: "rtmpdump",
  }],
  async () => {
    await using server = serveRtmp({ hostname: "127.0.0.1", port: 19404 });
    await using rtmpt = new RtmptHandler({ backend: server });
    await using _raw = serveRtmpt({ handler: rtmpt, hostname: "127.0.0.1", port: 19402 });
    await using _http = Deno.serve(
      { hostname: "127.0.0.1", port: 19403, onListen() {} },
      rtmpt.fetch,
    );
    const dir = await Deno.makeTempDir();
    try {
      await using publisher = startPeer("ffmpeg", [
        "-hide_banner",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=15",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-t",
        "6",
        "-c:v",
        "flv1",
        "-g",
        "15",
        "-c:a",
        "aac",
        "-f",
        "flv",
        "rtmp://127.0.0.1:19404/live/shared",
      ]);
      for (let i = 0; i < 50 && !server.streams.includes("live/shared"); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const [dump, ff] = await Promise.all([
        run("timeout", [
          "8",
          "rtmpdump",
          "-q",
          "--live",
          "--stop",
          "2",
          "-r",
          "rtmpt://127.0.0.1:19402/live/shared",
          "-o",
          `${dir}/dump.flv`,
        ], { stdout: "piped", stderr: "piped", timeout: 10_000 }),
        run("ffmpeg", [
          "-hide_banner",
          "-loglevel",
          "error",
          "-i",
          "rtmpt://127.0.0.1:19403/live/shared",
          "-t",
          "2",
          "-c",
          "copy",
          "-y",
          `${dir}/ff.flv`,
        ], { stdout: "piped", stderr: "piped", timeout: 10_000 }),
      ]);
      equal(ff.code, 0, ff.stderr);
      ok(dump.code === 0 || dump.code === 2, `rtmpdump exit ${dump.code}: ${dump.stderr}`);
      for (const f of ["dump.flv", "ff.flv"]) {
        const probe = await run("ffprobe", [
          "-v",
          "error",
          "-show_entries",
          "stream=codec_type",
          "-of",
          "csv=p=0",
          `${dir}/${f}`,
        ], { stdout: "piped", stderr: "piped", timeout: 10_000 });
        match(probe.stdout, /video/, `${f}: ${probe.stderr}`);
        match(probe.stdout, /audio/, `${f}: ${probe.stderr}`);
      }
      await publisher.stop();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeout: 30_000 },
);
