"""A real store for the offline tools, built once per session: a short tour of apartment 0 with the
label encoder, 30 frames in a checkpoint and 10 more only in the write-ahead log."""

import pytest

from tests.helpers.sim_store import write_sim_store


@pytest.fixture(scope="session")
def sim_store(tmp_path_factory, label_encoder):
    """(store directory, the simulator source it was toured in). Tests must not change the store."""
    return write_sim_store(tmp_path_factory.mktemp("offline") / "store", label_encoder, views=40,
                           checkpoint_after=30)
