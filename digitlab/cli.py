"""The `digitlab` command: one entry point that dispatches to each job's own module."""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module with a main(argv) function, one-line help)
COMMANDS = {
    "data": ("digitlab.data", "fetch and verify MNIST into data/mnist.npz"),
    "train": ("digitlab.train", "train an architecture and register the model"),
    "train-reader": ("digitlab.reader_train", "train the line reader (CRNN + CTC) and register it"),
    "reader-ensemble": ("digitlab.reader_ensemble",
                        "join 2-3 line readers into one (the text their members agree on)"),
    "train-rejector": ("digitlab.rejector_train",
                       'train the "not a digit" rejector on drawn marks and register it'),
    "ensemble": ("digitlab.ensemble", "average 2-3 digit models into one served model"),
    "evaluate": ("digitlab.card", "evaluate a model on MNIST test (or --on your own set)"),
    "export": ("digitlab.export", "write a model as ONNX (or TFLite / Keras), checked and carded"),
    "retrain": ("digitlab.retrain", "fine-tune on stored samples (what the app's jobs run)"),
    "app": ("digitlab.app.launch", "start the Voila drawing & correction app"),
    "serve": ("digitlab.serve.__main__", "start the HTTP + TCP camera server"),
    "camera": ("digitlab.serve.camera", "stream frames from a camera or files to the server"),
    "sweep": ("digitlab.sweep", "train many configurations on Ray Tune, register the best"),
    "cluster": ("digitlab.cluster", "start/stop serve replicas behind nginx on one PostgreSQL store"),
}


def print_usage(stream=sys.stdout) -> None:
    """Print the list of subcommands."""
    print("usage: digitlab <command> [options]\n\ncommands:", file=stream)
    for name, (_, help_text) in COMMANDS.items():
        print(f"  {name:<13} {help_text}", file=stream)


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand named in argv."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print_usage()
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"digitlab: unknown command {command!r}\n", file=sys.stderr)
        print_usage(sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest) or 0)
