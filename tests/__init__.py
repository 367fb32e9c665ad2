"""The test suite: one folder per part (digitlab library, app, serve); shared fixtures in conftest.py."""
