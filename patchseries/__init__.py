"""Tooling for the Glance store affinity patch series.

``patchseries`` turns a pinned upstream sdist into a git tree, applies and
exports the series kept in ``nova_patch``, ``cinder_patch`` and
``glance_patch``, and verifies each series with upstream's own tests.
"""
