"""The stats service's pure rules: how events turn into read-model figures."""
