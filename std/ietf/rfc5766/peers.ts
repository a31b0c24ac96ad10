// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * Which peers a TURN server relays to (RFC 8656 §10.2 ¶4, §11.2 ¶5, §21.2.2): the classes of IP
 * addresses ({@linkcode peerAddressClass}) and {@linkcode PeerPolicy}, which refuses loopback,
 * unspecified, broadcast, multicast, reserved and (by default) private and link-local peers, with
 * explicit exceptions. Without it a TURN server is a way into the host and its network: a Send
 * indication to 127.0.0.1:5060 reaches the host's SIP server from the relay's address.
 * Re-exported by `@rtclite/std/ietf/rfc5766`.
 *
 * @example Refuse loopback unless the server allows it
 * ```ts
 * import { PeerPolicy } from "@rtclite/std/ietf/rfc5766";
 * import { equal } from "node:assert/strict";
 *
 * equal(new PeerPolicy().allows("127.0.0.1"), false);
 * equal(new PeerPolicy({ allowLoopbackPeers: true }).allows("127.0.0.1"), true);
 * equal(new PeerPolicy().allows("203.0.113.7"), true);
 * ```
 *
 * @module
 */

// === Address classes (RFC 8656 §21.2.2) ===

/**
 * The class of an IP address, as far as relaying to it is concerned.
 *
 * - `unspecified`: 0.0.0.0/8, `::` (a datagram to 0.0.0.0 reaches the host itself);
 * - `loopback`: 127.0.0.0/8, `::1`;
 * - `broadcast`: 255.255.255.255;
 * - `multicast`: 224.0.0.0/4, ff00::/8;
 * - `private`: 10/8, 172.16/12, 192.168/16, 100.64/10 (shared, RFC 6598), fc00::/7 (ULA);
 * - `link-local`: 169.254/16, fe80::/10;
 * - `reserved`: 240.0.0.0/4 (other than broadcast);
 * - `public`: everything else.
 *
 * IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible and NAT64 (`64:ff9b::a.b.c.d`) IPv6 addresses
 * have the class of the IPv4 address they carry.
 */
export type PeerAddressClass =
  | "unspecified"
  | "loopback"
  | "broadcast"
  | "multicast"
  | "private"
  | "link-local"
  | "reserved"
  | "public";

/**
 * Parses an IPv4 or IPv6 address in text form to its bytes.
 *
 * @param text Dotted quad, or IPv6 text (RFC 4291 §2.2, with `::` and an embedded IPv4 tail; a
 *   zone `%eth0` is ignored).
 * @returns 4 or 16 bytes, or `undefined` when the text is not an IP address.
 * @example
 * ```ts
 * import { parseIp } from "@rtclite/std/ietf/rfc5766";
 * import { deepEqual, equal } from "node:assert/strict";
 * deepEqual([...parseIp("192.0.2.1")!], [192, 0, 2, 1]);
 * equal(parseIp("::ffff:127.0.0.1")![15], 1);
 * equal(parseIp("256.0.0.1"), undefined);
 * ```
 */
export function parseIp(text: string): Uint8Array | undefined {
  if (!text.includes(":")) return parseIpv4(text);
  const addr = text.replace(/%.*$/, "");
  const halves = addr.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => (out[2 * i] = g >> 8, out[2 * i + 1] = g & 0xff));
  return out;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? Uint8Array.from(bytes) : undefined;
}

/** Does `ip` lie in `net`/`bits` (both of the same length)? */
function inPrefix(ip: Uint8Array, net: Uint8Array, bits: number): boolean {
  if (ip.length !== net.length) return false;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
}

/** The IPv4 address an IPv6 one carries (mapped, compatible, NAT64), if any. */
function embeddedIpv4(ip: Uint8Array): Uint8Array | undefined {
  const tail = ip.subarray(12);
  const zeros = (from: number, to: number) => ip.subarray(from, to).every((b) => b === 0);
  if (zeros(0, 10) && ip[10] === 0xff && ip[11] === 0xff) return tail; // ::ffff:0:0/96
  if (zeros(0, 12) && !zeros(12, 16) && !(zeros(12, 15) && ip[15] === 1)) return tail; // ::/96
  if (ip[0] === 0 && ip[1] === 0x64 && ip[2] === 0xff && ip[3] === 0x9b && zeros(4, 12)) {
    return tail; // 64:ff9b::/96 (RFC 6052)
  }
  return undefined;
}

const V4_CLASSES: [string, number, PeerAddressClass][] = [
  ["0.0.0.0", 8, "unspecified"],
  ["127.0.0.0", 8, "loopback"],
  ["255.255.255.255", 32, "broadcast"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
  ["10.0.0.0", 8, "private"],
  ["172.16.0.0", 12, "private"],
  ["192.168.0.0", 16, "private"],
  ["100.64.0.0", 10, "private"],
  ["169.254.0.0", 16, "link-local"],
];
const V6_CLASSES: [string, number, PeerAddressClass][] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["ff00::", 8, "multicast"],
  ["fc00::", 7, "private"],
  ["fe80::", 10, "link-local"],
];
const compile = (list: [string, number, PeerAddressClass][]) =>
  list.map(([net, bits, cls]) => [parseIp(net)!, bits, cls] as const);
const V4 = compile(V4_CLASSES);
const V6 = compile(V6_CLASSES);

/**
 * Classifies an IP address (see {@linkcode PeerAddressClass}).
 *
 * @param address IPv4 or IPv6 text.
 * @returns The class; `undefined` when the text is not an IP address.
 * @example
 * ```ts
 * import { peerAddressClass } from "@rtclite/std/ietf/rfc5766";
 * import { equal } from "node:assert/strict";
 * equal(peerAddressClass("127.0.0.1"), "loopback");
 * equal(peerAddressClass("::ffff:10.1.2.3"), "private");
 * equal(peerAddressClass("255.255.255.255"), "broadcast");
 * equal(peerAddressClass("2001:db8::1"), "public");
 * ```
 */
export function peerAddressClass(address: string): PeerAddressClass | undefined {
  let ip = parseIp(address);
  if (!ip) return undefined;
  if (ip.length === 16) ip = embeddedIpv4(ip) ?? ip;
  for (const [net, bits, cls] of ip.length === 4 ? V4 : V6) {
    if (inPrefix(ip, net, bits)) return cls;
  }
  return "public";
}

// === Policy (RFC 8656 §10.2 ¶4, §11.2 ¶5) ===

/** Options of {@linkcode PeerPolicy}. */
export interface PeerPolicyOptions {
  /** Relay to loopback peers (127.0.0.0/8, ::1), as coturn's `--allow-loopback-peers` (false). */
  allowLoopbackPeers?: boolean;
  /** Relay to private and link-local peers (10/8, 172.16/12, 192.168/16, fc00::/7 ...) (false). */
  allowPrivatePeers?: boolean;
  /**
   * Addresses or prefixes (`192.0.2.0/24`, `2001:db8::/32`, `10.0.0.7`) allowed whatever their
   * class, except unspecified addresses, which are never relayed to.
   */
  allowedPeers?: readonly string[];
  /** Addresses or prefixes refused even when public (checked before `allowedPeers`). */
  deniedPeers?: readonly string[];
}

/** A prefix from text: `a.b.c.d[/n]` or `ipv6[/n]`. */
function parsePrefix(text: string): [Uint8Array, number] {
  const [addr, len] = text.split("/");
  const ip = parseIp(addr ?? "");
  const bits = len === undefined ? (ip?.length ?? 0) * 8 : Number(len);
  if (!ip || !Number.isInteger(bits) || bits < 0 || bits > ip.length * 8) {
    throw new TypeError(`Invalid address prefix: "${text}"`);
  }
  return [ip, bits];
}

/**
 * Decides which peer addresses a TURN server relays to: CreatePermission and ChannelBind for a
 * refused peer get 403 (Forbidden), Send indications to it are dropped (RFC 8656 §10.2 ¶4,
 * §11.2 ¶5). Only public addresses are allowed by default; loopback and private ones can be
 * allowed by option or by prefix; unspecified addresses never are.
 *
 * @example
 * ```ts
 * import { PeerPolicy } from "@rtclite/std/ietf/rfc5766";
 * import { equal } from "node:assert/strict";
 * const policy = new PeerPolicy({ allowedPeers: ["10.0.0.0/24"], deniedPeers: ["198.51.100.0/24"] });
 * equal(policy.allows("10.0.0.9"), true);
 * equal(policy.allows("10.0.1.9"), false);
 * equal(policy.allows("198.51.100.4"), false);
 * equal(policy.allows("0.0.0.0"), false);
 * ```
 */
export class PeerPolicy {
  #opts: PeerPolicyOptions;
  #allowed: [Uint8Array, number][];
  #denied: [Uint8Array, number][];

  /**
   * Creates a policy.
   *
   * @param options Exceptions to the default (only public peers).
   * @throws {TypeError} for a prefix that is not an address.
   */
  constructor(options: PeerPolicyOptions = {}) {
    this.#opts = options;
    this.#allowed = (options.allowedPeers ?? []).map(parsePrefix);
    this.#denied = (options.deniedPeers ?? []).map(parsePrefix);
  }

  /**
   * Tells whether a peer may be relayed to.
   *
   * @param address The peer's IP address (the port does not matter).
   * @returns `true` when allowed.
   */
  allows(address: string): boolean {
    const cls = peerAddressClass(address);
    if (cls === undefined || cls === "unspecified") return false;
    const ip = parseIp(address)!;
    const v4 = ip.length === 16 ? embeddedIpv4(ip) : undefined;
    const matches = (list: [Uint8Array, number][]) =>
      list.some(([net, bits]) => inPrefix(ip, net, bits) || (v4 && inPrefix(v4, net, bits)));
    if (matches(this.#denied)) return false;
    if (matches(this.#allowed)) return true;
    switch (cls) {
      case "public":
        return true;
      case "loopback":
        return this.#opts.allowLoopbackPeers ?? false;
      case "private":
      case "link-local":
        return this.#opts.allowPrivatePeers ?? false;
      default:
        return false;
    }
  }
}
