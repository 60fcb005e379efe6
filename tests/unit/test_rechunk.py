"""rechunk: exact blocks, every byte once and in order, whatever sizes the pieces arrive in."""

from __future__ import annotations

import asyncio
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitalgraph.blobs.chunking import rechunk


async def _collect(pieces: list[bytes], size: int) -> list[bytes]:
    async def source():
        for piece in pieces:
            yield piece

    return [block async for block in rechunk(source(), size)]


def _check(pieces: list[bytes], size: int) -> list[bytes]:
    blocks = asyncio.run(_collect(pieces, size))
    assert b"".join(blocks) == b"".join(pieces)
    assert all(type(block) is bytes for block in blocks)
    assert all(len(block) == size for block in blocks[:-1])
    if blocks:
        assert 1 <= len(blocks[-1]) <= size
    return blocks


@settings(max_examples=300, deadline=None)
@given(
    piece_sizes=st.lists(st.integers(min_value=0, max_value=5000), max_size=40),
    size=st.integers(min_value=1, max_value=3000),
)
def test_blocks_are_exactly_size_and_concatenate_to_the_input(piece_sizes: list[int], size: int) -> None:
    data = os.urandom(sum(piece_sizes))
    pieces, at = [], 0
    for n in piece_sizes:
        pieces.append(data[at : at + n])
        at += n
    blocks = _check(pieces, size)
    assert len(blocks) == -(-len(data) // size)


def test_pieces_of_exactly_one_block_pass_through_uncopied() -> None:
    pieces = [os.urandom(1024) for _ in range(3)]
    blocks = _check(pieces, 1024)
    assert all(block is piece for block, piece in zip(blocks, pieces, strict=False))


def test_mutable_pieces_are_copied_before_being_held() -> None:
    async def source():
        buffer = bytearray(b"abc")
        yield buffer
        buffer[:] = b"XYZ"  # a producer reusing its buffer must not change bytes already taken
        yield bytearray(b"def")

    async def collect() -> list[bytes]:
        return [block async for block in rechunk(source(), 4)]

    assert asyncio.run(collect()) == [b"abcd", b"ef"]


def test_empty_stream_yields_nothing_and_size_must_be_positive() -> None:
    assert _check([], 10) == []
    assert _check([b"", b""], 10) == []
    with pytest.raises(ValueError, match="positive"):
        asyncio.run(_collect([b"x"], 0))
