"""A run's PKI: one CA per run, one server certificate per apiserver, and the clients' context.

In a nutshell: :func:`make_run_pki` makes an ECDSA P-256 CA named after the run and, for each
apiserver, a server certificate whose SANs cover every address a client may dial (contract C1:
``api-<i>``, ``localhost``, ``127.0.0.1``, the apiserver's IP, the proxy IP its client link
listens on, and the in-cluster names ``kubernetes``, ``kubernetes.default``,
``kubernetes.default.svc``). The apiservers get the PEMs as ``API_TLS_CERT`` / ``API_TLS_KEY``;
clients trust ``ca_pem``. :func:`client_context` builds one verifying ``ssl.SSLContext`` per CA
(cached: a context loads the CA once, and reusing it lets connections be kept alive).
Pure: no Docker, no files.

    pki = make_run_pki("cp-1a2b3c4d", apiservers={"api-1": "10.201.7.31"}, proxy_ip="10.201.7.2")
    httpx.Client(verify=client_context(pki.ca_pem)).get("https://10.201.7.2:16001/readyz")

ECDSA rather than RSA: a P-256 key takes about a millisecond to make, an RSA-2048 key tens
of milliseconds, on every cluster start; client-go, Python's ssl and kubectl 1.20 all accept it.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# A run lasts minutes; `chaosplane up` clusters may stay up for days. Thirty days covers both
# without a cert outliving any sane use of a throwaway CA. Backdated a little so a container
# clock a few seconds behind the host's never sees "not yet valid".
VALIDITY = dt.timedelta(days=30)
BACKDATE = dt.timedelta(minutes=5)
IN_CLUSTER_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerCert:
    name: str  # the apiserver, e.g. "api-1"
    cert_pem: str  # leaf certificate (what API_TLS_CERT holds)
    key_pem: str  # its PKCS#8 private key, unencrypted (what API_TLS_KEY holds)
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPki:
    ca_pem: str
    servers: Mapping[str, ServerCert]  # apiserver name → its certificate

    def server(self, name: str) -> ServerCert:
        try:
            return self.servers[name]
        except KeyError:
            made = sorted(self.servers)
            raise KeyError(f"no certificate for {name!r}; made for {made}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Issuer:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def apiserver_sans(name: str, *, api_ip: str, proxy_ip: str) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) a client may use to reach apiserver ``name`` (contract C1)."""
    dns = [name, "localhost", *IN_CLUSTER_NAMES]
    ips = list(dict.fromkeys(["127.0.0.1", api_ip, proxy_ip]))  # ordered, no duplicates
    return dns, ips


def make_run_pki(
    run_id: str,
    *,
    apiservers: Mapping[str, str],
    proxy_ip: str,
    now: dt.datetime | None = None,
) -> RunPki:
    """A fresh CA for ``run_id`` and one server certificate per ``apiservers`` name → IP."""
    now = now or dt.datetime.now(dt.UTC)
    issuer = _make_ca(run_id, now)
    servers = {}
    for name, ip in apiservers.items():
        dns, ips = apiserver_sans(name, api_ip=ip, proxy_ip=proxy_ip)
        servers[name] = _make_server_cert(issuer, name, dns=dns, ips=ips, now=now)
    return RunPki(ca_pem=_pem(issuer.cert), servers=servers)


@functools.lru_cache(maxsize=16)
def client_context(ca_pem: str) -> ssl.SSLContext:
    """A client context trusting only ``ca_pem``, hostname checked; one per CA, shared."""
    context = ssl.create_default_context(cadata=ca_pem)
    context.set_alpn_protocols(["http/1.1"])
    return context


def _make_ca(run_id: str, now: dt.datetime) -> _Issuer:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "chaosplane"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"chaosplane-ca-{run_id}"),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _Issuer(cert=cert, key=key)


def _make_server_cert(
    issuer: _Issuer, name: str, *, dns: list[str], ips: list[str], now: dt.datetime
) -> ServerCert:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    ca_ski = issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer.cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(issuer.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return ServerCert(
        name=name,
        cert_pem=_pem(cert),
        key_pem=key_pem,
        dns_names=tuple(dns),
        ip_addresses=tuple(ips),
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """ECDSA keys sign (handshakes, and certificates for the CA); they never encipher keys."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
