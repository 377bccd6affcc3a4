"""Tags: the list (with how many visible customers carry each is left out on purpose: a count
per tag over millions of links on every visit is not worth it), create, rename and recolour.
Tags are never deleted here: records keep them; an Admin can merge or delete in the admin."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.exceptions import ApplicationError
from crm.forms import VersionedModelForm
from customers import services
from customers.models import Tag


class TagForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["name", "color"]
        labels = {"name": gettext_lazy("Name"), "color": gettext_lazy("Colour")}

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Tag.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("A tag with this name already exists."),
                                        code="duplicate")
        return name


class TagEditForm(TagForm, VersionedModelForm):
    class Meta(TagForm.Meta):
        pass


@login_required
def tag_list(request):
    if not request.user.has_perm("customers.view_tag"):
        raise PermissionDenied
    form = TagForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("customers.add_tag"):
            raise PermissionDenied
        if form.is_valid():
            try:
                tag = services.tag_create(actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error("name", exc.message)
            else:
                messages.success(request, _("Tag %(name)s was created.") % {"name": tag.name})
                return redirect("customers:tag_list")
    tags = Tag.objects.order_by("name")[:500]
    return render(request, "customers/tags/tag_list.html", {"tags": tags, "form": form})


@login_required
def tag_edit(request, uuid):
    if not request.user.has_perm("customers.view_tag"):
        raise PermissionDenied
    tag = get_object_or_404(Tag, uuid=uuid)
    if not request.user.has_perm("customers.change_tag"):
        raise PermissionDenied
    form = TagEditForm(request.POST or None, instance=tag)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.tag_update(actor=request.user, tag=tag, name=data["name"],
                                color=data["color"], expected_version=data["version"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Tag %(name)s was saved.") % {"name": data["name"]})
            return redirect("customers:tag_list")
    return render(request, "customers/tags/tag_form.html", {"form": form, "tag": tag})
