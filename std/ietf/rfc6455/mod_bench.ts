// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Benchmarks for std/ietf/rfc6455 beside npm:ws@8.23.0 and Deno's built-in WebSocket server.
//   deno bench -A std/ietf/rfc6455/mod_bench.ts
// Frame groups: one iteration encodes or decodes 100 frames, with the pure codec
// (encodeFrameHeader, encodeFrame) and with a WebSocketProtocol (send + takeOutput, which
// queues frames into one output slab) beside ws's Sender.frame and Receiver.
// Echo groups: one iteration sends a batch of messages from Deno's built-in WebSocket client and
// waits for every echo, against our server, Deno.upgradeWebSocket (Deno.serve) and the ws server
// (npm:ws on node:http).
import { Buffer } from "node:buffer";
import { createServer } from "node:http";
import * as wsLib from "npm:ws@8.23.0";
import { encodeFrame, encodeFrameHeader, Opcode, WebSocketProtocol } from "./mod.ts";
import { serveWebSocket } from "./deno.ts";

// ws ships no types; the few members used here.
interface WsSocket {
  on(event: "message", fn: (data: Uint8Array, isBinary: boolean) => void): void;
  send(data: Uint8Array, options: { binary: boolean }): void;
}
interface WsLib {
  Sender: {
    frame(data: Uint8Array, options: Record<string, unknown>): Uint8Array[];
  };
  Receiver: new (options: Record<string, unknown>) => {
    on(event: "message", fn: () => void): void;
    write(data: Uint8Array): void;
  };
  WebSocketServer: new (options: Record<string, unknown>) => {
    on(event: "connection", fn: (ws: WsSocket) => void): void;
  };
}
const { Receiver, Sender, WebSocketServer: WsServer } = wsLib as unknown as WsLib;

const FRAMES = 100;
const small = new Uint8Array(64).fill(0x61);
const large = new Uint8Array(65536).fill(0x62);
const MASK = new Uint8Array([1, 2, 3, 4]);

function maskedStream(payload: Uint8Array): Uint8Array {
  const one = encodeFrame({
    fin: true,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    opcode: Opcode.Binary,
    mask: MASK,
    payload,
  });
  const all = new Uint8Array(one.length * FRAMES);
  for (let i = 0; i < FRAMES; i++) all.set(one, i * one.length);
  return all;
}

for (const [name, payload] of [["64 B", small], ["64 KiB", large]] as const) {
  const wire = maskedStream(payload);
  const wireBuf = Buffer.from(wire);
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  // Codec rows: like ws's Sender.frame, produce [header, payload] per frame (unmasked) or one
  // buffer with the masked payload (masked), with a fixed masking key on both sides.
  const frame = { fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 2, payload };
  const maskedFrame = { ...frame, mask: MASK };
  // Protocol rows: one connection per role (its setup, about 150 ns, is not in the loop), each
  // iteration queues 100 messages and takes the output.
  const server = new WebSocketProtocol({ role: "server" });
  const client = new WebSocketProtocol({ role: "client" });
  const wsPlain = { fin: true, rsv1: false, opcode: 2, mask: false, readOnly: true };
  const wsMasked = {
    fin: true,
    rsv1: false,
    opcode: 2,
    mask: true,
    readOnly: true,
    maskBuffer: MASK,
    generateMask() {},
  };
  Deno.bench(`rtclite: encodeFrameHeader ${FRAMES} unmasked frames of ${name}`, {
    group: `encode ${name}`,
    baseline: true,
  }, () => {
    let n = 0;
    for (let i = 0; i < FRAMES; i++) n += [encodeFrameHeader(frame), payload].length;
    if (n === 0) throw new Error("no output");
  });
  Deno.bench(`rtclite: WebSocketProtocol.send ${FRAMES} server frames of ${name}`, {
    group: `encode ${name}`,
  }, () => {
    for (let i = 0; i < FRAMES; i++) server.send(payload);
    if (server.takeOutput().length === 0) throw new Error("no output");
  });
  Deno.bench(`ws: Sender.frame ${FRAMES} unmasked frames of ${name}`, {
    group: `encode ${name}`,
  }, () => {
    let n = 0;
    for (let i = 0; i < FRAMES; i++) n += Sender.frame(buf, wsPlain).length;
    if (n === 0) throw new Error("no output");
  });
  Deno.bench(`rtclite: encodeFrame ${FRAMES} masked frames of ${name}`, {
    group: `mask ${name}`,
    baseline: true,
  }, () => {
    let n = 0;
    for (let i = 0; i < FRAMES; i++) n += encodeFrame(maskedFrame).length;
    if (n === 0) throw new Error("no output");
  });
  Deno.bench(`rtclite: WebSocketProtocol.send ${FRAMES} client frames of ${name}`, {
    group: `mask ${name}`,
  }, () => {
    for (let i = 0; i < FRAMES; i++) client.send(payload);
    if (client.takeOutput().length === 0) throw new Error("no output");
  });
  Deno.bench(`ws: Sender.frame ${FRAMES} masked frames of ${name}`, {
    group: `mask ${name}`,
  }, () => {
    let n = 0;
    for (let i = 0; i < FRAMES; i++) n += Sender.frame(buf, wsMasked).length;
    if (n === 0) throw new Error("no output");
  });
  Deno.bench(`rtclite: decode ${FRAMES} masked frames of ${name}`, {
    group: `decode ${name}`,
    baseline: true,
  }, () => {
    const p = new WebSocketProtocol({ role: "server" });
    if (p.receive(wire).length !== FRAMES) throw new Error("lost frames");
  });
  Deno.bench(`ws: Receiver ${FRAMES} masked frames of ${name}`, { group: `decode ${name}` }, () => {
    const r = new Receiver({ isServer: true, maxPayload: 1 << 20 });
    let n = 0;
    r.on("message", () => n++);
    r.write(wireBuf);
    if (n !== FRAMES) throw new Error(`lost frames: ${n}`);
  });
}

// === Echo throughput ===

const ours = serveWebSocket({ hostname: "127.0.0.1", port: 0, deflate: false }, (ws) => {
  ws.binaryType = "arraybuffer";
  ws.onmessage = (e) => ws.send(e.data);
});
const builtin = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (e) => socket.send(e.data);
  return response;
});
const httpServer = createServer();
const wss = new WsServer({ server: httpServer, perMessageDeflate: false });
wss.on(
  "connection",
  (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })),
);
const wsPort = await new Promise<number>((r) =>
  httpServer.listen(0, "127.0.0.1", () => r((httpServer.address() as { port: number }).port))
);

async function client(port: number): Promise<globalThis.WebSocket> {
  const ws = new globalThis.WebSocket(`ws://127.0.0.1:${port}/`);
  ws.binaryType = "arraybuffer";
  await new Promise((r, j) => {
    ws.onopen = r;
    ws.onerror = j;
  });
  return ws;
}

/** Sends `count` messages and resolves when all echoes are back. */
function echo(ws: globalThis.WebSocket, payload: Uint8Array, count: number): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    ws.onmessage = () => {
      if (++got === count) resolve();
    };
    for (let i = 0; i < count; i++) ws.send(payload);
  });
}

const servers: [string, number][] = [
  ["rtclite serveWebSocket", ours.addr.port],
  ["Deno.upgradeWebSocket", builtin.addr.port],
  ["ws WebSocketServer", wsPort],
];
const clients = new Map<string, globalThis.WebSocket>();
for (const [name, port] of servers) clients.set(name, await client(port));

for (const [label, payload, count] of [["64 B", small, 1000], ["64 KiB", large, 100]] as const) {
  for (const [name] of servers) {
    Deno.bench(`${name}: echo ${count} x ${label}`, {
      group: `echo ${label}`,
      baseline: name.startsWith("rtclite"),
      n: label === "64 B" ? 200 : 100,
      warmup: 20,
    }, async () => {
      await echo(clients.get(name)!, payload, count);
    });
  }
}

globalThis.addEventListener("unload", () => {
  for (const ws of clients.values()) ws.close();
});
