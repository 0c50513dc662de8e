"""The REST API (/api/v1/): catalogue, similar products, search by photo, staff writes.

Thin views: parameters are validated by serializers, reads go through the same selectors as
the storefront, writes through the same services as the admin.
"""

from __future__ import annotations

from django.db import IntegrityError
from django.db.models import prefetch_related_objects
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import api_error
from recommender.behaviour.recording import shopper_events_record_for
from recommender.encoders import UnreadableImage
from recommender.encoding import IndexOutdated
from recommender.models import ShopperEvent
from recommender.selectors import (
    product_embedding_get,
    product_list_similar,
    product_search_by_photo,
)
from shop.api.policies import (
    AddressScopedRateThrottle,
    HiddenProductReader,
    sees_hidden_products,
)
from shop.api.serializers import (
    CategorySerializer,
    EmbeddingStatusSerializer,
    PhotoSearchResultSerializer,
    PhotoSearchSerializer,
    ProductListParamsSerializer,
    ProductSerializer,
    ProductWriteSerializer,
    ShopperEventsSerializer,
    SimilarParamsSerializer,
    SimilarProductSerializer,
)
from shop.models import Category, Product
from shop.selectors import product_list_storefront
from shop.services import product_save

ERROR_SCHEMA = inline_serializer(
    "Error",
    {
        "error": serializers.CharField(help_text="A stable code, e.g. invalid, not_found."),
        "detail": serializers.CharField(help_text="What went wrong, for a person."),
        "fields": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Per-field messages, for invalid input.",
        ),
    },
)
ERRORS = {
    code: OpenApiResponse(ERROR_SCHEMA, description=description)
    for code, description in {
        400: "Invalid input",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        413: "Request too large",
        415: "Unsupported media type (or a malformed body)",
        429: "Too many requests",
        503: "Search by photo is being rebuilt (after an update); try again in a few minutes",
    }.items()
}


def errors(*codes: int) -> dict:
    return {code: ERRORS[code] for code in codes}


class SearchBeingRebuilt(APIException):
    status_code = 503
    default_code = "search_unavailable"
    default_detail = (
        "Search by photo is being rebuilt after an update of the shop; try again in a few minutes."
    )


@csrf_exempt  # it changes nothing; a CSRF failure page would hide the 404
def json_not_found(request, exception=None):
    """404 for unknown URLs under /api/, in the API's error format."""
    return api_error("not_found", "No such API endpoint.", status=404)


def _params(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer


@extend_schema(tags=["catalogue"])
class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """The category tree, flattened: each category with its depth and its parent's slug."""

    serializer_class = CategorySerializer
    queryset = Category.objects.order_by("path")
    lookup_field = "slug"
    lookup_value_regex = r"[-\w]+"  # what a slug can be; anything else is a plain 404
    pagination_class = None

    @extend_schema(responses={200: CategorySerializer, **errors(404)})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["parents"] = {category.path: category for category in Category.objects.all()}
        return context


@extend_schema(tags=["catalogue"])
class ProductViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Active products. Staff with the product permissions can also create and change products
    (photo upload included), read inactive ones and see embedding status."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if self.action == "list":
            params = _params(ProductListParamsSerializer, self.request.query_params)
            search = params.validated_data.get("q", "")
            sort = params.validated_data.get("sort") or ("relevance" if search else "new")
            return product_list_storefront(filters=params.filters(), search=search, sort=sort)
        products = Product.objects.select_related("category").prefetch_related("images", "variants")
        if sees_hidden_products(self.request.user):
            return products
        return products.filter(is_active=True)

    def get_serializer_class(self):
        return (
            ProductWriteSerializer
            if self.action in ("create", "update", "partial_update")
            else ProductSerializer
        )

    @extend_schema(
        parameters=[ProductListParamsSerializer],
        responses={200: ProductSerializer(many=True), **errors(400, 404)},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: ProductSerializer, **errors(404)})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(responses={201: ProductSerializer, **errors(400, 401, 403, 413, 415)})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = self._save(None, serializer.validated_data)
        return Response(self._read(product), status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ProductSerializer, **errors(400, 401, 403, 404, 413, 415)})
    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        product = self.get_object()
        serializer = self.get_serializer(product, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return Response(self._read(self._save(product, serializer.validated_data)))

    @extend_schema(responses={200: ProductSerializer, **errors(400, 401, 403, 404, 413, 415)})
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    def _save(self, product, data):
        fields = dict(data)
        photo = fields.pop("photo", None)
        try:
            return product_save(product=product, fields=fields, photo=photo)
        except IntegrityError as error:  # a slug taken between validation and save
            raise ValidationError({"slug": ["This slug is taken."]}) from error

    def _read(self, product):
        product = (
            Product.objects.select_related("category")
            .prefetch_related("images", "variants")
            .get(pk=product.pk)
        )
        return ProductSerializer(product, context=self.get_serializer_context()).data

    @extend_schema(
        parameters=[SimilarParamsSerializer],
        responses={200: SimilarProductSerializer(many=True), **errors(400, 404)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def similar(self, request, pk=None):
        """The product's "visually similar" products, best first, never the product itself.

        ``score = image_weight x image_score + text_weight x text_score`` (0.7 / 0.3 unless
        given). Empty until the catalogue has been indexed.
        """
        product = self.get_object()
        params = _params(SimilarParamsSerializer, request.query_params)
        data = params.validated_data
        results = product_list_similar(
            product=product,
            k=data["k"],
            image_weight=data.get("image_weight"),
            text_weight=data.get("text_weight"),
            filters=params.filters(),
            cached=True,
        )
        context = self.get_serializer_context()
        _variants_prefetch(results)
        return Response(SimilarProductSerializer(results, many=True, context=context).data)

    @extend_schema(responses={200: EmbeddingStatusSerializer, **errors(401, 403, 404)})
    @action(detail=True, methods=["get"], permission_classes=[HiddenProductReader])
    def embedding(self, request, pk=None):
        """Staff who may view products: the product's embedding in the live index (pending,
        done, failed)."""
        product = self.get_object()
        found = product_embedding_get(product=product)
        index, row = found if found else (None, None)
        return Response(
            EmbeddingStatusSerializer(
                {
                    "status": row.status if row else "not_indexed",
                    "error": row.error if row else "",
                    "encoder": row.encoder if row else "",
                    "index": index.pk if index else None,
                    "updated_at": row.updated_at if row else None,
                }
            ).data
        )


class PhotoSearchView(APIView):
    permission_classes = [permissions.AllowAny]
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [AddressScopedRateThrottle]
    throttle_scope = "photo_search"  # rate: API_PHOTO_SEARCH_RATE

    @extend_schema(
        tags=["search"],
        request={"multipart/form-data": PhotoSearchSerializer},
        responses={200: SimilarProductSerializer(many=True), **errors(400, 413, 415, 429, 503)},
    )
    def post(self, request):
        """Products that look like the uploaded photo, best first (image cosine, plus the text
        of the products the photo most resembles; the photo is not stored). The shop looks for
        the product in the photo (search/photo/items/ says what it found). Remote URLs are not
        fetched: upload the bytes. Rate limited per client. Empty until the catalogue has been
        indexed."""
        found = _photo_search(request)
        context = {"request": request}
        _variants_prefetch(found.results)
        return Response(SimilarProductSerializer(found.results, many=True, context=context).data)


class PhotoItemsSearchView(PhotoSearchView):
    @extend_schema(
        tags=["search"],
        request={"multipart/form-data": PhotoSearchSerializer},
        responses={200: PhotoSearchResultSerializer, **errors(400, 413, 415, 429, 503)},
    )
    def post(self, request):
        """Search by photo, with what the shop found in it: the products in the photo (boxes;
        send one back as crop to search that one), the region searched, and whether nothing in
        the catalogue looks much like it. Same parameters and rate limit as search/photo/."""
        found = _photo_search(request)
        context = {"request": request}
        _variants_prefetch(found.results)
        return Response(PhotoSearchResultSerializer(found, context=context).data)


class ShopperEventsView(APIView):
    throttle_classes = [AddressScopedRateThrottle]
    throttle_scope = "events"  # rate: API_EVENTS_RATE
    queryset = ShopperEvent.objects.none()  # POST needs recommender.add_shopperevent

    @extend_schema(
        tags=["events"],
        request=ShopperEventsSerializer,
        responses={
            202: inline_serializer("EventsAccepted", {"accepted": serializers.IntegerField()}),
            **errors(400, 401, 403, 429),
        },
    )
    def post(self, request):
        """Record what shoppers did on another front end (a mobile app, a headless
        storefront), up to 500 events a request, of one shopper (`visitor`) or of many (each
        event's own `visitor`): the same events the shop's own pages record, feeding its
        behaviour rails and Insights. Send events in batches: a request costs the shop about
        as much as a hundred events. Send them only for shoppers who may be recorded: not
        for crawlers, nor when the browser sends Do Not Track or Global Privacy Control, nor
        without consent where the law asks for it. The shop stores no address or user agent;
        the visitor is stored as a keyed hash that changes every day. Needs a staff token with
        the permission to add shopper events; rate limited per client (API_EVENTS_RATE).
        Events are stored by the workers within seconds (202: accepted, not yet stored)."""
        params = _params(ShopperEventsSerializer, request.data).validated_data
        events = [
            {("product_id" if name == "product" else name): value for name, value in e.items()}
            for e in params["events"]
        ]
        shopper_events_record_for(events=events)
        return Response({"accepted": len(events)}, status=status.HTTP_202_ACCEPTED)


def _photo_search(request):
    params = _params(PhotoSearchSerializer, request.data)
    data = params.validated_data
    try:
        return product_search_by_photo(
            photo=data["photo"],
            box=data.get("crop"),
            k=data["k"],
            filters=params.filters(),
            find_product=not data["whole_photo"],
        )
    except UnreadableImage as error:
        raise ValidationError({"photo": [f"Not a usable photo: {error}."]}) from error
    except IndexOutdated as error:
        raise SearchBeingRebuilt() from error


def _variants_prefetch(results) -> None:
    """The recommender's results come with photos; the API shows variants too (one query)."""
    prefetch_related_objects([result.product for result in results], "variants")
