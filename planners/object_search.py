"""Object search against the memory: "where is X?" -> ranked places, or "not found: explore".

The smallest useful planner: it asks the memory service for each goal and turns the answer into a
decision a robot can act on: go to the best candidate's centroid, or explore. Path planning and
exploration come from their own modules as they are built.
"""

from __future__ import annotations

from dataclasses import dataclass

from mem3d.client import MemoryClient
from mem3d.types import Candidate, LocalizeResult


@dataclass(frozen=True)
class SearchDecision:
    goal: str
    found: bool
    target: Candidate | None
    """Where to go: the best candidate (world frame, metres), None when the goal must be explored for."""
    alternatives: tuple[Candidate, ...]

    def summary(self) -> dict:
        def brief(c: Candidate) -> dict:
            return {"centroid": [round(v, 2) for v in c.centroid], "score": round(c.score, 3),
                    "n_voxels": c.n_voxels, "last_seen": round(c.last_seen, 2), "obs_id": c.obs_id}
        return {"goal": self.goal, "decision": "go_to" if self.found else "explore",
                "target": brief(self.target) if self.target else None,
                "alternatives": [brief(c) for c in self.alternatives]}


def decide(goal: str, result: LocalizeResult) -> SearchDecision:
    """Go to the best candidate, or explore when the memory has none."""
    if not result.found:
        return SearchDecision(goal, False, None, ())
    return SearchDecision(goal, True, result.candidates[0], result.candidates[1:])


def search(client: MemoryClient, goal: str, top_k: int = 3) -> SearchDecision:
    """Ask the memory where ``goal`` is and decide."""
    return decide(goal, client.localize(text=goal, top_k=top_k))
