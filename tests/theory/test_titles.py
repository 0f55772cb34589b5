"""Titles given to ``register(name, title=...)`` list the derivations without deriving them, and match the
titles the derivations carry."""
from ptft import theory
from ptft.theory.derivation import titles


def test_every_derivation_has_a_registered_title_equal_to_its_own():
    listed = titles()
    assert list(listed) == theory.names()
    for name, title in listed.items():
        assert title, f"{name}: registered without title="
        assert theory.get(name).title == title, name
