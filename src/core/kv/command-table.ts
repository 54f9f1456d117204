// The data commands the key-value executor understands, described the way Redis 7.0 describes
// them (COMMAND INFO / COMMAND DOCS): arity, flags, key positions, ACL categories. The executor
// checks arity from here, the replication layer asks it which commands write and which keys a
// command touches (regions), and the server can answer COMMAND INFO / COUNT / DOCS from it.

/** may_replicate: neither read-only nor a write by itself; what it runs decides (EVAL, SCRIPT). */
export type CommandFlag = 'write' | 'readonly' | 'denyoom' | 'fast' | 'noscript' | 'blocking' | 'may_replicate';
export type CommandGroup = 'string' | 'generic' | 'server' | 'hash' | 'list' | 'set' | 'sorted_set' | 'bitmap' | 'hyperloglog' | 'scripting';

export interface CommandSpec {
  /** Lower-case name, as Redis reports it. */
  readonly name: string;
  /** Redis convention: N = exactly N arguments including the name; -N = at least N. */
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  /** 1-based position of the first key (0 = no keys). */
  readonly firstKey: number;
  /** Position of the last key; negative counts from the end (-1 = last argument). */
  readonly lastKey: number;
  /** Distance between keys (2 for MSET's key value key value …). */
  readonly step: number;
  readonly aclCategories: readonly string[];
  readonly group: CommandGroup;
  readonly summary: string;
  readonly since: string;
}

function spec(
  name: string,
  arity: number,
  flags: readonly CommandFlag[],
  keys: readonly [number, number, number],
  aclCategories: readonly string[],
  group: CommandGroup,
  since: string,
  summary: string,
): CommandSpec {
  return { name, arity, flags, firstKey: keys[0], lastKey: keys[1], step: keys[2], aclCategories, group, summary, since };
}

const ONE: readonly [number, number, number] = [1, 1, 1];
const ALL: readonly [number, number, number] = [1, -1, 1];
const NONE: readonly [number, number, number] = [0, 0, 0];
const W = ['write'] as const;
const WF = ['write', 'fast'] as const;
const WD = ['write', 'denyoom'] as const;
const WDF = ['write', 'denyoom', 'fast'] as const;
const RF = ['readonly', 'fast'] as const;
const R = ['readonly'] as const;
const STR_W_FAST = ['@write', '@string', '@fast'];
const STR_W_SLOW = ['@write', '@string', '@slow'];
const STR_R_FAST = ['@read', '@string', '@fast'];
const KS_W_FAST = ['@keyspace', '@write', '@fast'];
const KS_W_SLOW = ['@keyspace', '@write', '@slow'];
const KS_R_FAST = ['@keyspace', '@read', '@fast'];
const HASH_W_FAST = ['@write', '@hash', '@fast'];
const HASH_R_FAST = ['@read', '@hash', '@fast'];
const HASH_R_SLOW = ['@read', '@hash', '@slow'];
const SET_W_FAST = ['@write', '@set', '@fast'];
const SET_W_SLOW = ['@write', '@set', '@slow'];
const SET_R_FAST = ['@read', '@set', '@fast'];
const SET_R_SLOW = ['@read', '@set', '@slow'];
const LIST_W_FAST = ['@write', '@list', '@fast'];
const LIST_W_SLOW = ['@write', '@list', '@slow'];
const LIST_R_SLOW = ['@read', '@list', '@slow'];
const Z_W_FAST = ['@write', '@sortedset', '@fast'];
const Z_W_SLOW = ['@write', '@sortedset', '@slow'];
const Z_R_FAST = ['@read', '@sortedset', '@fast'];
const Z_R_SLOW = ['@read', '@sortedset', '@slow'];

/** Every data command, in Redis's order of documentation groups. */
export const COMMANDS: readonly CommandSpec[] = [
  spec('get', 2, RF, ONE, STR_R_FAST, 'string', '1.0.0', 'Get the value of a key'),
  spec('set', -3, WD, ONE, STR_W_SLOW, 'string', '1.0.0', 'Set the string value of a key'),
  spec('setnx', 3, WDF, ONE, STR_W_FAST, 'string', '1.0.0', 'Set the value of a key, only if the key does not exist'),
  spec('setex', 4, WD, ONE, STR_W_SLOW, 'string', '2.0.0', 'Set the value and expiration of a key'),
  spec('psetex', 4, WD, ONE, STR_W_SLOW, 'string', '2.6.0', 'Set the value and expiration in milliseconds of a key'),
  spec('getset', 3, WDF, ONE, STR_W_FAST, 'string', '1.0.0', 'Set the string value of a key and return its old value'),
  spec('getdel', 2, WF, ONE, STR_W_FAST, 'string', '6.2.0', 'Get the value of a key and delete the key'),
  spec('getex', -2, WF, ONE, STR_W_FAST, 'string', '6.2.0', 'Get the value of a key and optionally set its expiration'),
  spec('mget', -2, RF, ALL, STR_R_FAST, 'string', '1.0.0', 'Get the values of all the given keys'),
  spec('mset', -3, WD, [1, -1, 2], STR_W_SLOW, 'string', '1.0.1', 'Set multiple keys to multiple values'),
  spec('msetnx', -3, WD, [1, -1, 2], STR_W_SLOW, 'string', '1.0.1', 'Set multiple keys to multiple values, only if none of the keys exist'),
  spec('append', 3, WDF, ONE, STR_W_FAST, 'string', '2.0.0', 'Append a value to a key'),
  spec('strlen', 2, RF, ONE, STR_R_FAST, 'string', '2.2.0', 'Get the length of the value stored in a key'),
  spec('getrange', 4, R, ONE, ['@read', '@string', '@slow'], 'string', '2.4.0', 'Get a substring of the string stored at a key'),
  spec('setrange', 4, WD, ONE, STR_W_SLOW, 'string', '2.2.0', 'Overwrite part of a string at key starting at the specified offset'),
  spec('incr', 2, WDF, ONE, STR_W_FAST, 'string', '1.0.0', 'Increment the integer value of a key by one'),
  spec('decr', 2, WDF, ONE, STR_W_FAST, 'string', '1.0.0', 'Decrement the integer value of a key by one'),
  spec('incrby', 3, WDF, ONE, STR_W_FAST, 'string', '1.0.0', 'Increment the integer value of a key by the given amount'),
  spec('decrby', 3, WDF, ONE, STR_W_FAST, 'string', '1.0.0', 'Decrement the integer value of a key by the given number'),
  spec('incrbyfloat', 3, WDF, ONE, STR_W_FAST, 'string', '2.6.0', 'Increment the float value of a key by the given amount'),
  spec('lcs', -3, R, [1, 2, 1], ['@read', '@string', '@slow'], 'string', '7.0.0', 'Find longest common substring'),
  spec('del', -2, W, ALL, KS_W_SLOW, 'generic', '1.0.0', 'Delete a key'),
  spec('unlink', -2, WF, ALL, KS_W_FAST, 'generic', '4.0.0', 'Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.'),
  spec('exists', -2, RF, ALL, KS_R_FAST, 'generic', '1.0.0', 'Determine if a key exists'),
  spec('type', 2, RF, ONE, KS_R_FAST, 'generic', '1.0.0', 'Determine the type stored at key'),
  spec('keys', 2, R, NONE, ['@keyspace', '@read', '@slow', '@dangerous'], 'generic', '1.0.0', 'Find all keys matching the given pattern'),
  spec('scan', -2, R, NONE, ['@keyspace', '@read', '@slow'], 'generic', '2.8.0', 'Incrementally iterate the keys space'),
  spec('rename', 3, W, [1, 2, 1], KS_W_SLOW, 'generic', '1.0.0', 'Rename a key'),
  spec('renamenx', 3, WF, [1, 2, 1], KS_W_FAST, 'generic', '1.0.0', 'Rename a key, only if the new key does not exist'),
  spec('copy', -3, WD, [1, 2, 1], KS_W_SLOW, 'generic', '6.2.0', 'Copy a key'),
  spec('expire', -3, WF, ONE, KS_W_FAST, 'generic', '1.0.0', "Set a key's time to live in seconds"),
  spec('pexpire', -3, WF, ONE, KS_W_FAST, 'generic', '2.6.0', "Set a key's time to live in milliseconds"),
  spec('expireat', -3, WF, ONE, KS_W_FAST, 'generic', '1.2.0', 'Set the expiration for a key as a UNIX timestamp'),
  spec('pexpireat', -3, WF, ONE, KS_W_FAST, 'generic', '2.6.0', 'Set the expiration for a key as a UNIX timestamp specified in milliseconds'),
  spec('expiretime', 2, RF, ONE, KS_R_FAST, 'generic', '7.0.0', 'Get the expiration Unix timestamp for a key'),
  spec('pexpiretime', 2, RF, ONE, KS_R_FAST, 'generic', '7.0.0', 'Get the expiration Unix timestamp for a key in milliseconds'),
  spec('ttl', 2, RF, ONE, KS_R_FAST, 'generic', '1.0.0', 'Get the time to live for a key in seconds'),
  spec('pttl', 2, RF, ONE, KS_R_FAST, 'generic', '2.6.0', 'Get the time to live for a key in milliseconds'),
  spec('persist', 2, WF, ONE, KS_W_FAST, 'generic', '2.2.0', 'Remove the expiration from a key'),
  spec('touch', -2, RF, ALL, KS_R_FAST, 'generic', '3.2.1', 'Alters the last access time of a key(s). Returns the number of existing keys specified.'),
  spec('randomkey', 1, R, NONE, ['@keyspace', '@read', '@slow'], 'generic', '1.0.0', 'Return a random key from the keyspace'),
  spec('dump', 2, R, ONE, ['@keyspace', '@read', '@slow'], 'generic', '2.6.0', 'Return a serialized version of the value stored at the specified key.'),
  spec('restore', -4, WD, ONE, ['@keyspace', '@write', '@slow', '@dangerous'], 'generic', '2.6.0', 'Create a key using the provided serialized value, previously obtained using DUMP.'),
  // The STORE destination follows the options (movable keys); COMMAND INFO names the sorted key only, as Redis does.
  spec('sort', -2, WD, ONE, ['@write', '@set', '@sortedset', '@list', '@slow', '@dangerous'], 'generic', '1.0.0', 'Sort the elements in a list, set or sorted set'),
  spec('sort_ro', -2, R, ONE, ['@read', '@set', '@sortedset', '@list', '@slow'], 'generic', '7.0.0', 'Sort the elements in a list, set or sorted set. Read-only variant of SORT.'),
  spec('object', -2, R, [2, 2, 1], ['@keyspace', '@read', '@slow'], 'generic', '2.2.3', 'A container for object introspection commands'),
  spec('dbsize', 1, RF, NONE, KS_R_FAST, 'server', '1.0.0', 'Return the number of keys in the selected database'),
  spec('flushall', -1, W, NONE, ['@keyspace', '@write', '@slow', '@dangerous'], 'server', '1.0.0', 'Remove all keys from all databases'),
  spec('flushdb', -1, W, NONE, ['@keyspace', '@write', '@slow', '@dangerous'], 'server', '1.0.0', 'Remove all keys from the current database'),
  // ---- hashes (hash-commands.ts)
  spec('hset', -4, WDF, ONE, HASH_W_FAST, 'hash', '2.0.0', 'Set the string value of a hash field'),
  spec('hsetnx', 4, WDF, ONE, HASH_W_FAST, 'hash', '2.0.0', 'Set the value of a hash field, only if the field does not exist'),
  spec('hget', 3, RF, ONE, HASH_R_FAST, 'hash', '2.0.0', 'Get the value of a hash field'),
  spec('hmget', -3, RF, ONE, HASH_R_FAST, 'hash', '2.0.0', 'Get the values of all the given hash fields'),
  spec('hmset', -4, WDF, ONE, HASH_W_FAST, 'hash', '2.0.0', 'Set multiple hash fields to multiple values'),
  spec('hdel', -3, WF, ONE, HASH_W_FAST, 'hash', '2.0.0', 'Delete one or more hash fields'),
  spec('hlen', 2, RF, ONE, HASH_R_FAST, 'hash', '2.0.0', 'Get the number of fields in a hash'),
  spec('hstrlen', 3, RF, ONE, HASH_R_FAST, 'hash', '3.2.0', 'Get the length of the value of a hash field'),
  spec('hexists', 3, RF, ONE, HASH_R_FAST, 'hash', '2.0.0', 'Determine if a hash field exists'),
  spec('hkeys', 2, R, ONE, HASH_R_SLOW, 'hash', '2.0.0', 'Get all the fields in a hash'),
  spec('hvals', 2, R, ONE, HASH_R_SLOW, 'hash', '2.0.0', 'Get all the values in a hash'),
  spec('hgetall', 2, R, ONE, HASH_R_SLOW, 'hash', '2.0.0', 'Get all the fields and values in a hash'),
  spec('hincrby', 4, WDF, ONE, HASH_W_FAST, 'hash', '2.0.0', 'Increment the integer value of a hash field by the given number'),
  spec('hincrbyfloat', 4, WDF, ONE, HASH_W_FAST, 'hash', '2.6.0', 'Increment the float value of a hash field by the given amount'),
  spec('hrandfield', -2, R, ONE, HASH_R_SLOW, 'hash', '6.2.0', 'Get one or multiple random fields from a hash'),
  spec('hscan', -3, R, ONE, HASH_R_SLOW, 'hash', '2.8.0', 'Incrementally iterate hash fields and associated values'),
  // ---- sets (set-commands.ts)
  spec('sadd', -3, WDF, ONE, SET_W_FAST, 'set', '1.0.0', 'Add one or more members to a set'),
  spec('srem', -3, WF, ONE, SET_W_FAST, 'set', '1.0.0', 'Remove one or more members from a set'),
  spec('scard', 2, RF, ONE, SET_R_FAST, 'set', '1.0.0', 'Get the number of members in a set'),
  spec('sismember', 3, RF, ONE, SET_R_FAST, 'set', '1.0.0', 'Determine if a given value is a member of a set'),
  spec('smismember', -3, RF, ONE, SET_R_FAST, 'set', '6.2.0', 'Returns the membership associated with the given elements for a set'),
  spec('smembers', 2, R, ONE, SET_R_SLOW, 'set', '1.0.0', 'Get all the members in a set'),
  spec('spop', -2, WF, ONE, SET_W_FAST, 'set', '1.0.0', 'Remove and return one or multiple random members from a set'),
  spec('srandmember', -2, R, ONE, SET_R_SLOW, 'set', '1.0.0', 'Get one or multiple random members from a set'),
  spec('smove', 4, WF, [1, 2, 1], SET_W_FAST, 'set', '1.0.0', 'Move a member from one set to another'),
  spec('sinter', -2, R, ALL, SET_R_SLOW, 'set', '1.0.0', 'Intersect multiple sets'),
  // Keys follow numkeys (movable keys): COMMAND INFO reports no fixed key positions, as Redis does.
  spec('sintercard', -3, R, NONE, SET_R_SLOW, 'set', '7.0.0', 'Intersect multiple sets and return the cardinality of the result'),
  spec('sinterstore', -3, WD, ALL, SET_W_SLOW, 'set', '1.0.0', 'Intersect multiple sets and store the resulting set in a key'),
  spec('sunion', -2, R, ALL, SET_R_SLOW, 'set', '1.0.0', 'Add multiple sets'),
  spec('sunionstore', -3, WD, ALL, SET_W_SLOW, 'set', '1.0.0', 'Add multiple sets and store the resulting set in a key'),
  spec('sdiff', -2, R, ALL, SET_R_SLOW, 'set', '1.0.0', 'Subtract multiple sets'),
  spec('sdiffstore', -3, WD, ALL, SET_W_SLOW, 'set', '1.0.0', 'Subtract multiple sets and store the resulting set in a key'),
  spec('sscan', -3, R, ONE, SET_R_SLOW, 'set', '2.6.0', 'Incrementally iterate Set elements'),
  // ---- lists (list-commands.ts)
  spec('lpush', -3, WDF, ONE, LIST_W_FAST, 'list', '1.0.0', 'Prepend one or multiple elements to a list'),
  spec('rpush', -3, WDF, ONE, LIST_W_FAST, 'list', '1.0.0', 'Append one or multiple elements to a list'),
  spec('lpushx', -3, WDF, ONE, LIST_W_FAST, 'list', '2.2.0', 'Prepend an element to a list, only if the list exists'),
  spec('rpushx', -3, WDF, ONE, LIST_W_FAST, 'list', '2.2.0', 'Append an element to a list, only if the list exists'),
  spec('lpop', -2, WF, ONE, LIST_W_FAST, 'list', '1.0.0', 'Remove and get the first elements in a list'),
  spec('rpop', -2, WF, ONE, LIST_W_FAST, 'list', '1.0.0', 'Remove and get the last elements in a list'),
  spec('llen', 2, RF, ONE, ['@read', '@list', '@fast'], 'list', '1.0.0', 'Get the length of a list'),
  spec('lindex', 3, R, ONE, LIST_R_SLOW, 'list', '1.0.0', 'Get an element from a list by its index'),
  spec('lrange', 4, R, ONE, LIST_R_SLOW, 'list', '1.0.0', 'Get a range of elements from a list'),
  spec('lset', 4, WD, ONE, LIST_W_SLOW, 'list', '1.0.0', 'Set the value of an element in a list by its index'),
  spec('linsert', 5, WD, ONE, LIST_W_SLOW, 'list', '2.2.0', 'Insert an element before or after another element in a list'),
  spec('lrem', 4, W, ONE, LIST_W_SLOW, 'list', '1.0.0', 'Remove elements from a list'),
  spec('ltrim', 4, W, ONE, LIST_W_SLOW, 'list', '1.0.0', 'Trim a list to the specified range'),
  spec('lpos', -3, R, ONE, LIST_R_SLOW, 'list', '6.0.6', 'Return the index of matching elements on a list'),
  spec('lmove', 5, WD, [1, 2, 1], LIST_W_SLOW, 'list', '6.2.0', 'Pop an element from a list, push it to another list and return it'),
  spec('rpoplpush', 3, WD, [1, 2, 1], LIST_W_SLOW, 'list', '1.2.0', 'Remove the last element in a list, prepend it to another list and return it'),
  // Keys follow numkeys (movable keys), as for SINTERCARD.
  spec('lmpop', -4, W, NONE, LIST_W_SLOW, 'list', '7.0.0', 'Pop elements from a list'),
  // ---- blocking pops (blocking-commands.ts; the waiting is src/server/blocking.ts)
  spec('blpop', -3, ['write', 'noscript', 'blocking'], [1, -2, 1], ['@write', '@list', '@slow', '@blocking'], 'list', '2.0.0', 'Remove and get the first element in a list, or block until one is available'),
  spec('brpop', -3, ['write', 'noscript', 'blocking'], [1, -2, 1], ['@write', '@list', '@slow', '@blocking'], 'list', '2.0.0', 'Remove and get the last element in a list, or block until one is available'),
  spec('brpoplpush', 4, ['write', 'denyoom', 'noscript', 'blocking'], [1, 2, 1], ['@write', '@list', '@slow', '@blocking'], 'list', '2.2.0', 'Pop an element from a list, push it to another list and return it; or block until one is available'),
  spec('blmove', 6, ['write', 'denyoom', 'noscript', 'blocking'], [1, 2, 1], ['@write', '@list', '@slow', '@blocking'], 'list', '6.2.0', 'Pop an element from a list, push it to another list and return it; or block until one is available'),
  // Keys follow numkeys (movable keys), as for LMPOP.
  spec('blmpop', -5, ['write', 'blocking'], NONE, ['@write', '@list', '@slow', '@blocking'], 'list', '7.0.0', 'Pop elements from a list, or block until one is available'),
  spec('bzpopmin', -3, ['write', 'noscript', 'blocking', 'fast'], [1, -2, 1], ['@write', '@sortedset', '@fast', '@blocking'], 'sorted_set', '5.0.0', 'Remove and return the member with the lowest score from one or more sorted sets, or block until one is available'),
  spec('bzpopmax', -3, ['write', 'noscript', 'blocking', 'fast'], [1, -2, 1], ['@write', '@sortedset', '@fast', '@blocking'], 'sorted_set', '5.0.0', 'Remove and return the member with the highest score from one or more sorted sets, or block until one is available'),
  spec('bzmpop', -5, ['write', 'blocking'], NONE, ['@write', '@sortedset', '@slow', '@blocking'], 'sorted_set', '7.0.0', 'Remove and return members with scores in a sorted set or block until one is available'),
  // ---- sorted sets (zset-commands.ts, zset-combine.ts)
  spec('zadd', -4, WDF, ONE, Z_W_FAST, 'sorted_set', '1.2.0', 'Add one or more members to a sorted set, or update its score if it already exists'),
  spec('zincrby', 4, WDF, ONE, Z_W_FAST, 'sorted_set', '1.2.0', 'Increment the score of a member in a sorted set'),
  spec('zrem', -3, WF, ONE, Z_W_FAST, 'sorted_set', '1.2.0', 'Remove one or more members from a sorted set'),
  spec('zcard', 2, RF, ONE, Z_R_FAST, 'sorted_set', '1.2.0', 'Get the number of members in a sorted set'),
  spec('zscore', 3, RF, ONE, Z_R_FAST, 'sorted_set', '1.2.0', 'Get the score associated with the given member in a sorted set'),
  spec('zmscore', -3, RF, ONE, Z_R_FAST, 'sorted_set', '6.2.0', 'Get the score associated with the given members in a sorted set'),
  spec('zrank', 3, RF, ONE, Z_R_FAST, 'sorted_set', '2.0.0', 'Determine the index of a member in a sorted set'),
  spec('zrevrank', 3, RF, ONE, Z_R_FAST, 'sorted_set', '2.0.0', 'Determine the index of a member in a sorted set, with scores ordered from high to low'),
  spec('zcount', 4, RF, ONE, Z_R_FAST, 'sorted_set', '2.0.0', 'Count the members in a sorted set with scores within the given values'),
  spec('zlexcount', 4, RF, ONE, Z_R_FAST, 'sorted_set', '2.8.9', 'Count the number of members in a sorted set between a given lexicographical range'),
  spec('zrange', -4, R, ONE, Z_R_SLOW, 'sorted_set', '1.2.0', 'Return a range of members in a sorted set'),
  spec('zrangestore', -5, WD, [1, 2, 1], Z_W_SLOW, 'sorted_set', '6.2.0', 'Store a range of members from sorted set into another key'),
  spec('zrangebyscore', -4, R, ONE, Z_R_SLOW, 'sorted_set', '1.0.5', 'Return a range of members in a sorted set, by score'),
  spec('zrevrangebyscore', -4, R, ONE, Z_R_SLOW, 'sorted_set', '2.2.0', 'Return a range of members in a sorted set, by score, with scores ordered from high to low'),
  spec('zrangebylex', -4, R, ONE, Z_R_SLOW, 'sorted_set', '2.8.9', 'Return a range of members in a sorted set, by lexicographical range'),
  spec('zrevrangebylex', -4, R, ONE, Z_R_SLOW, 'sorted_set', '2.8.9', 'Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.'),
  spec('zrevrange', -4, R, ONE, Z_R_SLOW, 'sorted_set', '1.2.0', 'Return a range of members in a sorted set, by index, with scores ordered from high to low'),
  spec('zremrangebyrank', 4, W, ONE, Z_W_SLOW, 'sorted_set', '2.0.0', 'Remove all members in a sorted set within the given indexes'),
  spec('zremrangebyscore', 4, W, ONE, Z_W_SLOW, 'sorted_set', '1.2.0', 'Remove all members in a sorted set within the given scores'),
  spec('zremrangebylex', 4, W, ONE, Z_W_SLOW, 'sorted_set', '2.8.9', 'Remove all members in a sorted set between the given lexicographical range'),
  spec('zpopmin', -2, WF, ONE, Z_W_FAST, 'sorted_set', '5.0.0', 'Remove and return members with the lowest scores in a sorted set'),
  spec('zpopmax', -2, WF, ONE, Z_W_FAST, 'sorted_set', '5.0.0', 'Remove and return members with the highest scores in a sorted set'),
  // Keys follow numkeys (movable keys): COMMAND INFO reports no fixed key positions, as Redis does.
  spec('zmpop', -4, W, NONE, Z_W_SLOW, 'sorted_set', '7.0.0', 'Remove and return members with scores in a sorted set'),
  spec('zrandmember', -2, R, ONE, Z_R_SLOW, 'sorted_set', '6.2.0', 'Get one or multiple random elements from a sorted set'),
  spec('zunion', -3, R, NONE, Z_R_SLOW, 'sorted_set', '6.2.0', 'Add multiple sorted sets'),
  spec('zunionstore', -4, WD, ONE, Z_W_SLOW, 'sorted_set', '2.0.0', 'Add multiple sorted sets and store the resulting sorted set in a new key'),
  spec('zinter', -3, R, NONE, Z_R_SLOW, 'sorted_set', '6.2.0', 'Intersect multiple sorted sets'),
  spec('zinterstore', -4, WD, ONE, Z_W_SLOW, 'sorted_set', '2.0.0', 'Intersect multiple sorted sets and store the resulting sorted set in a new key'),
  spec('zintercard', -3, R, NONE, Z_R_SLOW, 'sorted_set', '7.0.0', 'Intersect multiple sorted sets and return the cardinality of the result'),
  spec('zdiff', -3, R, NONE, Z_R_SLOW, 'sorted_set', '6.2.0', 'Subtract multiple sorted sets'),
  spec('zdiffstore', -4, WD, ONE, Z_W_SLOW, 'sorted_set', '6.2.0', 'Subtract multiple sorted sets and store the resulting sorted set in a new key'),
  spec('zscan', -3, R, ONE, Z_R_SLOW, 'sorted_set', '2.8.0', 'Incrementally iterate sorted sets elements and associated scores'),
  // ---- bitmaps (bitmap-commands.ts) and HyperLogLog (hll-commands.ts)
  spec('setbit', 4, WD, ONE, ['@write', '@bitmap', '@slow'], 'bitmap', '2.2.0', 'Sets or clears the bit at offset in the string value stored at key'),
  spec('getbit', 3, RF, ONE, ['@read', '@bitmap', '@fast'], 'bitmap', '2.2.0', 'Returns the bit value at offset in the string value stored at key'),
  spec('bitcount', -2, R, ONE, ['@read', '@bitmap', '@slow'], 'bitmap', '2.6.0', 'Count set bits in a string'),
  spec('bitpos', -3, R, ONE, ['@read', '@bitmap', '@slow'], 'bitmap', '2.8.7', 'Find first bit set or clear in a string'),
  spec('bitop', -4, WD, [2, -1, 1], ['@write', '@bitmap', '@slow'], 'bitmap', '2.6.0', 'Perform bitwise operations between strings'),
  spec('bitfield', -2, WD, ONE, ['@write', '@bitmap', '@slow'], 'bitmap', '3.2.0', 'Perform arbitrary bitfield integer operations on strings'),
  spec('bitfield_ro', -2, RF, ONE, ['@read', '@bitmap', '@fast'], 'bitmap', '6.0.0', 'Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD'),
  // Scripts: neither read-only nor write (what a script does decides; its keys are movable).
  spec('eval', -3, ['noscript', 'may_replicate'], NONE, ['@slow', '@scripting'], 'scripting', '2.6.0', 'Execute a Lua script server side'),
  spec('evalsha', -3, ['noscript', 'may_replicate'], NONE, ['@slow', '@scripting'], 'scripting', '2.6.0', 'Execute a Lua script server side'),
  spec('eval_ro', -3, ['noscript', 'readonly'], NONE, ['@slow', '@scripting'], 'scripting', '7.0.0', 'Execute a read-only Lua script server side'),
  spec('evalsha_ro', -3, ['noscript', 'readonly'], NONE, ['@slow', '@scripting'], 'scripting', '7.0.0', 'Execute a read-only Lua script server side'),
  spec('script', -2, ['noscript', 'may_replicate'], NONE, ['@slow', '@scripting'], 'scripting', '2.6.0', 'A container for Lua scripts management commands'),
  spec('pfadd', -2, WDF, ONE, ['@write', '@hyperloglog', '@fast'], 'hyperloglog', '2.8.9', 'Adds the specified elements to the specified HyperLogLog.'),
  // A read, as in Redis; on the primary, storing a stale cached cardinality is replicated as a write of its 8 bytes.
  spec('pfcount', -2, R, ALL, ['@read', '@hyperloglog', '@slow'], 'hyperloglog', '2.8.9', 'Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).'),
  spec('pfmerge', -2, WD, ALL, ['@write', '@hyperloglog', '@slow'], 'hyperloglog', '2.8.9', 'Merge N different HyperLogLogs into a single one.'),
];

/** By lower- and upper-case name: clients send one or the other, so mixed case is the slow path. */
const BY_NAME: ReadonlyMap<string, CommandSpec> = new Map(COMMANDS.flatMap((c) => [[c.name, c] as const, [c.name.toUpperCase(), c] as const]));

/** Longest command name: longer inputs cannot be commands, so they are not lower-cased. */
const MAX_NAME_LENGTH = Math.max(...COMMANDS.map((c) => c.name.length));

/** The spec of a command name given in any case (bytes as sent), or undefined. */
export function lookupCommand(name: Buffer | string): CommandSpec | undefined {
  if (name.length > MAX_NAME_LENGTH) return undefined;
  const s = typeof name === 'string' ? name : name.toString('latin1');
  return BY_NAME.get(s) ?? BY_NAME.get(s.toLowerCase());
}

/** True if the named command can modify the data (it must be replicated as an update). */
export function isWriteCommand(name: Buffer | string): boolean {
  return lookupCommand(name)?.flags.includes('write') ?? false;
}

/** True if `argc` (name included) satisfies the spec's arity. */
export function arityOk(cmd: CommandSpec, argc: number): boolean {
  return cmd.arity > 0 ? argc === cmd.arity : argc >= -cmd.arity;
}

/**
 * The key arguments of a command (for regions and routing), from firstKey/lastKey/step.
 * Unknown commands and commands with the wrong arity have no keys.
 */
export function commandKeys(args: readonly Buffer[]): Buffer[] {
  const name = args[0];
  if (name === undefined) return [];
  const cmd = lookupCommand(name);
  if (!cmd || cmd.firstKey === 0 || !arityOk(cmd, args.length)) return [];
  const last = cmd.lastKey < 0 ? args.length + cmd.lastKey : cmd.lastKey;
  const keys: Buffer[] = [];
  for (let i = cmd.firstKey; i <= last && i < args.length; i += cmd.step) keys.push(args[i]!);
  return keys;
}
