"""The pure conversions, on real message classes (rosbags' type store) serialised and read back as
CDR, so the field layouts are those a ROS 2 graph or a bag carries."""

import json

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from mem3d.episodic.results import Event, EventKind
from mem3d.errors import InvalidInputError
from mem3d.nav import traversability as nav
from mem3d.types import CameraIntrinsics
from ros_bridge.convert.camera import UnsupportedDistortionError, camera_info_to_intrinsics, intrinsics_to_camera_info
from ros_bridge.convert.clouds import array_to_cloud, cloud_to_array, cloud_xyz, unpack_rgb
from ros_bridge.convert.events import event_json
from ros_bridge.convert.grids import Grid2D, grid_to_message, message_to_grid, occupancy_to_grid
from ros_bridge.convert.images import (
    UnsupportedEncodingError,
    array_to_image,
    decode_color,
    decode_depth,
    decode_ids,
    depth_to_image,
)
from ros_bridge.convert.transforms import (
    interpolate,
    matrix_to_rigid,
    pose_to_matrix,
    rigid_matrix,
    transform_to_matrix,
)
from ros_bridge.labels import label_table, parse_label_table

STORE = get_typestore(Stores.ROS2_HUMBLE)
T = STORE.types


def roundtrip(msg):
    """The message after CDR serialisation, as a subscriber would receive it."""
    return STORE.deserialize_cdr(STORE.serialize_cdr(msg, msg.__msgtype__), msg.__msgtype__)


def header(frame="camera_color_optical_frame"):
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=12, nanosec=500_000_000),
                                    frame_id=frame)


def image(fields, step=None, pad=0):
    data = fields.data
    if pad:  # rows padded to a larger step, as some drivers publish
        rows = data.reshape(fields.height, fields.step)
        data = np.concatenate([rows, np.zeros((fields.height, pad), np.uint8)], axis=1).ravel()
    return roundtrip(T["sensor_msgs/msg/Image"](header=header(), height=fields.height, width=fields.width,
                                                encoding=fields.encoding, is_bigendian=fields.is_bigendian,
                                                step=fields.step + pad, data=data))


@pytest.fixture
def rgb():
    return np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8"])
def test_colour_images_round_trip_as_rgb(rgb, encoding):
    msg = image(array_to_image(rgb, encoding))
    assert msg.encoding == encoding
    np.testing.assert_array_equal(decode_color(msg), rgb)
    if encoding == "bgr8":
        assert bytes(msg.data[:3]) == bytes(rgb[0, 0, ::-1])


def test_padded_rows_and_mono8(rgb):
    np.testing.assert_array_equal(decode_color(image(array_to_image(rgb, "rgb8"), pad=3)), rgb)
    gray = rgb[..., 0]
    np.testing.assert_array_equal(decode_color(image(array_to_image(gray, "mono8"))), np.stack([gray] * 3, -1))


@pytest.mark.parametrize("encoding", ["16UC1", "mono16", "32FC1"])
def test_depth_in_millimetres_or_metres_decodes_to_metres(encoding):
    depth = np.array([[0.0, 1.234], [2.5, np.nan]], dtype=np.float32)
    out = decode_depth(image(depth_to_image(depth, encoding)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 1.234], [2.5, 0.0]], atol=5e-4)  # NaN = no measurement = 0


def test_big_endian_16_bit_depth():
    mm = np.array([[1000, 2500]], dtype=">u2")
    msg = T["sensor_msgs/msg/Image"](header=header(), height=1, width=2, encoding="16UC1", is_bigendian=1, step=4,
                                     data=np.frombuffer(mm.tobytes(), np.uint8))
    np.testing.assert_allclose(decode_depth(roundtrip(msg)), [[1.0, 2.5]])


def test_unsupported_encodings_name_the_supported_ones(rgb):
    msg = T["sensor_msgs/msg/Image"](header=header(), height=1, width=2, encoding="yuv422", is_bigendian=0, step=4,
                                     data=np.zeros(4, np.uint8))
    with pytest.raises(UnsupportedEncodingError, match="yuv422.*supported"):
        decode_color(msg)
    with pytest.raises(UnsupportedEncodingError, match="16UC1"):
        decode_depth(image(array_to_image(rgb, "rgb8")))
    short = T["sensor_msgs/msg/Image"](header=header(), height=4, width=4, encoding="rgb8", is_bigendian=0, step=12,
                                       data=np.zeros(20, np.uint8))
    with pytest.raises(InvalidInputError, match="bytes"):
        decode_color(short)


def test_segmentation_ids():
    ids = np.array([[0, 7], [300, 7]], dtype=np.int32)
    np.testing.assert_array_equal(decode_ids(image(array_to_image(ids, "32SC1"))), ids)


def camera_info(fields, d=None):
    return roundtrip(T["sensor_msgs/msg/CameraInfo"](
        header=header(), height=fields.height, width=fields.width, distortion_model=fields.distortion_model,
        d=np.asarray(d if d is not None else fields.d, float), k=np.asarray(fields.k, float),
        r=np.asarray(fields.r, float), p=np.asarray(fields.p, float), binning_x=0, binning_y=0,
        roi=T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)))


def test_camera_info_round_trips_and_refuses_distortion():
    intrinsics = CameraIntrinsics(615.2, 614.8, 321.4, 238.9, 640, 480)
    fields = intrinsics_to_camera_info(intrinsics)
    assert camera_info_to_intrinsics(camera_info(fields)) == intrinsics
    distorted = camera_info(fields, d=[0.1, -0.05, 0.0, 0.0, 0.0])
    with pytest.raises(UnsupportedDistortionError, match="rectified"):
        camera_info_to_intrinsics(distorted)
    assert camera_info_to_intrinsics(distorted, ignore_distortion=True) == intrinsics


def test_transform_and_pose_round_trip_with_interpolation():
    rng = np.random.default_rng(3)
    q = rng.normal(size=4)
    T_a_b = rigid_matrix([1.0, -2.0, 0.5], q)
    rigid = matrix_to_rigid(T_a_b)
    vec, quat = T["geometry_msgs/msg/Vector3"], T["geometry_msgs/msg/Quaternion"]
    transform = roundtrip(T["geometry_msgs/msg/Transform"](translation=vec(*rigid.translation),
                                                           rotation=quat(*rigid.rotation)))
    np.testing.assert_allclose(transform_to_matrix(transform), T_a_b, atol=1e-12)
    pose = roundtrip(T["geometry_msgs/msg/Pose"](position=T["geometry_msgs/msg/Point"](*rigid.translation),
                                                 orientation=quat(*rigid.rotation)))
    np.testing.assert_allclose(pose_to_matrix(pose), T_a_b, atol=1e-12)
    half = interpolate(np.eye(4), rigid_matrix([2.0, 0, 0], [0, 0, np.sin(np.pi / 4), np.cos(np.pi / 4)]), 0.5)
    np.testing.assert_allclose(half[:3, 3], [1.0, 0, 0])
    np.testing.assert_allclose(np.degrees(np.arctan2(half[1, 0], half[0, 0])), 45.0)  # halfway of 90 deg yaw
    with pytest.raises(InvalidInputError):
        rigid_matrix([0, 0, 0], [0, 0, 0, 0])


def test_point_cloud_round_trip_with_colour_and_a_similarity_column():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(50, 3)).astype(np.float32)
    colors = rng.integers(0, 256, (50, 3), dtype=np.uint8)
    similarity = rng.random(50).astype(np.float32)
    fields = array_to_cloud(points, colors, {"similarity": similarity})
    field = T["sensor_msgs/msg/PointField"]
    msg = roundtrip(T["sensor_msgs/msg/PointCloud2"](
        header=header("map"), height=fields.height, width=fields.width,
        fields=[field(name=f.name, offset=f.offset, datatype=f.datatype, count=f.count) for f in fields.fields],
        is_bigendian=fields.is_bigendian, point_step=fields.point_step, row_step=fields.row_step, data=fields.data,
        is_dense=fields.is_dense))
    cloud = cloud_to_array(msg)
    np.testing.assert_array_equal(cloud_xyz(cloud), points.astype(np.float64))
    np.testing.assert_array_equal(unpack_rgb(cloud["rgb"]), colors)
    np.testing.assert_array_equal(cloud["similarity"], similarity)


def test_occupancy_grid_round_trip():
    cells = np.full((4, 6), -1, np.int8)
    cells[1:3, 2:5] = [[0, 100, 0], [0, 0, 55]]
    grid = Grid2D(cells, 0.05, rigid_matrix([-1.5, 2.0, 0.0], [0, 0, 0, 1]))
    fields = grid_to_message(grid)
    pose = T["geometry_msgs/msg/Pose"](position=T["geometry_msgs/msg/Point"](*fields.origin.translation),
                                       orientation=T["geometry_msgs/msg/Quaternion"](*fields.origin.rotation))
    info = T["nav_msgs/msg/MapMetaData"](map_load_time=T["builtin_interfaces/msg/Time"](sec=0, nanosec=0),
                                         resolution=fields.resolution, width=fields.width, height=fields.height,
                                         origin=pose)
    back = message_to_grid(roundtrip(T["nav_msgs/msg/OccupancyGrid"](header=header("map"), info=info,
                                                                    data=fields.data)))
    np.testing.assert_array_equal(back.cells, cells)
    assert back.resolution == pytest.approx(0.05)
    np.testing.assert_allclose(back.T_world_origin, grid.T_world_origin)
    with pytest.raises(InvalidInputError):
        Grid2D(np.zeros((2, 2), np.int16), 0.05, np.eye(4))


def test_the_memorys_traversability_window_becomes_a_ros_grid_in_place():
    codes = np.array([[nav.UNKNOWN, nav.FREE, nav.INFLATED], [nav.OCCUPIED, nav.FREE, nav.UNKNOWN]], np.int8)
    window = nav.OccupancyGrid(codes=codes, last_seen=np.zeros(codes.shape), col0=-4, row0=10, cell_m=0.05,
                               seq=7, stamp=1.0)
    grid = occupancy_to_grid(window)
    np.testing.assert_array_equal(grid.cells, [[-1, 0, 99], [100, 0, -1]])
    assert grid.resolution == pytest.approx(0.05)
    np.testing.assert_allclose(grid.T_world_origin[:3, 3], [-0.2, 0.5, 0.0])


def test_an_episodic_event_becomes_one_json_object():
    moved = Event(kind=EventKind.MOVED, instance=4, stamp=12.5, obs_id=40, place=2, position=(1.0, 2.0, 0.5),
                  keyframe=7, from_place=1, from_position=(0.0, 0.0, 0.5))
    assert json.loads(event_json(moved)) == {
        "kind": "moved", "instance": 4, "stamp": 12.5, "obs_id": 40, "place": 2, "position": [1.0, 2.0, 0.5],
        "keyframe": 7, "from_place": 1, "from_position": [0.0, 0.0, 0.5]}


def test_isaac_label_tables():
    text = json.dumps({"0": {"class": "BACKGROUND"}, "1": {"class": "UNLABELLED"}, "7": {"class": "mug"},
                       "time_stamp": {"sec": 1, "nanosec": 0}})
    assert parse_label_table(text) == {7: "mug"}
    assert parse_label_table(label_table({3: "sofa", 4: "red mug"})) == {3: "sofa", 4: "red mug"}
    with pytest.raises(InvalidInputError, match="JSON"):
        parse_label_table("{not json")


def test_segment_ids_without_a_class_become_unlabelled():
    from ros_bridge.frames import labelled_ids

    ids = np.array([[0, 1, 2], [3, 7, 2]], np.int32)
    dense = np.array([[0, 1, 2], [3, 4, 2]], np.int32)
    assert labelled_ids(dense, {1: "a", 2: "b", 3: "c", 4: "d"}) is dense  # all labelled: no copy
    np.testing.assert_array_equal(labelled_ids(ids, {1: "a", 2: "b", 3: "c", 7: "d"}), ids)
    np.testing.assert_array_equal(labelled_ids(ids, {1: "a", 7: "d"}), [[0, 1, 0], [0, 7, 0]])
    np.testing.assert_array_equal(labelled_ids(ids, {}), np.zeros((2, 3)))
    odd = np.array([[-4, 5, 2_000_000]], np.int32)
    np.testing.assert_array_equal(labelled_ids(odd, {5: "a"}), [[0, 5, 0]])
    np.testing.assert_array_equal(labelled_ids(odd, {2_000_000: "far", -4: "negative"}), [[-4, 0, 2_000_000]])
    assert labelled_ids(odd, {5: "a"}).dtype == np.int32
