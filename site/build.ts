// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * `deno task site`: builds the static site into `site/_site/` (not built yet:
 * prints what it will do).
 *
 * @module
 */
console.log(`site: will write site/_site/ with one page per module, the cited
specification passages beside the code, and the API reference.`);
