"""Tests against a real Glance (the verify environment of glance)."""
