// A small, strict parser for the Prometheus text exposition format (0.0.4),
// written for the tests: it rejects what a scraper would reject or misread,
// and checks histogram consistency (cumulative buckets, +Inf = _count).

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  help?: string;
  type?: MetricType;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
/** A file this long is certainly not a node's metrics: refuse instead of looping on it. */
const MAX_LINES = 100_000;

export class ParseError extends Error {
  override name = 'ParseError';
}

/**
 * Values are read as Prometheus reads them (Go's strconv.ParseFloat): special values ignore case,
 * and prom-client writes a NaN gauge as "Nan", which Prometheus accepts.
 */
function parseValue(s: string, line: number): number {
  const lower = s.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new ParseError(`line ${line}: bad value '${s}'`);
  return Number(s);
}

/** Parses `{a="x",b="y"}` starting at s[i] === '{'; returns labels and the index after '}'. */
function parseLabels(s: string, i: number, line: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  i++; // '{'
  for (let guard = 0; guard < s.length; guard++) {
    if (s[i] === '}') return [labels, i + 1];
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new ParseError(`line ${line}: label without '='`);
    const name = s.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new ParseError(`line ${line}: bad label name '${name}'`);
    if (name in labels) throw new ParseError(`line ${line}: duplicate label '${name}'`);
    if (s[eq + 1] !== '"') throw new ParseError(`line ${line}: label value must be quoted`);
    let j = eq + 2;
    let v = '';
    for (; j < s.length && s[j] !== '"'; j++) {
      if (s[j] === '\\') {
        const n = s[++j];
        if (n === 'n') v += '\n';
        else if (n === '\\' || n === '"') v += n;
        else throw new ParseError(`line ${line}: bad escape '\\${n ?? ''}'`);
      } else if (s[j] === '\n') {
        throw new ParseError(`line ${line}: raw newline in a label value`);
      } else v += s[j];
    }
    if (j >= s.length) throw new ParseError(`line ${line}: unterminated label value`);
    labels[name] = v;
    i = j + 1;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new ParseError(`line ${line}: expected ',' or '}' after a label`);
  }
  throw new ParseError(`line ${line}: unterminated label set`);
}

/** The family a sample belongs to: histogram samples carry _bucket/_sum/_count suffixes. */
function familyOf(sampleName: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sampleName);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sampleName.endsWith(suffix)) {
      const f = families.get(sampleName.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || f.type === 'summary')) return f;
    }
  }
  return undefined;
}

export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new ParseError('exposition must end with a newline');
  const lines = text.split('\n');
  lines.pop();
  if (lines.length > MAX_LINES) throw new ParseError(`more than ${MAX_LINES} lines`);
  const families = new Map<string, Family>();
  const closed = new Set<string>(); // families whose samples have ended (must stay contiguous)
  let current: Family | undefined;
  const open = (name: string, line: number): Family => {
    if (!METRIC_NAME.test(name)) throw new ParseError(`line ${line}: bad metric name '${name}'`);
    let f = families.get(name);
    if (!f) {
      f = { name, samples: [] };
      families.set(name, f);
    } else if (closed.has(name) || f.samples.length > 0) {
      throw new ParseError(`line ${line}: metadata for '${name}' after its samples`);
    }
    if (current && current !== f) closed.add(current.name);
    current = f;
    return f;
  };
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!m) return; // other comments are allowed
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      const f = open(name, line);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new ParseError(`line ${line}: second HELP for '${name}'`);
        f.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      } else {
        if (f.type !== undefined) throw new ParseError(`line ${line}: second TYPE for '${name}'`);
        if (!TYPES.has(rest)) throw new ParseError(`line ${line}: unknown type '${rest}'`);
        f.type = rest as MetricType;
      }
      return;
    }
    const nameEnd = raw.search(/[{ ]/);
    if (nameEnd <= 0) throw new ParseError(`line ${line}: no value`);
    const name = raw.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) throw new ParseError(`line ${line}: bad metric name '${name}'`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (raw[i] === '{') [labels, i] = parseLabels(raw, i, line);
    if (raw[i] !== ' ') throw new ParseError(`line ${line}: expected a space before the value`);
    const parts = raw.slice(i + 1).split(' ');
    if (parts.length < 1 || parts.length > 2 || parts[0] === '') throw new ParseError(`line ${line}: expected 'value [timestamp]'`);
    const value = parseValue(parts[0] as string, line);
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1] as string)) throw new ParseError(`line ${line}: bad timestamp`);
    let f = familyOf(name, families);
    if (!f) f = open(name, line); // an untyped sample without metadata
    if (f !== current) {
      if (closed.has(f.name)) throw new ParseError(`line ${line}: samples of '${f.name}' are not contiguous`);
      if (current) closed.add(current.name);
      current = f;
    }
    if (f.type === 'counter' && !(value >= 0)) throw new ParseError(`line ${line}: negative or NaN counter`);
    if (f.type === 'histogram' && !/_(bucket|sum|count)$/.test(name)) throw new ParseError(`line ${line}: histogram sample '${name}' without _bucket/_sum/_count`);
    if (name.endsWith('_bucket') && f.type === 'histogram' && labels['le'] === undefined) throw new ParseError(`line ${line}: bucket without 'le'`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function seriesKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort());
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const k = seriesKey(s.labels);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) g.buckets.push([parseValue(s.labels['le'] as string, 0), s.value]);
    else if (s.name === `${f.name}_sum`) g.sum = s.value;
    else if (s.name === `${f.name}_count`) g.count = s.value;
  }
  for (const [k, g] of groups) {
    if (g.count === undefined || g.sum === undefined) throw new ParseError(`${f.name}${k}: missing _sum or _count`);
    if (g.buckets.length === 0) throw new ParseError(`${f.name}${k}: no buckets`);
    for (let i = 1; i < g.buckets.length; i++) {
      const [prevLe, prevN] = g.buckets[i - 1] as [number, number];
      const [le, n] = g.buckets[i] as [number, number];
      if (!(le > prevLe)) throw new ParseError(`${f.name}${k}: buckets not in increasing 'le' order`);
      if (n < prevN) throw new ParseError(`${f.name}${k}: bucket counts not cumulative`);
    }
    const last = g.buckets[g.buckets.length - 1] as [number, number];
    if (last[0] !== Infinity) throw new ParseError(`${f.name}${k}: no le="+Inf" bucket`);
    if (last[1] !== g.count) throw new ParseError(`${f.name}${k}: +Inf bucket ${last[1]} != _count ${g.count}`);
  }
}

/** The value of one sample, matching the given labels exactly (apart from ones not named). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
