// Differential scripts for the order of whole-collection replies (same format as
// differential-cases.ts; each script starts from an empty keyspace), compared byte for byte:
// a set Redis holds as an intset comes back in numeric order from every command that returns it
// whole; ZRANGEBYLEX and friends on members of mixed scores (Redis's lexical ranges assume
// equal scores: see MIXED_SCORE_LEX below); SORT on sorted sets with BY, GET, LIMIT and STORE.
import type { DiffCase } from './differential-cases.ts';

export const ORDER_CASES: readonly DiffCase[] = [
  {
    name: 'intset order: SMEMBERS, SSCAN, SUNION, SINTER, SDIFF, SRANDMEMBER and SPOP of the whole set, SORT BY nosort',
    commands: [
      ['sadd', 'i', '10', '9', '-1', '100', '2', '-20', '0', '9223372036854775807', '-9223372036854775808'],
      ['smembers', 'i'],
      ['sscan', 'i', '0'],
      ['sscan', 'i', '0', 'match', '1*'],
      ['sadd', 'j', '9', '10', '5', '-1'],
      ['sunion', 'i', 'j'],
      ['sinter', 'i', 'j'],
      ['sinter', 'j', 'i'],
      ['sdiff', 'i', 'j'],
      ['sdiff', 'j', 'i'],
      ['srandmember', 'i', '100'],
      ['sort', 'i', 'by', 'nosort'],
      ['sort', 'i', 'by', 'nosort', 'desc'],
      ['sort', 'i', 'by', 'nosort', 'limit', '2', '3'],
      ['sunionstore', 'u', 'i', 'j'],
      ['smembers', 'u'],
      ['spop', 'j', '10'],
      ['sadd', 'k', '3', '1', '2'],
      ['srem', 'k', '1'],
      ['sadd', 'k', '-5'],
      ['smembers', 'k'],
    ],
  },
  {
    name: 'ZRANGEBYLEX, ZREVRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX and ZRANGE BYLEX on members of one score, beside members of others',
    commands: [
      ['zadd', 'z', '0', 'a', '0', 'b', '0', 'c', '0', 'd', '0', 'e', '0', 'f', '0', 'g', '0', 'aa', '0', ''],
      ['zrangebylex', 'z', '-', '+'],
      ['zrangebylex', 'z', '[b', '[f'],
      ['zrangebylex', 'z', '(a', '(g'],
      ['zrangebylex', 'z', '[', '(b'],
      ['zrangebylex', 'z', '[c', '+', 'limit', '1', '3'],
      ['zrevrangebylex', 'z', '+', '-'],
      ['zrevrangebylex', 'z', '[f', '[b'],
      ['zrevrangebylex', 'z', '(g', '-', 'limit', '0', '2'],
      ['zlexcount', 'z', '-', '+'],
      ['zlexcount', 'z', '[b', '[f'],
      ['zlexcount', 'z', '(c', '[e'],
      ['zrange', 'z', '[b', '[g', 'bylex'],
      ['zrange', 'z', '[g', '[b', 'bylex', 'rev'],
      ['zrangestore', 'd', 'z', '[a', '[e', 'bylex'],
      ['zrange', 'd', '0', '-1', 'withscores'],
      ['zremrangebylex', 'z', '[b', '[e'],
      ['zrange', 'z', '0', '-1', 'withscores'],
    ],
  },
  {
    name: 'SORT on sorted sets: by score order unsorted, BY weights and hash fields, GET, LIMIT, ALPHA, DESC and STORE',
    commands: [
      ['zadd', 'z', '3', 'c', '1', 'a', '2', 'b', '5', 'e', '4', 'd', '10', 'x1', '-1', 'y2'],
      ['mset', 'w_a', '50', 'w_b', '40', 'w_c', '30', 'w_d', '20', 'w_e', '10', 'w_x1', '5', 'w_y2', '60', 'o_a', 'A', 'o_b', 'B', 'o_c', 'C'],
      ['hset', 'h_a', 'f', '3'],
      ['hset', 'h_b', 'f', '1'],
      ['sort', 'z', 'alpha'],
      ['sort', 'z', 'alpha', 'desc'],
      ['sort', 'z'],
      ['sort', 'z', 'by', 'nosort'],
      ['sort', 'z', 'by', 'nosort', 'desc'],
      ['sort', 'z', 'by', 'nosort', 'limit', '1', '3'],
      ['sort', 'z', 'by', 'nosort', 'desc', 'limit', '0', '2'],
      ['sort', 'z', 'by', 'w_*'],
      ['sort', 'z', 'by', 'w_*', 'desc', 'get', '#', 'get', 'o_*'],
      ['sort', 'z', 'by', 'w_*', 'alpha'],
      ['sort', 'z', 'by', 'w_*', 'alpha', 'desc', 'get', 'h_*->f'],
      ['sort', 'z', 'by', 'nosort', 'get', 'o_*', 'get', '#'],
      ['sort', 'z', 'by', 'w_*', 'limit', '2', '2', 'store', 'dst'],
      ['lrange', 'dst', '0', '-1'],
      ['sort', 'z', 'by', 'nosort', 'store', 'dst2'],
      ['lrange', 'dst2', '0', '-1'],
      ['sort_ro', 'z', 'by', 'nosort', 'desc'],
      ['sort_ro', 'z', 'alpha', 'limit', '0', '3'],
    ],
  },
];

/**
 * Lexical ranges over members of different scores: Redis documents the result as unspecified
 * (its listpack walks score order from the first member >= min and stops at the first > max; its
 * skiplist's answer depends on random node levels). Here a lexical range is always the members
 * in the range in byte order, whatever their scores — a deliberate difference, README.
 */
export const MIXED_SCORE_LEX = {
  setup: ['zadd', 'mixed', '0', 'a', '0', 'b', '1', 'c', '0', 'd', '2', 'e', '1', 'f', '0', 'g', '-1', 'h', '3', 'aa'],
  command: ['zrangebylex', 'mixed', '[b', '[f'],
  ours: '*5\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n',
} as const;
