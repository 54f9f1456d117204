// Redis's glob matcher (util.c stringmatchlen, 7.0.x) for KEYS and SCAN MATCH, ported byte for
// byte so patterns select exactly the keys Redis would: * ? [abc] [^a-z] and \ escapes, ranges
// given backwards, a '[' left open. Bytes compare as C `char` (signed on x86-64) in ranges.

/** Recursion bound of Redis (CVE-2022-36021): deeper patterns simply do not match. */
const MAX_GLOB_NESTING = 1000;

function signed(b: number): number {
  return (b << 24) >> 24;
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** True if `str` matches glob `pattern` (optionally case-insensitive). */
export function globMatch(pattern: Uint8Array, str: Uint8Array, nocase = false): boolean {
  const skip = { longer: false };
  return matchImpl(pattern, 0, pattern.length, str, 0, str.length, nocase, skip, 0);
}

function matchImpl(
  pat: Uint8Array,
  p: number,
  plen: number,
  str: Uint8Array,
  s: number,
  slen: number,
  nocase: boolean,
  skip: { longer: boolean },
  nesting: number,
): boolean {
  if (nesting > MAX_GLOB_NESTING) return false;
  // C reads the NUL terminator past the end of the pattern; so does `at`.
  const at = (i: number): number => (i < pat.length ? pat[i]! : 0);
  while (plen > 0 && slen > 0) {
    const pc = at(p);
    switch (pc) {
      case 0x2a: {
        // '*'
        while (plen > 0 && at(p + 1) === 0x2a) {
          p++;
          plen--;
        }
        if (plen === 1) return true;
        while (slen > 0) {
          if (matchImpl(pat, p + 1, plen - 1, str, s, slen, nocase, skip, nesting + 1)) return true;
          if (skip.longer) return false;
          s++;
          slen--;
        }
        skip.longer = true;
        return false;
      }
      case 0x3f: // '?'
        s++;
        slen--;
        break;
      case 0x5b: {
        // '['
        p++;
        plen--;
        const not = at(p) === 0x5e;
        if (not) {
          p++;
          plen--;
        }
        let match = false;
        const sc = str[s]!;
        for (;;) {
          if (at(p) === 0x5c && plen >= 2) {
            p++;
            plen--;
            if (at(p) === sc) match = true;
          } else if (at(p) === 0x5d) {
            break;
          } else if (plen === 0) {
            p--;
            plen++;
            break;
          } else if (plen >= 3 && at(p + 1) === 0x2d) {
            let start = signed(at(p));
            let end = signed(at(p + 2));
            let c = signed(sc);
            if (start > end) [start, end] = [end, start];
            if (nocase) {
              start = lower(start);
              end = lower(end);
              c = lower(c);
            }
            p += 2;
            plen -= 2;
            if (c >= start && c <= end) match = true;
          } else if (!nocase) {
            if (at(p) === sc) match = true;
          } else if (lower(at(p)) === lower(sc)) {
            match = true;
          }
          p++;
          plen--;
        }
        if (not) match = !match;
        if (!match) return false;
        s++;
        slen--;
        break;
      }
      default: {
        if (pc === 0x5c && plen >= 2) {
          // '\' escapes the next byte
          p++;
          plen--;
        }
        const c = at(p);
        const sc = str[s]!;
        if (nocase ? lower(c) !== lower(sc) : c !== sc) return false;
        s++;
        slen--;
        break;
      }
    }
    p++;
    plen--;
    if (slen === 0) {
      while (at(p) === 0x2a) {
        p++;
        plen--;
      }
      break;
    }
  }
  return plen === 0 && slen === 0;
}
