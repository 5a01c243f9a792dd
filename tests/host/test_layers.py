"""The firmware's layout keeps its promises (docs/architecture.md, Layers): pure modules import
no I/O and nothing impure, the board's code imports nothing from the unix package, no module
reads another object's private attribute, and every module stays small."""
import ast
import os
import re

from host_tools.device import deploy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FW = os.path.join(ROOT, "firmware")
IO = ("os", "time", "socket", "select", "ssl", "network", "machine", "asyncio", "gc", "sys", "umqtt",
      "termios", "ffi")
MAX_LINES = 300


def modules(pkg="laddvakt"):
    """{dotted name: path} of every module under firmware/<pkg>."""
    out = {}
    for base, _, files in os.walk(os.path.join(FW, pkg)):
        for f in files:
            if f.endswith(".py"):
                p = os.path.join(base, f)
                name = os.path.relpath(p, FW)[:-3].replace(os.sep, ".")
                out[name[:-9] if name.endswith(".__init__") else name] = p
    return out


def imports(path):
    """Absolute names of what a module imports (relative imports resolved)."""
    name = os.path.relpath(path, FW)[:-3].replace(os.sep, ".")
    pkg = name.rpartition(".")[0] if not name.endswith("__init__") else name[:-9]
    out = set()
    for n in ast.walk(ast.parse(open(path).read())):
        if isinstance(n, ast.Import):
            out.update(a.name for a in n.names)
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - (n.level - 1)]
                base = ".".join(parts + ([n.module] if n.module else []))
            out.add(base)
            out.update(base + "." + a.name for a in n.names)
    return out


def layer_table():
    """[(path under firmware/laddvakt, layer)] from docs/architecture.md."""
    text = open(os.path.join(ROOT, "docs", "architecture.md")).read()
    sec = text[text.index("| Path | Layer |"):]
    rows = []
    for line in sec.splitlines()[2:]:
        if not line.startswith("|"):
            break
        m = re.match(r"\| `([^`]+)` \| (\w+) \|", line)
        assert m, line
        rows.append(m.groups())
    return rows


def layer_of(name, rows):
    rel = name.split(".", 1)[1].replace(".", "/") if "." in name else ""
    best = None
    for path, layer in rows:
        hit = rel + ".py" == path or (path.endswith("/") and (rel + "/").startswith(path))
        if hit and (best is None or len(path) > len(best[0])):
            best = (path, layer)
    return best and best[1]


def test_every_module_has_a_layer_and_the_table_names_real_paths():
    rows = layer_table()
    for path, _ in rows:
        assert os.path.exists(os.path.join(FW, "laddvakt", path)), path
    missing = [n for n in modules() if n != "laddvakt" and layer_of(n, rows) is None]
    assert not missing, missing


def test_pure_modules_import_nothing_impure():
    rows = layer_table()
    mods = modules()
    bad = []
    for name, path in mods.items():
        if layer_of(name, rows) != "pure":
            continue
        for imp in imports(path):
            top = imp.split(".")[0]
            if top in IO:
                bad.append((name, imp))
            elif (imp in mods and not mods[imp].endswith("__init__.py")
                  and layer_of(imp, rows) not in ("pure", None)):
                bad.append((name, imp))
    assert not bad, bad


def test_the_board_code_imports_nothing_from_the_unix_package():
    deployed = deploy.manifest_code()  # {remote path: .mpy} for what make deploy copies
    names = {r.lstrip("/")[:-4].replace("/", ".") for r in deployed}
    assert "laddvakt.app.agent" in names and not any(n.startswith("laddvakt_unix") for n in names)
    mods = modules()
    bad = []
    for name in names:
        name = name[:-9] if name.endswith(".__init__") else name
        if name not in mods:
            continue  # umqtt: fetched, not ours
        for imp in imports(mods[name]):
            if imp.split(".")[0] in ("laddvakt_unix", "termios", "ffi"):
                bad.append((name, imp))
    assert not bad, bad


def private_reads(path):
    """`x._name` where x is not self or cls: reading another object's private attribute."""
    out = []
    for n in ast.walk(ast.parse(open(path).read())):
        if (isinstance(n, ast.Attribute) and n.attr.startswith("_") and not n.attr.startswith("__")
                and not (isinstance(n.value, ast.Name) and n.value.id in ("self", "cls"))):
            out.append("%s:%d %s" % (os.path.relpath(path, ROOT), n.lineno, ast.unparse(n)))
    return out


def test_private_reads_are_found():
    src = "class A:\n    def f(self, b):\n        return self._x + b._y\n"
    p = os.path.join(ROOT, "build", "private_probe.py")
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(src)
    assert [r.split(" ")[1] for r in private_reads(p)] == ["b._y"]


def test_no_module_reads_another_objects_private_attributes():
    bad = []
    for pkg in ("laddvakt", "laddvakt_unix"):
        for path in modules(pkg).values():
            bad += private_reads(path)
    assert not bad, bad


def test_every_firmware_module_is_under_300_lines():
    big = []
    for pkg in ("laddvakt", "laddvakt_unix"):
        for name, path in modules(pkg).items():
            n = len(open(path).read().splitlines())
            if n >= MAX_LINES:
                big.append((name, n))
    assert not big, big
