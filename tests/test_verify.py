"""ptebits verify: what is compared (only what user space can see), how a
difference is shown, and — with the fault model built and a live kernel —
that the model agrees with the kernel on the whole corpus."""
from __future__ import annotations

import io
import os

import pytest

from ptebits import live
from ptebits.scenario import corpus_paths, load_scenario
from ptebits.verify import Comparison, compare, host_mismatch, observable, report


def result(pages, messages=None, signals=(), extra_page=None, handlers=None):
    step = {"op": "write", "messages": messages or {"WP": 1},
            "signals": list(signals), "pages": []}
    for i, (cls, wp) in enumerate(pages):
        pg = {"page": i, "class": cls, "present": int(cls == "present"),
              "swapped": int(cls in ("marker", "swap")), "file": 1, "exclusive": 0,
              "uffd_wp": wp, "guard": 0}
        pg.update(extra_page or {})
        step["pages"].append(pg)
    if handlers is not None:
        step["handlers"] = handlers
    return {"profile": "linux-6.18", "scenario": "s", "steps": [step]}


def test_observable_drops_what_user_space_cannot_see():
    model = result([("present", 1)], extra_page={"raw": "0x8000000012345425",
                                                 "kind": "present", "pte_uffd_wp": 1},
                   handlers=[{"page": 0, "handler": "do_wp_page"}])
    obs = observable(model)
    assert obs["steps"][0]["pages"] == [{"page": 0, "class": "present", "present": 1,
                                         "swapped": 0, "file": 1, "exclusive": 0,
                                         "uffd_wp": 1, "guard": 0}]
    assert "handlers" not in obs["steps"][0]
    assert obs["steps"][0]["messages"] == {"WP": 1, "MISSING": 0, "MINOR": 0, "REMOVE": 0}


def test_model_only_keys_never_make_a_difference():
    model = result([("marker", 1)], extra_page={"raw": "0xfffffffffffffc00", "kind": "marker",
                                                "pte_uffd_wp": 1}, handlers=[])
    kernel = result([("marker", 1)], extra_page={"pagemap": "0x420000000000003f"})
    assert compare("s", model, kernel).status == "agree"


def test_a_different_page_is_shown_side_by_side():
    c = compare("s", result([("marker", 1), ("none", 0)]), result([("none", 0), ("none", 0)]))
    assert c.status == "differ"
    assert c.rows == [("1 write", "page 0", "marker .SF.U.", "none ..F...")]
    out = io.StringIO()
    report([c, Comparison("t", "agree")], out, model_label="model linux-6.18",
           live_label="live kernel")
    text = out.getvalue()
    assert "DIFFER  s" in text and "marker .SF.U." in text and "agree   t" in text
    assert text.splitlines()[-1] == "1 scenarios agree, 1 differ"


def test_messages_and_signals_are_compared():
    c = compare("s", result([("present", 0)], messages={"WP": 1}),
                result([("present", 0)], messages={"WP": 2},
                       signals=[{"page": 0, "signal": "SIGBUS"}]))
    assert [(r[1], r[2], r[3]) for r in c.rows] == [("messages", "WP:1", "WP:2"),
                                                    ("signals", "-", "0:SIGBUS")]


def test_summary_counts_skipped_scenarios():
    out = io.StringIO()
    report([Comparison("a", "agree"), Comparison("b", "skipped", reason="no swap")], out,
           model_label="m", live_label="l")
    assert "skipped b: no swap" in out.getvalue()
    assert out.getvalue().splitlines()[-1] == "1 scenarios agree, 0 differ, 1 skipped"


def test_a_host_with_another_fault_around_window_is_not_compared():
    model = {"settings": {"fault_around_bytes": 65536}}
    assert host_mismatch(model, {"fault_around_bytes": 65536}) is None
    assert host_mismatch(model, {"fault_around_bytes": None}) is None
    assert "4096" in host_mismatch(model, {"fault_around_bytes": 4096})


# ----------------------------------------------- the model against the kernel

def _run_model():
    simulate = pytest.importorskip("ptebits.simulate", reason="model not built yet")
    return simulate.run_model


@pytest.mark.skipif(live.live_available() is not None, reason=str(live.live_available()))
@pytest.mark.parametrize("path", corpus_paths(), ids=lambda p: os.path.basename(p)[:-5])
def test_the_model_agrees_with_the_live_kernel(path):
    run_model = _run_model()
    scn = load_scenario(path)
    if any(s["op"] == "pageout" for s in scn["steps"]):
        try:
            with live.swap_file():
                pass
        except live.LiveUnavailable as e:
            pytest.skip(str(e))
    model = run_model(scn, "linux-6.18")
    kernel = live.run_live(scn, timeout=60, profile="linux-6.18")
    reason = host_mismatch(model, kernel["host"])
    if reason:
        pytest.skip(reason)
    c = compare(scn["name"], model, kernel)
    out = io.StringIO()
    report([c], out, model_label="model", live_label="live")
    assert c.status == "agree", out.getvalue()
