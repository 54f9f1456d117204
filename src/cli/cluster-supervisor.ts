// The supervisor behind `understudy cluster up`: one `understudy start` child process per
// member, restarted with a backoff when it exits without being asked to, stopped and started
// by id on request (`understudy cluster stop|start <id>`), and all stopped together at the end.
//
// Every child gets an IPC channel as its fourth stdio stream and this process's PID in its
// environment. Nothing is sent on the channel: its end is the signal. The kernel closes it
// however this process ends (SIGKILL included), and the child (src/cli/start.ts) stops when it
// closes or when its parent PID changes, so no node outlives its supervisor.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SUPERVISOR_PID_ENV } from './start.ts';

/** How long children get to stop after SIGTERM before they are killed. */
export const CHILD_STOP_TIMEOUT_MS = 10_000;
/** First delay before a child that exited on its own is started again. */
export const RESTART_MIN_DELAY_MS = 1000;
/** Ceiling of the restart delay, which doubles with every exit in a row. */
export const RESTART_MAX_DELAY_MS = 30_000;
/** A child that ran this long before exiting counts as healthy: its next restart waits the minimum again. */
export const RESTART_STABLE_MS = 30_000;
/** After this many exits in a row, each shortly after its start, the node is left down until `cluster start`. */
export const RESTART_MAX_ATTEMPTS = 10;

/** What the supervisor knows of one member. */
export type MemberState = 'starting' | 'running' | 'stopping' | 'stopped' | 'restart-pending' | 'held-down';

export interface MemberInfo {
  readonly id: string;
  readonly state: MemberState;
  readonly pid: number | null;
  /** Starts after the first (restarts, automatic or requested). */
  readonly restarts: number;
  /** How the last process ended, e.g. "code 0" or "SIGKILL"; null before any ended. */
  readonly lastExit: string | null;
}

export interface SupervisedMember {
  readonly id: string;
  readonly configPath: string;
}

export interface SupervisorEvents {
  /** A line for the user about the supervisor's own doings (restarts, stops). */
  note(id: string, line: string): void;
  /** A child's process was spawned; its stdout and stderr are for the caller to read. */
  spawned(id: string, child: ChildProcess): void;
}

interface Member {
  readonly id: string;
  readonly configPath: string;
  child: ChildProcess | null;
  /** Set while the supervisor wants this member down (cluster stop, or the whole cluster stopping). */
  wantDown: boolean;
  startedAt: number;
  /** Exits in a row that came soon after their start. */
  failures: number;
  restarts: number;
  restartTimer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  heldDown: boolean;
  lastExit: string | null;
  /** Callbacks waiting for the current process to end. */
  onExit: Array<() => void>;
}

function binPath(): string {
  return fileURLToPath(new URL('../../bin/understudy.mjs', import.meta.url));
}

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, sig);
  } catch {
    // Gone between the check and the signal: nothing left to stop.
  }
}

/** The restart delay after `failures` quick exits in a row (1-based): doubling, capped. */
export function restartDelayMs(failures: number): number {
  return Math.min(RESTART_MAX_DELAY_MS, RESTART_MIN_DELAY_MS * 2 ** Math.max(0, failures - 1));
}

export class ClusterSupervisor {
  private readonly members = new Map<string, Member>();
  private stoppingAll = false;
  /** Some child had to be killed, or failed to stop cleanly, while the cluster stopped. */
  private unclean = false;

  constructor(
    members: readonly SupervisedMember[],
    private readonly events: SupervisorEvents,
    private readonly now: () => number = Date.now,
  ) {
    for (const m of members) {
      this.members.set(m.id, {
        id: m.id,
        configPath: m.configPath,
        child: null,
        wantDown: false,
        startedAt: 0,
        failures: 0,
        restarts: 0,
        restartTimer: undefined,
        killTimer: undefined,
        heldDown: false,
        lastExit: null,
        onExit: [],
      });
    }
  }

  /** Starts every member. */
  startAll(): void {
    for (const m of this.members.values()) this.spawn(m);
  }

  list(): MemberInfo[] {
    return [...this.members.values()].map((m) => ({
      id: m.id,
      state: this.stateOf(m),
      pid: m.child?.pid ?? null,
      restarts: m.restarts,
      lastExit: m.lastExit,
    }));
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  /**
   * Stops one member and keeps it down until start(id): SIGTERM (a clean stop), or SIGKILL with
   * `kill` (a crash, to watch a failover). Resolves once its process has ended.
   */
  stop(id: string, kill = false): Promise<MemberInfo> {
    const m = this.member(id);
    m.wantDown = true;
    m.heldDown = false;
    clearTimeout(m.restartTimer);
    m.restartTimer = undefined;
    const child = m.child;
    if (!child) return Promise.resolve(this.infoOf(m));
    this.events.note(m.id, kill ? `killing pid ${child.pid} (SIGKILL) on request` : `stopping pid ${child.pid} on request`);
    return new Promise((resolve) => {
      m.onExit.push(() => resolve(this.infoOf(m)));
      this.terminate(m, kill);
    });
  }

  /** Starts a member that is down (stopped, held down, or waiting for its restart). */
  start(id: string): MemberInfo {
    const m = this.member(id);
    if (this.stoppingAll) throw new Error('the cluster is stopping');
    m.wantDown = false;
    m.heldDown = false;
    m.failures = 0;
    if (!m.child) {
      clearTimeout(m.restartTimer);
      m.restartTimer = undefined;
      m.restarts++;
      this.spawn(m);
    }
    return this.infoOf(m);
  }

  /**
   * Stops every member (SIGTERM, SIGKILL after CHILD_STOP_TIMEOUT_MS). Resolves true when every
   * process ended by itself with exit code 0.
   */
  stopAll(): Promise<boolean> {
    this.stoppingAll = true;
    const waits: Array<Promise<void>> = [];
    for (const m of this.members.values()) {
      m.wantDown = true;
      clearTimeout(m.restartTimer);
      m.restartTimer = undefined;
      if (!m.child) continue;
      waits.push(new Promise((resolve) => m.onExit.push(resolve)));
      this.terminate(m, false);
    }
    return Promise.all(waits).then(() => !this.unclean);
  }

  /** A second Ctrl-C: SIGKILL whatever is left, now. */
  killAll(): void {
    this.unclean = true;
    for (const m of this.members.values()) if (m.child) signal(m.child, 'SIGKILL');
  }

  get runningCount(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.child) n++;
    return n;
  }

  // --------------------------------------------------------------------------------------

  private member(id: string): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member "${id}" (members: ${[...this.members.keys()].join(', ')})`);
    return m;
  }

  private stateOf(m: Member): MemberState {
    if (m.child) return m.wantDown ? 'stopping' : m.child.pid === undefined ? 'starting' : 'running';
    if (m.heldDown) return 'held-down';
    if (m.restartTimer) return 'restart-pending';
    return 'stopped';
  }

  private infoOf(m: Member): MemberInfo {
    return this.list().find((x) => x.id === m.id)!;
  }

  private terminate(m: Member, kill: boolean): void {
    const child = m.child!;
    signal(child, kill ? 'SIGKILL' : 'SIGTERM');
    if (kill || m.killTimer) return;
    m.killTimer = setTimeout(() => {
      if (m.child !== child) return;
      this.events.note(m.id, `did not stop within ${CHILD_STOP_TIMEOUT_MS} ms (CHILD_STOP_TIMEOUT_MS); killing pid ${child.pid}`);
      if (this.stoppingAll) this.unclean = true;
      signal(child, 'SIGKILL');
    }, CHILD_STOP_TIMEOUT_MS);
    m.killTimer.unref();
  }

  private spawn(m: Member): void {
    const child = spawn(process.execPath, [binPath(), 'start', '--config', m.configPath], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, [SUPERVISOR_PID_ENV]: String(process.pid) },
      // Its own process group: a Ctrl-C in the terminal reaches the supervisor only, which then
      // stops the nodes in order (and a node stopping twice at once never happens).
      detached: true,
    });
    m.child = child;
    m.startedAt = this.now();
    this.events.spawned(m.id, child);
    child.on('error', (e) => this.events.note(m.id, `failed to start: ${e.message}`));
    child.on('exit', (code, sig) => this.onExit(m, child, code, sig));
  }

  private onExit(m: Member, child: ChildProcess, code: number | null, sig: NodeJS.Signals | null): void {
    if (m.child !== child) return;
    m.child = null;
    clearTimeout(m.killTimer);
    m.killTimer = undefined;
    m.lastExit = sig ?? `code ${code}`;
    if (this.stoppingAll && code !== 0) this.unclean = true;
    const waiting = m.onExit.splice(0);
    if (m.wantDown) {
      this.events.note(m.id, `stopped (${m.lastExit})`);
    } else {
      // Exited without being asked to (a crash, kill -9, a SIGTERM from elsewhere): start it again.
      const ranMs = this.now() - m.startedAt;
      m.failures = ranMs >= RESTART_STABLE_MS ? 1 : m.failures + 1;
      if (m.failures > RESTART_MAX_ATTEMPTS) {
        m.heldDown = true;
        this.events.note(
          m.id,
          `exited (${m.lastExit}) ${m.failures - 1} times in a row soon after starting; left down (RESTART_MAX_ATTEMPTS) — see its log, then: understudy cluster start ${m.id}`,
        );
      } else {
        const delay = restartDelayMs(m.failures);
        this.events.note(m.id, `exited (${m.lastExit}); restarting in ${(delay / 1000).toFixed(1)} s (restart ${m.restarts + 1})`);
        m.restartTimer = setTimeout(() => {
          m.restartTimer = undefined;
          if (m.wantDown || this.stoppingAll) return;
          m.restarts++;
          this.spawn(m);
        }, delay);
      }
    }
    for (const w of waiting) w();
  }
}
