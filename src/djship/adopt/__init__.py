"""`djship init`: djship's container setup for an existing Django project.

Deciding is kept apart from doing: `detect` reads the project's files (texts only; Python is
parsed with `ast`, never imported or run) into plain findings, each with its reason; `plan`
turns them into the files to write, rendered from the scaffold's templates; `write` writes
them all or none, never over an existing file, then locks the dependencies in a container
when the project has no lock.
"""
