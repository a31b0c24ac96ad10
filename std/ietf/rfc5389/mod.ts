// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * STUN: this module implements RFC 5389 as revised by RFC 8489, which obsoletes it. Section
 * numbers in the code are RFC 8489's; where RFC 5389 numbers the same text differently, its
 * section is given beside (`// @implements RFC8489 §14.5 (RFC 5389 §15.4)`): message structure
 * §5 (5389: §6), procedures §6 (§7), FINGERPRINT §7 (§8), credentials §9 (§10), ALTERNATE-SERVER
 * §10 (§11), RFC 3489 compatibility §11 (§12), attributes §14.x (§15.x; USERHASH,
 * MESSAGE-INTEGRITY-SHA256, PASSWORD-ALGORITHM(S) and ALTERNATE-DOMAIN are new in RFC 8489).
 *
 * The pure core, in reading order:
 *
 * - `message.ts`: the header, {@linkcode decodeStun}/{@linkcode encodeStun}, and the security
 *   attributes the codec appends and {@linkcode verifyIntegrity} checks (MESSAGE-INTEGRITY with
 *   HMAC-SHA1, MESSAGE-INTEGRITY-SHA256, FINGERPRINT);
 * - `attributes.ts`: typed attributes (addresses, text, ERROR-CODE, UNKNOWN-ATTRIBUTES,
 *   PASSWORD-ALGORITHMS) and {@linkcode describeStun};
 * - `credentials.ts`: short- and long-term keys, USERHASH, the nonce cookie, and
 *   {@linkcode LongTermCredentials} (client side);
 * - `transaction.ts`: {@linkcode StunClientTransaction}, the retransmission schedule;
 * - `server.ts`: {@linkcode StunServer}, datagram in, response out;
 * - `stream.ts`: {@linkcode StunFramer}, messages (and TURN's ChannelData) cut from a TCP or TLS
 *   stream (RFC 8489 §6.2.2).
 *
 * HMACs are computed synchronously with `@noble/hashes`, so the codec and the state machines need
 * no `await`. The socket adapters are in `@rtclite/std/ietf/rfc5389/udp` (`StunClient`,
 * `serveStunUdp`) and `@rtclite/std/ietf/rfc5389/tcp` (`connectStun`, `serveStunTcp`: TCP and
 * TLS), the command line in `@rtclite/std/ietf/rfc5389/main`.
 *
 * Specifications: {@link https://www.rfc-editor.org/rfc/rfc8489 | RFC 8489},
 * {@link https://www.rfc-editor.org/rfc/rfc5389 | RFC 5389}, test vectors
 * {@link https://www.rfc-editor.org/rfc/rfc5769 | RFC 5769}.
 *
 * Command line: `deno run -A std/ietf/rfc5389/main.ts stun:127.0.0.1:3478` prints the mapped
 * address (`-u user -p pass [--realm]` for credentials, `--sha256` for MESSAGE-INTEGRITY-SHA256);
 * `--serve 127.0.0.1:3478` runs a server.
 *
 * @example Build a Binding request, encode it with integrity and a fingerprint, decode it back
 * ```ts
 * import {
 *   createMessage, decodeStun, encodeStun, shortTermKey, StunAttr, StunClass, StunMethod,
 *   textAttribute, verifyIntegrity,
 * } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 *
 * const key = shortTermKey("secret");
 * const req = createMessage(StunMethod.Binding, StunClass.Request, [
 *   textAttribute(StunAttr.USERNAME, "alice"),
 * ]);
 * const bytes = encodeStun(req, { integrity: key, fingerprint: true });
 * const back = decodeStun(bytes);
 * equal(back.method, StunMethod.Binding);
 * equal(verifyIntegrity(back, key), "sha1");
 * ```
 *
 * @module
 */
// @implements RFC8489 (STUN)
export * from "./message.ts";
export * from "./attributes.ts";
export * from "./credentials.ts";
export * from "./transaction.ts";
export * from "./server.ts";
export * from "./stream.ts";
