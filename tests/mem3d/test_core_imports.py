"""The core imports without the heavy edge dependencies, and says what to install when one is missing."""

import subprocess
import sys

HEAVY = ("torch", "open3d", "cv2", "rclpy", "habitat_sim", "sentence_transformers", "open_clip", "transformers")


def run_without(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter in which importing any of ``blocked`` fails."""
    blocker = f"""
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
sys.meta_path.insert(0, Block())
"""
    return subprocess.run([sys.executable, "-c", blocker + code], capture_output=True, text=True, timeout=120)


def test_every_core_module_imports_without_torch_open3d_or_ros():
    result = run_without(HEAVY, """
import pkgutil, importlib, mem3d
for module in pkgutil.walk_packages(mem3d.__path__, "mem3d."):
    importlib.import_module(module.name)
import perception, sim, planners, ros_bridge, bench
print("ok")
""")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_core_never_imports_an_edge_package():
    """Only mem3d.apps (the command line) wires the edges together; everything else reaches them
    through the plugin registries."""
    result = run_without(("perception", "sim", "planners", "bench", "ros_bridge"), """
import pkgutil, importlib, mem3d
core = [m.name for m in pkgutil.walk_packages(mem3d.__path__, "mem3d.") if not m.name.startswith("mem3d.apps")]
for name in core:
    importlib.import_module(name)
print(len(core))
""")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 40


def test_the_map_storage_client_and_service_need_only_the_core_dependencies():
    """numpy, zarr (which brings PyYAML), pyzmq, msgpack, plus scipy (sparse graphs, image filters)."""
    result = run_without(HEAVY + ("tqdm", "rich"), """
import mem3d, mem3d.types, mem3d.voxel_map, mem3d.io.checkpoint, mem3d.client, mem3d.service.durable
import mem3d.service.server, mem3d.protocol.messages
print("ok")
""")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_command_whose_extra_is_missing_says_what_to_install():
    result = run_without(("open3d", "cv2"), """
from mem3d.apps.cli import main
sys.exit(main(["sim", "render", "--scene", "0", "--out", "/tmp/never-written.png"]))
""")
    assert result.returncode == 2, result.stderr
    assert "not installed: pip install 'mem3d[sim]'" in result.stderr
    assert "Traceback" not in result.stderr
