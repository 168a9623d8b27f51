"""The set of proxies the REST API manages, with Toxiproxy 2.x create/update/populate rules.

In a nutshell: every mutation goes through ``ProxyCollection`` under one lock, so concurrent API
calls never see a half-applied change. ``populate`` is all or nothing: every body is validated
and every new listener bound before anything is committed; on a failure the new listeners are
closed and the collection is as it was.

    proxies = ProxyCollection(seed=7)
    await proxies.create({"name": "db", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:5432"})
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from linkproxy.proxy import Proxy, split_address
from linkproxy.toxics import ApiError


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyConfig:
    name: str
    listen: str
    upstream: str
    enabled: bool


def _text(body: dict[str, Any], key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value:
        raise ApiError(f"missing required field: {key}", 400)
    return value


def parse_proxy(body: object) -> ProxyConfig:
    if not isinstance(body, dict):
        raise ApiError("bad request body", 400)
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ApiError("enabled must be a boolean", 400)
    config = ProxyConfig(
        name=_text(body, "name"),
        listen=_text(body, "listen", "127.0.0.1:0"),
        upstream=_text(body, "upstream"),
        enabled=enabled,
    )
    split_address(config.listen)
    split_address(config.upstream)
    return config


def _same_listen(current: str, wanted: str) -> bool:
    """``host:0`` asks for any port, so it matches the port already bound on that host."""
    cur_host, cur_port = split_address(current)
    want_host, want_port = split_address(wanted)
    return cur_host == want_host and want_port in (0, cur_port)


class ProxyCollection:
    def __init__(self, *, seed: int | None) -> None:
        self.seed = seed
        self.lock = asyncio.Lock()
        self._proxies: dict[str, Proxy] = {}

    def all(self) -> list[Proxy]:
        return list(self._proxies.values())

    def get(self, name: str) -> Proxy:
        try:
            return self._proxies[name]
        except KeyError:
            raise ApiError("proxy not found", 404) from None

    def _new(self, config: ProxyConfig) -> Proxy:
        return Proxy(
            name=config.name,
            listen=config.listen,
            upstream=config.upstream,
            enabled=config.enabled,
            seed=self.seed,
        )

    async def create(self, body: object) -> Proxy:
        config = parse_proxy(body)
        async with self.lock:
            if config.name in self._proxies:
                raise ApiError("proxy already exists", 409)
            proxy = self._new(config)
            if config.enabled:
                await proxy.start()
            self._proxies[config.name] = proxy
            return proxy

    async def populate(self, body: object) -> list[Proxy]:
        if isinstance(body, dict) and isinstance(body.get("proxies"), list):
            body = body["proxies"]  # older clients wrap the list
        if not isinstance(body, list):
            raise ApiError("populate expects a JSON list of proxies", 400)
        configs = [parse_proxy(item) for item in body]
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise ApiError("populate lists the same proxy name twice", 400)
        async with self.lock:
            fresh: list[Proxy] = []
            try:
                for config in configs:
                    existing = self._proxies.get(config.name)
                    if existing is None or not _same_listen(existing.listen, config.listen):
                        proxy = self._new(config)
                        if config.enabled:
                            await proxy.start()
                        fresh.append(proxy)
            except ApiError:
                for proxy in fresh:
                    proxy.stop()
                raise
            # Commit: nothing below can fail.
            by_name = {p.name: p for p in fresh}
            result = []
            for config in configs:
                if config.name in by_name:
                    old = self._proxies.get(config.name)
                    if old is not None:
                        old.stop()
                    self._proxies[config.name] = by_name[config.name]
                else:
                    await self._apply(self._proxies[config.name], config)
                result.append(self._proxies[config.name])
            return result

    async def _apply(self, proxy: Proxy, config: ProxyConfig) -> None:
        """Same listener: change upstream / enabled in place (cannot fail: port is ours)."""
        if config.upstream != proxy.upstream:
            proxy.upstream = config.upstream
            proxy.drop_connections()
        if config.enabled and not proxy.running:
            await proxy.start()
        elif not config.enabled and proxy.running:
            proxy.stop()

    async def update(self, name: str, body: object) -> Proxy:
        """Partial update: fields missing from ``body`` keep their values."""
        if not isinstance(body, dict):
            raise ApiError("bad request body", 400)
        async with self.lock:
            proxy = self.get(name)
            merged = {
                "name": name,
                "listen": body.get("listen", proxy.listen),
                "upstream": body.get("upstream", proxy.upstream),
                "enabled": body.get("enabled", proxy.enabled),
            }
            config = parse_proxy(merged)
            if _same_listen(proxy.listen, config.listen):
                await self._apply(proxy, config)
                return proxy
            old_listen, old_upstream, was_running = proxy.listen, proxy.upstream, proxy.running
            proxy.stop()
            proxy.listen, proxy.upstream = config.listen, config.upstream
            if config.enabled:
                try:
                    await proxy.start()
                except ApiError:
                    proxy.listen, proxy.upstream = old_listen, old_upstream
                    if was_running:
                        await proxy.start()
                    raise
            return proxy

    async def delete(self, name: str) -> None:
        async with self.lock:
            proxy = self.get(name)
            proxy.stop()
            del self._proxies[name]

    async def reset(self) -> None:
        """Re-enable every proxy and remove every toxic (``POST /reset``)."""
        async with self.lock:
            for proxy in self._proxies.values():
                proxy.clear_toxics()
                if not proxy.running:
                    await proxy.start()

    def close(self) -> None:
        for proxy in self._proxies.values():
            proxy.stop()
