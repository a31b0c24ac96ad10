// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * STUN credentials (RFC 5389 as revised by RFC 8489 §9; RFC 5389 §10): the short- and long-term
 * HMAC keys, USERHASH, the nonce cookie that announces security features, and
 * {@linkcode LongTermCredentials}, the client side of the long-term mechanism (sans-I/O).
 * Re-exported by `@rtclite/std/ietf/rfc5389`.
 *
 * @example The long-term key of RFC 5769 §2.4
 * ```ts
 * import { longTermKey } from "@rtclite/std/ietf/rfc5389";
 * import { toHex } from "@rtclite/std/bytes";
 * import { equal } from "node:assert/strict";
 *
 * equal(toHex(longTermKey("user", "realm", "pass")), "8493fbc53ba582fb4c044c456bdc40eb");
 * ```
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { md5 } from "@noble/hashes/legacy.js";
import {
  algorithmsAttribute,
  getAlgorithms,
  getErrorCode,
  getText,
  PasswordAlgorithm,
  textAttribute,
} from "./attributes.ts";
import {
  type EncodeOptions,
  getAttribute,
  StunAttr,
  type StunMessage,
  verifyIntegrity,
} from "./message.ts";
export { StunClass } from "./message.ts";
export type { EncodeOptions, StunAttribute, StunMessage } from "./message.ts";

const utf8 = new TextEncoder();

// === Keys (RFC 8489 §9.1.1, §9.2.2, §14.4; RFC 5389 gives the keys in §15.4) ===

/**
 * OpaqueString-style preparation (RFC 8265 §4.2): maps non-ASCII spaces to U+0020 and applies
 * Unicode Normalization Form C.
 *
 * @param s A username, realm or password.
 * @returns The prepared string.
 * @example
 * ```ts
 * import { opaqueString } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(opaqueString("e\u0301"), "\u00e9");
 * ```
 */
export function opaqueString(s: string): string {
  return s.replace(/[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/g, " ").normalize("NFC");
}

/**
 * The short-term credential HMAC key: the UTF-8 bytes of OpaqueString(password).
 *
 * @param password The password.
 * @returns The key.
 * @example
 * ```ts
 * import { shortTermKey } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(shortTermKey("pass").length, 4);
 * ```
 */
// @implements RFC8489 §9.1.1 (RFC 5389 §15.4)
export function shortTermKey(password: string): Uint8Array {
  return utf8.encode(opaqueString(password));
}

/**
 * The long-term credential HMAC key: MD5 (16 bytes) or SHA-256 (32 bytes) of
 * `username ":" OpaqueString(realm) ":" OpaqueString(password)`.
 *
 * @param username Username as sent in USERNAME.
 * @param realm Realm from the server.
 * @param password Password.
 * @param algorithm {@linkcode PasswordAlgorithm.MD5} (default) or `SHA256`.
 * @returns The key.
 * @example
 * ```ts
 * import { longTermKey } from "@rtclite/std/ietf/rfc5389";
 * import { toHex } from "@rtclite/std/bytes";
 * import { equal } from "node:assert/strict";
 * equal(toHex(longTermKey("user", "realm", "pass")), "8493fbc53ba582fb4c044c456bdc40eb");
 * ```
 */
// @implements RFC8489 §9.2.2 ¶1-2 (RFC 5389 §15.4), RFC8489 §18.5.1.2 (new in RFC 8489)
export function longTermKey(
  username: string,
  realm: string,
  password: string,
  algorithm: number = PasswordAlgorithm.MD5,
): Uint8Array {
  const input = utf8.encode(`${username}:${opaqueString(realm)}:${opaqueString(password)}`);
  if (algorithm === PasswordAlgorithm.MD5) return md5(input);
  if (algorithm === PasswordAlgorithm.SHA256) return sha256(input);
  throw new RangeError(`Unsupported password algorithm: ${algorithm}`);
}

/**
 * The USERHASH value: SHA-256 of `OpaqueString(username) ":" OpaqueString(realm)`.
 *
 * @param username Username.
 * @param realm Realm.
 * @returns 32 bytes.
 * @example
 * ```ts
 * import { userHash } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(userHash("user", "realm").length, 32);
 * ```
 */
// @implements RFC8489 §14.4 (new in RFC 8489)
export function userHash(username: string, realm: string): Uint8Array {
  return sha256(utf8.encode(`${opaqueString(username)}:${opaqueString(realm)}`));
}

// === Nonce cookie and security features (RFC 8489 §9.2, §18.1; new in RFC 8489) ===

/** STUN Security Feature bits (RFC 8489 §18.1) as values of the 24-bit set. */
export const SecurityFeature = {
  PasswordAlgorithms: 0x800000,
  UsernameAnonymity: 0x400000,
} as const;

/**
 * Returns the 13-character "nonce cookie" announcing the security features.
 *
 * @param features Bitwise OR of {@linkcode SecurityFeature} values.
 * @returns `obMatJos2` and the base64 of the 24-bit feature set.
 * @example
 * ```ts
 * import { nonceCookie, SecurityFeature } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(nonceCookie(0), "obMatJos2AAAA");
 * equal(nonceCookie(SecurityFeature.PasswordAlgorithms), "obMatJos2gAAA");
 * ```
 */
// @implements RFC8489 §9.2 ¶5 (new in RFC 8489)
export function nonceCookie(features: number): string {
  return "obMatJos2" +
    btoa(String.fromCharCode(features >> 16 & 0xff, features >> 8 & 0xff, features & 0xff));
}

/**
 * Reads the security features from a NONCE starting with the nonce cookie.
 *
 * @param nonce NONCE value.
 * @returns The 24-bit feature set, or `undefined` without a nonce cookie.
 * @example
 * ```ts
 * import { nonceFeatures, SecurityFeature } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * equal(nonceFeatures("obMatJos2gAAAxyz"), SecurityFeature.PasswordAlgorithms);
 * equal(nonceFeatures("abc"), undefined);
 * ```
 */
export function nonceFeatures(nonce: string): number | undefined {
  if (!nonce.startsWith("obMatJos2") || nonce.length < 13) return undefined;
  try {
    const b = atob(nonce.slice(9, 13));
    return (b.charCodeAt(0) << 16) | (b.charCodeAt(1) << 8) | b.charCodeAt(2);
  } catch {
    return undefined;
  }
}

// === Long-term credentials, client side (RFC 8489 §9.2.3, §9.2.5; RFC 5389 §10.2.1, §10.2.3) ===

/** Options of {@linkcode LongTermCredentials}. */
export interface CredentialOptions {
  /** Username. */
  username: string;
  /** Password. */
  password: string;
  /** Use MESSAGE-INTEGRITY-SHA256 instead of MESSAGE-INTEGRITY (also implied by PASSWORD-ALGORITHMS). */
  sha256?: boolean;
}

/**
 * Client side of the long-term credential mechanism, sans-I/O: it adds USERNAME or USERHASH,
 * REALM, NONCE and PASSWORD-ALGORITHM(S) to requests, picks the key, learns realm and nonce from
 * 401 and 438 responses, and checks the integrity of responses.
 *
 * @example React to a 401 challenge
 * ```ts
 * import {
 *   createMessage, errorCodeAttribute, getText, LongTermCredentials, StunAttr, StunClass, textAttribute,
 * } from "@rtclite/std/ietf/rfc5389";
 * import { equal } from "node:assert/strict";
 * const creds = new LongTermCredentials({ username: "user", password: "pass" });
 * const challenge = createMessage(3, StunClass.ErrorResponse, [
 *   errorCodeAttribute(401), textAttribute(StunAttr.REALM, "example.org"),
 *   textAttribute(StunAttr.NONCE, "obMatJos2AAAAabc"),
 * ]);
 * equal(creds.onErrorResponse(challenge), true);
 * const { message } = creds.sign(createMessage(3, StunClass.Request));
 * equal(getText(message, StunAttr.REALM), "example.org");
 * ```
 */
export class LongTermCredentials {
  /** Username. */
  readonly username: string;
  #password: string;
  #sha256: boolean;
  #realm: string | undefined;
  #nonce: string | undefined;
  #algorithms: Uint8Array | undefined;
  #algorithm = PasswordAlgorithm.MD5 as number;
  #anonymous = false;
  #tried = false;
  #staleRetries = 0;

  /**
   * Creates the credential state.
   *
   * @param options Username, password and integrity choice.
   */
  constructor(options: CredentialOptions) {
    this.username = options.username;
    this.#password = options.password;
    this.#sha256 = options.sha256 ?? false;
  }

  /** The realm learned from the server, if any. */
  get realm(): string | undefined {
    return this.#realm;
  }

  /** The current HMAC key, once a realm is known. */
  get key(): Uint8Array | undefined {
    return this.#realm === undefined
      ? undefined
      : longTermKey(this.username, this.#realm, this.#password, this.#algorithm);
  }

  /**
   * Adds the credential attributes to a request (nothing before the first challenge, §9.2.3.1).
   *
   * @param request The request without credential attributes.
   * @returns The request with them, and the {@linkcode EncodeOptions} carrying the key.
   */
  // @implements RFC8489 §9.2.3.1 (RFC 5389 §10.2.1.1), RFC8489 §9.2.3.2 (RFC 5389 §10.2.1.2)
  sign(request: StunMessage): { message: StunMessage; options: EncodeOptions } {
    const key = this.key;
    if (!key || this.#nonce === undefined) return { message: request, options: {} };
    const attrs = request.attributes.filter((a) =>
      ![
        StunAttr.USERNAME,
        StunAttr.USERHASH,
        StunAttr.REALM,
        StunAttr.NONCE,
        StunAttr.PASSWORD_ALGORITHM,
        StunAttr.PASSWORD_ALGORITHMS,
      ].includes(a.type as 6)
    );
    attrs.push(
      this.#anonymous
        ? { type: StunAttr.USERHASH, value: userHash(this.username, this.#realm!) }
        : textAttribute(StunAttr.USERNAME, this.username),
      textAttribute(StunAttr.REALM, this.#realm!),
      textAttribute(StunAttr.NONCE, this.#nonce),
    );
    if (this.#algorithms) {
      attrs.push(
        { type: StunAttr.PASSWORD_ALGORITHMS, value: this.#algorithms },
        algorithmsAttribute(StunAttr.PASSWORD_ALGORITHM, [this.#algorithm]),
      );
    }
    const sha256 = this.#sha256 || this.#algorithms !== undefined;
    return {
      message: { ...request, attributes: attrs },
      options: sha256 ? { integritySha256: key } : { integrity: key },
    };
  }

  /**
   * Learns from a 401 or 438 error response.
   *
   * @param response An error response to a request signed by this object.
   * @returns `true` when the request should be retried (in a new transaction, signed again).
   */
  // @implements RFC8489 §9.2.5 ¶1-3 (RFC 5389 §10.2.3)
  onErrorResponse(response: StunMessage): boolean {
    const code = getErrorCode(response)?.code;
    if (code !== 401 && code !== 438) return false;
    const nonce = getText(response, StunAttr.NONCE);
    const realm = getText(response, StunAttr.REALM) ?? this.#realm;
    if (nonce === undefined || realm === undefined) return false;
    const features = nonceFeatures(nonce) ?? 0;
    const algs = getAttribute(response, StunAttr.PASSWORD_ALGORITHMS);
    if (features & SecurityFeature.PasswordAlgorithms && !algs) return false;
    if (algs) {
      const supported = getAlgorithms(response, StunAttr.PASSWORD_ALGORITHMS)!.find((a) =>
        a.algorithm === PasswordAlgorithm.MD5 || a.algorithm === PasswordAlgorithm.SHA256
      );
      if (!supported) return false;
      this.#algorithms = algs.slice();
      this.#algorithm = supported.algorithm;
    }
    this.#anonymous = (features & SecurityFeature.UsernameAnonymity) !== 0;
    this.#nonce = nonce;
    if (code === 438) {
      // Bounded: a server that keeps answering 438 does not make us loop.
      this.#realm = realm;
      return ++this.#staleRetries <= 3;
    }
    if (this.#tried && realm === this.#realm) return false; // same credentials already refused
    this.#tried = true;
    this.#realm = realm;
    return true;
  }

  /**
   * Checks a response's integrity with the current key (§9.2.5 ¶7-8).
   *
   * @param response A decoded response.
   * @returns `true` when authenticated, `false` when it must be discarded.
   */
  verify(response: StunMessage): boolean {
    const key = this.key;
    return key !== undefined && verifyIntegrity(response, key) !== false;
  }

  /** Resets the stale-nonce counter after a successful transaction. */
  succeeded(): void {
    this.#staleRetries = 0;
  }
}
