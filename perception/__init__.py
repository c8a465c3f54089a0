"""Perception: feature encoders and the node that turns observations into feature frames."""
