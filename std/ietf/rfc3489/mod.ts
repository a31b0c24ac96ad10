// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * Classic STUN (RFC 3489): the CHANGE-REQUEST family of attributes, a sans-I/O server that answers
 * change requests from two addresses and two ports, and the NAT type discovery procedure (§10.1)
 * as a sans-I/O state machine.
 *
 * RFC 3489 was obsoleted by RFC 5389 because NAT classification is unreliable in general, but the
 * procedure is still a useful diagnostic. Messages share the codec of
 * {@link https://jsr.io/@rtclite/std/doc/ietf/rfc5389 | rfc5389}; an RFC 3489 message has a
 * 16-byte transaction ID and no magic cookie (`decodeStun(buf, { classic: true })`). The
 * discovery client sends RFC 5389-style requests (with the cookie), which classic servers treat as
 * part of the transaction ID, and reads MAPPED-ADDRESS or XOR-MAPPED-ADDRESS and CHANGED-ADDRESS
 * or RFC 5780's OTHER-ADDRESS.
 *
 * The UDP adapters are in `@rtclite/std/ietf/rfc3489/udp` (`serveClassicStunUdp`, `discoverNat`),
 * the command line in `@rtclite/std/ietf/rfc3489/main`.
 *
 * Specification: {@link https://www.rfc-editor.org/rfc/rfc3489 | RFC 3489}.
 *
 * Command line: `deno run -A std/ietf/rfc3489/main.ts --discover stun:host:port` prints the NAT
 * type; `--serve A1,A2 [--ports 3478,3479]` runs a server on two addresses and two ports.
 *
 * @example Run the decision procedure on the answers of an unfiltered NAT
 * ```ts
 * import { NatDiscovery } from "@rtclite/std/ietf/rfc3489";
 * import { equal } from "node:assert/strict";
 *
 * const server = { family: 4 as const, address: "192.0.2.1", port: 3478 };
 * const d = new NatDiscovery(server, { family: 4, address: "10.0.0.2", port: 5000 });
 * equal(d.next()?.name, "I");
 * d.report({
 *   mapped: { family: 4, address: "203.0.113.1", port: 40000 },
 *   changed: { family: 4, address: "192.0.2.2", port: 3479 },
 * });
 * equal(d.next()?.name, "II"); // change IP and port: only a full cone lets the answer in
 * d.report({ mapped: { family: 4, address: "203.0.113.1", port: 40000 }, changed: undefined });
 * equal(d.type, "full-cone");
 * ```
 *
 * @module
 */
// @implements RFC3489 (classic STUN)
import { getLogger } from "../../log.ts";
import {
  addressAttribute,
  createMessage,
  decodeStun,
  encodeStun,
  errorCodeAttribute,
  getAddress,
  getAttribute,
  StunAttr,
  type StunAttribute,
  StunClass,
  type StunMessage,
  StunMethod,
  StunParseError,
  type TransportAddress,
  unknownAttributesAttribute,
} from "../rfc5389/mod.ts";
export type { StunAttribute, StunMessage, TransportAddress } from "../rfc5389/mod.ts";
export { ParseError, StunClass, StunParseError } from "../rfc5389/mod.ts";

const log = getLogger("stun", "classic");

/** RFC 5780's OTHER-ADDRESS, the successor of CHANGED-ADDRESS. */
export const OTHER_ADDRESS = 0x802c;

// === CHANGE-REQUEST (RFC 3489 §11.2.4) ===

/** The flags of CHANGE-REQUEST. */
export interface ChangeRequest {
  /** Send the response from the other IP address (flag A). */
  changeIp: boolean;
  /** Send the response from the other port (flag B). */
  changePort: boolean;
}

/**
 * Builds a CHANGE-REQUEST attribute.
 *
 * @param flags Which of address and port to change.
 * @returns The attribute.
 * @example
 * ```ts
 * import { changeRequestAttribute } from "@rtclite/std/ietf/rfc3489";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual([...changeRequestAttribute({ changeIp: true, changePort: true }).value], [0, 0, 0, 6]);
 * ```
 */
// @implements RFC3489 §11.2.4
export function changeRequestAttribute(flags: ChangeRequest): StunAttribute {
  return {
    type: StunAttr.CHANGE_REQUEST,
    value: Uint8Array.of(0, 0, 0, (flags.changeIp ? 4 : 0) | (flags.changePort ? 2 : 0)),
  };
}

/**
 * Reads CHANGE-REQUEST.
 *
 * @param msg The message.
 * @returns The flags, or `undefined` when absent.
 * @throws {StunParseError} when the value is not 4 bytes.
 * @example
 * ```ts
 * import { createMessage } from "@rtclite/std/ietf/rfc5389";
 * import { changeRequestAttribute, getChangeRequest } from "@rtclite/std/ietf/rfc3489";
 * import { deepEqual } from "node:assert/strict";
 * const msg = createMessage(1, 0, [changeRequestAttribute({ changeIp: false, changePort: true })]);
 * deepEqual(getChangeRequest(msg), { changeIp: false, changePort: true });
 * ```
 */
export function getChangeRequest(msg: StunMessage): ChangeRequest | undefined {
  const v = getAttribute(msg, StunAttr.CHANGE_REQUEST);
  if (!v) return undefined;
  if (v.length !== 4) {
    throw new StunParseError(`Cannot decode CHANGE-REQUEST: ${v.length} bytes, expected 4`, 0);
  }
  return { changeIp: (v[3]! & 4) !== 0, changePort: (v[3]! & 2) !== 0 };
}

// === RESPONSE-PORT (RFC 5780 §7.5) ===

/** RFC 5780's RESPONSE-PORT: the port a Binding response is to be sent to. */
export const RESPONSE_PORT = 0x0027;

/**
 * Builds a RESPONSE-PORT attribute (RFC 5780 §7.5): a 16-bit port and two bytes of padding.
 *
 * @param port The port the response is to be sent to.
 * @returns The attribute.
 * @throws {RangeError} for a port outside 0..65535.
 * @example
 * ```ts
 * import { responsePortAttribute } from "@rtclite/std/ietf/rfc3489";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual([...responsePortAttribute(3479).value], [0x0d, 0x97, 0, 0]);
 * ```
 */
export function responsePortAttribute(port: number): StunAttribute {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new RangeError(`Invalid port: ${port}`);
  }
  return { type: RESPONSE_PORT, value: Uint8Array.of(port >> 8, port & 0xff, 0, 0) };
}

/**
 * Reads RESPONSE-PORT.
 *
 * @param msg The message.
 * @returns The port, or `undefined` when absent.
 * @throws {StunParseError} when the value is not 4 bytes.
 * @example
 * ```ts
 * import { createMessage } from "@rtclite/std/ietf/rfc5389";
 * import { getResponsePort, responsePortAttribute } from "@rtclite/std/ietf/rfc3489";
 * import { equal } from "node:assert/strict";
 * equal(getResponsePort(createMessage(1, 0, [responsePortAttribute(40000)])), 40000);
 * ```
 */
export function getResponsePort(msg: StunMessage): number | undefined {
  const v = getAttribute(msg, RESPONSE_PORT);
  if (!v) return undefined;
  if (v.length !== 4) {
    throw new StunParseError(`Cannot decode RESPONSE-PORT: ${v.length} bytes, expected 4`, 0);
  }
  return (v[0]! << 8) | v[1]!;
}

// === Server (RFC 3489 §8.1) ===

/** A reply from {@linkcode ClassicStunServer.handle}: which socket sends it, to where. */
export interface ClassicReply {
  /** The bytes. */
  data: Uint8Array;
  /** The local address and port to send from (one of the four). */
  from: TransportAddress;
  /** The destination. */
  to: TransportAddress;
}

/** Options of {@linkcode ClassicStunServer}. */
export interface ClassicServerOptions {
  /** The two IP addresses A1 and A2. */
  addresses: [string, string];
  /** The two ports P1 and P2. */
  ports: [number, number];
  /** Honour RESPONSE-ADDRESS (off by default: it lets anyone aim responses at a third party). */
  allowResponseAddress?: boolean;
  /** SOFTWARE attribute for responses (omitted when empty; RFC 3489 clients ignore it). */
  software?: string;
}

const CLASSIC_KNOWN = new Set<number>([
  StunAttr.MAPPED_ADDRESS,
  StunAttr.RESPONSE_ADDRESS,
  StunAttr.CHANGE_REQUEST,
  StunAttr.SOURCE_ADDRESS,
  StunAttr.CHANGED_ADDRESS,
  StunAttr.USERNAME,
  StunAttr.PASSWORD,
  StunAttr.MESSAGE_INTEGRITY,
  StunAttr.ERROR_CODE,
  StunAttr.UNKNOWN_ATTRIBUTES,
  StunAttr.REFLECTED_FROM,
  StunAttr.XOR_MAPPED_ADDRESS,
]);

/**
 * A sans-I/O RFC 3489 server listening on (A1,P1), (A2,P1), (A1,P2) and (A2,P2): it picks the
 * socket that sends each response from the CHANGE-REQUEST flags (Table 1 of §8.1).
 *
 * @example Test II: change IP and port
 * ```ts
 * import { createMessage, decodeStun, encodeStun, getAddress, StunAttr } from "@rtclite/std/ietf/rfc5389";
 * import { changeRequestAttribute, ClassicStunServer } from "@rtclite/std/ietf/rfc3489";
 * import { equal } from "node:assert/strict";
 * const server = new ClassicStunServer({ addresses: ["192.0.2.1", "192.0.2.2"], ports: [3478, 3479] });
 * const req = createMessage(1, 0, [changeRequestAttribute({ changeIp: true, changePort: true })], new Uint8Array(16));
 * const client = { family: 4 as const, address: "198.51.100.9", port: 5000 };
 * const reply = server.handle(encodeStun(req), client, { family: 4, address: "192.0.2.1", port: 3478 })!;
 * equal(reply.from.address, "192.0.2.2");
 * equal(reply.from.port, 3479);
 * equal(getAddress(decodeStun(reply.data, { classic: true }), StunAttr.MAPPED_ADDRESS)?.port, 5000);
 * ```
 */
export class ClassicStunServer {
  #opts: ClassicServerOptions;

  /**
   * Creates a server.
   *
   * @param options The two addresses and two ports.
   */
  constructor(options: ClassicServerOptions) {
    this.#opts = options;
  }

  /**
   * Answers one datagram.
   *
   * @param data The datagram.
   * @param from Its source.
   * @param receivedOn The local address and port it arrived on (Da:Dp).
   * @returns The reply and the local address to send it from, or `undefined`.
   */
  // @implements RFC3489 §8.1
  handle(
    data: Uint8Array,
    from: TransportAddress,
    receivedOn: TransportAddress,
  ): ClassicReply | undefined {
    let msg: StunMessage;
    try {
      msg = decodeStun(data, { classic: true });
    } catch (e) {
      log.debug("Dropped a bad datagram: {error}", { error: String(e) });
      return undefined;
    }
    if (msg.method !== StunMethod.Binding || msg.class !== StunClass.Request) return undefined;
    const [a1, a2] = this.#opts.addresses;
    const [p1, p2] = this.#opts.ports;
    const ca = receivedOn.address === a1 ? a2 : a1;
    const cp = receivedOn.port === p1 ? p2 : p1;
    const changed: TransportAddress = { family: receivedOn.family, address: ca, port: cp };
    const reply = (
      cls: StunClass,
      attrs: StunAttribute[],
      source: TransportAddress,
      to: TransportAddress,
    ) => {
      if (this.#opts.software) {
        attrs.push({
          type: StunAttr.SOFTWARE,
          value: new TextEncoder().encode(this.#opts.software),
        });
      }
      return {
        data: encodeStun(createMessage(msg.method, cls, attrs, msg.transactionId)),
        from: source,
        to,
      };
    };
    const unknown = [...new Set(msg.attributes.map((a) => a.type))].filter((t) =>
      t <= 0x7fff && !CLASSIC_KNOWN.has(t)
    );
    if (unknown.length) {
      // @implements RFC3489 §11.2.10
      if (msg.transactionId.length === 16 && unknown.length % 2) unknown.push(unknown.at(-1)!);
      return reply(
        StunClass.ErrorResponse,
        [errorCodeAttribute(420), unknownAttributesAttribute(unknown)],
        receivedOn,
        from,
      );
    }
    let flags: ChangeRequest | undefined, responseAddress: TransportAddress | undefined;
    try {
      flags = getChangeRequest(msg);
      responseAddress = getAddress(msg, StunAttr.RESPONSE_ADDRESS);
    } catch {
      return reply(StunClass.ErrorResponse, [errorCodeAttribute(400)], receivedOn, from);
    }
    const source: TransportAddress = {
      family: receivedOn.family,
      address: flags?.changeIp ? ca : receivedOn.address,
      port: flags?.changePort ? cp : receivedOn.port,
    };
    // @implements RFC3489 §11.2.1, RFC3489 §11.2.3, RFC3489 §11.2.5
    const attrs: StunAttribute[] = [
      addressAttribute(StunAttr.MAPPED_ADDRESS, from),
      addressAttribute(StunAttr.SOURCE_ADDRESS, source),
      addressAttribute(StunAttr.CHANGED_ADDRESS, changed),
    ];
    // An RFC 5389 client (magic cookie present) also gets XOR-MAPPED-ADDRESS.
    if (msg.transactionId.length === 12) {
      attrs.push(addressAttribute(StunAttr.XOR_MAPPED_ADDRESS, from, msg.transactionId));
    }
    // @implements RFC3489 §11.2.2, RFC3489 §11.2.11
    let to = from;
    if (responseAddress && this.#opts.allowResponseAddress) {
      to = responseAddress;
      attrs.push(addressAttribute(StunAttr.REFLECTED_FROM, from));
    }
    return reply(StunClass.SuccessResponse, attrs, source, to);
  }
}

/** A running {@linkcode serveClassicStunUdp} server. */
// === NAT type discovery (RFC 3489 §10.1) ===

/** The six outcomes of RFC 3489 §10.1 (restricted split into address- and port-restricted). */
// @implements RFC3489 §10.1 ¶1-7
export type NatType =
  | "udp-blocked"
  | "open-internet"
  | "symmetric-udp-firewall"
  | "full-cone"
  | "restricted-cone"
  | "port-restricted-cone"
  | "symmetric";

/** What one test of the procedure sends. */
export interface NatTest {
  /** `I`, `II`, `I'` (test I to the changed address) or `III`. */
  name: "I" | "II" | "I'" | "III";
  /** Where to send the Binding request. */
  to: TransportAddress;
  /** CHANGE-REQUEST flags. */
  change: ChangeRequest;
}

/** The result of a test: the mapped and changed addresses of the response, or none. */
export interface NatTestResult {
  /** MAPPED-ADDRESS / XOR-MAPPED-ADDRESS of the response. */
  mapped: TransportAddress;
  /** CHANGED-ADDRESS / OTHER-ADDRESS of the response. */
  changed: TransportAddress | undefined;
}

/**
 * The server cannot classify the NAT: it sent no CHANGED-ADDRESS (an RFC 5389-only server), or its
 * other address does not answer.
 */
export class NatDiscoveryError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is missing.
   */
  constructor(message: string) {
    super(message);
    this.name = "NatDiscoveryError";
  }
}

/**
 * The decision procedure of RFC 3489 §10.1 as a sans-I/O state machine: ask it for the next test,
 * run it, report the response (or `undefined` for no response), until `type` is set.
 *
 * @example A client whose mapping changes with the destination is behind a symmetric NAT
 * ```ts
 * import { NatDiscovery } from "@rtclite/std/ietf/rfc3489";
 * import { equal } from "node:assert/strict";
 * const d = new NatDiscovery({ family: 4, address: "192.0.2.1", port: 3478 }, { family: 4, address: "10.0.0.2", port: 5000 });
 * const changed = { family: 4 as const, address: "192.0.2.2", port: 3479 };
 * d.report({ mapped: { family: 4, address: "203.0.113.1", port: 40000 }, changed }); // test I
 * d.report(undefined); // test II: no response
 * equal(d.next()?.name, "I'");
 * d.report({ mapped: { family: 4, address: "203.0.113.1", port: 40001 }, changed });
 * equal(d.type, "symmetric");
 * ```
 */
export class NatDiscovery {
  #server: TransportAddress;
  #local: TransportAddress;
  #localIps: Set<string>;
  #step: NatTest["name"] = "I";
  #first: NatTestResult | undefined;
  /** The classification, once known. */
  type: NatType | undefined;
  /** The mapped address from test I. */
  mapped: TransportAddress | undefined;

  /**
   * Starts the procedure.
   *
   * @param server The STUN server (A1, P1).
   * @param local The local address and port the tests are sent from.
   * @param localIps Every IP address of this host, for a socket bound to the wildcard address.
   */
  constructor(server: TransportAddress, local: TransportAddress, localIps: string[] = []) {
    this.#server = server;
    this.#local = local;
    this.#localIps = new Set([local.address, ...localIps]);
  }

  /** The test to run now, or `undefined` when the type is known. */
  // @implements RFC3489 §10.1 ¶9
  next(): NatTest | undefined {
    if (this.type) return undefined;
    const none = { changeIp: false, changePort: false };
    switch (this.#step) {
      case "I":
        return { name: "I", to: this.#server, change: none };
      case "II":
        return { name: "II", to: this.#server, change: { changeIp: true, changePort: true } };
      case "I'":
        return { name: "I'", to: this.#first!.changed!, change: none };
      case "III":
        return { name: "III", to: this.#server, change: { changeIp: false, changePort: true } };
    }
  }

  /**
   * Reports the outcome of the current test.
   *
   * @param result The response's addresses, or `undefined` when no response came.
   * @throws {NatDiscoveryError} when test I's response has no CHANGED-ADDRESS but the procedure
   *   needs it, or the server's changed address does not answer test I'.
   */
  // @implements RFC3489 §10.1 ¶10-12
  report(result: NatTestResult | undefined): void {
    const same = (a: TransportAddress, b: TransportAddress) =>
      a.address === b.address && a.port === b.port;
    switch (this.#step) {
      case "I":
        if (!result) {
          this.type = "udp-blocked";
          return;
        }
        this.#first = result;
        this.mapped = result.mapped;
        this.#step = "II";
        return;
      case "II": {
        const m = this.#first!.mapped;
        const natted = m.port !== this.#local.port || !this.#localIps.has(m.address);
        if (result) this.type = natted ? "full-cone" : "open-internet";
        else if (!natted) this.type = "symmetric-udp-firewall";
        else if (!this.#first!.changed) {
          throw new NatDiscoveryError("NAT discovery: the server sent no CHANGED-ADDRESS");
        } else this.#step = "I'";
        return;
      }
      case "I'":
        if (!result) {
          throw new NatDiscoveryError(
            "NAT discovery: no response from the server's changed address",
          );
        }
        if (!same(result.mapped, this.#first!.mapped)) this.type = "symmetric";
        else this.#step = "III";
        return;
      case "III":
        this.type = result ? "restricted-cone" : "port-restricted-cone";
        return;
    }
  }
}
