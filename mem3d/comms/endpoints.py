"""The memory service's endpoint layout: requests on port P, ingest on P + 1, the change feed on P + 2."""

from __future__ import annotations

from dataclasses import dataclass

from mem3d.errors import InvalidInputError

DEFAULT_REQUESTS = "tcp://127.0.0.1:5555"
"""Where ``mem3d serve`` listens, and where clients look, by default (ingest 5556, change feed 5557)."""
DEFAULT_OBSERVATIONS = "tcp://127.0.0.1:5560"
"""Where ``mem3d sim serve`` publishes observations by default."""
ANY_LOOPBACK_PORT = "tcp://127.0.0.1:*"
"""Bind to any free port on this machine (tests, scripts: read the bound endpoint back)."""
INGEST_OFFSET, CHANGES_OFFSET = 1, 2


@dataclass(frozen=True)
class ServiceEndpoints:
    requests: str
    """ROUTER: ping, stats, localize, save, shutdown."""
    ingest: str
    """ROUTER: feature frames."""
    changes: str
    """XPUB: the ``map_update`` change feed."""

    @classmethod
    def around(cls, requests: str, ingest: str | None = None, changes: str | None = None) -> ServiceEndpoints:
        """The layout around a request endpoint; ``ingest`` and ``changes`` replace the derived ones."""
        return cls(requests, ingest or ingest_endpoint(requests), changes or changes_endpoint(requests))


def ingest_endpoint(requests: str) -> str:
    """The ingest endpoint of the service whose request endpoint is ``requests``."""
    return shifted(requests, INGEST_OFFSET)


def changes_endpoint(requests: str) -> str:
    """The change feed endpoint of the service whose request endpoint is ``requests``."""
    return shifted(requests, CHANGES_OFFSET)


def shifted(endpoint: str, offset: int) -> str:
    """``endpoint`` ``offset`` ports higher; a wildcard port (``tcp://HOST:*``, any free one) stays a wildcard."""
    head, _, port = endpoint.rpartition(":")
    if port == "*":
        return endpoint
    if not (head and port.isdigit()):
        raise InvalidInputError(f"cannot derive an endpoint from {endpoint!r}: give tcp://HOST:PORT, or give "
                                "every endpoint explicitly")
    return f"{head}:{int(port) + offset}"
