// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
/**
 * Soak of the SIP server (issue 18): SIPp places legitimate calls at a steady
 * rate through `app/sip/server.ts` (run with its defaults in a child process)
 * while one attacker, from another source address (127.0.0.2), floods one
 * class of attack at a time. Prints, per class, the legitimate calls'
 * failure rate and the server's peak RSS (`VmHWM`) as a Markdown table for
 * BENCHMARKS.md. Not a timed test: run it by hand (Linux, `sipp` installed).
 *
 * ```sh
 * deno run -A app/sip/_server_soak.ts --seconds 20 --rate 20
 * ```
 *
 * @module
 */
import dgram from "node:dgram";
import net from "node:net";
import { parseCommand } from "@rtclite/std/cli";

const { values } = parseCommand({
  name: "app/sip/_server_soak.ts",
  usage: "[options]",
  description: "Soak the SIP server: SIPp calls while one attacker floods each class.",
  operands: [0, 0],
  options: {
    seconds: { value: "S", help: "duration of each class (default 20)" },
    rate: { value: "CPS", help: "legitimate calls per second (default 20)" },
    only: { value: "CLASS", help: "run one class" },
  },
}, Deno.args);
const SECONDS = Number(values.seconds ?? 20);
const RATE = Number(values.rate ?? 20);
const enc = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const here = new URL(".", import.meta.url).pathname;

// The SIPp scenarios of server_test.ts (a UAS that copies Record-Route, a UAC that routes along it).
const testText = await Deno.readTextFile(`${here}server_test.ts`);
const scenario = (name: string) => {
  const start = testText.indexOf(`const ${name} = \``) + name.length + 10;
  return testText.slice(start, testText.indexOf("`;", start));
};

function udp(host: string): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  return new Promise((resolve) => s.bind(0, host, () => resolve(s)));
}

let n = 0;
const req = (method: string, uri: string, extra = "", body = "", via = "SIP/2.0/UDP 127.0.0.2:9") =>
  `${method} ${uri} SIP/2.0\r\nVia: ${via};branch=z9hG4bKsoak${++n}\r\n` +
  `From: <sip:mallory@evil.example>;tag=${n}\r\nTo: <${uri}>\r\nCall-ID: soak-${n}\r\n` +
  `CSeq: 1 ${method}\r\nMax-Forwards: 70\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

/** Sends `make()` `perSecond` times a second until `stop`. */
async function flood(
  sock: dgram.Socket,
  port: number,
  perSecond: number,
  make: () => string,
  stop: { done: boolean },
): Promise<number> {
  let sent = 0;
  const tick = 10;
  while (!stop.done) {
    for (let i = 0; i < perSecond * tick / 1000; i++) {
      sock.send(enc.encode(make()), port, "127.0.0.1");
      sent++;
    }
    await sleep(tick);
  }
  return sent;
}

interface Attack {
  name: string;
  what: string;
  run: (port: number, stop: { done: boolean }) => Promise<string>;
}

const attacks: Attack[] = [
  {
    name: "none",
    what: "no attack (baseline)",
    run: async (_port, stop) => {
      while (!stop.done) await sleep(50);
      return "";
    },
  },
  {
    name: "relay",
    what: "unauthenticated INVITEs to a foreign number (open relay, item 1), 5,000/s",
    run: async (port, stop) => {
      const s = await udp("127.0.0.2");
      const sent = await flood(
        s,
        port,
        5000,
        () => req("INVITE", "sip:+19005550100@127.0.0.1:5099"),
        stop,
      );
      s.close();
      return `${sent} sent`;
    },
  },
  {
    name: "headers",
    what: "60 KB OPTIONS with 10,000 header fields (item 6), 500/s",
    run: async (port, stop) => {
      const s = await udp("127.0.0.2");
      const many = "X: y\r\n".repeat(10_000);
      const sent = await flood(s, port, 500, () => req("OPTIONS", "sip:127.0.0.1", many), stop);
      s.close();
      return `${sent} sent`;
    },
  },
  {
    name: "ringing",
    what: "INVITEs to a callee that rings forever (item 6), 1,000/s",
    run: async (port, stop) => {
      const ringer = await udp("127.0.0.2");
      ringer.on("message", (m: Uint8Array, r: { port: number; address: string }) => {
        const text = new TextDecoder().decode(m);
        if (!text.startsWith("INVITE")) return;
        const head = text.split("\r\n\r\n")[0]!.split("\r\n");
        const keep = head.filter((l) => /^(Via|From|To|Call-ID|CSeq|Record-Route):/i.test(l));
        const resp = `SIP/2.0 180 Ringing\r\n${
          keep.map((l) => l.startsWith("To:") ? l + ";tag=r" : l).join("\r\n")
        }\r\nContent-Length: 0\r\n\r\n`;
        ringer.send(enc.encode(resp), r.port, r.address);
      });
      const rport = ringer.address().port;
      const s = await udp("127.0.0.2");
      s.send(
        enc.encode(
          req("REGISTER", "sip:127.0.0.1", `Contact: <sip:ring@127.0.0.2:${rport}>\r\n`)
            .replace("To: <sip:127.0.0.1>", "To: <sip:ring@127.0.0.1>"),
        ),
        port,
        "127.0.0.1",
      );
      await sleep(200);
      const sent = await flood(s, port, 1000, () => req("INVITE", "sip:ring@127.0.0.1"), stop);
      s.close();
      ringer.close();
      return `${sent} sent`;
    },
  },
  {
    name: "slowloris",
    what: "1,024 TCP connections kept open, one byte each per second; SIPp over TCP (item 7)",
    run: async (port, stop) => {
      const conns: net.Socket[] = [];
      let closed = 0;
      const text = enc.encode(req("OPTIONS", "sip:127.0.0.1", "", "", "SIP/2.0/TCP 127.0.0.2:9"));
      let opened = 0;
      // Keeps 1,024 connections open: each one the server closes is opened again.
      const open = () => {
        if (stop.done) return;
        opened++;
        const c = net.connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" });
        c.on("error", () => {});
        c.on("close", () => {
          closed++;
          conns.splice(conns.indexOf(c), 1);
          setTimeout(open, 10);
        });
        conns.push(c);
      };
      for (let i = 0; i < 1024; i++) open();
      for (let k = 0; !stop.done; k++) {
        for (const c of conns) {
          if (!c.destroyed) c.write(text.subarray(k % text.length, k % text.length + 1));
        }
        await sleep(1000);
      }
      stop.done = true;
      for (const c of [...conns]) c.destroy();
      const refused = closed;
      return `${opened} connections opened, ${refused} closed by the server`;
    },
  },
  {
    name: "register",
    what: "REGISTERs of new addresses-of-record (item 8), 2,000/s",
    run: async (port, stop) => {
      const s = await udp("127.0.0.2");
      let i = 0;
      const sent = await flood(s, port, 2000, () => {
        i++;
        return req("REGISTER", "sip:127.0.0.1", `Contact: <sip:u${i}@192.0.2.1>\r\n`)
          .replace("To: <sip:127.0.0.1>", `To: <sip:u${i}@127.0.0.1>`);
      }, stop);
      s.close();
      return `${sent} sent`;
    },
  },
  {
    name: "reflection",
    what: "INVITEs with Via maddr at a third party (item 5), 1,000/s",
    run: async (port, stop) => {
      const third = await udp("127.0.0.3");
      let reflected = 0;
      third.on("message", () => reflected++);
      const tport = third.address().port;
      const s = await udp("127.0.0.2");
      let back = 0;
      s.on("message", () => back++);
      const sent = await flood(s, port, 1000, () =>
        req(
          "INVITE",
          "sip:nobody@127.0.0.1",
          "",
          "",
          `SIP/2.0/UDP 127.0.0.3:${tport};maddr=127.0.0.3`,
        ), stop);
      await sleep(4000);
      s.close();
      third.close();
      return `${sent} sent, ${reflected} packets at the third party, ${back} back to the sender`;
    },
  },
];

async function vmHwm(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

const rows: string[] = [];
for (const attack of attacks) {
  if (values.only && values.only !== attack.name) continue;
  const port = 16000 + Math.floor(Math.random() * 20000);
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${here}server.ts`,
      "-t",
      "udp",
      "-l",
      `127.0.0.1:${port}`,
      "-t",
      "tcp",
      "-l",
      `127.0.0.1:${port}`,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = server.stdout.getReader();
  let out = "";
  while (!out.includes("ready")) out += new TextDecoder().decode((await reader.read()).value);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/uas.xml`, scenario("UAS_XML"));
  await Deno.writeTextFile(`${dir}/uac.xml`, scenario("UAC_XML"));
  const uasPort = port + 1;
  // The callee registers as service@127.0.0.1.
  const reg = await udp("127.0.0.1");
  reg.send(
    enc.encode(
      req(
        "REGISTER",
        "sip:127.0.0.1",
        `Contact: <sip:service@127.0.0.1:${uasPort}>\r\n`,
        "",
        "SIP/2.0/UDP 127.0.0.1:9",
      )
        .replace("To: <sip:127.0.0.1>", "To: <sip:service@127.0.0.1>"),
    ),
    port,
    "127.0.0.1",
  );
  await sleep(200);
  reg.close();
  const L = ["-i", "127.0.0.1", "-mi", "127.0.0.1", "-nostdin"];
  const uas = new Deno.Command("sipp", {
    args: ["-sf", `${dir}/uas.xml`, ...L, "-p", String(uasPort), "-timeout", `${SECONDS + 60}s`],
    cwd: dir,
    stdout: "null",
    stderr: "null",
  }).spawn();
  await sleep(300);
  const calls = SECONDS * RATE;
  const tcp = attack.name === "slowloris";
  const stop = { done: false };
  const attacking = attack.run(port, stop);
  await sleep(1000);
  const uac = new Deno.Command("sipp", {
    args: [
      "-sf",
      `${dir}/uac.xml`,
      `127.0.0.1:${port}`,
      ...L,
      "-p",
      String(port + 2),
      "-m",
      String(calls),
      "-r",
      String(RATE),
      "-timeout",
      `${SECONDS + 40}s`,
      ...(tcp ? ["-t", "t1"] : []),
      "-trace_screen",
      "-screen_file",
      `${dir}/uac.screen`,
    ],
    cwd: dir,
    stdout: "null",
    stderr: "null",
  });
  await uac.output();
  stop.done = true;
  const detail = await attacking;
  const screen = await Deno.readTextFile(`${dir}/uac.screen`).catch(() => "");
  const ok = Number(/Successful call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(screen)?.[1] ?? 0);
  const failed = Number(/Failed call\s*\|\s*\d+\s*\|\s*(\d+)/.exec(screen)?.[1] ?? 0);
  const peak = await vmHwm(server.pid);
  rows.push(
    `| ${attack.what} | ${calls} | ${ok} | ${failed} (${(100 * failed / calls).toFixed(1)} %) | ${
      peak.toFixed(0)
    } MB | ${detail} |`,
  );
  console.error(rows.at(-1));
  uas.kill();
  await uas.status;
  server.kill("SIGTERM");
  await server.status;
  await Deno.remove(dir, { recursive: true });
}
console.log(
  `| Attack (from 127.0.0.2) | Calls | OK | Failed | Server peak RSS | Attacker |\n|---|---|---|---|---|---|`,
);
for (const r of rows) console.log(r);
