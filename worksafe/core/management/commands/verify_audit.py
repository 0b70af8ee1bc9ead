"""Verify the audit log's hash chain (等保 8.1.4.3 c)."""

from django.core.management.base import BaseCommand, CommandError

from worksafe.core.audit import verify_chain
from worksafe.core.models import AuditEntry


class Command(BaseCommand):
    help = "Check that no audit entry was altered or removed (exit 1 and list the broken ids if so)."

    def handle(self, *args, **options):
        broken = verify_chain()
        total = AuditEntry.objects.count()
        if broken:
            raise CommandError(f"audit chain broken at {len(broken)} of {total} entries: {broken[:50]}")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {total} entries"))
