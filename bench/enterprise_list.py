#!/usr/bin/env python
"""Province-scale benchmark of the enterprise list (page and API) against raw SQL, on PostgreSQL.

    .venv/bin/python bench/enterprise_list.py [--enterprises 100000] [--requests 200]
                                              [--database-url URL] [--out FILE]

What it does (docs/performance.md explains the method and the figures):

1. (Re)creates the benchmark database (default postgresql://postgres@127.0.0.1:5432/worksafe_bench;
   a database whose name does not contain "bench" is only dropped with --force-drop), migrates it
   with call_command("migrate") (jurisdictions and GB/T 4754 industries come from the migrations).
2. Builds a province-scale registry with the demo generator (worksafe/enterprises/demo.py): N
   enterprises over every Fujian county (the demo's county weights, key-class and industry mix,
   names, valid unique credit codes, coordinates inside the county), streamed in with COPY; then
   VACUUM ANALYZE. One city regulator: 泉州市应急管理局 (3505), role regulator_staff, no OTP.
3. Measures, interleaved round-robin after a warm-up, with Django's test Client (force_login):
     page p1            /enterprises/enterprises/?jurisdiction=3505&industry=26
     page p5            the same, &page=5 (a deep page)
     page p1, no filter /enterprises/enterprises/ (the regulator's default list: scope only)
     API p1             /api/v1/enterprises/enterprises/?jurisdiction=3505&industry=26&page=1&page_size=25
     floor: /healthz    the same client, middleware, session load and save, no view work
   and, without any request:
     ORM p1             the view's queryset (visible_to + select_related + the same filters),
                        Paginator page 1, rows fetched: the same two queries through the ORM
     raw p1/p5, raw p1, no filter
                        the same data straight through connection.cursor(): the COUNT query plus
                        the page query (same WHERE, same columns incl. the county and industry
                        joins the page's select_related adds, ORDER BY county_id, name, id,
                        LIMIT 25 OFFSET 0/100), fetchall()
   It reports p50/p95/mean, the ratios page/raw and API/raw, SQL queries per request with the
   time spent in each, a split of a page request (SQL / template / rest), and EXPLAIN (ANALYZE,
   BUFFERS) of the ORM's own count and list queries. --profile N adds a cProfile of N page requests.
   Use --city/--industry for another regulator or division.

Reuse an already built database with --reuse (skips drop/create/build when it holds N enterprises).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import io
import math
import os
import platform
import pstats
import random
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/worksafe_bench"
PAGE_SIZE = 25


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--enterprises", type=int, default=100_000, help="registry size (default 100000)")
    p.add_argument("--requests", type=int, default=200, help="timed requests per measurement (default 200)")
    p.add_argument("--warmup", type=int, default=20, help="untimed requests per measurement first (default 20)")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--city", default="3505", help="the regulator's city code (default 3505 泉州市)")
    p.add_argument("--industry", default="26", help="GB/T 4754 division to filter on (default 26 化学原料和化学制品制造业)")
    p.add_argument("--deep-page", type=int, default=5, help="the deep page to measure (default 5)")
    p.add_argument("--seed", type=int, default=2017)
    p.add_argument("--reuse", action="store_true", help="keep an existing database that already holds the registry")
    p.add_argument("--force-drop", action="store_true", help="allow dropping a database whose name lacks 'bench'")
    p.add_argument("--profile", type=int, default=0, metavar="N", help="also cProfile N page-1 requests")
    p.add_argument("--out", help="also write the Markdown report to this file")
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- database ----------------------------------------------------------------------------------


def recreate_database(url: str, force: bool, keep: bool = False) -> None:
    """Drop and create the database; with keep=True only create it when it does not exist."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit("the database URL has no database name")
    if "bench" not in name and not force and not keep:
        raise SystemExit(f"refusing to drop database {name!r} (name lacks 'bench'); pass --force-drop")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and keep:
            return
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["WORKSAFE_DEV"] = "True"
    os.environ["DEBUG"] = "False"  # a benchmark with DEBUG on would measure the debug machinery
    os.environ["DJANGO_SETTINGS_MODULE"] = "worksafe.settings"
    os.environ["DATABASE_URL"] = url
    os.environ["OTP_REQUIRED_ROLES"] = ""
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    hosts = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
    os.environ["ALLOWED_HOSTS"] = ",".join(dict.fromkeys([*hosts, "testserver"]))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    # As in conftest.py: no second factor, and static URLs without a collectstatic manifest.
    override_settings(
        OTP_REQUIRED_ROLES=[],
        ALLOWED_HOSTS=list(dict.fromkeys([*settings.ALLOWED_HOSTS, "testserver"])),
        STORAGES={**settings.STORAGES,
                  "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
        SECURE_SSL_REDIRECT=False,
    ).enable()


# --- the registry ------------------------------------------------------------------------------


def build_registry(total: int, seed: int) -> dict:
    """N enterprises over every county with the demo's generator, streamed in with COPY."""
    from django.db import connection
    from django.utils import timezone

    from worksafe.enterprises import demo
    from worksafe.enterprises.models import Enterprise, Industry

    rng = random.Random(seed)
    now = timezone.now()
    places = demo._Places()
    divisions = set(Industry.objects.filter(level="division").values_list("code", flat=True))
    counts = demo._county_counts(places, total)
    fields = [f for f in Enterprise._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    used_names: set[str] = set()
    taken_codes: set[str] = set()
    done = 0
    started = time.perf_counter()
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {Enterprise._meta.db_table} ({columns}) FROM STDIN") as copy:
        for county, count in counts.items():
            for _ in range(count):
                ent = demo._plan_enterprise(rng, places, county, divisions, used_names, taken_codes, now)
                ent.updated_at = ent.created_at
                copy.write_row([f.get_db_prep_save(getattr(ent, f.attname), connection) for f in fields])
            done += count
            if done and (done // 20000) != ((done - count) // 20000):
                log(f"  {done:,} / {total:,} enterprises ({time.perf_counter() - started:.0f} s)")
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {Enterprise._meta.db_table}")
        cursor.execute("ANALYZE")
    return {"counties": len(counts), "seconds": time.perf_counter() - started}


def make_regulator(city: str):
    from worksafe.core import roles as R
    from worksafe.core.choices import OrganisationKind
    from worksafe.core.models import Jurisdiction, User
    from worksafe.core.testing import make_org, make_user

    username = f"bench_{city}"
    user = User.objects.filter(username=username).first()
    if user is None:
        name = Jurisdiction.objects.get(code=city).name
        org = make_org(f"{name}应急管理局", OrganisationKind.EMERGENCY, city)
        user = make_user(username, org, [R.REGULATOR_STAFF], full_name="基准测试")
    return user


# --- measuring ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


# The jurisdiction condition of the raw queries: the same code range the scoping rule writes
# (core.scoping.prefix_q), which the (county, name, id) index serves in list order.
RAW_PREFIX = "e.county_id >= %s AND e.county_id < %s"


def _range(city: str) -> list[str]:
    return [city, str(int(city) + 1).zfill(len(city))]


def raw_sql(offset: int, industry: bool = True) -> tuple[str, str]:
    """The hand-written count and page queries: same WHERE, same columns, same order as the page."""
    where = RAW_PREFIX + (" AND e.industry_id = %s" if industry else "")
    count = f"SELECT COUNT(*) FROM enterprises_enterprise e WHERE {where}"
    page = ("SELECT e.*, c.*, i.* FROM enterprises_enterprise e "
            "JOIN core_jurisdiction c ON c.code = e.county_id "
            "JOIN enterprises_industry i ON i.code = e.industry_id "
            f"WHERE {where} ORDER BY e.county_id, e.name, e.id LIMIT {PAGE_SIZE} OFFSET {offset}")
    return count, page


def make_raw(city: str, industry: str | None, page: int):
    from django.db import connection

    count_sql, page_sql = raw_sql((page - 1) * PAGE_SIZE, industry is not None)
    params = [*_range(city), industry] if industry is not None else _range(city)

    def run():
        with connection.cursor() as cur:
            cur.execute(count_sql, params)
            n = cur.fetchone()[0]
            cur.execute(page_sql, params)
            rows = cur.fetchall()
        if not n or len(rows) != min(PAGE_SIZE, n - (page - 1) * PAGE_SIZE):
            raise RuntimeError(f"raw SQL returned {n} / {len(rows)} rows")

    return run


def make_orm(user, city: str, industry: str, page: int):
    """The same two queries through the ORM only (no request, FilterSet or template): the view's
    queryset (visible_to + select_related) with the filters applied, paginated, rows fetched."""
    from django.core.paginator import Paginator

    from worksafe.enterprises.models import Enterprise

    def run():
        qs = (Enterprise.objects.visible_to(user).select_related("county", "industry")
              .filter(county__code__startswith=city, industry_id=industry))
        rows = list(Paginator(qs, PAGE_SIZE).page(page).object_list)
        if not rows:
            raise RuntimeError("the ORM returned no rows")

    return run


def make_get(client, url: str, expect: bytes | None = None):
    def run():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} → {response.status_code} {response.get('Location', '')}")
        if expect is not None and expect not in response.content:
            raise RuntimeError(f"GET {url}: {expect!r} not in the response")

    return run


def capture(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return ctx.captured_queries


def timed_queries(fn) -> list[tuple[str, float]]:
    """(sql, ms) of every query fn runs, timed around cursor.execute with perf_counter (the debug
    cursor's own timings are rounded to whole milliseconds)."""
    from django.db import connection

    seen: list[tuple[str, float]] = []

    def wrapper(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seen.append((sql, (time.perf_counter() - start) * 1000))

    original_commit = connection._commit

    def commit():
        start = time.perf_counter()
        try:
            return original_commit()
        finally:
            seen.append(("COMMIT", (time.perf_counter() - start) * 1000))

    connection._commit = commit
    try:
        with connection.execute_wrapper(wrapper):
            fn()
    finally:
        del connection._commit  # back to the class's method
    return seen


def breakdown(fn, runs: int = 30) -> dict[str, float] | None:
    """Median split of one page request: SQL, template rendering (without the SQL the lazy page
    query runs while rendering) and the rest (test client, middleware, session, auth, view Python).
    Instruments worksafe.core.generic.render in-process; None if the view no longer uses it."""
    from django.db import connection

    from worksafe.core import generic

    original = getattr(generic, "render", None)
    if original is None:
        return None
    state = {"in_render": False}
    parts: dict[str, list[float]] = {"total": [], "sql": [], "render": []}

    def render(*args, **kwargs):
        start = time.perf_counter()
        state["in_render"] = True
        try:
            return original(*args, **kwargs)
        finally:
            state["in_render"] = False
            state["render"] += (time.perf_counter() - start) * 1000

    def wrapper(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            ms = (time.perf_counter() - start) * 1000
            state["sql"] += ms
            if state["in_render"]:
                state["sql_in_render"] += ms

    generic.render = render
    try:
        with connection.execute_wrapper(wrapper):
            for _ in range(runs):
                state.update(sql=0.0, sql_in_render=0.0, render=0.0)
                start = time.perf_counter()
                fn()
                parts["total"].append((time.perf_counter() - start) * 1000)
                parts["sql"].append(state["sql"])
                parts["render"].append(state["render"] - state["sql_in_render"])
    finally:
        generic.render = original
    result = {k: statistics.median(v) for k, v in parts.items()}
    result["rest"] = result["total"] - result["sql"] - result["render"]
    return result


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(r[0] for r in cur.fetchall())


def orm_list_queries(queries) -> tuple[str | None, str | None]:
    """The ORM's count and page queries on the enterprise table among the captured ones."""
    count = page = None
    for q in queries:
        sql = q["sql"]
        if 'FROM "enterprises_enterprise"' not in sql:
            continue
        if "COUNT(" in sql.upper():
            count = sql
        elif "LIMIT" in sql:
            page = sql
    return count, page


def plan_summary(plan: str) -> str:
    nodes = [m.group(0).strip() for m in re.finditer(
        r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan|Parallel Seq Scan)( Backward)?"
        r"( using| on) \S+( on \S+)?", plan)]
    exec_ms = re.search(r"Execution Time: ([\d.]+) ms", plan)
    removed = [int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", plan)]
    return ("; ".join(dict.fromkeys(nodes)) + (f"; rows removed by filter (max) {max(removed):,}" if removed else "")
            + (f"; execution {exec_ms.group(1)} ms" if exec_ms else ""))


def git_revision() -> str:
    import subprocess

    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + (" with uncommitted changes" if dirty else "")


def main(argv=None) -> int:
    args = parse_args(argv)
    url = args.database_url
    t0 = time.perf_counter()

    if not args.reuse:
        log(f"(re)creating {urlsplit(url).path.lstrip('/')}")
    recreate_database(url, args.force_drop, keep=args.reuse)
    setup_django(url)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from worksafe.enterprises.models import Enterprise, Industry

    call_command("migrate", verbosity=0, interactive=False)
    existing = Enterprise.objects.count()
    build = {"seconds": 0.0}
    if existing and not (args.reuse and existing == args.enterprises):
        raise SystemExit(f"the database already holds {existing} enterprises: drop it or pass --reuse "
                         f"with --enterprises {existing}")
    if not existing:
        log(f"building {args.enterprises:,} enterprises")
        build = build_registry(args.enterprises, args.seed)
        log(f"built in {build['seconds']:.0f} s")
    user = make_regulator(args.city)

    city, industry = args.city, args.industry
    total = Enterprise.objects.count()
    in_city = Enterprise.objects.filter(county__code__startswith=city).count()
    matching = Enterprise.objects.filter(county__code__startswith=city, industry_id=industry).count()
    pages = max(1, math.ceil(matching / PAGE_SIZE))
    deep = min(args.deep_page, pages)
    industry_name = Industry.objects.get(code=industry).name
    with connection.cursor() as cur:
        cur.execute("SELECT industry_id, COUNT(*) FROM enterprises_enterprise WHERE county_id LIKE %s "
                    "GROUP BY industry_id ORDER BY 2 DESC LIMIT 6", [city + "%"])
        top = cur.fetchall()
        cur.execute("SHOW server_version")
        pg_version = cur.fetchone()[0]
        cur.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
        collation = cur.fetchone()[0]
        cur.execute("SELECT pg_size_pretty(pg_total_relation_size('enterprises_enterprise'))")
        table_size = cur.fetchone()[0]

    client = Client()
    client.force_login(user)
    qs = f"jurisdiction={city}&industry={industry}"
    list_url = f"/enterprises/enterprises/?{qs}"
    measures = {
        "page p1": make_get(client, list_url, expect=b'data-testid="count"'),
        f"page p{deep}": make_get(client, f"{list_url}&page={deep}", expect=b'data-testid="count"'),
        "page p1, no filter": make_get(client, "/enterprises/enterprises/", expect=b'data-testid="count"'),
        "API p1": make_get(client, f"/api/v1/enterprises/enterprises/?{qs}&page=1&page_size={PAGE_SIZE}"),
        "floor: /healthz": make_get(client, "/healthz"),
        "ORM p1": make_orm(user, city, industry, 1),
        "raw p1": make_raw(city, industry, 1),
        f"raw p{deep}": make_raw(city, industry, deep),
        "raw p1, no filter": make_raw(city, None, 1),
    }
    baseline = {"page p1": "raw p1", f"page p{deep}": f"raw p{deep}", "page p1, no filter": "raw p1, no filter",
                "API p1": "raw p1", "ORM p1": "raw p1"}
    requests_ = [name for name in measures if name.startswith(("page", "API"))]

    # Queries per request, the SQL time inside a request, and the ORM's own SQL (for EXPLAIN).
    measures["ORM p1"]()  # fill the user's permission cache: the ORM row measures the two queries only
    queries = {name: capture(measures[name]) for name in measures}  # interpolated SQL, for EXPLAIN
    per_query: dict[str, list[list[float]]] = {name: [] for name in queries}
    query_text: dict[str, list[str]] = {}
    for _ in range(20):
        for name in queries:
            run = timed_queries(measures[name])
            query_text.setdefault(name, [sql for sql, _ms in run])
            per_query[name].append([ms for _sql, ms in run])
    sql_ms = {name: [sum(run) for run in runs] for name, runs in per_query.items()}
    query_ms = {name: [statistics.median(col) for col in zip(*runs, strict=False)] for name, runs in per_query.items()}

    log(f"warm-up: {args.warmup} × {len(measures)}")
    for _ in range(args.warmup):
        for fn in measures.values():
            fn()
    log(f"measuring: {args.requests} × {len(measures)}, interleaved")
    timings: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(args.requests):
        for name, fn in measures.items():
            start = time.perf_counter()
            fn()
            timings[name].append((time.perf_counter() - start) * 1000)

    split = breakdown(measures["page p1"])
    profile_text = ""
    if args.profile:
        log(f"profiling {args.profile} page requests")
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.profile):
            measures["page p1"]()
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(35)
        profile_text = buf.getvalue()

    count_sql, page_sql = orm_list_queries(queries["page p1"])
    plans = {"ORM count query (page p1)": count_sql, "ORM list query (page p1)": page_sql,
             f"ORM list query (page p{deep})": orm_list_queries(queries[f"page p{deep}"])[1],
             "ORM list query (page p1, no filter)": orm_list_queries(queries["page p1, no filter"])[1]}
    explained = {title: (sql, explain(sql)) for title, sql in plans.items() if sql}

    # --- report --------------------------------------------------------------------------------
    stats = {name: (pct(v, 50), pct(v, 95), statistics.fmean(v)) for name, v in timings.items()}
    out = io.StringIO()
    w = out.write
    w("# Enterprise list benchmark\n\n")
    w(f"- Date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}; "
      f"host: {platform.node()}, {os.cpu_count()} CPUs, load average "
      f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} at the end\n")
    w(f"- Code: git {git_revision()}\n")
    w(f"- Python {platform.python_version()}, Django {__import__('django').get_version()}, "
      f"PostgreSQL {pg_version} (collation {collation}), DEBUG {settings.DEBUG}, CONN_MAX_AGE "
      f"{connection.settings_dict['CONN_MAX_AGE']}\n")
    w(f"- Registry: {total:,} enterprises over every Fujian county but the nominal 金门县 "
      f"(table + indexes {table_size}); built in {build['seconds']:.0f} s"
      f"{' (reused)' if not build['seconds'] else ''}\n")
    w(f"- City {city}: {in_city:,} enterprises; industry {industry} {industry_name}: {matching:,} "
      f"({matching / max(in_city, 1):.1%} of the city) → {pages} pages of {PAGE_SIZE}; deep page = {deep}\n")
    w("- Largest divisions in the city: " + ", ".join(f"{code} ({n:,})" for code, n in top) + "\n")
    w(f"- {args.requests} timed runs per row after {args.warmup} warm-up runs, interleaved round-robin; "
      "times are wall-clock per request through Django's test Client (full middleware, session, view, "
      "template/serialisation; no network, no WSGI server)\n\n")
    w("| Measurement | p50 ms | p95 ms | mean ms | SQL queries | SQL ms (p50) | p50 / raw | p95 / raw |\n")
    w("|---|---:|---:|---:|---:|---:|---:|---:|\n")
    for name in measures:
        p50, p95, mean = stats[name]
        nq = str(sum(1 for sql in query_text[name] if sql != "COMMIT"))
        sq = f"{statistics.median(sql_ms[name]):.1f}"
        if name in baseline:
            b50, b95, _m = stats[baseline[name]]
            r50, r95 = f"{p50 / b50:.1f}×", f"{p95 / b95:.1f}×"
        else:
            r50, r95 = "–", "–"
        w(f"| {name} | {p50:.1f} | {p95:.1f} | {mean:.1f} | {nq} | {sq} | {r50} | {r95} |\n")
    w("\nraw = COUNT(*) + the page query (same WHERE `county_id >= '" + city + "' AND county_id < '" + _range(city)[1] + "' AND industry_id = '"
      + industry + "'`, same columns incl. the county/industry joins, `ORDER BY county_id, name, id`, "
      "LIMIT 25 OFFSET (page-1)×25), executed with connection.cursor() and fetchall(); the no-filter "
      "rows are the regulator's default list (scope only: the same code range). Raw states the "
      "prefix once, as the ORM does (a jurisdiction filter equal to the user's own city adds no condition). The API row is "
      "compared with raw p1 although the API does not join county/industry (raw does slightly more). "
      "ORM p1 = the view's queryset with the same filters, Paginator page 1, rows fetched: the same two "
      "queries through the ORM, without request, FilterSet or template. SQL queries / SQL ms: queries "
      "per request and the median time spent executing them (perf_counter around each "
      "cursor.execute and the COMMIT, 20 separate runs; the COMMIT closing the session save is timed but "
      "not counted as a query).\n\n")

    w("## Goal (p95 < 150 ms and within 3× of raw SQL)\n\n")
    for name in requests_:
        base = baseline[name]
        p50, p95, _m = stats[name]
        ratio = p95 / stats[base][1]
        ratio50 = p50 / stats[base][0]
        ok = p95 < 150 and ratio50 <= 3 and ratio <= 3
        w(f"- {name}: p95 {p95:.1f} ms ({'<' if p95 < 150 else '≥'} 150), {ratio50:.1f}× raw at p50, "
          f"{ratio:.1f}× at p95 → **{'met' if ok else 'missed'}**\n")

    if split:
        w("\n## Where a page p1 request goes (median of 30, ms)\n\n")
        w(f"- total {split['total']:.1f} = SQL {split['sql']:.1f} (all {len(query_text['page p1']) - 1} queries) "
          f"+ template rendering {split['render']:.1f} (without the SQL run from inside it) + the rest "
          f"{split['rest']:.1f} (test client, middleware, session, auth, FilterSet/Paginator/view Python)\n")
        w(f"- for scale, `floor: /healthz` (same client, middleware, session load and save; no view work) "
          f"p50 {stats['floor: /healthz'][0]:.1f} ms\n")
    for name in ("page p1", "API p1"):
        w(f"\n## SQL per request ({name}), median ms per query\n\n| # | ms | query |\n|---:|---:|---|\n")
        for i, (sql, ms) in enumerate(zip(query_text[name], query_ms[name], strict=False), start=1):
            text = re.sub(r"_django_curs_\d+_sync_\d+", "_django_curs_…", sql).replace("|", "\\|")
            w(f"| {i} | {ms:.2f} | `{text[:110]}{'…' if len(text) > 110 else ''}` |\n")

    w("\n## EXPLAIN (ANALYZE, BUFFERS)\n")
    for title, (sql, plan) in explained.items():
        w(f"\n### {title}\n\nSummary: {plan_summary(plan)}\n\n```sql\n{sql}\n```\n\n```\n{plan}\n```\n")
    if profile_text:
        w(f"\n## cProfile: {args.profile} page p1 requests (cumulative)\n\n```\n{profile_text.strip()}\n```\n")
    w(f"\nTotal run time {time.perf_counter() - t0:.0f} s.\n")

    report = out.getvalue()
    print(report)
    if args.out:
        Path(args.out).write_text(report, encoding="utf-8")
        log(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
