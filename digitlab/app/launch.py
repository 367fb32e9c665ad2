"""`digitlab app`: serve notebooks/04_draw_and_correct.ipynb with Voila on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from digitlab.paths import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "04_draw_and_correct.ipynb"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8866


def voila_command(notebook: Path, host: str, port: int, open_browser: bool,
                  preheat: bool) -> list[str]:
    """The Voila command line for the app (a preheated kernel makes the page appear at once)."""
    command = [sys.executable, "-m", "voila", str(notebook), f"--Voila.ip={host}",
               f"--port={port}", "--Voila.port_retries=0", "--theme=light"]
    if not open_browser:
        command.append("--no-browser")
    if preheat:
        command += ["--preheat_kernel=True", "--pool_size=1", "--VoilaKernelManager.fill_delay=0"]
    # A closed or reloaded page asks Voila to shut its kernel down with a beacon that carries the
    # page's _xsrf cookie, but a page rendered by a preheated kernel never gets that cookie, so
    # the request was refused (403 "'_xsrf' argument missing", voila-dashboards/voila#1458) and
    # every reload left a kernel behind. The beacon is the only POST the page sends, and it
    # names a kernel id that only that page knows.
    command.append("--Voila.tornado_settings=disable_check_xsrf=True")
    # a tab closed without saying goodbye leaves its kernel behind: cull those after 10 minutes
    command += ["--MappingKernelManager.cull_idle_timeout=600",
                "--MappingKernelManager.cull_interval=60"]
    return command


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="digitlab app", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--notebook", type=Path, default=NOTEBOOK)
    browser = parser.add_mutually_exclusive_group()
    browser.add_argument("--browser", dest="browser", action="store_true", default=None,
                         help="open a browser tab (default when run from a terminal)")
    browser.add_argument("--no-browser", dest="browser", action="store_false")
    parser.add_argument("--no-preheat", dest="preheat", action="store_false",
                        help="start the kernel when the page is opened instead of in advance")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Replace this process with Voila (so stopping this pid stops the server)."""
    arguments = build_parser().parse_args(argv)
    if not arguments.notebook.is_file():
        print(f"digitlab app: notebook not found: {arguments.notebook}", file=sys.stderr)
        return 2
    open_browser = sys.stdout.isatty() if arguments.browser is None else arguments.browser
    command = voila_command(arguments.notebook, arguments.host, arguments.port, open_browser,
                           arguments.preheat)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    print(f"digitlab app: http://{arguments.host}:{arguments.port}/  (Ctrl-C stops it)",
          flush=True)
    os.chdir(arguments.notebook.parent)
    os.execve(command[0], command, environment)
    return 1  # not reached: execve only returns by raising
