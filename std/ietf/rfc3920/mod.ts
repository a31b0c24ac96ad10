// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * XMPP core for clients: RFC 3920, as updated (obsoleted) by RFC 6120, which this module
 * implements. References cite RFC 6120's sections and, where RFC 3920 has the rule under another
 * number, RFC 3920's beside them (RFC 6120 §4.9 stream errors are RFC 3920 §4.7, §4.7 stream
 * attributes are §4.4, §8 stanzas are §9; TLS §5, SASL §6 and binding §7 keep their numbers but
 * RFC 3920 does not subdivide them as finely).
 *
 * JIDs, the client stream state machine (stream headers, STARTTLS, SASL PLAIN and
 * SCRAM-SHA-1/-256, resource binding, session) and stanza errors, without I/O:
 *
 * - **Addresses and stanzas** (`stanza.ts`): {@linkcode parseJid}/{@linkcode formatJid},
 *   {@linkcode iqError}, {@linkcode parseStanzaError}, the typed errors ({@linkcode StreamError},
 *   {@linkcode SaslError}, {@linkcode StanzaError}, {@linkcode XmppTimeoutError}).
 * - **SCRAM** (`scram.ts`): {@linkcode ScramClient}, the SCRAM mechanism (RFC 5802) on its own.
 * - **Stream** (`stream.ts`): {@linkcode XmppStream} is fed received bytes (through the restricted
 *   push parser of `@rtclite/std/w3c/simplexml`) and returns events (`starttls`, `authenticated`,
 *   `online`, `stanza`, `closed`) while queueing the XML to send; {@linkcode XmppSession} is what
 *   an online stream offers the layers above.
 *
 * The TCP/TLS adapter is `@rtclite/std/ietf/rfc3920/deno`: its `XmppClient` connects, upgrades
 * with STARTTLS, routes stanzas to handlers, answers unhandled iq requests with
 * `service-unavailable` and matches iq responses to requests with timeouts.
 *
 * Instant messaging, presence and the roster (RFC 3921/6121) are in `@rtclite/std/ietf/rfc3921`.
 * Not implemented: SRV lookup (connect to a host and port), stringprep/SASLprep (JIDs are checked
 * for forbidden characters and lower-cased in the domain only), SCRAM channel binding (`-PLUS`),
 * stream management and compression.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc6120 | RFC 6120 (XMPP Core)}
 * @see {@link https://www.rfc-editor.org/rfc/rfc3920 | RFC 3920}
 * @see {@link https://www.rfc-editor.org/rfc/rfc5802 | RFC 5802 (SCRAM)}
 *
 * @example A scripted exchange with the sans-I/O core
 * ```ts
 * import { XmppStream } from "@rtclite/std/ietf/rfc3920";
 * import { equal } from "node:assert/strict";
 *
 * const s = new XmppStream({ jid: "juliet@example.com", password: "r0m30", allowPlain: true });
 * s.open();
 * equal(s.takeOutput().includes("<stream:stream to=\"example.com\""), true);
 * const ns = "xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'";
 * s.receive(`<stream:stream ${ns} id='s1' from='example.com' version='1.0'>` +
 *   "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
 *   "<mechanism>PLAIN</mechanism></mechanisms></stream:features>");
 * equal(s.takeOutput(), "<auth xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\" mechanism=\"PLAIN\">" +
 *   "AGp1bGlldAByMG0zMA==</auth>");
 * equal(s.receive("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")[0]?.type, "authenticated");
 * s.takeOutput();
 * s.receive(`<stream:stream ${ns} id='s2' from='example.com' version='1.0'>` +
 *   "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
 * equal(s.takeOutput().includes("<bind xmlns=\"urn:ietf:params:xml:ns:xmpp-bind\"/>"), true);
 * const [online] = s.receive("<iq type='result' id='bind_1'><bind " +
 *   "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/balcony</jid></bind></iq>");
 * equal(online?.type === "online" && online.jid.resource, "balcony");
 * ```
 *
 * @module
 */
// @implements RFC6120 (XMPP core: client side)
export { ScramClient, type ScramOptions } from "./scram.ts";
export * from "./stream.ts"; // with stanza.ts: addresses, stanza errors, typed errors
