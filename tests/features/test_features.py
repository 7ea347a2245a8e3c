"""Feature specs, their statistics and raw values: exact results on hand-made rows."""

import numpy as np
import pandas as pd
import pytest

from tfdeeprec.features import (Categorical, FeatureStats, MultiValued, Numeric, check_specs,
                                fit_feature_stats, infer_feature_specs, raw_arrays,
                                spec_from_dict)


def test_every_kind_round_trips_through_its_dict():
    specs = [Categorical("city", hash_buckets=7, min_count=2, embedding="place"),
             MultiValued("genres", separator=";", pooling="sum"),
             Numeric("age", transform="bucketize", boundaries=(18, 30)),
             Numeric("clicks", transform="log1p")]
    for spec in specs:
        assert spec_from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("make, message", [
    (lambda: Categorical("1x"), "name='1x'"),
    (lambda: Categorical("a", hash_buckets=-1), "hash_buckets=-1"),
    (lambda: MultiValued("a", separator="||"), "separator='||'"),
    (lambda: MultiValued("a", pooling="max"), "pooling='max'"),
    (lambda: Numeric("a", transform="sqrt"), "transform='sqrt'"),
    (lambda: Numeric("a", boundaries=(3, 1)), r"boundaries=\(3, 1\)"),
    (lambda: spec_from_dict({"kind": "text", "name": "a"}), "kind='text'"),
    (lambda: spec_from_dict({"kind": "numeric", "name": "a", "vocab": 3}), r"\['vocab'\]"),
    (lambda: check_specs([Categorical("a"), Numeric("a")]), r"twice: \['a'\]"),
    (lambda: check_specs([Categorical("a", embedding="t"),
                          Categorical("b", embedding="t", hash_buckets=4)]), "share the table"),
])
def test_bad_specs_are_refused_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_statistics_by_hand():
    specs = (Categorical("city", min_count=2), MultiValued("genres"),
             Categorical("home", embedding="place"), Categorical("work", embedding="place"),
             Numeric("age"), Numeric("clicks", transform="log1p"),
             Numeric("hour", transform="bucketize", boundaries=(6, 12)),
             Categorical("hashed", hash_buckets=3))
    rows = pd.DataFrame({
        "city": ["b", "a", "b", "a", "c", ""],
        "genres": [("x", "y"), ("y",), (), ("y", "z"), ("x",), ("y",)],
        "home": ["p", "q", "q", "", "p", "p"], "work": ["r", "q", "q", "q", "q", "r"],
        "age": [20.0, 30.0, np.nan, 40.0, 50.0, 60.0],
        "clicks": [0.0, np.e - 1, np.nan, np.nan, np.nan, np.nan],
        "hour": [1.0, 7.0, 13.0, 2.0, 3.0, 4.0], "hashed": ["u", "v", "w", "u", "v", "w"]})
    # Two batches: the result must not depend on where the rows are cut.
    raw = raw_arrays(rows, specs)
    stats = fit_feature_stats(specs, [{k: v[:4] for k, v in raw.items()},
                                      {k: v[4:] for k, v in raw.items()}])
    # city: a x2, b x2, c x1 -> c dropped (min_count 2); ties by token.
    assert stats.vocabularies["city"] == ["a", "b"]
    # genres: y x4, x x2, z x1.
    assert stats.vocabularies["genres"] == ["y", "x", "z"]
    # place = home + work: q x5, p x3, r x2.
    assert stats.vocabularies["place"] == ["q", "p", "r"]
    assert "hashed" not in stats.vocabularies
    # age: mean of 20, 30, 40, 50, 60 = 40; variance (400+100+0+100+400)/5 = 200.
    assert stats.moments["age"] == pytest.approx([40.0, 200.0])
    # clicks: log1p(0) = 0, log1p(e - 1) = 1 -> mean 0.5, variance 0.25.
    assert stats.moments["clicks"] == pytest.approx([0.5, 0.25])
    assert stats.boundaries["hour"] == [6.0, 12.0]
    assert stats.rows == 6
    assert FeatureStats.from_dict(stats.to_dict()) == stats


def test_learned_bucket_edges_are_training_quantiles():
    values = np.arange(1000, dtype=np.float32)
    stats = fit_feature_stats([Numeric("x", transform="bucketize", num_buckets=4)],
                              [{"x": values[:300]}, {"x": values[300:]}])
    assert stats.boundaries["x"] == pytest.approx([249.75, 499.5, 749.25])


def test_statistics_name_what_is_missing():
    with pytest.raises(ValueError, match=r"no feature\(s\) \['age'\]"):
        fit_feature_stats([Numeric("age")], [{"city": np.array(["a"])}])
    with pytest.raises(ValueError, match="'age' has no value"):
        fit_feature_stats([Numeric("age")], [{"age": np.array([np.nan])}])


def test_raw_values_and_inference():
    frame = pd.DataFrame({"age": [25, 31, 25], "score": [0.5, 1.5, np.nan],
                          "city": ["a", None, "b"], "tags": [("x", "y"), (), ("z",)],
                          "flag": [True, False, True], "label": [1, 0, 1]})
    specs = infer_feature_specs(frame, exclude=("label",), categories_up_to=5)
    assert [(s.kind, s.name) for s in specs] == [
        ("categorical", "age"), ("numeric", "score"), ("categorical", "city"),
        ("multi_valued", "tags"), ("categorical", "flag")]
    raw = raw_arrays(frame, specs)
    assert raw["age"].tolist() == ["25", "31", "25"]
    assert raw["city"].tolist() == ["a", "", "b"]
    assert raw["tags"].tolist() == ["x|y", "", "z"]
    assert np.isnan(raw["score"][2]) and raw["score"].dtype == np.float32
    assert infer_feature_specs(frame[["age"]])[0].kind == "numeric"
    with pytest.raises(ValueError, match=r"no column\(s\) \['zip'\]"):
        raw_arrays(frame, [Categorical("zip")])
    with pytest.raises(ValueError, match="not a number: 'x'"):
        raw_arrays(pd.DataFrame({"a": ["1", "x"]}), [Numeric("a")])
    with pytest.raises(ValueError, match="holding its separator"):
        raw_arrays(pd.DataFrame({"t": [("a|b",)]}), [MultiValued("t")])
