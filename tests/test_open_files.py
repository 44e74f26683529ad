"""`tocsin run` lifts the soft limit on open files (systemd's default of 1,024 is low for feeds on many hosts)."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from tocsin.cli.run import raise_open_file_limit


def limits_after_raising(soft: int, wanted: int) -> tuple[int, int]:
    """The limits a fresh interpreter has after starting with `soft` and raising towards `wanted`."""
    code = (
        "import resource\n"
        "from tocsin.cli.run import raise_open_file_limit\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
        f"raise_open_file_limit({wanted})\n"
        "print(*resource.getrlimit(resource.RLIMIT_NOFILE))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60)
    soft_after, hard_after = out.stdout.split()
    return int(soft_after), int(hard_after)


def test_the_soft_limit_rises_to_what_is_wanted_within_the_hard_limit() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 512:
        pytest.skip(f"the hard limit here ({hard}) leaves nothing to raise")
    assert limits_after_raising(soft=256, wanted=512) == (512, hard)


def test_a_higher_soft_limit_is_left_alone() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    raise_open_file_limit(wanted=16)
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (soft, hard)
