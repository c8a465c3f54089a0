"""``mem3d.threads.blas_threads`` limits numpy's BLAS pool inside the context and restores it after."""

import numpy as np  # noqa: F401  (loads the BLAS library whose pool is limited)
from threadpoolctl import threadpool_info

from mem3d.threads import blas_threads


def blas_pool_sizes() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_the_limit_holds_inside_the_context_and_is_undone_after():
    before = blas_pool_sizes()
    assert before, "numpy's BLAS library should be loaded"
    with blas_threads(1):
        assert blas_pool_sizes() == [1] * len(before)
    assert blas_pool_sizes() == before


def test_none_leaves_the_library_alone():
    before = blas_pool_sizes()
    with blas_threads(None):
        assert blas_pool_sizes() == before
