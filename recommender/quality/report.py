"""The evaluation report: one self-contained HTML page, its plots inlined as PNG.

Drawn with matplotlib's object API (``Figure``, no pyplot): no global state, safe in a worker.
"""

from __future__ import annotations

import base64
from collections import Counter
from html import escape
from io import BytesIO

from recommender.quality.looks import COLOUR_MATCH_DELTA_E
from recommender.shopper_photos import KIND_DESCRIPTIONS, KINDS, NOTHING

METRICS = [
    "p10_article",
    "p10_article_colour",
    "ndcg10",
    "coverage",
    "latency_ms_median",
    "latency_ms_p95",
    "colour_agreement",
    "shape_agreement",
]
SHOPPER = [
    "hit1",
    "hit10",
    "unsure",
    "p10_article",
    "p10_article_colour",
    "latency_ms_median",
    "latency_ms_p95",
]
QUALITY = ["p10_article", "p10_article_colour", "ndcg10", "coverage"]
MAP_COLOURED_LABELS = 12  # more colours than this cannot be told apart; the rest are grey
STYLE = """body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;
color:#222}table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;
padding:.3rem .6rem;text-align:right}th{text-align:left}img{max-width:100%;height:auto}
.default{background:#fff4c2}caption{text-align:left;font-weight:600;padding:.3rem 0}
.strip{display:flex;gap:.3rem;align-items:center;margin:.4rem 0}.strip img{height:96px;width:auto}
.strip .query{margin-right:1rem;outline:2px solid #555}.strip .found{outline:3px solid #1a7f37}"""


def render(figures: dict) -> str:
    """HTML for ``evaluation.evaluate``'s result: nothing outside the page is needed to read it."""
    import matplotlib

    # Labels are the shop's own words (category names): "$...$" in one is text, not math
    # for matplotlib to typeset (a name like "$\\frac{$" would fail the whole report).
    with matplotlib.rc_context({"text.parse_math": False}):
        return _render(figures)


def _render(figures: dict) -> str:
    config = figures["config"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Vitrine recommendation quality</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Recommendation quality</h1>",
        f"<p>Protocol: ../shared/docs/EVALUATION.md. {config['queries']} queries "
        f"(seed {config['seed']}) over {config['catalogue_products']} products, encoder "
        f"{escape(str(config['encoder']))} {escape(str(config['encoder_version']))}, measured "
        f"{escape(str(config['measured_at']))}. Latency in ms, through the shop's own code.</p>",
        _headline(figures),
        _other_photos(figures),
        _shopper(figures),
    ]
    if "experiments" in figures:
        scope = figures["experiments"]
        parts.append(
            f"<p>The experiments below: exact cosine over {scope['products']} products' vectors "
            f"(a fixed sample when the catalogue is larger), {scope['queries']} queries.</p>"
        )
    if "weights" in figures:
        parts.append(_weights(figures["weights"], config["image_weight"]))
    if figures.get("pca"):
        parts.append(_pca(figures["pca"]))
    for entry in figures.get("maps", []):
        if "t-SNE" in entry and "coords" in entry["t-SNE"]:
            parts.append(_map(entry))
    rows = "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(str(value))}</td></tr>"
        for key, value in config.items()
    )
    parts.append(f"<h2>Configuration</h2><table>{rows}</table></body></html>")
    return "\n".join(parts)


def _headline(figures: dict) -> str:
    header = "".join(f"<th>{escape(name)}</th>" for name in METRICS)
    rows = "".join(
        f"<tr><th>{task}</th>"
        + "".join(_cell(figures[task].get(name)) for name in METRICS)
        + "</tr>"
        for task in ("rail", "photo")
    )
    return (
        f"<table><caption>Headline</caption><tr><th>task</th>{header}</tr>{rows}</table>"
        "<p>Look metrics from the photos' pixels, never labels: colour_agreement is the share "
        f"of the top 10 whose dominant colour is within CIEDE2000 {COLOUR_MATCH_DELTA_E:g} of "
        "the query's; shape_agreement the mean overlap of their silhouettes.</p>"
    )


def _other_photos(figures: dict) -> str:
    others = figures.get("other_photos")
    if not others:
        return ""
    return (
        "<table><caption>Search by a product's other photos</caption>"
        "<tr><th>queries</th><th>the product first (hit@1)</th><th>in the top 10</th></tr>"
        f"<tr><td>{others['queries']}</td>{_cell(others['hit@1'])}{_cell(others['hit@10'])}"
        "</tr></table><p>Each photo of a sampled product other than its primary one (a back "
        "view, a detail) searched by photo, the product itself not excluded.</p>"
    )


def _cell(value) -> str:
    return "<td>—</td>" if value is None else f"<td>{value:.3f}</td>"


def _shopper(figures: dict) -> str:
    shopper = figures.get("shopper", {})
    # In the kinds' order: stored figures come back with their keys re-sorted.
    kinds = {kind: shopper[kind] for kind in (*KINDS, NOTHING) if shopper.get(kind)}
    if not kinds:
        return ""
    clean = figures["photo"]
    header = "".join(f"<th>{escape(name)}</th>" for name in SHOPPER)
    rows = [
        "<tr><th>the catalogue photo itself (the photo task)</th><td>—</td><td>—</td><td>—</td>"
        + "".join(_cell(clean.get(name)) for name in SHOPPER[3:])
        + "</tr>"
    ]
    for kind, row in kinds.items():
        rows.append(
            f"<tr><th>{escape(kind)}: {escape(KIND_DESCRIPTIONS.get(kind, ''))} "
            f"({row['queries']} queries)</th>"
            + "".join(_cell(row.get(name)) for name in SHOPPER)
            + "</tr>"
        )
    strips = []
    for kind in kinds:
        for example in figures.get("shopper_examples", {}).get(kind, []):
            images = [
                f'<img class="query" src="data:image/jpeg;base64,{example["photo"]}" '
                f'alt="{escape(kind)} photo of product {example["products"]}">'
            ]
            for result in example["results"]:
                found = " class='found'" if result["product"] in example["products"] else ""
                images.append(
                    f'<img{found} src="data:image/jpeg;base64,{result["photo"]}" '
                    f'alt="result: product {result["product"]}">'
                )
            strips.append(f"<div class='strip'>{''.join(images)}</div>")
    return (
        "<h2>Search by a shopper's photo</h2><p>Query photos made from the catalogue's own "
        "photos (fixed seed): hit1 / hit10, the photographed product found first / in the top "
        "10; unsure, the share of photos that got the note 'nothing in the shop looks much like "
        "this photo' (wanted: low for products, high for photos with no product); p10 with it "
        "excluded. Below, examples: the query photo, then its top 5 (outlined "
        "green: the photographed product).</p>"
        f"<table><tr><th>query photo</th>{header}</tr>{''.join(rows)}</table>" + "".join(strips)
    )


def _weights(rows: list[dict], default: float) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 5), layout="constrained")
    axes = figure.subplots()
    x = [row["image_weight"] for row in rows]
    for name in QUALITY:
        axes.plot(x, [row[name] for row in rows], marker="o", label=name)
    axes.axvline(default, color="grey", linestyle="--", label=f"default ({default})")
    axes.set(xlabel="image weight (text weight = 1 - image weight)", ylabel="score")
    axes.set_title("Rail quality by image/text weight (exact search)")
    axes.set_xticks(x)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower center")
    body = "".join(
        f"<tr{' class=default' if abs(row['image_weight'] - default) < 1e-9 else ''}>"
        f"<td>{row['image_weight']:.1f}</td><td>{1 - row['image_weight']:.1f}</td>"
        + "".join(f"<td>{row[name]:.3f}</td>" for name in QUALITY)
        + "</tr>"
        for row in rows
    )
    header = "".join(f"<th>{name}</th>" for name in QUALITY)
    return (
        "<h2>Image and text weights</h2><p>The rail task with exact cosine over the index's "
        "vectors, the same query sample; the default is highlighted.</p>"
        + _png(figure, "Rail quality against the image weight")
        + f"<table><tr><th>image</th><th>text</th>{header}</tr>{body}</table>"
    )


def _pca(pca: dict) -> str:
    from matplotlib.figure import Figure

    rows = [row for row in pca["rows"] if row["pca"]]
    raw = next(row for row in pca["rows"] if not row["pca"])
    figure = Figure(figsize=(13, 5), layout="constrained")
    variance, quality = figure.subplots(1, 2)
    explained = pca["explained"]
    variance.plot(range(1, len(explained) + 1), explained)
    variance.axhline(0.9, color="grey", linestyle="--")
    variance.axvline(pca["components_for_90"], color="grey", linestyle=":")
    variance.set(xscale="log", xlabel="components", ylabel="cumulative explained variance")
    variance.set_title(f"90% of the variance: {pca['components_for_90']} components")
    variance.grid(alpha=0.3)
    counts = [row["components"] for row in rows]
    for task, style in (("image_only", "-"), ("hybrid", "--")):
        for name, colour in (("p10_article", "C0"), ("p10_article_colour", "C1")):
            quality.plot(
                counts,
                [row[task][name] for row in rows],
                linestyle=style,
                marker="o",
                color=colour,
                label=f"{task.replace('_', ' ')} {name}",
            )
            quality.axhline(raw[task][name], color=colour, linestyle=style, alpha=0.3)
    quality.set(xscale="log", xlabel="components", ylabel="precision@10")
    quality.set_title("Rail quality with PCA-reduced image vectors (faint: no PCA)")
    quality.grid(alpha=0.3)
    quality.legend(fontsize="small")
    header = "".join(f"<th>{task} {name}</th>" for task in ("image", "hybrid") for name in QUALITY)
    body = "".join(
        f"<tr{' class=default' if row['components'] == pca['components_for_90'] else ''}>"
        f"<td>{row['components'] if row['pca'] else str(row['components']) + ' (no PCA)'}</td>"
        f"<td>{row['explained_variance']:.3f}</td>"
        + "".join(
            f"<td>{row[task][name]:.3f}</td>"
            for task in ("image_only", "hybrid")
            for name in QUALITY
        )
        + "</tr>"
        for row in pca["rows"]
    )
    return (
        f"<h2>PCA of the image vectors</h2><p>Fitted on {pca['fitted_on']} products' image "
        "vectors. Each row keeps that many components (the vectors rebuilt from them, the mean "
        "added back) and runs the rail task by exact cosine, image alone and with the text. "
        f"Highlighted: the {pca['components_for_90']} components that keep 90% of the "
        "variance.</p>"
        + _png(figure, "Explained variance and rail quality against PCA components")
        + f"<table><tr><th>components</th><th>explained variance</th>{header}</tr>"
        + f"{body}</table>"
    )


def _map(entry: dict) -> str:
    from matplotlib.figure import Figure

    names = entry["labels"]
    common = [name for name, _ in Counter(names).most_common(MAP_COLOURED_LABELS)]
    figure = Figure(figsize=(15, 7), layout="constrained")
    panels = figure.subplots(1, 2)
    for axes, method in zip(panels, ("t-SNE", "UMAP"), strict=True):
        coords = entry[method]["coords"]
        others = [c for c, name in zip(coords, names, strict=True) if name not in common]
        if others:
            xs, ys = zip(*others, strict=True)
            rest = len(set(names)) - len(common)
            axes.scatter(xs, ys, s=4, color="#cccccc", label=f"{rest} other types")
        for number, label in enumerate(common):
            points = [c for c, name in zip(coords, names, strict=True) if name == label]
            xs, ys = zip(*points, strict=True)
            colour = _palette(number)
            axes.scatter(xs, ys, s=5, color=colour, label=f"{label} ({len(points)})")
        axes.set_title(
            f"{method}: {entry['title']} (neighbour agreement {entry[method]['agreement']:.2f})"
        )
        axes.set_xticks([])
        axes.set_yticks([])
    panels[1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=3, frameon=False)
    return (
        f"<h2>Map: {escape(entry['title'])}</h2><p>{entry['products']} products' image vectors "
        "in two dimensions. Neighbour agreement: the share of a product's 10 nearest neighbours "
        f"with its label; {entry['agreement_original']:.2f} in the original vectors (cosine), "
        f"{entry['t-SNE']['agreement']:.2f} on the t-SNE map, {entry['UMAP']['agreement']:.2f} "
        "on the UMAP map.</p>" + _png(figure, f"t-SNE and UMAP maps by {entry['title']}")
    )


def _palette(number: int):
    from matplotlib import colormaps

    return colormaps["tab20"](number * 2 % 20 + (number * 2 // 20))


def _png(figure, alt: str) -> str:
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'
