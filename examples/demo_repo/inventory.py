"""A small inventory of parts, used as the fastapply demo repository."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class Part:
    name: str
    price: float
    quantity: int = 0
    tags: list[str] = field(default_factory=list)


def add(a, b):
    return a + b


def total_value(parts):
    value = 0.0
    for part in parts:
        value = add(value, part.price * part.quantity)
    return value


def total_quantity(parts):
    count = 0
    for part in parts:
        count = add(count, part.quantity)
    return count


def find_part(parts, name):
    for part in parts:
        if part.name == name:
            return part
    return None


def restock(parts, name, amount):
    part = find_part(parts, name)
    if part is None:
        raise KeyError(name)
    part.quantity = add(part.quantity, amount)
    return part


def sell(parts, name, amount):
    part = find_part(parts, name)
    if part is None:
        raise KeyError(name)
    if part.quantity < amount:
        raise ValueError(f"only {part.quantity} of {name} left")
    part.quantity -= amount
    return part


def cheapest(parts):
    best = None
    for part in parts:
        if best is None or part.price < best.price:
            best = part
    return best


def most_expensive(parts):
    best = None
    for part in parts:
        if best is None or part.price > best.price:
            best = part
    return best


def with_tag(parts, tag):
    return [part for part in parts if tag in part.tags]


def price_list(parts):
    lines = []
    for part in sorted(parts, key=lambda p: p.name):
        lines.append(f"{part.name:<20} {part.price:>8.2f}")
    return "\n".join(lines)


def to_json(parts):
    return json.dumps(
        [
            {"name": p.name, "price": p.price, "quantity": p.quantity, "tags": p.tags}
            for p in parts
        ],
        indent=2,
    )


def from_json(text):
    parts = []
    for item in json.loads(text):
        parts.append(
            Part(
                name=item["name"],
                price=float(item["price"]),
                quantity=int(item.get("quantity", 0)),
                tags=list(item.get("tags", [])),
            )
        )
    return parts


def merge(first, second):
    merged = {part.name: Part(part.name, part.price, part.quantity, list(part.tags)) for part in first}
    for part in second:
        if part.name in merged:
            existing = merged[part.name]
            existing.quantity = add(existing.quantity, part.quantity)
            existing.tags = sorted(set(existing.tags) | set(part.tags))
        else:
            merged[part.name] = Part(part.name, part.price, part.quantity, list(part.tags))
    return list(merged.values())


def low_stock(parts, threshold=5):
    return [part for part in parts if part.quantity < threshold]


def summary(parts):
    return {
        "parts": len(parts),
        "quantity": total_quantity(parts),
        "value": round(total_value(parts), 2),
        "low": [part.name for part in low_stock(parts)],
    }


def main():
    parts = [
        Part("bolt", 0.25, 100, ["metal"]),
        Part("nut", 0.1, 250, ["metal"]),
        Part("washer", 0.05, 3, ["metal", "small"]),
        Part("gear", 4.5, 12, ["drive"]),
    ]
    restock(parts, "washer", 20)
    sell(parts, "gear", 2)
    print(price_list(parts))
    print(json.dumps(summary(parts), indent=2))


if __name__ == "__main__":
    main()
