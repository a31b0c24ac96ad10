const LE = true;
function rotl(k: number, bytes: number): number { const r = (bytes & 3) * 8; return r === 0 ? k : ((k << r) | (k >>> (32 - r))) >>> 0; }
function bswap(x: number): number { return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0; }
function maskOld(data: Uint8Array, key: number, phase: number): void {
  const k = rotl(key, phase); const n = data.length; let i = 0;
  if (n >= 64) {
    while (((data.byteOffset + i) & 3) !== 0) { data[i] = data[i]! ^ ((k >>> (24 - 8 * (i & 3))) & 0xff); i++; }
    const kk = rotl(k, i); const w = LE ? bswap(kk) : kk; const words = (n - i) >>> 2;
    const u32 = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let j = 0; j < words; j++) u32[j] = u32[j]! ^ w;
    i += words * 4;
  }
  for (; i < n; i++) data[i] = data[i]! ^ ((k >>> (24 - 8 * (i & 3))) & 0xff);
}
function maskNew(data: Uint8Array, key: number, phase: number): void {
  const k = rotl(key, phase); const n = data.length; let i = 0;
  if (n >= 512) {
    while (((data.byteOffset + i) & 3) !== 0) { data[i] = data[i]! ^ ((k >>> (24 - 8 * (i & 3))) & 0xff); i++; }
    const kk = rotl(k, i); const w = LE ? bswap(kk) : kk; const words = (n - i) >>> 2;
    const u32 = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let j = 0; j < words; j++) u32[j] = u32[j]! ^ w;
    i += words * 4;
  }
  const k0 = k >>> 24, k1 = (k >>> 16) & 0xff, k2 = (k >>> 8) & 0xff, k3 = k & 0xff;
  for (; i + 4 <= n; i += 4) { data[i] ^= k0; data[i + 1] ^= k1; data[i + 2] ^= k2; data[i + 3] ^= k3; }
  for (; i < n; i++) data[i] = data[i]! ^ ((k >>> (24 - 8 * (i & 3))) & 0xff);
}
const buf = new Uint8Array(70000);
for (const n of [64, 256, 1024]) {
  const d = buf.subarray(6, 6 + n);
  Deno.bench(`old ${n} x100`, { group: `${n}` }, () => { for (let i = 0; i < 100; i++) maskOld(d, 0x01020304, 0); });
  Deno.bench(`new ${n} x100`, { group: `${n}` }, () => { for (let i = 0; i < 100; i++) maskNew(d, 0x01020304, 0); });
}
