// The nemesis: faults of real processes on separate hosts (test/netns/hosts.ts), each applied,
// held longer than the election timeout, and healed before the next. Network faults use only
// iproute2: a host's link down (isolated from everyone, clients included), blackhole routes
// inside the namespaces (a partition between nodes that clients still cross; one direction
// only for one-way loss) and tc netem on both ends of a veth. Everything applied is recorded
// in `undo`, so an interrupted run heals it on the way out (the namespaces go with close()).
import { execFileSync } from 'node:child_process';
import type { Prng } from '../../src/lib/prng.ts';
import { ELECTION_TIMEOUT_MS, NODE_START_TIMEOUT_MS, sleep, waitFor, type ProcessCluster } from '../integration/harness.ts';
import type { NetnsHosts } from '../netns/hosts.ts';
import type { TmpfsDisks } from './disk.ts';

export interface NemesisContext {
  readonly cluster: ProcessCluster;
  readonly hosts: NetnsHosts;
  readonly rng: Prng;
  /** How long a fault is held: longer than the nodes' election timeout. */
  readonly holdMs: number;
  readonly log: (line: string) => void;
  /** The nodes' tmpfs data directories, for disk-full. */
  readonly disks?: TmpfsDisks;
}

export interface Fault {
  readonly kind: FaultKind;
  /** What was done, e.g. "SIGSTOP n2 (primary) for 3000 ms". */
  readonly detail: string;
}

export const FAULT_KINDS = [
  'kill-one',
  'kill-two',
  'kill-all',
  'pause-primary',
  'pause-secondary',
  'isolate-primary',
  'primary-minority',
  'one-way',
  'bridge',
  'netem',
  'disk-full',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

function sh(argv: readonly string[]): void {
  execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Undo actions of faults in force, run in reverse by healAll(). */
const undo: Array<() => void> = [];

function applied(doIt: () => void, undoIt: () => void): void {
  doIt();
  undo.push(undoIt);
}

/** Heals every fault still in force (best effort: each undo runs even if another fails). */
export function healAll(): void {
  for (const u of undo.splice(0).reverse()) {
    try {
      u();
    } catch {
      // Already gone (its namespace or process ended).
    }
  }
}

// An interrupted run (Ctrl-C: the harness kills the nodes and exits) heals what is in force.
process.once('exit', healAll);

function indexOf(c: ProcessCluster, id: string): number {
  return c.specs.findIndex((s) => s.id === id);
}

/** Packets from host `from` to host `to` are dropped (a blackhole route in from's namespace). */
function dropRoute(h: NetnsHosts, from: number, to: number): void {
  const ns = h.namespace(from);
  const addr = `${h.addressOf(to)}/32`;
  applied(
    () => sh(['ip', '-n', ns, 'route', 'add', 'blackhole', addr]),
    () => sh(['ip', '-n', ns, 'route', 'del', 'blackhole', addr]),
  );
}

/** A root qdisc on both ends of host i's veth. */
function qdisc(h: NetnsHosts, i: number, args: readonly string[]): void {
  const outside = h.veth(i);
  const ns = h.namespace(i);
  applied(
    () => sh(['tc', 'qdisc', 'add', 'dev', outside, 'root', ...args]),
    () => sh(['tc', 'qdisc', 'del', 'dev', outside, 'root']),
  );
  applied(
    () => sh(['tc', '-n', ns, 'qdisc', 'add', 'dev', 'eth0', 'root', ...args]),
    () => sh(['tc', '-n', ns, 'qdisc', 'del', 'dev', 'eth0', 'root']),
  );
}

/**
 * Delay, jitter and loss with netem where the kernel has it; else (a kernel without sch_netem,
 * as in some containers) a token bucket slow enough that packets queue (delay varying with the
 * load) and are dropped past its latency bound. Returns which was used.
 */
function shape(h: NetnsHosts, i: number, netem: readonly string[], tbf: readonly string[]): 'netem' | 'tbf' {
  try {
    qdisc(h, i, netem);
    return 'netem';
  } catch (e) {
    healAll();
    if (!/unknown/i.test(String((e as { stderr?: unknown }).stderr ?? (e as Error).message))) throw e;
    qdisc(h, i, tbf);
    return 'tbf';
  }
}

/**
 * Starts a node again. Three nodes loading at once on a loaded 2-core machine can take longer
 * than the harness's start bound: a process that is still running then gets a second bound
 * before the fault counts as not recovered.
 */
export async function restart(c: ProcessCluster, id: string): Promise<void> {
  try {
    await c.start(id);
  } catch (e) {
    if (!c.isRunning(id)) throw e;
    await waitFor(`${id} to serve its admin API after a slow start`, NODE_START_TIMEOUT_MS, async () => (await c.statusOrNull(id)) ?? undefined);
  }
}

function pick<T>(rng: Prng, xs: readonly T[]): T {
  return xs[rng.int(0, xs.length - 1)]!;
}

/** Applies one fault of `kind`, holds it, heals it, and waits until a primary serves again. */
export async function runFault(kind: FaultKind, ctx: NemesisContext): Promise<Fault> {
  const { cluster: c, hosts: h, rng, holdMs } = ctx;
  const ids = c.specs.map((s) => s.id);
  const primary = await c.waitPrimary(ELECTION_TIMEOUT_MS * 2);
  const secondaries = ids.filter((id) => id !== primary);
  let detail: string;
  switch (kind) {
    case 'kill-one': {
      const id = pick(rng, ids);
      detail = `kill -9 ${id}${id === primary ? ' (primary)' : ''}, restart after ${holdMs} ms`;
      await c.kill(id);
      await sleep(holdMs);
      await restart(c, id);
      break;
    }
    case 'kill-two': {
      const keep = pick(rng, ids);
      const down = ids.filter((id) => id !== keep);
      detail = `kill -9 ${down.join(' and ')} at once (primary was ${primary}), restart after ${holdMs} ms`;
      await Promise.all(down.map((id) => c.kill(id)));
      await sleep(holdMs);
      await Promise.all(down.map((id) => restart(c, id)));
      break;
    }
    case 'kill-all':
      detail = `kill -9 all three at once (power loss), restart after ${holdMs} ms`;
      await Promise.all(ids.map((id) => c.kill(id)));
      await sleep(holdMs);
      await Promise.all(ids.map((id) => restart(c, id)));
      break;
    case 'pause-primary':
    case 'pause-secondary': {
      const id = kind === 'pause-primary' ? primary : pick(rng, secondaries);
      const pid = c.pidOf(id);
      detail = `SIGSTOP ${id} (${kind === 'pause-primary' ? 'primary' : 'secondary'}) for ${holdMs} ms, then SIGCONT`;
      applied(
        () => process.kill(pid, 'SIGSTOP'),
        () => process.kill(pid, 'SIGCONT'),
      );
      await sleep(holdMs);
      healAll();
      break;
    }
    case 'isolate-primary': {
      const i = indexOf(c, primary);
      detail = `${primary} (primary) cut off from everyone, clients included (link down) for ${holdMs} ms`;
      applied(
        () => h.setLink(i, false),
        () => h.setLink(i, true),
      );
      await sleep(holdMs);
      healAll();
      break;
    }
    case 'primary-minority': {
      const i = indexOf(c, primary);
      detail = `${primary} (primary) partitioned from both secondaries (blackhole routes both ways) while clients still reach it, for ${holdMs} ms`;
      for (const s of secondaries) {
        dropRoute(h, i, indexOf(c, s));
        dropRoute(h, indexOf(c, s), i);
      }
      await sleep(holdMs);
      healAll();
      break;
    }
    case 'one-way': {
      const from = pick(rng, ids);
      const to = pick(
        rng,
        ids.filter((id) => id !== from),
      );
      detail = `one-way loss: every packet from ${from} to ${to} dropped (blackhole route in ${from}'s namespace), ${to}→${from} flows, for ${holdMs} ms`;
      dropRoute(h, indexOf(c, from), indexOf(c, to));
      await sleep(holdMs);
      healAll();
      break;
    }
    case 'bridge': {
      const middle = pick(rng, ids);
      const [a, b] = ids.filter((id) => id !== middle) as [string, string];
      detail = `bridge partition: ${a} and ${b} cannot reach each other, both reach ${middle} (primary was ${primary}), for ${holdMs} ms`;
      dropRoute(h, indexOf(c, a), indexOf(c, b));
      dropRoute(h, indexOf(c, b), indexOf(c, a));
      await sleep(holdMs);
      healAll();
      break;
    }
    case 'netem': {
      const id = pick(rng, ids);
      const delay = rng.int(20, 120);
      const jitter = rng.int(5, delay);
      const loss = rng.int(1, 20);
      const rate = rng.int(64, 512);
      const what = shape(h, indexOf(c, id), ['netem', 'delay', `${delay}ms`, `${jitter}ms`, 'loss', `${loss}%`], ['tbf', 'rate', `${rate}kbit`, 'burst', '4kb', 'latency', `${delay * 4}ms`]);
      detail =
        what === 'netem'
          ? `tc netem on ${id}'s veth, both ends: delay ${delay} ms ± ${jitter} ms, loss ${loss}%, for ${holdMs * 2} ms`
          : `tc tbf on ${id}'s veth, both ends (this kernel has no netem): ${rate} kbit/s, packets queued past ${delay * 4} ms dropped, for ${holdMs * 2} ms`;
      await sleep(holdMs * 2);
      healAll();
      break;
    }
    case 'disk-full': {
      const disks = ctx.disks;
      if (!disks) throw new Error('disk-full needs the data directories on tmpfs (TmpfsDisks)');
      const id = pick(rng, ids);
      const bytes = disks.fill(id);
      undo.push(() => disks.free(id));
      await sleep(holdMs);
      healAll();
      const crashed = !c.isRunning(id);
      detail = `${id}'s disk full${id === primary ? ' (primary)' : ''} (a file took its ${(bytes / 2 ** 20).toFixed(0)} MiB left free) for ${holdMs} ms${crashed ? `; it exited (${JSON.stringify(c.lastExit.get(id))}) and was restarted` : '; it kept running'}`;
      if (crashed) await restart(c, id);
      break;
    }
  }
  ctx.log(`healed: ${detail}`);
  return { kind, detail };
}
