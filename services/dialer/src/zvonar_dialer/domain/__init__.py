"""The dialer's pure model: clock, pacing, campaign state, smart parts, caller numbers."""
