// The storage area of claim 1: the interface, its two implementations, and a
// helper to pick one by name (configuration and tools say 'memory' or 'lmdb').
import { UnderstudyError } from '../errors.ts';
import { LmdbStorage, type LmdbStorageOptions } from './lmdb-storage.ts';
import { MemoryStorage, type MemoryStorageOptions } from './memory-storage.ts';
import type { StorageArea } from './storage-area.ts';

export type { StateReader, StorageArea } from './storage-area.ts';
export { MemoryStorage, type MemoryStorageOptions, type SyncScheduler } from './memory-storage.ts';
export { LmdbStorage, LMDB_FORMAT_VERSION, type LmdbStorageOptions } from './lmdb-storage.ts';
export { MAX_KEY_BYTES } from './update-checks.ts';
export { combineRegionDigests, RegionDigest } from './region-digest.ts';

export type StorageKind = 'memory' | 'lmdb';

export interface OpenStorageOptions {
  readonly memory?: MemoryStorageOptions;
  readonly lmdb?: LmdbStorageOptions;
}

/** Opens a storage area of the given kind; `dir` is required for 'lmdb' and unused for 'memory'. */
export function openStorage(kind: StorageKind, dir?: string, options: OpenStorageOptions = {}): StorageArea {
  if (kind === 'memory') return new MemoryStorage(options.memory);
  if (dir === undefined) throw new UnderstudyError('CONFIG_INVALID', "storage kind 'lmdb' needs a data directory");
  return LmdbStorage.open(dir, options.lmdb);
}
