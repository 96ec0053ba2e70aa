SESSION_KEY = "current_organisation"


class CurrentOrganisationMiddleware:
    """Sets request.memberships and request.membership: the organisation the person works in.

    One query for a signed-in person (the header's organisation switcher needs the list on
    every page anyway); the choice is kept in the session by the switcher.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from accounts.selectors import membership_list_for

        request.memberships = []
        request.membership = None
        if request.user.is_authenticated:
            request.memberships = list(membership_list_for(user=request.user))
            wanted = request.session.get(SESSION_KEY)
            request.membership = next(
                (m for m in request.memberships if str(m.organisation.public_id) == wanted),
                request.memberships[0] if request.memberships else None,
            )
        return self.get_response(request)
