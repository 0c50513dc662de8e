"""Catalogue files read into products, before anything is written: Shopify's export, generic
CSV and JSON Lines through a mapping, and which reader a file gets."""

import json
from decimal import Decimal

import pytest

from shop.catalogue_formats import (
    CatalogueError,
    CatalogueRow,
    KaggleCatalogue,
    MappedCatalogue,
    Mapping,
    RowError,
    ShopifyCatalogue,
    catalogue_open,
)

SHOPIFY_HEADER = (
    "Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,"
    "Option1 Name,Option1 Value,Option2 Name,Option2 Value,Option3 Name,Option3 Value,"
    "Variant SKU,Variant Grams,Variant Inventory Tracker,Variant Inventory Qty,"
    "Variant Price,Variant Compare At Price,Image Src,Image Position,Image Alt Text,"
    "Google Shopping / Gender,Variant Image,Status"
)
# As Shopify writes it: the product's fields on its first line, one line per further variant,
# image-only lines after them.
SHOPIFY_LINES = [
    'linen-shirt,Linen Shirt,"<p>Cool <b>linen</b> &amp; airy.</p><script>steal()</script><ul><li>Loose fit</li></ul>",Acme,Apparel & Accessories > Clothing > Shirts & Tops,Shirts,"summer, linen",TRUE,Size,S,Colour,Blue,,,LIN-S-BLU,200,shopify,4,39.00,49.00,https://cdn.example.com/linen-front.jpg,1,Linen shirt front,male,,active',
    "linen-shirt,,,,,,,,,M,,Blue,,,LIN-M-BLU,200,shopify,0,39.00,,https://cdn.example.com/linen-back.jpg,2,Back,,https://cdn.example.com/linen-front.jpg,",
    "linen-shirt,,,,,,,,,M,,White,,,LIN-M-WHT,200,shopify,-2,42.50,,,,,,https://cdn.example.com/linen-white.jpg,",
    "linen-shirt,,,,,,,,,,,,,,,,,,,,https://cdn.example.com/linen-detail.jpg,3,,,,",
    "oak-board,Oak Chopping Board,<p>Solid oak.</p>,Woodshop,,Kitchen > Boards,,FALSE,Title,Default Title,,,,,OAK-1,900,shopify,12,25.00,,https://cdn.example.com/oak.jpg,1,,,,draft",
]


def write(tmp_path, name, lines, header=SHOPIFY_HEADER):
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def rows_of(catalogue):
    rows = list(catalogue.rows())
    return (
        {row.external_id: row for row in rows if isinstance(row, CatalogueRow)},
        [row for row in rows if isinstance(row, RowError)],
    )


def test_a_shopify_export_is_read_one_product_per_handle(tmp_path):
    catalogue = catalogue_open(write(tmp_path, "products_export.csv", SHOPIFY_LINES))
    assert isinstance(catalogue, ShopifyCatalogue)
    products, errors = rows_of(catalogue)
    assert errors == []
    shirt, board = products["linen-shirt"], products["oak-board"]

    assert shirt.title == "Linen Shirt"
    assert shirt.categories == ["Apparel & Accessories", "Clothing", "Shirts & Tops"]
    assert shirt.description == "Cool linen & airy.\nLoose fit"  # no markup, no script
    assert shirt.option_names == ["Size", "Colour"]
    assert [(v.sku, v.option_values, v.price, v.stock) for v in shirt.variants] == [
        ("LIN-S-BLU", ["S", "Blue"], Decimal("39.00"), 4),
        ("LIN-M-BLU", ["M", "Blue"], Decimal("39.00"), 0),
        ("LIN-M-WHT", ["M", "White"], Decimal("42.50"), 0),  # oversold (-2) is none left
    ]
    assert shirt.variants[0].compare_at_price == Decimal("49.00")
    assert (shirt.price, shirt.stock, shirt.colour) == (Decimal("39.00"), 4, "Blue")
    # In Image Position order, then the variant images that are not among them.
    assert [photo.url.rsplit("/", 1)[1] for photo in shirt.photos] == [
        "linen-front.jpg",
        "linen-back.jpg",
        "linen-detail.jpg",
        "linen-white.jpg",
    ]
    assert [photo.alt_text for photo in shirt.photos[:3]] == [
        "Linen shirt front",
        "Back",
        "Linen Shirt",
    ]
    assert (shirt.gender, shirt.active) == ("Men", True)
    assert shirt.attributes == {"Vendor": "Acme", "Tags": "summer, linen", "Type": "Shirts"}

    # Shopify's "Default Title" variant is the product itself, sold as it is.
    assert board.option_names == []
    assert [(v.sku, v.option_values) for v in board.variants] == [("OAK-1", [])]
    assert (board.price, board.stock) == (Decimal("25.00"), 12)
    assert board.categories == ["Kitchen", "Boards"]  # from Type, no Product Category
    assert "Type" not in board.attributes
    assert board.active is False  # Status: draft


def test_a_bad_shopify_product_is_skipped_with_its_line_and_the_rest_kept(tmp_path):
    lines = [
        *SHOPIFY_LINES,
        "no-title,,<p>x</p>,,,,,TRUE,,,,,,,,,,,10.00,,,,,,,",  # line 7
        "bad-price,Bad Price,,,,,,TRUE,,,,,,,BP-1,,,,ten euros,,,,,,,",  # line 8
        "half-variant,Half,,,,,,TRUE,Size,S,Colour,Red,,,HV-1,,,1,5.00,,,,,,,",  # line 9
        "half-variant,,,,,,,,,M,,,,,HV-2,,,1,5.00,,,,,,,",  # a variant without its colour
        "short-line,Short,,TRUE",  # line 11
        "dup-skus,Dups,,,,,,TRUE,Size,S,,,,,D-1,,,1,5.00,,,,,,,",  # line 12
        "dup-skus,,,,,,,,,M,,,,,D-1,,,1,5.00,,,,,,,",
        "javascript-photo,JS,,,,,,TRUE,,,,,,,J-1,,,1,5.00,,javascript:alert(1),1,,,,",  # 14
        "escaping-photo,Esc,,,,,,TRUE,,,,,,,E-1,,,1,5.00,,../../etc/passwd,1,,,,",  # 15
    ]
    products, errors = rows_of(catalogue_open(write(tmp_path, "export.csv", lines)))
    assert set(products) == {"linen-shirt", "oak-board"}
    reasons = {error.line: error.reason for error in errors}
    assert reasons[7] == "empty Title"
    assert reasons[8] == "price 'ten euros' is not a number"
    assert "a variant needs a value for each of Size, Colour" in reasons[9]
    assert reasons[11] == "expected 26 fields, found 4"
    assert reasons[12] == "two variants share a SKU"
    assert "only http(s) URLs or files beside the catalogue" in reasons[14]
    assert "outside the catalogue's folder" in reasons[15]


def test_a_broken_quote_stops_reading_with_a_reason_and_keeps_what_came_before(tmp_path):
    lines = [*SHOPIFY_LINES, 'broken,"Unclosed title,,,,,,TRUE']
    path = write(tmp_path, "export.csv", lines)
    products, errors = rows_of(catalogue_open(path))
    assert set(products) == {"linen-shirt", "oak-board"}
    assert len(errors) == 1 and errors[0].line == 7
    assert "malformed CSV, reading stopped" in errors[0].reason


def test_a_file_that_is_not_text_is_refused_as_a_whole(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00garbage")
    with pytest.raises(CatalogueError, match="unreadable header"):
        catalogue_open(path)


GENERIC_MAPPING = {
    "fields": {
        "id": "ref",
        "title": "name",
        "description": "blurb",
        "category": "dept",
        "price": "cost",
        "stock": "qty",
        "sku": "code",
        "colour": "shade",
    },
    "photos": ["picture", "more_pictures"],
    "options": {"Size": "size"},
}


def test_a_generic_csv_is_read_through_a_mapping_file(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "mapping.json").write_text(json.dumps(GENERIC_MAPPING))
    path = write(
        tmp_path,
        "stock.csv",
        [
            "V-1,Velvet Cushion,Soft.,Home > Cushions,19.90,3,VC-S,Green,photos/v1.jpg,https://x.example/v1b.jpg|https://x.example/v1c.jpg,S,Velvet",
            "V-1,,,,24.90,2,VC-L,,,,L,",
            "L-2,Brass Lamp,,Home > Lighting,89,1,BL,Gold,https://x.example/l2.jpg,,,Brass",
        ],
        header="ref,name,blurb,dept,cost,qty,code,shade,picture,more_pictures,size,material",
    )
    mapping = Mapping.load(tmp_path / "mapping.json")
    products, errors = rows_of(catalogue_open(path, mapping=mapping))
    assert errors == []
    cushion, lamp = products["V-1"], products["L-2"]
    assert cushion.categories == ["Home", "Cushions"]
    assert cushion.option_names == ["Size"]
    assert [(v.sku, v.option_values, v.price, v.stock) for v in cushion.variants] == [
        ("VC-S", ["S"], Decimal("19.90"), 3),
        ("VC-L", ["L"], Decimal("24.90"), 2),
    ]
    assert (cushion.price, cushion.stock) == (Decimal("19.90"), 5)
    assert cushion.photos[0].path == (tmp_path / "photos" / "v1.jpg").resolve()
    assert [p.url for p in cushion.photos[1:]] == [
        "https://x.example/v1b.jpg",
        "https://x.example/v1c.jpg",
    ]
    assert cushion.attributes == {"material": "Velvet"}  # columns nobody mapped
    assert (lamp.option_names, lamp.price, lamp.stock, lamp.colour) == (
        [],
        Decimal("89.00"),
        1,
        "Gold",
    )
    assert [v.sku for v in lamp.variants] == ["BL"]


def test_json_lines_are_read_through_command_line_mappings(tmp_path):
    path = tmp_path / "feed.jsonl"
    records = [
        {
            "sku": "T-1",
            "name": "Teapot",
            "price": 30,
            "images": ["https://x.example/t1.jpg", "https://x.example/t2.jpg"],
            "glaze": "celadon",
        },
        "not an object",
        {"sku": "", "name": "No id"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n{broken\n")
    mapping = Mapping.from_options(["id=sku", "title=name", "price=price", "photos=images"])
    products, errors = rows_of(catalogue_open(path, mapping=mapping))
    teapot = products["T-1"]
    assert (teapot.title, teapot.price) == ("Teapot", Decimal("30.00"))
    assert len(teapot.photos) == 2
    assert teapot.attributes == {"glaze": "celadon"}
    assert {(e.line, e.reason.split(":")[0]) for e in errors} == {
        (2, "not a JSON object"),
        (3, "empty id"),
        (4, "not JSON"),
    }


@pytest.mark.parametrize(
    ("mapping", "reason"),
    [
        ({"fields": {"title": "name"}}, "must name the id and title"),
        ({"fields": {"id": "a", "title": "b", "colour_code": "c"}}, "unknown field"),
        ({"fields": {"id": "a", "title": "b"}, "photo": ["x"]}, "expected an object"),
        ([], "expected an object"),
    ],
)
def test_a_wrong_mapping_is_refused_with_a_reason(mapping, reason):
    with pytest.raises(CatalogueError, match=reason):
        Mapping.from_dict(mapping)


def test_the_reader_is_chosen_by_the_header(tmp_path):
    kaggle = tmp_path / "kaggle"
    kaggle.mkdir()
    (kaggle / "styles.csv").write_text("id,productDisplayName\n1,Shirt\n")
    assert isinstance(catalogue_open(kaggle), KaggleCatalogue)
    assert isinstance(catalogue_open(kaggle / "styles.csv"), KaggleCatalogue)
    assert isinstance(catalogue_open(write(tmp_path, "s.csv", SHOPIFY_LINES)), ShopifyCatalogue)
    mapped = catalogue_open(
        kaggle / "styles.csv", mapping=Mapping.from_options(["id=id", "title=productDisplayName"])
    )
    assert isinstance(mapped, MappedCatalogue)
    jsonl = tmp_path / "feed.jsonl"
    jsonl.write_text("{}\n")
    with pytest.raises(CatalogueError, match="needs a mapping"):
        catalogue_open(jsonl)
    with pytest.raises(CatalogueError, match="No catalogue file"):
        catalogue_open(tmp_path / "missing.csv")
