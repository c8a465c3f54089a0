"""Shared fixtures come from plugin modules, one per part of the stack (see tests/fixtures/)."""

pytest_plugins = ["tests.fixtures.core", "tests.fixtures.service", "tests.fixtures.perception", "tests.fixtures.sim"]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say so when a core-only run left out the tests that need edge packages (``-m "not edge"``)."""
    deselected = [item for item in terminalreporter.stats.get("deselected", []) if item.get_closest_marker("edge")]
    if deselected:
        terminalreporter.write_line(
            f"{len(deselected)} core test(s) marked 'edge' were deselected: they need the perception or "
            f"simulator extras (pip install 'mem3d[all]')")
