"""Settings for the test suite: the ordinary settings in development mode (test tweaks live in conftest.py)."""

import os

os.environ.setdefault("WORKSAFE_DEV", "True")

from worksafe.settings import *  # noqa: E402,F403
