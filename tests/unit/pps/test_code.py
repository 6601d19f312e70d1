"""A pipeline's code: the files its command runs and the project modules they import, hashed."""

from pathlib import Path

import pytest

from pachlite.errors import InvalidInput
from pachlite.pps import code


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def spec(cmd=None, stdin=None, declared=None) -> dict:
    s = {"pipeline": {"name": "p"}, "transform": {"cmd": cmd or ["sh"], **({"stdin": stdin} if stdin else {})}}
    if declared is not None:
        s["metadata"] = {"annotations": {code.DECLARED: declared}}
    return s


PROJECT = {
    "scripts/train.py": "import json\nimport numpy as np\nfrom lib import stage\nfrom lib.data import X\n",
    "scripts/lib/__init__.py": "",
    "scripts/lib/stage.py": "from . import util\n",
    "scripts/lib/util.py": "import os\n",
    "scripts/lib/data.py": "from lib.stage import run\n",
    "scripts/lib/unused.py": "",
    "scripts/other.py": "",
    "top.py": "",
}


def test_the_script_a_command_runs_and_the_project_modules_it_imports(tmp_path):
    write(tmp_path, PROJECT)
    found = code.files(spec(["python3", "scripts/train.py", "--in", "/pfs/in/x.csv"]), tmp_path)
    # Beside the script (sys.path[0]), relative imports too; not numpy, json, or unused modules.
    assert found == ["scripts/lib/__init__.py", "scripts/lib/data.py", "scripts/lib/stage.py",
                     "scripts/lib/util.py", "scripts/train.py"]


def test_stdin_words_sh_c_scripts_and_python_dash_m_name_code_too(tmp_path):
    write(tmp_path, PROJECT)
    found = code.files(spec(["bash"], stdin=["python3 -m scripts.other --out /pfs/out",
                                             "sh top.py 'unclosed"]), tmp_path)
    assert found == ["scripts/other.py", "top.py"]
    assert code.files(spec(["sh", "-c", "cd . && python3 top.py /pfs/in"]), tmp_path) == ["top.py"]


def test_words_outside_the_folder_or_naming_no_file_are_not_code(tmp_path):
    (tmp_path / "work").mkdir()
    write(tmp_path, {"outside.py": "", "work/dir/inner.py": ""})
    assert code.files(spec(["python3", "../outside.py", "dir", "/etc/passwd", "-c"]),
                      tmp_path / "work") == []
    assert code.stamp(spec(["python3", "../outside.py"]), tmp_path / "work") == ""


def test_declared_files_folders_and_globs_are_code(tmp_path):
    write(tmp_path, {**PROJECT, "model/weights.bin": "w", "model/__pycache__/x.pyc": "c",
                     "conf/a.yaml": "", "conf/b.yaml": ""})
    found = code.files(spec(["./run.sh"], declared="model, conf/*.yaml top.py"), tmp_path)
    assert found == ["conf/a.yaml", "conf/b.yaml", "model/weights.bin", "top.py"]


def test_a_declared_path_that_is_not_there_is_one_line_naming_it(tmp_path):
    with pytest.raises(InvalidInput, match=r"pachlite.io/code names scripts/gone.py"):
        code.files(spec(declared="scripts/gone.py"), tmp_path)


def test_the_hash_changes_with_any_code_file_and_only_with_them(tmp_path):
    write(tmp_path, PROJECT)
    s = spec(["python3", "scripts/train.py"])
    first = code.stamp(s, tmp_path)
    (tmp_path / "scripts/other.py").write_text("changed, but not imported")
    assert code.stamp(s, tmp_path) == first
    (tmp_path / "scripts/lib/util.py").write_text("import os  # edited\n")
    assert code.stamp(s, tmp_path) not in ("", first)


def test_the_hash_is_recorded_as_an_annotation_pachd_accepts(tmp_path):
    s = spec(declared="x")
    stamped = code.stamped(s, "abc")
    assert code.recorded(stamped) == "abc" and code.recorded(s) == ""
    assert stamped["metadata"]["annotations"] == {code.DECLARED: "x", code.HASH: "abc"}
    assert code.stamped(s, "") is s
