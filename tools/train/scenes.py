"""Seeded synthetic scenes: 256×256 images of flat-coloured shapes, captioned from a small grammar.

One object ("a big red circle in the top left on a blue background") or two ("a red circle and a
green square on a white background": the first on the left, the second on the right). Captions are
written as dalle-mini's TextNormalizer leaves them (lowercase words, single spaces), so training
sees exactly what the app feeds the model after normalisation. HELD_OUT colour × shape pairs never
appear in training; the tests draw them.
"""
import numpy as np

SIZE = 256
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 70),
    "blue": (40, 90, 220),
    "yellow": (245, 215, 40),
    "orange": (245, 135, 25),
    "purple": (130, 55, 175),
    "pink": (245, 140, 195),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
    "grey": (128, 128, 128),
    "brown": (125, 80, 40),
    "cyan": (40, 205, 220),
}
SHAPES = ["circle", "square", "triangle", "star", "ring"]
SIZES = {"small": 36, None: 56, "big": 92}
POSITIONS = {
    None: (128, 128),
    "in the top left": (72, 72),
    "in the top right": (184, 72),
    "in the bottom left": (72, 184),
    "in the bottom right": (184, 184),
}
HELD_OUT = {("red", "star"), ("green", "ring"), ("blue", "triangle"), ("yellow", "circle"), ("purple", "square")}
WORDS = sorted(
    set(" ".join(list(COLOURS) + SHAPES + ["small big a an and on background"] + [p for p in POSITIONS if p]).split())
)

# Share of one-object scenes, not big, that are drawn in a named corner (the rest are centred): positions
# are the hardest words to learn, so each corner gets about 8 % of all captions.
POSITIONED = 0.7

_Y, _X = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5


def shape_mask(shape, cx, cy, r):
    dx, dy = _X - cx, _Y - cy
    if shape == "circle":
        return dx * dx + dy * dy <= r * r
    if shape == "ring":
        d2 = dx * dx + dy * dy
        return (d2 <= r * r) & (d2 >= (0.55 * r) ** 2)
    if shape == "square":
        s = 0.85 * r
        return (np.abs(dx) <= s) & (np.abs(dy) <= s)
    if shape == "triangle":
        # apex up; base at cy + 0.8 r
        top, base = cy - r, cy + 0.8 * r
        t = (_Y - top) / (base - top)
        return (t >= 0) & (t <= 1) & (np.abs(dx) <= t * r)
    if shape == "star":
        ang = np.arctan2(dy, dx) + np.pi / 2
        rad = np.sqrt(dx * dx + dy * dy)
        k = (np.cos(5 * ang) + 1) / 2  # 1 at the five points
        return rad <= r * (0.45 + 0.55 * k**2)
    raise ValueError(shape)


def article(word):
    return "an" if word[0] in "aeiou" else "a"


def render(objects, background):
    """objects: [(colour, shape, size_word, (cx, cy))] → uint8 [256, 256, 3]."""
    image = np.empty((SIZE, SIZE, 3), np.uint8)
    image[:] = COLOURS[background]
    for colour, shape, size, (cx, cy) in objects:
        image[shape_mask(shape, cx, cy, SIZES[size])] = COLOURS[colour]
    return image


def caption(objects, background, positioned, mention_background):
    parts = []
    for colour, shape, size, _ in objects:
        words = [w for w in (size, colour, shape) if w]
        parts.append(f"{article(words[0])} {' '.join(words)}")
    text = " and ".join(parts)
    if positioned:
        text += " " + positioned
    if mention_background:
        text += f" on {article(background)} {background} background"
    return text


def sample_object(rng, allow_held_out, exclude, sizes):
    while True:
        colour = str(rng.choice(list(COLOURS)))
        shape = str(rng.choice(SHAPES))
        if colour in exclude or ((colour, shape) in HELD_OUT and not allow_held_out):
            continue
        return colour, shape, sizes[int(rng.integers(len(sizes)))]


def sample_scene(rng, held_out=False):
    """One (image, caption). held_out=True draws only scenes whose first object is a held-out pair."""
    background = str(rng.choice(list(COLOURS)))
    two = rng.random() < 0.3
    positioned = None
    if two:
        a = sample_object(rng, False, {background}, ["small", None])
        b = sample_object(rng, False, {background, a[0]}, ["small", None])
        objects = [(*a, (72, 128)), (*b, (184, 128))]
    else:
        if held_out:
            colour, shape = sorted(HELD_OUT)[int(rng.integers(len(HELD_OUT)))]
            if colour == background:
                background = "white" if colour != "white" else "black"
            size = [None, "big"][int(rng.integers(2))]
        else:
            colour, shape, size = sample_object(rng, False, {background}, ["small", None, "big"])
        if size != "big" and rng.random() < POSITIONED:
            positioned = list(POSITIONS)[1 + int(rng.integers(4))]
        objects = [(colour, shape, size, POSITIONS[positioned])]
    mention = held_out or rng.random() < 0.85
    return render(objects, background), caption(objects, background, positioned, mention)


def dataset(seed, count, held_out=False):
    rng = np.random.default_rng(seed)
    images = np.empty((count, SIZE, SIZE, 3), np.uint8)
    captions = []
    for i in range(count):
        images[i], text = sample_scene(rng, held_out)
        captions.append(text)
    return images, captions
