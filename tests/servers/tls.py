"""A self-signed certificate for 127.0.0.1, made with the openssl command, for the TLS tests of the local
servers (the test is skipped where openssl is not installed)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest


def self_signed(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """(a server context with the certificate, the certificate file for clients to trust)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (needed to make a certificate for the TLS tests)")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context, cert
