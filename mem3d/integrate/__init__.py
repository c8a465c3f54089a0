"""Algorithms that write the map: fusion, carving, depth preparation, eviction."""
