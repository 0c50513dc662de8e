from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Recommender"

    def ready(self) -> None:
        # The recommender listens to the catalogue's events (shop/events.py).
        from recommender import receivers  # noqa: F401
