"""A tree of the repository's files as git lists them, with status badges and selection marks.

Built from ``fastapply.repo.RepoFile`` records. Binary and oversized files, and files whose name
is not UTF-8 (shown with ``\\xff`` escapes), are shown but cannot be selected. Pressing space
or enter on a file posts ``FileTree.Toggled``; the screen decides what selection means and calls ``set_selected`` back. The tree does not read files or know the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from fastapply.unicode import lone_surrogate, shown

BADGES: dict[str, tuple[str, str]] = {
    "modified": ("M", "bold yellow"),
    "staged": ("S", "bold green"),
    "new": ("N", "bold cyan"),
}


def unselectable(entry: Any) -> str | None:
    """Why a file cannot be rewritten (as the core would refuse it), or None."""
    if entry.binary:
        return "binary"
    if entry.too_large:
        return "too large"
    if lone_surrogate(entry.path) is not None:
        return "name not UTF-8"
    return None


def selectable(entry: Any) -> bool:
    return unselectable(entry) is None


def file_label(entry: Any, selected: bool) -> Text:
    name = shown(entry.path.rsplit("/", 1)[-1])
    label = Text(no_wrap=True)
    why = unselectable(entry)
    if why is not None:
        label.append("  ✗ ", style="dim")
        label.append(name, style="dim strike")
        label.append(f"  {why}", style="dim italic")
        return label
    label.append("  ✓ " if selected else "  · ", style="bold green" if selected else "dim")
    label.append(name, style="bold" if selected else "")
    badge = BADGES.get(entry.status)
    if badge is not None:
        label.append(f" {badge[0]}", style=badge[1])
    return label


class FileTree(Tree[Any]):
    """Directories fold; files carry their ``RepoFile`` as node data."""

    BINDINGS = [
        Binding("space", "toggle_file", "select", show=True),
    ]

    @dataclass(eq=False)
    class Toggled(Message):
        """The user asked to (un)select ``path``."""

        path: str

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("files", **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self._file_nodes: dict[str, TreeNode[Any]] = {}
        self._selected: set[str] = set()

    def load(self, entries: list[Any], selected: list[str]) -> None:
        """Rebuild the tree from ``entries`` (sorted repository files)."""
        self.clear()
        self._file_nodes.clear()
        self._selected = set(selected)
        dirs: dict[str, TreeNode[Any]] = {"": self.root}
        for entry in entries:
            parts = entry.path.split("/")
            parent = self.root
            for depth in range(1, len(parts)):
                key = "/".join(parts[:depth])
                if key not in dirs:
                    dirs[key] = parent.add(Text(shown(parts[depth - 1]) + "/", style="bold"), expand=True)
                parent = dirs[key]
            self._file_nodes[entry.path] = parent.add_leaf(file_label(entry, entry.path in self._selected), data=entry)
        self.root.expand()
        if self.cursor_line < 0 and entries:
            self.cursor_line = 0  # a cursor from the start: the first space acts at once

    def set_selected(self, selected: list[str]) -> None:
        chosen = set(selected)
        for path in self._selected ^ chosen:
            node = self._file_nodes.get(path)
            if node is not None and node.data is not None:
                node.set_label(file_label(node.data, path in chosen))
        self._selected = chosen

    def move_to(self, path: str) -> None:
        node = self._file_nodes.get(path)
        if node is not None:
            self.move_cursor(node)

    def action_toggle_file(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.data is None:
            node.toggle()
            return
        self.post_message(self.Toggled(node.data.path))

    def on_tree_node_selected(self, event: Tree.NodeSelected[Any]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.Toggled(event.node.data.path))
