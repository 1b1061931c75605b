"""Serve moto's DynamoDB with one request processed at a time, over keep-alive HTTP.

Two departures from plain `moto_server`, both so that tests measure the adapter:

- Atomicity. `moto_server` handles requests on many threads, but its DynamoDB model takes no
  lock: a conditional update checks and writes in plain Python, and a failed
  TransactWriteItems restores a whole-table copy taken when it began, erasing writes that
  other threads made meanwhile. Real DynamoDB applies each conditional write and each
  transaction atomically, so one lock around each request makes moto linearizable like the
  service it stands in for. Requests still interleave between calls, so a read-then-write
  bug in a client still loses races here.
- Speed. Werkzeug's development server closes every connection, so each request costs a new
  TCP connection and a new thread. Waitress keeps connections alive, which roughly halves
  the latency per request on this machine.
- Speed. moto's TransactWriteItems deep-copies every table it touches before it starts, to
  roll back on failure, so appends to a 10,000-event stream grow quadratically slow. Here a
  transaction saves copies of only the items it names and restores those on failure, which
  undoes exactly what moto's own rollback undoes (a transaction changes no other item).

Usage: python moto_serial.py HOST PORT
"""

import copy
import logging
import signal
import sys
import threading

from waitress import serve

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


class _TableCopySkipper:
    """Stands in for the `copy` module inside moto's DynamoDB model. While a transaction
    runs, a deep copy of a whole table returns the table itself; everything else is copied
    as usual."""

    active = False

    def __getattr__(self, name):
        return getattr(copy, name)

    def deepcopy(self, value, memo=None):
        if self.active and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _patch_transactions() -> None:
    skipper = _TableCopySkipper()
    dynamodb_models.copy = skipper
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        saved = []
        for entry in transact_items:
            try:
                kind, operation = next(iter(entry.items()))
                table = self.get_table(operation["TableName"])
                hash_value, range_value = self.get_keys_value(table, operation["Item"] if kind == "Put" else operation["Key"])
            except Exception:
                continue  # moto itself reports malformed entries
            saved.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
        skipper.active = True
        try:
            return original(self, transact_items)
        except BaseException:
            for table, hash_value, range_value, item in reversed(saved):
                if range_value is not None:
                    table.items[hash_value].pop(range_value, None)
                    if item is not None:
                        table.items[hash_value][range_value] = item
                else:
                    table.items.pop(hash_value, None)
                    if item is not None:
                        table.items[hash_value] = item
            raise
        finally:
            skipper.active = False

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    _patch_transactions()
    moto_app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serial_app(environ, start_response):
        with lock:
            result = moto_app(environ, start_response)
            try:
                # Produce the whole body inside the lock: WSGI bodies may be lazy.
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    logging.basicConfig(level=logging.WARNING)
    # "Task queue depth" warnings are expected: requests wait for the lock by design.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Many threads would only queue on the lock; a few let waitress read the next requests.
    serve(serial_app, host=host, port=port, threads=4, connection_limit=2000, channel_timeout=300, _quiet=True)


if __name__ == "__main__":
    main()
