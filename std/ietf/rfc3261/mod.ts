// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * SIP (RFC 3261): messages, transactions, the endpoint, the user-agent core
 * with dialogs, and the proxy core, with RFC 3581 rport and RFC 5658
 * double Record-Route. This is the sans-I/O core: it runs in a browser,
 * on an injected clock, sending through any {@linkcode SipTransport}.
 *
 * The layers follow the specification, one file each, and can be used
 * separately:
 *
 * - messages (`message.ts`, `headers.ts`): {@linkcode parseMessage}, {@linkcode SipMessage} with typed
 *   header access ({@linkcode parseVia}, {@linkcode parseAddress},
 *   {@linkcode parseCSeq}, {@linkcode parseTokenWithParams}, {@linkcode parseWarning},
 *   {@linkcode parseRetryAfter}, {@linkcode parseSipDate}), {@linkcode validateMessage} and
 *   {@linkcode SipStreamFramer} for TCP/TLS (§7, §18.3, §20, §25);
 * - transactions (`transaction.ts`): the four state machines of §17 with timers A-K over an
 *   injected {@linkcode Clock} ({@linkcode ManualClock} in tests), and the
 *   matching keys of §17.1.3/§17.2.3;
 * - the endpoint (`endpoint.ts`): {@linkcode SipEndpoint} joins
 *   {@linkcode SipTransport}s to the transactions, stamps Via
 *   `received`/`rport` and routes responses (§18);
 * - cores: {@linkcode Dialog} (`dialog.ts`, §12), {@linkcode UserAgent}
 *   (`ua.ts`: registration, calls, digest retry) and {@linkcode ProxyCore}
 *   (`proxy.ts`, §16).
 *
 * The socket adapters have their own paths: `UdpTransport`, `TcpTransport`
 * and `TlsTransport` in `@rtclite/std/ietf/rfc3261/transport`, `WsTransport`
 * (RFC 7118) in `@rtclite/std/ietf/rfc3261/ws_transport`.
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc3261 | RFC 3261},
 * {@link https://www.rfc-editor.org/rfc/rfc3581 | RFC 3581} and
 * {@link https://www.rfc-editor.org/rfc/rfc5658 | RFC 5658}.
 *
 * Command line: `deno run -A std/ietf/rfc3261/main.ts FILE` parses a message
 * (from a file, or standard input with `-`) and prints its fields as JSON.
 *
 * @example Parse a request, answer it
 * ```ts
 * import { createResponse, parseMessage } from "@rtclite/std/ietf/rfc3261";
 * import { equal } from "node:assert/strict";
 *
 * const invite = parseMessage(
 *   "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n" +
 *     "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n" +
 *     "Max-Forwards: 70\r\n" +
 *     "To: Bob <sip:bob@biloxi.example.com>\r\n" +
 *     'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r\n' +
 *     "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n" +
 *     "CSeq: 314159 INVITE\r\n" +
 *     "Content-Length: 0\r\n\r\n",
 * );
 * equal(invite.from().displayName, "Alice");
 * const ok = createResponse(invite, 200, { toTag: "a6c85cf" });
 * equal(ok.toString().split("\r\n")[0], "SIP/2.0 200 OK");
 * equal(ok.to().params.tag, "a6c85cf");
 * ```
 *
 * @module
 */
// @implements RFC3261 (SIP: Session Initiation Protocol), RFC3581 (rport), RFC5658 (double Record-Route)
export {
  canonicalHeaderName,
  createResponse,
  type CreateResponseOptions,
  type CSeq,
  formatAddress,
  formatParams,
  formatVia,
  isSipToken,
  parseAddress,
  parseAddressList,
  parseContacts,
  parseCSeq,
  parseMessage,
  type ParseMessageOptions,
  parseVia,
  quoteString,
  REASON_PHRASES,
  type SipAddress,
  type SipHeader,
  SipMessage,
  type SipMessageInit,
  type SipParams,
  SipParseError,
  SipStreamFramer,
  type SipStreamFramerOptions,
  splitList,
  validateMessage,
  type Via,
} from "./message.ts";
export {
  parseRetryAfter,
  parseSipDate,
  parseSipInteger,
  parseTimestamp,
  parseTokenWithParams,
  parseWarning,
  type RetryAfter,
  type TokenWithParams,
  type Warning,
} from "./headers.ts";
export {
  ackForNon2xx,
  type ClientFailure,
  clientTransactionKey,
  type ClientTransactionOptions,
  type Clock,
  DEFAULT_TIMERS,
  InviteClientTransaction,
  InviteServerTransaction,
  MAGIC_COOKIE,
  ManualClock,
  NonInviteClientTransaction,
  NonInviteServerTransaction,
  realClock,
  serverTransactionKey,
  type ServerTransactionOptions,
  type TimerValues,
  Transaction,
  type TransactionOptions,
  type TransactionState,
} from "./transaction.ts";
export { ParseError } from "../../errors.ts";
export { type Params, Uri } from "../rfc2396/mod.ts";
export {
  ALLOW,
  type ClientTransaction,
  type DnsLookup,
  type IncomingRequest,
  newBranch,
  randomToken,
  type RequestCallbacks,
  responseAddress,
  type ServerTransaction,
  type SipConnection,
  SipEndpoint,
  type SipEndpointOptions,
  type SipSource,
  type SipTarget,
  type SipTraceEvent,
  type SipTransport,
  SipTransportError,
  type TransportName,
  UDP_SIZE_LIMIT,
} from "./endpoint.ts";
export { Dialog, type DialogState } from "./dialog.ts";
export { bestResponse, ProxyCore, type ProxyOptions, ProxyTargetError } from "./proxy.ts";
export {
  Call,
  type CallState,
  checkUasRequest,
  type UasCapabilities,
  UserAgent,
  type UserAgentOptions,
} from "./ua.ts";
