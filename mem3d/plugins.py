"""Edge packages plug into the core through the ``mem3d.plugins`` entry-point group.

Each entry point names a function that registers what its package offers (encoders, sources) into
the core registries (``mem3d.encoder``, ``mem3d.source``). The core never imports an edge package
by name: it loads whatever is installed, once, the first time a registry is asked.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

GROUP = "mem3d.plugins"
log = logging.getLogger(__name__)
_loaded = False


def load_plugins() -> None:
    """Call every installed ``mem3d.plugins`` entry point once (later calls do nothing).

    A plugin that cannot be imported or fails to register is logged and left out, so one broken
    extra does not hide the others. (Edge packages also register when imported, so a checkout used
    without installing it still finds what it imports.)
    """
    global _loaded
    if _loaded:
        return
    _loaded = True  # before loading: a plugin may ask a registry while it registers
    for entry in entry_points(group=GROUP):
        try:
            entry.load()()
        except Exception as error:  # a broken plugin must not break the others
            log.warning("mem3d plugin %s (%s) not loaded: %s", entry.name, entry.value, error)
