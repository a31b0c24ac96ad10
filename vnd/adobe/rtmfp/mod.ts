// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * RTMFP, Adobe's Secure Real-Time Media Flow Protocol (RFC 7016), with the cryptography profile
 * Flash Player deployed.
 *
 * - `packet.ts`: the wire format (§2): VLUs, options, addresses, the scrambled session id, the
 *   packet header and every chunk.
 * - `crypto.ts`: the Flash cryptography profile: AES-128-CBC packets with a checksum, the default
 *   key, Diffie-Hellman group 2 and the HMAC-SHA256 session keys.
 * - `session.ts`: the sans-I/O endpoint and sessions (§3.3-§3.5): the four-way handshake with
 *   cookies, cookie change, glare, redirects, forwarded hellos and packet fragments; timestamps,
 *   retransmission timeout, congestion window, burst avoidance and time critical notification;
 *   keepalive, address mobility and close.
 * - `flow.ts`: flows (§3.6): fragments, sequence numbers, acknowledgements, reassembly and
 *   in-order delivery, flow exceptions, buffer probes, flow close.
 * - `flash.ts`: RTMP over RTMFP as Flash Player speaks it: flow signatures, messages, and a
 *   NetConnection/NetStream server (publish, play, relay) and client.
 * - `udp.ts` (its own export, `@rtclite/vnd/adobe/rtmfp/udp`): the endpoint on a UDP socket, the
 *   rendezvous server and the client. `main.ts`: the command line.
 *
 * No other RTMFP implementation can be installed here to test against; the Flash profile's
 * details were checked against the source of open servers that interoperated with Flash Player
 * (see `crypto.ts`), and `--trace` prints every packet decoded so that a capture from a
 * Flash-era client can be compared.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc7016 | RFC 7016}
 *
 * @example Decode the Range Ack of RFC 7016 Figure 5
 * ```ts
 * import { ackedAbove, decodeChunk, type RangeAckChunk } from "@rtclite/vnd/adobe/rtmfp";
 * import { deepEqual } from "node:assert/strict";
 *
 * const ack = decodeChunk(new Uint8Array([0x51, 0, 7, 5, 0x7f, 0x10, 0, 0, 1, 3]));
 * deepEqual(ackedAbove(ack as RangeAckChunk), [18, 21, 22, 23, 24]);
 * ```
 *
 * @module
 */
// @implements RFC7016 (Adobe's Secure Real-Time Media Flow Protocol)
export * from "./flash.ts"; // with session.ts, crypto.ts and packet.ts
