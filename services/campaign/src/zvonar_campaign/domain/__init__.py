"""The campaign service's pure model: the Campaign and StopList aggregates, their allowed
moves, their identities and the mapping of their events onto the wire."""
