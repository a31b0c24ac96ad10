// Copyright 2026 the rtclite authors. LGPL-3.0-or-later.
import { deepEqual, equal, throws } from "node:assert/strict";
import {
  createCipheriv,
  createDecipheriv,
  createDiffieHellmanGroup,
  createHash,
  createHmac,
} from "node:crypto";
import fc from "fast-check";
import { fromHex, toHex } from "@rtclite/std/bytes";
import {
  checksum,
  decodeEpd,
  decodeMultiplex,
  decodePacket,
  decryptPacket,
  DEFAULT_KEY,
  deriveSessionKeys,
  dhKeyPair,
  dhPublicKeyIn,
  dhSharedSecret,
  encodeMultiplex,
  encodePacket,
  encryptPacket,
  initiatorCertificate,
  MODP1024_PRIME,
  peerIdEpd,
  peerIdOf,
  responderKeyComponent,
  RtmfpIntegrityError,
  RtmfpParseError,
  urlEpd,
} from "./mod.ts";

Deno.test("the default key is the ASCII bytes 'Adobe Systems 02'", () => {
  equal(toHex(DEFAULT_KEY), "41646f62652053797374656d73203032");
});

Deno.test("checksum: ones' complement sum of big-endian words, odd byte added low", () => {
  equal(checksum(new Uint8Array()), 0xffff);
  equal(checksum(fromHex("0001")), 0xfffe);
  // 0x1234 + 0x5678 = 0x68ac; ~ = 0x9753
  equal(checksum(fromHex("12345678")), 0x9753);
  // odd byte: 0x1234 + 0x56 = 0x128a; ~ = 0xed75
  equal(checksum(fromHex("123456")), 0xed75);
  // carry folds back: 0xffff + 0x0002 = 0x10001 -> 0x0002; ~ = 0xfffd
  equal(checksum(fromHex("ffff0002")), 0xfffd);
});

Deno.test("encryptPacket() is AES-128-CBC, zero IV, over checksum + packet + 0xff padding", () => {
  const plain = fromHex("0b00013000020a0b");
  const encrypted = encryptPacket(DEFAULT_KEY, plain);
  equal(encrypted.length, 16);
  // Independent: node:crypto decrypts it without padding removal.
  const d = createDecipheriv("aes-128-cbc", DEFAULT_KEY, new Uint8Array(16)).setAutoPadding(false);
  const raw = new Uint8Array([...d.update(encrypted), ...d.final()]);
  equal(toHex(raw.subarray(2, 10)), toHex(plain));
  equal(toHex(raw.subarray(10)), "ffffffffffff");
  equal((raw[0]! << 8) | raw[1]!, checksum(raw.subarray(2)));
  deepEqual(decryptPacket(DEFAULT_KEY, encrypted), raw.subarray(2));
  // A 14-byte packet fills one block exactly; a 15-byte one takes two.
  equal(encryptPacket(DEFAULT_KEY, new Uint8Array(14)).length, 16);
  equal(encryptPacket(DEFAULT_KEY, new Uint8Array(15)).length, 32);
});

Deno.test("decryptPacket() refuses a bad length or checksum with RtmfpIntegrityError", () => {
  const e = (fn: () => unknown, msg: string) =>
    throws(fn, (x: unknown) => x instanceof RtmfpIntegrityError && x.message.includes(msg));
  e(() => decryptPacket(DEFAULT_KEY, new Uint8Array(15)), "multiple of 16");
  e(() => decryptPacket(DEFAULT_KEY, new Uint8Array()), "multiple of 16");
  const c = createCipheriv("aes-128-cbc", DEFAULT_KEY, new Uint8Array(16)).setAutoPadding(false);
  const wrong = new Uint8Array([...c.update(fromHex("0000" + "0b".repeat(14))), ...c.final()]);
  e(() => decryptPacket(DEFAULT_KEY, wrong), "checksum");
  const other = encryptPacket(new Uint8Array(16), fromHex("0b0001"));
  e(() => decryptPacket(DEFAULT_KEY, other), "checksum");
});

Deno.test("a startup datagram: multiplex + encryption + packet round trip", () => {
  const plain = encodePacket({
    mode: 3,
    timestamp: 5,
    chunks: [{ type: "ihello", epd: urlEpd("rtmfp://localhost/app"), tag: new Uint8Array(16) }],
  });
  const datagram = encodeMultiplex(0, encryptPacket(DEFAULT_KEY, plain));
  const { sessionId, encrypted } = decodeMultiplex(datagram);
  equal(sessionId, 0);
  const p = decodePacket(decryptPacket(DEFAULT_KEY, encrypted));
  equal(p.chunks[0]?.type, "ihello");
  if (p.chunks[0]?.type === "ihello") {
    deepEqual(decodeEpd(p.chunks[0].epd), { url: "rtmfp://localhost/app" });
  }
});

Deno.test("property: decryptPacket(encryptPacket(x)) returns x then 0xff padding", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.uint8Array({ maxLength: 200 }),
      (key, plain) => {
        const back = decryptPacket(key, encryptPacket(key, plain));
        deepEqual(back.subarray(0, plain.length), plain);
        equal(back.subarray(plain.length).every((b) => b === 0xff), true);
        equal((back.length + 2) % 16, 0);
      },
    ),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decryptPacket(DEFAULT_KEY, bytes);
      } catch (e) {
        if (!(e instanceof RtmfpParseError)) throw e;
      }
    }),
  );
});

Deno.test("Diffie-Hellman group 2 agrees with node:crypto's modp2", () => {
  const node = createDiffieHellmanGroup("modp2");
  equal(BigInt("0x" + node.getPrime("hex")), MODP1024_PRIME);
  node.generateKeys();
  const ours = dhKeyPair();
  equal(ours.publicKey.length, 128);
  const a = dhSharedSecret(ours.privateKey, new Uint8Array(node.getPublicKey()));
  const b = new Uint8Array(node.computeSecret(ours.publicKey));
  equal(toHex(a), toHex(new Uint8Array(128 - b.length)) + toHex(b));
  // Two of ours agree with each other.
  const x = dhKeyPair(), y = dhKeyPair();
  deepEqual(dhSharedSecret(x.privateKey, y.publicKey), dhSharedSecret(y.privateKey, x.publicKey));
  throws(() => dhSharedSecret(x.privateKey, Uint8Array.of(1)), RtmfpIntegrityError);
});

Deno.test("deriveSessionKeys() matches HMAC-SHA256 computed with node:crypto", () => {
  const secret = new Uint8Array(128).map((_, i) => i);
  const ni = fromHex("0102030405"), nr = fromHex("a0a1a2");
  const h = (key: Uint8Array, data: Uint8Array) =>
    new Uint8Array(createHmac("sha256", key).update(data).digest());
  const keys = deriveSessionKeys(secret, ni, nr);
  equal(toHex(keys.initiatorKey), toHex(h(secret, h(nr, ni)).subarray(0, 16)));
  equal(toHex(keys.responderKey), toHex(h(secret, h(ni, nr)).subarray(0, 16)));
});

Deno.test("Flash certificates: DH keys in options 0x1d / 0x0d, peer id = SHA-256(certificate)", () => {
  const pub = new Uint8Array(128).fill(7);
  const cert = initiatorCertificate(pub);
  equal(toHex(cert.subarray(0, 4)), "81021d02");
  deepEqual(dhPublicKeyIn(cert), pub);
  const skrc = responderKeyComponent(pub);
  equal(toHex(skrc.subarray(0, 11)), "031a0000021e0081020d02");
  deepEqual(dhPublicKeyIn(skrc), pub);
  equal(toHex(peerIdOf(cert)), createHash("sha256").update(cert).digest("hex"));
  const id = peerIdOf(cert);
  equal(toHex(peerIdEpd(id).subarray(0, 2)), "210f");
  deepEqual(decodeEpd(peerIdEpd(id)), { peerId: id });
  deepEqual(decodeEpd(fromHex("ff")), { unknown: fromHex("ff") });
  throws(() => dhPublicKeyIn(fromHex("020a00")), RtmfpParseError);
});
