"""Tests of the drawing & correction app (digitlab.app, Voila)."""
