// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * `deno task site`: builds the static site into `site/_site/`, offline.
 *
 * - `index.html`: what rtclite is and the module table.
 * - `<module>.html` (e.g. `std/ietf/rfc2396.html`) for every module under
 *   std/, app/ and vnd/ (see `tools/layout.ts`): a single file, or a folder
 *   with a `mod.ts` (`std/ietf/rfc3550.html` shows `std/ietf/rfc3550/`), whose
 *   files follow one another in reading order (`mod.ts`, the pure parts in the
 *   order `mod.ts` re-exports them, the adapters, `main.ts`), each under its
 *   own heading (`#udp.ts`). A page shows the module's JSDoc as prose, then docco's two
 *   columns, section by section: on the left the specification passage that
 *   an `// @implements` comment cites (from the texts in `RTCLITE_SPECS`), on
 *   the right the code that comment covers. A section runs from an
 *   `@implements` line to the next one or to the end of the enclosing
 *   top-level block; code between sections is shown too. Each excerpt has an
 *   anchor named after its reference (`#rfc3261-17.1.1.2`, unique on its
 *   page) and links to the publisher's section.
 * - `api/`: the API reference from `deno doc --html`.
 * - `notebooks/`: the executed notebooks, written by `deno task notebooks`
 *   (kept across builds; a notebook not executed yet gets a stand-in page).
 *
 * The build fails when a module has no page, or when a module that
 * implements a specification has no resolved excerpt on its page.
 *
 * @module
 */
import hljs from "npm:highlight.js@^11.11.0/lib/core";
import typescript from "npm:highlight.js@^11.11.0/lib/languages/typescript";
import { Marked } from "npm:marked@^15.0.0";
import {
  anchorOf,
  type Annotation,
  labelOf,
  resolveRef,
  scanAnnotations,
  type SpecRef,
  SpecUnavailableError,
} from "../tools/specs.ts";
import { moduleRows } from "../tools/modules.ts";
import { isPrivate, isPure, type SourceModule, sourceModules } from "../tools/layout.ts";
import { listNotebooks, type Notebook } from "../tools/notebooks.ts";

hljs.registerLanguage("typescript", typescript);

/** Where the site is written. */
export const OUT = "site/_site";
const SITE = new URL(".", import.meta.url).pathname;

// === Splitting a source file into sections ===

/** A run of source lines (0-based, `end` exclusive), with the annotation that starts it. */
export interface Section {
  start: number;
  end: number;
  annotation?: Annotation;
}

/** Line where the code starts: after the licence line, the module JSDoc and blank lines. */
export function bodyStart(lines: string[]): number {
  let i = 0;
  const docEnd = lines.findIndex((l, k) => /^\s*\*\/\s*$/.test(l) && isModuleDoc(lines, k));
  if (docEnd >= 0) i = docEnd + 1;
  else while (i < lines.length && /^\/\/ (Copyright|This module)/.test(lines[i]!)) i++;
  while (i < lines.length && lines[i]!.trim() === "") i++;
  return i;
}

function isModuleDoc(lines: string[], end: number): boolean {
  for (let k = end; k >= 0; k--) {
    if (/^\s*\*\s*@module\b/.test(lines[k]!)) return true;
    if (/^\/\*\*/.test(lines[k]!)) return false;
  }
  return false;
}

/**
 * Top-level blocks: a block starts at a line in column 0 after a blank line
 * (deno fmt indents everything inside a declaration) and ends before the next.
 * Returns, for each line, the end (exclusive) of its block.
 */
export function blockEnds(lines: string[]): number[] {
  const starts: number[] = [];
  lines.forEach((l, i) => {
    if (/^[^\s})\]]/.test(l) && (i === 0 || lines[i - 1]!.trim() === "")) starts.push(i);
  });
  starts.push(lines.length);
  const ends: number[] = new Array(lines.length);
  let k = 0;
  for (let i = 0; i < lines.length; i++) {
    while (starts[k + 1]! <= i) k++;
    let end = starts[k + 1]!;
    while (end > i + 1 && lines[end - 1]!.trim() === "") end--;
    ends[i] = end;
  }
  return ends;
}

/**
 * Splits a source into sections. An annotation that names sections starts a
 * section, which runs to the next such annotation or the end of its
 * top-level block; the lines in between form sections without annotation.
 * (Annotations citing only a whole document, like `RFC3550 (RTP)`, title the
 * page instead.)
 */
export function sectionsOf(lines: string[], annotations: Annotation[]): Section[] {
  const ends = blockEnds(lines);
  const marks = annotations.filter((a) => a.refs.some((r) => r.section));
  const out: Section[] = [];
  let at = bodyStart(lines);
  const trim = (end: number) => {
    while (end > at && lines[end - 1]!.trim() === "") end--;
    return end;
  };
  const plain = (end: number) => {
    while (at < end && lines[at]!.trim() === "") at++;
    if (at < trim(end)) out.push({ start: at, end: trim(end) });
  };
  marks.forEach((a, k) => {
    const line = a.line - 1;
    if (line < at) return;
    plain(line);
    const end = Math.min(ends[line]!, marks[k + 1] ? marks[k + 1]!.line - 1 : lines.length);
    out.push({ start: line, end: trim(end), annotation: a });
    at = end;
  });
  plain(lines.length);
  return out;
}

// === HTML ===

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const highlight = (code: string): string =>
  hljs.highlight(code, { language: "typescript", ignoreIllegals: true }).value;

const marked = new Marked({
  renderer: {
    code({ text, lang }) {
      const ts = !lang || /^(ts|typescript|js|javascript)$/.test(lang);
      return `<pre class="hljs"><code>${ts ? highlight(text) : esc(text)}</code></pre>\n`;
    },
  },
});

/** Turns a JSDoc block (without `/**`, `*` and `*\/`) into Markdown. */
export function jsdocToMarkdown(doc: string): string {
  const links = doc
    .replace(/\{@link(?:code|plain)?\s+([^}|\s]+)\s*(?:\|\s*([^}]+))?\}/g, (_, target, label) => {
      const text = (label ?? target).trim();
      return /^https?:/.test(target) ? `[${text}](${target})` : `\`${text}\``;
    });
  const parts = links.split(/^@(?=\w)/m);
  let md = parts[0]!;
  for (const tag of parts.slice(1)) {
    const [, name, rest] = /^(\w+)\s*([\s\S]*)$/.exec(tag)!;
    if (name === "example") {
      const nl = rest!.indexOf("\n");
      const title = nl < 0 || rest!.startsWith("```") ? "" : rest!.slice(0, nl).trim();
      md += `\n\n**Example${title ? ": " + title : ""}**\n\n${title ? rest!.slice(nl + 1) : rest}`;
    } else if (name === "see") md += `\n\nSee ${rest}`;
  }
  return md;
}

/** The `@module` JSDoc of a source, as Markdown; undefined when it has none. */
export function moduleDoc(source: string): string | undefined {
  for (const m of source.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    if (!/@module\b/.test(m[1]!)) continue;
    return jsdocToMarkdown(m[1]!.split("\n").map((l) => l.replace(/^\s*\* ?/, "")).join("\n"));
  }
  return undefined;
}

function page(title: string, root: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · rtclite</title>
<link rel="stylesheet" href="${root}style.css">
<link rel="icon" href="${root}favicon.ico">
</head>
<body>
<nav class="top"><a href="${root}index.html">rtclite</a>
<a href="${root}api/index.html">API reference</a>
<a href="${root}index.html#notebooks">notebooks</a></nav>
${body}
</body>
</html>
`;
}

/** A specification text is dedented and cut to at most this many paragraphs. */
const MAX_PARAGRAPHS = 8;

/**
 * Renders a section's text: prose paragraphs (lines at one indentation, no
 * column alignment) flow as `<p>`; grammars, diagrams, tables and lists keep
 * their layout in `<pre>`, dedented.
 */
export function excerptHtml(text: string): { html: string; more: number } {
  const paras = text.split("\n\n");
  const kept = paras.slice(0, MAX_PARAGRAPHS).map((p) => p.split("\n"));
  const indentOf = (l: string) => /^ */.exec(l)![0].length;
  const base = Math.min(...kept.flat().filter((l) => l.trim()).map(indentOf));
  const html = kept.map((lines) => {
    const prose = lines.every((l) => indentOf(l) === indentOf(lines[0]!)) &&
      !lines.some((l) => /\S {3,}\S|^\s*(?:[|+]|o\s|-\s|\d+\.\s|[a-z]\)\s)/.test(l));
    if (prose) return `<p>${esc(lines.map((l) => l.trim()).join(" "))}</p>`;
    return `<pre>${
      esc(lines.map((l) => l.slice(Number.isFinite(base) ? base : 0)).join("\n"))
    }</pre>`;
  });
  return { html: html.join("\n"), more: Math.max(0, paras.length - MAX_PARAGRAPHS) };
}

// === Module pages ===

/** What the build found for one page. */
export interface PageReport {
  /** Module path and source: `std/ietf/rfc2396.ts`, or a folder module's path `std/ietf/rfc3550`. */
  file: string;
  /** The source files shown on the page, in order. */
  files: string[];
  /** Page path below the site root, e.g. `std/ietf/rfc2396.html`, `std/ietf/rfc3550.html`. */
  page: string;
  /** Section references resolved to a specification excerpt. */
  excerpts: number;
  /** References in the source (section and whole-document ones). */
  refs: number;
  /** References that did not resolve, with the reason. */
  unresolved: string[];
  /** Whether every failure was only a missing specification text. */
  unavailableOnly: boolean;
}

/** Links a page shows in its header. */
export interface PageLinks {
  /** The API reference page of the module's entry (below the site root). */
  api?: string;
  /** API reference pages of a folder's other exported files, by file. */
  fileApi?: Map<string, string>;
  notebooks: Notebook[];
  /** Private helpers this module imports or re-exports, with their pages' reports. */
  helpers: PageReport[];
}

/** Private helper files (`./_x.ts`) a source imports or re-exports from, as repository paths. */
export function helperImports(file: string, source: string): string[] {
  const dir = file.replace(/[^/]+$/, "");
  const out = new Set<string>();
  for (const m of source.matchAll(/\bfrom\s+"(\.{1,2}\/(?:[^"]*\/)?_[^"/]*\.ts)"/g)) {
    const parts: string[] = [];
    for (const p of (dir + m[1]).split("/")) {
      if (p === "..") parts.pop();
      else if (p !== ".") parts.push(p);
    }
    out.add(parts.join("/"));
  }
  return [...out];
}

async function refHtml(
  ref: SpecRef,
  ids: Map<string, number>,
  report: PageReport,
): Promise<string> {
  report.refs++;
  const base = anchorOf(ref);
  const n = (ids.get(base) ?? 0) + 1;
  ids.set(base, n);
  const id = n === 1 ? base : `${base}-${n}`;
  try {
    const { spec, section, text } = await resolveRef(ref);
    const title = section ? `${labelOf(ref)} ${section.title}` : `${labelOf(ref)}: ${spec.title}`;
    const head = `<h3 class="ref" id="${esc(id)}"><a class="pilcrow" href="#${esc(id)}">#</a> ` +
      `<a href="${esc(spec.url(ref.section))}">${esc(title)}</a></h3>`;
    if (!section) return head;
    report.excerpts++;
    const { html, more } = excerptHtml(text);
    const tail = more
      ? `<p class="more"><a href="${esc(spec.url(ref.section))}">${more} more paragraphs of ${
        esc(labelOf(ref))
      }</a></p>`
      : "";
    return `${head}\n<div class="excerpt">${html}</div>${tail}`;
  } catch (e) {
    const message = (e as Error).message;
    if (!(e instanceof SpecUnavailableError)) report.unavailableOnly = false;
    report.unresolved.push(message);
    return `<h3 class="ref unresolved" id="${esc(id)}">${esc(labelOf(ref))}</h3>` +
      `<p class="unresolved">Unresolved reference: ${esc(message)}</p>`;
  }
}

/** One source file rendered: its whole-document references, its prose and its two-column sections. */
interface RenderedFile {
  annotations: Annotation[];
  titles: string[];
  doc?: string;
  sections: string;
}

/** Renders a file's sections; anchors are unique across the page through `ids`. */
async function renderFile(
  source: string,
  ids: Map<string, number>,
  report: PageReport,
): Promise<RenderedFile> {
  const lines = source.replace(/\n$/, "").split("\n");
  let annotations: Annotation[] = [];
  try {
    annotations = scanAnnotations(source);
  } catch (e) {
    // A malformed reference: the page shows the code; the build reports it.
    report.refs++;
    report.unavailableOnly = false;
    report.unresolved.push((e as Error).message);
  }
  // Whole-document references title the page (or the file's part of it).
  const titles: string[] = [];
  for (const a of annotations) {
    for (const ref of a.refs) if (!ref.section) titles.push(await refHtml(ref, ids, report));
  }
  let sections = "";
  for (const s of sectionsOf(lines, annotations)) {
    let left = "";
    if (s.annotation) {
      for (const ref of s.annotation.refs) {
        if (ref.section) left += await refHtml(ref, ids, report);
      }
    }
    const code = lines.slice(s.start, s.end).join("\n").replace(/\s+$/, "");
    sections += `<section class="seg${s.annotation ? " annotated" : ""}">
<div class="spec">${left}</div>
<div class="code" data-line="${s.start + 1}"><pre class="hljs"><code>${
      highlight(code)
    }</code></pre></div>
</section>
`;
  }
  const doc = moduleDoc(source);
  return { annotations, titles, sections, ...(doc ? { doc: await marked.parse(doc) } : {}) };
}

function newReport(file: string, files: string[], page: string): PageReport {
  return { file, files, page, excerpts: 0, refs: 0, unresolved: [], unavailableOnly: true };
}

function navHtml(root: string, links: PageLinks): string {
  return [
    links.api ? `<a href="${root}${links.api}">API reference</a>` : "",
    ...links.notebooks.map((n) =>
      `<a href="${root}notebooks/${n.name}.html">notebook: ${esc(n.name)}</a>`
    ),
  ].filter(Boolean).join(" · ");
}

function implementsHtml(f: RenderedFile): string {
  return f.titles.length
    ? `<div class="implements">${f.titles.join("\n")}</div>`
    : f.annotations.length
    ? ""
    : `<p class="nospec">This module implements no specification (no <code>@implements</code>).</p>`;
}

/** Renders the page of a single-file module; returns its HTML and what it found. */
export async function modulePage(
  file: string,
  source: string,
  links: PageLinks,
): Promise<{ html: string; report: PageReport }> {
  const path = file.replace(/\.ts$/, "");
  const root = "../".repeat(path.split("/").length - 1);
  const report = newReport(file, [file], `${path}.html`);
  const ids = new Map<string, number>();
  const f = await renderFile(source, ids, report);
  const private_ = /(^|\/)_[^/]*$/.test(path);
  const nav = navHtml(root, links);
  const helpers = links.helpers.map((h) =>
    `<li><a href="${root}${h.page}">${esc(h.file)}</a> (${h.excerpts} excerpts)</li>`
  );
  const body = `<header class="module">
<h1>${private_ ? "" : "@rtclite/"}${esc(path)}</h1>
<p class="links">${nav || "internal helper module (not exported)"}</p>
${implementsHtml(f)}
${f.doc ? `<div class="prose">${f.doc}</div>` : ""}
${
    helpers.length
      ? `<div class="helpers">Implemented with the help of:<ul>${helpers.join("")}</ul></div>`
      : ""
  }
</header>
<main class="sections">
${f.sections}</main>
`;
  return { html: page(path, root, body), report };
}

/** What a file of a folder module is, for its heading. */
export function fileRole(file: string, source: string): string {
  if (/(^|\/)mod\.ts$/.test(file)) return "the module's public API (browser compatible)";
  if (/(^|\/)main\.ts$/.test(file)) return "the command line";
  return isPure(source) ? "pure part (browser compatible)" : "adapter (runtime I/O)";
}

/** The anchor of a folder file's heading: its name inside the folder, e.g. `udp.ts`. */
export function fileAnchor(folder: string, file: string): string {
  return file.slice(folder.length + 1);
}

/**
 * Renders the page of a folder module: its files in reading order
 * (`mod.ts`, the pure parts, the adapters, `main.ts`), each a section with
 * its own heading, prose and two columns.
 *
 * @param folder the folder, e.g. `std/ietf/rfc3550`
 * @param files its files in reading order, with their sources
 */
export async function folderPage(
  folder: string,
  files: { file: string; source: string }[],
  links: PageLinks,
): Promise<{ html: string; report: PageReport }> {
  const root = "../".repeat(folder.split("/").length - 1);
  const report = newReport(folder, files.map((f) => f.file), `${folder}.html`);
  const ids = new Map<string, number>();
  const rendered: RenderedFile[] = [];
  for (const { source } of files) rendered.push(await renderFile(source, ids, report));
  const toc = files.map(({ file, source }) => {
    const name = fileAnchor(folder, file);
    return `<li><a href="#${esc(name)}"><code>${esc(name)}</code></a>: ${
      esc(fileRole(file, source))
    }</li>`;
  });
  const first = rendered[0];
  let body = `<header class="module">
<h1>@rtclite/${esc(folder)}</h1>
<p class="links">${navHtml(root, links)}</p>
${first ? implementsHtml(first) : ""}
${first?.doc ? `<div class="prose">${first.doc}</div>` : ""}
<div class="files">Files, in reading order:<ul>${toc.join("")}</ul></div>
</header>
`;
  files.forEach(({ file, source }, k) => {
    const f = rendered[k]!;
    const name = fileAnchor(folder, file);
    const api = links.fileApi?.get(file);
    const extra = k === 0
      ? ""
      : `${f.titles.length ? `<div class="implements">${f.titles.join("\n")}</div>` : ""}${
        f.doc ? `<div class="prose">${f.doc}</div>` : ""
      }`;
    body += `<header class="file">
<h2 id="${esc(name)}"><a class="pilcrow" href="#${esc(name)}">#</a> <code>${esc(file)}</code></h2>
<p class="links">${esc(fileRole(file, source))}${
      api ? ` · <a href="${root}${api}">API reference</a>` : ""
    }</p>
${extra}
</header>
<div class="sections">
${f.sections}</div>
`;
  });
  return { html: page(folder, root, body), report };
}

// === Home page ===

async function homePage(pages: Set<string>, notebooks: Notebook[]): Promise<string> {
  const readme = await Deno.readTextFile("README.md");
  const intro = readme.split(/\n## /)[0]!.replace(/^# .*\n/, "");
  const rows = (await moduleRows()).map((r) => {
    const page = `${r.module ?? r.path}.html`;
    // A command line inside a folder module: its file's heading on the folder's page.
    const anchor = r.module && r.file && r.file !== `${r.module}/mod.ts` &&
        r.file.startsWith(`${r.module}/`)
      ? `#${fileAnchor(r.module, r.file)}`
      : "";
    const name = pages.has(page) ? `<a href="${page}${anchor}">${esc(r.path)}</a>` : esc(r.path);
    const nbs = notebooks.filter((n) => n.modules.includes(r.path))
      .map((n) => `<a href="notebooks/${n.name}.html">${esc(n.name)}</a>`).join(", ");
    const description = marked.parseInline(esc(r.description)) as string;
    return `<tr class="${r.status}"><td>${name}</td><td>${description}</td>` +
      `<td class="num">${r.sloc || ""}</td><td>${r.status}</td><td>${nbs}</td></tr>`;
  });
  const helpers = [...pages].filter((p) => /(^|\/)_[^/]*\.html$/.test(p)).sort()
    .map((p) => `<li><a href="${p}">${esc(p.replace(/\.html$/, ".ts"))}</a></li>`);
  const nbs = notebooks.map((n) =>
    `<li><a href="notebooks/${n.name}.html">${esc(n.name)}</a> (${
      n.modules.map(esc).join(", ")
    })</li>`
  );
  return page(
    "rtclite",
    "",
    `<header class="module"><h1>rtclite for Deno</h1>
<div class="prose">${await marked.parse(intro)}</div></header>
<main class="home">
<h2 id="modules">Modules</h2>
<table class="modules"><thead><tr><th>module</th><th>description</th><th>SLoC</th><th>status</th>
<th>notebook</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table>
<h2 id="notebooks">Notebooks</h2>
<ul>${nbs.join("\n") || "<li>none yet</li>"}</ul>
<h2 id="helpers">Internal helper modules</h2>
<ul>${helpers.join("\n") || "<li>none</li>"}</ul>
<p>The <a href="api/index.html">API reference</a> is generated by <code>deno doc --html</code>.</p>
</main>`,
  );
}

function notebookStandIn(n: Notebook): string {
  return page(
    n.name,
    "../",
    `<header class="module"><h1>Notebook ${esc(n.name)}</h1>
<p>This notebook has not been executed in this build: run <code>deno task notebooks</code>, or
<a href="${esc(n.name)}.ipynb">download it</a> and open it with the Deno kernel.</p></header>`,
  );
}

/**
 * A 16×16 icon of two columns (specification, code) as an uncompressed ICO,
 * so that browsers asking for `/favicon.ico` find one.
 */
export function favicon(): Uint8Array {
  const n = 16;
  const ico = new Uint8Array(6 + 16 + 40 + n * n * 4 + n * 4);
  const v = new DataView(ico.buffer);
  v.setUint16(2, 1, true); // type: icon
  v.setUint16(4, 1, true); // one image
  ico.set([n, n, 0, 0], 6); // width, height, no palette
  v.setUint16(10, 1, true); // planes
  v.setUint16(12, 32, true); // bits per pixel
  v.setUint32(14, 40 + n * n * 4 + n * 4, true); // image size
  v.setUint32(18, 22, true); // image offset
  v.setUint32(22, 40, true); // BITMAPINFOHEADER
  v.setInt32(26, n, true);
  v.setInt32(30, 2 * n, true); // height counts the AND mask too
  v.setUint16(34, 1, true);
  v.setUint16(36, 32, true);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const edge = x === 0 || y === 0 || x === n - 1 || y === n - 1;
      // Blue-green-red-alpha: a dark frame, a light left column, a blue right one.
      const bgra = edge ? [60, 40, 30, 255] : x < 7 ? [225, 240, 245, 255] : [208, 87, 11, 255];
      ico.set(bgra, 62 + (y * n + x) * 4);
    }
  }
  return ico;
}

// === The build ===

/** Result of {@linkcode buildSite}. */
export interface BuildResult {
  pages: PageReport[];
  /** Reasons the build fails (a module without a page, a spec module without excerpts). */
  problems: string[];
  warnings: string[];
}

/**
 * Builds the whole site into `out` (default {@linkcode OUT}). Tests build into a directory of
 * their own, so that two copies of the suite at once don't wipe each other's site.
 */
export async function buildSite(out: string = OUT): Promise<BuildResult> {
  const strict = Deno.env.get("RTCLITE_REQUIRE_PEERS") === "1" || Deno.env.get("CI") === "true";
  // Keep the executed notebooks (written by `deno task notebooks`); rebuild the rest.
  await Deno.mkdir(out, { recursive: true });
  for await (const e of Deno.readDir(out)) {
    if (e.name !== "notebooks") await Deno.remove(`${out}/${e.name}`, { recursive: true });
  }
  const modules = (await sourceModules()).filter((m) => /^(std|app|vnd)\//.test(m.path));
  const files = modules.flatMap((m) => m.files);
  const exported = files.filter((f) => !isPrivate(f));

  // API reference: one `deno doc --html` run over every exported module.
  const doc = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--html", "--name=rtclite", `--output=${out}/api`, ...exported],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!doc.success) {
    throw new Error(`deno doc --html failed: ${new TextDecoder().decode(doc.stderr)}`);
  }
  const apiPage = (file: string): string | undefined => {
    if (isPrivate(file)) return undefined;
    // deno doc names pages after the path below the files' common directory.
    const parts = file.split("/");
    for (let k = 0; k < parts.length; k++) {
      const p = `api/${parts.slice(k).join("/")}/index.html`;
      try {
        Deno.statSync(`${out}/${p}`);
        return p;
      } catch { /* try a shorter prefix */ }
    }
    return undefined;
  };

  const notebooks = await listNotebooks();
  const result: BuildResult = { pages: [], problems: [], warnings: [] };
  const reports = new Map<string, PageReport>();
  // A notebook listing a folder module or one of its files' export paths belongs on its page.
  const notebooksOf = (m: SourceModule) =>
    notebooks.filter((n) =>
      n.modules.some((x) => x === m.path || (m.folder && x.startsWith(`${m.path}/`)))
    );
  // Private helpers first: a module's page lists their excerpts.
  const ordered = [
    ...modules.filter((m) => isPrivate(m.path)),
    ...modules.filter((m) => !isPrivate(m.path)),
  ];
  for (const m of ordered) {
    const sources = await Promise.all(
      m.files.map(async (file) => ({ file, source: await Deno.readTextFile(file) })),
    );
    const links: PageLinks = {
      notebooks: notebooksOf(m),
      helpers: sources.flatMap(({ file, source }) =>
        helperImports(file, source).filter((h) => !m.files.includes(h))
      ).flatMap((h) => reports.get(h) ?? []),
    };
    const api = apiPage(m.entry);
    if (api) links.api = api;
    let built: { html: string; report: PageReport };
    if (m.folder) {
      links.fileApi = new Map(
        m.files.flatMap((f) => f === m.entry ? [] : [[f, apiPage(f)] as const])
          .filter((e): e is readonly [string, string] => e[1] !== undefined),
      );
      built = await folderPage(m.path, sources, links);
    } else built = await modulePage(m.entry, sources[0]!.source, links);
    const { html, report } = built;
    await Deno.mkdir(`${out}/${m.path.replace(/\/[^/]+$/, "")}`, { recursive: true });
    await Deno.writeTextFile(`${out}/${report.page}`, html);
    result.pages.push(report);
    reports.set(m.entry, report);
    for (const u of report.unresolved) result.warnings.push(`${m.path}: ${u}`);
    // A module that only re-exports its helpers has its excerpts on their pages.
    const excerpts = report.excerpts + links.helpers.reduce((n, h) => n + h.excerpts, 0);
    if (report.refs && !excerpts) {
      const msg = `${report.file}: implements a specification but its page has no resolved excerpt`;
      if (report.unavailableOnly && report.unresolved.length && !strict) {
        result.warnings.push(`${msg} (specification texts unavailable)`);
      } else result.problems.push(msg);
    }
  }
  const shown = new Set(result.pages.flatMap((p) => p.files));
  result.pages.sort((a, b) => a.file.localeCompare(b.file));
  for (const f of files) if (!shown.has(f)) result.problems.push(`${f}: no page`);
  const pages = new Set(result.pages.map((p) => p.page));

  await Deno.mkdir(`${out}/notebooks`, { recursive: true });
  const wanted = new Set(notebooks.map((n) => n.name));
  for await (const e of Deno.readDir(`${out}/notebooks`)) {
    const name = e.name.replace(/\.(html|ipynb)$/, "");
    if (!wanted.has(name)) await Deno.remove(`${out}/notebooks/${e.name}`);
  }
  for (const n of notebooks) {
    await Deno.copyFile(n.path, `${out}/notebooks/${n.name}.ipynb`);
    const html = `${out}/notebooks/${n.name}.html`;
    try {
      await Deno.stat(html);
    } catch {
      await Deno.writeTextFile(html, notebookStandIn(n));
      result.warnings.push(`${n.path}: not executed yet (deno task notebooks); stand-in page`);
    }
  }
  await Deno.writeTextFile(`${out}/index.html`, await homePage(pages, notebooks));
  await Deno.copyFile(`${SITE}style.css`, `${out}/style.css`);
  await Deno.writeFile(`${out}/favicon.ico`, favicon());
  return result;
}

if (import.meta.main) {
  const started = performance.now();
  const { pages, problems, warnings } = await buildSite();
  for (const w of warnings) console.warn(`site: warning: ${w}`);
  for (const p of problems) console.error(`site: ${p}`);
  const excerpts = pages.reduce((n, p) => n + p.excerpts, 0);
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `site: ${pages.length} module pages, ${excerpts} excerpts, ${problems.length} problems ` +
      `-> ${OUT}/index.html (${secs} s)`,
  );
  if (problems.length) Deno.exit(1);
}
