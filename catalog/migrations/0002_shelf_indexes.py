"""Indexes for the shelf: one per `?ordering=` (created_at has one), and a character-pair index for `?q=`.

`?q=` finds a substring of the title, subtitle or keywords. pg_trgm indexes Chinese in a
UTF-8 locale, but it takes nothing from a two-character pattern (`%龙井%`), the length of
most Chinese words, so those scanned the table (45 ms at 100,000 products). This indexes
every pair of adjacent characters (pg_bigm's idea, in plain SQL and GIN): a product can hold
`q` only if it holds all of `q`'s pairs, which the index answers (3 ms for 龙井 at 100,000);
the LIKE rechecks the few it finds. `catalog.selectors.SEARCH_PAIRS_SQL` must stay the
index's expression. SQLite (`make run`) has neither and scans, as before."""

from django.db import migrations, models

PAIRS_FUNCTION = """
CREATE OR REPLACE FUNCTION catalog_char_pairs(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS
$$ SELECT coalesce(array_agg(DISTINCT substr(t, i, 2)), '{}') FROM generate_series(1, length(t) - 1) AS i $$
"""
PAIRS_INDEX = """
CREATE INDEX IF NOT EXISTS product_shelf_q ON catalog_product USING gin
(catalog_char_pairs(upper(title::text || ' ' || subtitle::text || ' ' || keywords::text))) WHERE is_on_shelf
"""


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(PAIRS_FUNCTION)
    schema_editor.execute(PAIRS_INDEX)


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS product_shelf_q")
    schema_editor.execute("DROP FUNCTION IF EXISTS catalog_char_pairs(text)")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                condition=models.Q(("is_on_shelf", True)), fields=["sort_order", "-id"], name="product_shelf_default"
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                condition=models.Q(("is_on_shelf", True)), fields=["sales_count", "id"], name="product_shelf_sales"
            ),
        ),
        migrations.RunPython(create_search_index, drop_search_index),
    ]
