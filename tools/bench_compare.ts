// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Runs every codec bench N times and prints, per group, ours ÷ the fastest peer: the median and
 * the range over the runs, so that a claim in BENCHMARKS.md can be checked on any machine.
 *
 * Each run of a bench file is one `deno bench --json` process, so ours and the peers run in the
 * same process, interleaved as the file orders them; the files take turns (run 1 of every file,
 * then run 2, ...), so a burst of load from elsewhere hits every file rather than one. A row
 * whose name says `rtclite` (or starts with the module, `rfc1035 ...`) is ours, every other row
 * in its group a peer; per run, each of our rows is divided by the fastest peer of that run.
 * Groups without a peer print their times only.
 *
 * The statistic is the per-run p75 of the iteration time by default (`--stat avg|min|p75|p99`):
 * on a shared machine the average carries other jobs' pauses and the minimum hides our own
 * garbage collection, while p75 does neither.
 *
 * With `--digest-rate`, it also measures `DigestServer.verify` per second (pure and native
 * hashing, MD5 and SHA-256) and `DigestClient.authorize` beside npm:digest-header, in a loop in a
 * fresh process per case: per wall-clock second and per CPU second (the process's user + system
 * time, which other jobs on the machine inflate less than the wall clock).
 *
 * ```sh
 * deno task bench:compare                       # 5 runs of every codec bench
 * deno task bench:compare --runs 9 --only rtmp  # files whose path contains "rtmp"
 * deno task bench:compare --markdown --digest-rate
 * ```
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { type Command, type ParsedCommand, runCommand, UsageError } from "../std/cli.ts";

/** A codec bench file and the filter that leaves out what is not a codec (servers, sockets). */
interface BenchFile {
  file: string;
  filter?: string;
}

const CODEC_BENCHES: BenchFile[] = [
  { file: "std/ietf/rfc2396/mod_bench.ts" },
  { file: "std/ietf/rfc2617/mod_bench.ts" },
  { file: "std/ietf/rfc3261/mod_bench.ts" },
  { file: "std/ietf/rfc3550/mod_bench.ts" },
  { file: "std/ietf/rfc4566/mod_bench.ts" },
  { file: "std/ietf/rfc1035/mod_bench.ts" },
  { file: "std/ietf/rfc5389/mod_bench.ts" },
  // The echo benches open servers and sockets: frames only.
  { file: "std/ietf/rfc6455/mod_bench.ts", filter: "frames" },
  { file: "vnd/adobe/amf_bench.ts" },
  { file: "vnd/adobe/rtmp/chunk_bench.ts" },
];

const STATS = ["avg", "min", "p75", "p99"] as const;
type Stat = typeof STATS[number];

/** One result of `deno bench --json`. */
interface BenchJson {
  benches: {
    group: string | null;
    name: string;
    results: { ok?: Record<Stat, number> }[];
  }[];
}

/** Whether a bench row is ours. */
export function isOurs(name: string): boolean {
  return /\brtclite\b/i.test(name) || /^rfc\d+\b/.test(name);
}

/** The median of numbers (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nanoseconds as a short human figure. */
export function formatTime(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(ns >= 1e5 ? 0 : ns >= 1e4 ? 1 : 2)} µs`;
  return `${ns.toFixed(ns >= 100 ? 0 : 1)} ns`;
}

/** Per group and row: the statistic of each run. */
type Runs = Map<string, Map<string, number[]>>;

/** One row of the ratio table. */
export interface RatioRow {
  file: string;
  group: string;
  ours: string;
  /** Median over runs of our statistic, in nanoseconds. */
  oursTime: number;
  /** The peer that was fastest in most runs, and its median statistic. */
  peer?: string;
  peerTime?: number;
  /** Ours ÷ fastest peer: median, lowest and highest over the runs. */
  ratio?: { median: number; min: number; max: number };
}

/** Folds the runs of one file into table rows. */
export function ratios(file: string, runs: Runs): RatioRow[] {
  const rows: RatioRow[] = [];
  for (const [group, byName] of runs) {
    const names = [...byName.keys()];
    const ours = names.filter(isOurs);
    const peers = names.filter((n) => !isOurs(n));
    const count = Math.min(...names.map((n) => byName.get(n)!.length));
    for (const o of ours) {
      const row: RatioRow = { file, group, ours: o, oursTime: median(byName.get(o)!) };
      if (peers.length && count > 0) {
        const perRun: number[] = [];
        const wins = new Map<string, number>();
        for (let i = 0; i < count; i++) {
          let best = peers[0]!;
          for (const p of peers) if (byName.get(p)![i]! < byName.get(best)![i]!) best = p;
          wins.set(best, (wins.get(best) ?? 0) + 1);
          perRun.push(byName.get(o)![i]! / byName.get(best)![i]!);
        }
        const peer = [...wins].sort((a, b) => b[1] - a[1])[0]![0];
        row.peer = peer;
        row.peerTime = median(byName.get(peer)!);
        row.ratio = { median: median(perRun), min: Math.min(...perRun), max: Math.max(...perRun) };
      }
      rows.push(row);
    }
  }
  return rows;
}

async function runBench(b: BenchFile, stat: Stat): Promise<Runs> {
  const args = ["bench", "-A", "--json", b.file];
  if (b.filter) args.push("--filter", b.filter);
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${b.file}: deno bench failed\n${new TextDecoder().decode(out.stderr)}`);
  }
  const json = JSON.parse(text) as BenchJson;
  const runs: Runs = new Map();
  for (const bench of json.benches) {
    const ok = bench.results[0]?.ok;
    if (!ok) continue;
    const group = bench.group ?? "(no group)";
    if (!runs.has(group)) runs.set(group, new Map());
    runs.get(group)!.set(bench.name, [ok[stat]]);
  }
  return runs;
}

function merge(into: Runs, run: Runs): void {
  for (const [group, byName] of run) {
    if (!into.has(group)) into.set(group, new Map());
    const g = into.get(group)!;
    for (const [name, values] of byName) g.set(name, [...(g.get(name) ?? []), ...values]);
  }
}

function table(rows: RatioRow[], runs: number, stat: Stat, markdown: boolean): string {
  const head = [
    "group",
    "ours",
    `ours (median ${stat})`,
    "fastest peer",
    `peer (median ${stat})`,
    `ours ÷ peer, median (range) of ${runs}`,
  ];
  const body = rows.map((r) => [
    r.group,
    r.ours,
    formatTime(r.oursTime),
    r.peer ?? "-",
    r.peerTime === undefined ? "-" : formatTime(r.peerTime),
    r.ratio
      ? `${r.ratio.median.toFixed(2)} (${r.ratio.min.toFixed(2)}–${r.ratio.max.toFixed(2)})`
      : "-",
  ]);
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    markdown
      ? `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
      : r.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  const sep = markdown ? `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |` : "";
  return [line(head), ...(markdown ? [sep] : []), ...body.map(line)].join("\n");
}

// === The digest verification rate ===

const DIGEST_CASES = [
  ["verify", "pure", "MD5"],
  ["verify", "pure", "SHA-256"],
  ["verify", "native", "MD5"],
  ["verify", "native", "SHA-256"],
  ["authorize", "pure", "MD5"],
  ["authorize", "native", "MD5"],
  ["authorize", "digest-header", "MD5"],
] as const;

const CHALLENGE = 'Digest realm="testrealm@host.com", qop="auth,auth-int", ' +
  'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';

/**
 * In a fresh process, three rounds of `n`: `DigestServer.verify` of fresh Authorization values,
 * or answering the RFC 2617 §3.5 challenge (ours or npm:digest-header).
 */
async function digestRateWorker(
  what: string,
  provider: string,
  algorithm: "MD5" | "SHA-256",
  n: number,
) {
  if (what === "authorize") return await authorizeRateWorker(provider, n);
  const digest = await import("../std/ietf/rfc2617/mod.ts");
  const native = await import("../std/ietf/rfc2617/native.ts");
  const hash = provider === "native" ? native.nativeHashProvider : digest.pureHashProvider;
  const request = { method: "REGISTER", uri: "sip:example.com" };
  const lookup = () => ({ password: "secret" });
  const results: { wall: number; cpu: number }[] = [];
  for (let round = 0; round < 3; round++) {
    const server = new digest.DigestServer({
      realm: "example.com",
      algorithms: [algorithm],
      hash,
      maxTrackedNonces: 2 * n,
    });
    const client = new digest.DigestClient({ username: "alice", password: "secret", hash });
    // One nonce per 10 requests, as clients re-use a nonce with a growing nc.
    const authorizations: string[] = [];
    let challenge = "";
    for (let i = 0; i < n; i++) {
      if (i % 10 === 0) challenge = (await server.challenge())[0]!;
      authorizations.push(await client.authorize(challenge, request));
    }
    const c0 = cpuUsage();
    const t0 = performance.now();
    let ok = 0;
    for (const a of authorizations) if ((await server.verify(a, request, lookup)).ok) ok++;
    const wall = performance.now() - t0;
    const cpu = cpuUsage(c0);
    if (ok !== n) throw new Error(`only ${ok} of ${n} verified`);
    results.push({ wall: n / (wall / 1000), cpu: n / ((cpu.user + cpu.system) / 1e6) });
  }
  console.log(JSON.stringify(results));
}

async function authorizeRateWorker(provider: string, n: number) {
  const digest = await import("../std/ietf/rfc2617/mod.ts");
  const native = await import("../std/ietf/rfc2617/native.ts");
  const digestHeader = (await import("npm:digest-header@1.1.0")).default as (
    method: string,
    uri: string,
    challenge: string,
    userpass: string,
  ) => string;
  const hash = provider === "native" ? native.nativeHashProvider : digest.pureHashProvider;
  const client = new digest.DigestClient({ username: "Mufasa", password: "Circle Of Life", hash });
  const request = { method: "GET", uri: "/dir/index.html" };
  const results: { wall: number; cpu: number }[] = [];
  let sink = 0;
  for (let round = 0; round < 3; round++) {
    const c0 = cpuUsage();
    const t0 = performance.now();
    if (provider === "digest-header") {
      for (let i = 0; i < n; i++) {
        sink += digestHeader("GET", "/dir/index.html", CHALLENGE, "Mufasa:Circle Of Life").length;
      }
    } else {
      for (let i = 0; i < n; i++) sink += (await client.authorize(CHALLENGE, request)).length;
    }
    const wall = performance.now() - t0;
    const cpu = cpuUsage(c0);
    results.push({ wall: n / (wall / 1000), cpu: n / ((cpu.user + cpu.system) / 1e6) });
  }
  if (sink === 42) console.error(sink);
  console.log(JSON.stringify(results));
}

async function digestRates(n: number): Promise<string> {
  const lines = [
    "| operation | per wall second, median (range) of 3 | per CPU second, median (range) |",
    "| --- | --- | --- |",
  ];
  for (const [what, provider, algorithm] of DIGEST_CASES) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--digest-rate-worker",
        `${what}:${provider}:${algorithm}:${n}`,
      ],
      stdout: "piped",
    }).output();
    if (!out.success) throw new Error(`digest rate ${what} ${provider} ${algorithm} failed`);
    const r = JSON.parse(new TextDecoder().decode(out.stdout)) as { wall: number; cpu: number }[];
    const fmt = (xs: number[]) =>
      `${Math.round(median(xs)).toLocaleString("en")} (${
        Math.round(Math.min(...xs)).toLocaleString("en")
      }–${Math.round(Math.max(...xs)).toLocaleString("en")})`;
    const name = provider === "digest-header"
      ? "npm:digest-header@1.1.0 (MD5, node:crypto)"
      : `${
        what === "verify" ? "DigestServer.verify" : "DigestClient.authorize"
      } ${algorithm} (${provider})`;
    lines.push(`| ${name} | ${fmt(r.map((x) => x.wall))} | ${fmt(r.map((x) => x.cpu))} |`);
  }
  return lines.join("\n");
}

// === Command line ===

const command = {
  name: "bench:compare",
  usage: "[--runs N] [--stat avg|min|p75|p99] [--only TEXT]... [--markdown] [--digest-rate]",
  description: "Runs the codec benches N times and prints ours ÷ the fastest peer per group.",
  operands: [0, 0],
  options: {
    runs: { value: "N", help: "runs of each bench file (default 5)" },
    stat: { value: "STAT", help: "per-run statistic: avg, min, p75 (default) or p99" },
    only: { value: "TEXT", multiple: true, help: "bench files whose path contains TEXT" },
    markdown: { help: "print Markdown tables" },
    "digest-rate": { help: "also measure digest verify and authorize per second in a loop" },
    "digest-rate-worker": { value: "CASE", help: "(internal) one digest rate case" },
  },
} as const satisfies Command;

async function main(cmd: ParsedCommand<typeof command.options>): Promise<number> {
  const o = cmd.values;
  if (o["digest-rate-worker"] !== undefined) {
    const [what, provider, algorithm, n] = o["digest-rate-worker"].split(":");
    await digestRateWorker(what!, provider!, algorithm as "MD5" | "SHA-256", Number(n));
    return 0;
  }
  const runs = Number(o.runs ?? 5);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new UsageError("--runs must be a positive integer");
  }
  const stat = (o.stat ?? "p75") as Stat;
  if (!STATS.includes(stat)) throw new UsageError(`--stat must be one of ${STATS.join(", ")}`);
  const only = o.only ?? [];
  const files = CODEC_BENCHES.filter((b) => !only.length || only.some((t) => b.file.includes(t)));
  const byFile = new Map<string, Runs>(files.map((b) => [b.file, new Map()]));
  for (let i = 0; i < runs; i++) {
    for (const b of files) {
      console.error(`run ${i + 1}/${runs}: ${b.file}`);
      merge(byFile.get(b.file)!, await runBench(b, stat));
    }
  }
  const load = Deno.loadavg();
  console.log(
    `${runs} runs per file, statistic ${stat}, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, load average at the end ${
      load.map((l) => l.toFixed(1)).join(" ")
    }\n`,
  );
  for (const [file, r] of byFile) {
    console.log(`${o.markdown ? "#### " : ""}${file}\n`);
    console.log(table(ratios(file, r), runs, stat, o.markdown === true));
    console.log();
  }
  if (o["digest-rate"]) console.log(await digestRates(20_000));
  return 0;
}

if (import.meta.main) Deno.exit(await runCommand(command, Deno.args, main));
