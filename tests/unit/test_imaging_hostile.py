"""Files that make decoders do work their headers do not declare (testkit/hostile.py), refused before decoding.

Each runs as ProcessFunction runs it: in a forked child (imaging.isolation), here capped at 900 MB more
address space and 3 s of CPU, so a file that got past the checks would end image_too_complex, not with
the code asserted. The child also reports the CPU it used and how far its resident memory grew. The files
are built in children too, which keeps their buffers out of the test process's memory.
"""

import io
import resource
import time

import pillow_heif
import pytest
from imaging import ImageRejected, Limits, Recipe, VariantSpec, build_variants, containers, run_isolated
from imaging import heif as heif_module
from imaging.completeness import MAX_SCANS

from testkit import hostile

MIB = 1024 * 1024
RECIPE = Recipe(variants=(VariantSpec("large", 2048), VariantSpec("medium", 1024), VariantSpec("thumb", 256)),
                max_pixels=50_000_000)
BOUNDS = Limits(memory_bytes=900 * MIB, cpu_seconds=3)


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(field + ":"))


def _in_child(function):
    return run_isolated(function, limits=Limits(), deadline=time.monotonic() + 120)


def _outcome(build, recipe: Recipe = RECIPE) -> tuple[str, str, float, int]:
    """The code and message, the CPU seconds and the resident memory growth of processing a file in a child."""
    data = _in_child(build)

    def job():
        rss, cpu = _status("VmRSS"), time.process_time()
        try:
            build_variants(data, recipe, time.monotonic() + 55)
            code, message = "done", ""
        except ImageRejected as rejection:
            code, message = rejection.code, rejection.message
        return code, message, time.process_time() - cpu, _status("VmHWM") - rss

    return run_isolated(job, limits=BOUNDS, deadline=time.monotonic() + 30)


@pytest.mark.parametrize("build, code, words", [
    (hostile.heif_grid, "corrupt_image", "961 tiles of 8192x8192"),
    (lambda: hostile.heif_grid(declared=2100, tile=1024, columns=4), "corrupt_image", "16 tiles of 1024x1024"),
    (hostile.heif_overlay, "image_too_large", "24500x24500 canvas"),
    (lambda: hostile.heif_overlay(canvas=4000), "corrupt_image", "4000x4000 canvas"),
    (hostile.progressive_jpeg, "image_too_complex", "52,001 scans"),
    (hostile.tiff_big_tile, "image_too_large", "tiles of 24000x24000"),
], ids=["grid-961-tiles", "grid-16-tiles", "overlay-600mp", "overlay-mismatch", "jpeg-52000-scans", "tiff-big-tile"])
def test_a_hostile_file_is_refused_fast_and_small(build, code, words):
    got, message, cpu, grown = _outcome(build)
    assert (got, words in message) == (code, True), message
    assert cpu <= 3.0
    assert grown <= 900 * MIB


def test_the_issue_figures_are_built():
    grid = pillow_heif.open_heif(io.BytesIO(hostile.heif_grid()))
    assert grid.size == (2100, 2100) and grid.info["tiling"]["tile_width"] == 8192
    assert 40_000 < len(hostile.heif_grid()) < 80_000  # 58 KB
    assert 3_000_000 < _in_child(lambda: len(hostile.progressive_jpeg())) < 5_000_000  # 4 MB
    assert 1_500_000 < len(hostile.tiff_big_tile()) < 2_000_000  # 1.7 MB
    assert len(hostile.heif_overlay()) < 4_000  # 2.7 KB


def test_within_the_limits_they_are_processed():
    # The same shapes within bounds: a tile bigger than a small TIFF, 500 scans, a grid that fits its tiles.
    assert _outcome(lambda: hostile.tiff_big_tile(size=100, tile=256))[0] == "done"
    assert _outcome(lambda: hostile.progressive_jpeg(size=64, repeats=MAX_SCANS - 1))[0] == "done"
    assert _outcome(lambda: hostile.progressive_jpeg(size=64, repeats=MAX_SCANS))[0] == "image_too_complex"
    assert _outcome(lambda: hostile.heif_grid(declared=2000, tile=512, columns=4))[0] == "done"
    assert _outcome(lambda: hostile.heif_overlay(canvas=2100, declared=2100))[0] == "done"


def test_libheif_refuses_the_canvas_itself_once_its_limits_are_set():
    # The second line behind containers.check_heif: libheif's own limits, set on pillow-heif's contexts too.
    data = hostile.heif_overlay()

    def decode_with_pillow_heif():
        heif_module.limit_libheif(50_000_000)
        try:
            pillow_heif.open_heif(io.BytesIO(data)).data  # noqa: B018 - the property decodes
        except (RuntimeError, ValueError, SyntaxError) as error:
            return str(error), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return "decoded", 0

    message, _ = run_isolated(decode_with_pillow_heif, limits=BOUNDS, deadline=time.monotonic() + 30)
    assert "exceeds the maximum image size" in message


def test_a_file_whose_boxes_cannot_be_read_is_left_to_libheif():
    data = hostile.heif_grid(declared=2000, tile=512, columns=4)
    containers.check_heif(data[:200], 50_000_000)  # cut inside the meta box: no verdict here
    with pytest.raises(ImageRejected):
        build_variants(data[:200], RECIPE)
