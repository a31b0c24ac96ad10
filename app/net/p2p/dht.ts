// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * A distributed hash table: Kademlia routing over UDP with an OpenDHT/Bamboo-style API of
 * `put`/`get`/`remove` with time-to-live and removal secrets.
 *
 * Nodes have 160-bit identifiers and measure distance with XOR. Each node keeps a routing table
 * of k-buckets (least recently seen first; a full bucket pings its oldest contact before evicting
 * it), finds the k nodes closest to a key with iterative, parallel (alpha = 3) lookups, and stores
 * a value on those k nodes. A key holds several values; each value lives for its TTL and carries
 * the SHA-1 of an optional secret, which a later `remove` must present. Nodes refresh idle buckets
 * and republish the values they hold.
 *
 * Values can also be signed by an owner (Ed25519): such a value lives in the owner's slot under
 * the key (owner key and value id), which only the owner can fill, replace (a higher sequence
 * number) or remove (a signed removal with a fresh sequence number, so that a captured removal
 * cannot be replayed after the owner puts again). Every node verifies signatures before storing,
 * when replicating and when a lookup returns values; `get` can ask for one owner's values.
 * Unsigned values with removal secrets still work beside them (OpenDHT semantics). A key's slots
 * are shared out so that one sender cannot take them: one origin address may add 32 values to a
 * key (1024 in all), one owner 16, and unsigned values at most half of the key's 256 slots, so
 * that they cannot crowd out signed ones. One address holds one entry in a routing table.
 *
 * The core, {@linkcode DhtNode}, is sans-I/O: it takes datagrams and a clock and returns the
 * datagrams to send and the operations that finished; {@linkcode RoutingTable} and
 * {@linkcode Lookup} are usable alone. {@linkcode UdpDht} binds a core to a UDP socket
 * (`node:dgram`).
 *
 * Messages use a compact binary encoding rather than JSON: identifiers are fixed 20-byte fields,
 * values are opaque bytes (JSON would need base64), and fixed-width fields make size limits easy
 * to enforce before anything is allocated. See {@linkcode encodeMessage}.
 *
 * Command line: `deno run -A app/net/p2p/dht.ts --port 4000 [--bootstrap 127.0.0.1:4001]
 * [--ttl SECONDS] [--secret S | --owner KEY.pem] [--timeout MS] put KEY VALUE | get KEY |
 * remove KEY VALUE | serve`.
 * A one-shot command runs a node of its own for the duration of the command.
 *
 * @see {@link https://pdos.csail.mit.edu/~petar/papers/maymounkov-kademlia-lncs.pdf | Kademlia: A Peer-to-peer Information System Based on the XOR Metric (Maymounkov and Mazières, 2002)}
 * @see {@link https://www.usenix.org/legacy/event/usenix04/tech/general/rhea/rhea.pdf | Handling Churn in a DHT (Bamboo, Rhea et al., 2004)}
 * @see {@link https://sigcomm.org/sites/default/files/ccr/papers/2005/October/1080091-1080102.pdf | OpenDHT: A Public DHT Service and Its Uses (Rhea et al., 2005)}
 *
 * @example Three nodes on loopback: put on one, get from another
 * ```ts
 * import { UdpDht } from "@rtclite/app/net/p2p/dht";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * await using a = await UdpDht.open({ port: 0 });
 * await using b = await UdpDht.open({ port: 0 });
 * await using c = await UdpDht.open({ port: 0 });
 * await b.join([a.address]);
 * await c.join([a.address]);
 * const stored = await b.put("greeting", "hello", { ttl: 60, secret: "s3cret" });
 * equal(stored > 0, true);
 * deepEqual(await c.getText("greeting"), ["hello"]);
 * ```
 *
 * @example A signed value: only its owner replaces or removes it
 * ```ts
 * import { UdpDht } from "@rtclite/app/net/p2p/dht";
 * import { generateKeyPair } from "@rtclite/app/sec/crypto";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * await using a = await UdpDht.open();
 * await using b = await UdpDht.open();
 * await b.join([a.address]);
 * const alice = await generateKeyPair("Ed25519"), eve = await generateKeyPair("Ed25519");
 * equal(await a.put("sip:alice", "10.0.0.1:5060", { owner: alice }), 2);
 * equal(await b.remove("sip:alice", "10.0.0.1:5060", eve), false); // not Eve's to remove
 * equal(await a.put("sip:alice", "10.0.0.2:5060", { owner: alice }), 2); // replaces (later seq)
 * deepEqual(await b.getText("sip:alice", { owner: alice.publicKey }), ["10.0.0.2:5060"]);
 * equal(await a.remove("sip:alice", "10.0.0.2:5060", alice), true);
 * deepEqual(await b.getText("sip:alice"), []);
 * ```
 *
 * @module
 */
import { createSocket, type Socket } from "node:dgram";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { ByteReader, ByteWriter, equals, fromHex as bytesFromHex, toHex } from "@rtclite/std/bytes";
import { runCommand, UsageError } from "@rtclite/std/cli";
import { ParseError } from "@rtclite/std/errors";
import { getLogger } from "@rtclite/std/log";
import { exportPublicKey, importPrivateKey, keyPairOf, sign } from "../../sec/crypto.ts";

export { ParseError, toHex };

const log = getLogger("dht");

// === Identifiers and the XOR metric ===

/** Length of node identifiers and keys in bytes (160 bits). */
export const ID_LENGTH = 20;

/** A 160-bit node identifier or key. */
export type NodeId = Uint8Array;

/**
 * The SHA-1 of bytes or of a string's UTF-8 encoding: how keys and secrets are hashed.
 *
 * @param data Bytes or text.
 * @returns The 20-byte digest.
 *
 * @example
 * ```ts
 * import { hashKey, toHex } from "@rtclite/app/net/p2p/dht";
 * import { equal } from "node:assert/strict";
 * equal(toHex(hashKey("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
 * ```
 */
export function hashKey(data: Uint8Array | string): NodeId {
  return sha1(typeof data === "string" ? new TextEncoder().encode(data) : data);
}

/**
 * Reads a 40-digit hexadecimal identifier (`toHex`, re-exported from
 * `@rtclite/std/bytes`, writes one).
 *
 * @param hex The text.
 * @returns The identifier.
 * @throws {RangeError} When the text is not 40 hexadecimal digits.
 *
 * @example
 * ```ts
 * import { fromHex } from "@rtclite/app/net/p2p/dht";
 * import { equal, throws } from "node:assert/strict";
 * equal(fromHex("ff".repeat(20))[19], 255);
 * throws(() => fromHex("xyz"), RangeError);
 * ```
 */
export function fromHex(hex: string): NodeId {
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) {
    throw new RangeError(`Cannot read node ID: ${JSON.stringify(hex)} is not 40 hex digits`);
  }
  return bytesFromHex(hex);
}

/**
 * Returns a random identifier (Web Crypto).
 *
 * @returns 20 random bytes.
 *
 * @example
 * ```ts
 * import { randomId } from "@rtclite/app/net/p2p/dht";
 * import { equal } from "node:assert/strict";
 * equal(randomId().length, 20);
 * ```
 */
export function randomId(): NodeId {
  return crypto.getRandomValues(new Uint8Array(ID_LENGTH));
}

/**
 * The XOR distance of two identifiers.
 *
 * @param a An identifier.
 * @param b Another.
 * @returns `a XOR b`, itself a 160-bit number (big-endian).
 *
 * @example
 * ```ts
 * import { distance, fromHex, toHex } from "@rtclite/app/net/p2p/dht";
 * import { equal } from "node:assert/strict";
 * const a = fromHex("0f".repeat(20)), b = fromHex("ff".repeat(20));
 * equal(toHex(distance(a, b)), "f0".repeat(20));
 * ```
 */
export function distance(a: NodeId, b: NodeId): Uint8Array {
  const out = new Uint8Array(ID_LENGTH);
  for (let i = 0; i < ID_LENGTH; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/**
 * Compares the distances of `a` and `b` to `target`.
 *
 * @param a An identifier.
 * @param b Another.
 * @param target The point distances are measured from.
 * @returns Negative when `a` is closer, positive when `b` is, 0 when `a` equals `b`.
 *
 * @example
 * ```ts
 * import { compareDistance, fromHex } from "@rtclite/app/net/p2p/dht";
 * import { equal } from "node:assert/strict";
 * const t = fromHex("00".repeat(20));
 * equal(compareDistance(fromHex("01".repeat(20)), fromHex("02".repeat(20)), t) < 0, true);
 * ```
 */
export function compareDistance(a: NodeId, b: NodeId, target: NodeId): number {
  for (let i = 0; i < ID_LENGTH; i++) {
    const d = (a[i]! ^ target[i]!) - (b[i]! ^ target[i]!);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The k-bucket index of `other` seen from `self`: the position of the highest bit in which they
 * differ (159 for the far half of the space, 0 for the closest neighbour), or -1 when equal.
 *
 * @param self Our identifier.
 * @param other Theirs.
 * @returns The bucket index, from -1 to 159.
 *
 * @example
 * ```ts
 * import { bucketIndex, fromHex } from "@rtclite/app/net/p2p/dht";
 * import { equal } from "node:assert/strict";
 * const zero = fromHex("00".repeat(20));
 * equal(bucketIndex(zero, fromHex("80" + "00".repeat(19))), 159);
 * equal(bucketIndex(zero, fromHex("00".repeat(19) + "01")), 0);
 * equal(bucketIndex(zero, zero), -1);
 * ```
 */
export function bucketIndex(self: NodeId, other: NodeId): number {
  for (let i = 0; i < ID_LENGTH; i++) {
    const x = self[i]! ^ other[i]!;
    if (x !== 0) return (ID_LENGTH - 1 - i) * 8 + (31 - Math.clz32(x));
  }
  return -1;
}

/** A random identifier in bucket `index` of `self` (for bucket refresh). */
function randomIdInBucket(self: NodeId, index: number): NodeId {
  const id = randomId();
  const byte = ID_LENGTH - 1 - (index >> 3);
  const bit = index & 7;
  for (let i = 0; i < byte; i++) id[i] = self[i]!;
  const high = 0xff << (bit + 1) & 0xff; // bits above `bit` equal self's
  const flip = 1 << bit;
  id[byte] = (self[byte]! & high) | ((self[byte]! ^ flip) & flip) | (id[byte]! & (flip - 1));
  return id;
}

// === Contacts and addresses ===

/** A UDP address. */
export interface Address {
  /** IPv4 or IPv6 address literal. */
  host: string;
  /** UDP port. */
  port: number;
}

/** A node: identifier and address. */
export interface Contact extends Address {
  /** The node's identifier. */
  id: NodeId;
}

function addrKey(a: Address): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * Reads `host:port` or `[v6]:port`.
 *
 * @param text The address.
 * @returns The address.
 * @throws {RangeError} When it has no valid port.
 *
 * @example
 * ```ts
 * import { parseAddress } from "@rtclite/app/net/p2p/dht";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(parseAddress("127.0.0.1:4001"), { host: "127.0.0.1", port: 4001 });
 * deepEqual(parseAddress("[::1]:4001"), { host: "::1", port: 4001 });
 * ```
 */
export function parseAddress(text: string): Address {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) {
    throw new RangeError(`Cannot read address: ${JSON.stringify(text)} is not host:port`);
  }
  return { host: m[1] ?? m[2]!, port };
}

// === Messages ===

/** Largest datagram the codec reads or writes, in bytes. */
export const MAX_MESSAGE_SIZE = 8192;
/** Largest value, in bytes. */
export const MAX_VALUE_SIZE = 1024;
/** Largest removal secret, in bytes. */
export const MAX_SECRET_SIZE = 255;
/** Most contacts in a `nodes` or `values` message. */
export const MAX_CONTACTS = 32;

/** Outcome of a STORE at one node. */
export type StoreStatus = "stored" | "refused";
/** Outcome of a REMOVE at one node. */
export type RemoveStatus = "removed" | "not-found" | "denied";

/** Length of an owner's public key (Ed25519, RFC 8032), in bytes. */
export const OWNER_KEY_LENGTH = 32;
/** Length of an owner's signature (Ed25519), in bytes. */
export const SIGNATURE_LENGTH = 64;

/**
 * An owner's signature on a value (made by {@linkcode signValue}). The value's slot is the key,
 * the owner and `id`: only the owner can fill it, and a later `seq` replaces an earlier one.
 */
export interface ValueSignature {
  /** The owner's Ed25519 public key (32 bytes, raw). */
  owner: Uint8Array;
  /** Which of the owner's values under the key this is (uint32; default 0). */
  id: number;
  /** Sequence number: higher replaces lower (a non-negative safe integer). */
  seq: number;
  /** When the value expires, in seconds since 1970 (uint32): a replayed put cannot outlive it. */
  expires: number;
  /** Ed25519 signature over {@linkcode valueSigningInput}. */
  signature: Uint8Array;
}

/**
 * An owner's signature on a removal (made by {@linkcode signRemoval}): over the key, the hash of
 * the value and a sequence number higher than the value's, so that it cannot be replayed after
 * the owner puts again.
 */
export interface RemovalSignature {
  /** The owner's Ed25519 public key (32 bytes, raw). */
  owner: Uint8Array;
  /** The value's id. */
  id: number;
  /** Sequence number, higher than the removed value's. */
  seq: number;
  /** Ed25519 signature over {@linkcode removalSigningInput}. */
  signature: Uint8Array;
}

/** A value as carried in a `values` message. */
export interface WireValue {
  /** The value. */
  value: Uint8Array;
  /** Seconds it has left to live. */
  ttl: number;
  /** The owner's signature, for a signed value. */
  signed?: ValueSignature;
  /** SHA-1 of the removal secret, for an unsigned value put with one (OpenDHT's `get_details`). */
  secretHash?: Uint8Array;
}

/** Fields every message has. */
export interface MessageHeader {
  /** Transaction identifier (32 bits) matching a response to its request. */
  tx: number;
  /** The sender's node identifier. */
  sender: NodeId;
}

/** A DHT message (requests and their responses). */
export type DhtMessage =
  & MessageHeader
  & (
    | { type: "ping" }
    | { type: "pong" }
    | { type: "find-node"; target: NodeId }
    | { type: "nodes"; nodes: Contact[] }
    | {
      type: "find-value";
      key: NodeId;
      /** Only this owner's signed values are wanted. */
      owner?: Uint8Array;
    }
    | { type: "values"; values: WireValue[]; nodes: Contact[] }
    | {
      type: "store";
      key: NodeId;
      value: Uint8Array;
      ttl: number;
      /** SHA-1 of the removal secret (unsigned values); absent: no secret removes it. */
      secretHash?: Uint8Array;
      /** The owner's signature (signed values; then there is no `secretHash`). */
      signed?: ValueSignature;
    }
    | { type: "stored"; status: StoreStatus }
    | {
      type: "remove";
      key: NodeId;
      /** SHA-1 of the value to remove. */
      valueHash: Uint8Array;
      /** The removal secret (unsigned values). Exactly one of `secret` and `signed` is present. */
      secret?: Uint8Array;
      /** The owner's signature on the removal (signed values). */
      signed?: RemovalSignature;
      /** Seconds to remember the removal (so that replicas do not bring the value back). */
      ttl: number;
    }
    | { type: "removed"; status: RemoveStatus }
  );

/** Bad bytes given to {@linkcode decodeMessage}, or a message {@linkcode encodeMessage} cannot write. */
export class DhtParseError extends ParseError {}

/** A failed DHT operation. */
export class DhtError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DhtError";
  }
}

const VERSION = 2;
const TYPES = [
  "ping",
  "pong",
  "find-node",
  "nodes",
  "find-value",
  "values",
  "store",
  "stored",
  "remove",
  "removed",
] as const;
const STORE_STATUS: StoreStatus[] = ["stored", "refused"];
const REMOVE_STATUS: RemoveStatus[] = ["removed", "not-found", "denied"];
const HEADER = 26;

const dhtError = (message: string, offset: number) =>
  new DhtParseError(message.replace(/^Cannot encode:/, "Cannot encode DHT message:"), offset);

/** A writer that refuses to pass {@linkcode MAX_MESSAGE_SIZE}. */
function messageWriter(): ByteWriter {
  return new ByteWriter(256, MAX_MESSAGE_SIZE, dhtError);
}

/** Writes a 20-byte identifier. */
function writeId(w: ByteWriter, b: Uint8Array, what: string): void {
  if (b.length !== ID_LENGTH) {
    throw new DhtParseError(`Cannot encode DHT message: ${what} has ${b.length} bytes`, w.pos);
  }
  w.bytes(b);
}

function ipv4Bytes(host: string): Uint8Array | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? new Uint8Array(b) : undefined;
}

function ipv6Bytes(host: string): Uint8Array | undefined {
  let text = host;
  const out = new Uint8Array(16);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: Uint8Array | undefined;
  if (v4) {
    tail = ipv4Bytes(v4[1]!);
    if (!tail) return undefined;
    text = text.slice(0, -v4[1]!.length) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === "" ? [] : s.split(":"));
  const head = parse(halves[0]!), rest = halves.length === 2 ? parse(halves[1]!) : [];
  const groups = halves.length === 2
    ? [...head, ...Array(8 - head.length - rest.length).fill("0"), ...rest]
    : head;
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  groups.forEach((g, i) => {
    out[2 * i] = parseInt(g, 16) >> 8;
    out[2 * i + 1] = parseInt(g, 16) & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

function formatIpv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b[i]! << 8 | b[i + 1]!);
  // Compress the longest run of zero groups (RFC 5952 §4.2).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(":");
  return hex.slice(0, best).join(":") + "::" + hex.slice(best + bestLen).join(":");
}

function writeContact(w: ByteWriter, c: Contact): void {
  writeId(w, c.id, "contact ID");
  const v4 = ipv4Bytes(c.host);
  const v6 = v4 ? undefined : ipv6Bytes(c.host);
  if (!v4 && !v6) {
    throw new DhtParseError(`Cannot encode DHT message: ${c.host} is not an IP address`, w.pos);
  }
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) {
    throw new DhtParseError(`Cannot encode DHT message: port ${c.port} is out of range`, w.pos);
  }
  w.u8(v4 ? 4 : 6);
  w.bytes(v4 ?? v6!);
  w.u16(c.port);
}

function readContact(r: ByteReader): Contact {
  const id = r.bytes(ID_LENGTH, "contact ID");
  const family = r.u8("address family");
  if (family !== 4 && family !== 6) r.fail(`unknown address family ${family}`);
  const a = r.bytes(family === 4 ? 4 : 16, "address");
  const host = family === 4 ? a.join(".") : formatIpv6(a);
  return { id, host, port: r.u16("port") };
}

function writeContacts(w: ByteWriter, nodes: Contact[]): void {
  if (nodes.length > MAX_CONTACTS) {
    throw new DhtParseError(`Cannot encode DHT message: more than ${MAX_CONTACTS} contacts`, w.pos);
  }
  w.u8(nodes.length);
  for (const c of nodes) writeContact(w, c);
}

function readContacts(r: ByteReader): Contact[] {
  const n = r.u8("contact count");
  if (n > MAX_CONTACTS) r.fail(`${n} contacts, at most ${MAX_CONTACTS} allowed`);
  const out: Contact[] = [];
  for (let i = 0; i < n; i++) out.push(readContact(r));
  return out;
}

function checkValue(w: ByteWriter, value: Uint8Array): void {
  if (value.length > MAX_VALUE_SIZE) {
    throw new DhtParseError(
      `Cannot encode DHT message: value has ${value.length} bytes, at most ${MAX_VALUE_SIZE}`,
      w.pos,
    );
  }
}

function checkU32(w: ByteWriter, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new DhtParseError(`Cannot encode DHT message: ${what} ${n} is not a uint32`, w.pos);
  }
}

function writeFixed(w: ByteWriter, b: Uint8Array, length: number, what: string): void {
  if (b.length !== length) {
    throw new DhtParseError(
      `Cannot encode DHT message: ${what} has ${b.length} bytes, expected ${length}`,
      w.pos,
    );
  }
  w.bytes(b);
}

function writeSeq(w: ByteWriter, seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new DhtParseError(`Cannot encode DHT message: seq ${seq} is not a safe integer`, w.pos);
  }
  w.u32(Math.floor(seq / 2 ** 32));
  w.u32(seq % 2 ** 32);
}

function readSeq(r: ByteReader): number {
  const hi = r.u32("seq");
  const lo = r.u32("seq");
  if (hi > 0x1fffff) r.fail(`seq ${hi} * 2^32 is not a safe integer`);
  return hi * 2 ** 32 + lo;
}

/** owner(32) id(4) seq(8) expires(4) signature(64) */
function writeValueSignature(w: ByteWriter, s: ValueSignature): void {
  writeFixed(w, s.owner, OWNER_KEY_LENGTH, "owner key");
  checkU32(w, s.id, "value id");
  w.u32(s.id);
  writeSeq(w, s.seq);
  checkU32(w, s.expires, "expiry");
  w.u32(s.expires);
  writeFixed(w, s.signature, SIGNATURE_LENGTH, "signature");
}

function readValueSignature(r: ByteReader): ValueSignature {
  const owner = r.bytes(OWNER_KEY_LENGTH, "owner key");
  const id = r.u32("value id");
  const seq = readSeq(r);
  const expires = r.u32("expiry");
  return { owner, id, seq, expires, signature: r.bytes(SIGNATURE_LENGTH, "signature") };
}

/** owner(32) id(4) seq(8) signature(64) */
function writeRemovalSignature(w: ByteWriter, s: RemovalSignature): void {
  writeFixed(w, s.owner, OWNER_KEY_LENGTH, "owner key");
  checkU32(w, s.id, "value id");
  w.u32(s.id);
  writeSeq(w, s.seq);
  writeFixed(w, s.signature, SIGNATURE_LENGTH, "signature");
}

function readRemovalSignature(r: ByteReader): RemovalSignature {
  const owner = r.bytes(OWNER_KEY_LENGTH, "owner key");
  const id = r.u32("value id");
  const seq = readSeq(r);
  return { owner, id, seq, signature: r.bytes(SIGNATURE_LENGTH, "signature") };
}

function readFlag(r: ByteReader, what: string, max: number): number {
  const flag = r.u8(what);
  if (flag > max) {
    r.pos--;
    r.fail(`${what} ${flag} is not in 0..${max}`);
  }
  return flag;
}

function checkTtl(w: ByteWriter, ttl: number): void {
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0xffffffff) {
    throw new DhtParseError(`Cannot encode DHT message: TTL ${ttl} is not a uint32`, w.pos);
  }
}

/**
 * Encodes a message. The layout (big-endian) is a 26-byte header, then the body of its type:
 *
 * ```
 * version(1)=2 type(1) tx(4) sender(20)
 * ping, pong:  (empty)
 * find-node:   target(20)
 * find-value:  key(20) hasOwner(1) [owner(32)]
 * nodes:       count(1) contact*      contact = id(20) family(1)=4|6 addr(4|16) port(2)
 * values:      count(1) (ttl(4) flags(1) [vsig if 1] [secretHash(20) if 2] len(2) value)*
 *              count(1) contact*
 * store:       key(20) ttl(4) kind(1) [secretHash(20) if 1 | vsig if 2] len(2) value
 * stored:      status(1) 0=stored 1=refused
 * remove:      key(20) valueHash(20) ttl(4) kind(1) [len(1) secret if 0 | rsig if 1]
 * removed:     status(1) 0=removed 1=not-found 2=denied
 * vsig:        owner(32) id(4) seq(8) expires(4) signature(64)
 * rsig:        owner(32) id(4) seq(8) signature(64)
 * ```
 *
 * @param m The message.
 * @returns The datagram.
 * @throws {DhtParseError} When a field is out of range or the message exceeds
 * {@linkcode MAX_MESSAGE_SIZE}.
 *
 * @example
 * ```ts
 * import { decodeMessage, encodeMessage, hashKey } from "@rtclite/app/net/p2p/dht";
 * import { deepEqual, equal } from "node:assert/strict";
 * const m = { type: "find-node" as const, tx: 7, sender: hashKey("me"), target: hashKey("k") };
 * const bytes = encodeMessage(m);
 * equal(bytes.length, 46);
 * deepEqual(decodeMessage(bytes), m);
 * ```
 */
export function encodeMessage(m: DhtMessage): Uint8Array {
  const w = messageWriter();
  w.u8(VERSION);
  w.u8(TYPES.indexOf(m.type));
  if (!Number.isInteger(m.tx) || m.tx < 0 || m.tx > 0xffffffff) {
    throw new DhtParseError(`Cannot encode DHT message: tx ${m.tx} is not a uint32`, 2);
  }
  w.u32(m.tx);
  writeId(w, m.sender, "sender");
  switch (m.type) {
    case "ping":
    case "pong":
      break;
    case "find-node":
      writeId(w, m.target, "target");
      break;
    case "find-value":
      writeId(w, m.key, "key");
      w.u8(m.owner ? 1 : 0);
      if (m.owner) writeFixed(w, m.owner, OWNER_KEY_LENGTH, "owner key");
      break;
    case "nodes":
      writeContacts(w, m.nodes);
      break;
    case "values":
      if (m.values.length > 255) {
        throw new DhtParseError("Cannot encode DHT message: more than 255 values", w.pos);
      }
      w.u8(m.values.length);
      for (const v of m.values) {
        checkValue(w, v.value);
        checkTtl(w, v.ttl);
        w.u32(v.ttl);
        w.u8((v.signed ? 1 : 0) | (v.secretHash ? 2 : 0));
        if (v.signed) writeValueSignature(w, v.signed);
        if (v.secretHash) writeId(w, v.secretHash, "secret hash");
        w.u16(v.value.length);
        w.bytes(v.value);
      }
      writeContacts(w, m.nodes);
      break;
    case "store":
      writeId(w, m.key, "key");
      checkTtl(w, m.ttl);
      w.u32(m.ttl);
      if (m.secretHash && m.signed) {
        throw new DhtParseError(
          "Cannot encode DHT message: store has a secret and a signature",
          w.pos,
        );
      }
      w.u8(m.secretHash ? 1 : m.signed ? 2 : 0);
      if (m.secretHash) writeId(w, m.secretHash, "secret hash");
      if (m.signed) writeValueSignature(w, m.signed);
      checkValue(w, m.value);
      w.u16(m.value.length);
      w.bytes(m.value);
      break;
    case "stored":
      w.u8(STORE_STATUS.indexOf(m.status));
      break;
    case "remove":
      writeId(w, m.key, "key");
      writeId(w, m.valueHash, "value hash");
      checkTtl(w, m.ttl);
      w.u32(m.ttl);
      if ((m.secret === undefined) === (m.signed === undefined)) {
        throw new DhtParseError(
          "Cannot encode DHT message: remove needs exactly one of secret and signature",
          w.pos,
        );
      }
      w.u8(m.signed ? 1 : 0);
      if (m.signed) {
        writeRemovalSignature(w, m.signed);
        break;
      }
      if (m.secret!.length > MAX_SECRET_SIZE) {
        throw new DhtParseError(
          `Cannot encode DHT message: secret longer than ${MAX_SECRET_SIZE} bytes`,
          w.pos,
        );
      }
      w.u8(m.secret!.length);
      w.bytes(m.secret!);
      break;
    case "removed":
      w.u8(REMOVE_STATUS.indexOf(m.status));
      break;
  }
  return w.finish();
}

/**
 * Decodes a datagram (layout in {@linkcode encodeMessage}).
 *
 * @param data The datagram.
 * @returns The message.
 * @throws {DhtParseError} When the datagram is truncated, too long, of another version or type,
 * has out-of-range fields or trailing bytes.
 *
 * @example
 * ```ts
 * import { decodeMessage, DhtParseError } from "@rtclite/app/net/p2p/dht";
 * import { throws } from "node:assert/strict";
 * throws(() => decodeMessage(new Uint8Array([1, 0, 0])), DhtParseError);
 * ```
 */
export function decodeMessage(data: Uint8Array): DhtMessage {
  if (data.length > MAX_MESSAGE_SIZE) {
    throw new DhtParseError(
      `Cannot decode DHT message: ${data.length} bytes, at most ${MAX_MESSAGE_SIZE} allowed`,
      MAX_MESSAGE_SIZE,
    );
  }
  const r: ByteReader = new ByteReader(data, dhtError, "DHT message");
  r.need(HEADER, "header");
  const version = r.u8("version");
  if (version !== VERSION) r.fail(`unsupported version ${version}`);
  const code = r.u8("type");
  const type = TYPES[code];
  if (type === undefined) {
    r.pos--;
    r.fail(`unknown type ${code}`);
  }
  const tx = r.u32("tx");
  const sender = r.bytes(ID_LENGTH, "sender");
  let m: DhtMessage;
  switch (type) {
    case "ping":
    case "pong":
      m = { type, tx, sender };
      break;
    case "find-node":
      m = { type, tx, sender, target: r.bytes(ID_LENGTH, "target") };
      break;
    case "find-value": {
      const key = r.bytes(ID_LENGTH, "key");
      m = readFlag(r, "owner flag", 1)
        ? { type, tx, sender, key, owner: r.bytes(OWNER_KEY_LENGTH, "owner key") }
        : { type, tx, sender, key };
      break;
    }
    case "nodes":
      m = { type, tx, sender, nodes: readContacts(r) };
      break;
    case "values": {
      const n = r.u8("value count");
      const values: WireValue[] = [];
      for (let i = 0; i < n; i++) {
        const ttl = r.u32("TTL");
        const flags = readFlag(r, "value flags", 3);
        const v: WireValue = { value: new Uint8Array(), ttl };
        if (flags & 1) v.signed = readValueSignature(r);
        if (flags & 2) v.secretHash = r.bytes(ID_LENGTH, "secret hash");
        const len = r.u16("value length");
        if (len > MAX_VALUE_SIZE) r.fail(`value has ${len} bytes, at most ${MAX_VALUE_SIZE}`);
        v.value = r.bytes(len, "value");
        values.push(v);
      }
      m = { type, tx, sender, values, nodes: readContacts(r) };
      break;
    }
    case "store": {
      const key = r.bytes(ID_LENGTH, "key");
      const ttl = r.u32("TTL");
      const kind = readFlag(r, "store kind", 2);
      const secretHash = kind === 1 ? r.bytes(ID_LENGTH, "secret hash") : undefined;
      const signed = kind === 2 ? readValueSignature(r) : undefined;
      const len = r.u16("value length");
      if (len > MAX_VALUE_SIZE) r.fail(`value has ${len} bytes, at most ${MAX_VALUE_SIZE}`);
      const value = r.bytes(len, "value");
      m = secretHash
        ? { type, tx, sender, key, ttl, secretHash, value }
        : signed
        ? { type, tx, sender, key, ttl, signed, value }
        : { type, tx, sender, key, ttl, value };
      break;
    }
    case "stored": {
      const status = STORE_STATUS[r.u8("status")] ?? r.fail("unknown store status");
      m = { type, tx, sender, status };
      break;
    }
    case "remove": {
      const key = r.bytes(ID_LENGTH, "key");
      const valueHash = r.bytes(ID_LENGTH, "value hash");
      const ttl = r.u32("TTL");
      m = readFlag(r, "remove kind", 1)
        ? { type, tx, sender, key, valueHash, ttl, signed: readRemovalSignature(r) }
        : {
          type,
          tx,
          sender,
          key,
          valueHash,
          ttl,
          secret: r.bytes(r.u8("secret length"), "secret"),
        };
      break;
    }
    case "removed": {
      const status = REMOVE_STATUS[r.u8("status")] ?? r.fail("unknown remove status");
      m = { type, tx, sender, status };
      break;
    }
  }
  if (r.pos !== data.length) r.fail(`${data.length - r.pos} trailing bytes`);
  return m;
}

// === Signed values ===

const PUT_CONTEXT = new TextEncoder().encode("rtclite-dht-put\0");
const REMOVE_CONTEXT = new TextEncoder().encode("rtclite-dht-remove\0");

function signingInput(context: Uint8Array, key: NodeId, id: number, seq: number): ByteWriter {
  if (key.length !== ID_LENGTH) {
    throw new RangeError(`Cannot sign: key has ${key.length} bytes, expected ${ID_LENGTH}`);
  }
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw new RangeError(`Cannot sign: value id ${id} is not a uint32`);
  }
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new RangeError(`Cannot sign: seq ${seq} is not a non-negative safe integer`);
  }
  const w = new ByteWriter(64 + MAX_VALUE_SIZE);
  w.bytes(context);
  w.bytes(key);
  w.u32(id);
  w.u32(Math.floor(seq / 2 ** 32));
  w.u32(seq % 2 ** 32);
  return w;
}

/**
 * The bytes an owner signs to put a value: `"rtclite-dht-put\0" key(20) id(4) seq(8)
 * expires(4) value`. The context string keeps a put signature from being taken for a removal.
 *
 * @param key The key (hashed).
 * @param value The value.
 * @param fields The value id, sequence number and expiry of the {@linkcode ValueSignature}.
 * @returns The bytes to sign.
 * @throws {RangeError} When a field is out of range.
 *
 * @example
 * ```ts
 * import { hashKey, valueSigningInput } from "@rtclite/app/net/p2p/dht";
 * import { equal } from "node:assert/strict";
 * const input = valueSigningInput(hashKey("k"), new Uint8Array(3), { id: 0, seq: 1, expires: 60 });
 * equal(input.length, 16 + 20 + 4 + 8 + 4 + 3);
 * ```
 */
export function valueSigningInput(
  key: NodeId,
  value: Uint8Array,
  fields: Pick<ValueSignature, "id" | "seq" | "expires">,
): Uint8Array {
  const w = signingInput(PUT_CONTEXT, key, fields.id, fields.seq);
  if (!Number.isInteger(fields.expires) || fields.expires < 0 || fields.expires > 0xffffffff) {
    throw new RangeError(`Cannot sign: expiry ${fields.expires} is not a uint32`);
  }
  w.u32(fields.expires);
  w.bytes(value);
  return w.finish();
}

/**
 * The bytes an owner signs to remove a value: `"rtclite-dht-remove\0" key(20) id(4) seq(8)
 * valueHash(20)`.
 *
 * @param key The key (hashed).
 * @param valueHash SHA-1 of the value.
 * @param fields The value id and the removal's sequence number.
 * @returns The bytes to sign.
 * @throws {RangeError} When a field is out of range.
 *
 * @example
 * ```ts
 * import { hashKey, removalSigningInput } from "@rtclite/app/net/p2p/dht";
 * import { equal } from "node:assert/strict";
 * equal(removalSigningInput(hashKey("k"), hashKey("v"), { id: 0, seq: 2 }).length, 19 + 52);
 * ```
 */
export function removalSigningInput(
  key: NodeId,
  valueHash: Uint8Array,
  fields: Pick<RemovalSignature, "id" | "seq">,
): Uint8Array {
  const w = signingInput(REMOVE_CONTEXT, key, fields.id, fields.seq);
  if (valueHash.length !== ID_LENGTH) {
    throw new RangeError(`Cannot sign: value hash has ${valueHash.length} bytes`);
  }
  w.bytes(valueHash);
  return w.finish();
}

/** Ed25519 verification (RFC 8032, strict: not ZIP-215), synchronous so that the core stays so. */
function ed25519Verify(signature: Uint8Array, data: Uint8Array, owner: Uint8Array): boolean {
  if (owner.length !== OWNER_KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return false;
  try {
    return ed25519.verify(signature, data, owner, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Checks an owner's signature on a value (synchronously: nodes call it on every signed store and
 * on every signed value a lookup returns).
 *
 * @param key The key (hashed).
 * @param value The value.
 * @param s The signature.
 * @returns Whether the owner signed exactly this key, value, id, seq and expiry.
 *
 * @example
 * ```ts
 * import { hashKey, signValue, verifyValue } from "@rtclite/app/net/p2p/dht";
 * import { generateKeyPair } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * const owner = await generateKeyPair("Ed25519");
 * const v = new TextEncoder().encode("sip:alice@10.0.0.1");
 * const s = await signValue(owner, "alice", v, { ttl: 60 });
 * equal(verifyValue(hashKey("alice"), v, s), true);
 * equal(verifyValue(hashKey("alice"), new TextEncoder().encode("sip:eve@10.6.6.6"), s), false);
 * ```
 */
export function verifyValue(key: NodeId, value: Uint8Array, s: ValueSignature): boolean {
  let input: Uint8Array;
  try {
    input = valueSigningInput(key, value, s);
  } catch {
    return false;
  }
  return ed25519Verify(s.signature, input, s.owner);
}

/**
 * Checks an owner's signature on a removal.
 *
 * @param key The key (hashed).
 * @param valueHash SHA-1 of the value.
 * @param s The signature.
 * @returns Whether the owner signed this removal.
 *
 * @example
 * ```ts
 * import { hashKey, signRemoval, verifyRemoval } from "@rtclite/app/net/p2p/dht";
 * import { generateKeyPair } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * const owner = await generateKeyPair("Ed25519");
 * const r = await signRemoval(owner, "alice", "old contact");
 * equal(verifyRemoval(hashKey("alice"), hashKey("old contact"), r), true);
 * equal(verifyRemoval(hashKey("bob"), hashKey("old contact"), r), false);
 * ```
 */
export function verifyRemoval(key: NodeId, valueHash: Uint8Array, s: RemovalSignature): boolean {
  let input: Uint8Array;
  try {
    input = removalSigningInput(key, valueHash, s);
  } catch {
    return false;
  }
  return ed25519Verify(s.signature, input, s.owner);
}

let lastSeq = 0;

/**
 * A fresh sequence number: the clock in milliseconds, or one more than the last one returned
 * when the clock has not moved on. Each put or removal of an owner takes a new one, so that a
 * later operation always carries a higher number than an earlier one (on one host).
 *
 * @param now The clock in milliseconds (default `Date.now()`).
 * @returns A sequence number greater than any returned before by this module.
 *
 * @example
 * ```ts
 * import { freshSeq } from "@rtclite/app/net/p2p/dht";
 * import { ok } from "node:assert/strict";
 * const a = freshSeq(), b = freshSeq();
 * ok(b > a);
 * ```
 */
export function freshSeq(now: number = Date.now()): number {
  lastSeq = Math.max(Math.floor(now), lastSeq + 1);
  return lastSeq;
}

/** Options of {@linkcode signValue}. */
export interface SignValueOptions {
  /** The value id (default 0): an owner's values under one key are told apart by it. */
  id?: number;
  /** Sequence number (default {@linkcode freshSeq}). */
  seq?: number;
  /** Seconds the value lives (default 3600): sets the signed expiry. */
  ttl?: number;
  /** The clock in milliseconds (default `Date.now()`), for the expiry. */
  now?: number;
}

async function ownerKey(owner: CryptoKeyPair): Promise<Uint8Array> {
  if (owner.publicKey.algorithm.name !== "Ed25519") {
    throw new TypeError(
      `Cannot sign DHT values with a ${owner.publicKey.algorithm.name} key: use Ed25519`,
    );
  }
  return await exportPublicKey(owner.publicKey, "raw");
}

/**
 * Signs a value for {@linkcode DhtNode.put} (Web Crypto Ed25519).
 *
 * @param owner The owner's Ed25519 key pair (`generateKeyPair("Ed25519")` of
 * `@rtclite/app/sec/crypto`).
 * @param key The key.
 * @param value The value.
 * @param options Value id, sequence number, TTL and clock.
 * @returns The signature to store with the value.
 * @throws {TypeError} When the key pair is not Ed25519.
 * @throws {RangeError} When the TTL is not a positive integer.
 *
 * @example
 * ```ts
 * import { signValue } from "@rtclite/app/net/p2p/dht";
 * import { generateKeyPair } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * const s = await signValue(await generateKeyPair(), "k", "v", { ttl: 60, now: 0, seq: 7 });
 * equal(s.expires, 60);
 * equal(s.seq, 7);
 * equal(s.signature.length, 64);
 * ```
 */
export async function signValue(
  owner: CryptoKeyPair,
  key: Key,
  value: Uint8Array | string,
  options: SignValueOptions = {},
): Promise<ValueSignature> {
  const ttl = options.ttl ?? 3600;
  if (!Number.isInteger(ttl) || ttl < 1) {
    throw new RangeError(`Cannot sign: TTL ${ttl} is not a positive integer of seconds`);
  }
  const fields = {
    id: options.id ?? 0,
    seq: options.seq ?? freshSeq(),
    expires: Math.floor((options.now ?? Date.now()) / 1000) + ttl,
  };
  const input = valueSigningInput(toKey(key), toBytes(value), fields);
  const publicKey = await ownerKey(owner);
  return { owner: publicKey, ...fields, signature: await sign(owner.privateKey, input) };
}

/** Options of {@linkcode signRemoval}. */
export interface SignRemovalOptions {
  /** The value id (default 0). */
  id?: number;
  /** Sequence number (default {@linkcode freshSeq}): must exceed the value's. */
  seq?: number;
}

/**
 * Signs the removal of a value for {@linkcode DhtNode.remove}.
 *
 * @param owner The owner's Ed25519 key pair.
 * @param key The key.
 * @param value The value to remove.
 * @param options Value id and sequence number.
 * @returns The signature to send with the removal.
 * @throws {TypeError} When the key pair is not Ed25519.
 *
 * @example
 * ```ts
 * import { signRemoval } from "@rtclite/app/net/p2p/dht";
 * import { generateKeyPair } from "@rtclite/app/sec/crypto";
 * import { equal } from "node:assert/strict";
 * equal((await signRemoval(await generateKeyPair(), "k", "v", { seq: 9 })).seq, 9);
 * ```
 */
export async function signRemoval(
  owner: CryptoKeyPair,
  key: Key,
  value: Uint8Array | string,
  options: SignRemovalOptions = {},
): Promise<RemovalSignature> {
  const fields = { id: options.id ?? 0, seq: options.seq ?? freshSeq() };
  const input = removalSigningInput(toKey(key), hashKey(toBytes(value)), fields);
  const publicKey = await ownerKey(owner);
  return { owner: publicKey, ...fields, signature: await sign(owner.privateKey, input) };
}

// === Routing table: k-buckets ===

/** What {@linkcode RoutingTable.seen} did with a contact. */
export type SeenResult =
  | { type: "added" }
  | { type: "updated" }
  | { type: "self" }
  /** The bucket is full: ping `oldest`, then call `seen` (alive) or `failed` (dead) for it. */
  | { type: "ping"; oldest: Contact };

interface Entry {
  contact: Contact;
  lastSeen: number;
  failures: number;
}

interface Bucket {
  /** Least recently seen first. */
  entries: Entry[];
  /** Candidates waiting for a place, most recent last. */
  replacements: Contact[];
  lastLookup: number;
  /** Whether the oldest entry is being pinged. */
  pinging: boolean;
}

/** Options of {@linkcode RoutingTable}. */
export interface RoutingTableOptions {
  /** Bucket size and replication factor (default 20). */
  k?: number;
  /** Failed requests after which a contact without a replacement is dropped (default 2). */
  maxFailures?: number;
  /** The clock, in milliseconds (default `Date.now`). */
  clock?: () => number;
}

/**
 * A Kademlia routing table: 160 k-buckets, bucket `i` holding contacts whose distance from us
 * lies in [2^i, 2^(i+1)), each ordered least recently seen first. A new contact for a full
 * bucket is kept as a replacement while the oldest entry is pinged: an answer keeps the old
 * contact (Kademlia favours long-lived nodes), silence evicts it.
 *
 * @see {@link https://pdos.csail.mit.edu/~petar/papers/maymounkov-kademlia-lncs.pdf | Kademlia §2.2 (node state)}
 *
 * @example Ping before evict
 * ```ts
 * import { fromHex, RoutingTable } from "@rtclite/app/net/p2p/dht";
 * import { equal } from "node:assert/strict";
 * const id = (b: number) => fromHex(b.toString(16).padStart(2, "0") + "00".repeat(19));
 * const t = new RoutingTable(id(0), { k: 2, clock: () => 0 });
 * const c = (b: number) => ({ id: id(b), host: "127.0.0.1", port: 4000 + b });
 * equal(t.seen(c(0x80)).type, "added");
 * equal(t.seen(c(0x81)).type, "added");
 * const r = t.seen(c(0x82)); // same bucket, full
 * equal(r.type, "ping");
 * t.failed(id(0x80));        // the oldest did not answer: evicted, replacement added
 * equal(t.size, 2);
 * equal(t.closest(id(0x82), 1)[0]!.port, 4130);
 * ```
 */
export class RoutingTable {
  #self: NodeId;
  #k: number;
  #maxFailures: number;
  #clock: () => number;
  #buckets: Bucket[] = [];
  /** Which identifier each address holds: one address, one node. */
  #byAddress = new Map<string, NodeId>();

  /**
   * Creates an empty table.
   *
   * @param self Our identifier.
   * @param options Bucket size, failure limit, clock.
   */
  constructor(self: NodeId, options: RoutingTableOptions = {}) {
    this.#self = self;
    this.#k = options.k ?? 20;
    this.#maxFailures = options.maxFailures ?? 2;
    this.#clock = options.clock ?? Date.now;
    const now = this.#clock();
    for (let i = 0; i < ID_LENGTH * 8; i++) {
      this.#buckets.push({ entries: [], replacements: [], lastLookup: now, pinging: false });
    }
  }

  /** Our identifier. */
  get self(): NodeId {
    return this.#self;
  }

  /** The bucket size. */
  get k(): number {
    return this.#k;
  }

  /** Number of contacts. */
  get size(): number {
    return this.#buckets.reduce((n, b) => n + b.entries.length, 0);
  }

  /** All contacts, by bucket, least recently seen first. */
  contacts(): Contact[] {
    return this.#buckets.flatMap((b) => b.entries.map((e) => e.contact));
  }

  /**
   * Records that a contact sent us a valid message: moves it to the tail of its bucket, adds it,
   * or (bucket full) asks for the oldest entry to be pinged.
   *
   * @param contact The sender.
   * @returns What happened.
   */
  seen(contact: Contact): SeenResult {
    const i = bucketIndex(this.#self, contact.id);
    if (i < 0) return { type: "self" };
    // An address that now speaks with another identifier: the old one is gone (a restarted node),
    // and one sender cannot fill the table with made-up identifiers.
    const addr = addrKey(contact);
    const previous = this.#byAddress.get(addr);
    if (previous && !equals(previous, contact.id)) this.remove(previous);
    const b = this.#buckets[i]!;
    const now = this.#clock();
    const at = b.entries.findIndex((e) => equals(e.contact.id, contact.id));
    if (at >= 0) {
      const [e] = b.entries.splice(at, 1);
      if (addrKey(e!.contact) !== addr) this.#byAddress.delete(addrKey(e!.contact));
      this.#byAddress.set(addr, contact.id);
      e!.contact = contact;
      e!.lastSeen = now;
      e!.failures = 0;
      b.entries.push(e!);
      if (at === 0) b.pinging = false;
      return { type: "updated" };
    }
    if (b.entries.length < this.#k) {
      b.entries.push({ contact, lastSeen: now, failures: 0 });
      this.#byAddress.set(addr, contact.id);
      return { type: "added" };
    }
    b.replacements = b.replacements.filter((r) => !equals(r.id, contact.id) && addrKey(r) !== addr);
    b.replacements.push(contact);
    if (b.replacements.length > this.#k) b.replacements.shift();
    if (b.pinging) return { type: "updated" };
    b.pinging = true;
    return { type: "ping", oldest: b.entries[0]!.contact };
  }

  /**
   * Records that a contact did not answer. It is replaced by the newest replacement candidate,
   * or dropped after `maxFailures` failures when there is none.
   *
   * @param id The contact's identifier.
   * @returns Whether the contact was removed.
   */
  failed(id: NodeId): boolean {
    const i = bucketIndex(this.#self, id);
    if (i < 0) return false;
    const b = this.#buckets[i]!;
    const at = b.entries.findIndex((e) => equals(e.contact.id, id));
    if (at < 0) return false;
    const e = b.entries[at]!;
    e.failures++;
    if (at === 0) b.pinging = false;
    const replacement = b.replacements.pop();
    if (replacement === undefined && e.failures < this.#maxFailures) return false;
    b.entries.splice(at, 1);
    this.#forget(e.contact);
    if (replacement) {
      const previous = this.#byAddress.get(addrKey(replacement));
      if (previous) this.remove(previous);
      b.entries.push({ contact: replacement, lastSeen: this.#clock(), failures: 0 });
      this.#byAddress.set(addrKey(replacement), replacement.id);
    }
    return true;
  }

  /**
   * Removes a contact.
   *
   * @param id The contact's identifier.
   */
  remove(id: NodeId): void {
    const b = this.#buckets[bucketIndex(this.#self, id)];
    if (!b) return;
    const e = b.entries.find((e) => equals(e.contact.id, id));
    if (!e) return;
    b.entries = b.entries.filter((x) => x !== e);
    this.#forget(e.contact);
  }

  #forget(c: Contact): void {
    const addr = addrKey(c);
    const id = this.#byAddress.get(addr);
    if (id && equals(id, c.id)) this.#byAddress.delete(addr);
  }

  /**
   * The `count` known contacts closest to `target`.
   *
   * @param target The identifier.
   * @param count How many (default k).
   * @returns Contacts, closest first.
   */
  closest(target: NodeId, count: number = this.#k): Contact[] {
    return this.contacts()
      .sort((a, b) => compareDistance(a.id, b.id, target))
      .slice(0, count);
  }

  /**
   * Records a lookup of `target`, which refreshes its bucket.
   *
   * @param target The looked-up identifier.
   */
  touched(target: NodeId): void {
    const b = this.#buckets[bucketIndex(this.#self, target)];
    if (b) b.lastLookup = this.#clock();
  }

  /**
   * Random targets for the non-empty buckets (and the buckets between them) without a lookup
   * for `interval` ms: looking them up refreshes the buckets (Kademlia §2.3).
   *
   * @param interval Refresh interval in milliseconds.
   * @returns The identifiers to look up; their buckets count as refreshed.
   */
  staleTargets(interval: number): NodeId[] {
    const now = this.#clock();
    const out: NodeId[] = [];
    let highest = -1;
    this.#buckets.forEach((b, i) => {
      if (b.entries.length) highest = i;
    });
    for (let i = 0; i <= highest; i++) {
      const b = this.#buckets[i]!;
      if (now - b.lastLookup >= interval) {
        b.lastLookup = now;
        out.push(randomIdInBucket(this.#self, i));
      }
    }
    return out;
  }
}

// === Iterative lookup ===

/** Options of {@linkcode Lookup}. */
export interface LookupOptions {
  /** Number of closest nodes to find (default 20). */
  k?: number;
  /** Parallel requests (default 3). */
  alpha?: number;
}

type Candidate = { contact: Contact; state: "new" | "waiting" | "done" | "failed" };

/** Where a value lives under its key: its owner and id when signed, else its content. */
function slotOf(v: { value: Uint8Array; signed?: ValueSignature | undefined }): string {
  return v.signed ? `s:${toHex(v.signed.owner)}:${v.signed.id}` : toHex(hashKey(v.value));
}

/** Whether copy `a` of a value wins over copy `b`: higher sequence number, then longer TTL. */
function newer(a: WireValue, b: WireValue): boolean {
  const sa = a.signed?.seq ?? 0, sb = b.signed?.seq ?? 0;
  return sa !== sb ? sa > sb : a.ttl > b.ttl;
}

/**
 * The iterative node lookup of Kademlia as a state machine: it picks up to alpha of the closest
 * not-yet-queried candidates, learns from each answer, and ends when the k closest candidates
 * that did not fail have all answered. It sends nothing itself: {@linkcode Lookup.next} returns
 * whom to query; answers come in through {@linkcode Lookup.answer} and {@linkcode Lookup.failure}.
 * A value lookup also collects the values the nodes return.
 *
 * @see {@link https://pdos.csail.mit.edu/~petar/papers/maymounkov-kademlia-lncs.pdf | Kademlia §2.3 (node lookup)}
 *
 * @example A lookup over a scripted network
 * ```ts
 * import { fromHex, Lookup } from "@rtclite/app/net/p2p/dht";
 * import { deepEqual, equal } from "node:assert/strict";
 * const c = (b: number) => ({ id: fromHex(b.toString(16).padStart(2, "0") + "00".repeat(19)),
 *   host: "127.0.0.1", port: 4000 + b });
 * const l = new Lookup(c(0).id, [c(0x40), c(0x80)], { k: 2, alpha: 1 });
 * deepEqual(l.next().map((x) => x.port), [4064]);
 * deepEqual(l.answer(c(0x40).id, [c(0x01), c(0x02)]).map((x) => x.port), [4001]);
 * deepEqual(l.answer(c(0x01).id, []).map((x) => x.port), [4002]);
 * deepEqual(l.answer(c(0x02).id, []), []);
 * equal(l.done, true);
 * deepEqual(l.closest().map((x) => x.port), [4001, 4002]);
 * ```
 */
export class Lookup {
  #target: NodeId;
  #k: number;
  #alpha: number;
  #candidates: Candidate[] = [];
  #values = new Map<string, WireValue>();
  #self: NodeId | undefined;

  /**
   * Starts a lookup.
   *
   * @param target The identifier looked up.
   * @param seeds The closest contacts we know.
   * @param options k and alpha.
   * @param self Our own identifier, never queried.
   */
  constructor(target: NodeId, seeds: Contact[], options: LookupOptions = {}, self?: NodeId) {
    this.#target = target;
    this.#k = options.k ?? 20;
    this.#alpha = options.alpha ?? 3;
    this.#self = self;
    this.#add(seeds);
  }

  /** The identifier looked up. */
  get target(): NodeId {
    return this.#target;
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.#candidates.filter((c) => c.state === "waiting").length;
  }

  /** Whether the k closest live candidates have all answered and nothing is in flight. */
  get done(): boolean {
    return this.inFlight === 0 && this.#pick().length === 0;
  }

  /**
   * Values collected (value lookups): one per slot (an unsigned value's content, a signed value's
   * owner and id), the highest sequence number and then the longest TTL any node reported.
   */
  get values(): WireValue[] {
    return [...this.#values.values()];
  }

  #add(contacts: Contact[]): void {
    for (const contact of contacts) {
      if (this.#self && equals(contact.id, this.#self)) continue;
      if (this.#candidates.some((c) => equals(c.contact.id, contact.id))) continue;
      this.#candidates.push({ contact, state: "new" });
    }
    this.#candidates.sort((a, b) => compareDistance(a.contact.id, b.contact.id, this.#target));
    // Bound the shortlist: forget the farthest candidates nobody is waiting for. Failed ones stay
    // (so that they are not asked again) but do not count: otherwise dead or made-up contacts
    // close to the target would push the live ones out of the list.
    const failed = this.#candidates.reduce((n, c) => n + (c.state === "failed" ? 1 : 0), 0);
    const limit = 4 * this.#k + failed;
    for (let i = this.#candidates.length - 1; i >= limit; i--) {
      if (this.#candidates[i]!.state !== "waiting") this.#candidates.splice(i, 1);
    }
  }

  #pick(): Candidate[] {
    const out: Candidate[] = [];
    let live = 0;
    for (const c of this.#candidates) {
      if (c.state === "failed") continue;
      if (live++ >= this.#k) break;
      if (c.state === "new") out.push(c);
    }
    return out;
  }

  /**
   * The contacts to query now (marks them in flight).
   *
   * @returns Up to alpha minus the requests in flight.
   */
  next(): Contact[] {
    const room = this.#alpha - this.inFlight;
    if (room <= 0) return [];
    return this.#pick().slice(0, room).map((c) => {
      c.state = "waiting";
      return c.contact;
    });
  }

  /**
   * Takes an answer.
   *
   * @param from Who answered.
   * @param nodes The contacts it returned.
   * @param values The values it returned (value lookups).
   * @returns The contacts to query next.
   */
  answer(from: NodeId, nodes: Contact[], values: WireValue[] = []): Contact[] {
    const c = this.#candidates.find((x) => equals(x.contact.id, from));
    if (!c || c.state !== "waiting") return this.next();
    c.state = "done";
    for (const v of values) {
      const slot = slotOf(v);
      const old = this.#values.get(slot);
      if (!old || newer(v, old)) this.#values.set(slot, v);
    }
    this.#add(nodes);
    return this.next();
  }

  /**
   * Takes a timeout or error.
   *
   * @param from Who failed to answer.
   * @returns The contacts to query next.
   */
  failure(from: NodeId): Contact[] {
    const c = this.#candidates.find((x) => equals(x.contact.id, from));
    if (c && c.state === "waiting") c.state = "failed";
    return this.next();
  }

  /**
   * The closest contacts that answered.
   *
   * @param count How many (default k).
   * @returns Contacts, closest first.
   */
  closest(count: number = this.#k): Contact[] {
    return this.#candidates.filter((c) => c.state === "done").slice(0, count).map((c) => c.contact);
  }
}

// === The node: storage, RPCs and operations ===

/** Options of {@linkcode DhtNode}. */
export interface DhtNodeOptions {
  /** Our identifier (default random). */
  id?: NodeId;
  /** Bucket size and replication factor (default 20). */
  k?: number;
  /** Lookup parallelism (default 3). */
  alpha?: number;
  /** The clock in milliseconds (default `Date.now`). */
  clock?: () => number;
  /** Milliseconds to wait for an answer (default 2000). */
  rpcTimeout?: number;
  /** Milliseconds after which an idle bucket is refreshed (default 1 hour). */
  refreshInterval?: number;
  /** Milliseconds between republications of stored values (default 1 hour). */
  republishInterval?: number;
  /** Milliseconds between housekeeping passes (default 5000). */
  maintenanceInterval?: number;
  /** Longest TTL accepted, in seconds (default 7 days); longer ones are cut. */
  maxTtl?: number;
  /** Most values stored under one key (default 256). */
  maxValuesPerKey?: number;
  /**
   * Most unsigned values under one key (default half of `maxValuesPerKey`): the rest is kept for
   * signed values, so that unsigned ones cannot crowd out an owner.
   */
  maxUnsignedPerKey?: number;
  /**
   * Most values one origin (the address that sent the STORE) may add under one key (default 32),
   * so that one node cannot take a key's slots.
   */
  maxValuesPerOriginPerKey?: number;
  /** Most signed values of one owner under one key (default 16 value ids). */
  maxValuesPerOwnerPerKey?: number;
  /** Most values one origin may have stored here in total (default 1024). */
  maxValuesPerOrigin?: number;
  /** Most values stored in total (default 65 536). */
  maxValues?: number;
}

/** Options of {@linkcode DhtNode.put}. */
export interface PutOptions {
  /** Seconds the value lives (default 3600). */
  ttl?: number;
  /** Secret that {@linkcode DhtNode.remove} must present; without it the value cannot be removed. */
  secret?: Uint8Array | string;
  /** The SHA-1 of the secret, when only that is known (OpenDHT's `put_removable`). */
  secretHash?: Uint8Array;
  /**
   * The owner's signature ({@linkcode signValue}): the value is stored in the owner's slot, which
   * only the owner can replace or remove. Not with `secret`. The TTL defaults to the time left
   * to the signed expiry.
   */
  signature?: ValueSignature;
}

/** Options of {@linkcode DhtNode.get}. */
export interface GetOptions {
  /** Only this owner's signed values (their raw Ed25519 public key). */
  owner?: Uint8Array;
}

/** A value found by {@linkcode DhtNode.get}. */
export interface FoundValue {
  /** The value. */
  value: Uint8Array;
  /** Seconds it has left to live. */
  ttl: number;
  /** The owner's signature (verified), for a signed value: `signed.owner` is who put it. */
  signed?: ValueSignature;
  /** SHA-1 of the removal secret of an unsigned value put with one. */
  secretHash?: Uint8Array;
}

/** The result of a finished operation. */
export type OperationResult =
  | { type: "join"; id: number; contacts: number }
  | { type: "put"; id: number; stored: number }
  | { type: "get"; id: number; values: FoundValue[] }
  | { type: "remove"; id: number; removed: number; denied: number }
  | { type: "lookup"; id: number; closest: Contact[] };

/** What the core asks its adapter to do. */
export type DhtOutput =
  | { type: "send"; to: Address; data: Uint8Array }
  | { type: "done"; result: OperationResult };

interface Stored {
  value: Uint8Array;
  expires: number;
  secretHash: Uint8Array | undefined;
  signed: ValueSignature | undefined;
  /** Who sent the STORE that made the slot (`host:port`, or `self`): what per-origin caps count. */
  origin: string;
  republishAt: number;
}

/** A removal remembered: unsigned ones by secret, signed ones by sequence number. */
interface Tombstone {
  secretHash?: Uint8Array;
  seq?: number;
  expires: number;
  /** Who sent the removal: tombstones are bounded per origin as values are. */
  origin: string;
}

interface Pending {
  to: Address;
  id: NodeId | undefined;
  deadline: number;
  onAnswer: (m: DhtMessage, from: Contact) => void;
  onTimeout: () => void;
}

type Request =
  | { type: "ping" }
  | { type: "find-node"; target: NodeId }
  | { type: "find-value"; key: NodeId; owner?: Uint8Array }
  | {
    type: "store";
    key: NodeId;
    value: Uint8Array;
    ttl: number;
    secretHash?: Uint8Array;
    signed?: ValueSignature;
  }
  | {
    type: "remove";
    key: NodeId;
    valueHash: Uint8Array;
    ttl: number;
    secret?: Uint8Array;
    signed?: RemovalSignature;
  };

/** Keys given to the API: text (hashed with SHA-1), or a 20-byte identifier used as is. */
export type Key = string | NodeId;

function toKey(key: Key): NodeId {
  if (typeof key === "string") return hashKey(key);
  if (key.length !== ID_LENGTH) {
    throw new RangeError(`Cannot use key: ${key.length} bytes, expected ${ID_LENGTH}`);
  }
  return key;
}

function toBytes(v: Uint8Array | string): Uint8Array {
  return typeof v === "string" ? new TextEncoder().encode(v) : v;
}

/**
 * The sans-I/O core of a DHT node: its routing table, its store, the RPCs it has in flight and
 * the operations (join, put, get, remove) it runs. Feed it datagrams with
 * {@linkcode DhtNode.receive}, call {@linkcode DhtNode.tick} at {@linkcode DhtNode.nextDeadline},
 * and carry out the outputs: `send` a datagram, or report a `done` operation. Bad datagrams are
 * dropped (and logged); the node never throws on network input.
 *
 * @see {@link https://pdos.csail.mit.edu/~petar/papers/maymounkov-kademlia-lncs.pdf | Kademlia §2.3 (protocol), §2.5 (republishing)}
 *
 * @example Two cores wired together in memory with a fake clock
 * ```ts
 * import { type Address, DhtNode, type DhtOutput, type OperationResult } from "@rtclite/app/net/p2p/dht";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * let now = 0;
 * const nodes = new Map<number, DhtNode>();
 * const results: OperationResult[] = [];
 * const deliver = (from: Address, out: DhtOutput[]) => {
 *   for (const o of out) {
 *     if (o.type === "done") results.push(o.result);
 *     else deliver(o.to, nodes.get(o.to.port)!.receive(o.data, from));
 *   }
 * };
 * for (const port of [1, 2]) nodes.set(port, new DhtNode({ k: 4, clock: () => now }));
 * const a = { host: "127.0.0.1", port: 1 }, b = { host: "127.0.0.1", port: 2 };
 * deliver(b, nodes.get(2)!.join([a]).out);
 * deliver(a, nodes.get(1)!.put("k", "v", { ttl: 10 }).out);
 * deliver(b, nodes.get(2)!.get("k").out);
 * const got = results.at(-1)!;
 * equal(got.type === "get" && new TextDecoder().decode(got.values[0]!.value), "v");
 * now += 11_000; // past the TTL
 * deliver(b, nodes.get(2)!.get("k").out);
 * deepEqual(results.at(-1), { type: "get", id: 3, values: [] });
 * ```
 */
export class DhtNode {
  #id: NodeId;
  #k: number;
  #alpha: number;
  #clock: () => number;
  #rpcTimeout: number;
  #refreshInterval: number;
  #republishInterval: number;
  #maintenanceInterval: number;
  #maxTtl: number;
  #maxValuesPerKey: number;
  #maxUnsignedPerKey: number;
  #maxPerOriginPerKey: number;
  #maxPerOwnerPerKey: number;
  #maxPerOrigin: number;
  #maxValues: number;
  #perOrigin = new Map<string, number>();
  #table: RoutingTable;
  #store = new Map<string, Map<string, Stored>>();
  #tombstones = new Map<string, Tombstone>();
  #tombstonesPerOrigin = new Map<string, number>();
  #count = 0;
  #pending = new Map<number, Pending>();
  #tx = crypto.getRandomValues(new Uint32Array(1))[0]!;
  #ops = 0;
  #out: DhtOutput[] = [];
  #nextMaintenance: number;

  /**
   * Creates a node.
   *
   * @param options Identifier, parameters and clock.
   */
  constructor(options: DhtNodeOptions = {}) {
    this.#id = options.id ?? randomId();
    if (this.#id.length !== ID_LENGTH) {
      throw new RangeError(`Cannot create DHT node: ID has ${this.#id.length} bytes`);
    }
    this.#k = options.k ?? 20;
    if (!(this.#k >= 1 && this.#k <= MAX_CONTACTS)) {
      throw new RangeError(`Cannot create DHT node: k=${this.#k} is not in 1..${MAX_CONTACTS}`);
    }
    this.#alpha = options.alpha ?? 3;
    this.#clock = options.clock ?? Date.now;
    this.#rpcTimeout = options.rpcTimeout ?? 2000;
    this.#refreshInterval = options.refreshInterval ?? 3_600_000;
    this.#republishInterval = options.republishInterval ?? 3_600_000;
    this.#maintenanceInterval = options.maintenanceInterval ?? 5000;
    this.#maxTtl = options.maxTtl ?? 7 * 86400;
    this.#maxValuesPerKey = options.maxValuesPerKey ?? 256;
    this.#maxUnsignedPerKey = options.maxUnsignedPerKey ??
      Math.max(1, Math.floor(this.#maxValuesPerKey / 2));
    this.#maxPerOriginPerKey = options.maxValuesPerOriginPerKey ?? 32;
    this.#maxPerOwnerPerKey = options.maxValuesPerOwnerPerKey ?? 16;
    this.#maxPerOrigin = options.maxValuesPerOrigin ?? 1024;
    this.#maxValues = options.maxValues ?? 65536;
    this.#table = new RoutingTable(this.#id, { k: this.#k, clock: this.#clock });
    this.#nextMaintenance = this.#clock() + this.#maintenanceInterval;
  }

  /** Our identifier. */
  get id(): NodeId {
    return this.#id;
  }

  /** The routing table. */
  get table(): RoutingTable {
    return this.#table;
  }

  /** Number of values stored here. */
  get storedCount(): number {
    return this.#count;
  }

  /**
   * The live values stored here under a key (what this node would answer).
   *
   * @param key The key.
   * @param owner Only this owner's signed values.
   * @returns The values with their remaining TTL.
   */
  storedValues(key: Key, owner?: Uint8Array): FoundValue[] {
    const now = this.#clock();
    return [...this.#store.get(toHex(toKey(key)))?.values() ?? []]
      .filter((s) => s.expires > now && (!owner || (s.signed && equals(s.signed.owner, owner))))
      .map((s) => {
        const v: FoundValue = { value: s.value, ttl: Math.ceil((s.expires - now) / 1000) };
        if (s.signed) v.signed = s.signed;
        if (s.secretHash) v.secretHash = s.secretHash;
        return v;
      });
  }

  /** When {@linkcode DhtNode.tick} should next be called (clock milliseconds). */
  nextDeadline(): number {
    let t = this.#nextMaintenance;
    for (const p of this.#pending.values()) t = Math.min(t, p.deadline);
    return t;
  }

  // --- Inputs ---

  /**
   * Handles a datagram. Invalid ones are dropped.
   *
   * @param data The datagram.
   * @param from Its source address.
   * @returns What to do.
   */
  receive(data: Uint8Array, from: Address): DhtOutput[] {
    let m: DhtMessage;
    try {
      m = decodeMessage(data);
    } catch (e) {
      log.debug("Dropping datagram from {from}: {e}", { from: addrKey(from), e: String(e) });
      return this.#flush();
    }
    try {
      this.#handle(m, { id: m.sender, host: from.host, port: from.port });
    } catch (e) {
      log.warn("Error handling {type} from {from}: {e}", {
        type: m.type,
        from: addrKey(from),
        e: String(e),
      });
    }
    return this.#flush();
  }

  /**
   * Expires requests, values and removals, refreshes buckets and republishes values when due.
   *
   * @returns What to do.
   */
  tick(): DhtOutput[] {
    const now = this.#clock();
    for (const [tx, p] of this.#pending) {
      if (p.deadline > now) continue;
      this.#pending.delete(tx);
      if (p.id) this.#table.failed(p.id);
      p.onTimeout();
    }
    if (now >= this.#nextMaintenance) {
      this.#nextMaintenance = now + this.#maintenanceInterval;
      this.#maintain(now);
    }
    return this.#flush();
  }

  // --- Operations ---

  /**
   * Joins the network through known nodes: pings them, then looks up our own identifier.
   *
   * @param bootstrap Addresses of nodes in the network.
   * @returns The operation id (reported in its `done` result) and what to do.
   * @see {@link https://pdos.csail.mit.edu/~petar/papers/maymounkov-kademlia-lncs.pdf | Kademlia §2.3 (joining)}
   */
  join(bootstrap: Address[]): { id: number; out: DhtOutput[] } {
    const id = ++this.#ops;
    let waiting = bootstrap.length;
    const then = () => {
      if (--waiting > 0) return;
      this.#lookup(this.#id, false, () => {
        this.#done({ type: "join", id, contacts: this.#table.size });
      });
    };
    if (waiting === 0) {
      waiting = 1;
      then();
    }
    for (const to of bootstrap) this.#request(to, undefined, { type: "ping" }, then, then);
    return { id, out: this.#flush() };
  }

  /**
   * Finds the k nodes closest to a key.
   *
   * @param key The key or identifier.
   * @returns The operation id and what to do.
   */
  findNodes(key: Key): { id: number; out: DhtOutput[] } {
    const id = ++this.#ops;
    this.#lookup(
      toKey(key),
      false,
      (l) => this.#done({ type: "lookup", id, closest: l.closest() }),
    );
    return { id, out: this.#flush() };
  }

  /**
   * Stores a value under a key on the k closest nodes (ourselves included when we are one).
   *
   * @param key The key.
   * @param value The value (at most {@linkcode MAX_VALUE_SIZE} bytes).
   * @param options TTL, and removal secret or owner's signature.
   * @returns The operation id and what to do; the result counts the nodes that stored it.
   * @throws {RangeError} When the value is too long, the TTL is not a positive integer (or the
   * signed value has expired), or the signature does not match.
   * @throws {TypeError} When both a secret and a signature are given.
   */
  put(key: Key, value: Uint8Array | string, options: PutOptions = {}): {
    id: number;
    out: DhtOutput[];
  } {
    const k = toKey(key);
    const v = toBytes(value);
    const left = options.signature
      ? options.signature.expires - Math.floor(this.#clock() / 1000)
      : 3600;
    const ttl = options.ttl ?? left;
    if (v.length > MAX_VALUE_SIZE) {
      throw new RangeError(`Cannot put: value has ${v.length} bytes, at most ${MAX_VALUE_SIZE}`);
    }
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 0xffffffff) {
      throw new RangeError(`Cannot put: TTL ${ttl} is not a positive integer of seconds`);
    }
    if (options.secret !== undefined && options.secretHash !== undefined) {
      throw new TypeError("Cannot put: give a secret or its hash, not both");
    }
    if (options.secretHash !== undefined && options.secretHash.length !== ID_LENGTH) {
      throw new RangeError(`Cannot put: secret hash has ${options.secretHash.length} bytes`);
    }
    const secretHash = options.secret === undefined ? options.secretHash : hashKey(options.secret);
    if (options.secret !== undefined && toBytes(options.secret).length > MAX_SECRET_SIZE) {
      throw new RangeError(`Cannot put: secret longer than ${MAX_SECRET_SIZE} bytes`);
    }
    const signed = options.signature;
    if (signed) {
      if (secretHash) throw new TypeError("Cannot put: a signed value takes no secret");
      if (!verifyValue(k, v, signed)) {
        throw new RangeError("Cannot put: the signature is not the owner's for this key and value");
      }
    }
    const id = ++this.#ops;
    this.#replicate(
      k,
      v,
      ttl,
      secretHash,
      signed,
      (stored) => this.#done({ type: "put", id, stored }),
    );
    return { id, out: this.#flush() };
  }

  /**
   * Finds the values stored under a key. Signed values whose signature does not verify are
   * dropped; of a signed slot only the copy with the highest sequence number is kept.
   *
   * @param key The key.
   * @param options An owner whose signed values alone are wanted.
   * @returns The operation id and what to do; the result holds the live values found.
   */
  get(key: Key, options: GetOptions = {}): { id: number; out: DhtOutput[] } {
    const k = toKey(key);
    const id = ++this.#ops;
    const owner = options.owner;
    if (owner && owner.length !== OWNER_KEY_LENGTH) {
      throw new RangeError(`Cannot get: owner key has ${owner.length} bytes, expected 32`);
    }
    this.#lookup(k, { owner }, (l) => {
      const found = new Map<string, FoundValue>();
      for (const v of [...l.values, ...this.storedValues(k, owner)]) {
        const slot = slotOf(v);
        const old = found.get(slot);
        if (!old || newer(v, old)) found.set(slot, v);
      }
      this.#done({ type: "get", id, values: [...found.values()] });
    });
    return { id, out: this.#flush() };
  }

  /**
   * Removes a value from the k closest nodes, presenting the secret it was put with, or (signed
   * values) the owner's signature on the removal ({@linkcode signRemoval}).
   *
   * @param key The key.
   * @param value The value.
   * @param secret The secret given to {@linkcode DhtNode.put}, or the owner's removal signature.
   * @param ttl Seconds the nodes remember the removal (default 3600; at least the value's TTL).
   * @returns The operation id and what to do; the result counts the nodes that removed the value
   * and those that refused (wrong secret, bad signature, replayed sequence number).
   * @throws {RangeError} When the secret is too long or the signature does not match.
   */
  remove(
    key: Key,
    value: Uint8Array | string,
    secret: Uint8Array | string | RemovalSignature,
    ttl = 3600,
  ): { id: number; out: DhtOutput[] } {
    return this.removeHash(key, hashKey(toBytes(value)), secret, ttl);
  }

  /**
   * {@linkcode DhtNode.remove} for a value known by its SHA-1 (as OpenDHT's `rm` names it).
   *
   * @param key The key.
   * @param valueHash SHA-1 of the value.
   * @param secret The secret given to {@linkcode DhtNode.put}, or the owner's removal signature.
   * @param ttl Seconds the nodes remember the removal (default 3600).
   * @returns The operation id and what to do.
   * @throws {RangeError} When the hash is not 20 bytes, the secret is too long or the signature
   * does not match.
   */
  removeHash(
    key: Key,
    valueHash: Uint8Array,
    secret: Uint8Array | string | RemovalSignature,
    ttl = 3600,
  ): { id: number; out: DhtOutput[] } {
    const k = toKey(key);
    if (valueHash.length !== ID_LENGTH) {
      throw new RangeError(`Cannot remove: value hash has ${valueHash.length} bytes, expected 20`);
    }
    const signed = typeof secret === "string" || secret instanceof Uint8Array ? undefined : secret;
    const s = signed ? undefined : toBytes(secret as Uint8Array | string);
    if (s && s.length > MAX_SECRET_SIZE) {
      throw new RangeError(`Cannot remove: secret longer than ${MAX_SECRET_SIZE} bytes`);
    }
    if (signed && !verifyRemoval(k, valueHash, signed)) {
      throw new RangeError(
        "Cannot remove: the signature is not the owner's for this key and value",
      );
    }
    const id = ++this.#ops;
    let removed = 0, denied = 0;
    const count = (st: RemoveStatus) => {
      if (st === "removed") removed++;
      else if (st === "denied") denied++;
    };
    this.#lookup(k, false, (l) => {
      const targets = this.#closestWithSelf(k, l.closest());
      let waiting = targets.length;
      const finish = () => {
        if (--waiting === 0) this.#done({ type: "remove", id, removed, denied });
      };
      if (waiting === 0) this.#done({ type: "remove", id, removed, denied });
      for (const t of targets) {
        if (t === "self") {
          count(
            signed
              ? this.#removeSignedLocal(k, valueHash, signed, ttl, "self")
              : this.#removeLocal(k, valueHash, s!, ttl, "self"),
          );
          finish();
          continue;
        }
        const req: Request = signed
          ? { type: "remove", key: k, valueHash, signed, ttl }
          : { type: "remove", key: k, valueHash, secret: s!, ttl };
        this.#request(t, t.id, req, (m) => {
          if (m.type === "removed") count(m.status);
          finish();
        }, finish);
      }
    });
    return { id, out: this.#flush() };
  }

  // --- Internals ---

  #flush(): DhtOutput[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  #done(result: OperationResult): void {
    this.#out.push({ type: "done", result });
  }

  #send(to: Address, m: DhtMessage): void {
    this.#out.push({ type: "send", to: { host: to.host, port: to.port }, data: encodeMessage(m) });
  }

  #request(
    to: Address,
    id: NodeId | undefined,
    req: Request,
    onAnswer: (m: DhtMessage, from: Contact) => void,
    onTimeout: () => void,
  ): void {
    this.#tx = (this.#tx + 1) >>> 0;
    const tx = this.#tx;
    this.#pending.set(tx, {
      to,
      id,
      deadline: this.#clock() + this.#rpcTimeout,
      onAnswer,
      onTimeout,
    });
    this.#send(to, { ...req, tx, sender: this.#id } as DhtMessage);
  }

  #seen(contact: Contact): void {
    const r = this.#table.seen(contact);
    if (r.type !== "ping") return;
    const old = r.oldest;
    // Ping before evicting (Kademlia §2.2): an answer keeps the old contact.
    this.#request(old, old.id, { type: "ping" }, (_m, from) => this.#table.seen(from), () => {});
  }

  /** Looks up `target`; `values` asks for the values (of one owner, when given) too. */
  #lookup(
    target: NodeId,
    values: false | { owner: Uint8Array | undefined },
    onDone: (l: Lookup) => void,
  ): void {
    this.#table.touched(target);
    const l = new Lookup(target, this.#table.closest(target, this.#k), {
      k: this.#k,
      alpha: this.#alpha,
    }, this.#id);
    let finished = false;
    const verified = new Set<string>();
    const checked = (value: Uint8Array, signed: ValueSignature) => {
      const copy = [signed.owner, signed.signature, hashKey(value)].map(toHex).join("/") +
        `/${signed.id}/${signed.seq}/${signed.expires}`;
      if (verified.has(copy)) return true;
      if (!verifyValue(target, value, signed)) return false;
      verified.add(copy);
      return true;
    };
    const query = (contacts: Contact[]) => {
      for (const c of contacts) {
        const req: Request = !values
          ? { type: "find-node", target }
          : values.owner
          ? { type: "find-value", key: target, owner: values.owner }
          : { type: "find-value", key: target };
        this.#request(c, c.id, req, (m) => {
          if (m.type === "nodes") query(l.answer(c.id, m.nodes));
          else if (m.type === "values") {
            // Trust no node with signed values: check each (a copy already checked in this
            // lookup once), and the owner asked for.
            const owner = values ? values.owner : undefined;
            const valid = m.values.filter((v) =>
              (!owner || (v.signed && equals(v.signed.owner, owner))) &&
              (!v.signed || checked(v.value, v.signed))
            );
            query(l.answer(c.id, m.nodes, valid));
          } else query(l.failure(c.id));
        }, () => query(l.failure(c.id)));
      }
      if (!finished && l.done) {
        finished = true;
        onDone(l);
      }
    };
    query(l.next());
  }

  #closestWithSelf(key: NodeId, closest: Contact[]): (Contact | "self")[] {
    const all: (Contact | "self")[] = [...closest, "self"];
    const idOf = (c: Contact | "self") => (c === "self" ? this.#id : c.id);
    return all.sort((a, b) => compareDistance(idOf(a), idOf(b), key)).slice(0, this.#k);
  }

  #replicate(
    key: NodeId,
    value: Uint8Array,
    ttl: number,
    secretHash: Uint8Array | undefined,
    signed: ValueSignature | undefined,
    onDone: (stored: number) => void,
  ): void {
    this.#lookup(key, false, (l) => {
      const targets = this.#closestWithSelf(key, l.closest());
      let stored = 0, waiting = targets.length;
      const finish = () => {
        if (--waiting === 0) onDone(stored);
      };
      if (waiting === 0) onDone(0);
      for (const t of targets) {
        if (t === "self") {
          if (this.#storeLocal(key, value, ttl, secretHash, signed, "self") === "stored") stored++;
          finish();
          continue;
        }
        const req: Request = secretHash
          ? { type: "store", key, value, ttl, secretHash }
          : signed
          ? { type: "store", key, value, ttl, signed }
          : { type: "store", key, value, ttl };
        this.#request(t, t.id, req, (m) => {
          if (m.type === "stored" && m.status === "stored") stored++;
          finish();
        }, finish);
      }
    });
  }

  #addSlot(values: Map<string, Stored>, slot: string, s: Stored): void {
    values.set(slot, s);
    this.#count++;
    this.#perOrigin.set(s.origin, (this.#perOrigin.get(s.origin) ?? 0) + 1);
  }

  #deleteSlot(k: string, values: Map<string, Stored>, slot: string): void {
    const s = values.get(slot);
    if (!s) return;
    values.delete(slot);
    this.#count--;
    const n = (this.#perOrigin.get(s.origin) ?? 1) - 1;
    if (n > 0) this.#perOrigin.set(s.origin, n);
    else this.#perOrigin.delete(s.origin);
    if (values.size === 0) this.#store.delete(k);
  }

  /**
   * Whether a new slot may be made under a key (issue: one node once filled all 256 slots of a
   * key, and the owner's value was stored nowhere). Unsigned values may take only part of a key;
   * one origin only part of that, and of the node; one owner only a few value ids.
   */
  #roomFor(
    values: Map<string, Stored> | undefined,
    origin: string,
    signed?: ValueSignature,
  ): boolean {
    if (this.#count >= this.#maxValues) return false;
    if ((this.#perOrigin.get(origin) ?? 0) >= this.#maxPerOrigin) return false;
    if (!values) return true;
    if (values.size >= this.#maxValuesPerKey) return false;
    let unsigned = 0, fromOrigin = 0, fromOwner = 0;
    for (const s of values.values()) {
      if (!s.signed) unsigned++;
      if (s.origin === origin) fromOrigin++;
      if (signed && s.signed && equals(s.signed.owner, signed.owner)) fromOwner++;
    }
    if (fromOrigin >= this.#maxPerOriginPerKey) return false;
    return signed ? fromOwner < this.#maxPerOwnerPerKey : unsigned < this.#maxUnsignedPerKey;
  }

  #storeLocal(
    key: NodeId,
    value: Uint8Array,
    ttl: number,
    secretHash: Uint8Array | undefined,
    signed: ValueSignature | undefined,
    origin: string,
  ): StoreStatus {
    const now = this.#clock();
    if (ttl < 1) return "refused";
    if (signed) return this.#storeSignedLocal(key, value, ttl, signed, origin, now);
    const k = toHex(key), vh = toHex(hashKey(value));
    const tomb = this.#tombstones.get(`${k}/${vh}`);
    // A removed value stays removed while its tombstone lives, unless stored with another secret.
    if (
      tomb && tomb.expires > now && secretHash && tomb.secretHash &&
      equals(secretHash, tomb.secretHash)
    ) return "refused";
    const expires = now + Math.min(ttl, this.#maxTtl) * 1000;
    const values = this.#store.get(k);
    const old = values?.get(vh);
    if (old) {
      old.expires = Math.max(old.expires, expires);
      old.republishAt = now + this.#republishInterval;
      return "stored";
    }
    if (!this.#roomFor(values, origin)) return "refused";
    this.#addSlot(values ?? this.#newKey(k), vh, {
      value,
      expires,
      secretHash,
      signed: undefined,
      origin,
      republishAt: now + this.#republishInterval,
    });
    return "stored";
  }

  #newKey(k: string): Map<string, Stored> {
    const values = new Map<string, Stored>();
    this.#store.set(k, values);
    return values;
  }

  #storeSignedLocal(
    key: NodeId,
    value: Uint8Array,
    ttl: number,
    signed: ValueSignature,
    origin: string,
    now: number,
  ): StoreStatus {
    // Verify before storing: whoever sent it, only the owner's signature makes the slot.
    if (!verifyValue(key, value, signed)) return "refused";
    const expires = Math.min(now + Math.min(ttl, this.#maxTtl) * 1000, signed.expires * 1000);
    if (expires <= now) return "refused";
    const k = toHex(key), slot = slotOf({ value, signed });
    const tomb = this.#tombstones.get(`${k}/${slot}`);
    // A removal with sequence number n ends every put numbered n or less (replays included).
    if (tomb && tomb.expires > now && tomb.seq !== undefined && signed.seq <= tomb.seq) {
      return "refused";
    }
    const values = this.#store.get(k);
    const old = values?.get(slot);
    if (old) {
      if (signed.seq < old.signed!.seq) return "refused"; // a replayed older put
      if (signed.seq === old.signed!.seq) {
        // The same put again (republished): refresh. Another value with the same seq: refused.
        if (!equals(value, old.value)) return "refused";
        old.expires = Math.max(old.expires, expires);
        old.republishAt = now + this.#republishInterval;
        return "stored";
      }
      old.value = value;
      old.signed = signed;
      old.expires = expires;
      old.republishAt = now + this.#republishInterval;
      return "stored";
    }
    if (!this.#roomFor(values, origin, signed)) return "refused";
    this.#addSlot(values ?? this.#newKey(k), slot, {
      value,
      expires,
      secretHash: undefined,
      signed,
      origin,
      republishAt: now + this.#republishInterval,
    });
    return "stored";
  }

  /**
   * Records a removal. Tombstones are bounded like values: per origin, and in all; when the table
   * is full a signed removal (which is what stops a replayed put) takes the place of the oldest
   * unsigned one, so that a flood of cheap unsigned removals cannot make replays possible.
   */
  #remember(key: string, tomb: Tombstone): void {
    if (this.#tombstones.has(key)) this.#forgetTombstone(key);
    else if ((this.#tombstonesPerOrigin.get(tomb.origin) ?? 0) >= this.#maxPerOrigin) return;
    if (this.#tombstones.size >= this.#maxValues) {
      if (tomb.seq === undefined) return;
      const unsigned = [...this.#tombstones].find(([, t]) => t.seq === undefined);
      if (!unsigned) return;
      this.#forgetTombstone(unsigned[0]);
    }
    this.#tombstones.set(key, tomb);
    this.#tombstonesPerOrigin.set(
      tomb.origin,
      (this.#tombstonesPerOrigin.get(tomb.origin) ?? 0) + 1,
    );
  }

  #forgetTombstone(key: string): void {
    const t = this.#tombstones.get(key);
    if (!t) return;
    this.#tombstones.delete(key);
    const n = (this.#tombstonesPerOrigin.get(t.origin) ?? 1) - 1;
    if (n > 0) this.#tombstonesPerOrigin.set(t.origin, n);
    else this.#tombstonesPerOrigin.delete(t.origin);
  }

  /** Number of removals remembered here (tombstones). */
  get tombstoneCount(): number {
    return this.#tombstones.size;
  }

  #removeLocal(
    key: NodeId,
    valueHash: Uint8Array,
    secret: Uint8Array,
    ttl: number,
    origin: string,
  ): RemoveStatus {
    const now = this.#clock();
    const k = toHex(key), vh = toHex(valueHash);
    const values = this.#store.get(k);
    const s = values?.get(vh);
    const secretHash = hashKey(secret);
    if (s && s.expires > now) {
      if (!s.secretHash || !equals(s.secretHash, secretHash)) return "denied";
      this.#deleteSlot(k, values!, vh);
    }
    const expires = Math.max(now + Math.min(ttl, this.#maxTtl) * 1000, s?.expires ?? 0);
    this.#remember(`${k}/${vh}`, { secretHash, expires, origin });
    return s && s.expires > now ? "removed" : "not-found";
  }

  #removeSignedLocal(
    key: NodeId,
    valueHash: Uint8Array,
    signed: RemovalSignature,
    ttl: number,
    origin: string,
  ): RemoveStatus {
    const now = this.#clock();
    if (!verifyRemoval(key, valueHash, signed)) return "denied";
    const k = toHex(key), slot = `s:${toHex(signed.owner)}:${signed.id}`;
    const tomb = this.#tombstones.get(`${k}/${slot}`);
    // A captured removal, sent again, carries a sequence number already seen: refused.
    if (tomb && tomb.expires > now && tomb.seq !== undefined && signed.seq <= tomb.seq) {
      return "denied";
    }
    const values = this.#store.get(k);
    const s = values?.get(slot);
    const live = s !== undefined && s.expires > now;
    // A removal older than the value (the owner has put again since): refused.
    if (live && signed.seq <= s.signed!.seq) return "denied";
    const matches = live && equals(hashKey(s.value), valueHash);
    if (matches) this.#deleteSlot(k, values!, slot);
    const expires = Math.max(now + Math.min(ttl, this.#maxTtl) * 1000, s?.expires ?? 0);
    this.#remember(`${k}/${slot}`, { seq: signed.seq, expires, origin });
    return matches ? "removed" : "not-found";
  }

  #maintain(now: number): void {
    for (const [k, values] of this.#store) {
      for (const [slot, s] of values) {
        if (s.expires <= now) {
          this.#deleteSlot(k, values, slot);
        } else if (s.republishAt <= now) {
          // Republish (Kademlia §2.5): keep the k closest nodes holding the value.
          s.republishAt = now + this.#republishInterval;
          const ttl = Math.ceil((s.expires - now) / 1000);
          this.#replicate(fromHex(k), s.value, ttl, s.secretHash, s.signed, () => {});
        }
      }
    }
    for (const [key, t] of this.#tombstones) if (t.expires <= now) this.#forgetTombstone(key);
    if (this.#table.size > 0) {
      for (const target of this.#table.staleTargets(this.#refreshInterval)) {
        this.#lookup(target, false, () => {});
      }
    }
  }

  #handle(m: DhtMessage, from: Contact): void {
    if (equals(m.sender, this.#id)) return;
    switch (m.type) {
      case "pong":
      case "nodes":
      case "values":
      case "stored":
      case "removed": {
        const p = this.#pending.get(m.tx);
        // Answers must come from the address asked (and node, when known).
        if (!p || addrKey(p.to) !== addrKey(from) || (p.id && !equals(p.id, m.sender))) {
          log.debug("Dropping unexpected {type} from {from}", {
            type: m.type,
            from: addrKey(from),
          });
          return;
        }
        this.#pending.delete(m.tx);
        this.#seen(from);
        p.onAnswer(m, from);
        return;
      }
    }
    this.#seen(from);
    const reply = { tx: m.tx, sender: this.#id };
    switch (m.type) {
      case "ping":
        this.#send(from, { ...reply, type: "pong" });
        break;
      case "find-node":
        this.#send(from, { ...reply, type: "nodes", nodes: this.#closestTo(m.target, from) });
        break;
      case "find-value": {
        const nodes = this.#closestTo(m.key, from);
        // Fill the datagram with as many values as fit beside the contacts; signed values
        // first, so that a key crowded with unsigned ones still shows its owners' values.
        let room = MAX_MESSAGE_SIZE - HEADER - 2 - nodes.length * (ID_LENGTH + 19);
        const values: WireValue[] = [];
        const stored = this.storedValues(m.key, m.owner)
          .sort((a, b) => Number(!!b.signed) - Number(!!a.signed));
        for (const v of stored) {
          const size = 7 + (v.signed ? 112 : 0) + (v.secretHash ? 20 : 0) + v.value.length;
          if (values.length === 255 || (room -= size) < 0) break;
          values.push(v);
        }
        this.#send(from, { ...reply, type: "values", values, nodes });
        break;
      }
      case "store":
        this.#send(from, {
          ...reply,
          type: "stored",
          status: this.#storeLocal(m.key, m.value, m.ttl, m.secretHash, m.signed, addrKey(from)),
        });
        break;
      case "remove":
        this.#send(from, {
          ...reply,
          type: "removed",
          status: m.signed
            ? this.#removeSignedLocal(m.key, m.valueHash, m.signed, m.ttl, addrKey(from))
            : this.#removeLocal(
              m.key,
              m.valueHash,
              m.secret ?? new Uint8Array(),
              m.ttl,
              addrKey(from),
            ),
        });
        break;
    }
  }

  #closestTo(target: NodeId, exclude: Contact): Contact[] {
    return this.#table.closest(target, this.#k + 1)
      .filter((c) => !equals(c.id, exclude.id))
      .slice(0, this.#k);
  }
}

// === UDP adapter ===

/** Options of {@linkcode UdpDht.put}. */
export interface UdpPutOptions extends Omit<PutOptions, "signature"> {
  /** The owner's Ed25519 key pair: the value is signed with it (not with `secret`). */
  owner?: CryptoKeyPair;
  /** The value id in the owner's slots (default 0). */
  id?: number;
  /** The sequence number (default {@linkcode freshSeq}). */
  seq?: number;
}

/** Options of {@linkcode UdpDht.getValues}. */
export interface UdpGetOptions {
  /** Only this owner's signed values: the public key, or its 32 raw bytes. */
  owner?: CryptoKey | Uint8Array;
}

/** Options of {@linkcode UdpDht.open}. */
export interface UdpDhtOptions extends DhtNodeOptions {
  /** Address to bind (default `127.0.0.1`; `0.0.0.0` or `::` for all). */
  host?: string;
  /** UDP port (default 0: any free port). */
  port?: number;
}

/**
 * A DHT node on a UDP socket (`node:dgram`): a {@linkcode DhtNode} whose outputs are sent, whose
 * timers run, and whose operations are promises.
 *
 * @example
 * ```ts
 * import { UdpDht } from "@rtclite/app/net/p2p/dht";
 * import { deepEqual, equal } from "node:assert/strict";
 * await using a = await UdpDht.open();
 * await using b = await UdpDht.open();
 * equal(await b.join([a.address]), 1);
 * await a.put("k", "v1", { secret: "pw" });
 * equal(await b.remove("k", "v1", "wrong"), false);
 * equal(await b.remove("k", "v1", "pw"), true);
 * deepEqual(await a.get("k"), []);
 * ```
 */
export class UdpDht implements AsyncDisposable {
  #node: DhtNode;
  #socket: Socket;
  #address: Address;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #clock: () => number;
  #waiting = new Map<
    number,
    { resolve: (r: OperationResult) => void; reject: (e: Error) => void }
  >();
  #closed = false;

  private constructor(node: DhtNode, socket: Socket, address: Address, clock: () => number) {
    this.#node = node;
    this.#socket = socket;
    this.#address = address;
    this.#clock = clock;
  }

  /**
   * Binds a socket and creates the node.
   *
   * @param options Address, port and node options.
   * @returns The running node.
   */
  static async open(options: UdpDhtOptions = {}): Promise<UdpDht> {
    const host = options.host ?? "127.0.0.1";
    const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(options.port ?? 0, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    const bound = socket.address();
    const clock = options.clock ?? Date.now;
    const dht = new UdpDht(new DhtNode({ ...options, clock }), socket, {
      host: bound.address,
      port: bound.port,
    }, clock);
    socket.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
      const data = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      dht.#apply(dht.#node.receive(data, { host: rinfo.address, port: rinfo.port }));
    });
    socket.on("error", (e: Error) => log.warn("Socket error: {e}", { e: String(e) }));
    dht.#schedule();
    return dht;
  }

  /** The bound address. */
  get address(): Address {
    return this.#address;
  }

  /** The sans-I/O core (routing table, store). */
  get node(): DhtNode {
    return this.#node;
  }

  #apply(out: DhtOutput[]): void {
    if (this.#closed) return;
    for (const o of out) {
      if (o.type === "send") {
        this.#socket.send(o.data, o.to.port, o.to.host, (e: Error | null) => {
          if (e) log.debug("Send failed: {e}", { e: String(e) });
        });
      } else {
        const waiter = this.#waiting.get(o.result.id);
        this.#waiting.delete(o.result.id);
        waiter?.resolve(o.result);
      }
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    const delay = Math.max(0, this.#node.nextDeadline() - this.#clock());
    this.#timer = setTimeout(() => this.#apply(this.#node.tick()), Math.min(delay, 60_000));
  }

  #run(start: { id: number; out: DhtOutput[] }): Promise<OperationResult> {
    if (this.#closed) return Promise.reject(new DhtError("Cannot run operation: node is closed"));
    const p = new Promise<OperationResult>((resolve, reject) =>
      this.#waiting.set(start.id, { resolve, reject })
    );
    this.#apply(start.out);
    return p;
  }

  /**
   * Joins the network.
   *
   * @param bootstrap Addresses of nodes in it.
   * @returns The number of contacts in the routing table afterwards.
   */
  async join(bootstrap: Address[]): Promise<number> {
    const r = await this.#run(this.#node.join(bootstrap));
    return r.type === "join" ? r.contacts : 0;
  }

  /**
   * Stores a value on the k nodes closest to the key; with an `owner`, signed in the owner's
   * slot (value `id`, default 0), which only that owner can replace or remove.
   *
   * @param key The key.
   * @param value The value.
   * @param options TTL, and removal secret or owner key pair.
   * @returns The number of nodes that stored it.
   */
  async put(key: Key, value: Uint8Array | string, options: UdpPutOptions = {}): Promise<number> {
    const { owner, id, seq, ...rest } = options;
    let opts: PutOptions = rest;
    if (owner) {
      const signOptions: SignValueOptions = { now: this.#clock() };
      if (rest.ttl !== undefined) signOptions.ttl = rest.ttl;
      if (id !== undefined) signOptions.id = id;
      if (seq !== undefined) signOptions.seq = seq;
      opts = { ...rest, signature: await signValue(owner, key, value, signOptions) };
    }
    const r = await this.#run(this.#node.put(key, value, opts));
    return r.type === "put" ? r.stored : 0;
  }

  /**
   * Finds the values under a key.
   *
   * @param key The key.
   * @param options An owner whose signed values alone are wanted.
   * @returns The values with their remaining TTL (and signature, for signed values).
   */
  async getValues(key: Key, options: UdpGetOptions = {}): Promise<FoundValue[]> {
    const owner = options.owner instanceof CryptoKey
      ? await exportPublicKey(options.owner, "raw")
      : options.owner;
    const r = await this.#run(this.#node.get(key, owner ? { owner } : {}));
    return r.type === "get" ? r.values : [];
  }

  /**
   * Finds the values under a key.
   *
   * @param key The key.
   * @param options An owner whose signed values alone are wanted.
   * @returns The values.
   */
  async get(key: Key, options?: UdpGetOptions): Promise<Uint8Array[]> {
    return (await this.getValues(key, options)).map((v) => v.value);
  }

  /**
   * Finds the values under a key, as UTF-8 text (sorted).
   *
   * @param key The key.
   * @param options An owner whose signed values alone are wanted.
   * @returns The values.
   */
  async getText(key: Key, options?: UdpGetOptions): Promise<string[]> {
    return (await this.get(key, options)).map((v) => new TextDecoder().decode(v)).sort();
  }

  /**
   * Removes a value, presenting its secret, or (signed values) signing the removal with the
   * owner's key pair and a fresh sequence number.
   *
   * @param key The key.
   * @param value The value.
   * @param secret The secret it was put with, the owner's key pair, or a removal the owner
   * signed ({@linkcode signRemoval}).
   * @param ttl Seconds the removal is remembered (default 3600).
   * @param options With a key pair: the value id of a signed value, and the removal's sequence
   * number.
   * @returns Whether any node removed it (`false` also when every node refused).
   */
  async remove(
    key: Key,
    value: Uint8Array | string,
    secret: Uint8Array | string | CryptoKeyPair | RemovalSignature,
    ttl?: number,
    options: SignRemovalOptions = {},
  ): Promise<boolean> {
    const proof = typeof secret === "string" || secret instanceof Uint8Array || "owner" in secret
      ? secret
      : await signRemoval(secret, key, value, options);
    const r = await this.#run(this.#node.remove(key, value, proof, ttl));
    return r.type === "remove" && r.removed > 0;
  }

  /**
   * Removes a value known by its SHA-1, presenting its secret (OpenDHT's `rm`).
   *
   * @param key The key.
   * @param valueHash SHA-1 of the value.
   * @param secret The secret it was put with, or a removal the owner signed.
   * @param ttl Seconds the removal is remembered (default 3600).
   * @returns How many of the closest nodes removed it, and how many refused.
   */
  async removeHash(
    key: Key,
    valueHash: Uint8Array,
    secret: Uint8Array | string | RemovalSignature,
    ttl?: number,
  ): Promise<{ removed: number; denied: number }> {
    const r = await this.#run(this.#node.removeHash(key, valueHash, secret, ttl));
    return r.type === "remove"
      ? { removed: r.removed, denied: r.denied }
      : { removed: 0, denied: 0 };
  }

  /** Closes the socket; pending operations reject with a {@linkcode DhtError}. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const { reject } of this.#waiting.values()) {
      reject(new DhtError("Cannot finish operation: node closed"));
    }
    this.#waiting.clear();
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  /** Same as {@linkcode UdpDht.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

// === Command line ===

const command = {
  name: "app/net/p2p/dht.ts",
  usage: "[--host H] [--port P] [--bootstrap HOST:PORT]... [--ttl S] [--secret S | --owner PEM]\n" +
    "  [--timeout MS] put KEY VALUE | get KEY | remove KEY VALUE | serve",
  description: [
    "Commands:",
    "  put KEY VALUE        store VALUE under KEY on the closest nodes",
    "  get KEY              print the values under KEY, one a line",
    "  remove KEY VALUE     remove VALUE (needs --secret as given to put, or --owner)",
    "With --owner (an Ed25519 private key in PKCS#8 PEM, as `openssl genpkey -algorithm",
    "ed25519` writes), put stores a value signed by that owner, which only the owner can",
    "replace or remove; get prints only that owner's values.",
    "  serve                run a node until interrupted",
    "A one-shot command runs a node of its own for the duration of the command.",
  ].join("\n"),
  operands: [1, 3],
  options: {
    host: { value: "H", help: "address to bind (default 127.0.0.1)" },
    port: { value: "P", help: "UDP port to bind (default 0: any)" },
    bootstrap: { value: "HOST:PORT", multiple: true, help: "a node to join through" },
    ttl: { value: "SECONDS", help: "time to live of a put, or of a removal (default 3600)" },
    secret: { value: "S", help: "removal secret of a put; needed by remove" },
    owner: { value: "PEM", help: "sign puts and removals with this Ed25519 key file" },
    timeout: { value: "MS", help: "RPC timeout in milliseconds (default 2000)" },
  },
} as const;

function integerOption(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`Invalid --${name}: ${text}`);
  return n;
}

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, async ({ values, operands }) => {
      let bootstrap: Address[];
      try {
        bootstrap = values.bootstrap.map(parseAddress);
      } catch (e) {
        throw new UsageError(e instanceof Error ? e.message : String(e));
      }
      const host = values.host ?? "127.0.0.1";
      const port = integerOption(values.port, "port", 0);
      const ttl = integerOption(values.ttl, "ttl", 3600);
      const rpcTimeout = integerOption(values.timeout, "timeout", 2000);
      const secret = values.secret;
      const [cmd, key, value] = operands;
      const arity: Record<string, number> = { put: 3, get: 2, remove: 3, serve: 1 };
      if (!cmd || arity[cmd] !== operands.length) {
        throw new UsageError(`Expected put KEY VALUE, get KEY, remove KEY VALUE or serve`);
      }
      if (port > 65535 || rpcTimeout === 0) throw new UsageError("Invalid --port or --timeout");
      if (secret !== undefined && values.owner !== undefined) {
        throw new UsageError("Give --secret or --owner, not both");
      }
      if (cmd === "remove" && secret === undefined && values.owner === undefined) {
        throw new UsageError("remove needs --secret or --owner");
      }
      let owner: CryptoKeyPair | undefined;
      if (values.owner !== undefined) {
        try {
          owner = await keyPairOf(
            await importPrivateKey(await Deno.readTextFile(values.owner), "Ed25519"),
          );
        } catch (e) {
          console.error(
            `Cannot read --owner ${values.owner}: ${e instanceof Error ? e.message : e}`,
          );
          return 1;
        }
      }
      let opened: UdpDht;
      try {
        opened = await UdpDht.open({ host, port, rpcTimeout });
      } catch (e) {
        console.error(`Cannot bind ${host}:${port}: ${e instanceof Error ? e.message : e}`);
        return 1;
      }
      await using dht = opened;
      if (bootstrap.length) await dht.join(bootstrap);
      switch (cmd) {
        case "put": {
          const opts: UdpPutOptions = owner
            ? { ttl, owner }
            : secret === undefined
            ? { ttl }
            : { ttl, secret };
          console.log(`stored on ${await dht.put(key!, value!, opts)} nodes`);
          break;
        }
        case "get":
          for (const v of await dht.getText(key!, owner ? { owner: owner.publicKey } : {})) {
            console.log(v);
          }
          break;
        case "remove":
          if (!await dht.remove(key!, value!, owner ?? secret!, ttl)) {
            console.error("not removed (not found, or wrong secret)");
            return 1;
          }
          break;
        case "serve": {
          console.log(`node ${toHex(dht.node.id)} on ${addrKey(dht.address)}`);
          await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", resolve));
          break;
        }
      }
      return 0;
    }),
  );
}
