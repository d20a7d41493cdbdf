"""A resident's own activity: the items they sent, support, pledged to, commented on, judged or follow,
and what changed on each since their last visit (the "my activity" page)."""
