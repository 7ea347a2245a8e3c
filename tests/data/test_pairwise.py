import numpy as np
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data.encoded import encode
from tfdeeprec.data.negative_sampler import NegativeSampler
from tfdeeprec.data.pairwise import make_pairwise_dataset
from tfdeeprec.data.split import build_vocabularies


def _epoch(dataset):
    batches = list(dataset)
    return {key: np.concatenate([b[key].numpy() for b in batches]) for key in batches[0]}


class TestMakePairwiseDataset:
    def test_triples(self, random_frame):
        enc = encode(random_frame, *build_vocabularies(random_frame))
        dataset = make_pairwise_dataset(enc, batch_size=512, seed=2)
        assert set(dataset.element_spec) == {schema.USER_ID, schema.POSITIVE_ITEM_ID,
                                             schema.NEGATIVE_ITEM_ID}
        assert all(spec.dtype == tf.int32 for spec in dataset.element_spec.values())
        epoch = _epoch(dataset)
        user, positive = epoch[schema.USER_ID], epoch[schema.POSITIVE_ITEM_ID]
        negative = epoch[schema.NEGATIVE_ITEM_ID]
        assert sorted(zip(user, positive)) == sorted(zip(enc.user, enc.item))
        positives = set(zip(enc.user.tolist(), enc.item.tolist()))
        assert not any((u, n) in positives for u, n in zip(user.tolist(), negative.tolist()))
        assert negative.min() >= 1 and negative.max() < enc.num_items
        assert not np.array_equal(negative, _epoch(dataset)[schema.NEGATIVE_ITEM_ID])

    def test_exact_with_a_forcing_sampler(self, tiny_frame):
        enc = encode(tiny_frame, *build_vocabularies(tiny_frame))
        sampler = NegativeSampler(np.repeat([1, 2, 3, 4], 4), np.tile([1, 2, 3, 4], 4), 6)
        batch = next(iter(make_pairwise_dataset(enc, sampler=sampler, batch_size=3,
                                                shuffle=False)))
        assert batch[schema.USER_ID].numpy().tolist() == [1, 1, 1]
        assert batch[schema.POSITIVE_ITEM_ID].numpy().tolist() == [1, 2, 3]
        assert batch[schema.NEGATIVE_ITEM_ID].numpy().tolist() == [5, 5, 5]

    def test_bad_batch_size_raises(self, tiny_frame):
        enc = encode(tiny_frame, *build_vocabularies(tiny_frame))
        with pytest.raises(ValueError, match="Received: batch_size=0"):
            make_pairwise_dataset(enc, batch_size=0)

    def test_sampler_of_other_items_raises(self, tiny_frame):
        enc = encode(tiny_frame, *build_vocabularies(tiny_frame))
        with pytest.raises(ValueError, match="sampler.num_items=9"):
            make_pairwise_dataset(enc, sampler=NegativeSampler([1], [1], 9))
