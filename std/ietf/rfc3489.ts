// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Classic STUN (RFC 3489): the CHANGE-REQUEST family of attributes, NAT type discovery (§10.1)
 * and a server that answers change requests from two addresses and two ports.
 *
 * RFC 3489 was obsoleted by RFC 5389 because NAT classification is unreliable in general, but the
 * procedure is still a useful diagnostic. Messages share the codec of
 * {@link https://jsr.io/@rtclite/std/doc/ietf/rfc5389 | rfc5389}; an RFC 3489 message has a
 * 16-byte transaction ID and no magic cookie (`decodeStun(buf, { classic: true })`). The
 * discovery client sends RFC 5389-style requests (with the cookie), which classic servers treat as
 * part of the transaction ID, and reads MAPPED-ADDRESS or XOR-MAPPED-ADDRESS and CHANGED-ADDRESS
 * or RFC 5780's OTHER-ADDRESS.
 *
 * Specification: {@link https://www.rfc-editor.org/rfc/rfc3489 | RFC 3489}.
 *
 * Command line: `deno run -A jsr:@rtclite/std/ietf/rfc3489 --discover stun:host:port` prints the
 * NAT type; `--serve A1,A2 [--ports 3478,3479]` runs a server on two addresses and two ports.
 *
 * @example Classify the path to a local two-address server (no NAT on loopback: open internet)
 * ```ts
 * import { discoverNat, serveClassicStunUdp } from "@rtclite/std/ietf/rfc3489";
 * import { equal } from "node:assert/strict";
 *
 * await using server = await serveClassicStunUdp({ addresses: ["127.0.0.1", "127.0.0.2"], ports: [0, 0] });
 * const result = await discoverNat(server.primary, { hostname: "127.0.0.1", rto: 50, rc: 2, rm: 2 });
 * equal(result.type, "open-internet");
 * ```
 *
 * @module
 */
// @implements RFC3489 (classic STUN)
import dgram from "node:dgram";
import { getLogger, parseVerbosity, setupLogging } from "../log.ts";
import { takeOption } from "../cli.ts";
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
  StunClient,
  type StunMessage,
  StunMethod,
  StunParseError,
  StunTransactionError,
  type TransportAddress,
  unknownAttributesAttribute,
} from "./rfc5389.ts";
import { parseStunUri, stunUriPort } from "./rfc7064.ts";
export type { StunAttribute, StunMessage, TransportAddress } from "./rfc5389.ts";
export { ParseError, StunClass, StunParseError } from "./rfc5389.ts";

const log = getLogger("stun", "classic");

/** RFC 5780's OTHER-ADDRESS, the successor of CHANGED-ADDRESS. */
const OTHER_ADDRESS = 0x802c;

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
export interface ClassicUdpServer extends AsyncDisposable {
  /** (A1, P1): the address clients are given. */
  readonly primary: TransportAddress;
  /** The four bound addresses. */
  readonly sockets: TransportAddress[];
  /** Closes all sockets. */
  close(): Promise<void>;
}

/**
 * Binds the four sockets of a classic STUN server and serves it.
 *
 * @param options The two addresses and two ports (0 picks a free port for P1/P2 on A1, reused on A2).
 * @returns The running server.
 * @example
 * ```ts
 * import { serveClassicStunUdp } from "@rtclite/std/ietf/rfc3489";
 * import { equal } from "node:assert/strict";
 * await using s = await serveClassicStunUdp({ addresses: ["127.0.0.1", "127.0.0.2"], ports: [0, 0] });
 * equal(s.sockets.length, 4);
 * ```
 */
export async function serveClassicStunUdp(
  options: ClassicServerOptions,
): Promise<ClassicUdpServer> {
  const bind = (address: string, port: number) =>
    new Promise<dgram.Socket>((resolve, reject) => {
      const s = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
      s.once("error", reject);
      s.bind(port, address, () => {
        s.off("error", reject);
        resolve(s);
      });
    });
  const [a1, a2] = options.addresses;
  const socks: dgram.Socket[] = [];
  try {
    const s11 = await bind(a1, options.ports[0]);
    socks.push(s11);
    const p1 = s11.address().port;
    const s12 = await bind(a1, options.ports[1]);
    socks.push(s12);
    const p2 = s12.address().port;
    socks.push(await bind(a2, p1), await bind(a2, p2));
  } catch (e) {
    for (const s of socks) s.close();
    throw e;
  }
  const addrOf = (s: dgram.Socket): TransportAddress => {
    const a = s.address();
    return { family: a.family === "IPv6" ? 6 : 4, address: a.address, port: a.port };
  };
  const ports: [number, number] = [addrOf(socks[0]!).port, addrOf(socks[1]!).port];
  const server = new ClassicStunServer({ ...options, ports });
  for (const s of socks) {
    const local = addrOf(s);
    s.on("error", (e: Error) => log.warn("Socket error: {error}", { error: String(e) }));
    s.on("message", (buf: Uint8Array, r: dgram.RemoteInfo) => {
      const from: TransportAddress = {
        family: r.family === "IPv6" ? 6 : 4,
        address: r.address,
        port: r.port,
      };
      const reply = server.handle(
        new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
        from,
        local,
      );
      if (!reply) return;
      const out = socks.find((x) => {
        const a = addrOf(x);
        return a.address === reply.from.address && a.port === reply.from.port;
      });
      out?.send(reply.data, reply.to.port, reply.to.address);
    });
  }
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r())))).then(
      () => {},
    );
  return {
    primary: addrOf(socks[0]!),
    sockets: socks.map(addrOf),
    close,
    [Symbol.asyncDispose]: close,
  };
}

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
   * @throws {Error} when test I's response has no CHANGED-ADDRESS but the procedure needs it.
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
          throw new Error("NAT discovery: the server sent no CHANGED-ADDRESS");
        } else this.#step = "I'";
        return;
      }
      case "I'":
        if (!result) {
          throw new Error("NAT discovery: no response from the server's changed address");
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

/** Options of {@linkcode discoverNat}. */
export interface DiscoverOptions {
  /** Local address to bind (default: the wildcard address; then any local address counts as ours). */
  hostname?: string;
  /** Local port (default: any). */
  port?: number;
  /** Initial retransmission timeout in ms (default 100, as in RFC 3489 §9.3). */
  rto?: number;
  /** Requests per test (default 7). */
  rc?: number;
  /** Multiple of RTO to wait after the last request (default 4). */
  rm?: number;
}

/** Result of {@linkcode discoverNat}. */
export interface DiscoveryResult {
  /** The classification. */
  type: NatType;
  /** The local address the tests were sent from. */
  local: TransportAddress;
  /** The mapped (public) address from test I, when there was a response. */
  mapped: TransportAddress | undefined;
  /** Each test run and whether it got a response. */
  tests: { name: string; response: boolean }[];
}

/**
 * Runs the RFC 3489 §10.1 discovery against a server that supports CHANGE-REQUEST.
 *
 * @param server The server's primary address (A1, P1).
 * @param options Local address and timers.
 * @returns The NAT type and the addresses seen.
 * @throws {StunTransactionError} when the server answers a test with an error response.
 * @example No server at all: UDP is blocked
 * ```ts
 * import { discoverNat } from "@rtclite/std/ietf/rfc3489";
 * import { equal } from "node:assert/strict";
 * const r = await discoverNat({ family: 4, address: "127.0.0.1", port: 9 }, { hostname: "127.0.0.1", rto: 20, rc: 2, rm: 2 });
 * equal(r.type, "udp-blocked");
 * ```
 */
export async function discoverNat(
  server: TransportAddress,
  options: DiscoverOptions = {},
): Promise<DiscoveryResult> {
  await using client = await StunClient.open({
    ...(options.hostname ? { hostname: options.hostname } : {}),
    family: server.family,
    rto: options.rto ?? 100,
    rc: options.rc ?? 7,
    rm: options.rm ?? 4,
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  const local = client.address;
  // Bound to the wildcard address, "not natted" means the mapped address is one of ours.
  const ips = Deno.networkInterfaces().map((i) => i.address.replace(/%.*$/, ""));
  const d = new NatDiscovery(server, local, ips);
  const tests: { name: string; response: boolean }[] = [];
  for (let t = d.next(); t; t = d.next()) {
    let result: NatTestResult | undefined;
    try {
      const change = t.change;
      const res = await client.request(
        t.to,
        createMessage(
          StunMethod.Binding,
          StunClass.Request,
          change.changeIp || change.changePort ? [changeRequestAttribute(change)] : [],
        ),
      );
      if (res.class === StunClass.ErrorResponse) {
        throw new StunTransactionError(
          `NAT discovery test ${t.name}: the server answered with an error`,
          "error-response",
          res,
        );
      }
      const mapped = getAddress(res, StunAttr.XOR_MAPPED_ADDRESS) ??
        getAddress(res, StunAttr.MAPPED_ADDRESS);
      if (!mapped) {
        throw new StunTransactionError(
          "NAT discovery: response without a mapped address",
          "error-response",
          res,
        );
      }
      result = {
        mapped,
        changed: getAddress(res, StunAttr.CHANGED_ADDRESS) ?? getAddress(res, OTHER_ADDRESS),
      };
    } catch (e) {
      if (!(e instanceof StunTransactionError) || e.reason !== "timeout") throw e;
      result = undefined;
    }
    tests.push({ name: t.name, response: result !== undefined });
    log.debug("Test {name}: {result}", {
      name: t.name,
      result: result ? JSON.stringify(result) : "no response",
    });
    d.report(result);
  }
  return { type: d.type!, local, mapped: d.mapped, tests };
}

// === Command line ===

async function main(argv: string[]): Promise<number> {
  const { level, args } = parseVerbosity(argv);
  await setupLogging(level === "info" ? "warning" : level);
  const opt = (name: string) => takeOption(args, name);
  const serve = opt("--serve"),
    ports = opt("--ports"),
    discover = opt("--discover"),
    local = opt("--local");
  const rto = opt("--rto"), rc = opt("--rc"), localPort = opt("--port");
  if (serve) {
    const addresses = serve.split(",") as [string, string];
    const p = (ports ?? "3478,3479").split(",").map(Number) as [number, number];
    if (addresses.length !== 2 || p.length !== 2) {
      console.error("--serve needs two addresses (A1,A2) and --ports two ports (P1,P2)");
      return 2;
    }
    const server = await serveClassicStunUdp({ addresses, ports: p });
    console.log(
      `classic STUN server on ${server.sockets.map((a) => `${a.address}:${a.port}`).join(" ")}`,
    );
    await new Promise<void>((resolve) => {
      Deno.addSignalListener("SIGINT", resolve);
      Deno.addSignalListener("SIGTERM", resolve);
    });
    await server.close();
    return 0;
  }
  if (!discover) {
    console.error(
      "Usage: rfc3489.ts [-v|-q] --discover stun:host[:port] [--local address] [--port p]\n" +
        "         [--rto ms] [--rc n]\n" +
        "       rfc3489.ts --serve A1,A2 [--ports P1,P2]",
    );
    return 2;
  }
  const uri = parseStunUri(/^stuns?:/i.test(discover) ? discover : `stun:${discover}`);
  const host = uri.host.replace(/^\[(.*)\]$/, "$1");
  const server: TransportAddress = {
    family: host.includes(":") ? 6 : 4,
    address: host,
    port: stunUriPort(uri),
  };
  try {
    const r = await discoverNat(server, {
      ...(local ? { hostname: local } : {}),
      ...(localPort ? { port: Number(localPort) } : {}),
      ...(rto ? { rto: Number(rto) } : {}),
      ...(rc ? { rc: Number(rc) } : {}),
    });
    const fmt = (a: TransportAddress) => `${a.address}:${a.port}`;
    console.log(`${r.type}${r.mapped ? ` (local ${fmt(r.local)}, mapped ${fmt(r.mapped)})` : ""}`);
    return 0;
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
