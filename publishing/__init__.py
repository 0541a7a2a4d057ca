"""Publishing: how a centre's change goes from `git push` to the site, in order.

1. Receive (`kb hooks pre-receive`, kb/publication.py): who pushes, which files, and the
   same validator as `kb check` on what the push changes; a refused push changes nothing.
2. Queue (queue.py): every request to publish — the post-receive hook, a forge's webhook
   (webapp/publishing/hooks.py), `kb sync` — is written to disk first, then worked by one
   publisher process at a time; nothing is lost when a process dies.
3. Publish (publisher.py): the commit's changed files are read from git objects, indexed
   into a new version of the index (indexer/), and the version is switched in whole.
4. Sources (sources.py): a regional or national instance gathers several repositories,
   each providing its own centre folders (`[[sources]]`); each is fetched into its own
   mirror and published on its own, and a version's content is read from each source's
   online commit (`CompositeSource`). `publish_source()` is the entry point for code that
   writes a repository of its own (harvesting).
5. Commands (commands.py): `kb hooks install|pre-receive|post-receive`, `kb sync`,
   `kb publication traiter|etat`.

A new step of the pipeline (harvesting another catalogue, several source repositories)
goes here, as a module named for what it does; it calls kb/ to validate and indexer/ to
index, and puts its requests in the same queue.
"""
