"""Quality metrics of one output grid against the linear-light box reference grid.

Definitions (all on the grid, one value per cell; only cells the reference keeps opaque count):
- error: Oklab distance x 100 and CIEDE2000 between output and reference cell; mean and p95.
- blur-3 error: both grids box-blurred 3 x 3 in linear light (alpha-weighted, so transparent
  cells and the border don't count), then mean CIEDE2000. Dithering that keeps the local average
  scores low here even when single cells are far off.
- hue flips: a source cell is *chromatic* when its Oklab chroma is >= 0.05. It is *flipped* when
  the output cell is chromatic too (chroma >= 0.02) with an Oklab hue more than 90 degrees from
  the source's, while the palette (the fixed palette, or for adaptive palettes the colours that
  tool's output uses) has an entry of the source's hue family at a similar lightness: chroma
  >= 0.03, hue within 45 degrees of the source's, Oklab L within 0.15. Share = flipped cells /
  chromatic cells. *Greyed* counts the same cells landing on an achromatic output (chroma < 0.02)
  instead (a cyan figure turning grey), reported beside it.
- dark tinted: of the dark near-neutral source cells (Oklab L < 0.25, chroma < 0.03: a night sky,
  a black shirt), the share rendered in a chromatic output colour (chroma >= 0.05): navy, green or
  orange specks in black. Not meaningful for Game Boy, whose every entry is green.
- stray cells: a cell is *flat* when the 25 cells of its 5 x 5 neighbourhood (fully inside the
  grid, all opaque) have the identical reference colour (8-bit sRGB). It is *stray* when its
  output colour differs from the most common output colour of that neighbourhood. A *speck* is a
  stray whose neighbourhood otherwise renders as one colour (that colour holds >= 17 of the 25
  cells): an odd dot in a flat area rather than a cell of a regular dither pattern that a flat
  off-palette colour was rendered with. *Near-flat*: the same with every neighbour within
  CIEDE2000 1.0 of the centre instead of identical.
- thin features (logo): a feature's cells are those holding at least one of its pixels; a cell
  *survives* when its output differs from the output colour of the white ground and is at least
  0.10 darker in Oklab L (dark features), or has chroma >= 0.05 within 45 degrees of the
  feature's hue (the green dot). Reported as the share of the feature's cells that survive.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from quality_color import (
    de2000,
    de_oklab,
    hue_distance,
    linear_to_oklab,
    linear_to_u8,
    oklab_lch,
    u8_to_linear,
)

CHROMATIC = 0.05
OUT_CHROMATIC = 0.02
FAMILY_CHROMA = 0.03
FAMILY_HUE = 45.0
FAMILY_L = 0.15
FLIP_HUE = 90.0
DARKER = 0.10
DARK_L = 0.25
DARK_C = 0.03


def _box3(x, w):
    """3 x 3 box sum of x*w and w (zero padding)."""
    xp = np.pad(x * w[..., None], ((1, 1), (1, 1), (0, 0)))
    wp = np.pad(w, 1)
    sx = sum(xp[i : i + x.shape[0], j : j + x.shape[1]] for i in range(3) for j in range(3))
    sw = sum(wp[i : i + x.shape[0], j : j + x.shape[1]] for i in range(3) for j in range(3))
    return sx / np.maximum(sw, 1e-9)[..., None]


def _keys(u8):
    u = u8.astype(np.int64)
    return (u[..., 0] << 16) | (u[..., 1] << 8) | u[..., 2]


def _strays(flat, out_keys):
    """Flat cells whose output differs from the majority output of their 5 x 5 window.

    Returns (strays, specks): specks are the strays of windows whose majority holds at least 17
    of the 25 cells, i.e. odd cells in an area that otherwise renders as one colour (rather than
    cells of a dither pattern that a flat off-palette colour was rendered with).
    """
    win = sliding_window_view(out_keys, (5, 5)).reshape(*flat.shape, 25)
    n = specks = 0
    for r, c in zip(*np.nonzero(flat)):
        vals, counts = np.unique(win[r, c], return_counts=True)
        if win[r, c, 12] != vals[np.argmax(counts)]:
            n += 1
            specks += int(counts.max() >= 17)
    return n, specks


def evaluate(ref_lin, opaque, out_rgba, palette_u8=None, features=None, near_flat=None):
    """All metrics of one output grid. `palette_u8` (N x 3) for fixed palettes, else derived."""
    m = {}
    out_opaque = out_rgba[..., 3] >= 128
    m["alpha_mismatch"] = int(np.count_nonzero(out_opaque != opaque))
    mask = opaque
    out_lin = u8_to_linear(out_rgba[..., :3])
    r, o = ref_lin[mask], out_lin[mask]
    dok, d00 = de_oklab(r, o), de2000(r, o)
    m["ok_mean"], m["ok_p95"] = float(dok.mean()), float(np.percentile(dok, 95))
    m["de00_mean"], m["de00_p95"] = float(d00.mean()), float(np.percentile(d00, 95))

    w = mask.astype(np.float64)
    bref, bout = _box3(ref_lin, w), _box3(out_lin, w)
    m["blur3_de00"] = float(de2000(bref[mask], bout[mask]).mean())
    m["blur3_ok"] = float(de_oklab(bref[mask], bout[mask]).mean())

    # Hue flips.
    if palette_u8 is None:
        palette_u8 = np.unique(out_rgba[..., :3][out_opaque], axis=0)
    pL, pC, ph = oklab_lch(linear_to_oklab(u8_to_linear(palette_u8)))
    rL, rC, rh = oklab_lch(linear_to_oklab(r))
    _, oC, oh = oklab_lch(linear_to_oklab(o))
    chrom = rC >= CHROMATIC
    fam = (
        (pC[None, :] >= FAMILY_CHROMA)
        & (hue_distance(ph[None, :], rh[:, None]) <= FAMILY_HUE)
        & (np.abs(pL[None, :] - rL[:, None]) <= FAMILY_L)
    ).any(axis=1)
    flip = chrom & fam & (oC >= OUT_CHROMATIC) & (hue_distance(oh, rh) > FLIP_HUE)
    grey = chrom & fam & (oC < OUT_CHROMATIC)
    nchrom = max(int(chrom.sum()), 1)
    m["chromatic_cells"] = int(chrom.sum())
    m["hue_flips"] = int(flip.sum())
    m["hue_flip_pct"] = 100.0 * flip.sum() / nchrom
    m["greyed_pct"] = 100.0 * grey.sum() / nchrom
    dark = (rL < DARK_L) & (rC < DARK_C)
    m["dark_cells"] = int(dark.sum())
    m["dark_tinted_pct"] = 100.0 * np.count_nonzero(dark & (oC >= CHROMATIC)) / max(int(dark.sum()), 1)

    # Stray cells in flat regions.
    ref_u8 = linear_to_u8(ref_lin)
    rows, cols = mask.shape
    okeys = _keys(out_rgba[..., :3])
    okeys = np.where(out_opaque, okeys, -1)
    if rows >= 5 and cols >= 5:
        rk = np.where(mask, _keys(ref_u8), -1)
        rwin = sliding_window_view(rk, (5, 5)).reshape(rows - 4, cols - 4, 25)
        flat = (rwin == rwin[..., 12:13]).all(axis=2) & (rwin[..., 12] >= 0)
        m["flat_cells"] = int(flat.sum())
        m["stray"], m["stray_specks"] = _strays(flat, okeys)
        if near_flat is not None:
            m["near_flat_cells"] = int(near_flat.sum())
            m["near_stray"], m["near_specks"] = _strays(near_flat, okeys)
    else:
        m["flat_cells"] = m["stray"] = m["stray_specks"] = 0

    # Thin features.
    if features:
        white = mask & (ref_u8 == 255).all(axis=2)
        bg_vals, bg_counts = np.unique(okeys[white], return_counts=True)
        bg_key = bg_vals[np.argmax(bg_counts)]
        bg_rgb = np.array([(bg_key >> 16) & 255, (bg_key >> 8) & 255, bg_key & 255], np.uint8)
        bgL = oklab_lch(linear_to_oklab(u8_to_linear(bg_rgb)))[0]
        oL_all, oC_all, oh_all = oklab_lch(linear_to_oklab(out_lin))
        for name, (cov, hue) in features.items():
            cells = cov > 0
            differs = okeys != bg_key
            if hue is None:
                ok = differs & (oL_all <= bgL - DARKER)
            else:
                ok = differs & (oC_all >= CHROMATIC) & (hue_distance(oh_all, hue) <= FAMILY_HUE)
            m[f"feat_{name}"] = 100.0 * np.count_nonzero(ok & cells) / max(int(cells.sum()), 1)
    return m


def near_flat_cells(ref_lin, opaque, limit=1.0):
    """Cells whose 5 x 5 neighbourhood is within CIEDE2000 `limit` of the centre (all opaque)."""
    rows, cols = opaque.shape
    if rows < 5 or cols < 5:
        return np.zeros((max(rows - 4, 0), max(cols - 4, 0)), bool)
    centre = ref_lin[2 : rows - 2, 2 : cols - 2]
    ok = opaque[2 : rows - 2, 2 : cols - 2].copy()
    for dy in range(5):
        for dx in range(5):
            nb = ref_lin[dy : rows - 4 + dy, dx : cols - 4 + dx]
            ok &= opaque[dy : rows - 4 + dy, dx : cols - 4 + dx]
            ok &= de2000(centre, nb) <= limit
    return ok
