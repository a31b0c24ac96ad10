// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Tests of the RTMPT handler and HTTP/1.1 listener (vnd/adobe/rtmpt/deno.ts) with a fake
// backend and with the RTMP server.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { concat } from "@rtclite/std/bytes";
import { withTimeout } from "@rtclite/testing";
import { RTMPT_CONTENT_TYPE } from "./mod.ts";
import { RtmptHandler, type RtmpTransport, serveRtmpt } from "./deno.ts";
import { MessageType } from "../rtmp/mod.ts";
import { serveRtmp } from "../rtmp/net.ts";

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
  const { RtmpConnection, encodeCommand, decodeCommand } = await import("../rtmp/mod.ts");
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
    got = concat([got, more.subarray(1)]) as Uint8Array<ArrayBuffer>;
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
