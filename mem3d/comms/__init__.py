"""Transport: ZeroMQ socket set-up, CurveZMQ, the endpoint layout, the observation stream."""
