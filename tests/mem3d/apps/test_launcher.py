"""``mem3d launch``: processes start in order, logs are prefixed, crashes restart, and stopping the
launcher leaves no process behind (children of children included)."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

MEM3D = shutil.which("mem3d", path=str(Path(sys.executable).parent))
PY = sys.executable


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def read_until(process: subprocess.Popen, pattern: str, timeout: float, lines: list[str]) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r}; got:\n" + "\n".join(lines))


GRANDPARENT = "import subprocess,time; p=subprocess.Popen(['sleep','600']); print('grandchild', p.pid, flush=True); "


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_start_restart_and_clean_stop(tmp_path, stop_signal):
    launch = tmp_path / "stack.yaml"
    launch.write_text(f"""
name: toy
run_dir: {tmp_path}/run
processes:
  - name: server
    command: [{PY}, -c, "import json,time; print(json.dumps({{'ready': True}}), flush=True); time.sleep(600)"]
    ready: json
  - name: parent
    command: [{PY}, -c, "{GRANDPARENT}time.sleep(600)"]
  - name: flaky
    command: [{PY}, -c, "{GRANDPARENT}import sys; print('crashing', flush=True); sys.exit(3)"]
    restart: on-failure
    max_restarts: 2
""")
    lines: list[str] = []
    launcher = subprocess.Popen([MEM3D, "launch", str(launch)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(read_until(launcher, rf"\[{name}\] started \(pid (\d+)\)", 30, lines).group(1))
                for name in ("server", "parent")]
        pids.append(int(read_until(launcher, r"\[parent\] grandchild (\d+)", 30, lines).group(1)))
        read_until(launcher, r"\[flaky\] exited with 3: restart 2/2", 30, lines)
        read_until(launcher, r"\[flaky\] exited with 3$", 30, lines)
        assert all(alive(pid) for pid in pids)
        assert sum("[flaky] crashing" in line for line in lines) == 3
        left_by_crashes = [int(m.group(1)) for line in lines if (m := re.search(r"\[flaky\] grandchild (\d+)", line))]
        assert len(left_by_crashes) == 3
        time.sleep(0.5)
        assert not any(alive(pid) for pid in left_by_crashes)  # a restart clears what the crash left
        launcher.send_signal(stop_signal)
        assert launcher.wait(timeout=30) == 0
    finally:
        if launcher.poll() is None:
            launcher.kill()
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in pids)


def test_bad_launch_files_are_clear_errors(tmp_path):
    for text, message in [("name: x\nprocesses: []\n", "distinct names"),
                          ("name: x\nprocesses:\n  - {name: a, command: [ls], restart: sometimes}\n", "restart"),
                          ("name: x\nprocesses:\n  - {name: a, command: [ls], colour: red}\n", "unknown key")]:
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        result = subprocess.run([MEM3D, "launch", str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 1 and message in result.stderr


def test_a_node_that_ends_with_on_exit_shutdown_stops_the_stack(tmp_path):
    launch = tmp_path / "stack.yaml"
    launch.write_text(f"""
name: toy
run_dir: {tmp_path}/run
processes:
  - name: parent
    command: [{PY}, -c, "{GRANDPARENT}time.sleep(600)"]
  - name: planner
    command: [{PY}, -c, "import time; time.sleep(1); print('done', flush=True)"]
    on_exit: shutdown
""")
    result = subprocess.run([MEM3D, "launch", str(launch)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[planner] done" in result.stdout and "[planner] exited with 0" in result.stdout
    grandchild = int(re.search(r"\[parent\] grandchild (\d+)", result.stdout).group(1))
    assert not alive(grandchild)


@pytest.mark.edge
@pytest.mark.slow
def test_the_real_sim_stack_runs_and_stops_on_ctrl_c_with_no_stray_process(tmp_path):
    """launch/sim_stack.yaml as shipped: memory, simulator stream, perception and planner processes."""
    stack = Path(__file__).resolve().parents[3] / "launch" / "sim_stack.yaml"
    lines: list[str] = []
    launcher = subprocess.Popen([MEM3D, "launch", str(stack), "--run-dir", str(tmp_path / "run")],
                                stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(read_until(launcher, rf"\[{name}\] started \(pid (\d+)\)", 120, lines).group(1))
                for name in ("memory", "simulator", "perception", "planner")]
        read_until(launcher, r'\[planner\] \{.*"goal": "sofa", "decision": "go_to"', 240, lines)
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=60) == 0
    finally:
        if launcher.poll() is None:
            launcher.kill()
    output = "\n".join(lines + launcher.stdout.read().splitlines())
    assert "[perception]" in output and "[memory]" in output
    time.sleep(1)
    assert not any(alive(pid) for pid in pids)
    store = tmp_path / "run" / "store"
    assert (store / "CURRENT").exists(), "the memory service checkpoints when the stack stops"


SHIPPED = Path(__file__).resolve().parents[3] / "launch"


@pytest.mark.parametrize("name", sorted(p.name for p in SHIPPED.glob("*.yaml")))
def test_shipped_launch_files_take_ports_and_stores_as_launch_arguments(name):
    """No endpoint or store path is written into a shipped stack's commands: each is a ``{key}`` that
    ``key:=value`` sets, and setting it reaches every process that uses it."""
    from mem3d.apps.launcher import Launcher, LaunchFile, parse_launch_arguments
    from mem3d.config import load_yaml_config

    launch = load_yaml_config(LaunchFile, SHIPPED / name)
    words = [word for spec in launch.processes for word in spec.command]
    assert not [w for w in words if "tcp://" in w or "ipc://" in w], "an endpoint is hard-coded"
    assert "requests" in launch.args and "store" in launch.args
    stores = [spec.command[spec.command.index("--store") + 1] for spec in launch.processes
              if "--store" in spec.command]
    assert stores and all(store == "{store}" for store in stores)
    values = parse_launch_arguments(["requests:=tcp://127.0.0.1:6100", "store:=/data/memory"], launch)
    resolved = [word for child in Launcher(launch, arguments=values).children for word in child.command]
    assert "tcp://127.0.0.1:5555" not in " ".join(resolved) and "/data/memory" in resolved
    users = sum(any("tcp://127.0.0.1:6100" in word for word in child.command)
                for child in Launcher(launch, arguments=values).children)
    assert users == sum(any("{requests}" in word for word in spec.command) for spec in launch.processes) >= 1
