# One rule per input repo (REPOS: repo → the local files and folders it mirrors): `put file
# --sync` makes a commit only when the content changed, and writes the repo's head marker. A
# folder's input is one marker of its listing (snake.sources), not each of its files.


def ingest_rule(repo, paths):
    # A function, not the loop's body: Snakemake evaluates `shell:` when the job runs.
    sources = " ".join(f"-f {shlex.quote(p)}" for p in paths).replace("{", "{{").replace("}", "}}")
    rule:
        name:
            f"ingest_{repo}"
        input:
            snake.sources(repo, paths),
        output:
            snake.head(repo),
        shell:
            f"pachlite put file {repo}@master:/ -r {sources} --sync --head-file {{output:q}}"


for repo, paths in REPOS.items():
    ingest_rule(repo, paths)
