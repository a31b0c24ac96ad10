// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Attacks on the WebSocket server, mounted on loopback (issue 18, items 10 and 11): each test
// performs the attack and asserts the refusal or a bound on memory or time.
import { freePort } from "@rtclite/testing";
import { serveWebSocket, WebSocket } from "./deno.ts";
import { assert, assertEquals, dec, enc } from "./_test_util.ts";

const HANDSHAKE = (deflate: boolean) =>
  enc.encode(
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
      (deflate ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "") + "\r\n",
  );

/** A masked client frame with a zero masking key (the payload goes as is). */
function frame(first: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(head + 4 + n);
  out[0] = first;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) {
    out[1] = 0x80 | 126;
    new DataView(out.buffer).setUint16(2, n);
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  out.set(payload, head + 4);
  return out;
}

/** Opens a raw TCP connection and completes the handshake; returns the connection. */
async function rawClient(port: number, deflate = false): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(HANDSHAKE(deflate));
  const buf = new Uint8Array(1024);
  let head = "";
  while (!head.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed during the handshake");
    head += dec.decode(buf.subarray(0, n));
  }
  assert(head.startsWith("HTTP/1.1 101"), head);
  return conn;
}

/** Reads until the server's Close frame (or end of stream); returns its status code. */
async function readClose(conn: Deno.Conn, ms = 10_000): Promise<number | undefined> {
  const timer = setTimeout(() => conn.close(), ms);
  const buf = new Uint8Array(65536);
  let acc = new Uint8Array(0);
  try {
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return undefined;
      const next = new Uint8Array(acc.length + n);
      next.set(acc);
      next.set(buf.subarray(0, n), acc.length);
      acc = next;
      // Walk the server's (unmasked) frames.
      let o = 0;
      while (o + 2 <= acc.length) {
        let len = acc[o + 1]! & 0x7f;
        let h = 2;
        if (len === 126) [len, h] = [(acc[o + 2]! << 8) | acc[o + 3]!, 4];
        else if (len === 127) [len, h] = [Number(new DataView(acc.buffer).getBigUint64(o + 2)), 10];
        if (o + h + len > acc.length) break;
        if ((acc[o]! & 0x0f) === 8) return (acc[o + h]! << 8) | acc[o + h + 1]!;
        o += h + len;
      }
      acc = acc.slice(o);
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

const MiB = 1024 * 1024;

Deno.test({
  name:
    "WebSocket server closes a continuation-frame flood with 1009, memory bounded (issue 18.10)",
  async fn() {
    await using server = serveWebSocket({ hostname: "127.0.0.1", port: 0 }, () => {});
    const conn = await rawClient(server.addr.port);
    const rss0 = Deno.memoryUsage().rss;
    const closed = readClose(conn);
    // A FIN=0 binary frame, then a million empty continuation frames (6 bytes each).
    const empty = frame(0x00, new Uint8Array(0));
    const batch = new Uint8Array(empty.length * 100_000);
    for (let i = 0; i < 100_000; i++) batch.set(empty, i * empty.length);
    const writing = (async () => {
      await conn.write(frame(0x02, new Uint8Array([1])));
      for (let i = 0; i < 10; i++) {
        let o = 0;
        while (o < batch.length) o += await conn.write(batch.subarray(o));
      }
    })().catch(() => {/* the server closed the connection */});
    assertEquals(await closed, 1009);
    await writing;
    const grown = (Deno.memoryUsage().rss - rss0) / MiB;
    console.log(`continuation flood: closed with 1009, RSS +${grown.toFixed(1)} MiB`);
    assert(grown < 64, `RSS grew by ${grown.toFixed(1)} MiB`);
  },
});

Deno.test({
  name:
    "WebSocket server keeps echo latency bounded while clients send deflate bombs (issue 18.10)",
  async fn() {
    await using server = serveWebSocket(
      { hostname: "127.0.0.1", port: 0, maxMessageSize: 16 * MiB },
      (ws) => {
        ws.binaryType = "arraybuffer";
        ws.onmessage = (e) => {
          const size = typeof e.data === "string" ? e.data.length : e.data.byteLength;
          if (size < 1024) ws.send(e.data);
        };
      },
    );
    // 8 MiB of zeros deflated to ~8 KB: each message makes the server inflate 8 MiB.
    const zeros = new Uint8Array(8 * MiB);
    const raw = new Uint8Array(
      await new Response(
        new Blob([zeros]).stream().pipeThrough(new CompressionStream("deflate-raw")),
      ).arrayBuffer(),
    );
    const bomb = frame(0x80 | 0x40 | 0x02, raw);
    const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
    await new Promise((r) => ws.onopen = r);
    const bombers = await Promise.all(
      Array.from({ length: 10 }, () => rawClient(server.addr.port, true)),
    );
    const stop = AbortSignal.timeout(3000);
    const attacks = bombers.map(async (c) => {
      const drain = (async () => {
        const buf = new Uint8Array(65536);
        while ((await c.read(buf).catch(() => null)) !== null) { /* discard */ }
      })();
      // A write blocks once the server stops reading: closing ends it.
      stop.addEventListener("abort", () => {
        try {
          c.close();
        } catch { /* closed */ }
      });
      try {
        while (!stop.aborted) await c.write(bomb);
      } catch { /* closed */ }
      await drain;
    });
    let worst = 0;
    let echoes = 0;
    while (!stop.aborted) {
      const t0 = performance.now();
      const got = new Promise((r) => ws.onmessage = r);
      ws.send("ping");
      await got;
      worst = Math.max(worst, performance.now() - t0);
      echoes++;
    }
    ws.close();
    await Promise.all(attacks);
    console.log(`deflate bombs: ${echoes} echoes, worst latency ${worst.toFixed(0)} ms`);
    // Before the inflate slices and budget, 30 bombs delayed other clients' echoes by 4.3 s.
    assert(echoes >= 20, `only ${echoes} echoes (worst latency ${worst.toFixed(0)} ms)`);
    assert(worst < 2000, `worst echo latency ${worst.toFixed(0)} ms (${echoes} echoes)`);
  },
});

Deno.test({
  name: "WebSocket server stops reading from a client that does not read its echoes (issue 18.10)",
  async fn() {
    await using server = serveWebSocket({ hostname: "127.0.0.1", port: 0 }, (ws) => {
      ws.onmessage = (e) => ws.send(e.data);
    });
    const conn = await rawClient(server.addr.port);
    const message = frame(0x82, new Uint8Array(8 * MiB).fill(7));
    const rss0 = Deno.memoryUsage().rss;
    let sent = 0;
    // 40 messages of 8 MiB, never reading the echoes: the writes stall once the server stops
    // reading.
    const writing = (async () => {
      for (let i = 0; i < 40; i++) {
        let o = 0;
        while (o < message.length) o += await conn.write(message.subarray(o));
        sent++;
      }
    })().catch(() => {});
    await new Promise((r) => setTimeout(r, 3000));
    const grown = (Deno.memoryUsage().rss - rss0) / MiB;
    console.log(`unread echoes: ${sent} messages written, RSS +${grown.toFixed(0)} MiB`);
    conn.close();
    await writing;
    assert(sent < 10, `${sent} messages accepted`);
    assert(grown < 100, `RSS grew by ${grown.toFixed(1)} MiB`);
  },
});

Deno.test({
  name: "WebSocket server pings idle clients and closes silent ones (issue 18.11)",
  async fn() {
    await using server = serveWebSocket(
      { hostname: "127.0.0.1", port: 0, idleTimeout: 400 },
      (ws) => {
        ws.onmessage = (e) => ws.send(e.data);
      },
    );
    // The silent client's idle clock starts with its handshake: measure from there (opening
    // the second client may take longer than the timeout on a loaded machine).
    const silent = await rawClient(server.addr.port);
    const t0 = performance.now();
    const live = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
    await new Promise((r) => live.onopen = r);
    assertEquals(await readClose(silent, 8000), 1001);
    const after = performance.now() - t0;
    // Never before the timeout; late timers on a busy machine only delay the close.
    assert(after >= 350 && after < 8000, `closed after ${after.toFixed(0)} ms`);
    // The browser-shaped client answers the pings, so it is still open after the timeout.
    await new Promise((r) => setTimeout(r, 600));
    assertEquals(live.readyState, WebSocket.OPEN);
    const echo = new Promise<MessageEvent>((r) => live.onmessage = r);
    live.send("still here");
    assertEquals((await echo).data, "still here");
    live.close();
    await new Promise((r) => live.onclose = r);
  },
});

Deno.test({
  name: "WebSocket server keeps accepting after running out of descriptors (issue 18.11)",
  async fn() {
    const port = await freePort();
    const server = new Deno.Command("prlimit", {
      args: [
        "--nofile=100",
        Deno.execPath(),
        "run",
        "-A",
        new URL("./main.ts", import.meta.url).pathname,
        "serve",
        "--hostname",
        "127.0.0.1",
        "--port",
        String(port),
        "--echo",
        "-q",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const conns: Deno.Conn[] = [];
    try {
      const reader = server.stderr.getReader();
      let banner = "";
      while (!banner.includes("Listening")) {
        const { value, done } = await reader.read();
        if (done) break;
        banner += dec.decode(value);
      }
      reader.releaseLock();
      server.stderr.cancel().catch(() => {});
      // 200 idle connections: more than the server's 100 descriptors, so accept() fails (EMFILE).
      for (let i = 0; i < 200; i++) {
        conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      }
      await new Promise((r) => setTimeout(r, 500));
      const starved = new WebSocket(`ws://127.0.0.1:${port}/`, [], { handshakeTimeout: 500 });
      const first = await new Promise<string>((r) => {
        starved.onopen = () => r("open");
        starved.onclose = () => r("closed");
      });
      starved.close();
      assertEquals(first, "closed");
      for (const c of conns.splice(0)) c.close();
      // After some close, a new client is served: the accept loop backed off instead of ending.
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, [], { handshakeTimeout: 8000 });
      await new Promise((r, j) => {
        ws.onopen = r;
        ws.onclose = () => j(new Error("not served after the descriptors were freed"));
      });
      const echo = new Promise<MessageEvent>((r) => ws.onmessage = r);
      ws.send("back");
      assertEquals((await echo).data, "back");
      ws.close();
      await new Promise((r) => ws.onclose = r);
    } finally {
      for (const c of conns) c.close();
      server.kill("SIGKILL");
      await server.status;
    }
  },
});

Deno.test({
  name: "WebSocket server drops a client whose send queue passes maxBufferedAmount (issue 18.10)",
  async fn() {
    const closed = Promise.withResolvers<CloseEvent>();
    let queued = 0;
    await using server = serveWebSocket(
      { hostname: "127.0.0.1", port: 0, maxBufferedAmount: 4 * MiB },
      (ws) => {
        ws.onclose = (e) => closed.resolve(e);
        // A producer that ignores bufferedAmount, towards a client that never reads.
        const chunk = new Uint8Array(MiB);
        const timer = setInterval(() => {
          if (ws.readyState !== WebSocket.OPEN) return clearInterval(timer);
          ws.send(chunk);
          queued = Math.max(queued, ws.bufferedAmount);
        }, 1);
      },
    );
    const conn = await rawClient(server.addr.port);
    const ev = await closed.promise;
    conn.close();
    assertEquals(ev.code, 1008);
    assert(queued <= 4 * MiB, `${queued} bytes queued`);
  },
});
