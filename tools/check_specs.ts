// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Resolves every `@implements` reference in std/, app/, vnd/ and cli/ against
 * the specification texts and fails on one that does not exist.
 *
 * Usage: `deno task check:specs [FILE...]`
 *
 * @module
 */
import { resolveRef, scanAnnotations, sourceFiles, SpecUnavailableError } from "./specs.ts";

/** One reference that did not resolve. */
export interface Problem {
  file: string;
  line: number;
  message: string;
}

/** Checks the given files (default: every package source); returns problems and the reference count. */
export async function checkSpecs(
  files?: string[],
): Promise<{ problems: Problem[]; refs: number; unavailable: Set<string> }> {
  const problems: Problem[] = [];
  const unavailable = new Set<string>();
  let refs = 0;
  const list = files ?? await Array.fromAsync(sourceFiles());
  for (const file of list) {
    let annotations;
    try {
      annotations = scanAnnotations(await Deno.readTextFile(file));
    } catch (e) {
      problems.push({ file, line: 0, message: (e as Error).message });
      continue;
    }
    for (const a of annotations) {
      for (const ref of a.refs) {
        refs++;
        try {
          await resolveRef(ref);
        } catch (e) {
          if (e instanceof SpecUnavailableError && !strict) unavailable.add(e.message);
          else problems.push({ file, line: a.line, message: (e as Error).message });
        }
      }
    }
  }
  return { problems, refs, unavailable };
}

// Without the texts (no RTCLITE_SPECS, no network) references are reported
// unchecked, except in CI (RTCLITE_REQUIRE_PEERS=1), where that fails.
const strict = Deno.env.get("RTCLITE_REQUIRE_PEERS") === "1";

if (import.meta.main) {
  const { problems, refs, unavailable } = await checkSpecs(
    Deno.args.length ? Deno.args : undefined,
  );
  for (const p of problems) console.error(`${p.file}:${p.line}: ${p.message}`);
  for (const m of unavailable) console.warn(`SKIP unchecked references: ${m}`);
  console.log(`check:specs: ${refs} references, ${problems.length} unresolved`);
  if (problems.length) Deno.exit(1);
}
