"""Place-centric episodic memory (room for places, keyframes, instances and events)."""
