import numpy as np
import pytest

from evonet.text import Task, binary_codes, input_size


def test_vocab_is_sorted_distinct_characters_and_indices_round_trip():
    task = Task("hello world")
    assert task.vocab == " dehlorw"
    assert task.decode(task.indices) == "hello world"
    np.testing.assert_array_equal(task.inputs, task.indices[:-1])
    np.testing.assert_array_equal(task.targets, task.indices[1:])
    assert task.n_predictions == 10


@pytest.mark.parametrize("text", ["", "x"])
def test_texts_with_nothing_to_predict_are_refused(text):
    with pytest.raises(ValueError, match="at least 2"):
        Task(text)


def test_binary_codes_are_distinct_and_compact():
    for vocab in [2, 3, 8, 9, 40]:
        codes = binary_codes(vocab)
        assert codes.shape == (vocab, input_size(vocab, "binary"))
        assert len({tuple(row) for row in codes}) == vocab
    assert input_size(9, "binary") == 4 and input_size(9, "onehot") == 9


def test_encode_names_unknown_characters():
    with pytest.raises(ValueError, match="z"):
        Task("abc").encode("az")
