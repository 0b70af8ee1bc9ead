"""`worksafe demo`: load the deterministic demo dataset of every module and print the demo accounts (idempotent).

It lives in `dashboard`, the app that reads every domain app, so that `core` imports none of them.
"""

import time
import unicodedata

from django.core.management.base import BaseCommand

from worksafe.core.roles import ROLE_LABELS


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = "Create the demo dataset (regulators, enterprises, licences, one account per role) once."

    def add_arguments(self, parser):
        parser.add_argument("--enterprises", type=int, default=3200, help="number of enterprises (default 3200)")
        parser.add_argument("--seed", type=int, default=2017, help="random seed (default 2017)")

    def handle(self, *args, enterprises, seed, **options):
        from worksafe.checks.demo import build_demo as build_checks
        from worksafe.enterprises.demo import build_demo
        from worksafe.hazards.demo import build_demo as build_hazards
        from worksafe.majorhazards.demo import build_demo as build_majorhazards
        from worksafe.monitoring.demo import build_demo as build_monitoring
        from worksafe.risks.demo import build_demo as build_risks

        started = time.monotonic()
        out = self.stdout if options["verbosity"] > 0 else None
        result = build_demo(stdout=out, enterprises=enterprises, seed=seed)
        build_majorhazards(stdout=out, seed=seed)
        build_monitoring(stdout=out, seed=seed)
        build_risks(stdout=out, seed=seed)
        build_checks(stdout=out, seed=seed)
        build_hazards(stdout=out, seed=seed)  # last: its reports count the hazards the checks demo raised
        elapsed = time.monotonic() - started
        if result["created"]:
            counts = result["counts"]
            self.stdout.write(self.style.SUCCESS(
                f"演示数据已创建 Demo data created in {elapsed:.1f} s: {counts['enterprises']} enterprises, "
                f"{counts['licences']} licences, {counts['organisations']} organisations."))
        else:
            self.stdout.write("演示数据已存在 Demo data already present: nothing changed.")

        header = ("用户名 Username", "密码 Password", "角色 Role", "单位 Organisation")
        rows = []
        for a in result["accounts"]:
            role = "，".join(str(ROLE_LABELS.get(r, r)) for r in a["role"].split(",") if r)
            rows.append((a["username"], a["password"], f"{a['role']} ({role})", a["organisation"]))
        widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
        line = "  ".join("-" * w for w in widths)
        for i, row in enumerate([header, *rows]):
            self.stdout.write("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip())
            if i == 0:
                self.stdout.write(line)
        self.stdout.write("")
        self.stdout.write("打开 Open http://127.0.0.1:8000/  (worksafe serve)")
