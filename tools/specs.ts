// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Specification texts and `@implements` references: shared by the reference
 * checker (`deno task check:specs`) and the site builder.
 *
 * A reference names a specification, optionally a section, and optionally
 * paragraphs of that section:
 *
 * ```
 * // @implements RFC3261 §17.1.1.2 ¶2-4
 * // @implements RFC3550 (RTP)
 * // @implements RTMP §5.3.1, AMF0 §2.2
 * // @implements RFC3261 §7.1, §7.2        (same as RFC3261 §7.1, RFC3261 §7.2)
 * // @implements FLV "FLV tags"
 * ```
 *
 * Texts are read from the directory in `RTCLITE_SPECS` (`rfc3261.txt`,
 * `adobe/rtmp_specification_1.0.txt`, ...). Without it, RFCs are downloaded
 * once from the RFC Editor and cached in `~/.cache/rtclite/specs`.
 *
 * @module
 */

/** A parsed `@implements` reference. */
export interface SpecRef {
  /** Specification name as written: `RFC3261`, `RTMP`, `AMF0`, `AMF3`, `FLV`. */
  spec: string;
  /** Section number (`17.1.1.2`, `A.7`) or title for FLV; absent for a whole document. */
  section?: string;
  /** First and last paragraph (1-based, inclusive) within the section. */
  paragraphs?: [number, number];
}

/** One `@implements` comment found in a source file. */
export interface Annotation {
  /** 1-based line of the comment. */
  line: number;
  /** The references on the line. */
  refs: SpecRef[];
  /** The comment text after `@implements`. */
  text: string;
}

/** A section of a specification, with its body split into paragraphs. */
export interface Section {
  id: string;
  title: string;
  paragraphs: string[];
}

/** A loaded specification text. */
export interface Spec {
  name: string;
  title: string;
  sections: Map<string, Section>;
  /** Link to a section (or the document) on the publisher's site. */
  url(section?: string): string;
}

const ADOBE: Record<string, { file: string; url: string; title: string }> = {
  RTMP: {
    title: "Adobe's Real Time Messaging Protocol",
    file: "adobe/rtmp_specification_1.0.txt",
    url: "https://rtmp.veriskope.com/docs/spec/",
  },
  AMF0: {
    title: "Action Message Format -- AMF 0",
    file: "adobe/amf0-file-format-specification.txt",
    url: "https://rtmp.veriskope.com/pdf/amf0-file-format-specification.pdf",
  },
  AMF3: {
    title: "Action Message Format -- AMF 3",
    file: "adobe/amf-file-format-spec.txt",
    url: "https://rtmp.veriskope.com/pdf/amf3-file-format-spec.pdf",
  },
  FLV: {
    title: "Adobe Flash Video File Format Specification, Version 10",
    file: "adobe/video_file_format_spec_v10.txt",
    url: "https://rtmp.veriskope.com/pdf/video_file_format_spec_v10.pdf",
  },
};

const SPEC_NAME = String.raw`RFC\d{3,5}|RTMP|AMF0|AMF3|FLV`;
const REF_RE = new RegExp(
  String
    .raw`^(${SPEC_NAME})(?:\s+§\s*(?:"([^"]+)"|([A-Z]?[\d.]*\d|[A-Z]))(?:\s*¶\s*(\d+)(?:\s*-\s*(\d+))?)?|\s+"([^"]+)")?(?:\s*\([^)]*\))?$`,
);

/**
 * Parses the text after `@implements` into references.
 *
 * @throws {SyntaxError} when a part is not a reference.
 */
export function parseRefs(text: string): SpecRef[] {
  let spec = "";
  // Split at commas and semicolons outside quotes and parentheses.
  const parts: string[] = [""];
  let depth = 0;
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === "(") depth++;
    else if (!quoted && c === ")") depth--;
    if (!quoted && depth === 0 && (c === "," || c === ";")) parts.push("");
    else parts[parts.length - 1] += c;
  }
  return parts.map((s) => s.trim()).map((part) => {
    // `RFC3261 §7.1, §7.2`: a bare section continues the previous specification.
    if (part.startsWith("§") && spec) part = `${spec} ${part}`;
    const m = REF_RE.exec(part.trim());
    if (!m) throw new SyntaxError(`Cannot parse @implements reference: "${part.trim()}"`);
    const ref: SpecRef = { spec: m[1]! };
    spec = ref.spec;
    const section = m[2] ?? m[3] ?? m[6];
    if (section) ref.section = section;
    if (m[4]) ref.paragraphs = [Number(m[4]), Number(m[5] ?? m[4])];
    return ref;
  });
}

/** Finds every `@implements` comment in a TypeScript source. */
export function scanAnnotations(source: string): Annotation[] {
  const out: Annotation[] = [];
  source.split("\n").forEach((line, i) => {
    const m = /^\s*(?:\/\/|\*)\s*@implements\s+(.+?)\s*$/.exec(line);
    if (m) out.push({ line: i + 1, refs: parseRefs(m[1]!), text: m[1]! });
  });
  return out;
}

/** Anchor for a reference: `rfc3261-17.1.1.2`, `rtmp-5.3.1`. */
export function anchorOf(ref: SpecRef): string {
  const sec = ref.section ? "-" + ref.section.toLowerCase().replace(/[^a-z0-9.]+/g, "-") : "";
  return ref.spec.toLowerCase() + sec;
}

/** Human label for a reference: `RFC 3261 §17.1.1.2 ¶2-4`. */
export function labelOf(ref: SpecRef): string {
  const spec = ref.spec.replace(/^RFC/, "RFC ");
  const sec = ref.section ? ` §${ref.section}` : "";
  const para = ref.paragraphs
    ? ` ¶${ref.paragraphs[0]}${
      ref.paragraphs[1] !== ref.paragraphs[0] ? "-" + ref.paragraphs[1] : ""
    }`
    : "";
  return spec + sec + para;
}

// === Reading texts ===

/** A specification text that cannot be read here (not in `RTCLITE_SPECS`, not downloadable). */
export class SpecUnavailableError extends Error {
  override name = "SpecUnavailableError";
}

function specsDir(): string | undefined {
  return Deno.env.get("RTCLITE_SPECS") || undefined;
}

function cacheDir(): string {
  const base = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "."}/.cache`;
  return `${base}/rtclite/specs`;
}

async function readText(name: string): Promise<string> {
  const adobe = ADOBE[name];
  const file = adobe ? adobe.file : `${name.toLowerCase()}.txt`;
  const dir = specsDir();
  if (dir) return await Deno.readTextFile(`${dir}/${file}`);
  if (adobe) {
    throw new SpecUnavailableError(
      `Cannot read ${name}: Adobe's texts are not downloadable; set RTCLITE_SPECS to a directory with ${file}`,
    );
  }
  const cached = `${cacheDir()}/${file}`;
  try {
    return await Deno.readTextFile(cached);
  } catch {
    const res = await fetch(`https://www.rfc-editor.org/rfc/${file}`).catch((e) => {
      throw new SpecUnavailableError(`Cannot download ${file}: ${e.message}`);
    });
    if (!res.ok) throw new SpecUnavailableError(`Cannot download ${file}: HTTP ${res.status}`);
    const text = await res.text();
    await Deno.mkdir(cacheDir(), { recursive: true });
    await Deno.writeTextFile(cached, text);
    return text;
  }
}

// === Parsing texts ===

const RFC_FOOTER = /\[Page \d+\]\s*$/;
const RFC_HEADER = /^RFC \d+\s.*\s\d{4}$/;

/** Removes RFC page headers and footers, joining paragraphs split by a page break. */
function unpage(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!RFC_FOOTER.test(line)) {
      out.push(line.replace(/\f/g, ""));
      continue;
    }
    // Drop the blank padding before the footer, the form feed, the header and
    // the blank lines after it.
    while (out.length && out[out.length - 1]!.trim() === "") out.pop();
    let j = i + 1;
    while (j < lines.length && (lines[j]!.trim() === "" || lines[j]!.trim() === "\f")) j++;
    if (j < lines.length && RFC_HEADER.test(lines[j]!.replace(/\f/g, ""))) j++;
    while (j < lines.length && lines[j]!.trim() === "") j++;
    const prev = out[out.length - 1] ?? "";
    const next = lines[j] ?? "";
    // A page break between sentences or before a heading is a paragraph break.
    if (/[.:]$/.test(prev.trim()) || /^\S/.test(next)) out.push("");
    i = j - 1;
  }
  return out;
}

function splitParagraphs(body: string[]): string[] {
  const paras: string[] = [];
  let cur: string[] = [];
  for (const line of body) {
    if (line.trim() === "") {
      if (cur.length) paras.push(cur.join("\n"));
      cur = [];
    } else cur.push(line);
  }
  if (cur.length) paras.push(cur.join("\n"));
  return paras;
}

const NUMBERED = /^(?:Appendix\s+)?((?:\d+|[A-Z])(?:\.\d+)*)\.?\s+(\S.*?)\s*$/;

/** Parses a text into sections: numbered headings at the left margin, or FLV's titled ones. */
export function parseSpec(name: string, text: string): Spec {
  const lines = unpage(text.split(/\r?\n/));
  const sections = new Map<string, Section>();
  let heads: { id: string; title: string; at: number }[] = [];
  if (name === "FLV") {
    const titles = new Set<string>();
    for (const line of lines) {
      const m = /^(\S.*?)\s*(?:\.\s*){3,}\d+\s*$/.exec(line);
      if (m) titles.add(m[1]!.trim());
    }
    lines.forEach((line, at) => {
      const t = line.trim();
      if (line === t && titles.has(t) && !/\.\s*\.\s*\./.test(line)) {
        heads.push({ id: t, title: t, at });
      }
    });
  } else {
    lines.forEach((line, at) => {
      const m = NUMBERED.exec(line);
      // Table-of-contents lines end in a page number after dot leaders.
      if (m && !/(?:\.\s*){3,}\d+$/.test(line) && !/\s{2,}\d+$/.test(line)) {
        heads.push({ id: m[1]!, title: m[2]!, at });
      }
    });
  }
  // AMF's prose starts at the margin too ("A strict Array ...", "2.0 Booleans are
  // ..."): there a heading has a numeric id and a short title that is no sentence.
  if (name === "AMF0" || name === "AMF3") {
    heads = heads.filter((h) => /^\d/.test(h.id) && h.title.length <= 60 && !/[.,;]/.test(h.title));
  }
  heads.forEach((h, k) => {
    const end = heads[k + 1]?.at ?? lines.length;
    // A later occurrence (body after a plain table of contents) wins.
    sections.set(h.id, {
      id: h.id,
      title: h.title,
      paragraphs: splitParagraphs(lines.slice(h.at + 1, end)),
    });
  });
  const adobe = ADOBE[name];
  return {
    name,
    title: adobe?.title ?? rfcTitle(lines) ?? name,
    sections,
    url(section?: string): string {
      if (adobe) return adobe.url;
      const base = `https://www.rfc-editor.org/rfc/${name.toLowerCase()}`;
      if (!section) return base;
      return `${base}#${/^[A-Z]/.test(section) ? "appendix" : "section"}-${section}`;
    },
  };
}

function rfcTitle(lines: string[]): string | undefined {
  // The title follows the header block (which ends in a blank line), up to the next blank line.
  const start = lines.findIndex((l) => /^Category:|^Obsoletes:|^Updates:|^ISSN:/.test(l));
  if (start < 0) return undefined;
  let i = start;
  while (i < lines.length && lines[i]!.trim() !== "") i++;
  while (i < lines.length && lines[i]!.trim() === "") i++;
  const title: string[] = [];
  while (i < lines.length && lines[i]!.trim() !== "" && title.length < 4) {
    title.push(lines[i++]!.trim());
  }
  return title.length ? title.join(" ") : undefined;
}

const loaded = new Map<string, Promise<Spec>>();

/** Loads and parses a specification by name (`RFC3261`, `RTMP`, ...), once per process. */
export function loadSpec(name: string): Promise<Spec> {
  let p = loaded.get(name);
  if (!p) {
    p = readText(name).then((text) => parseSpec(name, text));
    loaded.set(name, p);
  }
  return p;
}

/** Resolves a reference to its section text, or throws an Error saying why it does not resolve. */
export async function resolveRef(
  ref: SpecRef,
): Promise<{ spec: Spec; section?: Section; text: string }> {
  const spec = await loadSpec(ref.spec);
  if (!ref.section) return { spec, text: spec.title };
  const section = spec.sections.get(ref.section);
  if (!section) throw new Error(`${labelOf(ref)}: ${ref.spec} has no section ${ref.section}`);
  let paras = section.paragraphs;
  if (ref.paragraphs) {
    const [a, b] = ref.paragraphs;
    if (a < 1 || b < a || b > paras.length) {
      throw new Error(`${labelOf(ref)}: section ${ref.section} has ${paras.length} paragraphs`);
    }
    paras = paras.slice(a - 1, b);
  }
  return { spec, section, text: paras.join("\n\n") };
}

/** Source files under the packages, as paths relative to the repository root. */
export async function* sourceFiles(root = "."): AsyncGenerator<string> {
  for (const top of ["std", "app", "vnd", "cli"]) {
    yield* walk(`${root}/${top}`, top);
  }
}

async function* walk(dir: string, rel: string): AsyncGenerator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.isDirectory && e.name !== "testdata" && !e.name.startsWith(".")) {
      yield* walk(`${dir}/${e.name}`, `${rel}/${e.name}`);
    } else if (e.isFile && e.name.endsWith(".ts")) yield `${rel}/${e.name}`;
  }
}
