// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Test helpers shared by rtclite's tests (not published).
 *
 * Interoperability tests run real peers (SIPp, coturn, dnsmasq, ffmpeg, ...)
 * on loopback. On a machine without a peer such a test is skipped with a
 * visible message; with `RTCLITE_REQUIRE_PEERS=1` (set by `.ci/run`) a
 * missing peer fails the test instead, so nothing skips in CI.
 *
 * @module
 */

import dgram from "node:dgram";

/** A program an interop test needs, and the Debian package that has it. */
export interface Peer {
  /** Executable name looked up on `PATH`, or an absolute path. */
  bin: string;
  /** Debian package to install, shown in the skip message. */
  apt: string;
}

/** Whether missing peers fail (CI) instead of skipping. */
export const requirePeers: boolean = Deno.env.get("RTCLITE_REQUIRE_PEERS") === "1";

/** Returns the absolute path of an executable on PATH, or undefined. */
export function which(bin: string): string | undefined {
  if (bin.includes("/")) return exists(bin) ? bin : undefined;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && exists(`${dir}/${bin}`)) return `${dir}/${bin}`;
  }
  return undefined;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Options for {@linkcode interopTest}. */
export interface InteropOptions {
  /** Whole-test time limit in milliseconds (default 60 000). */
  timeout?: number;
}

/**
 * Registers a test that runs against real peers. Missing peers skip it with a
 * message (or fail it under `RTCLITE_REQUIRE_PEERS=1`); the test fails when it
 * runs longer than its time limit.
 */
export function interopTest(
  name: string,
  peers: Peer[],
  fn: (t: Deno.TestContext) => Promise<void>,
  options: InteropOptions = {},
): void {
  const missing = peers.filter((p) => !which(p.bin));
  const what = missing.map((p) => `${p.bin} (apt-get install ${p.apt})`).join(", ");
  if (missing.length && !requirePeers) {
    console.warn(`SKIP interop test "${name}": missing ${what}`);
    Deno.test({ name, ignore: true, fn() {} });
    return;
  }
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      if (missing.length) {
        throw new Error(`Missing peer required by RTCLITE_REQUIRE_PEERS=1: ${what}`);
      }
      await withTimeout(fn(t), options.timeout ?? 60_000, name);
    },
  });
}

/** Rejects when `promise` does not settle within `ms` milliseconds. */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what = "operation",
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A started peer process with its collected output. */
export interface PeerProcess extends AsyncDisposable {
  readonly pid: number;
  readonly child: Deno.ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves when the output matches `pattern`, rejects after `ms`. */
  waitFor(pattern: RegExp | string, ms?: number): Promise<void>;
  /** Sends SIGTERM, then SIGKILL after `graceMs`, and waits for the exit. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

/**
 * Starts a peer in the background, collecting its output. Use it with
 * `await using` so the process is stopped by PID however the test ends.
 */
export function startPeer(
  bin: string,
  args: string[],
  options: Deno.CommandOptions = {},
): PeerProcess {
  const child = new Deno.Command(which(bin) ?? bin, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...options,
  }).spawn();
  let out = "";
  const listeners = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      out += dec.decode(chunk, { stream: true });
      for (const l of listeners) l();
    }
  };
  const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let stopped: Promise<Deno.CommandStatus> | undefined;
  const proc: PeerProcess = {
    pid: child.pid,
    child,
    output: () => out,
    waitFor(pattern, ms = 10_000) {
      const hit = () => typeof pattern === "string" ? out.includes(pattern) : pattern.test(out);
      if (hit()) return Promise.resolve();
      let done!: () => void;
      const seen = new Promise<void>((resolve) => {
        done = () => hit() && resolve();
        listeners.add(done);
      });
      return withTimeout(
        Promise.race([
          seen,
          child.status.then(() => {
            if (!hit()) throw new Error(`${bin} exited before printing ${pattern}:\n${out}`);
          }),
        ]),
        ms,
        `${bin} to print ${pattern}; output so far:\n${out}`,
      ).finally(() => listeners.delete(done));
    },
    stop(graceMs = 3000) {
      stopped ??= (async () => {
        const status = await Promise.race([child.status, Promise.resolve(undefined)]);
        if (status) return status;
        try {
          Deno.kill(child.pid, "SIGTERM");
        } catch { /* already gone */ }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const killed = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            try {
              Deno.kill(child.pid, "SIGKILL");
            } catch { /* already gone */ }
            resolve();
          }, graceMs);
        });
        const result = await Promise.race([child.status, killed.then(() => child.status)]);
        clearTimeout(timer);
        await pumped.catch(() => {});
        return result;
      })();
      return stopped;
    },
    async [Symbol.asyncDispose]() {
      await proc.stop();
    },
  };
  return proc;
}

/** Runs a command to completion, killed after `timeout` ms; returns its status and output. */
export async function run(
  bin: string,
  args: string[],
  options: Deno.CommandOptions & { timeout?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { timeout = 60_000, ...rest } = options;
  const out = await new Deno.Command(which(bin) ?? bin, {
    args,
    stdin: "null",
    signal: AbortSignal.timeout(timeout),
    ...rest,
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Returns a port that was free a moment ago on 127.0.0.1 for `transport`
 * (default TCP): binds port 0, reads the port the kernel chose, closes. Use it
 * for a peer that must be told its port in advance (a config file, a command
 * line); when our own server can bind port 0 and report its port, prefer that.
 * Two copies of the suite at once get different ports, where fixed ports
 * collide with EADDRINUSE.
 */
export async function freePort(transport: "udp" | "tcp" = "tcp"): Promise<number> {
  if (transport === "tcp") {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = l.addr as Deno.NetAddr;
    l.close();
    return port;
  }
  const s = await bindUdp(0);
  const { port } = s.address();
  await closeUdp(s);
  return port;
}

/**
 * Returns an even UDP port `p` such that `p` and `p + 1` were both free a
 * moment ago on 127.0.0.1: an RTP port and its RTCP port (RFC 3550 §11).
 */
export async function freePortPair(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const p = await freePort("udp");
    const even = p % 2 === 0 ? p : p - 1;
    if (even < 1024) continue;
    const held = [
      await bindUdp(even).catch(() => undefined),
      await bindUdp(even + 1).catch(() => undefined),
    ];
    await Promise.all(held.map((s) => s && closeUdp(s)));
    if (held.every((s) => s)) return even;
  }
  throw new Error("no free even/odd UDP port pair on 127.0.0.1");
}

/**
 * Returns a port that was free a moment ago on 127.0.0.1 for both UDP and
 * TCP, as a SIP peer listening on both transports at one port needs
 * (RFC 3261 §18), or a DNS server (dnsmasq).
 */
export async function freeSipPort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const udp = await bindUdp(0);
    const { port } = udp.address();
    let ok = false;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      ok = true;
    } catch { /* taken on TCP: try another */ }
    await closeUdp(udp);
    if (ok) return port;
  }
  throw new Error("no port free on both UDP and TCP on 127.0.0.1");
}

function bindUdp(port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.once("error", (e) => {
      s.close();
      reject(e);
    });
    s.bind(port, "127.0.0.1", () => resolve(s));
  });
}

function closeUdp(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

let nameCounter = 0;

/**
 * The first of `n` consecutive UDP ports, from a random aligned base in
 * 20000-32767 (below the kernel's ephemeral range), that were free a moment
 * ago: a relay range that another run of these tests does not share.
 *
 * @param n How many ports.
 * @returns The first port.
 */
export async function freeRelayRange(n: number): Promise<number> {
  const bind = (port: number) =>
    new Promise<ReturnType<typeof dgram.createSocket> | undefined>((resolve) => {
      const s = dgram.createSocket("udp4");
      s.once("error", () => {
        s.close();
        resolve(undefined);
      });
      s.bind(port, "127.0.0.1", () => resolve(s));
    });
  for (let i = 0; i < 100; i++) {
    const base = 20000 + n * Math.floor(Math.random() * Math.floor(12768 / n - 1));
    const held = [];
    for (let p = base; p < base + n; p++) held.push(await bind(p));
    for (const h of held) h?.close();
    if (held.every((h) => h)) return base;
  }
  throw new Error(`no ${n} consecutive free UDP ports on 127.0.0.1`);
}

/**
 * Returns a name unique to this process and call, for a resource other
 * processes can see (a network namespace, an interface, a temp file): `prefix`,
 * then this process's PID in five base-36 digits, then a base-36 counter. Two
 * copies of the suite at once never share a name, so neither deletes the
 * other's namespaces. Throws a RangeError past 15 characters, the limit of a
 * Linux interface name (IFNAMSIZ - 1), which keeps prefixes short.
 */
export function uniqueName(prefix: string): string {
  const name = prefix + Deno.pid.toString(36).padStart(5, "0") + (nameCounter++).toString(36);
  if (name.length > 15) {
    throw new RangeError(`uniqueName("${prefix}") is over 15 characters: ${name}`);
  }
  return name;
}

/**
 * Whether `name` was made by {@linkcode uniqueName} with `prefix` in a
 * process that is no longer running: a leftover of a killed run, safe to
 * delete. Names of running processes (another copy of the suite) are not
 * stale.
 */
export function isStaleName(prefix: string, name: string): boolean {
  if (!name.startsWith(prefix) || name.length < prefix.length + 6) return false;
  const pid = parseInt(name.slice(prefix.length, prefix.length + 5), 36);
  if (!Number.isFinite(pid) || pid === Deno.pid) return false;
  try {
    Deno.statSync(`/proc/${pid}`);
    return false;
  } catch {
    return true;
  }
}

/**
 * Makes a throwaway self-signed certificate for 127.0.0.1 and localhost with
 * `openssl` (EC P-256, one day) in `dir`; returns the PEM texts.
 */
export async function selfSignedCert(dir: string): Promise<{ cert: string; key: string }> {
  const { code, stderr } = await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-keyout",
    `${dir}/key.pem`,
    "-out",
    `${dir}/cert.pem`,
  ], { timeout: 30_000 });
  if (code !== 0) throw new Error(`openssl could not make a certificate: ${stderr}`);
  return {
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
}

/**
 * Waits until something listens on `port` (checked with `ss`), at most 5 s.
 *
 * @param port The port.
 * @param transport UDP or TCP.
 */
export async function waitForListener(
  port: number,
  transport: "udp" | "tcp" = "udp",
): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const flags = transport === "udp" ? "-Hlnu" : "-Hlnt";
    const { stdout } = await run("ss", [flags, `sport = :${port}`], { stdout: "piped" });
    if (stdout.trim()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Nothing listens on ${transport.toUpperCase()} ${port}`);
}

/**
 * Arguments for coturn's `turnserver` on 127.0.0.1 without TLS or DTLS: long-term credentials
 * `test:secret` in realm `test.local`, relay ports `first` to `last`, loopback peers allowed.
 *
 * @param port The listening port (UDP and TCP).
 * @param relay The first and last relay port (e.g. from {@linkcode freeRelayRange}).
 * @param dir A directory for its database and pid file.
 * @param extra More arguments.
 * @returns The arguments.
 */
export function coturnArgs(
  port: number,
  [first, last]: readonly [number, number],
  dir: string,
  extra: string[] = [],
): string[] {
  return [
    "-n",
    "--no-cli",
    "--no-tls",
    "--no-dtls",
    "--listening-ip=127.0.0.1",
    "--relay-ip=127.0.0.1",
    `--listening-port=${port}`,
    `--min-port=${first}`,
    `--max-port=${last}`,
    "--lt-cred-mech",
    "--user=test:secret",
    "--realm=test.local",
    "--allow-loopback-peers",
    `--db=${dir}/turndb`,
    `--pidfile=${dir}/turnserver.pid`,
    "--log-file=stdout",
    "--simple-log",
    ...extra,
  ];
}
