// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { fromHex, toHex } from "@rtclite/std/bytes";
import {
  decodeFlashMessage,
  decodeFlowSignature,
  encodeFlashMessage,
  FlashClient,
  type FlashMessage,
  flowSignature,
  RtmfpParseError,
} from "./mod.ts";
import { rtmfpConnect, RtmfpServer } from "./udp.ts";

Deno.test("flow signatures: NetConnection 00544304 00, NetStream 00544304 + VLU id", () => {
  equal(toHex(flowSignature()), "0054430400");
  equal(toHex(flowSignature(1)), "0054430401");
  equal(toHex(flowSignature(200)), "005443048148");
  equal(decodeFlowSignature(flowSignature(200)), 200);
  equal(decodeFlowSignature(flowSignature()), 0);
  equal(decodeFlowSignature(fromHex("0047430401")), undefined);
  equal(decodeFlowSignature(fromHex("00544304")), undefined);
});

Deno.test("flow messages: type, 32-bit timestamp, body", async (t) => {
  const cases: [string, FlashMessage, string][] = [
    [
      "AMF 0 command",
      { type: "command", timestamp: 0, values: ["createStream", 2, null] },
      "14 00000000 02000c63726561746553747265616d 004000000000000000 05",
    ],
    [
      "AMF 3 client's command",
      { type: "command", timestamp: 0, values: ["play", 0, null, "a"], amf3: true },
      "11 00 00000000 0200047 06c6179 000000000000000000 05 02000161",
    ],
    ["audio", { type: "audio", timestamp: 20, data: fromHex("72d5d5") }, "08 00000014 72d5d5"],
    ["video", { type: "video", timestamp: 1, data: fromHex("17") }, "09 00000001 17"],
    ["other", { type: "other", code: 4, body: fromHex("0000000000000001") }, "04 0000000000000001"],
  ];
  for (const [name, message, bytes] of cases) {
    await t.step(name, () => {
      const b = fromHex(bytes.replace(/ /g, ""));
      deepEqual(encodeFlashMessage(message), b);
      deepEqual(decodeFlashMessage(b), message);
    });
  }
  throws(() => decodeFlashMessage(fromHex("1400")), RtmfpParseError);
  throws(() => decodeFlashMessage(fromHex("14000000000a")), RtmfpParseError);
});

// G.711 A-law to linear (ITU-T G.711 Table 1/2 as in its reference decoder).
function alawToLinear(a: number): number {
  a ^= 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else {
    t += 0x108;
    if (seg > 1) t <<= seg - 1;
  }
  return a & 0x80 ? t : -t;
}

Deno.test({
  name: "publish and play G.711 audio from ffmpeg through the server; 1 kHz arrives",
  async fn() {
    const ff = await new Deno.Command("ffmpeg", {
      args: [
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=1000:sample_rate=8000:duration=2",
        "-ac",
        "1",
        "-ar",
        "8000",
        "-f",
        "alaw",
        "-",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    equal(ff.code, 0, new TextDecoder().decode(ff.stderr));
    const alaw = ff.stdout;
    equal(alaw.length, 16000);

    const server = await RtmfpServer.listen({ port: 0, host: "127.0.0.1" });
    const url = `rtmfp://127.0.0.1:${server.socket.address.port}/live`;
    const pub = await rtmfpConnect(url, { keepalive: 0 });
    const sub = await rtmfpConnect(url, { keepalive: 0 });
    try {
      const publisher = new FlashClient(pub.session);
      const player = new FlashClient(sub.session);
      equal((await publisher.connect("live")).code, "NetConnection.Connect.Success");
      equal((await player.connect("live")).code, "NetConnection.Connect.Success");
      const out = await publisher.createStream();
      equal((await publisher.publish(out, "tone")).code, "NetStream.Publish.Start");
      const input = await player.createStream();
      const frames: { timestamp: number; data: Uint8Array }[] = [];
      const done = Promise.withResolvers<void>();
      input.onMedia = (m) => {
        frames.push(m);
        if (frames.length === 100) done.resolve();
      };
      equal((await player.play(input, "tone")).code, "NetStream.Play.Start");
      // 20 ms frames: the FLV sound format byte 0x72 (7: G.711 A-law), then 160 samples.
      for (let i = 0; i < 100; i++) {
        const frame = new Uint8Array(161);
        frame[0] = 0x72;
        frame.set(alaw.subarray(i * 160, (i + 1) * 160), 1);
        out.sendAudio(i * 20, frame);
      }
      await done.promise;
      deepEqual(frames.map((f) => f.timestamp), Array.from({ length: 100 }, (_, i) => i * 20));
      ok(frames.every((f) => f.data[0] === 0x72 && f.data.length === 161));
      const pcm = frames.flatMap((f) => Array.from(f.data.subarray(1), alawToLinear));
      let crossings = 0;
      for (let i = 1; i < pcm.length; i++) if ((pcm[i - 1]! < 0) !== (pcm[i]! < 0)) crossings++;
      const hz = crossings / 2 / (pcm.length / 8000);
      ok(Math.abs(hz - 1000) < 10, `measured ${hz} Hz`);
      equal(server.flash?.stats.mediaIn, 100);
      equal(server.flash?.stats.mediaOut, 100);
    } finally {
      pub.close();
      sub.close();
      server.close();
    }
  },
});
