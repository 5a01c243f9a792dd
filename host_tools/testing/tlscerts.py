"""Throwaway certificates for TLS tests: a CA, a server certificate it signs, a client one."""
import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _cert(subject, key, issuer, issuer_key, ca=False, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def make(host="localhost"):
    """{name: PEM text}: ca.pem, server.pem/server.key for host, client.pem/client.key,
    and other-ca.pem (a CA that signed nothing here)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("laddvakt test CA", ca_key, "laddvakt test CA", ca_key, ca=True)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _cert("some other CA", other_key, "some other CA", other_key, ca=True)
    srv_key = ec.generate_private_key(ec.SECP256R1())
    srv = _cert(host, srv_key, "laddvakt test CA", ca_key,
                san=[x509.DNSName(host), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cli_key = ec.generate_private_key(ec.SECP256R1())
    cli = _cert("laddvakt-device", cli_key, "laddvakt test CA", ca_key)
    return {"ca.pem": _pem(ca), "other-ca.pem": _pem(other), "server.pem": _pem(srv),
            "server.key": _pem_key(srv_key), "client.pem": _pem(cli), "client.key": _pem_key(cli_key)}
