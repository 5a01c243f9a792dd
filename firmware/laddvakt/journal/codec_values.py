# The codec's primitives: varints (unsigned, zigzag), strings, and the general tagged
# encoding of any JSON value but floats, with the key and word tables (codec_tables.py).
from laddvakt.journal.codec_tables import (KEYS, T_DICT, T_FALSE, T_LIST, T_NEG, T_NULL, T_STR, T_TRUE,
                                           T_UINT, T_WORD, WORDS)


class CodecError(ValueError):
    pass


def is_int(v):
    return type(v) is int


def same(a, b):
    # JSON equality: true is not 1, a tuple is a list.
    ta = list if type(a) is tuple else type(a)
    tb = list if type(b) is tuple else type(b)
    if ta is not tb:
        return False
    if ta is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if ta is dict:
        return len(a) == len(b) and all(k in b and same(a[k], b[k]) for k in a)
    return a == b


def put_uv(out, n):
    if not is_int(n) or n < 0:
        raise CodecError("not an unsigned int")
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def put_zz(out, n):
    if not is_int(n):
        raise CodecError("not an int")
    put_uv(out, n * 2 if n >= 0 else -n * 2 - 1)


def get_uv(r):
    n = sh = 0
    b = r.b
    while True:
        x = b[r.i]
        r.i += 1
        n |= (x & 0x7F) << sh
        if x < 0x80:
            return n
        sh += 7


def get_zz(r):
    n = get_uv(r)
    return n >> 1 if not n & 1 else -(n >> 1) - 1


def put_str(out, s):
    b = s.encode()
    put_uv(out, len(b))
    out.extend(b)


def _text(r, n):
    s = bytes(r.b[r.i:r.i + n]).decode()
    r.i += n
    return s


def get_str(r):
    return _text(r, get_uv(r))


def put_any(out, v):
    """The general tagged encoding of any JSON value but floats."""
    if v is None:
        out.append(T_NULL)
    elif v is False:
        out.append(T_FALSE)
    elif v is True:
        out.append(T_TRUE)
    elif is_int(v):
        if v >= 0:
            out.append(T_UINT)
            put_uv(out, v)
        else:
            out.append(T_NEG)
            put_uv(out, -v - 1)
    elif type(v) is str:
        if v in WORDS:
            out.append(T_WORD)
            put_uv(out, WORDS.index(v))
        else:
            out.append(T_STR)
            put_str(out, v)
    elif type(v) is list or type(v) is tuple:
        out.append(T_LIST)
        put_uv(out, len(v))
        for x in v:
            put_any(out, x)
    elif type(v) is dict:
        out.append(T_DICT)
        put_uv(out, len(v))
        for k, x in v.items():
            put_key(out, k)
            put_any(out, x)
    else:
        raise CodecError("no encoding for %s" % type(v))


def put_key(out, k):
    if type(k) is not str:
        raise CodecError("key not a string")
    if k in KEYS:
        put_uv(out, KEYS.index(k))
    else:
        b = k.encode()
        put_uv(out, len(KEYS) + len(b))
        out.extend(b)


def get_any(r):
    tag = r.b[r.i]
    r.i += 1
    if tag <= T_TRUE:
        return (None, False, True)[tag]
    if tag == T_UINT:
        return get_uv(r)
    if tag == T_NEG:
        return -get_uv(r) - 1
    if tag == T_STR:
        return get_str(r)
    if tag == T_WORD:
        return WORDS[get_uv(r)]
    if tag == T_LIST:
        return [get_any(r) for _ in range(get_uv(r))]
    if tag == T_DICT:
        d = {}
        for _ in range(get_uv(r)):
            k = get_uv(r)
            k = KEYS[k] if k < len(KEYS) else _text(r, k - len(KEYS))
            d[k] = get_any(r)
        return d
    raise CodecError("bad tag %d" % tag)


class Reader:
    """A payload being decoded: its bytes b and the position i of the next one."""

    def __init__(self, b, i):
        self.b = b
        self.i = i
