import time

import pytest


@pytest.fixture
def timing_catalogue(fashion_dev, tmp_path, transactional_db):
    from recommender.services import index_build
    from shop.services import catalog_import, products_set_demo_prices

    folder = tmp_path / "cat"
    folder.mkdir()
    lines = (fashion_dev / "styles.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "styles.csv").write_text("".join(lines[:301]), encoding="utf-8")
    (folder / "images").symlink_to(fashion_dev / "images")
    t = time.perf_counter()
    r = catalog_import(path=folder, default_stock=5)
    print("import", time.perf_counter() - t, r)
    t = time.perf_counter()
    products_set_demo_prices()
    print("prices", time.perf_counter() - t)
    t = time.perf_counter()
    index_build(encoder="efficientnet_lite0")
    print("index", time.perf_counter() - t)
