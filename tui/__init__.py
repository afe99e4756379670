"""The Textual app: pick files, instruct, watch rewrites stream, review hunks, apply through git."""
