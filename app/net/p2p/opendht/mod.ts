// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * OpenDHT's interface, kept alive on our DHT. OpenDHT (2005-2009) was a public DHT service on
 * PlanetLab: clients sent XML-RPC over HTTP (port 5851) to any node, the gateway, which carried
 * `put`, `get` and `rm` into the Bamboo DHT. The service is gone; {@linkcode OpenDhtGateway}
 * answers the same calls on top of `@rtclite/app/net/p2p/dht`, so that scripts written for it
 * (`put.py`, `get.py`, `rm.py`, the original rtclite's `opendht.py`) work again, and
 * {@linkcode OpenDhtClient} is a client for it. `http.ts` serves the gateway over HTTP and
 * `main.ts` is its command line.
 *
 * The calls, as OpenDHT defined them (keys, values, hashes and secrets are XML-RPC `base64`):
 *
 * - `put(key, value, ttl_sec, application)` → status
 * - `put_removable(key, value, "SHA", secret_hash, ttl_sec, application)` → status: the value
 *   can be removed by whoever knows the secret whose SHA-1 is `secret_hash`
 * - `get(key, maxvals, placemark, application)` → `[values, placemark]`: at most `maxvals` values;
 *   a non-empty placemark asks for the next ones (pass it back), an empty one means no more
 * - `get_details(key, maxvals, placemark, application)` → `[[value, ttl_remaining, hash_type,
 *   secret_hash]..., placemark]`
 * - `rm(key, value_hash, "SHA", secret, ttl_sec, application)` → status: removes the value whose
 *   SHA-1 is `value_hash`, if `secret` is its secret; the removal is remembered for `ttl_sec`
 *
 * Status: 0 success, 1 over capacity (no node would store it), 2 try again. Keys have at most 20
 * bytes (shorter ones are zero-padded: clients send the SHA-1 of a name), values at most 1024,
 * TTLs at most 604 800 s (a week).
 *
 * `get_details` reports `SHA` and the secret's SHA-1 for a removable value, and `""` and empty
 * bytes for the others. Differences: a wrong secret in `rm` is a fault here (OpenDHT silently
 * stored an `rm` that matched nothing); values signed by an owner (see the DHT) are returned like
 * the others.
 *
 * Every put through a gateway reaches the DHT from the gateway's node, so the DHT's per-origin
 * bounds (by default 32 new values under one key, 1024 in all, on each storing node) apply to
 * all of a gateway's clients together: a busy public gateway needs storing nodes configured
 * with higher bounds, or one DHT node per client population.
 *
 * @see {@link http://opendht.org/users-guide.html | OpenDHT User's Guide}
 * @see {@link https://sigcomm.org/sites/default/files/ccr/papers/2005/October/1080091-1080102.pdf | OpenDHT: A Public DHT Service and Its Uses (Rhea et al., 2005)}
 *
 * @example A gateway over an in-memory store, called through its XML interface
 * ```ts
 * import { OpenDhtGateway, memoryBackend } from "@rtclite/app/net/p2p/opendht";
 * import { decodeMethodResponse, encodeMethodCall } from "@rtclite/app/net/p2p/opendht/xmlrpc";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const gateway = new OpenDhtGateway(memoryBackend());
 * const key = new TextEncoder().encode("colors");
 * const red = new TextEncoder().encode("red");
 * equal(decodeMethodResponse(await gateway.handle(encodeMethodCall("put", [key, red, 60, "doc"]))), 0);
 * const got = decodeMethodResponse(
 *   await gateway.handle(encodeMethodCall("get", [key, 10, new Uint8Array(), "doc"])),
 * );
 * deepEqual(got, [[red], new Uint8Array()]);
 * ```
 *
 * @module
 */
import { sha1 } from "@noble/hashes/legacy.js";
import { equals, toHex } from "@rtclite/std/bytes";
import {
  decodeMethodCall,
  decodeMethodResponse,
  encodeFault,
  encodeMethodCall,
  encodeMethodResponse,
  type MethodCall,
  XmlRpcFault,
  XmlRpcParseError,
  type XmlRpcValue,
} from "./xmlrpc.ts";

export { ParseError } from "@rtclite/std/errors";
export { XmlRpcFault, XmlRpcParseError };
export type { MethodCall, XmlRpcValue };

// === Constants ===

/** Status of `put` and `rm`: done. */
export const SUCCESS = 0;
/** Status of `put`: no node would store the value (over capacity). */
export const CAPACITY = 1;
/** Status: try again later. */
export const AGAIN = 2;
/** Longest key, in bytes. */
export const MAX_KEY_LENGTH = 20;
/** Longest value, in bytes. */
export const MAX_VALUE_LENGTH = 1024;
/** Longest time to live, in seconds (one week). */
export const MAX_TTL = 604_800;
/** Longest removal secret, in bytes. */
export const MAX_SECRET_LENGTH = 255;

/** Fault codes (the XML-RPC interoperability codes). */
export const FAULT = {
  /** The request is not XML-RPC. */
  parse: -32700,
  /** No such method. */
  method: -32601,
  /** Wrong parameters. */
  params: -32602,
  /** The operation failed in the DHT (a wrong secret). */
  application: -32500,
  /** An unexpected error. */
  internal: -32603,
} as const;

// === The backend ===

/** A value as the backend finds it. */
export interface BackendValue {
  /** The value. */
  value: Uint8Array;
  /** Seconds it has left. */
  ttl: number;
  /** SHA-1 of its removal secret, when it was put with one. */
  secretHash?: Uint8Array;
}

/** What the gateway needs from a DHT (`http.ts` binds it to a `UdpDht`). */
export interface OpenDhtBackend {
  /**
   * Stores a value.
   *
   * @param key The 20-byte key.
   * @param value The value.
   * @param ttl Seconds to live.
   * @param secretHash SHA-1 of the removal secret, when removable.
   * @returns How many nodes stored it.
   */
  put(key: Uint8Array, value: Uint8Array, ttl: number, secretHash?: Uint8Array): Promise<number>;
  /**
   * Finds the values under a key.
   *
   * @param key The 20-byte key.
   * @returns The live values.
   */
  get(key: Uint8Array): Promise<BackendValue[]>;
  /**
   * Removes a value.
   *
   * @param key The 20-byte key.
   * @param valueHash SHA-1 of the value.
   * @param secret The secret.
   * @param ttl Seconds the removal is remembered.
   * @returns How many nodes removed it and how many refused the secret.
   */
  rm(
    key: Uint8Array,
    valueHash: Uint8Array,
    secret: Uint8Array,
    ttl: number,
  ): Promise<{ removed: number; denied: number }>;
}

/**
 * A backend in memory, for tests and examples: one store, with TTLs by `clock` and removal by
 * secret.
 *
 * @param clock The clock in milliseconds (default `Date.now`).
 * @returns The backend.
 *
 * @example
 * ```ts
 * import { memoryBackend } from "@rtclite/app/net/p2p/opendht";
 * import { equal } from "node:assert/strict";
 * const b = memoryBackend();
 * equal(await b.put(new Uint8Array(20), new Uint8Array([1]), 60), 1);
 * equal((await b.get(new Uint8Array(20))).length, 1);
 * ```
 */
export function memoryBackend(clock: () => number = Date.now): OpenDhtBackend {
  const store = new Map<
    string,
    Map<string, { value: Uint8Array; expires: number; secretHash?: Uint8Array }>
  >();
  const live = (key: Uint8Array) => {
    const values = store.get(toHex(key));
    if (values) {
      for (const [h, v] of values) if (v.expires <= clock()) values.delete(h);
    }
    return values;
  };
  return {
    put(key, value, ttl, secretHash) {
      let values = live(key);
      if (!values) store.set(toHex(key), values = new Map());
      const entry = { value, expires: clock() + ttl * 1000 };
      values.set(toHex(sha1(value)), secretHash ? { ...entry, secretHash } : entry);
      return Promise.resolve(1);
    },
    get(key) {
      const now = clock();
      return Promise.resolve(
        [...live(key)?.values() ?? []].map((v) => {
          const found: BackendValue = { value: v.value, ttl: Math.ceil((v.expires - now) / 1000) };
          if (v.secretHash) found.secretHash = v.secretHash;
          return found;
        }),
      );
    },
    rm(key, valueHash, secret) {
      const values = live(key);
      const v = values?.get(toHex(valueHash));
      if (!v) return Promise.resolve({ removed: 0, denied: 0 });
      if (!v.secretHash || !equals(v.secretHash, sha1(secret))) {
        return Promise.resolve({ removed: 0, denied: 1 });
      }
      values!.delete(toHex(valueHash));
      return Promise.resolve({ removed: 1, denied: 0 });
    },
  };
}

// === The gateway ===

/** A call the gateway refuses, with its XML-RPC fault code. */
export class OpenDhtFault extends XmlRpcFault {
  /**
   * Creates the fault.
   *
   * @param code A {@linkcode FAULT} code.
   * @param message What is wrong.
   */
  constructor(code: number, message: string) {
    super(code, message);
    this.name = "OpenDhtFault";
  }
}

/** Options of {@linkcode OpenDhtGateway}. */
export interface OpenDhtGatewayOptions {
  /** Most values in one `get` answer, whatever `maxvals` asks (default 100). */
  maxValuesPerGet?: number;
  /** Called for each call, with the client's `application` string (for logs). */
  onCall?: (method: string, application: string) => void;
}

const bad = (message: string): never => {
  throw new OpenDhtFault(FAULT.params, message);
};

function bytesParam(v: XmlRpcValue | undefined, name: string, max: number): Uint8Array {
  // Python's xmlrpc.client sends bytes as base64; accept a string too (UTF-8), as Bamboo did.
  const b = v instanceof Uint8Array
    ? v
    : typeof v === "string"
    ? new TextEncoder().encode(v)
    : bad(`${name} must be base64 bytes`);
  if (b.length > max) bad(`${name} is longer than ${max} bytes`);
  return b;
}

function intParam(v: XmlRpcValue | undefined, name: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) bad(`${name} must be an int`);
  const n = v as number;
  if (n < min || n > max) bad(`${name} ${n} is not in ${min}..${max}`);
  return n;
}

function stringParam(v: XmlRpcValue | undefined, name: string): string {
  return typeof v === "string" ? v : bad(`${name} must be a string`);
}

function arity(call: MethodCall, n: number): void {
  if (call.params.length !== n) {
    bad(`${call.method} takes ${n} parameters, ${call.params.length} given`);
  }
}

/**
 * Pads a key to 20 bytes (OpenDHT keys are up to 20 bytes; clients send the SHA-1 of a name).
 *
 * @param key The key.
 * @returns A 20-byte key.
 * @throws {RangeError} When the key is longer than 20 bytes.
 *
 * @example
 * ```ts
 * import { padKey } from "@rtclite/app/net/p2p/opendht";
 * import { equal } from "node:assert/strict";
 * equal(padKey(new Uint8Array([1])).length, 20);
 * ```
 */
export function padKey(key: Uint8Array): Uint8Array {
  if (key.length > MAX_KEY_LENGTH) {
    throw new RangeError(`Cannot use key: ${key.length} bytes, at most ${MAX_KEY_LENGTH}`);
  }
  const out = new Uint8Array(MAX_KEY_LENGTH);
  out.set(key);
  return out;
}

/**
 * The OpenDHT gateway: XML-RPC calls in, DHT operations, XML-RPC responses out. It is pure: give
 * it a backend ({@linkcode memoryBackend}, or a DHT node through `http.ts`) and feed it request
 * bodies.
 *
 * Paging: `get` sorts a key's values by their SHA-1 and returns those after the placemark (the
 * SHA-1 of the last value of the previous page), so that pages stay consistent while values come
 * and go.
 *
 * @example Paging with placemarks
 * ```ts
 * import { memoryBackend, OpenDhtGateway } from "@rtclite/app/net/p2p/opendht";
 * import { equal } from "node:assert/strict";
 * const gw = new OpenDhtGateway(memoryBackend());
 * const key = new Uint8Array(20);
 * for (const v of ["a", "b", "c"]) {
 *   await gw.call({ method: "put", params: [key, new TextEncoder().encode(v), 60, "doc"] });
 * }
 * let pm: Uint8Array = new Uint8Array(), seen = 0;
 * do {
 *   const [values, next] = await gw.call({ method: "get", params: [key, 2, pm, "doc"] }) as [Uint8Array[], Uint8Array];
 *   seen += values.length;
 *   pm = next;
 * } while (pm.length);
 * equal(seen, 3);
 * ```
 */
export class OpenDhtGateway {
  #backend: OpenDhtBackend;
  #maxValues: number;
  #onCall: ((method: string, application: string) => void) | undefined;

  /**
   * Creates a gateway.
   *
   * @param backend The DHT.
   * @param options Limits and a call hook.
   */
  constructor(backend: OpenDhtBackend, options: OpenDhtGatewayOptions = {}) {
    this.#backend = backend;
    this.#maxValues = options.maxValuesPerGet ?? 100;
    this.#onCall = options.onCall;
  }

  #called(method: string, application: XmlRpcValue | undefined): void {
    const app = stringParam(application, "application");
    this.#onCall?.(method, app);
  }

  /**
   * Handles an XML-RPC request body.
   *
   * @param body The request's XML.
   * @returns The response's XML: the result, or a fault (never throws).
   */
  async handle(body: string | Uint8Array): Promise<string> {
    let call: MethodCall;
    try {
      call = decodeMethodCall(body);
    } catch (e) {
      return encodeFault(FAULT.parse, e instanceof Error ? e.message : String(e));
    }
    try {
      return encodeMethodResponse(await this.call(call));
    } catch (e) {
      if (e instanceof XmlRpcFault) return encodeFault(e.code, e.message);
      return encodeFault(FAULT.internal, e instanceof Error ? e.message : String(e));
    }
  }

  /**
   * Carries out a decoded call.
   *
   * @param call The method and parameters.
   * @returns The result.
   * @throws {OpenDhtFault} For an unknown method, wrong parameters or a refused removal.
   */
  async call(call: MethodCall): Promise<XmlRpcValue> {
    const p = call.params;
    switch (call.method) {
      case "put": {
        arity(call, 4);
        const key = padKey(bytesParam(p[0], "key", MAX_KEY_LENGTH));
        const value = bytesParam(p[1], "value", MAX_VALUE_LENGTH);
        const ttl = intParam(p[2], "ttl_sec", 1, MAX_TTL);
        this.#called("put", p[3]);
        return (await this.#backend.put(key, value, ttl)) > 0 ? SUCCESS : CAPACITY;
      }
      case "put_removable": {
        arity(call, 6);
        const key = padKey(bytesParam(p[0], "key", MAX_KEY_LENGTH));
        const value = bytesParam(p[1], "value", MAX_VALUE_LENGTH);
        if (stringParam(p[2], "hash_type") !== "SHA") bad("hash_type must be SHA");
        const secretHash = bytesParam(p[3], "secret_hash", 20);
        if (secretHash.length !== 20) bad("secret_hash must be a 20-byte SHA-1");
        const ttl = intParam(p[4], "ttl_sec", 1, MAX_TTL);
        this.#called("put_removable", p[5]);
        return (await this.#backend.put(key, value, ttl, secretHash)) > 0 ? SUCCESS : CAPACITY;
      }
      case "get":
      case "get_details": {
        arity(call, 4);
        const key = padKey(bytesParam(p[0], "key", MAX_KEY_LENGTH));
        const maxvals = intParam(p[1], "maxvals", 1, 2 ** 31 - 1);
        const placemark = bytesParam(p[2], "placemark", 20);
        this.#called(call.method, p[3]);
        const all = (await this.#backend.get(key))
          .map((v) => ({ ...v, hash: sha1(v.value) }))
          .sort((a, b) => compareBytes(a.hash, b.hash));
        const start = placemark.length
          ? all.findIndex((v) => compareBytes(v.hash, placemark) > 0)
          : 0;
        const rest = start < 0 ? [] : all.slice(start);
        const page = rest.slice(0, Math.min(maxvals, this.#maxValues));
        const next = page.length < rest.length ? page.at(-1)!.hash : new Uint8Array();
        const values: XmlRpcValue[] = call.method === "get"
          ? page.map((v) => v.value)
          : page.map((v) => [
            v.value,
            v.ttl,
            v.secretHash ? "SHA" : "",
            v.secretHash ?? new Uint8Array(),
          ]);
        return [values, next];
      }
      case "rm": {
        arity(call, 6);
        const key = padKey(bytesParam(p[0], "key", MAX_KEY_LENGTH));
        const valueHash = bytesParam(p[1], "value_hash", 20);
        if (valueHash.length !== 20) bad("value_hash must be a 20-byte SHA-1");
        if (stringParam(p[2], "hash_type") !== "SHA") bad("hash_type must be SHA");
        const secret = bytesParam(p[3], "secret", MAX_SECRET_LENGTH);
        const ttl = intParam(p[4], "ttl_sec", 1, MAX_TTL);
        this.#called("rm", p[5]);
        const r = await this.#backend.rm(key, valueHash, secret, ttl);
        if (r.removed === 0 && r.denied > 0) {
          throw new OpenDhtFault(FAULT.application, "Cannot remove: the secret does not match");
        }
        return SUCCESS;
      }
      default:
        throw new OpenDhtFault(FAULT.method, `No such method: ${call.method}`);
    }
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// === The client ===

/** Options of {@linkcode OpenDhtClient}. */
export interface OpenDhtClientOptions {
  /** The `application` string sent with each call (default `rtclite`). */
  application?: string;
  /** The fetch function (default the global `fetch`). */
  fetch?: typeof fetch;
  /** Milliseconds to wait for an answer (default 10 000). */
  timeout?: number;
}

/** A value with details, from {@linkcode OpenDhtClient.getDetails}. */
export interface ValueDetails {
  /** The value. */
  value: Uint8Array;
  /** Seconds it has left. */
  ttl: number;
  /** The hash type of its secret (`SHA`), or `""`. */
  hashType: string;
  /** SHA-1 of its secret, or empty. */
  secretHash: Uint8Array;
}

function keyBytes(key: string | Uint8Array): Uint8Array {
  return typeof key === "string" ? sha1(new TextEncoder().encode(key)) : key;
}

function valueBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === "string" ? new TextEncoder().encode(value) : value;
}

/**
 * A client of an OpenDHT gateway (ours, or any that speaks OpenDHT's XML-RPC). Text keys are
 * hashed with SHA-1, as OpenDHT's scripts did; byte keys (at most 20 bytes) are sent as they are.
 *
 * @example Against a gateway served over HTTP
 * ```ts
 * import { memoryBackend, OpenDhtClient, OpenDhtGateway } from "@rtclite/app/net/p2p/opendht";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const gw = new OpenDhtGateway(memoryBackend());
 * await using server = Deno.serve({ port: 0, onListen() {} }, async (req) =>
 *   new Response(await gw.handle(await req.text()), { headers: { "content-type": "text/xml" } }));
 * const client = new OpenDhtClient(`http://127.0.0.1:${server.addr.port}/`);
 * equal(await client.put("colors", "blue", { secret: "donttell" }), 0);
 * deepEqual(await client.getText("colors"), ["blue"]);
 * equal(await client.rm("colors", "blue", "donttell"), 0);
 * deepEqual(await client.getText("colors"), []);
 * ```
 */
export class OpenDhtClient {
  #url: string;
  #application: string;
  #fetch: typeof fetch;
  #timeout: number;

  /**
   * Creates a client.
   *
   * @param url The gateway's URL (`http://host:5851/`).
   * @param options Application name, fetch function and timeout.
   */
  constructor(url: string, options: OpenDhtClientOptions = {}) {
    this.#url = url;
    this.#application = options.application ?? "rtclite";
    this.#fetch = options.fetch ?? fetch;
    this.#timeout = options.timeout ?? 10_000;
  }

  /**
   * Calls a method.
   *
   * @param method The method.
   * @param params Its parameters.
   * @returns The result.
   * @throws {XmlRpcFault} When the gateway answers with a fault.
   * @throws {XmlRpcParseError} When the answer is not XML-RPC or not HTTP 200.
   */
  async call(method: string, params: XmlRpcValue[]): Promise<XmlRpcValue> {
    const res = await this.#fetch(this.#url, {
      method: "POST",
      headers: { "content-type": "text/xml" },
      body: encodeMethodCall(method, params),
      signal: AbortSignal.timeout(this.#timeout),
    });
    const body = await res.text();
    if (res.status !== 200) {
      throw new XmlRpcParseError(`Cannot call ${method}: HTTP ${res.status}`, 0);
    }
    return decodeMethodResponse(body);
  }

  /**
   * Stores a value (`put`, or `put_removable` with a secret).
   *
   * @param key The key (text is hashed with SHA-1).
   * @param value The value.
   * @param options TTL in seconds (default 3600) and removal secret.
   * @returns The status: {@linkcode SUCCESS}, {@linkcode CAPACITY} or {@linkcode AGAIN}.
   */
  async put(
    key: string | Uint8Array,
    value: string | Uint8Array,
    options: { ttl?: number; secret?: string | Uint8Array } = {},
  ): Promise<number> {
    const ttl = options.ttl ?? 3600;
    const k = keyBytes(key), v = valueBytes(value);
    const r = options.secret === undefined
      ? await this.call("put", [k, v, ttl, this.#application])
      : await this.call("put_removable", [
        k,
        v,
        "SHA",
        sha1(valueBytes(options.secret)),
        ttl,
        this.#application,
      ]);
    return r as number;
  }

  /**
   * Finds every value under a key, following placemarks.
   *
   * @param key The key.
   * @param maxvals Values asked per call (default 10).
   * @returns The values.
   */
  async get(key: string | Uint8Array, maxvals = 10): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    let pm: Uint8Array = new Uint8Array();
    for (let page = 0; page < 10_000; page++) {
      const r = await this.call("get", [keyBytes(key), maxvals, pm, this.#application]);
      const [values, next] = r as [Uint8Array[], Uint8Array];
      out.push(...values);
      if (!(next instanceof Uint8Array) || next.length === 0) break;
      pm = next;
    }
    return out;
  }

  /**
   * Finds every value under a key as UTF-8 text, sorted.
   *
   * @param key The key.
   * @returns The values.
   */
  async getText(key: string | Uint8Array): Promise<string[]> {
    return (await this.get(key)).map((v) => new TextDecoder().decode(v)).sort();
  }

  /**
   * Finds every value under a key with its details (`get_details`).
   *
   * @param key The key.
   * @param maxvals Values asked per call (default 10).
   * @returns The values with TTL and secret details.
   */
  async getDetails(key: string | Uint8Array, maxvals = 10): Promise<ValueDetails[]> {
    const out: ValueDetails[] = [];
    let pm: Uint8Array = new Uint8Array();
    for (let page = 0; page < 10_000; page++) {
      const r = await this.call("get_details", [keyBytes(key), maxvals, pm, this.#application]);
      const [values, next] = r as [[Uint8Array, number, string, Uint8Array][], Uint8Array];
      for (const [value, ttl, hashType, secretHash] of values) {
        out.push({ value, ttl, hashType, secretHash });
      }
      if (!(next instanceof Uint8Array) || next.length === 0) break;
      pm = next;
    }
    return out;
  }

  /**
   * Removes a value (`rm`).
   *
   * @param key The key.
   * @param value The value (its SHA-1 is sent).
   * @param secret The secret it was put with.
   * @param ttl Seconds the removal is remembered (default 3600).
   * @returns The status ({@linkcode SUCCESS}).
   * @throws {XmlRpcFault} When the secret does not match.
   */
  async rm(
    key: string | Uint8Array,
    value: string | Uint8Array,
    secret: string | Uint8Array,
    ttl = 3600,
  ): Promise<number> {
    return await this.call("rm", [
      keyBytes(key),
      sha1(valueBytes(value)),
      "SHA",
      valueBytes(secret),
      ttl,
      this.#application,
    ]) as number;
  }
}
