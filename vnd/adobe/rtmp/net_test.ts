// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { freePort, interopTest, run, startPeer, withTimeout } from "@rtclite/testing";
import { type AmfValue, EcmaArray } from "../amf.ts";
import {
  decodeAudioTagHeader,
  decodeCommand,
  decodeData,
  decodeFlv,
  decodeScriptData,
  decodeVideoTagHeader,
  encodeCommand,
  encodeData,
  encodeFlvHeader,
  encodeFlvTag,
  encodeScriptData,
  type FlvTag,
  Handshake,
  RtmpConnection,
  type RtmpMessage,
  RtmpRejectedError,
  RtmpSessionError,
} from "./mod.ts";
import {
  type RtmpApplication,
  RtmpCallError,
  RtmpClient,
  type RtmpServerSession,
  serveRtmp,
  streamFileName,
} from "./net.ts";
import net from "node:net";

async function assertRejects(
  fn: () => Promise<unknown>,
  type: abstract new (...args: never[]) => Error,
  includes: string,
) {
  await rejects(fn, (e: unknown) => e instanceof type && (e as Error).message.includes(includes));
}

function msg(type: number, streamId: number, timestamp: number, payload: Uint8Array): RtmpMessage {
  return { type, streamId, timestamp, payload };
}

async function collect(client: RtmpClient, type: number, n: number): Promise<RtmpMessage[]> {
  const got: RtmpMessage[] = [];
  for await (const m of client.messages()) {
    if (m.type !== type) continue;
    got.push(m);
    if (got.length === n) break;
  }
  return got;
}

Deno.test("serveRtmp() fans one publisher out to two players, records FLV, drops garbage clients", async () => {
  const dir = await Deno.makeTempDir();
  await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, record: dir });
  const url = `rtmp://127.0.0.1:${server.addr.port}/live`;
  const players = [await RtmpClient.connect(url), await RtmpClient.connect(url)];
  for (const p of players) await p.play("cam");
  const publisher = await RtmpClient.connect(url);
  const id = await publisher.publish("cam");
  assertEquals(server.streams, ["live/cam"]);
  // A second publisher for the same name is refused.
  const rival = await RtmpClient.connect(url);
  await assertRejects(() => rival.publish("cam"), RtmpRejectedError, "BadName");
  rival.close();
  // A client sending garbage after the handshake is dropped; the others keep going.
  const bad = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const hs = new Handshake("client");
  await bad.write(hs.start());
  const buf = new Uint8Array(4096);
  let got = 0;
  while (got < 1 + 2 * 1536) got += (await bad.read(buf)) ?? 0;
  await bad.write(hs.receive(new Uint8Array(0)).length ? new Uint8Array(0) : new Uint8Array(1536));
  await bad.write(new Uint8Array([0x45, 0xff, 0xff, 0xff, 0, 0, 1, 9])); // type 1 on a new chunk stream
  assertEquals(await bad.read(buf), null); // closed by the server
  bad.close();

  publisher.send(encodeData(["@setDataFrame", "onMetaData", { duration: 0 }], id));
  const frames = [0x12, 0x22, 0x22, 0x12]; // H.263 keyframe, inter, inter, keyframe
  frames.forEach((b, i) => publisher.send(msg(9, id, i * 40, new Uint8Array([b, i]))));
  publisher.send(msg(8, id, 0, new Uint8Array([0x2e, 1, 2, 3])));
  for (const p of players) {
    const video = await collect(p, 9, 4);
    assertEquals(video.map((m) => m.payload[1]), [0, 1, 2, 3]);
    assertEquals(video.map((m) => m.timestamp), [0, 40, 80, 120]);
  }
  publisher.close();
  await publisher.closed;
  for (const p of players) p.close();
  await server.close();
  const file = decodeFlv(await Deno.readFile(`${dir}/live%2Fcam.flv`));
  assertEquals(file.tags.map((t) => t.type), [18, 9, 9, 9, 9, 8]);
  assertEquals(decodeScriptData(file.tags[0]!.data)[0], "onMetaData");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("RtmpClient fails with RtmpSessionError when the server is silent or the connection closes", async () => {
  // A TCP peer that never answers the handshake: the connect command times out.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of silent) held.push(c);
  })();
  const e = await RtmpClient.connect(`rtmp://127.0.0.1:${silent.addr.port}/live`, { timeout: 200 })
    .then(() => undefined, (e: unknown) => e);
  assert(e instanceof RtmpSessionError, String(e));
  assertEquals(e.code, "timeout");
  silent.close();
  for (const c of held) c.close();
  await accepting.catch(() => {});
  // A call pending when the connection closes is rejected as closed.
  await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
  const client = await RtmpClient.connect(`rtmp://127.0.0.1:${server.addr.port}/live`);
  const pending = client.call("createStream", null);
  client.close();
  const after = await pending.then(() => undefined, (e: unknown) => e);
  assert(after instanceof RtmpSessionError, String(after));
  assertEquals(after.code, "closed");
});

Deno.test("serveRtmp() drops a client that does not connect in time", async () => {
  await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, connectTimeout: 200 });
  const idle = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const t0 = performance.now();
  assertEquals(await idle.read(new Uint8Array(16)), null);
  assert(performance.now() - t0 < 2000);
  idle.close();
  assertEquals(server.connections, 0);
});

Deno.test("serveRtmp() sends a late player metadata and codec headers, then starts at a keyframe", async () => {
  await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
  const url = `rtmp://127.0.0.1:${server.addr.port}/app`;
  const publisher = await RtmpClient.connect(url);
  const id = await publisher.publish("s");
  publisher.send(encodeData(["@setDataFrame", "onMetaData", { width: 2 }], id));
  publisher.send(msg(9, id, 0, new Uint8Array([0x17, 0, 0, 0, 0, 1, 2])));
  publisher.send(msg(8, id, 0, new Uint8Array([0xaf, 0, 0x12, 0x10])));
  publisher.send(msg(9, id, 40, new Uint8Array([0x17, 1, 0, 0, 0, 9])));
  await publisher.drain();
  await new Promise((r) => setTimeout(r, 100));
  const player = await RtmpClient.connect(url);
  await player.play("s");
  publisher.send(msg(9, id, 80, new Uint8Array([0x27, 1, 0, 0, 0, 8]))); // inter: skipped
  publisher.send(msg(9, id, 120, new Uint8Array([0x17, 1, 0, 0, 0, 7]))); // keyframe
  const got: RtmpMessage[] = [];
  for await (const m of player.messages()) {
    if (m.type === 20) continue;
    got.push(m);
    if (got.length === 4) break;
  }
  assertEquals(got.map((m) => m.type), [18, 9, 8, 9]);
  assertEquals(decodeData(got[0]!), ["onMetaData", { width: 2 }]);
  assertEquals(got[1]!.payload[1], 0); // AVC sequence header
  assertEquals(got[3]!.payload[5], 7);
  publisher.close();
  player.close();
});

// === Attacks on the server (issue 18 item 14), each mounted on loopback ===

/** A TCP socket from a chosen loopback address (Deno.connect cannot pick one). */
function socketFrom(localAddress: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, localAddress }, () => resolve(s));
    s.on("error", reject);
  });
}

function whenClosed(s: net.Socket): Promise<void> {
  return new Promise((r) => s.destroyed ? r() : s.once("close", () => r()));
}

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Publishes `name`, sends one keyframe, and checks that a player gets it. */
async function servedRoundTrip(port: number, name: string): Promise<void> {
  const url = `rtmp://127.0.0.1:${port}/live`;
  const player = await RtmpClient.connect(url, { timeout: 3000 });
  await player.play(name, -1);
  const publisher = await RtmpClient.connect(url, { timeout: 3000 });
  const id = await publisher.publish(name);
  publisher.send(msg(9, id, 0, new Uint8Array([0x12, 7])));
  const [got] = await collect(player, 9, 1);
  assertEquals(got!.payload[1], 7);
  publisher.close();
  player.close();
}

Deno.test("serveRtmp() serves a legitimate client while 1,000 idle sockets from one address knock (per-address cap, handshake deadline)", async () => {
  await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, handshakeTimeout: 2000 });
  const port = server.addr.port;
  let most = 0;
  const sample = setInterval(() => most = Math.max(most, server.connections), 5);
  try {
    const attack = Promise.all(
      Array.from({ length: 1000 }, () => socketFrom("127.0.0.3", port).catch(() => undefined)),
    );
    // The default per-address cap holds 100 of them.
    await waitFor("100 idle connections", () => server.connections === 100);
    // The legitimate client, from another address, is served meanwhile.
    await servedRoundTrip(port, "cam");
    const sockets = (await attack).filter((s): s is net.Socket => s !== undefined);
    assertEquals(sockets.length, 1000);
    // Refused at once or dropped at the handshake deadline: none stays.
    await Promise.all(sockets.map(whenClosed));
    await waitFor("no connections", () => server.connections === 0);
    assert(server.refused >= 800, `${server.refused} refused`);
    assert(most <= 102, `${most} connections at most`); // 100 + the legitimate two
  } finally {
    clearInterval(sample);
  }
});

Deno.test("serveRtmp() closes connected sessions that neither publish nor play, so a legitimate client gets in", async () => {
  await using server = serveRtmp({
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 10,
    idleTimeout: 500,
  });
  const url = `rtmp://127.0.0.1:${server.addr.port}/live`;
  // A publisher stays: publishing is not idle.
  const publisher = await RtmpClient.connect(url);
  const id = await publisher.publish("keep");
  const idle = await Promise.all(Array.from({ length: 9 }, () => RtmpClient.connect(url)));
  assertEquals(server.connections, 10);
  // Full: the next client is refused.
  await rejects(RtmpClient.connect(url, { timeout: 2000 }), RtmpSessionError);
  // The idle sessions are closed after 500 ms; then the legitimate client is served.
  await Promise.all(idle.map((c) => c.closed));
  await servedRoundTrip(server.addr.port, "cam");
  publisher.send(msg(9, id, 0, new Uint8Array([0x12, 1])));
  assert(server.streams.includes("live/keep"), String(server.streams));
  publisher.close();
});

Deno.test("serveRtmp() drops a client trickling its handshake at the deadline, not at each byte", async () => {
  await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, handshakeTimeout: 300 });
  const s = await socketFrom("127.0.0.1", server.addr.port);
  const t0 = performance.now();
  const trickle = setInterval(() => s.write(new Uint8Array([3])), 50);
  await whenClosed(s);
  clearInterval(trickle);
  const took = performance.now() - t0;
  assert(took >= 250 && took < 2000, `closed after ${took} ms`);
});

Deno.test("serveRtmp() caps streams per connection and refuses commands before connect", async () => {
  await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, maxStreams: 3 });
  const client = await RtmpClient.connect(`rtmp://127.0.0.1:${server.addr.port}/live`);
  for (let i = 1; i <= 3; i++) assertEquals(await client.createStream(), i);
  await rejects(
    client.createStream(),
    (e) => e instanceof RtmpRejectedError && e.info?.description === "Too many streams",
  );
  client.close();
  // createStream before connect: the connection is dropped.
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const rtmp = new RtmpConnection("client");
  rtmp.send(encodeCommand({ name: "createStream", transactionId: 1, object: null, args: [] }));
  const buf = new Uint8Array(8192);
  await raw.write(rtmp.takeOutput());
  for (;;) {
    const n = await raw.read(buf);
    if (n === null) break;
    rtmp.receive(buf.subarray(0, n));
    await raw.write(rtmp.takeOutput());
  }
  raw.close();
});

Deno.test("serveRtmp() drops a player that stops reading; the publisher and other players go on", async () => {
  await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, maxQueued: 1024 * 1024 });
  const port = server.addr.port;
  const url = `rtmp://127.0.0.1:${port}/live`;
  // The stalled player: handshake, connect, createStream, play, then it never reads again.
  const raw = await Deno.connect({ hostname: "127.0.0.1", port });
  const rtmp = new RtmpConnection("client");
  const command = (name: string, tid: number, streamId: number, ...args: AmfValue[]) =>
    rtmp.send(
      encodeCommand({
        name,
        transactionId: tid,
        object: name === "connect" ? { app: "live" } : null,
        args,
      }, streamId),
    );
  command("connect", 1, 0);
  command("createStream", 2, 0);
  command("play", 0, 1, "s", -1);
  const buf = new Uint8Array(65536);
  while (!rtmp.connected) {
    await raw.write(rtmp.takeOutput());
    rtmp.receive(buf.subarray(0, (await raw.read(buf))!));
  }
  await raw.write(rtmp.takeOutput());
  const good = await RtmpClient.connect(url);
  await good.play("s", -1);
  await new Promise((r) => setTimeout(r, 100));
  assertEquals(server.connections, 2);
  const publisher = await RtmpClient.connect(url);
  const id = await publisher.publish("s");
  const frame = new Uint8Array(64 * 1024).fill(0x22);
  frame[0] = 0x12;
  let received = 0;
  const reading = (async () => {
    for await (const m of good.messages()) if (m.type === 9 && ++received === 300) return;
  })();
  for (let i = 0; i < 300; i++) {
    frame[1] = i;
    publisher.send(msg(9, id, i * 40, frame));
    // The good player keeps up (it shares this process): at most 8 frames (512 KiB) behind.
    if (i % 4 === 3) await waitFor("the good player", () => received >= i - 8);
  }
  await reading;
  // 19 MiB went out; the stalled player's queue passed 1 MiB (beyond what the kernel buffers).
  await waitFor("the stalled player dropped", () => server.connections === 2).catch((e) => {
    throw new Error(`${e.message}: ${server.connections}`);
  });
  assertEquals(server.streams, ["live/s"]);
  publisher.close();
  good.close();
  raw.close();
});

Deno.test("serveRtmp() drops a client that piles up calls while the application is busy", async () => {
  const never = new Promise<never>(() => {});
  await using server = serveRtmp({
    hostname: "127.0.0.1",
    port: 0,
    application: { onCall: () => never },
  });
  const client = await RtmpClient.connect(`rtmp://127.0.0.1:${server.addr.port}/app`);
  for (let i = 0; i < 40; i++) client.call("slow", null).catch(() => {});
  await client.closed;
  await waitFor("closed on the server", () => server.connections === 0);
});

Deno.test("serveRtmp() records live_a/b and live/a_b to two files and refuses names that leave the directory", async () => {
  const dir = await Deno.makeTempDir();
  const outside = `${dir}/../rtclite-escape-${crypto.randomUUID()}.flv`;
  try {
    await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, record: `${dir}/rec` });
    await Deno.mkdir(`${dir}/rec`);
    const base = `rtmp://127.0.0.1:${server.addr.port}`;
    const a = await RtmpClient.connect(`${base}/live_a`);
    const b = await RtmpClient.connect(`${base}/live`);
    const ida = await a.publish("b");
    const idb = await b.publish("a_b");
    a.send(msg(9, ida, 0, new Uint8Array([0x12, 0xaa])));
    b.send(msg(9, idb, 0, new Uint8Array([0x12, 0xbb])));
    for (const name of ["../x", "a/../../x", `../${outside.split("/").pop()}`, "a\nb", "/abs"]) {
      await rejects(
        b.publish(name),
        (e) => e instanceof RtmpRejectedError && e.code === "NetStream.Publish.BadName",
        name,
      );
    }
    await a.drain();
    await b.drain();
    await new Promise((r) => setTimeout(r, 100));
    a.close();
    b.close();
    await server.close();
    const files = [];
    for await (const e of Deno.readDir(`${dir}/rec`)) files.push(e.name);
    assertEquals(files.sort(), ["live%2Fa%5Fb.flv", "live%5Fa%2Fb.flv"]);
    assertEquals(
      decodeFlv(await Deno.readFile(`${dir}/rec/live%5Fa%2Fb.flv`)).tags[0]!.data[1],
      0xaa,
    );
    assertEquals(
      decodeFlv(await Deno.readFile(`${dir}/rec/live%2Fa%5Fb.flv`)).tags[0]!.data[1],
      0xbb,
    );
    await rejects(Deno.stat(outside), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// === Recorded streams, append, application hook (issue 12) ===

/** An FLV file: metadata, then `frames` video tags 40 ms apart (keyframe every 5th) and audio. */
function movie(frames: number): Uint8Array {
  const tags: FlvTag[] = [
    { type: 18, timestamp: 0, data: encodeScriptData(["onMetaData", { duration: frames * 0.04 }]) },
  ];
  for (let i = 0; i < frames; i++) {
    tags.push({ type: 9, timestamp: i * 40, data: new Uint8Array([i % 5 ? 0x22 : 0x12, i]) });
    tags.push({ type: 8, timestamp: i * 40, data: new Uint8Array([0x2e, i]) });
  }
  return new Uint8Array([
    ...encodeFlvHeader({ version: 1, audio: true, video: true }),
    ...tags.flatMap((t) => [...encodeFlvTag(t)]),
  ]);
}

function statusCode(m: RtmpMessage): string | undefined {
  if (m.type !== 20) return undefined;
  const c = decodeCommand(m);
  return c.name === "onStatus" ? String((c.args[0] as { code?: unknown })?.code) : undefined;
}

Deno.test("serveRtmp() plays a recording by name in real time, pauses, resumes, seeks to 0 and says when it ends (RTMP §7.2.2.1, §7.2.2.7, §7.2.2.8)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/${streamFileName("vod", "movie")}`, movie(60)); // 2.4 s
    await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, vod: dir });
    const client = await RtmpClient.connect(`rtmp://127.0.0.1:${server.addr.port}/vod`);
    assertEquals((await client.call("getStreamLength", null, "movie")).args[0], 2.36);
    assertEquals((await client.call("getStreamLength", null, "nothing")).args[0], 0);
    const t0 = performance.now();
    const id = await client.play("movie");
    const events: { at: number; video?: number; code?: string; data?: string }[] = [];
    let stops = 0;
    const reading = (async () => {
      for await (const m of client.messages()) {
        const at = performance.now() - t0;
        if (m.type === 9) events.push({ at, video: m.payload[1]! });
        else if (m.type === 18) events.push({ at, data: String(decodeData(m)[0]) });
        else {
          const code = statusCode(m);
          if (code) events.push({ at, code });
          if (code === "NetStream.Play.Stop" && ++stops === 2) return;
        }
      }
    })();
    await waitFor("10 frames", () => events.filter((e) => e.video !== undefined).length >= 10);
    await client.pause(id, true, 400);
    await new Promise((r) => setTimeout(r, 500));
    await client.pause(id, false, 400);
    await waitFor("the end", () => stops === 1, 10_000);
    const firstRun = events.length;
    await client.seek(id, 0);
    await reading;
    client.close();

    const codes = events.filter((e) => e.code).map((e) => e.code);
    assertEquals(codes, [
      "NetStream.Play.Reset",
      "NetStream.Play.Start",
      "NetStream.Pause.Notify",
      "NetStream.Unpause.Notify",
      "NetStream.Play.Stop",
      "NetStream.Seek.Notify",
      "NetStream.Play.Start",
      "NetStream.Play.Stop",
    ]);
    const first = events.slice(0, firstRun);
    assertEquals(first.find((e) => e.data)!.data, "onMetaData");
    // Every frame once, in order, and none between Pause.Notify and Unpause.Notify.
    assertEquals(first.filter((e) => e.video !== undefined).map((e) => e.video), [
      ...Array(60).keys(),
    ]);
    const p = first.findIndex((e) => e.code === "NetStream.Pause.Notify");
    assertEquals(first[p + 1]!.code, "NetStream.Unpause.Notify");
    assertEquals(events.find((e) => e.data === "onPlayStatus")!.data, "onPlayStatus");
    // Paced: 2.4 s of frames sent at most 1 s ahead, plus the 0.5 s pause.
    const end = first.find((e) => e.code === "NetStream.Play.Stop")!.at;
    assert(end > 1700, `ended after ${end} ms`);
    // After the seek to 0 it starts again at the first keyframe.
    const again = events.slice(firstRun).filter((e) => e.video !== undefined).map((e) => e.video);
    assertEquals(again, [...Array(60).keys()]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveRtmp() chooses live or recorded by the play start, and refuses seeking a live stream", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/${streamFileName("live", "s")}`, movie(3));
    await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, record: dir });
    const url = `rtmp://127.0.0.1:${server.addr.port}/live`;
    // Not published now: -2 plays the recording from its start.
    const a = await RtmpClient.connect(url);
    await a.play("s");
    assertEquals((await collect(a, 9, 3)).map((m) => m.payload[1]), [0, 1, 2]);
    a.close();
    // Start 40: from the frame at 40 ms (audio from there; video from the next keyframe).
    const b = await RtmpClient.connect(url);
    await b.play("s", 40);
    assertEquals((await collect(b, 8, 2)).map((m) => m.payload[1]), [1, 2]);
    b.close();
    // -1: live only; a live stream cannot seek.
    const c = await RtmpClient.connect(url);
    const id = await c.play("s", -1);
    await rejects(
      c.seek(id, 0),
      (e) => e instanceof RtmpRejectedError && e.code === "NetStream.Seek.Failed",
    );
    c.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveRtmp() pauses a live player and resumes it at the next keyframe", async () => {
  await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
  const url = `rtmp://127.0.0.1:${server.addr.port}/live`;
  const player = await RtmpClient.connect(url);
  const pid = await player.play("s", -1);
  const publisher = await RtmpClient.connect(url);
  const id = await publisher.publish("s");
  publisher.send(msg(9, id, 0, new Uint8Array([0x12, 0])));
  assertEquals((await collect(player, 9, 1))[0]!.payload[1], 0);
  await player.pause(pid, true);
  for (let i = 1; i <= 3; i++) publisher.send(msg(9, id, i * 40, new Uint8Array([0x12, i])));
  await publisher.drain();
  await new Promise((r) => setTimeout(r, 100));
  await player.pause(pid, false);
  publisher.send(msg(9, id, 160, new Uint8Array([0x22, 4]))); // inter frame: skipped
  publisher.send(msg(9, id, 200, new Uint8Array([0x12, 5])));
  assertEquals((await collect(player, 9, 1))[0]!.payload[1], 5);
  // Pausing a stream that does not play is refused.
  await rejects(
    player.pause(99, true),
    (e) => e instanceof RtmpRejectedError && e.code === "NetStream.Failed",
  );
  publisher.close();
  player.close();
});

Deno.test("serveRtmp() caps the recordings played at once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/${streamFileName("vod", "m")}`, movie(100));
    await using server = serveRtmp({
      hostname: "127.0.0.1",
      port: 0,
      vod: dir,
      maxRecordedPlays: 1,
    });
    const url = `rtmp://127.0.0.1:${server.addr.port}/vod`;
    const a = await RtmpClient.connect(url);
    await a.play("m");
    const b = await RtmpClient.connect(url);
    await rejects(
      b.play("m"),
      (e) => e instanceof RtmpRejectedError && e.code === "NetStream.Play.Failed",
    );
    a.close();
    await waitFor("a gone", () => server.connections === 1);
    await b.play("m");
    b.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('serveRtmp() appends to a recording with continuing timestamps on publish(name, "append")', async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, record: dir });
    const url = `rtmp://127.0.0.1:${server.addr.port}/live`;
    const file = `${dir}/${streamFileName("live", "s")}`;
    const session = async (type: "live" | "append", times: number[], mark: number) => {
      const c = await RtmpClient.connect(url);
      const id = await c.publish("s", type);
      for (const t of times) c.send(msg(9, id, 1000 + t, new Uint8Array([0x12, mark])));
      await c.drain();
      await new Promise((r) => setTimeout(r, 100));
      c.close();
      await waitFor("unpublished", () => server.streams.length === 0);
      await new Promise((r) => setTimeout(r, 100));
    };
    await session("append", [0, 40, 80], 1); // no file yet: created
    await session("append", [0, 40], 2);
    let tags = decodeFlv(await Deno.readFile(file)).tags;
    assertEquals(tags.map((t) => [t.timestamp, t.data[1]]), [[0, 1], [40, 1], [80, 1], [81, 2], [
      121,
      2,
    ]]);
    await session("live", [0], 3); // a plain publish starts the recording again
    tags = decodeFlv(await Deno.readFile(file)).tags;
    assertEquals(tags.map((t) => [t.timestamp, t.data[1]]), [[0, 3]]);
    // A damaged file is not appended to.
    await Deno.writeFile(
      file,
      new Uint8Array([...encodeFlvHeader({ version: 1, audio: true, video: true }), 1, 2, 3, 4, 5]),
    );
    const c = await RtmpClient.connect(url);
    await rejects(
      c.publish("s", "append"),
      (e) => e instanceof RtmpRejectedError && e.code === "NetStream.Record.Failed",
    );
    c.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveRtmp() asks the application: connect, publish and play refused with reasons, calls answered both ways, idle time per session", async () => {
  const closed: string[] = [];
  const sessions = new Map<string, RtmpServerSession>();
  const application: RtmpApplication = {
    async onConnect(session, args) {
      await new Promise((r) => setTimeout(r, 10)); // hooks may be async
      const user = String(args[0]);
      if (user === "mallory") return { reject: "Unknown user mallory" };
      sessions.set(user, session);
      return user === "phone" ? { idleTimeout: 0 } : undefined;
    },
    onPublish: (_s, name) =>
      name.startsWith("cam") ? undefined : { reject: `Cannot publish ${name}` },
    onPlay: (_s, name) =>
      name === "secret"
        ? { reject: "Private stream", code: "NetStream.Play.Forbidden" }
        : undefined,
    onCall(session, name, args) {
      if (name === "echo") return { from: session.app, args };
      if (name === "ring") {
        sessions.get(String(args[0]))?.invoke("ringing", "180 Ringing");
        return true;
      }
      if (name === "crash") throw new Error("internal detail");
      throw new RtmpCallError(`No method ${name}`, "NetConnection.Call.BadMethod");
    },
    onClose: (session) => void closed.push(session.app),
  };
  await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, application, idleTimeout: 300 });
  const url = `rtmp://127.0.0.1:${server.addr.port}/sip`;
  const refused = await RtmpClient.connect(url, { connectArgs: ["mallory"] }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert(refused instanceof RtmpRejectedError, String(refused));
  assertEquals(refused.code, "NetConnection.Connect.Rejected");
  assertEquals(refused.info?.description, "Unknown user mallory");

  const alice = await RtmpClient.connect(url, { connectArgs: ["alice"] });
  const phone = await RtmpClient.connect(url, { connectArgs: ["phone"] });
  const bad = await alice.publish("mic").then(() => undefined, (e: unknown) => e);
  assert(bad instanceof RtmpRejectedError);
  assertEquals([bad.code, bad.info?.description], [
    "NetStream.Publish.BadName",
    "Cannot publish mic",
  ]);
  const secret = await alice.play("secret").then(() => undefined, (e: unknown) => e);
  assert(secret instanceof RtmpRejectedError);
  assertEquals([secret.code, secret.info?.description], [
    "NetStream.Play.Forbidden",
    "Private stream",
  ]);

  const echo = await alice.call("echo", null, 1, "two");
  assertEquals([echo.name, echo.args[0]], ["_result", { from: "sip", args: [1, "two"] }]);
  const nope = await alice.call("nope", null);
  assertEquals(nope.name, "_error");
  assertEquals((nope.args[0] as { code: string }).code, "NetConnection.Call.BadMethod");
  const crash = await alice.call("crash", null);
  assertEquals((crash.args[0] as { description: string }).description, "Call crash failed");
  // The application calls the client back.
  assertEquals((await alice.call("ring", null, "phone")).args[0], true);
  for await (const m of phone.messages()) {
    if (m.type !== 20) continue;
    const c = decodeCommand(m);
    assertEquals([c.name, c.args[0]], ["ringing", "180 Ringing"]);
    break;
  }
  // alice neither publishes nor plays: closed after 300 ms; the phone, told 0, stays.
  await alice.closed;
  await new Promise((r) => setTimeout(r, 400));
  assertEquals(server.connections, 1);
  const ok = await phone.publish("cam1");
  assert(ok > 0);
  phone.close();
  await waitFor("both closed", () => closed.length === 2);
  assertEquals(closed, ["sip", "sip"]);
});

// === Interoperability with ffmpeg and rtmpdump (our servers on port 0, peers on free ports) ===

const FFMPEG = { bin: "ffmpeg", apt: "ffmpeg" };
const FFPROBE = { bin: "ffprobe", apt: "ffmpeg" };
const RTMPDUMP = { bin: "rtmpdump", apt: "rtmpdump" };
const SOURCE = [
  "-hide_banner",
  "-nostdin",
  "-loglevel",
  "error",
  "-re",
  "-f",
  "lavfi",
  "-i",
  "testsrc=size=160x120:rate=25",
  "-f",
  "lavfi",
  "-i",
  "sine=frequency=440:sample_rate=44100",
  "-t",
  "2",
];

async function probe(file: string): Promise<string[]> {
  const r = await run("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "stream=codec_type",
    "-of",
    "csv=p=0",
    file,
  ], { timeout: 10_000 });
  return r.stdout.trim().split("\n").sort();
}

interopTest("ffmpeg publishes to serveRtmp(); ffmpeg and rtmpdump play it", [
  FFMPEG,
  FFPROBE,
  RTMPDUMP,
], async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, record: dir });
    const url = `rtmp://127.0.0.1:${server.addr.port}/live/test`;
    await using ffplay = startPeer("ffmpeg", [
      "-hide_banner",
      "-nostdin",
      "-loglevel",
      "error",
      "-i",
      url,
      "-c",
      "copy",
      "-t",
      "1.5",
      "-y",
      `${dir}/ffmpeg.flv`,
    ]);
    await using dump = startPeer("timeout", [
      "6",
      "rtmpdump",
      "-q",
      "--live",
      "-r",
      url,
      "-o",
      `${dir}/rtmpdump.flv`,
    ]);
    await new Promise((r) => setTimeout(r, 400));
    const pub = await run("ffmpeg", [
      ...SOURCE,
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-tune",
      "zerolatency",
      "-g",
      "25",
      "-pix_fmt",
      "yuv420p",
      "-c:a",
      "aac",
      "-b:a",
      "64k",
      "-f",
      "flv",
      url,
    ], { timeout: 15_000 });
    assertEquals(pub.code, 0, pub.stderr);
    assertEquals((await ffplay.stop(3000)).code, 0, ffplay.output());
    await dump.stop(3000);
    await server.close();
    for (const f of ["ffmpeg.flv", "rtmpdump.flv", "live%2Ftest.flv"]) {
      const types = await probe(`${dir}/${f}`);
      assert(types.includes("audio") && types.includes("video"), `${f}: ${types}`);
    }
    const recorded = decodeFlv(await Deno.readFile(`${dir}/live%2Ftest.flv`));
    assert(
      recorded.tags.filter((t) => t.type === 9).length >= 40,
      "about 50 video frames recorded",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, { timeout: 30_000 });

interopTest(
  "RtmpClient plays from and publishes to ffmpeg -listen 1",
  [FFMPEG, FFPROBE],
  async () => {
    const dir = await Deno.makeTempDir();
    const [outPort, inPort] = [await freePort(), await freePort()];
    try {
      // ffmpeg serves a stream (Sorenson H.263 and Nellymoser); our client plays it.
      await using srv = startPeer("ffmpeg", [
        ...SOURCE,
        "-c:v",
        "flv1",
        "-g",
        "25",
        "-c:a",
        "nellymoser",
        "-f",
        "flv",
        "-listen",
        "1",
        `rtmp://127.0.0.1:${outPort}/live/out`,
      ]);
      let client: RtmpClient | undefined;
      for (let i = 0; i < 50 && !client; i++) {
        client = await RtmpClient.connect(`rtmp://127.0.0.1:${outPort}/live`).catch(() =>
          undefined
        );
        if (!client) await new Promise((r) => setTimeout(r, 100));
      }
      assert(client, "ffmpeg -listen did not accept");
      await client!.play("out");
      const tags: FlvTag[] = [];
      for await (const m of client!.messages()) {
        if (m.type === 8 || m.type === 9) {
          tags.push({
            type: m.type,
            timestamp: m.timestamp,
            data: m.payload,
          });
        }
      }
      await srv.stop(2000);
      const audio = tags.filter((t) => t.type === 8);
      const video = tags.filter((t) => t.type === 9);
      assert(
        video.length >= 40 && audio.length >= 40,
        `${video.length} video, ${audio.length} audio`,
      );
      assertEquals(decodeVideoTagHeader(video[0]!.data).codecId, 2);
      assertEquals(decodeAudioTagHeader(audio[0]!.data).soundFormat, 6);
      // Our client publishes those tags back to an ffmpeg that records them.
      await using sink = startPeer("ffmpeg", [
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-listen",
        "1",
        "-i",
        `rtmp://127.0.0.1:${inPort}/live/in`,
        "-c",
        "copy",
        "-y",
        `${dir}/in.flv`,
      ]);
      let pub: RtmpClient | undefined;
      for (let i = 0; i < 50 && !pub; i++) {
        pub = await RtmpClient.connect(`rtmp://127.0.0.1:${inPort}/live`).catch(() => undefined);
        if (!pub) await new Promise((r) => setTimeout(r, 100));
      }
      const id = await pub!.publish("in");
      pub!.send(
        encodeData([
          "@setDataFrame",
          "onMetaData",
          new EcmaArray({ videocodecid: 2, audiocodecid: 6 }),
        ], id),
      );
      for (const t of tags) pub!.send(msg(t.type, id, t.timestamp, t.data));
      await pub!.drain();
      await new Promise((r) => setTimeout(r, 300));
      pub!.close();
      await sink.stop(3000);
      const types = await probe(`${dir}/in.flv`);
      assertEquals(types, ["audio", "video"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeout: 30_000 },
);

// === Interoperability: recordings, application hook, copy to nginx-rtmp ===

const NGINX = { bin: "nginx", apt: "nginx libnginx-mod-rtmp" };
const NGINX_RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

const ENCODE = [
  "-c:v",
  "libx264",
  "-preset",
  "ultrafast",
  "-tune",
  "zerolatency",
  "-g",
  "25",
  "-pix_fmt",
  "yuv420p",
  "-c:a",
  "aac",
  "-b:a",
  "64k",
  "-f",
  "flv",
];

/** Codec names and the duration in seconds, as ffprobe reads a file. */
async function probeFile(file: string): Promise<{ codecs: string[]; duration: number }> {
  const r = await run("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "stream=codec_name:format=duration",
    "-of",
    "default=nw=1",
    file,
  ], { timeout: 10_000 });
  const codecs = [...r.stdout.matchAll(/^codec_name=(.+)$/gm)].map((m) => m[1]!).sort();
  const duration = Number(/^duration=(.+)$/m.exec(r.stdout)?.[1]);
  return { codecs, duration };
}

interopTest(
  "ffmpeg publishes a tone and testsrc; ffmpeg and rtmpdump play the recording back by name to its end",
  [FFMPEG, FFPROBE, RTMPDUMP],
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, record: dir });
      const url = `rtmp://127.0.0.1:${server.addr.port}/vod/tone`;
      const pub = await run("ffmpeg", [...SOURCE, ...ENCODE, url], { timeout: 20_000 });
      assertEquals(pub.code, 0, pub.stderr);
      await waitFor("unpublished", () => server.streams.length === 0);
      await new Promise((r) => setTimeout(r, 200)); // the recording's last writes
      const recorded = await probeFile(`${dir}/${streamFileName("vod", "tone")}`);
      assertEquals(recorded.codecs, ["aac", "h264"]);
      // ffmpeg plays the recording (start -2: not live now) and stops at NetStream.Play.Stop.
      const ff = await run("ffmpeg", [
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-i",
        url,
        "-c",
        "copy",
        "-y",
        `${dir}/ffmpeg.flv`,
      ], { timeout: 20_000 });
      assertEquals(ff.code, 0, ff.stderr);
      // ffprobe reads the recording straight from the server.
      const direct = await probeFile(url);
      assertEquals(direct.codecs, ["aac", "h264"]);
      assert(Math.abs(direct.duration - 2) < 0.3, `ffprobe ${url}: ${direct.duration} s`);
      // rtmpdump asks for the recording from 0 and ends by itself ("Download complete").
      const dump = await run("rtmpdump", ["-r", url, "-o", `${dir}/rtmpdump.flv`], {
        timeout: 20_000,
      });
      assertEquals(dump.code, 0, dump.stderr);
      for (const f of ["ffmpeg.flv", "rtmpdump.flv"]) {
        const got = await probeFile(`${dir}/${f}`);
        assertEquals(got.codecs, ["aac", "h264"], f);
        assert(Math.abs(got.duration - recorded.duration) < 0.3, `${f}: ${got.duration} s`);
        assert(got.duration > 1.5, `${f}: ${got.duration} s`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeout: 60_000 },
);

interopTest(
  "RtmpClient pauses and resumes a recording that ffmpeg published, without losing a frame",
  [FFMPEG],
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      await using server = serveRtmp({ hostname: "127.0.0.1", port: 0, record: dir });
      const pub = await run("ffmpeg", [
        ...SOURCE,
        ...ENCODE,
        `rtmp://127.0.0.1:${server.addr.port}/vod/clip`,
      ], {
        timeout: 20_000,
      });
      assertEquals(pub.code, 0, pub.stderr);
      await waitFor("unpublished", () => server.streams.length === 0);
      await new Promise((r) => setTimeout(r, 200));
      const file = decodeFlv(await Deno.readFile(`${dir}/${streamFileName("vod", "clip")}`));
      const frames = file.tags.filter((t) => t.type === 9).map((t) => t.timestamp);
      const client = await RtmpClient.connect(`rtmp://127.0.0.1:${server.addr.port}/vod`);
      const id = await client.play("clip", 0);
      const got: number[] = [];
      let pausedFor = 0;
      for await (const m of client.messages()) {
        if (m.type === 9) got.push(m.timestamp);
        if (got.length === 5 && pausedFor === 0) {
          const t = performance.now();
          await client.pause(id, true, m.timestamp);
          await new Promise((r) => setTimeout(r, 300));
          await client.pause(id, false, m.timestamp);
          pausedFor = performance.now() - t;
        }
        if (statusCode(m) === "NetStream.Play.Stop") break;
      }
      client.close();
      assert(pausedFor >= 300);
      assertEquals(got, frames);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeout: 60_000 },
);

interopTest(
  "The application hook refuses ffmpeg (connect, publish, play): ffmpeg exits non-zero with the reason",
  [FFMPEG],
  async () => {
    await using server = serveRtmp({
      hostname: "127.0.0.1",
      port: 0,
      application: {
        onConnect: (s) => s.app === "closed" ? { reject: "Application closed today" } : undefined,
        onPublish: (_s, name) =>
          name === "taken" ? { reject: "Name reserved for alice" } : undefined,
        onPlay: () => ({ reject: "Nobody may watch", code: "NetStream.Play.Forbidden" }),
      },
    });
    const publish = (url: string) =>
      run("ffmpeg", [...SOURCE.slice(0, -2), "-t", "0.5", ...ENCODE, url], { timeout: 20_000 });
    for (
      const [url, says] of [
        [`rtmp://127.0.0.1:${server.addr.port}/closed/x`, "Application closed today"],
        [`rtmp://127.0.0.1:${server.addr.port}/live/taken`, "Name reserved for alice"],
      ]
    ) {
      const r = await publish(url!);
      assert(r.code !== 0, `${url}: ffmpeg exited 0`);
      assert(r.stderr.includes(says!), `${url}: ${r.stderr}`);
    }
    const play = await run("ffmpeg", [
      "-hide_banner",
      "-nostdin",
      "-i",
      `rtmp://127.0.0.1:${server.addr.port}/live/any`,
      "-f",
      "null",
      "-",
    ], { timeout: 20_000 });
    assert(play.code !== 0, "ffmpeg play exited 0");
    assert(play.stderr.includes("Nobody may watch"), play.stderr);
    // A name the application accepts still works.
    const ok = await publish(`rtmp://127.0.0.1:${server.addr.port}/live/free`);
    assertEquals(ok.code, 0, ok.stderr);
  },
  { timeout: 60_000 },
);

interopTest(
  "The copy command copies ffmpeg's stream from serveRtmp() to nginx-rtmp; rtmpdump plays it from nginx",
  [FFMPEG, FFPROBE, RTMPDUMP, NGINX],
  async () => {
    const dir = await Deno.makeTempDir();
    const nginxPort = await freePort();
    try {
      await Deno.writeTextFile(
        `${dir}/nginx.conf`,
        `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log info;
load_module ${NGINX_RTMP_MODULE};
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:${nginxPort}; chunk_size 4096;
  application live { live on; record off; allow publish 127.0.0.1; deny publish all; allow play all; } } }
`,
      );
      await using nginx = startPeer("nginx", [
        "-p",
        dir,
        "-c",
        `${dir}/nginx.conf`,
        "-e",
        `${dir}/nginx-error.log`,
      ]);
      await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
      for (let i = 0; i < 50; i++) {
        const c = await Deno.connect({ hostname: "127.0.0.1", port: nginxPort }).catch(() =>
          undefined
        );
        if (c) {
          c.close();
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await using copy = startPeer(Deno.execPath(), [
        "run",
        "-A",
        new URL("./main.ts", import.meta.url).pathname,
        "copy",
        `rtmp://127.0.0.1:${server.addr.port}/live/src`,
        `rtmp://127.0.0.1:${nginxPort}/live/copy`,
      ]);
      await waitFor("the copy playing", () => server.connections === 1, 15_000);
      await new Promise((r) => setTimeout(r, 300));
      await using dump = startPeer("timeout", [
        "15",
        "rtmpdump",
        "-q",
        "--live",
        "-r",
        `rtmp://127.0.0.1:${nginxPort}/live/copy`,
        "-o",
        `${dir}/dump.flv`,
      ]);
      await new Promise((r) => setTimeout(r, 300));
      const longer = [...SOURCE.slice(0, -2), "-t", "4"];
      const pub = await run("ffmpeg", [
        ...longer,
        ...ENCODE,
        `rtmp://127.0.0.1:${server.addr.port}/live/src`,
      ], {
        timeout: 20_000,
      });
      assertEquals(pub.code, 0, pub.stderr);
      // The source ends: the copy unpublishes at nginx and exits 0.
      const copied = await withTimeout(copy.child.status, 10_000, "the copy to end");
      assertEquals(copied.code, 0, copy.output());
      await dump.stop(3000);
      await nginx.stop(3000);
      const got = await probeFile(`${dir}/dump.flv`);
      assertEquals(got.codecs, ["aac", "h264"]);
      assert(got.duration > 2, `${got.duration} s through nginx`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { timeout: 60_000 },
);
