// Hashing for rendezvous scores: no crypto, no BigInt, no encoding of the key per lookup.
// A key is hashed once per lookup into two 32-bit words; each peer's id was hashed the same
// way when the set changed; a score mixes the two pairs into 53 bits (an exact double).

/** murmur3's 32-bit finalizer: every input bit flips about half the output bits. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Two independent 32-bit hashes of a string's UTF-16 code units (FNV-1a and a murmur-style multiply), finalized. */
export function hashPair(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [fmix32(a), fmix32(b)];
}

/** The rendezvous score of a key (ka, kb) on a peer (pa, pb): 53 well-mixed bits, as a number. */
export function score(ka: number, kb: number, pa: number, pb: number): number {
  const hi = fmix32((ka ^ pa) + Math.imul(pb, 0x9e3779b1));
  const lo = fmix32(kb ^ pb ^ Math.imul(hi, 0x27d4eb2f));
  return hi * 0x200000 + (lo >>> 11);
}
