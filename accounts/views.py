from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import LANGUAGE_QUERY_PARAMETER, set_language

from accounts import selectors, services
from accounts.forms import (
    ApiTokenForm,
    EmailAuthenticationForm,
    InvitationForm,
    InvitationSignUpForm,
    ProfileForm,
    RoleForm,
    SignUpForm,
    form_add_service_errors,
)
from accounts.mail import language_of
from accounts.middleware import SESSION_KEY
from accounts.models import Organisation
from config.htmx import page_or_partial

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _language_cookie_set(response, language: str) -> None:
    """Pages follow `language` from the next request on: LocaleMiddleware reads this cookie,
    the one Django's set_language writes."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        # The language saved on the account wins over whatever this browser last showed.
        response = super().form_valid(form)
        _language_cookie_set(response, form.get_user().language)
        return response


def language_set(request):
    """Django's set_language (the language switcher), remembered on the signed-in person's
    account, so that their e-mails and SMS and their next log-in follow the choice."""
    response = set_language(request)
    language = request.POST.get(LANGUAGE_QUERY_PARAMETER)
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.user_language_set(user=request.user, language=language)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    initial = {"full_name": user.full_name, "phone": user.phone, "language": user.language}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_profile_update(user=user, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            with translation.override(user.language):
                messages.success(request, _("Your account is saved."))
            response = redirect("accounts:profile")
            _language_cookie_set(response, user.language)
            return response
    return render(request, "accounts/profile.html", {"form": form})


class AsyncPasswordResetForm(PasswordResetForm):
    """Sends the reset e-mail from a Celery task after the request, like every other e-mail,
    in the account's language."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        from django.template import loader

        from accounts.tasks import email_send

        with translation.override(language_of(context["user"])):  # the account's, not the page's
            subject = loader.render_to_string(subject_template_name, context)
            body = loader.render_to_string(email_template_name, context)
        subject = "".join(subject.splitlines())
        transaction.on_commit(lambda: email_send.delay(subject, body, [to_email]))


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    form_class = AsyncPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, organisation = services.account_sign_up(
                email=data["email"],
                password=data["password"],
                full_name=data["full_name"],
                organisation_name=data["organisation_name"],
                kind=data["kind"],
                language=get_language(),
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            login(request, user, backend=BACKEND)
            request.session[SESSION_KEY] = str(organisation.public_id)
            messages.success(
                request, _("Welcome to SafeUnit, %(name)s.") % {"name": user.full_name}
            )
            if organisation.kind == Organisation.Kind.UNIT:
                return redirect("units:create")
            return redirect("home")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
@require_POST
def organisation_switch(request):
    membership = selectors.organisation_membership_get(
        user=request.user, organisation_public_id=_uuid_or_404(request.POST.get("organisation"))
    )
    request.session[SESSION_KEY] = str(membership.organisation.public_id)
    next_url = request.POST.get("next") or reverse("home")
    if not next_url.startswith("/") or next_url.startswith("//"):
        next_url = reverse("home")
    return HttpResponseRedirect(next_url)


def _uuid_or_404(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def _current_membership(request):
    if request.membership is None:
        raise Http404
    return request.membership


def _members_context(request, membership, **extra):
    organisation = membership.organisation
    context = {
        "membership": membership,
        "organisation": organisation,
        "members": selectors.member_list(organisation=organisation),
        "invitations": selectors.invitation_pending_list(organisation=organisation),
        "invite_form": InvitationForm(),
    }
    context.update(extra)
    return context


@login_required
def members(request):
    membership = _current_membership(request)
    return render(request, "accounts/members.html", _members_context(request, membership))


@login_required
@require_POST
def invitation_create(request):
    membership = _current_membership(request)
    if not membership.can_manage:
        raise PermissionDenied
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.invitation_create(
                organisation=membership.organisation,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                by=request.user,
                language=get_language(),
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
            )
            if not request.htmx:
                return redirect("accounts:members")
            form = InvitationForm()
    context = _members_context(request, membership, invite_form=form)
    return render(
        request, page_or_partial(request, "accounts/members.html", "invitations"), context
    )


@login_required
@require_POST
def invitation_revoke(request, public_id):
    membership = _current_membership(request)
    invitation = selectors.invitation_get(organisation=membership.organisation, public_id=public_id)
    services.invitation_revoke(invitation=invitation, by=request.user)
    if not request.htmx:
        return redirect("accounts:members")
    return render(
        request, "accounts/members.html#invitations", _members_context(request, membership)
    )


@login_required
@require_POST
def member_change_role(request, membership_id):
    membership = _current_membership(request)
    member = selectors.member_get(organisation=membership.organisation, membership_id=membership_id)
    form = RoleForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.membership_change_role(
                membership=member, role=form.cleaned_data["role"], by=request.user
            )
        except ValidationError as exc:
            error = exc.message_dict.get("role", exc.messages)[0]
    else:
        error = form.errors["role"][0]
    if error:
        messages.error(request, _("Role: %(error)s") % {"error": error})
    if not request.htmx:
        return redirect("accounts:members")
    return render(request, "accounts/members.html#members", _members_context(request, membership))


@login_required
@require_POST
def member_remove(request, membership_id):
    membership = _current_membership(request)
    member = selectors.member_get(organisation=membership.organisation, membership_id=membership_id)
    try:
        services.membership_remove(membership=member, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if member.user_id == request.user.pk:
        request.session.pop(SESSION_KEY, None)
        return redirect("home")
    if not request.htmx:
        return redirect("accounts:members")
    return render(request, "accounts/members.html#members", _members_context(request, membership))


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    invitation = services.invitation_from_token(token)
    if invitation is None:
        raise Http404
    context = {"invitation": invitation, "token": token}
    if not invitation.is_pending:
        return render(request, "accounts/invitation_accept.html", context, status=410)
    user = request.user
    signup_form = None
    if not user.is_authenticated:
        from accounts.models import User

        if User.objects.filter(email__iexact=invitation.email).exists():
            context["needs_login"] = True
            return render(request, "accounts/invitation_accept.html", context)
        signup_form = InvitationSignUpForm(request.POST or None)
        context["signup_form"] = signup_form
    elif user.email.lower() != invitation.email.lower():
        context["wrong_account"] = True
        return render(request, "accounts/invitation_accept.html", context, status=403)

    if request.method == "POST" and (signup_form is None or signup_form.is_valid()):
        try:
            with transaction.atomic():
                if signup_form is not None:
                    user = services.user_create(
                        email=invitation.email,
                        password=signup_form.cleaned_data["password"],
                        full_name=signup_form.cleaned_data["full_name"],
                        language=get_language(),
                    )
                membership = services.invitation_accept(invitation=invitation, user=user)
        except ValidationError as error:
            if signup_form is not None:
                form_add_service_errors(signup_form, error)
            else:
                context["errors"] = error.messages
            return render(request, "accounts/invitation_accept.html", context, status=400)
        if not request.user.is_authenticated:
            login(request, user, backend=BACKEND)
        request.session[SESSION_KEY] = str(membership.organisation.public_id)
        messages.success(
            request, _("You joined %(name)s.") % {"name": membership.organisation.name}
        )
        return redirect("home")
    return render(request, "accounts/invitation_accept.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    form = ApiTokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_secret = services.api_token_create(
                user=request.user, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            form = ApiTokenForm()
    context = {
        "form": form,
        "tokens": selectors.api_token_list_for(user=request.user),
        "new_secret": new_secret,
    }
    return render(request, page_or_partial(request, "accounts/api_tokens.html", "tokens"), context)


@login_required
@require_POST
def api_token_revoke(request, token_id):
    token = selectors.api_token_get_for(user=request.user, token_id=token_id)
    services.api_token_revoke(token=token, by=request.user)
    if not request.htmx:
        return redirect("accounts:api_tokens")
    context = {"form": ApiTokenForm(), "tokens": selectors.api_token_list_for(user=request.user)}
    return render(request, "accounts/api_tokens.html#tokens", context)
