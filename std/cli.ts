// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * Small helpers the command-line entries of rtclite's modules share: taking
 * an option or a flag out of the argument list, and reading a server
 * argument given as a URI or as `host[:port]`. (`-v`/`-q` are taken by
 * `parseVerbosity` in `@rtclite/std/log`.)
 *
 * @example Take options out of the arguments
 * ```ts
 * import { serverArgument, takeFlag, takeOption } from "@rtclite/std/cli";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const args = ["--port", "3478", "--sha256", "stun:example.com"];
 * equal(takeOption(args, "--port"), "3478");
 * equal(takeFlag(args, "--sha256"), true);
 * deepEqual(args, ["stun:example.com"]);
 * deepEqual(serverArgument("[::1]:3479", /^stuns?:/, () => ({ host: "", port: 0 }), 3478), {
 *   host: "::1",
 *   port: 3479,
 * });
 * ```
 *
 * @module
 */

/**
 * Removes `name` and the value after it from `args`.
 *
 * @param args Command-line arguments; changed in place.
 * @param name The option, e.g. `--port`.
 * @returns The value, or `undefined` when the option is absent.
 * @throws {TypeError} when the option is the last argument.
 *
 * @example
 * ```ts
 * import { takeOption } from "@rtclite/std/cli";
 * import { equal, throws } from "node:assert/strict";
 *
 * equal(takeOption(["-u", "alice"], "-u"), "alice");
 * equal(takeOption([], "-u"), undefined);
 * throws(() => takeOption(["-u"], "-u"), TypeError);
 * ```
 */
export function takeOption(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined) throw new TypeError(`Missing value after ${name}`);
  args.splice(i, 2);
  return value;
}

/**
 * Removes the flag `name` from `args`.
 *
 * @param args Command-line arguments; changed in place.
 * @param name The flag, e.g. `--fast`.
 * @returns Whether the flag was there.
 *
 * @example
 * ```ts
 * import { takeFlag } from "@rtclite/std/cli";
 * import { equal } from "node:assert/strict";
 *
 * const args = ["--fast", "in.flv"];
 * equal(takeFlag(args, "--fast"), true);
 * equal(takeFlag(args, "--fast"), false);
 * ```
 */
export function takeFlag(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
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
 * @throws {TypeError} when `text` is neither form.
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
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(text);
  if (!m) throw new TypeError(`Invalid server address: "${text}"`);
  return { host: m[1] ?? m[2]!, port: m[3] ? Number(m[3]) : defaultPort };
}
