// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * XMPP addresses, namespaces and errors (RFC 6120 §2-§4, §8; RFC 3920 §3, §4.7, §9): JIDs, the
 * core namespaces, the typed errors of `@rtclite/std/ietf/rfc3920` and stanza errors. Part of
 * `@rtclite/std/ietf/rfc3920`, which re-exports everything here.
 *
 * @example Parse a JID and answer an iq with an error
 * ```ts
 * import { formatJid, iqError, parseJid } from "@rtclite/std/ietf/rfc3920";
 * import { XmlElement } from "@rtclite/std/w3c/simplexml";
 * import { equal } from "node:assert/strict";
 *
 * const jid = parseJid("romeo@Example.net/orchard");
 * equal(formatJid(jid, true), "romeo@example.net");
 * const req = new XmlElement("iq", { type: "get", id: "1", from: formatJid(jid) });
 * equal(iqError(req, "item-not-found").attr("to"), "romeo@example.net/orchard");
 * ```
 *
 * @module
 */
import { ParseError } from "../../errors.ts";
import { XmlElement } from "../../w3c/simplexml/mod.ts";

// Types of this module's API that come from elsewhere.
export { ParseError, XmlElement };
export type { XmlNode } from "../../w3c/simplexml/mod.ts";

const utf8 = new TextEncoder();

// === Namespaces (RFC 6120 §4.8) ===

/** The XML namespaces of XMPP core. */
export const NS = {
  /** Stream namespace, prefix `stream` (RFC 6120 §4.8.1). */
  streams: "http://etherx.jabber.org/streams",
  /** Default content namespace of client streams (RFC 6120 §4.8.2). */
  client: "jabber:client",
  /** STARTTLS (RFC 6120 §5.4). */
  tls: "urn:ietf:params:xml:ns:xmpp-tls",
  /** SASL (RFC 6120 §6.4). */
  sasl: "urn:ietf:params:xml:ns:xmpp-sasl",
  /** Resource binding (RFC 6120 §7). */
  bind: "urn:ietf:params:xml:ns:xmpp-bind",
  /** Session establishment (RFC 3921 §3). */
  session: "urn:ietf:params:xml:ns:xmpp-session",
  /** Stream error conditions (RFC 6120 §4.9.2). */
  streamErrors: "urn:ietf:params:xml:ns:xmpp-streams",
  /** Stanza error conditions (RFC 6120 §8.3.2). */
  stanzaErrors: "urn:ietf:params:xml:ns:xmpp-stanzas",
} as const;

// === Errors ===

/**
 * Base class of XMPP protocol errors (stream, SASL, stanza, timeout, state).
 *
 * @example
 * ```ts
 * import { StreamError, XmppError } from "@rtclite/std/ietf/rfc3920";
 * import { ok } from "node:assert/strict";
 * ok(new StreamError("conflict") instanceof XmppError);
 * ```
 */
export class XmppError extends Error {
  /**
   * Creates an error.
   *
   * @param message Sentence-case message.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A stream error: received from the server or detected locally (RFC 6120 §4.9). Unrecoverable.
 *
 * @example
 * ```ts
 * import { StreamError } from "@rtclite/std/ietf/rfc3920";
 * import { equal } from "node:assert/strict";
 * const e = new StreamError("system-shutdown", "Bye");
 * equal(e.condition, "system-shutdown");
 * equal(e.message, "Stream error: system-shutdown (Bye)");
 * ```
 */
export class StreamError extends XmppError {
  /** The defined condition, e.g. `not-authorized` (RFC 6120 §4.9.3). */
  readonly condition: string;
  /** The optional descriptive text. */
  readonly text: string | undefined;
  /**
   * Creates a stream error.
   *
   * @param condition Defined condition.
   * @param text Descriptive text.
   */
  constructor(condition: string, text?: string) {
    super(`Stream error: ${condition}${text ? ` (${text})` : ""}`);
    this.condition = condition;
    this.text = text;
  }
}

/**
 * SASL authentication failed (RFC 6120 §6.5), or the server could not prove it knows the password.
 *
 * @example
 * ```ts
 * import { SaslError } from "@rtclite/std/ietf/rfc3920";
 * import { equal } from "node:assert/strict";
 * equal(new SaslError("not-authorized").message, "Authentication failed: not-authorized");
 * ```
 */
export class SaslError extends XmppError {
  /** The SASL condition, e.g. `not-authorized` (RFC 6120 §6.5). */
  readonly condition: string;
  /** The optional descriptive text. */
  readonly text: string | undefined;
  /**
   * Creates a SASL error.
   *
   * @param condition Condition.
   * @param text Descriptive text.
   */
  constructor(condition: string, text?: string) {
    super(`Authentication failed: ${condition}${text ? ` (${text})` : ""}`);
    this.condition = condition;
    this.text = text;
  }
}

/**
 * An error stanza received in reply to a request (RFC 6120 §8.3).
 *
 * @example
 * ```ts
 * import { StanzaError } from "@rtclite/std/ietf/rfc3920";
 * import { equal } from "node:assert/strict";
 * const e = new StanzaError("item-not-found", "cancel");
 * equal(e.message, "Stanza error: item-not-found (cancel)");
 * ```
 */
export class StanzaError extends XmppError {
  /** The defined condition (RFC 6120 §8.3.3). */
  readonly condition: string;
  /** The error type: `auth`, `cancel`, `continue`, `modify` or `wait`. */
  readonly errorType: string;
  /** The optional descriptive text. */
  readonly text: string | undefined;
  /** The error stanza, when one was received. */
  readonly stanza: XmlElement | undefined;
  /**
   * Creates a stanza error.
   *
   * @param condition Defined condition.
   * @param errorType Error type.
   * @param text Descriptive text.
   * @param stanza The received error stanza.
   */
  constructor(condition: string, errorType: string, text?: string, stanza?: XmlElement) {
    super(`Stanza error: ${condition} (${errorType})${text ? `: ${text}` : ""}`);
    this.condition = condition;
    this.errorType = errorType;
    this.text = text;
    this.stanza = stanza;
  }
}

/**
 * A request got no answer in time, or the connection closed before it did.
 *
 * @example
 * ```ts
 * import { XmppTimeoutError } from "@rtclite/std/ietf/rfc3920";
 * import { equal } from "node:assert/strict";
 * equal(new XmppTimeoutError("x").name, "XmppTimeoutError");
 * ```
 */
export class XmppTimeoutError extends XmppError {}

/**
 * A malformed JID or SCRAM message.
 *
 * @example
 * ```ts
 * import { parseJid, XmppParseError } from "@rtclite/std/ietf/rfc3920";
 * import { throws } from "node:assert/strict";
 * throws(() => parseJid("@example.com"), XmppParseError);
 * ```
 */
export class XmppParseError extends ParseError {}

// === Addresses (RFC 3920 §3) ===

/** An XMPP address: `[localpart@]domainpart[/resourcepart]`. */
export interface Jid {
  /** The localpart (node identifier), if any. */
  local?: string;
  /** The domainpart (lower-cased). */
  domain: string;
  /** The resourcepart, if any. */
  resource?: string;
}

// deno-lint-ignore no-control-regex
const NODE_FORBIDDEN = /[\s"&'/:<>@\u0000-\u001f\u007f]/u;

function partBytes(s: string): number {
  return utf8.encode(s).length;
}

/**
 * Parses a JID. The localpart may not hold the characters nodeprep prohibits (`"&'/:<>@`, space);
 * each part is at most 1023 bytes. The domain is lower-cased; full stringprep is not applied.
 *
 * @param text The address, e.g. `juliet@example.com/balcony`.
 * @returns The parts.
 * @throws {XmppParseError} When the address is malformed.
 * @see {@link https://www.rfc-editor.org/rfc/rfc3920#section-3 | RFC 3920 §3}
 *
 * @example
 * ```ts
 * import { parseJid } from "@rtclite/std/ietf/rfc3920";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(parseJid("juliet@Example.COM/balcony/2"),
 *   { local: "juliet", domain: "example.com", resource: "balcony/2" });
 * deepEqual(parseJid("example.com"), { domain: "example.com" });
 * ```
 */
// @implements RFC3920 §3.1, RFC3920 §3.2, RFC3920 §3.3, RFC3920 §3.4
export function parseJid(text: string): Jid {
  const slash = text.indexOf("/");
  const bare = slash < 0 ? text : text.slice(0, slash);
  const resource = slash < 0 ? undefined : text.slice(slash + 1);
  const at = bare.indexOf("@");
  const local = at < 0 ? undefined : bare.slice(0, at);
  const domain = (at < 0 ? bare : bare.slice(at + 1)).toLowerCase();
  const fail = (why: string, offset: number): never => {
    throw new XmppParseError(`Cannot parse JID ${JSON.stringify(text)}: ${why}`, offset);
  };
  if (local !== undefined) {
    if (!local) fail("empty localpart", 0);
    const bad = NODE_FORBIDDEN.exec(local);
    if (bad) fail(`localpart holds forbidden character ${JSON.stringify(bad[0])}`, bad.index);
    if (partBytes(local) > 1023) fail("localpart longer than 1023 bytes", 0);
  }
  const dStart = at < 0 ? 0 : at + 1;
  if (!domain) fail("empty domainpart", dStart);
  if (/[\s@/<>"'&]/u.test(domain)) fail("domainpart holds a forbidden character", dStart);
  if (partBytes(domain) > 1023) fail("domainpart longer than 1023 bytes", dStart);
  if (resource !== undefined) {
    if (!resource) fail("empty resourcepart", slash + 1);
    if (partBytes(resource) > 1023) fail("resourcepart longer than 1023 bytes", slash + 1);
  }
  const jid: Jid = { domain };
  if (local !== undefined) jid.local = local;
  if (resource !== undefined) jid.resource = resource;
  return jid;
}

/**
 * Formats a JID.
 *
 * @param jid The parts.
 * @param bare Leave out the resource (the "bare JID").
 * @returns The address.
 *
 * @example
 * ```ts
 * import { formatJid } from "@rtclite/std/ietf/rfc3920";
 * import { equal } from "node:assert/strict";
 * const j = { local: "romeo", domain: "example.net", resource: "orchard" };
 * equal(formatJid(j), "romeo@example.net/orchard");
 * equal(formatJid(j, true), "romeo@example.net");
 * ```
 */
export function formatJid(jid: Jid, bare = false): string {
  return (jid.local !== undefined ? `${jid.local}@` : "") + jid.domain +
    (!bare && jid.resource !== undefined ? `/${jid.resource}` : "");
}

/**
 * Returns the bare form of a JID string (without resource), normalized as {@linkcode parseJid}.
 *
 * @param jid A JID.
 * @returns `local@domain` or `domain`.
 * @throws {XmppParseError} When the address is malformed.
 *
 * @example
 * ```ts
 * import { bareJid } from "@rtclite/std/ietf/rfc3920";
 * import { equal } from "node:assert/strict";
 * equal(bareJid("Romeo@Example.net/orchard"), "Romeo@example.net");
 * ```
 */
export function bareJid(jid: string): string {
  return formatJid(parseJid(jid), true);
}

// === Stanzas and stanza errors (RFC 6120 §8) ===

/**
 * Reads the `<error/>` child of an error stanza.
 *
 * @param stanza A stanza of type `error`.
 * @returns The error, or `undefined` when the stanza is not an error.
 * @see {@link https://www.rfc-editor.org/rfc/rfc6120#section-8.3.2 | RFC 6120 §8.3.2}
 *
 * @example
 * ```ts
 * import { parseStanzaError } from "@rtclite/std/ietf/rfc3920";
 * import { parseXml } from "@rtclite/std/w3c/simplexml";
 * import { equal } from "node:assert/strict";
 * const iq = parseXml("<iq type='error' id='1'><error type='cancel'><item-not-found " +
 *   "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
 * equal(parseStanzaError(iq)?.condition, "item-not-found");
 * ```
 */
// @implements RFC6120 §8.3.2, RFC3920 §9.3.2
export function parseStanzaError(stanza: XmlElement): StanzaError | undefined {
  if (stanza.attr("type") !== "error") return undefined;
  const err = stanza.child("error");
  let condition = "undefined-condition";
  let text: string | undefined;
  for (const c of err?.elements() ?? []) {
    if (c.namespace !== NS.stanzaErrors) continue;
    if (c.localName === "text") text = c.text;
    else condition = c.localName;
  }
  return new StanzaError(condition, err?.attr("type") ?? "cancel", text, stanza);
}

/**
 * Builds the error reply to an iq request: `to`/`from` swapped, same `id`.
 *
 * @param request The iq `get` or `set` being answered.
 * @param condition Stanza error condition, e.g. `service-unavailable`.
 * @param type Error type (default `cancel`).
 * @returns The iq of type `error`.
 * @see {@link https://www.rfc-editor.org/rfc/rfc6120#section-8.3.1 | RFC 6120 §8.3.1}
 *
 * @example
 * ```ts
 * import { iqError } from "@rtclite/std/ietf/rfc3920";
 * import { XmlElement } from "@rtclite/std/w3c/simplexml";
 * import { equal } from "node:assert/strict";
 * const req = new XmlElement("iq", { type: "get", id: "7", from: "a@b/c" });
 * equal(iqError(req, "service-unavailable").toString(),
 *   '<iq type="error" id="7" to="a@b/c"><error type="cancel"><service-unavailable ' +
 *   'xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>');
 * ```
 */
// @implements RFC6120 §8.3.1 ¶3, RFC3920 §9.3.1
export function iqError(request: XmlElement, condition: string, type = "cancel"): XmlElement {
  const attrs: Record<string, string> = { type: "error", id: request.attr("id") ?? "" };
  const from = request.attr("from");
  if (from) attrs.to = from;
  return new XmlElement("iq", attrs, [
    new XmlElement("error", { type }, [new XmlElement(condition, { xmlns: NS.stanzaErrors })]),
  ]);
}
