"""Voxel data only: keys, the block hash, the struct-of-arrays store, the grid and the feature codec."""
