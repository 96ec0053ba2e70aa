"""Run localstripe (the local stand-in for Stripe) on a loopback port with a state file of its own.

    python scripts/localstripe_server.py --port 8420 --from-scratch --state-file .data/ls.pickle

localstripe's own `localstripe` command listens on every interface and keeps its state in the
fixed file /tmp/localstripe.pickle, which two runs side by side (a demo and the tests, two CI
jobs) would overwrite for each other. This launcher serves the same application, but on
127.0.0.1 only and with the state file given here; with --from-scratch the old state is not
loaded. Nothing else about localstripe changes.
"""

import argparse
import logging
import pickle
import socket
from pathlib import Path

from aiohttp import web
from localstripe import resources, server


def use_state_file(path: Path) -> None:
    def load(store):
        try:
            with path.open("rb") as f:
                store.clear()
                store.update(pickle.load(f))
        except FileNotFoundError:
            pass

    def dump(store):
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--from-scratch", action="store_true")
    args = parser.parse_args()

    args.state_file.parent.mkdir(parents=True, exist_ok=True)
    use_state_file(args.state_file)
    if not args.from_scratch:
        resources.store.try_load_from_disk()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    logging.basicConfig(level=logging.WARNING)
    web.run_app(server.app, sock=sock, print=None)


if __name__ == "__main__":
    main()
