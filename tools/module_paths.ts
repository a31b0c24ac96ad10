// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The module paths a reader is told to import: the README's module table
 * (its rows and the files they link) and every `"@rtclite/std/..."`,
 * `"@rtclite/app/..."`, `"@rtclite/vnd/..."` string in the sources (JSDoc
 * examples included) and in the README. `tools/module_paths_test.ts` checks
 * that each resolves to a file the packages export.
 *
 * @module
 */
import { sourceFiles } from "./specs.ts";

/** A module path named somewhere, with where. */
export interface NamedPath {
  /** The import specifier, e.g. `@rtclite/std/ietf/rfc3261`. */
  specifier: string;
  /** Where it was found: `README.md:12`, `std/ietf/rfc3550.ts:40`. */
  at: string;
}

/**
 * The `@rtclite/<std|app|vnd>/...` import paths in a text: quoted (`"..."`,
 * `'...'`) or, in Markdown, in backticks. Placeholders (`@rtclite/std/...`)
 * and bare package names are skipped.
 */
export function namedPaths(text: string, where: string, markdown = false): NamedPath[] {
  const out: NamedPath[] = [];
  const quote = markdown ? "[\"'`]" : "[\"']";
  const re = new RegExp(`${quote}(@rtclite/(?:std|app|vnd)/[A-Za-z0-9_./-]+)${quote}`, "g");
  text.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(re)) {
      if (!m[1]!.includes("..") && !m[1]!.endsWith("/")) {
        out.push({ specifier: m[1]!, at: `${where}:${i + 1}` });
      }
    }
  });
  return out;
}

/** A row of the README's module table that links a file. */
export interface TableLink {
  /** The module path the row names, e.g. `std/ietf/rfc3261`. */
  path: string;
  /** The file it links, repository-relative. */
  file: string;
  /** Whether the row says the module lives elsewhere (`(in \`cli/sip-caller/main\`)`). */
  moved: boolean;
}

/** The linked rows of the module table between the README's `modules:begin`/`modules:end` markers. */
export function tableLinks(readme: string): TableLink[] {
  const a = readme.indexOf("<!-- modules:begin");
  const b = readme.indexOf("<!-- modules:end");
  if (a < 0 || b < a) return [];
  const out: TableLink[] = [];
  for (const line of readme.slice(a, b).split("\n")) {
    const m = /^\|\s*\[`([^`]+)`\]\(([^)]+)\)\s*\|([^|]*(?:\\\|[^|]*)*)\|/.exec(line);
    if (m) out.push({ path: m[1]!, file: m[2]!, moved: /\(in `[^`]+`\)/.test(m[3]!) });
  }
  return out;
}

/** Every named path in README.md and the sources of std, app, vnd, cli and testing under `root`. */
export async function allNamedPaths(root = "."): Promise<NamedPath[]> {
  const out = namedPaths(await Deno.readTextFile(`${root}/README.md`), "README.md", true);
  const files = [...await Array.fromAsync(sourceFiles(root)), "testing/mod.ts"];
  for (const f of files) {
    const text = await Deno.readTextFile(`${root}/${f}`).catch(() => "");
    out.push(...namedPaths(text, f));
  }
  return out;
}
