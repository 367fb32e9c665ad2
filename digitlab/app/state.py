"""AppState: what the app is doing, as traits that the views observe (the one source of truth)."""

from __future__ import annotations

from collections.abc import Callable

from traitlets import Dict, Enum, HasTraits, Tuple, Unicode

from digitlab.jobs import FINISHED_STATES

MODES = ("recognise", "read", "collect", "review", "train")
MESSAGE_KINDS = ("info", "ok", "warn", "error")


class AppState(HasTraits):
    """The mode, the sample set, the model in use, the training job and the message line."""

    mode = Enum(MODES, default_value="recognise",
                help="recognise a digit, read a number, collect a custom set, review waiting "
                    "samples or train")
    set_name = Unicode(None, allow_none=True,
                       help="the sample set that saves and reviews use: the selected model's set "
                             "(None is the default pool, digits'), or the one being collected")
    model = Unicode(None, allow_none=True,
                    help='the spec of the model in use ("digits" follows its current version, '
                         '"digits@2" pins one); None while no model is loaded')
    job = Dict(default_value=None, allow_none=True,
               help="the latest status of the training job this page follows; None before any")
    message = Tuple(Enum(MESSAGE_KINDS), Unicode(), default_value=("info", ""),
                    help="the message line as (kind, text)")

    def watch(self, handler: Callable[[dict], None], name: str) -> None:
        """Call a view's handler with a trait's value now and again after every change."""
        self.observe(handler, names=name)
        handler({"name": name, "old": None, "new": getattr(self, name), "owner": self,
                 "type": "change"})

    def notify(self, kind: str, text: str) -> None:
        """Show a message line: kind is info, ok, warn or error."""
        self.message = (kind, text)

    @property
    def job_running(self) -> bool:
        """True while the followed job has not finished."""
        return self.job is not None and self.job.get("state") not in FINISHED_STATES
