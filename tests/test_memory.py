"""release_free_memory: freed heap pages that free() leaves resident go back to the system."""

import sys

import pytest

from tfdeeprec._memory import release_free_memory


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_heap_blocks_leave_the_resident_set():
    # 200 MB of 100 KB blocks (under malloc's mmap threshold: they live in the heap); the
    # last one stays in use, so the heap's top cannot shrink and free() returns nothing.
    blocks = [bytearray(100_000) for _ in range(2000)]
    last = blocks.pop()
    del blocks
    before = _rss_mib()
    assert release_free_memory() is True
    assert before - _rss_mib() > 100, "the freed blocks stayed resident"
    assert len(last) == 100_000
