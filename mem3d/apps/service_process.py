"""``mem3d serve`` as a child process: start it, read its ready line, stop it (demo, benchmarks, tests).

``mem3d serve`` prints one JSON line ``{"ready": true, "requests": ..., "ingest": ..., "changes": ...}``
once its sockets are bound; with ``tcp://127.0.0.1:*`` those are the free ports it was given.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mem3d.client import MemoryClient
from mem3d.comms.endpoints import ANY_LOOPBACK_PORT
from mem3d.config import config_to_dict
from mem3d.errors import Mem3dError
from mem3d.voxel_map import MapConfig


class ServiceStartError(Mem3dError):
    """``mem3d serve`` ended, or said nothing, before its ready line."""


def mem3d_executable() -> str:
    """The ``mem3d`` script of this same installation (next to the running interpreter), else the PATH's."""
    return shutil.which("mem3d", path=str(Path(sys.executable).parent)) or "mem3d"


def ready_message(line: str) -> dict | None:
    """The JSON object of a ``{"ready": true, ...}`` line, else None (any other output)."""
    if not line.startswith("{"):
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) and message.get("ready") is True else None


class ServiceProcess:
    """A running ``mem3d serve`` child and the endpoints it announced; stops it when used as a context."""

    def __init__(self, process: subprocess.Popen, endpoints: dict[str, str]) -> None:
        self.process = process
        self.endpoints = endpoints
        """"requests", "ingest" and "changes" endpoints, as bound (real port numbers)."""

    def client(self, **options) -> MemoryClient:
        """A client of this service's endpoints (``MemoryClient`` keyword options)."""
        return MemoryClient.of_service(self.endpoints, **options)

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the process ends (e.g. after ``client.shutdown()``); its exit status."""
        return self.process.wait(timeout)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (the service checkpoints and closes), then SIGKILL after ``timeout`` s; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.wait()

    def kill(self) -> None:
        """SIGKILL at once (a crash, as far as the store can tell)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_service_process(store: str | Path, *, encoder: str | None = None, map_config: MapConfig | None = None,
                          extra_args: Sequence[str] = (), bind: str = ANY_LOOPBACK_PORT,
                          log_level: str = "WARNING", ready_timeout_s: float = 180.0) -> ServiceProcess:
    """Run ``mem3d serve --store STORE`` (ingest and change feed on the ports above ``bind``, or free
    ones for a wildcard) and return once it is ready; ``ServiceStartError`` if it ends or stays silent
    for ``ready_timeout_s``. ``map_config`` sets up a new map (``--map-config``), ``encoder`` the text
    encoder (``--encoder``); ``extra_args`` go on the command line as given."""
    command = [mem3d_executable(), "serve", "--store", str(store), "--bind", bind, "--log-level", log_level]
    if encoder is not None:
        command += ["--encoder", encoder]
    config_file = None
    if map_config is not None:
        config_file = _write_map_config(map_config)
        command += ["--map-config", config_file]
    try:
        process = subprocess.Popen([*command, *extra_args], stdout=subprocess.PIPE, text=True)
        return ServiceProcess(process, _read_ready(process, ready_timeout_s))
    finally:
        if config_file is not None:  # read by the service before it announces itself
            os.unlink(config_file)


def _write_map_config(config: MapConfig) -> str:
    """``config`` as a YAML file in the temporary directory; its path."""
    import yaml

    with tempfile.NamedTemporaryFile("w", prefix="mem3d-map-", suffix=".yaml", delete=False) as file:
        yaml.safe_dump(config_to_dict(config), file)
    return file.name


def _read_ready(process: subprocess.Popen, timeout_s: float) -> dict[str, str]:
    """The endpoints of the ready line, or ``ServiceStartError`` (the process is killed then)."""
    readable, _, _ = select.select([process.stdout], [], [], timeout_s)
    line = process.stdout.readline() if readable else ""
    message = ready_message(line)
    if message is None:
        said = (f"printed {line.strip()!r}" if line else "ended" if readable
                else f"said nothing for {timeout_s:.0f} s")
        if process.poll() is None:
            process.kill()
        process.wait()
        raise ServiceStartError(f"mem3d serve {said} before it was ready (exit status {process.returncode}; "
                                "its messages are above)")
    return {key: value for key, value in message.items() if key != "ready"}
