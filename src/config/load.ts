// Builds a validated Config from, in increasing precedence: the schema's
// defaults, one JSON file, UNDERSTUDY_* environment variables, and command-line
// overrides. Every problem is reported at once, each naming the key, what is
// wrong and what is allowed, so an operator fixes a file in one pass.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { UnderstudyError } from '../errors.ts';
import { MAX_RECORD_BYTES } from '../log/log-limits.ts';
import { configSchema, type Config } from './schema.ts';
import { suggest } from './suggest.ts';

type AnySchema = z.core.$ZodType;
type Path = ReadonlyArray<string | number>;

/** Peels default/optional wrappers to reach the schema that describes the value itself. */
function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  for (let i = 0; i < 8; i++) {
    const def = cur._zod.def as { type: string; innerType?: AnySchema };
    if ((def.type === 'default' || def.type === 'optional' || def.type === 'nullable') && def.innerType) cur = def.innerType;
    else break;
  }
  return cur;
}

function shapeOf(s: AnySchema): Record<string, AnySchema> | undefined {
  const def = unwrap(s)._zod.def as { type: string; shape?: Record<string, AnySchema> };
  return def.type === 'object' ? def.shape : undefined;
}

/** The schema at a path of the config (array indices step into the element schema). */
function schemaAt(path: Path): AnySchema | undefined {
  let cur: AnySchema | undefined = configSchema;
  for (const seg of path) {
    if (!cur) return undefined;
    const def = unwrap(cur)._zod.def as { type: string; element?: AnySchema };
    if (typeof seg === 'number') cur = def.type === 'array' ? def.element : undefined;
    else cur = shapeOf(cur)?.[seg];
  }
  return cur;
}

export type LeafKind = 'string' | 'number' | 'boolean' | 'enum' | 'json';
export interface ConfigLeaf {
  readonly path: string; // dotted, e.g. "timing.heartbeatIntervalMs"
  readonly kind: LeafKind;
  readonly env: string; // e.g. UNDERSTUDY_TIMING_HEARTBEAT_INTERVAL_MS
  readonly options?: readonly string[];
}

function envName(path: readonly string[]): string {
  return 'UNDERSTUDY_' + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/** Every settable key of the config, with its environment variable name. */
export function configLeaves(): ConfigLeaf[] {
  const out: ConfigLeaf[] = [];
  const walk = (s: AnySchema, path: string[]): void => {
    const shape = shapeOf(s);
    if (shape) {
      for (const [k, v] of Object.entries(shape)) walk(v, [...path, k]);
      return;
    }
    const def = unwrap(s)._zod.def as { type: string; entries?: Record<string, string> };
    const kind: LeafKind =
      def.type === 'number' ? 'number' : def.type === 'boolean' ? 'boolean' : def.type === 'enum' ? 'enum' : def.type === 'string' ? 'string' : 'json';
    const leaf: ConfigLeaf = { path: path.join('.'), kind, env: envName(path), ...(def.entries ? { options: Object.values(def.entries) } : {}) };
    out.push(leaf);
  };
  walk(configSchema, []);
  return out;
}

/** Environment variables read by the launcher itself rather than mapped onto keys. */
export const RESERVED_ENV = ['UNDERSTUDY_CONFIG', 'UNDERSTUDY_TEST', 'UNDERSTUDY_ADMIN_URL'] as const;

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function valueAt(input: unknown, path: Path): unknown {
  let cur: unknown = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

export function formatPath(path: Path): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s ? `.${seg}` : seg;
  return s || '(top level)';
}

/** One human sentence per zod issue: which key, what is wrong, what is allowed. */
function explainIssue(issue: z.core.$ZodIssue, input: unknown): string[] {
  const where = formatPath(issue.path as Path);
  const got = describe(valueAt(input, issue.path as Path));
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = Object.keys(shapeOf(schemaAt(issue.path as Path) ?? configSchema) ?? {});
      return issue.keys.map((k) => {
        const key = formatPath([...(issue.path as Path), k]);
        const s = suggest(k, known);
        return `${key}: unknown key${s ? `; did you mean "${s}"?` : ''} (allowed here: ${known.join(', ')})`;
      });
    }
    case 'invalid_type':
      if (valueAt(input, issue.path as Path) === undefined) return [`${where}: is required (expected ${issue.expected})`];
      return [`${where}: expected ${issue.expected}, got ${got}`];
    case 'invalid_value':
      return [`${where}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${got})`];
    case 'too_small':
      if (issue.origin === 'array') return [`${where}: ${issue.message.startsWith('Too small') ? `needs at least ${String(issue.minimum)} item(s)` : issue.message}`];
      if (issue.origin === 'string') return [`${where}: ${issue.message.startsWith('Too small') ? `must be at least ${String(issue.minimum)} characters` : issue.message} (got ${got})`];
      return [`${where}: must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)} (got ${got})`];
    case 'too_big':
      if (issue.origin === 'array') return [`${where}: allows at most ${String(issue.maximum)} item(s)`];
      return [`${where}: must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)} (got ${got})`];
    case 'invalid_format':
      return [`${where}: ${issue.message} (got ${got})`];
    default:
      return [`${where}: ${issue.message} (got ${got})`];
  }
}

/** Rules that span several keys, checked only once each key is valid on its own. */
function crossChecks(c: Config): string[] {
  const problems: string[] = [];
  const ids = c.members.map((m) => m.id);
  const seen = new Set<string>();
  c.members.forEach((m, i) => {
    if (seen.has(m.id)) problems.push(`members[${i}].id: "${m.id}" appears twice; member ids must be unique`);
    seen.add(m.id);
    if (m.kind === 'data' && m.redisAddr === undefined)
      problems.push(`members[${i}].redisAddr: is required for a data member (where clients connect), e.g. "127.0.0.1:6379"`);
    if (m.kind === 'witness' && (m.redisAddr !== undefined || m.sentinelAddr !== undefined))
      problems.push(`members[${i}]: a witness holds no data and serves no clients; remove redisAddr and sentinelAddr`);
  });
  if (!ids.includes(c.nodeId)) problems.push(`nodeId: "${c.nodeId}" is not one of members (${ids.join(', ')})`);
  if (!c.members.some((m) => m.kind === 'data')) problems.push('members: needs at least one member of kind "data"');
  const addrs = new Map<string, string>();
  c.members.forEach((m, i) => {
    for (const k of ['peerAddr', 'redisAddr', 'sentinelAddr', 'adminAddr'] as const) {
      const a = m[k];
      if (a === undefined) continue;
      const prev = addrs.get(a);
      if (prev !== undefined) problems.push(`members[${i}].${k}: ${a} is already used by ${prev}; every address must be distinct`);
      else addrs.set(a, `members[${i}].${k}`);
    }
  });
  const t = c.timing;
  if (t.heartbeatIntervalMs * 2 > t.electionTimeoutMs)
    problems.push(
      `timing.electionTimeoutMs: must be at least 2 × timing.heartbeatIntervalMs (${t.heartbeatIntervalMs * 2}) so that one lost heartbeat does not start an election (got ${t.electionTimeoutMs})`,
    );
  if (t.ackTimeoutMs <= t.heartbeatIntervalMs)
    problems.push(`timing.ackTimeoutMs: must exceed timing.heartbeatIntervalMs (${t.heartbeatIntervalMs}); a secondary acknowledges at most once per heartbeat (got ${t.ackTimeoutMs})`);
  if (t.leaseMarginMs >= t.electionTimeoutMs)
    problems.push(`timing.leaseMarginMs: must be < timing.electionTimeoutMs (${t.electionTimeoutMs}); the read lease is their difference (got ${t.leaseMarginMs})`);
  const l = c.limits;
  if (l.maxValueBytes + 64 * 1024 > MAX_RECORD_BYTES)
    problems.push(
      `limits.maxValueBytes: must leave 64 KiB of a log record (MAX_RECORD_BYTES = ${MAX_RECORD_BYTES}) for the rest of the update, so at most ${MAX_RECORD_BYTES - 64 * 1024} (got ${l.maxValueBytes})`,
    );
  if (l.maxInFlightPerSecondary < l.maxUpdatesPerAppend)
    problems.push(`limits.maxInFlightPerSecondary: must be at least limits.maxUpdatesPerAppend (${l.maxUpdatesPerAppend}), or one append could never be sent (got ${l.maxInFlightPerSecondary})`);
  if (l.maxQueryBufferBytes < l.maxValueBytes + 64 * 1024)
    problems.push(`limits.maxQueryBufferBytes: must exceed limits.maxValueBytes by at least 64 KiB so that a command holding the largest value can arrive (got ${l.maxQueryBufferBytes}, maxValueBytes ${l.maxValueBytes})`);
  if (l.maxFrameBytes < l.maxValueBytes + 64 * 1024)
    problems.push(`limits.maxFrameBytes: must exceed limits.maxValueBytes by at least 64 KiB so that an update holding the largest value fits in a frame (got ${l.maxFrameBytes}, maxValueBytes ${l.maxValueBytes})`);
  if (l.maxFrameBytes < 2 * l.maxUpdateBytes + 64 * 1024)
    problems.push(`limits.maxFrameBytes: must be at least twice limits.maxUpdateBytes plus 64 KiB so that a gathered update and its encoding fit one frame (got ${l.maxFrameBytes}, maxUpdateBytes ${l.maxUpdateBytes}); lower maxUpdateBytes or raise maxFrameBytes`);
  return problems;
}

/** Validates a parsed config object; throws CONFIG_INVALID listing every problem. */
export function parseConfig(input: unknown, source = 'configuration'): Config {
  const r = configSchema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.flatMap((i) => explainIssue(i, input));
    throw configError(source, problems);
  }
  const problems = crossChecks(r.data);
  if (problems.length) throw configError(source, problems);
  return r.data;
}

function configError(source: string, problems: string[]): UnderstudyError {
  return new UnderstudyError('CONFIG_INVALID', `invalid ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { problems });
}

/** Converts a string from the environment or a flag to the type its key expects. */
function coerce(leaf: ConfigLeaf, raw: string, origin: string): unknown {
  switch (leaf.kind) {
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw configError(origin, [`${leaf.path}: expected a number, got ${JSON.stringify(raw)}`]);
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw configError(origin, [`${leaf.path}: expected true or false, got ${JSON.stringify(raw)}`]);
    case 'json':
      try {
        return JSON.parse(raw) as unknown;
      } catch (e) {
        throw configError(origin, [`${leaf.path}: expected JSON (${(e as Error).message})`]);
      }
    default:
      return raw;
  }
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.split('.');
  let cur = obj;
  for (const seg of segs.slice(0, -1)) {
    const next = cur[seg];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[seg] = {};
    cur = cur[seg] as Record<string, unknown>;
  }
  cur[segs[segs.length - 1]!] = value;
}

/** Reads the JSON config file; a missing file or bad JSON is a CONFIG_INVALID with the position. */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UnderstudyError('CONFIG_INVALID', `cannot read config file ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UnderstudyError('CONFIG_INVALID', `config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The keys set by UNDERSTUDY_* variables; a near-miss of a known variable is an error. */
export function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const leaves = configLeaves();
  const byEnv = new Map(leaves.map((l) => [l.env, l]));
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('UNDERSTUDY_') || raw === undefined) continue;
    if ((RESERVED_ENV as readonly string[]).includes(name)) continue;
    const leaf = byEnv.get(name);
    if (!leaf) {
      // Other programs may use UNDERSTUDY_-prefixed variables of their own; only a likely typo fails.
      const s = suggest(name, [...byEnv.keys()]);
      if (s) problems.push(`${name}: unknown variable; did you mean ${s}?`);
      continue;
    }
    out[leaf.path] = coerce(leaf, raw, 'environment');
  }
  if (problems.length) throw configError('environment', problems);
  return out;
}

/** Parses `key.path=value` overrides (the CLI's repeatable --set). */
export function setOverrides(pairs: readonly string[]): Record<string, unknown> {
  const leaves = configLeaves();
  const byPath = new Map(leaves.map((l) => [l.path, l]));
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      problems.push(`--set ${pair}: expected key=value, e.g. --set timing.heartbeatIntervalMs=50`);
      continue;
    }
    const path = pair.slice(0, eq);
    const leaf = byPath.get(path);
    if (!leaf) {
      const s = suggest(path, [...byPath.keys()]);
      problems.push(`--set ${path}: unknown key${s ? `; did you mean "${s}"?` : ''} (keys: ${[...byPath.keys()].join(', ')})`);
      continue;
    }
    out[path] = coerce(leaf, pair.slice(eq + 1), 'command line');
  }
  if (problems.length) throw configError('command line', problems);
  return out;
}

export interface LoadConfigOptions {
  /** JSON config file (lowest precedence after defaults). */
  readonly file?: string;
  /** Environment, normally process.env (overrides the file). */
  readonly env?: NodeJS.ProcessEnv;
  /** Dotted key → value from command-line flags (highest precedence). */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** defaults < file < environment < flags, then one validation over the merged result. */
export function loadConfig(opts: LoadConfigOptions): Config {
  const base = opts.file !== undefined ? readConfigFile(opts.file) : {};
  if (base === null || typeof base !== 'object' || Array.isArray(base))
    throw configError(opts.file ?? 'configuration', ['(top level): must be a JSON object']);
  const merged = structuredClone(base) as Record<string, unknown>;
  const layers = [opts.env ? envOverrides(opts.env) : {}, opts.overrides ?? {}];
  for (const layer of layers) for (const [path, v] of Object.entries(layer)) if (v !== undefined) setPath(merged, path, v);
  const sources = [opts.file, opts.env && 'environment', opts.overrides && Object.keys(opts.overrides).length ? 'flags' : undefined].filter(Boolean);
  return parseConfig(merged, `configuration (${sources.join(' + ') || 'defaults'})`);
}
