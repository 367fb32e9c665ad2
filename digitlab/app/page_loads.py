"""Bring the app up to date when a page starts loading it, before the page gets any state.

A page's widget manager (Voila's, or JupyterLab's on reconnecting) opens the
"jupyter.widget.control" comm and asks for the state of every widget; ipywidgets answers with
the state as it is then. Changing widgets later, when the pad says a browser is ready
(ipycanvas's client_ready), can lose the change: that event comes while the page is still
creating its models, and an update for a model the page has not created yet is dropped. So the
apps are refreshed as the comm opens, and the first state a page receives is already fresh.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable

CONTROL_TARGET = "jupyter.widget.control"
logger = logging.getLogger(__name__)
listeners: list[weakref.WeakMethod] = []
installed = False


def on_page_load(callback: Callable[[], None]) -> None:
    """Call back (a bound method, held weakly) each time a page starts loading the widgets."""
    global installed
    if not installed:
        installed = install()
    listeners.append(weakref.WeakMethod(callback))


def install() -> bool:
    """Put page_loading in front of ipywidgets' handler of the control comm; False outside a
    kernel (no comm manager)."""
    from ipywidgets import Widget
    from ipywidgets.comm import get_comm_manager

    manager = get_comm_manager()
    if manager is None:
        return False
    opened = manager.targets.get(CONTROL_TARGET, Widget.handle_control_comm_opened)

    def control_comm_opened(comm, message) -> None:
        """Refresh the apps, then let ipywidgets answer the page with their state."""
        page_loading()
        opened(comm, message)

    manager.register_target(CONTROL_TARGET, control_comm_opened)
    return True


def page_loading() -> None:
    """Call every live listener (one that fails is logged: the page must still load)."""
    for listener in list(listeners):
        callback = listener()
        if callback is None:  # its app is gone
            listeners.remove(listener)
            continue
        try:
            callback()
        except Exception:
            logger.exception("refreshing the app for a new page failed")
