# Release notes of the glance-store-affinity tooling itself. The notes of
# each series live inside the upstream tree that the series patches.

extensions = ['reno.sphinxext']
project = 'Glance store affinity'
copyright = '2026, Store Affinity Maintainers'
master_doc = 'index'
exclude_patterns = []
html_theme = 'alabaster'
html_static_path = []
