"""Scenarios in the fault model (run_model) and ``ptebits simulate``: what
each profile's kernel shows after every step, written as the expected
observation (pagemap §6, life cycle §7a/§7b, live findings 6 and 8)."""
from __future__ import annotations

import json
import os
from typing import Any, Dict

import pytest

from ptebits.cli import main
from ptebits.simulate import run_model

V2 = "linux-5.12-uffd-wp-v2"
V618 = "linux-6.18"
BOTH = pytest.mark.parametrize("profile", [V2, V618])
SCENARIOS = os.path.join(os.path.dirname(__file__), os.pardir, "src", "ptebits", "data",
                         "scenarios")
PM_BITS = ("present", "swapped", "file", "exclusive", "uffd_wp", "guard")


def scenario(name: str) -> str:
    return os.path.join(SCENARIOS, name + ".json")


def bits(page: Dict[str, Any]) -> str:
    return "".join(k[0].upper() if page[k] else "." for k in PM_BITS)


@BOTH
def test_punched_write_protected_shmem_page(profile: str) -> None:
    res = run_model(scenario("shmem_memfd_wp_punch_keeps_marker"), profile)
    assert res["profile"] == profile
    assert [s["op"] for s in res["steps"]] == ["write", "wp", "punch", "read", "write"]
    punched = res["steps"][2]["pages"][0]
    assert punched["pte_uffd_wp"] == 1
    if profile == V2:
        # the special PTE 0x4: pte_has_swap_entry() skips it, pagemap shows
        # nothing of it (no PM_SWAP, no frame; 5.12 has no PM_UFFD_WP)
        assert (punched["raw"], punched["kind"]) == ("0x0000000000000004", "uffd_wp_special")
        assert (punched["class"], bits(punched)) == ("none", "......")
    else:
        # 6.18: the uffd-wp marker, PM_SWAP | PM_UFFD_WP, type 31 offset 1
        assert (punched["raw"], punched["kind"]) == ("0xfffffffffffffc00", "marker")
        assert punched["pagemap"] == "0x420000000000003f"
        assert (punched["class"], bits(punched)) == ("marker", ".S..U.")
    read = res["steps"][3]
    special = "uffd_wp_handle_special" if profile == V2 else "pte_marker_handle_uffd_wp"
    assert read["handlers"][0]["handler"] == special
    assert sum(read["messages"].values()) == 0
    page0 = read["pages"][0]
    assert (page0["kind"], page0["pte_uffd_wp"], page0["uffd_wp"]) == \
        ("present", 1, int(profile == V618))
    assert res["steps"][4]["messages"] == {"WP": 1, "MISSING": 0, "MINOR": 0, "REMOVE": 0}
    assert res["steps"][4]["pages"][0]["pte_uffd_wp"] == 0


@BOTH
def test_paged_out_write_protected_anon_page(profile: str) -> None:
    res = run_model(scenario("anon_wp_pageout_keeps_wp_in_swap_entry"), profile)
    swapped, plain = res["steps"][2]["pages"]
    assert (swapped["kind"], swapped["pte_uffd_wp"]) == ("swap", 1)
    assert (plain["kind"], plain["pte_uffd_wp"]) == ("swap", 0)
    # pagemap bit 57 exists only in 6.18 (live finding 6: .S..U.)
    assert bits(swapped) == (".S..U." if profile == V618 else ".S....")
    assert swapped["swapped"] == 1 and plain["swapped"] == 1
    read, write = res["steps"][3], res["steps"][4]
    assert sum(read["messages"].values()) == 0
    assert (read["pages"][0]["kind"], read["pages"][0]["pte_uffd_wp"]) == ("present", 1)
    assert write["messages"]["WP"] == 1


@BOTH
def test_truncated_write_protected_pages_keep_uffd_wp(profile: str) -> None:
    res = run_model(scenario("shmem_memfd_truncate_and_regrow"), profile)
    truncated = res["steps"][2]["pages"]
    assert [p["pte_uffd_wp"] for p in truncated] == [1, 1, 1]     # §9
    assert res["steps"][3]["signals"] == [{"page": 2, "signal": "SIGBUS"}]
    regrown = res["steps"][5]
    assert sum(regrown["messages"].values()) == 0
    assert [p["pte_uffd_wp"] for p in regrown["pages"][1:]] == [1, 1]
    assert res["steps"][6]["messages"]["WP"] == 1


def test_simulate_table(capsys: Any) -> None:
    code = main(["simulate", scenario("shmem_memfd_wp_punch_keeps_marker"),
                 "--profile", V2])
    out = capsys.readouterr().out
    assert code == 0
    assert "scenario shmem_memfd_wp_punch_keeps_marker, profile " + V2 in out
    assert "step 3: punch" in out and "step 5: write   messages WP:1" in out
    assert "0x0000000000000004 uffd_wp_special wp" in out
    assert "0 uffd_wp_handle_special" in out


@BOTH
def test_simulate_json(capsys: Any, profile: str) -> None:
    code = main(["simulate", scenario("shmem_memfd_wp_dontneed_keeps_marker"),
                 "--profile", profile, "--output", "json"])
    res = json.loads(capsys.readouterr().out)
    assert code == 0 and res["profile"] == profile
    for step in res["steps"]:
        assert set(step) >= {"op", "messages", "handlers", "signals", "pages"}
        assert set(step["messages"]) == {"WP", "MISSING", "MINOR", "REMOVE"}
        for h in step["handlers"]:
            assert set(h) >= {"page", "handler"}
        for p in step["pages"]:
            assert set(p) >= {"page", "raw", "kind", "pte_uffd_wp"} | set(PM_BITS)
            assert p["raw"].startswith("0x") and len(p["raw"]) == 18
    assert res == run_model(scenario("shmem_memfd_wp_dontneed_keeps_marker"), profile)


@pytest.mark.parametrize("text", ['{"memory": "anon", "pages": 2, "steps": [{"op": "fly"}]}',
                                  '{"memory": "anon", "pages": 2, "register": null, '
                                  '"steps": [{"op": "wp"}]}',
                                  "not json"])
def test_simulate_bad_scenario_exits_3(tmp_path: Any, capsys: Any, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert main(["simulate", str(path)]) == 3
    assert capsys.readouterr().err.strip()


def test_simulate_live_cut_short_exits_4(capsys: Any, monkeypatch: Any) -> None:
    """A live run that a system call or the time limit cut short is the
    environment's doing: exit 4, one line naming it, no traceback."""
    from ptebits import live

    def cut_short(*args: Any, **kwargs: Any) -> None:
        raise live.LiveRunError("killed after 2 s in step 1 (read)", timed_out=True)

    monkeypatch.setattr(live, "run_live", cut_short)
    code = main(["simulate", scenario("shmem_memfd_wp_punch_keeps_marker"), "--live"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 4
    assert len(err) == 1 and "killed after 2 s in step 1 (read)" in err[0]
