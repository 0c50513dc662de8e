"""The recommender in Django admin: what it adds to the catalogue's product admin (embedding
status, re-embed action, duplicate-photo warning), and the Insights page (recommendation
quality, measured in the background). Views are thin: permissions, one form, then a service.

The catalogue's admin knows nothing of the recommender: the recommender registers its own
version of it here (admin modules load in INSTALLED_APPS order, shop's first)."""

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from recommender.behaviour import experiments
from recommender.models import EvaluationRun, ProductEmbedding, RailExperiment, RailSettings
from recommender.quality import evaluation, insights, rail_insights
from recommender.quality.report import METRICS, SHOPPER
from recommender.queueing import products_reembed
from recommender.selectors import (
    product_annotate_embedding_status,
    product_embedding_get,
    product_list_photo_duplicates,
)
from recommender.shopper_photos import KIND_DESCRIPTIONS, KINDS, NOTHING
from recommender.worker_heartbeat import no_worker_warning
from shop.admin.catalogue import ProductAdmin
from shop.models import Product

TASKS = ("rail", "photo")
METRIC_LABELS = {
    "p10_article": "P@10 article type",
    "p10_article_colour": "P@10 type + colour",
    "ndcg10": "nDCG@10",
    "coverage": "coverage",
    "latency_ms_median": "median latency (ms)",
    "latency_ms_p95": "p95 latency (ms)",
    "colour_agreement": "colour agreement",
    "shape_agreement": "shape agreement",
    "hit1": "found first",
    "hit10": "found in top 10",
    "unsure": "\u201cnothing like it\u201d note",
}


RAIL_DAYS = 30  # the period of the Insights page's rail figures


class EvaluationRunForm(forms.Form):
    queries = forms.IntegerField(
        min_value=1,
        max_value=insights.MAX_QUERIES,
        initial=evaluation.DEFAULT_QUERIES,
        help_text="Products sampled as queries (at most the whole catalogue).",
    )
    seed = forms.IntegerField(
        min_value=0,
        initial=0,
        help_text="The same seed samples the same products, so runs compare.",
    )


@admin.register(EvaluationRun)
class EvaluationRunAdmin(admin.ModelAdmin):
    """No list or edit forms: the model's admin URL is the Insights page, where runs start.

    Viewing needs ``view_evaluationrun``, starting a run ``add_evaluationrun``; runs are records
    and are never edited or deleted here.
    """

    def get_urls(self):
        view, name = self.admin_site.admin_view, "recommender_evaluationrun"
        return [
            path("", view(self.insights_view), name=f"{name}_changelist"),
            path("status/", view(self.status_view), name=f"{name}_status"),
            path("rails.png", view(self.rails_plot_view), name=f"{name}_rails_plot"),
            path("<int:run_id>/report/", view(self.report_view), name=f"{name}_report"),
        ]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def insights_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = EvaluationRunForm(request.POST if request.method == "POST" else None)
        if request.method == "POST":
            if not self.has_add_permission(request):
                raise PermissionDenied
            if form.is_valid():
                try:
                    run = insights.evaluation_run_start(user=request.user, **form.cleaned_data)
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    if run.status == EvaluationRun.Status.FAILED:
                        messages.error(request, run.error)
                    else:
                        messages.success(request, f"Evaluation #{run.pk} is queued.")
                    return redirect(request.path)  # a reload does not post again
        return TemplateResponse(
            request, "admin/recommender/insights.html", self._context(request, form)
        )

    def _context(self, request, form: EvaluationRunForm) -> dict:
        latest = insights.evaluation_run_latest()
        current = insights.evaluation_run_current()
        runs = insights.evaluation_runs_recent(limit=10)
        figures = latest.figures if latest else None
        return {
            **self.admin_site.each_context(request),
            "title": "Insights: recommendation quality",
            "opts": self.opts,
            "latest": latest,
            "config": figures and figures["config"],
            "metric_labels": [METRIC_LABELS.get(name, name) for name in METRICS],
            "headline": figures
            and [(task, [figures[task].get(name) for name in METRICS]) for task in TASKS],
            "shopper_labels": [METRIC_LABELS.get(name, name) for name in SHOPPER],
            # In the order of the kinds: figures come back from jsonb with their keys re-sorted.
            "shopper": figures
            and [
                (kind, KIND_DESCRIPTIONS[kind], [row.get(name) for name in SHOPPER])
                for kind in (*KINDS, NOTHING)
                if (row := figures.get("shopper", {}).get(kind))
            ],
            "report_outdated": insights.evaluation_report_outdated(latest),
            "current": current,
            "current_stale": current is not None and insights.evaluation_run_is_stale(current),
            "last_failed": runs and runs[0].status == EvaluationRun.Status.FAILED and runs[0],
            "runs": runs,
            "form": form,
            "can_start": self.has_add_permission(request),
            "worker_warning": no_worker_warning(),
            "rails": rail_insights.rail_figures(days=RAIL_DAYS),
            "rail_days": RAIL_DAYS,
            "attribution": rail_insights.ATTRIBUTION,
            "currency": settings.SHOP_CURRENCY,
        }

    def rails_plot_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        figures = rail_insights.rail_figures(days=RAIL_DAYS)
        plot = rail_insights.rail_plot_png(figures, days=RAIL_DAYS)
        return HttpResponse(plot, content_type="image/png")

    def status_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return JsonResponse(insights.evaluation_run_status())

    # A page of its own: sandboxed (no scripts, an opaque origin) even when opened directly, and
    # framed only by our admin page. It is self-contained (recommender/quality/report.py): an inline
    # <style> and plots as data: PNGs, which its policy allows, and nothing else at all.
    @csp(
        {
            "default-src": [NONE],
            "style-src": [UNSAFE_INLINE],
            "img-src": ["data:"],
            "base-uri": [NONE],
            "form-action": [NONE],
            "frame-ancestors": [SELF],
            "sandbox": True,
        }
    )
    def report_view(self, request, run_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        html = insights.evaluation_run_report(run_id=run_id)
        if html is None:
            raise Http404("This evaluation has no report.")
        response = HttpResponse(html)
        response["X-Frame-Options"] = "SAMEORIGIN"
        return response


class EmbeddingStatusFilter(admin.SimpleListFilter):
    """Products by their embedding in the live index (``product_annotate_embedding_status``)."""

    title = "embedding"
    parameter_name = "embedding"
    NOT_INDEXED = "none"

    def lookups(self, request, model_admin):
        return [
            (ProductEmbedding.Status.PENDING, "Pending"),
            (ProductEmbedding.Status.DONE, "Done"),
            (ProductEmbedding.Status.FAILED, "Failed"),
            (self.NOT_INDEXED, "Not indexed (no live index)"),
        ]

    def queryset(self, request, queryset):
        # The admin's queryset is annotated already (ProductWithEmbeddingAdmin.get_queryset).
        if self.value() == self.NOT_INDEXED:
            return queryset.filter(embedding_status__isnull=True)
        if self.value() in ProductEmbedding.Status.values:
            return queryset.filter(embedding_status=self.value())
        return queryset


class ProductWithEmbeddingAdmin(ProductAdmin):
    """The catalogue's product admin, plus each product's embedding in the live index, and a
    warning on its list and forms when no worker runs to embed new photos."""

    change_list_template = "admin/recommender/product_change_list.html"
    change_form_template = "admin/recommender/product_change_form.html"
    list_display = [*ProductAdmin.list_display, "embedding"]
    list_filter = [*ProductAdmin.list_filter, EmbeddingStatusFilter]
    readonly_fields = [*ProductAdmin.readonly_fields, "embedding_detail"]
    actions = [*ProductAdmin.actions, "reembed"]
    fieldsets = [*ProductAdmin.fieldsets, ("Similarity index", {"fields": ["embedding_detail"]})]

    def get_queryset(self, request):
        return product_annotate_embedding_status(super().get_queryset(request))

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "worker_warning": no_worker_warning()}
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "worker_warning": no_worker_warning()}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        duplicates = product_list_photo_duplicates(product=form.instance)
        if duplicates:
            self.message_user(
                request,
                "This photo is already used by: " + ", ".join(str(p) for p in duplicates),
                messages.WARNING,
            )

    @admin.display(description="Embedding", ordering="embedding_status")
    def embedding(self, obj):
        # Pending also covers a product not in the live index yet; None: no live index.
        return obj.embedding_status or "not indexed"

    @admin.display(description="Embedding")
    def embedding_detail(self, obj):
        if not obj.pk:
            return "—"
        status = product_embedding_get(product=obj)
        if status is None:
            return "No live index yet: run `manage.py reindex`."
        index, row = status
        if row is None:
            return f"pending: not in {index} yet (queued, or picked up by the periodic sweep)"
        detail = f"{row.status} in {index}, encoder {index.encoder} {index.encoder_version}"
        return f"{detail}. Reason: {row.error}" if row.error else detail

    @admin.action(description="Re-embed the photos of selected products")
    def reembed(self, request, queryset):
        queued = products_reembed(product_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{queued} product(s) queued for embedding.", messages.SUCCESS)


admin.site.unregister(Product)
admin.site.register(Product, ProductWithEmbeddingAdmin)


CANDIDATES_HELP = (
    "Products each index proposes before the exact ranking: fewer is faster and may miss a "
    "look-alike (bench/RESULTS.md: recall@10 0.995 at 100, 0.948 at 40, at a million products)."
)


class RailExperimentForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="What is compared, for those who read it.")
    a_image_weight = forms.FloatField(label="A: image weight", min_value=0)
    a_text_weight = forms.FloatField(label="A: text weight", min_value=0)
    a_behaviour_share = forms.FloatField(label="A: behaviour share", min_value=0, max_value=1)
    a_candidates = forms.IntegerField(
        label="A: candidates", min_value=10, max_value=1000, help_text=CANDIDATES_HELP
    )
    b_image_weight = forms.FloatField(label="B: image weight", min_value=0)
    b_text_weight = forms.FloatField(label="B: text weight", min_value=0)
    b_behaviour_share = forms.FloatField(label="B: behaviour share", min_value=0, max_value=1)
    b_candidates = forms.IntegerField(label="B: candidates", min_value=10, max_value=1000)
    shoppers_per_arm = forms.IntegerField(
        label="Shoppers per arm",
        min_value=experiments.MIN_SHOPPERS,
        initial=1000,
        help_text="The verdict waits for this many shoppers shown the rail in each arm: decide "
        "it now. Telling 5% conversion from 6% (95% confidence, 80% power) takes about 8,000; "
        "from 7.5%, about 1,500.",
    )

    def arm(self, letter: str) -> dict:
        return {name: self.cleaned_data[f"{letter}_{name}"] for name in experiments.CONFIG_FIELDS}


@admin.register(RailExperiment)
class RailExperimentAdmin(admin.ModelAdmin):
    """One page: the experiments with their results, starting one (``add_railexperiment``),
    stopping or promoting an arm (``change_railexperiment``). No edit or delete forms:
    experiments are records."""

    def get_urls(self):
        view, name = self.admin_site.admin_view, "recommender_railexperiment"
        return [
            path("", view(self.experiments_view), name=f"{name}_changelist"),
            path("<int:experiment_id>/stop/", view(self.stop_view), name=f"{name}_stop"),
            path("settings/reset/", view(self.reset_view), name=f"{name}_reset"),
        ]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def experiments_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        default = experiments.rail_configuration_default()
        initial = {f"{letter}_{k}": v for letter in ("a", "b") for k, v in default.items()}
        form = RailExperimentForm(request.POST or None, initial=initial)
        if request.method == "POST":
            if not self.has_add_permission(request):
                raise PermissionDenied
            if form.is_valid():
                try:
                    started = experiments.experiment_start(
                        name=form.cleaned_data["name"],
                        arm_a=form.arm("a"),
                        arm_b=form.arm("b"),
                        shoppers_per_arm=form.cleaned_data["shoppers_per_arm"],
                        user=request.user,
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    messages.success(request, f"Experiment “{started}” is running.")
                    return redirect(request.path)
        shown = []
        for experiment in RailExperiment.objects.all()[:10]:
            arms, verdict = experiments.experiment_results(experiment=experiment)
            configs = (experiment.arm_a, experiment.arm_b)
            shown.append((experiment, list(zip(arms, configs, strict=True)), verdict))
        return TemplateResponse(
            request,
            "admin/recommender/experiments.html",
            {
                **self.admin_site.each_context(request),
                "title": "Rail experiments",
                "opts": self.opts,
                "experiments": shown,
                "form": form,
                "can_start": self.has_add_permission(request),
                "can_stop": self.has_change_permission(request),
                "default": default,
                "promoted": RailSettings.objects.first(),
                "currency": settings.SHOP_CURRENCY,
            },
        )

    def stop_view(self, request, experiment_id: int):
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        experiment = RailExperiment.objects.filter(pk=experiment_id).first()
        if experiment is None:
            raise Http404("No such experiment")
        promote = request.POST.get("promote", "")
        try:
            experiments.experiment_stop(experiment=experiment, promote=promote)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"Arm {promote} is now the rail's configuration." if promote else "Stopped.",
            )
        return redirect("admin:recommender_railexperiment_changelist")

    def reset_view(self, request):
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        experiments.rail_settings_forget()
        messages.success(request, "The rail's configuration is the shop's settings again.")
        return redirect("admin:recommender_railexperiment_changelist")
