"""The harness's Toxiproxy client: ``toxiproxy-python`` plus a thin layer closing its gaps.

In a nutshell: ``ToxiproxyClient(base_url, timeout_s)`` drives any Toxiproxy-2.x server (ours is
``linkproxy``). Calls that ``toxiproxy-python`` 0.1.1 covers go through it unchanged; the layer
adds what it lacks: a bounded timeout on every request, 5xx and
transport failures raised as ``ToxiproxyError`` (a ``FaultError``), one client per server
instead of its class-level host/port, toxic update (PATCH), ``GET /proxies/{p}``, atomic
``/populate``, metrics, and answers as plain dicts (Toxiproxy's JSON shapes).

    client = ToxiproxyClient("http://127.0.0.1:8474", timeout_s=5.0)
    client.add_toxic("api-1-store-2", type="latency", attributes={"latency": 200})

Error tree: ``ToxiproxyError`` (``status`` is None when the server could not be reached or did
not answer in time) ⊃ ``ToxiproxyNotFound`` (404), ``ToxiproxyConflict`` (409),
``ToxiproxyBadRequest`` (400).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import toxiproxy.api as _tp_api
from toxiproxy import Toxiproxy
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists
from toxiproxy.proxy import Proxy as _TpProxy

from harness.errors import FaultError

__all__ = [
    "ToxiproxyBadRequest",
    "ToxiproxyClient",
    "ToxiproxyConflict",
    "ToxiproxyError",
    "ToxiproxyNotFound",
]


class ToxiproxyError(FaultError):
    """A Toxiproxy call failed: refused (4xx/5xx), unreachable, or timed out."""

    def __init__(self, message: str, *, method: str, url: str, status: int | None) -> None:
        super().__init__(f"{method} {url}: {message}")
        self.method = method
        self.url = url
        self.status = status
        self.detail = message


class ToxiproxyNotFound(ToxiproxyError):
    """404: no such proxy or toxic."""


class ToxiproxyConflict(ToxiproxyError):
    """409: a proxy or toxic of that name exists already."""


class ToxiproxyBadRequest(ToxiproxyError):
    """400: the server refused the body (unknown toxic type, bad attribute, …)."""


_BY_STATUS: dict[int, type[ToxiproxyError]] = {
    400: ToxiproxyBadRequest,
    404: ToxiproxyNotFound,
    409: ToxiproxyConflict,
}

# toxiproxy-python keeps host/port as class attributes and calls the `requests` module directly,
# so every call through it runs under this lock with both swapped for this client's own.
_TP_LOCK = threading.RLock()


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return str(body)[:200]


class _BoundedRequests:
    """Stands in for the `requests` module inside toxiproxy-python: timeout and 5xx checks."""

    def __init__(self, session: requests.Session, timeout_s: float) -> None:
        self._session = session
        self._timeout_s = timeout_s

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout_s)
        try:
            response = self._session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise ToxiproxyError(
                f"{type(exc).__name__}: {exc}", method=method, url=url, status=None
            ) from exc
        if response.status_code >= 500:
            raise ToxiproxyError(
                _error_text(response), method=method, url=url, status=response.status_code
            )
        return response

    def get(self, url: str, params: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, params=params, **kwargs)

    def post(
        self, url: str, data: Any = None, json: Any = None, **kwargs: Any
    ) -> requests.Response:
        return self.request("POST", url, data=data, json=json, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", url, **kwargs)


class ToxiproxyClient:
    """One Toxiproxy server; every call is bounded by ``timeout_s``, raises ``ToxiproxyError``."""

    def __init__(self, base_url: str, timeout_s: float = 5.0) -> None:
        parts = urlsplit(base_url)
        if parts.hostname is None or parts.port is None:
            raise ToxiproxyError(
                "the Toxiproxy API URL must be http://host:port (ClusterInfo.toxiproxy); "
                "pass the URL `chaosplane up` printed",
                method="CONNECT",
                url=base_url,
                status=None,
            )
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._host, self._port = parts.hostname, parts.port
        self._session = requests.Session()
        self._http = _BoundedRequests(self._session, timeout_s)

    def close(self) -> None:
        self._session.close()

    # -- plumbing -------------------------------------------------------------------------------
    @contextmanager
    def _tp(self) -> Iterator[None]:
        """Run toxiproxy-python against this server, with our timeout and error mapping."""
        with _TP_LOCK:
            saved = (_tp_api.APIConsumer.host, _tp_api.APIConsumer.port, _tp_api.requests)
            _tp_api.APIConsumer.host, _tp_api.APIConsumer.port = self._host, self._port
            _tp_api.requests = self._http
            try:
                yield
            except (ProxyExists, NotFound, InvalidToxic) as exc:
                status = {ProxyExists: 409, NotFound: 404, InvalidToxic: 400}[type(exc)]
                raise _BY_STATUS[status](
                    _decode(exc.args[0] if exc.args else ""),
                    method="(toxiproxy-python)",
                    url=self.base_url,
                    status=status,
                ) from exc
            finally:
                _tp_api.APIConsumer.host, _tp_api.APIConsumer.port, _tp_api.requests = saved

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        """A request toxiproxy-python cannot make; returns the decoded body (None on 204)."""
        url = self.base_url + path
        response = self._http.request(method, url, json=json)
        if response.status_code >= 400:
            cls = _BY_STATUS.get(response.status_code, ToxiproxyError)
            raise cls(_error_text(response), method=method, url=url, status=response.status_code)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    @staticmethod
    def _handle(name: str) -> _TpProxy:
        # toxiproxy-python addresses a proxy by name only; the other fields are not sent.
        return _TpProxy(name=name, upstream="", enabled=True, listen="")

    # -- proxies --------------------------------------------------------------------------------
    def version(self) -> str:
        body = self._call("GET", "/version")
        return str(body["version"]) if isinstance(body, dict) else str(body)

    def proxies(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = self._call("GET", "/proxies")
        return result

    def proxy(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/proxies/{quote(name, safe='')}")
        return result

    def create(
        self, name: str, *, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> dict[str, Any]:
        with self._tp():
            Toxiproxy().create(upstream=upstream, name=name, listen=listen, enabled=enabled)
        return self.proxy(name)

    def populate(self, proxies: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Create or replace many proxies at once; all or nothing (``POST /populate``)."""
        body = self._call("POST", "/populate", json=[dict(p) for p in proxies])
        result: list[dict[str, Any]] = body["proxies"]
        return result

    def delete(self, name: str) -> None:
        with self._tp():
            self._handle(name).destroy()

    def set_enabled(self, name: str, enabled: bool) -> None:
        """``False`` stops the listener and drops live connections; ``True`` listens again."""
        with self._tp():
            handle = self._handle(name)
            if enabled:
                handle.enable()
            else:
                handle.disable()

    @contextmanager
    def down(self, name: str) -> Iterator[None]:
        self.set_enabled(name, False)
        try:
            yield
        finally:
            self.set_enabled(name, True)

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        with self._tp():
            Toxiproxy().reset()

    def metrics(self, proxy: str) -> dict[str, Any]:
        """Connection counts and bytes in/out each way (linkproxy's extension)."""
        result: dict[str, Any] = self._call("GET", f"/proxies/{quote(proxy, safe='')}/metrics")
        return result

    # -- toxics ---------------------------------------------------------------------------------
    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        with self._tp():
            found = self._handle(proxy).toxics()
        return [
            {
                "name": t.name,
                "type": t.type,
                "stream": t.stream,
                "toxicity": t.toxicity,
                "attributes": dict(t.attributes),
            }
            for t in found.values()
        ]

    def toxic(self, proxy: str, name: str) -> dict[str, Any]:
        path = f"/proxies/{quote(proxy, safe='')}/toxics/{quote(name, safe='')}"
        result: dict[str, Any] = self._call("GET", path)
        return result

    def add_toxic(
        self,
        proxy: str,
        *,
        type: str,  # Toxiproxy's field name, shadowing the builtin on purpose
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add a toxic; returns it as the server stored it (toxiproxy-python returns None)."""
        toxic_name = name or f"{type}_{stream}"
        with self._tp():
            self._handle(proxy).add_toxic(
                type=type,
                name=toxic_name,
                stream=stream,
                toxicity=toxicity,
                attributes=dict(attributes or {}),
            )
        return self.toxic(proxy, toxic_name)

    def update_toxic(
        self,
        proxy: str,
        name: str,
        *,
        toxicity: float | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Change a live toxic; fields left None keep their values (``PATCH``)."""
        body: dict[str, Any] = {}
        if toxicity is not None:
            body["toxicity"] = toxicity
        if attributes is not None:
            body["attributes"] = dict(attributes)
        path = f"/proxies/{quote(proxy, safe='')}/toxics/{quote(name, safe='')}"
        result: dict[str, Any] = self._call("PATCH", path, json=body)
        return result

    def remove_toxic(self, proxy: str, name: str) -> None:
        with self._tp():
            self._handle(proxy).destroy_toxic(name)

    @contextmanager
    def with_toxic(self, proxy: str, **toxic: Any) -> Iterator[dict[str, Any]]:
        """Add a toxic for the duration of the block, removing it even on error."""
        added = self.add_toxic(proxy, **toxic)
        try:
            yield added
        finally:
            self.remove_toxic(proxy, added["name"])


def _decode(content: object) -> str:
    if isinstance(content, bytes):
        return content.decode("utf-8", "replace")
    return str(content)
