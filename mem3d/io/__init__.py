"""Storage: checkpoint stores, crash-safe file helpers, the stored schema version."""
