"""A search document per product, kept by the database: title, category path, description and
attributes, each followed by its neighbouring words joined (shop/search.py says why), weighted
title and category A (what a product is), description B, attributes C; with a GIN index.

The column is not a model field: PostgreSQL triggers write it (on every product insert or
update, and for a category's products when the category is renamed or moved), so no import,
admin form, API or bulk update can leave it stale, and nothing in Python sets it. Selectors
read it (shop/selectors.py). The backfill of existing products is migration 0007.
"""

from django.db import migrations

SCHEMA = r"""
CREATE FUNCTION shop_search_words(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(value, '') || ' ' || coalesce((
        SELECT string_agg(word || next_word, ' ' ORDER BY position)
        FROM (
            SELECT word, position, lead(word) OVER (ORDER BY position) AS next_word
            FROM regexp_split_to_table(lower(coalesce(value, '')), '[^[:alnum:]]+')
                WITH ORDINALITY AS words(word, position)
            WHERE word <> ''
        ) AS pairs
        WHERE next_word IS NOT NULL
    ), '')
$$;

CREATE FUNCTION shop_product_search_document(product shop_product) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT
        setweight(to_tsvector('english', shop_search_words(product.title)), 'A')
        || setweight(to_tsvector('english', shop_search_words((
            SELECT string_agg(ancestor.name, ' ' ORDER BY ancestor.depth)
            FROM shop_category AS ancestor, shop_category AS category
            WHERE category.id = product.category_id
                AND category.path LIKE ancestor.path || '%'
        ))), 'A')
        || setweight(to_tsvector('english', shop_search_words(product.description)), 'B')
        || setweight(to_tsvector('english', concat_ws(
            ' ', product.colour, product.gender, product.usage, product.season
        )), 'C')
$$;

ALTER TABLE shop_product ADD COLUMN search_document tsvector;

-- Which columns matter is decided in the functions' bodies, not in the triggers' UPDATE OF
-- or WHEN: PostgreSQL would tie those columns to the triggers, and a later migration that
-- alters one of them would fail (or, dropping one, drop the trigger with it).
CREATE FUNCTION shop_product_search_document_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.search_document IS NOT NULL
        AND (OLD.title, OLD.description, OLD.category_id, OLD.colour, OLD.gender, OLD.usage,
             OLD.season)
        IS NOT DISTINCT FROM (NEW.title, NEW.description, NEW.category_id, NEW.colour,
                              NEW.gender, NEW.usage, NEW.season)
    THEN
        RETURN NEW;  -- nothing searched changed (a stock update, say)
    END IF;
    NEW.search_document := shop_product_search_document(NEW);
    RETURN NEW;
END
$$;

CREATE TRIGGER shop_product_search_document
BEFORE INSERT OR UPDATE ON shop_product
FOR EACH ROW EXECUTE FUNCTION shop_product_search_document_write();

CREATE FUNCTION shop_category_search_documents_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.name, OLD.path) IS NOT DISTINCT FROM (NEW.name, NEW.path) THEN
        RETURN NULL;
    END IF;
    UPDATE shop_product AS product
    SET search_document = shop_product_search_document(product)
    FROM shop_category AS category
    WHERE product.category_id = category.id AND category.path LIKE NEW.path || '%';
    RETURN NULL;
END
$$;

CREATE TRIGGER shop_category_search_documents
AFTER UPDATE ON shop_category
FOR EACH ROW EXECUTE FUNCTION shop_category_search_documents_write();

CREATE INDEX shop_product_search_document ON shop_product USING gin (search_document);
"""

REVERSE = """
DROP TRIGGER shop_category_search_documents ON shop_category;
DROP FUNCTION shop_category_search_documents_write();
DROP TRIGGER shop_product_search_document ON shop_product;
DROP FUNCTION shop_product_search_document_write();
ALTER TABLE shop_product DROP COLUMN search_document;
DROP FUNCTION shop_product_search_document(shop_product);
DROP FUNCTION shop_search_words(text);
"""


class Migration(migrations.Migration):
    dependencies = [("shop", "0005_product_attributes_without_nul")]

    operations = [migrations.RunSQL(SCHEMA, REVERSE)]
