"""Topics of the published streams: the first frame of every message on a PUB/XPUB socket.

A subscriber subscribes to a prefix; ``OBSERVATION_TOPIC`` is a prefix of ``END_TOPIC`` on purpose,
so that a reader of observations also hears that the stream ended.
"""

OBSERVATION_TOPIC = b"obs"
"""Observations of a robot or simulator stream (``ObservationAnnouncement``)."""
END_TOPIC = b"obs.end"
"""The end of a finite observation stream: this topic followed by one empty frame."""
MAP_UPDATE_TOPIC = b"map.update"
"""The memory service's change feed (``MapUpdateAnnouncement``)."""
