"""Certified removal for L2-regularised logistic regression (Guo, Goldstein, Hannun, van der
Maaten).

Implemented from the paper ("Certified Data Removal from Machine Learning
Models", ICML 2020, arXiv:1911.03030), not from its reference code.

Training minimises the perturbed objective

    L_b(w; D) = sum_i l(y_i w^T x_i) + (1 / 2C) ||w||^2 + b^T w,   b ~ N(0, sigma^2 I),

with ``l(z) = log(1 + exp(-z))`` (``x`` carries a constant 1 for the
intercept, which is regularised like the weights). Removing rows is one
Newton step on the remaining rows' objective. The step leaves a gradient
residual ``||grad L_b(w; D \\ R)||``, and the guarantee (the paper's Theorem
3): while a bound on that residual stays at most ``sigma * epsilon / c`` with
``c = sqrt(2 log(1.5 / delta))``, the released model is
(epsilon, delta)-certified-removal -- distributed, over the draw of ``b``,
nearly as if the rows had never been trained on. Past that budget the model
is retrained from scratch.

Every removal takes the Newton step from the trained weights ``w_H`` for all
the rows ``R`` removed since the fit (the paper's batch removal, applied to
the growing batch): with ``H_R`` the Hessian of the remaining rows'
objective at ``w_H`` and ``G_R = sum_{i in R} grad l_i(w_H)``,

    w = w_H + H_R^-1 G_R,

so that the first-order terms cancel exactly and the residual is the Taylor
remainder alone. Bounded row by row (``|l''(u) - l''(v)| <= gamma |u - v|``
with ``gamma = max |l'''| = sqrt(3) / 18``; the paper uses the looser 1/4;
``rho`` an upper bound on every row's norm; ``X`` the remaining rows):

    ||residual|| <= ||r_0|| + gamma * rho / 2 * ||X (w - w_H)||^2,

``r_0`` the optimiser's own residual, measured exactly at fit time. This is
the paper's data-dependent bound for the batch ``R`` (Corollary 1), with the
Taylor remainder bounded row by row instead of through the spectral norm of
``X``: ``gamma * ||X||_2 * ||w - w_H|| * ||X (w - w_H)||`` there, never
smaller than the form above when every row has norm at most 2. It is
computed in O(d^2) per removed row with no pass over the data: ``H_R^-1`` is
downdated by Sherman-Morrison (rank one per removed row), and
``||X v||^2 = v^T (X^T X) v`` comes from the kept Gram matrix, downdated too.
(Chaining one Newton step per request from the current weights instead, with
the Hessian kept at ``w_H``, needs an extra drift term; on MNIST 3 vs 8 at
``epsilon = 1`` that version spent the budget after 88 removals.) The bound
is a property of the current model, not a running sum: it is what the
guarantee of the model released now rests on.

Multiclass problems are one-vs-rest: K binary models, each with its own
noise, each certified at (epsilon / K, delta / K), so that the K-tuple is
(epsilon, delta)-certified by composition.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from ._adapter import STEP, EstimatorAdapter

#: Lipschitz constant of the logistic loss's second derivative: max |l'''| = sqrt(3) / 18.
GAMMA = math.sqrt(3) / 18


def _loss_grad(w: np.ndarray, Z: np.ndarray, s: np.ndarray, reg: float, b: np.ndarray):  # type: ignore[no-untyped-def]
    """The perturbed objective and its gradient (``s`` the +-1 labels)."""
    margin = s * (Z @ w)
    loss = np.logaddexp(0.0, -margin).sum() + 0.5 * reg * w @ w + b @ w
    grad = Z.T @ (-s * expit(-margin)) + reg * w + b
    return loss, grad


def _hessian(w: np.ndarray, Z: np.ndarray, reg: float) -> np.ndarray:
    p = expit(Z @ w)
    H: np.ndarray = (Z * (p * (1 - p))[:, np.newaxis]).T @ Z
    H[np.diag_indices_from(H)] += reg
    return H


def _solve(Z: np.ndarray, s: np.ndarray, reg: float, b: np.ndarray, tol: float, max_iter: int):  # type: ignore[no-untyped-def]
    """Minimise the perturbed objective: L-BFGS, then Newton steps to a tiny residual.

    Returns the weights and the number of iterations (L-BFGS and Newton together).
    """
    w0 = np.zeros(Z.shape[1])
    result = minimize(
        _loss_grad,
        w0,
        args=(Z, s, reg, b),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 10 * max_iter, "gtol": 1e-8},
    )
    w, n_iter = result.x, int(result.nit)
    for _ in range(max_iter):
        _, grad = _loss_grad(w, Z, s, reg, b)
        if np.linalg.norm(grad) <= tol * max(1.0, len(s)):
            break
        w = w - np.linalg.solve(_hessian(w, Z, reg), grad)
        n_iter += 1
    return w, max(n_iter, 1)


class CertifiedLogisticRegression(ClassifierMixin, BaseEstimator):
    """L2-regularised logistic regression whose rows can be removed with an (epsilon, delta) bound.

    Trained on an objective with a random linear term (Guo et al.'s
    objective perturbation); a removal is one Newton step, certified while
    the accumulated gradient-residual bound stays within the budget
    ``noise * epsilon / c`` (see the module docstring for the objective, the
    bound and the guarantee). Usable as a plain scikit-learn classifier; wrap
    it in :class:`~sk_unlearn.UnlearnableClassifier` to forget rows through
    the library's transaction and ledger, which retrains from scratch --
    recorded -- whenever a removal would exceed the budget.

    Parameters
    ----------
    C : float, default=1.0
        Inverse of the L2 regularisation strength (the objective adds
        ``||w||^2 / (2C)``), as in ``LogisticRegression``. Must be finite:
        the guarantee needs the strong convexity the regulariser gives.
    epsilon : float, default=1.0
        The certified-removal epsilon (> 0).
    delta : float, default=1e-4
        The certified-removal delta, in (0, 1).
    noise : float, default=1.0
        Standard deviation ``sigma`` of the objective's random linear term.
        Larger noise buys a larger removal budget at some cost in accuracy.
        ``0`` trains the plain objective: removals are still Newton steps,
        but nothing is certified (and the budget never triggers retraining).
    max_norm : float or None, default=None
        An upper bound on every row's norm (intercept column included) that
        the guarantee uses. ``None`` uses the largest norm among the training
        rows; a float makes rows beyond it an error at ``fit``, and keeps the
        bound independent of the data.
    fit_intercept : bool, default=True
        Add a constant feature (regularised like the others).
    tol : float, default=1e-10
        The optimiser stops once the gradient norm is below ``tol`` times the
        number of rows.
    max_iter : int, default=100
        Newton iterations after L-BFGS (and 10x that for L-BFGS).
    random_state : int, RandomState instance or None, default=None
        Draws the noise. With an int every fit draws the same noise; leave it
        None in production, so that every retraining draws afresh.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_features_in_ : int
    residual_bound_ : ndarray of shape (n_models,)
        The bound on each binary model's current gradient residual (the
        optimiser's own residual included).
    budget_ : float
        The residual bound each binary model may reach while certified
        (``inf`` when ``noise`` is 0).
    n_removed_ : int
        Rows removed by Newton steps since the last fit.
    n_iter_ : ndarray of shape (n_models,)
        Optimiser iterations per binary model (L-BFGS, then Newton).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from sk_unlearn import CertifiedLogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = MinMaxScaler().fit_transform(X)
    >>> clf = CertifiedLogisticRegression(C=10.0, epsilon=1.0, random_state=0).fit(X, y)
    >>> clf.remove_rows(X[:3], y[:3])  # one Newton step for the three rows
    True
    >>> bool(clf.residual_bound_[0] <= clf.budget_), clf.n_removed_
    (True, 3)
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "max_norm": [Interval(Real, 0, None, closed="neither"), None],
        "fit_intercept": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        C: float = 1.0,
        epsilon: float = 1.0,
        delta: float = 1e-4,
        noise: float = 1.0,
        max_norm: float | None = None,
        fit_intercept: bool = True,
        tol: float = 1e-10,
        max_iter: int = 100,
        random_state: Any = None,
    ) -> None:
        self.C = C
        self.epsilon = epsilon
        self.delta = delta
        self.noise = noise
        self.max_norm = max_norm
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    # ------------------------------------------------------------ training
    def _augment(self, X: np.ndarray) -> np.ndarray:
        if self.fit_intercept:
            return np.hstack([X, np.ones((X.shape[0], 1))])
        return X

    def fit(self, X: ArrayLike, y: ArrayLike) -> CertifiedLogisticRegression:
        """Train on the perturbed objective and keep what removals need.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : CertifiedLogisticRegression
        """
        self._validate_params()  # C = inf (no penalty) is refused here: no strong convexity
        X_arr, y_arr = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y_arr)
        classes = unique_labels(y_arr)
        if len(classes) < 2:
            raise ValueError(
                f"CertifiedLogisticRegression needs at least 2 classes; got {len(classes)} class."
            )
        Z = self._augment(X_arr)
        norms = np.linalg.norm(Z, axis=1)
        if self.max_norm is not None and norms.max() > self.max_norm:
            raise ValueError(
                f"A training row has norm {norms.max():.4g} > max_norm={self.max_norm} "
                "(the intercept column counts); scale the features or raise max_norm."
            )
        targets = [classes[1]] if len(classes) == 2 else list(classes)
        k = len(targets)
        rng = check_random_state(self.random_state)
        reg = 1.0 / self.C
        weights, inverses, residuals, noises, iterations = [], [], [], [], []
        for target in targets:
            s = np.where(y_arr == target, 1.0, -1.0)
            b = (
                rng.normal(0.0, self.noise, size=Z.shape[1])
                if self.noise > 0
                else np.zeros(Z.shape[1])
            )
            w, n_iter = _solve(Z, s, reg, b, self.tol, self.max_iter)
            iterations.append(n_iter)
            weights.append(w)
            inverses.append(np.linalg.inv(_hessian(w, Z, reg)))
            residuals.append(float(np.linalg.norm(_loss_grad(w, Z, s, reg, b)[1])))
            noises.append(b)
        self.classes_ = classes
        self._targets = np.asarray(targets)
        self._w = np.array(weights)
        self._w_hessian = self._w.copy()
        self._hessian_inv = np.array(inverses)
        self._gram = Z.T @ Z
        self._rho = float(self.max_norm if self.max_norm is not None else norms.max())
        self._b = np.array(noises)
        self._fit_residual = np.array(residuals)
        self._removed_grad = np.zeros_like(self._w)
        self.residual_bound_ = self._fit_residual.copy()
        self.n_iter_ = np.array(iterations)
        self.budget_ = self._budget(k)
        self.n_removed_ = 0
        self._n_since_base = 0
        self._publish()
        return self

    def _budget(self, n_models: int) -> float:
        """Per binary model ``sigma * epsilon_k / c_k``, ``c_k = sqrt(2 log(1.5 / delta_k))``."""
        if self.noise == 0:
            return math.inf
        eps_k, delta_k = self.epsilon / n_models, self.delta / n_models
        return float(self.noise * eps_k / math.sqrt(2 * math.log(1.5 / delta_k)))

    def _publish(self) -> None:
        d = self.n_features_in_
        self.coef_ = self._w[:, :d].copy()
        self.intercept_ = self._w[:, d].copy() if self.fit_intercept else np.zeros(len(self._w))

    # ------------------------------------------------------------ removing
    def removal_cost(self, X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, dict[str, Any]]:
        """The residual bound each binary model would reach after removing ``(X, y)``, and the plan.

        Nothing changes; :meth:`apply_removal` applies the plan.
        """
        check_is_fitted(self)
        if self._base_dropped():
            raise ValueError(
                "This model was copied or unpickled after removals, which drops the state that "
                "still holds the removed rows' influence; call rebase(X, y) with the remaining "
                "training rows (or fit again) before removing more."
            )
        X_arr = validate_data(self, X, dtype=np.float64, reset=False)
        y_arr = np.asarray(y)
        Z = self._augment(X_arr)
        gram = self._gram - Z.T @ Z
        inverses = self._hessian_inv.copy()
        removed_grad = self._removed_grad.copy()
        new_w = self._w.copy()
        bounds = self.residual_bound_.copy()
        for k, target in enumerate(self._targets):
            s = np.where(y_arr == target, 1.0, -1.0)
            w_h, inv = self._w_hessian[k], inverses[k]
            margins = Z @ w_h
            a = expit(margins)
            for z, weight in zip(Z, a * (1 - a)):  # Sherman-Morrison: H -= l''(w_H z) z z^T
                u = inv @ z
                inv += np.outer(u, u) * (weight / (1.0 - weight * (z @ u)))
            removed_grad[k] += Z.T @ (-s * expit(-s * margins))  # their gradients at w_H
            move = inv @ removed_grad[k]
            new_w[k] = w_h + move
            bounds[k] = self._fit_residual[k] + 0.5 * GAMMA * self._rho * max(
                move @ gram @ move, 0.0
            )
        plan = {
            "w": new_w,
            "inv": inverses,
            "gram": gram,
            "grad": removed_grad,
            "bounds": bounds,
            "n": len(Z),
        }
        return bounds, plan

    def apply_removal(self, plan: dict[str, Any]) -> None:
        """Apply a plan from :meth:`removal_cost`."""
        self._w = plan["w"]
        self._hessian_inv = plan["inv"]
        self._gram = plan["gram"]
        self._removed_grad = plan["grad"]
        self.residual_bound_ = plan["bounds"]
        self.n_removed_ += plan["n"]
        self._n_since_base += plan["n"]
        self._publish()

    def remove_rows(self, X: ArrayLike, y: ArrayLike) -> bool:
        """Remove training rows with one Newton step, if the budget allows it.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Rows the model was trained on (not checked: the wrapper checks).
        y : array-like of shape (n_rows,)

        Returns
        -------
        served : bool
            True if the step was taken; False (nothing changed) if it would
            take a binary model's residual bound over ``budget_``: then only
            retraining from scratch on the remaining rows serves the removal
            with the guarantee.
        """
        bounds, plan = self.removal_cost(X, y)
        if (bounds > self.budget_).any():
            return False
        self.apply_removal(plan)
        return True

    def rebase(self, X: ArrayLike, y: ArrayLike) -> CertifiedLogisticRegression:
        """Take the current weights as the new base, from the remaining training rows.

        Between two fits, removals keep the trained weights ``w_H`` and the
        removed rows' gradients there: state that still holds the removed
        rows' influence (after one removal, the gradient is that row,
        scaled). ``rebase`` recomputes what removals need at the *current*
        weights -- the Hessian's inverse, the Gram matrix and the exact
        gradient residual, O(n d^2) -- and drops that state. The weights and
        the guarantee do not change (the bound becomes the exact residual,
        which is never above it). Pickling or copying a model with removals
        since its base drops that state too; the wrapper rebases the copy it
        pickles.

        Parameters
        ----------
        X : array-like of shape (n_remaining, n_features)
            Every training row not removed, and only those.
        y : array-like of shape (n_remaining,)

        Returns
        -------
        self : CertifiedLogisticRegression
        """
        check_is_fitted(self)
        X_arr = validate_data(self, X, dtype=np.float64, reset=False)
        y_arr = np.asarray(y)
        Z = self._augment(X_arr)
        reg = 1.0 / self.C
        inverses, residuals = [], []
        for k, target in enumerate(self._targets):
            s = np.where(y_arr == target, 1.0, -1.0)
            inverses.append(np.linalg.inv(_hessian(self._w[k], Z, reg)))
            residuals.append(
                float(np.linalg.norm(_loss_grad(self._w[k], Z, s, reg, self._b[k])[1]))
            )
        self._w_hessian = self._w.copy()
        self._hessian_inv = np.array(inverses)
        self._gram = Z.T @ Z
        self._removed_grad = np.zeros_like(self._w)
        self._fit_residual = np.array(residuals)
        self.residual_bound_ = self._fit_residual.copy()
        self._n_since_base = 0
        return self

    def _base_dropped(self) -> bool:
        return not hasattr(self, "_w_hessian")

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = dict(super().__getstate__())
        if state.get("_n_since_base", 0) > 0:
            # The base weights, the removed rows' gradients there and the Hessian at the base
            # depend on rows that were removed: never written anywhere.
            for name in ("_w_hessian", "_removed_grad", "_hessian_inv"):
                state.pop(name, None)
        return state

    def gradient_residual(self, X: ArrayLike, y: ArrayLike) -> np.ndarray:
        """The exact gradient norm of each binary model's objective on rows ``(X, y)``.

        For checking the bound: pass the remaining training rows; an O(n d)
        pass over them, which removals themselves never make.
        """
        check_is_fitted(self)
        X_arr = validate_data(self, X, dtype=np.float64, reset=False)
        y_arr = np.asarray(y)
        Z = self._augment(X_arr)
        reg = 1.0 / self.C
        out = []
        for k, target in enumerate(self._targets):
            s = np.where(y_arr == target, 1.0, -1.0)
            out.append(np.linalg.norm(_loss_grad(self._w[k], Z, s, reg, self._b[k])[1]))
        return np.array(out)

    def guarantee(self) -> dict[str, Any]:
        """What the model is certified for now: epsilon, delta, the budget spent and left."""
        check_is_fitted(self)
        certified = self.noise > 0 and bool((self.residual_bound_ <= self.budget_).all())
        spent = float(self.residual_bound_.max())
        return {
            "epsilon": float(self.epsilon) if certified else None,
            "delta": float(self.delta) if certified else None,
            "budget": self.budget_,
            "budget_spent": spent,
            "budget_left": max(self.budget_ - spent, 0.0),
            "bound": "data-dependent gradient-residual bound (Guo et al., Corollary 1)",
        }

    # ---------------------------------------------------------- predicting
    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Scores ``w^T x`` of each binary model (one column for two classes)."""
        check_is_fitted(self)
        X_arr = validate_data(self, X, dtype=np.float64, reset=False)
        scores = self._augment(X_arr) @ self._w.T
        out: np.ndarray = scores[:, 0] if len(self.classes_) == 2 else scores
        return out

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities (one-vs-rest scores normalised, as ``LogisticRegression(ovr)``)."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1 - p, p])
        p = expit(scores)
        out: np.ndarray = p / p.sum(axis=1, keepdims=True)
        return out

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class."""
        proba = self.predict_proba(X)  # first: NotFittedError before classes_ is read
        return self.classes_[proba.argmax(axis=1)]


# ------------------------------------------------------------------ the adapter
class CertifiedAdapter(EstimatorAdapter):
    """:class:`CertifiedLogisticRegression`: removals by certified Newton steps."""

    name = "certified-logistic"
    removes_rows_certified = True

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(estimator, CertifiedLogisticRegression)

    def certified_removal(self, X: np.ndarray, y: np.ndarray) -> bool:
        """One Newton step removing the rows; False (nothing changed) if over the budget."""
        served: bool = self.estimator.remove_rows(X, y)
        return served

    def guarantee(self) -> dict[str, Any]:
        """The estimator's current (epsilon, delta) guarantee and budget."""
        out: dict[str, Any] = self.estimator.guarantee()
        return out

    def persisted(self, remaining: Callable[[], tuple[np.ndarray, np.ndarray]]) -> Any:
        """A rebased copy to pickle: nothing of the removed rows in the file but the weights."""
        est = self.estimator
        if est._base_dropped() or getattr(est, "_n_since_base", 0) == 0:
            return est
        copy = object.__new__(type(est))
        copy.__dict__.update(est.__dict__)  # rebase replaces arrays, never writes into them
        return copy.rebase(*remaining())

    def snapshot(self, scope: str = STEP) -> Any:
        """The arrays a removal replaces (a removal plan never writes into them)."""
        est = self.estimator
        names = (
            "_w",
            "_w_hessian",
            "_hessian_inv",
            "_gram",
            "_removed_grad",
            "_fit_residual",
            "residual_bound_",
            "n_removed_",
            "_n_since_base",
        )
        return {name: getattr(est, name) for name in (*names, "coef_", "intercept_")}

    def restore(self, snapshot: Any) -> None:
        for name, value in snapshot.items():
            setattr(self.estimator, name, value)
