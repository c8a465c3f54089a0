"""Objects from outside the catalogue: polygon OBJ files, missing textures, descriptions, size-based kinds,
and room tours that see objects on the floor."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from bench.eval_queries import shape_polygons
from mem3d.errors import InvalidInputError
from mem3d.source import ActionKind
from sim.config import SimConfig
from sim.embedded import EmbeddedSimSource
from sim.mesh_io import load_mesh, mesh_object, scene_from_labelled_faces
from sim.obj import write_obj
from sim.scene import ObjectKind, pose_from_xyz_yaw
from sim.scene_io import load_manifest, save_scene
from sim.tour import room_tour
from tests.fixtures.sim import SMALL


def test_quads_and_ngons_are_triangulated_where_open3d_drops_them(tmp_path):
    import open3d as o3d

    box = write_obj(tmp_path / "box.obj", *shape_polygons("box", (0.1, 0.2, 0.3))[:2])  # 6 quads
    can = write_obj(tmp_path / "can.obj", *shape_polygons("cylinder", (0.1, 0.1, 0.2), segments=12)[:2])
    assert len(load_mesh(box).triangles) == 12
    assert len(load_mesh(can).triangles) == 12 * 2 + 2 * 10  # 12 quads, two 12-gon caps
    assert np.allclose(load_mesh(box).bounds()[1], [0.05, 0.1, 0.3])
    # the measurement behind reading .obj with trimesh: open3d loses the polygons
    assert len(o3d.io.read_triangle_mesh(str(box), enable_post_processing=False).triangles) < 12


def test_a_face_that_cannot_be_read_is_an_error_not_a_loss(tmp_path):
    (tmp_path / "bad.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\nf 1 2\n")
    with pytest.raises(InvalidInputError, match="face #1 has 2 corner"):
        load_mesh(tmp_path / "bad.obj")


def test_textured_and_coloured_polygon_objs_keep_their_colours(tmp_path):
    vertices, faces, uvs = shape_polygons("box", (0.1, 0.1, 0.1))
    texture = np.zeros((4, 4, 3), np.uint8)
    texture[:2], texture[2:] = (250, 10, 10), (10, 250, 10)  # top half red, bottom half green
    mesh = load_mesh(write_obj(tmp_path / "t.obj", vertices, faces, uvs=uvs, texture=texture))
    assert mesh.texture is not None and mesh.texture[0, 0].tolist() == [250, 10, 10]
    plain = load_mesh(write_obj(tmp_path / "p.obj", vertices, faces, color=(40, 80, 200)))
    assert np.abs(plain.face_colors.astype(int) - [40, 80, 200]).max() <= 1


def test_a_missing_texture_is_an_error_naming_the_file_also_through_a_manifest(tmp_path):
    vertices, faces, uvs = shape_polygons("box", (0.1, 0.1, 0.1))
    path = write_obj(tmp_path / "crate.obj", vertices, faces, uvs=uvs, texture=np.full((2, 2, 3), 90, np.uint8))
    (tmp_path / "crate.png").unlink()
    with pytest.raises(InvalidInputError, match="crate.png"):
        load_mesh(path)
    (tmp_path / "manifest.json").write_text(json.dumps({"objects": [{"label": "crate", "mesh": "crate.obj"}]}))
    with pytest.raises(InvalidInputError, match=r"manifest.json object #0.*crate.png"):
        load_manifest(tmp_path)
    (tmp_path / "crate.mtl").unlink()
    with pytest.raises(InvalidInputError, match="crate.mtl"):
        load_mesh(path)


def test_mesh_objects_carry_descriptions_support_heights_and_kinds_by_size(tmp_path):
    brick = write_obj(tmp_path / "brick.obj", *shape_polygons("box", (0.05, 0.05, 0.05))[:2], color=(200, 40, 40))
    crate = write_obj(tmp_path / "crate.obj", *shape_polygons("box", (0.8, 0.6, 0.7))[:2])
    small = mesh_object(brick, "toy brick", pose_from_xyz_yaw(1, 1, 0), 1, description="lego block")
    big = mesh_object(crate, "crate", pose_from_xyz_yaw(2, 1, 0), 2, support_height=0.7)
    assert small.kind is ObjectKind.SMALL and small.description == "lego block"
    assert big.kind is ObjectKind.FURNITURE and big.top_z() == pytest.approx(0.7)
    assert mesh_object(brick, "coffee mug", np.eye(4), 3).description == "cup"  # the catalogue's, by noun
    with pytest.raises(InvalidInputError, match="support_height"):
        mesh_object(crate, "crate", np.eye(4), 4, support_height=-1.0)


def test_manifest_descriptions_and_kinds_round_trip(tmp_path):
    write_obj(tmp_path / "brick.obj", *shape_polygons("box", (0.05, 0.05, 0.05))[:2])
    manifest = {"objects": [{"label": "toy brick", "mesh": "brick.obj", "description": "lego block"},
                            {"label": "crate", "mesh": "brick.obj", "scale": 20.0}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    scene = load_manifest(tmp_path)
    brick_obj, crate_obj = sorted(scene, key=lambda o: o.instance_id)
    assert brick_obj.description == "lego block" and brick_obj.kind is ObjectKind.SMALL
    assert crate_obj.kind is ObjectKind.FURNITURE  # 1 m after scaling
    assert scene.description_of_semantic()[scene.categories["toy brick"]] == "lego block"
    again = load_manifest(save_scene(scene, tmp_path / "saved").parent)
    assert {o.label: o.description for o in again} == {o.label: o.description for o in scene}


def test_scan_class_names_get_descriptions_from_the_category_table():
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    triangles = np.array([[0, 1, 2], [0, 1, 3]])
    scene = scene_from_labelled_faces(vertices, triangles, np.array([1, 2]), {1: "cushion", 2: "tv screen"},
                                      np.full((2, 3), 128, np.uint8))
    assert {o.label: o.description for o in scene} == {"cushion": "pillow", "tv screen": "television"}


def floor_object_near_a_room_centre(scene, tmp_path):
    """A 6 cm object on the floor 1 m from the centre of a room, where the robot could stand."""
    from sim.config import AgentConfig
    from sim.dynamics import add_object
    from sim.navgrid import NavGrid

    grid = NavGrid.from_scene(scene, AgentConfig())
    path = write_obj(tmp_path / "duck.obj", *shape_polygons("cylinder", (0.06, 0.06, 0.06))[:2], color=(230, 200, 40))
    for room in scene.rooms:
        for angle in np.linspace(0, 2 * np.pi, 16, endpoint=False):
            xy = np.asarray(room.center) + [np.cos(angle), np.sin(angle)]
            if grid.is_navigable(xy) and grid.is_navigable(np.asarray(room.center)):
                obj = mesh_object(path, "rubber duck", pose_from_xyz_yaw(xy[0], xy[1], 0.0), scene.next_instance_id())
                try:
                    add_object(scene, obj)
                except InvalidInputError:
                    continue
                return obj, room
    raise AssertionError("no free floor 1 m from any room centre")


def test_a_tour_looking_down_sees_a_small_object_on_the_floor(apartment, tmp_path):
    from sim.agent import AgentState

    duck, room = floor_object_near_a_room_centre(apartment, tmp_path)
    seen = {}
    for look_down in (30.0, 0.0):
        source = EmbeddedSimSource(apartment, SimConfig(camera=SMALL))
        source.reset(0)
        source.set_state(AgentState(*source.navigation.grid.snap(np.asarray(room.center)), 0.0))
        pixels = 0
        first_room = 2 * 2 + 24 if look_down else 24  # this room's looks and turns, then the tour moves on
        for action in itertools.islice(room_tour(source, look_down_deg=look_down), first_room):
            assert action.kind is not ActionKind.GO_TO
            source.act(action)
            pixels += int((source.observe().instance == duck.instance_id).sum())
        seen[look_down] = pixels
        source.close()
    assert seen[30.0] >= 20
    assert seen[0.0] < seen[30.0] / 4  # a level camera misses the floor near the room centre
