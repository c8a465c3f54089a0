"""The category catalogue of the procedural apartment: what each object looks like and where it goes.

Each builder makes a mesh in the object's local frame: origin at the centre of its footprint on the
floor (or on its support), z up, the object's front facing local +y. Sizes are (width x, depth y,
height z) in metres.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.mesh import RGB, TriMesh, box, box_between, cylinder, merge, sphere

COLORS: dict[str, RGB] = {
    "red": (200, 40, 40), "blue": (40, 80, 200), "green": (50, 150, 60), "yellow": (230, 200, 40),
    "white": (235, 235, 230), "black": (35, 35, 38), "grey": (128, 128, 128), "brown": (120, 80, 45),
    "orange": (235, 130, 30), "purple": (130, 60, 160), "pink": (230, 140, 170), "beige": (215, 195, 160),
    "silver": (190, 190, 200), "teal": (40, 150, 150),
}

Builder = Callable[[tuple[float, float, float], RGB], TriMesh]


def _darker(color: RGB, factor: float = 0.6) -> RGB:
    return tuple(int(c * factor) for c in color)  # type: ignore[return-value]


def _block(size: tuple[float, float, float], color: RGB) -> TriMesh:
    return box(size, color)


def _table(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, d, h = size
    top = 0.04
    leg = 0.05
    legs = [box((leg, leg, h - top), _darker(color), (sx * (w / 2 - leg), sy * (d / 2 - leg), 0))
            for sx in (-1, 1) for sy in (-1, 1)]
    return merge([box((w, d, top), color, (0, 0, h - top)), *legs])


def _chair(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, d, h = size
    seat = 0.45
    legs = [box((0.04, 0.04, seat - 0.04), _darker(color), (sx * (w / 2 - 0.03), sy * (d / 2 - 0.03), 0))
            for sx in (-1, 1) for sy in (-1, 1)]
    return merge([box((w, d, 0.04), color, (0, 0, seat - 0.04)),
                  box_between((-w / 2, -d / 2, seat), (w / 2, -d / 2 + 0.05, h), color), *legs])


def _sofa(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, d, h = size
    arm = 0.15
    return merge([box((w, d, 0.42), color),
                  box_between((-w / 2, -d / 2, 0.42), (w / 2, -d / 2 + 0.22, h), _darker(color, 0.85)),
                  box_between((-w / 2, -d / 2, 0.42), (-w / 2 + arm, d / 2, 0.62), color),
                  box_between((w / 2 - arm, -d / 2, 0.42), (w / 2, d / 2, 0.62), color)])


def _bed(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, d, h = size
    return merge([box((w, d, 0.35), _darker(color)),
                  box((w - 0.04, d - 0.04, h - 0.35), COLORS["white"], (0, 0, 0.35)),
                  box_between((-w / 2, -d / 2, 0.0), (w / 2, -d / 2 + 0.06, 1.0), color)])


def _plant(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, _, h = size
    pot = 0.35 * h
    return merge([cylinder(w * 0.3, pot, (170, 90, 50), top_radius=w * 0.38),
                  sphere(min(w / 2, (h - pot) / 2), color, (0, 0, pot))])


def _lamp(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, _, h = size
    shade = 0.3 * h
    return merge([cylinder(w * 0.35, 0.03, _darker(color, 0.4)),
                  cylinder(0.015, h - shade, _darker(color, 0.4), (0, 0, 0.03)),
                  cylinder(w / 2, shade, color, (0, 0, h - shade), top_radius=w * 0.3)])


def _toilet(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, d, h = size
    return merge([cylinder(w * 0.4, 0.42, color, (0, 0.08, 0)),
                  box_between((-w / 2, -d / 2, 0.3), (w / 2, -d / 2 + 0.18, h), color)])


def _mug(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, _, h = size
    return merge([cylinder(w * 0.35, h, color), box((0.015, w * 0.3, h * 0.6), color, (w * 0.4, 0, h * 0.2))])


def _bowl(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, _, h = size
    return cylinder(w * 0.3, h, color, top_radius=w / 2)


def _bottle(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, _, h = size
    return merge([cylinder(w / 2, h * 0.7, color), cylinder(w / 2, h * 0.1, color, (0, 0, h * 0.7), top_radius=w / 5),
                  cylinder(w / 5, h * 0.2, _darker(color), (0, 0, h * 0.8))])


def _cylinder(size: tuple[float, float, float], color: RGB) -> TriMesh:
    return cylinder(size[0] / 2, size[2], color)


def _ball(size: tuple[float, float, float], color: RGB) -> TriMesh:
    return sphere(size[2] / 2, color)


def _laptop(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, d, h = size
    return merge([box((w, d, 0.02), color), box_between((-w / 2, -d / 2, 0.02), (w / 2, -d / 2 + 0.015, h),
                                                        _darker(color))])


def _teddy(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, _, h = size
    return merge([sphere(w / 2, color), sphere(w / 3, color, (0, 0, h - 2 * w / 3))])


def _tv(size: tuple[float, float, float], color: RGB) -> TriMesh:
    w, d, h = size
    return merge([box((0.3, 0.2, 0.05), color), box((w, d, h - 0.05), color, (0, 0, 0.05))])


@dataclass(frozen=True)
class Spec:
    """One category of the catalogue."""

    noun: str
    description: str
    """A few words saying what it is ("cup" for a mug): ground-truth perception embeds it with the label."""
    size: tuple[float, float, float]
    build: Builder
    colors: tuple[str, ...]
    color_in_label: bool = False
    """Label is "<colour> <noun>" ("red mug") instead of "<noun>"."""
    against_wall: bool = True
    support_height: float | None = None
    """Furniture that carries small objects: height of its top surface."""
    carries: tuple[str, ...] = ()
    """Nouns of the small objects that may rest on its top."""

    def label(self, color_name: str) -> str:
        return f"{color_name} {self.noun}" if self.color_in_label else self.noun


_FURNITURE = [
    Spec("sofa", "couch", (2.0, 0.9, 0.85), _sofa, ("grey", "blue", "beige", "green")),
    Spec("armchair", "easy chair", (0.9, 0.85, 0.85), _sofa, ("red", "brown", "grey")),
    Spec("coffee table", "low table", (1.0, 0.55, 0.45), _table, ("brown", "white"), False, False, 0.45,
         ("remote control", "book", "mug", "vase", "bowl")),
    Spec("tv stand", "media console", (1.4, 0.45, 0.5), _block, ("black", "white", "brown"), support_height=0.5,
         carries=("television",)),
    Spec("bookshelf", "bookcase", (0.9, 0.35, 1.8), _block, ("brown", "white")),
    Spec("floor lamp", "standing lamp", (0.35, 0.35, 1.6), _lamp, ("white", "beige")),
    Spec("potted plant", "houseplant", (0.45, 0.45, 0.9), _plant, ("green",)),
    Spec("kitchen counter", "worktop", (1.8, 0.6, 0.9), _block, ("white", "grey"), support_height=0.9,
         carries=("kettle", "toaster", "cereal box", "bottle", "bowl", "mug", "plate", "apple", "banana")),
    Spec("refrigerator", "fridge", (0.7, 0.7, 1.8), _block, ("silver", "white")),
    Spec("dining table", "kitchen table", (1.5, 0.9, 0.75), _table, ("brown", "white"), False, False, 0.75,
         ("plate", "bowl", "mug", "apple", "bottle", "vase", "banana")),
    Spec("chair", "seat", (0.45, 0.45, 0.9), _chair, ("brown", "black", "white")),
    Spec("trash can", "waste bin", (0.3, 0.3, 0.45), _cylinder, ("grey", "black")),
    Spec("bed", "for sleeping", (1.6, 2.0, 0.55), _bed, ("blue", "pink", "grey"), support_height=0.55,
         carries=("teddy bear", "book", "pillow")),
    Spec("nightstand", "bedside table", (0.45, 0.4, 0.55), _block, ("brown", "white"), support_height=0.55,
         carries=("alarm clock", "table lamp", "book", "mug")),
    Spec("wardrobe", "closet", (1.2, 0.6, 2.0), _block, ("brown", "white")),
    Spec("desk", "writing table", (1.2, 0.6, 0.75), _table, ("brown", "white", "black"), support_height=0.75,
         carries=("laptop", "book", "mug", "table lamp", "bottle")),
    Spec("toilet", "lavatory", (0.45, 0.65, 0.8), _toilet, ("white",)),
    Spec("sink cabinet", "washbasin", (0.8, 0.5, 0.85), _block, ("white", "teal"), support_height=0.85,
         carries=("soap bottle", "toothbrush cup", "towel")),
    Spec("bathtub", "bath", (1.6, 0.75, 0.55), _block, ("white",)),
    Spec("sideboard", "low cabinet", (1.4, 0.45, 0.8), _block, ("brown", "black"), support_height=0.8,
         carries=("vase", "bowl", "book", "alarm clock")),
]

_SMALL = [
    Spec("mug", "cup", (0.1, 0.1, 0.1), _mug, ("red", "blue", "white"), True),
    Spec("book", "novel", (0.16, 0.23, 0.04), _block, ("red", "blue", "green", "yellow")),
    Spec("laptop", "computer", (0.34, 0.24, 0.22), _laptop, ("silver", "black")),
    Spec("bottle", "drink bottle", (0.07, 0.07, 0.25), _bottle, ("green", "blue"), True),
    Spec("bowl", "dish", (0.16, 0.16, 0.07), _bowl, ("white", "orange")),
    Spec("plate", "dish", (0.24, 0.24, 0.02), _cylinder, ("white",)),
    Spec("apple", "fruit", (0.08, 0.08, 0.08), _ball, ("red", "green")),
    Spec("banana", "fruit", (0.18, 0.05, 0.04), _block, ("yellow",)),
    Spec("vase", "for flowers", (0.12, 0.12, 0.28), _bottle, ("purple", "teal", "white")),
    Spec("remote control", "tv remote", (0.05, 0.17, 0.025), _block, ("black",)),
    Spec("television", "tv", (1.0, 0.08, 0.65), _tv, ("black",)),
    Spec("kettle", "water boiler", (0.18, 0.18, 0.22), _cylinder, ("silver", "red")),
    Spec("toaster", "kitchen appliance", (0.28, 0.17, 0.19), _block, ("silver",)),
    Spec("cereal box", "breakfast food", (0.2, 0.07, 0.3), _block, ("yellow", "orange")),
    Spec("alarm clock", "clock", (0.12, 0.06, 0.1), _block, ("red", "black")),
    Spec("table lamp", "desk lamp", (0.2, 0.2, 0.4), _lamp, ("white", "beige")),
    Spec("teddy bear", "stuffed toy", (0.22, 0.22, 0.33), _teddy, ("brown",)),
    Spec("pillow", "cushion", (0.5, 0.35, 0.12), _block, ("white", "yellow")),
    Spec("soap bottle", "hand soap", (0.07, 0.07, 0.18), _bottle, ("pink", "green")),
    Spec("toothbrush cup", "bathroom", (0.08, 0.08, 0.11), _cylinder, ("teal", "white")),
    Spec("towel", "bath towel", (0.3, 0.2, 0.06), _block, ("white", "blue")),
    Spec("backpack", "rucksack", (0.32, 0.22, 0.45), _block, ("blue", "red", "black"), True),
    Spec("basketball", "ball", (0.24, 0.24, 0.24), _ball, ("orange",), against_wall=False),
]

FURNITURE: dict[str, Spec] = {s.noun: s for s in _FURNITURE}
SMALL: dict[str, Spec] = {s.noun: s for s in _SMALL}
"""Movable objects: they rest on the tops of furniture, or on the floor (see ``FLOOR_ITEMS``)."""
CATALOGUE: dict[str, Spec] = {**FURNITURE, **SMALL}
FLOOR_ITEMS = ("backpack", "basketball", "potted plant", "trash can")
"""Entries that may also be scattered on free floor when topping up a scene."""

ROOM_FURNITURE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # room type: (always placed, placed if they fit, in this order)
    "living room": (("sofa", "coffee table", "tv stand"), ("armchair", "bookshelf", "floor lamp", "potted plant")),
    "kitchen": (("kitchen counter", "refrigerator", "dining table"), ("chair", "chair", "trash can", "potted plant")),
    "bedroom": (("bed", "nightstand", "wardrobe"), ("desk", "chair", "backpack", "floor lamp")),
    "bathroom": (("toilet", "sink cabinet"), ("bathtub", "trash can")),
    "office": (("desk", "chair", "bookshelf"), ("potted plant", "floor lamp", "sideboard", "basketball")),
    "dining room": (("dining table", "chair", "chair"), ("sideboard", "chair", "potted plant")),
}
ROOM_FLOOR_COLORS: dict[str, RGB] = {
    "living room": (160, 120, 80), "kitchen": (190, 190, 185), "bedroom": (150, 110, 75),
    "bathroom": (200, 210, 215), "office": (140, 105, 70), "dining room": (165, 125, 85),
}
WALL_COLOR: RGB = (225, 220, 205)
CEILING_COLOR: RGB = (245, 245, 245)


def catalogue_noun(label: str) -> str:
    """Catalogue noun of a procedural object's label ("red mug" -> "mug"); "" if not from the catalogue."""
    if label in CATALOGUE:
        return label
    noun = label.split(" ", 1)[-1]
    return noun if noun in CATALOGUE else ""


SCAN_CLASS_DESCRIPTIONS: dict[str, str] = {
    # Replica's class names (hyphens read as spaces) and HM3D's common raw categories
    "base cabinet": "kitchen cupboard", "wall cabinet": "kitchen cupboard", "cabinet": "cupboard",
    "basket": "wicker container", "beanbag": "floor cushion", "bench": "long seat", "bike": "bicycle",
    "bin": "waste bin", "blanket": "throw", "blinds": "window shade", "box": "carton",
    "camera": "photo camera", "candle": "wax light", "chopping board": "cutting board", "clothing": "clothes",
    "coaster": "drink mat", "comforter": "duvet", "computer keyboard": "keyboard", "cooktop": "stove",
    "countertop": "worktop", "counter": "worktop", "cup": "mug", "curtain": "drape", "cushion": "pillow",
    "desk organizer": "pen holder", "desktop computer": "pc", "exercise ball": "gym ball",
    "faucet": "tap", "handbag": "purse", "hair dryer": "blow dryer", "indoor plant": "houseplant",
    "plant": "houseplant", "knife block": "knife holder", "kitchen utensil": "cooking tool",
    "lamp": "light", "major appliance": "large appliance", "mat": "rug", "rug": "carpet",
    "microwave": "microwave oven", "monitor": "computer screen", "tv monitor": "television",
    "tv screen": "television", "mouse": "computer mouse", "pan": "frying pan", "paper towel": "kitchen roll",
    "phone": "telephone", "picture": "framed picture", "pillow": "cushion", "pot": "cooking pot",
    "rack": "shelf rack", "scarf": "neck scarf", "sculpture": "statue", "shelf": "shelving",
    "shoe": "footwear", "shower stall": "shower", "shower": "shower cubicle", "sink": "washbasin",
    "small appliance": "kitchen appliance", "stool": "backless seat", "table": "furniture",
    "table runner": "table cloth", "tablet": "tablet computer", "tissue paper": "tissues",
    "toothbrush": "tooth brush", "umbrella": "brolly", "utensil holder": "utensil pot",
    "fireplace": "hearth", "mirror": "looking glass", "stairs": "staircase", "door": "doorway",
    "window": "glass pane", "bathtub": "bath", "toilet": "lavatory", "refrigerator": "fridge",
    "sofa": "couch", "wardrobe": "closet", "nightstand": "bedside table", "tv stand": "media console",
}
"""A few words for the class names of scanned scenes (Replica, HM3D) the catalogue does not hold."""


def description_of(label: str) -> str:
    """A few words describing a label's category: the catalogue's ("red mug" -> "cup"), else the scan
    class table's (``SCAN_CLASS_DESCRIPTIONS``, by the whole label, then its last word); "" if neither."""
    noun = catalogue_noun(label)
    if noun:
        return CATALOGUE[noun].description
    name = " ".join(label.lower().replace("-", " ").replace("_", " ").split())
    return SCAN_CLASS_DESCRIPTIONS.get(name) or SCAN_CLASS_DESCRIPTIONS.get(name.rsplit(" ", 1)[-1], "")
