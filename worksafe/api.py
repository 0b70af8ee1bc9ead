"""/api/v1: one NinjaAPI; each app contributes routers (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs)."""

from importlib import import_module

from worksafe.core.api import build_api
from worksafe.core.api_routes import router as jurisdiction_router
from worksafe.enterprises.api import enterprise_router, licence_router
from worksafe.majorhazards import api as mh

api = build_api()
api.add_router("/jurisdictions/", jurisdiction_router)
api.add_router("/enterprises/enterprises/", enterprise_router)
api.add_router("/enterprises/licences/", licence_router)
api.add_router("/majorhazards/majorhazards/", mh.hazard_router)
api.add_router("/majorhazards/substances/", mh.substance_router)
api.add_router("/majorhazards/custodians/", mh.custodian_router)
api.add_router("/majorhazards/custodianchecks/", mh.check_router)
api.add_router("/majorhazards/changes/", mh.change_router)

for _app in ("risks", "hazards", "checks", "monitoring"):
    for _prefix, _router in import_module(f"worksafe.{_app}.api").ROUTERS:
        api.add_router(_prefix, _router)
