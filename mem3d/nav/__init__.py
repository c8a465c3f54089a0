"""Navigation layer over the map (room for the 2D traversability grid)."""
