"""Generated data mappings for `lumicare reproduce --data` (JSON and YAML): an error or a correct layout.

Mappings of specimens to folders with wrong types, missing and unknown keys,
condition names that try to leave the output folder (``../``, absolute,
backslashes), paths that do not exist, YAML aliases (also recursive ones
and an alias "bomb"), and damaged text. Every case must end in the
package's own one-line error or in links to the given stacks inside the
output folder, within 10 s; nothing may appear outside it.
"""

import json
import os
import shutil
import signal

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings, strategies as st

from lumicare_ij.errors import LumicareError
from lumicare_ij.io import write_stack
from lumicare_ij.reproduce.datasets import OwnData

SPECIMENS = ("cytoplasmic", "h2b", "tomm20")
NAMES = st.one_of(st.sampled_from(["lum_60s", "lum_0.5s", "fluo", "..", ".", "../../../../escaped", "/tmp/abs", "a/b",
                                   "a\\..\\..\\b", "", " ", "train", "test", "C:", "~"]),
                  st.text(min_size=1, max_size=6))
FOLDERS = st.sampled_from(["data/lum_60s", "data/lum_0.5s", "data", "data/missing", "../data", "/nonexistent",
                           "", "~", "data/lum_60s/cell00.tif"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.floats(allow_nan=True), FOLDERS)
CONDITIONS = st.dictionaries(NAMES, st.one_of(FOLDERS, SCALARS, st.lists(FOLDERS, max_size=2)), max_size=3)
SPEC = st.one_of(FOLDERS, SCALARS, CONDITIONS, st.fixed_dictionaries({"train": CONDITIONS, "test": CONDITIONS}),
                 st.lists(FOLDERS, max_size=2))
GOOD = st.sampled_from(["data/lum_60s", "data/lum_0.5s"])
LIKELY = st.dictionaries(st.sampled_from(SPECIMENS), st.dictionaries(NAMES, GOOD, min_size=1, max_size=3), min_size=1,
                         max_size=2)  # nearly right: only the condition names vary
MAPPING = st.one_of(LIKELY, st.dictionaries(st.one_of(st.sampled_from(SPECIMENS), st.text(max_size=5)), SPEC, max_size=3),
                    SCALARS, st.lists(SCALARS, max_size=2))
ALIASES = ["h2b: &a [*a]\n", "h2b: &a {lum_60s: *a}\n",
           "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
           "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
           "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh2b: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n",
           "h2b: !!python/object/apply:os.system ['touch pwned']\n", "h2b: {lum_60s: data/lum_60s\n", "\x00\xff"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("mappings") / "root"  # its parent, listed around every case, holds only it
    rng = np.random.default_rng(0)
    for cond in ("lum_60s", "lum_0.5s"):
        for i in range(3):
            write_stack(root / "data" / cond / f"cell{i:02d}.tif", rng.integers(0, 100, (2, 8, 8), dtype=np.uint16))
    return root


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang("a case ran past 10 s")


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@settings(max_examples=int(os.environ.get("LUMICARE_FUZZ_EXAMPLES", 600)), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mapping=MAPPING, form=st.sampled_from(["json", "yaml", "alias"]), alias=st.sampled_from(ALIASES))
@example(mapping={"h2b": {"../../../../escaped": "data/lum_60s", "lum_0.5s": "data/lum_0.5s"}}, form="json",
         alias=ALIASES[0])
@example(mapping=None, form="alias", alias=ALIASES[2])
@example(mapping={"\n": None}, form="json", alias=ALIASES[0])  # found by the 10,000-case run: a line break
def test_generated_data_mappings_end_in_one_clear_error_or_in_a_layout_inside_the_output(data, mapping, form, alias):
    case = data / "case"
    out = case / "out"
    out.mkdir(parents=True)
    path = case / ("mapping.json" if form == "json" else "mapping.yaml")
    text = json.dumps(mapping) if form == "json" else alias if form == "alias" else yaml.safe_dump(mapping)
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    (case / "data").symlink_to(data / "data")
    before = _tree(data.parent)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(10)
    try:
        own = OwnData(path, out)
        for specimen in own.parsed:
            own.dataset(specimen)
        event("accepted")
        for link in out.rglob("*.tif"):
            assert link.resolve().is_relative_to(data / "data") and link.is_relative_to(out)
    except LumicareError as err:
        event("refused")
        assert "\n" not in str(err).strip() and len(str(err)) < 2000, str(err)[:3000]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        outside = sorted(set(_tree(data.parent)) - set(before))
        assert all(p.startswith(f"{data.name}/case/out") for p in outside), outside
        assert not (data / "pwned").exists() and not os.path.exists("pwned")
        shutil.rmtree(case)
