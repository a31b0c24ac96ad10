// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * `deno task notebooks`: installs the Deno Jupyter kernel and executes every
 * notebook (not built yet: prints what it will do).
 *
 * @module
 */
console.log(`notebooks: will install the Deno kernel and execute every notebook in notebooks/.`);
