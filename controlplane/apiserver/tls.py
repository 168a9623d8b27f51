"""The apiserver's TLS: an ``ssl.SSLContext`` from ``API_TLS_CERT`` / ``API_TLS_KEY`` PEM text.

In a nutshell: :func:`tls_from_env` returns ``None`` when neither variable is set (plain HTTP,
as on a laptop or in unit tests), a server context when both are, and raises
:class:`TlsConfigError` naming the variable and the fix otherwise. Both hold PEM *text*, not
paths (the cert may be a chain, leaf first). The context speaks TLS 1.2+ and offers only
``http/1.1`` over ALPN: client-go asks for ``h2`` first and falls back to HTTP/1.1 when the
server does not pick it, and aiohttp serves HTTP/1.1 only.

    ctx = tls_from_env(os.environ)      # None | ssl.SSLContext
    web.TCPSite(runner, host, port, ssl_context=ctx)
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator, Mapping

CERT_ENV = "API_TLS_CERT"
KEY_ENV = "API_TLS_KEY"
ALPN = ("http/1.1",)


class TlsConfigError(ValueError):
    """``API_TLS_CERT`` / ``API_TLS_KEY`` cannot be used; the message names the fix."""


def tls_from_env(environ: Mapping[str, str]) -> ssl.SSLContext | None:
    cert = environ.get(CERT_ENV, "").strip()
    key = environ.get(KEY_ENV, "").strip()
    if not cert and not key:
        return None
    if not cert or not key:
        present, missing = (CERT_ENV, KEY_ENV) if cert else (KEY_ENV, CERT_ENV)
        raise TlsConfigError(
            f"{present} is set but {missing} is empty; set both (PEM text) to serve HTTPS, "
            f"or neither for plain HTTP"
        )
    return server_context(cert_pem=cert, key_pem=key)


def server_context(*, cert_pem: str, key_pem: str) -> ssl.SSLContext:
    """A server-side context holding the certificate chain and its private key."""
    for name, text, marker in ((CERT_ENV, cert_pem, "CERTIFICATE"), (KEY_ENV, key_pem, "KEY")):
        if "-----BEGIN " not in text or marker not in text:
            raise TlsConfigError(
                f"{name}: got {len(text)} characters without a PEM '-----BEGIN …{marker}-----' "
                f"block; expected the PEM text itself (not a file path)"
            )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(list(ALPN))
    with _private_files(cert_pem, key_pem) as (cert_path, key_path):
        try:
            # The ssl module loads certificates and keys from paths only.
            context.load_cert_chain(certfile=cert_path, keyfile=key_path)
        except ssl.SSLError as exc:
            raise TlsConfigError(
                f"{CERT_ENV}/{KEY_ENV}: the certificate and key do not load ({exc.reason or exc}); "
                f"expected a PEM certificate (chain, leaf first) and the PEM private key of "
                f"that leaf"
            ) from exc
    return context


@contextlib.contextmanager
def _private_files(cert_pem: str, key_pem: str) -> Iterator[tuple[str, str]]:
    """Both PEMs in a fresh 0700 directory, removed as soon as the context has read them."""
    with tempfile.TemporaryDirectory(prefix="apiserver-tls-") as tmp:
        paths = (os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key"))
        for path, text in zip(paths, (cert_pem, key_pem), strict=True):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(text if text.endswith("\n") else text + "\n")
        yield paths
