"""Allow `python -m digitlab ...`."""

from digitlab.cli import main

raise SystemExit(main())
