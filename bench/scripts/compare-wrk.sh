#!/usr/bin/env bash
# compare-wrk.sh: drive one bare fasthttp server (bench/cmd/benchtarget, its
# own process, 127.0.0.1 only) with wrk and with `recotem bench` in
# interleaved rounds (same connections, same POST body, same length) and
# print each round plus the medians as markdown, with each generator's CPU
# time (user+sys, from the shell's rusage of wrk and from bench's own
# getrusage), bench's recv delay (kernel receipt of a response's last byte
# to bench having parsed it: the generator's own time, outside its latency)
# and the machine's load average. The summary gives the medians of the
# rounds and the median of the per-round ratios (rounds are paired, so a
# neighbour's load hits both generators of a round alike).
#
# usage (from the repository root):
#   bench/scripts/compare-wrk.sh [ROUNDS=5] [SECONDS=3] [CONNS=8] [DELAY=0]
# DELAY is the server's time per request (a Go duration, e.g. 1ms).
set -euo pipefail
ROUNDS=${1:-5} SECS=${2:-3} CONNS=${3:-8} DELAY=${4:-0}
PORT=${PORT:-18080}
command -v wrk >/dev/null || { echo "wrk not on PATH (Debian package wrk)" >&2; exit 1; }
tmp=$(mktemp -d)
cleanup() { [[ -n ${srv:-} ]] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
go build -o "$tmp/recotem" ./cmd/recotem
go build -o "$tmp/benchtarget" ./bench/cmd/benchtarget
"$tmp/benchtarget" --addr "127.0.0.1:$PORT" --delay "$DELAY" 2>"$tmp/srv.err" &
srv=$!
sleep 0.5
kill -0 "$srv" 2>/dev/null || { echo "benchtarget did not start (port $PORT busy? set PORT)" >&2; exit 1; }
url="http://127.0.0.1:$PORT"
printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' "'{\"user_id\":\"1\",\"limit\":10}'" >"$tmp/post.lua"
echo 1 >"$tmp/ids"
TIMEFORMAT='%U %S'
echo "| round | wrk req/s | bench req/s | wrk p50 ms | bench p50 ms | bench recv delay p50 ms | wrk CPU s | bench CPU s | load | bench client-observed p50 ms |"
echo "|---|---|---|---|---|---|---|---|---|"
for i in $(seq "$ROUNDS"); do
	{ time wrk -t2 "-c$CONNS" "-d${SECS}s" --latency -s "$tmp/post.lua" "$url/v1/recipes/movies:recommend" >"$tmp/wrk.out"; } 2>"$tmp/wrk.time"
	w_rps=$(awk '/Requests\/sec/{print $2}' "$tmp/wrk.out")
	w_p50=$(awk '$1=="50%"{v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else {sub(/s$/,"",v); v*=1000}; print v}' "$tmp/wrk.out")
	w_cpu=$(awk '{print $1+$2}' "$tmp/wrk.time")
	"$tmp/recotem" bench --recipe movies --url "$url" -d "${SECS}s" -c "$CONNS" --ids-file "$tmp/ids" --json >"$tmp/b.json"
	read -r b_rps b_p50 b_rd b_cpu b_cl < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(round(d["throughput"],2), round(d["p50_ms"],4), round(d.get("recv_delay_p50_ms",0),4), round(d["cpu_seconds"],2), round(d.get("client_p50_ms",d["p50_ms"]),4))' "$tmp/b.json")
	load=$(cut -d' ' -f1 /proc/loadavg)
	echo "| $i | $w_rps | $b_rps | $w_p50 | $b_p50 | $b_rd | $w_cpu | $b_cpu | $load | $b_cl |"
	echo "$w_rps $b_rps $w_p50 $b_p50 $w_cpu $b_cpu $b_rd $b_cl" >>"$tmp/rows"
done
python3 - "$tmp/rows" "$SECS" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
secs = float(sys.argv[2])
m = [statistics.median(c) for c in zip(*rows)]
print(f"| median | {m[0]:.0f} | {m[1]:.0f} | {m[2]:.3f} | {m[3]:.3f} | {m[6]:.3f} | {m[4]:.2f} | {m[5]:.2f} | | {m[7]:.3f} |")
print()
tp = statistics.median(r[1] / r[0] for r in rows)
p50 = statistics.median(r[3] / r[2] for r in rows)
cl = statistics.median(r[7] / r[2] for r in rows)
print(f"bench/wrk: throughput {m[1]/m[0]:.3f}, p50 {m[3]/m[2]:.3f} (medians of rounds); "
      f"throughput {tp:.3f}, p50 {p50:.3f}, client-observed p50 {cl:.3f} (medians of per-round ratios); "
      f"CPU per request: wrk {m[4]/(m[0]*secs)*1e6:.1f} µs, bench {m[5]/(m[1]*secs)*1e6:.1f} µs; "
      f"bench CPU share {m[5]/secs/2*100:.1f}% of 2 cores")
PY
