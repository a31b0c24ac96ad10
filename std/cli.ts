// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The one command-line reader of rtclite's tools. A tool declares its
 * options once ({@linkcode Command}); {@linkcode parseCommand} reads the
 * arguments against that declaration, and {@linkcode runCommand} wraps a
 * tool's body so that every tool behaves the same way:
 *
 * - `-h`/`--help` prints the usage and exits 0, before anything else runs;
 * - an unknown option, a missing value or a wrong number of operands prints
 *   one line and the usage, and exits 2, before the network is touched;
 * - `-v`/`--verbose` and `-q`/`--quiet` set the log level;
 * - a missing Deno permission is reported in one sentence naming the flag,
 *   never as a stack trace; any other error prints its message and exits 1.
 *
 * `serverArgument` reads a server given as a URI or as `host[:port]`.
 *
 * With JSR, `@std/cli`'s `parseArgs` would read the arguments; the
 * declaration, help text and exit codes here would stay.
 *
 * @example Declare and read options
 * ```ts
 * import { parseCommand } from "@rtclite/std/cli";
 * import { deepEqual, equal, throws } from "node:assert/strict";
 *
 * const command = {
 *   name: "stun",
 *   usage: "stun [options] stun:host[:port]",
 *   operands: [1, 1],
 *   options: {
 *     port: { short: "p", value: "PORT", help: "local port" },
 *     sha256: { help: "use SHA-256" },
 *     header: { value: "H", multiple: true, help: "extra header" },
 *   },
 * } as const;
 * const got = parseCommand(command, ["-p", "3478", "--sha256", "--header=a", "stun:x"]);
 * equal(got.values.port, "3478");
 * equal(got.values.sha256, true);
 * deepEqual(got.values.header, ["a"]);
 * deepEqual(got.operands, ["stun:x"]);
 * throws(() => parseCommand(command, ["--nope", "stun:x"]), /Unknown option --nope/);
 * ```
 *
 * @module
 */
import { type LogLevel, setupLogging } from "./log.ts";

export type { LogLevel };

/** One option of a {@linkcode Command}. */
export interface OptionSpec {
  /** One-letter alias, without the dash: `"p"` for `-p`. */
  readonly short?: string;
  /** The value's name in the help (`"PORT"`); absent for a flag. */
  readonly value?: string;
  /** The option may be given several times; its values come as a list. */
  readonly multiple?: boolean;
  /** One line for the help. */
  readonly help: string;
  /** Heading the option is listed under in the help (`Network`); options without one come first. */
  readonly group?: string;
}

/** What a tool accepts: its name, usage lines and options. */
export interface Command {
  /** The tool's name, as the user types it (`rfc5389.ts`). */
  readonly name: string;
  /** One or more usage lines, without the name of the tool repeated. */
  readonly usage: string;
  /** Further text for the help: what the tool does, examples. */
  readonly description?: string;
  /** Options by long name, without the dashes. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Fewest and most operands (arguments that are not options); default: any. */
  readonly operands?: readonly [number, number];
}

/** The values of a {@linkcode Command}'s options, typed from its declaration. */
export type OptionValues<O extends Readonly<Record<string, OptionSpec>>> = {
  -readonly [K in keyof O]: O[K] extends { readonly multiple: true } ? string[]
    : O[K] extends { readonly value: string } ? string | undefined
    : boolean;
};

/** What {@linkcode parseCommand} read. */
export interface ParsedCommand<O extends Readonly<Record<string, OptionSpec>>> {
  /** Option values by long name. */
  values: OptionValues<O>;
  /** The operands, in order. */
  operands: string[];
  /** `debug` for `-v`, `error` for `-q`, else `info`. */
  level: LogLevel;
  /** Whether `-h`/`--help` was given. */
  help: boolean;
}

/** Arguments that do not fit a {@linkcode Command}; the tool exits 2. */
export class UsageError extends TypeError {
  /**
   * Creates a usage error.
   *
   * @param message What is wrong with the arguments.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Reads `args` against `command`. `--name=value` and `--name value` both
 * work, `--` ends the options, and `-v`/`-q`/`-h` are always understood.
 *
 * @param command The tool's declaration.
 * @param args The arguments, e.g. `Deno.args`.
 * @returns Option values, operands, log level and whether help was asked for.
 * @throws {UsageError} for an unknown option, a missing value, a flag given a
 * value, or a wrong number of operands (not checked when help was asked for).
 *
 * @example
 * ```ts
 * import { parseCommand, UsageError } from "@rtclite/std/cli";
 * import { equal, throws } from "node:assert/strict";
 *
 * const cmd = { name: "t", usage: "[-u USER] FILE", operands: [1, 1], options: {
 *   user: { short: "u", value: "USER", help: "user name" },
 * } } as const;
 * equal(parseCommand(cmd, ["-u", "alice", "f"]).values.user, "alice");
 * equal(parseCommand(cmd, ["-v", "f"]).level, "debug");
 * equal(parseCommand(cmd, ["--help"]).help, true);
 * throws(() => parseCommand(cmd, ["-u"]), UsageError);
 * throws(() => parseCommand(cmd, []), /Expected 1 operand, got 0/);
 * ```
 */
export function parseCommand<const O extends Readonly<Record<string, OptionSpec>>>(
  command: Command & { readonly options: O },
  args: readonly string[],
): ParsedCommand<O> {
  const values: Record<string, string | string[] | boolean | undefined> = {};
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(command.options)) {
    values[name] = spec.multiple ? [] : spec.value === undefined ? false : undefined;
    if (spec.short) byShort.set(spec.short, name);
  }
  const operands: string[] = [];
  let level: LogLevel = "info";
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      operands.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const key = eq > 0 ? arg.slice(0, eq) : arg;
    const name = key.startsWith("--") ? key.slice(2) : byShort.get(key.slice(1));
    const spec = name === undefined ? undefined : command.options[name];
    if (!spec || name === undefined) {
      if (key === "-h" || key === "--help") help = true;
      else if (key === "-v" || key === "--verbose") level = "debug";
      else if (key === "-q" || key === "--quiet") level = "error";
      else throw new UsageError(`Unknown option ${key}`);
      continue;
    }
    if (spec.value === undefined) {
      if (eq > 0) throw new UsageError(`Option ${key} takes no value`);
      values[name] = true;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new UsageError(`Option ${key} needs a value (${spec.value})`);
    if (spec.multiple) (values[name] as string[]).push(value);
    else values[name] = value;
  }
  const [min, max] = command.operands ?? [0, Infinity];
  if (!help && (operands.length < min || operands.length > max)) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new UsageError(
      `Expected ${want} operand${want === "1" ? "" : "s"}, got ${operands.length}` +
        (operands.length > max ? ` (${operands.slice(max).join(" ")})` : ""),
    );
  }
  return { values: values as OptionValues<O>, operands, level, help };
}

/**
 * The help text of a command: usage, description and one line per option.
 *
 * @param command The tool's declaration.
 * @returns The text `--help` prints.
 *
 * @example
 * ```ts
 * import { formatHelp } from "@rtclite/std/cli";
 * import { match } from "node:assert/strict";
 *
 * const help = formatHelp({ name: "t", usage: "[options] FILE", options: {
 *   port: { short: "p", value: "PORT", help: "port to listen on" },
 * } });
 * match(help, /^Usage: t \[options\] FILE/);
 * match(help, /-p, --port PORT +port to listen on/);
 *
 * // Options with a group are listed under its heading, after the others.
 * const grouped = formatHelp({ name: "t", usage: "", options: {
 *   tone: { value: "HZ", help: "play a tone", group: "Media" },
 * } });
 * match(grouped, /-h, --help +this help\n\nMedia options:\n +--tone HZ +play a tone$/);
 * ```
 */
export function formatHelp(command: Command): string {
  // Rows by group, groups in order of first appearance; a heading row has no help text.
  const groups = new Map<string, [string, string][]>([["", []]]);
  for (const [name, spec] of Object.entries(command.options)) {
    const group = spec.group ?? "";
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group)!.push([
      `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.value ? ` ${spec.value}` : ""}`,
      spec.help + (spec.multiple ? " (repeatable)" : ""),
    ]);
  }
  groups.get("")!.push(["-v, --verbose", "debug logging"], ["-q, --quiet", "errors only"]);
  groups.get("")!.push(["-h, --help", "this help"]);
  const rows = [...groups.values()].flat();
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  const usage = command.usage.split("\n").map((line, i) =>
    `${i ? "       " : "Usage: "}${command.name} ${line}`
  );
  const sections = [...groups].map(([group, rows]) => [
    "",
    group ? `${group} options:` : "Options:",
    ...rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`),
  ]);
  return [
    ...usage,
    ...(command.description ? ["", command.description] : []),
    ...sections.flat(),
  ].join("\n");
}

const PERMISSION_FLAG: Record<string, string> = {
  net: "--allow-net",
  read: "--allow-read",
  write: "--allow-write",
  env: "--allow-env",
  run: "--allow-run",
  sys: "--allow-sys",
  ffi: "--allow-ffi",
};

/**
 * Runs a tool's body with the shared behaviour described in the module
 * documentation, and returns the exit code. Logging is set up at the chosen
 * level (`quietLevel` replaces `info` for tools whose output is data).
 *
 * @param command The tool's declaration.
 * @param args The arguments, e.g. `Deno.args`.
 * @param body The tool; returns its exit code.
 * @param quietLevel The log level when neither `-v` nor `-q` is given.
 * @returns 0 after help, 2 for a usage error, 1 for a failure, else the body's code.
 *
 * @example
 * ```ts
 * import { runCommand } from "@rtclite/std/cli";
 * import { equal } from "node:assert/strict";
 *
 * const cmd = { name: "t", usage: "NAME", operands: [1, 1], options: {} } as const;
 * equal(await runCommand(cmd, ["x"], ({ operands }) => operands[0] === "x" ? 0 : 1), 0);
 * equal(await runCommand(cmd, [], () => 0), 2); // prints the usage to stderr
 * ```
 */
export async function runCommand<const O extends Readonly<Record<string, OptionSpec>>>(
  command: Command & { readonly options: O },
  args: readonly string[],
  body: (parsed: ParsedCommand<O>) => number | Promise<number>,
  quietLevel: LogLevel = "info",
): Promise<number> {
  let parsed: ParsedCommand<O>;
  try {
    parsed = parseCommand(command, args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${command.name}: ${e.message}\n\n${formatHelp(command)}`);
    return 2;
  }
  if (parsed.help) {
    console.log(formatHelp(command));
    return 0;
  }
  try {
    await setupLogging(parsed.level === "info" ? quietLevel : parsed.level);
    return await body(parsed);
  } catch (e) {
    console.error(`${command.name}: ${describeFailure(e)}`);
    return e instanceof UsageError ? 2 : 1;
  }
}

/** One sentence for an error; a missing permission names the flag that grants it. */
function describeFailure(e: unknown): string {
  const errors = (globalThis as { Deno?: typeof Deno }).Deno?.errors;
  if (errors && (e instanceof errors.NotCapable || e instanceof errors.PermissionDenied)) {
    const kind = /Requires (\w+) access/.exec(e.message)?.[1] ?? "";
    const flag = PERMISSION_FLAG[kind] ?? "the --allow-* flag it names";
    return `needs ${kind || "a"} permission: run it with ${flag} (or -A). ${
      e.message.split("\n")[0]
    }`;
  }
  return e instanceof Error ? e.message : String(e);
}

/**
 * Reads a server argument: a URI that `isUri` recognises and `fromUri`
 * parses (`stun:host:port`, `turn:...`), or a plain `host[:port]` with IPv6
 * in brackets. The host comes back without brackets.
 *
 * @param text The argument.
 * @param isUri Recognises the URI form.
 * @param fromUri Parses the URI form into host and port.
 * @param defaultPort Port when `host[:port]` has none.
 * @returns Host and port.
 * @throws {UsageError} when `text` is neither form.
 *
 * @example
 * ```ts
 * import { serverArgument } from "@rtclite/std/cli";
 * import { deepEqual } from "node:assert/strict";
 *
 * const fromUri = () => ({ host: "[2001:db8::1]", port: 3478 });
 * deepEqual(serverArgument("stun:[2001:db8::1]", /^stun:/, fromUri, 3478), {
 *   host: "2001:db8::1",
 *   port: 3478,
 * });
 * deepEqual(serverArgument("127.0.0.1", /^stun:/, fromUri, 3478), { host: "127.0.0.1", port: 3478 });
 * ```
 */
export function serverArgument(
  text: string,
  isUri: RegExp,
  fromUri: (text: string) => { host: string; port: number },
  defaultPort: number,
): { host: string; port: number } {
  if (isUri.test(text)) {
    const { host, port } = fromUri(text);
    return { host: host.replace(/^\[(.*)\]$/, "$1"), port };
  }
  const m = /^(?:\[([^\]]+)\]|([^:/]+))(?::(\d{1,5}))?$/.exec(text);
  if (!m) throw new UsageError(`Invalid server address: "${text}" (expected host[:port])`);
  return { host: m[1] ?? m[2]!, port: m[3] ? Number(m[3]) : defaultPort };
}

/**
 * The body of a parser's command line: parses each operand, prints the result
 * as JSON on stdout, and a failure as `operand: message` on stderr.
 *
 * @param operands The texts to parse.
 * @param parse The parser; what it returns is printed.
 * @param indent JSON indentation (default: one line per operand).
 * @returns 0 when every operand parsed, else 1.
 *
 * @example
 * ```ts
 * import { printParsed, runCommand } from "@rtclite/std/cli";
 * import { equal } from "node:assert/strict";
 *
 * const cmd = { name: "t", usage: "NUMBER...", operands: [1, Infinity], options: {} } as const;
 * const parse = (text: string) => {
 *   if (!/^\d+$/.test(text)) throw new SyntaxError("not a number");
 *   return { value: Number(text) };
 * };
 * equal(await runCommand(cmd, ["1", "2"], ({ operands }) => printParsed(operands, parse)), 0);
 * equal(await runCommand(cmd, ["x"], ({ operands }) => printParsed(operands, parse)), 1);
 * ```
 */
export function printParsed(
  operands: readonly string[],
  parse: (text: string) => unknown,
  indent?: number,
): number {
  let status = 0;
  for (const text of operands) {
    try {
      console.log(JSON.stringify(parse(text), null, indent));
    } catch (e) {
      console.error(`${text}: ${e instanceof Error ? e.message : e}`);
      status = 1;
    }
  }
  return status;
}
