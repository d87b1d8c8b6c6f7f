"""A live Daphne for the tests, started alike under fork, spawn and forkserver (step02).

Linux starts a child process with `fork` (a copy of the parent's memory) until Python 3.14,
which moves to `forkserver`; macOS and Windows use `spawn` (a fresh interpreter). A spawned
child knows nothing of the parent's memory: not Django's settings as the tests changed them,
not the test database. So everything the server needs is handed to it by value, and the
child sets itself up from those values alone, importing nothing that needs Django first.
"""

import multiprocessing
import os
import pickle
import queue
import sys
import time
from dataclasses import dataclass

# Only modules that import without Django being set up: the child imports this one first.
from daphne.testing import DaphneProcess

START_METHOD_VARIABLE = "WORKSHOP_START_METHOD"
OFFERED_START_METHODS = ("spawn", "forkserver")  # `fork` is what Linux did by default
# What a server's process imports before Django is set up (a module that is not installed
# is skipped): Daphne with Twisted, Django's and Channels' machinery.
FORK_SERVER_PRELOAD = [
    "tests.live_server",
    "daphne.server",
    "daphne.endpoints",
    "django.db.models",
    "django.contrib.staticfiles.handlers",
    "channels.generic.websocket",
    "channels.routing",
    "channels.layers",
    "rest_framework",
    "rest_framework_simplejwt",
    "channels_redis.core",
]


def use_start_method_from_environment():
    """`WORKSHOP_START_METHOD=spawn` (or `forkserver`): start child processes as a Mac or
    Windows does (or Python 3.14 on Linux), whatever this system's default. Unset: the default.
    """
    method = os.environ.get(START_METHOD_VARIABLE, "").strip()
    if not method:
        return multiprocessing.get_start_method()
    here = [m for m in OFFERED_START_METHODS if m in multiprocessing.get_all_start_methods()]
    if method not in here:
        raise SystemExit(f"{START_METHOD_VARIABLE}={method}: choose {' or '.join(here)}")
    multiprocessing.set_start_method(method, force=True)
    if method == "forkserver":
        # The fork server imports these once, and each server's process starts as a copy of
        # it (as under `fork`, without the test process's state): about 0.4 s less each here.
        multiprocessing.set_forkserver_preload(FORK_SERVER_PRELOAD)
    return method


def settings_by_value():
    """The settings as the tests left them (the test database's name, a Redis layer, fast
    password hashing): each one that is not Django's default, checked to travel by pickle."""
    from django.conf import global_settings, settings

    values = {}
    for name in filter(str.isupper, dir(settings)):
        value = getattr(settings, name)
        if settings.is_overridden(name) or value != getattr(global_settings, name, values):
            values[name] = value
    for name, value in values.items():
        try:
            pickle.dumps(value)
        except Exception as error:
            raise TypeError(f"setting {name} cannot reach a spawned server: {error}") from error
    return values


@dataclass
class ServedApplication:
    """Builds the step's ASGI application inside Daphne's child process, from values only."""

    settings_module: str
    settings: dict
    environment: dict
    # "module.function" to call once Django is ready: a name, so that the child imports its
    # module only then (a test module imports models at its top).
    setup: str | None = None

    def __call__(self):
        # The server runs as `daphne` would: without the switch that lets the tests' own
        # thread use the ORM where an event loop runs (the browser tests set it).
        os.environ.clear()
        os.environ.update(self.environment)
        os.environ["DJANGO_SETTINGS_MODULE"] = self.settings_module
        import django
        from django.conf import settings

        for name, value in self.settings.items():
            setattr(settings, name, value)
        django.setup()
        forget_what_a_fork_copied()
        if self.setup is not None:
            from django.utils.module_loading import import_string

            import_string(self.setup)()

        from channels.routing import get_default_application
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        return ASGIStaticFilesHandler(get_default_application())


def forget_what_a_fork_copied():
    """Under `fork` the child starts as a copy of the test process; drop what must not be
    shared. Under `spawn` and `forkserver` there is nothing to drop, and this changes nothing.
    """
    import logging
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync
    from channels.layers import channel_layers

    # Threads do not survive a fork: asgiref's one-thread executor would queue every
    # `database_sync_to_async` call of the sockets for a worker thread that is not there.
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    # The layer is made again from the settings above, in the child's own event loop.
    channel_layers.backends = {}
    # Log to the real stderr: the one found at start-up may be a pytest capture that a
    # later test closes.
    for handler in logging.getLogger("chat").handlers:
        handler.stream = sys.__stderr__  # not setStream(): it would flush a closed one


class LiveDaphne:
    """This step's ASGI application served by Daphne on a loopback port, in a child process.

    What Channels' ChannelsLiveServerTestCase does for unittest (its DaphneProcess too), for
    pytest; it can be stopped and started again on the same port, as a presenter restarts
    `runserver`. `setup`: "module.function" to run in the child once Django is ready there.
    """

    def __init__(self, setup=None):
        self.port = 0  # 0 at first: the system picks a free port, kept for restarts
        self.process = None
        self.setup = setup

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        environment = dict(os.environ)
        environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        application = ServedApplication(
            os.environ["DJANGO_SETTINGS_MODULE"], settings_by_value(), environment, self.setup
        )
        self.process = DaphneProcess("127.0.0.1", application, port=self.port)
        self.process.start()
        deadline = time.monotonic() + 30
        while not self.process.ready.wait(timeout=0.1):
            if not self.process.is_alive():
                raise RuntimeError(f"Daphne stopped before it listened{self.child_error()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("Daphne did not start within 30 s")
        self.port = self.process.port.value

    def child_error(self):
        """What the child put on its error queue before it ended, if anything."""
        try:
            error, trace = self.process.errors.get(timeout=1)
        except queue.Empty:
            return f" (exit code {self.process.exitcode})"
        return f": {error!r}\n{trace}"

    def stop(self):
        self.process.terminate()
        self.process.join()
