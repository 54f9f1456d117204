// Client-side caching support (CLIENT TRACKING, Redis 7.0): the keys each
// tracking client read on this node, and the invalidation messages sent when an
// update applied here changes one of them — on the primary when it commits, on
// a secondary when it applies it from its log. RESP3 clients get an
// `invalidate` push; RESP2 clients redirect them (REDIRECT <id>) to a
// connection subscribed to __redis__:invalidate. BCAST clients get every
// changed key under their prefixes. Reads are remembered when they are sent to
// the node, before they run, so a change applied between a read and its reply
// is never missed (at worst a fresh value is invalidated once more).
import { arr, bulk, err, int, OK, type Reply } from '../core/reply.ts';
import { commandKeys, lookupCommand } from '../core/kv/command-table.ts';
import { parseI64 } from '../core/kv/numbers.ts';
import type { Update } from '../core/types.ts';
import type { Connection } from './resp-connection.ts';
import { PubSubRegistry } from './pubsub.ts';

/** Keys remembered across all clients (Redis's tracking-table-max-keys default); past it the oldest is invalidated. */
export const TRACKING_TABLE_MAX_KEYS = 1_000_000;
/** Prefixes one BCAST client may register. */
export const TRACKING_MAX_PREFIXES = 1024;

/** A connection's CLIENT TRACKING state. */
export interface TrackingState {
  /** Client id invalidations go to; 0 = this connection. */
  readonly redirect: number;
  readonly bcast: boolean;
  readonly prefixes: readonly Buffer[];
  readonly optin: boolean;
  readonly optout: boolean;
  /** CLIENT CACHING yes|no, for the next command only. */
  caching: 'yes' | 'no' | null;
  /** What the current command runs with (taken from `caching` when it was dispatched). */
  cachingNow: 'yes' | 'no' | null;
  /** The redirect target went away (TRACKINGINFO's broken_redirect). */
  broken: boolean;
}

const INVALIDATE_CHANNEL = Buffer.from('__redis__:invalidate');
const lower = (b: Buffer | undefined): string => (b === undefined ? '' : b.toString('latin1').toLowerCase());

/** Read-only commands whose keys follow a numkeys argument (not covered by first/last/step). */
const NUMKEYS_AT: ReadonlyMap<string, number> = new Map([
  ['zunion', 1],
  ['zinter', 1],
  ['zdiff', 1],
  ['zintercard', 1],
  ['sintercard', 1],
]);

/** The keys a read-only command reads (empty for writes: only reads are remembered, as in Redis). */
export function readKeys(argv: readonly Buffer[]): Buffer[] {
  const spec = lookupCommand(argv[0]!);
  if (!spec || !spec.flags.includes('readonly')) return [];
  const at = NUMKEYS_AT.get(spec.name);
  if (at === undefined) return commandKeys(argv);
  const n = Number(parseI64(argv[at] ?? Buffer.alloc(0)) ?? 0n);
  return n > 0 ? argv.slice(at + 1, at + 1 + Math.min(n, argv.length)) : [];
}

export class TrackingTable {
  /** key (latin1) → the connections that read it; a key is forgotten once invalidated. */
  private readonly keys = new Map<string, Set<Connection>>();
  private readonly bcast = new Set<Connection>();
  private readonly tracking = new Set<Connection>();

  constructor(private readonly clientById: (id: number) => Connection | undefined) {}

  get active(): boolean {
    return this.tracking.size > 0;
  }

  /** INFO's tracking_clients and tracking_total_keys / items / prefixes. */
  get sizes(): { clients: number; keys: number; items: number; prefixes: number } {
    let items = 0;
    for (const set of this.keys.values()) items += set.size;
    // Redis counts the prefixes of its one prefix table: each distinct prefix once.
    const prefixes = new Set<string>();
    for (const c of this.bcast) for (const p of c.tracking?.prefixes ?? []) prefixes.add(p.toString('latin1'));
    return { clients: this.tracking.size, keys: this.keys.size, items, prefixes: prefixes.size };
  }

  /** Remembers the keys of read commands a tracking connection sends to the node. */
  remember(c: Connection, cmds: readonly Buffer[][]): void {
    const t = c.tracking;
    if (!t || t.bcast) return;
    if (t.optin && t.cachingNow !== 'yes') return;
    if (t.optout && t.cachingNow === 'no') return;
    for (const argv of cmds) {
      for (const k of readKeys(argv)) {
        const id = k.toString('latin1');
        let set = this.keys.get(id);
        if (!set) {
          if (this.keys.size >= TRACKING_TABLE_MAX_KEYS) this.evictOldest();
          this.keys.set(id, (set = new Set()));
        }
        set.add(c);
      }
    }
  }

  /** An update was applied here: invalidate every changed key its readers or prefixes cover. */
  applied(u: Update): void {
    if (this.tracking.size === 0) return;
    const changed = new Map<string, Buffer>();
    for (const op of u.ops) {
      if (op.k === 'flush') return this.flushAll();
      changed.set(op.key.toString('latin1'), op.key);
    }
    for (const [id, key] of changed) {
      const readers = this.keys.get(id);
      if (!readers) continue;
      this.keys.delete(id);
      for (const c of readers) this.send(c, arr([bulk(key)]));
    }
    if (this.bcast.size === 0) return;
    // One message per client and prefix, its keys in byte order, as Redis batches broadcasts.
    const sorted = [...changed.values()].sort(Buffer.compare);
    for (const c of this.bcast) {
      // Prefixes in byte order, as Redis walks its radix tree of them.
      const prefixes = c.tracking!.prefixes.length > 0 ? [...c.tracking!.prefixes].sort(Buffer.compare) : [Buffer.alloc(0)];
      for (const p of prefixes) {
        const keys = sorted.filter((k) => k.length >= p.length && k.subarray(0, p.length).equals(p));
        if (keys.length > 0) this.send(c, arr(keys.map((k) => bulk(k))));
      }
    }
  }

  /**
   * Every key may have changed without an update applied here (FLUSHALL, or a region resync
   * replacing storage content): tell every tracking client to drop everything (a null invalidation).
   */
  flushAll(): void {
    this.keys.clear();
    for (const c of this.tracking) this.send(c, { t: 'null' });
  }

  /** Forgets a connection (CLIENT TRACKING OFF, RESET, close). */
  forget(c: Connection): void {
    if (!c.tracking) return;
    this.tracking.delete(c);
    this.bcast.delete(c);
    for (const [id, set] of this.keys) if (set.delete(c) && set.size === 0) this.keys.delete(id);
    c.tracking = null;
  }

  private evictOldest(): void {
    const first = this.keys.entries().next();
    if (first.done) return;
    const [id, readers] = first.value;
    this.keys.delete(id);
    for (const c of readers) this.send(c, arr([bulk(Buffer.from(id, 'latin1'))]));
  }

  /** Redis's sendTrackingMessage: to the client itself in RESP3, or to its redirect target. */
  private send(c: Connection, keys: Reply): void {
    const t = c.tracking;
    if (!t || c.isClosing) return;
    let target = c;
    if (t.redirect !== 0) {
      const r = this.clientById(t.redirect);
      if (!r || r.isClosing) {
        // The target is gone: a RESP3 client hears so; the invalidation itself is lost, as in Redis.
        if (!t.broken) t.broken = true;
        if (c.proto === 3) c.deliver([bulk('tracking-redir-broken'), int(t.redirect)]);
        return;
      }
      target = r;
    }
    if (target.proto === 3) target.deliver([bulk('invalidate'), keys]);
    else if (t.redirect !== 0 && PubSubRegistry.subscribed(target)) target.deliver([bulk('message'), bulk(INVALIDATE_CHANNEL), keys]);
    // A RESP2 client without a redirect cannot receive pushes: nothing is sent, as in Redis.
  }

  /** CLIENT TRACKING | CACHING | GETREDIR | TRACKINGINFO for connection c. */
  command(c: Connection, argv: readonly Buffer[]): Reply {
    switch (lower(argv[1])) {
      case 'tracking':
        return this.trackingCommand(c, argv);
      case 'caching': {
        const t = c.tracking;
        if (!t)
          return err('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled');
        const v = lower(argv[2]);
        if (v === 'yes') {
          if (!t.optin) return err('ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.');
          t.caching = 'yes';
        } else if (v === 'no') {
          if (!t.optout) return err('ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.');
          t.caching = 'no';
        } else return err('ERR syntax error');
        return OK;
      }
      case 'getredir':
        return int(c.tracking ? (c.tracking.redirect === 0 ? 0 : c.tracking.broken ? -1 : c.tracking.redirect) : -1);
      default: {
        // TRACKINGINFO
        const t = c.tracking;
        const flags: string[] = [];
        if (!t) flags.push('off');
        else {
          flags.push('on');
          if (t.bcast) flags.push('bcast');
          if (t.optin) flags.push('optin');
          if (t.optout) flags.push('optout');
          if (t.caching === 'yes') flags.push('caching-yes');
          if (t.caching === 'no') flags.push('caching-no');
          if (t.broken) flags.push('broken_redirect');
        }
        return {
          t: 'map',
          entries: [
            [bulk('flags'), { t: 'set', items: flags.map((s) => bulk(s)) }],
            [bulk('redirect'), int(t ? (t.redirect === 0 ? 0 : t.broken ? -1 : t.redirect) : -1)],
            // In byte order, as Redis keeps them (a radix tree).
            [bulk('prefixes'), arr([...(t?.prefixes ?? [])].sort(Buffer.compare).map((p) => bulk(p)))],
          ],
        };
      }
    }
  }

  private trackingCommand(c: Connection, argv: readonly Buffer[]): Reply {
    const onOff = lower(argv[2]);
    let redirect = 0;
    let bcast = false;
    let optin = false;
    let optout = false;
    const prefixes: Buffer[] = [];
    for (let i = 3; i < argv.length; i++) {
      const opt = lower(argv[i]);
      const more = argv.length - i - 1;
      if (opt === 'redirect' && more >= 1) {
        if (redirect !== 0) return err('ERR A client can only redirect to a single other client');
        const id = parseI64(argv[++i]!);
        if (id === null) return err('ERR value is not an integer or out of range');
        if (id !== BigInt(c.id) && !this.clientById(Number(id))) return err('ERR The client ID you want redirect to does not exist');
        redirect = Number(id);
      } else if (opt === 'bcast') bcast = true;
      else if (opt === 'optin') optin = true;
      else if (opt === 'optout') optout = true;
      else if (opt === 'prefix' && more >= 1) {
        if (prefixes.length >= TRACKING_MAX_PREFIXES)
          return err(`ERR too many prefixes (TRACKING_MAX_PREFIXES = ${TRACKING_MAX_PREFIXES}); use fewer, shorter-shared prefixes`);
        prefixes.push(argv[++i]!);
      } else if (opt === 'noloop')
        // Telling this client's own writes from others' at apply time is not possible here
        // (writes are applied as gathered updates): refusing is safer than a missed invalidation.
        return err('ERR NOLOOP is not supported by understudy: invalidations are sent for every change, this client\'s own included');
      else return err('ERR syntax error');
    }
    if (onOff === 'on') {
      if (prefixes.length > 0 && !bcast) return err('ERR PREFIX option requires BCAST mode to be enabled');
      if (c.tracking && c.tracking.bcast !== bcast)
        return err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
      if (optin && optout) return err("ERR You can't specify both OPTIN mode and OPTOUT mode");
      if ((optin && c.tracking?.optout) || (optout && c.tracking?.optin))
        return err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
      if ((optin || optout) && bcast) return err('ERR OPTIN and OPTOUT are not compatible with BCAST');
      const all = [...(c.tracking?.prefixes ?? []), ...prefixes];
      for (let i = 0; i < prefixes.length; i++)
        for (const other of all) {
          if (other === prefixes[i]) continue;
          const a = prefixes[i]!;
          if (a.equals(other)) continue;
          const [short, long] = a.length <= other.length ? [a, other] : [other, a];
          if (long.subarray(0, short.length).equals(short))
            return err(
              `ERR Prefix '${a.toString('utf8')}' overlaps with ${c.tracking?.prefixes.includes(other) ? 'an existing prefix' : 'another provided prefix'} '${other.toString('utf8')}'. Prefixes for a single client must not overlap.`,
            );
        }
      const kept = c.tracking?.prefixes ?? [];
      const merged = [...kept];
      for (const p of prefixes) if (!merged.some((m) => m.equals(p))) merged.push(p);
      c.tracking = { redirect, bcast, prefixes: merged, optin, optout, caching: null, cachingNow: null, broken: false };
      this.tracking.add(c);
      if (bcast) this.bcast.add(c);
      return OK;
    }
    if (onOff === 'off') {
      this.forget(c);
      return OK;
    }
    return err('ERR syntax error');
  }
}
