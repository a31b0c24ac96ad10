// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Send and receive chat messages over XMPP in one call: a small convenience on top of
 * `@rtclite/std/ietf/rfc3921/deno`'s {@linkcode ImClient}.
 *
 * The original rtclite had a helper for Google Chat (Google Talk) over XMPP. Google has shut
 * down that XMPP service (`talk.google.com`), and today's Google Chat has no XMPP interface, so
 * this module talks to **any standard XMPP server** (Prosody, ejabberd, Openfire, a hosted
 * service): give it the account's JID and password, and optionally the server's address.
 *
 * - {@linkcode sendMessage} connects, sends one chat message and disconnects;
 * - {@linkcode receiveMessages} connects, announces presence and yields incoming messages until
 *   the loop ends, the signal aborts or the server closes the stream;
 * - {@linkcode openChat} keeps one connection for both.
 *
 * Connection security is the core's: STARTTLS when offered, SCRAM before PLAIN, and PLAIN only over
 * TLS unless `allowPlain` is set. For rosters, presence and raw stanzas use
 * `@rtclite/std/ietf/rfc3921` directly.
 *
 * Command line (`vnd/google/chat/main.ts`): `deno run -A vnd/google/chat/main.ts --jid
 * me@example.org --password P [--server host:5222] [--insecure-plain] send you@example.org 'hello'`
 * or `... receive`.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc6121#section-5 | RFC 6121 §5 (exchanging messages)}
 *
 * @example Send a message (against a real server)
 * ```ts ignore
 * import { sendMessage } from "@rtclite/vnd/google/chat";
 * await sendMessage({ jid: "me@example.org", password: "secret" }, "you@example.org", "hello");
 * ```
 *
 * @module
 */
import {
  ImClient,
  type Message,
  parseJid,
  type XmppClientOptions,
} from "@rtclite/std/ietf/rfc3921/deno";

/** An XMPP account and how to reach its server. */
export interface ChatAccount {
  /** The account: `user@domain`, or `user@domain/resource` to ask for a resource. */
  jid: string;
  /** The password. */
  password: string;
  /** The server as `host` or `host:port` (default: the JID's domain, port 5222). */
  server?: string;
  /** STARTTLS policy: use when offered (`optional`, default), insist (`required`), or never. */
  tls?: "optional" | "required" | "disabled";
  /** Allow SASL PLAIN without TLS (default false; for test servers on 127.0.0.1). */
  allowPlain?: boolean;
  /** Extra CA certificates (PEM) to trust, e.g. a test server's self-signed one. */
  caCerts?: string[];
  /** Time limit for connecting and logging in, in milliseconds (default 15 000). */
  timeout?: number;
}

/** A received chat message. */
export interface ChatMessage {
  /** The sender's full JID. */
  from: string;
  /** The text. */
  body: string;
  /** The message type (`chat` unless the sender said otherwise). */
  type: string;
  /** The conversation thread, when the sender gave one. */
  thread?: string;
}

/** Turns an account into the core's client options. */
function clientOptions(account: ChatAccount): XmppClientOptions {
  const { server, ...rest } = account;
  const options: XmppClientOptions = rest;
  parseJid(options.jid);
  if (server !== undefined) {
    const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(server);
    const port = m?.[3] === undefined ? 5222 : Number(m[3]);
    if (!m || port < 1 || port > 65535) {
      throw new RangeError(`Cannot use server ${JSON.stringify(server)}: expected host[:port]`);
    }
    options.hostname = m[1] ?? m[2]!;
    options.port = port;
  }
  return options;
}

/** A connected chat session: send and receive over one connection. */
export interface Chat extends AsyncDisposable {
  /** The bound full JID. */
  readonly jid: string;
  /**
   * Sends a chat message.
   *
   * @param to The recipient's JID.
   * @param text The text.
   */
  send(to: string, text: string): void;
  /**
   * Yields received messages that have a body, until the signal aborts or the stream closes.
   *
   * @param signal Stops the iteration.
   */
  messages(signal?: AbortSignal): AsyncGenerator<ChatMessage>;
  /** Sends unavailable presence and closes the stream. */
  close(): Promise<void>;
}

/**
 * Connects, authenticates and announces presence (so the server delivers messages).
 *
 * @param account The account.
 * @returns The session.
 * @throws {SaslError} When the password is refused (errors come from `@rtclite/std/ietf/rfc3920`).
 * @throws {RangeError} When `server` is not `host[:port]`.
 *
 * @example Against a scripted server (see chat_test.ts); here only the shape
 * ```ts
 * import { openChat } from "@rtclite/vnd/google/chat";
 * import { equal } from "node:assert/strict";
 * equal(typeof openChat, "function");
 * ```
 */
export async function openChat(account: ChatAccount): Promise<Chat> {
  const im = await ImClient.connect(clientOptions(account));
  const queue: ChatMessage[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  im.onMessage((m: Message) => {
    if (m.body === undefined || m.type === "error") return;
    const msg: ChatMessage = { from: m.from ?? "", body: m.body, type: m.type ?? "normal" };
    if (m.thread !== undefined) msg.thread = m.thread;
    queue.push(msg);
    wake?.();
  });
  im.client.closed.then(() => {
    closed = true;
    wake?.();
  });
  im.sendPresence();
  const close = async () => {
    closed = true;
    wake?.();
    await im.close();
  };
  return {
    jid: im.jid,
    send: (to, text) => im.sendMessage(to, text),
    async *messages(signal?: AbortSignal): AsyncGenerator<ChatMessage> {
      const onAbort = () => wake?.();
      signal?.addEventListener("abort", onAbort);
      try {
        while (true) {
          const next = queue.shift();
          if (next) {
            yield next;
            continue;
          }
          if (closed || signal?.aborted) return;
          await new Promise<void>((resolve) => wake = resolve);
          wake = undefined;
        }
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Sends one chat message: connects, sends, disconnects.
 *
 * @param account The sender's account.
 * @param to The recipient's JID.
 * @param text The text.
 * @throws {SaslError} When the password is refused.
 * @throws {XmppTimeoutError} When the server does not complete the negotiation in time.
 *
 * @example
 * ```ts ignore
 * import { sendMessage } from "@rtclite/vnd/google/chat";
 * await sendMessage({ jid: "me@example.org", password: "pw", server: "127.0.0.1" }, "you@example.org", "hi");
 * ```
 */
export async function sendMessage(account: ChatAccount, to: string, text: string): Promise<void> {
  parseJid(to);
  await using chat = await openChat(account);
  chat.send(to, text);
}

/**
 * Receives chat messages: connects, announces presence and yields each message with a body until
 * the loop breaks, `signal` aborts or the server closes the stream; then disconnects.
 *
 * @param account The account.
 * @param signal Stops receiving.
 * @returns The messages as they arrive.
 *
 * @example
 * ```ts ignore
 * import { receiveMessages } from "@rtclite/vnd/google/chat";
 * for await (const m of receiveMessages({ jid: "me@example.org", password: "pw" })) {
 *   console.log(`${m.from}: ${m.body}`);
 * }
 * ```
 */
export async function* receiveMessages(
  account: ChatAccount,
  signal?: AbortSignal,
): AsyncGenerator<ChatMessage> {
  await using chat = await openChat(account);
  yield* chat.messages(signal);
}
