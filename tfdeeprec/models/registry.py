"""Every model, once: a :class:`ModelSpec` per name. Training, export, the CLI, R and the
conformance tests read a model's family, tasks and defaults from here, never from its name.

A model is one file in ``tfdeeprec/models/`` plus one entry in :data:`MODELS`. Its
hyperparameter defaults are the builder's keyword defaults, overridden by
``tfdeeprec/configs/<name>.yaml`` when that file exists (RecBole's per-model files),
and overridden in turn by the user's ``model_kwargs``.

>>> spec = get_spec("neumf")
>>> spec.family, spec.tasks, spec.defaults()["hidden_units"]
('pair', ('implicit', 'rating'), [128, 64])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

from tfdeeprec.models.als import build_als, solve_als
from tfdeeprec.models.autoint import build_autoint
from tfdeeprec.models.autorec import build_autorec
from tfdeeprec.models.bert4rec import build_bert4rec
from tfdeeprec.models.cdae import build_cdae
from tfdeeprec.models.dcn import build_dcn
from tfdeeprec.models.dcn_v2 import build_dcn_v2
from tfdeeprec.models.ease import build_ease, solve_ease
from tfdeeprec.models.deepfm import build_deepfm
from tfdeeprec.models.fm import build_fm
from tfdeeprec.models.gru4rec import build_gru4rec
from tfdeeprec.models.item_knn import build_item_knn, solve_item_knn
from tfdeeprec.models.lightgcn import build_lightgcn
from tfdeeprec.models.logistic_regression import build_lr
from tfdeeprec.models.markov import build_markov, solve_markov
from tfdeeprec.models.mf import build_mf
from tfdeeprec.models.mult_vae import build_mult_dae, build_mult_vae
from tfdeeprec.models.ncf import build_gmf, build_mlp_ncf, build_neumf
from tfdeeprec.models.ngcf import build_ngcf
from tfdeeprec.models.pop import build_pop
from tfdeeprec.models.pure_svd import build_pure_svd, solve_pure_svd
from tfdeeprec.models.rankers import (autorec_ranker, gmf_ranker, mf_ranker, mlp_ncf_ranker,
                                      neumf_ranker, pop_ranker)
from tfdeeprec.models.sasrec import build_sasrec
from tfdeeprec.models.two_tower import build_two_tower
from tfdeeprec.models.wide_deep import build_wide_deep
from tfdeeprec.models.xdeepfm import build_xdeepfm

# Builder arguments that come from the data (filled in by the model's family when the
# builder takes them), not from the user's hyperparameters.
DATA_ARGUMENTS = frozenset({"task", "name", "user_features", "item_features", "adjacency",
                            "item_probabilities", "user_history", "global_mean",
                            "rating_range", "features", "feature_stats", "ratings"})


@dataclass(frozen=True)
class ModelSpec:
    """What the library knows about a registered model.

    Attributes:
        name (str): the registry name (``--model``), also the Keras model's name.
        builder (callable): ``builder(num_users, num_items, **kwargs) -> keras.Model``.
        family (str): the family that trains, scores, exports and serves it
            (``tfdeeprec.families``).
        tasks (tuple): the tasks it supports, the default first.
        description (str): one line.
        paper (str): the reference it implements.
        test_kwargs (dict): small arguments for tests (the conformance suite).
        solver (callable | None): for closed-form models, ``solver(model, train)`` sets
            the built model's weights from the training split (``EncodedInteractions``)
            instead of a gradient loop.
        ranker (callable | None): for pair models, ``ranker(model, num_items) ->
            score_fn`` scores every item for a batch of users with each user's and each
            item's work done once (``tfdeeprec.models.rankers``); without one, full
            ranking scores pair by pair.
        objective (str | None): for gradient-trained sequence models, what every
            position of a training window predicts: ``"next_item"`` (SASRec, GRU4Rec)
            or ``"cloze"`` (BERT4Rec's masked items;
            :func:`~tfdeeprec.data.sequences.make_next_item_dataset`); for embedding
            models, ``"bpr"``: trained on (user, positive, negative) triples (LightGCN;
            default: on positives).
    """

    name: str
    builder: Callable
    family: str
    tasks: tuple
    description: str
    paper: str
    test_kwargs: dict = field(default_factory=dict)
    solver: Callable | None = None
    ranker: Callable | None = None
    objective: str | None = None

    def builder_arguments(self) -> dict:
        """The builder's keyword arguments and their defaults (``inspect.Parameter.empty``
        for none), after ``num_users`` and ``num_items``."""
        params = list(inspect.signature(self.builder).parameters.values())[2:]
        return {p.name: p.default for p in params
                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}

    def defaults(self) -> dict:
        """Hyperparameter defaults: the builder's, then ``configs/<name>.yaml`` over them.

        Data-derived arguments (:data:`DATA_ARGUMENTS`) are left out; tuples become lists
        (as they read in YAML and JSON).
        """
        values = {key: list(value) if isinstance(value, tuple) else value
                  for key, value in self.builder_arguments().items()
                  if key not in DATA_ARGUMENTS and value is not inspect.Parameter.empty}
        values.update(self.file_defaults())
        return values

    def file_defaults(self) -> dict:
        """The contents of ``tfdeeprec/configs/<name>.yaml`` (``{}`` when absent)."""
        import yaml

        path = resources.files("tfdeeprec") / "configs" / f"{self.name}.yaml"
        if not path.is_file():
            return {}
        values = yaml.safe_load(path.read_text()) or {}
        unknown = sorted(set(values) - set(self.builder_arguments()))
        if unknown:
            raise ValueError(f"configs/{self.name}.yaml sets {unknown}, which "
                             f"{self.builder.__name__} does not take")
        return values

    def build(self, num_users: int, num_items: int, **kwargs):
        """The builder called with :meth:`defaults` under ``kwargs``; arguments the
        builder does not take are refused by name."""
        unknown = sorted(set(kwargs) - set(self.builder_arguments()))
        if unknown:
            raise ValueError(f"model {self.name!r} takes no argument(s) {unknown}; it takes "
                             f"{sorted(self.builder_arguments())}")
        if "task" in kwargs and kwargs["task"] not in self.tasks:
            raise ValueError(f"`task` must be one of {self.tasks} for the model {self.name!r}. "
                             f"Received: task={kwargs['task']!r}")
        return self.builder(num_users, num_items, **(self.defaults() | kwargs))


MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("mf", build_mf, "pair", ("implicit", "rating"),
              "biased matrix factorisation: mu + b_u + b_i + p_u . q_i",
              "Koren, Bell, Volinsky, Matrix Factorization Techniques for Recommender "
              "Systems, IEEE Computer 2009", {"embedding_dim": 4}, ranker=mf_ranker),
    ModelSpec("gmf", build_gmf, "pair", ("implicit", "rating"),
              "generalised matrix factorisation: a learned weighting of p_u * q_i",
              "He et al., Neural Collaborative Filtering, WWW 2017", {"embedding_dim": 4},
              ranker=gmf_ranker),
    ModelSpec("mlp_ncf", build_mlp_ncf, "pair", ("implicit", "rating"),
              "an MLP over the concatenated user and item embeddings",
              "He et al., Neural Collaborative Filtering, WWW 2017",
              {"embedding_dim": 4, "hidden_units": [8, 4]}, ranker=mlp_ncf_ranker),
    ModelSpec("neumf", build_neumf, "pair", ("implicit", "rating"),
              "GMF and MLP-NCF side by side, fused by one output layer",
              "He et al., Neural Collaborative Filtering, WWW 2017",
              {"gmf_dim": 4, "mlp_dim": 4, "hidden_units": [8, 4]}, ranker=neumf_ranker),
    ModelSpec("autorec", build_autorec, "pair", ("rating", "implicit"),
              "an autoencoder of the item's (I-AutoRec) or the user's (U-AutoRec) training "
              "ratings; the pair's score is its reconstruction's entry for the other index",
              "Sedhain et al., AutoRec: Autoencoders Meet Collaborative Filtering, WWW 2015",
              {"hidden_units": 8}, ranker=autorec_ranker),
    ModelSpec("two_tower", build_two_tower, "embedding", ("implicit",),
              "query and candidate towers trained with a logQ-corrected in-batch softmax",
              "Yi et al., Sampling-Bias-Corrected Neural Modeling for Large Corpus Item "
              "Recommendations, RecSys 2019",
              {"embedding_dim": 4, "feature_embedding_dim": 2, "hidden_units": [8]}),
    ModelSpec("lightgcn", build_lightgcn, "embedding", ("implicit",),
              "user and item vectors averaged over their propagation through the training "
              "graph, trained with BPR",
              "He et al., LightGCN: Simplifying and Powering Graph Convolution Network for "
              "Recommendation, SIGIR 2020", {"embedding_dim": 4}, objective="bpr"),
    ModelSpec("ngcf", build_ngcf, "embedding", ("implicit",),
              "user and item vectors through learned message-passing layers over the "
              "training graph, every layer's output concatenated, trained with BPR",
              "Wang et al., Neural Graph Collaborative Filtering, SIGIR 2019",
              {"embedding_dim": 4, "hidden_units": [4, 4]}, objective="bpr"),
    ModelSpec("pure_svd", build_pure_svd, "embedding", ("implicit",),
              "the user's items projected on the training matrix's top item singular "
              "vectors (closed form)",
              "Cremonesi, Koren & Turrin, Performance of Recommender Algorithms on Top-N "
              "Recommendation Tasks, RecSys 2010", {"embedding_dim": 4},
              solver=solve_pure_svd),
    ModelSpec("als", build_als, "embedding", ("implicit",),
              "implicit alternating least squares: every pair fitted, the training pairs "
              "weighted by their confidence (closed-form solves)",
              "Hu, Koren & Volinsky, Collaborative Filtering for Implicit Feedback "
              "Datasets, ICDM 2008", {"embedding_dim": 4, "iterations": 3}, solver=solve_als),
    ModelSpec("pop", build_pop, "pair", ("implicit", "rating"),
              "popularity baseline: one learned score per item, the same for every user",
              "baseline (RecBole's Pop)", ranker=pop_ranker),
    ModelSpec("item_knn", build_item_knn, "row", ("implicit",),
              "item-based k-nearest neighbours: the user's items vote with their cosine "
              "similarities (closed form)",
              "Sarwar et al., Item-Based Collaborative Filtering Recommendation Algorithms, "
              "WWW 2001", {"neighbours": 10}, solver=solve_item_knn),
    ModelSpec("ease", build_ease, "row", ("implicit",),
              "a linear item-to-item model with a zero diagonal, solved in closed form",
              "Steck, Embarrassingly Shallow Autoencoders for Sparse Data, WWW 2019",
              {"l2": 10.0}, solver=solve_ease),
    ModelSpec("mult_dae", build_mult_dae, "row", ("implicit",),
              "a denoising autoencoder of the user's items with a multinomial likelihood",
              "Liang et al., Variational Autoencoders for Collaborative Filtering, WWW 2018",
              {"hidden_units": [8], "latent_dim": 4}),
    ModelSpec("mult_vae", build_mult_vae, "row", ("implicit",),
              "a variational autoencoder of the user's items with a multinomial likelihood "
              "and an annealed KL term",
              "Liang et al., Variational Autoencoders for Collaborative Filtering, WWW 2018",
              {"hidden_units": [8], "latent_dim": 4, "anneal_steps": 4}),
    ModelSpec("cdae", build_cdae, "row", ("implicit",),
              "a denoising autoencoder of the user's items with a vector of its own per user",
              "Wu et al., Collaborative Denoising Auto-Encoders for Top-N Recommender "
              "Systems, WSDM 2016", {"embedding_dim": 4}),
    ModelSpec("markov", build_markov, "sequence", ("implicit",),
              "first-order Markov chain: next-item probabilities from the latest item "
              "(closed form)",
              "Rendle et al., Factorizing Personalized Markov Chains for Next-Basket "
              "Recommendation, WWW 2010 (its unfactorised chain)", {"max_length": 5},
              solver=solve_markov),
    ModelSpec("gru4rec", build_gru4rec, "sequence", ("implicit",),
              "a GRU over the user's items in time order; its state scores the next item",
              "Hidasi et al., Session-based Recommendations with Recurrent Neural "
              "Networks, ICLR 2016", {"max_length": 6, "embedding_dim": 8, "hidden_units": 8},
              objective="next_item"),
    ModelSpec("sasrec", build_sasrec, "sequence", ("implicit",),
              "causal self-attention over the user's latest items predicts the next one",
              "Kang & McAuley, Self-Attentive Sequential Recommendation, ICDM 2018",
              {"max_length": 6, "embedding_dim": 8, "inner_dim": 16}, objective="next_item"),
    ModelSpec("bert4rec", build_bert4rec, "sequence", ("implicit",),
              "a bidirectional Transformer trained to fill in masked items; the next item "
              "is a mask after the history",
              "Sun et al., BERT4Rec: Sequential Recommendation with Bidirectional Encoder "
              "Representations from Transformer, CIKM 2019",
              {"max_length": 6, "embedding_dim": 8, "inner_dim": 16}, objective="cloze"),
    ModelSpec("lr", build_lr, "context", ("ctr",),
              "logistic regression over the features (FM's first-order term)",
              "baseline (RecBole's LR)"),
    ModelSpec("fm", build_fm, "context", ("ctr", "rating"),
              "factorization machine: linear term plus pairwise field-embedding dot products",
              "Rendle, Factorization Machines, ICDM 2010", {"embedding_dim": 4}),
    ModelSpec("deepfm", build_deepfm, "context", ("ctr",),
              "FM plus an MLP over the same field embeddings",
              "Guo et al., DeepFM: A Factorization-Machine based Neural Network for CTR "
              "Prediction, IJCAI 2017", {"embedding_dim": 4, "hidden_units": [8]}),
    ModelSpec("xdeepfm", build_xdeepfm, "context", ("ctr",),
              "linear term, compressed interaction network (CIN) and an MLP",
              "Lian et al., xDeepFM: Combining Explicit and Implicit Feature Interactions "
              "for Recommender Systems, KDD 2018",
              {"embedding_dim": 4, "hidden_units": [8], "cin_layer_sizes": [4, 4]}),
    ModelSpec("dcn", build_dcn, "context", ("ctr",),
              "deep & cross network: a cross network beside an MLP",
              "Wang et al., Deep & Cross Network for Ad Click Predictions, ADKDD 2017",
              {"embedding_dim": 4, "hidden_units": [8], "cross_layers": 2}),
    ModelSpec("dcn_v2", build_dcn_v2, "context", ("ctr",),
              "DCN-v2: full-rank, low-rank or mixture cross layers with an MLP, stacked or "
              "parallel",
              "Wang et al., DCN V2: Improved Deep & Cross Network and Practical Lessons for "
              "Web-scale Learning to Rank Systems, WWW 2021",
              {"embedding_dim": 4, "hidden_units": [8], "low_rank": 2}),
    ModelSpec("wide_deep", build_wide_deep, "context", ("ctr", "rating"),
              "a linear model over the features and their crosses, plus an MLP over the "
              "field embeddings",
              "Cheng et al., Wide & Deep Learning for Recommender Systems, DLRS 2016",
              {"embedding_dim": 4, "hidden_units": [8]}),
    ModelSpec("autoint", build_autoint, "context", ("ctr",),
              "AutoInt+: multi-head self-attention over the fields, with an MLP",
              "Song et al., AutoInt: Automatic Feature Interaction Learning via "
              "Self-Attentive Neural Networks, CIKM 2019",
              {"embedding_dim": 4, "hidden_units": [8], "attention_layers": 1,
               "head_dim": 4}),
)}


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``; an unknown name is refused with the list."""
    if name not in MODELS:
        raise ValueError(f"`model` must be one of {sorted(MODELS)}. Received: model={name!r}")
    return MODELS[name]


def build_model(name: str, num_users: int, num_items: int, **kwargs):
    """Builds the registered model ``name`` with its defaults under ``kwargs``.

    Data arguments (side-feature tables, ``item_probabilities``, ...) reach only the
    builders that take them; others are dropped.

    >>> build_model("gmf", 4, 5, embedding_dim=2).name
    'gmf'
    >>> build_model("two_tower", 4, 5, embedding_dim=2).query_tower.name
    'query_tower'
    """
    spec = get_spec(name)
    accepted = spec.builder_arguments()
    kwargs = {key: value for key, value in kwargs.items()
              if key in accepted or key not in DATA_ARGUMENTS}
    return spec.build(num_users, num_items, **kwargs)
