"""``mem3d eval queries``: query precision and recall on apartments holding objects from outside the catalogue.

Each apartment (``seeds``) gets objects made here as OBJ files (quad and n-gon faces, textures: see
``OUTSIDE``), placed on furniture tops and on the floor with ``mesh_object`` and ``add_object``. The
agent tours it (``sim.tour.room_tour``: moves between room centres, turns looking down); perception is
``label-minilm`` (ground-truth labels embedded by all-MiniLM-L6-v2); the frames go into a ``VoxelMap``.
Then a mixed query set is asked, built from what the scene holds (ground truth only builds and scores
the queries; the memory never reads it):

* ``paraphrase``: another name for a category present ("couch" for the sofa); right when the best
  candidate lies within ``near_m`` of an object of it;
* ``small``: an outside object of about one voxel, by its label ("toy brick"; its paraphrases count
  as ``paraphrase``);
* ``colour``: a category present with its own colour ("grey sofa"): the colour check must keep it;
* ``attribute``: a category present with a colour none of its objects has ("red sofa" for a grey
  one); right when not found;
* ``compound``: a phrase whose modifier names a category present and whose head names nothing there
  ("fridge magnet"); right when not found;
* ``absent``: a household thing not in the scene ("piano"); right when not found.

* ``near_absent``: a category not in the apartment while a near one is ("stool" where chairs stand,
  ``NEAR_CATEGORIES``), asked on the whole tour's map; right when not found;
* ``near_unseen``: a category of the apartment that no view has shown yet while a near one was seen,
  asked part-way through the tour (``part_fractions``): what a planner asks before exploring further;
  right when not found.

Every decision rule of ``RULES`` answers every query on the same maps: ``baseline`` is the rule
before this evaluation (cosine >= 0.64, clusters of 3 voxels, nothing else), ``evidence`` adds the
small-object keep rule and blended-voxel rejection, ``terms`` adds the head-noun and colour checks,
``margin`` lets the query's clear favourite label in the map's codebook match 0.15 under the threshold,
``names`` adds the common-name check to ``terms``, ``default`` is ``LocalizeConfig()`` with all checks
(the rules of ``mem3d.query.localization``). The sweep gives recall and false positives of the
``default`` rule at other thresholds, reaches and name tolerances.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mem3d.query.localization import LocalizeConfig, check_query, localize
from mem3d.query.terms import QueryTerms, query_terms
from mem3d.types import LocalizeResult
from mem3d.voxel_map import MapConfig, VoxelMap

PARAPHRASES: dict[str, tuple[str, ...]] = {
    "sofa": ("couch", "settee"), "armchair": ("easy chair", "reading chair"),
    "coffee table": ("low table", "living room table"), "bookshelf": ("bookcase", "shelves for books"),
    "floor lamp": ("standing lamp", "tall lamp"), "potted plant": ("houseplant", "plant in a pot"),
    "kitchen counter": ("kitchen worktop", "countertop"), "refrigerator": ("fridge", "icebox"),
    "dining table": ("kitchen table", "table for meals"), "trash can": ("garbage bin", "rubbish bin"),
    "bed": ("double bed", "place to sleep"), "nightstand": ("bedside table", "night table"),
    "wardrobe": ("closet", "clothes cupboard"), "desk": ("writing desk", "work desk"),
    "toilet": ("toilet seat", "loo"), "bathtub": ("bath tub", "tub"), "sideboard": ("low cabinet", "buffet cabinet"),
    "sink cabinet": ("bathroom sink", "vanity unit"), "chair": ("seat", "dining chair"),
    "tv stand": ("media console", "tv bench"), "mug": ("coffee cup", "tea cup"), "book": ("paperback", "novel"),
    "laptop": ("notebook computer", "portable computer"), "bottle": ("water bottle", "plastic bottle"),
    "bowl": ("cereal bowl", "soup bowl"), "plate": ("dinner plate", "dish"), "apple": ("piece of fruit",),
    "vase": ("flower vase", "vase for flowers"), "remote control": ("tv remote", "remote"),
    "television": ("tv screen", "tv"), "kettle": ("electric kettle", "tea kettle"),
    "toaster": ("bread toaster", "pop-up toaster"), "alarm clock": ("bedside clock", "clock"),
    "table lamp": ("desk lamp", "reading lamp"), "teddy bear": ("stuffed toy", "soft toy"),
    "pillow": ("cushion", "throw pillow"), "towel": ("bath towel", "hand towel"),
    "backpack": ("rucksack", "school bag"), "basketball": ("ball", "orange ball"),
    "soap bottle": ("hand soap", "soap dispenser"), "toothbrush cup": ("toothbrush holder", "tooth mug"),
    "cereal box": ("box of cereal", "breakfast cereal"),
    "watering can": ("can for watering plants", "plant watering can"), "rubber duck": ("bath duck", "yellow duck"),
    "desk fan": ("electric fan", "table fan"), "candle": ("wax candle", "tea light"),
    "stapler": ("paper stapler", "office stapler"), "floor cushion": ("pouf", "floor pillow"),
    "toy brick": ("lego piece", "building block"), "dice": ("die", "game dice"),
}
"""Another name for each category (catalogue nouns and the outside objects)."""

COMPOUNDS: dict[str, tuple[str, ...]] = {
    "refrigerator": ("fridge magnet",), "bed": ("bed bug",), "dining table": ("table tennis paddle",),
    "coffee table": ("coffee table leg",), "chair": ("chair cover",), "television": ("tv guide",),
    "floor lamp": ("lamp oil",), "table lamp": ("lamp bulb",), "toilet": ("toilet paper",),
    "kettle": ("kettle descaler",), "bookshelf": ("bookshelf speaker",), "desk": ("desk calendar",),
    "laptop": ("laptop charger",), "bottle": ("bottle opener",), "mug": ("mug tree",),
    "bathtub": ("bath bomb",), "potted plant": ("plant food",), "sink cabinet": ("sink plunger",),
    "wardrobe": ("wardrobe key",), "banana": ("banana bread",), "basketball": ("basketball hoop",),
    "remote control": ("remote control car",), "pillow": ("pillow case",), "towel": ("towel rail",),
    "sofa": ("sofa bed frame",), "candle": ("candle snuffer",), "watering can": ("watering can rose",),
    "kitchen counter": ("counter top spray",), "toaster": ("toaster crumb tray",), "book": ("book token",),
}
"""Phrases whose modifier names a category and whose head does not ("fridge magnet")."""

NEAR_CATEGORIES: dict[str, tuple[str, ...]] = {
    "sofa": ("armchair", "chair", "bed", "floor cushion"), "armchair": ("sofa", "chair"),
    "stool": ("chair", "armchair"), "bench": ("chair", "sofa"), "ottoman": ("floor cushion", "sofa", "armchair"),
    "coffee table": ("dining table", "desk", "nightstand"), "dining table": ("coffee table", "desk"),
    "desk": ("dining table", "coffee table"), "nightstand": ("sideboard", "coffee table"),
    "sideboard": ("wardrobe", "tv stand", "bookshelf", "nightstand"), "wardrobe": ("sideboard", "bookshelf"),
    "bookshelf": ("wardrobe", "sideboard"), "tv stand": ("sideboard", "coffee table"),
    "floor lamp": ("table lamp",), "table lamp": ("floor lamp",), "bathtub": ("sink cabinet", "toilet"),
    "shower": ("bathtub",), "sink cabinet": ("bathtub", "kitchen counter"), "refrigerator": ("kitchen counter",),
    "mug": ("toothbrush cup", "bowl"), "glass": ("mug", "bottle", "vase"), "bowl": ("plate", "mug"),
    "plate": ("bowl",), "bottle": ("vase",), "vase": ("bottle",), "apple": ("banana",),
    "banana": ("apple",), "pear": ("apple", "banana"), "laptop": ("television",), "tablet": ("laptop",),
    "television": ("laptop",), "magazine": ("book",), "kettle": ("toaster",), "teapot": ("kettle", "mug"),
    "toaster": ("kettle",), "blanket": ("pillow", "towel"), "pillow": ("floor cushion",), "suitcase": ("backpack",),
    "handbag": ("backpack",), "football": ("basketball",), "tennis ball": ("basketball",), "doll": ("teddy bear",),
    "teddy bear": ("rubber duck",), "rubber duck": ("teddy bear",), "watch": ("alarm clock",),
    "phone": ("remote control",), "bucket": ("watering can", "trash can"), "hole punch": ("stapler",),
    "heater": ("desk fan",), "lantern": ("candle",), "candle": ("vase",), "dice": ("toy brick",),
    "toy brick": ("dice",), "oven": ("toaster", "kettle"), "dishwasher": ("kitchen counter",),
    # names that mem3d.query.vocabulary does not hold
    "chaise longue": ("sofa", "armchair"), "footrest": ("floor cushion", "chair"), "tumbler": ("mug", "vase"),
    "coat stand": ("floor lamp",), "percolator": ("kettle",), "hatbox": ("cereal box",),
}
"""A category a person may ask for -> categories near it (a seat for a seat, a cup for a cup) that do
not answer it: asked where it is absent (or not yet seen) and one of these is present, the right
answer is "not found". Keys name different things from their values and from every paraphrase."""

ABSENT = ("piano", "dog", "bicycle", "guitar", "umbrella", "ironing board", "vacuum cleaner", "microwave")
CATEGORIES = ("paraphrase", "small", "colour", "attribute", "compound", "absent", "near_absent", "near_unseen")
POSITIVE = ("paraphrase", "small", "colour")
"""Categories whose queries name something present (scored by recall; the others by false positives)."""
CONTRASTS = ("red", "green", "blue", "yellow", "purple", "orange")
"""Colours an attribute query may name (contrasting with the object's own)."""


@dataclass(frozen=True)
class Outside:
    """An object made here as an OBJ file: a box (quad faces) or a cylinder (quad sides, n-gon caps)."""

    label: str
    description: str
    size: tuple[float, float, float]
    """(x, y, z) metres."""
    shape: str
    """"box" or "cylinder"."""
    color: tuple[int, int, int]
    textured: bool
    where: str
    """"top" (a furniture top) or "floor"."""
    small: bool = False
    """About one voxel: scored in the small-object category."""


OUTSIDE = (
    Outside("toy brick", "lego block", (0.05, 0.05, 0.05), "box", (200, 40, 40), True, "top", True),
    Outside("dice", "game die", (0.04, 0.04, 0.04), "box", (235, 235, 230), False, "top", True),
    Outside("candle", "wax light", (0.05, 0.05, 0.08), "cylinder", (230, 200, 40), False, "top", True),
    Outside("rubber duck", "bath toy", (0.06, 0.06, 0.06), "cylinder", (230, 200, 40), True, "floor", True),
    Outside("stapler", "office tool", (0.05, 0.15, 0.06), "box", (35, 35, 38), False, "top"),
    Outside("watering can", "garden can", (0.3, 0.15, 0.25), "cylinder", (50, 150, 60), True, "floor"),
    Outside("desk fan", "electric fan", (0.25, 0.2, 0.3), "cylinder", (40, 80, 200), True, "top"),
    Outside("floor cushion", "pouf", (0.45, 0.45, 0.3), "box", (130, 60, 160), True, "floor"),
)

SMALL_LABELS = {s.label for s in OUTSIDE if s.small}


@dataclass(frozen=True)
class QueryEvalConfig:
    seeds: tuple[int, ...] = (0, 1, 2)
    """Apartments; the first half calibrates (``sweep``), the second half is held out."""
    width: int = 320
    height: int = 240
    max_frames: int | None = None
    """Frames per apartment tour (None = the whole tour)."""
    near_m: float = 0.3
    """A found candidate is right within this distance of the target object's box."""
    thresholds: tuple[float, ...] = (0.5, 0.55, 0.6, 0.64, 0.7, 0.75)
    """Thresholds of the sweep (the ``default`` rule)."""
    threshold: float = 0.64
    """Threshold of the rules compared (all-MiniLM-L6-v2's calibrated value)."""
    reaches: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2)
    """``margin_reach`` values of the sweep (the ``default`` rule at ``threshold``)."""
    tolerances: tuple[float, ...] = (0.05, 0.1, 0.15)
    """``name_tolerance`` values of the sweep (the ``default`` rule at ``threshold``)."""
    part_fractions: tuple[float, ...] = (0.25, 0.5, 0.75)
    """Points of each tour (shares of its frames) where ``near_unseen`` queries are asked."""
    seen_min_pixels: int = 100
    """A near category counts as seen part-way once some view showed it at this many pixels."""


@dataclass(frozen=True)
class Query:
    text: str
    category: str
    """One of ``CATEGORIES``."""
    target: str | None
    """Label of the object it should find; None = it should answer "not found"."""


RULES: dict[str, tuple[LocalizeConfig, str]] = {
    "baseline": (LocalizeConfig(pure_evidence=False, small_min_points=float("inf"), margin_reach=0.0), ""),
    "evidence": (LocalizeConfig(margin_reach=0.0), ""),
    "terms": (LocalizeConfig(margin_reach=0.0), "words"),
    "margin": (LocalizeConfig(margin_reach=0.15), "words"),
    "names": (LocalizeConfig(margin_reach=0.0), "names"),
    "default": (LocalizeConfig(), "names"),
}
"""Rule name -> (localize config, which words of the query are checked: none, head noun and colours
("words"), or those and the common names ("names"))."""


def checked_terms(terms: QueryTerms, checks: str) -> QueryTerms | None:
    """The part of a query's terms a rule checks (``RULES``)."""
    if not checks:
        return None
    return terms if checks == "names" else replace(terms, names=None, own_name=None, broader=None)


def _box_faces() -> list[list[int]]:
    return [[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6], [3, 0, 4, 7]]


def shape_polygons(shape: str, size: tuple[float, float, float], segments: int = 12,
                   ) -> tuple[np.ndarray, list[list[int]], np.ndarray]:
    """Vertices, polygon faces (quads; n-gon caps for cylinders) and per-vertex uvs of a shape whose
    bottom face is centred on the origin (object frame, z up, metres)."""
    sx, sy, sz = size
    if shape == "box":
        corners = np.array([[x, y, z] for z in (0, sz) for x, y in ((-1, -1), (1, -1), (1, 1), (-1, 1))], float)
        corners[:, 0] *= sx / 2
        corners[:, 1] *= sy / 2
        uvs = np.array([[0, 0], [1, 0], [1, 1], [0, 1]] * 2, float)
        return corners, _box_faces(), uvs
    angles = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([np.cos(angles) * sx / 2, np.sin(angles) * sy / 2], axis=1)
    vertices = np.vstack([np.column_stack([ring, np.zeros(segments)]), np.column_stack([ring, np.full(segments, sz)])])
    k = np.arange(segments)
    sides = [[int(i), int((i + 1) % segments), int((i + 1) % segments + segments), int(i + segments)] for i in k]
    caps = [list(range(segments - 1, -1, -1)), list(range(segments, 2 * segments))]
    uvs = np.column_stack([np.tile(k / segments, 2), np.repeat([0.0, 1.0], segments)])
    return vertices, sides + caps, uvs


def write_outside_mesh(spec: Outside, directory: Path) -> Path:
    """The OBJ file of ``spec`` (a two-tone texture, top half lighter, when ``spec.textured``)."""
    from sim.obj import write_obj

    vertices, faces, uvs = shape_polygons(spec.shape, spec.size)
    path = directory / (spec.label.replace(" ", "_") + ".obj")
    if not spec.textured:
        return write_obj(path, vertices, faces, color=spec.color)
    texture = np.empty((8, 8, 3), np.uint8)
    texture[:4] = np.minimum(np.asarray(spec.color) * 1.15, 255).astype(np.uint8)
    texture[4:] = spec.color
    return write_obj(path, vertices, faces, uvs=uvs, texture=texture)


def place_outside(scene, specs: tuple[Outside, ...], directory: Path, rng: np.random.Generator,
                  navigable) -> list:
    """Add each outside object to ``scene``: on a free spot of a furniture top, or on free floor about
    1 m from a room centre (``navigable(xy)``: where the robot may stand); returns those placed."""
    from sim.dynamics import add_object, footprint_radius, spot_on_support
    from sim.mesh_io import mesh_object
    from sim.scene import pose_from_xyz_yaw

    placed = []
    tops = [o for o in scene.labelled_objects() if o.support_height is not None]
    for spec in specs:
        path = write_outside_mesh(spec, directory)
        radius = float(np.hypot(spec.size[0], spec.size[1])) / 2
        for _ in range(40):
            if spec.where == "top":
                support = tops[int(rng.integers(len(tops)))]
                xy = spot_on_support(scene, support, radius, rng)
                z = support.top_z()
            else:
                room = scene.rooms[int(rng.integers(len(scene.rooms)))]
                angle = rng.uniform(0, 2 * np.pi)
                xy = np.asarray(room.center) + 1.0 * np.array([np.cos(angle), np.sin(angle)])
                z = scene.floor_z
                clear = all(np.linalg.norm(xy - o.T_world_object[:2, 3]) > radius + footprint_radius(o) + 0.05
                            for o in scene.labelled_objects())
                xy = xy if clear and navigable(xy) else None
            if xy is None:
                continue
            obj = mesh_object(path, spec.label, pose_from_xyz_yaw(xy[0], xy[1], z, rng.uniform(-np.pi, np.pi)),
                              scene.next_instance_id(), description=spec.description)
            try:
                add_object(scene, obj)
            except Exception:  # noqa: BLE001 - a spot that collides: try another
                continue
            placed.append(obj)
            break
    return placed


def _colour_name(rgb: tuple[int, int, int]) -> str:
    from sim.catalogue import COLORS

    return min(COLORS, key=lambda n: float(np.linalg.norm(np.subtract(COLORS[n], rgb))))


def _noun(label: str) -> str:
    from sim.catalogue import catalogue_noun

    return catalogue_noun(label) or label


def build_queries(scene, outside: list, rng: np.random.Generator) -> list[Query]:
    """The mixed query set of one scene (see the module notes)."""
    from sim.catalogue import COLORS

    objects = scene.labelled_objects()
    by_noun: dict[str, list] = {}
    for obj in objects:
        by_noun.setdefault(_noun(obj.label), []).append(obj)
    small_labels = {o.label for o in outside if o.label in SMALL_LABELS}
    queries = []
    for noun, members in sorted(by_noun.items()):
        for text in PARAPHRASES.get(noun, ()):
            queries.append(Query(text, "paraphrase", noun))
        for text in COMPOUNDS.get(noun, ()):
            head = text.split()[-1]
            if not any(head in other for other in by_noun):
                queries.append(Query(text, "compound", None))
        own = {_colour_name(o.color) for o in members}
        contrasts = [c for c in CONTRASTS if all(np.linalg.norm(np.subtract(COLORS[c], COLORS[n])) > 150 for n in own)]
        if contrasts and noun not in small_labels:
            queries.append(Query(f"{contrasts[int(rng.integers(len(contrasts)))]} {noun}", "attribute", None))
            if len(own) == 1 and not any(c in noun for c in COLORS):
                queries.append(Query(f"{own.pop()} {noun}", "colour", noun))
    queries += [Query(label, "small", label) for label in sorted(small_labels)]
    present = set(by_noun)
    queries += [Query(text, "absent", None) for text in ABSENT if text not in present]
    return queries


def _map_of(scene, config: QueryEvalConfig, encoder, show_progress: bool,
            at_part: Callable[[VoxelMap, dict[int, list[int]]], None]) -> tuple[VoxelMap, dict[int, list[int]]]:
    """The map of a tour of ``scene`` and, per instance, the pixels it covered in each view showing it;
    ``at_part(map, sightings so far)`` is called at each of ``config.part_fractions`` of the tour."""
    from perception.frames import build_feature_frame
    from sim.config import CameraConfig, SimConfig
    from sim.embedded import EmbeddedSimSource
    from sim.tour import room_tour

    source = EmbeddedSimSource(scene, SimConfig(camera=CameraConfig(width=config.width, height=config.height)))
    voxel_map = VoxelMap(MapConfig(feature_dim=encoder.feature_dim, feature_model=encoder.info.model_id))
    sightings: dict[int, list[int]] = {}
    obs = source.reset(0)
    actions = list(room_tour(source))[: config.max_frames]
    parts = {max(1, int(round(f * (len(actions) + 1)))) for f in config.part_fractions}
    for k, action in enumerate(tqdm([None, *actions], desc=f"tour of apartment {scene.seed}",
                                    disable=not show_progress, file=sys.stderr), start=1):
        if action is not None:
            source.act(action)
            obs = source.observe()
        voxel_map.update(build_feature_frame(obs, encoder))
        for instance, pixels in source.truth.visible_instances(obs).items():
            sightings.setdefault(instance, []).append(pixels)
        if k in parts:
            at_part(voxel_map, sightings)
    source.close()
    return voxel_map, sightings


def unseen_queries(scene, sightings: dict[int, list[int]], min_pixels: int) -> list[Query]:
    """``near_unseen`` queries part-way through a tour: a category of the scene no view has shown yet,
    while a near category was seen (at least ``min_pixels`` in some view)."""
    nouns = {o.instance_id: _noun(o.label) for o in scene.labelled_objects()}
    in_view = {nouns[i] for i in sightings if i in nouns}
    seen = {nouns[i] for i, pixels in sightings.items() if i in nouns and max(pixels) >= min_pixels}
    return near_queries(set(nouns.values()) - in_view, seen, "near_unseen")


def _right(result, query: Query, scene, near_m: float) -> bool:
    if query.target is None:
        return not result.found
    if not result.found:
        return False
    point = np.asarray(result.candidates[0].centroid)
    for obj in scene.labelled_objects():
        if _noun(obj.label) == query.target:
            lo, hi = obj.world_bounds()
            if float(np.linalg.norm(np.maximum(np.maximum(lo - point, point - hi), 0.0))) <= near_m:
                return True
    return False


def _rates(rows: list[dict], key: str) -> dict[str, float]:
    """Per category: recall (present targets) or false-positive rate (absent ones)."""
    out: dict[str, float] = {}
    for category in CATEGORIES:
        picked = [r[key] for r in rows if r["category"] == category]
        if picked:
            share = float(np.mean(picked))
            out[category] = share if category in POSITIVE else 1.0 - share
    for name, categories in (("fp_attribute_compound", ("attribute", "compound")),
                             ("fp_near", ("near_absent", "near_unseen"))):
        negatives = [r[key] for r in rows if r["category"] in categories]
        out[name] = 1.0 - float(np.mean(negatives)) if negatives else 0.0
    return out


def run(config: QueryEvalConfig, show_progress: bool = True) -> dict:
    from perception.encoders.label_embedding import LabelEmbeddingEncoder
    from sim.apartment import generate_apartment
    from sim.config import AgentConfig
    from sim.navgrid import NavGrid

    encoder = LabelEmbeddingEncoder()
    rows: list[dict] = []
    small_seen: list[dict] = []
    default = RULES["default"][0]
    sweep_keys = [(f"default t={t:.2f}", default, t) for t in config.thresholds]
    sweep_keys += [(f"default reach={r:.2f}", replace(default, margin_reach=r), config.threshold)
                   for r in config.reaches]
    sweep_keys += [(f"default tolerance={v:.2f}", replace(default, name_tolerance=v), config.threshold)
                   for v in config.tolerances]
    with tempfile.TemporaryDirectory(prefix="mem3d-eval-queries-") as tmp:
        for seed in config.seeds:
            scene = generate_apartment(seed)
            rng = np.random.default_rng(seed)
            grid = NavGrid.from_scene(scene, AgentConfig())
            directory = Path(tmp) / str(seed)
            directory.mkdir()
            outside = place_outside(scene, OUTSIDE, directory, rng, grid.is_navigable)
            apartment_rows, seen = _apartment(scene, outside, rng, encoder, config, sweep_keys,
                                              seed in config.seeds[len(config.seeds) // 2:], show_progress)
            rows += apartment_rows
            small_seen += seen
    held_out = [r for r in rows if r["held_out"]]
    calibration = [r for r in rows if not r["held_out"]]
    return {
        "perception": f"label-minilm ({encoder.info.model})",
        "n_queries": len(rows), "n_apartments": len(config.seeds),
        "counts": {c: sum(r["category"] == c for r in rows) for c in CATEGORIES},
        "rules": {name: _rates(rows, name) for name in RULES},
        "rules_held_out": {name: _rates(held_out, name) for name in RULES},
        "sweep_calibration": {key: _rates(calibration, key) for key, _, _ in sweep_keys},
        "sweep_held_out": {key: _rates(held_out, key) for key, _, _ in sweep_keys},
        "small_objects_seen": small_seen,
        "wrong": {name: [f"{r['seed']}: {r['text']} ({r['category']})" for r in rows if not r[name]] for name in RULES},
        "config": {"threshold": config.threshold, "width": config.width, "height": config.height,
                   "near_m": config.near_m},
    }


def _apartment(scene, outside: list, rng: np.random.Generator, encoder, config: QueryEvalConfig, sweep_keys: list,
               held_out: bool, show_progress: bool) -> tuple[list[dict], list[dict]]:
    """The rows of one apartment's queries (``near_unseen`` ones part-way through the tour, the others on
    the whole tour's map) and how its small outside objects were seen."""
    rows: list[dict] = []

    def answer(voxel_map: VoxelMap, queries: list[Query]) -> None:
        rows.extend(_answers(voxel_map, queries, scene, encoder, config, sweep_keys, scene.seed, held_out))

    voxel_map, sightings = _map_of(scene, config, encoder, show_progress,
                                   lambda part, seen: answer(part, unseen_queries(scene, seen, config.seen_min_pixels)))
    nouns = {_noun(o.label) for o in scene.labelled_objects()}
    answer(voxel_map, build_queries(scene, outside, rng) + near_queries(set(NEAR_CATEGORIES), nouns, "near_absent"))
    small_seen = [{"seed": scene.seed, "label": o.label, "frames": len(sightings.get(o.instance_id, [])),
                   "max_pixels": max(sightings.get(o.instance_id, [0]))} for o in outside if o.label in SMALL_LABELS]
    return rows, small_seen


def _answers(voxel_map: VoxelMap, queries: list[Query], scene, encoder, config: QueryEvalConfig,
             sweep_keys: list, seed: int, held_out: bool) -> list[dict]:
    """One row per query: whether each rule of ``RULES`` and of the sweep answered it right."""
    rows = []
    for query in queries:
        embedding = encoder.encode_text([query.text])[0]
        terms = query_terms(encoder, query.text)
        row = {"seed": seed, "text": query.text, "category": query.category, "target": query.target,
               "held_out": held_out}
        for name, (rule, checks) in RULES.items():
            result = ask(voxel_map, embedding, replace(rule, threshold=config.threshold), checked_terms(terms, checks))
            row[name] = _right(result, query, scene, config.near_m)
        for key, rule, threshold in sweep_keys:
            result = ask(voxel_map, embedding, replace(rule, threshold=threshold), terms)
            row[key] = _right(result, query, scene, config.near_m)
        rows.append(row)
    return rows


def ask(voxel_map: VoxelMap, embedding: np.ndarray, rule: LocalizeConfig, terms: QueryTerms | None) -> LocalizeResult:
    """``voxel_map``'s answer to a query under the decision rule ``rule`` (not the map's own)."""
    return localize(voxel_map.grid.store, voxel_map.voxel_size, voxel_map.codebook,
                    check_query(embedding, voxel_map.feature_dim), 5, rule, terms)


def near_queries(asked_from: set[str], present: set[str], category: str) -> list[Query]:
    """Queries for each ``NEAR_CATEGORIES`` key in ``asked_from`` and not in ``present``, where one of its
    near categories is ``present`` and no kind of it is ("bottle" is not absent beside a soap bottle):
    right when not found."""
    return [Query(asked, category, None) for asked, near in NEAR_CATEGORIES.items()
            if asked in asked_from and asked not in present and any(n in present for n in near)
            and not any(p.endswith(" " + asked) for p in present)]
