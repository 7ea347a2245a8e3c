"""What the row and sequence families share: models that read a user's items, solved in
closed form by their spec's ``solver``, exported with ``recommend_from_items``."""

from __future__ import annotations

from tfdeeprec.export.items_exporter import export_items_model
from tfdeeprec.families.base import Family, TrainingPlan


class ItemsFamily(Family):
    """A family whose models take the user's items; subclasses set :attr:`kind`
    (``"row"`` or ``"sequence"``), :attr:`score_meaning` and ``score_fn``."""

    kind: str = ""
    score_meaning: str = ""
    tasks = ("implicit",)
    losses = {"implicit": ()}
    serves = ("serving_default", "score", "recommend", "recommend_default",
              "recommend_from_items")

    def training_plan(self, spec, config, data) -> TrainingPlan:
        if spec.solver is None:
            raise ValueError(f"the {self.name}-family model {spec.name!r} has no `solver`: "
                             f"{self.name} models are solved in closed form here; gradient-"
                             "trained ones need a training pipeline of their own (not built "
                             "yet)")
        train = data.train
        return TrainingPlan(self.builder(spec, config, data), None, None,
                            solve=lambda model: spec.solver(model, train))

    def max_length(self, model) -> int | None:
        """The model's history window (sequence models), else ``None``."""
        return None

    def export(self, model, user_vocab, item_vocab, *, config, base, name, train, version,
               metadata, max_k, exclude_seen, options):
        if options:
            raise ValueError(f"{self.name}-family exports take no options. "
                             f"Received: {options}")
        path = export_items_model(model, user_vocab, item_vocab, base=base, name=name,
                                  train=train, kind=self.kind,
                                  max_length=self.max_length(model), version=version,
                                  metadata=metadata, max_k=max_k, exclude_seen=exclude_seen,
                                  family=self.name, score_meaning=self.score_meaning)
        return {"main": path}
