"""Fetch a pinned sdist from a package index and unpack it.

The index is read through its simple API (PEP 503): that needs nothing
but the standard library and never builds the package, unlike
``pip download --no-binary``, which runs the sdist's build backend just
to learn its metadata. A download is checked against the sha256 pinned
in the target's data before it enters the cache, so a cached file is
always a good one.
"""

import hashlib
import html.parser
import logging
import os
import re
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from patchseries import exceptions

LOG = logging.getLogger(__name__)

DEFAULT_INDEX_URL = 'https://pypi.org/simple'
_CHUNK = 1 << 20


def index_url():
    """The simple index to use: ours, then pip's, then PyPI."""
    return (os.environ.get('PATCHSERIES_INDEX_URL') or
            os.environ.get('PIP_INDEX_URL') or DEFAULT_INDEX_URL).rstrip('/')


def normalize(name):
    """PEP 503 name normalization.

    >>> normalize('Python_GlanceClient')
    'python-glanceclient'
    """
    return re.sub(r'[-_.]+', '-', name).lower()


def sdist_filename_matches(filename, name, version):
    """Whether ``filename`` is the sdist of ``name`` at ``version``.

    >>> sdist_filename_matches('python_glanceclient-4.13.0.tar.gz',
    ...                        'python-glanceclient', '4.13.0')
    True
    >>> sdist_filename_matches('nova-34.0.0.tar.gz', 'nova', '34.0.1')
    False
    """
    if not filename.endswith('.tar.gz'):
        return False
    stem = filename[:-len('.tar.gz')]
    base, _, ver = stem.rpartition('-')
    return normalize(base) == normalize(name) and ver == version


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []
        self._href = None

    def handle_starttag(self, tag, attrs):
        if tag == 'a':
            self._href = dict(attrs).get('href')

    def handle_data(self, data):
        if self._href is not None:
            self.links.append((data.strip(), self._href))

    def handle_endtag(self, tag):
        if tag == 'a':
            self._href = None


def _open(url, what):
    try:
        return urllib.request.urlopen(url, timeout=60)
    except urllib.error.HTTPError as exc:
        raise exceptions.DownloadError(
            'could not fetch %s: %s answered HTTP %d %s'
            % (what, url, exc.code, exc.reason))
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, 'reason', exc)
        raise exceptions.DownloadError(
            'could not fetch %s: %s is unreachable (%s)' % (what, url, reason))


def find_sdist(name, version, index=None):
    """Look up the sdist of ``name==version`` in the simple index.

    :returns: ``(filename, url, sha256 or None)``
    :raises DownloadError: when the project or the version is missing.
    """
    index = index or index_url()
    page_url = '%s/%s/' % (index, normalize(name))
    with _open(page_url, 'the index page of %s' % name) as resp:
        parser = _Links()
        parser.feed(resp.read().decode('utf-8', 'replace'))
    found = []
    for filename, href in parser.links:
        if sdist_filename_matches(filename, name, version):
            url, _, fragment = urllib.parse.urljoin(page_url, href).partition(
                '#')
            digest = dict(urllib.parse.parse_qsl(fragment)).get('sha256')
            return filename, url, digest
        if filename.endswith('.tar.gz'):
            found.append(filename[:-len('.tar.gz')].rpartition('-')[2])
    raise exceptions.DownloadError(
        'no sdist of %s %s at %s; sdist versions there: %s'
        % (name, version, page_url, ', '.join(found[-10:]) or 'none'))


def fetch_sdist(name, version, sha256, cache_dir, index=None):
    """Return the path of the sdist of ``name==version`` in ``cache_dir``.

    Downloads it when it is not cached yet, showing progress, and checks
    it against ``sha256`` before it is cached.

    :param sha256: the pinned hex digest; required.
    :raises DownloadError: on any failure; nothing is left in the cache.
    """
    os.makedirs(cache_dir, exist_ok=True)
    for entry in os.listdir(cache_dir):
        if sdist_filename_matches(entry, name, version):
            path = os.path.join(cache_dir, entry)
            if file_sha256(path) == sha256:
                LOG.info('%s %s: using cached %s', name, version, path)
                return path
            LOG.warning('%s: cached file does not match its pinned sha256, '
                        'downloading it again', path)
            os.unlink(path)
    filename, url, index_digest = find_sdist(name, version, index)
    if index_digest and index_digest != sha256:
        raise exceptions.DownloadError(
            '%s: the index lists sha256 %s but we pin %s; refusing it'
            % (filename, index_digest, sha256))
    dest = os.path.join(cache_dir, filename)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix='.partial-')
    try:
        with os.fdopen(fd, 'wb') as out:
            digest = _download(url, out, filename)
        if digest != sha256:
            raise exceptions.DownloadError(
                '%s: downloaded sha256 %s does not match the pinned %s'
                % (filename, digest, sha256))
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _download(url, out, filename):
    hasher = hashlib.sha256()
    with _open(url, filename) as resp:
        total = int(resp.headers.get('Content-Length') or 0)
        done, last = 0, 0.0
        while True:
            chunk = resp.read(_CHUNK)
            if not chunk:
                break
            hasher.update(chunk)
            out.write(chunk)
            done += len(chunk)
            now = time.monotonic()
            if now - last > 2:
                last = now
                LOG.info('downloading %s: %.1f of %s MiB', filename,
                         done / 2.0 ** 20,
                         '%.1f' % (total / 2.0 ** 20) if total else '?')
        if total and done != total:
            raise exceptions.DownloadError(
                '%s: connection closed after %d of %d bytes'
                % (filename, done, total))
    LOG.info('downloaded %s (%.1f MiB)', filename, done / 2.0 ** 20)
    return hasher.hexdigest()


def file_sha256(path):
    hasher = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            hasher.update(chunk)
    return hasher.hexdigest()


def unpack_sdist(path, dest):
    """Unpack the sdist at ``path`` into ``dest``, dropping its top folder.

    Members that would land outside ``dest`` (absolute paths, ``..``,
    links out of the tree) are refused by tarfile's ``data`` filter.
    """
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(path, 'r:gz') as tar:
        members = []
        for member in tar.getmembers():
            top, sep, rest = member.name.partition('/')
            if not sep or not rest:
                continue
            member.name = rest
            if member.islnk():
                member.linkname = member.linkname.partition('/')[2]
            members.append(member)
        try:
            tar.extractall(dest, members=members, filter='data')
        except tarfile.FilterError as exc:
            raise exceptions.DownloadError(
                '%s: refusing unsafe member: %s' % (path, exc))
