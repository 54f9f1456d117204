// CRC16-CCITT (XMODEM), the hash Redis Cluster uses for key slots, so a key's
// slot here is the slot Redis Cluster would give it (hash tags included).

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >>> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** Number of hash slots, as in Redis Cluster. */
export const HASH_SLOTS = 16384;

/** Redis Cluster's key → slot, honouring {hash tags}. */
export function keySlot(key: Uint8Array): number {
  const open = key.indexOf(0x7b); // '{'
  if (open >= 0) {
    const close = key.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) return crc16(key, open + 1, close) % HASH_SLOTS;
  }
  return crc16(key) % HASH_SLOTS;
}
