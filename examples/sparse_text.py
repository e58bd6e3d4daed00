"""
Forgetting documents from a TF-IDF text classifier, kept sparse end to end
==========================================================================

The most common ``partial_fit`` recipe for text, ``TfidfVectorizer`` and
``SGDClassifier(loss="log_loss")``, in a ``Pipeline``: the TF-IDF matrix
stays sparse through ``fit``, the retained rows (the row store keeps only
each row's non-zeros), every deletion request and ``retrain()``. Requests
name the documents' authors (``sample_id``), so no raw document is needed to
forget one, and the TF-IDF transform need not reproduce its rows bit for bit.

The corpus is generated here (three topics, each document a mix of topic
words and common words): no download. Run it with
``python examples/sparse_text.py``.
"""

from __future__ import annotations

import pickle

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import make_pipeline

from sk_unlearn import UnlearnableClassifier, forget_through_pipeline


def corpus(n_docs: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Short documents of three topics: 3 topic words and 30 common words each."""
    rng = np.random.default_rng(seed)
    topics = [[f"topic{k}word{i}" for i in range(300)] for k in range(3)]
    common = [f"common{i}" for i in range(500)]
    y = rng.integers(0, 3, size=n_docs)
    docs = [" ".join([*rng.choice(topics[k], size=3), *rng.choice(common, size=30)]) for k in y]
    return docs, y


def main() -> dict[str, object]:
    docs, y = corpus(2000)
    authors = [f"author-{i // 2:04d}" for i in range(len(docs))]  # two documents each
    train, test = slice(0, 1500), slice(1500, None)
    pipe = make_pipeline(
        TfidfVectorizer(),
        UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0), random_state=0),
    )
    pipe.fit(docs[train], y[train], unlearnableclassifier__sample_id=authors[train])
    clf = pipe[-1]
    n_features = clf.n_features_in_
    dense_mib = 1500 * n_features * 8 / 2**20
    pickle_mib = len(pickle.dumps(pipe)) / 2**20
    print(f"trained on 1500 documents, {n_features} TF-IDF features")
    print(
        f"the pickled pipeline, retained rows included, takes {pickle_mib:.2f} MiB; a dense "
        f"copy of the rows alone would take {dense_mib:.1f} MiB"
    )
    accuracy_before = pipe.score(docs[test], y[test])
    erased = sorted(set(authors[:200]))  # the first 100 authors ask to be forgotten
    forget_through_pipeline(pipe, sample_id=erased, ticket="DSR-2026-0100")
    print(
        f"forgot {clf.n_forgotten_} documents of {len(erased)} authors by id; "
        f"{clf.n_retained_} retained"
    )
    clf.retrain()
    accuracy_after = pipe.score(docs[test], y[test])
    print(f"test accuracy: {accuracy_before:.3f} before, {accuracy_after:.3f} after retrain()")
    print(
        f"\nWhat this shows: a TF-IDF pipeline trained, forgot {clf.n_forgotten_} documents by "
        f"author id and retrained with the rows sparse throughout (the store keeps their "
        f"non-zeros: the whole pipeline pickles to {pickle_mib:.2f} MiB against "
        f"{dense_mib:.1f} MiB for the rows made dense); retrain() made the removals exact. "
        "The vectorizer's vocabulary and document frequencies still reflect the forgotten "
        "documents: refit the whole pipeline to remove those too."
    )
    return {
        "n_forgotten": clf.n_forgotten_,
        "accuracy": (accuracy_before, accuracy_after),
        "pickle_mib": pickle_mib,
        "dense_mib": dense_mib,
    }


if __name__ == "__main__":
    main()
