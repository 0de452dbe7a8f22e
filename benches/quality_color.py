"""Colour maths for the quality benchmark: sRGB <-> linear light, Oklab, CIELAB, CIEDE2000.

Oklab is Björn Ottosson's (2020) definition from linear sRGB. CIELAB (D65) and CIEDE2000 come from
scikit-image (`skimage.color.rgb2lab`, `skimage.color.deltaE_ciede2000`), whose CIEDE2000 follows
Sharma, Wu and Dalal (2005).
"""

import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

# Linear sRGB -> LMS and LMS' -> Oklab (Ottosson 2020).
_M1 = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_M2 = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)


def srgb_to_linear(srgb):
    """sRGB in 0..1 (any shape ending in 3) -> linear light."""
    s = np.asarray(srgb, dtype=np.float64)
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin):
    """Linear light -> sRGB in 0..1 (clipped)."""
    x = np.clip(np.asarray(lin, dtype=np.float64), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def u8_to_linear(u8):
    """8-bit sRGB -> linear light."""
    return srgb_to_linear(np.asarray(u8, dtype=np.float64) / 255.0)


def linear_to_u8(lin):
    """Linear light -> 8-bit sRGB (rounded)."""
    return np.clip(np.round(linear_to_srgb(lin) * 255.0), 0, 255).astype(np.uint8)


def linear_to_oklab(lin):
    """Linear sRGB -> Oklab (L in 0..1, a and b roughly -0.4..0.4)."""
    lms = np.asarray(lin, dtype=np.float64) @ _M1.T
    return np.cbrt(lms) @ _M2.T


def linear_to_lab(lin):
    """Linear sRGB -> CIELAB (D65, 2°)."""
    return rgb2lab(linear_to_srgb(lin), illuminant="D65", observer="2")


def oklab_lch(ok):
    """Oklab -> (L, chroma, hue in degrees)."""
    L, a, b = ok[..., 0], ok[..., 1], ok[..., 2]
    return L, np.hypot(a, b), np.degrees(np.arctan2(b, a)) % 360.0


def hue_distance(h1, h2):
    """Smallest angle between two hues in degrees (0..180)."""
    d = np.abs(np.asarray(h1) - np.asarray(h2)) % 360.0
    return np.minimum(d, 360.0 - d)


def de_oklab(lin1, lin2):
    """Euclidean Oklab distance x 100 (so 1 unit is about a just-noticeable step)."""
    return np.linalg.norm(linear_to_oklab(lin1) - linear_to_oklab(lin2), axis=-1) * 100.0


def de2000(lin1, lin2):
    """CIEDE2000 between two linear-sRGB arrays."""
    return deltaE_ciede2000(linear_to_lab(lin1), linear_to_lab(lin2))
