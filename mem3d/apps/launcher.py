"""``mem3d launch FILE.yaml``: start a stack of processes, merge their logs, restart, stop cleanly.

A launch file (see ``launch/sim_stack.yaml``)::

    name: sim_stack
    run_dir: out/sim_stack            # "{run_dir}" in commands is replaced by this path
    args:                             # defaults of "{name}" words; `mem3d launch FILE port:=6000` overrides
      requests: tcp://127.0.0.1:5555
    processes:
      - name: memory
        command: [mem3d, serve, --store, "{run_dir}/store", --bind, "{requests}"]
        ready: json                   # wait for its {"ready": true} line before starting the next
        restart: on-failure           # never | on-failure | always
      - name: planner
        command: [mem3d, plan, find, "red mug"]
        on_exit: shutdown             # when it ends, stop the whole stack

Every process runs in its own process group, so stopping it stops its children too. Output lines are
prefixed with ``[name]``. Ctrl-C or SIGTERM stops the processes in reverse order: SIGTERM, then
SIGKILL after ``stop_timeout_s``; nothing is left behind.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mem3d.apps.service_process import mem3d_executable, ready_message
from mem3d.config import load_yaml_config
from mem3d.errors import InvalidInputError

RESTART_POLICIES = ("never", "on-failure", "always")


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    command: list[str]
    ready: str = "none"
    """"json": wait for a stdout line with {"ready": true}; "none": start the next one at once."""
    ready_timeout_s: float = 180.0
    restart: str = "never"
    max_restarts: int = 3
    on_exit: str = "continue"
    """"shutdown": when this process ends by itself (for good), stop the stack."""
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LaunchFile:
    name: str
    processes: list[ProcessSpec]
    run_dir: str = "out/{name}"
    stop_timeout_s: float = 10.0
    args: dict[str, str] = field(default_factory=dict)
    """Launch arguments and their defaults: ``{key}`` in a command (or ``run_dir``) becomes the value,
    set on the command line as ``key:=value``."""

    def __post_init__(self) -> None:
        names = [p.name for p in self.processes]
        if not names or len(set(names)) != len(names):
            raise InvalidInputError(f"a launch file needs processes with distinct names, got {names}")
        for spec in self.processes:
            if not spec.command:
                raise InvalidInputError(f"process {spec.name!r} has an empty command")
            if spec.restart not in RESTART_POLICIES:
                raise InvalidInputError(f"process {spec.name!r}: restart must be one of {RESTART_POLICIES}")
            if spec.ready not in ("none", "json") or spec.on_exit not in ("continue", "shutdown"):
                raise InvalidInputError(f"process {spec.name!r}: ready is none|json, on_exit continue|shutdown")


ARGUMENT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_launch_arguments(words: list[str], launch: LaunchFile) -> dict[str, str]:
    """``key:=value`` words -> the launch file's arguments with those values (``InvalidInputError``
    for a malformed word or a key the file does not declare, naming the keys it does)."""
    values = {key: str(value) for key, value in launch.args.items()}
    for word in words:
        key, sep, value = word.partition(":=")
        if not sep or not key:
            raise InvalidInputError(f"launch arguments are written key:=value, got {word!r}")
        if key not in values:
            known = ", ".join(f"{k} (default {v})" for k, v in values.items()) or "none"
            raise InvalidInputError(f"{launch.name} has no launch argument {key!r}; its arguments: {known}")
        values[key] = value
    return values


def substitute(word: str, values: dict[str, str]) -> str:
    """``word`` with each ``{key}`` of ``values`` replaced (other braces are left alone)."""
    return ARGUMENT.sub(lambda m: values.get(m.group(1), m.group(0)), word)


class _Child:
    """One managed process: its spec, the running Popen, and its restart count."""

    def __init__(self, spec: ProcessSpec, command: list[str], output_lock: threading.Lock) -> None:
        self.spec, self.command, self._lock = spec, command, output_lock
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self.ready = threading.Event()
        self.finished = False

    def start(self) -> None:
        self.ready.clear()
        env = {**os.environ, **self.spec.env, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, text=True, env=env, start_new_session=True)
        self._pumping = threading.Thread(target=self._pump, args=(self.process,), daemon=True)
        self._pumping.start()
        self.say(f"started (pid {self.process.pid}): {' '.join(self.command)}")

    def _pump(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.say(line.rstrip("\n"))
            if not self.ready.is_set() and ready_message(line) is not None:
                self.ready.set()

    def drain(self, timeout: float = 2.0) -> None:
        """Wait (a little) until the output of the ended process has been printed."""
        self._pumping.join(timeout)

    def say(self, text: str) -> None:
        with self._lock:
            print(f"[{self.spec.name}] {text}", flush=True)

    def should_restart(self, returncode: int) -> bool:
        wanted = self.spec.restart == "always" or (self.spec.restart == "on-failure" and returncode != 0)
        return wanted and self.restarts < self.spec.max_restarts

    def stop(self, timeout: float) -> None:
        """SIGTERM the process group, then SIGKILL it if it is still there after ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            _kill_group(self.process, signal.SIGKILL)  # reap stragglers the leader left behind
            return
        _kill_group(self.process, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.say(f"did not stop within {timeout:.0f} s: killing it")
        _kill_group(self.process, signal.SIGKILL)
        self.process.wait()


def _kill_group(process: subprocess.Popen | None, sig: int) -> None:
    if process is None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


class StopRequest:
    """A stop flag that a signal handler may raise: ``threading.Event.set`` takes a lock that the
    interrupted main thread may hold inside ``Event.wait`` (a deadlock); ``SimpleQueue.put`` is
    reentrant, so waiting is done on one."""

    def __init__(self) -> None:
        self._requested = False
        self._wakeup: queue.SimpleQueue[None] = queue.SimpleQueue()

    def request(self) -> None:
        self._requested = True
        self._wakeup.put(None)

    def is_set(self) -> bool:
        return self._requested

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, less if a stop is requested; True once it is."""
        if not self._requested:
            try:
                self._wakeup.get(timeout=timeout)
                self._wakeup.put(None)  # stays raised for the next waiter
            except queue.Empty:
                pass
        return self._requested


class Launcher:
    """Runs a ``LaunchFile`` until its processes end, one asks for shutdown, or ``stop`` is called."""

    def __init__(self, launch: LaunchFile, run_dir: str | None = None, arguments: dict[str, str] | None = None) -> None:
        self.launch = launch
        self.values = {"name": launch.name, **(launch.args if arguments is None else arguments)}
        self.run_dir = Path(run_dir or substitute(launch.run_dir, self.values))
        self.values["run_dir"] = str(self.run_dir)
        self.values = {key: substitute(value, self.values) for key, value in self.values.items()}  # "{run_dir}/x"
        self._lock = threading.Lock()
        self._stopping = StopRequest()
        self.children = [_Child(spec, self._resolve(spec.command), self._lock) for spec in launch.processes]

    def _resolve(self, command: list[str]) -> list[str]:
        """Fill in ``{run_dir}`` and the launch arguments; run ``mem3d`` from this same installation."""
        words = [substitute(word, self.values) for word in command]
        if words[0] == "mem3d":
            words[0] = mem3d_executable()
        return words

    def stop(self) -> None:
        self._stopping.request()

    def run(self) -> int:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            for child in self.children:
                if self._stopping.is_set():
                    break
                child.start()
                if child.spec.ready == "json" and not self._wait_ready(child):
                    child.say("never became ready: stopping the stack")
                    return 1
            return self._supervise()
        finally:
            for child in reversed(self.children):
                child.stop(self.launch.stop_timeout_s)
            with self._lock:
                print(f"[launch] {self.launch.name}: all {len(self.children)} processes stopped; "
                      f"data in {self.run_dir}", flush=True)

    def _wait_ready(self, child: _Child) -> bool:
        deadline = time.monotonic() + child.spec.ready_timeout_s
        while time.monotonic() < deadline and not self._stopping.is_set():
            if child.ready.wait(0.1):
                return True
            if child.process.poll() is not None:
                return False
        return False

    def _supervise(self) -> int:
        while not self._stopping.is_set():
            running = False
            for child in self.children:
                if child.finished or child.process is None:
                    continue
                returncode = child.process.poll()
                if returncode is None:
                    running = True
                    continue
                _kill_group(child.process, signal.SIGKILL)  # what the dead leader left running
                child.drain()  # its last lines come before the news of its exit
                if child.should_restart(returncode):
                    child.restarts += 1
                    child.say(f"exited with {returncode}: restart {child.restarts}/{child.spec.max_restarts}")
                    if self._stopping.wait(min(8.0, 0.5 * 2**child.restarts)):
                        break
                    child.start()
                    running = True
                    continue
                child.finished = True
                child.say(f"exited with {returncode}")
                if child.spec.on_exit == "shutdown":
                    return returncode
            if not running:
                return 0
            self._stopping.wait(0.1)
        return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="launch file (YAML), e.g. launch/sim_stack.yaml")
    parser.add_argument("arguments", nargs="*", metavar="KEY:=VALUE",
                        help="launch arguments declared in the file's args, after the file (e.g. scene:=3 "
                             "requests:=tcp://127.0.0.1:6000); `mem3d launch --show-args FILE` lists them")
    parser.add_argument("--run-dir", help="directory for the stack's data (default: the file's run_dir)")
    parser.add_argument("--show-args", action="store_true", help="list the file's launch arguments and exit")


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise InvalidInputError(f"no launch file {path} (the ones shipped are in launch/)")
    launch = load_yaml_config(LaunchFile, path)
    values = parse_launch_arguments(args.arguments, launch)
    if args.show_args:
        for key, value in launch.args.items():
            print(f"{key}:={value}")
        return 0
    launcher = Launcher(launch, args.run_dir, values)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: launcher.stop())
    return launcher.run()
