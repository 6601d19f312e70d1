"""Datum batching: Pachyderm's own `pachyderm_sdk.batch_all_datums`, kept under its old name.

A `"datumBatching": true` pipeline starts its command once per worker; the decorated function
is called once per datum, which pachlite's worker serves through the same NextDatum endpoint and
/pfs/.env as pachd's (pps/executors/nextdatum.py). New code imports it from pachyderm_sdk, so
that the same file runs on a cluster:

    from pachyderm_sdk import batch_all_datums

    @batch_all_datums
    def main():
        for dirpath, _, names in os.walk("/pfs/attributes"): ...

    if __name__ == "__main__":
        load_model()   # paid once per worker, not once per datum
        main()
"""

from pachyderm_sdk import batch_all_datums

__all__ = ["batch_all_datums"]
