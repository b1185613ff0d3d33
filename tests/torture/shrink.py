"""Delta debugging (ddmin) over a schedule's events: drops events while the
same violation class still shows. Every candidate runs from fresh buckets; a
candidate that does not show the class is tried once more (crash timings and
thread interleavings are not exact)."""
import copy
import time


def shrink(sched, target, attempt, budget_s, log=lambda m: None):
    """attempt(sched) -> set of violation classes. Returns (smallest schedule
    found, candidates tried, whether the budget ran out)."""
    t_end = time.monotonic() + budget_s
    events = list(sched["events"])
    tried = 0
    out_of_time = False

    def fails(evs):
        nonlocal tried
        cand = copy.deepcopy(sched)
        cand["events"] = evs
        for _ in range(2):
            if time.monotonic() > t_end:
                return None
            tried += 1
            if target in attempt(cand):
                return True
        return False

    n = 2
    while len(events) >= 1:
        if time.monotonic() > t_end:
            out_of_time = True
            break
        chunk = max(1, len(events) // n)
        subsets = [events[i:i + chunk] for i in range(0, len(events), chunk)]
        reduced = False
        # complements first (drop one chunk), as ddmin does for n > 2
        for i in range(len(subsets)):
            comp = [e for j, s in enumerate(subsets) if j != i for e in s]
            if len(comp) == len(events):
                continue
            r = fails(comp)
            if r is None:
                out_of_time = True
                break
            if r:
                log("    shrink: %d -> %d events" % (len(events), len(comp)))
                events = comp
                n = max(n - 1, 2)
                reduced = True
                break
        if out_of_time:
            break
        if not reduced:
            if chunk == 1:
                break
            n = min(len(events), n * 2)
    res = copy.deepcopy(sched)
    res["events"] = events
    res["shrunk_for"] = target
    return res, tried, out_of_time
