import numpy as np

from tfdeeprec.data.encoded import encode
from tfdeeprec.data.vocabulary import Vocabulary


class TestEncode:
    def test_indices_and_oov(self, tiny_frame):
        users = Vocabulary(["u1", "u2", "u3"])
        items = Vocabulary(["i1", "i2", "i3", "i4"])
        enc = encode(tiny_frame, users, items)
        assert enc.user.tolist() == [1, 1, 1, 2, 2, 3, 3, 3, 3, 0]
        assert enc.item.tolist() == [1, 2, 3, 1, 4, 2, 3, 4, 0, 0]
        assert enc.user.dtype == np.int32 and enc.num_users == 4 and enc.num_items == 5
        assert enc.rating.tolist()[:3] == [5.0, 3.0, 4.0]
        known = enc.known()
        assert len(known) == 8 and known.timestamp.tolist() == [10, 20, 30, 15, 25, 5, 6, 7]
