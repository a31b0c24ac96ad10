// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  decodeFlv,
  decodeScriptData,
  encodeData,
  encodeFlvHeader,
  encodeFlvTag,
  encodeScriptData,
  type FlvTag,
} from "./mod.ts";
import { RtmpClient, serveRtmp } from "./net.ts";

Deno.test("The publish and play commands move an FLV file through serveRtmp()", async () => {
  const dir = await Deno.makeTempDir();
  await using server = serveRtmp({ hostname: "127.0.0.1", port: 0 });
  const url = `rtmp://127.0.0.1:${server.addr.port}/live/file`;
  const tags: FlvTag[] = [
    { type: 18, timestamp: 0, data: encodeScriptData(["onMetaData", { duration: 0.4 }]) },
  ];
  for (let i = 0; i < 10; i++) {
    tags.push({ type: 9, timestamp: i * 40, data: new Uint8Array([i % 5 ? 0x22 : 0x12, i]) });
    tags.push({ type: 8, timestamp: i * 40, data: new Uint8Array([0x2e, i]) });
  }
  await Deno.writeFile(
    `${dir}/in.flv`,
    new Uint8Array([
      ...encodeFlvHeader({ version: 1, audio: true, video: true }),
      ...tags.flatMap((t) => [...encodeFlvTag(t)]),
    ]),
  );
  const cli = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./main.ts", import.meta.url).pathname, "-q", ...args],
      stdout: "null",
      stderr: "piped",
    }).output();
  const player = cli("play", url, "--out", `${dir}/out.flv`, "--duration", "10");
  for (let i = 0; i < 100 && server.connections === 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
  const pub = await cli("publish", `${dir}/in.flv`, url, "--fast");
  assertEquals(pub.code, 0, new TextDecoder().decode(pub.stderr));
  const played = await player;
  assertEquals(played.code, 0, new TextDecoder().decode(played.stderr));
  const out = decodeFlv(await Deno.readFile(`${dir}/out.flv`));
  assertEquals(out.tags.length, tags.length);
  assertEquals(decodeScriptData(out.tags[0]!.data), ["onMetaData", { duration: 0.4 }]);
  assertEquals(out.tags.filter((t) => t.type === 9).map((t) => t.data[1]), [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("The copy command copies a stream to another server and to a file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using a = serveRtmp({ hostname: "127.0.0.1", port: 0 });
    await using b = serveRtmp({ hostname: "127.0.0.1", port: 0 });
    const src = `rtmp://127.0.0.1:${a.addr.port}/live/cam`;
    const cli = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("./main.ts", import.meta.url).pathname, "-q", ...args],
        stdout: "null",
        stderr: "piped",
      }).output();
    // A player on the second server, the copy to it, and a copy to a file.
    const player = await RtmpClient.connect(`rtmp://127.0.0.1:${b.addr.port}/live`);
    await player.play("copy");
    const toServer = cli("copy", src, `rtmp://127.0.0.1:${b.addr.port}/live/copy`);
    const toFile = cli("copy", src, `${dir}/copy.flv`, "--duration", "20");
    // Both copies connect to a (the first also to b) and play before the publisher starts.
    for (let i = 0; i < 200 && (a.connections < 2 || b.streams.length === 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    const publisher = await RtmpClient.connect(`rtmp://127.0.0.1:${a.addr.port}/live`);
    const id = await publisher.publish("cam");
    publisher.send(encodeData(["@setDataFrame", "onMetaData", { width: 4 }], id));
    for (let i = 0; i < 5; i++) {
      publisher.send({
        type: 9,
        streamId: id,
        timestamp: 1000 + i * 40,
        payload: new Uint8Array([0x12, i]),
      });
    }
    const got: number[] = [];
    for await (const m of player.messages()) {
      if (m.type !== 9) continue;
      got.push(m.payload[1]!);
      if (got.length === 5) break;
    }
    assertEquals(got, [0, 1, 2, 3, 4]);
    publisher.close();
    for (const copy of [await toServer, await toFile]) {
      assertEquals(copy.code, 0, new TextDecoder().decode(copy.stderr));
    }
    player.close();
    const out = decodeFlv(await Deno.readFile(`${dir}/copy.flv`));
    assertEquals(decodeScriptData(out.tags[0]!.data), ["onMetaData", { width: 4 }]);
    assertEquals(out.tags.slice(1).map((t) => [t.timestamp, t.data[1]]), [
      [0, 0],
      [40, 1],
      [80, 2],
      [120, 3],
      [160, 4],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("The serve command shuts down cleanly on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./main.ts", import.meta.url).pathname,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.getReader();
  let text = "";
  // The server binds a free port and logs it: listening on "127.0.0.1":PORT
  const listening = /listening on \S*:(\d+)/;
  while (!listening.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited before listening: ${text}`);
    text += new TextDecoder().decode(value);
  }
  const port = listening.exec(text)![1];
  const c = await RtmpClient.connect(`rtmp://127.0.0.1:${port}/live`);
  child.kill("SIGTERM");
  const status = await child.status;
  reader.releaseLock();
  await child.stderr.cancel();
  assertEquals(status.code, 0);
  await c.closed;
});

Deno.test("The command line prints --help and refuses bad arguments with exit code 2", async () => {
  const cli = async (...args: string[]) => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./main.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    return { code, text };
  };
  const help = await cli("--help");
  assertEquals(help.code, 0);
  assert(help.text.includes("Usage: rtmp serve"), help.text);
  assert(help.text.includes("--chunk-size N"), help.text);
  for (
    const [args, says] of [
      [["serve", "--nope"], "Unknown option --nope"],
      [[], "Expected 1 to 3 operands"],
      [["record"], 'Unknown command "record"'],
      [["play"], "play takes URL, got 0 operands"],
      [["play", "http://x/live/a"], "Invalid RTMP URL"],
      [["serve", "--out", "x.flv"], "--out does not apply to serve"],
      [["serve", "--port", "70000"], "--port needs an integer from 0 to 65535"],
      [["play", "rtmp://127.0.0.1:1/live/a", "--duration", "soon"], "--duration needs"],
      [["copy", "rtmp://127.0.0.1:1/live/a"], "copy takes URL TARGET, got 1 operand"],
      [["copy", "rtmp://127.0.0.1:1/live/a", "rtmp:/x"], "Invalid RTMP URL"],
      [["copy", "x.flv", "rtmp://127.0.0.1:1/live/a"], "Invalid RTMP URL: x.flv"],
      [["copy", "rtmp://127.0.0.1:1/live/a", "b.flv", "--fast"], "--fast does not apply to copy"],
      [["serve", "--idle-timeout", "-1"], "--idle-timeout needs an integer"],
    ] as const
  ) {
    const got = await cli(...args);
    assertEquals(got.code, 2, `${args.join(" ")}: ${got.text}`);
    assert(got.text.includes(says), `${args.join(" ")}: ${got.text}`);
  }
});
