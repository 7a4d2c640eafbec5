"""Agreement between people and the machines that score for them.

``valuealign agreement RUN_DIR`` reads ``RUN_DIR/labels.jsonl`` (written by ``valuealign
review``) and reports:

* **judge-human** (eval runs): per judge, on the answers both scored: Krippendorff's alpha
  (ordinal, the ``krippendorff`` package), quadratic-weighted kappa (scikit-learn) and the 5x5
  confusion matrix (rows: human 1-5, columns: judge 1-5);
* **Critic-human** (generate runs): the keep/drop confusion matrix, the Critic's precision on
  keep (of the pairs the Critic kept, the share a person kept too), and alpha / kappa between
  the Critic's overall score and the person's score;
* **human-human**, for every two reviewers who labelled the same tasks: alpha and kappa on
  scores, and the share of equal keep/drop decisions.

Each person's latest label for a task counts. Written to ``RUN_DIR/agreement.json``.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path
from statistics import fmean
from typing import Any

from valuealign.errors import MissingExtra
from valuealign.labels import latest_labels, read_jsonl_dicts

SCORES = [1, 2, 3, 4, 5]


def _libs() -> tuple[Any, Any, Any]:
    try:
        import krippendorff
        from sklearn.metrics import cohen_kappa_score, confusion_matrix
    except ImportError:
        raise MissingExtra("krippendorff scikit-learn", "review", "agreement figures") from None
    return krippendorff, cohen_kappa_score, confusion_matrix


def _r(x: Any) -> float | None:
    return None if x is None else round(float(x), 4)


def score_agreement(a: list[int], b: list[int]) -> dict[str, Any]:
    """Alpha (ordinal), quadratic-weighted kappa and the confusion matrix of paired 1-5 scores."""
    krippendorff, kappa, confusion = _libs()
    out: dict[str, Any] = {"n": len(a), "alpha_ordinal": None, "qwk": None}
    if len(a) >= 2 and len(set(a) | set(b)) > 1:
        out["alpha_ordinal"] = _r(
            krippendorff.alpha(
                reliability_data=[a, b], level_of_measurement="ordinal", value_domain=SCORES
            )
        )
        out["qwk"] = _r(kappa(a, b, weights="quadratic", labels=SCORES))
    out["confusion"] = confusion(a, b, labels=SCORES).tolist() if a else None
    return out


def compute_agreement(run_dir: str | Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    labels = latest_labels(run_dir)
    reviewers = sorted({r for r, _ in labels})
    result: dict[str, Any] = {"reviewers": reviewers, "labels": len(labels)}

    # judge-human (human scores are averaged over reviewers, rounded: one human rating per item)
    human_score: dict[str, list[int]] = {}
    for (_, task), lab in labels.items():
        if lab.get("score"):
            human_score.setdefault(task, []).append(lab["score"])
    human = {t: round(fmean(v) + 1e-9) for t, v in human_score.items()}
    judges: dict[str, dict[str, int]] = {}
    for j in read_jsonl_dicts(run_dir / "judgements.jsonl"):
        if j.get("score") is not None:
            aid = f"{j['model']}|{j['item_id']}|{j['language']}"
            judges.setdefault(j["judge"], {})[aid] = j["score"]
    result["judge_human"] = {}
    for judge, scores in sorted(judges.items()):
        shared = sorted(set(scores) & set(human))
        if shared:
            res = score_agreement([human[t] for t in shared], [scores[t] for t in shared])
            result["judge_human"][judge] = res

    # Critic-human
    critic: dict[str, tuple[str, int]] = {}
    for s in read_jsonl_dicts(run_dir / "samples.jsonl"):
        critic[s["id"]] = ("keep", s["critic"]["overall"])
    for r in read_jsonl_dicts(run_dir / "rejected.jsonl"):
        if r.get("critic"):
            critic[r["id"]] = ("drop", r["critic"]["overall"])
    decisions: dict[str, list[str]] = {}
    for (_, task), lab in labels.items():
        if lab.get("decision"):
            decisions.setdefault(task, []).append(lab["decision"])
    # one human decision per pair: a drop by anyone is a drop (as `export sft` treats it)
    human_dec = {t: ("drop" if "drop" in v else "keep") for t, v in decisions.items()}
    shared = sorted(set(critic) & set(human_dec))
    if shared:
        cm = {f"critic_{c}": {"human_keep": 0, "human_drop": 0} for c in ("keep", "drop")}
        for t in shared:
            cm[f"critic_{critic[t][0]}"][f"human_{human_dec[t]}"] += 1
        kept = cm["critic_keep"]["human_keep"] + cm["critic_keep"]["human_drop"]
        scored = [t for t in shared if t in human]
        result["critic_human"] = {
            "n": len(shared),
            "confusion": cm,
            "critic_precision_on_keep": _r(cm["critic_keep"]["human_keep"] / kept)
            if kept
            else None,
            "decision_agreement": _r(
                sum(critic[t][0] == human_dec[t] for t in shared) / len(shared)
            ),
            "scores": score_agreement([human[t] for t in scored], [critic[t][1] for t in scored])
            if scored
            else None,
        }
    else:
        result["critic_human"] = None

    # human-human
    pairs = []
    for a, b in combinations(reviewers, 2):
        ta = {t: lab for (r, t), lab in labels.items() if r == a}
        tb = {t: lab for (r, t), lab in labels.items() if r == b}
        both = sorted(set(ta) & set(tb))
        sc = [t for t in both if ta[t].get("score") and tb[t].get("score")]
        dc = [t for t in both if ta[t].get("decision") and tb[t].get("decision")]
        pairs.append(
            {
                "a": a,
                "b": b,
                "shared": len(both),
                "scores": score_agreement(
                    [ta[t]["score"] for t in sc], [tb[t]["score"] for t in sc]
                )
                if sc
                else None,
                "decision_agreement": _r(
                    sum(ta[t]["decision"] == tb[t]["decision"] for t in dc) / len(dc)
                )
                if dc
                else None,
            }
        )
    result["human_human"] = pairs
    (run_dir / "agreement.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return result


def format_agreement(r: dict[str, Any]) -> str:
    def f(x: Any) -> str:
        return "-" if x is None else f"{x:.2f}"

    lines = [
        f"{r['labels']} labels by {len(r['reviewers'])} reviewer(s): {', '.join(r['reviewers'])}"
    ]
    for judge, a in r["judge_human"].items():
        lines.append(
            f"judge-human {judge}: alpha {f(a['alpha_ordinal'])}  qwk {f(a['qwk'])}  n={a['n']}"
        )
        lines.append(f"  confusion (rows human 1-5, columns judge 1-5): {a['confusion']}")
    c = r.get("critic_human")
    if c:
        lines.append(
            f"critic-human: precision on keep {f(c['critic_precision_on_keep'])}  decisions "
            f"agree {f(c['decision_agreement'])}  n={c['n']}  confusion {c['confusion']}"
        )
        if c["scores"]:
            lines.append(
                f"  scores: alpha {f(c['scores']['alpha_ordinal'])}  qwk {f(c['scores']['qwk'])}"
            )
    for p in r["human_human"]:
        s = p["scores"] or {}
        lines.append(
            f"human-human {p['a']} vs {p['b']}: shared {p['shared']}  alpha "
            f"{f(s.get('alpha_ordinal'))}  qwk {f(s.get('qwk'))}  decisions agree "
            f"{f(p['decision_agreement'])}"
        )
    return "\n".join(lines)
