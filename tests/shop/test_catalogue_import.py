from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from shop.models import Category, Product, ProductImage
from shop.services import catalogue_import
from tests.factories.catalogue import jpeg_bytes

HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName"


def write_catalogue(
    folder: Path, lines: list[str], images: dict[str, bytes], header=HEADER
) -> Path:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "styles.csv").write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    for external_id, data in images.items():
        (folder / "images" / f"{external_id}.jpg").write_bytes(data)
    return folder


@pytest.fixture
def messy_catalogue(tmp_path):
    """Real-file trouble: unquoted commas, empty fields, a missing and a broken photo, bad lines."""
    lines = [
        "1,Men,Apparel,Topwear,Tshirts,Navy Blue,Summer,2012,Casual,Puma Men Navy Blue T-shirt",  # 2
        "2,Women,Footwear,Shoes,Heels,Black,,,Casual,Catwalk Women, Black, Heels",  # 3: commas, empties
        "3,Men,Apparel,Topwear,Shirts,White,Fall,2011,Formal,Shirt without photo",  # 4: no image
        "4,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Formal,Broken photo shirt",  # 5: truncated JPEG
        "5,Men,Apparel",  # 6: unparseable
        "6,Martians,Apparel,Topwear,Shirts,Blue,Fall,2011,Formal,Odd gender",  # 7
        '7,Unisex,Accessories,Bags,Backpacks,Red,Winter,2016.0,Casual,"Wildcraft, Red Backpack"',  # 8
        "1,Men,Apparel,Topwear,Tshirts,Navy Blue,Summer,2012,Casual,Duplicate of line 2",  # 9
    ]
    good = jpeg_bytes()
    images = {
        "1": good,
        "2": jpeg_bytes((0, 0, 0)),
        "4": good[: len(good) // 2],
        "5": good,
        "6": good,
        "7": jpeg_bytes((200, 0, 0)),
    }
    return write_catalogue(tmp_path / "catalogue", lines, images)


@pytest.mark.django_db
def test_import_keeps_good_rows_and_reports_bad_ones_by_line(messy_catalogue):
    report = catalogue_import(path=messy_catalogue)

    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    reasons = {error.line: error.reason for error in report.errors}
    assert set(reasons) == {4, 5, 6, 7, 9}
    assert "missing image" in reasons[4]
    assert "corrupt or truncated" in reasons[5]
    assert "expected 10 fields, found 3" in reasons[6]
    assert "gender 'Martians'" in reasons[7]
    assert "duplicate id, first on line 2" in reasons[9]

    heels = Product.objects.get(external_id="2")
    assert heels.title == "Catwalk Women, Black, Heels"
    assert (heels.season, heels.year, heels.gender, heels.colour) == ("", None, "Women", "Black")
    assert str(heels.category) == "Footwear > Shoes > Heels"
    backpack = Product.objects.get(external_id="7")
    assert backpack.title == "Wildcraft, Red Backpack" and backpack.year == 2016
    assert not Product.objects.filter(external_id__in=["3", "4", "5", "6"]).exists()


@pytest.mark.django_db
def test_import_builds_the_category_tree_and_stores_photos(messy_catalogue, media_root):
    catalogue_import(path=messy_catalogue)

    apparel = Category.objects.get(name="Apparel", depth=1)
    assert [c.name for c in Category.objects.get_descendants(apparel)] == ["Topwear", "Tshirts"]
    tshirt = Product.objects.get(external_id="1")
    image = tshirt.primary_image
    assert image.is_primary
    # Stored, not re-measured from the file each time a row is loaded.
    assert ProductImage.objects.filter(pk=image.pk).values_list("width", "height")[0] == (60, 80)
    assert image.image.name.startswith("products/")  # a random name, not the catalogue's
    assert (media_root / image.image.name).read_bytes() == (
        messy_catalogue / "images/1.jpg"
    ).read_bytes()
    assert len(image.sha256) == 64
    assert tshirt.price is None and not tshirt.is_purchasable  # no price column: shown, not sold


@pytest.mark.django_db
def test_reimport_updates_in_place_and_never_duplicates(
    messy_catalogue, media_root, django_capture_on_commit_callbacks
):
    catalogue_import(path=messy_catalogue)
    old_image = Product.objects.get(external_id="1").primary_image
    old_file = media_root / old_image.image.name

    again = catalogue_import(path=messy_catalogue)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Product.objects.count() == 3 and ProductImage.objects.count() == 3

    styles = messy_catalogue / "styles.csv"
    styles.write_text(styles.read_text().replace("Puma Men Navy Blue T-shirt", "Puma Men Navy Tee"))
    (messy_catalogue / "images/1.jpg").write_bytes(jpeg_bytes((0, 200, 0)))
    with django_capture_on_commit_callbacks(execute=True):
        changed = catalogue_import(path=messy_catalogue)

    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 2)
    tee = Product.objects.get(external_id="1")
    assert tee.title == "Puma Men Navy Tee"
    assert tee.images.count() == 1 and tee.primary_image.pk != old_image.pk
    assert not old_file.exists()  # the replaced photo's file is gone
    assert (media_root / tee.primary_image.image.name).is_file()


@pytest.mark.django_db
def test_price_and_stock_columns_are_optional_and_never_wiped(tmp_path):
    header = HEADER + ",price,stock"
    folder = write_catalogue(
        tmp_path / "c",
        [
            "10,Men,Apparel,Topwear,Tshirts,Red,Summer,2020,Casual,Priced tee,12.5,3",
            "11,Men,Apparel,Topwear,Tshirts,Red,Summer,2020,Casual,Unpriced tee,,",
            "12,Men,Apparel,Topwear,Tshirts,Red,Summer,2020,Casual,Bad price tee,-4,1",
        ],
        {"10": jpeg_bytes(), "11": jpeg_bytes(), "12": jpeg_bytes()},
        header=header,
    )
    report = catalogue_import(path=folder)
    assert report.created == 2 and "price '-4' is out of range" in report.errors[0].reason
    priced = Product.objects.get(external_id="10")
    assert (priced.price, priced.stock, priced.is_purchasable) == (Decimal("12.50"), 3, True)
    assert Product.objects.get(external_id="11").price is None

    # A shop admin sets a price; a catalogue without a price column must not erase it.
    Product.objects.filter(external_id="10").update(price=Decimal("15.00"), stock=7)
    (folder / "styles.csv").write_text(
        HEADER + "\n10,Men,Apparel,Topwear,Tshirts,Red,Summer,2020,Casual,Priced tee\n"
    )
    catalogue_import(path=folder)
    priced.refresh_from_db()
    assert (priced.price, priced.stock) == (Decimal("15.00"), 7)


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["import_catalogue", "import_catalog"])  # and its former name
def test_command_prints_progress_summary_and_skipped_lines(messy_catalogue, capsys, command):
    call_command(command, str(messy_catalogue))
    out, err = capsys.readouterr()
    assert "3 created, 0 updated, 0 unchanged, 5 skipped" in out
    assert "skipped line 4 (id 3): missing image images/3.jpg" in err
    assert "skipped line 6 (id 5): expected 10 fields, found 3" in err


@pytest.mark.django_db
def test_command_refuses_a_folder_without_styles_csv(tmp_path):
    with pytest.raises(CommandError, match=r"No styles\.csv found"):
        call_command("import_catalogue", str(tmp_path))
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_command_refuses_a_header_without_required_columns(tmp_path):
    folder = write_catalogue(tmp_path / "c", ["1,Men"], {}, header="id,gender")
    with pytest.raises(CommandError, match="lacks required column"):
        call_command("import_catalogue", str(folder))


@pytest.mark.slow
@pytest.mark.fashion_dev
@pytest.mark.django_db(transaction=True)
def test_fashion_dev_imports_completely_and_reimports_unchanged(fashion_dev):
    first = catalogue_import(path=fashion_dev)
    assert (first.created, first.skipped) == (4001, 0)
    assert Category.objects.filter(depth=1).count() == 6  # Apparel, Accessories, Footwear, ...
    assert Product.objects.filter(category__depth=3).count() == 4001
    second = catalogue_import(path=fashion_dev)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 4001)


@pytest.mark.django_db
def test_a_row_with_a_nul_character_is_skipped_and_reported_the_rest_imported(tmp_path):
    """PostgreSQL stores no NUL: one such row must not fail its whole batch."""
    lines = [
        "1,Men,Apparel,Topwear,Tshirts,Navy Blue,Summer,2012,Casual,Plain T-shirt",
        "2,Men,Apparel,Topwear,Tshirts,Red,Summer,2012,Casual,Odd\x00 T-shirt",
    ]
    folder = write_catalogue(tmp_path / "c", lines, {"1": jpeg_bytes(), "2": jpeg_bytes()})
    report = catalogue_import(path=folder)
    assert report.created == 1
    assert [(error.line, error.reason) for error in report.errors] == [
        (3, "a NUL character in a field")
    ]
    assert list(Product.objects.values_list("title", flat=True)) == ["Plain T-shirt"]
