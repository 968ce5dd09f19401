#!/usr/bin/env bash
# make bench: run the ingest load generator against trackd on a real
# redis-server (AOF on, as in production), then the Go benchmarks, and write
# the figures with the commands and the machine into docs/BENCHMARKS.md.
#
#   BENCH_RATES="2000 4000 10000" BENCH_DURATION=60s BENCH_SENDERS=32 make bench
#   BENCH_SECTIONS="fanout" BENCH_FANOUT_CLIENTS=18000 BENCH_FANOUT_RATE=1000 make bench
set -euo pipefail
cd "$(dirname "$0")/../.."

sections=${BENCH_SECTIONS:-"ingest fanout page"}
rates=${BENCH_RATES:-"2000 4000 6000 10000"}
fanout_clients=${BENCH_FANOUT_CLIENTS:-18000}
fanout_orders=${BENCH_FANOUT_ORDERS:-9000} # two viewers per order, as tracking pages have
fanout_rate=${BENCH_FANOUT_RATE:-1000}
fanout_duration=${BENCH_FANOUT_DURATION:-30s}
page_rate=${BENCH_PAGE_RATE:-1000}
page_duration=${BENCH_PAGE_DURATION:-30s}
duration=${BENCH_DURATION:-60s}
senders=${BENCH_SENDERS:-32}
out=docs/BENCHMARKS.md
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	local p=$1
	while (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}

wait_until() { # what, command...
	local what=$1; shift
	for _ in $(seq 1 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	echo "bench: $what did not come up" >&2
	return 1
}

go build -o "$work/" ./cmd/trackd ./cmd/loadgen

rport=$(free_port 16379)
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
	--dir "$work" --loglevel warning >"$work/redis.log" 2>&1 &
pids+=($!)
wait_until redis-server redis-cli -p "$rport" ping

secret=bench-secret-$RANDOM$RANDOM
apikey=bench-key-$RANDOM$RANDOM$RANDOM
# start_trackd PORT [ENV...]: a fresh trackd (all roles) on the bench Redis.
# Each section stops its node (stop_trackd) so the next one measures alone.
start_trackd() {
	local port=$1; shift
	env REDIS_URL=redis://127.0.0.1:$rport TRACKD_ADDR=127.0.0.1:$port TRACKD_GENERIC_WEBHOOK_SECRET=$secret \
		TRACKD_BOOTSTRAP_API_KEY=$apikey TRACKD_LOG_LEVEL=warn TRACKD_API_RATE_LIMIT=0 "$@" "$work/trackd" >>"$work/trackd.log" 2>&1 &
	trackd_pid=$!
	pids+=($trackd_pid)
	wait_until trackd curl -fsS "http://127.0.0.1:$port/readyz"
}
stop_trackd() {
	kill "$trackd_pid" 2>/dev/null || true
	wait "$trackd_pid" 2>/dev/null || true
}

: >"$work/table.md"
: >"$work/reports.txt"
: >"$work/fanout.md"
: >"$work/fanout.txt"
: >"$work/page.md"
: >"$work/page.txt"
run_loadgen() { # report-file table-file args...
	local report=$1 table=$2; shift 2
	echo "bench: loadgen $*" >&2
	{
		echo "\$ loadgen $*"
		"$work/loadgen" "$@" -secret "$secret" -api-key "$apikey" -out "$table" 2>&1 | grep -v '^loadgen: ' || true
		echo
	} >>"$report"
}

if [[ " $sections " == *" ingest "* ]]; then
	tport=$(free_port 18080)
	start_trackd "$tport"
	for rate in $rates; do
		run_loadgen "$work/reports.txt" "$work/table.md" -mode ingest -target "http://127.0.0.1:$tport" \
			-rate "$rate" -duration "$duration" -senders "$senders"
	done
	redis-cli -p "$rport" info memory | grep -E '^used_memory_human' >"$work/redis-mem.txt" || true
	stop_trackd
fi
if [[ " $sections " == *" fanout "* ]]; then
	# A trackd started for this, so its memory before the clients is a
	# fresh process's.
	fport=$(free_port 19080)
	start_trackd "$fport"
	run_loadgen "$work/fanout.txt" "$work/fanout.md" -mode fanout -target "http://127.0.0.1:$fport" \
		-clients "$fanout_clients" -orders "$fanout_orders" -rate "$fanout_rate" -duration "$fanout_duration"
	stop_trackd
fi
if [[ " $sections " == *" page "* ]]; then
	pport=$(free_port 20080)
	start_trackd "$pport"
	run_loadgen "$work/page.txt" "$work/page.md" -mode page -target "http://127.0.0.1:$pport" \
		-rate "$page_rate" -duration "$page_duration"
	stop_trackd
fi

echo "bench: go test -bench" >&2
go test -run '^$' -bench . -benchmem -count 1 ./... 2>&1 | grep -E '^(Benchmark|goos|goarch|cpu|pkg)' >"$work/gobench.txt"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` (cmd/loadgen/bench.sh); do not edit by hand. Numbers from one run on one"
	echo "machine: compare runs on the same machine, not across machines."
	echo
	echo "## Machine"
	echo
	echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($cpu), $mem, $(uname -sr)"
	echo "- $(go version), $(redis-server --version | cut -d' ' -f1-3)"
	echo "- trackd, redis-server (AOF, appendfsync everysec) and the load generator all on this one machine"
	echo
	echo "## Ingest: signed generic webhooks, accepted and applied"
	echo
	echo "Command: \`make bench\` (rates: $rates; $duration each; $senders senders). Each row: \`loadgen -mode ingest"
	echo "-rate R -duration $duration -senders $senders\` against one trackd (all roles) on redis-server. The generator"
	echo "keeps sending until every scheduled request is sent, so a rate beyond capacity shows as a lower"
	echo "accepted/s and a longer run. Latency is from send to the 202 (accepted and durably appended). Lag is"
	echo "from acceptance to the events being applied (trackd_processor_lag_seconds); backlog is the ingest"
	echo "streams' length sampled every second; drain is how long after the last send it took to reach 0."
	echo
	cat "$work/table.md"
	echo
	echo "Redis memory after the runs: $(cut -d: -f2 "$work/redis-mem.txt" 2>/dev/null || echo unknown)"
	echo
	echo "<details><summary>Full load generator reports</summary>"
	echo
	echo '```'
	cat "$work/reports.txt"
	echo '```'
	echo "</details>"
	echo
	echo "## Live fan-out: WebSocket clients on one node"
	echo
	echo "Command: \`loadgen -mode fanout -clients $fanout_clients -orders $fanout_orders -rate $fanout_rate -duration $fanout_duration\`"
	echo "against a freshly started trackd (all roles). Each event reaches every client watching its order"
	echo "($((fanout_clients / fanout_orders)) per order), so the node sends $((fanout_clients / fanout_orders * fanout_rate)) messages/s. Latency is from the webhook's send"
	echo "to the client's receipt; memory is the node's RSS growth over the connected, idle clients."
	echo
	cat "$work/fanout.md"
	echo
	echo '```'
	cat "$work/fanout.txt"
	echo '```'
	echo
	echo "## Tracking page"
	echo
	echo "Command: \`loadgen -mode page -rate $page_rate -duration $page_duration\`: GET /t/{token} (gzip) of an order with"
	echo "20 scans, at a fixed rate."
	echo
	cat "$work/page.md"
	echo
	echo '```'
	cat "$work/page.txt"
	echo '```'
	echo
	echo "## Go benchmarks"
	echo
	echo "Command: \`go test -run '^\$' -bench . -benchmem ./...\` (store benchmarks on a real redis-server)."
	echo
	echo '```'
	cat "$work/gobench.txt"
	echo '```'
} >"$out.new"
if [ -f docs/BENCHMARKS.notes.md ]; then cat docs/BENCHMARKS.notes.md >>"$out.new"; fi
mv "$out.new" "$out"
echo "bench: wrote $out" >&2
