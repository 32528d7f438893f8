"""Notices to chat, e-mail and on-call: the policy's notice intents (rules.notices) sent once
each, at the right hour, recorded in the state store (notify.outbox)."""
