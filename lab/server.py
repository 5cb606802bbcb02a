"""JupyterLab for jupyter-serverless without the Python jupyterlab package.

Serves the JupyterLab build in lab/build/ (npm run build -w lab) and the
prebuilt extensions in lab/labextensions/ with Debian's jupyter_server 1.23
and jupyterlab_server 2.16 (python3-jupyter-server, python3-jupyterlab-server).

    /usr/bin/python3 lab/server.py [--port 8888] [--ip 127.0.0.1]
        [--notebook-dir DIR] [--state-dir DIR] [--no-browser] [--jupyter-path-extensions]
        [--build-dir DIR]

--build-dir serves another build of the app (lab/oldest/build: the oldest
JupyterLab release the extension supports) with the same prebuilt extensions.

The token comes from $JUPYTER_TOKEN, else it is generated; the URL is printed.
Kernels are found as jupyter_server finds them (set JUPYTER_PATH); with
--jupyter-path-extensions, prebuilt extensions are too (the labextensions
dirs of the Jupyter data path, where `pip install` puts them), as JupyterLab
finds them, instead of lab/labextensions.
"""

import argparse
import hashlib
import json
import os
import secrets
import sys

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_core.paths import jupyter_path
from jupyter_server.base.zmqhandlers import WebSocketMixin
from jupyterlab_server import LabServerApp
from tornado import web
from tornado.ioloop import IOLoop
from tornado.websocket import WebSocketHandler
from traitlets import default

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(HERE, "build")
LABEXTENSIONS = os.path.join(HERE, "labextensions")
DEFAULT_STATE = os.path.join(ROOT, ".jupyter-serverless", "lab")


def _package_version():
    with open(os.path.join(HERE, "package.json"), encoding="utf-8") as package:
        return json.load(package)["version"]


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": ServerlessLabApp}]


# --- Shims for APIs that JupyterLab 4 calls and jupyter_server 1.23 lacks ---


class MeHandler(APIHandler):
    """GET /api/me (jupyter_server 2): the current user and no extra permissions."""

    @web.authenticated
    def get(self):
        # jupyter_server 1.23 knows users only as an id (token auth: a random one).
        user = self.current_user
        username = user if isinstance(user, str) else getattr(user, "username", "anonymous")
        identity = {
            "username": username,
            "name": "Anonymous",
            "display_name": "Anonymous",
            "initials": "A",
            "avatar_url": None,
            "color": None,
        }
        self.finish(json.dumps({"identity": identity, "permissions": {}}))


class EventsHandler(APIHandler):
    """POST /api/events (jupyter_server 2): accepted and dropped (no event bus here)."""

    @web.authenticated
    def post(self):
        self.set_status(204)
        self.finish()


class EventsSubscribeHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """WS /api/events/subscribe: stays open and quiet, so the client does not retry."""

    def set_default_headers(self):
        pass  # JupyterHandler's headers make no sense for a websocket

    async def get(self, *args, **kwargs):
        if self.get_current_user() is None:
            raise web.HTTPError(403)
        await super().get(*args, **kwargs)

    def on_message(self, message):
        pass


# --- The application ---


class ServerlessLabApp(LabServerApp):
    name = "serverless_lab"
    app_name = "JupyterLab (jupyter-serverless)"
    app_version = _package_version()
    load_other_extensions = False
    # Set by use_build() before launching (the default: lab/build).
    static_dir = os.path.join(BUILD, "static")
    templates_dir = os.path.join(HERE, "templates")
    schemas_dir = os.path.join(BUILD, "schemas")
    themes_dir = os.path.join(BUILD, "themes")
    app_settings_dir = os.path.join(HERE, "settings")
    # Set by main() before launching: per-run state (user settings, workspaces).
    state_dir = DEFAULT_STATE
    expose_app = False
    jupyter_path_extensions = False

    # Passing labextensions_path on the command line was ignored by this
    # jupyterlab_server: a default in the subclass is what takes effect.
    @default("labextensions_path")
    def _default_labextensions_path(self):
        if self.jupyter_path_extensions:
            return jupyter_path("labextensions")
        return [LABEXTENSIONS]

    @default("user_settings_dir")
    def _default_user_settings_dir(self):
        return os.path.join(self.state_dir, "user-settings")

    @default("workspaces_dir")
    def _default_workspaces_dir(self):
        return os.path.join(self.state_dir, "workspaces")

    @classmethod
    def use_build(cls, build_dir):
        """Serves the app built into build_dir (static/, schemas/, themes/)."""
        cls.static_dir = os.path.join(build_dir, "static")
        cls.schemas_dir = os.path.join(build_dir, "schemas")
        cls.themes_dir = os.path.join(build_dir, "themes")

    def initialize_settings(self):
        super().initialize_settings()
        self.log.info("Prebuilt extensions from: %s", os.pathsep.join(self.labextensions_path))
        page_config = self.serverapp.web_app.settings.setdefault("page_config_data", {})
        with open(os.path.join(self.static_dir, "main.js"), "rb") as bundle:
            page_config["buildHash"] = hashlib.sha256(bundle.read()).hexdigest()[:16]
        if self.expose_app:
            page_config["exposeAppInBrowser"] = True
        # jupyter_server masks a token it did not generate: print the URL once serving.
        IOLoop.current().add_callback(self._print_url)

    def _print_url(self):
        server = self.serverapp
        url = f"http://{server.ip}:{server.port}{server.base_url}lab?token={server.token}"
        print(f"\njupyter-serverless lab: {url}\n", flush=True)

    def initialize_handlers(self):
        super().initialize_handlers()
        self.handlers.extend(
            [
                (r"/api/me", MeHandler),
                (r"/api/events", EventsHandler),
                (r"/api/events/subscribe", EventsSubscribeHandler),
            ]
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--notebook-dir", default=os.getcwd(), help="where notebooks are (default: cwd)")
    parser.add_argument("--state-dir", default=DEFAULT_STATE, help="user settings and workspaces")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument(
        "--expose-app-in-browser", action="store_true", help="window.jupyterapp, for browser tests"
    )
    parser.add_argument(
        "--jupyter-path-extensions",
        action="store_true",
        help="prebuilt extensions from the Jupyter data path's labextensions dirs, not lab/labextensions",
    )
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--build-dir",
        default=BUILD,
        help="the app build to serve (default lab/build; lab/oldest/build: the oldest supported JupyterLab)",
    )
    args = parser.parse_args(argv)

    build_dir = os.path.abspath(args.build_dir)
    if not os.path.exists(os.path.join(build_dir, "static", "main.js")):
        if build_dir == BUILD:
            sys.exit("lab/build is missing: run `npm run build -w lab` first")
        sys.exit(f"{build_dir} has no static/main.js: build it first (lab/oldest/build: `npm run build:oldest -w lab`)")
    ServerlessLabApp.use_build(build_dir)
    notebook_dir = os.path.abspath(args.notebook_dir)
    if not os.path.isdir(notebook_dir):
        sys.exit(f"--notebook-dir {notebook_dir} is not a directory")
    ServerlessLabApp.state_dir = os.path.abspath(args.state_dir)
    ServerlessLabApp.expose_app = args.expose_app_in_browser
    ServerlessLabApp.jupyter_path_extensions = args.jupyter_path_extensions
    os.makedirs(ServerlessLabApp.state_dir, exist_ok=True)
    token = os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(24)
    # Listing the python3 kernelspec imports ipykernel and so debugpy, whose
    # frozen-modules warning would otherwise land in the server log.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

    server_args = [
        f"--ServerApp.ip={args.ip}",
        f"--ServerApp.port={args.port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={notebook_dir}",
        f"--ServerApp.open_browser={not args.no_browser}",
        f"--ServerApp.log_level={args.log_level}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        server_args.append("--allow-root")
    ServerlessLabApp.launch_instance(argv=server_args)


if __name__ == "__main__":
    main()
