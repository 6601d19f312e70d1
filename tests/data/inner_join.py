"""Local stand-in for the transform of Pachyderm's inner-join example (examples/joins, 2.x).

A datum is one store file and one of its purchases, joined on the store ID. The purchase is
written under a folder named after the store's zip code, preceded by a line naming the store.
Paths come from the datum's environment (`stores`, `purchases`) and the output folder from the
command line, so the same program runs under /pfs in a worker and under a scratch root locally.
"""

import json
import os
import sys

out = sys.argv[1]
with open(os.environ["stores"]) as f:
    store = json.load(f)
purchase = os.environ["purchases"]
folder = os.path.join(out, store["address"]["zipcode"])
os.makedirs(folder, exist_ok=True)
with open(purchase) as src, open(os.path.join(folder, os.path.basename(purchase)), "w") as dst:
    dst.write(f"\nPurchase at store: {store['storeid']} - {store['name']} \n")
    dst.write(src.read())
print(f"{os.path.basename(purchase)} -> {store['address']['zipcode']}")
