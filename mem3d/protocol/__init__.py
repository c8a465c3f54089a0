"""The wire protocol (docs/protocol.md): framing (``wire``), one typed dataclass per request, reply and
announcement (``requests``, ``replies``, ``announcements``, checked by ``codec``), topics, conversions
to and from mem3d types (``messages``) and the migration of stored older-version messages."""
