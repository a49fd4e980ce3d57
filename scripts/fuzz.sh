#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 120), one after another with
# one job, and prints per target the executions (libFuzzer's final
# stat::number_of_executed_units), executions per second and crashes. Exits non-zero if any
# target crashed; the crashing input is in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS]            all targets
#   FUZZ_TARGETS="step redact" scripts/fuzz.sh 600
#   FUZZ_SANITIZER=address scripts/fuzz.sh       with AddressSanitizer (about half the speed)
#
# Needs `cargo install cargo-fuzz`. cargo-fuzz's -Z flags (sanitizers, its coverage options)
# are accepted by a stable toolchain with RUSTC_BOOTSTRAP=1. Builds are release with debug
# assertions and overflow checks on. No sanitizer by default: the code the targets reach is
# safe Rust (the crate's only `unsafe` is the allocator tuning in src/discord/mod.rs), so a
# sanitizer would find little and halve the executions.
# Not part of CI: CI runs the proptest suites.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-120}
TARGETS=${FUZZ_TARGETS:-"content_pack config classify step custom_id redact"}
SANITIZER=${FUZZ_SANITIZER:-none}
export RUSTC_BOOTSTRAP=1
# The fuzz crate is its own workspace with its own target dir, whatever the shell exports.
unset CARGO_TARGET_DIR
FUZZ_TARGET_DIR=fuzz/target

command -v cargo-fuzz >/dev/null || {
	echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
	exit 2
}

# Longest input per target: enough for one intent of the pack, a config file, a long message.
max_len() {
	case $1 in
	content_pack) echo 8192 ;;
	config) echo 8192 ;;
	step) echo 2048 ;;
	classify | redact) echo 2048 ;;
	custom_id) echo 512 ;;
	*) echo 4096 ;;
	esac
}

# Seeds from the shipped files, regenerated each run so they follow the pack: the pack's
# header and each [[intent]] as its own input, and the example config. Committed seeds sit
# in fuzz/seeds/<target>/; what libFuzzer adds goes to fuzz/corpus/<target>/ (not committed).
mkdir -p fuzz/corpus fuzz/logs "$FUZZ_TARGET_DIR/dicts" "$FUZZ_TARGET_DIR/seeds/content_pack" \
	"$FUZZ_TARGET_DIR/seeds/config"
awk -v dir="$FUZZ_TARGET_DIR/seeds/content_pack" '
	/^\[\[intent\]\]/ { n++ }
	{ f = sprintf("%s/part-%03d.toml", dir, n); print > f }
' intents.toml
cp config.example.toml "$FUZZ_TARGET_DIR/seeds/config/example.toml"
# Dictionaries of the keys and table headers the two file formats use.
dict() {
	grep -oE '^\s*(\[\[?[a-z_.]+\]\]?|[a-z_]+ =)' "$1" | sed -E 's/^\s*//' | sort -u |
		awk '{ printf "\"%s\"\n", $0 }'
}
dict intents.toml >"$FUZZ_TARGET_DIR/dicts/content_pack.dict"
dict config.example.toml >"$FUZZ_TARGET_DIR/dicts/config.dict"

cargo fuzz build --fuzz-dir fuzz --target-dir "$FUZZ_TARGET_DIR" -s "$SANITIZER"

status=0
summary=()
for t in $TARGETS; do
	corpus=fuzz/corpus/$t
	mkdir -p "$corpus" "fuzz/artifacts/$t"
	dirs=("$corpus")
	for d in "fuzz/seeds/$t" "$FUZZ_TARGET_DIR/seeds/$t"; do
		[[ -d $d ]] && dirs+=("$d")
	done
	extra=()
	[[ -f $FUZZ_TARGET_DIR/dicts/$t.dict ]] && extra+=("-dict=$FUZZ_TARGET_DIR/dicts/$t.dict")
	log=fuzz/logs/$t.log
	echo "== $t: ${SECS}s" >&2
	start=$(date +%s)
	set +e
	cargo fuzz run --fuzz-dir fuzz --target-dir "$FUZZ_TARGET_DIR" -s "$SANITIZER" "$t" "${dirs[@]}" -- \
		-max_total_time="$SECS" -max_len="$(max_len "$t")" -rss_limit_mb=2048 -timeout=30 \
		-print_final_stats=1 "${extra[@]}" >"$log" 2>&1
	rc=$?
	set -e
	# Seconds spent fuzzing, as libFuzzer reports them (the wall time also counts the build).
	took=$(grep -oE '^Done [0-9]+ runs in [0-9]+ second' "$log" | grep -oE '[0-9]+ second' |
		grep -oE '[0-9]+' | tail -1)
	took=${took:-$(($(date +%s) - start))}
	runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
	runs=${runs:-$(grep -oE '^Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)}
	runs=${runs:-0}
	rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
	crashes=0
	if [[ $rc -ne 0 ]]; then
		crashes=1
		status=1
		grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -5 >&2
	fi
	summary+=("$(printf '%-13s %12s runs %9s exec/s %3s crashes %6ss' "$t" "$runs" \
		"${rate:-?}" "$crashes" "$took")")
done

echo
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  seconds per target: $SECS  logs: fuzz/logs/"
printf '%s\n' "${summary[@]}"
exit $status
