"""The service's endpoint layout: requests on P, ingest on P + 1, the change feed on P + 2."""

import pytest

from mem3d.comms.endpoints import ServiceEndpoints, changes_endpoint, ingest_endpoint
from mem3d.errors import InvalidInputError


def test_the_layout_around_a_request_endpoint():
    assert ServiceEndpoints.around("tcp://10.0.0.2:7000") == ServiceEndpoints(
        "tcp://10.0.0.2:7000", "tcp://10.0.0.2:7001", "tcp://10.0.0.2:7002")
    assert ingest_endpoint("tcp://127.0.0.1:5555") == "tcp://127.0.0.1:5556"
    assert changes_endpoint("tcp://127.0.0.1:5555") == "tcp://127.0.0.1:5557"


def test_given_endpoints_win_and_wildcards_stay_wildcards():
    assert ServiceEndpoints.around("tcp://127.0.0.1:5555", changes="tcp://127.0.0.1:9000").changes == \
        "tcp://127.0.0.1:9000"
    assert ServiceEndpoints.around("tcp://127.0.0.1:*") == ServiceEndpoints(*["tcp://127.0.0.1:*"] * 3)
    assert ServiceEndpoints.around("ipc:///tmp/a", "ipc:///tmp/b", "ipc:///tmp/c").ingest == "ipc:///tmp/b"


@pytest.mark.parametrize("endpoint", ["ipc:///tmp/memory", "tcp://host:port", "5555"])
def test_an_endpoint_without_a_port_number_cannot_be_shifted(endpoint):
    with pytest.raises(InvalidInputError, match="cannot derive"):
        ingest_endpoint(endpoint)


def test_mem3d_serve_binds_the_layout(tmp_path):
    import argparse

    from mem3d.apps import serve_cli

    parser = argparse.ArgumentParser()
    serve_cli.add_arguments(parser)
    config = serve_cli.service_config(parser.parse_args(["--store", str(tmp_path), "--bind", "tcp://127.0.0.1:6000",
                                                         "--publish-bind", "tcp://127.0.0.1:7000"]))
    assert (config.bind, config.ingest_bind, config.publish_bind) == (
        "tcp://127.0.0.1:6000", "tcp://127.0.0.1:6001", "tcp://127.0.0.1:7000")
