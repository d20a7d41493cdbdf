"""The shared vocabulary: stages, outcomes, roles, actions, the facts a rule reads, and the typed inputs
every form is parsed into. A leaf: it imports no domain package, so every domain may import it."""
