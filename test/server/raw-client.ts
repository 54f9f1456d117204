// Raw-socket helpers for the server tests: send exact bytes, read exact bytes,
// see whether the server closed the connection. Every wait is bounded.
import { connect, type Socket } from 'node:net';

export const WAIT_MS = 5000;

export interface RawConn {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves when received bytes satisfy `pred` (or rejects after WAIT_MS with what arrived). */
  until(pred: (data: string) => boolean, what?: string): Promise<string>;
  /** Resolves with all data once the server closes (rejects after WAIT_MS). */
  closed(): Promise<string>;
  write(data: string | Buffer): void;
  end(): void;
}

export function rawConnect(port: number): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let isClosed = false;
    const waiters = new Set<() => void>();
    const notify = (): void => {
      for (const w of [...waiters]) w();
    };
    socket.on('data', (d) => {
      chunks.push(d);
      notify();
    });
    socket.on('close', () => {
      isClosed = true;
      notify();
    });
    socket.on('error', () => undefined);
    const received = (): Buffer => Buffer.concat(chunks);
    const wait = (pred: () => boolean, what: string): Promise<string> =>
      new Promise((res, rej) => {
        const check = (): void => {
          if (pred()) {
            waiters.delete(check);
            clearTimeout(timer);
            res(received().toString('latin1'));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          rej(new Error(`timed out waiting for ${what}; received ${JSON.stringify(received().toString('latin1').slice(0, 500))}, closed=${isClosed}`));
        }, WAIT_MS);
        waiters.add(check);
        check();
      });
    socket.once('connect', () =>
      resolve({
        socket,
        received,
        until: (pred, what = 'data') => wait(() => pred(received().toString('latin1')), what),
        closed: () => wait(() => isClosed, 'close'),
        write: (d) => socket.write(d),
        end: () => socket.end(),
      }),
    );
    socket.once('error', reject);
  });
}

/** Encodes a command as a RESP array of bulk strings (what clients send). */
export function cmd(...args: Array<string | Buffer>): string {
  let s = `*${args.length}\r\n`;
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    s += `$${b.length}\r\n${b.toString('latin1')}\r\n`;
  }
  return s;
}
