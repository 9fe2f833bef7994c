"""Package discovery for setuptools (the rest of the metadata is in pyproject.toml).

The shop's knowledge lives in `knowledge/` in a checkout and ships as the package
`yessindo_knowledge`: pyproject.toml cannot find packages under a renamed folder, so
they are found here. Every data folder is a (namespace) package, so setuptools packs
its files without warnings.
"""
from setuptools import find_namespace_packages, setup

_SKIP = ["*__pycache__*", "*.egg-info*"]
code = find_namespace_packages(include=["bot", "bot.*", "handoff", "handoff.*"], exclude=_SKIP)
knowledge = ["yessindo_knowledge"] + [f"yessindo_knowledge.{p}" for p in
                                      find_namespace_packages("knowledge", exclude=_SKIP)]

setup(packages=code + knowledge, package_dir={"yessindo_knowledge": "knowledge"})
