"""Images whose data is too short for the pixels their header declares.

libjpeg, meeting a marker or the end of the data before a scan is complete, warns and fills the missing
blocks with grey, and Pillow passes the warning over: a 631-byte file declaring 7000x7000 pixels came out
`done`, a grey picture. Every 8x8 block of a Huffman-coded JPEG costs at least one bit (the Huffman code of
its DC difference is at least a bit long, in baseline and progressive scans alike), so entropy-coded data
shorter than a bit per block of the full-resolution component cannot be a whole image. (A flat grey
7000x7000 JPEG, as small as such a JPEG gets, holds about two bits per block.) Arithmetic-coded JPEGs can
code a block in less and are not checked.

The same walk counts the scans. libjpeg runs every scan of a progressive JPEG over every block, however
little data the scan holds: a 75-byte AC scan repeated 52,000 times in a 4 MB file declaring 7000x7000 is
3.7 ms of CPU each, over three minutes in all. Real progressive JPEGs have about ten scans; past
MAX_SCANS one is refused, the limit libjpeg-turbo's own fuzz targets set (TJPARAM_SCANLIMIT).
"""

from .errors import CorruptImage, ImageTooComplex

MAX_SCANS = 500

# Start-of-frame markers of Huffman-coded JPEGs: baseline, extended sequential, progressive.
_HUFFMAN_FRAMES = (0xC0, 0xC1, 0xC2)
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and the restart markers carry no length


def _scan(data: bytes) -> tuple[int | None, int, int]:
    """The start-of-frame marker, the number of entropy-coded bytes and of scans, walking the JPEG's segments."""
    frame, coded, scans, position = None, 0, 0, 2
    while position + 1 < len(data):
        if data[position] != 0xFF:  # not at a marker: damaged; what was counted so far stands
            break
        marker = data[position + 1]
        position += 2
        if marker == 0xFF:  # fill byte before a marker
            position -= 1
            continue
        if marker == 0xD9:
            break
        if marker in _STANDALONE:
            continue
        if position + 2 > len(data):
            break
        length = int.from_bytes(data[position : position + 2], "big")
        if frame is None and 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            frame = marker
        position += length
        if marker == 0xDA:
            scans += 1
            # Entropy-coded data runs to the next marker other than a stuffed 0xFF00 or a restart marker.
            start = position
            while True:
                position = data.find(b"\xff", position)
                if position < 0 or position + 1 >= len(data):
                    position = len(data)
                    break
                follower = data[position + 1]
                if follower == 0x00 or 0xD0 <= follower <= 0xD7:
                    position += 2
                    continue
                break
            coded += position - start
    return frame, coded, scans


def check_jpeg(data: bytes, size: tuple[int, int]) -> None:
    """Refuse a JPEG with more scans than MAX_SCANS, or a Huffman-coded one whose scans are too short to hold
    its declared pixels."""
    frame, coded, scans = _scan(data)
    if scans > MAX_SCANS:
        raise ImageTooComplex(
            f"The JPEG is coded in {scans:,} scans; decoding stops at {MAX_SCANS} (a progressive photo has about "
            "ten). Re-export the image and upload it again."
        )
    if frame not in _HUFFMAN_FRAMES:
        return
    blocks = -(-size[0] // 8) * -(-size[1] // 8)
    if coded * 8 < blocks:
        raise CorruptImage(
            f"The image declares {size[0]}x{size[1]} pixels but holds only {coded:,} bytes of image data, "
            "too few for that many: it is truncated or damaged. Re-export the image and upload it again."
        )
