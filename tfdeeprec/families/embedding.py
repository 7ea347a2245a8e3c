"""The embedding family: a user vector and an item vector whose dot product is the score.

Its models (two-tower, LightGCN, NGCF, PureSVD, ALS) expose ``query_tower`` (``user
index int32 [b] -> [b, d]``) and ``candidate_tower`` (``item index -> [b, d]``); the
family needs nothing else from them. Each trains with its own loss: on positives alone
(the in-batch softmax of two-tower) or, for a spec whose ``objective`` is ``"bpr"``
(LightGCN, NGCF), on (user, positive, sampled negative) triples; a model that computes
its vectors from the training graph then gives its ``freeze()``, a two-tower model of
the final vectors, to evaluate, save and export. Closed-form models (PureSVD, ALS) are
solved by their spec's ``solver`` instead, straight into such a two-tower model. It
ranks with one matmul against the item table and exports a brute-force ``recommend``
(stock TF ops), its ScaNN twin and the query tower through
:func:`~tfdeeprec.export.export_retrieval`.
"""

from __future__ import annotations

from tfdeeprec.data.pairwise import make_pairwise_dataset
from tfdeeprec.data.pointwise import make_positive_dataset
from tfdeeprec.evaluation import embedding_score_fn
from tfdeeprec.export.retrieval_exporter import export_retrieval
from tfdeeprec.families.base import Family, TrainingPlan
from tfdeeprec.models.two_tower import tower_embeddings, tower_score_fn

EXPORT_OPTIONS = ("scann", "scann_options")


class EmbeddingFamily(Family):
    """User and item embeddings scored by their dot product."""

    name = "embedding"
    description = "user -> vector, item -> vector; ranks with one matmul; ScaNN twin"
    tasks = ("implicit",)
    losses = {"implicit": ()}
    serves = ("serving_default", "score", "recommend", "recommend_default")

    def training_plan(self, spec, config, data) -> TrainingPlan:
        if spec.solver is not None:  # PureSVD, ALS: solved, no gradient loop
            train = data.train
            return TrainingPlan(self.builder(spec, config, data), None, None,
                                solve=lambda model: spec.solver(model, train))
        evaluator = self.validation_evaluator(data, config)
        monitor = f"val_ndcg@{config.ks[0]}"
        if spec.objective == "bpr":
            triples = make_pairwise_dataset(data.train.known(), batch_size=config.batch_size,
                                            distribution=config.negative_distribution,
                                            seed=config.seed)
            return TrainingPlan(self.builder(spec, config, data), triples, None,
                                ranking_evaluator=evaluator, monitor=monitor,
                                scorer=lambda fitted: fitted.freeze(),
                                validation_score=lambda fitted: self.score_fn(
                                    fitted, data.train, live=True))
        positives = make_positive_dataset(data.train, batch_size=config.batch_size,
                                          seed=config.seed)
        return TrainingPlan(self.builder(spec, config, data), positives, None,
                            ranking_evaluator=evaluator, monitor=monitor)

    def score_fn(self, model, train, *, live=False):
        query, candidate = _towers(model)
        if live:
            return tower_score_fn(query, candidate, train.num_items)
        return embedding_score_fn(tower_embeddings(query, train.num_users),
                                  tower_embeddings(candidate, train.num_items))

    def export(self, model, user_vocab, item_vocab, *, config, base, name, train, version,
               metadata, max_k, exclude_seen, options):
        unknown = sorted(set(options) - set(EXPORT_OPTIONS))
        if unknown:
            raise ValueError(f"embedding-family exports take the options {EXPORT_OPTIONS}. "
                             f"Received: {unknown}")
        _towers(model)
        paths = export_retrieval(model, user_vocab, item_vocab, base=base, name=name,
                                 train=train, version=version, metadata=metadata,
                                 max_k=max_k, exclude_seen=exclude_seen, **options)
        return {"main": paths["brute_force"], **paths}


def _towers(model):
    query = getattr(model, "query_tower", None)
    candidate = getattr(model, "candidate_tower", None)
    if query is None or candidate is None:
        raise ValueError("an embedding-family model needs `query_tower` and "
                         f"`candidate_tower`. Received: {type(model).__name__}")
    return query, candidate
