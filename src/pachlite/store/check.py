"""fsck: every problem of a store — objects whose content does not match their hash, and rows
that name something missing (a file's content, a commit's parent or repo, a branch's head).

(The module is not named fsck.py: importing it would then make `pachlite.store.fsck` the module,
not this function.)
"""

from __future__ import annotations

import hashlib

from pachlite.store import objects
from pachlite.store.db import Store

# Each query lists the rows with one kind of dangling reference, one name per row.
_CHECKS = [
    ("SELECT DISTINCT f.hash FROM files f LEFT JOIN objects o ON o.hash=f.hash "
     "WHERE o.hash IS NULL", "file content {} is referenced but not stored"),
    ("SELECT DISTINCT f.commit_id FROM files f LEFT JOIN commits c ON c.id=f.commit_id "
     "WHERE c.id IS NULL", "files belong to missing commit {}"),
    ("SELECT c.id FROM commits c LEFT JOIN commits p ON p.id=c.parent "
     "WHERE c.parent IS NOT NULL AND p.id IS NULL", "commit {} has a missing parent"),
    ("SELECT b.repo || '@' || b.name FROM branches b LEFT JOIN commits c ON c.id=b.head "
     "WHERE b.head IS NOT NULL AND c.id IS NULL", "branch {} points at a missing commit"),
    ("SELECT c.id FROM commits c LEFT JOIN repos r ON r.name=c.repo WHERE r.name IS NULL",
     "commit {} belongs to a missing repo"),
    ("SELECT b.repo || '@' || b.name FROM branches b LEFT JOIN repos r ON r.name=b.repo "
     "WHERE r.name IS NULL", "branch {} belongs to a missing repo"),
    ("SELECT c.id FROM commits c JOIN commits p ON p.id=c.parent WHERE p.repo != c.repo",
     "commit {} has a parent in another repo"),
    ("SELECT p.commit_id || ' -> ' || p.prov_commit FROM provenance p "
     "LEFT JOIN commits c ON c.id=p.prov_commit WHERE c.id IS NULL",
     "provenance {} names a missing commit"),
    ("SELECT id FROM commits c WHERE finished IS NOT NULL AND size != "
     "(SELECT COALESCE(SUM(size),0) FROM files WHERE commit_id=c.id)",
     "commit {} size does not match its files"),
]


def fsck(store: Store) -> list[str]:
    """Every problem in the store: bad object hashes, dangling references. Empty means clean."""
    problems = [f"database: {r[0]}" for r in store.db.execute("PRAGMA quick_check")
                if r[0] != "ok"]
    for h, size, data in objects.scan(store):
        if data is not None:
            if objects.hash_bytes(data) != h or len(data) != size:
                problems.append(f"object {h}: stored content does not match its hash")
            continue
        p = store.object_path(h)
        if not p.exists():
            problems.append(f"object {h}: file {p} is missing")
            continue
        d, n = hashlib.sha256(), 0
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(objects.CHUNK), b""):
                d.update(chunk)
                n += len(chunk)
        if d.hexdigest() != h or n != size:
            problems.append(f"object {h}: file content does not match its hash")
    for sql, msg in _CHECKS:
        problems += [msg.format(name) for name, in store.db.execute(sql)]
    return problems
