"""export_retrieval: a two-tower model -> a brute-force export, its ScaNN twin, the query tower."""

from __future__ import annotations

import contextlib
import math
import warnings
from pathlib import Path

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.vocabulary import Vocabulary
from tfdeeprec.export.exporter import check_max_k, write_saved_model
from tfdeeprec.export.metadata import build_metadata
from tfdeeprec.export.retrieval_module import (QueryTowerModule, RetrievalServingModule,
                                               RetrievalTables, retrieval_candidates)
from tfdeeprec.export.verify import (ExportVerificationError, check_plain_tf,
                                     verify_recommend, verify_scores)
from tfdeeprec.export.versioning import (atomic_version_dir, next_version, resolve_version,
                                         validate_name)
from tfdeeprec.models.two_tower import tower_embeddings
from tfdeeprec.retrieval import BruteForceIndex, build_scann_index, scann_available
from tfdeeprec.retrieval.scann_index import INSTALL_HINT

SCANN_SUFFIX = "_scann"
QUERY_TOWER_SUFFIX = "_query_tower"
SCANN_SAVE_OPTIONS = {"namespace_whitelist": ["Scann"]}
AGREEMENT_USERS = 1000  # users whose ScaNN and exact top 10 are compared at export
TARGET_RECALL = 0.995   # recall@10 of the served `recommend` that leaf tuning aims at


def retrieval_export_names(name: str) -> dict:
    """The model names of a retrieval export: ``name`` is the brute-force twin.

    >>> retrieval_export_names("movies")
    {'brute_force': 'movies', 'scann': 'movies_scann', 'query_tower': 'movies_query_tower'}
    """
    name = validate_name(name)
    return {"brute_force": name, "scann": name + SCANN_SUFFIX,
            "query_tower": name + QUERY_TOWER_SUFFIX}


def export_retrieval(model, user_vocab: Vocabulary, item_vocab: Vocabulary, *, base,
                     name: str, train: EncodedInteractions, version: int | None = None,
                     metadata: dict | None = None, max_k: int = 100,
                     exclude_seen: bool = True, scann: bool | None = None,
                     scann_options: dict | None = None, verify: bool = True) -> dict:
    """Writes a two-tower model as up to three TF Serving models, one shared version.

    * ``base/name/V``: ``score`` and ``recommend`` over an exact
      :class:`~tfdeeprec.retrieval.BruteForceIndex`: stock TF ops only, so stock TF
      Serving, R and Java load it.
    * ``base/name_scann/V``: the same signatures over a ScaNN index (parameters from
      the catalogue size; ``scann_options`` override them, see
      :func:`~tfdeeprec.retrieval.build_scann_index`). With a k-means tree, the leaves
      to search are tuned on what is served: the smallest of 1, 2, 4, ... leaves whose
      ``recommend`` top 10 (seen items excluded) reaches recall ``target_recall``
      (default 0.995, a key of ``scann_options``) against the brute-force export on up
      to 1,000 training users.
      Saved with the ``Scann`` op namespace allowed; loading it needs ScaNN's TF ops
      (``pip install scann==1.4.2``, or a TF Serving build with them).
    * ``base/name_query_tower/V``: the query tower alone (``embed``) and the candidate
      embeddings (``item_embedding``), for your own ANN service.

    Signatures, scores and out-of-vocabulary behaviour are described in
    :mod:`tfdeeprec.export.retrieval_module`. Each version folder appears atomically;
    the three are written and checked first, then renamed together. Each metadata file
    (``assets/tfdeeprec.json``) names the others under ``retrieval.exports``; the ScaNN
    one records its recall@10 against the brute-force twin on up to 1,000 training
    users (``retrieval.scann_recall_at_10``).

    Args:
        model: a trained embedding-family model: its ``query_tower`` and
            ``candidate_tower`` map indices to vectors (e.g.
            :class:`~tfdeeprec.models.two_tower.TwoTower`; the embedding family checks
            this before it calls here).
        user_vocab, item_vocab, train, base, version, metadata, max_k, exclude_seen: as in
            :func:`~tfdeeprec.export.export_model`.
        name (str): the brute-force twin's model name; the others add ``_scann`` and
            ``_query_tower``.
        scann (bool | None): write the ScaNN twin. ``None`` (default): when ScaNN is
            installed (otherwise a warning); ``True``: ScaNN or ``ImportError``.
        scann_options (dict | None): keyword arguments for ``build_scann_index``.
        verify (bool): reload each export and compare it with the model. Default True.

    Returns:
        ``{"brute_force": Path, "scann": Path (if written), "query_tower": Path}``.
    """
    check_max_k(max_k)
    if scann is None:
        scann = scann_available()
        if not scann:
            warnings.warn(f"{INSTALL_HINT} Writing only the brute-force export.",
                          RuntimeWarning, stacklevel=2)
    elif scann and not scann_available():
        raise ImportError(f"{INSTALL_HINT} Pass scann=False to write only the brute-force "
                          "export.")
    names = retrieval_export_names(name)
    if not scann:
        del names["scann"]
    if version is None:
        version = max(next_version(Path(base) / n) for n in names.values())
    for n in names.values():
        resolve_version(base, n, version)

    item_embeddings = tower_embeddings(model.candidate_tower, len(item_vocab))
    candidates, ids = retrieval_candidates(item_embeddings)
    tables = RetrievalTables.from_train(train)
    modules = {"brute_force": RetrievalServingModule(
        model.query_tower, item_embeddings,
        BruteForceIndex(candidates, ids, k_max=int(max_k), padding_id=-1),
        user_vocab, item_vocab, tables, exclude_seen=exclude_seen)}
    retrieval = {"exports": {kind: f"{n}/{version}" for kind, n in names.items()}}
    scann_details = {}
    if scann:
        options = dict(scann_options or {})
        target = float(options.pop("target_recall", TARGET_RECALL))
        options.setdefault("padding_id", -1)
        index = build_scann_index(candidates, ids, k_max=int(max_k), use_scann=True,
                                  **options)
        modules["scann"] = RetrievalServingModule(
            model.query_tower, item_embeddings, index, user_vocab, item_vocab, tables,
            exclude_seen=exclude_seen, index_kind="scann")
        if index.parameters["num_leaves"] and not {"num_leaves_to_search",
                                                   "tuning_queries"} & set(options):
            recall = tune_leaves_to_search(modules["brute_force"], modules["scann"],
                                           user_vocab, target)
        else:
            recall = scann_agreement(modules["brute_force"], modules["scann"], user_vocab)
        scann_details = {"scann_parameters": index.parameters,
                         "scann_build_seconds": round(index.build_seconds, 3),
                         "scann_recall_at_10": recall}
    modules["query_tower"] = QueryTowerModule(model.query_tower, item_embeddings,
                                              user_vocab, item_vocab)

    def expected(users, items):
        queries = model.query_tower(users, training=False).numpy()
        return np.sum(queries * item_embeddings[items], axis=-1)

    paths = {}
    with contextlib.ExitStack() as stack:
        for kind, n in names.items():
            module = modules[kind]
            signatures = module.signatures()
            document = build_metadata(
                module, signatures, model=model, family="embedding", user_vocab=user_vocab,
                item_vocab=item_vocab, name=n, version=version, requested_max_k=int(max_k),
                extra=metadata)
            document["exports"] = {"main": f"{n}/{version}"} | retrieval["exports"]
            document["retrieval"] = retrieval | {"index": kind, "needs": _NEEDS[kind]} | (
                scann_details if kind == "scann" else {})
            tmp = stack.enter_context(atomic_version_dir(base, n, version))
            save_options = tf.saved_model.SaveOptions(
                **(SCANN_SAVE_OPTIONS if kind == "scann" else {}))
            write_saved_model(tmp, module, signatures, document, save_options)
            if verify:
                _verify(tmp, kind, module, expected, user_vocab, item_vocab)
            paths[kind] = Path(base) / n / str(version)
    return paths


_NEEDS = {
    "brute_force": "TensorFlow only (stock ops)",
    "scann": "TensorFlow and ScaNN's TF ops (pip install scann==1.4.2, or TF Serving built "
             "with ScaNN); elsewhere load the brute-force twin, which has the same signatures",
    "query_tower": "TensorFlow only (stock ops)",
}


def scann_agreement(exact: RetrievalServingModule, approximate: RetrievalServingModule,
                    user_vocab: Vocabulary, k: int = 10, max_users: int = AGREEMENT_USERS,
                    seed: int = 0) -> float:
    """Mean share of the exact top ``k`` that the approximate module also returns.

    Users are a seeded sample of up to ``max_users`` known users; both modules exclude
    the same (seen) items.
    """
    user_ids = _agreement_users(user_vocab, max_users, seed)
    return _recall(_top_ids(exact, user_ids, k), _top_ids(approximate, user_ids, k))


def tune_leaves_to_search(exact: RetrievalServingModule, approximate: RetrievalServingModule,
                          user_vocab: Vocabulary, target_recall: float = TARGET_RECALL) -> float:
    """Sets the ScaNN index's leaves to search to the smallest power of two (or all leaves)
    whose served top 10 reaches ``target_recall`` against ``exact`` on the tuning users.

    The users are split in two seeded halves (:func:`tuning_and_held_out_users`): the
    setting is chosen on the first and the recall@10 returned is measured on the other,
    held-out half, so it is not flattered by the choice. The curve measured on the tuning
    users and the held-out recall are kept in ``index.parameters["tuning"]``.
    """
    index = approximate.index
    leaves = index.parameters["num_leaves"]
    counts = sorted({min(2 ** i, leaves) for i in range(int(math.log2(leaves)) + 2)})
    tuning, held_out = tuning_and_held_out_users(user_vocab)
    want = _top_ids(exact, tuning, 10)
    curve = {}
    for count in counts:
        index.num_leaves_to_search.assign(count)
        curve[count] = _recall(want, _top_ids(approximate, tuning, 10))
        if curve[count] >= target_recall:
            break
    index.parameters["num_leaves_to_search"] = count
    recall = _recall(_top_ids(exact, held_out, 10), _top_ids(approximate, held_out, 10))
    index.parameters["tuning"] = {
        "target_recall": target_recall, "recall_at_10_tuning_users": curve,
        "recall_at_10_held_out_users": recall,
        "measured_on": f"`recommend` top 10, seen items excluded, against the brute-force "
                       f"export; {int(tuning.shape[0])} tuning users chose the setting, "
                       f"{int(held_out.shape[0])} other users measured it"}
    return recall


def tuning_and_held_out_users(user_vocab: Vocabulary, max_users: int = AGREEMENT_USERS,
                              seed: int = 0) -> tuple[tf.Tensor, tf.Tensor]:
    """Two disjoint, seeded halves of the known users (each at most ``max_users``), as
    string IDs: the first tunes ScaNN at export, the second measures it.

    >>> from tfdeeprec.data import Vocabulary
    >>> tune, held_out = tuning_and_held_out_users(Vocabulary([str(u) for u in range(10)]))
    >>> int(tune.shape[0]), int(held_out.shape[0])
    (5, 5)
    """
    users = np.random.default_rng(seed).permutation(np.arange(1, len(user_vocab)))
    half = (len(users) + 1) // 2
    parts = users[:min(half, max_users)], users[half:half + max_users]
    return tuple(tf.constant(user_vocab.ids_of(np.sort(part)).astype(str)) for part in parts)


def _agreement_users(user_vocab: Vocabulary, max_users: int, seed: int) -> tf.Tensor:
    """A seeded, sorted sample of up to ``max_users`` known user IDs (string ``[n]``)."""
    users = np.arange(1, len(user_vocab))
    users = np.random.default_rng(seed).choice(users, size=min(max_users, len(users)),
                                               replace=False)
    return tf.constant(user_vocab.ids_of(np.sort(users)).astype(str))


def _top_ids(module: RetrievalServingModule, user_ids: tf.Tensor, k: int) -> list:
    none = tf.zeros([user_ids.shape[0], 0], tf.string)
    return module.recommend(user_ids, k, none)["item_ids"].numpy().tolist()


def _recall(want: list, got: list) -> float:
    shares = [len(set(a) & set(b) - {b""}) / max(1, len(set(a) - {b""}))
              for a, b in zip(want, got)]
    return round(float(np.mean(shares)), 4)


def _verify(folder, kind, module, expected, user_vocab, item_vocab):
    """Reloads an export and compares it with the model and the in-memory module."""
    check_plain_tf(folder, allow_scann=kind == "scann")
    loaded = tf.saved_model.load(str(folder))
    if kind == "query_tower":
        users = np.arange(1, min(len(user_vocab), 257), dtype=np.int32)
        got = loaded.signatures["embed"](
            user_id=tf.constant(user_vocab.ids_of(users).astype(str)))["embedding"].numpy()
        want = module.embed(tf.constant(user_vocab.ids_of(users).astype(str)))["embedding"]
        worst = float(np.max(np.abs(got - want.numpy())))
        if worst > 1e-5:
            raise ExportVerificationError(f"{folder}: `embed` differs from the query tower by "
                                          f"up to {worst:.3g}")
        return
    verify_scores(loaded, expected, user_vocab, item_vocab, name=str(folder))
    verify_recommend(loaded.signatures, module, user_vocab, name=str(folder))
