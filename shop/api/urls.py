from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from shop.api import views

app_name = "api"
router = DefaultRouter()
router.register("products", views.ProductViewSet, basename="product")
router.register("categories", views.CategoryViewSet, basename="category")

urlpatterns = [
    *router.urls,
    path("search/photo/", views.PhotoSearchView.as_view(), name="photo-search"),
    path("search/photo/items/", views.PhotoItemsSearchView.as_view(), name="photo-search-items"),
    path("events/", views.ShopperEventsView.as_view(), name="events"),
    re_path(r"^[\s\S]*$", views.json_not_found),  # unknown API URLs answer in the API's format
]
