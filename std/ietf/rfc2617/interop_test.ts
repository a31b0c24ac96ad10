// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { equal } from "node:assert/strict";
import { interopTest, run } from "@rtclite/testing";
import { computeUserhash, DigestServer, type DigestServerOptions } from "./mod.ts";

interopTest(
  "curl --digest authenticates against DigestServer",
  [{ bin: "curl", apt: "curl" }],
  async (t) => {
    const users: Record<string, string> = { alice: "wonderland" };
    // curl before 8.8.0 hashes algorithm=SHA-512-256 with SHA-256 (fixed in curl 8.8.0).
    const version = /curl (\d+)\.(\d+)/.exec((await run("curl", ["--version"])).stdout);
    const curlSha512256 = Number(version?.[1]) * 100 + Number(version?.[2]) >= 808;
    for (
      const [label, options] of [
        ["MD5", { algorithms: ["MD5"] }],
        ["SHA-256", { algorithms: ["SHA-256"] }],
        ["SHA-512-256", { algorithms: ["SHA-512-256"] }],
        ["MD5-sess", { algorithms: ["MD5-sess"] }],
        ["SHA-256 with userhash", { algorithms: ["SHA-256"], userhash: true }],
        ["SHA-256 and MD5 challenges", { algorithms: ["SHA-256", "MD5"] }],
      ] as [string, Partial<DigestServerOptions>][]
    ) {
      // Old curl's wrong SHA-512-256 answer must be refused, never accepted.
      const curlWrong = label === "SHA-512-256" && !curlSha512256;
      await t.step(
        curlWrong ? `${label} (curl < 8.8 answers wrongly: refused)` : label,
        async () => {
          const server = new DigestServer({ realm: "rtclite@127.0.0.1", ...options });
          const hashed = new Map<string, string>();
          for (const [user] of Object.entries(users)) {
            for (const alg of options.algorithms ?? []) {
              hashed.set(await computeUserhash(alg, user, "rtclite@127.0.0.1"), user);
            }
          }
          const lookup = (name: string, _realm: string, userhash: boolean) => {
            const user = userhash ? hashed.get(name) : name;
            return user && users[user] ? { username: user, password: users[user]! } : undefined;
          };
          await using http = Deno.serve(
            { hostname: "127.0.0.1", port: 0, onListen() {} },
            async (req) => {
              const url = new URL(req.url);
              const authorization = req.headers.get("authorization");
              if (authorization) {
                const r = await server.verify(authorization, {
                  method: req.method,
                  uri: url.pathname + url.search,
                }, lookup);
                if (r.ok) {
                  return new Response(`hello ${r.username}`, {
                    headers: { "authentication-info": r.authenticationInfo },
                  });
                }
              }
              const headers = new Headers();
              for (const c of await server.challenge()) headers.append("www-authenticate", c);
              return new Response("unauthorized", { status: 401, headers });
            },
          );
          const url = `http://127.0.0.1:${http.addr.port}/dir/index.html?x=1`;
          const good = await run("curl", ["-sS", "--digest", "-u", "alice:wonderland", url], {
            timeout: 10_000,
          });
          equal(good.stdout, curlWrong ? "unauthorized" : "hello alice", good.stderr);
          const bad = await run(
            "curl",
            ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--digest", "-u", "alice:x", url],
            { timeout: 10_000 },
          );
          equal(bad.stdout, "401");
        },
      );
    }
  },
  { timeout: 60_000 },
);
