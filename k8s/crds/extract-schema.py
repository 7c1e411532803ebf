"""Writes one CRD version's openAPIV3Schema, descriptions dropped, as a vendored schema file
for k8s/validate.py (the layout of k6.io_testruns-v1alpha1-schema.yaml).

Usage: extract-schema.py CRD.yaml VERSION SOURCE_URL HEADER_COMMENT_FILE > OUT.yaml

HEADER_COMMENT_FILE holds the provenance lines (written as `# ` comments on top).
"""

import sys

import yaml


def without_descriptions(node):
    if isinstance(node, dict):
        # "description" is a field name inside `properties`, so only drop it as a keyword.
        out = {}
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                continue
            if key == "properties":
                out[key] = {name: without_descriptions(prop) for name, prop in value.items()}
            else:
                out[key] = without_descriptions(value)
        return out
    if isinstance(node, list):
        return [without_descriptions(item) for item in node]
    return node


def main(crd_path, version, source, header_path):
    with open(crd_path) as fh:
        crd = yaml.safe_load(fh)
    spec = crd["spec"]
    schema = next(v for v in spec["versions"] if v["name"] == version)["schema"]["openAPIV3Schema"]
    with open(header_path) as fh:
        for line in fh.read().splitlines():
            print(f"# {line}".rstrip())
    doc = {
        "group": spec["group"],
        "version": version,
        "kind": spec["names"]["kind"],
        "source": source,
        "openAPIV3Schema": without_descriptions(schema),
    }
    sys.stdout.write(yaml.safe_dump(doc, sort_keys=False, width=100))


if __name__ == "__main__":
    main(*sys.argv[1:])
