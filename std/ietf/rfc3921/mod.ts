// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * XMPP instant messaging and presence for clients: RFC 3921, as updated (obsoleted) by RFC 6121,
 * which this module implements. References cite RFC 6121's sections and RFC 3921's beside them
 * where the same rule has another number (RFC 6121 §2 roster is RFC 3921 §7, §3 subscriptions are
 * §6, §4 presence is §5 and §2.2, §5 messages are §4 and §2.1). Messages, presence, the roster and
 * presence subscriptions, over the XMPP core of `@rtclite/std/ietf/rfc3920`.
 *
 * The stanza builders and readers ({@linkcode buildMessage}/{@linkcode parseMessage},
 * {@linkcode buildPresence}/{@linkcode parsePresence}, {@linkcode buildRosterQuery}/
 * {@linkcode parseRosterQuery}) and {@linkcode ImClient} (the roster: get, set, remove, pushes;
 * subscriptions and handlers on top of an {@linkcode XmppSession}) do no I/O.
 * `@rtclite/std/ietf/rfc3921/deno` connects one over TCP (`ImClient.connect`).
 *
 * Command line:
 * `deno run -A std/ietf/rfc3921/main.ts --jid user@host --password P [--server 127.0.0.1:5222]
 * [--insecure-plain] [--ca cert.pem] send to@host 'hello'` sends a message;
 * `... listen` prints incoming messages (`from: body`) until interrupted; `... roster` prints
 * the roster.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc6121 | RFC 6121 (XMPP IM)}
 * @see {@link https://www.rfc-editor.org/rfc/rfc3921 | RFC 3921}
 *
 * @example Build and read stanzas
 * ```ts
 * import { buildMessage, buildPresence, parseMessage, parsePresence } from "@rtclite/std/ietf/rfc3921";
 * import { equal } from "node:assert/strict";
 *
 * const m = buildMessage({ to: "juliet@example.com", type: "chat", body: "Wherefore art thou?" });
 * equal(m.toString(),
 *   '<message to="juliet@example.com" type="chat"><body>Wherefore art thou?</body></message>');
 * equal(parseMessage(m).body, "Wherefore art thou?");
 * const p = buildPresence({ show: "away", status: "be right back", priority: 5 });
 * equal(parsePresence(p).priority, 5);
 * ```
 *
 * @module
 */
// @implements RFC6121 (XMPP IM and presence: client side)
import { getLogger } from "../../log.ts";
import { XmlElement } from "../../w3c/simplexml/mod.ts";
import { bareJid, iqError, parseJid, XmppParseError, type XmppSession } from "../rfc3920/mod.ts";

// The core's types appear in this module's API, so it re-exports the core.
export * from "../rfc3920/mod.ts";

const log = getLogger("xmpp", "im");

/** The roster namespace (RFC 6121 §2.1). */
export const NS_ROSTER = "jabber:iq:roster";

function el(
  name: string,
  attrs: Record<string, string> = {},
  children: (XmlElement | string)[] = [],
) {
  return new XmlElement(name, attrs, children);
}

function setIf(attrs: Record<string, string>, key: string, value: string | undefined): void {
  if (value !== undefined) attrs[key] = value;
}

// === Messages (RFC 3921 §2.1, §4; RFC 6121 §5) ===

/** Message types (RFC 6121 §5.2.2). */
export type MessageType = "chat" | "error" | "groupchat" | "headline" | "normal";

/** A message stanza's content. */
export interface Message {
  /** Recipient. */
  to?: string;
  /** Sender (set by the server on received messages). */
  from?: string;
  /** Type; absent means `normal`. */
  type?: MessageType;
  /** Stanza id. */
  id?: string;
  /** Body text. */
  body?: string;
  /** Subject. */
  subject?: string;
  /** Conversation thread. */
  thread?: string;
}

const MESSAGE_TYPES = new Set(["chat", "error", "groupchat", "headline", "normal"]);

/**
 * Builds a `<message/>`.
 *
 * @param m The content.
 * @returns The stanza.
 * @see {@link https://www.rfc-editor.org/rfc/rfc6121#section-5.2 | RFC 6121 §5.2}
 *
 * @example
 * ```ts
 * import { buildMessage } from "@rtclite/std/ietf/rfc3921";
 * import { equal } from "node:assert/strict";
 * equal(buildMessage({ to: "a@b", subject: "Hi", thread: "t1" }).toString(),
 *   '<message to="a@b"><subject>Hi</subject><thread>t1</thread></message>');
 * ```
 */
// @implements RFC3921 §2.1.1, RFC3921 §2.1.2.1, RFC3921 §2.1.2.2, RFC3921 §2.1.2.3, RFC3921 §4
export function buildMessage(m: Message): XmlElement {
  const attrs: Record<string, string> = {};
  setIf(attrs, "to", m.to);
  setIf(attrs, "from", m.from);
  setIf(attrs, "type", m.type);
  setIf(attrs, "id", m.id);
  const msg = el("message", attrs);
  if (m.subject !== undefined) msg.append(el("subject", {}, [m.subject]));
  if (m.body !== undefined) msg.append(el("body", {}, [m.body]));
  if (m.thread !== undefined) msg.append(el("thread", {}, [m.thread]));
  return msg;
}

/**
 * Reads a `<message/>`.
 *
 * @param stanza The stanza.
 * @returns Its content (unknown types read as `normal`, RFC 6121 §5.2.2).
 * @throws {XmppParseError} When the element is not a message.
 *
 * @example
 * ```ts
 * import { parseMessage } from "@rtclite/std/ietf/rfc3921";
 * import { parseXml } from "@rtclite/std/w3c/simplexml";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(parseMessage(parseXml("<message from='a@b/c' type='chat'><body>hi</body></message>")),
 *   { from: "a@b/c", type: "chat", body: "hi" });
 * ```
 */
// @implements RFC6121 §5.2.2, RFC3921 §2.1.1
export function parseMessage(stanza: XmlElement): Message {
  if (stanza.localName !== "message") {
    throw new XmppParseError(`Cannot read message: element is <${stanza.name}>`, 0);
  }
  const m: Message = {};
  for (const k of ["to", "from", "id"] as const) {
    const v = stanza.attr(k);
    if (v !== undefined) m[k] = v;
  }
  const type = stanza.attr("type");
  if (type !== undefined) m.type = MESSAGE_TYPES.has(type) ? type as MessageType : "normal";
  for (const k of ["body", "subject", "thread"] as const) {
    const v = stanza.childText(k);
    if (v !== undefined) m[k] = v;
  }
  return m;
}

// === Presence (RFC 3921 §2.2, §5; RFC 6121 §4) ===

/** Presence types; absent means available (RFC 3921 §2.2.1). */
export type PresenceType =
  | "unavailable"
  | "subscribe"
  | "subscribed"
  | "unsubscribe"
  | "unsubscribed"
  | "probe"
  | "error";

/** Availability sub-states (RFC 3921 §2.2.2.1). */
export type Show = "away" | "chat" | "dnd" | "xa";

/** A presence stanza's content. */
export interface Presence {
  /** Recipient (directed presence or subscription), absent for broadcast. */
  to?: string;
  /** Sender. */
  from?: string;
  /** Type; absent means available. */
  type?: PresenceType;
  /** Stanza id. */
  id?: string;
  /** Availability sub-state. */
  show?: Show;
  /** Human-readable status. */
  status?: string;
  /** Priority, -128 to 127. */
  priority?: number;
}

const PRESENCE_TYPES = new Set([
  "unavailable",
  "subscribe",
  "subscribed",
  "unsubscribe",
  "unsubscribed",
  "probe",
  "error",
]);
const SHOWS = new Set(["away", "chat", "dnd", "xa"]);

/**
 * Builds a `<presence/>`.
 *
 * @param p The content (default: available, broadcast).
 * @returns The stanza.
 * @throws {RangeError} When the priority is not an integer from -128 to 127.
 * @see {@link https://www.rfc-editor.org/rfc/rfc6121#section-4.7 | RFC 6121 §4.7}
 *
 * @example
 * ```ts
 * import { buildPresence } from "@rtclite/std/ietf/rfc3921";
 * import { equal } from "node:assert/strict";
 * equal(buildPresence().toString(), "<presence/>");
 * equal(buildPresence({ to: "a@b", type: "subscribe" }).toString(),
 *   '<presence to="a@b" type="subscribe"/>');
 * ```
 */
// @implements RFC3921 §2.2.1, RFC3921 §2.2.2.1, RFC3921 §2.2.2.2, RFC3921 §2.2.2.3
export function buildPresence(p: Presence = {}): XmlElement {
  if (
    p.priority !== undefined && !(Number.isInteger(p.priority) && Math.abs(p.priority + 0.5) <= 128)
  ) {
    throw new RangeError(`Cannot build presence: priority ${p.priority} is not in -128..127`);
  }
  const attrs: Record<string, string> = {};
  setIf(attrs, "to", p.to);
  setIf(attrs, "from", p.from);
  setIf(attrs, "type", p.type);
  setIf(attrs, "id", p.id);
  const pres = el("presence", attrs);
  if (p.show !== undefined) pres.append(el("show", {}, [p.show]));
  if (p.status !== undefined) pres.append(el("status", {}, [p.status]));
  if (p.priority !== undefined) pres.append(el("priority", {}, [String(p.priority)]));
  return pres;
}

/**
 * Reads a `<presence/>`.
 *
 * @param stanza The stanza.
 * @returns Its content; an invalid `<show/>` or `<priority/>` is left out.
 * @throws {XmppParseError} When the element is not a presence or its type is unknown.
 *
 * @example
 * ```ts
 * import { parsePresence } from "@rtclite/std/ietf/rfc3921";
 * import { parseXml } from "@rtclite/std/w3c/simplexml";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(parsePresence(parseXml("<presence from='a@b/c'><show>dnd</show>" +
 *   "<priority>-1</priority></presence>")), { from: "a@b/c", show: "dnd", priority: -1 });
 * ```
 */
// @implements RFC6121 §4.7.1, RFC6121 §4.7.2.1, RFC6121 §4.7.2.2, RFC6121 §4.7.2.3, RFC3921 §2.2.1, RFC3921 §2.2.2.1, RFC3921 §2.2.2.2, RFC3921 §2.2.2.3
export function parsePresence(stanza: XmlElement): Presence {
  if (stanza.localName !== "presence") {
    throw new XmppParseError(`Cannot read presence: element is <${stanza.name}>`, 0);
  }
  const p: Presence = {};
  for (const k of ["to", "from", "id"] as const) {
    const v = stanza.attr(k);
    if (v !== undefined) p[k] = v;
  }
  const type = stanza.attr("type");
  if (type !== undefined) {
    if (!PRESENCE_TYPES.has(type)) {
      throw new XmppParseError(`Cannot read presence: unknown type ${type}`, 0);
    }
    p.type = type as PresenceType;
  }
  const show = stanza.childText("show")?.trim();
  if (show !== undefined && SHOWS.has(show)) p.show = show as Show;
  const status = stanza.childText("status");
  if (status !== undefined) p.status = status;
  const prio = stanza.childText("priority")?.trim();
  if (prio !== undefined && /^[+-]?\d{1,3}$/.test(prio) && Math.abs(Number(prio) + 0.5) <= 128) {
    p.priority = Number(prio);
  }
  return p;
}

// === Roster (RFC 3921 §7; RFC 6121 §2) ===

/** Subscription states of a roster item (RFC 6121 §2.1.2.5); `remove` deletes it. */
export type Subscription = "none" | "to" | "from" | "both" | "remove";

/** A roster item. */
export interface RosterItem {
  /** The contact's bare JID. */
  jid: string;
  /** Handle. */
  name?: string;
  /** Subscription state. */
  subscription?: Subscription;
  /** `subscribe` while a subscription request is pending (RFC 6121 §2.1.2.2). */
  ask?: "subscribe";
  /** Groups. */
  groups: string[];
}

const SUBSCRIPTIONS = new Set(["none", "to", "from", "both", "remove"]);

/**
 * Builds a roster `<query/>`: empty for a roster get, one item for a roster set.
 *
 * @param items Items to set (the server ignores `subscription` except `remove`).
 * @returns The query element.
 * @see {@link https://www.rfc-editor.org/rfc/rfc6121#section-2.1.5 | RFC 6121 §2.1.5}
 *
 * @example
 * ```ts
 * import { buildRosterQuery } from "@rtclite/std/ietf/rfc3921";
 * import { equal } from "node:assert/strict";
 * equal(buildRosterQuery([{ jid: "nurse@example.com", name: "Nurse", groups: ["Servants"] }])
 *   .toString(), '<query xmlns="jabber:iq:roster"><item jid="nurse@example.com" ' +
 *   'name="Nurse"><group>Servants</group></item></query>');
 * ```
 */
// @implements RFC6121 §2.1.3, RFC6121 §2.1.5 ¶1-3, RFC6121 §2.3.1, RFC6121 §2.5.1, RFC3921 §7.1, RFC3921 §7.4, RFC3921 §7.6
export function buildRosterQuery(items: RosterItem[] = []): XmlElement {
  const q = el("query", { xmlns: NS_ROSTER });
  for (const item of items) {
    const attrs: Record<string, string> = { jid: item.jid };
    setIf(attrs, "name", item.name);
    if (item.subscription === "remove") attrs.subscription = "remove";
    q.append(el("item", attrs, item.groups.map((g) => el("group", {}, [g]))));
  }
  return q;
}

/**
 * Reads the items of a roster `<query/>` (a roster result or push).
 *
 * @param query The `<query xmlns="jabber:iq:roster"/>` element.
 * @returns The items.
 * @throws {XmppParseError} When an item lacks a valid `jid`.
 *
 * @example
 * ```ts
 * import { parseRosterQuery } from "@rtclite/std/ietf/rfc3921";
 * import { parseXml } from "@rtclite/std/w3c/simplexml";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(parseRosterQuery(parseXml("<query xmlns='jabber:iq:roster'><item " +
 *   "jid='romeo@example.net' subscription='both' name='Romeo'><group>Friends</group></item></query>")),
 *   [{ jid: "romeo@example.net", name: "Romeo", subscription: "both", groups: ["Friends"] }]);
 * ```
 */
// @implements RFC6121 §2.1.2, RFC6121 §2.1.2.2, RFC6121 §2.1.2.3, RFC6121 §2.1.2.4, RFC6121 §2.1.2.5, RFC6121 §2.1.2.6, RFC6121 §2.1.4, RFC3921 §7.1
export function parseRosterQuery(query: XmlElement): RosterItem[] {
  return query.elements("item", NS_ROSTER).map((item) => {
    const jid = item.attr("jid");
    if (!jid) throw new XmppParseError("Cannot read roster item: missing jid", 0);
    const out: RosterItem = { jid: bareJid(jid), groups: [] };
    const name = item.attr("name");
    if (name !== undefined) out.name = name;
    const sub = item.attr("subscription");
    if (sub !== undefined && SUBSCRIPTIONS.has(sub)) out.subscription = sub as Subscription;
    if (item.attr("ask") === "subscribe") out.ask = "subscribe";
    out.groups = item.elements("group", NS_ROSTER).map((g) => g.text);
    return out;
  });
}

/**
 * Whether a roster push may be accepted: it has no `from`, or `from` is the user's bare JID, and
 * its query holds exactly one item.
 *
 * @param iq The iq `set`.
 * @param ownJid The user's JID (full or bare).
 * @returns `true` to accept it.
 *
 * @example
 * ```ts
 * import { isValidRosterPush } from "@rtclite/std/ietf/rfc3921";
 * import { parseXml } from "@rtclite/std/w3c/simplexml";
 * import { equal } from "node:assert/strict";
 * const push = (from: string) => parseXml(`<iq type='set' id='p' ${from}><query ` +
 *   "xmlns='jabber:iq:roster'><item jid='a@b'/></query></iq>");
 * equal(isValidRosterPush(push(""), "me@x/r"), true);
 * equal(isValidRosterPush(push("from='me@x'"), "me@x/r"), true);
 * equal(isValidRosterPush(push("from='evil@y'"), "me@x/r"), false);
 * ```
 */
// @implements RFC6121 §2.1.6 ¶3-4, RFC3921 §7.4
export function isValidRosterPush(iq: XmlElement, ownJid: string): boolean {
  const from = iq.attr("from");
  if (from !== undefined) {
    try {
      if (bareJid(from) !== bareJid(ownJid)) return false;
    } catch {
      return false;
    }
  }
  const q = iq.child("query", NS_ROSTER);
  return q !== undefined && q.elements("item", NS_ROSTER).length === 1;
}

// === Client ===

/**
 * An XMPP IM client: messages, presence, roster and subscriptions over an {@linkcode XmppSession}.
 *
 * @example Over a session that records what is sent (see the notebook for a full exchange)
 * ```ts
 * import { ImClient, type XmlElement, type XmppSession } from "@rtclite/std/ietf/rfc3921";
 * import { equal } from "node:assert/strict";
 *
 * const sent: string[] = [];
 * const session = {
 *   jid: "romeo@example.net/orchard",
 *   send: (stanza: XmlElement) => void sent.push(stanza.toString()),
 *   handleIq: () => {},
 * } as unknown as XmppSession;
 * const im = new ImClient(session);
 * im.sendMessage("juliet@example.com", "Neither, fair saint");
 * im.subscribe("juliet@example.com/balcony");
 * equal(sent[0], '<message to="juliet@example.com" type="chat"><body>Neither, fair saint</body></message>');
 * equal(sent[1], '<presence to="juliet@example.com" type="subscribe"/>');
 * ```
 */
export class ImClient implements AsyncDisposable {
  #client: XmppSession;
  #roster = new Map<string, RosterItem>();
  #rosterHandlers = new Set<(item: RosterItem) => void>();

  /**
   * Wraps an online XMPP session (`ImClient.connect` of `@rtclite/std/ietf/rfc3921/deno` connects
   * over TCP too).
   *
   * @param client An online session, e.g. an `XmppClient` of `@rtclite/std/ietf/rfc3920/deno`.
   */
  constructor(client: XmppSession) {
    this.#client = client;
    // @implements RFC6121 §2.1.6, RFC3921 §7.4
    client.handleIq(NS_ROSTER, (iq) => {
      if (iq.attr("type") !== "set" || !isValidRosterPush(iq, client.jid)) {
        return iqError(iq, "service-unavailable");
      }
      const [item] = parseRosterQuery(iq.child("query", NS_ROSTER)!);
      if (item!.subscription === "remove") this.#roster.delete(item!.jid);
      else this.#roster.set(item!.jid, item!);
      for (const h of this.#rosterHandlers) h(item!);
      return el("iq", { type: "result", id: iq.attr("id") ?? "" });
    });
  }

  /** The underlying session. */
  get client(): XmppSession {
    return this.#client;
  }

  /** The bound full JID. */
  get jid(): string {
    return this.#client.jid;
  }

  /** The roster as last fetched and updated by pushes, by bare JID. */
  get roster(): ReadonlyMap<string, RosterItem> {
    return this.#roster;
  }

  /**
   * Sends a message.
   *
   * @param to Recipient JID.
   * @param body Text.
   * @param type Message type (default `chat`).
   */
  // @implements RFC6121 §5.1, RFC3921 §4.1
  sendMessage(to: string, body: string, type: MessageType = "chat"): void {
    parseJid(to);
    this.#client.send(buildMessage({ to, type, body }));
  }

  /**
   * Sends presence: initial or subsequent broadcast (no `to`), or unavailable.
   *
   * @param p Presence content (default: available).
   */
  // @implements RFC6121 §4.2.1, RFC6121 §4.4.1, RFC6121 §4.5.1, RFC3921 §5.1.1, RFC3921 §5.1.2, RFC3921 §5.1.5
  sendPresence(p: Presence = {}): void {
    this.#client.send(buildPresence(p));
  }

  /**
   * Retrieves the roster.
   *
   * @param timeout Milliseconds to wait.
   * @returns The items.
   */
  // @implements RFC6121 §2.2, RFC3921 §7.3
  async getRoster(timeout?: number): Promise<RosterItem[]> {
    const iq = el("iq", { type: "get" }, [buildRosterQuery()]);
    const result = await this.#client.request(iq, timeout);
    const query = result.child("query", NS_ROSTER);
    const items = query ? parseRosterQuery(query) : [];
    this.#roster = new Map(items.map((i) => [i.jid, i]));
    return items;
  }

  /**
   * Adds or updates a roster item (the server answers and pushes the item back).
   *
   * @param item The item.
   * @param timeout Milliseconds to wait.
   */
  // @implements RFC6121 §2.3.1, RFC6121 §2.4.1, RFC3921 §7.4
  async setRosterItem(item: RosterItem, timeout?: number): Promise<void> {
    await this.#client.request(el("iq", { type: "set" }, [buildRosterQuery([item])]), timeout);
  }

  /**
   * Removes a roster item.
   *
   * @param jid The contact.
   * @param timeout Milliseconds to wait.
   */
  // @implements RFC6121 §2.5.1, RFC3921 §7.6
  async removeRosterItem(jid: string, timeout?: number): Promise<void> {
    await this.setRosterItem({ jid, subscription: "remove", groups: [] }, timeout);
  }

  /**
   * Requests a subscription to a contact's presence.
   *
   * @param jid The contact's bare JID.
   */
  // @implements RFC6121 §3.1.1, RFC3921 §6.1
  subscribe(jid: string): void {
    this.#client.send(buildPresence({ to: bareJid(jid), type: "subscribe" }));
  }

  /**
   * Approves a subscription request (or pre-approves).
   *
   * @param jid The requester.
   */
  // @implements RFC6121 §3.1.4 ¶2, RFC3921 §6.2
  approve(jid: string): void {
    this.#client.send(buildPresence({ to: bareJid(jid), type: "subscribed" }));
  }

  /**
   * Declines a subscription request or cancels a contact's subscription.
   *
   * @param jid The contact.
   */
  // @implements RFC6121 §3.2.1, RFC3921 §6.3
  deny(jid: string): void {
    this.#client.send(buildPresence({ to: bareJid(jid), type: "unsubscribed" }));
  }

  /**
   * Unsubscribes from a contact's presence.
   *
   * @param jid The contact.
   */
  // @implements RFC6121 §3.3.1, RFC3921 §6.4
  unsubscribe(jid: string): void {
    this.#client.send(buildPresence({ to: bareJid(jid), type: "unsubscribe" }));
  }

  /**
   * Registers a handler for received messages.
   *
   * @param handler Called with each message.
   * @returns A function that removes the handler.
   */
  onMessage(handler: (m: Message) => void): () => void {
    return this.#client.onStanza((s) => {
      if (s.localName === "message") handler(parseMessage(s));
    });
  }

  /**
   * Registers a handler for received presence (availability and subscription stanzas).
   *
   * @param handler Called with each presence.
   * @returns A function that removes the handler.
   */
  // @implements RFC6121 §4.4.4, RFC6121 §3.1.4, RFC3921 §5.1.2, RFC3921 §6.2
  onPresence(handler: (p: Presence) => void): () => void {
    return this.#client.onStanza((s) => {
      if (s.localName !== "presence") return;
      try {
        handler(parsePresence(s));
      } catch (e) {
        log.debug("Ignoring presence: {e}", { e: String(e) });
      }
    });
  }

  /**
   * Registers a handler for roster pushes.
   *
   * @param handler Called with each pushed item.
   * @returns A function that removes the handler.
   */
  onRosterPush(handler: (item: RosterItem) => void): () => void {
    this.#rosterHandlers.add(handler);
    return () => this.#rosterHandlers.delete(handler);
  }

  /** Sends unavailable presence and closes the stream. */
  // @implements RFC6121 §4.5.1, RFC3921 §5.1.5
  async close(): Promise<void> {
    if (this.#client.stream.state === "online") this.sendPresence({ type: "unavailable" });
    await this.#client.close();
  }

  /** Same as {@linkcode ImClient.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
