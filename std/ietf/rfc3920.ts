// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * XMPP core for clients (RFC 3920, updated by RFC 6120): JIDs, the client stream state machine
 * (stream headers, STARTTLS, SASL PLAIN and SCRAM-SHA-1/-256, resource binding, session), stanza
 * errors, and a client over Deno TCP/TLS with iq request/response matching.
 *
 * The module has three layers:
 *
 * - **Addresses and stanzas**: {@linkcode parseJid}/{@linkcode formatJid}, {@linkcode iqError},
 *   {@linkcode parseStanzaError}, the typed errors ({@linkcode StreamError}, {@linkcode SaslError},
 *   {@linkcode StanzaError}, {@linkcode XmppTimeoutError}).
 * - **Sans-I/O core**: {@linkcode XmppStream} is fed received bytes (through the restricted push
 *   parser of `@rtclite/std/w3c/simplexml`) and returns events (`starttls`, `authenticated`,
 *   `online`, `stanza`, `closed`) while queueing the XML to send; {@linkcode ScramClient} is the
 *   SCRAM mechanism (RFC 5802) on its own.
 * - **Adapter**: {@linkcode XmppClient} connects over TCP, upgrades with `Deno.startTls` when the
 *   server offers STARTTLS, routes stanzas to handlers, answers unhandled iq requests with
 *   `service-unavailable` and matches iq responses to requests with timeouts.
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
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ParseError } from "../errors.ts";
import { getLogger } from "../log.ts";
import {
  escapeAttribute,
  serialize,
  XmlElement,
  XmlLimitError,
  XmlParseError,
  XmlPushParser,
  XmlRestrictedError,
} from "../w3c/simplexml.ts";

export { ParseError };
export { XmlElement };
export type { XmlNode } from "../w3c/simplexml.ts";

const log = getLogger("xmpp", "core");
const utf8 = new TextEncoder();
const utf8d = new TextDecoder("utf-8", { fatal: true });

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

// === Base64 (RFC 6120 §6.4.2: SASL data is base64 without line breaks) ===

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string, what: string): Uint8Array {
  const t = text.trim();
  if (t === "" || t === "=") return new Uint8Array();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 !== 0) {
    throw new SaslError("incorrect-encoding", `${what} is not base64`);
  }
  return Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
}

// === SCRAM (RFC 5802), used as a SASL mechanism (RFC 6120 §6.3.8-6.3.10) ===

/** Options of {@linkcode ScramClient}. */
export interface ScramOptions {
  /** The user name (the localpart of the JID in XMPP). */
  username: string;
  /** The password (used as is: SASLprep is not applied). */
  password: string;
  /** Hash function: `SHA-1` (default) or `SHA-256` (RFC 7677). */
  hash?: "SHA-1" | "SHA-256";
  /** Client nonce (printable ASCII without `,`); random by default. */
  nonce?: string;
  /** Most PBKDF2 iterations accepted from the server (default 100 000). */
  maxIterations?: number;
}

function randomNonce(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(18)));
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((x, i) => x ^ b[i]!);
}

function scramAttrs(msg: string, what: string): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  for (const part of msg.split(",")) {
    if (part.length < 2 || part[1] !== "=" || !/[a-zA-Z]/.test(part[0]!)) {
      throw new XmppParseError(`Cannot parse SCRAM ${what}: bad attribute ${part}`, at);
    }
    out.set(part[0]!, part.slice(2));
    at += part.length + 1;
  }
  return out;
}

/**
 * The client side of SCRAM-SHA-1 / SCRAM-SHA-256 without channel binding (GS2 header `n,,`).
 * Synchronous: {@linkcode ScramClient.first}, then {@linkcode ScramClient.final} with the
 * server-first-message, then {@linkcode ScramClient.verify} with the server-final-message.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc5802#section-3 | RFC 5802 §3 (SCRAM algorithm)}
 * @see {@link https://www.rfc-editor.org/rfc/rfc5802#section-5 | RFC 5802 §5 (exchange)}
 *
 * @example The example exchange of RFC 5802 §5
 * ```ts
 * import { ScramClient } from "@rtclite/std/ietf/rfc3920";
 * import { equal } from "node:assert/strict";
 *
 * const c = new ScramClient({ username: "user", password: "pencil", nonce: "fyko+d2lbbFgONRv9qkxdawL" });
 * equal(c.first(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
 * equal(c.final("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"),
 *   "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
 * c.verify("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
 * ```
 */
export class ScramClient {
  #username: string;
  #password: string;
  #hash: typeof sha1;
  #nonce: string;
  #maxIterations: number;
  #clientFirstBare = "";
  #serverSignature: Uint8Array | undefined;

  /**
   * Creates the client side of one authentication.
   *
   * @param options Credentials, hash and nonce.
   * @throws {TypeError} When the nonce holds a comma or non-printable characters.
   */
  constructor(options: ScramOptions) {
    this.#username = options.username;
    this.#password = options.password;
    this.#hash = options.hash === "SHA-256" ? sha256 : sha1;
    this.#nonce = options.nonce ?? randomNonce();
    this.#maxIterations = options.maxIterations ?? 100_000;
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(this.#nonce)) {
      throw new TypeError("Cannot create SCRAM client: nonce must be printable ASCII without ','");
    }
  }

  /**
   * The client-first-message.
   *
   * @returns `n,,n=<saslname>,r=<nonce>`.
   */
  // @implements RFC6120 §6.3.7
  first(): string {
    const name = this.#username.replaceAll("=", "=3D").replaceAll(",", "=2C");
    this.#clientFirstBare = `n=${name},r=${this.#nonce}`;
    return `n,,${this.#clientFirstBare}`;
  }

  /**
   * Computes the client-final-message from the server-first-message.
   *
   * @param serverFirst The server-first-message (`r=...,s=...,i=...`).
   * @returns The client-final-message with the client proof.
   * @throws {XmppParseError} When the message is malformed.
   * @throws {SaslError} When the nonce does not extend ours or the iteration count is out of range.
   */
  final(serverFirst: string): string {
    if (!this.#clientFirstBare) this.first();
    const a = scramAttrs(serverFirst, "server-first-message");
    if (a.has("m")) throw new SaslError("malformed-request", "SCRAM extension m= not supported");
    const nonce = a.get("r"), salt = a.get("s"), iter = a.get("i");
    if (!nonce || salt === undefined || !iter) {
      throw new XmppParseError("Cannot parse SCRAM server-first-message: missing r, s or i", 0);
    }
    if (!nonce.startsWith(this.#nonce) || nonce.length === this.#nonce.length) {
      throw new SaslError("malformed-request", "server nonce does not extend the client nonce");
    }
    const i = Number(iter);
    if (!/^[1-9][0-9]*$/.test(iter) || i > this.#maxIterations) {
      throw new SaslError("malformed-request", `iteration count ${iter} out of range`);
    }
    const saltBytes = fromBase64(salt, "SCRAM salt");
    const h = this.#hash;
    const salted = pbkdf2(h, utf8.encode(this.#password), saltBytes, {
      c: i,
      dkLen: h.outputLen,
    });
    const clientKey = hmac(h, salted, utf8.encode("Client Key"));
    const storedKey = h(clientKey);
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = utf8.encode(`${this.#clientFirstBare},${serverFirst},${withoutProof}`);
    const clientSignature = hmac(h, storedKey, authMessage);
    const serverKey = hmac(h, salted, utf8.encode("Server Key"));
    this.#serverSignature = hmac(h, serverKey, authMessage);
    return `${withoutProof},p=${toBase64(xor(clientKey, clientSignature))}`;
  }

  /**
   * Checks the server-final-message: the server proves it knows the salted password.
   *
   * @param serverFinal `v=<signature>` (or `e=<error>`).
   * @throws {SaslError} On `e=` or a wrong signature.
   */
  verify(serverFinal: string): void {
    const a = scramAttrs(serverFinal, "server-final-message");
    const e = a.get("e");
    if (e !== undefined) throw new SaslError(e, "SCRAM server error");
    const v = a.get("v");
    if (!this.#serverSignature || v === undefined) {
      throw new SaslError("malformed-request", "SCRAM server-final-message without v=");
    }
    if (toBase64(this.#serverSignature) !== v) {
      throw new SaslError("not-authorized", "SCRAM server signature does not match");
    }
  }
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
// @implements RFC6120 §8.3.2
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
// @implements RFC6120 §8.3.1 ¶3
export function iqError(request: XmlElement, condition: string, type = "cancel"): XmlElement {
  const attrs: Record<string, string> = { type: "error", id: request.attr("id") ?? "" };
  const from = request.attr("from");
  if (from) attrs.to = from;
  return new XmlElement("iq", attrs, [
    new XmlElement("error", { type }, [new XmlElement(condition, { xmlns: NS.stanzaErrors })]),
  ]);
}

// === Stream state machine (RFC 6120 §4-§7, RFC 3921 §3) ===

/** The state of an {@linkcode XmppStream}. */
export type XmppState =
  | "idle"
  | "opening"
  | "starttls"
  | "tls"
  | "authenticating"
  | "binding"
  | "session"
  | "online"
  | "closing"
  | "closed";

/** What {@linkcode XmppStream.receive} reports. */
export type XmppEvent =
  | {
    /** The server said `<proceed/>`: wrap the transport in TLS, then call `tlsEstablished()`. */
    type: "starttls";
  }
  | {
    /** SASL succeeded; the stream restarts. */
    type: "authenticated";
    /** The mechanism used. */
    mechanism: string;
  }
  | {
    /** The resource is bound (and the session established): stanzas may flow. */
    type: "online";
    /** The full JID the server bound. */
    jid: Jid;
  }
  | {
    /** A stanza (`message`, `presence` or `iq`) or other first-level element after binding. */
    type: "stanza";
    /** The element. */
    stanza: XmlElement;
  }
  | {
    /** The stream is over; close the transport. */
    type: "closed";
    /** Why, unless it was an orderly close. */
    error?: XmppError;
  };

/** Options of {@linkcode XmppStream}. */
export interface XmppStreamOptions {
  /** Our JID: `user@domain` or `user@domain/resource` (the resource is requested when binding). */
  jid: string;
  /** The password. */
  password: string;
  /** SASL mechanisms in order of preference (default `SCRAM-SHA-256`, `SCRAM-SHA-1`, `PLAIN`). */
  mechanisms?: string[];
  /** STARTTLS policy: use when offered (`optional`, default), insist (`required`), or never. */
  tls?: "optional" | "required" | "disabled";
  /** The transport is already encrypted (direct TLS). */
  secure?: boolean;
  /** Allow SASL PLAIN over an unencrypted stream (default false). */
  allowPlain?: boolean;
  /** SCRAM client nonce (tests); random by default. */
  nonce?: string;
  /** Largest first-level element in characters (default 1 MiB). */
  maxStanzaSize?: number;
  /** Value of `xml:lang` in the stream header (default `en`). */
  lang?: string;
}

const STREAM_CLOSE = "</stream:stream>";

function el(
  name: string,
  attrs: Record<string, string> = {},
  children: (XmlElement | string)[] = [],
) {
  return new XmlElement(name, attrs, children);
}

/**
 * The client side of an XMPP stream as a sans-I/O state machine. Feed it what the transport
 * receives with {@linkcode XmppStream.receive}; send what {@linkcode XmppStream.takeOutput}
 * returns. On a `starttls` event wrap the transport in TLS and call
 * {@linkcode XmppStream.tlsEstablished}; on `closed` close the transport.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc6120#section-4.3 | RFC 6120 §4.3 (negotiation)}
 *
 * @example A stream error from the server
 * ```ts
 * import { StreamError, XmppStream } from "@rtclite/std/ietf/rfc3920";
 * import { equal, ok } from "node:assert/strict";
 *
 * const s = new XmppStream({ jid: "a@example.com", password: "x" });
 * s.open();
 * s.takeOutput();
 * const events = s.receive("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' " +
 *   "xmlns='jabber:client' version='1.0'><stream:error><host-unknown " +
 *   "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
 * const last = events.at(-1);
 * ok(last?.type === "closed" && last.error instanceof StreamError);
 * equal(last.error.condition, "host-unknown");
 * equal(s.state, "closed");
 * ```
 */
export class XmppStream {
  #jid: Jid;
  #password: string;
  #mechanisms: string[];
  #tls: "optional" | "required" | "disabled";
  #secure: boolean;
  #allowPlain: boolean;
  #nonce: string | undefined;
  #lang: string;
  #parser: XmlPushParser;
  #state: XmppState = "idle";
  #out: string[] = [];
  #authenticated = false;
  #mechanism: string | undefined;
  #scram: ScramClient | undefined;
  #scramVerified = false;
  #features: XmlElement | undefined;
  #streamId: string | undefined;
  #bound: Jid | undefined;
  #pendingId = "";
  #counter = 0;
  #events: XmppEvent[] = [];

  /**
   * Creates a stream (nothing is sent until {@linkcode XmppStream.open}).
   *
   * @param options Credentials and policies.
   * @throws {XmppParseError} When `jid` is malformed.
   * @throws {TypeError} When the JID has no localpart.
   */
  constructor(options: XmppStreamOptions) {
    this.#jid = parseJid(options.jid);
    if (this.#jid.local === undefined) {
      throw new TypeError(`Cannot create XMPP stream: JID ${options.jid} has no localpart`);
    }
    this.#password = options.password;
    this.#mechanisms = options.mechanisms ?? ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"];
    this.#tls = options.tls ?? "optional";
    this.#secure = options.secure ?? false;
    this.#allowPlain = options.allowPlain ?? false;
    this.#nonce = options.nonce;
    this.#lang = options.lang ?? "en";
    this.#parser = new XmlPushParser({
      restricted: true,
      maxStanzaSize: options.maxStanzaSize ?? 1 << 20,
    });
  }

  /** The current state. */
  get state(): XmppState {
    return this.#state;
  }

  /** The bound full JID, once online. */
  get jid(): Jid | undefined {
    return this.#bound;
  }

  /** Whether the transport is encrypted (direct TLS or after STARTTLS). */
  get secure(): boolean {
    return this.#secure;
  }

  /** The SASL mechanism that succeeded. */
  get mechanism(): string | undefined {
    return this.#mechanism;
  }

  /** The `id` of the server's current stream header. */
  get streamId(): string | undefined {
    return this.#streamId;
  }

  /** The most recent `<stream:features/>`. */
  get features(): XmlElement | undefined {
    return this.#features;
  }

  /**
   * Returns and clears the XML queued for sending.
   *
   * @returns Text to write to the transport (UTF-8), possibly empty.
   */
  takeOutput(): string {
    const s = this.#out.join("");
    this.#out = [];
    return s;
  }

  /**
   * A fresh stanza `id`.
   *
   * @param prefix Prefix (default `rtc`).
   * @returns Unique within this stream.
   */
  nextId(prefix = "rtc"): string {
    return `${prefix}_${++this.#counter}`;
  }

  /** Sends the initial stream header. */
  open(): void {
    if (this.#state !== "idle") throw new XmppError(`Cannot open stream: state is ${this.#state}`);
    this.#header();
  }

  // @implements RFC6120 §4.2, RFC6120 §4.7.1, RFC6120 §4.7.2, RFC6120 §4.7.4, RFC6120 §4.7.5, RFC6120 §4.8.5
  #header(): void {
    const attrs = [
      `to="${escapeAttribute(this.#jid.domain)}"`,
      // Only a secured stream names its initiator (RFC 6120 §4.7.1).
      ...(this.#secure ? [`from="${escapeAttribute(formatJid(this.#jid, true))}"`] : []),
      `version="1.0"`,
      `xml:lang="${escapeAttribute(this.#lang)}"`,
      `xmlns="${NS.client}"`,
      `xmlns:stream="${NS.streams}"`,
    ];
    this.#out.push(`<?xml version='1.0'?><stream:stream ${attrs.join(" ")}>`);
    this.#state = "opening";
  }

  /**
   * Called by the adapter once TLS is up after a `starttls` event: restarts the stream.
   */
  // @implements RFC6120 §5.4.3.3 ¶1-5
  tlsEstablished(): void {
    if (this.#state !== "tls") {
      throw new XmppError(`Cannot restart stream after TLS: state is ${this.#state}`);
    }
    this.#secure = true;
    this.#parser.reset();
    this.#header();
  }

  /**
   * Queues a stanza. Allowed once online.
   *
   * @param stanza A `message`, `presence` or `iq` (in the default `jabber:client` namespace).
   * @throws {XmppError} When the stream is not online.
   */
  send(stanza: XmlElement): void {
    if (this.#state !== "online") {
      throw new XmppError(`Cannot send stanza: stream state is ${this.#state}`);
    }
    this.#out.push(serialize(stanza));
  }

  /**
   * Closes our side of the stream; the `closed` event follows when the server closes its side.
   */
  // @implements RFC6120 §4.4 ¶1-3
  close(): void {
    if (this.#state === "closed" || this.#state === "closing") return;
    if (this.#state === "idle") {
      this.#state = "closed";
      return;
    }
    this.#out.push(STREAM_CLOSE);
    this.#state = "closing";
  }

  /**
   * The transport ended (EOF or error).
   *
   * @returns A `closed` event unless the stream was already closed.
   */
  // @implements RFC6120 §4.4 ¶7
  end(): XmppEvent[] {
    if (this.#state === "closed") return [];
    const orderly = this.#state === "closing";
    this.#state = "closed";
    return [
      orderly ? { type: "closed" } : {
        type: "closed",
        error: new StreamError("connection-timeout", "transport closed before the stream"),
      },
    ];
  }

  /**
   * Feeds received bytes.
   *
   * @param data UTF-8 bytes (split anywhere) or text.
   * @returns The events this data completes.
   */
  receive(data: Uint8Array | string): XmppEvent[] {
    this.#events = [];
    if (this.#state === "closed" || this.#state === "idle") return this.#events;
    try {
      for (const ev of this.#parser.push(data)) {
        if ((this.#state as XmppState) === "closed") break;
        if (ev.type === "open") this.#onOpen(ev.root);
        else if (ev.type === "element") this.#onElement(ev.element);
        else if (ev.type === "text") {
          this.#fail(new StreamError("bad-format", "text at stream level"));
        } else this.#onClose();
        // After <proceed/> the rest of the bytes belong to TLS; after SASL success and a stream
        // error nothing more is read from this stream.
        if ((this.#state as XmppState) === "tls") break;
      }
    } catch (e) {
      if (!(e instanceof XmlParseError)) throw e;
      const condition = e instanceof XmlRestrictedError
        ? "restricted-xml"
        : e instanceof XmlLimitError
        ? "policy-violation"
        : "not-well-formed";
      log.warn("Malformed XML from server: {message}", { message: e.message });
      this.#fail(new StreamError(condition, e.message));
    }
    return this.#events;
  }

  // @implements RFC6120 §4.9.1.1, RFC6120 §4.9.2
  #fail(error: XmppError, send = error instanceof StreamError): void {
    if (this.#state === "closed") return;
    if (send && error instanceof StreamError) {
      const ns = NS.streamErrors;
      this.#out.push(`<stream:error><${error.condition} xmlns="${ns}"/></stream:error>`);
    }
    if (this.#state !== "closing") this.#out.push(STREAM_CLOSE);
    this.#state = "closed";
    log.debug("Stream failed: {message}", { message: error.message });
    this.#events.push({ type: "closed", error });
  }

  // @implements RFC6120 §4.4 ¶4-8
  #onClose(): void {
    if (this.#state !== "closing") this.#out.push(STREAM_CLOSE);
    this.#state = "closed";
    this.#events.push({ type: "closed" });
  }

  // @implements RFC6120 §4.7.3, RFC6120 §4.7.5 ¶9-10, RFC6120 §4.8.1, RFC6120 §4.8.2
  #onOpen(root: XmlElement): void {
    if (root.localName !== "stream" || root.namespace !== NS.streams) {
      return this.#fail(new StreamError("invalid-namespace", "root is not a stream"));
    }
    if (root.lookupNamespace(undefined) !== NS.client) {
      return this.#fail(
        new StreamError("invalid-namespace", "content namespace is not jabber:client"),
      );
    }
    const version = root.attr("version");
    const major = Number(version?.split(".")[0]);
    if (!version || !(major >= 1)) {
      return this.#fail(
        new StreamError("unsupported-version", `server version ${version ?? "none"}`),
      );
    }
    this.#streamId = root.attr("id");
  }

  #onElement(e: XmlElement): void {
    if (e.namespace === NS.streams && e.localName === "error") return this.#onStreamError(e);
    if (e.namespace === NS.streams && e.localName === "features") return this.#onFeatures(e);
    switch (this.#state) {
      case "starttls":
        return this.#onTls(e);
      case "authenticating":
        return this.#onSasl(e);
      case "binding":
      case "session":
        return this.#onBindResult(e);
      case "online":
      case "closing":
        this.#events.push({ type: "stanza", stanza: e });
        return;
      default:
        this.#fail(
          new StreamError("unsupported-stanza-type", `unexpected <${e.name}> while ${this.#state}`),
        );
    }
  }

  // @implements RFC6120 §4.9.3, RFC6120 §4.9.1.1
  #onStreamError(e: XmlElement): void {
    let condition = "undefined-condition";
    let text: string | undefined;
    for (const c of e.elements()) {
      if (c.namespace !== NS.streamErrors) continue;
      if (c.localName === "text") text = c.text;
      else condition = c.localName;
    }
    const err = new StreamError(condition, text);
    log.warn("Stream error from server: {condition}", { condition });
    this.#fail(err, false);
  }

  // @implements RFC6120 §4.3.2, RFC6120 §4.3.5
  #onFeatures(features: XmlElement): void {
    if (this.#state !== "opening") {
      return this.#fail(new StreamError("bad-format", `features while ${this.#state}`));
    }
    this.#features = features;
    const starttls = features.child("starttls", NS.tls);
    // @implements RFC6120 §5.3.1, RFC6120 §5.4.2.1, RFC6120 §5.3.4
    if (!this.#secure) {
      if (starttls && this.#tls !== "disabled") {
        this.#out.push(serialize(el("starttls", { xmlns: NS.tls })));
        this.#state = "starttls";
        return;
      }
      const required = starttls?.child("required", NS.tls) !== undefined ||
        (starttls !== undefined && features.elements().length === 1);
      if (required) return this.#fail(new XmppError("Cannot negotiate: server requires TLS"));
      if (this.#tls === "required") {
        return this.#fail(new XmppError("Cannot negotiate: server does not offer STARTTLS"));
      }
    }
    if (!this.#authenticated) return this.#startSasl(features);
    // @implements RFC6120 §7.4, RFC6120 §7.6.1, RFC6120 §7.7.1
    if (!features.child("bind", NS.bind)) {
      return this.#fail(new XmppError("Cannot negotiate: server does not offer resource binding"));
    }
    const bind = el("bind", { xmlns: NS.bind });
    if (this.#jid.resource) bind.append(el("resource", {}, [this.#jid.resource]));
    this.#pendingId = this.nextId("bind");
    this.#out.push(serialize(el("iq", { type: "set", id: this.#pendingId }, [bind])));
    this.#state = "binding";
  }

  // @implements RFC6120 §5.4.2.2, RFC6120 §5.4.2.3
  #onTls(e: XmlElement): void {
    if (e.namespace === NS.tls && e.localName === "proceed") {
      this.#state = "tls";
      this.#events.push({ type: "starttls" });
      return;
    }
    this.#fail(new XmppError(`STARTTLS failed: server sent <${e.name}>`));
  }

  // @implements RFC6120 §6.3.3, RFC6120 §6.3.4, RFC6120 §6.4.2
  #startSasl(features: XmlElement): void {
    const offered = (features.child("mechanisms", NS.sasl)?.elements("mechanism", NS.sasl) ?? [])
      .map((m) => m.text.trim().toUpperCase());
    const usable = this.#mechanisms.filter((m) =>
      offered.includes(m) && (m !== "PLAIN" || this.#secure || this.#allowPlain)
    );
    const mech = usable[0];
    if (!mech) {
      return this.#fail(
        new SaslError("invalid-mechanism", `no acceptable mechanism in [${offered.join(", ")}]`),
      );
    }
    let initial: string;
    if (mech === "PLAIN") {
      // RFC 4616: authzid NUL authcid NUL passwd, with an empty authzid (RFC 6120 §6.3.8).
      initial = toBase64(utf8.encode(`\0${this.#jid.local}\0${this.#password}`));
    } else if (mech === "SCRAM-SHA-1" || mech === "SCRAM-SHA-256") {
      const opts: ScramOptions = {
        username: this.#jid.local!,
        password: this.#password,
        hash: mech === "SCRAM-SHA-1" ? "SHA-1" : "SHA-256",
      };
      if (this.#nonce !== undefined) opts.nonce = this.#nonce;
      this.#scram = new ScramClient(opts);
      initial = toBase64(utf8.encode(this.#scram.first()));
    } else {
      return this.#fail(new SaslError("invalid-mechanism", `${mech} is not implemented`));
    }
    this.#mechanism = mech;
    this.#out.push(serialize(el("auth", { xmlns: NS.sasl, mechanism: mech }, [initial])));
    this.#state = "authenticating";
  }

  #saslText(e: XmlElement): string {
    const bytes = fromBase64(e.text, `SASL <${e.localName}>`);
    try {
      return utf8d.decode(bytes);
    } catch {
      throw new SaslError("incorrect-encoding", `SASL <${e.localName}> is not UTF-8`);
    }
  }

  // @implements RFC6120 §6.4.3, RFC6120 §6.4.5, RFC6120 §6.4.6, RFC6120 §6.3.10
  #onSasl(e: XmlElement): void {
    if (e.namespace !== NS.sasl) {
      return this.#fail(new StreamError("bad-format", `unexpected <${e.name}> during SASL`));
    }
    try {
      if (e.localName === "challenge") {
        const data = this.#saslText(e);
        let reply = "";
        if (this.#scram && !this.#scramVerified && data.startsWith("v=")) {
          this.#scram.verify(data);
          this.#scramVerified = true;
        } else if (this.#scram && !this.#scramVerified) reply = this.#scram.final(data);
        else throw new SaslError("malformed-request", "unexpected challenge");
        this.#out.push(
          serialize(
            el("response", { xmlns: NS.sasl }, reply ? [toBase64(utf8.encode(reply))] : []),
          ),
        );
        return;
      }
      if (e.localName === "failure") {
        const cond = e.elements().find((c) => c.localName !== "text")?.localName ??
          "not-authorized";
        const text = e.childText("text", NS.sasl);
        return this.#fail(new SaslError(cond, text));
      }
      if (e.localName === "success") {
        if (this.#scram && !this.#scramVerified) {
          const data = this.#saslText(e);
          this.#scram.verify(data);
          this.#scramVerified = true;
        }
        // @implements RFC6120 §6.4.6 ¶5-6, RFC6120 §6.3.2, RFC6120 §4.3.3
        this.#authenticated = true;
        this.#scram = undefined;
        this.#events.push({ type: "authenticated", mechanism: this.#mechanism! });
        this.#parser.reset();
        this.#header();
        return;
      }
      throw new SaslError("malformed-request", `unexpected <${e.localName}>`);
    } catch (err) {
      if (!(err instanceof SaslError || err instanceof XmppParseError)) throw err;
      // @implements RFC6120 §6.4.4
      this.#out.push(serialize(el("abort", { xmlns: NS.sasl })));
      this.#fail(err instanceof SaslError ? err : new SaslError("malformed-request", err.message));
    }
  }

  // @implements RFC6120 §7.6.1, RFC6120 §7.6.2, RFC6120 §7.7.2, RFC3921 §3
  #onBindResult(e: XmlElement): void {
    if (e.localName !== "iq" || e.attr("id") !== this.#pendingId) {
      this.#events.push({ type: "stanza", stanza: e });
      return;
    }
    if (e.attr("type") === "error") {
      return this.#fail(parseStanzaError(e)!);
    }
    if (this.#state === "binding") {
      const text = e.child("bind", NS.bind)?.childText("jid", NS.bind);
      let jid: Jid;
      try {
        jid = parseJid(text ?? "");
      } catch {
        return this.#fail(new StreamError("bad-format", `bind result JID ${text ?? "missing"}`));
      }
      this.#bound = jid;
      const session = this.#features?.child("session", NS.session);
      // RFC 3921 §3 requires the session request; RFC 6121 drops it, and servers that still
      // advertise the feature mark it <optional/>.
      if (session && !session.child("optional", NS.session)) {
        this.#pendingId = this.nextId("sess");
        const iq = el("iq", { type: "set", id: this.#pendingId }, [
          el("session", { xmlns: NS.session }),
        ]);
        this.#out.push(serialize(iq));
        this.#state = "session";
        return;
      }
    }
    this.#state = "online";
    this.#events.push({ type: "online", jid: this.#bound! });
  }
}

// === TCP adapter ===

/** Options of {@linkcode XmppClient.connect}. */
export interface XmppClientOptions extends XmppStreamOptions {
  /** Server address (default: the JID's domain). */
  hostname?: string;
  /** Server port (default 5222). */
  port?: number;
  /** Extra CA certificates (PEM) to trust for STARTTLS, e.g. a test server's self-signed one. */
  caCerts?: string[];
  /** Name to verify the server certificate against (default: the JID's domain). */
  tlsHostname?: string;
  /** Time limit for connecting and negotiating, in milliseconds (default 15 000). */
  timeout?: number;
}

/** Handles an iq request; returns the result (or an error iq) to send. */
export type IqHandler = (iq: XmlElement) => XmlElement | Promise<XmlElement>;

interface Pending {
  resolve: (iq: XmlElement) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * An XMPP client connection over TCP (with STARTTLS): negotiates, then routes stanzas.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc6120#section-3 | RFC 6120 §3 (TCP binding)}
 *
 * @example Against an in-process server that accepts PLAIN
 * ```ts
 * import { XmppClient } from "@rtclite/std/ietf/rfc3920";
 * import { equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const server = (async () => {
 *   const conn = await listener.accept();
 *   const say = (s: string) => conn.write(new TextEncoder().encode(s));
 *   const buf = new Uint8Array(4096);
 *   const hear = async () => new TextDecoder().decode(buf.subarray(0, (await conn.read(buf))!));
 *   const head = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' " +
 *     "xmlns='jabber:client' version='1.0' id='x'>";
 *   await hear();
 *   await say(head + "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
 *     "<mechanism>PLAIN</mechanism></mechanisms></stream:features>");
 *   await hear();
 *   await say("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
 *   await hear();
 *   await say(head + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
 *   const bind = await hear();
 *   const id = /id="([^"]+)"/.exec(bind)![1];
 *   await say(`<iq type='result' id='${id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>` +
 *     "<jid>a@localhost/r1</jid></bind></iq>");
 *   await hear();
 *   await say("</stream:stream>");
 *   conn.close();
 * })();
 * const client = await XmppClient.connect({
 *   jid: "a@localhost", password: "p", allowPlain: true,
 *   hostname: "127.0.0.1", port: listener.addr.port,
 * });
 * equal(client.jid, "a@localhost/r1");
 * await client.close();
 * await server;
 * listener.close();
 * ```
 */
export class XmppClient implements AsyncDisposable {
  #stream: XmppStream;
  #conn: Deno.Conn;
  #writing: Promise<void> = Promise.resolve();
  #pending = new Map<string, Pending>();
  #handlers = new Set<(stanza: XmlElement) => void>();
  #iqHandlers = new Map<string, IqHandler>();
  #closed: Promise<XmppError | undefined>;
  #resolveClosed!: (e: XmppError | undefined) => void;
  #online: Promise<void>;
  #resolveOnline!: () => void;
  #rejectOnline!: (e: Error) => void;
  #options: XmppClientOptions;

  private constructor(conn: Deno.Conn, options: XmppClientOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#stream = new XmppStream(options);
    this.#closed = new Promise((r) => this.#resolveClosed = r);
    this.#online = new Promise((res, rej) => {
      this.#resolveOnline = res;
      this.#rejectOnline = rej;
    });
    this.#online.catch(() => {});
  }

  /**
   * Connects, negotiates TLS (when offered), authenticates and binds a resource.
   *
   * @param options JID, password, server address and policies.
   * @returns The client, online.
   * @throws {SaslError} When authentication fails.
   * @throws {StreamError} On a stream error during negotiation.
   * @throws {XmppTimeoutError} When negotiation takes longer than `timeout`.
   */
  static async connect(options: XmppClientOptions): Promise<XmppClient> {
    const domain = parseJid(options.jid).domain;
    const conn = await Deno.connect({
      hostname: options.hostname ?? domain,
      port: options.port ?? 5222,
    });
    const client = new XmppClient(conn, options);
    client.#run();
    client.#stream.open();
    client.#flush();
    const ms = options.timeout ?? 15_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        client.#online,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new XmppTimeoutError(`XMPP negotiation timed out after ${ms} ms`)),
            ms,
          );
        }),
      ]);
    } catch (e) {
      client.#shutdown(e instanceof XmppError ? e : undefined);
      await client.#closed;
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  /** The bound full JID. */
  get jid(): string {
    return formatJid(this.#stream.jid!);
  }

  /** The underlying state machine (state, features, mechanism). */
  get stream(): XmppStream {
    return this.#stream;
  }

  /** Resolves when the connection is closed: with the error, or `undefined` when orderly. */
  get closed(): Promise<XmppError | undefined> {
    return this.#closed;
  }

  /**
   * Sends a stanza.
   *
   * @param stanza The stanza.
   * @throws {XmppError} When the stream is not online.
   */
  send(stanza: XmlElement): void {
    this.#stream.send(stanza);
    this.#flush();
  }

  /**
   * Sends an iq `get` or `set` and waits for its `result`.
   *
   * @param iq The request; an `id` is added when missing.
   * @param timeout Milliseconds to wait (default 10 000).
   * @returns The `result` iq.
   * @throws {StanzaError} When the answer is an error.
   * @throws {XmppTimeoutError} When no answer arrives in time or the stream closes.
   */
  // @implements RFC6120 §8.2.3 ¶5, RFC6120 §8.1.3
  request(iq: XmlElement, timeout = 10_000): Promise<XmlElement> {
    const id = iq.attr("id") ?? this.#stream.nextId("iq");
    iq.setAttr("id", id);
    return new Promise<XmlElement>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new XmppTimeoutError(`No answer to iq ${id} within ${timeout} ms`));
      }, timeout);
      this.#pending.set(id, { resolve, reject, timer });
      try {
        this.send(iq);
      } catch (e) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(e);
      }
    });
  }

  /**
   * Registers a handler for received `message` and `presence` stanzas (and iq results nobody
   * waits for).
   *
   * @param handler Called with each stanza.
   * @returns A function that removes the handler.
   */
  onStanza(handler: (stanza: XmlElement) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /**
   * Answers iq `get`/`set` requests whose child is in `namespace`. Requests without a handler are
   * answered with `service-unavailable`.
   *
   * @param namespace The child element's namespace, e.g. `jabber:iq:roster`.
   * @param handler Returns the reply.
   */
  handleIq(namespace: string, handler: IqHandler): void {
    this.#iqHandlers.set(namespace, handler);
  }

  /** Closes the stream (waits up to 2 s for the server's close) and the connection. */
  async close(): Promise<void> {
    this.#stream.close();
    this.#flush();
    const timer = setTimeout(() => this.#shutdown(undefined), 2000);
    await this.#closed;
    clearTimeout(timer);
  }

  /** Same as {@linkcode XmppClient.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #flush(): void {
    const text = this.#stream.takeOutput();
    if (!text) return;
    log.debug("SEND {text}", { text });
    const bytes = utf8.encode(text);
    const conn = this.#conn;
    this.#writing = this.#writing.then(async () => {
      for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    }).catch((e) => log.debug("Write failed: {e}", { e: String(e) }));
  }

  #done = false;
  #shutdown(error: XmppError | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#writing.finally(() => {
      try {
        this.#conn.close();
      } catch { /* already closed */ }
    });
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(error ?? new XmppTimeoutError(`Stream closed before iq ${id} was answered`));
    }
    this.#pending.clear();
    this.#rejectOnline(error ?? new XmppError("Stream closed during negotiation"));
    this.#resolveClosed(error);
  }

  async #run(): Promise<void> {
    const buf = new Uint8Array(16384);
    try {
      while (!this.#done) {
        const n = await this.#conn.read(buf);
        if (n === null) {
          this.#handle(this.#stream.end());
          break;
        }
        log.debug("RECV {text}", { text: new TextDecoder().decode(buf.subarray(0, n)) });
        const events = this.#stream.receive(buf.subarray(0, n));
        this.#flush();
        await this.#handle(events);
      }
    } catch (e) {
      if (!this.#done) {
        log.debug("Read failed: {e}", { e: String(e) });
        this.#handle(this.#stream.end());
      }
    }
    this.#shutdown(undefined);
  }

  async #handle(events: XmppEvent[]): Promise<void> {
    for (const ev of events) {
      if (ev.type === "starttls") {
        // @implements RFC6120 §5.4.3.1, RFC6120 §5.4.3.3
        await this.#writing;
        const tls: Deno.StartTlsOptions = {
          hostname: this.#options.tlsHostname ?? parseJid(this.#options.jid).domain,
        };
        if (this.#options.caCerts) tls.caCerts = this.#options.caCerts;
        try {
          const secured = await Deno.startTls(this.#conn as Deno.TcpConn, tls);
          this.#conn = secured;
          await secured.handshake();
        } catch (e) {
          const err = new XmppError(
            `TLS negotiation failed: ${e instanceof Error ? e.message : e}`,
          );
          this.#shutdown(err);
          return;
        }
        this.#stream.tlsEstablished();
        this.#flush();
      } else if (ev.type === "online") {
        log.info("Online as {jid}", { jid: formatJid(ev.jid) });
        this.#resolveOnline();
      } else if (ev.type === "stanza") {
        this.#route(ev.stanza);
      } else if (ev.type === "closed") {
        this.#flush();
        this.#shutdown(ev.error);
      }
    }
  }

  // @implements RFC6120 §8.2.3 ¶11-12
  #route(stanza: XmlElement): void {
    if (stanza.localName === "iq" && stanza.namespace === NS.client) {
      const type = stanza.attr("type");
      const id = stanza.attr("id") ?? "";
      if (type === "result" || type === "error") {
        const p = this.#pending.get(id);
        if (p) {
          this.#pending.delete(id);
          clearTimeout(p.timer);
          if (type === "result") p.resolve(stanza);
          else p.reject(parseStanzaError(stanza)!);
          return;
        }
      } else if (type === "get" || type === "set") {
        // @implements RFC6120 §8.2.3 ¶13
        if (stanza.elements().length !== 1) {
          this.#reply(iqError(stanza, "bad-request", "modify"));
          return;
        }
        const ns = stanza.elements()[0]!.namespace;
        const h = this.#iqHandlers.get(ns);
        if (!h) {
          this.#reply(iqError(stanza, "service-unavailable"));
          return;
        }
        Promise.resolve().then(() => h(stanza)).then(
          (reply) => this.#reply(reply),
          () => this.#reply(iqError(stanza, "internal-server-error", "wait")),
        );
        return;
      }
    }
    for (const h of this.#handlers) {
      try {
        h(stanza);
      } catch (e) {
        log.error("Stanza handler threw: {e}", { e: String(e) });
      }
    }
  }

  #reply(iq: XmlElement): void {
    if (this.#stream.state === "online") this.send(iq);
  }
}
