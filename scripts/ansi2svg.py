#!/usr/bin/env python3
"""Turns a terminal capture with ANSI colours (tmux capture-pane -e -p) into an SVG picture.

Usage: ansi2svg.py COLUMNS ROWS < capture.txt > picture.svg
"""
import html
import re
import sys

PALETTE = [
    "#1e1e2e", "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2", "#abb2bf",
    "#5c6370", "#ff7b86", "#b5e890", "#ffd68a", "#8cc8ff", "#e09cf5", "#7fd8e3", "#ffffff",
]
DEFAULT_FG, DEFAULT_BG = "#d7dae0", "#1e1e2e"
CW, LH, FS = 8.4, 18, 14


def xterm256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (v, v, v)


def parse(text, cols, rows):
    grid = []
    for line in text.split("\n")[:rows]:
        cells, st = [], {"fg": None, "bg": None, "bold": False, "ul": False, "rev": False}
        for part in re.split(r"(\x1b\[[0-9;]*m)", line):
            if part.startswith("\x1b["):
                codes = [int(c) if c else 0 for c in part[2:-1].split(";")]
                i = 0
                while i < len(codes):
                    c = codes[i]
                    if c == 0:
                        st = {"fg": None, "bg": None, "bold": False, "ul": False, "rev": False}
                    elif c == 1:
                        st["bold"] = True
                    elif c == 22:
                        st["bold"] = False
                    elif c == 4:
                        st["ul"] = True
                    elif c == 24:
                        st["ul"] = False
                    elif c == 7:
                        st["rev"] = True
                    elif c == 27:
                        st["rev"] = False
                    elif 30 <= c <= 37:
                        st["fg"] = PALETTE[c - 30]
                    elif 90 <= c <= 97:
                        st["fg"] = PALETTE[c - 90 + 8]
                    elif 40 <= c <= 47:
                        st["bg"] = PALETTE[c - 40]
                    elif 100 <= c <= 107:
                        st["bg"] = PALETTE[c - 100 + 8]
                    elif c == 39:
                        st["fg"] = None
                    elif c == 49:
                        st["bg"] = None
                    elif c in (38, 48) and i + 1 < len(codes):
                        key = "fg" if c == 38 else "bg"
                        if codes[i + 1] == 5 and i + 2 < len(codes):
                            st[key] = xterm256(codes[i + 2])
                            i += 2
                        elif codes[i + 1] == 2 and i + 4 < len(codes):
                            st[key] = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
                            i += 4
                    i += 1
            else:
                for ch in part:
                    cells.append((ch, dict(st)))
        cells = cells[:cols] + [(" ", {"fg": None, "bg": None, "bold": False, "ul": False, "rev": False})] * (cols - len(cells))
        grid.append(cells)
    return grid


def colours(st):
    fg, bg = st["fg"] or DEFAULT_FG, st["bg"] or DEFAULT_BG
    return (bg, fg) if st["rev"] else (fg, bg)


def main():
    cols, rows = int(sys.argv[1]), int(sys.argv[2])
    grid = parse(sys.stdin.read(), cols, rows)
    w, h = cols * CW + 20, len(grid) * LH + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h}" viewBox="0 0 {w:.0f} {h}">',
           f'<rect width="100%" height="100%" rx="6" fill="{DEFAULT_BG}"/>',
           f'<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{FS}">']
    for y, cells in enumerate(grid):
        top = 10 + y * LH
        x = 0
        while x < cols:
            fg, bg = colours(cells[x][1])
            st = cells[x][1]
            end = x
            while end < cols and colours(cells[end][1]) == (fg, bg) and cells[end][1]["bold"] == st["bold"] and cells[end][1]["ul"] == st["ul"]:
                end += 1
            if bg != DEFAULT_BG:
                out.append(f'<rect x="{10 + x * CW:.1f}" y="{top}" width="{(end - x) * CW:.1f}" height="{LH}" fill="{bg}"/>')
            text = "".join(c for c, _ in cells[x:end])
            if text.strip():
                attrs = ' font-weight="bold"' if st["bold"] else ""
                attrs += ' text-decoration="underline"' if st["ul"] else ""
                out.append(f'<text x="{10 + x * CW:.1f}" y="{top + 13}" fill="{fg}" xml:space="preserve" '
                           f'textLength="{(end - x) * CW:.1f}" lengthAdjust="spacingAndGlyphs"{attrs}>{html.escape(text)}</text>')
            x = end
    out.append("</g></svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
