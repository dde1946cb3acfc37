"""The moderation model: a rulebook of topics, word-form matching, and the verdict on a
campaign. Pure: stdlib, msgspec and contracts only; the morphology comes in as a function."""
