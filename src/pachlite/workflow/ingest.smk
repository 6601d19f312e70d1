# One rule per input repo (REPOS: repo → the local files and folders it mirrors): `put file
# --sync` makes a commit only when the content changed, and writes the repo's head marker.

import os


def _ingested(paths):
    files = []
    for p in paths:
        files += ([os.path.join(d, f) for d, _, fs in os.walk(p) for f in fs] if os.path.isdir(p) else [p])
    return sorted(files)


def ingest_rule(repo, paths):
    # A function, not the loop's body: Snakemake evaluates `shell:` when the job runs.
    sources = " ".join(f"-f {shlex.quote(p)}" for p in paths).replace("{", "{{").replace("}", "}}")
    rule:
        name:
            f"ingest_{repo}"
        input:
            _ingested(paths),
        output:
            snake.head(repo),
        shell:
            f"pachlite put file {repo}@master:/ -r {sources} --sync --head-file {{output:q}}"


for repo, paths in REPOS.items():
    ingest_rule(repo, paths)
