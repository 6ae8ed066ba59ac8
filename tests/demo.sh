#!/bin/sh
# make demo / make demo-stop: the bundled emulator, a mount at ./mnt, a tour.
# BACKEND=openwhisk (make demo BACKEND=openwhisk) mounts the emulator's
# OpenWhisk API instead, with AUTH in a private wskprops file, as wsk keeps it.
# State (pids, port, logs, the disk cache of this throw-away emulator's
# account) lives in ./.demo so demo-stop can undo it all.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE="$ROOT/.demo"
MNT="$ROOT/mnt"
PYTHON=${PYTHON:-/usr/bin/python3}
BACKEND=${BACKEND:-ncp}
# The emulator's OpenWhisk AUTH (ncf_emulator.py OW_DEFAULT_AUTH): a test key.
OW_AUTH=0f0e0d0c-0b0a-4009-8008-070605040302:ncfemuOpenWhiskKey0123456789abcdef

stop() {
	if grep -qs " $MNT " /proc/mounts; then
		fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
	fi
	if [ -f "$STATE/emulator.pid" ]; then
		kill "$(cat "$STATE/emulator.pid")" 2>/dev/null || true
	fi
	rm -rf "$STATE"
}

wait_for_file() {
	i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "demo: $1 did not appear" >&2; exit 1; }
		sleep 0.1
	done
}

tour() {
	cd "$ROOT"
	for cmd in "ls mnt/packages mnt/packages/demo" \
		   "ls -lt mnt/packages/demo/hello/activations | head -n 4" \
		   "cat mnt/packages/demo/hello/activations/latest/status" \
		   "jq . mnt/packages/demo/hello/activations/latest/result.json" \
		   "head -n 3 mnt/packages/demo/hello/activations/latest/logs.txt" \
		   "ls -l mnt/packages/demo/resize-image/failed" \
		   "ls mnt/packages/demo/hello/recent | head -n 3" \
		   "ls mnt/packages/demo/hello/days | tail -n 3" \
		   "cut -f 1,4,5 mnt/packages/demo/resize-image/activations.tsv | head -n 5" \
		   "grep -rl ERROR mnt/packages/demo/hello/activations | head -n 3"; do
		printf '\n$ %s\n' "$cmd"
		sh -c "$cmd"
	done
	printf '\nThe API emulator logged %s %s requests for all of that.\n' \
		"$(wc -l < "$STATE/requests.log")" "$BACKEND"
	printf 'Browse %s as you like; "make demo-stop" unmounts and stops the emulator.\n' "$MNT"
}

start() {
	stop
	mkdir -p "$STATE" "$MNT"
	"$PYTHON" tests/emulator/ncf_emulator.py --port 0 --port-file "$STATE/port" \
		--dataset demo --log "$STATE/requests.log" --quiet \
		>"$STATE/emulator.out" 2>&1 &
	echo $! > "$STATE/emulator.pid"
	wait_for_file "$STATE/port"
	port=$(cat "$STATE/port")
	case "$BACKEND" in
	ncp)
		NCLOUD_ACCESS_KEY_ID=emulator-access-key \
		NCLOUD_SECRET_ACCESS_KEY=emulator-secret-key \
			./ncffs "$MNT" -o "endpoint=http://127.0.0.1:$port/api/v2,cache_dir=$STATE/cache" ;;
	openwhisk)
		(umask 077; printf 'APIHOST=http://127.0.0.1:%s\nAUTH=%s\nNAMESPACE=_\n' \
			"$port" "$OW_AUTH" > "$STATE/wskprops")
		WSK_CONFIG_FILE="$STATE/wskprops" ./ncffs "$MNT" \
			-o "backend=openwhisk,cache_dir=$STATE/cache" ;;
	*)
		echo "demo: BACKEND=$BACKEND: ncp or openwhisk" >&2; exit 2 ;;
	esac
	echo "ncffs mounted the emulator's $BACKEND API (127.0.0.1:$port) at $MNT"
	tour
}

case "${1:-}" in
start) start ;;
stop) stop; echo "demo stopped" ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
