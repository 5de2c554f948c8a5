"""The browsing pages beyond the entity, class, search and note pages of ``service.pages``.

Each module serves one kind of page: the query UI, the ontology documentation, the VoID
description, the views built from the graph and the indexes. ``neighbourhood`` draws the
picture on entity pages.
"""
