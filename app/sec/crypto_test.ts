// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, match, notDeepEqual, ok, rejects, throws } from "node:assert/strict";
import { interopTest, run } from "@rtclite/testing";
import {
  createSelfSignedCertificate,
  CryptoError,
  CryptoParseError,
  decryptFrom,
  encryptFor,
  type EncryptionAlgorithm,
  exportPrivateKey,
  exportPublicKey,
  fingerprint,
  formatFingerprint,
  fromPem,
  generateEncryptionKeyPair,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  keyPairOf,
  parseCertificate,
  sign,
  type SigningAlgorithm,
  toPem,
  verify,
  verifySelfSigned,
} from "./crypto.ts";

const enc = new TextEncoder();
const SIGNING: SigningAlgorithm[] = ["Ed25519", "ECDSA-P256", "RSA"];

Deno.test("sign() and verify() round trip; tampering is detected", async (t) => {
  for (const alg of SIGNING) {
    await t.step(alg, async () => {
      const keys = await generateKeyPair(alg);
      const other = await generateKeyPair(alg);
      const data = enc.encode("INVITE sip:bob@example.com");
      for (const format of ["raw", "der"] as const) {
        const sig = await sign(keys.privateKey, data, { format });
        equal(await verify(keys.publicKey, data, sig, { format }), true);
        // Changed data, changed signature, another key: all refused.
        equal(
          await verify(keys.publicKey, enc.encode("INVITE sip:eve@example.com"), sig, { format }),
          false,
        );
        const bad = sig.slice();
        bad[bad.length >> 1]! ^= 0x40;
        equal(await verify(keys.publicKey, data, bad, { format }), false);
        equal(await verify(other.publicKey, data, sig, { format }), false);
        equal(await verify(keys.publicKey, data, new Uint8Array(3), { format }), false);
      }
      const lengths = { "Ed25519": 64, "ECDSA-P256": 64, "RSA": 256 };
      equal((await sign(keys.privateKey, data)).length, lengths[alg]);
    });
  }
  await t.step("keys that cannot sign", async () => {
    const ecdh = await generateEncryptionKeyPair();
    await rejects(sign(ecdh.privateKey, new Uint8Array(1)), TypeError);
    await rejects(generateKeyPair("DSA" as SigningAlgorithm), TypeError);
  });
});

Deno.test("encryptFor() and decryptFrom() for every kind of peer key", async (t) => {
  const message = enc.encode("a secret for the peer only ".repeat(10));
  const pairs: [string, () => Promise<CryptoKeyPair>][] = [
    ...(["ECDH-P256", "X25519", "RSA-OAEP"] as EncryptionAlgorithm[]).map((
      a,
    ) => [a, () => generateEncryptionKeyPair(a)] as [string, () => Promise<CryptoKeyPair>]),
    ["ECDSA-P256 (signing key reused)", () => generateKeyPair("ECDSA-P256")],
  ];
  for (const [name, make] of pairs) {
    await t.step(name, async () => {
      const peer = await make();
      const box1 = await encryptFor(peer.publicKey, message);
      const box2 = await encryptFor(peer.publicKey, message);
      notDeepEqual(box1, box2); // fresh ephemeral key or AES key and IV each time
      deepEqual(await decryptFrom(peer.privateKey, box1), message);
      const tampered = box1.slice();
      tampered[tampered.length - 20]! ^= 1;
      await rejects(decryptFrom(peer.privateKey, tampered), CryptoError);
      const stranger = await make();
      await rejects(decryptFrom(stranger.privateKey, box1), CryptoError);
      await rejects(decryptFrom(peer.privateKey, box1.subarray(0, 10)), CryptoParseError);
    });
  }
  await t.step("bad envelopes and keys", async () => {
    const peer = await generateEncryptionKeyPair();
    await rejects(decryptFrom(peer.privateKey, new Uint8Array([9, 0])), CryptoParseError);
    await rejects(decryptFrom(peer.privateKey, new Uint8Array()), CryptoParseError);
    await rejects(encryptFor((await generateKeyPair()).publicKey, message), TypeError);
  });
});

Deno.test("keys export and import in raw, SPKI, PKCS#8, JWK and PEM", async (t) => {
  for (const alg of SIGNING) {
    await t.step(alg, async () => {
      const keys = await generateKeyPair(alg);
      const data = enc.encode("data");
      const spki = await exportPublicKey(keys.publicKey, "spki");
      const pem = await exportPublicKey(keys.publicKey, "pem");
      deepEqual(fromPem(pem, "PUBLIC KEY"), spki);
      const jwk = await exportPublicKey(keys.publicKey, "jwk");
      const pkcs8 = await exportPrivateKey(keys.privateKey, "pkcs8");
      const privPem = await exportPrivateKey(keys.privateKey, "pem");
      const privJwk = await exportPrivateKey(keys.privateKey, "jwk");
      for (const priv of [pkcs8, privPem, privJwk]) {
        const sig = await sign(await importPrivateKey(priv, alg), data);
        for (const pub of [spki, pem, jwk]) {
          equal(await verify(await importPublicKey(pub, alg), data, sig), true);
        }
      }
      // The public key is recovered from a PKCS#8 file alone.
      const pair = await keyPairOf(await importPrivateKey(privPem, alg));
      deepEqual(await exportPublicKey(pair.publicKey, "spki"), spki);
      await rejects(keyPairOf(keys.publicKey), TypeError);
      // Fingerprints: SHA-256 of the SPKI, the same after a round trip.
      const fp = await fingerprint(keys.publicKey);
      deepEqual(
        fp,
        new Uint8Array(await crypto.subtle.digest("SHA-256", spki as Uint8Array<ArrayBuffer>)),
      );
      deepEqual(await fingerprint(await importPublicKey(pem, alg)), fp);
      match(formatFingerprint(fp), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    });
  }
  await t.step("raw points", async () => {
    const ed = await generateKeyPair("Ed25519");
    const raw = await exportPublicKey(ed.publicKey, "raw");
    equal(raw.length, 32);
    deepEqual(await exportPublicKey(await importPublicKey(raw, "Ed25519", "raw"), "raw"), raw);
    const p256 = await generateKeyPair("ECDSA-P256");
    equal((await exportPublicKey(p256.publicKey, "raw"))[0], 4); // uncompressed point
  });
  await t.step("bad input", async () => {
    await rejects(importPublicKey(new Uint8Array(5), "Ed25519"), CryptoParseError);
    await rejects(importPublicKey("not pem", "Ed25519"), CryptoParseError);
    await rejects(importPrivateKey(new Uint8Array(5), "RSA"), CryptoParseError);
    const ed = await generateKeyPair("Ed25519");
    const pem = await exportPublicKey(ed.publicKey, "pem");
    await rejects(importPublicKey(pem, "ECDSA-P256"), CryptoParseError); // wrong algorithm
    throws(() => fromPem(pem, "CERTIFICATE"), CryptoParseError);
    deepEqual(fromPem(toPem(new Uint8Array(100).fill(7), "X"), "X"), new Uint8Array(100).fill(7));
  });
});

Deno.test("createSelfSignedCertificate(): parsed back with subject, validity and key", async (t) => {
  for (const alg of SIGNING) {
    await t.step(alg, async () => {
      const keys = await generateKeyPair(alg);
      const notBefore = new Date("2026-01-01T00:00:00Z");
      const notAfter = new Date("2027-01-01T00:00:00Z");
      const cert = await createSelfSignedCertificate(keys, {
        subject: "CN=alice, O=rtclite",
        notBefore,
        notAfter,
        serialNumber: "0a1b2c",
        dnsNames: ["alice.example"],
        ipAddresses: ["127.0.0.1"],
      });
      for (const input of [cert.pem, cert.der]) {
        const back = await parseCertificate(input);
        equal(back.subject, "CN=alice, O=rtclite");
        equal(back.issuer, back.subject);
        equal(back.notBefore.toISOString(), notBefore.toISOString());
        equal(back.notAfter.toISOString(), notAfter.toISOString());
        equal(back.serialNumber, "0a1b2c");
        deepEqual(back.altNames, ["alice.example", "127.0.0.1"]);
        deepEqual(await fingerprint(back.publicKey), await fingerprint(keys.publicKey));
        deepEqual(back.der, cert.der);
        equal(back.pem, cert.pem);
      }
      // The certificate's key verifies what the private key signs.
      const back = await parseCertificate(cert.pem);
      const sig = await sign(keys.privateKey, enc.encode("x"));
      equal(await verify(back.publicKey, enc.encode("x"), sig), true);
      equal(await verifySelfSigned(back), true);
      equal(await verifySelfSigned(back, new Date("2026-06-01T00:00:00Z")), true);
      equal(await verifySelfSigned(back, new Date("2028-06-01T00:00:00Z")), false);
      // A flipped bit in the signed part breaks the signature.
      const der = cert.der.slice();
      der[der.length - 80]! ^= 1;
      const forged = await parseCertificate(der).catch(() => undefined);
      if (forged) equal(await verifySelfSigned(forged), false);
    });
  }
  await t.step("defaults and errors", async () => {
    const cert = await createSelfSignedCertificate(await generateKeyPair());
    equal(cert.subject, "CN=rtclite");
    ok(cert.notBefore.getTime() <= Date.now());
    equal(Math.round((cert.notAfter.getTime() - cert.notBefore.getTime()) / 86_400_000), 365);
    ok(cert.serialNumber.length === 32 && parseInt(cert.serialNumber[0]!, 16) < 8);
    await rejects(
      createSelfSignedCertificate(await generateKeyPair(), { days: 0 }),
      RangeError,
    );
    await rejects(
      parseCertificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
      CryptoParseError,
    );
    await rejects(parseCertificate("no pem here"), CryptoParseError);
  });
});

// === Interoperability with OpenSSL ===

async function openssl(args: string[], dir: string) {
  return await run("openssl", args, { timeout: 20_000, cwd: dir });
}

interopTest("OpenSSL reads our certificates and verifies our signatures", [{
  bin: "openssl",
  apt: "openssl",
}], async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "rtclite-crypto-" });
  try {
    const data = enc.encode("signed by rtclite\n");
    await Deno.writeFile(`${dir}/msg.bin`, data);
    for (const alg of SIGNING) {
      await t.step(alg, async () => {
        const keys = await generateKeyPair(alg);
        const cert = await createSelfSignedCertificate(keys, {
          subject: "CN=interop, O=rtclite",
          days: 10,
          dnsNames: ["interop.example"],
        });
        await Deno.writeTextFile(`${dir}/cert.pem`, cert.pem);
        const text = await openssl(["x509", "-in", "cert.pem", "-noout", "-text"], dir);
        equal(text.code, 0, text.stderr);
        match(text.stdout, /Subject: CN\s?=\s?interop, O\s?=\s?rtclite/);
        match(text.stdout, /DNS:interop\.example/);
        match(
          text.stdout,
          { Ed25519: /ED25519/, "ECDSA-P256": /prime256v1|P-256/, RSA: /rsaEncryption/ }[alg],
        );
        // The certificate's self-signature checks out with OpenSSL too.
        const self = await openssl(
          ["verify", "-CAfile", "cert.pem", "-partial_chain", "cert.pem"],
          dir,
        );
        equal(self.code, 0, self.stdout + self.stderr);
        // Fingerprint as OpenSSL computes it.
        const fp = await openssl(
          ["x509", "-in", "cert.pem", "-noout", "-fingerprint", "-sha256"],
          dir,
        );
        ok(fp.stdout.includes(formatFingerprint(cert.fingerprint)), fp.stdout);
        // A signature by our key, verified by OpenSSL with the public key from the certificate.
        await Deno.writeTextFile(`${dir}/pub.pem`, await exportPublicKey(keys.publicKey, "pem"));
        const sig = await sign(keys.privateKey, data, { format: "der" });
        await Deno.writeFile(`${dir}/sig.bin`, sig);
        const check = alg === "Ed25519"
          ? [
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-rawin",
            "-in",
            "msg.bin",
            "-sigfile",
            "sig.bin",
          ]
          : ["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", "msg.bin"];
        const ok1 = await openssl(check, dir);
        equal(ok1.code, 0, ok1.stdout + ok1.stderr);
        match(ok1.stdout, /Verified OK|Signature Verified Successfully/);
        // A tampered message fails with OpenSSL as with us.
        await Deno.writeFile(`${dir}/msg2.bin`, enc.encode("signed by mallory\n"));
        const bad = await openssl(check.map((a) => (a === "msg.bin" ? "msg2.bin" : a)), dir);
        equal(bad.code, 1);
        // The other way: a key made by OpenSSL, imported and used by us.
        const gen = {
          Ed25519: ["-algorithm", "ed25519"],
          "ECDSA-P256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
          RSA: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        }[alg];
        const made = await openssl(["genpkey", ...gen, "-out", "key.pem"], dir);
        equal(made.code, 0, made.stderr);
        const theirs = await importPrivateKey(await Deno.readTextFile(`${dir}/key.pem`), alg);
        const pub = await openssl(
          ["pkey", "-in", "key.pem", "-pubout", "-out", "theirpub.pem"],
          dir,
        );
        equal(pub.code, 0, pub.stderr);
        const theirPub = await importPublicKey(await Deno.readTextFile(`${dir}/theirpub.pem`), alg);
        equal(await verify(theirPub, data, await sign(theirs, data)), true);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
