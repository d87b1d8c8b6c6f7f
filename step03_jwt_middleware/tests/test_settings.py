"""The settings as a deployment meets them: `manage.py` run with its environment (step01).

Settings are read once, when a process starts, so each test starts one: `python manage.py`
in the step folder, with the variables it sets and none of the caller's DJANGO_ ones.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

STEP_FOLDER = Path(__file__).resolve().parent.parent
DEMO_SECRET_KEY = "insecure-workshop-key-change-me-before-deploying-anything"
A_KEY_OF_ITS_OWN = "a-key-only-this-test-knows-" + "k3y" * 12  # what the deploy check asks
DEPLOYED = {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": A_KEY_OF_ITS_OWN}


def manage(*arguments, **variables):
    """Run `python manage.py ARGUMENTS` with these environment variables (None: unset)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update({k: v for k, v in variables.items() if v is not None})
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=STEP_FOLDER,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,  # a hung start-up fails the test instead of stopping the suite
    )


def in_django_shell(code, **variables):
    """Run `code` in `python manage.py shell` with these environment variables."""
    return manage("shell", "--no-imports", "-c", code, **variables)


@pytest.mark.parametrize("key", [None, "", DEMO_SECRET_KEY], ids=["unset", "empty", "demo key"])
def test_debug_off_without_a_key_of_its_own_stops_start_up(key):
    result = manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY=key)

    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off"
        in result.stderr
    )
    assert "secrets.token_urlsafe(50)" in result.stderr  # how to make one


def test_debug_off_with_a_key_of_its_own_starts():
    result = manage("check", **DEPLOYED)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_debug_on_by_default_starts_with_the_demo_key():
    result = in_django_shell("from django.conf import settings; print(settings.SECRET_KEY)")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == DEMO_SECRET_KEY


def test_collectstatic_gathers_the_static_files_for_the_proxy():
    result = manage("collectstatic", "--dry-run", "--noinput", **DEPLOYED)  # --dry-run: no copy

    assert result.returncode == 0, result.stderr
    assert f"static files copied to '{STEP_FOLDER / 'staticfiles'}'" in result.stdout


# The deploy check's warnings for the session and CSRF cookies sent over plain HTTP.
INSECURE_COOKIE_WARNINGS = ["security.W012", "security.W016"]


def test_deploy_check_warns_of_cookies_sent_over_http_by_default():
    result = manage("check", "--deploy", **DEPLOYED)

    assert result.returncode == 0, result.stderr
    for warning in INSECURE_COOKIE_WARNINGS:
        assert warning in result.stderr


def test_behind_an_https_proxy_the_cookies_go_over_https_only():
    result = manage("check", "--deploy", **DEPLOYED, DJANGO_BEHIND_HTTPS_PROXY="true")

    assert result.returncode == 0, result.stderr
    for warning in INSECURE_COOKIE_WARNINGS:
        assert warning not in result.stderr


# A request as the proxy hands it on: it came in over HTTPS, the proxy says so in a header.
IS_SECURE = """
from django.test import RequestFactory
request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https")
print("secure" if request.is_secure() else "not secure")
"""


@pytest.mark.parametrize(
    "behind_proxy, seen_as", [("true", "secure"), (None, "not secure")], ids=["set", "unset"]
)
def test_forwarded_https_header_is_believed_only_behind_an_https_proxy(behind_proxy, seen_as):
    result = in_django_shell(IS_SECURE, **DEPLOYED, DJANGO_BEHIND_HTTPS_PROXY=behind_proxy)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == seen_as
