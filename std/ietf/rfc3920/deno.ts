// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The Deno adapter of `@rtclite/std/ietf/rfc3920`: {@linkcode XmppClient} connects over TCP,
 * upgrades with `Deno.startTls` when the server offers STARTTLS, feeds the sans-I/O
 * {@linkcode XmppStream} and writes what it queues, routes stanzas to handlers, answers unhandled
 * iq requests with `service-unavailable` and matches iq responses to requests with timeouts.
 *
 * @example Against an in-process server that accepts PLAIN
 * ```ts
 * import { XmppClient } from "@rtclite/std/ietf/rfc3920/deno";
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
 *
 * @module
 */
import { getLogger } from "../../log.ts";
import type { XmlElement } from "../../w3c/simplexml/mod.ts";
import {
  formatJid,
  iqError,
  type IqHandler,
  NS,
  parseJid,
  parseStanzaError,
  XmppError,
  type XmppEvent,
  type XmppSession,
  XmppStream,
  type XmppStreamOptions,
  XmppTimeoutError,
} from "./mod.ts";

// The whole pure API, so that a Deno program imports one module.
export * from "./mod.ts";

const log = getLogger("xmpp", "core");
const utf8 = new TextEncoder();

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
 * @example Connect, send a message, close (against a real server; see the module example)
 * ```ts ignore
 * import { XmppClient } from "@rtclite/std/ietf/rfc3920/deno";
 * import { XmlElement } from "@rtclite/std/w3c/simplexml";
 *
 * await using client = await XmppClient.connect({ jid: "romeo@example.net", password: "P" });
 * client.send(new XmlElement("message", { to: "juliet@example.com", type: "chat" }, [
 *   new XmlElement("body", {}, ["hello"]),
 * ]));
 * ```
 */
export class XmppClient implements XmppSession, AsyncDisposable {
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
  // @implements RFC6120 §8.2.3 ¶5, RFC6120 §8.1.3, RFC3920 §9.2.3, RFC3920 §9.1.3
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
        // @implements RFC6120 §5.4.3.1, RFC6120 §5.4.3.3, RFC3920 §5.2
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

  // @implements RFC6120 §8.2.3 ¶11-12, RFC3920 §9.2.3
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
        // @implements RFC6120 §8.2.3 ¶13, RFC3920 §9.2.3
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
