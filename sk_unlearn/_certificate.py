"""The certificate ``UnlearnableClassifier.certify`` returns, and its cheap reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from .metrics import per_example_loss

COSINE = "cosine_divergence"
ADVANTAGE = "membership_advantage"
CALIBRATED = "calibrated_z"


@dataclass(frozen=True, eq=False, repr=False)
class Certificate:
    """What a model's outputs say, row by row, about whether forgotten rows were forgotten.

    Returned by :meth:`UnlearnableClassifier.certify
    <sk_unlearn.UnlearnableClassifier.certify>`. A certificate is evidence,
    not a proof: random relabeling is approximate and the certificate is no
    differential-privacy guarantee (see ``docs/user_guide.md``, "Reading a
    certificate"). It says what it tested (``measure``), against what
    (``reference``), at what error rate (``alpha``, ``false_positive_rate``),
    and its verdict (``verdicts``, ``within_threshold``).

    Attributes
    ----------
    divergences : ndarray of shape (n_rows,)
        One value per certified row (read-only), in the units of ``measure``:

        * ``"calibrated_z"`` (an :class:`OutOfFoldReference`): how many
          standard deviations the model's confidence in the row's label lies
          above (positive: still remembered) or below (negative:
          over-forgotten) what models that never saw the row give, on each
          model's own scale. About 0 for a row the model never saw.
        * ``"cosine_divergence"`` (references ``"retrain"`` and ``"model"``):
          the :func:`~sk_unlearn.metrics.cosine_divergence` between the
          model's predicted probabilities and the reference model's, in [0, 1].
        * ``"membership_advantage"`` (reference ``"held-out"``): ``2 s - 1`` in
          [-1, 1], ``s`` the share of held-out rows with a higher loss than the
          row.
    reference : str
        ``"out-of-fold"``, ``"retrain"``, ``"model"`` (a classifier passed by
        the caller) or ``"held-out"``.
    measure : str
        ``"calibrated_z"``, ``"cosine_divergence"`` or ``"membership_advantage"``.
    threshold : float or None
        What the values are judged against: the test's critical ``|z|`` for
        ``"calibrated_z"``; else the estimator's ``max_divergence`` (None: no
        verdict).
    model_version : int
        The ``model_version_`` of the model the values were measured on.
    retrained : bool
        Whether this certificate made the estimator retrain from scratch
        (its mean was over ``max_divergence``). The values describe the model
        before that retraining; the retrained one serves every removal
        exactly.
    guarantee : str
        What the estimator's removals are, whatever the values say:
        ``"exact"`` when every removal since the model was last trained from
        scratch was served exactly (by sufficient statistics), so the model
        is by construction the one retraining gives; ``"approximate"`` when at
        least one was served by random relabeling.
    verdicts : tuple of str or None
        Per row, for ``"calibrated_z"``: ``"forgotten"``, ``"remembered"`` or
        ``"over-forgotten"`` (see :class:`OutOfFoldReference`). None for the
        other measures, whose verdict is on the mean only.
    alpha : float or None
        The nominal false-positive rate per row of the ``"calibrated_z"``
        test: how often a model that never saw a row is flagged on it.
    false_positive_rate : float or None
        That rate as measured when the reference was built, on rows no model
        saw.
    reference_seconds : float or None
        What building the reference cost (paid once, then reused until the
        model is trained from scratch again).
    epsilon, delta : float or None
        For ``guarantee == "certified"``: the (epsilon, delta) of the
        certified-removal guarantee (Guo et al.): over the draw of the
        training noise, the model is distributed nearly as one trained without
        the removed rows. A statement about the model's distribution, not a
        divergence; it holds whatever the values above say.
    budget, budget_spent : float or None
        For ``guarantee == "certified"``: the gradient-residual bound the
        guarantee allows per binary model, and the largest one reached so far
        (a removal that would pass the budget is served by retraining).
    n_rows : int
        Number of certified rows.
    mean : float
        Mean of ``divergences``. For ``"membership_advantage"`` it is
        ``2 AUC - 1`` of the loss-threshold attack, certified rows against the
        held-out rows.
    max : float
        Largest of ``divergences``.
    n_remembered, n_over_forgotten : int or None
        Rows with each failing verdict (``"calibrated_z"`` only).
    within_threshold : bool or None
        The verdict: for ``"calibrated_z"``, every row ``"forgotten"``; for
        ``"cosine_divergence"``, ``mean <= threshold``; for
        ``"membership_advantage"``, ``|mean| <= threshold`` (two-sided: rows
        that look *less* like members than unseen rows do are not certified
        either); None when no threshold was set.
    """

    divergences: np.ndarray
    reference: str
    measure: str
    threshold: float | None
    model_version: int
    retrained: bool = False
    guarantee: str = "approximate"
    verdicts: tuple[str, ...] | None = None
    alpha: float | None = None
    false_positive_rate: float | None = None
    reference_seconds: float | None = None
    epsilon: float | None = None
    delta: float | None = None
    budget: float | None = None
    budget_spent: float | None = None
    n_rows: int = field(init=False)
    mean: float = field(init=False)
    max: float = field(init=False)
    n_remembered: int | None = field(init=False)
    n_over_forgotten: int | None = field(init=False)
    within_threshold: bool | None = field(init=False)

    def __post_init__(self) -> None:
        values = np.array(self.divergences, dtype=np.float64).ravel()
        if values.size == 0:
            raise ValueError("A certificate needs at least one row.")
        values.setflags(write=False)
        mean = float(values.mean())
        derived: dict[str, Any] = {
            "divergences": values,
            "n_rows": int(values.size),
            "mean": mean,
            "max": float(values.max()),
            "n_remembered": None,
            "n_over_forgotten": None,
        }
        if self.verdicts is not None:
            verdicts = tuple(str(v) for v in self.verdicts)
            if len(verdicts) != values.size:
                raise ValueError("A certificate needs one verdict per row.")
            derived["verdicts"] = verdicts
            derived["n_remembered"] = verdicts.count("remembered")
            derived["n_over_forgotten"] = verdicts.count("over-forgotten")
            derived["within_threshold"] = all(v == "forgotten" for v in verdicts)
        elif self.threshold is None:
            derived["within_threshold"] = None
        elif self.measure == ADVANTAGE:
            derived["within_threshold"] = abs(mean) <= self.threshold
        else:
            derived["within_threshold"] = mean <= self.threshold
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    @property
    def forgotten(self) -> np.ndarray | None:
        """Per row, whether its verdict is ``"forgotten"`` (``"calibrated_z"`` only)."""
        if self.verdicts is None:
            return None
        return np.array([v == "forgotten" for v in self.verdicts])

    def __repr__(self) -> str:
        threshold = "None" if self.threshold is None else f"{self.threshold:.4g}"
        verdict = ""
        if self.verdicts is not None:
            verdict = (
                f"n_remembered={self.n_remembered}, n_over_forgotten={self.n_over_forgotten}, "
                f"alpha={self.alpha}, false_positive_rate={self.false_positive_rate:.3g}, "
            )
        certified = ""
        if self.epsilon is not None:
            certified = (
                f"epsilon={self.epsilon:.4g}, delta={self.delta:.4g}, "
                f"budget_spent={self.budget_spent:.4g}/{self.budget:.4g}, "
            )
        return (
            f"Certificate(reference={self.reference!r}, measure={self.measure!r}, "
            f"n_rows={self.n_rows}, mean={self.mean:.4g}, max={self.max:.4g}, "
            f"threshold={threshold}, {verdict}within_threshold={self.within_threshold}, "
            f"retrained={self.retrained}, guarantee={self.guarantee!r}, {certified}"
            f"model_version={self.model_version})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The certificate as a plain, JSON-serialisable dict."""
        return {
            "reference": self.reference,
            "measure": self.measure,
            "n_rows": self.n_rows,
            "mean": self.mean,
            "max": self.max,
            "threshold": self.threshold,
            "within_threshold": self.within_threshold,
            "retrained": self.retrained,
            "guarantee": self.guarantee,
            "model_version": self.model_version,
            "alpha": self.alpha,
            "false_positive_rate": self.false_positive_rate,
            "reference_seconds": self.reference_seconds,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "budget": self.budget,
            "budget_spent": self.budget_spent,
            "n_remembered": self.n_remembered,
            "n_over_forgotten": self.n_over_forgotten,
            "verdicts": None if self.verdicts is None else list(self.verdicts),
            "divergences": self.divergences.tolist(),
        }


class HeldOutReference:
    """Rows the model never saw, as a reference that needs no retraining.

        Pass it as ``certify(X, y, reference=HeldOutReference(X_out, y_out))``.
        The model's per-example losses on the certified rows are compared with
        its losses on these non-member rows (a loss-threshold membership
        inference): the certificate holds, per row, ``2 s - 1`` where ``s`` is the
        share of non-members with a higher loss (ties count one half), and its
        mean is ``2 AUC - 1``. Cost: predictions on the certified and held-out
        rows, no training.

    What it guarantees is weaker than ``reference="retrain"``: only that the
        certified rows do not look more like training rows than typical
        never-seen rows do, to this attack. It is honest only for rows drawn like
        the held-out rows (a random forget set of ordinary rows). For unusual
        rows -- outliers, mislabeled rows, exactly the rows a model memorizes --
        it is miscalibrated: on 100 mislabeled MNIST rows an MLP had memorized,
        the *unforgotten* model scored a mean advantage of -0.83 ("less like a
        member than a typical unseen row"), because an unusual row has a high loss
        under any model. Its verdict is therefore two-sided (``|mean| <=
        max_divergence``), which fails such rows instead of certifying them; to
        certify unusual rows, use an :class:`OutOfFoldReference`, which compares
        each row with itself under models that never saw it.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Rows never trained on, e.g. a validation split.
        y : array-like of shape (n_rows,)
            Their labels.

        Examples
        --------
        >>> from sklearn.linear_model import SGDClassifier
        >>> from sk_unlearn import HeldOutReference, UnlearnableClassifier
        >>> from sk_unlearn.datasets import load_digits_split
        >>> d = load_digits_split()
        >>> clf = UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0),
        ...                             random_state=0).fit(d.X_train, d.y_train)
        >>> cert = clf.certify(d.X_test[:100], d.y_test[:100],
        ...                    reference=HeldOutReference(d.X_test[100:], d.y_test[100:]))
        >>> cert.measure, cert.n_rows, abs(cert.mean) < 0.3
        ('membership_advantage', 100, True)
    """

    def __init__(self, X: Any, y: ArrayLike) -> None:
        X_arr = X.tocsr() if sp.issparse(X) else np.asarray(X)  # sparse rows stay sparse
        y_arr = np.asarray(y)
        n_rows = X_arr.shape[0] if X_arr.ndim == 2 else -1
        if X_arr.ndim != 2 or y_arr.ndim != 1 or n_rows != len(y_arr) or len(y_arr) == 0:
            raise ValueError(
                "HeldOutReference needs a non-empty 2-d X and a 1-d y of the same length; "
                f"got shapes {X_arr.shape} and {y_arr.shape}."
            )
        # A DataFrame stays one, so a model fitted with feature names sees them.
        self.X = X if hasattr(X, "columns") else X_arr
        self.y = y_arr

    def __repr__(self) -> str:
        return f"HeldOutReference(n_rows={len(self.y)})"

    def membership_advantage(self, model: Any, X: ArrayLike, y: ArrayLike) -> np.ndarray:
        """Per-row ``2 s - 1`` of the rows ``(X, y)`` under ``model`` (see above)."""
        held_out = np.sort(per_example_loss(model, self.X, self.y))
        losses = per_example_loss(model, X, y)
        at_most = np.searchsorted(held_out, losses, side="right")
        below = np.searchsorted(held_out, losses, side="left")
        share_higher = (len(held_out) - at_most + 0.5 * (at_most - below)) / len(held_out)
        out: np.ndarray = 2.0 * share_higher - 1.0
        return out
