"""Place graph rules: coverage radius, travelled edges only, routes."""

import numpy as np
import pytest

from mem3d.episodic.config import PlaceConfig
from mem3d.episodic.places import PlaceGraph
from mem3d.errors import InvalidInputError


def walk(graph: PlaceGraph, points, start_stamp: float = 0.0) -> list[int]:
    return [graph.observe(np.array([x, y, 1.2]), start_stamp + i) for i, (x, y) in enumerate(points)]


def test_a_jump_proves_no_traversal_and_walking_back_links_the_places():
    graph = PlaceGraph(PlaceConfig(radius_m=1.5, max_step_m=1.5))
    assert walk(graph, [(0, 0), (0.5, 0)]) == [0, 0]
    assert walk(graph, [(6.0, 0)], 2) == [1]  # relocalised 5.5 m away: a new place, no edge
    assert graph.edges == {}
    assert not graph.route(0, 1).found
    walk(graph, [(4.8, 0), (3.6, 0), (2.4, 0), (1.2, 0), (0.2, 0)], 3)
    assert len(graph) == 3  # one more place was founded on the way back, at 4.3 m from the first
    route = graph.route(1, 0)
    assert route.found and route.places == (1, 2, 0)
    assert route.length_m == pytest.approx(6.0, abs=0.3)
    assert all(length > 0 for length in graph.edges.values())


def test_routes_check_their_places():
    graph = PlaceGraph(PlaceConfig())
    walk(graph, [(0, 0)])
    with pytest.raises(InvalidInputError, match="no place 3"):
        graph.route(0, 3)
    assert graph.route(0, 0).places == (0,)


def test_a_place_counts_how_often_the_camera_entered_it():
    graph = PlaceGraph(PlaceConfig(radius_m=1.5, max_step_m=1.5))
    walk(graph, [(0, 0), (0.5, 0), (1.0, 0)])
    assert [p.visits for p in graph.places] == [1]  # still the first visit
    walk(graph, [(2.0, 0), (3.0, 0), (3.5, 0)], 3)
    assert [p.visits for p in graph.places] == [1, 1]
    walk(graph, [(2.5, 0), (1.5, 0), (0.5, 0)], 6)  # back: the first place entered again
    assert [p.visits for p in graph.places] == [2, 1]
