// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Interop tests of RTMPT with ffmpeg and rtmpdump on 127.0.0.1.
import { equal, match, ok } from "node:assert/strict";
import { interopTest, run, startPeer, withTimeout } from "@rtclite/testing";
import { RtmptHandler, serveRtmpt } from "./deno.ts";
import { encodeFlvHeader, encodeFlvTag, type FlvTagType, MessageType } from "../rtmp/mod.ts";
import { RtmpClient, serveRtmp } from "../rtmp/net.ts";

// === Interop ===

interopTest(
  "ffmpeg publishes over RTMPT, an RTMP client plays from the shared server, ffprobe finds audio and video",
  [{ bin: "ffmpeg", apt: "ffmpeg" }, { bin: "ffprobe", apt: "ffmpeg" }],
  async () => {
    await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
    await using rtmpt = new RtmptHandler({ backend: server });
    await using http = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      rtmpt.fetch,
    );
    const player = await RtmpClient.connect(`rtmp://127.0.0.1:${server.addr.port}/live`);
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
        `rtmpt://127.0.0.1:${http.addr.port}/live/test`,
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
    await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
    await using rtmpt = new RtmptHandler({ backend: server });
    await using raw = serveRtmpt({ handler: rtmpt, hostname: "127.0.0.1", port: 0 });
    await using http = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
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
        `rtmp://127.0.0.1:${server.addr.port}/live/shared`,
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
          `rtmpt://127.0.0.1:${raw.addr.port}/live/shared`,
          "-o",
          `${dir}/dump.flv`,
        ], { stdout: "piped", stderr: "piped", timeout: 10_000 }),
        run("ffmpeg", [
          "-hide_banner",
          "-loglevel",
          "error",
          "-i",
          `rtmpt://127.0.0.1:${http.addr.port}/live/shared`,
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
