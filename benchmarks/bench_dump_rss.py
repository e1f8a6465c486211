"""Peak memory of decoding a 4 GiB dump: `ptebits decode --summary` on a
sparse raw file of 536,870,912 entries with page-table pages written into
it, measured with /usr/bin/time -v.

    python benchmarks/bench_dump_rss.py [--size-gib 4] [--pages 4096] [--keep]

The pages are this benchmark process's own page tables as pagemap reports
them (its mappings' PFNs, encoded as the PTEs a 6.18 kernel writes for
them; without CAP_SYS_ADMIN pagemap hides PFNs and the synthetic pages of
`ptebits bench` are used instead), spread over the file at random page
offsets; the rest of the file is holes (none entries).  The benchmark
prints the peak RSS next to the 256 MiB bound, the wall time, and checks
that the summary counts every entry and that its kinds add up.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

import ptebits
from ptebits.bench import make_page_table

PAGE_ENTRIES = 512
BOUND = 256 * 2**20


def own_page_table_pages(pages: int, seed: int) -> np.ndarray:
    """PTE pages for this process's mapped pages (pagemap PFNs), or the
    synthetic benchmark mix when pagemap shows no PFNs."""
    words = []
    try:
        with open("/proc/self/maps") as maps, open("/proc/self/pagemap", "rb") as pm:
            for line in maps:
                m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
                lo, hi = int(m.group(1), 16) >> 12, int(m.group(2), 16) >> 12
                if hi - lo > 1 << 18:
                    continue
                pm.seek(lo * 8)
                w = np.frombuffer(pm.read((hi - lo) * 8), dtype="<u8")
                prot = "PAGE_SHARED" if "w" in m.group(3) else "PAGE_READONLY"
                present = (w >> np.uint64(63)) & np.uint64(1) == 1
                pfn = w & np.uint64((1 << 55) - 1)
                ptes = np.zeros(w.size, dtype=np.uint64)
                ok = present & (pfn != 0)
                if ok.any():
                    ptes[ok] = ptebits.encode_present(pfn[ok], prot)
                words.append(ptes)
    except OSError:
        pass
    own = np.concatenate(words) if words else np.zeros(0, np.uint64)
    if not np.count_nonzero(own):
        print("pagemap shows no PFNs here: using the synthetic mix", file=sys.stderr)
        own = make_page_table(pages * PAGE_ENTRIES, seed=seed)
    reps = -(-pages * PAGE_ENTRIES // max(1, own.size))
    return np.tile(own, reps)[:pages * PAGE_ENTRIES].reshape(pages, PAGE_ENTRIES)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-gib", type=float, default=4.0)
    ap.add_argument("--pages", type=int, default=4096, help="page-table pages written")
    ap.add_argument("--seed", type=int, default=20211027)
    ap.add_argument("--dir", default=None, help="where to put the sparse file")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    size = int(args.size_gib * 2**30) // 4096 * 4096
    entries = size // 8
    rng = np.random.default_rng(args.seed)
    pages = own_page_table_pages(args.pages, args.seed)
    fd, path = tempfile.mkstemp(prefix="ptebits-4g-", suffix=".bin", dir=args.dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.truncate(size)
            slots = rng.choice(size // 4096, size=min(args.pages, size // 4096), replace=False)
            for slot, page in zip(np.sort(slots), pages):
                f.seek(int(slot) * 4096)
                f.write(page.astype("<u8").tobytes())
        t0 = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "ptebits", "decode",
                               path, "--summary", "--output", "jsonl", "-q"],
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode:
            print(proc.stderr, file=sys.stderr)
            return 1
        rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                                proc.stderr).group(1))
        summary = json.loads(proc.stdout)
        kinds_total = sum(summary["kinds"].values())
        res = {
            "file_bytes": size, "entries_expected": entries, "entries_counted": summary["entries"],
            "kinds_add_up": kinds_total == summary["entries"] == entries,
            "pages_written": int(len(slots)), "peak_rss_mib": rss_kib / 1024,
            "bound_mib": BOUND / 2**20, "rss_vs_bound": rss_kib * 1024 / BOUND,
            "wall_s": wall, "entries_per_s": entries / wall, "kinds": summary["kinds"],
        }
    finally:
        if not args.keep:
            os.unlink(path)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print("decode --summary of a %.1f GiB sparse dump (%d entries, %d page-table pages)"
              % (size / 2**30, entries, res["pages_written"]))
        print("  peak RSS %.1f MiB (bound %d MiB: %.2f of it)  wall %.1f s  %.3g entries/s"
              % (res["peak_rss_mib"], res["bound_mib"], res["rss_vs_bound"], wall,
                 res["entries_per_s"]))
        print("  counted %d entries; kinds add up: %s" % (res["entries_counted"],
                                                           res["kinds_add_up"]))
        print("  kinds: " + ", ".join("%s %d" % kv for kv in res["kinds"].items() if kv[1]))
    return 0 if res["kinds_add_up"] and res["rss_vs_bound"] < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
