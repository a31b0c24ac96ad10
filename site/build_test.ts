// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Tests of the site builder: how a source is cut into sections, and the
 * built site in a real browser (headless Chromium driven over the DevTools
 * protocol): the two columns sit side by side, no internal link is broken,
 * no page logs an error, and a screenshot of a module page is kept.
 *
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { interopTest, requirePeers, startPeer } from "@rtclite/testing";
import {
  blockEnds,
  buildSite,
  excerptHtml,
  favicon,
  folderPage,
  jsdocToMarkdown,
  modulePage,
  OUT,
  sectionsOf,
} from "./build.ts";
import { scanAnnotations } from "../tools/specs.ts";

const SAMPLE = `// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * A sample.
 *
 * @module
 */
import { x } from "./x.ts";

// @implements RFC3261 §7.1
/** Parses. */
export function parse(s: string): string {
  const a = 1;

  // @implements RFC3261 §7.3.1 ¶2
  return s + a;
}

const after = 2;
// @implements RFC3261 (SIP)
export { after };
`;

Deno.test("sectionsOf() cuts at annotations and at the end of the top-level block", () => {
  const lines = SAMPLE.replace(/\n$/, "").split("\n");
  const sections = sectionsOf(lines, scanAnnotations(SAMPLE));
  deepEqual(
    sections.map((s) => [s.start + 1, s.end, s.annotation?.text ?? null]),
    [
      [7, 7, null], // the import, after the module JSDoc
      [9, 12, "RFC3261 §7.1"], // up to the next annotation, without blank lines
      [14, 16, "RFC3261 §7.3.1 ¶2"], // to the end of the function
      [18, 20, null], // whole-document references do not start a section
    ],
  );
});

Deno.test("blockEnds() ends a block before the next column-0 line after a blank", () => {
  deepEqual(blockEnds(["a {", "", "  b", "}", "", "c", "d"]), [4, 4, 4, 4, 5, 7, 7]);
});

Deno.test("jsdocToMarkdown() renders links and examples", () => {
  const md = jsdocToMarkdown(
    "See {@link https://www.rfc-editor.org/rfc/rfc2396 | RFC 2396} and {@linkcode parseUri}.\n" +
      '@example Parse\n```ts\nparseUri("a");\n```\n@module',
  );
  ok(md.includes("[RFC 2396](https://www.rfc-editor.org/rfc/rfc2396)"), md);
  ok(md.includes("`parseUri`"), md);
  ok(md.includes("**Example: Parse**\n\n```ts"), md);
  equal(md.includes("@module"), false);
});

Deno.test("excerptHtml() flows prose and keeps grammars and lists preformatted", () => {
  const { html, more } = excerptHtml(
    "   The host is a name\n   or an address.\n\n" +
      "      host      =  hostname / IPv4address\n      port      =  *DIGIT\n\n" +
      "   o  first item\n      continued",
  );
  equal(
    html,
    "<p>The host is a name or an address.</p>\n" +
      "<pre>   host      =  hostname / IPv4address\n   port      =  *DIGIT</pre>\n" +
      "<pre>o  first item\n   continued</pre>",
  );
  equal(more, 0);
  equal(excerptHtml(Array(10).fill("   a").join("\n\n")).more, 2);
});

Deno.test("favicon() is a 16x16 32-bit ICO", () => {
  const ico = favicon();
  deepEqual([...ico.subarray(0, 8)], [0, 0, 1, 0, 1, 0, 16, 16]);
  equal(ico.length, 6 + 16 + 40 + 16 * 16 * 4 + 16 * 4);
});

Deno.test({
  name: "modulePage() counts resolved excerpts and reports unresolved references",
  ignore: !Deno.env.get("RTCLITE_SPECS"),
  async fn() {
    const source = "// Copyright\n\n// @implements RFC2396 §3.2\nexport const a = 1;\n\n" +
      "// @implements RFC2396 §99.9\nexport const b = 2;\n";
    const { html, report } = await modulePage("std/ietf/x.ts", source, {
      notebooks: [],
      helpers: [],
    });
    equal(report.excerpts, 1);
    equal(report.refs, 2);
    equal(report.unresolved.length, 1);
    ok(report.unresolved[0]!.includes("99.9"), report.unresolved[0]);
    ok(html.includes('id="rfc2396-3.2"'), "anchor named after the reference");
    ok(html.includes('href="https://www.rfc-editor.org/rfc/rfc2396#section-3.2"'), "RFC link");
    ok(html.includes('<link rel="stylesheet" href="../../style.css">'), "relative root");
  },
});

Deno.test("folderPage() shows a folder's files in order, each under its own heading", async () => {
  const head = (doc: string, pure: boolean) =>
    `// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.\n${
      pure ? "// This module is browser compatible.\n" : ""
    }/**\n * ${doc}\n *\n * @module\n */\n`;
  const files = [
    {
      file: "std/ietf/rfcx/mod.ts",
      source: head("The core.", true) +
        '// @implements RFC2396 (URI)\nexport * from "./part.ts";\n\n' +
        "// @implements RFC2396 §3.2\nexport const a = 1;\n",
    },
    {
      file: "std/ietf/rfcx/part.ts",
      source: head("A part.", true) + "// @implements RFC2396 §3.2\nexport const b = 2;\n",
    },
    { file: "std/ietf/rfcx/udp.ts", source: head("The adapter.", false) + "export const c = 3;\n" },
    { file: "std/ietf/rfcx/main.ts", source: head("The command line.", false) + "export {};\n" },
  ];
  const { html, report } = await folderPage("std/ietf/rfcx", files, {
    notebooks: [],
    helpers: [],
    fileApi: new Map([["std/ietf/rfcx/udp.ts", "api/ietf/rfcx/udp.ts/index.html"]]),
  });
  equal(report.page, "std/ietf/rfcx.html");
  deepEqual(report.files, files.map((f) => f.file));
  equal(report.refs, 3);
  const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  deepEqual(ids, [
    "rfc2396",
    "mod.ts",
    "rfc2396-3.2",
    "part.ts",
    "rfc2396-3.2-2",
    "udp.ts",
    "main.ts",
  ]);
  ok(html.includes("<h1>@rtclite/std/ietf/rfcx</h1>"), "the folder is the module");
  ok(html.includes('href="#udp.ts"'), "contents link each file's heading");
  ok(html.includes('href="../../api/ietf/rfcx/udp.ts/index.html"'), "an adapter's own API page");
  ok(html.includes("adapter (runtime I/O)") && html.includes("the command line"), "roles");
  ok(html.includes("<p>The adapter.</p>"), "each file's own prose");
  ok(html.includes('<link rel="stylesheet" href="../../style.css">'), "relative root");
});

// === The browser test ===

/** In CI (`CI=true` or `RTCLITE_REQUIRE_PEERS=1`) nothing may be skipped. */
const ci = requirePeers || Deno.env.get("CI") === "true";

/** A minimal DevTools protocol client over Deno's WebSocket. */
class Cdp {
  #ws: WebSocket;
  #id = 0;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #listeners = new Set<(method: string, params: Record<string, unknown>) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`${msg.error.message} (${msg.error.code})`));
        else p?.resolve(msg.result);
      } else for (const l of this.#listeners) l(msg.method, msg.params ?? {});
    };
  }

  static connect(url: string): Promise<Cdp> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(new Cdp(ws));
      ws.onerror = () => reject(new Error(`Cannot connect to ${url}`));
    });
  }

  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<T> {
    const id = ++this.#id;
    this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  on(fn: (method: string, params: Record<string, unknown>) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.#ws.onclose = () => resolve();
      this.#ws.close();
    });
  }
}

/** Serves `dir` on 127.0.0.1 at a free port; records the paths it could not find. */
function serveStatic(dir: string) {
  const missing = new Set<string>();
  const types: Record<string, string> = {
    html: "text/html; charset=utf-8",
    css: "text/css",
    js: "text/javascript",
    png: "image/png",
    svg: "image/svg+xml",
    ipynb: "application/json",
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    let path = decodeURIComponent(new URL(req.url).pathname);
    if (path.endsWith("/")) path += "index.html";
    if (path.includes("..")) return new Response("bad path", { status: 400 });
    try {
      const body = await Deno.readFile(`${dir}${path}`);
      const ext = path.slice(path.lastIndexOf(".") + 1);
      return new Response(body, {
        headers: { "content-type": types[ext] ?? "application/octet-stream" },
      });
    } catch {
      missing.add(path);
      return new Response("not found", { status: 404 });
    }
  });
  return { server, missing, origin: `http://127.0.0.1:${server.addr.port}` };
}

/** Decodes the character references deno doc writes in attributes (`&#x2F;`, `&amp;`). */
function unescapeHtml(s: string): string {
  const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
  return s.replace(
    /&(?:#x([0-9a-f]+)|#(\d+)|(\w+));/gi,
    (all, hex, dec, name) =>
      hex
        ? String.fromCodePoint(parseInt(hex, 16))
        : dec
        ? String.fromCodePoint(Number(dec))
        : named[name] ?? all,
  );
}

interface PageInfo {
  links: string[];
  ids: string[];
}

interopTest(
  "site: module pages show excerpt beside code, no broken links or console errors (Chromium)",
  [{ bin: "chromium", apt: "chromium" }],
  async (t) => {
    // A site of its own: two copies of the suite at once would wipe each other's site/_site.
    // The executed notebooks of site/_site (deno task notebooks) are kept, as buildSite() does.
    const out = await Deno.makeTempDir({ prefix: "rtclite-site-" });
    await Deno.mkdir(`${out}/notebooks`);
    try {
      for await (const e of Deno.readDir(`${OUT}/notebooks`)) {
        await Deno.copyFile(`${OUT}/notebooks/${e.name}`, `${out}/notebooks/${e.name}`);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const built = await buildSite(out);
    deepEqual(built.problems, []);
    const { server, missing, origin } = serveStatic(out);
    const profile = await Deno.makeTempDir({ prefix: "rtclite-chromium-" });
    try {
      await using chromium = startPeer("chromium", [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${profile}`,
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "--window-size=1280,900",
        "about:blank",
      ]);
      await chromium.waitFor(/DevTools listening on ws:\/\/\S+/, 30_000);
      const wsUrl = /DevTools listening on (ws:\/\/\S+)/.exec(chromium.output())![1]!;
      const cdp = await Cdp.connect(wsUrl);
      try {
        const { targetId } = await cdp.send<{ targetId: string }>("Target.createTarget", {
          url: "about:blank",
        });
        const { sessionId } = await cdp.send<{ sessionId: string }>("Target.attachToTarget", {
          targetId,
          flatten: true,
        });
        const s = (method: string, params: Record<string, unknown> = {}) =>
          cdp.send<Record<string, unknown>>(method, params, sessionId);
        await s("Page.enable");
        await s("Runtime.enable");
        await s("Log.enable");

        // Everything the page reports as an error, tagged with the page that was loading.
        let current = "";
        const errors: string[] = [];
        cdp.on((method, p) => {
          if (method === "Runtime.consoleAPICalled" && p.type === "error") {
            errors.push(`${current}: console.error ${JSON.stringify(p.args)}`);
          } else if (method === "Runtime.exceptionThrown") {
            errors.push(`${current}: exception ${JSON.stringify(p.exceptionDetails)}`);
          } else if (method === "Log.entryAdded") {
            const entry = p.entry as { level: string; text: string; url?: string };
            if (entry.level === "error") {
              errors.push(`${current}: ${entry.text} ${entry.url ?? ""}`);
            }
          }
        });

        const goto = async (url: string): Promise<void> => {
          current = url;
          let off = () => {};
          const loaded = new Promise<void>((resolve) => {
            off = cdp.on((method) => method === "Page.loadEventFired" && resolve());
          });
          await s("Page.navigate", { url });
          await loaded;
          off();
        };
        const evaluate = async <T>(expression: string): Promise<T> => {
          const r = await s("Runtime.evaluate", { expression, returnByValue: true }) as {
            result: { value: T };
            exceptionDetails?: unknown;
          };
          if (r.exceptionDetails) {
            throw new Error(`evaluate: ${JSON.stringify(r.exceptionDetails)}`);
          }
          return r.result.value;
        };

        // 1. A module page: the excerpt and the code it annotates sit side by side.
        // The URI module if it is there (the first protocol module a reader meets), else any.
        // Without specification texts (no RTCLITE_SPECS, no route to the RFC Editor) no page
        // has an excerpt: that skips visibly here, and fails in CI.
        const withExcerpts = built.pages.filter((p) => p.excerpts > 0);
        const module = withExcerpts.find((p) => p.file === "std/ietf/rfc2396.ts") ??
          withExcerpts.find((p) => /^std\/[^_]*$/.test(p.file)) ?? withExcerpts[0];
        if (!module && !ci) {
          console.warn(
            "SKIP site test: no module page has a specification excerpt (texts unavailable): " +
              "set RTCLITE_SPECS to a directory with the RFC texts, or allow the RFC Editor; " +
              "the excerpt layout and the screenshot are not checked",
          );
        }
        await t.step({
          name: "a module page shows excerpts beside the code, and a screenshot of it is kept",
          ignore: !module && !ci,
          fn: async () => {
            ok(
              module,
              "a module page with excerpts (RTCLITE_SPECS unset? the texts are needed in CI)",
            );
            await goto(`${origin}/${module.page}`);
            const boxes = await evaluate<{
              spec: DOMRect;
              code: DOMRect;
              id: string;
              count: number;
            }>(`(() => {
              const seg = document.querySelector("section.seg.annotated");
              const box = (el) => el.getBoundingClientRect().toJSON();
              return {
                spec: box(seg.querySelector(".spec .excerpt")),
                code: box(seg.querySelector(".code pre")),
                id: seg.querySelector(".ref").id,
                count: document.querySelectorAll("section.seg.annotated .excerpt").length,
              };
            })()`);
            ok(boxes.count >= 1, "excerpts on the page");
            ok(/^[a-z0-9]+-/.test(boxes.id), `anchor named after the reference: ${boxes.id}`);
            ok(boxes.spec.width > 100 && boxes.code.width > 100, JSON.stringify(boxes));
            ok(
              boxes.spec.right <= boxes.code.left,
              `excerpt left of code: ${JSON.stringify(boxes)}`,
            );
            ok(
              boxes.spec.top < boxes.code.bottom && boxes.code.top < boxes.spec.bottom,
              `excerpt and code overlap vertically: ${JSON.stringify(boxes)}`,
            );

            // 2. The screenshot: the module page scrolled to its first excerpt.
            await evaluate(
              `document.getElementById(${
                JSON.stringify(boxes.id)
              }).closest("section").scrollIntoView()`,
            );
            const shot = await s("Page.captureScreenshot", { format: "png" }) as { data: string };
            await Deno.mkdir(OUT, { recursive: true });
            const png = `${OUT}/screenshot.png`;
            await Deno.writeFile(png, Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0)));
            console.log(`screenshot of ${module.page}#${boxes.id}: ${png}`);
          },
        });

        // 3. Crawl every page: ours and the API's index pages in the browser, deno doc's symbol
        // pages (hundreds) read as text; then check every internal link.
        const seen = new Map<string, PageInfo>();
        const queue = [`${origin}/index.html`];
        let rendered = 0;
        while (queue.length) {
          const url = queue.shift()!;
          if (seen.has(url)) continue;
          const path = new URL(url).pathname;
          let info: PageInfo;
          if (path.startsWith("/api/") && !/^\/api\/([^~]*\/)?index\.html$/.test(path)) {
            const html = await (await fetch(url)).text();
            info = {
              links: [...html.matchAll(/\s(?:href|src)="([^"]*)"/g)]
                .map((m) => new URL(unescapeHtml(m[1]!), url).href),
              ids: [],
            };
          } else {
            const t0 = performance.now();
            await goto(url);
            info = await evaluate<PageInfo>(`({
              links: [...document.querySelectorAll("a[href], link[href], script[src], img[src]")]
                .map((e) => e.href || e.src),
              ids: [...document.querySelectorAll("[id], a[name]")].map((e) => e.id || e.name),
            })`);
            rendered++;
            if (Deno.env.get("RTCLITE_DEBUG")) {
              console.log(`${(performance.now() - t0).toFixed(0)} ms ${url}`);
            }
          }
          seen.set(url, info);
          for (const link of info.links) {
            if (!link.startsWith(origin)) continue;
            const page = link.replace(/#.*$/, "").replace(/\?.*$/, "");
            if (/\.html$/.test(page) && !seen.has(page)) queue.push(page);
          }
        }
        // Every internal target exists; every fragment names an element of our own pages.
        const broken: string[] = [];
        const exists = new Map<string, boolean>();
        for (const [from, info] of seen) {
          for (const link of info.links) {
            if (!link.startsWith(origin)) continue;
            const [page, hash] = link.replace(/\?[^#]*/, "").split("#") as [string, string?];
            if (!seen.has(page) && !exists.has(page)) {
              const res = await fetch(page, { method: "HEAD" });
              exists.set(page, res.ok);
            }
            if (!seen.has(page) && !exists.get(page)) broken.push(`${from} -> ${link} (404)`);
            const target = seen.get(page);
            const ours = !new URL(page).pathname.startsWith("/api/");
            // Browsers match a fragment as written, then percent-decoded (nbconvert's ids are encoded).
            const found = (id: string) => target!.ids.includes(id);
            if (hash && target && ours && !found(hash) && !found(decodeURIComponent(hash))) {
              broken.push(`${from} -> ${link} (no element #${hash})`);
            }
          }
        }
        console.log(`crawled ${seen.size} pages, ${rendered} of them rendered in Chromium`);
        deepEqual(broken, [], `broken internal links:\n${broken.join("\n")}`);
        deepEqual([...missing], [], `requests for missing files:\n${[...missing].join("\n")}`);
        deepEqual(errors, [], `console errors:\n${errors.join("\n")}`);
        ok(rendered >= built.pages.length + 1, `rendered ${rendered} pages`);
        await cdp.send("Target.closeTarget", { targetId }).catch(() => {});
      } finally {
        await cdp.close();
      }
    } finally {
      await server.shutdown();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
  // A hang guard, not a wait: the build and the crawl are CPU-bound (about 1.5 min alone here),
  // and twice that with a second copy of the suite on the same cores.
  { timeout: 360_000 },
);
