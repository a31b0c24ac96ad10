// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Server throughput: REGISTER/s and proxied calls/s that `app/sip/server`
 * sustains with zero failed SIPp calls, beside Kamailio (when installed)
 * under the same SIPp scenarios. A measuring script, not a test:
 *
 * ```sh
 * deno run -A tools/sip_throughput.ts [--reg-rates 1000,2000,4000] [--call-rates 200,400,800] [--no-kamailio]
 * ```
 *
 * Uses 127.0.0.1 ports 15090-15091 (servers) and 25090-25092 (SIPp).
 *
 * @module
 */
const arg = (name: string, dflt: string) => {
  const i = Deno.args.indexOf(name);
  return (i >= 0 ? Deno.args[i + 1] : undefined) ?? dflt;
};
const regRates = arg("--reg-rates", "1000,2000,4000,8000").split(",").map(Number);
const callRates = arg("--call-rates", "200,400,800,1600").split(",").map(Number);
const withKamailio = !Deno.args.includes("--no-kamailio");
const SECONDS = Number(arg("--seconds", "5"));

const dir = await Deno.makeTempDir({ prefix: "sip-throughput-" });
const L = ["-i", "127.0.0.1", "-mi", "127.0.0.1", "-nostdin"];

await Deno.writeTextFile(
  `${dir}/reg.xml`,
  `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:user[call_number]@[remote_ip]>;tag=[pid]SIPpTag0[call_number]
      To: <sip:user[call_number]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:user[call_number]@[local_ip]:[local_port]>
      Expires: 3600
      Content-Length: 0

  ]]></send>
  <recv response="200" rtd="true"/>
</scenario>
`,
);

const KAMAILIO_CFG = `#!KAMAILIO
debug=1
log_stderror=yes
children=2
listen=udp:127.0.0.1:15091
alias="127.0.0.1:15091"
auto_aliases=no
disable_tcp=yes
dns=no
rev_dns=no
use_dns_cache=no
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "sanity.so"
modparam("usrloc", "db_mode", 0)
modparam("usrloc", "hash_size", 12)
request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    if (!sanity_check("17895", "7")) { exit; }
    if (has_totag()) {
        if (loose_route()) { t_relay(); exit; }
        if (is_method("ACK")) { if (t_check_trans()) { t_relay(); exit; } }
        t_relay(); exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
    if (t_precheck_trans()) { t_check_trans(); exit; }
    t_check_trans();
    if (is_method("REGISTER")) { if (!save("location")) { sl_reply_error(); } exit; }
    if (is_method("INVITE|SUBSCRIBE")) { record_route(); }
    if (uri==myself && !lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
    if (!t_relay()) { sl_reply_error(); }
}
`;

interface Result {
  rate: number;
  achieved: number;
  ok: number;
  failed: number;
  retrans: number;
}

async function sipp(args: string[], screen: string): Promise<Result & { code: number }> {
  const out = await new Deno.Command("sipp", {
    args: [...args, ...L, "-trace_screen", "-screen_file", screen],
    cwd: dir,
    stdout: "null",
    stderr: "null",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const s = await Deno.readTextFile(screen).catch(() => "");
  const cum = (name: string) =>
    Number(new RegExp(`${name}\\s*\\|[^|]*\\|\\s*([\\d.]+)`).exec(s)?.[1] ?? -1);
  const retrans = [...s.matchAll(/^\s+\S+\s+(?:-+>|<-+)\s+(?:E-RTD1\s+)?\d+\s+(\d+)/gm)]
    .reduce((a, m) => a + Number(m[1]), 0);
  return {
    code: out.code,
    rate: 0,
    achieved: cum("Call Rate"),
    ok: cum("Successful call"),
    failed: cum("Failed call"),
    retrans,
  };
}

async function waitUdp(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const out = await new Deno.Command("ss", { args: ["-Hlnu", `sport = :${port}`] }).output();
    if (new TextDecoder().decode(out.stdout).trim()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Nothing listens on UDP ${port}`);
}

async function measureRegister(name: string, port: number): Promise<Result[]> {
  const reg: Result[] = [];
  for (const rate of regRates) {
    const r = await sipp([
      "-sf",
      `${dir}/reg.xml`,
      `127.0.0.1:${port}`,
      "-p",
      "25090",
      "-m",
      String(rate * SECONDS),
      "-r",
      String(rate),
      "-timeout",
      "60s",
    ], `${dir}/${name}-reg-${rate}.screen`);
    reg.push({ ...r, rate });
    console.error(`${name} REGISTER ${rate}/s: ${JSON.stringify(r)}`);
    if (r.failed !== 0) break;
  }
  return reg;
}

async function measureCalls(name: string, port: number): Promise<Result[]> {
  const calls: Result[] = [];
  for (const rate of callRates) {
    const uas = new Deno.Command("sipp", {
      args: ["-sn", "uas", ...L, "-p", "25091", "-timeout", "100s"],
      cwd: dir,
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitUdp(25091);
      const r = await sipp([
        "-sn",
        "uac",
        "127.0.0.1:25091",
        "-rsa",
        `127.0.0.1:${port}`,
        "-p",
        "25092",
        "-m",
        String(rate * SECONDS),
        "-r",
        String(rate),
        "-timeout",
        "90s",
      ], `${dir}/${name}-calls-${rate}.screen`);
      calls.push({ ...r, rate });
      console.error(`${name} calls ${rate}/s: ${JSON.stringify(r)}`);
      if (r.failed !== 0) break;
    } finally {
      try {
        Deno.kill(uas.pid, "SIGKILL");
      } catch { /* gone */ }
      await uas.status;
    }
  }
  return calls;
}

/** Runs `fn` against a freshly started server (one per scenario, so no backlog carries over). */
async function withServer<T>(
  start: () => Deno.ChildProcess,
  port: number,
  fn: () => Promise<T>,
): Promise<T> {
  const child = start();
  try {
    await waitUdp(port);
    return await fn();
  } finally {
    Deno.kill(child.pid, "SIGTERM");
    const t = setTimeout(() => {
      try {
        Deno.kill(child.pid, "SIGKILL");
      } catch { /* gone */ }
    }, 3000);
    await child.status;
    clearTimeout(t);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function best(rs: Result[]): string {
  const good = rs.filter((r) => r.failed === 0 && r.ok > 0);
  if (!good.length) return "none with zero failures";
  const top = good.reduce((a, b) => (b.achieved > a.achieved ? b : a));
  return `${
    Math.round(top.achieved)
  }/s (target ${top.rate}/s, ${top.ok} ok, 0 failed, ${top.retrans} retransmissions)`;
}

const results: Record<string, { reg: Result[]; calls: Result[] }> = {};
try {
  const ours = () =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../app/sip/server.ts", import.meta.url).pathname,
        "-q",
        "-l",
        "127.0.0.1:15090",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
  results.rtclite = {
    reg: await withServer(ours, 15090, () => measureRegister("rtclite", 15090)),
    calls: await withServer(ours, 15090, () => measureCalls("rtclite", 15090)),
  };
  if (withKamailio) {
    await Deno.writeTextFile(`${dir}/kamailio.cfg`, KAMAILIO_CFG);
    await Deno.mkdir(`${dir}/run`);
    const kam = () =>
      new Deno.Command("kamailio", {
        args: ["-DD", "-E", "-Y", `${dir}/run`, "-f", `${dir}/kamailio.cfg`],
        stdout: "null",
        stderr: "null",
      }).spawn();
    results.kamailio = {
      reg: await withServer(kam, 15091, () => measureRegister("kamailio", 15091)),
      calls: await withServer(kam, 15091, () => measureCalls("kamailio", 15091)),
    };
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

console.log("| server | REGISTER/s (zero failures) | proxied calls/s (zero failures) |");
console.log("| --- | --- | --- |");
for (const [name, r] of Object.entries(results)) {
  console.log(`| ${name} | ${best(r.reg)} | ${best(r.calls)} |`);
}
