"""Per-row arithmetic on dense float32 (n, D) blocks through scipy's compiled CSR kernels.

Each kernel is one C loop over the rows. Numpy's broadcasting (``rows *= factors[:, None]``) dispatches
its inner loop once per row instead, which doubles the time on the 256 x 512 blocks of integration.
The roundings are numpy's: each product is rounded, then each sum. The kernels are private to scipy;
where a scipy version moves them, a numpy fallback gives the same results (one allocation more).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

try:
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
    from scipy.sparse._sparsetools import csr_scale_rows as _csr_scale_rows
except ImportError:  # pragma: no cover - a scipy that moved them: the public operations
    _csr_matvecs = _csr_scale_rows = None


def scale_rows(rows: np.ndarray, factors: np.ndarray) -> None:
    """``rows[i] *= factors[i]`` in place, for C-contiguous float32 (n, D) ``rows``."""
    _require_contiguous(rows)
    factors = factors.astype(np.float32, copy=False)
    if _csr_scale_rows is None:
        rows *= factors[:, None]
        return
    n, dim = rows.shape
    # The block seen as a CSR matrix of n rows of D entries each (the kernel reads no column index).
    index = np.int32 if n * dim < np.iinfo(np.int32).max else np.int64
    starts = np.arange(0, n * dim + 1, max(dim, 1), dtype=index)[: n + 1]
    _csr_scale_rows(n, dim, starts, starts, rows.reshape(-1), factors)


def add_product(indptr: np.ndarray, columns: np.ndarray, values: np.ndarray, dense: np.ndarray,
                out: np.ndarray) -> None:
    """``out`` += the CSR matrix (int32 ``indptr`` / ``columns``, float32 ``values``) times float32
    ``dense``, each row's entries in order: ``out[i] += values[j] * dense[columns[j]]``. ``indptr`` need
    not start at 0, so a slice of a larger matrix's ``indptr`` picks its rows.

    Into ``out`` directly: the public product allocates its result, and a fresh 2 MB array per chunk
    costs 500 page faults, more than the product itself.
    """
    _require_contiguous(out)
    if _csr_matvecs is None:
        lo, hi = int(indptr[0]), int(indptr[-1])
        matrix = sp.csr_matrix((values[lo:hi], columns[lo:hi], indptr - lo), shape=(out.shape[0], dense.shape[0]))
        out += matrix @ dense
    else:
        _csr_matvecs(out.shape[0], dense.shape[0], dense.shape[1], indptr, columns, values, dense.reshape(-1),
                     out.reshape(-1))


def add_scaled_rows(out: np.ndarray, weights: np.ndarray, rows: np.ndarray) -> None:
    """``out[i] += weights[i] * rows[i]`` for float32 (n, D) ``out`` and ``rows``: one pass, where
    ``rows *= weights[:, None]; out += rows`` takes two."""
    n = out.shape[0]
    diagonal = np.arange(n + 1, dtype=np.int32)
    add_product(diagonal, diagonal[:n], weights.astype(np.float32, copy=False), rows, out)


def _require_contiguous(block: np.ndarray) -> None:
    if not block.flags.c_contiguous:
        raise ValueError("the row kernels need a C-contiguous array")
