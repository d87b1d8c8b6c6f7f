"""What a caller may see of a news source's URL: scheme, host, port and path (step01).

A source URL may carry secrets (`https://user:password@host/feed?api_key=...`). The server
asks the source with the whole URL; the report, which anyone may read, shows neither the
user and password nor the query string and fragment, in its `url` nor in its `error`.
"""

import re
from urllib.parse import quote, unquote, urljoin

# The parts of a URL (RFC 3986, appendix B), the user and password apart from the host. Every
# part is optional, so any text matches: "not a url" is a path, and still gets a report.
URL_PARTS = re.compile(
    r"(?P<scheme>[^:/?#]+:)?"
    r"(?://(?:(?P<userinfo>[^/?#]*)@)?(?P<host>[^/?#]*))?"
    r"(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?"
    r"(?:#(?P<fragment>.*))?",
    re.DOTALL,
)
HIDDEN = "[hidden]"


def public_url(url):
    """The URL without its user, password, query string and fragment."""
    parts = URL_PARTS.fullmatch(url)
    authority = "" if parts["host"] is None else f"//{parts['host']}"
    return f"{parts['scheme'] or ''}{authority}{parts['path']}"


def without_url_secrets(text, url):
    """`text` (an error message, which may quote the URL) with the URL's secrets hidden.

    Each secret is looked for where a URL holds it ("user:password@", "?query", "#fragment"),
    as written and percent-encoded: the client libraries quote the URL either way.
    """
    if text is None:
        return None
    parts = URL_PARTS.fullmatch(url)
    for name, before, after in (("userinfo", "", "@"), ("query", "?", ""), ("fragment", "#", "")):
        secret = parts[name]
        if not secret:
            continue
        for form in {secret, quote(secret, safe="/:@!$&'()*+,;=%"), unquote(secret)}:
            text = text.replace(f"{before}{form}{after}", f"{before}{HIDDEN}{after}")
    return text


def redirect_target(url, location):
    """Where a redirect from `url` points (its Location may be relative), without secrets."""
    try:
        target = urljoin(url, location)
    except ValueError:  # a URL urllib cannot split (a broken IPv6 host): the Location as sent
        target = location
    return public_url(target)
