#!/usr/bin/env python3
"""largest_map.py OUT.json — the largest valid map: MAP_MAX_PEOPLE (100) people with as many
places each as MAP_MAX_DEFINITION_BYTES (1 MiB of compact JSON, src/map/map.h) holds, the same
places as tests/limits/test_limits.c's big_definition: legs criss-cross the whole world, the
worst case for stroking paths and placing labels. (100 x 1,000 places is ~4 MB: over the limit.)"""
import math
import sys

MAX_BYTES = 1024 * 1024


def definition(places):
    people = []
    for p in range(100):
        locs = []
        for k in range(places):
            lon = -179.0 + math.fmod(k * 7.31 + p * 3.7, 358.0)
            lat = -80.0 + math.fmod(k * 3.17 + p * 1.3, 160.0)
            # %.17g, as jansson prints a real: the validator measures the map as jansson writes it.
            locs.append('{"longitude":%.17g,"latitude":%.17g}' % (round(lon * 1000) / 1000, round(lat * 1000) / 1000))
        people.append('{"id":"p%d","name":"Person %d","locations":[%s]}' % (p, p, ",".join(locs)))
    return '{"title":"Biggest","people":[%s]}' % ",".join(people)


places = 1000
text = definition(places)
while len(text.encode()) > MAX_BYTES:
    places = int(places * MAX_BYTES / len(text.encode())) - 1
    text = definition(places)
with open(sys.argv[1], "w") as f:
    f.write(text)
print(f"largest map: 100 people x {places} places, {len(text.encode())} bytes", file=sys.stderr)
