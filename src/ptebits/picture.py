"""Draw a dump as a map: a grid of cells coloured by entry kind.

Small dumps get one cell per entry (512 cells a row: one page-table page;
64 a row for dumps of at most 4096 entries, so a page is 8 rows).  Larger
ones get one cell per block of ``k`` entries (``k`` a power of two, the
smallest that keeps the grid within ``cells_max`` cells), coloured by the
block's dominant kind, and the title says so ("1 cell = 4096 entries,
dominant kind").

The map is built from a stream of chunks in bounded memory
(:class:`MapBuilder`): per-block kind counts, at most ``cells_max`` blocks.
When the entry count is known up front (``total=``) the block size is
chosen at once; otherwise it starts at one entry and doubles, merging
adjacent blocks, whenever the grid would outgrow ``cells_max``.  Both ways
give the same picture.

matplotlib is optional (``pip install 'ptebits[plot]'``) and imported only
to draw, through its Agg canvas: no window, no pyplot state, the caller's
backend untouched.  The file is written under a temporary name in the
target directory and renamed into place when complete.
"""
from __future__ import annotations

import os
import tempfile
from typing import Any, List, NamedTuple, Optional, Tuple

import numpy as np

from . import _core
from ._core import lib
from .errors import Error, FileError, InvalidValueError
from .outfiles import atomic_output

__all__ = ["MissingDependencyError", "KIND_COLOURS", "PAST_END_COLOUR", "MapLayout",
           "LegendEntry", "MapInfo", "MapBuilder", "draw_map", "map_layout", "legend_entries",
           "map_caption", "check_map_path", "require_matplotlib", "CELLS_MAX", "ROW_CELLS"]

NK = int(lib.PB_KIND_COUNT)
KIND_NAMES: Tuple[str, ...] = _core.kind_names()

#: Default bound on the number of cells (512 rows of 512).
CELLS_MAX = 512 * 512
#: Cells a row: one page-table page of entries.
ROW_CELLS = 512
#: Cells a row for small grids (at most SMALL_CELLS cells), so they stay legible.
SMALL_ROW_CELLS = 64
SMALL_CELLS = 8 * ROW_CELLS

#: Colours by kind name: the Okabe-Ito palette (distinguishable with the
#: common colour-vision deficiencies) plus Paul Tol's wine and olive and a
#: light grey for holes; black for ``bad`` entries, which should stand out.
#: Kinds the C core adds later get Tol's remaining colours (``_EXTRA_COLOURS``).
KIND_COLOURS = {
    "none": "#d9d9d9",
    "present": "#0072b2",
    "protnone": "#56b4e9",
    "swap": "#009e73",
    "migration": "#e69f00",
    "device": "#cc79a7",
    "hwpoison": "#882255",
    "marker": "#d55e00",
    "uffd_wp_special": "#f0e442",
    "bad": "#000000",
    "table": "#999933",
}
_EXTRA_COLOURS = ("#332288", "#aa4499", "#44aa99", "#88ccee", "#117733", "#ddcc77")
for _n, _name in enumerate(k for k in KIND_NAMES if k not in KIND_COLOURS):
    KIND_COLOURS[_name] = _EXTRA_COLOURS[_n % len(_EXTRA_COLOURS)]
#: Cells past the last entry (the grid's last row is padded).
PAST_END_COLOUR = "#ffffff"


class MissingDependencyError(Error, RuntimeError):
    """An optional dependency is not installed (matplotlib for pictures)."""


def require_matplotlib() -> Tuple[Any, Any, Any]:
    """matplotlib's ``Figure``, ``FigureCanvasAgg`` and ``ListedColormap``,
    or :class:`MissingDependencyError` saying how to install it."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure
    except ImportError as e:
        raise MissingDependencyError(
            "drawing a map needs matplotlib, which is not installed (%s): "
            "pip install 'ptebits[plot]'" % e) from None
    return Figure, FigureCanvasAgg, ListedColormap


# ------------------------------------------------------------- layout

class MapLayout(NamedTuple):
    """How ``entries`` entries are drawn: ``block`` entries a cell,
    ``cells`` cells in ``rows`` rows of ``columns``."""
    entries: int
    block: int
    cells: int
    columns: int
    rows: int


def _block_for(entries: int, cells_max: int) -> int:
    """The smallest power of two k with ceil(entries / k) <= cells_max."""
    k = 1
    while -(-entries // k) > cells_max:
        k *= 2
    return k


def _check_cells_max(cells_max: int) -> None:
    if int(cells_max) < 1:
        raise InvalidValueError("cells_max must be at least 1 (got %r)" % (cells_max,))


def map_layout(entries: int, *, block: Optional[int] = None,
               cells_max: int = CELLS_MAX) -> MapLayout:
    """The grid for a dump of ``entries`` entries (``block`` forced, or the
    smallest power of two that fits ``cells_max``)."""
    _check_cells_max(cells_max)
    if entries < 0:
        raise InvalidValueError("entries must be >= 0 (got %d)" % entries)
    k = _block_for(entries, cells_max) if block is None else int(block)
    cells = -(-entries // k)
    columns = SMALL_ROW_CELLS if cells <= SMALL_CELLS else ROW_CELLS
    columns = max(1, min(columns, cells))
    rows = -(-cells // columns)
    return MapLayout(entries, k, cells, columns, rows)


def map_caption(layout: MapLayout) -> str:
    """What a cell and a row are, for the title."""
    if not layout.entries:
        return "no entries"
    if layout.block == 1:
        if layout.columns == ROW_CELLS:
            per_row = "512 entries (one page-table page) a row"
        elif layout.columns == SMALL_ROW_CELLS and layout.rows > 1:
            per_row = "64 entries a row (8 rows = one 512-entry page-table page)"
        else:
            per_row = "%d entries a row" % layout.columns
        return "1 cell = 1 entry, %s" % per_row
    return "1 cell = %s entries, dominant kind; %d cells a row (%s entries)" % (
        "{:,}".format(layout.block), layout.columns, "{:,}".format(layout.block * layout.columns))


class LegendEntry(NamedTuple):
    kind: str
    colour: str
    count: int          # entries of this kind
    cells: int          # cells it colours
    label: str


def legend_entries(counts: Any, *, block: int = 1,
                   cells: Optional[Any] = None) -> List[LegendEntry]:
    """One legend entry per kind, every kind listed (in :class:`ptebits.Kind`
    order), with its entry count; in block mode (``block > 1``) also how
    many cells it dominates, and a warning for kinds that occur but dominate
    no cell (they are invisible on the map).  ``counts`` and ``cells`` are
    per-kind arrays or ``{name: n}`` dicts."""
    def as_list(v: Any) -> List[int]:
        if isinstance(v, dict):
            return [int(v.get(name, 0)) for name in KIND_NAMES]
        arr = np.asarray(v, dtype=np.int64).reshape(-1)
        return [int(arr[k]) if k < arr.size else 0 for k in range(NK)]

    n = as_list(counts)
    c = as_list(cells) if cells is not None else list(n)
    total = sum(n)
    out = []
    for k, name in enumerate(KIND_NAMES):
        label = "%s: %s" % (name, "{:,}".format(n[k]))
        if total and n[k]:
            pct = 100.0 * n[k] / total
            label += " (%s%%)" % ("%.1f" % pct if pct >= 0.1 else "<0.1")
        if block > 1:
            if c[k]:
                label += ", dominant in %s cell%s" % ("{:,}".format(c[k]), "s" if c[k] > 1 else "")
            elif n[k]:
                label += ", dominant in no cell (not visible)"
        out.append(LegendEntry(name, KIND_COLOURS[name], n[k], c[k], label))
    return out


# ------------------------------------------------------------ building

class MapInfo(NamedTuple):
    """What :meth:`MapBuilder.save` / :func:`draw_map` drew."""
    path: str
    layout: MapLayout
    legend: List[LegendEntry]
    title: str


def _kinds_of(item: Any) -> np.ndarray:
    if hasattr(item, "decoded"):             # DecodedChunk
        item = item.decoded
    if hasattr(item, "kind") and not isinstance(item, np.ndarray):   # Decoded, PagemapDecoded
        item = item.kind
    arr = np.asarray(item)
    if arr.dtype.kind not in "iu":
        raise InvalidValueError("a map is drawn from entry kinds (integer arrays, Decoded or "
                                "decoded chunks), got %s" % arr.dtype)
    return arr.reshape(-1)


class MapBuilder:
    """Accumulates entry kinds chunk by chunk and draws the map.

    ``total`` is the entry count when known (it fixes the block size at
    once; a stream that turns out longer still works); ``first_index`` is
    the index of the first entry, for the axis labels.  Memory: at most
    ``cells_max`` blocks of per-kind counts (about 80 bytes a cell).
    """

    def __init__(self, total: Optional[int] = None, *, cells_max: int = CELLS_MAX,
                 first_index: int = 0):
        _check_cells_max(cells_max)
        if total is not None and total < 0:
            raise InvalidValueError("total must be >= 0 (got %d)" % total)
        self.cells_max = int(cells_max)
        self.first_index = int(first_index)
        self.total = total
        self.block = _block_for(total, self.cells_max) if total else 1
        cap = -(-total // self.block) if total else min(self.cells_max, 4096)
        self._counts = np.zeros((max(cap, 1), NK), dtype=np.int64)
        self._nblocks = 0
        self.entries = 0
        self.kind_counts = np.zeros(NK, dtype=np.int64)

    def add(self, kinds: Any) -> None:
        """Count one chunk: kinds (uint8 array), a ``Decoded`` or a
        ``DecodedChunk``; entries follow those added before."""
        arr = _kinds_of(kinds)
        m = int(arr.size)
        if not m:
            return
        if int(arr.max()) >= NK or (arr.dtype.kind == "i" and int(arr.min()) < 0):
            raise InvalidValueError("entry kinds are 0-%d; got %d" % (NK - 1, int(arr.max())))
        n0 = self.entries
        end = n0 + m
        while -(-end // self.block) > self.cells_max:
            self._merge()
        k = self.block
        b0, b1 = n0 // k, -(-end // k)
        self._reserve(b1)
        idx = arr.astype(np.intp)
        if k == 1:                           # one block an entry: each row gets one count
            self._counts[np.arange(b0, b1), idx] += 1
        else:
            rel = (np.arange(n0, end, dtype=np.int64) // k - b0).astype(np.intp)
            part = np.bincount(rel * NK + idx, minlength=(b1 - b0) * NK)
            self._counts[b0:b1] += part.reshape(b1 - b0, NK)
        self._nblocks = b1
        self.entries = end
        self.kind_counts += np.bincount(idx, minlength=NK)

    def _reserve(self, nblocks: int) -> None:
        if nblocks <= self._counts.shape[0]:
            return
        cap = min(self.cells_max, max(nblocks, 2 * self._counts.shape[0]))
        grown = np.zeros((cap, NK), dtype=np.int64)
        grown[:self._nblocks] = self._counts[:self._nblocks]
        self._counts = grown

    def _merge(self) -> None:
        """Double the block size: block i of the new grid is blocks 2i and
        2i+1 of the old one."""
        nb = self._nblocks
        c = self._counts[:nb]
        if nb % 2:
            c = np.concatenate([c, np.zeros((1, NK), dtype=np.int64)])
        merged = c[0::2] + c[1::2]
        self._counts = np.zeros((max(self._counts.shape[0] // 2, merged.shape[0], 1), NK),
                                dtype=np.int64)
        self._counts[:merged.shape[0]] = merged
        self._nblocks = merged.shape[0]
        self.block *= 2

    # -- results
    def layout(self) -> MapLayout:
        return map_layout(self.entries, block=self.block, cells_max=self.cells_max)

    def counts(self) -> dict:
        """Entries per kind (exact, whatever the block size)."""
        return {name: int(self.kind_counts[k]) for k, name in enumerate(KIND_NAMES)}

    def cell_kinds(self) -> np.ndarray:
        """The kind drawn in each cell (the dominant kind of its block; on a
        tie the lower :class:`ptebits.Kind` value)."""
        return self._counts[:self._nblocks].argmax(axis=1).astype(np.uint8)

    def grid(self) -> Tuple[np.ndarray, MapLayout]:
        """The cells as a (rows, columns) array of kind values, NK past the end."""
        lay = self.layout()
        grid = np.full(lay.rows * lay.columns, NK, dtype=np.uint8)
        grid[:lay.cells] = self.cell_kinds()[:lay.cells]
        return grid.reshape(lay.rows, lay.columns), lay

    def legend(self) -> List[LegendEntry]:
        cells = np.bincount(self.cell_kinds(), minlength=NK)
        return legend_entries(self.kind_counts, block=self.block, cells=cells)

    def save(self, path: str, *, title: Optional[str] = None, dpi: int = 128) -> MapInfo:
        """Draw the map into ``path`` (PNG, or SVG/PDF by the extension).
        The resolution is raised when needed so a cell is at least 2 pixels
        (a 512-cell row is 1024 pixels)."""
        fmt = _format_of(path)
        Figure, FigureCanvasAgg, ListedColormap = require_matplotlib()
        grid, lay = self.grid()
        legend = self.legend()
        caption = map_caption(lay)
        full_title = "%s\n%s" % (title, caption) if title else caption

        ax_w = 8.0                                   # inches of grid
        width_in = ax_w + 3.6
        ax_h = min(12.0, max(0.6, ax_w * lay.rows / max(lay.columns, 1)))
        dpi = max(dpi, int(np.ceil(2 * lay.columns / ax_w)), int(np.ceil(2 * lay.rows / ax_h)))
        fig = Figure(figsize=(width_in, ax_h + 1.6), dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.6 / width_in, 0.5 / (ax_h + 1.6), ax_w / width_in,
                           ax_h / (ax_h + 1.6)))
        cmap = ListedColormap([KIND_COLOURS[n] for n in KIND_NAMES] + [PAST_END_COLOUR])
        if lay.cells:
            ax.imshow(grid, cmap=cmap, vmin=-0.5, vmax=NK + 0.5, interpolation="nearest",
                      aspect="auto")
            from matplotlib.ticker import FuncFormatter, MaxNLocator
            for axis, first, step in ((ax.yaxis, self.first_index, lay.block * lay.columns),
                                      (ax.xaxis, 0, lay.block)):
                axis.set_major_locator(MaxNLocator(nbins=8, integer=True))
                axis.set_major_formatter(FuncFormatter(_index_formatter(first, step)))
            if lay.block == 1 and lay.columns == SMALL_ROW_CELLS:
                for y in range(8, lay.rows, 8):         # page-table page boundaries
                    ax.axhline(y - 0.5, color="#ffffff", linewidth=1.0)
            ax.set_ylabel("first entry of the row")
            ax.set_xlabel("entry within the row" if lay.block == 1 else
                          "entries within the row")
        else:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.text(0.5, 0.5, "no entries", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(full_title, fontsize=10, loc="left")
        from matplotlib.patches import Patch
        handles = [Patch(facecolor=e.colour, edgecolor="#555555", linewidth=0.5, label=e.label)
                   for e in legend]
        fig.legend(handles=handles, loc="upper left",
                   bbox_to_anchor=((0.6 + ax_w + 0.15) / width_in, 1 - 0.3 / (ax_h + 1.6)),
                   fontsize=8, frameon=False, title="kind: entries" if lay.block == 1 else
                   "kind: entries, cells", title_fontsize=8)
        _atomic_save(fig, path, fmt)
        return MapInfo(path, lay, legend, full_title)


def _index_formatter(first: int, step: int) -> Any:
    """Axis ticks as entry indexes: cell c is entry first + c * step."""
    def fmt(x: float, pos: Any = None) -> str:
        cell = int(round(x))
        if cell < 0 or abs(x - cell) > 1e-6:
            return ""
        return "{:,}".format(first + cell * step)
    return fmt


_FORMATS = ("png", "svg", "pdf")


def _format_of(path: str) -> str:
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if not ext:
        return "png"
    if ext not in _FORMATS:
        raise InvalidValueError("%s: cannot draw a map as .%s; use .png, .svg or .pdf"
                                % (path, ext))
    return ext


def check_map_path(path: str) -> None:
    """Fail now, before any reading, if ``path`` cannot take a map: a format
    other than png/svg/pdf (:class:`ptebits.InvalidValueError`), or a
    directory that is missing or not writable, or a path that is a
    directory (:class:`ptebits.FileError`)."""
    _format_of(path)
    if os.path.isdir(path):
        raise FileError("%s: is a directory; give a file name for the map" % path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    except OSError as e:
        raise FileError("%s: cannot write the map there: %s" % (path, e.strerror or e)) from None
    os.close(fd)
    os.unlink(tmp)


def _atomic_save(fig: Any, path: str, fmt: str) -> None:
    if os.path.isdir(path):
        raise FileError("%s: is a directory; give a file name for the map" % path)
    with atomic_output(path, binary=True) as f:
        fig.savefig(f, format=fmt, bbox_inches="tight")


def draw_map(chunks_or_kinds: Any, out_path: str, *, total: Optional[int] = None,
             title: Optional[str] = None, cells_max: int = CELLS_MAX,
             first_index: int = 0) -> MapInfo:
    """Draw a dump as a map of entry kinds into ``out_path`` (PNG; .svg and
    .pdf by extension).

    ``chunks_or_kinds`` is one array of kinds, a ``Decoded``, or an iterable
    of them or of ``DecodedChunk`` objects (:func:`ptebits.dumps.read_dump`),
    consumed once in bounded memory.  ``total`` (the entry count, when
    known) saves re-blocking.  matplotlib is checked before the input is
    read; a missing one raises :class:`MissingDependencyError`.
    """
    require_matplotlib()
    _format_of(out_path)
    builder = MapBuilder(total, cells_max=cells_max, first_index=first_index)
    if isinstance(chunks_or_kinds, np.ndarray) or hasattr(chunks_or_kinds, "kind"):
        builder.add(chunks_or_kinds)
    else:
        for item in chunks_or_kinds:
            builder.add(item)
    return builder.save(out_path, title=title)
