"""The project's URLs with one extra view in front: /bare/, the same 12-field resident request
as a plain Django Form — the ceiling for bench/forms_http.py.

GET renders the form in a template that extends cms/base.html ({{ form.as_div }}, like the
Wagtail form-builder page). POST validates and, when valid, stores one Wagtail FormSubmission
row (the write a form-builder page does) against the page whose id is in BENCH_BARE_PAGE_ID,
then renders a thank-you page; when invalid it renders the form again with its errors.
"""

import os

from django import forms
from django.core.validators import RegexValidator
from django.shortcuts import render
from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

CATEGORIES = [("environment", "环境卫生"), ("facilities", "设施维修（水电路灯、管网）"), ("safety", "治安与安全隐患"),
              ("neighbour_dispute", "邻里纠纷"), ("property_service", "物业服务"), ("elderly_disabled", "为老助残"),
              ("policy", "政策咨询"), ("other", "其他")]
URGENCIES = [("一般", "一般"), ("较急", "较急"), ("紧急", "紧急")]
CONTACT = [("phone", "打电话"), ("visit", "上门面谈"), ("grid_group", "楼栋网格群")]


class ResidentRequestForm(forms.Form):
    category = forms.ChoiceField(label="诉求类别", choices=[("", "—")] + CATEGORIES)
    subject = forms.CharField(label="诉求标题", min_length=4, max_length=40)
    details = forms.CharField(label="具体情况", min_length=10, max_length=1000, widget=forms.Textarea(attrs={"rows": 5}))
    urgency = forms.ChoiceField(label="紧急程度", choices=URGENCIES, widget=forms.RadioSelect)
    occurred_on = forms.DateField(label="发生日期", input_formats=["%Y-%m-%d"],
                                  widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    household_size = forms.IntegerField(label="家庭人数", min_value=1, max_value=20)
    contact_name = forms.CharField(label="联系人", min_length=1, max_length=20)
    mobile = forms.CharField(label="联系电话", validators=[RegexValidator(r"^1[3-9][0-9]{9}$", "请输入11位手机号码")],
                             widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}))
    email = forms.EmailField(label="电子邮箱", required=False)
    room = forms.CharField(label="门牌号", max_length=20)
    contact_preference = forms.ChoiceField(label="希望怎样联系您", choices=CONTACT, widget=forms.RadioSelect)
    publicity_consent = forms.BooleanField(label="同意在办理结果公示中展示本诉求", required=False)


def bare_form(request):
    from wagtail.contrib.forms.models import FormSubmission

    if request.method == "POST":
        form = ResidentRequestForm(request.POST)
        if form.is_valid():
            FormSubmission.objects.create(form_data=form.cleaned_data, page_id=int(os.environ["BENCH_BARE_PAGE_ID"]))
            return render(request, "bench/bare_landing.html")
    else:
        form = ResidentRequestForm()
    return render(request, "bench/bare_form.html", {"form": form})


urlpatterns = [path("bare/", bare_form, name="bench_bare_form"), path("", include(project_urlpatterns))]
