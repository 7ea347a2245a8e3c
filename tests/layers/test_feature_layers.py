"""FeatureEncoder and FieldEmbedding: exact indices and vectors on hand-made rows."""

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.features import Categorical, FeatureStats, MultiValued, Numeric
from tfdeeprec.layers.feature_encoder import FeatureEncoder
from tfdeeprec.layers.field_embedding import FieldEmbedding

SPECS = [Categorical("city"), MultiValued("genres"), Categorical("h", hash_buckets=4),
         Numeric("age"), Numeric("clicks", transform="log1p"),
         Numeric("hour", transform="bucketize"), Numeric("raw", transform="none")]
STATS = FeatureStats(vocabularies={"city": ["a", "b"], "genres": ["x", "y", "z"]},
                     moments={"age": [40.0, 100.0], "clicks": [1.0, 4.0], "raw": [2.0, 1.0]},
                     boundaries={"hour": [6.0, 12.0]})
ROWS = {"city": tf.constant(["b", "", "nope"]),
        "genres": tf.constant(["z|x", "", "q|y|y"]),
        "h": tf.constant(["", "s", "s"]),
        "age": tf.constant([50.0, np.nan, 30.0]),
        "clicks": tf.constant([np.e - 1, -3.0, np.nan]),
        "hour": tf.constant([5.0, 6.0, np.nan]),
        "raw": tf.constant([7.0, np.nan, -1.0])}


def test_encoder_by_hand():
    out = {k: v.numpy().tolist() for k, v in FeatureEncoder(SPECS, STATS)(ROWS).items()}
    assert out["city"] == [3, 0, 1]  # b -> 1 + 2; "" -> missing 0; unseen -> OOV 1
    assert out["genres"] == [[4, 2, 0], [0, 0, 0], [1, 3, 3]]  # padded with 0
    assert out["h"][0] == 0 and out["h"][1] == out["h"][2] and 1 <= out["h"][1] <= 4
    assert out["age"] == pytest.approx([1.0, 0.0, -1.0])  # (x - 40) / 10; NaN -> 0
    # log1p(e - 1) = 1 -> (1 - 1) / 2 = 0; log1p(max(-3, 0)) = 0 -> -0.5; NaN -> 0.
    assert out["clicks"] == pytest.approx([0.0, -0.5, 0.0])
    assert out["hour"] == [1, 2, 0]  # 1 + bucket; edges belong to the bucket above
    assert out["raw"] == pytest.approx([7.0, 2.0, -1.0])  # NaN -> the training mean


def test_field_embedding_by_hand():
    specs = [Categorical("city"), MultiValued("genres"), Numeric("age")]
    layer = FieldEmbedding(specs, {"city": 4, "genres": 5, "age": 1}, embedding_dim=2)
    encoded = {"city": tf.constant([3, 0]), "genres": tf.constant([[4, 2, 0], [0, 0, 0]]),
               "age": tf.constant([2.0, -1.0])}
    layer(encoded)
    city = np.arange(8, dtype="float32").reshape(4, 2)
    genres = 10 + np.arange(10, dtype="float32").reshape(5, 2)
    age = np.array([[0.5, -1.0]], "float32")
    layer.embeddings.assign(np.concatenate([city, genres, age]))  # rows in table order
    assert (layer.table_rows("genres").start, layer.table_rows("age").start) == (4, 9)
    layer.linear_weights.assign([[1.0], [2.0], [3.0], [4.0], [0.0], [0.0], [10.0], [0.0],
                                 [20.0], [3.0]])
    layer.bias.assign([0.5])
    fields, linear = (t.numpy() for t in layer(encoded))
    np.testing.assert_allclose(fields[0], [city[3], (genres[4] + genres[2]) / 2, 2 * age[0]])
    np.testing.assert_allclose(fields[1], [city[0], [0, 0], -1 * age[0]])  # nothing pooled
    # linear: 0.5 + w_city + mean(w_genres) + 3 * age
    np.testing.assert_allclose(linear[:, 0], [0.5 + 4 + 15 + 6, 0.5 + 1 + 0 - 3])


def test_field_embedding_gradients_touch_only_the_rows_used():
    # A dense gradient would cost the whole table's size every step (and, with Adam or
    # SGD, a dense update): every field, plain numeric ones too, must gather its rows.
    specs = [Categorical("city"), MultiValued("genres"), Numeric("age"), Numeric("n")]
    layer = FieldEmbedding(specs, {"city": 1000, "genres": 5, "age": 1, "n": 1},
                           embedding_dim=2)
    encoded = {"city": tf.constant([3, 7]), "genres": tf.constant([[4, 2], [0, 1]]),
               "age": tf.constant([2.0, -1.0]), "n": tf.constant([0.5, 1.0])}
    with tf.GradientTape() as tape:
        fields, linear = layer(encoded)
        loss = tf.reduce_sum(fields) + tf.reduce_sum(linear)
    for grad in tape.gradient(loss, [layer.embeddings, layer.linear_weights]):
        assert isinstance(grad, tf.IndexedSlices)
        rows = set(grad.indices.numpy().tolist())
        assert rows == {3, 7, 1000, 1001, 1002, 1004, 1005, 1006}  # city, genres, age, n


def test_linear_only_and_shared_tables():
    specs = [Categorical("home", embedding="place"), Categorical("work", embedding="place")]
    layer = FieldEmbedding(specs, {"place": 3}, embedding_dim=0)
    out = layer({"home": tf.constant([1]), "work": tf.constant([2])})
    assert out.shape == (1, 1) and len(layer.weights) == 2  # one weight table + bias
    assert layer.linear_weights.shape == (3, 1)  # the shared table once
    with pytest.raises(ValueError, match="linear=False"):
        FieldEmbedding(specs, {"place": 3}, embedding_dim=0, linear=False)
    with pytest.raises(ValueError, match=r"table\(s\) \['place'\]"):
        FieldEmbedding(specs, {}, embedding_dim=2)


def test_a_model_of_both_takes_raw_values_and_reloads(tmp_path):
    inputs = {s.name: keras.Input(shape=(), name=s.name,
                                  dtype=tf.float32 if s.kind == "numeric" else tf.string)
              for s in SPECS}
    encoder = FeatureEncoder(SPECS, STATS)
    fields, linear = FieldEmbedding(SPECS, encoder.table_sizes(), embedding_dim=3)(
        encoder(inputs))
    model = keras.Model(inputs, [fields, linear])
    before = [t.numpy() for t in model(ROWS)]
    model.save(tmp_path / "m")
    again = keras.models.load_model(tmp_path / "m")
    for want, got in zip(before, again(ROWS)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
    assert encoder.table_sizes() == {"city": 4, "genres": 5, "h": 5, "age": 1, "clicks": 1,
                                     "hour": 4, "raw": 1}


def test_encoder_names_a_missing_input_and_missing_statistics():
    with pytest.raises(ValueError, match=r"missing feature input\(s\) \['age'\]"):
        FeatureEncoder([Numeric("age")], STATS)({"city": tf.constant(["a"])})
    with pytest.raises(ValueError, match="no vocabulary for 'zip'"):
        FeatureEncoder([Categorical("zip")], STATS)
