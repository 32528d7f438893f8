"""`escalate serve`: the connector as a long-lived service.

    webhooks ─► verify ─► hints (debounced, deduplicated, bounded) ─┐
    every `interval` ─► tick ──────────────────────────────────────┼─► scheduler ─► Cycle
    every `run.full_sweep` ─► full sweep ──────────────────────────┘  (up to `run.jobs` instances
                                                                      at once, one cycle each)

Modules: `settings` (the config's `serve:` section), `cycle` (the seam a cycle runs through),
`hints` (the queue webhooks fill), `scheduler` (what runs when, on an injected clock),
`signatures` (Zendesk and Jira webhook signatures), `jwts` (the JWT of a Jira Cloud app's
webhooks: Connect or OAuth 2.0), `app` (the Starlette routes: webhooks,
/metrics, /healthz, /readyz), `service` (uvicorn, signals and the threads), `command` (the CLI).
"""
