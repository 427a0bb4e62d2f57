"""Tests for gradia_desktop.core (a package so its module names cannot clash with other test folders)."""
