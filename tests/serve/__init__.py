"""Tests of the Flask + TCP camera server (digitlab.serve)."""
