"""The evaluation report: one self-contained HTML page (figures, tables, plots inlined)."""

from __future__ import annotations

from html import escape

METRICS = [
    "p10_article",
    "p10_article_colour",
    "ndcg10",
    "coverage",
    "latency_ms_median",
    "latency_ms_p95",
]


def render(figures: dict) -> str:
    """HTML for ``evaluation.evaluate``'s result: nothing outside the page is needed to read it."""
    config = figures["config"]
    header = "".join(f"<th>{escape(name)}</th>" for name in METRICS)
    rows = "".join(
        f"<tr><th>{task}</th>"
        + "".join(f"<td>{figures[task][name]:.3f}</td>" for name in METRICS)
        + "</tr>"
        for task in ("rail", "photo")
    )
    settings_rows = "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(str(value))}</td></tr>"
        for key, value in config.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vitrine recommendation quality</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;margin:1rem 0}}th,td{{border:1px solid #ccc;padding:.3rem .6rem;
text-align:right}}th{{text-align:left}}</style></head>
<body><h1>Recommendation quality</h1>
<p>Protocol: ../shared/docs/EVALUATION.md. {config["queries"]} queries (seed {config["seed"]}) over
{config["catalogue_products"]} products; latency in ms.</p>
<table><tr><th>task</th>{header}</tr>{rows}</table>
<h2>Configuration</h2><table>{settings_rows}</table></body></html>
"""
