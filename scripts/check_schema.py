"""Checks YAML files against segc's JSON Schema with an independent validator.

Usage: python check_schema.py SCHEMA.json FILE.yml...
Prints each file with `valid` or its problems; exits 1 when any file is invalid.
Needs the PyPI packages jsonschema and PyYAML (scripts/test.sh installs them).
"""
import json
import re
import sys

import jsonschema
import yaml


class Loader(yaml.SafeLoader):
    """YAML read as segc reads it (YAML 1.2): dates stay strings, and only true and false
    are booleans (PyYAML's YAML 1.1 would read `yes`, `no`, `on` and `off` as booleans too)."""


Loader.yaml_implicit_resolvers = {
    first: [
        (tag, pattern)
        for tag, pattern in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def main(arguments):
    if len(arguments) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(arguments[0], encoding="utf-8") as file:
        schema = json.load(file)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    failed = False
    for path in arguments[1:]:
        with open(path, encoding="utf-8") as file:
            document = yaml.load(file, Loader=Loader)
        # The root is an anyOf (project file or definitions file): report the branch that
        # fits best, so a typo is named.
        error = jsonschema.exceptions.best_match(validator.iter_errors(document))
        if error is None:
            print(f"{path}: valid")
            continue
        failed = True
        print(f"{path}: invalid")
        # An anyOf's own message quotes the whole document: show its branches' instead.
        for problem in (error.context or [error])[:8]:
            where = "/".join(str(part) for part in problem.absolute_path) or "(root)"
            message = problem.message if len(problem.message) < 300 else problem.message[:300] + "…"
            print(f"  {where}: {message}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
