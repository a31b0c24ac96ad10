// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * SIP over WebSocket (RFC 7118): the `WS`/`WSS` transport adapter of the
 * SIP stack, on the WebSocket client and server of
 * `@rtclite/std/ietf/rfc6455`. One SIP message travels as one WebSocket
 * message with the subprotocol `sip`; a `SipEndpoint` uses it like
 * the UDP, TCP and TLS transports of `@rtclite/std/ietf/rfc3261/transport`.
 *
 * @example Exchange a request over WebSocket
 * ```ts
 * import { WsTransport } from "@rtclite/std/ietf/rfc3261/ws_transport";
 * import { equal } from "node:assert/strict";
 *
 * const server = await WsTransport.listen({ port: 0 });
 * const client = await WsTransport.listen({ port: 0 });
 * const got = Promise.withResolvers<string>();
 * server.onMessage = (m) => got.resolve(m.method!);
 * await client.send(new TextEncoder().encode("OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n"), "127.0.0.1", server.port);
 * equal(await got.promise, "OPTIONS");
 * await client.close();
 * await server.close();
 * ```
 *
 * @module
 */
// @implements RFC7118 (The WebSocket Protocol as a Transport for SIP)
import { getLogger } from "../../log.ts";
import { serveWebSocket, WebSocket, type WebSocketServer } from "../rfc6455/deno.ts";
import { parseMessage, type SipMessage } from "./message.ts";
import {
  type SipConnection,
  type SipSource,
  type SipTransport,
  SipTransportError,
  type TransportName,
} from "./endpoint.ts";
import { resolveHost, type TransportOptions } from "./transport.ts";

const log = getLogger("sip", "transport");

// === WebSocket (RFC 7118) ===

/** Options for {@linkcode WsTransport.listen}. */
export interface WsTransportOptions extends TransportOptions {
  /** PEM certificate chain: listen as `WSS` when given with `key`. */
  cert?: string;
  /** PEM private key. */
  key?: string;
  /** Extra CA certificates (PEM) to trust when connecting out over `wss:`. */
  caCerts?: string[];
}

class WsConnection implements SipConnection {
  readonly host: string;
  readonly port: number;
  /** Addresses this connection is indexed by in its transport. */
  readonly keys: string[] = [];
  #ws: WebSocket;
  constructor(ws: WebSocket, host: string, port: number) {
    this.#ws = ws;
    this.host = host;
    this.port = port;
  }
  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }
  write(bytes: Uint8Array): Promise<void> {
    // @implements RFC7118 §5 ¶3
    this.#ws.send(decoderText.decode(bytes));
    return Promise.resolve();
  }
  close(): void {
    this.#ws.close();
  }
}

const decoderText = new TextDecoder();

/**
 * SIP over WebSocket (RFC 7118) on `@rtclite/std/ietf/rfc6455`: one SIP
 * message per WebSocket message, subprotocol `sip`. Connections from
 * clients are indexed by their address and by the (often `.invalid`)
 * sent-by of their first Via, so requests to their Contact reuse them.
 *
 * @example
 * ```ts
 * import { WsTransport } from "@rtclite/std/ietf/rfc3261/ws_transport";
 * import { equal } from "node:assert/strict";
 *
 * const server = await WsTransport.listen({ port: 0 });
 * const client = await WsTransport.listen({ port: 0 });
 * const got = Promise.withResolvers<string>();
 * server.onMessage = (m) => got.resolve(m.method!);
 * await client.send(new TextEncoder().encode("OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n"), "127.0.0.1", server.port);
 * equal(await got.promise, "OPTIONS");
 * await client.close();
 * await server.close();
 * ```
 */
// @implements RFC7118 §5, §5.1, §5.2
export class WsTransport implements SipTransport {
  /** `WS` or `WSS`. */
  readonly name: TransportName;
  /** WebSocket runs over TCP: reliable. */
  readonly reliable: boolean = true;
  /** Host names resolve through the system's DNS. */
  readonly resolveHost: (host: string) => Promise<string[]> = resolveHost;
  /** Local address. */
  readonly host: string;
  /** Local port. */
  readonly port: number;
  /** Receives each parsed message. */
  onMessage: (m: SipMessage, source: SipSource) => void = () => {};
  #server: WebSocketServer;
  #conns = new Map<string, WsConnection>();
  #pending = new Map<string, Promise<WsConnection>>();
  #opts: WsTransportOptions;
  #seq = 0;

  private constructor(server: WebSocketServer, options: WsTransportOptions) {
    this.#server = server;
    this.#opts = options;
    this.name = options.cert && options.key ? "WSS" : "WS";
    this.host = server.addr.hostname;
    this.port = server.addr.port;
  }

  /**
   * Listens for SIP WebSocket connections.
   *
   * @param options Address, port, optional certificate for WSS.
   * @returns The transport.
   */
  static listen(options: WsTransportOptions = {}): Promise<WsTransport> {
    const ref: { t?: WsTransport } = {};
    const server = serveWebSocket({
      hostname: options.host ?? "127.0.0.1",
      port: options.port ?? 80,
      protocols: ["sip"],
      maxMessageSize: options.maxMessageSize ?? 65535,
      ...(options.cert && options.key ? { cert: options.cert, key: options.key } : {}),
    }, (ws) => {
      const t = ref.t;
      if (t) t.#adopt(ws, `ws-peer-${++t.#seq}.invalid`, 0);
    });
    ref.t = new WsTransport(server, options);
    return Promise.resolve(ref.t);
  }

  #adopt(ws: WebSocket, host: string, port: number): WsConnection {
    const c = new WsConnection(ws, host, port);
    const keys = c.keys;
    keys.push(`${host}:${port}`);
    this.#conns.set(keys[0]!, c);
    ws.onmessage = (ev: MessageEvent) => {
      const data = ev.data as string | Uint8Array;
      if (data.length > (this.#opts.maxMessageSize ?? 65535)) return;
      let m: SipMessage;
      try {
        m = parseMessage(data, { maxHeaders: this.#opts.maxHeaders ?? 256 });
      } catch (e) {
        log.debug("Dropped malformed WebSocket message: {error}", { error: String(e) });
        return;
      }
      // No Via claim associates this connection with an address: only
      // associate() does, for a registration made over it (RFC 5626 §5.2).
      try {
        this.onMessage(m, { transport: this, host, port, connection: c });
      } catch (e) {
        log.error("Handler failed on a WebSocket message: {error}", { error: String(e) });
      }
    };
    ws.onclose = () => {
      for (const k of keys) if (this.#conns.get(k) === c) this.#conns.delete(k);
    };
    return c;
  }

  /**
   * Sends one SIP message as one WebSocket message, over `connection`, a
   * known connection to `host:port`, or a new `ws:`/`wss:` connection.
   *
   * @param bytes The message.
   * @param host Destination.
   * @param port Destination port.
   * @param connection Preferred connection.
   */
  async send(
    bytes: Uint8Array,
    host: string,
    port: number,
    connection?: SipConnection,
  ): Promise<void> {
    if (connection?.open) return await connection.write(bytes);
    const h = host.toLowerCase();
    let c = this.#conns.get(`${h}:${port}`) ?? this.#conns.get(`${h}:`);
    if (!c?.open) {
      const key = `${h}:${port}`;
      let p = this.#pending.get(key);
      if (!p) {
        p = new Promise<WsConnection>((resolve, reject) => {
          const scheme = this.name === "WSS" ? "wss" : "ws";
          const hostText = host.includes(":") ? `[${host}]` : host;
          const ws = new WebSocket(`${scheme}://${hostText}:${port}/`, ["sip"], {
            ...(this.#opts.caCerts ? { caCerts: this.#opts.caCerts } : {}),
          });
          ws.onopen = () => resolve(this.#adopt(ws, h, port));
          ws.onerror = () =>
            reject(
              new SipTransportError(`Cannot connect to ${scheme}://${hostText}:${port}`),
            );
        });
        this.#pending.set(key, p);
        p.finally(() => this.#pending.delete(key)).catch(() => {});
      }
      c = await p;
    }
    await c.write(bytes);
  }

  /**
   * Makes an open connection of this transport the one used for messages to
   * `host:port` (the flow of a registration made over it, RFC 5626 §5.2;
   * RFC 7118 §5.3).
   *
   * @param connection A connection this transport accepted or opened.
   * @param host The registered contact's host.
   * @param port The registered contact's port.
   */
  associate(connection: SipConnection, host: string, port: number): void {
    if (!(connection instanceof WsConnection) || !connection.open) return;
    const h = host.replace(/^\[|\]$/g, "").toLowerCase();
    const key = `${h}:${port}`;
    const old = this.#conns.get(key);
    if (old === connection) return;
    if (old) old.keys.splice(0, old.keys.length, ...old.keys.filter((k) => k !== key));
    connection.keys.push(key);
    this.#conns.set(key, connection);
  }

  /** Number of open connections. */
  get connections(): number {
    return new Set(this.#conns.values()).size;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    for (const c of new Set(this.#conns.values())) c.close();
    this.#conns.clear();
    await this.#server.close();
  }
}
