import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.vocabulary import Vocabulary


class TestVocabulary:
    def test_numeric_ids_sort_as_numbers_and_oov_is_zero(self):
        vocab = Vocabulary.from_ids(["10", "9", "100", "9"])
        assert vocab.tokens == ("9", "10", "100")
        assert len(vocab) == 4
        assert vocab.lookup(["100", "9", "nope", "10"]).tolist() == [3, 1, 0, 2]

    def test_string_ids_sort_as_strings(self):
        assert Vocabulary.from_ids(["b", "a", "c10", "c9"]).tokens == ("a", "b", "c10", "c9")

    def test_ids_of_inverts_lookup_and_rejects_out_of_range(self):
        vocab = Vocabulary(["x", "y"])
        assert vocab.ids_of(vocab.lookup(["y", "x"])).tolist() == ["y", "x"]
        assert vocab.ids_of([0]).tolist() == ["[OOV]"]
        with pytest.raises(DataError, match="value: 3"):
            vocab.ids_of([3])

    def test_duplicates_and_reserved_token_are_rejected(self):
        with pytest.raises(DataError, match="'a'"):
            Vocabulary(["a", "b", "a"])
        with pytest.raises(DataError, match="reserved"):
            Vocabulary(["[OOV]"])

    def test_save_load_round_trip(self, tmp_path):
        vocab = Vocabulary(["3", "1", "2"], name="item_id")
        vocab.save(tmp_path / "v.json")
        loaded = Vocabulary.load(tmp_path / "v.json")
        assert loaded == vocab and loaded.name == "item_id"
        assert not list(tmp_path.glob("*.tmp"))

    def test_matches_keras_string_lookup(self):
        vocab = Vocabulary.from_ids([str(i) for i in range(50)])
        layer = keras.layers.StringLookup(vocabulary=list(vocab.tokens), num_oov_indices=1)
        queries = np.array(["7", "49", "zzz", "0", "-1"])
        np.testing.assert_array_equal(layer(tf.constant(queries)).numpy(), vocab.lookup(queries))
