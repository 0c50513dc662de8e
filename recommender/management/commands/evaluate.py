import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender.quality import evaluation, replay
from recommender.quality.report import METRICS, SHOPPER, render


class Command(BaseCommand):
    help = (
        "Measure recommendation quality as ../shared/docs/EVALUATION.md defines it (rail and "
        "photo tasks) on the catalogue in the database; write an HTML report."
    )

    def add_arguments(self, parser):
        parser.add_argument("--queries", type=int, default=evaluation.DEFAULT_QUERIES)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--json", dest="json_path", type=Path, help="also write the figures as JSON here"
        )
        parser.add_argument(
            "--skip-experiments",
            action="store_true",
            help="only the headline figures: no weight or PCA sweep, no maps (minutes faster)",
        )
        parser.add_argument(
            "--shopper-queries",
            type=int,
            default=evaluation.DEFAULT_SHOPPER_QUERIES,
            help="products photographed as a shopper would, per kind (0: none)",
        )
        parser.add_argument(
            "--behaviour-replay",
            action="store_true",
            help="only the behaviour rails, replayed on the recorded events with a time split "
            "(popularity, content, behaviour, blend): hit@10, MRR, coverage",
        )
        parser.add_argument(
            "--behaviour-share",
            type=float,
            default=0.5,
            help="the blend's places given to behaviour in the replay (default 0.5)",
        )
        parser.add_argument(
            "--report",
            type=Path,
            default=Path(settings.VAR_DIR) / "reports" / "evaluation.html",
            help="the HTML report (default: var/reports/evaluation.html)",
        )

    def handle(
        self,
        *args,
        queries,
        seed,
        skip_experiments,
        shopper_queries,
        json_path: Path | None,
        report: Path,
        behaviour_replay: bool,
        behaviour_share: float,
        **options,
    ):
        if behaviour_replay:
            self._replay(share=behaviour_share, json_path=json_path)
            return
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.get(stage)
            if bar is None:
                bar = bars[stage] = tqdm(total=total, desc=stage, disable=not sys.stderr.isatty())
            bar.n = done
            bar.refresh()

        try:
            figures = evaluation.evaluate(
                queries=queries,
                seed=seed,
                experiments=not skip_experiments,
                shopper_queries=shopper_queries,
                progress=progress,
            )
        except evaluation.EvaluationError as error:
            raise CommandError(str(error)) from error
        finally:
            for bar in bars.values():
                bar.close()
        if json_path is not None:
            _write(json_path, json.dumps(evaluation.summary(figures), indent=2) + "\n")
        _write(report, render(figures))
        for task in ("rail", "photo"):
            row = ", ".join(f"{name} {figures[task][name]:.3f}" for name in METRICS)
            self.stdout.write(f"{task}: {row}")
        if others := figures.get("other_photos"):
            self.stdout.write(
                f"other photos: hit@1 {others['hit@1']:.3f}, hit@10 {others['hit@10']:.3f} "
                f"({others['queries']} photos)"
            )
        for kind, figures_of_kind in figures.get("shopper", {}).items():
            if not figures_of_kind:
                continue  # no product of the sample could be photographed (no photos)
            row = ", ".join(  # photos of no product have no product to find: the note only
                f"{name} {figures_of_kind[name]:.3f}" for name in SHOPPER if name in figures_of_kind
            )
            self.stdout.write(f"shopper {kind}: {row}")
        self.stdout.write(f"Report: {report}")

    def _replay(self, *, share: float, json_path: Path | None) -> None:
        try:
            figures = replay.behaviour_replay(share=share)
        except replay.ReplayError as error:
            raise CommandError(str(error)) from error
        if json_path is not None:
            _write(json_path, json.dumps(figures, indent=2) + "\n")
        self.stdout.write(
            f"Replayed {figures['steps']} next views of {figures['sessions']} later sessions, "
            f"learning from the earlier {figures['train_views']} of {figures['views']} views:"
        )
        for name, rail in figures["rails"].items():
            self.stdout.write(
                f"{name}: hit@{figures['k']} {rail['hit']:.3f}, MRR {rail['mrr']:.3f}, "
                f"coverage {rail['coverage']:.3f}"
            )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
