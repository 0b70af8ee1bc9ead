"""County polygons of Fujian and point sampling inside them (pure Python, no Django, no shapely).

The polygons come from worksafe/data/fujian_counties.geojson (RFC 7946 MultiPolygons, WGS84,
simplified outlines; see /work/shared/data/README.md). Coordinates are [lng, lat]; a MultiPolygon's
coordinates are a list of polygons, each a list of rings, the first ring the outer boundary and
the others holes.

金门县 350527 has a polygon but is a nominal unit with no enterprises (callers skip it).
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path

COUNTIES_GEOJSON = Path(__file__).resolve().parents[1] / "data" / "fujian_counties.geojson"

Ring = list[list[float]]
Polygon = list[Ring]
MultiPolygon = list[Polygon]


@functools.cache
def load_counties(path: str | None = None) -> dict[str, dict]:
    """code → {"code", "name", "cp": (lng, lat), "coords": MultiPolygon coordinates}."""
    with open(path or COUNTIES_GEOJSON, encoding="utf-8") as fh:
        data = json.load(fh)
    counties = {}
    for feature in data["features"]:
        props, geometry = feature["properties"], feature["geometry"]
        coords = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            coords = [coords]
        elif geometry["type"] != "MultiPolygon":
            raise ValueError(f"{props.get('code')}: unsupported geometry {geometry['type']}")
        cp = props.get("cp")
        counties[str(props["code"])] = {
            "code": str(props["code"]),
            "name": props.get("name", ""),
            "cp": (float(cp[0]), float(cp[1])) if cp else None,
            "coords": coords,
        }
    return counties


def county_polygons() -> dict[str, MultiPolygon]:
    """code → MultiPolygon coordinates, for every county in the file (cached)."""
    return {code: c["coords"] for code, c in load_counties().items()}


def _in_ring(lng: float, lat: float, ring: Ring) -> bool:
    """Ray casting (even-odd) towards +lng; the ring may or may not repeat its first vertex."""
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > lat) != (yj > lat) and lng < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def point_in_polygon(lng: float, lat: float, polygon: Polygon) -> bool:
    """Inside the outer ring and outside every hole."""
    if not polygon or not _in_ring(lng, lat, polygon[0]):
        return False
    return not any(_in_ring(lng, lat, hole) for hole in polygon[1:])


def point_in_multipolygon(lng: float, lat: float, coords: MultiPolygon) -> bool:
    """True when (lng, lat) is inside any polygon of the MultiPolygon (holes excluded)."""
    return any(point_in_polygon(lng, lat, polygon) for polygon in coords)


def bbox(coords: MultiPolygon) -> tuple[float, float, float, float]:
    """(min_lng, min_lat, max_lng, max_lat) over the outer rings."""
    xs = [pt[0] for polygon in coords for pt in polygon[0]]
    ys = [pt[1] for polygon in coords for pt in polygon[0]]
    return min(xs), min(ys), max(xs), max(ys)


@functools.cache
def _bbox_of(code: str) -> tuple[float, float, float, float]:
    return bbox(load_counties()[code]["coords"])


def point_in_county(lng: float, lat: float, code: str) -> bool:
    return point_in_multipolygon(lng, lat, load_counties()[code]["coords"])


def random_point_in_county(code: str, rng: random.Random, *, attempts: int = 200,
                           ndigits: int | None = 6) -> tuple[float, float]:
    """A uniformly random (lng, lat) inside the county, by rejection sampling in its bbox.

    The point is rounded to `ndigits` before it is tested, so the rounded value is inside too.
    After `attempts` misses, falls back to the county's label point `cp`. Deterministic for a
    given `rng` state.
    """
    county = load_counties()[code]
    coords = county["coords"]
    min_lng, min_lat, max_lng, max_lat = _bbox_of(code)
    for _ in range(attempts):
        lng = rng.uniform(min_lng, max_lng)
        lat = rng.uniform(min_lat, max_lat)
        if ndigits is not None:
            lng, lat = round(lng, ndigits), round(lat, ndigits)
        if point_in_multipolygon(lng, lat, coords):
            return lng, lat
    if county["cp"] is None:
        raise ValueError(f"no point found in county {code} and it has no label point")
    return county["cp"]
