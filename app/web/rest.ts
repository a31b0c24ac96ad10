// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Building blocks for REST APIs on the web-standard `Request`/`Response`: a router with path
 * templates, content negotiation (JSON and XML), structured data and directories exposed as
 * resources, HTTP Basic and Digest authentication, body size limits and typed errors.
 *
 * Everything works with `Deno.serve` (pass {@linkcode Router.fetch}) or with
 * {@linkcode serveHttp}, an HTTP/1.1 server on the shared accept loop that keeps accepting when
 * the process runs out of file descriptors and bounds connections and request time. A {@linkcode Router} maps
 * `/users/{id}` templates to handlers, answers 404 for unknown paths, 405 with `Allow` for
 * unsupported methods, `HEAD` from `GET` and `OPTIONS` with `Allow`. A handler returns a
 * `Response` or throws an {@linkcode HttpError}, which becomes a status code and a negotiated
 * error body. {@linkcode DataResource} exposes a nested object or a `Map` for GET, PUT, POST and
 * DELETE (like the original rtclite's `data` module), {@linkcode FileResource} a directory as
 * read-only files (like its `files` module), and {@linkcode basicAuth} / {@linkcode digestAuth}
 * guard routes with {@link https://www.rfc-editor.org/rfc/rfc2617 | RFC 2617} authentication.
 *
 * Command line: `deno run -A app/web/rest.ts --port 8080 --data file.json --files DIR`
 * serves the JSON document under `/data/` (changes are written back to the file atomically,
 * see {@linkcode JsonDocumentFile}) and the directory under `/files/`; `--user name:password`
 * (repeatable) with `--auth digest|basic` protects both. Without `--user` the document is
 * read-only unless `--anonymous-writes` is given; bodies are limited by `--max-body` (1 MiB)
 * and `--max-depth` (64 levels), connections by `--max-connections` (1024, 256 per address).
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc9110 | RFC 9110 (HTTP semantics)}
 *
 * @example A small API
 * ```ts
 * import { NotFoundError, respond, Router } from "@rtclite/app/web/rest";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const users = new Map([["1", { name: "alice" }]]);
 * const router = new Router().get("/users/{id}", (req, ctx) => {
 *   const user = users.get(ctx.params.id!);
 *   if (!user) throw new NotFoundError(`No user ${ctx.params.id}`);
 *   return respond(req, user);
 * });
 * const ok = await router.fetch(new Request("http://localhost/users/1"));
 * deepEqual(await ok.json(), { name: "alice" });
 * equal((await router.fetch(new Request("http://localhost/users/2"))).status, 404);
 * const xml = await router.fetch(
 *   new Request("http://localhost/users/1", { headers: { accept: "application/xml" } }),
 * );
 * equal(await xml.text(), '<data type="object"><name>alice</name></data>');
 * ```
 *
 * @module
 */
import { DigestServer, parseBasicCredentials } from "@rtclite/std/ietf/rfc2617";
import { type ParsedCommand, runCommand, UsageError } from "@rtclite/std/cli";
import { getLogger } from "@rtclite/std/log";
import { acceptLoop } from "@rtclite/std/net";
import {
  findHeadEnd,
  formatResponse,
  formatResponseHead,
  HttpParseError,
  type HttpRequestHead,
  parseRequestHead,
  readHead,
} from "@rtclite/std/http1";
import { parseXml, serialize, XmlElement, type XmlNode } from "@rtclite/std/w3c/simplexml";

export type { XmlElement, XmlNode };

const log = getLogger("web", "rest");

// === Errors mapped to status codes ===

/**
 * An error that becomes an HTTP response: its `status`, optional extra `headers`, and its
 * message in the body.
 *
 * @example
 * ```ts
 * import { HttpError, Router } from "@rtclite/app/web/rest";
 * import { equal } from "node:assert/strict";
 *
 * const router = new Router().get("/teapot", () => {
 *   throw new HttpError(418, "Cannot brew coffee: I am a teapot");
 * });
 * const res = await router.fetch(new Request("http://localhost/teapot"));
 * equal(res.status, 418);
 * equal((await res.json()).error.message, "Cannot brew coffee: I am a teapot");
 * ```
 */
export class HttpError extends Error {
  /** HTTP status code (400-599). */
  readonly status: number;
  /** Header fields to add to the error response (e.g. `Allow`, `WWW-Authenticate`). */
  readonly headers: Headers;

  /**
   * Creates an error.
   *
   * @param status Status code, 400-599.
   * @param message Sentence-case message sent in the body.
   * @param headers Extra header fields for the response.
   * @param options Standard error options, e.g. `{ cause }`.
   */
  constructor(status: number, message: string, headers?: HeadersInit, options?: ErrorOptions) {
    super(message, options);
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`Cannot create HttpError: status ${status} is not 400-599`);
    }
    this.name = new.target.name;
    this.status = status;
    this.headers = new Headers(headers);
  }
}

/** 400 Bad Request: the request is malformed (bad JSON, bad path encoding...). */
export class BadRequestError extends HttpError {
  /**
   * Creates the error.
   *
   * @param message What is wrong.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(400, message, undefined, options);
  }
}

/** 401 Unauthorized: carries the `WWW-Authenticate` challenges. */
export class UnauthorizedError extends HttpError {
  /**
   * Creates the error.
   *
   * @param message What is wrong.
   * @param challenges `WWW-Authenticate` values, one header field each.
   */
  constructor(message: string, challenges: readonly string[]) {
    super(401, message, challenges.map((c): [string, string] => ["WWW-Authenticate", c]));
  }
}

/** 403 Forbidden. */
export class ForbiddenError extends HttpError {
  /**
   * Creates the error.
   *
   * @param message What is refused.
   */
  constructor(message: string) {
    super(403, message);
  }
}

/** 404 Not Found. */
export class NotFoundError extends HttpError {
  /**
   * Creates the error.
   *
   * @param message What was not found.
   */
  constructor(message: string) {
    super(404, message);
  }
}

/** 405 Method Not Allowed: carries the `Allow` header. */
export class MethodNotAllowedError extends HttpError {
  /** Methods the resource supports. */
  readonly allow: readonly string[];
  /**
   * Creates the error.
   *
   * @param method The method that was refused.
   * @param allow The methods the resource supports.
   */
  constructor(method: string, allow: readonly string[]) {
    super(405, `Method ${method} is not allowed: use ${allow.join(", ")}`, {
      Allow: allow.join(", "),
    });
    this.allow = allow;
  }
}

/** 406 Not Acceptable: no representation matches `Accept`. */
export class NotAcceptableError extends HttpError {
  /**
   * Creates the error.
   *
   * @param message What was asked for.
   */
  constructor(message: string) {
    super(406, message);
  }
}

/** 413 Content Too Large: the body exceeds the limit. */
export class PayloadTooLargeError extends HttpError {
  /**
   * Creates the error.
   *
   * @param limit The limit in bytes.
   */
  constructor(limit: number) {
    super(413, `Request body is too large: the limit is ${limit} bytes`);
  }
}

/** 415 Unsupported Media Type: the body's `Content-Type` cannot be read. */
export class UnsupportedMediaTypeError extends HttpError {
  /**
   * Creates the error.
   *
   * @param type The type that was sent.
   */
  constructor(type: string) {
    super(415, `Cannot read a body of type ${type || "(none)"}: send JSON or XML`);
  }
}

// === Path templates ===

/** A compiled path template (see {@linkcode compileTemplate}). */
export interface PathTemplate {
  /** The template as written. */
  readonly template: string;
  /** Parameter names in order. */
  readonly names: readonly string[];
  /**
   * Matches a path (percent-encoded, as in `URL.pathname`).
   *
   * @param path The path.
   * @returns The parameters, or `undefined` when the path does not match.
   */
  match(path: string): Record<string, string> | undefined;
}

/**
 * Compiles a path template: literal text, `{name}` for one path segment (percent-decoded), and
 * a final `/{name*}` for the rest of the path, which may be empty (kept percent-encoded, so that
 * an encoded `/` can be told from a separator).
 *
 * @param template E.g. `/users/{id}`, `/files/{path*}`.
 * @returns The compiled template.
 * @throws {SyntaxError} When the template is malformed.
 * @throws {BadRequestError} From `match` when a segment's percent-encoding is invalid.
 *
 * @example
 * ```ts
 * import { compileTemplate } from "@rtclite/app/web/rest";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const t = compileTemplate("/rooms/{room}/files/{path*}");
 * deepEqual(t.match("/rooms/a%20b/files/x/y%2Fz"), { room: "a b", path: "x/y%2Fz" });
 * deepEqual(t.match("/rooms/r/files"), { room: "r", path: "" });
 * equal(t.match("/rooms//files/x"), undefined);
 * ```
 */
export function compileTemplate(template: string): PathTemplate {
  if (!template.startsWith("/")) {
    throw new SyntaxError(`Cannot compile path template: ${template} does not start with /`);
  }
  const names: string[] = [];
  let source = "^";
  let rest: string | undefined;
  const re = /\{([A-Za-z_][A-Za-z0-9_]*)(\*)?\}|[{}]/g;
  let last = 0;
  for (let m; (m = re.exec(template));) {
    if (!m[1]) throw new SyntaxError(`Cannot compile path template ${template}: stray brace`);
    let literal = template.slice(last, m.index);
    last = re.lastIndex;
    if (names.includes(m[1])) {
      throw new SyntaxError(`Cannot compile path template ${template}: duplicate {${m[1]}}`);
    }
    names.push(m[1]);
    if (m[2]) {
      if (last !== template.length || !literal.endsWith("/")) {
        throw new SyntaxError(
          `Cannot compile path template ${template}: {${m[1]}*} must be a final segment`,
        );
      }
      literal = literal.slice(0, -1);
      rest = m[1];
      source += escapeRegExp(literal) + "(?:/(.*))?";
    } else source += escapeRegExp(literal) + "([^/]+)";
  }
  if (rest === undefined) source += escapeRegExp(template.slice(last));
  const regex = new RegExp(source + "$");
  return {
    template,
    names,
    match(path: string): Record<string, string> | undefined {
      const m = regex.exec(path);
      if (!m) return undefined;
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        const value = m[i + 1] ?? "";
        params[name] = name === rest ? value : decodeSegment(value);
      });
      return params;
    },
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Percent-decodes one path segment.
 *
 * @param segment The encoded segment.
 * @returns The decoded text.
 * @throws {BadRequestError} On invalid percent-encoding or UTF-8.
 *
 * @example
 * ```ts
 * import { decodeSegment } from "@rtclite/app/web/rest";
 * import { equal, throws } from "node:assert/strict";
 *
 * equal(decodeSegment("a%20b"), "a b");
 * throws(() => decodeSegment("%E0%A4%A"), { status: 400 });
 * ```
 */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (cause) {
    throw new BadRequestError(`Cannot decode path segment: invalid encoding in ${segment}`, {
      cause,
    });
  }
}

// === Router ===

/** What a handler gets besides the request. */
export interface RequestContext {
  /** The parsed request URL. */
  url: URL;
  /** Template parameters of the matched route. */
  params: Record<string, string>;
  /** The authenticated user, set by {@linkcode basicAuth} or {@linkcode digestAuth}. */
  user?: string;
  /** Largest request body {@linkcode readBody} accepts here. */
  maxBodySize: number;
}

/** Answers a request. */
export type Handler = (req: Request, ctx: RequestContext) => Response | Promise<Response>;

/** Wraps request handling: call `next()` to continue, or return (or throw) to stop. */
export type Middleware = (
  req: Request,
  ctx: RequestContext,
  next: () => Promise<Response>,
) => Promise<Response>;

/**
 * Wraps a handler in middleware (the first runs outermost).
 *
 * @param handler The handler.
 * @param middleware Middleware to run before it.
 * @returns A handler.
 *
 * @example
 * ```ts
 * import { Router, withMiddleware } from "@rtclite/app/web/rest";
 * import { equal } from "node:assert/strict";
 *
 * const stamp = async (_req: Request, _ctx: unknown, next: () => Promise<Response>) => {
 *   const res = await next();
 *   res.headers.set("X-Stamp", "1");
 *   return res;
 * };
 * const router = new Router().get("/", withMiddleware(() => new Response("hi"), stamp));
 * equal((await router.fetch(new Request("http://localhost/"))).headers.get("x-stamp"), "1");
 * ```
 */
export function withMiddleware(handler: Handler, ...middleware: Middleware[]): Handler {
  return (req, ctx) => {
    const step = (i: number): Promise<Response> =>
      i === middleware.length
        ? Promise.resolve(handler(req, ctx))
        : middleware[i]!(req, ctx, () => step(i + 1));
    return step(0);
  };
}

/** Options of {@linkcode Router}. */
export interface RouterOptions {
  /** Largest request body in bytes (default 1 MiB); larger requests get 413. */
  maxBodySize?: number;
}

interface Route {
  methods: Set<string>;
  path: PathTemplate;
  handler: Handler;
}

/**
 * Dispatches requests by path template and method. Unknown paths get 404, known paths with an
 * unsupported method 405 with `Allow`; `HEAD` runs the `GET` handler without the body and
 * `OPTIONS` answers 204 with `Allow`. Routes are tried in the order they were added.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc9110#section-15.5.6 | RFC 9110 §15.5.6 (405)}
 *
 * @example
 * ```ts
 * import { Router } from "@rtclite/app/web/rest";
 * import { equal } from "node:assert/strict";
 *
 * const router = new Router()
 *   .get("/hello/{name}", (_req, ctx) => new Response(`hello ${ctx.params.name}`))
 *   .post("/hello/{name}", () => new Response(null, { status: 204 }));
 * equal(await (await router.fetch(new Request("http://h/hello/bob"))).text(), "hello bob");
 * const res = await router.fetch(new Request("http://h/hello/bob", { method: "DELETE" }));
 * equal(res.status, 405);
 * equal(res.headers.get("allow"), "GET, HEAD, POST, OPTIONS");
 * ```
 */
export class Router {
  #routes: Route[] = [];
  #middleware: Middleware[] = [];
  #maxBodySize: number;

  /**
   * Creates a router.
   *
   * @param options Limits.
   */
  constructor(options: RouterOptions = {}) {
    this.#maxBodySize = options.maxBodySize ?? 1024 * 1024;
  }

  /**
   * Adds a route.
   *
   * @param methods One method or several (`GET` also answers `HEAD`).
   * @param template Path template (see {@linkcode compileTemplate}).
   * @param handler Answers matching requests.
   * @returns This router, for chaining.
   */
  route(methods: string | readonly string[], template: string, handler: Handler): this {
    const list = typeof methods === "string" ? [methods] : methods;
    this.#routes.push({
      methods: new Set(list.map((m) => m.toUpperCase())),
      path: compileTemplate(template),
      handler,
    });
    return this;
  }

  /**
   * Adds a `GET` (and `HEAD`) route.
   *
   * @param template Path template.
   * @param handler The handler.
   * @returns This router.
   */
  get(template: string, handler: Handler): this {
    return this.route("GET", template, handler);
  }

  /**
   * Adds a `PUT` route.
   *
   * @param template Path template.
   * @param handler The handler.
   * @returns This router.
   */
  put(template: string, handler: Handler): this {
    return this.route("PUT", template, handler);
  }

  /**
   * Adds a `POST` route.
   *
   * @param template Path template.
   * @param handler The handler.
   * @returns This router.
   */
  post(template: string, handler: Handler): this {
    return this.route("POST", template, handler);
  }

  /**
   * Adds a `DELETE` route.
   *
   * @param template Path template.
   * @param handler The handler.
   * @returns This router.
   */
  delete(template: string, handler: Handler): this {
    return this.route("DELETE", template, handler);
  }

  /**
   * Adds middleware that runs for every request, before routing (e.g. authentication).
   *
   * @param middleware The middleware.
   * @returns This router.
   */
  use(middleware: Middleware): this {
    this.#middleware.push(middleware);
    return this;
  }

  /**
   * Answers a request; never throws (errors become responses). Bound, so it can be passed to
   * `Deno.serve` as is.
   *
   * @param req The request.
   * @returns The response.
   */
  readonly fetch = async (req: Request): Promise<Response> => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return errorResponse(req, new BadRequestError(`Cannot parse request URL ${req.url}`));
    }
    const ctx: RequestContext = { url, params: {}, maxBodySize: this.#maxBodySize };
    try {
      const length = req.headers.get("content-length");
      if (length !== null && Number(length) > this.#maxBodySize) {
        throw new PayloadTooLargeError(this.#maxBodySize);
      }
      const res = await withMiddleware((r, c) => this.#dispatch(r, c), ...this.#middleware)(
        req,
        ctx,
      );
      if (req.method !== "HEAD" || res.body === null) return res;
      await res.body.cancel();
      return new Response(null, { status: res.status, headers: res.headers });
    } catch (e) {
      if (!(e instanceof HttpError)) {
        log.error("Handler for {method} {path} failed: {error}", {
          method: req.method,
          path: url.pathname,
          error: e instanceof Error ? e.stack ?? e.message : String(e),
        });
      }
      return errorResponse(req, e);
    }
  };

  #dispatch(req: Request, ctx: RequestContext): Response | Promise<Response> {
    const method = req.method.toUpperCase();
    const allow = new Set<string>();
    let found = false;
    for (const route of this.#routes) {
      const params = route.path.match(ctx.url.pathname);
      if (!params) continue;
      found = true;
      if (route.methods.has(method) || (method === "HEAD" && route.methods.has("GET"))) {
        ctx.params = params;
        return route.handler(req, ctx);
      }
      for (const m of route.methods) allow.add(m);
    }
    if (!found) throw new NotFoundError(`Not found: ${ctx.url.pathname}`);
    if (allow.has("GET")) allow.add("HEAD");
    allow.add("OPTIONS");
    const order = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"];
    const list = [...allow].sort((a, b) => rank(order, a) - rank(order, b));
    if (method === "OPTIONS") {
      return new Response(null, { status: 204, headers: { Allow: list.join(", ") } });
    }
    throw new MethodNotAllowedError(method, list);
  }
}

function rank(order: string[], m: string): number {
  const i = order.indexOf(m);
  return i < 0 ? order.length : i;
}

// === Content negotiation ===

/** One media range of an `Accept` header. */
export interface MediaRange {
  /** `type/subtype`, lower case, possibly with `*`. */
  type: string;
  /** Quality 0-1 (default 1). */
  q: number;
}

/**
 * Parses an `Accept` header into media ranges, best first (by quality, then specificity).
 * Malformed members are skipped.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc9110#section-12.5.1 | RFC 9110 §12.5.1}
 *
 * @param header The `Accept` value.
 * @returns The ranges.
 *
 * @example
 * ```ts
 * import { parseAccept } from "@rtclite/app/web/rest";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(parseAccept("text/*;q=0.5, application/xml, *\/*;q=0.1"), [
 *   { type: "application/xml", q: 1 },
 *   { type: "text/*", q: 0.5 },
 *   { type: "*\/*", q: 0.1 },
 * ]);
 * ```
 */
export function parseAccept(header: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const member of header.split(",")) {
    const [range, ...params] = member.split(";").map((s) => s.trim());
    if (!range || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(range)) {
      continue;
    }
    let q = 1;
    for (const p of params) {
      const m = /^q\s*=\s*([01](?:\.\d{0,3})?)$/i.exec(p);
      if (m) q = Math.min(1, Number(m[1]));
    }
    out.push({ type: range.toLowerCase(), q });
  }
  const specificity = (t: string) => t === "*/*" ? 0 : t.endsWith("/*") ? 1 : 2;
  return out.sort((a, b) => b.q - a.q || specificity(b.type) - specificity(a.type));
}

/**
 * Picks the offered media type the client prefers: each offer gets the quality of the most
 * specific range that matches it; the best non-zero quality wins, ties go to the earlier offer.
 * A missing `Accept` accepts the first offer.
 *
 * @param accept The `Accept` value, or `null`.
 * @param offers Media types the server can produce, preferred first.
 * @returns The chosen type, or `undefined` when none is acceptable.
 *
 * @example
 * ```ts
 * import { negotiate } from "@rtclite/app/web/rest";
 * import { equal } from "node:assert/strict";
 *
 * const offers = ["application/json", "application/xml"];
 * equal(negotiate("application/xml, application/json;q=0.9", offers), "application/xml");
 * equal(negotiate("*\/*", offers), "application/json");
 * equal(negotiate("text/html", offers), undefined);
 * equal(negotiate(null, offers), "application/json");
 * ```
 */
export function negotiate(accept: string | null, offers: readonly string[]): string | undefined {
  if (accept === null || accept.trim() === "") return offers[0];
  const ranges = parseAccept(accept);
  let best: string | undefined;
  let bestQ = 0;
  for (const offer of offers) {
    const type = offer.toLowerCase();
    const major = type.split("/")[0];
    let q: number | undefined;
    let spec = -1;
    for (const r of ranges) {
      const s = r.type === type ? 2 : r.type === `${major}/*` ? 1 : r.type === "*/*" ? 0 : -1;
      if (s > spec) {
        spec = s;
        q = r.q;
      }
    }
    if (q !== undefined && q > bestQ) {
      best = offer;
      bestQ = q;
    }
  }
  return best;
}

const XML_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Converts a JSON-compatible value to XML: objects and `Map`s become elements with one child
 * per key (`<entry key="...">` when the key is not an XML name), arrays `<item>` children, and
 * non-string scalars carry a `type` attribute so that {@linkcode fromXml} restores them.
 *
 * @param value The value.
 * @param name The element name (default `data`).
 * @returns The element.
 *
 * @example
 * ```ts
 * import { fromXml, toXml } from "@rtclite/app/web/rest";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const value = { n: 1, tags: ["a"], "two words": null };
 * const xml = toXml(value).toString();
 * equal(xml, '<data type="object"><n type="number">1</n><tags type="array"><item>a</item>' +
 *   '</tags><entry key="two words" type="null"/></data>');
 * deepEqual(fromXml(toXml(value)), value);
 * ```
 */
export function toXml(value: unknown, name = "data"): XmlElement {
  const el = new XmlElement(name);
  if (value === null || value === undefined) el.setAttr("type", "null");
  else if (typeof value === "string") el.append(value);
  else if (typeof value === "number" || typeof value === "boolean") {
    el.setAttr("type", typeof value).append(
      typeof value === "number" && !Number.isFinite(value) ? "null" : String(value),
    );
  } else if (Array.isArray(value)) {
    el.setAttr("type", "array");
    for (const v of value) el.append(toXml(v, "item"));
  } else if (typeof value === "object") {
    el.setAttr("type", "object");
    const entries = value instanceof Map ? [...value] : Object.entries(value);
    for (const [k, v] of entries) {
      const key = String(k);
      if (XML_NAME.test(key) && !/^xml/i.test(key)) el.append(toXml(v, key));
      else {
        const child = toXml(v, "entry");
        child.attributes.delete("type");
        child.setAttr("key", key);
        const type = toXml(v).attr("type");
        if (type) child.setAttr("type", type);
        el.append(child);
      }
    }
  } else el.append(String(value));
  return el;
}

/**
 * Converts XML back to a value (the inverse of {@linkcode toXml}). Without a `type` attribute
 * an element with child elements is an object (repeated names collect into arrays) and
 * anything else its text.
 *
 * @param el The element.
 * @returns The value.
 * @throws {BadRequestError} When a typed element holds an invalid value.
 *
 * @example
 * ```ts
 * import { fromXml } from "@rtclite/app/web/rest";
 * import { parseXml } from "@rtclite/std/w3c/simplexml";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(fromXml(parseXml("<user><name>bob</name><tag>a</tag><tag>b</tag></user>")),
 *   { name: "bob", tag: ["a", "b"] });
 * ```
 */
export function fromXml(el: XmlElement): unknown {
  const type = el.attr("type");
  const kids = el.elements();
  const key = (k: XmlElement) => k.attr("key") ?? k.localName;
  switch (type) {
    case "null":
      return null;
    case "boolean": {
      const t = el.text.trim();
      if (t !== "true" && t !== "false") {
        throw new BadRequestError(`Cannot read XML: <${el.name}> is not a boolean`);
      }
      return t === "true";
    }
    case "number": {
      const t = el.text.trim();
      const n = Number(t);
      if (t === "" || !Number.isFinite(n)) {
        throw new BadRequestError(`Cannot read XML: <${el.name}> is not a number`);
      }
      return n;
    }
    case "array":
      return kids.map(fromXml);
    case "object": {
      const out: Record<string, unknown> = {};
      for (const k of kids) defineKey(out, key(k), fromXml(k));
      return out;
    }
    case undefined:
    case "string":
      break;
    default:
      throw new BadRequestError(`Cannot read XML: unknown type "${type}" on <${el.name}>`);
  }
  if (type === "string" || kids.length === 0) return el.text;
  const out: Record<string, unknown> = {};
  for (const k of kids) {
    const name = key(k);
    const v = fromXml(k);
    if (!Object.hasOwn(out, name)) defineKey(out, name, v);
    else if (Array.isArray(out[name])) (out[name] as unknown[]).push(v);
    else out[name] = [out[name], v];
  }
  return out;
}

function defineKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Media types {@linkcode respond} can produce, preferred first. */
export const DATA_TYPES: readonly string[] = ["application/json", "application/xml", "text/xml"];

/**
 * Makes a response holding `value` as JSON or XML, whichever the request's `Accept` prefers
 * (`Vary: Accept` is set).
 *
 * @param req The request (for its `Accept`).
 * @param value A JSON-compatible value (a `Map` is written as an object).
 * @param init Status and extra headers.
 * @returns The response.
 * @throws {NotAcceptableError} When the client accepts neither.
 *
 * @example
 * ```ts
 * import { respond } from "@rtclite/app/web/rest";
 * import { equal } from "node:assert/strict";
 *
 * const req = new Request("http://h/", { headers: { accept: "text/xml" } });
 * const res = respond(req, [1, true], { status: 201 });
 * equal(res.status, 201);
 * equal(res.headers.get("content-type"), "text/xml; charset=utf-8");
 * equal(await res.text(),
 *   '<data type="array"><item type="number">1</item><item type="boolean">true</item></data>');
 * ```
 */
export function respond(req: Request, value: unknown, init: ResponseInit = {}): Response {
  const type = negotiate(req.headers.get("accept"), DATA_TYPES);
  if (!type) {
    throw new NotAcceptableError(
      `Cannot represent the resource as ${req.headers.get("accept")}: offers are ${
        DATA_TYPES.join(", ")
      }`,
    );
  }
  const headers = new Headers(init.headers);
  headers.set("Content-Type", `${type}; charset=utf-8`);
  headers.append("Vary", "Accept");
  const body = type === "application/json"
    ? JSON.stringify(value, (_k, v) => v instanceof Map ? Object.fromEntries(v) : v)
    : serialize(toXml(value), { declaration: false });
  return new Response(body, { ...init, headers });
}

/**
 * Makes the response for an error: an {@linkcode HttpError} keeps its status and headers, any
 * other error is a 500 without details. The body is `{"error": {"status", "message"}}` as JSON,
 * `<error status="...">message</error>` as XML, or plain text.
 *
 * @param req The request (for its `Accept`).
 * @param error What was thrown.
 * @returns The response.
 *
 * @example
 * ```ts
 * import { errorResponse, NotFoundError } from "@rtclite/app/web/rest";
 * import { equal } from "node:assert/strict";
 *
 * const req = new Request("http://h/", { headers: { accept: "text/plain" } });
 * const res = errorResponse(req, new NotFoundError("No such user"));
 * equal(res.status, 404);
 * equal(await res.text(), "No such user\n");
 * ```
 */
export function errorResponse(req: Request, error: unknown): Response {
  const e = error instanceof HttpError ? error : new HttpError(500, "Internal server error");
  const headers = new Headers(e.headers);
  const type = negotiate(req.headers.get("accept"), [...DATA_TYPES, "text/plain"]);
  let body: string;
  if (type === "application/json") {
    body = JSON.stringify({ error: { status: e.status, message: e.message } });
  } else if (type === "application/xml" || type === "text/xml") {
    body = new XmlElement("error", { status: String(e.status) }, [e.message]).toString();
  } else body = e.message + "\n";
  headers.set("Content-Type", `${type ?? "text/plain"}; charset=utf-8`);
  headers.append("Vary", "Accept");
  return new Response(body, { status: e.status, headers });
}

// === Request bodies ===

/**
 * Reads a request body, stopping as soon as it exceeds `maxSize` bytes.
 *
 * @param req The request.
 * @param maxSize Limit in bytes (e.g. `ctx.maxBodySize`).
 * @returns The body bytes.
 * @throws {PayloadTooLargeError} When the body is larger.
 *
 * @example
 * ```ts
 * import { readBody } from "@rtclite/app/web/rest";
 * import { equal, rejects } from "node:assert/strict";
 *
 * equal((await readBody(new Request("http://h/", { method: "POST", body: "abc" }), 3)).length, 3);
 * await rejects(readBody(new Request("http://h/", { method: "POST", body: "abcd" }), 3),
 *   { status: 413 });
 * ```
 */
export async function readBody(req: Request, maxSize: number): Promise<Uint8Array> {
  const length = req.headers.get("content-length");
  if (length !== null && Number(length) > maxSize) throw new PayloadTooLargeError(maxSize);
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxSize) {
      await reader.cancel().catch(() => {});
      throw new PayloadTooLargeError(maxSize);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/**
 * Reads a JSON or XML request body (by `Content-Type`) into a value.
 *
 * @param req The request.
 * @param maxSize Limit in bytes.
 * @param maxDepth Deepest nesting of arrays and objects (default {@linkcode DEFAULT_MAX_DEPTH}).
 * @returns The value.
 * @throws {UnsupportedMediaTypeError} For another media type.
 * @throws {BadRequestError} When the body does not parse or is nested deeper than `maxDepth`.
 * @throws {PayloadTooLargeError} When the body is larger than `maxSize`.
 *
 * @example
 * ```ts
 * import { readData } from "@rtclite/app/web/rest";
 * import { deepEqual, rejects } from "node:assert/strict";
 *
 * const xml = new Request("http://h/", {
 *   method: "PUT", headers: { "content-type": "application/xml" }, body: "<d><a>1</a></d>",
 * });
 * deepEqual(await readData(xml, 1000), { a: "1" });
 * const bad = new Request("http://h/", {
 *   method: "PUT", headers: { "content-type": "application/json" }, body: "{",
 * });
 * await rejects(readData(bad, 1000), { status: 400 });
 * ```
 */
export async function readData(
  req: Request,
  maxSize: number,
  maxDepth: number = DEFAULT_MAX_DEPTH,
): Promise<unknown> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const json = type === "application/json" || type.endsWith("+json");
  const xml = type === "application/xml" || type === "text/xml" || type.endsWith("+xml");
  if (!json && !xml) throw new UnsupportedMediaTypeError(type);
  const bytes = await readBody(req, maxSize);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new BadRequestError("Cannot read body: invalid UTF-8", { cause });
  }
  // Nesting is bounded before parsing: a 100,000-deep body would parse, but could no longer be
  // serialised (nor saved) afterwards.
  if (json && jsonDepth(text) > maxDepth) {
    throw new BadRequestError(`Cannot accept JSON body: nested deeper than ${maxDepth} levels`);
  }
  try {
    const value = json ? JSON.parse(text) : fromXml(parseXml(text, { restricted: true }));
    if (!json && valueDepth(value, maxDepth) > maxDepth) {
      throw new BadRequestError(`Cannot accept XML body: nested deeper than ${maxDepth} levels`);
    }
    return value;
  } catch (cause) {
    if (cause instanceof HttpError) throw cause;
    throw new BadRequestError(
      `Cannot parse ${json ? "JSON" : "XML"} body: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/** Default limit on the nesting of a JSON or XML body and of the data document: 64 levels. */
export const DEFAULT_MAX_DEPTH = 64;

/** The deepest nesting of arrays and objects in JSON text (strings skipped), in one pass. */
function jsonDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** The nesting depth of a value (0 for a scalar), counted without recursion up to `limit + 1`. */
function valueDepth(value: unknown, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d + 1 > max) max = d + 1;
    if (max > limit) return max;
    const children = v instanceof Map ? [...v.values()] : Object.values(v);
    for (const c of children) stack.push([c, d + 1]);
  }
  return max;
}

// === Structured data as resources ===

/** Options of {@linkcode DataResource}. */
export interface DataResourceOptions {
  /** Refuse PUT, POST and DELETE (405). Default false. */
  readonly?: boolean;
  /** Called after every change (e.g. to save the data). */
  onChange?: (root: DataStore) => void | Promise<void>;
  /**
   * Deepest nesting of the document after a change (path plus body), default
   * {@linkcode DEFAULT_MAX_DEPTH}; deeper changes get 400.
   */
  maxDepth?: number;
}

/** What {@linkcode DataResource} exposes: a nested plain object or a `Map` of values. */
export type DataStore = Record<string, unknown> | Map<string, unknown>;

const FORBIDDEN_KEYS = new Set(["__proto__", "prototype", "constructor"]);

type Container = Record<string, unknown> | unknown[] | Map<string, unknown>;

function isContainer(v: unknown): v is Container {
  return v !== null && typeof v === "object" &&
    (Array.isArray(v) || v instanceof Map || Object.getPrototypeOf(v) === Object.prototype ||
      Object.getPrototypeOf(v) === null);
}

function arrayIndex(key: string): number | undefined {
  return /^(?:0|[1-9]\d{0,8})$/.test(key) ? Number(key) : undefined;
}

function getChild(c: Container, key: string): { found: boolean; value?: unknown } {
  if (c instanceof Map) return c.has(key) ? { found: true, value: c.get(key) } : { found: false };
  if (Array.isArray(c)) {
    const i = arrayIndex(key);
    return i !== undefined && i < c.length ? { found: true, value: c[i] } : { found: false };
  }
  return Object.hasOwn(c, key) ? { found: true, value: c[key] } : { found: false };
}

/**
 * Exposes structured data as resources: each path below the mount point names a value inside
 * the store (`/data/users/0/name`). `GET` returns the value (JSON or XML by `Accept`), `PUT`
 * creates or replaces it (201 or 204), `POST` to an array appends and to an object adds a
 * new numeric key (201 with `Location`), `DELETE` removes it (204). Keys `__proto__`,
 * `prototype` and `constructor` are refused.
 *
 * @example
 * ```ts
 * import { DataResource, Router } from "@rtclite/app/web/rest";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const store = { users: [{ name: "alice" }] };
 * const router = new Router();
 * new DataResource(store).mount(router, "/data");
 * const res = await router.fetch(new Request("http://h/data/users", {
 *   method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"bob"}',
 * }));
 * equal(res.status, 201);
 * equal(res.headers.get("location"), "/data/users/1");
 * deepEqual(store.users[1], { name: "bob" });
 * const got = await router.fetch(new Request("http://h/data/users/1/name"));
 * equal(await got.json(), "bob");
 * ```
 */
export class DataResource {
  readonly #root: DataStore;
  readonly #options: DataResourceOptions;

  /**
   * Creates the resource.
   *
   * @param root The data (changed in place by PUT, POST and DELETE).
   * @param options Read-only mode and change callback.
   */
  constructor(root: DataStore, options: DataResourceOptions = {}) {
    this.#root = root;
    this.#options = options;
  }

  /**
   * Adds this resource's routes (`prefix` and everything below it) to a router.
   *
   * @param router The router.
   * @param prefix Mount point, e.g. `/data` (no trailing slash).
   * @returns The router.
   */
  mount(router: Router, prefix: string): Router {
    const methods = this.#options.readonly ? ["GET"] : ["GET", "PUT", "POST", "DELETE"];
    const template = `${prefix.replace(/\/$/, "")}/{path*}`;
    return router.route(methods, template, (req, ctx) => this.handle(req, ctx, prefix));
  }

  /**
   * Answers a request for the path in `ctx.params.path` (percent-encoded, `/`-separated).
   *
   * @param req The request.
   * @param ctx Its context.
   * @param prefix Mount point, for `Location` headers.
   * @returns The response.
   */
  async handle(req: Request, ctx: RequestContext, prefix = ""): Promise<Response> {
    const keys = (ctx.params.path ?? "").split("/").filter((s) => s !== "").map(decodeSegment);
    for (const k of keys) {
      if (FORBIDDEN_KEYS.has(k)) throw new BadRequestError(`Cannot use key ${k} in a path`);
    }
    const method = req.method.toUpperCase();
    if (method === "GET" || method === "HEAD") return respond(req, this.#lookup(keys).value);
    if (this.#options.readonly) throw new MethodNotAllowedError(method, ["GET", "HEAD"]);
    let status: number;
    let headers: HeadersInit | undefined;
    let created = keys;
    const maxDepth = this.#options.maxDepth ?? DEFAULT_MAX_DEPTH;
    const depthLeft = Math.max(0, maxDepth - keys.length - (method === "POST" ? 1 : 0));
    if (method === "PUT") {
      const value = await readData(req, ctx.maxBodySize, depthLeft);
      status = this.#put(keys, value) ? 201 : 204;
    } else if (method === "POST") {
      const value = await readData(req, ctx.maxBodySize, depthLeft);
      const key = this.#post(keys, value);
      created = [...keys, key];
      status = 201;
      const base = prefix.replace(/\/$/, "");
      headers = {
        Location: [base, ...keys, key].map((k, i) => i === 0 ? k : encodeURIComponent(k))
          .join("/"),
      };
    } else if (method === "DELETE") {
      if (keys.length === 0) throw new MethodNotAllowedError("DELETE", ["GET", "PUT", "POST"]);
      const parent = this.#container(keys.slice(0, -1));
      const key = keys[keys.length - 1]!;
      if (!getChild(parent, key).found) throw new NotFoundError(`No value at /${keys.join("/")}`);
      if (parent instanceof Map) parent.delete(key);
      else if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      status = 204;
    } else throw new MethodNotAllowedError(method, ["GET", "HEAD", "PUT", "POST", "DELETE"]);
    await this.#options.onChange?.(this.#root);
    return status === 204
      ? new Response(null, { status, ...(headers ? { headers } : {}) })
      : respond(req, this.#lookup(created).value, {
        status,
        ...(headers ? { headers } : {}),
      });
  }

  #lookup(keys: readonly string[]): { value: unknown } {
    let value: unknown = this.#root;
    for (let i = 0; i < keys.length; i++) {
      const child = isContainer(value) ? getChild(value, keys[i]!) : { found: false };
      if (!child.found) throw new NotFoundError(`No value at /${keys.slice(0, i + 1).join("/")}`);
      value = child.value;
    }
    return { value };
  }

  #container(keys: readonly string[]): Container {
    const { value } = this.#lookup(keys);
    if (!isContainer(value)) {
      throw new HttpError(409, `Cannot add below /${keys.join("/")}: not an object or array`);
    }
    return value;
  }

  #put(keys: readonly string[], value: unknown): boolean {
    if (keys.length === 0) {
      if (!isContainer(value) || Array.isArray(value)) {
        throw new BadRequestError("Cannot replace the root: send an object");
      }
      const entries = value instanceof Map ? [...value] : Object.entries(value);
      if (this.#root instanceof Map) {
        this.#root.clear();
        for (const [k, v] of entries) this.#root.set(k, v);
      } else {
        for (const k of Object.keys(this.#root)) delete this.#root[k];
        for (const [k, v] of entries) defineKey(this.#root, k, v);
      }
      return false;
    }
    const parent = this.#container(keys.slice(0, -1));
    const key = keys[keys.length - 1]!;
    const created = !getChild(parent, key).found;
    if (parent instanceof Map) parent.set(key, value);
    else if (Array.isArray(parent)) {
      const i = arrayIndex(key);
      if (i === undefined || i > parent.length) {
        throw new NotFoundError(`Cannot put /${keys.join("/")}: index out of range`);
      }
      parent[i] = value;
    } else defineKey(parent, key, value);
    return created;
  }

  #post(keys: readonly string[], value: unknown): string {
    const parent = this.#container(keys);
    if (Array.isArray(parent)) return String(parent.push(value) - 1);
    let n = parent instanceof Map ? parent.size : Object.keys(parent).length;
    while (getChild(parent, String(n)).found) n++;
    const key = String(n);
    if (parent instanceof Map) parent.set(key, value);
    else defineKey(parent, key, value);
    return key;
  }
}

// === A directory as read-only resources ===

const MIME: Record<string, string> = {
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  json: "application/json",
  xml: "application/xml",
  txt: "text/plain; charset=utf-8",
  md: "text/markdown; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  ico: "image/x-icon",
  wasm: "application/wasm",
  wav: "audio/wav",
  mp3: "audio/mpeg",
  mp4: "video/mp4",
  webm: "video/webm",
  sdp: "application/sdp",
  pdf: "application/pdf",
};

/**
 * The media type for a file name, from its extension (`application/octet-stream` when unknown).
 *
 * @param name The file name.
 * @returns The media type.
 *
 * @example
 * ```ts
 * import { contentType } from "@rtclite/app/web/rest";
 * import { equal } from "node:assert/strict";
 *
 * equal(contentType("index.HTML"), "text/html; charset=utf-8");
 * equal(contentType("blob"), "application/octet-stream");
 * ```
 */
export function contentType(name: string): string {
  const dot = name.lastIndexOf(".");
  return (dot >= 0 ? MIME[name.slice(dot + 1).toLowerCase()] : undefined) ??
    "application/octet-stream";
}

/** Options of {@linkcode FileResource}. */
export interface FileResourceOptions {
  /** Answer a directory with a listing (JSON or XML). Default true. */
  listDirectories?: boolean;
  /** Serve files and directories whose name starts with a dot. Default false. */
  dotfiles?: boolean;
}

/** One entry of a directory listing. */
export interface DirectoryEntry {
  /** File name. */
  name: string;
  /** `file` or `directory`. */
  type: "file" | "directory";
  /** Size in bytes (files). */
  size?: number;
}

/**
 * Exposes a directory as read-only resources (`GET`, `HEAD`). Paths are checked segment by
 * segment: `.` and `..`, encoded slashes, backslashes and NUL are refused with 400, dot files
 * are hidden (404) unless allowed, and a symbolic link that resolves outside the directory is
 * refused with 403. Files carry `Content-Type`, `Content-Length`, `Last-Modified` and an
 * `ETag`, and `If-None-Match` gives 304.
 *
 * @example
 * ```ts
 * import { FileResource, Router } from "@rtclite/app/web/rest";
 * import { equal } from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/hello.txt`, "hi\n");
 * const router = new Router();
 * new FileResource(dir).mount(router, "/files");
 * const res = await router.fetch(new Request("http://h/files/hello.txt"));
 * equal(await res.text(), "hi\n");
 * equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
 * equal((await router.fetch(new Request("http://h/files/..%2F..%2Fetc%2Fpasswd"))).status, 400);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FileResource {
  readonly #root: string;
  readonly #options: FileResourceOptions;
  #realRoot: Promise<string> | undefined;

  /**
   * Creates the resource.
   *
   * @param root The directory to serve.
   * @param options Listing and dot-file policy.
   */
  constructor(root: string, options: FileResourceOptions = {}) {
    this.#root = root.replace(/\/+$/, "") || "/";
    this.#options = options;
  }

  /**
   * Adds this resource's routes (`prefix` and everything below it) to a router.
   *
   * @param router The router.
   * @param prefix Mount point, e.g. `/files`.
   * @returns The router.
   */
  mount(router: Router, prefix: string): Router {
    return router.get(
      `${prefix.replace(/\/$/, "")}/{path*}`,
      (req, ctx) => this.handle(req, ctx.params.path ?? ""),
    );
  }

  /**
   * Resolves a request path to a file system path inside the directory.
   *
   * @param path The percent-encoded path below the mount point.
   * @returns The file system path (not yet checked for symbolic links).
   * @throws {BadRequestError} For `.`/`..` segments, encoded slashes, backslashes, NUL.
   * @throws {NotFoundError} For dot files when they are not served.
   */
  resolve(path: string): string {
    const segments = path.split("/").filter((s) => s !== "").map(decodeSegment);
    for (const s of segments) {
      if (s === "." || s === ".." || /[\/\\\0]/.test(s)) {
        throw new BadRequestError(`Cannot serve path segment ${JSON.stringify(s)}`);
      }
      if (s.startsWith(".") && !this.#options.dotfiles) throw new NotFoundError(`Not found: ${s}`);
    }
    return [this.#root, ...segments].join("/");
  }

  #inside(root: string, real: string): boolean {
    return real === root || real.startsWith(root.endsWith("/") ? root : root + "/");
  }

  /**
   * Answers a `GET` or `HEAD` for a path below the mount point.
   *
   * @param req The request.
   * @param path The percent-encoded path below the mount point.
   * @returns The response.
   */
  async handle(req: Request, path: string): Promise<Response> {
    const file = this.resolve(path);
    let real: string;
    let info: Deno.FileInfo;
    try {
      this.#realRoot ??= Deno.realPath(this.#root);
      const root = await this.#realRoot;
      real = await Deno.realPath(file);
      if (!this.#inside(root, real)) {
        throw new ForbiddenError(`Cannot serve ${path}: it leads outside the directory`);
      }
      info = await Deno.stat(real);
    } catch (e) {
      if (e instanceof HttpError) throw e;
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
        throw new NotFoundError(`Not found: /${path}`);
      }
      if (e instanceof Deno.errors.PermissionDenied) {
        throw new ForbiddenError(`Forbidden: /${path}`);
      }
      throw e;
    }
    if (info.isDirectory) {
      if (this.#options.listDirectories === false) {
        throw new ForbiddenError("Cannot list directory");
      }
      const entries: DirectoryEntry[] = [];
      const root = await this.#realRoot!;
      for await (const e of Deno.readDir(real)) {
        if (e.name.startsWith(".") && !this.#options.dotfiles) continue;
        // Symbolic links are listed only when they resolve inside the directory.
        const target = await Deno.realPath(`${real}/${e.name}`).catch(() => undefined);
        if (!target || !this.#inside(root, target)) continue;
        const s = await Deno.stat(target).catch(() => undefined);
        if (s?.isDirectory) entries.push({ name: e.name, type: "directory" });
        else if (s?.isFile) entries.push({ name: e.name, type: "file", size: s.size });
      }
      entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      return respond(req, entries);
    }
    if (!info.isFile) throw new NotFoundError(`Not found: /${path}`);
    const etag = `W/"${info.size.toString(16)}-${(info.mtime?.getTime() ?? 0).toString(16)}"`;
    const headers = new Headers({
      "Content-Type": contentType(real),
      ETag: etag,
      ...(info.mtime ? { "Last-Modified": info.mtime.toUTCString() } : {}),
    });
    const inm = req.headers.get("if-none-match");
    if (inm && inm.split(",").some((t) => t.trim() === etag || t.trim() === "*")) {
      return new Response(null, { status: 304, headers });
    }
    headers.set("Content-Length", String(info.size));
    if (req.method === "HEAD") return new Response(null, { status: 200, headers });
    const f = await Deno.open(real, { read: true });
    return new Response(f.readable, { status: 200, headers });
  }
}

// === Authentication (RFC 2617) ===

/** Options of {@linkcode basicAuth}. */
export interface BasicAuthOptions {
  /** Protection space shown to the user. */
  realm: string;
  /** Checks a user-ID and password. */
  verify: (username: string, password: string) => boolean | Promise<boolean>;
}

/**
 * Middleware requiring HTTP Basic authentication: a request without valid credentials gets
 * 401 with `WWW-Authenticate: Basic realm="..."`; on success `ctx.user` is set. Use it over TLS
 * only: the password travels in clear.
 *
 * @param options Realm and password check.
 * @returns The middleware.
 *
 * @example
 * ```ts
 * import { basicAuth, Router } from "@rtclite/app/web/rest";
 * import { basicCredentials } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * const router = new Router()
 *   .use(basicAuth({ realm: "demo", verify: (u, p) => u === "alice" && p === "secret" }))
 *   .get("/", (_req, ctx) => new Response(`hi ${ctx.user}`));
 * const denied = await router.fetch(new Request("http://h/"));
 * equal(denied.status, 401);
 * equal(denied.headers.get("www-authenticate"), 'Basic realm="demo", charset="UTF-8"');
 * const ok = await router.fetch(new Request("http://h/", {
 *   headers: { authorization: basicCredentials("alice", "secret") },
 * }));
 * equal(await ok.text(), "hi alice");
 * ```
 */
// @implements RFC2617 §2
export function basicAuth(options: BasicAuthOptions): Middleware {
  const challenge = `Basic realm="${options.realm.replace(/["\\]/g, "\\$&")}", charset="UTF-8"`;
  return async (req, ctx, next) => {
    const header = req.headers.get("authorization");
    if (header && /^basic\s/i.test(header)) {
      let creds: { username: string; password: string } | undefined;
      try {
        creds = parseBasicCredentials(header);
      } catch {
        creds = undefined;
      }
      if (creds && await options.verify(creds.username, creds.password)) {
        ctx.user = creds.username;
        return next();
      }
      log.info("Basic authentication failed for {user}", { user: creds?.username });
    }
    throw new UnauthorizedError("Authentication required", [challenge]);
  };
}

/** A user's secret for Digest: the password, or `H(username:realm:password)` as hex. */
export type DigestUserSecret = { password: string } | { ha1: string };

/** Options of {@linkcode digestAuth}. */
export interface DigestAuthOptions {
  /** Protection space. */
  realm: string;
  /** Finds a user's secret; `undefined` for an unknown user. */
  lookup: (
    username: string,
    realm: string,
  ) => DigestUserSecret | undefined | Promise<DigestUserSecret | undefined>;
  /** Algorithms to offer, most preferred first; default `["SHA-256", "MD5"]`. */
  algorithms?:
    ("MD5" | "MD5-sess" | "SHA-256" | "SHA-256-sess" | "SHA-512-256" | "SHA-512-256-sess")[];
  /** Nonce lifetime in milliseconds; default 300000. */
  nonceLifetime?: number;
  /** HMAC key for nonces (share it between server instances); default random. */
  secret?: Uint8Array;
  /** Clock in milliseconds; default `Date.now`. */
  now?: () => number;
}

/**
 * Middleware requiring HTTP Digest authentication with {@linkcode DigestServer}: 401 with one
 * challenge per algorithm (SHA-256 and MD5 by default) until the credentials verify, a fresh
 * challenge with `stale=true` for an expired nonce, and an `Authentication-Info` header on the
 * successful response; `ctx.user` is set.
 *
 * @param options Realm, user lookup and nonce policy.
 * @returns The middleware.
 *
 * @example
 * ```ts
 * import { digestAuth, Router } from "@rtclite/app/web/rest";
 * import { DigestClient } from "@rtclite/std/ietf/rfc2617";
 * import { equal } from "node:assert/strict";
 *
 * const router = new Router()
 *   .use(digestAuth({ realm: "demo", lookup: (u) => u === "bob" ? { password: "pw" } : undefined }))
 *   .get("/secret", (_req, ctx) => new Response(`hi ${ctx.user}`));
 * const first = await router.fetch(new Request("http://h/secret"));
 * equal(first.status, 401);
 * const client = new DigestClient({ username: "bob", password: "pw" });
 * const authorization = await client.authorize(
 *   first.headers.get("www-authenticate")!, { method: "GET", uri: "/secret" });
 * const res = await router.fetch(new Request("http://h/secret", { headers: { authorization } }));
 * equal(await res.text(), "hi bob");
 * equal(await client.verifyAuthenticationInfo(res.headers.get("authentication-info")!), true);
 * ```
 */
// @implements RFC2617 §3.3
export function digestAuth(options: DigestAuthOptions): Middleware {
  const { lookup, ...rest } = options;
  const digest = new DigestServer(rest);
  return async (req, ctx, next) => {
    const header = req.headers.get("authorization");
    let stale = false;
    if (header && /^digest\s/i.test(header)) {
      const body = /auth-int/i.test(header) && req.body
        ? await readBody(req.clone(), ctx.maxBodySize)
        : undefined;
      const result = await digest.verify(header, {
        method: req.method,
        uri: ctx.url.pathname + ctx.url.search,
        ...(body ? { body } : {}),
      }, (username, realm) => lookup(username, realm));
      if (result.ok) {
        ctx.user = result.username;
        const res = await next();
        // @implements RFC2617 §3.2.3
        return withHeader(res, "Authentication-Info", result.authenticationInfo);
      }
      stale = result.stale;
    }
    // @implements RFC2617 §1.2
    throw new UnauthorizedError(
      stale ? "Nonce expired: retry with the new nonce" : "Authentication required",
      await digest.challenge({ stale }),
    );
  };
}

function withHeader(res: Response, name: string, value: string): Response {
  try {
    res.headers.set(name, value);
    return res;
  } catch {
    const headers = new Headers(res.headers);
    headers.set(name, value);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  }
}

// === The document on disk ===

/** The JSON document file cannot be read at start: it is not JSON, or not an object. */
export class DamagedDocumentError extends Error {
  /** The file. */
  readonly path: string;
  /**
   * Creates the error.
   *
   * @param path The file.
   * @param detail What is wrong.
   * @param options The cause.
   */
  constructor(path: string, detail: string, options?: ErrorOptions) {
    super(`Cannot load ${path}: ${detail}`, options);
    this.name = "DamagedDocumentError";
    this.path = path;
  }
}

/**
 * Keeps a JSON document in a file: {@linkcode JsonDocumentFile.load | load()} reads it (a damaged
 * file is a {@linkcode DamagedDocumentError}, not a crash), and
 * {@linkcode JsonDocumentFile.save | save()} writes it atomically: one write at a time, each to
 * a temporary file of its own, flushed to the disk (fsync) and renamed over the document, so
 * that readers and a restart see either the old or the new document, never a torn one. Saves
 * that arrive while a write runs are merged into the next write.
 *
 * @example
 * ```ts
 * import { JsonDocumentFile } from "@rtclite/app/web/rest";
 * import { deepEqual } from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * const file = new JsonDocumentFile(path);
 * await Promise.all([file.save({ n: 1 }), file.save({ n: 2 })]);
 * deepEqual(await file.load(), { n: 2 });
 * await Deno.remove(path);
 * ```
 */
export class JsonDocumentFile {
  readonly #path: string;
  #running: Promise<void> = Promise.resolve();
  #next: Promise<void> | undefined;
  #data: unknown;

  /**
   * Creates the store of one file.
   *
   * @param path The JSON file.
   */
  constructor(path: string) {
    this.#path = path;
  }

  /**
   * Reads the document.
   *
   * @returns The root object.
   * @throws {DamagedDocumentError} When the file is not a JSON object.
   * @throws {Deno.errors.NotFound} When there is no such file.
   */
  async load(): Promise<Record<string, unknown>> {
    const text = await Deno.readTextFile(this.#path);
    let root: unknown;
    try {
      root = JSON.parse(text);
    } catch (cause) {
      throw new DamagedDocumentError(
        this.#path,
        `not valid JSON (${(cause as Error).message}); restore it from a backup or fix it`,
        { cause },
      );
    }
    if (!isContainer(root) || Array.isArray(root) || root instanceof Map) {
      throw new DamagedDocumentError(this.#path, "the document must be a JSON object");
    }
    return root as Record<string, unknown>;
  }

  /**
   * Saves `data` (serialised when its write starts, so the latest state is written).
   *
   * @param data The document.
   * @returns A promise that settles when a write that includes this state has finished.
   */
  save(data: unknown): Promise<void> {
    this.#data = data;
    if (!this.#next) {
      const next = this.#running.then(() => {
        this.#next = undefined;
        return this.#write(JSON.stringify(this.#data, null, 2) + "\n");
      });
      this.#next = next;
      this.#running = next.catch(() => {});
    }
    return this.#next;
  }

  async #write(text: string): Promise<void> {
    const tmp = `${this.#path}.${crypto.randomUUID()}.tmp`;
    try {
      const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      try {
        const bytes = new TextEncoder().encode(text);
        let o = 0;
        while (o < bytes.length) o += await file.write(bytes.subarray(o));
        await file.syncData();
      } finally {
        file.close();
      }
      await Deno.rename(tmp, this.#path);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
  }
}

// === HTTP/1.1 server on the shared accept loop ===

/** Options of {@linkcode serveHttp}. */
export interface ServeHttpOptions {
  /** Address to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /** Most open connections (default 1024); further ones are closed at once. */
  maxConnections?: number;
  /** Most open connections from one IP address (default 256). */
  maxPerAddress?: number;
  /** Milliseconds a request head and body may take to arrive (default 10000). */
  requestTimeout?: number;
  /** Milliseconds an idle keep-alive connection is kept (default 5000). */
  idleTimeout?: number;
  /** Largest request head (default 16 KiB); larger get 431. */
  maxHeadSize?: number;
  /** Largest request body read for the handler (default 1 MiB); larger get 413. */
  maxBodySize?: number;
  /** Called once listening. */
  onListen?: (addr: Deno.NetAddr) => void;
}

/** A running {@linkcode serveHttp} server. */
export interface HttpServer extends AsyncDisposable {
  /** The address listened on. */
  readonly addr: Deno.NetAddr;
  /** Open connections. */
  readonly connections: number;
  /** Stops listening and closes every connection. */
  shutdown(): Promise<void>;
}

/**
 * Serves HTTP/1.1 with `handler` on the shared accept loop (`@rtclite/std/net`), which keeps
 * accepting after the process runs out of file descriptors (`Deno.serve` ends the process then)
 * and caps connections in total and per address. Each request must arrive within
 * `requestTimeout`, idle keep-alive connections are closed after `idleTimeout`, and bodies are
 * read up to `maxBodySize` with `Content-Length` (chunked request bodies get 411).
 *
 * @param options Address and limits.
 * @param handler Answers a request.
 * @returns The running server.
 *
 * @example
 * ```ts
 * import { serveHttp } from "@rtclite/app/web/rest";
 * import { equal } from "node:assert/strict";
 *
 * await using server = serveHttp({ port: 0 }, (req) => new Response(`hi ${new URL(req.url).pathname}`));
 * const res = await fetch(`http://127.0.0.1:${server.addr.port}/x`);
 * equal(await res.text(), "hi /x");
 * ```
 */
export function serveHttp(
  options: ServeHttpOptions,
  handler: (req: Request) => Response | Promise<Response>,
): HttpServer {
  const listener = Deno.listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8080,
  });
  const addr = listener.addr as Deno.NetAddr;
  const loop = acceptLoop(listener, (conn) => serveConnection(conn, addr, options, handler), {
    name: "HTTP",
    maxConnections: options.maxConnections ?? 1024,
    maxPerAddress: options.maxPerAddress ?? 256,
  });
  options.onListen?.(addr);
  return {
    addr,
    get connections() {
      return loop.connections.size;
    },
    shutdown: () => loop.close(),
    [Symbol.asyncDispose]: () => loop.close(),
  };
}

/** Reads exactly `n` bytes after `leftover`. */
async function readExactly(conn: Deno.Conn, leftover: Uint8Array, n: number) {
  const out = new Uint8Array(n);
  let got = Math.min(n, leftover.length);
  out.set(leftover.subarray(0, got));
  const rest = leftover.subarray(got);
  while (got < n) {
    const k = await conn.read(out.subarray(got));
    if (k === null) throw new HttpParseError("Cannot read HTTP body: connection closed", 400);
    got += k;
  }
  return { body: out, rest };
}

async function serveConnection(
  conn: Deno.Conn,
  local: Deno.NetAddr,
  options: ServeHttpOptions,
  handler: (req: Request) => Response | Promise<Response>,
): Promise<void> {
  const remote = conn.remoteAddr as Deno.NetAddr;
  const maxBody = options.maxBodySize ?? 1024 * 1024;
  let leftover: Uint8Array = new Uint8Array(0);
  let first = true;
  for (;;) {
    // One deadline per request (head and body), an idle one between requests.
    const ms = first ? options.requestTimeout ?? 10_000 : options.idleTimeout ?? 5000;
    let timedOut = false;
    let timer = setTimeout(() => {
      timedOut = true;
      conn.close();
    }, ms);
    let head: HttpRequestHead;
    let body: Uint8Array | undefined;
    try {
      let got: { head: Uint8Array; leftover: Uint8Array };
      if (leftover.length && findHeadEnd(leftover, Infinity) >= 0) {
        const end = findHeadEnd(leftover, Infinity);
        got = { head: leftover.slice(0, end), leftover: leftover.slice(end) };
      } else {
        const pre = leftover;
        got = await readHead({
          read: async (p) => {
            if (pre.length) {
              const k = Math.min(pre.length, p.length);
              p.set(pre.subarray(0, k));
              leftover = pre.subarray(k);
              return k;
            }
            return await conn.read(p);
          },
        }, options.maxHeadSize);
      }
      if (!first) {
        // The request has started: it gets the full request deadline.
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = true;
          conn.close();
        }, options.requestTimeout ?? 10_000);
      }
      head = parseRequestHead(got.head);
      leftover = got.leftover;
      if (head.headers.has("transfer-encoding")) {
        throw new HttpParseError("Cannot read HTTP body: chunked bodies are not accepted", 411);
      }
      const length = head.headers.get("content-length");
      if (length !== null) {
        if (!/^\d{1,15}$/.test(length)) {
          throw new HttpParseError("Cannot read HTTP body: bad Content-Length", 400);
        }
        const n = Number(length);
        if (n > maxBody) throw new HttpParseError("Request body is too large", 413);
        const r = await readExactly(conn, leftover, n);
        body = r.body;
        leftover = r.rest;
      }
    } catch (e) {
      clearTimeout(timer);
      if (timedOut || !(e instanceof HttpParseError)) return; // idle, closed or timed out
      await conn.write(formatResponse({ status: e.status, body: e.message + "\n" })).catch(
        () => {},
      );
      return;
    } finally {
      clearTimeout(timer);
    }
    first = false;
    const url = `http://${head.headers.get("host") ?? `${local.hostname}:${local.port}`}${
      head.target.startsWith("/") ? head.target : "/"
    }`;
    let res: Response;
    const keepAlive = head.version === "1.1" &&
      !/\bclose\b/i.test(head.headers.get("connection") ?? "");
    try {
      const req = new Request(url, {
        method: head.method,
        headers: head.headers,
        ...(body && head.method !== "GET" && head.method !== "HEAD"
          ? { body: body as Uint8Array<ArrayBuffer> }
          : {}),
      });
      res = await handler(req);
    } catch (e) {
      log.error("HTTP handler failed for {addr}: {error}", {
        addr: remote.hostname,
        error: String(e),
      });
      res = new Response("Internal Server Error\n", { status: 500 });
    }
    if (!await writeResponse(conn, res, head.method === "HEAD", keepAlive)) return;
    if (!keepAlive) return;
  }
}

/** Writes a response (a streamed body is sent chunked); false when the connection failed. */
async function writeResponse(
  conn: Deno.Conn,
  res: Response,
  head: boolean,
  keepAlive: boolean,
): Promise<boolean> {
  const headers = new Headers(res.headers);
  headers.set("connection", keepAlive ? "keep-alive" : "close");
  const noBody = head || res.status === 204 || res.status === 304 || res.body === null;
  const known = headers.get("content-length");
  let chunked = false;
  if (res.body === null && !head) headers.set("content-length", "0");
  else if (known === null && !noBody) {
    headers.set("transfer-encoding", "chunked");
    chunked = true;
  }
  const encoder = new TextEncoder();
  try {
    await writeAll(conn, formatResponseHead({ status: res.status, headers }));
    if (noBody || !res.body) {
      await res.body?.cancel();
      return true;
    }
    for await (const chunk of res.body) {
      if (!chunk.length) continue;
      if (chunked) await writeAll(conn, encoder.encode(`${chunk.length.toString(16)}\r\n`));
      await writeAll(conn, chunk);
      if (chunked) await writeAll(conn, encoder.encode("\r\n"));
    }
    if (chunked) await writeAll(conn, encoder.encode("0\r\n\r\n"));
    return true;
  } catch {
    await res.body?.cancel().catch(() => {});
    return false;
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let o = 0;
  while (o < data.length) o += await conn.write(data.subarray(o));
}

// === Command line ===

const command = {
  name: "rest.ts",
  usage: "[options]",
  operands: [0, 0],
  description: "Serves the JSON document under /data/ (changes are saved to FILE.json unless " +
    "--readonly)\nand the directory under /files/; --user requires authentication for both.",
  options: {
    port: { short: "p", value: "PORT", help: "port to listen on (default 8080)" },
    hostname: { value: "HOST", help: "address to listen on (default 127.0.0.1)" },
    data: { value: "FILE.json", help: "JSON document to serve under /data/" },
    readonly: { help: "refuse changes to the document" },
    "anonymous-writes": {
      help: "allow changes without --user (by default the document is read-only then)",
    },
    files: { value: "DIR", help: "directory to serve under /files/" },
    user: { value: "NAME:PASSWORD", multiple: true, help: "a user who may sign in" },
    auth: { value: "digest|basic", help: "authentication scheme (default digest)" },
    realm: { value: "REALM", help: "authentication realm (default rtclite)" },
    "max-body": { value: "BYTES", help: "largest request body (default 1048576)" },
    "max-depth": { value: "N", help: "deepest nesting of the document (default 64)" },
    "max-connections": { value: "N", help: "most open connections (default 1024)" },
  },
} as const;

function numberOption(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,15}$/.test(text)) throw new UsageError(`Invalid --${name}: ${text}`);
  return Number(text);
}

async function main({ values }: ParsedCommand<typeof command.options>): Promise<number> {
  if (values.auth !== undefined && values.auth !== "digest" && values.auth !== "basic") {
    throw new UsageError(`Invalid --auth: ${values.auth} (expected digest or basic)`);
  }
  const port = numberOption("port", values.port, 8080);
  const maxBody = numberOption("max-body", values["max-body"], 1024 * 1024);
  const maxDepth = numberOption("max-depth", values["max-depth"], DEFAULT_MAX_DEPTH);
  const maxConnections = numberOption("max-connections", values["max-connections"], 1024);
  const router = new Router({ maxBodySize: maxBody });
  const users = new Map(values.user.map((u) => {
    const i = u.indexOf(":");
    return [i < 0 ? u : u.slice(0, i), i < 0 ? "" : u.slice(i + 1)] as const;
  }));
  const realm = values.realm ?? "rtclite";
  if (users.size) {
    router.use(
      values.auth === "basic"
        ? basicAuth({ realm, verify: (u, p) => users.get(u) === p })
        : digestAuth({
          realm,
          lookup: (u) => users.has(u) ? { password: users.get(u)! } : undefined,
        }),
    );
  }
  const mounted: Record<string, string> = {};
  const dataFile = values.data;
  if (dataFile) {
    const file = new JsonDocumentFile(dataFile);
    let root: Record<string, unknown>;
    try {
      root = await file.load();
    } catch (e) {
      if (!(e instanceof DamagedDocumentError)) throw e;
      console.error(e.message);
      return 1;
    }
    // Without users, anyone could change the document: only with --anonymous-writes.
    const readonly = values.readonly || (!users.size && !values["anonymous-writes"]);
    if (readonly && !values.readonly) {
      console.error("Serving /data/ read-only: give --user, or --anonymous-writes");
    }
    new DataResource(root, {
      readonly,
      maxDepth,
      onChange: (data) => file.save(data),
    }).mount(router, "/data");
    mounted.data = "/data/";
  }
  const dir = values.files;
  if (dir) {
    new FileResource(dir).mount(router, "/files");
    mounted.files = "/files/";
  }
  router.get("/", (req) => respond(req, mounted));
  // Not Deno.serve: it ends the process when accept() fails with EMFILE.
  const server = serveHttp({
    hostname: values.hostname ?? "127.0.0.1",
    port,
    maxConnections,
    maxBodySize: maxBody,
    onListen: ({ hostname, port }) => console.error(`Listening on http://${hostname}:${port}/`),
  }, router.fetch);
  const stopped = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", () => server.shutdown().then(stopped.resolve));
  await stopped.promise;
  return 0;
}

if (import.meta.main) Deno.exit(await runCommand(command, Deno.args, main));
