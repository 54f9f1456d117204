// A minimal RESP client for commands whose replies are one line each (+OK,
// -ERR …, :n): what SET, MSET and DBSIZE answer. Commands may be pipelined;
// replies resolve their calls in order. Used where the benchmark must know the
// outcome of every single write (acknowledged, refused, or unknown because the
// connection ended first) without a client library's retries in the way.
import { connect, type Socket } from 'node:net';

/** Connecting to a node on 127.0.0.1 takes far less; beyond this the node is not serving. */
export const CONNECT_TIMEOUT_MS = 2000;

/** A call that ended without all its replies; `partial` holds those that did arrive, in order. */
export class CallError extends Error {
  constructor(
    message: string,
    readonly partial: readonly string[],
  ) {
    super(message);
  }
}

interface Pending {
  readonly replies: number;
  readonly lines: string[];
  readonly resolve: (lines: string[]) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class LineClient {
  private readonly queue: Pending[] = [];
  private tail = '';
  private failed: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(port: number, timeoutMs = CONNECT_TIMEOUT_MS): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to 127.0.0.1:${port}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(new LineClient(s));
      });
    });
  }

  get closed(): boolean {
    return this.failed !== null;
  }

  /**
   * Sends `cmd` (one or more RESP commands, already encoded) and resolves with its `replies`
   * reply lines. No answer within timeoutMs ends the connection: later replies could no longer
   * be matched to their commands, so every call still waiting fails too. A failed call rejects
   * with a CallError holding the replies that did arrive.
   */
  call(cmd: string, replies: number, timeoutMs: number): Promise<string[]> {
    if (this.failed) return Promise.reject(new CallError(this.failed.message, []));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
      this.queue.push({ replies, lines: [], resolve, reject, timer });
      this.socket.write(cmd);
    });
  }

  close(): void {
    this.fail(new Error('closed by the client'));
  }

  private onData(b: Buffer): void {
    this.tail += b.toString('latin1');
    let i: number;
    while ((i = this.tail.indexOf('\r\n')) >= 0) {
      const line = this.tail.slice(0, i);
      this.tail = this.tail.slice(i + 2);
      const p = this.queue[0];
      if (!p) return this.fail(new Error(`reply with no command waiting: ${line.slice(0, 80)}`));
      // Only one-line replies are expected; anything else means the commands were not the kind
      // this client is for, and the stream can no longer be followed.
      if (!/^[+\-:]/.test(line)) return this.fail(new Error(`not a one-line reply: ${line.slice(0, 80)}`));
      p.lines.push(line);
      if (p.lines.length === p.replies) {
        this.queue.shift();
        clearTimeout(p.timer);
        p.resolve(p.lines);
      }
    }
  }

  private fail(e: Error): void {
    if (!this.failed) this.failed = e;
    this.socket.destroy();
    for (const p of this.queue.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new CallError(this.failed.message, p.lines));
    }
  }
}
