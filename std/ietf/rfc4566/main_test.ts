// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal, match } from "node:assert/strict";

const crlf = (lines: string) => lines.trim().split("\n").map((l) => l.trim()).join("\r\n") + "\r\n";
const RFC8866_EXAMPLE = crlf(`
  v=0
  o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1
  s=Call to John Smith
  i=SDP Offer #1
  u=http://www.jdoe.example.com/home.html
  e=Jane Doe <jane@jdoe.example.com>
  p=+1 617 555-6011
  c=IN IP4 198.51.100.1
  t=0 0
  m=audio 49170 RTP/AVP 0
  m=audio 49180 RTP/AVP 0
  m=video 51372 RTP/AVP 99
  c=IN IP6 2001:db8::2
  a=rtpmap:99 h263-1998/90000`);

Deno.test("main.ts --help exits 0; an unknown option or a missing file name exits 2", async () => {
  const self = new URL("./main.ts", import.meta.url).pathname;
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", self, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const help = await run("--help");
  equal(help.code, 0);
  match(new TextDecoder().decode(help.stdout), /--format/);
  const unknown = await run("--nope", "x.sdp");
  equal(unknown.code, 2);
  match(new TextDecoder().decode(unknown.stderr), /Unknown option --nope/);
  equal((await run()).code, 2);
});

Deno.test("main.ts prints JSON and --format writes SDP back", async () => {
  const file = await Deno.makeTempFile({ suffix: ".sdp" });
  try {
    await Deno.writeTextFile(file, RFC8866_EXAMPLE);
    const self = new URL("./main.ts", import.meta.url).pathname;
    const json = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", self, file],
      stdout: "piped",
    }).output();
    equal(JSON.parse(new TextDecoder().decode(json.stdout)).name, "Call to John Smith");
    const back = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", self, "--format", file],
      stdout: "piped",
    })
      .output();
    equal(
      new TextDecoder().decode(back.stdout).replaceAll("\r\n", "\n"),
      RFC8866_EXAMPLE.replaceAll("\r\n", "\n"),
    );
    await Deno.writeTextFile(file, "v=0\n");
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", self, file],
      stderr: "piped",
    }).output();
    equal(bad.code, 1);
  } finally {
    await Deno.remove(file);
  }
});
