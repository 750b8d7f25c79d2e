"""View models: what the public pages and e-mails show of each subject, computed from the
read model at render time (not HTTP views; the API's routes are in notifier/routes.py)."""
