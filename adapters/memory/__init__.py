"""The in-memory adapter and its platform (`store`): a small fake platform in plain Python that
passes the same contract suite as Zendesk and Jira. Not a platform users configure: tests and
services inject it through `connector.runner.Runtime`."""
