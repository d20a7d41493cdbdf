"""Each template holds its own copy of the globals (civic.web.core._Environment): a global added after a
template was loaded (a module imported later) must still reach it."""

from civic.web.core import env


def test_a_global_added_after_a_template_was_loaded_reaches_it():
    before = env.get_template("base.html")
    assert "late_global_for_test" not in before.globals
    env.globals["late_global_for_test"] = "ok"
    try:
        after = env.get_template("base.html")
        assert after.globals["late_global_for_test"] == "ok"
        env.globals.update(another_late_global_for_test=2)
        assert env.get_template("base.html").globals["another_late_global_for_test"] == 2
        env.globals.setdefault("third_late_global_for_test", 3)
        assert env.get_template("base.html").globals["third_late_global_for_test"] == 3
    finally:
        for name in ("late_global_for_test", "another_late_global_for_test", "third_late_global_for_test"):
            env.globals.pop(name, None)
        env.cache.clear()
