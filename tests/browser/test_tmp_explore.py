from collections import Counter
from recommender.selectors import products_by_photo, similar_products
from shop.models import Product

def test_explore(catalogue):
    for t in ["Tshirts", "Shirts", "Casual Shoes", "Watches", "Sports Shoes"]:
        for row in [r for r in catalogue.unimported if r["articleType"] == t][:4]:
            res = products_by_photo(photo=catalogue.photo(row["id"]), k=5)
            print(t, row["id"], row["productDisplayName"], [r.product.category.name for r in res])
    p = Product.objects.order_by("pk")
    print(p.count(), p.filter(price__isnull=False).count(), p.filter(stock=5).count())
    print([ (x.pk, x.slug, x.price) for x in p[:5]])
