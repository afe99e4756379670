"""Errors the server answers with, in OpenAI's shape: ``{"error": {message, type, param, code}}``.

``ApiError`` carries the HTTP status with the body, so request parsing, admission and routes can
raise one and the app turns it into a response. Knows no web framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INVALID_REQUEST = "invalid_request_error"
AUTHENTICATION = "authentication_error"
NOT_FOUND = "not_found_error"
RATE_LIMIT = "rate_limit_error"
OVERLOADED = "server_overloaded"
SERVER = "server_error"


@dataclass(slots=True)
class ApiError(Exception):
    """A request the server answers with an error status instead of a completion."""

    status: int
    message: str
    type: str = INVALID_REQUEST
    param: str | None = None
    code: str | None = None

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, INVALID_REQUEST, param, code)


def unsupported(param: str, why: str) -> ApiError:
    return ApiError(400, f"'{param}' is not supported: {why}", INVALID_REQUEST, param, "unsupported_parameter")
