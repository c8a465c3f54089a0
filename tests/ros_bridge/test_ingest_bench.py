"""``mem3d bench ingest`` in a reduced configuration (its speed is measured in full: docs/benchmarks.md)."""

import pytest

from bench.cli import BENCHMARKS
from bench.ingest_bench import IngestBenchConfig, run


@pytest.mark.slow
def test_the_ingest_benchmark_reduced():
    assert BENCHMARKS["ingest"].module == "bench.ingest_bench"
    figures = run(IngestBenchConfig(frames=6, views=3, width=160, height=120, n_samples=2000, format="rosbag1",
                                    service_process=False))
    assert figures["decode_frames"] == figures["ingest_frames"] == 6 and figures["messages"] == []
    assert figures["perception"].startswith("label-minilm") and figures["n_voxels"] > 100
    for key in ("decode_ms_per_frame", "perception_ms_per_frame", "ingest_frames_per_s", "map_update_ms_per_frame",
                "episodic_record_ms_per_frame", "decode_cpu_ms_per_frame", "cpu_bound_frames_per_s", "bag_open_s"):
        assert figures[key] > 0, key
