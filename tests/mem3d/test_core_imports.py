"""The core imports without the heavy edge dependencies."""

import subprocess
import sys

BLOCKER = """
import sys, importlib.abc
HEAVY = ("torch", "open3d", "cv2", "rclpy", "habitat_sim", "sentence_transformers", "open_clip", "transformers")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            raise ImportError(f"core imported heavy dependency {name}")
sys.meta_path.insert(0, Block())
import pkgutil, importlib, mem3d
for module in pkgutil.walk_packages(mem3d.__path__, "mem3d."):
    importlib.import_module(module.name)
import perception, sim, planners, ros_bridge, bench
print("ok")
"""


def test_every_core_module_imports_without_torch_open3d_or_ros():
    result = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


MINIMAL = """
import sys, importlib.abc
class OnlyCore(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in ("tqdm", "torch", "open3d", "cv2", "sentence_transformers", "open_clip", "rich"):
            raise ImportError(f"the core imported {name}, which is not a core dependency")
sys.meta_path.insert(0, OnlyCore())
import mem3d, mem3d.types, mem3d.voxel_map, mem3d.storage, mem3d.client, mem3d.service.durable
import mem3d.service.server, mem3d.protocol.messages
print("ok")
"""


def test_the_map_storage_client_and_service_need_only_the_core_dependencies():
    """numpy, zarr (which brings PyYAML), pyzmq, msgpack, plus scipy (sparse graphs, image filters)."""
    result = subprocess.run([sys.executable, "-c", MINIMAL], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


WITHOUT_OPEN3D = """
import sys, importlib.abc
class NoOpen3d(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("open3d", "cv2"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoOpen3d())
from mem3d.cli import main
sys.exit(main(["sim", "render", "--scene", "0", "--out", "/tmp/never-written.png"]))
"""


def test_a_command_whose_extra_is_missing_says_what_to_install():
    result = subprocess.run([sys.executable, "-c", WITHOUT_OPEN3D], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "not installed: pip install 'mem3d[sim]'" in result.stderr
    assert "Traceback" not in result.stderr
