"""API routers of this app: (prefix under /api/v1/, router) pairs mounted by worksafe/api.py."""

ROUTERS: list = []
