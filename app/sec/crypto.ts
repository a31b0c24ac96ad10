// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The crypto wrapper of the P2P modules, on Web Crypto: key pairs (Ed25519 and ECDSA P-256; RSA
 * for compatibility), signatures, encryption for a peer, key fingerprints, key export and import
 * (raw, SPKI, PKCS#8, JWK, PEM), and self-signed X.509 certificates. Certificates and the ASN.1
 * they need come from `@peculiar/x509` rather than a hand-written parser.
 *
 * Encryption for a peer is hybrid: for an elliptic-curve key (ECDH or ECDSA P-256, X25519) an
 * ephemeral ECDH agreement, HKDF-SHA-256 and AES-256-GCM (the shape of ECIES and of HPKE's
 * base mode); for an RSA key, an AES-256-GCM key wrapped with RSA-OAEP (SHA-256).
 *
 * The original rtclite had a `dummycrypto` module for hosts without a crypto library. Nothing
 * replaces it: Web Crypto, Ed25519 included, is in every runtime rtclite targets, real keys take
 * milliseconds to make, and tests that sign with real keys catch what a null implementation
 * would hide. An application that wants no signatures uses the DHT's unsigned values.
 *
 * @see {@link https://www.w3.org/TR/webcrypto-2/ | Web Cryptography Level 2}
 * @see {@link https://www.rfc-editor.org/rfc/rfc8032 | RFC 8032 (EdDSA)}
 * @see {@link https://www.rfc-editor.org/rfc/rfc5280 | RFC 5280 (X.509)}
 *
 * @example Sign, verify, and make a certificate
 * ```ts
 * import { createSelfSignedCertificate, generateKeyPair, parseCertificate, sign, verify }
 *   from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 *
 * const keys = await generateKeyPair("Ed25519");
 * const data = new TextEncoder().encode("hello");
 * const signature = await sign(keys.privateKey, data);
 * equal(await verify(keys.publicKey, data, signature), true);
 * const cert = await createSelfSignedCertificate(keys, { subject: "CN=alice" });
 * equal((await parseCertificate(cert.pem)).subject, "CN=alice");
 * ```
 *
 * @module
 */
import "reflect-metadata"; // @peculiar/x509's dependency injection needs it loaded first
import * as x509 from "@peculiar/x509";
import { concat, toHex } from "@rtclite/std/bytes";
import { ParseError } from "@rtclite/std/errors";

export { ParseError };

x509.cryptoProvider.set(crypto);

// === Errors ===

/** A cryptographic operation that failed: a ciphertext that does not authenticate, a wrong key. */
export class CryptoError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CryptoError";
  }
}

/** Bad PEM, DER or ciphertext framing given to a decoder of this module. */
export class CryptoParseError extends ParseError {}

// === Key pairs ===

/** The signature algorithms of {@linkcode generateKeyPair}. */
export type SigningAlgorithm = "Ed25519" | "ECDSA-P256" | "RSA";
/** The key-agreement algorithms of {@linkcode generateEncryptionKeyPair}. */
export type EncryptionAlgorithm = "ECDH-P256" | "X25519" | "RSA-OAEP";

const RSA_PARAMS = { modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };

function signingParams(alg: SigningAlgorithm): RsaHashedKeyGenParams | EcKeyGenParams | Algorithm {
  switch (alg) {
    case "Ed25519":
      return { name: "Ed25519" };
    case "ECDSA-P256":
      return { name: "ECDSA", namedCurve: "P-256" };
    case "RSA":
      return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", ...RSA_PARAMS };
    default:
      throw new TypeError(`Cannot use signature algorithm: unknown ${JSON.stringify(alg)}`);
  }
}

function encryptionParams(
  alg: EncryptionAlgorithm,
): RsaHashedKeyGenParams | EcKeyGenParams | Algorithm {
  switch (alg) {
    case "ECDH-P256":
      return { name: "ECDH", namedCurve: "P-256" };
    case "X25519":
      return { name: "X25519" };
    case "RSA-OAEP":
      return { name: "RSA-OAEP", hash: "SHA-256", ...RSA_PARAMS };
    default:
      throw new TypeError(`Cannot use encryption algorithm: unknown ${JSON.stringify(alg)}`);
  }
}

/**
 * Makes a signing key pair (extractable, so that it can be saved with
 * {@linkcode exportPrivateKey}).
 *
 * @param algorithm `Ed25519` (default), `ECDSA-P256`, or `RSA` (RSASSA-PKCS1-v1_5, 2048 bits,
 * SHA-256) for compatibility.
 * @returns The key pair.
 * @throws {TypeError} For an unknown algorithm.
 *
 * @example
 * ```ts
 * import { generateKeyPair } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * const keys = await generateKeyPair("ECDSA-P256");
 * equal(keys.publicKey.algorithm.name, "ECDSA");
 * ```
 */
export async function generateKeyPair(
  algorithm: SigningAlgorithm = "Ed25519",
): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(signingParams(algorithm), true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
}

/**
 * Makes a key pair that peers encrypt to with {@linkcode encryptFor}.
 *
 * @param algorithm `ECDH-P256` (default), `X25519` or `RSA-OAEP` (2048 bits, SHA-256).
 * @returns The key pair.
 * @throws {TypeError} For an unknown algorithm.
 *
 * @example
 * ```ts
 * import { generateEncryptionKeyPair } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * equal((await generateEncryptionKeyPair("X25519")).publicKey.algorithm.name, "X25519");
 * ```
 */
export async function generateEncryptionKeyPair(
  algorithm: EncryptionAlgorithm = "ECDH-P256",
): Promise<CryptoKeyPair> {
  const usages: KeyUsage[] = algorithm === "RSA-OAEP"
    ? ["encrypt", "decrypt", "wrapKey", "unwrapKey"]
    : ["deriveBits"];
  return await crypto.subtle.generateKey(
    encryptionParams(algorithm),
    true,
    usages,
  ) as CryptoKeyPair;
}

// === Signatures ===

/** How {@linkcode sign} writes and {@linkcode verify} reads an ECDSA signature. */
export interface SignatureOptions {
  /**
   * ECDSA only: `raw` (default) is Web Crypto's r‖s (64 bytes for P-256); `der` is the ASN.1
   * `ECDSA-Sig-Value` of X.509, TLS and OpenSSL. Ignored for other algorithms.
   */
  format?: "raw" | "der";
}

function signatureAlgorithm(key: CryptoKey): Algorithm | EcdsaParams {
  switch (key.algorithm.name) {
    case "Ed25519":
    case "RSASSA-PKCS1-v1_5":
      return { name: key.algorithm.name };
    case "ECDSA":
      return { name: "ECDSA", hash: "SHA-256" };
    default:
      throw new TypeError(`Cannot sign or verify with a ${key.algorithm.name} key`);
  }
}

const ecFormatter = new x509.AsnEcSignatureFormatter();

/**
 * Signs data (Ed25519; ECDSA and RSA with SHA-256).
 *
 * @param privateKey The signing key.
 * @param data The data.
 * @param options The ECDSA signature format.
 * @returns The signature.
 * @throws {TypeError} When the key cannot sign.
 *
 * @example
 * ```ts
 * import { generateKeyPair, sign } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * const { privateKey } = await generateKeyPair();
 * equal((await sign(privateKey, new Uint8Array([1, 2, 3]))).length, 64);
 * ```
 */
export async function sign(
  privateKey: CryptoKey,
  data: Uint8Array,
  options: SignatureOptions = {},
): Promise<Uint8Array> {
  const alg = signatureAlgorithm(privateKey);
  const sig = new Uint8Array(
    await crypto.subtle.sign(alg, privateKey, data as Uint8Array<ArrayBuffer>),
  );
  if (alg.name !== "ECDSA" || options.format !== "der") return sig;
  return new Uint8Array(ecFormatter.toAsnSignature(privateKey.algorithm, sig)!);
}

/**
 * Verifies a signature made by {@linkcode sign} (or by any implementation of the same
 * algorithm: OpenSSL, a browser).
 *
 * @param publicKey The signer's public key.
 * @param data The data.
 * @param signature The signature.
 * @param options The ECDSA signature format.
 * @returns Whether the signature is valid; a malformed signature is invalid, not an error.
 * @throws {TypeError} When the key cannot verify.
 *
 * @example Tampering is detected
 * ```ts
 * import { generateKeyPair, sign, verify } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * const keys = await generateKeyPair("ECDSA-P256");
 * const data = new TextEncoder().encode("pay 10");
 * const sig = await sign(keys.privateKey, data, { format: "der" });
 * equal(await verify(keys.publicKey, data, sig, { format: "der" }), true);
 * equal(await verify(keys.publicKey, new TextEncoder().encode("pay 99"), sig, { format: "der" }), false);
 * ```
 */
export async function verify(
  publicKey: CryptoKey,
  data: Uint8Array,
  signature: Uint8Array,
  options: SignatureOptions = {},
): Promise<boolean> {
  const alg = signatureAlgorithm(publicKey);
  let sig: Uint8Array = signature;
  if (alg.name === "ECDSA" && options.format === "der") {
    let web: ArrayBuffer | null = null;
    try {
      web = ecFormatter.toWebSignature(publicKey.algorithm, signature as Uint8Array<ArrayBuffer>);
    } catch {
      // Not DER: invalid.
    }
    if (!web) return false;
    sig = new Uint8Array(web);
  }
  try {
    return await crypto.subtle.verify(
      alg,
      publicKey,
      sig as Uint8Array<ArrayBuffer>,
      data as Uint8Array<ArrayBuffer>,
    );
  } catch {
    return false;
  }
}

// === Encryption for a peer ===

const ENVELOPE_EC = 1;
const ENVELOPE_RSA = 2;
const IV_LENGTH = 12;
const HKDF_INFO = new TextEncoder().encode("rtclite encryptFor v1");

async function ecdhPublic(key: CryptoKey): Promise<CryptoKey> {
  const name = key.algorithm.name;
  if (name === "ECDH" || name === "X25519") return key;
  if (name === "ECDSA" && (key.algorithm as EcKeyAlgorithm).namedCurve === "P-256") {
    // The same point, imported for key agreement.
    const raw = await crypto.subtle.exportKey("raw", key);
    return await crypto.subtle.importKey(
      "raw",
      raw,
      { name: "ECDH", namedCurve: "P-256" },
      true,
      [],
    );
  }
  throw new TypeError(
    `Cannot encrypt for a ${name} key: use ECDH, X25519, ECDSA P-256 or RSA-OAEP`,
  );
}

async function ecdhPrivate(key: CryptoKey): Promise<CryptoKey> {
  const name = key.algorithm.name;
  if (name === "ECDH" || name === "X25519") return key;
  if (name === "ECDSA" && (key.algorithm as EcKeyAlgorithm).namedCurve === "P-256") {
    const jwk = await crypto.subtle.exportKey("jwk", key);
    delete jwk.key_ops;
    delete jwk.alg;
    return await crypto.subtle.importKey("jwk", jwk, { name: "ECDH", namedCurve: "P-256" }, false, [
      "deriveBits",
    ]);
  }
  throw new TypeError(`Cannot decrypt with a ${name} key`);
}

async function aesKeyFromSecret(
  shared: ArrayBuffer,
  salt: Uint8Array,
  usage: KeyUsage,
): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  return await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, info: HKDF_INFO },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    [usage],
  );
}

/**
 * Encrypts a message that only the holder of the peer's private key can read.
 *
 * The envelope: `1 | len(1) | ephemeral public key | iv(12) | AES-GCM ciphertext+tag` for
 * elliptic-curve peers (key = HKDF-SHA-256 of the ECDH secret, salted with the ephemeral key), or
 * `2 | len(2) | RSA-OAEP(AES key) | iv(12) | ciphertext+tag` for RSA peers.
 *
 * @param peerPublicKey The peer's ECDH P-256, X25519, ECDSA P-256 or RSA-OAEP public key.
 * @param plaintext The message.
 * @returns The envelope for {@linkcode decryptFrom}.
 * @throws {TypeError} When the key cannot be encrypted to.
 *
 * @example
 * ```ts
 * import { decryptFrom, encryptFor, generateEncryptionKeyPair } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * const bob = await generateEncryptionKeyPair();
 * const box = await encryptFor(bob.publicKey, new TextEncoder().encode("for bob"));
 * equal(new TextDecoder().decode(await decryptFrom(bob.privateKey, box)), "for bob");
 * ```
 */
export async function encryptFor(
  peerPublicKey: CryptoKey,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_LENGTH));
  const data = plaintext as Uint8Array<ArrayBuffer>;
  if (peerPublicKey.algorithm.name === "RSA-OAEP") {
    const aes = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
      "encrypt",
    ]);
    const wrapped = new Uint8Array(
      await crypto.subtle.wrapKey("raw", aes, peerPublicKey, { name: "RSA-OAEP" }),
    );
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, aes, data));
    const head = new Uint8Array([ENVELOPE_RSA, wrapped.length >> 8, wrapped.length & 0xff]);
    return concat([head, wrapped, iv, ct]);
  }
  const peer = await ecdhPublic(peerPublicKey);
  const ephemeral = await crypto.subtle.generateKey(peer.algorithm as EcKeyGenParams, true, [
    "deriveBits",
  ]) as CryptoKeyPair;
  const epk = new Uint8Array(await crypto.subtle.exportKey("raw", ephemeral.publicKey));
  const shared = await crypto.subtle.deriveBits(
    { name: peer.algorithm.name, public: peer } as EcdhKeyDeriveParams,
    ephemeral.privateKey,
    256,
  );
  const key = await aesKeyFromSecret(shared, epk, "encrypt");
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, data));
  return concat([new Uint8Array([ENVELOPE_EC, epk.length]), epk, iv, ct]);
}

/**
 * Decrypts an envelope made by {@linkcode encryptFor}.
 *
 * @param privateKey Our private key (the pair of the public key the sender used).
 * @param envelope The envelope.
 * @returns The plaintext.
 * @throws {CryptoParseError} When the envelope is truncated or of an unknown kind.
 * @throws {CryptoError} When it does not authenticate (tampered, or for another key).
 *
 * @example Tampering is detected
 * ```ts
 * import { CryptoError, decryptFrom, encryptFor, generateEncryptionKeyPair }
 *   from "@rtclite/app/sec/crypto";
 * import { rejects } from "node:assert/strict";
 * const bob = await generateEncryptionKeyPair();
 * const box = await encryptFor(bob.publicKey, new Uint8Array(8));
 * box[box.length - 1]! ^= 1;
 * await rejects(decryptFrom(bob.privateKey, box), CryptoError);
 * ```
 */
export async function decryptFrom(
  privateKey: CryptoKey,
  envelope: Uint8Array,
): Promise<Uint8Array> {
  const fail = (what: string, at: number): never => {
    throw new CryptoParseError(`Cannot decrypt: ${what}`, at);
  };
  const kind = envelope[0];
  let key: CryptoKey;
  let at: number;
  try {
    if (kind === ENVELOPE_RSA) {
      if (envelope.length < 3) fail("envelope truncated", envelope.length);
      const len = envelope[1]! << 8 | envelope[2]!;
      at = 3 + len;
      if (envelope.length < at + IV_LENGTH + 16) fail("envelope truncated", envelope.length);
      if (privateKey.algorithm.name !== "RSA-OAEP") {
        throw new TypeError(
          `Cannot decrypt an RSA envelope with a ${privateKey.algorithm.name} key`,
        );
      }
      key = await crypto.subtle.unwrapKey(
        "raw",
        envelope.slice(3, at),
        privateKey,
        { name: "RSA-OAEP" },
        { name: "AES-GCM", length: 256 },
        false,
        ["decrypt"],
      );
    } else if (kind === ENVELOPE_EC) {
      if (envelope.length < 2) fail("envelope truncated", envelope.length);
      at = 2 + envelope[1]!;
      if (envelope.length < at + IV_LENGTH + 16) fail("envelope truncated", envelope.length);
      const own = await ecdhPrivate(privateKey);
      const epkBytes = envelope.slice(2, at);
      const alg = own.algorithm.name === "X25519"
        ? { name: "X25519" }
        : { name: "ECDH", namedCurve: "P-256" };
      const epk = await crypto.subtle.importKey("raw", epkBytes, alg, false, []);
      const shared = await crypto.subtle.deriveBits(
        { name: alg.name, public: epk } as EcdhKeyDeriveParams,
        own,
        256,
      );
      key = await aesKeyFromSecret(shared, epkBytes, "decrypt");
    } else {
      return fail(`unknown envelope kind ${kind}`, 0);
    }
  } catch (e) {
    if (e instanceof CryptoParseError || e instanceof TypeError) throw e;
    throw new CryptoError("Cannot decrypt: the envelope is not for this key", { cause: e });
  }
  const iv = envelope.slice(at, at + IV_LENGTH);
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, envelope.slice(at + IV_LENGTH)),
    );
  } catch (e) {
    throw new CryptoError("Cannot decrypt: authentication failed", { cause: e });
  }
}

// === Fingerprints ===

/**
 * The SHA-256 fingerprint of a public key: the digest of its SPKI (DER) encoding, which is what
 * `openssl pkey -pubin -outform DER | sha256sum` prints.
 *
 * @param publicKey The key.
 * @returns 32 bytes.
 *
 * @example
 * ```ts
 * import { fingerprint, generateKeyPair } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * equal((await fingerprint((await generateKeyPair()).publicKey)).length, 32);
 * ```
 */
export async function fingerprint(publicKey: CryptoKey): Promise<Uint8Array> {
  const spki = await crypto.subtle.exportKey("spki", publicKey);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", spki));
}

/**
 * Writes a fingerprint as colon-separated upper-case hex pairs, as SDP's `a=fingerprint`
 * (RFC 8122) and `openssl x509 -fingerprint` do.
 *
 * @param digest The fingerprint bytes.
 * @returns `AB:CD:...`.
 *
 * @example
 * ```ts
 * import { formatFingerprint } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * equal(formatFingerprint(new Uint8Array([0xab, 0x01])), "AB:01");
 * ```
 */
export function formatFingerprint(digest: Uint8Array): string {
  return toHex(digest).toUpperCase().replace(/(..)(?!$)/g, "$1:");
}

// === Export and import ===

/** Formats of {@linkcode exportPublicKey}. */
export type PublicKeyFormat = "raw" | "spki" | "jwk" | "pem";
/** Formats of {@linkcode exportPrivateKey}. */
export type PrivateKeyFormat = "pkcs8" | "jwk" | "pem";
/** Algorithms of imported keys: a signature or an encryption algorithm. */
export type KeyAlgorithmName = SigningAlgorithm | EncryptionAlgorithm;

function importParams(
  alg: KeyAlgorithmName,
): Algorithm | EcKeyImportParams | RsaHashedImportParams {
  switch (alg) {
    case "Ed25519":
    case "X25519":
      return { name: alg };
    case "ECDSA-P256":
      return { name: "ECDSA", namedCurve: "P-256" };
    case "ECDH-P256":
      return { name: "ECDH", namedCurve: "P-256" };
    case "RSA":
      return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    case "RSA-OAEP":
      return { name: "RSA-OAEP", hash: "SHA-256" };
    default:
      throw new TypeError(`Cannot import key: unknown algorithm ${JSON.stringify(alg)}`);
  }
}

function usagesOf(alg: KeyAlgorithmName, isPrivate: boolean): KeyUsage[] {
  if (alg === "ECDH-P256" || alg === "X25519") return isPrivate ? ["deriveBits"] : [];
  if (alg === "RSA-OAEP") return isPrivate ? ["decrypt", "unwrapKey"] : ["encrypt", "wrapKey"];
  return isPrivate ? ["sign"] : ["verify"];
}

/**
 * Exports a public key: `raw` (the point: 32 bytes for Ed25519/X25519, 65 for P-256), `spki`
 * (DER), `pem` (`PUBLIC KEY`, text) or `jwk` (an object).
 *
 * @param publicKey The key.
 * @param format The format.
 * @returns Bytes, PEM text or a JSON Web Key.
 *
 * @example
 * ```ts
 * import { exportPublicKey, generateKeyPair } from "@rtclite/app/sec/crypto";
 * import { equal, ok } from "node:assert/strict";
 * const { publicKey } = await generateKeyPair();
 * equal((await exportPublicKey(publicKey, "raw")).length, 32);
 * ok((await exportPublicKey(publicKey, "pem")).startsWith("-----BEGIN PUBLIC KEY-----"));
 * ```
 */
export async function exportPublicKey(
  publicKey: CryptoKey,
  format: "raw" | "spki",
): Promise<Uint8Array>;
/** Exports a public key as PEM text (`PUBLIC KEY`). */
export async function exportPublicKey(publicKey: CryptoKey, format: "pem"): Promise<string>;
/** Exports a public key as a JSON Web Key. */
export async function exportPublicKey(publicKey: CryptoKey, format: "jwk"): Promise<JsonWebKey>;
export async function exportPublicKey(
  publicKey: CryptoKey,
  format: PublicKeyFormat,
): Promise<Uint8Array | string | JsonWebKey> {
  if (format === "jwk") return await crypto.subtle.exportKey("jwk", publicKey);
  if (format === "pem") {
    return x509.PemConverter.encode(await crypto.subtle.exportKey("spki", publicKey), "PUBLIC KEY");
  }
  return new Uint8Array(await crypto.subtle.exportKey(format, publicKey));
}

/**
 * Exports a private key: `pkcs8` (DER), `pem` (`PRIVATE KEY`, text, as `openssl genpkey` writes)
 * or `jwk`.
 *
 * @param privateKey The key (extractable).
 * @param format The format.
 * @returns Bytes, PEM text or a JSON Web Key.
 *
 * @example
 * ```ts
 * import { exportPrivateKey, generateKeyPair } from "@rtclite/app/sec/crypto";
 * import { ok } from "node:assert/strict";
 * const { privateKey } = await generateKeyPair();
 * ok((await exportPrivateKey(privateKey, "pem")).includes("BEGIN PRIVATE KEY"));
 * ```
 */
export async function exportPrivateKey(privateKey: CryptoKey, format: "pkcs8"): Promise<Uint8Array>;
/** Exports a private key as PEM text (`PRIVATE KEY`). */
export async function exportPrivateKey(privateKey: CryptoKey, format: "pem"): Promise<string>;
/** Exports a private key as a JSON Web Key. */
export async function exportPrivateKey(privateKey: CryptoKey, format: "jwk"): Promise<JsonWebKey>;
export async function exportPrivateKey(
  privateKey: CryptoKey,
  format: PrivateKeyFormat,
): Promise<Uint8Array | string | JsonWebKey> {
  if (format === "jwk") return await crypto.subtle.exportKey("jwk", privateKey);
  const der = await crypto.subtle.exportKey("pkcs8", privateKey);
  return format === "pem" ? x509.PemConverter.encode(der, "PRIVATE KEY") : new Uint8Array(der);
}

/**
 * Reads the DER inside PEM text.
 *
 * @param pem The text.
 * @param label The expected label (`CERTIFICATE`, `PUBLIC KEY`, ...); any when absent.
 * @returns The first block's bytes.
 * @throws {CryptoParseError} When there is no such block.
 *
 * @example
 * ```ts
 * import { fromPem, toPem } from "@rtclite/app/sec/crypto";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(fromPem(toPem(new Uint8Array([1, 2]), "TEST"), "TEST"), new Uint8Array([1, 2]));
 * ```
 */
export function fromPem(pem: string, label?: string): Uint8Array {
  let blocks: { type: string; rawData: ArrayBuffer }[] = [];
  try {
    blocks = x509.PemConverter.decodeWithHeaders(pem);
  } catch {
    // Reported below.
  }
  const block = blocks.find((b) => label === undefined || b.type === label);
  if (!block) {
    throw new CryptoParseError(`Cannot read PEM: no ${label ?? "PEM"} block`, 0);
  }
  return new Uint8Array(block.rawData);
}

/**
 * Writes DER as PEM text.
 *
 * @param der The bytes.
 * @param label The label (`CERTIFICATE`, `PUBLIC KEY`, `PRIVATE KEY`).
 * @returns The text, lines of 64 characters.
 *
 * @example
 * ```ts
 * import { toPem } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * equal(toPem(new Uint8Array([1, 2, 3]), "X").split("\n")[1], "AQID");
 * ```
 */
export function toPem(der: Uint8Array, label: string): string {
  return x509.PemConverter.encode(der as Uint8Array<ArrayBuffer>, label);
}

/**
 * Imports a public key.
 *
 * @param data Raw or SPKI bytes, PEM text (`PUBLIC KEY`) or a JSON Web Key.
 * @param algorithm Its algorithm.
 * @param format For bytes: `raw` or `spki` (default: `spki`).
 * @returns The key (extractable).
 * @throws {CryptoParseError} When the data is not a key of that algorithm.
 *
 * @example
 * ```ts
 * import { exportPublicKey, generateKeyPair, importPublicKey } from "@rtclite/app/sec/crypto";
 * import { deepEqual } from "node:assert/strict";
 * const { publicKey } = await generateKeyPair();
 * const raw = await exportPublicKey(publicKey, "raw");
 * const again = await importPublicKey(raw, "Ed25519", "raw");
 * deepEqual(await exportPublicKey(again, "raw"), raw);
 * ```
 */
export async function importPublicKey(
  data: Uint8Array | string | JsonWebKey,
  algorithm: KeyAlgorithmName,
  format: "raw" | "spki" = "spki",
): Promise<CryptoKey> {
  const params = importParams(algorithm);
  const usages = usagesOf(algorithm, false);
  try {
    if (typeof data === "string") {
      return await crypto.subtle.importKey(
        "spki",
        fromPem(data, "PUBLIC KEY") as Uint8Array<ArrayBuffer>,
        params,
        true,
        usages,
      );
    }
    if (data instanceof Uint8Array) {
      return await crypto.subtle.importKey(
        format,
        data as Uint8Array<ArrayBuffer>,
        params,
        true,
        usages,
      );
    }
    return await crypto.subtle.importKey("jwk", data, params, true, usages);
  } catch (e) {
    if (e instanceof CryptoParseError) throw e;
    throw new CryptoParseError(`Cannot import ${algorithm} public key: ${errorText(e)}`, 0);
  }
}

/**
 * Imports a private key.
 *
 * @param data PKCS#8 bytes, PEM text (`PRIVATE KEY`, as `openssl genpkey` writes) or a JSON Web Key.
 * @param algorithm Its algorithm.
 * @returns The key (extractable).
 * @throws {CryptoParseError} When the data is not a key of that algorithm.
 *
 * @example
 * ```ts
 * import { exportPrivateKey, generateKeyPair, importPrivateKey, sign } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * const { privateKey } = await generateKeyPair("ECDSA-P256");
 * const again = await importPrivateKey(await exportPrivateKey(privateKey, "pem"), "ECDSA-P256");
 * equal((await sign(again, new Uint8Array(1))).length, 64);
 * ```
 */
export async function importPrivateKey(
  data: Uint8Array | string | JsonWebKey,
  algorithm: KeyAlgorithmName,
): Promise<CryptoKey> {
  const params = importParams(algorithm);
  const usages = usagesOf(algorithm, true);
  try {
    if (typeof data === "string" || data instanceof Uint8Array) {
      const der = typeof data === "string" ? fromPem(data, "PRIVATE KEY") : data;
      return await crypto.subtle.importKey(
        "pkcs8",
        der as Uint8Array<ArrayBuffer>,
        params,
        true,
        usages,
      );
    }
    return await crypto.subtle.importKey("jwk", data, params, true, usages);
  } catch (e) {
    if (e instanceof CryptoParseError) throw e;
    throw new CryptoParseError(`Cannot import ${algorithm} private key: ${errorText(e)}`, 0);
  }
}

/**
 * The public key of a private key (Ed25519, ECDSA, ECDH, X25519, RSA), e.g. after importing a
 * PKCS#8 file, which holds both.
 *
 * @param privateKey The private key (extractable).
 * @returns The key pair.
 * @throws {TypeError} When the key is not a private key.
 *
 * @example
 * ```ts
 * import { exportPrivateKey, exportPublicKey, generateKeyPair, importPrivateKey, keyPairOf }
 *   from "@rtclite/app/sec/crypto";
 * import { deepEqual } from "node:assert/strict";
 * const keys = await generateKeyPair();
 * const again = await keyPairOf(await importPrivateKey(await exportPrivateKey(keys.privateKey, "pem"), "Ed25519"));
 * deepEqual(await exportPublicKey(again.publicKey, "raw"), await exportPublicKey(keys.publicKey, "raw"));
 * ```
 */
export async function keyPairOf(privateKey: CryptoKey): Promise<CryptoKeyPair> {
  if (privateKey.type !== "private") {
    throw new TypeError(`Cannot derive a public key from a ${privateKey.type} key`);
  }
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  for (const k of ["d", "p", "q", "dp", "dq", "qi", "oth", "key_ops"] as const) delete jwk[k];
  const name = privateKey.algorithm.name;
  const usages: KeyUsage[] = name === "ECDH" || name === "X25519"
    ? []
    : name === "RSA-OAEP"
    ? ["encrypt", "wrapKey"]
    : ["verify"];
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    jwk,
    privateKey.algorithm as Algorithm,
    true,
    usages,
  );
  return { privateKey, publicKey };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// === X.509 certificates ===

/** Options of {@linkcode createSelfSignedCertificate}. */
export interface CertificateOptions {
  /** The subject (and issuer) distinguished name, e.g. `CN=alice, O=rtclite` (default `CN=rtclite`). */
  subject?: string;
  /** Start of validity (default: now, less one minute for clock skew). */
  notBefore?: Date;
  /** End of validity (default: `notBefore` plus `days`). */
  notAfter?: Date;
  /** Days of validity when `notAfter` is not given (default 365). */
  days?: number;
  /** Serial number in hexadecimal (default: 16 random bytes, positive). */
  serialNumber?: string;
  /** DNS names for the subjectAltName extension. */
  dnsNames?: string[];
  /** IP addresses for the subjectAltName extension. */
  ipAddresses?: string[];
}

/** A certificate, decoded. */
export interface Certificate {
  /** The subject distinguished name (`CN=alice`). */
  subject: string;
  /** The issuer distinguished name (the subject, when self-signed). */
  issuer: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** Serial number, hexadecimal. */
  serialNumber: string;
  /** The subject's public key. */
  publicKey: CryptoKey;
  /** DNS names and IP addresses of subjectAltName. */
  altNames: string[];
  /** SHA-256 of the DER certificate (what `openssl x509 -fingerprint -sha256` prints). */
  fingerprint: Uint8Array;
  /** The DER encoding. */
  der: Uint8Array;
  /** The PEM encoding (`CERTIFICATE`). */
  pem: string;
}

function publicKeyAlgorithm(key: CryptoKey): Algorithm {
  const a = key.algorithm;
  if (a.name === "ECDSA") return { name: "ECDSA", namedCurve: "P-256" } as EcKeyImportParams;
  if (a.name === "RSASSA-PKCS1-v1_5") {
    return { name: a.name, hash: "SHA-256" } as RsaHashedImportParams;
  }
  return { name: a.name };
}

async function decoded(cert: x509.X509Certificate): Promise<Certificate> {
  const der = new Uint8Array(cert.rawData);
  const publicKey = await cert.publicKey.export(publicKeyAlgorithm(await cert.publicKey.export()), [
    "verify",
  ]);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    serialNumber: cert.serialNumber,
    publicKey,
    altNames: san ? san.names.items.map((n) => n.value) : [],
    fingerprint: new Uint8Array(await crypto.subtle.digest("SHA-256", der)),
    der,
    pem: cert.toString("pem"),
  };
}

/**
 * Makes a self-signed X.509 v3 certificate for a signing key pair (Ed25519, ECDSA P-256 with
 * SHA-256, or RSA with SHA-256), marked as an end entity (basicConstraints CA:FALSE).
 *
 * @param keys The key pair: the certificate carries the public key and is signed by the private.
 * @param options Subject, validity, serial number, alternative names.
 * @returns The certificate.
 * @throws {RangeError} When the validity ends before it starts.
 *
 * @example
 * ```ts
 * import { createSelfSignedCertificate, generateKeyPair } from "@rtclite/app/sec/crypto";
 * import { deepEqual, equal } from "node:assert/strict";
 * const cert = await createSelfSignedCertificate(await generateKeyPair("ECDSA-P256"), {
 *   subject: "CN=node1", days: 30, dnsNames: ["node1.example"],
 * });
 * equal(cert.issuer, "CN=node1");
 * deepEqual(cert.altNames, ["node1.example"]);
 * ```
 */
export async function createSelfSignedCertificate(
  keys: CryptoKeyPair,
  options: CertificateOptions = {},
): Promise<Certificate> {
  const notBefore = options.notBefore ?? new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const notAfter = options.notAfter ??
    new Date(notBefore.getTime() + (options.days ?? 365) * 86_400_000);
  if (notAfter <= notBefore) {
    throw new RangeError("Cannot create certificate: notAfter is not after notBefore");
  }
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0]! &= 0x7f; // positive (RFC 5280 §4.1.2.2)
  serial[0]! |= 0x01;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const names = [
    ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: options.serialNumber ?? toHex(serial),
    name: options.subject ?? "CN=rtclite",
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: signatureAlgorithm(keys.privateKey),
    extensions,
  });
  return await decoded(cert);
}

/**
 * Decodes a certificate from PEM text or DER bytes.
 *
 * @param data The certificate.
 * @returns Its fields and public key.
 * @throws {CryptoParseError} When it is not a certificate.
 *
 * @example
 * ```ts
 * import { CryptoParseError, parseCertificate } from "@rtclite/app/sec/crypto";
 * import { rejects } from "node:assert/strict";
 * await rejects(parseCertificate(new Uint8Array([0x30, 0x03, 1, 2, 3])), CryptoParseError);
 * ```
 */
export async function parseCertificate(data: string | Uint8Array): Promise<Certificate> {
  const der = typeof data === "string" ? fromPem(data, "CERTIFICATE") : data;
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new CryptoParseError(`Cannot read certificate: ${errorText(e)}`, 0);
  }
  try {
    return await decoded(cert);
  } catch (e) {
    throw new CryptoParseError(`Cannot read certificate's public key: ${errorText(e)}`, 0);
  }
}

/**
 * Checks a self-signed certificate's signature and, optionally, that a date lies in its validity.
 *
 * @param cert The certificate.
 * @param date When given, the certificate must be valid at that time.
 * @returns Whether it is correctly self-signed (and valid then).
 *
 * @example
 * ```ts
 * import { createSelfSignedCertificate, generateKeyPair, verifySelfSigned }
 *   from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * const cert = await createSelfSignedCertificate(await generateKeyPair(), { days: 1 });
 * equal(await verifySelfSigned(cert, new Date()), true);
 * equal(await verifySelfSigned(cert, new Date(Date.now() + 3 * 86_400_000)), false);
 * ```
 */
export async function verifySelfSigned(cert: Certificate, date?: Date): Promise<boolean> {
  const c = new x509.X509Certificate(cert.der as Uint8Array<ArrayBuffer>);
  return await c.verify(date ? { date } : { signatureOnly: true });
}
