"""Adapters of the moderation service: morphology, the rules file, its own decisions store,
and the campaign service's command subject."""
