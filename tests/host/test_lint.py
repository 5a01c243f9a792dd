"""make lint's rule set (pyproject.toml, [tool.ruff]) catches real mistakes; the tree is clean under it."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUFF = os.path.join(os.path.dirname(sys.executable), "ruff")


def _ruff(*args):
    return subprocess.run([RUFF, "check", "--config", os.path.join(ROOT, "pyproject.toml"), "--output-format",
                           "concise", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_rules_catch_mistakes(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef f(x=[]):\n    return y\n")
    out = _ruff(str(bad)).stdout
    for code in ("F401", "B006", "F821"):
        assert code in out, out


def test_tree_is_clean():
    r = _ruff(".")
    assert r.returncode == 0, r.stdout
