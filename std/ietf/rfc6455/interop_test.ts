// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Interop tests for std/ietf/rfc6455 against real peers on 127.0.0.1: Python websockets (Debian
// python3-websockets) as client and as server, and a headless Chromium page.
import { deepEqual, equal, ok } from "node:assert/strict";
import { freePort, interopTest, startPeer, withTimeout } from "@rtclite/testing";
import type { HttpRequestHead } from "./mod.ts";
import { serveWebSocket, WebSocket } from "./deno.ts";

const PY = "/usr/bin/python3";
const PEER = new URL("../testdata/websocket_peer.py", import.meta.url).pathname;
const PYTHON = { bin: PY, apt: "python3-websockets" };

/** Python's websockets module is importable by the Debian interpreter. */
async function hasWebsockets(): Promise<boolean> {
  try {
    const out = await new Deno.Command(PY, { args: ["-c", "import websockets"], stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

function waitEvent<T extends Event>(target: EventTarget, type: string): Promise<T> {
  return new Promise((r) => target.addEventListener(type, (e) => r(e as T), { once: true }));
}

interopTest(
  "Python websockets client against our server (RFC 6455, RFC 7692)",
  [PYTHON],
  async (t) => {
    ok(await hasWebsockets(), "python3-websockets is installed");
    const closes: CloseEvent[] = [];
    await using server = serveWebSocket(
      { hostname: "127.0.0.1", port: 0, protocols: ["sip"], maxMessageSize: 1 << 25 },
      (ws) => {
        ws.binaryType = "arraybuffer";
        ws.onmessage = (e) => ws.send(e.data);
        ws.onclose = (e) => closes.push(e);
      },
    );
    for (const compression of ["deflate", "none"]) {
      await t.step(
        `compression ${compression}: text, binary, fragmented, 16 MiB, close 4001`,
        async () => {
          await using peer = startPeer(PY, [
            PEER,
            "client",
            `ws://127.0.0.1:${server.addr.port}/`,
            compression,
          ]);
          const status = await withTimeout(peer.child.status, 60_000, "python client");
          const line = peer.output().trim().split("\n").pop()!;
          equal(status.code, 0, peer.output());
          const res = JSON.parse(line);
          equal(res.subprotocol, "sip");
          equal(res.extensions, compression === "deflate" ? "permessage-deflate" : "");
          deepEqual(res.checks, [true, true, true, true, true, true]);
          equal(res.close_code, 4001);
          equal(res.close_reason, "client bye");
          while (closes.length === 0) await new Promise((r) => setTimeout(r, 10));
          const ev = closes.shift()!;
          deepEqual([ev.code, ev.reason, ev.wasClean], [4001, "client bye", true]);
        },
      );
    }
  },
  { timeout: 120_000 },
);

interopTest(
  "our client against a Python websockets server (RFC 6455, RFC 7692)",
  [PYTHON],
  async (t) => {
    ok(await hasWebsockets(), "python3-websockets is installed");
    for (const compression of ["deflate", "none"]) {
      await t.step(`compression ${compression}`, async () => {
        const port = await freePort();
        await using peer = startPeer(PY, [PEER, "server", String(port), compression]);
        await peer.waitFor("listening", 10_000);
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ["sip"], {
          deflate: compression === "deflate",
          maxMessageSize: 1 << 25,
        });
        ws.binaryType = "arraybuffer";
        const closed = waitEvent<CloseEvent>(ws, "close");
        await waitEvent(ws, "open");
        equal(ws.protocol, "sip");
        if (compression === "deflate") {
          ok(ws.extensions.startsWith("permessage-deflate"), ws.extensions);
        } else equal(ws.extensions, "");
        const replies: (string | Uint8Array)[] = [];
        ws.onmessage = (e) =>
          replies.push(typeof e.data === "string" ? e.data : new Uint8Array(e.data));
        const big = new Uint8Array(16 << 20);
        for (let i = 0; i < big.length; i += 65536) {
          crypto.getRandomValues(big.subarray(i, i + 65536));
        }
        const sent: (string | Uint8Array)[] = [
          "héllo wörld",
          new Uint8Array([0, 1, 2, 255]),
          "SIP/2.0 200 OK\r\n".repeat(4000),
          big,
        ];
        for (const m of sent) {
          ws.send(m);
        }
        await withTimeout(
          (async () => {
            while (replies.length < sent.length) await new Promise((r) => setTimeout(r, 20));
          })(),
          60_000,
          "echoes",
        );
        deepEqual(replies, sent);
        ws.close(4001, "client bye");
        const ev = await closed;
        deepEqual([ev.code, ev.reason, ev.wasClean], [4001, "client bye", true]);
      });
      await t.step(
        `compression ${compression}: fragmented messages and a server-initiated close`,
        async () => {
          const port = await freePort();
          await using peer = startPeer(PY, [PEER, "server", String(port), compression]);
          await peer.waitFor("listening", 10_000);
          const ws = new WebSocket(`ws://127.0.0.1:${port}/`, [], {
            deflate: compression === "deflate",
            fragmentSize: 100,
          });
          const closed = waitEvent<CloseEvent>(ws, "close");
          await waitEvent(ws, "open");
          const text = "fragmented ".repeat(50);
          ws.send(text);
          equal((await waitEvent<MessageEvent>(ws, "message")).data, text);
          ws.close(1000);
          await closed;
          // The /close path makes the server close with 4002 after the first message.
          const ws2 = new WebSocket(`ws://127.0.0.1:${port}/close`, [], {
            deflate: compression === "deflate",
          });
          const closed2 = waitEvent<CloseEvent>(ws2, "close");
          await waitEvent(ws2, "open");
          ws2.send("close me");
          const ev = await closed2;
          deepEqual([ev.code, ev.reason, ev.wasClean], [4002, "server bye", true]);
        },
      );
    }
  },
  { timeout: 120_000 },
);

const PAGE = `<!doctype html><title>rtclite websocket</title><script>
const results = [];
const ws = new WebSocket("ws://" + location.host + "/ws", ["sip"]);
ws.binaryType = "arraybuffer";
const expect = ["hello from chromium", "x".repeat(70000), "bytes:0,1,2,255"];
let i = 0;
ws.onopen = () => {
  results.push("open:" + ws.protocol + ":" + ws.extensions);
  ws.send(expect[0]); ws.send(expect[1]); ws.send(new Uint8Array([0, 1, 2, 255]));
};
ws.onmessage = (e) => {
  const got = typeof e.data === "string" ? e.data : "bytes:" + Array.from(new Uint8Array(e.data)).join(",");
  results.push(got === expect[i++] ? "echo-ok" : "echo-bad");
  if (i === expect.length) { ws.send("result:" + results.join("|")); ws.close(1000, "done"); }
};
ws.onclose = (e) => { document.title = "closed " + e.code + " " + e.wasClean; };
</script>`;

interopTest("headless Chromium page talks to our server and closes cleanly", [{
  bin: "chromium",
  apt: "chromium",
}], async () => {
  const result = Promise.withResolvers<{ text: string; close: CloseEvent }>();
  let text = "";
  await using server = serveWebSocket({
    hostname: "127.0.0.1",
    port: 0,
    protocols: ["sip"],
    onRequest: (req: HttpRequestHead) =>
      req.target === "/"
        ? { status: 200, headers: { "content-type": "text/html" }, body: PAGE }
        : { status: 404, body: "not found" },
  }, (ws) => {
    ws.onmessage = (e) => {
      if (typeof e.data === "string" && e.data.startsWith("result:")) text = e.data;
      else ws.send(e.data);
    };
    ws.onclose = (close) => result.resolve({ text, close });
  });
  const profile = await Deno.makeTempDir({ prefix: "rtclite-chromium-" });
  try {
    await using _chromium = startPeer("chromium", [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      `http://127.0.0.1:${server.addr.port}/`,
    ]);
    const { text, close } = await withTimeout(result.promise, 45_000, "Chromium page");
    equal(text, "result:open:sip:permessage-deflate|echo-ok|echo-ok|echo-ok");
    deepEqual([close.code, close.reason, close.wasClean], [1000, "done", true]);
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}, { timeout: 60_000 });
