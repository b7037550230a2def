"""The instrumented DEAP-style call: which writes changed values, in-place change,
return convention."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from evonet.probe import Calls, call, tracked

genes = arrays(np.float32, st.integers(2, 30), elements=st.floats(-10, 10, width=32))


@given(genome=genes, data=st.data())
@settings(max_examples=60, deadline=None)
def test_a_write_counts_as_changing_exactly_when_a_value_differs(genome, data):
    values = data.draw(arrays(np.float32, genome.shape, elements=st.floats(-10, 10, width=32)))
    mask = data.draw(arrays(np.bool_, genome.shape))

    def op(ind):
        ind[mask] = values[mask]
        return (ind,)

    calls = Calls()
    (kept,) = call(op, [tracked(genome)], calls)
    differs = bool((genome[mask] != values[mask]).any())
    assert (calls.writes, calls.changing_writes) == (1, int(differs))
    assert calls.changed_in_place == int(differs)
    np.testing.assert_array_equal(kept, np.where(mask, values, genome))


def test_writes_through_a_view_are_recorded_and_restores_are_seen():
    def op(ind):
        view = ind.reshape(1, -1)
        view[0, 0] += 1.0
        view[0, 0] -= 1.0
        return (ind,)

    calls = Calls()
    call(op, [tracked(np.arange(4, dtype=np.float32))], calls)
    assert (calls.writes, calls.changing_writes, calls.changed_in_place) == (2, 2, 0)


def test_in_place_ufunc_change_is_seen_without_item_writes():
    def op(ind):
        np.add(ind, 1.0, out=ind)
        return (ind,)

    calls = Calls()
    call(op, [tracked(np.zeros(3, dtype=np.float32))], calls)
    assert (calls.writes, calls.changed_in_place, calls.returned_new) == (0, 1, 0)


def test_new_array_returned_is_counted_once_per_call_and_kept():
    calls = Calls()
    kept = call(lambda a, b: (a + 1, b), [tracked(np.zeros(3)), tracked(np.ones(3))], calls)
    assert calls.returned_new == 1 and calls.changed_in_place == 0
    np.testing.assert_array_equal(kept[0], np.ones(3))


def test_broken_calls_return_none_with_the_reason():
    calls = Calls()
    assert call(lambda ind: ind, [tracked(np.zeros(3))], calls) is None
    assert "returns its argument itself instead of a 1-tuple" in calls.bad_return
    calls = Calls()
    assert call(lambda ind: (ind.astype(np.float64),), [tracked(np.zeros(3))], calls) is None
    assert "float64" in calls.bad_array
    calls = Calls()
    assert call(lambda ind: 1 / 0, [tracked(np.zeros(3))], calls) is None
    assert calls.error == "raises ZeroDivisionError: division by zero"
