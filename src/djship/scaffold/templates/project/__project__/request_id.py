"""Log lines that name their request. nginx gives every request an id (X-Request-ID) and logs
it; uWSGI logs it for errors and slow requests; this puts it on Django's own lines about a
request too, so `djship logs --request ID` shows one request's whole path."""

import logging


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record: the request's id when the record is about one
    (Django attaches the request to its django.request lines), else "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(getattr(record, "request", None), "META", {})
        record.request_id = meta.get("HTTP_X_REQUEST_ID", "-")
        return True
