"""{% load crm_filters %}: `{% filter_bar filter %} ... {% endfilter_bar %}` around a list
page's filter form. While the filter set is unbound and names what its choice lists came from
(BootstrapFilterSet.bar_cache_key), the HTML rendered the first time is reused by this process;
the form is then never built. Everything inside must depend only on the filter set and the
language: no CSRF token, no nonce, nothing of the user."""

from django import template

from crm.filters import bar_get, bar_put

register = template.Library()


class FilterBarNode(template.Node):
    def __init__(self, nodelist, filterset):
        self.nodelist = nodelist
        self.filterset = filterset

    def render(self, context):
        filterset = self.filterset.resolve(context)
        key = filterset.bar_cache_key() if hasattr(filterset, "bar_cache_key") else None
        if key is None:
            return self.nodelist.render(context)
        html = bar_get(key)
        if html is None:
            html = self.nodelist.render(context)
            bar_put(key, html)
        return html


@register.tag("filter_bar")
def do_filter_bar(parser, token):
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("{% filter_bar %} takes one argument: the filter set")
    nodelist = parser.parse(("endfilter_bar",))
    parser.delete_first_token()
    return FilterBarNode(nodelist, parser.compile_filter(bits[1]))
