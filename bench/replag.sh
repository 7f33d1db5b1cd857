#!/usr/bin/env bash
# Replication lag of a Shoal replica beside a redis-server replica of the
# same redis-server primary, one redis-benchmark write test at a time:
# for each test, the primary's rate, the stream's size, each replica's
# largest lag (sampled every 0.2 s during the load), the time each took to
# catch up after the load (polled every 10 ms), and the CPU time each
# process used over the test.
# Usage: [N=requests] [P=pipeline] [TESTS="set incr ..."] [PIN=1] [TRACE=1] bench/replag.sh [shoal binary]
# (default: go build ./cmd/shoal; N=300000, P=16, the six write tests of
# bench/migration.sh; PIN=1 runs the primary and redis-benchmark on CPU 0
# and both replicas on CPU 1; TRACE=1 prints every sample of the lags
# during the load, in kB, to stderr)
set -euo pipefail
SHOAL=${1:-}
W=$(mktemp -d)
trap 'for p in 17311 17312 17313; do redis-cli -p $p shutdown nosave >/dev/null 2>&1 || true; done; rm -rf "$W"' EXIT
if [ -z "$SHOAL" ]; then SHOAL=$W/shoal; go build -o "$SHOAL" ./cmd/shoal; fi
PIN0=(); PIN1=()
if [ -n "${PIN:-}" ]; then PIN0=(taskset -c 0); PIN1=(taskset -c 1); fi
up() { while ! redis-cli -p "$1" ping 2>/dev/null | grep -q PONG; do sleep 0.05; done; }
off() { redis-cli -p "$1" info replication | tr -d '\r' | awk -F: -v f="$2" '$1==f{print $2}'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; } # user + system, in 1/100 s

mkdir -p "$W/p" "$W/r"
"${PIN0[@]}" redis-server --port 17312 --dir "$W/p" --save "" --repl-diskless-sync-delay 0 --logfile "$W/p/log" &
PP=$!
"${PIN1[@]}" redis-server --port 17313 --dir "$W/r" --save "" --logfile "$W/r/log" &
RP=$!
"${PIN1[@]}" "$SHOAL" --port 17311 --dir "$W/s" --logfile "$W/s.log" &
SP=$!
up 17312; up 17313; up 17311
redis-cli -p 17313 replicaof 127.0.0.1 17312 >/dev/null
redis-cli -p 17311 replicaof 127.0.0.1 17312 >/dev/null
while [ "$(off 17311 master_link_status)" != up ] || [ "$(off 17313 master_link_status)" != up ]; do sleep 0.1; done

echo "| test | primary req/s | stream MB | max lag Shoal / Redis (kB) | caught up after the load, Shoal / Redis (ms) | CPU s Shoal / redis replica / primary |"
echo "|---|---|---|---|---|---|"
for t in ${TESTS:-set incr lpush sadd hset zadd}; do
  p0=$(off 17312 master_repl_offset)
  s0=$(ticks $SP); r0=$(ticks $RP); q0=$(ticks $PP)
  "${PIN0[@]}" redis-benchmark -p 17312 -t "$t" -n "${N:-300000}" -c 50 -P "${P:-16}" -r 100000 -q > "$W/bench.txt" &
  B=$!; maxs=0; maxr=0; t0=$(ms)
  while kill -0 $B 2>/dev/null; do
    # NB: the replicas first, so a sample never reads one ahead of its primary.
    s=$(off 17311 slave_repl_offset); r=$(off 17313 slave_repl_offset); p=$(off 17312 master_repl_offset)
    [ $((p-s)) -gt $maxs ] && maxs=$((p-s)); [ $((p-r)) -gt $maxr ] && maxr=$((p-r))
    [ -n "${TRACE:-}" ] && echo "$t at $(( $(ms) - t0 )) ms: lag Shoal $(( (p-s)/1000 )) kB, Redis $(( (p-r)/1000 )) kB" >&2
    sleep 0.2
  done
  wait $B
  end=$(ms); p=$(off 17312 master_repl_offset); ts=; tr=
  while [ -z "$ts" ] || [ -z "$tr" ]; do
    [ -z "$ts" ] && [ "$(off 17311 slave_repl_offset)" -ge "$p" ] && ts=$(( $(ms) - end ))
    [ -z "$tr" ] && [ "$(off 17313 slave_repl_offset)" -ge "$p" ] && tr=$(( $(ms) - end ))
    sleep 0.01
  done
  s1=$(ticks $SP); r1=$(ticks $RP); q1=$(ticks $PP)
  rps=$(sed 's/\r/\n/g' "$W/bench.txt" | grep "requests per second" | tail -1 | awk '{print $2}')
  printf '| %s | %s | %.1f | %d / %d | %d / %d | %.2f / %.2f / %.2f |\n' "$t" "$rps" "$(echo "($p-$p0)/1000000" | bc -l)" \
    $((maxs/1000)) $((maxr/1000)) "$ts" "$tr" "$(echo "($s1-$s0)/100" | bc -l)" "$(echo "($r1-$r0)/100" | bc -l)" "$(echo "($q1-$q0)/100" | bc -l)"
done
