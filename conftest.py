"""Test-wide settings and the shared `world` (core/testing.py builds it; `worksafe demo` reuses the builders)."""
import pytest


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = False
    settings.OTP_REQUIRED_ROLES = []
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.SECURE_SSL_REDIRECT = False
    settings.LANGUAGE_CODE = "zh-hans"


@pytest.fixture
def world(db):
    from worksafe.core.testing import build_world

    return build_world()
