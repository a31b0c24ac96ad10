// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// Helpers shared by the WebSocket tests: assertions, frames as a peer sends them, and the frames
// a protocol sent, simplified for comparison.
import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { concat } from "../../bytes.ts";
import {
  CloseCode,
  decodeFrame,
  encodeFrame,
  Opcode,
  type WebSocketEvent,
  type WebSocketRole,
} from "./mod.ts";

export const assert: (value: unknown, message?: string) => asserts value = ok;
export const assertEquals = (actual: unknown, expected: unknown, message?: string): void =>
  deepStrictEqual(actual, expected, message);
// deno-lint-ignore no-explicit-any
export function assertThrows<E extends Error>(fn: () => unknown, cls: new (...a: any[]) => E): E {
  try {
    fn();
  } catch (e) {
    assert(e instanceof cls, `expected ${cls.name}, got ${e}`);
    return e;
  }
  throw new Error(`expected ${cls.name} to be thrown`);
}
// deno-lint-ignore no-explicit-any
export async function assertRejects(fn: () => Promise<unknown>, cls: new (...a: any[]) => Error) {
  await rejects(fn, cls);
}

export const enc = new TextEncoder();
export const dec = new TextDecoder();
export const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

export const hex = (s: string): Uint8Array =>
  new Uint8Array(s.split(" ").map((h) => parseInt(h, 16)));
export const concatBytes = (...parts: Uint8Array[]): Uint8Array => concat(parts);

export interface PeerFrame {
  op: number;
  data?: string | Uint8Array;
  fin?: boolean;
  rsv?: number;
  /** Deliver this frame and the ones after it separately (for fail-fast checks). */
  split?: boolean;
}

export type Ev = ["message", string | Uint8Array] | ["ping" | "pong", string] | [
  "close",
  number,
  boolean,
];
export type Sent = [number, string | number | Uint8Array];

export const closePayload = (code: number, reason = "") => {
  const r = enc.encode(reason);
  const b = new Uint8Array(2 + r.length);
  b[0] = code >> 8;
  b[1] = code & 255;
  b.set(r, 2);
  return b;
};

export function peerBytes(f: PeerFrame, role: WebSocketRole): Uint8Array {
  const payload = typeof f.data === "string" ? enc.encode(f.data) : f.data ?? new Uint8Array(0);
  const rsv = f.rsv ?? 0;
  return encodeFrame({
    fin: f.fin ?? true,
    rsv1: (rsv & 4) !== 0,
    rsv2: (rsv & 2) !== 0,
    rsv3: (rsv & 1) !== 0,
    opcode: f.op,
    mask: role === "server" ? MASK : undefined,
    payload,
  });
}

export function simplify(events: WebSocketEvent[]): Ev[] {
  const out: Ev[] = [];
  for (const e of events) {
    if (e.type === "message") out.push(["message", e.data]);
    else if (e.type === "ping" || e.type === "pong") out.push([e.type, dec.decode(e.data)]);
    else if (e.type === "close") out.push(["close", e.code, e.wasClean]);
  }
  return out;
}

export function sentFrames(chunks: Uint8Array[], role: WebSocketRole): Sent[] {
  const all = concat(chunks);
  const out: Sent[] = [];
  for (let pos = 0; pos < all.length;) {
    const d = decodeFrame(all, pos)!;
    assertEquals(d.frame.mask !== undefined, role === "client", "client frames masked, server not");
    pos += d.length;
    const p = d.frame.payload;
    if (d.frame.opcode === Opcode.Close) {
      out.push([Opcode.Close, p.length ? (p[0]! << 8) | p[1]! : CloseCode.NoStatus]);
    } else if (d.frame.opcode === Opcode.Binary) out.push([Opcode.Binary, p]);
    else out.push([d.frame.opcode, dec.decode(p)]);
  }
  return out;
}

/** Compressible text of `n` characters (deterministic for a seed). */
export const compressible = (n: number, seed: number) => {
  const words = ["alpha", "beta", "gamma", "delta", "INVITE", "sip:", "SDP", "\u00e9t\u00e9 "];
  let s = "";
  let x = seed;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += words[x % words.length] + (x % 7 === 0 ? "\n" : " ");
  }
  return s.slice(0, n);
};

/** The client handshake of RFC 6455 §1.3. */
export const REQ = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n" +
  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n" +
  "Sec-WebSocket-Version: 13\r\n\r\n";
