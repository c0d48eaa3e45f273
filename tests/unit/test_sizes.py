import pytest
from imageservice.sizes import format_bytes


@pytest.mark.parametrize(
    "count, text",
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1000, "1000 bytes"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (4 * 1024 * 1024, "4 MiB"),
        (7645428, "7.3 MiB"),
        (50 * 1024 * 1024, "50 MiB"),
        (150 * 1024 * 1024, "150 MiB"),
        (3 * 1024**3, "3 GiB"),
    ],
)
def test_sizes_read_in_binary_units(count, text):
    assert format_bytes(count) == text
