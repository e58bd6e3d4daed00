"""The erasure report: the ledger and the model's state as a document for a data-protection officer.

:func:`erasure_report` reads what the estimator recorded (served requests,
retrainings, certificates) and its current state, and says per request when
it arrived, its ticket, how it was served, whether and since when it is
exact, and which certificates measured it; then totals, and what the library
cannot vouch for. :class:`ErasureReport` renders it as JSON (for machines)
and Markdown (for people). It holds only what the ledger holds: keyed
digests, never a row, a label or an id in clear.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ._ledger import CertificateRecord, DeletionRecord, RetrainRecord, utc_now

#: What no record of this library covers, whatever the ledger says.
NOT_COVERED = (
    "Copies the library cannot see: the caller's own arrays, files and databases the rows came "
    "from, earlier pickles or save() files of the model and their backups, swap, crash dumps "
    "and logs.",
    "The statistics of transformers before the model in a Pipeline (a scaler's mean, a PCA "
    "basis, a TF-IDF vocabulary): forgetting through a pipeline does not refit them; refitting "
    "the whole pipeline on the retained data does.",
    "Approximate removals (random relabeling) move the model away from the rows but do not make "
    "it statistically independent of them until the next retraining from scratch; certificates "
    "measure the remaining gap, they do not remove it.",
    "Requests served before this ledger segment began (a new fit starts a new segment), and "
    "requests recorded only in another model's ledger.",
)


@dataclass(frozen=True)
class ErasureReport:
    """A ledger and a model's state, as a data-protection officer files them.

    Made by :meth:`~sk_unlearn.UnlearnableClassifier.erasure_report`.

    Attributes
    ----------
    generated_at : str
        When the report was made, ISO 8601 in UTC.
    model : dict
        The model: estimator, fit id, model version, rows learned since
        ``fit``, retained and forgotten, retrainings, the weakest guarantee of the removals
        since the last retraining, the ledger file and whether it verified.
    requests : list of dict
        Per served request: ``request``, ``timestamp``, ``ticket``,
        ``subject`` (keyed digest of the data-subject id, or None),
        ``method``, ``guarantee`` when served, ``status`` now (``"exact"``,
        ``"certified"`` or ``"approximate"``), ``exact_since`` (when it
        became exact: served exactly, or the retraining that made it so;
        None while it is not), ``retrained_by`` (that retraining's reason)
        and ``certificates`` (indices into :attr:`certificates` that measured
        its row).
    retrains : list of dict
        Every retraining from scratch (:class:`~sk_unlearn.RetrainRecord`).
    certificates : list of dict
        Every certificate (:class:`~sk_unlearn.CertificateRecord`).
    totals : dict
        Counts: requests, by method, by guarantee when served, by status now,
        distinct tickets and subjects, certificates, retrainings.
    not_covered : tuple of str
        What no record of this library covers.
    """

    generated_at: str
    model: dict[str, Any]
    requests: list[dict[str, Any]]
    retrains: list[dict[str, Any]]
    certificates: list[dict[str, Any]]
    totals: dict[str, Any]
    not_covered: tuple[str, ...] = field(default=NOT_COVERED)

    def to_dict(self) -> dict[str, Any]:
        """The report as a plain, JSON-serialisable dict."""
        return {
            "generated_at": self.generated_at,
            "model": self.model,
            "totals": self.totals,
            "requests": self.requests,
            "retrains": self.retrains,
            "certificates": self.certificates,
            "not_covered": list(self.not_covered),
        }

    def to_json(self, **kwargs: Any) -> str:
        """The report as JSON (``kwargs`` go to :func:`json.dumps`, e.g. ``indent=2``)."""
        return json.dumps(self.to_dict(), **kwargs)

    def to_markdown(self) -> str:
        """The report as a Markdown page for people."""
        return _markdown(self)


def erasure_report(
    deletions: list[DeletionRecord],
    retrains: list[RetrainRecord],
    certificates: list[CertificateRecord],
    model: dict[str, Any],
) -> ErasureReport:
    """Build the report from the ledger's records and a description of the model.

    Parameters
    ----------
    deletions, retrains, certificates : lists of records
        The ledger's served requests, retrainings and certificates, oldest first.
    model : dict
        What the report says of the model (see :attr:`ErasureReport.model`).

    Returns
    -------
    report : ErasureReport

    Examples
    --------
    >>> from sk_unlearn._ledger import DeletionRecord, RetrainRecord
    >>> from sk_unlearn._report import erasure_report
    >>> served = DeletionRecord(request=0, row_hash="r", label_hash="l",
    ...     timestamp="2026-01-01T00:00:00+00:00", method="relabel", n_relabels=9,
    ...     n_replay=32, unlearning_rate=None, retrained=False, relabel="soft", n_steps=1,
    ...     ticket="DSR-1")
    >>> later = RetrainRecord(after_request=1, timestamp="2026-01-02T00:00:00+00:00",
    ...     reason="manual", n_retained=99)
    >>> report = erasure_report([served], [later], [], {})
    >>> report.requests[0]["status"], report.requests[0]["exact_since"][:10]
    ('exact', '2026-01-02')
    """
    covering: dict[int, list[int]] = {}
    for index, cert in enumerate(certificates):
        for request in cert.requests:
            covering.setdefault(request, []).append(index)
    rows = []
    for position, record in enumerate(deletions):
        # The first retraining after this request serves it exactly.
        retrain = next((r for r in retrains if r.after_request > position), None)
        if record.guarantee == "exact":
            status, since, by = "exact", record.timestamp, None
        elif retrain is not None:
            status, since, by = "exact", retrain.timestamp, retrain.reason
        else:
            status, since, by = record.guarantee, None, None
        rows.append(
            {
                "request": record.request,
                "timestamp": record.timestamp,
                "ticket": record.ticket,
                "subject": record.subject,
                "method": record.method,
                "guarantee": record.guarantee,
                "status": status,
                "exact_since": since,
                "retrained_by": by,
                "shard": record.shard,
                "certificates": covering.get(record.request, []),
            }
        )
    totals = {
        "requests": len(rows),
        "by_method": dict(Counter(r["method"] for r in rows)),
        "by_guarantee_when_served": dict(Counter(r["guarantee"] for r in rows)),
        "by_status_now": dict(Counter(r["status"] for r in rows)),
        "tickets": len({r["ticket"] for r in rows if r["ticket"] is not None}),
        "without_ticket": sum(r["ticket"] is None for r in rows),
        "subjects": len({r["subject"] for r in rows if r["subject"] is not None}),
        "retrains": len(retrains),
        "certificates": len(certificates),
    }
    return ErasureReport(
        generated_at=utc_now(),
        model=model,
        requests=rows,
        retrains=[r.to_dict() for r in retrains],
        certificates=[c.to_dict() for c in certificates],
        totals=totals,
    )


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "–"
    return str(value).replace("|", "\\|")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _markdown(report: ErasureReport) -> str:
    model, totals = report.model, report.totals
    lines = [
        "# Erasure report",
        "",
        f"Generated {report.generated_at} by sk-unlearn from the model's ledger.",
        "",
        "## Model",
        "",
        *_table(["", ""], [[k.replace("_", " "), v] for k, v in model.items()]),
        "",
        "## Totals",
        "",
        *_table(
            ["", ""],
            [
                ["requests served", totals["requests"]],
                ["exact now", totals["by_status_now"].get("exact", 0)],
                ["certified now", totals["by_status_now"].get("certified", 0)],
                [
                    "approximate now (not yet retrained)",
                    totals["by_status_now"].get("approximate", 0),
                ],
                ["by method", ", ".join(f"{k}: {v}" for k, v in totals["by_method"].items())],
                ["tickets", totals["tickets"]],
                ["requests without a ticket", totals["without_ticket"]],
                ["data subjects (by id)", totals["subjects"]],
                ["retrainings from scratch", totals["retrains"]],
                ["certificates", totals["certificates"]],
            ],
        ),
        "",
    ]
    tickets: dict[str, list[dict[str, Any]]] = {}
    for row in report.requests:
        if row["ticket"] is not None:
            tickets.setdefault(row["ticket"], []).append(row)
    if tickets:
        lines += ["## Requests by ticket", ""]
        lines += _table(
            ["ticket", "rows", "first served", "last served", "status now"],
            [
                [
                    ticket,
                    len(group),
                    group[0]["timestamp"],
                    group[-1]["timestamp"],
                    ", ".join(f"{k}: {v}" for k, v in Counter(r["status"] for r in group).items()),
                ]
                for ticket, group in tickets.items()
            ],
        )
        lines.append("")
    lines += ["## Requests", ""]
    lines += _table(
        [
            "request",
            "served",
            "ticket",
            "subject",
            "method",
            "when served",
            "now",
            "exact since",
            "certificates",
        ],
        [
            [
                r["request"],
                r["timestamp"],
                r["ticket"],
                None if r["subject"] is None else r["subject"][:16] + "…",
                r["method"],
                r["guarantee"],
                r["status"],
                None
                if r["exact_since"] is None
                else f"{r['exact_since']} ({r['retrained_by'] or 'served exactly'})",
                r["certificates"],
            ]
            for r in report.requests
        ],
    )
    lines += ["", "## Retrainings from scratch", ""]
    lines += _table(
        ["after request", "when", "reason", "rows"],
        [
            [r["after_request"], r["timestamp"], r["reason"], r["n_retained"]]
            for r in report.retrains
        ],
    )
    lines += ["", "## Certificates", ""]
    lines += _table(
        [
            "#",
            "when",
            "after request",
            "reference",
            "measure",
            "rows",
            "mean",
            "max",
            "threshold",
            "within",
            "remembered",
            "over-forgotten",
            "retrained",
        ],
        [
            [
                i,
                c["timestamp"],
                c["after_request"],
                c["certificate"].get("reference"),
                c["certificate"].get("measure"),
                c["certificate"].get("n_rows"),
                c["certificate"].get("mean"),
                c["certificate"].get("max"),
                c["certificate"].get("threshold"),
                c["certificate"].get("within_threshold"),
                c["certificate"].get("n_remembered"),
                c["certificate"].get("n_over_forgotten"),
                c["certificate"].get("retrained"),
            ]
            for i, c in enumerate(report.certificates)
        ],
    )
    lines += ["", "## Not covered by this report", ""]
    lines += [f"- {text}" for text in report.not_covered]
    lines += [
        "",
        "Subjects are keyed digests (`sk_unlearn.subject_hash(id)` recomputes one for whoever "
        "holds the deployment's key); rows and labels appear only as keyed digests in the ledger.",
        "",
    ]
    return "\n".join(lines)
