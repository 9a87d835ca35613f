"""HTTP errors the fake answers with, as Glance would."""


class HTTPError(Exception):
    status = 500
    reason = 'Internal Server Error'

    def __init__(self, message=''):
        super().__init__(message)
        self.message = message


class BadRequest(HTTPError):
    status, reason = 400, 'Bad Request'


class Forbidden(HTTPError):
    status, reason = 403, 'Forbidden'


class NotFound(HTTPError):
    status, reason = 404, 'Not Found'


class Conflict(HTTPError):
    status, reason = 409, 'Conflict'


class UnsupportedMediaType(HTTPError):
    status, reason = 415, 'Unsupported Media Type'
