"""The sandbox city's services: real Philly311 service names, grouped by department.

The codes are the sandbox's own invention (no public code table exists for Philly311).
"""

# Attribute shorthand: (code, datatype, question, required, values or None)
YES_NO = [("yes", "Yes"), ("no", "No"), ("unknown", "Not sure")]

SERVICES = [
    # code, name, department, type, keywords, description, attributes
    ("SBX-SD", "Street Defect", "Streets Department", "realtime",
     "pothole, sinkhole, cave-in, road, street, hole",
     "Potholes, sinkholes and other defects in the roadway.",
     [("GAS", "singlevaluelist", "Is gas escaping?", True, YES_NO),
      ("WATER", "singlevaluelist", "Is water running?", True, YES_NO),
      ("STATEHWY", "singlevaluelist", "Is it on a state highway?", False, YES_NO),
      ("SIZE", "number", "About how wide is it, in inches?", False, None)]),
    ("SBX-SLO", "Street Light Outage", "Streets Department", "realtime",
     "streetlight, street light, light out, dark, lamp",
     "A street light that is out, flickering or on all day.",
     [("POLE", "string", "Pole number, if you can read it", False, None),
      ("PATTERN", "singlevaluelist", "What is wrong?", True,
       [("out", "Out"), ("flicker", "Flickering"), ("day", "On during the day")])]),
    ("SBX-ALO", "Alley Light Outage", "Streets Department", "realtime",
     "alley light, alley, dark", "An alley light that is out.", []),
    ("SBX-SP", "Street Paving", "Streets Department", "realtime",
     "paving, resurfacing, road", "A street in need of resurfacing.", []),
    ("SBX-MH", "Manhole Cover", "Streets Department", "realtime",
     "manhole, cover, missing cover", "A missing, loose or broken manhole cover.", []),
    ("SBX-LS", "Line Striping", "Streets Department", "realtime",
     "lines, crosswalk, striping, paint", "Faded lane lines or crosswalks.", []),
    ("SBX-SSR", "Stop Sign Repair", "Streets Department", "realtime",
     "stop sign, sign, knocked down", "A stop sign that is down, turned or missing.", []),
    ("SBX-TSE", "Traffic Signal Emergency", "Streets Department", "realtime",
     "traffic light, signal, red light", "A traffic signal that is dark or stuck.", []),
    ("SBX-TCR", "Traffic Calming Request", "Streets Department", "batch",
     "speeding, speed bump, speed hump, cars too fast",
     "Ask for speed cushions or other calming; reviewed in batches.",
     [("WHEN", "datetime", "When is speeding worst?", False, None)]),
    ("SBX-SALT", "Salting", "Streets Department", "realtime",
     "ice, snow, salt, slippery", "An icy street that needs salt.", []),
    ("SBX-RUB", "Rubbish/Recyclable Material Collection", "Sanitation", "realtime",
     "trash, rubbish, recycling, missed pickup, garbage",
     "Trash or recycling that was not collected.",
     [("ONTIME", "singlevaluelist", "Was it set out on time?", True, YES_NO),
      ("WHERE", "singlevaluelist", "Where was it set out?", True,
       [("curb", "Curb"), ("alley", "Alley"), ("rear", "Rear of property")])]),
    ("SBX-DUMP", "Illegal Dumping", "Sanitation", "realtime",
     "dumping, dumped, trash pile, debris, tires, mattress, junk",
     "Material dumped on public or private property.",
     [("WHAT", "multivaluelist", "What was dumped?", True,
       [("tires", "Tires"), ("furniture", "Furniture or mattresses"),
        ("construction", "Construction debris"), ("bags", "Bags of trash"),
        ("other", "Other")]),
      ("DETAILS", "text", "Anything else the crew should know?", False, None)]),
    ("SBX-DV", "Sanitation / Dumpster Violation", "Sanitation", "realtime",
     "dumpster, overflowing", "An overflowing or uncovered dumpster.", []),
    ("SBX-DA", "Dead Animal in Street", "Sanitation", "realtime",
     "dead animal, carcass, roadkill", "A dead animal on the street or sidewalk.", []),
    ("SBX-BIKE", "Abandoned Bike", "Sanitation", "realtime",
     "bike, bicycle, abandoned bike", "A bicycle left locked and stripped.", []),
    ("SBX-GR", "Graffiti Removal", "Community Life Improvement Program", "realtime",
     "graffiti, tag, spray paint, vandalism", "Graffiti on a wall, door or sign.",
     [("RAIL", "singlevaluelist", "Is it on a rail corridor?", True, YES_NO),
      ("FLOOR", "singlevaluelist", "Which floor is it on?", False,
       [("1", "First floor"), ("2", "Second floor"), ("3", "Third floor or higher")])]),
    ("SBX-VLC", "Vacant Lot Clean-Up", "Community Life Improvement Program", "realtime",
     "vacant lot, overgrown, weeds, litter, empty lot",
     "A vacant lot full of weeds, litter or debris.", []),
    ("SBX-BD", "Building Dangerous", "Licenses and Inspections", "realtime",
     "collapse, dangerous building, falling", "A building that may collapse.", []),
    ("SBX-VH", "Vacant House or Commercial", "Licenses and Inspections", "realtime",
     "vacant house, abandoned house, open building", "An open or unsecured building.", []),
    ("SBX-MRC", "Maintenance Residential or Commercial", "Licenses and Inspections",
     "realtime", "property maintenance, broken window, roof",
     "A property in poor repair.", []),
    ("SBX-NH", "No Heat (Residential)", "Licenses and Inspections", "realtime",
     "no heat, cold, heater, landlord", "A rental home without heat.", []),
    ("SBX-DSW", "Dangerous Sidewalk", "Licenses and Inspections", "realtime",
     "sidewalk, trip, broken sidewalk", "A broken or heaved sidewalk.", []),
    ("SBX-INF", "Infestation Residential", "Licenses and Inspections", "realtime",
     "rats, mice, roaches, bedbugs, infestation", "Rodents or insects in a home.", []),
    ("SBX-AV", "Abandoned Vehicle", "Police Department", "batch",
     "abandoned car, vehicle, car, no plates",
     "A vehicle left on the street; reviewed in batches.",
     [("PLATE", "string", "License plate, if any", False, None),
      ("COLOR", "string", "Color and make", False, None)]),
    ("SBX-ST", "Street Trees", "Parks and Recreation", "realtime",
     "tree, branch, pruning, street tree", "A street tree that needs care.", []),
    ("SBX-TD", "Tree Dangerous", "Parks and Recreation", "realtime",
     "fallen tree, dangerous tree, hanging branch", "A tree or limb about to fall.", []),
    ("SBX-PRS", "Parks and Rec Safety and Maintenance", "Parks and Recreation",
     "realtime", "park, playground, rec center", "A problem in a park or rec center.", []),
    ("SBX-HYD", "Hydrant Request", "Water Department", "realtime",
     "hydrant, open hydrant, leaking hydrant", "A hydrant that is open or leaking.", []),
    ("SBX-INL", "Inlet Cleaning", "Water Department", "realtime",
     "inlet, storm drain, flooding, clogged drain", "A clogged storm drain inlet.", []),
    ("SBX-HE", "Homeless Encampment Request", "Office of Homeless Services", "realtime",
     "encampment, homeless, outreach", "Ask for outreach to people living outside.", []),
    ("SBX-IR", "Information Request", "Philly311", "realtime",
     "question, information, help", "A question for the city.",
     [("NOTE", "text", "Your question", True, None),
      ("INFO", "informational", "Answers come by email within two days.", False, None)]),
]  # fmt: skip

AGENCY = {
    "Streets Department": "Streets Department",
    "Sanitation": "Streets Department - Sanitation Division",
    "Community Life Improvement Program": "CLIP",
    "Licenses and Inspections": "Licenses and Inspections",
    "Police Department": "Police Department",
    "Parks and Recreation": "Parks and Recreation",
    "Water Department": "Water Department",
    "Office of Homeless Services": "Office of Homeless Services",
    "Philly311": "Philly311 Contact Center",
}

# The seeclickfix dialect's integer codes (SeeClickFix numbers its request types).
# Written out, not derived from list order, so a new service never renumbers others.
SEECLICKFIX_CODES = {
    "SBX-SD": 1001, "SBX-SLO": 1002, "SBX-ALO": 1003, "SBX-SP": 1004, "SBX-MH": 1005,
    "SBX-LS": 1006, "SBX-SSR": 1007, "SBX-TSE": 1008, "SBX-TCR": 1009, "SBX-SALT": 1010,
    "SBX-RUB": 1011, "SBX-DUMP": 1012, "SBX-DV": 1013, "SBX-DA": 1014, "SBX-BIKE": 1015,
    "SBX-GR": 1016, "SBX-VLC": 1017, "SBX-BD": 1018, "SBX-VH": 1019, "SBX-MRC": 1020,
    "SBX-NH": 1021, "SBX-DSW": 1022, "SBX-INF": 1023, "SBX-AV": 1024, "SBX-ST": 1025,
    "SBX-TD": 1026, "SBX-PRS": 1027, "SBX-HYD": 1028, "SBX-INL": 1029, "SBX-HE": 1030,
    "SBX-IR": 1031,
}  # fmt: skip

# The informational dialect (Boston): dependencies on optional attributes only, so
# what a POST must carry stays the same, and a notice closing every definition.
BOSTON_DEPENDENCIES = {
    ("SBX-GR", "FLOOR"): {"clause": "AND", "conditions": [
        {"attribute": "RAIL", "op": "eq", "value": "no"}]},
    ("SBX-DUMP", "DETAILS"): {"clause": "OR", "conditions": [
        {"attribute": "WHAT", "op": "eq", "value": "other"},
        {"attribute": "WHAT", "op": "eq", "value": "construction"}]},
}  # fmt: skip
BOSTON_NOTICE = {
    "variable": False, "code": "NOTICE", "datatype": "informational", "required": False,
    "datatype_description": None, "description": "Call 911 if anyone is in danger.",
    "values": [],
}  # fmt: skip


def by_code() -> dict[str, tuple]:
    return {entry[0]: entry for entry in SERVICES}
