// GET /events: Server-Sent Events for the live dashboard. Every client gets
// the rolling series on connect, then a cluster snapshot about every 500 ms,
// each new series sample, and each failover report as it happens.
//
// One shared poller serves every client (N open dashboards do not mean N
// times the peer requests), it runs only while someone listens, and a client
// that disconnects or stops reading is dropped with everything it held.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { FailoverReport, NodeHandle } from '../../runtime/node-api.ts';
import type { ClusterView } from './cluster-view.ts';
import type { Series, SeriesSample } from './series.ts';

/** How often connected dashboards get a cluster snapshot. */
export const SSE_SNAPSHOT_INTERVAL_MS = 500;
/** Open event streams per node; each costs a socket and a share of the snapshot work. */
export const MAX_SSE_CLIENTS = 64;
/** A client this far behind (unsent bytes) is not reading: drop it rather than buffer without bound. */
export const MAX_SSE_BUFFERED_BYTES = 1 << 20;
/** Tells EventSource how soon to reconnect after the stream breaks. */
export const SSE_RETRY_MS = 1000;

interface Client {
  readonly res: ServerResponse;
  readonly close: () => void;
}

export class EventHub {
  private readonly clients = new Set<Client>();
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  private detachNode: (() => void) | null = null;
  private detachSeries: (() => void) | null = null;

  constructor(
    private readonly node: NodeHandle,
    private readonly series: Series,
    private readonly readCluster: () => Promise<ClusterView>,
    private readonly logger: Logger,
    private readonly intervalMs = SSE_SNAPSHOT_INTERVAL_MS,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  get full(): boolean {
    return this.clients.size >= MAX_SSE_CLIENTS;
  }

  /** Takes over a request whose reply was hijacked, and streams to it until it goes away. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // a reverse proxy must not hold events back
    });
    res.write(`retry: ${SSE_RETRY_MS}\n\n`);
    const client: Client = {
      res,
      close: () => {
        if (!this.clients.delete(client)) return;
        if (!res.writableEnded) res.end();
        if (this.clients.size === 0) this.idle();
      },
    };
    this.clients.add(client);
    req.on('close', client.close);
    res.on('error', client.close);
    if (this.clients.size === 1) this.wake();
    this.send(client, 'series', { samples: this.series.list() });
    this.readCluster().then(
      (view) => this.send(client, 'cluster', view),
      (e: unknown) => this.logger.warn({ err: e }, 'cluster view for a new event stream failed'),
    );
  }

  /** Ends every stream (the server is closing). */
  closeAll(): void {
    for (const c of [...this.clients]) c.close();
  }

  private wake(): void {
    const onFailover = (report: FailoverReport): void => this.broadcast('failover', report);
    this.node.on('failover', onFailover);
    this.detachNode = () => this.node.off('failover', onFailover);
    this.detachSeries = this.series.onSample((s: SeriesSample) => this.broadcast('sample', s));
    this.timer = setInterval(() => this.tick(), this.intervalMs);
  }

  private idle(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.detachNode?.();
    this.detachNode = null;
    this.detachSeries?.();
    this.detachSeries = null;
  }

  private tick(): void {
    // A slow peer read (bounded by its own timeout) must not pile up reads behind it.
    if (this.reading) return;
    this.reading = true;
    this.readCluster()
      .then(
        (view) => this.broadcast('cluster', view),
        (e: unknown) => this.logger.warn({ err: e }, 'cluster view for the event stream failed'),
      )
      .finally(() => {
        this.reading = false;
      });
  }

  private broadcast(event: string, data: unknown): void {
    const frame = formatEvent(event, data);
    for (const c of [...this.clients]) this.write(c, frame);
  }

  private send(c: Client, event: string, data: unknown): void {
    if (this.clients.has(c)) this.write(c, formatEvent(event, data));
  }

  private write(c: Client, frame: string): void {
    if (c.res.writableEnded || c.res.destroyed) return c.close();
    c.res.write(frame);
    if (c.res.writableLength > MAX_SSE_BUFFERED_BYTES) {
      this.logger.warn('dropping an event stream client that stopped reading');
      c.res.destroy();
      c.close();
    }
  }
}

/** One SSE frame; JSON never contains a raw newline, so one data line suffices. */
export function formatEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
