# A redis-py client in Sentinel mode writing hashes and sorted sets for the failover test
# (hash-zset-failover.test.ts): each write is announced on stdout before it is sent ("send kind
# key name value") and confirmed once redis-py returned ("ack key name"); errors during the
# failover are retried with the next write. Bounded by a count and a time.
# Usage: redis-py-writer.py host:port,host:port,... master-name max-writes max-ms
import sys
import time

import redis
from redis.sentinel import Sentinel

sentinels = [(a.rsplit(':', 1)[0], int(a.rsplit(':', 1)[1])) for a in sys.argv[1].split(',')]
name, max_writes, max_ms = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sentinel = Sentinel(sentinels, socket_timeout=3)
primary = sentinel.master_for(name, socket_timeout=3, socket_connect_timeout=2)
started = time.monotonic()
for i in range(max_writes):
    if (time.monotonic() - started) * 1000 > max_ms:
        break
    if i % 2 == 0:
        key, member, value = 'py:hash', 'f%d' % i, 'py%d' % i
        print('send hset %s %s %s' % (key, member, value), flush=True)
    else:
        key, member, value = 'py:zset', 'm%d' % i, str((i * 7919) % 1000)
        print('send zadd %s %s %s' % (key, member, value), flush=True)
    try:
        if i % 2 == 0:
            assert primary.hset(key, member, value) == 1
        else:
            assert primary.zadd(key, {member: int(value)}) == 1
        print('ack %s %s' % (key, member), flush=True)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.ReadOnlyError, redis.exceptions.ResponseError) as e:
        print('error %s' % str(e).replace('\n', ' '), file=sys.stderr, flush=True)
        time.sleep(0.02)
