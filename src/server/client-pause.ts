// CLIENT PAUSE / CLIENT UNPAUSE of one RESP server (Redis 7's semantics): while a pause is
// on, a client whose next command is paused is held — that command and every later one it
// sends wait, in order, and run when the pause ends. ALL holds every command; WRITE holds
// only commands that may write (write or may_replicate flags, and an EXEC whose queue holds
// one). A second pause keeps the more restrictive mode and the later end, as Redis does.
// The pause is per node: it holds this node's clients only.

/** 'write' holds writes, 'all' holds everything. Ordered: a larger one is more restrictive. */
export type PauseMode = 'write' | 'all';

const RANK: Record<PauseMode, number> = { write: 1, all: 2 };

/** A connection that can be held and later resumed (src/server/resp-connection.ts). */
export interface Holdable {
  resumeHeld(): void;
}

export class ClientPause {
  private mode: PauseMode | null = null;
  private endMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly held = new Set<Holdable>();

  /** The pause in force now, if any. */
  current(): PauseMode | null {
    return this.mode;
  }

  /** Starts (or widens) a pause ending at `endMs` (wall clock, ms). */
  pause(mode: PauseMode, endMs: number): void {
    if (this.mode === null || RANK[mode] > RANK[this.mode]) this.mode = mode;
    this.endMs = Math.max(this.endMs, endMs);
    this.arm();
  }

  /** Ends the pause now and resumes every held client, in the order they were held. */
  unpause(): void {
    this.mode = null;
    this.endMs = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiting = [...this.held];
    this.held.clear();
    for (const c of waiting) c.resumeHeld();
  }

  /** Whether a command with these properties must wait now. */
  holds(mayWrite: boolean): boolean {
    if (this.mode === null) return false;
    if (Date.now() >= this.endMs) {
      // The timer fires on its own turn; a command arriving first must not wait for it.
      this.unpause();
      return false;
    }
    return this.mode === 'all' || mayWrite;
  }

  /** Remembers a client that holds commands until the pause ends. */
  hold(c: Holdable): void {
    this.held.add(c);
  }

  /** Forgets a client that went away while held. */
  forget(c: Holdable): void {
    this.held.delete(c);
  }

  get heldClients(): number {
    return this.held.size;
  }

  /** Stops the timer (server shutdown); held clients are closed by the server. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.held.clear();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    // setTimeout's delay is a 32-bit count of ms: a longer pause re-arms when the timer fires.
    const delay = Math.min(Math.max(0, this.endMs - Date.now()), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (Date.now() >= this.endMs) this.unpause();
      else this.arm();
    }, delay);
    this.timer.unref();
  }
}

/** The longest delay setTimeout takes (2^31 − 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
