"""Write a pachlite project's versioned results where bench.py's verify() reads them (untimed):
model@master:/model.json -> model/model.json, infer@master:/*.json -> out/.

Run in the project's folder with the clone's src/ on PYTHONPATH. The harness of issue 14 used
pachlite.address and pachlite.store.Store, gone since; this reads through pachlite.open().
"""

import os
import shutil

import pachlite

with pachlite.open() as pl:
    os.makedirs("model", exist_ok=True)
    with open("model/model.json", "wb") as f:
        f.write(pl.get_file("model@master:/model.json"))
    shutil.rmtree("out", ignore_errors=True)
    os.makedirs("out")
    for fi in pl.list_file("infer@master"):
        with open("out/" + fi.path.rsplit("/", 1)[-1], "wb") as f:
            f.write(pl.get_file("infer@master:" + fi.path))
