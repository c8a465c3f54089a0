"""Names of common indoor things: what localization compares a candidate's evidence with, besides the query.

A query near a feature in the map is not always a query *for* it: "sofa" scores 0.59 with an
armchair's label, about as much as the paraphrase "reading chair" does. What tells them apart is
that the armchair has a name of its own that fits it far better than "sofa" does and is not another
word for a sofa. ``HOUSEHOLD_NAMES`` is that general knowledge: a few hundred everyday names of things
found indoors (furniture, appliances, kitchenware, bathroom and office things, toys, food, clothes),
written for this purpose, English, one name per line of thought, synonyms listed as their own
entries. It is not any simulator's catalogue and holds no scene's contents; the map's own evidence
(its codebook centroids) is named against it at query time (``mem3d.query.localization``).
"""

from __future__ import annotations

HOUSEHOLD_NAMES: tuple[str, ...] = (
    # seating and beds
    "sofa", "couch", "loveseat", "armchair", "chair", "office chair", "stool", "bar stool", "bench",
    "ottoman", "footstool", "bean bag", "rocking chair", "high chair", "bed", "bunk bed", "crib", "mattress",
    # tables and storage furniture
    "table", "coffee table", "dining table", "side table", "desk", "nightstand", "dresser", "chest of drawers",
    "wardrobe", "closet", "cupboard", "cabinet", "sideboard", "bookshelf", "shelf", "tv stand",
    "filing cabinet", "drawer", "coat rack", "shoe rack", "counter", "kitchen island", "vanity",
    # lighting and decor
    "lamp", "floor lamp", "table lamp", "ceiling light", "chandelier", "candle", "lantern", "mirror",
    "picture frame", "painting", "poster", "clock", "wall clock", "alarm clock", "vase", "flowers",
    "potted plant", "plant", "curtain", "blinds", "rug", "carpet", "doormat", "cushion", "pillow", "blanket",
    "duvet", "sheet", "towel", "basket", "box", "figurine", "sculpture", "globe", "fireplace",
    # kitchen
    "refrigerator", "freezer", "oven", "stove", "microwave", "dishwasher", "kettle", "toaster",
    "coffee machine", "blender", "mixer", "rice cooker", "sink", "tap", "trash can", "recycling bin",
    "mug", "cup", "glass", "wine glass", "bowl", "plate", "saucer", "pot", "pan", "frying pan", "teapot",
    "jug", "jar", "bottle", "can", "tin", "spoon", "fork", "knife", "chopsticks", "cutting board",
    "kitchen roll", "dish rack", "lunch box", "thermos", "tray", "cereal box",
    # food
    "apple", "banana", "orange", "pear", "lemon", "grapes", "bread", "cake", "cookie", "egg", "cheese",
    "tomato", "carrot", "potato", "onion", "milk carton", "juice box", "snack",
    # bathroom and laundry
    "toilet", "bathtub", "shower", "washbasin", "soap", "soap bottle", "shampoo", "toothbrush",
    "toothpaste", "toothbrush cup", "hair dryer", "razor", "comb", "hairbrush", "toilet paper",
    "bath mat", "laundry basket", "washing machine", "tumble dryer", "iron", "ironing board",
    "hanger", "bucket", "mop", "broom", "vacuum cleaner", "dustpan",
    # electronics
    "television", "monitor", "computer", "laptop", "tablet", "phone", "keyboard", "computer mouse",
    "printer", "speaker", "headphones", "remote control", "game console", "camera", "radio", "router",
    "charger", "cable", "power strip", "fan", "desk fan", "heater", "air conditioner", "light switch",
    # office and school
    "book", "notebook", "magazine", "newspaper", "paper", "folder", "envelope", "pen", "pencil",
    "marker", "scissors", "stapler", "hole punch", "tape", "calculator", "ruler", "eraser", "backpack",
    "briefcase", "whiteboard", "calendar",
    # clothes and carried things
    "shoe", "boot", "slipper", "sock", "shirt", "jacket", "coat", "hat", "scarf", "glove", "dress",
    "trousers", "handbag", "wallet", "purse", "suitcase", "umbrella", "watch", "glasses", "keys",
    "jewellery box", "bag",
    # toys, sport and leisure
    "toy", "teddy bear", "doll", "stuffed animal", "toy car", "building blocks", "lego", "puzzle",
    "board game", "dice", "playing cards", "ball", "basketball", "football", "tennis ball", "baseball",
    "tennis racket", "skateboard", "bicycle", "helmet", "yoga mat", "dumbbell", "guitar", "piano",
    "violin", "drum", "rubber duck", "kite", "balloon",
    # garden, tools and other household things
    "watering can", "flower pot", "garden hose", "shovel", "toolbox", "hammer", "screwdriver", "drill",
    "ladder", "step stool", "fire extinguisher", "smoke detector", "first aid kit", "candle holder",
    "photo album", "pet bed", "dog", "cat", "bird cage", "aquarium", "door", "window", "stairs", "radiator",
)
"""Everyday names of indoor things (see the module notes); lower case, no duplicates."""
