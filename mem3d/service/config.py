"""Settings of one memory service (``mem3d serve`` builds them from its command line)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mem3d.comms.auth import CurveServerConfig
from mem3d.comms.endpoints import DEFAULT_REQUESTS, ServiceEndpoints
from mem3d.episodic.config import EpisodicConfig
from mem3d.errors import InvalidInputError
from mem3d.nav.traversability import TraversabilityConfig
from mem3d.service.text_cache import DEFAULT_SIZE as TEXT_CACHE_SIZE
from mem3d.voxel_map import MapConfig


@dataclass(frozen=True)
class ServiceConfig:
    store: str
    """Directory of the memory (checkpoints and write-ahead log); created if missing."""
    bind: str = DEFAULT_REQUESTS
    """Request endpoint (ROUTER)."""
    ingest_bind: str | None = None
    """Ingest endpoint (ROUTER); None = the request port + 1 (``mem3d.comms.endpoints``)."""
    publish_bind: str | None = None
    """Change feed endpoint (XPUB); None = the request port + 2."""
    map: MapConfig | None = None
    """For a new store; None = the encoder's dimension and model with default settings."""
    encoder: str | None = None
    """Registry name of the text encoder (``mem3d.encoder``) that ``create_service`` builds for text
    queries; None = embeddings only."""
    checkpoint_every_frames: int = 500
    checkpoint_every_s: float = 300.0
    curve: CurveServerConfig | None = None
    encoder_options: dict = field(default_factory=dict)
    """Options of ``encoder`` (its config dataclass's fields)."""
    episodic: EpisodicConfig = field(default_factory=EpisodicConfig)
    """For a new store's episodic memory (a stored one keeps its own: ``mem3d.io.episodic_store``)."""
    text_cache_size: int = TEXT_CACHE_SIZE
    """Query texts whose embeddings ``create_service`` keeps (``mem3d.service.text_cache``); 0 = none."""
    traversability: TraversabilityConfig = field(default_factory=TraversabilityConfig)
    """The 2D grid served as ``occupancy`` (floor height, obstacle band, robot radius)."""
    blas_threads: int | None = 1
    """BLAS threads while serving (``mem3d.threads``): 1 keeps the request loop and the ingest worker
    from fighting over shared cores; None leaves the library's default (one per core)."""

    def __post_init__(self) -> None:
        if isinstance(self.text_cache_size, bool) or not isinstance(self.text_cache_size, int) \
                or self.text_cache_size < 0:
            raise InvalidInputError(f"text_cache_size must be an integer >= 0, got {self.text_cache_size!r}")
        if self.blas_threads is not None and self.blas_threads < 1:
            raise InvalidInputError(f"blas_threads must be >= 1 or None, got {self.blas_threads}")

    @property
    def endpoints(self) -> ServiceEndpoints:
        """The endpoints to bind."""
        return ServiceEndpoints.around(self.bind, self.ingest_bind, self.publish_bind)
