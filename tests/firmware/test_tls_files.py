# CA and certificate files: every block of a PEM or DER bundle is found, in file order,
# and a damaged file is refused with a reason.
from binascii import b2a_base64

from fwtest import raises, run
from laddvakt.uplink.tls import ders

A = b"\x30\x03\x02\x01\x07"  # SEQUENCE { INTEGER 7 }
B = b"\x30\x81\x81" + b"\x04\x7f" + bytes(range(127))  # long-form length


def pem(der, kind=b"CERTIFICATE"):
    return (b"-----BEGIN " + kind + b"-----\n" + b2a_base64(der) + b"-----END " + kind + b"-----\n")


def test_pem_bundle_keeps_every_block_in_order():
    data = pem(A) + b"# text between blocks\n" + pem(B) + pem(A, b"PRIVATE KEY")
    assert ders(data) == [A, B, A]


def test_der_bundle_is_split_by_length():
    assert ders(A + B) == [A, B]
    assert ders(B) == [B]


def test_damaged_files_are_refused():
    assert "truncated" in str(raises(ValueError, ders, A + B[:-1]))
    assert "not DER" in str(raises(ValueError, ders, A + b"\x01\x00"))
    assert "not closed" in str(raises(ValueError, ders, pem(A)[:-30]))
    assert "no PEM block" in str(raises(ValueError, ders, b"-----\n"))


run(globals())
