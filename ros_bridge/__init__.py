"""ROS 2 bridge: message conversion, the bridge node and bag ingestion (runs in its own venv)."""
