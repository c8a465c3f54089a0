"""Algorithms that read the map: the feature index and localization."""
