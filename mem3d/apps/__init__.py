"""Command-line entry points (thin wrappers; edge packages are imported lazily)."""
