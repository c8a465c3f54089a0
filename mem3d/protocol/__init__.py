"""The ZeroMQ wire protocol: framing (wire) and typed message conversions (messages)."""
