"""The staff workspace: what waits on each person (the to-do), an item's next step, similar items."""
