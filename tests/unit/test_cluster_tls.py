"""The run's PKI (harness.cluster.tls) and the apiserver's TLS context (controlplane.apiserver.tls).

Certificates are checked the way clients check them: with the stdlib ``ssl`` module over a
real loopback handshake (the apiserver's own server context on one end, the harness's client
context on the other), not by re-reading the fields we wrote.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from cryptography import x509

from controlplane.apiserver.tls import TlsConfigError, server_context, tls_from_env
from harness.cluster.members import apiserver_members, apiserver_names
from harness.cluster.subnet import POOL, SubnetPlan
from harness.cluster.tls import VALIDITY, RunPki, apiserver_sans, client_context, make_run_pki
from harness.model.cluster import ClusterSpec
from harness.workload.http import tls_context

PLAN = SubnetPlan.for_slot(POOL, 7)  # proxy 10.201.7.2, api-i 10.201.7.3i
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def pki() -> RunPki:
    return make_run_pki(
        "cp-test",
        apiservers=apiserver_names(ClusterSpec(apiservers=2), PLAN),
        proxy_ip=PLAN.proxy_ip,
    )


@contextmanager
def tls_server(cert_pem: str, key_pem: str) -> Iterator[int]:
    """A loopback TLS server with the apiserver's context; yields its port."""
    context = server_context(cert_pem=cert_pem, key_pem=key_pem)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(5.0)
            try:
                with context.wrap_socket(raw, server_side=True) as tls:
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):
                pass  # the client refused our certificate: that is what some tests want

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5.0)
        listener.close()


def handshake(port: int, context: ssl.SSLContext, server_hostname: str) -> tuple[bytes, str | None]:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5.0) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        return tls.recv(2), tls.selected_alpn_protocol()


def test_sans_cover_every_address_a_client_uses(pki: RunPki) -> None:
    cert = x509.load_pem_x509_certificate(pki.server("api-2").cert_pem.encode())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {
        "api-2",
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
    }
    assert set(sans.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address(ip) for ip in ("127.0.0.1", "10.201.7.32", "10.201.7.2")
    }
    assert apiserver_sans("api-1", api_ip="10.0.0.5", proxy_ip="10.0.0.5")[1] == [
        "127.0.0.1",
        "10.0.0.5",
    ]


def test_validity_starts_before_now_and_lasts_the_documented_time() -> None:
    pki = make_run_pki("cp-t", apiservers={"api-1": "10.0.0.31"}, proxy_ip="10.0.0.2", now=NOW)
    for pem in (pki.ca_pem, pki.server("api-1").cert_pem):
        cert = x509.load_pem_x509_certificate(pem.encode())
        assert cert.not_valid_before_utc < NOW < cert.not_valid_after_utc
        assert cert.not_valid_after_utc - NOW == VALIDITY
    ca = x509.load_pem_x509_certificate(pki.ca_pem.encode())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    leaf = x509.load_pem_x509_certificate(pki.server("api-1").cert_pem.encode())
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.issuer == ca.subject


@pytest.mark.parametrize("name", ["10.201.7.2", "10.201.7.31", "127.0.0.1", "api-1", "localhost"])
def test_server_cert_verifies_against_the_run_ca_for_each_san(pki: RunPki, name: str) -> None:
    cert = pki.server("api-1")
    with tls_server(cert.cert_pem, cert.key_pem) as port:
        got, alpn = handshake(port, client_context(pki.ca_pem), name)
    assert got == b"ok"
    assert alpn == "http/1.1"  # what client-go falls back to; the apiserver never offers h2


def test_a_name_outside_the_sans_is_refused(pki: RunPki) -> None:
    cert = pki.server("api-1")
    with (
        tls_server(cert.cert_pem, cert.key_pem) as port,
        pytest.raises(ssl.SSLCertVerificationError, match=r"mismatch"),
    ):
        handshake(port, client_context(pki.ca_pem), "10.201.7.32")  # api-2's address


def test_another_runs_ca_is_not_trusted(pki: RunPki) -> None:
    other = make_run_pki("cp-other", apiservers={"api-1": "10.201.7.31"}, proxy_ip="10.201.7.2")
    cert = other.server("api-1")
    with tls_server(cert.cert_pem, cert.key_pem) as port:
        with pytest.raises(ssl.SSLCertVerificationError):
            handshake(port, client_context(pki.ca_pem), "10.201.7.2")
        with pytest.raises(ssl.SSLCertVerificationError):
            handshake(port, tls_context(pki.ca_pem), "10.201.7.2")  # the workloads' context too


def test_client_contexts_are_built_once_per_ca(pki: RunPki) -> None:
    assert client_context(pki.ca_pem) is client_context(pki.ca_pem)
    assert tls_context(pki.ca_pem) is tls_context(pki.ca_pem)
    assert tls_context(pki.ca_pem) is not tls_context(None)


def test_apiserver_members_get_their_own_cert_and_an_https_probe(pki: RunPki) -> None:
    members = apiserver_members(ClusterSpec(apiservers=2), PLAN, "tok", pki)
    assert members[1].env["API_TLS_CERT"] == pki.server("api-2").cert_pem
    assert members[1].env["API_TLS_KEY"] == pki.server("api-2").key_pem
    assert members[1].probe.scheme == "https" and members[1].probe.ca_pem == pki.ca_pem
    plain = apiserver_members(ClusterSpec(apiservers=1), PLAN, "tok")
    assert "API_TLS_CERT" not in plain[0].env and plain[0].probe.scheme == "http"


# -- the apiserver side: API_TLS_CERT / API_TLS_KEY ------------------------------------------


def test_no_tls_env_means_plain_http() -> None:
    assert tls_from_env({}) is None
    assert tls_from_env({"API_TLS_CERT": " ", "API_TLS_KEY": ""}) is None


def test_tls_env_gives_a_server_context(pki: RunPki) -> None:
    cert = pki.server("api-1")
    context = tls_from_env({"API_TLS_CERT": cert.cert_pem, "API_TLS_KEY": cert.key_pem})
    assert isinstance(context, ssl.SSLContext)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize("present", ["API_TLS_CERT", "API_TLS_KEY"])
def test_only_one_tls_variable_names_the_missing_one(pki: RunPki, present: str) -> None:
    missing = "API_TLS_KEY" if present == "API_TLS_CERT" else "API_TLS_CERT"
    with pytest.raises(TlsConfigError, match=f"{present} is set but {missing} is empty"):
        tls_from_env({present: pki.server("api-1").cert_pem})


def test_a_path_instead_of_pem_text_says_so(pki: RunPki) -> None:
    env = {"API_TLS_CERT": "/etc/tls/tls.crt", "API_TLS_KEY": pki.server("api-1").key_pem}
    with pytest.raises(TlsConfigError, match=r"API_TLS_CERT: .*not a file path"):
        tls_from_env(env)


def test_a_key_of_another_cert_is_refused(pki: RunPki) -> None:
    env = {"API_TLS_CERT": pki.server("api-1").cert_pem, "API_TLS_KEY": pki.server("api-2").key_pem}
    with pytest.raises(TlsConfigError, match="do not load"):
        tls_from_env(env)
