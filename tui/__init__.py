"""The Textual app: pick files, instruct, watch rewrites stream, review hunks, apply through git.

``app.create_app`` builds a thin ``FastApplyApp`` (model loading, app-wide keys); the screens in
``screens/`` (pick, instruct, generate, review, apply, help) do the work and keep their ``.tcss``
beside them; ``widgets/`` hold the reusable parts; ``messages`` are the dataclasses that workers
and widgets post. Generation, writing and undo go through ``fastapply.edit``, ``fastapply.apply``
and ``fastapply.undo``; nothing here talks to the engine directly.
"""
