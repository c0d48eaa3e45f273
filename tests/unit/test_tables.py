"""Tables the code keeps in more than one place agree with their one source.

The sources: the shared layer's options (imageservice.options: filter names, output formats), which the API
validates against and GET /api/options lists, and the template's Variants default (variant sizes). Each
other copy exists because a different layer or language needs its own: the Pillow core's filter registry and
writers, the job budget's cost per filter and per encoder, the page's labels, the API reference, the fuzz
recipe. (The OpenAPI document's enums are checked in test_openapi.py.)"""

import re
from pathlib import Path

import imaging
from imageservice.config import parse_variants
from imageservice.keys import DERIVED_FORMATS
from imageservice.options import FILTERS, OUTPUT_FORMATS
from imaging import budget

from testkit.fuzz_strategies import fuzz_recipe

ROOT = Path(__file__).resolve().parents[2]


def _js_object_keys(source: str, name: str) -> tuple[str, ...]:
    body = re.search(rf"const {name} = \{{(.*?)\n\}};", source, re.S).group(1)
    return tuple(re.findall(r"^\s*([a-z]+):", body, re.M))


def test_the_core_has_exactly_the_apis_filters_and_formats_in_its_order():
    assert imaging.FILTERS == FILTERS
    # fallback (JPEG, or PNG with transparency) is what GET /img/... renders for auto without AVIF or WebP; an
    # upload names its format.
    assert imaging.OUTPUT_FORMATS == (*OUTPUT_FORMATS, "fallback")
    assert set(DERIVED_FORMATS) <= set(imaging.OUTPUT_FORMATS)


def test_the_job_budget_costs_every_filter_and_every_written_format():
    assert set(budget.FILTER_NS) == set(FILTERS)
    # "original" writes the source's own format where it can: JPEG, PNG, WebP, GIF.
    assert set(OUTPUT_FORMATS) - {"original"} <= set(budget.ENCODE_NS)
    assert {"jpeg", "png", "webp", "gif"} <= set(budget.ENCODE_NS)


def test_the_page_has_words_for_every_filter_and_format():
    source = (ROOT / "web" / "options.js").read_text()
    assert _js_object_keys(source, "FILTER_LABELS") == FILTERS
    assert set(_js_object_keys(source, "FORMAT_LABELS")) == set(OUTPUT_FORMATS)


def test_the_api_reference_lists_the_filters_and_formats():
    rows = {row.split("|")[1].strip(): row for row in (ROOT / "docs" / "api.md").read_text().splitlines()
            if row.startswith("| `")}
    assert tuple(re.findall(r"`([a-z]+)`", rows["`filters`"].split("|")[2])) == FILTERS
    assert set(re.findall(r"`([a-z]+)`", rows["`format`"].split("|")[2])) == set(OUTPUT_FORMATS)


def test_the_fuzz_recipe_makes_the_templates_default_variants(template):
    default = parse_variants(template["Parameters"]["Variants"]["Default"])
    assert [(spec.name, spec.long_edge) for spec in fuzz_recipe().variants] == [
        (size.name, size.long_edge) for size in default]
