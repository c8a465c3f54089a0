"""Shared fixtures come from plugin modules, one per part of the stack (see tests/fixtures/)."""

pytest_plugins = ["tests.fixtures.core", "tests.fixtures.service", "tests.fixtures.perception", "tests.fixtures.sim"]
