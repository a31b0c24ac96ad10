// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * A small XML DOM with namespace-aware navigation and serialization, and a push parser for XML
 * streams such as XMPP's.
 *
 * The push parser yields each complete child of an open root element as bytes arrive.
 * {@linkcode parseXml} reads a whole document; {@linkcode XmlPushParser} reads a stream such as
 * `<stream:stream ...>` followed by stanzas, in chunks split anywhere (even inside a multi-byte
 * UTF-8 character), and reports `open`, one `element` per complete first-level element, and
 * `close`. Both check well-formedness and namespace well-formedness (predefined and numeric
 * entities, CDATA, comments, processing instructions, the XML declaration; DTDs are not
 * processed) and throw {@linkcode XmlParseError} with the offset of the problem. Depth and size
 * limits ({@linkcode XmlLimitError}) protect servers; `restricted: true` rejects the XML features
 * XMPP forbids ({@linkcode XmlRestrictedError}).
 *
 * @see {@link https://www.w3.org/TR/xml/ | Extensible Markup Language (XML) 1.0},
 * {@link https://www.w3.org/TR/xml-names/ | Namespaces in XML 1.0},
 * {@link https://www.rfc-editor.org/rfc/rfc6120#section-4 | RFC 6120 §4 (XML streams)}
 *
 * @example Build, navigate and serialize
 * ```ts
 * import { parseXml, XmlElement } from "@rtclite/std/w3c/simplexml";
 * import { equal } from "node:assert/strict";
 *
 * const iq = new XmlElement("iq", { type: "get", id: "1" }, [
 *   new XmlElement("query", { xmlns: "jabber:iq:roster" }),
 * ]);
 * equal(iq.toString(), '<iq type="get" id="1"><query xmlns="jabber:iq:roster"/></iq>');
 * const doc = parseXml('<a xmlns:p="urn:p"><p:b x="1">T &amp; U</p:b></a>');
 * equal(doc.child("b", "urn:p")?.text, "T & U");
 * ```
 *
 * @example Push-parse an XMPP stream
 * ```ts
 * import { XmlPushParser } from "@rtclite/std/w3c/simplexml";
 * import { deepEqual } from "node:assert/strict";
 *
 * const parser = new XmlPushParser({ restricted: true });
 * const events = [
 *   ...parser.push("<stream:stream xmlns='jabber:client' xmlns:stream="),
 *   ...parser.push("'http://etherx.jabber.org/streams'><message><bo"),
 *   ...parser.push("dy>hi</body></message> </stream:stream>"),
 * ];
 * deepEqual(events.map((e) => e.type), ["open", "element", "close"]);
 * ```
 *
 * @module
 */
// @implements RFC6120 §4.1 (XML streams: a root element that frames first-level elements)
import { ParseError } from "../../errors.ts";

export { ParseError };

// === Errors ===

/** Malformed XML (not well-formed or not namespace-well-formed); `offset` counts characters. */
export class XmlParseError extends ParseError {}

/** XML that uses a feature forbidden by `restricted: true` (RFC 6120 §11.1): `<restricted-xml/>`. */
export class XmlRestrictedError extends XmlParseError {}

/** Input exceeding a configured depth, size or attribute limit. */
export class XmlLimitError extends XmlParseError {}

// === Names and characters (XML 1.0 §2.2-2.3) ===

const NAME_START =
  ":A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF" +
  "\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD" +
  "\\u{10000}-\\u{EFFFF}";
const NAME_CHAR = NAME_START + "\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040";
const NAME_AT = new RegExp(`[${NAME_START}][${NAME_CHAR}]*`, "uy");
const NAME = new RegExp(`^[${NAME_START}][${NAME_CHAR}]*$`, "u");
const INVALID_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const WS = /^[ \t\r\n]*$/;

// ASCII fast paths for the common case.
const ASCII_QNAME = /^[A-Za-z_][A-Za-z0-9_.-]*(?::[A-Za-z_][A-Za-z0-9_.-]*)?$/;
const ASCII_NAME_AT = /[A-Za-z_:][A-Za-z0-9_.:-]*(?![^ \t\r\n=/>?])/y;

function isQName(name: string): boolean {
  if (ASCII_QNAME.test(name)) return true;
  if (!NAME.test(name)) return false;
  const colon = name.indexOf(":");
  return colon < 0 || (colon > 0 && colon < name.length - 1 && name.indexOf(":", colon + 1) < 0);
}

function splitName(name: string): [string | undefined, string] {
  const colon = name.indexOf(":");
  return colon < 0 ? [undefined, name] : [name.slice(0, colon), name.slice(colon + 1)];
}

const XML_NS = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

// === DOM ===

/** A child of an element: an element or character data. */
export type XmlNode = XmlElement | string;

/**
 * An XML element: a qualified name, attributes in document order (namespace declarations
 * included, as `xmlns` / `xmlns:p` attributes) and children (elements and text strings).
 * Namespaces are resolved through the `parent` chain.
 *
 * @example
 * ```ts
 * import { XmlElement } from "@rtclite/std/w3c/simplexml";
 * import { equal } from "node:assert/strict";
 *
 * const msg = new XmlElement("message", { xmlns: "jabber:client", to: "juliet@example.com" });
 * msg.append(new XmlElement("body", {}, ["Art thou not Romeo?"]));
 * equal(msg.child("body")?.namespace, "jabber:client");
 * equal(msg.childText("body"), "Art thou not Romeo?");
 * equal(msg.attr("to"), "juliet@example.com");
 * ```
 */
export class XmlElement {
  /** The qualified name as written, e.g. `stream:features` or `body`. */
  readonly name: string;
  /** Attributes by qualified name, in order. */
  readonly attributes: Map<string, string>;
  /** Child elements and text. Use {@linkcode XmlElement.append} to keep `parent` right. */
  readonly children: XmlNode[] = [];
  /** The element this one belongs to (for a stanza from {@linkcode XmlPushParser}: the root). */
  parent: XmlElement | undefined;

  /**
   * Creates an element.
   *
   * @param name Qualified name (`prefix:local` or `local`).
   * @param attributes Attributes, including `xmlns` declarations.
   * @param children Child elements and text (a single string is one text child).
   * @throws {TypeError} When the name or an attribute name is not a valid XML qualified name.
   */
  constructor(
    name: string,
    attributes: Record<string, string> | Iterable<[string, string]> = {},
    children: Iterable<XmlNode> = [],
  ) {
    if (!isQName(name)) throw new TypeError(`Cannot create XML element: invalid name ${name}`);
    this.name = name;
    this.attributes = new Map();
    const entries = Symbol.iterator in attributes
      ? attributes as Iterable<[string, string]>
      : Object.entries(attributes);
    for (const [k, v] of entries) this.setAttr(k, v);
    if (typeof children === "string") this.append(children);
    else this.append(...children);
  }

  /** The prefix of the name, or `undefined`. */
  get prefix(): string | undefined {
    return splitName(this.name)[0];
  }

  /** The local part of the name. */
  get localName(): string {
    return splitName(this.name)[1];
  }

  /** The namespace name (URI) of the element; empty when it has none. */
  get namespace(): string {
    return this.lookupNamespace(this.prefix) ?? "";
  }

  /**
   * Resolves a prefix in this element's scope.
   *
   * @param prefix A prefix, or `undefined` for the default namespace.
   * @returns The namespace name, or `undefined` when unbound (the default namespace undeclared
   * or declared empty also gives `undefined`).
   */
  lookupNamespace(prefix: string | undefined): string | undefined {
    if (prefix === "xml") return XML_NS;
    if (prefix === "xmlns") return XMLNS_NS;
    const key = prefix === undefined ? "xmlns" : `xmlns:${prefix}`;
    return lookup(this, key);
  }

  /**
   * Returns an attribute value.
   *
   * @param name The qualified name, or the local name when `namespace` is given.
   * @param namespace Namespace name of a prefixed attribute (unprefixed ones have none).
   * @returns The value, or `undefined`.
   */
  attr(name: string, namespace?: string): string | undefined {
    if (namespace === undefined) return this.attributes.get(name);
    for (const [k, v] of this.attributes) {
      const [prefix, local] = splitName(k);
      if (local === name && prefix !== undefined && this.lookupNamespace(prefix) === namespace) {
        return v;
      }
    }
    return undefined;
  }

  /**
   * Sets or (with `undefined`) removes an attribute.
   *
   * @param name Qualified name.
   * @param value The value, or `undefined` to remove.
   * @returns This element.
   * @throws {TypeError} When the name is not a valid qualified name.
   */
  setAttr(name: string, value: string | undefined): this {
    if (!isQName(name)) throw new TypeError(`Cannot set XML attribute: invalid name ${name}`);
    if (value === undefined) this.attributes.delete(name);
    else this.attributes.set(name, value);
    return this;
  }

  /**
   * Appends children (elements are detached from a previous parent).
   *
   * @param nodes Elements and text.
   * @returns This element.
   */
  append(...nodes: XmlNode[]): this {
    for (const n of nodes) {
      if (typeof n !== "string") {
        n.remove();
        n.parent = this;
      }
      this.children.push(n);
    }
    return this;
  }

  /**
   * Removes this element from its parent's children.
   *
   * @returns This element.
   */
  remove(): this {
    const p = this.parent;
    if (p) {
      const i = p.children.indexOf(this);
      if (i >= 0) p.children.splice(i, 1);
      this.parent = undefined;
    }
    return this;
  }

  /**
   * Child elements, optionally only those with a local name and namespace.
   *
   * @param name Local name to match (any when absent).
   * @param namespace Namespace name to match (any when absent).
   * @returns Matching child elements in order.
   */
  elements(name?: string, namespace?: string): XmlElement[] {
    return this.children.filter((c): c is XmlElement =>
      typeof c !== "string" && (name === undefined || c.localName === name) &&
      (namespace === undefined || c.namespace === namespace)
    );
  }

  /**
   * The first child element with a local name (and namespace).
   *
   * @param name Local name.
   * @param namespace Namespace name (any when absent).
   * @returns The element or `undefined`.
   */
  child(name: string, namespace?: string): XmlElement | undefined {
    return this.elements(name, namespace)[0];
  }

  /**
   * The text of the first child element with a local name (and namespace).
   *
   * @param name Local name.
   * @param namespace Namespace name (any when absent).
   * @returns Its text, or `undefined` when there is no such child.
   */
  childText(name: string, namespace?: string): string | undefined {
    return this.child(name, namespace)?.text;
  }

  /**
   * Follows a path of local names, e.g. `query/item`.
   *
   * @param path Local names separated by `/`.
   * @returns The first element on that path, or `undefined`.
   */
  find(path: string): XmlElement | undefined {
    return path.split("/").filter((step) => step).reduce<XmlElement | undefined>(
      (e, step) => e?.child(step),
      this,
    );
  }

  /** All character data below this element, concatenated; setting replaces the children. */
  get text(): string {
    return this.children.map((c) => typeof c === "string" ? c : c.text).join("");
  }

  set text(value: string) {
    for (const c of this.children) if (typeof c !== "string") c.parent = undefined;
    this.children.length = 0;
    if (value) this.children.push(value);
  }

  /**
   * Serializes the element.
   *
   * @returns Compact XML text.
   */
  toString(): string {
    return serialize(this);
  }
}

function lookup(el: XmlElement | undefined, key: string): string | undefined {
  for (; el; el = el.parent) {
    const v = el.attributes.get(key);
    if (v !== undefined) return v === "" ? undefined : v;
  }
  return undefined;
}

// === Serialization (XML 1.0 §2.4, §3.1) ===

function checkChars(s: string): string {
  const m = INVALID_CHAR.exec(s);
  if (m) {
    throw new TypeError(
      `Cannot serialize XML: character U+${
        m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")
      } is not allowed`,
    );
  }
  return s;
}

/**
 * Escapes character data: `&`, `<`, `>` and CR (which a parser would otherwise turn into LF).
 *
 * @param s Text.
 * @returns Escaped text.
 * @throws {TypeError} When the text holds a character XML cannot carry (e.g. U+0000).
 *
 * @example
 * ```ts
 * import { escapeText } from "@rtclite/std/w3c/simplexml";
 * import { equal } from "node:assert/strict";
 *
 * equal(escapeText("a < b & c"), "a &lt; b &amp; c");
 * ```
 */
export function escapeText(s: string): string {
  return checkChars(s).replace(/[&<>\r]/g, (c) => ESC[c]!);
}

/**
 * Escapes an attribute value for double quotes, including TAB, LF and CR, so that attribute
 * value normalization gives the value back.
 *
 * @param s Value.
 * @returns Escaped value.
 * @throws {TypeError} When the value holds a character XML cannot carry.
 *
 * @example
 * ```ts
 * import { escapeAttribute } from "@rtclite/std/w3c/simplexml";
 * import { equal } from "node:assert/strict";
 *
 * equal(escapeAttribute('say "hi"\n'), "say &quot;hi&quot;&#10;");
 * ```
 */
export function escapeAttribute(s: string): string {
  return checkChars(s).replace(/[&<>"\t\n\r]/g, (c) => ESC[c]!);
}

const ESC: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

/**
 * The start tag of an element without its content, e.g. to open an XMPP stream.
 *
 * @param el The element.
 * @returns `<name attr="value" ...>`.
 *
 * @example
 * ```ts
 * import { startTag, XmlElement } from "@rtclite/std/w3c/simplexml";
 * import { equal } from "node:assert/strict";
 *
 * equal(startTag(new XmlElement("stream:stream", { "xmlns:stream": "http://etherx.jabber.org/streams" })),
 *   '<stream:stream xmlns:stream="http://etherx.jabber.org/streams">');
 * ```
 */
export function startTag(el: XmlElement): string {
  let s = `<${el.name}`;
  for (const [k, v] of el.attributes) s += ` ${k}="${escapeAttribute(v)}"`;
  return s + ">";
}

/** Options of {@linkcode serialize}. */
export interface SerializeOptions {
  /** Indentation per level (spaces or a string); compact when absent. Mixed content stays inline. */
  indent?: number | string;
  /** Prepend `<?xml version="1.0" encoding="UTF-8"?>`. */
  declaration?: boolean;
}

/**
 * Serializes an element (or escapes a text node).
 *
 * @param node Element or text.
 * @param options Indentation and XML declaration.
 * @returns XML text.
 * @throws {TypeError} When text or an attribute holds a character XML cannot carry.
 *
 * @example
 * ```ts
 * import { parseXml, serialize } from "@rtclite/std/w3c/simplexml";
 * import { equal } from "node:assert/strict";
 *
 * equal(serialize(parseXml("<a><b>x</b><c/></a>"), { indent: 2 }),
 *   "<a>\n  <b>x</b>\n  <c/>\n</a>");
 * ```
 */
export function serialize(node: XmlNode, options: SerializeOptions = {}): string {
  const unit = typeof options.indent === "number" ? " ".repeat(options.indent) : options.indent;
  const out: string[] = [];
  if (options.declaration) out.push('<?xml version="1.0" encoding="UTF-8"?>', unit ? "\n" : "");
  const write = (n: XmlNode, depth: number): void => {
    if (typeof n === "string") {
      out.push(escapeText(n));
      return;
    }
    if (n.children.length === 0) {
      out.push(startTag(n).slice(0, -1) + "/>");
      return;
    }
    out.push(startTag(n));
    const pretty = unit !== undefined &&
      n.children.every((c) => typeof c !== "string" || WS.test(c)) &&
      n.children.some((c) => typeof c !== "string");
    if (pretty) {
      for (const c of n.children) {
        if (typeof c === "string") continue;
        out.push("\n", unit.repeat(depth + 1));
        write(c, depth + 1);
      }
      out.push("\n", unit.repeat(depth));
    } else for (const c of n.children) write(c, depth + 1);
    out.push(`</${n.name}>`);
  };
  write(node, 0);
  return out.join("");
}

// === Parsing ===

/** Limits and policy of {@linkcode parseXml} and {@linkcode XmlPushParser}. */
export interface XmlParseOptions {
  /** Deepest element nesting (the root is depth 1). Default 256. */
  maxDepth?: number;
  /**
   * Largest first-level element of a stream, or the whole document for {@linkcode parseXml},
   * in characters. Default 1 MiB for streams, unlimited for documents.
   */
  maxStanzaSize?: number;
  /** Most attributes on one element. Default 256. */
  maxAttributes?: number;
  /** Reject comments, processing instructions and DTDs (RFC 6120 §11.1). Default false. */
  restricted?: boolean;
}

/** What {@linkcode XmlPushParser.push} reports. */
export type XmlStreamEvent =
  | {
    /** The root start tag was read (e.g. `<stream:stream>`). */
    type: "open";
    /** The root element, without children. */
    root: XmlElement;
  }
  | {
    /** A first-level element is complete. */
    type: "element";
    /** The element; its `parent` is the root (for namespaces) but the root does not keep it. */
    element: XmlElement;
  }
  | {
    /** Non-whitespace character data between first-level elements. */
    type: "text";
    /** The text. */
    text: string;
  }
  | {
    /** The root end tag was read. */
    type: "close";
  };

const PREDEFINED: Record<string, string> = {
  lt: "<",
  gt: ">",
  amp: "&",
  apos: "'",
  quot: '"',
};

type Peek = "yes" | "no" | "more";

/** Longest entity reference accepted, `&` to `;` exclusive. */
const MAX_REF = 32;

class Core {
  #document: boolean;
  #maxDepth: number;
  #maxSize: number;
  #maxAttributes: number;
  #restricted: boolean;
  #decoder: TextDecoder;
  #buf = "";
  #pos = 0;
  #base = 0;
  #stack: XmlElement[] = [];
  #root: XmlElement | undefined;
  #state: "prolog" | "root" | "epilog" = "prolog";
  #stanzaStart = -1;
  #topText = "";
  #started = false;
  #error: XmlParseError | undefined;
  // Where the scan for the end of incomplete markup stopped, so that markup arriving in many
  // small chunks is scanned once (absolute offsets).
  #scanStart = -1;
  #scanFrom = 0;
  #scanQuote = "";
  events: XmlStreamEvent[] = [];

  constructor(document: boolean, o: XmlParseOptions) {
    this.#document = document;
    this.#maxDepth = o.maxDepth ?? 256;
    this.#maxSize = o.maxStanzaSize ?? (document ? Infinity : 1 << 20);
    this.#maxAttributes = o.maxAttributes ?? 256;
    this.#restricted = o.restricted ?? false;
    this.#decoder = this.#newDecoder();
  }

  #newDecoder(): TextDecoder {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: !this.#document });
  }

  get root(): XmlElement | undefined {
    return this.#root;
  }

  get offset(): number {
    return this.#base + this.#pos;
  }

  reset(): void {
    this.#decoder = this.#newDecoder();
    this.#buf = "";
    this.#pos = this.#base = 0;
    this.#stack = [];
    this.#root = undefined;
    this.#state = "prolog";
    this.#stanzaStart = -1;
    this.#topText = "";
    this.#started = false;
    this.#error = undefined;
    this.#scanStart = -1;
    this.events = [];
  }

  #fail(message: string, at = this.offset, Kind = XmlParseError): never {
    throw new Kind(`Cannot parse XML: ${message}`, at);
  }

  push(chunk: string | Uint8Array, final: boolean): void {
    if (this.#error) throw this.#error;
    try {
      let text: string;
      if (typeof chunk === "string") text = chunk;
      else {
        try {
          text = this.#decoder.decode(chunk, { stream: !final });
        } catch (cause) {
          // @implements RFC6120 §11.6 ¶1, RFC3920 §11.5
          throw new XmlParseError("Cannot parse XML: input is not valid UTF-8", this.offset, {
            cause,
          });
        }
      }
      if (final && typeof chunk === "string") {
        try {
          text += this.#decoder.decode();
        } catch (cause) {
          throw new XmlParseError(
            "Cannot parse XML: input ends inside a UTF-8 sequence",
            this.offset,
            {
              cause,
            },
          );
        }
      }
      this.#buf = this.#buf.slice(this.#pos) + text;
      this.#base += this.#pos;
      this.#pos = 0;
      this.#run(final);
      if (final) this.#finish();
    } catch (e) {
      if (e instanceof XmlParseError) this.#error = e;
      throw e;
    }
  }

  #finish(): void {
    if (this.#pos < this.#buf.length) this.#fail("input ends inside markup");
    if (this.#stack.length) {
      this.#fail(`input ends before </${this.#stack[this.#stack.length - 1]!.name}>`);
    }
    if (this.#document && !this.#root) this.#fail("no root element");
  }

  #checkSize(end: number): void {
    const start = this.#document ? 0 : this.#stanzaStart;
    if (start >= 0 && this.#base + end - start > this.#maxSize) {
      this.#fail(`element larger than ${this.#maxSize} characters`, start, XmlLimitError);
    }
  }

  #run(final: boolean): void {
    const buf = this.#buf;
    while (this.#pos < buf.length) {
      if (buf[this.#pos] !== "<") {
        let end = buf.indexOf("<", this.#pos);
        if (end < 0) {
          end = buf.length;
          if (!final) {
            // Hold back what a later chunk could change: a partial entity reference, a CR
            // before a possible LF and up to two "]" before a possible ">".
            // From the first "&" after the last ";": an entity reference may be incomplete.
            const amp = buf.indexOf("&", Math.max(this.#pos, buf.lastIndexOf(";") + 1));
            if (amp >= 0 && buf.length - amp <= MAX_REF) end = amp;
            if (end > this.#pos && buf[end - 1] === "\r") end--;
            for (let k = 0; k < 2 && end > this.#pos && buf[end - 1] === "]"; k++) end--;
            if (end === this.#pos) break;
          }
        }
        this.#text(buf.slice(this.#pos, end));
        this.#pos = end;
        this.#checkSize(end);
        continue;
      }
      if (!this.#markup(final)) {
        this.#checkSize(buf.length);
        if (!this.#document && this.#stanzaStart < 0 && buf.length - this.#pos > this.#maxSize) {
          this.#fail(`markup longer than ${this.#maxSize} characters`, this.offset, XmlLimitError);
        }
        break;
      }
      this.#checkSize(this.#pos);
    }
  }

  #peek(lit: string): Peek {
    const avail = this.#buf.length - this.#pos;
    const n = Math.min(avail, lit.length);
    if (this.#buf.slice(this.#pos, this.#pos + n) !== lit.slice(0, n)) return "no";
    return n === lit.length ? "yes" : "more";
  }

  // Character data (XML 1.0 §2.4), entity references (§4.1, §4.6), line ends (§2.11).
  #text(raw: string): void {
    const at = this.offset;
    const depth = this.#stack.length;
    if (depth === 0) {
      // A byte order mark is stripped from documents only; in a stream it is a ZWNBSP.
      // @implements RFC6120 §11.6 ¶2, RFC3920 §11.5
      if (!WS.test(raw)) this.#fail("text outside the root element", at + raw.search(/[^ \t\r\n]/));
      this.#started = true;
      return;
    }
    const bad = raw.indexOf("]]>");
    if (bad >= 0) {
      this.#decode(raw.slice(0, bad), at, false); // report an earlier error first
      this.#fail('"]]>" in character data', at + bad);
    }
    const text = this.#decode(raw, at, false);
    if (depth === 1 && !this.#document) {
      // @implements RFC6120 §11.7
      this.#addTopText(text, at);
      return;
    }
    this.#appendText(this.#stack[depth - 1]!, text);
  }

  #appendText(parent: XmlElement, text: string): void {
    if (!text) return;
    const last = parent.children.length - 1;
    if (typeof parent.children[last] === "string") parent.children[last] += text;
    else parent.children.push(text);
  }

  #addTopText(text: string, at: number): void {
    this.#topText += text;
    if (this.#topText.length > this.#maxSize) {
      this.#fail(`text longer than ${this.#maxSize} characters`, at, XmlLimitError);
    }
  }

  #flushTopText(): void {
    if (this.#topText) {
      if (!WS.test(this.#topText)) this.events.push({ type: "text", text: this.#topText });
      this.#topText = "";
    }
  }

  #decode(raw: string, at: number, attr: boolean): string {
    let out = "";
    let i = 0;
    const literal = (s: string, from: number): string => {
      const bad = INVALID_CHAR.exec(s);
      if (bad) {
        this.#fail(
          `character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase()} is not allowed`,
          from + bad.index,
        );
      }
      return attr ? s.replace(/\r\n|[\r\n\t]/g, " ") : s.replace(/\r\n?/g, "\n");
    };
    for (;;) {
      const amp = raw.indexOf("&", i);
      if (amp < 0) return out + literal(raw.slice(i), at + i);
      out += literal(raw.slice(i, amp), at + i);
      const semi = raw.indexOf(";", amp);
      if (semi < 0 || semi - amp > MAX_REF) this.#fail("unterminated entity reference", at + amp);
      const ref = raw.slice(amp + 1, semi);
      let ch: string | undefined;
      const m = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(ref);
      if (m) {
        const cp = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
        if (cp <= 0x10ffff) ch = String.fromCodePoint(cp);
        if (ch === undefined || INVALID_CHAR.test(ch)) {
          this.#fail(`character reference &${ref}; is not an XML character`, at + amp);
        }
      } else {
        ch = PREDEFINED[ref];
        if (ch === undefined || !Object.hasOwn(PREDEFINED, ref)) {
          // @implements RFC6120 §11.1 ¶6
          this.#fail(
            `undefined entity &${ref};`,
            at + amp,
            this.#restricted && NAME.test(ref) ? XmlRestrictedError : XmlParseError,
          );
        }
      }
      out += ch;
      i = semi + 1;
    }
  }

  /** Reads one markup construct at pos; false when more input is needed. */
  #markup(final: boolean): boolean {
    const buf = this.#buf;
    const start = this.#pos;
    const at = this.offset;
    const need = (i: number): boolean => {
      if (i < 0) {
        if (final) this.#fail("input ends inside markup", at);
        return false;
      }
      return true;
    };
    if (buf.length - start < 2) return need(-1);
    if (this.#stack.length === 1 && !this.#document) this.#flushTopText();
    const second = buf[start + 1];
    if (second === "!") {
      const comment = this.#peek("<!--");
      const cdata = this.#peek("<![CDATA[");
      const doctype = this.#peek("<!DOCTYPE");
      if (comment === "more" || cdata === "more" || doctype === "more") return need(-1);
      if (comment === "yes") {
        // XML 1.0 §2.5
        const end = this.#find("-->", start + 4);
        if (!need(end)) return false;
        // @implements RFC6120 §11.1 ¶3
        if (this.#restricted) this.#fail("comments are not allowed", at, XmlRestrictedError);
        const body = buf.slice(start + 4, end);
        if (body.includes("--") || body.endsWith("-")) this.#fail('"--" inside a comment', at);
        this.#decode(body, at + 4, false);
        this.#pos = end + 3;
        this.#started = true;
        return true;
      }
      if (cdata === "yes") {
        // XML 1.0 §2.7
        const end = this.#find("]]>", start + 9);
        if (!need(end)) return false;
        if (this.#stack.length === 0) this.#fail("CDATA section outside the root element", at);
        const text = this.#decode(buf.slice(start + 9, end).replace(/&/g, "&amp;"), at + 9, false);
        if (this.#stack.length === 1 && !this.#document) this.#addTopText(text, at);
        else this.#appendText(this.#stack[this.#stack.length - 1]!, text);
        this.#pos = end + 3;
        return true;
      }
      if (doctype === "yes") {
        // XML 1.0 §2.8 (declarations are skipped, not processed)
        // @implements RFC6120 §11.1 ¶5
        if (this.#restricted) this.#fail("DTDs are not allowed", at, XmlRestrictedError);
        if (this.#state !== "prolog" || this.#root) this.#fail("DOCTYPE after the root", at);
        const end = this.#find(">", start + 9);
        if (!need(end)) return false;
        if (buf.slice(start, end).includes("[")) {
          this.#fail("DTD internal subsets are not supported", at, XmlRestrictedError);
        }
        this.#pos = end + 1;
        this.#started = true;
        return true;
      }
      this.#fail("unknown markup declaration", at);
    }
    if (second === "?") {
      // XML 1.0 §2.6 and §2.8 (XMLDecl)
      const end = this.#find("?>", start + 2);
      if (!need(end)) return false;
      NAME_AT.lastIndex = start + 2;
      const m = NAME_AT.exec(buf);
      if (!m || m.index !== start + 2 || m[0].includes(":")) this.#fail("bad PI target", at);
      const target = m![0];
      const after = buf[start + 2 + target.length];
      if (after !== "?" && !/[ \t\r\n]/.test(after!)) this.#fail("bad PI target", at);
      if (target === "xml") {
        // @implements RFC6120 §11.5, RFC3920 §11.4
        if (this.#started || this.offset !== 0) {
          this.#fail("XML declaration not at the start", at);
        }
        this.#xmlDecl(buf.slice(start + 5, end), at);
      } else {
        if (target.toLowerCase() === "xml") this.#fail(`reserved PI target ${target}`, at);
        // @implements RFC6120 §11.1 ¶4
        if (this.#restricted) {
          this.#fail("processing instructions are not allowed", at, XmlRestrictedError);
        }
        this.#decode(buf.slice(start + 2, end).replace(/&/g, "&amp;"), at + 2, false);
      }
      this.#pos = end + 2;
      this.#started = true;
      return true;
    }
    if (second === "/") {
      // XML 1.0 §3.1 ETag
      const end = this.#find(">", start + 2);
      if (!need(end)) return false;
      const m = /^([^ \t\r\n>]+)[ \t\r\n]*$/.exec(buf.slice(start + 2, end));
      const open = this.#stack[this.#stack.length - 1];
      if (!open) this.#fail("end tag without a start tag", at);
      if (!m || m[1] !== open!.name) this.#fail(`expected </${open!.name}>`, at);
      this.#pos = end + 1;
      this.#close();
      return true;
    }
    const end = this.#tagEnd(start + 1);
    if (!need(end)) return false;
    this.#startTag(start, end, at);
    return true;
  }

  /** Index of `lit` at or after `from` in the markup at pos; -1 (and remembered) if absent. */
  #find(lit: string, from: number): number {
    const start = this.offset;
    if (this.#scanStart === start) {
      from = Math.max(from, this.#scanFrom - this.#base - lit.length + 1);
    }
    const r = this.#buf.indexOf(lit, from);
    if (r < 0) {
      this.#scanStart = start;
      this.#scanFrom = this.#base + this.#buf.length;
    }
    return r;
  }

  /** Index of the `>` ending a tag that starts before `from`, skipping quoted values; -1 if absent. */
  #tagEnd(from: number): number {
    const buf = this.#buf;
    const start = this.offset;
    let quote = "";
    if (this.#scanStart === start) {
      from = Math.max(from, this.#scanFrom - this.#base);
      quote = this.#scanQuote;
    }
    for (let i = from; i < buf.length; i++) {
      const c = buf[i];
      if (quote) {
        if (c === quote) quote = "";
      } else if (c === '"' || c === "'") quote = c;
      else if (c === ">") return i;
      else if (c === "<") this.#fail('"<" inside a tag', this.#base + i);
    }
    this.#scanStart = start;
    this.#scanFrom = this.#base + buf.length;
    this.#scanQuote = quote;
    return -1;
  }

  #xmlDecl(body: string, at: number): void {
    const m =
      /^[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])1\.[0-9]+\1(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(["'])([A-Za-z][A-Za-z0-9._-]*)\2)?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(["'])(yes|no)\4)?[ \t\r\n]*$/
        .exec(body);
    if (!m) this.#fail("malformed XML declaration", at);
    const encoding = m![3];
    // @implements RFC6120 §11.6 ¶1, RFC3920 §11.5
    if (encoding !== undefined && encoding.toUpperCase() !== "UTF-8") {
      this.#fail(`unsupported encoding ${encoding}`, at);
    }
  }

  #startTag(start: number, end: number, at: number): void {
    const buf = this.#buf;
    const selfClosing = buf[end - 1] === "/";
    const stop = selfClosing ? end - 1 : end;
    let i = start + 1;
    const readName = (): string => {
      ASCII_NAME_AT.lastIndex = i;
      let m = ASCII_NAME_AT.exec(buf);
      if (!m) {
        NAME_AT.lastIndex = i;
        m = NAME_AT.exec(buf);
      }
      if (!m || m.index !== i || i >= stop) this.#fail("expected a name", this.#base + i);
      i += m![0].length;
      return m![0];
    };
    const skipWs = (): boolean => {
      const s = i;
      while (i < stop && /[ \t\r\n]/.test(buf[i]!)) i++;
      return i > s;
    };
    const name = readName();
    const attrs: [string, string][] = [];
    const seen = new Set<string>();
    for (;;) {
      const ws = skipWs();
      if (i >= stop) break;
      if (!ws) this.#fail("expected whitespace before an attribute", this.#base + i);
      const aStart = this.#base + i;
      const aName = readName();
      skipWs();
      if (buf[i] !== "=") this.#fail(`expected "=" after ${aName}`, this.#base + i);
      i++;
      skipWs();
      const q = buf[i];
      if (q !== '"' && q !== "'") {
        this.#fail(`expected a quoted value for ${aName}`, this.#base + i);
      }
      const close = buf.indexOf(q!, i + 1);
      if (close < 0 || close >= stop) this.#fail("unterminated attribute value", this.#base + i);
      const raw = buf.slice(i + 1, close);
      if (raw.includes("<")) this.#fail('"<" in an attribute value', this.#base + i);
      if (seen.has(aName)) this.#fail(`duplicate attribute ${aName}`, aStart);
      seen.add(aName);
      attrs.push([aName, this.#decode(raw, this.#base + i + 1, true)]);
      i = close + 1;
      if (attrs.length > this.#maxAttributes) {
        this.#fail(`more than ${this.#maxAttributes} attributes`, at, XmlLimitError);
      }
    }
    if (this.#state === "epilog") this.#fail("second root element", at);
    if (this.#stack.length + 1 > this.#maxDepth) {
      this.#fail(`elements nested deeper than ${this.#maxDepth}`, at, XmlLimitError);
    }
    let el: XmlElement;
    try {
      el = new XmlElement(name, attrs);
    } catch {
      this.#fail(`invalid qualified name in <${name}>`, at);
    }
    const parent = this.#stack[this.#stack.length - 1];
    el!.parent = parent;
    this.#checkNamespaces(el!, at);
    this.#pos = end + 1;
    this.#started = true;
    if (!parent) {
      this.#root = el!;
      this.#state = "root";
      // @implements RFC6120 §4.2, RFC3920 §4.4
      if (!this.#document) this.events.push({ type: "open", root: el! });
    } else if (this.#stack.length === 1 && !this.#document) {
      this.#stanzaStart = at;
    } else parent.children.push(el!);
    this.#stack.push(el!);
    if (selfClosing) this.#close();
  }

  // Namespaces in XML 1.0 §5-6 (namespace well-formedness, RFC 6120 §11.3 rule 4).
  #checkNamespaces(el: XmlElement, at: number): void {
    // @implements RFC6120 §4.8.5, RFC6120 §11.3, RFC3920 §4.5
    const expanded = new Set<string>();
    for (const [k, v] of el.attributes) {
      const [prefix, local] = splitName(k);
      if (prefix === "xmlns") {
        if (local === "xmlns") this.#fail("the xmlns prefix cannot be declared", at);
        if (v === "") this.#fail(`empty namespace name for prefix ${local}`, at);
        if ((local === "xml") !== (v === XML_NS)) this.#fail("xml prefix misbound", at);
        if (v === XMLNS_NS) this.#fail("the xmlns namespace cannot be bound", at);
      } else if (prefix !== undefined) {
        const ns = el.lookupNamespace(prefix);
        if (ns === undefined) this.#fail(`unbound prefix ${prefix} in attribute ${k}`, at);
        const key = `${ns}\u0000${local}`;
        if (expanded.has(key)) this.#fail(`duplicate attribute {${ns}}${local}`, at);
        expanded.add(key);
      }
    }
    const prefix = el.prefix;
    if (prefix === "xmlns") this.#fail("element prefix xmlns is reserved", at);
    if (prefix !== undefined && el.lookupNamespace(prefix) === undefined) {
      this.#fail(`unbound prefix ${prefix} in <${el.name}>`, at);
    }
  }

  #close(): void {
    const el = this.#stack.pop()!;
    const depth = this.#stack.length;
    if (depth === 0) {
      this.#state = "epilog";
      // @implements RFC6120 §4.4, RFC3920 §4.1
      if (!this.#document) this.events.push({ type: "close" });
    } else if (depth === 1 && !this.#document) {
      this.events.push({ type: "element", element: el });
      this.#stanzaStart = -1;
    }
  }
}

/**
 * Parses a complete XML document.
 *
 * @param input The document as text or UTF-8 bytes.
 * @param options Limits and policy.
 * @returns The root element.
 * @throws {XmlParseError} When the input is not a well-formed, namespace-well-formed document
 * (or a subclass when a limit or restriction is hit).
 *
 * @example
 * ```ts
 * import { parseXml, XmlParseError } from "@rtclite/std/w3c/simplexml";
 * import { equal, throws } from "node:assert/strict";
 *
 * const root = parseXml('<?xml version="1.0"?><r a="&lt;1&#x3E;"><![CDATA[<x>]]></r>');
 * equal(root.attr("a"), "<1>");
 * equal(root.text, "<x>");
 * throws(() => parseXml("<r><s></r>"), (e) => e instanceof XmlParseError && e.offset === 6);
 * ```
 */
export function parseXml(input: string | Uint8Array, options: XmlParseOptions = {}): XmlElement {
  const core = new Core(true, options);
  core.push(
    typeof input === "string" && input.charCodeAt(0) === 0xfeff ? input.slice(1) : input,
    true,
  );
  return core.root!;
}

/**
 * An incremental parser for an XML stream: a root element whose children arrive over time.
 * Feed it chunks with {@linkcode XmlPushParser.push}; it returns the events each chunk completes.
 * After an error every further call throws the same error (the stream must be closed).
 *
 * @example Bytes split inside a multi-byte character
 * ```ts
 * import { XmlPushParser } from "@rtclite/std/w3c/simplexml";
 * import { equal } from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("<s><m>caf\u00e9</m>");
 * const parser = new XmlPushParser();
 * parser.push(bytes.subarray(0, 10));
 * const [event] = parser.push(bytes.subarray(10));
 * equal(event?.type === "element" && event.element.text, "caf\u00e9");
 * ```
 */
export class XmlPushParser {
  #core: Core;

  /**
   * Creates a push parser.
   *
   * @param options Limits (default: depth 256, 1 MiB per first-level element) and policy.
   */
  constructor(options: XmlParseOptions = {}) {
    this.#core = new Core(false, options);
  }

  /**
   * Feeds a chunk.
   *
   * @param chunk UTF-8 bytes (split anywhere) or text.
   * @returns Events completed by this chunk, in order.
   * @throws {XmlParseError} On malformed input (or a subclass for limits and restrictions).
   */
  push(chunk: Uint8Array | string): XmlStreamEvent[] {
    this.#core.events = [];
    this.#core.push(chunk, false);
    return this.#core.events;
  }

  /**
   * Signals the end of input.
   *
   * @returns Remaining events.
   * @throws {XmlParseError} When the input ends inside markup, a character or an open element.
   */
  end(): XmlStreamEvent[] {
    this.#core.events = [];
    this.#core.push("", true);
    return this.#core.events;
  }

  /**
   * Starts over for a new stream on the same connection (XMPP stream restart after TLS or SASL,
   * RFC 6120 §4.3.3). Clears any error.
   */
  // @implements RFC6120 §4.3.3, RFC3920 §6.2
  reset(): void {
    this.#core.reset();
  }

  /** Characters consumed so far (the offset reported in errors). */
  get offset(): number {
    return this.#core.offset;
  }

  /** The open root element, once its start tag was read. */
  get root(): XmlElement | undefined {
    return this.#core.root;
  }
}
