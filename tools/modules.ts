// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * The module table: every module of the original rtclite, with the
 * description from this port's `@module` JSDoc, its source lines of code and
 * its status. `deno task modules` rewrites the table in README.md between its
 * markers; `--check` fails when the README is stale.
 *
 * A folder with a `mod.ts` is one module (see `tools/layout.ts`): its row
 * links the `mod.ts`, counts the lines of every file in the folder (tests and
 * benches aside) and takes its description from `mod.ts`.
 *
 * @module
 */
import { isPrivate, sourceModules } from "./layout.ts";

/** A row of the module table. */
export interface ModuleRow {
  /** Import path below `@rtclite/`, e.g. `std/ietf/rfc3261`. */
  path: string;
  description: string;
  /** Non-blank, non-comment lines of the module (a folder's: all its files; 0 when not written yet). */
  sloc: number;
  status: "ready" | "planned";
  /** The file the row links, repository-relative: `std/ietf/rfc3261/mod.ts`, `std/ietf/rfc2198.ts`. */
  file?: string;
  /**
   * The module (of `sourceModules()`) whose site page shows the row's file,
   * e.g. `vnd/adobe/rtmp` for the RTMP client row when it lives in that folder's `main.ts`.
   */
  module?: string;
}

/**
 * The original collection's modules and what each is for, in its order; the
 * third element names where this port put one that lives elsewhere.
 */
export const PLANNED: [path: string, description: string, movedTo?: string][] = [
  ["std/ietf/rfc1035", "DNS messages, stub resolver and a small authoritative server"],
  ["std/ietf/rfc2198", "RTP payload for redundant audio data"],
  ["std/ietf/rfc2396", "URIs and SIP/SIPS/tel addresses"],
  ["std/ietf/rfc2617", "HTTP Basic and Digest authentication (with RFC 7616 and RFC 8760)"],
  ["std/ietf/rfc2833", "DTMF telephone events in RTP (with RFC 4733)"],
  ["std/ietf/rfc3261", "Session Initiation Protocol (SIP)"],
  ["std/ietf/rfc3263", "Locating SIP servers with DNS NAPTR, SRV and A/AAAA records"],
  ["std/ietf/rfc3264", "SDP offer/answer model"],
  ["std/ietf/rfc3489", "Classic STUN and NAT type discovery"],
  ["std/ietf/rfc3550", "RTP and RTCP"],
  ["std/ietf/rfc3551", "RTP audio/video profile: static payload types, G.711"],
  ["std/ietf/rfc3920", "XMPP core, client side"],
  ["std/ietf/rfc3921", "XMPP instant messaging and presence, client side"],
  ["std/ietf/rfc4566", "Session Description Protocol (SDP)"],
  ["std/ietf/rfc5389", "Session Traversal Utilities for NAT (STUN)"],
  ["std/ietf/rfc5766", "Traversal Using Relays around NAT (TURN)"],
  ["std/ietf/rfc6455", "The WebSocket protocol, client and server"],
  ["std/ietf/rfc7064", "stun: and stuns: URIs"],
  ["std/ietf/rfc7065", "turn: and turns: URIs"],
  ["std/itu_t/t140", "Real-time text (T.140) in RTP"],
  ["std/w3c/simplexml", "A small XML DOM and incremental parser"],
  ["app/sip/client", "SIP user agent library: registration, calls, IM, conferences"],
  ["app/sip/server", "SIP registrar and proxy server, including WebSocket"],
  ["app/sip/caller", "Command-line SIP caller and call listener", "cli/sip-caller/main"],
  ["app/sip/api", "SIP API for programmable servers and clients"],
  ["app/sip/p2p", "P2P-SIP on a distributed hash table"],
  ["app/net/p2p/dht", "Distributed hash table"],
  ["app/net/p2p/pipe", "P2P pipe abstraction"],
  ["app/sec/crypto", "Cryptography helpers: PKI, ASN.1"],
  ["app/web/rest", "Building blocks for REST APIs"],
  ["app/web/rtc/notify", "WebRTC signaling server over WebSocket"],
  ["vnd/adobe/amf", "Action Message Format (AMF0 and AMF3)"],
  ["vnd/adobe/rtmp", "RTMP parsing, formatting, server and FLV"],
  ["vnd/adobe/rtmpclient", "Command-line RTMP client", "vnd/adobe/rtmp"],
  ["vnd/adobe/rtmpt", "RTMP tunnelling over HTTP"],
  ["vnd/adobe/siprtmp", "SIP-RTMP gateway for voice and video"],
  ["vnd/adobe/rtmfp", "Real-Time Media Flow Protocol"],
  ["vnd/google/chat", "Chat messages over XMPP"],
];

/** Counts source lines that are neither blank nor comments. */
export function sloc(source: string): number {
  let n = 0;
  let inBlock = false;
  for (const raw of source.split("\n")) {
    const line = raw.trim();
    if (inBlock) {
      if (line.includes("*/")) inBlock = false;
      continue;
    }
    if (!line || line.startsWith("//")) continue;
    if (line.startsWith("/*")) {
      inBlock = !line.includes("*/");
      continue;
    }
    n++;
  }
  return n;
}

/** First sentence of a module's `@module` JSDoc block. */
export function moduleSummary(source: string): string | undefined {
  for (const m of source.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    if (!/@module\b/.test(m[1]!)) continue;
    const text = m[1]!.split("\n").map((l) => l.replace(/^\s*\* ?/, "")).join(" ")
      .replace(/\{@link\w* ([^}|\s]+)\s*(?:\|\s*([^}]+))?\}/g, (_, url, label) => label ?? url);
    const first = text.split(/(?<=\.)\s|\s@\w+/)[0]!;
    return first.replace(/\s+/g, " ").trim().replace(/\.$/, "");
  }
  return undefined;
}

/** Builds the rows: planned modules plus any exported module in the tree that is not in the plan. */
export async function moduleRows(root = "."): Promise<ModuleRow[]> {
  const modules = new Map(
    (await sourceModules(root))
      .filter((m) => /^(std|app|vnd)\//.test(m.path) && !isPrivate(m.path))
      .map((m) => [m.path, m]),
  );
  const rows: ModuleRow[] = [];
  const seen = new Set<string>();
  const add = async (path: string, planned: string): Promise<void> => {
    seen.add(path);
    const m = modules.get(path);
    if (!m) {
      rows.push({ path, description: planned, sloc: 0, status: "planned" });
      return;
    }
    let lines = 0;
    for (const f of m.files) lines += sloc(await Deno.readTextFile(`${root}/${f}`));
    const entry = await Deno.readTextFile(`${root}/${m.entry}`);
    rows.push({
      path,
      description: shortDescription(moduleSummary(entry) ?? planned),
      sloc: lines,
      status: "ready",
      file: m.entry,
      module: m.path,
    });
  };
  for (const [path, desc, movedTo] of PLANNED) {
    // A command line moved into a folder module lives in the folder's `main.ts`.
    const folder = movedTo ? modules.get(movedTo) : undefined;
    const target = folder?.main
      ? folder.main.replace(/\.ts$/, "")
      : movedTo && (modules.has(movedTo) || await exists(`${root}/${movedTo}.ts`))
      ? movedTo
      : undefined;
    if (target) {
      const shown = folder ?? modules.get(target);
      const row: ModuleRow = {
        path,
        description: `${desc} (in \`${target}\`)`,
        sloc: 0,
        status: "ready",
        file: folder?.main ?? shown?.entry ?? `${target}.ts`,
      };
      if (shown) row.module = shown.path;
      rows.push(row);
    } else await add(path, desc);
  }
  for (const path of [...modules.keys()].sort()) if (!seen.has(path)) await add(path, "");
  return rows;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Shortens a module summary for the table: the part before a colon, at most about 100 characters. */
export function shortDescription(summary: string): string {
  const head = summary.split(/:\s/)[0]!;
  const text = head.length >= 12 ? head : summary;
  if (text.length <= 100) return text;
  const cut = text.slice(0, 100);
  return cut.slice(0, Math.max(cut.lastIndexOf(", "), cut.lastIndexOf(" "))) + " ...";
}

/** Renders the rows as a Markdown table. */
export function renderTable(rows: ModuleRow[]): string {
  const lines = ["| module | description | SLoC | status |", "| --- | --- | ---: | --- |"];
  for (const r of rows) {
    const name = r.status === "ready"
      ? `[\`${r.path}\`](${r.file ?? `${r.path}.ts`})`
      : `\`${r.path}\``;
    lines.push(
      `| ${name} | ${r.description.replace(/\|/g, "\\|")} | ${r.sloc || ""} | ${r.status} |`,
    );
  }
  return lines.join("\n");
}

/** Formats Markdown the way `deno fmt` does, so the check agrees with the formatter. */
async function formatMarkdown(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "-"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  return new TextDecoder().decode((await child.output()).stdout);
}

const BEGIN = "<!-- modules:begin (deno task modules) -->";
const END = "<!-- modules:end -->";

if (import.meta.main) {
  const readme = await Deno.readTextFile("README.md");
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error("README.md: module table markers not found");
  const next = await formatMarkdown(
    readme.slice(0, a + BEGIN.length) + "\n\n" + renderTable(await moduleRows()) + "\n\n" +
      readme.slice(b),
  );
  if (Deno.args.includes("--check")) {
    if (next !== readme) {
      console.error("README.md: module table is out of date; run `deno task modules`");
      Deno.exit(1);
    }
  } else if (next !== readme) {
    await Deno.writeTextFile("README.md", next);
    console.log("README.md: module table updated");
  }
}
