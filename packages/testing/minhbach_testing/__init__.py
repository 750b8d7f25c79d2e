"""Minh Bạch's test tooling, installed for development only (requirements-dev.txt).

- `plugin`: the pytest plugin (`-p minhbach_testing.plugin`): real redis-server,
  PostgreSQL and service processes, free ports, and small helpers;
- `harness`: the whole system from the Procfile's command lines (tests/, bench/);
- `dvc_standin`: the stand-in receiver of the dvc channel's webhooks (`make up`, tests).

No service imports it: the images ship `minhbach_shared` without it.
"""
