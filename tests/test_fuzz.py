"""Coverage-guided fuzzing of the C core (fuzz/): a short seeded libFuzzer
run of every target, after replaying the inputs that once broke one.

Each target (fuzz/fuzz_<name>.c) checks the invariants the rest of ptebits
relies on for any bytes at all: decode and classify agree at every level,
array loops equal one-entry calls, canonical entries re-encode to
themselves, encoders either refuse or produce what decodes back to their
fields, PTE helpers touch only their bits, pagemap words match their PTEs;
and AddressSanitizer/UBSan see every access of the core.  The dispatch
target runs faults and page-table operations over a small address space
(raw PTEs included): the PTEs the model writes are canonical, message
counts stay within capacity, and a second run on a copy gives the same.  The longer run
is ``fuzz/run.sh SECONDS`` (README "Fuzzing").

Needs clang with libFuzzer (Debian: ``apt-get install clang``); skipped
with the reason otherwise.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from typing import List

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: the fuzzers carry clang's sanitizer runtime: a gcc libasan preloaded into
#: this process (the sanitizer pass of .ci/run) must not reach them
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS",
                                                             "UBSAN_OPTIONS")}

FUZZ = os.path.join(ROOT, "fuzz")
TARGETS = sorted(os.path.basename(p)[len("fuzz_"):-len(".c")]
                 for p in glob.glob(os.path.join(FUZZ, "fuzz_*.c")))
RUNS = 20000
BUILD_TIMEOUT = 300     # s: catches a hung compiler, not a slow one
RUN_TIMEOUT = 600       # s: catches a hang; the run takes about 30 s


@pytest.fixture(scope="module")
def fuzzers(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every target built into a temporary directory, or a skip."""
    cc = os.environ.get("CC", "clang")
    if shutil.which(cc) is None:
        pytest.skip("%s not installed (Debian: apt-get install clang): no libFuzzer build" % cc)
    out = str(tmp_path_factory.mktemp("fuzz-build"))
    proc = subprocess.run([os.path.join(FUZZ, "build.sh"), out], env=CLEAN_ENV,
                          capture_output=True,
                          text=True, timeout=BUILD_TIMEOUT)
    if proc.returncode == 4:        # build.sh: the compiler cannot link libFuzzer
        pytest.skip(proc.stderr.strip())
    assert proc.returncode == 0, "fuzz/build.sh failed:\n" + proc.stderr[-4000:]
    return out


def test_there_is_a_codec_target() -> None:
    assert "codec" in TARGETS
    assert os.listdir(os.path.join(FUZZ, "corpus", "codec")), "the codec target has seeds"


def test_there_is_a_dispatch_target() -> None:
    assert "dispatch" in TARGETS
    assert os.listdir(os.path.join(FUZZ, "corpus", "dispatch")), "the dispatch target has seeds"


def _regressions(target: str) -> List[str]:
    return sorted(p for p in glob.glob(os.path.join(FUZZ, "regressions", target, "*"))
                  if os.path.isfile(p))


@pytest.mark.parametrize("target", TARGETS)
def test_inputs_that_once_failed_pass(fuzzers: str, target: str) -> None:
    inputs = _regressions(target)
    if not inputs:
        pytest.skip("no regression inputs for %s yet" % target)
    proc = subprocess.run([os.path.join(fuzzers, "fuzz_" + target)] + inputs, env=CLEAN_ENV,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stderr.count("Executed ") == len(inputs)


@pytest.mark.parametrize("target", TARGETS)
def test_short_seeded_fuzz_run_finds_nothing(fuzzers: str, target: str, tmp_path: str) -> None:
    """RUNS executions from the seed corpus with a fixed seed: any crash,
    sanitizer report or broken invariant fails with the input's bytes."""
    work = os.path.join(str(tmp_path), "corpus")
    crashes = os.path.join(str(tmp_path), "crashes")
    os.makedirs(work)
    os.makedirs(crashes)
    seeds = os.path.join(FUZZ, "corpus", target)
    argv = [os.path.join(fuzzers, "fuzz_" + target), "-runs=%d" % RUNS, "-seed=1",
            "-max_len=256", "-timeout=10", "-rss_limit_mb=2048",
            "-artifact_prefix=%s/" % crashes, work] + ([seeds] if os.path.isdir(seeds) else [])
    proc = subprocess.run(argv, env=CLEAN_ENV, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)
    found = sorted(os.listdir(crashes))
    detail = "".join("\n%s: %s" % (name, open(os.path.join(crashes, name), "rb").read().hex())
                     for name in found)
    assert proc.returncode == 0 and not found, (
        "libFuzzer exit %d; failing inputs (hex, copy into fuzz/regressions/%s/):%s\n%s"
        % (proc.returncode, target, detail, proc.stderr[-6000:]))
    done = re.search(r"Done (\d+) runs", proc.stderr)
    assert done and int(done.group(1)) == RUNS, proc.stderr[-2000:]
