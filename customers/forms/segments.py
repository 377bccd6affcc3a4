"""Segment forms: name/description/type (a versioned ModelForm) and the rule builder.

The rule builder is rendered by the server, one row per rule, with inputs named after the row's
place in the tree: the root group is "r", its children "r.0", "r.1", their children "r.1.0"...

    r-op=and  r.0-field=status  r.0-operator=is  r.0-value=active
    r.1-op=or r.1.0-field=city  r.1.0-operator=contains  r.1.0-value=Shanghai

`RuleBuilder(data)` turns the POSTed inputs back into a tree (keeping what the user typed, even
when it is not valid yet), applies a button's action ("add-rule:r.1", "add-group:r",
"remove:r.1.0") and describes the rows for the template. The tree is validated by
customers.segments.validate_rules when saved or previewed.
"""

from __future__ import annotations

import re

from django import forms

from crm.forms import VersionedModelForm
from customers.models import Segment
from customers.segments import (
    BOOLEAN,
    CHOICE,
    DATE,
    DAYS_VALUE,
    LIST_VALUE,
    MAX_DEPTH,
    MAX_RULES,
    NO_VALUE,
    NUMBER,
    OPERATOR_LABELS,
    PAIR_VALUE,
    TAGS,
    field_specs,
)

_NAME = re.compile(r"^(r(?:\.\d{1,3}){0,4})-(op|field|operator|value|value2)$")


class SegmentForm(VersionedModelForm):
    class Meta:
        model = Segment
        fields = ["name", "description", "kind"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "kind": forms.RadioSelect,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The type is chosen once: a static list's members and a rule set don't convert.
            self.fields["kind"].disabled = True
        if not self.instance.pk:
            del self.fields["version"]


def _sort_key(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in path.split(".")[1:])


class RuleBuilder:
    def __init__(self, data=None, *, tree: dict | None = None):
        self.specs = field_specs()
        self._choices: dict[str, list[tuple[str, str]]] = {}
        self._by_name: dict[str, dict] = {}
        if data is not None:
            self.tree = self._parse(data)
        else:
            self.tree = self._from_stored(tree or {"op": "and", "rules": []})
        self._normalise(self.tree)

    # --- reading the form -------------------------------------------------------------------
    def _parse(self, data) -> dict:
        raw: dict[str, dict] = {}
        for key in data:
            match = _NAME.match(key)
            if match:
                path, attr = match.groups()
                values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
                raw.setdefault(path, {})[attr] = values
        root = {"op": "and", "rules": []}
        nodes: dict[str, dict] = {"r": root}
        if "r" in raw and raw["r"].get("op"):
            root["op"] = raw["r"]["op"][0]
        for path in sorted(raw, key=_sort_key):
            if path == "r":
                continue
            attrs = raw[path]
            parent = nodes.get(path.rsplit(".", 1)[0])
            if parent is None or "rules" not in parent:
                continue  # an orphan (its group is gone): dropped
            if "op" in attrs:
                node = {"op": attrs["op"][0], "rules": []}
            elif "field" in attrs:
                operator = (attrs.get("operator") or [""])[0]
                values = [v for v in attrs.get("value", []) if v != ""]
                if operator in LIST_VALUE:
                    value = values
                elif operator in PAIR_VALUE:
                    value = [(attrs.get("value") or [""])[0], (attrs.get("value2") or [""])[0]]
                elif operator in NO_VALUE:
                    value = None
                else:
                    value = (attrs.get("value") or [""])[0]
                node = {"field": attrs["field"][0], "operator": operator, "value": value}
            else:
                continue
            parent["rules"].append(node)
            nodes[path] = node
        self._by_name = nodes
        return root

    def _from_stored(self, tree) -> dict:
        def copy(node):
            if isinstance(node, dict) and "rules" in node:
                return {"op": node.get("op", "and"),
                        "rules": [copy(c) for c in node.get("rules") or []]}
            return dict(node) if isinstance(node, dict) else {"field": "", "operator": "",
                                                              "value": None}
        tree = copy(tree if isinstance(tree, dict) else {})
        if "rules" not in tree:
            tree = {"op": "and", "rules": []}
        self._index(tree, "r")
        return tree

    def _index(self, node, path):
        self._by_name[path] = node
        for i, child in enumerate(node.get("rules") or []):
            if "rules" in child:
                self._index(child, f"{path}.{i}")
            else:
                self._by_name[f"{path}.{i}"] = child

    def _normalise(self, node) -> None:
        """A field whose operator doesn't fit (the field was just changed) gets its first."""
        for child in node.get("rules", []):
            if "rules" in child:
                self._normalise(child)
                continue
            spec = self.specs.get(child.get("field"))
            if spec is None:
                continue
            if child.get("operator") not in spec.operators:
                child["operator"] = spec.operators[0]
                child["value"] = None
            # Keep the value's shape in step with the operator.
            value = child.get("value")
            operator = child["operator"]
            if operator in LIST_VALUE and not isinstance(value, list):
                child["value"] = [value] if value not in (None, "") else []
            elif operator in PAIR_VALUE and not (isinstance(value, list) and len(value) == 2):
                child["value"] = ["", ""]
            elif operator not in LIST_VALUE | PAIR_VALUE and isinstance(value, list):
                child["value"] = value[0] if value else ""

    # --- buttons ----------------------------------------------------------------------------
    def apply(self, action: str) -> None:
        """Add a rule or a group to a group, or remove a row; unknown actions do nothing."""
        verb, _sep, path = (action or "").partition(":")
        node = self._by_name.get(path)
        if node is None:
            return
        if verb == "remove" and path != "r":
            parent = self._by_name.get(path.rsplit(".", 1)[0])
            if parent is not None:
                parent["rules"] = [c for c in parent["rules"] if c is not node]
        elif verb in ("add-rule", "add-group") and "rules" in node:
            if self.rule_count() >= MAX_RULES:
                return
            new_rule = {"field": "", "operator": "", "value": None}
            if verb == "add-rule":
                node["rules"].append(new_rule)
            elif path.count(".") + 2 <= MAX_DEPTH:
                node["rules"].append({"op": "and", "rules": [new_rule]})

    def rule_count(self) -> int:
        def count(node):
            return sum(count(c) if "rules" in c else 1 for c in node.get("rules", []))
        return count(self.tree)

    # --- for the template -------------------------------------------------------------------
    def field_groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        groups: dict[str, list[tuple[str, str]]] = {}
        for key, spec in self.specs.items():
            groups.setdefault(str(spec.group), []).append((key, str(spec.label)))
        return list(groups.items())

    def _choices_for(self, spec) -> list[tuple[str, str]]:
        if spec.key not in self._choices:
            self._choices[spec.key] = [(str(k), str(v)) for k, v in spec.choices()]
        return self._choices[spec.key]

    def root(self) -> dict:
        return self._group(self.tree, "r", 1)

    def _group(self, node, path, depth) -> dict:
        rows = []
        for i, child in enumerate(node.get("rules", [])):
            child_path = f"{path}.{i}"
            if "rules" in child:
                rows.append(self._group(child, child_path, depth + 1))
            else:
                rows.append(self._rule(child, child_path))
        return {
            "is_group": True, "path": path, "id": path.replace(".", "-"), "op": node.get("op"),
            "rows": rows, "depth": depth, "can_nest": depth < MAX_DEPTH,
            "is_root": depth == 1,
        }

    def _rule(self, node, path) -> dict:
        spec = self.specs.get(node.get("field"))
        operator = node.get("operator") or ""
        value = node.get("value")
        row = {
            "is_group": False, "path": path, "id": path.replace(".", "-"),
            "field": node.get("field") or "", "operator": operator, "operators": [],
            "widget": "none", "value": "", "value2": "", "values": [], "choices": [],
            "unknown_field": bool(node.get("field")) and spec is None,
        }
        if spec is None:
            return row
        row["operators"] = [(op, str(OPERATOR_LABELS[op])) for op in spec.operators]
        if operator in NO_VALUE:
            widget = "none"
        elif operator in DAYS_VALUE:
            widget = "days"
        elif operator in LIST_VALUE:
            widget = "multi"
        elif spec.type in (CHOICE, TAGS):
            widget = "select"
        elif operator in PAIR_VALUE:
            widget = "date-pair" if spec.type == DATE else "number-pair"
        elif spec.type == DATE:
            widget = "date"
        elif spec.type == NUMBER:
            widget = "number"
        elif spec.type == BOOLEAN:
            widget = "none"
        else:
            widget = "text"
        row["widget"] = widget
        if widget in ("select", "multi"):
            row["choices"] = self._choices_for(spec) if spec.choices else []
        if isinstance(value, list):
            row["values"] = [str(v) for v in value]
            if operator in PAIR_VALUE and len(value) == 2:
                row["value"], row["value2"] = str(value[0]), str(value[1])
        elif value is not None:
            row["value"] = str(value)
        return row
