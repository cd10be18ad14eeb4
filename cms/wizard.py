"""The resident-facing form: django-formtools' session wizard over the steps of a published form.

One step per `x-ui` step (one step for forms without). Each step is validated against the whole
schema with what came before; uploads become tokens at once, so going back and forth or failing
a step loses nothing. The final step calls the same `submit` action as the API.
"""

import uuid

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils import translation
from formtools.wizard.views import SessionWizardView

from engine import policy
from engine.forms.django_forms import form_class, step_data_with_tokens
from engine.forms.registry import community_choices, form_spec
from engine.security import SubmissionSlot, refused_page
from engine.services import submissions as submission_service
from engine.services.uploads import UploadRefused, store_upload
from engine.services.drafts import save_draft


class FormWizard(SessionWizardView):
    page = None
    version = None
    template_name = "cms/form_page.html"

    # -- set-up

    @classmethod
    def for_page(cls, page, version, language):
        return cls.as_view(form_list=form_list_for(page.form.community, version, language), page=page, version=version)

    def get_prefix(self, request, *args, **kwargs):
        return f"linli_form_{self.page.pk}_v{self.version.pk}"

    @property
    def spec(self):
        return form_spec(self.version)

    def dispatch(self, request, *args, **kwargs):
        spec = form_spec(self.version)
        if not policy.can_submit(request.user, spec, self.page.form.community):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, resume=False, changes=(), **kwargs):
        if resume:  # the draft's state was put in the session: show the step it stopped at
            form = self.get_form(data=self.storage.get_step_data(self.steps.current))
            if form.is_bound:
                form.is_valid()
            return self.render(form, resumed=True, changes=changes)
        self.storage.reset()
        self.storage.current_step = self.steps.first
        self._idempotency_key()
        return self.render(self.get_form())

    # -- data between steps

    def _instances(self):
        return self.storage.extra_data.setdefault("instances", {})

    def _idempotency_key(self):
        extra = self.storage.extra_data
        if "idempotency_key" not in extra:
            extra["idempotency_key"] = uuid.uuid4().hex
            self.storage.extra_data = extra
        return extra["idempotency_key"]

    def previous_data(self, step):
        data = {}
        instances = self.storage.extra_data.get("instances", {})
        for key in self.get_form_list():
            if key == step:
                break
            data.update(instances.get(key, {}))
        return data

    def get_form_kwargs(self, step=None):
        step = step or self.steps.current
        return {"previous": self.previous_data(step), "store": self._store}

    def _store(self, upload):
        request = self.request
        if not request.user.is_authenticated and not request.session.session_key:
            request.session.save()
        try:
            stored = store_upload(spec=self.spec, form=self.page.form, field_pointer=upload.linli_pointer,
                                  upload=upload, user=request.user, session_key=request.session.session_key or "")
        except UploadRefused as refused:
            from django import forms

            raise forms.ValidationError(refused.text(translation.get_language() or "zh-hans"), code=refused.code) from None
        return stored.token

    def get_form(self, step=None, data=None, files=None):
        if files:
            # tell each upload which field it is for (the pointer store_upload checks)
            prefix = self.get_form_prefix(step or self.steps.current)
            for key in files:
                name = key[len(prefix) + 1:] if key.startswith(prefix + "-") else key
                for upload in files.getlist(key):
                    upload.linli_pointer = "/" + name
        return super().get_form(step, data, files)

    def process_step(self, form):
        instances = self._instances()
        instances[self.steps.current] = form.instance
        extra = self.storage.extra_data
        extra["instances"] = instances
        self.storage.extra_data = extra
        return step_data_with_tokens(form)

    def process_step_files(self, form):
        return {}  # uploads were stored on arrival; the step data carries their tokens

    def post(self, *args, **kwargs):
        if self.request.POST.get("linli_save_draft") and self.request.user.is_authenticated:
            form = self.get_form(data=self.request.POST, files=self.request.FILES)
            form.is_valid()  # keep what is valid so far; a draft may be incomplete
            self.storage.set_step_data(self.steps.current, step_data_with_tokens(form) if hasattr(form, "cleaned_data") else self.request.POST)
            data = {**self.previous_data(self.steps.current), **getattr(form, "instance", {})}
            save_draft(user=self.request.user, form=self.page.form, version=self.version, data=data,
                       step=self.steps.current, wizard_state=self.storage.data)
            return self.render(form, draft_saved=True)
        return super().post(*args, **kwargs)

    # -- rendering

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        spec = self.spec
        steps = list(self.get_form_list())
        current = steps.index(self.steps.current)
        step = spec.steps[current] if current < len(spec.steps) else spec.steps[0]
        context.update({
            "page": self.page, "spec": spec, "step": step, "step_number": current + 1, "step_count": len(steps),
            "progress": int(100 * current / max(len(steps), 1)), "conditions": _conditions_for_browser(spec),
            "answers": _answers_for_browser(spec, step, self.previous_data(self.steps.current)),
            "can_save_draft": self.request.user.is_authenticated, "self": self.page,
            "request": self.request,
        })
        context.update(kwargs)
        return context

    def done(self, form_list, **kwargs):
        data = {}
        for form in form_list:
            data.update(form.instance)
        with SubmissionSlot(self.request) as slot:  # a visitor not signed in: so many per address
            if slot.refused:
                return refused_page(self.request, "anonymous_submission", slot.decision)
            try:
                result = submission_service.submit(
                    form=self.page.form, version=self.version, data=data, user=self.request.user,
                    idempotency_key=self._idempotency_key(), page=self.page,
                    session_key=self.request.session.session_key or "", language=translation.get_language() or "")
            except submission_service.SubmissionInvalid as invalid:
                return self._back_to_error(invalid.errors)
            except submission_service.IdempotencyConflict:
                raise PermissionDenied from None
            slot.stored(result.created)
        if self.request.user.is_authenticated:
            from engine.models import Draft

            Draft.objects.filter(user=self.request.user, form=self.page.form).delete()
        return self.page.render_landing_page(self.request, result.submission)

    def _back_to_error(self, errors):
        language = translation.get_language() or "zh-hans"
        first = errors[0].pointer.split("/")[1] if errors and errors[0].pointer.count("/") else ""
        step_key = next((s.key for s in self.spec.steps if first in s.fields), self.steps.first)
        self.storage.current_step = step_key
        form = self.get_form(step_key, data=self.storage.get_step_data(step_key))
        form.is_valid()
        for error in errors:
            top = error.pointer.split("/")[1] if error.pointer.count("/") else ""
            if top in form.fields and top not in form.errors:
                form.add_error(top, error.text(language))
        return self.render(form)


_FORM_LISTS: dict[tuple, list] = {}


def form_list_for(community, version, language):
    """The step form classes of a version, built once per (version, language, community names).
    Versions never change, so neither do their classes; the community's names may, and are in the key."""
    spec = form_spec(version)
    # only forms with unit/post/item/team fields need the community's names (one query less otherwise)
    named = any(f.format in ("unit", "post", "store-item", "team") or (f.item is not None and f.item.format in (
        "unit", "post", "store-item", "team")) for f in _all_fields(spec.fields))
    names = community_choices(community, language) if named else {}
    key = (version.pk, language, id(names) if named else 0)
    if key not in _FORM_LISTS:
        if len(_FORM_LISTS) > 1024:
            _FORM_LISTS.clear()
        _FORM_LISTS[key] = [(step.key, form_class(spec, step.key, names, language)) for step in spec.steps]
    return _FORM_LISTS[key]


def _all_fields(fields):
    for field in fields:
        yield field
        yield from _all_fields(field.children)
        if field.item is not None:
            yield from _all_fields(field.item.children)


def _conditions_for_browser(spec):
    """Which fields a condition makes required: the page shows them only when they are needed."""
    static = {f.name for f in spec.fields if f.required}
    conditions = []
    for condition in spec.conditions:
        conditions.append({"tests": [[name, list(values)] for name, values in condition.tests],
                           "then": [n for n in condition.then_required if n not in static],
                           "else": [n for n in condition.else_required if n not in static]})
    return conditions


def _answers_for_browser(spec, step, previous):
    """Earlier steps' answers that a condition tests: a field on this step may depend on them
    (urgent on step one makes the mobile on step two required)."""
    tested = {name for condition in spec.conditions for name, _ in condition.tests}
    return {name: previous[name] for name in sorted(tested - set(step.fields)) if name in previous}


# ---------------------------------------------------------------- one step, no session

TOKEN_SALT = "linli.form-token"
TOKEN_MAX_AGE = 24 * 3600


def serve_single_step(request, page, version, language):
    """A one-step form for a visitor who is not signed in. GET writes nothing; the page carries
    a signed token naming the version and an idempotency key, so a double click or a retried
    POST stores one submission, and a form opened before a new version was published is
    finished on the version it showed."""
    from django.core import signing
    from django.template.response import TemplateResponse

    from engine.models import DefinitionVersion

    token = request.POST.get("linli_token", "") if request.method == "POST" else ""
    key = None
    if token:
        try:
            claims = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
        except signing.BadSignature:
            claims = None
        if claims and claims.get("p") == page.pk:
            key = claims["k"]
            if claims["v"] != version.pk:
                version = DefinitionVersion.objects.filter(pk=claims["v"], definition_id=page.form_id).first() or version
    spec = form_spec(version)
    if not policy.can_submit(request.user, spec, page.form.community):
        return redirect_to_login(request.get_full_path())
    step = spec.steps[0]
    form_class_ = dict(form_list_for(page.form.community, version, language))[step.key]

    def store(upload):
        if not request.session.session_key:
            request.session.save()  # only now: an anonymous upload belongs to this browser's session
        try:
            return store_upload(spec=spec, form=page.form, field_pointer=getattr(upload, "linli_pointer", ""),
                                upload=upload,
                                user=request.user, session_key=request.session.session_key or "").token
        except UploadRefused as refused:
            from django import forms

            raise forms.ValidationError(refused.text(language), code=refused.code) from None

    if request.method == "POST" and key:
        for name in request.FILES:
            for upload in request.FILES.getlist(name):
                upload.linli_pointer = "/" + name.removeprefix(step.key + "-")
        form = form_class_(request.POST, request.FILES, store=store, prefix=step.key)
        if form.is_valid():
            with SubmissionSlot(request) as slot:  # a visitor not signed in: so many per address
                if slot.refused:
                    return refused_page(request, "anonymous_submission", slot.decision)
                try:
                    result = submission_service.submit(
                        form=page.form, version=version, data=form.instance, user=request.user, idempotency_key=key,
                        page=page, session_key=request.session.session_key or "", language=language,
                        key_is_secret=True, validated=form.validated)
                except submission_service.SubmissionInvalid as invalid:
                    for error in invalid.errors:
                        top = error.pointer.split("/")[1] if error.pointer.count("/") else ""
                        if top in form.fields and top not in form.errors:
                            form.add_error(top, error.text(language))
                except submission_service.IdempotencyConflict:
                    raise PermissionDenied from None
                else:
                    slot.stored(result.created)
                    return page.render_landing_page(request, result.submission)
    else:
        form = form_class_(prefix=step.key)
        key = uuid.uuid4().hex
    token = signing.dumps({"p": page.pk, "v": version.pk, "k": key}, salt=TOKEN_SALT)
    context = page.get_context(request)
    context.update({"form": form, "spec": spec, "step": step, "step_number": 1, "step_count": 1, "progress": 0,
                    "conditions": _conditions_for_browser(spec), "answers": {}, "can_save_draft": False,
                    "linli_token": token})
    return TemplateResponse(request, page.template, context)
