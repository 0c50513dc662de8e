from django.core.paginator import Paginator
from django.shortcuts import render

from shop.selectors import product_list_storefront

PRODUCTS_PER_PAGE = 24


def home(request):
    page = Paginator(product_list_storefront(), PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "shop/home.html", {"page": page})
