"""Saving and loading scenes; external meshes; Replica and HM3D semantic formats; bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mem3d.errors import InvalidInputError
from mem3d.types import CameraIntrinsics
from sim.agent import AgentState, camera_pose
from sim.mesh import box
from sim.mesh_io import load_hm3d, load_mesh, load_replica, mesh_object
from sim.ply import read_ply, write_ply
from sim.render import Renderer
from sim.scene import ObjectKind, Room, Scene, SceneObject
from sim.scene_io import load_manifest, load_scene, save_scene
from tests.helpers.sim_views import top_red_bottom_green, write_glb


def assert_same_scene(a: Scene, b: Scene) -> None:
    assert a.categories == b.categories and a.rooms == b.rooms and a.floor_z == b.floor_z and a.seed == b.seed
    assert sorted(a.objects) == sorted(b.objects)
    for i, obj in a.objects.items():
        other = b.objects[i]
        assert (obj.label, obj.kind, obj.color, obj.room, obj.support_id, obj.support_height) == \
            (other.label, other.kind, other.color, other.room, other.support_id, other.support_height)
        assert np.array_equal(obj.T_world_object, other.T_world_object) and obj.mesh.equals(other.mesh)


def test_a_saved_scene_reloads_identically(apartment, tmp_path, small_camera):
    manifest = save_scene(apartment, tmp_path / "apt")
    assert json.loads(manifest.read_text())["format"] == "mem3d-scene"
    loaded = load_scene(tmp_path / "apt")
    assert_same_scene(apartment, loaded)
    T_world_camera = camera_pose(AgentState(*apartment.rooms[0].center, 0.4), 1.2)
    a = Renderer(apartment).render(small_camera, T_world_camera)
    b = Renderer(loaded).render(small_camera, T_world_camera)
    for name in ("rgb", "depth", "semantic", "instance"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    save_scene(loaded, tmp_path / "again")
    assert_same_scene(loaded, load_manifest(tmp_path / "again"))


def coloured_cube():
    import open3d as o3d

    cube = o3d.geometry.TriangleMesh.create_box(0.2, 0.2, 0.2)
    cube.vertex_colors = o3d.utility.Vector3dVector(np.tile([[0.0, 0.8, 0.2]], (8, 1)))
    return cube


def test_external_meshes_load_with_colour_texture_and_up_axis(tmp_path):
    import open3d as o3d

    cube = coloured_cube()
    o3d.io.write_triangle_mesh(str(tmp_path / "cube.ply"), cube)
    ply = load_mesh(tmp_path / "cube.ply")
    assert ply.n_triangles == 12 and (ply.face_colors == [0, 204, 51]).all()
    np.testing.assert_allclose(ply.bounds()[1], [0.2, 0.2, 0.2])
    textured = o3d.geometry.TriangleMesh.create_box(1.0, 1.0, 1.0, create_uv_map=True)
    textured.textures = [o3d.geometry.Image(np.full((8, 8, 3), (250, 10, 10), dtype=np.uint8))]
    textured.triangle_material_ids = o3d.utility.IntVector([0] * 12)
    o3d.io.write_triangle_mesh(str(tmp_path / "crate.obj"), textured)
    obj = load_mesh(tmp_path / "crate.obj")
    assert obj.texture is not None and (obj.face_colors == [250, 10, 10]).all()
    # glTF is y up: a mesh 2 m tall along +y stands 2 m tall along our +z
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 2, 0]], dtype=float)
    write_glb(tmp_path / "sign.glb", vertices, [[0, 1, 2]], np.tile([[1.0, 1.0, 0.0]], (3, 1)))
    glb = load_mesh(tmp_path / "sign.glb")
    assert glb.bounds()[1][2] == pytest.approx(2.0) and (glb.face_colors == [255, 255, 0]).all()
    assert load_mesh(tmp_path / "sign.glb", up_axis="z").bounds()[1][1] == pytest.approx(2.0)


RED, GREEN = [255, 0, 0], [0, 255, 0]


def write_textured_obj(directory, vertices, uvs) -> None:
    """``directory/m.obj`` with one textured triangle per 3 vertices; ``uvs`` in the OBJ convention (v up)
    into a top-red / bottom-green ``tex.png``."""
    import cv2

    cv2.imwrite(str(directory / "tex.png"), top_red_bottom_green()[..., ::-1])
    (directory / "m.mtl").write_text("newmtl mat\nKd 1 1 1\nmap_Kd tex.png\n")
    lines = ["mtllib m.mtl"] + [f"v {x} {y} {z}" for x, y, z in vertices] + [f"vt {u} {v}" for u, v in uvs]
    lines += ["usemtl mat"] + [f"f {i}/{i} {i + 1}/{i + 1} {i + 2}/{i + 2}" for i in range(1, len(vertices), 3)]
    (directory / "m.obj").write_text("\n".join(lines) + "\n")


def test_obj_textures_are_sampled_the_right_way_up(tmp_path):
    # triangle 0 uses the top of the texture (v near 1 in OBJ's convention), triangle 1 the bottom
    write_textured_obj(tmp_path, [[0, 0, 0], [1, 0, 0], [0, 1, 0], [2, 0, 0], [3, 0, 0], [2, 1, 0]],
                       [[0.1, 0.9], [0.9, 0.9], [0.1, 0.7], [0.1, 0.1], [0.9, 0.1], [0.1, 0.3]])
    mesh = load_mesh(tmp_path / "m.obj")
    assert mesh.face_colors.tolist() == [RED, GREEN]
    assert mesh.texture[0, 0].tolist() == RED and mesh.texture[-1, 0].tolist() == GREEN  # row 0 is the top


def test_a_textured_poster_renders_with_its_top_up(tmp_path):
    # a 2 m x 1 m quad 2 m ahead, facing the camera: v = 0 along its bottom edge, v = 1 along its top edge
    corners = [[2, 1, 0.5], [2, -1, 0.5], [2, -1, 1.5], [2, 1, 1.5]]
    write_textured_obj(tmp_path, [corners[0], corners[1], corners[2], corners[0], corners[2], corners[3]],
                       [[0, 0], [1, 0], [1, 1], [0, 0], [1, 1], [0, 1]])
    scene = Scene()
    scene.add(SceneObject(1, "poster", load_mesh(tmp_path / "m.obj"), np.eye(4), (128, 128, 128),
                          ObjectKind.FURNITURE))
    frame = Renderer(scene).render(CameraIntrinsics.from_fov(80, 60, 90), camera_pose(AgentState(0, 0, 0), 1.0))
    rows = np.flatnonzero(frame.instance[:, 40])
    top, bottom = frame.rgb[rows[1], 40], frame.rgb[rows[-2], 40]
    assert top[0] > 150 and top[1] == 0 and bottom[1] > 150 and bottom[0] == 0


GLB_TWO_QUADS = np.array([[-2, 0, -2], [2, 0, -2], [2, 0, 2], [-2, 0, 2],  # a floor at y = 0 (y up)
                          [0.5, 0, -1], [1, 0, -1], [1, 0.9, -1], [0.5, 0.9, -1]], dtype=float)  # a chair
GLB_QUAD_TRIANGLES = [[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7]]
GLB_UVS = np.array([[0.1, 0.1], [0.9, 0.1], [0.9, 0.4], [0.1, 0.4],  # glTF: v = 0 is the top row -> red
                    [0.1, 0.6], [0.9, 0.6], [0.9, 0.9], [0.1, 0.9]])  # the bottom rows -> green


def test_glb_textures_are_sampled_the_right_way_up(tmp_path):
    write_glb(tmp_path / "two.glb", GLB_TWO_QUADS, GLB_QUAD_TRIANGLES, uvs=GLB_UVS, texture=top_red_bottom_green())
    mesh = load_mesh(tmp_path / "two.glb")
    assert mesh.texture is not None and mesh.face_colors.tolist() == [RED, RED, GREEN, GREEN]


def test_hm3d_textured_semantic_glb_labels_the_right_faces(tmp_path, small_camera):
    write_glb(tmp_path / "T.semantic.glb", GLB_TWO_QUADS, GLB_QUAD_TRIANGLES, uvs=GLB_UVS,
              texture=top_red_bottom_green())
    (tmp_path / "T.semantic.txt").write_text('HM3D Semantic Annotations\n3,FF0000,"floor",0\n4,00FF00,"chair",0\n')
    scene = load_scene(tmp_path / "T.semantic.glb")
    floor, chair = scene.get(3), scene.get(4)
    assert (floor.label, chair.label) == ("floor", "chair")
    assert np.ptp(floor.mesh.vertices[:, 2]) == 0.0 and floor.world_bounds()[1][0] == pytest.approx(2.0)
    assert chair.world_bounds()[1][2] == pytest.approx(0.9) and chair.kind is ObjectKind.FURNITURE
    frame = Renderer(scene).render(small_camera, camera_pose(AgentState(-1.5, -0.75, 0.0, -0.2), 1.0))
    seen = frame.instance == 4
    assert seen.sum() > 20 and (frame.semantic[seen] == scene.categories["chair"]).all()
    assert (frame.rgb[seen][:, 1] > frame.rgb[seen][:, 0]).all()  # the chair shows its green code


def test_manifest_can_reference_mesh_files_and_needs_labels(tmp_path, small_camera):
    import open3d as o3d

    o3d.io.write_triangle_mesh(str(tmp_path / "cube.ply"), coloured_cube())
    floor = {"label": "floor", "kind": "structure", "mesh": "cube.ply", "scale": 50.0,
             "pose": [[1, 0, 0, -5], [0, 1, 0, -5], [0, 0, 1, -10], [0, 0, 0, 1]]}
    cube = {"label": "green cube", "mesh": "cube.ply", "pose": [[1, 0, 0, 2], [0, 1, 0, -0.1], [0, 0, 1, 0],
                                                                 [0, 0, 0, 1]]}
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "mem3d-scene", "version": 1,
                                                        "objects": [floor, cube]}))
    scene = load_scene(tmp_path)
    assert scene.get(2).label == "green cube" and scene.get(1).kind is ObjectKind.STRUCTURE
    frame = Renderer(scene).render(small_camera, camera_pose(AgentState(0, 0, 0, -0.2), 0.3))
    assert (frame.semantic == scene.categories["green cube"]).sum() > 20
    del cube["label"]
    (tmp_path / "manifest.json").write_text(json.dumps({"objects": [cube]}))
    with pytest.raises(InvalidInputError, match="no label"):
        load_scene(tmp_path)
    with pytest.raises(InvalidInputError, match="needs a label"):
        mesh_object(tmp_path / "cube.ply", "", np.eye(4), 1)


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"objects": [{"label": "x", "mesh": "missing.npz"}]}), "does not exist"),
    (json.dumps({"objects": [{"label": "x", "mesh": "model.fbx"}]}), "unsupported mesh file"),
    (json.dumps({"objects": [{"label": "x", "mesh": "model.obj"}]}), "does not exist"),
    (json.dumps({"format": "other", "objects": []}), "unsupported scene format"),
    (json.dumps({"objects": [{"label": "x"}]}), "has no 'mesh'"),
])
def test_bad_manifests_give_clear_errors(tmp_path, content, message):
    (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(InvalidInputError, match=message):
        load_scene(tmp_path)


def test_bad_scene_specs_give_clear_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InvalidInputError, match="unknown scene file"):
        load_scene(tmp_path / "notes.txt")
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_scene(tmp_path / "nowhere")
    with pytest.raises(InvalidInputError, match="neither a saved scene"):
        load_scene(tmp_path)
    (tmp_path / "empty.ply").write_text("ply\nformat ascii 1.0\nelement vertex 0\nend_header\n")
    with pytest.raises(InvalidInputError, match="no triangles"):
        load_mesh(tmp_path / "empty.ply")
    (tmp_path / "junk.obj").write_bytes(b"\x00\x01garbage")
    with pytest.raises(InvalidInputError, match="no triangles"):
        load_mesh(tmp_path / "junk.obj")


def replica_like(directory, binary: bool = True):
    """Two rooms' worth of quads: a floor (id 1), a table (id 7) and an unannotated patch (id 9)."""
    quads, ids, vertices, colors = [], [], [], []

    def quad(corners, object_id, color):
        base = len(vertices)
        vertices.extend(corners)
        colors.extend([color] * 4)
        quads.append([base, base + 1, base + 2, base + 3])
        ids.append(object_id)

    quad([[-3, -3, 0], [3, -3, 0], [3, 3, 0], [-3, 3, 0]], 1, (120, 100, 80))
    quad([[1.5, -0.5, 0.75], [2.5, -0.5, 0.75], [2.5, 0.5, 0.75], [1.5, 0.5, 0.75]], 7, (200, 50, 50))
    quad([[3, -3, 0], [3, 3, 0], [3, 3, 2.5], [3, -3, 2.5]], 9, (90, 90, 90))
    (directory / "habitat").mkdir(parents=True)
    path = directory / "habitat" / "mesh_semantic.ply"
    if binary:
        write_ply(path, np.array(vertices, float), np.array(quads), np.array(colors), np.array(ids))
    else:
        lines = ["ply", "format ascii 1.0", f"element vertex {len(vertices)}", "property float x",
                 "property float y", "property float z", "property uchar red", "property uchar green",
                 "property uchar blue", f"element face {len(quads)}", "property list uchar int vertex_indices",
                 "property int object_id", "end_header"]
        lines += [" ".join(map(str, [*v, *c])) for v, c in zip(vertices, colors)]
        lines += [" ".join(map(str, [4, *q, i])) for q, i in zip(quads, ids)]
        path.write_text("\n".join(lines) + "\n")
    info = {"classes": [{"id": 2, "name": "floor"}, {"id": 5, "name": "table"}],
            "objects": [{"id": 1, "class_id": 2, "class_name": "floor"},
                        {"id": 7, "class_id": 5, "class_name": "table"},
                        {"id": 9, "class_id": -1, "class_name": "undefined"}]}
    (directory / "habitat" / "info_semantic.json").write_text(json.dumps(info))


@pytest.mark.parametrize("binary", [True, False])
def test_replica_semantic_meshes_become_labelled_objects(tmp_path, binary, small_camera):
    replica_like(tmp_path, binary)
    ply = read_ply(tmp_path / "habitat" / "mesh_semantic.ply")
    assert ply.get("face", "vertex_indices").shape == (3, 4)
    scene = load_scene(tmp_path)  # recognised as a Replica directory
    assert {o.label for o in scene.labelled_objects()} == {"table"}
    assert scene.get(1).kind is ObjectKind.STRUCTURE and scene.get(7).kind is ObjectKind.FURNITURE
    assert any(o.kind is ObjectKind.BACKGROUND for o in scene)
    assert scene.floor_z == 0.0
    frame = Renderer(scene).render(small_camera, camera_pose(AgentState(0, 0, 0, -0.5), 1.5))
    table = frame.instance == 7
    assert table.sum() > 50 and (frame.semantic[table] == scene.categories["table"]).all()
    back = (frame.depth > 0) & (frame.instance == 0)
    assert back.any() and (frame.semantic[back] == 0).all()  # the unannotated wall


def test_replica_without_object_ids_is_refused(tmp_path):
    (tmp_path / "habitat").mkdir()
    write_ply(tmp_path / "habitat" / "mesh_semantic.ply", np.eye(3), np.array([[0, 1, 2]]))
    (tmp_path / "habitat" / "info_semantic.json").write_text("{}")
    with pytest.raises(InvalidInputError, match="no per-face object_id"):
        load_replica(tmp_path)


def test_hm3d_semantic_glb_and_txt(tmp_path):
    # y-up glb: a floor at y = 0 (object 3, colour FF0000) and a box-ish chair (object 4, colour 00FF00)
    floor = np.array([[-2, 0, -2], [2, 0, -2], [2, 0, 2], [-2, 0, 2]], dtype=float)
    chair = np.array([[0.5, 0.0, -1.0], [1.0, 0.0, -1.0], [0.75, 0.9, -1.0]], dtype=float)
    vertices = np.vstack([floor, chair])
    colors = np.array([[1, 0, 0]] * 4 + [[0, 1, 0]] * 3, dtype=float)
    write_glb(tmp_path / "X.semantic.glb", vertices, [[0, 2, 1], [0, 3, 2], [4, 5, 6]], colors)
    (tmp_path / "X.semantic.txt").write_text('HM3D Semantic Annotations\n3,FF0000,"floor",0\n4,00FF00,"chair",0\n')
    scene = load_scene(tmp_path / "X.semantic.glb")
    assert scene.get(4).label == "chair" and scene.get(3).label == "floor"
    lo, hi = scene.get(4).world_bounds()
    # y up -> our z up; -z forward -> our +x; +x -> our -y (the Habitat adapter's convention)
    assert hi[2] == pytest.approx(0.9) and lo[0] == pytest.approx(1.0) and hi[1] == pytest.approx(-0.5)
    (tmp_path / "Y.semantic.txt").write_text("nothing here\n")
    write_glb(tmp_path / "Y.semantic.glb", vertices, [[0, 2, 1]], colors)
    with pytest.raises(InvalidInputError, match="no HM3D annotation lines"):
        load_hm3d(tmp_path / "Y.semantic.glb")


def one_box_scene() -> Scene:
    scene = Scene(rooms=[Room("hall", "hall", (0.0, 0.0), (3.0, 3.0))])
    scene.add(SceneObject(1, "crate", box((0.4, 0.4, 0.4), (200, 120, 40)), np.eye(4), (200, 120, 40)))
    return scene


def set_object(key, value):
    def mutate(manifest, directory):
        manifest["objects"][0][key] = value
        return manifest
    return mutate


def set_top(key, value):
    def mutate(manifest, directory):
        manifest[key] = value
        return manifest
    return mutate


def corrupt_mesh(manifest, directory):
    (directory / "meshes" / "000001.npz").write_bytes(b"not a zip file")
    return manifest


def out_of_range_triangles(manifest, directory):
    path = directory / "meshes" / "000001.npz"
    arrays = dict(np.load(path))
    arrays["triangles"] = arrays["triangles"] + 1000
    np.savez(path, **arrays)
    return manifest


def duplicate_object(manifest, directory):
    manifest["objects"].append(dict(manifest["objects"][0]))
    return manifest


@pytest.mark.parametrize("mutate, message", [
    (set_object("kind", "gadget"), r"object #0: ValueError: 'gadget' is not a valid ObjectKind"),
    (set_object("color", "red"), r"object #0: ValueError"),
    (set_object("pose", "identity"), r"object #0: ValueError"),
    (set_object("pose", np.eye(3).tolist()), r"object #0: pose of object 1 must have shape \(4, 4\)"),
    (set_object("label", 5), r"object #0: has no label"),
    (set_object("instance_id", -4), r"object #0: instance ids must be > 0"),
    (set_object("support_height", "tall"), r"object #0: ValueError"),
    (duplicate_object, r"object #1: instance id 1 is already used"),
    (corrupt_mesh, r"object #0: mesh file .*000001.npz is not a valid mesh .npz"),
    (out_of_range_triangles, r"object #0: mesh file .*000001.npz is not a valid mesh .npz: triangle indices"),
    (set_top("version", "one"), r"unsupported scene format 'mem3d-scene' version 'one'"),
    (set_top("categories", {"mug": "x"}), r"manifest.json: ValueError: invalid literal"),
    (set_top("categories", ["mug"]), r"'categories' must be a JSON object"),
    (set_top("objects", {"a": 1}), r"'objects' must be a list, got dict"),
    (set_top("objects", [7]), r"object #0: an object must be a JSON object, got int"),
    (set_top("rooms", [{"min_xy": [0, 0], "max_xy": [1, 1]}]), r"room #0: has no 'name'"),
    (set_top("rooms", [{"name": "a", "min_xy": [1], "max_xy": [2, 2]}]), r"room #0: min_xy and max_xy need 2"),
    (set_top("rooms", [{"name": "a", "min_xy": None, "max_xy": [2, 2]}]), r"room #0: TypeError"),
    (set_top("seed", -1), r"'seed' must be an integer >= 0"),
    (set_top("floor_z", "low"), r"manifest.json: ValueError"),
    (lambda manifest, directory: [manifest], r"the manifest must be a JSON object, got list"),
])
def test_every_bad_manifest_is_an_error_naming_the_file_and_object(tmp_path, mutate, message):
    save_scene(one_box_scene(), tmp_path)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(mutate(json.loads(path.read_text()), tmp_path)))
    with pytest.raises(InvalidInputError, match=message) as error:
        load_scene(tmp_path)
    assert str(path) in str(error.value)


def break_info(text):
    def mutate(directory):
        (directory / "habitat" / "info_semantic.json").write_text(text)
    return mutate


def break_ply(change):
    def mutate(directory):
        path = directory / "habitat" / "mesh_semantic.ply"
        path.write_bytes(change(path.read_bytes()))
    return mutate


def ply_with_a_face_index_out_of_range(directory):
    path = directory / "habitat" / "mesh_semantic.ply"
    ply = read_ply(path)
    faces = ply.get("face", "vertex_indices").copy()
    faces[1, 2] = 99
    vertices = np.stack([ply.get("vertex", a) for a in "xyz"], axis=1)
    write_ply(path, vertices, faces, face_ids=ply.get("face", "object_id"))


@pytest.mark.parametrize("mutate, where, message", [
    (break_info("{oops"), "info_semantic.json", "is not valid JSON"),
    (break_info(json.dumps({"objects": [{"class_name": "table"}]})), "info_semantic.json", "object #0 has no 'id'"),
    (break_info(json.dumps({"objects": [{"id": "seven", "class_name": "table"}]})), "info_semantic.json",
     "malformed classes or objects"),
    (break_info(json.dumps({"classes": [{"name": "x"}]})), "info_semantic.json", "malformed classes or objects"),
    (break_info("[]"), "info_semantic.json", "must hold a JSON object"),
    (ply_with_a_face_index_out_of_range, "mesh_semantic.ply", r"faces must index its 12 vertices, got .*99"),
    (break_ply(lambda raw: raw[:-20]), "mesh_semantic.ply", "truncated or malformed PLY body"),
    (break_ply(lambda raw: b"not a ply"), "mesh_semantic.ply", "is not a PLY file"),
])
def test_every_bad_replica_scene_is_an_error_naming_the_file(tmp_path, mutate, where, message):
    replica_like(tmp_path)
    mutate(tmp_path)
    with pytest.raises(InvalidInputError, match=message) as error:
        load_scene(tmp_path)
    assert where in str(error.value)
