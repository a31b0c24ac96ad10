// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// RTMP chunk stream throughput: 100 video messages of 4 KiB (40 ms apart, stream 1, chunk
// stream 6) encoded and decoded by rtclite and by node-media-server's chunk code.
// Run: deno bench -A vnd/adobe/rtmp/chunk_bench.ts
import { Buffer } from "node:buffer";
import Rtmp from "npm:node-media-server@4.4.3/src/protocol/rtmp.js";
import { ChunkDecoder, ChunkEncoder, type RtmpMessage } from "./mod.ts";

const COUNT = 100;
const SIZE = 4096;
const messages: RtmpMessage[] = Array.from({ length: COUNT }, (_, i) => {
  const payload = new Uint8Array(SIZE).map((_, j) => (i + j) & 0xff);
  payload[0] = 0x22; // Sorenson H.263 inter frame
  return { type: 9, streamId: 1, timestamp: i * 40, payload };
});

function encodeAll(chunkSize: number): Uint8Array {
  const enc = new ChunkEncoder({ chunkSize });
  const parts = messages.map((m) => enc.encode(m, 6));
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// node-media-server writes every message with a type 0 header at chunk size 65535.
interface NmsPacket {
  header: {
    fmt: number;
    cid: number;
    timestamp: number;
    length: number;
    type: number;
    stream_id: number;
  };
  clock: number;
  payload: Buffer;
}
const nmsPackets: NmsPacket[] = messages.map((m) => ({
  header: { fmt: 0, cid: 6, timestamp: m.timestamp, length: SIZE, type: 9, stream_id: 1 },
  clock: m.timestamp,
  payload: Buffer.from(m.payload),
}));

interface NmsRtmp {
  handshakeState: number;
  inChunkSize: number;
  onPacketCallback: (p: unknown) => void;
  parserData(b: Buffer): void;
}
const NmsRtmp = Rtmp as unknown as {
  new (): NmsRtmp;
  chunksCreate(p: NmsPacket): Buffer;
};

for (const chunkSize of [128, 4096, 65536]) {
  const stream = encodeAll(chunkSize);
  const buffer = Buffer.from(stream);
  const group = `decode ${COUNT} x 4 KiB messages, chunk size ${chunkSize}`;

  Deno.bench({ name: `rtclite ChunkDecoder (chunk size ${chunkSize})`, group }, () => {
    const dec = new ChunkDecoder({ chunkSize });
    let n = 0;
    for (let i = 0; i < stream.length; i += 16384) {
      n += dec.push(stream.subarray(i, i + 16384)).length;
    }
    if (n !== COUNT) throw new Error(`decoded ${n}`);
  });

  Deno.bench({ name: `node-media-server Rtmp.parserData (chunk size ${chunkSize})`, group }, () => {
    const rtmp = new NmsRtmp();
    rtmp.handshakeState = 3; // past the handshake
    rtmp.inChunkSize = chunkSize;
    let n = 0;
    rtmp.onPacketCallback = () => n++;
    for (let i = 0; i < buffer.length; i += 16384) rtmp.parserData(buffer.subarray(i, i + 16384));
    if (n !== COUNT) throw new Error(`decoded ${n}`);
  });
}

// node-media-server encodes at chunk size 65535 only: the like-for-like row is that one; the
// other chunk sizes have no peer (and no ratio).
for (const chunkSize of [128, 4096]) {
  Deno.bench({
    name: `rtclite ChunkEncoder (chunk size ${chunkSize})`,
    group: `encode ${COUNT} x 4 KiB messages, chunk size ${chunkSize}`,
  }, () => {
    const enc = new ChunkEncoder({ chunkSize });
    for (const m of messages) enc.encode(m, 6);
  });
}

Deno.bench({
  name: "rtclite ChunkEncoder (chunk size 65535)",
  group: `encode ${COUNT} x 4 KiB messages, chunk size 65535`,
}, () => {
  const enc = new ChunkEncoder({ chunkSize: 65535 });
  for (const m of messages) enc.encode(m, 6);
});

Deno.bench({
  name: "node-media-server Rtmp.chunksCreate (chunk size 65535)",
  group: `encode ${COUNT} x 4 KiB messages, chunk size 65535`,
}, () => {
  for (const p of nmsPackets) NmsRtmp.chunksCreate(p);
});
