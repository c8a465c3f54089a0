from mem3d.types import Candidate, LocalizeResult
from planners.object_search import decide


def candidate(x: float, score: float) -> Candidate:
    return Candidate((x, 0.0, 0.5), (x - 0.1, -0.1, 0.4), (x + 0.1, 0.1, 0.6), score, 12, 1.0, 4.0, 40)


def test_found_goes_to_the_best_candidate_and_keeps_the_others():
    decision = decide("red mug", LocalizeResult((candidate(1.0, 0.9), candidate(3.0, 0.7)), 0.64, 30))
    assert decision.found and decision.target.centroid == (1.0, 0.0, 0.5)
    summary = decision.summary()
    assert summary["decision"] == "go_to" and summary["target"]["score"] == 0.9
    assert [a["centroid"][0] for a in summary["alternatives"]] == [3.0]


def test_not_found_means_explore():
    decision = decide("piano", LocalizeResult((), 0.64, 0))
    assert not decision.found and decision.target is None
    assert decision.summary() == {"goal": "piano", "decision": "explore", "target": None, "alternatives": []}
