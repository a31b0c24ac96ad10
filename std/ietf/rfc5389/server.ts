// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * A sans-I/O STUN server (RFC 5389 as revised by RFC 8489 §6.3, §9, §12; RFC 5389 §7.3, §10,
 * §13): {@linkcode StunServer} takes a datagram and its source address and returns the response
 * bytes. It answers Binding, enforces short- or long-term credentials with stateless nonces, and
 * hands other methods to handlers (TURN builds on it). `serveStunUdp` in
 * `@rtclite/std/ietf/rfc5389/udp` puts it on a socket. Re-exported by `@rtclite/std/ietf/rfc5389`.
 *
 * @example A Binding request and its answer
 * ```ts
 * import { createMessage, decodeStun, encodeStun, getAddress, StunAttr, StunServer } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 *
 * const server = new StunServer();
 * const reply = server.handle(encodeStun(createMessage(1, 0)), { family: 4, address: "192.0.2.1", port: 9 });
 * equal(getAddress(decodeStun(reply!), StunAttr.XOR_MAPPED_ADDRESS)?.port, 9);
 * ```
 *
 * @module
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { timingSafeEqual, toHex } from "../../bytes.ts";
import { getLogger } from "../../log.ts";
import {
  addressAttribute,
  type AlgorithmEntry,
  algorithmsAttribute,
  errorCodeAttribute,
  getAlgorithms,
  getText,
  PasswordAlgorithm,
  textAttribute,
  unknownAttributesAttribute,
} from "./attributes.ts";
import {
  longTermKey,
  nonceCookie,
  nonceFeatures,
  SecurityFeature,
  shortTermKey,
  userHash,
} from "./credentials.ts";
import {
  createMessage,
  decodeStun,
  type EncodeOptions,
  encodeStun,
  getAttribute,
  StunAttr,
  type StunAttribute,
  StunClass,
  type StunMessage,
  StunMethod,
  type TransportAddress,
  verifyIntegrity,
} from "./message.ts";
export { StunClass } from "./message.ts";
export type { StunAttribute, StunMessage, TransportAddress } from "./message.ts";

const log = getLogger("stun");
const utf8 = new TextEncoder();

// === Server (RFC 8489 §6.3.1, §9.1.3, §9.2.4, §12; RFC 5389 §7.3.1, §10.1.2, §10.2.2, §13) ===

/** Short-term credentials on a server. */
export interface ShortTermServerAuth {
  /** Mechanism. */
  mechanism: "short-term";
  /** Returns the password of a username, or `undefined` when unknown. */
  password(username: string): string | undefined;
}

/** Long-term credentials on a server. */
export interface LongTermServerAuth {
  /** Mechanism. */
  mechanism: "long-term";
  /** Realm announced in 401 responses. */
  realm: string;
  /** Returns the password of a username, or `undefined` when unknown. */
  password(username: string): string | undefined;
  /** Offer PASSWORD-ALGORITHMS (SHA-256, MD5) and set the nonce cookie's bit (default false). */
  passwordAlgorithms?: boolean;
  /** Known usernames, to resolve USERHASH (enables the username anonymity feature). */
  usernames?: () => Iterable<string>;
  /** Nonce lifetime in ms (default 600 000). */
  nonceLifetime?: number;
  /** Secret for stateless nonces (default: random). */
  secret?: Uint8Array;
}

/** What a method handler sees. */
export interface RequestContext {
  /** The decoded request or indication. */
  message: StunMessage;
  /** Source transport address. */
  from: TransportAddress;
  /** Authenticated username (when the server has credentials configured). */
  username?: string;
  /** Current time (ms). */
  now: number;
}

/** What a method handler returns for a request: a success or an error response's attributes. */
export type HandlerResult =
  | { attributes: StunAttribute[] }
  | { error: number; reason?: string; attributes?: StunAttribute[] };

/** Options of {@linkcode StunServer}. */
export interface StunServerOptions {
  /** SOFTWARE attribute value for responses (omitted when empty). */
  software?: string;
  /** Credentials required for requests (none by default). */
  auth?: ShortTermServerAuth | LongTermServerAuth;
  /** Methods to authenticate (default: all requests). Binding is often left open. */
  authenticate?: (method: number) => boolean;
  /**
   * Extra methods: requests and indications go to these handlers. A handler that needs time (a
   * TURN Connect opens a TCP connection) returns a promise; the response then goes to the `later`
   * callback of {@linkcode StunServer.handle}.
   */
  handlers?: Record<
    number,
    (ctx: RequestContext) => HandlerResult | Promise<HandlerResult> | undefined
  >;
  /** Comprehension-required attribute types the handlers understand. */
  knownAttributes?: Iterable<number>;
  /** Add FINGERPRINT to every response (default: when the request had one). */
  fingerprint?: boolean;
  /**
   * Answer RFC 3489 Binding requests (no magic cookie) with MAPPED-ADDRESS (default true). Even
   * then a classic message is only ever a Binding request that needs no authentication: it cannot
   * carry the credentials of RFC 8489, so every other message without the cookie is dropped.
   * TURN turns it off (RFC 8656 §5: "TURN does not use the backwards-compatibility mechanism").
   */
  classic?: boolean;
  /** Clock (ms), default `Date.now`. */
  now?: () => number;
}

const BASE_KNOWN = [
  StunAttr.MAPPED_ADDRESS,
  StunAttr.USERNAME,
  StunAttr.MESSAGE_INTEGRITY,
  StunAttr.ERROR_CODE,
  StunAttr.UNKNOWN_ATTRIBUTES,
  StunAttr.REALM,
  StunAttr.NONCE,
  StunAttr.MESSAGE_INTEGRITY_SHA256,
  StunAttr.PASSWORD_ALGORITHM,
  StunAttr.USERHASH,
  StunAttr.XOR_MAPPED_ADDRESS,
];

/**
 * A sans-I/O STUN server: give it datagrams and source addresses, it returns the responses.
 * It answers Binding requests with XOR-MAPPED-ADDRESS (MAPPED-ADDRESS for RFC 3489 clients, §12),
 * rejects unknown comprehension-required attributes with 420, enforces short- or long-term
 * credentials with stateless nonces, and passes other methods to handlers (TURN builds on this).
 * Bad input is dropped, never answered as valid.
 *
 * @example Answer a Binding request
 * ```ts
 * import { createMessage, decodeStun, encodeStun, getAddress, StunAttr, StunServer } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const server = new StunServer({ software: "rtclite" });
 * const from = { family: 4 as const, address: "192.0.2.1", port: 32853 };
 * const reply = server.handle(encodeStun(createMessage(1, 0)), from)!;
 * equal(getAddress(decodeStun(reply), StunAttr.XOR_MAPPED_ADDRESS)?.port, 32853);
 * ```
 */
export class StunServer {
  #opts: StunServerOptions;
  #known: Set<number>;
  #secret: Uint8Array;
  #now: () => number;

  /**
   * Creates a server.
   *
   * @param options Software name, credentials, handlers.
   */
  constructor(options: StunServerOptions = {}) {
    this.#opts = options;
    this.#known = new Set([...BASE_KNOWN, ...(options.knownAttributes ?? [])]);
    const auth = options.auth;
    this.#secret = (auth?.mechanism === "long-term" ? auth.secret : undefined) ??
      crypto.getRandomValues(new Uint8Array(16));
    this.#now = options.now ?? Date.now;
  }

  /**
   * Processes one datagram.
   *
   * @param data The datagram.
   * @param from Its source address.
   * @param later Receives the response of a handler that answers asynchronously.
   * @returns The response to send back to `from`, or `undefined` (indication, garbage, response,
   *   or a response that will go to `later`).
   */
  handle(
    data: Uint8Array,
    from: TransportAddress,
    later?: (response: Uint8Array) => void,
  ): Uint8Array | undefined {
    let msg: StunMessage;
    try {
      msg = decodeStun(data, { classic: this.#opts.classic ?? true });
    } catch (e) {
      log.debug("Dropped a bad datagram from {from}: {error}", {
        from: from.address,
        error: String(e),
      });
      return undefined;
    }
    if (msg.class === StunClass.SuccessResponse || msg.class === StunClass.ErrorResponse) {
      return undefined;
    }
    const now = this.#now();
    const isRequest = msg.class === StunClass.Request;
    const handler = this.#opts.handlers?.[msg.method];
    if (msg.method !== StunMethod.Binding && !handler) return undefined; // unsupported method: discard
    const fingerprint = this.#opts.fingerprint ??
      getAttribute(msg, StunAttr.FINGERPRINT) !== undefined;
    const auth = this.#opts.auth;
    const mustAuthenticate = auth !== undefined && (this.#opts.authenticate?.(msg.method) ?? true);

    // A message without the magic cookie (RFC 3489) can only be a Binding request that needs no
    // credentials: anything else would skip authentication, so it is dropped.
    // @implements RFC8489 §11 (RFC 5389 §12)
    if (
      msg.transactionId.length !== 12 &&
      (msg.method !== StunMethod.Binding || !isRequest || mustAuthenticate)
    ) {
      log.debug("Dropped an RFC 3489 message (method {method}) from {from}", {
        method: msg.method,
        from: from.address,
      });
      return undefined;
    }

    // Authentication (§9) comes before the unknown-attribute check (§6.3).
    let sign: EncodeOptions = {};
    let username: string | undefined;
    if (mustAuthenticate) {
      if (!isRequest) {
        if (!this.#verifyIndication(msg, auth)) return undefined;
      } else {
        const r = auth.mechanism === "short-term"
          ? this.#shortTerm(msg, auth)
          : this.#longTerm(msg, auth, from, now);
        if ("error" in r) return this.#reply(msg, r, {}, fingerprint);
        sign = r.sign;
        username = r.username;
      }
    }

    // @implements RFC8489 §6.3.1 ¶1 (RFC 5389 §7.3.1), RFC8489 §6.3.2 (RFC 5389 §7.3.2)
    const unknown = [...new Set(msg.attributes.map((a) => a.type))].filter((t) =>
      t < 0x8000 && !this.#known.has(t)
    );
    if (unknown.length) {
      log.debug("Unknown comprehension-required attributes {types} from {from}", {
        types: unknown.map((t) => "0x" + t.toString(16).padStart(4, "0")).join(","),
        from: `${from.address}:${from.port}`,
      });
      if (!isRequest) return undefined;
      return this.#reply(
        msg,
        { error: 420, attributes: [unknownAttributesAttribute(unknown)] },
        sign,
        fingerprint,
      );
    }
    const ctx: RequestContext = { message: msg, from, now };
    if (username !== undefined) ctx.username = username;
    if (msg.method === StunMethod.Binding && !handler) {
      if (!isRequest) return undefined; // a Binding indication only refreshes NAT bindings (§6.3.2)
      // @implements RFC8489 §6.3.1.1 ¶5 (RFC 5389 §7.3.1.1), RFC5389 §12.2
      const attr = msg.transactionId.length === 16
        ? addressAttribute(StunAttr.MAPPED_ADDRESS, from)
        : addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, from, msg.transactionId);
      return this.#reply(msg, { attributes: [attr] }, sign, fingerprint);
    }
    let result: HandlerResult | Promise<HandlerResult> | undefined;
    const failed = (e: unknown): HandlerResult => {
      log.warn("Handler for method {method} failed: {error}", {
        method: msg.method,
        error: String(e),
      });
      return { error: 500 };
    };
    try {
      result = handler!(ctx);
    } catch (e) {
      result = isRequest ? failed(e) : undefined;
    }
    if (result instanceof Promise) {
      result.catch(failed).then((r) => {
        if (isRequest) later?.(this.#reply(msg, r, sign, fingerprint));
      });
      return undefined;
    }
    return isRequest && result ? this.#reply(msg, result, sign, fingerprint) : undefined;
  }

  /**
   * Builds an encoded response to a request.
   *
   * @param request The request.
   * @param result Success attributes or an error.
   * @param sign Integrity options (the request's key).
   * @param fingerprint Whether to add FINGERPRINT.
   */
  #reply(
    request: StunMessage,
    result: HandlerResult,
    sign: EncodeOptions,
    fingerprint: boolean,
  ): Uint8Array {
    const attrs: StunAttribute[] = [];
    const error = "error" in result;
    if (error) attrs.push(errorCodeAttribute(result.error, result.reason));
    attrs.push(...(result.attributes ?? []));
    // @implements RFC8489 §6.3.1.1 ¶4 (RFC 5389 §7.3.1.1)
    if (this.#opts.software) attrs.push(textAttribute(StunAttr.SOFTWARE, this.#opts.software));
    const cls = error ? StunClass.ErrorResponse : StunClass.SuccessResponse;
    const options: EncodeOptions = { ...sign };
    if (fingerprint) options.fingerprint = true;
    return encodeStun(createMessage(request.method, cls, attrs, request.transactionId), options);
  }

  #verifyIndication(msg: StunMessage, auth: ShortTermServerAuth | LongTermServerAuth): boolean {
    if (auth.mechanism === "long-term") return true; // indications cannot be challenged (§9.2)
    const user = getText(msg, StunAttr.USERNAME);
    const pass = user === undefined ? undefined : auth.password(user);
    return pass !== undefined && verifyIntegrity(msg, shortTermKey(pass)) !== false;
  }

  // @implements RFC8489 §9.1.3 (RFC 5389 §10.1.2)
  #shortTerm(
    msg: StunMessage,
    auth: ShortTermServerAuth,
  ): { error: number } | { sign: EncodeOptions; username: string } {
    const hasMi = getAttribute(msg, StunAttr.MESSAGE_INTEGRITY) ||
      getAttribute(msg, StunAttr.MESSAGE_INTEGRITY_SHA256);
    let user: string | undefined;
    try {
      user = getText(msg, StunAttr.USERNAME);
    } catch {
      return { error: 400 };
    }
    if (!hasMi || user === undefined) return { error: 400 };
    const pass = auth.password(user);
    if (pass === undefined) return { error: 401 };
    const key = shortTermKey(pass);
    const ok = verifyIntegrity(msg, key);
    if (!ok) return { error: 401 };
    return {
      sign: ok === "sha256" ? { integritySha256: key } : { integrity: key },
      username: user,
    };
  }

  #nonce(from: TransportAddress, now: number, features: number): string {
    const stamp = now.toString(36);
    const mac = hmac(sha256, this.#secret, utf8.encode(`${stamp}|${from.address}|${from.port}`));
    return nonceCookie(features) + stamp + "." +
      toHex(mac.subarray(0, 8));
  }

  /** 0 valid, 1 stale (expired), 2 invalid. */
  #checkNonce(nonce: string, from: TransportAddress, now: number, lifetime: number): 0 | 1 | 2 {
    const m = /^obMatJos2.{4}([0-9a-z]+)\.[0-9a-f]{16}$/.exec(nonce);
    if (!m) return 2;
    const stamp = parseInt(m[1]!, 36);
    const expect = this.#nonce(from, stamp, nonceFeatures(nonce) ?? 0);
    if (expect !== nonce) return 2;
    return now - stamp > lifetime ? 1 : 0;
  }

  // @implements RFC8489 §9.2.4 (RFC 5389 §10.2.2)
  #longTerm(
    msg: StunMessage,
    auth: LongTermServerAuth,
    from: TransportAddress,
    now: number,
  ): HandlerResult & { error: number } | { sign: EncodeOptions; username: string } {
    const features = (auth.passwordAlgorithms ? SecurityFeature.PasswordAlgorithms : 0) |
      (auth.usernames ? SecurityFeature.UsernameAnonymity : 0);
    const offered = auth.passwordAlgorithms
      ? algorithmsAttribute(StunAttr.PASSWORD_ALGORITHMS, [
        PasswordAlgorithm.SHA256,
        PasswordAlgorithm.MD5,
      ])
      : undefined;
    const challenge = (code: number) => ({
      error: code,
      attributes: [
        textAttribute(StunAttr.REALM, auth.realm),
        textAttribute(StunAttr.NONCE, this.#nonce(from, now, features)),
        ...(offered ? [offered] : []),
      ],
    });
    const hasMi = getAttribute(msg, StunAttr.MESSAGE_INTEGRITY) ||
      getAttribute(msg, StunAttr.MESSAGE_INTEGRITY_SHA256);
    if (!hasMi) return challenge(401);
    let user: string | undefined, realm: string | undefined, nonce: string | undefined;
    try {
      user = getText(msg, StunAttr.USERNAME);
      realm = getText(msg, StunAttr.REALM);
      nonce = getText(msg, StunAttr.NONCE);
    } catch {
      return { error: 400 };
    }
    const hash = getAttribute(msg, StunAttr.USERHASH);
    if ((user === undefined && !hash) || realm === undefined || nonce === undefined) {
      return { error: 400 };
    }
    let algorithm: number = PasswordAlgorithm.MD5;
    const pas = getAttribute(msg, StunAttr.PASSWORD_ALGORITHMS);
    const pa = getAttribute(msg, StunAttr.PASSWORD_ALGORITHM);
    if ((nonceFeatures(nonce) ?? 0) & SecurityFeature.PasswordAlgorithms && (pas || pa)) {
      let chosen: AlgorithmEntry | undefined;
      try {
        chosen = getAlgorithms(msg, StunAttr.PASSWORD_ALGORITHM)?.[0];
      } catch {
        return { error: 400 };
      }
      if (!pas || !pa || !offered || !timingSafeEqual(pas, offered.value) || !chosen) {
        return { error: 400 };
      }
      if (
        chosen.algorithm !== PasswordAlgorithm.MD5 && chosen.algorithm !== PasswordAlgorithm.SHA256
      ) {
        return { error: 400 };
      }
      algorithm = chosen.algorithm;
    }
    if (user === undefined && hash && auth.usernames) {
      for (const name of auth.usernames()) {
        if (timingSafeEqual(userHash(name, auth.realm), hash)) user = name;
      }
    }
    const pass = user === undefined || realm !== auth.realm ? undefined : auth.password(user);
    if (pass === undefined || user === undefined) return challenge(401);
    const key = longTermKey(user, auth.realm, pass, algorithm);
    const ok = verifyIntegrity(msg, key);
    if (!ok) return challenge(401);
    const state = this.#checkNonce(nonce, from, now, auth.nonceLifetime ?? 600_000);
    if (state !== 0) return challenge(438);
    return {
      sign: ok === "sha256" ? { integritySha256: key } : { integrity: key },
      username: user,
    };
  }
}

// === UDP adapters (node:dgram) ===
