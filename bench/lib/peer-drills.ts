// The failover drill for the systems users would pick instead of understudy,
// shaped like understudy's own (bench/lib/drill.ts): a steady write load from
// FAILOVER_WORKERS closed-loop writers, kill -9 of the leader/primary, the time
// from the kill to the first acknowledged write on its successor, the killed
// process restarted and caught up, then every acknowledged write read back
// (lost = acknowledged but missing or different). Writes whose outcome the
// client never learned are counted apart and never as lost.
//
// - etcd: 3 members, puts through the JSON gateway (/v3/kv/put).
// - Redis: primary + 2 replicas (appendonly yes, appendfsync always) watched by
//   3 Sentinels; writers find the primary through the Sentinels (ioredis in
//   Sentinel mode) and each write is SET then WAIT 1.
//
// Every process is started through common.ts on 127.0.0.1 and killed by its
// PID only; every wait is bounded in time and every loop in count and time.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { freePorts, lostWrites, sleep, waitFor } from '../../test/integration/harness.ts';
import { cell, START_TIMEOUT_MS, startProcess, stopProcess, tempDir } from './common.ts';
import { FAILOVER_WORKERS } from './drill.ts';
import { etcdMemberArgs } from './peers.ts';

// ------------------------------------------------------------------ limits

/** Load before each kill (ms) and after the first write on the new leader/primary (ms): as in understudy's drill. */
const PRE_KILL_LOAD_MS = 1000;
const POST_FIRST_WRITE_LOAD_MS = 500;
/**
 * A drill whose first write on a new leader/primary takes longer than this records none (ms);
 * writers start no write later than this after the kill.
 */
const FIRST_WRITE_LIMIT_MS = 15_000;
/** One HTTP request or one Redis command is abandoned after this long (ms): the client timeout. */
const REQUEST_TIMEOUT_MS = 1000;
/** A restarted process must be back in the cluster and caught up within this long (ms). */
const REJOIN_TIMEOUT_MS = 30_000;
/** The survivors must agree on the new leader/primary within this long of the load's end (ms). */
const SETTLE_TIMEOUT_MS = 20_000;
/** Pause after a refused or failed write before the next attempt (ms), so a writer never spins. */
const RETRY_BACKOFF_MS = 20;
/** Upper bound on the loop iterations of one writer in one drill (the loop is bounded by time too). */
const MAX_ITERATIONS_PER_WRITER = 1_000_000;
/** Admin requests (status, INFO, SENTINEL …) (ms). */
const ADMIN_TIMEOUT_MS = 2000;
/** Reading acknowledged writes back: one request (ms). */
const READ_BACK_TIMEOUT_MS = 10_000;

// etcd
/**
 * A put not answered within this long is sent again, same key and value, to the next live
 * member, while the earlier request stays pending (ms). A put sent to a follower just before or
 * after the leader dies is forwarded to the dead leader and stays unanswered until the client's
 * timeout; without this, each writer would sit out a whole REQUEST_TIMEOUT_MS and the drill
 * would measure that timeout instead of etcd's election. Re-sending the same key and value
 * cannot change what the read-back sees.
 */
const ETCD_RESEND_AFTER_MS = 50;
/** A put not acknowledged by any of its requests within this long is abandoned: outcome unknown (ms). */
const ETCD_PUT_GIVE_UP_MS = 5000;
/** Requests per put, at most (ETCD_PUT_GIVE_UP_MS / the shorter of the resend and backoff pauses, with room). */
const ETCD_MAX_REQUESTS_PER_PUT = 300;
const ETCD_MEMBERS = 3;

// Redis + Sentinel
const SENTINEL_MASTER_NAME = 'bench';
const SENTINEL_QUORUM = 2;
const SENTINEL_FAILOVER_TIMEOUT_MS = 3000;
const SENTINEL_PARALLEL_SYNCS = 1;
/**
 * Replicas a write must reach before it counts as acknowledged. WAIT 2 cannot be answered while
 * one of the two replicas is dead, i.e. for the whole failover and after it until the old
 * primary is back; WAIT 1 is the most that can be asked of the survivors, and it makes the
 * write durable on 2 of 3 nodes: the same majority an etcd put needs.
 */
const REDIS_WAIT_REPLICAS = 1;
/** WAIT's own timeout (ms); a WAIT answering fewer than REDIS_WAIT_REPLICAS leaves the write unacknowledged. */
const REDIS_WAIT_TIMEOUT_MS = 1000;
/** ioredis reconnects (to the Sentinels, then to the primary they name) at this interval (ms). */
const REDIS_RECONNECT_MS = 50;
const REDIS_NODES = 3;
const SENTINELS = 3;

// ------------------------------------------------------------------ results

export interface PeerDrillResult {
  /** Kill → first acknowledged write on the new leader/primary (ms); Infinity when none came within FIRST_WRITE_LIMIT_MS. */
  killToFirstWriteMs: number;
  /** Writes acknowledged to the client during the drill. */
  acked: number;
  /** Writes the client gave up on without an acknowledgment (refused, timed out, or unconfirmed); never counted as lost. */
  unknown: number;
  /** Acknowledged writes missing or different when read back after the killed process rejoined. */
  lost: number;
}

/** What the peer drills measure, for the notes under the table. */
export const PEER_DRILL_NOTES: readonly string[] = [
  `Peer failover drills: ${FAILOVER_WORKERS} closed-loop writers, kill -9 of the leader/primary after ${PRE_KILL_LOAD_MS / 1000} s of load, load until ${POST_FIRST_WRITE_LOAD_MS} ms after the first acknowledged write on its successor; the killed process is restarted and caught up, then every acknowledged write is read back from the new leader/primary. Client timeout ${REQUEST_TIMEOUT_MS} ms per request.`,
  `etcd: each writer sends its puts to one member (followers forward to the leader) and moves to the next live member on an error; a put unanswered after ${ETCD_RESEND_AFTER_MS} ms is sent again (same key and value) to the next live member, the earlier request left pending (a follower that still takes the dead leader for alive forwards puts to it and neither answers nor refuses them until the client's timeout), so the figure's resolution is about ${ETCD_RESEND_AFTER_MS} ms; a put no request acknowledged within ${ETCD_PUT_GIVE_UP_MS / 1000} s counts as not acknowledged. Acknowledged = HTTP 200 with a response header. The first write on the new leader is the first put acknowledged after the kill whose header carries a Raft term above the killed leader's: nothing can commit after a leader dies until a new leader commits in its own term.`,
  `Redis + Sentinel: writers use ioredis in Sentinel mode (it asks the Sentinels for the primary and checks its role); each write is SET then WAIT ${REDIS_WAIT_REPLICAS} ${REDIS_WAIT_TIMEOUT_MS}, acknowledged only when WAIT answers ≥ ${REDIS_WAIT_REPLICAS}. WAIT ${REDIS_WAIT_REPLICAS}, not WAIT 2: with one node dead WAIT 2 can never be satisfied, and WAIT ${REDIS_WAIT_REPLICAS} keeps each acknowledged write on 2 of 3 nodes, the majority an etcd put needs too. The first write on the new primary is the first acknowledged write after the kill on a connection to another node. No write is sent while a client has no primary to send it to (it is asking the Sentinels or reconnecting), so "not acknowledged" counts only writes that were sent. The old primary is restarted as a replica of the new one.`,
];

/** The header of the table that peerDrillRows fills (the understudy drill table's columns). */
export const PEER_DRILL_TABLE_HEADER: readonly string[] = ['| measure | median (min–max) |', '| --- | --- |'];

/** Markdown rows for one system's drills, in the understudy drill table's style: "median (min–max)". */
export function peerDrillRows(label: string, rs: PeerDrillResult[]): string[] {
  const ms = (x: number): string => x.toFixed(0);
  const firsts = rs.map((r) => r.killToFirstWriteMs).filter((x) => Number.isFinite(x));
  const rows = [
    `| ${label}: kill → first acknowledged write on the new leader/primary, ms | ${cell(firsts, ms)} |`,
    `| ${label}: acknowledged writes per drill | ${cell(rs.map((r) => r.acked), ms)} |`,
    `| ${label}: acknowledged writes lost (all ${rs.length} drills) | ${rs.reduce((a, r) => a + r.lost, 0)} |`,
    `| ${label}: writes not acknowledged (refused, timed out or unconfirmed; all drills) | ${rs.reduce((a, r) => a + r.unknown, 0)} |`,
  ];
  if (firsts.length < rs.length) rows.push(`| ${label}: drills with no acknowledged write on a new leader/primary within ${FIRST_WRITE_LIMIT_MS / 1000} s | ${rs.length - firsts.length} |`);
  return rows;
}

type Log = (s: string) => void;

/** Kill → first write on the successor, or Infinity when it came later than FIRST_WRITE_LIMIT_MS (or never). */
function firstWrite(killAt: number, firstNewAt: number): number {
  const ms = firstNewAt - killAt;
  return ms <= FIRST_WRITE_LIMIT_MS ? ms : Infinity;
}

/** Counts failed requests by kind (a socket error's code, "no answer within …", an error reply) to report how a system turned writes away. */
class FailureKinds {
  private readonly counts = new Map<string, number>();
  add(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }
  toString(): string {
    return this.counts.size ? [...this.counts].map(([k, n]) => `${n}× ${k}`).join(', ') : 'none';
  }
}

function errorKind(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string } };
  // fetch's AbortSignal.timeout: the client gave up waiting.
  if (err.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS} ms`;
  // A socket error's code, or the first sentence of the message.
  return err.cause?.code ?? err.message?.split(/\n|\. /)[0] ?? String(e);
}

// ------------------------------------------------------------------ etcd

interface EtcdMember {
  readonly name: string;
  readonly url: string;
  readonly args: readonly string[];
  readonly logBase: string;
  /** Raft member id (hex string as the JSON gateway prints it), learned from its status. */
  id: string;
  /** Undefined while killed. */
  child: ChildProcess | undefined;
  starts: number;
}

/** The JSON gateway prints 64-bit integers as decimal strings. */
interface EtcdHeader {
  member_id?: string;
  revision?: string;
  raft_term?: string;
}
interface EtcdStatus {
  header?: EtcdHeader;
  leader?: string;
  raftIndex?: string;
  raftTerm?: string;
  raftAppliedIndex?: string;
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

async function etcdPost<T>(url: string, path: string, body: unknown, timeoutMs: number): Promise<{ status: number; body: T }> {
  const r = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, body: (await r.json()) as T };
}

async function etcdStatus(m: EtcdMember): Promise<EtcdStatus | undefined> {
  try {
    const r = await etcdPost<EtcdStatus>(m.url, '/v3/maintenance/status', {}, ADMIN_TIMEOUT_MS);
    return r.status === 200 ? r.body : undefined;
  } catch {
    return undefined;
  }
}

function startEtcdMember(m: EtcdMember): void {
  m.starts++;
  // A new log file per start: startProcess truncates the file it is given.
  const c = startProcess('etcd', [...m.args], `${m.logBase}.${m.starts}.log`);
  m.child = c;
  // A member that exits on its own is no longer live either.
  c.once('exit', () => {
    if (m.child === c) m.child = undefined;
  });
}

async function stopEtcdMember(m: EtcdMember): Promise<void> {
  const c = m.child;
  m.child = undefined;
  if (c) await stopProcess(c);
}

/** A fresh 3-member etcd cluster, with the given Raft timing or etcd's defaults. */
async function startEtcdCluster(heartbeatMs: number | undefined, electionMs: number | undefined): Promise<EtcdMember[]> {
  const dir = tempDir('understudy-bench-etcd-drill-');
  const ports = await freePorts(2 * ETCD_MEMBERS);
  const idx = Array.from({ length: ETCD_MEMBERS }, (_, i) => i);
  const peer = (i: number): string => `http://127.0.0.1:${ports[ETCD_MEMBERS + i]}`;
  const client = (i: number): string => `http://127.0.0.1:${ports[i]}`;
  const initial = idx.map((i) => `e${i}=${peer(i)}`).join(',');
  const token = `drill-${randomBytes(4).toString('hex')}`;
  const timing = [...(heartbeatMs === undefined ? [] : ['--heartbeat-interval', String(heartbeatMs)]), ...(electionMs === undefined ? [] : ['--election-timeout', String(electionMs)])];
  const members: EtcdMember[] = idx.map((i) => ({
    name: `e${i}`,
    url: client(i),
    // A restart reuses these flags: with its data directory in place, etcd ignores the
    // --initial-* flags and rejoins as the member it was.
    args: etcdMemberArgs({ name: `e${i}`, dataDir: join(dir, `e${i}`), clientUrl: client(i), peerUrl: peer(i), initialCluster: initial, token, extra: timing }),
    logBase: join(dir, `e${i}`),
    id: '',
    child: undefined,
    starts: 0,
  }));
  for (const m of members) startEtcdMember(m);
  try {
    await waitFor('every etcd member to answer its status', START_TIMEOUT_MS, async () => {
      const st = await Promise.all(members.map(etcdStatus));
      if (!st.every((s) => s?.header?.member_id)) return undefined;
      st.forEach((s, i) => (members[i]!.id = s!.header!.member_id!));
      return true;
    });
    await etcdAgreedLeader(members, START_TIMEOUT_MS);
  } catch (e) {
    for (const m of members) await stopEtcdMember(m);
    throw e;
  }
  return members;
}

/** The leader every running member names, with its status. */
async function etcdAgreedLeader(members: EtcdMember[], timeoutMs: number, not?: EtcdMember): Promise<{ leader: EtcdMember; status: EtcdStatus }> {
  return waitFor(`an etcd leader${not ? ` other than ${not.name}` : ''} named by every running member`, timeoutMs, async () => {
    const running = members.filter((m) => m.child);
    const st = await Promise.all(running.map(etcdStatus));
    const lead = st[0]?.leader;
    if (!lead || lead === '0' || !st.every((s) => s?.leader === lead)) return undefined;
    const i = running.findIndex((m) => m.id === lead);
    if (i < 0 || running[i] === not) return undefined;
    return { leader: running[i]!, status: st[i]! };
  });
}

interface PutAck {
  readonly at: number;
  readonly term: number;
  readonly member: number;
}

/** One put request: its acknowledgment, or undefined after recording why it failed. */
async function etcdPutOnce(url: string, body: string, failures: FailureKinds): Promise<EtcdHeader | undefined> {
  try {
    const r = await fetch(`${url}/v3/kv/put`, { method: 'POST', body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const j = (await r.json()) as { header?: EtcdHeader; error?: string; message?: string };
    if (r.status === 200 && j.header?.revision) return j.header;
    failures.add(`HTTP ${r.status} ${j.error ?? j.message ?? ''}`.trim());
  } catch (e) {
    failures.add(errorKind(e));
  }
  return undefined;
}

/** One drill's put load: the members, why requests failed, and the requests not answered yet. */
interface EtcdLoad {
  readonly members: EtcdMember[];
  readonly failures: FailureKinds;
  readonly inflight: Set<Promise<void>>;
}

/**
 * One put, retried until a request acknowledges it or ETCD_PUT_GIVE_UP_MS passes: on an error
 * the next live member is tried after RETRY_BACKOFF_MS; a request unanswered after
 * ETCD_RESEND_AFTER_MS is left pending and the put is sent to the next live member as well.
 * `cursor` is the member this writer sends to; it moves to whichever member acknowledged.
 */
async function etcdPut(load: EtcdLoad, cursor: { i: number }, key: string, value: string): Promise<PutAck | undefined> {
  const { members, failures, inflight } = load;
  const body = JSON.stringify({ key: b64(key), value: b64(value) });
  const giveUpAt = performance.now() + ETCD_PUT_GIVE_UP_MS;
  let ack: PutAck | undefined;
  let signalAck!: () => void;
  const acked = new Promise<void>((r) => (signalAck = r));
  const pending: Promise<void>[] = [];
  const nextLive = (from: number): number | undefined => {
    for (let k = 0; k < members.length; k++) {
      const i = (from + k) % members.length;
      if (members[i]!.child) return i;
    }
    return undefined;
  };
  for (let n = 0; n < ETCD_MAX_REQUESTS_PER_PUT && performance.now() < giveUpAt; n++) {
    const target = nextLive(cursor.i);
    if (target === undefined) {
      await sleep(RETRY_BACKOFF_MS);
      continue;
    }
    let answered = false;
    const req = etcdPutOnce(members[target]!.url, body, failures).then((h) => {
      answered = true;
      if (h && !ack) {
        ack = { at: performance.now(), term: Number(h.raft_term ?? 0), member: target };
        signalAck();
      }
    });
    pending.push(req);
    inflight.add(req);
    void req.then(() => inflight.delete(req));
    await Promise.race([acked, req, sleep(ETCD_RESEND_AFTER_MS)]);
    if (ack) break;
    cursor.i = target + 1;
    if (answered) await sleep(RETRY_BACKOFF_MS);
  }
  // Given up, or acknowledged: requests still pending end within REQUEST_TIMEOUT_MS; one of them
  // may yet acknowledge the put, which makes its outcome known.
  if (!ack) await Promise.race([acked, Promise.all(pending)]);
  if (ack) cursor.i = ack.member;
  return ack;
}

/** Every key under `prefix`, read linearizably from `url`. */
async function etcdReadPrefix(url: string, prefix: string): Promise<Map<string, string>> {
  const start = Buffer.from(prefix);
  const end = Buffer.from(start);
  end[end.length - 1]!++; // the prefix ends in '/', so no carry
  const r = await etcdPost<{ kvs?: Array<{ key: string; value?: string }>; more?: boolean }>(url, '/v3/kv/range', { key: b64(start), range_end: b64(end) }, READ_BACK_TIMEOUT_MS);
  if (r.status !== 200) throw new Error(`etcd range ${prefix}: HTTP ${r.status}`);
  if (r.body.more) throw new Error(`etcd range ${prefix}: truncated`);
  const out = new Map<string, string>();
  for (const kv of r.body.kvs ?? []) out.set(Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value ?? '', 'base64').toString());
  return out;
}

async function etcdDrillOnce(members: EtcdMember[], rep: number, label: string, log: Log): Promise<PeerDrillResult> {
  const acked = new Map<string, string>();
  const failures = new FailureKinds();
  const putLoad: EtcdLoad = { members, failures, inflight: new Set() };
  let unknown = 0;
  let killAt = Infinity;
  let termAtKill = Infinity;
  let firstNewAt = Infinity;
  let stopAt = Infinity;
  const writer = async (w: number): Promise<void> => {
    const cursor = { i: w % members.length };
    for (let i = 0; i < MAX_ITERATIONS_PER_WRITER && performance.now() < Math.min(stopAt, killAt + FIRST_WRITE_LIMIT_MS); i++) {
      const k = `fo${rep}/${w}/${i}`;
      const v = randomBytes(6).toString('hex');
      const a = await etcdPut(putLoad, cursor, k, v);
      if (!a) {
        unknown++;
        continue;
      }
      acked.set(k, v);
      if (a.at > killAt && a.term > termAtKill && firstNewAt === Infinity) {
        firstNewAt = a.at;
        stopAt = a.at + POST_FIRST_WRITE_LOAD_MS;
      }
    }
  };
  const load = Promise.all(Array.from({ length: FAILOVER_WORKERS }, (_, w) => writer(w)));
  let old: EtcdMember;
  try {
    await sleep(PRE_KILL_LOAD_MS);
    const { leader, status } = await etcdAgreedLeader(members, SETTLE_TIMEOUT_MS);
    old = leader;
    termAtKill = Number(status.raftTerm ?? status.header?.raft_term);
    killAt = performance.now();
    await stopEtcdMember(old);
  } finally {
    // No kill (an error above): stop the writers now.
    if (killAt === Infinity) stopAt = 0;
    await load;
  }
  // Requests left pending by puts another request acknowledged end within REQUEST_TIMEOUT_MS:
  // wait for them, so the failure counts are complete and none runs into the next drill.
  await Promise.race([Promise.all(putLoad.inflight), sleep(REQUEST_TIMEOUT_MS + ADMIN_TIMEOUT_MS)]);
  const failed = failures.toString();
  const { leader, status } = await etcdAgreedLeader(members, SETTLE_TIMEOUT_MS, old);
  const index = Number(status.raftIndex);
  startEtcdMember(old);
  await waitFor(`${old.name} to rejoin under ${leader.name} and apply index ${index}`, REJOIN_TIMEOUT_MS, async () => {
    const s = await etcdStatus(old);
    return s && s.leader === leader.id && Number(s.raftAppliedIndex) >= index ? true : undefined;
  });
  const stored = new Map<string, string>();
  for (let w = 0; w < FAILOVER_WORKERS; w++) for (const [k, v] of await etcdReadPrefix(leader.url, `fo${rep}/${w}/`)) stored.set(k, v);
  const lost = [...acked].filter(([k, v]) => stored.get(k) !== v).length;
  const r: PeerDrillResult = { killToFirstWriteMs: firstWrite(killAt, firstNewAt), acked: acked.size, unknown, lost };
  log(
    `  ${label} drill ${rep}: leader ${old.name} (term ${termAtKill}) killed → ${leader.name} (term ${status.raftTerm}); first put committed in a later term after ${r.killToFirstWriteMs.toFixed(0)} ms; ` +
      `${r.acked} acked, ${r.unknown} not acknowledged, ${r.lost} lost; failed requests: ${failed}`,
  );
  return r;
}

/**
 * etcd's failover drill: a fresh 3-member cluster (with --heartbeat-interval and
 * --election-timeout when given, etcd's defaults otherwise), `reps` kills of its leader.
 */
export async function etcdFailoverDrill(opts: { heartbeatMs?: number; electionMs?: number; reps: number; log?: (s: string) => void }): Promise<PeerDrillResult[]> {
  const log = opts.log ?? (() => undefined);
  const label = opts.heartbeatMs === undefined && opts.electionMs === undefined ? 'etcd (default timing)' : `etcd (heartbeat ${opts.heartbeatMs ?? 'default'} / election ${opts.electionMs ?? 'default'} ms)`;
  log(`starting a 3-member ${label} for its failover drill…`);
  const members = await startEtcdCluster(opts.heartbeatMs, opts.electionMs);
  const results: PeerDrillResult[] = [];
  try {
    for (let rep = 1; rep <= opts.reps; rep++) results.push(await etcdDrillOnce(members, rep, label, log));
  } finally {
    for (const m of members) await stopEtcdMember(m);
  }
  return results;
}

// ------------------------------------------------------------------ Redis + Sentinel

interface RedisNode {
  readonly name: string;
  readonly port: number;
  /** Flags every start shares (a start as a replica adds --replicaof). */
  readonly args: readonly string[];
  readonly logBase: string;
  child: ChildProcess | undefined;
  starts: number;
}

interface SentinelSet {
  readonly nodes: RedisNode[];
  readonly sentinelPorts: number[];
  readonly sentinelProcs: ChildProcess[];
  /** One admin connection per Sentinel. */
  readonly admins: Redis[];
}

function adminClient(port: number): Redis {
  const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: ADMIN_TIMEOUT_MS, connectTimeout: ADMIN_TIMEOUT_MS, retryStrategy: () => 100 });
  c.on('error', () => undefined);
  return c;
}

function startRedisNode(n: RedisNode, replicaOf: number | undefined): void {
  n.starts++;
  const args = [...n.args, ...(replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(replicaOf)])];
  const c = startProcess('redis-server', args, `${n.logBase}.${n.starts}.log`);
  n.child = c;
  c.once('exit', () => {
    if (n.child === c) n.child = undefined;
  });
}

async function stopRedisNode(n: RedisNode): Promise<void> {
  const c = n.child;
  n.child = undefined;
  if (c) await stopProcess(c);
}

/** INFO replication of the node on `port`, as key → value. */
async function replicationInfo(port: number): Promise<Map<string, string>> {
  const c = adminClient(port);
  try {
    const text = await c.info('replication');
    return new Map(text.split('\r\n').flatMap((l) => (l.includes(':') ? [[l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)] as [string, string]] : [])));
  } finally {
    c.disconnect();
  }
}

/** A primary on `port` with every other node an online replica. */
async function primaryWithOnlineReplicas(port: number): Promise<true | undefined> {
  const info = await replicationInfo(port);
  if (info.get('role') !== 'master') return undefined;
  const online = [...info].filter(([k, v]) => /^slave\d+$/.test(k) && v.includes('state=online')).length;
  return online === REDIS_NODES - 1 ? true : undefined;
}

/** A flat [k1, v1, k2, v2, …] reply as an object. */
function fields(reply: unknown): Record<string, string> {
  const a = reply as string[];
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < a.length; i += 2) o[a[i]!] = a[i + 1]!;
  return o;
}

/** The primary's port as every Sentinel names it (undefined while they disagree). */
async function sentinelsPrimary(s: SentinelSet): Promise<number | undefined> {
  const ports = await Promise.all(s.admins.map(async (a) => Number(((await a.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME)) as string[])[1])));
  return ports.every((p) => p === ports[0]) ? ports[0] : undefined;
}

/**
 * Every Sentinel names `primaryPort`, sees it as a plain master (no failover in progress, not
 * down) with every other node a reachable replica and the other Sentinels, and the quorum
 * check passes: ready for the next kill.
 */
async function sentinelsSteady(s: SentinelSet, primaryPort: number): Promise<true | undefined> {
  for (const a of s.admins) {
    const m = fields(await a.call('SENTINEL', 'MASTER', SENTINEL_MASTER_NAME));
    if (Number(m['port']) !== primaryPort || m['flags'] !== 'master') return undefined;
    if (Number(m['num-slaves']) !== REDIS_NODES - 1 || Number(m['num-other-sentinels']) !== SENTINELS - 1) return undefined;
    const replicas = ((await a.call('SENTINEL', 'REPLICAS', SENTINEL_MASTER_NAME)) as unknown[]).map(fields);
    if (!replicas.every((r) => r['flags'] === 'slave')) return undefined;
  }
  const ok = (await s.admins[0]!.call('SENTINEL', 'CKQUORUM', SENTINEL_MASTER_NAME)) as string;
  return ok.startsWith('OK') ? true : undefined;
}

async function startSentinelSet(downAfterMs: number): Promise<SentinelSet> {
  const dir = tempDir('understudy-bench-sentinel-drill-');
  const ports = await freePorts(REDIS_NODES + SENTINELS);
  const nodes: RedisNode[] = Array.from({ length: REDIS_NODES }, (_, i) => {
    const d = join(dir, `r${i}`);
    mkdirSync(d);
    return {
      name: `r${i}`,
      port: ports[i]!,
      args: ['--port', String(ports[i]), '--bind', '127.0.0.1', '--dir', d, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
      logBase: join(dir, `r${i}`),
      child: undefined,
      starts: 0,
    };
  });
  const sentinelPorts = ports.slice(REDIS_NODES);
  const s: SentinelSet = { nodes, sentinelPorts, sentinelProcs: [], admins: sentinelPorts.map(adminClient) };
  try {
    nodes.forEach((n, i) => startRedisNode(n, i === 0 ? undefined : nodes[0]!.port));
    await waitFor('a Redis primary with 2 online replicas', START_TIMEOUT_MS, () => primaryWithOnlineReplicas(nodes[0]!.port));
    sentinelPorts.forEach((port, i) => {
      // Sentinel rewrites its configuration file, so each has its own.
      const conf = join(dir, `sentinel${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${nodes[0]!.port} ${SENTINEL_QUORUM}`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${downAfterMs}`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${SENTINEL_FAILOVER_TIMEOUT_MS}`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} ${SENTINEL_PARALLEL_SYNCS}`,
          '',
        ].join('\n'),
      );
      s.sentinelProcs.push(startProcess('redis-server', [conf, '--sentinel'], join(dir, `sentinel${i}.log`)));
    });
    await waitFor('3 Sentinels agreeing on the primary, its 2 replicas and each other', START_TIMEOUT_MS, () => sentinelsSteady(s, nodes[0]!.port));
  } catch (e) {
    await stopSentinelSet(s);
    throw e;
  }
  return s;
}

async function stopSentinelSet(s: SentinelSet): Promise<void> {
  for (const a of s.admins) a.disconnect();
  for (const p of s.sentinelProcs) await stopProcess(p);
  for (const n of s.nodes) await stopRedisNode(n);
}

/** A writer's client: ioredis in Sentinel mode, failing fast rather than queueing or retrying on its own. */
function sentinelWriter(s: SentinelSet): Redis {
  const c = new Redis({
    sentinels: s.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
    name: SENTINEL_MASTER_NAME,
    commandTimeout: REDIS_WAIT_TIMEOUT_MS + REQUEST_TIMEOUT_MS,
    connectTimeout: REQUEST_TIMEOUT_MS,
    sentinelCommandTimeout: REQUEST_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => REDIS_RECONNECT_MS,
    sentinelRetryStrategy: () => REDIS_RECONNECT_MS,
  });
  c.on('error', () => undefined);
  return c;
}

async function sentinelDrillOnce(s: SentinelSet, rep: number, label: string, log: Log): Promise<PeerDrillResult> {
  const oldPort = await waitFor('the Sentinels to agree on the primary', SETTLE_TIMEOUT_MS, () => sentinelsPrimary(s));
  const old = s.nodes.find((n) => n.port === oldPort);
  if (!old?.child) throw new Error(`the Sentinels name port ${oldPort}, not a running node of this drill`);
  const writers = Array.from({ length: FAILOVER_WORKERS }, () => sentinelWriter(s));
  const failures = new FailureKinds();
  try {
    await waitFor('the writers connected to the primary', START_TIMEOUT_MS, () => (writers.every((c) => c.status === 'ready') ? true : undefined));
    const acked = new Map<string, string>();
    let unknown = 0;
    let killAt = Infinity;
    let firstNewAt = Infinity;
    let stopAt = Infinity;
    let newPort: number | undefined;
    const writer = async (w: number, c: Redis): Promise<void> => {
      let i = 0;
      for (let n = 0; n < MAX_ITERATIONS_PER_WRITER && performance.now() < Math.min(stopAt, killAt + FIRST_WRITE_LIMIT_MS); n++) {
        // Not connected (the client is asking the Sentinels or reconnecting): nothing is sent,
        // so nothing is counted; try again shortly.
        if (c.status !== 'ready') {
          await sleep(RETRY_BACKOFF_MS);
          continue;
        }
        const k = `fo${rep}:${w}:${i++}`;
        const v = randomBytes(6).toString('hex');
        const port = c.stream.remotePort;
        try {
          const res = await c.pipeline().set(k, v).wait(REDIS_WAIT_REPLICAS, REDIS_WAIT_TIMEOUT_MS).exec();
          const [set, wait] = res ?? [];
          if (set?.[0] || wait?.[0]) throw set?.[0] ?? wait?.[0];
          if (set?.[1] !== 'OK') throw new Error(`SET answered ${String(set?.[1])}`);
          if (Number(wait?.[1]) < REDIS_WAIT_REPLICAS) throw new Error('WAIT answered 0 replicas');
        } catch (e) {
          failures.add(errorKind(e).replace(/^(READONLY|LOADING|MASTERDOWN)\b.*/, '$1'));
          unknown++;
          await sleep(RETRY_BACKOFF_MS);
          continue;
        }
        acked.set(k, v);
        const now = performance.now();
        if (now > killAt && port !== oldPort && firstNewAt === Infinity) {
          firstNewAt = now;
          newPort = port;
          stopAt = now + POST_FIRST_WRITE_LOAD_MS;
        }
      }
    };
    const load = Promise.all(writers.map((c, w) => writer(w, c)));
    try {
      await sleep(PRE_KILL_LOAD_MS);
      killAt = performance.now();
      await stopRedisNode(old);
    } finally {
      if (killAt === Infinity) stopAt = 0;
      await load;
    }
    const failed = failures.toString();
    const primary = await waitFor(`the Sentinels to agree on a primary other than ${old.name}`, SETTLE_TIMEOUT_MS, async () => {
      const p = await sentinelsPrimary(s);
      return p !== undefined && p !== oldPort ? p : undefined;
    });
    if (newPort !== undefined && newPort !== primary) throw new Error(`first write acknowledged on port ${newPort}, but the Sentinels name ${primary}`);
    const primaryNode = s.nodes.find((n) => n.port === primary)!;
    // Back as a replica of the new primary (as Sentinel would reconfigure it, without the wait
    // for its next INFO poll).
    startRedisNode(old, primary);
    await waitFor(`${old.name} back as an online replica of ${primaryNode.name}`, REJOIN_TIMEOUT_MS, () => primaryWithOnlineReplicas(primary));
    const reader = adminClient(primary);
    let lost: string[];
    try {
      lost = await lostWrites(reader, acked);
    } finally {
      reader.disconnect();
    }
    const r: PeerDrillResult = { killToFirstWriteMs: firstWrite(killAt, firstNewAt), acked: acked.size, unknown, lost: lost.length };
    log(
      `  ${label} drill ${rep}: primary ${old.name} killed → ${primaryNode.name}; first acknowledged write on it after ${r.killToFirstWriteMs.toFixed(0)} ms; ` +
        `${r.acked} acked, ${r.unknown} not acknowledged, ${r.lost} lost; failed writes: ${failed}`,
    );
    await waitFor('the Sentinels to settle on the new primary with 2 replicas', REJOIN_TIMEOUT_MS, () => sentinelsSteady(s, primary));
    return r;
  } finally {
    for (const c of writers) c.disconnect();
  }
}

/**
 * Redis Sentinel's failover drill: primary + 2 replicas (appendonly yes, appendfsync always),
 * 3 Sentinels (quorum 2, the given down-after-milliseconds), `reps` kills of the primary.
 */
export async function sentinelFailoverDrill(opts: { downAfterMs: number; reps: number; log?: (s: string) => void }): Promise<PeerDrillResult[]> {
  const log = opts.log ?? (() => undefined);
  const label = `Redis + Sentinel (down-after ${opts.downAfterMs} ms)`;
  log(`starting ${label}: primary + 2 replicas, 3 Sentinels, for its failover drill…`);
  const s = await startSentinelSet(opts.downAfterMs);
  const results: PeerDrillResult[] = [];
  try {
    for (let rep = 1; rep <= opts.reps; rep++) results.push(await sentinelDrillOnce(s, rep, label, log));
  } finally {
    await stopSentinelSet(s);
  }
  return results;
}
