"""Byte counts as people read them, in the binary units the API's limits are set in (4 MiB, not 4194304)."""

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def format_bytes(count: int) -> str:
    """4194304 -> "4 MiB", 5767168 -> "5.5 MiB", 1000 -> "1000 bytes"; the page's formatBytes gives the same."""
    if count < 1024:
        return f"{count} byte" if count == 1 else f"{count} bytes"
    value, unit = count / 1024, 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    number = f"{round(value)}" if value >= 100 else f"{value:.1f}".removesuffix(".0")
    return f"{number} {_UNITS[unit]}"
