#!/bin/sh
# Build every libFuzzer target fuzz/fuzz_*.c against the whole C core
# (csrc/*.c) with AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   fuzz/build.sh [OUTDIR]      (default: fuzz/build; binaries OUTDIR/fuzz_<name>)
#
# CC (default clang) must support -fsanitize=fuzzer (Debian: apt-get install
# clang, which brings libclang-rt-*-dev with libFuzzer).  Exits 4 when it
# does not, 1 when a target fails to compile.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
OUT=${1:-"$HERE/build"}
CC=${CC:-clang}
mkdir -p "$OUT"

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "fuzz/build.sh: $CC not found (apt-get install clang)" >&2
    exit 4
fi
probe="$OUT/.probe"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > "$probe.c"
if ! "$CC" -fsanitize=fuzzer "$probe.c" -o "$probe" 2>/dev/null; then
    rm -f "$probe" "$probe.c"
    echo "fuzz/build.sh: $CC cannot link -fsanitize=fuzzer (Debian: apt-get install clang libclang-rt-dev)" >&2
    exit 4
fi
rm -f "$probe" "$probe.c"

# -fno-sanitize-recover: an undefined behaviour is a crash libFuzzer keeps.
# Coverage (and comparison tracing) instruments the C core only: the
# harness's own checks would only slow the search down.
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-g -O1 -std=c99 -D_DEFAULT_SOURCE -D_ISOC11_SOURCE -fno-omit-frame-pointer -Wall -Wextra"
OBJ="$OUT/obj"
rm -rf "$OBJ"
mkdir -p "$OBJ"
for src in "$ROOT"/csrc/*.c; do
    # shellcheck disable=SC2086
    "$CC" $CFLAGS $SAN -fsanitize=fuzzer-no-link -I"$ROOT/csrc" -c "$src" \
        -o "$OBJ/core_$(basename "$src" .c).o"
done
for src in "$HERE"/fuzz_*.c; do
    name=$(basename "$src" .c)
    # shellcheck disable=SC2086
    "$CC" $CFLAGS $SAN -I"$ROOT/csrc" -I"$HERE" -c "$src" -o "$OBJ/$name.o"
    # shellcheck disable=SC2086
    "$CC" $SAN -fsanitize=fuzzer "$OBJ/$name.o" "$OBJ"/core_*.o -o "$OUT/$name"
    echo "$OUT/$name"
done
