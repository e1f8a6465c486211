"""ptebits.picture: a dump drawn as a grid of cells coloured by entry kind.

The layout and legend are computed without matplotlib and tested on their
own; the drawing tests need matplotlib (``pip install 'ptebits[plot]'``)
and are skipped without it, except the ones that check what happens when
it is missing or the output cannot be written.
"""
from __future__ import annotations

import os
import sys
from typing import Any, List

import numpy as np
import pytest

import ptebits
from ptebits.dumps import read_dump
from ptebits.picture import (CELLS_MAX, KIND_COLOURS, MapBuilder, MissingDependencyError,
                             check_map_path, draw_map, legend_entries, map_caption, map_layout)

K = ptebits.Kind
KIND_NAMES = [str(k) for k in K]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def kinds_of(*runs: Any) -> np.ndarray:
    """Runs of (kind, count) as a uint8 array."""
    return np.concatenate([np.full(n, int(k), dtype=np.uint8) for k, n in runs])


def assert_png(path: Any, min_bytes: int = 2000) -> None:
    data = open(str(path), "rb").read()
    assert data[:8] == PNG_MAGIC
    assert len(data) >= min_bytes
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 400 and height >= 100


def leftovers(directory: Any) -> List[str]:
    return sorted(n for n in os.listdir(str(directory)) if n.startswith("."))


# --------------------------------------------------------------- layout

def test_layout_small_one_cell_per_entry() -> None:
    lay = map_layout(512)
    assert (lay.block, lay.cells, lay.columns, lay.rows) == (1, 512, 64, 8)
    assert map_caption(lay) == ("1 cell = 1 entry, 64 entries a row "
                                "(8 rows = one 512-entry page-table page)")
    lay = map_layout(100000)
    assert (lay.block, lay.columns, lay.rows) == (1, 512, 196)
    assert map_caption(lay) == "1 cell = 1 entry, 512 entries (one page-table page) a row"
    lay = map_layout(CELLS_MAX)                                  # 512 x 512 still fits
    assert (lay.block, lay.columns, lay.rows) == (1, 512, 512)
    assert map_layout(10).columns == 10 and map_layout(10).rows == 1
    assert map_caption(map_layout(0)) == "no entries"


def test_layout_large_blocks_of_a_power_of_two() -> None:
    lay = map_layout(CELLS_MAX + 1)
    assert (lay.block, lay.columns) == (2, 512)
    lay = map_layout(1 << 30)                                    # 1G entries: 4096 a cell
    assert (lay.block, lay.cells, lay.columns, lay.rows) == (4096, 1 << 18, 512, 512)
    assert map_caption(lay).startswith("1 cell = 4,096 entries, dominant kind")
    lay = map_layout(3 * (1 << 20), cells_max=1000)
    assert lay.cells <= 1000 and lay.block == 4096
    with pytest.raises(ptebits.InvalidValueError):
        map_layout(10, cells_max=0)


def test_legend_lists_every_kind_with_counts() -> None:
    counts = {"none": 1000, "present": 20, "marker": 3}
    legend = legend_entries(counts)
    assert [e.kind for e in legend] == KIND_NAMES                 # every kind, Kind order
    assert len({e.colour for e in legend}) == len(legend)         # all distinct
    assert all(e.colour == KIND_COLOURS[e.kind] for e in legend)
    by = {e.kind: e for e in legend}
    assert by["none"].label == "none: 1,000 (97.8%)"
    assert by["present"].label == "present: 20 (2.0%)"
    assert by["marker"].label == "marker: 3 (0.3%)"
    assert by["swap"].label == "swap: 0" and by["bad"].count == 0


def test_legend_in_block_mode_says_which_kinds_are_hidden() -> None:
    counts = np.zeros(len(K), dtype=np.int64)
    counts[int(K.NONE)] = 8190
    counts[int(K.HWPOISON)] = 2
    cells = np.zeros(len(K), dtype=np.int64)
    cells[int(K.NONE)] = 2
    by = {e.kind: e for e in legend_entries(counts, block=4096, cells=cells)}
    assert by["none"].label == "none: 8,190 (100.0%), dominant in 2 cells"
    assert by["hwpoison"].label == "hwpoison: 2 (<0.1%), dominant in no cell (not visible)"
    assert by["present"].label == "present: 0"


# ---------------------------------------------------------- accumulating

def test_builder_dominant_kind_per_block() -> None:
    b = MapBuilder(total=40, cells_max=10)                      # 4 entries a cell
    b.add(kinds_of((K.PRESENT, 3), (K.NONE, 1),                 # cell 0: present
                   (K.NONE, 2), (K.SWAP, 2),                    # cell 1: tie -> none
                   (K.MARKER, 1), (K.BAD, 3)))                  # cell 2: bad
    b.add(kinds_of((K.SWAP, 26), (K.MIGRATION, 2)))          # last cell: a tie -> swap
    assert b.block == 4 and b.entries == 40
    assert b.cell_kinds().tolist() == [int(K.PRESENT), int(K.NONE), int(K.BAD)] + \
        [int(K.SWAP)] * 7
    grid, lay = b.grid()
    assert grid.shape == (lay.rows, lay.columns) == (1, 10)
    # more than total: the blocks double (adjacent pairs merged), still <= cells_max
    b.add(kinds_of((K.MIGRATION, 8)))
    assert b.block == 8 and b.entries == 48 and b.layout().cells == 6
    # cell 0: present 3, none 3, swap 2 -> a tie, the lower kind value (none)
    # cell 1: marker 1, bad 3, swap 4 -> swap
    assert b.cell_kinds().tolist() == [int(K.NONE)] + [int(K.SWAP)] * 4 + [int(K.MIGRATION)]
    assert b.counts()["swap"] == 28 and b.counts()["migration"] == 10
    assert sum(b.counts().values()) == b.entries
    b2 = MapBuilder(total=45, cells_max=10)                   # a grid with a padded row
    b2.add(kinds_of((K.SWAP, 45)))
    grid, lay = b2.grid()
    assert (lay.block, lay.cells, lay.columns) == (8, 6, 6)
    b3 = MapBuilder(total=700, cells_max=700)
    b3.add(kinds_of((K.SWAP, 700)))
    grid, lay = b3.grid()
    assert (lay.rows, lay.columns) == (11, 64)
    assert (grid.reshape(-1)[700:] == len(K)).all() and (grid.reshape(-1)[:700] == 3).all()


@pytest.mark.parametrize("chunk", [1, 7, 4096, 100000])
def test_streaming_without_total_matches_known_total(chunk: int) -> None:
    rng = np.random.default_rng(7)
    kinds = np.repeat(rng.integers(0, len(K), 3000).astype(np.uint8),
                      rng.integers(1, 200, 3000))[:300000]
    known = MapBuilder(total=kinds.size, cells_max=5000)
    known.add(kinds)
    grown = MapBuilder(cells_max=5000)
    for i in range(0, kinds.size, chunk if chunk > 1 else 30000):
        grown.add(kinds[i:i + (chunk if chunk > 1 else 30000)])
    assert grown.block == known.block == 64
    assert grown.layout() == known.layout()
    assert np.array_equal(grown._counts[:grown._nblocks], known._counts[:known._nblocks])
    assert np.array_equal(grown.cell_kinds(), known.cell_kinds())
    assert grown.counts() == known.counts() == {
        str(K(k)): int(n) for k, n in enumerate(np.bincount(kinds, minlength=len(K)))}
    assert grown._counts.shape[0] <= 5000                      # bounded, whatever the input


def test_builder_accepts_chunks_decoded_and_rejects_bad_kinds(tmp_path: Any) -> None:
    raw = np.zeros(1000, dtype=np.uint64)
    raw[10:20] = ptebits.encode_present(np.arange(10) + 0x100, "PAGE_SHARED")
    raw[500] = ptebits.encode_marker(uffd_wp=True)
    path = tmp_path / "pt.bin"
    raw.tofile(str(path))
    b = MapBuilder()
    for chunk in read_dump(str(path), chunk_entries=300):
        b.add(chunk)
    b.add(ptebits.decode(raw[:5]))
    assert b.entries == 1005
    assert b.counts()["present"] == 10 and b.counts()["marker"] == 1
    with pytest.raises(ptebits.InvalidValueError):
        b.add(np.array([len(K)], dtype=np.uint8))
    with pytest.raises(ptebits.InvalidValueError):
        b.add(np.array([0.5]))


# ---------------------------------------------------------------- drawing

def test_draws_a_small_png(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    pyplot_before = "matplotlib.pyplot" in sys.modules
    out = tmp_path / "small.png"
    info = draw_map(kinds_of((K.NONE, 480), (K.PRESENT, 30), (K.SWAP, 1), (K.MARKER, 1)),
                    str(out), title="one page")
    assert_png(out)
    assert info.layout.block == 1 and info.layout.columns == 64
    assert info.title == "one page\n" + map_caption(info.layout)
    assert [e.kind for e in info.legend] == KIND_NAMES
    assert leftovers(tmp_path) == []
    if not pyplot_before:                         # no pyplot, no window, no global backend
        assert "matplotlib.pyplot" not in sys.modules


def test_draws_a_large_dump_in_block_mode_from_a_stream(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    raw = np.zeros(1 << 16, dtype=np.uint64)
    raw[: 1 << 14] = ptebits.encode_present(np.arange(1 << 14) + 0x1000, "PAGE_SHARED")
    raw[40000:40100] = ptebits.encode_swap(1, np.arange(100) + 1)
    path = tmp_path / "pt.bin"
    raw.tofile(str(path))
    out = tmp_path / "big.png"
    chunks = read_dump(str(path), chunk_entries=5000)
    info = draw_map(chunks, str(out), cells_max=4096, title="pt.bin")   # total unknown
    assert_png(out)
    assert info.layout.block == 16 and info.layout.cells == 4096
    assert "1 cell = 16 entries, dominant kind" in info.title
    by = {e.kind: e for e in info.legend}
    assert by["present"].count == 1 << 14 and by["present"].cells == 1024
    assert by["swap"].count == 100
    assert "dominant in" in by["none"].label


def test_empty_dump_and_other_formats(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    info = draw_map([], str(tmp_path / "empty.png"))
    assert_png(tmp_path / "empty.png", min_bytes=500)
    assert info.layout.entries == 0
    draw_map(kinds_of((K.PRESENT, 100)), str(tmp_path / "map.svg"))
    assert open(str(tmp_path / "map.svg"), "rb").read(200).lstrip().startswith(b"<?xml")
    with pytest.raises(ptebits.InvalidValueError, match=r"\.gif"):
        draw_map(kinds_of((K.PRESENT, 1)), str(tmp_path / "map.gif"))


def test_missing_matplotlib_says_how_to_install(monkeypatch: Any, tmp_path: Any) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.colors",
                 "matplotlib.backends", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)          # import raises ImportError
    out = tmp_path / "map.png"
    with pytest.raises(MissingDependencyError) as exc:
        draw_map(kinds_of((K.PRESENT, 10)), str(out))
    assert isinstance(exc.value, ptebits.Error) and isinstance(exc.value, RuntimeError)
    assert "pip install 'ptebits[plot]'" in str(exc.value)
    b = MapBuilder()                                          # counting needs no matplotlib
    b.add(kinds_of((K.NONE, 3)))
    with pytest.raises(MissingDependencyError):
        b.save(str(out))
    assert not out.exists() and leftovers(tmp_path) == []


def test_unwritable_output_names_the_path(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    kinds = kinds_of((K.PRESENT, 10))
    missing = tmp_path / "no" / "such" / "dir" / "map.png"
    with pytest.raises(ptebits.FileError, match=str(missing)):
        draw_map(kinds, str(missing))
    with pytest.raises(ptebits.FileError, match="is a directory"):
        draw_map(kinds, str(tmp_path))
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ptebits.FileError, match="afile"):
        draw_map(kinds, str(afile / "map.png"))
    assert leftovers(tmp_path) == []
    if os.geteuid() != 0:                                     # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(ptebits.FileError, match="ro/map.png"):
                draw_map(kinds, str(ro / "map.png"))
        finally:
            ro.chmod(0o700)


def test_map_path_is_checked_before_any_reading(tmp_path: Any) -> None:
    """check_map_path needs no matplotlib: the CLI calls it first."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    for bad in (tmp_path / "no" / "map.png", tmp_path, afile / "map.png"):
        with pytest.raises(ptebits.FileError, match=os.path.basename(str(bad))):
            check_map_path(str(bad))
    with pytest.raises(ptebits.InvalidValueError, match="png, .svg or .pdf"):
        check_map_path(str(tmp_path / "map.jpeg"))
    check_map_path(str(tmp_path / "ok.png"))
    check_map_path(str(tmp_path / "no-extension"))
    assert not (tmp_path / "ok.png").exists() and leftovers(tmp_path) == []


def test_interrupted_save_leaves_no_partial_file(monkeypatch: Any, tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    out = tmp_path / "map.png"
    out.write_bytes(b"the previous map")

    def half_then_interrupt(self: Any, f: Any, **kw: Any) -> None:
        f.write(PNG_MAGIC + b"half a picture")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        draw_map(kinds_of((K.PRESENT, 10)), str(out))
    assert out.read_bytes() == b"the previous map"            # untouched
    assert leftovers(tmp_path) == []                          # no temporary left behind
