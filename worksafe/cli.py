"""The `worksafe` console script: Django's manage.py plus `serve` and `demo`."""

import os
import sys


def manage(argv):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "worksafe.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


def main():
    manage([sys.argv[0], *sys.argv[1:]])
