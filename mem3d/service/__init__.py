"""The memory service: the loop (``server``), its request handlers, ingest batching, checkpoint policy,
change feed, durable memory with its write-ahead log, and the factory that builds it from settings."""
