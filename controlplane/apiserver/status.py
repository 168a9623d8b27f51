"""Kubernetes ``Status`` error bodies and the one exception every handler raises.

In a nutshell: a handler that cannot answer raises :class:`ApiError` with a :class:`Reason`;
the error middleware turns it (and anything else) into a Status body, so a client never sees
a traceback. Reasons and codes follow the Kubernetes API conventions ("Response Status Kind",
https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#response-status-kind).

    raise ApiError(Reason.NOT_FOUND, 'pods "web" not found', kind="pods", name="web")
    # -> 404 {"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound",...}
"""

from __future__ import annotations

import enum
from typing import Any


class Reason(enum.StrEnum):
    """``Status.reason`` values (k8s.io/apimachinery/pkg/apis/meta/v1 StatusReason)."""

    BAD_REQUEST = "BadRequest"
    UNAUTHORIZED = "Unauthorized"
    FORBIDDEN = "Forbidden"
    NOT_FOUND = "NotFound"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    ALREADY_EXISTS = "AlreadyExists"
    CONFLICT = "Conflict"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
    NOT_ACCEPTABLE = "NotAcceptable"
    GONE = "Gone"
    INTERNAL_ERROR = "InternalError"
    SERVICE_UNAVAILABLE = "ServiceUnavailable"
    TIMEOUT = "Timeout"


# The HTTP code Kubernetes pairs with each reason.
CODES: dict[Reason, int] = {
    Reason.BAD_REQUEST: 400,
    Reason.UNAUTHORIZED: 401,
    Reason.FORBIDDEN: 403,
    Reason.NOT_FOUND: 404,
    Reason.METHOD_NOT_ALLOWED: 405,
    Reason.ALREADY_EXISTS: 409,
    Reason.CONFLICT: 409,
    Reason.EXPIRED: 410,
    Reason.INVALID: 422,
    Reason.UNSUPPORTED_MEDIA_TYPE: 415,
    Reason.NOT_ACCEPTABLE: 406,
    Reason.GONE: 410,
    Reason.INTERNAL_ERROR: 500,
    Reason.SERVICE_UNAVAILABLE: 503,
    Reason.TIMEOUT: 504,
}

_REASON_BY_CODE: dict[int, Reason] = {
    400: Reason.BAD_REQUEST,
    401: Reason.UNAUTHORIZED,
    403: Reason.FORBIDDEN,
    404: Reason.NOT_FOUND,
    405: Reason.METHOD_NOT_ALLOWED,
    409: Reason.CONFLICT,
    406: Reason.NOT_ACCEPTABLE,
    410: Reason.EXPIRED,
    415: Reason.UNSUPPORTED_MEDIA_TYPE,
    422: Reason.INVALID,
    503: Reason.SERVICE_UNAVAILABLE,
    504: Reason.TIMEOUT,
}


def reason_for_code(code: int) -> Reason:
    """The reason for an HTTP error code raised outside our handlers (routing, aiohttp)."""
    return _REASON_BY_CODE.get(code, Reason.INTERNAL_ERROR)


class ApiError(Exception):
    """An API failure the client can act on; rendered as a Status body by the middleware."""

    def __init__(
        self,
        reason: Reason,
        message: str,
        *,
        kind: str | None = None,
        name: str | None = None,
        group: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.kind = kind
        self.name = name
        self.group = group

    @property
    def code(self) -> int:
        return CODES[self.reason]

    def body(self) -> dict[str, Any]:
        return status_body(
            self.reason, self.message, kind=self.kind, name=self.name, group=self.group
        )


def status_body(
    reason: Reason,
    message: str,
    *,
    code: int | None = None,
    kind: str | None = None,
    name: str | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    """A ``Status`` object with ``status: Failure``; ``details`` only when we know the object."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": str(reason),
        "code": CODES[reason] if code is None else code,
    }
    if kind is not None or name is not None:
        details: dict[str, Any] = {}
        if name is not None:
            details["name"] = name
        if group:
            details["group"] = group
        if kind is not None:
            details["kind"] = kind
        body["details"] = details
    return body


def success_body(code: int = 201) -> dict[str, Any]:
    """The ``Status`` Kubernetes answers a binding or an eviction with."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}
