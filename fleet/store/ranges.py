"""Inclusive integer ranges: the seqs a lane lacks, minus the ones the box reported thinned."""

from __future__ import annotations

from collections.abc import Iterable


def uncovered(seqs: Iterable[int], last: int) -> list[tuple[int, int]]:
    """Inclusive ranges of 1..last absent from `seqs` (ascending, each <= last)."""
    gaps: list[tuple[int, int]] = []
    expected = 1
    for seq in seqs:
        if seq > expected:
            gaps.append((expected, seq - 1))
        expected = max(expected, seq + 1)
    if expected <= last:
        gaps.append((expected, last))
    return gaps


def subtract(ranges: list[tuple[int, int]], covers: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """`ranges` without any seq that lies in one of `covers` (all inclusive)."""
    result = list(ranges)
    for lo, hi in covers:
        kept: list[tuple[int, int]] = []
        for a, b in result:
            if hi < a or lo > b:
                kept.append((a, b))
                continue
            if a < lo:
                kept.append((a, lo - 1))
            if b > hi:
                kept.append((hi + 1, b))
        result = kept
    return result
