"""What the local stack (devstack/) knows of this application; devstack/ itself knows AWS only.

devstack/application.py imports this module, the one place it does: another SAM application would bring a
devstack_app.py of its own. Everything else the local stack runs comes from template.yaml."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent  # CodeUri and ContentUri paths are relative to it
TEMPLATE_PATH = ROOT / "template.yaml"
WEB_DIR = ROOT / "web"  # served on the API's origin, as CloudFront serves the website bucket
# The Content-Type of each web/ file: the publisher's table, which gives the deployed files theirs.
WEB_CONTENT_TYPES = ROOT / "src" / "publish" / "web_content_types.py"
STACK_NAME = "image-processing-local"  # AWS::StackName, and the prefix of every local resource name
TITLE = "Image processing"  # the ready line and the placeholder page
API_PREFIX = "/api"  # the paths CloudFront sends to the HTTP API; everything else is web/
HEALTH_PATH = "/api/health"  # answers once the functions run: the stack's readiness check
# After a 413 for a body over a quota of API Gateway or Lambda:
LARGE_UPLOADS_ADVICE = "use POST /api/uploads for large images (GET /api/options states the limits)"
# The functions' variables that name the sign-in (AuthMode cognito or oidc): the local issuer's values go there.
AUTH_ISSUER_VARIABLE = "AUTH_ISSUER"
AUTH_CLIENT_ID_VARIABLE = "AUTH_CLIENT_ID"
AUTH_SIGN_IN_URL_VARIABLE = "AUTH_SIGN_IN_URL"


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Callback URLs the deployed sign-in client admits beside the site's origins: the command-line client's
# loopback address (imageservice login), read from the one place that sets it for Cognito (SignInUrls).
EXTRA_CALLBACK_URLS = (_module(ROOT / "src" / "signin" / "signin_urls.py").CLI_CALLBACK_URL,)
