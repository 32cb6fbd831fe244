#!/usr/bin/env python3
"""largest_map.py OUT.json — the largest valid map (MAP_MAX_PEOPLE 100 people × MAP_MAX_LOCATIONS
1,000 places each, src/map/map.h), the same places as tests/limits/test_limits.c's big_definition:
legs criss-cross the whole world, the worst case for stroking paths and placing labels."""
import json
import math
import sys

people = []
for p in range(100):
    locs = []
    for k in range(1000):
        lon = -179.0 + math.fmod(k * 7.31 + p * 3.7, 358.0)
        lat = -80.0 + math.fmod(k * 3.17 + p * 1.3, 160.0)
        locs.append({"longitude": round(lon * 1000) / 1000, "latitude": round(lat * 1000) / 1000})
    people.append({"id": f"p{p}", "name": f"Person {p}", "locations": locs})
with open(sys.argv[1], "w") as f:
    json.dump({"title": "Biggest", "people": people}, f, separators=(",", ":"))
