"""Printed tables and the markdown summary (compact tables + target verdicts) of the benchmark."""

PS = "Pixelsmith"
DSHORT = {"none": "none", "floyd-steinberg": "FS", "atkinson": "Atk", "bayer4": "B4", "fs": "FS"}
# Pixelsmith's dithers and the peer class each is judged against (no peer has ordered dithering
# with a palette, so Bayer is judged against the error-diffusion peers).
PEER_CLASS = {"none": "none", "floyd-steinberg": "fs", "atkinson": "fs", "bayer4": "fs"}
SHORT = {
    "Pillow": "Pil",
    "Pillow FS": "Pil FS",
    "ImageMagick": "IM",
    "ImageMagick FS": "IM FS",
    "libimagequant": "liq",
    "libimagequant dither": "liq d",
}
EPS = 0.005  # "at or below": within rounding of the printed two decimals


def _label(r):
    if r["tool"].startswith(PS):
        s = f"{r['tool']} {DSHORT[r['dither']]}"
        return s + (f" d{r['detail']}" if r["detail"] else "")
    return r["tool"]


def print_image_tables(name, block, check, rows):
    print(f"=== {name} (block {block}, grid {check['grid']}) ===")
    print(
        f"reference check: Pixelsmith --full-color vs reference: CIEDE2000 mean {check['full_color_de00_mean']:.3f}"
        f" p95 {check['full_color_de00_p95']:.3f}, alpha mismatches {check['alpha_mismatch']}"
    )
    feats = sorted(k for k in rows[0] if k.startswith("feat_"))
    for pal in dict.fromkeys(r["palette"] for r in rows):
        print(f"\n  {pal}")
        head = f"  {'tool':<28}{'Ok mean':>8}{'Ok p95':>8}{'00 mean':>8}{'00 p95':>8}{'blur3':>7}{'flip%':>7}{'grey%':>7}{'dark-tint%':>11}{'stray/speck/flat':>18}{'near-stray/flat':>16}"
        head += "".join(f"{f[5:]:>14}" for f in feats)
        print(head)
        for r in (r for r in rows if r["palette"] == pal):
            line = (
                f"  {_label(r):<28}{r['ok_mean']:8.2f}{r['ok_p95']:8.2f}{r['de00_mean']:8.2f}{r['de00_p95']:8.2f}"
                f"{r['blur3_de00']:7.2f}{r['hue_flip_pct']:7.2f}{r['greyed_pct']:7.2f}{r['dark_tinted_pct']:11.2f}"
                f"{r['stray']:>8}/{r['stray_specks']}/{r['flat_cells']:<5}{r.get('near_stray', 0):>9}/{r.get('near_flat_cells', 0):<6}"
            )
            line += "".join(f"{r[f]:13.0f}%" for f in feats)
            print(line)
    print()


class Results:
    def __init__(self, rows):
        self.rows = rows
        self.images = list(dict.fromkeys(r["image"] for r in rows))

    def ps(self, image, pal, dither, detail=0, tool=PS):
        for r in self.rows:
            if (r["image"], r["palette"], r["tool"], r["dither"], r["detail"]) == (image, pal, tool, dither, detail):
                return r
        return None

    def peers(self, image, pal, cls=None):
        return [
            r
            for r in self.rows
            if r["image"] == image
            and r["palette"] == pal
            and not r["tool"].startswith(PS)
            and (cls is None or r["dither"] == cls)
        ]

    def best(self, image, pal, key, cls=None):
        ps = self.peers(image, pal, cls)
        b = min(ps, key=lambda r: r[key])
        return b[key], SHORT[b["tool"]]


def _f(x, nd=2):
    return f"{x:.{nd}f}"


def write_summary(path, rows, checks, details):
    R = Results(rows)
    L = []
    add = L.append
    add("### Inputs and the reference check\n")
    add("Pixelsmith's own `--full-color` grid against the benchmark's linear-light box reference (CIEDE2000): how")
    add("far the two cell averages agree before any palette (decoder and colour-profile differences only).\n")
    add("| image | grid | full-colour vs reference, mean | p95 | alpha mismatches |")
    add("|---|---|---|---|---|")
    for im, c in checks.items():
        add(
            f"| {im} | {c['grid']} | {_f(c['full_color_de00_mean'], 3)} | {_f(c['full_color_de00_p95'], 3)} | {c['alpha_mismatch']} |"
        )

    for pal in ["pico-8", "game-boy"]:
        add(f"\n### {pal}: mean CIEDE2000 and hue flips, Pixelsmith vs the best peer\n")
        add("Best peer = the lowest of Pillow and ImageMagick in the same class: undithered (Pil, IM) for `none`,")
        add("Floyd–Steinberg (Pil FS, IM FS) for the dithered columns. Hue flips in % of chromatic cells (Atkinson")
        add("and Bayer flips: see the verdicts). Last two columns: mean Oklab ΔE×100, undithered (information).\n")
        add(
            "| image | ΔE00 none | peer none | ΔE00 FS | ΔE00 Atk | ΔE00 B4 | peer FS "
            "| flips none | peer none | flips FS | peer FS | Oklab none | peer none |"
        )
        add("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for im in R.images:
            p = {d: R.ps(im, pal, d) for d in PEER_CLASS}
            bn, bnt = R.best(im, pal, "de00_mean", "none")
            bf, bft = R.best(im, pal, "de00_mean", "fs")
            fn, fnt = R.best(im, pal, "hue_flip_pct", "none")
            ff, fft = R.best(im, pal, "hue_flip_pct", "fs")
            on, ont = R.best(im, pal, "ok_mean", "none")

            def mark(v, best):
                return f"**{_f(v)}**" if v > best + EPS else _f(v)

            add(
                f"| {im} | {mark(p['none']['de00_mean'], bn)} | {_f(bn)} {bnt} | "
                + " | ".join(mark(p[d]["de00_mean"], bf) for d in ["floyd-steinberg", "atkinson", "bayer4"])
                + f" | {_f(bf)} {bft} | {mark(p['none']['hue_flip_pct'], fn)} | {_f(fn)} {fnt} | "
                + f"{mark(p['floyd-steinberg']['hue_flip_pct'], ff)} | {_f(ff)} {fft} | "
                + f"{_f(p['none']['ok_mean'])} | {_f(on)} {ont} |"
            )
        add("\nBold: Pixelsmith above the best peer of its class (a target miss).")

    add("\n### pico-8: chromatic cells turned grey, dark neutral cells tinted (%)\n")
    add(
        "| image | greyed PS none | PS FS | best peer none | best peer FS | dark-tinted PS none | PS FS | best peer none | best peer FS | dark cells |"
    )
    add("|---|---|---|---|---|---|---|---|---|---|")
    for im in R.images:
        a, b = R.ps(im, "pico-8", "none"), R.ps(im, "pico-8", "floyd-steinberg")
        cells = [a["greyed_pct"], b["greyed_pct"]]
        g = [R.best(im, "pico-8", "greyed_pct", c) for c in ("none", "fs")]
        t = [R.best(im, "pico-8", "dark_tinted_pct", c) for c in ("none", "fs")]
        add(
            f"| {im} | {_f(cells[0])} | {_f(cells[1])} | {_f(g[0][0])} {g[0][1]} | {_f(g[1][0])} {g[1][1]} | "
            f"{_f(a['dark_tinted_pct'])} | {_f(b['dark_tinted_pct'])} | {_f(t[0][0])} {t[0][1]} | {_f(t[1][0])} {t[1][1]} | {a['dark_cells']} |"
        )

    add("\n### Dithering: blur-3 error and stray cells in flat regions\n")
    add("Blur-3 = mean CIEDE2000 after a 3×3 box blur of both grids (lower = the local average is kept).")
    add("Stray = cells of a flat 5×5 area whose output differs from the area's majority output; in brackets the specks")
    add(
        "among them (the area otherwise renders as one colour: an odd dot, not a dither pattern). Last column: flat cells.\n"
    )
    add(
        "| image | palette | blur-3 PS FS | PS Atk | PS B4 | Pillow FS | stray PS FS | PS Atk | PS B4 | Pillow FS | IM FS | flat cells |"
    )
    add("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for pal in ["pico-8", "game-boy", "adaptive16"]:
        for im in R.images:
            p = {d: R.ps(im, pal, d) for d in ["floyd-steinberg", "atkinson", "bayer4"]}
            pil = next(r for r in R.peers(im, pal) if r["tool"] == "Pillow FS")
            imf = next(r for r in R.peers(im, pal) if r["tool"] == "ImageMagick FS")

            def bm(v, pil=pil):
                return f"**{_f(v)}**" if v > pil["blur3_de00"] + EPS else _f(v)

            def sm(r):
                return f"**{r['stray']}** ({r['stray_specks']})" if r["stray"] else "0"

            def pm(r):
                return f"{r['stray']} ({r['stray_specks']})"

            add(
                f"| {im} | {pal} | {bm(p['floyd-steinberg']['blur3_de00'])} | {bm(p['atkinson']['blur3_de00'])} | "
                f"{bm(p['bayer4']['blur3_de00'])} | {_f(pil['blur3_de00'])} | {sm(p['floyd-steinberg'])} | "
                f"{sm(p['atkinson'])} | {pm(p['bayer4'])} | {pm(pil)} | {pm(imf)} | {pil['flat_cells']} |"
            )

    add("\n### 16 adaptive colours: mean CIEDE2000 (blur-3 in brackets)\n")
    base = any(r["tool"] == f"{PS} (baseline)" for r in rows)
    cols = ["none", "floyd-steinberg", "atkinson", "bayer4"]
    peer_cols = ["libimagequant", "libimagequant dither", "Pillow", "Pillow FS", "ImageMagick", "ImageMagick FS"]
    head = "| image | " + " | ".join(f"PS {DSHORT[c]}" for c in cols)
    if base:
        head += " | " + " | ".join(f"baseline {DSHORT[c]}" for c in cols)
    head += " | " + " | ".join(SHORT[c] for c in peer_cols) + " |"
    add(head)
    add("|" + "---|" * (head.count("|") - 1))
    for im in R.images:
        cells = [R.ps(im, "adaptive16", c) for c in cols]
        if base:
            cells += [R.ps(im, "adaptive16", c, tool=f"{PS} (baseline)") for c in cols]
        cells += [next(r for r in R.peers(im, "adaptive16") if r["tool"] == t) for t in peer_cols]
        add(f"| {im} | " + " | ".join(f"{_f(c['de00_mean'])} ({_f(c['blur3_de00'])})" for c in cells) + " |")

    add(
        "\n### --detail: 0 vs "
        + " vs ".join(str(d) for d in details)
        + " (undithered): mean CIEDE2000 (blur-3 in brackets)\n"
    )
    ks = [0] + details
    add("| image | " + " | ".join(f"{p} d{k}" for p in ["pico-8", "game-boy", "adaptive16"] for k in ks) + " |")
    add("|---|" + "---|" * (3 * len(ks)))
    for im in R.images:
        cells = [R.ps(im, p, "none", k) for p in ["pico-8", "game-boy", "adaptive16"] for k in ks]
        add(f"| {im} | " + " | ".join(f"{_f(c['de00_mean'])} ({_f(c['blur3_de00'])})" for c in cells) + " |")
    logo = [im for im in R.images if any(r.get("feat_line_1px") is not None for r in rows if r["image"] == im)]
    if logo:
        im = logo[0]
        add(
            f"\nThin features on the {im} at block 4: share of each feature's cells that survive (%;\n"
            "Pixelsmith's Atkinson and Bayer rows are in results.json).\n"
        )
        fe = sorted(k for k in next(r for r in rows if r["image"] == im) if k.startswith("feat_"))
        add("| palette | tool | dither | detail | " + " | ".join(f[5:] for f in fe) + " |")
        add("|" + "---|" * (4 + len(fe)))
        for r in rows:
            if r["image"] != im or r["dither"] in ("atkinson", "bayer4"):
                continue
            add(
                f"| {r['palette']} | {r['tool']} | {DSHORT[r['dither']]} | {r['detail']} | "
                + " | ".join(f"{r[f]:.0f}" for f in fe)
                + " |"
            )

    add("\n### Target verdicts (computed)\n")
    add(verdicts(R, details))
    text = "\n".join(L) + "\n"
    with open(path, "w") as f:
        f.write(text)
    return text


def verdicts(R, details):
    out = []
    # 1. Fixed palettes: mean CIEDE2000 and hue flips at or below every peer (same class, and all).
    for key, what in [
        ("de00_mean", "mean CIEDE2000"),
        ("hue_flip_pct", "hue flips %"),
        ("ok_mean", "mean Oklab ΔE (information, not a target)"),
    ]:
        for pal in ["pico-8", "game-boy"]:
            for d, cls in PEER_CLASS.items():
                miss_cls, miss_all = [], []
                for im in R.images:
                    v = R.ps(im, pal, d)[key]
                    bc, bct = R.best(im, pal, key, cls)
                    ba, bat = R.best(im, pal, key)
                    if v > bc + EPS:
                        miss_cls.append(f"{im} {v:.2f} vs {bct} {bc:.2f}")
                    if v > ba + EPS:
                        miss_all.append(f"{im} {v:.2f} vs {bat} {ba:.2f}")
                n = len(R.images)
                out.append(
                    f"- {what}, {pal}, PS {DSHORT[d]} vs peers of class {cls}: "
                    + (
                        f"met on all {n} images"
                        if not miss_cls
                        else f"MISSED on {len(miss_cls)}/{n}: " + "; ".join(miss_cls)
                    )
                    + (
                        " (vs every peer of any class: met)"
                        if not miss_all
                        else f" (vs every peer of any class: missed on {len(miss_all)}/{n}: "
                        + "; ".join(miss_all)
                        + ")"
                    )
                )
    # 2. Stray cells with FS and Atkinson.
    for pal in ["pico-8", "game-boy", "adaptive16"]:
        for d in ["floyd-steinberg", "atkinson"]:
            miss = [
                f"{im} {R.ps(im, pal, d)['stray']} of {R.ps(im, pal, d)['flat_cells']} flat cells ({R.ps(im, pal, d)['stray_specks']} specks)"
                for im in R.images
                if R.ps(im, pal, d)["stray"]
            ]
            out.append(
                f"- stray cells, {pal}, PS {DSHORT[d]}: "
                + ("0 on every image" if not miss else "MISSED: " + "; ".join(miss))
            )
    # 3. Blur-3 at or below Pillow FS.
    for pal in ["pico-8", "game-boy", "adaptive16"]:
        for d in ["floyd-steinberg", "atkinson", "bayer4"]:
            miss = []
            for im in R.images:
                v = R.ps(im, pal, d)["blur3_de00"]
                p = next(r for r in R.peers(im, pal) if r["tool"] == "Pillow FS")["blur3_de00"]
                if v > p + EPS:
                    miss.append(f"{im} {v:.2f} vs {p:.2f}")
            out.append(
                f"- blur-3 ≤ Pillow FS, {pal}, PS {DSHORT[d]}: "
                + ("met on every image" if not miss else f"MISSED on {len(miss)}/{len(R.images)}: " + "; ".join(miss))
            )
    # 4. Adaptive 16 against the baseline when given.
    if any(r["tool"] == f"{PS} (baseline)" for r in R.rows):
        for d in PEER_CLASS:
            miss = []
            for im in R.images:
                a, b = R.ps(im, "adaptive16", d), R.ps(im, "adaptive16", d, tool=f"{PS} (baseline)")
                if a["de00_mean"] > b["de00_mean"] + EPS or a["blur3_de00"] > b["blur3_de00"] + EPS:
                    miss.append(
                        f"{im} {a['de00_mean']:.2f}/{a['blur3_de00']:.2f} vs {b['de00_mean']:.2f}/{b['blur3_de00']:.2f}"
                    )
            out.append(
                f"- adaptive 16 vs baseline, {DSHORT[d]} (mean/blur-3 ΔE00): "
                + ("no worse on every image" if not miss else "WORSE: " + "; ".join(miss))
            )
    else:
        out.append(
            "- adaptive 16 vs today: no baseline binary given (PIXELSMITH_BASELINE_BIN); see the adaptive table for the peers"
        )
    return "\n".join(out)
