"""`python manage.py fake_news_server`: slow local blogs for the collector demos (step01)."""

from django.core.management.base import BaseCommand

from collector.fake_news import FakeNewsServer


class Command(BaseCommand):
    help = (
        "Serve N fake blogs on 127.0.0.1 that answer after a delay"
        " (and /fail/, /hang/, /garbled/, /redirect/)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--count", type=int, default=5, help="number of blogs (default 5)")
        parser.add_argument(
            "--delay", type=float, default=1.0, help="seconds before each blog answers"
        )

    def handle(self, *args, port, count, delay, **options):
        server = FakeNewsServer(port=port, count=count, delay=delay)
        server.verbose = True
        self.stdout.write(
            f"{count} blogs at {server.url}/blog/1/ .. /blog/{count}/, {delay:g} s each"
        )
        errors = ", ".join(
            f"{server.url}/{path}/" for path in ("fail", "hang", "garbled", "redirect")
        )
        self.stdout.write(f"Errors on demand: {errors}")
        self.stdout.write("Ctrl-C to stop.")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.listener.close()
