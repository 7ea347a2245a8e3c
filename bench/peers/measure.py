"""What every peer runner reports about its own process (standard library only: it is
imported by the runners inside the peers' own virtual environments)."""

from pathlib import Path


def peak_rss_mib() -> float:
    """This process's peak resident memory since its exec (VmHWM; ``ru_maxrss`` would
    carry a large parent's peak over a fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
