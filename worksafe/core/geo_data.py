"""Shipped boundary files (RFC 7946 GeoJSON, WGS84) read once per process."""

from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"


@cache
def counties_geojson() -> bytes:
    return (DATA / "fujian_counties.geojson").read_bytes()
