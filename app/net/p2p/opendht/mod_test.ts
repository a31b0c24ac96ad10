// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import fc from "fast-check";
import { sha1 } from "@noble/hashes/legacy.js";
import {
  AGAIN,
  CAPACITY,
  FAULT,
  memoryBackend,
  OpenDhtClient,
  OpenDhtFault,
  OpenDhtGateway,
  padKey,
  SUCCESS,
} from "./mod.ts";
import {
  decodeMethodCall,
  decodeMethodResponse,
  encodeFault,
  encodeMethodCall,
  encodeMethodResponse,
  XmlRpcFault,
  XmlRpcParseError,
  type XmlRpcValue,
} from "./xmlrpc.ts";

const enc = new TextEncoder();
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

// === XML-RPC ===

Deno.test("XML-RPC: every type round-trips through a call and a response", () => {
  const params: XmlRpcValue[] = [
    0,
    -2147483648,
    2147483647,
    1.5,
    true,
    false,
    "",
    "a <b> & c",
    new Uint8Array(),
    new Uint8Array([0, 255, 1]),
    new Date("2026-01-02T03:04:05Z"),
    null,
    [],
    [1, ["x", new Uint8Array([9])]],
    { faultCode: 1, nested: { list: [true] } },
  ];
  deepEqual(decodeMethodCall(encodeMethodCall("m.x", params)), { method: "m.x", params });
  for (const p of params) deepEqual(decodeMethodResponse(encodeMethodResponse(p)), p);
  // Large integers travel as double.
  ok(encodeMethodResponse(2 ** 40).includes("<double>"));
  throws(() => encodeMethodResponse(NaN), XmlRpcParseError);
});

Deno.test("XML-RPC: decodes what other implementations write", () => {
  // Python's xmlrpc.client writes this for put(Binary(b"k"), Binary(b"v"), 60, "app").
  const python = `<?xml version='1.0'?>
<methodCall>
<methodName>put</methodName>
<params>
<param>
<value><base64>
aw==
</base64></value>
</param>
<param>
<value><base64>
dg==
</base64></value>
</param>
<param>
<value><int>60</int></value>
</param>
<param>
<value><string>app</string></value>
</param>
</params>
</methodCall>
`;
  deepEqual(decodeMethodCall(python), {
    method: "put",
    params: [enc.encode("k"), enc.encode("v"), 60, "app"],
  });
  // Untyped values are strings; i4 is int; whitespace between elements is ignored.
  deepEqual(
    decodeMethodCall(
      "<methodCall><methodName>f</methodName><params><param><value>plain</value></param>" +
        "<param><value><i4> 7 </i4></value></param></params></methodCall>",
    ).params,
    ["plain", 7],
  );
  deepEqual(decodeMethodCall("<methodCall><methodName>f</methodName></methodCall>").params, []);
  const fault = encodeFault(-32601, "No such method: x");
  try {
    decodeMethodResponse(fault);
    ok(false);
  } catch (e) {
    ok(e instanceof XmlRpcFault);
    equal(e.code, -32601);
    equal(e.message, "No such method: x");
  }
});

Deno.test("XML-RPC: bad documents throw XmlRpcParseError only (property)", () => {
  for (
    const bad of [
      "",
      "<a/>",
      "<methodCall><params/></methodCall>",
      "<methodCall><methodName>f</methodName><params><param><value><int>x</int></value></param></params></methodCall>",
      "<methodCall><methodName>f</methodName><params><param><value><int>99999999999</int></value></param></params></methodCall>",
      "<methodCall><methodName>f</methodName><params><param><value><boolean>2</boolean></value></param></params></methodCall>",
      "<methodCall><methodName>f</methodName><params><param><value><base64>@@</base64></value></param></params></methodCall>",
      "<methodCall><methodName>f</methodName><params><param><value><foo/></value></param></params></methodCall>",
      "<methodCall><methodName>bad name</methodName></methodCall>",
      "<methodResponse><params/></methodResponse>",
    ]
  ) {
    throws(
      () => bad.startsWith("<methodResponse") ? decodeMethodResponse(bad) : decodeMethodCall(bad),
      XmlRpcParseError,
      bad,
    );
  }
  const good = encodeMethodCall("put", [new Uint8Array([1, 2]), new Uint8Array([3]), 60, "x"]);
  fc.assert(
    fc.property(fc.nat(), fc.string({ maxLength: 3 }), fc.nat(40), (at, text, cut) => {
      const i = at % good.length;
      const mutated = good.slice(0, i) + text + good.slice(i + (cut % 5));
      try {
        decodeMethodCall(mutated);
      } catch (e) {
        if (!(e instanceof XmlRpcParseError)) throw e;
      }
    }),
    { numRuns: 500 },
  );
});

// === The gateway (OpenDHT semantics) ===

async function callGateway(gw: OpenDhtGateway, method: string, params: XmlRpcValue[]) {
  return decodeMethodResponse(await gw.handle(encodeMethodCall(method, params)));
}

Deno.test("OpenDhtGateway: put, put_removable, get, get_details and rm as OpenDHT defined them", async () => {
  let now = 0;
  const gw = new OpenDhtGateway(memoryBackend(() => now));
  const key = sha1(enc.encode("colors"));
  equal(await callGateway(gw, "put", [key, enc.encode("red"), 60, "put.py"]), SUCCESS);
  const secretHash = sha1(enc.encode("donttell"));
  equal(
    await callGateway(gw, "put_removable", [
      key,
      enc.encode("blue"),
      "SHA",
      secretHash,
      600,
      "put.py",
    ]),
    SUCCESS,
  );
  const [values, pm] = await callGateway(gw, "get", [key, 10, new Uint8Array(), "get.py"]) as [
    Uint8Array[],
    Uint8Array,
  ];
  deepEqual(values.map(dec).sort(), ["blue", "red"]);
  deepEqual(pm, new Uint8Array());
  const [details] = await callGateway(gw, "get_details", [key, 10, new Uint8Array(), "g"]) as [
    [Uint8Array, number, string, Uint8Array][],
  ];
  deepEqual(details.map((d) => [dec(d[0]), d[1], d[2], d[3]]).sort(), [
    ["blue", 600, "SHA", secretHash],
    ["red", 60, "", new Uint8Array()],
  ]);
  // rm with the wrong secret: a fault; with the right one: gone.
  await rejects(
    gw.call({
      method: "rm",
      params: [key, sha1(enc.encode("blue")), "SHA", enc.encode("guess"), 600, "rm.py"],
    }),
    (e) => e instanceof OpenDhtFault && e.code === FAULT.application,
  );
  equal(
    await callGateway(gw, "rm", [
      key,
      sha1(enc.encode("blue")),
      "SHA",
      enc.encode("donttell"),
      600,
      "rm.py",
    ]),
    SUCCESS,
  );
  // TTLs run out.
  now = 61_000;
  deepEqual(await callGateway(gw, "get", [key, 10, new Uint8Array(), "g"]), [[], new Uint8Array()]);
  // Short keys are zero-padded: "k" and "k\0" are one key.
  equal(await callGateway(gw, "put", [enc.encode("k"), enc.encode("v"), 60, "a"]), SUCCESS);
  deepEqual(
    (await callGateway(gw, "get", [Uint8Array.of(107, 0), 1, new Uint8Array(), "a"]) as [
      Uint8Array[],
    ])[0]
      .map(dec),
    ["v"],
  );
  deepEqual(padKey(enc.encode("k")).subarray(0, 2), Uint8Array.of(107, 0));
  equal([SUCCESS, CAPACITY, AGAIN].join(), "0,1,2");
});

Deno.test("OpenDhtGateway: get pages with placemarks, stable while values change", async () => {
  const gw = new OpenDhtGateway(memoryBackend(), { maxValuesPerGet: 3 });
  const key = new Uint8Array(20);
  const all = Array.from({ length: 10 }, (_, i) => `value-${i}`);
  for (const v of all) await gw.call({ method: "put", params: [key, enc.encode(v), 60, "t"] });
  const seen: string[] = [];
  let pm: Uint8Array = new Uint8Array();
  let pages = 0;
  do {
    // maxvals 5 is cut to the gateway's 3.
    const [values, next] = await gw.call({ method: "get", params: [key, 5, pm, "t"] }) as [
      Uint8Array[],
      Uint8Array,
    ];
    ok(values.length <= 3);
    seen.push(...values.map(dec));
    if (pages === 1) {
      // A value added behind the placemark is not seen twice, nor does paging break.
      await gw.call({ method: "put", params: [key, enc.encode("late"), 60, "t"] });
    }
    pm = next;
    pages++;
  } while (pm.length);
  equal(new Set(seen).size, seen.length, "no value twice");
  for (const v of all) ok(seen.includes(v), v);
  ok(pages >= 4);
});

Deno.test("OpenDhtGateway: bad calls are faults, never crashes", async () => {
  const gw = new OpenDhtGateway(memoryBackend());
  const k = new Uint8Array(20), v = enc.encode("v"), pm = new Uint8Array();
  const cases: [string, XmlRpcValue[], number, RegExp][] = [
    ["nope", [], FAULT.method, /No such method/],
    ["put", [k, v, 60], FAULT.params, /takes 4 parameters/],
    ["put", [new Uint8Array(21), v, 60, "a"], FAULT.params, /key is longer than 20 bytes/],
    ["put", [k, new Uint8Array(1025), 60, "a"], FAULT.params, /value is longer than 1024/],
    ["put", [k, v, 604_801, "a"], FAULT.params, /ttl_sec/],
    ["put", [k, v, 0, "a"], FAULT.params, /ttl_sec/],
    ["put", [k, v, "60", "a"], FAULT.params, /must be an int/],
    ["put", [k, v, 60, 5], FAULT.params, /application must be a string/],
    ["put_removable", [k, v, "MD5", new Uint8Array(20), 60, "a"], FAULT.params, /SHA/],
    ["put_removable", [k, v, "SHA", new Uint8Array(3), 60, "a"], FAULT.params, /20-byte/],
    ["get", [k, 0, pm, "a"], FAULT.params, /maxvals/],
    ["get", [k, 10, new Uint8Array(21), "a"], FAULT.params, /placemark/],
    ["rm", [k, new Uint8Array(5), "SHA", v, 60, "a"], FAULT.params, /value_hash/],
  ];
  for (const [method, params, code, message] of cases) {
    const xml = await gw.handle(encodeMethodCall(method, params));
    throws(() => decodeMethodResponse(xml), (e) => {
      ok(e instanceof XmlRpcFault, String(e));
      equal(e.code, code, `${method}: ${e.message}`);
      ok(message.test(e.message), e.message);
      return true;
    });
  }
  const notXml = await gw.handle("not xml");
  throws(
    () => decodeMethodResponse(notXml),
    (e) => e instanceof XmlRpcFault && e.code === FAULT.parse,
  );
  const parse = await gw.handle("<not-xml-rpc/>");
  throws(
    () => decodeMethodResponse(parse),
    (e) => e instanceof XmlRpcFault && e.code === FAULT.parse,
  );
  // A backend that fails: an internal fault, the gateway goes on.
  const failing = new OpenDhtGateway({
    put: () => Promise.reject(new Error("boom")),
    get: () => Promise.resolve([]),
    rm: () => Promise.resolve({ removed: 0, denied: 0 }),
  });
  throws(
    () => decodeMethodResponse(""),
    XmlRpcParseError,
  );
  const xml = await failing.handle(encodeMethodCall("put", [k, v, 60, "a"]));
  throws(
    () => decodeMethodResponse(xml),
    (e) => e instanceof XmlRpcFault && e.code === FAULT.internal,
  );
  // A backend storing on no node: Capacity.
  const full = new OpenDhtGateway({ ...memoryBackend(), put: () => Promise.resolve(0) });
  equal(await full.call({ method: "put", params: [k, v, 60, "a"] }), CAPACITY);
});

Deno.test("OpenDhtClient over fetch: put, get with paging, get_details, rm", async () => {
  const gw = new OpenDhtGateway(memoryBackend(), { maxValuesPerGet: 2 });
  const calls: string[] = [];
  const fakeFetch = (async (_url: string | URL | Request, init?: RequestInit) => {
    const body = String(init?.body);
    calls.push(decodeMethodCall(body).method);
    return new Response(await gw.handle(body), { headers: { "content-type": "text/xml" } });
  }) as typeof fetch;
  const client = new OpenDhtClient("http://gateway.invalid/", { fetch: fakeFetch });
  for (const c of ["red", "green", "blue", "cyan", "magenta"]) {
    equal(await client.put("colors", c), 0);
  }
  equal(await client.put("colors", "black", { secret: "s", ttl: 30 }), 0);
  deepEqual(await client.getText("colors"), ["black", "blue", "cyan", "green", "magenta", "red"]);
  ok(calls.filter((m) => m === "get").length >= 3, "paged");
  const details = await client.getDetails("colors");
  equal(details.length, 6);
  ok(details.some((d) => dec(d.value) === "black" && d.ttl === 30));
  await rejects(client.rm("colors", "black", "wrong"), XmlRpcFault);
  equal(await client.rm("colors", "black", "s"), 0);
  deepEqual((await client.getText("colors")).length, 5);
  const broken = new OpenDhtClient("http://x.invalid/", {
    fetch: (() => Promise.resolve(new Response("no", { status: 500 }))) as typeof fetch,
  });
  await rejects(broken.put("k", "v"), XmlRpcParseError);
});
