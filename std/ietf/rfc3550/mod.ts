// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * RTP and RTCP: packets, the participant's session state (SSRC choice, collision and loop
 * resolution, sequence validation, jitter, the RTCP transmission interval with
 * reconsideration, sender and receiver reports) (RFC 3550).
 *
 * The codec functions follow Pion's quartet: {@linkcode decodeRtp}, {@linkcode encodeRtp},
 * {@linkcode encodeRtpInto}, {@linkcode encodedRtpLength}, and {@linkcode decodeRtcp} /
 * {@linkcode encodeRtcp} for compound RTCP packets. {@linkcode RtpSession} is sans-I/O: it takes
 * packets and the time from an injected clock and returns packets to send and the time of the
 * next RTCP transmission.
 *
 * The folder, in reading order: `rtp.ts` (RTP packets, §5), `rtcp.ts` (RTCP packets, §6.4-§6.7),
 * `session.ts` (session state and timing, §6.3, §8, Appendix A), all re-exported here;
 * `udp.ts` (`@rtclite/std/ietf/rfc3550/udp`), the `node:dgram` adapter `RtpSocket` with an RTP
 * and an RTCP socket (port and port + 1); and `main.ts`, the command line.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc3550 | RFC 3550}.
 *
 * Command line (prints RTCP statistics at the end):
 * - `deno run -A std/ietf/rfc3550/main.ts send HOST:PORT (FILE.wav|tone:HZ) [--pt 0|8] [--duration S] [--port LOCAL]`
 * - `deno run -A std/ietf/rfc3550/main.ts recv [HOST:]PORT OUT.wav [--duration S] [--pt 0|8]`
 *
 * @example Round-trip an RTP packet
 * ```ts
 * import { decodeRtp, encodeRtp } from "@rtclite/std/ietf/rfc3550";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const bytes = encodeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 0x1234,
 *   marker: true, csrcs: [], padding: 0, payload: new Uint8Array([0xff, 0x7f]) });
 * equal(bytes.length, 14);
 * const p = decodeRtp(bytes);
 * equal(p.marker, true);
 * deepEqual(p.payload, new Uint8Array([0xff, 0x7f]));
 * ```
 *
 * @module
 */
// @implements RFC3550 (RTP)

export { ParseError } from "../../errors.ts";
export * from "./rtp.ts";
export * from "./rtcp.ts";
export * from "./session.ts";
