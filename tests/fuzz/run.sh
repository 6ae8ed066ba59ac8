#!/usr/bin/env bash
# run.sh — build the libFuzzer targets, replay the saved regressions, then
# fuzz each target for a while. Exits non-zero if anything crashed.
#
# Usage (from anywhere; it works from the repo root):
#   tests/fuzz/run.sh [SECONDS]     SECONDS per target, default 10
#
# Builds into build-fuzz/; fuzzes a scratch copy of tests/fuzz/corpus/<target>
# so the repo is never modified. New crashes land in
# build-fuzz/artifacts/<target>/; minimise one with
#   build-fuzz/<target> -minimize_crash=1 -runs=10000 <crash-file>
# and save it as tests/fuzz/regressions/<target>/<name>.
# Environment: CC (default clang), PKG_CONFIG (default pkg-config).
set -u

secs=${1:-10}
case $secs in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS]" >&2
	exit 2
	;;
esac

cd "$(dirname "$0")/../.." || exit 2

CC=${CC:-clang}
# libFuzzer needs clang: a CC that is not clang (cc, gcc) is ignored.
case $CC in *clang*) ;; *) CC=clang ;; esac
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
OUT=build-fuzz
FUZZ=tests/fuzz
TARGETS=(fuzz_json_page fuzz_json_activation fuzz_json_misc fuzz_tree fuzz_creds
	fuzz_persist)
# tree.c walks the table in nodes.c, whose rows name the functions that
# serve them: the fuzzers link the fs library whole, as the unit tests do.
LIB_SRC=(client/*.c cache/*.c fs/tree.c fs/render.c fs/fetch.c fs/persist.c fs/log.c
	fs/prefetch.c fs/readahead.c fs/views.c fs/stats.c fs/nodes.c fs/inodes.c
	fs/perms.c fs/follow_buffer.c fs/follow.c fs/readability.c)
# shellcheck disable=SC2054
CFLAGS_FUZZ=(-g -O1 -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=all -D_GNU_SOURCE -I. -pthread)
# Word splitting of pkg-config output is intended.
# shellcheck disable=SC2207
PKG_CFLAGS=($($PKG_CONFIG --cflags libcjson libcrypto libcurl hiredis)) || exit 2
# shellcheck disable=SC2207
PKG_LIBS=($($PKG_CONFIG --libs libcjson libcrypto libcurl hiredis)) || exit 2

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

dict_for() {
	case $1 in
	fuzz_json_*) echo "$FUZZ/json.dict" ;;
	fuzz_tree) echo "$FUZZ/tree.dict" ;;
	fuzz_creds) echo "$FUZZ/creds.dict" ;;
	fuzz_persist) echo "$FUZZ/persist.dict" ;;
	esac
}

build() {
	local t=$1

	"$CC" "${CFLAGS_FUZZ[@]}" "${PKG_CFLAGS[@]}" -o "$OUT/$t" \
		"$FUZZ/$t.c" "${LIB_SRC[@]}" "${PKG_LIBS[@]}"
}

# Every saved crash must now pass. One run per file, so that every file
# still crashing is named, not only the first.
replay() {
	local t=$1 dir=$FUZZ/regressions/$1 log=$OUT/logs/$1.replay.log
	local files=() f out failed=0

	[ -d "$dir" ] || return 0
	mapfile -t files < <(find "$dir" -type f | sort)
	[ ${#files[@]} -gt 0 ] || return 0
	: >"$log"
	for f in "${files[@]}"; do
		if ! out=$("$OUT/$t" "$f" 2>&1); then
			echo "FAIL $t: regression $f crashes:"
			grep -E -m 3 'invariant broken|runtime error|ERROR: (Address|Leak)Sanitizer' \
				<<<"$out"
			failed=1
		fi
		printf '%s\n' "$out" >>"$log"
	done
	[ $failed = 0 ] || return 1
	echo "ok   $t: ${#files[@]} regression input(s) replayed"
}

fuzz() {
	local t=$1 corpus=$scratch/$1 log=$OUT/logs/$1.log runs cov

	mkdir -p "$corpus" "$OUT/artifacts/$t"
	cp -R "$FUZZ/corpus/$t/." "$corpus/" 2>/dev/null
	if ! "$OUT/$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 \
		-dict="$(dict_for "$t")" -artifact_prefix="$OUT/artifacts/$t/" \
		-print_final_stats=1 "$corpus" >"$log" 2>&1; then
		echo "FAIL $t: crash while fuzzing; see $log"
		grep -E 'ERROR|invariant broken|runtime error|Test unit written' \
			"$log" | tail -n 20
		return 1
	fi
	runs=$(awk '/^stat::number_of_executed_units/ {print $2}' "$log")
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
	echo "ok   $t: ${runs:-?} runs in ${secs}s, ${cov:-no coverage line}"
}

mkdir -p "$OUT/logs" || exit 2
scratch=$(mktemp -d) || exit 2
trap 'rm -rf "$scratch"' EXIT

status=0
for t in "${TARGETS[@]}"; do
	if ! build "$t"; then
		echo "FAIL $t: does not build"
		status=1
		continue
	fi
	if ! replay "$t"; then
		# A known crash would only be found again; fix it first.
		echo "skip $t: not fuzzed until its regressions pass"
		status=1
		continue
	fi
	fuzz "$t" || status=1
done
exit $status
