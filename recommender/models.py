from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import Q
from pgvector.django import HalfVectorField, HnswIndex, SparseVectorField, VectorField

from recommender import projection, shopper_space
from shop.models import Product, ProductImage

# TF-IDF vocabulary size: text vectors are sparse vectors of this many dimensions.
TEXT_DIMENSIONS = 1 << 17

# Vector columns: the HNSW index searches a short projection of each image vector
# (recommender/projection.py), and the full vectors rank what it proposes exactly.
PROJECTED_DIMENSIONS = projection.DIMENSIONS
SHOPPER_DIMENSIONS = shopper_space.DIMENSIONS


class VectorIndex(models.Model):
    """One build of the similarity index: the encoder of its image vectors and its text model.

    Exactly one index is live; ``reindex`` builds a new one beside it and switches atomically.
    Vectors of two encoders never meet in one ranking because rankings read one index.
    """

    class State(models.TextChoices):
        BUILDING = "building"
        LIVE = "live"
        RETIRED = "retired"

    encoder = models.CharField(max_length=40)
    encoder_version = models.CharField(max_length=80)
    encoder_reason = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=10, choices=State, default=State.BUILDING)
    # The fitted TF-IDF (vocabulary and idf) as JSON, so queries use the same vocabulary.
    text_model = models.JSONField(null=True, blank=True)
    text_fitted_at = models.DateTimeField(null=True, blank=True)
    # The latest catalogue change the text model does not cover yet; a refit clears it.
    text_changed_at = models.DateTimeField(null=True, blank=True)
    # The shopper space learnt at build (``shopper_space.ShopperSpace.to_bytes``): None for a
    # catalogue too small to learn from, or an index built before it existed.
    shopper_space = models.BinaryField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    live_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "vector indexes"
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=Q(state="live"), name="one_live_vector_index"
            )
        ]

    def __str__(self) -> str:
        return f"{self.encoder} index #{self.pk} ({self.state})"


def _hnsw(column, opclass: str | None = None, *, name: str | None = None) -> HnswIndex:
    """An HNSW index (pgvector's defaults: m 16, ef_construction 64) on a column, or on an
    expression such as ``OpClass``."""
    if opclass is None:
        return HnswIndex(column, name=name, m=16, ef_construction=64)
    return HnswIndex(
        fields=[column],
        opclasses=[opclass],
        name=name or f"{column}_hnsw",
        m=16,
        ef_construction=64,
    )


class ProductEmbedding(models.Model):
    """A product's vectors in one index, and where computing them stands."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"

    index = models.ForeignKey(VectorIndex, on_delete=models.CASCADE, related_name="embeddings")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="embeddings")
    # The index's encoder (a ranking never mixes two encoders' vectors: it reads one index).
    encoder = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    error = models.TextField(blank=True)
    image_sha256 = models.CharField(max_length=64, blank=True)
    # No fixed dimension: each encoder has its own. Ranks exactly; never searched by an index.
    image = VectorField(null=True, blank=True)
    # What the HNSW index searches: ``projection.project(image)``.
    image_projected = HalfVectorField(dimensions=PROJECTED_DIMENSIONS, null=True, blank=True)
    # The image vector in the index's shopper space: what search by photo ranks by.
    image_shopper = HalfVectorField(dimensions=SHOPPER_DIMENSIONS, null=True, blank=True)
    text = SparseVectorField(dimensions=TEXT_DIMENSIONS, null=True, blank=True)
    # The photo's dominant colour in CIELAB (``encoders.colour``): a shopper's photo is given
    # the colour name of the catalogue photos nearest to its own colour.
    colour = VectorField(dimensions=3, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["index", "product"], name="one_embedding_per_index")
        ]
        indexes = [
            # halfvec: half the size of the graph, and within float16 rounding for a proposal.
            _hnsw("image_projected", "halfvec_cosine_ops"),
            _hnsw(OpClass("text", name="sparsevec_cosine_ops"), name="text_hnsw"),
            _hnsw("image_shopper", "halfvec_cosine_ops"),
            _hnsw("colour", "vector_l2_ops"),
            models.Index(fields=["index", "status"], name="embedding_status"),
        ]

    def __str__(self) -> str:
        return f"{self.product} in {self.index}"


class PhotoEmbedding(models.Model):
    """A product's other photo (a back view, a detail: not its primary one) in one index.

    Search by photo matches a product by the closest of all its photos; rails compare primary
    photos (``ProductEmbedding``), as measured in docs/evaluation ("Several photos").
    """

    index = models.ForeignKey(VectorIndex, on_delete=models.CASCADE, related_name="photos")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    photo = models.ForeignKey(ProductImage, on_delete=models.CASCADE, related_name="+")
    image_sha256 = models.CharField(max_length=64)
    image = VectorField()  # ranks exactly, like ProductEmbedding.image
    image_projected = HalfVectorField(dimensions=PROJECTED_DIMENSIONS)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["index", "photo"], name="one_vector_per_photo")
        ]
        indexes = [_hnsw("image_projected", "halfvec_cosine_ops", name="photo_projected_hnsw")]

    def __str__(self) -> str:
        return f"photo {self.photo_id} of {self.product_id} in {self.index_id}"


class EvaluationRun(models.Model):
    """One background run of ``evaluation.evaluate``, as the admin's Insights page shows it."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queries = models.PositiveIntegerField()
    seed = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Heartbeat: every progress save touches it, so a run whose worker died shows as stale.
    updated_at = models.DateTimeField(auto_now=True)
    # Progress of the current stage ("rail", "photo", ...): done of total queries.
    stage = models.CharField(max_length=40, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    figures = models.JSONField(null=True, blank=True)
    report_html = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        # The admin index lists this model as the Insights page.
        verbose_name_plural = "insights"
        constraints = [
            # At most one run queued or running, even when two admins press the button at once.
            models.UniqueConstraint(
                models.Value(1),
                condition=Q(status__in=["queued", "running"]),
                name="one_active_evaluation_run",
            )
        ]

    def __str__(self) -> str:
        return f"Evaluation #{self.pk} ({self.status})"

    STAGES = {
        "rail": "Rail task",
        "photo": "Photo task",
        "weights": "Weight sweep",
        "pca": "PCA sweep",
        "maps": "Maps",
    }

    @property
    def progress_text(self) -> str:
        """What the Insights page says of a queued or running run. It changes by whole tenths
        only: it is a live region, and a screen reader should not be interrupted every poll."""
        if self.status == self.Status.QUEUED:
            return "Waiting for a worker to start it…"
        stage = self.STAGES.get(self.stage, self.stage.capitalize() or "Starting")
        if not self.total:
            return f"{stage}…"
        return f"{stage}: {10 * (10 * self.done // self.total)}%"


class WorkerHeartbeat(models.Model):
    """When each Celery worker last said it was consuming tasks (recommender/worker_heartbeat.py).

    In the database because it is the one store every process of every deployment shares: the
    embedded default's cache is per process, and its broker is a folder.
    """

    hostname = models.CharField(max_length=255, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class ShopperEvent(models.Model):
    """One thing a shopper did, under a pseudonym (recommender/behaviour/).

    The table is partitioned by day (migration 0008) so that reading a period reads only its
    days and expiring a day (``EVENTS_RETENTION_DAYS``) drops a table instead of deleting rows.
    Hence the primary key includes the time: PostgreSQL asks for the partition key in every
    unique constraint. Products are referred to by id, without a foreign key, so that deleting
    a product never has to scan millions of events (and its history still counts).
    """

    class Kind(models.TextChoices):
        VIEW = "view", "product viewed"
        IMPRESSION = "impression", "rail shown"
        CLICK = "click", "rail clicked"
        CART_ADD = "cart_add", "added to cart"
        ORDER = "order", "ordered"
        TEXT_SEARCH = "text_search", "searched by words"
        PHOTO_SEARCH = "photo_search", "searched by photo"

    pk = models.CompositePrimaryKey("occurred_at", "id")
    id = models.UUIDField()
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # A keyed hash of the visitor's cookie under a salt that is replaced every day and then
    # forgotten: one visit's events belong together, two days' cannot be linked.
    visitor = models.CharField(max_length=32)
    # The product viewed, clicked, added or ordered; for an impression, the page's product.
    product_id = models.IntegerField(null=True)
    # The rail shown, clicked, or that led the shopper to the product added or ordered.
    rail = models.CharField(max_length=24, blank=True)
    position = models.SmallIntegerField(null=True)  # of the click in its rail, from 1
    shown = ArrayField(models.IntegerField(), default=list, blank=True)  # an impression's ids
    quantity = models.IntegerField(null=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True)  # an order line's
    query = models.CharField(max_length=200, blank=True)
    results = models.IntegerField(null=True)  # how many products a search found
    # The rail experiment the shopper was in, and their arm ("A" or "B"), if any.
    experiment_id = models.IntegerField(null=True)
    arm = models.CharField(max_length=1, blank=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class VisitorSalt(models.Model):
    """The secret that turns visitors' cookies into the day's pseudonyms. Each day gets a new
    random one; old ones are deleted, after which nobody, the shop included, can tell which
    cookie an old pseudonym came from."""

    day = models.DateField(unique=True)
    salt = models.BinaryField(max_length=32)

    def __str__(self) -> str:
        return f"salt of {self.day}"


class BehaviourNeighbour(models.Model):
    """A product that shoppers' behaviour ties to another: viewed by the same shoppers, or
    bought by the same shoppers (recommender/behaviour/neighbours.py). Rebuilt whole at each
    refit, the best ``RECOMMENDER_BEHAVIOUR_NEIGHBOURS`` per product and kind."""

    class Kind(models.TextChoices):
        ALSO_VIEWED = "also_viewed", "shoppers who viewed this also viewed"
        BOUGHT_TOGETHER = "bought_together", "often bought together"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    neighbour = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    # Co-occurrence normalised by both products' popularity (cosine, shrunk), time-decayed.
    score = models.FloatField()
    shoppers = models.IntegerField()  # how many shoppers did both: the rail's "why"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "product", "neighbour"], name="behaviour_neighbour_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.product_id} -> {self.neighbour_id} ({self.score:.3f})"


class BehaviourFit(models.Model):
    """One refit of the behaviour neighbours: when, from how much."""

    fitted_at = models.DateTimeField()
    events = models.IntegerField()  # events read
    products = models.IntegerField()  # products given neighbours
    seconds = models.FloatField()

    class Meta:
        get_latest_by = "fitted_at"

    def __str__(self) -> str:
        return f"behaviour refit at {self.fitted_at:%Y-%m-%d %H:%M}"


class RailExperiment(models.Model):
    """An A/B test between two configurations of the product page's "Visually similar" rail
    (recommender/behaviour/experiments.py). Each recorded shopper sees one arm, always the same
    (a keyed hash of their cookie under the experiment's own salt); their events carry the arm.
    One runs at a time."""

    class State(models.TextChoices):
        RUNNING = "running"
        STOPPED = "stopped"

    name = models.CharField(max_length=120)
    # Each arm: {"image_weight": float, "text_weight": float, "behaviour_share": float,
    # "candidates": int}
    arm_a = models.JSONField("arm A")
    arm_b = models.JSONField("arm B")
    state = models.CharField(max_length=8, choices=State.choices, default=State.RUNNING)
    salt = models.BinaryField(max_length=32, editable=False)
    started_at = models.DateTimeField(auto_now_add=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    promoted = models.CharField(max_length=1, blank=True)  # "A" or "B" once promoted
    # Decided before looking: the verdict waits for this many shoppers in each arm.
    shoppers_per_arm = models.PositiveIntegerField(default=1000)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"],
                condition=Q(state="running"),
                name="one_rail_experiment_running",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RailSettings(models.Model):
    """The rail's configuration as staff last set it (an experiment's arm promoted), over the
    RECOMMENDER_* settings it starts from. One row at most."""

    image_weight = models.FloatField()
    text_weight = models.FloatField()
    behaviour_share = models.FloatField()
    candidates = models.PositiveIntegerField(default=100)  # proposals per index (HNSW)
    updated_at = models.DateTimeField(auto_now=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "rail settings"

    def __str__(self) -> str:
        return (
            f"image {self.image_weight:g}, text {self.text_weight:g}, "
            f"behaviour {self.behaviour_share:g}, {self.candidates} candidates"
        )
