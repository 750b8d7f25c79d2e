"""The portal's public search: one box over everything the portal discloses (issue 14).

The portal channel writes a search index (an SQLite FTS5 file inside the portal's
directory, `.search/index.sqlite3`) in the same run that writes the pages, from the same
views, so the search can only find what the portal shows: procedures in force, live
articles, documents, decisions and published answers, never a draft or a withdrawn answer.
A separate process (`notifier.search.app`, the `search` service) opens the file read-only
and answers the public; public reads never touch the owners, the notifier's database or
its workers (issue 15).

domain: the query, ranking and highlighting rules (no framework); index: the file, its
writer and its reader; documents: a disclosed view -> a search document; app/routes: the
page and the JSON API.
"""
