"""``mem3d bench service``: the memory service under load, over real sockets on 127.0.0.1.

1. Ingest throughput: frames sent back to back (4 in flight, lossless), each acknowledged only when
   durable (write-ahead log + fsync): ``ingest_frames_per_s``.
2. Queries under load: 8 clients query continuously (localize, top 5) while frames keep arriving at
   10 per second and a subscriber follows the change feed: ``query_ms_p50``, ``query_ms_p99`` as the
   clients see them, and ``errors`` (refused or unanswered queries and frames). The service writes a
   checkpoint in the middle of this phase, as it does every ``checkpoint_every_frames`` in service.
   ``freshness_frames_p50`` / ``_p99``: how many applied frames an answer trailed by when it was sent
   (``applied_seq - seq`` of each ``localize_result``). ``service_cpu_cores``: the service process's
   CPU seconds (all its threads, from ``/proc``; None off Linux) per second of this phase, beside the
   machine's ``cpus``: the clients, the ingest sender and the subscriber share the cores with it.
   ``client_cpu_ms_per_query``: what a query costs its client process (all its threads, CPU
   milliseconds: making the query, encoding it, ZeroMQ, decoding the reply), so that the share of the
   cores the clients take from the service is known.

The service is a separate ``mem3d serve`` process; frames are 640x480 views of the benchmark aisle
with 20,000 points and D = 512 features (as ``mem3d bench map``), made before the clock starts.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench.aisle import FIRST_OBJECT_CONCEPT, AisleSpec, AisleWalker, machine_info
from mem3d.apps.service_process import start_service_process
from mem3d.client import ChangeFeed, MemoryClient, ServiceError, ServiceTimeoutError
from mem3d.types import FeatureFrame
from mem3d.voxel_map import MapConfig


@dataclass(frozen=True)
class ServiceBenchConfig:
    feature_dim: int = 512
    n_points: int = 20_000
    throughput_frames: int = 60
    in_flight: int = 4
    load_seconds: float = 20.0
    load_rate_hz: float = 10.0
    query_clients: int = 8
    query_rate_hz: float = 0.0
    """Queries per second per client; 0 = back to back (closed loop, the harshest reading)."""
    checkpoint_every_frames: int = 150
    """The service's checkpoint period: 150 puts one checkpoint in the middle of the load phase."""
    ack_timeout_s: float = 60.0
    seed: int = 0


def run(config: ServiceBenchConfig, show_progress: bool = True) -> dict:
    n_frames = config.throughput_frames + int(config.load_seconds * config.load_rate_hz) + 10
    frames, concepts = _make_frames(config, n_frames, show_progress)
    workdir = Path(tempfile.mkdtemp(prefix="mem3d-bench-service-"))
    try:
        with start_service_process(workdir / "store",
                                   map_config=MapConfig(feature_dim=config.feature_dim, feature_model="synthetic"),
                                   extra_args=["--checkpoint-every-frames", str(config.checkpoint_every_frames)],
                                   ) as service:
            with service.client(timeout=config.ack_timeout_s) as client:
                throughput = _ingest_throughput(client, frames[: config.throughput_frames], config.in_flight)
                cpu_before, load_started = _cpu_seconds(service.process.pid), time.perf_counter()
                load = _queries_under_load(client, service.endpoints, frames[config.throughput_frames:], concepts,
                                           config)
                cpu_after, load_s = _cpu_seconds(service.process.pid), time.perf_counter() - load_started
                stats = client.stats()
                client.shutdown()
            service.wait(timeout=120)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    cores = None if cpu_before is None or cpu_after is None else round((cpu_after - cpu_before) / load_s, 2)
    return {"ingest_frames_per_s": round(throughput, 2), **load, "service_cpu_cores": cores, "n_voxels": stats.n_voxels,
            "frames_ingested": stats.frames_ingested, "last_checkpoint": stats.last_checkpoint,
            "config": asdict(config), "machine": machine_info()}


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far, all threads (Linux ``/proc``; else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


def _make_frames(config: ServiceBenchConfig, count: int, show_progress: bool) -> tuple[list[FeatureFrame], np.ndarray]:
    walker = AisleWalker(AisleSpec(length=max(60.0, 1.2 * count + 20.0)), config.feature_dim, config.n_points,
                         seed=config.seed)
    frames = [walker.frame_at(1.0 * i) for i in tqdm(range(count), desc="making frames", disable=not show_progress)]
    return frames, walker.concepts


def _ingest_throughput(client: MemoryClient, frames: list[FeatureFrame], in_flight: int) -> float:
    """Frames per second, back to back with ``in_flight`` unacknowledged; any refusal is fatal here."""
    start = time.perf_counter()
    pending = 0
    for frame in frames:
        if pending == in_flight:
            client.receive_ack()  # raises on a refusal or when the service stops answering
            pending -= 1
        client.send_frame(frame, "bench-throughput")
        pending += 1
    for _ in range(pending):
        client.receive_ack()
    return len(frames) / (time.perf_counter() - start)


def _follow_changes(endpoint: str, stop, results) -> None:
    """A planner-like subscriber of the change feed: counts the announcements it receives."""

    received = 0
    with ChangeFeed(endpoint) as feed:
        while not stop.is_set():
            try:
                feed.recv(timeout=0.1)
            except ServiceTimeoutError:
                continue
            received += 1
    results.put(received)


def _query_client(endpoint: str, concepts: np.ndarray, seed: int, rate_hz: float, stop, results) -> None:
    """One planner-like client process: localize (top 5) at ``rate_hz`` (0 = back to back) until ``stop``."""
    rng = np.random.default_rng(seed)
    latencies, trails, errors = [], [], []
    period, next_at = (1.0 / rate_hz if rate_hz > 0 else 0.0), time.perf_counter()
    with MemoryClient(endpoint, timeout=10) as querier:
        cpu_started = time.process_time()
        while not stop.is_set():
            if period:
                next_at += period
                time.sleep(max(0.0, next_at - time.perf_counter()))
            concept = concepts[rng.integers(FIRST_OBJECT_CONCEPT, concepts.shape[0])]
            query = concept + 0.3 * rng.standard_normal(concept.shape[0]).astype(np.float32) / np.sqrt(
                concept.shape[0])
            start = time.perf_counter()
            try:  # the whole reply, for its freshness fields (MemoryClient.localize returns the result only)
                reply = querier.localize_reply(embedding=query, top_k=5)
            except Exception as error:  # counted, and reported as the benchmark's "errors"
                errors.append(repr(error))
                continue
            latencies.append(1e3 * (time.perf_counter() - start))
            trails.append(reply.applied_seq - reply.seq)
        cpu_s = time.process_time() - cpu_started
    results.put((latencies, trails, errors, cpu_s))


def _take_acks(client: MemoryClient, errors: list[str], wait_s: float) -> int:
    """Acknowledgements arriving within ``wait_s`` (at least one looked for); refusals go to ``errors``."""
    try:
        client.receive_ack(timeout=wait_s)
        return 1
    except ServiceTimeoutError:
        return 0
    except ServiceError as error:
        errors.append(repr(error))
        return 1


def _queries_under_load(client: MemoryClient, endpoints: dict, frames: list[FeatureFrame], concepts: np.ndarray,
                        config: ServiceBenchConfig) -> dict:
    """Query clients are separate processes, like planners would be; this one ingests at the set rate."""
    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    clients = [context.Process(target=_query_client,
                               args=(endpoints["requests"], concepts, i, config.query_rate_hz, stop, results))
               for i in range(config.query_clients)]
    changes = context.Queue()
    follower = context.Process(target=_follow_changes, args=(endpoints["changes"], stop, changes))
    for process in [*clients, follower]:
        process.start()
    time.sleep(3.0)  # let the clients import and connect before the clock starts
    errors: list[str] = []
    period, started, acked = 1.0 / config.load_rate_hz, time.perf_counter(), 0
    schedule = frames[: int(config.load_seconds * config.load_rate_hz)]
    for sent, frame in enumerate(schedule, start=1):  # like a camera: sends on time, acks come when they come
        client.send_frame(frame, "bench-load")
        while time.perf_counter() < started + sent * period:
            acked += _take_acks(client, errors, wait_s=max(0.0, started + sent * period - time.perf_counter()))
    backlog, schedule_s = len(schedule) - acked, time.perf_counter() - started
    while acked < len(schedule):
        if not _take_acks(client, errors, wait_s=config.ack_timeout_s):
            errors.append(f"{len(schedule) - acked} frames never acknowledged within {config.ack_timeout_s} s")
            break
        acked += 1
    elapsed = time.perf_counter() - started
    stop.set()
    latencies, trails, client_cpu_s = [], [], 0.0
    try:
        for _ in clients:
            values, client_trails, client_errors, cpu_s = results.get(timeout=60)
            client_cpu_s += cpu_s
            latencies.extend(values)
            trails.extend(client_trails)
            errors.extend(client_errors)
        change_messages = changes.get(timeout=60)
    finally:
        for process in [*clients, follower]:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    every = np.asarray(latencies)
    return {"query_ms_p50": round(float(np.median(every)), 2),
            "query_ms_p99": round(float(np.percentile(every, 99)), 2), "queries": int(every.size),
            "queries_per_s": round(every.size / elapsed, 1),
            "client_cpu_ms_per_query": round(1e3 * client_cpu_s / max(1, every.size), 3),
            "freshness_frames_p50": float(np.median(trails)), "freshness_frames_p99": float(np.percentile(trails, 99)),
            "load_offered_frames_per_s": round(len(schedule) / schedule_s, 2),
            "load_acked_frames_per_s": round(acked / elapsed, 2), "load_backlog_frames_at_end": backlog,
            "change_messages": change_messages,
            "errors": len(errors),
            "error_examples": errors[:3]}
