#!/usr/bin/env python3
"""An independent reader of a tiled transparency log, written from C2SP tlog-tiles and RFC 9162
with the Python standard library alone (hashlib, urllib): what a monitor with no evledger code
does to follow the log.

Usage: tlog_tiles_reader.py BASE_URL

It prints `ok TREE_SIZE ROOT_HEX ENTRIES` and exits 0 when every check passes, or prints
`fail REASON` and exits 1 at the first that does not. What it checks, and where each rule comes
from:
- tlog-tiles "Checkpoints": GET <prefix>/checkpoint is served as text/plain; charset=utf-8, a
  signed note whose body is the origin, the decimal tree size and the base64 root hash
  (C2SP tlog-checkpoint), followed by a blank line and signature lines. (The Ed25519 signature
  is not checked here: the standard library has no Ed25519.)
- tlog-tiles "Merkle Tree": tile n at level l holds MTH(D[(n*256+i)*256**l : (n*256+i+1)*256**l])
  for i from 0; a partial tile at level l of a tree of size s has floor(s / 256**l) mod 256
  hashes; paths are tile/<L>/<N>[.p/<W>] with N in 3-digit elements, all but the last prefixed
  with x; content type application/octet-stream; full tiles are 8,192 bytes.
- Each hash of a full tile at level l+1 is the Merkle Tree Hash of the full tile below it.
- RFC 9162 §2.1.1: leaf hash SHA-256(0x00 || entry), node hash SHA-256(0x01 || left || right),
  MTH(D[n]) splitting at the largest power of two k < n. The root is computed twice: from the
  leaf hashes alone, and with the hashes of the higher-level tiles standing for the complete
  subtrees they cover; both must equal the checkpoint's root.
- tlog-tiles "Log entries": tile/entries/<N>[.p/<W>] is a sequence of big-endian uint16
  length-prefixed entries, each hashing (as an RFC 9162 leaf) to the hash at the same position
  of the level-0 tile.
- This log's entries are the 32-byte SHA-256 of signed statements, which it serves at
  <prefix>/statements/<index> (specs/service.md): each statement must hash to its entry.
"""

import base64
import hashlib
import sys
import urllib.error
import urllib.request

TILE_WIDTH = 256
HEIGHT = 8


class Fail(Exception):
    pass


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(entry):
    return sha256(b"\x00" + entry)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def largest_power_of_two_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


TOKEN = None


def fetch(base, path, content_type):
    url = base.rstrip("/") + "/" + path
    request = urllib.request.Request(url)
    if TOKEN is not None and path.startswith("statements/"):
        # Statements are for readers; checkpoints and tiles are public.
        request.add_header("Authorization", "Bearer " + TOKEN)
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            got = resp.headers.get("Content-Type")
            if got != content_type:
                raise Fail("%s: Content-Type %r, not %r" % (path, got, content_type))
            return resp.read()
    except urllib.error.HTTPError as e:
        raise Fail("%s: HTTP %d" % (path, e.code))


def index_path(n):
    groups = ["%03d" % (n % 1000)]
    n //= 1000
    while n > 0:
        groups.append("x%03d" % (n % 1000))
        n //= 1000
    return "/".join(reversed(groups))


def tile_path(kind, n, width):
    path = "tile/%s/%s" % (kind, index_path(n))
    if width < TILE_WIDTH:
        path += ".p/%d" % width
    return path


def parse_checkpoint(text):
    body, sep, _signatures = text.partition("\n\n")
    if not sep:
        raise Fail("checkpoint: no blank line between the note text and its signatures")
    lines = body.split("\n")
    if len(lines) < 3:
        raise Fail("checkpoint: fewer than three body lines")
    size_line = lines[1]
    if not size_line.isdigit() or (size_line != "0" and size_line.startswith("0")):
        raise Fail("checkpoint: tree size %r is not a decimal" % size_line)
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise Fail("checkpoint: root hash is %d bytes" % len(root))
    return int(size_line), root


def tiles_of_level(size, level):
    """The (index, width) of every tile at this level of a tree of `size` leaves."""
    count = size // (TILE_WIDTH ** level)
    tiles = [(n, TILE_WIDTH) for n in range(count // TILE_WIDTH)]
    if count % TILE_WIDTH:
        tiles.append((count // TILE_WIDTH, count % TILE_WIDTH))
    return tiles


def fetch_hash_tiles(base, size):
    """Every hash of every level, as one list per level, from the tiles."""
    levels = []
    level = 0
    while size // (TILE_WIDTH ** level) > 0:
        hashes = []
        for n, width in tiles_of_level(size, level):
            data = fetch(base, tile_path(str(level), n, width), "application/octet-stream")
            if len(data) != 32 * width:
                raise Fail("tile %d/%d: %d bytes for width %d" % (level, n, len(data), width))
            hashes.extend(data[i:i + 32] for i in range(0, len(data), 32))
        levels.append(hashes)
        level += 1
    return levels


def mth_of_hashes(hashes):
    """RFC 9162 MTH over already-hashed leaves."""
    if len(hashes) == 1:
        return hashes[0]
    k = largest_power_of_two_below(len(hashes))
    return node_hash(mth_of_hashes(hashes[:k]), mth_of_hashes(hashes[k:]))


def mth_with_tiles(levels, start, end):
    """RFC 9162 MTH(D[start:end]); a complete subtree of height 8*l is read from level l."""
    n = end - start
    height = n.bit_length() - 1
    if n == 1 << height and height % HEIGHT == 0 and start % n == 0:
        level = height // HEIGHT
        return levels[level][start // n]
    k = largest_power_of_two_below(n)
    return node_hash(mth_with_tiles(levels, start, start + k), mth_with_tiles(levels, start + k, end))


def check_levels(levels):
    """Each hash at level l+1 is the MTH of the full tile below it."""
    for level in range(len(levels) - 1):
        above = levels[level + 1]
        for n, h in enumerate(above):
            tile = levels[level][n * TILE_WIDTH:(n + 1) * TILE_WIDTH]
            if len(tile) != TILE_WIDTH or mth_of_hashes(tile) != h:
                raise Fail("level %d hash %d is not the MTH of tile %d/%d" % (level + 1, n, level, n))


def check_entries(base, size, leaves):
    entries = []
    for n, width in tiles_of_level(size, 0):
        data = fetch(base, tile_path("entries", n, width), "application/octet-stream")
        pos = 0
        for i in range(width):
            if pos + 2 > len(data):
                raise Fail("entry bundle %d: ends after %d of %d entries" % (n, i, width))
            length = int.from_bytes(data[pos:pos + 2], "big")
            entry = data[pos + 2:pos + 2 + length]
            if len(entry) != length:
                raise Fail("entry bundle %d: entry %d is cut short" % (n, i))
            pos += 2 + length
            index = n * TILE_WIDTH + i
            if leaf_hash(entry) != leaves[index]:
                raise Fail("entry %d does not hash to its level-0 tile hash" % index)
            entries.append(entry)
        if pos != len(data):
            raise Fail("entry bundle %d: %d bytes after its %d entries" % (n, len(data) - pos, width))
    for index, entry in enumerate(entries):
        statement = fetch(base, "statements/%d" % index, "application/cose")
        if sha256(statement) != entry:
            raise Fail("statement %d does not hash to entry %d" % (index, index))
    return len(entries)


def main(argv):
    global TOKEN
    if len(argv) not in (2, 3):
        print("usage: tlog_tiles_reader.py BASE_URL [READER_TOKEN]", file=sys.stderr)
        return 2
    base = argv[1]
    if len(argv) == 3:
        TOKEN = argv[2]
    try:
        note = fetch(base, "checkpoint", "text/plain; charset=utf-8").decode("utf-8")
        size, root = parse_checkpoint(note)
        if size == 0:
            raise Fail("the checkpoint is of the empty tree: nothing to read")
        levels = fetch_hash_tiles(base, size)
        leaves = levels[0]
        if len(leaves) != size:
            raise Fail("level 0 has %d hashes for tree size %d" % (len(leaves), size))
        check_levels(levels)
        if mth_of_hashes(leaves) != root:
            raise Fail("the root of the leaf hashes is not the checkpoint's root")
        if mth_with_tiles(levels, 0, size) != root:
            raise Fail("the root computed with higher-level tiles is not the checkpoint's root")
        count = check_entries(base, size, leaves)
    except Fail as e:
        print("fail %s" % e)
        return 1
    print("ok %d %s %d" % (size, root.hex(), count))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
