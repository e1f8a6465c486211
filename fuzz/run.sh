#!/bin/sh
# Build the libFuzzer targets and fuzz each for a while (the long run; the
# test suite runs a short seeded one, tests/test_fuzz.py).
#
#   fuzz/run.sh [SECONDS] [TARGET...]     default: 600 s each, every target
#
# TARGET is a name such as "codec" (fuzz/fuzz_codec.c).  Each target first
# replays its regression inputs (fuzz/regressions/TARGET/), then fuzzes from
# its seeds (fuzz/corpus/TARGET/, read only) plus a working corpus that grows
# across runs (fuzz/build/corpus/TARGET/).  A crash or broken invariant
# stops the run with the input saved under fuzz/build/crashes/TARGET/; once
# understood (and fixed), copy it into fuzz/regressions/TARGET/.
# JOBS=N runs N fuzzing processes per target (libFuzzer -fork=N).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SECONDS_EACH=${1:-600}
[ $# -gt 0 ] && shift
BUILD="$HERE/build"
"$HERE/build.sh" "$BUILD" >/dev/null

if [ $# -eq 0 ]; then
    set --
    for src in "$HERE"/fuzz_*.c; do
        name=$(basename "$src" .c)
        set -- "$@" "${name#fuzz_}"
    done
fi

for target in "$@"; do
    bin="$BUILD/fuzz_$target"
    [ -x "$bin" ] || { echo "fuzz/run.sh: no target $target (fuzz/fuzz_$target.c)" >&2; exit 2; }
    work="$BUILD/corpus/$target"
    crashes="$BUILD/crashes/$target"
    mkdir -p "$work" "$crashes"
    regressions=$(find "$HERE/regressions/$target" -type f ! -name '*.md' 2>/dev/null | sort)
    if [ -n "$regressions" ]; then
        echo "== $target: replaying $(echo "$regressions" | wc -l) regression input(s)"
        # shellcheck disable=SC2086
        "$bin" $regressions
    fi
    seeds="$HERE/corpus/$target"
    [ -d "$seeds" ] || seeds=""
    echo "== $target: fuzzing for $SECONDS_EACH s"
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$SECONDS_EACH" -max_len=4200 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$crashes/" \
        ${JOBS:+-fork="$JOBS"} "$work" $seeds
done
