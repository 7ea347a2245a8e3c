"""ScannIndex: approximate top-k retrieval with ScaNN's TF ops, and its builder with fallback."""

from __future__ import annotations

import math
import time
import uuid
import warnings

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.retrieval._topk import (as_candidates, check_k_max, default_padding,
                                       exclude_and_truncate, search_signature,
                                       search_with_defaults)
from tfdeeprec.retrieval.brute_force_index import BruteForceIndex

INSTALL_HINT = ("ScaNN is not installed (or its TF ops do not load). It is published for "
                "Linux x86_64 only, built against one TensorFlow version: for TF 2.20 "
                "install it with `pip install scann==1.4.2`.")
BRUTE_FORCE_BELOW = 20_000   # ScaNN's guidelines: exact scoring below 20k candidates,
PARTITION_FROM = 100_000     # AH + re-scoring below 100k, tree + AH + re-scoring above
MIN_REORDER = 100         # candidates re-scored exactly after the quantized search
LEAVES_TO_SEARCH_FACTOR = 2.5  # leaves searched = 2.5 * sqrt(num_leaves)
MIN_LEAVES_TO_SEARCH = 8

_warned = False


def _import_scann_ops():
    """ScaNN's TensorFlow ops module; raises ImportError when it is missing or broken."""
    try:
        from scann.scann_ops.py import scann_ops
    except ImportError:
        raise
    except Exception as err:  # e.g. tf.errors.NotFoundError: ops built for another TF
        raise ImportError(f"{INSTALL_HINT} ({type(err).__name__}: {err})") from err
    return scann_ops


def _scann_ops_or_raise():
    """ScaNN's TF ops, or ImportError with the install instructions."""
    try:
        return _import_scann_ops()
    except ImportError as err:
        if INSTALL_HINT in str(err):
            raise
        raise ImportError(f"{INSTALL_HINT} ({err})") from err


def scann_available() -> bool:
    """Whether ScaNN's TF ops can be imported here."""
    try:
        _import_scann_ops()
    except ImportError:
        return False
    return True


def scann_parameters(num_candidates: int, k_max: int = 100) -> dict:
    """The index parameters chosen from the catalogue size ``n`` (the documented rule).

    Following ScaNN's own guidelines (``scann/docs/algorithms.md``):

    * ``n < 20,000``: exact scoring of every candidate (``scoring="brute_force"``).
    * ``20,000 <= n < 100,000``: asymmetric hashing (AH) of every candidate, then exact
      re-scoring of the best ``reorder_k`` (``scoring="ah"``, no partitioning).
    * ``n >= 100,000``: a k-means tree of ``num_leaves = round(sqrt(n))`` leaves, AH
      inside the searched leaves, then exact re-scoring.
    * ``num_leaves_to_search = clip(ceil(2.5 * sqrt(num_leaves)), 8, num_leaves)``: the
      share of the catalogue searched falls as it grows (100k: 45 of 316 leaves, 1M: 80
      of 1,000). Calibrated on clustered 64-d unit vectors (``bench/retrieval.py``) for
      recall@10 >= 0.95 against brute force; recall depends on the data, so measure it
      on your own queries, or pass ``tuning_queries`` to :func:`build_scann_index`.
    * ``reorder_k = max(100, 2 * k_max)`` candidates are re-scored exactly; AH uses 2
      dimensions per 4-bit code and an anisotropic threshold of 0.2.
    * ``training_sample_size = min(n, 100,000)`` points train the tree and codebooks.

    >>> scann_parameters(1_000_000)["num_leaves"], scann_parameters(50_000)["scoring"]
    (1000, 'ah')
    """
    n = int(num_candidates)
    params = {"scoring": "ah", "num_leaves": None, "num_leaves_to_search": None,
              "reorder_k": max(MIN_REORDER, 2 * int(k_max)),
              "training_sample_size": min(n, 100_000)}
    if n < BRUTE_FORCE_BELOW:
        params["scoring"] = "brute_force"
    elif n >= PARTITION_FROM:
        leaves = round(math.sqrt(n))
        params["num_leaves"] = leaves
        params["num_leaves_to_search"] = _leaves_to_search(leaves)
    return params


class ScannIndex(tf.Module):
    """ScaNN (optional tree, asymmetric hashing, exact re-scoring) behind the index signature.

    ``search(query_embeddings, k, exclude) -> (scores, ids)`` has the signature of
    :class:`~tfdeeprec.retrieval.BruteForceIndex`: ``k`` is chosen per request (clipped
    to ``1 .. k_max``) and ``exclude`` ``[B, E]`` lists IDs to leave out, padded with
    ``padding_id``. Scores are dot products (``distance_measure="dot_product"``).

    Per-request ``k`` and exclusion: ScaNN's ``search_batched`` takes the number of
    neighbours as a tensor, so the index asks ScaNN for ``k + E`` neighbours (and
    re-scores at least that many), drops the excluded IDs and keeps the best ``k``.
    Guarantee: the result is ScaNN's own approximate top-``(k + E)`` with the excluded
    IDs removed; at most ``E`` of them can be excluded, so ``k`` results remain whenever
    ScaNN returns ``k + E`` (with the brute-force twin this is the exact top ``k``
    among the non-excluded candidates). ScaNN may return fewer neighbours than asked
    (only the candidates of the searched leaves qualify); the tail then has score
    ``-inf`` and ID ``padding_id``.

    The ScaNN state (partitioner, codebooks, codes, the float embeddings for reordering)
    is kept in variables (``ScannState``), so ``tf.saved_model.save`` writes it; the
    SavedModel needs the ``Scann`` op namespace allowed
    (``tf.saved_model.SaveOptions(namespace_whitelist=["Scann"])``) and ScaNN's op
    library wherever it is loaded. The searcher is rebuilt from the state on the first
    search in a process and then reused: ``TensorsToScann`` runs with this index's own
    ``shared_name`` (a UUID drawn at build time), so later calls find it in the
    resource manager. Not serialised: the Python attributes (``parameters``,
    ``build_seconds``); the leaves searched per query are a variable
    (``num_leaves_to_search``) and are saved.

    Build with :func:`build_scann_index`, which also chooses the parameters.

    Args:
        candidate_embeddings: float32 ``[n, d]``.
        candidate_ids: ``[n]`` int32 / int64 / string IDs. Default: positions.
        k_max: (int) the largest ``k`` served; clipped to ``n``. Default 100.
        scoring: (str) ``"ah"`` (asymmetric hashing, then exact re-scoring of
            ``reorder_k``) or ``"brute_force"`` (exact). Default ``"ah"``.
        num_leaves: (int | None) k-means tree leaves; ``None``: no partitioning.
        num_leaves_to_search: (int) leaves searched per query (with a tree).
        reorder_k: (int) candidates re-scored exactly (AH). Default 100.
        dimensions_per_block: (int) dimensions per AH code. Default 2.
        anisotropic_quantization_threshold: (float) AH's anisotropic loss. Default 0.2.
        training_sample_size: (int) points used to train the tree and codebooks.
        training_iterations: (int) k-means iterations. Default 12.
        training_threads: (int) build threads, 0 = all cores. Default 0.
        parallel: (bool) search a batch with ScaNN's thread pool. Default False.
        padding_id: the "no item" ID (default ``""`` / ``-1``).

    Attributes:
        parameters (dict): the build and search parameters used.
        build_seconds (float): wall time of the build.
        index_bytes (int): bytes of the ScaNN state tensors (codes, tree, embeddings).
    """

    def __init__(self, candidate_embeddings, candidate_ids=None, *, k_max: int = 100,
                 scoring: str = "ah", num_leaves: int | None = None,
                 num_leaves_to_search: int | None = None, reorder_k: int = MIN_REORDER,
                 dimensions_per_block: int = 2,
                 anisotropic_quantization_threshold: float = 0.2,
                 training_sample_size: int = 100_000, training_iterations: int = 12,
                 training_threads: int = 0, parallel: bool = False, padding_id=None,
                 name: str = "scann_index"):
        super().__init__(name=name)
        scann_ops = _scann_ops_or_raise()
        embeddings, ids = as_candidates(candidate_embeddings, candidate_ids)
        self.num_candidates, self.dim = embeddings.shape
        self.k_max = check_k_max(k_max, self.num_candidates)
        self.padding_id = default_padding(ids.dtype) if padding_id is None else padding_id
        if scoring not in ("ah", "brute_force"):
            raise ValueError("`scoring` must be 'ah' or 'brute_force'. "
                             f"Received: scoring={scoring!r}")
        if num_leaves is not None and not 1 <= (num_leaves_to_search or 0) <= num_leaves:
            raise ValueError("`num_leaves_to_search` must be in 1 .. num_leaves "
                             f"({num_leaves}). Received: {num_leaves_to_search}")
        self.parameters = {
            "scoring": scoring, "num_leaves": num_leaves,
            "num_leaves_to_search": num_leaves_to_search,
            "reorder_k": int(reorder_k), "dimensions_per_block": int(dimensions_per_block),
            "anisotropic_quantization_threshold": float(anisotropic_quantization_threshold),
            "training_sample_size": int(min(training_sample_size, self.num_candidates)),
            "training_iterations": int(training_iterations),
            "training_threads": int(training_threads), "parallel": bool(parallel)}
        self._shared_name = f"tfdeeprec_scann_{uuid.uuid4().hex}"
        start = time.perf_counter()
        builder = scann_ops.builder(embeddings, self.k_max, "dot_product")
        if num_leaves is not None:
            builder = builder.tree(
                num_leaves=int(num_leaves), num_leaves_to_search=int(num_leaves_to_search),
                training_sample_size=self.parameters["training_sample_size"],
                training_iterations=int(training_iterations))
        if scoring == "brute_force":
            builder = builder.score_brute_force()
        else:
            builder = builder.score_ah(
                int(dimensions_per_block),
                anisotropic_quantization_threshold=float(anisotropic_quantization_threshold),
                training_sample_size=self.parameters["training_sample_size"])
            builder = builder.reorder(int(reorder_k))
        searcher = builder.set_n_training_threads(int(training_threads)).build(
            shared_name=self._shared_name)
        self.state = searcher.serialize_to_module()
        self.build_seconds = time.perf_counter() - start
        self.candidate_ids = tf.Variable(ids, trainable=False, name="candidate_ids")
        # A variable, so tuning (and a caller) can change it without rebuilding.
        self.num_leaves_to_search = tf.Variable(int(num_leaves_to_search or -1),
                                                trainable=False, dtype=tf.int32,
                                                name="num_leaves_to_search")
        self._ops = scann_ops
        self.search = tf.function(self._search,
                                  input_signature=search_signature(self.dim, ids.dtype))

    @property
    def index_bytes(self) -> int:
        """Bytes of the ScaNN state tensors (what the SavedModel stores for the index)."""
        total = 0
        for var in vars(self.state).values():
            if isinstance(var, tf.Variable):
                value = np.asarray(var.numpy())
                total += sum(len(v) for v in value.ravel()) if var.dtype == tf.string \
                    else value.nbytes
        return int(total)

    def __call__(self, query_embeddings, k=None, exclude=None):
        """``search`` with ``k`` defaulting to ``k_max`` and no exclusions."""
        return search_with_defaults(self, query_embeddings, k, exclude)

    def _search(self, query_embeddings, k, exclude):
        k = tf.clip_by_value(k, 1, self.k_max)
        width = tf.minimum(k + tf.shape(exclude)[1], self.num_candidates)
        s = self.state
        handle = self._ops.tensors_to_scann(
            s.dataset, s.scann_config, s.serialized_partitioner, s.datapoint_to_token,
            s.ah_codebook, s.hashed_dataset, s.int8_dataset, s.int8_multipliers, s.dp_norms,
            shared_name=self._shared_name)
        pre_reorder = tf.maximum(width, self.parameters["reorder_k"])
        result = self._ops.scann_search_batched(handle, query_embeddings, width, pre_reorder,
                                                self.num_leaves_to_search,
                                                self.parameters["parallel"])
        ids = tf.gather(self.candidate_ids, result.indices)
        return exclude_and_truncate(result.distances, ids, exclude, k, self.padding_id)


def build_scann_index(candidate_embeddings, candidate_ids=None, *, k_max: int = 100,
                      num_leaves: int | None = None, num_leaves_to_search: int | None = None,
                      reorder_k: int | None = None, tuning_queries=None,
                      target_recall: float = 0.95, use_scann: bool | None = None,
                      **kwargs):
    """A ScaNN index with parameters from the catalogue size, or its brute-force twin.

    Parameters left as ``None`` come from :func:`scann_parameters`. With
    ``tuning_queries`` (float32 ``[Q, d]``, e.g. a sample of query-tower outputs) and no
    ``num_leaves_to_search``, the number of leaves to search is instead the smallest of 1, 2, 4, ... (and finally all
    leaves) whose recall@10 against the exact top 10 of those queries reaches
    ``target_recall``; the measured curve is kept in ``index.parameters["tuning"]``.

    Args:
        candidate_embeddings: float32 ``[n, d]``.
        candidate_ids: ``[n]`` int32 / int64 / string IDs (default positions).
        k_max: (int) largest ``k`` served. Default 100.
        num_leaves, num_leaves_to_search, reorder_k: override the rule (giving
            ``num_leaves`` asks for a tree whatever the size).
        tuning_queries: optional queries to tune ``num_leaves_to_search`` on.
        target_recall: (float) recall@10 aimed at when tuning. Default 0.95.
        use_scann: ``None`` (default): ScaNN when installed, else a
            :class:`BruteForceIndex` with the same signature and a one-time warning;
            ``True``: ScaNN or ``ImportError`` with install instructions; ``False``:
            brute force.
        **kwargs: passed to :class:`ScannIndex` (``dimensions_per_block``,
            ``anisotropic_quantization_threshold``, ``training_threads``, ``parallel``,
            ``padding_id``, ``name``, ...).

    Example:

    >>> rng = np.random.default_rng(0)
    >>> items = rng.normal(size=(2000, 8)).astype("float32")
    >>> index = build_scann_index(items, k_max=10)
    >>> scores, ids = index(items[:2], k=3)
    >>> ids.shape
    TensorShape([2, 3])
    """
    global _warned
    if use_scann is None:
        use_scann = scann_available()
        if not use_scann and not _warned:
            _warned = True
            warnings.warn(f"{INSTALL_HINT} Falling back to exact brute-force retrieval "
                          "(BruteForceIndex, same signature).", RuntimeWarning, stacklevel=2)
    elif use_scann:
        _scann_ops_or_raise()
    if not use_scann:
        passed = {key: kwargs[key] for key in ("padding_id", "name") if key in kwargs}
        return BruteForceIndex(candidate_embeddings, candidate_ids, k_max=k_max, **passed)

    embeddings = np.asarray(candidate_embeddings, np.float32)
    tune = tuning_queries is not None and num_leaves_to_search is None
    rule = scann_parameters(len(embeddings), k_max)
    if num_leaves is None and num_leaves_to_search is None:
        num_leaves, num_leaves_to_search = rule["num_leaves"], rule["num_leaves_to_search"]
    elif num_leaves is not None and num_leaves_to_search is None:
        num_leaves_to_search = _leaves_to_search(num_leaves)
    kwargs.setdefault("training_sample_size", rule["training_sample_size"])
    kwargs.setdefault("scoring", "ah" if num_leaves is not None else rule["scoring"])
    index = ScannIndex(embeddings, candidate_ids, k_max=k_max, num_leaves=num_leaves,
                       num_leaves_to_search=num_leaves_to_search,
                       reorder_k=rule["reorder_k"] if reorder_k is None else reorder_k,
                       **kwargs)
    if tune and num_leaves is not None:
        _tune_leaves(index, embeddings, np.asarray(tuning_queries, np.float32), target_recall)
    return index


def _leaves_to_search(num_leaves: int) -> int:
    wanted = math.ceil(LEAVES_TO_SEARCH_FACTOR * math.sqrt(num_leaves))
    return int(min(num_leaves, max(MIN_LEAVES_TO_SEARCH, wanted)))


def _tune_leaves(index: ScannIndex, embeddings, queries, target_recall):
    """Sets the smallest ``num_leaves_to_search`` reaching ``target_recall`` (recall@10)."""
    k = min(10, index.k_max)
    exact = tf.math.top_k(tf.matmul(queries, embeddings, transpose_b=True), k=k).indices
    exact_ids = tf.gather(index.candidate_ids, exact).numpy().tolist()
    leaves = index.parameters["num_leaves"]
    counts = sorted({min(2 ** i, leaves) for i in range(int(math.log2(leaves)) + 2)})
    curve = {}
    for count in counts:
        index.num_leaves_to_search.assign(count)
        found = index(queries, k=k)[1].numpy().tolist()
        curve[count] = float(np.mean([len(set(a) & set(b)) / k
                                      for a, b in zip(found, exact_ids)]))
        if curve[count] >= target_recall:
            break
    index.parameters["num_leaves_to_search"] = count
    index.parameters["tuning"] = {"target_recall": target_recall, "recall_at_10": curve}
