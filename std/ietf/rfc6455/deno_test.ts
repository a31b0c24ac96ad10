// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Tests of the Deno adapters of std/ietf/rfc6455: the browser-shaped WebSocket and the server
// functions on loopback TCP and TLS, bad input on the wire, and custom transports.
import { createHandshake, decodeFrame, HandshakeError, Opcode } from "./mod.ts";
import { acceptWebSocket, serveWebSocket, WebSocket } from "./deno.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  closePayload,
  compressible,
  concatBytes,
  dec,
  enc,
  hex,
  peerBytes,
  REQ,
  sentFrames,
} from "./_test_util.ts";

function waitEvent<T extends Event>(target: EventTarget, type: string): Promise<T> {
  return new Promise((r) => target.addEventListener(type, (e) => r(e as T), { once: true }));
}

Deno.test({
  name:
    "WebSocket client and server exchange text, binary, fragments and close codes (RFC 6455 §6, §7)",
  async fn() {
    const serverClose = Promise.withResolvers<CloseEvent>();
    await using server = serveWebSocket({
      hostname: "127.0.0.1",
      port: 0,
      fragmentSize: 1000,
      protocols: ["sip"],
    }, (ws) => {
      ws.binaryType = "arraybuffer";
      ws.onmessage = (e) => ws.send(e.data === "close me" ? "bye" : e.data);
      ws.onclose = (e) => serverClose.resolve(e);
    });
    for (const deflate of [true, false]) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/x`, ["sip"], {
        deflate,
        fragmentSize: 777,
      });
      ws.binaryType = "arraybuffer";
      await waitEvent(ws, "open");
      assertEquals(ws.protocol, "sip");
      assertEquals(ws.extensions, deflate ? "permessage-deflate" : "");
      const got: unknown[] = [];
      ws.onmessage = (e) => got.push(typeof e.data === "string" ? e.data : new Uint8Array(e.data));
      const big = new Uint8Array(1 << 20).map((_, i) => i * 7);
      ws.send("héllo");
      ws.send(new Uint8Array([1, 2, 3]));
      ws.send(big);
      ws.send(compressible(5000, 3));
      while (got.length < 4) await new Promise((r) => setTimeout(r, 5));
      assertEquals(got, ["héllo", new Uint8Array([1, 2, 3]), big, compressible(5000, 3)]);
      ws.close(4001, "done");
      const ev = await waitEvent<CloseEvent>(ws, "close");
      assertEquals([ev.code, ev.reason, ev.wasClean], [4001, "done", true]);
      const sev = await serverClose.promise;
      assertEquals([sev.code, sev.wasClean], [4001, true]);
      assertEquals(ws.readyState, WebSocket.CLOSED);
    }
  },
});

Deno.test("WebSocket server-initiated close and async iteration with backpressure", async () => {
  await using server = serveWebSocket({ hostname: "127.0.0.1", port: 0 }, async (ws) => {
    for (let i = 0; i < 200; i++) ws.send(`m${i}`);
    await ws.flush();
    ws.close(1001, "going");
  });
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}`, [], { highWaterMark: 2 });
  const got: string[] = [];
  const closed = waitEvent<CloseEvent>(ws, "close");
  for await (const m of ws) {
    got.push(m as string);
    if (got.length % 50 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  assertEquals(got, Array.from({ length: 200 }, (_, i) => `m${i}`));
  const ev = await closed;
  assertEquals([ev.code, ev.reason, ev.wasClean], [1001, "going", true]);
});

async function rawConnect(port: number): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

async function readAll(conn: Deno.Conn, ms = 3000): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  const timer = setTimeout(() => conn.close(), ms);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      parts.push(buf.slice(0, n));
    }
  } catch { /* closed by the timer */ }
  clearTimeout(timer);
  return concatBytes(...parts);
}

Deno.test("server answers bad input with the right close code or status and keeps serving (RFC 6455 §7.1.7)", async (t) => {
  await using server = serveWebSocket(
    {
      hostname: "127.0.0.1",
      port: 0,
      handshakeTimeout: 300,
      maxHeadSize: 2048,
      maxMessageSize: 1 << 16,
    },
    (ws) => {
      ws.onmessage = (e) => ws.send(e.data);
    },
  );
  const port = server.addr.port;
  const handshake = async () => {
    const conn = await rawConnect(port);
    const hs = createHandshake(`ws://127.0.0.1:${port}/`, { deflate: false });
    await conn.write(hs.request);
    const buf = new Uint8Array(4096);
    let head = "";
    while (!head.includes("\r\n\r\n")) head += dec.decode(buf.subarray(0, (await conn.read(buf))!));
    assert(head.startsWith("HTTP/1.1 101 "));
    return conn;
  };
  const expectClose = async (wire: Uint8Array, code: number) => {
    const conn = await handshake();
    await conn.write(wire);
    const got = await readAll(conn);
    const d = decodeFrame(got)!;
    assertEquals(d.frame.opcode, Opcode.Close);
    assertEquals((d.frame.payload[0]! << 8) | d.frame.payload[1]!, code);
    assertEquals(got.length, d.length, "connection closed after the Close frame");
  };
  const other = new WebSocket(`ws://127.0.0.1:${port}/`);
  await waitEvent(other, "open");
  const stillServing = async () => {
    other.send("still there?");
    assertEquals((await waitEvent<MessageEvent>(other, "message")).data, "still there?");
  };
  await t.step("unmasked client frame: 1002", async () => {
    await expectClose(peerBytes({ op: 1, data: "x" }, "client"), 1002);
    await stillServing();
  });
  await t.step("reserved opcode: 1002", async () => {
    await expectClose(peerBytes({ op: 5 }, "server"), 1002);
  });
  await t.step("reserved bit: 1002", async () => {
    await expectClose(peerBytes({ op: 1, data: "x", rsv: 2 }, "server"), 1002);
  });
  await t.step("bad UTF-8: 1007", async () => {
    await expectClose(peerBytes({ op: 1, data: hex("c0 af") }, "server"), 1007);
  });
  await t.step("oversized length: 1009", async () => {
    await expectClose(hex("82 ff 00 00 00 01 00 00 00 00 01 02 03 04"), 1009);
    await stillServing();
  });
  await t.step("slow handshake is dropped", async () => {
    const conn = await rawConnect(port);
    await conn.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    const t0 = Date.now();
    const got = await readAll(conn, 3000);
    assertEquals(got.length, 0);
    assert(Date.now() - t0 < 2000, "dropped by handshakeTimeout");
    await stillServing();
  });
  await t.step("oversized head gets 431", async () => {
    const conn = await rawConnect(port);
    await conn.write(enc.encode("GET / HTTP/1.1\r\nX-Big: " + "a".repeat(3000) + "\r\n\r\n"));
    assert(dec.decode(await readAll(conn)).startsWith("HTTP/1.1 431 "));
  });
  await t.step("plain HTTP request gets 426", async () => {
    const conn = await rawConnect(port);
    await conn.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const res = dec.decode(await readAll(conn));
    assert(res.startsWith("HTTP/1.1 426 "), res);
  });
  await t.step("version 8 gets 426 with Sec-WebSocket-Version: 13", async () => {
    const conn = await rawConnect(port);
    await conn.write(enc.encode(REQ.replace("Version: 13", "Version: 8")));
    const res = dec.decode(await readAll(conn));
    assert(res.startsWith("HTTP/1.1 426 ") && res.includes("sec-websocket-version: 13"), res);
    await stillServing();
  });
  other.close();
  await waitEvent(other, "close");
});

Deno.test("acceptWebSocket() takes over a Deno.Conn and handles early frames", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conn = await rawConnect((listener.addr as Deno.NetAddr).port);
  const hs = createHandshake("ws://127.0.0.1/", { deflate: false });
  // The handshake and a first frame in one write: the frame must not be lost.
  await conn.write(concatBytes(hs.request, peerBytes({ op: 1, data: "early" }, "server")));
  const ws = await acceptWebSocket(await listener.accept());
  const closed = waitEvent<CloseEvent>(ws, "close");
  const msg = await waitEvent<MessageEvent>(ws, "message");
  assertEquals(msg.data, "early");
  ws.close(1000);
  // Read the 101 response and the server's Close frame, answer it, and see the server close.
  let got: Uint8Array = new Uint8Array(0);
  const buf = new Uint8Array(4096);
  let head = -1;
  while (head < 0 || !decodeFrame(got, head)) {
    got = concatBytes(got, buf.slice(0, (await conn.read(buf))!));
    const i = dec.decode(got).indexOf("\r\n\r\n");
    head = i < 0 ? -1 : i + 4;
  }
  assertEquals(decodeFrame(got, head)!.frame.opcode, Opcode.Close);
  await conn.write(peerBytes({ op: 8, data: closePayload(1000) }, "server"));
  assertEquals((await readAll(conn)).length, 0);
  listener.close();
  assertEquals((await closed).wasClean, true);
  await assertRejects(
    () => acceptWebSocket(new FakeConn(enc.encode("GET / HTTP/1.1\r\n\r\n"))),
    HandshakeError,
  );
});

class FakeConn {
  #data: Uint8Array | undefined;
  constructor(data: Uint8Array) {
    this.#data = data;
  }
  read(p: Uint8Array): Promise<number | null> {
    const d = this.#data;
    this.#data = undefined;
    if (!d) return Promise.resolve(null);
    p.set(d);
    return Promise.resolve(d.length);
  }
  write(p: Uint8Array): Promise<number> {
    return Promise.resolve(p.length);
  }
  close(): void {}
}

Deno.test("WebSocket over TLS (wss:)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A CA and a server certificate it signs (rustls refuses a CA certificate as end entity).
    const openssl = async (...args: string[]) =>
      (await new Deno.Command("openssl", { args, cwd: dir, stdin: "null", stderr: "null" }).output()
        .catch(() => undefined))?.success;
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    const ok = await openssl(
      "req",
      "-x509",
      ...ec,
      "-days",
      "1",
      "-subj",
      "/CN=test CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    ) &&
      await openssl(
        "req",
        ...ec,
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "req.csr",
      ) &&
      await openssl(
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
      );
    if (!ok) {
      console.warn("SKIP wss test: openssl not available");
      return;
    }
    const ca = await Deno.readTextFile(`${dir}/ca.pem`);
    const cert = await Deno.readTextFile(`${dir}/cert.pem`);
    const key = await Deno.readTextFile(`${dir}/key.pem`);
    await using server = serveWebSocket({ hostname: "127.0.0.1", port: 0, cert, key }, (ws) => {
      ws.onmessage = (e) => ws.send(e.data);
    });
    const ws = new WebSocket(`wss://localhost:${server.addr.port}/`, [], { caCerts: [ca] });
    await waitEvent(ws, "open");
    ws.send("secure");
    assertEquals((await waitEvent<MessageEvent>(ws, "message")).data, "secure");
    ws.close();
    assertEquals((await waitEvent<CloseEvent>(ws, "close")).wasClean, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WebSocket client reports a refused handshake as error then close 1006", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  (async () => {
    const conn = await listener.accept();
    await conn.read(new Uint8Array(4096));
    await conn.write(enc.encode("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n"));
    conn.close();
  })();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const closed = waitEvent<CloseEvent>(ws, "close");
  const err = await waitEvent<ErrorEvent>(ws, "error");
  assert(err.message.includes("403"), err.message);
  const ev = await closed;
  assertEquals([ev.code, ev.wasClean], [1006, false]);
  listener.close();
});

Deno.test("WebSocket answers every message read together with a Close frame before its Close reply (RFC 6455 §5.5.1)", async () => {
  // An echo server that reads two messages and the client's Close frame in one read (as on a
  // loaded machine): both echoes must precede the Close reply.
  const written: Uint8Array[] = [];
  let closed = false;
  const transport = {
    read: () => new Promise<null>(() => {}),
    write: (p: Uint8Array) => (written.push(p.slice()), Promise.resolve(p.length)),
    close: () => void (closed = true),
  };
  const ws = WebSocket.fromTransport(transport, {
    role: "server",
    url: "ws://x/",
    protocol: "",
    extensions: "",
    deflate: undefined,
    leftover: concatBytes(
      peerBytes({ op: 1, data: "first line" }, "server"),
      peerBytes({ op: 1, data: "second line" }, "server"),
      peerBytes({ op: 8, data: closePayload(1000, "") }, "server"),
    ),
  });
  const flushed: string[] = [];
  ws.onmessage = async (e) => {
    ws.send(e.data);
    await ws.flush();
    flushed.push(e.data);
  };
  const ev = await waitEvent<CloseEvent>(ws, "close");
  assertEquals(ev.code, 1000);
  assert(ev.wasClean && closed);
  assertEquals(sentFrames(written, "server"), [[1, "first line"], [1, "second line"], [8, 1000]]);
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(flushed, ["first line", "second line"]);
});

Deno.test("WebSocket.send() keeps the order of Blob and other messages", async () => {
  const got: unknown[] = [];
  const done = Promise.withResolvers<void>();
  await using server = serveWebSocket({ hostname: "127.0.0.1", port: 0 }, (ws) => {
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => {
      got.push(typeof e.data === "string" ? e.data : [...new Uint8Array(e.data)]);
      if (got.length === 3) done.resolve();
    };
  });
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
  await waitEvent(ws, "open");
  ws.send("one");
  ws.send(new Blob([new Uint8Array([2, 2])]));
  ws.send("three");
  await done.promise;
  assertEquals(got, ["one", [2, 2], "three"]);
  ws.close();
  await waitEvent(ws, "close");
});
