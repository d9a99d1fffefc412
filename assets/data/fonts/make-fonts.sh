#!/bin/sh
# make-fonts.sh — regenerates the bundled CJK fonts (NOT needed by the build; the
# generated .otf files are committed). Requires Debian packages fonts-noto-cjk and
# python3-fonttools (apt-get install fonts-noto-cjk python3-fonttools); it uses
# /usr/bin/python3 so a pyenv python without fontTools does not get in the way.
#
# Noto Sans CJK ships as .ttc collections, which Fyne cannot load. This script takes the
# "Noto Sans CJK SC" face out of each collection and subsets it to: ASCII, Latin-1,
# every character of GB 2312 (levels 1 and 2: 6763 hanzi plus symbols, so customer and
# pharmacist names render) and every character used by our translations, assets and
# the kiosk's Go sources.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${NOTO_DIR:-/usr/share/fonts/opentype/noto}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$src" "$tmp" "$here/../.." "$here/../../../kiosk" <<'PY'
import sys, os, pathlib
from fontTools.ttLib import TTCollection
src, tmp, data = sys.argv[1], sys.argv[2], sys.argv[3]
for weight in ("Regular", "Bold"):
    coll = TTCollection(os.path.join(src, f"NotoSansCJK-{weight}.ttc"))
    for f in coll.fonts:
        if f["name"].getDebugName(1) == "Noto Sans CJK SC":
            f.save(os.path.join(tmp, f"NotoSansCJKsc-{weight}.otf"))
            break
    else:
        sys.exit(f"Noto Sans CJK SC not found in {weight} collection")
chars = set(chr(c) for c in range(0x20, 0x7F)) | set(chr(c) for c in range(0xA0, 0x100))
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
chars |= set("，。、；：？！“”‘’（）《》【】…—·％＋－×÷→←↑↓●○■□★☆✓✔✗✘⚠")
paths = list(pathlib.Path(data).rglob("*"))
if len(sys.argv) > 4 and os.path.isdir(sys.argv[4]):
    paths += list(pathlib.Path(sys.argv[4]).rglob("*.go"))  # strings in the UI code
for p in paths:
    if p.suffix in (".json", ".yaml", ".yml", ".csv", ".txt", ".go") and p.is_file():
        try:
            chars |= set(p.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            pass
chars = {c for c in chars if c.isprintable() or c == " "}
with open(os.path.join(tmp, "chars.txt"), "w", encoding="utf-8") as fh:
    fh.write("".join(sorted(chars)))
print(len(chars), "characters")
PY

for weight in Regular Bold; do
  /usr/bin/python3 -m fontTools.subset "$tmp/NotoSansCJKsc-$weight.otf" \
    --text-file="$tmp/chars.txt" \
    --layout-features='*' --no-hinting --desubroutinize \
    --output-file="$here/NotoSansCJKsc-$weight.otf"
done
ls -l "$here"/*.otf
