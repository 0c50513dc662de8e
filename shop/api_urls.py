from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from shop import apis

app_name = "api"
router = DefaultRouter()
router.register("products", apis.ProductViewSet, basename="product")
router.register("categories", apis.CategoryViewSet, basename="category")

urlpatterns = [
    *router.urls,
    path("search/photo/", apis.PhotoSearchView.as_view(), name="photo-search"),
    re_path(r"^[\s\S]*$", apis.json_not_found),  # unknown API URLs answer in the API's format
]
