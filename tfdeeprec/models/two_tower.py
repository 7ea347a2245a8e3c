"""Two-tower retrieval: query and candidate towers trained with an in-batch sampled softmax.

References:
    - Yi et al., "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item
      Recommendations", RecSys 2019 (in-batch softmax with logQ correction).
    - Yang et al., "Mixed Negative Sampling for Learning Two-tower Neural Networks in
      Recommendations", WWW 2020 (in-batch plus uniform negatives).
    - Covington et al., "Deep Neural Networks for YouTube Recommendations", RecSys 2016
      (a bag of watched items in the query tower).

Towers (functional sub-models, built by :func:`build_query_tower` and
:func:`build_candidate_tower`): input ``user_id`` / ``item_id`` (int32 ``[batch]``,
0 = OOV); side features and the optional user history are constant tables inside the
tower (``FeatureLookup``), so serving needs only the ID. Output: an L2-normalised
embedding ``float32 [batch, embedding_dim]`` (default 64-d); the score of a pair is the
dot product (the cosine). Defaults: ID embeddings of ``embedding_dim``, 16-d side-feature
embeddings, no hidden layer (a linear projection of the concatenation), no L2;
temperature 0.25, logQ correction on, no uniform negatives, accidental hits removed.

Training (:class:`TwoTower`): every ``(user_id, item_id)`` row of a batch is a positive;
each query is scored against the candidates of the whole global batch (gathered across
replicas under ``tf.distribute``), plus ``num_uniform_negatives`` uniformly sampled items
shared by the batch, with TFRS's ``tfrs.tasks.Retrieval``:

    logit(u, j) = q_u . c_j / temperature - log Q(j)          (logQ correction)
    loss        = mean over the global batch of -log softmax_j(logit(u, j))[positive]

``Q(j)`` is the probability that one candidate slot of the batch holds item ``j``: with
``B`` in-batch candidates drawn from the training frequencies ``p`` and ``M`` uniform
negatives over the ``n - 1`` real items, ``Q(j) = (B p_j + M / (n - 1)) / (B + M)``.
With ``remove_accidental_hits`` (default) a candidate with the positive's ID is left out
of that query's softmax. ``call`` returns the pair score ``q . c / temperature``.

Without the correction, in-batch candidates are popular items far more often than rare
ones, and the softmax learns the lift ``p(j | u) / p(j)`` instead of ``p(j | u)``,
which ranks rare items first (on ml-100k: NDCG@10 0.09 instead of 0.32).
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register
from tfdeeprec.data import schema
from tfdeeprec.data.side_features import FeatureTables
from tfdeeprec.layers.feature_lookup import FeatureLookup
from tfdeeprec.layers.mlp import MLP

DEFAULT_EMBEDDING_DIM = 64
DEFAULT_TEMPERATURE = 0.25  # best of 0.05-1.0 on ml-100k validation (bench/two_tower_ml100k.py)


def build_query_tower(num_users: int, user_features: FeatureTables | None = None, *,
                      user_history: np.ndarray | None = None, num_items: int | None = None,
                      embedding_dim: int = DEFAULT_EMBEDDING_DIM, id_embedding_dim=None,
                      feature_embedding_dim: int = 16, hidden_units=(),
                      dropout_rate: float = 0.0, history_dropout_rate: float = 0.0,
                      l2: float = 0.0, normalize: bool = True,
                      name: str = "query_tower") -> keras.Model:
    """The query (user) tower: ``user_id`` int32 ``[b]`` -> embedding ``[b, embedding_dim]``.

    Args:
        num_users: user vocabulary size, OOV slot included.
        user_features: side-feature tables aligned with the user vocabulary, e.g. age,
            gender, occupation (``None``: the ID only).
        user_history: optional ``int32 [num_users, L]`` item indices per user, 0-padded
            (e.g. ``build_histories(train)["history"]`` placed at each user's row); the
            tower adds the mean embedding of the user's items. Needs ``num_items``.
        embedding_dim: output width. Default 64.
        id_embedding_dim: width of the ID (and history item) embeddings. Default
            ``embedding_dim``.
        feature_embedding_dim: width of each side-feature embedding. Default 16.
        hidden_units: MLP widths before the output projection. Default ``()``.
        dropout_rate: dropout in the MLP. Default 0.
        history_dropout_rate: drops history items at training time (the mean is
            rescaled), like the input dropout of Mult-VAE. Default 0.
        l2: L2 penalty on the looked-up ID rows. Default 0.
        normalize: L2-normalise the output. Default True.

    Example:

    >>> tower = build_query_tower(5, embedding_dim=4)
    >>> out = tower(np.array([1, 2], "int32"))
    >>> out.shape, np.round(np.linalg.norm(out.numpy(), axis=1), 5).tolist()
    (TensorShape([2, 4]), [1.0, 1.0])
    """
    history = None
    if user_history is not None:
        if num_items is None:
            raise ValueError("`num_items` is needed with `user_history`. Received: None")
        history = _history_tables(np.asarray(user_history), num_users)
    return _build_tower(schema.USER_ID, num_users, user_features, history, num_items,
                        embedding_dim=embedding_dim, id_embedding_dim=id_embedding_dim,
                        feature_embedding_dim=feature_embedding_dim,
                        hidden_units=hidden_units, dropout_rate=dropout_rate,
                        history_dropout_rate=history_dropout_rate, l2=l2,
                        normalize=normalize, name=name)


def build_candidate_tower(num_items: int, item_features: FeatureTables | None = None, *,
                          embedding_dim: int = DEFAULT_EMBEDDING_DIM, id_embedding_dim=None,
                          feature_embedding_dim: int = 16, hidden_units=(),
                          dropout_rate: float = 0.0, l2: float = 0.0,
                          normalize: bool = True,
                          name: str = "candidate_tower") -> keras.Model:
    """The candidate (item) tower: ``item_id`` int32 ``[b]`` -> ``[b, embedding_dim]``.

    ``item_features`` are tables aligned with the item vocabulary (e.g. genres, year);
    the other arguments are those of :func:`build_query_tower`.

    Example:

    >>> tower = build_candidate_tower(6, embedding_dim=4)
    >>> tower(np.array([3], "int32")).shape
    TensorShape([1, 4])
    """
    return _build_tower(schema.ITEM_ID, num_items, item_features, None, None,
                        embedding_dim=embedding_dim, id_embedding_dim=id_embedding_dim,
                        feature_embedding_dim=feature_embedding_dim,
                        hidden_units=hidden_units, dropout_rate=dropout_rate,
                        history_dropout_rate=0.0, l2=l2, normalize=normalize, name=name)


def build_two_tower(num_users: int, num_items: int, *,
                    user_features: FeatureTables | None = None,
                    item_features: FeatureTables | None = None, item_probabilities=None,
                    user_history: np.ndarray | None = None, task: str = "implicit",
                    embedding_dim: int = DEFAULT_EMBEDDING_DIM, hidden_units=(),
                    feature_embedding_dim: int = 16, dropout_rate: float = 0.0,
                    history_dropout_rate: float = 0.0, l2: float = 0.0,
                    temperature: float = DEFAULT_TEMPERATURE, learn_temperature: bool = False,
                    logq_correction: bool = True, num_uniform_negatives: int = 0,
                    remove_accidental_hits: bool = True, seed: int = 0,
                    name: str = "two_tower") -> "TwoTower":
    """Both towers and the :class:`TwoTower` trainer, with the registry's builder signature.

    ``task`` must be ``"implicit"`` (the model is trained on positives only, with its own
    loss). ``item_probabilities`` are the training frequencies for the logQ correction
    (:func:`sampling_probabilities`); without them the correction has no effect.

    >>> model = build_two_tower(4, 6, embedding_dim=4)
    >>> model({"user_id": np.array([1]), "item_id": np.array([2])}).shape
    TensorShape([1])
    """
    if task != "implicit":
        raise ValueError("`task` must be 'implicit' for two-tower retrieval (positives only). "
                         f"Received: task={task!r}")
    shared = dict(embedding_dim=embedding_dim, hidden_units=hidden_units,
                  feature_embedding_dim=feature_embedding_dim, dropout_rate=dropout_rate, l2=l2)
    query = build_query_tower(num_users, user_features, user_history=user_history,
                              num_items=num_items, history_dropout_rate=history_dropout_rate,
                              **shared)
    candidate = build_candidate_tower(num_items, item_features, **shared)
    return TwoTower(query, candidate, num_items, item_probabilities=item_probabilities,
                    temperature=temperature, learn_temperature=learn_temperature,
                    logq_correction=logq_correction,
                    num_uniform_negatives=num_uniform_negatives,
                    remove_accidental_hits=remove_accidental_hits, seed=seed, name=name)


def build_factor_two_tower(num_users: int, num_items: int, embedding_dim: int, *,
                           name: str = "two_tower") -> "TwoTower":
    """A :class:`TwoTower` whose towers are one plain table each (no features, no MLP,
    not normalised, temperature 1: the score is the dot product): the form in which
    models that compute their vectors otherwise (LightGCN's propagation, PureSVD's and
    ALS's solves) score, save and export. The tables start at zero;
    :func:`set_factor_tables` writes them.

    >>> model = build_factor_two_tower(3, 4, 2)
    >>> set_factor_tables(model, np.ones((3, 2)), np.arange(8).reshape(4, 2))
    >>> model({"user_id": np.array([1]), "item_id": np.array([3])}).numpy()
    array([13.], dtype=float32)
    """
    towers = []
    for build, size in ((build_query_tower, num_users), (build_candidate_tower, num_items)):
        tower = build(size, embedding_dim=embedding_dim, normalize=False)
        tower.trainable = False
        tower.layers[-1].set_weights([np.zeros((size, embedding_dim), np.float32)])
        towers.append(tower)
    return TwoTower(*towers, num_items, temperature=1.0, name=name)


def set_factor_tables(model: "TwoTower", user_factors, item_factors) -> None:
    """Writes ``[num_users, d]`` user and ``[num_items, d]`` item vectors into a
    :func:`build_factor_two_tower` model (its score is ``user . item / temperature``)."""
    for tower, id_name, table in ((model.query_tower, schema.USER_ID, user_factors),
                                  (model.candidate_tower, schema.ITEM_ID, item_factors)):
        layer = tower.get_layer(f"{id_name}_embedding")
        table = np.asarray(table, np.float32)
        if table.shape != tuple(layer.embeddings.shape):
            raise ValueError(f"{id_name} vectors must have shape "
                             f"{tuple(layer.embeddings.shape)}. Received: {table.shape}")
        layer.embeddings.assign(table)


def sampling_probabilities(item_indices: np.ndarray, num_items: int) -> np.ndarray:
    """Each item's share of the training rows: ``count / total``, ``float32 [num_items]``.

    This is the probability that an in-batch candidate is item ``j`` when batches are
    drawn uniformly from the training rows (the ``Q`` of the logQ correction).

    >>> sampling_probabilities(np.array([1, 1, 2, 1]), 4).tolist()
    [0.0, 0.75, 0.25, 0.0]
    """
    counts = np.bincount(np.asarray(item_indices, np.int64), minlength=num_items)
    return (counts[:num_items] / max(int(counts.sum()), 1)).astype(np.float32)


def tower_embeddings(tower: keras.Model, num_ids: int, batch_size: int = 8192) -> np.ndarray:
    """The tower's output for every index ``0 .. num_ids - 1``: ``float32 [num_ids, d]``.

    >>> tower_embeddings(build_candidate_tower(6, embedding_dim=4), 6).shape
    (6, 4)
    """
    ids = np.arange(num_ids, dtype=np.int32)
    return np.concatenate([tower(ids[i:i + batch_size], training=False).numpy()
                           for i in range(0, num_ids, batch_size)])


def tower_score_fn(query_tower: keras.Model, candidate_tower: keras.Model, num_items: int):
    """A full-ranking ``score_fn``: ``users [b] -> query(users) . candidate(items) [b, n]``.

    The towers are called at every call, so the scores follow training (for
    ``RankingValidation``, which builds its score function once). For a fixed model,
    ``embedding_score_fn(tower_embeddings(...), tower_embeddings(...))`` gives the same
    scores from precomputed tables.

    >>> score_fn = tower_score_fn(build_query_tower(3, embedding_dim=4),
    ...                           build_candidate_tower(5, embedding_dim=4), 5)
    >>> score_fn(np.array([1, 2])).shape
    (2, 5)
    """
    items = tf.range(num_items, dtype=tf.int32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def scores(users):
        return tf.matmul(query_tower(users, training=False),
                         candidate_tower(items, training=False), transpose_b=True)

    return lambda users: scores(tf.convert_to_tensor(np.asarray(users, np.int32))).numpy()


@register
class TwoTower(keras.Model):
    """Trains a query and a candidate tower with an in-batch sampled softmax.

    The loss does not depend on the number of replicas: under ``tf.distribute`` each
    replica all-gathers the candidate embeddings, IDs and sampling probabilities of the
    global batch (``ReplicaContext.all_gather``, whose gradient sums the replicas'
    contributions), scores its own queries against all of them and divides its summed
    loss by the global batch size; the optimizer's all-reduce then sums the replicas'
    gradients into the single-device gradient. Uneven last batches are handled. The
    uniform negatives are drawn from ``(seed, step)`` with a stateless sampler, so every
    replica (and a single device) uses the same ones.

    Args:
        query_tower: ``user_id`` int32 ``[b]`` -> ``[b, d]`` (:func:`build_query_tower`).
        candidate_tower: ``item_id`` int32 ``[b]`` -> ``[b, d]``.
        num_items: item vocabulary size, OOV slot included.
        item_probabilities: ``float32 [num_items]`` training frequency / total
            (:func:`sampling_probabilities`); needed for the logQ correction. Default:
            uniform over the real items (then the correction changes nothing).
        temperature: (float) the softmax temperature (> 0). Default 0.25.
        learn_temperature: (bool) train ``log(temperature)`` as a weight. Default False.
        logq_correction: (bool) subtract ``log Q(j)`` from the logits. Default True.
        num_uniform_negatives: (int) extra uniformly sampled negatives per batch,
            shared by all queries. Default 0.
        remove_accidental_hits: (bool) leave candidates with the positive's ID out of
            its softmax. Default True.
        seed: (int) seed of the uniform negatives. Default 0.

    Call arguments:
        inputs: ``{"user_id": int32 [b], "item_id": int32 [b]}``.

    Output shape: ``(b,)``, the score ``q . c / temperature`` of each pair.

    Not serialized in the config: the item probabilities and the temperature are
    weights (saved with the weights, not the config).

    Example:

    >>> query = build_query_tower(4, embedding_dim=4)
    >>> candidate = build_candidate_tower(6, embedding_dim=4)
    >>> model = TwoTower(query, candidate, num_items=6,
    ...                  item_probabilities=sampling_probabilities([1, 2, 2, 5], 6))
    >>> model.compile(optimizer=keras.optimizers.Adam(0.01))
    >>> data = tf.data.Dataset.from_tensor_slices(
    ...     {"user_id": np.array([1, 2, 3, 1], "int32"),
    ...      "item_id": np.array([1, 2, 2, 5], "int32")}).batch(4)
    >>> history = model.fit(data, epochs=2, verbose=0)
    >>> history.history["loss"][1] < history.history["loss"][0]
    True
    """

    def __init__(self, query_tower: keras.Model, candidate_tower: keras.Model,
                 num_items: int, *, item_probabilities=None,
                 temperature: float = DEFAULT_TEMPERATURE, learn_temperature: bool = False,
                 logq_correction: bool = True, num_uniform_negatives: int = 0,
                 remove_accidental_hits: bool = True, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        import tensorflow_recommenders as tfrs  # heavy import, only where it is used

        if int(num_items) < 2:
            raise ValueError(f"`num_items` must be >= 2 (the OOV slot plus one item). "
                             f"Received: num_items={num_items}")
        if not float(temperature) > 0:
            raise ValueError(f"`temperature` must be positive. Received: temperature={temperature}")
        if int(num_uniform_negatives) < 0:
            raise ValueError("`num_uniform_negatives` must be >= 0. "
                             f"Received: num_uniform_negatives={num_uniform_negatives}")
        self.query_tower = query_tower
        self.candidate_tower = candidate_tower
        self.num_items = int(num_items)
        self.temperature = float(temperature)
        self.learn_temperature = bool(learn_temperature)
        self.logq_correction = bool(logq_correction)
        self.num_uniform_negatives = int(num_uniform_negatives)
        self.remove_accidental_hits = bool(remove_accidental_hits)
        self.seed = int(seed)
        if item_probabilities is None:
            item_probabilities = np.full(self.num_items, 1.0 / (self.num_items - 1), np.float32)
            item_probabilities[0] = 0.0
        item_probabilities = np.asarray(item_probabilities, np.float32)
        if item_probabilities.shape != (self.num_items,):
            raise ValueError(f"`item_probabilities` must have shape ({self.num_items},). "
                             f"Received: shape={item_probabilities.shape}")
        self.item_probability = self.add_weight(
            name="item_probability", shape=(self.num_items,), trainable=False,
            initializer=keras.initializers.Constant(item_probabilities))
        self.log_temperature = self.add_weight(
            name="log_temperature", shape=(), trainable=self.learn_temperature,
            initializer=keras.initializers.Constant(np.log(self.temperature)))
        self.task = tfrs.tasks.Retrieval(
            loss=keras.losses.CategoricalCrossentropy(
                from_logits=True, reduction=keras.losses.Reduction.SUM),
            remove_accidental_hits=self.remove_accidental_hits)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        # Training calls the towers, never the model itself; one call on a pair of OOV
        # IDs builds the model and records its input signature, so a model that was
        # only fitted can still be saved and have its parameters counted.
        self({schema.USER_ID: tf.zeros([1], tf.int32),
              schema.ITEM_ID: tf.zeros([1], tf.int32)}, training=False)

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, inputs, training=None):
        query = self.query_tower(inputs[schema.USER_ID], training=training)
        candidate = self.candidate_tower(inputs[schema.ITEM_ID], training=training)
        return tf.reduce_sum(query * candidate, axis=-1) / tf.exp(self.log_temperature)

    def compute_loss(self, inputs, training=False):
        """This replica's share of the global batch's mean loss (the loss itself on one device).

        Summed over the replicas, it is the mean softmax cross-entropy over the global
        batch, equal to the single-device loss of the same batch.
        """
        loss_sum, _, global_count = self._replica_loss(inputs, training)
        return loss_sum / tf.cast(global_count, loss_sum.dtype)

    def train_step(self, data):
        inputs = _features(data)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            loss_sum, count, global_count = self._replica_loss(inputs, training=True)
            loss = loss_sum / tf.cast(global_count, loss_sum.dtype)
            if self.losses:
                loss += tf.add_n(self.losses) / replicas
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return self._track(loss_sum, count)

    def test_step(self, data):
        loss_sum, count, _ = self._replica_loss(_features(data), training=False)
        return self._track(loss_sum, count)

    def _track(self, loss_sum, count):
        count = tf.cast(count, loss_sum.dtype)
        self.loss_tracker.update_state(tf.math.divide_no_nan(loss_sum, count),
                                       sample_weight=count)
        return {"loss": self.loss_tracker.result()}

    def _replica_loss(self, inputs, training):
        """``(summed loss of this replica's queries, their count, global batch size)``."""
        users = tf.cast(inputs[schema.USER_ID], tf.int32)
        items = tf.cast(inputs[schema.ITEM_ID], tf.int32)
        queries = self.query_tower(users, training=training)
        candidates = self.candidate_tower(items, training=training)
        count = tf.shape(items)[0]
        candidates, ids, global_count = _gather_global_batch(candidates, items, count)
        if self.num_uniform_negatives:
            negatives = self._uniform_negatives(training)
            candidates = tf.concat(
                [candidates, self.candidate_tower(negatives, training=training)], axis=0)
            ids = tf.concat([ids, negatives], axis=0)
        probability = None
        if self.logq_correction:
            probability = self._candidate_probability(ids, global_count)
        temperature = tf.exp(self.log_temperature)
        loss_sum = self.task(queries / temperature, candidates,
                             candidate_sampling_probability=probability,
                             candidate_ids=ids, compute_metrics=False,
                             compute_batch_metrics=False)
        return loss_sum, count, global_count

    def _uniform_negatives(self, training):
        step = tf.cast(self.optimizer.iterations, tf.int32) if training and \
            self.optimizer is not None else tf.constant(-1, tf.int32)
        seed = tf.stack([tf.constant(self.seed, tf.int32), step])
        return tf.random.stateless_uniform([self.num_uniform_negatives], seed=seed, minval=1,
                                           maxval=self.num_items, dtype=tf.int32)

    def _candidate_probability(self, ids, global_count):
        """``Q(j)`` of every candidate slot: the in-batch / uniform mixture."""
        in_batch = tf.cast(global_count, tf.float32)
        uniform = float(self.num_uniform_negatives)
        p = tf.gather(self.item_probability, ids)
        return (in_batch * p + uniform / (self.num_items - 1)) / (in_batch + uniform)

    def get_config(self):
        return {
            "name": self.name,
            "query_tower": keras.saving.serialize_keras_object(self.query_tower),
            "candidate_tower": keras.saving.serialize_keras_object(self.candidate_tower),
            "num_items": self.num_items,
            "temperature": self.temperature,
            "learn_temperature": self.learn_temperature,
            "logq_correction": self.logq_correction,
            "num_uniform_negatives": self.num_uniform_negatives,
            "remove_accidental_hits": self.remove_accidental_hits,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("query_tower", "candidate_tower"):
            config[key] = keras.layers.deserialize(config[key],
                                                   custom_objects=custom_objects)
        return cls(**config)


def _features(data):
    """The feature dict of a batch given as ``features`` or ``(features, labels, ...)``."""
    return data[0] if isinstance(data, (tuple, list)) else data


def _gather_global_batch(candidates, ids, count):
    """All-gathers the replicas' candidates so this replica's positives come first.

    Returns ``(candidates [N, d], ids [N], N)`` for the global batch of ``N`` rows,
    rolled so that row ``i`` is this replica's ``i``-th positive (the diagonal that
    ``tfrs.tasks.Retrieval`` expects); the order of the other rows does not change the
    softmax. Without a multi-replica strategy, the inputs are returned as they are.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return candidates, ids, count
    # One gather per dtype: int32 tensors live on the host, and one collective cannot
    # mix host and device inputs.
    sizes = context.all_gather(tf.reshape(tf.cast(count, tf.int64), [1]), axis=0)
    ids = tf.cast(context.all_gather(tf.cast(ids, tf.int64), axis=0), tf.int32)
    candidates = context.all_gather(candidates, axis=0)
    offset = tf.cast(tf.reduce_sum(sizes[:context.replica_id_in_sync_group]), tf.int32)
    return (tf.roll(candidates, -offset, axis=0), tf.roll(ids, -offset, axis=0),
            tf.cast(tf.reduce_sum(sizes), tf.int32))


def _init():
    """A fresh initializer per table (a shared unseeded one repeats its values)."""
    return keras.initializers.RandomNormal(stddev=0.05)


def _history_tables(history: np.ndarray, num_users: int):
    """``(item indices int32 [U, L], weights float32 [U, L])``: weights average the items."""
    if history.ndim != 2 or history.shape[0] != num_users:
        raise ValueError(f"`user_history` must have shape (num_users={num_users}, L). "
                         f"Received: shape={history.shape}")
    history = history.astype(np.int32)
    valid = history > 0
    lengths = valid.sum(axis=1, keepdims=True)
    weights = np.where(valid, 1.0 / np.maximum(lengths, 1), 0.0).astype(np.float32)
    return history, weights


def _build_tower(id_name, num_ids, tables, history, num_items, *, embedding_dim,
                 id_embedding_dim, feature_embedding_dim, hidden_units, dropout_rate,
                 history_dropout_rate, l2, normalize, name):
    if int(num_ids) < 2:
        raise ValueError(f"the vocabulary size must be >= 2 (the OOV slot plus one ID). "
                         f"Received: {num_ids} for {id_name}")
    if int(embedding_dim) < 1:
        raise ValueError("`embedding_dim` must be positive. "
                         f"Received: embedding_dim={embedding_dim}")
    id_dim = int(id_embedding_dim or embedding_dim)
    index = keras.Input(shape=(), dtype="int32", name=id_name)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    parts = [keras.layers.Embedding(num_ids, id_dim, embeddings_initializer=_init(),
                                    activity_regularizer=regularizer,
                                    name=f"{id_name}_embedding")(index)]
    tables = tables or FeatureTables()
    for feature, table in tables.categorical.items():
        codes = FeatureLookup(table=table, name=f"{feature}_lookup")(index)
        parts.append(keras.layers.Embedding(tables.cardinalities[feature],
                                            feature_embedding_dim, embeddings_initializer=_init(),
                                            name=f"{feature}_embedding")(codes))
    for feature, table in tables.multi_hot.items():
        flags = FeatureLookup(table=table, name=f"{feature}_lookup")(index)
        parts.append(keras.layers.Dense(feature_embedding_dim, use_bias=False,
                                        name=f"{feature}_embedding")(flags))
    if history is not None:
        items_table, weights_table = history
        items = FeatureLookup(table=items_table, name="history_lookup")(index)
        weights = FeatureLookup(table=weights_table, name="history_weight_lookup")(index)
        if history_dropout_rate:
            weights = keras.layers.Dropout(history_dropout_rate, name="history_dropout")(weights)
        vectors = keras.layers.Embedding(num_items, id_dim, embeddings_initializer=_init(),
                                         name="history_item_embedding")(items)
        parts.append(keras.layers.Dot(axes=(1, 1), name="history_mean")([weights, vectors]))
    x = keras.layers.Concatenate(name="concat")(parts) if len(parts) > 1 else parts[0]
    if hidden_units:
        x = MLP(hidden_units, dropout_rate=dropout_rate, name="mlp")(x)
    if hidden_units or len(parts) > 1 or id_dim != embedding_dim:
        x = keras.layers.Dense(embedding_dim, name="projection")(x)
    if normalize:
        x = keras.layers.UnitNormalization(name="l2_normalize")(x)
    return keras.Model(index, x, name=name)
