"""pytest items for the firmware tests: each `test_*` function of a tests/firmware/test_*.py
file is its own item, run alone under the unix-port micropython (never CPython), so
`pytest -k NAME` selects one firmware test. The file itself is unchanged (it runs as is on a
board with `mpremote run`); what micropython runs here is a copy in build/fwtests/ whose
plain comparisons in `assert` statements call fwtest.check, so a failure shows both values.
The copy keeps every statement on its original line, so tracebacks point at the source."""
import ast
import os
import subprocess
import tempfile

import pytest

from host_tools.repo import BUILD, ROOT
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

FW_TESTS = os.path.join(ROOT, "tests", "firmware")
REWRITTEN = os.path.join(BUILD, "fwtests")
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}


def function_names(source):
    """The top-level test functions of a firmware file, in the order fwtest.run takes them."""
    tree = ast.parse(source)
    return sorted(n.name for n in tree.body
                  if isinstance(n, ast.FunctionDef) and n.name.startswith("test_"))


def _offsets(source):
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line.encode()))
    return starts


def rewrite(source):
    """The source with each `assert A op B[, msg]` (one comparison) turned into
    `_fwc(A, "op", B[, msg])`; the statement keeps its lines."""
    data = source.encode()
    starts = _offsets(source)

    def pos(line, col):
        return starts[line - 1] + col

    edits = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare)
                and len(node.test.ops) == 1 and type(node.test.ops[0]) in _OPS):
            continue
        t = node.test

        def seg(n):
            return data[pos(n.lineno, n.col_offset):pos(n.end_lineno, n.end_col_offset)].decode()

        parts = [seg(t.left), '"%s"' % _OPS[type(t.ops[0])], seg(t.comparators[0])]
        if node.msg is not None:
            parts.append(seg(node.msg))
        a, b = pos(node.lineno, node.col_offset), pos(node.end_lineno, node.end_col_offset)
        new = "_fwc(" + ", ".join(parts)
        # Newlines outside the pieces (between operands) go before the closing parenthesis.
        new += "\n" * (data[a:b].count(b"\n") - new.count("\n")) + ")"
        edits.append((a, b, new.encode()))
    for a, b, new in sorted(edits, reverse=True):
        data = data[:a] + new + data[b:]
    text = data.decode()
    # On the first line, so that no line moves.
    return "from fwtest import check as _fwc; " + text


def prepared(name):
    """Path of the rewritten copy of tests/firmware/<name>, made when the source is newer."""
    src = os.path.join(FW_TESTS, name)
    dst = os.path.join(REWRITTEN, name)
    if not os.path.exists(dst) or os.path.getmtime(dst) < os.path.getmtime(src):
        os.makedirs(REWRITTEN, exist_ok=True)
        with open(src) as f:
            text = rewrite(f.read())
        tmp = dst + ".tmp%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, dst)
    return dst


class FirmwareFile(pytest.File):
    def collect(self):
        names = function_names(self.path.read_text())
        if not names:
            raise AssertionError("%s has no test functions" % self.path.name)
        for n in names:
            yield FirmwareItem.from_parent(self, name=n)


class FirmwareError(Exception):
    pass


class FirmwareItem(pytest.Item):
    def runtest(self):
        path = prepared(self.path.name)
        env = micropython_env(os.path.join(ROOT, "firmware"), os.path.join(BUILD, "lib"), FW_TESTS)
        with tempfile.TemporaryDirectory(prefix="fw-") as tmp:  # the test's own cwd
            p = subprocess.run([MICROPYTHON, path, self.name], cwd=tmp, env=env,
                               capture_output=True, text=True, timeout=300)
        out = (p.stdout + p.stderr).replace(path, os.path.join(FW_TESTS, self.path.name))
        lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
        skip = [ln for ln in lines if ln.startswith("SKIP " + self.name)]
        if p.returncode == 0 and skip:
            pytest.skip(skip[0][len("SKIP " + self.name):].strip())
        if p.returncode != 0 or not lines or lines[-1] != "1 passed, 0 failed, 0 skipped":
            raise FirmwareError(out)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, FirmwareError):
            return "micropython %s %s:\n%s" % (self.path.name, self.name, excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, "%s::%s (micropython)" % (self.path.name, self.name)
