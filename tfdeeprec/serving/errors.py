"""The one error type the REST layer turns into an HTTP status and a JSON body."""

from __future__ import annotations


class ApiError(Exception):
    """A request error with its HTTP status; the body is ``{"error": message}``.

    Args:
        status: (int) HTTP status code, e.g. 400, 404, 405, 413.
        message: (str) what was wrong and, where useful, what was expected.
        headers: (dict | None) extra response headers (e.g. ``Allow`` for 405).
    """

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)
