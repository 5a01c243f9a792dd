"""`make bench`: the runner (python -m host_tools.bench), one module per area in areas/, the
tight-heap run (tight_heap). mp/ holds MicroPython scripts the areas run under the unix port:
they are not part of this package and are never imported by CPython."""


def side_by_side(*calls):
    """Run the callables at once, each in a thread (each waits on its own subprocess), and
    return their results in order; the first exception is raised once all have ended. For
    runs that mostly wait on real time (a loop ticking every 100 ms), where running them one
    after another would only add their durations up."""
    import threading

    out = [None] * len(calls)
    errors = []

    def run(i, call):
        try:
            out[i] = call()
        except BaseException as e:  # re-raised in the caller's thread below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out
