"""Executes a notebook with nbclient, as CI and papermill users do, and records
when each iopub message of a cell arrived (seconds since the cell started), so
tests can check that output streamed while a cell was still running.

Cells may set metadata ``serverless_test.interrupt_after`` (seconds): the
kernel is then interrupted (interrupt_request) when the cell runs that long.

Usage: execute_timed.py IN.ipynb OUT.ipynb WORKDIR
"""
import sys
import time

import nbformat
from nbclient import NotebookClient

DEFAULT_TIMEOUT = 180


class TimedClient(NotebookClient):
    """Records (msg_type, stream name, arrival seconds) per cell in metadata.jsl_messages."""

    def process_message(self, msg, cell, cell_index):
        messages = cell.metadata.setdefault('jsl_messages', [])
        now = time.monotonic()
        if not messages:
            cell.metadata['jsl_started'] = now
        started = cell.metadata['jsl_started']
        messages.append([msg['msg_type'], msg['content'].get('name'), round(now - started, 3)])
        return super().process_message(msg, cell, cell_index)


def cell_timeout(cell):
    return cell.metadata.get('serverless_test', {}).get('interrupt_after') or DEFAULT_TIMEOUT


def main():
    source, target, workdir = sys.argv[1:4]
    notebook = nbformat.read(source, as_version=4)
    client = TimedClient(
        notebook,
        kernel_name='serverless-ts',
        allow_errors=True,
        interrupt_on_timeout=True,
        timeout_func=cell_timeout,
        resources={'metadata': {'path': workdir}},
    )
    client.execute()
    for cell in notebook.cells:
        cell.metadata.pop('jsl_started', None)
    nbformat.write(notebook, target)


if __name__ == '__main__':
    main()
