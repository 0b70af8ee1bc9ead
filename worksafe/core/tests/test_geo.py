"""worksafe.core.geo: ray casting with holes, bounding boxes, sampling inside real county polygons."""

import random

import pytest

from worksafe.core import geo

OUTER = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]  # closed ring
HOLE = [[4, 4], [6, 4], [6, 6], [4, 6]]  # open ring (first vertex not repeated)
ISLAND = [[20, 20], [21, 20], [21, 21], [20, 21], [20, 20]]
SQUARE_WITH_HOLE = [[OUTER, HOLE], [ISLAND]]


@pytest.mark.parametrize(("lng", "lat", "inside"), [
    (1, 1, True),
    (9.5, 5, True),
    (5, 5, False),  # in the hole
    (4.5, 5.5, False),  # in the hole, off-centre
    (3.9, 5, True),  # just outside the hole
    (11, 5, False),
    (-0.1, 5, False),
    (5, 10.5, False),
    (20.5, 20.5, True),  # second polygon of the MultiPolygon
    (15, 15, False),
])
def test_point_in_multipolygon_square_with_hole(lng, lat, inside):
    assert geo.point_in_multipolygon(lng, lat, SQUARE_WITH_HOLE) is inside


def test_polygon_without_hole_contains_the_hole_area():
    assert geo.point_in_multipolygon(5, 5, [[OUTER]])


def test_bbox_spans_every_polygon():
    assert geo.bbox(SQUARE_WITH_HOLE) == (0, 0, 21, 21)


def test_84_counties_within_fujian_bounds():
    polygons = geo.county_polygons()
    assert len(polygons) == 84
    assert "350527" in polygons  # 金门县: nominal, but it has a polygon
    for code, coords in polygons.items():
        min_lng, min_lat, max_lng, max_lat = geo.bbox(coords)
        # Enterprise.lng/lat validators allow 115–121 / 23–29.
        assert 115 < min_lng < max_lng < 121, code
        assert 23 < min_lat < max_lat < 29, code


@pytest.mark.parametrize("code", sorted(geo.load_counties()))
def test_county_label_point_inside_its_polygon(code):
    county = geo.load_counties()[code]
    lng, lat = county["cp"]
    assert geo.point_in_multipolygon(lng, lat, county["coords"]), f"{code} {county['name']}: cp {county['cp']}"


def test_random_point_in_county_is_inside_and_deterministic():
    for code in ("350203", "350128", "350505", "350122", "350982"):  # small, islands, coastal
        points = [geo.random_point_in_county(code, random.Random(42)) for _ in range(2)]
        assert points[0] == points[1]
        rng = random.Random(code)
        for _ in range(50):
            lng, lat = geo.random_point_in_county(code, rng)
            assert (lng, lat) == (round(lng, 6), round(lat, 6))
            assert geo.point_in_county(lng, lat, code)


def test_random_point_falls_back_to_label_point():
    class Outside(random.Random):
        def uniform(self, a, b):
            return -1.0  # never inside any county

    assert geo.random_point_in_county("350203", Outside(), attempts=3) == geo.load_counties()["350203"]["cp"]
