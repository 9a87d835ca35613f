"""A series: the ``git format-patch`` files of one release, in order.

File names give the order (``0001-...patch``), as ``git format-patch``
writes them; there is no separate series file to keep in step. Headers
are parsed only when asked for, like ``gbp``'s ``Patch``.
"""

import email.header
import email.parser
import os
import re

CHANGE_ID_RE = re.compile(r'^Change-Id: (I[0-9a-f]{40})$', re.MULTILINE)


def _decode(value):
    """Decode an RFC 2047 header value as ``git mailinfo`` would."""
    parts = []
    for text, charset in email.header.decode_header(value or ''):
        if isinstance(text, bytes):
            text = text.decode(charset or 'utf-8', 'replace')
        parts.append(text)
    return ' '.join(''.join(parts).split())


def subject_from_filename(name):
    """The subject a patch file's name stands for.

    >>> subject_from_filename('0123-Add-the-base-image-ref.patch')
    'Add the base image ref'
    """
    stem = os.path.basename(name)
    if stem.endswith('.patch'):
        stem = stem[:-len('.patch')]
    stem = re.sub(r'^\d+-', '', stem)
    return stem.replace('-', ' ')


def strip_patch_prefix(subject):
    """Drop the ``[PATCH ...]`` prefix that format-patch adds.

    >>> strip_patch_prefix('[PATCH] Send the base image ref')
    'Send the base image ref'
    >>> strip_patch_prefix('[PATCH 2/3] Add option')
    'Add option'
    """
    return re.sub(r'^\[PATCH[^\]]*\]\s*', '', subject)


class Patch(object):
    """One patch file of a series."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self._headers = None
        self._body = None

    def _parse(self):
        if self._headers is None:
            with open(self.path, encoding='utf-8', errors='replace') as f:
                message = email.parser.Parser().parse(f)
            self._headers = message
            payload = message.get_payload()
            self._body = payload if isinstance(payload, str) else ''

    @property
    def subject(self):
        self._parse()
        subject = self._headers.get('Subject')
        if not subject:
            return subject_from_filename(self.name)
        return strip_patch_prefix(_decode(subject))

    @property
    def author(self):
        self._parse()
        return _decode(self._headers.get('From'))

    @property
    def message(self):
        """The commit message body (without the diff)."""
        self._parse()
        return self._body.split('\n---\n', 1)[0]

    @property
    def change_ids(self):
        return CHANGE_ID_RE.findall(self.message)

    @property
    def files(self):
        """Paths the patch changes (post-image names)."""
        self._parse()
        return re.findall(r'^diff --git a/\S+ b/(\S+)$', self._body,
                          re.MULTILINE)

    def __repr__(self):
        return '<Patch %s>' % self.name


class Series(object):
    """The patches in one directory, in file-name order."""

    def __init__(self, path):
        self.path = path

    @property
    def patches(self):
        if not os.path.isdir(self.path):
            return []
        names = sorted(n for n in os.listdir(self.path)
                       if n.endswith('.patch'))
        return [Patch(os.path.join(self.path, n)) for n in names]

    def __len__(self):
        return len(self.patches)

    def __iter__(self):
        return iter(self.patches)
