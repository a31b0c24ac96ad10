// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * Library-first logging for rtclite, on {@link https://logtape.org | LogTape}.
 *
 * Library modules never print: they log under the `["rtclite", ...]`
 * category tree, which stays silent until an application configures it.
 * Command-line entries (through `runCommand` of `@rtclite/std/cli`) call
 * {@linkcode setupLogging} with the level `-v` (debug) or `-q` (errors only) picks.
 *
 * @example Log from a module, configure from an application
 * ```ts
 * import { getLogger, setupLogging } from "@rtclite/std/log";
 * import { equal } from "node:assert/strict";
 *
 * const log = getLogger("sip", "transaction");
 * const lines: string[] = [];
 * await setupLogging("debug", (line) => lines.push(line));
 * log.debug("Timer A fired for {branch}", { branch: "z9hG4bK1" });
 * equal(lines.length, 1);
 * equal(lines[0]!.includes("rtclite·sip·transaction"), true);
 * await setupLogging(null);
 * ```
 *
 * @module
 */
import {
  configure,
  defaultTextFormatter,
  getLogger as logtapeLogger,
  reset,
} from "@logtape/logtape";

/** Severity levels, lowest first. */
export type LogLevel = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

/**
 * What a module logs through: a message template with `{name}` placeholders
 * filled from `properties`.
 */
export interface Logger {
  /** Logs at trace level. */
  trace(message: string, properties?: Record<string, unknown>): void;
  /** Logs at debug level. */
  debug(message: string, properties?: Record<string, unknown>): void;
  /** Logs at info level. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** Logs at warning level. */
  warn(message: string, properties?: Record<string, unknown>): void;
  /** Logs at error level. */
  error(message: string, properties?: Record<string, unknown>): void;
}

/**
 * Returns the logger for a module's category under `rtclite`.
 *
 * @param category Category path below `rtclite`, e.g. `"sip", "transaction"`.
 * @returns A LogTape logger; silent until {@linkcode setupLogging} is called.
 */
export function getLogger(...category: string[]): Logger {
  return logtapeLogger(["rtclite", ...category]);
}

/**
 * Routes rtclite's log records at `level` and above to `write` (default:
 * standard error through `console.error`). `null` turns logging off again.
 *
 * @param level Lowest level to emit, or `null` to reset to silence.
 * @param write Receives each formatted line without its trailing newline.
 */
export async function setupLogging(
  level: LogLevel | null,
  write: (line: string) => void = (line) => console.error(line),
): Promise<void> {
  if (level === null) return await reset();
  await configure({
    reset: true,
    sinks: { out: (record) => write(defaultTextFormatter(record).trimEnd()) },
    loggers: [
      { category: ["rtclite"], lowestLevel: level, sinks: ["out"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["out"] },
    ],
  });
}
