"""Tests of the digitlab library modules (data, preprocessing, training, registry, ...)."""
