// Test helper: runs Debian's redis-server as a child process on a free 127.0.0.1 port and talks
// to it over a raw socket, so replies can be compared byte for byte with ours.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

/** How long to wait for redis-server to accept connections. */
const START_TIMEOUT_MS = 10_000;
/** How long one reply may take. */
const REPLY_TIMEOUT_MS = 5_000;

export function findRedisServer(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, 'redis-server');
    if (dir && existsSync(p)) return p;
  }
  throw new Error('redis-server not found on PATH: the differential tests need it — run `apt-get install -y redis-server`');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class RedisServer {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  static async start(): Promise<RedisServer> {
    const bin = findRedisServer();
    const port = await freePort();
    const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const server = new RedisServer(port, child);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
      try {
        const c = await RawClient.connect(port);
        const pong = await c.command(['PING']);
        c.close();
        if (pong.toString() === '+PONG\r\n') return server;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        server.stop();
        throw new Error(`redis-server did not accept connections on port ${port} within ${START_TIMEOUT_MS} ms`);
      }
      await sleep(50);
    }
  }

  /** Kills the server by its PID. */
  stop(): void {
    if (this.child.pid !== undefined && this.child.exitCode === null) process.kill(this.child.pid, 'SIGKILL');
  }
}

/** The encoded multibulk form of a command. */
export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** End offset of the complete RESP2/RESP3 reply starting at `pos`, or -1 if incomplete. */
export function replyEnd(buf: Buffer, pos: number): number {
  if (pos >= buf.length) return -1;
  const cr = buf.indexOf('\r\n', pos);
  if (cr < 0) return -1;
  const type = String.fromCharCode(buf[pos]!);
  const line = buf.toString('latin1', pos + 1, cr);
  const next = cr + 2;
  switch (type) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(':
      return next;
    case '$':
    case '=':
    case '!': {
      const n = Number(line);
      if (n < 0) return next;
      return buf.length >= next + n + 2 ? next + n + 2 : -1;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      let n = Number(line);
      if (n < 0) return next;
      if (type === '%' || type === '|') n *= 2;
      let p = next;
      for (let i = 0; i < n; i++) {
        p = replyEnd(buf, p);
        if (p < 0) return -1;
      }
      return p;
    }
    default:
      throw new Error(`unexpected reply type byte ${JSON.stringify(type)} in ${JSON.stringify(buf.toString('latin1'))}`);
  }
}

export class RawClient {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    sock.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    sock.on('error', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private async waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return cond();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
    return true;
  }

  /** Sends a command and returns its complete raw reply. */
  async command(args: readonly (string | Buffer)[]): Promise<Buffer> {
    this.sock.write(encodeCommand(args));
    return this.readReply();
  }

  async readReply(): Promise<Buffer> {
    let end = -1;
    const ok = await this.waitFor(() => (end = replyEnd(this.buf, 0)) >= 0, REPLY_TIMEOUT_MS);
    if (!ok) throw new Error(`no complete reply within ${REPLY_TIMEOUT_MS} ms (have ${JSON.stringify(this.buf.toString('latin1'))})`);
    const r = this.buf.subarray(0, end);
    this.buf = this.buf.subarray(end);
    return Buffer.from(r);
  }

  /** Sends raw bytes and collects everything until the server closes or stays quiet for `quietMs`. */
  async raw(bytes: Buffer, quietMs = 300): Promise<Buffer> {
    this.sock.write(bytes);
    let last = -1;
    for (let i = 0; i < 50 && !this.closed; i++) {
      await this.waitFor(() => this.closed, quietMs);
      if (this.buf.length === last) break;
      last = this.buf.length;
    }
    const r = this.buf;
    this.buf = Buffer.alloc(0);
    return r;
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Starts a redis-server before the calling file's tests and stops it after; returns its client. */
export function useRedisServer(): (() => RawClient) & { port(): number } {
  let server: RedisServer | undefined;
  let client: RawClient | undefined;
  before(async () => {
    server = await RedisServer.start();
    client = await RawClient.connect(server.port);
  });
  after(() => {
    client?.close();
    server?.stop();
  });
  const get = (): RawClient => {
    assert.ok(client, 'redis-server is not running (apt-get install redis-server)');
    return client;
  };
  return Object.assign(get, {
    port(): number {
      assert.ok(server, 'redis-server is not running (apt-get install redis-server)');
      return server.port;
    },
  });
}
