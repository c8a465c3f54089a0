"""Simulation sources: the embedded open3d simulator (default) and the Habitat adapter."""
