"""The REST API's JSON parser: DRF's own, which also refuses a body nested too deeply (step01).

Python's json module raises RecursionError, not ValueError, on JSON nested deeper than the
interpreter's recursion limit (about 1,000 levels); DRF turns only ValueError into a 400.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JSONParserWithDepthLimit(JSONParser):
    """A body nested too deeply to decode is a 400 with DRF's usual body, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply to decode.") from None
