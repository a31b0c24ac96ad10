// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// @implements RFC3261 (SIP: Session Initiation Protocol), RFC3581 (rport), RFC5658 (double Record-Route)
/**
 * SIP (RFC 3261): messages, transactions, transports, the user-agent core
 * with dialogs, and the proxy core, with RFC 3581 rport and RFC 5658
 * double Record-Route.
 *
 * The layers follow the specification and can be used separately:
 *
 * - messages: {@linkcode parseMessage}, {@linkcode SipMessage} with typed
 *   header access ({@linkcode parseVia}, {@linkcode parseAddress},
 *   {@linkcode parseCSeq}, {@linkcode parseTokenWithParams}, {@linkcode parseWarning},
 *   {@linkcode parseRetryAfter}, {@linkcode parseSipDate}), {@linkcode validateMessage} and
 *   {@linkcode SipStreamFramer} for TCP/TLS (§7, §18.3, §20, §25);
 * - transactions: the four state machines of §17 with timers A-K over an
 *   injected {@linkcode Clock} ({@linkcode ManualClock} in tests), and the
 *   matching keys of §17.1.3/§17.2.3;
 * - transports: {@linkcode UdpTransport}, {@linkcode TcpTransport},
 *   {@linkcode TlsTransport}; {@linkcode SipEndpoint} joins them to the
 *   transactions, stamps Via `received`/`rport` and routes responses (§18);
 * - cores: {@linkcode UserAgent} (registration, calls, dialogs, digest
 *   retry) and {@linkcode ProxyCore} (§16).
 *
 * See {@link https://www.rfc-editor.org/rfc/rfc3261 | RFC 3261},
 * {@link https://www.rfc-editor.org/rfc/rfc3581 | RFC 3581} and
 * {@link https://www.rfc-editor.org/rfc/rfc5658 | RFC 5658}.
 *
 * Command line: `deno run -A std/ietf/rfc3261.ts FILE` parses a message
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
} from "./_sip_message.ts";
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
} from "./_sip_headers.ts";
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
} from "./_sip_transaction.ts";
export { ParseError } from "../errors.ts";
export { type Params, Uri } from "./rfc2396.ts";
export {
  type SipConnection,
  type SipSource,
  type SipTransport,
  type StreamTransportOptions,
  TcpTransport,
  TlsTransport,
  type TlsTransportOptions,
  type TransportName,
  type TransportOptions,
  UdpTransport,
  WsTransport,
  type WsTransportOptions,
} from "./_sip_transport.ts";
export {
  type ClientTransaction,
  type DnsLookup,
  type IncomingRequest,
  newBranch,
  randomToken,
  type RequestCallbacks,
  responseAddress,
  type ServerTransaction,
  SipEndpoint,
  type SipEndpointOptions,
  type SipTarget,
  type SipTraceEvent,
} from "./_sip_endpoint.ts";
export { ALLOW, bestResponse, ProxyCore, type ProxyOptions } from "./_sip_proxy.ts";
export {
  Call,
  type CallState,
  checkUasRequest,
  Dialog,
  type DialogState,
  type UasCapabilities,
  UserAgent,
  type UserAgentOptions,
} from "./_sip_ua.ts";

import { parseMessage as parse } from "./_sip_message.ts";

if (import.meta.main) {
  const { parseVerbosity, setupLogging } = await import("../log.ts");
  const { level, args } = parseVerbosity(Deno.args);
  await setupLogging(level);
  if (args.length !== 1 || args[0] === "--help" || args[0] === "-h") {
    console.error("Usage: deno run -A std/ietf/rfc3261.ts [-v|-q] FILE|-");
    Deno.exit(args[0] === "--help" || args[0] === "-h" ? 0 : 2);
  }
  const bytes = args[0] === "-"
    ? new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer())
    : await Deno.readFile(args[0]!);
  try {
    const m = parse(bytes);
    console.log(JSON.stringify(
      {
        method: m.method,
        uri: m.uri,
        status: m.isRequest ? undefined : m.status,
        reason: m.isRequest ? undefined : m.reason,
        headers: m.headers,
        body: m.text,
      },
      null,
      2,
    ));
  } catch (e) {
    console.error(String(e));
    Deno.exit(1);
  }
}
