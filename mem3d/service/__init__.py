"""The memory service: durable memory, the ZeroMQ server, authentication, change feed, CLI."""
