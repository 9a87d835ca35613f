"""A fake Glance image API on loopback HTTP, for fast, deterministic tests.

It speaks the v2 wire protocol that python-glanceclient uses, keeps
images in folder-backed stores, decides the upload store the way the
patched Glance does (or, with ``base_image_ref_support=False``, the way
Glance 33.0.0 does), records every request and can inject faults. Where
it simplifies the real server, the code says so.
"""
