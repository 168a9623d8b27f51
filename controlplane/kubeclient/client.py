"""One connection to the apiserver replicas through the official ``kubernetes`` client.

In a nutshell: :class:`Kube` holds one ``kubernetes.client.ApiClient`` per URL of
``CP_API_URLS`` (bearer token, CA from ``CP_API_CA`` written to a temp file, urllib3 retries
off) and sends JSON requests by path with ``param_serialize``/``call_api``. On a connection
failure (nothing was sent) it moves to the next URL and tries again; a read timeout is raised
to the caller (the outcome of a write is then unknown, and controllers simply reconcile
again). Objects are plain dicts in Kubernetes' JSON shape.

    kube = Kube(ClientSettings(urls=("http://127.0.0.1:6443",), token="t"))
    pod = kube.get("/api/v1/namespaces/default/pods/web")
    for event in kube.watch("/api/v1/pods", resource_version="12"): ...
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

log = logging.getLogger(__name__)

Obj = dict[str, Any]

# Failures that happen before a request reached a server: safe to retry on another URL.
_CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.MaxRetryError,
    ConnectionRefusedError,
)


class ApiUnavailable(RuntimeError):
    """No apiserver URL accepted a connection, or a read timed out / was reset."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientSettings:
    urls: tuple[str, ...]
    token: str = ""
    ca_pem: str = ""
    connect_timeout_s: float = 1.0
    request_timeout_s: float = 3.0


def status_code(exc: BaseException) -> int:
    """The HTTP status of an ApiException (0 when none)."""
    return int(getattr(exc, "status", 0) or 0)


def _configuration(url: str, settings: ClientSettings, ca_file: str | None) -> k8s.Configuration:
    cfg = k8s.Configuration(host=url)
    if settings.token:
        cfg.api_key = {"BearerToken": settings.token}
        cfg.api_key_prefix = {"BearerToken": "Bearer"}
    if ca_file:
        cfg.ssl_ca_cert = ca_file
        cfg.verify_ssl = True
    cfg.retries = False  # failover is ours; urllib3 must not resend writes behind our back
    return cfg


class Kube:
    """Requests by path with URL failover; thread-safe (urllib3 pools are)."""

    def __init__(self, settings: ClientSettings) -> None:
        if not settings.urls:
            raise ValueError("CP_API_URLS: got an empty list; expected at least one apiserver URL")
        self.settings = settings
        ca_file: str | None = None
        if settings.ca_pem:
            fd, ca_file = tempfile.mkstemp(prefix="cp-ca-", suffix=".pem")
            with os.fdopen(fd, "w") as f:
                f.write(settings.ca_pem)
        self._clients = [k8s.ApiClient(_configuration(u, settings, ca_file)) for u in settings.urls]
        self._current = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.settings.urls[self._current]

    def _rotate(self, failed: int) -> None:
        with self._lock:
            if self._current == failed:
                self._current = (failed + 1) % len(self._clients)

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None,
        body: Any,
        timeout_s: float | None,
        content_type: str = "application/json",
    ) -> k8s.rest.RESTResponse:
        read_s = self.settings.request_timeout_s if timeout_s is None else timeout_s
        last: BaseException | None = None
        for _ in range(len(self._clients)):
            index = self._current
            api = self._clients[index]
            headers = {"Accept": "application/json"}
            if body is not None:
                headers["Content-Type"] = content_type
            req = api.param_serialize(
                method=method,
                resource_path=path,
                query_params=list((query or {}).items()),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            try:
                resp = api.call_api(
                    *req, _request_timeout=(self.settings.connect_timeout_s, read_s)
                )
            except _CONNECT_ERRORS as exc:
                last = exc
                log.info(
                    "apiserver %s unreachable (%s); trying the next", self.settings.urls[index], exc
                )
                self._rotate(index)
                continue
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise ApiUnavailable(
                    f"{method} {path} via {self.settings.urls[index]}: {exc}"
                ) from exc
            if not 200 <= resp.status <= 299:
                resp.read()  # type: ignore[no-untyped-call]
                raise ApiException.from_response(http_resp=resp, body=None, data=None)
            return resp
        raise ApiUnavailable(f"{method} {path}: no apiserver reachable ({last})")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> Obj:
        resp = self._send(method, path, query=query, body=body, timeout_s=timeout_s)
        raw = resp.read()  # type: ignore[no-untyped-call]
        try:
            result: Obj = json.loads(raw) if raw else {}
        except ValueError as exc:
            raise ApiUnavailable(f"{method} {path}: response is not JSON: {raw[:200]!r}") from exc
        return result

    def get(self, path: str, **kw: Any) -> Obj:
        return self.request("GET", path, **kw)

    def create(self, path: str, body: Obj, **kw: Any) -> Obj:
        return self.request("POST", path, body, **kw)

    def update(self, path: str, body: Obj, **kw: Any) -> Obj:
        return self.request("PUT", path, body, **kw)

    def delete(self, path: str, body: Obj | None = None, **kw: Any) -> Obj:
        return self.request("DELETE", path, body, **kw)

    def watch(
        self,
        path: str,
        *,
        resource_version: str,
        query: dict[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> Iterator[Obj]:
        """Watch events ``{"type", "object"}`` from ``resource_version``; ends when the server
        closes the stream (after ``timeoutSeconds``). Raises ApiUnavailable on a broken stream."""
        params = {
            **(query or {}),
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(int(timeout_s)),
        }
        # The read timeout outlives the server's own timeout so a quiet stream is not an error.
        resp = self._send("GET", path, query=params, body=None, timeout_s=timeout_s + 5)
        raw = resp.response
        try:
            for line in iter_resp_lines(raw):  # type: ignore[no-untyped-call]
                if line.strip():
                    yield json.loads(line)
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise ApiUnavailable(f"watch {path}: {exc}") from exc
        finally:
            raw.release_conn()
