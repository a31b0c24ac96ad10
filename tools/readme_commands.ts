// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The command lines of the README's "Command-line tools" table, as printed
 * there, for `tools/readme_commands_test.ts`.
 *
 * @module
 */

/** A row of the table: its command lines and the file they run. */
export interface ReadmeCommand {
  /** The row's first command line, as printed (unescaped `\|`). */
  command: string;
  /** The `deno` arguments before the file: `["run", "-A"]`. */
  denoArgs: string[];
  /** The file the command runs, repository-relative: `std/ietf/rfc5389.ts`. */
  file: string;
  /** The arguments after the file, as printed (split at spaces). */
  args: string[];
}

/** The rows of the README section `## Command-line tools`, each by its first command line. */
export function readmeCommands(readme: string): ReadmeCommand[] {
  const start = readme.search(/^## Command-line tools\s*$/m);
  if (start < 0) return [];
  const rest = readme.slice(start).split("\n").slice(1);
  const end = rest.findIndex((l) => /^## /.test(l));
  const out: ReadmeCommand[] = [];
  for (const line of rest.slice(0, end < 0 ? undefined : end)) {
    if (!/^\|\s*`deno /.test(line)) continue;
    const command = /^\|\s*`((?:[^`\\]|\\.)+)`/.exec(line)![1]!.replace(/\\\|/g, "|");
    const words = command.split(/\s+/);
    const at = words.findIndex((w, i) => i > 0 && /\.ts$/.test(w));
    if (at < 0) continue;
    out.push({
      command,
      denoArgs: words.slice(1, at),
      file: words[at]!,
      args: words.slice(at + 1),
    });
  }
  return out;
}
