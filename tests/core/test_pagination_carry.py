"""crm.pagination.without_carried_count: back to a list after a change, its count is fresh."""

from crm.pagination import _cursor_data, encode_cursor, without_carried_count


def test_a_redirect_back_to_a_list_drops_only_the_carried_count():
    cursor = encode_cursor(("-created_at", "-id"), ["2026-11-24T10:00:00+00:00", 7],
                           count=(55, False, "abc"))
    url = without_carried_count(f"/service/tickets/?queue=unassigned&after={cursor}")
    after = url.split("after=", 1)[1]
    assert "queue=unassigned" in url
    assert _cursor_data(after) == {"o": "-created_at,-id",
                                   "v": ["2026-11-24T10:00:00+00:00", 7]}
    assert without_carried_count("/customers/?q=x") == "/customers/?q=x"
    assert without_carried_count("/customers/") == "/customers/"
