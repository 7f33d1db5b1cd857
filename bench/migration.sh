#!/usr/bin/env bash
# Measures what a migration from redis-server to Shoal costs, against
# redis-server itself:
#   1. load rate: shoal import-rdb of an RDB written by redis-server,
#      beside redis-server loading the same file at start;
#   2. replication lag: a Shoal replica and a redis-server replica of the
#      same redis-server primary, sampled every 0.2 s while redis-benchmark
#      writes to the primary, and the time each takes to catch up after.
# Usage: [N=requests] [P=pipeline] bench/migration.sh [shoal binary]
# (default: go build ./cmd/shoal; N=300000, P=16)
set -euo pipefail
SHOAL=${1:-}
W=$(mktemp -d)
trap 'redis-cli -p 17302 shutdown nosave >/dev/null 2>&1 || true; redis-cli -p 17303 shutdown nosave >/dev/null 2>&1 || true; redis-cli -p 17301 shutdown nosave >/dev/null 2>&1 || true; rm -rf "$W"' EXIT
if [ -z "$SHOAL" ]; then SHOAL=$W/shoal; go build -o "$SHOAL" ./cmd/shoal; fi
up() { while ! redis-cli -p "$1" ping 2>/dev/null | grep -q PONG; do sleep 0.05; done; }
off() { redis-cli -p "$1" info replication | tr -d '\r' | awk -F: -v f="$2" '$1==f{print $2}'; }

echo "== load rate: 1M strings of 100 bytes, 50k each of hashes, sets, sorted sets, lists of 10"
mkdir -p "$W/r"
redis-server --port 17302 --dir "$W/r" --save "" --enable-debug-command yes --logfile "$W/r/log" &
up 17302
redis-cli -p 17302 debug populate 1000000 str 100 >/dev/null
python3 - <<'PY' | redis-cli -p 17302 --pipe >/dev/null
import sys
def cmd(*a):
    sys.stdout.write('*%d\r\n' % len(a) + ''.join('$%d\r\n%s\r\n' % (len(str(x)), x) for x in a))
for i in range(50000):
    cmd('HSET', 'h:%d' % i, *[v for j in range(10) for v in ('f%d' % j, 'value-%d-%d' % (i, j))])
    cmd('SADD', 's:%d' % i, *['m%d' % j for j in range(10)])
    cmd('ZADD', 'z:%d' % i, *[v for j in range(10) for v in (j * 1.5, 'm%d' % j)])
    cmd('RPUSH', 'l:%d' % i, *['e%d' % j for j in range(10)])
PY
redis-cli -p 17302 save >/dev/null
redis-cli -p 17302 shutdown nosave >/dev/null || true
ls -l "$W/r/dump.rdb" | awk '{print "RDB bytes:", $5}'
for i in 1 2 3; do
  redis-server --port 17302 --dir "$W/r" --save "" --logfile "$W/r/load$i" &
  sleep 0.2; up 17302
  grep -o "DB loaded from disk: .*" "$W/r/load$i" | sed 's/^/redis-server: /'
  redis-cli -p 17302 shutdown nosave >/dev/null || true; sleep 0.3
  rm -rf "$W/s"
  "$SHOAL" import-rdb "$W/r/dump.rdb" --dir "$W/s" | tail -1 | sed 's/^/shoal: /'
done

echo "== replication lag under redis-benchmark writes to the primary"
rm -rf "$W/p" "$W/rr" "$W/s"; mkdir -p "$W/p" "$W/rr"
redis-server --port 17302 --dir "$W/p" --save "" --repl-diskless-sync-delay 0 --logfile "$W/p/log" &
redis-server --port 17303 --dir "$W/rr" --save "" --logfile "$W/rr/log" &
"$SHOAL" --port 17301 --dir "$W/s" --logfile "$W/s.log" &
up 17302; up 17303; up 17301
redis-cli -p 17303 replicaof 127.0.0.1 17302 >/dev/null
redis-cli -p 17301 replicaof 127.0.0.1 17302 >/dev/null
while [ "$(off 17301 master_link_status)" != up ] || [ "$(off 17303 master_link_status)" != up ]; do sleep 0.1; done
redis-benchmark -p 17302 -t set,incr,lpush,sadd,hset,zadd -n "${N:-300000}" -c 50 -P "${P:-16}" -r 100000 -q > "$W/bench.txt" &
B=$!
maxs=0; maxr=0; samples=0
while kill -0 $B 2>/dev/null; do
  # NB: the replicas first, so a sample never reads a replica ahead of its primary.
  s=$(off 17301 slave_repl_offset); r=$(off 17303 slave_repl_offset); p=$(off 17302 master_repl_offset)
  ls=$((p-s)); lr=$((p-r)); samples=$((samples+1))
  [ $ls -gt $maxs ] && maxs=$ls; [ $lr -gt $maxr ] && maxr=$lr
  sumS=$(( ${sumS:-0} + ls )); sumR=$(( ${sumR:-0} + lr ))
  sleep 0.2
done
ms() { echo $(( $(date +%s%N) / 1000000 )); }
end=$(ms); p=$(off 17302 master_repl_offset)
while [ "$(off 17303 slave_repl_offset)" -lt "$p" ]; do sleep 0.01; done; tr=$(( $(ms) - end ))
while [ "$(off 17301 slave_repl_offset)" -lt "$p" ]; do sleep 0.01; done; ts=$(( $(ms) - end ))
sed 's/\r/\n/g' "$W/bench.txt" | grep "requests per second" | sed 's/^ */primary: /'
echo "stream bytes: $p; samples: $samples"
echo "redis-server replica: max lag $maxr bytes, mean $((sumR/samples)) bytes, caught up ${tr} ms after the load"
echo "shoal replica:        max lag $maxs bytes, mean $((sumS/samples)) bytes, caught up ${ts} ms after the load"
