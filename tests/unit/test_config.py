import pytest
from imageservice.config import Config, ConfigError, VariantSize, parse_variants

ENVIRON = {
    "STORED_IMAGES_BUCKET": "stored", "PROCESSED_IMAGES_BUCKET": "processed",
    "DIRECT_UPLOAD_MAX_BYTES": "4194304", "LARGE_UPLOAD_MAX_BYTES": "52428800", "MAX_PIXELS": "50000000",
    "VARIANTS": "thumb=256,large=2048,medium=1024", "DEFAULT_QUALITY": "82", "URL_EXPIRES_SECONDS": "900",
    "PROCESSING_TIMEOUT_SECONDS": "900", "IMAGE_WIDTHS": "640,160,320", "VARIANTS_EXPIRE_DAYS": "30",
}


def test_config_from_environment():
    config = Config.from_environ(ENVIRON)
    assert config.stored_images_bucket == "stored"
    assert config.variants == (VariantSize("large", 2048), VariantSize("medium", 1024), VariantSize("thumb", 256))
    assert config.max_pixels == 50_000_000
    assert config.widths == (160, 320, 640)


@pytest.mark.parametrize("name, value", [
    ("STORED_IMAGES_BUCKET", ""), ("DEFAULT_QUALITY", "0"), ("DEFAULT_QUALITY", "eighty"),
    ("DIRECT_UPLOAD_MAX_BYTES", "7000000"), ("VARIANTS", "large"), ("VARIANTS", "a=1,a=2"), ("VARIANTS", "Big=100"),
    ("IMAGE_WIDTHS", "640,640"), ("IMAGE_WIDTHS", "0"), ("IMAGE_WIDTHS", "64O"), ("IMAGE_WIDTHS", "١٦٠"),
    ("IMAGE_WIDTHS", ",".join(str(w) for w in range(1, 18))), ("IMAGE_WIDTHS", "16385"), ("IMAGE_WIDTHS", ""),
])
def test_bad_settings_fail_at_cold_start_with_the_name(name, value):
    with pytest.raises(ConfigError, match=name if name != "VARIANTS" else "VARIANTS"):
        Config.from_environ({**ENVIRON, name: value})


def test_missing_setting_is_named():
    environ = dict(ENVIRON)
    del environ["MAX_PIXELS"]
    with pytest.raises(ConfigError, match="MAX_PIXELS"):
        Config.from_environ(environ)


def test_variants_are_sorted_largest_first():
    assert [size.name for size in parse_variants("s=10,l=1000,m=100")] == ["l", "m", "s"]


@pytest.mark.parametrize("memory, cpus, threads", [
    (None, 1, 1), (None, 2, 2), ("1769", 2, 1), ("1770", 2, 2), ("3008", 2, 2), ("3008", 1, 1), ("10240", 8, 6),
])
def test_processing_threads_follow_the_cpus_and_the_memory_lambda_reports(monkeypatch, memory, cpus, threads):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    environ = ENVIRON if memory is None else {**ENVIRON, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory}
    assert Config.from_environ(environ).threads == threads
