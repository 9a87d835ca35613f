"""Errors the tool reports to its user.

Every message is meant to be read by an operator: it names the thing that
is wrong and, where there is one, what to do about it.
"""


class PatchSeriesError(Exception):
    """Base class: ``main`` prints the message and exits non-zero."""


class UnknownProject(PatchSeriesError):
    def __init__(self, project, known):
        super().__init__(
            'unknown project %r; known projects: %s'
            % (project, ', '.join(known)))


class UnknownRelease(PatchSeriesError):
    def __init__(self, project, what, known):
        self.known = tuple(known)
        super().__init__(
            '%s: no series for %s; known releases: %s'
            % (project, what, ', '.join(
                '%s (%s)' % pair for pair in self.known) or 'none'))


class DownloadError(PatchSeriesError):
    """The sdist could not be fetched or did not match its pinned hash."""


class GitError(PatchSeriesError):
    def __init__(self, args, returncode, output):
        self.returncode = returncode
        self.output = output
        super().__init__(
            'git %s failed (exit %d): %s'
            % (' '.join(args), returncode, output.strip()[-2000:]))


class TreeError(PatchSeriesError):
    """A tree is not in a state the command can work on."""


class ApplyConflict(PatchSeriesError):
    """A patch of the series does not apply; the tree was restored."""

    def __init__(self, patch_name, files, detail=''):
        self.patch_name = patch_name
        self.files = tuple(files)
        message = '%s does not apply' % patch_name
        if self.files:
            message += '; conflicting files: %s' % ', '.join(self.files)
        if detail:
            message += '\n' + detail
        message += '\nthe tree was left as it was before (git am --abort)'
        super().__init__(message)


class VenvError(PatchSeriesError):
    """A test environment could not be built."""


class TestRunError(PatchSeriesError):
    """A test run could not produce results (not: tests failed)."""
