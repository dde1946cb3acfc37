"""The gateway's pure rules: keys, rate limits, request validation, list filters."""
