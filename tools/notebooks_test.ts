// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual } from "node:assert/strict";
import { checkNotebooks, listNotebooks } from "./notebooks.ts";

Deno.test("checkNotebooks() enforces the notebook rule", async () => {
  const root = await Deno.makeTempDir({ prefix: "rtclite-notebooks-" });
  try {
    for (const dir of ["std/ietf", "notebooks"]) {
      await Deno.mkdir(`${root}/${dir}`, { recursive: true });
    }
    await Deno.writeTextFile(`${root}/std/ietf/rfc1.ts`, "// @implements RFC1 §1\nexport {};\n");
    await Deno.writeTextFile(`${root}/std/ietf/rfc2.ts`, "// @implements RFC2 §1\nexport {};\n");
    await Deno.writeTextFile(`${root}/std/log.ts`, "export {};\n");
    // A folder module: a notebook listing the folder covers its adapter too.
    await Deno.mkdir(`${root}/std/ietf/rfc3`);
    await Deno.writeTextFile(
      `${root}/std/ietf/rfc3/mod.ts`,
      "// @implements RFC3 §1\nexport {};\n",
    );
    await Deno.writeTextFile(
      `${root}/std/ietf/rfc3/udp.ts`,
      "// @implements RFC3 §2\nexport {};\n",
    );
    const nb = (kernel: string, modules: string[]) =>
      JSON.stringify({
        cells: [],
        metadata: { kernelspec: { name: kernel }, rtclite: { modules } },
      });
    await Deno.writeTextFile(`${root}/notebooks/rfc1.ipynb`, nb("deno", ["std/ietf/rfc1"]));
    await Deno.writeTextFile(`${root}/notebooks/rfc3.ipynb`, nb("deno", ["std/ietf/rfc3"]));
    await Deno.writeTextFile(`${root}/notebooks/bad.ipynb`, nb("python3", ["std/ietf/rfc9"]));
    deepEqual((await listNotebooks(root)).map((n) => [n.name, n.kernel, n.modules]), [
      ["bad", "python3", ["std/ietf/rfc9"]],
      ["rfc1", "deno", ["std/ietf/rfc1"]],
      ["rfc3", "deno", ["std/ietf/rfc3"]],
    ]);
    deepEqual(await checkNotebooks(root), [
      'notebooks/bad.ipynb: metadata.kernelspec.name is "python3", expected "deno"',
      "notebooks/bad.ipynb: lists std/ietf/rfc9, which is not an exported module",
      "std/ietf/rfc2 implements a specification but no notebook lists it in metadata.rtclite.modules",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
