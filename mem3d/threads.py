"""How many threads the BLAS library under numpy may use while a long-running component works.

numpy's matrix products call OpenBLAS, which by default starts one thread per core and spins while it
waits for work. On a machine whose cores are shared (the memory service's request loop and ingest
worker, perception, planners, clients), those threads fight each other: measured on the 2-core
development VM under load, a (1024 x 512) matrix-vector product took 7.8 ms with 2 BLAS threads and
0.06 ms with 1, and a (168 x 512) x (512 x 163) product 3.2 ms against 0.6 ms. The map's products are
small (a frame's palette, a chunk of voxels), so one thread loses nothing when the machine is quiet.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from functools import cache


@cache
def _controller():
    """The thread pools loaded when first asked, found once (finding them scans the process's libraries:
    milliseconds)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def blas_threads(limit: int | None) -> AbstractContextManager:
    """A context in which BLAS uses at most ``limit`` threads (None = the library's own number).
    Cheap enough to enter per call of a short computation (a text query)."""
    if limit is None:
        return contextlib.nullcontext()
    return _controller().limit(limits=limit, user_api="blas")
