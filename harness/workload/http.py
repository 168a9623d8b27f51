"""The clients' HTTP layer: requests that never raise, answered as ``Reply`` or ``Outcome``.

In a nutshell: ``Http.call`` returns the ``Reply`` (status and body, any status) or, when the
request raised, the ``Outcome`` that the failure means for a request of the given ``Effect``.
Workloads then decide per step, so a read step of a compound op can fail definitely while a
write step's failure is unknown. Calls go through aiohttp (≈ 0.4 ms of CPU a request against
httpx's ≈ 3 ms, measured side by side over loopback: what lets one worker keep its rate);
streams (watches, informer lists) use ``Http.client``, an httpx client opened on first use.
URL helpers follow the HTTP contracts in ARCHITECTURE.md. With ``ca_pem``
(``ClusterInfo.ca_pem``: the apiservers serve https) every client shares one context trusting
that CA, so a workload's clients load it once and keep their TLS connections alive.

    async with open_http(token="t", timeout_s=1.0, connections=8) as http:
        got = await http.call("GET", store_key_url(url, "reg/k1"), effect=Effect.READ)
"""

from __future__ import annotations

import functools
import http.cookiejar
import json as jsonlib
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import httpx

from harness.workload.outcome import Effect, Outcome, classify_aiohttp_exception, classify_exception

NAMESPACE = "default"  # exists from the start (ARCHITECTURE.md, apiserver HTTP API)


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """A server the clients talk to: an apiserver through its link, or a store member."""

    name: str  # recorded as the op's node, e.g. "api-1" or "store-2"
    url: str  # base URL without a trailing slash


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """A complete HTTP answer: status and body (read whole; our bodies are small)."""

    status_code: int
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON (``ValueError`` when it is not)."""
        return jsonlib.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class Http:
    """Requests that report transport failures as outcomes instead of raising.

    ``session`` (aiohttp) carries ``call``; without one (a test handing in its own httpx
    client) ``call`` goes through ``client``. ``client`` is created on first use from
    ``make_client`` when not given.
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        make_client: Any = None,
    ) -> None:
        self._client = client
        self._session = session
        self._make_client = make_client

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            if self._make_client is None:
                raise AssertionError("Http has neither an httpx client nor a way to make one")
            self._client = self._make_client()
        return self._client

    async def call(
        self,
        method: str,
        url: str,
        *,
        effect: Effect,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> Reply | Outcome:
        if self._session is None:
            try:
                answer = await self.client.request(method, url, json=json, params=params)
            except httpx.HTTPError as exc:
                return classify_exception(exc, effect=effect)
            return Reply(
                status_code=answer.status_code, content=answer.content, headers=answer.headers
            )
        try:
            async with self._session.request(method, url, json=json, params=params) as got:
                body = await got.read()
                return Reply(status_code=got.status, content=body, headers=got.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return classify_aiohttp_exception(exc, effect=effect)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._client is not None:
            await self._client.aclose()


@functools.lru_cache(maxsize=8)
def tls_context(ca_pem: str | None = None) -> ssl.SSLContext:
    """One TLS context per CA for every client: httpx builds one per client otherwise (~60 ms
    each, loading the CA bundle). ``None``: the system bundle (plain-http servers never use it);
    a PEM: only that CA, hostnames checked (the run's apiserver certificates name every address
    a client dials)."""
    if ca_pem is None:
        return ssl.create_default_context()
    context = ssl.create_default_context(cadata=ca_pem)
    context.set_alpn_protocols(["http/1.1"])  # the apiservers speak HTTP/1.1 only
    return context


class _NoCookies(http.cookiejar.CookieJar):
    """Our servers set no cookies; parsing every response for them cost ~10% of an op's CPU."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


@asynccontextmanager
async def open_http(
    *, token: str | None, timeout_s: float, connections: int, ca_pem: str | None = None
) -> AsyncIterator[Http]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    context = tls_context(ca_pem)

    def make_client() -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        # trust_env=False: an HTTP(S)_PROXY in the environment must never capture loopback.
        return httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            limits=limits,
            trust_env=False,
            verify=context,
            cookies=_NoCookies(),
        )

    session = aiohttp.ClientSession(
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        connector=aiohttp.TCPConnector(limit=connections, ssl=context),
        cookie_jar=aiohttp.DummyCookieJar(),  # our servers set none; parsing them costs CPU
        trust_env=False,
    )
    # aiohttp re-sends a PUT/DELETE/GET once when a kept-alive connection breaks under it; a
    # second copy of a write that may already have applied would make the history lie (a
    # toxic's reset is exactly that case). Its own test client turns the retry off the same way.
    session._retry_connection = False
    http = Http(session=session, make_client=make_client)
    try:
        yield http
    finally:
        await http.aclose()


def store_key_url(base: str, key: str) -> str:
    return f"{base}/kv/{quote(key, safe='/')}"


def configmaps_url(base: str, name: str | None = None, namespace: str = NAMESPACE) -> str:
    url = f"{base}/api/v1/namespaces/{namespace}/configmaps"
    return url if name is None else f"{url}/{quote(name, safe='')}"


def configmap(
    name: str,
    data: dict[str, str],
    *,
    resource_version: str | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A ConfigMap body; ``resource_version`` makes a PUT conditional on it."""
    metadata: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def resource_version(obj: Any) -> str | None:
    """``metadata.resourceVersion`` of an object or list body, as the string the API uses."""
    if not isinstance(obj, dict):
        return None
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return None
    rv = metadata.get("resourceVersion")
    return None if rv is None else str(rv)


def object_name(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("metadata"), dict):
        name = obj["metadata"].get("name")
        return None if name is None else str(name)
    return None


def data_int(obj: Any, field: str = "value") -> int | None:
    """An integer stored as a string in a ConfigMap's ``data`` (None when absent or not one)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), dict):
        return None
    raw = obj["data"].get(field)
    try:
        return None if raw is None else int(raw)
    except (TypeError, ValueError):
        return None
