"""Row ids in URLs: a number beyond the database's 32-bit ids is a plain 404 on every method of every route."""

from __future__ import annotations


def test_an_id_beyond_the_column_is_404_whatever_the_method(client):
    rules = [r for r in client.application.url_map.iter_rules() if "<int:" in r.rule]
    assert rules
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<int:{name}>", "2147483648")
            if "<" in path:  # another argument of its own kind (a token, a name): not this test's concern
                continue
            response = client.open(path, method=method)
            assert response.status_code == 404, (method, path, response.status_code)


def test_the_largest_id_still_reaches_the_view(client):
    assert client.get("/api/v1/complaints/2147483647").status_code == 401  # routed: the view asks for a sign-in
    assert client.get("/api/v1/complaints/00012").status_code == 401
