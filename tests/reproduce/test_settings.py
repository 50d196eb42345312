"""The two scales and the experiment definitions, as data."""

import numpy as np
import pytest

from lumicare_ij.reproduce import EXPERIMENT_IDS, define, paper, quick
from lumicare_ij.reproduce.experiments import plan
from lumicare_ij.reproduce.measure import focus_planes, planes_text
from lumicare_ij.simulate import SPECIMENS


def test_network_counts_and_presets():
    q, p = quick(), paper()
    assert sum(len(define(e, q).networks) for e in EXPERIMENT_IDS) == 9
    assert sum(len(define(e, p).networks) for e in EXPERIMENT_IDS) == 13
    assert q.preset("cytoplasmic", "1a").probabilistic and not q.preset("h2b", "2a").probabilistic
    assert q.preset("cytoplasmic", "1a").name == "quick"
    assert p.preset("tomm20", "2b").name == "tomm20" and p.preset("tomm20", "2b").probabilistic
    assert p.shapes["cytoplasmic"] == (16, 1024, 1024) and p.n_train["tomm20"] == 90 and p.tiles == (2, 2, 2)
    assert q.fingerprint() == quick().fingerprint() != p.fingerprint()


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="engine"):
        quick().replace(engine="fiji")
    with pytest.raises(ValueError, match="unknown preset field"):
        quick().replace(experiment_overrides={"1a": {"nonsense": 1}})


@pytest.mark.parametrize("eid", EXPERIMENT_IDS)
def test_every_experiment_runs_on_the_simulators_conditions(eid):
    exp = define(eid, quick())
    conditions = {c.name for c in SPECIMENS[exp.specimen].conditions}
    p = plan(exp, conditions, conditions)
    assert p.experiment is not None and not p.notes
    assert len(p.experiment.arms) == len(exp.arms)


def test_focus_planes_are_the_half_maximum_band_of_the_ground_truth():
    profile = np.array([123, 219, 393, 480, 473, 437, 393, 340, 288, 236, 186, 154, 136, 121, 107, 101], float)
    stack = profile[:, None, None] * np.ones((1, 4, 4))
    planes = focus_planes(stack)
    assert planes.tolist() == [2, 3, 4, 5, 6, 7] and planes_text(planes) == "2-7"
    assert focus_planes(np.ones((3, 4, 4))).tolist() == [0, 1, 2]  # flat: every plane
    assert focus_planes(np.ones((4, 4))).tolist() == [0]
