"""devstack_app.py, all the local stack knows of this application, agrees with the template and the tree."""

import re

import devstack_app as app


def test_the_health_path_is_a_get_route_and_every_route_is_under_the_api_prefix(stack):
    routes = {(route.method, route.path) for function in stack.functions.values() for route in function.routes}
    assert ("GET", app.HEALTH_PATH) in routes
    assert all(path.startswith(app.API_PREFIX + "/") for _, path in routes)
    assert re.search(r"POST (/api/uploads) ", app.LARGE_UPLOADS_ADVICE).group(1) in {path for _, path in routes}


def test_the_sign_in_variables_are_the_ones_the_functions_read(template):
    declared = set(template["Resources"]["PresignFunction"]["Properties"]["Environment"]["Variables"])
    names = {app.AUTH_ISSUER_VARIABLE, app.AUTH_CLIENT_ID_VARIABLE, app.AUTH_SIGN_IN_URL_VARIABLE}
    assert names <= declared


def test_the_page_and_its_content_types_are_where_it_says():
    assert (app.WEB_DIR / "index.html").is_file()
    assert app.WEB_CONTENT_TYPES.is_file() and app.TEMPLATE_PATH.is_file()
