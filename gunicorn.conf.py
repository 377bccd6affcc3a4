"""gunicorn settings. gunicorn reads ./gunicorn.conf.py from its working directory, so every
run of the web server in this project uses them: the Dockerfile, docker-compose.yml and
`make bench` (bench/run.py). Command-line flags (bind, workers, timeout) still come first.

Garbage collection: a page of the CRM allocates tens of thousands of short-lived objects. With
CPython's default thresholds (a collection every 700 net allocations) that means dozens of
collections per request, and every so often a full one that walks every object Django keeps
for the life of the process: measured on the customer list, about 5 ms of a 30 ms request
(docs/performance.md). So, once the app is loaded in the worker:
- the objects alive then (modules, models, URL patterns, settings) are frozen: the collector
  never walks them again;
- young objects are collected every 20,000 net allocations instead of 700. Memory held by
  cyclic garbage between collections grows by a few megabytes per worker at most; reference
  counting frees everything else at once, as before.
"""

import gc

GC_THRESHOLD = (20_000, 20, 20)


def post_worker_init(worker):  # noqa: ARG001 (gunicorn's hook signature)
    from django.urls import get_resolver

    # Load the URL patterns now (Django does it on the first request) so they are frozen too.
    get_resolver().url_patterns  # noqa: B018
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
