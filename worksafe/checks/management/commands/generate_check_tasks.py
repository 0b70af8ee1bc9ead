"""`worksafe generate_check_tasks`: create the check tasks of the current period for every active plan."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from worksafe.checks import actions


class Command(BaseCommand):
    help = "Create the missing check tasks of active plans, up to the period containing today (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="generate as if today were this day (YYYY-MM-DD)")
        parser.add_argument("--since", help="also create tasks for the periods from this day (YYYY-MM-DD)")

    def handle(self, *args, date=None, since=None, **options):
        today = self._day(date, "--date")
        created = self.generate_once(today=today, since=self._day(since, "--since"))
        if options["verbosity"] > 0:
            self.stdout.write(f"Created {created} check tasks.")

    def generate_once(self, *, today=None, since=None) -> int:
        """One pass over the plans; returns how many tasks were created (0 when all exist: it did no work)."""
        return actions.generate_tasks(today=today, since=since)

    @staticmethod
    def _day(value, option):
        if value is None:
            return None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise CommandError(f"{option}: give a date as YYYY-MM-DD") from None
