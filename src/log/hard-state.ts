// The vote a node must never forget (epoch and whom it voted for in it), and its
// incarnation, stored in its own small file replaced atomically with a checksum:
// a node that forgot its vote could vote twice in one epoch and elect two primaries.
import type { Disk, DoneCb, ResultCb } from '../ports/disk.ts';
import type { Epoch, NodeId } from '../core/types.ts';
import { crc32c } from '../lib/crc32c.ts';
import { assert } from '../lib/assert.ts';
import { UnderstudyError } from '../errors.ts';
import { writeFileAtomic } from './atomic-file.ts';

export interface HardState {
  readonly epoch: Epoch;
  readonly votedFor: NodeId | null;
  /**
   * This node's incarnation: raised whenever its log lost records it may have acknowledged (a data
   * directory found empty, a damaged tail cut). Peers compare it to tell "lost its data" from a
   * stale report (docs/protocol.md, "A node that lost data"). 0 in a file of version 1.
   */
  readonly incarnation: number;
  /** The node lost data and has not been refilled yet: it may not vote as if it still had it. */
  readonly lostData: boolean;
}

/** The state of a node that never saved one. */
export const INITIAL_HARD_STATE: HardState = { epoch: 0, votedFor: null, incarnation: 0, lostData: false };

/** "USHS" as a little-endian u32. */
const HARD_STATE_MAGIC = 0x53485355;
/** Version 2 added the incarnation and the lost-data flag; version 1 files are still read. */
const HARD_STATE_VERSION = 2;
/** Node ids are short names; a bound keeps the file small and the decoder safe. */
export const MAX_NODE_ID_BYTES = 255;
const FIXED_BYTES_V1 = 24;
const FIXED_BYTES = 36;
const TWO_32 = 4294967296;

function setU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, v % TWO_32, true);
  dv.setUint32(at + 4, Math.floor(v / TWO_32), true);
}

function getU64(dv: DataView, at: number): number {
  return dv.getUint32(at, true) + dv.getUint32(at + 4, true) * TWO_32;
}

/**
 * magic u32 | version u32 | epoch u64 | incarnation u64 | flags u32 (bit 0: lost data) |
 * votedFor length u32 (0 = none) | votedFor utf-8 | crc32c u32 of all before.
 * (Version 1: magic | version | epoch u64 | votedFor length | votedFor | crc.)
 */
export function encodeHardState(s: HardState): Uint8Array {
  const id = s.votedFor === null ? new Uint8Array(0) : new TextEncoder().encode(s.votedFor);
  assert(s.votedFor === null || (id.length > 0 && id.length <= MAX_NODE_ID_BYTES), `votedFor '${s.votedFor}' must be 1..${MAX_NODE_ID_BYTES} bytes`);
  assert(Number.isSafeInteger(s.epoch) && s.epoch >= 0, `epoch ${s.epoch} must be a safe non-negative integer`);
  assert(Number.isSafeInteger(s.incarnation) && s.incarnation >= 0, `incarnation ${s.incarnation} must be a safe non-negative integer`);
  const b = new Uint8Array(FIXED_BYTES + id.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, HARD_STATE_MAGIC, true);
  dv.setUint32(4, HARD_STATE_VERSION, true);
  setU64(dv, 8, s.epoch);
  setU64(dv, 16, s.incarnation);
  dv.setUint32(24, s.lostData ? 1 : 0, true);
  dv.setUint32(28, id.length, true);
  b.set(id, 32);
  dv.setUint32(32 + id.length, crc32c(b, 0, 0, 32 + id.length), true);
  return b;
}

export function decodeHardState(b: Uint8Array, path: string): HardState {
  const bad = (why: string): never => {
    throw new UnderstudyError(
      'LOG_HARD_STATE_CORRUPT',
      `LOG_HARD_STATE_CORRUPT: hard state file ${path} is unreadable (${why}); the node cannot know whom it voted for and will not start. ` +
        `See docs/log-format.md, "The way out": delete this node's data directory and let it rejoin with a resync`,
      { path, why },
    );
  };
  if (b.length < FIXED_BYTES_V1) return bad(`${b.length} bytes, too short`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, true) !== HARD_STATE_MAGIC) return bad('bad magic');
  const version = dv.getUint32(4, true);
  if (version !== 1 && version !== HARD_STATE_VERSION) return bad(`unknown version ${version}`);
  const fixed = version === 1 ? FIXED_BYTES_V1 : FIXED_BYTES;
  const idAt = fixed - 4;
  if (b.length < fixed) return bad(`${b.length} bytes, too short`);
  const idLen = dv.getUint32(idAt - 4, true);
  if (idLen > MAX_NODE_ID_BYTES || b.length !== fixed + idLen) return bad(`votedFor length ${idLen} does not match file size ${b.length}`);
  if (crc32c(b, 0, 0, idAt + idLen) !== dv.getUint32(idAt + idLen, true)) return bad('checksum mismatch');
  const epoch = getU64(dv, 8);
  const votedFor = idLen === 0 ? null : new TextDecoder().decode(b.subarray(idAt, idAt + idLen));
  if (version === 1) return { epoch, votedFor, incarnation: 0, lostData: false };
  const flags = dv.getUint32(24, true);
  if ((flags & ~1) !== 0) return bad(`unknown flags ${flags}`);
  return { epoch, votedFor, incarnation: getU64(dv, 16), lostData: (flags & 1) === 1 };
}

export const HARD_STATE_FILE_NAME = 'hard-state';

/** The persisted vote. Saves are applied in call order, one at a time. */
export class HardStateFile {
  private current: HardState;
  private saving = false;
  /** True when load found no file: a new node, or one whose data directory was emptied. */
  readonly missing: boolean;
  private readonly waiting: Array<{ state: HardState; cb: DoneCb }> = [];

  private constructor(
    private readonly disk: Disk,
    readonly path: string,
    state: HardState,
    missing: boolean,
  ) {
    this.current = state;
    this.missing = missing;
  }

  /** Loads the file at `path`; a missing file is the state of a new node (epoch 0, no vote). */
  static load(disk: Disk, path: string, cb: ResultCb<HardStateFile>): void {
    disk.readFile(path, (err, bytes) => {
      if (err) return cb(new UnderstudyError('LOG_IO', `reading ${path}: ${err.message}`, { path }));
      let state: HardState = INITIAL_HARD_STATE;
      try {
        if (bytes) state = decodeHardState(bytes, path);
      } catch (e) {
        return cb(e as Error);
      }
      cb(null, new HardStateFile(disk, path, state, !bytes));
    });
  }

  /** The last state saved (or being saved). */
  get(): HardState {
    return this.current;
  }

  /** Persists `state`; cb fires once it is durable. The epoch never goes backwards. */
  save(state: HardState, cb: DoneCb): void {
    assert(state.epoch >= this.current.epoch, `hard state epoch going backwards: ${this.current.epoch} → ${state.epoch}`);
    encodeHardState(state); // validates before anything is queued
    this.current = state;
    this.waiting.push({ state, cb });
    this.pump();
  }

  private pump(): void {
    if (this.saving) return;
    const next = this.waiting.shift();
    if (!next) return;
    this.saving = true;
    writeFileAtomic(this.disk, this.path, encodeHardState(next.state), (err) => {
      this.saving = false;
      next.cb(err ? new UnderstudyError('LOG_IO', `writing ${this.path}: ${err.message}`, { path: this.path }) : null);
      this.pump();
    });
  }
}
