"""Throwaway certificates for a realkube cluster, made with ``cryptography``.

:func:`ensure_pki` makes (or reuses, when every file is already there) in ``directory``:

- ``ca.crt``/``ca.key``: the cluster CA. It signs everything below and is what the
  kubeconfig trusts, what kube-apiserver checks client certificates against, and what it
  checks the kubelet endpoint's certificate against.
- ``apiserver.crt``/``.key``: kube-apiserver's serving certificate, valid for ``127.0.0.1``,
  ``localhost`` and the in-cluster names of the ``kubernetes`` Service.
- ``admin.crt``/``.key``: a client certificate in group ``system:masters`` (full access),
  used by the written kubeconfig and by every component (controller-manager, scheduler,
  kwok, realkube's own agents). One identity keeps the set-up small; it is a local test
  cluster that listens on 127.0.0.1 only.
- ``kubelet.crt``/``.key``: the serving certificate of the node's kubelet endpoint (127.0.0.1).
- ``sa.key``/``sa.pub``: the service-account token signing key pair.

Why ``cryptography`` and not kube-apiserver's self-signed mode or ``openssl``: the apiserver
would self-sign only its own serving certificate (clients would still need a CA and a client
credential from somewhere), and ``openssl`` is a second tool to find and drive; one well-kept
library does all of it in process. Keys are ECDSA P-256 (fast to make, accepted by Go and
Python TLS alike) except the service-account key, RSA 2048 as kube-apiserver expects by
default. Private keys are written with mode 0600. Nothing here is a secret worth keeping: the
certificates are for 127.0.0.1 and live as long as the data directory.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)
SERVICE_IP = "10.96.0.1"  # first address of the service CIDR: the `kubernetes` Service
APISERVER_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
ADMIN_USER = "realkube-admin"


@dataclass(frozen=True, slots=True)
class Pki:
    """Paths of every file :func:`ensure_pki` made."""

    directory: Path

    def path(self, name: str) -> Path:
        return self.directory / name

    @property
    def ca_crt(self) -> Path:
        return self.path("ca.crt")

    @property
    def ca_key(self) -> Path:
        return self.path("ca.key")

    @property
    def apiserver_crt(self) -> Path:
        return self.path("apiserver.crt")

    @property
    def apiserver_key(self) -> Path:
        return self.path("apiserver.key")

    @property
    def admin_crt(self) -> Path:
        return self.path("admin.crt")

    @property
    def admin_key(self) -> Path:
        return self.path("admin.key")

    @property
    def kubelet_crt(self) -> Path:
        return self.path("kubelet.crt")

    @property
    def kubelet_key(self) -> Path:
        return self.path("kubelet.key")

    @property
    def sa_key(self) -> Path:
        return self.path("sa.key")

    @property
    def sa_pub(self) -> Path:
        return self.path("sa.pub")

    def all_files(self) -> list[Path]:
        return [
            self.ca_crt,
            self.ca_key,
            self.apiserver_crt,
            self.apiserver_key,
            self.admin_crt,
            self.admin_key,
            self.kubelet_crt,
            self.kubelet_key,
            self.sa_key,
            self.sa_pub,
        ]


def _write(path: Path, data: bytes, *, private: bool) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    subject: x509.Name,
    *,
    server_names: tuple[str, ...] = (),
    server_ips: tuple[str, ...] = (),
    client: bool = False,
) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [ExtendedKeyUsageOID.SERVER_AUTH]
    builder = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server_names or server_ips:
        alternatives: list[x509.GeneralName] = [x509.DNSName(n) for n in server_names]
        alternatives += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def ensure_pki(directory: Path) -> Pki:
    """Make every certificate and key in ``directory`` unless all of them already exist."""
    pki = Pki(directory)
    if all(path.exists() for path in pki.all_files()):
        return pki
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("realkube-ca")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(pki.ca_crt, ca_cert.public_bytes(serialization.Encoding.PEM), private=False)
    _write(pki.ca_key, _key_pem(ca_key), private=True)

    leaves = {
        "apiserver": _leaf(
            ca_key,
            ca_cert,
            _name("kube-apiserver"),
            server_names=APISERVER_NAMES,
            server_ips=("127.0.0.1", SERVICE_IP),
        ),
        "admin": _leaf(ca_key, ca_cert, _name(ADMIN_USER, "system:masters"), client=True),
        "kubelet": _leaf(
            ca_key,
            ca_cert,
            _name("realkube-kubelet"),
            server_names=("localhost",),
            server_ips=("127.0.0.1",),
        ),
    }
    for stem, (cert_pem, key_pem) in leaves.items():
        _write(pki.path(f"{stem}.crt"), cert_pem, private=False)
        _write(pki.path(f"{stem}.key"), key_pem, private=True)

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write(pki.sa_key, _key_pem(sa_key), private=True)
    sa_pub = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write(pki.sa_pub, sa_pub, private=False)
    return pki
