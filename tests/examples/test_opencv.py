"""Pachyderm's opencv example (examples/opencv, the beginner tutorial): `edges` runs edges.py,
which opens /pfs/images and writes /pfs/out with cv2 and matplotlib, and `montage` runs
ImageMagick over `find -L /pfs/images /pfs/edges`. The specs and edges.py are the example's, byte
for byte; `/edges.py`, which the image pachyderm/opencv:1.0 holds, is mapped to the local copy."""

import io

import numpy as np
import pytest
from PIL import Image

IMAGES = "pachyderm/opencv:1.0:\n  /edges.py: edges.py\n"
SKY_BLUE = (135, 206, 235)  # montage -background SkyBlue


def picture(kind: str, size: tuple[int, int]) -> bytes:
    """A picture with one sharp shape: a filled rectangle (PNG) or disc (JPEG)."""
    w, h = size
    a = np.zeros((h, w, 3), np.uint8)
    buf = io.BytesIO()
    if kind == "png":
        a[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = (255, 200, 0)
        Image.fromarray(a).save(buf, "PNG")
    else:
        y, x = np.ogrid[:h, :w]
        a[(y - h // 2) ** 2 + (x - w // 2) ** 2 < (min(w, h) // 3) ** 2] = (0, 128, 255)
        Image.fromarray(a).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def png(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    assert im.format == "PNG"
    im.load()
    return im


@pytest.fixture
def images(cli, example, opencv):
    root = example("opencv")
    (root / "pachlite-images.yaml").write_text(IMAGES)
    (root / "square.png").write_bytes(picture("png", (160, 120)))
    (root / "disc.jpg").write_bytes(picture("jpg", (90, 90)))
    cli("create", "repo", "images")
    cli("put", "file", "images@master:/square.png", "-f", "square.png")
    cli("put", "file", "images@master:/disc.jpg", "-f", "disc.jpg")
    return root


def test_edges_runs_the_examples_code_unchanged(cli, images):
    out = cli.out("create", "pipeline", "-f", "edges.pipeline.json")
    assert "edges: job" in out and "success: 2 + 0 / 2" in out
    assert cli.out("list", "file", "edges@master").split()[3::3] == ["/disc.png", "/square.png"]
    # One edge map per image, named as edges.py names it, the input's size; white only on the
    # shape's border (Canny), black inside and around it.
    square = png(_get(cli, "edges@master:/square.png"))
    assert square.size == (160, 120)
    gray = np.asarray(square.convert("L"))
    edge = gray > 128
    assert edge[30, 40:120].any() and edge[60, 38:42].any()  # the rectangle's top and left sides
    assert not edge[45:75, 50:110].any() and not edge[:20].any()  # inside it, and above it
    disc = png(_get(cli, "edges@master:/disc.png"))
    assert disc.size == (90, 90)
    ring = np.asarray(disc.convert("L")) > 128
    assert ring[45, 10:20].any() and not ring[40:50, 40:50].any()


def test_changed_image_code_reprocesses_and_a_new_image_is_one_datum(cli, images):
    cli("create", "pipeline", "-f", "edges.pipeline.json")
    # A new picture: one new datum; the other two are skipped.
    (images / "wide.png").write_bytes(picture("png", (200, 80)))
    cli("put", "file", "images@master:/wide.png", "-f", "wide.png")
    assert "success: 1 + 2 / 3" in cli.out("run")
    assert png(_get(cli, "edges@master:/wide.png")).size == (200, 80)
    # The local copy of the image's /edges.py is its code: a change is a new image, every datum
    # runs again (as update pipeline --reprocess with a new image on a cluster).
    with open(images / "edges.py", "a") as f:
        f.write("# a new version of the image\n")
    assert "success: 3 + 0 / 3" in cli.out("run")


def test_montage_of_images_and_edges(cli, images, montage):
    cli("create", "pipeline", "-f", "edges.pipeline.json")
    assert "montage: job" in cli.out("create", "pipeline", "-f", "montage.pipeline.json")
    assert cli.out("list", "file", "montage@master").split()[3::3] == ["/montage.png"]
    m = png(_get(cli, "montage@master:/montage.png"))
    # Four tiles of up to 300x300 (-geometry 300x300+2+2), two by two, on SkyBlue.
    w, h = m.size
    assert 600 <= w < 700 and 600 <= h < 700, m.size
    pixels = np.asarray(m.convert("RGB"))
    assert (pixels == SKY_BLUE).all(axis=2).sum() > 1000
    # The pictures themselves are in it: the rectangle's colour and the disc's.
    assert (np.abs(pixels.astype(int) - (255, 200, 0)).sum(axis=2) < 30).sum() > 1000
    assert (np.abs(pixels.astype(int) - (0, 128, 255)).sum(axis=2) < 30).sum() > 1000
    # A new picture: a new edges datum, and a new montage of all six.
    (images / "wide.png").write_bytes(picture("png", (200, 80)))
    cli("put", "file", "images@master:/wide.png", "-f", "wide.png")
    out = cli.out("run")
    assert "edges: job" in out and "montage: job" in out
    assert png(_get(cli, "montage@master:/montage.png")).size != m.size


def _get(cli, address: str) -> bytes:
    """A file's bytes, through `pachlite get file -o`."""
    cli("get", "file", address, "-o", "got")
    data = (cli.root / "got").read_bytes()
    (cli.root / "got").unlink()
    return data
