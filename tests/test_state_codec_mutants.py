"""Controller states to JSON and back (what survives a restart): survivors of bench/mutation.py.

The contract, from the README and the codec's docstrings: a state restored after a restart or a
power cut is the state saved; tuples travel as JSON lists; a key an older or newer agent did not
write takes its default and an unknown key is ignored; a float written as an integer is a float.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from edge.controllers.state_codec import StateCodec, state_from_dict, state_to_dict


@dataclass(frozen=True)
class _State:
    mode: str = "auto"
    on: bool = False
    switches: int = 0
    since_s: float = 0.0
    until_s: float | None = None
    history: tuple[float, ...] = ()


@dataclass(frozen=True)
class _Single:
    since_s: float = 0.0


SAVED = _State(mode="cutoff", on=True, switches=3, since_s=12.5, until_s=99.0, history=(1.0, 2.5))


def test_state_codec_round_trips_through_json() -> None:
    codec = StateCodec(_State)
    data = codec.to_dict(SAVED)
    assert data == {"mode": "cutoff", "on": True, "switches": 3, "since_s": 12.5, "until_s": 99.0, "history": [1.0, 2.5]}
    assert codec.from_dict(json.loads(json.dumps(data))) == SAVED
    assert state_to_dict(SAVED) == data
    assert state_from_dict(_State, json.loads(json.dumps(data))) == SAVED


def test_state_codec_single_field_state() -> None:
    codec = StateCodec(_Single)
    assert codec.to_dict(_Single(4.5)) == {"since_s": 4.5}
    assert codec.from_dict({"since_s": 4.5}) == _Single(4.5)


def test_state_codec_missing_keys_take_defaults_and_later_keys_still_load() -> None:
    data = {"switches": 7, "history": [3.0], "unknown": "ignored"}  # no mode, on, since_s, until_s
    for restored in (StateCodec(_State).from_dict(data), state_from_dict(_State, data)):
        assert restored == _State(switches=7, history=(3.0,))


def test_state_codec_integers_in_float_fields_become_floats_only_there() -> None:
    restored = StateCodec(_State).from_dict({"since_s": 12, "switches": 3})
    assert type(restored.since_s) is float and restored.since_s == 12.0
    assert type(restored.switches) is int


def test_state_codec_a_damaged_list_field_takes_its_default() -> None:
    assert StateCodec(_State).from_dict({"history": "garbage", "switches": 2}) == _State(switches=2)
    assert StateCodec(_State).from_dict({"history": (4.0,)}).history == (4.0,)
