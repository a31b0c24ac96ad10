// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The cryptography profile Flash Player deployed for RTMFP. RFC 7016 leaves the profile to the
 * application (§2.2.3); this one is not published by Adobe, and is written here from what
 * the open servers that talked to Flash Player do (read in OpenRTMFP Cumulus,
 * `CumulusLib/sources/RTMFP.cpp`, `Handshake.cpp`, `Cookie.cpp`, and MonaServer,
 * `MonaCore/sources/RTMFP/RTMFP.cpp`, `RTMFPCookieComputing.cpp`; no code was copied):
 *
 * - Packets are encrypted with AES-128 in CBC mode with a zero IV, each packet on its own. The
 *   plain packet is prefixed with a 16-bit checksum (the ones' complement of the ones'
 *   complement sum of the 16-bit big-endian words after it, a final odd byte added as a low
 *   byte, unlike RFC 1071) and padded with 0xff bytes to a multiple of 16 bytes.
 * - The Default Session Key is the 16 ASCII bytes `Adobe Systems 02`.
 * - Session keys come from an anonymous Diffie-Hellman exchange in the 1024-bit MODP group 2
 *   (RFC 2409 §6.2; generator 2). The initiator's public key travels in its certificate (an
 *   option of type 0x1d), the responder's in its Session Key Responder Component (type 0x0d).
 *   With `S` the shared secret, `Ni` the initiator's and `Nr` the responder's key component:
 *   the key the initiator encrypts with is the first 16 bytes of
 *   `HMAC-SHA256(S, HMAC-SHA256(Nr, Ni))`, the responder's of `HMAC-SHA256(S, HMAC-SHA256(Ni, Nr))`.
 * - A peer's id is the SHA-256 of its certificate.
 *
 * AES, HMAC and SHA-256 come from `@noble/ciphers` and `@noble/hashes` (audited, synchronous,
 * dependency-free): WebCrypto's AES-CBC always adds PKCS#7 padding, which RTMFP does not use,
 * and is asynchronous, which would make the sans-I/O session asynchronous too. The original
 * Python rtclite needed a pure AES fallback for old runtimes; none is needed now.
 * Diffie-Hellman is plain `BigInt` modular exponentiation (WebCrypto has no MODP groups).
 *
 * Nothing here authenticates the peer: the deployed profile's DH is anonymous, so a
 * man-in-the-middle on the path can read and change a session. The checksum only detects
 * packets not made with the key.
 *
 * @example Encrypt and decrypt a packet with the default key
 * ```ts
 * import { DEFAULT_KEY, decryptPacket, encryptPacket } from "@rtclite/vnd/adobe/rtmfp";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const plain = new Uint8Array([0x0b, 0x12, 0x34, 0x30, 0x00, 0x00]);
 * const encrypted = encryptPacket(DEFAULT_KEY, plain);
 * equal(encrypted.length, 16);
 * deepEqual(decryptPacket(DEFAULT_KEY, encrypted).subarray(0, 6), plain);
 * ```
 *
 * @module
 */
import { cbc } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { decodeOptions, encodeOptions, RtmfpParseError } from "./packet.ts";

export * from "./packet.ts";

/** A packet that fails the profile's integrity check (bad length or checksum): discard it. */
export class RtmfpIntegrityError extends RtmfpParseError {}

// === Packet encryption (RFC 7016 §2.2.3) ===

/** The Default Session Key of the Flash profile: the ASCII bytes `Adobe Systems 02`. */
export const DEFAULT_KEY: Uint8Array = new TextEncoder().encode("Adobe Systems 02");

const ZERO_IV = new Uint8Array(16);

/**
 * The profile's 16-bit checksum: ones' complement of the ones' complement sum of big-endian
 * words; an odd last byte is added as it is (as the low byte).
 *
 * @param bytes The bytes after the checksum field.
 * @returns The checksum.
 */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  let i = 0;
  for (; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < bytes.length) sum += bytes[i]!;
  sum = (sum >>> 16) + (sum & 0xffff);
  sum += sum >>> 16;
  return ~sum & 0xffff;
}

/**
 * Encrypts a plain packet: checksum in front, 0xff padding to a multiple of 16, AES-128-CBC with
 * a zero IV.
 *
 * @param key The 16-byte key ({@linkcode DEFAULT_KEY} or a session key).
 * @param plain The plain packet ({@linkcode encodePacket}'s output).
 * @returns The encrypted packet, to be framed with {@linkcode encodeMultiplex}.
 */
// @implements RFC7016 §2.2.3 ¶2-3
// @implements RFC7016 §2.2.4 ¶1
export function encryptPacket(key: Uint8Array, plain: Uint8Array): Uint8Array {
  const length = (plain.length + 2 + 15) & ~15;
  const buf = new Uint8Array(length).fill(0xff);
  buf.set(plain, 2);
  const sum = checksum(buf.subarray(2));
  buf[0] = sum >> 8;
  buf[1] = sum & 0xff;
  return cbc(key, ZERO_IV, { disablePadding: true }).encrypt(buf);
}

/**
 * Decrypts a packet and checks its checksum.
 *
 * @param key The 16-byte key.
 * @param encrypted The encrypted packet ({@linkcode decodeMultiplex}'s `encrypted`).
 * @returns The plain packet with its padding (the checksum removed), for {@linkcode decodePacket}.
 * @throws {RtmfpIntegrityError} When the length is not a positive multiple of 16 or the
 * checksum does not match: the packet was not made with this key.
 */
// @implements RFC7016 §2.2.3 ¶3
export function decryptPacket(key: Uint8Array, encrypted: Uint8Array): Uint8Array {
  if (encrypted.length === 0 || encrypted.length % 16) {
    throw new RtmfpIntegrityError(
      `Cannot decrypt RTMFP packet: ${encrypted.length} bytes is not a multiple of 16`,
      0,
    );
  }
  const buf = cbc(key, ZERO_IV, { disablePadding: true }).decrypt(encrypted);
  const body = buf.subarray(2);
  if (((buf[0]! << 8) | buf[1]!) !== checksum(body)) {
    throw new RtmfpIntegrityError("Cannot decrypt RTMFP packet: checksum mismatch", 0);
  }
  return body;
}

// === Diffie-Hellman, 1024-bit MODP group 2 (RFC 2409 §6.2) ===

/** The prime of the 1024-bit MODP group (Oakley group 2). */
export const MODP1024_PRIME: bigint = BigInt(
  "0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879" +
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0" +
    "BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
);

/** The generator of group 2. */
export const MODP1024_GENERATOR = 2n;

function toBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function toBytes(v: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  base %= modulus;
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
    exponent >>= 1n;
  }
  return result;
}

/** A Diffie-Hellman key pair in group 2, both halves as 128 big-endian bytes. */
export interface DhKeyPair {
  /** The private exponent. */
  privateKey: Uint8Array;
  /** `2^private mod p`. */
  publicKey: Uint8Array;
}

/**
 * Makes a key pair in group 2.
 *
 * @param privateKey 128 bytes of private exponent (default: random from `crypto.getRandomValues`).
 * @returns The key pair.
 */
export function dhKeyPair(privateKey?: Uint8Array): DhKeyPair {
  const priv = privateKey ?? crypto.getRandomValues(new Uint8Array(128));
  const x = toBigInt(priv) % (MODP1024_PRIME - 2n) + 1n;
  return {
    privateKey: priv,
    publicKey: toBytes(modPow(MODP1024_GENERATOR, x, MODP1024_PRIME), 128),
  };
}

/**
 * The shared secret from our private key and the peer's public key.
 *
 * @param privateKey Our private exponent.
 * @param peerPublicKey The peer's public key (big-endian).
 * @returns 128 bytes, big-endian, zero-padded on the left.
 * @throws {RtmfpIntegrityError} When the peer's key is outside 2..p-2.
 */
export function dhSharedSecret(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  const y = toBigInt(peerPublicKey);
  if (y < 2n || y > MODP1024_PRIME - 2n) {
    throw new RtmfpIntegrityError("Cannot agree on an RTMFP key: peer public key out of range", 0);
  }
  const x = toBigInt(privateKey) % (MODP1024_PRIME - 2n) + 1n;
  return toBytes(modPow(y, x, MODP1024_PRIME), 128);
}

// === Session keys ===

/** The two session keys of a session. */
export interface SessionKeys {
  /** The key the initiator encrypts with (and the responder decrypts with). */
  initiatorKey: Uint8Array;
  /** The key the responder encrypts with. */
  responderKey: Uint8Array;
}

/**
 * Derives the session keys from the shared secret and both key components.
 *
 * @param sharedSecret The Diffie-Hellman shared secret.
 * @param initiatorNonce The IIKeying's Session Key Initiator Component.
 * @param responderNonce The RIKeying's Session Key Responder Component.
 * @returns The keys.
 */
// @implements RFC7016 §2.3.8 ¶11
export function deriveSessionKeys(
  sharedSecret: Uint8Array,
  initiatorNonce: Uint8Array,
  responderNonce: Uint8Array,
): SessionKeys {
  const i = hmac(sha256, responderNonce, initiatorNonce);
  const r = hmac(sha256, initiatorNonce, responderNonce);
  return {
    initiatorKey: hmac(sha256, sharedSecret, i).slice(0, 16),
    responderKey: hmac(sha256, sharedSecret, r).slice(0, 16),
  };
}

// === The Flash profile's certificates, key components and Endpoint Discriminators ===

/** Option types inside the Flash profile's certificates and key components. */
export const FlashOption = {
  /** EPD: the URL of the server to reach. */
  url: 0x0a,
  /** EPD: the peer id (32 bytes) to reach. */
  peerId: 0x0f,
  /** Random bytes (instance id, nonce). */
  random: 0x0e,
  /** Initiator's DH public key: group (2), then the key. */
  initiatorDh: 0x1d,
  /** Responder's DH public key: group (2), then the key. */
  responderDh: 0x0d,
} as const;

/**
 * An Endpoint Discriminator asking for the server at `url`.
 *
 * @param url An `rtmfp://` URL.
 * @returns The EPD bytes (one option of type 0x0a).
 */
export function urlEpd(url: string): Uint8Array {
  return encodeOptions([{ type: FlashOption.url, value: new TextEncoder().encode(url) }]);
}

/**
 * An Endpoint Discriminator asking for the peer with this id.
 *
 * @param peerId The 32-byte peer id.
 * @returns The EPD bytes (one option of type 0x0f).
 */
export function peerIdEpd(peerId: Uint8Array): Uint8Array {
  if (peerId.length !== 32) throw new RangeError(`Peer id must be 32 bytes, not ${peerId.length}`);
  return encodeOptions([{ type: FlashOption.peerId, value: peerId }]);
}

/** What an Endpoint Discriminator asks for. */
export type Epd = { url: string } | { peerId: Uint8Array } | { unknown: Uint8Array };

/**
 * Reads an Endpoint Discriminator.
 *
 * @param epd The EPD bytes.
 * @returns The URL or peer id asked for, or the bytes if neither.
 */
export function decodeEpd(epd: Uint8Array): Epd {
  try {
    const [o] = decodeOptions(epd);
    if (o?.type === FlashOption.url) return { url: new TextDecoder().decode(o.value) };
    if (o?.type === FlashOption.peerId && o.value.length === 32) return { peerId: o.value };
  } catch (e) {
    if (!(e instanceof RtmfpParseError)) throw e;
  }
  return { unknown: epd };
}

/**
 * The certificate an initiator sends in IIKeying: its DH public key in an option of type 0x1d
 * (group 2). The peer id is the SHA-256 of these bytes.
 *
 * @param publicKey The DH public key.
 * @returns The certificate bytes.
 */
export function initiatorCertificate(publicKey: Uint8Array): Uint8Array {
  return encodeOptions([{ type: FlashOption.initiatorDh, value: Uint8Array.of(2, ...publicKey) }]);
}

/**
 * The responder's key component (RIKeying's skrc): two fixed options and its DH public key in
 * an option of type 0x0d.
 *
 * @param publicKey The DH public key.
 * @returns The skrc bytes.
 */
export function responderKeyComponent(publicKey: Uint8Array): Uint8Array {
  return encodeOptions([
    { type: 0x1a, value: new Uint8Array(2) },
    { type: 0x1e, value: new Uint8Array(1) },
    { type: FlashOption.responderDh, value: Uint8Array.of(2, ...publicKey) },
  ]);
}

/**
 * The initiator's key component (IIKeying's skic): a group marker and 64 random bytes.
 *
 * @param random 64 random bytes (default: from `crypto.getRandomValues`).
 * @returns The skic bytes.
 */
export function initiatorKeyComponent(random?: Uint8Array): Uint8Array {
  return encodeOptions([
    { type: FlashOption.initiatorDh, value: Uint8Array.of(2) },
    { type: FlashOption.random, value: random ?? crypto.getRandomValues(new Uint8Array(64)) },
  ]);
}

/**
 * The responder's certificate in RHello: an instance id of 64 random bytes among fixed options.
 *
 * @param random 64 random bytes (default: from `crypto.getRandomValues`).
 * @returns The certificate bytes.
 */
export function responderCertificate(random?: Uint8Array): Uint8Array {
  return encodeOptions([
    { type: FlashOption.url, value: new Uint8Array() },
    { type: FlashOption.random, value: random ?? crypto.getRandomValues(new Uint8Array(64)) },
    { type: 0x15, value: Uint8Array.of(2) },
    { type: 0x15, value: Uint8Array.of(5) },
    { type: 0x15, value: Uint8Array.of(0x0e) },
  ]);
}

/**
 * Finds the DH public key in a certificate or key component (an option of type 0x1d or 0x0d
 * whose value is the group, 2, then the key).
 *
 * @param bytes The certificate or key component.
 * @returns The public key.
 * @throws {RtmfpParseError} When there is none.
 */
export function dhPublicKeyIn(bytes: Uint8Array): Uint8Array {
  for (const o of decodeOptions(bytes)) {
    if (
      (o.type === FlashOption.initiatorDh || o.type === FlashOption.responderDh) &&
      o.value.length > 1 && o.value[0] === 2
    ) return o.value.slice(1);
  }
  throw new RtmfpParseError("Cannot find a Diffie-Hellman public key in the RTMFP certificate", 0);
}

/**
 * A peer id: the SHA-256 of the peer's certificate.
 *
 * @param certificate The initiator's certificate.
 * @returns 32 bytes.
 */
export function peerIdOf(certificate: Uint8Array): Uint8Array {
  return sha256(certificate);
}
