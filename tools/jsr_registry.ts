// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * This workspace's packages served as a JSR registry on 127.0.0.1, so that
 * `deno run jsr:@rtclite/sip-caller` can be run for real where jsr.io cannot be
 * reached: Deno takes its registry from the `JSR_URL` environment variable.
 *
 * ```sh
 * deno run -A tools/jsr_registry.ts --port 4873 &
 * JSR_URL=http://127.0.0.1:4873/ deno run -A jsr:@rtclite/sip-caller --help
 * ```
 *
 * What it serves is what `deno publish` would upload, laid out as the JSR
 * registry API (https://jsr.io/docs/api) describes:
 *
 * - `/@scope/name/meta.json`: the package's versions (`{ scope, name, latest, versions }`);
 * - `/@scope/name/VERSION_meta.json`: the version's `manifest` (every file
 *   with its `size` and `checksum`, `sha256-` and the hex digest, which Deno
 *   checks each downloaded file against) and its `exports`;
 * - `/@scope/name/VERSION/path`: the files.
 *
 * A package's files are those under its folder minus its `publish.exclude`
 * globs, the `.gitignore`d paths and other members' folders. Bare specifiers
 * are rewritten the way `deno publish` does: an import of a workspace member
 * (`@rtclite/std/bytes`) becomes `jsr:@rtclite/std@^0.1.0/bytes`, an import-map
 * entry (`@noble/hashes/sha2.js`) becomes its target (`npm:@noble/hashes@^2.4.0/sha2.js`).
 * Relative, `jsr:`, `npm:`, `node:` and URL specifiers stay as they are.
 *
 * @module
 */
import { runCommand } from "@rtclite/std/cli";

/** One package version of the registry. */
export interface RegistryPackage {
  /** Scope without the `@`: `rtclite`. */
  scope: string;
  /** Name within the scope: `std`. */
  name: string;
  /** The version (`0.1.0`). */
  version: string;
  /** `exports` of its `deno.json`. */
  exports: Record<string, string>;
  /** Its files by path from the package root, with a leading `/`, as served. */
  files: Map<string, Uint8Array>;
}

/** A file's entry in a version's manifest. */
export interface ManifestEntry {
  /** Length in bytes. */
  size: number;
  /** `sha256-` and the lowercase hex digest. */
  checksum: string;
}

/** `VERSION_meta.json`. */
export interface VersionMeta {
  /** Every file of the version. */
  manifest: Record<string, ManifestEntry>;
  /** Export names to `./file` paths. */
  exports: Record<string, string>;
}

/** A bare specifier of a published file that neither the workspace nor the import map resolves. */
export class UnresolvedSpecifierError extends Error {
  /**
   * Creates the error.
   *
   * @param specifier The bare specifier.
   * @param file The file that imports it.
   */
  constructor(readonly specifier: string, readonly file: string) {
    super(
      `Cannot publish ${file}: bare specifier "${specifier}" is neither a workspace member ` +
        `nor in the import map`,
    );
    this.name = "UnresolvedSpecifierError";
  }
}

// === Specifiers ===

/** An import, export-from or dynamic import with a string literal, on a line that is not a comment. */
const IMPORT_RE = /(?<![\w$."'])((?:from|import)\s*(?:\(\s*)?)(["'])([^"'\n]+)\2/g;

/**
 * Rewrites the bare specifiers of a module's imports and re-exports (static,
 * type-only and dynamic with a literal) through `resolve`; JSDoc and line
 * comments are left alone, as `deno publish` leaves them.
 *
 * @param source The module's text.
 * @param resolve Maps a bare specifier to its published form (`undefined`: no mapping).
 * @param file The module's path, for the error.
 * @returns The rewritten text.
 * @throws {UnresolvedSpecifierError} for a bare specifier `resolve` does not map.
 *
 * @example
 * ```ts
 * import { rewriteSpecifiers } from "./jsr_registry.ts";
 * import { equal } from "node:assert/strict";
 *
 * const src = 'import { concat } from "@rtclite/std/bytes";\n * import x from "@rtclite/std/bytes";\n';
 * const out = rewriteSpecifiers(src, (s) => s.replace("@rtclite/std", "jsr:@rtclite/std@^0.1.0"), "a.ts");
 * equal(out, 'import { concat } from "jsr:@rtclite/std@^0.1.0/bytes";\n * import x from "@rtclite/std/bytes";\n');
 * ```
 */
export function rewriteSpecifiers(
  source: string,
  resolve: (bare: string) => string | undefined,
  file: string,
): string {
  return source.split("\n").map((line) => {
    if (/^\s*(\*|\/\/|\/\*)/.test(line)) return line;
    return line.replace(IMPORT_RE, (all, lead: string, quote: string, spec: string) => {
      if (!isBare(spec)) return all;
      const to = resolve(spec);
      if (to === undefined) throw new UnresolvedSpecifierError(spec, file);
      return `${lead}${quote}${to}${quote}`;
    });
  }).join("\n");
}

function isBare(spec: string): boolean {
  return !/^(\.{0,2}\/|[a-z][a-z0-9+.-]*:)/i.test(spec);
}

/**
 * The resolver `deno publish` applies: the longest workspace member name or
 * import-map key that is the specifier or a path prefix of it; members become
 * `jsr:@scope/name@^VERSION`, map entries their target.
 *
 * @param members Package name (`@rtclite/std`) to version.
 * @param importMap The root `imports`.
 * @returns The resolver for {@linkcode rewriteSpecifiers}.
 *
 * @example
 * ```ts
 * import { publishResolver } from "./jsr_registry.ts";
 * import { equal } from "node:assert/strict";
 *
 * const r = publishResolver({ "@rtclite/std": "0.1.0" }, { "@noble/hashes": "npm:@noble/hashes@^2.4.0" });
 * equal(r("@rtclite/std/ietf/rfc3261"), "jsr:@rtclite/std@^0.1.0/ietf/rfc3261");
 * equal(r("@noble/hashes/sha2.js"), "npm:@noble/hashes@^2.4.0/sha2.js");
 * equal(r("@rtclite/stdx"), undefined);
 * ```
 */
export function publishResolver(
  members: Record<string, string>,
  importMap: Record<string, string>,
): (bare: string) => string | undefined {
  const prefixes = [
    ...Object.entries(members).map(([name, v]) => [name, `jsr:${name}@^${v}`] as const),
    ...Object.entries(importMap).map(([k, v]) =>
      [k.replace(/\/$/, ""), v.replace(/\/$/, "")] as const
    ),
  ].sort(([a], [b]) => b.length - a.length);
  return (bare) => {
    for (const [prefix, target] of prefixes) {
      if (bare === prefix) return target;
      if (bare.startsWith(`${prefix}/`)) return target + bare.slice(prefix.length);
    }
    return undefined;
  };
}

// === The workspace's packages ===

/**
 * Turns a `publish.exclude` or `.gitignore` pattern into a test of a path
 * relative to the package (no leading `/`): `*` stays within a segment,
 * `**` spans segments, a trailing `/` matches a folder and all below it.
 *
 * @param pattern The glob.
 * @returns Whether a path matches.
 *
 * @example
 * ```ts
 * import { globMatcher } from "./jsr_registry.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(globMatcher("**\/*_test.ts")("ietf/rfc3261/mod_test.ts"), true);
 * equal(globMatcher("**\/testdata/")("ietf/testdata/a.pcap"), true);
 * equal(globMatcher("/coverage/")("coverage/x"), true);
 * equal(globMatcher("*_test.ts")("ietf/x.ts"), false);
 * ```
 */
export function globMatcher(pattern: string): (path: string) => boolean {
  const dir = pattern.endsWith("/");
  const anchored = pattern.startsWith("/") || pattern.replace(/\/$/, "").includes("/");
  const body = pattern.replace(/^\//, "").replace(/\/$/, "");
  let re = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (body.startsWith("**/", i)) {
      re += "(?:.*/)?";
      i += 2;
    } else if (body.startsWith("**", i)) {
      re += ".*";
      i += 1;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  const full = new RegExp(`^${anchored ? "" : "(?:.*/)?"}${re}${dir ? "/" : "(?:/|$)"}`);
  return (path) => full.test(path);
}

async function* walk(root: string, rel = ""): AsyncGenerator<string> {
  const entries = [];
  for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) entries.push(e);
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) {
      if (e.name === ".git" || e.name === "node_modules") continue;
      yield* walk(root, path);
    } else if (e.isFile) yield path;
  }
}

/**
 * Reads the workspace at `root` (its `deno.json` `workspace`, `imports` and
 * `.gitignore`, and each member's `deno.json`) into the packages `deno
 * publish` would upload, specifiers rewritten.
 *
 * @param root The workspace root.
 * @returns One package per member that has a name and a version.
 */
export async function readWorkspace(root: string): Promise<RegistryPackage[]> {
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
  const memberDirs: string[] = (config.workspace ?? []).map((m: string) =>
    m.replace(/^\.\//, "").replace(/\/$/, "")
  );
  const ignores = (await Deno.readTextFile(`${root}/.gitignore`).catch(() => ""))
    .split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
    .map(globMatcher);
  const configs = await Promise.all(
    memberDirs.map(async (dir) => JSON.parse(await Deno.readTextFile(`${root}/${dir}/deno.json`))),
  );
  const versions: Record<string, string> = {};
  for (const c of configs) if (c.name && c.version) versions[c.name] = c.version;
  const resolve = publishResolver(versions, config.imports ?? {});
  const out: RegistryPackage[] = [];
  for (const [i, dir] of memberDirs.entries()) {
    const c = configs[i];
    if (!c.name || !c.version) continue;
    const excluded = [...(c.publish?.exclude ?? c.exclude ?? [])].map(globMatcher);
    const nested = memberDirs.filter((d) => d.startsWith(`${dir}/`)).map((d) =>
      d.slice(dir.length + 1)
    );
    const files = new Map<string, Uint8Array>();
    for await (const rel of walk(`${root}/${dir}`)) {
      if (excluded.some((m) => m(rel)) || ignores.some((m) => m(`${dir}/${rel}`))) continue;
      if (nested.some((n) => rel.startsWith(`${n}/`))) continue;
      let bytes = await Deno.readFile(`${root}/${dir}/${rel}`);
      if (/\.(m?[jt]sx?|d\.ts)$/.test(rel)) {
        const text = new TextDecoder().decode(bytes);
        bytes = new TextEncoder().encode(rewriteSpecifiers(text, resolve, `${dir}/${rel}`));
      }
      files.set(`/${rel}`, bytes);
    }
    const [scope, name] = String(c.name).replace(/^@/, "").split("/") as [string, string];
    const exports = typeof c.exports === "string" ? { ".": c.exports } : c.exports ?? {};
    out.push({ scope, name, version: c.version, exports, files });
  }
  return out;
}

/**
 * The version's `VERSION_meta.json`: every file's size and SHA-256 checksum, and the exports.
 *
 * @param pkg The package.
 * @returns The document.
 *
 * @example
 * ```ts
 * import { versionMeta } from "./jsr_registry.ts";
 * import { equal } from "node:assert/strict";
 *
 * const files = new Map([["/mod.ts", new TextEncoder().encode("")]]);
 * const meta = await versionMeta({ scope: "a", name: "b", version: "1.0.0", exports: { ".": "./mod.ts" }, files });
 * equal(meta.manifest["/mod.ts"]?.checksum, "sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
 * equal(meta.manifest["/mod.ts"]?.size, 0);
 * ```
 */
export async function versionMeta(pkg: RegistryPackage): Promise<VersionMeta> {
  const manifest: Record<string, ManifestEntry> = {};
  for (const [path, bytes] of pkg.files) {
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
    );
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    manifest[path] = { size: bytes.length, checksum: `sha256-${hex}` };
  }
  return { manifest, exports: pkg.exports };
}

// === The server ===

const TYPES: Record<string, string> = {
  ts: "application/typescript; charset=utf-8",
  mts: "application/typescript; charset=utf-8",
  tsx: "text/tsx; charset=utf-8",
  js: "application/javascript; charset=utf-8",
  mjs: "application/javascript; charset=utf-8",
  json: "application/json",
  wasm: "application/wasm",
};

/**
 * The registry's request handler over `packages`.
 *
 * @param packages The packages (one version each).
 * @returns A `fetch`-style handler: GET `/@scope/name/meta.json`, `/@scope/name/V_meta.json`, `/@scope/name/V/path`.
 *
 * @example
 * ```ts
 * import { registryHandler } from "./jsr_registry.ts";
 * import { equal } from "node:assert/strict";
 *
 * const files = new Map([["/mod.ts", new TextEncoder().encode("export const x = 1;\n")]]);
 * const handle = await registryHandler([{ scope: "a", name: "b", version: "1.0.0", exports: { ".": "./mod.ts" }, files }]);
 * const meta = await (await handle(new Request("http://r/@a/b/meta.json"))).json();
 * equal(meta.latest, "1.0.0");
 * equal(await (await handle(new Request("http://r/@a/b/1.0.0/mod.ts"))).text(), "export const x = 1;\n");
 * equal((await handle(new Request("http://r/@a/c/meta.json"))).status, 404);
 * ```
 */
export async function registryHandler(
  packages: RegistryPackage[],
): Promise<(req: Request) => Response | Promise<Response>> {
  const byName = new Map<string, { pkg: RegistryPackage; meta: VersionMeta }>();
  for (const pkg of packages) {
    byName.set(`@${pkg.scope}/${pkg.name}`, { pkg, meta: await versionMeta(pkg) });
  }
  const json = (v: unknown) =>
    new Response(JSON.stringify(v), { headers: { "content-type": "application/json" } });
  const notFound = () => new Response("Not found\n", { status: 404 });
  return (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    const m = /^\/(@[^/]+\/[^/]+)\/(.+)$/.exec(path);
    const entry = m && byName.get(m[1]!);
    if (!m || !entry || (req.method !== "GET" && req.method !== "HEAD")) return notFound();
    const { pkg, meta } = entry;
    const rest = m[2]!;
    if (rest === "meta.json") {
      return json({
        scope: pkg.scope,
        name: pkg.name,
        latest: pkg.version,
        versions: { [pkg.version]: {} },
      });
    }
    if (rest === `${pkg.version}_meta.json`) return json(meta);
    if (!rest.startsWith(`${pkg.version}/`)) return notFound();
    const file = rest.slice(pkg.version.length);
    const bytes = pkg.files.get(file);
    if (!bytes) return notFound();
    const ext = /\.([a-z]+)$/.exec(file)?.[1] ?? "";
    return new Response(bytes as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": TYPES[ext] ?? "application/octet-stream" },
    });
  };
}

/** Options of {@linkcode serveRegistry}. */
export interface ServeRegistryOptions {
  /** Workspace root (default: this repository). */
  root?: string;
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
}

/**
 * Serves the workspace's packages as a JSR registry on 127.0.0.1.
 *
 * @param options Root, port, stop signal.
 * @returns The server and the `JSR_URL` to give Deno (with its trailing `/`).
 */
export async function serveRegistry(
  options: ServeRegistryOptions = {},
): Promise<{ server: Deno.HttpServer<Deno.NetAddr>; url: string; packages: RegistryPackage[] }> {
  const root = options.root ?? new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const packages = await readWorkspace(root);
  const handler = await registryHandler(packages);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    onListen() {},
    ...(options.signal ? { signal: options.signal } : {}),
  }, handler);
  return { server, url: `http://127.0.0.1:${server.addr.port}/`, packages };
}

const command = {
  name: "jsr_registry.ts",
  usage: "[--port PORT]",
  description:
    "Serves this workspace's packages as a JSR registry on 127.0.0.1 until interrupted;\n" +
    "prints the JSR_URL to run them with: JSR_URL=... deno run -A jsr:@rtclite/sip-caller --help",
  operands: [0, 0],
  options: {
    port: { short: "p", value: "PORT", help: "port to listen on (default any free port)" },
  },
} as const;

if (import.meta.main) {
  Deno.exit(
    await runCommand(command, Deno.args, async ({ values }) => {
      const { server, url, packages } = await serveRegistry({ port: Number(values.port ?? 0) });
      for (const p of packages) {
        console.log(`@${p.scope}/${p.name}@${p.version}: ${p.files.size} files`);
      }
      console.log(`JSR_URL=${url}`);
      await server.finished;
      return 0;
    }),
  );
}
