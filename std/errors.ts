// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
// This module is browser compatible.
/**
 * The error types every rtclite parser throws.
 *
 * Parsers throw {@linkcode ParseError} (a `SyntaxError`) for input that does
 * not follow the grammar, carrying the offset where reading stopped; modules
 * subclass it to name the format. Out-of-range values are `RangeError`s and
 * wrong argument shapes `TypeError`s, as in Deno's standard library.
 *
 * @example Catch any parser's error
 * ```ts
 * import { ParseError } from "@rtclite/std/errors";
 * import { equal, ok } from "node:assert/strict";
 *
 * const err = new ParseError("Cannot parse URI: missing scheme", 0);
 * ok(err instanceof SyntaxError);
 * equal(err.offset, 0);
 * equal(err.name, "ParseError");
 * ```
 *
 * @module
 */

/** Input that does not follow a specification's grammar. */
export class ParseError extends SyntaxError {
  /** Offset (characters or bytes, as the parser reads) where the error was found. */
  readonly offset: number | undefined;

  /**
   * Creates a parse error.
   *
   * @param message Sentence-case message: what failed, a colon, the detail.
   * @param offset Where in the input the problem was found.
   * @param options Standard error options, e.g. `{ cause }`.
   */
  constructor(message: string, offset?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.offset = offset;
  }
}
