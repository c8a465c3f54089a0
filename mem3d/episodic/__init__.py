"""Place-centric episodic memory: places, keyframes, object instances and their events, time queries.

``EpisodicMemory.record(frame, update)`` consumes each applied frame and its ``MapUpdate``; it never
rescans the map. The model is described in docs/episodic.md.
"""
