"""The core source registry: schemes from the core and from installed plugins, no edge code imported
until a source is opened, and clear errors naming the known schemes."""

import subprocess
import sys

import pytest

from mem3d.errors import InvalidInputError
from mem3d.source import OpenedSource, SourceSpec, available_sources, open_source, register_source


def test_the_core_and_the_edge_plugins_register_their_schemes():
    assert available_sources() == {"tcp": "tcp://HOST:PORT", "ipc": "ipc://PATH", "bag": "bag:PATH",
                                   "sim": "sim[:SEED|DIR]", "replay": "replay:DIR"}


def test_an_unknown_scheme_names_the_known_ones():
    with pytest.raises(InvalidInputError, match=r"unknown source 'webcam:0'; known sources: tcp://HOST:PORT, "
                                                r"ipc://PATH, bag:PATH, sim\[:SEED\|DIR\], replay:DIR"):
        open_source("webcam:0")


def test_a_registered_opener_gets_the_parsed_spec():
    seen = []

    class Still:
        def close(self):
            pass

    def opener(spec: SourceSpec) -> OpenedSource:
        seen.append(spec)
        return OpenedSource(Still())

    register_source("still-test", opener, "still-test:NAME")
    try:
        opened = open_source("still-test:kitchen", tour=False)
        assert isinstance(opened.source, Still) and opened.actions is None
        assert seen == [SourceSpec("still-test:kitchen", "still-test", "kitchen", tour=False)]
        assert "still-test:NAME" in available_sources().values()
    finally:
        from mem3d import source

        del source._SOURCES["still-test"]


def test_a_stream_spec_opens_a_remote_source_on_the_whole_endpoint():
    from mem3d.comms.remote_source import RemoteSource

    opened = open_source("tcp://127.0.0.1:5999")
    try:
        assert isinstance(opened.source, RemoteSource) and opened.actions is None
        assert opened.source.endpoint == "tcp://127.0.0.1:5999"
    finally:
        opened.source.close()


def test_listing_the_sources_imports_no_simulator_code():
    code = ("import sys; from mem3d.source import available_sources; available_sources(); "
            "heavy = ('sim.embedded', 'sim.episode', 'sim.tour', 'open3d', 'torch'); "
            "print(','.join(m for m in heavy if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
