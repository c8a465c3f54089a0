"""Moving, adding and removing objects; scripted rearrangement; ground truth stays right."""

from __future__ import annotations

import numpy as np
import pytest

from mem3d.errors import InvalidInputError
from mem3d.source import Action, ActionKind
from sim.dynamics import Rearrangement, check_placement, find_support
from sim.embedded import EmbeddedSimSource
from sim.mesh import box
from sim.scene import ObjectKind, Room, Scene, SceneObject, pose_from_xyz_yaw
from tests.helpers.sim_views import best_view


def small_on_furniture(source: EmbeddedSimSource) -> list[SceneObject]:
    return sorted((o for o in source.scene.of_kind(ObjectKind.SMALL) if o.support_id), key=lambda o: o.instance_id)


def test_moving_an_object_changes_the_render_where_it_was_and_where_it_went(source):
    obj = next(o for o in small_on_furniture(source) if best_view(source, o.instance_id) is not None)
    view_old = best_view(source, obj.instance_id)
    source.set_state(view_old)
    before_old = source.observe()
    target = next(s for s in source.scene if s.top_z() is not None and s.room != obj.room)
    event = source.dynamics.move_object(obj.instance_id, support_id=target.instance_id, seed=3)
    assert event.kind == "moved" and event.to_room == target.room != event.from_room
    after_old = source.observe()
    was_there = before_old.instance == obj.instance_id
    assert was_there.sum() >= 15 and not (after_old.instance == obj.instance_id).any()
    assert (after_old.depth[was_there] > before_old.depth[was_there]).all()  # now we see what was behind it
    assert (after_old.rgb[was_there] != before_old.rgb[was_there]).any()
    view_new = best_view(source, obj.instance_id)
    assert view_new is not None
    source.set_state(view_new)
    assert (source.observe().instance == obj.instance_id).sum() >= 15
    truth = {t.instance_id: t for t in source.truth.objects()}[obj.instance_id]
    np.testing.assert_allclose(truth.T_world_object, obj.T_world_object)
    assert truth.room == target.room and find_support(source.scene, obj) == target.instance_id


def test_visible_instances_are_the_objects_in_front_of_the_camera(source):
    obs = source.observe()
    visible = source.truth.visible_instances(obs, min_pixels=5)
    assert visible
    T_camera_world = np.linalg.inv(obs.T_world_camera)
    for instance_id in visible:
        lo, hi = source.scene.get(instance_id).world_bounds()
        corners = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        assert ((corners @ T_camera_world.T)[:, 2] > 0).any()  # some of the object is in front
    labels = {source.scene.get(i).label for i in visible}
    assert labels <= set(obs.labels.values())
    for instance_id in np.unique(obs.instance):  # every pixel's category is its object's category
        if instance_id:
            expected = source.scene.categories[source.scene.get(int(instance_id)).label]
            assert (obs.semantic[obs.instance == instance_id] == expected).all()
    assert ((obs.instance == 0) == (obs.semantic == 0)).all()


def test_impossible_placements_are_refused_and_change_nothing(source):
    obj = small_on_furniture(source)[0]
    T_world_object = obj.T_world_object.copy()
    version = source.scene.version
    floating = pose_from_xyz_yaw(obj.T_world_object[0, 3], obj.T_world_object[1, 3], obj.T_world_object[2, 3] + 0.5)
    with pytest.raises(InvalidInputError, match="rests neither"):
        source.dynamics.move_object(obj.instance_id, floating)
    wall = next(o for o in source.scene if o.label == "wall")
    lo, _ = wall.world_bounds()
    with pytest.raises(InvalidInputError, match="outside every room or cuts through a wall"):
        source.dynamics.move_object(obj.instance_id, pose_from_xyz_yaw(lo[0] + 0.05, lo[1] + 1.0, 0.0))
    furniture = next(o for o in source.scene.of_kind(ObjectKind.FURNITURE) if o.support_height is None
                     and o.world_bounds()[1][2] > 0.5)
    with pytest.raises(InvalidInputError, match="overlaps"):
        source.dynamics.move_object(obj.instance_id, pose_from_xyz_yaw(*furniture.T_world_object[:2, 3], 0.0))
    with pytest.raises(InvalidInputError, match="has no top"):
        source.dynamics.move_object(obj.instance_id, support_id=furniture.instance_id)
    with pytest.raises(InvalidInputError, match="cannot be moved"):
        source.dynamics.move_object(wall.instance_id, np.eye(4))
    with pytest.raises(InvalidInputError, match="no object"):
        source.dynamics.move_object(10_000, np.eye(4))
    np.testing.assert_array_equal(obj.T_world_object, T_world_object)
    assert source.scene.version == version and not source.dynamics.changes


def test_moving_furniture_carries_what_rests_on_it(source):
    table = next(o for o in source.scene.of_kind(ObjectKind.FURNITURE)
                 if o.support_height is not None and any(s.support_id == o.instance_id for s in source.scene))
    riders = [o for o in source.scene if o.support_id == table.instance_id]
    offsets = [r.T_world_object[:3, 3] - table.T_world_object[:3, 3] for r in riders]
    moved = False
    for dx, dy in ((0.1, 0), (-0.1, 0), (0, 0.1), (0, -0.1), (0.05, 0.05)):
        T_world_object = table.T_world_object.copy()
        T_world_object[:2, 3] += (dx, dy)
        try:
            source.dynamics.move_object(table.instance_id, T_world_object)
            moved = True
            break
        except InvalidInputError:
            continue
    assert moved
    for rider, offset in zip(riders, offsets):
        np.testing.assert_allclose(rider.T_world_object[:3, 3] - table.T_world_object[:3, 3], offset, atol=1e-9)
        assert find_support(source.scene, rider) == table.instance_id


def test_add_and_remove_objects(source):
    table = next(o for o in source.scene if o.top_z() is not None)
    mesh = box((0.1, 0.1, 0.1), (250, 20, 200))
    xy = table.T_world_object[:2, 3]
    new = SceneObject(source.scene.next_instance_id(), "pink cube", mesh,
                      pose_from_xyz_yaw(xy[0], xy[1], table.top_z()), (250, 20, 200))
    riders_near = [o for o in source.scene if o.support_id == table.instance_id
                   and np.linalg.norm(o.T_world_object[:2, 3] - xy) < 0.3]
    for rider in riders_near:
        source.dynamics.remove_object(rider.instance_id)
    event = source.dynamics.add_object(new)
    assert event.kind == "added" and new.support_id == table.instance_id and new.room == table.room
    assert "pink cube" in source.scene.categories
    view = best_view(source, new.instance_id)
    assert view is not None
    source.set_state(view)
    obs = source.observe()
    assert source.scene.categories["pink cube"] in obs.labels
    events = source.dynamics.remove_object(table.instance_id)
    removed = [e.instance_id for e in events]
    assert removed[0] == table.instance_id and new.instance_id in removed
    assert not (source.observe().instance == new.instance_id).any()
    assert new.instance_id not in {t.instance_id for t in source.truth.objects()}
    with pytest.raises(InvalidInputError, match="already used"):
        source.scene.add(source.scene.get(next(iter(source.scene.objects))))


def test_rearrangement_moves_thirty_percent_to_other_rooms(source):
    smalls = small_on_furniture(source)
    rooms = {o.instance_id: o.room for o in smalls}
    result = source.dynamics.rearrange(0.3, seed=11)
    events = result.events
    assert result.moved == result.requested == round(0.3 * len(smalls)) == len(events)
    for event in events:
        obj = source.scene.get(event.instance_id)
        assert obj.room != rooms[obj.instance_id] and event.to_room == obj.room
        assert find_support(source.scene, obj) == obj.support_id != 0
        check_placement(source.scene, obj)
    moved = {e.instance_id for e in events}
    assert all(o.room == rooms[o.instance_id] for o in smalls if o.instance_id not in moved)


def test_rearrangement_is_deterministic(apartment, small_config):
    a = EmbeddedSimSource(apartment, small_config)
    b = EmbeddedSimSource(EmbeddedSimSource(None, small_config).scene, small_config)
    ea, eb = a.dynamics.rearrange(0.3, seed=2), b.dynamics.rearrange(0.3, seed=2)
    assert ea == eb and ea.moved > 0


def test_scripted_rearrangement_happens_at_its_step(apartment, small_config):
    source = EmbeddedSimSource(apartment, small_config, events=[Rearrangement(at_step=3, fraction=0.5, seed=1)])
    source.reset(0)
    before = {t.instance_id: t.T_world_object.copy() for t in source.truth.objects()}
    for step in range(1, 6):
        source.act(Action(ActionKind.TURN_LEFT))
        assert bool(source.dynamics.changes) == (step >= 3)
    assert source.dynamics.changes and all(c.step == 3 for c in source.dynamics.changes)
    after = {t.instance_id: t.T_world_object for t in source.truth.objects()}
    moved = {i for i in before if not np.array_equal(before[i], after[i])}
    assert moved == {c.event.instance_id for c in source.dynamics.changes}


@pytest.mark.parametrize("kwargs, message", [
    ({"fraction": 1.5}, "fraction must be in"),
    ({"fraction": float("nan")}, "fraction must be in"),
    ({"seed": -1}, "seed must be an integer >= 0"),
    ({"at_step": -2}, "step must be an integer >= 0"),
])
def test_bad_rearrangements_are_refused_when_made(source, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        Rearrangement(**kwargs)
    if "at_step" not in kwargs:
        with pytest.raises(InvalidInputError, match=message):
            source.dynamics.rearrange(**kwargs)
    assert not source.dynamics.changes


def one_room_with_a_mug_on_a_table() -> Scene:
    scene = Scene(rooms=[Room("kitchen", "kitchen", (0.0, 0.0), (4.0, 4.0))])
    scene.add(SceneObject(1, "floor", box((4, 4, 0.02), (90, 90, 90), (0, 0, -0.02)), pose_from_xyz_yaw(2, 2, 0),
                          (90, 90, 90), ObjectKind.STRUCTURE, "kitchen"))
    scene.add(SceneObject(2, "table", box((1.0, 1.0, 0.75), (120, 80, 40)), pose_from_xyz_yaw(2, 2, 0),
                          (120, 80, 40), ObjectKind.FURNITURE, "kitchen", support_height=0.75))
    scene.add(SceneObject(3, "red mug", box((0.08, 0.08, 0.1), (200, 30, 30)), pose_from_xyz_yaw(2, 2, 0.75),
                          (200, 30, 30), ObjectKind.SMALL, "kitchen", support_id=2))
    return scene


def test_a_rearrangement_that_finds_no_free_spot_reports_the_shortfall(caplog):
    scene = one_room_with_a_mug_on_a_table()  # the only furniture top is in the mug's own room
    with caplog.at_level("WARNING", logger="sim.dynamics"):
        result = Rearrangement(fraction=1.0, other_room=True).apply(scene)
    assert (result.requested, result.moved, result.events) == (1, 0, [])
    assert "moved 0 of the 1 objects" in caplog.text
    np.testing.assert_allclose(scene.get(3).T_world_object[:3, 3], [2, 2, 0.75])
