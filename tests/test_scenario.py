"""The scenario file format: what load_scenario accepts, how it normalizes,
and the error it gives (naming step and field) for what cannot run."""
from __future__ import annotations

import json
import os
import re

import pytest

from ptebits import scenario as sc
from ptebits.cli import main
from ptebits.errors import FileError, InvalidValueError, ScenarioError

CORPUS = sc.corpus_paths()


def base(**kw):
    d = {"memory": "shmem_memfd", "pages": 2, "register": "WP",
         "steps": [{"op": "write"}, {"op": "wp", "pages": [0]}]}
    d.update(kw)
    return d


# ----------------------------------------------------------- the corpus

def test_corpus_has_at_least_25_scenarios_with_unique_names():
    names = [os.path.splitext(os.path.basename(p))[0] for p in CORPUS]
    assert len(names) >= 25
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: os.path.basename(p)[:-5])
def test_every_corpus_scenario_loads_and_says_what_it_tests(path):
    s = sc.load_scenario(path)
    assert s["name"] == os.path.basename(path)[:-5]
    with open(path) as f:
        assert len(json.load(f).get("description", "")) > 20


def test_corpus_covers_every_memory_kind_op_feature_and_resolution_mode():
    loaded = [sc.load_scenario(p) for p in CORPUS]
    assert {s["memory"] for s in loaded} == set(sc.MEMORY_KINDS)
    assert {st["op"] for s in loaded for st in s["steps"]} == set(sc.OPS)
    assert {f for s in loaded for f in s["features"]} == set(sc.FEATURES)
    assert {s["register"] for s in loaded} >= {None, "WP", "MISSING", "MINOR", "MISSING|WP",
                                               "WP|MINOR"}
    assert any(s["copy_mode"] == "WP" for s in loaded)
    assert any(s["continue_mode"] == "WP" for s in loaded)
    assert any(s["register"] == "MISSING|WP" and s["copy_mode"] == "" for s in loaded)
    assert any(s["register"] == "WP|MINOR" and s["continue_mode"] == "" for s in loaded)


def test_corpus_ships_inside_the_package():
    assert all(p.startswith(os.path.join(os.path.dirname(sc.__file__), "data", "scenarios"))
               for p in CORPUS)


# ------------------------------------------------------------ the schema

def schema():
    with open(sc.SCHEMA_PATH) as f:
        return json.load(f)


def test_schema_enums_are_the_loaders():
    s = schema()
    props = s["properties"]
    assert tuple(props["memory"]["enum"]) == sc.MEMORY_KINDS
    assert tuple(props["features"]["items"]["enum"]) == sc.FEATURES
    assert tuple(props["copy_mode"]["enum"]) == sc.MODES
    assert tuple(props["continue_mode"]["enum"]) == sc.MODES
    assert props["pages"]["maximum"] == sc.MAX_PAGES
    assert tuple(s["$defs"]["step"]["properties"]["op"]["enum"]) == sc.OPS
    pattern = props["register"]["oneOf"][1]["pattern"]
    assert set(re.findall(r"[A-Z]+", pattern)) == set(sc.REGISTER_MODES)
    variants = s["$defs"]["step"]["oneOf"]
    assert tuple(variants[1]["properties"]["prot"]["enum"]) == sc.PROTS
    assert set(s["properties"]) == set(sc._TOP_KEYS)


def test_schema_register_pattern_accepts_what_the_loader_accepts():
    pattern = re.compile(schema()["properties"]["register"]["oneOf"][1]["pattern"])
    for reg in ("WP", "MISSING|WP", "WP|MISSING", "MINOR|WP", "MISSING|WP|MINOR"):
        assert pattern.match(reg)
        sc.load_scenario(base(memory="shmem_memfd", register=reg))
    assert not pattern.match("wp")


def test_every_corpus_file_uses_only_schema_keys():
    s = schema()
    step_keys = {k for v in s["$defs"]["step"]["oneOf"] for k in v["properties"]}
    for p in CORPUS:
        with open(p) as f:
            raw = json.load(f)
        assert set(raw) <= set(s["properties"]), p
        for st in raw["steps"]:
            assert set(st) <= step_keys, p


# --------------------------------------------------------- normalization

def test_normalization_fills_defaults_and_orders_register_modes():
    s = sc.load_scenario({"memory": "anon", "pages": 3, "register": "WP|MISSING",
                          "features": ["WP_UNPOPULATED", "EVENT_REMOVE"],
                          "steps": [{"op": "read"}, {"op": "write", "pages": [2, 0, 2]},
                                    {"op": "mprotect", "prot": "r"}]})
    assert s == {"name": "scenario", "memory": "anon", "pages": 3, "register": "MISSING|WP",
                 "features": ["EVENT_REMOVE", "WP_UNPOPULATED"], "copy_mode": "",
                 "continue_mode": "",
                 "steps": [{"op": "read", "pages": [0, 1, 2]},
                           {"op": "write", "pages": [2, 0, 2]},
                           {"op": "mprotect", "pages": [0, 1, 2], "prot": "r"}]}


def test_truncate_has_size_pages_and_no_pages():
    s = sc.load_scenario(base(steps=[{"op": "truncate", "size_pages": 0},
                                     {"op": "truncate", "size_pages": 2}]))
    assert s["steps"] == [{"op": "truncate", "size_pages": 0},
                          {"op": "truncate", "size_pages": 2}]


def test_name_from_file_stem_or_dict(tmp_path):
    p = tmp_path / "my_case.json"
    p.write_text(json.dumps(base()))
    assert sc.load_scenario(p)["name"] == "my_case"
    assert sc.load_scenario(str(p))["name"] == "my_case"
    assert sc.load_scenario(base(name="x"))["name"] == "x"


def test_register_modes_are_written_in_the_order_missing_wp_minor():
    assert sc.load_scenario(base(register="MINOR|WP"))["register"] == "WP|MINOR"
    assert sc.load_scenario(base(register="MINOR|WP|MISSING"))["register"] == "MISSING|WP|MINOR"


def test_null_register_allows_plain_ops():
    s = sc.load_scenario({"memory": "anon", "pages": 1, "register": None,
                          "steps": [{"op": "read"}, {"op": "pageout"}]})
    assert s["register"] is None and s["features"] == []


# ---------------------------------------------------------------- errors

ERRORS = [
    # (scenario, step, field, message fragment)
    (base(colour="red"), None, "colour", "unknown key 'colour'"),
    (base(memory="hugetlb"), None, "memory", "must be one of"),
    ({"memory": "anon", "steps": [{"op": "read"}]}, None, "pages", "is required"),
    (base(pages=0), None, "pages", "from 1 to 4096"),
    (base(pages=True), None, "pages", "from 1 to 4096"),
    (base(pages=4097), None, "pages", "from 1 to 4096"),
    (base(register="WP|WP"), None, "register", "names a mode twice"),
    (base(register="WRITE"), None, "register", "unknown mode 'WRITE'"),
    (base(register=""), None, "register", "must be null or modes"),
    (base(memory="anon", register="MINOR"), None, "register", "MINOR cannot be registered"),
    (base(features=["FORK"]), None, "features", "unknown feature 'FORK'"),
    (base(register="MISSING", features=["WP_UNPOPULATED"],
          steps=[{"op": "read"}]), None, "features", "WP_UNPOPULATED needs a registration with WP"),
    (base(register="MISSING", features=["WP_ASYNC"],
          steps=[{"op": "read"}]), None, "features", "WP_ASYNC needs"),
    (base(register=None, features=["EVENT_REMOVE"],
          steps=[{"op": "read"}]), None, "features", "EVENT_REMOVE needs a registration"),
    (base(copy_mode="WP"), None, "copy_mode", "needs a MISSING|WP registration"),
    (base(register="MISSING", copy_mode="WP", steps=[{"op": "read"}]), None, "copy_mode",
     "needs a MISSING|WP"),
    (base(continue_mode="WP"), None, "continue_mode", "needs a MINOR|WP registration"),
    (base(copy_mode="wp"), None, "copy_mode", "must be one of"),
    (base(steps=[]), None, "steps", "non-empty list"),
    (base(steps=[{"op": "read"}, {"op": "fork"}]), 2, "op", "unknown op 'fork'"),
    (base(steps=[{"op": "read", "pages": [2]}]), 1, "pages", "page 2 out of range 0..1"),
    (base(steps=[{"op": "read", "pages": [-1]}]), 1, "pages", "out of range"),
    (base(steps=[{"op": "read", "pages": []}]), 1, "pages", "non-empty list"),
    (base(steps=[{"op": "read", "pages": 0}]), 1, "pages", "non-empty list"),
    (base(steps=[{"op": "read", "prot": "r"}]), 1, "prot", "unknown key 'prot' for op 'read'"),
    (base(steps=[{"op": "mprotect"}]), 1, "prot", "must be one of 'r', 'rw'"),
    (base(steps=[{"op": "mprotect", "prot": "x"}]), 1, "prot", "must be one of"),
    (base(steps=[{"op": "truncate", "pages": [0], "size_pages": 1}]), 1, "pages",
     "unknown key 'pages' for op 'truncate'"),
    (base(steps=[{"op": "truncate", "size_pages": 3}]), 1, "size_pages", "from 0 to 2"),
    (base(memory="shmem_anon", steps=[{"op": "punch"}]), 1, "op",
     "punch (fallocate PUNCH_HOLE) needs a file descriptor"),
    (base(memory="anon", steps=[{"op": "punch"}]), 1, "op", "needs a file descriptor"),
    (base(memory="shmem_anon", steps=[{"op": "truncate", "size_pages": 1}]), 1, "op",
     "truncate needs a file descriptor"),
    (base(memory="anon", steps=[{"op": "remove"}]), 1, "op",
     "remove (MADV_REMOVE) needs a shared mapping"),
    (base(memory="shmem_memfd_private", steps=[{"op": "remove"}]), 1, "op", "shared mapping"),
    (base(steps=[{"op": "mprotect", "pages": [1], "prot": "r"}, {"op": "remove"}]), 2, "pages",
     "page 1 was made read-only"),
    (base(register="MISSING", steps=[{"op": "wp"}]), 1, "op", "wp needs a registration with WP"),
    (base(register=None, steps=[{"op": "unwp"}]), 1, "op", "unwp needs a registration with WP"),
    (base(steps=[{"op": "unregister", "pages": [1]}, {"op": "wp"}]), 2, "pages",
     "wp of page 1 after it was unregistered"),
    (base(register=None, steps=[{"op": "unregister"}]), 1, "op", "unregister needs a registration"),
    (base(steps=["read"]), 1, None, "must be an object"),
]


@pytest.mark.parametrize("raw,step,field,fragment", ERRORS,
                         ids=["%d-%s" % (i, e[3][:25]) for i, e in enumerate(ERRORS)])
def test_validation_error_names_step_and_field(raw, step, field, fragment):
    with pytest.raises(ScenarioError) as ei:
        sc.load_scenario(raw)
    assert fragment in str(ei.value)
    assert ei.value.step == step
    assert ei.value.field == field
    if step is not None:
        assert "step %d" % step in str(ei.value)
    assert isinstance(ei.value, InvalidValueError)      # the CLI maps it to exit 3


def test_bad_json_names_the_line(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"memory": "anon",\n "pages": 1,\n "steps": [}\n')
    with pytest.raises(ScenarioError, match=r"bad\.json: line 3 column \d+: bad JSON") as ei:
        sc.load_scenario(p)
    assert ei.value.line == 3


def test_missing_file_is_a_file_error(tmp_path):
    with pytest.raises(FileError, match="no such file"):
        sc.load_scenario(tmp_path / "nope.json")


def test_not_an_object(tmp_path):
    p = tmp_path / "list.json"
    p.write_text("[1, 2]")
    with pytest.raises(ScenarioError, match="must be a JSON object"):
        sc.load_scenario(p)


def test_verify_rejects_a_bad_scenario_with_exit_3_before_running(tmp_path, capsys):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(base(memory="shmem_anon", steps=[{"op": "punch"}])))
    assert main(["verify", str(p)]) == 3
    err = capsys.readouterr().err
    assert "step 1" in err and "punch" in err


def test_verify_missing_scenario_file_exits_3(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "none.json")]) == 3
    assert "no such file" in capsys.readouterr().err
