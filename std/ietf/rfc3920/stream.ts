// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The client side of an XMPP stream as a sans-I/O state machine (RFC 6120 §4-§7, RFC 3920 §4-§7):
 * stream headers, STARTTLS, SASL, resource binding and session, fed received bytes. Part of
 * `@rtclite/std/ietf/rfc3920`, which re-exports everything here; the socket adapter that drives it
 * is `@rtclite/std/ietf/rfc3920/deno`.
 *
 * @example Open a stream
 * ```ts
 * import { XmppStream } from "@rtclite/std/ietf/rfc3920";
 * import { equal } from "node:assert/strict";
 *
 * const s = new XmppStream({ jid: "juliet@example.com", password: "r0m30" });
 * s.open();
 * equal(s.state, "opening");
 * equal(s.takeOutput().startsWith("<?xml version='1.0'?><stream:stream to=\"example.com\""), true);
 * ```
 *
 * @module
 */
import { getLogger } from "../../log.ts";
import {
  escapeAttribute,
  serialize,
  XmlElement,
  XmlLimitError,
  XmlParseError,
  XmlPushParser,
  XmlRestrictedError,
} from "../../w3c/simplexml/mod.ts";
import { fromBase64, ScramClient, type ScramOptions, toBase64 } from "./scram.ts";
import {
  formatJid,
  type Jid,
  NS,
  parseJid,
  parseStanzaError,
  SaslError,
  StreamError,
  XmppError,
  XmppParseError,
} from "./stanza.ts";

// The addresses, stanza helpers and errors this module's API uses.
export * from "./stanza.ts";

const log = getLogger("xmpp", "core");
const utf8 = new TextEncoder();
const utf8d = new TextDecoder("utf-8", { fatal: true });

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

  // @implements RFC6120 §4.2, RFC6120 §4.7.1, RFC6120 §4.7.2, RFC6120 §4.7.4, RFC6120 §4.7.5, RFC6120 §4.8.5, RFC3920 §4.4, RFC3920 §4.4.1, RFC3920 §4.5
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
  // @implements RFC6120 §5.4.3.3 ¶1-5, RFC3920 §5.2
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
  // @implements RFC6120 §4.4 ¶1-3, RFC3920 §4.1
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
  // @implements RFC6120 §4.4 ¶7, RFC3920 §4.1
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

  // @implements RFC6120 §4.9.1.1, RFC6120 §4.9.2, RFC3920 §4.7.1, RFC3920 §4.7.2
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

  // @implements RFC6120 §4.4 ¶4-8, RFC3920 §4.1
  #onClose(): void {
    if (this.#state !== "closing") this.#out.push(STREAM_CLOSE);
    this.#state = "closed";
    this.#events.push({ type: "closed" });
  }

  // @implements RFC6120 §4.7.3, RFC6120 §4.7.5 ¶9-10, RFC6120 §4.8.1, RFC6120 §4.8.2, RFC3920 §4.4, RFC3920 §4.4.1, RFC3920 §11.2.1, RFC3920 §11.2.2
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

  // @implements RFC6120 §4.9.3, RFC6120 §4.9.1.1, RFC3920 §4.7.3, RFC3920 §4.7.1
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

  // @implements RFC6120 §4.3.2, RFC6120 §4.3.5, RFC3920 §4.6
  #onFeatures(features: XmlElement): void {
    if (this.#state !== "opening") {
      return this.#fail(new StreamError("bad-format", `features while ${this.#state}`));
    }
    this.#features = features;
    const starttls = features.child("starttls", NS.tls);
    // @implements RFC6120 §5.3.1, RFC6120 §5.4.2.1, RFC6120 §5.3.4, RFC3920 §5.1, RFC3920 §5.2
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
    // @implements RFC6120 §7.4, RFC6120 §7.6.1, RFC6120 §7.7.1, RFC3920 §7
    if (!features.child("bind", NS.bind)) {
      return this.#fail(new XmppError("Cannot negotiate: server does not offer resource binding"));
    }
    const bind = el("bind", { xmlns: NS.bind });
    if (this.#jid.resource) bind.append(el("resource", {}, [this.#jid.resource]));
    this.#pendingId = this.nextId("bind");
    this.#out.push(serialize(el("iq", { type: "set", id: this.#pendingId }, [bind])));
    this.#state = "binding";
  }

  // @implements RFC6120 §5.4.2.2, RFC6120 §5.4.2.3, RFC3920 §5.2
  #onTls(e: XmlElement): void {
    if (e.namespace === NS.tls && e.localName === "proceed") {
      this.#state = "tls";
      this.#events.push({ type: "starttls" });
      return;
    }
    this.#fail(new XmppError(`STARTTLS failed: server sent <${e.name}>`));
  }

  // @implements RFC6120 §6.3.3, RFC6120 §6.3.4, RFC6120 §6.4.2, RFC3920 §6.2
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

  // @implements RFC6120 §6.4.3, RFC6120 §6.4.5, RFC6120 §6.4.6, RFC6120 §6.3.10, RFC3920 §6.2
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
        // @implements RFC6120 §6.4.6 ¶5-6, RFC6120 §6.3.2, RFC6120 §4.3.3, RFC3920 §6.2
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
      // @implements RFC6120 §6.4.4, RFC3920 §6.2
      this.#out.push(serialize(el("abort", { xmlns: NS.sasl })));
      this.#fail(err instanceof SaslError ? err : new SaslError("malformed-request", err.message));
    }
  }

  // @implements RFC6120 §7.6.1, RFC6120 §7.6.2, RFC6120 §7.7.2, RFC3921 §3, RFC3920 §7
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

// === A negotiated session, whatever carries it ===

/** Handles an iq request; returns the result (or an error iq) to send. */
export type IqHandler = (iq: XmlElement) => XmlElement | Promise<XmlElement>;

/**
 * An online XMPP stream as the layers above the core use it (`@rtclite/std/ietf/rfc3921`'s
 * `ImClient`): send stanzas, match iq requests to responses, route what arrives. The TCP adapter
 * `XmppClient` of `@rtclite/std/ietf/rfc3920/deno` is one; a test double or another transport
 * can be another.
 */
export interface XmppSession {
  /** The bound full JID. */
  readonly jid: string;
  /** The state machine underneath (its `state` says whether stanzas may be sent). */
  readonly stream: XmppStream;
  /** Resolves when the stream is over: with the error, or `undefined` when orderly. */
  readonly closed: Promise<XmppError | undefined>;
  /**
   * Sends a stanza.
   *
   * @param stanza The stanza.
   */
  send(stanza: XmlElement): void;
  /**
   * Sends an iq `get` or `set` and waits for its `result`.
   *
   * @param iq The request.
   * @param timeout Milliseconds to wait.
   * @returns The `result` iq.
   */
  request(iq: XmlElement, timeout?: number): Promise<XmlElement>;
  /**
   * Registers a handler for received stanzas.
   *
   * @param handler Called with each stanza.
   * @returns A function that removes the handler.
   */
  onStanza(handler: (stanza: XmlElement) => void): () => void;
  /**
   * Answers iq requests whose child is in `namespace`.
   *
   * @param namespace The child element's namespace.
   * @param handler Returns the reply.
   */
  handleIq(namespace: string, handler: IqHandler): void;
  /** Closes the stream. */
  close(): Promise<void>;
}
